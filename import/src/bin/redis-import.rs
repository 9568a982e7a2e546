//! `redis-import`: see `redis-import --help` (the command is built in `decant_import::commands`).

fn main() -> std::process::ExitCode {
    decant_import::commands::redis_import_main()
}
