//! The importer's decoding thread: reads and decodes the stream, converts
//! each row for its target table, and builds the batch's statements (MySQL
//! INSERT text, PostgreSQL COPY text) while the database thread executes the
//! previous batch.
//!
//! The two threads meet on a rendezvous channel, so at most two batches are
//! in flight: the one the database is executing and the one built and
//! waiting to be taken. Everything that needs the database (the state file,
//! table creation, a target table's columns) is a request the database
//! thread answers in stream order, after the batches sent before it.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::Context as _;
use decant_record::cli::{self, Progress};
use decant_record::io::Input;
use decant_record::reader::RecordReader;
use decant_record::{Frame, ReadError, Record, RowData, TableSchema, Target, Value};

use super::cell::{encode, encode_owned, validate, Cell, EncodeOptions};
use super::fastrow::{self, TableNumbers};
use super::pgrow::{self, BinPlan};
use super::typemap::Kind;
use super::{pg_binary, postgres, Mode, Prepared, Preparer, TablePlan};

/// Cap on the bytes of input lines held in one batch (memory bound; two
/// batches are in flight).
pub(crate) const BATCH_BYTES: usize = 16 << 20;

/// A reply the database thread sends back; `Err` when it stopped.
type Reply<T> = SyncSender<T>;

/// What the decoding thread asks of, or hands to, the database thread, in
/// stream order.
pub(crate) enum Msg {
    /// The stream's first record was read: open the `--state` run. Answer:
    /// the last input line already committed, or `None` when the state says
    /// the import finished (nothing to do). `shard`: the share the stream's
    /// header names (`--shard` of a sharded export).
    Start { fingerprint: String, shard: Option<decant_record::shard::Shard>, reply: Reply<Option<Resume>> },
    /// A `schema` line (after every batch before it): create or describe the
    /// table. Answer: the table's plan and its number.
    /// `line`: the schema line's number, for errors.
    Schema { schema: Box<TableSchema>, line: u64, reply: Reply<(usize, TablePlan)> },
    /// A row for a table without a schema line (on input line `line`):
    /// describe it.
    Table { name: String, line: u64, reply: Reply<(usize, TablePlan)> },
    /// A batch to write (and commit, with `commit_line`).
    Batch(Batch),
    /// From here on, every row and delete of `table` goes through the first
    /// connection (`--jobs`: a row that does not carry the key its table's
    /// rows are spread by); sent after the batches before it, so the rows
    /// spread before are committed first. Recorded in the `--state`.
    Pin { table: String, line: u64 },
    /// The end of the input, after the last batch; `empty` when the input
    /// had no record at all.
    End { empty: bool },
}

/// Where a run continues (the answer to [`Msg::Start`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Resume {
    /// Every line up to this one is committed on every connection.
    pub line: u64,
    /// The last line each connection (`--jobs`) committed: a row after
    /// `line` that goes to connection `j` is skipped up to `parts[j]`.
    pub parts: Vec<u64>,
    /// Tables whose rows go through the first connection (see [`Msg::Pin`]).
    pub pinned: Vec<String>,
}

/// A record set aside before it reached the database (it did not convert,
/// or cannot go into a SQL table).
#[derive(Debug)]
pub(crate) struct EarlyReject {
    pub line: u64,
    pub what: String,
    pub raw: Vec<u8>,
    pub reason: String,
    /// The table whose summary counts it.
    pub table: Option<String>,
}

/// One row or delete of a batch.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    /// Input line.
    pub line: u64,
    /// Its bytes, in [`Batch::raw`].
    pub raw: Range<usize>,
    /// Its cells (a delete: the primary key), in [`Batch::cells`].
    pub cells: Range<usize>,
    /// Its binary COPY row, in [`Batch::bin`] (pg-import, [`pgrow`]);
    /// empty when the row has only its cells. A row with one has real cells
    /// for its key columns only.
    pub bin: Range<usize>,
}

/// Consecutive operations written together, on one connection.
#[derive(Debug)]
pub(crate) enum Run {
    /// Rows of one table with the same columns (numbers into
    /// [`Batch::ops`], in stream order), and their statements.
    Rows { table: usize, cols: Vec<usize>, ops: Vec<usize>, prepared: Option<Prepared> },
    /// One delete by primary key.
    Delete { table: usize, op: usize },
}

/// A batch: written in one transaction, committed with the progress up to
/// `commit_line`.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub ops: Vec<Op>,
    /// The runs of each connection (`--jobs`), each list in stream order;
    /// the lists are written concurrently, each in its own transaction.
    pub runs: Vec<Vec<Run>>,
    /// The input lines of `ops`, end to end (one allocation, not one per row).
    pub raw: Vec<u8>,
    /// The cells of `ops`, end to end.
    pub cells: Vec<Cell>,
    /// The binary COPY rows of `ops` that have one, end to end.
    pub bin: Vec<u8>,
    /// Records refused before the database, written to the reject file
    /// before the batch's rows.
    pub rejects: Vec<EarlyReject>,
    /// The batch has a delete (rows then keep their stream order exactly).
    pub has_deletes: bool,
    /// The cells were dropped once the statements were built (every run
    /// prepared): a row is converted again from its line when needed.
    pub cells_dropped: bool,
    /// `--dry-run`: rows that passed every check, per table.
    pub dry_rows: HashMap<usize, u64>,
    /// Commit the progress up to this input line; `None`: no transaction
    /// (only rejects to write, before a schema change).
    pub commit_line: Option<u64>,
    /// Tables whose primary key is added before this batch's rows
    /// ([`TablePlan::pk_after`]: their keys stopped going up).
    pub primary_keys_first: Vec<usize>,
}

impl Batch {
    /// The cells of one operation (empty once dropped).
    pub fn row(&self, op: &Op) -> &[Cell] {
        self.cells.get(op.cells.clone()).unwrap_or_default()
    }

    /// The input line of one operation.
    pub fn raw_line(&self, op: &Op) -> &[u8] {
        &self.raw[op.raw.clone()]
    }

    fn runs_of(&mut self, part: usize) -> &mut Vec<Run> {
        if self.runs.len() <= part {
            self.runs.resize_with(part + 1, Vec::new);
        }
        &mut self.runs[part]
    }
}

/// The settings the decoding thread needs.
pub(crate) struct FrontOptions {
    pub enc: EncodeOptions,
    pub mode: Mode,
    pub batch_rows: u64,
    pub dry_run: bool,
    pub preparer: Preparer,
    /// Writer connections (`--jobs`); 1 for a dry run and SQLite.
    pub jobs: usize,
    /// `--key`: table → the columns that identify its rows (other modes
    /// than insert), which the rows are then spread by.
    pub keys: HashMap<String, Vec<String>>,
}

/// Where a row or delete goes (`--jobs`).
enum Route {
    Part(usize),
    /// To the first connection, once the table's earlier rows, spread over
    /// the connections, are committed.
    Pin,
}

/// The decoding thread's side.
pub(crate) struct Front {
    reader: RecordReader<Input>,
    opts: FrontOptions,
    tx: SyncSender<Msg>,
    /// Batches the database thread is done with, for their buffers.
    recycled: Receiver<Batch>,
    plans: Vec<Option<TablePlan>>,
    plan_of: TableNumbers,
    progress: Progress,
    estimated_rows: u64,
    resume_line: u64,
    /// The last line each connection committed before this run ([`Resume::parts`]).
    part_lines: Vec<u64>,
    /// Tables whose rows all go through the first connection ([`Msg::Pin`]).
    pinned: HashSet<String>,
    /// Per table: the columns its rows are spread over the connections by
    /// (the key they are matched by; empty until its plan is installed).
    route_key: Vec<Vec<usize>>,
    /// Per table: its route key's values are equal in the database only
    /// when their cells are (integers, bytes, PostgreSQL text), so equal
    /// keys hash alike; else, outside --mode insert, one connection.
    exact_key: Vec<bool>,
    batch: Batch,
    batch_bytes: usize,
    /// Column numbers of the row being converted (reused).
    cols: Vec<usize>,
    /// The column numbers of a binary row's cells, which are its key
    /// columns' only ([`pgrow`]; reused).
    cell_cols: Vec<usize>,
    /// Per table whose primary key comes after the data
    /// ([`TablePlan::pk_after`]): the highest key so far (empty before the
    /// first row). Removed once the key is asked for. By table number: no
    /// hash per row.
    pk_watch: Vec<Option<Vec<i128>>>,
    /// The current row's key (reused).
    key_scratch: Vec<i128>,
    /// pg-import with --mode insert: rows go into binary COPY rows straight
    /// from their lines ([`pgrow`]), per table as its [`BinPlan`] says.
    bin_rows: bool,
    bin_plans: Vec<Option<BinPlan>>,
    /// Scratch of the numeric encoder (reused).
    digits: Vec<i16>,
}

/// The decoding thread stopped because the database thread did (its error
/// is the one to report).
#[derive(Debug)]
pub(crate) struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the database side of the importer stopped")
    }
}

impl std::error::Error for Stopped {}

impl Front {
    pub(crate) fn new(
        reader: RecordReader<Input>,
        opts: FrontOptions,
        progress: Progress,
        tx: SyncSender<Msg>,
        recycled: Receiver<Batch>,
    ) -> Front {
        // Only with --mode insert: no deletes, so every run of a batch is
        // prepared and its cells are never handed on (the placeholders of a
        // binary row must not be read as values).
        let bin_rows = matches!(opts.preparer, Preparer::Postgres) && opts.mode == Mode::Insert && !opts.dry_run;
        Front {
            bin_rows,
            bin_plans: Vec::new(),
            digits: Vec::new(),
            reader,
            opts,
            tx,
            recycled,
            plans: Vec::new(),
            plan_of: TableNumbers::default(),
            progress,
            estimated_rows: 0,
            resume_line: 0,
            part_lines: Vec::new(),
            pinned: HashSet::new(),
            route_key: Vec::new(),
            exact_key: Vec::new(),
            batch: Batch::default(),
            batch_bytes: 0,
            cols: Vec::new(),
            cell_cols: Vec::new(),
            pk_watch: Vec::new(),
            key_scratch: Vec::new(),
        }
    }

    fn send(&self, msg: Msg) -> anyhow::Result<()> {
        self.tx.send(msg).map_err(|_| anyhow::Error::new(Stopped))
    }

    fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Msg) -> anyhow::Result<T> {
        let (reply, answer): (SyncSender<T>, Receiver<T>) = sync_channel(1);
        self.send(make(reply))?;
        answer.recv().map_err(|_| anyhow::Error::new(Stopped))
    }

    /// Reads the whole input; returns when the database thread has every batch.
    pub(crate) fn run(mut self) -> anyhow::Result<()> {
        let mut first = true;
        loop {
            let frame = match self.reader.next_frame() {
                Ok(Some(Frame::Data)) if !first => {
                    // Rows take the fast path (fastrow.rs); whatever it
                    // declines is decoded whole below and handled as ever.
                    let line = self.reader.line_number();
                    if line <= self.resume_line || self.fast_row(line)? {
                        self.send_if_full(line)?;
                        continue;
                    }
                    Ok(Some(Frame::Data))
                }
                other => other,
            };
            let decoded = match frame {
                Ok(Some(Frame::Data)) => match Record::decode(self.reader.raw_line()) {
                    Ok(r) => Ok(Some(r)),
                    Err(e) => Err(ReadError::Malformed { line: self.reader.line_number(), message: e.0 }),
                },
                Ok(Some(Frame::Record(r))) => Ok(Some(r)),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            let record = match decoded {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) if e.is_recoverable() => {
                    let line = e.line();
                    if line > self.resume_line {
                        let raw = self.reader.raw_line().to_vec();
                        self.early_reject(line, format!("line {line}"), raw, e.to_string(), None);
                    }
                    continue;
                }
                Err(e) => return Err(e).context("reading the input"),
            };
            let line = self.reader.line_number();
            if first {
                first = false;
                let fingerprint = blake3::hash(self.reader.raw_line()).to_hex().to_string();
                let shard = match &record {
                    Record::Header(h) => h.shard,
                    _ => None,
                };
                match self.ask(|reply| Msg::Start { fingerprint, shard, reply })? {
                    Some(resume) => {
                        self.resume_line = resume.line;
                        self.part_lines = resume.parts;
                        self.pinned = resume.pinned.into_iter().collect();
                    }
                    None => return Ok(()),
                }
            }
            match record {
                Record::Header(_) | Record::End(_) => {}
                Record::Schema(schema) => {
                    self.flush()?;
                    if let Some(rows) = schema.estimated_rows {
                        // The source's estimate, for the ETA only.
                        self.estimated_rows += rows;
                        self.progress.set_total(Some(self.estimated_rows));
                    }
                    let (t, plan) = self.ask(|reply| Msg::Schema { schema: Box::new(schema), line, reply })?;
                    self.install(t, plan);
                }
                Record::Row(row) if line > self.resume_line => self.on_row(row.table, row.data, line)?,
                Record::Delete(d) if line > self.resume_line => self.on_delete(d.target, line)?,
                Record::Redis(_) | Record::RedisFunction(_) | Record::Diff(_) if line > self.resume_line => {
                    let what = match record {
                        Record::Redis(_) => {
                            "a redis record cannot go into a SQL table (decant-transform turns keys into rows)"
                        }
                        Record::RedisFunction(_) => {
                            "a redis_function record (a Redis function library) cannot go into a SQL table"
                        }
                        _ => "a diff record cannot be imported (decant-diff --patch writes importable records)",
                    };
                    let raw = self.reader.raw_line().to_vec();
                    self.early_reject(line, format!("line {line}"), raw, what.to_owned(), None);
                }
                Record::Row(_) | Record::Delete(_) | Record::Redis(_) | Record::RedisFunction(_) | Record::Diff(_) => {}
            }
            self.send_if_full(line)?;
        }
        let last_line = self.reader.line_number();
        if first {
            return self.send(Msg::End { empty: true });
        }
        self.send_batch(Some(last_line))?;
        self.progress.finish();
        self.send(Msg::End { empty: false })
    }

    /// Hands the batch over once it is full (after input line `line`).
    fn send_if_full(&mut self, line: u64) -> anyhow::Result<()> {
        if self.batch.ops.len() as u64 >= self.opts.batch_rows || self.batch_bytes >= BATCH_BYTES {
            self.send_batch(Some(line))?;
        }
        Ok(())
    }

    /// The current line as a row through [`fastrow`]; false (nothing done)
    /// when it needs the full decoder and `on_row`.
    fn fast_row(&mut self, line: u64) -> anyhow::Result<bool> {
        if self.opts.dry_run {
            return Ok(false);
        }
        let cells_start = self.batch.cells.len();
        let bin_start = self.batch.bin.len();
        let raw = self.reader.raw_line();
        let binary = if self.bin_rows {
            pgrow::decode_row(
                raw,
                &self.plans,
                &mut self.plan_of,
                &self.bin_plans,
                &self.opts.enc,
                &mut self.cols,
                &mut self.cell_cols,
                &mut self.batch.cells,
                &mut self.batch.bin,
                &mut self.digits,
            )
        } else {
            None
        };
        let Some(t) = binary.or_else(|| {
            fastrow::decode_row(
                raw,
                &self.plans,
                &mut self.plan_of,
                &self.opts.enc,
                &mut self.cols,
                &mut self.batch.cells,
            )
        }) else {
            return Ok(false);
        };
        self.progress.inc(1);
        self.add_row(t, line, cells_start, bin_start)?;
        Ok(true)
    }

    fn install(&mut self, t: usize, plan: TablePlan) {
        if self.plans.len() <= t {
            self.plans.resize_with(t + 1, || None);
        }
        if self.route_key.len() <= t {
            self.route_key.resize_with(t + 1, Vec::new);
            self.exact_key.resize(t + 1, false);
        }
        // Rows are matched by `--key` where it names the table (modes other
        // than insert), else by the primary key: one key, one connection.
        let by_key = (self.opts.mode != Mode::Insert).then(|| self.opts.keys.get(&plan.name)).flatten();
        self.route_key[t] = match by_key {
            Some(names) => names.iter().map(|n| plan.index.get(n).copied()).collect::<Option<_>>().unwrap_or_default(),
            None => plan.pk.clone(),
        };
        let dialect = self.opts.enc.dialect;
        self.exact_key[t] = self.route_key[t].iter().all(|&i| exact_equality(dialect, &plan.columns[i]));
        if self.opts.jobs > 1 && self.opts.mode != Mode::Insert && !self.exact_key[t] && plan.order_free {
            cli::verbose(
                1,
                format_args!(
                    "table {}: the database compares its key by more than its bytes (a collation, a \
                     numeric or time value), so two spellings of one key could hash apart: its rows go \
                     through one connection",
                    plan.name
                ),
            );
        }
        if self.pk_watch.len() <= t {
            self.pk_watch.resize_with(t + 1, || None);
        }
        if plan.pk_after {
            // A second schema line of the table keeps the keys seen so far.
            self.pk_watch[t].get_or_insert_with(Vec::new);
        } else {
            self.pk_watch[t] = None;
        }
        if self.bin_rows {
            if self.bin_plans.len() <= t {
                self.bin_plans.resize_with(t + 1, || None);
            }
            // The cells the decoding thread reads: the route key's and the
            // primary key's (key_goes_up).
            let keys: Vec<usize> = self.route_key[t].iter().chain(&plan.pk).copied().collect();
            self.bin_plans[t] = Some(BinPlan::new(&plan, &keys));
        }
        self.plan_of.insert(plan.name.clone(), t);
        self.plans[t] = Some(plan);
    }

    /// The connection a row or delete of table `t` goes to: by a hash of
    /// its key (`key_cells`, in the order of the table's route key; `None`
    /// when it does not carry it whole), so the rows and deletes of one key
    /// keep their stream order on one connection. A table with enforced
    /// foreign keys goes through one connection: a child row could reach
    /// its connection before its parent commits on another.
    fn route(&self, t: usize, line: u64, key_cells: Option<&mut dyn Iterator<Item = &Cell>>) -> Route {
        let n = self.opts.jobs;
        let plan = self.plan(t);
        // (No table is pinned, as a rule: no hash of its name per row.)
        if n <= 1 || !plan.order_free || (!self.pinned.is_empty() && self.pinned.contains(&plan.name)) {
            return Route::Part(0);
        }
        if self.opts.mode != Mode::Insert && !self.exact_key[t] {
            return Route::Part(0);
        }
        match key_cells {
            Some(cells) if !self.route_key[t].is_empty() => Route::Part((key_hash(cells) % n as u64) as usize),
            // --mode insert: a row that does not carry the key meets no
            // other row, any connection will do (by its line: the same one
            // again on resume).
            _ if self.opts.mode == Mode::Insert => Route::Part((line % n as u64) as usize),
            // It is matched by a key the database side chooses (a unique
            // key): the table's rows go through one connection from here on.
            _ => Route::Pin,
        }
    }

    /// Sends everything before the current record and pins table `t` to
    /// the first connection; `pending`: the current record's cells, kept
    /// out of the batch that is sent and put back at the end of the next.
    fn pin(&mut self, t: usize, line: u64, pending: usize, pending_bin: usize) -> anyhow::Result<(usize, usize)> {
        let cells: Vec<Cell> = self.batch.cells.drain(pending..).collect();
        let bin: Vec<u8> = self.batch.bin.drain(pending_bin..).collect();
        self.flush()?;
        let table = self.plan(t).name.clone();
        self.pinned.insert(table.clone());
        self.send(Msg::Pin { table, line })?;
        let start = self.batch.cells.len();
        self.batch.cells.extend(cells);
        let bin_start = self.batch.bin.len();
        self.batch.bin.extend(bin);
        Ok((start, bin_start))
    }

    /// Whether connection `part` committed input line `line` before this run.
    fn committed_before(&self, part: usize, line: u64) -> bool {
        self.part_lines.get(part).is_some_and(|&l| line <= l)
    }

    /// The number of a table's plan, asking the database thread for tables
    /// without a schema line.
    fn plan_for(&mut self, table: &str, line: u64) -> anyhow::Result<usize> {
        if let Some(t) = self.plan_of.get(table) {
            return Ok(t);
        }
        self.flush()?;
        let name = table.to_owned();
        let (t, plan) = self.ask(|reply| Msg::Table { name, line, reply })?;
        self.install(t, plan);
        Ok(t)
    }

    fn plan(&self, t: usize) -> &TablePlan {
        self.plans[t].as_ref().expect("plan_for installs the plan it returns")
    }

    fn early_reject(&mut self, line: u64, what: String, raw: Vec<u8>, reason: String, table: Option<String>) {
        self.batch_bytes += raw.len() + what.len() + reason.len();
        self.batch.rejects.push(EarlyReject { line, what, raw, reason, table });
    }

    fn on_row(&mut self, table: String, data: RowData, line: u64) -> anyhow::Result<()> {
        let t = self.plan_for(&table, line)?;
        self.progress.inc(1);
        let plan = self.plans[t].as_ref().expect("installed by plan_for");
        let dry_run = self.opts.dry_run;
        let cells_start = self.batch.cells.len();
        let problem = encode_row(plan, data, &self.opts.enc, dry_run, &mut self.cols, &mut self.batch.cells).err();
        if let Some(p) = problem {
            self.batch.cells.truncate(cells_start);
            let raw = self.reader.raw_line().to_vec();
            // The row's values were moved into cells: read its key again.
            let data = match Record::decode(&raw) {
                Ok(Record::Row(r)) => r.data,
                _ => RowData::default(),
            };
            let what = format!("table {table}, key {}", key_text(plan, &data, line));
            self.early_reject(line, what, raw, p, Some(table));
            return Ok(());
        }
        if dry_run {
            self.batch.cells.truncate(cells_start);
            *self.batch.dry_rows.entry(t).or_default() += 1;
            return Ok(());
        }
        let bin_start = self.batch.bin.len();
        self.add_row(t, line, cells_start, bin_start)
    }

    /// Adds the row whose cells start at `cells_start` (its columns in
    /// `self.cols`; its binary COPY row, if any, from `bin_start` in the
    /// batch's `bin`, and then cells of its key columns only, those in
    /// `self.cell_cols`) to its table's run in the batch, on its connection.
    fn add_row(&mut self, t: usize, line: u64, mut cells_start: usize, mut bin_start: usize) -> anyhow::Result<()> {
        let binary = bin_start < self.batch.bin.len();
        if let Some(last) = self.pk_watch.get_mut(t).and_then(Option::as_mut) {
            let plan = self.plans[t].as_ref().expect("installed by plan_for");
            let row = &self.batch.cells[cells_start..];
            let cols = if binary { &self.cell_cols } else { &self.cols };
            if !key_goes_up(plan, cols, row, last, &mut self.key_scratch) {
                self.pk_watch[t] = None;
                self.batch.primary_keys_first.push(t);
            }
        }
        let route = if self.opts.jobs <= 1 {
            Route::Part(0)
        } else {
            let row = &self.batch.cells[cells_start..];
            // A binary row has the cells of its key columns (route key
            // and primary key) only: it carries the route key whole
            // exactly when those cells do.
            let cols = if binary { &self.cell_cols } else { &self.cols };
            let key = &self.route_key[t];
            if key.iter().all(|k| cols.contains(k)) {
                // Each key column's cell, in the key's order (rows usually
                // start with the key: the lookups are short).
                let mut cells = key.iter().map(|k| &row[cols.iter().position(|c| c == k).unwrap_or_default()]);
                self.route(t, line, Some(&mut cells))
            } else {
                self.route(t, line, None)
            }
        };
        let part = match route {
            Route::Part(p) => p,
            Route::Pin => {
                (cells_start, bin_start) = self.pin(t, line, cells_start, bin_start)?;
                0
            }
        };
        if self.committed_before(part, line) {
            // A resumed run: this row's connection committed it already.
            self.batch.cells.truncate(cells_start);
            self.batch.bin.truncate(bin_start);
            return Ok(());
        }
        let cells = cells_start..self.batch.cells.len();
        let bin = bin_start..self.batch.bin.len();
        // The batch's size as counted with a cell per column, as before a
        // binary row's cells were its key's only (the same batches).
        let counted = self.cols.len();
        self.push_op(line, cells, counted, bin);
        let op = self.batch.ops.len() - 1;
        // Interleaved tables (a transform's output in key order) would make
        // one short statement, savepoint and round trip per few rows (ten
        // times slower than the same rows sorted by table): a row joins its
        // table's latest run when that run has the same columns, even with
        // other tables' runs after it — when the order between tables cannot
        // matter: no enforced foreign key leaves or enters the table (or it
        // was created by this run: its foreign keys come after the data) and
        // the batch has no deletes. The rows of one table always keep their
        // stream order (upserts of one key twice).
        //
        // A table fed by several rules gets rows of several column sets
        // (usage_stats daily rows without stat_hour, hourly ones with it), so
        // with --mode insert a row joins the latest run of its table with
        // the same columns, even past runs of its table with others: no row
        // meets another there (a second row with the same key is refused
        // either way; which of the two lines is refused may then differ), and
        // no foreign key of the table, not even to itself, is enforced. In
        // the other modes the last row of a key wins, so a table's rows keep
        // their order.
        //
        // With --jobs, all of this holds per connection: each writes its own
        // runs in their order, and no key has rows on two connections.
        let regroup = self.plan(t).order_free && !self.batch.has_deletes;
        let any_columns = regroup && self.opts.mode == Mode::Insert;
        let cols = &self.cols;
        let same = |r: &Run| matches!(r, Run::Rows { table, cols: c, .. } if *table == t && c == cols);
        let of_table = |r: &Run| matches!(r, Run::Rows { table, .. } | Run::Delete { table, .. } if *table == t);
        if self.batch.runs.len() <= part {
            self.batch.runs.resize_with(part + 1, Vec::new);
        }
        let runs = &mut self.batch.runs[part];
        let found = match runs.last() {
            Some(r) if same(r) => Some(runs.len() - 1),
            _ if any_columns => runs.iter().rposition(same),
            _ if regroup => runs.iter().rposition(of_table).filter(|&k| same(&runs[k])),
            _ => None,
        };
        match found.map(|k| &mut runs[k]) {
            Some(Run::Rows { ops, .. }) => ops.push(op),
            _ => runs.push(Run::Rows { table: t, cols: self.cols.clone(), ops: vec![op], prepared: None }),
        }
        Ok(())
    }

    /// `counted`: the cells the batch's size counts for it.
    fn push_op(&mut self, line: u64, cells: Range<usize>, counted: usize, bin: Range<usize>) {
        let raw = self.reader.raw_line();
        let start = self.batch.raw.len();
        self.batch.raw.extend_from_slice(raw);
        self.batch_bytes += raw.len() + counted * 32 + bin.len();
        self.batch.ops.push(Op { line, raw: start..self.batch.raw.len(), cells, bin });
    }

    fn on_delete(&mut self, target: Target, line: u64) -> anyhow::Result<()> {
        let Target::Row { table, id } = target else {
            let raw = self.reader.raw_line().to_vec();
            let reason = "a delete of a redis key or function library cannot go into a SQL table".to_owned();
            self.early_reject(line, format!("line {line}"), raw, reason, None);
            return Ok(());
        };
        let t = self.plan_for(&table, line)?;
        let plan = self.plan(t);
        let what = format!("table {table}, delete {}", key_text(plan, &id, line));
        let refuse = |why: String| (what.clone(), why);
        let mut problem = None;
        let mut key = Vec::with_capacity(plan.pk.len());
        if !matches!(self.opts.mode, Mode::Upsert | Mode::Replace) {
            problem = Some(refuse("delete records need --mode upsert or --mode replace".into()));
        } else if plan.pk.is_empty() {
            problem = Some(refuse("the table has no primary key to delete by".into()));
        } else {
            for &i in &plan.pk {
                let col = &plan.columns[i];
                let Some(v) = id.get(&col.name) else {
                    problem = Some(refuse(format!("the delete has no value for primary-key column {:?}", col.name)));
                    break;
                };
                match encode(v, plan.src_of[i].as_ref(), col, &self.opts.enc) {
                    Ok(c) => key.push(c),
                    Err(e) => {
                        problem = Some(refuse(format!("column {:?}: {e}", col.name)));
                        break;
                    }
                }
            }
        }
        if let Some((what, why)) = problem {
            let raw = self.reader.raw_line().to_vec();
            self.early_reject(line, what, raw, why, Some(table));
            return Ok(());
        }
        if self.opts.dry_run {
            return Ok(());
        }
        // Deletes name the primary key: spread by it only where the rows are.
        let by_pk = self.route_key[t] == self.plan(t).pk;
        let mut cells = key.iter();
        let part = match self.route(t, line, by_pk.then_some(&mut cells as &mut dyn Iterator<Item = &Cell>)) {
            Route::Part(p) => p,
            Route::Pin => {
                let (at, bin_at) = (self.batch.cells.len(), self.batch.bin.len());
                self.pin(t, line, at, bin_at)?.0
            }
        };
        if self.committed_before(part, line) {
            return Ok(());
        }
        let start = self.batch.cells.len();
        self.batch.cells.extend(key);
        let bin = self.batch.bin.len()..self.batch.bin.len();
        let counted = self.batch.cells.len() - start;
        self.push_op(line, start..self.batch.cells.len(), counted, bin);
        let op = self.batch.ops.len() - 1;
        self.batch.runs_of(part).push(Run::Delete { table: t, op });
        self.batch.has_deletes = true;
        Ok(())
    }

    /// Hands over what is pending before a schema change: its rows are
    /// committed up to the last of them.
    fn flush(&mut self) -> anyhow::Result<()> {
        let line = self.batch.ops.last().map(|op| op.line);
        if line.is_some() || !self.batch.rejects.is_empty() || !self.batch.dry_rows.is_empty() {
            self.send_batch(line)?;
        }
        Ok(())
    }

    /// The cells of the rows of a run that went to binary COPY rows (their
    /// own cells are placeholders), converted again from their lines, for
    /// a run where other rows have only cells (e.g. a value binary COPY
    /// cannot take: the run then goes as text, as before); `None` for the
    /// rows that have their cells.
    fn cells_again(
        &self,
        t: usize,
        run_cols: &[usize],
        batch: &Batch,
        ops: &[usize],
    ) -> anyhow::Result<Vec<Option<Vec<Cell>>>> {
        let plan = self.plan(t);
        let mut cols = Vec::new();
        let mut out = Vec::with_capacity(ops.len());
        for &k in ops {
            let op = &batch.ops[k];
            if op.bin.is_empty() {
                out.push(None);
                continue;
            }
            let mut cells = Vec::new();
            let data = match Record::decode(batch.raw_line(op)) {
                Ok(Record::Row(r)) => r.data,
                _ => RowData::default(),
            };
            // It converted on the binary path, so it converts here.
            encode_row(plan, data, &self.opts.enc, false, &mut cols, &mut cells)
                .map_err(|e| anyhow::anyhow!("line {} no longer converts for table {}: {e}", op.line, plan.name))?;
            if cols != *run_cols {
                anyhow::bail!("internal error: line {} converts to other columns for table {}", op.line, plan.name);
            }
            out.push(Some(cells));
        }
        Ok(out)
    }

    /// Builds the batch's statements and hands it to the database thread
    /// (blocking while the previous batch is still waiting to be taken).
    fn send_batch(&mut self, commit_line: Option<u64>) -> anyhow::Result<()> {
        let mut batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        batch.commit_line = commit_line;
        let mut runs = std::mem::take(&mut batch.runs);
        let mut any_bin = false;
        for run in runs.iter_mut().flatten() {
            if let Run::Rows { table, cols, ops, prepared } = run {
                let bin = ops.iter().filter(|&&k| !batch.ops[k].bin.is_empty()).count();
                any_bin |= bin > 0;
                if bin > 0 && bin == ops.len() {
                    // Every row in its binary form already (pgrow).
                    let rows = ops.iter().map(|&k| &batch.bin[batch.ops[k].bin.clone()]);
                    let data = pg_binary::copy_binary_rows(rows);
                    *prepared = Some(Prepared::Copy(postgres::CopyData { binary: true, data }));
                    continue;
                }
                let again = if bin > 0 { self.cells_again(*table, cols, &batch, ops)? } else { Vec::new() };
                let rows: Vec<&[Cell]> = ops
                    .iter()
                    .enumerate()
                    .map(|(n, &k)| match again.get(n) {
                        Some(Some(cells)) => cells.as_slice(),
                        _ => batch.row(&batch.ops[k]),
                    })
                    .collect();
                // A statement that cannot be built (e.g. upsert without a
                // primary key) is built again, and refused, when written.
                *prepared = self.opts.preparer.prepare(self.plan(*table), cols, &rows, self.opts.mode).ok().flatten();
            }
        }
        let all_prepared = runs.iter().flatten().all(|r| matches!(r, Run::Rows { prepared: Some(_), .. }));
        // Binary rows come only with --mode insert into PostgreSQL, where
        // every run is prepared: their placeholder cells are never handed on.
        if any_bin && !all_prepared {
            anyhow::bail!("internal error: a batch with binary COPY rows has a run without its statement");
        }
        batch.runs = runs;
        let mut spare_cells = Vec::new();
        if all_prepared {
            // The statements hold the rows now; the database thread converts
            // a row again from its line in the rare case it needs it alone
            // (a batch refused): less memory per batch in flight. The
            // strings are freed here, by the thread that allocated them.
            spare_cells = std::mem::take(&mut batch.cells);
            spare_cells.clear();
            batch.cells_dropped = true;
        }
        if let Ok(mut used) = self.recycled.try_recv() {
            // Its buffers, emptied here: the cells' strings are freed by the
            // thread that allocated them.
            used.ops.clear();
            used.cells.clear();
            used.bin.clear();
            used.raw.clear();
            used.commit_line = None;
            used.cells_dropped = false;
            used.has_deletes = false;
            self.batch = used;
        }
        if spare_cells.capacity() > self.batch.cells.capacity() {
            self.batch.cells = spare_cells;
        }
        self.send(Msg::Batch(batch))
    }
}

/// Converts a row for its table: appends the column numbers to `cols` and
/// the cells to `cells`. With `dry_run`, also checks what the database would
/// (lengths, NULLs, missing NOT NULL columns).
/// Whether the row's primary key (`plan.pk`, integers or integer digits)
/// is above `last`, the highest before it (then `last` becomes it). Keys
/// that keep going up are all different, so a table whose primary key
/// comes after the data cannot get two rows with one key while this
/// holds. `false` for a key that does not go up, or that is not made of
/// integers (text, NULL, an omitted column): no proof, the key is needed.
fn key_goes_up(plan: &TablePlan, cols: &[usize], row: &[Cell], last: &mut Vec<i128>, key: &mut Vec<i128>) -> bool {
    key.clear();
    for &k in &plan.pk {
        let Some(pos) = cols.iter().position(|&c| c == k) else { return false };
        let v = match (&plan.columns[k].kind, &row[pos]) {
            (Kind::Int { .. } | Kind::Decimal { .. }, Cell::Int(i)) => *i,
            // numeric(20,0) (unsigned 64-bit keys) holds digits.
            (Kind::Int { .. } | Kind::Decimal { .. }, Cell::Text(s)) if s.len() <= 38 && !s.contains('.') => {
                match s.parse::<i128>() {
                    Ok(v) => v,
                    Err(_) => return false,
                }
            }
            _ => return false,
        };
        key.push(v);
    }
    if key.is_empty() || key.as_slice() <= last.as_slice() {
        return false;
    }
    std::mem::swap(last, key);
    true
}

pub(crate) fn encode_row(
    plan: &TablePlan,
    data: RowData,
    enc: &EncodeOptions,
    dry_run: bool,
    cols: &mut Vec<usize>,
    cells: &mut Vec<Cell>,
) -> Result<(), String> {
    cols.clear();
    for (k, (name, value)) in data.0.into_iter().enumerate() {
        // Rows usually carry the columns in the table's order: compare
        // before hashing.
        let i = match plan.columns.get(k) {
            Some(c) if c.name == name => k,
            _ => match plan.index.get(&name) {
                Some(&i) => i,
                None => return Err(format!("column {name:?}: no such column in the target table")),
            },
        };
        let col = &plan.columns[i];
        let cell =
            encode_owned(value, plan.src_of[i].as_ref(), col, enc).map_err(|e| format!("column {name:?}: {e}"))?;
        if dry_run {
            validate(&cell, col, enc.dialect).map_err(|e| format!("column {name:?}: {e}"))?;
        }
        cols.push(i);
        cells.push(cell);
    }
    if dry_run {
        // Missing NOT NULL columns without a default would fail too.
        for (i, c) in plan.columns.iter().enumerate() {
            if !c.nullable
                && !c.identity
                && !cols.contains(&i)
                && plan.src_of[i].as_ref().is_some_and(|s| s.default.is_none() && s.default_expr.is_none())
            {
                return Err(format!("column {:?}: missing, and it is NOT NULL", c.name));
            }
        }
    }
    Ok(())
}

/// `col=value, …` of a row's primary key (its line without one), for messages.
pub(crate) fn key_text(plan: &TablePlan, data: &RowData, line: u64) -> String {
    // Rows without the primary key (an AUTO_INCREMENT id the database
    // fills) are named by their line, not by `id=?`.
    if plan.pk.is_empty() || plan.pk.iter().any(|&i| data.get(&plan.columns[i].name).is_none()) {
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

/// Whether two values of `col` are the same key exactly when their cells
/// are equal: integers and bytes; text in PostgreSQL (`text`, `varchar`:
/// deterministic collations compare bytes), not in MySQL, whose
/// collations fold case, accents and trailing spaces, nor CHAR(n); not a
/// decimal, time or uuid written as text, which has several spellings.
fn exact_equality(dialect: super::typemap::Dialect, col: &super::typemap::TargetColumn) -> bool {
    use super::typemap::{Dialect, Kind};
    match col.kind {
        Kind::Int { .. } | Kind::Bytes { .. } => true,
        Kind::Text { .. } => {
            dialect == Dialect::Postgres && (col.sql_type == "text" || col.sql_type.starts_with("character varying"))
        }
        _ => false,
    }
}

/// A hash of a key's cells that is the same in every run (resumed runs
/// route the rows again): FNV-1a over each cell's kind and bytes, then a
/// finaliser so that the low bits (`% jobs`) are well mixed.
pub(crate) fn key_hash<'a>(cells: impl Iterator<Item = &'a Cell>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for cell in cells {
        match cell {
            Cell::Null => eat(&[0]),
            Cell::Bool(b) => eat(&[1, u8::from(*b)]),
            Cell::Int(i) => {
                eat(&[2]);
                eat(&i.to_le_bytes());
            }
            Cell::Float(f) => {
                eat(&[3]);
                eat(&f.to_bits().to_le_bytes());
            }
            Cell::Text(s) => {
                eat(&[4]);
                eat(&(s.len() as u64).to_le_bytes());
                eat(s.as_bytes());
            }
            Cell::Bytes(b) => {
                eat(&[5]);
                eat(&(b.len() as u64).to_le_bytes());
                eat(b);
            }
        }
    }
    // splitmix64's finaliser.
    let mut z = h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
