//! `mysql-import`: MySQL 8 / MariaDB through multi-row INSERTs sent as
//! prepared statements with bound values (LOAD DATA LOCAL is not available
//! through the driver; bound values cost the server about as little).
//!
//! Session: `time_zone='+00:00'`, utf8mb4, and
//! `sql_mode='STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION'`:
//! strict, so a value that does not fit is an error instead of a silent
//! truncation; id 0 stays 0; zero dates allowed (no NO_ZERO_DATE); literals
//! need only `'` doubled.
//!
//! On MariaDB, two things spare the server work it would do for nothing
//! (BENCHMARKS.md, "mariadbd's share of the relay pipeline"): the session's
//! `check_constraint_checks` is off while rows go into a table whose only
//! CHECKs are its JSON columns' `json_valid`, when the rows are known to
//! pass them ([`TableChecks`]); and text is bound as bytes where the column
//! stores the same text ([`bytes_store_as_text`]).

use std::collections::{HashMap, HashSet};

use decant_record::conn::ConnUrl;
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlConnection, MySqlDatabaseError};
use sqlx::Arguments;
use sqlx::{ConnectOptions, Executor, Row};

use super::cell::{mysql_literal, mysql_literal_len, Cell};
use super::omitted::{self, OmittedValue};
use super::typemap::{kind_of, Dialect, Kind, TargetColumn};
use super::{column_in_message, DbError, Mode, Piece, Prepared, Preparer, Sink, TablePlan, Written};

const D: Dialect = Dialect::MySql;

pub(crate) struct MySink {
    conn: MySqlConnection,
    /// For a second connection ([`Sink::another`]).
    url: ConnUrl,
    /// Bytes per INSERT statement (under max_allowed_packet).
    max_statement: usize,
    /// The server is MariaDB (it has `check_constraint_checks`).
    mariadb: bool,
    /// MariaDB with `check_constraint_checks` on: the session may skip the
    /// `json_valid` CHECKs of JSON columns for rows known to pass them
    /// ([`TableChecks`]).
    may_skip_checks: bool,
    /// This session's `check_constraint_checks` is off (set by [`MySink::checks_off`]).
    session_checks_off: bool,
    /// Each table's CHECK constraints, read at its first write.
    checks: HashMap<String, TableChecks>,
}

/// The CHECK constraints of a table, as far as skipping them goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TableChecks {
    /// No CHECK constraint and no trigger: nothing to decide.
    None,
    /// Every one is MariaDB's `json_valid(col)` of a JSON column (the
    /// indexes of those columns in the plan), and no trigger fires on
    /// inserts: the rows' JSON cells decide.
    JsonOnly(Vec<usize>),
    /// Another check (or a trigger, whose own statements must keep theirs):
    /// the server checks every row.
    Kept,
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
            // A table needs up to a dozen statement texts (one per
            // power-of-two size, see insert_statements); sqlx keeps 100 by
            // default, so the statements of an interleaved stream of a dozen
            // tables were prepared again and again (a round trip and a parse
            // each).
            .statement_cache_capacity(STATEMENT_CACHE)
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
        // MariaDB only (MySQL 8 has a JSON type, no such CHECKs, and no such
        // variable); a session that has the checks off already stays as it is.
        let checks_on = sqlx::query("SELECT CAST(@@check_constraint_checks AS SIGNED)")
            .fetch_one(&mut conn)
            .await
            .and_then(|r| r.try_get::<i64, _>(0));
        let mariadb = checks_on.is_ok();
        let may_skip_checks = checks_on.is_ok_and(|on| on == 1);
        Ok(MySink {
            conn,
            max_statement,
            url: url.clone(),
            mariadb,
            may_skip_checks,
            session_checks_off: false,
            checks: HashMap::new(),
        })
    }

    async fn run(&mut self, sql: &str) -> Result<u64, DbError> {
        self.conn.execute(sql).await.map(|r| r.rows_affected()).map_err(db_error)
    }

    /// Turns the session's CHECK constraints off or back on, when that
    /// changes anything.
    async fn checks_off(&mut self, off: bool) -> Result<(), DbError> {
        if off == self.session_checks_off {
            return Ok(());
        }
        let sql =
            if off { "SET SESSION check_constraint_checks = 0" } else { "SET SESSION check_constraint_checks = 1" };
        match self.run(sql).await {
            Ok(_) => {
                self.session_checks_off = off;
                Ok(())
            }
            // Not turned off: the server keeps checking, as it did.
            Err(_) if off => {
                self.may_skip_checks = false;
                Ok(())
            }
            Err(e) => {
                Err(DbError { message: format!("turning CHECK constraints back on: {}", e.message), column: e.column })
            }
        }
    }

    /// The CHECK constraints (and insert triggers) of `plan`'s table, read once.
    async fn table_checks(&mut self, plan: &TablePlan) -> TableChecks {
        if let Some(c) = self.checks.get(&plan.name) {
            return c.clone();
        }
        let clauses = sqlx::query(
            "SELECT CAST(CHECK_CLAUSE AS CHAR) FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind(&plan.name)
        .fetch_all(&mut self.conn)
        .await
        .map(|rows| rows.iter().map(|r| text(r, 0)).collect::<Vec<_>>());
        let triggers = sqlx::query(
            "SELECT 1 FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() \
             AND EVENT_OBJECT_TABLE = ? LIMIT 1",
        )
        .bind(&plan.name)
        .fetch_optional(&mut self.conn)
        .await;
        let checks = match (clauses, triggers) {
            (Ok(clauses), Ok(None)) => json_only_checks(plan, &clauses),
            // A trigger's statements may write tables with checks of their own.
            _ => TableChecks::Kept,
        };
        self.checks.insert(plan.name.clone(), checks.clone());
        checks
    }
}

/// What `clauses` (a table's CHECK constraints, as MariaDB shows them) are:
/// all `json_valid(`col`)` of JSON columns of `plan`, or something else.
fn json_only_checks(plan: &TablePlan, clauses: &[String]) -> TableChecks {
    if clauses.is_empty() {
        return TableChecks::None;
    }
    let mut cols = Vec::with_capacity(clauses.len());
    for clause in clauses {
        let json = plan
            .columns
            .iter()
            .position(|c| c.kind == Kind::Json && *clause == format!("json_valid(`{}`)", c.name.replace('`', "``")));
        match json {
            Some(i) => cols.push(i),
            None => return TableChecks::Kept,
        }
    }
    TableChecks::JsonOnly(cols)
}

/// MariaDB's JSON parser refuses a document nested this deep or deeper
/// (`json_valid('[[...]]')` is 0 from 32 levels of arrays or objects).
const MARIADB_JSON_DEPTH: usize = 32;

/// Whether MariaDB's `json_valid` accepts `text`, which the importer wrote
/// or checked as JSON (serde_json's grammar, which MariaDB's parser also
/// reads): that is, whether it nests less than [`MARIADB_JSON_DEPTH`] deep.
fn json_valid_in_mariadb(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Brackets inside strings count here too: a bound that settles most
    // documents without following their strings.
    if opening_brackets(bytes) < MARIADB_JSON_DEPTH {
        return true;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth >= MARIADB_JSON_DEPTH {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// Whether the cells at positions `at` of every row (a JSON column's) are
/// NULL or JSON text MariaDB's `json_valid` accepts. The importer only
/// puts JSON text in a JSON column's cell that it wrote itself from a
/// parsed value, or copied after parsing it (cell.rs, fastrow.rs), so only
/// MariaDB's nesting limit is left to check.
fn json_cells_pass(at: &[usize], rows: &[&[Cell]]) -> bool {
    rows.iter().all(|row| {
        at.iter().all(|&p| match row.get(p) {
            Some(Cell::Null) => true,
            Some(Cell::Text(t)) => json_valid_in_mariadb(t),
            _ => false,
        })
    })
}

/// How many `[` and `{` bytes `bytes` holds, in blocks of 64 summed in
/// bytes (which the compiler turns into vector code: this runs over every
/// JSON document written).
fn opening_brackets(bytes: &[u8]) -> usize {
    // b'[' | 0x20 == b'{', and no other byte ORs to it.
    let opening = |b: &u8| u8::from((b | 0x20) == b'{');
    let mut blocks = bytes.chunks_exact(64);
    let mut n: usize = (&mut blocks).map(|block| usize::from(block.iter().map(opening).sum::<u8>())).sum();
    n += blocks.remainder().iter().map(|b| usize::from(opening(b))).sum::<usize>();
    n
}

/// Whether statements writing columns `cols` pass the table's CHECK
/// constraints, all `json_valid` of the JSON columns `json_cols`, without
/// the server evaluating them: every one of those columns is written (an
/// omitted one takes its default, which the server checks) and every
/// statement's JSON cells pass ([`json_cells_pass`]).
fn statements_pass_json_checks(json_cols: &[usize], cols: &[usize], statements: &[BoundInsert]) -> bool {
    json_cols.iter().all(|c| cols.contains(c)) && statements.iter().all(|s| s.json_valid)
}

/// Whether a column stores a text value bound as bytes (a binary string)
/// exactly as the same text bound as a utf8mb4 string, given its
/// character set (`None`: not a character column) and kind. A utf8mb4
/// column copies both the same way, checking the bytes are UTF-8 (no
/// conversion either way); a decimal or date-time column parses the same
/// ASCII. Any other character set would convert the string but take the
/// bytes as they are. Bound as bytes, MariaDB skips the character-set
/// bookkeeping of a text parameter (a scan of every character: 8–10% of
/// its CPU on the relay rows, BENCHMARKS.md).
fn bytes_store_as_text(charset: Option<&str>, kind: &Kind) -> bool {
    match charset {
        Some(cs) => cs.eq_ignore_ascii_case("utf8mb4"),
        None => matches!(
            kind,
            Kind::Decimal { .. } | Kind::Date | Kind::Datetime | Kind::Timestamp | Kind::Time | Kind::Year
        ),
    }
}

/// Whether `sql` may change rows or tables (so runs with the session's
/// CHECK constraints on): anything but transaction control.
fn may_write(sql: &str) -> bool {
    let word = sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    !["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"].iter().any(|w| word.eq_ignore_ascii_case(w))
}

fn text(row: &sqlx::mysql::MySqlRow, i: usize) -> String {
    row.try_get_unchecked::<Option<String>, _>(i).ok().flatten().unwrap_or_default()
}

/// One multi-row INSERT with its values bound: sent as a prepared statement
/// (binary protocol), so MariaDB neither parses nor converts literals. On
/// the relay tables that is about a quarter less server CPU than the same
/// rows as SQL text (BENCHMARKS.md).
pub(crate) struct BoundInsert {
    sql: String,
    args: MySqlArguments,
    /// Every JSON cell of its rows is NULL or text MariaDB's `json_valid`
    /// accepts ([`json_cells_pass`]): decided here, where the rows are at
    /// hand (the decoding thread drops them once it has the statements).
    json_valid: bool,
}

impl std::fmt::Debug for BoundInsert {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("BoundInsert").field("sql_bytes", &self.sql.len()).finish()
    }
}

/// MySQL's limit of placeholders per prepared statement is 65,535; far fewer
/// keep each cached statement's server-side memory small. MariaDB walks a
/// statement's parameter items several times per execution (binding them,
/// storing each row's values, cleaning up), and a big statement's items
/// leave the CPU caches: on the relay's rows mariadbd used ~9% less CPU at
/// 4,096 placeholders than at 16,384, and ~10% less again at 1,024 (128 rows
/// of the usage records' 8 columns, 1,024 before), for ~0.03 CPU-s more of
/// the client's per-statement work (BENCHMARKS.md).
const MAX_PLACEHOLDERS: usize = 1024;
/// Rows per statement, at most.
const MAX_ROWS: usize = 1024;
/// Prepared statements kept per connection (MariaDB's own limit,
/// max_prepared_stmt_count, is 16,382 for the whole server).
const STATEMENT_CACHE: usize = 512;

/// The multi-row INSERTs that write `rows`: each with a power-of-two number
/// of rows (so a table needs at most a dozen statement texts, each prepared
/// once per connection and then reused), under `max_statement` bytes of
/// values (but at least one row). Pure: the decoding thread builds them
/// while the previous batch executes.
pub(crate) fn insert_statements(
    plan: &TablePlan,
    cols: &[usize],
    rows: &[&[Cell]],
    mode: Mode,
    max_statement: usize,
) -> Result<Vec<BoundInsert>, DbError> {
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
    let json_at: Vec<usize> = (0..cols.len()).filter(|&k| plan.columns[cols[k]].kind == Kind::Json).collect();
    let as_bytes: Vec<bool> = cols.iter().map(|&i| plan.text_as_bytes.get(i).copied().unwrap_or(false)).collect();
    let tuple = format!("({})", vec!["?"; cols.len()].join(","));
    let cap = (MAX_PLACEHOLDERS / cols.len().max(1)).clamp(1, MAX_ROWS);
    // Bytes before row r (the literal sizes: a close bound of the bound values).
    let mut before = Vec::with_capacity(rows.len() + 1);
    before.push(0usize);
    for row in rows {
        let last = before.last().copied().unwrap_or(0);
        before.push(last + row.iter().map(mysql_literal_len).sum::<usize>());
    }
    let mut statements = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let mut k = prev_power_of_two((rows.len() - i).min(cap));
        while k > 1 && before[i + k] - before[i] > max_statement {
            k /= 2;
        }
        let mut sql = String::with_capacity(head.len() + tail.len() + k * (tuple.len() + 1));
        sql.push_str(&head);
        for r in 0..k {
            if r > 0 {
                sql.push(',');
            }
            sql.push_str(&tuple);
        }
        sql.push_str(&tail);
        let mut args = MySqlArguments::default();
        // The exact room the values take: growing the buffer to a
        // statement's size (up to megabytes) by doubling copied it over
        // and over and touched fresh pages (a tenth of the decoding
        // thread's samples on the relay rows, BENCHMARKS.md).
        let (count, size) = rows[i..i + k].iter().fold((0, 0), |(n, b), row| {
            (n + row.len().min(as_bytes.len()), b + row.iter().zip(&as_bytes).map(|(c, _)| bound_len(c)).sum::<usize>())
        });
        Arguments::reserve(&mut args, count, size);
        for row in &rows[i..i + k] {
            for (cell, &as_bytes) in row.iter().zip(&as_bytes) {
                bind(&mut args, cell, as_bytes)?;
            }
        }
        let json_valid = json_cells_pass(&json_at, &rows[i..i + k]);
        statements.push(BoundInsert { sql, args, json_valid });
        i += k;
    }
    Ok(statements)
}

/// A statement's text with its values as MySQL literals.
fn render(pieces: &[Piece<'_>]) -> String {
    let mut sql = String::new();
    for p in pieces {
        match p {
            Piece::Sql(s) => sql.push_str(s),
            Piece::Value(cell) => mysql_literal(cell, &mut sql),
        }
    }
    sql
}

fn prev_power_of_two(n: usize) -> usize {
    if n.is_power_of_two() {
        n
    } else {
        n.next_power_of_two() / 2
    }
}

/// The bytes [`bind`] adds to the arguments' values for `cell` (the binary
/// protocol's encoding: nothing for NULL, 8 for a number, a length-encoded
/// string for text and bytes).
fn bound_len(cell: &Cell) -> usize {
    let lenenc = |n: usize| {
        n + match n {
            0..=250 => 1,
            251..=0xFFFF => 3,
            0x1_0000..=0xFF_FFFF => 4,
            _ => 9,
        }
    };
    match cell {
        Cell::Null => 0,
        Cell::Bool(_) | Cell::Float(_) => 8,
        Cell::Int(i) if i64::try_from(*i).is_ok() || u64::try_from(*i).is_ok() => 8,
        Cell::Int(i) => lenenc(int_digits(*i)),
        Cell::Text(t) => lenenc(t.len()),
        Cell::Bytes(b) => lenenc(b.len()),
    }
}

/// The length of `i`'s decimal text (sign included).
fn int_digits(i: i128) -> usize {
    usize::from(i < 0) + i.unsigned_abs().checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Binds a cell as the text path's literal reads: integers and floats as
/// numbers (huge integers as their digits), text as a string (as bytes
/// when `text_as_bytes`, see [`bytes_store_as_text`]), bytes as a binary
/// string, booleans as 1/0.
fn bind(args: &mut MySqlArguments, cell: &Cell, text_as_bytes: bool) -> Result<(), DbError> {
    let bound = match cell {
        Cell::Null => args.add(None::<&str>),
        Cell::Bool(b) => args.add(i64::from(*b)),
        Cell::Int(i) => match (i64::try_from(*i), u64::try_from(*i)) {
            (Ok(v), _) => args.add(v),
            (_, Ok(v)) => args.add(v),
            _ => args.add(i.to_string()),
        },
        Cell::Float(f) => args.add(*f),
        Cell::Text(t) if text_as_bytes => args.add(t.as_bytes()),
        Cell::Text(t) => args.add(t.as_str()),
        Cell::Bytes(b) => args.add(b.as_slice()),
    };
    bound.map_err(|e| DbError { message: format!("cannot bind a value: {e}"), column: None })
}

impl Sink for MySink {
    async fn describe(&mut self, table: &str) -> anyhow::Result<Option<(Vec<TargetColumn>, Vec<String>)>> {
        let rows = sqlx::query(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(IS_NULLABLE AS CHAR), CAST(EXTRA AS CHAR), \
                    CAST(COLUMN_KEY AS CHAR), CAST(DATA_TYPE AS CHAR) \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        )
        .bind(table)
        .fetch_all(&mut self.conn)
        .await
        .map_err(|e| anyhow::anyhow!("reading the columns of {table}: {}", db_error(e)))?;
        // MariaDB's JSON is LONGTEXT CHECK (json_valid(`col`)). The checks are
        // read once per table with constant schema and table names: a
        // correlated subquery made MariaDB fill CHECK_CONSTRAINTS for every
        // table of every database once per column. MySQL 8 has no
        // CHECK_CONSTRAINTS.TABLE_NAME (and a real JSON type): no probe there.
        let json_checks: HashSet<String> = if rows.iter().any(|r| text(r, 5).eq_ignore_ascii_case("longtext")) {
            sqlx::query(
                "SELECT CAST(CHECK_CLAUSE AS CHAR) FROM information_schema.CHECK_CONSTRAINTS \
                 WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            )
            .bind(table)
            .fetch_all(&mut self.conn)
            .await
            .map(|checks| checks.iter().map(|r| text(r, 0)).collect())
            .unwrap_or_default()
        } else {
            HashSet::new()
        };
        if rows.is_empty() {
            return Ok(None);
        }
        let mut cols = Vec::with_capacity(rows.len());
        for r in &rows {
            let name = text(r, 0);
            let mut sql_type = text(r, 1);
            if text(r, 5).eq_ignore_ascii_case("longtext")
                && json_checks.contains(&format!("json_valid(`{}`)", name.replace('`', "``")))
            {
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

    async fn text_as_bytes(&mut self, plan: &TablePlan) -> Result<Vec<bool>, DbError> {
        // Measured and tested on MariaDB only: MySQL 8 keeps its strings.
        if !self.mariadb {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(CHARACTER_SET_NAME AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind(&plan.name)
        .fetch_all(&mut self.conn)
        .await
        .map_err(db_error)?;
        let charsets: HashMap<String, Option<String>> =
            rows.iter().map(|r| (text(r, 0), r.try_get_unchecked::<Option<String>, _>(1).ok().flatten())).collect();
        Ok(plan
            .columns
            .iter()
            .map(|c| charsets.get(&c.name).is_some_and(|cs| bytes_store_as_text(cs.as_deref(), &c.kind)))
            .collect())
    }

    async fn exec(&mut self, sql: &str) -> Result<u64, DbError> {
        if may_write(sql) {
            self.checks_off(false).await?;
        }
        self.run(sql).await
    }

    async fn query_text(&mut self, sql: &str) -> Result<Option<String>, DbError> {
        let row = sqlx::query(sql).fetch_optional(&mut self.conn).await.map_err(db_error)?;
        Ok(row.map(|r| text(&r, 0)))
    }

    fn preparer(&self) -> Preparer {
        Preparer::MySql { max_statement: self.max_statement }
    }

    async fn another(&self) -> anyhow::Result<Option<Self>> {
        MySink::connect(&self.url).await.map(Some)
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
        if self.may_skip_checks {
            // MariaDB's JSON columns are LONGTEXT with CHECK (json_valid(col)):
            // evaluating it was about a fifth of the server's CPU on rows with
            // a JSON column (BENCHMARKS.md). Skipped only for rows that pass it.
            match self.table_checks(plan).await {
                TableChecks::None => {}
                TableChecks::JsonOnly(json_cols) => {
                    self.checks_off(statements_pass_json_checks(&json_cols, cols, &statements)).await?;
                }
                TableChecks::Kept => self.checks_off(false).await?,
            }
        }
        if mode == Mode::SkipExisting {
            self.run("SET @decant_skipped = 0").await?;
        }
        for st in statements {
            sqlx::query_with(&st.sql, st.args).execute(&mut self.conn).await.map_err(db_error)?;
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

    async fn has_foreign_keys(&mut self, table: &str) -> Result<bool, DbError> {
        let row = sqlx::query(
            "SELECT 1 FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() \
             AND (TABLE_NAME = ? OR REFERENCED_TABLE_NAME = ?) LIMIT 1",
        )
        .bind(table)
        .bind(table)
        .fetch_optional(&mut self.conn)
        .await
        .map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn unique_keys(&mut self, table: &str) -> Result<Vec<Vec<String>>, DbError> {
        let rows = sqlx::query(
            "SELECT CAST(INDEX_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(COALESCE(SUB_PART, 0) AS CHAR) \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
             AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY' ORDER BY INDEX_NAME, SEQ_IN_INDEX",
        )
        .bind(table)
        .fetch_all(&mut self.conn)
        .await
        .map_err(db_error)?;
        let mut keys: Vec<(String, Vec<String>, bool)> = Vec::new();
        for r in &rows {
            let (index, column, prefix) = (text(r, 0), text(r, 1), text(r, 2) != "0");
            match keys.last_mut() {
                Some((name, cols, partial)) if *name == index => {
                    cols.push(column);
                    *partial |= prefix;
                }
                _ => keys.push((index, vec![column], prefix)),
            }
        }
        // A key over column prefixes makes rows "equal" that are not.
        Ok(keys.into_iter().filter(|(_, c, partial)| !partial && !c.is_empty()).map(|(_, c, _)| c).collect())
    }

    async fn omitted_values(&mut self, table: &str) -> Result<HashMap<String, OmittedValue>, DbError> {
        // MariaDB reports a default as SQL (`'claude'`, `NULL`, `current_timestamp()`);
        // MySQL 8 the literal itself, unquoted, and DEFAULT_GENERATED for an expression.
        let version = sqlx::query("SELECT VERSION()").fetch_one(&mut self.conn).await.map_err(db_error)?;
        let raw_mysql = !text(&version, 0).to_ascii_lowercase().contains("mariadb");
        let rows = sqlx::query(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), CAST(IS_NULLABLE AS CHAR), CAST(EXTRA AS CHAR) \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind(table)
        .fetch_all(&mut self.conn)
        .await
        .map_err(db_error)?;
        let mut out = HashMap::new();
        for r in &rows {
            let default: Option<String> = r.try_get_unchecked::<Option<String>, _>(1).ok().flatten();
            let extra = text(r, 3).to_ascii_lowercase();
            let expression_default = extra.contains("default_generated");
            let extra = extra.replace("default_generated", "");
            let generated =
                ["auto_increment", "generated", "persistent", "virtual", "stored"].iter().any(|w| extra.contains(w));
            let value = if expression_default {
                OmittedValue::Unknown(format!(
                    "its default is the expression {}, not a constant",
                    default.as_deref().unwrap_or("?")
                ))
            } else {
                // MariaDB spells "DEFAULT NULL" as the text NULL, and "no default" as SQL NULL.
                omitted::classify(D, default.as_deref(), text(r, 2) == "YES", generated, raw_mysql)
            };
            out.insert(text(r, 0), value);
        }
        Ok(out)
    }

    async fn exec_pieces(&mut self, pieces: &[Piece<'_>]) -> Result<u64, DbError> {
        self.checks_off(false).await?;
        let sql = render(pieces);
        self.run(&sql).await
    }

    async fn exists_pieces(&mut self, pieces: &[Piece<'_>]) -> Result<bool, DbError> {
        let sql = render(pieces);
        let row = sqlx::query(&sql).fetch_optional(&mut self.conn).await.map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn query_strings(&mut self, pieces: &[Piece<'_>]) -> Result<Vec<String>, DbError> {
        // As text, not a prepared statement: each lookup's text is new, and
        // preparing it would push the INSERTs out of the statement cache.
        let sql = render(pieces);
        let rows = self.conn.fetch_all(sql.as_str()).await.map_err(db_error)?;
        Ok(rows.iter().map(|r| text(r, 0)).collect())
    }

    async fn exec_many(&mut self, statements: &[Vec<Piece<'_>>]) -> Result<(), DbError> {
        // One round trip: the session allows multiple statements in one
        // text query, and the server stops at the first that fails.
        self.checks_off(false).await?;
        let sql: Vec<String> = statements.iter().map(|st| render(st)).collect();
        if !sql.is_empty() {
            self.run(&sql.join(";\n")).await?;
        }
        Ok(())
    }

    async fn delete(&mut self, plan: &TablePlan, key: &[Cell]) -> Result<u64, DbError> {
        let mut cond = Vec::new();
        for (&i, cell) in plan.pk.iter().zip(key) {
            let mut lit = String::new();
            mysql_literal(cell, &mut lit);
            cond.push(format!("{} = {lit}", D.quote(&plan.columns[i].name)));
        }
        self.checks_off(false).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::typemap::Kind;

    fn plan(columns: usize) -> TablePlan {
        let cols = (0..columns)
            .map(|i| TargetColumn {
                name: format!("c{i}"),
                sql_type: "text".into(),
                kind: Kind::Text { max_chars: None },
                nullable: true,
                identity: false,
            })
            .collect();
        TablePlan::new("t", cols, &["c0".to_owned()])
    }

    fn sizes(statements: &[BoundInsert], columns: usize) -> Vec<usize> {
        statements.iter().map(|s| s.sql.matches('?').count() / columns).collect()
    }

    /// The length of the values buffer of `args` (sqlx keeps it private;
    /// its `Debug` lists the bytes).
    fn values_len(args: &MySqlArguments) -> usize {
        let debug = format!("{args:?}");
        let list = debug.split("values: [").nth(1).and_then(|r| r.split(']').next()).unwrap();
        if list.trim().is_empty() {
            0
        } else {
            list.split(',').count()
        }
    }

    proptest::proptest! {
        #[test]
        fn the_room_reserved_is_what_the_values_take(
            ints in proptest::collection::vec(proptest::prelude::any::<i128>(), 0..4),
            texts in proptest::collection::vec(".{0,300}", 0..4),
            long in 0usize..70_000,
            flags in proptest::prelude::any::<(bool, bool, f64)>(),
        ) {
            let mut cells = vec![Cell::Null, Cell::Bool(flags.0), Cell::Float(flags.2), Cell::Bytes(vec![7; long])];
            cells.extend(ints.iter().flat_map(|&i| [Cell::Int(i), Cell::Int(i >> 64), Cell::Int(i >> 100)]));
            cells.extend(texts.iter().map(|t| Cell::Text(t.clone())));
            cells.push(Cell::Text("é".repeat(long / 2)));
            for cell in &cells {
                let mut args = MySqlArguments::default();
                bind(&mut args, cell, flags.1).unwrap();
                proptest::prop_assert_eq!(values_len(&args), bound_len(cell), "{:?}", cell);
            }
        }
    }

    #[test]
    fn json_nesting_is_counted_as_mariadb_counts_it() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        // json_valid() of MariaDB 10.11: 1 up to 31 levels, 0 from 32.
        for n in [0, 1, 30, 31] {
            assert!(json_valid_in_mariadb(&nested(n)), "{n}");
            assert!(json_valid_in_mariadb(&objects(n)), "{n}");
        }
        for n in [32, 33, 200] {
            assert!(!json_valid_in_mariadb(&nested(n)), "{n}");
            assert!(!json_valid_in_mariadb(&objects(n)), "{n}");
        }
        for text in ["", "[", "{[x]}", &"a[{".repeat(100), &"{".repeat(200)] {
            let want = text.bytes().filter(|&b| b == b'[' || b == b'{').count();
            assert_eq!(opening_brackets(text.as_bytes()), want, "{text}");
        }
        // Brackets in strings (escaped quotes too) do not nest.
        let in_strings = format!("[{:?}, \"\\\"{}\"]", "[".repeat(40), "{".repeat(40));
        assert!(json_valid_in_mariadb(&in_strings), "{in_strings}");
        // Siblings do not add up.
        assert!(json_valid_in_mariadb(&format!("[{}]", vec![nested(30); 5].join(","))));
        assert!(!json_valid_in_mariadb(&format!("[1,\"]]]]\",{}]", nested(31))));
    }

    #[test]
    fn only_json_valid_checks_of_written_json_columns_are_skipped() {
        let col = |name: &str, kind: Kind| TargetColumn {
            name: name.into(),
            sql_type: "longtext".into(),
            kind,
            nullable: true,
            identity: false,
        };
        let p = TablePlan::new(
            "t",
            vec![
                col("id", Kind::Int { min: 0, max: 9 }),
                col("j`x", Kind::Json),
                col("k", Kind::Json),
                col("s", Kind::Text { max_chars: None }),
            ],
            &["id".to_owned()],
        );
        assert_eq!(json_only_checks(&p, &[]), TableChecks::None);
        let both = ["json_valid(`j``x`)".to_owned(), "json_valid(`k`)".to_owned()];
        assert_eq!(json_only_checks(&p, &both), TableChecks::JsonOnly(vec![1, 2]));
        // Another check, or json_valid of a column not read as JSON: kept.
        assert_eq!(json_only_checks(&p, &[both[0].clone(), "`id` > 0".into()]), TableChecks::Kept);
        assert_eq!(json_only_checks(&p, &["json_valid(`s`)".to_owned()]), TableChecks::Kept);

        let ok = [Cell::Int(1), Cell::Text("{\"a\":[1]}".into()), Cell::Null];
        let deep = [Cell::Int(2), Cell::Text(format!("{}{}", "[".repeat(32), "]".repeat(32))), Cell::Null];
        let pass = |cols: &[usize], rows: &[&[Cell]]| {
            let statements = insert_statements(&p, cols, rows, Mode::Insert, 1 << 20).unwrap();
            statements_pass_json_checks(&[1, 2], cols, &statements)
        };
        assert!(pass(&[0, 1, 2], &[&ok, &ok]));
        assert!(!pass(&[0, 1, 2], &[&ok, &deep]));
        // A JSON column the rows leave out takes its default: the server checks it.
        assert!(!pass(&[0, 1], &[&ok[..2]]));
        assert!(statements_pass_json_checks(
            &[1],
            &[0, 1],
            &insert_statements(&p, &[0, 1], &[&ok[..2]], Mode::Insert, 1 << 20).unwrap()
        ));
        // Bytes are no JSON text.
        assert!(!json_cells_pass(&[0], &[&[Cell::Bytes(b"{}".to_vec())]]));
    }

    #[test]
    fn text_goes_as_bytes_only_where_it_is_stored_the_same() {
        assert!(bytes_store_as_text(Some("utf8mb4"), &Kind::Text { max_chars: Some(3) }));
        assert!(bytes_store_as_text(Some("utf8mb4"), &Kind::Json));
        // Another character set converts a string, not bytes.
        for cs in ["latin1", "utf8mb3", "ucs2", "binary"] {
            assert!(!bytes_store_as_text(Some(cs), &Kind::Text { max_chars: None }), "{cs}");
        }
        assert!(bytes_store_as_text(None, &Kind::Decimal { precision: Some(20), scale: Some(6) }));
        assert!(bytes_store_as_text(None, &Kind::Datetime));
        assert!(!bytes_store_as_text(None, &Kind::Bytes { max_bytes: None }));
        assert!(!bytes_store_as_text(None, &Kind::Int { min: 0, max: 1 }));
    }

    #[test]
    fn transaction_control_leaves_the_checks_as_they_are() {
        for sql in [
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "SAVEPOINT decant_row",
            "RELEASE SAVEPOINT decant_batch",
            " rollback to savepoint x",
        ] {
            assert!(!may_write(sql), "{sql}");
        }
        for sql in
            ["ALTER TABLE t ADD INDEX i (a)", "INSERT INTO t VALUES (1)", "SET foreign_key_checks = 0", "TRUNCATE t"]
        {
            assert!(may_write(sql), "{sql}");
        }
    }

    #[test]
    fn statements_have_power_of_two_rows_under_the_caps() {
        let row: Vec<Cell> = vec![Cell::Int(1), Cell::Text("x".repeat(10)), Cell::Null];
        let rows: Vec<&[Cell]> = (0..3000).map(|_| row.as_slice()).collect();
        let p = plan(3);
        let all = insert_statements(&p, &[0, 1, 2], &rows, Mode::Insert, 8 << 20).unwrap();
        // 3 columns: 1,024 / 3 → 256 rows per statement, then the rest in halves.
        let mut want = vec![256; 11];
        want.extend([128, 32, 16, 8]);
        assert_eq!(sizes(&all, 3), want);
        assert!(all[0].sql.starts_with("INSERT INTO `t` (`c0`, `c1`, `c2`) VALUES (?,?,?),(?,?,?)"));
        // A byte cap of ~40 rows: 32-row statements.
        let capped = insert_statements(&p, &[0, 1, 2], &rows[..100], Mode::Insert, 40 * 25).unwrap();
        assert_eq!(sizes(&capped, 3), [32, 32, 32, 4]);
        // Wide rows: the placeholder cap (1,024 / 100 columns → 8 rows).
        let wide: Vec<Cell> = (0..100).map(Cell::Int).collect();
        let rows: Vec<&[Cell]> = (0..300).map(|_| wide.as_slice()).collect();
        let cols: Vec<usize> = (0..100).collect();
        assert_eq!(
            sizes(&insert_statements(&plan(100), &cols, &rows, Mode::Insert, 8 << 20).unwrap(), 100),
            [vec![8; 37], vec![4]].concat()
        );
        // 8 columns (the relay's usage records): 1,024 / 8 → 128 rows.
        let narrow: Vec<Cell> = (0..8).map(Cell::Int).collect();
        let rows: Vec<&[Cell]> = (0..600).map(|_| narrow.as_slice()).collect();
        let cols: Vec<usize> = (0..8).collect();
        assert_eq!(
            sizes(&insert_statements(&plan(8), &cols, &rows, Mode::Insert, 8 << 20).unwrap(), 8),
            [128, 128, 128, 128, 64, 16, 8]
        );
        // A row bigger than the byte cap still goes, alone.
        let big = vec![Cell::Text("y".repeat(1000)), Cell::Null, Cell::Null];
        let one: Vec<&[Cell]> = vec![big.as_slice(), big.as_slice()];
        assert_eq!(sizes(&insert_statements(&p, &[0, 1, 2], &one, Mode::Insert, 100).unwrap(), 3), [1, 1]);
    }
}
