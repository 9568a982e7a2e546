//! `dynamodb-import`: see `dynamodb-import --help` (the command is built in `decant_import::commands`).

fn main() -> std::process::ExitCode {
    decant_import::commands::dynamodb_import_main()
}
