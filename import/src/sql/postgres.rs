//! `pg-import`: PostgreSQL through COPY … FROM STDIN, in binary format where
//! every column's type has one here ([`super::pg_binary`]), else text.
//!
//! Session: `timezone=UTC`, `DateStyle=ISO`, UTF8. `--mode insert` copies
//! straight into the table; the other modes copy into a temporary staging
//! table and merge with `INSERT … SELECT … ON CONFLICT`.

use std::collections::HashMap;

use decant_record::conn::ConnUrl;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError};
use sqlx::{ConnectOptions, Executor, Row};

use super::cell::{pg_copy, pg_copy_len, Cell};
use super::omitted::{self, OmittedValue};
use super::pg_binary::{copy_binary, BinType};
use super::typemap::{kind_of, Dialect, Kind, TargetColumn};
use super::{column_in_message, DbError, Mode, Piece, Prepared, Preparer, Sink, TablePlan, Written};

const D: Dialect = Dialect::Postgres;

pub(crate) struct PgSink {
    conn: PgConnection,
    /// For a second connection ([`Sink::another`]).
    url: ConnUrl,
    stages: HashMap<(String, Vec<usize>), String>,
}

impl std::fmt::Debug for PgSink {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("PgSink")
    }
}

pub(crate) fn db_error(e: sqlx::Error) -> DbError {
    match &e {
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
                let mut message = format!("ERROR {}: {}", pg.code(), pg.message());
                if let Some(d) = pg.detail() {
                    message.push_str(&format!(" ({d})"));
                }
                let column = pg
                    .column()
                    .map(str::to_owned)
                    .or_else(|| pg.r#where().and_then(column_in_message))
                    .or_else(|| column_in_message(pg.message()));
                if let Some(w) = pg.r#where() {
                    message.push_str(&format!(" [{w}]"));
                }
                return DbError { message, column };
            }
            DbError { message: db.message().to_owned(), column: column_in_message(db.message()) }
        }
        other => DbError { message: other.to_string(), column: None },
    }
}

impl PgSink {
    pub(crate) async fn connect(url: &ConnUrl) -> anyhow::Result<PgSink> {
        let opts: PgConnectOptions =
            url.expose().parse().map_err(|e| anyhow::anyhow!("bad PostgreSQL URL {url}: {e}"))?;
        let opts = opts.options([("timezone", "UTC"), ("IntervalStyle", "postgres")]).disable_statement_logging();
        let conn = opts.connect().await.map_err(|e| anyhow::anyhow!("connecting to {url}: {}", db_error(e)))?;
        Ok(PgSink { conn, stages: HashMap::new(), url: url.clone() })
    }

    async fn copy_into(
        &mut self,
        table_sql: &str,
        col_list: &str,
        data: &CopyData,
        rows_len: usize,
    ) -> Result<u64, DbError> {
        let format = if data.binary { " (FORMAT binary)" } else { "" };
        let stmt = format!("COPY {table_sql} ({col_list}) FROM STDIN{format}");
        let mut copy = self.conn.copy_in_raw(&stmt).await.map_err(db_error)?;
        let sent = copy.send(data.data.as_slice()).await.map(|_| ());
        match sent {
            Ok(()) => {
                let n = copy.finish().await.map_err(db_error)?;
                debug_assert_eq!(n, rows_len as u64);
                Ok(n)
            }
            Err(e) => {
                let _ = copy.abort("decant: send failed").await;
                Err(db_error(e))
            }
        }
    }

    /// Copies the rows into the staging table and merges them as `mode` says.
    #[allow(clippy::too_many_arguments)]
    async fn merge(
        &mut self,
        plan: &TablePlan,
        cols: &[usize],
        mode: Mode,
        col_list: &str,
        stage: &str,
        data: &CopyData,
        n: u64,
    ) -> Result<Written, DbError> {
        let table = D.quote_table(&plan.name);
        let stage_q = D.quote(stage);
        self.copy_into(&stage_q, col_list, data, n as usize).await?;
        let pk: Vec<String> = plan.pk.iter().map(|&i| D.quote(&plan.columns[i].name)).collect();
        let written = match mode {
            Mode::SkipExisting => {
                let sql =
                    format!("INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {stage_q} ON CONFLICT DO NOTHING");
                self.exec(&sql).await?
            }
            Mode::Upsert => {
                let updates: Vec<String> = cols
                    .iter()
                    .filter(|i| !plan.pk.contains(i))
                    .map(|&i| {
                        let c = D.quote(&plan.columns[i].name);
                        format!("{c} = EXCLUDED.{c}")
                    })
                    .collect();
                let action = if updates.is_empty() {
                    "DO NOTHING".to_owned()
                } else {
                    format!("DO UPDATE SET {}", updates.join(", "))
                };
                let sql = format!(
                    "INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {stage_q} ON CONFLICT ({}) {action}",
                    pk.join(", ")
                );
                self.exec(&sql).await?;
                n
            }
            Mode::Replace => {
                let cond: Vec<String> = pk.iter().map(|c| format!("{table}.{c} = s.{c}")).collect();
                self.exec(&format!("DELETE FROM {table} USING {stage_q} s WHERE {}", cond.join(" AND "))).await?;
                self.exec(&format!("INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {stage_q}")).await?;
                n
            }
            Mode::Insert => unreachable!("handled above"),
        };
        self.exec(&format!("TRUNCATE {stage_q}")).await?;
        Ok(Written { written, skipped: n - written.min(n) })
    }

    async fn stage(&mut self, plan: &TablePlan, cols: &[usize], col_list: &str) -> Result<String, DbError> {
        let key = (plan.name.clone(), cols.to_vec());
        if let Some(s) = self.stages.get(&key) {
            return Ok(s.clone());
        }
        let name = format!("decant_stage_{}", self.stages.len());
        let sql = format!(
            "CREATE TEMP TABLE {} AS SELECT {col_list} FROM {} WITH NO DATA",
            D.quote(&name),
            D.quote_table(&plan.name)
        );
        self.conn.execute(sql.as_str()).await.map_err(db_error)?;
        self.stages.insert(key, name.clone());
        Ok(name)
    }
}

/// A batch's rows as COPY takes them.
#[derive(Debug)]
pub(crate) struct CopyData {
    /// `FORMAT binary` (else text).
    pub binary: bool,
    pub data: Vec<u8>,
}

/// The rows for COPY: in binary format when every column's type has a
/// binary form and every cell the shape it needs, else in text format.
/// Pure: the decoding thread builds it while the previous batch executes.
pub(crate) fn copy_data(plan: &TablePlan, cols: &[usize], rows: &[&[Cell]]) -> CopyData {
    let types: Option<Vec<BinType>> = cols.iter().map(|&i| BinType::of(&plan.columns[i].sql_type)).collect();
    if let Some(data) = types.and_then(|t| copy_binary(&t, rows)) {
        return CopyData { binary: true, data };
    }
    CopyData { binary: false, data: copy_text(rows) }
}

/// The rows in COPY text format.
pub(crate) fn copy_text(rows: &[&[Cell]]) -> Vec<u8> {
    let want: usize = rows.iter().map(|r| r.iter().map(pg_copy_len).sum::<usize>() + r.len()).sum();
    let mut buf = Vec::with_capacity(want);
    for row in rows {
        for (k, cell) in row.iter().enumerate() {
            if k > 0 {
                buf.push(b'\t');
            }
            pg_copy(cell, &mut buf);
        }
        buf.push(b'\n');
    }
    buf
}

/// A statement's text with its values as PostgreSQL literals (untyped, so
/// each takes the type of the column it meets).
fn render(pieces: &[Piece<'_>]) -> String {
    let mut sql = String::new();
    for p in pieces {
        match p {
            Piece::Sql(s) => sql.push_str(s),
            Piece::Value(cell) => sql.push_str(&literal(cell)),
        }
    }
    sql
}

fn literal(cell: &Cell) -> String {
    match cell {
        Cell::Null => "NULL".into(),
        Cell::Bool(b) => b.to_string(),
        Cell::Int(i) => format!("'{i}'"),
        Cell::Float(f) => format!("'{}'", super::cell::cell_text(&Cell::Float(*f))),
        Cell::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Cell::Bytes(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("'\\x{hex}'::bytea")
        }
    }
}

impl Sink for PgSink {
    async fn describe(&mut self, table: &str) -> anyhow::Result<Option<(Vec<TargetColumn>, Vec<String>)>> {
        let qualified = D.quote_table(table);
        let rows = sqlx::query(
            "SELECT a.attname::text, \
                    CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) \
                         ELSE format_type(a.atttypid, a.atttypmod) END, \
                    a.attnotnull, \
                    (a.attidentity <> '' OR COALESCE(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%'), \
                    COALESCE((SELECT string_agg(e.enumlabel, chr(1) ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid), ''), \
                    t.typtype::text \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        )
        .bind(&qualified)
        .fetch_all(&mut self.conn)
        .await
        .map_err(|e| anyhow::anyhow!("reading the columns of {table}: {}", db_error(e)))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut cols = Vec::with_capacity(rows.len());
        for r in rows {
            let name: String = r.try_get(0)?;
            let sql_type: String = r.try_get(1)?;
            let notnull: bool = r.try_get(2)?;
            let identity: bool = r.try_get(3)?;
            let labels: String = r.try_get(4)?;
            let typtype: String = r.try_get(5)?;
            let kind = if typtype == "e" {
                Kind::Enum(labels.split('\u{1}').map(str::to_owned).collect())
            } else {
                kind_of(D, &sql_type)
            };
            cols.push(TargetColumn { name, sql_type, kind, nullable: !notnull, identity });
        }
        let pk_rows = sqlx::query(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind(&qualified)
        .fetch_all(&mut self.conn)
        .await
        .map_err(|e| anyhow::anyhow!("reading the primary key of {table}: {}", db_error(e)))?;
        let pk = pk_rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?;
        Ok(Some((cols, pk)))
    }

    async fn exec(&mut self, sql: &str) -> Result<u64, DbError> {
        self.conn.execute(sql).await.map(|r| r.rows_affected()).map_err(db_error)
    }

    async fn query_text(&mut self, sql: &str) -> Result<Option<String>, DbError> {
        let sql = format!("SELECT ({sql})::text");
        let row = sqlx::query(&sql).fetch_optional(&mut self.conn).await.map_err(db_error)?;
        Ok(row.and_then(|r| r.try_get::<Option<String>, _>(0).ok().flatten()))
    }

    fn preparer(&self) -> Preparer {
        Preparer::Postgres
    }

    async fn another(&self) -> anyhow::Result<Option<Self>> {
        PgSink::connect(&self.url).await.map(Some)
    }

    fn early_builds(&self) -> Option<ConnUrl> {
        // CREATE INDEX and ADD PRIMARY KEY lock only their own table: the
        // writer connections go on loading the others.
        Some(self.url.clone())
    }

    async fn open_index_builder(url: &ConnUrl) -> anyhow::Result<Self> {
        let mut sink = PgSink::connect(url).await?;
        // Its builds run beside the load: a parallel worker would only take
        // a core from the writer connections.
        sink.exec("SET max_parallel_maintenance_workers = 0").await.map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(sink)
    }

    async fn write(
        &mut self,
        plan: &TablePlan,
        cols: &[usize],
        rows: &[&[Cell]],
        mode: Mode,
        prepared: Option<Prepared>,
    ) -> Result<Written, DbError> {
        let names: Vec<String> = cols.iter().map(|&i| D.quote(&plan.columns[i].name)).collect();
        let col_list = names.join(", ");
        let table = D.quote_table(&plan.name);
        let data = match prepared {
            Some(Prepared::Copy(data)) => data,
            // Rows written one by one after a batch was refused: text, so
            // the server's own parser judges each value and names it.
            _ => CopyData { binary: false, data: copy_text(rows) },
        };
        let n = rows.len() as u64;
        if mode == Mode::Insert {
            self.copy_into(&table, &col_list, &data, rows.len()).await?;
            return Ok(Written { written: n, skipped: 0 });
        }
        if plan.pk.is_empty() && mode != Mode::SkipExisting {
            return Err(DbError {
                message: format!("--mode {mode:?} needs a primary key, and {} has none", plan.name),
                column: None,
            });
        }
        let fresh = !self.stages.contains_key(&(plan.name.clone(), cols.to_vec()));
        let stage = self.stage(plan, cols, &col_list).await?;
        let merged = self.merge(plan, cols, mode, &col_list, &stage, &data, n).await;
        if merged.is_err() && fresh {
            // The caller rolls back to the savepoint around this write, and
            // with it the CREATE of the staging table: forget it, or every
            // later write of these columns (the rows one by one) fails on a
            // table that does not exist.
            self.stages.remove(&(plan.name.clone(), cols.to_vec()));
        }
        merged
    }

    async fn has_foreign_keys(&mut self, table: &str) -> Result<bool, DbError> {
        let row = sqlx::query(
            "SELECT 1 FROM pg_constraint WHERE contype = 'f' \
             AND (conrelid = to_regclass($1) OR confrelid = to_regclass($1)) LIMIT 1",
        )
        .bind(D.quote_table(table))
        .fetch_optional(&mut self.conn)
        .await
        .map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn unique_keys(&mut self, table: &str) -> Result<Vec<Vec<String>>, DbError> {
        let rows = sqlx::query(
            "SELECT array_to_string(ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) \
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o), chr(1)) \
             FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique AND NOT i.indisprimary \
             AND i.indpred IS NULL AND i.indexprs IS NULL ORDER BY i.indexrelid",
        )
        .bind(D.quote_table(table))
        .fetch_all(&mut self.conn)
        .await
        .map_err(db_error)?;
        let mut keys = Vec::new();
        for r in rows {
            let cols: String = r.try_get(0).map_err(db_error)?;
            if !cols.is_empty() {
                keys.push(cols.split('\u{1}').map(str::to_owned).collect());
            }
        }
        Ok(keys)
    }

    async fn omitted_values(&mut self, table: &str) -> Result<HashMap<String, OmittedValue>, DbError> {
        let rows = sqlx::query(
            "SELECT a.attname::text, pg_get_expr(d.adbin, d.adrelid), a.attnotnull, \
                    (a.attidentity <> '' OR a.attgenerated <> '') \
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind(D.quote_table(table))
        .fetch_all(&mut self.conn)
        .await
        .map_err(db_error)?;
        let mut out = HashMap::new();
        for r in rows {
            let name: String = r.try_get(0).map_err(db_error)?;
            let default: Option<String> = r.try_get(1).map_err(db_error)?;
            let notnull: bool = r.try_get(2).map_err(db_error)?;
            let generated: bool = r.try_get(3).map_err(db_error)?;
            out.insert(name, omitted::classify(D, default.as_deref(), !notnull, generated, false));
        }
        Ok(out)
    }

    async fn exec_pieces(&mut self, pieces: &[Piece<'_>]) -> Result<u64, DbError> {
        let sql = render(pieces);
        self.exec(&sql).await
    }

    async fn exists_pieces(&mut self, pieces: &[Piece<'_>]) -> Result<bool, DbError> {
        let sql = render(pieces);
        let row = sqlx::query(&sql).fetch_optional(&mut self.conn).await.map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn query_strings(&mut self, pieces: &[Piece<'_>]) -> Result<Vec<String>, DbError> {
        // Literals in the text and no arguments: the simple query protocol,
        // one round trip, nothing prepared.
        let sql = render(pieces);
        let rows = self.conn.fetch_all(sql.as_str()).await.map_err(db_error)?;
        rows.iter().map(|r| r.try_get::<String, _>(0).map_err(db_error)).collect()
    }

    async fn exec_many(&mut self, statements: &[Vec<Piece<'_>>]) -> Result<(), DbError> {
        // The simple query protocol runs several statements in one round
        // trip and stops at the first that fails.
        let sql: Vec<String> = statements.iter().map(|st| render(st)).collect();
        if !sql.is_empty() {
            self.exec(&sql.join(";\n")).await?;
        }
        Ok(())
    }

    async fn delete(&mut self, plan: &TablePlan, key: &[Cell]) -> Result<u64, DbError> {
        let cond: Vec<String> = plan
            .pk
            .iter()
            .zip(key)
            .map(|(&i, cell)| format!("{} = {}", D.quote(&plan.columns[i].name), literal(cell)))
            .collect();
        self.exec(&format!("DELETE FROM {} WHERE {}", D.quote_table(&plan.name), cond.join(" AND "))).await
    }

    async fn truncate(&mut self, plan: &TablePlan) -> Result<(), DbError> {
        self.exec(&format!("TRUNCATE {}", D.quote_table(&plan.name))).await.map(|_| ())
    }

    async fn reset_identity(&mut self, plan: &TablePlan) -> Result<(), DbError> {
        let table = D.quote_table(&plan.name);
        for col in plan.columns.iter().filter(|c| c.identity && matches!(c.kind, Kind::Int { .. })) {
            let seq = sqlx::query("SELECT pg_get_serial_sequence($1, $2)")
                .bind(&table)
                .bind(&col.name)
                .fetch_one(&mut self.conn)
                .await
                .map_err(db_error)?
                .try_get::<Option<String>, _>(0)
                .map_err(db_error)?;
            let Some(seq) = seq else { continue };
            let c = D.quote(&col.name);
            // Only ever move the sequence forward: next value = max(key) + 1.
            let sql = format!(
                "SELECT setval($1::regclass, m, true) FROM (SELECT MAX({c}) AS m FROM {table}) x \
                 WHERE m IS NOT NULL AND m >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {seq})"
            );
            sqlx::query(&sql).bind(&seq).fetch_optional(&mut self.conn).await.map_err(db_error)?;
        }
        Ok(())
    }

    async fn save_state(&mut self, id: &str, json: &str) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO {} (id, progress) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET progress = EXCLUDED.progress",
            D.quote(super::state::STATE_TABLE)
        );
        sqlx::query(&sql).bind(id).bind(json).execute(&mut self.conn).await.map(|_| ()).map_err(db_error)
    }
}
