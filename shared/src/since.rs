//! The `--since` state file: per table, the watermark (the largest value of
//! the `--since` column read by the last successful run), shared by the SQL
//! exporters, which read and raise it, and the checkers, which merge both
//! stores' watermarks:
//! `{"format":"decant-since/1","column":"updated_at","tables":{"orders":"2026-12-01T10:00:00.123456"}}`.
//! Values are written as the stream writes the column (numbers, `$int`,
//! ISO date-time strings).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The state file's format name.
pub const FORMAT: &str = "decant-since/1";

/// A state file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SinceError {
    /// Reading or writing failed.
    #[error("the --state file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a state file of this column.
    #[error("{0}")]
    Invalid(String),
}

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
    /// An empty state (a first run).
    pub fn new(column: &str) -> SinceState {
        SinceState { format: FORMAT.into(), column: column.into(), tables: BTreeMap::new() }
    }

    /// Reads a state file; a missing file is an empty state (a first run).
    pub fn load(path: &Path, column: &str) -> Result<SinceState, SinceError> {
        let io = |source| SinceError::Io { path: path.display().to_string(), source };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SinceState::new(column)),
            Err(e) => return Err(io(e)),
        };
        let state: SinceState = serde_json::from_str(&text).map_err(|e| {
            SinceError::Invalid(format!("the --state file {} is not a decant --since state: {e}", path.display()))
        })?;
        if state.format != FORMAT {
            return Err(SinceError::Invalid(format!(
                "the --state file {} has format {:?}, expected {FORMAT}",
                path.display(),
                state.format
            )));
        }
        if state.column != column {
            return Err(SinceError::Invalid(format!(
                "the --state file {} holds watermarks of column {:?}, not {column:?}: use one state file per column",
                path.display(),
                state.column
            )));
        }
        Ok(state)
    }

    /// Writes the state: to a temporary file beside it, then renamed, so a
    /// crash leaves the old state whole.
    pub fn save(&self, path: &Path) -> Result<(), SinceError> {
        let io = |source| SinceError::Io { path: path.display().to_string(), source };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        text.push('\n');
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "state".into());
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Keeps, per table, the later watermark of the two.
    pub fn raise(&mut self, table: &str, value: Json) {
        match self.tables.get(table) {
            Some(old) if !later(&value, old) => {}
            _ => {
                self.tables.insert(table.to_owned(), value);
            }
        }
    }

    /// Per table, the earlier of two stores' watermarks (a table only one
    /// side has a watermark for keeps it): what both stores are known to
    /// hold up to.
    pub fn earliest(a: &SinceState, b: &SinceState) -> SinceState {
        let mut out = SinceState::new(&a.column);
        for (table, va) in &a.tables {
            let v = match b.tables.get(table) {
                Some(vb) if later(va, vb) => vb,
                _ => va,
            };
            out.tables.insert(table.clone(), v.clone());
        }
        for (table, vb) in &b.tables {
            out.tables.entry(table.clone()).or_insert_with(|| vb.clone());
        }
        out
    }
}

/// True when `a` comes after `b` (values of one column, so of one kind).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_compares_like_the_column() {
        assert!(later(&Json::from(10), &Json::from(9)));
        assert!(!later(&Json::from(9), &Json::from(10)));
        assert!(later(&serde_json::json!({"$int":"18446744073709551615"}), &Json::from(5)));
        assert!(later(&Json::from("2026-01-02T00:00:00"), &Json::from("2026-01-01T23:59:59")));
    }

    #[test]
    fn earliest_takes_the_lagging_store() {
        let mut a = SinceState::new("u");
        let mut b = SinceState::new("u");
        a.raise("t", Json::from(10));
        b.raise("t", Json::from(7));
        a.raise("only_a", Json::from(3));
        let m = SinceState::earliest(&a, &b);
        assert_eq!(m.tables["t"], Json::from(7));
        assert_eq!(m.tables["only_a"], Json::from(3));
    }
}
