//! SQL exporters: `mysql-export`, `pg-export`, `sqlite-export` over one
//! dialect-aware core.
//!
//! Each exporter writes a decant stream (docs/format.md): a `header`, then for
//! every table, in foreign-key dependency order (referenced tables first), a
//! `schema` line and the table's `row` lines, then the `end` trailer.
//!
//! ## How rows are read
//!
//! - One consistent snapshot for the whole export: MySQL/MariaDB
//!   `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` at REPEATABLE
//!   READ; PostgreSQL `REPEATABLE READ READ ONLY`; SQLite one read
//!   transaction.
//! - With `--jobs N`, N connections read in parallel. PostgreSQL workers share
//!   the snapshot exactly (`pg_export_snapshot` / `SET TRANSACTION SNAPSHOT`,
//!   as `pg_dump -j` does). MySQL has no snapshot sharing: the workers start
//!   their snapshots while a `FLUSH TABLES WITH READ LOCK` holds writes still
//!   (as mydumper does), so they see the same data; without the RELOAD
//!   privilege that lock is refused, and the exporter says so and goes on
//!   with snapshots started back to back (each consistent, not necessarily
//!   identical). SQLite cannot share a snapshot between connections, so
//!   `sqlite-export` reads with one connection whatever `--jobs` says.
//! - A table whose primary key is one integer column is split into
//!   primary-key ranges (`pk >= a AND pk < b`, about `--chunk-rows` rows
//!   each) that the workers read in parallel; other tables are read whole by
//!   one worker. Each range (or table) is one streaming query ordered by the
//!   primary key: rows are encoded as they arrive, never buffered per table,
//!   and no `OFFSET` is ever used.
//! - With `--shard I/N` each table is cut into N shares computed the same way
//!   by every shard (`TablePlan::share_queries`), on the first primary-key
//!   column, from its MIN and MAX (two index lookups): an integer column into
//!   N even ranges between them; a text column at N-1 values interpolated
//!   between them (`split`: the common prefix kept, the next characters read
//!   as digits ranked by the server in the column's collation), which the
//!   server then sorts in that collation, every literal carrying it
//!   explicitly, so `k < b1`, `b_i <= k < b_i+1`, `k >= b_N-1` are disjoint
//!   and covering in any collation and each share is an index range scan.
//!   A key whose first column is of another type (a date, a decimal, bytes)
//!   is cut at the keys the server finds at row offsets `COUNT*k/N`, in a
//!   subquery (one COUNT and an index walk per share). All need every shard
//!   to see the same data (a quiet source or a replica). A table without a
//!   primary key goes whole to shard 0. `--jobs` then splits a share of a
//!   one-column integer key into ranges as above.
//! - Values are read in each server's text protocol (MySQL COM_QUERY,
//!   PostgreSQL simple query), which prints every type exactly — DECIMAL
//!   digits, DATETIME(6) fractions, unsigned BIGINT, shortest round-trip
//!   DOUBLE — so no decimal or date library stands between the server and
//!   the stream. MySQL FLOAT is the exception (MariaDB prints 6 digits), so
//!   it is read as `col * 1e0`, the exact double of the stored float.
//!
//! ## Values (docs/format.md §2)
//!
//! | source | logical type | value |
//! |---|---|---|
//! | integers, YEAR | `int*` / `uint*` / `year` | number, `{"$int":"…"}` beyond ±2^53 |
//! | MySQL TINYINT(1), PG boolean | `bool` | `true`/`false` (a TINYINT(1) holding another number stays that number) |
//! | DECIMAL / NUMERIC | `decimal` | string of the digits as stored (`"NaN"` as PG prints it) |
//! | DOUBLE / float8 | `float64` | shortest round-trip number, `{"$float":"nan"}` etc. |
//! | FLOAT / float4 | `float32` | the f32 value written as an f64 |
//! | CHAR/VARCHAR/TEXT | `string` / `text` | string (the connection is utf8mb4 / UTF8) |
//! | BINARY/VARBINARY/BLOB, bytea | `bytes` | `{"$b64":…}` |
//! | DATE | `date` | `"2025-01-01"` |
//! | TIME | `time` | as printed (`"-838:59:59.000000"`, PG `timetz` keeps its offset) |
//! | MySQL DATETIME, PG timestamp | `datetime` | naive, untouched: `"2025-01-01T09:30:00.123456"` |
//! | MySQL TIMESTAMP, PG timestamptz | `timestamp` | the instant in UTC: `"2025-01-01T07:30:00.123456Z"` |
//! | MySQL zero dates (`0000-00-00`, `2025-00-00`) | `date`/`datetime`/`timestamp` | `{"$zero_date":"0000-00-00 00:00:00"}` as printed |
//! | PG interval | `interval` | ISO 8601 (`IntervalStyle iso_8601`): `"P1Y2M3DT4H5M6S"` |
//! | JSON, jsonb | `json` | the document, nested |
//! | ENUM / SET, PG enum types | `enum` / `set` | string |
//! | BIT(n) | `bit` | number |
//! | uuid (PG, MariaDB UUID) | `uuid` | string |
//! | PG arrays | `array` (`element`) | JSON array of the element values |
//! | anything else (inet, money, geometry, …) | `text` or `bytes` | as the server prints it, `source_type` says what it was |
//!
//! Zones: the session time zone is set to UTC (`time_zone='+00:00'`,
//! `TimeZone=UTC`), so zoned values (MySQL TIMESTAMP, PG timestamptz) come out
//! as UTC instants with `Z` whatever the server's or client's zone, and naive
//! values (MySQL DATETIME, PG timestamp) come out exactly as stored, never
//! shifted.
//!
//! SQLite values are written by their storage class (INTEGER number, REAL
//! float, TEXT string, BLOB bytes), with the declared type's affinity as the
//! logical type; `INTEGER PRIMARY KEY` is an auto-increment `int64`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use anyhow::{bail, Context as _};
use decant_record::cli::{self, Outcome, OutputArgs, Progress, ReportArgs, SourceArgs, Summary};
use decant_record::conn::{ConnUrl, Role, Store};
use decant_record::store::SqlDialect;
use decant_record::{Column, Header, Record, RecordWriter, SchemaObject, Shard, TableSchema, Value};
use futures_util::future::{BoxFuture, LocalBoxFuture};
use tokio::sync::{mpsc, Mutex};

mod jsoncol;
pub mod mysql;
pub mod postgres;
pub mod since;
pub(crate) mod split;
pub mod sqlite;

/// Rows per primary-key range when `--jobs` splits a table.
pub const DEFAULT_CHUNK_ROWS: u64 = 100_000;

/// Encoded rows are handed to the writer in batches of about this many bytes.
const BATCH_BYTES: usize = 256 << 10;

/// Batches in flight between the readers and the writer (bounds memory).
const CHANNEL_BATCHES: usize = 16;

/// The flags every SQL exporter takes.
#[derive(Debug, Clone, clap::Args)]
pub struct SqlExportArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputArgs,
    /// Export only these tables (comma-separated or repeated; `*` and `?` are
    /// wildcards). A name without wildcards that matches no table is an error.
    #[arg(long, value_name = "TABLES", value_delimiter = ',')]
    pub tables: Vec<String>,
    /// A name in --tables that matches no table is skipped with a warning
    /// instead of an error (decant-verify passes it to both sides, so that a
    /// table on one side only is reported as a difference).
    #[arg(long)]
    pub skip_missing_tables: bool,
    /// Leave these tables out (comma-separated or repeated; wildcards allowed).
    #[arg(long, value_name = "TABLES", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Export only the rows of TABLE for which CONDITION (SQL in the source's
    /// dialect) is true, e.g. `--where "orders:created_at >= '2025-01-01'"`.
    /// Repeatable, once per table.
    #[arg(long = "where", value_name = "TABLE:CONDITION")]
    pub wheres: Vec<String>,
    /// Read with N connections in parallel, splitting tables with an integer
    /// primary key into ranges (all in one snapshot where the server allows).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Rows per primary-key range when --jobs splits a table.
    #[arg(long, value_name = "ROWS", default_value_t = DEFAULT_CHUNK_ROWS)]
    pub chunk_rows: u64,
    /// Write the source DDL of the schema objects the stream does not carry
    /// (views, triggers, routines, events, rules, special indexes) to FILE, for you to adapt and run on the target, e.g.
    /// `--objects-file objects.sql`. They are named in a warning and in the
    /// summary either way.
    #[arg(long, value_name = "FILE")]
    pub objects_file: Option<PathBuf>,
    /// Export only share I of N (numbered from 0) of every table's rows, so N
    /// processes (pods, GNU parallel jobs) export the database together, each
    /// row exactly once. Tables are cut on the first primary-key column from
    /// its MIN and MAX (index lookups, no row count): an integer column into
    /// N even ranges, a text column at N-1 values interpolated between them
    /// and ordered by the server in the column's collation (even for
    /// hash-like or numbered keys such as md5 or "user:000123"; keys bunched
    /// under a few prefixes, or a first column with few distinct values,
    /// give uneven shares, as the rows of one first-column value stay in one
    /// share); a key of another type at the keys found at row offsets
    /// COUNT*k/N. Every shard computes the same boundaries from the same
    /// data, so the source must not change while the shards run (export
    /// from a replica or a stopped writer). A table without a primary key
    /// cannot be split: shard 0 exports it whole, the others only its schema.
    /// Every shard writes every schema line. E.g. `--shard 2/7`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Export only the rows whose COLUMN (an update timestamp, or a
    /// monotonic id) is at or past the watermark of the last successful run
    /// in --state, less --since-overlap; the new watermark (the largest
    /// value read, per table) is stored only when the export succeeds. A
    /// table without COLUMN is exported whole. With --mode upsert on the
    /// importer this is the catch-up ("final data") sync.
    #[arg(long, value_name = "COLUMN", requires = "state")]
    pub since: Option<String>,
    /// The --since watermark file (JSON, one watermark per table; missing
    /// on the first run, which exports everything).
    #[arg(long, value_name = "FILE", requires = "since")]
    pub state: Option<PathBuf>,
    /// Write the new watermarks here instead of back to --state, for a
    /// pipeline that moves them only when every stage succeeded: `set -o
    /// pipefail; mysql-export --since updated_at --state s.json --state-out
    /// s.next.json | pg-import … --mode upsert && mv s.next.json s.json`
    /// (the exporter cannot know whether the importer succeeded).
    #[arg(long, value_name = "FILE", requires = "since")]
    pub state_out: Option<PathBuf>,
    /// Re-read this much before a date-time watermark: covers transactions
    /// in flight at the last run (an updated_at is set before the commit)
    /// and clock skew between the writers.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = decant_record::time::parse_duration)]
    pub since_overlap: std::time::Duration,
    /// Write the schema lines only, no rows (no table is read): creates the
    /// target's tables once (`| pg-import --create-tables`) before the shares
    /// of a sharded copy import concurrently into them.
    #[arg(long)]
    pub schema_only: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub report: ReportArgs,
}

/// What to export, resolved from the flags.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The source.
    pub url: ConnUrl,
    /// Include patterns (empty: all tables).
    pub tables: Vec<String>,
    /// `--skip-missing-tables`: a literal name in `tables` that matches no
    /// table is a warning, not an error.
    pub skip_missing_tables: bool,
    /// Exclude patterns.
    pub exclude: Vec<String>,
    /// Row filters by table.
    pub wheres: BTreeMap<String, String>,
    /// Parallel connections.
    pub jobs: usize,
    /// Rows per primary-key range.
    pub chunk_rows: u64,
    /// PostgreSQL schema (default: `current_schema()`).
    pub pg_schema: Option<String>,
    /// The share of every table to export (`0/1`: all of it).
    pub shard: Shard,
    /// `--since`: only rows changed since the last successful run.
    pub since: Option<since::Since>,
    /// Schema lines only, no rows.
    pub schema_only: bool,
}

impl ExportOptions {
    /// Resolves the flags (URL from `--url` or `$SOURCE_URL`).
    pub fn from_args(args: &SqlExportArgs, store: Store) -> anyhow::Result<ExportOptions> {
        let url = ConnUrl::resolve_for(
            args.source.url.as_deref(),
            args.source.password_file.as_deref(),
            Role::Source,
            store,
        )?;
        if url.store() != store {
            bail!("{} is not a {} URL (expected {})", url, store.name(), store.info().url_example);
        }
        let mut wheres = BTreeMap::new();
        for w in &args.wheres {
            let Some((table, cond)) = w.split_once(':') else {
                bail!("bad --where {w:?}: expected TABLE:CONDITION");
            };
            let (table, cond) = (table.trim(), cond.trim());
            if table.is_empty() || cond.is_empty() {
                bail!("bad --where {w:?}: expected TABLE:CONDITION");
            }
            if wheres.insert(table.to_owned(), cond.to_owned()).is_some() {
                bail!("--where given twice for table {table:?}: combine the conditions with AND");
            }
        }
        if args.jobs == 0 {
            bail!("--jobs must be at least 1");
        }
        if args.chunk_rows == 0 {
            bail!("--chunk-rows must be at least 1");
        }
        Ok(ExportOptions {
            url,
            tables: args.tables.iter().filter(|t| !t.is_empty()).cloned().collect(),
            skip_missing_tables: args.skip_missing_tables,
            exclude: args.exclude.iter().filter(|t| !t.is_empty()).cloned().collect(),
            wheres,
            jobs: args.jobs,
            chunk_rows: args.chunk_rows,
            pg_schema: None,
            shard: args.shard.unwrap_or_else(Shard::whole),
            since: match (&args.since, &args.state) {
                (Some(column), Some(state)) => Some(since::Since {
                    column: column.clone(),
                    state: since::SinceState::load(state, column)?,
                    out: args.state_out.clone().unwrap_or_else(|| state.clone()),
                    overlap: args.since_overlap,
                }),
                _ => None,
            },
            schema_only: args.schema_only,
        })
    }

    /// The row filter of a table: its `--where`, and the `--since` condition.
    pub(crate) fn filter(&self, schema: &TableSchema, store: Store) -> Option<String> {
        let user = self.wheres.get(&schema.table).cloned();
        let since = self.since.as_ref().and_then(|s| s.condition(schema, store));
        match (user, since) {
            (Some(u), Some(s)) => Some(format!("({u}) AND {s}")),
            (u, s) => u.or(s),
        }
    }
}

/// Runs one exporter end to end: connects, writes the stream to the output,
/// prints the summary. The body of the three binaries.
pub fn run(
    tool: &'static str,
    store: Store,
    args: &SqlExportArgs,
    pg_schema: Option<String>,
) -> anyhow::Result<Outcome> {
    let mut opts = ExportOptions::from_args(args, store)?;
    opts.pg_schema = pg_schema;
    let output = args.output.create()?;
    let header = Header::new(&format!("{tool} {}", env!("CARGO_PKG_VERSION")), Some(opts.url.redacted()))
        .with_shard(Some(opts.shard));
    let (tx, rx) = mpsc::channel::<Msg>(CHANNEL_BATCHES);
    let report = args.report.clone();
    let since_column = opts.since.as_ref().map(|s| s.column.clone());
    let since = opts.since.clone();
    let writer = thread::Builder::new()
        .name("writer".into())
        .spawn(move || write_stream(output, header, rx, &report, since_column.as_deref()))
        .context("starting the writer thread")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.jobs.clamp(1, 8))
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let sink = Sink { tx };
    let produced = runtime.block_on(async move {
        let result = match store.sql() {
            Some(SqlDialect::MySql) => mysql::export(&opts, &sink).await,
            Some(SqlDialect::Postgres) => postgres::export(&opts, &sink).await,
            Some(SqlDialect::Sqlite) => sqlite::export(&opts, &sink).await,
            None => Err(anyhow::anyhow!("{} is not a SQL store", store.name())),
        };
        if result.is_ok() {
            // The writer seals the stream only when told the export is complete.
            let _ = sink.tx.send(Msg::Done).await;
        }
        result
    });
    runtime.shutdown_background();
    let written = writer.join().map_err(|_| anyhow::anyhow!("the writer thread panicked"))?;
    // A writer error (a closed pipe, a full disk) is the cause of any reader
    // error that followed it, so it is reported first.
    let (mut summary, objects, marks) = written?;
    produced?;
    if let Some(since) = since {
        // Only now: the export succeeded and its stream is sealed.
        let mut state = since.state.clone();
        for (table, mark) in marks {
            state.raise(&table, mark);
        }
        state.save(&since.out)?;
    }
    for line in not_carried_lines(&objects) {
        summary.note(line);
    }
    if let Some(path) = &args.objects_file {
        write_objects_file(path, tool, store, &objects)?;
    }
    summary.print(&args.report);
    Ok(Outcome::Success)
}

/// One line per kind of object not carried: `not carried: 2 views (a, b)`.
pub fn not_carried_lines(objects: &[SchemaObject]) -> Vec<String> {
    let mut by_kind: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for o in objects {
        by_kind.entry(&o.kind).or_default().push(&o.name);
    }
    by_kind
        .into_iter()
        .map(|(kind, names)| format!("not carried: {} {kind}(s): {}", names.len(), names.join(", ")))
        .collect()
}

/// Writes the objects' source DDL as an SQL script for the user to adapt.
/// MySQL bodies hold `;`, so that script uses `DELIMITER ;;` as mysqldump does.
fn write_objects_file(
    path: &std::path::Path,
    tool: &str,
    store: Store,
    objects: &[SchemaObject],
) -> anyhow::Result<()> {
    let mysql = store == Store::MySql;
    let end = if mysql { ";;" } else { ";" };
    let mut out = format!(
        "-- Schema objects {tool} did not carry, as the source defines them ({} object(s)).\n\
         -- Adapt them to the target (names, dialect, the tables they use) and run them there.\n\n",
        objects.len()
    );
    if mysql {
        out.push_str("DELIMITER ;;\n\n");
    }
    for o in objects {
        out.push_str(&format!("-- {} {}\n{}\n{end}\n\n", o.kind, o.name, o.ddl.trim_end().trim_end_matches(';')));
    }
    if mysql {
        out.push_str("DELIMITER ;\n");
    }
    std::fs::write(path, out).with_context(|| format!("writing --objects-file {}", path.display()))
}

/// What the readers send the writer.
#[derive(Debug)]
pub(crate) enum Msg {
    /// A table's schema line, before its rows.
    Schema(Box<TableSchema>),
    /// Encoded `row` lines (each ending in `\n`) of one table.
    Rows {
        /// The table.
        table: Arc<str>,
        /// The lines.
        buf: Vec<u8>,
        /// How many.
        rows: u64,
    },
    /// The schema objects the stream does not carry (once, before the tables).
    Objects(Vec<SchemaObject>),
    /// Everything was read: seal the stream.
    Done,
}

/// The readers' end of the channel to the writer.
#[derive(Debug, Clone)]
pub(crate) struct Sink {
    tx: mpsc::Sender<Msg>,
}

impl Sink {
    pub(crate) async fn send(&self, msg: Msg) -> anyhow::Result<()> {
        self.tx.send(msg).await.map_err(|_| anyhow::anyhow!("the output was closed"))
    }
}

fn write_stream(
    output: decant_record::io::Output,
    header: Header,
    mut rx: mpsc::Receiver<Msg>,
    report: &ReportArgs,
    since_column: Option<&str>,
) -> anyhow::Result<(Summary, Vec<SchemaObject>, BTreeMap<String, serde_json::Value>)> {
    let mut objects = Vec::new();
    // --since: the largest value of the column per table, from the rows written.
    let mut marks: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut writer = RecordWriter::new(output);
    let mut summary = Summary::new().with_shard(header.shard);
    let mut progress = Progress::new(report, "rows", None);
    let mut total_estimate = 0u64;
    writer.write_header(&header).context("writing the output")?;
    let mut done = false;
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Schema(schema) => {
                if let Some(n) = schema.estimated_rows {
                    total_estimate += n;
                    progress.set_total(Some(total_estimate.max(progress.count())));
                }
                summary.group(&schema.table);
                writer.write(&Record::Schema(*schema)).context("writing the output")?;
            }
            Msg::Rows { table, buf, rows } => {
                // The encoder wrote `rows` rows, each `{…}}` and its newline;
                // with as many newlines in all (JSON escapes those inside
                // values), each row holds only its own, so the buffer is
                // `rows` whole non-empty lines: one copy, instead of a
                // byte-by-byte split and a copy per line.
                let whole = since_column.is_none()
                    && buf.first() == Some(&b'{')
                    && buf.last() == Some(&b'\n')
                    && count_newlines(&buf) == rows;
                if whole {
                    writer.write_raw_lines(&buf, rows).context("writing the output")?;
                    summary.group(&table).written += rows;
                    progress.inc(rows);
                    continue;
                }
                for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    writer.write_raw(line).context("writing the output")?;
                    if let Some(column) = since_column {
                        let row: serde_json::Value = serde_json::from_slice(line).context("reading back a row")?;
                        let v = &row["data"][column];
                        if !v.is_null() && marks.get(table.as_ref()).is_none_or(|m| since::later(v, m)) {
                            marks.insert(table.to_string(), v.clone());
                        }
                    }
                }
                summary.group(&table).written += rows;
                progress.inc(rows);
            }
            Msg::Objects(list) => {
                for line in not_carried_lines(&list) {
                    cli::warn(format_args!("{line} (--objects-file FILE writes their DDL)"));
                }
                objects.extend(list);
            }
            Msg::Done => {
                done = true;
                break;
            }
        }
    }
    progress.finish();
    if !done {
        // The export failed: keep what was written, unsealed (a file output
        // is removed when `Output` drops unfinished).
        let _ = writer.abandon();
        return Ok((summary, objects, BTreeMap::new()));
    }
    let mut out = writer.finish().context("writing the output")?;
    out.flush().context("writing the output")?;
    out.finish().context("writing the output")?;
    Ok((summary, objects, marks))
}

/// How many `\n` bytes `buf` holds, found with memchr's vector search (a
/// byte filter's count, which the compiler widens byte by byte, was 12% of
/// mysql-export's samples on reline's 311 MB; this is ~7x faster).
fn count_newlines(buf: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', buf).count() as u64
}

// ---------------------------------------------------------------------------
// Table selection and order

/// `*` and `?` wildcard match (linear, in the record crate).
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    decant_record::wildcard::matches(pattern, name)
}

/// The tables to export from `all` (sorted by name), after `--tables`,
/// `--exclude` and a check of `--where`.
pub(crate) fn select_tables(all: &[String], opts: &ExportOptions, place: &str) -> anyhow::Result<Vec<String>> {
    for pattern in &opts.tables {
        if !pattern.contains(['*', '?']) && !all.iter().any(|t| t == pattern) {
            if !opts.skip_missing_tables {
                bail!("--tables: no table named {pattern:?} in {place}");
            }
            cli::warn(format_args!("--tables: no table named {pattern:?} in {place}: skipped (--skip-missing-tables)"));
        }
    }
    let chosen: Vec<String> = all
        .iter()
        .filter(|t| opts.tables.is_empty() || opts.tables.iter().any(|p| glob_match(p, t)))
        .filter(|t| !opts.exclude.iter().any(|p| glob_match(p, t)))
        .cloned()
        .collect();
    for table in opts.wheres.keys() {
        // A --where on a table skipped as missing has nothing to filter.
        let skipped = opts.skip_missing_tables && !all.iter().any(|t| t == table);
        if !chosen.iter().any(|t| t == table) && !skipped {
            bail!("--where: table {table:?} is not exported (no such table in {place}, or excluded)");
        }
    }
    Ok(chosen)
}

/// Orders tables so that every table comes after the tables its foreign keys
/// reference (self-references and references to tables not exported are
/// ignored); ties keep name order. A cycle is broken with a warning.
pub(crate) fn dependency_order(mut schemas: Vec<TableSchema>) -> Vec<TableSchema> {
    schemas.sort_by(|a, b| a.table.cmp(&b.table));
    let names: HashSet<String> = schemas.iter().map(|s| s.table.clone()).collect();
    let mut deps: HashMap<String, HashSet<String>> = HashMap::new();
    for s in &schemas {
        let d = s
            .foreign_keys
            .iter()
            .map(|fk| fk.ref_table.clone())
            .filter(|t| *t != s.table && names.contains(t))
            .collect();
        deps.insert(s.table.clone(), d);
    }
    let mut done: HashSet<String> = HashSet::new();
    let mut remaining: VecDeque<TableSchema> = schemas.into();
    let mut out = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let ready = remaining.iter().position(|s| deps[&s.table].iter().all(|d| done.contains(d)));
        let s = match ready {
            Some(i) => remaining.remove(i).expect("index from position"),
            None => {
                // Stuck: some remaining tables form a cycle. Break it at its
                // first table (in name order), and name only the tables of
                // that cycle, not the tables that merely wait for it.
                let waiting: HashSet<&str> = remaining.iter().map(|s| s.table.as_str()).collect();
                let (i, cycle) = remaining
                    .iter()
                    .enumerate()
                    .find_map(|(i, s)| cycle_through(&s.table, &deps, &waiting).map(|c| (i, c)))
                    .unwrap_or_else(|| (0, vec![remaining[0].table.clone()]));
                let s = remaining.remove(i).expect("index from enumerate");
                cli::warn(format_args!(
                    "foreign keys form a cycle between tables {}: {:?} is exported before the tables it references \
                     (import with foreign key checks off, or create the keys after the data)",
                    cycle.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", "),
                    s.table
                ));
                s
            }
        };
        done.insert(s.table.clone());
        out.push(s);
    }
    out
}

/// The tables of the foreign-key cycle through `start` (among `waiting`),
/// sorted, or `None` when `start` is on no cycle: the tables reachable from
/// `start` that can reach it again.
fn cycle_through(start: &str, deps: &HashMap<String, HashSet<String>>, waiting: &HashSet<&str>) -> Option<Vec<String>> {
    let reach = |from: &str| -> HashSet<String> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(t) = stack.pop() {
            for d in deps.get(&t).into_iter().flatten() {
                if waiting.contains(d.as_str()) && seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    };
    let from_start = reach(start);
    if !from_start.contains(start) {
        return None;
    }
    let mut cycle: Vec<String> = from_start.into_iter().filter(|t| reach(t).contains(start)).collect();
    cycle.sort();
    Some(cycle)
}

// ---------------------------------------------------------------------------
// Reading: plans, chunks, workers

/// How the text of one column value becomes a decant value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// Decimal integer text.
    Int,
    /// MySQL TINYINT(1): `0`/`1` as booleans, any other number kept as a number.
    TinyBool,
    /// PostgreSQL boolean: `t`/`f`.
    PgBool,
    /// Float text (`NaN`, `Infinity` allowed).
    Float64,
    /// A float4: parsed as f32, written as that value's f64.
    Float32,
    /// Exact digits, as a string.
    Decimal,
    /// Text (verbatim string): strings, enums, sets, uuids, times, intervals;
    /// bytes when not valid UTF-8.
    Text,
    /// Raw bytes (MySQL binary strings).
    Bytes,
    /// PostgreSQL bytea in hex output (`\x…`).
    PgBytea,
    /// MySQL DATE/DATETIME: `T` separator, zero dates tagged.
    MyDatetime,
    /// MySQL TIMESTAMP read in UTC: as `MyDatetime` plus `Z`.
    MyTimestamp,
    /// PostgreSQL timestamp: `T` separator.
    PgDatetime,
    /// PostgreSQL timestamptz read in UTC: `T` separator, `Z`.
    PgTimestamptz,
    /// A JSON document.
    Json,
    /// MySQL BIT: big-endian bytes as an integer.
    MyBit,
    /// PostgreSQL bit(n): `0`/`1` text as an integer.
    PgBit,
    /// A PostgreSQL array of the element kind.
    PgArray(Box<Kind>),
}

/// Column `i` of a metadata row read as text (`""` for NULL or absent).
pub(crate) fn get(row: &[Option<String>], i: usize) -> &str {
    row.get(i).and_then(|v| v.as_deref()).unwrap_or("")
}

/// The `(MIN, MAX)` read by [`TablePlan::min_max_query`], when both parse.
pub(crate) fn parse_min_max(rows: &[Vec<Option<String>>]) -> Option<(i128, i128)> {
    rows.first().and_then(|r| Some((get(r, 0).parse().ok()?, get(r, 1).parse().ok()?)))
}

/// One table as the readers see it.
#[derive(Debug)]
pub(crate) struct TablePlan {
    /// The schema line (also names the columns).
    pub schema: TableSchema,
    /// The quoted (qualified) table name.
    pub from: String,
    /// `SELECT exprs FROM table` (no WHERE, no ORDER BY).
    pub select: String,
    /// `--where` condition.
    pub filter: Option<String>,
    /// `ORDER BY …` (empty when the table has no primary key).
    pub order_by: String,
    /// How each column's text is decoded (MySQL, PostgreSQL).
    pub kinds: Vec<Kind>,
    /// The quoted primary key column when it is one integer column (ranges).
    pub int_pk: Option<String>,
    /// The quoted primary key columns, in key order (empty: no primary key).
    pub pk: Vec<String>,
    /// How `--shard` cuts the table.
    pub split: SplitKey,
}

/// How the shares of a table are cut: on the first primary-key column, so
/// the rows of one value of that column are always in one share.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SplitKey {
    /// No primary key: shard 0 reads the table whole.
    None,
    /// An integer column (quoted): N even ranges between its MIN and MAX.
    Int {
        /// The quoted column.
        col: String,
        /// SQLite lets a primary-key column hold NULL: shard 0 takes those rows.
        nullable: bool,
    },
    /// A text column: N-1 boundaries interpolated between its MIN and MAX
    /// ([`split`]) and ordered by the server in the column's collation.
    Text {
        /// The quoted column.
        col: String,
        /// As for `Int`.
        nullable: bool,
        /// How the dialect writes and compares the boundary values.
        cmp: TextCmp,
    },
    /// Any other key (dates, decimals, bytes, uuids, a first column of
    /// another type): the keys at row offsets COUNT*k/N, found by the
    /// server (one COUNT and an index walk per share).
    Offset,
}

/// How one dialect compares a text key with literal boundary values. Every
/// literal carries an explicit collation, and the server sorts the
/// boundaries with that same collation and type, so a share's conditions
/// compare exactly as the boundaries were ordered; choosing the column's
/// own collation is what lets the key's index serve the comparisons.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TextCmp {
    /// MySQL/MariaDB: the column's character set and collation (validated
    /// names), so a literal is `CONVERT(_utf8mb4 X'…' USING cs) COLLATE c`.
    MySql {
        /// e.g. `utf8mb4`, `latin1`.
        charset: String,
        /// e.g. `utf8mb4_general_ci`.
        collation: String,
    },
    /// PostgreSQL: the type literals are cast to (`text` for text and
    /// varchar, `bpchar`, `name`); the collation is read with MIN and MAX
    /// (`pg_collation_for`).
    Postgres {
        /// The literal's type.
        ty: &'static str,
    },
    /// SQLite: the collation of the primary-key index, read with MIN and MAX
    /// (the unquoted table and column names are for that pragma).
    Sqlite {
        /// The table's name.
        table: String,
        /// The column's name.
        column: String,
    },
}

/// Whether `name` is a plain SQL name (charset, collation) that can be
/// written bare in a query.
pub(crate) fn plain_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn sql_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

impl TextCmp {
    /// One row: MIN, MAX of `col` (as text), then what [`Self::collation`] reads.
    fn bounds_query(&self, col: &str, from: &str, filter: &str) -> String {
        match self {
            // MIN and MAX of an index prefix: "Select tables optimized away".
            TextCmp::MySql { .. } => format!("SELECT MIN({col}), MAX({col}) FROM {from}{filter}"),
            // Both aggregates become index lookups (planagg); the
            // collation comes quoted and qualified as a COLLATE wants it.
            TextCmp::Postgres { .. } => format!(
                "SELECT MIN({col})::text, MAX({col})::text, pg_collation_for(MIN({col})), \
                 current_setting('server_encoding') FROM {from}{filter}"
            ),
            // SQLite turns only a lone MIN or MAX into an index lookup.
            TextCmp::Sqlite { table, column } => format!(
                "SELECT (SELECT MIN({col}) FROM {from}{filter}), (SELECT MAX({col}) FROM {from}{filter}), \
                 (SELECT x.coll FROM pragma_index_list({}) l, pragma_index_xinfo(l.name) x \
                 WHERE l.origin = 'pk' AND x.name = {} LIMIT 1)",
                sql_quote(table),
                sql_quote(column)
            ),
        }
    }

    /// The collation to compare with (as written after COLLATE) and the
    /// highest character the column can hold, from the bounds row.
    fn collation(&self, row: &[Option<String>]) -> (String, char) {
        match self {
            TextCmp::MySql { charset, collation } => {
                let max_char = match charset.as_str() {
                    "utf8mb4" | "utf16" | "utf16le" | "utf32" => char::MAX,
                    "utf8mb3" | "utf8" | "ucs2" => '\u{ffff}',
                    "latin1" => '\u{ff}',
                    _ => '\u{7f}',
                };
                (collation.clone(), max_char)
            }
            TextCmp::Postgres { .. } => {
                let coll = row.get(2).cloned().flatten().unwrap_or_else(|| "\"default\"".to_owned());
                let utf8 = get(row, 3).eq_ignore_ascii_case("UTF8");
                (coll, if utf8 { char::MAX } else { '\u{7f}' })
            }
            TextCmp::Sqlite { .. } => {
                let coll = row.get(2).cloned().flatten().unwrap_or_else(|| "BINARY".to_owned());
                (format!("\"{}\"", coll.replace('"', "\"\"")), char::MAX)
            }
        }
    }

    /// `s` as a literal of the column's type in collation `coll`.
    fn literal(&self, s: &str, coll: &str) -> String {
        match self {
            // Hex with an introducer: no escaping, any character; CONVERT
            // (not an introducer on the target charset, which would take
            // the UTF-8 bytes as that charset's) for a column in another.
            TextCmp::MySql { charset, .. } if charset == "utf8mb4" => format!("_utf8mb4 X'{}' COLLATE {coll}", hex(s)),
            TextCmp::MySql { charset, .. } => format!("CONVERT(_utf8mb4 X'{}' USING {charset}) COLLATE {coll}", hex(s)),
            TextCmp::Postgres { ty } => format!("{}::{ty} COLLATE {coll}", sql_quote(s)),
            // A NUL would end the statement's text.
            TextCmp::Sqlite { .. } if s.contains('\0') => format!("CAST(X'{}' AS TEXT) COLLATE {coll}", hex(s)),
            TextCmp::Sqlite { .. } => format!("{} COLLATE {coll}", sql_quote(s)),
        }
    }

    /// Rows `(i, rank)`: the dense rank (from 1) of `literals[i]` in
    /// collation `coll`, equal literals ranked equal.
    fn rank_query(&self, literals: &[String], coll: &str) -> String {
        match self {
            // MariaDB's VALUES names its columns after the first row: a UNION instead.
            TextCmp::MySql { .. } => {
                let rows: Vec<String> =
                    literals.iter().enumerate().map(|(i, l)| format!("SELECT {i} AS i, {l} AS v")).collect();
                format!("SELECT i, DENSE_RANK() OVER (ORDER BY v COLLATE {coll}) FROM ({}) s", rows.join(" UNION ALL "))
            }
            TextCmp::Postgres { .. } => {
                let rows: Vec<String> = literals.iter().enumerate().map(|(i, l)| format!("({i}, {l})")).collect();
                format!(
                    "SELECT i, dense_rank() OVER (ORDER BY v COLLATE {coll}) FROM (VALUES {}) s(i, v)",
                    rows.join(", ")
                )
            }
            // VALUES, not a UNION: SQLite caps compound SELECTs at 500 terms.
            TextCmp::Sqlite { .. } => {
                let rows: Vec<String> = literals.iter().enumerate().map(|(i, l)| format!("({i}, {l})")).collect();
                format!(
                    "SELECT column1, dense_rank() OVER (ORDER BY column2 COLLATE {coll}) FROM (VALUES {})",
                    rows.join(", ")
                )
            }
        }
    }
}

/// The first primary-key column's [`SplitKey`]: `quote` quotes a column
/// name, `text` says how the dialect compares the column as text (`None`:
/// not a text type it splits).
pub(crate) fn split_key(
    schema: &TableSchema,
    quote: impl Fn(&str) -> String,
    text: impl Fn(&Column) -> Option<TextCmp>,
) -> SplitKey {
    let Some(first) = schema.primary_key.first() else { return SplitKey::None };
    let Some(c) = schema.column(first) else { return SplitKey::Offset };
    let col = quote(&c.name);
    if c.ty.is_integer() {
        SplitKey::Int { col, nullable: c.nullable }
    } else if let Some(cmp) = text(c) {
        SplitKey::Text { col, nullable: c.nullable, cmp }
    } else {
        SplitKey::Offset
    }
}

/// A connection the planner runs its small queries on (MIN/MAX, COUNT,
/// the ranking of boundary candidates).
/// (Not `Send`: the planner runs on the export's own task, and sqlx's
/// executor futures do not prove `Send` through a trait object.)
pub(crate) trait MetaConn {
    /// Runs `sql`; every column as text.
    fn meta<'a>(&'a mut self, sql: &'a str) -> LocalBoxFuture<'a, anyhow::Result<Vec<Vec<Option<String>>>>>;
}

/// The rows `(i, rank)` of a [`TextCmp::rank_query`] as a rank per literal.
fn parse_ranks(rows: &[Vec<Option<String>>], n: usize) -> anyhow::Result<Vec<u32>> {
    let mut ranks = vec![None; n];
    for r in rows {
        let (i, rank) = (get(r, 0).parse::<usize>().ok(), get(r, 1).parse::<u32>().ok());
        match (i, rank) {
            (Some(i), Some(rank)) if i < n && rank >= 1 => ranks[i] = Some(rank - 1),
            _ => bail!("unexpected row {r:?} from the server's ordering of the boundary values"),
        }
    }
    ranks
        .into_iter()
        .collect::<Option<Vec<u32>>>()
        .ok_or_else(|| anyhow::anyhow!("the server ordered {} of {n} boundary values", rows.len()))
}

impl TablePlan {
    /// The query of one chunk: `extra` is an extra condition (a key range).
    pub fn query(&self, extra: Option<&str>) -> String {
        let conds: Vec<String> = self.filter.iter().map(|f| format!("({f})")).chain(extra.map(str::to_owned)).collect();
        let mut sql = self.select.clone();
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        if !self.order_by.is_empty() {
            sql.push(' ');
            sql.push_str(&self.order_by);
        }
        sql
    }

    /// The queries that read this table's share `shard`, split into key
    /// ranges for `jobs` workers, with the small queries that place the
    /// boundaries run on `conn` (`text_cast` makes the server print an
    /// integer MIN/MAX as text, e.g. `::text` on PostgreSQL). Each query
    /// costs the server O(log n): two index lookups for MIN and MAX, and
    /// for a text key two rankings of a few dozen literals; only a key of
    /// another type still counts its rows ([`SplitKey::Offset`]).
    pub(crate) async fn share_queries(
        &self,
        conn: &mut impl MetaConn,
        shard: Shard,
        jobs: usize,
        chunk_rows: u64,
        text_cast: &str,
    ) -> anyhow::Result<Vec<String>> {
        let table = &self.schema.table;
        let mut count = None;
        let mut min_max = None;
        if let Some(sql) = self.min_max_query(jobs, shard, text_cast) {
            let rows = conn.meta(&sql).await.with_context(|| format!("reading the key range of table {table:?}"))?;
            min_max = parse_min_max(&rows);
            let unreadable = rows.first().is_some_and(|r| r.iter().any(Option::is_some)) && min_max.is_none();
            if unreadable && !shard.is_whole() {
                // SQLite does not enforce the declared type.
                cli::warn(format_args!(
                    "--shard: the integer key of table {table:?} holds values that are not integers, so it is not \
                     split: shard 0 exports it whole"
                ));
            }
        }
        if let Some(sql) = self.count_query(shard) {
            let rows = conn.meta(&sql).await.with_context(|| format!("counting table {table:?}"))?;
            count = rows.first().and_then(|r| get(r, 0).parse::<u64>().ok());
        }
        if let (SplitKey::Text { col, cmp, .. }, false) = (&self.split, shard.is_whole()) {
            let bounds = self
                .text_bounds(conn, col, cmp, shard)
                .await
                .with_context(|| format!("placing the shares of table {table:?}"))?;
            return Ok(self.text_chunks(bounds.as_deref(), shard));
        }
        Ok(self.chunks(min_max, count, jobs, chunk_rows, shard))
    }

    /// The N-1 boundary literals of a text key, in the server's order;
    /// `None` when the table (after `--where`) is empty or its key has one
    /// value, which shard 0 then reads whole.
    async fn text_bounds(
        &self,
        conn: &mut impl MetaConn,
        col: &str,
        cmp: &TextCmp,
        shard: Shard,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let rows = conn.meta(&cmp.bounds_query(col, &self.from, &self.where_clause())).await?;
        let Some(row) = rows.first() else { return Ok(None) };
        let (Some(min), Some(max)) = (row.first().cloned().flatten(), row.get(1).cloned().flatten()) else {
            return Ok(None);
        };
        if min == max {
            return Ok(None);
        }
        let (coll, max_char) = cmp.collation(row);
        let alphabet = split::alphabet(&min, &max, max_char);
        if alphabet.is_empty() {
            return Ok(None);
        }
        let lits: Vec<String> = alphabet.iter().map(|c| cmp.literal(c.encode_utf8(&mut [0; 4]), &coll)).collect();
        let ranks = parse_ranks(&conn.meta(&cmp.rank_query(&lits, &coll)).await?, lits.len())?;
        let candidates = split::candidates(&min, &max, &alphabet, &ranks, shard.count());
        let lits: Vec<String> = candidates.iter().map(|c| cmp.literal(c, &coll)).collect();
        // The server's order, not ours: this is what makes the shares
        // disjoint and covering in any collation.
        let order = parse_ranks(&conn.meta(&cmp.rank_query(&lits, &coll)).await?, lits.len())?;
        let mut by_rank: Vec<(u32, usize)> = order.into_iter().zip(0..).collect();
        by_rank.sort_unstable();
        Ok(Some(by_rank.into_iter().map(|(_, i)| lits[i].clone()).collect()))
    }

    /// The query for `(MIN, MAX)` of the integer column the table is split
    /// on: the shard's split column, or the integer key when `jobs`
    /// workers split a whole table (`text_cast` makes the server print
    /// them as text, e.g. `::text` on PostgreSQL); `None` when the table is
    /// read whole. Two subqueries, because SQLite looks a lone MIN or MAX
    /// up in the index but scans for both in one.
    pub fn min_max_query(&self, jobs: usize, shard: Shard, text_cast: &str) -> Option<String> {
        let col = match &self.split {
            SplitKey::Int { col, .. } if !shard.is_whole() => col.as_str(),
            _ if shard.is_whole() && jobs > 1 => self.int_pk.as_deref()?,
            _ => return None,
        };
        let (from, filter) = (&self.from, self.where_clause());
        Some(format!(
            "SELECT (SELECT MIN({col}) FROM {from}{filter}){text_cast}, (SELECT MAX({col}) FROM {from}{filter}){text_cast}"
        ))
    }

    /// The query for the row count a shard needs to place its boundaries in
    /// a table whose first key column is neither integer nor text; `None`
    /// when the table is not split that way.
    pub fn count_query(&self, shard: Shard) -> Option<String> {
        if shard.is_whole() || self.split != SplitKey::Offset {
            return None;
        }
        Some(format!("SELECT COUNT(*) FROM {}{}", self.from, self.where_clause()))
    }

    fn where_clause(&self) -> String {
        self.filter.as_ref().map(|f| format!(" WHERE ({f})")).unwrap_or_default()
    }

    /// A table the shards do not split (or an empty one) is read by shard 0 alone.
    fn first_shard_only(&self, shard: Shard) -> Vec<String> {
        if shard.index() == 0 {
            vec![self.query(None)]
        } else {
            Vec::new()
        }
    }

    /// Shard 0's upper bound, which also takes the rows whose key is NULL
    /// (SQLite allows them in a primary key; `k < b` is never true for them).
    fn below(col: &str, bound: &str, nullable: bool) -> String {
        if nullable {
            format!("({col} IS NULL OR {col} < {bound})")
        } else {
            format!("{col} < {bound}")
        }
    }

    /// The query of share `shard` of a text key cut at `bounds` (N-1
    /// literals in the server's order): `k < b1`, `b_i <= k < b_i+1`,
    /// `k >= b_N-1`. `None`: shard 0 reads it whole.
    pub fn text_chunks(&self, bounds: Option<&[String]>, shard: Shard) -> Vec<String> {
        let (SplitKey::Text { col, nullable, .. }, Some(bounds)) = (&self.split, bounds) else {
            return self.first_shard_only(shard);
        };
        let i = shard.index() as usize;
        let mut conds = Vec::new();
        if i > 0 {
            conds.push(format!("{col} >= {}", bounds[i - 1]));
        }
        if let Some(upper) = bounds.get(i) {
            conds.push(if i == 0 { Self::below(col, upper, *nullable) } else { format!("{col} < {upper}") });
        }
        vec![self.query(Some(&conds.join(" AND ")))]
    }

    /// The queries that read this shard's part of the table, split into key
    /// ranges for `jobs` workers: `min_max` is the split integer column's
    /// `(MIN, MAX)` (from [`Self::min_max_query`]), `count` the row count
    /// (from [`Self::count_query`]). Empty when the shard owns no rows. A
    /// text key's shares are [`Self::text_chunks`].
    pub fn chunks(
        &self,
        min_max: Option<(i128, i128)>,
        count: Option<u64>,
        jobs: usize,
        chunk_rows: u64,
        shard: Shard,
    ) -> Vec<String> {
        let estimate = self.schema.estimated_rows.map(|n| n / shard.count() as u64);
        if shard.is_whole() {
            return match (self.int_pk.as_deref(), min_max) {
                (Some(pk), Some((min, max))) => self.range_chunks(pk, min, max, estimate, jobs, chunk_rows, None),
                _ => vec![self.query(None)],
            };
        }
        match &self.split {
            SplitKey::None => {
                cli::warn(format_args!(
                    "--shard: table {:?} has no primary key, so it cannot be split: shard 0 exports it whole{}",
                    self.schema.table,
                    if shard.index() == 0 { "" } else { ", this shard only its schema" }
                ));
                self.first_shard_only(shard)
            }
            SplitKey::Int { col, nullable } => {
                let Some((min, max)) = min_max.filter(|(min, max)| max >= min) else {
                    return self.first_shard_only(shard);
                };
                let (lo, hi) = shard.split((max - min + 1) as u128);
                let (lo, hi) = (min + lo as i128, min + hi as i128);
                let last = shard.index() + 1 == shard.count();
                let cond = match (shard.index() == 0, last) {
                    (true, _) => Self::below(col, &hi.to_string(), *nullable),
                    (false, true) => format!("{col} >= {lo}"),
                    (false, false) => format!("{col} >= {lo} AND {col} < {hi}"),
                };
                // --jobs splits the share again when the key is this one column.
                if hi <= lo || self.int_pk.as_deref() != Some(col) {
                    return vec![self.query(Some(&cond))];
                }
                self.range_chunks(col, lo, hi - 1, estimate, jobs, chunk_rows, Some(&cond))
            }
            // Placed by share_queries; reaching here means no bounds.
            SplitKey::Text { .. } => self.first_shard_only(shard),
            SplitKey::Offset => {
                let Some(count) = count.filter(|c| *c > 0) else {
                    return self.first_shard_only(shard);
                };
                // Boundaries are the keys at row offsets COUNT*k/N in key
                // order, found by the server in a subquery, so no key value
                // (a date, a decimal, a composite key) is ever printed and
                // parsed back.
                let (lo, hi) = shard.split(count as u128);
                let key = format!("({})", self.pk.join(", "));
                let boundary = |offset: u128| {
                    format!(
                        "(SELECT {} FROM {}{} {} LIMIT 1 OFFSET {offset})",
                        self.pk.join(", "),
                        self.from,
                        self.where_clause(),
                        self.order_by
                    )
                };
                let mut conds = Vec::new();
                if shard.index() > 0 {
                    conds.push(format!("{key} >= {}", boundary(lo)));
                }
                if shard.index() + 1 < shard.count() {
                    conds.push(format!("{key} < {}", boundary(hi)));
                }
                vec![self.query(Some(&conds.join(" AND ")))]
            }
        }
    }

    /// Splits the integer key range `min..=max` into ranges of about
    /// `chunk_rows` rows for `jobs` workers; the first and last range are
    /// open so no row can fall outside. `base` (a shard's range) is added
    /// to every range.
    #[allow(clippy::too_many_arguments)]
    fn range_chunks(
        &self,
        pk: &str,
        min: i128,
        max: i128,
        estimate: Option<u64>,
        jobs: usize,
        chunk_rows: u64,
        base: Option<&str>,
    ) -> Vec<String> {
        let whole = vec![self.query(base)];
        if jobs < 2 || max <= min {
            return whole;
        }
        let width = max - min + 1;
        let rows = match estimate {
            Some(n) if n > 0 => (n as i128).min(width),
            _ => width,
        };
        let pieces = ((rows + chunk_rows as i128 - 1) / chunk_rows as i128).clamp(1, 1024);
        if pieces < 2 {
            return whole;
        }
        let step = (width + pieces - 1) / pieces;
        let mut bounds = Vec::new();
        let mut b = min + step;
        while b <= max {
            bounds.push(b);
            b += step;
        }
        let mut out = Vec::with_capacity(bounds.len() + 1);
        let mut lo: Option<i128> = None;
        for hi in bounds.iter().copied().map(Some).chain([None]) {
            let range = match (lo, hi) {
                (None, Some(h)) => format!("{pk} < {h}"),
                (Some(l), Some(h)) => format!("{pk} >= {l} AND {pk} < {h}"),
                (Some(l), None) => format!("{pk} >= {l}"),
                (None, None) => unreachable!("at least one bound"),
            };
            let cond = match base {
                Some(b) => format!("{b} AND {range}"),
                None => range,
            };
            out.push(self.query(Some(&cond)));
            lo = hi;
        }
        out
    }
}

/// A connection that can read one chunk of a table into the sink.
pub(crate) trait ChunkReader: Send + 'static {
    /// Runs `sql` and sends its rows, encoded, to `sink`; returns the row count.
    fn read_chunk<'a>(
        &'a mut self,
        plan: &'a TablePlan,
        sql: &'a str,
        sink: &'a Sink,
    ) -> BoxFuture<'a, anyhow::Result<u64>>;
}

/// Workers that read chunks in parallel, one connection each.
pub(crate) struct Workers {
    jobs: mpsc::Sender<(Arc<TablePlan>, String)>,
    results: mpsc::Receiver<anyhow::Result<u64>>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers").field("n", &self.handles.len()).finish()
    }
}

impl Workers {
    /// Starts one task per reader.
    pub fn start<R: ChunkReader>(readers: Vec<R>, sink: &Sink) -> Workers {
        let (jobs_tx, jobs_rx) = mpsc::channel::<(Arc<TablePlan>, String)>(1024);
        // Room for every result of a table (at most 1024 ranges), so workers never wait on it.
        let (res_tx, results) = mpsc::channel(2048);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let handles = readers
            .into_iter()
            .map(|mut reader| {
                let jobs_rx = Arc::clone(&jobs_rx);
                let res_tx = res_tx.clone();
                let sink = sink.clone();
                tokio::spawn(async move {
                    loop {
                        let job = jobs_rx.lock().await.recv().await;
                        let Some((plan, sql)) = job else { break };
                        let r = reader
                            .read_chunk(&plan, &sql, &sink)
                            .await
                            .with_context(|| format!("reading table {:?}", plan.schema.table));
                        let failed = r.is_err();
                        if res_tx.send(r).await.is_err() || failed {
                            break;
                        }
                    }
                })
            })
            .collect();
        Workers { jobs: jobs_tx, results, handles }
    }

    /// Reads all chunks of one table and waits for them (tables never
    /// interleave in the stream).
    pub async fn table(&mut self, plan: Arc<TablePlan>, chunks: Vec<String>) -> anyhow::Result<u64> {
        let n = chunks.len();
        for sql in chunks {
            self.jobs.send((Arc::clone(&plan), sql)).await.map_err(|_| anyhow::anyhow!("all readers stopped"))?;
        }
        let mut rows = 0;
        for _ in 0..n {
            match self.results.recv().await {
                Some(r) => rows += r?,
                None => bail!("all readers stopped"),
            }
        }
        Ok(rows)
    }

    /// Stops the workers.
    pub async fn stop(self) {
        drop(self.jobs);
        for h in self.handles {
            let _ = h.await;
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding rows

/// Encodes `row` lines of one table straight into a byte buffer.
#[derive(Debug)]
pub(crate) struct RowEncoder {
    table: Arc<str>,
    prefix: Vec<u8>,
    keys: Vec<Vec<u8>>,
    buf: Vec<u8>,
    rows: u64,
    warned: HashSet<usize>,
}

impl RowEncoder {
    pub fn new(schema: &TableSchema) -> RowEncoder {
        let mut prefix = br#"{"kind":"row","table":"#.to_vec();
        let _ = serde_json::to_writer(&mut prefix, &schema.table);
        prefix.extend_from_slice(br#","data":{"#);
        let keys = schema
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut k = if i == 0 { Vec::new() } else { b",".to_vec() };
                let _ = serde_json::to_writer(&mut k, &c.name);
                k.push(b':');
                k
            })
            .collect();
        RowEncoder {
            table: Arc::from(schema.table.as_str()),
            prefix,
            keys,
            buf: Vec::with_capacity(BATCH_BYTES + 64 * 1024),
            rows: 0,
            warned: HashSet::new(),
        }
    }

    /// Starts a row.
    #[inline]
    pub fn begin(&mut self) {
        self.buf.extend_from_slice(&self.prefix);
    }

    /// Starts column `i`; the caller then writes its value into [`Self::out`].
    #[inline]
    pub fn key(&mut self, i: usize) {
        self.buf.extend_from_slice(&self.keys[i]);
    }

    /// The buffer the value is written to.
    #[inline]
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Ends the row; sends the batch when it is full.
    pub async fn end(&mut self, sink: &Sink) -> anyhow::Result<()> {
        self.buf.extend_from_slice(b"}}\n");
        self.rows += 1;
        if self.buf.len() >= BATCH_BYTES {
            self.flush(sink).await?;
        }
        Ok(())
    }

    /// Sends what is buffered.
    pub async fn flush(&mut self, sink: &Sink) -> anyhow::Result<()> {
        if self.rows > 0 {
            let buf = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH_BYTES + 64 * 1024));
            let rows = std::mem::take(&mut self.rows);
            sink.send(Msg::Rows { table: Arc::clone(&self.table), buf, rows }).await?;
        }
        Ok(())
    }

    /// Warns once per column.
    pub fn warn_once(&mut self, col: usize, message: impl std::fmt::Display) {
        if self.warned.insert(col) {
            cli::warn(message);
        }
    }
}

/// Writes an integer given as decimal text.
fn write_int_text(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let n: i128 = text.trim().parse().map_err(|_| format!("not an integer: {text:?}"))?;
    Value::Int(n).write_json(out);
    Ok(())
}

fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())
}

/// Whether MySQL date text has a zero month or day (`0000-00-00`, `2025-00-10`).
fn is_zero_date(b: &[u8]) -> bool {
    b.len() >= 10 && (&b[5..7] == b"00" || &b[8..10] == b"00")
}

/// `2025-01-01 09:30:00` → `2025-01-01T09:30:00`.
fn iso_datetime(text: &str) -> String {
    let mut s = text.to_owned();
    if s.len() > 10 && s.as_bytes()[10] == b' ' {
        s.replace_range(10..11, "T");
    }
    s
}

/// PostgreSQL timestamptz text in UTC (`2025-01-01 09:30:00.5+00`) → `…T…Z`;
/// `infinity` and BC dates are kept as printed.
fn pg_timestamptz(text: &str) -> String {
    if text.len() < 19 || text.ends_with(" BC") || !text.as_bytes()[0].is_ascii_digit() {
        return text.to_owned();
    }
    let mut s = iso_datetime(text);
    if let Some(pos) = s[19..].find(['+', '-']).map(|p| p + 19) {
        let offset = &s[pos..];
        if offset == "+00" || offset == "+00:00" {
            s.truncate(pos);
            s.push('Z');
        } else if offset.len() == 3 {
            s.push_str(":00");
        }
    }
    s
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn pg_bytea(text: &[u8]) -> Result<Vec<u8>, String> {
    let hex = text.strip_prefix(b"\\x").ok_or_else(|| "bytea not in hex output format".to_owned())?;
    if hex.len() % 2 != 0 {
        return Err("odd number of hex digits in bytea".into());
    }
    hex.chunks(2)
        .map(|p| match (hex_val(p[0]), hex_val(p[1])) {
            (Some(h), Some(l)) => Ok(h << 4 | l),
            _ => Err("bad hex digit in bytea".to_owned()),
        })
        .collect()
}

/// The decant value of one non-NULL column text.
pub(crate) fn decode_value(kind: &Kind, raw: &[u8]) -> Result<Value, String> {
    Ok(match kind {
        Kind::Int => {
            let t = utf8(raw)?;
            Value::Int(t.trim().parse().map_err(|_| format!("not an integer: {t:?}"))?)
        }
        Kind::TinyBool => match raw {
            b"0" => Value::Bool(false),
            b"1" => Value::Bool(true),
            _ => {
                let t = utf8(raw)?;
                Value::Int(t.parse().map_err(|_| format!("not an integer: {t:?}"))?)
            }
        },
        Kind::PgBool => match raw {
            b"t" => Value::Bool(true),
            b"f" => Value::Bool(false),
            _ => return Err(format!("not a boolean: {:?}", String::from_utf8_lossy(raw))),
        },
        Kind::Float64 => {
            let t = utf8(raw)?;
            Value::Float(t.parse().map_err(|_| format!("not a number: {t:?}"))?)
        }
        Kind::Float32 => {
            let t = utf8(raw)?;
            Value::Float(t.parse::<f32>().map_err(|_| format!("not a number: {t:?}"))? as f64)
        }
        Kind::Decimal => Value::String(utf8(raw)?.to_owned()),
        // Text the server hands over as invalid UTF-8 (a PostgreSQL SQL_ASCII
        // database, a mislabelled MySQL column) is kept byte for byte.
        Kind::Text => Value::from_bytes_or_text(raw.to_vec()),
        Kind::Bytes => Value::Bytes(raw.to_vec()),
        Kind::PgBytea => Value::Bytes(pg_bytea(raw)?),
        Kind::MyDatetime | Kind::MyTimestamp => {
            let t = utf8(raw)?;
            if is_zero_date(t.as_bytes()) {
                Value::ZeroDate(t.to_owned())
            } else {
                let mut s = iso_datetime(t);
                if *kind == Kind::MyTimestamp {
                    s.push('Z');
                }
                Value::String(s)
            }
        }
        Kind::PgDatetime => {
            let t = utf8(raw)?;
            if t.ends_with(" BC") {
                Value::String(t.to_owned())
            } else {
                Value::String(iso_datetime(t))
            }
        }
        Kind::PgTimestamptz => Value::String(pg_timestamptz(utf8(raw)?)),
        Kind::Json => {
            // Keep member order as the database stores it (MariaDB keeps the
            // text verbatim), so a same-dialect copy writes the same text.
            Value::from_json_text(raw).map_err(|e| format!("not valid JSON: {e}"))?
        }
        Kind::MyBit => {
            if raw.len() > 8 {
                return Err("BIT value wider than 64 bits".into());
            }
            Value::Int(raw.iter().fold(0u64, |n, b| n << 8 | *b as u64) as i128)
        }
        Kind::PgBit => {
            let t = utf8(raw)?;
            Value::Int(
                u64::from_str_radix(t, 2).map_err(|_| format!("not a bit string of at most 64 bits: {t:?}"))? as i128
            )
        }
        Kind::PgArray(elem) => parse_pg_array(utf8(raw)?, elem)?,
    })
}

/// Writes one non-NULL column text as its decant value, with fast paths for
/// the common kinds.
#[inline]
pub(crate) fn write_value(kind: &Kind, raw: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    match kind {
        // MySQL's and PostgreSQL's text of an integer is canonical: up to 15
        // digits (below 2^53, so no `$int`) it is what Value::Int writes.
        Kind::Int if is_plain_safe_int(raw) => {
            out.extend_from_slice(raw);
            Ok(())
        }
        Kind::Int => write_int_text(utf8(raw)?, out),
        // decode_value's Value::Bool, as serde_json writes it.
        Kind::TinyBool if raw == b"0" || raw == b"1" => {
            out.extend_from_slice(if raw == b"1" { b"true" } else { b"false" });
            Ok(())
        }
        // decode_value's ISO text (`T` for the space, `Z` after a
        // TIMESTAMP) written straight from the server's, when it is only
        // digits and separators (nothing to escape) and not a zero date.
        Kind::MyDatetime | Kind::MyTimestamp
            if raw.iter().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b':' | b'.' | b' '))
                && !is_zero_date(raw) =>
        {
            out.push(b'"');
            if raw.len() > 10 && raw[10] == b' ' {
                out.extend_from_slice(&raw[..10]);
                out.push(b'T');
                out.extend_from_slice(&raw[11..]);
            } else {
                out.extend_from_slice(raw);
            }
            if *kind == Kind::MyTimestamp {
                out.push(b'Z');
            }
            out.push(b'"');
            Ok(())
        }
        Kind::Text | Kind::Decimal => match std::str::from_utf8(raw) {
            Ok(text) => {
                decant_record::jsontext::write_str(out, text);
                Ok(())
            }
            Err(_) => {
                decode_value(kind, raw)?.write_json(out);
                Ok(())
            }
        },
        Kind::Json if jsoncol::write(raw, out) => Ok(()),
        // Value::Bytes as it serializes: `{"$b64":"…"}` (standard alphabet,
        // padded; base64 needs no JSON escape), encoded straight into `out`.
        Kind::Bytes => {
            use base64::Engine as _;
            out.extend_from_slice(br#"{"$b64":""#);
            let at = out.len();
            let len = base64::encoded_len(raw.len(), true).unwrap_or(0);
            out.resize(at + len, 0);
            match base64::engine::general_purpose::STANDARD.encode_slice(raw, &mut out[at..]) {
                Ok(n) if n == len => out.extend_from_slice(br#""}"#),
                _ => {
                    out.truncate(at - br#"{"$b64":""#.len());
                    decode_value(kind, raw)?.write_json(out);
                }
            }
            Ok(())
        }
        _ => {
            decode_value(kind, raw)?.write_json(out);
            Ok(())
        }
    }
}

/// `0` or an optional `-` and 1 to 15 digits without a leading zero: the
/// text itoa gives an integer below 2^53 in magnitude (`-0`, `+1`, `007`
/// and longer numbers take the parsing path).
fn is_plain_safe_int(raw: &[u8]) -> bool {
    let digits = raw.strip_prefix(b"-").unwrap_or(raw);
    (1..=15).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) && (digits[0] != b'0' || raw == b"0")
}

/// Parses PostgreSQL array text (`{1,2,NULL}`, `{{"a b","c\"d"}}`,
/// `[0:1]={1,2}`), decoding each element with `elem`.
pub(crate) fn parse_pg_array(text: &str, elem: &Kind) -> Result<Value, String> {
    let b = text.as_bytes();
    let mut pos = 0;
    if b.first() == Some(&b'[') {
        pos = text.find('=').ok_or_else(|| format!("bad array text {text:?}"))? + 1;
    }
    let (v, end) = parse_array_at(b, pos, elem)?;
    if end != b.len() {
        return Err(format!("bad array text {text:?}"));
    }
    Ok(v)
}

fn parse_array_at(b: &[u8], mut pos: usize, elem: &Kind) -> Result<(Value, usize), String> {
    let bad = || format!("bad array text {:?}", String::from_utf8_lossy(b));
    if b.get(pos) != Some(&b'{') {
        return Err(bad());
    }
    pos += 1;
    let mut items = Vec::new();
    if b.get(pos) == Some(&b'}') {
        return Ok((Value::Array(items), pos + 1));
    }
    loop {
        match b.get(pos) {
            Some(b'{') => {
                let (v, p) = parse_array_at(b, pos, elem)?;
                items.push(v);
                pos = p;
            }
            Some(b'"') => {
                pos += 1;
                let mut s = Vec::new();
                loop {
                    match b.get(pos) {
                        Some(b'\\') => {
                            s.push(*b.get(pos + 1).ok_or_else(bad)?);
                            pos += 2;
                        }
                        Some(b'"') => {
                            pos += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(*c);
                            pos += 1;
                        }
                        None => return Err(bad()),
                    }
                }
                items.push(decode_value(elem, &s)?);
            }
            Some(_) => {
                let start = pos;
                while !matches!(b.get(pos), Some(b',') | Some(b'}') | None) {
                    pos += 1;
                }
                let raw = &b[start..pos];
                if raw.eq_ignore_ascii_case(b"NULL") {
                    items.push(Value::Null);
                } else {
                    items.push(decode_value(elem, raw)?);
                }
            }
            None => return Err(bad()),
        }
        match b.get(pos) {
            Some(b',') => pos += 1,
            Some(b'}') => return Ok((Value::Array(items), pos + 1)),
            _ => return Err(bad()),
        }
    }
}

/// Column `name` of `table`: an error message prefix.
pub(crate) fn at(table: &str, column: &Column) -> String {
    format!("table {table:?}, column {:?} ({})", column.name, column.source_type.as_deref().unwrap_or("?"))
}

/// Parses `enum('a','b''c')` / `set(…)` value lists.
pub(crate) fn parse_quoted_list(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < b.len() {
        if b[i] == '\'' {
            let mut s = String::new();
            i += 1;
            while i < b.len() {
                if b[i] == '\'' {
                    if b.get(i + 1) == Some(&'\'') {
                        s.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                if b[i] == '\\' && i + 1 < b.len() {
                    s.push(b[i + 1]);
                    i += 2;
                    continue;
                }
                s.push(b[i]);
                i += 1;
            }
            out.push(s);
        }
        i += 1;
    }
    out
}

/// `(n)` or `(p,s)` in a declared type, e.g. `varchar(255)`.
pub(crate) fn type_args(declared: &str) -> Vec<u64> {
    let Some(open) = declared.find('(') else { return Vec::new() };
    let Some(close) = declared[open..].find(')') else { return Vec::new() };
    declared[open + 1..open + close].split(',').filter_map(|p| p.trim().parse().ok()).collect()
}

/// A SQLite file's path, checked to exist (sqlx would say only "unable to open").
pub(crate) fn sqlite_file(url: &ConnUrl) -> anyhow::Result<PathBuf> {
    let path = url.sqlite_path().ok_or_else(|| anyhow::anyhow!("{url} is not a sqlite:// URL"))?;
    if !path.is_file() {
        bail!("no SQLite database file {} (from {url})", path.display());
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("user*", "users"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("users", "users2"));
    }

    #[test]
    fn arrays() {
        let v = parse_pg_array(r#"{1,NULL,3}"#, &Kind::Int).unwrap();
        assert_eq!(v, Value::Array(vec![Value::Int(1), Value::Null, Value::Int(3)]));
        let v = parse_pg_array(r#"{{"a b","c\"d"},{"NULL",e}}"#, &Kind::Text).unwrap();
        assert_eq!(v.to_json_string(), r#"[["a b","c\"d"],["NULL","e"]]"#);
        assert_eq!(parse_pg_array("{}", &Kind::Int).unwrap(), Value::Array(vec![]));
        assert_eq!(parse_pg_array("[0:1]={7,8}", &Kind::Int).unwrap().to_json_string(), "[7,8]");
        assert!(parse_pg_array("{1,2", &Kind::Int).is_err());
    }

    #[test]
    fn values() {
        let enc = |k: Kind, t: &str| decode_value(&k, t.as_bytes()).unwrap().to_json_string();
        assert_eq!(enc(Kind::Int, "18446744073709551615"), r#"{"$int":"18446744073709551615"}"#);
        assert_eq!(enc(Kind::MyDatetime, "2025-01-01 09:30:00.123456"), r#""2025-01-01T09:30:00.123456""#);
        assert_eq!(enc(Kind::MyTimestamp, "2025-01-01 09:30:00"), r#""2025-01-01T09:30:00Z""#);
        assert_eq!(enc(Kind::MyDatetime, "0000-00-00 00:00:00"), r#"{"$zero_date":"0000-00-00 00:00:00"}"#);
        assert_eq!(enc(Kind::PgTimestamptz, "2025-01-01 09:30:00.5+00"), r#""2025-01-01T09:30:00.5Z""#);
        assert_eq!(enc(Kind::PgTimestamptz, "infinity"), r#""infinity""#);
        assert_eq!(enc(Kind::Float32, "0.1"), "0.10000000149011612");
        assert_eq!(enc(Kind::Float64, "NaN"), r#"{"$float":"nan"}"#);
        assert_eq!(enc(Kind::Float64, "-Infinity"), r#"{"$float":"-inf"}"#);
        assert_eq!(enc(Kind::PgBytea, "\\x00ff"), r#"{"$b64":"AP8="}"#);
        assert_eq!(enc(Kind::PgBit, "101"), "5");
        assert_eq!(enc(Kind::TinyBool, "1"), "true");
        assert_eq!(enc(Kind::TinyBool, "5"), "5");
    }

    /// write_value's fast paths write what decode_value's Value writes.
    #[test]
    fn written_values_are_the_decoded_values() {
        let cases = [
            (Kind::TinyBool, "0"),
            (Kind::TinyBool, "1"),
            (Kind::TinyBool, "-1"),
            (Kind::MyDatetime, "2025-01-01 09:30:00.123456"),
            (Kind::MyDatetime, "2025-01-01 09:30:00"),
            (Kind::MyDatetime, "2025-01-01"),
            (Kind::MyDatetime, "0000-00-00 00:00:00"),
            (Kind::MyDatetime, "2025-00-10"),
            (Kind::MyDatetime, "2025-01-01T09:30:00"),
            (Kind::MyDatetime, "2025-01-01 \"09"),
            (Kind::MyTimestamp, "2025-01-01 09:30:00"),
            (Kind::MyTimestamp, "2038-01-19 03:14:07.999999"),
            (Kind::MyTimestamp, "0000-00-00 00:00:00"),
            (Kind::MyTimestamp, "1970-01-01 00:00:01"),
            (Kind::Int, "-42"),
            (Kind::Decimal, "-0.5000"),
            (Kind::Bytes, ""),
            (Kind::Bytes, "\u{0}\u{7f}ab\"\\"),
            (Kind::Bytes, "abcd"),
            (Kind::Bytes, "abcde"),
        ];
        for (kind, text) in cases {
            let mut out = Vec::new();
            write_value(&kind, text.as_bytes(), &mut out).unwrap();
            let want = decode_value(&kind, text.as_bytes()).unwrap().to_json_string();
            assert_eq!(String::from_utf8(out).unwrap(), want, "{kind:?} {text:?}");
        }
    }

    use proptest::prelude::{any, Just};

    proptest::proptest! {
        /// The vector count of newlines is the plain count, at every length
        /// and offset.
        #[test]
        fn newlines_are_counted_as_a_filter_counts_them(
            buf in proptest::collection::vec(proptest::prop_oneof![Just(b'\n'), Just(b'a'), any::<u8>()], 0..20_000),
            skip in 0usize..40,
        ) {
            let buf = &buf[skip.min(buf.len())..];
            proptest::prop_assert_eq!(count_newlines(buf), buf.iter().filter(|&&b| b == b'\n').count() as u64);
        }

        /// Integer text copied as it stands is what the parsing path writes.
        #[test]
        fn plain_integers_are_the_parsed_integers(text in "[-+ ]?[0-9]{0,20}", n in any::<i64>()) {
            for text in [text, n.to_string()] {
                let mut out = Vec::new();
                let fast = write_value(&Kind::Int, text.as_bytes(), &mut out);
                match decode_value(&Kind::Int, text.as_bytes()) {
                    Ok(v) => proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), v.to_json_string()),
                    Err(_) => proptest::prop_assert!(fast.is_err()),
                }
            }
        }
    }

    #[test]
    fn plain_safe_integers() {
        assert!(is_plain_safe_int(b"0") && is_plain_safe_int(b"-999999999999999"));
        assert!(!is_plain_safe_int(b"-0") && !is_plain_safe_int(b"1000000000000000") && !is_plain_safe_int(b"-"));
    }

    fn int_plan() -> TablePlan {
        let mut schema = TableSchema::new("t", vec![Column::new("id", decant_record::LogicalType::Int64)]);
        schema.primary_key = vec!["id".into()];
        TablePlan {
            schema,
            from: "t".into(),
            select: "SELECT id FROM t".into(),
            filter: Some("id <> 5".into()),
            order_by: "ORDER BY id".into(),
            kinds: vec![Kind::Int],
            int_pk: Some("id".into()),
            pk: vec!["id".into()],
            split: SplitKey::Int { col: "id".into(), nullable: false },
        }
    }

    fn shard(s: &str) -> Shard {
        s.parse().unwrap()
    }

    #[test]
    fn key_ranges_cover_everything() {
        let plan = int_plan();
        let whole = Shard::whole();
        assert_eq!(
            plan.chunks(Some((1, 1000)), None, 1, 100, whole),
            vec!["SELECT id FROM t WHERE (id <> 5) ORDER BY id"]
        );
        let chunks = plan.chunks(Some((1, 1000)), None, 4, 100, whole);
        assert_eq!(chunks.len(), 10);
        assert_eq!(chunks[0], "SELECT id FROM t WHERE (id <> 5) AND id < 101 ORDER BY id");
        assert_eq!(chunks[1], "SELECT id FROM t WHERE (id <> 5) AND id >= 101 AND id < 201 ORDER BY id");
        assert_eq!(chunks[9], "SELECT id FROM t WHERE (id <> 5) AND id >= 901 ORDER BY id");
        // Never more than 1024 ranges, however wide the keys.
        assert!(plan.chunks(Some((i64::MIN as i128, u64::MAX as i128)), None, 2, 1, whole).len() <= 1024);
        assert_eq!(plan.chunks(None, None, 4, 100, whole).len(), 1);
    }

    #[test]
    fn integer_key_shards_are_even_ranges_between_min_and_max() {
        let plan = int_plan();
        let q = |s: &str| plan.chunks(Some((1, 10)), None, 1, 100, shard(s));
        assert_eq!(q("0/3"), vec!["SELECT id FROM t WHERE (id <> 5) AND id < 4 ORDER BY id"]);
        assert_eq!(q("1/3"), vec!["SELECT id FROM t WHERE (id <> 5) AND id >= 4 AND id < 7 ORDER BY id"]);
        assert_eq!(q("2/3"), vec!["SELECT id FROM t WHERE (id <> 5) AND id >= 7 ORDER BY id"]);
        // With --jobs, the shard's range is split further, inside the shard's range.
        let jobs = plan.chunks(Some((1, 1000)), None, 4, 100, shard("1/2"));
        assert_eq!(jobs.len(), 5);
        assert_eq!(jobs[0], "SELECT id FROM t WHERE (id <> 5) AND id >= 501 AND id < 601 ORDER BY id");
        assert_eq!(jobs[4], "SELECT id FROM t WHERE (id <> 5) AND id >= 501 AND id >= 901 ORDER BY id");
        // An empty table (no MIN/MAX) is read by shard 0 only.
        assert_eq!(plan.chunks(None, None, 1, 100, shard("0/3")).len(), 1);
        assert!(plan.chunks(None, None, 1, 100, shard("2/3")).is_empty());
    }

    #[test]
    fn other_keys_split_at_keys_found_by_row_offset() {
        let mut plan = int_plan();
        plan.int_pk = None;
        plan.filter = None;
        plan.pk = vec!["a".into(), "b".into()];
        plan.order_by = "ORDER BY a, b".into();
        plan.split = SplitKey::Offset;
        let q = |s: &str| plan.chunks(None, Some(10), 4, 100, shard(s));
        assert_eq!(
            q("0/3"),
            vec!["SELECT id FROM t WHERE (a, b) < (SELECT a, b FROM t ORDER BY a, b LIMIT 1 OFFSET 3) ORDER BY a, b"]
        );
        assert_eq!(
            q("1/3"),
            vec![
                "SELECT id FROM t WHERE (a, b) >= (SELECT a, b FROM t ORDER BY a, b LIMIT 1 OFFSET 3) \
                 AND (a, b) < (SELECT a, b FROM t ORDER BY a, b LIMIT 1 OFFSET 6) ORDER BY a, b"
            ]
        );
        assert_eq!(
            q("2/3"),
            vec!["SELECT id FROM t WHERE (a, b) >= (SELECT a, b FROM t ORDER BY a, b LIMIT 1 OFFSET 6) ORDER BY a, b"]
        );
        assert_eq!(plan.count_query(shard("1/3")).as_deref(), Some("SELECT COUNT(*) FROM t"));
        assert_eq!(plan.count_query(Shard::whole()), None);
        // Empty: shard 0 reads it (nothing), the others skip it.
        assert_eq!(plan.chunks(None, Some(0), 1, 100, shard("0/2")).len(), 1);
        assert!(plan.chunks(None, Some(0), 1, 100, shard("1/2")).is_empty());
        // No primary key: shard 0 reads it whole.
        plan.pk.clear();
        plan.order_by.clear();
        plan.split = SplitKey::None;
        assert_eq!(plan.chunks(None, None, 1, 100, shard("0/2")), vec!["SELECT id FROM t"]);
        assert!(plan.chunks(None, None, 1, 100, shard("1/2")).is_empty());
    }

    #[test]
    fn a_composite_key_with_an_integer_first_column_splits_on_that_column() {
        let mut plan = int_plan();
        plan.int_pk = None;
        plan.filter = None;
        plan.pk = vec!["a".into(), "b".into()];
        plan.split = SplitKey::Int { col: "a".into(), nullable: true };
        assert_eq!(
            plan.min_max_query(1, shard("0/2"), "").unwrap(),
            "SELECT (SELECT MIN(a) FROM t), (SELECT MAX(a) FROM t)"
        );
        assert_eq!(plan.count_query(shard("0/2")), None);
        // A nullable key (SQLite): shard 0 takes the NULLs. No --jobs split on a composite key.
        assert_eq!(
            plan.chunks(Some((0, 9)), None, 4, 1, shard("0/2")),
            vec!["SELECT id FROM t WHERE (a IS NULL OR a < 5) ORDER BY id"]
        );
        assert_eq!(
            plan.chunks(Some((0, 9)), None, 4, 1, shard("1/2")),
            vec!["SELECT id FROM t WHERE a >= 5 ORDER BY id"]
        );
    }

    #[test]
    fn text_key_shares_are_between_the_ordered_bounds() {
        let mut plan = int_plan();
        plan.int_pk = None;
        plan.filter = Some("v > 0".into());
        plan.split = SplitKey::Text {
            col: "k".into(),
            nullable: false,
            cmp: TextCmp::MySql { charset: "utf8mb4".into(), collation: "utf8mb4_general_ci".into() },
        };
        let bounds = ["'b'".to_owned(), "'m'".to_owned()];
        let q = |s: &str| plan.text_chunks(Some(&bounds), shard(s));
        assert_eq!(q("0/3"), vec!["SELECT id FROM t WHERE (v > 0) AND k < 'b' ORDER BY id"]);
        assert_eq!(q("1/3"), vec!["SELECT id FROM t WHERE (v > 0) AND k >= 'b' AND k < 'm' ORDER BY id"]);
        assert_eq!(q("2/3"), vec!["SELECT id FROM t WHERE (v > 0) AND k >= 'm' ORDER BY id"]);
        // No bounds (empty, or one key value): shard 0 reads it all.
        assert_eq!(plan.text_chunks(None, shard("0/3")).len(), 1);
        assert!(plan.text_chunks(None, shard("2/3")).is_empty());
        // Neither a MIN/MAX nor a COUNT query: the text bounds are placed apart.
        assert_eq!(plan.min_max_query(1, shard("1/3"), ""), None);
        assert_eq!(plan.count_query(shard("1/3")), None);
    }

    #[test]
    fn text_literals_compare_in_the_columns_collation() {
        let my = TextCmp::MySql { charset: "utf8mb4".into(), collation: "utf8mb4_general_ci".into() };
        assert_eq!(my.literal("a'Z", "utf8mb4_general_ci"), "_utf8mb4 X'61275A' COLLATE utf8mb4_general_ci");
        let latin = TextCmp::MySql { charset: "latin1".into(), collation: "latin1_swedish_ci".into() };
        assert_eq!(
            latin.literal("é", "latin1_swedish_ci"),
            "CONVERT(_utf8mb4 X'C3A9' USING latin1) COLLATE latin1_swedish_ci"
        );
        assert_eq!(latin.collation(&[]).1, '\u{ff}');
        let pg = TextCmp::Postgres { ty: "bpchar" };
        assert_eq!(pg.literal("it's", "\"C\""), "'it''s'::bpchar COLLATE \"C\"");
        let row = [None, None, Some("\"default\"".to_owned()), Some("SQL_ASCII".to_owned())];
        assert_eq!(pg.collation(&row), ("\"default\"".to_owned(), '\u{7f}'));
        let lite = TextCmp::Sqlite { table: "t".into(), column: "k".into() };
        assert_eq!(lite.literal("a\0b", "\"NOCASE\""), "CAST(X'610062' AS TEXT) COLLATE \"NOCASE\"");
        assert_eq!(lite.collation(&[None, None, Some("NOCASE".into())]).0, "\"NOCASE\"");
        assert_eq!(lite.collation(&[None, None, None]).0, "\"BINARY\"");
        assert!(!plain_name("utf8mb4_general_ci`; DROP") && plain_name("utf8mb4_0900_ai_ci"));
        assert_eq!(
            parse_ranks(&[vec![Some("1".into()), Some("1".into())], vec![Some("0".into()), Some("2".into())]], 2)
                .unwrap(),
            [1, 0]
        );
        assert!(parse_ranks(&[vec![Some("0".into()), Some("1".into())]], 2).is_err());
    }

    #[test]
    fn a_cycle_names_only_its_own_tables() {
        // a → b → c → a is the cycle; d waits on a but is on no cycle.
        let edges = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")];
        let mut deps: HashMap<String, HashSet<String>> = HashMap::new();
        for (t, r) in edges {
            deps.entry(t.to_owned()).or_default().insert(r.to_owned());
        }
        let waiting: HashSet<&str> = ["a", "b", "c", "d"].into();
        assert_eq!(cycle_through("d", &deps, &waiting), None);
        assert_eq!(cycle_through("b", &deps, &waiting).unwrap(), ["a", "b", "c"]);
        let with_fks = |name: &str, refs: &[&str]| {
            let mut s = TableSchema::new(name, vec![Column::new("id", decant_record::LogicalType::Int32)]);
            s.foreign_keys = refs
                .iter()
                .map(|r| decant_record::ForeignKey {
                    name: format!("fk_{name}_{r}"),
                    columns: vec!["id".into()],
                    ref_table: (*r).into(),
                    ref_columns: vec!["id".into()],
                    on_delete: None,
                    on_update: None,
                })
                .collect();
            s
        };
        // "aa" sorts first but only waits on the cycle: the cycle is broken at b, not at aa.
        let order = dependency_order(vec![with_fks("aa", &["b"]), with_fks("b", &["c"]), with_fks("c", &["b"])]);
        let names: Vec<&str> = order.iter().map(|s| s.table.as_str()).collect();
        assert_eq!(names, ["b", "aa", "c"]);
    }

    #[test]
    fn not_carried_objects_are_listed_by_kind() {
        let o = |kind: &str, name: &str| SchemaObject { kind: kind.into(), name: name.into(), ddl: String::new() };
        let lines = not_carried_lines(&[o("view", "v1"), o("trigger", "t.tr"), o("view", "v2")]);
        assert_eq!(lines, ["not carried: 1 trigger(s): t.tr", "not carried: 2 view(s): v1, v2"]);
    }

    #[test]
    fn quoted_lists() {
        assert_eq!(parse_quoted_list("enum('a','b''c','d,e')"), vec!["a", "b'c", "d,e"]);
        assert_eq!(type_args("decimal(65,30) unsigned"), vec![65, 30]);
    }
}
