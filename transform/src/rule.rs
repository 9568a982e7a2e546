//! Compiled rules: what one rule does to one record, as a pure function.

use std::fmt;
use std::ops::Range;

use decant_record::view::{member_value, object_members, RedisValueView, RedisView, ViewBytes};
use decant_record::{LogicalType, Record, RedisRecord, RedisType, RedisValue, Row, RowData, TableSchema, Value};

use crate::cast::{self, Cast, CastOptions, Input, JsonStyle, TimeInput, TimePattern};
use crate::pattern::{Pattern, Template, TemplatePart};
use crate::rounding::Rounding;
use crate::spec::{toml_to_value, ColumnSpec, RuleSpec, SpecError, ValueSpec};
use crate::text_template;

mod compile;

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
    extra: Extra,
    /// Fields / columns deliberately left out.
    ignored: Vec<Vec<u8>>,
    json_style: JsonStyle,
    /// A column reads `$hash`: every field is mapped (into it).
    reads_hash: bool,
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
        }
    }
}

/// A source parsed as JSON for `path` columns.
enum Doc<'a> {
    /// An object's members, each still JSON text: only the members a path
    /// names are decoded.
    Members(Vec<(ViewBytes<'a>, &'a [u8])>),
    /// The whole value decoded (anything but a plain object of raw bytes),
    /// or why it is not JSON.
    Whole(Result<Value, String>),
}

impl<'a> Doc<'a> {
    fn of_bytes(b: &'a [u8]) -> Doc<'a> {
        match object_members(b) {
            Some(m) => Doc::Members(m),
            None => Doc::whole(b),
        }
    }

    fn whole(b: &[u8]) -> Doc<'a> {
        Doc::Whole(serde_json::from_slice::<Value>(b).map_err(|e| format!("not valid JSON: {e}")))
    }
}

/// The raw bytes a source reads from the record, when it reads bytes.
fn source_bytes<'a>(src: &Src, ctx: &Ctx<'a>) -> Option<&'a [u8]> {
    match src {
        Src::Capture(i) => Some(&ctx.key[ctx.caps[*i].clone()]),
        Src::Key => Some(ctx.key),
        Src::Field(i) => match ctx.fields[*i] {
            Some(Input::Bytes(b)) => Some(b),
            _ => None,
        },
        Src::Value => match ctx.value {
            Some(Input::Bytes(b)) => Some(b),
            _ => None,
        },
        Src::FieldName => ctx.field_name,
        _ => None,
    }
}

/// A source's value before the cast.
enum Got<'a> {
    Missing,
    In(Input<'a>),
    Owned(Value),
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
            let got: Option<Vec<u8>> = match (src, rec) {
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
            };
            match want {
                Want::Text(w) => got.as_deref() == Some(w.as_slice()),
                Want::Null => got.is_none(),
                Want::NotNull => got.is_some(),
                Want::Matches(p) => got.is_some_and(|g| p.matches(&g, &mut Vec::new())),
            }
        })
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
                self.emit_row(Who::Record(rec), &mut ctx, extras, &mut RecordRows::new(out))
            }
            (Out::Keys { .. }, Record::Row(row)) => {
                let mut ctx = Ctx::new(self.fields.len(), self.json_sources.len());
                ctx.table = Some(&row.table);
                self.bind_row(rec, row, &mut ctx)?;
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

    /// The schema of this rule's output table given an input schema (row
    /// rules): renamed, dropped and recast columns. `None` when the rule
    /// writes keys, drops, or has a declared table (emitted up front).
    fn reshape_schema(&self, s: &TableSchema) -> Option<TableSchema> {
        match &self.out {
            Out::Reshape { table, rename, drop, casts } => {
                let mut s = s.clone();
                s.table = table.clone();
                s.columns.retain(|c| !drop.contains(&c.name));
                for c in &mut s.columns {
                    if let Some((_, cast)) = casts.iter().find(|(n, _)| *n == c.name) {
                        if let Some(ty) = cast.logical_type() {
                            if ty != c.ty {
                                let keep = decant_record::Column::new(c.name.clone(), ty);
                                *c = decant_record::Column { nullable: c.nullable, comment: c.comment.take(), ..keep };
                            }
                        }
                    }
                    if let Some((_, new)) = rename.iter().find(|(old, _)| *old == c.name) {
                        c.name = new.clone();
                    }
                }
                let map = |cols: &mut Vec<String>| -> bool {
                    if cols.iter().any(|c| drop.contains(c)) {
                        return false;
                    }
                    for c in cols.iter_mut() {
                        if let Some((_, new)) = rename.iter().find(|(old, _)| old == c) {
                            *c = new.clone();
                        }
                    }
                    true
                };
                if !map(&mut s.primary_key) {
                    s.primary_key.clear();
                }
                s.indexes.retain_mut(|i| map(&mut i.columns));
                s.foreign_keys.retain_mut(|f| map(&mut f.columns));
                Some(s)
            }
            _ => None,
        }
    }

    fn reshape_row(&self, row: &Row) -> Result<Row, TransformError> {
        let Out::Reshape { table, rename, drop, casts } = &self.out else {
            unreachable!("reshape_row is called for reshape rules only")
        };
        let mut data = Vec::with_capacity(row.data.len());
        for (name, v) in row.data.iter() {
            if drop.iter().any(|d| d == name) {
                continue;
            }
            let v = match casts.iter().find(|(c, _)| c == name) {
                Some((_, cast)) => cast::cast(Input::Value(v), *cast, &CastOptions::default())
                    .map_err(|e| self.error(&Record::Row(row.clone()), Some(name), e.0))?,
                None => v.clone(),
            };
            let name = rename.iter().find(|(old, _)| old == name).map_or(name, |(_, new)| new.as_str());
            data.push((name.to_owned(), v));
        }
        Ok(Row { table: table.clone(), data: RowData(data) })
    }

    /// Binds a row's columns to field slots; returns the extra columns.
    fn bind_row<'a>(
        &self,
        rec: &Record,
        row: &'a Row,
        ctx: &mut Ctx<'a>,
    ) -> Result<Vec<(&'a [u8], Input<'a>)>, TransformError> {
        let mut extras = Vec::new();
        let mut unmapped: Vec<&[u8]> = Vec::new();
        for (name, v) in row.data.iter() {
            match self.fields.iter().position(|f| f == name.as_bytes()) {
                Some(i) => ctx.fields[i] = Some(Input::Value(v)),
                None if self.ignored.iter().any(|x| x == name.as_bytes()) => {}
                None => match self.extra {
                    Extra::Ignore => {}
                    Extra::Error => unmapped.push(name.as_bytes()),
                    Extra::Keep | Extra::Into => extras.push((name.as_bytes(), Input::Value(v))),
                },
            }
        }
        if !unmapped.is_empty() {
            return Err(self.error(rec, None, unmapped_message("input column", &unmapped)));
        }
        Ok(extras)
    }

    fn redis_to_rows(
        &self,
        rec: &Record,
        r: &RedisRecord,
        caps: &[Range<usize>],
        first_index: u64,
        out: &mut Vec<Record>,
    ) -> Result<(), TransformError> {
        let mut sink = RecordRows::new(out);
        if let Some(module) = r.module() {
            return Err(self.error(
                rec,
                None,
                format!("a key of module type {module} holds an opaque payload, not fields: it cannot become rows"),
            ));
        }
        match RedisView::of(r) {
            Some(view) => self.view_to_rows(Who::Record(rec), &view, caps, first_index, &mut sink),
            None => self.stream_to_rows(rec, r, caps, first_index, &mut sink),
        }
    }

    /// Rows from a Redis key of any type but stream, written to `sink`.
    pub(crate) fn view_to_rows<S: RowSink>(
        &self,
        who: Who,
        r: &RedisView,
        caps: &[Range<usize>],
        first_index: u64,
        sink: &mut S,
    ) -> Result<(), TransformError> {
        let mut ctx = Ctx::new(self.fields.len(), self.json_sources.len());
        ctx.key = &r.key;
        ctx.caps = caps;
        ctx.db = r.db;
        ctx.ty = Some(r.value.redis_type());
        ctx.expire = r.expire_at_ms;
        if !self.explode {
            if r.part.is_some() && matches!(r.value, RedisValueView::Hash(_)) {
                return Err(self.error(
                    who,
                    None,
                    "this hash arrives in parts (a big key); a row needs the whole hash: export with a larger chunk size, or explode it",
                ));
            }
            let mut extras = Vec::new();
            match &r.value {
                RedisValueView::Hash(pairs) => {
                    let mut unmapped: Vec<&[u8]> = Vec::new();
                    for (f, v) in pairs {
                        match self.field_index(f) {
                            Some(i) => ctx.fields[i] = Some(Input::Bytes(v)),
                            None if self.ignored.iter().any(|x| x == &**f) => {}
                            None => match self.extra {
                                Extra::Ignore => {}
                                Extra::Keep | Extra::Into => extras.push((&**f, Input::Bytes(v))),
                                // `$hash` maps every field.
                                Extra::Error if self.reads_hash => {}
                                Extra::Error => unmapped.push(f),
                            },
                        }
                    }
                    if !unmapped.is_empty() {
                        return Err(self.error(who, None, unmapped_message("hash field", &unmapped)));
                    }
                    if self.reads_hash {
                        // Fields in bytewise order: a hash's field order is not part
                        // of its value (a big hash's order is the server's table
                        // order), and the same hash must give the same JSON text.
                        let mut fields = Vec::with_capacity(pairs.len());
                        for (f, v) in pairs.iter() {
                            let Ok(name) = std::str::from_utf8(f) else {
                                return Err(self.error(
                                    who,
                                    None,
                                    "a hash field name is not UTF-8: it cannot be a key of the JSON object ($hash / $value)",
                                ));
                            };
                            fields.push((name.to_owned(), Value::from_bytes_or_text(v.to_vec())));
                        }
                        fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                        ctx.whole = Some(Value::Object(fields));
                    }
                }
                RedisValueView::String(s) => ctx.value = Some(Input::Bytes(s)),
                RedisValueView::List(items) | RedisValueView::Set(items) => {
                    ctx.whole =
                        Some(Value::Array(items.iter().map(|i| Value::from_bytes_or_text(i.to_vec())).collect()))
                }
                RedisValueView::ZSet(pairs) => {
                    ctx.whole = Some(Value::Array(
                        pairs
                            .iter()
                            .map(|(m, s)| Value::Array(vec![Value::from_bytes_or_text(m.to_vec()), Value::Float(*s)]))
                            .collect(),
                    ))
                }
            }
            return self.emit_row(who, &mut ctx, extras, sink);
        }
        let mut i = first_index;
        // One context for all the elements: only the element's own sources
        // and the JSON parsed from them change.
        let emit = |ctx: &mut Ctx, sink: &mut S| -> Result<(), TransformError> {
            self.emit_row(who, ctx, Vec::new(), sink)?;
            ctx.json.iter_mut().for_each(|j| *j = None);
            Ok(())
        };
        match &r.value {
            RedisValueView::List(items) | RedisValueView::Set(items) => {
                for item in items {
                    ctx.value = Some(Input::Bytes(item));
                    ctx.index = Some(i);
                    i += 1;
                    emit(&mut ctx, sink)?;
                }
            }
            RedisValueView::ZSet(pairs) => {
                for (m, s) in pairs {
                    ctx.value = Some(Input::Bytes(m));
                    ctx.score = Some(*s);
                    ctx.index = Some(i);
                    i += 1;
                    emit(&mut ctx, sink)?;
                }
            }
            RedisValueView::Hash(pairs) => {
                for (f, v) in pairs {
                    ctx.field_name = Some(f);
                    ctx.value = Some(Input::Bytes(v));
                    ctx.index = Some(i);
                    i += 1;
                    emit(&mut ctx, sink)?;
                }
            }
            RedisValueView::String(_) => return Err(self.error(who, None, "a string key has no elements to explode")),
        }
        Ok(())
    }

    /// Rows from a stream key: one per entry (explode), else an error.
    fn stream_to_rows<S: RowSink>(
        &self,
        rec: &Record,
        r: &RedisRecord,
        caps: &[Range<usize>],
        first_index: u64,
        sink: &mut S,
    ) -> Result<(), TransformError> {
        let RedisValue::Stream(s) = &r.value else { unreachable!("RedisView::of takes every other type") };
        if !self.explode {
            return Err(self.error(rec, None, "a stream becomes rows with explode = true (one per entry)"));
        }
        let mut ctx = Ctx::new(self.fields.len(), self.json_sources.len());
        ctx.key = &r.key;
        ctx.caps = caps;
        ctx.db = r.db;
        ctx.ty = Some(r.value.redis_type());
        ctx.expire = r.expire_at_ms;
        for (i, entry) in (first_index..).zip(&s.entries) {
            ctx.fields.iter_mut().for_each(|f| *f = None);
            ctx.entry_id = Some(&entry.id);
            ctx.index = Some(i);
            let mut extras = Vec::new();
            for (f, v) in &entry.fields {
                match self.field_index(f) {
                    Some(k) => ctx.fields[k] = Some(Input::Bytes(v)),
                    None if self.ignored.contains(f) => {}
                    None => match self.extra {
                        Extra::Ignore => {}
                        Extra::Keep | Extra::Into => extras.push((f.as_slice(), Input::Bytes(v))),
                        Extra::Error => {
                            return Err(self.error(
                                rec,
                                None,
                                format!(
                                    "entry {} field {} is not mapped to any column (map it, or set extra_fields = \"ignore\" or extra_into)",
                                    entry.id,
                                    cast::show(Input::Bytes(f))
                                ),
                            ))
                        }
                    },
                }
            }
            self.emit_row(Who::Record(rec), &mut ctx, extras, sink)?;
            ctx.json.iter_mut().for_each(|j| *j = None);
        }
        Ok(())
    }

    /// The slot of a hash field / input column the rule reads.
    fn field_index(&self, name: &[u8]) -> Option<usize> {
        self.fields.iter().position(|x| x == name)
    }

    /// The raw value of a source.
    fn get<'a>(&self, src: &'a Src, ctx: &Ctx<'a>) -> Got<'a> {
        match src {
            Src::Capture(i) => Got::In(Input::Bytes(&ctx.key[ctx.caps[*i].clone()])),
            Src::Field(i) => ctx.fields[*i].map_or(Got::Missing, Got::In),
            Src::Key => Got::In(Input::Bytes(ctx.key)),
            Src::Db => Got::Owned(Value::Int(ctx.db as i128)),
            Src::Type => Got::Owned(ctx.ty.map_or(Value::Null, |t| Value::String(t.as_str().to_owned()))),
            Src::ExpireAtMs => Got::Owned(ctx.expire.map_or(Value::Null, |e| Value::Int(e as i128))),
            Src::Value => match (ctx.value, &ctx.whole) {
                (Some(v), _) => Got::In(v),
                (None, Some(w)) => Got::Owned(w.clone()),
                (None, None) => Got::Missing,
            },
            Src::Index => ctx.index.map_or(Got::Missing, |i| Got::Owned(Value::Int(i as i128))),
            Src::Score => ctx.score.map_or(Got::Missing, |s| Got::Owned(Value::Float(s))),
            Src::FieldName => ctx.field_name.map_or(Got::Missing, |f| Got::In(Input::Bytes(f))),
            Src::EntryId => ctx.entry_id.map_or(Got::Missing, |id| Got::Owned(Value::String(id.to_owned()))),
            Src::Table => ctx.table.map_or(Got::Missing, |t| Got::Owned(Value::String(t.to_owned()))),
            Src::Const(v) => Got::In(Input::Value(v)),
            Src::Hash => ctx.whole.as_ref().map_or(Got::Missing, |w| Got::Owned(w.clone())),
            Src::Coalesce(srcs) => {
                for s in srcs {
                    let got = self.get(s, ctx);
                    let absent = match &got {
                        Got::Missing => true,
                        Got::In(Input::Bytes(b)) => b.is_empty(),
                        Got::In(Input::Value(v)) => is_absent(v),
                        Got::Owned(v) => is_absent(v),
                    };
                    if !absent {
                        return got;
                    }
                }
                Got::Missing
            }
            Src::Template(pieces) => {
                let mut text: Vec<u8> = Vec::with_capacity(64);
                for p in pieces {
                    match p {
                        TemplateSrc::Literal(l) => text.extend_from_slice(l.as_bytes()),
                        TemplateSrc::Source(s, opts) => {
                            let got = self.get(s, ctx);
                            let input = match &got {
                                Got::Missing => return Got::Missing,
                                Got::In(Input::Value(Value::Null)) | Got::Owned(Value::Null) => return Got::Missing,
                                Got::In(i) => *i,
                                Got::Owned(v) => Input::Value(v),
                            };
                            let piece = match opts {
                                // A source that does not format is reported by the column's cast.
                                Some(o) => match cast::cast(input, Cast::String, o) {
                                    Ok(Value::String(t)) => t.into_bytes(),
                                    _ => return Got::Missing,
                                },
                                None => match input {
                                    Input::Bytes(b) => b.to_vec(),
                                    Input::Value(v) => match render(v, self.json_style) {
                                        Ok(Some(b)) => b,
                                        _ => return Got::Missing,
                                    },
                                },
                            };
                            text.extend_from_slice(&piece);
                        }
                        TemplateSrc::Padded(s, width) => {
                            let got = self.get(s, ctx);
                            let digits = match &got {
                                Got::In(Input::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                                Got::In(Input::Value(Value::Int(i))) => i.to_string(),
                                Got::Owned(Value::Int(i)) => i.to_string(),
                                Got::In(Input::Value(Value::String(t))) => t.clone(),
                                Got::Owned(Value::String(t)) => t.clone(),
                                _ => return Got::Missing,
                            };
                            let (sign, body) = digits.strip_prefix('-').map_or(("", digits.as_str()), |b| ("-", b));
                            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
                                return Got::Missing;
                            }
                            text.extend_from_slice(format!("{sign}{body:0>width$}").as_bytes());
                        }
                    }
                }
                Got::Owned(Value::from_bytes_or_text(text))
            }
        }
    }

    /// One column's final value.
    fn eval<'a>(&self, rec: Who, col: &Col, ctx: &mut Ctx<'a>) -> Result<Value, TransformError> {
        let err = |msg: String| self.error(rec, Some(&col.name), msg);
        let from = || col.src.describe(self);
        let got: Got = match &col.path {
            None => self.get(&col.src, ctx),
            Some((j, segs)) => {
                let src = &self.json_sources[*j];
                if ctx.json[*j].is_none() {
                    let doc = match source_bytes(src, ctx) {
                        Some(b) => Doc::of_bytes(b),
                        None => Doc::Whole(match self.get(src, ctx) {
                            Got::Missing => Ok(Value::Null),
                            Got::In(Input::Value(v)) => parse_json_value(v),
                            Got::Owned(v) => parse_json_value(&v),
                            Got::In(Input::Bytes(b)) => {
                                serde_json::from_slice::<Value>(b).map_err(|e| format!("not valid JSON: {e}"))
                            }
                        }),
                    };
                    ctx.json[*j] = Some(doc);
                }
                let member = match ctx.json[*j].as_ref() {
                    Some(Doc::Members(members)) => match members.iter().find(|(k, _)| **k == *segs[0].as_bytes()) {
                        None => Ok(None),
                        Some((_, raw)) => member_value(raw).map(Some),
                    },
                    _ => Ok(None),
                };
                if member.is_err() {
                    // A member that is JSON but not a decant value: the whole
                    // document's error says which.
                    if let Some(b) = source_bytes(src, ctx) {
                        ctx.json[*j] = Some(Doc::whole(b));
                    }
                }
                match (ctx.json[*j].as_ref(), member) {
                    (Some(Doc::Members(_)), Ok(Some(v))) if segs.len() == 1 => Got::Owned(v),
                    (Some(Doc::Members(_)), Ok(Some(v))) => {
                        walk(&v, &segs[1..]).map_or(Got::Missing, |x| Got::Owned(x.clone()))
                    }
                    (Some(Doc::Members(_)), _) => Got::Missing,
                    (Some(Doc::Whole(Ok(doc))), _) => walk(doc, segs).map_or(Got::Missing, |v| Got::Owned(v.clone())),
                    (Some(Doc::Whole(Err(e))), _) => return Err(err(format!("{}: {e}", from()))),
                    (None, _) => Got::Missing,
                }
            }
        };
        let missing = |what: &str| -> Result<Value, TransformError> {
            if let Some(d) = &col.default {
                return Ok(d.clone());
            }
            if col.required || col.not_null {
                let path = col.path.as_ref().map(|(_, s)| format!(" path {:?}", s.join("."))).unwrap_or_default();
                return Err(err(format!(
                    "{}{path} is {what}, and the column is {} (give it a default)",
                    from(),
                    if col.required { "required" } else { "NOT NULL" }
                )));
            }
            Ok(Value::Null)
        };
        let input = match &got {
            Got::Missing => return missing("missing"),
            Got::In(i) => *i,
            Got::Owned(v) => Input::Value(v),
        };
        let is_empty = match input {
            Input::Bytes(b) => b.is_empty(),
            Input::Value(Value::String(s)) => s.is_empty(),
            Input::Value(Value::Null) => return missing("null"),
            _ => false,
        };
        if is_empty {
            match col.empty {
                Empty::Keep => {}
                Empty::Null => return missing("empty"),
                Empty::Default => return Ok(col.default.clone().unwrap_or(Value::Null)),
                Empty::Error => return Err(err(format!("{} is empty", from()))),
            }
        }
        let mut v = cast::cast(input, col.cast, &col.opts).map_err(|e| err(format!("{}: {e}", from())))?;
        if !col.json_order.is_empty() {
            reorder(&mut v, &col.json_order);
        }
        Ok(v)
    }

    /// Evaluates the columns of one output row (and its extra fields) into `sink`.
    fn emit_row<S: RowSink>(
        &self,
        rec: Who,
        ctx: &mut Ctx,
        extras: Vec<(&[u8], Input)>,
        sink: &mut S,
    ) -> Result<(), TransformError> {
        let Out::Rows { table, cols, extra_into, prefix } = &self.out else {
            unreachable!("emit_row is called for row rules only")
        };
        sink.begin(table, prefix, cols.len() + extras.len() + 1);
        for col in cols {
            let v = self.eval(rec, col, ctx)?;
            sink.col(&col.name, &col.name_json, v);
        }
        match (self.extra, extra_into) {
            (Extra::Into, Some(into)) => {
                let mut obj = Vec::with_capacity(extras.len());
                for (f, v) in extras {
                    let Ok(name) = std::str::from_utf8(f) else {
                        return Err(self.error(
                            rec,
                            Some(into),
                            format!("extra field {} is not UTF-8", cast::show(Input::Bytes(f))),
                        ));
                    };
                    let v = match v {
                        Input::Bytes(b) => Value::from_bytes_or_text(b.to_vec()),
                        Input::Value(v) => v.clone(),
                    };
                    obj.push((name.to_owned(), v));
                }
                // Bytewise field order, as `$hash`: the same fields give the same JSON text.
                obj.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                sink.col(into, &json_key(into), if obj.is_empty() { Value::Null } else { Value::Object(obj) });
            }
            (Extra::Keep, _) => {
                let mut kept: Vec<&str> = Vec::with_capacity(extras.len());
                for (f, v) in extras {
                    let Ok(name) = std::str::from_utf8(f) else {
                        return Err(self.error(
                            rec,
                            None,
                            format!("extra field {} is not UTF-8", cast::show(Input::Bytes(f))),
                        ));
                    };
                    if cols.iter().any(|c| c.name == name) || kept.contains(&name) {
                        return Err(self.error(rec, Some(name), "an extra field has the name of a listed column"));
                    }
                    kept.push(name);
                    let v = match v {
                        Input::Bytes(b) => Value::from_bytes_or_text(b.to_vec()),
                        Input::Value(v) => v.clone(),
                    };
                    sink.col(name, &json_key(name), v);
                }
            }
            _ => {}
        }
        sink.end();
        Ok(())
    }

    fn build_key(&self, rec: Who, ctx: &mut Ctx) -> Result<Record, TransformError> {
        let Out::Keys {
            template, template_slots, ty, db, cols, field, fields_from, value, score, entry_id, ttl, ..
        } = &self.out
        else {
            unreachable!("build_key is called for key rules only")
        };
        let mut key = Vec::with_capacity(64);
        let mut slot = template_slots.iter();
        for part in template.parts() {
            match part {
                TemplatePart::Literal(l) => key.extend_from_slice(l),
                TemplatePart::Column(c) | TemplatePart::Padded(c, _) => {
                    let v = slot.next().copied().flatten().and_then(|i| ctx.fields[i]);
                    let text = match v {
                        Some(Input::Value(v)) => {
                            render(v, self.json_style).map_err(|e| self.error(rec, Some(c), e.0))?
                        }
                        Some(Input::Bytes(b)) => Some(b.to_vec()),
                        None => None,
                    };
                    let text = match (part, text) {
                        (TemplatePart::Padded(_, width), Some(t)) => {
                            let digits = String::from_utf8_lossy(&t).into_owned();
                            let (sign, body) = digits.strip_prefix('-').map_or(("", digits.as_str()), |b| ("-", b));
                            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
                                return Err(self.error(
                                    rec,
                                    Some(c),
                                    format!(
                                        "key template {:?}: {digits:?} is not a whole number to pad",
                                        template.as_str()
                                    ),
                                ));
                            }
                            Some(format!("{sign}{body:0>width$}", width = *width).into_bytes())
                        }
                        (_, t) => t,
                    };
                    match text {
                        Some(t) => key.extend_from_slice(&t),
                        None => {
                            return Err(self.error(
                                rec,
                                Some(c),
                                format!("key template {:?}: column {c:?} is missing or NULL", template.as_str()),
                            ))
                        }
                    }
                }
            }
        }
        let expire_at_ms = match ttl {
            None => None,
            Some(i) => match ctx.fields[*i] {
                None => None,
                Some(input) => cast::to_epoch_ms(input).map_err(|e| {
                    self.error(rec, Some(&String::from_utf8_lossy(&self.fields[*i])), format!("ttl_from: {e}"))
                })?,
            },
        };
        let value = match ty {
            RedisType::Module => return Err(self.error(rec, None, "rows cannot make a module key")),
            RedisType::Hash if field.is_some() => {
                let f = self.key_part(rec, field, ctx)?;
                RedisValue::Hash(vec![(f, self.key_part(rec, value, ctx)?)])
            }
            RedisType::Hash => {
                let mut pairs = match fields_from {
                    None => Vec::new(),
                    Some(col) => self.object_fields(rec, col, ctx)?,
                };
                pairs.extend(self.key_fields(rec, cols, ctx)?);
                if pairs.is_empty() {
                    return Err(self.error(rec, None, "every field is NULL: Redis cannot hold an empty hash"));
                }
                RedisValue::Hash(pairs)
            }
            RedisType::List | RedisType::Set if !cols.is_empty() => {
                let mut members = Vec::with_capacity(cols.len());
                for col in cols {
                    match self.eval(rec, col, ctx)? {
                        Value::Null if !col.null_as_empty => {}
                        v => members.push((col.name.clone(), v)),
                    }
                }
                let text = cast::render_json(&Value::Object(members), self.json_style)
                    .map_err(|e| self.error(rec, None, e.0))?
                    .into_bytes();
                if *ty == RedisType::List {
                    RedisValue::List(vec![text])
                } else {
                    RedisValue::Set(vec![text])
                }
            }
            RedisType::String => RedisValue::String(self.key_part(rec, value, ctx)?),
            RedisType::List => RedisValue::List(vec![self.key_part(rec, value, ctx)?]),
            RedisType::Set => RedisValue::Set(vec![self.key_part(rec, value, ctx)?]),
            RedisType::ZSet => {
                let member = self.key_part(rec, value, ctx)?;
                let scol = score.as_ref().expect("compile() sets score for zsets");
                let s = self.eval(rec, scol, ctx)?;
                let s = cast::cast(Input::Value(&s), Cast::Float, &CastOptions::default())
                    .map_err(|e| self.error(rec, Some("score"), e.0))?;
                let Value::Float(f) = s else {
                    return Err(self.error(rec, Some("score"), "is NULL; a zset member needs a score"));
                };
                RedisValue::ZSet(vec![(member, f)])
            }
            RedisType::Stream => {
                let id = self.key_part(rec, entry_id, ctx)?;
                let id = match String::from_utf8(id) {
                    Ok(id) if parse_entry_id(&id).is_some() => id,
                    Ok(id) => {
                        return Err(self.error(
                            rec,
                            Some("entry_id"),
                            format!("{id:?} is not a stream entry id (<ms>-<seq>)"),
                        ))
                    }
                    Err(_) => return Err(self.error(rec, Some("entry_id"), "is not text")),
                };
                let fields = self.key_fields(rec, cols, ctx)?;
                if fields.is_empty() {
                    return Err(self.error(rec, None, "every field is NULL: a stream entry needs a field"));
                }
                RedisValue::Stream(decant_record::StreamValue {
                    entries: vec![decant_record::StreamEntry { id, fields }],
                    ..decant_record::StreamValue::default()
                })
            }
        };
        Ok(Record::Redis(RedisRecord { expire_at_ms, ..RedisRecord::new(*db, key, value) }))
    }

    /// The (field, value) pairs of a hash or stream entry; NULL columns are
    /// left out (unless they write NULL as "").
    fn key_fields(
        &self,
        rec: Who,
        cols: &[Col],
        ctx: &mut Ctx,
    ) -> Result<decant_record::record::Pairs, TransformError> {
        let mut pairs = Vec::with_capacity(cols.len());
        for col in cols {
            if let Some(b) = self.key_bytes(rec, col, ctx)? {
                pairs.push((col.name.as_bytes().to_vec(), b));
            }
        }
        Ok(pairs)
    }

    /// The members of a JSON object column as hash fields: strings as they
    /// are, other values as JSON text; NULL gives none.
    fn object_fields(
        &self,
        rec: Who,
        col: &Col,
        ctx: &mut Ctx,
    ) -> Result<decant_record::record::Pairs, TransformError> {
        let v = match self.eval(rec, col, ctx)? {
            Value::String(s) => parse_json_value(&Value::String(s)).map_err(|e| self.error(rec, Some(&col.name), e))?,
            Value::Bytes(b) => parse_json_value(&Value::Bytes(b)).map_err(|e| self.error(rec, Some(&col.name), e))?,
            other => other,
        };
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Object(members) => {
                let mut pairs = Vec::with_capacity(members.len());
                for (k, x) in members {
                    let text = match x {
                        Value::String(s) => s.into_bytes(),
                        other => {
                            match render(&other, self.json_style).map_err(|e| self.error(rec, Some(&col.name), e.0))? {
                                Some(b) => b,
                                None => continue,
                            }
                        }
                    };
                    pairs.push((k.into_bytes(), text));
                }
                Ok(pairs)
            }
            other => Err(self.error(
                rec,
                Some(&col.name),
                format!("fields_from: {} is not a JSON object", cast::show(Input::Value(&other))),
            )),
        }
    }

    /// The fold of a key rule.
    pub(crate) fn fold(&self) -> Option<&Fold> {
        match &self.out {
            Out::Keys { fold, .. } => fold.as_ref(),
            _ => None,
        }
    }

    /// The value of a folding rule's `order_by` column in an input row.
    pub(crate) fn fold_order(&self, rec: &Record) -> Option<Value> {
        let (name, _) = self.fold()?.order_by.as_ref()?;
        match rec {
            Record::Row(row) => row.data.get(name).cloned(),
            _ => None,
        }
    }

    /// One column of an output key as bytes (`None` for NULL, unless the
    /// column writes NULL as "").
    fn key_bytes(&self, rec: Who, col: &Col, ctx: &mut Ctx) -> Result<Option<Vec<u8>>, TransformError> {
        let v = self.eval(rec, col, ctx)?;
        let out = render(&v, col.opts.json_style).map_err(|e| self.error(rec, Some(&col.name), e.0))?;
        Ok(match out {
            None if col.null_as_empty => Some(Vec::new()),
            other => other,
        })
    }

    /// A value, member or field name of an output key, which cannot be NULL.
    fn key_part(&self, rec: Who, col: &Option<Col>, ctx: &mut Ctx) -> Result<Vec<u8>, TransformError> {
        let col = col.as_ref().expect("compile() sets value/member/field for these types");
        self.key_bytes(rec, col, ctx)?
            .ok_or_else(|| self.error(rec, Some(&col.name), "is NULL; a Redis value cannot be NULL"))
    }
}

/// The error for fields no column maps: every one of them, so that one run
/// fixes the spec.
fn unmapped_message(what: &str, names: &[&[u8]]) -> String {
    let list = names.iter().map(|n| cast::show(Input::Bytes(n))).collect::<Vec<_>>().join(", ");
    let (them, are) = if names.len() == 1 { ("it", "is") } else { ("them", "are") };
    format!(
        "{} {what}{} {list} {are} not mapped to any column (map {them}, list {them} in ignore_fields, or set extra_fields = \"ignore\" or extra_into = \"column\")",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
    )
}

/// Null, or empty text: what `coalesce` passes over.
fn is_absent(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        _ => false,
    }
}

/// Puts the members named in `order` first, in that order, in every object of `v`.
fn reorder(v: &mut Value, order: &[String]) {
    match v {
        Value::Object(members) => {
            members.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
            members.iter_mut().for_each(|(_, m)| reorder(m, order));
        }
        Value::Array(items) => items.iter_mut().for_each(|m| reorder(m, order)),
        _ => {}
    }
}

fn parse_json_value(v: &Value) -> Result<Value, String> {
    match v {
        Value::String(s) => serde_json::from_str::<Value>(s).map_err(|e| format!("not valid JSON: {e}")),
        Value::Bytes(b) => serde_json::from_slice::<Value>(b).map_err(|e| format!("not valid JSON: {e}")),
        other => Ok(other.clone()),
    }
}

fn walk<'v>(doc: &'v Value, segs: &[String]) -> Option<&'v Value> {
    let mut cur = doc;
    for s in segs {
        cur = match cur {
            Value::Object(members) => members.iter().find(|(k, _)| k == s).map(|(_, v)| v)?,
            Value::Array(items) => items.get(s.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
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

/// Where a row rule's output rows go: decoded records, or encoded lines.
pub(crate) trait RowSink {
    /// Starts a row of `table` (`prefix` is its encoded start).
    fn begin(&mut self, table: &str, prefix: &[u8], columns: usize);
    /// One column (`name_json` is `"name":` encoded).
    fn col(&mut self, name: &str, name_json: &[u8], value: Value);
    /// Ends the row.
    fn end(&mut self);
}

/// Rows as records.
struct RecordRows<'a> {
    out: &'a mut Vec<Record>,
    table: String,
    data: Vec<(String, Value)>,
}

impl<'a> RecordRows<'a> {
    fn new(out: &'a mut Vec<Record>) -> RecordRows<'a> {
        RecordRows { out, table: String::new(), data: Vec::new() }
    }
}

impl RowSink for RecordRows<'_> {
    fn begin(&mut self, table: &str, _prefix: &[u8], columns: usize) {
        self.table = table.to_owned();
        self.data = Vec::with_capacity(columns);
    }
    fn col(&mut self, name: &str, _name_json: &[u8], value: Value) {
        self.data.push((name.to_owned(), value));
    }
    fn end(&mut self) {
        let table = std::mem::take(&mut self.table);
        let data = RowData(std::mem::take(&mut self.data));
        self.out.push(Record::Row(Row { table, data }));
    }
}

/// Rows encoded straight into a buffer, one line each (with its `\n`),
/// byte for byte as `Record::encode` writes the same row.
pub(crate) struct ByteRows<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) rows: u64,
    first: bool,
}

impl<'a> ByteRows<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> ByteRows<'a> {
        ByteRows { out, rows: 0, first: true }
    }
}

impl RowSink for ByteRows<'_> {
    fn begin(&mut self, _table: &str, prefix: &[u8], _columns: usize) {
        self.out.extend_from_slice(prefix);
        self.first = true;
    }
    fn col(&mut self, _name: &str, name_json: &[u8], value: Value) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(name_json);
        value.write_json(self.out);
    }
    fn end(&mut self) {
        self.out.extend_from_slice(b"}}\n");
        self.rows += 1;
    }
}

/// `"name":` as JSON writes an object key.
fn json_key(name: &str) -> Vec<u8> {
    let mut out = serde_json::to_vec(name).unwrap_or_default();
    out.push(b':');
    out
}

/// The first bytes of every row of `table`: `{"kind":"row","table":"t","data":{`.
fn row_prefix(table: &str) -> Vec<u8> {
    let mut out = b"{\"kind\":\"row\",\"table\":".to_vec();
    out.extend_from_slice(&serde_json::to_vec(table).unwrap_or_default());
    out.extend_from_slice(b",\"data\":{");
    out
}

/// A stream entry id `<ms>-<seq>` as numbers.
pub(crate) fn parse_entry_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    let num = |t: &str| if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) { t.parse().ok() } else { None };
    Some((num(ms)?, num(seq)?))
}
