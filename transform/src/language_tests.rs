//! Tests of the spec language's value-building options (`round`,
//! `precision`, `scale`, epoch casts, `template`, `coalesce`, `$hash`,
//! typed defaults, `json_style = "javascript"`), through whole rules.

use decant_record::{Record, RedisRecord, RedisValue, Row, RowData, Value};

use crate::Transformer;

fn hash(key: &str, fields: &[(&str, &str)]) -> Record {
    Record::Redis(RedisRecord {
        db: 0,
        key: key.as_bytes().to_vec(),
        expire_at_ms: None,
        value: RedisValue::Hash(fields.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()),
        part: None,
        last: false,
        dump: None,
        field_expire_at_ms: Vec::new(),
    })
}

fn row(table: &str, data: &[(&str, Value)]) -> Record {
    Record::Row(Row {
        table: table.into(),
        data: RowData(data.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()),
    })
}

/// The data of the one row (or the one key) a spec makes of `rec`, as JSON.
fn out(spec: &str, rec: &Record) -> Result<String, String> {
    let t = Transformer::from_toml(spec).map_err(|e| format!("spec: {e}"))?;
    let applied = t.apply(rec).map_err(|e| e.to_string())?;
    assert_eq!(applied.records.len(), 1, "{applied:?}");
    Ok(match &applied.records[0] {
        Record::Row(r) => Value::Object(r.data.0.clone()).to_json_string(),
        other => other.to_json_string(),
    })
}

const EPOCH_RULE: &str = r#"
    [[rule]]
    match = "claude:account:{id}"
    type = "hash"
    to_table = "claude_accounts"
    columns = [
      { name = "id", from = "{id}" },
      { name = "expires_at", from = "expiresAt", cast = "datetime", format = "epoch_ms", precision = 0 ROUND },
    ]
"#;

#[test]
fn epoch_ms_into_a_datetime_of_whole_seconds_says_how() {
    let rec = hash("claude:account:a1", &[("expiresAt", "1733400000999")]);
    let err = out(&EPOCH_RULE.replace(" ROUND", ""), &rec).unwrap_err();
    assert!(err.contains("finer than the column's 0 fraction digits") && err.contains("round = \"truncate\""), "{err}");
    let truncated = out(&EPOCH_RULE.replace("ROUND", ", round = \"truncate\""), &rec).unwrap();
    assert_eq!(truncated, r#"{"id":"a1","expires_at":"2024-12-05T12:00:00"}"#);
    let rounded = out(&EPOCH_RULE.replace("ROUND", ", round = \"half_up\""), &rec).unwrap();
    assert_eq!(rounded, r#"{"id":"a1","expires_at":"2024-12-05T12:00:01"}"#);
    // A value that fits needs no rounding, and keeps no fraction.
    let whole = hash("claude:account:a1", &[("expiresAt", "1733400000000")]);
    assert_eq!(
        out(&EPOCH_RULE.replace(" ROUND", ""), &whole).unwrap(),
        r#"{"id":"a1","expires_at":"2024-12-05T12:00:00"}"#
    );
    // precision = 3 keeps the milliseconds.
    let ms = EPOCH_RULE.replace("precision = 0 ROUND", "precision = 3");
    assert_eq!(out(&ms, &rec).unwrap(), r#"{"id":"a1","expires_at":"2024-12-05T12:00:00.999"}"#);
}

#[test]
fn datetime_back_into_epoch_ms_and_s() {
    let spec = r#"
        [[rule]]
        match_table = "concurrency_leases"
        to_key = "concurrency:{key_id}"
        to_type = "zset"
        member = "request_id"
        score = { from = "expires_at", cast = "epoch_ms" }
    "#;
    let rec = row(
        "concurrency_leases",
        &[
            ("key_id", Value::String("k1".into())),
            ("request_id", Value::String("r1".into())),
            ("expires_at", Value::String("2024-12-05T12:00:00.250".into())),
        ],
    );
    let key = out(spec, &rec).unwrap();
    assert!(key.contains(r#""value":[["r1",1733400000250.0]]"#) || key.contains(r#"1733400000250"#), "{key}");
    let spec = r#"
        [[rule]]
        match_table = "accounts"
        to_key = "claude:account:{id}"
        columns = [
          { name = "expiresAt", from = "expires_at", cast = "epoch_ms" },
          { name = "createdAt", from = "created_at", cast = "epoch_s", round = "truncate" },
        ]
    "#;
    let rec = row(
        "accounts",
        &[
            ("id", Value::String("a1".into())),
            ("expires_at", Value::String("2024-12-05T12:00:00".into())),
            ("created_at", Value::String("2024-12-05T12:00:00.750".into())),
        ],
    );
    let key = out(spec, &rec).unwrap();
    assert!(key.contains(r#""value":{"expiresAt":"1733400000000","createdAt":"1733400000"}"#), "{key}");
    // A finer value without round is refused (epoch_s keeps whole seconds).
    let err = out(&spec.replace(", round = \"truncate\"", ""), &rec).unwrap_err();
    assert!(err.contains("round"), "{err}");
}

#[test]
fn decimal_rounding_is_opt_in() {
    let spec = r#"
        [[rule]]
        match = "usage:cost:daily:{key_id}:{date}"
        type = "string"
        to_table = "usage_costs"
        columns = [
          { name = "key_id", from = "{key_id}" },
          { name = "cost", from = "$value", cast = "decimal", scale = 6 ROUND },
        ]
    "#;
    let rec = Record::Redis(RedisRecord {
        db: 0,
        key: b"usage:cost:daily:k1:2026-12-05".to_vec(),
        expire_at_ms: None,
        value: RedisValue::String(b"0.12838372000000002".to_vec()),
        part: None,
        last: false,
        dump: None,
        field_expire_at_ms: Vec::new(),
    });
    let err = out(&spec.replace(" ROUND", ""), &rec).unwrap_err();
    assert!(err.contains("more than the column's 6 fraction digits") && err.contains("half_even"), "{err}");
    assert_eq!(
        out(&spec.replace("ROUND", ", round = \"half_even\""), &rec).unwrap(),
        r#"{"key_id":"k1","cost":"0.128384"}"#
    );
    // The scale of a declared [[schema]] column counts too.
    let declared = format!(
        "{}\n{}",
        r#"
        [[schema]]
        table = "usage_costs"
        columns = [{ name = "key_id", type = "string" }, { name = "cost", type = "decimal", precision = 20, scale = 6 }]
        "#,
        spec.replace(", cast = \"decimal\", scale = 6 ROUND", ", round = \"truncate\"")
    );
    assert_eq!(out(&declared, &rec).unwrap(), r#"{"key_id":"k1","cost":"0.128383"}"#);
    // round on a cast that has no scale is a spec error.
    let bad = spec.replace("cast = \"decimal\", scale = 6 ROUND", "cast = \"int\", round = \"half_even\"");
    assert!(out(&bad, &rec).unwrap_err().contains("round / precision / scale apply to decimal"));
}

#[test]
fn templates_over_captures_fields_and_dollar_values() {
    let spec = r#"
        [[rule]]
        match = "usage:daily:{key_id}:{date}"
        type = "hash"
        to_table = "usage_stats"
        extra_fields = "ignore"
        columns = [
          { name = "stat_key", template = "{key_id}:{date}" },
          { name = "month", template = "{date|%Y-%m}" },
          { name = "label", template = "{model}@{$key}" },
          { name = "created_month", template = "{createdAt|%Y-%m|epoch_ms}" },
          { name = "braces", template = "{{{key_id}}}" },
        ]
    "#;
    let rec = hash("usage:daily:k1:2026-12-05", &[("model", "opus"), ("createdAt", "1733400000000")]);
    assert_eq!(
        out(spec, &rec).unwrap(),
        r#"{"stat_key":"k1:2026-12-05","month":"2026-12","label":"opus@usage:daily:k1:2026-12-05","created_month":"2024-12","braces":"{k1}"}"#
    );
    // A missing part makes the column missing (NULL, or its default).
    let rec = hash("usage:daily:k1:2026-12-05", &[("createdAt", "1733400000000")]);
    assert!(out(spec, &rec).unwrap().contains(r#""label":null"#));
    // Rows → keys: columns of the row.
    let spec = r#"
        [[rule]]
        match_table = "usage_stats"
        to_key = "usage:daily:{key_id}:{date}"
        columns = [{ name = "period", template = "{date|%Y-%m}/{key_id}" }]
    "#;
    let rec =
        row("usage_stats", &[("key_id", Value::String("k1".into())), ("date", Value::String("2026-12-05".into()))]);
    assert!(out(spec, &rec).unwrap().contains(r#""value":{"period":"2026-12/k1"}"#));
    // An unknown source is a spec error naming it.
    let bad = r#"
        [[rule]]
        match = "a:{id}"
        type = "string"
        to_table = "t"
        columns = [{ name = "x", template = "{id}-{$nope}" }]
    "#;
    assert!(Transformer::from_toml(bad).unwrap_err().0.contains("$nope"));
}

#[test]
fn date_formatting() {
    let spec = r#"
        [[rule]]
        match_table = "usage_stats"
        to_key = "usage:monthly:{key_id}:{month}"
        to_type = "string"
        value = "requests"
    "#;
    // The month comes from a column formatted with %Y-%m first (a rule's
    // column), here through a template in a row rule.
    let t = Transformer::from_toml(spec).unwrap();
    let rec = row(
        "usage_stats",
        &[
            ("key_id", Value::String("k1".into())),
            ("month", Value::String("2026-12".into())),
            ("requests", Value::Int(3)),
        ],
    );
    assert!(t.apply(&rec).unwrap().records[0].to_json_string().contains(r#""key":"usage:monthly:k1:2026-12""#));
    let spec = r#"
        [[rule]]
        match = "usage:daily:{key_id}:{date}"
        type = "hash"
        to_table = "usage_stats"
        extra_fields = "ignore"
        columns = [
          { name = "month", from = "{date}", format = "%Y-%m" },
          { name = "day", from = "at", format = "%d/%m/%Y %H:%M" },
        ]
    "#;
    let rec = hash("usage:daily:k1:2026-12-05", &[("at", "2026-12-05T10:20:30Z")]);
    assert_eq!(out(spec, &rec).unwrap(), r#"{"month":"2026-12","day":"05/12/2026 10:20"}"#);
}

#[test]
fn coalesce_takes_the_first_present_source() {
    let spec = r#"
        [[rule]]
        match = "apikey:{id}"
        type = "hash"
        to_table = "api_keys"
        extra_fields = "ignore"
        columns = [{ name = "last_seen", coalesce = ["lastUsedAt", "updatedAt", "createdAt"] }]
    "#;
    let both = hash("apikey:1", &[("lastUsedAt", ""), ("updatedAt", "u"), ("createdAt", "c")]);
    assert_eq!(out(spec, &both).unwrap(), r#"{"last_seen":"u"}"#);
    let last = hash("apikey:1", &[("createdAt", "c")]);
    assert_eq!(out(spec, &last).unwrap(), r#"{"last_seen":"c"}"#);
    let none = hash("apikey:1", &[("other", "x")]);
    assert_eq!(out(spec, &none).unwrap(), r#"{"last_seen":null}"#);
    let bad = spec.replace(r#"["lastUsedAt", "updatedAt", "createdAt"]"#, r#"["lastUsedAt"]"#);
    assert!(Transformer::from_toml(&bad).unwrap_err().0.contains("two or more"));
    let both_ways = spec.replace("coalesce =", "from = \"x\", coalesce =");
    assert!(Transformer::from_toml(&both_ways).unwrap_err().0.contains("one of from, const, template or coalesce"));
}

#[test]
fn a_whole_hash_or_its_remaining_fields_as_one_json_column() {
    let whole = r#"
        [[rule]]
        match = "session:{token}"
        type = "hash"
        to_table = "sessions"
        columns = [
          { name = "token", from = "{token}" },
          { name = "user", from = "username" },
          { name = "data", from = "$hash", cast = "json" },
        ]
    "#;
    let rec = hash("session:t1", &[("username", "admin"), ("loginTime", "2026-12-05")]);
    assert_eq!(
        out(whole, &rec).unwrap(),
        r#"{"token":"t1","user":"admin","data":{"loginTime":"2026-12-05","username":"admin"}}"#
    );
    let rest = r#"
        [[rule]]
        match = "session:{token}"
        type = "hash"
        to_table = "sessions"
        extra_into = "rest"
        columns = [{ name = "token", from = "{token}" }, { name = "user", from = "username" }]
    "#;
    assert_eq!(out(rest, &rec).unwrap(), r#"{"token":"t1","user":"admin","rest":{"loginTime":"2026-12-05"}}"#);
    let on_a_string =
        whole.replace(r#"type = "hash""#, r#"type = "string""#).replace(r#"{ name = "user", from = "username" },"#, "");
    assert!(Transformer::from_toml(&on_a_string).unwrap_err().0.contains("$hash"));
}

#[test]
fn typed_json_defaults() {
    let spec = r#"
        [[rule]]
        match = "apikey:{id}"
        type = "hash"
        to_table = "api_keys"
        columns = [
          { name = "tags", from = "tags", cast = "json", default = [], empty = "default" },
          { name = "limits", from = "limits", cast = "json", default = { daily = 0 } },
        ]
    "#;
    assert_eq!(out(spec, &hash("apikey:1", &[])).unwrap(), r#"{"tags":[],"limits":{"daily":0}}"#);
    assert_eq!(out(spec, &hash("apikey:1", &[("tags", "")])).unwrap(), r#"{"tags":[],"limits":{"daily":0}}"#);
    assert_eq!(
        out(spec, &hash("apikey:1", &[("tags", r#"["a"]"#)])).unwrap(),
        r#"{"tags":["a"],"limits":{"daily":0}}"#
    );
    // Rows → keys: a default written as JSON text.
    let spec = r#"
        [[rule]]
        match_table = "api_keys"
        to_key = "apikey:{id}"
        columns = [{ name = "tags", from = "tags", default = [] }]
    "#;
    let rec = row("api_keys", &[("id", Value::String("1".into())), ("tags", Value::Null)]);
    assert!(out(spec, &rec).unwrap().contains(r#""value":{"tags":"[]"}"#));
}

#[test]
fn json_written_back_in_the_writers_number_style() {
    let doc = serde_json::from_str::<Value>(r#"{"model":"m","cost":0.0000025,"tokens":12,"rate":1e-7}"#).unwrap();
    let rec = row("usage_records", &[("key_id", Value::String("k1".into())), ("data", doc)]);
    let spec = r#"
        [[rule]]
        match_table = "usage_records"
        to_key = "usage:records:{key_id}"
        to_type = "list"
        value = "data"
        STYLE
    "#;
    let js = out(&spec.replace("STYLE", r#"json_style = "javascript""#), &rec).unwrap();
    assert!(js.contains(r#"["{\"model\":\"m\",\"cost\":0.0000025,\"tokens\":12,\"rate\":1e-7}"]"#), "{js}");
    let py = out(&spec.replace("STYLE", r#"json_style = "python""#), &rec).unwrap();
    assert!(py.contains(r#"{\"model\": \"m\", \"cost\": 2.5e-06, \"tokens\": 12, \"rate\": 1e-07}"#), "{py}");
    let compact = out(&spec.replace("STYLE", ""), &rec).unwrap();
    assert!(compact.contains(r#"2.5e-6"#), "{compact}");
    // Per column: format = "json_javascript".
    let spec = r#"
        [[rule]]
        match_table = "usage_records"
        to_key = "usage:records:{key_id}"
        columns = [{ name = "data", from = "data", format = "json_javascript" }]
    "#;
    assert!(out(spec, &rec).unwrap().contains(r#"0.0000025"#));
}

#[test]
fn every_unmapped_field_is_named() {
    let spec = r#"
        [[rule]]
        match = "apikey:{id}"
        type = "hash"
        to_table = "api_keys"
        columns = [{ name = "name", from = "name" }]
    "#;
    let rec = hash("apikey:1", &[("name", "n"), ("tokenLimit", "1"), ("isActive", "true"), ("tags", "[]")]);
    let err = out(spec, &rec).unwrap_err();
    assert!(err.contains(r#"3 hash fields "tokenLimit", "isActive", "tags" are not mapped"#), "{err}");
    let spec = r#"
        [[rule]]
        match_table = "t"
        to_table = "u"
        columns = [{ name = "a", from = "a" }]
    "#;
    let rec = row("t", &[("a", Value::Int(1)), ("b", Value::Int(2)), ("c", Value::Int(3))]);
    let err = out(spec, &rec).unwrap_err();
    assert!(err.contains(r#"2 input columns "b", "c" are not mapped"#), "{err}");
}

#[test]
fn where_null_and_not_null_tell_rows_apart() {
    let spec = r#"
        [[rule]]
        name = "daily"
        match_table = "usage_stats"
        where = { model = "all" }
        where_null = ["stat_hour"]
        to_key = "usage:daily:{api_key_id}:{stat_date}"
        to_type = "string"
        value = "requests"

        [[rule]]
        name = "hourly"
        match_table = "usage_stats"
        where_not_null = ["stat_hour"]
        to_key = "usage:hourly:{api_key_id}:{stat_date}:{stat_hour|02}"
        to_type = "string"
        value = "requests"
        extra_fields = "ignore"
    "#;
    let t = Transformer::from_toml(spec).unwrap();
    let base = |hour: Value| {
        row(
            "usage_stats",
            &[
                ("api_key_id", Value::String("k1".into())),
                ("model", Value::String("all".into())),
                ("stat_date", Value::String("2026-12-05".into())),
                ("stat_hour", hour),
                ("requests", Value::Int(3)),
            ],
        )
    };
    let daily = t.apply(&base(Value::Null)).unwrap();
    assert_eq!(daily.rule, Some(0));
    assert!(daily.records[0].to_json_string().contains(r#""key":"usage:daily:k1:2026-12-05""#));
    let hourly = t.apply(&base(Value::Int(5))).unwrap();
    assert_eq!(hourly.rule, Some(1));
    assert!(hourly.records[0].to_json_string().contains(r#""key":"usage:hourly:k1:2026-12-05:05""#));
    // A missing column counts as NULL.
    let missing =
        row("usage_stats", &[("api_key_id", Value::String("k".into())), ("model", Value::String("all".into()))]);
    assert!(t.rules()[0].matches(&missing, &mut Vec::new()));
}

#[test]
fn a_hash_from_a_json_object_column() {
    let spec = r#"
        [[rule]]
        match_table = "gemini_accounts"
        to_key = "gemini_account:{id}"
        to_type = "hash"
        fields_from = "data"
        json_style = "javascript"
        extra_fields = "ignore"
        columns = [{ name = "syncedBy", const = "decant" }]
    "#;
    let data =
        serde_json::from_str::<Value>(r#"{"name":"g1","priority":"38","limits":{"rate":0.0000025},"n":7,"gone":null}"#)
            .unwrap();
    let rec = row("gemini_accounts", &[("id", Value::String("a1".into())), ("data", data.clone())]);
    let key = out(spec, &rec).unwrap();
    assert!(
        key.contains(
            r#""value":{"name":"g1","priority":"38","limits":"{\"rate\":0.0000025}","n":"7","syncedBy":"decant"}"#
        ),
        "{key}"
    );
    // The column as JSON text (as some exporters give it) works alike.
    let rec =
        row("gemini_accounts", &[("id", Value::String("a1".into())), ("data", Value::String(data.to_json_string()))]);
    assert!(out(spec, &rec).unwrap().contains(r#""name":"g1""#));
    let rec = row("gemini_accounts", &[("id", Value::String("a1".into())), ("data", Value::String("[1]".into()))]);
    assert!(out(spec, &rec).unwrap_err().contains("is not a JSON object"));
    let bad = spec.replace(r#"to_type = "hash""#, r#"to_type = "string""#);
    assert!(Transformer::from_toml(&bad).unwrap_err().0.contains("fields_from"));
}

#[test]
fn where_match_takes_rows_by_a_key_pattern() {
    let spec = r#"
        [[rule]]
        name = "users"
        match_table = "key_value_store"
        where_match = { cache_key = "user:{_}" }
        to_key = "{cache_key}"
        to_type = "string"
        value = "cache_value"

        [[rule]]
        name = "groups"
        match_table = "key_value_store"
        where_match = { cache_key = "account_group:{_}" }
        to_key = "{cache_key}"
        to_type = "hash"
        fields_from = "cache_value"
    "#;
    let t = Transformer::from_toml(spec).unwrap();
    let kv = |k: &str, v: &str| {
        row("key_value_store", &[("cache_key", Value::String(k.into())), ("cache_value", Value::String(v.into()))])
    };
    assert_eq!(t.apply(&kv("user:ab12", "{}")).unwrap().rule, Some(0));
    let g = t.apply(&kv("account_group:g1", r#"{"name":"pool"}"#)).unwrap();
    assert_eq!(g.rule, Some(1));
    assert!(g.records[0].to_json_string().contains(r#""value":{"name":"pool"}"#));
    // A plain capture does not span ':', so neither rule takes these.
    assert_eq!(t.apply(&kv("user:a:b", "x")).unwrap().rule, None);
    assert_eq!(t.apply(&kv("username:x", "x")).unwrap().rule, None);
    let bad = spec.replace("user:{_}", "user:{");
    assert!(Transformer::from_toml(&bad).unwrap_err().0.contains("where_match"));
}
