//! Two live SQL tables compared by checksums of primary-key ranges computed
//! inside each database (the data-diff / pt-table-checksum approach), so two
//! equal tables compare without moving their rows.
//!
//! For each table present on both sides with the same columns, a
//! single-column integer primary key and column types that both engines can
//! render identically, each database computes, per range of the key, the row
//! count and the sum of a 60-bit hash (the first 15 hex digits of MD5) of a
//! canonical text of every row. The key space is first cut into chunks that
//! are checked concurrently, on a small connection pool per side with both
//! databases working at the same time (`--jobs`); a chunk whose counts or
//! sums differ is split again (`FANOUT` ways, in one grouped query) until its
//! differing parts hold at most `--leaf-rows` rows. Only those rows are then
//! fetched — through the exporters, with `--where` — and compared record by
//! record like any other input, so the differences reported (and the patch)
//! are exactly what a full comparison would give. A user `--where` condition
//! is applied to every checksum query as well as to the row fetches.
//!
//! The canonical row text, identical in MySQL/MariaDB and PostgreSQL:
//! columns in name order, joined by `|`, each `N` for NULL or its text:
//! integers in decimal; booleans (and TINYINT(1)) `1`/`0`; decimals as
//! stored when both sides declare the same scale, else without trailing
//! fraction zeros; text as `<byte length>:<UTF-8>` (the only kind that can
//! hold `|` or `N`, so the length keeps the text unambiguous); dates
//! `YYYY-MM-DD`; date-times and timestamps (UTC sessions)
//! `YYYY-MM-DD HH:MM:SS.ffffff`; bytes as lowercase hex. Any other type
//! (floats, JSON, time, intervals, arrays, …), a column whose kind differs
//! between the sides, a non-integer or composite key, SQLite, or a
//! normalisation flag sends the table to the row-by-row path instead.
//!
//! Why this is exact: two rows that differ in any column have different
//! canonical texts, so (but for a 2^-60 hash collision) a range holding a
//! difference never checks equal. The converse need not hold — a rendering
//! detail that made equal rows look different would only cost a fetch, as
//! the fetched rows are compared by the record engine, which has the last
//! word. Per-row cost is what limits speed, so each kind is rendered with
//! the cheapest expression that keeps the texts injective (no length prefix
//! outside text, no trimming when the scales agree, MariaDB's own
//! DATETIME(6) text instead of DATE_FORMAT).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::source::{LiveOptions, Source, SourceSpec};
use anyhow::{bail, Context as _};
use decant_record::conn::{ConnUrl, Role, Store};
use decant_record::digest::GroupKey;
use futures_util::{StreamExt as _, TryStreamExt as _};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions as _, Executor as _, Row as _};

use crate::engine::{self, DiffStats, EngineConfig, GroupStats, Sink};
use crate::entry::EntryReader;

/// Range-checksum settings.
#[derive(Debug, Clone)]
pub struct RangeConfig {
    /// Fetch rows once a range holds at most this many.
    pub leaf_rows: u64,
    /// Sub-ranges per differing range.
    pub fanout: i64,
    /// Checksum queries in flight per side (and connections per side).
    pub jobs: usize,
    /// Say on stderr how each table was compared.
    pub verbose: bool,
    /// Checksum the primary keys only: finds the rows on one side only
    /// (deletions a `--since` comparison cannot see), not changed ones.
    pub keys_only: bool,
}

impl Default for RangeConfig {
    fn default() -> Self {
        RangeConfig { leaf_rows: 1000, fanout: 32, jobs: 2, verbose: false, keys_only: false }
    }
}

/// Most chunks a table's key space is first cut into.
const MAX_CHUNKS: u128 = 256;

/// True when both sides are live MySQL/MariaDB or PostgreSQL stores.
pub fn applies(a: &SourceSpec, b: &SourceSpec) -> bool {
    let sql = |s: &SourceSpec| match s {
        SourceSpec::Url(u) => ConnUrl::parse(u).is_ok_and(|c| c.store().capabilities().range_checksums),
        _ => false,
    };
    sql(a) && sql(b)
}

/// Parses `--where TABLE:CONDITION` flags (once per table), as the exporters do.
pub fn parse_wheres(flags: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for w in flags {
        let Some((table, cond)) = w.split_once(':') else {
            bail!("bad --where {w:?}: expected TABLE:CONDITION, e.g. \"orders:updated_at >= '2025-01-01'\"");
        };
        let (table, cond) = (table.trim(), cond.trim());
        if table.is_empty() || cond.is_empty() {
            bail!("bad --where {w:?}: expected TABLE:CONDITION, e.g. \"orders:updated_at >= '2025-01-01'\"");
        }
        if out.insert(table.to_owned(), cond.to_owned()).is_some() {
            bail!("--where given twice for table {table:?}: combine the conditions with AND");
        }
    }
    Ok(out)
}

/// How a column is rendered in the canonical row text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Decimal,
    Text,
    Date,
    DateTime,
    TimestampTz,
    Bytes,
    /// Not renderable identically: the table goes row by row.
    Other,
}

/// One column as one side declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    kind: Kind,
    /// Decimal scale, when the type fixes it.
    scale: Option<i64>,
    /// Fraction digits of a date-time type.
    time_precision: Option<i64>,
    /// MySQL: the column's character set is utf8mb4 (no conversion needed).
    utf8mb4: bool,
}

#[derive(Debug, Clone)]
struct TableInfo {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    pk_integer: bool,
}

impl TableInfo {
    fn kinds(&self) -> BTreeMap<&str, Kind> {
        self.columns.iter().map(|(n, c)| (n.as_str(), c.kind)).collect()
    }
}

/// A connection pool to one side.
#[derive(Debug)]
enum Db {
    My(MySqlPool),
    Pg(PgPool),
}

fn mysql_kind(data_type: &str, column_type: &str) -> Kind {
    match data_type {
        "tinyint" if column_type.starts_with("tinyint(1)") => Kind::Bool,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => Kind::Int,
        "decimal" | "numeric" => Kind::Decimal,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => Kind::Text,
        "date" => Kind::Date,
        "datetime" => Kind::DateTime,
        "timestamp" => Kind::TimestampTz,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Kind::Bytes,
        _ => Kind::Other,
    }
}

fn pg_kind(data_type: &str) -> Kind {
    match data_type {
        "smallint" | "integer" | "bigint" => Kind::Int,
        "boolean" => Kind::Bool,
        "numeric" => Kind::Decimal,
        "character varying" | "character" | "text" | "uuid" => Kind::Text,
        "date" => Kind::Date,
        "timestamp without time zone" => Kind::DateTime,
        "timestamp with time zone" => Kind::TimestampTz,
        "bytea" => Kind::Bytes,
        _ => Kind::Other,
    }
}

fn my_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// A PostgreSQL condition that keeps a table's own rows, as pg-export reads
/// them: an inheritance parent without its children's rows (which the
/// children give as tables of their own), a partitioned table with all its
/// partitions' rows (the partitions are not listed on their own). The
/// relkind test is a constant subquery, evaluated once per query.
fn pg_own_rows(table: &str) -> String {
    let oid = format!("(quote_ident(current_schema()) || '.' || quote_ident({}))::regclass", lit(table));
    format!("(tableoid = {oid} OR (SELECT relkind = 'p' FROM pg_class WHERE oid = {oid}))")
}

fn pg_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// A piece of the key space to checksum: `[lo, hi)` in segments of `step`
/// keys (one segment, without a GROUP BY, when `step` covers it all).
#[derive(Debug, Clone, Copy)]
struct Task {
    lo: i64,
    hi: i64,
    step: i64,
    top: bool,
}

/// Count and hash sum per segment number.
type Segments = BTreeMap<i64, (u64, String)>;

impl Db {
    async fn connect(url: &ConnUrl, jobs: u32) -> anyhow::Result<Db> {
        let mut u = url.url().clone();
        // Checksum queries of big ranges can run for minutes; the pool never
        // has more queries in flight than connections, so waiting is short.
        let acquire = Duration::from_secs(24 * 3600);
        match url.store() {
            Store::MySql => {
                if u.scheme() != "mysql" {
                    let _ = u.set_scheme("mysql");
                }
                let opts = MySqlConnectOptions::from_url(&u)
                    .with_context(|| format!("bad URL {url}"))?
                    .charset("utf8mb4")
                    .disable_statement_logging();
                let pool = MySqlPoolOptions::new()
                    .max_connections(jobs)
                    .min_connections(0)
                    .acquire_timeout(acquire)
                    .test_before_acquire(false)
                    .after_connect(|c, _| {
                        Box::pin(async move {
                            c.execute(
                                "SET SESSION time_zone = '+00:00', sql_mode = '', character_set_results = 'utf8mb4'",
                            )
                            .await
                            .map(|_| ())
                        })
                    })
                    .connect_with(opts)
                    .await
                    .with_context(|| format!("connecting to {url}"))?;
                Ok(Db::My(pool))
            }
            Store::Postgres => {
                if u.scheme() != "postgres" {
                    let _ = u.set_scheme("postgres");
                }
                let opts = PgConnectOptions::from_url(&u)
                    .with_context(|| format!("bad URL {url}"))?
                    .disable_statement_logging();
                let pool = PgPoolOptions::new()
                    .max_connections(jobs)
                    .min_connections(0)
                    .acquire_timeout(acquire)
                    .test_before_acquire(false)
                    .after_connect(|c, _| {
                        Box::pin(async move {
                            c.execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'; SET statement_timeout = 0")
                                .await
                                .map(|_| ())
                        })
                    })
                    .connect_with(opts)
                    .await
                    .with_context(|| format!("connecting to {url}"))?;
                Ok(Db::Pg(pool))
            }
            _ => bail!("{url}: range checksums need MySQL/MariaDB or PostgreSQL"),
        }
    }

    async fn close(&self) {
        match self {
            Db::My(p) => p.close().await,
            Db::Pg(p) => p.close().await,
        }
    }

    /// Runs a query whose every column is text (or NULL).
    async fn texts(&self, sql: &str) -> anyhow::Result<Vec<Vec<Option<String>>>> {
        let rows = match self {
            Db::My(p) => sqlx::raw_sql(sql)
                .fetch_all(p)
                .await?
                .iter()
                .map(|r| (0..r.len()).map(|i| r.try_get::<Option<String>, _>(i)).collect::<Result<Vec<_>, _>>())
                .collect::<Result<Vec<_>, _>>()?,
            Db::Pg(p) => sqlx::raw_sql(sql)
                .fetch_all(p)
                .await?
                .iter()
                .map(|r| (0..r.len()).map(|i| r.try_get::<Option<String>, _>(i)).collect::<Result<Vec<_>, _>>())
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows)
    }

    fn ident(&self, s: &str) -> String {
        match self {
            Db::My(_) => my_ident(s),
            Db::Pg(_) => pg_ident(s),
        }
    }

    async fn tables(&self) -> anyhow::Result<BTreeSet<String>> {
        let sql = match self {
            Db::My(_) => "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
            // As pg-export: ordinary and partitioned tables, not the partitions
            // (their rows are the partitioned parent's).
            Db::Pg(_) => "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
        };
        Ok(self.texts(sql).await?.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect())
    }

    async fn table_info(&self, table: &str) -> anyhow::Result<TableInfo> {
        let t = lit(table);
        let (cols_sql, pk_sql) = match self {
            Db::My(_) => (
                format!("SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR), CAST(column_type AS CHAR), CAST(numeric_scale AS CHAR), CAST(datetime_precision AS CHAR), CAST(character_set_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = {t} ORDER BY ordinal_position"),
                format!("SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND table_name = {t} AND constraint_name = 'PRIMARY' ORDER BY ordinal_position"),
            ),
            Db::Pg(_) => (
                format!("SELECT column_name::text, data_type::text, udt_name::text, numeric_scale::text, datetime_precision::text, NULL::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = {t} ORDER BY ordinal_position"),
                format!("SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident({t}))::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)"),
            ),
        };
        let mut columns = BTreeMap::new();
        for r in self.texts(&cols_sql).await? {
            let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            let number = |i: usize| r.get(i).cloned().flatten().and_then(|v| v.parse::<i64>().ok());
            let kind = match self {
                Db::My(_) => mysql_kind(&get(1).to_ascii_lowercase(), &get(2).to_ascii_lowercase()),
                Db::Pg(_) => pg_kind(&get(1)),
            };
            let column = Column {
                kind,
                scale: number(3),
                time_precision: number(4),
                utf8mb4: get(5).eq_ignore_ascii_case("utf8mb4"),
            };
            columns.insert(get(0), column);
        }
        let primary_key: Vec<String> =
            self.texts(&pk_sql).await?.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect();
        let pk_integer = primary_key.len() == 1 && columns.get(&primary_key[0]).is_some_and(|c| c.kind == Kind::Int);
        Ok(TableInfo { columns, primary_key, pk_integer })
    }

    /// The canonical text of one column, never NULL (`N` for NULL).
    /// `fixed_scale`: both sides declare this decimal column with the same
    /// scale, so its stored text is already canonical.
    fn render(&self, name: &str, col: &Column, fixed_scale: bool) -> String {
        let c = self.ident(name);
        match (self, col.kind) {
            (Db::My(_), Kind::Int) => format!("IFNULL({c}, 'N')"),
            (Db::Pg(_), Kind::Int) => format!("coalesce({c}::text, 'N')"),
            (Db::My(_), Kind::Bool) => format!("IFNULL({c} <> 0, 'N')"),
            (Db::Pg(_), Kind::Bool) => format!("coalesce({c}::int::text, 'N')"),
            (Db::My(_), Kind::Decimal) if fixed_scale => format!("IFNULL({c}, 'N')"),
            (Db::Pg(_), Kind::Decimal) if fixed_scale => format!("coalesce({c}::text, 'N')"),
            (Db::My(_), Kind::Decimal) => format!(
                "IFNULL(IF(LOCATE('.', CAST({c} AS CHAR)) > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({c} AS CHAR))), CAST({c} AS CHAR)), 'N')"
            ),
            (Db::Pg(_), Kind::Decimal) => format!(
                "coalesce(CASE WHEN position('.' in {c}::text) > 0 THEN rtrim(rtrim({c}::text, '0'), '.') ELSE {c}::text END, 'N')"
            ),
            (Db::My(_), Kind::Text) => {
                let e = if col.utf8mb4 { c } else { format!("CONVERT({c} USING utf8mb4)") };
                format!("IFNULL(CONCAT(LENGTH({e}), ':', {e}), 'N')")
            }
            (Db::Pg(_), Kind::Text) => format!("coalesce(octet_length({c}::text)::text || ':' || {c}::text, 'N')"),
            (Db::My(_), Kind::Date) => format!("IFNULL(DATE_FORMAT({c}, '%Y-%m-%d'), 'N')"),
            (Db::Pg(_), Kind::Date) => format!("coalesce(to_char({c}, 'YYYY-MM-DD'), 'N')"),
            // MariaDB's own text of a DATETIME(6) is this format already.
            (Db::My(_), Kind::DateTime | Kind::TimestampTz) if col.time_precision == Some(6) => {
                format!("IFNULL({c}, 'N')")
            }
            (Db::My(_), Kind::DateTime | Kind::TimestampTz) => {
                format!("IFNULL(DATE_FORMAT({c}, '%Y-%m-%d %H:%i:%s.%f'), 'N')")
            }
            (Db::Pg(_), Kind::DateTime | Kind::TimestampTz) => {
                format!("coalesce(to_char({c}, 'YYYY-MM-DD HH24:MI:SS.US'), 'N')")
            }
            (Db::My(_), Kind::Bytes) => format!("IFNULL(LOWER(HEX({c})), 'N')"),
            (Db::Pg(_), Kind::Bytes) => format!("coalesce(encode({c}, 'hex'), 'N')"),
            (_, Kind::Other) => "'?'".to_owned(),
        }
    }

    /// The 60-bit hash of a row's canonical text.
    fn row_hash(&self, info: &TableInfo, other: &TableInfo) -> String {
        let parts: Vec<String> = info
            .columns
            .iter()
            .map(|(name, col)| {
                let fixed_scale = col.kind == Kind::Decimal
                    && col.scale.is_some()
                    && other.columns.get(name).is_some_and(|o| o.scale == col.scale);
                self.render(name, col, fixed_scale)
            })
            .collect();
        match self {
            Db::My(_) => format!("CAST(CONV(LEFT(MD5(CONCAT_WS('|', {})), 15), 16, 10) AS UNSIGNED)", parts.join(", ")),
            Db::Pg(_) => format!("('x' || left(md5(concat_ws('|', {})), 15))::bit(60)::bigint", parts.join(", ")),
        }
    }

    async fn bounds(&self, table: &str, pk: &str, filter: Option<&str>) -> anyhow::Result<Option<(i64, i64)>> {
        let (t, k) = (self.ident(table), self.ident(pk));
        let sql = match self {
            Db::My(_) => {
                let w = filter.map(|f| format!(" WHERE ({f})")).unwrap_or_default();
                format!("SELECT CAST(MIN({k}) AS CHAR), CAST(MAX({k}) AS CHAR) FROM {t}{w}")
            }
            Db::Pg(_) => {
                let w = filter.map(|f| format!(" AND ({f})")).unwrap_or_default();
                let own = pg_own_rows(table);
                format!("SELECT MIN({k})::text, MAX({k})::text FROM {t} WHERE {own}{w}")
            }
        };
        let rows = self.texts(&sql).await?;
        let row = rows.into_iter().next().unwrap_or_default();
        match (row.first().cloned().flatten(), row.get(1).cloned().flatten()) {
            (Some(a), Some(b)) => match (a.parse(), b.parse()) {
                (Ok(a), Ok(b)) => Ok(Some((a, b))),
                _ => bail!("primary key out of the signed 64-bit range"),
            },
            _ => Ok(None),
        }
    }

    /// Count and hash sum of each segment of a task, by segment number.
    async fn segments(
        &self,
        table: &str,
        pk: &str,
        hash: &str,
        filter: Option<&str>,
        task: Task,
    ) -> anyhow::Result<Segments> {
        let (t, k) = (self.ident(table), self.ident(pk));
        let Task { lo, hi, step, .. } = task;
        let mut w = filter.map(|f| format!(" AND ({f})")).unwrap_or_default();
        if let Db::Pg(_) = self {
            w = format!(" AND {}{w}", pg_own_rows(table));
        }
        let whole = (hi as i128 - lo as i128) <= step as i128;
        let sql = match (self, whole) {
            (Db::My(_), true) => format!(
                "SELECT '0', CAST(COUNT(*) AS CHAR), CAST(SUM({hash}) AS CHAR) FROM {t} WHERE {k} >= {lo} AND {k} < {hi}{w}"
            ),
            (Db::Pg(_), true) => format!(
                "SELECT '0', COUNT(*)::text, SUM({hash})::text FROM {t} WHERE {k} >= {lo} AND {k} < {hi}{w}"
            ),
            (Db::My(_), false) => format!(
                "SELECT CAST(({k} - {lo}) DIV {step} AS CHAR) AS s, CAST(COUNT(*) AS CHAR), CAST(SUM({hash}) AS CHAR) FROM {t} WHERE {k} >= {lo} AND {k} < {hi}{w} GROUP BY ({k} - {lo}) DIV {step}"
            ),
            (Db::Pg(_), false) => format!(
                "SELECT (({k}::bigint - ({lo})::bigint) / {step})::text, COUNT(*)::text, SUM({hash})::text FROM {t} WHERE {k} >= {lo} AND {k} < {hi}{w} GROUP BY 1"
            ),
        };
        let mut out = BTreeMap::new();
        for r in self.texts(&sql).await? {
            let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            let seg: i64 = get(0).parse().context("segment number")?;
            let count: u64 = get(1).parse().context("row count")?;
            if count > 0 {
                out.insert(seg, (count, get(2)));
            }
        }
        Ok(out)
    }
}

/// A table compared by ranges: its totals and the ranges still to fetch.
#[derive(Debug, Default)]
struct RangeResult {
    left: u64,
    right: u64,
    leaves: Vec<(i64, i64)>,
}

/// The first cut of `[lo, hi)`: chunks of about `leaf_rows * fanout` keys
/// (so a differing chunk reaches its leaves in one grouped query), at least
/// one per job and at most [`MAX_CHUNKS`].
fn first_tasks(lo: i64, hi: i64, range: &RangeConfig) -> Vec<Task> {
    let width = (hi as i128 - lo as i128).max(1) as u128;
    let per_chunk = (range.leaf_rows as u128).saturating_mul(range.fanout.max(2) as u128).max(1);
    let n = width.div_ceil(per_chunk).clamp(range.jobs.max(1) as u128, MAX_CHUNKS).min(width);
    let step = width.div_ceil(n) as i64;
    let mut tasks = Vec::new();
    let mut a = lo;
    while a < hi {
        let b = a.saturating_add(step).min(hi);
        tasks.push(Task { lo: a, hi: b, step: b - a, top: true });
        a = b;
    }
    tasks
}

async fn compare_table(
    l: &Db,
    r: &Db,
    table: &str,
    (il, ir): (&TableInfo, &TableInfo),
    filter: Option<&str>,
    range: &RangeConfig,
) -> anyhow::Result<RangeResult> {
    let pk = il.primary_key[0].as_str();
    let (lb, rb) = tokio::try_join!(l.bounds(table, pk, filter), r.bounds(table, pk, filter))?;
    let (lo, hi) = match (lb, rb) {
        (None, None) => return Ok(RangeResult::default()),
        (Some(a), None) | (None, Some(a)) => (a.0, a.1.saturating_add(1)),
        (Some(a), Some(b)) => (a.0.min(b.0), a.1.max(b.1).saturating_add(1)),
    };
    let (lh, rh) = (l.row_hash(il, ir), r.row_hash(ir, il));
    let (lh, rh) = (lh.as_str(), rh.as_str());
    let mut result = RangeResult::default();
    let mut wave = first_tasks(lo, hi, range);
    while !wave.is_empty() {
        let done: Vec<(Task, Segments, Segments)> =
            futures_util::stream::iter(wave.into_iter().map(|task| async move {
                let (a, b) =
                    tokio::try_join!(l.segments(table, pk, lh, filter, task), r.segments(table, pk, rh, filter, task))?;
                anyhow::Ok((task, a, b))
            }))
            .buffer_unordered(range.jobs.max(1))
            .try_collect()
            .await?;
        let mut next = Vec::new();
        for (task, ls, rs) in done {
            if task.top {
                result.left += ls.values().map(|v| v.0).sum::<u64>();
                result.right += rs.values().map(|v| v.0).sum::<u64>();
            }
            let segs: BTreeSet<i64> = ls.keys().chain(rs.keys()).copied().collect();
            for s in segs {
                let (a, b) = (ls.get(&s), rs.get(&s));
                if a == b {
                    continue;
                }
                let seg_lo = task.lo.saturating_add(s.saturating_mul(task.step));
                let seg_hi = seg_lo.saturating_add(task.step).min(task.hi);
                let rows = a.map_or(0, |x| x.0).max(b.map_or(0, |x| x.0));
                let width = (seg_hi as i128 - seg_lo as i128) as u128;
                if rows <= range.leaf_rows || width <= 1 {
                    result.leaves.push((seg_lo, seg_hi));
                } else {
                    let step = width.div_ceil(range.fanout.max(2) as u128).max(1) as i64;
                    next.push(Task { lo: seg_lo, hi: seg_hi, step, top: false });
                }
            }
        }
        wave = next;
    }
    result.leaves.sort_unstable();
    Ok(result)
}

/// The exporter's `--where` for the leaves of a table, within the user's
/// own condition when there is one.
fn where_clause(store: Store, table: &str, pk: &str, leaves: &[(i64, i64)], filter: Option<&str>) -> String {
    let k = match store {
        Store::MySql => my_ident(pk),
        _ => pg_ident(pk),
    };
    // Adjacent leaves merge into one range.
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for &(a, b) in leaves {
        match merged.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => merged.push((a, b)),
        }
    }
    let conds: Vec<String> = merged.iter().map(|(a, b)| format!("({k} >= {a} AND {k} < {b})")).collect();
    match filter {
        Some(f) => format!("{table}:({f}) AND ({})", conds.join(" OR ")),
        None => format!("{table}:{}", conds.join(" OR ")),
    }
}

/// The tables of a side, as `--tables` limits them.
fn wanted_tables(all: BTreeSet<String>, tables: &[String]) -> BTreeSet<String> {
    all.into_iter().filter(|t| tables.is_empty() || tables.contains(t)).collect()
}

/// Compares two live SQL stores: range checksums where possible, rows
/// otherwise, reporting every difference to `sink`. `live_a.wheres` (the
/// user's `--where TABLE:CONDITION`) limits both sides.
pub fn diff_live(
    a: &SourceSpec,
    b: &SourceSpec,
    live_a: &LiveOptions,
    live_b: &LiveOptions,
    config: &EngineConfig,
    range: &RangeConfig,
    sink: &mut dyn Sink,
) -> anyhow::Result<DiffStats> {
    plan_live(a, b, live_a, live_b, config, range)?.compare(a, b, live_a, live_b, config, sink)
}

/// The first half of [`diff_live`], done in the databases: which tables the
/// range checksums cover, their row counts and the key ranges that differ,
/// and which tables must be compared row by row. No row has been fetched
/// yet; [`LivePlan::compare`] fetches what differs.
#[derive(Debug)]
pub struct LivePlan {
    url_a: ConnUrl,
    url_b: ConnUrl,
    filters: BTreeMap<String, String>,
    tables_a: BTreeSet<String>,
    tables_b: BTreeSet<String>,
    ranged: BTreeMap<String, (RangeResult, String)>,
    row_tables: BTreeSet<String>,
}

/// Plans the comparison of two live SQL stores: every table both sides have
/// that the range checksums can cover is checksummed in both databases, at
/// the same time (see the module's documentation for what is covered).
pub fn plan_live(
    a: &SourceSpec,
    b: &SourceSpec,
    live_a: &LiveOptions,
    live_b: &LiveOptions,
    config: &EngineConfig,
    range: &RangeConfig,
) -> anyhow::Result<LivePlan> {
    let (SourceSpec::Url(ua), SourceSpec::Url(ub)) = (a, b) else { bail!("range checksums need two live SQL stores") };
    let url_a = ConnUrl::resolve(Some(ua), live_a.password_file.as_deref(), Role::Source, false)?;
    let url_b = ConnUrl::resolve(Some(ub), live_b.password_file.as_deref(), Role::Source, false)?;
    let filters = parse_wheres(&live_a.wheres)?;
    let canon = &config.compare.canon;
    let plain_options = canon.time_precision.is_none()
        && !canon.null_equals_empty
        && config.compare.float_tolerance.is_none()
        && config.compare.keys.per_table.is_empty()
        && config.compare.keys.default.is_none();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let jobs = range.jobs.clamp(1, 64) as u32;

    // Plan in the databases, both at the same time.
    let (tables_a, tables_b, ranged, row_tables) = rt.block_on(async {
        let (l, r) = tokio::try_join!(Db::connect(&url_a, jobs), Db::connect(&url_b, jobs))?;
        let planned = plan(&l, &r, (a, b), live_a, &filters, plain_options, range).await;
        tokio::join!(l.close(), r.close());
        planned
    })?;
    Ok(LivePlan { url_a, url_b, filters, tables_a, tables_b, ranged, row_tables })
}

impl LivePlan {
    /// The tables the range checksums covered, each with its row counts in
    /// A and B (under the user's `--where`).
    pub fn ranged(&self) -> impl Iterator<Item = (&str, u64, u64)> + '_ {
        self.ranged.iter().map(|(t, (res, _))| (t.as_str(), res.left, res.right))
    }

    /// The tables to compare row by row: not covered by the range checksums
    /// (a column type, the key, a table on one side only, a normalisation
    /// flag).
    pub fn row_tables(&self) -> &BTreeSet<String> {
        &self.row_tables
    }

    /// Replaces the tables [`LivePlan::compare`] reads whole: a caller that
    /// has compared the others in its own way (e.g. by content digests)
    /// leaves only those that still need a keyed comparison.
    pub fn set_row_tables(&mut self, tables: BTreeSet<String>) {
        self.row_tables = tables.into_iter().filter(|t| !self.ranged.contains_key(t)).collect();
    }

    /// Fetches, through the exporters, the rows of the differing key ranges
    /// and of the row-by-row tables, and compares them record by record.
    /// Every covered table gets its counts; its rows outside the differing
    /// ranges count as equal.
    pub fn compare(
        self,
        a: &SourceSpec,
        b: &SourceSpec,
        live_a: &LiveOptions,
        live_b: &LiveOptions,
        config: &EngineConfig,
        sink: &mut dyn Sink,
    ) -> anyhow::Result<DiffStats> {
        let LivePlan { url_a, url_b, filters, tables_a, tables_b, ranged, row_tables } = self;
        // Fetch what differs (or could not be checked in place) through the exporters.
        let mut fetch = LiveFetch::default();
        for t in &row_tables {
            fetch.add(t, None);
        }
        for (t, (res, pk)) in &ranged {
            if !res.leaves.is_empty() {
                fetch.add(t, Some((pk.as_str(), res.leaves.as_slice())));
            }
        }
        let mut stats = if fetch.tables.is_empty() {
            DiffStats::default()
        } else {
            let fetch = std::sync::Arc::new(fetch);
            let filters = std::sync::Arc::new(filters);
            let side = |spec: &SourceSpec, live: &LiveOptions, url: &ConnUrl, have: BTreeSet<String>| {
                let (spec, live, store) = (spec.clone(), live.clone(), url.store());
                let (fetch, filters) = (fetch.clone(), filters.clone());
                move || {
                    let tables: Vec<String> = fetch.tables.iter().filter(|t| have.contains(*t)).cloned().collect();
                    if tables.is_empty() {
                        return Ok(Source::empty(spec.display_name()));
                    }
                    let mut wheres: Vec<String> = fetch
                        .wheres
                        .iter()
                        .filter(|(t, _, _)| have.contains(t))
                        .map(|(t, pk, leaves)| where_clause(store, t, pk, leaves, filters.get(t).map(String::as_str)))
                        .collect();
                    // Tables fetched whole keep the user's condition.
                    for t in &tables {
                        if let Some(f) = filters.get(t) {
                            if !fetch.wheres.iter().any(|(w, _, _)| w == t) {
                                wheres.push(format!("{t}:{f}"));
                            }
                        }
                    }
                    let opts = LiveOptions { tables, wheres, ..live };
                    Source::open(&spec, &opts)
                }
            };
            // B's exporter starts only once A has been read.
            let left = EntryReader::lazy(a.display_name(), side(a, live_a, &url_a, tables_a), &config.compare, true);
            let right = EntryReader::lazy(b.display_name(), side(b, live_b, &url_b, tables_b), &config.compare, false);
            engine::diff(left, right, config, sink)?
        };

        // Ranges found equal in place count as equal rows.
        for (t, (res, _)) in ranged {
            let g = stats.groups.entry(GroupKey::Table(t)).or_insert_with(GroupStats::default);
            g.left = res.left;
            g.right = res.right;
            g.equal = res.left.saturating_sub(g.removed + g.changed);
        }
        Ok(stats)
    }
}

/// What the planning found: each side's tables, the tables compared by
/// ranges (with their key column), and those to compare row by row.
type Plan = (BTreeSet<String>, BTreeSet<String>, BTreeMap<String, (RangeResult, String)>, BTreeSet<String>);

async fn plan(
    l: &Db,
    r: &Db,
    (a, b): (&SourceSpec, &SourceSpec),
    live: &LiveOptions,
    filters: &BTreeMap<String, String>,
    plain_options: bool,
    range: &RangeConfig,
) -> anyhow::Result<Plan> {
    let (ta, tb) = tokio::try_join!(l.tables(), r.tables())?;
    let (ta, tb) = (wanted_tables(ta, &live.tables), wanted_tables(tb, &live.tables));
    for t in &live.tables {
        if !ta.contains(t) && !tb.contains(t) {
            bail!("table {t:?} is in neither {a} nor {b}");
        }
    }
    for t in filters.keys() {
        if !ta.contains(t) && !tb.contains(t) {
            bail!("--where names table {t:?}, which is not compared (in neither {a} nor {b}, or left out by --tables)");
        }
    }
    let mut ranged: BTreeMap<String, (RangeResult, String)> = BTreeMap::new();
    let mut row_tables = BTreeSet::new();
    for t in ta.intersection(&tb) {
        let (mut ia, mut ib) = tokio::try_join!(l.table_info(t), r.table_info(t))?;
        if range.keys_only {
            for info in [&mut ia, &mut ib] {
                let pk = info.primary_key.clone();
                info.columns.retain(|name, _| pk.contains(name));
            }
        }
        let ok = plain_options
            && ia.pk_integer
            && ia.primary_key == ib.primary_key
            && ia.kinds() == ib.kinds()
            && !ia.columns.values().any(|c| c.kind == Kind::Other);
        if !ok {
            if range.verbose {
                decant_record::cli::warn(format_args!(
                    "table {t}: compared row by row (range checksums need the same columns on both sides, a single integer primary key, no normalisation flag, and column types both databases render identically)"
                ));
            }
            row_tables.insert(t.clone());
            continue;
        }
        let filter = filters.get(t).map(String::as_str);
        match compare_table(l, r, t, (&ia, &ib), filter, range).await {
            Ok(res) => {
                if range.verbose {
                    decant_record::cli::warn(format_args!(
                        "table {t}: range checksums in both databases: {} rows in A, {} in B, {} range(s) differ",
                        res.left,
                        res.right,
                        res.leaves.len()
                    ));
                }
                ranged.insert(t.clone(), (res, ia.primary_key[0].clone()));
            }
            Err(e) if filter.is_some() => {
                return Err(e.context(format!("table {t}: the range checksum query with --where failed; is the condition valid SQL on both sides?")));
            }
            Err(e) => {
                decant_record::cli::warn(format_args!("table {t}: range checksums failed ({e:#}); comparing its rows"));
                row_tables.insert(t.clone());
            }
        }
    }
    for t in ta.symmetric_difference(&tb) {
        row_tables.insert(t.clone());
    }
    Ok((ta, tb, ranged, row_tables))
}

/// A table, its key column and the key ranges to fetch.
type Ranges = (String, String, Vec<(i64, i64)>);

#[derive(Debug, Default)]
struct LiveFetch {
    tables: Vec<String>,
    wheres: Vec<Ranges>,
}

impl LiveFetch {
    fn add(&mut self, table: &str, ranges: Option<(&str, &[(i64, i64)])>) {
        self.tables.push(table.to_owned());
        if let Some((pk, leaves)) = ranges {
            self.wheres.push((table.to_owned(), pk.to_owned(), leaves.to_vec()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_clauses_merge_adjacent_ranges_within_the_users_condition() {
        assert_eq!(
            where_clause(Store::MySql, "t", "id", &[(1, 5), (5, 9), (20, 21)], None),
            "t:(`id` >= 1 AND `id` < 9) OR (`id` >= 20 AND `id` < 21)"
        );
        assert_eq!(where_clause(Store::Postgres, "t", "id", &[(0, 2)], None), "t:(\"id\" >= 0 AND \"id\" < 2)");
        assert_eq!(
            where_clause(Store::Postgres, "t", "id", &[(0, 2), (4, 6)], Some("x > 1 OR y")),
            "t:(x > 1 OR y) AND ((\"id\" >= 0 AND \"id\" < 2) OR (\"id\" >= 4 AND \"id\" < 6))"
        );
    }

    #[test]
    fn wheres_parse_once_per_table() {
        let w = parse_wheres(&["t:a > 1".to_owned(), "u: b = 'x:y'".to_owned()]).unwrap();
        assert_eq!(w["t"], "a > 1");
        assert_eq!(w["u"], "b = 'x:y'");
        assert!(parse_wheres(&["nocolon".to_owned()]).is_err());
        assert!(parse_wheres(&["t:a".to_owned(), "t:b".to_owned()]).is_err());
    }

    #[test]
    fn first_tasks_cover_the_key_space_once() {
        let range = RangeConfig::default();
        for (lo, hi) in [(1, 1_000_001), (0, 3), (-50, 70_000), (i64::MIN, i64::MAX)] {
            let tasks = first_tasks(lo, hi, &range);
            assert!(!tasks.is_empty() && tasks.len() as u128 <= MAX_CHUNKS);
            assert_eq!(tasks[0].lo, lo);
            assert_eq!(tasks.last().unwrap().hi, hi);
            assert!(tasks.windows(2).all(|w| w[0].hi == w[1].lo));
            assert!(tasks.iter().all(|t| t.top && t.step == t.hi - t.lo));
        }
        assert_eq!(first_tasks(1, 1_000_001, &range).len(), 32);
    }

    #[test]
    fn kinds() {
        assert_eq!(mysql_kind("tinyint", "tinyint(1)"), Kind::Bool);
        assert_eq!(mysql_kind("tinyint", "tinyint(4)"), Kind::Int);
        assert_eq!(mysql_kind("double", "double"), Kind::Other);
        assert_eq!(pg_kind("timestamp without time zone"), Kind::DateTime);
        assert_eq!(pg_kind("jsonb"), Kind::Other);
    }
}
