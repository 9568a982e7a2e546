//! `decant-diff`: see `decant-diff --help` (the command is built by `decant_diff::command`).

fn main() -> std::process::ExitCode {
    decant_diff::main()
}
