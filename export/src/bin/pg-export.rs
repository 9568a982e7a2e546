//! `pg-export`: see `pg-export --help` (the command is built in `decant_export::commands`).

fn main() -> std::process::ExitCode {
    decant_export::commands::pg_export_main()
}
