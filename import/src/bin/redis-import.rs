//! `redis-import`: decant NDJSON → Redis. See `redis-import --help`.

use clap::Parser as _;
use decant_import::redis::{run, Args};
use decant_record::cli;

fn main() -> std::process::ExitCode {
    cli::main("redis-import", || run(Args::parse()))
}
