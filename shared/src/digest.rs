//! The canonical form of records and the order-independent content digest
//! (docs/format.md §3).
//!
//! Each record is encoded canonically (object keys sorted, numbers normalised,
//! strings and bytes compared as bytes, date-times normalised) and hashed with
//! blake3; a table's or key group's digest is the sum of those hashes modulo
//! 2^256 plus the record count. Sums commute, so the digest does not depend on
//! order, and a MySQL table, its PostgreSQL copy and an NDJSON file of it have
//! the same digest when they hold the same records.
//!
//! What counts as the same value is decided here once, for `decant-checksum`,
//! `decant-diff` and `decant-verify` alike:
//!
//! - **CHAR(n) padding.** A fixed-length character column (`"type":"string",
//!   "fixed":true` in the schema line) compares without its trailing spaces:
//!   PostgreSQL returns `CHAR(20)` values padded to 20 characters, MySQL (by
//!   default) strips the pad, and both stores themselves treat trailing spaces
//!   of CHAR as insignificant. So `'ab'` and `'ab   '` in CHAR columns are the
//!   same value; `'ab'` and `' ab'` are not, and neither are `'ab'` and
//!   `'ab   '` in VARCHAR or TEXT columns. Exporters write the value exactly
//!   as the store returns it; only the comparison ignores the pad.
//! - **Whole decimals.** In a decimal column of scale 0 (`numeric(20,0)`,
//!   where decant keeps MySQL's BIGINT UNSIGNED on PostgreSQL) a value is the
//!   integer it equals, so it digests like the integer column it came from.
//!   Other decimals keep their normalised digits (`12.3400` → `12.34`).
//! - **Values a type cannot hold are never wrapped.** A date-time or time
//!   whose normalisation would overflow (a `time` of
//!   `99999999999999999999:00:00`) is not normalised: its exact text is
//!   hashed, so two different such values never digest alike.
//!
//! Redis keys are hashed element by element (a hash field, a set member, a
//! list element with its index, a stream entry) plus one hash for the key's
//! type and expiry, so a key split into parts digests like the same key in one
//! line, in memory bounded by one part. A hash field's expiry is hashed with
//! the field, a stream's counters with the stream, a module key's module name
//! with its payload, and function libraries form the group `functions`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::record::{Record, RedisFunction, RedisRecord, RedisValue, StreamValue};
use crate::schema::{Column, LogicalType, TableSchema};
use crate::time::{normalize_datetime_into, normalize_time, Rounding};
use crate::value::{Bytes, RowData, Value};

/// Explicit normalisations applied before hashing. The defaults normalise only
/// what is the same value in every store (key order, number spelling, date-time
/// spelling); everything else is an opt-in option.
#[derive(Debug, Clone, Default)]
pub struct CanonicalOptions {
    /// Compare date-times and times at this many fraction digits
    /// (`--time-precision 3`).
    pub time_precision: Option<u8>,
    /// How extra fraction digits are dropped.
    pub rounding: Rounding,
    /// Treat empty strings (and empty byte strings) as NULL, and a row
    /// without a column as one with that column NULL.
    pub null_equals_empty: bool,
    /// Leave Redis expiries out of the digest.
    pub ignore_expiry: bool,
    /// Round Redis expiries to this many milliseconds (e.g. 1000).
    pub expiry_precision_ms: Option<u64>,
    /// How Redis keys are grouped.
    pub key_groups: KeyGrouper,
    /// Keep Redis databases apart in the groups (`db1/apikey`); by default a
    /// copy into another database digests the same.
    pub group_by_db: bool,
}

/// Groups Redis keys by their leading `separator`-delimited segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrouper {
    /// The separator, `:` by default.
    pub separator: u8,
    /// How many leading segments name the group (1 by default; 0 puts every
    /// key in one group).
    pub depth: usize,
}

impl Default for KeyGrouper {
    fn default() -> Self {
        KeyGrouper { separator: b':', depth: 1 }
    }
}

/// The group of keys that have no separator.
pub const NO_PREFIX_GROUP: &str = "(no prefix)";

impl KeyGrouper {
    /// The group of a key: its first `depth` segments, or [`NO_PREFIX_GROUP`]
    /// when it has fewer separators than that.
    pub fn group(&self, key: &[u8]) -> String {
        self.group_name(key).into_owned()
    }

    /// [`KeyGrouper::group`], borrowed from the key when it can be.
    fn group_name<'k>(&self, key: &'k [u8]) -> Cow<'k, str> {
        if self.depth == 0 {
            return Cow::Borrowed("*");
        }
        let mut seen = 0;
        for (i, b) in key.iter().enumerate() {
            if *b == self.separator {
                seen += 1;
                if seen == self.depth {
                    return match std::str::from_utf8(&key[..i]) {
                        Ok(text) => Cow::Borrowed(text),
                        Err(_) => Cow::Owned(Bytes(key[..i].to_vec()).to_string()),
                    };
                }
            }
        }
        Cow::Borrowed(NO_PREFIX_GROUP)
    }
}

impl FromStr for KeyGrouper {
    type Err = String;
    /// `N` (depth with `:`), `none` (one group), or `SEP` / `SEP:N`… written as
    /// `N` or `SEPARATOR,N`, e.g. `2`, `/,1`, `none`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "none" {
            return Ok(KeyGrouper { separator: b':', depth: 0 });
        }
        let (sep, depth) = match s.rsplit_once(',') {
            Some((sep, d)) => (sep, d),
            None => (":", s),
        };
        let depth = depth.parse().map_err(|_| {
            format!("bad --group-by {s:?}: expected a depth such as 1, \"SEPARATOR,DEPTH\" or \"none\"")
        })?;
        match sep.as_bytes() {
            [b] => Ok(KeyGrouper { separator: *b, depth }),
            _ => Err(format!("bad --group-by {s:?}: the separator must be one byte")),
        }
    }
}

/// What a digest covers: a table, or a group of Redis keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    /// A table.
    Table(String),
    /// A group of Redis keys (optionally qualified by database).
    Keys(String),
    /// The Redis function libraries (server-wide).
    Functions,
}

impl fmt::Display for GroupKey {
    /// `table:NAME` or `keys:GROUP`, the names `decant-checksum` prints.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            GroupKey::Table(t) => write!(f, "table:{t}"),
            GroupKey::Keys(g) => write!(f, "keys:{g}"),
            GroupKey::Functions => f.write_str("functions"),
        }
    }
}

impl FromStr for GroupKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(t) = s.strip_prefix("table:") {
            Ok(GroupKey::Table(t.to_owned()))
        } else if let Some(g) = s.strip_prefix("keys:") {
            Ok(GroupKey::Keys(g.to_owned()))
        } else if s == "functions" {
            Ok(GroupKey::Functions)
        } else {
            Err(format!("bad group name {s:?}: expected table:NAME, keys:GROUP or functions"))
        }
    }
}

/// A borrowed view of a group's name, so a record's group is found in the
/// map without allocating its name.
trait GroupName {
    fn parts(&self) -> (u8, &str);
}

impl GroupName for GroupKey {
    fn parts(&self) -> (u8, &str) {
        // The same order as the derived `Ord` of `GroupKey`.
        match self {
            GroupKey::Table(t) => (0, t),
            GroupKey::Keys(g) => (1, g),
            GroupKey::Functions => (2, ""),
        }
    }
}

struct BorrowedGroup<'a>(u8, &'a str);

impl GroupName for BorrowedGroup<'_> {
    fn parts(&self) -> (u8, &str) {
        (self.0, self.1)
    }
}

impl<'a> std::borrow::Borrow<dyn GroupName + 'a> for GroupKey {
    fn borrow(&self) -> &(dyn GroupName + 'a) {
        self
    }
}

impl PartialEq for dyn GroupName + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn GroupName + '_ {}

impl PartialOrd for dyn GroupName + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn GroupName + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

/// The digest of a group, created empty when new.
fn group_entry<'m>(groups: &'m mut BTreeMap<GroupKey, ContentDigest>, kind: u8, name: &str) -> &'m mut ContentDigest {
    let borrowed = BorrowedGroup(kind, name);
    if !groups.contains_key(&borrowed as &dyn GroupName) {
        let key = match kind {
            0 => GroupKey::Table(name.to_owned()),
            1 => GroupKey::Keys(name.to_owned()),
            _ => GroupKey::Functions,
        };
        groups.insert(key, ContentDigest::default());
    }
    // Present: inserted just above if it was not.
    groups.get_mut(&borrowed as &dyn GroupName).expect("group present")
}

/// An order-independent multiset digest: record count and the sum of the
/// records' blake3 hashes modulo 2^256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContentDigest {
    /// Records (rows, or whole Redis keys).
    pub count: u64,
    sum: [u64; 4],
}

impl ContentDigest {
    /// Adds one element hash to the sum (does not count a record).
    pub fn add_hash(&mut self, hash: &[u8; 32]) {
        let mut carry = 0u128;
        for (i, limb) in self.sum.iter_mut().enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&hash[i * 8..i * 8 + 8]);
            let total = *limb as u128 + u64::from_le_bytes(word) as u128 + carry;
            *limb = total as u64;
            carry = total >> 64;
        }
    }

    /// Merges another digest into this one (as if its records were added here).
    pub fn merge(&mut self, other: &ContentDigest) {
        let mut bytes = [0u8; 32];
        for (i, limb) in other.sum.iter().enumerate() {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
        }
        self.add_hash(&bytes);
        self.count += other.count;
    }

    /// The raw sum as 64 hex digits (little-endian 64-bit limbs, lowest
    /// first): what a checksum file of one shard keeps so the shards' sums
    /// can be added up later ([`ContentDigest::from_sum_hex`]).
    pub fn sum_hex(&self) -> String {
        self.sum.iter().map(|limb| format!("{:016x}", limb.swap_bytes())).collect()
    }

    /// The digest of `count` records whose raw sum is `sum` (as written by
    /// [`ContentDigest::sum_hex`]); `None` unless `sum` is 64 hex digits.
    pub fn from_sum_hex(count: u64, sum: &str) -> Option<ContentDigest> {
        if sum.len() != 64 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut out = ContentDigest { count, sum: [0; 4] };
        for (i, limb) in out.sum.iter_mut().enumerate() {
            *limb = u64::from_str_radix(&sum[i * 16..i * 16 + 16], 16).ok()?.swap_bytes();
        }
        Some(out)
    }

    /// The digest as 64 hex digits: blake3 of a domain tag, the sum and the
    /// count, so the count is bound into it and an empty group is not all zeros.
    pub fn hex(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"decant-content/1\0");
        for limb in self.sum {
            h.update(&limb.to_le_bytes());
        }
        h.update(&self.count.to_le_bytes());
        h.finalize().to_hex().to_string()
    }
}

/// What the canonical form needs to know of a column: its logical type and
/// whether it is a fixed-length character string (CHAR(n)), whose trailing
/// pad spaces are not part of the value (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CanonType {
    /// The column's logical type.
    pub ty: LogicalType,
    /// A fixed-length character string: trailing spaces are padding.
    pub pad_spaces: bool,
    /// A decimal of scale 0 (`numeric(20,0)`): its values are integers.
    pub whole_decimal: bool,
}

impl CanonType {
    /// The canonical type of a schema line's column.
    pub fn of(column: &Column) -> CanonType {
        CanonType {
            ty: column.ty,
            pad_spaces: column.fixed && column.ty == LogicalType::String,
            whole_decimal: column.ty == LogicalType::Decimal && column.scale == Some(0),
        }
    }
}

impl From<LogicalType> for CanonType {
    fn from(ty: LogicalType) -> CanonType {
        CanonType { ty, pad_spaces: false, whole_decimal: false }
    }
}

/// The canonical types of a table's columns, by name.
pub fn table_canon_types(schema: &TableSchema) -> HashMap<String, CanonType> {
    schema.columns.iter().map(|c| (c.name.clone(), CanonType::of(c))).collect()
}

/// Column types of one table, by column name, for normalisation.
#[derive(Debug, Default, Clone)]
pub(crate) struct TableTypes {
    by_name: HashMap<String, CanonType>,
    /// In schema order: rows usually list their columns in that order, so
    /// the type of column `i` is found without hashing its name.
    in_order: Vec<(String, CanonType)>,
}

impl TableTypes {
    fn get(&self, position: usize, name: &str) -> Option<CanonType> {
        match self.in_order.get(position) {
            Some((n, ty)) if n == name => Some(*ty),
            _ => self.by_name.get(name).copied(),
        }
    }
}

/// State of a Redis key split into parts, between its first and last part.
#[derive(Debug)]
struct OpenKey {
    db: u32,
    key: Vec<u8>,
    list_offset: u64,
    string: Option<blake3::Hasher>,
}

/// Computes content digests per table and per key group over a stream.
///
/// ```
/// use decant_record::{digest::{CanonicalOptions, Digester, GroupKey}, Record, Row, RowData, Value};
/// let row = |id: i128| Record::Row(Row { table: "t".into(), data: RowData(vec![("id".into(), Value::Int(id))]) });
/// let mut a = Digester::new(CanonicalOptions::default());
/// let mut b = Digester::new(CanonicalOptions::default());
/// for r in [row(1), row(2)] { a.add(&r); }
/// for r in [row(2), row(1)] { b.add(&r); }
/// assert_eq!(a.finish(), b.finish());
/// ```
#[derive(Debug)]
pub struct Digester {
    opts: CanonicalOptions,
    /// Shared with the workers of a parallel digest (copied on write).
    tables: Arc<HashMap<String, TableTypes>>,
    groups: BTreeMap<GroupKey, ContentDigest>,
    open: Option<OpenKey>,
    scratch: Vec<u8>,
    /// Column order of the row being hashed (reused).
    order: Vec<usize>,
}

impl Digester {
    /// A digester with the given normalisations.
    pub fn new(opts: CanonicalOptions) -> Self {
        Digester {
            opts,
            tables: Arc::default(),
            groups: BTreeMap::new(),
            open: None,
            scratch: Vec::with_capacity(1024),
            order: Vec::new(),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &CanonicalOptions {
        &self.opts
    }

    /// Adds one record. Schema lines set the column types used to normalise
    /// later rows of their table; headers, trailers, diffs and deletes are
    /// not content and are ignored.
    pub fn add(&mut self, record: &Record) {
        match record {
            Record::Schema(s) => self.add_schema(s),
            Record::Row(r) => self.add_row(&r.table, &r.data),
            Record::Redis(r) => self.add_redis(r),
            Record::RedisFunction(f) => self.add_function(f),
            _ => {}
        }
    }

    /// Adds one function library to the group `functions`.
    pub fn add_function(&mut self, f: &RedisFunction) {
        let mut e = ElementHasher::new(&mut self.scratch);
        let b = e.start(b'F', f.library.as_bytes());
        put_bytes(b, f.engine.as_bytes());
        put_bytes(b, &f.code);
        let hash = e.hash();
        let group = group_entry(&mut self.groups, 2, "");
        group.add_hash(&hash);
        group.count += 1;
    }

    /// Registers a table's column types.
    pub fn add_schema(&mut self, schema: &TableSchema) {
        let in_order: Vec<(String, CanonType)> =
            schema.columns.iter().map(|c| (c.name.clone(), CanonType::of(c))).collect();
        let by_name = in_order.iter().cloned().collect();
        Arc::make_mut(&mut self.tables).insert(schema.table.clone(), TableTypes { by_name, in_order });
        self.groups.entry(GroupKey::Table(schema.table.clone())).or_default();
    }

    /// Adds one row of `table`.
    pub fn add_row(&mut self, table: &str, data: &RowData) {
        let hash = self.row_hash(table, data);
        let group = group_entry(&mut self.groups, 0, table);
        group.add_hash(&hash);
        group.count += 1;
    }

    /// The canonical hash of one row of `table` (using its schema, if seen).
    pub fn row_hash(&mut self, table: &str, data: &RowData) -> [u8; 32] {
        self.scratch.clear();
        let types = self.tables.get(table);
        let type_of = |i, name: &str| types.and_then(|t| t.get(i, name));
        canonical_row_with(data, type_of, &self.opts, &mut self.order, &mut self.scratch);
        *blake3::hash(&self.scratch).as_bytes()
    }

    fn group_of<'k>(&self, db: u32, key: &'k [u8]) -> Cow<'k, str> {
        let g = self.opts.key_groups.group_name(key);
        if self.opts.group_by_db {
            Cow::Owned(format!("db{db}/{g}"))
        } else {
            g
        }
    }

    /// Adds one Redis record (a whole key or one part of a split key).
    pub fn add_redis(&mut self, r: &RedisRecord) {
        // This record's contribution, merged into its group at the end.
        let mut delta = self.key_start_delta(r);
        let split = r.part.is_some();
        let mut open = self.open_key(r.db, &r.key, split, r.starts_key());
        hash_elements(&self.opts, &mut self.scratch, r, open.as_mut(), &mut delta);
        self.close_key(open, split, r.ends_key(), &mut delta);
        self.merge_key_delta(r.db, &r.key, &delta);
    }

    /// The count and type/expiry hash a record adds when it starts a key.
    fn key_start_delta(&mut self, r: &RedisRecord) -> ContentDigest {
        let mut delta = ContentDigest::default();
        if r.starts_key() {
            delta.count += 1;
            delta.add_hash(&key_meta_hash(&self.opts, r, &mut self.scratch));
        }
        delta
    }

    /// Moves the split-key state to `key` and takes it out for the record
    /// being added (`None` for a whole key).
    fn open_key(&mut self, db: u32, key: &[u8], split: bool, starts: bool) -> Option<OpenKey> {
        if starts {
            self.open = None;
            if split {
                self.open = Some(OpenKey { db, key: key.to_vec(), list_offset: 0, string: None });
            }
        } else if self.open.as_ref().is_none_or(|o| o.key != key || o.db != db) {
            // A later part without its first part: digest it as if it were
            // the start, so the group still reflects every element seen.
            self.open = Some(OpenKey { db, key: key.to_vec(), list_offset: 0, string: None });
        }
        if split {
            self.open.take()
        } else {
            None
        }
    }

    /// Puts the split-key state back after a record, completing a split
    /// string's hash on the key's last part.
    fn close_key(&mut self, mut open: Option<OpenKey>, split: bool, ends: bool, delta: &mut ContentDigest) {
        if ends {
            if let Some(h) = open.as_mut().and_then(|o| o.string.take()) {
                delta.add_hash(h.finalize().as_bytes());
            }
            open = None;
        }
        if split {
            self.open = open;
        }
    }

    fn merge_key_delta(&mut self, db: u32, key: &[u8], delta: &ContentDigest) {
        let group_key = self.group_of(db, key);
        group_entry(&mut self.groups, 1, &group_key).merge(delta);
    }

    /// Adds the part of a Redis record that does not depend on the records
    /// before it, for a worker of the parallel digest: the whole of a whole
    /// key, or a part of a split hash, set, sorted set or stream (whose
    /// elements hash alone). Returns false, adding nothing, for a part of a
    /// split list or string: element indexes and the string's hash run on
    /// from the previous parts, so those go to [`Digester::add_redis`] in
    /// stream order.
    pub(crate) fn add_redis_independent(&mut self, r: &RedisRecord) -> bool {
        if r.part.is_some() && matches!(r.value, RedisValue::List(_) | RedisValue::String(_)) {
            return false;
        }
        let mut delta = self.key_start_delta(r);
        hash_elements(&self.opts, &mut self.scratch, r, None, &mut delta);
        self.merge_key_delta(r.db, &r.key, &delta);
        true
    }

    /// In stream order, what a whole key does to the split-key state (ends
    /// any split key in progress, as [`Digester::add_redis`] does).
    pub(crate) fn forget_open_key(&mut self) {
        self.open = None;
    }

    /// In stream order, what a part added by
    /// [`Digester::add_redis_independent`] does to the split-key state
    /// (including completing a split string's hash on a last part, as
    /// [`Digester::add_redis`] does).
    pub(crate) fn pass_key_part(&mut self, db: u32, key: &[u8], starts: bool, ends: bool) {
        let open = self.open_key(db, key, true, starts);
        let mut delta = ContentDigest::default();
        self.close_key(open, true, ends, &mut delta);
        if delta != ContentDigest::default() {
            self.merge_key_delta(db, key, &delta);
        }
    }

    /// Merges digests computed elsewhere over other records of the stream.
    pub(crate) fn merge_groups(&mut self, groups: &BTreeMap<GroupKey, ContentDigest>) {
        for (key, digest) in groups {
            match self.groups.get_mut(key) {
                Some(mine) => mine.merge(digest),
                None => {
                    self.groups.insert(key.clone(), *digest);
                }
            }
        }
    }

    /// Takes the digests so far, leaving the digester's groups empty (its
    /// schemas and split-key state stay).
    pub(crate) fn take_groups(&mut self) -> BTreeMap<GroupKey, ContentDigest> {
        std::mem::take(&mut self.groups)
    }

    /// The table types known so far, to share with workers.
    pub(crate) fn table_types(&self) -> Arc<HashMap<String, TableTypes>> {
        Arc::clone(&self.tables)
    }

    /// Replaces the table types (a worker starting a batch).
    pub(crate) fn set_table_types(&mut self, tables: Arc<HashMap<String, TableTypes>>) {
        self.tables = tables;
    }

    /// The digests so far, per table and key group (tables declared by a
    /// schema line but without rows are included with count 0).
    pub fn finish(self) -> BTreeMap<GroupKey, ContentDigest> {
        self.groups
    }

    /// The digests so far, without consuming the digester.
    pub fn groups(&self) -> &BTreeMap<GroupKey, ContentDigest> {
        &self.groups
    }
}

/// Adds the hashes of a Redis record's elements to `delta`. `open` is the
/// split-key state for a part of a split key (`None` for a whole key).
fn hash_elements(
    opts: &CanonicalOptions,
    scratch: &mut Vec<u8>,
    r: &RedisRecord,
    mut open: Option<&mut OpenKey>,
    delta: &mut ContentDigest,
) {
    let key = &r.key;
    let mut e = ElementHasher::new(scratch);
    match &r.value {
        RedisValue::String(bytes) => match open.as_mut() {
            // The bytes are hashed unprefixed, as a split string streams them.
            None => {
                e.start(b'S', key).extend_from_slice(bytes);
                delta.add_hash(&e.hash());
            }
            Some(o) => {
                o.string
                    .get_or_insert_with(|| {
                        let mut h = blake3::Hasher::new();
                        h.update(e.start(b'S', key));
                        h
                    })
                    .update(bytes);
            }
        },
        RedisValue::Hash(pairs) => {
            // A field's expiry is part of the field: a field without one
            // hashes exactly as before field expiry existed.
            let expiries: HashMap<&[u8], i64> = if opts.ignore_expiry {
                HashMap::new()
            } else {
                r.field_expire_at_ms.iter().map(|(f, ms)| (f.as_slice(), *ms)).collect()
            };
            e.start(b'h', key);
            for (f, v) in pairs {
                let b = e.element();
                put_bytes(b, f);
                put_bytes(b, v);
                if let Some(ms) = expiries.get(f.as_slice()) {
                    b.push(1);
                    b.extend_from_slice(&round_expiry(opts, *ms).to_le_bytes());
                }
                delta.add_hash(&e.hash());
            }
        }
        RedisValue::List(items) => {
            let offset = open.as_ref().map_or(0, |o| o.list_offset);
            e.start(b'l', key);
            for (i, item) in items.iter().enumerate() {
                let b = e.element();
                b.extend_from_slice(&(offset + i as u64).to_le_bytes());
                put_bytes(b, item);
                delta.add_hash(&e.hash());
            }
            if let Some(o) = open.as_mut() {
                o.list_offset += items.len() as u64;
            }
        }
        RedisValue::Set(members) => {
            e.start(b's', key);
            for m in members {
                put_bytes(e.element(), m);
                delta.add_hash(&e.hash());
            }
        }
        RedisValue::ZSet(pairs) => {
            e.start(b'z', key);
            for (m, score) in pairs {
                let b = e.element();
                put_bytes(b, m);
                b.extend_from_slice(&canonical_float_bits(*score).to_le_bytes());
                delta.add_hash(&e.hash());
            }
        }
        RedisValue::Stream(stream) => add_stream(&mut e, delta, key, stream),
        RedisValue::Module(name) => {
            let b = e.start(b'm', key);
            put_bytes(b, name.as_bytes());
            put_bytes(b, module_payload(r.dump.as_deref().unwrap_or_default()));
            delta.add_hash(&e.hash());
        }
    }
}

/// A module key's DUMP payload without its trailer (2 bytes of RDB version
/// and 8 of CRC64), so the same value dumped by two server versions, or built
/// from an RDB file, digests (and compares) the same.
pub fn module_payload(dump: &[u8]) -> &[u8] {
    const TRAILER: usize = 10;
    if dump.len() > TRAILER {
        &dump[..dump.len() - TRAILER]
    } else {
        dump
    }
}

/// An expiry rounded to `--expiry-precision`.
fn round_expiry(opts: &CanonicalOptions, ms: i64) -> i64 {
    match opts.expiry_precision_ms.filter(|p| *p > 1) {
        Some(p) => round_to_multiple(ms, p),
        None => ms,
    }
}

fn add_stream(e: &mut ElementHasher, digest: &mut ContentDigest, key: &[u8], stream: &StreamValue) {
    e.start(b'x', key);
    for entry in &stream.entries {
        let b = e.element();
        put_bytes(b, entry.id.as_bytes());
        b.extend_from_slice(&(entry.fields.len() as u64).to_le_bytes());
        for (f, v) in &entry.fields {
            put_bytes(b, f);
            put_bytes(b, v);
        }
        digest.add_hash(&e.hash());
    }
    e.start(b'g', key);
    for g in &stream.groups {
        let b = e.element();
        put_bytes(b, &g.name.0);
        put_bytes(b, g.last_delivered_id.as_bytes());
        let mut consumers: Vec<&[u8]> = g.consumers.iter().map(|c| c.0.as_slice()).collect();
        consumers.sort_unstable();
        b.extend_from_slice(&(consumers.len() as u64).to_le_bytes());
        for c in consumers {
            put_bytes(b, c);
        }
        let mut pending: Vec<(&str, &[u8], u64)> =
            g.pending.iter().map(|p| (p.id.as_str(), p.consumer.0.as_slice(), p.delivery_count)).collect();
        pending.sort_unstable();
        b.extend_from_slice(&(pending.len() as u64).to_le_bytes());
        for (id, c, n) in pending {
            put_bytes(b, id.as_bytes());
            put_bytes(b, c);
            b.extend_from_slice(&n.to_le_bytes());
        }
        // Appended only when known, so a group without it hashes as before.
        if let Some(n) = g.entries_read {
            b.push(1);
            b.extend_from_slice(&n.to_le_bytes());
        }
        digest.add_hash(&e.hash());
    }
    if stream.entries_added.is_some() || stream.max_deleted_entry_id.is_some() {
        let b = e.start(b'C', key);
        match stream.entries_added {
            Some(n) => {
                b.push(1);
                b.extend_from_slice(&n.to_le_bytes());
            }
            None => b.push(0),
        }
        match &stream.max_deleted_entry_id {
            Some(id) => {
                b.push(1);
                put_bytes(b, id.as_bytes());
            }
            None => b.push(0),
        }
        digest.add_hash(&e.hash());
    }
    if let Some(last) = &stream.last_id {
        put_bytes(e.start(b'L', key), last.as_bytes());
        digest.add_hash(&e.hash());
    }
}

fn key_meta_hash(opts: &CanonicalOptions, r: &RedisRecord, scratch: &mut Vec<u8>) -> [u8; 32] {
    let mut e = ElementHasher::new(scratch);
    let b = e.start(b'k', &r.key);
    b.extend_from_slice(r.value.redis_type().as_str().as_bytes());
    match r.expire_at_ms.filter(|_| !opts.ignore_expiry) {
        None => b.push(0),
        Some(ms) => {
            let ms = round_expiry(opts, ms);
            b.push(1);
            b.extend_from_slice(&ms.to_le_bytes());
        }
    }
    e.hash()
}

/// `ms` rounded (half up) to a multiple of `p`, saturating at the ends of
/// `i64` instead of overflowing: an expiry near `i64::MAX` stays distinct
/// from small ones.
pub fn round_to_multiple(ms: i64, p: u64) -> i64 {
    let p = p as i128;
    let rounded = (ms as i128 + p / 2).div_euclid(p) * p;
    rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Builds the hashed bytes of a key's elements — `K`, a type tag, the key,
/// then the element's parts, each length-prefixed — in one reused buffer,
/// hashed in one call (much cheaper than a `blake3::Hasher` per element).
struct ElementHasher<'a> {
    buf: &'a mut Vec<u8>,
    prefix: usize,
}

impl<'a> ElementHasher<'a> {
    fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.clear();
        ElementHasher { buf, prefix: 0 }
    }

    /// Starts elements of type `tag` of `key`; returns the buffer to append to.
    fn start(&mut self, tag: u8, key: &[u8]) -> &mut Vec<u8> {
        self.buf.clear();
        self.buf.extend_from_slice(&[b'K', tag]);
        put_bytes(self.buf, key);
        self.prefix = self.buf.len();
        self.buf
    }

    /// Starts the next element of the type given to `start`.
    fn element(&mut self) -> &mut Vec<u8> {
        self.buf.truncate(self.prefix);
        self.buf
    }

    fn hash(&self) -> [u8; 32] {
        *blake3::hash(self.buf).as_bytes()
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

/// Float bits with every NaN made one NaN.
fn canonical_float_bits(f: f64) -> u64 {
    if f.is_nan() {
        f64::NAN.to_bits()
    } else {
        f.to_bits()
    }
}

/// Appends the canonical encoding of a row (columns sorted by name) to `out`.
/// `types` gives column types for normalisation; without them, strings that
/// look like ISO date-times are normalised as date-times.
pub fn canonical_row(
    data: &RowData,
    types: Option<&HashMap<String, CanonType>>,
    opts: &CanonicalOptions,
    out: &mut Vec<u8>,
) {
    canonical_row_with(data, |_, name| types.and_then(|t| t.get(name).copied()), opts, &mut Vec::new(), out);
}

/// [`canonical_row`] with the column types given by `type_of(position, name)`.
fn canonical_row_with(
    data: &RowData,
    type_of: impl Fn(usize, &str) -> Option<CanonType>,
    opts: &CanonicalOptions,
    order: &mut Vec<usize>,
    out: &mut Vec<u8>,
) {
    order.clear();
    order.extend(0..data.0.len());
    order.sort_unstable_by(|&a, &b| data.0[a].0.cmp(&data.0[b].0));
    out.push(b'R');
    let count_at = out.len();
    out.extend_from_slice(&(order.len() as u64).to_le_bytes());
    let mut count = order.len() as u64;
    for &position in order.iter() {
        let (name, value) = &data.0[position];
        let column_at = out.len();
        put_str(out, name.as_bytes());
        let value_at = out.len();
        canonical_value(value, type_of(position, name), opts, out);
        // --null-equals-empty: a NULL (or empty) column is the same row as one
        // without that column, as a DynamoDB item leaves out an attribute the
        // application did not set where MySQL keeps a NULL column.
        if opts.null_equals_empty && out.len() == value_at + 1 && out[value_at] == 0 {
            out.truncate(column_at);
            count -= 1;
        }
    }
    out[count_at..count_at + 8].copy_from_slice(&count.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, b: &[u8]) {
    out.push(4);
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

/// Appends the canonical encoding of one value. `column` is the column's
/// canonical type when known (it selects decimal / date-time normalisation
/// and CHAR(n) pad stripping).
pub fn canonical_value(value: &Value, column: Option<CanonType>, opts: &CanonicalOptions, out: &mut Vec<u8>) {
    let ty = column.map(|c| c.ty);
    let whole = column.is_some_and(|c| c.whole_decimal);
    if ty == Some(LogicalType::Decimal) {
        // A DECIMAL column read back as a number (SQLite stores DECIMAL with
        // NUMERIC affinity: 0.125 as REAL, 1.000 as INTEGER) is the same value
        // as the exact decimal string another store gives.
        let text = match value {
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) if f.is_finite() => Some(f.to_string()),
            _ => None,
        };
        if let Some(n) = text.as_deref().and_then(normalize_decimal) {
            put_decimal(out, &n, whole);
            return;
        }
    }
    match value {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, *b as u8]),
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Float(f) => {
            // An integral float is the same number as the integer (SQLite
            // REAL 5.0 vs INTEGER 5); -0.0 keeps its sign.
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e18 && !(*f == 0.0 && f.is_sign_negative()) {
                out.push(2);
                out.extend_from_slice(&(*f as i128).to_le_bytes());
            } else {
                out.push(3);
                out.extend_from_slice(&canonical_float_bits(*f).to_le_bytes());
            }
        }
        Value::String(s) if column.is_some_and(|c| c.pad_spaces) => {
            let unpadded = s.trim_end_matches(' ');
            canonical_text(unpadded.as_bytes(), Some(unpadded), ty, whole, opts, out)
        }
        Value::String(s) => canonical_text(s.as_bytes(), Some(s), ty, whole, opts, out),
        Value::Bytes(b) => canonical_text(b, None, ty, whole, opts, out),
        Value::ZeroDate(z) => {
            out.push(6);
            out.extend_from_slice(&(z.len() as u64).to_le_bytes());
            out.extend_from_slice(z.as_bytes());
        }
        Value::Number(text) => {
            // The same number as an integer or a decimal string of a typed
            // column: `{"$n":"42"}` is 42, `"1.50"` and `1.5` are one value.
            match normalize_decimal(text) {
                Some(n) => put_decimal(out, &n, true),
                None => put_str(out, text.as_bytes()),
            }
        }
        Value::StringSet(members) => {
            let mut sorted: Vec<&[u8]> = members.iter().map(|m| m.as_bytes()).collect();
            put_set(out, 9, &mut sorted);
        }
        Value::NumberSet(members) => {
            let normalised: Vec<String> =
                members.iter().map(|m| normalize_decimal(m).unwrap_or_else(|| m.clone())).collect();
            let mut sorted: Vec<&[u8]> = normalised.iter().map(|m| m.as_bytes()).collect();
            put_set(out, 10, &mut sorted);
        }
        Value::BinarySet(members) => {
            let mut sorted: Vec<&[u8]> = members.iter().map(|m| m.as_slice()).collect();
            put_set(out, 11, &mut sorted);
        }
        Value::Array(items) => {
            out.push(7);
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                canonical_value(item, None, opts, out);
            }
        }
        Value::Object(members) => {
            let mut sorted: Vec<&(String, Value)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push(8);
            out.extend_from_slice(&(sorted.len() as u64).to_le_bytes());
            for (k, v) in sorted {
                put_str(out, k.as_bytes());
                canonical_value(v, None, opts, out);
            }
        }
    }
}

fn canonical_text(
    bytes: &[u8],
    text: Option<&str>,
    ty: Option<LogicalType>,
    whole_decimal: bool,
    opts: &CanonicalOptions,
    out: &mut Vec<u8>,
) {
    if bytes.is_empty() && opts.null_equals_empty {
        out.push(0);
        return;
    }
    if let Some(s) = text {
        let normalised = match ty {
            Some(LogicalType::Decimal) => {
                if let Some(n) = normalize_decimal(s) {
                    put_decimal(out, &n, whole_decimal);
                    return;
                }
                None
            }
            Some(LogicalType::Datetime | LogicalType::Timestamp) | None => {
                // Written in place (no allocation): date-times are common.
                out.push(4);
                let len_at = out.len();
                out.extend_from_slice(&[0; 8]);
                if normalize_datetime_into(s, opts.time_precision, opts.rounding, out).is_some() {
                    let len = (out.len() - len_at - 8) as u64;
                    out[len_at..len_at + 8].copy_from_slice(&len.to_le_bytes());
                    return;
                }
                out.truncate(len_at - 1);
                None
            }
            // A MySQL TIME travels to PostgreSQL as an interval, which
            // pg-export writes as PostgreSQL prints it in ISO 8601: a time
            // compares in that spelling, and an interval as its text (so it
            // also equals its ISO 8601 text copied into a MySQL varchar).
            Some(LogicalType::Time) => {
                normalize_time(s, opts.time_precision, opts.rounding).map(|t| time_as_iso_duration(&t))
            }
            _ => None,
        };
        if let Some(n) = normalised {
            put_str(out, n.as_bytes());
            return;
        }
    }
    put_str(out, bytes);
}

/// A normalised decimal: in a column of scale 0 (`whole`) the integer it
/// equals, so an unsigned BIGINT kept in a PostgreSQL `numeric(20,0)` is the
/// same value as in MySQL; anything else its normalised digits (as it always
/// was, so stored checksums of other decimal columns still verify).
/// A set's members in bytewise order (sets have no order of their own).
fn put_set(out: &mut Vec<u8>, tag: u8, members: &mut [&[u8]]) {
    members.sort_unstable();
    out.push(tag);
    out.extend_from_slice(&(members.len() as u64).to_le_bytes());
    for m in members.iter() {
        put_str(out, m);
    }
}

fn put_decimal(out: &mut Vec<u8>, normalised: &str, whole: bool) {
    match normalised.parse::<i128>() {
        Ok(i) if whole && !normalised.contains('.') => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        _ => put_str(out, normalised.as_bytes()),
    }
}

/// A normalised `[-]H:MM:SS[.f]` as PostgreSQL's ISO 8601 interval output
/// spells the same duration: `PT838H59M59S`, a sign on every field that is
/// not zero (`PT-838H-59M-59S`), zero fields left out, `PT0S` for zero.
fn time_as_iso_duration(t: &str) -> String {
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let mut parts = body.splitn(3, ':');
    let (h, m, s) = (parts.next().unwrap_or("0"), parts.next().unwrap_or("0"), parts.next().unwrap_or("0"));
    let sign = if neg { "-" } else { "" };
    let mut out = String::from("PT");
    let h = h.trim_start_matches('0');
    if !h.is_empty() {
        out.push_str(&format!("{sign}{h}H"));
    }
    let m = m.trim_start_matches('0');
    if !m.is_empty() {
        out.push_str(&format!("{sign}{m}M"));
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole = whole.trim_start_matches('0');
    if !whole.is_empty() || !frac.is_empty() {
        out.push_str(&format!("{sign}{}", if whole.is_empty() { "0" } else { whole }));
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out.push('S');
    }
    if out == "PT" {
        out.push_str("0S");
    }
    out
}

/// `"012.3400"` → `"12.34"`, `"-0.0"` → `"0"`; `None` when not a plain decimal.
pub fn normalize_decimal(s: &str) -> Option<String> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(s.len());
    if neg && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mysql_time_and_its_postgres_interval_compare_equal() {
        use crate::schema::{Column, LogicalType, TableSchema};
        let digest = |ty: LogicalType, v: &str| {
            let mut c = Column::new("t", ty);
            c.precision = Some(6);
            let s = TableSchema::new("x", vec![c]);
            let mut d = Digester::new(CanonicalOptions::default());
            d.add_schema(&s);
            let mut row = crate::value::RowData::default();
            row.set("t", Value::String(v.into()));
            d.add_row("x", &row);
            d.finish().into_iter().next().unwrap().1.hex()
        };
        // Each interval as PostgreSQL prints it (intervalstyle iso_8601).
        for (time, interval) in [
            ("838:59:59", "PT838H59M59S"),
            ("-838:59:59", "PT-838H-59M-59S"),
            ("-838:59:59.000000", "PT-838H-59M-59S"),
            ("838:59:58.999999", "PT838H59M58.999999S"),
            ("26:03:04.500000", "PT26H3M4.5S"),
            ("01:00:01", "PT1H1S"),
            ("00:01:00", "PT1M"),
            ("-01:00:00", "PT-1H"),
            ("00:00:00", "PT0S"),
            ("-00:00:00", "PT0S"),
            ("-00:00:00.000001", "PT-0.000001S"),
        ] {
            assert_eq!(digest(LogicalType::Time, time), digest(LogicalType::Interval, interval), "{time} {interval}");
        }
        assert_ne!(digest(LogicalType::Time, "838:59:59"), digest(LogicalType::Interval, "PT838H59M58S"));
        // An interval compares as its text: equal to its copy in a text column.
        assert_eq!(digest(LogicalType::Interval, "P1DT2H"), digest(LogicalType::String, "P1DT2H"));
    }

    use super::*;

    #[test]
    fn raw_sums_round_trip_and_add_up_like_the_records() {
        let hash = |n: u8| *blake3::hash(&[n]).as_bytes();
        let (mut whole, mut a, mut b) = (ContentDigest::default(), ContentDigest::default(), ContentDigest::default());
        for n in 0..10u8 {
            whole.add_hash(&hash(n));
            whole.count += 1;
            let part = if n % 3 == 0 { &mut a } else { &mut b };
            part.add_hash(&hash(n));
            part.count += 1;
        }
        let a2 = ContentDigest::from_sum_hex(a.count, &a.sum_hex()).unwrap();
        assert_eq!(a2, a);
        let mut total = ContentDigest::from_sum_hex(b.count, &b.sum_hex()).unwrap();
        total.merge(&a2);
        assert_eq!(total.hex(), whole.hex());
        assert!(ContentDigest::from_sum_hex(1, "zz").is_none());
        assert!(ContentDigest::from_sum_hex(1, &"g".repeat(64)).is_none());
    }

    #[test]
    fn decimals() {
        assert_eq!(normalize_decimal("012.3400").unwrap(), "12.34");
        assert_eq!(normalize_decimal("-0.000").unwrap(), "0");
        assert_eq!(normalize_decimal("5").unwrap(), "5");
        assert_eq!(normalize_decimal(".5").unwrap(), "0.5");
        assert!(normalize_decimal("1e5").is_none());
        assert!(normalize_decimal("").is_none());
    }

    #[test]
    fn decimal_columns_read_back_as_numbers_equal_their_strings() {
        let o = CanonicalOptions::default();
        let enc = |v: Value| {
            let mut out = Vec::new();
            canonical_value(&v, Some(LogicalType::Decimal.into()), &o, &mut out);
            out
        };
        assert_eq!(enc(Value::Float(0.125)), enc(Value::String("0.1250".into())));
        assert_eq!(enc(Value::Int(1)), enc(Value::String("1.000".into())));
        assert_ne!(enc(Value::Float(0.1)), enc(Value::String("0.10000001".into())));
        // In a decimal of scale 0 a value is the integer: u64 max kept as
        // numeric(20,0) digits is MySQL's BIGINT UNSIGNED value.
        let mut numeric20 = Column::new("n", LogicalType::Decimal);
        (numeric20.precision, numeric20.scale) = (Some(20), Some(0));
        let whole = |v: Value| {
            let mut out = Vec::new();
            canonical_value(&v, Some(CanonType::of(&numeric20)), &o, &mut out);
            out
        };
        let mut int = Vec::new();
        canonical_value(&Value::Int(u64::MAX as i128), Some(LogicalType::Uint64.into()), &o, &mut int);
        assert_eq!(whole(Value::String("18446744073709551615".into())), int);
        // Other decimal columns keep the encoding stored checksums were made with.
        assert_ne!(enc(Value::String("5.000".into())), whole(Value::String("5".into())));
    }

    #[test]
    fn char_padding_is_not_part_of_a_fixed_string() {
        let o = CanonicalOptions::default();
        let enc = |v: &str, col: Option<CanonType>| {
            let mut out = Vec::new();
            canonical_value(&Value::String(v.into()), col, &o, &mut out);
            out
        };
        let char20_type = CanonType { ty: LogicalType::String, pad_spaces: true, whole_decimal: false };
        let char20 = Some(char20_type);
        let varchar = Some(CanonType::from(LogicalType::String));
        assert_eq!(enc("ab", char20), enc("ab                  ", char20));
        assert_ne!(enc("ab", char20), enc(" ab", char20));
        assert_ne!(enc("ab", char20), enc("ab\t", char20));
        assert_ne!(enc("ab", varchar), enc("ab  ", varchar));
        assert_ne!(enc("ab", None), enc("ab  ", None));
        let mut fixed = Column::new("code", LogicalType::String);
        fixed.fixed = true;
        assert_eq!(CanonType::of(&fixed), char20_type);
        let mut binary = Column::new("raw", LogicalType::Bytes);
        binary.fixed = true;
        assert!(!CanonType::of(&binary).pad_spaces, "BINARY(n) pads with zero bytes that are part of the value");
    }

    proptest::proptest! {
        /// CHAR(n): any pad of spaces is not part of the value; any other
        /// difference is, and VARCHAR keeps its spaces.
        #[test]
        fn char_pad_is_the_only_thing_ignored(s in "[a-c ]{0,6}[a-c]", pad in 1usize..20, other in "[a-c ]{0,6}[a-c]") {
            let o = CanonicalOptions::default();
            let enc = |v: &str, pad_spaces: bool| {
                let mut out = Vec::new();
                canonical_value(&Value::String(v.into()), Some(CanonType { ty: LogicalType::String, pad_spaces, whole_decimal: false }), &o, &mut out);
                out
            };
            let padded = format!("{s}{}", " ".repeat(pad));
            proptest::prop_assert_eq!(enc(&s, true), enc(&padded, true));
            proptest::prop_assert_ne!(enc(&s, false), enc(&padded, false));
            proptest::prop_assert_eq!(enc(&s, true) == enc(&other, true), s == other);
        }

        /// In a decimal column of scale 0 a value is its integer, in every
        /// spelling; values with a fraction stay apart.
        #[test]
        fn whole_decimals_are_integers(i in proptest::num::i64::ANY, zeros in 0usize..5, frac in 1u32..1000) {
            let o = CanonicalOptions::default();
            let dec = |v: Value| {
                let mut out = Vec::new();
                let ty = CanonType { ty: LogicalType::Decimal, pad_spaces: false, whole_decimal: true };
                canonical_value(&v, Some(ty), &o, &mut out);
                out
            };
            let mut int = Vec::new();
            canonical_value(&Value::Int(i.into()), Some(LogicalType::Int64.into()), &o, &mut int);
            let spelled = if zeros == 0 { i.to_string() } else { format!("{i}.{}", "0".repeat(zeros)) };
            proptest::prop_assert_eq!(dec(Value::String(spelled)), int.clone());
            proptest::prop_assert_ne!(dec(Value::String(format!("{i}.{frac}"))), int);
        }
    }

    #[test]
    fn times_beyond_i64_are_not_wrapped() {
        let o = CanonicalOptions::default();
        let enc = |v: &str| {
            let mut out = Vec::new();
            canonical_value(&Value::String(v.into()), Some(LogicalType::Time.into()), &o, &mut out);
            out
        };
        // 2^60 hours apart: once wrapped modulo 2^64 seconds, these collided.
        let a = "99999999999999999999:00:00";
        let b = format!("{}:00:00", 99_999_999_999_999_999_999u128 - (1u128 << 60));
        assert_ne!(enc(a), enc(&b));
        assert_eq!(enc("838:59:59.000"), enc("838:59:59"));
    }

    #[test]
    fn expiry_rounding_saturates() {
        assert_eq!(round_to_multiple(1_499, 1000), 1_000);
        assert_eq!(round_to_multiple(1_500, 1000), 2_000);
        assert_eq!(round_to_multiple(-1_500, 1000), -1_000);
        assert_eq!(round_to_multiple(i64::MAX, 1000), i64::MAX);
    }

    #[test]
    fn key_groups() {
        let g = KeyGrouper::default();
        assert_eq!(g.group(b"apikey:42"), "apikey");
        assert_eq!(g.group(b"plain"), NO_PREFIX_GROUP);
        let g2: KeyGrouper = "2".parse().unwrap();
        assert_eq!(g2.group(b"usage:k1:daily:2025"), "usage:k1");
        let g3: KeyGrouper = "/,1".parse().unwrap();
        assert_eq!(g3.group(b"a/b"), "a");
        assert_eq!("none".parse::<KeyGrouper>().unwrap().group(b"x:y"), "*");
        assert!("x,y".parse::<KeyGrouper>().is_err());
    }

    #[test]
    fn multiset_sum_commutes_and_merges() {
        let h1 = *blake3::hash(b"a").as_bytes();
        let h2 = *blake3::hash(b"b").as_bytes();
        let mut a = ContentDigest::default();
        a.add_hash(&h1);
        a.add_hash(&h2);
        let mut b = ContentDigest::default();
        b.add_hash(&h2);
        b.add_hash(&h1);
        assert_eq!(a, b);
        let mut c = ContentDigest::default();
        c.add_hash(&h1);
        let mut d = ContentDigest::default();
        d.add_hash(&h2);
        c.merge(&d);
        assert_eq!(a.sum, c.sum);
        assert_ne!(ContentDigest::default().hex(), a.hex());
    }
}
