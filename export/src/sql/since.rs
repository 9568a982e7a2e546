//! `--since COLUMN --state FILE`: read only the rows changed since the last
//! successful run, for catch-up syncs and frequent validation jobs.
//!
//! The state file holds, per table, the watermark: the largest value of
//! COLUMN among the rows the last successful run read (JSON, as the stream
//! writes it). A run reads the rows whose COLUMN is at or past the
//! watermark minus `--since-overlap` (date-time columns; default 5 minutes),
//! and on success stores the largest value it read (a table that read no
//! row keeps its watermark). A table without COLUMN is read whole, with a
//! warning; a first run (no state file, or a table not in it) reads
//! everything.
//!
//! Why the watermark is taken from the rows read and not from a clock at
//! the start: an `updated_at` is set by the application or by the server at
//! statement time, not at commit, so a transaction in flight when the read
//! began commits rows stamped before the read's start (and before the
//! largest value seen) that this run could not see. No clock choice fixes
//! that; the overlap does: the next run reads again the last
//! `--since-overlap` of changes, so any transaction shorter than the
//! overlap (and any clock skew between application servers smaller than
//! it) is caught, at the cost of re-reading a few rows, which an upsert or
//! a comparison takes twice without harm. Taking the value from the rows
//! also ties the watermark to the column's own clock, whoever sets it.
//! For an integer COLUMN (a monotonic id) there is no overlap: ids handed
//! out by transactions that commit later than a larger id are missed, so
//! prefer an update timestamp for tables written concurrently.
//!
//! The state is replaced (write to a temporary file, rename) only when the
//! whole export succeeded and its stream was sealed, so a failed run (target
//! down, interrupted) reads the same changes again next time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use decant_record::conn::Store;
use decant_record::{LogicalType, TableSchema};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The state file's format name.
const FORMAT: &str = "decant-since/1";

/// The state file: the watermark column and each table's watermark.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SinceState {
    /// Always `decant-since/1`.
    pub format: String,
    /// The `--since` column the watermarks are values of.
    pub column: String,
    /// Per table: the largest value of the column read by the last
    /// successful run.
    pub tables: BTreeMap<String, Json>,
}

impl SinceState {
    /// Reads a state file; a missing file is an empty state (a first run).
    pub fn load(path: &Path, column: &str) -> anyhow::Result<SinceState> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SinceState { format: FORMAT.into(), column: column.into(), tables: BTreeMap::new() })
            }
            Err(e) => return Err(e).with_context(|| format!("reading the --state file {}", path.display())),
        };
        let state: SinceState = serde_json::from_str(&text)
            .with_context(|| format!("the --state file {} is not a decant --since state", path.display()))?;
        if state.format != FORMAT {
            bail!("the --state file {} has format {:?}, expected {FORMAT}", path.display(), state.format);
        }
        if state.column != column {
            bail!(
                "the --state file {} holds watermarks of column {:?}, not {column:?}: use another state file per column",
                path.display(),
                state.column
            );
        }
        Ok(state)
    }

    /// Writes the state: to a temporary file beside it, then renamed.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "state".into());
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing the --state file {}", path.display()))
    }

    /// Keeps, per table, the larger watermark of the two.
    pub fn raise(&mut self, table: &str, value: Json) {
        match self.tables.get(table) {
            Some(old) if !later(&value, old) => {}
            _ => {
                self.tables.insert(table.to_owned(), value);
            }
        }
    }
}

/// `--since` as the exporter uses it.
#[derive(Debug, Clone)]
pub struct Since {
    /// The column.
    pub column: String,
    /// The watermarks read at the start.
    pub state: SinceState,
    /// Where the new state goes on success.
    pub out: PathBuf,
    /// Re-read this much before a date-time watermark.
    pub overlap: Duration,
}

impl Since {
    /// The condition on `schema`'s rows in `store`'s dialect, `None` when
    /// the table is read whole (no watermark yet, or no such column: the
    /// latter with a warning).
    pub fn condition(&self, schema: &TableSchema, store: Store) -> Option<String> {
        let Some(col) = schema.column(&self.column) else {
            decant_record::cli::warn(format_args!(
                "--since {}: table {:?} has no such column: it is read whole",
                self.column, schema.table
            ));
            return None;
        };
        let mark = self.state.tables.get(&schema.table)?;
        let q = match store {
            Store::MySql => format!("`{}`", col.name.replace('`', "``")),
            _ => format!("\"{}\"", col.name.replace('"', "\"\"")),
        };
        let literal = match (mark, &col.ty) {
            (Json::Number(n), _) => n.to_string(),
            (Json::Object(o), _) if o.get("$int").and_then(Json::as_str).is_some_and(is_integer_text) => {
                o["$int"].as_str().unwrap_or_default().to_owned()
            }
            (Json::String(s), LogicalType::Datetime | LogicalType::Timestamp | LogicalType::Date) => {
                let zoned = matches!(col.ty, LogicalType::Timestamp);
                match back_off(s, self.overlap, store, zoned) {
                    Some(lit) => lit,
                    None => {
                        decant_record::cli::warn(format_args!(
                            "--since {}: table {:?}: the watermark {s:?} is not a date-time: the table is read whole",
                            self.column, schema.table
                        ));
                        return None;
                    }
                }
            }
            (Json::String(s), _) => format!("'{}'", s.replace('\'', "''")),
            _ => {
                decant_record::cli::warn(format_args!(
                    "--since {}: table {:?}: the watermark {mark} cannot be compared: the table is read whole",
                    self.column, schema.table
                ));
                return None;
            }
        };
        Some(format!("{q} >= {literal}"))
    }
}

fn is_integer_text(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// True when `a` comes after `b` (same column, so same kind of value).
pub fn later(a: &Json, b: &Json) -> bool {
    fn int(v: &Json) -> Option<i128> {
        match v {
            Json::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
            Json::Object(o) => o.get("$int")?.as_str()?.parse().ok(),
            _ => None,
        }
    }
    if let (Some(x), Some(y)) = (int(a), int(b)) {
        return x > y;
    }
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64().unwrap_or(f64::NAN) > y.as_f64().unwrap_or(f64::NAN),
        // ISO date-times of one column have one width: text order is time order.
        (Json::String(x), Json::String(y)) => x > y,
        (_, Json::Null) => !a.is_null(),
        _ => false,
    }
}

/// `text` (an ISO date or date-time as the stream writes it) minus
/// `overlap`, as a literal for `store`; `None` when it is not one.
fn back_off(text: &str, overlap: Duration, store: Store, zoned: bool) -> Option<String> {
    let t = text.trim_end_matches('Z');
    let (date, time) = t.split_once('T').unwrap_or((t, "00:00:00"));
    let mut d = date.splitn(3, '-');
    let (y, m, day): (i64, u32, u32) = (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut h = hms.splitn(3, ':');
    let (hh, mm, ss): (i64, i64, i64) = (h.next()?.parse().ok()?, h.next()?.parse().ok()?, h.next()?.parse().ok()?);
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let days = decant_record::time::checked_days_from_civil(y, m, day)?;
    let secs = days * 86400 + hh * 3600 + mm * 60 + ss - overlap.as_secs() as i64;
    let nanos_over = overlap.subsec_nanos() as i64;
    let frac_nanos: i64 = format!("{frac:0<9}").parse().ok()?;
    let mut total_nanos = frac_nanos - nanos_over;
    let mut secs = secs;
    if total_nanos < 0 {
        total_nanos += 1_000_000_000;
        secs -= 1;
    }
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = decant_record::time::civil_from_days(days);
    let body = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        total_nanos / 1000
    );
    Some(match store {
        // Sessions run in UTC on both servers (see mysql.rs, postgres.rs).
        Store::Postgres if zoned => format!("'{body}+00'"),
        _ => format!("'{body}'"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_back_off_by_the_overlap() {
        let five = Duration::from_secs(300);
        assert_eq!(
            back_off("2026-01-01T00:02:00.5", five, Store::MySql, false).unwrap(),
            "'2025-12-31 23:57:00.500000'"
        );
        assert_eq!(
            back_off("2026-03-01T10:00:00Z", Duration::ZERO, Store::Postgres, true).unwrap(),
            "'2026-03-01 10:00:00.000000+00'"
        );
        assert_eq!(back_off("2026-03-01", five, Store::Sqlite, false).unwrap(), "'2026-02-28 23:55:00.000000'");
        assert!(back_off("soon", five, Store::MySql, false).is_none());
    }

    #[test]
    fn later_compares_like_the_column() {
        assert!(later(&Json::from(10), &Json::from(9)));
        assert!(!later(&Json::from(9), &Json::from(10)));
        assert!(later(&serde_json::json!({"$int":"18446744073709551615"}), &Json::from(5)));
        assert!(later(&Json::from("2026-01-02T00:00:00"), &Json::from("2026-01-01T23:59:59")));
    }
}
