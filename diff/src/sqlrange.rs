//! Two live SQL tables compared by checksums of primary-key ranges computed
//! inside each database (the data-diff / pt-table-checksum approach), so two
//! equal tables compare without moving their rows.
//!
//! For each table present on both sides with the same columns, a
//! single-column integer primary key and column types that both engines can
//! render identically, each database computes, per range of the key, the row
//! count and the sum of a 60-bit hash (the first 15 hex digits of MD5) of a
//! canonical text of every row. Ranges whose counts or sums differ are split
//! again (`FANOUT` ways) until they hold at most `--leaf-rows` rows; only
//! those rows are then fetched — through the exporters, with `--where` —
//! and compared record by record like any other input, so the differences
//! reported (and the patch) are exactly what a full comparison would give.
//!
//! The canonical row text, identical in MySQL/MariaDB and PostgreSQL:
//! columns in name order, joined by `|`, each `N` for NULL or
//! `<byte length>:<text>`, where the text is: integers in decimal; booleans
//! (and TINYINT(1)) `1`/`0`; decimals without trailing fraction zeros; text
//! as UTF-8; dates `YYYY-MM-DD`; date-times and timestamps (UTC sessions)
//! `YYYY-MM-DD HH:MM:SS.ffffff`; bytes as lowercase hex. Any other type
//! (floats, JSON, time, intervals, arrays, …), a column whose kind differs
//! between the sides, a non-integer or composite key, SQLite, or a
//! normalisation flag sends the table to the row-by-row path instead:
//! correctness first, never a false difference from a rendering detail.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context as _};
use decant_checksum::source::{LiveOptions, Source, SourceSpec};
use decant_record::conn::{ConnUrl, Role, Store};
use decant_record::digest::GroupKey;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions as _, Row as _};

use crate::engine::{self, DiffStats, EngineConfig, GroupStats, Sink};
use crate::entry::EntryReader;

/// Range-checksum settings.
#[derive(Debug, Clone)]
pub struct RangeConfig {
    /// Fetch rows once a range holds at most this many.
    pub leaf_rows: u64,
    /// Sub-ranges per differing range.
    pub fanout: i64,
    /// Say on stderr how each table was compared.
    pub verbose: bool,
}

impl Default for RangeConfig {
    fn default() -> Self {
        RangeConfig { leaf_rows: 1000, fanout: 32, verbose: false }
    }
}

/// True when both sides are live MySQL/MariaDB or PostgreSQL stores.
pub fn applies(a: &SourceSpec, b: &SourceSpec) -> bool {
    let sql = |s: &SourceSpec| match s {
        SourceSpec::Url(u) => ConnUrl::parse(u).is_ok_and(|c| matches!(c.store(), Store::MySql | Store::Postgres)),
        _ => false,
    };
    sql(a) && sql(b)
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

#[derive(Debug, Clone)]
struct TableInfo {
    columns: BTreeMap<String, Kind>,
    primary_key: Vec<String>,
    pk_integer: bool,
}

enum Db {
    My(MySqlConnection),
    Pg(PgConnection),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::My(_) => "Db::My",
            Db::Pg(_) => "Db::Pg",
        })
    }
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

fn pg_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

impl Db {
    async fn connect(url: &ConnUrl) -> anyhow::Result<Db> {
        let mut u = url.url().clone();
        match url.store() {
            Store::MySql => {
                if u.scheme() != "mysql" {
                    let _ = u.set_scheme("mysql");
                }
                let opts = MySqlConnectOptions::from_url(&u)
                    .with_context(|| format!("bad URL {url}"))?
                    .charset("utf8mb4")
                    .disable_statement_logging();
                let mut c = opts.connect().await.with_context(|| format!("connecting to {url}"))?;
                sqlx::raw_sql("SET SESSION time_zone = '+00:00', sql_mode = '', character_set_results = 'utf8mb4'")
                    .execute(&mut c)
                    .await
                    .context("setting up the session")?;
                Ok(Db::My(c))
            }
            Store::Postgres => {
                if u.scheme() != "postgres" {
                    let _ = u.set_scheme("postgres");
                }
                let opts = PgConnectOptions::from_url(&u)
                    .with_context(|| format!("bad URL {url}"))?
                    .disable_statement_logging();
                let mut c = opts.connect().await.with_context(|| format!("connecting to {url}"))?;
                sqlx::raw_sql("SET TimeZone = 'UTC'; SET client_encoding = 'UTF8'; SET statement_timeout = 0")
                    .execute(&mut c)
                    .await
                    .context("setting up the session")?;
                Ok(Db::Pg(c))
            }
            _ => bail!("{url}: range checksums need MySQL/MariaDB or PostgreSQL"),
        }
    }

    /// Runs a query whose every column is text (or NULL).
    async fn texts(&mut self, sql: &str) -> anyhow::Result<Vec<Vec<Option<String>>>> {
        let rows = match self {
            Db::My(c) => sqlx::raw_sql(sql)
                .fetch_all(&mut *c)
                .await?
                .iter()
                .map(|r| (0..r.len()).map(|i| r.try_get::<Option<String>, _>(i)).collect::<Result<Vec<_>, _>>())
                .collect::<Result<Vec<_>, _>>()?,
            Db::Pg(c) => sqlx::raw_sql(sql)
                .fetch_all(&mut *c)
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

    async fn tables(&mut self) -> anyhow::Result<BTreeSet<String>> {
        let sql = match self {
            Db::My(_) => "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
            Db::Pg(_) => "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        };
        Ok(self.texts(sql).await?.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect())
    }

    async fn table_info(&mut self, table: &str) -> anyhow::Result<TableInfo> {
        let t = lit(table);
        let (cols_sql, pk_sql) = match self {
            Db::My(_) => (
                format!("SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR), CAST(column_type AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = {t} ORDER BY ordinal_position"),
                format!("SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND table_name = {t} AND constraint_name = 'PRIMARY' ORDER BY ordinal_position"),
            ),
            Db::Pg(_) => (
                format!("SELECT column_name::text, data_type::text, udt_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = {t} ORDER BY ordinal_position"),
                format!("SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident({t}))::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)"),
            ),
        };
        let mut columns = BTreeMap::new();
        for r in self.texts(&cols_sql).await? {
            let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            let kind = match self {
                Db::My(_) => mysql_kind(&get(1).to_ascii_lowercase(), &get(2).to_ascii_lowercase()),
                Db::Pg(_) => pg_kind(&get(1)),
            };
            columns.insert(get(0), kind);
        }
        let primary_key: Vec<String> =
            self.texts(&pk_sql).await?.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect();
        let pk_integer = primary_key.len() == 1 && columns.get(&primary_key[0]) == Some(&Kind::Int);
        Ok(TableInfo { columns, primary_key, pk_integer })
    }

    /// The canonical text of one column value (not NULL).
    fn render(&self, col: &str, kind: Kind) -> String {
        let c = self.ident(col);
        match (self, kind) {
            (Db::My(_), Kind::Int) => format!("CAST({c} AS CHAR)"),
            (Db::Pg(_), Kind::Int) => format!("{c}::text"),
            (Db::My(_), Kind::Bool) => format!("IF({c} <> 0, '1', '0')"),
            (Db::Pg(_), Kind::Bool) => format!("CASE WHEN {c} THEN '1' ELSE '0' END"),
            (Db::My(_), Kind::Decimal) => format!(
                "IF(LOCATE('.', CAST({c} AS CHAR)) > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({c} AS CHAR))), CAST({c} AS CHAR))"
            ),
            (Db::Pg(_), Kind::Decimal) => {
                format!("CASE WHEN position('.' in {c}::text) > 0 THEN rtrim(rtrim({c}::text, '0'), '.') ELSE {c}::text END")
            }
            (Db::My(_), Kind::Text) => format!("CONVERT({c} USING utf8mb4)"),
            (Db::Pg(_), Kind::Text) => format!("{c}::text"),
            (Db::My(_), Kind::Date) => format!("DATE_FORMAT({c}, '%Y-%m-%d')"),
            (Db::Pg(_), Kind::Date) => format!("to_char({c}, 'YYYY-MM-DD')"),
            (Db::My(_), Kind::DateTime | Kind::TimestampTz) => format!("DATE_FORMAT({c}, '%Y-%m-%d %H:%i:%s.%f')"),
            (Db::Pg(_), Kind::DateTime | Kind::TimestampTz) => format!("to_char({c}, 'YYYY-MM-DD HH24:MI:SS.US')"),
            (Db::My(_), Kind::Bytes) => format!("LOWER(HEX({c}))"),
            (Db::Pg(_), Kind::Bytes) => format!("encode({c}, 'hex')"),
            (_, Kind::Other) => "NULL".to_owned(),
        }
    }

    /// The 60-bit hash of a row's canonical text.
    fn row_hash(&self, columns: &BTreeMap<String, Kind>) -> String {
        let parts: Vec<String> = columns
            .iter()
            .map(|(name, kind)| {
                let c = self.ident(name);
                let e = self.render(name, *kind);
                match self {
                    Db::My(_) => format!("IF({c} IS NULL, 'N', CONCAT(LENGTH({e}), ':', {e}))"),
                    Db::Pg(_) => {
                        format!("CASE WHEN {c} IS NULL THEN 'N' ELSE octet_length({e})::text || ':' || {e} END")
                    }
                }
            })
            .collect();
        match self {
            Db::My(_) => {
                format!("CAST(CONV(SUBSTRING(MD5(CONCAT_WS('|', {})), 1, 15), 16, 10) AS UNSIGNED)", parts.join(", "))
            }
            Db::Pg(_) => format!("('x' || substr(md5(concat_ws('|', {})), 1, 15))::bit(60)::bigint", parts.join(", ")),
        }
    }

    async fn bounds(&mut self, table: &str, pk: &str) -> anyhow::Result<Option<(i64, i64)>> {
        let (t, k) = (self.ident(table), self.ident(pk));
        let sql = match self {
            Db::My(_) => format!("SELECT CAST(MIN({k}) AS CHAR), CAST(MAX({k}) AS CHAR) FROM {t}"),
            Db::Pg(_) => format!("SELECT MIN({k})::text, MAX({k})::text FROM {t}"),
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

    /// Count and hash sum of each of the `n` sub-ranges of `[lo, hi)`, by index.
    async fn segments(
        &mut self,
        table: &str,
        pk: &str,
        hash: &str,
        lo: i64,
        hi: i64,
        step: i64,
    ) -> anyhow::Result<BTreeMap<i64, (u64, String)>> {
        let (t, k) = (self.ident(table), self.ident(pk));
        let sql = match self {
            Db::My(_) => format!(
                "SELECT CAST(({k} - {lo}) DIV {step} AS CHAR) AS s, CAST(COUNT(*) AS CHAR), CAST(SUM({hash}) AS CHAR) FROM {t} WHERE {k} >= {lo} AND {k} < {hi} GROUP BY ({k} - {lo}) DIV {step}"
            ),
            Db::Pg(_) => format!(
                "SELECT (({k}::bigint - ({lo})::bigint) / {step})::text, COUNT(*)::text, SUM({hash})::text FROM {t} WHERE {k} >= {lo} AND {k} < {hi} GROUP BY 1"
            ),
        };
        let mut out = BTreeMap::new();
        for r in self.texts(&sql).await? {
            let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            let seg: i64 = get(0).parse().context("segment number")?;
            out.insert(seg, (get(1).parse().context("row count")?, get(2)));
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

async fn compare_table(
    l: &mut Db,
    r: &mut Db,
    table: &str,
    info: &TableInfo,
    range: &RangeConfig,
) -> anyhow::Result<RangeResult> {
    let pk = &info.primary_key[0];
    let (lb, rb) = (l.bounds(table, pk).await?, r.bounds(table, pk).await?);
    let (lo, hi) = match (lb, rb) {
        (None, None) => return Ok(RangeResult::default()),
        (Some(a), None) | (None, Some(a)) => (a.0, a.1.saturating_add(1)),
        (Some(a), Some(b)) => (a.0.min(b.0), a.1.max(b.1).saturating_add(1)),
    };
    let (lh, rh) = (l.row_hash(&info.columns), r.row_hash(&info.columns));
    let mut result = RangeResult::default();
    let mut todo: Vec<(i64, i64, bool)> = vec![(lo, hi, true)];
    while let Some((lo, hi, top)) = todo.pop() {
        let width = (hi as i128 - lo as i128) as u128;
        let step = (width.div_ceil(range.fanout.max(2) as u128)).max(1) as i64;
        let (ls, rs) =
            (l.segments(table, pk, &lh, lo, hi, step).await?, r.segments(table, pk, &rh, lo, hi, step).await?);
        if top {
            result.left = ls.values().map(|v| v.0).sum();
            result.right = rs.values().map(|v| v.0).sum();
        }
        let segs: BTreeSet<i64> = ls.keys().chain(rs.keys()).copied().collect();
        for s in segs {
            let (a, b) = (ls.get(&s), rs.get(&s));
            if a == b {
                continue;
            }
            let seg_lo = lo.saturating_add(s.saturating_mul(step));
            let seg_hi = seg_lo.saturating_add(step).min(hi);
            let rows = a.map_or(0, |x| x.0).max(b.map_or(0, |x| x.0));
            if rows <= range.leaf_rows || step <= 1 {
                result.leaves.push((seg_lo, seg_hi));
            } else {
                todo.push((seg_lo, seg_hi, false));
            }
        }
    }
    result.leaves.sort_unstable();
    Ok(result)
}

fn where_clause(store: Store, table: &str, pk: &str, leaves: &[(i64, i64)]) -> String {
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
    format!("{table}:{}", conds.join(" OR "))
}

/// Compares two live SQL stores: range checksums where possible, rows
/// otherwise, reporting every difference to `sink`.
pub fn diff_live(
    a: &SourceSpec,
    b: &SourceSpec,
    live_a: &LiveOptions,
    live_b: &LiveOptions,
    config: &EngineConfig,
    range: &RangeConfig,
    sink: &mut dyn Sink,
) -> anyhow::Result<DiffStats> {
    let (SourceSpec::Url(ua), SourceSpec::Url(ub)) = (a, b) else { bail!("range checksums need two live SQL stores") };
    let url_a = ConnUrl::resolve(Some(ua), live_a.password_file.as_deref(), Role::Source, false)?;
    let url_b = ConnUrl::resolve(Some(ub), live_b.password_file.as_deref(), Role::Source, false)?;
    let canon = &config.compare.canon;
    let plain_options = canon.time_precision.is_none()
        && !canon.null_equals_empty
        && config.compare.float_tolerance.is_none()
        && config.compare.keys.per_table.is_empty()
        && config.compare.keys.default.is_none();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;

    // Plan in the databases.
    let (tables_a, tables_b, ranged, row_tables) = rt.block_on(async {
        let (la, lb) = tokio::join!(Db::connect(&url_a), Db::connect(&url_b));
        let (mut l, mut r) = (la?, lb?);
        let (ta, tb) = (l.tables().await?, r.tables().await?);
        let wanted = |t: &String| live_a.tables.is_empty() || live_a.tables.contains(t);
        let ta: BTreeSet<String> = ta.into_iter().filter(wanted).collect();
        let tb: BTreeSet<String> = tb.into_iter().filter(wanted).collect();
        for t in &live_a.tables {
            if !ta.contains(t) && !tb.contains(t) {
                bail!("table {t:?} is in neither {a} nor {b}");
            }
        }
        let mut ranged: BTreeMap<String, (RangeResult, String)> = BTreeMap::new();
        let mut row_tables = BTreeSet::new();
        for t in ta.intersection(&tb) {
            let (ia, ib) = (l.table_info(t).await?, r.table_info(t).await?);
            let ok = plain_options
                && ia.pk_integer
                && ia.primary_key == ib.primary_key
                && ia.columns == ib.columns
                && !ia.columns.values().any(|k| *k == Kind::Other);
            if !ok {
                if range.verbose {
                    decant_record::cli::warn(format_args!(
                        "table {t}: compared row by row (range checksums need the same columns on both sides, a single integer primary key, no normalisation flag, and column types both databases render identically)"
                    ));
                }
                row_tables.insert(t.clone());
                continue;
            }
            match compare_table(&mut l, &mut r, t, &ia, range).await {
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
                Err(e) => {
                    decant_record::cli::warn(format_args!("table {t}: range checksums failed ({e:#}); comparing its rows"));
                    row_tables.insert(t.clone());
                }
            }
        }
        for t in ta.symmetric_difference(&tb) {
            row_tables.insert(t.clone());
        }
        anyhow::Ok((ta, tb, ranged, row_tables))
    })?;
    drop(rt);

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
        let side = |spec: &SourceSpec, live: &LiveOptions, url: &ConnUrl, have: &BTreeSet<String>| {
            let tables: Vec<String> = fetch.tables.iter().filter(|t| have.contains(*t)).cloned().collect();
            if tables.is_empty() {
                return Ok(Source::empty(spec.display_name()));
            }
            let wheres = fetch
                .wheres
                .iter()
                .filter(|(t, _, _)| have.contains(t))
                .map(|(t, pk, leaves)| where_clause(url.store(), t, pk, leaves))
                .collect();
            let opts = LiveOptions { tables, wheres, ..live.clone() };
            Source::open(spec, &opts)
        };
        let left = EntryReader::new(side(a, live_a, &url_a, &tables_a)?, &config.compare, true);
        let right = EntryReader::new(side(b, live_b, &url_b, &tables_b)?, &config.compare, false);
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
    fn where_clauses_merge_adjacent_ranges() {
        assert_eq!(
            where_clause(Store::MySql, "t", "id", &[(1, 5), (5, 9), (20, 21)]),
            "t:(`id` >= 1 AND `id` < 9) OR (`id` >= 20 AND `id` < 21)"
        );
        assert_eq!(where_clause(Store::Postgres, "t", "id", &[(0, 2)]), "t:(\"id\" >= 0 AND \"id\" < 2)");
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
