//! `dynamodb-import`: `row` lines as DynamoDB items, `delete` lines as deletes.
//!
//! This thread reads and checks the input (an item DynamoDB cannot hold is
//! rejected here, naming its key) and hands requests to `--jobs` worker
//! threads, each with one call in flight:
//!
//! - `--mode replace`: BatchWriteItem, up to 25 puts and deletes (16 MB) per
//!   call; the items DynamoDB leaves unprocessed are sent again after an
//!   exponential backoff with full jitter until none is left;
//! - `--mode skip-existing` (default): PutItem with
//!   `attribute_not_exists(partition key)`; an item that exists is skipped;
//! - `--mode upsert`: UpdateItem `SET` of every attribute of the row (the
//!   item's other attributes are kept), DeleteItem for `delete` lines.
//!
//! Throttling and server errors are retried by the client with the same
//! backoff. Two writes of one key are never in flight together (a later
//! one waits for the earlier), so the stream's order per key holds.
//!
//! `--state FILE` records the input line before which every write is
//! acknowledged; a run killed at any point (even with kill -9) is resumed by
//! running the same command, and writes the lines after it again (puts,
//! updates and deletes are idempotent; in skip-existing mode an item the
//! killed run wrote is skipped).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use decant_record::cli::{
    self, InputArgs, Outcome, Progress, RejectArgs, Rejects, ReportArgs, Summary, EXIT_STATUS_HELP,
};
use decant_record::schema::KeySchema;
use decant_record::{ReadError, Record, RowData, TableSchema, Target};
use decant_stores::dynamodb::{self as ddb, codec, Client, DynamoError, DynamoUrl, RateLimiter};
use serde::Deserialize;

use crate::redis::state;

/// `dynamodb-import --help` after the flags.
pub const AFTER_HELP: &str = "\
Examples:
  dynamodb-import --url dynamodb://eu-west-1 --create-tables -i users.ndjson.zst
  mysql-export --url mysql://app@db/shop --tables customers | dynamodb-import --url dynamodb://eu-west-1 --create-tables
  dynamodb-export --url dynamodb://eu-west-1 --tables users | dynamodb-import --url 'dynamodb://us-east-1?endpoint=http://127.0.0.1:8000' --mode replace
  decant-diff a.ndjson b.ndjson --patch | dynamodb-import --url dynamodb://eu-west-1 --mode upsert
  dynamodb-import --url dynamodb://eu-west-1 -i big.ndjson --state big.state --rate-limit 1000 --reject-file rejects.ndjson

Modes: skip-existing (default) writes an item only where none has its key (a conditional
PutItem, one call per item); replace overwrites whole items with BatchWriteItem (25 per
call, several calls in flight); upsert sets the row's attributes on the item (UpdateItem),
keeping the attributes the row does not name. delete lines delete the item with that
key in replace and upsert modes (an error in skip-existing mode).

Items: each row is an item; its values follow decant NDJSON §2.2a ({\"$n\":…} numbers,
{\"$b64\":…} binaries, {\"$ss\"/\"$ns\"/\"$bs\":[…]} sets, null is NULL, objects are maps,
arrays are lists); integers and floats become numbers, a zero date its text. A row
whose item DynamoDB cannot hold is a reject naming its key: over 400 KB, an empty set,
a number with more than 38 digits, a missing or mistyped key attribute.

Tables: the target's key schema comes from DescribeTable. --create-tables creates a
missing table from its schema line (on-demand billing, then waits until it is ACTIVE):
the key_schema a dynamodb-export schema line has, else the primary key of a SQL
table (one column: partition key; two: partition and sort key; integer, decimal and
float columns are N, bytes B, others S).

Unprocessed items and throttling are retried with exponential backoff and full jitter
(the summary counts the retries); --rate-limit N keeps the writes under N write
capacity units per second. --state FILE makes the import resumable, even after kill -9:
run the same command again.

Credentials and region as the AWS CLI finds them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_PROFILE, ~/.aws/credentials, ~/.aws/config, AWS_REGION); secrets
are never printed. A local server (?endpoint=http://…) needs no credentials.";

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Write an item only where no item has its key (conditional PutItem).
    SkipExisting,
    /// Overwrite whole items (BatchWriteItem).
    Replace,
    /// Set the row's attributes on the item, keeping its other attributes (UpdateItem).
    Upsert,
}

/// Arguments of `dynamodb-import`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "dynamodb-import",
    version,
    about = "Import a decant NDJSON stream into DynamoDB tables (batched, retried, resumable).",
    after_help = format!("{AFTER_HELP}\n\n{EXIT_STATUS_HELP}")
)]
pub struct Args {
    /// Target: dynamodb://REGION, or dynamodb://REGION?endpoint=http://HOST:PORT for a local
    /// server; defaults to $TARGET_URL.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub input: InputArgs,
    /// skip-existing (default), replace or upsert.
    #[arg(long, value_enum, default_value_t = Mode::SkipExisting)]
    pub mode: Mode,
    /// Create missing tables from their schema lines (on-demand billing).
    #[arg(long)]
    pub create_tables: bool,
    /// Resumable import: progress is recorded in FILE; rerun the same command to go on.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Read and check everything, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub rejects: RejectArgs,
    /// Write capacity units per second at most.
    #[arg(long, value_name = "UNITS", value_parser = crate::dynamodb::parse_rate)]
    pub rate_limit: Option<f64>,
    /// Calls in flight at the same time.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
    /// Items per BatchWriteItem call (replace mode; DynamoDB takes at most 25).
    #[arg(long, value_name = "N", default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..=25))]
    pub batch_size: u32,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Parses a positive rate (units per second).
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("{text:?} is not a positive number of capacity units per second")),
    }
}

/// BatchWriteItem's request size limit.
const MAX_BATCH_BYTES: usize = 16 << 20;

/// Unprocessed-item rounds of one batch before the run gives up.
const MAX_UNPROCESSED_ROUNDS: u32 = 30;

/// What one write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// BatchWriteItem PutRequest (payload: the item).
    BatchPut,
    /// BatchWriteItem DeleteRequest (payload: the key).
    BatchDelete,
    /// A call of its own (payload: the whole request body).
    Call(&'static str),
}

/// One write and what it came from.
#[derive(Debug)]
struct Entry {
    line: u64,
    kind: Kind,
    /// Table name, NUL, key JSON: two writes of one key must not overlap.
    key_id: Vec<u8>,
    key_desc: String,
    payload: Vec<u8>,
    /// The input line, for the reject file.
    raw: Vec<u8>,
}

#[derive(Debug)]
struct Job {
    id: u64,
    table: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Default)]
struct Done {
    id: u64,
    table: String,
    lines: Vec<u64>,
    key_ids: Vec<Vec<u8>>,
    written: u64,
    skipped: u64,
    rejects: Vec<(u64, String, Vec<u8>, String)>,
    fatal: Option<String>,
}

/// Runs `dynamodb-import`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let url = resolve_url(args.url.as_deref())?;
    let client = Arc::new(Client::connect(&url)?);
    let limiter = args.rate_limit.map(|r| Arc::new(RateLimiter::new(r)));
    let mut reader = args.input.open()?;

    // --state: the first line fingerprints the input.
    let first = reader.next_record();
    let first_raw = reader.raw_line().to_vec();
    let mut run_state = None;
    let mut resume_after = 0;
    if let Some(path) = args.state.as_deref().filter(|_| !args.dry_run) {
        let fingerprint = blake3::hash(&first_raw).to_hex().to_string();
        let mut file = state::StateFile::new(path);
        let input = args.input.input.as_ref().map_or_else(|| "-".to_owned(), |p| p.display().to_string());
        let progress = match state::check(file.load()?, path, &fingerprint, None)? {
            Some(p) if p.finished => {
                cli::warn("the state file says this import finished already: nothing to do");
                return Ok(Outcome::Success);
            }
            Some(p) => {
                resume_after = p.line;
                if !args.report.quiet {
                    cli::warn(format_args!("resuming after input line {resume_after} ({})", path.display()));
                }
                p
            }
            None => {
                let p = state::Progress { input, first_line_blake3: fingerprint, ..Default::default() };
                file.save(&p)?;
                p
            }
        };
        run_state = Some((file, progress));
    } else if args.state.is_some() && !args.report.quiet {
        cli::warn("--dry-run ignores --state");
    }
    let rejects = Rejects::open(args.rejects.reject_file.as_deref(), resume_after > 0)?;

    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(args.jobs as usize);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let mut workers = Vec::new();
    if !args.dry_run {
        for i in 0..args.jobs {
            let (rx, tx, client, limiter) = (job_rx.clone(), done_tx.clone(), client.clone(), limiter.clone());
            workers.push(
                std::thread::Builder::new()
                    .name(format!("writer-{i}"))
                    .spawn(move || loop {
                        let job = match rx.lock().map(|r| r.recv()) {
                            Ok(Ok(job)) => job,
                            _ => return,
                        };
                        if tx.send(execute(&client, limiter.as_deref(), job)).is_err() {
                            return;
                        }
                    })
                    .context("starting a writer thread")?,
            );
        }
    }
    drop(done_tx);

    let mut im = Importer {
        mode: args.mode,
        dry_run: args.dry_run,
        create_tables: args.create_tables,
        batch_size: args.batch_size as usize,
        max_in_flight: args.jobs as usize * 2,
        client: client.clone(),
        tables: HashMap::new(),
        schemas: HashMap::new(),
        batches: HashMap::new(),
        in_flight_keys: HashMap::new(),
        in_flight_jobs: 0,
        next_job: 0,
        job_tx: Some(job_tx),
        done_rx,
        open_lines: BTreeMap::new(),
        last_line: 0,
        state: run_state,
        last_save: Instant::now(),
        summary: Summary::new(),
        progress: Progress::new(&args.report, "items", None),
        rejects,
        fatal: None,
    };
    let result = im.read_all(&mut reader, first, first_raw, resume_after);
    let result = result.and_then(|_| im.drain());
    // Workers end when the job channel closes.
    im.job_tx = None;
    for w in workers {
        let _ = w.join();
    }
    result?;
    im.finish_state()?;
    im.progress.finish();
    im.rejects.finish()?;
    if client.retries() > 0 {
        im.summary.add_note("calls retried (unprocessed items, throttling, errors)", client.retries());
    }
    im.summary.print(&args.report);
    if args.dry_run && !args.report.quiet {
        cli::warn("dry run: nothing was written");
    }
    Ok(if im.rejects.count() > 0 { Outcome::Failed } else { Outcome::Success })
}

fn resolve_url(cli_url: Option<&str>) -> anyhow::Result<DynamoUrl> {
    let text = match cli_url {
        Some(u) => u.to_owned(),
        None => match std::env::var("TARGET_URL").ok().filter(|v| !v.is_empty()) {
            Some(u) => u,
            None => bail!("no connection URL: give --url dynamodb://REGION, or set TARGET_URL"),
        },
    };
    Ok(DynamoUrl::parse(&text)?)
}

struct Importer {
    mode: Mode,
    dry_run: bool,
    create_tables: bool,
    batch_size: usize,
    max_in_flight: usize,
    client: Arc<Client>,
    /// Target tables and their keys (from DescribeTable).
    tables: HashMap<String, KeySchema>,
    /// Schema lines seen, for --create-tables and dry runs.
    schemas: HashMap<String, TableSchema>,
    /// Replace mode: the batch being filled, per table (entries, bytes).
    batches: HashMap<String, (Vec<Entry>, usize)>,
    in_flight_keys: HashMap<Vec<u8>, u32>,
    in_flight_jobs: usize,
    next_job: u64,
    job_tx: Option<mpsc::SyncSender<Job>>,
    done_rx: mpsc::Receiver<Done>,
    /// Input lines with writes not acknowledged yet (line → writes).
    open_lines: BTreeMap<u64, u32>,
    last_line: u64,
    state: Option<(state::StateFile, state::Progress)>,
    last_save: Instant,
    summary: Summary,
    progress: Progress,
    rejects: Rejects,
    fatal: Option<anyhow::Error>,
}

/// The state is saved at most this often (and at the end).
const SAVE_EVERY: Duration = Duration::from_millis(200);

impl Importer {
    fn read_all<R: std::io::BufRead>(
        &mut self,
        reader: &mut decant_record::RecordReader<R>,
        first: Result<Option<Record>, ReadError>,
        first_raw: Vec<u8>,
        resume_after: u64,
    ) -> anyhow::Result<()> {
        let mut next = Some((first, first_raw));
        loop {
            let (parsed, raw) = match next.take() {
                Some(p) => p,
                None => {
                    let r = reader.next_record();
                    let raw = reader.raw_line().to_vec();
                    (r, raw)
                }
            };
            let line = reader.line_number();
            let record = match parsed {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(()),
                Err(e) if e.is_recoverable() => {
                    self.last_line = line;
                    if line > resume_after {
                        let message = match &e {
                            ReadError::Malformed { message, .. } => message.clone(),
                            other => other.to_string(),
                        };
                        self.rejects.reject(Some(e.line()), &format!("line {}", e.line()), &raw, &message)?;
                    }
                    continue;
                }
                Err(e) => return Err(anyhow::Error::new(e).context("reading the input")),
            };
            self.last_line = line;
            // Schema lines are read again on resume: they say which tables and keys.
            if let Record::Schema(s) = record {
                self.schema(s)?;
                continue;
            }
            if line <= resume_after {
                continue;
            }
            match record {
                Record::Header(_) | Record::End(_) => {}
                Record::Row(row) => self.row(line, &row.table, row.data, raw)?,
                Record::Delete(d) => match d.target {
                    Target::Row { table, id } => self.delete(line, &table, id, raw)?,
                    _ => self.rejects.reject(
                        Some(line),
                        &format!("line {line}"),
                        &raw,
                        "a delete of a Redis key or function has no DynamoDB table to apply to",
                    )?,
                },
                other => self.rejects.reject(
                    Some(line),
                    &format!("line {line}"),
                    &raw,
                    &format!(
                        "a {} line is not a table row (dynamodb-import writes row and delete lines)",
                        other.kind()
                    ),
                )?,
            }
            self.poll()?;
        }
    }

    fn schema(&mut self, schema: TableSchema) -> anyhow::Result<()> {
        let table = schema.table.clone();
        self.schemas.insert(table.clone(), schema);
        if !self.tables.contains_key(&table) {
            self.resolve_table(&table)?;
        }
        Ok(())
    }

    /// Finds the target table's key (DescribeTable), creating the table
    /// with --create-tables from its schema line.
    fn resolve_table(&mut self, table: &str) -> anyhow::Result<Option<KeySchema>> {
        if let Some(k) = self.tables.get(table) {
            return Ok(Some(k.clone()));
        }
        let info = ddb::describe_table(&self.client, table).with_context(|| format!("reading table {table:?}"))?;
        let key = match info {
            Some(info) => {
                if let Some(k) = self.schemas.get(table).and_then(|s| ddb::key_schema_of(s).ok()) {
                    if k != info.key {
                        cli::warn(format_args!(
                            "table {table:?}: the target's key ({}) differs from the stream's schema line ({}); writing with the target's",
                            show_key(&info.key),
                            show_key(&k)
                        ));
                    }
                }
                info.key
            }
            None => {
                let Some(schema) = self.schemas.get(table) else { return Ok(None) };
                if !self.create_tables {
                    return Ok(None);
                }
                let key = ddb::key_schema_of(schema).map_err(|e| anyhow::anyhow!("--create-tables: {e}"))?;
                if !self.dry_run {
                    ddb::create_table(&self.client, table, &key, Duration::from_secs(300))
                        .with_context(|| format!("creating table {table:?}"))?;
                    self.summary.note(format!("created table {table} (key {}, on-demand billing)", show_key(&key)));
                }
                key
            }
        };
        self.tables.insert(table.to_owned(), key.clone());
        Ok(Some(key))
    }

    fn key_of(&mut self, table: &str) -> anyhow::Result<KeySchema> {
        match self.resolve_table(table)? {
            Some(k) => Ok(k),
            None if self.schemas.contains_key(table) => {
                bail!("table {table:?} does not exist in the target: pass --create-tables to create it from its schema line")
            }
            None => bail!(
                "table {table:?} does not exist in the target and the stream has no schema line for it: create it first"
            ),
        }
    }

    /// Rejects a line; `what` names the item (`key id=3, attribute "s"`)
    /// and goes into the reason, so the reject file says which item it was.
    fn reject(&mut self, line: u64, table: &str, what: &str, raw: &[u8], reason: &str) -> anyhow::Result<()> {
        self.summary.group(table).rejected += 1;
        self.rejects.reject(Some(line), &format!("line {line}: table {table:?}"), raw, &format!("{what}: {reason}"))
    }

    fn row(&mut self, line: u64, table: &str, data: RowData, raw: Vec<u8>) -> anyhow::Result<()> {
        let key = self.key_of(table)?;
        let key_desc = ddb::describe_key(&data, &key);
        let mut key_json = Vec::with_capacity(64);
        if let Err(reason) = ddb::item_key(&data, &key, &mut key_json) {
            return self.reject(line, table, &format!("key {key_desc}"), &raw, &reason);
        }
        let size = codec::item_size(&data);
        if size > codec::MAX_ITEM_BYTES {
            let reason = format!(
                "the item is {size} bytes, over DynamoDB's 400 KB item limit ({} bytes)",
                codec::MAX_ITEM_BYTES
            );
            return self.reject(line, table, &format!("key {key_desc}"), &raw, &reason);
        }
        let mut item = Vec::with_capacity(raw.len() + 64);
        if let Err(e) = codec::write_item(&data, &mut item) {
            return self.reject(line, table, &format!("key {key_desc}, {}", e.path), &raw, &e.reason);
        }
        let (kind, payload) = match self.mode {
            Mode::Replace => (Kind::BatchPut, item),
            Mode::SkipExisting => {
                let mut body = Vec::with_capacity(item.len() + 128);
                body.extend_from_slice(b"{\"TableName\":");
                decant_record::jsontext::write_str(&mut body, table);
                body.extend_from_slice(b",\"Item\":");
                body.extend_from_slice(&item);
                body.extend_from_slice(
                    b",\"ConditionExpression\":\"attribute_not_exists(#k)\",\"ExpressionAttributeNames\":{\"#k\":",
                );
                decant_record::jsontext::write_str(&mut body, &key.partition_key.name);
                body.extend_from_slice(b"},\"ReturnConsumedCapacity\":\"TOTAL\"}");
                (Kind::Call("PutItem"), body)
            }
            Mode::Upsert => match update_body(table, &data, &key, &key_json) {
                Ok(body) => (Kind::Call("UpdateItem"), body),
                Err(e) => return self.reject(line, table, &format!("key {key_desc}, {}", e.path), &raw, &e.reason),
            },
        };
        self.submit(table, Entry { line, kind, key_id: key_id(table, &key_json), key_desc, payload, raw })
    }

    fn delete(&mut self, line: u64, table: &str, id: RowData, raw: Vec<u8>) -> anyhow::Result<()> {
        let key = self.key_of(table)?;
        let key_desc = ddb::describe_key(&id, &key);
        if self.mode == Mode::SkipExisting {
            return self.reject(
                line,
                table,
                &format!("key {key_desc}"),
                &raw,
                "a delete line needs --mode replace or upsert (skip-existing never removes data)",
            );
        }
        let mut key_json = Vec::with_capacity(64);
        if let Err(reason) = ddb::item_key(&id, &key, &mut key_json) {
            return self.reject(line, table, &format!("key {key_desc}"), &raw, &reason);
        }
        let (kind, payload) = if self.mode == Mode::Replace {
            (Kind::BatchDelete, key_json.clone())
        } else {
            let mut body = Vec::with_capacity(key_json.len() + 64);
            body.extend_from_slice(b"{\"TableName\":");
            decant_record::jsontext::write_str(&mut body, table);
            body.extend_from_slice(b",\"Key\":");
            body.extend_from_slice(&key_json);
            body.extend_from_slice(b",\"ReturnConsumedCapacity\":\"TOTAL\"}");
            (Kind::Call("DeleteItem"), body)
        };
        self.submit(table, Entry { line, kind, key_id: key_id(table, &key_json), key_desc, payload, raw })
    }

    /// Queues one write: into its table's batch (replace mode) or as a call.
    fn submit(&mut self, table: &str, entry: Entry) -> anyhow::Result<()> {
        if self.dry_run {
            self.summary.group(table).written += 1;
            self.progress.inc(1);
            return Ok(());
        }
        *self.open_lines.entry(entry.line).or_default() += 1;
        if let Kind::Call(_) = entry.kind {
            self.wait_for_key(&entry.key_id)?;
            return self.dispatch(table.to_owned(), vec![entry]);
        }
        // A second write of a key in the open batch: DynamoDB refuses a batch
        // holding a key twice, and the order must hold, so send the batch first.
        let clash = self.batches.get(table).is_some_and(|(b, _)| b.iter().any(|e| e.key_id == entry.key_id));
        if clash {
            self.flush_table(table)?;
        }
        self.wait_for_key(&entry.key_id)?;
        let size = entry.payload.len() + 32;
        let (batch, bytes) = self.batches.entry(table.to_owned()).or_default();
        if *bytes + size > MAX_BATCH_BYTES - 4096 && !batch.is_empty() {
            self.flush_table(table)?;
        }
        let (batch, bytes) = self.batches.entry(table.to_owned()).or_default();
        batch.push(entry);
        *bytes += size;
        if batch.len() >= self.batch_size {
            self.flush_table(table)?;
        }
        Ok(())
    }

    fn flush_table(&mut self, table: &str) -> anyhow::Result<()> {
        if let Some((entries, _)) = self.batches.remove(table) {
            if !entries.is_empty() {
                self.dispatch(table.to_owned(), entries)?;
            }
        }
        Ok(())
    }

    /// Waits until no write of this key is in flight.
    fn wait_for_key(&mut self, key_id: &[u8]) -> anyhow::Result<()> {
        while self.in_flight_keys.contains_key(key_id) {
            self.wait_one()?;
        }
        Ok(())
    }

    fn dispatch(&mut self, table: String, entries: Vec<Entry>) -> anyhow::Result<()> {
        while self.in_flight_jobs >= self.max_in_flight {
            self.wait_one()?;
        }
        for e in &entries {
            *self.in_flight_keys.entry(e.key_id.clone()).or_default() += 1;
        }
        let id = self.next_job;
        self.next_job += 1;
        self.in_flight_jobs += 1;
        let tx = self.job_tx.as_ref().context("the writers are gone")?;
        if tx.send(Job { id, table, entries }).is_err() {
            bail!("the writer threads stopped");
        }
        Ok(())
    }

    /// Handles the completions that are there, without waiting.
    fn poll(&mut self) -> anyhow::Result<()> {
        while let Ok(done) = self.done_rx.try_recv() {
            self.complete(done)?;
        }
        Ok(())
    }

    fn wait_one(&mut self) -> anyhow::Result<()> {
        match self.done_rx.recv() {
            Ok(done) => self.complete(done),
            Err(_) => bail!("the writer threads stopped"),
        }
    }

    fn complete(&mut self, done: Done) -> anyhow::Result<()> {
        let _ = done.id;
        self.in_flight_jobs -= 1;
        for k in &done.key_ids {
            if let Some(n) = self.in_flight_keys.get_mut(k) {
                *n -= 1;
                if *n == 0 {
                    self.in_flight_keys.remove(k);
                }
            }
        }
        if let Some(fatal) = done.fatal {
            // Lines of a failed job stay open: a resumed run writes them again.
            if self.fatal.is_none() {
                self.fatal = Some(anyhow::anyhow!("{fatal}"));
            }
            bail!("table {:?}: {fatal}", done.table);
        }
        let counts = self.summary.group(&done.table);
        counts.written += done.written;
        counts.skipped += done.skipped;
        self.progress.inc(done.written + done.skipped + done.rejects.len() as u64);
        for (line, what, raw, reason) in done.rejects {
            self.reject(line, &done.table, &what, &raw, &reason)?;
        }
        for line in done.lines {
            if let Some(n) = self.open_lines.get_mut(&line) {
                *n -= 1;
                if *n == 0 {
                    self.open_lines.remove(&line);
                }
            }
        }
        if self.last_save.elapsed() >= SAVE_EVERY {
            self.save_state(false)?;
        }
        Ok(())
    }

    /// Every line before this one is acknowledged.
    fn watermark(&self) -> u64 {
        let buffered = self.batches.values().flat_map(|(b, _)| b.iter().map(|e| e.line)).min();
        let open = self.open_lines.keys().next().copied();
        match open.into_iter().chain(buffered).min() {
            Some(first) => first - 1,
            None => self.last_line,
        }
    }

    fn save_state(&mut self, finished: bool) -> anyhow::Result<()> {
        let line = self.watermark();
        if let Some((file, progress)) = self.state.as_mut() {
            if progress.line != line || finished {
                progress.line = line;
                progress.finished = finished;
                // Rejects are written before the state moves past their lines.
                self.rejects.finish()?;
                file.save(progress)?;
            }
        }
        self.last_save = Instant::now();
        Ok(())
    }

    /// Sends the open batches and waits for every write.
    fn drain(&mut self) -> anyhow::Result<()> {
        let tables: Vec<String> = self.batches.keys().cloned().collect();
        for t in tables {
            self.flush_table(&t)?;
        }
        while self.in_flight_jobs > 0 {
            self.wait_one()?;
        }
        Ok(())
    }

    fn finish_state(&mut self) -> anyhow::Result<()> {
        if self.state.is_some() {
            self.save_state(true)?;
        }
        Ok(())
    }
}

fn key_id(table: &str, key_json: &[u8]) -> Vec<u8> {
    let mut id = Vec::with_capacity(table.len() + 1 + key_json.len());
    id.extend_from_slice(table.as_bytes());
    id.push(0);
    id.extend_from_slice(key_json);
    id
}

fn show_key(k: &KeySchema) -> String {
    match &k.sort_key {
        Some(s) => format!("{} {}, {} {}", k.partition_key.name, k.partition_key.ty.as_str(), s.name, s.ty.as_str()),
        None => format!("{} {}", k.partition_key.name, k.partition_key.ty.as_str()),
    }
}

/// An UpdateItem body that sets every non-key attribute of the row.
fn update_body(table: &str, data: &RowData, key: &KeySchema, key_json: &[u8]) -> Result<Vec<u8>, codec::CodecError> {
    let is_key = |name: &str| name == key.partition_key.name || key.sort_key.as_ref().is_some_and(|s| s.name == name);
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(b"{\"TableName\":");
    decant_record::jsontext::write_str(&mut body, table);
    body.extend_from_slice(b",\"Key\":");
    body.extend_from_slice(key_json);
    let attrs: Vec<(&str, &decant_record::Value)> = data.iter().filter(|(k, _)| !is_key(k)).collect();
    if !attrs.is_empty() {
        let set: Vec<String> = (0..attrs.len()).map(|i| format!("#a{i} = :v{i}")).collect();
        body.extend_from_slice(b",\"UpdateExpression\":");
        decant_record::jsontext::write_str(&mut body, &format!("SET {}", set.join(", ")));
        body.extend_from_slice(b",\"ExpressionAttributeNames\":{");
        for (i, (name, _)) in attrs.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            decant_record::jsontext::write_str(&mut body, &format!("#a{i}"));
            body.push(b':');
            decant_record::jsontext::write_str(&mut body, name);
        }
        body.extend_from_slice(b"},\"ExpressionAttributeValues\":{");
        for (i, (name, value)) in attrs.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            decant_record::jsontext::write_str(&mut body, &format!(":v{i}"));
            body.push(b':');
            codec::write_attr(value, &mut format!("attribute {name:?}"), &mut body)?;
        }
        body.push(b'}');
    }
    body.extend_from_slice(b",\"ReturnConsumedCapacity\":\"TOTAL\"}");
    Ok(body)
}

/// Runs one job on a worker thread.
fn execute(client: &Client, limiter: Option<&RateLimiter>, job: Job) -> Done {
    let mut done = Done {
        id: job.id,
        table: job.table.clone(),
        lines: job.entries.iter().map(|e| e.line).collect(),
        key_ids: job.entries.iter().map(|e| e.key_id.clone()).collect(),
        ..Done::default()
    };
    let result = match job.entries.first().map(|e| e.kind) {
        Some(Kind::Call(_)) => job.entries.into_iter().try_for_each(|e| single(client, limiter, e, &mut done)),
        Some(_) => batch(client, limiter, &job.table, job.entries, &mut done),
        None => Ok(()),
    };
    if let Err(e) = result {
        done.fatal = Some(e.to_string());
    }
    done
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WriteOut {
    consumed_capacity: Option<ddb::Consumed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchOut {
    #[serde(default)]
    unprocessed_items: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    consumed_capacity: Vec<ddb::Consumed>,
}

fn consumed(limiter: Option<&RateLimiter>, units: f64) {
    if let Some(l) = limiter {
        l.consume(units);
    }
}

/// One call of its own (PutItem, UpdateItem, DeleteItem).
fn single(client: &Client, limiter: Option<&RateLimiter>, e: Entry, done: &mut Done) -> Result<(), DynamoError> {
    let Kind::Call(op) = e.kind else { unreachable!("single() is for calls") };
    if let Some(l) = limiter {
        l.acquire();
    }
    match client.call(op, &e.payload) {
        Ok(out) => {
            let units = serde_json::from_slice::<WriteOut>(&out).ok().and_then(|o| o.consumed_capacity);
            consumed(limiter, units.map_or(1.0, |c| c.capacity_units.max(1.0)));
            done.written += 1;
        }
        Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
            consumed(limiter, 1.0);
            done.skipped += 1;
        }
        Err(err) if err.code() == Some("ValidationException") => {
            done.rejects.push((e.line, format!("key {}", e.key_desc), e.raw, err.to_string()));
        }
        Err(err) => return Err(err),
    }
    Ok(())
}

/// One BatchWriteItem of puts and deletes, its unprocessed items sent again
/// until none is left. A batch DynamoDB refuses as a whole (one bad item
/// makes the call fail) is written item by item, so only the bad ones are
/// rejected.
fn batch(
    client: &Client,
    limiter: Option<&RateLimiter>,
    table: &str,
    entries: Vec<Entry>,
    done: &mut Done,
) -> Result<(), DynamoError> {
    let mut body = Vec::with_capacity(entries.iter().map(|e| e.payload.len() + 32).sum::<usize>() + 128);
    body.extend_from_slice(b"{\"RequestItems\":{");
    decant_record::jsontext::write_str(&mut body, table);
    body.extend_from_slice(b":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(if e.kind == Kind::BatchPut {
            b"{\"PutRequest\":{\"Item\":"
        } else {
            b"{\"DeleteRequest\":{\"Key\":"
        });
        body.extend_from_slice(&e.payload);
        body.extend_from_slice(b"}}");
    }
    body.extend_from_slice(b"]},\"ReturnConsumedCapacity\":\"TOTAL\"}");
    let mut round = 0;
    let mut sent_last = 0;
    loop {
        if let Some(l) = limiter {
            l.acquire();
        }
        let out = match client.call("BatchWriteItem", &body) {
            Ok(out) => out,
            Err(err) if err.code() == Some("ValidationException") && round == 0 => {
                return one_by_one(client, limiter, table, entries, done);
            }
            Err(err) => return Err(err),
        };
        let out: BatchOut = serde_json::from_slice(&out).map_err(|e| DynamoError::Service {
            operation: "BatchWriteItem".into(),
            status: 200,
            code: "BadResponse".into(),
            message: format!("cannot read the answer: {e}"),
        })?;
        let left: usize = out.unprocessed_items.values().filter_map(|v| v.as_array()).map(Vec::len).sum();
        // Each write costs at least one unit, whatever a server reports.
        let sent = if round == 0 { entries.len() } else { sent_last };
        let reported: f64 = out.consumed_capacity.iter().map(|c| c.capacity_units).sum();
        consumed(limiter, reported.max((sent - left.min(sent)) as f64));
        sent_last = left;
        if left == 0 {
            done.written += entries.len() as u64;
            return Ok(());
        }
        round += 1;
        if round >= MAX_UNPROCESSED_ROUNDS {
            return Err(DynamoError::Service {
                operation: "BatchWriteItem".into(),
                status: 200,
                code: "UnprocessedItems".into(),
                message: format!("{left} items still unprocessed after {round} rounds of retries"),
            });
        }
        client.count_retry();
        std::thread::sleep(client.retry.backoff(round.min(10) - 1));
        let again = serde_json::json!({"RequestItems": out.unprocessed_items, "ReturnConsumedCapacity": "TOTAL"});
        body = again.to_string().into_bytes();
    }
}

fn one_by_one(
    client: &Client,
    limiter: Option<&RateLimiter>,
    table: &str,
    entries: Vec<Entry>,
    done: &mut Done,
) -> Result<(), DynamoError> {
    for e in entries {
        let mut body = Vec::with_capacity(e.payload.len() + 64);
        body.extend_from_slice(b"{\"TableName\":");
        decant_record::jsontext::write_str(&mut body, table);
        body.extend_from_slice(if e.kind == Kind::BatchPut { b",\"Item\":" } else { b",\"Key\":" });
        body.extend_from_slice(&e.payload);
        body.extend_from_slice(b",\"ReturnConsumedCapacity\":\"TOTAL\"}");
        let op = if e.kind == Kind::BatchPut { "PutItem" } else { "DeleteItem" };
        single(client, limiter, Entry { kind: Kind::Call(op), payload: body, ..e }, done)?;
    }
    Ok(())
}
