//! Reading chosen records of a live store by key: the exporter limited to
//! `WHERE key IN (…)` per table (SQL) or to the keys themselves (Redis), so
//! a checker fetches exactly the records it needs through the same code path
//! as a full read. Used by decant-verify's `--sample` and by `--settle`.

use std::collections::BTreeMap;

use crate::source::LiveOptions;
use decant_record::conn::Store;
use decant_record::store::{KeyLookup, SqlDialect};
use decant_record::{Record, Value};

use crate::entry::{key_columns, KeyColumns, SideInfo};

/// Keys per exporter run: one `--where` holds them all, and a command-line
/// argument must stay well under the kernel's 128 KiB limit.
pub const KEYS_PER_FETCH: usize = 2000;

/// How `store`'s exporter is limited to the keys of `records` (rows or Redis
/// keys, as decoded lines), or `None` when that cannot be said (a table
/// without key columns, a key value with no SQL literal, a Redis key that is
/// not UTF-8). `live` supplies the rest (password, user `--where`, which is
/// kept and ANDed).
pub fn options_for<'a>(
    store: Store,
    live: &LiveOptions,
    records: impl IntoIterator<Item = &'a Record>,
    keys: &KeyColumns,
    info: &SideInfo,
) -> Option<LiveOptions> {
    options_with(store, live, records, |table| key_columns(keys, info, table))
}

/// [`options_for`] with the key columns of each table from `key_columns`.
pub fn options_with<'a>(
    store: Store,
    live: &LiveOptions,
    records: impl IntoIterator<Item = &'a Record>,
    key_columns: impl Fn(&str) -> Option<Vec<String>>,
) -> Option<LiveOptions> {
    let records: Vec<&Record> = records.into_iter().collect();
    if records.is_empty() {
        return None;
    }
    // The registry says how the store finds records by key.
    let dialect = match store.capabilities().key_lookup {
        KeyLookup::KeyGlob => None,
        KeyLookup::SqlWhere => Some(store.sql()?),
        KeyLookup::None => return None,
    };
    let Some(dialect) = dialect else {
        let mut matches = Vec::with_capacity(records.len());
        for r in records {
            let Record::Redis(r) = r else { return None };
            matches.push(glob_escape(std::str::from_utf8(&r.key).ok()?));
        }
        matches.sort_unstable();
        matches.dedup();
        return Some(LiveOptions { matches, wheres: Vec::new(), since: None, ..live.clone() });
    };
    // Per table: its key columns and the literal tuples of the keys.
    let mut tables: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for r in records {
        let Record::Row(row) = r else { return None };
        let cols = key_columns(&row.table)?;
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
    let user: BTreeMap<&str, &str> = live.wheres.iter().filter_map(|w| w.split_once(':')).collect();
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
    // By key: every record asked for, whenever it last changed.
    Some(LiveOptions { tables, wheres, since: None, ..live.clone() })
}

/// A Redis glob that matches exactly `key`.
pub fn glob_escape(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    for c in key.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A quoted SQL identifier in `dialect`.
pub fn ident(dialect: SqlDialect, name: &str) -> String {
    match dialect {
        SqlDialect::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// An SQL literal of a key value in `dialect`, `None` for a value
/// that is not a key (arrays, objects, NULL).
pub fn literal(dialect: SqlDialect, v: &Value) -> Option<String> {
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
