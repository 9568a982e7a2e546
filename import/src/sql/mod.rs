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
//! The core reads the stream one record at a time, converts each row for its
//! target table, and writes batches of `--batch-rows` rows, each batch in one
//! transaction (with the run's progress when `--state` is given). A batch the
//! database refuses is rolled back to a savepoint and written row by row, so
//! the rows it refuses are named (table, key, column, the database's error)
//! and, with `--reject-file`, set aside while the rest go in.

pub mod cell;
mod mysql;
mod postgres;
mod sqlite;
pub mod state;
pub mod typemap;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use decant_record::cli::{self, InputArgs, Outcome, Progress, RejectArgs, Rejects, ReportArgs, Summary, TargetArgs};
use decant_record::conn::{ConnUrl, Role, Store};
use decant_record::{Record, RowData, TableSchema, Target, Value};

use cell::{encode, validate, Cell, EncodeOptions, ZeroDates};
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
    /// Columns of the stream's schema line, by name.
    src: HashMap<String, decant_record::Column>,
}

impl TablePlan {
    pub(crate) fn new(name: &str, columns: Vec<TargetColumn>, pk: &[String]) -> TablePlan {
        let index: HashMap<String, usize> = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let pk = pk.iter().filter_map(|k| index.get(k).copied()).collect();
        TablePlan { name: name.to_owned(), columns, pk, index, src: HashMap::new() }
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
    /// Writes rows (`cols` are indexes into the plan's columns).
    async fn write(
        &mut self,
        plan: &TablePlan,
        cols: &[usize],
        rows: &[&[Cell]],
        mode: Mode,
    ) -> Result<Written, DbError>;
    /// Deletes the row with this primary key; returns rows deleted.
    async fn delete(&mut self, plan: &TablePlan, key: &[Cell]) -> Result<u64, DbError>;
    /// Empties a table.
    async fn truncate(&mut self, plan: &TablePlan) -> Result<(), DbError>;
    /// Puts identity sequences past the loaded keys (PostgreSQL).
    async fn reset_identity(&mut self, plan: &TablePlan) -> Result<(), DbError>;
    /// Saves the run's progress (inside the open transaction).
    async fn save_state(&mut self, id: &str, json: &str) -> Result<(), DbError>;
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
                let sink = sqlite::LiteSink::connect(&url).await?;
                Importer::new(dialect, sink, args, casts)?.run().await
            }
        }
    })
}

/// A row or delete waiting for the batch's commit.
#[derive(Debug)]
enum Op {
    Row { table: usize, cols: Vec<usize>, cells: Vec<Cell>, line: u64, raw: Vec<u8> },
    Delete { table: usize, key: Vec<Cell>, line: u64, raw: Vec<u8> },
}

/// Cap on the bytes of input lines held in one batch (memory bound).
const BATCH_BYTES: usize = 32 << 20;

struct Importer<S: Sink> {
    dialect: Dialect,
    sink: S,
    args: SqlImportArgs,
    ddl: DdlOptions,
    enc: EncodeOptions,
    plans: Vec<TablePlan>,
    plan_of: HashMap<String, usize>,
    /// Tables created by this run (statements due after the data).
    deferred_indexes: Vec<String>,
    deferred_fks: Vec<(String, String, decant_record::ForeignKey)>,
    written_tables: HashSet<usize>,
    ops: Vec<Op>,
    batch_bytes: usize,
    summary: Summary,
    progress: Progress,
    rejects: Rejects,
    state: Option<(state::StateFile, state::Progress)>,
    resume_line: u64,
    estimated_rows: u64,
}

impl<S: Sink> Importer<S> {
    fn new(dialect: Dialect, sink: S, args: SqlImportArgs, casts: Vec<CastRule>) -> anyhow::Result<Self> {
        let resuming = args.state.as_deref().is_some_and(|p| p.exists());
        let rejects = Rejects::open(args.reject.reject_file.as_deref(), resuming)?;
        let progress = Progress::new(&args.report, "rows", None);
        Ok(Importer {
            dialect,
            sink,
            ddl: DdlOptions { casts, charset: args.charset.clone(), collation: args.collation.clone() },
            enc: EncodeOptions { dialect, zero_dates: args.zero_dates },
            args,
            plans: Vec::new(),
            plan_of: HashMap::new(),
            deferred_indexes: Vec::new(),
            deferred_fks: Vec::new(),
            written_tables: HashSet::new(),
            ops: Vec::new(),
            batch_bytes: 0,
            summary: Summary::new(),
            progress,
            rejects,
            state: None,
            resume_line: 0,
            estimated_rows: 0,
        })
    }

    async fn run(mut self) -> anyhow::Result<Outcome> {
        let mut reader = self.args.input.open()?;
        let input_name = self.args.input.input.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "-".into());
        let mut first = true;
        loop {
            let record = match reader.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) if e.is_recoverable() => {
                    let line = e.line();
                    if line <= self.resume_line {
                        continue;
                    }
                    let raw = reader.raw_line().to_vec();
                    self.rejects.reject(Some(line), &format!("line {line}"), &raw, &e.to_string())?;
                    continue;
                }
                Err(e) => return Err(e).context("reading the input"),
            };
            let line = reader.line_number();
            if first {
                first = false;
                let fingerprint = blake3::hash(reader.raw_line()).to_hex().to_string();
                if self.open_state(&input_name, fingerprint).await? {
                    cli::warn("the state file says this import finished already: nothing to do");
                    return Ok(Outcome::Success);
                }
            }
            match record {
                Record::Header(_) | Record::End(_) => {}
                Record::Schema(schema) => {
                    self.flush().await?;
                    self.on_schema(schema).await?;
                }
                Record::Row(row) => {
                    if line <= self.resume_line {
                        continue;
                    }
                    let raw = reader.raw_line().to_vec();
                    self.on_row(row.table, row.data, line, raw).await?;
                }
                Record::Delete(d) => {
                    if line <= self.resume_line {
                        continue;
                    }
                    let raw = reader.raw_line().to_vec();
                    self.on_delete(d.target, line, raw).await?;
                }
                Record::Redis(_) | Record::Diff(_) => {
                    if line <= self.resume_line {
                        continue;
                    }
                    let what = if matches!(record, Record::Redis(_)) {
                        "a redis record cannot go into a SQL table (decant-transform turns keys into rows)"
                    } else {
                        "a diff record cannot be imported (decant-diff --patch writes importable records)"
                    };
                    let raw = reader.raw_line().to_vec();
                    self.rejects.reject(Some(line), &format!("line {line}"), &raw, what)?;
                }
            }
            if self.ops.len() as u64 >= self.args.batch_rows || self.batch_bytes >= BATCH_BYTES {
                self.commit_batch(line).await?;
            }
        }
        let last_line = reader.line_number();
        if first {
            // Empty input: nothing to resume, nothing to do.
            self.summary.print(&self.args.report);
            return Ok(Outcome::Success);
        }
        self.commit_batch(last_line).await?;
        self.finish().await?;
        self.progress.finish();
        self.rejects.finish()?;
        self.summary.print(&self.args.report);
        if self.args.dry_run && !self.args.report.quiet {
            cli::warn("dry run: nothing was written");
        }
        Ok(if self.rejects.count() > 0 { Outcome::Failed } else { Outcome::Success })
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
        self.resume_line = progress.line;
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

    async fn on_schema(&mut self, schema: TableSchema) -> anyhow::Result<()> {
        let name = schema.table.clone();
        let existing = self.sink.describe(&name).await?;
        let created_before = self.state.as_ref().is_some_and(|(_, p)| p.created.contains(&name));
        let plan = match existing {
            Some((cols, pk)) => {
                if created_before && self.args.create_tables {
                    let ddl = table_ddl(self.dialect, &schema, &self.ddl)?;
                    self.deferred_indexes.extend(ddl.indexes);
                    self.deferred_fks.extend(fk_list(&schema, ddl.foreign_keys));
                }
                TablePlan::new(&name, cols, &pk)
            }
            None if !self.args.create_tables => {
                bail!("table {name} does not exist in the target: create it, or pass --create-tables")
            }
            None if self.args.dry_run => {
                let cols = schema.columns.iter().map(|c| planned_column(self.dialect, &schema, c, &self.ddl)).collect();
                TablePlan::new(&name, cols, &schema.primary_key)
            }
            None => {
                let ddl = table_ddl(self.dialect, &schema, &self.ddl)?;
                for sql in &ddl.create {
                    self.sink
                        .exec(sql)
                        .await
                        .map_err(|e| anyhow::anyhow!("creating table {name}: {e}\nstatement: {sql}"))?;
                }
                self.deferred_indexes.extend(ddl.indexes);
                self.deferred_fks.extend(fk_list(&schema, ddl.foreign_keys));
                let n = name.clone();
                self.note_state(move |p| p.created.push(n)).await?;
                let (cols, pk) = self
                    .sink
                    .describe(&name)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("table {name} was created but cannot be found"))?;
                TablePlan::new(&name, cols, &pk)
            }
        };
        let mut plan = plan;
        plan.src = schema.columns.iter().map(|c| (c.name.clone(), c.clone())).collect();
        self.summary.group(&name);
        if let Some(rows) = schema.estimated_rows {
            // The source's estimate, for the ETA only.
            self.estimated_rows += rows;
            self.progress.set_total(Some(self.estimated_rows));
        }
        self.install_plan(plan).await
    }

    async fn install_plan(&mut self, plan: TablePlan) -> anyhow::Result<()> {
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
        Ok(())
    }

    /// The plan of a table that had no schema line: the target's own columns.
    async fn plan_for(&mut self, table: &str) -> anyhow::Result<usize> {
        if let Some(&i) = self.plan_of.get(table) {
            return Ok(i);
        }
        self.flush().await?;
        let Some((cols, pk)) = self.sink.describe(table).await? else {
            bail!(
                "table {table} does not exist in the target and the stream has no schema line for it (create it first)"
            );
        };
        self.summary.group(table);
        self.install_plan(TablePlan::new(table, cols, &pk)).await?;
        Ok(self.plan_of[table])
    }

    fn key_text(plan: &TablePlan, data: &RowData, line: u64) -> String {
        if plan.pk.is_empty() {
            return format!("line {line}");
        }
        let parts: Vec<String> = plan
            .pk
            .iter()
            .map(|&i| {
                let name = &plan.columns[i].name;
                let v = data.get(name).map(Value::to_json_string).unwrap_or_else(|| "?".into());
                format!("{name}={v}")
            })
            .collect();
        format!("{} (line {line})", parts.join(", "))
    }

    async fn on_row(&mut self, table: String, data: RowData, line: u64, raw: Vec<u8>) -> anyhow::Result<()> {
        let t = self.plan_for(&table).await?;
        self.progress.inc(1);
        let plan = &self.plans[t];
        let mut cols = Vec::with_capacity(data.len());
        let mut cells = Vec::with_capacity(data.len());
        let mut problem = None;
        for (name, value) in data.iter() {
            let Some(&i) = plan.index.get(name) else {
                problem = Some(format!("column {name:?}: no such column in the target table"));
                break;
            };
            let col = &plan.columns[i];
            match encode(value, plan.src.get(name), col, &self.enc) {
                Ok(cell) => {
                    if self.args.dry_run {
                        if let Err(e) = validate(&cell, col, self.dialect) {
                            problem = Some(format!("column {name:?}: {e}"));
                            break;
                        }
                    }
                    cols.push(i);
                    cells.push(cell);
                }
                Err(e) => {
                    problem = Some(format!("column {name:?}: {e}"));
                    break;
                }
            }
        }
        if problem.is_none() && self.args.dry_run {
            // Missing NOT NULL columns without a default would fail too.
            for (i, c) in plan.columns.iter().enumerate() {
                if !c.nullable
                    && !c.identity
                    && !cols.contains(&i)
                    && plan.src.get(&c.name).is_some_and(|s| s.default.is_none() && s.default_expr.is_none())
                {
                    problem = Some(format!("column {:?}: missing, and it is NOT NULL", c.name));
                    break;
                }
            }
        }
        if let Some(p) = problem {
            let what = format!("table {table}, key {}", Self::key_text(plan, &data, line));
            self.summary.group(&table).rejected += 1;
            return self.rejects.reject(Some(line), &what, &raw, &p);
        }
        if self.args.dry_run {
            self.summary.group(&table).written += 1;
            return Ok(());
        }
        self.batch_bytes += raw.len() + cells.len() * 32;
        self.ops.push(Op::Row { table: t, cols, cells, line, raw });
        Ok(())
    }

    async fn on_delete(&mut self, target: Target, line: u64, raw: Vec<u8>) -> anyhow::Result<()> {
        let Target::Row { table, id } = target else {
            return self.rejects.reject(
                Some(line),
                &format!("line {line}"),
                &raw,
                "a delete of a redis key cannot go into a SQL table",
            );
        };
        let t = self.plan_for(&table).await?;
        let plan = &self.plans[t];
        let what = format!("table {table}, delete {}", Self::key_text(plan, &id, line));
        if !matches!(self.args.mode, Mode::Upsert | Mode::Replace) {
            self.summary.group(&table).rejected += 1;
            return self.rejects.reject(Some(line), &what, &raw, "delete records need --mode upsert or --mode replace");
        }
        if plan.pk.is_empty() {
            self.summary.group(&table).rejected += 1;
            return self.rejects.reject(Some(line), &what, &raw, "the table has no primary key to delete by");
        }
        let mut key = Vec::with_capacity(plan.pk.len());
        for &i in &plan.pk {
            let col = &plan.columns[i];
            let Some(v) = id.get(&col.name) else {
                self.summary.group(&table).rejected += 1;
                let why = format!("the delete has no value for primary-key column {:?}", col.name);
                return self.rejects.reject(Some(line), &what, &raw, &why);
            };
            match encode(v, plan.src.get(&col.name), col, &self.enc) {
                Ok(c) => key.push(c),
                Err(e) => {
                    self.summary.group(&table).rejected += 1;
                    return self.rejects.reject(Some(line), &what, &raw, &format!("column {:?}: {e}", col.name));
                }
            }
        }
        if self.args.dry_run {
            return Ok(());
        }
        self.batch_bytes += raw.len();
        self.ops.push(Op::Delete { table: t, key, line, raw });
        Ok(())
    }

    /// Commits what is pending (before DDL and table switches).
    async fn flush(&mut self) -> anyhow::Result<()> {
        if let Some(line) = self.ops.last().map(|op| match op {
            Op::Row { line, .. } | Op::Delete { line, .. } => *line,
        }) {
            self.commit_batch(line).await?;
        }
        Ok(())
    }

    /// Writes the pending operations in one transaction and commits them with
    /// the progress up to `line`.
    async fn commit_batch(&mut self, line: u64) -> anyhow::Result<()> {
        if self.args.dry_run {
            self.ops.clear();
            return Ok(());
        }
        let state_moves = self.state.as_ref().is_some_and(|(_, p)| line > p.line);
        if self.ops.is_empty() && !state_moves {
            return Ok(());
        }
        let ops = std::mem::take(&mut self.ops);
        self.batch_bytes = 0;
        self.exec_or_fail("BEGIN").await?;
        let mut i = 0;
        while i < ops.len() {
            match &ops[i] {
                Op::Row { table, cols, .. } => {
                    // A run of rows for the same table and columns.
                    let mut j = i + 1;
                    while j < ops.len()
                        && matches!(&ops[j], Op::Row { table: t2, cols: c2, .. } if t2 == table && c2 == cols)
                    {
                        j += 1;
                    }
                    self.write_rows(*table, cols.clone(), &ops[i..j]).await?;
                    i = j;
                }
                Op::Delete { table, key, line, raw } => {
                    let plan = self.plans[*table].clone();
                    self.exec_or_fail("SAVEPOINT decant_row").await?;
                    match self.sink.delete(&plan, key).await {
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
                                Some(*line),
                                &format!("table {}, delete at line {line}", plan.name),
                                raw,
                                &e.message,
                            )?;
                        }
                    }
                    i += 1;
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
    async fn write_rows(&mut self, table: usize, cols: Vec<usize>, ops: &[Op]) -> anyhow::Result<()> {
        let plan = self.plans[table].clone();
        self.written_tables.insert(table);
        let rows: Vec<&[Cell]> = ops
            .iter()
            .map(|op| match op {
                Op::Row { cells, .. } => cells.as_slice(),
                Op::Delete { key, .. } => key.as_slice(),
            })
            .collect();
        self.exec_or_fail("SAVEPOINT decant_batch").await?;
        match self.sink.write(&plan, &cols, &rows, self.args.mode).await {
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
        for (op, row) in ops.iter().zip(&rows) {
            let Op::Row { line, raw, .. } = op else { continue };
            self.exec_or_fail("SAVEPOINT decant_row").await?;
            match self.sink.write(&plan, &cols, std::slice::from_ref(row), self.args.mode).await {
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
                    let mut what = format!("table {}, key {}", plan.name, Self::key_text(&plan, &data, *line));
                    if let Some(c) = column {
                        what.push_str(&format!(", column {c:?}"));
                    }
                    if !self.rejects.is_enabled() {
                        // The transaction is abandoned; earlier batches stay committed.
                        let _ = self.sink.exec("ROLLBACK").await;
                    }
                    self.rejects.reject(Some(*line), &what, raw, &e.message)?;
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
        for sql in std::mem::take(&mut self.deferred_indexes) {
            if let Err(e) = self.sink.exec(&sql).await {
                if !is_already_exists(&e.message) {
                    failures.push(format!("{sql}: {e}"));
                }
            }
        }
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
                    match self.sink.query_text(&check).await {
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
                Ok(_) => {}
            }
        }
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
