//! Golden fixtures: one file per line kind in `tests/fixtures/`, frozen. Each
//! must keep decoding to the values written out here and re-encode to the very
//! same bytes, so any change to the wire format shows up as a failing test.

mod common;

use std::fs;
use std::path::PathBuf;

use decant_record::io::open_input;
use decant_record::{Bytes, FORMAT};
use decant_record::{
    Column, Delete, Diff, DiffOp, ForeignKey, Header, Index, LogicalType, PendingEntry, Record, RecordReader,
    RedisFunction, RedisRecord, RedisValue, Row, RowData, StreamEntry, StreamGroup, StreamValue, TableSchema, Target,
    Value,
};

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Decodes every line of a fixture, checks it re-encodes byte for byte, and
/// returns the records (headers and trailers included).
fn load(name: &str) -> Vec<Record> {
    let bytes = fs::read(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    // One kind per file, not a stream: header.ndjson has headers and no trailer.
    let options = decant_record::ReaderOptions { allow_unsealed: true, ..Default::default() };
    let mut reader = RecordReader::with_options(&bytes[..], options);
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().unwrap_or_else(|e| panic!("{name}: {e}")) {
        let mut again = Vec::new();
        r.encode(&mut again);
        assert_eq!(
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(reader.raw_line()),
            "{name} line {} does not re-encode to the same bytes",
            reader.line_number()
        );
        out.push(r);
    }
    out
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn row(table: &str, cols: Vec<(&str, Value)>) -> Record {
    Record::Row(Row { table: s(table), data: RowData(cols.into_iter().map(|(k, v)| (s(k), v)).collect()) })
}

fn text(t: &str) -> Value {
    Value::String(s(t))
}

fn redis(key: &[u8], value: RedisValue) -> RedisRecord {
    RedisRecord::new(0, key.to_vec(), value)
}

fn pairs(items: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
    items.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()
}

fn list(items: &[&[u8]]) -> Vec<Vec<u8>> {
    items.iter().map(|i| i.to_vec()).collect()
}

#[test]
fn header_lines() {
    assert_eq!(
        load("header.ndjson"),
        vec![
            Record::Header(Header {
                format: s(FORMAT),
                source: Some(s("redis://prod:6379/0")),
                tool: Some(s("redis-export 0.1.0")),
                created_at: Some(s("2026-11-21T10:00:00Z")),
                shard: None,
            }),
            Record::Header(Header { format: s(FORMAT), source: None, tool: None, created_at: None, shard: None }),
            Record::Header(Header {
                format: s(FORMAT),
                source: Some(s("mysql://db:3306/shop")),
                tool: Some(s("mysql-export 0.1.0")),
                created_at: Some(s("2026-11-21T10:00:00Z")),
                shard: Some("2/7".parse().unwrap()),
            }),
        ]
    );
}

#[test]
fn schema_lines_with_every_column_attribute() {
    let mut id = Column::new("id", LogicalType::Int64);
    id.nullable = false;
    id.auto_increment = true;
    id.source_type = Some(s("bigint"));
    let mut email = Column::new("email", LogicalType::String);
    email.max_len = Some(255);
    email.charset = Some(s("utf8mb4"));
    email.collation = Some(s("utf8mb4_unicode_ci"));
    email.comment = Some(s("login"));
    let mut code = Column::new("code", LogicalType::String);
    code.max_len = Some(8);
    code.fixed = true;
    let mut amount = Column::new("amount", LogicalType::Decimal);
    amount.precision = Some(12);
    amount.scale = Some(4);
    amount.unsigned = true;
    amount.default = Some(text("0.0000"));
    let mut status = Column::new("status", LogicalType::Enum);
    status.values = Some(vec![s("active"), s("disabled")]);
    status.default = Some(text("active"));
    let mut flags = Column::new("flags", LogicalType::Bit);
    flags.len = Some(8);
    let mut tags = Column::new("tags", LogicalType::Array);
    tags.element = Some(LogicalType::Text);
    let mut created = Column::new("created_at", LogicalType::Datetime);
    created.precision = Some(6);
    created.default_expr = Some(s("current_timestamp"));
    let mut note = Column::new("note", LogicalType::Text);
    note.default = Some(Value::Null);
    let mut t = TableSchema::new("operators", vec![id, email, code, amount, status, flags, tags, created, note]);
    t.primary_key = vec![s("id")];
    t.indexes = vec![
        Index { name: s("index_operators_on_email"), columns: vec![s("email")], unique: true },
        Index { name: s("by_status"), columns: vec![s("status"), s("created_at")], unique: false },
    ];
    t.foreign_keys = vec![ForeignKey {
        name: s("fk_group"),
        columns: vec![s("group_id")],
        ref_table: s("line_groups"),
        ref_columns: vec![s("id")],
        on_delete: Some(s("cascade")),
        on_update: Some(s("restrict")),
    }];
    t.charset = Some(s("utf8mb4"));
    t.collation = Some(s("utf8mb4_unicode_ci"));
    t.comment = Some(s("operators"));
    t.dialect = Some(s("mysql"));
    t.estimated_rows = Some(1000);
    // Issue 12: ON UPDATE, a column's own collation, CHECK constraints and
    // generated columns travel.
    let mut rid = Column::new("id", LogicalType::Int32);
    rid.nullable = false;
    let mut password = Column::new("password", LogicalType::String);
    password.max_len = Some(40);
    password.charset = Some(s("utf8mb4"));
    password.collation = Some(s("utf8mb4_bin"));
    let mut last_update = Column::new("last_update", LogicalType::Timestamp);
    last_update.nullable = false;
    last_update.default_expr = Some(s("current_timestamp"));
    last_update.on_update = Some(s("current_timestamp"));
    let mut rentals = TableSchema::new("rentals", vec![rid, password, last_update]);
    rentals.primary_key = vec![s("id")];
    rentals.checks = vec![decant_record::Check { name: s("rating_range"), clause: s("`rating` between 0 and 5") }];
    rentals.generated = vec![
        decant_record::GeneratedColumn {
            name: s("doubled"),
            source_type: s("int(11)"),
            expr: s("`rating` * 2"),
            stored: false,
        },
        decant_record::GeneratedColumn {
            name: s("title_len"),
            source_type: s("integer"),
            expr: s("length(title)"),
            stored: true,
        },
    ];
    rentals.special_indexes = vec![decant_record::SchemaObject {
        kind: s("fulltext index"),
        name: s("ft_body"),
        ddl: s("CREATE FULLTEXT INDEX `ft_body` ON `rentals` (`body`)"),
    }];
    assert_eq!(
        load("schema.ndjson"),
        vec![Record::Schema(t), Record::Schema(TableSchema::new("empty", vec![])), Record::Schema(rentals)]
    );
}

#[test]
fn row_lines_with_every_value_encoding() {
    let got = load("row.ndjson");
    let expected = vec![
        row(
            "values",
            vec![
                ("null", Value::Null),
                ("t", Value::Bool(true)),
                ("f", Value::Bool(false)),
                ("int", Value::Int(42)),
                ("safe_max", Value::Int((1 << 53) - 1)),
                ("safe_min", Value::Int(-(1 << 53) + 1)),
                ("unsafe", Value::Int(1 << 53)),
                ("u64_max", Value::Int(u64::MAX as i128)),
                ("i64_min", Value::Int(i64::MIN as i128)),
                ("float", Value::Float(1.5)),
                ("integral_float", Value::Float(5.0)),
                ("neg_zero", Value::Float(-0.0)),
                ("subnormal", Value::Float(5e-324)),
                ("digits17", Value::Float(0.1 + 0.2)),
                ("huge", Value::Float(1e300)),
                ("small", Value::Float(1e-7)),
                ("nan", Value::Float(f64::NAN)),
                ("inf", Value::Float(f64::INFINITY)),
                ("ninf", Value::Float(f64::NEG_INFINITY)),
                ("decimal", text("12.3400")),
                ("datetime", text("2025-01-01T09:30:00.123456")),
                ("timestamp", text("2025-01-01T09:30:00Z")),
                ("text", text("emoji 🚀 東京 \"q\" \\ \u{1} tab\t")),
                ("dollar", text("$int")),
                ("bytes", Value::Bytes(vec![0x00, 0xff, 0xfe])),
                ("empty_bytes", Value::Bytes(vec![])),
                ("zero_date", Value::ZeroDate(s("0000-00-00 00:00:00"))),
                (
                    "json",
                    Value::Object(vec![
                        (
                            s("a"),
                            Value::Array(vec![
                                Value::Int(1),
                                text("x"),
                                Value::Null,
                                Value::Object(vec![(s("b"), Value::Bytes(vec![1]))]),
                            ]),
                        ),
                        (s("n"), Value::Int(u64::MAX as i128)),
                    ]),
                ),
                ("wrapped", Value::Object(vec![(s("$int"), text("not a tag"))])),
                ("wrapped_many", Value::Object(vec![(s("$b64"), Value::Int(1)), (s("x"), Value::Int(2))])),
                ("array", Value::Array(vec![])),
                ("object", Value::Object(vec![])),
            ],
        ),
        row("empty", vec![]),
    ];
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        // Column by column, so a failure names the column.
        match (g, e) {
            (Record::Row(g), Record::Row(e)) => {
                assert_eq!(g.table, e.table);
                assert_eq!(g.data.len(), e.data.len());
                for ((gk, gv), (ek, ev)) in g.data.iter().zip(e.data.iter()) {
                    assert_eq!((gk, gv), (ek, ev), "column {ek}");
                }
            }
            _ => panic!("expected rows, got {g:?}"),
        }
    }
    // Value's equality compares floats by bits: the sign of -0.0 survived.
    let Record::Row(r) = &got[0] else { unreachable!() };
    assert!(matches!(r.data.get("neg_zero"), Some(Value::Float(f)) if f.is_sign_negative()));
}

#[test]
fn redis_lines_of_every_type() {
    let mut bin_hash = redis(b"bin:hash", RedisValue::Hash(pairs(&[(b"ok", b"v"), (b"\xff", b"\x00")])));
    bin_hash.expire_at_ms = Some(1_800_000_000_000);
    let mut binary_key = RedisRecord::new(1, b"key\xff".to_vec(), RedisValue::String(vec![0xff, 0x00]));
    binary_key.db = 1;
    let mut session = redis(b"session:abc", RedisValue::String(b"{\"user\":1}".to_vec()));
    session.expire_at_ms = Some(1_800_000_000_123);
    let mut dumped = redis(b"dumped", RedisValue::String(b"v".to_vec()));
    dumped.dump = Some(vec![0x00, 0x01, 0x76, 0x0b, 0x00, 0x64, 0x2f, 0x4b, 0x4e, 0xd3, 0x21, 0x8b, 0xd9]);
    let expected = vec![
        redis(
            b"apikey:42",
            RedisValue::Hash(pairs(&[(b"name", b"prod"), (b"tokenLimit", b"1000"), (b"bin", b"\xff")])),
        ),
        bin_hash,
        redis(b"tagged", RedisValue::Hash(pairs(&[(b"$b64", b"looks like a tag")]))),
        redis(b"empty", RedisValue::Hash(vec![])),
        binary_key,
        session,
        redis(b"", RedisValue::String(vec![])),
        redis(b"queue", RedisValue::List(list(&[b"b", b"a", b"b", b""]))),
        redis(b"tags", RedisValue::Set(list(&[b"a", b"b", b"\xff"]))),
        redis(
            b"scores",
            RedisValue::ZSet(vec![
                (b"low".to_vec(), f64::NEG_INFINITY),
                (b"a".to_vec(), -1.5),
                (b"b".to_vec(), 0.1 + 0.2),
                (b"c".to_vec(), 2.0),
                (b"d".to_vec(), 1e21),
                (b"high".to_vec(), f64::INFINITY),
            ]),
        ),
        dumped,
    ];
    let got = load("redis.ndjson");
    assert_eq!(got, expected.into_iter().map(Record::Redis).collect::<Vec<_>>());
}

#[test]
fn split_keys_in_parts() {
    let part = |key: &[u8], value, part, last, expire| RedisRecord {
        db: 0,
        key: key.to_vec(),
        expire_at_ms: expire,
        value,
        part: Some(part),
        last,
        dump: None,
        field_expire_at_ms: Vec::new(),
    };
    let expected = vec![
        part(b"big", RedisValue::Set(list(&[b"a", b"b"])), 0, false, None),
        part(b"big", RedisValue::Set(list(&[b"c"])), 1, true, None),
        part(b"blob", RedisValue::String(b"hello ".to_vec()), 0, false, Some(1_800_000_000_000)),
        part(b"blob", RedisValue::String(b"world".to_vec()), 1, true, Some(1_800_000_000_000)),
    ];
    let got = load("parts.ndjson");
    assert_eq!(got, expected.into_iter().map(Record::Redis).collect::<Vec<_>>());
    let starts: Vec<bool> = got.iter().map(|r| matches!(r, Record::Redis(k) if k.starts_key())).collect();
    let ends: Vec<bool> = got.iter().map(|r| matches!(r, Record::Redis(k) if k.ends_key())).collect();
    assert_eq!(starts, [true, false, true, false]);
    assert_eq!(ends, [false, true, false, true]);
}

/// Redis 7.4+ / Valkey 9+: hash field expiry (object and pairs, split
/// hashes), module keys, function libraries.
#[test]
fn newer_server_lines() {
    let expiring = |key: &[u8], value, fields: &[(&[u8], i64)]| RedisRecord {
        field_expire_at_ms: fields.iter().map(|(f, ms)| (f.to_vec(), *ms)).collect(),
        ..redis(key, value)
    };
    let mut bin = expiring(
        b"bin:h",
        RedisValue::Hash(pairs(&[(b"ok", b"v"), (b"\xff", b"x")])),
        &[(b"\xff", 1_767_225_600_123), (b"ok", 1_767_225_600_000)],
    );
    bin.expire_at_ms = Some(1_800_000_000_000);
    let mut part0 =
        expiring(b"big:h", RedisValue::Hash(pairs(&[(b"a", b"1"), (b"b", b"2")])), &[(b"b", 1_767_225_600_000)]);
    part0.part = Some(0);
    let mut part1 = expiring(b"big:h", RedisValue::Hash(pairs(&[(b"c", b"3")])), &[(b"c", 1_767_225_601_000)]);
    part1.part = Some(1);
    part1.last = true;
    let mut doc = redis(b"doc", RedisValue::Module(s("ReJSON-RL")));
    doc.dump = Some((7u8..30).collect());
    let mut bloom = redis(b"bf", RedisValue::Module(s("MBbloom--")));
    bloom.db = 2;
    bloom.expire_at_ms = Some(1_800_000_000_000);
    bloom.dump = Some(vec![0xff]);
    let expected = vec![
        Record::Redis(expiring(
            b"h",
            RedisValue::Hash(pairs(&[(b"a", b"1"), (b"b", b"2")])),
            &[(b"a", 1_767_225_600_000)],
        )),
        Record::Redis(bin),
        Record::Redis(part0),
        Record::Redis(part1),
        Record::Redis(doc),
        Record::Redis(bloom),
        Record::RedisFunction(RedisFunction {
            library: s("mylib"),
            engine: s("LUA"),
            code: b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)".to_vec(),
        }),
        Record::RedisFunction(RedisFunction {
            library: s("binlib"),
            engine: s("LUA"),
            code: b"#!lua name=binlib\n--\xff".to_vec(),
        }),
        Record::Delete(Delete { target: Target::Function { library: s("mylib") } }),
    ];
    let got = load("newer-servers.ndjson");
    assert_eq!(got, expected);
    assert_eq!(got[4].kind(), "redis");
    assert!(matches!(&got[4], Record::Redis(r) if r.module() == Some("ReJSON-RL")));
    assert_eq!(got[6].kind(), "redis_function");
}

#[test]
fn streams_with_groups_and_repeated_fields() {
    let stream = StreamValue {
        entries: vec![
            StreamEntry { id: s("1700000000000-0"), fields: pairs(&[(b"f", b"v"), (b"n", b"1")]) },
            StreamEntry { id: s("1700000000000-1"), fields: pairs(&[(b"f", b"a"), (b"f", b"b")]) },
            StreamEntry { id: s("1700000000001-0"), fields: pairs(&[(b"\xff", b"x")]) },
        ],
        groups: vec![
            StreamGroup {
                name: Bytes::from("g1"),
                last_delivered_id: s("1700000000000-0"),
                entries_read: Some(1),
                consumers: vec![Bytes::from("c1"), Bytes::from("c2")],
                pending: vec![PendingEntry {
                    id: s("1700000000000-0"),
                    consumer: Bytes::from("c1"),
                    delivery_count: 2,
                }],
            },
            StreamGroup {
                name: Bytes::from("g2"),
                last_delivered_id: s("0-0"),
                entries_read: None,
                consumers: vec![],
                pending: vec![],
            },
        ],
        last_id: Some(s("1700000000001-0")),
        entries_added: Some(3),
        max_deleted_entry_id: Some(s("0-0")),
    };
    let expected = vec![
        Record::Redis(redis(b"events", RedisValue::Stream(stream))),
        Record::Redis(redis(b"empty-stream", RedisValue::Stream(StreamValue::default()))),
    ];
    assert_eq!(load("stream.ndjson"), expected);
}

#[test]
fn diff_lines() {
    let op_row = |email: &str| row("operators", vec![("id", Value::Int(1)), ("email", text(email))]);
    let key_id = |cols: Vec<(&str, Value)>| RowData(cols.into_iter().map(|(k, v)| (s(k), v)).collect());
    let expected = vec![
        Record::Diff(Diff {
            op: DiffOp::Changed,
            target: Target::Row { table: s("operators"), id: key_id(vec![("id", Value::Int(1))]) },
            left: Some(Box::new(op_row("a@example.com"))),
            right: Some(Box::new(op_row("b@example.com"))),
            fields: vec![s("email")],
        }),
        Record::Diff(Diff {
            op: DiffOp::Added,
            target: Target::Key { db: 0, key: b"apikey:42".to_vec() },
            left: None,
            right: Some(Box::new(Record::Redis(redis(b"apikey:42", RedisValue::Hash(pairs(&[(b"name", b"prod")])))))),
            fields: vec![],
        }),
        Record::Diff(Diff {
            op: DiffOp::Removed,
            target: Target::Row { table: s("t"), id: key_id(vec![("a", Value::Int(1)), ("b", text("x"))]) },
            left: Some(Box::new(row("t", vec![("a", Value::Int(1)), ("b", text("x"))]))),
            right: None,
            fields: vec![],
        }),
    ];
    assert_eq!(load("diff.ndjson"), expected);
}

#[test]
fn delete_lines() {
    let expected = vec![
        Record::Delete(Delete {
            target: Target::Row { table: s("operators"), id: RowData(vec![(s("id"), Value::Int(5))]) },
        }),
        Record::Delete(Delete { target: Target::Key { db: 0, key: b"session:abc".to_vec() } }),
        Record::Delete(Delete { target: Target::Key { db: 3, key: vec![0xff] } }),
    ];
    assert_eq!(load("delete.ndjson"), expected);
}

#[test]
fn sealed_stream_with_its_end_line() {
    let got = load("end.ndjson");
    assert_eq!(got.len(), 5);
    let Record::End(t) = &got[4] else { panic!("last line is not an end line: {:?}", got[4]) };
    assert_eq!(t.records, 3);
    assert_eq!(t.stream_blake3, "73ba09e2e2cda2a6a3e0dd73e7a892b654f8a45ecd592df4298a2e732623a84d");
    // The digest covers every byte before the end line (the header included).
    let bytes = fs::read(path("end.ndjson")).unwrap();
    let body_len = bytes.len() - bytes.rsplit(|&b| b == b'\n').nth(1).unwrap().len() - 1;
    assert_eq!(blake3::hash(&bytes[..body_len]).to_hex().as_str(), t.stream_blake3);
    let mut reader = RecordReader::new(&bytes[..]);
    while reader.next_record().unwrap().is_some() {}
    assert!(reader.all_sealed());
    assert_eq!(reader.segments()[0].records, 3);
}

fn check_two_segments(reader: &RecordReader<impl std::io::BufRead>) {
    let segs = reader.segments();
    assert_eq!(segs.len(), 2, "{segs:?}");
    assert!(segs.iter().all(|s| s.sealed));
    assert_eq!((segs[0].first_line, segs[0].records), (1, 3));
    assert_eq!((segs[1].first_line, segs[1].records), (6, 1));
    assert_eq!(segs[0].header.as_ref().and_then(|h| h.tool.as_deref()), Some("mysql-export 0.1.0"));
    assert_eq!(segs[1].header.as_ref().and_then(|h| h.tool.as_deref()), Some("redis-export 0.1.0"));
}

#[test]
fn concatenated_streams_are_two_sealed_segments() {
    let got = load("concatenated.ndjson");
    let kinds: Vec<&str> = got.iter().map(Record::kind).collect();
    assert_eq!(kinds, ["header", "schema", "row", "row", "end", "header", "redis", "end"]);
    let bytes = fs::read(path("concatenated.ndjson")).unwrap();
    let mut reader = RecordReader::new(&bytes[..]);
    while reader.next_record().unwrap().is_some() {}
    check_two_segments(&reader);
}

#[test]
fn zstd_fixture_reads_like_the_plain_file() {
    let compressed = fs::read(path("concatenated.ndjson.zst")).unwrap();
    assert_eq!(&compressed[..4], &decant_record::io::ZSTD_MAGIC);
    let mut reader = RecordReader::new(open_input(Some(&path("concatenated.ndjson.zst"))).unwrap());
    let mut zst = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        zst.push(r);
    }
    check_two_segments(&reader);
    assert_eq!(zst, load("concatenated.ndjson"));
}

#[test]
fn schema_attributes_of_a_later_version_are_accepted() {
    let line = br#"{"kind":"schema","table":"t","columns":[{"name":"a","type":"int32","on_update":"current_timestamp","a_future_attribute":{"x":1}}],"checks":[{"name":"c","clause":"a > 0","enforced":false}],"a_future_table_attribute":[1]}"#;
    let Record::Schema(t) = Record::decode(line).unwrap() else { panic!("not a schema line") };
    assert_eq!(t.columns[0].on_update.as_deref(), Some("current_timestamp"));
    assert_eq!(t.checks[0].clause, "a > 0");
}

/// DynamoDB items (DESIGN.md §2.2a): exact numbers, bytes, the three sets,
/// NULL, nested maps and lists; and the schema line's key_schema.
#[test]
fn dynamodb_items_and_key_schema() {
    use decant_record::schema::{KeyAttribute, KeySchema, KeyType};
    let records = load("dynamodb.ndjson");
    let Record::Schema(schema) = &records[0] else { panic!("not a schema line") };
    assert_eq!(
        schema.key_schema,
        Some(KeySchema {
            partition_key: KeyAttribute { name: s("pk"), ty: KeyType::S },
            sort_key: Some(KeyAttribute { name: s("sk"), ty: KeyType::N }),
        })
    );
    assert_eq!(schema.primary_key, vec![s("pk"), s("sk")]);
    assert_eq!(
        records[1],
        row(
            "users",
            vec![
                ("b", Value::Bytes(vec![0, 255])),
                ("bs", Value::BinarySet(vec![vec![0], vec![255]])),
                (
                    "m",
                    Value::Object(vec![
                        (
                            s("l"),
                            Value::Array(vec![
                                Value::Number(s("0.5")),
                                Value::Null,
                                Value::StringSet(vec![s("a"), s("b")]),
                                Value::Array(vec![]),
                            ]),
                        ),
                        (s("x"), Value::Object(vec![(s("$ns"), text("a plain object"))])),
                    ]),
                ),
                ("pk", text("u#1")),
                ("sk", Value::Int(1)),
                ("t", Value::Bool(true)),
            ]
        )
    );
    assert_eq!(
        records[2],
        row(
            "users",
            vec![
                ("n38", Value::Number(s("-12345678901234567890123456789012345678"))),
                ("ns", Value::NumberSet(vec![s("-1"), s("2.5E+3")])),
                ("nul", Value::Null),
                ("pk", text("u#2")),
                ("sk", Value::Number(s("9007199254740993"))),
                ("ss", Value::StringSet(vec![s("é"), s("𝄞")])),
            ]
        )
    );
    // A set is not a list, and a bad number is an error naming it.
    assert_ne!(Value::StringSet(vec![s("a")]), Value::Array(vec![text("a")]));
    for bad in [
        r#"{"$n":"1.2.3"}"#,
        r#"{"$n":"0x10"}"#,
        r#"{"$ns":["1","x"]}"#,
        r#"{"$bs":["not base64!"]}"#,
        r#"{"$ss":[1]}"#,
    ] {
        let line = format!(r#"{{"kind":"row","table":"t","data":{{"a":{bad}}}}}"#);
        assert!(Record::decode(line.as_bytes()).is_err(), "{bad} must be rejected");
    }
}
