//! The `decant-transform` command: reads a stream, applies a spec, writes the
//! result, with rejects, `--unmatched`, a summary per rule and `--check`.

use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::path::PathBuf;

use anyhow::Context as _;
use decant_record::cli::{self, InputArgs, Outcome, OutputArgs, Progress, RejectArgs, Rejects, ReportArgs, Summary};
use decant_record::view::RedisView;
use decant_record::{Header, ReadError, Record, RecordWriter, RedisRecord, Value};

use crate::fold::Folder;
use crate::framing::{Framer, Next};

use crate::check_stats::{FieldStats, Unmatched as UnmatchedKeys};
use crate::rule::describe_record;
use crate::{RuleKind, Transformer, ViewOutcome};

/// The tool's name and version, for headers.
pub const TOOL: &str = concat!("decant-transform ", env!("CARGO_PKG_VERSION"));

const AFTER_HELP: &str = "\
Examples:
  # Redis → MySQL, tables created from the spec's [[schema]] declarations
  redis-export --url redis://127.0.0.1:6379/0 \\
    | decant-transform --spec examples/relay-to-mysql.toml \\
    | mysql-import --url mysql://root@127.0.0.1/relay --create-tables

  # what would each rule produce? (first 10,000 records of a backup)
  decant-transform --spec relay.toml --check -i backup.ndjson.zst

  # MySQL → Redis cache warm-up
  mysql-export --url mysql://root@127.0.0.1/relay --tables api_keys,usage_stats \\
    | decant-transform --spec examples/mysql-to-relay.toml \\
    | redis-import --url redis://127.0.0.1:6379/0 --mode replace

  # set aside records whose casts fail, keep going, exit 1 at the end
  decant-transform --spec relay.toml --reject-file rejects.ndjson < in.ndjson > out.ndjson

Records no rule matches follow --unmatched: `error` (the default) treats
each as a reject (stop, or --reject-file), `pass` copies it unchanged, `drop`
leaves it out (counted in the summary). Nothing vanishes silently.

The spec format is documented in examples/README.md.";

/// How records that match no rule are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Unmatched {
    /// Copy them to the output unchanged.
    Pass,
    /// Leave them out (counted as skipped).
    Drop,
    /// Treat each as a reject: stop, or write it to --reject-file.
    #[default]
    Error,
}

/// Command-line arguments of `decant-transform`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "decant-transform",
    version,
    about = "Map Redis keys to table rows, rows to Redis keys, and reshape rows, by a TOML spec",
    after_help = format!("{AFTER_HELP}\n\n{}", cli::EXIT_STATUS_HELP)
)]
pub struct Args {
    /// The spec (TOML): [[schema]] tables and [[rule]] mappings.
    #[arg(short, long, value_name = "FILE")]
    pub spec: PathBuf,
    /// What to do with records no rule matches.
    #[arg(long, value_enum, default_value_t = Unmatched::Error, value_name = "POLICY")]
    pub unmatched: Unmatched,
    /// Validate the spec and show what each rule produces for a sample of the
    /// input (no stream output). Without input on a terminal, only validates.
    #[arg(long)]
    pub check: bool,
    /// With --check: read at most N records.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub sample: u64,
    /// With --check: examples shown per rule.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub examples: usize,
    /// Do not write the spec's [[schema]] tables as schema lines.
    #[arg(long)]
    pub no_schema: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub input: InputArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub reject: RejectArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub report: ReportArgs,
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let t = Transformer::from_file(&args.spec).map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.check {
        return check(args, &t);
    }
    let input =
        decant_record::io::open_input(args.input.input.as_deref()).with_context(|| match &args.input.input {
            Some(p) => format!("opening {}", p.display()),
            None => "opening stdin".to_owned(),
        })?;
    let mut reader = Framer::new(input, args.input.reader_options());
    let out = args.output.create()?;
    let send_schemas_at_once = !out.is_compressed();
    let mut writer = RecordWriter::new(out);
    let mut rejects = Rejects::open(args.reject.reject_file.as_deref(), false)?;
    let mut summary = Summary::new();
    for r in t.rules() {
        summary.group(r.name());
    }
    let mut progress = Progress::new(&args.report, "records", None);
    let result =
        stream(args, &t, &mut reader, &mut writer, send_schemas_at_once, &mut rejects, &mut summary, &mut progress);
    progress.finish();
    rejects.finish()?;
    match result {
        Ok(()) => {
            let out = writer.finish().context("writing the output")?;
            out.finish().context("writing the output")?;
        }
        Err(e) => {
            // Keep what was written, unsealed, so readers see it is incomplete.
            if let Ok(out) = writer.abandon() {
                let _ = out.finish();
            }
            return Err(e);
        }
    }
    summary.print(&args.report);
    Ok(if rejects.count() > 0 { Outcome::Failed } else { Outcome::Success })
}

const UNMATCHED: &str = "(unmatched)";

/// Records per batch handed to a worker (and a cap on its input bytes).
const BATCH_RECORDS: usize = 512;
const BATCH_BYTES: usize = 1 << 20;

/// One line to transform, with what the worker needs to report it.
struct Item {
    line: u64,
    first_index: u64,
    payload: Payload,
}

enum Payload {
    /// A line the worker decodes: its bytes in [`Batch::buf`].
    Raw(Range<usize>),
    /// A line the reading thread had to decode (boxed: rare, and large).
    Record(Box<Record>),
}

/// A batch of lines for one worker.
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    items: Vec<Item>,
}

impl Batch {
    fn with_capacity() -> Batch {
        Batch { buf: Vec::with_capacity(BATCH_BYTES + (64 << 10)), items: Vec::with_capacity(BATCH_RECORDS) }
    }

    fn is_full(&self) -> bool {
        self.items.len() >= BATCH_RECORDS || self.buf.len() >= BATCH_BYTES
    }
}

/// Something the writer must handle at a point of a batch's output.
enum Event {
    /// A record to reject: its line, its JSON and why.
    Reject { line: u64, what: String, json: Vec<u8>, reason: String, group: Option<usize> },
    /// A one-element key of a folding rule, for the [`Folder`]: the rule,
    /// the input line and record (for a reject), the key, the order_by value.
    Fold { rule: usize, line: u64, source: Box<Record>, key: RedisRecord, order: Option<Value> },
}

/// A transformed batch: encoded output lines, the exceptional records, and counts.
#[derive(Default)]
struct Done {
    out: Vec<u8>,
    /// (byte offset in `out` at which the event happens, event)
    events: Vec<(usize, Event)>,
    /// Per rule: written, skipped.
    counts: Vec<(u64, u64)>,
    unmatched_written: u64,
    unmatched_skipped: u64,
}

impl Done {
    fn reject(&mut self, line: u64, what: String, json: Vec<u8>, reason: String, group: Option<usize>) {
        self.events.push((self.out.len(), Event::Reject { line, what, json, reason, group }));
    }
}

/// Reusable per-worker buffers.
#[derive(Default)]
struct Scratch {
    caps: Vec<Range<usize>>,
    records: Vec<Record>,
}

/// Transforms one batch (pure: runs on any thread).
fn work(t: &Transformer, unmatched: Unmatched, batch: Batch, scratch: &mut Scratch) -> Done {
    let mut done = Done {
        counts: vec![(0, 0); t.rules().len()],
        out: Vec::with_capacity(batch.buf.len() + batch.buf.len() / 2),
        ..Done::default()
    };
    for item in batch.items {
        match item.payload {
            Payload::Record(rec) => work_record(t, unmatched, item.line, item.first_index, &rec, scratch, &mut done),
            Payload::Raw(range) => {
                let bytes = &batch.buf[range];
                match RedisView::parse(bytes) {
                    // The reading thread sequences split keys; a part never
                    // arrives here.
                    Some(view) if view.part.is_none() => work_view(t, unmatched, item.line, &view, scratch, &mut done),
                    _ => match Record::decode(bytes) {
                        Ok(rec) => work_record(t, unmatched, item.line, item.first_index, &rec, scratch, &mut done),
                        Err(e) => {
                            let line = item.line;
                            let reason = ReadError::Malformed { line, message: e.0 }.to_string();
                            done.reject(line, format!("line {line}"), bytes.to_vec(), reason, None);
                        }
                    },
                }
            }
        }
    }
    done
}

/// The fast path: a `redis` line read through a view, rows written straight
/// into the output.
fn work_view(
    t: &Transformer,
    unmatched: Unmatched,
    line: u64,
    view: &RedisView,
    scratch: &mut Scratch,
    done: &mut Done,
) {
    let start = done.out.len();
    match t.apply_view(view, &mut scratch.caps, &mut done.out) {
        Ok(ViewOutcome::Matched { rule, rows }) => count(t, rule, rows, view.part.is_some_and(|p| p > 0), done),
        Ok(ViewOutcome::Unmatched) => {
            let rec = Record::Redis(view.to_record());
            unmatched_record(unmatched, line, &rec, done);
        }
        Ok(ViewOutcome::Fallback) => {
            let rec = Record::Redis(view.to_record());
            work_record(t, unmatched, line, 0, &rec, scratch, done);
        }
        Err(e) => {
            done.out.truncate(start);
            let rec = Record::Redis(view.to_record());
            rule_error(t, line, &rec, e, done);
        }
    }
}

/// Counts what a rule did with one record. A drop counts keys: the later
/// parts of a split key (`later_part`) are not counted again.
fn count(t: &Transformer, rule: usize, produced: u64, later_part: bool, done: &mut Done) {
    if t.rules()[rule].kind() == RuleKind::Drop {
        if !later_part {
            done.counts[rule].1 += 1;
        }
    } else {
        done.counts[rule].0 += produced;
    }
}

fn work_record(
    t: &Transformer,
    unmatched: Unmatched,
    line: u64,
    first_index: u64,
    rec: &Record,
    scratch: &mut Scratch,
    done: &mut Done,
) {
    scratch.records.clear();
    match t.apply_into(rec, first_index, &mut scratch.caps, &mut scratch.records) {
        Ok(Some(i)) if t.rules()[i].fold().is_some() => {
            for o in scratch.records.drain(..) {
                if let Record::Redis(key) = o {
                    let order = t.rules()[i].fold_order(rec);
                    let source = Box::new(rec.clone());
                    done.events.push((done.out.len(), Event::Fold { rule: i, line, source, key, order }));
                }
            }
        }
        Ok(Some(i)) => {
            let later_part = matches!(rec, Record::Redis(r) if r.part.is_some_and(|p| p > 0));
            count(t, i, scratch.records.len() as u64, later_part, done);
            for o in &scratch.records {
                o.encode(&mut done.out);
                done.out.push(b'\n');
            }
        }
        Ok(None) => unmatched_record(unmatched, line, rec, done),
        Err(e) => rule_error(t, line, rec, e, done),
    }
}

fn unmatched_record(unmatched: Unmatched, line: u64, rec: &Record, done: &mut Done) {
    match unmatched {
        Unmatched::Pass => {
            rec.encode(&mut done.out);
            done.out.push(b'\n');
            done.unmatched_written += 1;
        }
        Unmatched::Drop => done.unmatched_skipped += 1,
        Unmatched::Error => {
            let what = format!("line {line}, {}", describe_record(rec));
            let json = rec.to_json_string().into_bytes();
            let reason = if matches!(rec, Record::RedisFunction(_)) {
                "no rule takes Redis function libraries (export with redis-export --no-functions, or use --unmatched pass / drop)"
            } else {
                "no rule matches it (add a rule, or use --unmatched pass / drop)"
            }
            .to_owned();
            done.reject(line, what, json, reason, None);
        }
    }
}

fn rule_error(t: &Transformer, line: u64, rec: &Record, e: crate::TransformError, done: &mut Done) {
    let group = t.rules().iter().position(|r| r.name() == e.rule);
    let json = rec.to_json_string().into_bytes();
    done.reject(line, format!("line {line}"), json, e.to_string(), group);
}

/// Writes a finished batch in stream order.
fn deliver<W: Write>(
    t: &Transformer,
    done: Done,
    writer: &mut RecordWriter<W>,
    rejects: &mut Rejects,
    summary: &mut Summary,
    folder: &mut Folder,
) -> anyhow::Result<()> {
    let write_lines = |writer: &mut RecordWriter<W>, bytes: &[u8]| -> anyhow::Result<()> {
        let mut from = 0;
        for end in memchr::memchr_iter(b'\n', bytes) {
            if end > from {
                writer.write_raw(&bytes[from..end]).context("writing the output")?;
            }
            from = end + 1;
        }
        Ok(())
    };
    let mut at = 0;
    for (offset, event) in done.events {
        write_lines(writer, &done.out[at..offset])?;
        at = offset;
        match event {
            Event::Reject { line, what, json, reason, group } => {
                let name = group.map_or(UNMATCHED, |g| t.rules()[g].name());
                summary.group(name).rejected += 1;
                rejects.reject(Some(line), &what, &json, &reason)?;
            }
            Event::Fold { rule, line, source, key, order } => {
                let name = t.rules()[rule].name();
                let mut emit = |r: RedisRecord| writer.write(&Record::Redis(r));
                match folder.add(rule, key, order.as_ref(), &mut emit).context("writing the output")? {
                    Ok(keys) => summary.group(name).written += keys,
                    Err(reason) => {
                        summary.group(name).rejected += 1;
                        let json = source.to_json_string().into_bytes();
                        rejects.reject(
                            Some(line),
                            &format!("line {line}"),
                            &json,
                            &format!("rule {name:?}: {reason}"),
                        )?;
                    }
                }
            }
        }
    }
    write_lines(writer, &done.out[at..])?;
    for (rule, (written, skipped)) in t.rules().iter().zip(done.counts) {
        let g = summary.group(rule.name());
        g.written += written;
        g.skipped += skipped;
    }
    if done.unmatched_written + done.unmatched_skipped > 0 {
        let g = summary.group(UNMATCHED);
        g.written += done.unmatched_written;
        g.skipped += done.unmatched_skipped;
    }
    Ok(())
}

/// The streaming loop: this thread frames lines and writes in order; worker
/// threads decode and transform batches of lines in between.
#[allow(clippy::too_many_arguments)]
fn stream<W: Write>(
    args: &Args,
    t: &Transformer,
    reader: &mut Framer<decant_record::io::Input>,
    writer: &mut RecordWriter<W>,
    send_schemas_at_once: bool,
    rejects: &mut Rejects,
    summary: &mut Summary,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let unmatched = args.unmatched;
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<(u64, Batch)>(workers * 2);
        let job_rx = std::sync::Arc::new(std::sync::Mutex::new(job_rx));
        let (done_tx, done_rx) = std::sync::mpsc::channel::<(u64, Done)>();
        for _ in 0..workers {
            let job_rx = std::sync::Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                loop {
                    let job = job_rx.lock().map_err(|_| ()).and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((seq, batch)) = job else { break };
                    if done_tx.send((seq, work(t, unmatched, batch, &mut scratch))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);

        let mut pending: std::collections::BTreeMap<u64, Done> = std::collections::BTreeMap::new();
        let (mut sent, mut delivered) = (0u64, 0u64);
        // Delivers finished batches in order; waits until the number in
        // flight is below `max`.
        let drain = |pending: &mut std::collections::BTreeMap<u64, Done>,
                     delivered: &mut u64,
                     sent: u64,
                     max: u64,
                     writer: &mut RecordWriter<W>,
                     rejects: &mut Rejects,
                     summary: &mut Summary,
                     folder: &mut Folder|
         -> anyhow::Result<()> {
            loop {
                while let Some(done) = pending.remove(delivered) {
                    deliver(t, done, writer, rejects, summary, folder)?;
                    *delivered += 1;
                }
                if sent - *delivered < max {
                    return Ok(());
                }
                match done_rx.recv() {
                    Ok((seq, done)) => {
                        pending.insert(seq, done);
                    }
                    Err(_) => anyhow::bail!("a worker thread stopped unexpectedly"),
                }
            }
        };

        let mut started = false;
        let start = |writer: &mut RecordWriter<W>, source: Option<String>| -> anyhow::Result<()> {
            writer.write_header(&Header::new(TOOL, source)).context("writing the output")?;
            if !args.no_schema {
                for s in t.schemas() {
                    writer.write(&Record::Schema(s.clone())).context("writing the output")?;
                }
                if send_schemas_at_once {
                    // An importer downstream creates its tables (DDL that
                    // waits on the disk) while the first batches are being
                    // transformed, instead of after the first output buffer.
                    writer.flush().context("writing the output")?;
                }
            }
            Ok(())
        };
        // Running element position of a key split into parts.
        let mut split: Option<(u32, Vec<u8>, u64)> = None;
        let mut batch = Batch::with_capacity();
        let in_flight = (workers * 2) as u64;
        let mut folder = Folder::new(t.rules().len());
        let result = (|| -> anyhow::Result<()> {
            // Sends the batch being filled, if any.
            macro_rules! send_batch {
                () => {
                    if !batch.items.is_empty() {
                        job_tx.send((sent, std::mem::replace(&mut batch, Batch::with_capacity()))).ok();
                        sent += 1;
                    }
                };
            }
            loop {
                let next = match reader.next_line() {
                    Ok(Some(n)) => n,
                    Ok(None) => break,
                    Err(e) if e.is_recoverable() => {
                        // Keep the stream order: flush what comes before it.
                        send_batch!();
                        drain(&mut pending, &mut delivered, sent, 1, writer, rejects, summary, &mut folder)?;
                        let line = e.line();
                        summary.group(UNMATCHED).rejected += 1;
                        rejects.reject(Some(line), &format!("line {line}"), reader.raw_line(), &e.to_string())?;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                progress.inc(1);
                let rec = match next {
                    Next::Raw => {
                        if !started {
                            started = true;
                            start(writer, None)?;
                        }
                        let raw = reader.raw_line();
                        let from = batch.buf.len();
                        batch.buf.extend_from_slice(raw);
                        batch.items.push(Item {
                            line: reader.line_number(),
                            first_index: 0,
                            payload: Payload::Raw(from..batch.buf.len()),
                        });
                        if batch.is_full() {
                            drain(
                                &mut pending,
                                &mut delivered,
                                sent,
                                in_flight,
                                writer,
                                rejects,
                                summary,
                                &mut folder,
                            )?;
                            send_batch!();
                        }
                        continue;
                    }
                    Next::Record(rec) => *rec,
                };
                match &rec {
                    Record::Header(h) => {
                        if !started {
                            started = true;
                            start(writer, h.source.clone())?;
                        }
                        continue;
                    }
                    Record::End(_) => continue,
                    _ => {}
                }
                if !started {
                    started = true;
                    start(writer, None)?;
                }
                let line = reader.line_number();
                let first_index = match &rec {
                    Record::Redis(r) => match r.part {
                        None | Some(0) => {
                            split = r.part.map(|_| (r.db, r.key.clone(), r.value.len() as u64));
                            0
                        }
                        Some(_) => match &mut split {
                            Some((db, key, next)) if *db == r.db && *key == r.key => {
                                let first = *next;
                                *next += r.value.len() as u64;
                                first
                            }
                            _ => {
                                send_batch!();
                                drain(&mut pending, &mut delivered, sent, 1, writer, rejects, summary, &mut folder)?;
                                summary.group(UNMATCHED).rejected += 1;
                                rejects.reject(
                                    Some(line),
                                    &format!("line {line}, {}", describe_record(&rec)),
                                    reader.raw_line(),
                                    "a later part of a split key without its part 0 before it",
                                )?;
                                continue;
                            }
                        },
                    },
                    _ => 0,
                };
                batch.items.push(Item { line, first_index, payload: Payload::Record(Box::new(rec)) });
                if batch.is_full() {
                    drain(&mut pending, &mut delivered, sent, in_flight, writer, rejects, summary, &mut folder)?;
                    send_batch!();
                }
            }
            send_batch!();
            drain(&mut pending, &mut delivered, sent, 1, writer, rejects, summary, &mut folder)?;
            let mut emit = |r: RedisRecord| writer.write(&Record::Redis(r));
            let folded = folder.finish(&mut emit).context("writing the output")?;
            for (rule, keys) in t.rules().iter().zip(folded) {
                summary.group(rule.name()).written += keys;
            }
            if !started {
                start(writer, None)?;
            }
            Ok(())
        })();
        // Let the workers finish (they stop when the job channel closes).
        drop(job_tx);
        result
    })
}

/// Per-rule findings of `--check`.
#[derive(Debug, Default)]
struct RuleCheck {
    matched: u64,
    produced: u64,
    errors: u64,
    examples: Vec<(String, Vec<String>)>,
    first_errors: Vec<String>,
    fields: FieldStats,
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn check(args: &Args, t: &Transformer) -> anyhow::Result<Outcome> {
    let stdout = std::io::stdout();
    let mut o = stdout.lock();
    writeln!(
        o,
        "spec {}: valid, {} rule(s), {} declared table(s)",
        args.spec.display(),
        t.rules().len(),
        t.schemas().len()
    )?;
    for s in t.schemas() {
        let cols: Vec<String> = s
            .columns
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c.name,
                    serde_json::to_value(c.ty).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
                )
            })
            .collect();
        writeln!(o, "  table {}: {}", s.table, clip(&cols.join(", "), 200))?;
    }
    let no_input = args.input.input.is_none() && std::io::stdin().is_terminal();
    if no_input {
        for r in t.rules() {
            writeln!(o, "rule {:?}: {} → {}", r.name(), r.match_text(), r.output_text())?;
        }
        writeln!(o, "(no input: pipe a sample or give -i FILE to see what each rule produces)")?;
        return Ok(Outcome::Success);
    }
    let mut reader = args.input.open()?;
    let mut checks: Vec<RuleCheck> = t.rules().iter().map(|_| RuleCheck::default()).collect();
    let (mut read, mut unmatched, mut malformed) = (0u64, 0u64, 0u64);
    let mut unmatched_keys = UnmatchedKeys::default();
    let mut caps = Vec::new();
    let mut out = Vec::new();
    while read < args.sample {
        let rec = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) if e.is_recoverable() => {
                malformed += 1;
                if malformed <= 3 {
                    writeln!(o, "input {e}")?;
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if matches!(rec, Record::Header(_) | Record::End(_)) {
            continue;
        }
        read += 1;
        out.clear();
        match t.apply_into(&rec, 0, &mut caps, &mut out) {
            Ok(Some(i)) => {
                let c = &mut checks[i];
                c.matched += 1;
                c.produced += out.len() as u64;
                c.fields.add(&rec);
                if c.examples.len() < args.examples {
                    let shown: Vec<String> = out.iter().take(3).map(|r| clip(&r.to_json_string(), 400)).collect();
                    c.examples.push((clip(&rec.to_json_string(), 300), shown));
                }
            }
            Ok(None) => {
                unmatched += 1;
                unmatched_keys.add(&rec);
            }
            Err(e) => {
                if let Some(i) = t.rules().iter().position(|r| r.name() == e.rule) {
                    let c = &mut checks[i];
                    c.matched += 1;
                    c.errors += 1;
                    c.fields.add(&rec);
                    c.fields.fail(&e);
                    if c.first_errors.len() < 3 {
                        c.first_errors.push(format!("line {}: {e}", reader.line_number()));
                    }
                }
            }
        }
    }
    writeln!(
        o,
        "read {} record(s){}",
        cli::group_digits(read),
        if read >= args.sample { " (--sample limit)" } else { "" }
    )?;
    let mut problems = malformed;
    for (r, c) in t.rules().iter().zip(&checks) {
        writeln!(o)?;
        writeln!(o, "rule {:?}: {} → {}", r.name(), r.match_text(), r.output_text())?;
        writeln!(
            o,
            "  matched {}, produced {}, errors {}",
            cli::group_digits(c.matched),
            cli::group_digits(c.produced),
            cli::group_digits(c.errors)
        )?;
        if c.matched == 0 {
            writeln!(o, "  (matched nothing in the sample)")?;
        }
        for (input, outputs) in &c.examples {
            writeln!(o, "  in:  {input}")?;
            for x in outputs {
                writeln!(o, "  out: {x}")?;
            }
        }
        for line in c.fields.report(r) {
            writeln!(o, "  {line}")?;
        }
        for e in &c.first_errors {
            writeln!(o, "  error: {e}")?;
        }
        problems += c.errors;
    }
    writeln!(o)?;
    if unmatched > 0 {
        writeln!(
            o,
            "unmatched: {} record(s), which --unmatched {} would {}",
            cli::group_digits(unmatched),
            match args.unmatched {
                Unmatched::Pass => "pass",
                Unmatched::Drop => "drop",
                Unmatched::Error => "error",
            },
            match args.unmatched {
                Unmatched::Pass => "copy unchanged",
                Unmatched::Drop => "leave out",
                Unmatched::Error => "reject",
            }
        )?;
        let groups = unmatched_keys.largest();
        writeln!(o, "  by shape ({} group(s)):", groups.len())?;
        for (shape, ty, n, example) in groups.iter().take(50) {
            writeln!(o, "  {:>8}  {shape} ({ty}), e.g. {example}", cli::group_digits(*n))?;
        }
        if groups.len() > 50 {
            writeln!(o, "  … and {} more group(s)", groups.len() - 50)?;
        }
        if args.unmatched == Unmatched::Error {
            problems += unmatched;
        }
    } else {
        writeln!(o, "unmatched: none")?;
    }
    writeln!(o, "{}", if problems == 0 { "check: OK" } else { "check: problems found" })?;
    o.flush()?;
    Ok(if problems == 0 { Outcome::Success } else { Outcome::Failed })
}
