//! The exporters' command lines, built by library functions (as uutils
//! does) so the `decant` dispatcher can generate completions and man pages
//! from the same definitions the binaries parse with. Each binary's `main`
//! is one call to the `main` here.

use std::process::ExitCode;

use clap::{Args as _, CommandFactory as _, FromArgMatches as _};
use decant_record::cli;
use decant_record::conn::{env_help, Role, Store};

use crate::sql::{self, SqlExportArgs};

const PG_EXPORT_HELP: &str = "\
Examples:
  pg-export --url postgres://app@db:5432/reline -o reline.ndjson.zst
  pg-export --url postgres://app@db/reline --schema billing --tables 'invoices,lines'
  pg-export --url postgres://app@db/reline --jobs 4 | mysql-import --url mysql://root@new/reline
  pg-export --url postgres://app@replica/reline --shard $JOB_COMPLETION_INDEX/8 -o share.ndjson.zst

Output: a header line, then for each table of the schema (referenced tables before the
tables whose foreign keys point at them) a schema line and its rows, then a sealed
trailer. One REPEATABLE READ snapshot covers the whole export, and --jobs workers share
it exactly (pg_export_snapshot / SET TRANSACTION SNAPSHOT).

Tables: the ordinary and partitioned tables of the schema (not views, materialized views,
foreign tables or sequences), each row once. A partitioned table is exported through its
parent, which holds every partition's rows; its partitions are not exported on their own.
Inheritance is read with ONLY: a parent table gives only its own rows and each child
table is exported as a table of its own (SELECT on a parent without ONLY would repeat the
children's rows).

Schema objects: CHECK constraints and generated columns travel in the schema lines (a
PostgreSQL target recreates them). Views, materialized views, triggers, functions,
procedures, rules and partial/expression/GIN/GiST (non-btree) indexes do not: each is
named in a warning and in the summary, and --objects-file FILE writes their source DDL
(e.g. pg-export --url postgres://app@db/shop --objects-file shop-objects.sql).

Values: the session time zone is UTC, so timestamptz values are written as UTC instants
(\"2025-01-01T04:00:00Z\") whatever the server's TimeZone; timestamp is naive and written
exactly as stored. numeric keeps its digits as a string (\"NaN\" too), float4/float8 are
exact (NaN and infinities as {\"$float\":\"nan\"} etc.), bytea is {\"$b64\":…}, json/jsonb
are nested, arrays are JSON arrays of their elements, interval is ISO 8601
(\"P1Y2M3DT4H5M6S\"), uuid and enum values are strings; identity and serial columns
are marked auto_increment.

The password may come from the URL, --password-file, or $SOURCE_URL; it is never printed.";

const MYSQL_EXPORT_HELP: &str = "\
Examples:
  mysql-export --url mysql://app@db:3306/reline -o reline.ndjson.zst
  mysql-export --url mysql://app@db/reline --tables 'users,orders' --where 'orders:created_at >= \"2025-01-01\"'
  mysql-export --url mysql://app@db/reline --exclude 'audit_*' --jobs 4 | pg-import --url postgres://new/reline
  mysql-export --url mysql://app@db/sakila -o sakila.ndjson --objects-file sakila-objects.sql
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

Schema objects: ON UPDATE CURRENT_TIMESTAMP, column charsets/collations, CHECK
constraints, generated columns (their expressions; rows leave their values out) and
FULLTEXT/SPATIAL indexes travel in the schema lines (a MySQL target recreates them; other
targets name what they cannot hold). Views, triggers, procedures, functions, events and
expression indexes do not: each is named in a warning and in the summary (FULLTEXT and
SPATIAL indexes too), and --objects-file FILE writes their source DDL (a mysql client
script with DELIMITER ;;) to adapt and run.

The password may come from the URL, --password-file, or $SOURCE_URL; it is never printed.";

const SQLITE_EXPORT_HELP: &str = "\
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

// `pg-export`'s own flag besides the shared SQL export flags.
#[derive(Debug, clap::Args)]
struct PgSchemaArg {
    /// The schema whose tables are exported (default: the first schema of
    /// the search_path, usually `public`).
    #[arg(long, value_name = "NAME")]
    schema: Option<String>,
}

fn sql_command(name: &'static str, about: &'static str, help: &str, store: Store) -> clap::Command {
    let cmd = SqlExportArgs::augment_args(clap::Command::new(name));
    let cmd = if store == Store::Postgres { PgSchemaArg::augment_args(cmd) } else { cmd };
    // After the flattened structs, whose doc comments would set it.
    let cmd = cmd.version(env!("CARGO_PKG_VERSION")).about(about);
    cli::with_help_sections(cmd, help, &env_help(store, Role::Source))
}

/// The clap command of `redis-export`.
pub fn redis_export() -> clap::Command {
    let cmd = crate::redis::Args::command();
    cli::with_help_sections(cmd, "", &env_help(Store::Redis, Role::Source))
}

/// The clap command of `mysql-export`.
pub fn mysql_export() -> clap::Command {
    sql_command(
        "mysql-export",
        "Export a MySQL or MariaDB database as a decant NDJSON stream.",
        MYSQL_EXPORT_HELP,
        Store::MySql,
    )
}

/// The clap command of `pg-export`.
pub fn pg_export() -> clap::Command {
    sql_command("pg-export", "Export a PostgreSQL schema as a decant NDJSON stream.", PG_EXPORT_HELP, Store::Postgres)
}

/// The clap command of `sqlite-export`.
pub fn sqlite_export() -> clap::Command {
    sql_command(
        "sqlite-export",
        "Export a SQLite database file as a decant NDJSON stream.",
        SQLITE_EXPORT_HELP,
        Store::Sqlite,
    )
}

/// The clap command of `dynamodb-export`.
pub fn dynamodb_export() -> clap::Command {
    // Its credentials section is its own (the AWS chain), so no registry
    // environment section; the examples are laid out for 80 columns.
    cli::with_help_sections(crate::dynamodb::Args::command(), "", "")
}

/// `dynamodb-export`'s `main`.
pub fn dynamodb_export_main() -> ExitCode {
    cli::main("dynamodb-export", || {
        let m = cli::get_matches(dynamodb_export());
        crate::dynamodb::run(crate::dynamodb::Args::from_arg_matches(&m).unwrap_or_else(|e| e.exit()))
    })
}

/// `redis-export`'s `main`.
pub fn redis_export_main() -> ExitCode {
    cli::main("redis-export", || {
        let m = cli::get_matches(redis_export());
        crate::redis::run(crate::redis::Args::from_arg_matches(&m).unwrap_or_else(|e| e.exit()))
    })
}

fn sql_main(tool: &'static str, store: Store, cmd: clap::Command) -> ExitCode {
    cli::main(tool, || {
        let m = cli::get_matches(cmd);
        let args = SqlExportArgs::from_arg_matches(&m).unwrap_or_else(|e| e.exit());
        let schema = if store == Store::Postgres {
            PgSchemaArg::from_arg_matches(&m).unwrap_or_else(|e| e.exit()).schema
        } else {
            None
        };
        sql::run(tool, store, &args, schema)
    })
}

/// `mysql-export`'s `main`.
pub fn mysql_export_main() -> ExitCode {
    sql_main("mysql-export", Store::MySql, mysql_export())
}

/// `pg-export`'s `main`.
pub fn pg_export_main() -> ExitCode {
    sql_main("pg-export", Store::Postgres, pg_export())
}

/// `sqlite-export`'s `main`.
pub fn sqlite_export_main() -> ExitCode {
    sql_main("sqlite-export", Store::Sqlite, sqlite_export())
}
