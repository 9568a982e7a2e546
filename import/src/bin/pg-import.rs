//! `pg-import`: import a decant NDJSON stream into PostgreSQL.

use clap::{CommandFactory, FromArgMatches, Parser};
use decant_import::sql::{self, typemap::Dialect, SqlImportArgs};
use decant_record::cli;

const EXAMPLES: &str = concat!(
    "Examples:\n",
    "  mysql-export --url mysql://old/reline | pg-import --url postgres://db/reline --create-tables\n",
    "  pg-import -i reline.ndjson.zst --url postgres://db/reline --mode upsert \\\n      --state reline.state --reject-file rejects.ndjson\n",
    "  pg-import -i patch.ndjson --url postgres://db/reline --mode upsert     # applies rows and deletes\n",
    "  pg-import -i dump.ndjson --url postgres://db/reline --create-tables \\\n      --cast 'type:datetime=timestamptz' --dry-run\n",
    "  pg-import -i rows.ndjson --url postgres://db/relay --mode upsert \\\n      --key usage_records:api_key_id,created_at   # rows lack the AUTO_INCREMENT id\n",
    "\n",
    "Bulk path: COPY FROM STDIN; each --batch-rows batch is one transaction.\n",
    "Without schema lines, the target table's own column types drive conversion.\n",
    "With --state, progress is committed with each batch (table decant_import_state in the\n",
    "target, removed at the end): rerun the same command after a crash to continue.\n",
    "\n",
);

/// Import a decant NDJSON stream (schema, row and delete lines) into PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "pg-import", version)]
struct Args {
    #[command(flatten)]
    import: SqlImportArgs,
}

fn main() -> std::process::ExitCode {
    cli::main("pg-import", || {
        let matches = Args::command().after_help(format!("{EXAMPLES}{}", cli::EXIT_STATUS_HELP)).get_matches();
        let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        sql::run(Dialect::Postgres, args.import)
    })
}
