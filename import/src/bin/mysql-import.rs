//! `mysql-import`: see `mysql-import --help` (the command is built in `decant_import::commands`).

fn main() -> std::process::ExitCode {
    decant_import::commands::mysql_import_main()
}
