//! Field-by-field comparison of two records with the same identity, run
//! only when their canonical hashes differ: it names the changed columns or
//! hash fields, and applies `--float-tolerance`, which a hash cannot.

use std::collections::{BTreeSet, HashMap};

use anyhow::Context as _;
use decant_record::digest::{canonical_value, module_payload, round_to_multiple, CanonType, CanonicalOptions};
use decant_record::{Record, RedisRecord, RedisValue, Value};

use crate::entry::CompareOptions;

/// Decodes an entry's lines into one record (a split Redis key's parts are
/// joined into one value).
pub fn decode_lines(lines: &[u8]) -> anyhow::Result<Record> {
    let mut merged: Option<Record> = None;
    for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let r = Record::decode(line).context("decoding a stored record")?;
        merged = Some(match (merged, r) {
            (None, r) => r,
            (Some(Record::Redis(mut a)), Record::Redis(b)) => {
                a.append_part(b).map_err(anyhow::Error::msg).context("joining a split key's parts")?;
                Record::Redis(a)
            }
            (Some(a), _) => a,
        });
    }
    let mut rec = merged.context("an empty entry")?;
    if let Record::Redis(r) = &mut rec {
        r.part = None;
        r.last = false;
    }
    Ok(rec)
}

type Types = HashMap<String, CanonType>;

fn canon(v: &Value, ty: Option<CanonType>, opts: &CanonicalOptions) -> Vec<u8> {
    let mut out = Vec::new();
    canonical_value(v, ty, opts, &mut out);
    out
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// True when two floats are equal within the relative tolerance
/// `|a − b| ≤ tol × max(1, |a|, |b|)`.
pub fn within(a: f64, b: f64, tol: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    (a - b).abs() <= tol * 1f64.max(a.abs()).max(b.abs())
}

fn values_equal(a: &Value, at: Option<CanonType>, b: &Value, bt: Option<CanonType>, opts: &CompareOptions) -> bool {
    if canon(a, at, &opts.canon) == canon(b, bt, &opts.canon) {
        return true;
    }
    if let (Some(tol), Some(x), Some(y)) = (opts.float_tolerance, as_number(a), as_number(b)) {
        return within(x, y, tol);
    }
    if let (Value::Array(x), Value::Array(y)) = (a, b) {
        return x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, None, q, None, opts));
    }
    false
}

/// The columns / fields that differ, empty when the records are equal under
/// the options (e.g. within the float tolerance).
pub fn changed_fields(
    left: &Record,
    right: &Record,
    left_types: Option<&Types>,
    right_types: Option<&Types>,
    opts: &CompareOptions,
) -> Vec<String> {
    match (left, right) {
        (Record::Row(a), Record::Row(b)) => {
            let names: BTreeSet<&str> = a.data.iter().chain(b.data.iter()).map(|(k, _)| k).collect();
            let mut out = Vec::new();
            for name in names {
                let at = left_types.and_then(|t| t.get(name).copied());
                let bt = right_types.and_then(|t| t.get(name).copied());
                // --null-equals-empty: a missing column is NULL (an item
                // without the attribute vs a row with the column NULL or "").
                let missing = opts.canon.null_equals_empty.then_some(&Value::Null);
                let same = match (a.data.get(name).or(missing), b.data.get(name).or(missing)) {
                    (Some(x), Some(y)) => values_equal(x, at.or(bt), y, bt.or(at), opts),
                    _ => false,
                };
                if !same {
                    out.push(name.to_owned());
                }
            }
            out
        }
        (Record::Redis(a), Record::Redis(b)) => redis_fields(a, b, opts),
        (Record::RedisFunction(a), Record::RedisFunction(b)) => {
            let mut out = Vec::new();
            if a.engine != b.engine {
                out.push("engine".to_owned());
            }
            if a.code != b.code {
                out.push("code".to_owned());
            }
            out
        }
        _ => vec!["kind".to_owned()],
    }
}

fn expiry(r: &RedisRecord, c: &CanonicalOptions) -> Option<i64> {
    if c.ignore_expiry {
        return None;
    }
    r.expire_at_ms.map(|ms| match c.expiry_precision_ms.filter(|p| *p > 1) {
        Some(p) => round_to_multiple(ms, p),
        None => ms,
    })
}

fn redis_fields(a: &RedisRecord, b: &RedisRecord, opts: &CompareOptions) -> Vec<String> {
    let mut out = Vec::new();
    if a.value.redis_type() != b.value.redis_type() {
        out.push("type".to_owned());
        out.push("value".to_owned());
    }
    if expiry(a, &opts.canon) != expiry(b, &opts.canon) {
        out.push("expire_at_ms".to_owned());
    }
    if !out.iter().any(|f| f == "value") {
        let value_same = match (&a.value, &b.value) {
            (RedisValue::Hash(x), RedisValue::Hash(y)) => {
                let xm: HashMap<&[u8], &[u8]> = x.iter().map(|(f, v)| (f.as_slice(), v.as_slice())).collect();
                let ym: HashMap<&[u8], &[u8]> = y.iter().map(|(f, v)| (f.as_slice(), v.as_slice())).collect();
                let mut fields: BTreeSet<&[u8]> = xm.keys().copied().collect();
                fields.extend(ym.keys().copied());
                for f in fields {
                    if xm.get(f) != ym.get(f) {
                        out.push(decant_record::Bytes(f.to_vec()).to_string());
                    }
                }
                true
            }
            (RedisValue::Set(x), RedisValue::Set(y)) => {
                let mut x = x.clone();
                let mut y = y.clone();
                x.sort_unstable();
                y.sort_unstable();
                x == y
            }
            (RedisValue::ZSet(x), RedisValue::ZSet(y)) => {
                let mut x = x.clone();
                let mut y = y.clone();
                x.sort_by(|p, q| p.0.cmp(&q.0));
                y.sort_by(|p, q| p.0.cmp(&q.0));
                let tol = opts.float_tolerance.unwrap_or(0.0);
                x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| p.0 == q.0 && within(p.1, q.1, tol))
            }
            // A module value is its payload (the trailer's RDB version and
            // CRC aside, as in the digest): the name alone would call any
            // two values of one module equal.
            (RedisValue::Module(x), RedisValue::Module(y)) => {
                x == y
                    && module_payload(a.dump.as_deref().unwrap_or_default())
                        == module_payload(b.dump.as_deref().unwrap_or_default())
            }
            (x, y) => x == y,
        };
        if !value_same {
            out.push("value".to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use decant_record::{Row, RowData};

    fn row(cols: Vec<(&str, Value)>) -> Record {
        Record::Row(Row {
            table: "t".into(),
            data: RowData(cols.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
        })
    }

    #[test]
    fn names_changed_columns_and_applies_tolerance() {
        let a = row(vec![("id", Value::Int(1)), ("x", Value::Float(1.0000001)), ("s", Value::String("a".into()))]);
        let b = row(vec![("id", Value::Int(1)), ("x", Value::Float(1.0)), ("s", Value::String("b".into()))]);
        let strict = CompareOptions::default();
        assert_eq!(changed_fields(&a, &b, None, None, &strict), ["s", "x"]);
        let loose = CompareOptions { float_tolerance: Some(1e-6), ..Default::default() };
        assert_eq!(changed_fields(&a, &b, None, None, &loose), ["s"]);
        let c = row(vec![("id", Value::Int(1))]);
        assert_eq!(changed_fields(&a, &c, None, None, &strict), ["s", "x"]);
    }

    #[test]
    fn module_values_compare_by_payload_without_its_trailer() {
        let module = |payload: &[u8], trailer: &[u8]| {
            let mut r = RedisRecord::new(0, b"doc".to_vec(), RedisValue::Module("ReJSON-RL".into()));
            r.dump = Some([payload, trailer].concat());
            Record::Redis(r)
        };
        let opts = CompareOptions::default();
        let (v10, v11) = (b"\x0a\x00crc64-01", b"\x0b\x00crc64-02");
        assert!(changed_fields(&module(b"value-a", v10), &module(b"value-a", v11), None, None, &opts).is_empty());
        assert_eq!(changed_fields(&module(b"value-a", v10), &module(b"value-b", v10), None, None, &opts), ["value"]);
    }
}
