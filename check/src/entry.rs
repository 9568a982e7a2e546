//! Turning a stream of records into keyed entries: one per row (identified
//! by table and primary key) or per Redis key (its parts joined), each with
//! the hash of its canonical form.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::source::{Source, SourceError};
use anyhow::bail;
use decant_record::digest::{
    canonical_row, canonical_value, table_canon_types, CanonType, CanonicalOptions, Digester, GroupKey, KeyGrouper,
};
use decant_record::{Record, RedisRecord, RowData, TableSchema, Target};

use decant_transform::Transformer;

use crate::keymap::KeyMap;

/// Which columns identify a row, besides the schema's primary key.
#[derive(Debug, Clone, Default)]
pub struct KeyColumns {
    /// `--key TABLE:COL,COL`.
    pub per_table: HashMap<String, Vec<String>>,
    /// `--key COL,COL`: for every table.
    pub default: Option<Vec<String>>,
}

impl KeyColumns {
    /// Parses one `--key` value: `COL[,COL…]` or `TABLE:COL[,COL…]`.
    pub fn add(&mut self, spec: &str) -> Result<(), String> {
        let (table, cols) = match spec.split_once(':') {
            Some((t, c)) => (Some(t), c),
            None => (None, spec),
        };
        let cols: Vec<String> = cols.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
        if cols.is_empty() {
            return Err(format!("bad --key {spec:?}: expected COLUMN[,COLUMN] or TABLE:COLUMN[,COLUMN]"));
        }
        match table {
            Some(t) => {
                self.per_table.insert(t.to_owned(), cols);
            }
            None => self.default = Some(cols),
        }
        Ok(())
    }
}

/// Columns left out of every comparison (`--ignore-columns`): columns the
/// target fills itself (`id`, `created_at`, `updated_at`) that the source
/// does not have.
#[derive(Debug, Clone, Default)]
pub struct IgnoreColumns {
    /// (table, column); table `None` for `*.COLUMN` (every table).
    rules: Vec<(Option<String>, String)>,
}

impl IgnoreColumns {
    /// Parses `--ignore-columns` values: `TABLE.COLUMN` or `*.COLUMN`, each
    /// value a comma-separated list (`api_keys.id,*.updated_at`).
    pub fn parse(values: &[String]) -> Result<IgnoreColumns, String> {
        let mut rules = Vec::new();
        for v in values {
            for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                // The last dot: a PostgreSQL table may be schema-qualified.
                let Some((table, column)) = item.rsplit_once('.') else {
                    return Err(format!(
                        "--ignore-columns {item:?}: expected TABLE.COLUMN or *.COLUMN (e.g. usage_stats.id, *.updated_at)"
                    ));
                };
                if table.is_empty() || column.is_empty() {
                    return Err(format!("--ignore-columns {item:?}: expected TABLE.COLUMN or *.COLUMN"));
                }
                rules.push(((table != "*").then(|| table.to_owned()), column.to_owned()));
            }
        }
        Ok(IgnoreColumns { rules })
    }

    /// No column is ignored.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `table.column` is ignored.
    pub fn ignores(&self, table: &str, column: &str) -> bool {
        self.rules.iter().any(|(t, c)| c == column && t.as_deref().is_none_or(|t| t == table))
    }

    /// Removes the ignored columns of a row; true when one was there.
    pub fn strip_row(&self, table: &str, data: &mut RowData) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let before = data.0.len();
        data.0.retain(|(name, _)| !self.ignores(table, name));
        data.0.len() != before
    }

    /// A schema line without the ignored columns. A primary key that
    /// touches one gives way to the first unique key that does not (the
    /// other side's rows cannot carry a column the target fills itself);
    /// without one the rows are keyed by all their remaining columns.
    pub fn strip_schema(&self, mut schema: TableSchema) -> TableSchema {
        if self.rules.is_empty() {
            return schema;
        }
        let t = schema.table.clone();
        schema.columns.retain(|c| !self.ignores(&t, &c.name));
        if schema.primary_key.iter().any(|c| self.ignores(&t, c)) {
            schema.primary_key = schema
                .indexes
                .iter()
                .find(|i| i.unique && !i.columns.is_empty() && !i.columns.iter().any(|c| self.ignores(&t, c)))
                .map(|i| i.columns.clone())
                .unwrap_or_default();
        }
        schema.indexes.retain(|i| !i.columns.iter().any(|c| self.ignores(&t, c)));
        schema
    }
}

/// How records are keyed and compared.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// The canonical form.
    pub canon: CanonicalOptions,
    /// Floats within this relative tolerance compare equal (field by field).
    pub float_tolerance: Option<f64>,
    /// Key columns.
    pub keys: KeyColumns,
    /// ID transformations applied to the left side.
    pub key_map: Vec<KeyMap>,
    /// Only these groups (verify re-checks the groups whose digests differ).
    pub only_groups: Option<HashSet<GroupKey>>,
    /// `--ignore-columns`.
    pub ignore: IgnoreColumns,
    /// `--tables`: only these tables, on both sides (files and a spec's
    /// output too); Redis key groups are not affected.
    pub tables: Option<HashSet<String>>,
}

impl CompareOptions {
    /// The options the `--key`, `--key-map`, `--float-tolerance` and
    /// normalisation flags of decant-diff and decant-verify ask for.
    pub fn from_flags(
        key_specs: &[String],
        canon: CanonicalOptions,
        float_tolerance: Option<f64>,
        key_map: &[KeyMap],
    ) -> anyhow::Result<CompareOptions> {
        let mut keys = KeyColumns::default();
        for k in key_specs {
            keys.add(k).map_err(anyhow::Error::msg)?;
        }
        Ok(CompareOptions {
            canon,
            float_tolerance,
            keys,
            key_map: key_map.to_vec(),
            only_groups: None,
            ignore: IgnoreColumns::default(),
            tables: None,
        })
    }

    /// The canonical form without the normalisations that make different
    /// values equal (`--null-equals-empty`, `--time-precision`), when one is
    /// set: records equal only under them are counted apart, so a validation
    /// job says how many it forgave.
    pub fn strict_canon(&self) -> Option<CanonicalOptions> {
        (self.canon.null_equals_empty || self.canon.time_precision.is_some()).then(|| CanonicalOptions {
            null_equals_empty: false,
            time_precision: None,
            ..self.canon.clone()
        })
    }

    /// Adds `--ignore-columns` and `--tables` (empty: every table).
    pub fn with_filters(mut self, ignore: &[String], tables: &[String]) -> anyhow::Result<CompareOptions> {
        self.ignore = IgnoreColumns::parse(ignore).map_err(anyhow::Error::msg)?;
        self.tables = (!tables.is_empty()).then(|| tables.iter().map(|t| t.trim().to_owned()).collect());
        Ok(self)
    }
}

/// One row or one whole Redis key.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its table or key group.
    pub group: GroupKey,
    /// The identity: table and canonical key values, or the Redis key.
    pub ident: Vec<u8>,
    /// blake3 of the canonical form.
    pub content: [u8; 32],
    /// blake3 of the canonical form without `--null-equals-empty` and
    /// `--time-precision` ([`CompareOptions::strict_canon`]) for rows; the
    /// same as `content` when neither is set, and for Redis keys.
    pub strict: [u8; 32],
    /// The record's lines (one, or a Redis key's parts), each ending in `\n`.
    pub lines: Vec<u8>,
}

/// What one side has declared: schemas and column types.
#[derive(Debug, Default)]
pub struct SideInfo {
    /// Schema lines by table, in order of appearance.
    pub schemas: Vec<TableSchema>,
    /// Column types by table.
    pub types: HashMap<String, HashMap<String, CanonType>>,
    /// Tables keyed by all their columns (no primary key known), warned once.
    pub whole_row_tables: HashSet<String>,
}

impl SideInfo {
    /// The schema of a table, if declared.
    pub fn schema(&self, table: &str) -> Option<&TableSchema> {
        self.schemas.iter().rev().find(|s| s.table == table)
    }

    fn add_schema(&mut self, s: &TableSchema) {
        self.types.insert(s.table.clone(), table_canon_types(s));
        self.schemas.push(s.clone());
    }
}

/// Opens a source when it is first needed.
type Opener = Box<dyn FnOnce() -> anyhow::Result<Source>>;

/// A source, opened now or on first read.
enum Slot {
    Open(Box<Source>),
    Pending(Opener),
    /// The opener failed (its error was returned).
    Failed,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Slot::Open(s) => s.fmt(f),
            Slot::Pending(_) => f.write_str("Pending"),
            Slot::Failed => f.write_str("Failed"),
        }
    }
}

/// Reads entries from a source.
#[derive(Debug)]
pub struct EntryReader {
    source: Slot,
    name: String,
    /// What this side declared so far.
    pub info: SideInfo,
    opts: CompareOptions,
    /// [`CompareOptions::strict_canon`], computed once.
    strict_canon: Option<CanonicalOptions>,
    is_left: bool,
    scratch: Vec<u8>,
    /// A Redis key whose parts are still coming.
    open_key: Option<(RedisRecord, Entry, Digester)>,
    /// An entry completed while reading ahead.
    ready: Option<Entry>,
    /// Records read (rows and Redis lines).
    pub records: u64,
    transform: Option<Arc<Transformer>>,
    queue: VecDeque<Record>,
    declared_schemas: bool,
    part_index: u64,
    caps: Vec<std::ops::Range<usize>>,
}

impl EntryReader {
    /// Wraps a source; `is_left` applies the key map.
    pub fn new(source: Source, opts: &CompareOptions, is_left: bool) -> EntryReader {
        let name = source.name().to_owned();
        Self::with_slot(Slot::Open(Box::new(source)), name, opts, is_left)
    }

    /// A reader whose source is opened only when its first entry is asked
    /// for: a live side then does not start its exporter (and hold a
    /// snapshot open) while the other side is being read, nor at all when
    /// it is never read.
    pub fn lazy(
        name: String,
        open: impl FnOnce() -> anyhow::Result<Source> + 'static,
        opts: &CompareOptions,
        is_left: bool,
    ) -> EntryReader {
        Self::with_slot(Slot::Pending(Box::new(open)), name, opts, is_left)
    }

    fn with_slot(source: Slot, name: String, opts: &CompareOptions, is_left: bool) -> EntryReader {
        EntryReader {
            source,
            name,
            info: SideInfo::default(),
            opts: opts.clone(),
            strict_canon: opts.strict_canon(),
            is_left,
            scratch: Vec::with_capacity(1024),
            open_key: None,
            ready: None,
            records: 0,
            transform: None,
            queue: VecDeque::new(),
            declared_schemas: false,
            part_index: 0,
            caps: Vec::new(),
        }
    }

    /// Applies a transform spec to every record read (`--spec`).
    pub fn with_transform(mut self, t: Arc<Transformer>) -> EntryReader {
        self.transform = Some(t);
        self
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Ends the source (waits for an exporter); a source never opened has
    /// no segments.
    pub fn finish(self) -> anyhow::Result<Vec<decant_record::SegmentInfo>> {
        match self.source {
            Slot::Open(s) => (*s).finish(),
            Slot::Pending(_) | Slot::Failed => Ok(Vec::new()),
        }
    }

    /// The source, opened on first use.
    fn source(&mut self) -> anyhow::Result<&mut Source> {
        if matches!(self.source, Slot::Pending(_)) {
            if let Slot::Pending(open) = std::mem::replace(&mut self.source, Slot::Failed) {
                self.source = Slot::Open(Box::new(open()?));
            }
        }
        match &mut self.source {
            Slot::Open(s) => Ok(s),
            _ => bail!("{}: the input could not be opened", self.name),
        }
    }

    /// The raw bytes of the line last read.
    fn raw_line(&self) -> &[u8] {
        match &self.source {
            Slot::Open(s) => s.raw_line(),
            _ => &[],
        }
    }

    /// The number of the line last read.
    fn line_number(&self) -> u64 {
        match &self.source {
            Slot::Open(s) => s.line_number(),
            _ => 0,
        }
    }

    /// The next entry, `None` at the end.
    pub fn next_entry(&mut self) -> anyhow::Result<Option<Entry>> {
        loop {
            if let Some(e) = self.ready.take() {
                return Ok(Some(e));
            }
            let Some((record, synthetic)) = self.next_input()? else {
                return Ok(self.close_key());
            };
            match record {
                Record::Schema(s) => {
                    let done = self.close_key();
                    if self.table_wanted(&s.table) {
                        self.info.add_schema(&self.opts.ignore.strip_schema(s));
                    }
                    if done.is_some() {
                        return Ok(done);
                    }
                }
                Record::Row(mut row) => {
                    self.records += 1;
                    let done = self.close_key();
                    let mut mapped = self.is_left && self.apply_row_map(&mut row.table, &mut row.data);
                    mapped |= self.opts.ignore.strip_row(&row.table, &mut row.data);
                    let group = GroupKey::Table(row.table.clone());
                    if self.wanted(&group) {
                        let mut lines = Vec::new();
                        if mapped || synthetic {
                            Record::Row(row.clone()).encode(&mut lines);
                        } else {
                            lines.extend_from_slice(self.raw_line());
                        }
                        lines.push(b'\n');
                        let ident = self.row_ident(&row.table, &row.data);
                        let content = self.row_content(&row.table, &row.data);
                        let strict = self.row_strict_content(&row.table, &row.data).unwrap_or(content);
                        let e = Entry { group, ident, content, strict, lines };
                        match done {
                            Some(d) => {
                                self.ready = Some(e);
                                return Ok(Some(d));
                            }
                            None => return Ok(Some(e)),
                        }
                    }
                    if done.is_some() {
                        return Ok(done);
                    }
                }
                Record::Redis(mut r) => {
                    self.records += 1;
                    let mapped = self.is_left && self.apply_key_map(&mut r.key);
                    let continues = !r.starts_key()
                        && self.open_key.as_ref().is_some_and(|(k, _, _)| k.key == r.key && k.db == r.db);
                    let done = if continues { None } else { self.close_key() };
                    let group = redis_group(&self.opts.canon, &r);
                    if self.wanted(&group) {
                        let mut line = Vec::new();
                        if mapped || synthetic {
                            Record::Redis(r.clone()).encode(&mut line);
                        } else {
                            line.extend_from_slice(self.raw_line());
                        }
                        line.push(b'\n');
                        if continues {
                            let (_, entry, digester) = self.open_key.as_mut().expect("checked above");
                            digester.add_redis(&r);
                            entry.lines.extend_from_slice(&line);
                        } else {
                            let mut digester = Digester::new(CanonicalOptions {
                                key_groups: KeyGrouper { separator: b':', depth: 0 },
                                group_by_db: false,
                                ..self.opts.canon.clone()
                            });
                            digester.add_redis(&r);
                            let ident = redis_ident(&self.opts.canon, &r);
                            let entry = Entry { group, ident, content: [0; 32], strict: [0; 32], lines: line };
                            let head = RedisRecord { value: decant_record::RedisValue::String(Vec::new()), ..r.clone() };
                            self.open_key = Some((head, entry, digester));
                        }
                        let ends = r.ends_key();
                        if ends {
                            let closed = self.close_key();
                            if done.is_some() {
                                self.ready = closed;
                                return Ok(done);
                            }
                            return Ok(closed);
                        }
                    }
                    if done.is_some() {
                        return Ok(done);
                    }
                }
                Record::Header(_) | Record::End(_) => {}
                Record::RedisFunction(f) => {
                    self.records += 1;
                    let done = self.close_key();
                    let group = GroupKey::Functions;
                    if self.wanted(&group) {
                        let mut lines = Vec::new();
                        if synthetic {
                            Record::RedisFunction(f.clone()).encode(&mut lines);
                        } else {
                            lines.extend_from_slice(self.raw_line());
                        }
                        lines.push(b'\n');
                        let ident = [b"F".as_slice(), f.library.as_bytes()].concat();
                        let mut digester = Digester::new(self.opts.canon.clone());
                        digester.add_function(&f);
                        let digest = digester.finish().into_values().next().unwrap_or_default();
                        let content = *blake3::hash(digest.hex().as_bytes()).as_bytes();
                        let e = Entry { group, ident, content, strict: content, lines };
                        match done {
                            Some(d) => {
                                self.ready = Some(e);
                                return Ok(Some(d));
                            }
                            None => return Ok(Some(e)),
                        }
                    }
                    if done.is_some() {
                        return Ok(done);
                    }
                }
                Record::Diff(_) | Record::Delete(_) => bail!(
                    "{}: line {}: a {} line: decant-diff compares data streams (rows and Redis keys), not diff or patch output",
                    self.name,
                    self.line_number(),
                    record.kind()
                ),
            }
        }
    }

    /// The next input record, through the transform when there is one;
    /// true when it was produced by the transform (no raw line).
    fn next_input(&mut self) -> anyhow::Result<Option<(Record, bool)>> {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Ok(Some((r, true)));
            }
            let record = match self.source()?.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(None),
                Err(SourceError::Stream { name, source }) => bail!("{name}: {source}"),
            };
            let Some(t) = self.transform.clone() else {
                return Ok(Some((record, false)));
            };
            if !self.declared_schemas {
                self.declared_schemas = true;
                self.queue.extend(t.schemas().iter().cloned().map(Record::Schema));
            }
            let first_index = match &record {
                Record::Redis(r) => {
                    if r.starts_key() {
                        self.part_index = 0;
                    }
                    let i = self.part_index;
                    self.part_index += r.value.len() as u64;
                    i
                }
                _ => 0,
            };
            if matches!(record, Record::Header(_) | Record::End(_)) {
                continue;
            }
            let mut out = Vec::new();
            let rule = t
                .apply_into(&record, first_index, &mut self.caps, &mut out)
                .map_err(|e| anyhow::anyhow!("{}: line {}: --spec: {e}", self.name, self.line_number()))?;
            if rule.is_none() {
                // Unmatched records pass through, so they show as differences
                // rather than vanish.
                return Ok(Some((record, false)));
            }
            self.queue.extend(out);
        }
    }

    fn wanted(&self, group: &GroupKey) -> bool {
        let table_ok = match group {
            GroupKey::Table(t) => self.table_wanted(t),
            GroupKey::Keys(_) | GroupKey::Functions => true,
        };
        table_ok && self.opts.only_groups.as_ref().is_none_or(|g| g.contains(group))
    }

    fn table_wanted(&self, table: &str) -> bool {
        self.opts.tables.as_ref().is_none_or(|t| t.contains(table))
    }

    fn close_key(&mut self) -> Option<Entry> {
        let (_, mut entry, digester) = self.open_key.take()?;
        let digest = digester.finish().into_values().next().unwrap_or_default();
        entry.content = *blake3::hash(digest.hex().as_bytes()).as_bytes();
        entry.strict = entry.content;
        Some(entry)
    }

    fn apply_key_map(&self, key: &mut Vec<u8>) -> bool {
        for m in &self.opts.key_map {
            if let Some(new) = m.apply_key(key) {
                *key = new;
                return true;
            }
        }
        false
    }

    fn apply_row_map(&self, table: &mut str, data: &mut RowData) -> bool {
        let mut changed = false;
        for m in &self.opts.key_map {
            changed |= m.apply_row(table, data);
        }
        changed
    }

    /// The key columns of a table: `--key`, else the schema's primary key,
    /// else its first unique key.
    pub fn key_columns(&self, table: &str) -> Option<Vec<String>> {
        key_columns(&self.opts.keys, &self.info, table)
    }

    fn row_ident(&mut self, table: &str, data: &RowData) -> Vec<u8> {
        let mut out = Vec::with_capacity(table.len() + 32);
        out.push(b'T');
        out.extend_from_slice(&(table.len() as u64).to_le_bytes());
        out.extend_from_slice(table.as_bytes());
        let types = self.info.types.get(table);
        match self.key_columns(table) {
            Some(cols) => {
                for c in cols {
                    let ty = types.and_then(|t| t.get(&c).copied());
                    let v = data.get(&c).unwrap_or(&decant_record::Value::Null);
                    canonical_value(v, ty, &self.opts.canon, &mut out);
                }
            }
            None => {
                if self.info.whole_row_tables.insert(table.to_owned()) {
                    crate::warn_once(format!(
                        "{}: table {table:?} has no primary key (no schema line, no --key): rows are keyed by all their columns, so a changed row shows as removed + added",
                        self.name
                    ));
                }
                canonical_row(data, types, &self.opts.canon, &mut out);
            }
        }
        out
    }

    fn row_content(&mut self, table: &str, data: &RowData) -> [u8; 32] {
        self.scratch.clear();
        canonical_row(data, self.info.types.get(table), &self.opts.canon, &mut self.scratch);
        *blake3::hash(&self.scratch).as_bytes()
    }

    /// The row's hash without the forgiving normalisations, when one is set.
    fn row_strict_content(&mut self, table: &str, data: &RowData) -> Option<[u8; 32]> {
        let strict = self.strict_canon.as_ref()?;
        self.scratch.clear();
        canonical_row(data, self.info.types.get(table), strict, &mut self.scratch);
        Some(*blake3::hash(&self.scratch).as_bytes())
    }
}

/// The key columns of a table: `--key`, else the schema's primary key, else
/// its first unique key.
pub fn key_columns(keys: &KeyColumns, info: &SideInfo, table: &str) -> Option<Vec<String>> {
    if let Some(c) = keys.per_table.get(table) {
        return Some(c.clone());
    }
    if let Some(c) = &keys.default {
        return Some(c.clone());
    }
    // No primary key (or it gave way to --ignore-columns): the first unique
    // key identifies a row as well, on either side.
    let schema = info.schema(table)?;
    if !schema.primary_key.is_empty() {
        return Some(schema.primary_key.clone());
    }
    schema.indexes.iter().find(|i| i.unique && !i.columns.is_empty()).map(|i| i.columns.clone())
}

/// The group of a Redis record.
pub fn redis_group(opts: &CanonicalOptions, r: &RedisRecord) -> GroupKey {
    let g = opts.key_groups.group(&r.key);
    if opts.group_by_db {
        GroupKey::Keys(format!("db{}/{g}", r.db))
    } else {
        GroupKey::Keys(g)
    }
}

fn redis_ident(opts: &CanonicalOptions, r: &RedisRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(r.key.len() + 8);
    out.push(b'K');
    if opts.group_by_db {
        out.extend_from_slice(&r.db.to_le_bytes());
    }
    out.extend_from_slice(&r.key);
    out
}

/// The target (row id or key) of an entry's first record.
pub fn target_of(record: &Record, id_columns: Option<&[String]>) -> Option<Target> {
    match record {
        Record::Row(r) => {
            let id = match id_columns {
                Some(cols) => RowData(
                    cols.iter()
                        .map(|c| (c.clone(), r.data.get(c).cloned().unwrap_or(decant_record::Value::Null)))
                        .collect(),
                ),
                None => r.data.clone(),
            };
            Some(Target::Row { table: r.table.clone(), id })
        }
        Record::Redis(r) => Some(Target::Key { db: r.db, key: r.key.clone() }),
        Record::RedisFunction(f) => Some(Target::Function { library: f.library.clone() }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::*;

    fn lazy_reader(opened: &Arc<AtomicBool>) -> EntryReader {
        let flag = opened.clone();
        let open = move || {
            flag.store(true, Ordering::SeqCst);
            let rows = concat!(
                r#"{"kind":"schema","table":"t","columns":[{"name":"id","type":"int64"}],"primary_key":["id"]}"#,
                "\n",
                r#"{"kind":"row","table":"t","data":{"id":1}}"#,
                "\n"
            );
            let rows = rows.as_bytes().to_vec();
            let input: decant_record::io::Input = Box::new(std::io::Cursor::new(rows));
            Ok(Source::from_reader("b", decant_record::RecordReader::new(input)))
        };
        EntryReader::lazy("b".to_owned(), open, &CompareOptions::default(), false)
    }

    #[test]
    fn a_lazy_source_opens_on_its_first_read_only() {
        let opened = Arc::new(AtomicBool::new(false));
        let mut r = lazy_reader(&opened);
        assert_eq!(r.name(), "b");
        assert!(!opened.load(Ordering::SeqCst));
        assert!(r.next_entry().unwrap().is_some());
        assert!(opened.load(Ordering::SeqCst));
        assert!(r.next_entry().unwrap().is_none());
        r.finish().unwrap();
        // Never read, never opened: finishing it costs nothing.
        let untouched = Arc::new(AtomicBool::new(false));
        assert!(lazy_reader(&untouched).finish().unwrap().is_empty());
        assert!(!untouched.load(Ordering::SeqCst));
    }

    #[test]
    fn ignored_columns_leave_rows_and_schemas_and_the_key_gives_way() {
        let ig = IgnoreColumns::parse(&["t.id".into(), "*.updated_at, other.x".into()]).unwrap();
        assert!(ig.ignores("t", "id") && !ig.ignores("u", "id"));
        assert!(ig.ignores("u", "updated_at") && ig.ignores("other", "x"));
        assert!(IgnoreColumns::parse(&["id".into()]).unwrap_err().contains("TABLE.COLUMN"));
        assert!(IgnoreColumns::parse(&["t.".into()]).is_err());
        let schema: TableSchema = serde_json::from_str(
            r#"{"table":"t","columns":[{"name":"id","type":"int64"},{"name":"k","type":"string"},{"name":"updated_at","type":"datetime"}],"primary_key":["id"],"indexes":[{"name":"by_id_k","columns":["id","k"],"unique":true},{"name":"uk","columns":["k"],"unique":true}]}"#,
        )
        .unwrap();
        let s = ig.strip_schema(schema);
        assert_eq!(s.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["k"]);
        assert_eq!(s.primary_key, ["k"]);
        assert_eq!(s.indexes.len(), 1);
        let mut row = RowData(vec![
            ("id".into(), decant_record::Value::Int(1)),
            ("k".into(), decant_record::Value::Null),
            ("updated_at".into(), decant_record::Value::Null),
        ]);
        assert!(ig.strip_row("t", &mut row));
        assert_eq!(row.0.len(), 1);
        assert!(!ig.strip_row("t", &mut row));
    }

    #[test]
    fn a_failing_opener_is_an_error_not_a_panic() {
        let mut r =
            EntryReader::lazy("b".to_owned(), || anyhow::bail!("cannot open b"), &CompareOptions::default(), false);
        assert!(r.next_entry().unwrap_err().to_string().contains("cannot open b"));
        assert!(r.next_entry().is_err());
    }
}
