//! The TOML spec: its serde model, and the checks that turn it into
//! [`Transformer`](crate::Transformer) rules with errors naming the rule and
//! field at fault.
//!
//! ```toml
//! [[schema]]                      # optional: declared target tables → `schema` lines
//! table = "api_keys"
//! primary_key = ["id"]
//! columns = [
//!   { name = "id", type = "string", max_len = 36, nullable = false },
//!   { name = "token_limit", type = "int64" },
//!   { name = "created_at", type = "datetime", precision = 3 },
//! ]
//!
//! [[rule]]                        # Redis keys → rows
//! name = "api_keys"
//! match = "apikey:{id}"           # captures become sources: from = "{id}"
//! type = "hash"
//! to_table = "api_keys"
//! columns = [
//!   { name = "id", from = "{id}" },
//!   { name = "token_limit", from = "tokenLimit" },          # cast from the declared type
//!   { name = "created_at", from = "createdAt", cast = "datetime" },
//! ]
//!
//! [[rule]]                        # rows → Redis keys (cache warm-up)
//! match_table = "api_keys"
//! to_key = "apikey:{id}"
//! to_type = "hash"
//! columns = [ { name = "tokenLimit", from = "token_limit" } ]
//! ```
//!
//! See `examples/README.md` for every option.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use decant_record::{TableSchema, Value};

/// The whole spec file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Declared target tables.
    #[serde(default)]
    pub schema: Vec<toml::Table>,
    /// Rules, tried in order; the first that matches a record wins.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
}

/// One `[[rule]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Name used in errors and summaries (default: `rule N` or the target).
    pub name: Option<String>,
    /// Redis key pattern with `{name}` captures.
    #[serde(rename = "match")]
    pub key_match: Option<String>,
    /// Redis type the key must have: string, hash, list, set, zset, stream.
    #[serde(rename = "type")]
    pub redis_type: Option<String>,
    /// Redis db the key must be in.
    pub db: Option<u32>,
    /// Table whose rows this rule takes (SQL sources).
    pub match_table: Option<String>,
    /// Only records whose sources equal these texts.
    #[serde(rename = "where", default)]
    pub filter: BTreeMap<String, toml::Value>,
    /// Only records whose sources match these key patterns:
    /// `where_match = { cache_key = "user:{_}" }`.
    #[serde(default)]
    pub where_match: BTreeMap<String, String>,
    /// Only records where these sources are NULL or missing.
    #[serde(default)]
    pub where_null: Vec<String>,
    /// Only records where these sources are present and not NULL.
    #[serde(default)]
    pub where_not_null: Vec<String>,
    /// Drop the matched records (on purpose, counted as skipped).
    #[serde(default)]
    pub drop: bool,
    /// Output rows into this table.
    pub to_table: Option<String>,
    /// Output Redis keys named by this template of columns.
    pub to_key: Option<String>,
    /// Type of the output keys: hash (default), string, set, zset, list.
    pub to_type: Option<String>,
    /// Db of the output keys (default 0).
    pub to_db: Option<u32>,
    /// One row per element (list, set, zset), per field (hash), per entry (stream).
    #[serde(default)]
    pub explode: bool,
    /// Output columns (rows) or hash fields (keys).
    #[serde(default, alias = "fields")]
    pub columns: Vec<ColumnSpec>,
    /// Hash fields / input columns not named by any column: error (default), ignore, keep.
    pub extra_fields: Option<String>,
    /// Hash fields / input columns deliberately left out (e.g. a field that
    /// repeats the key's id).
    #[serde(default)]
    pub ignore_fields: Vec<String>,
    /// Collect unnamed hash fields into this JSON column instead.
    pub extra_into: Option<String>,
    /// Row reshaping: renamed columns, `old = "new"`.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Row reshaping: dropped columns.
    #[serde(default)]
    pub drop_columns: Vec<String>,
    /// Row reshaping: casts, `column = "int"`.
    #[serde(default)]
    pub casts: BTreeMap<String, String>,
    /// Column holding the absolute expiry (epoch ms, or an ISO date-time) of output keys.
    pub ttl_from: Option<String>,
    /// Column holding a string key's value / a list element: a column name,
    /// or `{ from = "column", … }` with column options.
    pub value: Option<ValueSpec>,
    /// Column holding the field name of a one-field hash per row (with `value`).
    pub field: Option<ValueSpec>,
    /// Rows → a hash: a JSON object column whose members become the hash's
    /// fields (strings as they are, other values as JSON text), before the
    /// fields of `columns`.
    pub fields_from: Option<String>,
    /// Column holding a set/zset member.
    pub member: Option<ValueSpec>,
    /// Column holding a zset score.
    pub score: Option<ValueSpec>,
    /// NULL columns on output keys: omit (default) or empty.
    pub null: Option<String>,
    /// How JSON values are written as Redis text: compact (default), python
    /// (`json.dumps` defaults) or python_compact (`separators=(",", ":")`).
    pub json_style: Option<String>,
    /// Rows → keys: consecutive rows with the same key make one key (list
    /// elements, set/zset members, hash fields, stream entries), written
    /// when the next key starts; big keys in parts.
    #[serde(default)]
    pub fold: bool,
    /// With `fold`: the column whose values must rise within a key (a
    /// list's position); a row out of order is an error, never reordered.
    pub order_by: Option<String>,
    /// Column holding a stream entry's id (`to_type = "stream"`).
    pub entry_id: Option<ValueSpec>,
}

/// The source of a key's value, member, score or field: a column name, or a
/// column spec (`{ from = "data", json_order = […] }`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ValueSpec {
    /// A column name.
    Column(String),
    /// A column with options.
    Spec(Box<ColumnSpec>),
}

/// One output column (or hash field).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Output column / field name (not given for `value = { … }`).
    #[serde(default)]
    pub name: String,
    /// Source: a hash field or column name, `{capture}`, or `$key`, `$db`,
    /// `$type`, `$expire_at_ms`, `$value`, `$member`, `$score`, `$index`,
    /// `$field`, `$id`, `$table`. Default: the field named like the column.
    pub from: Option<String>,
    /// A constant instead of a source.
    #[serde(rename = "const")]
    pub constant: Option<toml::Value>,
    /// Cast: string, bytes, int, float, decimal, bool, datetime, timestamp, date, json.
    pub cast: Option<String>,
    /// Date-time input (`iso`, `epoch_s`, `epoch_ms`, `epoch_us`), or for
    /// `string` casts an output pattern (`%Y-%m-%dT%H:%M:%S.%3fZ`) or `json` / `json_python`.
    pub format: Option<String>,
    /// Dotted path into the source parsed as JSON (`model`, `a.b.0`).
    pub path: Option<String>,
    /// Value when the source is missing.
    pub default: Option<toml::Value>,
    /// Error when the source is missing (and there is no default).
    #[serde(default)]
    pub required: bool,
    /// An empty source text: null (default for typed casts), keep, default, error.
    pub empty: Option<String>,
    /// On output keys, a NULL value: omit or empty.
    pub null: Option<String>,
    /// Rounding of values finer than the column keeps: `half_even`,
    /// `half_up` or `truncate` (decimals to the scale, date-times to the
    /// precision). Without it, a value that does not fit is an error.
    pub round: Option<String>,
    /// Fraction digits of a date-time column (default: its `[[schema]]`
    /// declaration's `precision`).
    pub precision: Option<u8>,
    /// Fraction digits of a decimal column (default: its `[[schema]]`
    /// declaration's `scale`).
    pub scale: Option<u32>,
    /// Text built from sources: `"{key_id}:{date}"`, `"{date|%Y-%m}"`.
    pub template: Option<String>,
    /// Several sources: the first present and not empty wins.
    pub coalesce: Option<Vec<String>>,
    /// Member order of JSON objects in this column (listed members first, in
    /// this order, then the others): JSON stores such as MySQL 8 and
    /// PostgreSQL, and some exporters, do not keep the order the service wrote.
    pub json_order: Option<Vec<String>>,
}

/// A spec that is not valid: which rule and field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

const TABLE_KEYS: &[&str] = &[
    "table",
    "columns",
    "primary_key",
    "indexes",
    "foreign_keys",
    "charset",
    "collation",
    "comment",
    "dialect",
    "estimated_rows",
];
const COLUMN_KEYS: &[&str] = &[
    "name",
    "type",
    "nullable",
    "max_len",
    "fixed",
    "precision",
    "scale",
    "unsigned",
    "values",
    "len",
    "element",
    "auto_increment",
    "default",
    "default_expr",
    "source_type",
    "charset",
    "collation",
    "comment",
];

impl Spec {
    /// Parses the TOML text of a spec.
    pub fn parse(text: &str) -> Result<Spec, SpecError> {
        toml::from_str(text).map_err(|e| SpecError(e.to_string().trim_end().to_owned()))
    }

    /// The declared tables, checked for unknown keys.
    pub fn tables(&self) -> Result<Vec<TableSchema>, SpecError> {
        let mut out: Vec<TableSchema> = Vec::new();
        for (i, t) in self.schema.iter().enumerate() {
            let name = t.get("table").and_then(|v| v.as_str()).map(str::to_owned);
            let what = match &name {
                Some(n) => format!("[[schema]] table {n:?}"),
                None => format!("[[schema]] #{}", i + 1),
            };
            if name.is_none() {
                return Err(SpecError(format!("{what}: needs table = \"name\"")));
            }
            for k in t.keys() {
                if !TABLE_KEYS.contains(&k.as_str()) {
                    return Err(SpecError(format!("{what}: unknown key {k:?} (known: {})", TABLE_KEYS.join(", "))));
                }
            }
            if let Some(cols) = t.get("columns").and_then(|c| c.as_array()) {
                for c in cols {
                    let Some(ct) = c.as_table() else {
                        return Err(SpecError(format!("{what}: columns must be tables {{ name = …, type = … }}")));
                    };
                    for k in ct.keys() {
                        if !COLUMN_KEYS.contains(&k.as_str()) {
                            let cn = ct.get("name").and_then(|v| v.as_str()).unwrap_or("?");
                            return Err(SpecError(format!(
                                "{what}, column {cn:?}: unknown key {k:?} (known: {})",
                                COLUMN_KEYS.join(", ")
                            )));
                        }
                    }
                }
            }
            let schema: TableSchema = toml::Value::Table(t.clone())
                .try_into()
                .map_err(|e: toml::de::Error| SpecError(format!("{what}: {}", e.message())))?;
            if schema.columns.is_empty() {
                return Err(SpecError(format!("{what}: no columns")));
            }
            let mut names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
            names.sort_unstable();
            if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
                return Err(SpecError(format!("{what}: column {:?} declared twice", w[0])));
            }
            for k in schema.primary_key.iter().chain(schema.indexes.iter().flat_map(|i| i.columns.iter())) {
                if schema.column(k).is_none() {
                    return Err(SpecError(format!("{what}: key column {k:?} is not a declared column")));
                }
            }
            if out.iter().any(|s| s.table == schema.table) {
                return Err(SpecError(format!("{what}: declared twice")));
            }
            out.push(schema);
        }
        Ok(out)
    }
}

/// Converts a TOML value into a column value (date-times become ISO text).
pub fn toml_to_value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::Int(*i as i128),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_value).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_value(v))).collect()),
    }
}
