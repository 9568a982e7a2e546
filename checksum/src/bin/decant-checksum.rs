//! `decant-checksum`: see `decant-checksum --help` (the command is built by `decant_checksum::command`).

fn main() -> std::process::ExitCode {
    decant_checksum::main()
}
