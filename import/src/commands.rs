//! The importers' command lines, built by library functions (as uutils
//! does) so the `decant` dispatcher can generate completions and man pages
//! from the same definitions the binaries parse with. Each binary's `main`
//! is one call to the `main` here.

use std::process::ExitCode;

use clap::{Args as _, CommandFactory as _, FromArgMatches as _};
use decant_record::cli;
use decant_record::conn::{env_help, Role, Store};

use crate::sql::{self, typemap::Dialect, SqlImportArgs};

const PG_IMPORT_HELP: &str = concat!(
    "Examples:\n",
    "  mysql-export --url mysql://old/reline | pg-import --url postgres://db/reline --create-tables\n",
    "  pg-import -i reline.ndjson.zst --url postgres://db/reline --mode upsert \\\n      --state reline.state --reject-file rejects.ndjson\n",
    "  pg-import -i patch.ndjson --url postgres://db/reline --mode upsert     # applies rows and deletes\n",
    "  pg-import -i reline.ndjson.zst --url postgres://db/reline --create-tables \\\n      --jobs 2   # server-bound load, server cores to spare\n",
    "  pg-import -i dump.ndjson --url postgres://db/reline --create-tables \\\n      --cast 'type:datetime=timestamptz' --dry-run\n",
    "  pg-import -i rows.ndjson --url postgres://db/relay --mode upsert \\\n      --key usage_records:api_key_id,created_at   # rows lack the AUTO_INCREMENT id\n",
    "\n",
    "Bulk path: COPY FROM STDIN; each --batch-rows batch is one transaction.\n",
    "--jobs N spreads each batch over N connections by a hash of each row's key (a key's rows\n",
    "and deletes stay in order on one connection; tables with enforced foreign keys use one),\n",
    "each share its own transaction. It helps when the server's COPY is the bound and the\n",
    "server has cores to spare (a big initial load); with --state, rerun with the same --jobs.\n",
    "Without schema lines, the target table's own column types drive conversion.\n",
    "With --state, progress is committed with each batch (table decant_import_state in the\n",
    "target, removed at the end): rerun the same command after a crash to continue.\n",
    "\n",
);

const MYSQL_IMPORT_HELP: &str = concat!(
    "Examples:\n",
    "  mysql-export --url mysql://old/reline | mysql-import --url mysql://db/reline --create-tables\n",
    "  mysql-import -i reline.ndjson.zst --url mysql://db/reline --mode upsert \\\n      --state reline.state --reject-file rejects.ndjson\n",
    "  mysql-import -i patch.ndjson --url mysql://db/reline --mode upsert     # applies rows and deletes\n",
    "  mysql-import -i dump.ndjson --url mysql://db/reline --create-tables \\\n      --cast 'type:datetime=timestamptz' --dry-run\n",
    "  mysql-import -i rows.ndjson --url mysql://db/relay --mode upsert \\\n      --key usage_records:api_key_id,created_at   # rows lack the AUTO_INCREMENT id\n",
    "\n",
    "Bulk path: multi-row INSERTs as prepared statements with bound values; each --batch-rows batch is one transaction.\n",
    "--jobs N spreads each batch over N connections by a hash of each row's key (a key's rows\n",
    "and deletes stay in order on one connection; tables with enforced foreign keys use one),\n",
    "each share its own transaction. It helps when the server is the bound and has cores to\n",
    "spare (a big initial load); with --state, rerun with the same --jobs.\n",
    "Without schema lines, the target table's own column types drive conversion.\n",
    "With --state, progress is committed with each batch (table decant_import_state in the\n",
    "target, removed at the end): rerun the same command after a crash to continue.\n",
    "\n",
);

const SQLITE_IMPORT_HELP: &str = concat!(
    "Examples:\n",
    "  mysql-export --url mysql://old/reline | sqlite-import --url sqlite:///srv/r.db --create-tables\n",
    "  sqlite-import -i reline.ndjson.zst --url sqlite:///srv/r.db --mode upsert \\\n      --state reline.state --reject-file rejects.ndjson\n",
    "  sqlite-import -i patch.ndjson --url sqlite:///srv/r.db --mode upsert     # applies rows and deletes\n",
    "  sqlite-import -i dump.ndjson --url sqlite:///srv/r.db --create-tables \\\n      --cast 'type:datetime=timestamptz' --dry-run\n",
    "  sqlite-import -i rows.ndjson --url sqlite:///tmp/relay.db --mode upsert \\\n      --key usage_records:api_key_id,created_at   # rows lack the AUTO_INCREMENT id\n",
    "\n",
    "Bulk path: prepared multi-row INSERTs in big transactions; each --batch-rows batch is one transaction.\n",
    "Without schema lines, the target table's own column types drive conversion.\n",
    "A missing database file is created (as sqlite3 does; --dry-run creates nothing).\n",
    "--jobs is accepted and ignored (with a warning): SQLite takes one writer at a time.\n",
    "--create-tables declares types that name the logical type (SMALLINT UNSIGNED,\n",
    "DECIMAL TEXT(65,30), TIMESTAMP(6), …), names index i of table t `t__i`, puts the foreign\n",
    "keys in CREATE TABLE, and keeps another store's schema line in table decant_schema so\n",
    "sqlite-export gives the original types back (docs/type-mapping.md).\n",
    "With --state, progress is committed with each batch (table decant_import_state in the\n",
    "target, removed at the end): rerun the same command after a crash to continue.\n",
    "\n",
);

fn sql_command(name: &'static str, about: &'static str, help: &str, store: Store) -> clap::Command {
    // The about after the flattened struct, whose doc comment would set it.
    let cmd = SqlImportArgs::augment_args(clap::Command::new(name)).version(env!("CARGO_PKG_VERSION")).about(about);
    cli::with_help_sections(cmd, help, &env_help(store, Role::Target))
}

/// The clap command of `redis-import`.
pub fn redis_import() -> clap::Command {
    cli::with_help_sections(crate::redis::Args::command(), "", &env_help(Store::Redis, Role::Target))
}

/// The clap command of `mysql-import`.
pub fn mysql_import() -> clap::Command {
    sql_command(
        "mysql-import",
        "Import a decant NDJSON stream (schema, row and delete lines) into MySQL / MariaDB.",
        MYSQL_IMPORT_HELP,
        Store::MySql,
    )
}

/// The clap command of `pg-import`.
pub fn pg_import() -> clap::Command {
    sql_command(
        "pg-import",
        "Import a decant NDJSON stream (schema, row and delete lines) into PostgreSQL.",
        PG_IMPORT_HELP,
        Store::Postgres,
    )
}

/// The clap command of `sqlite-import`.
pub fn sqlite_import() -> clap::Command {
    sql_command(
        "sqlite-import",
        "Import a decant NDJSON stream (schema, row and delete lines) into SQLite.",
        SQLITE_IMPORT_HELP,
        Store::Sqlite,
    )
}

/// The clap command of `dynamodb-import`.
pub fn dynamodb_import() -> clap::Command {
    // Its credentials section is its own (the AWS chain), so no registry
    // environment section; the examples are laid out for 80 columns.
    cli::with_help_sections(crate::dynamodb::Args::command(), "", "")
}

/// `dynamodb-import`'s `main`.
pub fn dynamodb_import_main() -> ExitCode {
    cli::main("dynamodb-import", || {
        let m = cli::get_matches(dynamodb_import());
        crate::dynamodb::run(crate::dynamodb::Args::from_arg_matches(&m).unwrap_or_else(|e| e.exit()))
    })
}

/// `redis-import`'s `main`.
pub fn redis_import_main() -> ExitCode {
    cli::main("redis-import", || {
        let m = cli::get_matches(redis_import());
        crate::redis::run(crate::redis::Args::from_arg_matches(&m).unwrap_or_else(|e| e.exit()))
    })
}

fn sql_main(tool: &'static str, dialect: Dialect, cmd: clap::Command) -> ExitCode {
    cli::main(tool, || {
        let m = cli::get_matches(cmd);
        sql::run(dialect, SqlImportArgs::from_arg_matches(&m).unwrap_or_else(|e| e.exit()))
    })
}

/// `mysql-import`'s `main`.
pub fn mysql_import_main() -> ExitCode {
    sql_main("mysql-import", Dialect::MySql, mysql_import())
}

/// `pg-import`'s `main`.
pub fn pg_import_main() -> ExitCode {
    sql_main("pg-import", Dialect::Postgres, pg_import())
}

/// `sqlite-import`'s `main`.
pub fn sqlite_import_main() -> ExitCode {
    sql_main("sqlite-import", Dialect::Sqlite, sqlite_import())
}
