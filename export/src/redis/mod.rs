//! `redis-export`: every key of a Redis server (or of every master of a
//! Redis Cluster) as `redis` lines of a decant stream.
//!
//! How keys are read (one `SCAN` page at a time, never `KEYS`), on three
//! connections per server so that the server always has the next batch
//! queued while this side encodes the current one:
//!
//! 1. a scanning thread sends `SCAN` and, per page, one pipeline of `TYPE` +
//!    `PEXPIRETIME` (Redis ≥ 7; else `TIME` + `PTTL`) per key, with the next
//!    `SCAN` in the same pipeline (no `TYPE` for keys whose type is guessed
//!    from keys of the same shape: [`guess`]);
//! 2. the main thread sends one pipeline per page reading each value, bounded
//!    by `--chunk-size` (`HSCAN`/`SSCAN … COUNT n`, `LRANGE`/`ZRANGE 0 n-1`,
//!    `GETRANGE` for strings), and reads the previous page's replies while the
//!    server works on it; a key that comes back whole is written at once (by a
//!    writer thread that encodes the JSON). On servers with hash field expiry,
//!    hashes, sets and sorted sets of a compact encoding (`OBJECT ENCODING`,
//!    asked in step 1) are read with one `DUMP` each instead, decoded by the
//!    RDB parser into the same value (see `DumpReads`);
//! 3. one pipeline of `HPEXPIRETIME` for the hashes (on servers with hash
//!    field expiry) and, with `--dump`, `DUMP` for those keys;
//! 4. keys that did not fit (and streams) are then read one window at a time
//!    and written as consecutive parts (`"part": i`, `"last": true`), so a
//!    5M-member zset passes in the memory of two windows.
//!
//! A key that disappears between the steps (it expired, or was deleted) is
//! skipped and counted as such; it is never written half.
//!
//! Cluster masters are exported concurrently (up to `PARALLEL_NODES`), each
//! as above; a thread writing a split key keeps the output until its last
//! part, so the lines of every key stay consecutive.

pub mod guess;
pub mod rdb;
mod superset;

// The Redis client lives in decant-stores, shared with redis-import.
pub use decant_stores::redis::{conn, resp};

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use anyhow::{bail, Context as _};
use decant_record::cli::{self, Outcome, OutputArgs, Progress, ReportArgs, SourceArgs, Summary, EXIT_STATUS_HELP};
use decant_record::conn::{ConnUrl, Role, Store};
use decant_record::digest::KeyGrouper;
use decant_record::record::{is_module_name, PendingEntry, StreamEntry, StreamGroup, StreamValue};
use decant_record::{Bytes, FieldExpiries, Header, Record, RecordWriter, RedisRecord, RedisType, RedisValue, Shard};

use self::conn::{
    array_of, bytes_of, error_text, glob_match, int_of, into_array, into_bytes, Conn, Endpoint, Packer, Reply,
};
use self::guess::TypeGuess;

/// Strings longer than this are written in parts of this many bytes.
pub const STRING_PART_BYTES: usize = 8 << 20;

/// Values held for `--dump` before the rest of a batch is read key by key.
const DUMP_HOLD_BYTES: usize = 16 << 20;

/// Cluster masters exported at the same time (each on three connections).
const PARALLEL_NODES: usize = 4;

const AFTER_HELP: &str = "\
Examples:
  redis-export --url redis://prod:6379/0 -o prod.ndjson.zst
  redis-export --url rediss://app@prod:6380/0 --tls-ca ca.pem --password-file pw \\
      --match 'apikey:*' --match 'usage:*' --exclude '*:tmp' > keys.ndjson
  SOURCE_REDIS_HOST=prod SOURCE_REDIS_PASSWORD=… redis-export --dump | redis-import --url redis://qa:6379/0
  redis-export --url redis://node1:7000 --cluster --type hash,zset -o cluster.ndjson
  redis-export --rdb /var/lib/redis/dump.rdb --match 'apikey:*' -o apikeys.ndjson.zst
  redis-export --url redis://prod:6379/0 --no-functions -o keys-only.ndjson
  redis-export --url 'redis+unix:///run/redis/redis.sock?db=2' -o db2.ndjson   # as redis-cli -s
  redis-export --url redis://node1:7000 --cluster --shard $i/8 -o keys-$i.ndjson.zst   # i = 0..7

Keys are read with SCAN (never KEYS) in pipelined batches. Expiry is written as an
absolute Unix time in ms (expire_at_ms), read from the server's clock. A key with
more elements than --chunk-size, or more bytes than --chunk-bytes, is written as
several lines with \"part\" and \"last\" (each under --chunk-bytes, unless one
element alone is bigger); --dump adds the DUMP payload of every key that
fits in one line, so redis-import can RESTORE it exactly.

On servers with hash field expiry (Redis 7.4+, Valkey 9+; detected once), each
hash's fields are asked their absolute expiry with HPEXPIRETIME, pipelined with
the values and bounded like them (per window for a hash in parts), and written
as \"field_expire_at_ms\" beside the value. Streams carry entries_added,
max_deleted_entry_id and each group's entries_read. Keys of module types
(RedisJSON, Bloom, TimeSeries…) travel only with --dump, as their payload with
the module's name (\"type\":\"module\"), or with --dump-modules (payloads of
module keys only); without either each one is named and the run exits 1.

Function libraries (Redis 7+, Valkey) are server-wide: a whole-database export
writes each one first as a redis_function line (FUNCTION LIST WITHCODE;
redis-import loads it with FUNCTION LOAD). --no-functions leaves them out, and
an export narrowed by --match, --exclude or --type leaves them out too.

--rdb FILE reads an RDB file (SAVE/BGSAVE's dump.rdb, `redis-cli --rdb`; `-` for
stdin; plain, zstd- or gzip-compressed, found by magic bytes) instead of a server:
every database unless --db is given (each record keeps its db), keys and hash
fields already expired left out (and counted) unless --include-expired, the
file's CRC-64 checked at its end. It reads Redis 1.x to 8.2 files (RDB 1-12)
and Valkey 9 files (VALKEY080), and refuses what Redis refuses, naming the key:
a key held twice in one db, damaged encodings. Module values need --dump (they
travel as their DUMP payload, for a target with the module); without it each is
an error (exit 1). A module's global data outside keys (MODULE_AUX) is not
exported (a key-by-key copy never carries it), with a warning naming the module.
Function libraries (both RDB formats) become redis_function lines, unless
--match, --exclude or --type select keys.

--shard I/N exports share I (from 0) of N: the keys whose hash slot (CRC16 of the key,
or of its {hash tag}, mod 16384, as Redis Cluster computes it) falls in the I-th of N
contiguous slot ranges, so N processes export the keyspace together, each key once.
On a cluster only the masters serving those slots are scanned; on one server every
key is scanned and the others are left to their shards. With --rdb the file is read
whole by every share and each keeps its slots' keys (function libraries: share 0).
  redis-export --rdb dump.rdb.gz --dump -o all.ndjson.zst";

/// Arguments of `redis-export`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "redis-export",
    version,
    about = "Export Redis keys (every type, TTLs, streams with groups) as a decant NDJSON stream.",
    after_help = format!("{AFTER_HELP}\n\n{EXIT_STATUS_HELP}")
)]
pub struct Args {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub tls: conn::TlsArgs,
    /// Read this RDB file (a Redis dump; `-` for stdin) instead of a server.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "password_file", "tls_ca", "tls_cert", "insecure"])]
    pub rdb: Option<std::path::PathBuf>,
    /// With --rdb: also export keys whose expiry has already passed.
    #[arg(long, requires = "rdb")]
    pub include_expired: bool,
    /// Export only keys matching GLOB (Redis glob syntax; repeatable).
    #[arg(long = "match", value_name = "GLOB")]
    pub matches: Vec<String>,
    /// Leave out keys matching GLOB (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Export only these types (comma-separated: string,hash,list,set,zset,stream,module;
    /// `module` is every key of a module type, which needs --dump).
    #[arg(long = "type", value_name = "TYPES", value_delimiter = ',', value_parser = parse_type)]
    pub types: Vec<RedisType>,
    /// Database number (default: the URL's, else 0; with --rdb: every database).
    #[arg(long, value_name = "N")]
    pub db: Option<u32>,
    /// SCAN COUNT hint: keys asked for per SCAN call (and per pipeline).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
    /// Keys with more elements than this are read and written in parts.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub chunk_size: u32,
    /// Keys whose elements hold more bytes than this are read and written in
    /// parts of at most this many bytes of data (at least one element each),
    /// so every line stays well under the readers' maximum line length.
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_bytes: u64,
    /// Treat the URL as a Redis Cluster node and export every master
    /// (detected automatically from INFO cluster).
    #[arg(long)]
    pub cluster: bool,
    /// Also write each key's DUMP payload, for an exact RESTORE on import;
    /// keys of module types (RedisJSON, Bloom…) travel only this way.
    #[arg(long)]
    pub dump: bool,
    /// Write the DUMP payload of module-type keys only (their one form), the
    /// other keys by value alone: how decant-checksum, decant-diff and
    /// decant-verify read a live Redis, so a copy with module keys checks clean.
    #[arg(long)]
    pub dump_modules: bool,
    /// Leave out the function libraries (FUNCTION LIST WITHCODE), which a
    /// whole-database export writes first as redis_function lines; an
    /// export narrowed by --match, --exclude or --type never has them.
    #[arg(long)]
    pub no_functions: bool,
    /// Export only share I of N (numbered from 0): the keys whose hash slot
    /// is in the I-th of N contiguous slot ranges. E.g. `--shard 2/7`.
    /// With --rdb, the same slot ranges of the file's keys.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// How keys are grouped in the summary: a depth of `:`-segments (1),
    /// `SEPARATOR,DEPTH`, or `none`.
    #[arg(long, value_name = "SPEC", default_value = "1")]
    pub group_by: KeyGrouper,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

impl Args {
    /// True when module keys are exported, as their DUMP payload.
    pub(crate) fn modules_as_payload(&self) -> bool {
        self.dump || self.dump_modules
    }
}

fn parse_type(s: &str) -> Result<RedisType, String> {
    RedisType::parse(s)
        .ok_or_else(|| format!("unknown type {s:?} (expected string, hash, list, set, zset, stream or module)"))
}

/// Runs `redis-export`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if let Some(path) = &args.rdb {
        return rdb::run(&args, path);
    }
    let url = ConnUrl::resolve(args.source.url.as_deref(), args.source.password_file.as_deref(), Role::Source, true)?;
    if url.store() != Store::Redis {
        bail!("{url} is not a Redis URL (expected redis://, rediss:// or redis+unix:///path/redis.sock)");
    }
    let endpoint = Endpoint::new(url, args.tls.clone(), args.db)?;
    let slots = args.shard.filter(|s| !s.is_whole()).map(shard_slots);
    let mut seed = endpoint.connect()?;
    let info = seed.server_info()?;
    let cluster = args.cluster || info.cluster;
    if cluster && endpoint.socket_path().is_some() {
        bail!(
            "{}: a Redis Cluster is reached over TCP (its nodes announce host:port), not a unix socket",
            endpoint.shown()
        );
    }
    let (seed_host, seed_port) = endpoint.host_port();
    let mut nodes: Vec<(String, u16)> = Vec::new();
    if cluster {
        if endpoint.db() != 0 {
            bail!("Redis Cluster has only database 0 (asked for db {})", endpoint.db());
        }
        for r in seed.cluster_slots(&seed_host)? {
            // A master serving none of this shard's slots holds none of its keys.
            let serves_share = slots.is_none_or(|share| serves_slots(r.start, r.end, share));
            if serves_share && !nodes.iter().any(|(h, p)| *h == r.host && *p == r.port) {
                nodes.push((r.host, r.port));
            }
        }
    } else {
        nodes.push((seed_host.clone(), seed_port));
    }

    let output = args.output.create()?;
    let mut writer = RecordWriter::new(output);
    let source = endpoint.shown();
    writer.write_header(
        &Header::new(concat!("redis-export ", env!("CARGO_PKG_VERSION")), Some(source)).with_shard(args.shard),
    )?;
    // Function libraries are server-wide: one copy (the seed node's), first,
    // so an import loads them before the keys that may use them. Of a
    // sharded export, share 0 carries them, so the shares add up to the whole.
    let whole_db = args.matches.is_empty()
        && args.exclude.is_empty()
        && args.types.is_empty()
        && args.shard.is_none_or(|s| s.index() == 0);
    let mut functions = 0u64;
    if whole_db && !args.no_functions && info.functions {
        for f in seed.function_libraries()? {
            writer.write(&Record::RedisFunction(f))?;
            functions += 1;
        }
    }

    let mut ex = Exporter {
        opts: &args,
        db: endpoint.db(),
        pexpiretime: info.at_least(7, 0),
        field_expiry: info.field_expiry,
        exclusive_xrange: info.at_least(6, 2),
        scan_type: info.at_least(6, 0),
        progress: Progress::new(&args.report, "keys", None),
        summary: Summary::new().with_shard(args.shard),
        sink: Sink::spawn(writer),
        unsupported: 0,
        shared_progress: None,
        misses: Misses::default(),
        dump_reads: DumpReads::new(info.field_expiry),
    };
    if !cluster && slots.is_none() && args.matches.is_empty() && args.exclude.is_empty() && args.types.is_empty() {
        // Without filters, DBSIZE is the total (for the ETA).
        if let Ok(n) = seed.call(&[b"DBSIZE"]).map(|v| int_of(&v).unwrap_or(0)) {
            ex.progress.set_total(Some(n as u64));
        }
    }
    drop(seed);
    if nodes.len() > 1 {
        ex.export_nodes_in_parallel(&endpoint, &nodes)?;
    } else if let Some((host, port)) = nodes.first() {
        ex.export_node(&endpoint, host, *port).with_context(|| {
            if cluster {
                format!("exporting cluster node {host}:{port}")
            } else {
                "exporting".to_owned()
            }
        })?;
    }
    ex.progress.finish();
    let Exporter { sink, mut summary, unsupported, .. } = ex;
    sink.finish()?;
    summary.add_note("function libraries", functions);
    summary.print(&args.report);
    if unsupported > 0 {
        cli::warn(format_args!(
            "{unsupported} key(s) were not exported: module keys travel only as DUMP payloads (export with --dump)"
        ));
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Success)
}

/// A key found by SCAN, with what step 1 learned about it.
#[derive(Debug)]
struct Found {
    key: Vec<u8>,
    ty: RedisType,
    expire_at_ms: Option<i64>,
    /// `ty` is a guess (no `TYPE` was asked).
    guessed: bool,
    /// The module type's name, for a module key (`ty` is `Module`).
    module: Option<String>,
    /// Its encoding is compact (`OBJECT ENCODING`: listpack, intset,
    /// ziplist), so its DUMP payload is small and read whole.
    compact: bool,
    /// Step 2 sent `DUMP` for it (not the element reads).
    by_dump: bool,
}

/// Why a key of type `name` (a `TYPE` reply decant has no value form for)
/// is not exported.
fn unsupported_reason(name: &str) -> String {
    if is_module_name(name) {
        format!("module type {name}: its value travels only as a DUMP payload (export with --dump)")
    } else {
        format!("type {name:?} is not one decant can represent")
    }
}

/// Keys whose guessed type was wrong, from the reading side to the scanning
/// thread (which then stops guessing their shape).
type Misses = Arc<Mutex<Vec<Vec<u8>>>>;

/// Whether hashes, sets and sorted sets of a compact encoding (listpack,
/// intset, ziplist: `OBJECT ENCODING`, asked in step 1) are read with one
/// `DUMP` each, decoded here by the RDB parser ([`rdb::payload`]), instead of
/// `HSCAN`/`SSCAN`/`ZRANGE`: the server saves a listpack as one string, which
/// costs it less than replying element by element, and a hash whose payload
/// has no field expiry needs no `HPEXPIRETIME`. The records are the same.
/// Only compact encodings: their size is bounded by the server's
/// `*-max-listpack-*` settings, and `HSCAN`/`SSCAN` return them whole too.
/// Shared by the scanning thread, the reading side and the nodes of a
/// cluster: the first refusal of either command (an ACL, a renamed command)
/// turns it off for the rest of the run, with one warning.
///
/// On servers with hash field expiry only (Redis 7.4+, Valkey 9), where it
/// pays: on Valkey 9.1 it took redis-server from 1.29 to 0.91 CPU-s for the
/// relay families (BENCHMARKS.md); on Redis 7.0 the extra OBJECT ENCODING
/// costs what DUMP saves over HSCAN (its DUMP compresses each listpack with
/// LZF), so the element reads stay.
#[derive(Debug, Clone)]
struct DumpReads(Arc<AtomicBool>);

impl DumpReads {
    fn new(on: bool) -> DumpReads {
        DumpReads(Arc::new(AtomicBool::new(on)))
    }

    fn on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Turns DUMP reads off after `command` was refused; warns once.
    fn refused(&self, addr: &str, command: &str, error: &str) {
        if self.0.swap(false, Ordering::Relaxed) {
            cli::warn(format_args!(
                "{addr}: {command} was refused ({error}); values are read with HSCAN, SSCAN and ZRANGE \
                 instead (the same records, more work for the server)"
            ));
        }
    }
}

/// The `OBJECT ENCODING` replies of values whose DUMP payload is small and
/// decoded to the same record as the element reads give.
fn is_compact_encoding(name: &[u8]) -> bool {
    matches!(name, b"listpack" | b"intset" | b"ziplist")
}

/// Types read with DUMP when their encoding is compact (lists are not: their
/// quicklist nodes are compressed with LZF by DUMP, which costs the server
/// more than LRANGE; strings are read with a bounded GETRANGE).
fn dump_readable(ty: RedisType) -> bool {
    matches!(ty, RedisType::Hash | RedisType::Set | RedisType::ZSet)
}

/// Records are encoded and written on a thread of their own, so JSON
/// encoding overlaps reading from the server; batches go through a bounded
/// channel, keeping memory bounded.
struct Sink {
    tx: Option<std::sync::mpsc::SyncSender<Msg>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    batch: Vec<RedisRecord>,
    weight: usize,
    /// A sink of one of several threads writing into the same output: its id
    /// and the hand-off they share.
    shared: Option<(usize, Arc<Handoff>)>,
    /// The last record pushed is a part of a split key, not its last.
    open: bool,
}

/// Hands the output over between the threads that export cluster masters: a
/// thread that sent some parts of a split key keeps the output until it sends
/// the last part, so the lines of every key stay consecutive.
#[derive(Debug, Default)]
struct Handoff {
    owner: Mutex<Option<usize>>,
    free: Condvar,
}

impl Sink {
    fn spawn(mut writer: RecordWriter<decant_record::io::Output>) -> Sink {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(4);
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            loop {
                match rx.recv() {
                    Ok(Msg::Batch(batch)) => {
                        for rec in batch {
                            writer.write(&Record::Redis(rec)).context("writing the output")?;
                        }
                    }
                    Ok(Msg::Line(record)) => writer.write(&record).context("writing the output")?,
                    Ok(Msg::Finish) => {
                        let output = writer.finish().context("writing the output")?;
                        return output.finish().context("writing the output");
                    }
                    // The export failed: leave the stream unsealed (a file is
                    // not moved into place), so nobody mistakes it for complete.
                    Err(_) => {
                        let _ = writer.abandon();
                        return Ok(());
                    }
                }
            }
        });
        Sink {
            tx: Some(tx),
            thread: Some(thread),
            batch: Vec::with_capacity(512),
            weight: 0,
            shared: None,
            open: false,
        }
    }

    /// A sink for thread `id` of several writing into this sink's output.
    fn worker(&self, id: usize, handoff: Arc<Handoff>) -> Sink {
        Sink {
            tx: self.tx.clone(),
            thread: None,
            batch: Vec::with_capacity(512),
            weight: 0,
            shared: Some((id, handoff)),
            open: false,
        }
    }

    /// Writes a line that is not a key, after the keys pushed before it.
    fn push_line(&mut self, record: Record) -> anyhow::Result<()> {
        self.send()?;
        if self.tx.as_ref().is_none_or(|tx| tx.send(Msg::Line(Box::new(record))).is_err()) {
            // The writer stopped: its error says why.
            return Err(self.join().err().unwrap_or_else(|| anyhow::anyhow!("the output writer stopped")));
        }
        Ok(())
    }

    fn push(&mut self, rec: RedisRecord) -> anyhow::Result<()> {
        self.open = rec.part.is_some() && !rec.last;
        self.weight += rec.value.len() + 1;
        self.batch.push(rec);
        if self.batch.len() >= 512 || self.weight >= 50_000 {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> anyhow::Result<()> {
        self.weight = 0;
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(512));
        let sent = match &self.shared {
            None => self.tx.as_ref().is_some_and(|tx| tx.send(Msg::Batch(batch)).is_ok()),
            Some((id, handoff)) => {
                let mut owner = handoff.owner.lock().unwrap_or_else(PoisonError::into_inner);
                while owner.is_some_and(|o| o != *id) {
                    owner = handoff.free.wait(owner).unwrap_or_else(PoisonError::into_inner);
                }
                let sent = self.tx.as_ref().is_some_and(|tx| tx.send(Msg::Batch(batch)).is_ok());
                *owner = if self.open { Some(*id) } else { None };
                drop(owner);
                handoff.free.notify_all();
                sent
            }
        };
        if !sent {
            // The writer stopped: its error says why.
            return Err(self.join().err().unwrap_or_else(|| anyhow::anyhow!("the output writer stopped")));
        }
        Ok(())
    }

    fn join(&mut self) -> anyhow::Result<()> {
        self.tx = None;
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| anyhow::anyhow!("the output writer panicked"))?,
            None => Ok(()),
        }
    }

    fn finish(mut self) -> anyhow::Result<()> {
        if !self.batch.is_empty() {
            self.send()?;
        }
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(Msg::Finish).is_ok());
        let result = self.join();
        if !sent && result.is_ok() {
            anyhow::bail!("the output writer stopped");
        }
        result
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // A worker that stops (on an error) mid-key lets the others go on.
        if let Some((id, handoff)) = &self.shared {
            let mut owner = handoff.owner.lock().unwrap_or_else(PoisonError::into_inner);
            if *owner == Some(*id) {
                *owner = None;
            }
            drop(owner);
            handoff.free.notify_all();
        }
        // On an error path: let the writer abandon its output (and remove a
        // temporary file) before the process exits.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Msg {
    Batch(Vec<RedisRecord>),
    /// A line that is not a key (a function library).
    Line(Box<Record>),
    Finish,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("pending", &self.batch.len()).finish()
    }
}

struct Exporter<'a> {
    opts: &'a Args,
    db: u32,
    pexpiretime: bool,
    /// The server has hash field expiry: hashes are read with HPEXPIRETIME.
    field_expiry: bool,
    exclusive_xrange: bool,
    /// `SCAN … TYPE` (Redis ≥ 6).
    scan_type: bool,
    progress: Progress,
    summary: Summary,
    sink: Sink,
    unsupported: u64,
    /// The progress shared by the threads of a parallel cluster export.
    shared_progress: Option<&'a Mutex<Progress>>,
    misses: Misses,
    /// Compact values are read with DUMP ([`DumpReads`]).
    dump_reads: DumpReads,
}

impl Exporter<'_> {
    /// Exports the masters of a cluster, up to [`PARALLEL_NODES`] at a time,
    /// each on threads of its own, into the one output.
    fn export_nodes_in_parallel(&mut self, endpoint: &Endpoint, nodes: &[(String, u16)]) -> anyhow::Result<()> {
        let handoff = Arc::new(Handoff::default());
        let queue = Mutex::new(nodes.iter().cloned().collect::<VecDeque<_>>());
        let progress = Mutex::new(std::mem::replace(&mut self.progress, Progress::hidden()));
        let results = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..nodes.len().min(PARALLEL_NODES))
                .map(|id| {
                    let mut w = Exporter {
                        opts: self.opts,
                        db: self.db,
                        pexpiretime: self.pexpiretime,
                        field_expiry: self.field_expiry,
                        exclusive_xrange: self.exclusive_xrange,
                        scan_type: self.scan_type,
                        progress: Progress::hidden(),
                        summary: Summary::new(),
                        sink: self.sink.worker(id, handoff.clone()),
                        unsupported: 0,
                        shared_progress: Some(&progress),
                        misses: Misses::default(),
                        dump_reads: self.dump_reads.clone(),
                    };
                    let queue = &queue;
                    scope.spawn(move || -> anyhow::Result<(Summary, u64)> {
                        loop {
                            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
                            let Some((host, port)) = next else { break };
                            w.export_node(endpoint, &host, port)
                                .with_context(|| format!("exporting cluster node {host}:{port}"))?;
                        }
                        if !w.sink.batch.is_empty() {
                            w.sink.send()?;
                        }
                        Ok((std::mem::take(&mut w.summary), w.unsupported))
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a node export thread panicked"))))
                .collect::<Vec<_>>()
        });
        self.progress = progress.into_inner().unwrap_or_else(PoisonError::into_inner);
        for r in results {
            let (summary, unsupported) = r?;
            for (name, c) in summary.groups() {
                let g = self.summary.group(name);
                g.written += c.written;
                g.skipped += c.skipped;
                g.rejected += c.rejected;
            }
            self.unsupported += unsupported;
        }
        Ok(())
    }

    /// Exports one server: a thread scans and reads types and expiries on
    /// one connection (step 1), values are read on a second with the next
    /// batch always queued behind the current one (step 2), and a third
    /// serves DUMP and window reads (steps 3, 4), so the server never waits
    /// for this side to encode a batch.
    fn export_node(&mut self, endpoint: &Endpoint, host: &str, port: u16) -> anyhow::Result<()> {
        let scan_con = endpoint.connect_to(host, port, self.db)?;
        let mut values = endpoint.connect_to(host, port, self.db)?;
        let mut side = endpoint.connect_to(host, port, self.db)?;
        let opts = ScanOpts {
            server_match: server_match(&self.opts.matches),
            matches: self.opts.matches.clone(),
            exclude: self.opts.exclude.clone(),
            types: self.opts.types.clone(),
            count: self.opts.count,
            pexpiretime: self.pexpiretime,
            scan_type: self.scan_type,
            misses: Arc::clone(&self.misses),
            dump: self.opts.modules_as_payload(),
            slots: self.opts.shard.filter(|s| !s.is_whole()).map(shard_slots),
            dump_reads: self.dump_reads.clone(),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Meta>>(2);
        let scanner = std::thread::spawn(move || {
            let mut con = scan_con;
            if let Err(e) = scan_loop(&mut con, &opts, &tx) {
                let _ = tx.send(Err(e));
            }
        });
        let mut inflight: Option<Vec<Found>> = None;
        let result = loop {
            let mut next = match rx.recv() {
                Ok(Ok(meta)) => {
                    for k in meta.gone {
                        self.group(&k).skipped += 1;
                    }
                    for (k, name) in meta.unsupported {
                        cli::warn(format_args!(
                            "key {}: {}; not exported",
                            Bytes(k.clone()),
                            unsupported_reason(&name)
                        ));
                        self.group(&k).rejected += 1;
                        self.unsupported += 1;
                    }
                    Some(meta.found)
                }
                Ok(Err(e)) => break Err(e),
                Err(_) => None,
            };
            if let Some(found) = next.as_deref_mut() {
                if let Err(e) = self.send_values(&mut values, found) {
                    break Err(e);
                }
            }
            if let Some(prev) = inflight.take() {
                if let Err(e) = self.read_values(&mut values, &mut side, prev) {
                    break Err(e);
                }
            }
            match next {
                Some(f) => inflight = Some(f),
                None => break Ok(()),
            }
        };
        drop(rx);
        let _ = scanner.join();
        result
    }

    fn group(&mut self, key: &[u8]) -> &mut cli::Counts {
        let g = self.opts.group_by.group(key);
        self.summary.group(&g)
    }

    /// Step 2, sending: one value read per key, bounded by the chunk size
    /// (or, for a compact encoding, by the server's listpack settings).
    fn send_values(&mut self, con: &mut Conn, found: &mut [Found]) -> anyhow::Result<()> {
        let chunk = self.opts.chunk_size as i64;
        let dump_reads = self.dump_reads.on();
        let mut p = Packer::default();
        for f in found {
            let k = f.key.as_slice();
            f.by_dump = dump_reads && f.compact && dump_readable(f.ty);
            if f.by_dump {
                p.cmd(&[b"DUMP", k]);
                continue;
            }
            match f.ty {
                RedisType::String => {
                    // An empty reply is an empty string or a vanished key;
                    // only then is EXISTS asked (in read_values).
                    p.begin(4);
                    p.arg(b"GETRANGE");
                    p.arg(k);
                    p.arg(b"0");
                    p.arg_int(STRING_PART_BYTES as i64 - 1);
                }
                RedisType::Hash => scan_cmd(&mut p, b"HSCAN", k, b"0", chunk),
                RedisType::Set => scan_cmd(&mut p, b"SSCAN", k, b"0", chunk),
                RedisType::List => range_cmd(&mut p, b"LRANGE", k, 0, chunk, false),
                RedisType::ZSet => range_cmd(&mut p, b"ZRANGE", k, 0, chunk, true),
                RedisType::Stream | RedisType::Module => {}
            }
        }
        con.send(p.bytes(), p.count())
    }

    /// Step 2, reading (values on `con`), then steps 3 and 4 on `side`.
    fn read_values(&mut self, con: &mut Conn, side: &mut Conn, found: Vec<Found>) -> anyhow::Result<()> {
        let chunk = self.opts.chunk_size as i64;
        let mut p = Packer::default();
        let mut deferred: VecDeque<Found> = VecDeque::new();
        // Records waiting for step 3, and whether they have all step 3
        // would add (read with DUMP: payload and no field expiry).
        let mut held: Vec<(RedisRecord, bool)> = Vec::new();
        let mut held_bytes = 0usize;
        for f in found {
            let mut payload = None;
            let whole = match f.ty {
                _ if f.by_dump => match self.dump_window(con, &f)? {
                    Some((w, p)) => {
                        payload = Some(p);
                        w
                    }
                    None => {
                        deferred.push_back(f);
                        continue;
                    }
                },
                RedisType::Stream | RedisType::Module => {
                    deferred.push_back(f);
                    continue;
                }
                RedisType::String => {
                    let v = con.recv()?;
                    if let Some(e) = error_text(&v) {
                        self.retry_or_fail(con, &f, &e)?;
                        deferred.push_back(f);
                        continue;
                    }
                    let b = into_bytes(v).unwrap_or_default();
                    if b.is_empty() && int_of(&side.call(&[b"EXISTS", &f.key])?) != Some(1) {
                        Window::Gone
                    } else if b.len() >= STRING_PART_BYTES || b.len() > self.opts.chunk_bytes as usize {
                        Window::Partial
                    } else {
                        Window::Whole(RedisValue::String(b))
                    }
                }
                ty => {
                    let v = con.recv()?;
                    if let Some(e) = error_text(&v) {
                        self.retry_or_fail(con, &f, &e)?;
                        deferred.push_back(f);
                        continue;
                    }
                    match first_window(ty, v, chunk as usize) {
                        Window::Whole(value) if value_bytes(&value) > self.opts.chunk_bytes as usize => Window::Partial,
                        w => w,
                    }
                }
            };
            match whole {
                Window::Gone => self.group(&f.key).skipped += 1,
                Window::Partial => deferred.push_back(f),
                Window::Whole(mut value) => {
                    if payload.is_none() {
                        // (A decoded payload is sorted already.)
                        value.sort_canonical();
                    }
                    let mut rec = RedisRecord {
                        db: self.db,
                        key: f.key,
                        expire_at_ms: f.expire_at_ms,
                        value,
                        part: None,
                        last: false,
                        dump: None,
                        field_expire_at_ms: Vec::new(),
                    };
                    let needs_field_expiry = self.field_expiry && matches!(rec.value, RedisValue::Hash(_));
                    // A payload holds no field expiry (see `rdb::payload`).
                    let complete = payload.is_some();
                    if self.opts.dump {
                        rec.dump = payload;
                    }
                    // Held like the element reads' records, so the lines
                    // come in the same order whichever way a key was read.
                    if self.opts.dump || needs_field_expiry {
                        if held_bytes > DUMP_HOLD_BYTES {
                            // Enough held for this batch: read the rest key by key.
                            deferred.push_back(Found {
                                key: rec.key,
                                ty: rec.value.redis_type(),
                                expire_at_ms: rec.expire_at_ms,
                                guessed: false,
                                module: None,
                                compact: false,
                                by_dump: false,
                            });
                            continue;
                        }
                        held_bytes += approx_size(&rec);
                        held.push((rec, complete));
                    } else {
                        self.write(rec)?;
                    }
                }
            }
        }

        // Step 3: field expiries of the hashes and DUMP payloads of the keys
        // read whole, in one pipeline.
        if !held.is_empty() {
            p.clear();
            for (r, _) in held.iter().filter(|(_, complete)| !complete) {
                if let (true, RedisValue::Hash(pairs)) = (self.field_expiry, &r.value) {
                    field_expiry_cmd(&mut p, &r.key, pairs);
                }
                if self.opts.dump {
                    p.cmd(&[b"DUMP", &r.key]);
                }
            }
            side.send(p.bytes(), p.count())?;
            for (mut rec, complete) in held {
                if complete {
                    self.write(rec)?;
                    continue;
                }
                if let (true, RedisValue::Hash(pairs)) = (self.field_expiry, &mut rec.value) {
                    let reply = side.recv()?;
                    rec.field_expire_at_ms = apply_field_expiry(reply, pairs)
                        .with_context(|| format!("{}: HPEXPIRETIME {}", con.addr(), Bytes(rec.key.clone())))?;
                }
                // Every field of the hash vanished since it was read.
                let gone = matches!(&rec.value, RedisValue::Hash(pairs) if pairs.is_empty());
                if self.opts.dump {
                    let d = side.recv()?;
                    if let Some(e) = error_text(&d) {
                        bail!("{}: DUMP {}: {e}", con.addr(), Bytes(rec.key));
                    }
                    match into_bytes(d) {
                        Some(payload) if !gone => rec.dump = Some(payload),
                        // Gone since step 2.
                        _ => {
                            self.group(&rec.key).skipped += 1;
                            continue;
                        }
                    }
                } else if gone {
                    self.group(&rec.key).skipped += 1;
                    continue;
                }
                self.write(rec)?;
            }
        }

        // Step 4: big keys and streams, one window at a time.
        while let Some(f) = deferred.pop_front() {
            self.export_windows(side, f)?;
        }
        Ok(())
    }

    /// Step 2's reply to a key's `DUMP`: the value as the element reads
    /// would have given it (whole, too big for one line, or gone) with the
    /// payload, or `None` when the key is to be read with the element reads
    /// after all (DUMP refused, a payload the decoder leaves to them, or one
    /// it cannot read: a warning, as that is a bug of this side).
    fn dump_window(&mut self, con: &mut Conn, f: &Found) -> anyhow::Result<Option<(Window, Vec<u8>)>> {
        let reply = con.recv()?;
        if let Some(e) = error_text(&reply) {
            self.dump_reads.refused(con.addr(), "DUMP", &e);
            return Ok(None);
        }
        let Some(payload) = into_bytes(reply) else {
            return Ok(Some((Window::Gone, Vec::new())));
        };
        let value = match rdb::payload::decode(&payload) {
            Ok(rdb::payload::Decoded::Value(v)) => v,
            Ok(rdb::payload::Decoded::Unfit(_)) => return Ok(None),
            Err(e) => {
                cli::warn(format_args!(
                    "{}: key {}: its DUMP payload could not be decoded ({e}); read with the element commands instead",
                    con.addr(),
                    Bytes(f.key.clone())
                ));
                return Ok(None);
            }
        };
        let ty = value.redis_type();
        if ty != f.ty {
            // As after the element reads' WRONGTYPE: the window reader
            // reads it (asking its type), so the lines keep their order.
            if f.guessed {
                self.misses.lock().unwrap_or_else(PoisonError::into_inner).push(f.key.clone());
            }
            return Ok(None);
        }
        // The element reads' limits: HSCAN and SSCAN give a compact value
        // whole; ZRANGE and LRANGE stop at --chunk-size elements.
        let chunk = self.opts.chunk_size as usize;
        let too_many = matches!(ty, RedisType::ZSet | RedisType::List) && value.len() >= chunk;
        if too_many || value_bytes(&value) > self.opts.chunk_bytes as usize {
            return Ok(Some((Window::Partial, payload)));
        }
        Ok(Some((Window::Whole(value), payload)))
    }

    /// A key whose value command failed in step 2 (its type was guessed
    /// wrong, or it changed type in between) is read again by the window
    /// reader, which checks its type; any other error stops the run.
    fn retry_or_fail(&self, con: &Conn, f: &Found, e: &str) -> anyhow::Result<()> {
        if e.starts_with("WRONGTYPE") {
            if f.guessed {
                self.misses.lock().unwrap_or_else(PoisonError::into_inner).push(f.key.clone());
            }
            return Ok(());
        }
        bail!("{}: reading key {}: {e}", con.addr(), Bytes(f.key.clone()))
    }

    fn write(&mut self, rec: RedisRecord) -> anyhow::Result<()> {
        let ends = rec.ends_key();
        let key_group = ends.then(|| self.opts.group_by.group(&rec.key));
        self.sink.push(rec)?;
        if let Some(g) = key_group {
            self.summary.group(&g).written += 1;
            match self.shared_progress {
                Some(p) => p.lock().unwrap_or_else(PoisonError::into_inner).inc(1),
                None => self.progress.inc(1),
            }
        }
        Ok(())
    }

    /// A module key: its DUMP payload is its value (read with `--dump` only).
    fn export_module(&mut self, con: &mut Conn, f: Found) -> anyhow::Result<()> {
        let name = f.module.clone().unwrap_or_default();
        let Some(payload) = read_dump(con, &f.key)? else {
            // Gone since step 1.
            self.group(&f.key).skipped += 1;
            return Ok(());
        };
        let mut rec = RedisRecord::new(self.db, f.key, RedisValue::Module(name));
        rec.expire_at_ms = f.expire_at_ms;
        rec.dump = Some(payload);
        self.write(rec)
    }

    /// Reads one key window by window and writes it whole (one line) or in
    /// parts, each at most `--chunk-size` elements and `--chunk-bytes` bytes.
    fn export_windows(&mut self, con: &mut Conn, f: Found) -> anyhow::Result<()> {
        if f.ty == RedisType::Module {
            return self.export_module(con, f);
        }
        let max_bytes = self.opts.chunk_bytes as usize;
        let mut reader = WindowReader::new(&f, self.opts.chunk_size as usize, max_bytes, self.exclusive_xrange);
        let mut part: u32 = 0;
        // Pieces read and not written yet: a piece is the last part only
        // once the reader has nothing more.
        let mut queue: VecDeque<RedisValue> = VecDeque::new();
        // Expiries of the hash fields read and not written yet.
        let mut field_expiries: HashMap<Vec<u8>, i64> = HashMap::new();
        loop {
            while queue.len() < 2 {
                match reader.next(con)? {
                    Some(mut value) => {
                        if let (true, RedisValue::Hash(pairs)) = (self.field_expiry, &mut value) {
                            let mut p = Packer::default();
                            field_expiry_cmd(&mut p, &f.key, pairs);
                            con.send(p.bytes(), 1)?;
                            let reply = con.recv()?;
                            let found = apply_field_expiry(reply, pairs)
                                .with_context(|| format!("{}: HPEXPIRETIME {}", con.addr(), Bytes(f.key.clone())))?;
                            field_expiries.extend(found);
                            if pairs.is_empty() {
                                continue;
                            }
                        }
                        value.sort_canonical();
                        queue.extend(split_by_bytes(value, max_bytes));
                    }
                    None => break,
                }
            }
            let Some(mut value) = queue.pop_front() else {
                if let Some(name) = reader.unsupported.take() {
                    if self.opts.modules_as_payload() && is_module_name(&name) {
                        // A guessed key that is a module's: it travels as its payload.
                        let module = Found { module: Some(name), ..f };
                        return self.export_module(con, module);
                    }
                    cli::warn(format_args!(
                        "key {}: {}; not exported",
                        Bytes(f.key.clone()),
                        unsupported_reason(&name)
                    ));
                    self.group(&f.key).rejected += 1;
                    self.unsupported += 1;
                    return Ok(());
                }
                // Gone before its first window.
                self.group(&f.key).skipped += 1;
                return Ok(());
            };
            let field_expire_at_ms = take_field_expiries(&mut field_expiries, &value);
            if !queue.is_empty() {
                self.write(RedisRecord {
                    db: self.db,
                    key: f.key.clone(),
                    expire_at_ms: f.expire_at_ms,
                    value,
                    part: Some(part),
                    last: false,
                    dump: None,
                    field_expire_at_ms,
                })?;
                part += 1;
                continue;
            }
            if part == 0 {
                // It fits in one line after all.
                let dump = if self.opts.dump { read_dump(con, &f.key)? } else { None };
                if self.opts.dump && dump.is_none() {
                    self.group(&f.key).skipped += 1;
                    return Ok(());
                }
                if let RedisValue::Stream(s) = &mut value {
                    reader.stream_meta(con, s)?;
                }
                return self.write(RedisRecord {
                    db: self.db,
                    key: f.key,
                    expire_at_ms: f.expire_at_ms,
                    value,
                    part: None,
                    last: false,
                    dump,
                    field_expire_at_ms,
                });
            }
            if reader.gone {
                cli::warn(format_args!(
                    "key {}: disappeared while it was read (part {part}); its last part is empty",
                    Bytes(f.key.clone())
                ));
            }
            if let RedisValue::Stream(s) = &mut value {
                reader.stream_meta(con, s)?;
            }
            return self.write(RedisRecord {
                db: self.db,
                key: f.key,
                expire_at_ms: f.expire_at_ms,
                value,
                part: Some(part),
                last: true,
                dump: None,
                field_expire_at_ms,
            });
        }
    }
}

/// `HPEXPIRETIME key FIELDS n f…`: the absolute expiry of each field.
fn field_expiry_cmd(p: &mut Packer, key: &[u8], pairs: &[(Vec<u8>, Vec<u8>)]) {
    p.begin(4 + pairs.len());
    p.arg(b"HPEXPIRETIME");
    p.arg(key);
    p.arg(b"FIELDS");
    p.arg_int(pairs.len() as i64);
    for (f, _) in pairs {
        p.arg(f);
    }
}

/// Reads an `HPEXPIRETIME` reply for `pairs`: the fields that expire, with
/// their Unix-ms time. Fields gone since they were read (-2: expired or
/// deleted in between) are taken out of `pairs`, so no line holds a field
/// the server no longer has.
fn apply_field_expiry(reply: Reply, pairs: &mut Vec<(Vec<u8>, Vec<u8>)>) -> anyhow::Result<FieldExpiries> {
    if let Some(e) = error_text(&reply) {
        bail!("{e}");
    }
    let times: Vec<i64> = match &reply {
        // A key gone since it was read: every field is gone.
        Reply::Nil => vec![-2; pairs.len()],
        other => array_of(other).unwrap_or(&[]).iter().map(|t| int_of(t).unwrap_or(-2)).collect(),
    };
    if times.len() != pairs.len() {
        bail!("expected {} expiry times, got {}", pairs.len(), times.len());
    }
    let mut expiries = Vec::new();
    let mut keep = times.iter().map(|t| *t != -2);
    for ((f, _), t) in pairs.iter().zip(&times) {
        if *t >= 0 {
            expiries.push((f.clone(), *t));
        }
    }
    pairs.retain(|_| keep.next().unwrap_or(true));
    Ok(expiries)
}

/// The expiries of the fields of `value` (a hash part), taken out of `all`.
fn take_field_expiries(all: &mut HashMap<Vec<u8>, i64>, value: &RedisValue) -> FieldExpiries {
    match value {
        RedisValue::Hash(pairs) if !all.is_empty() => {
            pairs.iter().filter_map(|(f, _)| all.remove(f).map(|t| (f.clone(), t))).collect()
        }
        _ => Vec::new(),
    }
}

/// Bytes of data in a value (keys, fields, members, values; 24 per score).
fn value_bytes(v: &RedisValue) -> usize {
    match v {
        RedisValue::String(s) => s.len(),
        RedisValue::Hash(h) => h.iter().map(|(f, v)| f.len() + v.len()).sum(),
        RedisValue::List(l) | RedisValue::Set(l) => l.iter().map(Vec::len).sum(),
        RedisValue::ZSet(z) => z.iter().map(|(m, _)| m.len() + 24).sum(),
        RedisValue::Stream(s) => s.entries.iter().map(entry_bytes).sum(),
        RedisValue::Module(_) => 0,
    }
}

fn entry_bytes(e: &StreamEntry) -> usize {
    e.id.len() + e.fields.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>()
}

/// Cuts a value into pieces of at most `max` bytes of data each (at least
/// one element per piece), keeping the element order.
fn split_by_bytes(value: RedisValue, max: usize) -> Vec<RedisValue> {
    if value_bytes(&value) <= max {
        return vec![value];
    }
    fn cut<T>(items: Vec<T>, max: usize, size: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
        let mut out = Vec::new();
        let mut cur = Vec::new();
        let mut bytes = 0;
        for it in items {
            let n = size(&it);
            if !cur.is_empty() && bytes + n > max {
                out.push(std::mem::take(&mut cur));
                bytes = 0;
            }
            bytes += n;
            cur.push(it);
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
    match value {
        RedisValue::String(s) => s.chunks(max).map(|c| RedisValue::String(c.to_vec())).collect(),
        RedisValue::Hash(h) => cut(h, max, |(f, v)| f.len() + v.len()).into_iter().map(RedisValue::Hash).collect(),
        RedisValue::List(l) => cut(l, max, Vec::len).into_iter().map(RedisValue::List).collect(),
        RedisValue::Set(l) => cut(l, max, Vec::len).into_iter().map(RedisValue::Set).collect(),
        RedisValue::ZSet(z) => cut(z, max, |(m, _)| m.len() + 24).into_iter().map(RedisValue::ZSet).collect(),
        RedisValue::Stream(s) => cut(s.entries, max, entry_bytes)
            .into_iter()
            .map(|entries| RedisValue::Stream(StreamValue { entries, ..StreamValue::default() }))
            .collect(),
        module @ RedisValue::Module(_) => vec![module],
    }
}

/// What the scanning thread needs to know.
struct ScanOpts {
    /// The `SCAN … MATCH` glob: the one `--match` pattern, or one that
    /// every key of several patterns matches ([`server_match`]).
    server_match: Option<Vec<u8>>,
    matches: Vec<String>,
    exclude: Vec<String>,
    types: Vec<RedisType>,
    count: u32,
    pexpiretime: bool,
    scan_type: bool,
    misses: Misses,
    /// `--dump`: module keys are exported (as their payload).
    dump: bool,
    /// `--shard`: only keys whose hash slot is in `lo..hi`.
    slots: Option<(u16, u16)>,
    /// Ask `OBJECT ENCODING` of the keys that may be read with DUMP.
    dump_reads: DumpReads,
}

/// True when a master serving slots `start..=end` holds some of the slots
/// `lo..hi` of a share.
fn serves_slots(start: u16, end: u16, (lo, hi): (u16, u16)) -> bool {
    start < hi && end >= lo
}

/// The hash slots `lo..hi` of a share: N contiguous ranges of the 16384
/// slots, the way a cluster's masters usually hold them.
fn shard_slots(shard: Shard) -> (u16, u16) {
    let (lo, hi) = shard.split(16384);
    (lo as u16, hi as u16)
}

/// One SCAN page after step 1.
struct Meta {
    found: Vec<Found>,
    /// Keys gone before step 1 read them.
    gone: Vec<Vec<u8>>,
    /// Keys of types the stream format cannot hold (module types).
    unsupported: Vec<(Vec<u8>, String)>,
}

/// What the server filters SCAN with: the pattern itself when there is one
/// (and then nothing is filtered here, see [`wanted`]), a superset of several
/// (filtered exactly here), or nothing.
fn server_match(matches: &[String]) -> Option<Vec<u8>> {
    match matches {
        [] => None,
        [one] => Some(one.as_bytes().to_vec()),
        several => superset::superset_glob(several),
    }
}

fn wanted(matches: &[String], exclude: &[String], key: &[u8]) -> bool {
    (matches.len() <= 1 || matches.iter().any(|m| glob_match(m.as_bytes(), key)))
        && !exclude.iter().any(|m| glob_match(m.as_bytes(), key))
}

fn scan_cmd_for(p: &mut Packer, o: &ScanOpts, cursor: &[u8]) {
    let server_match = o.server_match.as_deref();
    let type_name = o.types.first().map(|t| t.as_str().as_bytes());
    // `SCAN … TYPE` knows module keys by their module's name only.
    let server_type = type_name.filter(|_| o.types.len() == 1 && o.scan_type && o.types[0] != RedisType::Module);
    p.begin(4 + if server_match.is_some() { 2 } else { 0 } + if server_type.is_some() { 2 } else { 0 });
    p.arg(b"SCAN");
    p.arg(cursor);
    if let Some(m) = server_match {
        p.arg(b"MATCH");
        p.arg(m);
    }
    p.arg(b"COUNT");
    p.arg_int(o.count as i64);
    if let Some(t) = server_type {
        p.arg(b"TYPE");
        p.arg(t);
    }
}

fn scan_reply(con: &mut Conn, o: &ScanOpts) -> anyhow::Result<(Vec<u8>, Vec<Vec<u8>>)> {
    let reply = con.recv()?;
    if let Some(e) = error_text(&reply) {
        bail!("{}: SCAN failed: {e}", con.addr());
    }
    let mut parts = into_array(reply).unwrap_or_default().into_iter();
    let next = parts.next().and_then(into_bytes).context("SCAN: malformed reply (no cursor)")?;
    let keys = parts
        .next()
        .and_then(into_array)
        .unwrap_or_default()
        .into_iter()
        .filter_map(into_bytes)
        .filter(|k| o.slots.is_none_or(|(lo, hi)| (lo..hi).contains(&conn::key_slot(k))))
        .filter(|k| wanted(&o.matches, &o.exclude, k))
        .collect();
    Ok((next, keys))
}

/// The scanning thread: SCAN pages and step 1 (type and expiry) for each,
/// the next SCAN sent together with the current page's step 1.
fn scan_loop(
    con: &mut Conn,
    o: &ScanOpts,
    tx: &std::sync::mpsc::SyncSender<anyhow::Result<Meta>>,
) -> anyhow::Result<()> {
    let mut p = Packer::default();
    scan_cmd_for(&mut p, o, b"0");
    con.send(p.bytes(), 1)?;
    let (mut next, mut keys) = scan_reply(con, o)?;
    // With --type every key's type is asked: a guess must not filter.
    let mut guess = o.types.is_empty().then(TypeGuess::default);
    let mut guessed = Vec::new();
    let mut probed = Vec::new();
    // `--type` without a type DUMP reads: no key needs its encoding.
    let probe_unguessed = o.types.is_empty() || o.types.iter().any(|t| dump_readable(*t));
    loop {
        p.clear();
        if !o.pexpiretime {
            p.cmd(&[b"TIME"]);
        }
        if let Some(g) = &mut guess {
            for k in std::mem::take(&mut *o.misses.lock().unwrap_or_else(PoisonError::into_inner)) {
                g.missed(&k);
            }
        }
        guessed.clear();
        probed.clear();
        let probe = o.dump_reads.on();
        for k in &keys {
            let ty = guess.as_mut().and_then(|g| g.predict(k));
            guessed.push(ty);
            if ty.is_none() {
                p.cmd(&[b"TYPE", k]);
            }
            if o.pexpiretime {
                p.cmd(&[b"PEXPIRETIME", k]);
            } else {
                p.cmd(&[b"PTTL", k]);
            }
            let encoding = probe && ty.map_or(probe_unguessed, dump_readable);
            if encoding {
                p.cmd(&[b"OBJECT", b"ENCODING", k]);
            }
            probed.push(encoding);
        }
        let more = next != b"0";
        if more {
            scan_cmd_for(&mut p, o, &next);
        }
        con.send(p.bytes(), p.count())?;
        let meta = step1(con, o, std::mem::take(&mut keys), &guessed, &probed, guess.as_mut())?;
        if more {
            (next, keys) = scan_reply(con, o)?;
        }
        let empty = meta.found.is_empty() && meta.gone.is_empty() && meta.unsupported.is_empty();
        if !empty && tx.send(Ok(meta)).is_err() {
            return Ok(());
        }
        if !more {
            return Ok(());
        }
    }
}

/// Reads step 1's replies (TYPE, unless `guessed`, expiry, and the encoding
/// when `probed`, per key), teaching `guess` the types asked.
fn step1(
    con: &mut Conn,
    o: &ScanOpts,
    keys: Vec<Vec<u8>>,
    guessed: &[Option<RedisType>],
    probed: &[bool],
    mut guess: Option<&mut TypeGuess>,
) -> anyhow::Result<Meta> {
    let mut now_ms = 0i64;
    if !o.pexpiretime {
        let t = con.recv()?;
        let a = array_of(&t).unwrap_or(&[]);
        let secs = a.first().and_then(int_of).unwrap_or(0);
        let micros = a.get(1).and_then(int_of).unwrap_or(0);
        now_ms = secs * 1000 + micros / 1000;
    }
    let mut meta = Meta { found: Vec::with_capacity(keys.len()), gone: Vec::new(), unsupported: Vec::new() };
    for ((key, &guess_ty), &probed) in keys.into_iter().zip(guessed).zip(probed) {
        let asked = if guess_ty.is_none() { Some(con.recv()?) } else { None };
        let exp = con.recv()?;
        let encoding = if probed { Some(con.recv()?) } else { None };
        if let Some(e) = asked.as_ref().and_then(error_text).or_else(|| error_text(&exp)) {
            bail!("{}: reading key {}: {e}", con.addr(), Bytes(key));
        }
        let compact = match encoding.as_ref().map(|r| (error_text(r), bytes_of(r))) {
            Some((Some(e), _)) => {
                o.dump_reads.refused(con.addr(), "OBJECT ENCODING", &e);
                false
            }
            Some((None, Some(name))) => is_compact_encoding(name),
            _ => false,
        };
        let mut module = None;
        let ty = match (guess_ty, asked) {
            (Some(ty), _) => ty,
            (None, asked) => {
                let name = asked.as_ref().and_then(bytes_of).map(|b| String::from_utf8_lossy(b).into_owned());
                let name = name.unwrap_or_default();
                if name == "none" {
                    meta.gone.push(key);
                    continue;
                }
                let ty = RedisType::parse(&name).filter(|t| *t != RedisType::Module);
                if let Some(g) = guess.as_deref_mut() {
                    g.learn(&key, ty);
                }
                match ty {
                    Some(ty) => ty,
                    None if o.dump && is_module_name(&name) => {
                        module = Some(name);
                        RedisType::Module
                    }
                    None => {
                        if o.types.is_empty() || o.types.contains(&RedisType::Module) && is_module_name(&name) {
                            meta.unsupported.push((key, name));
                        }
                        continue;
                    }
                }
            }
        };
        if !o.types.is_empty() && !o.types.contains(&ty) {
            continue;
        }
        let e = int_of(&exp).unwrap_or(-1);
        let expire_at_ms = match (o.pexpiretime, e) {
            (_, -2) => {
                meta.gone.push(key);
                continue;
            }
            (_, n) if n < 0 => None,
            (true, n) => Some(n),
            (false, n) => Some(now_ms + n),
        };
        meta.found.push(Found { key, ty, expire_at_ms, guessed: guess_ty.is_some(), module, compact, by_dump: false });
    }
    Ok(meta)
}

fn read_dump(con: &mut Conn, key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    let d = con.call(&[b"DUMP", key])?;
    Ok(into_bytes(d))
}

fn approx_size(r: &RedisRecord) -> usize {
    r.key.len()
        + match &r.value {
            RedisValue::String(s) => s.len(),
            RedisValue::Hash(h) => h.iter().map(|(f, v)| f.len() + v.len() + 48).sum(),
            RedisValue::List(l) | RedisValue::Set(l) => l.iter().map(|v| v.len() + 24).sum(),
            RedisValue::ZSet(z) => z.iter().map(|(m, _)| m.len() + 32).sum(),
            RedisValue::Stream(s) => s.entries.len() * 64,
            RedisValue::Module(_) => 0,
        }
}

fn scan_cmd(p: &mut Packer, name: &[u8], key: &[u8], cursor: &[u8], count: i64) {
    p.begin(5);
    p.arg(name);
    p.arg(key);
    p.arg(cursor);
    p.arg(b"COUNT");
    p.arg_int(count);
}

fn range_cmd(p: &mut Packer, name: &[u8], key: &[u8], start: i64, count: i64, scores: bool) {
    p.begin(if scores { 5 } else { 4 });
    p.arg(name);
    p.arg(key);
    p.arg_int(start);
    p.arg_int(start + count - 1);
    if scores {
        p.arg(b"WITHSCORES");
    }
}

enum Window {
    Gone,
    Partial,
    Whole(RedisValue),
}

/// Interprets a step-2 reply: the whole value, "more to read", or "gone".
fn first_window(ty: RedisType, v: Reply, chunk: usize) -> Window {
    match ty {
        RedisType::Hash | RedisType::Set => {
            let mut a = into_array(v).unwrap_or_default().into_iter();
            let cursor = a.next().and_then(into_bytes).unwrap_or_default();
            let items: Vec<Vec<u8>> =
                a.next().and_then(into_array).unwrap_or_default().into_iter().filter_map(into_bytes).collect();
            if cursor != b"0" {
                return Window::Partial;
            }
            if items.is_empty() {
                return Window::Gone;
            }
            if ty == RedisType::Hash {
                Window::Whole(RedisValue::Hash(pairs(items)))
            } else {
                Window::Whole(RedisValue::Set(items))
            }
        }
        RedisType::List => {
            let items: Vec<Vec<u8>> = into_array(v).unwrap_or_default().into_iter().filter_map(into_bytes).collect();
            if items.is_empty() {
                Window::Gone
            } else if items.len() >= chunk {
                Window::Partial
            } else {
                Window::Whole(RedisValue::List(items))
            }
        }
        RedisType::ZSet => {
            let items: Vec<Vec<u8>> = into_array(v).unwrap_or_default().into_iter().filter_map(into_bytes).collect();
            if items.is_empty() {
                Window::Gone
            } else if items.len() / 2 >= chunk {
                Window::Partial
            } else {
                match scored(items) {
                    Some(z) => Window::Whole(RedisValue::ZSet(z)),
                    None => Window::Partial,
                }
            }
        }
        RedisType::String | RedisType::Stream | RedisType::Module => Window::Partial,
    }
}

fn pairs(items: Vec<Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        out.push((f, v));
    }
    out
}

fn scored(items: Vec<Vec<u8>>) -> Option<Vec<(Vec<u8>, f64)>> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        let score: f64 = std::str::from_utf8(&s).ok()?.parse().ok()?;
        out.push((m, score));
    }
    Some(out)
}

/// Reads one key in windows of `chunk` elements.
struct WindowReader<'a> {
    key: &'a [u8],
    ty: RedisType,
    /// Elements per window: `--chunk-size`, less when elements are big
    /// (about `--chunk-bytes` per window, from the sizes seen so far).
    chunk: usize,
    max_chunk: usize,
    max_bytes: usize,
    exclusive_xrange: bool,
    /// SCAN cursor, list/zset index, string offset, or last stream id.
    cursor: Vec<u8>,
    offset: i64,
    done: bool,
    started: bool,
    /// The key vanished after its first window.
    gone: bool,
    /// Its type was guessed (not asked in step 1).
    guessed: bool,
    /// A guessed key turned out to be of this type, which decant cannot
    /// export (a module type): skipped like step 1 skips such keys.
    unsupported: Option<String>,
}

impl<'a> WindowReader<'a> {
    fn new(f: &'a Found, chunk: usize, max_bytes: usize, exclusive_xrange: bool) -> Self {
        WindowReader {
            key: &f.key,
            ty: f.ty,
            chunk,
            max_chunk: chunk,
            max_bytes,
            exclusive_xrange,
            cursor: b"0".to_vec(),
            offset: 0,
            done: false,
            started: false,
            gone: false,
            guessed: f.guessed,
            unsupported: None,
        }
    }

    /// The next window, or `None` when the key is complete (or gone).
    fn next(&mut self, con: &mut Conn) -> anyhow::Result<Option<RedisValue>> {
        let window = self.read_window(con)?;
        if let Some(v) = &window {
            let (n, bytes) = (v.len().max(1), value_bytes(v).max(1));
            self.chunk = (self.max_bytes / bytes.div_ceil(n)).clamp(1, self.max_chunk);
        }
        Ok(window)
    }

    fn read_window(&mut self, con: &mut Conn) -> anyhow::Result<Option<RedisValue>> {
        if self.done {
            return Ok(None);
        }
        let first = !self.started;
        self.started = true;
        if first {
            // The type may have changed since step 1 (or the key vanished).
            let t = con.call(&[b"TYPE", self.key])?;
            let name = bytes_of(&t).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
            if name == "none" {
                self.done = true;
                return Ok(None);
            }
            match RedisType::parse(&name) {
                Some(t) => self.ty = t,
                None if self.guessed => {
                    self.done = true;
                    self.unsupported = Some(name);
                    return Ok(None);
                }
                None => bail!("key {}: type changed to {name:?} while exporting", Bytes(self.key.to_vec())),
            }
        }
        let chunk = self.chunk as i64;
        let mut p = Packer::default();
        let value = match self.ty {
            RedisType::String => {
                p.cmd(&[b"EXISTS", self.key]);
                p.begin(4);
                p.arg(b"GETRANGE");
                p.arg(self.key);
                p.arg_int(self.offset);
                p.arg_int(self.offset + STRING_PART_BYTES as i64 - 1);
                con.send(p.bytes(), 2)?;
                let exists = con.recv()?;
                let v = self.check(con.recv()?)?;
                if int_of(&exists) != Some(1) {
                    return self.vanished();
                }
                let b = into_bytes(v).unwrap_or_default();
                self.offset += b.len() as i64;
                if b.len() < STRING_PART_BYTES {
                    self.done = true;
                    if b.is_empty() && !first {
                        return Ok(None);
                    }
                }
                RedisValue::String(b)
            }
            RedisType::Hash | RedisType::Set => {
                let name: &[u8] = if self.ty == RedisType::Hash { b"HSCAN" } else { b"SSCAN" };
                let mut items = Vec::new();
                // Keep scanning until a window's worth is collected or the scan ends.
                loop {
                    p.clear();
                    scan_cmd(&mut p, name, self.key, &self.cursor, chunk);
                    con.send(p.bytes(), 1)?;
                    let v = self.check(con.recv()?)?;
                    let mut a = into_array(v).unwrap_or_default().into_iter();
                    self.cursor = a.next().and_then(into_bytes).unwrap_or_else(|| b"0".to_vec());
                    items.extend(a.next().and_then(into_array).unwrap_or_default().into_iter().filter_map(into_bytes));
                    if self.cursor == b"0" {
                        self.done = true;
                        break;
                    }
                    let n = if self.ty == RedisType::Hash { items.len() / 2 } else { items.len() };
                    if n >= self.chunk {
                        break;
                    }
                }
                if items.is_empty() {
                    if first {
                        return self.vanished();
                    }
                    return Ok(None);
                }
                if self.ty == RedisType::Hash {
                    RedisValue::Hash(pairs(items))
                } else {
                    RedisValue::Set(items)
                }
            }
            RedisType::List | RedisType::ZSet => {
                let z = self.ty == RedisType::ZSet;
                range_cmd(&mut p, if z { b"ZRANGE" } else { b"LRANGE" }, self.key, self.offset, chunk, z);
                con.send(p.bytes(), 1)?;
                let v = self.check(con.recv()?)?;
                let items: Vec<Vec<u8>> =
                    into_array(v).unwrap_or_default().into_iter().filter_map(into_bytes).collect();
                let n = if z { items.len() / 2 } else { items.len() };
                self.offset += n as i64;
                if n < self.chunk {
                    self.done = true;
                }
                if n == 0 {
                    if first {
                        return self.vanished();
                    }
                    return Ok(None);
                }
                if z {
                    RedisValue::ZSet(
                        scored(items).with_context(|| format!("key {}: bad score", Bytes(self.key.to_vec())))?,
                    )
                } else {
                    RedisValue::List(items)
                }
            }
            RedisType::Stream => {
                let start: Vec<u8> = if first {
                    b"-".to_vec()
                } else if self.exclusive_xrange {
                    [b"(".as_slice(), &self.cursor].concat()
                } else {
                    next_stream_id(&self.cursor).into_bytes()
                };
                p.begin(6);
                p.arg(b"XRANGE");
                p.arg(self.key);
                p.arg(&start);
                p.arg(b"+");
                p.arg(b"COUNT");
                p.arg_int(chunk);
                con.send(p.bytes(), 1)?;
                let v = self.check(con.recv()?)?;
                let mut entries = Vec::new();
                for e in into_array(v).unwrap_or_default() {
                    let mut it = into_array(e).unwrap_or_default().into_iter();
                    let id = it.next().and_then(into_bytes).unwrap_or_default();
                    let fields: Vec<Vec<u8>> =
                        it.next().and_then(into_array).unwrap_or_default().into_iter().filter_map(into_bytes).collect();
                    entries.push(StreamEntry { id: String::from_utf8_lossy(&id).into_owned(), fields: pairs(fields) });
                }
                if entries.len() < self.chunk {
                    self.done = true;
                }
                if let Some(last) = entries.last() {
                    self.cursor = last.id.clone().into_bytes();
                }
                if entries.is_empty() && !first {
                    return Ok(None);
                }
                if entries.is_empty() {
                    // An empty stream (all entries deleted) still exists, with its groups.
                    let e = con.call(&[b"EXISTS", self.key])?;
                    if int_of(&e) != Some(1) {
                        return self.vanished();
                    }
                }
                RedisValue::Stream(StreamValue { entries, ..StreamValue::default() })
            }
            RedisType::Module => {
                bail!("key {}: a module key has no elements to read (it travels as its DUMP)", Bytes(self.key.to_vec()))
            }
        };
        Ok(Some(value))
    }

    fn vanished(&mut self) -> anyhow::Result<Option<RedisValue>> {
        self.done = true;
        if self.started {
            self.gone = true;
        }
        Ok(None)
    }

    fn check(&self, v: Reply) -> anyhow::Result<Reply> {
        match error_text(&v) {
            Some(e) => bail!("reading key {}: {e}", Bytes(self.key.to_vec())),
            None => Ok(v),
        }
    }

    /// Adds the stream's metadata and consumer groups (with consumers and
    /// pending entries) to its last part.
    fn stream_meta(&self, con: &mut Conn, s: &mut StreamValue) -> anyhow::Result<()> {
        let info = con.call(&[b"XINFO", b"STREAM", self.key])?;
        let fields = array_of(&info).unwrap_or(&[]);
        for pair in fields.chunks(2) {
            let [name, value] = pair else { continue };
            match bytes_of(name).unwrap_or_default() {
                b"last-generated-id" => s.last_id = bytes_of(value).map(|b| String::from_utf8_lossy(b).into_owned()),
                b"entries-added" => s.entries_added = int_of(value).map(|n| n as u64),
                b"max-deleted-entry-id" => {
                    s.max_deleted_entry_id = bytes_of(value).map(|b| String::from_utf8_lossy(b).into_owned())
                }
                _ => {}
            }
        }
        let groups = con.call(&[b"XINFO", b"GROUPS", self.key])?;
        for g in array_of(&groups).unwrap_or(&[]) {
            let mut name = Vec::new();
            let mut last = String::from("0-0");
            let mut entries_read = None;
            for pair in array_of(g).unwrap_or(&[]).chunks(2) {
                let [k, v] = pair else { continue };
                match bytes_of(k).unwrap_or_default() {
                    b"name" => name = bytes_of(v).unwrap_or_default().to_vec(),
                    b"last-delivered-id" => last = String::from_utf8_lossy(bytes_of(v).unwrap_or(b"0-0")).into_owned(),
                    b"entries-read" => entries_read = int_of(v).map(|n| n as u64),
                    _ => {}
                }
            }
            let consumers_reply = con.call(&[b"XINFO", b"CONSUMERS", self.key, &name])?;
            let mut consumers = Vec::new();
            for c in array_of(&consumers_reply).unwrap_or(&[]) {
                for pair in array_of(c).unwrap_or(&[]).chunks(2) {
                    if let [k, v] = pair {
                        if bytes_of(k) == Some(b"name") {
                            consumers.push(Bytes(bytes_of(v).unwrap_or_default().to_vec()));
                        }
                    }
                }
            }
            let mut pending = Vec::new();
            let mut start = b"-".to_vec();
            loop {
                let page = con.call(&[b"XPENDING", self.key, &name, &start, b"+", b"1000"])?;
                let items = array_of(&page).unwrap_or(&[]);
                for it in items {
                    let a = array_of(it).unwrap_or(&[]);
                    pending.push(PendingEntry {
                        id: String::from_utf8_lossy(a.first().and_then(bytes_of).unwrap_or_default()).into_owned(),
                        consumer: Bytes(a.get(1).and_then(bytes_of).unwrap_or_default().to_vec()),
                        delivery_count: a.get(3).and_then(int_of).unwrap_or(0) as u64,
                    });
                }
                if items.len() < 1000 {
                    break;
                }
                let last_id = pending.last().map(|p| p.id.clone()).unwrap_or_default();
                start = next_stream_id(last_id.as_bytes()).into_bytes();
            }
            s.groups.push(StreamGroup { name: Bytes(name), last_delivered_id: last, entries_read, consumers, pending });
        }
        Ok(())
    }
}

/// The smallest stream id after `id` (`ms-seq` → `ms-(seq+1)`).
fn next_stream_id(id: &[u8]) -> String {
    let text = String::from_utf8_lossy(id);
    match text.split_once('-') {
        Some((ms, seq)) => match seq.parse::<u64>() {
            Ok(s) if s < u64::MAX => format!("{ms}-{}", s + 1),
            _ => format!("{}-0", ms.parse::<u64>().unwrap_or(0) + 1),
        },
        None => format!("{text}-1"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_contiguous_slot_ranges_that_meet_only_their_masters() {
        let shares: Vec<(u16, u16)> = (0..3).map(|i| shard_slots(Shard::new(i, 3).unwrap())).collect();
        assert_eq!(shares, vec![(0, 5461), (5461, 10922), (10922, 16384)]);
        // The masters of a 3-node cluster: 0-5460, 5461-10922, 10923-16383.
        assert!(serves_slots(0, 5460, shares[0]) && !serves_slots(5461, 10922, shares[0]));
        assert!(!serves_slots(10923, 16383, shares[1]) && serves_slots(5461, 10922, shares[1]));
        assert!(serves_slots(5461, 10922, shares[2]) && serves_slots(10923, 16383, shares[2]));
    }

    #[test]
    fn stream_ids_advance() {
        assert_eq!(next_stream_id(b"5-3"), "5-4");
        assert_eq!(next_stream_id(b"5-18446744073709551615"), "6-0");
    }

    #[test]
    fn scores_parse_like_redis_prints_them() {
        let z = scored(vec![b"a".to_vec(), b"-inf".to_vec(), b"b".to_vec(), b"0.10000000000000001".to_vec()]).unwrap();
        assert_eq!(z[0].1, f64::NEG_INFINITY);
        assert_eq!(z[1].1, 0.1);
    }
}
