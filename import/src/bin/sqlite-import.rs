//! `sqlite-import`: import a decant NDJSON stream into SQLite.

use clap::{CommandFactory, FromArgMatches, Parser};
use decant_import::sql::{self, typemap::Dialect, SqlImportArgs};
use decant_record::cli;

const EXAMPLES: &str = concat!(
    "Examples:\n",
    "  mysql-export --url mysql://old/reline | sqlite-import --url sqlite:///srv/r.db --create-tables\n",
    "  sqlite-import -i reline.ndjson.zst --url sqlite:///srv/r.db --mode upsert \\\n      --state reline.state --reject-file rejects.ndjson\n",
    "  sqlite-import -i patch.ndjson --url sqlite:///srv/r.db --mode upsert     # applies rows and deletes\n",
    "  sqlite-import -i dump.ndjson --url sqlite:///srv/r.db --create-tables \\\n      --cast 'type:datetime=timestamptz' --dry-run\n",
    "\n",
    "Bulk path: prepared multi-row INSERTs in big transactions; each --batch-rows batch is one transaction.\n",
    "Without schema lines, the target table's own column types drive conversion.\n",
    "A missing database file is created (as sqlite3 does; --dry-run creates nothing).\n",
    "--create-tables declares types that name the logical type (SMALLINT UNSIGNED,\n",
    "DECIMAL TEXT(65,30), TIMESTAMP(6), …), names index i of table t `t__i`, puts the foreign\n",
    "keys in CREATE TABLE, and keeps another store's schema line in table decant_schema so\n",
    "sqlite-export gives the original types back (docs/type-mapping.md).\n",
    "With --state, progress is committed with each batch (table decant_import_state in the\n",
    "target, removed at the end): rerun the same command after a crash to continue.\n",
    "\n",
);

/// Import a decant NDJSON stream (schema, row and delete lines) into SQLite.
#[derive(Debug, Parser)]
#[command(name = "sqlite-import", version)]
struct Args {
    #[command(flatten)]
    import: SqlImportArgs,
}

fn main() -> std::process::ExitCode {
    cli::main("sqlite-import", || {
        let matches = Args::command().after_help(format!("{EXAMPLES}{}", cli::EXIT_STATUS_HELP)).get_matches();
        let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        sql::run(Dialect::Sqlite, args.import)
    })
}
