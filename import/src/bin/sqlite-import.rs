//! `sqlite-import`: see `sqlite-import --help` (the command is built in `decant_import::commands`).

fn main() -> std::process::ExitCode {
    decant_import::commands::sqlite_import_main()
}
