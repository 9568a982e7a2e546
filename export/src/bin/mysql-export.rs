//! `mysql-export`: a MySQL / MariaDB database as a decant stream.

use std::process::ExitCode;

use clap::Parser;
use decant_export::sql::{self, SqlExportArgs};
use decant_record::cli;
use decant_record::conn::Store;

const AFTER_HELP: &str = "\
Examples:
  mysql-export --url mysql://app@db:3306/reline -o reline.ndjson.zst
  mysql-export --url mysql://app@db/reline --tables 'users,orders' --where 'orders:created_at >= \"2025-01-01\"'
  mysql-export --url mysql://app@db/reline --exclude 'audit_*' --jobs 4 | pg-import --url postgres://new/reline
  mysql-export --url mysql://app@replica/reline --shard 2/8 -o reline-2.ndjson.zst   # share 2 of 8

Output: a header line, then for each table (referenced tables before the tables whose
foreign keys point at them) a schema line and its rows, then a sealed trailer.
One consistent snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT) covers the
whole export; with --jobs the workers start their snapshots under FLUSH TABLES WITH
READ LOCK (needs RELOAD; without it a warning says the snapshots may differ).

Values: the session time zone is UTC, so TIMESTAMP values are written as UTC
instants (\"2025-01-01T07:30:00Z\") whatever the server's zone; DATETIME is naive and
written exactly as stored (\"2025-01-01T09:30:00.123456\"). Zero dates are written as
{\"$zero_date\":\"0000-00-00 00:00:00\"}. DECIMAL keeps its digits as a string, BIGINT
UNSIGNED beyond 2^53 is {\"$int\":\"…\"}, binary strings and BLOBs are {\"$b64\":…},
TINYINT(1) is a boolean, JSON is nested, FLOAT is its exact float value.

The password may come from the URL, --password-file, or $SOURCE_URL; it is never printed.";

/// Export a MySQL or MariaDB database as a decant NDJSON stream.
#[derive(Debug, Parser)]
#[command(name = "mysql-export", version, after_help = format!("{AFTER_HELP}\n\n{}", cli::EXIT_STATUS_HELP))]
struct Args {
    #[command(flatten)]
    export: SqlExportArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::main("mysql-export", || sql::run("mysql-export", Store::MySql, &args.export, None))
}
