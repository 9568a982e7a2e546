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

use std::path::PathBuf;
use std::time::Duration;

use decant_record::conn::Store;
use decant_record::{LogicalType, TableSchema};
use serde_json::Value as Json;

pub use decant_record::since::{later, SinceState};

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
}
