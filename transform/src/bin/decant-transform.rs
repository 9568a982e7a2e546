//! `decant-transform`: see `decant_transform::cli`.
use clap::Parser as _;
use decant_record::cli;

fn main() -> std::process::ExitCode {
    let args = decant_transform::cli::Args::parse();
    cli::main("decant-transform", || decant_transform::cli::run(&args))
}
