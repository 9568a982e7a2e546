//! `--schema`: compares the schema lines of two SQL sides — what a runbook's
//! "the new database has the same structure" step checks by hand.
//!
//! Compared per table: columns (name, logical type, nullability, length,
//! precision/scale, unsigned, enum values), the primary key, unique keys and
//! indexes (by their columns, not their names, which tools rename), and
//! charset/collation where both sides declare one. `source_type` is not
//! compared: a MySQL and a PostgreSQL copy spell types differently by design.

use std::collections::{BTreeMap, BTreeSet};

use decant_record::{Column, TableSchema};

fn describe(c: &Column) -> String {
    let mut s = serde_json::to_value(c.ty).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    if let Some(n) = c.max_len {
        s.push_str(&format!("({n})"));
    }
    if let (Some(p), Some(sc)) = (c.precision, c.scale) {
        s.push_str(&format!("({p},{sc})"));
    } else if let Some(p) = c.precision {
        s.push_str(&format!("(precision {p})"));
    }
    if c.fixed {
        s.push_str(" fixed");
    }
    if c.unsigned {
        s.push_str(" unsigned");
    }
    if let Some(v) = &c.values {
        s.push_str(&format!(" {v:?}"));
    }
    s.push_str(if c.nullable { " null" } else { " not null" });
    s
}

fn lower(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|x| x.to_ascii_lowercase())
}

/// The differences, one line each (empty when the schemas agree).
pub fn compare(left: &[TableSchema], right: &[TableSchema], only: &[String]) -> Vec<String> {
    let pick = |list: &[TableSchema]| -> BTreeMap<String, TableSchema> {
        list.iter()
            .filter(|s| only.is_empty() || only.contains(&s.table))
            .map(|s| (s.table.clone(), s.clone()))
            .collect()
    };
    let (l, r) = (pick(left), pick(right));
    let mut out = Vec::new();
    if l.is_empty() && r.is_empty() {
        out.push("no schema lines on either side (--schema needs SQL sources or exports of them)".to_owned());
        return out;
    }
    let names: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
    for t in names {
        let (a, b) = match (l.get(t), r.get(t)) {
            (Some(a), Some(b)) => (a, b),
            (Some(_), None) => {
                out.push(format!("table {t}: only in A"));
                continue;
            }
            _ => {
                out.push(format!("table {t}: only in B"));
                continue;
            }
        };
        let acols: BTreeMap<&str, &Column> = a.columns.iter().map(|c| (c.name.as_str(), c)).collect();
        let bcols: BTreeMap<&str, &Column> = b.columns.iter().map(|c| (c.name.as_str(), c)).collect();
        let cnames: BTreeSet<&str> = acols.keys().chain(bcols.keys()).copied().collect();
        for c in cnames {
            match (acols.get(c), bcols.get(c)) {
                (Some(x), Some(y)) => {
                    let (dx, dy) = (describe(x), describe(y));
                    if dx != dy {
                        out.push(format!("table {t}, column {c}: A {dx}, B {dy}"));
                    }
                    if let (Some(p), Some(q)) = (lower(&x.charset), lower(&y.charset)) {
                        if p != q {
                            out.push(format!("table {t}, column {c}: charset A {p}, B {q}"));
                        }
                    }
                    if let (Some(p), Some(q)) = (lower(&x.collation), lower(&y.collation)) {
                        if p != q {
                            out.push(format!("table {t}, column {c}: collation A {p}, B {q}"));
                        }
                    }
                }
                (Some(_), None) => out.push(format!("table {t}, column {c}: only in A")),
                _ => out.push(format!("table {t}, column {c}: only in B")),
            }
        }
        if a.primary_key != b.primary_key {
            out.push(format!("table {t}: primary key A {:?}, B {:?}", a.primary_key, b.primary_key));
        }
        let idx = |s: &TableSchema| -> BTreeSet<(Vec<String>, bool)> {
            s.indexes.iter().map(|i| (i.columns.clone(), i.unique)).collect()
        };
        let (ia, ib) = (idx(a), idx(b));
        for (cols, unique) in ia.difference(&ib) {
            out.push(format!("table {t}: {} on {cols:?} only in A", if *unique { "unique key" } else { "index" }));
        }
        for (cols, unique) in ib.difference(&ia) {
            out.push(format!("table {t}: {} on {cols:?} only in B", if *unique { "unique key" } else { "index" }));
        }
        if let (Some(p), Some(q)) = (lower(&a.charset), lower(&b.charset)) {
            if p != q {
                out.push(format!("table {t}: charset A {p}, B {q}"));
            }
        }
        if let (Some(p), Some(q)) = (lower(&a.collation), lower(&b.collation)) {
            if p != q {
                out.push(format!("table {t}: collation A {p}, B {q}"));
            }
        }
    }
    out
}
