//! Compiled rules: what one rule does to one record, as a pure function.

use std::fmt;
use std::ops::Range;

use decant_record::view::{member_text_value, object_members_of_text, RedisValueView, RedisView, ViewBytes};
use decant_record::{LogicalType, Record, RedisRecord, RedisType, RedisValue, Row, RowData, TableSchema, Value};

use crate::cast::{self, Cast, CastOptions, Input, JsonStyle, TimeInput, TimePattern};
use crate::pattern::{Pattern, Template, TemplatePart};
use crate::rounding::Rounding;
use crate::spec::{toml_to_value, ColumnSpec, RuleSpec, SpecError, ValueSpec};
use crate::text_template;

mod compile;
mod eval;
mod keys;
mod rows;
mod sinks;

use eval::{parse_json_value, Doc};
pub(crate) use keys::parse_entry_id;
use sinks::{json_key, row_prefix, RecordRows};
pub(crate) use sinks::{ByteRows, RowSink};

/// A record that a matching rule could not transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformError {
    /// The rule's name.
    pub rule: String,
    /// The record: `key "apikey:1"` or `table "t"`.
    pub record: String,
    /// The output column or field at fault, when there is one.
    pub column: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "rule {:?}, {}", self.rule, self.record)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for TransformError {}

/// Where a column's value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Src {
    Capture(usize),
    /// A capture of a row rule's `where_match` pattern (slot in
    /// `Rule::row_captures`): `pk = "USER#{id}"` gives `{id}`.
    RowCapture(usize),
    /// A hash field, stream entry field or input column (slot in `Rule::fields`).
    Field(usize),
    Key,
    Db,
    Type,
    ExpireAtMs,
    /// A string key's value, or the current element.
    Value,
    Index,
    Score,
    /// The current hash field's name (hash explode).
    FieldName,
    /// The current stream entry's id.
    EntryId,
    Table,
    Const(Value),
    /// The whole hash, as one JSON object.
    Hash,
    /// Text built from sources (`template`).
    Template(Vec<TemplateSrc>),
    /// The first present, non-empty source (`coalesce`).
    Coalesce(Vec<Src>),
}

/// What a `where` filter wants of a source.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    /// This text.
    Text(Vec<u8>),
    /// NULL or missing (`where_null`).
    Null,
    /// Present and not NULL (`where_not_null`).
    NotNull,
    /// Text this key pattern matches (`where_match`).
    Matches(Box<Pattern>),
}

/// One piece of a compiled column template.
#[derive(Debug, Clone, PartialEq)]
enum TemplateSrc {
    Literal(String),
    /// A source, and the options of the string cast that formats it.
    Source(Src, Option<CastOptions>),
    /// A source written with at least this many digits (`{hour|02}`).
    Padded(Src, usize),
}

impl Src {
    fn describe(&self, rule: &Rule) -> String {
        match self {
            Src::Capture(i) => {
                let name = match &rule.matcher {
                    Matcher::Key { pattern, .. } => pattern.names()[*i].clone(),
                    Matcher::Table(_) => String::new(),
                };
                format!("capture {{{name}}}")
            }
            Src::RowCapture(i) => format!("capture {{{}}}", rule.row_captures[*i]),
            Src::Field(i) => match rule.matcher {
                Matcher::Table(_) => format!("column {:?}", String::from_utf8_lossy(&rule.fields[*i])),
                Matcher::Key { .. } => format!("field {:?}", String::from_utf8_lossy(&rule.fields[*i])),
            },
            Src::Key => "$key".into(),
            Src::Db => "$db".into(),
            Src::Type => "$type".into(),
            Src::ExpireAtMs => "$expire_at_ms".into(),
            Src::Value => "$value".into(),
            Src::Index => "$index".into(),
            Src::Score => "$score".into(),
            Src::FieldName => "$field".into(),
            Src::EntryId => "$id".into(),
            Src::Table => "$table".into(),
            Src::Const(_) => "const".into(),
            Src::Hash => "$hash".into(),
            Src::Template(_) => "template".into(),
            Src::Coalesce(srcs) => {
                format!("coalesce({})", srcs.iter().map(|s| s.describe(rule)).collect::<Vec<_>>().join(", "))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Empty {
    Null,
    Keep,
    Default,
    Error,
}

/// What a `[[schema]]` declaration says about an output column.
#[derive(Debug, Clone, Copy)]
struct Declared {
    ty: LogicalType,
    /// NOT NULL, with no default and not auto-increment.
    not_null: bool,
    precision: Option<u32>,
    scale: Option<u32>,
}

/// One compiled output column.
#[derive(Debug, Clone)]
struct Col {
    name: String,
    /// `"name":` as the output row writes it.
    name_json: Vec<u8>,
    src: Src,
    /// Index into `Rule::json_sources` and the path within it.
    path: Option<(usize, Vec<String>)>,
    cast: Cast,
    opts: CastOptions,
    default: Option<Value>,
    required: bool,
    empty: Empty,
    /// Declared NOT NULL (and no default / auto-increment).
    not_null: bool,
    /// On output keys: write NULL as "" instead of omitting it.
    null_as_empty: bool,
    /// Member order to give JSON objects.
    json_order: Vec<String>,
}

#[derive(Debug, Clone)]
enum Matcher {
    Key { pattern: Pattern, ty: Option<RedisType>, db: Option<u32> },
    Table(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    Error,
    Ignore,
    Keep,
    Into,
}

// One per rule, never per record: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Out {
    Drop,
    /// Rows into a table: selected columns (`cols`) …
    Rows {
        table: String,
        cols: Vec<Col>,
        extra_into: Option<String>,
        /// `{"kind":"row","table":"…","data":{`: each row's first bytes.
        prefix: Vec<u8>,
    },
    /// … or all input columns, reshaped.
    Reshape {
        table: String,
        rename: Vec<(String, String)>,
        drop: Vec<String>,
        casts: Vec<(String, Cast)>,
    },
    /// Redis keys from rows.
    Keys {
        template: Template,
        /// Field slots of the template's columns.
        template_slots: Vec<Option<usize>>,
        ty: RedisType,
        db: u32,
        cols: Vec<Col>,
        /// One-field hashes: the field name's column.
        field: Option<Col>,
        /// A JSON object column whose members are hash fields.
        fields_from: Option<Col>,
        value: Option<Col>,
        score: Option<Col>,
        /// Streams: the entry id's column.
        entry_id: Option<Col>,
        ttl: Option<usize>,
        fold: Option<Fold>,
    },
}

/// How a rule folds consecutive rows into one key.
#[derive(Debug, Clone)]
pub(crate) struct Fold {
    /// The column whose values must rise within a key, and its field slot.
    pub(crate) order_by: Option<(String, usize)>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    name: String,
    matcher: Matcher,
    filter: Vec<(Src, Want)>,
    explode: bool,
    /// Distinct hash fields / input columns the rule reads.
    fields: Vec<Vec<u8>>,
    /// Sources parsed as JSON (for `path` columns).
    json_sources: Vec<Src>,
    /// Per JSON source, whether a column may copy its text as it is
    /// ([`Col::copies`]): its `path` columns then read the members the
    /// verbatim test finds, and the column the test's answer.
    json_copied: Vec<bool>,
    extra: Extra,
    /// Fields / columns deliberately left out.
    ignored: Vec<Vec<u8>>,
    json_style: JsonStyle,
    /// A column reads `$hash`: every field is mapped (into it).
    reads_hash: bool,
    /// Row rules: the names of the captures of the `where_match` patterns,
    /// usable as `{name}` sources (an item's `pk = "USER#{id}"` gives back `id`).
    row_captures: Vec<String>,
    /// For each `where_match` filter (by its position in `filter`), the
    /// `row_captures` slot of each of its pattern's captures.
    row_capture_slots: Vec<(usize, Vec<usize>)>,
    out: Out,
}

/// What the rule does, for `--check` and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// Drops what it matches.
    Drop,
    /// Writes rows.
    Rows,
    /// Writes Redis keys.
    Keys,
}

/// Per-record state while a row is built.
struct Ctx<'a> {
    key: &'a [u8],
    caps: &'a [Range<usize>],
    db: u32,
    ty: Option<RedisType>,
    expire: Option<i64>,
    table: Option<&'a str>,
    fields: Vec<Option<Input<'a>>>,
    value: Option<Input<'a>>,
    index: Option<u64>,
    score: Option<f64>,
    field_name: Option<&'a [u8]>,
    entry_id: Option<&'a str>,
    json: Vec<Option<Doc<'a>>>,
    whole: Option<Value>,
    /// The text of each row capture (`Rule::row_captures`).
    row_caps: Vec<Vec<u8>>,
    /// The last source bytes a `path` column read ([`Ctx::text_of`]):
    /// where they start, their length, the text when they are UTF-8, and
    /// whether that text can be copied as it is, when it was tested.
    text_memo: Option<(*const u8, usize, Option<&'a str>, Option<bool>)>,
}

impl Col {
    /// Whether this column may copy `src`'s text as it is (a `cast =
    /// "json"` column of the whole source: see `Rule::verbatim_json`).
    fn copies(&self, src: &Src) -> bool {
        self.cast == Cast::Json && self.path.is_none() && self.json_order.is_empty() && self.src == *src
    }
}

impl<'a> Ctx<'a> {
    fn new(n_fields: usize, n_json: usize) -> Ctx<'a> {
        Ctx {
            key: &[],
            caps: &[],
            db: 0,
            ty: None,
            expire: None,
            table: None,
            fields: vec![None; n_fields],
            value: None,
            index: None,
            score: None,
            field_name: None,
            entry_id: None,
            json: (0..n_json).map(|_| None).collect(),
            whole: None,
            row_caps: Vec::new(),
            text_memo: None,
        }
    }

    /// `b` as text when it is UTF-8. A usage record's document (several
    /// hundred bytes) is read by `path` columns and copied by a JSON column:
    /// the check the path columns made is remembered (`text_memo`, set by
    /// `eval`) and not made again. The memo is keyed by where the bytes are
    /// and their length: while they are borrowed for `'a`, no other bytes
    /// can be there.
    fn text_of(&self, b: &'a [u8]) -> Option<&'a str> {
        match self.memo_of(b) {
            Some((text, _)) => text,
            None => std::str::from_utf8(b).ok(),
        }
    }

    /// What `text_memo` holds for `b`, if it is about `b`.
    fn memo_of(&self, b: &'a [u8]) -> Option<(Option<&'a str>, Option<bool>)> {
        match self.text_memo {
            Some((at, len, text, verbatim)) if std::ptr::eq(at, b.as_ptr()) && len == b.len() => Some((text, verbatim)),
            _ => None,
        }
    }
}

impl Rule {
    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the rule writes.
    pub fn kind(&self) -> RuleKind {
        match self.out {
            Out::Drop => RuleKind::Drop,
            Out::Rows { .. } | Out::Reshape { .. } => RuleKind::Rows,
            Out::Keys { .. } => RuleKind::Keys,
        }
    }

    /// The output table, for row rules.
    pub fn target_table(&self) -> Option<&str> {
        match &self.out {
            Out::Rows { table, .. } | Out::Reshape { table, .. } => Some(table),
            _ => None,
        }
    }

    /// What the rule matches, as written: `apikey:{id} (hash)` or `table t`.
    pub fn match_text(&self) -> String {
        match &self.matcher {
            Matcher::Key { pattern, ty, db } => {
                let mut s = pattern.as_str().to_owned();
                if let Some(t) = ty {
                    s.push_str(&format!(" ({t})"));
                }
                if let Some(d) = db {
                    s.push_str(&format!(" db {d}"));
                }
                s
            }
            Matcher::Table(t) => format!("table {t}"),
        }
    }

    /// What the rule produces, as a short text: `rows of api_keys`.
    pub fn output_text(&self) -> String {
        match &self.out {
            Out::Drop => "dropped".into(),
            Out::Rows { table, .. } | Out::Reshape { table, .. } => {
                format!("rows of {table}{}", if self.explode { " (one per element)" } else { "" })
            }
            Out::Keys { template, ty, .. } => format!("{ty} keys {}", template.as_str()),
        }
    }

    /// The literal prefix every matched key starts with (empty for row rules).
    pub(crate) fn key_prefix(&self) -> Option<&[u8]> {
        match &self.matcher {
            Matcher::Key { pattern, .. } => Some(pattern.prefix()),
            Matcher::Table(_) => None,
        }
    }

    /// The table this rule takes rows from.
    pub fn match_table(&self) -> Option<&str> {
        match &self.matcher {
            Matcher::Table(t) => Some(t),
            Matcher::Key { .. } => None,
        }
    }

    /// True when every hash field / input column counts as mapped (`$hash`,
    /// `extra_fields = "keep"`, `extra_into`).
    pub fn maps_every_field(&self) -> bool {
        self.reads_hash || matches!(self.extra, Extra::Keep | Extra::Into)
    }

    /// True when unmapped fields are dropped without a word (`extra_fields = "ignore"`).
    pub fn drops_unmapped(&self) -> bool {
        self.extra == Extra::Ignore
    }

    /// True when a column reads this hash field / input column.
    pub fn reads_field(&self, name: &[u8]) -> bool {
        self.fields.iter().any(|f| f == name)
    }

    /// True when the field is listed in `ignore_fields`.
    pub fn ignores_field(&self, name: &[u8]) -> bool {
        self.ignored.iter().any(|f| f == name)
    }

    /// The hash fields / input columns the rule's columns read.
    pub fn field_names(&self) -> &[Vec<u8>] {
        &self.fields
    }

    /// True when the rule has `where` filters.
    pub(crate) fn has_filter(&self) -> bool {
        !self.filter.is_empty()
    }

    /// True for a rule that writes rows from a column list.
    pub(crate) fn writes_columns(&self) -> bool {
        matches!(self.out, Out::Rows { .. })
    }

    /// True when a key rule (without filters) takes a key of this db, type
    /// and name; fills `caps` with the key's captures.
    pub(crate) fn matches_key(&self, db: u32, ty: RedisType, key: &[u8], caps: &mut Vec<Range<usize>>) -> bool {
        match &self.matcher {
            Matcher::Key { pattern, ty: want, db: want_db } => {
                want.is_none_or(|t| t == ty) && want_db.is_none_or(|d| d == db) && pattern.matches(key, caps)
            }
            Matcher::Table(_) => false,
        }
    }

    /// Writes the rows of a matched key (a column-list row rule) into `out`
    /// as encoded lines; returns how many.
    pub(crate) fn view_rows(
        &self,
        view: &RedisView,
        caps: &[Range<usize>],
        out: &mut Vec<u8>,
    ) -> Result<u64, TransformError> {
        let mut sink = ByteRows::new(out);
        self.view_to_rows(Who::Key(&view.key), view, caps, 0, &mut sink)?;
        Ok(sink.rows)
    }

    /// True when the rule takes `rec`; fills `caps` with the key's captures.
    pub fn matches(&self, rec: &Record, caps: &mut Vec<Range<usize>>) -> bool {
        let hit = match (&self.matcher, rec) {
            (Matcher::Key { pattern, ty, db }, Record::Redis(r)) => {
                ty.is_none_or(|t| t == r.value.redis_type())
                    && db.is_none_or(|d| d == r.db)
                    && pattern.matches(&r.key, caps)
            }
            (Matcher::Table(t), Record::Row(row)) => *t == row.table,
            (Matcher::Table(t), Record::Schema(s)) => *t == s.table,
            (Matcher::Table(t), Record::Delete(d)) => {
                matches!(&d.target, decant_record::Target::Row { table, .. } if table == t)
            }
            _ => false,
        };
        hit && (self.filter.is_empty()
            || matches!(rec, Record::Schema(_) | Record::Delete(_))
            || self.filter_ok(rec, caps))
    }

    fn filter_ok(&self, rec: &Record, caps: &[Range<usize>]) -> bool {
        self.filter.iter().all(|(src, want)| {
            let got = self.filter_text(src, rec, caps);
            match want {
                Want::Text(w) => got.as_deref() == Some(w.as_slice()),
                Want::Null => got.is_none(),
                Want::NotNull => got.is_some(),
                Want::Matches(p) => got.is_some_and(|g| p.matches(&g, &mut Vec::new())),
            }
        })
    }

    /// Fills `ctx.row_caps` from the row's `where_match` sources (the rule
    /// matched, so every pattern matches).
    fn bind_row_captures(&self, rec: &Record, ctx: &mut Ctx) {
        if self.row_captures.is_empty() {
            return;
        }
        ctx.row_caps = vec![Vec::new(); self.row_captures.len()];
        let mut caps = Vec::new();
        for (at, slots) in &self.row_capture_slots {
            let (src, Want::Matches(p)) = &self.filter[*at] else { continue };
            let Some(text) = self.filter_text(src, rec, &[]) else { continue };
            if p.matches(&text, &mut caps) {
                for (range, slot) in caps.iter().zip(slots) {
                    ctx.row_caps[*slot] = text[range.clone()].to_vec();
                }
            }
        }
    }

    /// The text a filter compares: a source's bytes, or a value as compact JSON
    /// text (`None` when missing or NULL).
    fn filter_text(&self, src: &Src, rec: &Record, caps: &[Range<usize>]) -> Option<Vec<u8>> {
        match (src, rec) {
            (Src::Capture(i), Record::Redis(r)) => Some(r.key[caps[*i].clone()].to_vec()),
            (Src::Key, Record::Redis(r)) => Some(r.key.clone()),
            (Src::Db, Record::Redis(r)) => Some(r.db.to_string().into_bytes()),
            (Src::Type, Record::Redis(r)) => Some(r.value.redis_type().as_str().as_bytes().to_vec()),
            (Src::ExpireAtMs, Record::Redis(r)) => r.expire_at_ms.map(|e| e.to_string().into_bytes()),
            (Src::Value, Record::Redis(RedisRecord { value: RedisValue::String(s), .. })) => Some(s.clone()),
            (Src::Field(i), Record::Redis(RedisRecord { value: RedisValue::Hash(pairs), .. })) => {
                pairs.iter().find(|(f, _)| *f == self.fields[*i]).map(|(_, v)| v.clone())
            }
            (Src::Field(i), Record::Row(row)) => std::str::from_utf8(&self.fields[*i])
                .ok()
                .and_then(|c| row.data.get(c))
                .and_then(|v| render(v, JsonStyle::Compact).ok().flatten()),
            (Src::Table, Record::Row(row)) => Some(row.table.as_bytes().to_vec()),
            _ => None,
        }
    }

    fn error<'r>(&self, rec: impl Into<Who<'r>>, column: Option<&str>, message: impl Into<String>) -> TransformError {
        TransformError {
            rule: self.name.clone(),
            record: rec.into().describe(),
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }

    /// Transforms one record this rule matches (see [`Rule::matches`]).
    pub fn apply(&self, rec: &Record) -> Result<Vec<Record>, TransformError> {
        let mut caps = Vec::new();
        let mut out = Vec::new();
        if !self.matches(rec, &mut caps) {
            return Err(self.error(rec, None, "the rule does not match this record"));
        }
        self.apply_matched(rec, &caps, 0, &mut out)?;
        Ok(out)
    }

    /// Transforms a matched record into `out`. `first_index` is the position
    /// of the record's first element within its key (non-zero for the later
    /// parts of a split key).
    pub fn apply_matched(
        &self,
        rec: &Record,
        caps: &[Range<usize>],
        first_index: u64,
        out: &mut Vec<Record>,
    ) -> Result<(), TransformError> {
        match (&self.out, rec) {
            (Out::Drop, _) => Ok(()),
            (_, Record::Schema(s)) => {
                if let Some(s) = self.reshape_schema(s) {
                    out.push(Record::Schema(s));
                }
                Ok(())
            }
            (Out::Reshape { .. }, Record::Row(row)) => {
                out.push(Record::Row(self.reshape_row(row)?));
                Ok(())
            }
            (Out::Reshape { table, rename, .. }, Record::Delete(d)) => {
                let mut d = d.clone();
                if let decant_record::Target::Row { table: t, id } = &mut d.target {
                    *t = table.clone();
                    for (k, _) in id.0.iter_mut() {
                        if let Some((_, new)) = rename.iter().find(|(old, _)| old == k) {
                            *k = new.clone();
                        }
                    }
                }
                out.push(Record::Delete(d));
                Ok(())
            }
            (Out::Rows { .. }, Record::Row(row)) => {
                let mut ctx = Ctx::new(self.fields.len(), self.json_sources.len());
                ctx.table = Some(&row.table);
                let extras = self.bind_row(rec, row, &mut ctx)?;
                self.bind_row_captures(rec, &mut ctx);
                self.emit_row(Who::Record(rec), &mut ctx, extras, &mut RecordRows::new(out))
            }
            (Out::Keys { .. }, Record::Row(row)) => {
                let mut ctx = Ctx::new(self.fields.len(), self.json_sources.len());
                ctx.table = Some(&row.table);
                self.bind_row(rec, row, &mut ctx)?;
                self.bind_row_captures(rec, &mut ctx);
                out.push(self.build_key(Who::Record(rec), &mut ctx)?);
                Ok(())
            }
            (Out::Keys { .. }, Record::Delete(_)) => {
                Err(self.error(rec, None, "row deletes cannot be turned into key deletes by a to_key rule"))
            }
            (Out::Rows { .. }, Record::Delete(_)) => {
                Err(self.error(rec, None, "a delete cannot go through a column-list rule (its key columns may change)"))
            }
            (Out::Rows { .. }, Record::Redis(r)) => self.redis_to_rows(rec, r, caps, first_index, out),
            _ => Err(self.error(rec, None, format!("this rule does not take {} records", rec.kind()))),
        }
    }
}

/// A value as Redis text: `None` for NULL.
pub fn render(v: &Value, style: JsonStyle) -> Result<Option<Vec<u8>>, cast::CastError> {
    Ok(Some(match v {
        Value::Null => return Ok(None),
        Value::Bool(b) => {
            if *b {
                b"true".to_vec()
            } else {
                b"false".to_vec()
            }
        }
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => cast::float_text(*f).into_bytes(),
        Value::String(s) | Value::ZeroDate(s) => s.as_bytes().to_vec(),
        Value::Number(n) => n.as_bytes().to_vec(),
        Value::Bytes(b) => b.clone(),
        Value::Array(_) | Value::Object(_) | Value::StringSet(_) | Value::NumberSet(_) | Value::BinarySet(_) => {
            cast::render_json(v, style)?.into_bytes()
        }
    }))
}

/// `key "apikey:1"`, `table "t"`, for messages.
pub fn describe_record(rec: &Record) -> String {
    match rec {
        Record::Redis(r) => format!("key {}", cast::show(Input::Bytes(&r.key))),
        Record::Row(r) => format!("table {:?} row", r.table),
        Record::Schema(s) => format!("schema of table {:?}", s.table),
        Record::Delete(_) => "delete".into(),
        Record::RedisFunction(f) => format!("function library {:?}", f.library),
        other => format!("{} line", other.kind()),
    }
}

/// The record a rule is working on, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Who<'a> {
    /// A decoded record.
    Record(&'a Record),
    /// A Redis key read through a view.
    Key(&'a [u8]),
}

impl Who<'_> {
    fn describe(self) -> String {
        match self {
            Who::Record(r) => describe_record(r),
            Who::Key(k) => format!("key {}", cast::show(Input::Bytes(k))),
        }
    }
}

impl<'a> From<&'a Record> for Who<'a> {
    fn from(r: &'a Record) -> Who<'a> {
        Who::Record(r)
    }
}

/// Builders for the parts' unit tests: a rule from its TOML, and input records.
#[cfg(test)]
mod test_support {
    use super::*;

    /// The first `[[rule]]` of `spec`, compiled against its `[[schema]]` tables.
    pub(super) fn rule(spec: &str) -> Rule {
        let spec = crate::spec::Spec::parse(spec).expect("the test spec parses");
        let tables = spec.tables().expect("the test spec's tables");
        Rule::compile(0, &spec.rule[0], &tables).expect("the test rule compiles")
    }

    pub(super) fn redis(key: &str, value: RedisValue) -> Record {
        Record::Redis(RedisRecord::new(0, key.as_bytes().to_vec(), value))
    }

    pub(super) fn hash(key: &str, fields: &[(&str, &str)]) -> Record {
        let pairs = fields.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
        redis(key, RedisValue::Hash(pairs))
    }

    pub(super) fn row(table: &str, data: &[(&str, Value)]) -> Record {
        let data = data.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        Record::Row(Row { table: table.into(), data: RowData(data) })
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    const HASH_RULE: &str = r#"
        [[rule]]
        name = "accounts"
        match = "acct:{region}:{id}"
        type = "hash"
        db = 2
        to_table = "accounts"
        columns = [{ name = "id", from = "{id}", cast = "int" }, { name = "region", from = "{region}" }]
        extra_fields = "ignore"
    "#;

    #[test]
    fn a_key_rule_matches_by_pattern_type_and_db_and_fills_the_captures() {
        let rule = rule(HASH_RULE);
        let mut caps = Vec::new();
        assert!(rule.matches_key(2, RedisType::Hash, b"acct:eu:42", &mut caps));
        assert_eq!(caps.iter().map(|c| &b"acct:eu:42"[c.clone()]).collect::<Vec<_>>(), [&b"eu"[..], b"42"]);
        assert!(!rule.matches_key(0, RedisType::Hash, b"acct:eu:42", &mut caps), "db 2 only");
        assert!(!rule.matches_key(2, RedisType::String, b"acct:eu:42", &mut caps), "hashes only");
        assert!(!rule.matches_key(2, RedisType::Hash, b"user:eu:42", &mut caps));
        assert_eq!(rule.key_prefix(), Some(&b"acct:"[..]));
        assert_eq!(rule.match_text(), "acct:{region}:{id} (hash) db 2");
        assert_eq!(rule.output_text(), "rows of accounts");
        assert_eq!(rule.kind(), RuleKind::Rows);
        assert!(rule.drops_unmapped() && !rule.maps_every_field());
    }

    #[test]
    fn where_filters_test_captures_fields_and_nulls() {
        let rule = rule(
            r#"
            [[rule]]
            match = "acct:{region}:{id}"
            where = { "{region}" = "eu" }
            where_not_null = ["plan"]
            to_table = "accounts"
            columns = [{ name = "id", from = "{id}" }]
            extra_fields = "ignore"
            "#,
        );
        let mut caps = Vec::new();
        assert!(rule.matches(&hash("acct:eu:1", &[("plan", "pro")]), &mut caps));
        assert!(!rule.matches(&hash("acct:us:1", &[("plan", "pro")]), &mut caps), "region is not eu");
        assert!(!rule.matches(&hash("acct:eu:1", &[("other", "x")]), &mut caps), "plan is missing");
        // A rule that does not match says so instead of producing nothing.
        let err = rule.apply(&hash("acct:us:1", &[("plan", "pro")])).unwrap_err();
        assert_eq!(err.to_string(), r#"rule "accounts", key "acct:us:1": the rule does not match this record"#);
    }

    #[test]
    fn a_table_rule_takes_the_table_s_rows_schemas_and_deletes_only() {
        let rule = rule("[[rule]]\nmatch_table = \"users\"\nto_table = \"people\"\n");
        let mut caps = Vec::new();
        assert!(rule.matches(&row("users", &[("id", Value::Int(1))]), &mut caps));
        assert!(!rule.matches(&row("orders", &[("id", Value::Int(1))]), &mut caps));
        assert!(!rule.matches(&hash("users", &[("id", "1")]), &mut caps), "a Redis key is not a row");
        assert_eq!(rule.match_table(), Some("users"));
        assert_eq!(rule.key_prefix(), None);
    }

    #[test]
    fn errors_name_the_rule_the_record_and_the_column() {
        let err = TransformError {
            rule: "r".into(),
            record: describe_record(&hash("k\u{1}", &[])),
            column: Some("c".into()),
            message: "bad".into(),
        };
        assert_eq!(err.to_string(), r#"rule "r", key "k\u{1}", column "c": bad"#);
        assert_eq!(describe_record(&row("t", &[])), r#"table "t" row"#);
        assert_eq!(Who::Key(b"a:1").describe(), r#"key "a:1""#);
    }

    #[test]
    fn render_writes_values_as_redis_text() {
        let text = |v: Value| render(&v, JsonStyle::Compact).unwrap().map(|b| String::from_utf8(b).unwrap());
        assert_eq!(text(Value::Null), None);
        assert_eq!(text(Value::Bool(true)).as_deref(), Some("true"));
        assert_eq!(text(Value::Int(-7)).as_deref(), Some("-7"));
        assert_eq!(text(Value::Float(1.5)).as_deref(), Some("1.5"));
        assert_eq!(text(Value::Array(vec![Value::Int(1), Value::String("a".into())])).as_deref(), Some(r#"[1,"a"]"#));
    }
}
