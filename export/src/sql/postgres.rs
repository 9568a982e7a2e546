//! `pg-export`: PostgreSQL.
//!
//! Sessions run with `TimeZone=UTC` (timestamptz values come out as UTC
//! instants with `Z`; timestamp is naive and never shifted), `DateStyle=ISO`,
//! `IntervalStyle=iso_8601`, `extra_float_digits=3` (shortest exact floats)
//! and `bytea_output=hex`. All workers share one exported snapshot. Column
//! types come from `pg_catalog` (`format_type` is kept as `source_type`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use decant_record::cli;
use decant_record::{Check, Column, ForeignKey, GeneratedColumn, Index, LogicalType, SchemaObject, TableSchema, Value};
use futures_util::future::{BoxFuture, LocalBoxFuture};
use futures_util::{FutureExt as _, TryStreamExt as _};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{ConnectOptions as _, Row as _, ValueRef as _};

use super::{
    at, decode_value, dependency_order, get, select_tables, split_key, write_value, ChunkReader, ExportOptions, Kind,
    RowEncoder, Sink, TablePlan, TextCmp, Workers,
};

/// `identifier` in double quotes.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

async fn connect(opts: &ExportOptions) -> anyhow::Result<PgConnection> {
    let mut url = opts.url.url().clone();
    if url.scheme() != "postgres" {
        let _ = url.set_scheme("postgres");
    }
    let options = PgConnectOptions::from_url(&url)
        .with_context(|| format!("bad PostgreSQL URL {}", opts.url))?
        .disable_statement_logging();
    let mut conn = options.connect().await.with_context(|| format!("connecting to {}", opts.url))?;
    sqlx::raw_sql(
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; \
         SET extra_float_digits = 3; SET bytea_output = 'hex'; SET client_encoding = 'UTF8'; \
         SET standard_conforming_strings = on; SET statement_timeout = 0; \
         SET idle_in_transaction_session_timeout = 0",
    )
    .execute(&mut conn)
    .await
    .context("setting up the session")?;
    Ok(conn)
}

/// Runs a metadata query; every column as text.
async fn meta(conn: &mut PgConnection, sql: &str) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    let rows: Vec<PgRow> = sqlx::raw_sql(sql).fetch_all(&mut *conn).await?;
    Ok(rows
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    let v = row.try_get_raw(i).ok()?;
                    if v.is_null() {
                        return None;
                    }
                    Some(String::from_utf8_lossy(v.as_bytes().ok()?).into_owned())
                })
                .collect()
        })
        .collect())
}

impl super::MetaConn for PgConnection {
    fn meta<'a>(&'a mut self, sql: &'a str) -> LocalBoxFuture<'a, anyhow::Result<Vec<Vec<Option<String>>>>> {
        meta(self, sql).boxed_local()
    }
}

fn json_names(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Exports the tables of one schema (`--schema`, default `current_schema()`).
pub(crate) async fn export(opts: &ExportOptions, sink: &Sink) -> anyhow::Result<()> {
    let mut main = connect(opts).await?;
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut main)
        .await
        .context("starting the snapshot")?;
    let snapshot = match meta(&mut main, "SELECT pg_export_snapshot()").await {
        Ok(r) => r.first().map(|r| get(r, 0).to_owned()),
        Err(e) => {
            if opts.jobs > 1 {
                cli::warn(format_args!(
                    "cannot export the snapshot ({e}); the {} workers start their own snapshots one after \
                     another, so a write committed in between may be seen by some and not others",
                    opts.jobs
                ));
            }
            None
        }
    };
    let mut objects = Vec::new();
    let plans = read_schema(&mut main, opts, &mut objects).await?;
    sink.send(super::Msg::Objects(objects)).await?;

    let mut readers = Vec::with_capacity(opts.jobs);
    for _ in 0..opts.jobs {
        let mut conn = connect(opts).await?;
        let mut begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_owned();
        if let Some(id) = &snapshot {
            begin.push_str(&format!("; SET TRANSACTION SNAPSHOT {}", quote_str(id)));
        }
        sqlx::raw_sql(&begin).execute(&mut conn).await.context("starting the snapshot")?;
        readers.push(Reader { conn });
    }

    let mut workers = Workers::start(readers, sink);
    for plan in plans {
        let plan = Arc::new(plan);
        sink.send(super::Msg::Schema(Box::new(plan.schema.clone()))).await?;
        if opts.schema_only {
            continue;
        }
        let chunks = plan.share_queries(&mut main, opts.shard, opts.jobs, opts.chunk_rows, "::text").await?;
        workers.table(plan, chunks).await?;
    }
    workers.stop().await;
    let _ = sqlx::raw_sql("COMMIT").execute(&mut main).await;
    Ok(())
}

struct Reader {
    conn: PgConnection,
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
                    let raw = v.as_bytes().map_err(|e| anyhow::anyhow!("{e}"))?;
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

/// The views, triggers (of the tables `oids`), routines and rules of schema
/// `nsp`, which a stream does not carry, with their source DDL.
async fn read_objects(
    conn: &mut PgConnection,
    nsp: &str,
    oids: &[String],
    objects: &mut Vec<SchemaObject>,
) -> anyhow::Result<()> {
    let lit = quote_str(nsp);
    let views = meta(
        conn,
        &format!(
            "SELECT c.relname, c.relkind = 'm', pg_get_viewdef(c.oid) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {lit} AND c.relkind IN ('v', 'm') \
             ORDER BY c.relname"
        ),
    )
    .await
    .context("listing views")?;
    for r in &views {
        let (kind, create) =
            if get(r, 1) == "t" { ("materialized view", "MATERIALIZED VIEW") } else { ("view", "VIEW") };
        let ddl = format!("CREATE {create} {}.{} AS\n{}", quote_ident(nsp), quote_ident(get(r, 0)), get(r, 2));
        objects.push(SchemaObject { kind: kind.into(), name: get(r, 0).to_owned(), ddl });
    }
    if !oids.is_empty() {
        let triggers = meta(
            conn,
            &format!(
                "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                 WHERE NOT t.tgisinternal AND t.tgrelid IN ({}) ORDER BY c.relname, t.tgname",
                oids.join(",")
            ),
        )
        .await
        .context("listing triggers")?;
        for r in &triggers {
            let name = format!("{}.{}", get(r, 0), get(r, 1));
            objects.push(SchemaObject { kind: "trigger".into(), name, ddl: get(r, 2).to_owned() });
        }
    }
    // Functions and procedures of the schema, not those an extension owns.
    let routines = meta(
        conn,
        &format!(
            "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', p.prokind, \
             pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname = {lit} AND p.prokind IN ('f', 'p') \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') ORDER BY 1"
        ),
    )
    .await
    .context("listing routines")?;
    for r in &routines {
        let kind = if get(r, 1) == "p" { "procedure" } else { "function" };
        objects.push(SchemaObject { kind: kind.into(), name: get(r, 0).to_owned(), ddl: get(r, 2).to_owned() });
    }
    // Aggregates: pg_get_functiondef does not print them; their parts do.
    let aggregates = meta(
        conn,
        &format!(
            "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', \
             format('CREATE AGGREGATE %s.%I(%s) (SFUNC = %s, STYPE = %s%s%s)', quote_ident(n.nspname), p.proname, \
             pg_get_function_identity_arguments(p.oid), a.aggtransfn::regproc, format_type(a.aggtranstype, NULL), \
             CASE WHEN a.aggfinalfn <> 0 THEN ', FINALFUNC = ' || a.aggfinalfn::regproc END, \
             CASE WHEN a.agginitval IS NOT NULL THEN ', INITCOND = ' || quote_literal(a.agginitval) END) \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_aggregate a ON a.aggfnoid = p.oid \
             WHERE n.nspname = {lit} AND p.prokind = 'a' \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') ORDER BY 1"
        ),
    )
    .await
    .context("listing aggregates")?;
    for r in &aggregates {
        objects.push(SchemaObject { kind: "aggregate".into(), name: get(r, 0).to_owned(), ddl: get(r, 1).to_owned() });
    }
    // Enum types and domains the tables' columns may use.
    let types = meta(
        conn,
        &format!(
            "SELECT t.typname, t.typtype, CASE t.typtype \
               WHEN 'e' THEN format('CREATE TYPE %s.%I AS ENUM (%s)', quote_ident(n.nspname), t.typname, \
                 (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)) \
               ELSE format('CREATE DOMAIN %s.%I AS %s%s', quote_ident(n.nspname), t.typname, format_type(t.typbasetype, t.typtypmod), \
                 (SELECT string_agg(' CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid), '' ORDER BY c.conname) \
                  FROM pg_constraint c WHERE c.contypid = t.oid)) END \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE n.nspname = {lit} AND t.typtype IN ('e', 'd') \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e') ORDER BY 1"
        ),
    )
    .await
    .context("listing types")?;
    for r in &types {
        let kind = if get(r, 1) == "e" { "enum type" } else { "domain" };
        objects.push(SchemaObject { kind: kind.into(), name: get(r, 0).to_owned(), ddl: get(r, 2).to_owned() });
    }
    let rules = meta(
        conn,
        &format!("SELECT tablename || '.' || rulename, definition FROM pg_rules WHERE schemaname = {lit} ORDER BY 1"),
    )
    .await
    .context("listing rules")?;
    for r in &rules {
        objects.push(SchemaObject { kind: "rule".into(), name: get(r, 0).to_owned(), ddl: get(r, 1).to_owned() });
    }
    Ok(())
}

async fn read_schema(
    conn: &mut PgConnection,
    opts: &ExportOptions,
    objects: &mut Vec<SchemaObject>,
) -> anyhow::Result<Vec<TablePlan>> {
    let nsp = match &opts.pg_schema {
        Some(s) => s.clone(),
        None => {
            let r = meta(conn, "SELECT current_schema()").await.context("reading the current schema")?;
            r.first().map(|r| get(r, 0).to_owned()).filter(|s| !s.is_empty()).unwrap_or_else(|| "public".into())
        }
    };
    let exists = meta(conn, &format!("SELECT 1 FROM pg_namespace WHERE nspname = {}", quote_str(&nsp))).await?;
    if exists.is_empty() {
        bail!("no schema {nsp:?} in {}", opts.url);
    }
    let tables = meta(
        conn,
        &format!(
            "SELECT c.oid::int8, c.relname, c.reltuples::int8, obj_description(c.oid, 'pg_class'), c.relkind::text \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = {} AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname",
            quote_str(&nsp)
        ),
    )
    .await
    .context("listing tables")?;
    let names: Vec<String> = tables.iter().map(|r| get(r, 1).to_owned()).collect();
    let chosen = select_tables(&names, opts, &format!("schema {nsp:?} of {}", opts.url))?;
    // Each row is read once: a partitioned table ('p') is read whole through
    // its parent and its partitions are not listed; every other table ('r')
    // is read with ONLY, so an inheritance parent gives its own rows and each
    // child its own (a plain SELECT on the parent would add the children's).
    let partitioned: std::collections::HashSet<String> =
        tables.iter().filter(|t| get(t, 4) == "p").map(|t| get(t, 1).to_owned()).collect();
    let mut by_oid: BTreeMap<i64, TableSchema> = BTreeMap::new();
    let mut kinds: HashMap<i64, Vec<Kind>> = HashMap::new();
    for t in &tables {
        if !chosen.iter().any(|c| c == get(t, 1)) {
            continue;
        }
        let oid: i64 = get(t, 0).parse().context("reading table oids")?;
        let mut s = TableSchema::new(get(t, 1), Vec::new());
        s.dialect = Some("postgres".into());
        s.estimated_rows = get(t, 2).parse::<i64>().ok().filter(|n| *n >= 0).map(|n| n as u64);
        s.comment = t.get(3).cloned().flatten();
        by_oid.insert(oid, s);
        kinds.insert(oid, Vec::new());
    }
    read_objects(conn, &nsp, &by_oid.keys().map(|o| o.to_string()).collect::<Vec<_>>(), objects).await?;
    if by_oid.is_empty() {
        return Ok(Vec::new());
    }
    let oids = by_oid.keys().map(|o| o.to_string()).collect::<Vec<_>>().join(",");

    let enums: HashMap<String, Vec<String>> =
        meta(conn, "SELECT enumtypid::int8, json_agg(enumlabel ORDER BY enumsortorder)::text FROM pg_enum GROUP BY 1")
            .await
            .context("reading enum types")?
            .into_iter()
            .map(|r| (get(&r, 0).to_owned(), json_names(get(&r, 1))))
            .collect();
    let columns = meta(
        conn,
        &format!(
            "SELECT a.attrelid::int8, a.attname, \
             CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(a.atttypid, a.atttypmod) END, \
             a.attnotnull, \
             CASE WHEN bt.oid IS NOT NULL THEN t.typtypmod ELSE a.atttypmod END, \
             COALESCE(et.typname, bt.typname, t.typname), et.oid IS NOT NULL, \
             COALESCE(et.typtype, bt.typtype, t.typtype), COALESCE(et.oid, bt.oid, t.oid)::int8, \
             pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, \
             CASE WHEN a.attcollation <> 0 AND a.attcollation <> COALESCE(et.typcollation, t.typcollation) \
             THEN co.collname END, col_description(a.attrelid, a.attnum), \
             CASE WHEN t.typtype = 'd' THEN format_type(a.atttypid, a.atttypmod) END \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_type et ON t.typcategory = 'A' AND et.oid = t.typelem \
             LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             WHERE a.attrelid IN ({oids}) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum"
        ),
    )
    .await
    .context("reading columns")?;
    for r in &columns {
        let oid: i64 = get(r, 0).parse().unwrap_or(0);
        let Some(schema) = by_oid.get_mut(&oid) else { continue };
        if !get(r, 11).is_empty() {
            // Not in the rows (the target computes them): the schema line
            // carries the expression for a PostgreSQL target to recreate.
            schema.generated.push(GeneratedColumn {
                name: get(r, 1).to_owned(),
                source_type: get(r, 2).to_owned(),
                expr: get(r, 9).to_owned(),
                stored: get(r, 11) == "s",
            });
            continue;
        }
        let (col, kind) = column(r, &enums);
        if let Some(domain) = r.get(14).cloned().flatten() {
            // A domain is the target's to define (like an enum type): its
            // base type travels, and the user is told.
            cli::warn(format_args!(
                "table {:?}, column {:?}: the domain {domain} is exported as its base type {} (the domain's \
                 constraints are not carried)",
                schema.table,
                col.name,
                col.source_type.as_deref().unwrap_or("")
            ));
        }
        schema.columns.push(col);
        if let Some(k) = kinds.get_mut(&oid) {
            k.push(kind);
        }
    }
    let indexes = meta(
        conn,
        &format!(
            "SELECT i.indrelid::int8, ic.relname, i.indisprimary, i.indisunique, \
             (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL), \
             (SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) \
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n WHERE k.o <= i.indnkeyatts)::text, \
             pg_get_indexdef(i.indexrelid), am.amname, \
             (i.indnatts <> i.indnkeyatts \
              OR EXISTS (SELECT 1 FROM unnest(i.indoption::int2[]) o WHERE o <> 0) \
              OR EXISTS (SELECT 1 FROM unnest(i.indclass::oid[]) c JOIN pg_opclass oc ON oc.oid = c WHERE NOT oc.opcdefault)) \
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam \
             WHERE i.indrelid IN ({oids}) ORDER BY ic.relname"
        ),
    )
    .await
    .context("reading indexes")?;
    for r in &indexes {
        let oid: i64 = get(r, 0).parse().unwrap_or(0);
        let Some(schema) = by_oid.get_mut(&oid) else { continue };
        let cols = json_names(get(r, 5));
        // Partial, expression and non-btree (GIN, GiST, BRIN, …) indexes,
        // and btree ones with a DESC / NULLS order, INCLUDE columns or an
        // operator class of their own, have no portable equivalent: carried
        // as the server's own definition (recreated on PostgreSQL, named
        // elsewhere).
        let shaped = get(r, 8) == "t" && get(r, 2) != "t";
        let special = get(r, 4) == "t" || cols.is_empty() || (get(r, 7) != "btree" && get(r, 2) != "t") || shaped;
        if special {
            let kind = match get(r, 7) {
                "btree" if get(r, 4) == "t" => "partial or expression index".to_owned(),
                "btree" => "ordered, covering or operator-class index".to_owned(),
                am => format!("{am} index"),
            };
            let ddl = get(r, 6).to_owned();
            objects.push(SchemaObject {
                kind: kind.clone(),
                name: format!("{}.{}", schema.table, get(r, 1)),
                ddl: ddl.clone(),
            });
            schema.special_indexes.push(SchemaObject { kind, name: get(r, 1).to_owned(), ddl });
            continue;
        }
        if get(r, 2) == "t" {
            schema.primary_key = cols;
        } else {
            schema.indexes.push(Index { name: get(r, 1).to_owned(), columns: cols, unique: get(r, 3) == "t" });
        }
    }
    let fks = meta(
        conn,
        &format!(
            "SELECT con.conrelid::int8, con.conname, \
             (SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(con.conkey) WITH ORDINALITY k(n, o) \
              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n)::text, rc.relname, \
             (SELECT json_agg(a.attname ORDER BY k.o) FROM unnest(con.confkey) WITH ORDINALITY k(n, o) \
              JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n)::text, \
             con.confdeltype, con.confupdtype \
             FROM pg_constraint con JOIN pg_class rc ON rc.oid = con.confrelid \
             WHERE con.contype = 'f' AND con.conrelid IN ({oids}) ORDER BY con.conname"
        ),
    )
    .await
    .context("reading foreign keys")?;
    let action = |code: &str| match code {
        "r" => Some("restrict".to_owned()),
        "c" => Some("cascade".to_owned()),
        "n" => Some("set null".to_owned()),
        "d" => Some("set default".to_owned()),
        _ => None,
    };
    for r in &fks {
        let oid: i64 = get(r, 0).parse().unwrap_or(0);
        let Some(schema) = by_oid.get_mut(&oid) else { continue };
        schema.foreign_keys.push(ForeignKey {
            name: get(r, 1).to_owned(),
            columns: json_names(get(r, 2)),
            ref_table: get(r, 3).to_owned(),
            ref_columns: json_names(get(r, 4)),
            on_delete: action(get(r, 5)),
            on_update: action(get(r, 6)),
        });
    }

    let checks = meta(
        conn,
        &format!(
            "SELECT con.conrelid::int8, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con \
             WHERE con.contype = 'c' AND con.conrelid IN ({oids}) ORDER BY con.conname"
        ),
    )
    .await
    .context("reading CHECK constraints")?;
    for r in &checks {
        let oid: i64 = get(r, 0).parse().unwrap_or(0);
        let Some(schema) = by_oid.get_mut(&oid) else { continue };
        let def = get(r, 2);
        let clause = def.strip_prefix("CHECK ").unwrap_or(def).to_owned();
        schema.checks.push(Check { name: get(r, 1).to_owned(), clause });
    }

    let mut kinds_by_name: HashMap<String, Vec<Kind>> = HashMap::new();
    let mut list = Vec::new();
    for (oid, schema) in by_oid {
        kinds_by_name.insert(schema.table.clone(), kinds.remove(&oid).unwrap_or_default());
        list.push(schema);
    }
    Ok(dependency_order(list)
        .into_iter()
        .map(|schema| {
            let kinds = kinds_by_name.remove(&schema.table).unwrap_or_default();
            let only = if partitioned.contains(&schema.table) { "" } else { "ONLY " };
            let from = format!("{only}{}.{}", quote_ident(&nsp), quote_ident(&schema.table));
            let select = format!(
                "SELECT {} FROM {from}",
                schema.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ")
            );
            let order_by = if schema.primary_key.is_empty() {
                String::new()
            } else {
                format!("ORDER BY {}", schema.primary_key.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "))
            };
            let int_pk = match schema.primary_key.as_slice() {
                [pk] => schema.column(pk).filter(|c| c.ty.is_integer()).map(|c| quote_ident(&c.name)),
                _ => None,
            };
            let filter = opts.filter(&schema, decant_record::conn::Store::Postgres);
            let pk = schema.primary_key.iter().map(|c| quote_ident(c)).collect();
            let split = split_key(&schema, quote_ident, |c| {
                // The literal's type decides the comparison: varchar has
                // text's operators, bpchar its own (trailing blanks).
                let ty = c.source_type.as_deref().unwrap_or("");
                let ty = match ty {
                    "text" => "text",
                    _ if ty.starts_with("character varying") => "text",
                    _ if ty.starts_with("character") => "bpchar",
                    "name" => "name",
                    _ => return None,
                };
                Some(TextCmp::Postgres { ty })
            });
            TablePlan { schema, from, select, filter, order_by, kinds, int_pk, pk, split }
        })
        .collect())
}

/// The logical type and reader of a base (non-array) type.
fn base_type(
    c: &mut Column,
    typname: &str,
    typtype: &str,
    typmod: i64,
    enum_values: Option<&Vec<String>>,
) -> (LogicalType, Kind) {
    match typname {
        "int2" => (LogicalType::Int16, Kind::Int),
        "int4" => (LogicalType::Int32, Kind::Int),
        "int8" => (LogicalType::Int64, Kind::Int),
        "oid" | "xid" | "cid" => (LogicalType::Uint32, Kind::Int),
        "numeric" => {
            if typmod >= 4 {
                c.precision = Some((((typmod - 4) >> 16) & 0xffff) as u32);
                c.scale = Some(((typmod - 4) & 0xffff) as u32);
            }
            (LogicalType::Decimal, Kind::Decimal)
        }
        "float4" => (LogicalType::Float32, Kind::Float32),
        "float8" => (LogicalType::Float64, Kind::Float64),
        "bool" => (LogicalType::Bool, Kind::PgBool),
        "varchar" => {
            if typmod >= 4 {
                c.max_len = Some((typmod - 4) as u64);
                (LogicalType::String, Kind::Text)
            } else {
                (LogicalType::Text, Kind::Text)
            }
        }
        "bpchar" => {
            c.max_len = Some(if typmod >= 4 { (typmod - 4) as u64 } else { 1 });
            c.fixed = true;
            (LogicalType::String, Kind::Text)
        }
        "char" => {
            c.max_len = Some(1);
            (LogicalType::String, Kind::Text)
        }
        "name" => {
            c.max_len = Some(63);
            (LogicalType::String, Kind::Text)
        }
        "text" | "citext" => (LogicalType::Text, Kind::Text),
        "bytea" => (LogicalType::Bytes, Kind::PgBytea),
        "date" => (LogicalType::Date, Kind::Text),
        "time" | "timetz" => {
            c.precision = Some(if typmod >= 0 { typmod as u32 } else { 6 });
            (LogicalType::Time, Kind::Text)
        }
        "timestamp" => {
            c.precision = Some(if typmod >= 0 { typmod as u32 } else { 6 });
            (LogicalType::Datetime, Kind::PgDatetime)
        }
        "timestamptz" => {
            c.precision = Some(if typmod >= 0 { typmod as u32 } else { 6 });
            (LogicalType::Timestamp, Kind::PgTimestamptz)
        }
        "interval" => (LogicalType::Interval, Kind::Text),
        "json" | "jsonb" => (LogicalType::Json, Kind::Json),
        "uuid" => (LogicalType::Uuid, Kind::Text),
        "bit" if (1..=64).contains(&typmod) => {
            c.len = Some(typmod as u32);
            (LogicalType::Bit, Kind::PgBit)
        }
        _ if typtype == "e" => {
            c.values = enum_values.cloned();
            (LogicalType::Enum, Kind::Text)
        }
        _ => (LogicalType::Text, Kind::Text),
    }
}

fn column(r: &[Option<String>], enums: &HashMap<String, Vec<String>>) -> (Column, Kind) {
    let mut c = Column::new(get(r, 1), LogicalType::Text);
    c.source_type = Some(get(r, 2).to_owned());
    c.nullable = get(r, 3) != "t";
    let typmod: i64 = get(r, 4).parse().unwrap_or(-1);
    let typname = get(r, 5);
    let is_array = get(r, 6) == "t";
    let typtype = get(r, 7);
    let enum_values = enums.get(get(r, 8));
    let (ty, kind) = base_type(&mut c, typname, typtype, typmod, enum_values);
    let (ty, kind) = if is_array {
        c.element = Some(ty);
        (LogicalType::Array, Kind::PgArray(Box::new(kind)))
    } else {
        (ty, kind)
    };
    c.ty = ty;
    c.auto_increment = matches!(get(r, 10), "a" | "d");
    c.collation = r.get(12).cloned().flatten();
    c.comment = r.get(13).cloned().flatten();
    if let Some(expr) = r.get(9).cloned().flatten() {
        if expr.starts_with("nextval(") {
            c.auto_increment = true;
        } else {
            default_of(&mut c, &kind, &expr);
        }
    }
    (c, kind)
}

/// Fills `default` / `default_expr` from `pg_get_expr` of the default.
fn default_of(c: &mut Column, kind: &Kind, expr: &str) {
    let lower = expr.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "now()" | "current_timestamp" | "transaction_timestamp()" | "localtimestamp" | "statement_timestamp()"
    ) {
        c.default_expr = Some("current_timestamp".into());
        return;
    }
    if lower == "current_date" {
        c.default_expr = Some("current_date".into());
        return;
    }
    if lower.starts_with("null::") || lower == "null" {
        return;
    }
    let literal: Option<String> = if expr.starts_with('\'') {
        expr.rfind("'::").filter(|p| *p > 0).map(|p| expr[1..p].replace("''", "'"))
    } else {
        let bare = expr.trim_start_matches('(').trim_end_matches(')');
        let bare = bare.split("::").next().unwrap_or(bare);
        match bare {
            "true" => Some("t".into()),
            "false" => Some("f".into()),
            _ if bare.parse::<f64>().is_ok() => Some(bare.to_owned()),
            _ => None,
        }
    };
    match literal.map(|l| decode_value(kind, l.as_bytes())) {
        Some(Ok(v)) if !matches!(v, Value::Null) => c.default = Some(v),
        _ => c.default_expr = Some(expr.to_owned()),
    }
}
