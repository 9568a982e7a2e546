//! `pg-export`: a PostgreSQL schema as a decant stream.

use std::process::ExitCode;

use clap::Parser;
use decant_export::sql::{self, SqlExportArgs};
use decant_record::cli;
use decant_record::conn::Store;

const AFTER_HELP: &str = "\
Examples:
  pg-export --url postgres://app@db:5432/reline -o reline.ndjson.zst
  pg-export --url postgres://app@db/reline --schema billing --tables 'invoices,lines'
  pg-export --url postgres://app@db/reline --jobs 4 | mysql-import --url mysql://root@new/reline
  pg-export --url postgres://app@replica/reline --shard $JOB_COMPLETION_INDEX/8 -o share.ndjson.zst

Output: a header line, then for each table of the schema (referenced tables before the
tables whose foreign keys point at them) a schema line and its rows, then a sealed
trailer. One REPEATABLE READ snapshot covers the whole export, and --jobs workers share
it exactly (pg_export_snapshot / SET TRANSACTION SNAPSHOT).

Values: the session time zone is UTC, so timestamptz values are written as UTC instants
(\"2025-01-01T04:00:00Z\") whatever the server's TimeZone; timestamp is naive and written
exactly as stored. numeric keeps its digits as a string (\"NaN\" too), float4/float8 are
exact (NaN and infinities as {\"$float\":\"nan\"} etc.), bytea is {\"$b64\":…}, json/jsonb
are nested, arrays are JSON arrays of their elements, interval is ISO 8601
(\"P1Y2M3DT4H5M6S\"), uuid and enum values are strings; identity and serial columns
are marked auto_increment.

The password may come from the URL, --password-file, or $SOURCE_URL; it is never printed.";

/// Export a PostgreSQL schema as a decant NDJSON stream.
#[derive(Debug, Parser)]
#[command(name = "pg-export", version, after_help = format!("{AFTER_HELP}\n\n{}", cli::EXIT_STATUS_HELP))]
struct Args {
    #[command(flatten)]
    export: SqlExportArgs,
    /// The schema whose tables are exported (default: the first schema of
    /// the search_path, usually `public`).
    #[arg(long, value_name = "NAME")]
    schema: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::main("pg-export", || sql::run("pg-export", Store::Postgres, &args.export, args.schema.clone()))
}
