//! `--schema`: compares the schema lines of two SQL sides — what a runbook's
//! "the new database has the same structure" step checks by hand.
//!
//! Compared per table: columns (name, logical type, nullability, length,
//! precision/scale, unsigned, enum values), the primary key, unique keys and
//! indexes (by their columns, not their names, which tools rename), foreign
//! keys (columns, referenced table and columns, actions), ON UPDATE clauses,
//! CHECK constraints, generated columns and special (FULLTEXT, GIN, partial,
//! …) indexes (by name, same dialect), and
//! charset/collation where
//! both sides declare one. `source_type` is not compared: a MySQL and a
//! PostgreSQL copy spell types differently by design.
//!
//! Across engines (the schema lines name different dialects) a column passes
//! when B's type holds every value of A's under decant's own mapping — what
//! `--create-tables` makes of it — rather than when the two are spelled the
//! same: an unsigned INT in a PostgreSQL `bigint` (uint32 → int64), an ENUM
//! as PostgreSQL text, TINYINT(1) ⇄ boolean, unsigned BIGINT in
//! `numeric(20,0)`, a UUID as CHAR(36), TIME as `interval`, a VARBINARY(n)
//! as `bytea`, a wider length or precision. A narrower type, a lost index,
//! foreign key, NOT NULL or ON UPDATE (where B's dialect has one) still
//! fails. Attributes one dialect cannot express (unsigned, enum values in a
//! type, a column collation on PostgreSQL) are not compared across engines;
//! the InnoDB index MySQL adds for a foreign key is not a difference.

use std::collections::{BTreeMap, BTreeSet};

use decant_record::{Column, ForeignKey, LogicalType, TableSchema};

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

/// The integer range a logical type holds, for the widening rule.
fn int_range(c: &Column) -> Option<(i128, i128)> {
    use LogicalType::*;
    Some(match c.ty {
        Bool => (0, 1),
        Int8 => (i8::MIN.into(), i8::MAX.into()),
        Int16 => (i16::MIN.into(), i16::MAX.into()),
        Int32 => (i32::MIN.into(), i32::MAX.into()),
        Int64 => (i64::MIN.into(), i64::MAX.into()),
        Uint8 => (0, u8::MAX.into()),
        Uint16 => (0, u16::MAX.into()),
        Uint32 => (0, u32::MAX.into()),
        Uint64 => (0, u64::MAX.into()),
        Year => (0, 2155),
        // A decimal with scale 0 holds whole numbers of `precision` digits.
        Decimal if c.scale.unwrap_or(0) == 0 => {
            let digits = c.precision.filter(|p| *p < 38)?;
            let max = 10i128.pow(digits) - 1;
            (if c.unsigned { 0 } else { -max }, max)
        }
        _ => return None,
    })
}

/// `b` is at least `a`, where `None` means "no limit" (or the store's default).
fn at_least(a: Option<u64>, b: Option<u64>) -> bool {
    match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(x), Some(y)) => y >= x,
    }
}

/// True when B's column holds every value of A's under decant's mapping
/// between engines (see the module docs). Nullability is compared apart.
pub fn holds_across_engines(a: &Column, b: &Column) -> bool {
    use LogicalType::*;
    let len = |c: &Column| c.max_len.filter(|_| c.ty != Text);
    match (a.ty, b.ty) {
        // TINYINT(1) ⇄ boolean.
        (Bool, Int8 | Int16) | (Int8 | Uint8 | Int16, Bool) => true,
        (Decimal, Decimal) => {
            let (ap, asc) = (a.precision.unwrap_or(65), a.scale.unwrap_or(0));
            match (b.precision, b.scale.unwrap_or(0)) {
                (None, _) => true,
                (Some(bp), bsc) => bsc >= asc && bp.saturating_sub(bsc) >= ap.saturating_sub(asc),
            }
        }
        (x, y) if x == y => match x {
            // A VARCHAR into a CHAR(n) would be padded; the other way is exact.
            String => (a.fixed || !b.fixed) && at_least(len(a), len(b)),
            Bytes => at_least(a.max_len, b.max_len),
            Datetime | Timestamp | Time => at_least(a.precision.map(u64::from), b.precision.map(u64::from)),
            Float32 | Float64 | Text | Json | Uuid | Date | Interval | Array => true,
            Enum | Set => a.values == b.values || a.values.is_none() || b.values.is_none(),
            Bit => at_least(a.len.map(u64::from), b.len.map(u64::from)),
            _ => int_range(a) == int_range(b),
        },
        (Float32, Float64) => true,
        // Integers into a wider integer or a whole-number decimal.
        _ if int_range(a).is_some() && int_range(b).is_some() && a.ty != Bool => {
            let ((alo, ahi), (blo, bhi)) = (int_range(a).unwrap_or_default(), int_range(b).unwrap_or_default());
            blo <= alo && ahi <= bhi
        }
        // ENUM / SET as text; text into a wider or unbounded text.
        (Enum | Set, String | Text) => true,
        (String | Text, String | Text) => at_least(len(a), len(b)),
        (Uuid, String) => b.max_len.is_none_or(|n| n >= 36),
        (String, Uuid) => a.max_len == Some(36),
        (Uuid, Text) | (Json, Text) | (Array, Json) | (Interval, String | Text) => true,
        // MySQL TIME is a duration: PostgreSQL interval holds it.
        (Time, Interval) => true,
        (Bytes, Bytes) => at_least(a.max_len, b.max_len),
        _ => false,
    }
}

fn same_fk(a: &ForeignKey, b: &ForeignKey) -> bool {
    // RESTRICT and NO ACTION (and no clause) behave alike for a copy.
    let action =
        |x: &Option<String>| x.as_deref().map(str::to_ascii_lowercase).filter(|v| v != "restrict" && v != "no action");
    a.columns == b.columns
        && a.ref_table.rsplit('.').next() == b.ref_table.rsplit('.').next()
        && a.ref_columns == b.ref_columns
        && action(&a.on_delete) == action(&b.on_delete)
        && action(&a.on_update) == action(&b.on_update)
}

fn fk_text(fk: &ForeignKey) -> String {
    format!("foreign key {:?} → {}{:?}", fk.columns, fk.ref_table, fk.ref_columns)
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
        // Across engines: decant's mapping is accepted (module docs).
        let across = match (a.dialect.as_deref(), b.dialect.as_deref()) {
            (Some(x), Some(y)) => x != y,
            _ => false,
        };
        let acols: BTreeMap<&str, &Column> = a.columns.iter().map(|c| (c.name.as_str(), c)).collect();
        let bcols: BTreeMap<&str, &Column> = b.columns.iter().map(|c| (c.name.as_str(), c)).collect();
        let cnames: BTreeSet<&str> = acols.keys().chain(bcols.keys()).copied().collect();
        for c in cnames {
            match (acols.get(c), bcols.get(c)) {
                (Some(x), Some(y)) => {
                    let (dx, dy) = (describe(x), describe(y));
                    let differs =
                        if across { !holds_across_engines(x, y) || x.nullable != y.nullable } else { dx != dy };
                    if differs {
                        out.push(format!("table {t}, column {c}: A {dx}, B {dy}"));
                    }
                    // ON UPDATE: compared where B's dialect can hold it.
                    let b_has_on_update = !across || b.dialect.as_deref() == Some("mysql");
                    if b_has_on_update && lower(&x.on_update) != lower(&y.on_update) {
                        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
                        out.push(format!(
                            "table {t}, column {c}: ON UPDATE A {}, B {}",
                            show(&x.on_update),
                            show(&y.on_update)
                        ));
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
        // The index InnoDB adds for a foreign key that has none.
        let implicit_fk_index = |s: &TableSchema, cols: &[String], unique: bool| {
            across
                && !unique
                && s.dialect.as_deref() == Some("mysql")
                && s.foreign_keys.iter().any(|f| f.columns == cols)
        };
        for (cols, unique) in ia.difference(&ib) {
            if !implicit_fk_index(a, cols, *unique) {
                out.push(format!("table {t}: {} on {cols:?} only in A", if *unique { "unique key" } else { "index" }));
            }
        }
        for (cols, unique) in ib.difference(&ia) {
            if !implicit_fk_index(b, cols, *unique) {
                out.push(format!("table {t}: {} on {cols:?} only in B", if *unique { "unique key" } else { "index" }));
            }
        }
        for fk in &a.foreign_keys {
            if !b.foreign_keys.iter().any(|g| same_fk(fk, g)) {
                out.push(format!("table {t}: {} only in A", fk_text(fk)));
            }
        }
        for fk in &b.foreign_keys {
            if !a.foreign_keys.iter().any(|g| same_fk(fk, g)) {
                out.push(format!("table {t}: {} only in B", fk_text(fk)));
            }
        }
        if !across {
            let names = |s: &TableSchema| -> BTreeSet<String> { s.checks.iter().map(|c| c.name.clone()).collect() };
            let (ca, cb) = (names(a), names(b));
            for n in ca.difference(&cb) {
                out.push(format!("table {t}: CHECK constraint {n:?} only in A"));
            }
            for n in cb.difference(&ca) {
                out.push(format!("table {t}: CHECK constraint {n:?} only in B"));
            }
            let generated = |s: &TableSchema| -> BTreeSet<(String, bool)> {
                s.generated.iter().map(|g| (g.name.clone(), g.stored)).collect()
            };
            let (ga, gb) = (generated(a), generated(b));
            for (n, _) in ga.difference(&gb) {
                out.push(format!("table {t}: generated column {n:?} only in A (or stored differently)"));
            }
            for (n, _) in gb.difference(&ga) {
                out.push(format!("table {t}: generated column {n:?} only in B (or stored differently)"));
            }
            let special = |s: &TableSchema| -> BTreeSet<(String, String)> {
                s.special_indexes.iter().map(|i| (i.kind.clone(), i.name.clone())).collect()
            };
            let (sa, sb) = (special(a), special(b));
            for (kind, n) in sa.difference(&sb) {
                out.push(format!("table {t}: {kind} {n:?} only in A"));
            }
            for (kind, n) in sb.difference(&sa) {
                out.push(format!("table {t}: {kind} {n:?} only in B"));
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use decant_record::Index;

    fn col(ty: LogicalType, f: impl FnOnce(&mut Column)) -> Column {
        let mut c = Column::new("c", ty);
        f(&mut c);
        c
    }

    #[test]
    fn decant_mapping_holds_across_engines() {
        use LogicalType::*;
        let holds = |a: Column, b: Column| holds_across_engines(&a, &b);
        assert!(holds(col(Uint32, |_| {}), col(Int64, |_| {})));
        assert!(!holds(col(Uint32, |_| {}), col(Int32, |_| {})), "a narrower integer");
        assert!(holds(col(Uint8, |_| {}), col(Int16, |_| {})));
        assert!(holds(col(Int8, |_| {}), col(Int16, |_| {})));
        assert!(holds(col(Uint64, |_| {}), col(Decimal, |c| c.precision = Some(20))));
        assert!(!holds(col(Uint64, |_| {}), col(Int64, |_| {})));
        assert!(holds(col(Bool, |_| {}), col(Int8, |_| {})));
        assert!(holds(col(Int8, |_| {}), col(Bool, |_| {})));
        assert!(holds(col(Enum, |c| c.values = Some(vec!["a".into()])), col(Text, |_| {})));
        assert!(holds(col(String, |c| c.max_len = Some(40)), col(Text, |_| {})));
        assert!(!holds(col(String, |c| c.max_len = Some(40)), col(String, |c| c.max_len = Some(20))));
        assert!(holds(col(Time, |_| {}), col(Interval, |_| {})));
        assert!(holds(col(Year, |_| {}), col(Int16, |_| {})));
        assert!(holds(col(Bytes, |c| c.max_len = Some(16)), col(Bytes, |_| {})));
        assert!(holds(col(Uuid, |_| {}), col(String, |c| c.max_len = Some(36))));
        assert!(!holds(col(Datetime, |_| {}), col(Date, |_| {})));
        assert!(!holds(col(Text, |_| {}), col(Int64, |_| {})));
        assert!(!holds(col(Float64, |_| {}), col(Float32, |_| {})));
        let dec = |p, s| col(Decimal, move |c| (c.precision, c.scale) = (Some(p), Some(s)));
        assert!(holds(dec(10, 2), dec(12, 2)));
        assert!(!holds(dec(10, 2), dec(10, 1)));
    }

    #[test]
    fn lost_keys_nullability_and_on_update_fail_across_engines() {
        let mut a = TableSchema::new("t", vec![col(LogicalType::Uint32, |c| c.nullable = false)]);
        a.dialect = Some("mysql".into());
        a.columns[0].name = "id".into();
        let mut ts = col(LogicalType::Timestamp, |c| c.on_update = Some("current_timestamp".into()));
        ts.name = "at".into();
        a.columns.push(ts);
        a.indexes.push(Index { name: "by_at".into(), columns: vec!["at".into()], unique: false });
        a.foreign_keys.push(ForeignKey {
            name: "fk".into(),
            columns: vec!["id".into()],
            ref_table: "u".into(),
            ref_columns: vec!["id".into()],
            on_delete: None,
            on_update: None,
        });
        // What pg-import makes of it: bigint, no ON UPDATE (PostgreSQL has none).
        let mut b = a.clone();
        b.dialect = Some("postgres".into());
        b.columns[0].ty = LogicalType::Int64;
        b.columns[1].on_update = None;
        assert_eq!(compare(&[a.clone()], &[b.clone()], &[]), Vec::<std::string::String>::new());
        // A PostgreSQL → MySQL copy without the FK's own index: InnoDB adds one.
        let mut with_fk_index = b.clone();
        with_fk_index.dialect = Some("mysql".into());
        with_fk_index.indexes.push(Index { name: "fk".into(), columns: vec!["id".into()], unique: false });
        assert!(compare(&[b.clone()], &[with_fk_index], &[]).is_empty());
        // Lost: NOT NULL, the index, the foreign key.
        let mut lost = b.clone();
        lost.columns[0].nullable = true;
        lost.indexes.clear();
        lost.foreign_keys.clear();
        let diffs = compare(&[a.clone()], &[lost], &[]).join("\n");
        assert!(diffs.contains("column id: A uint32 not null, B int64 null"), "{diffs}");
        assert!(diffs.contains("index on [\"at\"] only in A"), "{diffs}");
        assert!(diffs.contains("foreign key [\"id\"] → u[\"id\"] only in A"), "{diffs}");
        // MySQL → MySQL: a lost ON UPDATE fails.
        let mut same = a.clone();
        same.columns[1].on_update = None;
        let diffs = compare(&[a], &[same], &[]).join("\n");
        assert!(diffs.contains("column at: ON UPDATE A current_timestamp, B none"), "{diffs}");
    }
}
