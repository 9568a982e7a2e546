//! Round trips of every value and record through the wire form, whole streams
//! through the writer and reader, and the properties of the content digest.

mod common;

use common::*;
use decant_record::digest::{CanonicalOptions, ContentDigest, Digester, GroupKey};
use decant_record::{Header, Record, RecordWriter, RedisValue, Row, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Runs a property on a thread with a big stack: the nested strategies and
/// values are deep, and unoptimised test builds use large frames.
fn check<S, F>(cases: u32, strategy: F, test: impl Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static)
where
    S: Strategy,
    F: FnOnce() -> S + Send + 'static,
{
    let runner = std::thread::Builder::new().stack_size(256 << 20).spawn(move || {
        let config =
            ProptestConfig { cases, max_shrink_iters: 4096, failure_persistence: None, ..ProptestConfig::default() };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        runner.run(&strategy(), test).map_err(|e| e.to_string())
    });
    if let Err(e) = runner.expect("spawn the property thread").join().expect("the property thread panicked") {
        panic!("{e}");
    }
}

fn digests(records: &[Record]) -> BTreeMap<GroupKey, ContentDigest> {
    let mut d = Digester::new(CanonicalOptions::default());
    for r in records {
        d.add(r);
    }
    d.finish()
}

fn hexes(records: &[Record]) -> BTreeMap<GroupKey, (String, u64)> {
    digests(records).into_iter().map(|(g, d)| (g, (d.hex(), d.count))).collect()
}

/// Writes `segments` as one stream per segment (header, records, trailer).
fn write_stream(segments: &[Vec<Record>]) -> Vec<u8> {
    let mut w = RecordWriter::new(Vec::new());
    for (i, seg) in segments.iter().enumerate() {
        w.write_header(&Header::new(&format!("roundtrip {i}"), None)).unwrap();
        for r in seg {
            w.write(r).unwrap();
        }
        w.write(&Record::End(decant_record::Trailer { records: 0, stream_blake3: String::new() })).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn value_round_trips() {
    check(1500, value, |v| {
        let text = v.to_json_string();
        let back: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&back, &v, "encoded as {}", text);
        prop_assert_eq!(back.to_json_string(), text);
        Ok(())
    });
}

#[test]
fn record_round_trips() {
    check(1500, record, |r| {
        let line = encode(&r);
        prop_assert!(!line.contains(&b'\n'), "a record must encode to one line");
        let back = Record::decode(&line)
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", String::from_utf8_lossy(&line))))?;
        prop_assert_eq!(&back, &r, "encoded as {}", String::from_utf8_lossy(&line));
        prop_assert_eq!(encode(&back), line);
        Ok(())
    });
}

/// `redis` lines are written by hand (the exporter's hot path): the same
/// bytes as serde's encoding of the record, for every kind of value.
#[test]
fn hand_written_redis_lines_match_serde() {
    check(3000, redis_record, |r| {
        let r = Record::Redis(r);
        let mut fast = Vec::new();
        r.encode(&mut fast);
        let serde = serde_json::to_vec(&r).unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&serde));
        Ok(())
    });
}

#[test]
fn streams_round_trip_sealed() {
    check(
        200,
        || vec(vec(body_record(), 0..12), 1..4),
        |segments| {
            let bytes = write_stream(&segments);
            let (records, reader) = read_all(&bytes);
            prop_assert_eq!(reader.segments().len(), segments.len());
            prop_assert!(reader.all_sealed());
            let mut it = records.into_iter();
            for (i, seg) in segments.iter().enumerate() {
                prop_assert!(matches!(it.next(), Some(Record::Header(_))), "segment {} starts with its header", i);
                for r in seg {
                    let got = it.next();
                    prop_assert_eq!(got.as_ref(), Some(r));
                }
                match it.next() {
                    Some(Record::End(t)) => prop_assert_eq!(t.records, seg.len() as u64),
                    other => prop_assert!(false, "expected an end line, got {:?}", other),
                }
                prop_assert_eq!(reader.segments()[i].records, seg.len() as u64);
                prop_assert!(reader.segments()[i].header.is_some());
            }
            prop_assert!(it.next().is_none());
            Ok(())
        },
    );
}

#[test]
fn concatenated_streams_stay_sealed() {
    check(
        200,
        || (vec(body_record(), 0..8), vec(body_record(), 0..8)),
        |(a, b)| {
            let mut bytes = write_stream(std::slice::from_ref(&a));
            let second = write_stream(std::slice::from_ref(&b));
            let first_lines = bytes.iter().filter(|&&c| c == b'\n').count() as u64;
            bytes.extend_from_slice(&second);
            let (records, reader) = read_all(&bytes);
            prop_assert!(reader.all_sealed());
            prop_assert_eq!(reader.segments().len(), 2);
            prop_assert_eq!(reader.segments()[1].first_line, first_lines + 1);
            let content: Vec<Record> =
                records.into_iter().filter(|r| !matches!(r, Record::Header(_) | Record::End(_))).collect();
            let expected: Vec<Record> = a.iter().chain(&b).cloned().collect();
            prop_assert_eq!(content, expected);
            Ok(())
        },
    );
}

#[test]
fn passthrough_with_write_raw_reproduces_the_stream() {
    check(
        200,
        || vec(vec(body_record(), 0..8), 1..3),
        |segments| {
            let bytes = write_stream(&segments);
            let mut reader = decant_record::RecordReader::new(&bytes[..]);
            let mut w = RecordWriter::new(Vec::new());
            let mut headers = 0;
            while let Some(r) = reader.next_record().map_err(|e| TestCaseError::fail(e.to_string()))? {
                match &r {
                    Record::Header(_) => {
                        headers += 1;
                        w.write(&r).unwrap()
                    }
                    Record::End(_) => w.write(&r).unwrap(),
                    _ => w.write_raw(reader.raw_line()).unwrap(),
                }
            }
            let out = w.finish().unwrap();
            // Same headers and records, so the same bytes and the same trailers.
            prop_assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&bytes));
            prop_assert_eq!(headers, segments.len());
            Ok(())
        },
    );
}

fn content() -> impl Strategy<Value = Record> {
    prop_oneof![row().prop_map(Record::Row), whole_redis_record().prop_map(Record::Redis)]
}

#[test]
fn digest_survives_a_round_trip_and_ignores_order() {
    check(
        200,
        || (vec(content(), 1..16), any::<u64>()),
        |(records, seed)| {
            let before = hexes(&records);
            let bytes = write_stream(std::slice::from_ref(&records));
            let (read, _) = read_all(&bytes);
            prop_assert_eq!(&hexes(&read), &before);
            let mut shuffled = records.clone();
            shuffle(&mut shuffled, seed);
            prop_assert_eq!(&hexes(&shuffled), &before);
            Ok(())
        },
    );
}

#[test]
fn changing_one_record_changes_its_digest() {
    check(
        200,
        || (vec(content(), 1..12), any::<prop::sample::Index>(), 0u8..3),
        |(records, which, how)| {
            let before = hexes(&records);
            let mut changed = records.clone();
            let i = which.index(changed.len());
            mutate(&mut changed[i], how);
            prop_assert_ne!(hexes(&changed), before, "after changing record {}: {:?}", i, changed[i]);
            Ok(())
        },
    );
}

/// Fisher–Yates with a fixed seed.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}

/// A change that no canonical normalisation can undo.
fn mutate(r: &mut Record, how: u8) {
    match r {
        Record::Row(Row { table, data }) => match how {
            0 => table.push('\u{1}'),
            1 => data.0.push(("\u{1}new column".into(), Value::Int(1))),
            _ => match data.0.first_mut() {
                Some((_, v)) => *v = Value::Array(vec![v.clone()]),
                None => data.0.push(("c".into(), Value::Null)),
            },
        },
        Record::Redis(k) => match how {
            0 => k.key.push(0xff),
            1 => k.expire_at_ms = Some(k.expire_at_ms.map_or(0, |e| e.wrapping_add(1))),
            _ => match &mut k.value {
                RedisValue::String(s) => s.push(b'x'),
                RedisValue::Hash(p) => p.push((b"\xffextra".to_vec(), vec![])),
                RedisValue::List(l) => l.push(vec![]),
                RedisValue::Set(m) => m.push(b"\xffextra".to_vec()),
                RedisValue::ZSet(z) => z.push((b"\xffextra".to_vec(), 0.0)),
                RedisValue::Stream(s) => s.last_id = Some(format!("{}x", s.last_id.clone().unwrap_or_default())),
                // The payload's head (its trailer is not digested).
                RedisValue::Module(_) => k.dump.get_or_insert_with(Vec::new).insert(0, 1),
            },
        },
        _ => unreachable!("only rows and redis keys are generated"),
    }
}
