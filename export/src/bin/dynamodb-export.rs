//! `dynamodb-export`: see `dynamodb-export --help` (the command is built in `decant_export::commands`).

fn main() -> std::process::ExitCode {
    decant_export::commands::dynamodb_export_main()
}
