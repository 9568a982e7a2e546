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

pub mod cell;
mod fastrow;
mod front;
mod mysql;
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
use decant_record::{Record, RowData, TableSchema};

use cell::{validate, Cell, EncodeOptions, ZeroDates};
use front::{Batch, Front, FrontOptions, Msg, Run};
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
    /// keys and foreign keys are created after the data).
    #[arg(long)]
    pub create_tables: bool,
    /// How rows meet existing rows with the same primary key.
    #[arg(long, value_enum, default_value_t = Mode::Insert)]
    pub mode: Mode,
    /// Empty each table before its first row (once per run, also on resume).
    #[arg(long)]
    pub truncate: bool,
    /// Rows per batch; each batch is committed in one transaction.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_rows: u64,
    /// Resumable run: progress is committed with each batch; rerunning the
    /// same command continues after the last committed batch.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
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
}

impl TablePlan {
    pub(crate) fn new(name: &str, columns: Vec<TargetColumn>, pk: &[String]) -> TablePlan {
        let index: HashMap<String, usize> = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let pk = pk.iter().filter_map(|k| index.get(k).copied()).collect();
        let src_of = vec![None; columns.len()];
        TablePlan { name: name.to_owned(), columns, pk, index, src_of, created_here: false }
    }

    /// Pairs the target's columns with the stream's schema line.
    fn with_source(mut self, schema: &TableSchema) -> TablePlan {
        self.src_of = self.columns.iter().map(|c| schema.columns.iter().find(|s| s.name == c.name).cloned()).collect();
        self
    }
}

/// Statements built ahead of their execution, on the decoding thread.
#[derive(Debug)]
pub(crate) enum Prepared {
    /// MySQL: the INSERT statements of a run of rows, values bound.
    MySql(Vec<mysql::BoundInsert>),
    /// PostgreSQL: the rows in COPY text format.
    Copy(Vec<u8>),
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
            Preparer::Postgres => Some(Prepared::Copy(postgres::copy_text(rows))),
            Preparer::Bound => None,
        })
    }
}

/// A database the importer writes into.
#[allow(async_fn_in_trait)]
pub(crate) trait Sink {
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
    /// Deletes the row with this primary key; returns rows deleted.
    async fn delete(&mut self, plan: &TablePlan, key: &[Cell]) -> Result<u64, DbError>;
    /// Empties a table.
    async fn truncate(&mut self, plan: &TablePlan) -> Result<(), DbError>;
    /// Puts identity sequences past the loaded keys (PostgreSQL).
    async fn reset_identity(&mut self, plan: &TablePlan) -> Result<(), DbError>;
    /// Saves the run's progress (inside the open transaction).
    async fn save_state(&mut self, id: &str, json: &str) -> Result<(), DbError>;

    /// Called after `--create-tables` created `schema`'s table, for a store
    /// that keeps what its DDL cannot say (SQLite: the schema line).
    async fn created(&mut self, _schema: &TableSchema, _casts_applied: bool) -> Result<(), DbError> {
        Ok(())
    }
}

/// Runs an importer: the body of `mysql-import`, `pg-import`, `sqlite-import`.
pub fn run(dialect: Dialect, args: SqlImportArgs) -> anyhow::Result<Outcome> {
    let url = ConnUrl::resolve(args.target.url.as_deref(), args.target.password_file.as_deref(), Role::Target, false)?;
    let want = match dialect {
        Dialect::Postgres => Store::Postgres,
        Dialect::MySql => Store::MySql,
        Dialect::Sqlite => Store::Sqlite,
    };
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
    args: SqlImportArgs,
    ddl: DdlOptions,
    plans: Vec<TablePlan>,
    plan_of: HashMap<String, usize>,
    /// Tables created by this run (statements due after the data).
    deferred_indexes: Vec<DeferredIndexes>,
    deferred_fks: Vec<(String, String, decant_record::ForeignKey)>,
    written_tables: HashSet<usize>,
    summary: Summary,
    rejects: Rejects,
    state: Option<(state::StateFile, state::Progress)>,
}

impl<S: Sink> Importer<S> {
    fn new(dialect: Dialect, sink: S, args: SqlImportArgs, casts: Vec<CastRule>) -> anyhow::Result<Self> {
        let resuming = args.state.as_deref().is_some_and(|p| p.exists());
        let rejects = Rejects::open(args.reject.reject_file.as_deref(), resuming)?;
        Ok(Importer {
            dialect,
            sink,
            ddl: DdlOptions { casts, charset: args.charset.clone(), collation: args.collation.clone() },
            args,
            plans: Vec::new(),
            plan_of: HashMap::new(),
            deferred_indexes: Vec::new(),
            deferred_fks: Vec::new(),
            written_tables: HashSet::new(),
            summary: Summary::new(),
            rejects,
            state: None,
        })
    }

    async fn run(mut self) -> anyhow::Result<Outcome> {
        let reader = self.args.input.open()?;
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
            },
            Progress::new(&self.args.report, "rows", None),
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
        match (served, decoded) {
            (Err(e), _) => Err(e),
            (Ok(None), Err(e)) => Err(e),
            (Ok(None), Ok(())) => bail!("the decoding thread stopped without finishing the input"),
            (Ok(Some(outcome)), _) => Ok(outcome),
        }
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
                Msg::Start { fingerprint, reply } => {
                    if self.open_state(&input_name, fingerprint).await? {
                        cli::warn("the state file says this import finished already: nothing to do");
                        let _ = reply.send(None);
                        return Ok(Some(Outcome::Success));
                    }
                    let resume = self.state.as_ref().map_or(0, |(_, p)| p.line);
                    let _ = reply.send(Some(resume));
                }
                Msg::Schema { schema, reply } => {
                    let t = self.on_schema(*schema).await?;
                    let _ = reply.send((t, self.plans[t].clone()));
                }
                Msg::Table { name, reply } => {
                    let t = self.plan_for(&name).await?;
                    let _ = reply.send((t, self.plans[t].clone()));
                }
                Msg::Batch(mut batch) => {
                    self.commit_batch(&mut batch).await?;
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

    /// Loads or starts the run's state; true when the run already finished.
    async fn open_state(&mut self, input: &str, fingerprint: String) -> anyhow::Result<bool> {
        let Some(path) = self.args.state.clone() else { return Ok(false) };
        if self.args.dry_run {
            cli::warn("--dry-run ignores --state");
            return Ok(false);
        }
        let file = state::StateFile::new(&path);
        let saved = file.load()?;
        if saved.as_ref().is_some_and(|p| p.finished && p.first_line_blake3 == fingerprint) {
            return Ok(true);
        }
        self.sink
            .exec(&format!(
                "CREATE TABLE IF NOT EXISTS {} (id VARCHAR(64) NOT NULL PRIMARY KEY, progress TEXT NOT NULL)",
                self.dialect.quote(state::STATE_TABLE)
            ))
            .await
            .map_err(|e| anyhow::anyhow!("creating the state table {}: {e}", state::STATE_TABLE))?;
        let progress = match saved {
            None => state::Progress {
                id: state::new_run_id(),
                input: input.to_owned(),
                first_line_blake3: fingerprint,
                ..Default::default()
            },
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
                let in_db =
                    self.sink.query_text(&sql).await.map_err(|e| anyhow::anyhow!("reading the run's state: {e}"))?;
                let progress = match in_db {
                    Some(json) => serde_json::from_str::<state::Progress>(&json).context("the run's state row is damaged")?,
                    None if saved.line == 0 && saved.created.is_empty() && saved.truncated.is_empty() => saved,
                    None => bail!(
                        "state file {} says line {} is committed, but the target has no progress row for run {} in {}: is this the same target?",
                        path.display(),
                        saved.line,
                        saved.id,
                        state::STATE_TABLE
                    ),
                };
                if !self.args.report.quiet {
                    cli::warn(format_args!("resuming after input line {} (run {})", progress.line, progress.id));
                }
                progress
            }
        };
        file.save(&progress)?;
        self.state = Some((file, progress));
        Ok(false)
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
            Some((cols, pk)) => {
                if created_before && self.args.create_tables {
                    let ddl = table_ddl(self.dialect, &schema, &self.ddl)?;
                    self.deferred_indexes.push(DeferredIndexes::of(&ddl));
                    self.deferred_fks.extend(fk_list(&schema, ddl.foreign_keys));
                }
                let mut plan = TablePlan::new(&name, cols, &pk);
                // Created by the first run of this --state run: its foreign keys are still due.
                plan.created_here = created_before && self.args.create_tables;
                plan
            }
            None if !self.args.create_tables => {
                bail!("table {name} does not exist in the target: create it, or pass --create-tables")
            }
            None if self.args.dry_run => {
                for note in &table_ddl(self.dialect, &schema, &self.ddl)?.notes {
                    cli::warn(note);
                }
                let cols = schema.columns.iter().map(|c| planned_column(self.dialect, &schema, c, &self.ddl)).collect();
                TablePlan::new(&name, cols, &schema.primary_key)
            }
            None => {
                let ddl = table_ddl(self.dialect, &schema, &self.ddl)?;
                for note in &ddl.notes {
                    cli::warn(note);
                }
                for sql in &ddl.create {
                    self.sink
                        .exec(sql)
                        .await
                        .map_err(|e| anyhow::anyhow!("creating table {name}: {e}\nstatement: {sql}"))?;
                }
                let casts_applied =
                    schema.columns.iter().any(|c| typemap::cast_for(&self.ddl.casts, &schema.table, c).is_some());
                self.sink
                    .created(&schema, casts_applied)
                    .await
                    .map_err(|e| anyhow::anyhow!("recording the schema of table {name}: {e}"))?;
                self.deferred_indexes.push(DeferredIndexes::of(&ddl));
                self.deferred_fks.extend(fk_list(&schema, ddl.foreign_keys));
                let n = name.clone();
                self.note_state(move |p| p.created.push(n)).await?;
                let (cols, pk) = self
                    .sink
                    .describe(&name)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("table {name} was created but cannot be found"))?;
                let mut plan = TablePlan::new(&name, cols, &pk);
                plan.created_here = true;
                plan
            }
        };
        let plan = plan.with_source(&schema);
        self.summary.group(&name);
        self.install_plan(plan).await
    }

    async fn install_plan(&mut self, plan: TablePlan) -> anyhow::Result<usize> {
        let name = plan.name.clone();
        let idx = match self.plan_of.get(&name) {
            Some(&i) => {
                self.plans[i] = plan;
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

    /// Writes a batch in one transaction and commits it with the progress up
    /// to its `commit_line`; first the rejects found before the database.
    async fn commit_batch(&mut self, batch: &mut Batch) -> anyhow::Result<()> {
        let runs = std::mem::take(&mut batch.runs);
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
        let Some(line) = batch.commit_line else { return Ok(()) };
        let state_moves = self.state.as_ref().is_some_and(|(_, p)| line > p.line);
        if batch.ops.is_empty() && !state_moves {
            return Ok(());
        }
        let batch = &*batch;
        self.exec_or_fail("BEGIN").await?;
        for run in runs {
            match run {
                Run::Rows { table, cols, ops, prepared } => {
                    let ops: Vec<&front::Op> = ops.iter().map(|&k| &batch.ops[k]).collect();
                    self.write_rows(table, &cols, batch, &ops, prepared).await?;
                }
                Run::Delete { table, op } => {
                    let op = &batch.ops[op];
                    let plan = self.plans[table].clone();
                    self.exec_or_fail("SAVEPOINT decant_row").await?;
                    match self.sink.delete(&plan, batch.row(op)).await {
                        Ok(n) => {
                            self.exec_or_fail("RELEASE SAVEPOINT decant_row").await?;
                            let g = self.summary.group(&plan.name);
                            if n > 0 {
                                g.written += 1;
                            } else {
                                g.skipped += 1;
                            }
                        }
                        Err(e) => {
                            self.exec_or_fail("ROLLBACK TO SAVEPOINT decant_row").await?;
                            self.summary.group(&plan.name).rejected += 1;
                            self.rejects.reject(
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
        if let Some((_, p)) = self.state.as_mut() {
            p.line = p.line.max(line);
        }
        self.save_state_in_db().await?;
        // Rejects reach the disk before the commit: a crash can repeat a
        // reject line on resume, never lose one.
        self.rejects.finish()?;
        self.exec_or_fail("COMMIT").await?;
        self.save_state_file()?;
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
        let plan = self.plans[table].clone();
        self.written_tables.insert(table);
        let rows: Vec<&[Cell]> = ops.iter().map(|op| batch.row(op)).collect();
        self.exec_or_fail("SAVEPOINT decant_batch").await?;
        match self.sink.write(&plan, cols, &rows, self.args.mode, prepared).await {
            Ok(w) => {
                self.exec_or_fail("RELEASE SAVEPOINT decant_batch").await?;
                let g = self.summary.group(&plan.name);
                g.written += w.written;
                g.skipped += w.skipped;
                return Ok(());
            }
            Err(_) => {
                self.exec_or_fail("ROLLBACK TO SAVEPOINT decant_batch").await?;
            }
        }
        let enc = EncodeOptions { dialect: self.dialect, zero_dates: self.args.zero_dates };
        let (mut again_cols, mut again) = (Vec::new(), Vec::new());
        for (op, row) in ops.iter().zip(&rows) {
            let line = op.line;
            let raw = batch.raw_line(op);
            let mut row: &[Cell] = row;
            if batch.cells_dropped {
                // Converted again from its line: it converted before, so it does now.
                again.clear();
                let data = match Record::decode(raw) {
                    Ok(Record::Row(r)) => r.data,
                    _ => RowData::default(),
                };
                if let Err(e) = front::encode_row(&plan, data, &enc, false, &mut again_cols, &mut again) {
                    bail!("line {line} no longer converts for table {}: {e}", plan.name);
                }
                row = &again;
            }
            self.exec_or_fail("SAVEPOINT decant_row").await?;
            match self.sink.write(&plan, cols, std::slice::from_ref(&row), self.args.mode, None).await {
                Ok(w) => {
                    self.exec_or_fail("RELEASE SAVEPOINT decant_row").await?;
                    let g = self.summary.group(&plan.name);
                    g.written += w.written;
                    g.skipped += w.skipped;
                }
                Err(e) => {
                    self.exec_or_fail("ROLLBACK TO SAVEPOINT decant_row").await?;
                    self.summary.group(&plan.name).rejected += 1;
                    let column = e.column.clone().or_else(|| {
                        cols.iter()
                            .zip(row.iter())
                            .find(|(i, c)| validate(c, &plan.columns[**i], self.dialect).is_err())
                            .map(|(i, _)| plan.columns[*i].name.clone())
                    });
                    let data: RowData = match Record::decode(raw) {
                        Ok(Record::Row(r)) => r.data,
                        _ => RowData::default(),
                    };
                    let mut what = format!("table {}, key {}", plan.name, front::key_text(&plan, &data, line));
                    if let Some(c) = column {
                        what.push_str(&format!(", column {c:?}"));
                    }
                    if !self.rejects.is_enabled() {
                        // The transaction is abandoned; earlier batches stay committed.
                        let _ = self.sink.exec("ROLLBACK").await;
                    }
                    self.rejects.reject(Some(line), &what, raw, &e.message)?;
                }
            }
        }
        Ok(())
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
        let mut helper = match self.sink.another().await {
            Ok(h) => h,
            Err(e) => {
                cli::warn(format_args!("no second connection for the indexes ({e}); building them one by one"));
                None
            }
        };
        let queue = RefCell::new(std::mem::take(&mut self.deferred_indexes).into_iter().collect::<VecDeque<_>>());
        let (mine, theirs) = tokio::join!(build_indexes(&mut self.sink, &queue), async {
            match helper.as_mut() {
                Some(h) => build_indexes(h, &queue).await,
                None => Vec::new(),
            }
        });
        failures.extend(mine.into_iter().chain(theirs));

        let mut checks = VecDeque::new();
        for (sql, table, fk) in std::mem::take(&mut self.deferred_fks) {
            // MySQL validates a new foreign key by copying the whole table;
            // added without checks it is a metadata change, and one anti-join
            // per key checks the rows instead.
            let unchecked = self.dialect == Dialect::MySql;
            if unchecked {
                self.exec_or_fail("SET foreign_key_checks = 0").await?;
            }
            let added = self.sink.exec(&sql).await;
            if unchecked {
                self.exec_or_fail("SET foreign_key_checks = 1").await?;
            }
            match added {
                Err(e) if !is_already_exists(&e.message) => failures.push(format!("{sql}: {e}")),
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
                    checks.push_back(FkCheck { sql: check, table, fk });
                }
                Ok(_) => {}
            }
        }
        let checks = RefCell::new(checks);
        let (mine, theirs) = tokio::join!(check_fks(&mut self.sink, &checks), async {
            match helper.as_mut() {
                Some(h) => check_fks(h, &checks).await,
                None => Vec::new(),
            }
        });
        failures.extend(mine.into_iter().chain(theirs));
        drop(helper);
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
        if !failures.is_empty() {
            bail!(
                "the data is loaded, but {} statement(s) after it failed:\n  {}",
                failures.len(),
                failures.join("\n  ")
            );
        }
        if let Some((file, mut p)) = self.state.take() {
            p.finished = true;
            let sql = format!("DELETE FROM {} WHERE id = '{}'", self.dialect.quote(state::STATE_TABLE), p.id);
            self.sink.exec(&sql).await.map_err(|e| anyhow::anyhow!("clearing the run's state: {e}"))?;
            let left = self
                .sink
                .query_text(&format!("SELECT COUNT(*) FROM {}", self.dialect.quote(state::STATE_TABLE)))
                .await
                .ok()
                .flatten();
            if left.as_deref() == Some("0") {
                let _ = self.sink.exec(&format!("DROP TABLE {}", self.dialect.quote(state::STATE_TABLE))).await;
            }
            file.save(&p)?;
        }
        Ok(())
    }
}

/// Builds the queued tables' indexes until the queue is empty (shared with
/// a second connection); the failures, each named by its statement.
async fn build_indexes<S: Sink>(sink: &mut S, queue: &RefCell<VecDeque<DeferredIndexes>>) -> Vec<String> {
    let mut failures = Vec::new();
    loop {
        let Some(deferred) = queue.borrow_mut().pop_front() else { return failures };
        if let Some(sql) = &deferred.combined {
            if sink.exec(sql).await.is_ok() {
                continue;
            }
            // One of them exists already (a resumed run) or fails: one by
            // one, so the others are still built and each failure named.
        }
        for sql in deferred.each {
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
}

/// Runs the queued foreign-key checks until the queue is empty (shared with
/// a second connection); the keys whose rows reference missing rows.
async fn check_fks<S: Sink>(sink: &mut S, queue: &RefCell<VecDeque<FkCheck>>) -> Vec<String> {
    let mut failures = Vec::new();
    loop {
        let Some(FkCheck { sql, table, fk }) = queue.borrow_mut().pop_front() else { return failures };
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
#[derive(Debug)]
struct DeferredIndexes {
    /// All in one statement (MySQL), tried first.
    combined: Option<String>,
    /// One statement each.
    each: Vec<String>,
}

impl DeferredIndexes {
    fn of(ddl: &typemap::TableDdl) -> DeferredIndexes {
        DeferredIndexes { combined: ddl.indexes_combined.clone(), each: ddl.indexes.clone() }
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
}
