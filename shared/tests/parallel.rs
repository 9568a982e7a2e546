//! The parallel digest and pass-through (`decant_record::parallel`) against
//! the one-thread reader: same digests on random streams (schemas midway,
//! split keys whose parts land in different batches, keys split oddly), same
//! output bytes, and the first error reported with the same line number.

mod common;

use std::io::Cursor;

use decant_record::digest::{CanonicalOptions, KeyGrouper};
use decant_record::parallel::{copy_stream, digest_stream, Parallelism};
use decant_record::{
    Column, Header, LogicalType, ReadError, Record, RecordReader, RecordWriter, RedisRecord, RedisValue, Row, RowData,
    TableSchema, Value,
};
use proptest::collection::vec;
use proptest::prelude::*;

const TABLES: &[&str] = &["users", "events"];
const KEYS: &[&[u8]] = &[b"big:1", b"big:2", b"other", b"\xff:bin"];

fn schema(table: &str) -> Record {
    let columns = vec![
        Column::new("id", LogicalType::Int64),
        Column::new("price", LogicalType::Decimal),
        Column::new("at", LogicalType::Datetime),
        Column::new("t", LogicalType::Time),
    ];
    Record::Schema(TableSchema::new(table.to_owned(), columns))
}

/// Rows whose values change digest with the schema (decimals, times).
fn typed_row() -> impl Strategy<Value = Record> {
    (
        prop::sample::select(TABLES.to_vec()),
        any::<i64>(),
        prop::sample::select(vec!["1.50", "001.5", "2.000", "x"]),
        prop::sample::select(vec!["2025-01-01 09:30:00.1234564", "2025-01-01T09:30:00Z", "junk"]),
        prop::sample::select(vec!["09:30:00.000", "09:30", "25:00"]),
    )
        .prop_map(|(table, id, price, at, t)| {
            let data = RowData(vec![
                ("id".into(), Value::Int(id.into())),
                ("price".into(), Value::String(price.into())),
                ("at".into(), Value::String(at.into())),
                ("t".into(), Value::String(t.into())),
            ]);
            Record::Row(Row { table: table.into(), data })
        })
}

/// Redis records on a few keys, split into parts in every order (a later
/// part without its first, a type change between parts, interleaved keys).
fn key_part() -> impl Strategy<Value = Record> {
    (common::redis_record(), prop::sample::select(KEYS.to_vec()), 0u32..3, any::<bool>(), 0u32..4).prop_map(
        |(mut r, key, part, last, shape)| {
            r.key = key.to_vec();
            r.db = part % 2;
            match shape {
                0 => {
                    r.part = None;
                    r.last = false;
                }
                _ => {
                    r.part = Some(part);
                    r.last = last;
                }
            }
            Record::Redis(r)
        },
    )
}

/// A split key written in order: parts 0..n, the last marked.
fn split_key() -> impl Strategy<Value = Vec<Record>> {
    (prop::sample::select(KEYS.to_vec()), common::redis_value(), 1usize..4).prop_map(|(key, value, n)| {
        let values: Vec<RedisValue> = match value {
            // An empty value has no chunks: it stays one part (a split key of
            // no records would make an empty stream, which is not a stream).
            RedisValue::String(b) if !b.is_empty() => {
                b.chunks(b.len().div_ceil(n).max(1)).map(|c| RedisValue::String(c.to_vec())).collect()
            }
            RedisValue::List(items) if !items.is_empty() => {
                items.chunks(items.len().div_ceil(n).max(1)).map(|c| RedisValue::List(c.to_vec())).collect()
            }
            RedisValue::Hash(p) if !p.is_empty() => {
                p.chunks(p.len().div_ceil(n).max(1)).map(|c| RedisValue::Hash(c.to_vec())).collect()
            }
            other => vec![other],
        };
        let count = values.len();
        values
            .into_iter()
            .enumerate()
            .map(|(i, value)| {
                let mut r = RedisRecord::new(0, key.to_vec(), value);
                r.part = Some(i as u32);
                r.last = i + 1 == count;
                Record::Redis(r)
            })
            .collect()
    })
}

fn piece() -> impl Strategy<Value = Vec<Record>> {
    prop_oneof![
        4 => typed_row().prop_map(|r| vec![r]),
        1 => prop::sample::select(TABLES.to_vec()).prop_map(|t| vec![schema(t)]),
        3 => key_part().prop_map(|r| vec![r]),
        2 => split_key(),
        1 => common::row().prop_map(|r| vec![Record::Row(r)]),
        1 => Just(vec![Record::Header(Header::new("test", None))]),
    ]
}

/// A sealed stream (one or more segments) of random pieces; never 0 bytes,
/// which is not a stream (`ReadError::Empty`).
fn stream() -> impl Strategy<Value = Vec<u8>> {
    vec(piece(), 1..60).prop_map(|pieces| {
        let mut w = RecordWriter::new(Vec::new());
        for record in pieces.iter().flatten() {
            w.write(record).unwrap();
        }
        w.finish().unwrap()
    })
}

fn options() -> impl Strategy<Value = CanonicalOptions> {
    (any::<bool>(), any::<bool>(), 0usize..3).prop_map(|(by_db, precision, depth)| CanonicalOptions {
        group_by_db: by_db,
        time_precision: precision.then_some(3),
        key_groups: KeyGrouper { separator: b':', depth },
        ..CanonicalOptions::default()
    })
}

fn reader(bytes: &[u8]) -> RecordReader<Cursor<Vec<u8>>> {
    RecordReader::new(Cursor::new(bytes.to_vec()))
}

/// Tiny batches, so a few lines already spread over many batches and threads.
fn tiny(threads: usize, batch_bytes: usize) -> Parallelism {
    Parallelism { threads, batch_bytes }
}

fn error_text(e: &Option<ReadError>) -> Option<(u64, String)> {
    e.as_ref().map(|e| (e.line(), e.to_string()))
}

/// Runs a property on a thread with a big stack (the nested strategies are
/// deep, and unoptimised test builds use large frames).
fn check<S, F>(strategy: F, test: impl Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static)
where
    S: Strategy,
    F: FnOnce() -> S + Send + 'static,
{
    let runner = std::thread::Builder::new().stack_size(256 << 20).spawn(move || {
        let config = ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        runner.run(&strategy(), test).map_err(|e| e.to_string())
    });
    if let Err(e) = runner.expect("spawn the property thread").join().expect("the property thread panicked") {
        panic!("{e}");
    }
}

#[test]
fn parallel_digest_equals_one_thread() {
    check(
        || (stream(), options(), 2usize..4, 1usize..400),
        |(bytes, opts, threads, batch)| {
            let one = digest_stream(reader(&bytes), opts.clone(), Parallelism::new(1));
            let many = digest_stream(reader(&bytes), opts, tiny(threads, batch));
            prop_assert!(one.error.is_none(), "{:?}", one.error);
            prop_assert!(many.error.is_none(), "{:?}", many.error);
            prop_assert_eq!(one.groups, many.groups);
            let segments = |r: Option<RecordReader<_>>| r.map(|r| r.segments().to_vec());
            prop_assert_eq!(segments(one.reader), segments(many.reader));
            Ok(())
        },
    );
}

#[test]
fn parallel_copy_writes_the_same_bytes() {
    check(
        || (stream(), 2usize..4, 1usize..400),
        |(bytes, threads, batch)| {
            let copy = |p: Parallelism| {
                let mut w = RecordWriter::new(Vec::new());
                copy_stream(reader(&bytes), &mut w, p).unwrap();
                w.finish().unwrap()
            };
            prop_assert_eq!(copy(Parallelism::new(1)), copy(tiny(threads, batch)));
            Ok(())
        },
    );
}

const BAD_LINES: &[&[u8]] = &[
    b"{\"kind\":\"row\",\"table\":1}",
    b"{\"kind\":\"redis\",\"key\":\"k\",\"type\":\"set\",\"value\":[1]}",
    b"not json",
    b"",
    b"{\"kind\":\"end\",\"records\":0,\"stream_blake3\":\"00\"}",
    b"{\"kind\":\"end\",\"records\":0,\"stream_blake3\":\"0000000000000000000000000000000000000000000000000000000000000000\"}",
    b"{\"kind\":\"row\",\"table\":\"t\",\"data\":{},\"kind\":\"end\"}",
    b"{\"kind\":\"header\",\"format\":\"decant/9\"}",
    b"{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"x\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}}",
];

/// One line replaced by something malformed: the same error, on the same
/// line, and the digest of the records before it.
#[test]
fn first_error_is_reported_at_its_line() {
    check(
        || (stream(), any::<prop::sample::Index>(), prop::sample::select(BAD_LINES.to_vec()), 2usize..4, 1usize..300),
        |(bytes, at, bad, threads, batch)| {
            let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
            lines.pop();
            if lines.is_empty() {
                lines.push(b"");
            }
            let at = at.index(lines.len());
            let mut input = Vec::new();
            for (i, line) in lines.iter().enumerate() {
                input.extend_from_slice(if i == at { bad } else { line });
                input.push(b'\n');
            }
            let capped = |p: Parallelism| {
                let options =
                    decant_record::ReaderOptions { max_line_bytes: 100, require_sealed: true, ..Default::default() };
                let r = RecordReader::with_options(Cursor::new(input.clone()), options);
                digest_stream(r, CanonicalOptions::default(), p)
            };
            let one = capped(Parallelism::new(1));
            let many = capped(tiny(threads, batch));
            prop_assert!(one.error.is_some());
            prop_assert_eq!(error_text(&one.error), error_text(&many.error));
            prop_assert_eq!(one.groups, many.groups);

            let copy = |p: Parallelism| {
                let mut w = RecordWriter::new(Vec::new());
                let e = copy_stream(reader(&input), &mut w, p).err().map(|e| e.to_string());
                (e, w.abandon().unwrap())
            };
            prop_assert_eq!(copy(Parallelism::new(1)), copy(tiny(threads, batch)));
            Ok(())
        },
    );
}

#[test]
fn malformed_line_is_named_by_its_number_with_many_batches() {
    let mut w = RecordWriter::new(Vec::new());
    for id in 0..10_000 {
        let data = RowData(vec![("id".into(), Value::Int(id))]);
        w.write(&Record::Row(Row { table: "t".into(), data })).unwrap();
    }
    let mut bytes = w.finish().unwrap();
    // Line 7001 (the 7001st row) becomes invalid.
    let start = bytes.split(|b| *b == b'\n').take(7000).map(|l| l.len() + 1).sum::<usize>();
    bytes[start + 1] = b'[';
    let run = digest_stream(reader(&bytes), CanonicalOptions::default(), tiny(2, 4096));
    let error = run.error.expect("an error");
    assert_eq!(error.line(), 7001, "{error}");
    assert!(error.to_string().starts_with("line 7001: "), "{error}");
    assert_eq!(run.groups.values().map(|d| d.count).sum::<u64>(), 7000);
    assert!(run.reader.is_none());
}
