//! `sqlite-export`: see `sqlite-export --help` (the command is built in `decant_export::commands`).

fn main() -> std::process::ExitCode {
    decant_export::commands::sqlite_export_main()
}
