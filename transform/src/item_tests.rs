//! Tests of rows ↔ DynamoDB items through specs: the ID transformation a
//! single-table design writes by hand (`pk = "USER#{id}"`, `sk = "ORDER#{id}"`),
//! routing items back to tables by their keys with `where_match` captures,
//! and date-times as ISO text or epoch numbers at the column's precision.

use decant_record::{Record, Row, RowData, Value};

use crate::Transformer;

fn row(table: &str, data: &[(&str, Value)]) -> Record {
    Record::Row(Row {
        table: table.into(),
        data: RowData(data.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()),
    })
}

fn s(t: &str) -> Value {
    Value::String(t.into())
}

/// The one row `t` makes of `rec` (its table and data as JSON), or the error.
fn one(t: &Transformer, rec: &Record) -> Result<(String, String), String> {
    let applied = t.apply(rec).map_err(|e| e.to_string())?;
    assert_eq!(applied.records.len(), 1, "{applied:?}");
    match &applied.records[0] {
        Record::Row(r) => Ok((r.table.clone(), Value::Object(r.data.0.clone()).to_json_string())),
        other => panic!("not a row: {other:?}"),
    }
}

const ITEMS_TO_ROWS: &str = r#"
    [[schema]]
    table = "orders"
    primary_key = ["id"]
    columns = [
      { name = "id", type = "int64", nullable = false },
      { name = "user_id", type = "int64", nullable = false },
      { name = "placed_at", type = "datetime", precision = 6, nullable = false },
      { name = "paid_at", type = "datetime", precision = 3 },
    ]

    [[rule]]
    name = "users"
    match_table = "app"
    where_match = { pk = "USER#{id}", sk = "PROFILE" }
    to_table = "users"
    ignore_fields = ["pk", "sk"]
    columns = [{ name = "id", from = "{id}", cast = "int" }, { name = "email", from = "email" }]

    [[rule]]
    name = "orders"
    match_table = "app"
    where_match = { pk = "USER#{user_id}", sk = "ORDER#{id}" }
    to_table = "orders"
    ignore_fields = ["pk", "sk"]
    columns = [
      { name = "id", from = "{id}" },
      { name = "user_id", from = "{user_id}" },
      { name = "placed_at", from = "placed_at" },
      { name = "paid_at", from = "paid_at", format = "epoch_ms" },
    ]
"#;

#[test]
fn where_match_captures_give_ids_back_and_route_by_sort_key() {
    let t = Transformer::from_toml(ITEMS_TO_ROWS).unwrap();
    let profile = row("app", &[("pk", s("USER#42")), ("sk", s("PROFILE")), ("email", s("a@example.com"))]);
    assert_eq!(one(&t, &profile).unwrap(), ("users".into(), r#"{"id":42,"email":"a@example.com"}"#.into()));
    let order = row(
        "app",
        &[
            ("pk", s("USER#42")),
            ("sk", s("ORDER#7")),
            ("placed_at", s("2025-01-01T09:30:00.123456Z")),
            ("paid_at", Value::Int(1_735_723_800_123)),
        ],
    );
    // Captures take the declared column's type; ISO text with Z and epoch ms
    // come back as naive UTC date-times at the column's precision.
    assert_eq!(
        one(&t, &order).unwrap(),
        (
            "orders".into(),
            r#"{"id":7,"user_id":42,"placed_at":"2025-01-01T09:30:00.123456","paid_at":"2025-01-01T09:30:00.123"}"#
                .into()
        )
    );
    // An item whose keys no rule knows is taken by none (--unmatched decides).
    let other = row("app", &[("pk", s("TENANT#1")), ("sk", s("PROFILE"))]);
    assert_eq!(t.apply(&other).unwrap().rule, None);
    // A capture that is not a number, for an int64 column: an error naming the column.
    let bad = row("app", &[("pk", s("USER#x1")), ("sk", s("ORDER#7")), ("placed_at", s("2025-01-01T00:00:00Z"))]);
    let err = one(&t, &bad).unwrap_err();
    assert!(err.contains("column \"user_id\"") && err.contains("x1"), "{err}");
}

#[test]
fn a_finer_epoch_than_the_column_is_an_error_not_a_silent_rounding() {
    let t = Transformer::from_toml(ITEMS_TO_ROWS).unwrap();
    let order =
        row("app", &[("pk", s("USER#1")), ("sk", s("ORDER#2")), ("placed_at", s("2025-01-01T09:30:00.1234567Z"))]);
    let err = one(&t, &order).unwrap_err();
    assert!(err.contains("placed_at") && err.contains("finer"), "{err}");
}

#[test]
fn row_captures_are_checked_when_the_spec_is_read() {
    let unknown = ITEMS_TO_ROWS.replace(r#"from = "{user_id}""#, r#"from = "{uid}""#);
    let err = Transformer::from_toml(&unknown).unwrap_err().0;
    assert!(err.contains("{uid}") && err.contains("{user_id}"), "{err}");
    let twice = ITEMS_TO_ROWS.replace(r#"sk = "ORDER#{id}""#, r#"sk = "ORDER#{user_id}""#);
    let err = Transformer::from_toml(&twice).unwrap_err().0;
    assert!(err.contains("also captured"), "{err}");
    let none = r#"
        [[rule]]
        match_table = "app"
        to_table = "users"
        columns = [{ name = "id", from = "{id}" }]
    "#;
    let err = Transformer::from_toml(none).unwrap_err().0;
    assert!(err.contains("where_match"), "{err}");
}

const ROWS_TO_ITEMS: &str = r#"
    [[rule]]
    name = "users"
    match_table = "users"
    to_table = "app"
    columns = [
      { name = "pk", template = "USER#{id}" },
      { name = "sk", const = "PROFILE" },
      { name = "created_at", from = "created_at", cast = "string", format = "%Y-%m-%dT%H:%M:%S.%6fZ" },
      { name = "seen_s", from = "created_at", cast = "epoch_s", round = "truncate" },
      { name = "seen_ms", from = "created_at", cast = "epoch_ms", round = "truncate" },
    ]

    [[rule]]
    name = "orders"
    match_table = "orders"
    to_table = "app"
    columns = [
      { name = "pk", template = "USER#{user_id}" },
      { name = "sk", template = "ORDER#{id}" },
    ]
"#;

#[test]
fn rows_become_single_table_items() {
    let t = Transformer::from_toml(ROWS_TO_ITEMS).unwrap();
    let user = row("users", &[("id", Value::Int(42)), ("created_at", s("2025-01-01T09:30:00.123456"))]);
    assert_eq!(
        one(&t, &user).unwrap().1,
        r#"{"pk":"USER#42","sk":"PROFILE","created_at":"2025-01-01T09:30:00.123456Z","seen_s":1735723800,"seen_ms":1735723800123}"#
    );
    let order = row("orders", &[("id", Value::Int(7)), ("user_id", Value::Int(42))]);
    assert_eq!(one(&t, &order).unwrap(), ("app".into(), r#"{"pk":"USER#42","sk":"ORDER#7"}"#.into()));
}

#[test]
fn rows_to_items_and_back_give_the_same_rows() {
    let there = Transformer::from_toml(ROWS_TO_ITEMS).unwrap();
    let back = Transformer::from_toml(ITEMS_TO_ROWS).unwrap();
    let order = row("orders", &[("id", Value::Int(7)), ("user_id", Value::Int(42))]);
    let items = there.apply(&order).unwrap().records;
    let mut item = items[0].clone();
    if let Record::Row(r) = &mut item {
        r.data.0.push(("placed_at".into(), s("2025-01-01T09:30:00.000001Z")));
    }
    assert_eq!(
        one(&back, &item).unwrap(),
        ("orders".into(), r#"{"id":7,"user_id":42,"placed_at":"2025-01-01T09:30:00.000001","paid_at":null}"#.into())
    );
}
