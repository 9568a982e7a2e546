//! proptest strategies for every value and record of the decant format, and
//! small helpers shared by the test files.
#![allow(dead_code)]

use decant_record::{value::MAX_SAFE_INTEGER, Bytes};
use decant_record::{
    Column, Delete, Diff, DiffOp, ForeignKey, Header, Index, LogicalType, PendingEntry, Record, RecordReader,
    RedisFunction, RedisRecord, RedisValue, Row, RowData, StreamEntry, StreamGroup, StreamValue, TableSchema, Target,
    Trailer, Value,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// The tags of one-key tagged objects, and names that look like them.
pub const TAG_NAMES: &[&str] =
    &["$int", "$float", "$b64", "$zero_date", "$json", "$n", "$ss", "$ns", "$bs", "$other", "$", "$$b64"];

/// Exact number text as DynamoDB N holds it (`$n`, `$ns` members).
pub fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "-?[0-9]{1,38}(\\.[0-9]{1,12})?",
        1 => "-?[0-9]{1,5}\\.[0-9]{0,5}[eE][+-]?[0-9]{1,3}",
        1 => prop::sample::select(vec!["0", "-0", "0.0", "1E+125", "12345678901234567890123456789012345678", ".5"])
            .prop_map(str::to_owned),
    ]
}

pub fn int() -> impl Strategy<Value = i128> {
    let s = MAX_SAFE_INTEGER;
    prop_oneof![
        3 => prop::sample::select(vec![
            i64::MIN as i128,
            i64::MIN as i128 + 1,
            i64::MAX as i128,
            i64::MAX as i128 + 1,
            u64::MAX as i128,
            u64::MAX as i128 - 1,
            s,
            s + 1,
            -s,
            -s - 1,
            s - 1,
            0,
            -1,
            1,
        ]),
        2 => (-s - 3..=s + 3).prop_map(|i| i),
        2 => any::<i64>().prop_map(i128::from),
        2 => any::<u64>().prop_map(i128::from),
        1 => -1000i128..1000,
    ]
}

pub fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => prop::sample::select(vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0, // subnormal
            5e-324,
            -5e-324,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            0.1 + 0.2,                 // 0.30000000000000004: 17 significant digits
            1.0 / 3.0,
            123_456_789.123_456_78,
            9_007_199_254_740_993.0,   // 2^53 + 1 rounds
            1e15,
            1e16,
            1e21,
            1e-7,
            5.0,
        ]),
        4 => any::<f64>(),
        1 => -1e6f64..1e6,
        1 => any::<i32>().prop_map(f64::from),
    ]
}

/// Text with the awkward parts: 4-byte UTF-8, emoji, control characters,
/// `$`-prefixed strings, quotes and backslashes, JSON-looking text.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[a-z0-9:_ .-]{0,12}",
        1 => prop::sample::select(TAG_NAMES.to_vec()).prop_map(str::to_owned),
        1 => "\\$[a-z_]{0,8}",
        1 => prop::sample::select(vec![
            "", "🚀", "𝄞 music", "東京", "naïve", "\u{0}", "\u{1f}\u{7f}\t\r\n", "\"quoted\"\\", "\u{2028}\u{2029}",
            "{\"$b64\":\"AAAA\"}", "null", "2025-01-01T09:30:00.123456", "\u{feff}bom", "\u{10ffff}",
        ]).prop_map(str::to_owned),
    ]
}

/// Any bytes, often not UTF-8.
pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..24),
        1 => text().prop_map(String::into_bytes),
        1 => prop::sample::select(vec![
            vec![0xff],
            vec![0xc3],
            vec![0xed, 0xa0, 0x80], // a surrogate encoded in UTF-8: not valid UTF-8
            vec![0xf0, 0x9f, 0x9a],  // truncated emoji
            b"$b64".to_vec(),
            vec![],
        ]),
    ]
}

pub fn key_name() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => text(),
        2 => prop::sample::select(TAG_NAMES.to_vec()).prop_map(str::to_owned),
    ]
}

pub fn leaf_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        4 => int().prop_map(Value::Int),
        4 => float().prop_map(Value::Float),
        4 => text().prop_map(Value::String),
        2 => bytes().prop_map(Value::Bytes),
        1 => prop::sample::select(vec!["0000-00-00 00:00:00", "0000-00-00", "2025-00-00 00:00:00.000000"])
            .prop_map(|z| Value::ZeroDate(z.to_owned())),
        2 => number_text().prop_map(Value::Number),
        1 => vec(text(), 0..5).prop_map(Value::StringSet),
        1 => vec(number_text(), 0..5).prop_map(Value::NumberSet),
        1 => vec(bytes(), 0..5).prop_map(Value::BinarySet),
    ]
}

/// Any value, nested up to depth 6, with objects whose only (or first) key is
/// a tag name.
pub fn value() -> impl Strategy<Value = Value> {
    leaf_value().prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            2 => vec(inner.clone(), 0..6).prop_map(Value::Array),
            2 => vec((key_name(), inner.clone()), 0..6).prop_map(Value::Object),
            2 => (prop::sample::select(TAG_NAMES.to_vec()), inner.clone())
                .prop_map(|(k, v)| Value::Object(vec![(k.to_owned(), v)])),
            1 => (prop::sample::select(TAG_NAMES.to_vec()), inner.clone(), key_name(), inner)
                .prop_map(|(k, v, k2, v2)| Value::Object(vec![(k.to_owned(), v), (k2, v2)])),
        ]
    })
}

/// Row data: column names are unique (readers reject a repeated column).
pub fn row_data() -> impl Strategy<Value = RowData> {
    vec((key_name(), value()), 0..8).prop_map(|mut cols| {
        let mut seen = std::collections::HashSet::new();
        cols.retain(|(k, _)| seen.insert(k.clone()));
        RowData(cols)
    })
}

pub fn row() -> impl Strategy<Value = Row> {
    (text(), row_data()).prop_map(|(table, data)| Row { table, data })
}

fn field_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => bytes(),
        1 => prop::sample::select(TAG_NAMES.to_vec()).prop_map(|s| s.as_bytes().to_vec()),
    ]
}

pub fn pairs() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    prop_oneof![
        4 => vec((field_name(), bytes()), 0..6),
        // A hash whose single field is named like a tag.
        1 => (field_name(), bytes()).prop_map(|p| vec![p]),
        // Duplicate field names (stream entries allow them).
        1 => (field_name(), bytes(), bytes()).prop_map(|(f, a, b)| vec![(f.clone(), a), (f, b)]),
    ]
}

pub fn score() -> impl Strategy<Value = f64> {
    float().prop_filter("Redis scores are never NaN", |f| !f.is_nan())
}

fn entry_id() -> impl Strategy<Value = String> {
    (any::<u64>(), any::<u64>()).prop_map(|(ms, seq)| format!("{ms}-{seq}"))
}

pub fn stream_value() -> impl Strategy<Value = StreamValue> {
    let entry = (entry_id(), pairs()).prop_map(|(id, fields)| StreamEntry { id, fields });
    let pending = (entry_id(), bytes(), any::<u64>()).prop_map(|(id, c, n)| PendingEntry {
        id,
        consumer: Bytes(c),
        delivery_count: n,
    });
    let group = (bytes(), entry_id(), option::of(any::<u64>()), vec(bytes(), 0..3), vec(pending, 0..3)).prop_map(
        |(name, last, read, consumers, pending)| StreamGroup {
            name: Bytes(name),
            last_delivered_id: last,
            entries_read: read,
            consumers: consumers.into_iter().map(Bytes).collect(),
            pending,
        },
    );
    (vec(entry, 0..4), vec(group, 0..3), option::of(entry_id()), option::of(any::<u64>()), option::of(entry_id()))
        .prop_map(|(entries, groups, last_id, entries_added, max_deleted_entry_id)| StreamValue {
            entries,
            groups,
            last_id,
            entries_added,
            max_deleted_entry_id,
        })
}

pub fn redis_value() -> impl Strategy<Value = RedisValue> {
    prop_oneof![
        bytes().prop_map(RedisValue::String),
        pairs().prop_map(RedisValue::Hash),
        vec(bytes(), 0..6).prop_map(RedisValue::List),
        vec(bytes(), 0..6).prop_map(RedisValue::Set),
        vec((bytes(), score()), 0..6).prop_map(RedisValue::ZSet),
        stream_value().prop_map(RedisValue::Stream),
    ]
}

pub fn redis_record() -> impl Strategy<Value = RedisRecord> {
    let plain = (
        prop_oneof![0u32..16, Just(u32::MAX)],
        bytes(),
        option::of(any::<i64>()),
        redis_value(),
        option::of((any::<u32>(), any::<bool>())),
        option::of(bytes()),
        vec((any::<bool>(), any::<i64>()), 0..6),
    )
        .prop_map(|(db, key, expire_at_ms, value, part, dump, expiring)| {
            // Some of a hash's fields expire (each named once).
            let mut field_expire_at_ms: Vec<(Vec<u8>, i64)> = Vec::new();
            if let RedisValue::Hash(pairs) = &value {
                for ((f, _), (expires, ms)) in pairs.iter().zip(&expiring) {
                    if *expires && !field_expire_at_ms.iter().any(|(g, _)| g == f) {
                        field_expire_at_ms.push((f.clone(), *ms));
                    }
                }
            }
            RedisRecord {
                db,
                key,
                expire_at_ms,
                value,
                part: part.map(|p| p.0),
                last: part.is_some_and(|p| p.1),
                dump,
                field_expire_at_ms,
            }
        });
    prop_oneof![
        8 => plain,
        1 => (bytes(), option::of(any::<i64>()), module_name(), bytes()).prop_map(|(key, expire_at_ms, name, payload)| {
            let mut r = RedisRecord::new(0, key, RedisValue::Module(name));
            r.expire_at_ms = expire_at_ms;
            r.dump = Some(payload);
            r
        }),
    ]
}

/// A module type's name: nine characters of `A-Z a-z 0-9 - _`.
pub fn module_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{9}"
}

pub fn redis_function() -> impl Strategy<Value = RedisFunction> {
    ("[A-Za-z0-9_]{1,12}", prop::sample::select(vec!["LUA", "lua"]), bytes())
        .prop_map(|(library, engine, code)| RedisFunction { library, engine: engine.to_owned(), code })
}

/// A whole (unsplit) Redis key.
pub fn whole_redis_record() -> impl Strategy<Value = RedisRecord> {
    redis_record().prop_map(|mut r| {
        r.part = None;
        r.last = false;
        r
    })
}

fn logical_type() -> impl Strategy<Value = LogicalType> {
    use LogicalType::*;
    prop::sample::select(vec![
        Bool, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Float32, Float64, Decimal, String, Text, Bytes,
        Date, Time, Datetime, Timestamp, Interval, Year, Json, Uuid, Enum, Set, Bit, Array,
    ])
}

pub fn column() -> impl Strategy<Value = Column> {
    (
        (text(), logical_type(), any::<bool>(), option::of(any::<u64>()), any::<bool>(), option::of(any::<u32>())),
        (option::of(any::<u32>()), any::<bool>(), option::of(vec(text(), 0..3)), option::of(any::<u32>())),
        (option::of(logical_type()), any::<bool>(), option::of(value()), option::of(text())),
        (option::of(text()), option::of(text()), option::of(text()), option::of(text())),
    )
        .prop_map(|(a, b, c, d)| {
            let mut col = Column::new(a.0, a.1);
            col.nullable = a.2;
            col.max_len = a.3;
            col.fixed = a.4;
            col.precision = a.5;
            col.scale = b.0;
            col.unsigned = b.1;
            col.values = b.2;
            col.len = b.3;
            col.element = c.0;
            col.auto_increment = c.1;
            col.default = c.2;
            col.default_expr = c.3;
            col.source_type = d.0;
            col.charset = d.1;
            col.collation = d.2;
            col.comment = d.3;
            col
        })
}

pub fn schema() -> impl Strategy<Value = TableSchema> {
    let index =
        (text(), vec(text(), 1..3), any::<bool>()).prop_map(|(name, columns, unique)| Index { name, columns, unique });
    let fk = (text(), vec(text(), 1..3), text(), vec(text(), 1..3), option::of(text()), option::of(text())).prop_map(
        |(name, columns, ref_table, ref_columns, on_delete, on_update)| ForeignKey {
            name,
            columns,
            ref_table,
            ref_columns,
            on_delete,
            on_update,
        },
    );
    (
        (text(), vec(column(), 0..4), vec(text(), 0..3), vec(index, 0..3), vec(fk, 0..2)),
        (option::of(text()), option::of(text()), option::of(text()), option::of(text()), option::of(any::<u64>())),
    )
        .prop_map(|(a, b)| {
            let mut t = TableSchema::new(a.0, a.1);
            t.primary_key = a.2;
            t.indexes = a.3;
            t.foreign_keys = a.4;
            t.charset = b.0;
            t.collation = b.1;
            t.comment = b.2;
            t.dialect = b.3;
            t.estimated_rows = b.4;
            t
        })
}

pub fn header() -> impl Strategy<Value = Header> {
    (
        prop::sample::select(vec!["decant/1", "decant/1.0", "decant/1.7"]),
        option::of(text()),
        option::of(text()),
        option::of(text()),
        option::of((1u32..100).prop_flat_map(|n| (0..n, Just(n)))),
    )
        .prop_map(|(format, source, tool, created_at, shard)| Header {
            format: format.to_owned(),
            source,
            tool,
            created_at,
            shard: shard.and_then(|(i, n)| decant_record::Shard::new(i, n)),
        })
}

pub fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        (text(), row_data()).prop_map(|(table, id)| Target::Row { table, id }),
        (0u32..16, bytes()).prop_map(|(db, key)| Target::Key { db, key }),
        "[A-Za-z0-9_]{1,12}".prop_map(|library| Target::Function { library }),
    ]
}

/// A row or redis record, as the sides of a diff.
pub fn content_record() -> impl Strategy<Value = Record> {
    prop_oneof![row().prop_map(Record::Row), redis_record().prop_map(Record::Redis)]
}

pub fn diff() -> impl Strategy<Value = Diff> {
    let op = prop::sample::select(vec![DiffOp::Added, DiffOp::Removed, DiffOp::Changed]);
    (op, target(), option::of(content_record()), option::of(content_record()), vec(text(), 0..3)).prop_map(
        |(op, target, left, right, fields)| Diff {
            op,
            target,
            left: left.map(Box::new),
            right: right.map(Box::new),
            fields,
        },
    )
}

pub fn trailer() -> impl Strategy<Value = Trailer> {
    (any::<u64>(), "[0-9a-f]{64}").prop_map(|(records, stream_blake3)| Trailer { records, stream_blake3 })
}

/// Any record of any kind.
pub fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        1 => header().prop_map(Record::Header),
        1 => schema().prop_map(Record::Schema),
        4 => row().prop_map(Record::Row),
        4 => redis_record().prop_map(Record::Redis),
        1 => redis_function().prop_map(Record::RedisFunction),
        1 => diff().prop_map(Record::Diff),
        1 => target().prop_map(|target| Record::Delete(Delete { target })),
        1 => trailer().prop_map(Record::End),
    ]
}

/// A record that goes between a header and a trailer.
pub fn body_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        1 => schema().prop_map(Record::Schema),
        4 => row().prop_map(Record::Row),
        4 => redis_record().prop_map(Record::Redis),
        1 => redis_function().prop_map(Record::RedisFunction),
        1 => diff().prop_map(Record::Diff),
        1 => target().prop_map(|target| Record::Delete(Delete { target })),
    ]
}

/// Every record of `bytes`, failing on the first error.
pub fn read_all(bytes: &[u8]) -> (Vec<Record>, RecordReader<&[u8]>) {
    let mut reader = RecordReader::new(bytes);
    let mut out = Vec::new();
    loop {
        match reader.next_record() {
            Ok(Some(r)) => out.push(r),
            Ok(None) => break,
            Err(e) => panic!("unexpected read error: {e}"),
        }
    }
    (out, reader)
}

/// The encoded line of a record.
pub fn encode(record: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    record.encode(&mut out);
    out
}
