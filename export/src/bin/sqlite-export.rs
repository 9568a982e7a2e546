//! `sqlite-export`: a SQLite file as a decant stream.

use std::process::ExitCode;

use clap::Parser;
use decant_export::sql::{self, SqlExportArgs};
use decant_record::cli;
use decant_record::conn::Store;

const AFTER_HELP: &str = "\
Examples:
  sqlite-export --url sqlite:///var/lib/app/app.db -o app.ndjson.zst
  sqlite-export --url sqlite://app.db --tables users --where 'users:active = 1'
  sqlite-export --url sqlite://app.db | pg-import --url postgres://new/app --create-tables
  sqlite-export --url sqlite://app.db --shard 0/2 -o app-0.ndjson   # and --shard 1/2 -o app-1.ndjson

The file is opened read-only and read in one transaction. Logical types follow each
column's declared type (SQLite affinity: INT → int64, CHAR/CLOB/TEXT → string or text,
BLOB → bytes, REAL/FLOAT/DOUBLE → float64, BOOLEAN, DATE, DATETIME, TIME by name, other
→ decimal); an INTEGER PRIMARY KEY is an auto-increment int64. Values are written by
their storage class: INTEGER as a number, REAL as a float, TEXT as a string, BLOB as
{\"$b64\":…}. --jobs is accepted but SQLite is read with one connection (a SQLite
snapshot cannot be shared).";

/// Export a SQLite database file as a decant NDJSON stream.
#[derive(Debug, Parser)]
#[command(name = "sqlite-export", version, after_help = format!("{AFTER_HELP}\n\n{}", cli::EXIT_STATUS_HELP))]
struct Args {
    #[command(flatten)]
    export: SqlExportArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::main("sqlite-export", || sql::run("sqlite-export", Store::Sqlite, &args.export, None))
}
