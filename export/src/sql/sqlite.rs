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
use decant_record::{Column, ForeignKey, Index, LogicalType, TableSchema, Value};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt as _, TryStreamExt as _};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{ConnectOptions as _, Decode, Row as _, Sqlite, TypeInfo as _, ValueRef as _};

use super::{
    dependency_order, get, select_tables, sqlite_file, type_args, ChunkReader, ExportOptions, RowEncoder, Sink,
    TablePlan, Workers,
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
    // The row counts a shard places its boundaries with, read in the same
    // transaction before the one connection goes to the reader.
    let mut counts = Vec::with_capacity(plans.len());
    for plan in &plans {
        counts.push(match plan.count_query(opts.shard) {
            Some(sql) => {
                let rows =
                    meta(&mut conn, &sql).await.with_context(|| format!("counting table {:?}", plan.schema.table))?;
                rows.first().and_then(|r| get(r, 0).parse::<u64>().ok())
            }
            None => None,
        });
    }
    let mut workers = Workers::start(vec![Reader { conn }], sink);
    for (plan, count) in plans.into_iter().zip(counts) {
        let plan = Arc::new(plan);
        sink.send(super::Msg::Schema(Box::new(plan.schema.clone()))).await?;
        let chunks = plan.chunks(None, count, 1, opts.chunk_rows, opts.shard);
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
                                _ if *ty == LogicalType::Decimal => Value::String(n.to_string()),
                                _ => Value::Int(n as i128),
                            }
                        }
                        "REAL" => {
                            let f = <f64 as Decode<Sqlite>>::decode(v).map_err(|e| anyhow::anyhow!("{e}"))?;
                            if *ty == LogicalType::Decimal && f.is_finite() {
                                // Rust's Display is the shortest text that reads back as f.
                                Value::String(f.to_string())
                            } else {
                                Value::Float(f)
                            }
                        }
                        "TEXT" => {
                            let b = <&[u8] as Decode<Sqlite>>::decode(v).map_err(|e| anyhow::anyhow!("{e}"))?;
                            if *ty == LogicalType::Json {
                                if let Ok(j) = Value::from_json_text(b) {
                                    j.write_json(enc.out());
                                    continue;
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
                        _ => Value::Bytes(
                            <&[u8] as Decode<Sqlite>>::decode(v).map_err(|e| anyhow::anyhow!("{e}"))?.to_vec(),
                        ),
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
/// plus the common type names.
fn logical_type(c: &mut Column, declared: &str) {
    let up = declared.to_ascii_uppercase();
    let args = type_args(&up);
    c.ty = if up.contains("BOOL") {
        LogicalType::Bool
    } else if up.contains("INT") {
        LogicalType::Int64
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
    } else if up.contains("BLOB") || up.trim().is_empty() {
        LogicalType::Bytes
    } else if up.contains("REAL") || up.contains("FLOA") || up.contains("DOUB") {
        LogicalType::Float64
    } else if up.starts_with("DATETIME") || up.starts_with("TIMESTAMP") {
        LogicalType::Datetime
    } else if up.starts_with("DATE") {
        LogicalType::Date
    } else if up.starts_with("TIME") {
        LogicalType::Time
    } else if up.starts_with("JSON") {
        LogicalType::Json
    } else if up.starts_with("UUID") {
        LogicalType::Uuid
    } else {
        if let [p, rest @ ..] = args.as_slice() {
            c.precision = Some(*p as u32);
            c.scale = Some(rest.first().copied().unwrap_or(0) as u32);
        }
        LogicalType::Decimal
    };
}

async fn read_schema(conn: &mut SqliteConnection, opts: &ExportOptions, place: &str) -> anyhow::Result<Vec<TablePlan>> {
    let tables = meta(
        conn,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
    )
    .await
    .context("listing tables")?;
    let names: Vec<String> = tables.iter().map(|r| get(r, 0).to_owned()).collect();
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
                name: iname,
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
                (v != "no action" && v != "restrict" && !v.is_empty()).then_some(v)
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
            let filter = opts.wheres.get(&schema.table).cloned();
            let pk = schema.primary_key.iter().map(|c| quote_ident(c)).collect();
            TablePlan { schema, from, select, filter, order_by, kinds: Vec::new(), int_pk: None, pk }
        })
        .collect())
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
