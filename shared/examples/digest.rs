//! Content digests of a decant stream, one line per table / key group
//! (digest, record count, name), as `decant-checksum` computes them: on
//! `-j N` worker threads (default: one per core; `-j 1` reads in one thread).
//!
//! ```text
//! digest [-j N] [INPUT|-]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use decant_record::digest::CanonicalOptions;
use decant_record::io::open_input;
use decant_record::parallel::{default_threads, digest_stream, Parallelism};
use decant_record::RecordReader;

/// `[-j N] [INPUT]`: the thread count and the input.
fn parse_args() -> Result<(usize, Option<PathBuf>), String> {
    let mut threads = default_threads();
    let mut path = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-j" {
            let n = args.next().and_then(|n| n.to_str()?.parse().ok());
            threads = n.ok_or("-j needs a number of threads")?;
        } else {
            path = Some(PathBuf::from(arg));
        }
    }
    Ok((threads, path))
}

fn run() -> Result<(), String> {
    let (threads, path) = parse_args()?;
    let input = open_input(path.as_deref()).map_err(|e| e.to_string())?;
    let run = digest_stream(RecordReader::new(input), CanonicalOptions::default(), Parallelism::new(threads));
    if let Some(e) = run.error {
        return Err(e.to_string());
    }
    for (group, digest) in &run.groups {
        println!("{}  {}  {group}", digest.hex(), digest.count);
    }
    let sealed = run.reader.is_some_and(|r| r.all_sealed());
    eprintln!("digest: input {}", if sealed { "sealed" } else { "unsealed" });
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("digest: {e}");
            ExitCode::from(2)
        }
    }
}
