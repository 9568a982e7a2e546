//! `decant-diff A B`: record-level differences, or a patch.
use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = decant_diff::Args::parse();
    decant_record::cli::main("decant-diff", || decant_diff::run(&args))
}
