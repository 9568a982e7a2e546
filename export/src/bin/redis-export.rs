//! `redis-export`: see `redis-export --help` (the command is built in `decant_export::commands`).

fn main() -> std::process::ExitCode {
    decant_export::commands::redis_export_main()
}
