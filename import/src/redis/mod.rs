//! `redis-import`: `redis` (and `delete`) lines of a decant stream into a
//! Redis server or Redis Cluster.
//!
//! Records are applied in batches. For each batch, one pipeline of `EXISTS`
//! decides what `--mode skip-existing` (and `merge`, for `RESTORE`) may
//! write, then one pipeline writes it: `RESTORE … ABSTTL` when the record
//! carries a DUMP payload the target accepts, else the type's commands
//! (`SET`, `HSET`, `RPUSH`, `SADD`, `ZADD`, `XADD` + `XGROUP`/`XSETID`)
//! followed by `PEXPIREAT`. Lines are decoded on a thread of their own, and
//! a batch's writes are encoded while the server still works on the previous
//! batch (`Importer::stage_writes`), so the server rarely waits for
//! this side.
//!
//! Most keys need no `EXISTS` and one command: a whole string is `SET … NX
//! [PXAT]`, and a whole hash, list, set or sorted set (outside merge mode)
//! is `RESTORE … ABSTTL` of a payload built here (`decant_stores::redis::dump`;
//! a small hash as the very listpack `HSET` would build), which the server
//! refuses with `BUSYKEY` when the key exists — skip-existing decided in the
//! same command, for less server work than the commands themselves. With
//! `--state` the run is resumable (see the `state` module).
//!
//! Every reply is checked and attributed to its key: a key the server
//! refuses (OOM, WRONGTYPE in merge mode, …) goes to `--reject-file` with
//! the server's message and the run carries on (exit 1); without a reject
//! file it stops the run.

pub use decant_stores::redis::conn;
pub mod state;

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::bail;
use decant_record::cli::{
    self, InputArgs, Outcome, Progress, RejectArgs, Rejects, ReportArgs, Summary, TargetArgs, EXIT_STATUS_HELP,
};
use decant_record::conn::{ConnUrl, Role, Store};
use decant_record::digest::KeyGrouper;
use decant_record::record::Target;
use decant_record::{Bytes, ReadError, Record, RedisRecord, RedisValue};

use self::conn::{error_text, int_of, key_slot, Conn, Endpoint, Packer, Reply, SlotRange};
use decant_stores::redis::dump;

const AFTER_HELP: &str = "\
Examples:
  redis-import --url redis://qa:6379/0 -i prod.ndjson.zst
  redis-export --url redis://prod:6379/0 | redis-import --url redis://qa:6379/0 --mode replace --yes
  redis-import --url redis://qa:6379/0 --mode merge --reject-file rejects.ndjson < keys.ndjson
  TARGET_REDIS_HOST=qa TARGET_REDIS_PASSWORD=… redis-import --dry-run backup.ndjson
  redis-import --url 'redis+unix:///run/redis/redis.sock?db=2' backup.ndjson   # as redis-cli -s

Modes:
  skip-existing  never touch a key that already exists (the default)
  replace        delete an existing key, then write the record's value
  merge          add into existing keys: hash fields, set/zset members, list
                 elements (appended), stream entries; strings are overwritten

Keys of module types (\"type\":\"module\") are restored with RESTORE of their
DUMP payload; a target without the module refuses it, and the key is rejected
with the module's name (load the module first). Function libraries
(redis_function lines) are loaded with FUNCTION LOAD (REPLACE in replace mode).

Expiry is restored with PEXPIREAT (absolute); keys whose expiry has passed are
counted as skipped. Hash field expiries (field_expire_at_ms) are restored with
HPEXPIREAT (Redis 7.4+, Valkey 9+); fields whose expiry has passed are left out
and counted (\"hash fields already expired, skipped\"), and a target without
field expiry refuses such keys, naming them, rather than keep the fields forever. Parts of a big key are applied in order. `delete` lines
delete keys in replace and merge modes. The summary counts keys per group
(the first `:`-segment, see --group-by): copied, skipped, errors.

With --state FILE the run records its progress after every acknowledged
batch; run the same command again after a crash or kill and it continues
where it stopped, rewriting the keys that were in flight from scratch (no
duplicated list elements, no lost keys). The file refuses a different input.";

/// What to do with keys that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Leave existing keys alone.
    SkipExisting,
    /// Delete existing keys and write the record's value.
    Replace,
    /// Add into existing keys.
    Merge,
}

/// Arguments of `redis-import`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "redis-import",
    version,
    about = "Import a decant NDJSON stream of Redis keys into Redis (standalone or cluster).",
    after_help = format!("{AFTER_HELP}\n\n{EXIT_STATUS_HELP}")
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub tls: conn::TlsArgs,
    /// Input file (same as -i; stdin when neither is given).
    #[arg(value_name = "FILE", conflicts_with = "input")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// What to do with keys that already exist.
    #[arg(long, value_enum, default_value_t = Mode::SkipExisting)]
    pub mode: Mode,
    /// Connect and read everything, report what would be copied or skipped,
    /// write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation before --mode replace.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Write each record into its own "db" instead of the URL's database.
    #[arg(long)]
    pub keep_db: bool,
    /// Treat the target as a Redis Cluster (detected automatically).
    #[arg(long)]
    pub cluster: bool,
    /// Keys per pipeline.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Record progress in FILE so that a killed run, started again with the
    /// same FILE and input, continues where it stopped.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The share of a `--shard I/N` export this input is (numbered from 0).
    /// The stream's header says it already; the flag makes the command line
    /// say it too, and must agree with the header. Recorded in the --state
    /// file (which only a run of the same share resumes) and the summary.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<decant_record::shard::Shard>,
    /// How keys are grouped in the summary: a depth of `:`-segments (1),
    /// `SEPARATOR,DEPTH`, or `none`.
    #[arg(long, value_name = "SPEC", default_value = "1")]
    pub group_by: KeyGrouper,
    #[command(flatten)]
    pub rejects: RejectArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Runs `redis-import`.
pub fn run(mut args: Args) -> anyhow::Result<Outcome> {
    let url = ConnUrl::resolve(args.target.url.as_deref(), args.target.password_file.as_deref(), Role::Target, true)?;
    if url.store() != Store::Redis {
        bail!("{url} is not a Redis URL (expected redis://, rediss:// or redis+unix:///path/redis.sock)");
    }
    if args.file.is_some() {
        args.input.input = args.file.take();
    }
    let endpoint = Endpoint::new(url, args.tls.clone(), None)?;
    let mut seed = endpoint.connect()?;
    let info = seed.server_info()?;
    let cluster = args.cluster || info.cluster;
    if cluster && endpoint.socket_path().is_some() {
        bail!(
            "{}: a Redis Cluster is reached over TCP (its nodes announce host:port), not a unix socket",
            endpoint.shown()
        );
    }
    if cluster && endpoint.db() != 0 {
        bail!("Redis Cluster has only database 0 (the URL names db {})", endpoint.db());
    }
    if args.mode == Mode::Replace && !args.dry_run && !args.yes && std::io::stdin().is_terminal() {
        confirm(&endpoint.shown())?;
    }
    let clock_offset_ms = server_clock_offset(&mut seed)?;
    // RESTORE … ABSTTL: Redis 5.0+ (and every Valkey), unless renamed away.
    let build_payloads =
        args.mode != Mode::Merge && !args.dry_run && info.at_least(5, 0) && seed.has_command("RESTORE");
    let limits = if build_payloads && info.at_least(7, 0) { listpack_limits(&mut seed) } else { None };

    let mut nodes = Vec::new();
    let mut slots = Vec::new();
    let (seed_host, _) = endpoint.host_port();
    if cluster {
        let ranges = seed.cluster_slots(&seed_host)?;
        drop(seed);
        let mut addrs: Vec<(String, u16)> = Vec::new();
        slots = slot_table(&ranges, &mut addrs);
        for (host, port) in &addrs {
            nodes.push(Node {
                conn: endpoint.connect_to(host, *port, 0)?,
                db: 0,
                pipe: Pipe::default(),
                staged: Staged::default(),
                inflight: Vec::new(),
            });
        }
    } else {
        nodes.push(Node {
            conn: seed,
            db: endpoint.db(),
            pipe: Pipe::default(),
            staged: Staged::default(),
            inflight: Vec::new(),
        });
    }

    let (reader, meter) = args.input.open_metered()?;
    let mut source = Decoded::spawn(reader);
    let share = input_share(args.shard, &source.first_line())?;
    let mut run_state = None;
    let mut resume_after = 0;
    if let Some(path) = args.state.as_deref().filter(|_| !args.dry_run) {
        let fingerprint = blake3::hash(&source.first_line()).to_hex().to_string();
        let mut file = state::StateFile::new(path);
        let input = args.input.input.as_ref().map_or_else(|| "-".to_owned(), |p| p.display().to_string());
        let progress = match state::check(file.load()?, path, &fingerprint, share)? {
            Some(p) if p.finished => {
                cli::warn("the state file says this import finished already: nothing to do");
                return Ok(Outcome::Success);
            }
            Some(p) => {
                resume_after = p.resume_after();
                if !args.report.quiet {
                    cli::warn(format_args!("resuming after input line {resume_after} ({})", path.display()));
                }
                p
            }
            None => {
                let p = state::Progress { input, first_line_blake3: fingerprint, shard: share, ..Default::default() };
                file.save(&p)?;
                p
            }
        };
        run_state = Some((file, progress));
    } else if args.state.is_some() && !args.report.quiet {
        cli::warn("--dry-run ignores --state");
    }
    let restarts: HashMap<(u32, Vec<u8>), Option<i64>> =
        run_state.iter().flat_map(|(_, p)| p.restart.iter().map(|r| ((r.db, r.key.0.clone()), r.list_len))).collect();
    let rejects = Rejects::open(args.rejects.reject_file.as_deref(), resume_after > 0)?;
    let mut im = Importer {
        mode: args.mode,
        dry_run: args.dry_run,
        keep_db: args.keep_db,
        cluster,
        target_db: endpoint.db(),
        pxat: info.at_least(6, 2),
        redis7: info.at_least(7, 0),
        field_expiry: info.field_expiry,
        expired_fields: 0,
        functions_loaded: 0,
        functions_skipped: 0,
        function_conns: Vec::new(),
        restore_ok: true,
        build_payloads,
        limits,
        clock_offset_ms,
        grouper: args.group_by.clone(),
        summary: Summary::new().with_shard(share),
        progress: {
            let mut p = Progress::new(&args.report, "keys", None);
            p.set_meter(meter);
            p
        },
        rejects,
        nodes,
        slots,
        endpoint,
        open: None,
        retries: Vec::new(),
        cleanup: Vec::new(),
        failed_key: None,
        deleted: 0,
        state: run_state,
        resume_after,
        restarts,
        restart_open: None,
        lines_read: resume_after,
        spare_items: Vec::new(),
    };

    let batch_size = args.batch_size as usize;
    let mut in_flight: Option<(Vec<Item>, u64)> = None;
    let mut done_line = resume_after;
    loop {
        let mut batch = im.read_batch(&mut source, batch_size)?;
        let end_line = im.lines_read;
        let input_done = batch.is_empty();
        // Existence checks go out behind the previous batch's writes (same
        // connection, so they see those writes), and this batch's writes are
        // encoded while the server works through both: the server waits for
        // this side only for the last replies and one send.
        let checks = im.send_exists(&mut batch)?;
        im.stage_writes(&mut batch);
        if let Some((prev, prev_end)) = in_flight.take() {
            im.finish_writes(prev)?;
            done_line = prev_end;
        }
        im.read_exists(&mut batch, checks)?;
        im.drop_failed_parts(&mut batch)?;
        let mut items = std::mem::take(&mut im.retries);
        let retried = items.len();
        im.recheck(&mut items)?;
        if items.is_empty() {
            // Keeps the batch's (recycled) vector.
            items = batch;
        } else {
            items.extend(batch);
        }
        im.refuse_unrestorable_modules(&mut items)?;
        if items.is_empty() && im.cleanup.is_empty() {
            if input_done {
                break;
            }
            continue;
        }
        im.save_state(&items, retried, done_line)?;
        im.send_writes(&mut items, retried)?;
        in_flight = Some((items, end_line));
    }
    im.flush_cleanup()?;
    im.finish_state()?;
    im.progress.finish();
    im.rejects.finish()?;
    let Importer {
        mut summary, rejects, deleted, dry_run, expired_fields, functions_loaded, functions_skipped, ..
    } = im;
    summary.add_note("hash fields already expired, skipped", expired_fields);
    summary.add_note("function libraries loaded", functions_loaded);
    summary.add_note("function libraries that exist, skipped", functions_skipped);
    summary.print(&args.report);
    if !args.report.quiet {
        if deleted > 0 {
            cli::warn(format_args!("deleted {deleted} key(s) named by delete lines"));
        }
        if dry_run {
            cli::warn("dry run: nothing was written");
        }
    }
    Ok(if rejects.count() > 0 { Outcome::Failed } else { Outcome::Success })
}

/// One decoded line, passed from the decoding thread.
// Nearly every line is a `Record`: boxing it would add an allocation per line.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Record {
        line: u64,
        /// The raw line, kept only for kinds that are rejected (not redis/delete).
        raw: Vec<u8>,
        record: Record,
    },
    Bad {
        line: u64,
        raw: Vec<u8>,
        message: String,
    },
    Fatal(anyhow::Error),
}

/// Records decoded on a thread of their own, so JSON decoding overlaps the
/// network and the server; a bounded channel keeps memory bounded.
struct Decoded {
    rx: std::sync::mpsc::Receiver<Vec<Parsed>>,
    buf: std::collections::VecDeque<Parsed>,
    /// Emptied chunks, back to the decoding thread to be filled again: a
    /// chunk is tens of KB, and freeing blocks that big makes glibc
    /// consolidate its heap each time.
    recycle: std::sync::mpsc::Sender<Vec<Parsed>>,
}

/// Lines per hand-over, and elements (a cap for big parts).
const DECODE_CHUNK_LINES: usize = 256;
const DECODE_CHUNK_ELEMENTS: usize = 20_000;

impl Decoded {
    fn spawn<R: BufRead + Send + 'static>(mut reader: decant_record::RecordReader<R>) -> Decoded {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Parsed>>(4);
        let (recycle, recycled) = std::sync::mpsc::channel::<Vec<Parsed>>();
        std::thread::spawn(move || {
            let fresh = || recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(DECODE_CHUNK_LINES));
            let mut chunk = fresh();
            let mut weight = 0;
            loop {
                let parsed = match reader.next_record() {
                    Ok(Some(record)) => {
                        // The first line is also the input's fingerprint for --state.
                        let keep_raw = reader.line_number() == 1
                            || !matches!(
                                record,
                                Record::Redis(_) | Record::Delete(_) | Record::Header(_) | Record::End(_)
                            );
                        if let Record::Redis(r) = &record {
                            weight += r.value.len() + 1;
                        }
                        let raw = if keep_raw { reader.raw_line().to_vec() } else { Vec::new() };
                        Parsed::Record { line: reader.line_number(), raw, record }
                    }
                    Ok(None) => break,
                    Err(e) if e.is_recoverable() => {
                        let message = match &e {
                            ReadError::Malformed { message, .. } => message.clone(),
                            other => other.to_string(),
                        };
                        Parsed::Bad { line: e.line(), raw: reader.raw_line().to_vec(), message }
                    }
                    Err(e) => {
                        chunk.push(Parsed::Fatal(anyhow::Error::new(e).context("reading the input")));
                        break;
                    }
                };
                chunk.push(parsed);
                if chunk.len() >= DECODE_CHUNK_LINES || weight >= DECODE_CHUNK_ELEMENTS {
                    weight = 0;
                    if tx.send(std::mem::replace(&mut chunk, fresh())).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(chunk);
        });
        Decoded { rx, buf: std::collections::VecDeque::new(), recycle }
    }

    /// The input's first line (empty for an empty input), without consuming it.
    fn first_line(&mut self) -> Vec<u8> {
        if self.buf.is_empty() {
            if let Ok(chunk) = self.rx.recv() {
                self.buf = chunk.into();
            }
        }
        match self.buf.front() {
            Some(Parsed::Record { line: 1, raw, .. } | Parsed::Bad { line: 1, raw, .. }) => raw.clone(),
            _ => Vec::new(),
        }
    }

    fn next(&mut self) -> Option<Parsed> {
        loop {
            if let Some(p) = self.buf.pop_front() {
                return Some(p);
            }
            let next = self.rx.recv().ok()?.into();
            let empty = std::mem::replace(&mut self.buf, next);
            // The thread may have stopped: then the chunk is simply dropped.
            let _ = self.recycle.send(empty.into());
        }
    }
}

fn confirm(target: &str) -> anyhow::Result<()> {
    let mut err = std::io::stderr().lock();
    write!(err, "redis-import: --mode replace overwrites existing keys in {target}. Continue? [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        bail!("not confirmed; nothing was written (pass --yes to skip the question)");
    }
    Ok(())
}

/// Server clock minus local clock, in ms: expiries are compared with the
/// server's time, as Redis compares them.
fn server_clock_offset(con: &mut Conn) -> anyhow::Result<i64> {
    let t = con.call(&[b"TIME"])?;
    let a = conn::array_of(&t).unwrap_or(&[]);
    let server = a.first().and_then(int_of).unwrap_or(0) * 1000 + a.get(1).and_then(int_of).unwrap_or(0) / 1000;
    Ok(if server > 0 { server - local_ms() } else { 0 })
}

fn local_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `hash-max-listpack-entries` and `-value` of the target (Redis 7.0+, or
/// Valkey), so that payloads hold a listpack exactly where `HSET` would make
/// one; `None` where `CONFIG` is not allowed (managed services): plain
/// payloads then, which the server converts itself.
fn listpack_limits(con: &mut Conn) -> Option<dump::Limits> {
    let reply = con.call(&[b"CONFIG", b"GET", b"hash-max-listpack-*"]).ok()?;
    let items = conn::array_of(&reply)?;
    let get = |name: &[u8]| {
        let pos = items.iter().position(|v| conn::bytes_of(v) == Some(name))?;
        let text = conn::bytes_of(items.get(pos + 1)?)?;
        std::str::from_utf8(text).ok()?.parse::<usize>().ok()
    };
    Some(dump::Limits {
        hash_entries: get(b"hash-max-listpack-entries")?,
        hash_value: get(b"hash-max-listpack-value")?,
    })
}

/// slot → node index, and the node addresses.
fn slot_table(ranges: &[SlotRange], addrs: &mut Vec<(String, u16)>) -> Vec<u16> {
    let mut table = vec![0u16; 16384];
    for r in ranges {
        let idx = match addrs.iter().position(|(h, p)| *h == r.host && *p == r.port) {
            Some(i) => i,
            None => {
                addrs.push((r.host.clone(), r.port));
                addrs.len() - 1
            }
        };
        for s in r.start..=r.end.min(16383) {
            table[s as usize] = idx as u16;
        }
    }
    table
}

/// One record of a batch and what was decided for it.
#[derive(Debug)]
struct Item {
    line: u64,
    kind: ItemKind,
    node: usize,
    db: u32,
    action: Action,
    /// The key existed when checked (skip-existing and merge modes).
    exists: bool,
    /// Use type commands even when a DUMP payload is present.
    force_types: bool,
    /// Replies expected for this item's commands.
    replies: usize,
    /// A whole string written with `SET … NX`: a nil reply means "existed".
    set_nx: bool,
    /// Written by `RESTORE` of a payload built here (`dump` module) as
    /// planned; in skip-existing mode without `REPLACE`, so a `BUSYKEY`
    /// reply means "existed" and no `EXISTS` is asked.
    built: Option<dump::Plan>,
    /// Skip-existing: a retried key whose one-command write was refused,
    /// to be asked `EXISTS` before its type commands go out.
    recheck: bool,
    /// --state: a key a killed run may have written in part; written from
    /// scratch (see [`state`]).
    restart: bool,
    /// Merge mode with --state, lists and streams: the length before this
    /// run's appends (0: the key did not exist).
    list_len: Option<i64>,
}

#[derive(Debug)]
enum ItemKind {
    Key(RedisRecord),
    Delete(Vec<u8>),
}

impl Item {
    /// The record carries a DUMP payload.
    fn dump_payload(&self) -> bool {
        matches!(&self.kind, ItemKind::Key(r) if r.dump.is_some())
    }

    fn key(&self) -> &[u8] {
        match &self.kind {
            ItemKind::Key(r) => &r.key,
            ItemKind::Delete(k) => k,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Not decided yet (waiting for EXISTS).
    Check,
    /// A later part whose first part waits for EXISTS in the same batch.
    Follow,
    Write,
    /// Skipped: exists, expired, or part of a skipped key.
    Skip,
    /// Part of a key that failed earlier: rejected without writing.
    Failed,
}

/// The key whose parts are being applied.
#[derive(Debug)]
struct OpenKey {
    db: u32,
    key: Vec<u8>,
    action: Action,
}

#[derive(Debug, Default)]
struct Pipe {
    p: Packer,
    /// (item index, or [`CONTROL`] / [`CLEANUP`], replies expected).
    plan: Vec<(usize, usize)>,
}

/// Plan entry of a SELECT: an error stops the run.
const CONTROL: usize = usize::MAX;
/// Kinds of the probes sent before a batch's writes.
const PROBE_EXISTS: usize = 1;
const PROBE_LLEN: usize = 2;
/// Plan entry of a DEL that removes what was written of a failed split key.
const CLEANUP: usize = usize::MAX - 1;

/// A batch's writes for one node, encoded before its EXISTS replies are read
/// as if every checked key were absent; [`Importer::send_writes`] sends them
/// as they are, or copies the segments that still apply.
#[derive(Debug, Default)]
struct Staged {
    p: Packer,
    segs: Vec<Seg>,
    /// The database selected when the staged commands start, and after them.
    start_db: u32,
    db: u32,
}

/// One item's commands (or a SELECT) in [`Staged`].
#[derive(Debug)]
struct Seg {
    /// Index of the item in its batch, or [`CONTROL`].
    item: usize,
    start: usize,
    end: usize,
    cmds: usize,
    /// `restore_ok` when encoded (the target may refuse DUMP payloads since).
    restore_ok: bool,
    /// The item's `exists` when encoded.
    exists: bool,
}

impl Staged {
    fn clear(&mut self, db: u32) {
        self.p.clear();
        self.segs.clear();
        self.start_db = db;
        self.db = db;
    }

    fn select(&mut self, db: u32) {
        if self.db != db {
            let start = self.p.len();
            self.p.cmd(&[b"SELECT", db.to_string().as_bytes()]);
            self.segs.push(Seg { item: CONTROL, start, end: self.p.len(), cmds: 1, restore_ok: true, exists: false });
            self.db = db;
        }
    }
}

#[derive(Debug)]
struct Node {
    conn: Conn,
    /// The database selected on this connection once everything sent has run.
    db: u32,
    /// Commands being encoded.
    pipe: Pipe,
    /// The next batch's writes, encoded ahead.
    staged: Staged,
    /// The plan of the writes sent and not yet read.
    inflight: Vec<(usize, usize)>,
}

struct Importer {
    mode: Mode,
    dry_run: bool,
    keep_db: bool,
    cluster: bool,
    target_db: u32,
    pxat: bool,
    redis7: bool,
    /// The target has hash field expiry (HPEXPIREAT).
    field_expiry: bool,
    /// Hash fields left out because their expiry had passed at import time.
    expired_fields: u64,
    /// Function libraries loaded, and left alone because they existed.
    functions_loaded: u64,
    functions_skipped: u64,
    /// Connections (one per node) for FUNCTION LOAD, apart from the
    /// pipelined ones; opened at the first redis_function line.
    function_conns: Vec<Conn>,
    restore_ok: bool,
    /// Whole hashes, lists, sets and zsets are written by `RESTORE` of a
    /// payload built here (not in merge mode or a dry run, nor once the
    /// target refused one).
    build_payloads: bool,
    /// The target's listpack limits, where payloads may hold listpacks.
    limits: Option<dump::Limits>,
    clock_offset_ms: i64,
    grouper: KeyGrouper,
    summary: Summary,
    progress: Progress,
    rejects: Rejects,
    nodes: Vec<Node>,
    slots: Vec<u16>,
    endpoint: Endpoint,
    open: Option<OpenKey>,
    /// Items to write again with type commands (RESTORE refused, MOVED).
    retries: Vec<Item>,
    /// Split keys to delete (node, db, key): a part failed, so what was
    /// written of them is removed (not in merge mode).
    cleanup: Vec<(usize, u32, Vec<u8>)>,
    /// The split key whose part failed, until its last part is seen: its
    /// later parts are rejected without writing.
    failed_key: Option<(u32, Vec<u8>)>,
    deleted: u64,
    /// --state: the file and the progress it holds.
    state: Option<(state::StateFile, state::Progress)>,
    /// Input lines up to this one were applied by the run this one resumes.
    resume_after: u64,
    /// Keys the resumed run may have written in part (db, key) → list length.
    restarts: HashMap<(u32, Vec<u8>), Option<i64>>,
    /// The split key being written whose last part has not been sent yet.
    restart_open: Option<state::RestartKey>,
    /// The last input line read.
    lines_read: u64,
    /// A batch's emptied vector, for the next batch (see [`Decoded`]'s
    /// `recycle` for why).
    spare_items: Vec<Item>,
}

/// Takes the hash fields whose expiry is at or before `now_ms` out of `r`
/// (value and expiries); returns how many.
fn drop_expired_fields(r: &mut RedisRecord, now_ms: i64) -> u64 {
    let expired: std::collections::HashSet<Vec<u8>> =
        r.field_expire_at_ms.iter().filter(|(_, t)| *t <= now_ms).map(|(f, _)| f.clone()).collect();
    if expired.is_empty() {
        return 0;
    }
    r.field_expire_at_ms.retain(|(f, _)| !expired.contains(f));
    if let RedisValue::Hash(pairs) = &mut r.value {
        pairs.retain(|(f, _)| !expired.contains(f));
    }
    expired.len() as u64
}

/// Elements per HSET/RPUSH/SADD/ZADD command.
const ELEMENTS_PER_COMMAND: usize = 1000;

impl Importer {
    fn now_ms(&self) -> i64 {
        local_ms() + self.clock_offset_ms
    }

    fn node_of(&self, key: &[u8]) -> usize {
        if self.cluster {
            self.slots[key_slot(key) as usize] as usize
        } else {
            0
        }
    }

    fn count(&mut self, key: &[u8]) -> &mut cli::Counts {
        let g = self.grouper.group(key);
        self.summary.group(&g)
    }

    /// Rejects one record: to the reject file, or an error that stops the run.
    fn reject(&mut self, item: &Item, reason: &str) -> anyhow::Result<()> {
        let line = match &item.kind {
            ItemKind::Key(r) => Record::Redis(r.clone()).to_json_string(),
            ItemKind::Delete(k) => {
                Record::Delete(decant_record::Delete { target: Target::Key { db: item.db, key: k.clone() } })
                    .to_json_string()
            }
        };
        let what = format!("line {}: key {}", item.line, Bytes(item.key().to_vec()));
        self.rejects.reject(Some(item.line), &what, line.as_bytes(), reason)
    }

    /// Reads up to `max` keys' records (fewer when they are big).
    fn read_batch(&mut self, source: &mut Decoded, max: usize) -> anyhow::Result<Vec<Item>> {
        let mut items = std::mem::take(&mut self.spare_items);
        let mut weight = 0usize;
        while items.len() < max && weight < 100_000 {
            let (line, raw, rec) = match source.next() {
                None => break,
                Some(Parsed::Fatal(e)) => return Err(e),
                // Done by the run this one resumes.
                Some(Parsed::Bad { line, .. } | Parsed::Record { line, .. }) if line <= self.resume_after => continue,
                Some(Parsed::Bad { line, raw, message }) => {
                    self.lines_read = line;
                    self.rejects.reject(Some(line), &format!("line {line}"), &raw, &message)?;
                    continue;
                }
                Some(Parsed::Record { line, raw, record }) => (line, raw, record),
            };
            self.lines_read = line;
            let (kind, rec_db) = match rec {
                Record::Redis(r) => {
                    weight += r.value.len().max(1) + r.dump.as_ref().map_or(0, |d| d.len() / 64);
                    let db = r.db;
                    (ItemKind::Key(r), db)
                }
                Record::RedisFunction(f) => {
                    self.load_function(line, &raw, &f)?;
                    continue;
                }
                Record::Delete(d) => match d.target {
                    Target::Key { db, key } => (ItemKind::Delete(key), db),
                    Target::Function { library } => {
                        self.delete_function(line, &library)?;
                        continue;
                    }
                    Target::Row { table, .. } => {
                        let what = format!("line {line}");
                        let reason = format!("a delete of table {table:?} row cannot be applied to Redis");
                        self.rejects.reject(Some(line), &what, &raw, &reason)?;
                        continue;
                    }
                },
                Record::Header(_) | Record::End(_) => continue,
                other => {
                    let reason = format!(
                        "a {:?} line is not a Redis key (redis-import reads redis and delete lines)",
                        other.kind()
                    );
                    self.rejects.reject(Some(line), &format!("line {line}"), &raw, &reason)?;
                    continue;
                }
            };
            let db = if self.keep_db { rec_db } else { self.target_db };
            if self.cluster && db != 0 {
                let item = Item {
                    line,
                    kind,
                    node: 0,
                    db,
                    action: Action::Failed,
                    exists: false,
                    force_types: false,
                    replies: 0,
                    set_nx: false,
                    built: None,
                    recheck: false,
                    restart: false,
                    list_len: None,
                };
                let key = item.key().to_vec();
                self.count(&key).rejected += 1;
                self.reject(&item, &format!("Redis Cluster has only database 0 (record is for db {db})"))?;
                continue;
            }
            let node = self.node_of(match &kind {
                ItemKind::Key(r) => &r.key,
                ItemKind::Delete(k) => k,
            });
            let mut item = Item {
                line,
                kind,
                node,
                db,
                action: Action::Check,
                exists: false,
                force_types: false,
                replies: 0,
                set_nx: false,
                built: None,
                recheck: false,
                restart: false,
                list_len: None,
            };
            if !self.restarts.is_empty() {
                if let ItemKind::Key(r) = &item.kind {
                    if r.starts_key() {
                        if let Some(len) = self.restarts.remove(&(db, r.key.clone())) {
                            item.restart = true;
                            item.list_len = len;
                            // Merge mode: written with type commands, into what is there.
                            item.exists = self.mode == Mode::Merge;
                        }
                    }
                }
            }
            self.decide_early(&mut item)?;
            items.push(item);
        }
        Ok(items)
    }

    /// What can be decided without asking the server: later parts follow
    /// their first part, expired keys are skipped, deletes are mode checks.
    fn decide_early(&mut self, item: &mut Item) -> anyhow::Result<()> {
        if let ItemKind::Key(r) = &mut item.kind {
            if !r.field_expire_at_ms.is_empty() {
                let now = self.now_ms();
                self.expired_fields += drop_expired_fields(r, now);
                if r.value.is_empty() && r.starts_key() && r.ends_key() {
                    // Every field had expired: so has the hash.
                    item.action = Action::Skip;
                    let key = r.key.clone();
                    self.count(&key).skipped += 1;
                    return Ok(());
                }
                if !self.field_expiry && !r.field_expire_at_ms.is_empty() {
                    let reason = format!(
                        "{} hash field(s) of this key expire, and the target has no hash field expiry \
                         (HPEXPIREAT: Redis 7.4+ or Valkey 9+); import into such a server",
                        r.field_expire_at_ms.len()
                    );
                    return self.fail_early(item, &reason);
                }
            }
        }
        let (rec, key) = match &item.kind {
            ItemKind::Delete(k) => {
                if self.mode == Mode::SkipExisting {
                    item.action = Action::Failed;
                    let key = k.clone();
                    self.count(&key).rejected += 1;
                    let reason = "delete lines apply only with --mode replace or merge (skip-existing never deletes)";
                    return self.reject(item, reason);
                }
                item.action = Action::Write;
                return Ok(());
            }
            ItemKind::Key(r) => (r, r.key.clone()),
        };
        if !rec.starts_key() {
            let action = match &self.open {
                Some(o) if o.key == key && o.db == item.db => o.action,
                _ => {
                    // A later part without its first part: apply it as an append.
                    Action::Write
                }
            };
            item.action = if action == Action::Check { Action::Follow } else { action };
            if rec.ends_key() {
                self.open = None;
            }
            if item.action == Action::Failed {
                return self.reject(item, "an earlier part of this key failed");
            }
            return Ok(());
        }
        if self.build_payloads
            && rec.dump.is_none()
            && rec.ends_key()
            && rec.field_expire_at_ms.is_empty()
            && !matches!(rec.value, RedisValue::String(_))
        {
            item.built = dump::plan(&rec.value, self.limits.as_ref());
        }
        if item.restart {
            item.action = Action::Write;
        } else if rec.expire_at_ms.is_some_and(|t| t <= self.now_ms()) {
            item.action = Action::Skip;
            self.count(&key).skipped += 1;
        } else if self.mode == Mode::Replace || (self.mode == Mode::Merge && rec.dump.is_none()) {
            item.action = Action::Write;
        } else if self.mode == Mode::SkipExisting
            && !self.dry_run
            && rec.dump.is_none()
            && rec.starts_key()
            && rec.ends_key()
            && matches!(rec.value, RedisValue::String(_))
            && (rec.expire_at_ms.is_none() || self.pxat)
        {
            // `SET … NX [PXAT]` alone decides: no EXISTS round for it.
            item.action = Action::Write;
        } else if self.mode == Mode::SkipExisting && item.built.is_some() {
            // So does `RESTORE` without `REPLACE` (BUSYKEY).
            item.action = Action::Write;
        } else {
            item.action = Action::Check;
        }
        if !rec.ends_key() {
            self.open = Some(OpenKey { db: item.db, key, action: item.action });
        } else {
            self.open = None;
        }
        Ok(())
    }

    /// Loads a function library on every node (`FUNCTION LOAD`, with
    /// `REPLACE` in replace mode only); a library that exists is left alone
    /// and counted in the other modes.
    fn load_function(&mut self, line: u64, raw: &[u8], f: &decant_record::RedisFunction) -> anyhow::Result<()> {
        if self.dry_run {
            self.functions_loaded += 1;
            return Ok(());
        }
        let replace = self.mode == Mode::Replace;
        let args: Vec<&[u8]> =
            if replace { vec![b"FUNCTION", b"LOAD", b"REPLACE", &f.code] } else { vec![b"FUNCTION", b"LOAD", &f.code] };
        let errors = self.on_every_node(&args)?;
        if let Some(e) = errors.iter().find(|e| !e.contains("already exists")) {
            let what = format!("line {line}: function library {}", f.library);
            let reason = format!("FUNCTION LOAD failed: {e} (function libraries need Redis 7+ or Valkey)");
            return self.rejects.reject(Some(line), &what, raw, &reason);
        }
        if errors.is_empty() {
            self.functions_loaded += 1;
        } else {
            self.functions_skipped += 1;
        }
        Ok(())
    }

    /// A `delete` of a function library: `FUNCTION DELETE` (replace and
    /// merge modes, as for keys); one that is not there is already deleted.
    fn delete_function(&mut self, line: u64, library: &str) -> anyhow::Result<()> {
        let raw = Record::Delete(decant_record::Delete { target: Target::Function { library: library.to_owned() } })
            .to_json_string();
        let what = format!("line {line}: function library {library}");
        if self.mode == Mode::SkipExisting {
            let reason = "delete lines apply only with --mode replace or merge (skip-existing never deletes)";
            return self.rejects.reject(Some(line), &what, raw.as_bytes(), reason);
        }
        if self.dry_run {
            return Ok(());
        }
        let errors = self.on_every_node(&[b"FUNCTION", b"DELETE", library.as_bytes()])?;
        if let Some(e) = errors.iter().find(|e| !e.contains("not found")) {
            let reason = format!("FUNCTION DELETE failed: {e}");
            return self.rejects.reject(Some(line), &what, raw.as_bytes(), &reason);
        }
        self.deleted += 1;
        Ok(())
    }

    /// Runs one command on every node, on connections of its own (opened at
    /// the first use, apart from the pipelined ones); returns the errors.
    fn on_every_node(&mut self, args: &[&[u8]]) -> anyhow::Result<Vec<String>> {
        if self.function_conns.is_empty() {
            if self.cluster {
                for n in 0..self.nodes.len() {
                    let (host, port) = split_addr(self.nodes[n].conn.addr());
                    self.function_conns.push(self.endpoint.connect_to(&host, port, 0)?);
                }
            } else {
                self.function_conns.push(self.endpoint.connect()?);
            }
        }
        let mut p = Packer::default();
        p.cmd(args);
        let mut errors = Vec::new();
        for con in &mut self.function_conns {
            con.send(p.bytes(), 1)?;
            if let Some(e) = error_text(&con.recv()?) {
                errors.push(e);
            }
        }
        Ok(errors)
    }

    /// A module key is written only by RESTORE of its payload: where that
    /// cannot happen (the target refused payloads, or merge mode onto an
    /// existing key), it is rejected, named, never written empty.
    fn refuse_unrestorable_modules(&mut self, items: &mut [Item]) -> anyhow::Result<()> {
        for item in items.iter_mut() {
            let ItemKind::Key(r) = &item.kind else { continue };
            let Some(module) = r.module().map(str::to_owned) else { continue };
            if item.action != Action::Write {
                continue;
            }
            let reason = if self.mode == Mode::Merge && item.exists {
                format!("a key of module type {module} cannot be merged into an existing key (use --mode replace)")
            } else if !self.restore_ok || item.force_types {
                format!(
                    "a key of module type {module} is restored only from its DUMP payload, and the target refuses payloads"
                )
            } else {
                continue;
            };
            item.action = Action::Failed;
            let key = item.key().to_vec();
            self.count(&key).rejected += 1;
            self.reject(item, &reason)?;
        }
        Ok(())
    }

    /// Rejects a record before anything of it is written; for a part of a
    /// split key, also its later parts, and what its earlier parts wrote is
    /// removed (not in merge mode), as when the server refuses a part.
    fn fail_early(&mut self, item: &mut Item, reason: &str) -> anyhow::Result<()> {
        item.action = Action::Failed;
        let key = item.key().to_vec();
        let (starts, ends) = match &item.kind {
            ItemKind::Key(r) => (r.starts_key(), r.ends_key()),
            ItemKind::Delete(_) => (true, true),
        };
        self.count(&key).rejected += 1;
        self.reject(item, reason)?;
        if !ends {
            self.open = Some(OpenKey { db: item.db, key: key.clone(), action: Action::Failed });
        } else {
            self.open = None;
        }
        if !starts && self.mode != Mode::Merge {
            self.cleanup.push((item.node, item.db, key));
        }
        Ok(())
    }

    fn select(&mut self, node: usize, db: u32) {
        let n = &mut self.nodes[node];
        if n.db != db {
            n.pipe.p.cmd(&[b"SELECT", db.to_string().as_bytes()]);
            n.pipe.plan.push((CONTROL, 1));
            n.db = db;
        }
    }

    fn send_pipes(&mut self) -> anyhow::Result<Vec<Vec<(usize, usize)>>> {
        let mut plans = Vec::with_capacity(self.nodes.len());
        for n in &mut self.nodes {
            n.conn.send(n.pipe.p.bytes(), n.pipe.p.count())?;
            n.pipe.p.clear();
            plans.push(std::mem::take(&mut n.pipe.plan));
        }
        Ok(plans)
    }

    /// Sends EXISTS for the items that need it; returns the reply plans.
    /// With --state in merge mode, a list's or stream's length is read before
    /// this run appends to it (LLEN, XLEN), so a resumed run can trim the list
    /// back, or delete the stream this run created.
    fn send_exists(&mut self, items: &mut [Item]) -> anyhow::Result<Vec<Vec<(usize, usize)>>> {
        let probe_lists = self.state.is_some() && self.mode == Mode::Merge;
        for (i, item) in items.iter().enumerate() {
            let llen = probe_lists
                && !item.restart
                && matches!(item.action, Action::Check | Action::Write)
                && matches!(&item.kind, ItemKind::Key(r) if r.starts_key() && matches!(r.value, RedisValue::List(_) | RedisValue::Stream(_)));
            if item.action != Action::Check && !llen {
                continue;
            }
            let (node, db) = (item.node, item.db);
            self.select(node, db);
            let pipe = &mut self.nodes[node].pipe;
            if item.action == Action::Check {
                pipe.p.cmd(&[b"EXISTS", item.key()]);
                pipe.plan.push((i, PROBE_EXISTS));
            }
            if llen {
                let stream = matches!(&item.kind, ItemKind::Key(r) if matches!(r.value, RedisValue::Stream(_)));
                pipe.p.cmd(&[if stream { b"XLEN" } else { b"LLEN" }, item.key()]);
                pipe.plan.push((i, PROBE_LLEN));
            }
        }
        self.send_pipes()
    }

    fn read_exists(&mut self, items: &mut [Item], plans: Vec<Vec<(usize, usize)>>) -> anyhow::Result<()> {
        let mut moved = Vec::new();
        for (node, plan) in plans.into_iter().enumerate() {
            for (i, probe) in plan {
                let v = self.nodes[node].conn.recv()?;
                if probe == PROBE_LLEN {
                    // Not a list / stream (WRONGTYPE): the merge itself will be rejected.
                    items[i].list_len = int_of(&v).filter(|_| error_text(&v).is_none());
                    continue;
                }
                if let Some(e) = error_text(&v) {
                    if i == CONTROL {
                        bail!("{}: SELECT failed: {e}", self.nodes[node].conn.addr());
                    }
                    if e.starts_with("MOVED") || e.starts_with("ASK") {
                        moved.push(i);
                        continue;
                    }
                    bail!("{}: EXISTS failed: {e}", self.nodes[node].conn.addr());
                }
                if i != CONTROL {
                    let exists = int_of(&v) == Some(1);
                    self.decide(&mut items[i], exists);
                }
            }
        }
        if !moved.is_empty() {
            // The cluster was resharded: ask the new owners, one by one.
            self.refresh_slots()?;
            for i in moved {
                let n = self.node_of(items[i].key());
                items[i].node = n;
                let again = self.probe_conn(n, items[i].db)?.call(&[b"EXISTS", items[i].key()])?;
                self.decide(&mut items[i], int_of(&again) == Some(1));
            }
        }
        // Later parts follow the decision on their first part.
        let mut last = Action::Write;
        for item in items.iter_mut() {
            match item.action {
                Action::Follow => item.action = last,
                a => last = a,
            }
        }
        Ok(())
    }

    fn decide(&mut self, item: &mut Item, exists: bool) {
        item.exists = exists;
        let skip = exists && self.mode == Mode::SkipExisting;
        item.action = if skip { Action::Skip } else { Action::Write };
        if let Some(o) = self.open.as_mut() {
            if o.key == item.key() && o.db == item.db && o.action == Action::Check {
                o.action = item.action;
            }
        }
        if skip {
            let key = item.key().to_vec();
            self.count(&key).skipped += 1;
        }
    }

    /// A connection of its own to `node`, on `db` (a cluster has db 0
    /// only), for questions asked while the pipelined ones have replies
    /// outstanding.
    fn probe_conn(&self, node: usize, db: u32) -> anyhow::Result<Conn> {
        if self.cluster {
            let (host, port) = split_addr(self.nodes[node].conn.addr());
            return self.endpoint.connect_to(&host, port, 0);
        }
        let mut conn = self.endpoint.connect()?;
        if db != self.endpoint.db() {
            conn.call(&[b"SELECT", db.to_string().as_bytes()])?;
        }
        Ok(conn)
    }

    /// Skip-existing: retried keys whose `RESTORE` was refused are asked
    /// `EXISTS` before their type commands go out, on connections of their
    /// own (the pipelined ones have replies outstanding). This happens once
    /// a run at most: the refusal stops the payloads for later batches.
    fn recheck(&mut self, items: &mut [Item]) -> anyhow::Result<()> {
        let mut probes: HashMap<(usize, u32), Conn> = HashMap::new();
        for item in items.iter_mut().filter(|i| i.recheck) {
            item.recheck = false;
            let probe = match probes.entry((item.node, item.db)) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(self.probe_conn(item.node, item.db)?),
            };
            let exists = int_of(&probe.call(&[b"EXISTS", item.key()])?) == Some(1);
            self.decide(item, exists);
        }
        Ok(())
    }

    /// Deletes what was written of split keys that failed in the last batch.
    fn flush_cleanup(&mut self) -> anyhow::Result<()> {
        for (node, db, key) in std::mem::take(&mut self.cleanup) {
            let n = &mut self.nodes[node];
            if n.db != db {
                n.conn.call(&[b"SELECT", db.to_string().as_bytes()])?;
                n.db = db;
            }
            n.conn.call(&[b"DEL", &key])?;
        }
        Ok(())
    }

    /// Later parts of a split key that failed in the previous batch (this
    /// batch was read before that was known): rejected, not written.
    fn drop_failed_parts(&mut self, items: &mut [Item]) -> anyhow::Result<()> {
        for item in items.iter_mut() {
            let Some((db, key)) = &self.failed_key else { return Ok(()) };
            let (starts, ends) = match &item.kind {
                ItemKind::Key(r) => (r.starts_key(), r.ends_key()),
                ItemKind::Delete(_) => (true, true),
            };
            if starts || *db != item.db || key.as_slice() != item.key() {
                self.failed_key = None;
                continue;
            }
            if matches!(item.action, Action::Write | Action::Check | Action::Follow) {
                item.action = Action::Failed;
                self.reject(item, "an earlier part of this key failed")?;
            }
            if ends {
                self.failed_key = None;
            }
        }
        Ok(())
    }

    fn refresh_slots(&mut self) -> anyhow::Result<()> {
        // A fresh connection: the nodes' own have replies outstanding.
        let mut seed = self.endpoint.connect_to(
            &split_addr(self.nodes[0].conn.addr()).0,
            split_addr(self.nodes[0].conn.addr()).1,
            0,
        )?;
        let ranges = seed.cluster_slots(&self.endpoint.host_port().0)?;
        let mut addrs: Vec<(String, u16)> = self.nodes.iter().map(|n| split_addr(n.conn.addr())).collect::<Vec<_>>();
        let known = addrs.len();
        self.slots = slot_table(&ranges, &mut addrs);
        for (host, port) in addrs.into_iter().skip(known) {
            let conn = self.endpoint.connect_to(&host, port, 0)?;
            self.nodes.push(Node {
                conn,
                db: 0,
                pipe: Pipe::default(),
                staged: Staged::default(),
                inflight: Vec::new(),
            });
        }
        Ok(())
    }

    /// --state: records, before a batch's writes go out, that every line up
    /// to `done_line` is applied except the keys this batch (and a split key
    /// still open) may leave half-written.
    fn save_state(&mut self, items: &[Item], retried: usize, done_line: u64) -> anyhow::Result<()> {
        let Some((file, progress)) = self.state.as_mut() else { return Ok(()) };
        // Retried items come from the acknowledged batch: read them again too.
        let done = items[..retried].iter().map(|i| i.line.saturating_sub(1)).fold(done_line, u64::min);
        let mut restart: Vec<state::RestartKey> = self.restart_open.iter().cloned().collect();
        let mut open = self.restart_open.take();
        for item in &items[retried..] {
            let ItemKind::Key(r) = &item.kind else { continue };
            if r.starts_key() {
                open = None;
                if item.action == Action::Write {
                    let entry = state::RestartKey {
                        db: item.db,
                        key: Bytes(r.key.clone()),
                        line: item.line,
                        list_len: item.list_len,
                    };
                    if !r.ends_key() {
                        open = Some(entry.clone());
                    }
                    restart.push(entry);
                }
            } else if r.ends_key() {
                open = None;
            }
        }
        self.restart_open = open;
        // Keys of the run this one resumes that are not rewritten yet.
        restart.extend(self.restarts.iter().map(|((db, key), len)| state::RestartKey {
            db: *db,
            key: Bytes(key.clone()),
            line: self.resume_after + 1,
            list_len: *len,
        }));
        progress.line = done;
        progress.restart = restart;
        file.save(progress)
    }

    /// --state: the run is complete.
    fn finish_state(&mut self) -> anyhow::Result<()> {
        let Some((file, progress)) = self.state.as_mut() else { return Ok(()) };
        progress.line = self.lines_read;
        progress.restart.clear();
        progress.finished = true;
        file.save(progress)
    }

    /// Encodes a batch's writes before its EXISTS replies are back, as if
    /// every checked key were absent (the usual case), so the encoding
    /// overlaps the server's work on the previous batch.
    fn stage_writes(&mut self, items: &mut [Item]) {
        if self.dry_run {
            return;
        }
        for n in &mut self.nodes {
            let db = n.db;
            n.staged.clear(db);
        }
        for (i, item) in items.iter_mut().enumerate() {
            if !matches!(item.action, Action::Write | Action::Check | Action::Follow) {
                continue;
            }
            let mut st = std::mem::take(&mut self.nodes[item.node].staged);
            st.select(item.db);
            let (start, before) = (st.p.len(), st.p.count());
            self.encode(&mut st.p, item);
            let seg = Seg {
                item: i,
                start,
                end: st.p.len(),
                cmds: st.p.count() - before,
                restore_ok: self.restore_ok,
                exists: item.exists,
            };
            st.segs.push(seg);
            self.nodes[item.node].staged = st;
        }
    }

    /// True when an item's staged commands still apply.
    fn staged_applies(&self, item: &Item, seg: &Seg) -> bool {
        item.action == Action::Write
            && seg.restore_ok == self.restore_ok
            && (seg.exists == item.exists || self.mode != Mode::Merge || !item.dump_payload())
    }

    /// Sends the writes of a batch (nothing in a dry run): first the clean-up
    /// and the retries the previous batch left (`items[..retried]`), then the
    /// staged writes of `items[retried..]`, patched where the EXISTS replies
    /// changed a decision.
    fn send_writes(&mut self, items: &mut [Item], retried: usize) -> anyhow::Result<()> {
        if self.dry_run {
            self.cleanup.clear();
            return Ok(());
        }
        let cleanup = std::mem::take(&mut self.cleanup);
        for node in 0..self.nodes.len() {
            let st = std::mem::take(&mut self.nodes[node].staged);
            let mut out = std::mem::take(&mut self.nodes[node].pipe);
            out.p.clear();
            out.plan.clear();
            let mut db = self.nodes[node].db;
            let select = |out: &mut Pipe, db: &mut u32, want: u32| {
                if *db != want {
                    out.p.cmd(&[b"SELECT", want.to_string().as_bytes()]);
                    out.plan.push((CONTROL, 1));
                    *db = want;
                }
            };
            for (_, cdb, key) in cleanup.iter().filter(|c| c.0 == node) {
                select(&mut out, &mut db, *cdb);
                out.p.cmd(&[b"DEL", key]);
                out.plan.push((CLEANUP, 1));
            }
            for (i, item) in items[..retried].iter_mut().enumerate() {
                if item.node != node || item.action != Action::Write {
                    continue;
                }
                select(&mut out, &mut db, item.db);
                let before = out.p.count();
                self.encode(&mut out.p, item);
                item.replies = out.p.count() - before;
                out.plan.push((i, item.replies));
            }
            let as_staged = out.p.is_empty()
                && st.segs.iter().all(|s| s.item == CONTROL || self.staged_applies(&items[retried + s.item], s));
            if as_staged {
                for s in &st.segs {
                    let i = if s.item == CONTROL { CONTROL } else { retried + s.item };
                    out.plan.push((i, s.cmds));
                }
                self.nodes[node].conn.send(st.p.bytes(), st.p.count())?;
            } else {
                if !st.segs.is_empty() {
                    select(&mut out, &mut db, st.start_db);
                }
                for s in &st.segs {
                    let bytes = &st.p.bytes()[s.start..s.end];
                    if s.item == CONTROL {
                        out.p.raw(bytes, s.cmds);
                        out.plan.push((CONTROL, s.cmds));
                        continue;
                    }
                    let i = retried + s.item;
                    if self.staged_applies(&items[i], s) {
                        out.p.raw(bytes, s.cmds);
                        out.plan.push((i, s.cmds));
                    } else if items[i].action == Action::Write {
                        let before = out.p.count();
                        self.encode(&mut out.p, &mut items[i]);
                        out.plan.push((i, out.p.count() - before));
                    }
                }
                self.nodes[node].conn.send(out.p.bytes(), out.p.count())?;
            }
            if !st.segs.is_empty() {
                db = st.db;
            }
            let n = &mut self.nodes[node];
            n.db = db;
            n.inflight = std::mem::take(&mut out.plan);
            out.p.clear();
            n.pipe = out;
            n.staged = st;
        }
        Ok(())
    }

    /// Reads the replies of a batch's writes and counts every key.
    fn finish_writes(&mut self, mut items: Vec<Item>) -> anyhow::Result<()> {
        let mut outcome: Vec<Option<Result<bool, String>>> = vec![None; items.len()];
        if !self.dry_run {
            for node in 0..self.nodes.len() {
                let plan = std::mem::take(&mut self.nodes[node].inflight);
                for (i, n) in plan {
                    let mut first_err: Option<String> = None;
                    let mut nil_first = false;
                    for r in 0..n {
                        let v = self.nodes[node].conn.recv()?;
                        if r == 0 && matches!(v, Reply::Nil) {
                            nil_first = true;
                        }
                        if let Some(e) = error_text(&v) {
                            if e.starts_with("BUSYGROUP") {
                                continue;
                            }
                            first_err.get_or_insert(e);
                        }
                    }
                    if i == CONTROL {
                        if let Some(e) = first_err {
                            bail!("{}: SELECT failed: {e}", self.nodes[node].conn.addr());
                        }
                        continue;
                    }
                    if i == CLEANUP {
                        continue;
                    }
                    outcome[i] = Some(match first_err {
                        // `RESTORE` without `REPLACE`: the key existed.
                        Some(e) if e.starts_with("BUSYKEY") && items[i].built.is_some() && !items[i].force_types => {
                            Ok(false)
                        }
                        Some(e) => Err(e),
                        // `SET … NX` answered nil: the key existed after all.
                        None => Ok(!(items[i].set_nx && nil_first)),
                    });
                }
            }
        }
        for (i, item) in items.iter_mut().enumerate() {
            let (starts, ends) = match &item.kind {
                ItemKind::Key(r) => (r.starts_key(), r.ends_key()),
                ItemKind::Delete(_) => (true, true),
            };
            if !starts && self.failed_key.as_ref().is_some_and(|(db, k)| *db == item.db && k.as_slice() == item.key()) {
                if item.action == Action::Write {
                    self.reject(item, "an earlier part of this key failed")?;
                }
                if ends {
                    self.failed_key = None;
                }
                continue;
            }
            match item.action {
                Action::Skip | Action::Failed | Action::Check | Action::Follow => {}
                Action::Write => {
                    let result = if self.dry_run { Ok(true) } else { outcome[i].take().unwrap_or(Ok(true)) };
                    match result {
                        Ok(true) => {
                            if let ItemKind::Delete(_) = item.kind {
                                self.deleted += 1;
                            } else if ends {
                                self.count(item.key()).written += 1;
                                self.progress.inc(1);
                            }
                        }
                        Ok(false) => self.count(item.key()).skipped += 1,
                        Err(e) if item.built.is_some() && !item.force_types && refuses_restore(&e) => {
                            if self.build_payloads {
                                cli::warn(format_args!(
                                    "the target refuses RESTORE ({e}); writing keys with type commands instead"
                                ));
                            }
                            self.build_payloads = false;
                            let mut again = clone_item(item);
                            again.force_types = true;
                            // Nothing said whether the key exists.
                            again.recheck = self.mode == Mode::SkipExisting;
                            self.retries.push(again);
                        }
                        Err(e)
                            if is_payload_error(&e)
                                && matches!(&item.kind, ItemKind::Key(r) if r.module().is_some()) =>
                        {
                            // Not a reason to stop using RESTORE for other keys:
                            // this payload needs a module the target lacks.
                            let module = match &item.kind {
                                ItemKind::Key(r) => r.module().unwrap_or_default().to_owned(),
                                ItemKind::Delete(_) => String::new(),
                            };
                            let key = item.key().to_vec();
                            self.count(&key).rejected += 1;
                            let reason = format!(
                                "the target refuses the payload of module type {module} ({e}): load the module \
                                 that defines {module} into the target (RedisJSON, RedisBloom, …) and import again"
                            );
                            self.reject(item, &reason)?;
                        }
                        Err(e) if is_payload_error(&e) && !item.force_types => {
                            if self.restore_ok {
                                cli::warn(format_args!(
                                    "the target refuses DUMP payloads ({e}); writing keys with type commands instead"
                                ));
                            }
                            self.restore_ok = false;
                            let mut again = clone_item(item);
                            again.force_types = true;
                            self.retries.push(again);
                        }
                        Err(e) if e.starts_with("MOVED") || e.starts_with("ASK") => {
                            self.refresh_slots()?;
                            let mut again = clone_item(item);
                            again.node = self.node_of(item.key());
                            self.retries.push(again);
                        }
                        Err(e) => {
                            let key = item.key().to_vec();
                            self.count(&key).rejected += 1;
                            self.reject(item, &e)?;
                            if !(starts && ends) {
                                // A split key failed: later parts are rejected too,
                                // and what was written of it is removed.
                                if let Some(o) = self.open.as_mut() {
                                    if o.key == key && o.db == item.db {
                                        o.action = Action::Failed;
                                    }
                                }
                                if !ends {
                                    self.failed_key = Some((item.db, key.clone()));
                                }
                                if self.mode != Mode::Merge {
                                    // Goes out first with the next batch's writes.
                                    self.cleanup.push((item.node, item.db, key));
                                }
                            }
                        }
                    }
                }
            }
        }
        items.clear();
        self.spare_items = items;
        Ok(())
    }

    /// The commands that write one record.
    fn encode(&self, p: &mut Packer, item: &mut Item) {
        item.set_nx = false;
        let rec = match &item.kind {
            ItemKind::Delete(k) => {
                p.cmd(&[b"DEL", k]);
                return;
            }
            ItemKind::Key(r) => r,
        };
        let key = rec.key.as_slice();
        let (starts, ends) = (rec.starts_key(), rec.ends_key());
        let expire = rec.expire_at_ms.filter(|_| ends);
        if item.restart && starts {
            // What a killed run wrote of this key is undone first.
            match (self.mode, item.list_len) {
                (Mode::Merge, Some(n)) if n > 0 && matches!(rec.value, RedisValue::List(_)) => {
                    p.begin(4);
                    p.arg(b"LTRIM");
                    p.arg(key);
                    p.arg(b"0");
                    p.arg_int(n - 1);
                }
                // Entries appended to a stream that existed cannot be cut
                // back (XTRIM drops the oldest); adding them again is
                // refused and reported for the key, as a merge onto a stream
                // with newer entries is.
                (Mode::Merge, Some(n)) if n > 0 => {}
                (Mode::Merge, Some(_)) => p.cmd(&[b"DEL", key]),
                (Mode::Merge, None) => {}
                _ => p.cmd(&[b"DEL", key]),
            }
        }
        if let (Some(payload), true, false) = (&rec.dump, self.restore_ok, item.force_types) {
            if starts && ends && !(self.mode == Mode::Merge && item.exists) {
                let replace = self.mode == Mode::Replace;
                p.begin(if replace { 6 } else { 5 });
                p.arg(b"RESTORE");
                p.arg(key);
                p.arg_int(rec.expire_at_ms.unwrap_or(0));
                p.arg(payload);
                if replace {
                    p.arg(b"REPLACE");
                }
                p.arg(b"ABSTTL");
                return;
            }
        }
        if let (Some(plan), false) = (item.built, item.force_types) {
            let replace = self.mode == Mode::Replace;
            p.begin(if replace { 6 } else { 5 });
            p.arg(b"RESTORE");
            p.arg(key);
            p.arg_int(rec.expire_at_ms.unwrap_or(0));
            p.arg_with(plan.len, |out| dump::write_payload(&rec.value, plan, out));
            if replace {
                p.arg(b"REPLACE");
            }
            p.arg(b"ABSTTL");
            return;
        }
        let whole_string = matches!(rec.value, RedisValue::String(_)) && starts;
        if starts && self.mode == Mode::Replace && !whole_string {
            p.cmd(&[b"DEL", key]);
        }
        let mut expire_done = false;
        match &rec.value {
            RedisValue::String(b) => {
                if starts {
                    let nx = self.mode == Mode::SkipExisting && ends;
                    let px = expire.filter(|_| self.pxat);
                    p.begin(3 + if nx { 1 } else { 0 } + if px.is_some() { 2 } else { 0 });
                    p.arg(b"SET");
                    p.arg(key);
                    p.arg(b);
                    if nx {
                        p.arg(b"NX");
                        item.set_nx = true;
                    }
                    if let Some(t) = px {
                        p.arg(b"PXAT");
                        p.arg_int(t);
                        expire_done = true;
                    }
                } else if !b.is_empty() {
                    p.cmd(&[b"APPEND", key, b]);
                }
            }
            RedisValue::Hash(pairs) => {
                for chunk in pairs.chunks(ELEMENTS_PER_COMMAND) {
                    p.begin(2 + chunk.len() * 2);
                    p.arg(b"HSET");
                    p.arg(key);
                    for (f, v) in chunk {
                        p.arg(f);
                        p.arg(v);
                    }
                }
                // Fields that expire, one HPEXPIREAT per distinct time.
                let mut by_time: std::collections::BTreeMap<i64, Vec<&[u8]>> = std::collections::BTreeMap::new();
                for (f, t) in &rec.field_expire_at_ms {
                    by_time.entry(*t).or_default().push(f);
                }
                for (t, fields) in by_time {
                    for chunk in fields.chunks(ELEMENTS_PER_COMMAND) {
                        p.begin(5 + chunk.len());
                        p.arg(b"HPEXPIREAT");
                        p.arg(key);
                        p.arg_int(t);
                        p.arg(b"FIELDS");
                        p.arg_int(chunk.len() as i64);
                        for f in chunk {
                            p.arg(f);
                        }
                    }
                }
            }
            RedisValue::List(items) => push_all(p, b"RPUSH", key, items),
            RedisValue::Set(items) => push_all(p, b"SADD", key, items),
            RedisValue::ZSet(pairs) => {
                for chunk in pairs.chunks(ELEMENTS_PER_COMMAND) {
                    p.begin(2 + chunk.len() * 2);
                    p.arg(b"ZADD");
                    p.arg(key);
                    for (m, score) in chunk {
                        p.arg(format_score(*score).as_bytes());
                        p.arg(m);
                    }
                }
            }
            RedisValue::Stream(s) => {
                for e in &s.entries {
                    p.begin(3 + e.fields.len() * 2);
                    p.arg(b"XADD");
                    p.arg(key);
                    p.arg(e.id.as_bytes());
                    for (f, v) in &e.fields {
                        p.arg(f);
                        p.arg(v);
                    }
                }
                if ends {
                    if starts && s.entries.is_empty() {
                        // A stream with no entries: create it empty.
                        p.cmd(&[b"XGROUP", b"CREATE", key, b"decant-tmp-group", b"0", b"MKSTREAM"]);
                        p.cmd(&[b"XGROUP", b"DESTROY", key, b"decant-tmp-group"]);
                    }
                    if let Some(last) = &s.last_id {
                        let full = self.redis7 && self.mode != Mode::Merge;
                        let added = s.entries_added.filter(|_| full);
                        let maxdel = s.max_deleted_entry_id.as_ref().filter(|_| full);
                        p.begin(3 + if added.is_some() { 2 } else { 0 } + if maxdel.is_some() { 2 } else { 0 });
                        p.arg(b"XSETID");
                        p.arg(key);
                        p.arg(last.as_bytes());
                        if let Some(n) = added {
                            p.arg(b"ENTRIESADDED");
                            p.arg_int(n as i64);
                        }
                        if let Some(m) = maxdel {
                            p.arg(b"MAXDELETEDID");
                            p.arg(m.as_bytes());
                        }
                    }
                    for g in &s.groups {
                        let read = g.entries_read.filter(|_| self.redis7);
                        p.begin(5 + if read.is_some() { 2 } else { 0 });
                        p.arg(b"XGROUP");
                        p.arg(b"CREATE");
                        p.arg(key);
                        p.arg(&g.name.0);
                        p.arg(g.last_delivered_id.as_bytes());
                        if let Some(n) = read {
                            p.arg(b"ENTRIESREAD");
                            p.arg_int(n as i64);
                        }
                        for c in &g.consumers {
                            p.cmd(&[b"XGROUP", b"CREATECONSUMER", key, &g.name.0, &c.0]);
                        }
                        // Pending entries: FORCE puts an entry in the PEL of its
                        // consumer, RETRYCOUNT sets its delivery count.
                        for pe in &g.pending {
                            p.begin(10);
                            for a in [
                                b"XCLAIM".as_slice(),
                                key,
                                &g.name.0,
                                &pe.consumer.0,
                                b"0",
                                pe.id.as_bytes(),
                                b"RETRYCOUNT",
                            ] {
                                p.arg(a);
                            }
                            p.arg_int(pe.delivery_count as i64);
                            p.arg(b"FORCE");
                            p.arg(b"JUSTID");
                        }
                    }
                }
            }
            // A module key is written only by RESTORE of its payload, above.
            RedisValue::Module(_) => {}
        }
        if let (Some(t), false) = (expire, expire_done) {
            p.begin(3);
            p.arg(b"PEXPIREAT");
            p.arg(key);
            p.arg_int(t);
        }
    }
}

fn push_all(p: &mut Packer, cmd: &[u8], key: &[u8], items: &[Vec<u8>]) {
    for chunk in items.chunks(ELEMENTS_PER_COMMAND) {
        p.begin(2 + chunk.len());
        p.arg(cmd);
        p.arg(key);
        for v in chunk {
            p.arg(v);
        }
    }
}

/// A score as Redis parses it back to the same double: shortest round-trip
/// digits (`{:?}` switches to exponent notation for very large/small values).
fn format_score(score: f64) -> String {
    if score.is_infinite() {
        return if score > 0.0 { "+inf".to_owned() } else { "-inf".to_owned() };
    }
    format!("{score:?}")
}

fn is_payload_error(e: &str) -> bool {
    e.contains("DUMP payload version or checksum are wrong") || e.contains("Bad data format")
}

/// A refusal of `RESTORE` itself rather than of one key: the payload (an
/// older or stricter server), or the command (an ACL without it).
fn refuses_restore(e: &str) -> bool {
    is_payload_error(e) || e.starts_with("NOPERM") || e.starts_with("ERR unknown command")
}

fn clone_item(item: &Item) -> Item {
    let kind = match &item.kind {
        ItemKind::Key(r) => ItemKind::Key(r.clone()),
        ItemKind::Delete(k) => ItemKind::Delete(k.clone()),
    };
    Item {
        line: item.line,
        kind,
        node: item.node,
        db: item.db,
        action: Action::Write,
        exists: item.exists,
        force_types: item.force_types,
        replies: 0,
        set_nx: false,
        built: item.built,
        recheck: false,
        restart: item.restart,
        list_len: item.list_len,
    }
}

fn split_addr(addr: &str) -> (String, u16) {
    match addr.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse().unwrap_or(6379)),
        None => (addr.to_owned(), 6379),
    }
}

/// The share the input is: its header's `shard`, checked against `--shard`.
/// A first line that is not a header names no share (the reader reports
/// what is wrong with it in its turn).
fn input_share(
    flag: Option<decant_record::shard::Shard>,
    first_line: &[u8],
) -> anyhow::Result<Option<decant_record::shard::Shard>> {
    let header = match Record::decode(first_line) {
        Ok(Record::Header(h)) => h.shard,
        _ => None,
    };
    decant_record::shard::input_share(flag, header).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_round_trip_through_their_text() {
        for s in [0.1, 1.0 / 3.0, -2.5e-300, 1e300, 12345678901234567.0, 0.0, -0.0, 3.0] {
            let t = format_score(s);
            assert_eq!(t.parse::<f64>().unwrap().to_bits(), s.to_bits(), "{t}");
        }
        assert_eq!(format_score(f64::INFINITY), "+inf");
        assert_eq!(format_score(f64::NEG_INFINITY), "-inf");
    }
}
