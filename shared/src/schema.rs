//! The `schema` line: one table's columns, keys and indexes in logical types.
//!
//! ```json
//! {"kind":"schema","table":"operators","columns":[
//!   {"name":"id","type":"int64","nullable":false,"auto_increment":true,"source_type":"bigint"},
//!   {"name":"email","type":"string","max_len":255},
//!   {"name":"created_at","type":"datetime","precision":6}],
//!  "primary_key":["id"],
//!  "indexes":[{"name":"index_operators_on_email","columns":["email"],"unique":true}]}
//! ```
//!
//! Optional attributes are omitted when absent; `nullable` defaults to `true`.
//!
//! Schema objects beyond columns and keys travel where the target has an
//! equivalent (always on a same-dialect copy):
//!
//! ```json
//! {"name":"last_update","type":"timestamp","nullable":false,"default_expr":"current_timestamp","on_update":"current_timestamp"}
//! {"name":"password","type":"string","max_len":40,"charset":"utf8mb4","collation":"utf8mb4_bin"}
//! ```
//!
//! a table's CHECK constraints in `"checks":[{"name":"chk_rating","clause":"rating between 0 and 5"}]`
//! and its generated columns, which rows leave out (the target computes them),
//! in `"generated":[{"name":"doubled","source_type":"int(11)","expr":"`rating` * 2","stored":false}]`
//! (clauses and expressions in the source's dialect). What a stream cannot
//! carry (views, triggers, routines, events, rules, special indexes) is named
//! by the exporter in a warning and its summary, and written as source DDL
//! with `--objects-file` ([`SchemaObject`]).

use serde::{Deserialize, Serialize};

use crate::value::Value;

/// The logical type of a column, independent of any SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the names are the documentation
pub enum LogicalType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Float32,
    Float64,
    /// Exact decimal: `precision`, `scale`; values are strings of digits.
    Decimal,
    /// Character string with `max_len` (characters); `fixed` for CHAR(n).
    String,
    /// Unbounded text.
    Text,
    /// Byte string with optional `max_len`; `fixed` for BINARY(n).
    Bytes,
    /// `YYYY-MM-DD`.
    Date,
    /// `HH:MM:SS[.ffffff]` (MySQL TIME may be negative or above 24 h).
    Time,
    /// Naive date-time `YYYY-MM-DDTHH:MM:SS[.f]`, `precision` fraction digits.
    Datetime,
    /// Zoned instant, written with `Z` or an offset.
    Timestamp,
    /// A duration (PostgreSQL interval), as the source prints it.
    Interval,
    /// MySQL YEAR.
    Year,
    /// A JSON document; values are nested JSON.
    Json,
    /// A UUID string.
    Uuid,
    /// One of `values`.
    Enum,
    /// A comma-separated subset of `values`.
    Set,
    /// Bit string of `len` bits, as an integer.
    Bit,
    /// An array of `element`, as a JSON array.
    Array,
}

impl LogicalType {
    /// True for the date and time types whose values `--time-precision` normalises.
    pub fn is_temporal(self) -> bool {
        matches!(self, LogicalType::Datetime | LogicalType::Timestamp | LogicalType::Time)
    }

    /// True for integer types.
    pub fn is_integer(self) -> bool {
        use LogicalType::*;
        matches!(self, Int8 | Int16 | Int32 | Int64 | Uint8 | Uint16 | Uint32 | Uint64 | Year)
    }
}

/// A value that is present, `null` included (serde maps `null` to `None`
/// for `Option`s by default).
fn present_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Logical type.
    #[serde(rename = "type")]
    pub ty: LogicalType,
    /// Whether NULL is allowed (default `true`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub nullable: bool,
    /// Maximum length: characters for strings, bytes for byte strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u64>,
    /// Fixed length (CHAR(n), BINARY(n)). A fixed-length `string`'s trailing
    /// pad spaces are not part of its value: the canonical form of
    /// [`crate::digest`] ignores them, as MySQL and PostgreSQL do.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fixed: bool,
    /// Decimal precision, or fraction digits of temporal types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Decimal scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Unsigned integer or decimal (MySQL).
    #[serde(default, skip_serializing_if = "is_false")]
    pub unsigned: bool,
    /// Allowed values of `enum` / `set` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// Width of `bit` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<u32>,
    /// Element type of `array` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<LogicalType>,
    /// AUTO_INCREMENT / identity / serial.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_increment: bool,
    /// A literal default value.
    /// `"default": null` is an explicit `DEFAULT NULL` (`Some(Value::Null)`);
    /// no `default` key is no default.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present_value")]
    pub default: Option<Value>,
    /// A default that is an expression, in portable spelling where one exists
    /// (`current_timestamp`), else as the source wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_expr: Option<String>,
    /// The exact type the source declared, e.g. `tinyint(1)`, `jsonb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Character set (MySQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// Collation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// Column comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The value the column takes when its row is updated (MySQL
    /// `ON UPDATE CURRENT_TIMESTAMP`), in the portable spelling
    /// `current_timestamp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<String>,
}

impl Column {
    /// A nullable column of the given type with no other attributes.
    pub fn new(name: impl Into<String>, ty: LogicalType) -> Column {
        Column {
            name: name.into(),
            ty,
            nullable: true,
            max_len: None,
            fixed: false,
            precision: None,
            scale: None,
            unsigned: false,
            values: None,
            len: None,
            element: None,
            auto_increment: false,
            default: None,
            default_expr: None,
            source_type: None,
            charset: None,
            collation: None,
            comment: None,
            on_update: None,
        }
    }
}

/// A CHECK constraint of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Constraint name.
    pub name: String,
    /// The condition, as the source's dialect writes it (without `CHECK`).
    pub clause: String,
}

/// A generated (computed) column. Rows do not carry its values; a
/// same-dialect target recreates it, another one names it as not carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedColumn {
    /// Column name.
    pub name: String,
    /// Its declared type in the source's dialect.
    pub source_type: String,
    /// The expression, in the source's dialect.
    pub expr: String,
    /// Stored (MySQL STORED / PERSISTENT, PostgreSQL STORED) rather than virtual.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stored: bool,
}

/// A schema object a stream does not carry (a view, trigger, routine, event,
/// rule, special index or generated column): named in the exporter's warning
/// and summary, and written as source DDL by `--objects-file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaObject {
    /// `view`, `trigger`, `procedure`, `function`, `event`, `rule`, `index`,
    /// `generated column`, …
    pub kind: String,
    /// The object's name (`table.column` for a generated column).
    pub name: String,
    /// Its definition in the source's dialect, for the user to adapt.
    pub ddl: String,
}

/// A secondary index or unique key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Index name.
    pub name: String,
    /// Indexed columns, in order.
    pub columns: Vec<String>,
    /// A unique key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Constraint name.
    pub name: String,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table.
    pub ref_table: String,
    /// Referenced columns.
    pub ref_columns: Vec<String>,
    /// `ON DELETE` action (`cascade`, `set null`, …) when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<String>,
    /// `ON UPDATE` action when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<String>,
}

/// One table's structure: the payload of a `schema` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Table name (may be `schema.table` for PostgreSQL non-public schemas).
    pub table: String,
    /// Columns in table order.
    pub columns: Vec<Column>,
    /// Primary key columns (empty when the table has none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// Secondary indexes and unique keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// Foreign keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// CHECK constraints (not those a logical type implies, such as
    /// MariaDB's `json_valid` on JSON columns).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Generated columns (not in `columns`, not in the rows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generated: Vec<GeneratedColumn>,
    /// Indexes with no portable equivalent (MySQL FULLTEXT / SPATIAL /
    /// expression, PostgreSQL GIN / GiST / partial / expression), with their
    /// source DDL: a same-dialect MySQL target recreates FULLTEXT and
    /// SPATIAL ones, any other target names them; `decant-verify --schema`
    /// compares their names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub special_indexes: Vec<SchemaObject>,
    /// Default character set of the table (MySQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// Default collation of the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// Table comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The dialect that declared `source_type`s: `mysql`, `postgres`, `sqlite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// The source's row estimate, for progress ETAs (not a promise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_rows: Option<u64>,
    /// A DynamoDB table's key: `"key_schema":{"partition_key":{"name":"pk","type":"S"},
    /// "sort_key":{"name":"sk","type":"N"}}` (`primary_key` names the same
    /// attributes, partition key first). Absent for SQL tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_schema: Option<KeySchema>,
}

/// A DynamoDB table's key: a partition key and an optional sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    /// The partition (HASH) key.
    pub partition_key: KeyAttribute,
    /// The sort (RANGE) key, if the table has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<KeyAttribute>,
}

/// One key attribute: its name and DynamoDB scalar type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    /// The attribute name.
    pub name: String,
    /// `S`, `N` or `B`.
    #[serde(rename = "type")]
    pub ty: KeyType,
}

/// The scalar types a DynamoDB key attribute can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    /// String.
    S,
    /// Number.
    N,
    /// Binary.
    B,
}

impl KeyType {
    /// `"S"`, `"N"` or `"B"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }
}

impl TableSchema {
    /// A table with the given columns and no keys.
    pub fn new(table: impl Into<String>, columns: Vec<Column>) -> TableSchema {
        TableSchema {
            table: table.into(),
            columns,
            primary_key: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            generated: Vec::new(),
            special_indexes: Vec::new(),
            charset: None,
            collation: None,
            comment: None,
            dialect: None,
            estimated_rows: None,
            key_schema: None,
        }
    }

    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// How decant lays a table out in a SQLite file, shared by `sqlite-import`
/// (which writes it) and `sqlite-export` (which reads it back).
pub mod sqlite_layout {
    /// The table in which `sqlite-import --create-tables` keeps, per table it
    /// created from another store's schema, that schema line and the
    /// `CREATE TABLE` text it ran: SQLite keeps declared types as written but
    /// has no place for a MySQL `enum(…)`, a collation or a PostgreSQL
    /// identity, and `sqlite-export` gives those back while the table's
    /// `CREATE TABLE` text is unchanged. `sqlite-export` never exports it.
    pub const SCHEMA_TABLE: &str = "decant_schema";

    /// The table `--state` keeps its progress in (never exported).
    pub const STATE_TABLE: &str = "decant_import_state";

    /// The SQLite name of index `index` of `table`. SQLite index names are
    /// per database (MySQL's are per table, so two tables' `idx_fk_store_id`
    /// would collide): `table__index`.
    pub fn index_name(table: &str, index: &str) -> String {
        format!("{table}__{index}")
    }

    /// The index's own name back from [`index_name`]'s; other names as they are.
    pub fn index_source_name<'a>(table: &str, sqlite_name: &'a str) -> &'a str {
        sqlite_name
            .strip_prefix(table)
            .and_then(|rest| rest.strip_prefix("__"))
            .filter(|rest| !rest.is_empty())
            .unwrap_or(sqlite_name)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn index_names_round_trip() {
            assert_eq!(index_name("film", "idx_title"), "film__idx_title");
            assert_eq!(index_source_name("film", "film__idx_title"), "idx_title");
            assert_eq!(index_source_name("film", "idx_title"), "idx_title");
            assert_eq!(index_source_name("film", "film__"), "film__");
            assert_eq!(index_source_name("film_actor", "film__x"), "film__x");
        }
    }
}
