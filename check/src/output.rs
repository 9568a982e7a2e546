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
