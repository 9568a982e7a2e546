//! `mysql-import`: MySQL 8 / MariaDB through large multi-row INSERTs on the
//! text protocol (the form `mysqldump` writes; LOAD DATA LOCAL is not
//! available through the driver).
//!
//! Session: `time_zone='+00:00'`, utf8mb4, and
//! `sql_mode='STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION'`:
//! strict, so a value that does not fit is an error instead of a silent
//! truncation; id 0 stays 0; zero dates allowed (no NO_ZERO_DATE); literals
//! need only `'` doubled.

use decant_record::conn::ConnUrl;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError};
use sqlx::{ConnectOptions, Executor, Row};

use super::cell::{mysql_literal, mysql_literal_len, Cell};
use super::typemap::{kind_of, Dialect, TargetColumn};
use super::{column_in_message, DbError, Mode, Prepared, Preparer, Sink, TablePlan, Written};

const D: Dialect = Dialect::MySql;

pub(crate) struct MySink {
    conn: MySqlConnection,
    /// Bytes per INSERT statement (under max_allowed_packet).
    max_statement: usize,
}

impl std::fmt::Debug for MySink {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("MySink")
    }
}

pub(crate) fn db_error(e: sqlx::Error) -> DbError {
    match &e {
        sqlx::Error::Database(db) => {
            if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
                let message = format!("ERROR {} ({}): {}", my.number(), my.code().unwrap_or("HY000"), my.message());
                return DbError { column: column_in_message(my.message()), message };
            }
            DbError { message: db.message().to_owned(), column: column_in_message(db.message()) }
        }
        other => DbError { message: other.to_string(), column: None },
    }
}

impl MySink {
    pub(crate) async fn connect(url: &ConnUrl) -> anyhow::Result<MySink> {
        let opts: MySqlConnectOptions = url
            .expose()
            .replacen("mariadb://", "mysql://", 1)
            .parse()
            .map_err(|e| anyhow::anyhow!("bad MySQL URL {url}: {e}"))?;
        let opts = opts
            .charset("utf8mb4")
            .collation("utf8mb4_unicode_ci")
            .timezone(Some("+00:00".to_owned()))
            .pipes_as_concat(false)
            .disable_statement_logging();
        let mut conn = opts.connect().await.map_err(|e| anyhow::anyhow!("connecting to {url}: {}", db_error(e)))?;
        conn.execute(
            "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION'",
        )
        .await
        .map_err(|e| anyhow::anyhow!("setting the session sql_mode: {}", db_error(e)))?;
        let packet: i64 = sqlx::query("SELECT CAST(@@max_allowed_packet AS SIGNED)")
            .fetch_one(&mut conn)
            .await
            .and_then(|r| r.try_get(0))
            .unwrap_or(4 << 20);
        // Leave room for the protocol; big statements buy little past a few MB.
        let max_statement = ((packet as usize).saturating_sub(64 << 10)).clamp(64 << 10, 8 << 20);
        Ok(MySink { conn, max_statement })
    }

    async fn run(&mut self, sql: &str) -> Result<u64, DbError> {
        self.conn.execute(sql).await.map(|r| r.rows_affected()).map_err(db_error)
    }
}

fn text(row: &sqlx::mysql::MySqlRow, i: usize) -> String {
    row.try_get_unchecked::<Option<String>, _>(i).ok().flatten().unwrap_or_default()
}

/// The multi-row INSERT statements that write `rows` (each statement under
/// `max_statement` bytes, but at least one row). Pure: the decoding thread
/// builds them while the previous batch executes.
pub(crate) fn insert_statements(
    plan: &TablePlan,
    cols: &[usize],
    rows: &[&[Cell]],
    mode: Mode,
    max_statement: usize,
) -> Result<Vec<String>, DbError> {
    let names: Vec<String> = cols.iter().map(|&i| D.quote(&plan.columns[i].name)).collect();
    let table = D.quote_table(&plan.name);
    let verb = if mode == Mode::Replace { "REPLACE" } else { "INSERT" };
    let head = format!("{verb} INTO {table} ({}) VALUES ", names.join(", "));
    let tail = match mode {
        Mode::Insert | Mode::Replace => String::new(),
        Mode::SkipExisting => {
            // Counts the rows that met an existing key (affected-row counts
            // cannot tell them apart with CLIENT_FOUND_ROWS).
            let first = plan.pk.first().or(cols.first()).map(|&i| D.quote(&plan.columns[i].name)).unwrap_or_default();
            format!(
                " ON DUPLICATE KEY UPDATE {first} = IF((@decant_skipped := @decant_skipped + 1) > 0, {first}, {first})"
            )
        }
        Mode::Upsert => {
            if plan.pk.is_empty() {
                return Err(DbError {
                    message: format!("--mode upsert needs a primary key, and {} has none", plan.name),
                    column: None,
                });
            }
            let updates: Vec<String> = cols
                .iter()
                .filter(|i| !plan.pk.contains(i))
                .map(|&i| {
                    let c = D.quote(&plan.columns[i].name);
                    format!("{c} = VALUES({c})")
                })
                .collect();
            let first = D.quote(&plan.columns[plan.pk[0]].name);
            if updates.is_empty() {
                format!(" ON DUPLICATE KEY UPDATE {first} = {first}")
            } else {
                format!(" ON DUPLICATE KEY UPDATE {}", updates.join(", "))
            }
        }
    };
    let mut statements = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        // Sized up front: one allocation per statement, not a doubling series.
        let mut want = head.len() + tail.len();
        let mut j = i;
        while j < rows.len() && (j == i || want < max_statement) {
            want += rows[j].iter().map(mysql_literal_len).sum::<usize>() + rows[j].len() + 2;
            j += 1;
        }
        let mut sql = String::with_capacity(want);
        sql.push_str(&head);
        for (k, row) in rows[i..j].iter().enumerate() {
            if k > 0 {
                sql.push(',');
            }
            sql.push('(');
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    sql.push(',');
                }
                mysql_literal(cell, &mut sql);
            }
            sql.push(')');
        }
        sql.push_str(&tail);
        statements.push(sql);
        i = j;
    }
    Ok(statements)
}

impl Sink for MySink {
    async fn describe(&mut self, table: &str) -> anyhow::Result<Option<(Vec<TargetColumn>, Vec<String>)>> {
        let rows = sqlx::query(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(IS_NULLABLE AS CHAR), CAST(EXTRA AS CHAR), \
                    CAST(COLUMN_KEY AS CHAR), \
                    CAST(CASE WHEN DATA_TYPE = 'longtext' AND EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k \
                         WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME \
                         AND k.CHECK_CLAUSE LIKE CONCAT('json_valid(`', c.COLUMN_NAME, '`)')) THEN 'json' ELSE '' END AS CHAR) \
             FROM information_schema.COLUMNS c WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        )
        .bind(table)
        .fetch_all(&mut self.conn)
        .await;
        // MySQL 8 has no CHECK_CONSTRAINTS.TABLE_NAME: ask again without the JSON probe.
        let rows = match rows {
            Ok(r) => r,
            Err(_) => sqlx::query(
                "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(IS_NULLABLE AS CHAR), CAST(EXTRA AS CHAR), \
                        CAST(COLUMN_KEY AS CHAR), '' \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            )
            .bind(table)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| anyhow::anyhow!("reading the columns of {table}: {}", db_error(e)))?,
        };
        if rows.is_empty() {
            return Ok(None);
        }
        let mut cols = Vec::with_capacity(rows.len());
        for r in &rows {
            let name = text(r, 0);
            let mut sql_type = text(r, 1);
            if text(r, 5) == "json" {
                // MariaDB's JSON is LONGTEXT CHECK (json_valid(…)).
                sql_type = "json".into();
            }
            let kind = kind_of(D, &sql_type);
            cols.push(TargetColumn {
                name,
                kind,
                nullable: text(r, 2) == "YES",
                identity: text(r, 3).to_ascii_lowercase().contains("auto_increment"),
                sql_type,
            });
        }
        let pk_rows = sqlx::query(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
        )
        .bind(table)
        .fetch_all(&mut self.conn)
        .await
        .map_err(|e| anyhow::anyhow!("reading the primary key of {table}: {}", db_error(e)))?;
        let pk = pk_rows.iter().map(|r| text(r, 0)).collect();
        Ok(Some((cols, pk)))
    }

    async fn exec(&mut self, sql: &str) -> Result<u64, DbError> {
        self.run(sql).await
    }

    async fn query_text(&mut self, sql: &str) -> Result<Option<String>, DbError> {
        let row = sqlx::query(sql).fetch_optional(&mut self.conn).await.map_err(db_error)?;
        Ok(row.map(|r| text(&r, 0)))
    }

    fn preparer(&self) -> Preparer {
        Preparer::MySql { max_statement: self.max_statement }
    }

    async fn write(
        &mut self,
        plan: &TablePlan,
        cols: &[usize],
        rows: &[&[Cell]],
        mode: Mode,
        prepared: Option<Prepared>,
    ) -> Result<Written, DbError> {
        let statements = match prepared {
            Some(Prepared::MySql(s)) => s,
            _ => insert_statements(plan, cols, rows, mode, self.max_statement)?,
        };
        if mode == Mode::SkipExisting {
            self.run("SET @decant_skipped = 0").await?;
        }
        for sql in &statements {
            self.run(sql).await?;
        }
        let n = rows.len() as u64;
        let skipped = if mode == Mode::SkipExisting {
            let s = self.query_text("SELECT CAST(@decant_skipped AS CHAR)").await?;
            s.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0).min(n)
        } else {
            0
        };
        Ok(Written { written: n - skipped, skipped })
    }

    async fn delete(&mut self, plan: &TablePlan, key: &[Cell]) -> Result<u64, DbError> {
        let mut cond = Vec::new();
        for (&i, cell) in plan.pk.iter().zip(key) {
            let mut lit = String::new();
            mysql_literal(cell, &mut lit);
            cond.push(format!("{} = {lit}", D.quote(&plan.columns[i].name)));
        }
        self.run(&format!("DELETE FROM {} WHERE {}", D.quote_table(&plan.name), cond.join(" AND "))).await
    }

    async fn truncate(&mut self, plan: &TablePlan) -> Result<(), DbError> {
        self.run(&format!("TRUNCATE TABLE {}", D.quote_table(&plan.name))).await.map(|_| ())
    }

    async fn reset_identity(&mut self, _plan: &TablePlan) -> Result<(), DbError> {
        // InnoDB moves AUTO_INCREMENT past every explicit value inserted.
        Ok(())
    }

    async fn save_state(&mut self, id: &str, json: &str) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO {} (id, progress) VALUES (?, ?) ON DUPLICATE KEY UPDATE progress = VALUES(progress)",
            D.quote(super::state::STATE_TABLE)
        );
        sqlx::query(&sql).bind(id).bind(json).execute(&mut self.conn).await.map(|_| ()).map_err(db_error)
    }
}
