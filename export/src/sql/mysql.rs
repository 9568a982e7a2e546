//! `mysql-export`: MySQL 8 / MariaDB.
//!
//! Sessions run with `time_zone='+00:00'` (TIMESTAMP values come out as UTC
//! instants with `Z`; DATETIME is naive and never shifted), an empty
//! `sql_mode` (zero dates read as they are stored, tagged `$zero_date`),
//! utf8mb4, and long network timeouts for slow consumers. Column types come
//! from `information_schema` (COLUMN_TYPE is kept as `source_type`); MariaDB's
//! JSON (a LONGTEXT with a `json_valid` check) is recognised as `json`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use decant_record::cli;
use decant_record::{Check, Column, ForeignKey, GeneratedColumn, Index, LogicalType, SchemaObject, TableSchema, Value};
use futures_util::future::{BoxFuture, LocalBoxFuture};
use futures_util::{FutureExt as _, TryStreamExt as _};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlRow};
use sqlx::{ConnectOptions as _, Decode, MySql, Row as _, ValueRef as _};

use super::{
    at, decode_value, dependency_order, get, parse_quoted_list, plain_name, select_tables, split_key, write_value,
    ChunkReader, ExportOptions, Kind, RowEncoder, Sink, TablePlan, TextCmp, Workers,
};

/// `identifier` quoted with backticks.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal (the session runs without NO_BACKSLASH_ESCAPES).
fn quote_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

async fn connect(opts: &ExportOptions) -> anyhow::Result<MySqlConnection> {
    let mut url = opts.url.url().clone();
    if url.scheme() != "mysql" {
        let _ = url.set_scheme("mysql");
    }
    if opts.url.database().is_none() {
        bail!("{} names no database: use mysql://USER@HOST:PORT/DATABASE", opts.url);
    }
    let options = MySqlConnectOptions::from_url(&url)
        .with_context(|| format!("bad MySQL URL {}", opts.url))?
        .charset("utf8mb4")
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        .timezone(None)
        .disable_statement_logging();
    let mut conn = options.connect().await.with_context(|| format!("connecting to {}", opts.url))?;
    sqlx::raw_sql(
        "SET SESSION time_zone = '+00:00', sql_mode = '', net_write_timeout = 3600, net_read_timeout = 3600, \
         wait_timeout = 86400, character_set_results = 'utf8mb4'",
    )
    .execute(&mut conn)
    .await
    .context("setting up the session")?;
    Ok(conn)
}

/// Runs a metadata query; every column as text.
async fn meta(conn: &mut MySqlConnection, sql: &str) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    let rows: Vec<MySqlRow> = sqlx::raw_sql(sql).fetch_all(&mut *conn).await?;
    Ok(rows
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    let v = row.try_get_raw(i).ok()?;
                    if v.is_null() {
                        return None;
                    }
                    let b = <&[u8] as Decode<MySql>>::decode(v).ok()?;
                    Some(String::from_utf8_lossy(b).into_owned())
                })
                .collect()
        })
        .collect())
}

impl super::MetaConn for MySqlConnection {
    fn meta<'a>(&'a mut self, sql: &'a str) -> LocalBoxFuture<'a, anyhow::Result<Vec<Vec<Option<String>>>>> {
        meta(self, sql).boxed_local()
    }
}

fn get_u64(row: &[Option<String>], i: usize) -> Option<u64> {
    row.get(i).and_then(|v| v.as_deref()).and_then(|s| s.parse().ok())
}

/// Exports the database named in the URL.
pub(crate) async fn export(opts: &ExportOptions, sink: &Sink) -> anyhow::Result<()> {
    let mut main = connect(opts).await?;
    let version = meta(&mut main, "SELECT VERSION()").await?;
    let is_mariadb = version.first().map(|r| get(r, 0).contains("MariaDB")).unwrap_or(false);
    let db = opts.url.database().unwrap_or_default();
    let mut objects = Vec::new();
    let plans = read_schema(&mut main, opts, &db, is_mariadb, &mut objects).await?;
    let exported: Vec<&str> = plans.iter().map(|p| p.schema.table.as_str()).collect();
    read_objects(&mut main, &db, &exported, &mut objects).await?;
    sink.send(super::Msg::Objects(objects)).await?;

    // The snapshot: with several workers, hold writes still while each one
    // starts its consistent snapshot, so they all see the same data.
    let mut readers = Vec::with_capacity(opts.jobs);
    let locked = if opts.jobs > 1 {
        match sqlx::raw_sql("FLUSH TABLES WITH READ LOCK").execute(&mut main).await {
            Ok(_) => true,
            Err(e) => {
                cli::warn(format_args!(
                    "cannot take FLUSH TABLES WITH READ LOCK ({e}); the {} workers start their snapshots one after \
                     another, so a write committed in between may be seen by some and not others (grant RELOAD, \
                     or use --jobs 1 for one snapshot)",
                    opts.jobs
                ));
                false
            }
        }
    } else {
        false
    };
    for _ in 0..opts.jobs {
        let mut conn = connect(opts).await?;
        sqlx::raw_sql("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut conn)
            .await
            .context("starting the snapshot")?;
        sqlx::raw_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .execute(&mut conn)
            .await
            .context("starting the snapshot")?;
        readers.push(Reader { conn });
    }
    if locked {
        sqlx::raw_sql("UNLOCK TABLES").execute(&mut main).await.context("releasing the read lock")?;
    }

    let mut workers = Workers::start(readers, sink);
    for plan in plans {
        let plan = Arc::new(plan);
        sink.send(super::Msg::Schema(Box::new(plan.schema.clone()))).await?;
        if opts.schema_only {
            continue;
        }
        let chunks = plan.share_queries(&mut main, opts.shard, opts.jobs, opts.chunk_rows, "").await?;
        workers.table(plan, chunks).await?;
    }
    workers.stop().await;
    Ok(())
}

struct Reader {
    conn: MySqlConnection,
}

impl ChunkReader for Reader {
    fn read_chunk<'a>(
        &'a mut self,
        plan: &'a TablePlan,
        sql: &'a str,
        sink: &'a Sink,
    ) -> BoxFuture<'a, anyhow::Result<u64>> {
        async move {
            let mut enc = RowEncoder::new(&plan.schema);
            let mut total = 0u64;
            let mut rows = sqlx::raw_sql(sql).fetch(&mut self.conn);
            while let Some(row) = rows.try_next().await? {
                enc.begin();
                for (i, kind) in plan.kinds.iter().enumerate() {
                    enc.key(i);
                    let v = row.try_get_raw(i)?;
                    if v.is_null() {
                        enc.out().extend_from_slice(b"null");
                        continue;
                    }
                    let raw = <&[u8] as Decode<MySql>>::decode(v).map_err(|e| anyhow::anyhow!("{e}"))?;
                    if *kind == Kind::TinyBool && raw != b"0" && raw != b"1" {
                        let col = &plan.schema.columns[i];
                        enc.warn_once(
                            i,
                            format_args!(
                                "{}: holds {}, not 0 or 1: such values are exported as numbers",
                                at(&plan.schema.table, col),
                                String::from_utf8_lossy(raw)
                            ),
                        );
                    }
                    write_value(kind, raw, enc.out())
                        .map_err(|e| anyhow::anyhow!("{}: {e}", at(&plan.schema.table, &plan.schema.columns[i])))?;
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

/// Reads the structure of the selected tables, in dependency order.
async fn read_schema(
    conn: &mut MySqlConnection,
    opts: &ExportOptions,
    db: &str,
    is_mariadb: bool,
    objects: &mut Vec<SchemaObject>,
) -> anyhow::Result<Vec<TablePlan>> {
    let schema_lit = quote_str(db);
    let tables = meta(
        conn,
        &format!(
            "SELECT TABLE_NAME, TABLE_ROWS, TABLE_COLLATION, TABLE_COMMENT FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = {schema_lit} AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"
        ),
    )
    .await
    .context("listing tables")?;
    if tables.is_empty() {
        let exists = meta(
            conn,
            &format!("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {schema_lit}"),
        )
        .await?;
        if exists.is_empty() {
            bail!("no database {db:?} on {}", opts.url);
        }
    }
    let names: Vec<String> = tables.iter().map(|r| get(r, 0).to_owned()).collect();
    let chosen = select_tables(&names, opts, &format!("database {db:?}"))?;
    let chosen_set: std::collections::HashSet<&str> = chosen.iter().map(String::as_str).collect();

    let columns = meta(
        conn,
        &format!(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, COLUMN_TYPE, \
             CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME, \
             COLLATION_NAME, EXTRA, COLUMN_COMMENT, GENERATION_EXPRESSION FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = {schema_lit} ORDER BY TABLE_NAME, ORDINAL_POSITION"
        ),
    )
    .await
    .context("reading columns")?;
    // MariaDB's JSON is LONGTEXT with CHECK (json_valid(`col`)).
    // Other CHECK constraints travel in the schema line (`checks`).
    let all_checks: Vec<(String, String, String)> = meta(
        conn,
        &format!(
            "SELECT TABLE_NAME, CHECK_CLAUSE, CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = {schema_lit} ORDER BY TABLE_NAME, CONSTRAINT_NAME"
        ),
    )
    .await
    .unwrap_or_default()
    .into_iter()
    .map(|r| (get(&r, 0).to_owned(), get(&r, 1).to_owned(), get(&r, 2).to_owned()))
    .collect();
    let json_checks: Vec<(String, String)> = all_checks.iter().map(|(t, c, _)| (t.clone(), c.clone())).collect();
    let stats = meta(
        conn,
        &format!(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, INDEX_TYPE FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = {schema_lit} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
        ),
    )
    .await
    .context("reading indexes")?;
    let fks = meta(
        conn,
        &format!(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
             k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
             ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
             AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = {schema_lit} AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
        ),
    )
    .await
    .context("reading foreign keys")?;

    let mut schemas: BTreeMap<String, (TableSchema, Vec<Kind>)> = BTreeMap::new();
    for t in &tables {
        let name = get(t, 0);
        if !chosen_set.contains(name) {
            continue;
        }
        let mut s = TableSchema::new(name, Vec::new());
        s.dialect = Some("mysql".into());
        s.estimated_rows = get_u64(t, 1);
        if let Some(coll) = t.get(2).cloned().flatten() {
            s.charset = coll.split('_').next().map(str::to_owned);
            s.collation = Some(coll);
        }
        s.comment = t.get(3).cloned().flatten().filter(|c| !c.is_empty());
        schemas.insert(name.to_owned(), (s, Vec::new()));
    }
    for r in &columns {
        let Some((schema, kinds)) = schemas.get_mut(get(r, 0)) else { continue };
        let extra = get(r, 12).to_ascii_lowercase();
        let generated = extra.contains("virtual") || extra.contains("persistent") || extra.contains("stored");
        if generated || (extra.contains("generated") && !extra.contains("default_generated")) {
            // Not in the rows (the target computes them): the schema line
            // carries the expression for a MySQL target to recreate.
            schema.generated.push(GeneratedColumn {
                name: get(r, 1).to_owned(),
                source_type: get(r, 5).to_owned(),
                expr: get(r, 14).to_owned(),
                stored: !extra.contains("virtual"),
            });
            continue;
        }
        let json_clause = format!("json_valid({})", quote_ident(get(r, 1)));
        let is_json = json_checks.iter().any(|(t, c)| t == &schema.table && c.eq_ignore_ascii_case(&json_clause));
        let (col, kind) = column(r, is_json, is_mariadb)
            .with_context(|| format!("table {:?}, column {:?}", schema.table, get(r, 1)))?;
        schema.columns.push(col);
        kinds.push(kind);
    }
    for (table, clause, name) in &all_checks {
        let Some((schema, _)) = schemas.get_mut(table.as_str()) else { continue };
        // MariaDB's JSON columns are LONGTEXT with json_valid(): the json type says that.
        let implied = schema.columns.iter().any(|c| {
            c.ty == LogicalType::Json && clause.eq_ignore_ascii_case(&format!("json_valid({})", quote_ident(&c.name)))
        });
        if !implied {
            schema.checks.push(Check { name: name.clone(), clause: clause.clone() });
        }
    }
    let mut index_order: Vec<(String, String)> = Vec::new();
    let mut indexes: HashMap<(String, String), (bool, Vec<String>, String)> = HashMap::new();
    for r in &stats {
        let key = (get(r, 0).to_owned(), get(r, 1).to_owned());
        let entry = indexes.entry(key.clone()).or_insert_with(|| {
            index_order.push(key.clone());
            (get(r, 2) == "0", Vec::new(), get(r, 4).to_owned())
        });
        entry.1.push(get(r, 3).to_owned());
    }
    for key in index_order {
        let Some((schema, _)) = schemas.get_mut(&key.0) else { continue };
        let (unique, cols, index_type) = indexes.remove(&key).unwrap_or_default();
        if cols.iter().any(String::is_empty) {
            let ddl =
                format!("-- an index on an expression: SHOW CREATE TABLE {} shows its definition", quote_ident(&key.0));
            objects.push(SchemaObject { kind: "index".into(), name: format!("{}.{}", key.0, key.1), ddl: ddl.clone() });
            schema.special_indexes.push(SchemaObject { kind: "expression index".into(), name: key.1, ddl });
            continue;
        }
        if key.1 == "PRIMARY" {
            schema.primary_key = cols;
        } else if index_type == "FULLTEXT" || index_type == "SPATIAL" {
            let list: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
            let kind = format!("{} index", index_type.to_ascii_lowercase());
            let ddl = format!(
                "CREATE {index_type} INDEX {} ON {} ({})",
                quote_ident(&key.1),
                quote_ident(&key.0),
                list.join(", ")
            );
            // Named by this export; a MySQL target recreates it from the schema line.
            objects.push(SchemaObject { kind: kind.clone(), name: format!("{}.{}", key.0, key.1), ddl: ddl.clone() });
            schema.special_indexes.push(SchemaObject { kind, name: key.1, ddl });
        } else {
            schema.indexes.push(Index { name: key.1, columns: cols, unique });
        }
    }
    for r in &fks {
        let Some((schema, _)) = schemas.get_mut(get(r, 0)) else { continue };
        let name = get(r, 1);
        let rule = |i: usize| {
            let v = get(r, i).to_ascii_lowercase();
            (v != "restrict" && v != "no action" && !v.is_empty()).then_some(v)
        };
        match schema.foreign_keys.last_mut() {
            Some(fk) if fk.name == name => {
                fk.columns.push(get(r, 2).to_owned());
                fk.ref_columns.push(get(r, 4).to_owned());
            }
            _ => schema.foreign_keys.push(ForeignKey {
                name: name.to_owned(),
                columns: vec![get(r, 2).to_owned()],
                ref_table: get(r, 3).to_owned(),
                ref_columns: vec![get(r, 4).to_owned()],
                on_delete: rule(6),
                on_update: rule(5),
            }),
        }
    }

    let mut kinds_by_table: HashMap<String, Vec<Kind>> = HashMap::new();
    let mut list = Vec::new();
    for (name, (schema, kinds)) in schemas {
        kinds_by_table.insert(name, kinds);
        list.push(schema);
    }
    let ordered = dependency_order(list);
    Ok(ordered
        .into_iter()
        .map(|schema| {
            let kinds = kinds_by_table.remove(&schema.table).unwrap_or_default();
            plan(schema, kinds, opts)
        })
        .collect())
}

fn plan(schema: TableSchema, kinds: Vec<Kind>, opts: &ExportOptions) -> TablePlan {
    let exprs: Vec<String> = schema
        .columns
        .iter()
        .map(|c| {
            let q = quote_ident(&c.name);
            // MariaDB prints FLOAT with 6 digits; the double of the float is exact.
            if c.ty == LogicalType::Float32 {
                format!("{q} * 1e0")
            } else {
                q
            }
        })
        .collect();
    let from = quote_ident(&schema.table);
    let select = format!("SELECT {} FROM {from}", exprs.join(", "));
    let order_by = if schema.primary_key.is_empty() {
        String::new()
    } else {
        format!("ORDER BY {}", schema.primary_key.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "))
    };
    let int_pk = match schema.primary_key.as_slice() {
        [pk] => schema.column(pk).filter(|c| c.ty.is_integer()).map(|c| quote_ident(&c.name)),
        _ => None,
    };
    let filter = opts.filter(&schema, decant_record::conn::Store::MySql);
    let pk = schema.primary_key.iter().map(|c| quote_ident(c)).collect();
    let split = split_key(&schema, quote_ident, |c| {
        // CHAR, VARCHAR and the TEXTs in a character set (the binary
        // strings are `bytes`, ENUM/SET compare by index).
        let ty = c.source_type.as_deref().unwrap_or("").to_ascii_lowercase();
        let text = ty.starts_with("char") || ty.starts_with("varchar") || ty.ends_with("text");
        let (charset, collation) = (c.charset.clone()?, c.collation.clone()?);
        (text && plain_name(&charset) && plain_name(&collation)).then_some(TextCmp::MySql { charset, collation })
    });
    TablePlan { schema, from, select, filter, order_by, kinds, int_pk, pk, split }
}

/// The views, triggers (of `tables`), routines and events of database `db`,
/// which a stream does not carry, with their source DDL.
async fn read_objects(
    conn: &mut MySqlConnection,
    db: &str,
    tables: &[&str],
    objects: &mut Vec<SchemaObject>,
) -> anyhow::Result<()> {
    let lit = quote_str(db);
    let views = meta(
        conn,
        &format!(
            "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {lit} ORDER BY TABLE_NAME"
        ),
    )
    .await
    .context("listing views")?;
    for r in &views {
        let ddl = format!("CREATE VIEW {} AS {}", quote_ident(get(r, 0)), get(r, 1));
        objects.push(SchemaObject { kind: "view".into(), name: get(r, 0).to_owned(), ddl });
    }
    let triggers = meta(
        conn,
        &format!(
            "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_STATEMENT \
             FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = {lit} ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME"
        ),
    )
    .await
    .context("listing triggers")?;
    for r in triggers.iter().filter(|r| tables.contains(&get(r, 3))) {
        let ddl = format!(
            "CREATE TRIGGER {} {} {} ON {} FOR EACH ROW {}",
            quote_ident(get(r, 0)),
            get(r, 1),
            get(r, 2),
            quote_ident(get(r, 3)),
            get(r, 4)
        );
        objects.push(SchemaObject { kind: "trigger".into(), name: format!("{}.{}", get(r, 3), get(r, 0)), ddl });
    }
    let routines = meta(
        conn,
        &format!(
            "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = {lit} ORDER BY ROUTINE_TYPE, ROUTINE_NAME"
        ),
    )
    .await
    .context("listing routines")?;
    for r in &routines {
        let (name, kind) = (get(r, 0), get(r, 1).to_ascii_uppercase());
        let show = format!("SHOW CREATE {kind} {}.{}", quote_ident(db), quote_ident(name));
        // SHOW CREATE gives the whole definition (parameters, characteristics);
        // without the privilege to see it, the body is what remains.
        let ddl = match meta(conn, &show).await {
            Ok(rows) => rows.first().and_then(|row| row.get(2).cloned().flatten()),
            Err(_) => None,
        };
        let ddl = ddl.unwrap_or_else(|| format!("-- {kind} {name}: only its body is readable:\n{}", get(r, 2)));
        objects.push(SchemaObject { kind: kind.to_ascii_lowercase(), name: name.to_owned(), ddl });
    }
    let events = meta(
        conn,
        &format!("SELECT EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = {lit} ORDER BY EVENT_NAME"),
    )
    .await
    .unwrap_or_default();
    for r in &events {
        let show = format!("SHOW CREATE EVENT {}.{}", quote_ident(db), quote_ident(get(r, 0)));
        let ddl = match meta(conn, &show).await {
            Ok(rows) => rows.first().and_then(|row| row.get(3).cloned().flatten()),
            Err(_) => None,
        };
        let ddl = ddl.unwrap_or_else(|| format!("-- event {}: only its body is readable:\n{}", get(r, 0), get(r, 1)));
        objects.push(SchemaObject { kind: "event".into(), name: get(r, 0).to_owned(), ddl });
    }
    Ok(())
}

/// One column's logical type and reader from its `information_schema.COLUMNS` row.
fn column(r: &[Option<String>], is_json: bool, is_mariadb: bool) -> anyhow::Result<(Column, Kind)> {
    let name = get(r, 1);
    let data_type = get(r, 4).to_ascii_lowercase();
    let column_type = get(r, 5).to_ascii_lowercase();
    let unsigned = column_type.contains("unsigned");
    let mut c = Column::new(name, LogicalType::Text);
    c.nullable = get(r, 3) == "YES";
    c.source_type = Some(if is_json { "json".to_owned() } else { get(r, 5).to_owned() });
    c.unsigned = unsigned;
    let char_len = get_u64(r, 6);
    let num_precision = get_u64(r, 7).map(|n| n as u32);
    let num_scale = get_u64(r, 8).map(|n| n as u32);
    let dt_precision = get_u64(r, 9).map(|n| n as u32);
    let int = |signed: LogicalType, uns: LogicalType| if unsigned { uns } else { signed };
    let (ty, kind) = match data_type.as_str() {
        _ if is_json => (LogicalType::Json, Kind::Json),
        "tinyint" if column_type.starts_with("tinyint(1)") && !unsigned => (LogicalType::Bool, Kind::TinyBool),
        "tinyint" => (int(LogicalType::Int8, LogicalType::Uint8), Kind::Int),
        "smallint" => (int(LogicalType::Int16, LogicalType::Uint16), Kind::Int),
        "mediumint" | "int" | "integer" => (int(LogicalType::Int32, LogicalType::Uint32), Kind::Int),
        "bigint" => (int(LogicalType::Int64, LogicalType::Uint64), Kind::Int),
        "decimal" | "numeric" => {
            c.precision = num_precision;
            c.scale = num_scale;
            (LogicalType::Decimal, Kind::Decimal)
        }
        "float" => (LogicalType::Float32, Kind::Float64),
        "double" | "real" | "double precision" => (LogicalType::Float64, Kind::Float64),
        "bit" => {
            c.len = num_precision;
            (LogicalType::Bit, Kind::MyBit)
        }
        "char" | "varchar" => {
            c.max_len = char_len;
            c.fixed = data_type == "char";
            (LogicalType::String, Kind::Text)
        }
        "tinytext" | "text" | "mediumtext" | "longtext" => (LogicalType::Text, Kind::Text),
        "binary" | "varbinary" => {
            c.max_len = char_len;
            c.fixed = data_type == "binary";
            (LogicalType::Bytes, Kind::Bytes)
        }
        "tinyblob" | "blob" | "mediumblob" | "longblob" => (LogicalType::Bytes, Kind::Bytes),
        "date" => (LogicalType::Date, Kind::MyDatetime),
        "datetime" => {
            c.precision = dt_precision;
            (LogicalType::Datetime, Kind::MyDatetime)
        }
        "timestamp" => {
            c.precision = dt_precision;
            (LogicalType::Timestamp, Kind::MyTimestamp)
        }
        "time" => {
            c.precision = dt_precision;
            (LogicalType::Time, Kind::Text)
        }
        "year" => (LogicalType::Year, Kind::Int),
        "json" => (LogicalType::Json, Kind::Json),
        "enum" | "set" => {
            c.values = Some(parse_quoted_list(get(r, 5)));
            (if data_type == "enum" { LogicalType::Enum } else { LogicalType::Set }, Kind::Text)
        }
        "uuid" => (LogicalType::Uuid, Kind::Text),
        // Spatial types arrive as MySQL's internal WKB with SRID.
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon"
        | "geometrycollection" | "geomcollection" => (LogicalType::Bytes, Kind::Bytes),
        _ => (LogicalType::Text, Kind::Text),
    };
    c.ty = ty;
    if matches!(ty, LogicalType::String | LogicalType::Text | LogicalType::Enum | LogicalType::Set) {
        c.charset = r.get(10).cloned().flatten();
        c.collation = r.get(11).cloned().flatten();
    }
    let extra = get(r, 12).to_ascii_lowercase();
    c.auto_increment = extra.contains("auto_increment");
    if extra.contains("on update current_timestamp") {
        c.on_update = Some("current_timestamp".into());
    }
    c.comment = r.get(13).cloned().flatten().filter(|s| !s.is_empty());
    if let Some(default) = r.get(2).cloned().flatten() {
        default_of(&mut c, &kind, &default, is_mariadb, extra.contains("default_generated"));
    }
    Ok((c, kind))
}

/// Fills `default` / `default_expr` from COLUMN_DEFAULT. MariaDB quotes
/// literals (`'abc'`, `NULL` for none) and leaves expressions bare; MySQL 8
/// gives literals bare and marks expressions `DEFAULT_GENERATED`.
fn default_of(c: &mut Column, kind: &Kind, text: &str, is_mariadb: bool, generated: bool) {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("current_timestamp") || lower.starts_with("now(") {
        c.default_expr = Some("current_timestamp".into());
        return;
    }
    let literal: Option<String> = if is_mariadb {
        if text == "NULL" {
            return;
        }
        if text.len() >= 2 && text.starts_with('\'') && text.ends_with('\'') {
            Some(text[1..text.len() - 1].replace("''", "'").replace("\\\\", "\\"))
        } else if text.parse::<f64>().is_ok() {
            Some(text.to_owned())
        } else {
            None
        }
    } else if generated {
        None
    } else {
        Some(text.to_owned())
    };
    let Some(lit) = literal else {
        c.default_expr = Some(text.to_owned());
        return;
    };
    let value = match kind {
        Kind::MyBit => {
            // b'101'
            let digits = lit.trim_start_matches("b'").trim_end_matches('\'');
            u64::from_str_radix(digits, 2).map(|n| Value::Int(n as i128)).map_err(|e| e.to_string())
        }
        Kind::Bytes => Ok(Value::Bytes(lit.clone().into_bytes())),
        _ => decode_value(kind, lit.as_bytes()),
    };
    match value {
        Ok(v) => c.default = Some(v),
        Err(_) => c.default_expr = Some(text.to_owned()),
    }
}
