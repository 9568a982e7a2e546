//! SQL importers (issue 4): `mysql-import`, `pg-import`, `sqlite-import` over
//! one dialect-aware core.
//!
//! - [`typemap`]: logical types → each dialect's DDL, `--cast` rules, and a
//!   target column's declared type → the [`typemap::Kind`] that drives values.
//! - [`cell`]: stream values → the target's exact input form (COPY text,
//!   MySQL literals, SQLite binds).
//! - [`state`]: `--state` resumable runs.
//! - `postgres`, `mysql`, `sqlite`: one [`Sink`] each — connection, session
//!   settings, introspection, the bulk write path, modes.
//!
//! Two threads: the decoding thread (`front`) reads the stream, converts each
//! row for its target table and builds each batch's statements; the database
//! thread (here) writes batches of `--batch-rows` rows, each batch in one
//! transaction (with the run's progress when `--state` is given), while the
//! next one is being built. A batch the database refuses is rolled back to a
//! savepoint and written row by row, so the rows it refuses are named (table,
//! key, column, the database's error) and, with `--reject-file`, set aside
//! while the rest go in.
//!
//! `--jobs N`: the decoding thread puts each row and delete into one of N
//! shares of the batch by a hash of its key (the key it is matched by), so
//! the rows of one key keep their order on one connection; the database
//! thread writes the shares at once on N connections, each in its own
//! transaction, and starts the next batch when all have committed (batches
//! keep their order). A table with enforced foreign keys, a key the
//! database compares by more than its bytes (outside `--mode insert`), or
//! rows that do not carry the key go through the first connection. With
//! `--state`, each share commits its connection's own progress row, and a
//! resumed run skips, per connection, what that connection committed.

pub mod cell;
mod early;
mod fastrow;
mod front;
mod mysql;
mod omitted;
mod pg_binary;
mod pgrow;
mod postgres;
mod sqlite;
pub mod state;
pub mod typemap;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use decant_record::cli::{self, InputArgs, Outcome, Progress, RejectArgs, Rejects, ReportArgs, Summary, TargetArgs};
use decant_record::conn::{ConnUrl, Role, Store};
use decant_record::shard::{self, Shard};
use decant_record::{Record, RowData, TableSchema};

use cell::{validate, Cell, EncodeOptions, ZeroDates};
use front::{Batch, Front, FrontOptions, Msg, Resume, Run};
use omitted::OmittedValue;
use typemap::{planned_column, table_ddl, CastRule, DdlOptions, Dialect, TargetColumn};

/// How rows meet rows that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// Plain INSERT: an existing key is an error (a rejected row).
    #[default]
    Insert,
    /// Insert, or update the existing row with the same primary key.
    Upsert,
    /// Insert new rows, leave existing ones (same key) untouched.
    SkipExisting,
    /// Replace the existing row whole (delete + insert).
    Replace,
}

/// The flags every SQL importer takes.
#[derive(Debug, Clone, clap::Args)]
pub struct SqlImportArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub input: InputArgs,
    /// Create missing tables from the stream's schema lines (indexes, unique
    /// keys and foreign keys are created after the data; in PostgreSQL with
    /// --mode insert the primary key too, while the keys keep going up; in
    /// PostgreSQL a table's indexes are built on a connection of their own
    /// once the stream moves on to another table; in PostgreSQL the tables
    /// made have autovacuum off until the run ends, or until a run killed
    /// before then is resumed with --state).
    #[arg(long)]
    pub create_tables: bool,
    /// How rows meet existing rows with the same primary key (or, when the
    /// rows do not carry it, the same unique key: see --key).
    #[arg(long, value_enum, default_value_t = Mode::Insert)]
    pub mode: Mode,
    /// The columns that identify a row of TABLE for --mode upsert,
    /// skip-existing and replace, repeatable: `--key usage_records:api_key_id,created_at`.
    /// Needed when the rows do not carry the table's primary key (e.g. an
    /// AUTO_INCREMENT id) and no unique key of the schema line or of the
    /// target is made of columns they carry. Where the target enforces no
    /// such unique key (or a key column may be NULL), rows are matched one by
    /// one, NULL equal to NULL: slower, never a second copy.
    #[arg(long = "key", value_name = "TABLE:COLS")]
    pub keys: Vec<String>,
    /// Empty each table before its first row (once per run, also on resume).
    /// Refused for a share of a sharded export: one share would wipe the
    /// rows the others wrote (empty the tables before the shares start).
    #[arg(long)]
    pub truncate: bool,
    /// Rows per batch; each batch is committed in one transaction.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_rows: u64,
    /// Resumable run: progress is committed with each batch; rerunning the
    /// same command continues after the last committed batch.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Writer connections: each batch is spread over N connections by a
    /// hash of each row's key (one key, one connection, in stream order),
    /// each share committed on its own. Helps when the server is the bound
    /// (a big load into a server with cores to spare); tables with enforced
    /// foreign keys still go through one connection. SQLite has one writer:
    /// ignored there.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
    /// The share of a `--shard I/N` export this input is (numbered from 0).
    /// The stream's header says it already; the flag makes the command line
    /// say it too, and must agree with the header. Recorded in the --state
    /// file (which only a run of the same share resumes) and the summary.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<decant_record::shard::Shard>,
    /// Read and check every row against the target's columns; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Type rule for --create-tables, repeatable: `type:LOGICAL=SQLTYPE`
    /// (e.g. `type:datetime=timestamptz`), `type:SOURCE_TYPE=SQLTYPE`
    /// (e.g. `type:tinyint(1)=smallint`) or `column:[TABLE.]COLUMN=SQLTYPE`.
    #[arg(long = "cast", value_name = "RULE")]
    pub casts: Vec<String>,
    /// MySQL zero dates into a target that has none: reject the row, or NULL.
    #[arg(long, value_enum, default_value_t = ZeroDates::Error, value_name = "WHAT")]
    pub zero_dates: ZeroDates,
    /// Table character set for --create-tables on MySQL (default utf8mb4).
    #[arg(long, value_name = "CHARSET")]
    pub charset: Option<String>,
    /// Table collation for --create-tables on MySQL (default utf8mb4_unicode_ci).
    #[arg(long, value_name = "COLLATION")]
    pub collation: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub reject: RejectArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub report: ReportArgs,
}

/// An error the database returned for a statement.
#[derive(Debug, Clone)]
pub(crate) struct DbError {
    /// The database's message, with its code.
    pub message: String,
    /// The column the database named, if any.
    pub column: Option<String>,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbError {}

/// Rows written and rows skipped by one write.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Written {
    pub written: u64,
    pub skipped: u64,
}

/// One target table as the importer uses it.
#[derive(Debug, Clone)]
pub(crate) struct TablePlan {
    /// The table name as in the stream.
    pub name: String,
    /// Its columns in the target.
    pub columns: Vec<TargetColumn>,
    /// Primary-key columns (indexes into `columns`).
    pub pk: Vec<usize>,
    index: HashMap<String, usize>,
    /// The stream's schema line entry of each of `columns`, if any.
    src_of: Vec<Option<decant_record::Column>>,
    /// Created by this run (its foreign keys come after the data, so the
    /// order of its rows within a batch cannot matter).
    pub created_here: bool,
    /// No enforced foreign key references the table or leaves it, not even
    /// to itself (or it was created here): its rows may be written before
    /// rows of other tables that came earlier in the stream, and with
    /// --mode insert before its own rows of other columns.
    pub order_free: bool,
    /// The unique keys of the stream's schema line (column names).
    schema_unique: Vec<Vec<String>>,
    /// Created by this run without its primary key (`pk` is the schema
    /// line's), which is added after the data (PostgreSQL, --mode insert):
    /// the decoding thread checks that the keys keep going up, which proves
    /// them unique, and has the key added before the first batch where they
    /// do not (so a duplicate is refused by the database row by row, as ever).
    pub pk_after: bool,
    /// Per column: its text values may be bound as bytes, which the
    /// target stores exactly as the same text ([`Sink::text_as_bytes`]).
    pub text_as_bytes: Vec<bool>,
}

impl TablePlan {
    pub(crate) fn new(name: &str, columns: Vec<TargetColumn>, pk: &[String]) -> TablePlan {
        let index: HashMap<String, usize> = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let pk = pk.iter().filter_map(|k| index.get(k).copied()).collect();
        let src_of = vec![None; columns.len()];
        TablePlan {
            name: name.to_owned(),
            columns,
            pk,
            index,
            src_of,
            created_here: false,
            order_free: false,
            schema_unique: Vec::new(),
            pk_after: false,
            text_as_bytes: Vec::new(),
        }
    }

    /// Pairs the target's columns with the stream's schema line.
    fn with_source(mut self, schema: &TableSchema) -> TablePlan {
        self.src_of = self.columns.iter().map(|c| schema.columns.iter().find(|s| s.name == c.name).cloned()).collect();
        self.schema_unique = schema.indexes.iter().filter(|i| i.unique).map(|i| i.columns.clone()).collect();
        self
    }
}

/// A part of a statement: SQL text, or a value the sink renders or binds.
#[derive(Debug, Clone)]
pub(crate) enum Piece<'a> {
    Sql(String),
    Value(&'a Cell),
}

/// Statements built ahead of their execution, on the decoding thread.
#[derive(Debug)]
pub(crate) enum Prepared {
    /// MySQL: the INSERT statements of a run of rows, values bound.
    MySql(Vec<mysql::BoundInsert>),
    /// PostgreSQL: the rows in COPY binary or text format.
    Copy(postgres::CopyData),
}

/// How a sink's statements are built (a plain value the decoding thread owns).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Preparer {
    /// MySQL multi-row INSERTs of at most this many bytes.
    MySql { max_statement: usize },
    /// PostgreSQL COPY text.
    Postgres,
    /// Bound values (SQLite): nothing to build ahead.
    Bound,
}

impl Preparer {
    /// The statements that write `rows`, `None` when built at write time.
    pub(crate) fn prepare(
        &self,
        plan: &TablePlan,
        cols: &[usize],
        rows: &[&[Cell]],
        mode: Mode,
    ) -> Result<Option<Prepared>, DbError> {
        Ok(match *self {
            Preparer::MySql { max_statement } => {
                Some(Prepared::MySql(mysql::insert_statements(plan, cols, rows, mode, max_statement)?))
            }
            Preparer::Postgres => Some(Prepared::Copy(postgres::copy_data(plan, cols, rows))),
            Preparer::Bound => None,
        })
    }
}

/// A database the importer writes into.
#[allow(async_fn_in_trait)]
pub(crate) trait Sink: 'static {
    /// The table's columns and primary key, `None` when it does not exist.
    async fn describe(&mut self, table: &str) -> anyhow::Result<Option<(Vec<TargetColumn>, Vec<String>)>>;
    /// Runs one statement outside the bulk path (DDL, BEGIN, COMMIT, …).
    async fn exec(&mut self, sql: &str) -> Result<u64, DbError>;
    /// The first column of the first row of a query, as text.
    async fn query_text(&mut self, sql: &str) -> Result<Option<String>, DbError>;
    /// How this sink's statements are built ahead of time.
    fn preparer(&self) -> Preparer;
    /// A second connection to the same database with the same session, for
    /// the work after the data (`None` where it would only wait).
    async fn another(&self) -> anyhow::Result<Option<Self>>
    where
        Self: Sized;
    /// Where a connection of its own may build a created table's primary
    /// key and indexes while the next table loads ([`early`]); `None`: they
    /// are built at the end.
    fn early_builds(&self) -> Option<ConnUrl> {
        None
    }
    /// A connection to `url` (from [`Sink::early_builds`]) for the index
    /// builds beside the load, with this sink's session.
    async fn open_index_builder(_url: &ConnUrl) -> anyhow::Result<Self>
    where
        Self: Sized,
    {
        bail!("no connection of its own for the index builds here")
    }
    /// Writes rows (`cols` are indexes into the plan's columns), with the
    /// statements built ahead when given (then `rows` only counts the rows:
    /// their cells may have been dropped), else builds them from `rows`.
    async fn write(
        &mut self,
        plan: &TablePlan,
        cols: &[usize],
        rows: &[&[Cell]],
        mode: Mode,
        prepared: Option<Prepared>,
    ) -> Result<Written, DbError>;
    /// Whether an enforced foreign key leaves the table or points at it
    /// (one from the table to itself included).
    async fn has_foreign_keys(&mut self, table: &str) -> Result<bool, DbError>;
    /// The table's unique keys other than its primary key (column names in
    /// key order; keys over expressions or column prefixes left out).
    async fn unique_keys(&mut self, table: &str) -> Result<Vec<Vec<String>>, DbError>;
    /// What each column of the table holds when a row omits it (its
    /// default as a constant, or why that is not known), by column name.
    async fn omitted_values(&mut self, table: &str) -> Result<HashMap<String, OmittedValue>, DbError>;
    /// Runs a statement made of SQL text and values (rendered or bound as
    /// this sink does); returns the rows it affected.
    async fn exec_pieces(&mut self, pieces: &[Piece<'_>]) -> Result<u64, DbError>;
    /// Whether a query made of SQL text and values returns a row.
    async fn exists_pieces(&mut self, pieces: &[Piece<'_>]) -> Result<bool, DbError>;
    /// The first column of every row of a query made of SQL text and
    /// values, as text (the query selects text).
    async fn query_strings(&mut self, pieces: &[Piece<'_>]) -> Result<Vec<String>, DbError>;
    /// Runs statements in order, stopping at the first that fails. A sink
    /// that can send several statements in one round trip does.
    async fn exec_many(&mut self, statements: &[Vec<Piece<'_>>]) -> Result<(), DbError> {
        for st in statements {
            self.exec_pieces(st).await?;
        }
        Ok(())
    }
    /// Deletes the row with this primary key; returns rows deleted.
    async fn delete(&mut self, plan: &TablePlan, key: &[Cell]) -> Result<u64, DbError>;
    /// Empties a table.
    async fn truncate(&mut self, plan: &TablePlan) -> Result<(), DbError>;
    /// Puts identity sequences past the loaded keys (PostgreSQL).
    async fn reset_identity(&mut self, plan: &TablePlan) -> Result<(), DbError>;
    /// Saves the run's progress (inside the open transaction).
    async fn save_state(&mut self, id: &str, json: &str) -> Result<(), DbError>;

    /// Per column of `plan`, whether its text values may be bound as bytes
    /// (MySQL: the server then skips the character-set bookkeeping of a
    /// text parameter and stores the same bytes). Empty: none.
    async fn text_as_bytes(&mut self, _plan: &TablePlan) -> Result<Vec<bool>, DbError> {
        Ok(Vec::new())
    }
    /// Called after `--create-tables` created `schema`'s table, for a store
    /// that keeps what its DDL cannot say (SQLite: the schema line).
    async fn created(&mut self, _schema: &TableSchema, _casts_applied: bool) -> Result<(), DbError> {
        Ok(())
    }
}

/// Runs an importer: the body of `mysql-import`, `pg-import`, `sqlite-import`.
pub fn run(dialect: Dialect, args: SqlImportArgs) -> anyhow::Result<Outcome> {
    let resumable = args.state.is_some();
    let from_stdin = args.input.input.as_deref().is_none_or(|p| p.as_os_str() == "-");
    run_import(dialect, args).map_err(|e| match failure_hint(&cli::error_chain(&e), resumable) {
        Some(hint) => {
            let gone = !hint.starts_with("the row is already");
            let mut message = format!("{}; {hint}", cli::error_chain(&e));
            if gone {
                let argv: Vec<String> = std::env::args().collect();
                message.push_str(&format!(":\n  {}", resume_command(&argv, resumable)));
                if from_stdin {
                    message.push_str("\n(with the same input on stdin)");
                }
            }
            anyhow::anyhow!(message)
        }
        None => e,
    })
}

/// The command that continues a failed run `argv`: the same one with
/// `--state` (it resumes after the last committed batch), else the same one
/// with `--mode skip-existing` (rows already there are kept). Arguments are
/// quoted for a POSIX shell; passwords are hidden when it is printed.
fn resume_command(argv: &[String], resumable: bool) -> String {
    let mut args: Vec<String> = Vec::with_capacity(argv.len() + 2);
    let mut skip_next = false;
    for (i, a) in argv.iter().enumerate() {
        if skip_next {
            skip_next = false;
            continue;
        }
        if !resumable && i > 0 && (a == "--mode" || a.starts_with("--mode=")) {
            skip_next = a == "--mode";
            continue;
        }
        args.push(a.clone());
    }
    if let Some(first) = args.first_mut() {
        // The program as the user typed it, not its full path.
        if let Some(name) = std::path::Path::new(first).file_name() {
            *first = name.to_string_lossy().into_owned();
        }
    }
    if !resumable {
        args.push("--mode".into());
        args.push("skip-existing".into());
    }
    args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,%+".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// What to do about an import that failed with `message`, when the cause is
/// one a rerun has to handle: rows already in the target (the rerun of a run
/// that was cut off) or a database server that went away mid-import.
fn failure_hint(message: &str, resumable: bool) -> Option<&'static str> {
    let m = message.to_ascii_lowercase();
    let duplicate = ["duplicate key", "duplicate entry", "unique constraint failed"].iter().any(|p| m.contains(p));
    let gone = [
        "error communicating with database",
        "connection reset",
        "broken pipe",
        "expected to read",
        "unexpected eof",
        "server closed the connection",
        "terminating connection",
        "server has gone away",
        "lost connection",
        "connection refused",
        "connection was killed",
        "administrator command",
    ]
    .iter()
    .any(|p| m.contains(p));
    match (duplicate, gone, resumable) {
        (true, _, _) => Some(
            "the row is already in the target. If this reruns an import that was cut off, rerun with \
             --mode skip-existing (keeps the rows already there) or --mode upsert, or with --truncate to \
             start over; next time give --state FILE and a rerun continues exactly where it stopped",
        ),
        (false, true, true) => Some(
            "the database server went away (or could not be reached). The batches committed before that \
             stay in the target and --state records the last one: once the server is back, rerun the same \
             command to continue after it",
        ),
        (false, true, false) => Some(
            "the database server went away (or could not be reached). The batches committed before that \
             stay in the target: once the server is back, rerun with --mode skip-existing to add the rest \
             (or with --truncate to start over; with --state FILE a rerun continues exactly where it stopped)",
        ),
        _ => None,
    }
}

fn run_import(dialect: Dialect, args: SqlImportArgs) -> anyhow::Result<Outcome> {
    let want = match dialect {
        Dialect::Postgres => Store::Postgres,
        Dialect::MySql => Store::MySql,
        Dialect::Sqlite => Store::Sqlite,
    };
    let url =
        ConnUrl::resolve_for(args.target.url.as_deref(), args.target.password_file.as_deref(), Role::Target, want)?;
    if url.store() != want {
        bail!("{url} is not a {} URL", dialect.name());
    }
    let casts =
        args.casts.iter().map(|c| CastRule::parse(c)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async move {
        match dialect {
            Dialect::Postgres => {
                let sink = postgres::PgSink::connect(&url).await?;
                Importer::new(dialect, sink, args, casts)?.run().await
            }
            Dialect::MySql => {
                let sink = mysql::MySink::connect(&url).await?;
                Importer::new(dialect, sink, args, casts)?.run().await
            }
            Dialect::Sqlite => {
                let sink = sqlite::LiteSink::connect(&url, args.dry_run).await?;
                Importer::new(dialect, sink, args, casts)?.run().await
            }
        }
    })
}

/// The database thread's side of an import.
struct Importer<S: Sink> {
    dialect: Dialect,
    sink: S,
    /// The other writer connections (`--jobs`), opened at the start.
    helpers: Vec<S>,
    /// Writer connections the run uses (`--jobs`; 1 for SQLite and a dry run).
    jobs: usize,
    /// With `--state`: the last input line each connection committed.
    part_lines: Vec<u64>,
    args: SqlImportArgs,
    ddl: DdlOptions,
    plans: Vec<TablePlan>,
    plan_of: HashMap<String, usize>,
    /// Tables created by this run (statements due after the data).
    deferred_indexes: Vec<DeferredIndexes>,
    deferred_fks: Vec<(String, String, decant_record::ForeignKey)>,
    /// Tables created by this run whose primary key comes after the data
    /// (`ALTER TABLE … ADD PRIMARY KEY`), by name: [`TablePlan::pk_after`].
    deferred_pks: std::collections::BTreeMap<String, String>,
    /// The input is a share of a sharded export: other shares may load the
    /// same tables at once, so they are created with their primary key.
    sharded: bool,
    /// PostgreSQL tables this run created whose autovacuum is off until the
    /// end ([`Importer::pause_autovacuum`]), by name.
    autovacuum_paused: Vec<String>,
    written_tables: HashSet<usize>,
    summary: Summary,
    rejects: Rejects,
    state: Option<(state::StateFile, state::Progress)>,
    /// `--key`: table → the columns that identify a row.
    keys: HashMap<String, Vec<String>>,
    /// How each table's rows meet existing rows, per set of columns carried.
    ways: HashMap<(usize, Vec<usize>), Way>,
    /// What this run has committed so far, said when it fails.
    committed: Committed,
    /// The thread that builds the tables the stream has moved on from
    /// ([`early`]), once started.
    early: Option<early::Builder>,
    /// Whether starting it was tried (it is started once, at the first table).
    early_tried: bool,
    /// The builds sent to it, by table name, until the end of the run or
    /// until the stream comes back to the table.
    early_sent: HashMap<String, EarlySent>,
    /// Tables the stream came back to: their builds wait for the end (the
    /// stream interleaves them; each new stretch would build them again).
    early_returned: HashSet<String>,
}

/// A table's builds sent to [`early::Builder`], kept to be put back.
struct EarlySent {
    primary_key: Option<String>,
    indexes: Vec<DeferredIndexes>,
    /// The table's indexes before (a resumed run's, or a user's): the ones
    /// it gives back are the others.
    indexes_before: Vec<String>,
    /// Whether the primary key was added, once the builder says.
    primary_key_added: Option<bool>,
    /// The statements that failed so far.
    failures: Vec<String>,
}

/// What an import run has committed, for `-v` and for the message when the
/// run fails midway (the server went away): those rows stay in the target.
#[derive(Debug, Clone, Copy, Default)]
struct Committed {
    batches: u64,
    /// Rows written or deleted (the summary's written count at the commit).
    rows: u64,
    /// The last input line the committed batches cover.
    line: u64,
}

impl std::fmt::Display for Committed {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        if self.batches == 0 {
            return f.write_str("no batch was committed by this run");
        }
        write!(
            f,
            "{} batch(es) committed by this run ({} rows, input lines up to {})",
            cli::group_digits(self.batches),
            cli::group_digits(self.rows),
            cli::group_digits(self.line)
        )
    }
}

/// How the rows of one table (with one set of columns) meet existing rows.
#[derive(Debug, Clone)]
enum Way {
    /// The database finds them: by the plan's primary key, which may be a
    /// unique key standing in for a primary key the rows do not carry.
    Native(TablePlan),
    /// Looked up row by row by `key` (NULL-safe): the database enforces no
    /// unique key on these columns, or one of them may be NULL. `native`
    /// (the plan keyed by them) when a unique key does enforce them for the
    /// rows whose key has no NULL: those go through the database's own
    /// path, in bulk. `omitted`: the key's columns the rows do not carry,
    /// each with the constant the database gives it (an SQL literal).
    Lookup { key: Vec<usize>, native: Option<TablePlan>, omitted: Vec<(usize, String)> },
}

/// Parses `--key TABLE:COL,COL`.
pub fn parse_key(spec: &str) -> Result<(String, Vec<String>), String> {
    let bad =
        || format!("--key {spec:?}: expected TABLE:COLUMN[,COLUMN…], e.g. --key usage_records:api_key_id,created_at");
    let (table, cols) = spec.rsplit_once(':').ok_or_else(bad)?;
    let cols: Vec<String> = cols.split(',').map(|c| c.trim().to_owned()).collect();
    if table.trim().is_empty() || cols.iter().any(String::is_empty) {
        return Err(bad());
    }
    Ok((table.trim().to_owned(), cols))
}

/// The statement text of `col <=> value` in each dialect (NULL equals NULL).
fn null_safe_equal(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::MySql => " <=> ",
        Dialect::Postgres => " IS NOT DISTINCT FROM ",
        Dialect::Sqlite => " IS ",
    }
}

/// Rows per lookup statement (and statements per round trip): SQLite
/// refuses a compound SELECT of more than 500 parts.
const LOOKUP_ROWS: usize = 256;
/// Bound values per lookup statement (SQLite allows 32,766).
const LOOKUP_VALUES: usize = 30_000;
/// Bytes of SQL text per lookup statement or round trip (less on a MySQL
/// server whose max_allowed_packet is smaller).
const LOOKUP_BYTES: usize = 1 << 20;
/// Rows looked up and written together at most: a segment the database
/// refuses is written again row by row, so a bad row costs this many.
const SEGMENT_ROWS: usize = 2048;

/// `k1 <=> v1 AND k2 <=> v2 …` (NULL equal to NULL) for the key columns of
/// `row` (carrying `cols`); a column the rows omit compares with its default.
fn key_condition<'a>(
    d: Dialect,
    plan: &TablePlan,
    cols: &[usize],
    key: &[usize],
    omitted: &[(usize, String)],
    row: &'a [Cell],
) -> Vec<Piece<'a>> {
    let mut cond: Vec<Piece<'a>> = Vec::new();
    for (n, &k) in key.iter().enumerate() {
        let and = if n == 0 { "" } else { " AND " };
        let column = d.quote(&plan.columns[k].name);
        let value = match cols.iter().position(|&c| c == k) {
            Some(pos) => Piece::Value(&row[pos]),
            None => {
                let (_, default) =
                    omitted.iter().find(|(o, _)| *o == k).expect("way() knows each omitted key column's default");
                Piece::Sql(default.clone())
            }
        };
        let null = match &value {
            Piece::Value(c) => matches!(c, Cell::Null),
            Piece::Sql(s) => s.eq_ignore_ascii_case("null"),
        };
        // PostgreSQL uses no index for IS NOT DISTINCT FROM: with the value
        // known, `= value` (or IS NULL) selects the same rows, through one.
        match (d, null) {
            (_, true) => cond.push(Piece::Sql(format!("{and}{column} IS NULL"))),
            (Dialect::Postgres, false) => {
                cond.push(Piece::Sql(format!("{and}{column} = ")));
                cond.push(value);
            }
            (_, false) => {
                cond.push(Piece::Sql(format!("{and}{column}{}", null_safe_equal(d))));
                cond.push(value);
            }
        }
    }
    cond
}

/// What a numbered lookup asks of each condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matches {
    /// Some row matches it.
    Any,
    /// More than one row matches it.
    Several,
}

/// One query that answers, for each of the conditions `conds[range]`,
/// whether rows of `table` match it (`how`): the numbers (as text) of
/// those that do, each condition evaluated as it stands (the database's
/// own comparison, collation and conversions).
fn numbered_lookup<'a>(
    d: Dialect,
    table: &str,
    conds: &[Vec<Piece<'a>>],
    range: std::ops::Range<usize>,
    how: Matches,
) -> Vec<Piece<'a>> {
    let mut query = Vec::new();
    for n in range.clone() {
        let union = if n == range.start { "" } else { " UNION ALL " };
        // MySQL and PostgreSQL: a parenthesised SELECT with its own LIMIT,
        // a plain index lookup (a third cheaper than an EXISTS subquery in
        // MariaDB). SQLite takes no parentheses in a compound SELECT.
        let (head, tail) = match (d, how) {
            (Dialect::Sqlite, Matches::Any) => {
                (format!("SELECT '{n}' WHERE EXISTS (SELECT 1 FROM {table} WHERE "), ")".to_owned())
            }
            (Dialect::Sqlite, Matches::Several) => {
                (format!("SELECT '{n}' WHERE (SELECT COUNT(*) FROM {table} WHERE "), ") > 1".to_owned())
            }
            (_, Matches::Any) => (format!("(SELECT '{n}' FROM {table} WHERE "), " LIMIT 1)".to_owned()),
            (_, Matches::Several) => (format!("(SELECT '{n}' FROM {table} WHERE "), " LIMIT 1 OFFSET 1)".to_owned()),
        };
        query.push(Piece::Sql(format!("{union}{head}")));
        query.extend(conds[n].iter().cloned());
        query.push(Piece::Sql(tail));
    }
    query
}

/// `UPDATE t SET c = v, …` of the columns `row` carries outside the key
/// (its WHERE to follow); `None` when it carries none.
fn update_head<'a>(
    d: Dialect,
    plan: &TablePlan,
    cols: &[usize],
    key: &[usize],
    row: &'a [Cell],
) -> Option<Vec<Piece<'a>>> {
    let mut set = vec![Piece::Sql(format!("UPDATE {} SET ", d.quote_table(&plan.name)))];
    let mut any = false;
    for (pos, &c) in cols.iter().enumerate() {
        if key.contains(&c) {
            continue;
        }
        let comma = if any { ", " } else { "" };
        set.push(Piece::Sql(format!("{comma}{} = ", d.quote(&plan.columns[c].name))));
        set.push(Piece::Value(&row[pos]));
        any = true;
    }
    any.then_some(set)
}

/// Consecutive ranges of `parts` (statements, or conditions of one
/// statement) that fit one statement or round trip: at most
/// [`LOOKUP_ROWS`] parts, [`LOOKUP_VALUES`] values and about `bytes` of text.
fn statement_chunks(parts: &[Vec<Piece<'_>>], bytes: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut size, mut values) = (0, 0, 0);
    for (n, part) in parts.iter().enumerate() {
        // The text of the part, values at their widest (bytes as hex), plus
        // the few dozen bytes that wrap each part.
        let part_size: usize = 64
            + part
                .iter()
                .map(|p| match p {
                    Piece::Sql(s) => s.len(),
                    Piece::Value(Cell::Text(t)) => 2 * t.len() + 2,
                    Piece::Value(Cell::Bytes(b)) => 2 * b.len() + 12,
                    Piece::Value(_) => 48,
                })
                .sum::<usize>();
        let part_values = part.iter().filter(|p| matches!(p, Piece::Value(_))).count();
        if n > start && (n - start >= LOOKUP_ROWS || size + part_size > bytes || values + part_values > LOOKUP_VALUES) {
            out.push(start..n);
            (start, size, values) = (n, 0, 0);
        }
        size += part_size;
        values += part_values;
    }
    if start < parts.len() {
        out.push(start..parts.len());
    }
    out
}

/// Splits the rows `todo` (numbers into `rows`, in stream order) into
/// segments of at most [`SEGMENT_ROWS`] in which no two rows have the same
/// key: within one the order of the rows cannot matter, so they are looked
/// up together. A row whose key came earlier in its segment starts the
/// next one, looked up once the earlier rows are written: it updates,
/// skips or replaces the row written before it, as in stream order. Keys
/// compare as [`loose_key`] makes them, looser than byte for byte.
fn lookup_segments(
    plan: &TablePlan,
    todo: &[usize],
    cols: &[usize],
    key: &[usize],
    rows: &[&[Cell]],
) -> Vec<Vec<usize>> {
    let at: Vec<usize> = key.iter().filter_map(|k| cols.iter().position(|c| c == k)).collect();
    let mut out = Vec::new();
    let mut segment: Vec<usize> = Vec::new();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    for &i in todo {
        let k = loose_key(plan, cols, &at, rows[i]);
        if segment.len() >= SEGMENT_ROWS || seen.contains(&k) {
            out.push(std::mem::take(&mut segment));
            seen.clear();
        }
        seen.insert(k);
        segment.push(i);
    }
    if !segment.is_empty() {
        out.push(segment);
    }
    out
}

/// The cells of `row` at positions `at` as bytes that are equal when the
/// database may find the keys equal, as far as cheaply known: text folded
/// to ASCII lower case without trailing spaces (what MySQL's usual
/// collations, SQLite's NOCASE and RTRIM and PostgreSQL's char(n) ignore),
/// a date-time's `T` as a space and its fraction without trailing zeros.
fn loose_key(plan: &TablePlan, cols: &[usize], at: &[usize], row: &[Cell]) -> Vec<u8> {
    let mut b = Vec::new();
    for &p in at {
        match &row[p] {
            Cell::Null => b.push(0),
            // A boolean is the integer 0 or 1 to every target.
            Cell::Bool(v) => {
                b.push(1);
                b.extend(i128::from(*v).to_le_bytes());
            }
            Cell::Int(i) => {
                b.push(1);
                b.extend(i.to_le_bytes());
            }
            Cell::Float(f) => {
                b.push(2);
                b.extend(f.to_bits().to_le_bytes());
            }
            Cell::Text(t) => {
                let mut t = t.trim_end_matches(' ');
                let dated;
                if matches!(plan.columns[cols[p]].kind, typemap::Kind::Datetime | typemap::Kind::Timestamp) {
                    if t.contains('.') {
                        t = t.trim_end_matches('0').trim_end_matches('.');
                    }
                    dated = t.replacen('T', " ", 1);
                    t = &dated;
                }
                b.push(3);
                b.extend((t.len() as u64).to_le_bytes());
                b.extend(t.bytes().map(|c| c.to_ascii_lowercase()));
            }
            Cell::Bytes(v) => {
                b.push(4);
                b.extend((v.len() as u64).to_le_bytes());
                b.extend(v);
            }
        }
    }
    b
}

/// Whether the database can find two keys of `segment` equal only when
/// [`loose_key`] makes them equal, so that rows of one segment cannot meet
/// and the count after the write is not needed: integers (and booleans) in
/// integer columns; in MySQL and SQLite also printable ASCII text in text
/// columns (their collations ignore at most case and trailing spaces
/// there) and plain `YYYY-MM-DD[ HH:MM:SS[.f]]` date-times. PostgreSQL text
/// is always counted: a nondeterministic collation may ignore more.
fn exact_keys(
    d: Dialect,
    plan: &TablePlan,
    cols: &[usize],
    key: &[usize],
    rows: &[&[Cell]],
    segment: &[usize],
) -> bool {
    use typemap::Kind;
    key.iter().all(|&k| {
        // Omitted: the same default in every row.
        let Some(p) = cols.iter().position(|&c| c == k) else { return true };
        let kind = &plan.columns[k].kind;
        segment.iter().all(|&i| match (&rows[i][p], kind, d) {
            (Cell::Null, _, _) => true,
            (Cell::Int(_) | Cell::Bool(_), Kind::Int { .. } | Kind::Bool, _) => true,
            (_, _, Dialect::Postgres) => false,
            (Cell::Text(t), Kind::Text { .. }, _) => t.bytes().all(|c| (0x20..0x7f).contains(&c)),
            // A date alone, and a date-time with its time: `2026-12-01` and
            // `2026-12-01 00:00:00` are one DATETIME, and one DATE.
            (Cell::Text(t), Kind::Date, _) => t.len() == 10 && plain_datetime(t),
            (Cell::Text(t), Kind::Datetime, _) => t.len() >= 19 && plain_datetime(t),
            (Cell::Text(t), Kind::Timestamp, Dialect::MySql) => t.len() >= 19 && plain_datetime(t),
            _ => false,
        })
    })
}

/// `YYYY-MM-DD`, optionally ` HH:MM:SS` (or `T…`) and a fraction: the forms
/// that name one value each once [`loose_key`] has folded them.
fn plain_datetime(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10 && digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10);
    if !date || b.len() == 10 {
        return date;
    }
    let time = b.len() >= 19
        && (b[10] == b' ' || b[10] == b'T')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    time && (b.len() == 19 || (b[19] == b'.' && b.len() > 20 && digits(20..b.len())))
}

impl<S: Sink> Importer<S> {
    fn new(dialect: Dialect, sink: S, args: SqlImportArgs, casts: Vec<CastRule>) -> anyhow::Result<Self> {
        let resuming = args.state.as_deref().is_some_and(|p| p.exists());
        let rejects = Rejects::open(args.reject.reject_file.as_deref(), resuming)?;
        let mut keys = HashMap::new();
        for k in &args.keys {
            let (table, cols) = parse_key(k).map_err(anyhow::Error::msg)?;
            keys.insert(table, cols);
        }
        let mut jobs = args.jobs as usize;
        if jobs > 1 && dialect == Dialect::Sqlite {
            cli::warn(format_args!(
                "--jobs {jobs} ignored: SQLite takes one writer at a time, rows go through one connection"
            ));
            jobs = 1;
        }
        if args.dry_run {
            jobs = 1;
        }
        Ok(Importer {
            keys,
            ways: HashMap::new(),
            dialect,
            sink,
            helpers: Vec::new(),
            jobs,
            part_lines: vec![0; jobs],
            ddl: DdlOptions {
                casts,
                charset: args.charset.clone(),
                collation: args.collation.clone(),
                primary_key_after: false,
            },
            args,
            plans: Vec::new(),
            plan_of: HashMap::new(),
            deferred_indexes: Vec::new(),
            deferred_fks: Vec::new(),
            deferred_pks: Default::default(),
            sharded: false,
            autovacuum_paused: Vec::new(),
            written_tables: HashSet::new(),
            summary: Summary::new(),
            rejects,
            state: None,
            committed: Committed::default(),
            early: None,
            early_tried: false,
            early_sent: HashMap::new(),
            early_returned: HashSet::new(),
        })
    }

    async fn run(mut self) -> anyhow::Result<Outcome> {
        let (reader, meter) = self.args.input.open_metered()?;
        let mut progress = Progress::new(&self.args.report, "rows", None);
        progress.set_meter(meter);
        let (tx, rx) = std::sync::mpsc::sync_channel(0);
        let (recycle, recycled) = std::sync::mpsc::sync_channel(1);
        let front = Front::new(
            reader,
            FrontOptions {
                enc: EncodeOptions { dialect: self.dialect, zero_dates: self.args.zero_dates },
                mode: self.args.mode,
                batch_rows: self.args.batch_rows,
                dry_run: self.args.dry_run,
                preparer: self.sink.preparer(),
                jobs: self.jobs,
                keys: self.keys.clone(),
            },
            progress,
            tx,
            recycled,
        );
        let decoder = std::thread::Builder::new()
            .name("decode".into())
            .spawn(move || front.run())
            .context("starting the decoding thread")?;
        let served = self.serve(&rx, &recycle).await;
        // Dropping the receiver stops the decoding thread if it is still
        // reading (after an error here).
        drop(rx);
        let decoded = decoder.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the decoding thread panicked")));
        let result = match (served, decoded) {
            (Err(e), _) => Err(e),
            (Ok(None), Err(e)) => Err(e),
            (Ok(None), Ok(())) => Err(anyhow::anyhow!("the decoding thread stopped without finishing the input")),
            (Ok(Some(outcome)), _) => Ok(outcome),
        };
        if result.is_err() {
            // The keys being built are there once it is done; one that
            // failed is tried again below.
            if let Some(b) = self.early.take() {
                // What it has not started is left for a later run.
                b.abandon();
                while let Some(d) = b.next_done() {
                    self.note_early(d);
                }
            }
            for (name, sent) in std::mem::take(&mut self.early_sent) {
                if let (Some(pk), false) = (sent.primary_key, sent.primary_key_added == Some(true)) {
                    self.deferred_pks.insert(name, pk);
                }
            }
            if !self.deferred_pks.is_empty() {
                self.add_due_primary_keys().await;
            }
            for e in self.resume_autovacuum().await {
                cli::warn(e);
            }
        }
        result
    }

    /// Turns PostgreSQL's autovacuum off for a table this run has just
    /// created, until its data, keys and indexes are in: a worker would
    /// otherwise ANALYZE (and VACUUM) the table while it loads, taking a
    /// core from the load (~0.5 CPU-s on the 1M-row reline benchmark, in
    /// the middle of a 4 s load) for statistics of a half-loaded table.
    /// [`Importer::resume_autovacuum`] resets it at the end, or when the run
    /// stops on an error; a run killed before then leaves it off, as it
    /// leaves the indexes it had not built, until it is resumed with
    /// `--state` (or `ALTER TABLE … RESET (autovacuum_enabled)`). Best
    /// effort: a refusal only costs the load a core for a while.
    async fn pause_autovacuum(&mut self, name: &str) {
        if self.dialect != Dialect::Postgres {
            return;
        }
        let sql = format!("ALTER TABLE {} SET (autovacuum_enabled = off)", self.dialect.quote_table(name));
        match self.sink.exec(&sql).await {
            Ok(_) => self.autovacuum_paused.push(name.to_owned()),
            Err(e) => cli::verbose(1, format_args!("table {name}: autovacuum stays on during the load ({e})")),
        }
    }

    /// Resets the autovacuum setting of the tables [`Importer::pause_autovacuum`]
    /// turned off (the server's default again); what failed, said.
    async fn resume_autovacuum(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        for name in std::mem::take(&mut self.autovacuum_paused) {
            let sql = format!("ALTER TABLE {} RESET (autovacuum_enabled)", self.dialect.quote_table(&name));
            if let Err(e) = self.sink.exec(&sql).await {
                failures.push(format!("{sql}: {e} (autovacuum stays off for table {name} until it is reset)"));
            }
        }
        failures
    }

    /// Answers the decoding thread until the end of the input; `None` when it
    /// stopped early (its own error explains why).
    async fn serve(
        &mut self,
        rx: &std::sync::mpsc::Receiver<Msg>,
        recycle: &std::sync::mpsc::SyncSender<Batch>,
    ) -> anyhow::Result<Option<Outcome>> {
        let input_name = self.args.input.input.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "-".into());
        // The decoding thread builds the next batch meanwhile: blocking
        // here is waiting for it, nothing else runs on this thread.
        while let Ok(msg) = rx.recv() {
            match msg {
                Msg::Start { fingerprint, shard, reply } => {
                    let share = self.take_share(shard)?;
                    if self.open_state(&input_name, fingerprint, share).await? {
                        cli::warn("the state file says this import finished already: nothing to do");
                        let _ = reply.send(None);
                        return Ok(Some(Outcome::Success));
                    }
                    self.open_helpers().await?;
                    let resume = match &self.state {
                        Some((_, p)) => Resume {
                            line: self.part_lines.iter().copied().min().unwrap_or(0),
                            parts: self.part_lines.clone(),
                            pinned: p.pinned.clone(),
                        },
                        None => Resume::default(),
                    };
                    let _ = reply.send(Some(resume));
                }
                Msg::Pin { table, line } => {
                    cli::verbose(
                        1,
                        format_args!(
                            "table {table}: line {line} does not carry the key the rows are spread over the \
                             connections by; its rows go through one connection from here on"
                        ),
                    );
                    self.note_state(move |p| p.pinned.push(table)).await?;
                }
                Msg::Schema { schema, line, reply } => {
                    let t = self.on_schema(*schema).await.with_context(|| format!("line {line}"))?;
                    let _ = reply.send((t, self.plans[t].clone()));
                }
                Msg::Table { name, line, reply } => {
                    let t = self.plan_for(&name).await.with_context(|| format!("line {line}"))?;
                    let _ = reply.send((t, self.plans[t].clone()));
                }
                Msg::Batch(mut batch) => {
                    if let Err(e) = self.commit_batch(&mut batch).await {
                        return Err(e.context(CommittedBefore(self.committed)));
                    }
                    // Back to the decoding thread: it reuses the buffers, and
                    // frees the cells' strings in the thread that made them.
                    let _ = recycle.try_send(batch);
                }
                Msg::End { empty: true } => {
                    // Empty input: nothing to resume, nothing to do.
                    self.summary.print(&self.args.report);
                    return Ok(Some(Outcome::Success));
                }
                Msg::End { empty: false } => {
                    self.finish().await?;
                    self.rejects.finish()?;
                    self.summary.print(&self.args.report);
                    if self.args.dry_run && !self.args.report.quiet {
                        cli::warn("dry run: nothing was written");
                    }
                    return Ok(Some(if self.rejects.count() > 0 { Outcome::Failed } else { Outcome::Success }));
                }
            }
        }
        Ok(None)
    }

    /// Opens the writer connections after the first (`--jobs`).
    async fn open_helpers(&mut self) -> anyhow::Result<()> {
        while self.helpers.len() + 1 < self.jobs {
            match self.sink.another().await {
                Ok(Some(h)) => self.helpers.push(h),
                Ok(None) => break,
                Err(e) => {
                    return Err(e.context(format!(
                    "opening writer connection {} of --jobs {}: lower --jobs (or raise the server's max_connections)",
                    self.helpers.len() + 2,
                    self.jobs
                )))
                }
            }
        }
        if self.jobs > 1 {
            cli::verbose(
                1,
                format_args!("writing through {} connections (--jobs {})", self.helpers.len() + 1, self.jobs),
            );
        }
        Ok(())
    }

    /// The share this input is (header and `--shard` agreeing), named in
    /// the summary; `--truncate` is refused for a share.
    fn take_share(&mut self, header: Option<Shard>) -> anyhow::Result<Option<Shard>> {
        let share = shard::input_share(self.args.shard, header).map_err(anyhow::Error::msg)?;
        if let Some(share) = share {
            if self.args.truncate {
                // Shares run concurrently: truncating in one would delete the
                // rows another has already committed, and no share can know
                // whether the others have started.
                bail!(
                    "--truncate with share {share}: each share would empty the rows the other shares wrote; \
                     empty the tables before the shares start (TRUNCATE, or an unsharded import with --truncate), \
                     then import the shares without it"
                );
            }
        }
        self.summary = std::mem::take(&mut self.summary).with_shard(share);
        self.sharded = share.is_some();
        Ok(share)
    }

    /// Creates the state table if needed and commits this run's row at once
    /// (outside any batch), so that a concurrent run finishing meanwhile (a
    /// share of the same job) sees the row and keeps the table. A run that
    /// dropped the table between our CREATE and INSERT makes the INSERT fail:
    /// create it again.
    async fn register_run(&mut self, progress: &state::Progress) -> anyhow::Result<()> {
        let json = serde_json::to_string(progress).unwrap_or_default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let created = self
                .sink
                .exec(&format!(
                    "CREATE TABLE IF NOT EXISTS {} (id VARCHAR(64) NOT NULL PRIMARY KEY, progress TEXT NOT NULL)",
                    self.dialect.quote(state::STATE_TABLE)
                ))
                .await;
            match created {
                Ok(_) => {}
                // PostgreSQL's IF NOT EXISTS is no guard against a concurrent
                // CREATE (another share starting at the same moment): one of
                // them fails on the catalog's unique index; the table is there
                // on the next attempt.
                Err(_) if attempt < 5 => continue,
                Err(e) => bail!("creating the state table {}: {e}", state::STATE_TABLE),
            }
            match self.sink.save_state(&progress.id, &json).await {
                Ok(()) => return Ok(()),
                Err(_) if attempt < 5 => continue,
                Err(e) => bail!("saving the run's state in {}: {e}", state::STATE_TABLE),
            }
        }
    }

    /// Drops the state table when no run has a row left in it. The count and
    /// the drop hold a lock on the table, so a concurrent run (another share)
    /// cannot commit its row in between and lose it with the table.
    async fn drop_state_table_if_unused(&mut self) {
        let table = self.dialect.quote(state::STATE_TABLE);
        let (lock, unlock) = match self.dialect {
            Dialect::Postgres => (format!("BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"), "COMMIT"),
            Dialect::MySql => (format!("LOCK TABLES {table} WRITE"), "UNLOCK TABLES"),
            Dialect::Sqlite => ("BEGIN IMMEDIATE".to_owned(), "COMMIT"),
        };
        if self.sink.exec(&lock).await.is_err() {
            let _ = self.sink.exec(if self.dialect == Dialect::MySql { unlock } else { "ROLLBACK" }).await;
            return;
        }
        let left = self.sink.query_text(&format!("SELECT COUNT(*) FROM {table}")).await.ok().flatten();
        if left.as_deref() == Some("0") {
            let _ = self.sink.exec(&format!("DROP TABLE {table}")).await;
        }
        let _ = self.sink.exec(unlock).await;
    }

    /// Loads or starts the run's state; true when the run already finished.
    async fn open_state(&mut self, input: &str, fingerprint: String, share: Option<Shard>) -> anyhow::Result<bool> {
        let Some(path) = self.args.state.clone() else { return Ok(false) };
        if self.args.dry_run {
            cli::warn("--dry-run ignores --state");
            return Ok(false);
        }
        let file = state::StateFile::new(&path);
        let saved = file.load()?;
        if let Some(saved) = &saved {
            shard::check_state_share(saved.shard, share, &path.display().to_string()).map_err(anyhow::Error::msg)?;
        }
        if saved.as_ref().is_some_and(|p| p.finished && p.first_line_blake3 == fingerprint) {
            return Ok(true);
        }
        let progress = match saved {
            None => {
                let p = state::Progress {
                    id: state::new_run_id(),
                    input: input.to_owned(),
                    first_line_blake3: fingerprint,
                    shard: share,
                    ..Default::default()
                };
                self.register_run(&p).await?;
                p
            }
            Some(saved) => {
                if saved.first_line_blake3 != fingerprint {
                    bail!(
                        "state file {} belongs to another input (its first line differs): remove it to start over",
                        path.display()
                    );
                }
                if saved.finished {
                    return Ok(true);
                }
                let sql = format!(
                    "SELECT progress FROM {} WHERE id = '{}'",
                    self.dialect.quote(state::STATE_TABLE),
                    saved.id
                );
                // No state table: no run has a row (the last one to finish dropped it).
                let in_db = self.sink.query_text(&sql).await.ok().flatten();
                let progress = match in_db {
                    Some(json) => serde_json::from_str::<state::Progress>(&json).context("the run's state row is damaged")?,
                    None if saved.line == 0 && saved.created.is_empty() && saved.truncated.is_empty() => {
                        // Nothing committed: no connection's row to read.
                        let saved = state::Progress { jobs: 0, ..saved };
                        self.register_run(&saved).await?;
                        saved
                    }
                    None => bail!(
                        "state file {} says line {} is committed, but the target has no progress row for run {} in {}: is this the same target?",
                        path.display(),
                        saved.line,
                        saved.id,
                        state::STATE_TABLE
                    ),
                };
                self.part_lines = self.saved_part_lines(&progress, &path).await?;
                if !self.args.report.quiet {
                    let min = self.part_lines.iter().copied().min().unwrap_or(0);
                    cli::warn(format_args!("resuming after input line {min} (run {})", progress.id));
                }
                progress
            }
        };
        let mut progress = progress;
        if self.jobs > 1 || progress.jobs > 1 {
            // Every connection's progress row exists from the start, so a
            // resumed run never mistakes a missing row for "nothing committed".
            progress.jobs = self.jobs as u64;
            self.exec_or_fail("BEGIN").await?;
            for j in 0..self.jobs {
                let (id, json) = part_state(&progress, j, self.part_lines[j]);
                self.sink.save_state(&id, &json).await.map_err(|e| anyhow::anyhow!("saving the run's state: {e}"))?;
            }
            self.exec_or_fail("COMMIT").await?;
        }
        file.save(&progress)?;
        self.state = Some((file, progress));
        Ok(false)
    }

    /// The last line each writer connection of a resumed run committed,
    /// for this run's `--jobs`: the saved run's connections may have
    /// stopped at different lines (each commits its share of a batch on
    /// its own); then the same `--jobs` is needed to tell which rows of
    /// the batch between them each committed.
    async fn saved_part_lines(
        &mut self,
        progress: &state::Progress,
        path: &std::path::Path,
    ) -> anyhow::Result<Vec<u64>> {
        let mut lines = vec![progress.line];
        for j in 1..progress.jobs.max(1) as usize {
            let (id, _) = part_state(progress, j, 0);
            let sql = format!("SELECT progress FROM {} WHERE id = '{id}'", self.dialect.quote(state::STATE_TABLE));
            let json = self.sink.query_text(&sql).await.ok().flatten().ok_or_else(|| {
                anyhow::anyhow!("the target has no progress row {id} in {} for connection {} of run {}: the state is damaged, remove {} to start over", state::STATE_TABLE, j + 1, progress.id, path.display())
            })?;
            let part: state::Progress = serde_json::from_str(&json).context("the run's state row is damaged")?;
            lines.push(part.line);
        }
        let (min, max) = (lines.iter().min().copied().unwrap_or(0), lines.iter().max().copied().unwrap_or(0));
        if lines.len() == self.jobs {
            return Ok(lines);
        }
        if min == max {
            return Ok(vec![min; self.jobs]);
        }
        bail!(
            "state file {}: the run was started with --jobs {}, and its connections stopped at input lines {min} to {max} \
             (each commits its share of a batch on its own); rerun with --jobs {} to finish that batch exactly",
            path.display(),
            lines.len(),
            lines.len()
        )
    }

    /// Saves the progress in the database (call inside the batch's transaction).
    async fn save_state_in_db(&mut self) -> anyhow::Result<()> {
        if let Some((_, p)) = &self.state {
            let json = serde_json::to_string(p).unwrap_or_default();
            let id = p.id.clone();
            self.sink.save_state(&id, &json).await.map_err(|e| anyhow::anyhow!("saving the run's state: {e}"))?;
        }
        Ok(())
    }

    fn save_state_file(&self) -> anyhow::Result<()> {
        if let Some((file, p)) = &self.state {
            file.save(p)?;
        }
        Ok(())
    }

    /// Records a DDL-level event (table created / truncated) in the state, committed at once.
    async fn note_state(&mut self, f: impl FnOnce(&mut state::Progress)) -> anyhow::Result<()> {
        if let Some((_, p)) = self.state.as_mut() {
            f(p);
            self.exec_or_fail("BEGIN").await?;
            self.save_state_in_db().await?;
            self.exec_or_fail("COMMIT").await?;
            self.save_state_file()?;
        }
        Ok(())
    }

    async fn exec_or_fail(&mut self, sql: &str) -> anyhow::Result<u64> {
        self.sink.exec(sql).await.map_err(|e| anyhow::anyhow!("{e} (in: {})", first_words(sql)))
    }

    /// A `schema` line: creates or describes the table; returns its plan's number.
    async fn on_schema(&mut self, schema: TableSchema) -> anyhow::Result<usize> {
        let name = schema.table.clone();
        let existing = self.sink.describe(&name).await?;
        let created_before = self.state.as_ref().is_some_and(|(_, p)| p.created.contains(&name));
        let plan = match existing {
            Some((cols, mut pk)) => {
                // Created by this run, its primary key still to come.
                let pk_after = self.deferred_pks.contains_key(&name);
                if pk_after {
                    pk = schema.primary_key.clone();
                }
                if !pk_after && pk.is_empty() && !schema.primary_key.is_empty() && self.pk_pending(&name).await? {
                    // Created by a run that stopped before its primary key
                    // (due after the data; its rows had keys going up): added
                    // now, before more rows.
                    let opts = DdlOptions { primary_key_after: true, ..self.ddl.clone() };
                    if let (Some(sql), false) =
                        (table_ddl(self.dialect, &schema, &opts)?.primary_key, self.args.dry_run)
                    {
                        cli::verbose(1, format_args!("table {name}: adding the primary key an earlier run left due"));
                        self.exec_or_fail(&sql).await.with_context(|| format!("table {name}"))?;
                    }
                    pk = schema.primary_key.clone();
                }
                if self.args.create_tables && !created_before {
                    self.check_existing_table(&schema, &cols, &pk)?;
                }
                if created_before && self.args.create_tables {
                    if self.dialect == Dialect::Postgres {
                        // Paused by the run that created it, maybe.
                        self.autovacuum_paused.push(name.clone());
                    }
                    let ddl = table_ddl(self.dialect, &schema, &self.ddl)?;
                    self.deferred_indexes.push(DeferredIndexes::of(&name, &ddl));
                    self.deferred_fks.extend(fk_list(&schema, ddl.foreign_keys));
                }
                let mut plan = TablePlan::new(&name, cols, &pk);
                plan.pk_after = pk_after;
                // Created by the first run of this --state run: its foreign keys are still due.
                plan.created_here = created_before && self.args.create_tables;
                plan
            }
            None if !self.args.create_tables => {
                bail!("table {name} does not exist in the target: create it, or pass --create-tables")
            }
            None if self.args.dry_run => {
                {
                    let ddl = table_ddl(self.dialect, &schema, &self.ddl)?;
                    for note in &ddl.notes {
                        cli::warn(note);
                    }
                    self.report_not_carried(&ddl.not_carried);
                    print_dry_run_ddl(&name, &ddl)?;
                }
                let cols = schema.columns.iter().map(|c| planned_column(self.dialect, &schema, c, &self.ddl)).collect();
                TablePlan::new(&name, cols, &schema.primary_key)
            }
            None => {
                // --mode insert into a table made here: its primary key is
                // built after the data (one sort instead of a btree insert
                // per row), while the keys keep going up (TablePlan::pk_after).
                let opts = DdlOptions {
                    primary_key_after: self.dialect == Dialect::Postgres
                        && self.args.mode == Mode::Insert
                        && !self.sharded,
                    ..self.ddl.clone()
                };
                let ddl = table_ddl(self.dialect, &schema, &opts)?;
                for note in &ddl.notes {
                    cli::warn(note);
                }
                self.report_not_carried(&ddl.not_carried);
                for sql in &ddl.create {
                    cli::verbose(1, format_args!("table {name}: {sql}"));
                    self.sink
                        .exec(sql)
                        .await
                        .map_err(|e| anyhow::anyhow!("creating table {name}: {e}\nstatement: {sql}"))?;
                }
                self.pause_autovacuum(&name).await;
                let casts_applied =
                    schema.columns.iter().any(|c| typemap::cast_for(&self.ddl.casts, &schema.table, c).is_some());
                self.sink
                    .created(&schema, casts_applied)
                    .await
                    .map_err(|e| anyhow::anyhow!("recording the schema of table {name}: {e}"))?;
                self.deferred_indexes.push(DeferredIndexes::of(&name, &ddl));
                self.deferred_fks.extend(fk_list(&schema, ddl.foreign_keys));
                let n = name.clone();
                self.note_state(move |p| p.created.push(n)).await?;
                let (cols, mut pk) = self
                    .sink
                    .describe(&name)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("table {name} was created but cannot be found"))?;
                if let Some(sql) = ddl.primary_key {
                    self.deferred_pks.insert(name.clone(), sql);
                    pk = schema.primary_key.clone();
                }
                let mut plan = TablePlan::new(&name, cols, &pk);
                plan.created_here = true;
                plan.pk_after = self.deferred_pks.contains_key(&name);
                plan
            }
        };
        let plan = plan.with_source(&schema);
        self.summary.group(&name);
        self.install_plan(plan).await
    }

    /// Whether the table carries the marker of a primary key still due
    /// ([`typemap::PK_PENDING`]).
    async fn pk_pending(&mut self, table: &str) -> anyhow::Result<bool> {
        if self.dialect != Dialect::Postgres {
            return Ok(false);
        }
        let sql = format!(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass('{}') AND conname = '{}'",
            self.dialect.quote_table(table).replace('\'', "''"),
            typemap::PK_PENDING
        );
        let n =
            self.sink.query_text(&sql).await.map_err(|e| anyhow::anyhow!("reading the constraints of {table}: {e}"))?;
        Ok(n.as_deref() == Some("1"))
    }

    /// A run that stops early still leaves each table it created with its
    /// primary key (a rerun, a check, meets the table the schema line
    /// describes): the rows committed so far had keys going up. Best effort
    /// (the server may be gone): a later run adds what is left.
    async fn add_due_primary_keys(&mut self) {
        // The other connections' open transactions end with them.
        self.helpers.clear();
        let _ = self.sink.exec("ROLLBACK").await;
        for (name, sql) in std::mem::take(&mut self.deferred_pks) {
            if let Err(e) = self.sink.exec(&sql).await {
                cli::warn(format_args!(
                    "table {name}: its primary key (due after the data) could not be added: {e}; the next run \
                     into the table adds it"
                ));
            }
        }
    }

    /// `--create-tables` meets a table that exists already: says how it
    /// differs from the schema line before the first row, and stops (exit 2)
    /// when the rows could not go in.
    fn check_existing_table(&self, schema: &TableSchema, cols: &[TargetColumn], pk: &[String]) -> anyhow::Result<()> {
        let name = &schema.table;
        let keyed = self.args.keys.iter().any(|k| k.split_once(':').is_some_and(|(t, _)| t == name));
        let found = typemap::table_differences(self.dialect, schema, cols, pk, &self.ddl, keyed);
        for w in &found.warnings {
            cli::warn(format_args!("table {name} exists already: {w}"));
        }
        if found.blocking.is_empty() {
            if cli::verbosity() > 0 {
                cli::warn(format_args!("table {name} exists already and matches the schema line: rows go into it"));
            }
            return Ok(());
        }
        bail!(
            "table {name} exists already and differs from the stream's schema line (--create-tables creates only \
             missing tables; nothing was written):\n{}\nAlter or drop the target table, or reshape the rows with \
             decant-transform",
            found.blocking.iter().map(|b| format!("  - {b}")).collect::<Vec<_>>().join("\n")
        )
    }

    /// Names what a created table could not carry: a warning now, a note
    /// in the end summary.
    fn report_not_carried(&mut self, messages: &[String]) {
        for m in messages {
            cli::warn(format_args!("{m}"));
            self.summary.note(format!("not carried: {m}"));
        }
    }

    async fn install_plan(&mut self, mut plan: TablePlan) -> anyhow::Result<usize> {
        let name = plan.name.clone();
        if !self.args.dry_run {
            plan.text_as_bytes = self
                .sink
                .text_as_bytes(&plan)
                .await
                .map_err(|e| anyhow::anyhow!("reading the character sets of {name}: {e}"))?;
        }
        plan.order_free = plan.created_here
            || !self
                .sink
                .has_foreign_keys(&name)
                .await
                .map_err(|e| anyhow::anyhow!("reading the foreign keys of {name}: {e}"))?;
        if self.jobs > 1 && !plan.order_free && !self.plan_of.contains_key(&name) {
            cli::verbose(
                1,
                format_args!(
                    "table {name} has enforced foreign keys: its rows go through one connection \
                     (a child row could otherwise arrive before its parent commits on another)"
                ),
            );
        }
        let idx = match self.plan_of.get(&name) {
            Some(&i) => {
                self.plans[i] = plan;
                // A new schema line: how its rows meet existing ones is decided again.
                self.ways.retain(|(t, _), _| *t != i);
                i
            }
            None => {
                self.plans.push(plan);
                self.plan_of.insert(name.clone(), self.plans.len() - 1);
                self.plans.len() - 1
            }
        };
        let truncated = self.state.as_ref().is_some_and(|(_, p)| p.truncated.contains(&name));
        if self.args.truncate && !truncated && !self.args.dry_run && !self.written_tables.contains(&idx) {
            let plan = self.plans[idx].clone();
            self.sink.truncate(&plan).await.map_err(|e| anyhow::anyhow!("truncating {name}: {e}"))?;
            let n = name.clone();
            self.note_state(move |p| p.truncated.push(n)).await?;
            // Without --state, remember in memory so a second schema line does not truncate again.
            self.written_tables.insert(idx);
        }
        Ok(idx)
    }

    /// The plan of a table that had no schema line: the target's own columns.
    async fn plan_for(&mut self, table: &str) -> anyhow::Result<usize> {
        if let Some(&i) = self.plan_of.get(table) {
            return Ok(i);
        }
        let Some((cols, pk)) = self.sink.describe(table).await? else {
            bail!(
                "table {table} does not exist in the target and the stream has no schema line for it (create it first)"
            );
        };
        self.summary.group(table);
        self.install_plan(TablePlan::new(table, cols, &pk)).await
    }

    /// Writes a batch and commits it with the progress up to its
    /// `commit_line`; first the rejects found before the database. Each
    /// connection (`--jobs`) writes its share in its own transaction, all
    /// at once, and the next batch starts when all have committed: rows of
    /// one key share a connection, so they keep their order within a batch,
    /// and batches keep theirs. With `--state`, each share commits its
    /// connection's own progress row with it.
    async fn commit_batch(&mut self, batch: &mut Batch) -> anyhow::Result<()> {
        let shares = std::mem::take(&mut batch.runs);
        for r in std::mem::take(&mut batch.rejects) {
            if let Some(table) = &r.table {
                self.summary.group(table).rejected += 1;
            }
            self.rejects.reject(Some(r.line), &r.what, &r.raw, &r.reason)?;
        }
        for (t, n) in std::mem::take(&mut batch.dry_rows) {
            self.summary.group(&self.plans[t].name).written += n;
        }
        if self.args.dry_run {
            return Ok(());
        }
        // The table of the batch's last row: the one the stream is on.
        let last_table = shares
            .iter()
            .flatten()
            .filter_map(|run| match run {
                Run::Rows { table, ops, .. } => ops.last().map(|&k| (batch.ops[k].line, *table)),
                Run::Delete { table, op } => Some((batch.ops[*op].line, *table)),
            })
            .max()
            .map(|(_, t)| t);
        if !self.early_sent.is_empty() {
            let tables: HashSet<usize> = shares
                .iter()
                .flatten()
                .map(|run| match run {
                    Run::Rows { table, .. } | Run::Delete { table, .. } => *table,
                })
                .collect();
            self.take_back_early(&tables).await?;
        }
        for t in std::mem::take(&mut batch.primary_keys_first) {
            let name = self.plans[t].name.clone();
            if let Some(sql) = self.deferred_pks.remove(&name) {
                cli::verbose(1, format_args!("table {name}: its keys stopped going up: its primary key is added now"));
                // Outside the batch's transaction: the rows committed so far
                // had keys going up, so this cannot fail on them.
                self.exec_or_fail(&sql).await.with_context(|| format!("adding the primary key of {name}"))?;
            }
        }
        let Some(line) = batch.commit_line else { return Ok(()) };
        let jobs = self.helpers.len() + 1;
        let state_moves = self.state.is_some() && self.part_lines.iter().any(|&l| line > l);
        if batch.ops.is_empty() && !state_moves {
            return Ok(());
        }
        // How each table's rows meet existing ones is decided here, on the
        // first connection, before any transaction starts.
        for run in shares.iter().flatten() {
            if let Run::Rows { table, cols, .. } = run {
                self.written_tables.insert(*table);
                self.way(*table, cols).await?;
            }
        }
        let mut states: Vec<Option<(String, String)>> = vec![None; jobs];
        if let Some((_, p)) = &self.state {
            for (j, s) in states.iter_mut().enumerate() {
                if line > self.part_lines[j] {
                    *s = Some(part_state(p, j, line));
                }
            }
        }
        let batch = &*batch;
        let began = std::time::Instant::now();
        let rows_before = self.summary.totals().written;
        let mut shares = shares.into_iter();
        let ctx = Shared {
            dialect: self.dialect,
            args: &self.args,
            plans: &self.plans,
            ways: &self.ways,
            summary: RefCell::new(&mut self.summary),
            rejects: RefCell::new(&mut self.rejects),
        };
        let writes = std::iter::once(&mut self.sink).chain(self.helpers.iter_mut()).zip(states).map(|(sink, state)| {
            let runs = shares.next().unwrap_or_default();
            let ctx = &ctx;
            async move {
                if runs.is_empty() && state.is_none() {
                    return Ok(false);
                }
                Writer { sink, ctx }.write_share(batch, runs, state).await.map(|()| true)
            }
        });
        // Every share runs to its end (committed or failed), so what --state
        // records is exactly what is in the target.
        let results = futures_util::future::join_all(writes).await;
        let mut failed = None;
        for (j, r) in results.into_iter().enumerate() {
            match r {
                Ok(true) if self.state.is_some() => self.part_lines[j] = self.part_lines[j].max(line),
                Ok(_) => {}
                Err(e) => {
                    failed.get_or_insert(if jobs > 1 { e.context(format!("connection {}", j + 1)) } else { e });
                }
            }
        }
        if let Some((_, p)) = self.state.as_mut() {
            p.line = self.part_lines[0];
        }
        if let Some(e) = failed {
            return Err(e);
        }
        self.save_state_file()?;
        self.start_early(last_table).await?;
        let rows = self.summary.totals().written;
        self.committed = Committed { batches: self.committed.batches + 1, rows, line };
        cli::verbose(
            1,
            format_args!(
                "batch {} committed: {} rows in {:.0} ms (total {}, input line {})",
                cli::group_digits(self.committed.batches),
                cli::group_digits(rows - rows_before),
                began.elapsed().as_secs_f64() * 1000.0,
                cli::group_digits(rows),
                cli::group_digits(line)
            ),
        );
        Ok(())
    }

    /// How the rows of `table` carrying columns `cols` meet existing rows:
    /// by the primary key when they carry it (or `--key` says otherwise),
    /// else by a unique key of the schema line or the target made of columns
    /// they carry; an error when none identifies a row (never a second copy).
    async fn way(&mut self, table: usize, cols: &[usize]) -> anyhow::Result<Way> {
        if let Some(way) = self.ways.get(&(table, cols.to_vec())) {
            return Ok(way.clone());
        }
        let plan = self.plans[table].clone();
        let name = plan.name.clone();
        let carried = |key: &[usize]| key.iter().all(|i| cols.contains(i));
        let mode_flag = match self.args.mode {
            Mode::Insert => "insert",
            Mode::Upsert => "upsert",
            Mode::SkipExisting => "skip-existing",
            Mode::Replace => "replace",
        };
        let way = if self.args.mode == Mode::Insert {
            Way::Native(plan.clone())
        } else if let Some(names) = self.keys.get(&name).cloned() {
            let mut key = Vec::new();
            for n in &names {
                match plan.index.get(n) {
                    None => bail!("--key {name}:{}: table {name} has no column {n:?}", names.join(",")),
                    Some(&i) => key.push(i),
                }
            }
            match self.omitted_key_values(table, cols, &key).await? {
                Ok(omitted) => self.enforced_way(table, key, omitted).await?,
                Err((column, why)) => bail!(
                    "--key {name}:{}: rows of {name} do not carry column {column:?}, and {why}, \
                     so the value the database gives it is not known and the rows cannot be matched by it",
                    names.join(",")
                ),
            }
        } else if !plan.pk.is_empty() && carried(&plan.pk) {
            Way::Native(plan.clone())
        } else {
            let schema_keys = plan.schema_unique.clone();
            let target_keys = self
                .sink
                .unique_keys(&name)
                .await
                .map_err(|e| anyhow::anyhow!("reading the unique keys of {name}: {e}"))?;
            let resolve =
                |names: &[String]| -> Option<Vec<usize>> { names.iter().map(|n| plan.index.get(n).copied()).collect() };
            let candidates: Vec<Vec<usize>> =
                schema_keys.iter().chain(&target_keys).filter_map(|k| resolve(k)).collect();
            // A key the rows carry whole; else one whose columns the rows omit
            // take a constant default (the value the database gives them).
            let mut found = candidates.iter().find(|k| carried(k)).map(|k| (k.clone(), Vec::new()));
            let mut refused: Option<(Vec<usize>, String, String)> = None;
            if found.is_none() {
                let pk = (!plan.pk.is_empty()).then(|| plan.pk.clone());
                for key in pk.iter().chain(&candidates) {
                    match self.omitted_key_values(table, cols, key).await? {
                        Ok(omitted) => {
                            found = Some((key.clone(), omitted));
                            break;
                        }
                        // The primary key is most often an AUTO_INCREMENT id the
                        // rows leave out: the message below says so already.
                        Err((column, why)) if candidates.contains(key) => {
                            refused.get_or_insert((key.clone(), column, why));
                        }
                        Err(_) => {}
                    }
                }
            }
            match found {
                Some((key, omitted)) => self.enforced_way(table, key, omitted).await?,
                None if refused.is_some() => {
                    let (key, column, why) = refused.expect("checked just above");
                    let key_names: Vec<&str> = key.iter().map(|&i| plan.columns[i].name.as_str()).collect();
                    bail!(
                        "--mode {mode_flag}: rows of table {name} omit column {column:?} of its unique key ({}), \
                         and {why}, so the value the database gives it is not known and an existing row cannot be \
                         told from a new one. Write the column in every row, give it a constant default, or pass \
                         --key {name}:COLUMN[,COLUMN…] naming columns the rows carry",
                        key_names.join(", ")
                    );
                }
                None => {
                    let pk: Vec<&str> = plan.pk.iter().map(|&i| plan.columns[i].name.as_str()).collect();
                    let why = if pk.is_empty() {
                        format!("table {name} has no primary key")
                    } else {
                        format!("the rows of {name} do not carry its primary key ({})", pk.join(", "))
                    };
                    let example: Vec<&str> = cols
                        .iter()
                        .filter(|&&i| !plan.columns[i].identity)
                        .take(2)
                        .map(|&i| plan.columns[i].name.as_str())
                        .collect();
                    bail!(
                        "--mode {mode_flag}: {why}, and no unique key of the stream's schema line or of the target is made of columns the rows carry, \
                         so an existing row cannot be told from a new one and would be inserted again. \
                         Pass --key {name}:COLUMN[,COLUMN…] naming the columns that identify a row (e.g. --key {name}:{}), \
                         add a unique key to the table, or import with --mode insert",
                        example.join(",")
                    );
                }
            }
        };
        self.ways.insert((table, cols.to_vec()), way.clone());
        Ok(way)
    }

    /// The way to match rows by `key`: the database's own when a unique key
    /// (or the primary key) of the target is exactly those columns and none of
    /// them can be NULL (a unique index lets NULLs repeat), else row by row.
    /// `omitted`: the key's columns the rows do not carry, with their defaults.
    async fn enforced_way(
        &mut self,
        table: usize,
        key: Vec<usize>,
        omitted: Vec<(usize, String)>,
    ) -> anyhow::Result<Way> {
        let name = self.plans[table].name.clone();
        let target_keys = self
            .sink
            .unique_keys(&name)
            .await
            .map_err(|e| anyhow::anyhow!("reading the unique keys of {name}: {e}"))?;
        let plan = &self.plans[table];
        let mut wanted: Vec<usize> = key.clone();
        wanted.sort_unstable();
        let same = |k: &[usize]| {
            let mut k = k.to_vec();
            k.sort_unstable();
            k == wanted
        };
        let enforced = same(&plan.pk)
            || target_keys.iter().any(|names| {
                names
                    .iter()
                    .map(|n| plan.index.get(n).copied())
                    .collect::<Option<Vec<usize>>>()
                    .is_some_and(|k| same(&k))
            });
        let never_null = key.iter().all(|&i| match omitted.iter().find(|(o, _)| *o == i) {
            Some((_, default)) => !default.eq_ignore_ascii_case("null"),
            None => !plan.columns[i].nullable,
        });
        // The database's own path fills an omitted column with its default;
        // a replace matches through the carried columns only, so it looks up.
        let enforced = enforced && (omitted.is_empty() || self.args.mode != Mode::Replace);
        let mut native = plan.clone();
        native.pk = key.clone();
        Ok(match (enforced, never_null) {
            (true, true) => Way::Native(native),
            // Rows whose carried key columns hold no NULL go the database's
            // way, unless an omitted column's default is NULL (then none can).
            (true, false) => {
                let native = omitted.iter().all(|(_, d)| !d.eq_ignore_ascii_case("null")).then_some(native);
                Way::Lookup { key, native, omitted }
            }
            (false, _) => Way::Lookup { key, native: None, omitted },
        })
    }

    /// The constants the database gives the columns of `key` that rows
    /// carrying `cols` omit, or the first such column whose value is not
    /// known, with why.
    async fn omitted_key_values(
        &mut self,
        table: usize,
        cols: &[usize],
        key: &[usize],
    ) -> anyhow::Result<Result<Vec<(usize, String)>, (String, String)>> {
        let missing: Vec<usize> = key.iter().copied().filter(|i| !cols.contains(i)).collect();
        if missing.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let name = self.plans[table].name.clone();
        let values = self
            .sink
            .omitted_values(&name)
            .await
            .map_err(|e| anyhow::anyhow!("reading the column defaults of {name}: {e}"))?;
        let mut out = Vec::new();
        for i in missing {
            let column = self.plans[table].columns[i].name.clone();
            if self.plans[table].columns[i].identity {
                return Ok(Err((
                    column,
                    "its value is generated by the database (identity, AUTO_INCREMENT, rowid)".into(),
                )));
            }
            match values.get(&column) {
                Some(OmittedValue::Constant(sql)) => out.push((i, sql.clone())),
                Some(OmittedValue::Unknown(why)) => return Ok(Err((column, why.clone()))),
                None => return Ok(Err((column, "the table has no such column".into()))),
            }
        }
        Ok(Ok(out))
    }

    /// Sends the builds of the created tables the stream has moved on from
    /// (rows written, and the last batch ended on another table) to the
    /// [`early`] builder, which it starts the first time.
    async fn start_early(&mut self, last_table: Option<usize>) -> anyhow::Result<()> {
        if self.deferred_indexes.is_empty() && self.deferred_pks.is_empty() {
            return Ok(());
        }
        let mut left: Vec<usize> = self.written_tables.iter().copied().filter(|&t| Some(t) != last_table).collect();
        left.sort_unstable();
        for t in left {
            let name = self.plans[t].name.clone();
            let primary_key = self.deferred_pks.get(&name).cloned();
            let has_indexes = self.deferred_indexes.iter().any(|d| d.table == name);
            if self.early_sent.contains_key(&name)
                || self.early_returned.contains(&name)
                || (primary_key.is_none() && !has_indexes)
            {
                continue;
            }
            if self.early.is_none() {
                if self.early_tried {
                    return Ok(());
                }
                self.early_tried = true;
                let Some(url) = self.sink.early_builds() else { return Ok(()) };
                match early::Builder::start::<S>(url) {
                    Ok(b) => self.early = Some(b),
                    Err(e) => {
                        cli::verbose(
                            1,
                            format_args!(
                                "no connection for the index builds beside the load ({e}); they come at the end"
                            ),
                        );
                        return Ok(());
                    }
                }
            }
            let indexes_before = self.built_indexes(&name).await?;
            let (indexes, rest): (Vec<DeferredIndexes>, Vec<DeferredIndexes>) =
                std::mem::take(&mut self.deferred_indexes).into_iter().partition(|d| d.table == name);
            self.deferred_indexes = rest;
            self.deferred_pks.remove(&name);
            cli::verbose(1, format_args!("table {name}: the stream moved on; its indexes are built beside the load"));
            if let Some(b) = &self.early {
                b.push(early_items(primary_key.clone().map(|pk| DeferredIndexes::one(&name, pk)), indexes.clone()));
            }
            let sent =
                EarlySent { primary_key, indexes, indexes_before, primary_key_added: None, failures: Vec::new() };
            self.early_sent.insert(name, sent);
        }
        Ok(())
    }

    /// Files a report of the [`early`] builder with its table.
    fn note_early(&mut self, d: early::Done) {
        if let Some(s) = self.early_sent.get_mut(&d.table) {
            if d.primary_key {
                s.primary_key_added = Some(d.failures.is_empty());
            }
            s.failures.extend(d.failures);
        }
    }

    /// The stream came back to tables whose builds went to the [`early`]
    /// builder: once it is done with them, their indexes are dropped again
    /// and due at the end as before, so the returning rows meet the table
    /// as if nothing had been built (a duplicate of a unique key is found
    /// by the index build at the end, as ever). A primary key built stays:
    /// it holds while the keys keep going up, and the decoding thread asks
    /// for it as soon as they do not ([`TablePlan::pk_after`]).
    async fn take_back_early(&mut self, tables: &HashSet<usize>) -> anyhow::Result<()> {
        let names: Vec<String> =
            tables.iter().map(|&t| self.plans[t].name.clone()).filter(|n| self.early_sent.contains_key(n)).collect();
        for name in names {
            let Some(b) = &self.early else { break };
            // Not run: due at the end again with the rest (`sent`).
            let _not_run = b.take_back(&name);
            for d in b.reports() {
                self.note_early(d);
            }
            let Some(sent) = self.early_sent.remove(&name) else { continue };
            self.early_returned.insert(name.clone());
            if let (Some(pk), false) = (sent.primary_key, sent.primary_key_added == Some(true)) {
                self.deferred_pks.insert(name.clone(), pk);
            }
            cli::verbose(1, format_args!("table {name}: the stream came back to it; its indexes come at the end"));
            for index in self.built_indexes(&name).await?.into_iter().filter(|i| !sent.indexes_before.contains(i)) {
                self.exec_or_fail(&format!("DROP INDEX IF EXISTS {index}"))
                    .await
                    .with_context(|| format!("table {name}"))?;
            }
            self.deferred_indexes.extend(sent.indexes);
        }
        Ok(())
    }

    /// The indexes of a table that back no constraint, as `DROP INDEX`
    /// names them (PostgreSQL, the one dialect with [`Sink::early_builds`]).
    async fn built_indexes(&mut self, table: &str) -> anyhow::Result<Vec<String>> {
        if self.dialect != Dialect::Postgres {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE i.indrelid = to_regclass('{}') \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
            self.dialect.quote_table(table).replace('\'', "''")
        );
        self.sink
            .query_strings(&[Piece::Sql(sql)])
            .await
            .map_err(|e| anyhow::anyhow!("reading the indexes of {table}: {e}"))
    }

    /// After the data: indexes, unique keys, foreign keys, identity sequences.
    async fn finish(&mut self) -> anyhow::Result<()> {
        if self.args.dry_run {
            return Ok(());
        }
        let mut failures = Vec::new();
        // Index builds and foreign-key checks of different tables run on two
        // connections at once: each is a scan (and sort) of one table, and
        // the server has a core to spare for the other. Without a second
        // connection (SQLite, or it cannot be opened) they run one by one.
        // With --jobs the writer connections do this work as well.
        let mut helpers = std::mem::take(&mut self.helpers);
        if helpers.is_empty()
            && !(self.deferred_indexes.is_empty() && self.deferred_fks.is_empty() && self.deferred_pks.is_empty())
        {
            match self.sink.another().await {
                Ok(h) => helpers.extend(h),
                Err(e) => {
                    cli::warn(format_args!("no second connection for the indexes ({e}); building them one by one"))
                }
            }
        }
        // Primary keys first (each a table of its own in the queue, so two
        // connections build two at once): the foreign keys need them.
        // The biggest tables first, so that the connections end together
        // rather than one building a big table's indexes alone at the end.
        let groups = self.summary.groups();
        let rows = |table: &str| std::cmp::Reverse(groups.get(table).map_or(0, |g| g.written));
        let mut pks: Vec<(String, String)> = std::mem::take(&mut self.deferred_pks).into_iter().collect();
        pks.sort_by_key(|(table, _)| rows(table));
        let pks = pks.into_iter().map(|(table, sql)| DeferredIndexes::one(&table, sql));
        let mut indexes = std::mem::take(&mut self.deferred_indexes);
        indexes.sort_by_key(|d| rows(&d.table));
        if let Some(b) = self.early.take() {
            // The builder's connection takes its share of the rest too.
            b.push(early_items(pks, indexes));
            let next = || b.pop().map(|i| i.work);
            let (mine, theirs) = tokio::join!(
                build_indexes(&mut self.sink, &next),
                futures_util::future::join_all(helpers.iter_mut().map(|h| build_indexes(h, &next)))
            );
            failures.extend(mine.into_iter().chain(theirs.into_iter().flatten()));
            // Its last builds: the foreign keys below need the primary keys.
            b.close();
            while let Some(d) = b.next_done() {
                if self.early_sent.contains_key(&d.table) {
                    self.note_early(d);
                } else {
                    // One of the items pushed just above.
                    failures.extend(d.failures);
                }
            }
            drop(b);
            let mut sent: Vec<(String, EarlySent)> = std::mem::take(&mut self.early_sent).into_iter().collect();
            sent.sort_by(|a, b| a.0.cmp(&b.0));
            failures.extend(sent.into_iter().flat_map(|(_, s)| s.failures));
        } else {
            let (loaded, empty) = build_order(pks.collect(), indexes, |table| rows(table).0);
            // The empty tables' builds are catalog changes that wait on the
            // disk (a few tens of ms each on MariaDB), not scans: one more
            // connection does them alongside the big tables' sorts.
            let mut extra = None;
            if !empty.is_empty() && !helpers.is_empty() {
                // Best effort: without it the others take the empty tables last.
                extra = self.sink.another().await.ok().flatten();
            }
            let (loaded, empty) = (RefCell::new(loaded), RefCell::new(empty));
            let next = || loaded.borrow_mut().pop_front().or_else(|| empty.borrow_mut().pop_front());
            let next_empty = || empty.borrow_mut().pop_front();
            let (mine, theirs, extras) = tokio::join!(
                build_indexes(&mut self.sink, &next),
                futures_util::future::join_all(helpers.iter_mut().map(|h| build_indexes(h, &next))),
                futures_util::future::join_all(extra.iter_mut().map(|h| build_indexes(h, &next_empty)))
            );
            failures.extend(mine.into_iter().chain(theirs.into_iter().flatten()).chain(extras.into_iter().flatten()));
            drop(extra);
        }

        let mut checks = VecDeque::new();
        for (sql, table, fk) in std::mem::take(&mut self.deferred_fks) {
            // MySQL validates a new foreign key by copying the whole table;
            // added without checks it is a metadata change, and one anti-join
            // per key checks the rows instead.
            let unchecked = self.dialect == Dialect::MySql;
            if unchecked {
                self.exec_or_fail("SET foreign_key_checks = 0").await?;
            }
            // PostgreSQL checks the rows as it adds the key, one key after
            // the other on this connection: added NOT VALID (a catalog
            // change), the keys are validated below, two at once.
            let later = self.dialect == Dialect::Postgres;
            let added =
                if later { self.sink.exec(&format!("{sql} NOT VALID")).await } else { self.sink.exec(&sql).await };
            if unchecked {
                self.exec_or_fail("SET foreign_key_checks = 1").await?;
            }
            match added {
                Err(e) if !is_already_exists(&e.message) => failures.push(format!("{sql}: {e}")),
                // Validated too when it was there already: an earlier run may
                // have stopped between the two (for a valid key, a no-op).
                _ if later => {
                    let (t, name) = (self.dialect.quote_table(&table), self.dialect.quote(&fk.name));
                    let check = format!("ALTER TABLE {t} VALIDATE CONSTRAINT {name}");
                    let drop = format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {name}");
                    checks.push_back(FkCheck { sql: check, table, fk, added: Some((sql, drop)) });
                }
                Err(_) => {}
                Ok(_) if unchecked => {
                    let q = |s: &str| self.dialect.quote(s);
                    let not_null: Vec<String> = fk.columns.iter().map(|c| format!("c.{} IS NOT NULL", q(c))).collect();
                    let joins: Vec<String> = fk
                        .columns
                        .iter()
                        .zip(&fk.ref_columns)
                        .map(|(c, r)| format!("p.{} = c.{}", q(r), q(c)))
                        .collect();
                    let check = format!(
                        "SELECT CAST(COUNT(*) AS CHAR) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
                        self.dialect.quote_table(&table),
                        not_null.join(" AND "),
                        self.dialect.quote_table(&fk.ref_table),
                        joins.join(" AND ")
                    );
                    checks.push_back(FkCheck { sql: check, table, fk, added: None });
                }
                Ok(_) => {}
            }
        }
        let checks = RefCell::new(fk_check_order(checks, self.summary.groups()));
        let (mine, theirs) = tokio::join!(
            check_fks(&mut self.sink, &checks),
            futures_util::future::join_all(helpers.iter_mut().map(|h| check_fks(h, &checks)))
        );
        failures.extend(mine.into_iter().chain(theirs.into_iter().flatten()));
        drop(helpers);
        let mut tables: Vec<usize> = self.written_tables.iter().copied().collect();
        tables.sort_unstable();
        for t in tables {
            let plan = self.plans[t].clone();
            if plan.columns.iter().any(|c| c.identity) {
                if let Err(e) = self.sink.reset_identity(&plan).await {
                    failures.push(format!("resetting the identity sequence of {}: {e}", plan.name));
                }
            }
        }
        failures.extend(self.resume_autovacuum().await);
        if !failures.is_empty() {
            bail!(
                "the data is loaded, but {} statement(s) after it failed:\n  {}",
                failures.len(),
                failures.join("\n  ")
            );
        }
        if let Some((file, mut p)) = self.state.take() {
            p.finished = true;
            let sql = format!(
                "DELETE FROM {} WHERE id = '{}' OR id LIKE '{}-%'",
                self.dialect.quote(state::STATE_TABLE),
                p.id,
                p.id
            );
            self.sink.exec(&sql).await.map_err(|e| anyhow::anyhow!("clearing the run's state: {e}"))?;
            self.drop_state_table_if_unused().await;
            file.save(&p)?;
        }
        Ok(())
    }
}

/// What the connections writing one batch share (`--jobs`): read-only
/// plans, and the summary and reject file each updates between its awaits.
struct Shared<'a> {
    dialect: Dialect,
    args: &'a SqlImportArgs,
    plans: &'a [TablePlan],
    ways: &'a HashMap<(usize, Vec<usize>), Way>,
    summary: RefCell<&'a mut Summary>,
    rejects: RefCell<&'a mut Rejects>,
}

impl Shared<'_> {
    fn count(&self, table: &str, w: Written) {
        let mut summary = self.summary.borrow_mut();
        let g = summary.group(table);
        g.written += w.written;
        g.skipped += w.skipped;
    }
}

/// One connection writing its share of a batch in its own transaction.
struct Writer<'a, 'b, S: Sink> {
    sink: &'a mut S,
    ctx: &'a Shared<'b>,
}

impl<S: Sink> Writer<'_, '_, S> {
    async fn exec_or_fail(&mut self, sql: &str) -> anyhow::Result<u64> {
        self.sink.exec(sql).await.map_err(|e| anyhow::anyhow!("{e} (in: {})", first_words(sql)))
    }

    /// Writes `runs` (this connection's share of `batch`) in one
    /// transaction and commits it with `state` (the progress row's id and
    /// JSON, with `--state`).
    async fn write_share(
        &mut self,
        batch: &Batch,
        runs: Vec<Run>,
        state: Option<(String, String)>,
    ) -> anyhow::Result<()> {
        self.exec_or_fail("BEGIN").await?;
        for run in runs {
            match run {
                Run::Rows { table, cols, ops, prepared } => {
                    let ops: Vec<&front::Op> = ops.iter().map(|&k| &batch.ops[k]).collect();
                    self.write_rows(table, &cols, batch, &ops, prepared).await?;
                }
                Run::Delete { table, op } => {
                    let op = &batch.ops[op];
                    let ctx = self.ctx;
                    let plan = &ctx.plans[table];
                    self.exec_or_fail("SAVEPOINT decant_row").await?;
                    match self.sink.delete(plan, batch.row(op)).await {
                        Ok(n) => {
                            self.exec_or_fail("RELEASE SAVEPOINT decant_row").await?;
                            let done = if n > 0 {
                                Written { written: 1, skipped: 0 }
                            } else {
                                Written { written: 0, skipped: 1 }
                            };
                            self.ctx.count(&plan.name, done);
                        }
                        Err(e) => {
                            self.exec_or_fail("ROLLBACK TO SAVEPOINT decant_row").await?;
                            self.ctx.summary.borrow_mut().group(&plan.name).rejected += 1;
                            self.ctx.rejects.borrow_mut().reject(
                                Some(op.line),
                                &format!("table {}, delete at line {}", plan.name, op.line),
                                batch.raw_line(op),
                                &e.message,
                            )?;
                        }
                    }
                }
            }
        }
        if let Some((id, json)) = state {
            self.sink.save_state(&id, &json).await.map_err(|e| anyhow::anyhow!("saving the run's state: {e}"))?;
        }
        // Rejects reach the disk before the commit: a crash can repeat a
        // reject line on resume, never lose one.
        self.ctx.rejects.borrow_mut().finish()?;
        self.exec_or_fail("COMMIT").await?;
        Ok(())
    }

    /// Writes a run of rows of one table; on failure, row by row to find the culprits.
    async fn write_rows(
        &mut self,
        table: usize,
        cols: &[usize],
        batch: &Batch,
        ops: &[&front::Op],
        prepared: Option<Prepared>,
    ) -> anyhow::Result<()> {
        let plan = self.ctx.plans[table].clone();
        let way = self.ctx.ways.get(&(table, cols.to_vec())).cloned().context("no way chosen for the rows")?;
        let rows: Vec<&[Cell]> = ops.iter().map(|op| batch.row(op)).collect();
        let (key, native, omitted) = match &way {
            Way::Native(native) => {
                self.exec_or_fail("SAVEPOINT decant_batch").await?;
                match self.sink.write(native, cols, &rows, self.ctx.args.mode, prepared).await {
                    Ok(w) => {
                        self.exec_or_fail("RELEASE SAVEPOINT decant_batch").await?;
                        self.ctx.count(&plan.name, w);
                        return Ok(());
                    }
                    Err(_) => {
                        self.exec_or_fail("ROLLBACK TO SAVEPOINT decant_batch").await?;
                    }
                }
                for (op, row) in ops.iter().zip(&rows) {
                    let row = (!batch.cells_dropped).then_some(*row);
                    self.write_one(&plan, cols, &way, batch, op, row).await?;
                }
                return Ok(());
            }
            Way::Lookup { key, native, omitted } => (key, native, omitted),
        };
        // Looked up: every row's cells at hand, converted again from their
        // lines when the batch dropped them (they converted before, so they do now).
        let enc = EncodeOptions { dialect: self.ctx.dialect, zero_dates: self.ctx.args.zero_dates };
        let mut owned: Vec<Vec<Cell>> = Vec::new();
        if batch.cells_dropped {
            let mut again_cols = Vec::new();
            for op in ops {
                let mut again = Vec::new();
                let data = match Record::decode(batch.raw_line(op)) {
                    Ok(Record::Row(r)) => r.data,
                    _ => RowData::default(),
                };
                if let Err(e) = front::encode_row(&plan, data, &enc, false, &mut again_cols, &mut again) {
                    bail!("line {} no longer converts for table {}: {e}", op.line, plan.name);
                }
                owned.push(again);
            }
        }
        let all: Vec<&[Cell]> = if batch.cells_dropped { owned.iter().map(Vec::as_slice).collect() } else { rows };
        let mut done = vec![false; ops.len()];
        if let Some(native) = native {
            // A unique key enforces the rows whose key has no NULL: those in
            // bulk through the database's own path, the others looked up.
            let at: Vec<usize> = key.iter().filter_map(|k| cols.iter().position(|c| c == k)).collect();
            let keyed: Vec<usize> =
                (0..all.len()).filter(|&i| at.iter().all(|&p| !matches!(all[i][p], Cell::Null))).collect();
            if !keyed.is_empty() {
                let some: Vec<&[Cell]> = keyed.iter().map(|&i| all[i]).collect();
                self.exec_or_fail("SAVEPOINT decant_batch").await?;
                match self.sink.write(native, cols, &some, self.ctx.args.mode, None).await {
                    Ok(w) => {
                        self.exec_or_fail("RELEASE SAVEPOINT decant_batch").await?;
                        self.ctx.count(&plan.name, w);
                        for i in keyed {
                            done[i] = true;
                        }
                    }
                    Err(_) => {
                        self.exec_or_fail("ROLLBACK TO SAVEPOINT decant_batch").await?;
                    }
                }
            }
        }
        let todo: Vec<usize> = (0..ops.len()).filter(|&k| !done[k]).collect();
        let segments = lookup_segments(&plan, &todo, cols, key, &all);
        let (mut together, mut alone) = (0, 0);
        for segment in &segments {
            if segment.len() > 1 {
                self.exec_or_fail("SAVEPOINT decant_batch").await?;
                match self.write_looked_up_together(&plan, cols, key, omitted, &all, segment).await {
                    Ok(w) => {
                        self.exec_or_fail("RELEASE SAVEPOINT decant_batch").await?;
                        self.ctx.count(&plan.name, w);
                        together += segment.len();
                        continue;
                    }
                    Err(_) => {
                        // A row the database refuses, or rows the database
                        // finds equal that were not byte for byte: this
                        // segment row by row, before the next one.
                        self.exec_or_fail("ROLLBACK TO SAVEPOINT decant_batch").await?;
                        self.exec_or_fail("RELEASE SAVEPOINT decant_batch").await?;
                    }
                }
            }
            alone += segment.len();
            for &k in segment {
                self.write_one(&plan, cols, &way, batch, ops[k], Some(all[k])).await?;
            }
        }
        // Says why an upsert is slow: rows whose key repeats within a
        // batch, or segments the database refused, go row by row.
        cli::verbose(
            1,
            format_args!(
                "table {}: {} row(s) matched by key in {} segment(s): {together} together, {alone} row by row",
                plan.name,
                todo.len(),
                segments.len()
            ),
        );
        Ok(())
    }

    /// Writes one row in its own savepoint; a row the database refuses is
    /// rejected, named by its line, key and column. `row`: its cells, `None`
    /// when the batch dropped them (its line is converted again).
    async fn write_one(
        &mut self,
        plan: &TablePlan,
        cols: &[usize],
        way: &Way,
        batch: &Batch,
        op: &front::Op,
        row: Option<&[Cell]>,
    ) -> anyhow::Result<()> {
        let line = op.line;
        let raw = batch.raw_line(op);
        let mut again = Vec::new();
        let row: &[Cell] = match row {
            Some(row) => row,
            None => {
                // Converted again from its line: it converted before, so it does now.
                let enc = EncodeOptions { dialect: self.ctx.dialect, zero_dates: self.ctx.args.zero_dates };
                let data = match Record::decode(raw) {
                    Ok(Record::Row(r)) => r.data,
                    _ => RowData::default(),
                };
                let mut again_cols = Vec::new();
                if let Err(e) = front::encode_row(plan, data, &enc, false, &mut again_cols, &mut again) {
                    bail!("line {line} no longer converts for table {}: {e}", plan.name);
                }
                &again
            }
        };
        self.exec_or_fail("SAVEPOINT decant_row").await?;
        let one = match way {
            Way::Native(native) => {
                self.sink.write(native, cols, std::slice::from_ref(&row), self.ctx.args.mode, None).await
            }
            Way::Lookup { key, omitted, .. } => self.write_looked_up(plan, cols, key, omitted, row).await,
        };
        match one {
            Ok(w) => {
                self.exec_or_fail("RELEASE SAVEPOINT decant_row").await?;
                self.ctx.count(&plan.name, w);
            }
            Err(e) => {
                self.exec_or_fail("ROLLBACK TO SAVEPOINT decant_row").await?;
                self.ctx.summary.borrow_mut().group(&plan.name).rejected += 1;
                let column = e.column.clone().or_else(|| {
                    cols.iter()
                        .zip(row.iter())
                        .find(|(i, c)| validate(c, &plan.columns[**i], self.ctx.dialect).is_err())
                        .map(|(i, _)| plan.columns[*i].name.clone())
                });
                let data: RowData = match Record::decode(raw) {
                    Ok(Record::Row(r)) => r.data,
                    _ => RowData::default(),
                };
                let mut what = format!("table {}, key {}", plan.name, front::key_text(plan, &data, line));
                if let Some(c) = column {
                    what.push_str(&format!(", column {c:?}"));
                }
                if !self.ctx.rejects.borrow().is_enabled() {
                    // The transaction is abandoned; earlier batches stay committed.
                    let _ = self.sink.exec("ROLLBACK").await;
                }
                self.ctx.rejects.borrow_mut().reject(Some(line), &what, raw, &e.message)?;
            }
        }
        Ok(())
    }

    /// Writes one row matched by `key` (NULL-safe) instead of a key the
    /// database enforces: looks it up, then skips, updates, or deletes and
    /// inserts it as the mode says.
    async fn write_looked_up<'a>(
        &mut self,
        plan: &TablePlan,
        cols: &[usize],
        key: &[usize],
        omitted: &[(usize, String)],
        row: &'a [Cell],
    ) -> Result<Written, DbError> {
        let d = self.ctx.dialect;
        let table = d.quote_table(&plan.name);
        let cond = key_condition(d, plan, cols, key, omitted, row);
        let mut query = vec![Piece::Sql(format!("SELECT 1 FROM {table} WHERE "))];
        query.extend(cond.iter().cloned());
        query.push(Piece::Sql(" LIMIT 1".into()));
        let exists = self.sink.exists_pieces(&query).await?;
        let with_cond = |mut head: Vec<Piece<'a>>| -> Vec<Piece<'a>> {
            head.push(Piece::Sql(" WHERE ".into()));
            head.extend(cond.iter().cloned());
            head
        };
        match (self.ctx.args.mode, exists) {
            (Mode::SkipExisting, true) => return Ok(Written { written: 0, skipped: 1 }),
            (Mode::Upsert, true) => {
                if let Some(set) = update_head(d, plan, cols, key, row) {
                    self.sink.exec_pieces(&with_cond(set)).await?;
                }
                return Ok(Written { written: 1, skipped: 0 });
            }
            (Mode::Replace, true) => {
                self.sink.exec_pieces(&with_cond(vec![Piece::Sql(format!("DELETE FROM {table}"))])).await?;
            }
            _ => {}
        }
        self.sink.write(plan, cols, std::slice::from_ref(&row), Mode::Insert, None).await
    }

    /// Writes the rows `segment` (numbers into `rows`, in stream order) as
    /// [`Self::write_looked_up`] writes each, in a few round trips: one
    /// query per chunk of rows says whose key exists (each row's condition
    /// the one its own lookup runs), the existing rows are updated (deleted,
    /// for a replace) with one round trip per chunk, and the new rows go in
    /// through the sink's bulk path. No two rows of a segment have the same
    /// key byte for byte ([`lookup_segments`]); rows the database finds
    /// equal all the same (a case- or accent-insensitive collation, `1.50`
    /// and `1.5`) would have been inserted as two rows, so every inserted
    /// row is counted again: a key met twice is an error, and the caller
    /// writes the segment row by row, in stream order.
    async fn write_looked_up_together(
        &mut self,
        plan: &TablePlan,
        cols: &[usize],
        key: &[usize],
        omitted: &[(usize, String)],
        rows: &[&[Cell]],
        segment: &[usize],
    ) -> Result<Written, DbError> {
        let d = self.ctx.dialect;
        let mode = self.ctx.args.mode;
        let table = d.quote_table(&plan.name);
        let budget = match self.sink.preparer() {
            Preparer::MySql { max_statement } => max_statement.min(LOOKUP_BYTES),
            _ => LOOKUP_BYTES,
        };
        let conds: Vec<Vec<Piece>> =
            segment.iter().map(|&i| key_condition(d, plan, cols, key, omitted, rows[i])).collect();
        let mut found = vec![false; segment.len()];
        for chunk in statement_chunks(&conds, budget) {
            let query = numbered_lookup(d, &table, &conds, chunk, Matches::Any);
            for n in self.sink.query_strings(&query).await? {
                match n.trim().parse::<usize>() {
                    Ok(n) if n < found.len() => found[n] = true,
                    _ => return Err(DbError { message: format!("a lookup answered {n:?}"), column: None }),
                }
            }
        }
        let mut changes: Vec<Vec<Piece>> = Vec::new();
        for (n, &i) in segment.iter().enumerate().filter(|(n, _)| found[*n]) {
            let head = match mode {
                Mode::Upsert => update_head(d, plan, cols, key, rows[i]),
                Mode::Replace => Some(vec![Piece::Sql(format!("DELETE FROM {table}"))]),
                Mode::Insert | Mode::SkipExisting => None,
            };
            if let Some(mut st) = head {
                st.push(Piece::Sql(" WHERE ".into()));
                st.extend(conds[n].iter().cloned());
                changes.push(st);
            }
        }
        for chunk in statement_chunks(&changes, budget) {
            self.sink.exec_many(&changes[chunk]).await?;
        }
        let inserted: Vec<usize> = (0..segment.len()).filter(|&n| !found[n] || mode == Mode::Replace).collect();
        if !inserted.is_empty() {
            let new_rows: Vec<&[Cell]> = inserted.iter().map(|&n| rows[segment[n]]).collect();
            self.sink.write(plan, cols, &new_rows, Mode::Insert, None).await?;
        }
        if inserted.len() > 1 && !exact_keys(d, plan, cols, key, rows, segment) {
            let counted: Vec<Vec<Piece>> = inserted.iter().map(|&n| conds[n].clone()).collect();
            for chunk in statement_chunks(&counted, budget) {
                let query = numbered_lookup(d, &table, &counted, chunk, Matches::Several);
                if let Some(n) = self.sink.query_strings(&query).await?.first() {
                    let line = n.trim().parse::<usize>().ok().and_then(|n| inserted.get(n)).map(|&n| segment[n]);
                    return Err(DbError {
                        message: format!("rows of one batch have keys the database finds equal (row {line:?})"),
                        column: None,
                    });
                }
            }
        }
        let skipped = if mode == Mode::SkipExisting { found.iter().filter(|f| **f).count() as u64 } else { 0 };
        Ok(Written { written: segment.len() as u64 - skipped, skipped })
    }
}

/// The progress row of writer connection `j` (`--jobs`) holding `line`:
/// its id and JSON. The first connection's is the run's own row (tables
/// created and truncated, …); the others' are `ID-J` and hold their line.
fn part_state(p: &state::Progress, j: usize, line: u64) -> (String, String) {
    let part = if j == 0 {
        state::Progress { line, ..p.clone() }
    } else {
        state::Progress { id: format!("{}-{j}", p.id), line, ..Default::default() }
    };
    (part.id.clone(), serde_json::to_string(&part).unwrap_or_default())
}

/// The deferred builds in the order they are taken: the primary keys, then
/// the indexes of the tables that got rows, most rows first (the longest
/// sort starts first, so the connections finish close together instead of
/// one starting the biggest table when the others are done); and apart, the
/// indexes of the tables that got none. `rows` is a table's rows this run.
fn build_order(
    pks: Vec<DeferredIndexes>,
    indexes: Vec<DeferredIndexes>,
    rows: impl Fn(&str) -> u64,
) -> (VecDeque<DeferredIndexes>, VecDeque<DeferredIndexes>) {
    let (mut loaded, empty): (Vec<_>, Vec<_>) =
        indexes.into_iter().filter(|d| !d.is_empty()).partition(|d| rows(&d.table) > 0);
    // Stable: tables of equal size keep the order their schemas came in.
    loaded.sort_by_key(|d| std::cmp::Reverse(rows(&d.table)));
    (pks.into_iter().chain(loaded).collect(), empty.into_iter().collect())
}

/// The [`early`] builder's items: the primary keys first (each on its own,
/// so that two connections build two at once), then every index on its
/// own (two indexes of one table can be built at once).
fn early_items(
    primary_keys: impl IntoIterator<Item = DeferredIndexes>,
    indexes: impl IntoIterator<Item = DeferredIndexes>,
) -> Vec<early::Item> {
    let mut items: Vec<early::Item> =
        primary_keys.into_iter().map(|work| early::Item { primary_key: true, work }).collect();
    for d in indexes {
        if d.combined.is_some() {
            items.push(early::Item { primary_key: false, work: d });
            continue;
        }
        for sql in d.each.into_iter().chain(d.special) {
            items.push(early::Item { primary_key: false, work: DeferredIndexes::one(&d.table, sql) });
        }
    }
    items
}

/// Builds the queued tables' indexes until the queue is empty (shared with
/// a second connection); the failures, each named by its statement.
async fn build_indexes<S: Sink>(sink: &mut S, next: &dyn Fn() -> Option<DeferredIndexes>) -> Vec<String> {
    let mut failures = Vec::new();
    loop {
        let Some(deferred) = next() else { return failures };
        let mut each = deferred.each;
        if let Some(sql) = &deferred.combined {
            if sink.exec(sql).await.is_ok() {
                each.clear();
            }
            // Otherwise one of them exists already (a resumed run) or fails:
            // one by one, so the others are still built and each failure named.
        }
        for sql in each.into_iter().chain(deferred.special) {
            if let Err(e) = sink.exec(&sql).await {
                if !is_already_exists(&e.message) {
                    failures.push(format!("{sql}: {e}"));
                }
            }
        }
    }
}

/// A foreign key added without checking its rows, and the query that does.
#[derive(Debug)]
struct FkCheck {
    sql: String,
    table: String,
    fk: decant_record::ForeignKey,
    /// PostgreSQL: `sql` validates a key added NOT VALID by the statement
    /// here; the second statement drops it when its rows do not hold.
    added: Option<(String, String)>,
}

/// The order the foreign-key checks run in: the biggest tables' first, and
/// one key of each table in turn, since checking a key locks its table
/// against another check of the same table (PostgreSQL's VALIDATE
/// CONSTRAINT): two connections then check two tables rather than one
/// waiting for the other. Within a table, the stream's order.
fn fk_check_order(
    checks: VecDeque<FkCheck>,
    groups: &std::collections::BTreeMap<String, cli::Counts>,
) -> VecDeque<FkCheck> {
    let mut tables: Vec<(String, VecDeque<FkCheck>)> = Vec::new();
    for c in checks {
        match tables.iter_mut().find(|(t, _)| *t == c.table) {
            Some((_, list)) => list.push_back(c),
            None => tables.push((c.table.clone(), VecDeque::from([c]))),
        }
    }
    tables.sort_by_key(|(t, _)| std::cmp::Reverse(groups.get(t).map_or(0, |g| g.written)));
    let mut out = VecDeque::new();
    while !tables.is_empty() {
        for (_, list) in &mut tables {
            out.extend(list.pop_front());
        }
        tables.retain(|(_, list)| !list.is_empty());
    }
    out
}

/// Runs the queued foreign-key checks until the queue is empty (shared with
/// a second connection); the keys whose rows reference missing rows.
async fn check_fks<S: Sink>(sink: &mut S, queue: &RefCell<VecDeque<FkCheck>>) -> Vec<String> {
    let mut failures = Vec::new();
    loop {
        let Some(FkCheck { sql, table, fk, added }) = queue.borrow_mut().pop_front() else { return failures };
        if let Some((added, drop)) = added {
            if let Err(e) = sink.exec(&sql).await {
                // As if it had been added with its check: no key that does
                // not hold is left behind.
                let _ = sink.exec(&drop).await;
                failures.push(format!("{added}: {e}"));
            }
            continue;
        }
        match sink.query_text(&sql).await {
            Ok(Some(n)) if n == "0" => {}
            Ok(n) => failures.push(format!(
                "foreign key {} of {table}: {} row(s) reference rows missing from {}",
                fk.name,
                n.unwrap_or_default(),
                fk.ref_table
            )),
            Err(e) => failures.push(format!("checking foreign key {} of {table}: {e}", fk.name)),
        }
    }
}

/// The indexes and unique keys of one created table, due after the data.
#[derive(Debug, Clone)]
struct DeferredIndexes {
    /// The table they belong to.
    table: String,
    /// All in one statement (MySQL), tried first.
    combined: Option<String>,
    /// One statement each.
    each: Vec<String>,
    /// Special indexes (FULLTEXT, SPATIAL), one statement each, always
    /// after the others (InnoDB builds one FULLTEXT index at a time).
    special: Vec<String>,
}

impl DeferredIndexes {
    fn of(table: &str, ddl: &typemap::TableDdl) -> DeferredIndexes {
        DeferredIndexes {
            table: table.to_owned(),
            combined: ddl.indexes_combined.clone(),
            each: ddl.indexes.clone(),
            special: ddl.special_indexes.clone(),
        }
    }

    /// Whether there is nothing to build (a table without indexes).
    fn is_empty(&self) -> bool {
        self.combined.is_none() && self.each.is_empty() && self.special.is_empty()
    }

    /// One statement (a primary key added after the data).
    fn one(table: &str, sql: String) -> DeferredIndexes {
        DeferredIndexes { table: table.to_owned(), combined: None, each: vec![sql], special: Vec::new() }
    }
}

/// `--dry-run --create-tables`: the statements that would create a missing
/// table, on stdout (an importer writes no data there), so they can be read
/// or saved: `… --dry-run > schema.sql`.
fn print_dry_run_ddl(table: &str, ddl: &typemap::TableDdl) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    writeln!(out, "-- table {table}: would be created")?;
    let after: Vec<&String> = ddl.indexes.iter().chain(&ddl.special_indexes).collect();
    for sql in &ddl.create {
        writeln!(out, "{};", sql.trim_end_matches(';'))?;
    }
    if !after.is_empty() || !ddl.foreign_keys.is_empty() {
        writeln!(out, "-- after the data:")?;
    }
    for sql in after.into_iter().chain(&ddl.foreign_keys) {
        writeln!(out, "{};", sql.trim_end_matches(';'))?;
    }
    out.flush()?;
    Ok(())
}

/// The context of an import that failed midway: what it had committed.
#[derive(Debug)]
struct CommittedBefore(Committed);

impl std::fmt::Display for CommittedBefore {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "stopped after {}", self.0)
    }
}

/// Pairs each foreign key's statement with its table and definition.
fn fk_list(schema: &TableSchema, sql: Vec<String>) -> Vec<(String, String, decant_record::ForeignKey)> {
    sql.into_iter().zip(schema.foreign_keys.iter().cloned()).map(|(s, fk)| (s, schema.table.clone(), fk)).collect()
}

fn is_already_exists(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already exists") || m.contains("duplicate key name") || m.contains("duplicate foreign key")
}

fn first_words(sql: &str) -> String {
    let s: String = sql.chars().take(80).collect();
    if sql.len() > s.len() {
        format!("{s}…")
    } else {
        s
    }
}

/// Finds `column 'x'` / `column "x"` / `column x:` in a database message.
pub(crate) fn column_in_message(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let pos = lower.find("column ")?;
    let rest = &message[pos + 7..];
    let rest = rest.trim_start();
    let (open, close) = match rest.chars().next()? {
        '\'' => ('\'', '\''),
        '"' => ('"', '"'),
        '`' => ('`', '`'),
        _ => {
            let end = rest.find([':', ' ', ',']).unwrap_or(rest.len());
            let word = &rest[..end];
            return (!word.is_empty()).then(|| word.to_owned());
        }
    };
    let body = &rest[open.len_utf8()..];
    let end = body.find(close)?;
    Some(body[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_key_checks_take_the_biggest_tables_first_one_key_of_each_in_turn() {
        let check = |table: &str, name: &str| FkCheck {
            sql: String::new(),
            table: table.into(),
            fk: decant_record::ForeignKey {
                name: name.into(),
                columns: vec!["p".into()],
                ref_table: "parent".into(),
                ref_columns: vec!["id".into()],
                on_delete: None,
                on_update: None,
            },
            added: None,
        };
        let mut summary = Summary::new();
        summary.group("small").written = 10;
        summary.group("big").written = 500;
        summary.group("mid").written = 200;
        let checks = VecDeque::from([
            check("small", "s1"),
            check("big", "b1"),
            check("big", "b2"),
            check("mid", "m1"),
            check("big", "b3"),
        ]);
        let order: Vec<String> = fk_check_order(checks, summary.groups()).into_iter().map(|c| c.fk.name).collect();
        assert_eq!(order, ["b1", "m1", "s1", "b2", "b3"]);
    }

    #[test]
    fn the_resume_command_is_the_same_run_made_safe_to_repeat() {
        let argv: Vec<String> =
            ["/opt/bin/pg-import", "--url", "postgres://a@h/db", "-i", "my file.ndjson", "--mode", "insert"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert_eq!(
            resume_command(&argv, false),
            "pg-import --url postgres://a@h/db -i 'my file.ndjson' --mode skip-existing"
        );
        assert_eq!(resume_command(&argv, true), "pg-import --url postgres://a@h/db -i 'my file.ndjson' --mode insert");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn failures_a_rerun_must_handle_say_how() {
        let dup = failure_hint("line 3: duplicate key value violates unique constraint \"t_pkey\"", false).unwrap();
        assert!(dup.contains("--mode skip-existing") && dup.contains("--truncate") && dup.contains("--state"));
        assert!(failure_hint("Duplicate entry '1' for key 'PRIMARY'", true).is_some());
        let gone =
            failure_hint("error communicating with database: expected to read 4 bytes, got 0 bytes at EOF", true);
        assert!(gone.unwrap().contains("rerun the same command"));
        assert!(failure_hint("error communicating with database: Connection reset by peer", false)
            .unwrap()
            .contains("went away"));
        assert_eq!(failure_hint("line 2: column \"x\": value too long", false), None);
    }

    #[test]
    fn key_flags_name_a_table_and_its_columns() {
        assert_eq!(
            parse_key("usage_records:api_key_id, created_at").unwrap(),
            ("usage_records".into(), vec!["api_key_id".into(), "created_at".into()])
        );
        assert_eq!(parse_key("public.t:a").unwrap(), ("public.t".into(), vec!["a".into()]));
        for bad in ["usage_records", "t:", ":a", "t:a,,b"] {
            assert!(parse_key(bad).unwrap_err().contains("TABLE:COLUMN"), "{bad}");
        }
    }

    fn lk_plan() -> TablePlan {
        let col = |name: &str, kind: typemap::Kind| TargetColumn {
            name: name.into(),
            sql_type: "x".into(),
            kind,
            nullable: true,
            identity: false,
        };
        TablePlan::new(
            "lk",
            vec![
                col("id", typemap::Kind::Int { min: 0, max: 100 }),
                col("name", typemap::Kind::Text { max_chars: None }),
                col("at", typemap::Kind::Datetime),
            ],
            &[],
        )
    }

    #[test]
    fn a_key_met_again_in_a_batch_starts_a_new_segment() {
        let plan = lk_plan();
        let text = |s: &str| Cell::Text(s.into());
        let rows: Vec<Vec<Cell>> = vec![
            vec![Cell::Int(1), text("a"), text("2026-12-01T10:00:00")],
            vec![Cell::Int(2), text("b"), Cell::Null],
            // Case, trailing spaces, T or space and a zero fraction: the same
            // key. Row 4 meets row 1 of the segment before, written by then.
            vec![Cell::Int(3), text("A "), text("2026-12-01 10:00:00.000")],
            vec![Cell::Int(4), text("b"), text("2026-12-01 10:00:00")],
            vec![Cell::Int(5), text("b"), Cell::Null],
            vec![Cell::Int(6), text("c"), Cell::Null],
        ];
        let rows: Vec<&[Cell]> = rows.iter().map(Vec::as_slice).collect();
        let todo: Vec<usize> = (0..rows.len()).collect();
        assert_eq!(lookup_segments(&plan, &todo, &[0, 1, 2], &[1, 2], &rows), [vec![0, 1], vec![2, 3, 4, 5]]);
        // Integer keys need no count after the write; text in PostgreSQL does.
        assert!(exact_keys(Dialect::Postgres, &plan, &[0, 1, 2], &[0], &rows, &todo));
        assert!(!exact_keys(Dialect::Postgres, &plan, &[0, 1, 2], &[1], &rows, &todo));
        assert!(exact_keys(Dialect::MySql, &plan, &[0, 1, 2], &[1, 2], &rows, &todo));
        let accent = [text("café")];
        let one: Vec<&[Cell]> = vec![&accent];
        assert!(!exact_keys(Dialect::MySql, &plan, &[1], &[1], &one, &[0]));
        assert!(plain_datetime("2026-12-01") && plain_datetime("2026-12-01T10:00:00.5"));
        assert!(!plain_datetime("2026-12-01 10:00") && !plain_datetime("2026-12-01 10:00:00+02:00"));
    }

    #[test]
    fn lookups_are_cut_to_fit_one_statement() {
        let cell = Cell::Text("x".repeat(100));
        let part = || vec![Piece::Sql("a = ".into()), Piece::Value(&cell)];
        let parts: Vec<Vec<Piece>> = (0..600).map(|_| part()).collect();
        let sizes = |c: Vec<std::ops::Range<usize>>| c.iter().map(|r| r.len()).collect::<Vec<_>>();
        assert_eq!(sizes(statement_chunks(&parts, LOOKUP_BYTES)), [256, 256, 88]);
        // About 270 bytes a part: 11 in 3,000 bytes; one part always goes.
        assert_eq!(sizes(statement_chunks(&parts[..25], 3000)), [11, 11, 3]);
        assert_eq!(sizes(statement_chunks(&parts[..2], 10)), [1, 1]);
    }

    #[test]
    fn columns_named_in_database_errors() {
        assert_eq!(column_in_message("Data too long for column 'name' at row 1").as_deref(), Some("name"));
        assert_eq!(
            column_in_message("value too long for type character varying(3) (COPY t, line 1, column name: \"abcd\")")
                .as_deref(),
            Some("name")
        );
        assert_eq!(column_in_message("null value in column \"email\" of relation \"t\"").as_deref(), Some("email"));
        assert_eq!(column_in_message("duplicate key value violates unique constraint"), None);
    }

    #[test]
    fn index_builds_start_with_the_biggest_table_and_keep_empty_tables_apart() {
        let build = |table: &str, sql: &str| DeferredIndexes {
            table: table.into(),
            combined: None,
            each: if sql.is_empty() { vec![] } else { vec![sql.into()] },
            special: Vec::new(),
        };
        let rows = |t: &str| match t {
            "big" => 1000,
            "mid" | "mid2" => 10,
            _ => 0,
        };
        let pks = vec![build("small_pk", "pk small"), build("big", "pk big")];
        let indexes = vec![
            build("mid", "ix mid"),
            build("empty", "ix empty"),
            build("no_indexes", ""),
            build("big", "ix big"),
            build("mid2", "ix mid2"),
        ];
        let (loaded, empty) = build_order(pks, indexes, rows);
        let names = |q: VecDeque<DeferredIndexes>| q.into_iter().map(|d| d.each.join(";")).collect::<Vec<_>>();
        // Primary keys first as they came; then most rows first, ties in
        // schema order; a table without indexes has nothing queued.
        assert_eq!(names(loaded), ["pk small", "pk big", "ix big", "ix mid", "ix mid2"]);
        assert_eq!(names(empty), ["ix empty"]);
    }
}
