//! `decant-checksum`: digests of decant streams, files and live stores.
use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = decant_checksum::Args::parse();
    decant_record::cli::main("decant-checksum", || decant_checksum::run(&args))
}
