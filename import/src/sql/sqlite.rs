//! `sqlite-import`: SQLite through prepared multi-row INSERTs with bound
//! values, inside big transactions.
//!
//! Values are bound with their own storage class (INTEGER, REAL, TEXT, BLOB),
//! so nothing goes through SQL text; date-times are stored as the stream's
//! ISO 8601 text.

use std::collections::HashMap;

use decant_record::conn::ConnUrl;
use decant_record::schema::sqlite_layout;
use decant_record::TableSchema;
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteConnection};
use sqlx::{Arguments, ConnectOptions, Executor, Row};

use super::cell::Cell;
use super::omitted::{self, OmittedValue};
use super::typemap::{kind_of, Dialect, TargetColumn};
use super::{column_in_message, DbError, Mode, Piece, Prepared, Preparer, Sink, TablePlan, Written};

const D: Dialect = Dialect::Sqlite;
/// SQLite's default limit on bound parameters per statement (3.32+).
const MAX_PARAMS: usize = 32_766;
/// Rows per INSERT statement.
const ROWS_PER_STATEMENT: usize = 256;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 1024;

pub(crate) struct LiteSink {
    conn: SqliteConnection,
}

impl std::fmt::Debug for LiteSink {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("LiteSink")
    }
}

pub(crate) fn db_error(e: sqlx::Error) -> DbError {
    match &e {
        sqlx::Error::Database(db) => {
            let m = db.message().to_owned();
            // "NOT NULL constraint failed: t.col"
            let column = m
                .split_once("constraint failed: ")
                .and_then(|(_, rest)| rest.split(',').next())
                .and_then(|c| c.rsplit('.').next())
                .map(|c| c.trim().to_owned())
                .filter(|_| m.contains("NOT NULL"))
                .or_else(|| column_in_message(&m));
            DbError { message: format!("SQLite error: {m}"), column }
        }
        other => DbError { message: other.to_string(), column: None },
    }
}

impl LiteSink {
    /// Opens the database file, creating it when it does not exist (as
    /// `sqlite3` does); a dry run opens an empty in-memory database instead
    /// of creating the file, so it writes nothing.
    pub(crate) async fn connect(url: &ConnUrl, dry_run: bool) -> anyhow::Result<LiteSink> {
        let path = url.sqlite_path().ok_or_else(|| anyhow::anyhow!("{url} is not a sqlite:// URL"))?;
        let opts = if dry_run && !path.exists() {
            SqliteConnectOptions::new().in_memory(true)
        } else {
            SqliteConnectOptions::new().filename(&path).create_if_missing(true)
        };
        let opts = opts
            .foreign_keys(false)
            .busy_timeout(std::time::Duration::from_secs(30))
            // Up to a dozen statement sizes per table and mode (see write):
            // room for the tables of an interleaved stream.
            .statement_cache_capacity(STATEMENT_CACHE)
            .disable_statement_logging();
        let conn = opts.connect().await.map_err(|e| anyhow::anyhow!("opening {}: {}", path.display(), db_error(e)))?;
        Ok(LiteSink { conn })
    }
}

/// A statement's text with `?` for each value, and the values bound.
fn bound<'q>(pieces: &[Piece<'_>]) -> Result<(String, SqliteArguments<'q>), DbError> {
    let mut sql = String::new();
    let mut args = SqliteArguments::default();
    for p in pieces {
        match p {
            Piece::Sql(s) => sql.push_str(s),
            Piece::Value(cell) => {
                sql.push('?');
                bind(&mut args, cell)?;
            }
        }
    }
    Ok((sql, args))
}

/// The largest power of two not above `n` (n ≥ 1).
fn prev_power_of_two(n: usize) -> usize {
    if n.is_power_of_two() {
        n
    } else {
        n.next_power_of_two() / 2
    }
}

fn bind(args: &mut SqliteArguments<'_>, cell: &Cell) -> Result<(), DbError> {
    let r = match cell {
        Cell::Null => args.add(Option::<i64>::None),
        Cell::Bool(b) => args.add(*b as i64),
        Cell::Int(i) => match i64::try_from(*i) {
            Ok(v) => args.add(v),
            // Only a BIGINT UNSIGNED or BIT(64) column lets such a value through (see
            // `kind_of`): it is stored as 20 ASCII digits in a BLOB, which no
            // column affinity converts (a TEXT would become an inexact REAL),
            // and which sorts after every INTEGER and in numeric order among
            // themselves. sqlite-export reads it back as the integer.
            Err(_) if (0..=u64::MAX as i128).contains(i) => args.add(format!("{i:020}").into_bytes()),
            Err(_) => {
                return Err(DbError {
                    message: format!("{i} does not fit SQLite's 64-bit INTEGER; --cast the column to TEXT"),
                    column: None,
                })
            }
        },
        Cell::Float(f) => args.add(*f),
        Cell::Text(s) => args.add(s.clone()),
        Cell::Bytes(b) => args.add(b.clone()),
    };
    r.map_err(|e| DbError { message: format!("binding a value: {e}"), column: None })
}

impl Sink for LiteSink {
    async fn describe(&mut self, table: &str) -> anyhow::Result<Option<(Vec<TargetColumn>, Vec<String>)>> {
        let sql = format!("PRAGMA table_info({})", D.quote(table));
        let rows = sqlx::query(&sql)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| anyhow::anyhow!("reading the columns of {table}: {}", db_error(e)))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut cols = Vec::new();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for r in &rows {
            let name: String = r.try_get("name")?;
            let sql_type: String = r.try_get::<Option<String>, _>("type")?.unwrap_or_default();
            let notnull: i64 = r.try_get("notnull")?;
            let pk_pos: i64 = r.try_get("pk")?;
            if pk_pos > 0 {
                pk.push((pk_pos, name.clone()));
            }
            cols.push(TargetColumn {
                kind: kind_of(D, &sql_type),
                name,
                sql_type,
                nullable: notnull == 0,
                identity: false,
            });
        }
        pk.sort();
        if pk.len() == 1 {
            if let Some(c) = cols.iter_mut().find(|c| c.name == pk[0].1) {
                // INTEGER PRIMARY KEY is the rowid: NULL means "next id".
                c.identity = c.sql_type.eq_ignore_ascii_case("integer");
            }
        }
        Ok(Some((cols, pk.into_iter().map(|(_, n)| n).collect())))
    }

    async fn exec(&mut self, sql: &str) -> Result<u64, DbError> {
        self.conn.execute(sql).await.map(|r| r.rows_affected()).map_err(db_error)
    }

    async fn query_text(&mut self, sql: &str) -> Result<Option<String>, DbError> {
        let sql = format!("SELECT CAST(({sql}) AS TEXT)");
        let row = sqlx::query(&sql).fetch_optional(&mut self.conn).await.map_err(db_error)?;
        Ok(row.and_then(|r| r.try_get::<Option<String>, _>(0).ok().flatten()))
    }

    fn preparer(&self) -> Preparer {
        // Values are bound, not rendered: nothing to build ahead.
        Preparer::Bound
    }

    async fn another(&self) -> anyhow::Result<Option<Self>> {
        // One writer at a time: a second connection would only wait.
        Ok(None)
    }

    async fn write(
        &mut self,
        plan: &TablePlan,
        cols: &[usize],
        rows: &[&[Cell]],
        mode: Mode,
        _prepared: Option<Prepared>,
    ) -> Result<Written, DbError> {
        let names: Vec<String> = cols.iter().map(|&i| D.quote(&plan.columns[i].name)).collect();
        let table = D.quote(&plan.name);
        let verb = if mode == Mode::Replace { "INSERT OR REPLACE" } else { "INSERT" };
        let tail = match mode {
            Mode::Insert | Mode::Replace => String::new(),
            Mode::SkipExisting => " ON CONFLICT DO NOTHING".to_owned(),
            Mode::Upsert => {
                if plan.pk.is_empty() {
                    return Err(DbError {
                        message: format!("--mode upsert needs a primary key, and {} has none", plan.name),
                        column: None,
                    });
                }
                let pk: Vec<String> = plan.pk.iter().map(|&i| D.quote(&plan.columns[i].name)).collect();
                let updates: Vec<String> = cols
                    .iter()
                    .filter(|i| !plan.pk.contains(i))
                    .map(|&i| {
                        let c = D.quote(&plan.columns[i].name);
                        format!("{c} = excluded.{c}")
                    })
                    .collect();
                if updates.is_empty() {
                    format!(" ON CONFLICT ({}) DO NOTHING", pk.join(", "))
                } else {
                    format!(" ON CONFLICT ({}) DO UPDATE SET {}", pk.join(", "), updates.join(", "))
                }
            }
        };
        let placeholders = format!("({})", vec!["?"; cols.len()].join(","));
        let per_statement = (MAX_PARAMS / cols.len().max(1)).clamp(1, ROWS_PER_STATEMENT);
        let mut affected = 0u64;
        // Statements of a power-of-two number of rows: a table needs a few
        // statement texts, each prepared once and then reused from the
        // connection's cache. Any other size (every run's tail, and
        // interleaved tables make many runs) would be a new statement to
        // prepare, pushing the reusable ones out of the cache.
        let mut rest = rows;
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(prev_power_of_two(rest.len().min(per_statement)));
            rest = after;
            let values = vec![placeholders.as_str(); chunk.len()].join(",");
            let sql = format!("{verb} INTO {table} ({}) VALUES {values}{tail}", names.join(", "));
            let mut args = SqliteArguments::default();
            for row in chunk {
                for cell in row.iter() {
                    bind(&mut args, cell)?;
                }
            }
            let r = sqlx::query_with(&sql, args).execute(&mut self.conn).await.map_err(db_error)?;
            affected += r.rows_affected();
        }
        let n = rows.len() as u64;
        let written = match mode {
            Mode::SkipExisting => affected.min(n),
            _ => n,
        };
        Ok(Written { written, skipped: n - written })
    }

    async fn has_foreign_keys(&mut self, _table: &str) -> Result<bool, DbError> {
        // The connection runs with foreign_keys off: none is enforced.
        Ok(false)
    }

    async fn unique_keys(&mut self, table: &str) -> Result<Vec<Vec<String>>, DbError> {
        let list = sqlx::query(&format!("PRAGMA index_list({})", D.quote(table)))
            .fetch_all(&mut self.conn)
            .await
            .map_err(db_error)?;
        let mut keys = Vec::new();
        for r in list {
            let name: String = r.try_get("name").map_err(db_error)?;
            let unique: i64 = r.try_get("unique").map_err(db_error)?;
            let origin: String = r.try_get("origin").map_err(db_error)?;
            let partial: i64 = r.try_get("partial").map_err(db_error)?;
            if unique == 0 || origin == "pk" || partial != 0 {
                continue;
            }
            let info = sqlx::query(&format!("PRAGMA index_info({})", D.quote(&name)))
                .fetch_all(&mut self.conn)
                .await
                .map_err(db_error)?;
            let cols: Vec<Option<String>> = info.iter().map(|c| c.try_get("name").ok().flatten()).collect();
            // A column of None is an expression: not a key of columns.
            if let Some(cols) = cols.into_iter().collect::<Option<Vec<String>>>() {
                keys.push(cols);
            }
        }
        Ok(keys)
    }

    async fn omitted_values(&mut self, table: &str) -> Result<HashMap<String, OmittedValue>, DbError> {
        // table_xinfo: `hidden` is 2 or 3 for a generated column.
        let rows = sqlx::query(&format!("PRAGMA table_xinfo({})", D.quote(table)))
            .fetch_all(&mut self.conn)
            .await
            .map_err(db_error)?;
        let mut out = HashMap::new();
        for r in &rows {
            let name: String = r.try_get("name").map_err(db_error)?;
            let default: Option<String> = r.try_get("dflt_value").map_err(db_error)?;
            let notnull: i64 = r.try_get("notnull").map_err(db_error)?;
            let hidden: i64 = r.try_get("hidden").map_err(db_error)?;
            out.insert(name, omitted::classify(D, default.as_deref(), notnull == 0, hidden >= 2, false));
        }
        Ok(out)
    }

    async fn exec_pieces(&mut self, pieces: &[Piece<'_>]) -> Result<u64, DbError> {
        let (sql, args) = bound(pieces)?;
        sqlx::query_with(&sql, args).execute(&mut self.conn).await.map(|r| r.rows_affected()).map_err(db_error)
    }

    async fn exists_pieces(&mut self, pieces: &[Piece<'_>]) -> Result<bool, DbError> {
        let (sql, args) = bound(pieces)?;
        let row = sqlx::query_with(&sql, args).fetch_optional(&mut self.conn).await.map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn query_strings(&mut self, pieces: &[Piece<'_>]) -> Result<Vec<String>, DbError> {
        // Not kept in the statement cache: each lookup's text is new.
        let (sql, args) = bound(pieces)?;
        let rows = sqlx::query_with(&sql, args).persistent(false).fetch_all(&mut self.conn).await.map_err(db_error)?;
        rows.iter().map(|r| r.try_get::<String, _>(0).map_err(db_error)).collect()
    }

    async fn delete(&mut self, plan: &TablePlan, key: &[Cell]) -> Result<u64, DbError> {
        let cond: Vec<String> = plan.pk.iter().map(|&i| format!("{} = ?", D.quote(&plan.columns[i].name))).collect();
        let sql = format!("DELETE FROM {} WHERE {}", D.quote(&plan.name), cond.join(" AND "));
        let mut args = SqliteArguments::default();
        for cell in key {
            bind(&mut args, cell)?;
        }
        sqlx::query_with(&sql, args).execute(&mut self.conn).await.map(|r| r.rows_affected()).map_err(db_error)
    }

    async fn truncate(&mut self, plan: &TablePlan) -> Result<(), DbError> {
        self.exec(&format!("DELETE FROM {}", D.quote(&plan.name))).await.map(|_| ())
    }

    async fn reset_identity(&mut self, _plan: &TablePlan) -> Result<(), DbError> {
        // A rowid alias always continues after the largest key.
        Ok(())
    }

    async fn created(&mut self, schema: &TableSchema, casts_applied: bool) -> Result<(), DbError> {
        // A SQLite schema (or one changed by --cast) is what the file says.
        if casts_applied || D.is_same(schema.dialect.as_deref()) {
            return Ok(());
        }
        let table = D.quote(sqlite_layout::SCHEMA_TABLE);
        self.exec(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (table_name TEXT PRIMARY KEY, schema_json TEXT NOT NULL, table_sql TEXT NOT NULL)"
        ))
        .await?;
        let mut stored = schema.clone();
        stored.estimated_rows = None;
        let json = serde_json::to_string(&stored)
            .map_err(|e| DbError { message: format!("encoding the schema: {e}"), column: None })?;
        let sql = format!(
            "INSERT OR REPLACE INTO {table} (table_name, schema_json, table_sql) \
             SELECT ?, ?, sql FROM sqlite_schema WHERE type = 'table' AND name = ?"
        );
        sqlx::query(&sql)
            .bind(&schema.table)
            .bind(json)
            .bind(&schema.table)
            .execute(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(db_error)
    }

    async fn save_state(&mut self, id: &str, json: &str) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO {} (id, progress) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET progress = excluded.progress",
            D.quote(super::state::STATE_TABLE)
        );
        sqlx::query(&sql).bind(id).bind(json).execute(&mut self.conn).await.map(|_| ()).map_err(db_error)
    }
}
