//! `--sample N`: spot checks by key. N random records of A (a reservoir
//! sample taken during A's pass) are looked up in B by their key. When B is
//! a live store, exactly those records are fetched from it — on SQL a
//! `WHERE key IN (…)` per table, on Redis the keys themselves — so the spot
//! check reads B through its key index, the way an application does, and
//! does not depend on B's full pass. A file B is looked up during its pass.

use std::collections::{BTreeMap, BTreeSet};

use decant_check::compare::decode_lines;
use decant_check::entry::{key_columns, KeyColumns, SideInfo};
use decant_check::source::{LiveOptions, SourceSpec};
use decant_record::conn::ConnUrl;
use decant_record::digest::GroupKey;
use decant_record::store::{KeyLookup, SqlDialect};
use decant_record::{Record, Value};

/// A sampled record of A and what B holds under its key.
#[derive(Debug)]
pub struct SampleItem {
    /// Its identity (table and key, or Redis key).
    pub ident: Vec<u8>,
    /// Its group.
    pub group: GroupKey,
    /// blake3 of A's canonical form.
    pub content: [u8; 32],
    /// A's lines.
    pub lines: Vec<u8>,
    /// B's canonical hash and lines, once found.
    pub right: Option<([u8; 32], Vec<u8>)>,
}

/// How B's exporter is limited to the sampled keys, or `None` when that
/// cannot be said (B is not live, a table without key columns, a key value
/// with no SQL literal, a Redis key that is not UTF-8): B's pass then looks
/// the sample up instead.
pub fn point_query(
    b: &SourceSpec,
    live_b: &LiveOptions,
    sample: &[SampleItem],
    keys: &KeyColumns,
    left_info: &SideInfo,
) -> Option<LiveOptions> {
    let SourceSpec::Url(url) = b else { return None };
    let store = ConnUrl::parse(url).ok()?.store();
    if sample.is_empty() {
        return None;
    }
    // The registry says how the store finds records by key.
    let dialect = match store.capabilities().key_lookup {
        KeyLookup::KeyGlob => None,
        KeyLookup::SqlWhere => Some(store.sql()?),
        KeyLookup::None => return None,
    };
    let Some(dialect) = dialect else {
        let mut matches = Vec::with_capacity(sample.len());
        for item in sample {
            let Ok(Record::Redis(r)) = decode_lines(&item.lines) else { return None };
            matches.push(glob_escape(std::str::from_utf8(&r.key).ok()?));
        }
        matches.sort_unstable();
        matches.dedup();
        return Some(LiveOptions { matches, wheres: Vec::new(), ..live_b.clone() });
    };
    // Per table: its key columns and the literal tuples of the sampled keys.
    let mut tables: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for item in sample {
        let Ok(Record::Row(row)) = decode_lines(&item.lines) else { return None };
        let cols = key_columns(keys, left_info, &row.table)?;
        let mut tuple = Vec::with_capacity(cols.len());
        for c in &cols {
            tuple.push(literal(dialect, row.data.get(c)?)?);
        }
        let entry = tables.entry(row.table.clone()).or_insert_with(|| (cols.clone(), Vec::new()));
        if entry.0 != cols {
            return None;
        }
        entry.1.push(if tuple.len() == 1 { tuple.remove(0) } else { format!("({})", tuple.join(", ")) });
    }
    let user: BTreeMap<&str, &str> = live_b.wheres.iter().filter_map(|w| w.split_once(':')).collect();
    let mut wheres = Vec::with_capacity(tables.len());
    for (table, (cols, mut tuples)) in tables {
        tuples.sort_unstable();
        tuples.dedup();
        let quoted: Vec<String> = cols.iter().map(|c| ident(dialect, c)).collect();
        let lhs = if quoted.len() == 1 { quoted[0].clone() } else { format!("({})", quoted.join(", ")) };
        let cond = format!("{lhs} IN ({})", tuples.join(", "));
        wheres.push(match user.get(table.as_str()) {
            Some(u) => format!("{table}:({}) AND ({cond})", u.trim()),
            None => format!("{table}:{cond}"),
        });
    }
    let tables = wheres.iter().filter_map(|w| w.split_once(':')).map(|(t, _)| t.to_owned()).collect();
    Some(LiveOptions { tables, wheres, ..live_b.clone() })
}

/// A point query limited to the tables B has (`None` when it has none of
/// them: nothing to fetch). Redis point queries are left as they are.
pub fn restrict_to_tables(point: &LiveOptions, have: &BTreeSet<String>) -> Option<LiveOptions> {
    if point.tables.is_empty() {
        return Some(point.clone());
    }
    let tables: Vec<String> = point.tables.iter().filter(|t| have.contains(*t)).cloned().collect();
    if tables.is_empty() {
        return None;
    }
    let wheres =
        point.wheres.iter().filter(|w| w.split_once(':').is_some_and(|(t, _)| have.contains(t))).cloned().collect();
    Some(LiveOptions { tables, wheres, ..point.clone() })
}

/// A Redis glob that matches exactly `key`.
fn glob_escape(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    for c in key.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn ident(dialect: SqlDialect, name: &str) -> String {
    match dialect {
        SqlDialect::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// An SQL literal of a key value in B's dialect, `None` for a value that is
/// not a key (arrays, objects, NULL).
fn literal(dialect: SqlDialect, v: &Value) -> Option<String> {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Some(match (dialect, v) {
        (_, Value::Int(i)) => i.to_string(),
        (_, Value::Bool(b)) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        (_, Value::Float(f)) if f.is_finite() => format!("{f:?}"),
        // Hex with an introducer: no escaping rules (backslashes, NUL) to get wrong.
        (SqlDialect::MySql, Value::String(s) | Value::ZeroDate(s)) => format!("_utf8mb4 X'{}'", hex(s.as_bytes())),
        (SqlDialect::MySql | SqlDialect::Sqlite, Value::Bytes(b)) => format!("X'{}'", hex(b)),
        // The exporter's session has standard_conforming_strings on; an
        // untyped literal takes the column's type (uuid, date, numeric …).
        (_, Value::String(s)) if !s.contains('\0') => format!("'{}'", s.replace('\'', "''")),
        (_, Value::Bytes(b)) => format!("'\\x{}'", hex(b)),
        (SqlDialect::Sqlite, Value::ZeroDate(s)) => format!("'{}'", s.replace('\'', "''")),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_per_dialect() {
        assert_eq!(literal(SqlDialect::MySql, &Value::Int(-7)).unwrap(), "-7");
        assert_eq!(literal(SqlDialect::MySql, &Value::String("a'\\".into())).unwrap(), "_utf8mb4 X'61275c'");
        assert_eq!(literal(SqlDialect::Postgres, &Value::String("it's".into())).unwrap(), "'it''s'");
        assert_eq!(literal(SqlDialect::Postgres, &Value::Bytes(vec![0, 255])).unwrap(), "'\\x00ff'");
        assert!(literal(SqlDialect::Postgres, &Value::Null).is_none());
        assert_eq!(glob_escape("a*b[1]\\?"), "a\\*b\\[1\\]\\\\\\?");
    }
}
