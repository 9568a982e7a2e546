//! Content digests of a decant stream, one line per table / key group
//! (digest, record count, name), as `decant-checksum` prints them.
//!
//! ```text
//! digest [INPUT|-]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use decant_record::digest::{CanonicalOptions, Digester};
use decant_record::io::open_input;
use decant_record::RecordReader;

fn run() -> Result<(), String> {
    let path = std::env::args_os().nth(1).map(PathBuf::from);
    let input = open_input(path.as_deref()).map_err(|e| e.to_string())?;
    let mut reader = RecordReader::new(input);
    let mut digester = Digester::new(CanonicalOptions::default());
    while let Some(record) = reader.next_record().map_err(|e| e.to_string())? {
        digester.add(&record);
    }
    for (group, digest) in digester.finish() {
        println!("{}  {}  {group}", digest.hex(), digest.count);
    }
    let sealed = reader.all_sealed();
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
