//! `sqlite-export`: SQLite files.
//!
//! The file is opened read-only and read in one transaction (one snapshot).
//! SQLite cannot share a snapshot between connections, so `--jobs` is
//! accepted but the file is read with one connection.
//!
//! Logical types follow the declared type's affinity (`INT` → `int64`,
//! `CHAR`/`CLOB`/`TEXT` → `string`/`text`, `BLOB` or none → `bytes`,
//! `REAL`/`FLOA`/`DOUB` → `float64`, others → `decimal`), with the common
//! names `BOOLEAN`, `DATE`, `DATETIME`/`TIMESTAMP`, `TIME` recognised; an
//! `INTEGER PRIMARY KEY` (the rowid) is an auto-increment `int64`. Values
//! are written by their storage class, whatever the declared type (SQLite
//! does not enforce it): INTEGER as a number, REAL as a float, TEXT as a
//! string (bytes if it is not valid UTF-8), BLOB as bytes; a `BOOLEAN`
//! column's 0/1 become `false`/`true`.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use decant_record::cli;
use decant_record::schema::sqlite_layout;
use decant_record::{Column, ForeignKey, Index, LogicalType, SchemaObject, TableSchema, Value};
use futures_util::future::{BoxFuture, LocalBoxFuture};
use futures_util::{FutureExt as _, TryStreamExt as _};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{ConnectOptions as _, Decode, Row as _, Sqlite, TypeInfo as _, ValueRef as _};

use super::{
    dependency_order, get, select_tables, split_key, sqlite_file, type_args, ChunkReader, ExportOptions, RowEncoder,
    Sink, TablePlan, TextCmp, Workers,
};

/// `identifier` in double quotes.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Runs a metadata query; every column as text.
async fn meta(conn: &mut SqliteConnection, sql: &str) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    let rows: Vec<SqliteRow> = sqlx::raw_sql(sql).fetch_all(&mut *conn).await?;
    Ok(rows
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    let v = row.try_get_raw(i).ok()?;
                    if v.is_null() {
                        return None;
                    }
                    match v.type_info().name() {
                        "INTEGER" => <i64 as Decode<Sqlite>>::decode(v).ok().map(|n| n.to_string()),
                        _ => <&[u8] as Decode<Sqlite>>::decode(v).ok().map(|b| String::from_utf8_lossy(b).into_owned()),
                    }
                })
                .collect()
        })
        .collect())
}

impl super::MetaConn for SqliteConnection {
    fn meta<'a>(&'a mut self, sql: &'a str) -> LocalBoxFuture<'a, anyhow::Result<Vec<Vec<Option<String>>>>> {
        meta(self, sql).boxed_local()
    }
}

/// Exports every table of the file.
pub(crate) async fn export(opts: &ExportOptions, sink: &Sink) -> anyhow::Result<()> {
    let path = sqlite_file(&opts.url)?;
    if opts.jobs > 1 {
        cli::warn("--jobs: SQLite cannot share a snapshot between connections; reading with one connection");
    }
    let options = SqliteConnectOptions::new().filename(&path).read_only(true).disable_statement_logging();
    let mut conn = options.connect().await.with_context(|| format!("opening {}", path.display()))?;
    // One read transaction: the snapshot starts at the first read below.
    sqlx::raw_sql("BEGIN").execute(&mut conn).await.context("starting the read transaction")?;
    let plans = read_schema(&mut conn, opts, &path.display().to_string()).await?;
    // Views and triggers are not carried: named, with their DDL (--objects-file).
    let objects = meta(
        &mut conn,
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE type IN ('view', 'trigger') ORDER BY type, name",
    )
    .await
    .context("listing views and triggers")?
    .into_iter()
    .map(|r| {
        let name =
            if get(&r, 0) == "trigger" { format!("{}.{}", get(&r, 2), get(&r, 1)) } else { get(&r, 1).to_owned() };
        SchemaObject { kind: get(&r, 0).to_owned(), name, ddl: get(&r, 3).to_owned() }
    })
    .collect();
    sink.send(super::Msg::Objects(objects)).await?;
    // Each share's queries, placed in the same transaction before the one
    // connection goes to the reader.
    let mut reads = Vec::with_capacity(plans.len());
    for plan in &plans {
        reads.push(if opts.schema_only {
            Vec::new()
        } else {
            plan.share_queries(&mut conn, opts.shard, 1, opts.chunk_rows, "").await?
        });
    }
    let mut workers = Workers::start(vec![Reader { conn }], sink);
    for (plan, chunks) in plans.into_iter().zip(reads) {
        let plan = Arc::new(plan);
        sink.send(super::Msg::Schema(Box::new(plan.schema.clone()))).await?;
        if opts.schema_only {
            continue;
        }
        workers.table(plan, chunks).await?;
    }
    workers.stop().await;
    Ok(())
}

struct Reader {
    conn: SqliteConnection,
}

impl ChunkReader for Reader {
    fn read_chunk<'a>(
        &'a mut self,
        plan: &'a TablePlan,
        sql: &'a str,
        sink: &'a Sink,
    ) -> BoxFuture<'a, anyhow::Result<u64>> {
        async move {
            let types: Vec<LogicalType> = plan.schema.columns.iter().map(|c| c.ty).collect();
            let scales: Vec<Option<u32>> = plan.schema.columns.iter().map(|c| c.scale).collect();
            let mut enc = RowEncoder::new(&plan.schema);
            let mut total = 0u64;
            let mut rows = sqlx::raw_sql(sql).fetch(&mut self.conn);
            while let Some(row) = rows.try_next().await? {
                enc.begin();
                for (i, ty) in types.iter().enumerate() {
                    let is_bool = *ty == LogicalType::Bool;
                    enc.key(i);
                    let v = row.try_get_raw(i)?;
                    if v.is_null() {
                        enc.out().extend_from_slice(b"null");
                        continue;
                    }
                    let value = match v.type_info().name() {
                        "INTEGER" => {
                            let n = <i64 as Decode<Sqlite>>::decode(v).map_err(|e| anyhow::anyhow!("{e}"))?;
                            match (is_bool, n) {
                                (true, 0) => Value::Bool(false),
                                (true, 1) => Value::Bool(true),
                                // NUMERIC affinity stores a decimal that is a
                                // whole number as INTEGER: keep the decimal a string.
                                _ if *ty == LogicalType::Decimal => {
                                    if scales[i].is_some_and(|s| s > 0) {
                                        Value::String(decimal_text(n as f64, scales[i]))
                                    } else {
                                        Value::String(n.to_string())
                                    }
                                }
                                _ => Value::Int(n as i128),
                            }
                        }
                        "REAL" => {
                            let f = <f64 as Decode<Sqlite>>::decode(v).map_err(|e| anyhow::anyhow!("{e}"))?;
                            if *ty == LogicalType::Decimal && f.is_finite() {
                                Value::String(decimal_text(f, scales[i]))
                            } else {
                                Value::Float(f)
                            }
                        }
                        "TEXT" => {
                            let b = <&[u8] as Decode<Sqlite>>::decode(v).map_err(|e| anyhow::anyhow!("{e}"))?;
                            if matches!(*ty, LogicalType::Json | LogicalType::Array) {
                                if let Ok(j) = Value::from_json_text(b) {
                                    j.write_json(enc.out());
                                    continue;
                                }
                            }
                            if *ty == LogicalType::Timestamp {
                                if let Ok(s) = std::str::from_utf8(b) {
                                    if !has_zone(s) && s.len() >= 19 {
                                        // SQLite's date functions read zone-less text as UTC.
                                        let _ = serde_json::to_writer(
                                            &mut *enc.out(),
                                            &format!("{}Z", s.replacen(' ', "T", 1)),
                                        );
                                        continue;
                                    }
                                }
                            }
                            match std::str::from_utf8(b) {
                                Ok(s) => {
                                    let _ = serde_json::to_writer(&mut *enc.out(), s);
                                    continue;
                                }
                                Err(_) => Value::Bytes(b.to_vec()),
                            }
                        }
                        _ => {
                            let b = <&[u8] as Decode<Sqlite>>::decode(v).map_err(|e| anyhow::anyhow!("{e}"))?;
                            match big_unsigned(b) {
                                Some(n) if matches!(*ty, LogicalType::Uint64 | LogicalType::Bit) => {
                                    Value::Int(n as i128)
                                }
                                _ => Value::Bytes(b.to_vec()),
                            }
                        }
                    };
                    value.write_json(enc.out());
                }
                enc.end(sink).await?;
                total += 1;
            }
            drop(rows);
            enc.flush(sink).await?;
            Ok(total)
        }
        .boxed()
    }
}

/// The logical type of a declared column type, by SQLite's affinity rules
/// plus the common type names, among them every name `sqlite-import
/// --create-tables` declares (docs/type-mapping.md): integer widths and
/// `UNSIGNED`, `DECIMAL[ TEXT](p,s)`, `CHAR(n)`/`VARCHAR(n)`,
/// `BINARY(n)`/`VARBINARY(n)`, `TIME(p)`, `DATETIME(p)` (naive),
/// `TIMESTAMP(p)` (zoned), `YEAR`, `INTERVAL`, `BIT(n)`, `JSON`, `UUID`.
fn logical_type(c: &mut Column, declared: &str) {
    let up = declared.trim().to_ascii_uppercase();
    let args = type_args(&up);
    let base = up.split(['(', ' ']).next().unwrap_or("");
    let unsigned = up.contains("UNSIGNED");
    let fraction = || args.first().map(|p| *p as u32);
    c.unsigned = unsigned;
    c.ty = if up.contains("BOOL") {
        LogicalType::Bool
    } else if base == "INTERVAL" {
        LogicalType::Interval
    } else if base == "BIT" {
        c.len = Some(args.first().copied().unwrap_or(1) as u32);
        LogicalType::Bit
    } else if up.contains("INT") {
        // `INTEGER` is SQLite's own 64-bit integer (the rowid's type).
        match (base, unsigned) {
            ("TINYINT", false) => LogicalType::Int8,
            ("TINYINT", true) => LogicalType::Uint8,
            ("SMALLINT", false) => LogicalType::Int16,
            ("SMALLINT", true) => LogicalType::Uint16,
            ("MEDIUMINT" | "INT", false) => LogicalType::Int32,
            ("MEDIUMINT" | "INT", true) => LogicalType::Uint32,
            (_, true) => LogicalType::Uint64,
            (_, false) => LogicalType::Int64,
        }
    } else if base == "DECIMAL" || base == "NUMERIC" {
        if let [p, rest @ ..] = args.as_slice() {
            c.precision = Some(*p as u32);
            c.scale = Some(rest.first().copied().unwrap_or(0) as u32);
        }
        LogicalType::Decimal
    } else if up.contains("CHAR") || up.contains("CLOB") || up.contains("TEXT") {
        match args.first() {
            Some(n)
                if up.starts_with("VARCHAR")
                    || up.starts_with("CHARACTER")
                    || up.starts_with("CHAR")
                    || up.starts_with("NCHAR")
                    || up.starts_with("NVARCHAR") =>
            {
                c.max_len = Some(*n);
                c.fixed = !up.contains("VAR") && (up.starts_with("CHAR") || up.starts_with("NCHAR"));
                LogicalType::String
            }
            _ => LogicalType::Text,
        }
    } else if base == "BINARY" || base == "VARBINARY" {
        c.max_len = args.first().copied();
        c.fixed = base == "BINARY";
        LogicalType::Bytes
    } else if up.contains("BLOB") || up.is_empty() {
        LogicalType::Bytes
    } else if up.contains("REAL") || up.contains("FLOA") || up.contains("DOUB") {
        if base == "FLOAT" {
            LogicalType::Float32
        } else {
            LogicalType::Float64
        }
    } else if base == "DATETIME" {
        c.precision = fraction();
        LogicalType::Datetime
    } else if base == "TIMESTAMP" {
        // SQLite's own CURRENT_TIMESTAMP and date functions are UTC: a
        // TIMESTAMP is an instant (values without an offset are read as UTC).
        c.precision = fraction();
        LogicalType::Timestamp
    } else if base == "DATE" {
        LogicalType::Date
    } else if base == "TIME" {
        c.precision = fraction();
        LogicalType::Time
    } else if base == "YEAR" {
        LogicalType::Year
    } else if base == "JSON" {
        LogicalType::Json
    } else if base == "UUID" {
        LogicalType::Uuid
    } else {
        if let [p, rest @ ..] = args.as_slice() {
            c.precision = Some(*p as u32);
            c.scale = Some(rest.first().copied().unwrap_or(0) as u32);
        }
        LogicalType::Decimal
    };
}

/// A decimal read back from a NUMERIC column, which holds it as an INTEGER or
/// a REAL (at most 15 significant digits, which is what sqlite-import puts
/// there): printed with the column's scale, so `4.00` comes back as `4.00`.
fn decimal_text(n: f64, scale: Option<u32>) -> String {
    match scale {
        Some(s) => format!("{n:.prec$}", prec = s as usize),
        // Rust's Display is the shortest text that reads back as n.
        None => n.to_string(),
    }
}

/// `sqlite-import`'s text for an unsigned BIGINT above 2^63−1: 20 ASCII digits in a BLOB.
fn big_unsigned(b: &[u8]) -> Option<u64> {
    if b.len() == 20 && b.iter().all(u8::is_ascii_digit) {
        std::str::from_utf8(b).ok()?.parse().ok()
    } else {
        None
    }
}

/// True when an ISO 8601 date-time text ends with `Z` or a `±hh:mm` offset.
fn has_zone(s: &str) -> bool {
    if s.ends_with('Z') || s.ends_with('z') {
        return true;
    }
    let tail = s.rsplit('T').next().unwrap_or(s).rsplit(' ').next().unwrap_or(s);
    tail.contains('+') || tail.get(1..).is_some_and(|t| t.contains('-'))
}

async fn read_schema(conn: &mut SqliteConnection, opts: &ExportOptions, place: &str) -> anyhow::Result<Vec<TablePlan>> {
    let tables = meta(
        conn,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
    )
    .await
    .context("listing tables")?;
    // decant's own bookkeeping tables are not data.
    let names: Vec<String> = tables
        .iter()
        .map(|r| get(r, 0).to_owned())
        .filter(|n| n != sqlite_layout::SCHEMA_TABLE && n != sqlite_layout::STATE_TABLE)
        .collect();
    let stored = stored_schemas(conn).await?;
    let chosen = select_tables(&names, opts, place)?;
    let mut schemas = Vec::new();
    for name in &chosen {
        let q = quote_str(name);
        let cols = meta(
            conn,
            &format!(
                "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo({q}) ORDER BY cid"
            ),
        )
        .await
        .with_context(|| format!("reading the columns of {name:?}"))?;
        let mut s = TableSchema::new(name, Vec::new());
        s.dialect = Some("sqlite".into());
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut generated = Vec::new();
        for r in &cols {
            if get(r, 5) != "0" {
                generated.push(get(r, 0).to_owned());
                continue;
            }
            let mut c = Column::new(get(r, 0), LogicalType::Text);
            let declared = get(r, 1);
            logical_type(&mut c, declared);
            c.source_type = Some(declared.to_owned()).filter(|d| !d.is_empty());
            c.nullable = get(r, 2) == "0";
            let pk_pos: i64 = get(r, 4).parse().unwrap_or(0);
            if pk_pos > 0 {
                pk.push((pk_pos, c.name.clone()));
            }
            if let Some(d) = r.get(3).cloned().flatten() {
                default_of(&mut c, &d);
            }
            s.columns.push(c);
        }
        if !generated.is_empty() {
            cli::warn(format_args!(
                "table {name:?}: generated column(s) {} are not exported (the target computes them)",
                generated.join(", ")
            ));
        }
        pk.sort();
        s.primary_key = pk.into_iter().map(|(_, n)| n).collect();
        if let [only] = s.primary_key.as_slice() {
            let only = only.clone();
            if let Some(c) = s.columns.iter_mut().find(|c| c.name == only) {
                if c.source_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("INTEGER")) {
                    // The rowid: never NULL, assigned when not given.
                    c.auto_increment = true;
                    c.nullable = false;
                }
            }
        }
        let idx =
            meta(conn, &format!("SELECT name, \"unique\", origin, partial FROM pragma_index_list({q}) ORDER BY name"))
                .await
                .with_context(|| format!("reading the indexes of {name:?}"))?;
        for r in &idx {
            if get(r, 2) == "pk" {
                continue;
            }
            let iname = get(r, 0).to_owned();
            let icols =
                meta(conn, &format!("SELECT name FROM pragma_index_info({}) ORDER BY seqno", quote_str(&iname)))
                    .await?;
            let icols: Vec<Option<String>> = icols.into_iter().map(|r| r.into_iter().next().flatten()).collect();
            if get(r, 3) == "1" || icols.iter().any(Option::is_none) {
                cli::warn(format_args!(
                    "table {name:?}: index {iname:?} on an expression or with a WHERE clause is not exported"
                ));
                continue;
            }
            s.indexes.push(Index {
                name: sqlite_layout::index_source_name(name, &iname).to_owned(),
                columns: icols.into_iter().flatten().collect(),
                unique: get(r, 1) == "1",
            });
        }
        let fks = meta(conn, &format!("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list({q}) ORDER BY id, seq"))
            .await
            .with_context(|| format!("reading the foreign keys of {name:?}"))?;
        let mut by_id: Vec<(String, ForeignKey)> = Vec::new();
        for r in &fks {
            let rule = |i: usize| {
                let v = get(r, i).to_ascii_lowercase();
                // NO ACTION is the default; RESTRICT is said (PostgreSQL tells them apart).
                (v != "no action" && !v.is_empty()).then_some(v)
            };
            let id = get(r, 0).to_owned();
            if by_id.last().map(|(i, _)| i != &id).unwrap_or(true) {
                by_id.push((
                    id.clone(),
                    ForeignKey {
                        name: format!("{name}_fk_{id}"),
                        columns: Vec::new(),
                        ref_table: get(r, 1).to_owned(),
                        ref_columns: Vec::new(),
                        on_delete: rule(5),
                        on_update: rule(4),
                    },
                ));
            }
            let fk = &mut by_id.last_mut().expect("pushed above").1;
            fk.columns.push(get(r, 2).to_owned());
            if let Some(to) = r.get(3).cloned().flatten() {
                fk.ref_columns.push(to);
            }
        }
        s.foreign_keys = by_id.into_iter().map(|(_, fk)| fk).collect();
        if let Some(original) = stored.get(name.as_str()) {
            restore_source_schema(&mut s, original);
        }
        schemas.push(s);
    }
    // A foreign key without target columns references the parent's primary key.
    let pks: HashMap<String, Vec<String>> = schemas.iter().map(|s| (s.table.clone(), s.primary_key.clone())).collect();
    for s in &mut schemas {
        for fk in &mut s.foreign_keys {
            if fk.ref_columns.is_empty() {
                fk.ref_columns = pks.get(&fk.ref_table).cloned().unwrap_or_default();
            }
        }
    }
    Ok(dependency_order(schemas)
        .into_iter()
        .map(|schema| {
            let from = quote_ident(&schema.table);
            let select = format!(
                "SELECT {} FROM {from}",
                schema.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ")
            );
            let order_by = if schema.primary_key.is_empty() {
                String::new()
            } else {
                format!("ORDER BY {}", schema.primary_key.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "))
            };
            let filter = opts.filter(&schema, decant_record::conn::Store::Sqlite);
            let pk = schema.primary_key.iter().map(|c| quote_ident(c)).collect();
            // By the declared type's affinity: SQLite does not enforce it,
            // which the open first and last shares absorb.
            let split = split_key(&schema, quote_ident, |c| {
                matches!(c.ty, LogicalType::String | LogicalType::Text)
                    .then(|| TextCmp::Sqlite { table: schema.table.clone(), column: c.name.clone() })
            });
            TablePlan { schema, from, select, filter, order_by, kinds: Vec::new(), int_pk: None, pk, split }
        })
        .collect())
}

/// The schema lines `sqlite-import --create-tables` kept (see
/// [`sqlite_layout::SCHEMA_TABLE`]) of the tables whose `CREATE TABLE` text
/// is still the one it ran; a table changed since (ALTER TABLE) is described
/// by what the file says, with a warning.
async fn stored_schemas(conn: &mut SqliteConnection) -> anyhow::Result<HashMap<String, TableSchema>> {
    let exists = meta(
        conn,
        &format!(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = {}",
            quote_str(sqlite_layout::SCHEMA_TABLE)
        ),
    )
    .await?;
    if exists.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = meta(
        conn,
        &format!(
            "SELECT d.table_name, d.schema_json, d.table_sql = m.sql FROM {} d \
             LEFT JOIN sqlite_schema m ON m.type = 'table' AND m.name = d.table_name",
            quote_ident(sqlite_layout::SCHEMA_TABLE)
        ),
    )
    .await
    .with_context(|| format!("reading {}", sqlite_layout::SCHEMA_TABLE))?;
    let mut out = HashMap::new();
    for r in &rows {
        let table = get(r, 0);
        if get(r, 2) != "1" {
            if !get(r, 2).is_empty() {
                cli::warn(format_args!(
                    "table {table:?} was changed since sqlite-import created it: its columns are described by \
                     their SQLite declared types, not by the source's types"
                ));
            }
            continue;
        }
        match serde_json::from_str::<TableSchema>(get(r, 1)) {
            Ok(schema) => {
                out.insert(table.to_owned(), schema);
            }
            Err(e) => cli::warn(format_args!(
                "table {table:?}: the schema kept in {} cannot be read ({e}); using the SQLite declared types",
                sqlite_layout::SCHEMA_TABLE
            )),
        }
    }
    Ok(out)
}

/// Gives a table that sqlite-import created, unchanged since, the source's
/// own description back: column types as the source declared them (a MySQL
/// `enum(…)`, `text`, `smallint unsigned` AUTO_INCREMENT…), collations,
/// comments and the foreign keys' names, with the source's `dialect`. What the
/// file itself says wins where both exist: the indexes (they can be added or
/// dropped without changing the table) and NOT NULL.
fn restore_source_schema(s: &mut TableSchema, original: &TableSchema) {
    let same_columns = s.columns.len() == original.columns.len()
        && s.columns.iter().zip(&original.columns).all(|(a, b)| a.name == b.name);
    if !same_columns {
        return;
    }
    s.columns = s
        .columns
        .iter()
        .zip(&original.columns)
        .map(|(live, source)| Column { nullable: live.nullable, ..source.clone() })
        .collect();
    for fk in &mut s.foreign_keys {
        if let Some(o) = original.foreign_keys.iter().find(|o| o.columns == fk.columns && o.ref_table == fk.ref_table) {
            *fk = o.clone();
        }
    }
    s.dialect = original.dialect.clone();
    s.charset = original.charset.clone();
    s.collation = original.collation.clone();
    s.comment = original.comment.clone();
}

/// Fills `default` / `default_expr` from `dflt_value` (SQL text).
fn default_of(c: &mut Column, text: &str) {
    let up = text.to_ascii_uppercase();
    if up == "NULL" {
        return;
    }
    if up == "CURRENT_TIMESTAMP" {
        c.default_expr = Some("current_timestamp".into());
        return;
    }
    if up == "CURRENT_DATE" {
        c.default_expr = Some("current_date".into());
        return;
    }
    if text.len() >= 2 && text.starts_with('\'') && text.ends_with('\'') {
        c.default = Some(Value::String(text[1..text.len() - 1].replace("''", "'")));
    } else if let Ok(n) = text.parse::<i64>() {
        c.default = Some(if c.ty == LogicalType::Bool && (n == 0 || n == 1) {
            Value::Bool(n == 1)
        } else {
            Value::Int(n as i128)
        });
    } else if let Ok(f) = text.parse::<f64>() {
        c.default = Some(Value::Float(f));
    } else if up == "TRUE" || up == "FALSE" {
        c.default = Some(Value::Bool(up == "TRUE"));
    } else {
        c.default_expr = Some(text.to_owned());
    }
}
