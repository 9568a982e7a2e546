//! `redis-export --rdb FILE`: reads a Redis RDB file (what `SAVE`, `BGSAVE`
//! or `redis-cli --rdb` write) offline, no server needed, and produces the
//! same `redis` records the live export produces for the same data.
//!
//! The file is read as a stream, one key at a time, in bounded memory: a
//! collection with more elements than the chunk size is written as several
//! parts (`"part": i`, `"last": true`), as the live exporter does, so a
//! 5M-member zset passes in the memory of one part; a plain string over
//! 8 MiB is read one part at a time. Held whole: a compact encoding Redis
//! itself stores as one string (a listpack, ziplist or intset, a few KB by
//! Redis's defaults), an LZF-compressed string (one block), and a stream
//! group's pending entries list (to pair entries with their consumers).
//!
//! Covered: RDB versions 1–12 (Redis 1.x to 8.2) and Valkey's own
//! numbering (`VALKEY080`, Valkey 9; Valkey ≤ 8 writes `REDIS0011`); opcodes
//! AUX, SELECTDB, RESIZEDB, EXPIRETIME(_MS), IDLE, FREQ, SLOT_INFO, EOF with
//! its CRC-64, FUNCTION2 and the Redis 7.0 release candidates' function
//! format (both become `redis_function` lines, the latter with the shebang
//! line Redis 7.0 adds when it loads it); every string encoding (int8/16/32,
//! LZF); every type encoding Redis has written for strings, lists (linked
//! list, ziplist, quicklist of ziplists or listpacks), sets (plain, intset,
//! listpack), zsets (text or binary scores, ziplist, listpack), hashes
//! (plain, zipmap, ziplist, listpack; with field expiry: Redis 7.4's
//! HASH_METADATA and HASH_LISTPACK_EX and their release-candidate forms,
//! Valkey 9's HASH_2, as `field_expire_at_ms`, fields already expired left
//! out and counted) and streams (listpacks v1–v3 with consumer groups,
//! consumers, pending entries and the counters `entries_added`,
//! `max_deleted_entry_id` and `entries_read`, the latter computed for v1
//! streams as Redis computes it when it loads one); module values
//! (MODULE_2) as `type: module` lines with their DUMP payload under
//! `--dump`, else an error naming each key.
//!
//! Refused as Redis refuses them, naming the key: a key held twice in one
//! db (checked with a 64-bit hash of each key: some 16 bytes a key held,
//! not the keys), damaged encodings (including Redis's zipmap count check).
//! Errors that say what the file is: a newer Redis or Valkey format, the old
//! module format (Redis 4.0 release candidates: only the module can walk
//! it). Warned of: module data outside keys (MODULE_AUX, which no key-by-key
//! copy carries; a server without the module refuses the file for it), and,
//! read as Redis 7.0 reads them, a stream whose saved length is not its
//! number of entries and the 7.0-rc function format (Valkey 9 refuses both).
//!
//! Differences from a live export of the same data, by design: parts of a
//! big zset come in the file's order (a skiplist is saved highest score
//! first), and parts of big hashes and sets hold other element subsets than
//! the server's `HSCAN`/`SSCAN` windows; each part is sorted the same way and
//! the records digest the same (`decant-checksum`), element by element.

pub mod blobs;
pub use decant_stores::redis::crc64;
mod input;
pub mod lzf;
pub mod payload;
mod run;

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash as _, Hasher as _};

use decant_record::record::{PendingEntry, StreamEntry, StreamGroup, StreamValue};
use decant_record::{Bytes, RedisRecord, RedisType, RedisValue};

use self::blobs::{BlobError, Elem, Listpack, Ziplist};
pub use self::input::{Input, Len};
pub(super) use self::run::run;

/// Highest RDB version this reader knows (Redis 7.4).
pub const MAX_VERSION: u32 = 12;

/// The Valkey RDB version this reader knows (Valkey 9, `VALKEY080`). Valkey
/// numbers its own formats from 80 up; below that it writes `REDIS00NN`.
pub const VALKEY_VERSION: u32 = 80;

/// Whether this reader reads a file of this magic and version; if not, an
/// error saying which format it is.
fn check_version(valkey: bool, version: u32) -> Result<(), RdbError> {
    let at = if valkey { 6 } else { 5 };
    let advice = "export it from a server that loaded it (redis-export --url) instead";
    match (valkey, version) {
        (_, 0) => Err(RdbError::corrupt(at, "RDB version 0 does not exist")),
        (false, 1..=MAX_VERSION) | (true, 1..=11 | VALKEY_VERSION) => Ok(()),
        (false, v) => Err(RdbError::unsupported(
            at,
            format!(
                "RDB version {v} is a Redis format newer than this reader knows (RDB 1 to {MAX_VERSION}, Redis ≤ 8.2); {advice}"
            ),
        )),
        (true, v) if v < VALKEY_VERSION => Err(RdbError::unsupported(
            at,
            format!("a VALKEY magic with version {v}: Valkey writes versions ≤ 11 as REDIS00NN and its own from {VALKEY_VERSION}; this file was not written by Valkey"),
        )),
        (true, v) => Err(RdbError::unsupported(
            at,
            format!("Valkey RDB version {v} is newer than this reader knows (Valkey {VALKEY_VERSION}, Valkey 9); {advice}"),
        )),
    }
}

/// Stream entry flags inside a stream listpack.
const STREAM_ITEM_DELETED: i64 = 1;
const STREAM_ITEM_SAMEFIELDS: i64 = 2;

/// What went wrong reading an RDB file; every variant names the byte
/// offset (and, inside a value, the key).
#[derive(Debug, thiserror::Error)]
pub enum RdbError {
    /// The bytes do not follow the RDB format.
    #[error("byte {offset}{}: {message}; the file is damaged (or not an RDB file)", in_key(.key))]
    Corrupt {
        /// Offset of the damage.
        offset: u64,
        /// The key being read, if any.
        key: Option<Bytes>,
        /// What was wrong.
        message: String,
    },
    /// The input ended early.
    #[error("byte {offset}{}: the file ends here, before the RDB end marker; it is truncated (an interrupted copy or SAVE?)", in_key(.key))]
    Truncated {
        /// Offset where the input ended.
        offset: u64,
        /// The key being read, if any.
        key: Option<Bytes>,
    },
    /// A valid construct this reader does not convert.
    #[error("byte {offset}{}: {message}", in_key(.key))]
    Unsupported {
        /// Offset of the construct.
        offset: u64,
        /// The key being read, if any.
        key: Option<Bytes>,
        /// What it is, and what to do.
        message: String,
    },
    /// A well-formed file that Redis itself refuses to load (a key held
    /// twice); the message names the key and says what to do.
    #[error("byte {offset}: {message}")]
    Refused {
        /// Offset of the offending key.
        offset: u64,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Reading failed.
    #[error("byte {offset}: {source}")]
    Io {
        /// Offset of the failed read.
        offset: u64,
        /// The error.
        source: std::io::Error,
    },
    /// The handler (writing the output) failed.
    #[error("{0:#}")]
    Output(anyhow::Error),
}

fn in_key(key: &Option<Bytes>) -> String {
    match key {
        Some(k) => format!(" (key {k})"),
        None => String::new(),
    }
}

impl RdbError {
    pub(crate) fn corrupt(offset: u64, message: impl Into<String>) -> RdbError {
        RdbError::Corrupt { offset, key: None, message: message.into() }
    }

    pub(crate) fn truncated(offset: u64) -> RdbError {
        RdbError::Truncated { offset, key: None }
    }

    pub(crate) fn io(offset: u64, source: std::io::Error) -> RdbError {
        if source.kind() == std::io::ErrorKind::UnexpectedEof {
            return RdbError::truncated(offset);
        }
        RdbError::Io { offset, source }
    }

    fn unsupported(offset: u64, message: impl Into<String>) -> RdbError {
        RdbError::Unsupported { offset, key: None, message: message.into() }
    }

    fn blob(offset: u64, what: &str, e: BlobError) -> RdbError {
        RdbError::corrupt(offset, format!("{what}: {e}"))
    }

    /// Names the key the error happened in.
    fn with_key(mut self, k: &[u8]) -> RdbError {
        match &mut self {
            RdbError::Corrupt { key, .. } | RdbError::Truncated { key, .. } | RdbError::Unsupported { key, .. } => {
                if key.is_none() {
                    *key = Some(Bytes(k.to_vec()));
                }
            }
            RdbError::Io { .. } | RdbError::Refused { .. } | RdbError::Output(_) => {}
        }
        self
    }
}

/// How to read.
#[derive(Debug, Clone)]
pub struct Options {
    /// Collections with more elements than this are written in parts.
    pub chunk_size: usize,
    /// Parts of a collection also stop short of this many bytes of data (at
    /// least one element each), as the live exporter's `--chunk-bytes` does.
    pub chunk_bytes: usize,
    /// Strings longer than this are written in parts of this many bytes.
    pub string_part_bytes: usize,
    /// Build each whole key's DUMP payload.
    pub dump: bool,
    /// Build the DUMP payload of module keys (implied by `dump`).
    pub dump_modules: bool,
    /// Also export keys whose expiry is before `now_ms`.
    pub include_expired: bool,
    /// The clock expiries are compared with (Unix ms).
    pub now_ms: i64,
}

/// A key as announced before its value is read.
#[derive(Debug, Clone, Copy)]
pub struct KeyInfo<'a> {
    /// Database number.
    pub db: u32,
    /// The key.
    pub key: &'a [u8],
    /// Its type.
    pub ty: RedisType,
    /// Absolute expiry (Unix ms), if any.
    pub expire_at_ms: Option<i64>,
}

/// Where the parser's results go.
pub trait Handler {
    /// Whether to export this key (filters); not called for module values.
    fn want(&mut self, key: &KeyInfo<'_>) -> bool;
    /// A wanted key that had already expired (and is left out).
    fn expired(&mut self, key: &KeyInfo<'_>);
    /// A wanted collection without elements (Redis never stores one; it
    /// would not load it either), left out.
    fn empty(&mut self, key: &KeyInfo<'_>);
    /// A record: a whole key, or one part of a big key.
    fn record(&mut self, record: RedisRecord) -> anyhow::Result<()>;
    /// A key holding a Redis module's value (with its DUMP payload when
    /// [`Options::dump`] is set). Filters are the handler's to apply.
    fn module_value(&mut self, key: ModuleKey<'_>) -> anyhow::Result<()>;
    /// A module's global data (MODULE_AUX, outside any key): not part of any
    /// key, so a key-by-key copy (DUMP/RESTORE, the live export) does not
    /// carry it either; a server without the module refuses the file for it.
    fn module_aux(&mut self, module: &str);
    /// A function library (server-wide, not in any db).
    fn function(&mut self, library: FunctionLibrary) -> anyhow::Result<()>;
    /// Hash fields that had already expired (and are left out).
    fn expired_fields(&mut self, _key: &KeyInfo<'_>, _fields: u64) {}
    /// Something worth telling the user that is not an error.
    fn notice(&mut self, message: &str);
    /// A database's key count from RESIZEDB (for progress).
    fn size_hint(&mut self, _keys: u64) {}
}

/// A key holding a module value, as read.
#[derive(Debug, Clone, Copy)]
pub struct ModuleKey<'a> {
    /// Database number.
    pub db: u32,
    /// The key.
    pub key: &'a [u8],
    /// The module type's 9-character name (from the 64-bit module id).
    pub module: &'a str,
    /// Absolute expiry (Unix ms), if any.
    pub expire_at_ms: Option<i64>,
    /// Whether it had already expired (and is to be left out).
    pub expired: bool,
    /// The DUMP payload (`--dump`): the serialised value, RDB version, CRC-64.
    pub dump: Option<&'a [u8]>,
}

/// A function library read from the file (FUNCTION2, or the Redis 7.0
/// release candidates' format with its shebang line rebuilt as Redis 7.0
/// does when it loads one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionLibrary {
    /// The library name (`name=` of the shebang line).
    pub name: String,
    /// The engine, upper case as `FUNCTION LIST` reports it (`LUA`).
    pub engine: String,
    /// The code, shebang line first, as `FUNCTION LOAD` takes it.
    pub code: Vec<u8>,
}

impl FunctionLibrary {
    /// Reads engine and name from the code's `#!ENGINE name=NAME` line.
    pub fn from_code(code: Vec<u8>) -> Result<FunctionLibrary, String> {
        let first = code.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = std::str::from_utf8(first).map_err(|_| "its first line is not UTF-8".to_owned())?;
        let rest = line
            .strip_prefix("#!")
            .ok_or_else(|| format!("the code starts with {line:?}, not a #!ENGINE name=NAME line"))?;
        let mut words = rest.split_whitespace();
        let engine = words.next().filter(|e| !e.contains('=')).ok_or("no engine after #!")?.to_uppercase();
        let name = words.find_map(|w| w.strip_prefix("name=")).ok_or("no name= in its #! line")?.to_owned();
        Ok(FunctionLibrary { name, engine, code })
    }
}

/// The hasher of the set of key hashes: they are SipHash values already,
/// so the set uses them as they are.
#[derive(Debug, Default)]
struct KeyHashHasher(u64);

impl std::hash::Hasher for KeyHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64s are hashed here; anything else is folded in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A 64-bit hash of (db, key), to spot a key held twice.
fn key_hash(db: u32, key: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    db.hash(&mut hasher);
    key.hash(&mut hasher);
    hasher.finish()
}

/// How the file's checksum came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// Verified.
    Verified,
    /// Written as 0: the server had `rdbchecksum no`.
    Disabled,
    /// RDB version < 5 has none.
    Absent,
}

/// What a completed read found.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// The file's RDB version.
    pub version: u32,
    /// A Valkey file (`VALKEY` magic, Valkey's version numbers).
    pub valkey: bool,
    /// Keys in the file (every database, every type).
    pub keys: u64,
    /// The checksum.
    pub checksum: Checksum,
}

/// One element of a collection.
enum Item {
    Member(Vec<u8>),
    Field(Vec<u8>, Vec<u8>),
    /// A hash field with its absolute expiry (Unix ms).
    ExpiringField(Vec<u8>, Vec<u8>, i64),
    Scored(Vec<u8>, f64),
    Entry(StreamEntry),
}

impl Item {
    /// Bytes of data, counted as the live exporter counts them for `--chunk-bytes`.
    fn data_bytes(&self) -> usize {
        match self {
            Item::Member(m) => m.len(),
            Item::Field(f, v) | Item::ExpiringField(f, v, _) => f.len() + v.len(),
            Item::Scored(m, _) => m.len() + 24,
            Item::Entry(e) => e.id.len() + e.fields.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>(),
        }
    }
}

/// Collects a key's elements and writes them whole or in parts, like the
/// live exporter: full parts of `chunk` elements while more follow, the
/// rest as the last part; a key of at most `chunk` elements in one line.
struct Emitter {
    active: bool,
    db: u32,
    key: Vec<u8>,
    ty: RedisType,
    expire_at_ms: Option<i64>,
    chunk: usize,
    chunk_bytes: usize,
    part: u32,
    cur: RedisValue,
    cur_bytes: usize,
    /// Expiries of the current part's hash fields that have one.
    cur_field_expiry: Vec<(Vec<u8>, i64)>,
    /// Fields left out because they had expired.
    expired_fields: u64,
}

impl Emitter {
    fn empty_value(ty: RedisType) -> RedisValue {
        match ty {
            RedisType::String => RedisValue::String(Vec::new()),
            RedisType::Hash => RedisValue::Hash(Vec::new()),
            RedisType::List => RedisValue::List(Vec::new()),
            RedisType::Set => RedisValue::Set(Vec::new()),
            RedisType::ZSet => RedisValue::ZSet(Vec::new()),
            RedisType::Stream => RedisValue::Stream(StreamValue::default()),
            // The reader never makes a module key an element container.
            RedisType::Module => RedisValue::Module(String::new()),
        }
    }

    fn info(&self) -> KeyInfo<'_> {
        KeyInfo { db: self.db, key: &self.key, ty: self.ty, expire_at_ms: self.expire_at_ms }
    }

    fn record(&self, value: RedisValue, part: Option<u32>, last: bool, dump: Option<Vec<u8>>) -> RedisRecord {
        RedisRecord {
            db: self.db,
            key: self.key.clone(),
            expire_at_ms: self.expire_at_ms,
            value,
            part,
            last,
            dump,
            field_expire_at_ms: Vec::new(),
        }
    }

    /// Adds one element; true when a part was written to make room.
    fn push(&mut self, item: Item, h: &mut dyn Handler) -> Result<bool, RdbError> {
        if !self.active {
            return Ok(false);
        }
        let mut flushed = false;
        let item_bytes = item.data_bytes();
        let full = self.cur.len() >= self.chunk || self.cur_bytes + item_bytes > self.chunk_bytes;
        if full && !self.cur.is_empty() {
            let mut value = std::mem::replace(&mut self.cur, Self::empty_value(self.ty));
            value.sort_canonical();
            let rec = self.part_record(value, Some(self.part), false, None)?;
            h.record(rec).map_err(RdbError::Output)?;
            self.part += 1;
            self.cur_bytes = 0;
            flushed = true;
        }
        self.cur_bytes += item_bytes;
        match (&mut self.cur, item) {
            (RedisValue::List(v) | RedisValue::Set(v), Item::Member(m)) => v.push(m),
            (RedisValue::Hash(v), Item::Field(f, x)) => v.push((f, x)),
            (RedisValue::Hash(v), Item::ExpiringField(f, x, at)) => {
                self.cur_field_expiry.push((f.clone(), at));
                v.push((f, x))
            }
            (RedisValue::ZSet(v), Item::Scored(m, s)) => v.push((m, s)),
            (RedisValue::Stream(s), Item::Entry(e)) => s.entries.push(e),
            _ => unreachable!("the parser pushes the key's own element kind"),
        }
        Ok(flushed)
    }

    /// Writes the last (or only) record.
    fn finish(self, dump: Option<Vec<u8>>, h: &mut dyn Handler) -> Result<(), RdbError> {
        if !self.active {
            return Ok(());
        }
        let mut value = Self::empty_value(self.ty);
        let mut this = self;
        std::mem::swap(&mut value, &mut this.cur);
        value.sort_canonical();
        if this.expired_fields > 0 {
            h.expired_fields(&this.info(), this.expired_fields);
        }
        let rec = if this.part == 0 {
            if value.is_empty() && !matches!(this.ty, RedisType::String | RedisType::Stream) {
                if this.expired_fields > 0 {
                    // Every field had expired: Redis drops the key on load.
                    h.expired(&this.info());
                } else {
                    h.empty(&this.info());
                }
                return Ok(());
            }
            this.part_record(value, None, false, dump)?
        } else {
            let part = this.part;
            this.part_record(value, Some(part), true, None)?
        };
        h.record(rec).map_err(RdbError::Output)
    }

    /// A record of the current part, with its fields' expiries.
    fn part_record(
        &mut self,
        value: RedisValue,
        part: Option<u32>,
        last: bool,
        dump: Option<Vec<u8>>,
    ) -> Result<RedisRecord, RdbError> {
        let mut field_expiry = std::mem::take(&mut self.cur_field_expiry);
        field_expiry.sort_unstable();
        let mut rec = self.record(value, part, last, dump);
        rec.field_expire_at_ms = field_expiry;
        Ok(rec)
    }
}

/// Reads one RDB file.
#[derive(Debug)]
pub struct Parser {
    input: Input,
    opts: Options,
    version: u32,
    /// A Valkey file (`VALKEY` magic): its own version numbers and types.
    valkey: bool,
    db: u32,
    keys: u64,
    /// A 64-bit hash of every (db, key) read so far, to refuse a file
    /// holding a key twice as Redis does (some 16 bytes a key, not the keys).
    seen: HashSet<u64, BuildHasherDefault<KeyHashHasher>>,
    /// The first live entry id of the stream being read (for the counters
    /// Redis computes for version-1 streams).
    first_entry: Option<(u64, u64)>,
    /// Entries not marked deleted in the stream being read.
    stream_live_entries: u64,
}

impl Parser {
    /// A parser over `input` (positioned at the `REDIS` magic).
    pub fn new(input: Input, opts: Options) -> Parser {
        Parser {
            input,
            opts,
            version: 0,
            valkey: false,
            db: 0,
            keys: 0,
            seen: HashSet::default(),
            first_entry: None,
            stream_live_entries: 0,
        }
    }

    /// Reads the whole file, handing keys and records to `h`.
    pub fn run(&mut self, h: &mut dyn Handler) -> Result<Stats, RdbError> {
        let magic: [u8; 9] = self.input.array()?;
        let (valkey, digits) = if magic.starts_with(b"REDIS") {
            (false, &magic[5..])
        } else if magic.starts_with(b"VALKEY") {
            (true, &magic[6..])
        } else {
            return Err(RdbError::corrupt(
                0,
                "neither a REDIS nor a VALKEY magic at the start; this is not an RDB file",
            ));
        };
        let version = std::str::from_utf8(digits).ok().and_then(|v| v.parse::<u32>().ok()).ok_or_else(|| {
            RdbError::corrupt((9 - digits.len()) as u64, "the version after the magic is not a number")
        })?;
        check_version(valkey, version)?;
        self.valkey = valkey;
        self.version = version;
        let mut expire: Option<i64> = None;
        loop {
            let at = self.input.offset();
            let op = self.input.u8()?;
            match op {
                // EOF
                0xFF => {
                    let computed = self.input.crc();
                    let checksum = if version >= 5 {
                        let stored = u64::from_le_bytes(self.input.array()?);
                        if stored == 0 {
                            Checksum::Disabled
                        } else if stored != computed {
                            return Err(RdbError::corrupt(
                                at + 1,
                                format!(
                                    "checksum mismatch: the file says {stored:016x}, its content hashes to {computed:016x}"
                                ),
                            ));
                        } else {
                            Checksum::Verified
                        }
                    } else {
                        Checksum::Absent
                    };
                    if !self.input.at_end()? {
                        h.notice(&format!(
                            "bytes after the RDB end marker (from byte {}) were ignored",
                            self.input.offset()
                        ));
                    }
                    return Ok(Stats { version, valkey, keys: self.keys, checksum });
                }
                // SELECTDB
                0xFE => {
                    let db = self.input.length()?;
                    self.db = u32::try_from(db)
                        .map_err(|_| RdbError::corrupt(at + 1, format!("database number {db} is out of range")))?;
                }
                // EXPIRETIME (seconds)
                0xFD => expire = Some(i32::from_le_bytes(self.input.array()?) as i64 * 1000),
                // EXPIRETIME_MS
                0xFC => expire = Some(self.input.millis()?),
                // RESIZEDB
                0xFB => {
                    let keys = self.input.length()?;
                    self.input.length()?;
                    h.size_hint(keys);
                    // Room for the db's keys at once: no doubling (and no
                    // old and new table side by side) while they are read.
                    // Bounded, so a damaged count allocates no gigabytes.
                    self.seen.reserve(usize::try_from(keys.min(1 << 22)).unwrap_or(0));
                }
                // AUX
                0xFA => {
                    self.input.skip_string()?;
                    self.input.skip_string()?;
                }
                // FREQ
                0xF9 => {
                    self.input.u8()?;
                }
                // IDLE
                0xF8 => {
                    self.input.length()?;
                }
                // MODULE_AUX: module data outside any key.
                0xF7 => {
                    let id = self.input.length()?;
                    self.input.length()?;
                    self.input.length()?;
                    self.skip_module_data()?;
                    h.module_aux(&module_name(id));
                }
                // FUNCTION_PRE_GA (Redis 7.0 rc1/rc2): name, engine, an
                // optional description, then the code without its shebang
                // line, which Redis 7.0 adds when it loads the library.
                0xF6 => {
                    let name = self.input.string()?;
                    let engine = self.input.string()?;
                    if self.input.length()? != 0 {
                        self.input.skip_string()?;
                    }
                    let body = self.input.string()?;
                    let mut code =
                        format!("#!{} name={}\n", String::from_utf8_lossy(&engine), String::from_utf8_lossy(&name))
                            .into_bytes();
                    code.extend_from_slice(&body);
                    let library = FunctionLibrary::from_code(code)
                        .map_err(|m| RdbError::corrupt(at, format!("function library: {m}")))?;
                    h.notice(&format!(
                        "function library {} is in the Redis 7.0 release-candidate format: Redis 7.0 loads it, \
                         Valkey 9 refuses it (\"Pre-release function format not supported\"); exported in the \
                         released form, which FUNCTION LOAD takes",
                        library.name
                    ));
                    h.function(library).map_err(RdbError::Output)?;
                }
                // FUNCTION2: a function library's code, shebang line first.
                0xF5 => {
                    let code = self.input.string()?;
                    let library = FunctionLibrary::from_code(code)
                        .map_err(|m| RdbError::corrupt(at, format!("function library: {m}")))?;
                    h.function(library).map_err(RdbError::Output)?;
                }
                // SLOT_INFO (Redis 7.4 cluster): sizing hints.
                0xF4 => {
                    self.input.length()?;
                    self.input.length()?;
                    self.input.length()?;
                }
                t => {
                    self.keys += 1;
                    self.key(t, expire.take(), h)?;
                }
            }
        }
    }

    /// One key: its name, then its value of RDB type `t`.
    fn key(&mut self, t: u8, expire_at_ms: Option<i64>, h: &mut dyn Handler) -> Result<(), RdbError> {
        let type_at = self.input.offset() - 1;
        let key = self.input.string()?;
        // Redis drops a key that has expired before it checks for a second
        // copy, so a key held twice counts only while it lives.
        let expired = !self.opts.include_expired && expire_at_ms.is_some_and(|e| e < self.opts.now_ms);
        if !expired && !self.seen.insert(key_hash(self.db, &key)) {
            return Err(RdbError::Refused {
                offset: type_at,
                message: format!(
                    "key {} appears twice in db {}; Redis refuses such a file (\"Duplicated key found in RDB file\"): \
                     it was merged or edited by a tool, not saved by a server. Keep one copy of the key \
                     (or load the file with a tool that chooses) and export again",
                    Bytes(key.clone()),
                    self.db
                ),
            });
        }
        let ty = match (t, self.valkey) {
            (0, _) => RedisType::String,
            (1 | 10 | 14 | 18, _) => RedisType::List,
            (2 | 11 | 20, _) => RedisType::Set,
            (3 | 5 | 12 | 17, _) => RedisType::ZSet,
            (4 | 9 | 13 | 16, _) | (22..=25, false) | (22, true) => RedisType::Hash,
            (15 | 19 | 21, _) => RedisType::Stream,
            (6 | 7, _) => return self.module_key(t, type_at, key, expire_at_ms, h),
            (other, _) => {
                return Err(RdbError::corrupt(type_at, format!("unknown value type {other}")).with_key(&key));
            }
        };
        let info = KeyInfo { db: self.db, key: &key, ty, expire_at_ms };
        let wanted = h.want(&info);
        if wanted && expired {
            h.expired(&info);
        }
        let active = wanted && !expired;
        let mut out = Emitter {
            active,
            db: self.db,
            key,
            ty,
            expire_at_ms,
            chunk: self.opts.chunk_size.max(1),
            chunk_bytes: self.opts.chunk_bytes.max(1),
            part: 0,
            cur: Emitter::empty_value(ty),
            cur_bytes: 0,
            cur_field_expiry: Vec::new(),
            expired_fields: 0,
        };
        if active && self.opts.dump {
            self.input.tee = Some(vec![t]);
        }
        let read = self.value(t, &mut out, h);
        let tee = self.input.tee.take();
        if let Err(e) = read {
            return Err(e.with_key(&out.key));
        }
        let dump = tee.filter(|_| out.part == 0).map(|payload| self.seal_dump(payload));
        out.finish(dump, h)
    }

    /// A module value: the module's 64-bit id, then (MODULE_2) typed items
    /// up to an EOF item, which can be skipped and copied without the module;
    /// the old format (MODULE, Redis 4.0 release candidates) holds untyped
    /// bytes only the module can walk, so the rest of the file is unreadable.
    fn module_key(
        &mut self,
        t: u8,
        type_at: u64,
        key: Vec<u8>,
        expire_at_ms: Option<i64>,
        h: &mut dyn Handler,
    ) -> Result<(), RdbError> {
        if self.opts.dump || self.opts.dump_modules {
            self.input.tee = Some(vec![t]);
        }
        let read = self.input.length().map_err(|e| e.with_key(&key));
        let id = match read {
            Ok(id) => id,
            Err(e) => {
                self.input.tee = None;
                return Err(e);
            }
        };
        let module = module_name(id);
        if t == 6 {
            self.input.tee = None;
            return Err(RdbError::unsupported(
                type_at,
                format!(
                    "a value of module {module} in the old module format (RDB_TYPE_MODULE, Redis 4.0 release \
                     candidates), which only the module itself can read (its length is not recorded, so the \
                     rest of the file cannot be read either); load the file into a Redis with {module} and \
                     export from it (redis-export --url)"
                ),
            )
            .with_key(&key));
        }
        let skipped = self.skip_module_data().map_err(|e| e.with_key(&key));
        let tee = self.input.tee.take();
        skipped?;
        let expired = !self.opts.include_expired && expire_at_ms.is_some_and(|e| e < self.opts.now_ms);
        let dump = tee.map(|payload| self.seal_dump(payload));
        h.module_value(ModuleKey {
            db: self.db,
            key: &key,
            module: &module,
            expire_at_ms,
            expired,
            dump: dump.as_deref(),
        })
        .map_err(RdbError::Output)
    }

    /// A DUMP payload from a value's bytes: the bytes, the RDB version (2
    /// bytes LE), and the CRC-64 of both (what `DUMP` returns).
    fn seal_dump(&self, mut payload: Vec<u8>) -> Vec<u8> {
        decant_stores::redis::dump::seal(&mut payload, 0, self.version as u16);
        payload
    }

    /// A hash field that may expire: left out (and counted) when its expiry
    /// has passed, as Redis drops it when it loads the file.
    fn push_field(
        &mut self,
        out: &mut Emitter,
        f: Vec<u8>,
        v: Vec<u8>,
        expire_at_ms: Option<i64>,
        h: &mut dyn Handler,
    ) -> Result<(), RdbError> {
        match expire_at_ms {
            None => self.push(out, Item::Field(f, v), h),
            Some(at) if at < self.opts.now_ms && !self.opts.include_expired => {
                out.expired_fields += 1;
                // The key's bytes no longer are what DUMP would give.
                self.input.tee = None;
                Ok(())
            }
            Some(at) => self.push(out, Item::ExpiringField(f, v, at), h),
        }
    }

    fn push(&mut self, out: &mut Emitter, item: Item, h: &mut dyn Handler) -> Result<(), RdbError> {
        if out.push(item, h)? {
            // The key is written in parts: no DUMP payload, and no copy of its bytes.
            self.input.tee = None;
        }
        Ok(())
    }

    fn value(&mut self, t: u8, out: &mut Emitter, h: &mut dyn Handler) -> Result<(), RdbError> {
        match t {
            0 => self.string_value(out, h),
            // LIST (linked list) and SET (hash table): counted strings.
            1 | 2 => {
                let n = self.input.length()?;
                for _ in 0..n {
                    let m = self.input.string()?;
                    self.push(out, Item::Member(m), h)?;
                }
                Ok(())
            }
            // ZSET (text scores) and ZSET_2 (binary scores).
            3 | 5 => {
                let n = self.input.length()?;
                for _ in 0..n {
                    let m = self.input.string()?;
                    let s = if t == 3 { self.input.text_double()? } else { self.input.binary_double()? };
                    self.push(out, Item::Scored(m, s), h)?;
                }
                Ok(())
            }
            // HASH (hash table).
            4 => {
                let n = self.input.length()?;
                for _ in 0..n {
                    let f = self.input.string()?;
                    let v = self.input.string()?;
                    self.push(out, Item::Field(f, v), h)?;
                }
                Ok(())
            }
            // HASH_ZIPMAP
            9 => {
                let (at, blob) = self.blob()?;
                if out.active {
                    for (f, v) in blobs::zipmap(&blob).map_err(|e| RdbError::blob(at, "zipmap", e))? {
                        self.push(out, Item::Field(f, v), h)?;
                    }
                }
                Ok(())
            }
            // LIST_ZIPLIST, SET_INTSET, ZSET_ZIPLIST, HASH_ZIPLIST,
            // HASH_LISTPACK, ZSET_LISTPACK, SET_LISTPACK: one blob.
            10 | 12 | 13 | 16 | 17 | 20 => {
                let (at, blob) = self.blob()?;
                if out.active {
                    let listpack = matches!(t, 16 | 17 | 20);
                    let mut elems = Elems::new(&blob, listpack).map_err(|e| RdbError::blob(at, elems_name(t), e))?;
                    self.push_elems(t, at, &mut elems, out, h)?;
                }
                Ok(())
            }
            11 => {
                let (at, blob) = self.blob()?;
                if out.active {
                    for v in blobs::intset(&blob).map_err(|e| RdbError::blob(at, "intset", e))? {
                        self.push(out, Item::Member(v.to_string().into_bytes()), h)?;
                    }
                }
                Ok(())
            }
            // LIST_QUICKLIST: ziplists; LIST_QUICKLIST_2: listpacks or plain nodes.
            14 | 18 => {
                let nodes = self.input.length()?;
                for _ in 0..nodes {
                    let plain = if t == 18 {
                        let at = self.input.offset();
                        match self.input.length()? {
                            1 => true,
                            2 => false,
                            c => {
                                return Err(RdbError::corrupt(
                                    at,
                                    format!("quicklist node container {c} (expected 1 or 2)"),
                                ))
                            }
                        }
                    } else {
                        false
                    };
                    let (at, blob) = self.blob()?;
                    if !out.active {
                        continue;
                    }
                    if plain {
                        self.push(out, Item::Member(blob), h)?;
                    } else {
                        let mut elems =
                            Elems::new(&blob, t == 18).map_err(|e| RdbError::blob(at, "quicklist node", e))?;
                        self.push_elems(t, at, &mut elems, out, h)?;
                    }
                }
                Ok(())
            }
            15 | 19 | 21 => self.stream_value(t, out, h),
            // Valkey 9 HASH_2: field, value, absolute expiry (ms; -1: none).
            22 if self.valkey => {
                let n = self.input.length()?;
                for _ in 0..n {
                    let f = self.input.string()?;
                    let v = self.input.string()?;
                    let at = self.input.millis()?;
                    self.push_field(out, f, v, (at != -1).then_some(at), h)?;
                }
                Ok(())
            }
            // Redis 7.4 HASH_METADATA: the smallest expiry first, then per
            // field its expiry relative to it (+1; 0: none), field, value.
            // The 7.4 release candidates' form (22) has no minimum and
            // absolute expiries.
            22 | 24 => {
                let min = if t == 24 { self.input.millis()? } else { 0 };
                let n = self.input.length()?;
                for _ in 0..n {
                    let ttl = self.input.length()?;
                    let f = self.input.string()?;
                    let v = self.input.string()?;
                    let at = match (ttl, t) {
                        (0, _) => None,
                        (ttl, 24) => Some(min.saturating_add(ttl as i64 - 1)),
                        (ttl, _) => Some(ttl as i64),
                    };
                    self.push_field(out, f, v, at, h)?;
                }
                Ok(())
            }
            // Redis 7.4 HASH_LISTPACK_EX: the smallest expiry (not in the
            // release candidates' form, 23), then a listpack of field, value,
            // absolute expiry (0: none) triples.
            23 | 25 => {
                if t == 25 {
                    self.input.millis()?;
                }
                let (at, blob) = self.blob()?;
                if !out.active {
                    return Ok(());
                }
                let bad = |e: BlobError| RdbError::blob(at, "hash listpack with field expiry", e);
                let short =
                    || RdbError::corrupt(at, "hash listpack with field expiry: a field without its value and expiry");
                let mut lp = Listpack::new(&blob).map_err(bad)?;
                while let Some(f) = lp.next_elem().map_err(bad)? {
                    let v = lp.next_elem().map_err(bad)?.ok_or_else(short)?;
                    let ttl = lp.next_elem().map_err(bad)?.ok_or_else(short)?;
                    let ttl = ttl.as_int().ok_or_else(|| {
                        RdbError::corrupt(at, "hash listpack with field expiry: an expiry that is not a number")
                    })?;
                    self.push_field(out, f.to_vec(), v.to_vec(), (ttl != 0).then_some(ttl), h)?;
                }
                Ok(())
            }
            other => Err(RdbError::corrupt(self.input.offset(), format!("unknown value type {other}"))),
        }
    }

    /// A string value: whole up to `string_part_bytes`, else in parts.
    fn string_value(&mut self, out: &mut Emitter, h: &mut dyn Handler) -> Result<(), RdbError> {
        let part = self.opts.string_part_bytes.max(1);
        let at = self.input.offset();
        let prefix = self.input.len_or_encoding()?;
        let Len::Len(n) = prefix else {
            // Integer-encoded or compressed: held whole (an LZF string is
            // one block), then cut into parts like any other.
            let mut s = Vec::new();
            self.input.string_after(at, prefix, &mut s)?;
            return self.string_parts(s, part, out, h);
        };
        if n <= part as u64 {
            let mut s = Vec::new();
            self.input.string_after(at, prefix, &mut s)?;
            if out.active {
                out.cur = RedisValue::String(s);
            }
            return Ok(());
        }
        // A big plain string is streamed, one part in memory at a time.
        self.input.tee = None;
        if !out.active {
            return self.input.skip(n);
        }
        let mut left = n;
        let mut i = 0u32;
        loop {
            let take = left.min(part as u64);
            let mut piece = Vec::new();
            self.input.read_into(take, &mut piece)?;
            left -= take;
            if left == 0 {
                out.cur = RedisValue::String(piece);
                out.part = i;
                return Ok(());
            }
            h.record(out.record(RedisValue::String(piece), Some(i), false, None)).map_err(RdbError::Output)?;
            i += 1;
        }
    }

    /// A string read whole, written whole or in parts of `part` bytes.
    fn string_parts(
        &mut self,
        s: Vec<u8>,
        part: usize,
        out: &mut Emitter,
        h: &mut dyn Handler,
    ) -> Result<(), RdbError> {
        if !out.active {
            return Ok(());
        }
        if s.len() <= part {
            out.cur = RedisValue::String(s);
            return Ok(());
        }
        self.input.tee = None;
        let pieces: Vec<&[u8]> = s.chunks(part).collect();
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            if i == last {
                out.cur = RedisValue::String(piece.to_vec());
                out.part = i as u32;
            } else {
                h.record(out.record(RedisValue::String(piece.to_vec()), Some(i as u32), false, None))
                    .map_err(RdbError::Output)?;
            }
        }
        Ok(())
    }

    /// A string holding an encoded value, with its offset (for errors).
    fn blob(&mut self) -> Result<(u64, Vec<u8>), RdbError> {
        let at = self.input.offset();
        let b = self.input.string()?;
        Ok((at, b))
    }

    /// Elements of a ziplist/listpack as the key type's items.
    fn push_elems(
        &mut self,
        t: u8,
        at: u64,
        elems: &mut Elems<'_>,
        out: &mut Emitter,
        h: &mut dyn Handler,
    ) -> Result<(), RdbError> {
        let name = elems_name(t);
        let bad = |e: BlobError| RdbError::blob(at, name, e);
        match out.ty {
            RedisType::List | RedisType::Set => {
                while let Some(e) = elems.next().map_err(bad)? {
                    self.push(out, Item::Member(e.to_vec()), h)?;
                }
            }
            RedisType::Hash => {
                while let Some(f) = elems.next().map_err(bad)? {
                    let v = elems.next().map_err(bad)?.ok_or_else(|| {
                        RdbError::corrupt(at, format!("{name}: a hash field without a value (odd element count)"))
                    })?;
                    self.push(out, Item::Field(f.to_vec(), v.to_vec()), h)?;
                }
            }
            RedisType::ZSet => {
                while let Some(m) = elems.next().map_err(bad)? {
                    let s = elems.next().map_err(bad)?.ok_or_else(|| {
                        RdbError::corrupt(at, format!("{name}: a zset member without a score (odd element count)"))
                    })?;
                    let score = s.as_score().ok_or_else(|| {
                        RdbError::corrupt(
                            at,
                            format!("{name}: score {:?} is not a number", String::from_utf8_lossy(&s.to_vec())),
                        )
                    })?;
                    self.push(out, Item::Scored(m.to_vec(), score), h)?;
                }
            }
            RedisType::String | RedisType::Stream | RedisType::Module => {
                unreachable!("strings, streams and module values are not element lists")
            }
        }
        Ok(())
    }

    /// STREAM_LISTPACKS (v1), _2 (Redis 7.0) and _3 (7.2).
    fn stream_value(&mut self, t: u8, out: &mut Emitter, h: &mut dyn Handler) -> Result<(), RdbError> {
        let nodes = self.input.length()?;
        self.first_entry = None;
        self.stream_live_entries = 0;
        let mut node_key = Vec::new();
        for _ in 0..nodes {
            let at = self.input.offset();
            self.input.string_into(&mut node_key)?;
            let Ok(master) = <[u8; 16]>::try_from(node_key.as_slice()) else {
                return Err(RdbError::corrupt(
                    at,
                    format!("stream node key of {} bytes (expected 16)", node_key.len()),
                ));
            };
            let (at, lp) = self.blob()?;
            if out.active {
                self.stream_node(&master, at, &lp, out, h)?;
            }
        }
        let length = self.input.length()?;
        if out.active && self.stream_live_entries != length {
            h.notice(&format!(
                "key {}: the stream says it holds {length} entries but holds {}; Redis 7.0 loads it as it is, \
                 Valkey 9 refuses it (\"Stream length inconsistent with the number of valid entries\"); \
                 exported as it is (its entries)",
                Bytes(out.key.clone()),
                self.stream_live_entries
            ));
        }
        let last_pair = self.stream_id_pair()?;
        let last = format!("{}-{}", last_pair.0, last_pair.1);
        let mut meta = StreamValue { last_id: Some(last), ..StreamValue::default() };
        if t >= 19 {
            let _first = self.stream_id()?;
            meta.max_deleted_entry_id = Some(self.stream_id()?);
            meta.entries_added = Some(self.input.length()?);
        } else {
            // What Redis ≥ 7 assumes when it loads a version-1 stream.
            meta.max_deleted_entry_id = Some("0-0".to_owned());
            meta.entries_added = Some(length);
        }
        let groups = self.input.length()?;
        for _ in 0..groups {
            let name = self.input.string()?;
            let delivered = self.stream_id_pair()?;
            let last_delivered_id = format!("{}-{}", delivered.0, delivered.1);
            let entries_read = if t >= 19 {
                // -1 (saved as an unsigned 64-bit length) means "unknown".
                Some(self.input.length()?).filter(|n| *n != u64::MAX)
            } else {
                estimate_entries_read(length, last_pair, self.first_entry, delivered)
            };
            let pel_size = self.input.length()?;
            let mut delivery: HashMap<[u8; 16], u64> = HashMap::new();
            for _ in 0..pel_size {
                let id: [u8; 16] = self.input.array()?;
                let _delivery_time = self.input.millis()?;
                let count = self.input.length()?;
                delivery.insert(id, count);
            }
            let consumer_count = self.input.length()?;
            let mut consumers = Vec::new();
            let mut pending: Vec<([u8; 16], usize)> = Vec::new();
            for c in 0..consumer_count {
                let cname = self.input.string()?;
                let _seen_time = self.input.millis()?;
                if t >= 21 {
                    let _active_time = self.input.millis()?;
                }
                let owned = self.input.length()?;
                for _ in 0..owned {
                    let at = self.input.offset();
                    let id: [u8; 16] = self.input.array()?;
                    if !delivery.contains_key(&id) {
                        return Err(RdbError::corrupt(
                            at,
                            format!(
                                "consumer {} owns pending entry {} that its group does not list",
                                Bytes(cname),
                                raw_id(&id)
                            ),
                        ));
                    }
                    pending.push((id, c as usize));
                }
                consumers.push(Bytes(cname));
            }
            // XPENDING lists entries in id order.
            pending.sort_unstable_by_key(|p| p.0);
            let pending = pending
                .into_iter()
                .map(|(id, c)| PendingEntry {
                    id: raw_id(&id),
                    consumer: consumers[c].clone(),
                    delivery_count: delivery.get(&id).copied().unwrap_or(0),
                })
                .collect();
            meta.groups.push(StreamGroup { name: Bytes(name), last_delivered_id, entries_read, consumers, pending });
        }
        if let RedisValue::Stream(s) = &mut out.cur {
            s.groups = meta.groups;
            s.last_id = meta.last_id;
            s.entries_added = meta.entries_added;
            s.max_deleted_entry_id = meta.max_deleted_entry_id;
        }
        Ok(())
    }

    /// A stream id saved as two lengths (ms, seq).
    fn stream_id(&mut self) -> Result<String, RdbError> {
        let (ms, seq) = self.stream_id_pair()?;
        Ok(format!("{ms}-{seq}"))
    }

    fn stream_id_pair(&mut self) -> Result<(u64, u64), RdbError> {
        Ok((self.input.length()?, self.input.length()?))
    }

    /// One listpack of stream entries: a master entry naming the fields
    /// most entries share, then entries stored as deltas from the node's id.
    fn stream_node(
        &mut self,
        master: &[u8; 16],
        at: u64,
        lp: &[u8],
        out: &mut Emitter,
        h: &mut dyn Handler,
    ) -> Result<(), RdbError> {
        let master_ms = u64::from_be_bytes(master[..8].try_into().expect("8 bytes"));
        let master_seq = u64::from_be_bytes(master[8..].try_into().expect("8 bytes"));
        let bad = |e: BlobError| RdbError::blob(at, "stream listpack", e);
        let short = || RdbError::corrupt(at, "stream listpack ends inside an entry");
        let mut it = Listpack::new(lp).map_err(bad)?;
        let int = |it: &mut Listpack<'_>, what: &str| -> Result<i64, RdbError> {
            let e = it.next_elem().map_err(bad)?.ok_or_else(short)?;
            e.as_int().ok_or_else(|| RdbError::corrupt(at, format!("stream listpack: {what} is not a number")))
        };
        let _count = int(&mut it, "the entry count")?;
        let _deleted = int(&mut it, "the deleted count")?;
        let nfields = int(&mut it, "the master field count")?;
        let mut master_fields = Vec::new();
        for _ in 0..nfields.max(0) {
            master_fields.push(it.next_elem().map_err(bad)?.ok_or_else(short)?.to_vec());
        }
        int(&mut it, "the master entry terminator")?;
        loop {
            let Some(flags) = it.next_elem().map_err(bad)? else { break };
            let flags =
                flags.as_int().ok_or_else(|| RdbError::corrupt(at, "stream listpack: entry flags are not a number"))?;
            let ms = master_ms.wrapping_add(int(&mut it, "an id")? as u64);
            let seq = master_seq.wrapping_add(int(&mut it, "an id")? as u64);
            let mut fields = Vec::new();
            if flags & STREAM_ITEM_SAMEFIELDS != 0 {
                for f in &master_fields {
                    let v = it.next_elem().map_err(bad)?.ok_or_else(short)?;
                    fields.push((f.clone(), v.to_vec()));
                }
            } else {
                let n = int(&mut it, "a field count")?;
                for _ in 0..n.max(0) {
                    let f = it.next_elem().map_err(bad)?.ok_or_else(short)?;
                    let v = it.next_elem().map_err(bad)?.ok_or_else(short)?;
                    fields.push((f.to_vec(), v.to_vec()));
                }
            }
            int(&mut it, "the entry's element count")?;
            if flags & STREAM_ITEM_DELETED == 0 {
                self.first_entry.get_or_insert((ms, seq));
                self.stream_live_entries += 1;
                self.push(out, Item::Entry(StreamEntry { id: format!("{ms}-{seq}"), fields }), h)?;
            }
        }
        Ok(())
    }

    /// Skips module data saved in typed items until the EOF item.
    fn skip_module_data(&mut self) -> Result<(), RdbError> {
        loop {
            let at = self.input.offset();
            match self.input.length()? {
                0 => return Ok(()),
                1 | 2 => {
                    self.input.length()?;
                }
                3 => self.input.skip(4)?,
                4 => self.input.skip(8)?,
                5 => self.input.skip_string()?,
                other => return Err(RdbError::corrupt(at, format!("unknown module data item {other}"))),
            }
        }
    }
}

/// A consumer group's `entries_read` for a version-1 stream (RDB ≤ 9),
/// which does not save it: what Redis computes when it loads such a stream
/// (`streamEstimateDistanceFromFirstEverEntry`, with `entries_added` set to
/// the length and no deleted entries, as rdb.c sets them), `None` where
/// Redis cannot tell either.
fn estimate_entries_read(
    length: u64,
    last_id: (u64, u64),
    first_entry: Option<(u64, u64)>,
    group_id: (u64, u64),
) -> Option<u64> {
    let entries_added = length;
    if entries_added == 0 {
        return Some(0);
    }
    match group_id.cmp(&last_id) {
        std::cmp::Ordering::Equal => return Some(entries_added),
        std::cmp::Ordering::Greater => return None,
        std::cmp::Ordering::Less => {}
    }
    // No deleted entries are known, so nothing fragments the stream.
    let first = first_entry.unwrap_or((u64::MAX, u64::MAX));
    match group_id.cmp(&first) {
        std::cmp::Ordering::Less => Some(entries_added - length),
        std::cmp::Ordering::Equal => Some(entries_added - length + 1),
        std::cmp::Ordering::Greater => None,
    }
}

/// A 16-byte big-endian stream id as `ms-seq`.
fn raw_id(id: &[u8; 16]) -> String {
    let ms = u64::from_be_bytes(id[..8].try_into().expect("8 bytes"));
    let seq = u64::from_be_bytes(id[8..].try_into().expect("8 bytes"));
    format!("{ms}-{seq}")
}

/// A module type's name from its 64-bit id (9 characters of 6 bits, then a
/// 10-bit encoding version).
pub fn module_name(id: u64) -> String {
    const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rest = id >> 10;
    let mut name = [0u8; 9];
    for j in 0..9 {
        name[8 - j] = CHARSET[(rest & 63) as usize];
        rest >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

fn elems_name(t: u8) -> &'static str {
    match t {
        10 | 14 => "list ziplist",
        12 => "zset ziplist",
        13 => "hash ziplist",
        16 => "hash listpack",
        17 => "zset listpack",
        18 => "list listpack",
        20 => "set listpack",
        _ => "encoded value",
    }
}

/// A ziplist or a listpack, walked the same way.
enum Elems<'a> {
    Zip(Ziplist<'a>),
    Lp(Listpack<'a>),
}

impl<'a> Elems<'a> {
    fn new(blob: &'a [u8], listpack: bool) -> Result<Elems<'a>, BlobError> {
        Ok(if listpack { Elems::Lp(Listpack::new(blob)?) } else { Elems::Zip(Ziplist::new(blob)?) })
    }

    fn next(&mut self) -> Result<Option<Elem<'a>>, BlobError> {
        match self {
            Elems::Zip(z) => z.next_elem(),
            Elems::Lp(l) => l.next_elem(),
        }
    }
}

#[cfg(test)]
mod tests;
