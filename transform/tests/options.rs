//! Spec options one by one, on hand-made records.

use decant_record::{Record, RedisRecord, RedisValue, Row, RowData, Value};
use decant_transform::Transformer;

fn hash_key(key: &str, pairs: &[(&str, &str)]) -> Record {
    Record::Redis(RedisRecord {
        db: 0,
        key: key.as_bytes().to_vec(),
        expire_at_ms: None,
        value: RedisValue::Hash(pairs.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()),
        part: None,
        last: false,
        dump: None,
        field_expire_at_ms: Vec::new(),
    })
}

fn row(table: &str, cols: &[(&str, Value)]) -> Record {
    Record::Row(Row {
        table: table.into(),
        data: RowData(cols.iter().map(|(k, v)| ((*k).into(), v.clone())).collect()),
    })
}

fn one(t: &Transformer, rec: &Record) -> String {
    let out = t.apply(rec).unwrap_or_else(|e| panic!("{e}")).records;
    assert_eq!(out.len(), 1, "{out:?}");
    out[0].to_json_string()
}

#[test]
fn where_filters_and_drop_rules() {
    let t = Transformer::from_toml(
        r#"
[[rule]]
name = "active"
match = "acct:{id}"
type = "hash"
where = { status = "active" }
to_table = "accounts"
extra_fields = "ignore"
columns = [{ name = "id", from = "{id}" }, { name = "kind", const = "live" }]

[[rule]]
name = "inactive"
match = "acct:{id}"
drop = true
"#,
    )
    .unwrap();
    let active = hash_key("acct:1", &[("status", "active")]);
    assert_eq!(one(&t, &active), r#"{"kind":"row","table":"accounts","data":{"id":"1","kind":"live"}}"#);
    let applied = t.apply(&hash_key("acct:2", &[("status", "closed")])).unwrap();
    assert_eq!(applied.rule, Some(1));
    assert!(applied.records.is_empty());
}

#[test]
fn extra_fields_can_be_collected_kept_or_defaulted() {
    let t = Transformer::from_toml(
        r#"
[[rule]]
match = "u:{id}"
to_table = "users"
extra_into = "attrs"
columns = [
  { name = "id", from = "{id}", cast = "int" },
  { name = "age", from = "age", cast = "int", default = 0 },
  { name = "seen", from = "seen", cast = "datetime", format = "epoch_ms" },
]
"#,
    )
    .unwrap();
    let rec = hash_key("u:7", &[("seen", "1700000000123"), ("color", "red"), ("size", "L")]);
    assert_eq!(
        one(&t, &rec),
        r#"{"kind":"row","table":"users","data":{"id":7,"age":0,"seen":"2023-11-14T22:13:20.123","attrs":{"color":"red","size":"L"}}}"#
    );
}

#[test]
fn rows_become_keys_of_every_type_with_ttls() {
    let t = Transformer::from_toml(
        r#"
[[rule]]
name = "h"
match_table = "api_keys"
to_key = "apikey:{id}"
ttl_from = "expires"
json_style = "python"
columns = [
  { name = "perm", from = "perm" },
  { name = "created", from = "created", format = "%Y-%m-%dT%H:%M:%S.%3fZ" },
  { name = "on", from = "on", cast = "bool" },
  { name = "note", from = "note", null = "empty" },
  { name = "gone", from = "gone" },
]
ignore_fields = ["id"]

[[rule]]
name = "z"
match_table = "leases"
to_key = "concurrency:{key_id}"
to_type = "zset"
member = "req"
score = "score"

[[rule]]
name = "s"
match_table = "sessions"
to_key = "session:{token}"
to_type = "string"
value = "data"
ttl_from = "expires"
"#,
    )
    .unwrap();
    let r = row(
        "api_keys",
        &[
            ("id", Value::String("k1".into())),
            ("perm", Value::Object(vec![("scope".into(), Value::String("all".into()))])),
            ("created", Value::String("2025-03-04T05:06:07.08".into())),
            ("on", Value::Int(1)),
            ("note", Value::Null),
            ("gone", Value::Null),
            ("expires", Value::String("2030-01-01T00:00:00Z".into())),
        ],
    );
    assert_eq!(
        one(&t, &r),
        r#"{"kind":"redis","db":0,"key":"apikey:k1","type":"hash","expire_at_ms":1893456000000,"value":{"perm":"{\"scope\": \"all\"}","created":"2025-03-04T05:06:07.080Z","on":"true","note":""}}"#
    );
    let z = row(
        "leases",
        &[("key_id", Value::String("k".into())), ("req", Value::String("r1".into())), ("score", Value::Float(1.5))],
    );
    assert_eq!(
        one(&t, &z),
        r#"{"kind":"redis","db":0,"key":"concurrency:k","type":"zset","expire_at_ms":null,"value":[["r1",1.5]]}"#
    );
    let s = row(
        "sessions",
        &[("token", Value::String("t".into())), ("data", Value::String("x".into())), ("expires", Value::Int(5))],
    );
    assert_eq!(
        one(&t, &s),
        r#"{"kind":"redis","db":0,"key":"session:t","type":"string","expire_at_ms":5,"value":"x"}"#
    );

    // A key cannot be built from a NULL column.
    let bad = row("sessions", &[("token", Value::Null), ("data", Value::String("x".into())), ("expires", Value::Null)]);
    let e = t.apply(&bad).unwrap_err().to_string();
    assert!(e.contains("key template \"session:{token}\": column \"token\" is missing or NULL"), "{e}");
}
