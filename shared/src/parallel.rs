//! Reading a stream on several threads, as ripgrep searches: one thread frames
//! lines (and keeps every segment's record count and blake3 for the trailer
//! check, in [`RecordReader`]), worker threads decode and validate batches of
//! lines, and the calling thread takes the batches' results in stream order.
//!
//! - [`digest_stream`]: content digests, the same as [`Digester`] gives
//!   reading the stream in one thread (the multiset sums of the batches are
//!   added up; schemas and split keys, which depend on earlier lines, are
//!   handled in stream order).
//! - [`copy_stream`]: a validated pass-through, writing the same bytes as a
//!   loop of [`RecordReader::next_record`] and [`RecordWriter::write_raw`].
//!
//! Errors are those of the one-thread reader, with the same line numbers; the
//! first one in stream order stops the run. Memory is bounded: a fixed pool
//! of batches (of about [`BATCH_BYTES`] each) circulates between the threads.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::digest::{CanonicalOptions, ContentDigest, Digester, GroupKey, TableTypes};
use crate::reader::{Frame, ReadError, RecordReader};
use crate::record::{Record, RedisRecord};
use crate::writer::RecordWriter;

/// Bytes of lines in one batch: large enough that handing a batch to a thread
/// costs nothing next to decoding it, small enough to keep memory low.
pub const BATCH_BYTES: usize = 256 << 10;

/// Cap on the bytes of all batches in flight, whatever the thread count (a
/// many-core machine still reads any stream in a few megabytes).
const MAX_BATCH_MEMORY: usize = 16 << 20;

/// Stack of the framing and worker threads: as deep JSON decodes there as in
/// a main thread (the memory is only reserved, not used).
const THREAD_STACK: usize = 8 << 20;

/// The number of worker threads to use by default: one per core.
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// How a stream is shared among threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Worker threads (besides the framing thread); 1 or 0 reads the stream
    /// in the calling thread alone.
    pub threads: usize,
    /// Bytes of lines per batch handed to a worker ([`BATCH_BYTES`]).
    pub batch_bytes: usize,
}

impl Parallelism {
    /// `threads` workers with batches of [`BATCH_BYTES`].
    pub fn new(threads: usize) -> Parallelism {
        Parallelism { threads, batch_bytes: BATCH_BYTES }
    }
}

impl Default for Parallelism {
    /// One worker per core.
    fn default() -> Parallelism {
        Parallelism::new(default_threads())
    }
}

/// A run of consecutive lines, framed but (except control lines) not decoded.
#[derive(Debug)]
struct Batch<S> {
    seq: u64,
    /// Line number of the first line.
    first_line: u64,
    /// The lines' bytes (without line ends), back to back.
    bytes: Vec<u8>,
    /// Where each line ends in `bytes`, and whether the framing thread
    /// decoded it (its record is then the next one in `decoded`).
    lines: Vec<(usize, bool)>,
    /// The `header`, `end` and `schema` records among the lines, in order.
    decoded: Vec<Record>,
    /// What the framing thread knew from earlier control lines when this
    /// batch started (the digest's table types).
    state: S,
    /// The framing error after the last line, which ends the stream.
    error: Option<ReadError>,
}

impl<S: Default> Batch<S> {
    fn empty(batch_bytes: usize) -> Batch<S> {
        Batch {
            seq: 0,
            first_line: 0,
            bytes: Vec::with_capacity(batch_bytes + (16 << 10)),
            lines: Vec::new(),
            decoded: Vec::new(),
            state: S::default(),
            error: None,
        }
    }

    fn reset(&mut self, batch_bytes: usize) {
        self.bytes.clear();
        if self.bytes.capacity() > 4 * batch_bytes + (64 << 10) {
            // It held a huge line: give the memory back.
            self.bytes.shrink_to(batch_bytes + (16 << 10));
        }
        self.lines.clear();
        self.decoded.clear();
        self.error = None;
    }

    /// The lines with their numbers and, for control lines, their records.
    fn iter(&self) -> impl Iterator<Item = (u64, &[u8], Option<&Record>)> {
        let mut start = 0;
        let mut decoded = self.decoded.iter();
        self.lines.iter().enumerate().map(move |(i, &(end, is_decoded))| {
            let line = &self.bytes[start..end];
            start = end;
            let record = if is_decoded { decoded.next() } else { None };
            (self.first_line + i as u64, line, record)
        })
    }
}

/// Runs the framing thread and `threads` workers over `reader`; `collect`
/// gets each batch and its worker's output in stream order and returns false
/// to stop. `observe` keeps the framing thread's state from control lines.
/// Returns the reader (for its segments) when the whole input was read.
fn run<R, S, O, W>(
    reader: RecordReader<R>,
    parallelism: Parallelism,
    observe: fn(&mut S, &Record),
    make_worker: impl Fn() -> W,
    mut collect: impl FnMut(&mut Batch<S>, O) -> bool,
) -> Option<RecordReader<R>>
where
    R: BufRead + Send + 'static,
    S: Clone + Default + Send + 'static,
    O: Send + 'static,
    W: FnMut(&Batch<S>) -> O + Send + 'static,
{
    let batch_bytes = parallelism.batch_bytes.max(1);
    // Every batch in flight comes from this pool, which bounds memory: the
    // framing thread waits for a free batch when the others fall behind.
    // Two per worker keep every worker busy, within [`MAX_BATCH_MEMORY`].
    let pool_size = (2 * parallelism.threads.max(1) + 2).min((MAX_BATCH_MEMORY / batch_bytes).max(3));
    let threads = parallelism.threads.clamp(1, pool_size - 1);
    let (pool_tx, pool_rx) = mpsc::sync_channel::<Batch<S>>(pool_size);
    for _ in 0..pool_size {
        let _ = pool_tx.send(Batch::empty(batch_bytes));
    }
    let (jobs_tx, jobs_rx) = mpsc::channel::<Batch<S>>();
    let (done_tx, done_rx) = mpsc::channel::<(Batch<S>, thread::Result<O>)>();
    let stop = Arc::new(AtomicBool::new(false));

    let framer = {
        let stop = Arc::clone(&stop);
        thread::Builder::new()
            .name("decant-framer".into())
            .stack_size(THREAD_STACK)
            .spawn(move || frame_batches(reader, batch_bytes, pool_rx, jobs_tx, &stop, observe))
            .expect("spawning the framing thread")
    };
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    for i in 0..threads {
        let jobs = Arc::clone(&jobs_rx);
        let done = done_tx.clone();
        let mut work = make_worker();
        thread::Builder::new()
            .name(format!("decant-worker-{i}"))
            .stack_size(THREAD_STACK)
            .spawn(move || loop {
                let batch = match jobs.lock() {
                    Ok(queue) => queue.recv(),
                    Err(_) => return,
                };
                let Ok(batch) = batch else { return };
                let out = panic::catch_unwind(AssertUnwindSafe(|| work(&batch)));
                if done.send((batch, out)).is_err() {
                    return;
                }
            })
            .expect("spawning a worker thread");
    }
    drop(done_tx);

    let mut waiting: BTreeMap<u64, (Batch<S>, O)> = BTreeMap::new();
    let mut next = 0u64;
    let mut stopped = false;
    'results: for (batch, out) in done_rx.iter() {
        let out = match out {
            Ok(out) => out,
            Err(panicked) => {
                stop.store(true, Ordering::Relaxed);
                panic::resume_unwind(panicked);
            }
        };
        waiting.insert(batch.seq, (batch, out));
        while let Some((mut batch, out)) = waiting.remove(&next) {
            next += 1;
            // A framing error ends the stream after this batch's lines.
            let framing_error = batch.error.is_some();
            let go_on = collect(&mut batch, out) && !framing_error;
            if !go_on {
                stopped = true;
                break 'results;
            }
            batch.reset(batch_bytes);
            let _ = pool_tx.try_send(batch);
        }
    }
    if stopped {
        // The framing thread may be blocked reading a pipe: let it finish on
        // its own (it stops at its next batch) rather than wait for it.
        stop.store(true, Ordering::Relaxed);
        return None;
    }
    drop(pool_tx);
    match framer.join() {
        Ok(reader) => Some(reader),
        Err(panicked) => panic::resume_unwind(panicked),
    }
}

/// The framing thread: fills batches from the pool and hands them on.
fn frame_batches<R: BufRead, S: Clone + Default>(
    mut reader: RecordReader<R>,
    batch_bytes: usize,
    pool: Receiver<Batch<S>>,
    jobs: Sender<Batch<S>>,
    stop: &AtomicBool,
    observe: fn(&mut S, &Record),
) -> RecordReader<R> {
    let mut state = S::default();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut batch) = pool.recv() else { break };
        batch.seq = seq;
        batch.first_line = reader.line_number() + 1;
        batch.state = state.clone();
        let mut at_end = false;
        while batch.bytes.len() < batch_bytes {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    batch.bytes.extend_from_slice(reader.raw_line());
                    let record = match frame {
                        Frame::Record(r @ (Record::Header(_) | Record::End(_) | Record::Schema(_))) => Some(r),
                        // Decoded here only because its `kind` was not at
                        // the start of the line: a worker decodes it again.
                        Frame::Record(_) | Frame::Data => None,
                    };
                    batch.lines.push((batch.bytes.len(), record.is_some()));
                    if let Some(record) = record {
                        observe(&mut state, &record);
                        batch.decoded.push(record);
                    }
                }
                Ok(None) => {
                    at_end = true;
                    break;
                }
                Err(e) => {
                    batch.error = Some(e);
                    at_end = true;
                    break;
                }
            }
        }
        if batch.lines.is_empty() && batch.error.is_none() {
            break;
        }
        seq += 1;
        if jobs.send(batch).is_err() || at_end {
            break;
        }
    }
    reader
}

/// What the split-key state of a digest goes through, in stream order; the
/// workers add everything else (order does not matter for the sums).
#[derive(Debug)]
enum KeyEvent {
    /// Whole keys (one or more in a row).
    WholeKey,
    /// A part of a split hash, set, sorted set or stream, already added.
    Part { db: u32, key: Vec<u8>, starts: bool, ends: bool },
    /// A part of a split list or string: added in stream order.
    Ordered(RedisRecord),
}

/// One batch's share of a digest.
struct DigestPart {
    groups: BTreeMap<GroupKey, ContentDigest>,
    events: Vec<KeyEvent>,
    error: Option<ReadError>,
}

type TableState = Arc<HashMap<String, TableTypes>>;

/// What a digest of a whole stream gives.
#[derive(Debug)]
pub struct DigestRun<R> {
    /// Digest per table / key group, of the records before the first error.
    pub groups: BTreeMap<GroupKey, ContentDigest>,
    /// The first error, which stopped the run.
    pub error: Option<ReadError>,
    /// The reader after the end of input (for its segments); `None` when an
    /// error stopped the run early.
    pub reader: Option<RecordReader<R>>,
}

/// Content digests of a stream on `parallelism.threads` worker threads (plus a framing
/// thread): the same digests, error and line number as reading it with
/// [`RecordReader::next_record`] into a [`Digester`], stopping at the first
/// error — which is what 1 thread does, in the calling thread.
///
/// ```
/// use decant_record::digest::{CanonicalOptions, Digester};
/// use decant_record::parallel::{digest_stream, Parallelism};
/// use decant_record::RecordReader;
/// let input: &[u8] = b"{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1}}\n{\"kind\":\"redis\",\"db\":0,\"key\":\"k:1\",\"type\":\"set\",\"value\":[\"a\"]}\n";
/// let run = digest_stream(RecordReader::new(input), CanonicalOptions::default(), Parallelism::new(2));
/// assert!(run.error.is_none());
/// let mut one = Digester::new(CanonicalOptions::default());
/// for record in RecordReader::new(input) {
///     one.add(&record.unwrap());
/// }
/// assert_eq!(run.groups, one.finish());
/// ```
pub fn digest_stream<R: BufRead + Send + 'static>(
    reader: RecordReader<R>,
    opts: CanonicalOptions,
    parallelism: Parallelism,
) -> DigestRun<R> {
    if parallelism.threads <= 1 {
        let mut reader = reader;
        let mut digester = Digester::new(opts);
        let error = loop {
            match reader.next_record() {
                Ok(Some(record)) => digester.add(&record),
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        let reader = error.is_none().then_some(reader);
        return DigestRun { groups: digester.finish(), error, reader };
    }
    fn observe(tables: &mut TableState, record: &Record) {
        if let Record::Schema(schema) = record {
            let mut d = Digester::new(CanonicalOptions::default());
            d.set_table_types(Arc::clone(tables));
            d.add_schema(schema);
            *tables = d.table_types();
        }
    }
    let worker_opts = opts.clone();
    let make_worker = move || {
        let mut digester = Digester::new(worker_opts.clone());
        move |batch: &Batch<TableState>| digest_batch(&mut digester, batch)
    };
    let mut total = Digester::new(opts);
    let mut error = None;
    let reader = run(reader, parallelism, observe, make_worker, |batch, part: DigestPart| {
        total.merge_groups(&part.groups);
        for event in part.events {
            match event {
                KeyEvent::WholeKey => total.forget_open_key(),
                KeyEvent::Part { db, key, starts, ends } => total.pass_key_part(db, &key, starts, ends),
                KeyEvent::Ordered(r) => total.add_redis(&r),
            }
        }
        error = part.error.or_else(|| batch.error.take());
        error.is_none()
    });
    DigestRun { groups: total.finish(), error, reader }
}

/// A worker's digest of one batch, up to its first malformed line.
fn digest_batch(digester: &mut Digester, batch: &Batch<TableState>) -> DigestPart {
    digester.set_table_types(Arc::clone(&batch.state));
    digester.forget_open_key();
    let mut events = Vec::new();
    let mut error = None;
    for (line_no, line, decoded) in batch.iter() {
        let record = match decoded {
            Some(Record::Schema(schema)) => {
                digester.add_schema(schema);
                continue;
            }
            Some(_) => continue,
            None => match Record::decode(line) {
                Ok(record) => record,
                Err(e) => {
                    error = Some(ReadError::Malformed { line: line_no, message: e.0 });
                    break;
                }
            },
        };
        match record {
            Record::Redis(r) => {
                if digester.add_redis_independent(&r) {
                    if r.part.is_none() {
                        if !matches!(events.last(), Some(KeyEvent::WholeKey)) {
                            events.push(KeyEvent::WholeKey);
                        }
                    } else {
                        let (starts, ends) = (r.starts_key(), r.ends_key());
                        events.push(KeyEvent::Part { db: r.db, key: r.key, starts, ends });
                    }
                } else {
                    events.push(KeyEvent::Ordered(r));
                }
            }
            other => digester.add(&other),
        }
    }
    DigestPart { groups: digester.take_groups(), events, error }
}

/// Why a [`copy_stream`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The input is not a valid stream (the first error, with its line).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the output failed.
    #[error("writing: {0}")]
    Write(#[from] std::io::Error),
}

/// Validates every line of a stream on `parallelism.threads` worker threads (decoding it
/// fully, checking every trailer) and writes it to `writer` as a one-thread
/// pass-through does: data and schema lines as they were (without `\r`),
/// headers re-encoded, each segment re-sealed with a fresh trailer. Stops at
/// the first error, having written the lines before it. Returns the reader,
/// for its segments. One thread does the same in the calling thread.
///
/// ```
/// use decant_record::parallel::{copy_stream, Parallelism};
/// use decant_record::{RecordReader, RecordWriter};
/// let input: &[u8] = b"{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1}}\n";
/// let mut writer = RecordWriter::new(Vec::new());
/// copy_stream(RecordReader::new(input), &mut writer, Parallelism::new(2)).unwrap();
/// let out = writer.finish().unwrap();
/// assert!(out.starts_with(input));
/// ```
pub fn copy_stream<R: BufRead + Send + 'static, W: Write>(
    reader: RecordReader<R>,
    writer: &mut RecordWriter<W>,
    parallelism: Parallelism,
) -> Result<RecordReader<R>, CopyError> {
    if parallelism.threads <= 1 {
        let mut reader = reader;
        while let Some(record) = reader.next_record()? {
            match &record {
                Record::Header(_) | Record::End(_) => writer.write(&record)?,
                _ => writer.write_raw(reader.raw_line())?,
            }
        }
        return Ok(reader);
    }
    fn observe(_: &mut (), _: &Record) {}
    let make_worker = || {
        |batch: &Batch<()>| {
            batch.iter().find_map(|(line_no, line, decoded)| match decoded {
                Some(_) => None,
                None => Record::decode(line).err().map(|e| ReadError::Malformed { line: line_no, message: e.0 }),
            })
        }
    };
    let mut failure: Option<CopyError> = None;
    let reader = run(reader, parallelism, observe, make_worker, |batch, bad_line: Option<ReadError>| {
        let stop_at = bad_line.as_ref().map_or(u64::MAX, ReadError::line);
        for (line_no, line, decoded) in batch.iter() {
            if line_no >= stop_at {
                break;
            }
            let written = match decoded {
                Some(record @ (Record::Header(_) | Record::End(_))) => writer.write(record),
                _ => writer.write_raw(line),
            };
            if let Err(e) = written {
                failure = Some(CopyError::Write(e));
                return false;
            }
        }
        failure = bad_line.or_else(|| batch.error.take()).map(CopyError::Read);
        failure.is_none()
    });
    match (failure, reader) {
        (Some(e), _) => Err(e),
        (None, Some(reader)) => Ok(reader),
        (None, None) => Err(CopyError::Read(ReadError::Malformed { line: 0, message: "internal: stopped".into() })),
    }
}
