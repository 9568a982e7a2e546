//! Type mapping: logical column types (from `schema` lines) to each dialect's
//! DDL, `--cast` overrides, and the reverse — a target column's declared SQL
//! type to the [`Kind`] that drives value conversion.
//!
//! Pure functions, no I/O: `--create-tables`, `--dry-run` and the value layer
//! all go through here, so one table of tests pins the whole mapping.
//!
//! The rules, per source and target type with ranges and precision, are
//! written down in docs/type-mapping.md (and checked row by row by
//! tests/tests/type_mapping.rs). In short: a same-dialect copy reuses
//! `source_type` verbatim; a MySQL TIME (a duration) becomes PostgreSQL
//! `interval hour to second(p)` and back; uint64 becomes `numeric(20,0)`;
//! SQLite gets type names that carry the logical type and the right
//! affinity (`SMALLINT UNSIGNED`, `DECIMAL TEXT(65,30)`, `TIMESTAMP(6)`);
//! AUTO_INCREMENT ⇄ identity ⇄ `INTEGER PRIMARY KEY`.

use std::fmt;

use decant_record::{Column, Index, LogicalType, TableSchema};

/// The SQL dialects decant imports into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// MySQL 8 / MariaDB.
    MySql,
    /// SQLite 3.
    Sqlite,
}

impl Dialect {
    /// The name used in `schema` lines' `dialect` field.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// True when a schema line's `dialect` names this dialect.
    pub fn is_same(self, schema_dialect: Option<&str>) -> bool {
        let Some(d) = schema_dialect else { return false };
        let d = d.to_ascii_lowercase();
        match self {
            Dialect::Postgres => matches!(d.as_str(), "postgres" | "postgresql" | "pg"),
            Dialect::MySql => matches!(d.as_str(), "mysql" | "mariadb"),
            Dialect::Sqlite => d == "sqlite",
        }
    }

    /// Quotes an identifier (`"x"` or `` `x` ``). A PostgreSQL `schema.table`
    /// name is quoted part by part.
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
            _ => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// Quotes a table name; for PostgreSQL `schema.table` becomes `"schema"."table"`.
    pub fn quote_table(self, table: &str) -> String {
        match (self, table.split_once('.')) {
            (Dialect::Postgres, Some((schema, name))) => format!("{}.{}", self.quote(schema), self.quote(name)),
            _ => self.quote(table),
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a target column holds, as far as value conversion cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Boolean.
    Bool,
    /// Integer in `min..=max`.
    Int {
        /// Smallest value.
        min: i128,
        /// Largest value.
        max: i128,
    },
    /// Floating point (`single` for 32-bit).
    Float {
        /// 32-bit.
        single: bool,
    },
    /// Exact decimal.
    Decimal {
        /// Total digits, when bounded.
        precision: Option<u32>,
        /// Fraction digits, when bounded.
        scale: Option<u32>,
    },
    /// Character string of at most `max_chars` characters.
    Text {
        /// Length limit in characters.
        max_chars: Option<u64>,
    },
    /// Byte string of at most `max_bytes`.
    Bytes {
        /// Length limit in bytes.
        max_bytes: Option<u64>,
    },
    /// Date.
    Date,
    /// Time of day (MySQL: a duration −838:59:59..838:59:59).
    Time,
    /// Naive date-time.
    Datetime,
    /// Zoned instant.
    Timestamp,
    /// PostgreSQL interval.
    Interval,
    /// MySQL YEAR.
    Year,
    /// JSON document.
    Json,
    /// UUID.
    Uuid,
    /// One of the values.
    Enum(Vec<String>),
    /// A subset of the values.
    Set(Vec<String>),
    /// Bit string of `n` bits.
    Bit(u32),
    /// Array of the element kind (PostgreSQL).
    Array(Box<Kind>),
    /// Anything else: values are passed as text.
    Other,
}

/// A column of a target table as the importer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetColumn {
    /// Column name.
    pub name: String,
    /// The declared SQL type, as the database shows it.
    pub sql_type: String,
    /// What the column holds.
    pub kind: Kind,
    /// NULL allowed.
    pub nullable: bool,
    /// Identity / auto-increment / serial column.
    pub identity: bool,
}

/// One `--cast` rule: `type:LOGICAL=SQL`, `type:SOURCE_TYPE=SQL`,
/// `column:TABLE.COLUMN=SQL` or `column:COLUMN=SQL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastRule {
    target: CastTarget,
    sql_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CastTarget {
    Logical(LogicalType),
    SourceType(String),
    Column { table: Option<String>, column: String },
}

impl CastRule {
    /// Parses a rule such as `type:datetime=timestamptz` or `column:users.email=citext`.
    pub fn parse(text: &str) -> Result<CastRule, String> {
        let bad = |why: &str| {
            format!("bad --cast rule {text:?}: {why} (expected type:LOGICAL=SQLTYPE or column:[TABLE.]COLUMN=SQLTYPE)")
        };
        let (lhs, sql_type) = text.split_once('=').ok_or_else(|| bad("no '='"))?;
        let sql_type = sql_type.trim();
        if sql_type.is_empty() {
            return Err(bad("empty SQL type"));
        }
        let (what, name) = lhs.split_once(':').ok_or_else(|| bad("no 'type:' or 'column:' prefix"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("empty name"));
        }
        let target = match what.trim() {
            "type" => match serde_json::from_value::<LogicalType>(serde_json::Value::String(name.to_owned())) {
                Ok(t) => CastTarget::Logical(t),
                Err(_) => CastTarget::SourceType(name.to_ascii_lowercase()),
            },
            "column" => match name.rsplit_once('.') {
                Some((t, c)) => CastTarget::Column { table: Some(t.to_owned()), column: c.to_owned() },
                None => CastTarget::Column { table: None, column: name.to_owned() },
            },
            other => return Err(bad(&format!("unknown selector {other:?}"))),
        };
        Ok(CastRule { target, sql_type: sql_type.to_owned() })
    }

    fn matches(&self, table: &str, col: &Column) -> bool {
        match &self.target {
            CastTarget::Logical(t) => *t == col.ty,
            CastTarget::SourceType(s) => col.source_type.as_deref().is_some_and(|st| st.eq_ignore_ascii_case(s)),
            CastTarget::Column { table: t, column } => column == &col.name && t.as_deref().is_none_or(|t| t == table),
        }
    }
}

/// The rules in force: column rules first, then type rules, in the order given.
pub fn cast_for<'a>(rules: &'a [CastRule], table: &str, col: &Column) -> Option<&'a str> {
    let column_rule = rules.iter().find(|r| matches!(r.target, CastTarget::Column { .. }) && r.matches(table, col));
    column_rule.or_else(|| rules.iter().find(|r| r.matches(table, col))).map(|r| r.sql_type.as_str())
}

/// Why a column cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table {table}, column {column:?}: {message}")]
pub struct MapError {
    table: String,
    column: String,
    message: String,
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The DDL type of `col` in `dialect` (no NULL/DEFAULT/identity clauses).
/// `indexed` says the column is part of a key (MySQL cannot index unbounded text).
pub fn column_type(dialect: Dialect, col: &Column, indexed: bool) -> String {
    use LogicalType::*;
    let p = col.precision;
    let frac = |default: u32| p.unwrap_or(default).min(6);
    let len = col.max_len;
    match dialect {
        Dialect::Postgres => match col.ty {
            Bool => "boolean".into(),
            Int8 | Int16 | Uint8 => "smallint".into(),
            Int32 | Uint16 => "integer".into(),
            Int64 | Uint32 => "bigint".into(),
            Uint64 => "numeric(20,0)".into(),
            Float32 => "real".into(),
            Float64 => "double precision".into(),
            Decimal => match (p, col.scale) {
                (Some(p), s) => format!("numeric({p},{})", s.unwrap_or(0)),
                _ => "numeric".into(),
            },
            String => match len {
                Some(n) if n > 0 && n <= 10_485_760 => format!("varchar({n})"),
                _ => "text".into(),
            },
            Text | Enum | Set => "text".into(),
            Bytes => "bytea".into(),
            Date => "date".into(),
            Time => format!("time({}) without time zone", frac(6)),
            Datetime => format!("timestamp({}) without time zone", frac(6)),
            Timestamp => format!("timestamp({}) with time zone", frac(6)),
            Interval => "interval".into(),
            Year => "smallint".into(),
            Json => "jsonb".into(),
            Uuid => "uuid".into(),
            Bit => format!("bit({})", col.len.unwrap_or(1).max(1)),
            Array => {
                let mut elem = Column::new("", col.element.unwrap_or(Text));
                elem.precision = col.precision;
                elem.scale = col.scale;
                let inner = column_type(dialect, &elem, false);
                format!("{inner}[]")
            }
        },
        Dialect::MySql => {
            let unsigned =
                if col.unsigned || matches!(col.ty, Uint8 | Uint16 | Uint32 | Uint64) { " unsigned" } else { "" };
            match col.ty {
                Bool => "tinyint(1)".into(),
                Int8 | Uint8 => format!("tinyint{unsigned}"),
                Int16 | Uint16 => format!("smallint{unsigned}"),
                Int32 | Uint32 => format!("int{unsigned}"),
                Int64 | Uint64 => format!("bigint{unsigned}"),
                Float32 => "float".into(),
                Float64 => "double".into(),
                Decimal => match (p, col.scale) {
                    (Some(p), s) if p <= 65 && s.unwrap_or(0) <= 30 => {
                        format!("decimal({p},{}){unsigned}", s.unwrap_or(0))
                    }
                    _ => "decimal(65,30)".into(),
                },
                String => match len {
                    Some(n) if col.fixed && n <= 255 => format!("char({n})"),
                    Some(n) if n > 0 && n <= 16_383 => format!("varchar({n})"),
                    _ if indexed => "varchar(768)".into(),
                    Some(n) if n <= 4_194_303 => "mediumtext".into(),
                    _ => "longtext".into(),
                },
                Text if indexed => "varchar(768)".into(),
                Text => "longtext".into(),
                Bytes => match len {
                    Some(n) if col.fixed && n <= 255 => format!("binary({n})"),
                    Some(n) if n > 0 && n <= 65_535 => format!("varbinary({n})"),
                    _ if indexed => "varbinary(3072)".into(),
                    _ => "longblob".into(),
                },
                Date => "date".into(),
                // No precision (SQLite, hand-written streams): keep microseconds.
                Time => with_fraction("time", frac(6)),
                Datetime => with_fraction("datetime", frac(6)),
                Timestamp => with_fraction("timestamp", frac(6)),
                // An interval of hours to seconds (what a MySQL TIME becomes in
                // PostgreSQL) is a TIME again; other intervals (months, days)
                // have no MySQL type and stay ISO 8601 text.
                Interval => match hour_to_second_precision(col) {
                    Some(p) => with_fraction("time", p),
                    None => "varchar(100)".into(),
                },
                Year => "year".into(),
                Json => "json".into(),
                Uuid => "char(36)".into(),
                Enum | Set => {
                    let values: Vec<std::string::String> = col.values.iter().flatten().map(|v| sql_string(v)).collect();
                    if values.is_empty() {
                        "varchar(255)".into()
                    } else {
                        format!("{}({})", if col.ty == Enum { "enum" } else { "set" }, values.join(","))
                    }
                }
                Bit => format!("bit({})", col.len.unwrap_or(1).clamp(1, 64)),
                Array => "json".into(),
            }
        }
        Dialect::Sqlite => {
            let unsigned = if matches!(col.ty, Uint8 | Uint16 | Uint32 | Uint64) { " UNSIGNED" } else { "" };
            match col.ty {
                Bool => "BOOLEAN".into(),
                Int8 | Uint8 => format!("TINYINT{unsigned}"),
                Int16 | Uint16 => format!("SMALLINT{unsigned}"),
                Int32 | Uint32 => format!("INT{unsigned}"),
                Int64 | Uint64 => format!("BIGINT{unsigned}"),
                Float32 => "FLOAT".into(),
                Float64 => "DOUBLE".into(),
                // NUMERIC affinity keeps 15 significant digits (a double):
                // beyond that the digits are kept as text. `DECIMAL TEXT(p,s)`
                // has TEXT affinity (it contains "TEXT") and still names p and s.
                Decimal => match (p, col.scale) {
                    (Some(p), s) if p <= 15 => format!("DECIMAL({p},{})", s.unwrap_or(0)),
                    (Some(p), s) => format!("DECIMAL TEXT({p},{})", s.unwrap_or(0)),
                    _ => "DECIMAL TEXT".into(),
                },
                String => match len {
                    Some(n) if col.fixed => format!("CHAR({n})"),
                    Some(n) => format!("VARCHAR({n})"),
                    None => "TEXT".into(),
                },
                Text | Set | Enum => "TEXT".into(),
                // INTEGER affinity ("INT"), but interval text is never a
                // well-formed integer, so it stays text.
                Interval => "INTERVAL".into(),
                Bytes => match len {
                    Some(n) if col.fixed => format!("BINARY({n})"),
                    Some(n) => format!("VARBINARY({n})"),
                    None => "BLOB".into(),
                },
                Date => "DATE".into(),
                // NUMERIC affinity, but ISO 8601 text is never a number: it
                // stays text, as written.
                Time => with_fraction_args("TIME", p),
                Datetime => with_fraction_args("DATETIME", p),
                Timestamp => with_fraction_args("TIMESTAMP", p),
                Year => "YEAR".into(),
                Json | Array => "JSON".into(),
                Uuid => "UUID".into(),
                Bit => format!("BIT({})", col.len.unwrap_or(1).clamp(1, 64)),
            }
        }
    }
}

/// `BASE(p)` when the precision is known, else `BASE` (SQLite type names).
fn with_fraction_args(base: &str, p: Option<u32>) -> String {
    match p {
        Some(p) => format!("{base}({})", p.min(9)),
        None => base.to_owned(),
    }
}

/// The fraction digits of a PostgreSQL `interval hour to second[(p)]` column.
fn hour_to_second_precision(col: &Column) -> Option<u32> {
    let st = col.source_type.as_deref()?.trim().to_ascii_lowercase();
    let rest = st.strip_prefix("interval hour to second")?;
    Some(paren_args(rest).first().map(|p| *p as u32).unwrap_or(6).min(6))
}

fn with_fraction(base: &str, p: u32) -> String {
    if p == 0 {
        base.to_owned()
    } else {
        format!("{base}({p})")
    }
}

/// A CHECK constraint that keeps a mapped column to its source's range, if any.
fn range_check(dialect: Dialect, col: &Column, quoted: &str) -> Option<String> {
    use LogicalType::*;
    let range = match (dialect, col.ty) {
        (Dialect::Postgres, Int8) => Some((-128i128, 127i128)),
        (Dialect::Postgres, Uint8) => Some((0, 255)),
        (Dialect::Postgres, Uint16) => Some((0, 65_535)),
        (Dialect::Postgres, Uint32) => Some((0, 4_294_967_295)),
        (Dialect::Postgres, Uint64) => Some((0, u64::MAX as i128)),
        _ => None,
    };
    if let Some((lo, hi)) = range {
        return Some(format!("CHECK ({quoted} BETWEEN {lo} AND {hi})"));
    }
    if col.ty == Enum && dialect != Dialect::MySql {
        let values: Vec<std::string::String> = col.values.iter().flatten().map(|v| sql_string(v)).collect();
        if !values.is_empty() {
            return Some(format!("CHECK ({quoted} IN ({}))", values.join(", ")));
        }
    }
    if dialect == Dialect::Postgres && col.ty == Decimal && col.unsigned {
        return Some(format!("CHECK ({quoted} >= 0)"));
    }
    None
}

/// A default value as a literal of `dialect`, when it is portable.
fn default_clause(dialect: Dialect, col: &Column, same_dialect: bool) -> Option<String> {
    use decant_record::Value;
    if col.auto_increment {
        return None;
    }
    if let Some(v) = &col.default {
        let lit = match v {
            Value::Null => "NULL".to_owned(),
            Value::Bool(b) => match dialect {
                Dialect::Postgres if col.ty == LogicalType::Bool => b.to_string(),
                _ => (*b as u8).to_string(),
            },
            Value::Int(i) => {
                if dialect == Dialect::Postgres && col.ty == LogicalType::Bool {
                    (*i != 0).to_string()
                } else {
                    i.to_string()
                }
            }
            Value::Float(f) if f.is_finite() => format!("{f:e}"),
            Value::String(s) => {
                if dialect == Dialect::Postgres && col.ty == LogicalType::Bool {
                    return None;
                }
                sql_string(s)
            }
            _ => return None,
        };
        // MySQL refuses literal defaults on TEXT/BLOB/JSON columns (before 8.0.13).
        if dialect == Dialect::MySql && matches!(col.ty, LogicalType::Text | LogicalType::Json | LogicalType::Array) {
            return None;
        }
        return Some(format!("DEFAULT {lit}"));
    }
    let expr = col.default_expr.as_deref()?;
    let lower = expr.trim().to_ascii_lowercase();
    if matches!(lower.as_str(), "current_timestamp" | "current_timestamp()" | "now()")
        || lower.starts_with("current_timestamp(")
    {
        if !col.ty.is_temporal() || col.ty == LogicalType::Time {
            return None;
        }
        return Some(match dialect {
            Dialect::Sqlite => "DEFAULT CURRENT_TIMESTAMP".into(),
            Dialect::MySql => {
                let p = col.precision.unwrap_or(0).min(6);
                if p > 0 {
                    format!("DEFAULT CURRENT_TIMESTAMP({p})")
                } else {
                    "DEFAULT CURRENT_TIMESTAMP".into()
                }
            }
            Dialect::Postgres => "DEFAULT CURRENT_TIMESTAMP".into(),
        });
    }
    same_dialect.then(|| format!("DEFAULT {expr}"))
}

/// ` ON UPDATE CURRENT_TIMESTAMP[(p)]` for a MySQL date-time column; `None`
/// where the target has no such clause.
fn on_update_clause(dialect: Dialect, col: &Column, expr: &str) -> Option<String> {
    let lower = expr.trim().to_ascii_lowercase();
    let current = lower == "current_timestamp" || lower.starts_with("current_timestamp(") || lower == "now()";
    if dialect != Dialect::MySql || !current || !matches!(col.ty, LogicalType::Datetime | LogicalType::Timestamp) {
        return None;
    }
    Some(match col.precision.unwrap_or(0).min(6) {
        0 => " ON UPDATE CURRENT_TIMESTAMP".to_owned(),
        p => format!(" ON UPDATE CURRENT_TIMESTAMP({p})"),
    })
}

/// The name of the constraint that marks a table created without its
/// primary key, which is still due ([`DdlOptions::primary_key_after`]).
pub const PK_PENDING: &str = "decant_primary_key_pending";

/// Options of table creation.
#[derive(Debug, Clone, Default)]
pub struct DdlOptions {
    /// `--cast` rules.
    pub casts: Vec<CastRule>,
    /// MySQL table character set (`utf8mb4` by default).
    pub charset: Option<String>,
    /// MySQL table collation (`utf8mb4_unicode_ci` by default).
    pub collation: Option<String>,
    /// PostgreSQL: the primary key left out of `CREATE TABLE` and given as
    /// [`TableDdl::primary_key`], to be added after the data (one sorted
    /// index build instead of a btree insert per row).
    pub primary_key_after: bool,
}

/// The statements that create a table and, separately, those to run after
/// the data is loaded (secondary indexes, unique keys, foreign keys).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableDdl {
    /// `CREATE TABLE IF NOT EXISTS …` (plus PostgreSQL comments).
    pub create: Vec<String>,
    /// Indexes and unique keys, created after the data.
    pub indexes: Vec<String>,
    /// MySQL: all of `indexes` in one `ALTER TABLE` (InnoDB builds them in
    /// one scan of the table instead of one scan each); `None` for fewer
    /// than two indexes and for other dialects.
    pub indexes_combined: Option<String>,
    /// Foreign keys, created after every table's data.
    pub foreign_keys: Vec<String>,
    /// With [`DdlOptions::primary_key_after`]: `ALTER TABLE … ADD PRIMARY KEY …`.
    pub primary_key: Option<String>,
    /// Special indexes a same-dialect MySQL copy recreates (FULLTEXT,
    /// SPATIAL), one statement each, after `indexes`.
    pub special_indexes: Vec<String>,
    /// Schema objects of the source this target cannot carry (an ON UPDATE
    /// clause into PostgreSQL, a MySQL CHECK clause into another dialect, a
    /// column collation), one message each, for a warning and the summary.
    pub not_carried: Vec<String>,
    /// What the target cannot hold exactly as the source declared it, said
    /// before the first row (the importer prints each as a warning).
    pub notes: Vec<String>,
}

/// A PostgreSQL index definition (`pg_get_indexdef`: `CREATE [UNIQUE] INDEX
/// name ON [ONLY] schema.table USING method (…) …`) on `table` instead of the
/// table it was read from; `None` when it does not have that shape.
fn retarget_pg_index(ddl: &str, table: &str) -> Option<String> {
    let on = ddl.find(" ON ")? + " ON ".len();
    let rest = &ddl[on..];
    let only = if rest.starts_with("ONLY ") { "ONLY " } else { "" };
    let using = rest.find(" USING ")?;
    Some(format!("{}{only}{table}{}", &ddl[..on], &rest[using..]))
}

/// The declared type a column gets: a `--cast` rule, else the source type for
/// a same-dialect copy, else the mapping above.
pub fn declared_type(dialect: Dialect, schema: &TableSchema, col: &Column, opts: &DdlOptions) -> String {
    if let Some(t) = cast_for(&opts.casts, &schema.table, col) {
        return t.to_owned();
    }
    let indexed = schema.primary_key.contains(&col.name)
        || schema.indexes.iter().any(|i| i.columns.contains(&col.name))
        || schema.foreign_keys.iter().any(|f| f.columns.contains(&col.name));
    // A `time` is a time of day only when PostgreSQL declared it; MySQL's
    // TIME (and a time of unknown origin) is a duration up to ±838:59:59,
    // which only an interval holds (`--cast column:t.c=time` for a time of day).
    if dialect == Dialect::Postgres && col.ty == LogicalType::Time && !dialect.is_same(schema.dialect.as_deref()) {
        // HOUR TO SECOND: a duration in hours, minutes and seconds, which
        // tells a PostgreSQL → MySQL copy to make it a TIME again.
        return match col.precision {
            Some(p) => format!("interval hour to second({})", p.min(6)),
            None => "interval hour to second".into(),
        };
    }
    if dialect.is_same(schema.dialect.as_deref()) {
        if let Some(st) = col.source_type.as_deref().filter(|s| !s.trim().is_empty()) {
            // PostgreSQL enum types are user-defined: the target may not have them.
            if !(dialect == Dialect::Postgres && matches!(col.ty, LogicalType::Enum | LogicalType::Set)) {
                return st.to_owned();
            }
        }
    }
    column_type(dialect, col, indexed)
}

/// Builds the DDL of a table for `dialect`.
pub fn table_ddl(dialect: Dialect, schema: &TableSchema, opts: &DdlOptions) -> Result<TableDdl, MapError> {
    let q = |s: &str| dialect.quote(s);
    let same = dialect.is_same(schema.dialect.as_deref());
    let table = dialect.quote_table(&schema.table);
    if schema.columns.is_empty() {
        return Err(MapError { table: schema.table.clone(), column: String::new(), message: "no columns".into() });
    }
    for k in &schema.primary_key {
        if schema.column(k).is_none() {
            return Err(MapError {
                table: schema.table.clone(),
                column: k.clone(),
                message: "primary key column is not a column of the table".into(),
            });
        }
    }
    let sqlite_rowid = dialect == Dialect::Sqlite
        && schema.primary_key.len() == 1
        && schema.column(&schema.primary_key[0]).is_some_and(|c| c.auto_increment && c.ty.is_integer());
    let mut defs = Vec::new();
    let mut out = TableDdl::default();
    let lost = |what: String| format!("table {}: {what}", schema.table);
    for col in &schema.columns {
        let ty = declared_type(dialect, schema, col, opts);
        let mut def = format!("{} {ty}", q(&col.name));
        // A column's own collation (one that is not its table's default).
        if let Some(coll) = col.collation.as_deref().filter(|c| Some(*c) != schema.collation.as_deref()) {
            if same && dialect == Dialect::MySql {
                match col.charset.as_deref() {
                    Some(cs) => def.push_str(&format!(" CHARACTER SET {cs} COLLATE {coll}")),
                    None => def.push_str(&format!(" COLLATE {coll}")),
                }
            } else if same && dialect == Dialect::Postgres {
                def.push_str(&format!(" COLLATE {}", q(coll)));
            } else {
                out.not_carried.push(lost(format!(
                    "column {:?}: collation {coll} is not carried (the column gets the target's default)",
                    col.name
                )));
            }
        }
        let cast = cast_for(&opts.casts, &schema.table, col).is_some();
        if sqlite_rowid && schema.primary_key[0] == col.name {
            // Only the exact spelling INTEGER PRIMARY KEY makes the rowid alias.
            def = format!("{} INTEGER PRIMARY KEY", q(&col.name));
            defs.push(def);
            continue;
        }
        if col.auto_increment && col.ty.is_integer() && !cast {
            match dialect {
                Dialect::Postgres if !(same && ty.contains("serial")) && ty != "numeric(20,0)" => {
                    def.push_str(" GENERATED BY DEFAULT AS IDENTITY")
                }
                Dialect::MySql => def.push_str(" AUTO_INCREMENT"),
                _ => {}
            }
        }
        if !col.nullable {
            def.push_str(" NOT NULL");
        } else if dialect == Dialect::MySql && ty.starts_with("timestamp") {
            // Without an explicit NULL, old MySQL defaults make TIMESTAMP NOT NULL.
            def.push_str(" NULL");
        }
        if let Some(d) = default_clause(dialect, col, same) {
            def.push(' ');
            def.push_str(&d);
        }
        if let Some(expr) = &col.on_update {
            match on_update_clause(dialect, col, expr) {
                Some(clause) => def.push_str(&clause),
                None => out.not_carried.push(lost(format!(
                    "column {:?}: ON UPDATE {expr} is not carried ({dialect} has no such clause: a trigger can do it)",
                    col.name
                ))),
            }
        }
        // A same-dialect copy keeps the source's own type, except a
        // PostgreSQL enum type, which becomes text: that one gets its CHECK.
        let enum_as_text = same && dialect == Dialect::Postgres && col.ty == LogicalType::Enum;
        if !cast && (!same || enum_as_text) {
            if let Some(check) = range_check(dialect, col, &q(&col.name)) {
                def.push(' ');
                def.push_str(&check);
            }
        }
        if dialect == Dialect::MySql {
            if let Some(c) = &col.comment {
                def.push_str(&format!(" COMMENT {}", sql_string(c)));
            }
        }
        defs.push(def);
    }
    for g in &schema.generated {
        if same {
            let how = if g.stored { "STORED" } else { "VIRTUAL" };
            defs.push(match dialect {
                Dialect::MySql => format!("{} {} AS ({}) {how}", q(&g.name), g.source_type, g.expr),
                _ => format!("{} {} GENERATED ALWAYS AS ({}) {how}", q(&g.name), g.source_type, g.expr),
            });
        } else {
            out.not_carried.push(lost(format!(
                "generated column {:?} ({}) is not carried (its expression is in the source's dialect)",
                g.name, g.expr
            )));
        }
    }
    for index in &schema.special_indexes {
        // Same engine: the definition the source server reported, run as is
        // (PostgreSQL's names its table schema-qualified: pointed at this one).
        let recreated = match dialect {
            _ if !same || !index.ddl.starts_with("CREATE ") => None,
            Dialect::MySql => Some(index.ddl.clone()),
            Dialect::Postgres => retarget_pg_index(&index.ddl, &table),
            Dialect::Sqlite => None,
        };
        if let Some(ddl) = recreated {
            out.special_indexes.push(ddl);
        } else {
            out.not_carried.push(lost(format!(
                "{} {:?} is not carried (no equivalent here; its source DDL: {})",
                index.kind, index.name, index.ddl
            )));
        }
    }
    for check in &schema.checks {
        if same {
            defs.push(format!("CONSTRAINT {} CHECK ({})", q(&check.name), check.clause));
        } else {
            out.not_carried.push(lost(format!(
                "CHECK constraint {:?} ({}) is not carried (written in the source's dialect)",
                check.name, check.clause
            )));
        }
    }
    if !schema.primary_key.is_empty() && !sqlite_rowid {
        let cols: Vec<String> = schema.primary_key.iter().map(|c| q(c)).collect();
        if opts.primary_key_after && dialect == Dialect::Postgres {
            // A marker until then, so a later run knows the key is still
            // due (a run that stopped before adding it) and adds it; the key
            // gets the name the inline clause would give it.
            defs.push(format!("CONSTRAINT {} CHECK (true)", q(PK_PENDING)));
            out.primary_key = Some(format!(
                "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {}, ADD PRIMARY KEY ({})",
                q(PK_PENDING),
                cols.join(", ")
            ));
        } else {
            defs.push(format!("PRIMARY KEY ({})", cols.join(", ")));
        }
    }
    if dialect == Dialect::Sqlite {
        // SQLite cannot add a foreign key to an existing table: they are part
        // of CREATE TABLE (the importer turns their enforcement off while it
        // loads, so the order of the tables does not matter).
        for fk in &schema.foreign_keys {
            defs.push(format!("CONSTRAINT {} {}", q(&fk.name), fk_clause(dialect, fk)));
        }
    }
    if dialect == Dialect::MySql {
        // AUTO_INCREMENT needs a key that starts with the column, now.
        for col in schema.columns.iter().filter(|c| c.auto_increment) {
            if schema.primary_key.first() != Some(&col.name) {
                defs.push(format!("KEY ({})", q(&col.name)));
            }
        }
    }
    let mut create = format!("CREATE TABLE IF NOT EXISTS {table} (\n  {}\n)", defs.join(",\n  "));
    if dialect == Dialect::MySql {
        let (charset, collation) = if same {
            (
                opts.charset.clone().or_else(|| schema.charset.clone()).unwrap_or_else(|| "utf8mb4".into()),
                opts.collation.clone().or_else(|| schema.collation.clone()),
            )
        } else {
            (opts.charset.clone().unwrap_or_else(|| "utf8mb4".into()), opts.collation.clone())
        };
        let collation =
            collation.unwrap_or_else(|| if charset == "utf8mb4" { "utf8mb4_unicode_ci".into() } else { String::new() });
        create.push_str(&format!(" ENGINE=InnoDB DEFAULT CHARSET={charset}"));
        if !collation.is_empty() {
            create.push_str(&format!(" COLLATE={collation}"));
        }
        if let Some(c) = &schema.comment {
            create.push_str(&format!(" COMMENT={}", sql_string(c)));
        }
    }
    out.create.push(create);
    if dialect == Dialect::Postgres {
        if let Some(c) = &schema.comment {
            out.create.push(format!("COMMENT ON TABLE {table} IS {}", sql_string(c)));
        }
        for col in &schema.columns {
            if let Some(c) = &col.comment {
                out.create.push(format!("COMMENT ON COLUMN {table}.{} IS {}", q(&col.name), sql_string(c)));
            }
        }
    }
    for index in &schema.indexes {
        out.indexes.push(index_ddl(dialect, &schema.table, index, same));
    }
    if dialect == Dialect::MySql && schema.indexes.len() > 1 {
        let adds: Vec<String> = schema
            .indexes
            .iter()
            .map(|index| {
                let cols: Vec<String> = index.columns.iter().map(|c| q(c)).collect();
                let unique = if index.unique { "UNIQUE " } else { "" };
                format!("ADD {unique}INDEX {} ({})", q(&index.name), cols.join(", "))
            })
            .collect();
        out.indexes_combined = Some(format!("ALTER TABLE {table} {}", adds.join(", ")));
    }
    if dialect != Dialect::Sqlite {
        for fk in &schema.foreign_keys {
            let fk = target_fk(dialect, schema, fk, &mut out.notes);
            out.foreign_keys.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {} {}",
                q(&fk.name),
                fk_clause(dialect, &fk)
            ));
        }
    }
    out.notes.extend(range_notes(dialect, schema, opts));
    Ok(out)
}

/// The foreign key as the target can declare it. MySQL refuses `ON DELETE /
/// ON UPDATE SET NULL` on a NOT NULL column (PostgreSQL accepts it and fails
/// when it fires, as a RESTRICT would): the clause is left out, which in
/// MySQL means RESTRICT, and a note says so.
fn target_fk(
    dialect: Dialect,
    schema: &TableSchema,
    fk: &decant_record::ForeignKey,
    notes: &mut Vec<String>,
) -> decant_record::ForeignKey {
    let mut fk = fk.clone();
    if dialect != Dialect::MySql {
        return fk;
    }
    let not_null = fk.columns.iter().any(|c| schema.column(c).is_some_and(|c| !c.nullable));
    let name = fk.name.clone();
    for (clause, action) in [("ON DELETE", &mut fk.on_delete), ("ON UPDATE", &mut fk.on_update)] {
        if not_null && action.as_deref().is_some_and(|a| a.eq_ignore_ascii_case("set null")) {
            *action = None;
            notes.push(format!(
                "table {}: foreign key {name} is {clause} SET NULL on a NOT NULL column, which MySQL refuses: \
                 created without it (RESTRICT; the source would have failed such a change too)",
                schema.table
            ));
        }
    }
    fk
}

/// Columns whose source values can lie outside what the type picked for
/// them holds: said at create time, before any row (such rows are then
/// rejected one by one, naming the column, never stored changed).
fn range_notes(dialect: Dialect, schema: &TableSchema, opts: &DdlOptions) -> Vec<String> {
    let mut notes = Vec::new();
    if dialect != Dialect::MySql || dialect.is_same(schema.dialect.as_deref()) {
        return notes;
    }
    for col in &schema.columns {
        if cast_for(&opts.casts, &schema.table, col).is_some() {
            continue;
        }
        let what = match col.ty {
            LogicalType::Interval if hour_to_second_precision(col).is_some() => {
                "MySQL TIME holds -838:59:59 .. 838:59:59 only".to_owned()
            }
            LogicalType::Timestamp => format!(
                "MySQL TIMESTAMP holds 1970-01-01 00:00:01 .. 2038-01-19 03:14:07 UTC only \
                 (--cast column:{}.{}=datetime(6) keeps years 1000..9999 as UTC date-times)",
                schema.table, col.name
            ),
            LogicalType::Decimal if col.precision.is_none_or(|p| p > 65) || col.scale.is_some_and(|s| s > 30) => {
                "MySQL DECIMAL holds at most 65 digits, 30 after the point: decimal(65,30)".to_owned()
            }
            _ => continue,
        };
        notes.push(format!(
            "table {}, column {:?} ({}): {what}; values outside it are rejected, naming the row",
            schema.table,
            col.name,
            col.source_type.clone().unwrap_or_else(|| format!("{:?}", col.ty).to_ascii_lowercase())
        ));
    }
    notes
}

/// `FOREIGN KEY (…) REFERENCES t (…) [ON DELETE …] [ON UPDATE …]`.
fn fk_clause(dialect: Dialect, fk: &decant_record::ForeignKey) -> String {
    let cols: Vec<String> = fk.columns.iter().map(|c| dialect.quote(c)).collect();
    let refs: Vec<String> = fk.ref_columns.iter().map(|c| dialect.quote(c)).collect();
    let mut sql = format!(
        "FOREIGN KEY ({}) REFERENCES {} ({})",
        cols.join(", "),
        dialect.quote_table(&fk.ref_table),
        refs.join(", ")
    );
    for (clause, action) in [("ON DELETE", &fk.on_delete), ("ON UPDATE", &fk.on_update)] {
        if let Some(a) = action {
            let a = a.to_ascii_uppercase();
            if matches!(a.as_str(), "CASCADE" | "SET NULL" | "SET DEFAULT" | "RESTRICT" | "NO ACTION") {
                sql.push_str(&format!(" {clause} {a}"));
            }
        }
    }
    sql
}

/// `CREATE [UNIQUE] INDEX` for one index. `same_dialect`: the index name
/// comes from the same kind of database, so it is already unique where the
/// target needs it to be.
pub fn index_ddl(dialect: Dialect, table: &str, index: &Index, same_dialect: bool) -> String {
    let cols: Vec<String> = index.columns.iter().map(|c| dialect.quote(c)).collect();
    let unique = if index.unique { "UNIQUE " } else { "" };
    match dialect {
        // MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has); ALTER TABLE is portable.
        Dialect::MySql => format!(
            "ALTER TABLE {} ADD {unique}INDEX {} ({})",
            dialect.quote_table(table),
            dialect.quote(&index.name),
            cols.join(", ")
        ),
        Dialect::Postgres => {
            // PostgreSQL index names are per schema, MySQL's per table: prefix
            // the table so two tables' `idx_created` do not collide.
            let bare = table.rsplit('.').next().unwrap_or(table);
            let name = if same_dialect || index.name.starts_with(bare) {
                index.name.clone()
            } else {
                format!("{bare}_{}", index.name)
            };
            let name: String = name.chars().take(63).collect();
            format!(
                "CREATE {unique}INDEX IF NOT EXISTS {} ON {} ({})",
                dialect.quote(&name),
                dialect.quote_table(table),
                cols.join(", ")
            )
        }
        Dialect::Sqlite => format!(
            "CREATE {unique}INDEX IF NOT EXISTS {} ON {} ({})",
            dialect.quote(&decant_record::schema::sqlite_layout::index_name(table, &index.name)),
            dialect.quote_table(table),
            cols.join(", ")
        ),
    }
}

/// The target's view of a column created from `col` (for `--dry-run`, where
/// nothing is created).
pub fn planned_column(dialect: Dialect, schema: &TableSchema, col: &Column, opts: &DdlOptions) -> TargetColumn {
    let sql_type = declared_type(dialect, schema, col, opts);
    let mut kind = kind_of(dialect, &sql_type);
    if let (Kind::Enum(v) | Kind::Set(v), Some(values)) = (&mut kind, &col.values) {
        if v.is_empty() {
            *v = values.clone();
        }
    }
    if dialect != Dialect::MySql && col.ty == LogicalType::Enum {
        if let (Kind::Text { .. }, Some(values)) = (&kind, &col.values) {
            kind = Kind::Enum(values.clone());
        }
    }
    TargetColumn { name: col.name.clone(), sql_type, kind, nullable: col.nullable, identity: col.auto_increment }
}

fn paren_args(t: &str) -> Vec<u64> {
    let Some(open) = t.find('(') else { return Vec::new() };
    let Some(close) = t[open..].find(')') else { return Vec::new() };
    t[open + 1..open + close].split(',').filter_map(|a| a.trim().parse().ok()).collect()
}

fn quoted_values(t: &str) -> Vec<String> {
    // enum('a','b''c') → ["a", "b'c"]
    let mut out = Vec::new();
    let Some(open) = t.find('(') else { return out };
    let body = &t[open + 1..];
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            let mut v = String::new();
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        v.push('\'');
                    } else {
                        break;
                    }
                } else if c == '\\' {
                    if let Some(n) = chars.next() {
                        v.push(n);
                    }
                } else {
                    v.push(c);
                }
            }
            out.push(v);
        }
    }
    out
}

/// The integer range of a SQLite column with INTEGER affinity. SQLite itself
/// stores any 64-bit integer; the width decant declared (`SMALLINT UNSIGNED`,
/// `BIGINT UNSIGNED`…) keeps values to the source's range, and only
/// `BIGINT UNSIGNED` goes past 2^63−1 (stored as a 20-digit BLOB, see the
/// SQLite sink).
fn sqlite_int_kind(t: &str, base: &str, unsigned: bool) -> Kind {
    let bits = match base {
        "tinyint" => 8,
        "smallint" => 16,
        "mediumint" => 24,
        "int" => 32,
        _ => 64,
    };
    // `INTEGER` (the rowid, and what other tools write) is SQLite's own 64-bit integer.
    let bits = if t.starts_with("integer") { 64 } else { bits };
    if unsigned {
        Kind::Int { min: 0, max: (1i128 << bits) - 1 }
    } else {
        Kind::Int { min: -(1i128 << (bits - 1)), max: (1i128 << (bits - 1)) - 1 }
    }
}

/// The kind of a column from its declared SQL type in `dialect`.
pub fn kind_of(dialect: Dialect, sql_type: &str) -> Kind {
    let t = sql_type.trim().to_ascii_lowercase();
    if dialect == Dialect::Postgres {
        if let Some(elem) = t.strip_suffix("[]") {
            return Kind::Array(Box::new(kind_of(dialect, elem)));
        }
        if let Some(elem) = t.strip_prefix('_') {
            return Kind::Array(Box::new(kind_of(dialect, elem)));
        }
    }
    let base: &str = t.split(['(', ' ']).next().unwrap_or("");
    let unsigned = t.contains("unsigned");
    let args = paren_args(&t);
    let int = |bits: u32| {
        if unsigned {
            Kind::Int { min: 0, max: (1i128 << bits) - 1 }
        } else {
            Kind::Int { min: -(1i128 << (bits - 1)), max: (1i128 << (bits - 1)) - 1 }
        }
    };
    match dialect {
        Dialect::Sqlite => {
            // SQLite keeps any value in any column; the declared type only
            // guides conversion (affinity rules, plus the common names).
            if t.contains("bool") {
                Kind::Bool
            } else if base == "interval" {
                Kind::Interval
            } else if base == "bit" {
                Kind::Bit(args.first().map(|n| *n as u32).unwrap_or(1))
            } else if t.contains("int") {
                sqlite_int_kind(&t, base, unsigned)
            } else if t.starts_with("decimal") || t.starts_with("numeric") {
                Kind::Decimal {
                    precision: args.first().map(|p| *p as u32),
                    scale: args.first().map(|_| args.get(1).copied().unwrap_or(0) as u32),
                }
            } else if base == "year" {
                Kind::Year
            } else if t.contains("char") || t.contains("clob") || t.contains("text") {
                Kind::Text { max_chars: None }
            } else if t.contains("blob") || t.is_empty() {
                Kind::Bytes { max_bytes: None }
            } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
                Kind::Float { single: false }
            } else if base == "date" {
                Kind::Date
            } else if base == "time" {
                Kind::Time
            } else if base == "datetime" {
                Kind::Datetime
            } else if base == "timestamp" {
                Kind::Timestamp
            } else if base == "json" {
                Kind::Json
            } else if base == "uuid" {
                Kind::Uuid
            } else {
                Kind::Other
            }
        }
        Dialect::MySql => match base {
            "tinyint" if args.first() == Some(&1) && !unsigned => Kind::Bool,
            "bool" | "boolean" => Kind::Bool,
            "tinyint" => int(8),
            "smallint" => int(16),
            "mediumint" => int(24),
            "int" | "integer" => int(32),
            "bigint" => int(64),
            "float" => Kind::Float { single: true },
            "double" | "real" => Kind::Float { single: false },
            "decimal" | "numeric" | "dec" | "fixed" => Kind::Decimal {
                precision: Some(args.first().map(|p| *p as u32).unwrap_or(10)),
                scale: Some(args.get(1).map(|s| *s as u32).unwrap_or(0)),
            },
            "char" | "varchar" => Kind::Text { max_chars: Some(args.first().copied().unwrap_or(1)) },
            "tinytext" => Kind::Text { max_chars: None },
            "text" | "mediumtext" | "longtext" => Kind::Text { max_chars: None },
            "binary" | "varbinary" => Kind::Bytes { max_bytes: Some(args.first().copied().unwrap_or(1)) },
            "tinyblob" => Kind::Bytes { max_bytes: Some(255) },
            "blob" => Kind::Bytes { max_bytes: Some(65_535) },
            "mediumblob" => Kind::Bytes { max_bytes: Some(16_777_215) },
            "longblob" => Kind::Bytes { max_bytes: None },
            "date" => Kind::Date,
            "time" => Kind::Time,
            "datetime" => Kind::Datetime,
            "timestamp" => Kind::Timestamp,
            "year" => Kind::Year,
            "json" => Kind::Json,
            "uuid" => Kind::Uuid,
            "enum" => Kind::Enum(quoted_values(sql_type)),
            "set" => Kind::Set(quoted_values(sql_type)),
            "bit" => Kind::Bit(args.first().map(|n| *n as u32).unwrap_or(1)),
            _ => Kind::Other,
        },
        Dialect::Postgres => {
            if t.starts_with("timestamp") || t == "timestamptz" {
                return if t.contains("with time zone") || t == "timestamptz" {
                    Kind::Timestamp
                } else {
                    Kind::Datetime
                };
            }
            if t.starts_with("time") || t == "timetz" {
                return Kind::Time;
            }
            if t.starts_with("character varying") || t.starts_with("varchar") {
                return Kind::Text { max_chars: args.first().copied() };
            }
            if t.starts_with("character") || t.starts_with("char") || base == "bpchar" {
                return Kind::Text { max_chars: args.first().copied() };
            }
            if t.starts_with("double precision") {
                return Kind::Float { single: false };
            }
            if t.starts_with("bit varying") || base == "varbit" {
                return Kind::Other;
            }
            match base {
                "boolean" | "bool" => Kind::Bool,
                "smallint" | "int2" | "smallserial" => int(16),
                "integer" | "int" | "int4" | "serial" => int(32),
                "bigint" | "int8" | "bigserial" => int(64),
                "real" | "float4" => Kind::Float { single: true },
                "float8" => Kind::Float { single: false },
                "numeric" | "decimal" => Kind::Decimal {
                    precision: args.first().map(|p| *p as u32),
                    scale: args.first().map(|_| args.get(1).copied().unwrap_or(0) as u32),
                },
                "text" | "citext" | "name" => Kind::Text { max_chars: None },
                "bytea" => Kind::Bytes { max_bytes: None },
                "date" => Kind::Date,
                "interval" => Kind::Interval,
                "json" | "jsonb" => Kind::Json,
                "uuid" => Kind::Uuid,
                "bit" => Kind::Bit(args.first().map(|n| *n as u32).unwrap_or(1)),
                _ => Kind::Other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_index_definitions_point_at_the_target_table() {
        let t = Dialect::Postgres.quote_table("film");
        assert_eq!(
            retarget_pg_index("CREATE INDEX film_tags ON public.film USING gin (tags)", &t).as_deref(),
            Some("CREATE INDEX film_tags ON \"film\" USING gin (tags)")
        );
        assert_eq!(
            retarget_pg_index(
                "CREATE UNIQUE INDEX u ON ONLY s.\"Film\" USING btree (a DESC NULLS LAST) INCLUDE (b) WHERE (a > 0)",
                &Dialect::Postgres.quote_table("s.Film")
            )
            .as_deref(),
            Some("CREATE UNIQUE INDEX u ON ONLY \"s\".\"Film\" USING btree (a DESC NULLS LAST) INCLUDE (b) WHERE (a > 0)")
        );
        assert_eq!(retarget_pg_index("CREATE INDEX x", &t), None);
    }

    fn col(name: &str, ty: LogicalType) -> Column {
        Column::new(name, ty)
    }

    fn schema(cols: Vec<Column>) -> TableSchema {
        let mut s = TableSchema::new("t", cols);
        s.primary_key = vec!["id".into()];
        s
    }

    #[test]
    fn issue_pairs_never_widen_or_shift() {
        let mut dt = col("at", LogicalType::Datetime);
        dt.precision = Some(6);
        assert_eq!(column_type(Dialect::Postgres, &dt, false), "timestamp(6) without time zone");
        assert_eq!(column_type(Dialect::MySql, &dt, false), "datetime(6)");
        let mut ts = col("ts", LogicalType::Timestamp);
        ts.precision = Some(3);
        assert_eq!(column_type(Dialect::Postgres, &ts, false), "timestamp(3) with time zone");
        assert_eq!(column_type(Dialect::MySql, &ts, false), "timestamp(3)");
        assert_eq!(column_type(Dialect::Postgres, &col("b", LogicalType::Int64), false), "bigint");
        assert_eq!(column_type(Dialect::MySql, &col("b", LogicalType::Int64), false), "bigint");
        assert_eq!(column_type(Dialect::Postgres, &col("j", LogicalType::Json), false), "jsonb");
        assert_eq!(column_type(Dialect::MySql, &col("j", LogicalType::Json), false), "json");
        assert_eq!(column_type(Dialect::Postgres, &col("f", LogicalType::Bool), false), "boolean");
        assert_eq!(column_type(Dialect::MySql, &col("f", LogicalType::Bool), false), "tinyint(1)");
        assert_eq!(column_type(Dialect::Postgres, &col("u", LogicalType::Uint64), false), "numeric(20,0)");
        assert_eq!(column_type(Dialect::MySql, &col("u", LogicalType::Uint64), false), "bigint unsigned");
        let mut d = col("d", LogicalType::Decimal);
        d.precision = Some(12);
        d.scale = Some(4);
        assert_eq!(column_type(Dialect::Postgres, &d, false), "numeric(12,4)");
        assert_eq!(column_type(Dialect::MySql, &d, false), "decimal(12,4)");
        assert_eq!(column_type(Dialect::Sqlite, &d, false), "DECIMAL(12,4)");
        d.precision = Some(30);
        assert_eq!(column_type(Dialect::Sqlite, &d, false), "DECIMAL TEXT(30,4)");
        let mut a = col("a", LogicalType::Array);
        a.element = Some(LogicalType::Int32);
        assert_eq!(column_type(Dialect::Postgres, &a, false), "integer[]");
        assert_eq!(column_type(Dialect::MySql, &a, false), "json");
        assert_eq!(column_type(Dialect::MySql, &col("t", LogicalType::Text), true), "varchar(768)");
    }

    #[test]
    fn schema_objects_on_a_same_dialect_copy_and_named_elsewhere() {
        let mut at = col("at", LogicalType::Timestamp);
        at.precision = Some(3);
        at.nullable = false;
        at.default_expr = Some("current_timestamp".into());
        at.on_update = Some("current_timestamp".into());
        let mut pw = col("pw", LogicalType::String);
        pw.max_len = Some(40);
        pw.source_type = Some("varchar(40)".into());
        pw.charset = Some("utf8mb4".into());
        pw.collation = Some("utf8mb4_bin".into());
        let mut s = schema(vec![col("id", LogicalType::Int32), at, pw]);
        s.dialect = Some("mysql".into());
        s.collation = Some("utf8mb4_unicode_ci".into());
        s.checks.push(decant_record::Check { name: "pw_len".into(), clause: "char_length(`pw`) > 3".into() });
        s.generated.push(decant_record::GeneratedColumn {
            name: "twice".into(),
            source_type: "int(11)".into(),
            expr: "`id` * 2".into(),
            stored: false,
        });
        let my = table_ddl(Dialect::MySql, &s, &DdlOptions::default()).unwrap();
        let create = &my.create[0];
        assert!(create.contains("ON UPDATE CURRENT_TIMESTAMP(3)"), "{create}");
        assert!(create.contains("`pw` varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"), "{create}");
        assert!(create.contains("CONSTRAINT `pw_len` CHECK (char_length(`pw`) > 3)"), "{create}");
        assert!(create.contains("`twice` int(11) AS (`id` * 2) VIRTUAL"), "{create}");
        assert!(my.not_carried.is_empty(), "{:?}", my.not_carried);
        let pg = table_ddl(Dialect::Postgres, &s, &DdlOptions::default()).unwrap();
        let lost = pg.not_carried.join("\n");
        for what in [
            "ON UPDATE current_timestamp",
            "collation utf8mb4_bin",
            "CHECK constraint \"pw_len\"",
            "generated column \"twice\"",
        ] {
            assert!(lost.contains(what), "{what}: {lost}");
        }
        assert!(!pg.create[0].contains("ON UPDATE") && !pg.create[0].contains("pw_len"), "{}", pg.create[0]);
        // PostgreSQL → PostgreSQL keeps a column collation too.
        let mut c = col("code", LogicalType::Text);
        c.collation = Some("C".into());
        let mut p = schema(vec![col("id", LogicalType::Int32), c]);
        p.dialect = Some("postgres".into());
        let same = table_ddl(Dialect::Postgres, &p, &DdlOptions::default()).unwrap();
        assert!(same.create[0].contains("\"code\" text COLLATE \"C\""), "{}", same.create[0]);
    }

    #[test]
    fn identity_and_charset() {
        let mut id = col("id", LogicalType::Int64);
        id.auto_increment = true;
        id.nullable = false;
        let s = schema(vec![id, col("name", LogicalType::Text)]);
        let pg = table_ddl(Dialect::Postgres, &s, &DdlOptions::default()).unwrap();
        assert!(pg.create[0].contains("\"id\" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL"), "{}", pg.create[0]);
        let my = table_ddl(Dialect::MySql, &s, &DdlOptions::default()).unwrap();
        assert!(my.create[0].contains("`id` bigint AUTO_INCREMENT NOT NULL"), "{}", my.create[0]);
        assert!(my.create[0].ends_with("DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"), "{}", my.create[0]);
        let lite = table_ddl(Dialect::Sqlite, &s, &DdlOptions::default()).unwrap();
        assert!(lite.create[0].contains("\"id\" INTEGER PRIMARY KEY"), "{}", lite.create[0]);
    }

    #[test]
    fn same_dialect_reuses_source_type_and_casts_override() {
        let mut c = col("flag", LogicalType::Bool);
        c.source_type = Some("tinyint(1) unsigned".into());
        let mut s = schema(vec![col("id", LogicalType::Int32), c.clone()]);
        s.dialect = Some("mysql".into());
        assert_eq!(declared_type(Dialect::MySql, &s, &c, &DdlOptions::default()), "tinyint(1) unsigned");
        assert_eq!(declared_type(Dialect::Postgres, &s, &c, &DdlOptions::default()), "boolean");
        let opts = DdlOptions { casts: vec![CastRule::parse("type:bool=smallint").unwrap()], ..Default::default() };
        assert_eq!(declared_type(Dialect::Postgres, &s, &c, &opts), "smallint");
        let opts = DdlOptions {
            casts: vec![
                CastRule::parse("type:bool=smallint").unwrap(),
                CastRule::parse("column:t.flag=integer").unwrap(),
            ],
            ..Default::default()
        };
        assert_eq!(declared_type(Dialect::Postgres, &s, &c, &opts), "integer");
        let opts =
            DdlOptions { casts: vec![CastRule::parse("type:tinyint(1) unsigned=text").unwrap()], ..Default::default() };
        assert_eq!(declared_type(Dialect::Postgres, &s, &c, &opts), "text");
        assert!(CastRule::parse("datetime=timestamptz").is_err());
        assert!(CastRule::parse("kind:datetime=timestamptz").is_err());
        assert!(CastRule::parse("type:datetime=").is_err());
    }

    #[test]
    fn kinds_from_declared_types() {
        assert_eq!(kind_of(Dialect::MySql, "tinyint(1)"), Kind::Bool);
        assert_eq!(kind_of(Dialect::MySql, "bigint(20) unsigned"), Kind::Int { min: 0, max: u64::MAX as i128 });
        assert_eq!(kind_of(Dialect::MySql, "enum('a','b''c')"), Kind::Enum(vec!["a".into(), "b'c".into()]));
        assert_eq!(kind_of(Dialect::MySql, "varchar(5)"), Kind::Text { max_chars: Some(5) });
        assert_eq!(kind_of(Dialect::Postgres, "numeric(12,4)"), Kind::Decimal { precision: Some(12), scale: Some(4) });
        assert_eq!(kind_of(Dialect::Postgres, "timestamp(6) without time zone"), Kind::Datetime);
        assert_eq!(kind_of(Dialect::Postgres, "timestamp with time zone"), Kind::Timestamp);
        assert_eq!(kind_of(Dialect::Postgres, "time without time zone"), Kind::Time);
        assert_eq!(
            kind_of(Dialect::Postgres, "integer[]"),
            Kind::Array(Box::new(Kind::Int { min: i32::MIN as i128, max: i32::MAX as i128 }))
        );
        assert_eq!(kind_of(Dialect::Postgres, "character varying(20)"), Kind::Text { max_chars: Some(20) });
        assert_eq!(kind_of(Dialect::Sqlite, "BIGINT UNSIGNED"), Kind::Int { min: 0, max: u64::MAX as i128 });
        assert_eq!(kind_of(Dialect::Sqlite, "DATETIME"), Kind::Datetime);
    }

    #[test]
    fn indexes_and_foreign_keys_come_after() {
        let mut s =
            schema(vec![col("id", LogicalType::Int32), col("email", LogicalType::Text), col("g", LogicalType::Int32)]);
        s.indexes = vec![Index { name: "u_email".into(), columns: vec!["email".into()], unique: true }];
        s.foreign_keys = vec![decant_record::ForeignKey {
            name: "fk_g".into(),
            columns: vec!["g".into()],
            ref_table: "groups".into(),
            ref_columns: vec!["id".into()],
            on_delete: Some("cascade".into()),
            on_update: None,
        }];
        let pg = table_ddl(Dialect::Postgres, &s, &DdlOptions::default()).unwrap();
        assert_eq!(pg.indexes, vec!["CREATE UNIQUE INDEX IF NOT EXISTS \"t_u_email\" ON \"t\" (\"email\")"]);
        assert!(
            pg.foreign_keys[0].ends_with("REFERENCES \"groups\" (\"id\") ON DELETE CASCADE"),
            "{:?}",
            pg.foreign_keys
        );
        let my = table_ddl(Dialect::MySql, &s, &DdlOptions::default()).unwrap();
        assert!(my.create[0].contains("`email` varchar(768)"), "{}", my.create[0]);
        assert_eq!(my.indexes, vec!["ALTER TABLE `t` ADD UNIQUE INDEX `u_email` (`email`)"]);
        assert_eq!(my.indexes_combined, None);
        // Two or more: also one statement that builds them in one scan.
        s.indexes.push(Index { name: "ix_g".into(), columns: vec!["g".into(), "id".into()], unique: false });
        let my = table_ddl(Dialect::MySql, &s, &DdlOptions::default()).unwrap();
        assert_eq!(my.indexes.len(), 2);
        assert_eq!(
            my.indexes_combined.as_deref(),
            Some("ALTER TABLE `t` ADD UNIQUE INDEX `u_email` (`email`), ADD INDEX `ix_g` (`g`, `id`)")
        );
        assert_eq!(table_ddl(Dialect::Postgres, &s, &DdlOptions::default()).unwrap().indexes_combined, None);
    }
}

/// How an existing target table differs from the stream's schema line, for
/// `--create-tables` (which creates only missing tables): found before the
/// first row, instead of one reject per row.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TableDifferences {
    /// What stops the import: a column the rows carry that the table lacks,
    /// a type that cannot hold the column's values, a different primary key.
    pub blocking: Vec<String>,
    /// What the import can live with (extra columns of the target, narrower
    /// types that may refuse some values), said as warnings.
    pub warnings: Vec<String>,
}

/// Compares an existing table (`columns`, primary key `pk`) with the table
/// `--create-tables` would make from `schema`. `keyed`: a `--key` names the
/// columns that identify a row, so a different primary key is no obstacle.
pub fn table_differences(
    dialect: Dialect,
    schema: &TableSchema,
    columns: &[TargetColumn],
    pk: &[String],
    opts: &DdlOptions,
    keyed: bool,
) -> TableDifferences {
    let mut out = TableDifferences::default();
    for col in &schema.columns {
        let Some(existing) = columns.iter().find(|c| c.name == col.name) else {
            out.blocking.push(format!("column \"{}\" is missing in the target", col.name));
            continue;
        };
        let planned = planned_column(dialect, schema, col, opts);
        match kind_fits(&planned.kind, &existing.kind) {
            Fit::Yes => {}
            Fit::Narrower(why) => out.warnings.push(format!(
                "column \"{}\": the target's {} is narrower than {} ({why}): some values may be rejected",
                col.name, existing.sql_type, planned.sql_type
            )),
            Fit::No => out.blocking.push(format!(
                "column \"{}\": the target's type {} cannot hold the stream's {} values ({} here)",
                col.name,
                existing.sql_type,
                format!("{:?}", col.ty).to_lowercase(),
                planned.sql_type
            )),
        }
    }
    for extra in columns.iter().filter(|c| !schema.columns.iter().any(|s| s.name == c.name)) {
        out.warnings.push(format!(
            "column \"{}\" ({}) is in the target but not in the stream: left to its default{}",
            extra.name,
            extra.sql_type,
            if extra.nullable || extra.identity { "" } else { " (it is NOT NULL: it needs one)" }
        ));
    }
    let same_key = {
        let mut a: Vec<&String> = schema.primary_key.iter().collect();
        let mut b: Vec<&String> = pk.iter().collect();
        a.sort();
        b.sort();
        a == b
    };
    if !same_key && !keyed && !schema.primary_key.is_empty() {
        let list = |k: &[String]| if k.is_empty() { "none".to_owned() } else { format!("({})", k.join(", ")) };
        out.blocking.push(format!(
            "primary key: the stream's is {}, the target's {} (or give --key {}:COLS)",
            list(&schema.primary_key),
            list(pk),
            schema.table
        ));
    }
    out
}

enum Fit {
    Yes,
    Narrower(String),
    No,
}

/// Whether a column of kind `existing` holds every value of kind `planned`.
fn kind_fits(planned: &Kind, existing: &Kind) -> Fit {
    use Kind::*;
    fn family(k: &Kind) -> u8 {
        match k {
            Bool | Int { .. } | Float { .. } | Decimal { .. } | Year | Bit(_) => 1,
            Date | Datetime | Timestamp => 2,
            Time => 3,
            Interval => 4,
            Bytes { .. } => 5,
            Text { .. } | Enum(_) | Set(_) => 6,
            Uuid => 7,
            Json => 8,
            Array(_) => 9,
            Other => 0,
        }
    }
    match (planned, existing) {
        // Text (and an unknown type) takes any value's text form.
        (_, Text { max_chars: None } | Other) | (Other, _) => Fit::Yes,
        (Int { min: a, max: b }, Int { min: c, max: d }) if c > a || d < b => {
            Fit::Narrower(format!("holds {c} to {d}"))
        }
        (Text { max_chars: a }, Text { max_chars: Some(b) }) if a.is_none_or(|a| a > *b) => {
            Fit::Narrower(format!("at most {b} characters"))
        }
        (Text { .. } | Enum(_) | Set(_), Enum(_) | Set(_)) => Fit::Yes,
        // A string's text form may be a UUID or a JSON document; the
        // database says which rows are not.
        (Text { .. } | Enum(_) | Set(_), Uuid | Json) => Fit::Yes,
        (Uuid, Text { .. }) | (Json | Array(_), Text { .. }) => Fit::Yes,
        (Array(_), Json) => Fit::Yes,
        (p, e) if family(p) == family(e) => Fit::Yes,
        (_, Text { .. }) => Fit::Yes,
        _ => Fit::No,
    }
}
