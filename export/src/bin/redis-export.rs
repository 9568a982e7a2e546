//! `redis-export`: Redis keys → decant NDJSON. See `redis-export --help`.

use clap::Parser as _;
use decant_export::redis::{run, Args};
use decant_record::cli;

fn main() -> std::process::ExitCode {
    cli::main("redis-export", || run(Args::parse()))
}
