//! `decant-verify --left A --right B`: proves B holds the same data as A.
use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = decant_verify::Args::parse();
    decant_record::cli::main("decant-verify", || decant_verify::run(&args))
}
