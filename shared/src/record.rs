//! The lines of a decant NDJSON v1 stream (docs/format.md §1) and their wire form.
//!
//! Every line is one JSON object with a `"kind"`. Unknown extra fields are
//! accepted and ignored (forward compatibility); unknown kinds are errors.
//!
//! ```json
//! {"kind":"header","format":"decant/1","source":"redis://prod:6379/0","tool":"redis-export 0.1.0","created_at":"2026-11-21T10:00:00Z"}
//! {"kind":"header","format":"decant/1","source":"mysql://db:3306/shop","tool":"mysql-export 0.1.0","created_at":"2026-11-21T10:00:00Z","shard":"2/7"}
//! {"kind":"schema","table":"operators","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true}],"primary_key":["id"]}
//! {"kind":"row","table":"operators","data":{"id":1,"email":"a@example.com","created_at":"2025-01-01T09:30:00.123456"}}
//! {"kind":"redis","db":0,"key":"apikey:42","type":"hash","expire_at_ms":null,"value":{"name":"prod","tokenLimit":"1000"}}
//! {"kind":"redis","db":0,"key":"big","type":"set","expire_at_ms":null,"part":0,"value":["a","b"]}
//! {"kind":"redis","db":0,"key":"big","type":"set","expire_at_ms":null,"part":1,"last":true,"value":["c"]}
//! {"kind":"diff","op":"changed","table":"operators","id":{"id":1},"left":{"kind":"row","table":"operators","data":{"id":1,"email":"a@example.com"}},"right":{"kind":"row","table":"operators","data":{"id":1,"email":"b@example.com"}},"fields":["email"]}
//! {"kind":"delete","table":"operators","id":{"id":5}}
//! {"kind":"delete","db":0,"key":"session:abc"}
//! {"kind":"delete","library":"mylib"}
//! {"kind":"redis","db":0,"key":"h","type":"hash","expire_at_ms":null,"value":{"a":"1","b":"2"},"field_expire_at_ms":{"a":1767225600000}}
//! {"kind":"redis","db":0,"key":"doc","type":"module","module":"ReJSON-RL","expire_at_ms":null,"value":null,"dump":{"$b64":"…"}}
//! {"kind":"redis_function","library":"mylib","engine":"LUA","code":"#!lua name=mylib\nredis.register_function('f', function() return 1 end)"}
//! {"kind":"end","records":12,"stream_blake3":"…64 hex…"}
//! ```
//!
//! ## Redis values by type
//!
//! | type | `value` |
//! |---|---|
//! | string | string or `{"$b64":…}` |
//! | hash | `{"field": value, …}`; an array of `[field, value]` pairs when a field name is not UTF-8, or the first field is named like a tag (e.g. `$b64`), or (stream entries) a name repeats |
//! | list | `[v, …]` in list order |
//! | set | `[m, …]`, sorted bytewise by the exporter |
//! | zset | `[[member, score], …]` sorted by score then member; scores are JSON numbers, `"inf"`/`"-inf"` as strings |
//! | stream | `{"entries":[["1700000000000-0",{"f":"v"}], …], "groups":[{"name":"g","last_delivered_id":"0-0","entries_read":2,"consumers":["c1"],"pending":[{"id":"1-0","consumer":"c1","delivery_count":1}]}], "last_id":"1700000000000-0","entries_added":5,"max_deleted_entry_id":"0-0"}` |
//! | module | `null`: the value travels only as the `dump` payload (required), and the line names the module type in `"module"` |
//!
//! ## Newer servers (Redis 7.4+, Valkey 9+)
//!
//! - **Hash field expiry** (`HEXPIRE`): `"field_expire_at_ms"` holds the
//!   absolute Unix-ms expiry (as `HPEXPIRETIME` gives it) of each field that
//!   has one, and is absent when no field expires. It follows the hash
//!   value's key rules: an object `{"field": ms}` when the value is an object,
//!   an array of `[field, ms]` pairs when the value is written as pairs (or the
//!   first expiring field is named like a tag). In a hash split in parts each
//!   part carries the expiries of its own fields; naming a field that is not in
//!   the line's value is an error. Digests treat it like the key's
//!   `expire_at_ms` (`--ignore-expiry`, `--expiry-precision`).
//! - **Stream counters**: a stream's `entries_added` and
//!   `max_deleted_entry_id`, and each group's `entries_read` (`null` or absent
//!   when the server does not know it), as `XINFO STREAM` gives them; digests
//!   cover all three.
//! - **Module keys** (`"type":"module"`): a key whose type is a module's
//!   (RedisJSON, Bloom, TimeSeries…). `"module"` is the module type's
//!   9-character name (the RDB module id's name, as `TYPE` answers it),
//!   `"value"` is `null`, and `"dump"` (the `DUMP` payload: the RDB-serialised
//!   value, 2 bytes of RDB version and a CRC64) is required: it is the value.
//!   Importers `RESTORE` it. Digests cover the module name and the payload
//!   without its version and CRC trailer (the same value dumped by two server
//!   versions digests the same).
//! - **Function libraries**: one `redis_function` line per library (they are
//!   server-wide, not per database), with its `library` name, `engine` (`LUA`)
//!   and `code` (text, or `{"$b64":…}` when not UTF-8), restored with
//!   `FUNCTION LOAD`. Digests put them in the group `functions`. A `diff` or
//!   `delete` line names one with `"library"` (a delete is `FUNCTION DELETE`).
//!
//! `redis-export --rdb` fills all four from a file: field expiries from Redis
//! 7.4 (RDB 12) and Valkey 9 (`VALKEY080`) hashes, stream counters from RDB 10+
//! streams (for older ones, `entries_read` computed as Redis does when it
//! loads them), module keys with `--dump`, function libraries from both RDB
//! function formats.
//!
//! A big key may be split into consecutive lines with `"part": i` (0-based) and
//! `"last": true` on the final part; each part's value holds only its own
//! elements (string parts are appended bytes). For streams, `groups` and the
//! stream metadata travel in the last part. Importers apply parts in order: part
//! 0 creates or replaces the key per the import mode, later parts append.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self as de, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::schema::TableSchema;
use crate::value::{self, serialize_bytes_or_text, Bytes, RowData, Value};

/// The format name written in headers.
pub const FORMAT: &str = "decant/1";

/// One line of a decant stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// `header`: first line of a segment.
    Header(Header),
    /// `schema`: a table's structure, before its rows.
    Schema(TableSchema),
    /// `row`: one table row.
    Row(Row),
    /// `redis`: one Redis key (or one part of a big key).
    Redis(RedisRecord),
    /// `diff`: one difference found by `decant-diff`.
    Diff(Diff),
    /// `delete`: delete a row or a key.
    Delete(Delete),
    /// `redis_function`: one Redis function library (server-wide).
    RedisFunction(RedisFunction),
    /// `end`: the segment trailer.
    End(Trailer),
}

impl Record {
    /// The `kind` of this line.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Header(_) => "header",
            Record::Schema(_) => "schema",
            Record::Row(_) => "row",
            Record::Redis(_) => "redis",
            Record::Diff(_) => "diff",
            Record::Delete(_) => "delete",
            Record::RedisFunction(_) => "redis_function",
            Record::End(_) => "end",
        }
    }

    /// Encodes the record as one line of JSON without the trailing newline.
    pub fn encode(&self, out: &mut Vec<u8>) {
        // `redis` lines (the exporter's bulk) are written by hand, the same
        // bytes serde writes, without its byte-by-byte escape table.
        if let Record::Redis(r) = self {
            if encode_redis(r, out) {
                return;
            }
        }
        // Writing into a Vec cannot fail and every record is encodable.
        let _ = serde_json::to_writer(&mut *out, self);
    }

    /// Encodes the record as a `String` (no newline).
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::with_capacity(128);
        self.encode(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Decodes one line (without its newline).
    pub fn decode(line: &[u8]) -> Result<Record, DecodeError> {
        decode_line(line)
    }
}

/// The `header` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always `decant/1` for this version.
    pub format: String,
    /// The source, as a redacted URL or a file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The tool and version that wrote the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// When the stream was written (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The share of the source this stream holds when it was exported with
    /// `--shard i/N` (e.g. `"shard":"2/7"`: share 2 of 7, numbered from 0);
    /// absent for a whole export. The N streams of one sharded export are
    /// disjoint and together hold every record once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::Shard>,
}

impl Header {
    /// A header for a stream written now by `tool` from `source`.
    pub fn new(tool: &str, source: Option<String>) -> Header {
        Header {
            format: FORMAT.to_owned(),
            source,
            tool: Some(tool.to_owned()),
            created_at: Some(crate::time::now_rfc3339()),
            shard: None,
        }
    }

    /// The header with the share set (`None` or `0/1`: a whole export).
    pub fn with_shard(mut self, shard: Option<crate::shard::Shard>) -> Header {
        self.shard = shard.filter(|s| !s.is_whole());
        self
    }
}

/// The `end` trailer of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    /// Lines between the header (included) and this trailer (excluded),
    /// not counting the header: the number of lines after the header.
    pub records: u64,
    /// blake3 (64 lowercase hex) of every byte of the segment before this line.
    pub stream_blake3: String,
}

/// A `row` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Table name.
    pub table: String,
    /// Column values.
    pub data: RowData,
}

/// The Redis data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum RedisType {
    String,
    Hash,
    List,
    Set,
    ZSet,
    Stream,
    /// A module's type (RedisJSON, Bloom…); the record names the module.
    Module,
}

impl RedisType {
    /// The name Redis's `TYPE` command returns.
    pub fn as_str(self) -> &'static str {
        match self {
            RedisType::String => "string",
            RedisType::Hash => "hash",
            RedisType::List => "list",
            RedisType::Set => "set",
            RedisType::ZSet => "zset",
            RedisType::Stream => "stream",
            RedisType::Module => "module",
        }
    }

    /// Parses a `TYPE` reply / the `type` field.
    pub fn parse(name: &str) -> Option<RedisType> {
        Some(match name {
            "string" => RedisType::String,
            "hash" => RedisType::Hash,
            "list" => RedisType::List,
            "set" => RedisType::Set,
            "zset" => RedisType::ZSet,
            "stream" => RedisType::Stream,
            "module" => RedisType::Module,
            _ => return None,
        })
    }
}

impl fmt::Display for RedisType {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Field/value pairs of a hash or a stream entry.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Hash fields and their absolute expiry in Unix milliseconds.
pub type FieldExpiries = Vec<(Vec<u8>, i64)>;

/// The length of a module type's name (`ReJSON-RL`, `MBbloom--`): nine
/// characters of `A-Z a-z 0-9 - _`, as the RDB module id encodes them.
pub const MODULE_NAME_LEN: usize = 9;

/// True for a valid module type name (see [`MODULE_NAME_LEN`]).
pub fn is_module_name(name: &str) -> bool {
    name.len() == MODULE_NAME_LEN && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The value of one Redis key (or of one part of a big key).
#[derive(Debug, Clone, PartialEq)]
pub enum RedisValue {
    /// A string (any bytes).
    String(Vec<u8>),
    /// Hash fields and values.
    Hash(Pairs),
    /// List elements in order.
    List(Vec<Vec<u8>>),
    /// Set members.
    Set(Vec<Vec<u8>>),
    /// Sorted-set members and scores.
    ZSet(Vec<(Vec<u8>, f64)>),
    /// A stream.
    Stream(StreamValue),
    /// A module key: the module type's name; the value itself travels as
    /// the record's `dump` payload.
    Module(String),
}

impl RedisValue {
    /// The type of this value.
    pub fn redis_type(&self) -> RedisType {
        match self {
            RedisValue::String(_) => RedisType::String,
            RedisValue::Hash(_) => RedisType::Hash,
            RedisValue::List(_) => RedisType::List,
            RedisValue::Set(_) => RedisType::Set,
            RedisValue::ZSet(_) => RedisType::ZSet,
            RedisValue::Stream(_) => RedisType::Stream,
            RedisValue::Module(_) => RedisType::Module,
        }
    }

    /// Number of elements (bytes for strings, entries for streams, 1 for a
    /// module key, whose value is one opaque payload).
    pub fn len(&self) -> usize {
        match self {
            RedisValue::String(s) => s.len(),
            RedisValue::Hash(h) => h.len(),
            RedisValue::List(l) | RedisValue::Set(l) => l.len(),
            RedisValue::ZSet(z) => z.len(),
            RedisValue::Stream(s) => s.entries.len(),
            RedisValue::Module(_) => 1,
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts sets in bytewise order and zsets in (score, member) order, the
    /// deterministic order exporters write.
    pub fn sort_canonical(&mut self) {
        match self {
            RedisValue::Set(members) => members.sort_unstable(),
            RedisValue::ZSet(pairs) => pairs.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0))),
            _ => {}
        }
    }
}

/// A stream's entries, consumer groups and metadata.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamValue {
    /// Entries in id order.
    #[serde(default)]
    pub entries: Vec<StreamEntry>,
    /// Consumer groups (in the last part of a split stream).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<StreamGroup>,
    /// The stream's last generated id (`XINFO STREAM` last-generated-id), so
    /// `XSETID` can restore it even when the newest entries were deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_id: Option<String>,
    /// `entries-added` (Redis ≥ 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries_added: Option<u64>,
    /// `max-deleted-entry-id` (Redis ≥ 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_deleted_entry_id: Option<String>,
}

/// One stream entry: `["<ms>-<seq>", {fields}]` on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    /// Entry id, `<ms>-<seq>`.
    pub id: String,
    /// Field/value pairs in entry order (duplicates allowed, as Redis allows).
    pub fields: Pairs,
}

/// A consumer group of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamGroup {
    /// Group name.
    pub name: Bytes,
    /// Last delivered id.
    pub last_delivered_id: String,
    /// `entries-read` (Redis ≥ 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries_read: Option<u64>,
    /// Consumer names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<Bytes>,
    /// Pending entries list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingEntry>,
}

/// One entry of a group's pending entries list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingEntry {
    /// Entry id.
    pub id: String,
    /// Consumer that owns it.
    pub consumer: Bytes,
    /// Times delivered.
    pub delivery_count: u64,
}

/// A `redis` line: one key, or one part of a big key.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisRecord {
    /// Database number.
    pub db: u32,
    /// Key bytes.
    pub key: Vec<u8>,
    /// Absolute expiry in Unix milliseconds (PEXPIREAT), `None` when persistent.
    pub expire_at_ms: Option<i64>,
    /// The value (or this part's elements).
    pub value: RedisValue,
    /// Part number of a split key; `None` when the key is in one line.
    pub part: Option<u32>,
    /// True on the final part of a split key.
    pub last: bool,
    /// The `DUMP` payload, for an exact `RESTORE` (required for a module key).
    pub dump: Option<Vec<u8>>,
    /// Absolute expiry (Unix ms) of each hash field of this line that has
    /// one (`HPEXPIRETIME`); empty when none expires or the key is no hash.
    pub field_expire_at_ms: FieldExpiries,
}

impl RedisRecord {
    /// A whole (unsplit) key.
    pub fn new(db: u32, key: Vec<u8>, value: RedisValue) -> RedisRecord {
        RedisRecord {
            db,
            key,
            expire_at_ms: None,
            value,
            part: None,
            last: false,
            dump: None,
            field_expire_at_ms: Vec::new(),
        }
    }

    /// Appends `next`, the following part of the same split key, to this
    /// one: its elements (string bytes, fields, members, entries), its hash
    /// fields' expiries, and the stream metadata the last part carries
    /// (groups, `last_id`, `entries_added`, `max_deleted_entry_id`). An
    /// error, naming both types, when the parts' types differ or the key is
    /// of a module type (a module key is never split).
    pub fn append_part(&mut self, next: RedisRecord) -> Result<(), String> {
        match (&mut self.value, next.value) {
            (RedisValue::String(a), RedisValue::String(b)) => a.extend(b),
            (RedisValue::Hash(a), RedisValue::Hash(b)) => a.extend(b),
            (RedisValue::List(a), RedisValue::List(b)) | (RedisValue::Set(a), RedisValue::Set(b)) => a.extend(b),
            (RedisValue::ZSet(a), RedisValue::ZSet(b)) => a.extend(b),
            (RedisValue::Stream(a), RedisValue::Stream(b)) => {
                a.entries.extend(b.entries);
                a.groups.extend(b.groups);
                a.last_id = b.last_id.or(a.last_id.take());
                a.entries_added = b.entries_added.or(a.entries_added);
                a.max_deleted_entry_id = b.max_deleted_entry_id.or(a.max_deleted_entry_id.take());
            }
            (a, b) => {
                return Err(format!(
                    "parts of one key cannot be joined: a {} part, then a {} part",
                    a.redis_type(),
                    b.redis_type()
                ))
            }
        }
        self.field_expire_at_ms.extend(next.field_expire_at_ms);
        self.part = next.part;
        self.last = next.last;
        Ok(())
    }

    /// The module type's name of a module key.
    pub fn module(&self) -> Option<&str> {
        match &self.value {
            RedisValue::Module(name) => Some(name),
            _ => None,
        }
    }

    /// True for a whole key or the first part of a split key.
    pub fn starts_key(&self) -> bool {
        self.part.unwrap_or(0) == 0
    }

    /// True for a whole key or the last part of a split key.
    pub fn ends_key(&self) -> bool {
        self.part.is_none() || self.last
    }
}

/// What a `diff` or `delete` line is about: a row by primary key, or a Redis key.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A table row identified by its primary-key columns.
    Row {
        /// Table name.
        table: String,
        /// Primary-key column values.
        id: RowData,
    },
    /// A Redis key.
    Key {
        /// Database number.
        db: u32,
        /// Key bytes.
        key: Vec<u8>,
    },
    /// A Redis function library (`"library": NAME`; a `delete` of one is
    /// `FUNCTION DELETE`).
    Function {
        /// Library name.
        library: String,
    },
}

/// A `delete` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    /// What to delete.
    pub target: Target,
}

/// A `redis_function` line: one function library, as `FUNCTION LIST
/// WITHCODE` gives it and `FUNCTION LOAD` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisFunction {
    /// Library name (`#!lua name=NAME`).
    pub library: String,
    /// Engine name (`LUA`).
    pub engine: String,
    /// The library's source code.
    pub code: Vec<u8>,
}

/// The operation of a `diff` line, read like diff(1) from A to B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffOp {
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// In both, different.
    Changed,
}

/// A `diff` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// Added, removed or changed.
    pub op: DiffOp,
    /// The row or key.
    pub target: Target,
    /// The record in A (a `row` or `redis` record), `None` when added.
    pub left: Option<Box<Record>>,
    /// The record in B, `None` when removed.
    pub right: Option<Box<Record>>,
    /// Names of the changed columns / hash fields (empty unless `changed`).
    pub fields: Vec<String>,
}

// ---------------------------------------------------------------------------
// Encoding

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", self.kind())?;
        match self {
            Record::Header(h) => {
                m.serialize_entry("format", &h.format)?;
                if let Some(v) = &h.source {
                    m.serialize_entry("source", v)?;
                }
                if let Some(v) = &h.tool {
                    m.serialize_entry("tool", v)?;
                }
                if let Some(v) = &h.created_at {
                    m.serialize_entry("created_at", v)?;
                }
                if let Some(v) = &h.shard {
                    m.serialize_entry("shard", v)?;
                }
            }
            Record::Schema(t) => {
                m.serialize_entry("table", &t.table)?;
                m.serialize_entry("columns", &t.columns)?;
                if !t.primary_key.is_empty() {
                    m.serialize_entry("primary_key", &t.primary_key)?;
                }
                if !t.indexes.is_empty() {
                    m.serialize_entry("indexes", &t.indexes)?;
                }
                if !t.foreign_keys.is_empty() {
                    m.serialize_entry("foreign_keys", &t.foreign_keys)?;
                }
                if !t.checks.is_empty() {
                    m.serialize_entry("checks", &t.checks)?;
                }
                if !t.generated.is_empty() {
                    m.serialize_entry("generated", &t.generated)?;
                }
                if !t.special_indexes.is_empty() {
                    m.serialize_entry("special_indexes", &t.special_indexes)?;
                }
                for (name, v) in [
                    ("charset", &t.charset),
                    ("collation", &t.collation),
                    ("comment", &t.comment),
                    ("dialect", &t.dialect),
                ] {
                    if let Some(v) = v {
                        m.serialize_entry(name, v)?;
                    }
                }
                if let Some(n) = t.estimated_rows {
                    m.serialize_entry("estimated_rows", &n)?;
                }
                if let Some(k) = &t.key_schema {
                    m.serialize_entry("key_schema", k)?;
                }
            }
            Record::Row(r) => {
                m.serialize_entry("table", &r.table)?;
                m.serialize_entry("data", &r.data)?;
            }
            Record::Redis(r) => {
                m.serialize_entry("db", &r.db)?;
                m.serialize_entry("key", &BytesRef(&r.key))?;
                m.serialize_entry("type", r.value.redis_type().as_str())?;
                if let RedisValue::Module(name) = &r.value {
                    m.serialize_entry("module", name)?;
                }
                m.serialize_entry("expire_at_ms", &r.expire_at_ms)?;
                if let Some(p) = r.part {
                    m.serialize_entry("part", &p)?;
                    if r.last {
                        m.serialize_entry("last", &true)?;
                    }
                }
                m.serialize_entry("value", &RedisValueWire(&r.value))?;
                if !r.field_expire_at_ms.is_empty() {
                    m.serialize_entry("field_expire_at_ms", &FieldExpiriesWire(r))?;
                }
                if let Some(d) = &r.dump {
                    m.serialize_entry("dump", &B64Ref(d))?;
                }
            }
            Record::RedisFunction(f) => {
                m.serialize_entry("library", &f.library)?;
                m.serialize_entry("engine", &f.engine)?;
                m.serialize_entry("code", &BytesRef(&f.code))?;
            }
            Record::Diff(d) => {
                m.serialize_entry("op", &d.op)?;
                serialize_target(&mut m, &d.target)?;
                m.serialize_entry("left", &d.left)?;
                m.serialize_entry("right", &d.right)?;
                m.serialize_entry("fields", &d.fields)?;
            }
            Record::Delete(d) => serialize_target(&mut m, &d.target)?,
            Record::End(t) => {
                m.serialize_entry("records", &t.records)?;
                m.serialize_entry("stream_blake3", &t.stream_blake3)?;
            }
        }
        m.end()
    }
}

fn serialize_target<M: SerializeMap>(m: &mut M, target: &Target) -> Result<(), M::Error> {
    match target {
        Target::Row { table, id } => {
            m.serialize_entry("table", table)?;
            m.serialize_entry("id", id)
        }
        Target::Key { db, key } => {
            m.serialize_entry("db", db)?;
            m.serialize_entry("key", &BytesRef(key))
        }
        Target::Function { library } => m.serialize_entry("library", library),
    }
}

struct BytesRef<'a>(&'a [u8]);
impl Serialize for BytesRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_bytes_or_text(self.0, s)
    }
}

/// Writes a `redis` line as `Record`'s `Serialize` does; false (nothing
/// written) for a stream, a module key or a hash with field expiries, which
/// serde writes (they are rare next to the bulk of plain keys).
fn encode_redis(r: &RedisRecord, out: &mut Vec<u8>) -> bool {
    if matches!(r.value, RedisValue::Stream(_) | RedisValue::Module(_)) || !r.field_expire_at_ms.is_empty() {
        return false;
    }
    let int = |out: &mut Vec<u8>, n: i64| {
        let _ = std::io::Write::write_fmt(out, format_args!("{n}"));
    };
    out.extend_from_slice(b"{\"kind\":\"redis\",\"db\":");
    int(out, i64::from(r.db));
    out.extend_from_slice(b",\"key\":");
    bytes_json(&r.key, out);
    out.extend_from_slice(b",\"type\":\"");
    out.extend_from_slice(r.value.redis_type().as_str().as_bytes());
    out.extend_from_slice(b"\",\"expire_at_ms\":");
    match r.expire_at_ms {
        Some(t) => int(out, t),
        None => out.extend_from_slice(b"null"),
    }
    if let Some(p) = r.part {
        out.extend_from_slice(b",\"part\":");
        int(out, i64::from(p));
        if r.last {
            out.extend_from_slice(b",\"last\":true");
        }
    }
    out.extend_from_slice(b",\"value\":");
    match &r.value {
        RedisValue::String(b) => bytes_json(b, out),
        RedisValue::Hash(pairs) if FieldPairs(pairs).as_object() => {
            out.push(b'{');
            for (i, (f, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // as_object() checked every name is UTF-8.
                crate::jsontext::write_str(out, std::str::from_utf8(f).unwrap_or_default());
                out.push(b':');
                bytes_json(v, out);
            }
            out.push(b'}');
        }
        RedisValue::Hash(pairs) => json_array(out, pairs, |out, (f, v)| {
            out.push(b'[');
            bytes_json(f, out);
            out.push(b',');
            bytes_json(v, out);
            out.push(b']');
        }),
        RedisValue::List(items) | RedisValue::Set(items) => json_array(out, items, |out, b| bytes_json(b, out)),
        RedisValue::ZSet(pairs) => json_array(out, pairs, |out, (m, score)| {
            out.push(b'[');
            bytes_json(m, out);
            out.push(b',');
            let _ = serde_json::to_writer(&mut *out, &Score(*score));
            out.push(b']');
        }),
        RedisValue::Stream(_) | RedisValue::Module(_) => return false,
    }
    if let Some(d) = &r.dump {
        out.extend_from_slice(b",\"dump\":");
        let _ = serde_json::to_writer(&mut *out, &B64Ref(d));
    }
    out.push(b'}');
    true
}

/// `[`, the items (each written by `item`) separated by commas, `]`.
fn json_array<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, x);
    }
    out.push(b']');
}

/// Bytes as `serialize_bytes_or_text` writes them: a string when UTF-8.
fn bytes_json(b: &[u8], out: &mut Vec<u8>) {
    match std::str::from_utf8(b) {
        Ok(text) => crate::jsontext::write_str(out, text),
        Err(_) => {
            let _ = serde_json::to_writer(&mut *out, &B64Ref(b));
        }
    }
}

struct B64Ref<'a>(&'a [u8]);
impl Serialize for B64Ref<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        value::serialize_b64(self.0, s)
    }
}

struct BytesSeq<'a>(&'a [Vec<u8>]);
impl Serialize for BytesSeq<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for b in self.0 {
            seq.serialize_element(&BytesRef(b))?;
        }
        seq.end()
    }
}

/// Field/value pairs: an object when every name is UTF-8 (and the object could
/// not be mistaken for a tagged value), else an array of pairs.
struct FieldPairs<'a>(&'a [(Vec<u8>, Vec<u8>)]);
impl FieldPairs<'_> {
    fn as_object(&self) -> bool {
        let all_text = self.0.iter().all(|(f, _)| std::str::from_utf8(f).is_ok());
        // Readers take an object whose first key is a tag for a tagged value.
        let looks_tagged =
            self.0.first().is_some_and(|(f, _)| value::TAGS.iter().any(|t| t.as_bytes() == f.as_slice()));
        let mut names_unique = true;
        if self.0.len() > 1 {
            // Stream entries may repeat a field name; an object cannot.
            let mut names: Vec<&[u8]> = self.0.iter().map(|(f, _)| f.as_slice()).collect();
            names.sort_unstable();
            names_unique = names.windows(2).all(|w| w[0] != w[1]);
        }
        all_text && !looks_tagged && names_unique
    }
}
impl Serialize for FieldPairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.as_object() {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (f, v) in self.0 {
                // as_object() checked every name is UTF-8.
                m.serialize_entry(std::str::from_utf8(f).unwrap_or_default(), &BytesRef(v))?;
            }
            m.end()
        } else {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for (f, v) in self.0 {
                seq.serialize_element(&(BytesRef(f), BytesRef(v)))?;
            }
            seq.end()
        }
    }
}

struct Score(f64);
impl Serialize for Score {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_str(value::nonfinite_name(self.0))
        }
    }
}

struct RedisValueWire<'a>(&'a RedisValue);
impl Serialize for RedisValueWire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            RedisValue::String(b) => serialize_bytes_or_text(b, s),
            RedisValue::Hash(pairs) => FieldPairs(pairs).serialize(s),
            RedisValue::List(items) | RedisValue::Set(items) => BytesSeq(items).serialize(s),
            RedisValue::ZSet(pairs) => {
                let mut seq = s.serialize_seq(Some(pairs.len()))?;
                for (m, score) in pairs {
                    seq.serialize_element(&(BytesRef(m), Score(*score)))?;
                }
                seq.end()
            }
            RedisValue::Stream(stream) => stream.serialize(s),
            RedisValue::Module(_) => s.serialize_unit(),
        }
    }
}

/// A record's `field_expire_at_ms`, written with the key rules of its hash
/// value: an object when the value is one and the first expiring field does
/// not look like a tag, else `[field, ms]` pairs.
struct FieldExpiriesWire<'a>(&'a RedisRecord);
impl FieldExpiriesWire<'_> {
    fn as_object(&self) -> bool {
        let expiries = &self.0.field_expire_at_ms;
        let value_is_object = match &self.0.value {
            RedisValue::Hash(pairs) => FieldPairs(pairs).as_object(),
            _ => false,
        };
        let looks_tagged =
            expiries.first().is_some_and(|(f, _)| value::TAGS.iter().any(|t| t.as_bytes() == f.as_slice()));
        value_is_object && !looks_tagged && expiries.iter().all(|(f, _)| std::str::from_utf8(f).is_ok())
    }
}
impl Serialize for FieldExpiriesWire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let expiries = &self.0.field_expire_at_ms;
        if self.as_object() {
            let mut m = s.serialize_map(Some(expiries.len()))?;
            for (f, ms) in expiries {
                // as_object() checked every name is UTF-8.
                m.serialize_entry(std::str::from_utf8(f).unwrap_or_default(), ms)?;
            }
            m.end()
        } else {
            let mut seq = s.serialize_seq(Some(expiries.len()))?;
            for (f, ms) in expiries {
                seq.serialize_element(&(BytesRef(f), ms))?;
            }
            seq.end()
        }
    }
}

impl Serialize for StreamEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.id, FieldPairs(&self.fields)).serialize(s)
    }
}

impl<'de> Deserialize<'de> for StreamEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (id, fields): (String, PairsWire) = Deserialize::deserialize(d)?;
        Ok(StreamEntry { id, fields: fields.0 })
    }
}

// ---------------------------------------------------------------------------
// Decoding

/// Why a line could not be decoded. The reader adds the line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    fn json(e: serde_json::Error) -> DecodeError {
        DecodeError::json_at(e, 0)
    }

    /// A serde_json error in a part of the line that starts `offset` bytes in.
    fn json_at(e: serde_json::Error, offset: usize) -> DecodeError {
        let text = e.to_string();
        // serde_json reports "… at line 1 column N"; within one NDJSON line only
        // the column is useful, and the reader adds the stream line number.
        let msg = match text.rsplit_once(" at line ") {
            Some((msg, _)) => msg.to_owned(),
            None => text,
        };
        if e.column() > 0 {
            DecodeError(format!("{msg} (at byte {})", e.column() + offset))
        } else {
            DecodeError(msg)
        }
    }
}

/// The fields of the hot kinds (`row`, `redis`), read in one pass; other kinds
/// are parsed again into their own struct (they are rare).
struct WireLine<'a> {
    kind: Cow<'a, str>,
    table: Option<String>,
    data: Option<RowData>,
    db: Option<u32>,
    key: Option<Bytes>,
    ty: Option<Cow<'a, str>>,
    expire_at_ms: Option<i64>,
    value: Option<WireValue<'a>>,
    part: Option<u32>,
    last: Option<bool>,
    dump: Option<Bytes>,
    module: Option<String>,
    field_expire_at_ms: Option<FieldExpiriesIn>,
}

/// A `redis` line's value: decoded in place when `kind` and `type` came
/// before it (as writers put them), else kept as raw JSON until they are known.
enum WireValue<'a> {
    Raw(&'a RawValue),
    Decoded(RedisValue),
}

impl<'de> Deserialize<'de> for WireLine<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(WireLineVisitor)
    }
}

struct WireLineVisitor;

impl<'de> Visitor<'de> for WireLineVisitor {
    type Value = WireLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decant record (a JSON object with a \"kind\")")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireLine<'de>, A::Error> {
        // Each field once: `Some(_)` once seen, even when its value was null.
        let mut kind: Option<Cow<'de, str>> = None;
        let mut table: Option<Option<String>> = None;
        let mut data: Option<Option<RowData>> = None;
        let mut db: Option<Option<u32>> = None;
        let mut key: Option<Option<Bytes>> = None;
        let mut ty: Option<Option<Cow<'de, str>>> = None;
        let mut expire_at_ms: Option<Option<i64>> = None;
        let mut value: Option<Option<WireValue<'de>>> = None;
        let mut part: Option<Option<u32>> = None;
        let mut last: Option<Option<bool>> = None;
        let mut dump: Option<Option<Bytes>> = None;
        let mut module: Option<Option<String>> = None;
        let mut field_expire_at_ms: Option<Option<FieldExpiriesIn>> = None;
        fn once<T, E: de::Error>(slot: &Option<T>, name: &'static str) -> Result<(), E> {
            match slot {
                Some(_) => Err(E::duplicate_field(name)),
                None => Ok(()),
            }
        }
        while let Some(name) = map.next_key::<value::Text<'de>>()? {
            match name.0.as_ref() {
                "kind" => {
                    once(&kind, "kind")?;
                    kind = Some(map.next_value_seed(KindSeed)?);
                }
                "table" => {
                    once(&table, "table")?;
                    table = Some(map.next_value()?);
                }
                "data" => {
                    once(&data, "data")?;
                    data = Some(map.next_value()?);
                }
                "db" => {
                    once(&db, "db")?;
                    db = Some(map.next_value()?);
                }
                "key" => {
                    once(&key, "key")?;
                    key = Some(map.next_value()?);
                }
                "type" => {
                    once(&ty, "type")?;
                    ty = Some(map.next_value::<Option<value::Text<'de>>>()?.map(|t| t.0));
                }
                "expire_at_ms" => {
                    once(&expire_at_ms, "expire_at_ms")?;
                    expire_at_ms = Some(map.next_value()?);
                }
                "value" => {
                    once(&value, "value")?;
                    let known = match (&kind, &ty) {
                        (Some(k), Some(Some(t))) if k == "redis" => {
                            RedisType::parse(t).filter(|t| *t != RedisType::Module)
                        }
                        _ => None,
                    };
                    value = Some(match known {
                        Some(t) => map
                            .next_value_seed(OptionSeed(RedisValueSeed(t)))
                            .map_err(|e| {
                                let key = key.as_ref().and_then(Option::as_ref);
                                let who = key.map_or_else(|| "redis value".to_owned(), |k| format!("redis key {k}"));
                                de::Error::custom(format!("{who}: {}", strip_position(&e)))
                            })?
                            .map(WireValue::Decoded),
                        None => map.next_value::<Option<&'de RawValue>>()?.map(WireValue::Raw),
                    });
                }
                "part" => {
                    once(&part, "part")?;
                    part = Some(map.next_value()?);
                }
                "last" => {
                    once(&last, "last")?;
                    last = Some(map.next_value()?);
                }
                "dump" => {
                    once(&dump, "dump")?;
                    dump = Some(map.next_value()?);
                }
                "module" => {
                    once(&module, "module")?;
                    module = Some(map.next_value()?);
                }
                "field_expire_at_ms" => {
                    once(&field_expire_at_ms, "field_expire_at_ms")?;
                    field_expire_at_ms = Some(map.next_value()?);
                }
                // Unknown fields are accepted (forward compatibility).
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(WireLine {
            kind: kind.ok_or_else(|| de::Error::missing_field("kind"))?,
            table: table.flatten(),
            data: data.flatten(),
            db: db.flatten(),
            key: key.flatten(),
            ty: ty.flatten(),
            expire_at_ms: expire_at_ms.flatten(),
            value: value.flatten(),
            part: part.flatten(),
            last: last.flatten(),
            dump: dump.flatten(),
            module: module.flatten(),
            field_expire_at_ms: field_expire_at_ms.flatten(),
        })
    }
}

/// The `kind` field, with an error that names it.
struct KindSeed;

impl<'de> DeserializeSeed<'de> for KindSeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        kind_name(d)
    }
}

/// `null` as `None`, anything else through the inner seed.
struct OptionSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for OptionSeed<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for OptionSeed<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// A Redis value of a known type.
struct RedisValueSeed(RedisType);

impl<'de> DeserializeSeed<'de> for RedisValueSeed {
    type Value = RedisValue;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<RedisValue, D::Error> {
        Ok(match self.0 {
            RedisType::String => RedisValue::String(Bytes::deserialize(d)?.0),
            RedisType::Hash => RedisValue::Hash(PairsWire::deserialize(d)?.0),
            RedisType::List => RedisValue::List(Elements::<'l'>::deserialize(d)?.0),
            RedisType::Set => RedisValue::Set(Elements::<'s'>::deserialize(d)?.0),
            RedisType::ZSet => RedisValue::ZSet(ZSetWire::deserialize(d)?.0),
            RedisType::Stream => RedisValue::Stream(StreamValue::deserialize(d)?),
            RedisType::Module => {
                return Err(de::Error::custom("a module key's \"value\" must be null (its value travels in \"dump\")"))
            }
        })
    }
}

/// A `redis_function` line's fields.
#[derive(Deserialize)]
struct RedisFunctionWire {
    library: String,
    engine: String,
    code: Bytes,
}

/// `field_expire_at_ms`: an object `{field: ms}` or `[field, ms]` pairs.
struct FieldExpiriesIn(FieldExpiries);

impl<'de> Deserialize<'de> for FieldExpiriesIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FieldExpiries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("field expiries: an object of field: Unix ms, or an array of [field, ms] pairs")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldExpiries, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8).min(4096));
                while let Some(f) = map.next_key::<value::KeyString>()? {
                    match map.next_value::<i64>() {
                        Ok(ms) => out.push((f.0.into_bytes(), ms)),
                        Err(e) => {
                            return Err(de::Error::custom(format!(
                                "field_expire_at_ms: field {:?}: {} (expected Unix milliseconds)",
                                f.0,
                                strip_position(&e)
                            )))
                        }
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldExpiries, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(4096));
                loop {
                    match seq.next_element::<(Bytes, i64)>() {
                        Ok(Some((f, ms))) => out.push((f.0, ms)),
                        Ok(None) => return Ok(out),
                        Err(e) => {
                            return Err(de::Error::custom(format!(
                                "field_expire_at_ms[{}]: {} (expected a [field, Unix ms] pair)",
                                out.len(),
                                strip_position(&e)
                            )))
                        }
                    }
                }
            }
        }
        d.deserialize_any(V).map(FieldExpiriesIn)
    }
}

#[derive(Deserialize)]
struct DiffWire<'a> {
    op: DiffOp,
    #[serde(default)]
    id: Option<RowData>,
    #[serde(default, borrow)]
    left: Option<&'a RawValue>,
    #[serde(default, borrow)]
    right: Option<&'a RawValue>,
    #[serde(default)]
    fields: Vec<String>,
}

fn missing(kind: &str, field: &str) -> DecodeError {
    DecodeError(format!("{kind} line has no \"{field}\""))
}

fn kind_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    value::Text::deserialize(d)
        .map(|t| t.0)
        .map_err(|e| serde::de::Error::custom(format!("\"kind\" must be a string: {}", strip_position(&e))))
}

/// An error's text without serde_json's " at line L column C" (the reader
/// reports positions itself).
fn strip_position(e: &dyn fmt::Display) -> String {
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((msg, _)) => msg.to_owned(),
        None => text,
    }
}

fn decode_line(line: &[u8]) -> Result<Record, DecodeError> {
    // One UTF-8 check for the whole line is much cheaper than serde_json's
    // check of every string, and names the offending byte.
    let text = std::str::from_utf8(line).map_err(|e| {
        DecodeError(format!(
            "invalid UTF-8 at byte {} (lines are UTF-8 JSON; bytes that are not text travel as {{\"$b64\":…}})",
            e.valid_up_to() + 1
        ))
    })?;
    match text.bytes().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => return Err(DecodeError("blank line (every line must be a JSON object with a \"kind\")".into())),
        Some(_) => {
            let shown: String = text.trim_start().chars().take(20).collect();
            return Err(DecodeError(format!(
                "not a JSON object (every line must be an object with a \"kind\"), found {shown:?}"
            )));
        }
    }
    let wire: WireLine = serde_json::from_str(text).map_err(DecodeError::json)?;
    match wire.kind.as_ref() {
        "row" => Ok(Record::Row(Row {
            table: wire.table.ok_or_else(|| missing("row", "table"))?,
            data: wire.data.ok_or_else(|| missing("row", "data"))?,
        })),
        "redis" => decode_redis(wire, line).map(Record::Redis),
        "redis_function" => {
            let f: RedisFunctionWire = serde_json::from_str(text).map_err(DecodeError::json)?;
            if f.library.is_empty() {
                return Err(DecodeError("redis_function line: \"library\" is empty".into()));
            }
            Ok(Record::RedisFunction(RedisFunction { library: f.library, engine: f.engine, code: f.code.0 }))
        }
        "header" => {
            let h: Header = serde_json::from_str(text).map_err(DecodeError::json)?;
            let major = h.format.split('.').next().unwrap_or("");
            if major != FORMAT {
                return Err(DecodeError(format!("unsupported stream format {:?}: this tool reads {FORMAT}", h.format)));
            }
            Ok(Record::Header(h))
        }
        "schema" => {
            let t: TableSchema = serde_json::from_str(text).map_err(DecodeError::json)?;
            Ok(Record::Schema(t))
        }
        "end" => {
            let t: Trailer = serde_json::from_str(text).map_err(DecodeError::json)?;
            if t.stream_blake3.len() != 64 || !t.stream_blake3.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DecodeError(format!(
                    "end line: stream_blake3 must be 64 hex digits, found {:?}",
                    t.stream_blake3
                )));
            }
            Ok(Record::End(t))
        }
        "delete" => {
            let target = decode_target("delete", wire.table, None, wire.db, wire.key, text)?;
            Ok(Record::Delete(Delete { target }))
        }
        "diff" => {
            let d: DiffWire = serde_json::from_str(text).map_err(DecodeError::json)?;
            let target = decode_target("diff", wire.table, d.id, wire.db, wire.key, text)?;
            let side = |raw: Option<&RawValue>, name: &str| -> Result<Option<Box<Record>>, DecodeError> {
                match raw {
                    None => Ok(None),
                    Some(r) if r.get() == "null" => Ok(None),
                    Some(r) => match decode_line(r.get().as_bytes()) {
                        Ok(rec @ (Record::Row(_) | Record::Redis(_) | Record::RedisFunction(_))) => {
                            Ok(Some(Box::new(rec)))
                        }
                        Ok(other) => Err(DecodeError(format!(
                            "diff {name}: expected a row, redis or redis_function record, found kind {:?}",
                            other.kind()
                        ))),
                        Err(e) => Err(DecodeError(format!("diff {name}: {e}"))),
                    },
                }
            };
            Ok(Record::Diff(Diff {
                op: d.op,
                target,
                left: side(d.left, "left")?,
                right: side(d.right, "right")?,
                fields: d.fields,
            }))
        }
        other => Err(DecodeError(format!(
            "unknown kind {other:?} (expected header, schema, row, redis, redis_function, diff, delete or end)"
        ))),
    }
}

fn decode_target(
    kind: &str,
    table: Option<String>,
    id: Option<RowData>,
    db: Option<u32>,
    key: Option<Bytes>,
    line: &str,
) -> Result<Target, DecodeError> {
    match (table, key) {
        (Some(table), None) => {
            let id = match id {
                Some(id) => id,
                None => {
                    #[derive(Deserialize)]
                    struct IdOnly {
                        id: Option<RowData>,
                    }
                    let w: IdOnly = serde_json::from_str(line).map_err(DecodeError::json)?;
                    w.id.ok_or_else(|| missing(kind, "id"))?
                }
            };
            Ok(Target::Row { table, id })
        }
        (None, Some(key)) => Ok(Target::Key { db: db.unwrap_or(0), key: key.0 }),
        (Some(_), Some(_)) => Err(DecodeError(format!("{kind} line has both \"table\" and \"key\"; give one"))),
        (None, None) => {
            #[derive(Deserialize)]
            struct LibraryOnly {
                library: Option<String>,
            }
            let w: LibraryOnly = serde_json::from_str(line).map_err(DecodeError::json)?;
            match w.library {
                Some(library) => Ok(Target::Function { library }),
                None => Err(DecodeError(format!("{kind} line needs \"table\" and \"id\", or \"key\""))),
            }
        }
    }
}

fn decode_redis(wire: WireLine, line: &[u8]) -> Result<RedisRecord, DecodeError> {
    let key = wire.key.ok_or_else(|| missing("redis", "key"))?.0;
    let ty_name = wire.ty.ok_or_else(|| missing("redis", "type"))?;
    let ty = RedisType::parse(&ty_name).ok_or_else(|| {
        DecodeError(format!(
            "redis key {}: unknown type {ty_name:?} (expected string, hash, list, set, zset, stream or module)",
            Bytes(key.clone())
        ))
    })?;
    let who = || format!("redis key {}", Bytes(key.clone()));
    let value = if ty == RedisType::Module {
        let name = wire
            .module
            .ok_or_else(|| DecodeError(format!("{}: a module key needs \"module\" (the module type's name)", who())))?;
        if !is_module_name(&name) {
            return Err(DecodeError(format!(
                "{}: bad module type name {name:?} (expected {MODULE_NAME_LEN} characters of A-Z a-z 0-9 - _, as TYPE answers)",
                who()
            )));
        }
        match wire.value {
            None => {}
            Some(WireValue::Raw(raw)) if raw.get().trim() == "null" => {}
            Some(_) => {
                return Err(DecodeError(format!(
                    "{}: a module key's \"value\" must be null (its value travels in \"dump\")",
                    who()
                )))
            }
        }
        if wire.dump.is_none() {
            return Err(DecodeError(format!(
                "{}: module key of type {name} has no \"dump\" payload, so its value is missing (export it with redis-export --dump)",
                who()
            )));
        }
        RedisValue::Module(name)
    } else {
        match wire.value.ok_or_else(|| missing("redis", "value"))? {
            WireValue::Decoded(value) => value,
            WireValue::Raw(raw) => {
                // The value's place in the line, so errors point at the right byte.
                let offset = (raw.get().as_ptr() as usize).saturating_sub(line.as_ptr() as usize);
                redis_value(ty, raw.get())
                    .map_err(|e| DecodeError(format!("{}: {}", who(), DecodeError::json_at(e, offset))))?
            }
        }
    };
    let field_expire_at_ms = wire.field_expire_at_ms.map(|f| f.0).unwrap_or_default();
    if !field_expire_at_ms.is_empty() {
        check_field_expiries(&value, &field_expire_at_ms).map_err(|e| DecodeError(format!("{}: {e}", who())))?;
    }
    let part = wire.part;
    Ok(RedisRecord {
        db: wire.db.unwrap_or(0),
        key,
        expire_at_ms: wire.expire_at_ms,
        value,
        part,
        last: part.is_some() && wire.last.unwrap_or(false),
        dump: wire.dump.map(|b| b.0),
        field_expire_at_ms,
    })
}

/// Field expiries must name fields of the line's own hash value, once each.
fn check_field_expiries(value: &RedisValue, expiries: &FieldExpiries) -> Result<(), String> {
    let RedisValue::Hash(pairs) = value else {
        return Err(format!("\"field_expire_at_ms\" is only for hashes, not a {}", value.redis_type()));
    };
    let fields: std::collections::HashSet<&[u8]> = pairs.iter().map(|(f, _)| f.as_slice()).collect();
    if let Some((f, _)) = expiries.iter().find(|(f, _)| !fields.contains(f.as_slice())) {
        return Err(format!(
            "\"field_expire_at_ms\" names field {} that is not in this line's value (each part carries the expiries of its own fields)",
            Bytes(f.clone())
        ));
    }
    if let Some(name) = value::first_duplicate(expiries.iter().map(|(f, _)| f.as_slice())) {
        return Err(format!("\"field_expire_at_ms\" names field {} twice", Bytes(name.to_vec())));
    }
    Ok(())
}

/// Decodes a Redis value of a known type from its JSON text.
fn redis_value(ty: RedisType, raw: &str) -> Result<RedisValue, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let value = RedisValueSeed(ty).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The elements of a list (`'l'`) or set (`'s'`).
struct Elements<const WHAT: char>(Vec<Vec<u8>>);

impl<'de, const WHAT: char> Deserialize<'de> for Elements<WHAT> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const W: char>;
        impl<'de, const W: char> Visitor<'de> for V<W> {
            type Value = Vec<Vec<u8>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(if W == 'l' { "a list: an array of strings" } else { "a set: an array of strings" })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let what = if W == 'l' { "list" } else { "set" };
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(4096));
                loop {
                    match seq.next_element::<Bytes>() {
                        Ok(Some(b)) => items.push(b.0),
                        Ok(None) => return Ok(items),
                        Err(e) => {
                            return Err(de::Error::custom(format!("{what}[{}]: {}", items.len(), strip_position(&e))))
                        }
                    }
                }
            }
        }
        d.deserialize_seq(V::<WHAT>).map(Elements)
    }
}

/// Field/value pairs: an object, or an array of `[field, value]` pairs.
struct PairsWire(Pairs);

impl<'de> Deserialize<'de> for PairsWire {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of fields, or an array of [field, value] pairs")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(8).min(4096));
                while let Some(f) = map.next_key::<value::KeyString>()? {
                    match map.next_value::<Bytes>() {
                        Ok(v) => pairs.push((f.0.into_bytes(), v.0)),
                        Err(e) => {
                            return Err(de::Error::custom(format!("field {:?}: {}", f.0, strip_position(&e))));
                        }
                    }
                }
                if let Some(name) = value::first_duplicate(pairs.iter().map(|(f, _)| f.as_slice())) {
                    return Err(de::Error::custom(format!(
                        "field {:?} appears twice (repeated fields are written as [field, value] pairs)",
                        String::from_utf8_lossy(name)
                    )));
                }
                Ok(pairs)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(4096));
                loop {
                    match seq.next_element::<FieldValue>() {
                        Ok(Some(p)) => pairs.push((p.0, p.1)),
                        Ok(None) => return Ok(pairs),
                        Err(e) => {
                            return Err(de::Error::custom(format!("pair [{}]: {}", pairs.len(), strip_position(&e))))
                        }
                    }
                }
            }
        }
        d.deserialize_any(V).map(PairsWire)
    }
}

/// A `[field, value]` pair.
struct FieldValue(Vec<u8>, Vec<u8>);

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FieldValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a [field, value] pair")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let bad = || de::Error::custom("expected a [field, value] pair");
                let f: Bytes = seq.next_element()?.ok_or_else(bad)?;
                let v: Bytes = seq.next_element()?.ok_or_else(bad)?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(bad());
                }
                Ok(FieldValue(f.0, v.0))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A zset's `[[member, score], …]`.
struct ZSetWire(Vec<(Vec<u8>, f64)>);

impl<'de> Deserialize<'de> for ZSetWire {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(Vec<u8>, f64)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a zset: an array of [member, score] pairs")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(4096));
                loop {
                    match seq.next_element::<ScoredMember>() {
                        Ok(Some(p)) => pairs.push((p.0, p.1)),
                        Ok(None) => return Ok(pairs),
                        Err(e) => {
                            return Err(de::Error::custom(format!("zset[{}]: {}", pairs.len(), strip_position(&e))))
                        }
                    }
                }
            }
        }
        d.deserialize_seq(V).map(ZSetWire)
    }
}

struct ScoredMember(Vec<u8>, f64);

impl<'de> Deserialize<'de> for ScoredMember {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ScoredMember;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a [member, score] pair")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let bad = || de::Error::custom("expected a [member, score] pair");
                let m: Bytes = seq.next_element()?.ok_or_else(bad)?;
                let s: ScoreWire = seq.next_element()?.ok_or_else(bad)?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(bad());
                }
                Ok(ScoredMember(m.0, s.0))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A score: a JSON number, `"inf"`/`"-inf"`, or a tagged `$float`/`$int`.
struct ScoreWire(f64);

impl<'de> Deserialize<'de> for ScoreWire {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = f64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a score: a number, \"inf\" or \"-inf\"")
            }
            fn visit_i64<E>(self, v: i64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_u64<E>(self, v: u64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_f64<E>(self, v: f64) -> Result<f64, E> {
                Ok(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
                value::parse_nonfinite(v)
                    .filter(|f| !f.is_nan())
                    .ok_or_else(|| E::custom(format!("bad score {v:?} (expected a number, \"inf\" or \"-inf\")")))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<f64, A::Error> {
                let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                match v {
                    Value::Float(f) if !f.is_nan() => Ok(f),
                    Value::Int(n) => Ok(n as f64),
                    other => Err(de::Error::custom(format!(
                        "bad score: expected a number, \"inf\" or \"-inf\", found {}",
                        other.type_name()
                    ))),
                }
            }
        }
        d.deserialize_any(V).map(ScoreWire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(i: u32, last: bool, value: RedisValue) -> RedisRecord {
        RedisRecord { part: Some(i), last, ..RedisRecord::new(0, b"k".to_vec(), value) }
    }

    #[test]
    fn parts_join_with_their_field_expiries_and_stream_counters() {
        let mut h = part(0, false, RedisValue::Hash(vec![(b"a".to_vec(), b"1".to_vec())]));
        h.field_expire_at_ms = vec![(b"a".to_vec(), 10)];
        let mut next = part(1, true, RedisValue::Hash(vec![(b"b".to_vec(), b"2".to_vec())]));
        next.field_expire_at_ms = vec![(b"b".to_vec(), 20)];
        h.append_part(next).unwrap();
        assert_eq!(h.value.len(), 2);
        assert_eq!(h.field_expire_at_ms, vec![(b"a".to_vec(), 10), (b"b".to_vec(), 20)]);
        assert!(h.last && h.ends_key());

        let entry = |id: &str| StreamEntry { id: id.into(), fields: vec![(b"f".to_vec(), b"v".to_vec())] };
        let first = StreamValue { entries: vec![entry("1-0")], ..StreamValue::default() };
        let tail = StreamValue {
            entries: vec![entry("2-0")],
            last_id: Some("5-0".into()),
            entries_added: Some(7),
            max_deleted_entry_id: Some("3-0".into()),
            ..StreamValue::default()
        };
        let mut s = part(0, false, RedisValue::Stream(first));
        s.append_part(part(1, true, RedisValue::Stream(tail))).unwrap();
        let RedisValue::Stream(v) = &s.value else { panic!("{s:?}") };
        assert_eq!(v.entries.len(), 2);
        assert_eq!(
            (v.last_id.as_deref(), v.entries_added, v.max_deleted_entry_id.as_deref()),
            (Some("5-0"), Some(7), Some("3-0"))
        );

        let err = part(0, false, RedisValue::List(vec![])).append_part(part(1, true, RedisValue::Set(vec![])));
        assert!(err.unwrap_err().contains("a list part, then a set part"));
    }
}
