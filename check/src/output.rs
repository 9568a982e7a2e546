//! What `decant-diff` writes: `diff` lines, or a patch stream, and the
//! summary table on stderr.

use std::collections::HashSet;
use std::io::Write;

use decant_record::digest::GroupKey;
use decant_record::{Delete, Diff, DiffOp, Header, Record, RecordWriter};

use crate::compare::decode_lines;
use crate::engine::{DiffStats, Found, Sink};
use crate::entry::{key_columns, target_of, KeyColumns, SideInfo};

/// Decodes an entry's lines and names its target (row id or key).
pub fn target(
    lines: &[u8],
    info: &SideInfo,
    other: &SideInfo,
    keys: &KeyColumns,
) -> anyhow::Result<(Record, decant_record::Target)> {
    let record = decode_lines(lines)?;
    let cols = match &record {
        Record::Row(r) => key_columns(keys, info, &r.table).or_else(|| key_columns(keys, other, &r.table)),
        _ => None,
    };
    let t = target_of(&record, cols.as_deref()).ok_or_else(|| anyhow::anyhow!("not a row or key"))?;
    Ok((record, t))
}

/// Writes `diff` lines (docs/format.md §1), read like diff(1) from A to B.
#[derive(Debug)]
pub struct DiffLines<W: Write> {
    out: RecordWriter<W>,
    keys: KeyColumns,
}

impl<W: Write> DiffLines<W> {
    /// A writer with a header naming A and B.
    pub fn new(out: W, keys: KeyColumns, a: &str, b: &str) -> anyhow::Result<Self> {
        let mut out = RecordWriter::new(out);
        out.write_header(&Header::new(&tool(), Some(format!("diff {a} {b}"))))?;
        Ok(DiffLines { out, keys })
    }

    /// A writer of bare diff lines: no header, and no trailer unless
    /// [`DiffLines::finish`] is called.
    pub fn bare(out: W, keys: KeyColumns) -> Self {
        DiffLines { out: RecordWriter::new(out), keys }
    }

    /// Flushes the lines written so far (no trailer).
    pub fn flush(&mut self) -> anyhow::Result<()> {
        Ok(self.out.flush()?)
    }

    /// Writes the trailer.
    pub fn finish(self) -> anyhow::Result<W> {
        Ok(self.out.finish()?)
    }
}

fn tool() -> String {
    format!("decant-diff {}", env!("CARGO_PKG_VERSION"))
}

impl<W: Write> Sink for DiffLines<W> {
    fn found(&mut self, f: Found<'_>, left_info: &SideInfo, right_info: &SideInfo) -> anyhow::Result<()> {
        let left = f.left.map(|l| target(l, left_info, right_info, &self.keys)).transpose()?;
        let right = f.right.map(|r| target(r, right_info, left_info, &self.keys)).transpose()?;
        let target = match (&left, &right) {
            (Some((_, t)), _) | (None, Some((_, t))) => t.clone(),
            (None, None) => return Ok(()),
        };
        let diff = Diff {
            op: f.op,
            target,
            left: left.map(|(r, _)| Box::new(r)),
            right: right.map(|(r, _)| Box::new(r)),
            fields: f.fields,
        };
        self.out.write(&Record::Diff(diff))?;
        Ok(())
    }
}

/// Writes the patch that makes B equal to A when fed to an importer with
/// `--mode upsert`: A's record for every row or key that is removed (only in
/// A) or changed, and a `delete` for every one that is added (only in B).
/// A's schema line goes before the first record of its table.
#[derive(Debug)]
pub struct Patch<W: Write> {
    out: RecordWriter<W>,
    keys: KeyColumns,
    schemas_written: HashSet<String>,
    /// Records written (upserts, deletes).
    pub upserts: u64,
    /// Deletes written.
    pub deletes: u64,
}

impl<W: Write> Patch<W> {
    /// A patch writer.
    pub fn new(out: W, keys: KeyColumns, a: &str, b: &str) -> anyhow::Result<Self> {
        let mut out = RecordWriter::new(out);
        out.write_header(&Header::new(&tool(), Some(format!("patch making {b} equal to {a}"))))?;
        Ok(Patch { out, keys, schemas_written: HashSet::new(), upserts: 0, deletes: 0 })
    }

    /// Writes the trailer.
    pub fn finish(self) -> anyhow::Result<W> {
        Ok(self.out.finish()?)
    }
}

impl<W: Write> Sink for Patch<W> {
    fn found(&mut self, f: Found<'_>, left_info: &SideInfo, right_info: &SideInfo) -> anyhow::Result<()> {
        match f.op {
            DiffOp::Removed | DiffOp::Changed => {
                let lines = f.left.unwrap_or_default();
                if let GroupKey::Table(t) = f.group {
                    if !self.schemas_written.contains(t) {
                        if let Some(s) = left_info.schema(t).or_else(|| right_info.schema(t)) {
                            self.out.write(&Record::Schema(s.clone()))?;
                        }
                        self.schemas_written.insert(t.clone());
                    }
                }
                for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    self.out.write_raw(line)?;
                }
                self.upserts += 1;
            }
            DiffOp::Added => {
                let (_, t) = target(f.right.unwrap_or_default(), right_info, left_info, &self.keys)?;
                self.out.write(&Record::Delete(Delete { target: t }))?;
                self.deletes += 1;
            }
        }
        Ok(())
    }
}

/// Counts only (decant-verify, `--brief`).
#[derive(Debug, Default)]
pub struct Discard;

impl Sink for Discard {
    fn found(&mut self, _: Found<'_>, _: &SideInfo, _: &SideInfo) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The summary table: one line per group and a total.
pub fn render_summary(stats: &DiffStats) -> String {
    use decant_record::cli::group_digits as n;
    let width = stats.groups.keys().map(|k| k.to_string().chars().count()).max().unwrap_or(5).max(5);
    let mut out = format!(
        "{:<width$}  {:>10}  {:>10}  {:>10}  {:>8}  {:>8}  {:>8}\n",
        "group", "A", "B", "equal", "added", "removed", "changed"
    );
    let mut line = |name: &str, g: &crate::engine::GroupStats| {
        out.push_str(&format!(
            "{name:<width$}  {:>10}  {:>10}  {:>10}  {:>8}  {:>8}  {:>8}\n",
            n(g.left),
            n(g.right),
            n(g.equal),
            n(g.added),
            n(g.removed),
            n(g.changed)
        ));
    };
    for (g, s) in &stats.groups {
        line(&g.to_string(), s);
    }
    line("total", &stats.total());
    out
}

/// How many added (or removed) records of one group the text view names
/// one by one before it only counts them.
const LISTED_PER_GROUP: u64 = 10;

/// The view for a person at a terminal: one line per changed column or
/// field (`users id=10  balance  85.88 → 86.88`), added and removed records
/// named (the first few of each group) and counted.
#[derive(Debug)]
pub struct TextView<W: Write> {
    out: W,
    keys: KeyColumns,
    /// (group, added, removed) counts, in the order groups were met.
    counts: Vec<(String, u64, u64)>,
}

impl<W: Write> TextView<W> {
    /// A text view writing to `out`.
    pub fn new(out: W, keys: KeyColumns) -> Self {
        TextView { out, keys, counts: Vec::new() }
    }

    /// Writes the added/removed counts of the groups that had more than
    /// were listed; returns the output.
    pub fn finish(mut self) -> anyhow::Result<W> {
        for (group, added, removed) in &self.counts {
            for (n, what) in [(*added, "added (only in B)"), (*removed, "removed (only in A)")] {
                if n > LISTED_PER_GROUP {
                    writeln!(self.out, "{group}  … {} more {what}, {n} in all", n - LISTED_PER_GROUP)?;
                }
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A `diff` line (as JSON) as a person reads it, the lines [`TextView`]
/// writes: `users id=10  balance  85.88 → 86.88` per changed field,
/// `users id=11  added (only in B)`, `users id=12  removed (only in A)`.
/// decant-verify's report shows its mismatch examples this way.
pub fn describe(diff: &serde_json::Value) -> Vec<String> {
    let name = label(diff);
    match diff.get("op").and_then(|o| o.as_str()) {
        Some("changed") => {
            let mut fields: Vec<&str> = diff
                .get("fields")
                .and_then(|f| f.as_array())
                .map(|f| f.iter().filter_map(|f| f.as_str()).collect())
                .unwrap_or_default();
            if fields.is_empty() {
                fields.push("value");
            }
            fields
                .into_iter()
                .map(|field| {
                    let a = short_value(diff.get("left").and_then(|l| field_value(l, field)));
                    let b = short_value(diff.get("right").and_then(|r| field_value(r, field)));
                    format!("{name}  {field}  {a} → {b}")
                })
                .collect()
        }
        Some("added") => vec![format!("{name}  added (only in B)")],
        Some("removed") => vec![format!("{name}  removed (only in A)")],
        _ => vec![diff.to_string()],
    }
}

/// `users id=10` for a row, `key "session:1"` (with its db when not 0) for a Redis key.
fn label(target: &serde_json::Value) -> String {
    if let Some(table) = target.get("table").and_then(|t| t.as_str()) {
        let id = match target.get("id") {
            Some(serde_json::Value::Object(m)) => {
                m.iter().map(|(k, v)| format!("{k}={}", short_value(Some(v)))).collect::<Vec<_>>().join(",")
            }
            Some(v) => short_value(Some(v)),
            None => String::new(),
        };
        return format!("{table} {id}");
    }
    let key = target.get("key").map_or_else(String::new, |k| k.to_string());
    match target.get("db").and_then(|d| d.as_u64()).filter(|d| *d != 0) {
        Some(db) => format!("db {db} key {key}"),
        None => format!("key {key}"),
    }
}

/// A value as a person reads it: strings without quotes, long ones cut.
fn short_value(v: Option<&serde_json::Value>) -> String {
    let text = match v {
        None => "(absent)".to_owned(),
        Some(serde_json::Value::Null) => "NULL".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let text = text.replace('\n', "\\n");
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

/// The value of `field` in a record's JSON: a row's column, a hash's field,
/// or a key's whole value.
fn field_value<'a>(record: &'a serde_json::Value, field: &str) -> Option<&'a serde_json::Value> {
    record
        .get("data")
        .and_then(|d| d.get(field))
        .or_else(|| record.get("value").and_then(|v| v.get(field)))
        .or_else(|| record.get(field))
        .or_else(|| record.get("value"))
}

impl<W: Write> Sink for TextView<W> {
    fn found(&mut self, f: Found<'_>, left_info: &SideInfo, right_info: &SideInfo) -> anyhow::Result<()> {
        let left = f.left.map(|l| target(l, left_info, right_info, &self.keys)).transpose()?;
        let right = f.right.map(|r| target(r, right_info, left_info, &self.keys)).transpose()?;
        let Some(t) = left.as_ref().or(right.as_ref()).map(|(_, t)| t) else { return Ok(()) };
        // The target's members as a diff line writes them ("table" and "id", or "db" and "key").
        let bare = Diff { op: f.op, target: t.clone(), left: None, right: None, fields: Vec::new() };
        let name = label(&serde_json::to_value(Record::Diff(bare))?);
        let group = name.split(' ').next().unwrap_or("").to_owned();
        let i = match self.counts.iter().position(|(g, _, _)| *g == group) {
            Some(i) => i,
            None => {
                self.counts.push((group, 0, 0));
                self.counts.len() - 1
            }
        };
        let json =
            |r: &Option<(Record, decant_record::Target)>| r.as_ref().map(|(r, _)| serde_json::to_value(r)).transpose();
        let (l, r) = (json(&left)?, json(&right)?);
        match f.op {
            DiffOp::Changed => {
                let fields = if f.fields.is_empty() { vec!["value".to_owned()] } else { f.fields.clone() };
                for field in fields {
                    let a = short_value(l.as_ref().and_then(|l| field_value(l, &field)));
                    let b = short_value(r.as_ref().and_then(|r| field_value(r, &field)));
                    writeln!(self.out, "{name}  {field}  {a} → {b}")?;
                }
            }
            DiffOp::Added => {
                self.counts[i].1 += 1;
                if self.counts[i].1 <= LISTED_PER_GROUP {
                    writeln!(self.out, "{name}  added (only in B)")?;
                }
            }
            DiffOp::Removed => {
                self.counts[i].2 += 1;
                if self.counts[i].2 <= LISTED_PER_GROUP {
                    writeln!(self.out, "{name}  removed (only in A)")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod describe_tests {
    use super::describe;
    use serde_json::json;

    #[test]
    fn a_changed_row_reads_field_by_field() {
        let d = json!({"kind": "diff", "op": "changed", "table": "accounts", "id": {"id": 10},
            "left": {"kind": "row", "table": "accounts", "data": {"id": 10, "balance": "85.88", "name": "a"}},
            "right": {"kind": "row", "table": "accounts", "data": {"id": 10, "balance": "86.88", "name": null}},
            "fields": ["balance", "name"]});
        assert_eq!(describe(&d), ["accounts id=10  balance  85.88 → 86.88", "accounts id=10  name  a → NULL"]);
    }

    #[test]
    fn added_removed_and_redis_keys_name_their_side() {
        let added = json!({"kind": "diff", "op": "added", "table": "t", "id": {"id": 1}});
        assert_eq!(describe(&added), ["t id=1  added (only in B)"]);
        let removed = json!({"kind": "diff", "op": "removed", "db": 2, "key": "session:1"});
        assert_eq!(describe(&removed), ["db 2 key \"session:1\"  removed (only in A)"]);
    }
}
