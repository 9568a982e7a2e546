//! Reads a decant stream, validates every line (decoding it and checking each
//! segment's trailer) and writes it back out unchanged through the writer,
//! re-sealed: the cost of a pass-through stage in a pipeline. Validation runs
//! on `-j N` worker threads (default: one per core; `-j 1`: one thread).
//!
//! ```text
//! passthrough [-j N] [INPUT|-] [OUTPUT|-]      # .zst in or out handled transparently
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use decant_record::io::{open_input, Output};
use decant_record::parallel::{copy_stream, default_threads, Parallelism};
use decant_record::{RecordReader, RecordWriter};

fn run() -> Result<u64, String> {
    let mut threads = default_threads();
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-j" {
            let n = args.next().and_then(|n| n.to_str()?.parse().ok());
            threads = n.ok_or("-j needs a number of threads")?;
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    let input = open_input(paths.first().map(PathBuf::as_path)).map_err(|e| e.to_string())?;
    let output = Output::create(paths.get(1).map(PathBuf::as_path)).map_err(|e| e.to_string())?;
    let mut writer = RecordWriter::new(output);
    copy_stream(RecordReader::new(input), &mut writer, Parallelism::new(threads)).map_err(|e| e.to_string())?;
    let n = writer.records_written();
    writer.finish().and_then(Output::finish).map_err(|e| format!("writing: {e}"))?;
    Ok(n)
}

fn main() -> ExitCode {
    match run() {
        Ok(n) => {
            eprintln!("passthrough: {n} records");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("passthrough: {e}");
            ExitCode::from(2)
        }
    }
}
