//! `decant-transform`: see `decant-transform --help` (the command is built by `decant_transform::command`).

fn main() -> std::process::ExitCode {
    decant_transform::main()
}
