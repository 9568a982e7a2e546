//! Reads a decant stream, validates every line (decoding it and checking each
//! segment's trailer) and writes it back out unchanged through the writer,
//! re-sealed: the cost of a pass-through stage in a pipeline.
//!
//! ```text
//! passthrough [INPUT|-] [OUTPUT|-]      # .zst in or out handled transparently
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use decant_record::io::{open_input, Output};
use decant_record::{Record, RecordReader, RecordWriter};

fn run() -> Result<u64, String> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let input = open_input(args.first().map(PathBuf::as_path)).map_err(|e| e.to_string())?;
    let output = Output::create(args.get(1).map(PathBuf::as_path)).map_err(|e| e.to_string())?;
    let mut reader = RecordReader::new(input);
    let mut writer = RecordWriter::new(output);
    while let Some(record) = reader.next_record().map_err(|e| e.to_string())? {
        let written = match &record {
            Record::Header(_) | Record::End(_) => writer.write(&record),
            _ => writer.write_raw(reader.raw_line()),
        };
        written.map_err(|e| format!("writing: {e}"))?;
    }
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
