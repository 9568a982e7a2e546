//! The shipped relay specs applied to hand-made records (pure: no servers).

use std::path::PathBuf;

use decant_record::{Record, RedisRecord, RedisValue, Row, RowData, StreamEntry, StreamValue, Value};
use decant_transform::Transformer;

fn spec(name: &str) -> Transformer {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
    Transformer::from_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn redis(key: &str, expire: Option<i64>, value: RedisValue) -> Record {
    Record::Redis(RedisRecord {
        db: 0,
        key: key.as_bytes().to_vec(),
        expire_at_ms: expire,
        value,
        part: None,
        last: false,
        dump: None,
        field_expire_at_ms: Vec::new(),
    })
}

fn hash(pairs: &[(&str, &[u8])]) -> RedisValue {
    RedisValue::Hash(pairs.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.to_vec())).collect())
}

fn rows(t: &Transformer, rec: &Record) -> Vec<Row> {
    let applied = t.apply(rec).unwrap_or_else(|e| panic!("{e}"));
    assert!(applied.rule.is_some(), "no rule matched {rec:?}");
    applied
        .records
        .into_iter()
        .map(|r| match r {
            Record::Row(row) => row,
            other => panic!("expected a row, got {other:?}"),
        })
        .collect()
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

const PERMS: &str = r#"{"scope": "claude", "models": ["claude-opus-4", "gpt-4o"], "restrictModels": true}"#;

fn apikey() -> Record {
    redis(
        "apikey:0b7c6a3e-1111-4222-8333-944445555666",
        None,
        hash(&[
            ("id", b"0b7c6a3e-1111-4222-8333-944445555666"),
            ("name", "测试-7".as_bytes()),
            ("description", b"CI runner\nline two"),
            ("apiKey", b"5f2d"),
            ("tokenLimit", b"1000000"),
            ("concurrencyLimit", b"7"),
            ("rateLimitWindow", b"60"),
            ("rateLimitRequests", b"999"),
            ("isActive", b"true"),
            ("permissions", PERMS.as_bytes()),
            ("claudeAccountId", b""),
            ("createdAt", b"2025-03-04T05:06:07.080Z"),
            ("lastUsedAt", b""),
            ("expiresAt", b"2026-03-04T05:06:07.000Z"),
            ("dailyCostLimit", b"12.30"),
        ]),
    )
}

#[test]
fn api_key_hash_becomes_a_typed_row() {
    let t = spec("relay-to-mysql.toml");
    let r = rows(&t, &apikey());
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].table, "api_keys");
    let d = &r[0].data;
    assert_eq!(d.get("id"), Some(&s("0b7c6a3e-1111-4222-8333-944445555666")));
    assert_eq!(d.get("name"), Some(&s("测试-7")));
    assert_eq!(d.get("token_limit"), Some(&Value::Int(1_000_000)));
    assert_eq!(d.get("is_active"), Some(&Value::Bool(true)));
    assert!(matches!(d.get("permissions"), Some(Value::Object(m)) if m[0] == ("scope".into(), s("claude"))));
    assert_eq!(d.get("claude_account_id"), Some(&Value::Null));
    assert_eq!(d.get("created_at"), Some(&s("2025-03-04T05:06:07.080")));
    assert_eq!(d.get("last_used_at"), Some(&Value::Null));
    assert_eq!(d.get("daily_cost_limit"), Some(&s("12.30")));
    assert_eq!(d.len(), 15);
}

#[test]
fn binary_tokens_stay_bytes() {
    let t = spec("relay-to-mysql.toml");
    let raw = b"\x80\xff\x00binary token".to_vec();
    let rec = redis(
        "gemini_account:a1",
        None,
        hash(&[
            ("id", b"a1"),
            ("name", b"gemini_account 0"),
            ("email", b"user0@example.com"),
            ("accessToken", b"QUJD"),
            ("refreshToken", &raw),
            ("encryptedIv", b"00ff"),
            ("isActive", b"true"),
            ("status", b"active"),
            ("proxy", br#"{"type": "socks5", "host": "127.0.0.1", "port": 1080}"#),
            ("createdAt", b"2025-01-01T00:00:00.000Z"),
            ("priority", b"5"),
        ]),
    );
    let r = rows(&t, &rec);
    assert_eq!(r[0].table, "accounts");
    assert_eq!(r[0].data.get("platform"), Some(&s("gemini")));
    assert_eq!(r[0].data.get("refresh_token"), Some(&Value::Bytes(raw)));
    assert_eq!(r[0].data.get("access_token"), Some(&s("QUJD")));
    let line = Record::Row(r[0].clone()).to_json_string();
    assert!(line.contains(r#""refresh_token":{"$b64":"#), "{line}");
}

#[test]
fn daily_usage_keeps_its_ttl_and_date_capture() {
    let t = spec("relay-to-mysql.toml");
    let rec = redis(
        "usage:k1:daily:2025-07-20",
        Some(1_760_000_000_123),
        hash(&[
            ("requests", b"10"),
            ("inputTokens", b"1"),
            ("outputTokens", b"2"),
            ("cacheCreateTokens", b"3"),
            ("cacheReadTokens", b"4"),
            ("allTokens", b"10"),
            ("cost", b"1.500000"),
        ]),
    );
    let r = rows(&t, &rec);
    assert_eq!(r[0].table, "usage_stats");
    assert_eq!(r[0].data.get("key_id"), Some(&s("k1")));
    assert_eq!(r[0].data.get("date"), Some(&s("2025-07-20")));
    assert_eq!(r[0].data.get("expire_at_ms"), Some(&Value::Int(1_760_000_000_123)));
    assert_eq!(r[0].data.get("cost"), Some(&s("1.500000")));
}

#[test]
fn lists_explode_with_positions_and_spread_json() {
    let t = spec("relay-to-mysql.toml");
    let el = |ts: &str, status: u32| {
        format!(
            r#"{{"timestamp":"{ts}","model":"gpt-4o","inputTokens":5,"outputTokens":6,"cost":0.25,"status":{status}}}"#
        )
        .into_bytes()
    };
    let mut rec = RedisRecord {
        db: 0,
        key: b"usage:records:k9".to_vec(),
        expire_at_ms: None,
        value: RedisValue::List(vec![el("2025-01-01T00:00:00.000Z", 200), el("2025-01-02T00:00:00.500Z", 429)]),
        part: None,
        last: false,
        dump: None,
        field_expire_at_ms: Vec::new(),
    };
    let r = rows(&t, &Record::Redis(rec.clone()));
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].data.get("position"), Some(&Value::Int(1)));
    assert_eq!(r[1].data.get("timestamp"), Some(&s("2025-01-02T00:00:00.500")));
    assert_eq!(r[1].data.get("status"), Some(&Value::Int(429)));
    assert_eq!(r[1].data.get("cost"), Some(&s("0.25")));
    assert_eq!(r[1].data.get("input_tokens"), Some(&Value::Int(5)));

    // A later part of a split list continues the positions.
    rec.part = Some(1);
    let mut caps = Vec::new();
    let mut out = Vec::new();
    t.apply_into(&Record::Redis(rec), 40, &mut caps, &mut out).unwrap();
    let Record::Row(first) = &out[0] else { panic!() };
    assert_eq!(first.data.get("position"), Some(&Value::Int(40)));
}

#[test]
fn zsets_sets_streams_and_big_hashes_explode() {
    let t = spec("relay-to-mysql.toml");
    let z = redis(
        "concurrency:k2",
        None,
        RedisValue::ZSet(vec![(b"req-a".to_vec(), 1_700_000_000_123.0), (b"req-b".to_vec(), 1_700_000_000_999.0)]),
    );
    let r = rows(&t, &z);
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].data.get("request_id"), Some(&s("req-b")));
    assert_eq!(r[1].data.get("score"), Some(&Value::Float(1_700_000_000_999.0)));

    let set = redis("admin:usernames", None, RedisValue::Set(vec![b"admin0".to_vec(), b"admin1".to_vec()]));
    let r = rows(&t, &set);
    assert_eq!(r.iter().map(|r| r.table.as_str()).collect::<Vec<_>>(), ["admin_usernames", "admin_usernames"]);

    let m = redis("apikey_hash_map", None, hash(&[("h1", b"k1"), ("h2", b"k2")]));
    let r = rows(&t, &m);
    assert_eq!(r[1].data, RowData(vec![("api_key_hash".into(), s("h2")), ("key_id".into(), s("k2"))]));

    let st = redis(
        "events:stream",
        None,
        RedisValue::Stream(StreamValue {
            entries: vec![StreamEntry {
                id: "1735689600000-0".into(),
                fields: vec![
                    (b"type".to_vec(), b"req".to_vec()),
                    (b"keyId".to_vec(), b"k1".to_vec()),
                    (b"latencyMs".to_vec(), b"42".to_vec()),
                ],
            }],
            ..StreamValue::default()
        }),
    );
    let r = rows(&t, &st);
    assert_eq!(r[0].data.get("id"), Some(&s("1735689600000-0")));
    assert_eq!(r[0].data.get("latency_ms"), Some(&Value::Int(42)));
}

#[test]
fn sessions_spread_their_json_and_keep_the_document() {
    let t = spec("relay-to-mysql.toml");
    let doc = r#"{"adminId":3,"ip":"10.1.2.3","ua":"Mozilla/5.0","loginAt":"2025-01-01T00:00:03.000Z"}"#;
    let rec = redis("session:abc", Some(1_800_000_000_000), RedisValue::String(doc.as_bytes().to_vec()));
    let r = rows(&t, &rec);
    assert_eq!(r[0].data.get("admin_id"), Some(&Value::Int(3)));
    assert_eq!(r[0].data.get("login_at"), Some(&s("2025-01-01T00:00:03.000")));
    assert_eq!(r[0].data.get("data").map(|v| v.to_json_string()), Some(doc.to_owned()));
    assert_eq!(r[0].data.get("expire_at_ms"), Some(&Value::Int(1_800_000_000_000)));
}

#[test]
fn cast_failures_name_rule_key_column_and_field() {
    let t = spec("relay-to-mysql.toml");
    let Record::Redis(mut r) = apikey() else { unreachable!() };
    let RedisValue::Hash(pairs) = &mut r.value else { unreachable!() };
    pairs.iter_mut().find(|(f, _)| f == b"tokenLimit").unwrap().1 = b"lots".to_vec();
    let e = t.apply(&Record::Redis(r)).unwrap_err().to_string();
    assert!(e.contains("rule \"api_keys\""), "{e}");
    assert!(e.contains("key \"apikey:0b7c6a3e"), "{e}");
    assert!(e.contains("column \"token_limit\""), "{e}");
    assert!(e.contains("field \"tokenLimit\""), "{e}");
    assert!(e.contains("\"lots\" is not an integer"), "{e}");
}

#[test]
fn unknown_fields_and_unmatched_keys_are_not_lost() {
    let t = spec("relay-to-mysql.toml");
    let Record::Redis(mut r) = apikey() else { unreachable!() };
    let RedisValue::Hash(pairs) = &mut r.value else { unreachable!() };
    pairs.push((b"newField".to_vec(), b"x".to_vec()));
    let e = t.apply(&Record::Redis(r)).unwrap_err().to_string();
    assert!(e.contains("hash field \"newField\" is not mapped"), "{e}");

    let other = redis("something:else", None, RedisValue::String(b"x".to_vec()));
    assert_eq!(t.apply(&other).unwrap().rule, None);
    // A key of the right name but the wrong type is not taken by a typed rule.
    let wrong = redis("apikey:1", None, RedisValue::String(b"x".to_vec()));
    assert_eq!(t.apply(&wrong).unwrap().rule, None);
}

/// Sorts object members, as JSON stores (MySQL 8, PostgreSQL jsonb) and
/// exporters parsing into sorted maps give them back.
fn sort_members(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut m: Vec<(String, Value)> = m.iter().map(|(k, v)| (k.clone(), sort_members(v))).collect();
            m.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(m)
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_members).collect()),
        other => other.clone(),
    }
}

/// What `mysql-export` may give back for a row written from `row`: BOOL
/// (TINYINT(1)) as 0/1, JSON documents with their members reordered.
fn as_exported(row: &Row) -> Record {
    let data = row
        .data
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Bool(b) => Value::Int(*b as i128),
                other => sort_members(other),
            };
            (k.to_owned(), v)
        })
        .collect();
    Record::Row(Row { table: row.table.clone(), data })
}

fn sorted_pairs(v: &RedisValue) -> Vec<(Vec<u8>, Vec<u8>)> {
    let RedisValue::Hash(p) = v else { panic!("not a hash: {v:?}") };
    let mut p = p.clone();
    p.sort();
    p
}

#[test]
fn warm_up_spec_gives_back_the_original_hashes() {
    let fwd = spec("relay-to-mysql.toml");
    let back = spec("mysql-to-relay.toml");
    let originals = [
        apikey(),
        redis(
            "claude_account:c1",
            None,
            hash(&[
                ("id", b"c1"),
                ("name", b"claude_account 0"),
                ("email", b"user0@example.com"),
                ("accessToken", b"QUJD"),
                ("refreshToken", b"\x80\xff\x01raw"),
                ("encryptedIv", b"00ff"),
                ("isActive", b"true"),
                ("status", b"rate_limited"),
                ("proxy", b""),
                ("createdAt", b"2025-01-01T00:00:00.000Z"),
                ("priority", b"50"),
            ]),
        ),
        redis(
            "usage:k1:daily:2025-07-20",
            Some(1_760_000_000_123),
            hash(&[
                ("requests", b"10"),
                ("inputTokens", b"1"),
                ("outputTokens", b"2"),
                ("cacheCreateTokens", b"3"),
                ("cacheReadTokens", b"4"),
                ("allTokens", b"10"),
                ("cost", b"0.000100"),
            ]),
        ),
        redis(
            "admin:a1",
            None,
            hash(&[
                ("id", b"a1"),
                ("username", b"admin0"),
                ("passwordHash", b"$2b$10$abc"),
                ("createdAt", b"2025-01-01T00:00:00.000Z"),
                ("lastLogin", b"2025-01-04T00:00:00.000Z"),
            ]),
        ),
    ];
    for original in &originals {
        let row = rows(&fwd, original).remove(0);
        let applied = back.apply(&as_exported(&row)).unwrap_or_else(|e| panic!("{e}"));
        let [Record::Redis(warm)] = applied.records.as_slice() else { panic!("{applied:?}") };
        let Record::Redis(orig) = original else { unreachable!() };
        assert_eq!(warm.key, orig.key);
        assert_eq!(warm.expire_at_ms, orig.expire_at_ms);
        assert_eq!(sorted_pairs(&warm.value), sorted_pairs(&orig.value), "{}", String::from_utf8_lossy(&orig.key));
    }

    let doc = r#"{"adminId":3,"ip":"10.1.2.3","ua":"Mozilla/5.0","loginAt":"2025-01-01T00:00:03.000Z"}"#;
    let session = redis("session:abc", Some(1_800_000_000_000), RedisValue::String(doc.as_bytes().to_vec()));
    let row = rows(&fwd, &session).remove(0);
    let applied = back.apply(&as_exported(&row)).unwrap();
    assert_eq!(applied.records, vec![session]);
}

#[test]
fn spec_errors_name_the_rule_and_field() {
    let cases = [
        (
            r#"[[rule]]
match = "a:{id}"
to_table = "t"
columns = [{ name = "x", from = "{nope}" }]"#,
            "rule \"t\": \"{nope}\": pattern \"a:{id}\" has no capture {nope}",
        ),
        (
            r#"[[rule]]
name = "r"
match = "a:{id}"
type = "hash"
to_table = "t"
columns = [{ name = "x", cast = "integer64" }]"#,
            "rule \"r\": column \"x\": unknown cast \"integer64\"",
        ),
        (
            r#"[[schema]]
table = "t"
columns = [{ name = "id", type = "int64", nullable = false }, { name = "v", type = "text" }]
[[rule]]
name = "r"
match = "a:{id}"
to_table = "t"
columns = [{ name = "v", from = "v" }]"#,
            "table \"t\" column \"id\" is NOT NULL without a default",
        ),
        (
            r#"[[schema]]
table = "t"
columns = [{ name = "id", type = "int64", nulable = false }]
[[rule]]
match = "a"
drop = true"#,
            "column \"id\": unknown key \"nulable\"",
        ),
        (
            r#"[[rule]]
match = "a:{id}"
type = "list"
to_table = "t"
columns = [{ name = "x", from = "field" }]"#,
            "names a field, but a list key has none",
        ),
        (
            r#"[[rule]]
match = "a:{id}{b}"
drop = true"#,
            "follows another capture directly",
        ),
        (
            r#"[[rule]]
match = "a"
to_table = "t"
colums = []"#,
            "unknown field `colums`",
        ),
    ];
    for (text, want) in cases {
        let e = Transformer::from_toml(text).unwrap_err().to_string();
        assert!(e.contains(want), "{e}\n--- wanted: {want}");
    }
}

#[test]
fn rows_are_reshaped_with_their_schema() {
    let t = Transformer::from_toml(
        r#"[[rule]]
match_table = "users"
to_table = "accounts"
rename = { mail = "email" }
drop_columns = ["legacy"]
casts = { age = "int" }
"#,
    )
    .unwrap();
    let row = Record::Row(Row {
        table: "users".into(),
        data: RowData(vec![
            ("id".into(), Value::Int(1)),
            ("mail".into(), s("a@example.com")),
            ("legacy".into(), s("x")),
            ("age".into(), s("42")),
        ]),
    });
    let out = t.apply(&row).unwrap().records;
    assert_eq!(
        out[0].to_json_string(),
        r#"{"kind":"row","table":"accounts","data":{"id":1,"email":"a@example.com","age":42}}"#
    );
    let mut schema = decant_record::TableSchema::new(
        "users",
        vec![
            decant_record::Column::new("id", decant_record::LogicalType::Int64),
            decant_record::Column::new("mail", decant_record::LogicalType::String),
            decant_record::Column::new("legacy", decant_record::LogicalType::Text),
            decant_record::Column::new("age", decant_record::LogicalType::Text),
        ],
    );
    schema.primary_key = vec!["id".into()];
    schema.indexes = vec![decant_record::Index { name: "m".into(), columns: vec!["mail".into()], unique: true }];
    let out = t.apply(&Record::Schema(schema)).unwrap().records;
    let Record::Schema(sc) = &out[0] else { panic!("{out:?}") };
    assert_eq!(sc.table, "accounts");
    assert_eq!(sc.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["id", "email", "age"]);
    assert_eq!(sc.columns[2].ty, decant_record::LogicalType::Int64);
    assert_eq!(sc.indexes[0].columns, ["email"]);

    let bad = Record::Row(Row { table: "users".into(), data: RowData(vec![("age".into(), s("old"))]) });
    let e = t.apply(&bad).unwrap_err().to_string();
    assert!(e.contains("column \"age\"") && e.contains("\"old\" is not an integer"), "{e}");
}
