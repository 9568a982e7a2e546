//! `mysql-import`: import a decant NDJSON stream into MySQL / MariaDB.

use clap::{CommandFactory, FromArgMatches, Parser};
use decant_import::sql::{self, typemap::Dialect, SqlImportArgs};
use decant_record::cli;

const EXAMPLES: &str = concat!(
    "Examples:\n",
    "  mysql-export --url mysql://old/reline | mysql-import --url mysql://db/reline --create-tables\n",
    "  mysql-import -i reline.ndjson.zst --url mysql://db/reline --mode upsert \\\n      --state reline.state --reject-file rejects.ndjson\n",
    "  mysql-import -i patch.ndjson --url mysql://db/reline --mode upsert     # applies rows and deletes\n",
    "  mysql-import -i dump.ndjson --url mysql://db/reline --create-tables \\\n      --cast 'type:datetime=timestamptz' --dry-run\n",
    "  mysql-import -i rows.ndjson --url mysql://db/relay --mode upsert \\\n      --key usage_records:api_key_id,created_at   # rows lack the AUTO_INCREMENT id\n",
    "\n",
    "Bulk path: multi-row INSERTs as prepared statements with bound values; each --batch-rows batch is one transaction.\n",
    "Without schema lines, the target table's own column types drive conversion.\n",
    "With --state, progress is committed with each batch (table decant_import_state in the\n",
    "target, removed at the end): rerun the same command after a crash to continue.\n",
    "\n",
);

/// Import a decant NDJSON stream (schema, row and delete lines) into MySQL / MariaDB.
#[derive(Debug, Parser)]
#[command(name = "mysql-import", version)]
struct Args {
    #[command(flatten)]
    import: SqlImportArgs,
}

fn main() -> std::process::ExitCode {
    cli::main("mysql-import", || {
        let matches = Args::command().after_help(format!("{EXAMPLES}{}", cli::EXIT_STATUS_HELP)).get_matches();
        let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        sql::run(Dialect::MySql, args.import)
    })
}
