//! `mysql-export`: see `mysql-export --help` (the command is built in `decant_export::commands`).

fn main() -> std::process::ExitCode {
    decant_export::commands::mysql_export_main()
}
