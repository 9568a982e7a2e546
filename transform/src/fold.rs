//! Folding rows into keys (`fold = true`): the one stateful step of the
//! transform, run in stream order on the writing thread.
//!
//! A folding rule turns each row into a one-element key (a list element, a
//! set or zset member, a hash field, a stream entry); the [`Folder`] merges
//! consecutive ones with the same key into one key. Memory stays bounded:
//! rows of one key must arrive **contiguously** (as `mysql-export` writes
//! them when the table's primary key starts with the key's columns), one
//! key per rule is open at a time, and a key longer than [`CHUNK`] elements
//! is written in parts (`part`/`last`, as `redis-export` splits big keys), so
//! at most one chunk per rule is held. What is remembered beyond that is a
//! 64-bit fingerprint of every key already written, to catch a key whose
//! rows are not contiguous (it would otherwise be written twice, the second
//! time replacing the first): about 16 bytes per key.
//!
//! With `order_by`, the column's values must rise within a key (list
//! positions); stream entry ids must always rise (Redis requires it). A row
//! that breaks either rule is an error naming it; rows are never reordered.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use decant_record::{RedisRecord, RedisValue, Value};

use crate::rule::parse_entry_id;

/// Elements per written part of a folded key.
pub const CHUNK: usize = 10_000;

/// Where a folded row stands relative to the previous one of its key.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Order {
    Int(i128),
    Text(Vec<u8>),
    Entry(u64, u64),
}

fn order_of(v: &Value) -> Option<Order> {
    match v {
        Value::Int(i) => Some(Order::Int(*i)),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e30 => Some(Order::Int(*f as i128)),
        Value::String(s) => Some(s.parse::<i128>().map_or_else(|_| Order::Text(s.as_bytes().to_vec()), Order::Int)),
        Value::Bytes(b) => Some(Order::Text(b.clone())),
        _ => None,
    }
}

/// The key being folded for one rule.
#[derive(Debug)]
struct Open {
    db: u32,
    key: Vec<u8>,
    expire_at_ms: Option<i64>,
    value: RedisValue,
    /// Parts already written.
    parts: u32,
    last_order: Option<Order>,
}

/// Folds one-element keys of each folding rule, in stream order.
#[derive(Debug, Default)]
pub struct Folder {
    open: Vec<Option<Open>>,
    written: Vec<HashSet<u64, BuildHasherDefault<DefaultHasher>>>,
}

impl Folder {
    /// A folder for `rules` rules.
    pub fn new(rules: usize) -> Folder {
        Folder { open: (0..rules).map(|_| None).collect(), written: (0..rules).map(|_| HashSet::default()).collect() }
    }

    /// Adds rule `rule`'s one-element key `rec` (with the row's `order_by`
    /// value). Completed keys and parts go to `emit`; returns how many keys
    /// were completed, or why the row cannot be folded (nothing changed then).
    pub fn add(
        &mut self,
        rule: usize,
        rec: RedisRecord,
        order_by: Option<&Value>,
        emit: &mut dyn FnMut(RedisRecord) -> std::io::Result<()>,
    ) -> Result<Result<u64, String>, std::io::Error> {
        let order = match (&rec.value, order_by) {
            (RedisValue::Stream(s), _) => {
                s.entries.first().and_then(|e| parse_entry_id(&e.id)).map(|(ms, seq)| Order::Entry(ms, seq))
            }
            (_, Some(v)) => match order_of(v) {
                Some(o) => Some(o),
                None => return Ok(Err(format!("order_by value {} is neither a number nor text", v.to_json_string()))),
            },
            (_, None) => None,
        };
        let same = self.open[rule].as_ref().is_some_and(|o| o.db == rec.db && o.key == rec.key);
        let mut completed = 0;
        if same {
            let open = self.open[rule].as_mut().expect("checked above");
            if let (Some(prev), Some(now)) = (&open.last_order, &order) {
                if now <= prev {
                    return Ok(Err(format!(
                        "rows of key {} arrive out of order ({} after {}): export them sorted by the key's columns and the order_by column",
                        show_key(&rec.key),
                        show_order(now),
                        show_order(prev)
                    )));
                }
            }
            if open.value.len() >= CHUNK {
                let empty = empty_like(&open.value);
                let full = std::mem::replace(&mut open.value, empty);
                emit(RedisRecord {
                    db: open.db,
                    key: open.key.clone(),
                    expire_at_ms: open.expire_at_ms,
                    value: full,
                    part: Some(open.parts),
                    last: false,
                    dump: None,
                    field_expire_at_ms: Vec::new(),
                })?;
                open.parts += 1;
            }
            append(&mut open.value, rec.value);
            open.last_order = order;
        } else {
            let print = fingerprint(rec.db, &rec.key);
            if self.written[rule].contains(&print) {
                return Ok(Err(format!(
                    "rows of key {} are not contiguous: its key was already written; export the rows sorted by the key's columns",
                    show_key(&rec.key)
                )));
            }
            completed += self.close(rule, emit)?;
            self.written[rule].insert(print);
            self.open[rule] = Some(Open {
                db: rec.db,
                key: rec.key,
                expire_at_ms: rec.expire_at_ms,
                value: rec.value,
                parts: 0,
                last_order: order,
            });
        }
        Ok(Ok(completed))
    }

    /// Writes the open key of `rule`, if any; returns 1 if there was one.
    fn close(&mut self, rule: usize, emit: &mut dyn FnMut(RedisRecord) -> std::io::Result<()>) -> std::io::Result<u64> {
        let Some(open) = self.open[rule].take() else { return Ok(0) };
        let (part, last) = if open.parts == 0 { (None, false) } else { (Some(open.parts), true) };
        emit(RedisRecord {
            db: open.db,
            key: open.key,
            expire_at_ms: open.expire_at_ms,
            value: open.value,
            part,
            last,
            dump: None,
            field_expire_at_ms: Vec::new(),
        })?;
        Ok(1)
    }

    /// Writes every open key (at the end of the input); returns, per rule,
    /// the keys completed.
    pub fn finish(&mut self, emit: &mut dyn FnMut(RedisRecord) -> std::io::Result<()>) -> std::io::Result<Vec<u64>> {
        (0..self.open.len()).map(|r| self.close(r, emit)).collect()
    }
}

fn fingerprint(db: u32, key: &[u8]) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one((db, key))
}

fn show_key(key: &[u8]) -> String {
    crate::cast::show(crate::cast::Input::Bytes(key))
}

fn show_order(o: &Order) -> String {
    match o {
        Order::Int(i) => i.to_string(),
        Order::Text(t) => show_key(t),
        Order::Entry(ms, seq) => format!("entry {ms}-{seq}"),
    }
}

fn empty_like(v: &RedisValue) -> RedisValue {
    match v {
        RedisValue::String(_) => RedisValue::String(Vec::new()),
        RedisValue::Hash(_) => RedisValue::Hash(Vec::new()),
        RedisValue::List(_) => RedisValue::List(Vec::new()),
        RedisValue::Set(_) => RedisValue::Set(Vec::new()),
        RedisValue::ZSet(_) => RedisValue::ZSet(Vec::new()),
        RedisValue::Stream(_) => RedisValue::Stream(Default::default()),
        RedisValue::Module(name) => RedisValue::Module(name.clone()),
    }
}

fn append(to: &mut RedisValue, from: RedisValue) {
    match (to, from) {
        (RedisValue::Hash(a), RedisValue::Hash(b)) => a.extend(b),
        (RedisValue::List(a), RedisValue::List(b)) | (RedisValue::Set(a), RedisValue::Set(b)) => a.extend(b),
        (RedisValue::ZSet(a), RedisValue::ZSet(b)) => a.extend(b),
        (RedisValue::Stream(a), RedisValue::Stream(b)) => a.entries.extend(b.entries),
        // One rule writes one type: the types always agree.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elem(key: &str, v: &str) -> RedisRecord {
        RedisRecord::new(0, key.as_bytes().to_vec(), RedisValue::List(vec![v.as_bytes().to_vec()]))
    }

    #[test]
    fn folds_contiguous_rows_and_splits_big_keys() {
        let mut f = Folder::new(1);
        let mut out = Vec::new();
        let mut emit = |r: RedisRecord| {
            out.push(r);
            Ok(())
        };
        for i in 0..3 {
            assert_eq!(f.add(0, elem("a", &i.to_string()), Some(&Value::Int(i)), &mut emit).unwrap(), Ok(0));
        }
        for i in 0..(CHUNK as i128 + 5) {
            let done = f.add(0, elem("b", "x"), Some(&Value::Int(i)), &mut emit).unwrap().unwrap();
            assert_eq!(done, u64::from(i == 0));
        }
        let err = f.add(0, elem("b", "y"), Some(&Value::Int(3)), &mut emit).unwrap().unwrap_err();
        assert!(err.contains("out of order"), "{err}");
        let err = f.add(0, elem("a", "z"), None, &mut emit).unwrap().unwrap_err();
        assert!(err.contains("not contiguous"), "{err}");
        assert_eq!(f.finish(&mut emit).unwrap(), vec![1]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].value, RedisValue::List(vec![b"0".to_vec(), b"1".to_vec(), b"2".to_vec()]));
        assert_eq!((out[0].part, out[0].last), (None, false));
        assert_eq!((out[1].part, out[1].last, out[1].value.len()), (Some(0), false, CHUNK));
        assert_eq!((out[2].part, out[2].last, out[2].value.len()), (Some(1), true, 5));
    }
}
