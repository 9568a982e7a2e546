//! `decant-verify`: see `decant-verify --help` (the command is built by `decant_verify::command`).

fn main() -> std::process::ExitCode {
    decant_verify::main()
}
