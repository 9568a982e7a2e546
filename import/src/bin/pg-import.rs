//! `pg-import`: see `pg-import --help` (the command is built in `decant_import::commands`).

fn main() -> std::process::ExitCode {
    decant_import::commands::pg_import_main()
}
