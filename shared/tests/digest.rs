//! Content digests: order independence, sensitivity to any change, split keys,
//! and each normalisation option.

use std::collections::BTreeMap;

use decant_record::digest::{CanonicalOptions, ContentDigest, Digester, GroupKey, KeyGrouper};
use decant_record::time::Rounding;
use decant_record::{
    Column, LogicalType, PendingEntry, Record, RedisRecord, RedisValue, Row, RowData, StreamEntry, StreamGroup,
    StreamValue, TableSchema, Value,
};

fn digest_with(opts: &CanonicalOptions, records: &[Record]) -> BTreeMap<GroupKey, ContentDigest> {
    let mut d = Digester::new(opts.clone());
    for r in records {
        d.add(r);
    }
    d.finish()
}

fn digest(records: &[Record]) -> BTreeMap<GroupKey, ContentDigest> {
    digest_with(&CanonicalOptions::default(), records)
}

fn row(table: &str, cols: &[(&str, Value)]) -> Record {
    Record::Row(Row {
        table: table.into(),
        data: RowData(cols.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()),
    })
}

fn text(t: &str) -> Value {
    Value::String(t.into())
}

fn key(k: &str, v: RedisValue) -> Record {
    Record::Redis(RedisRecord::new(0, k.as_bytes().to_vec(), v))
}

fn b(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    items.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
}

fn table(t: &str) -> GroupKey {
    GroupKey::Table(t.into())
}

fn keys(g: &str) -> GroupKey {
    GroupKey::Keys(g.into())
}

fn sample() -> Vec<Record> {
    vec![
        row("users", &[("id", Value::Int(1)), ("name", text("ann")), ("at", text("2025-01-01T09:30:00.123456"))]),
        row("users", &[("id", Value::Int(2)), ("name", text("bob")), ("at", text("2025-01-02T09:30:00"))]),
        key("apikey:1", RedisValue::Hash(pairs(&[("name", "prod"), ("limit", "10")]))),
        key("apikey:2", RedisValue::String(b"v".to_vec())),
        key("queue:1", RedisValue::List(b(&["a", "b", "a"]))),
        key("tags:1", RedisValue::Set(b(&["x", "y"]))),
        key("rank:1", RedisValue::ZSet(vec![(b"m".to_vec(), 1.5), (b"n".to_vec(), f64::INFINITY)])),
    ]
}

#[test]
fn order_does_not_matter() {
    let forward = sample();
    let mut shuffled = forward.clone();
    shuffled.reverse();
    shuffled.rotate_left(3);
    assert_eq!(digest(&forward), digest(&shuffled));
    // Nor does the order of columns in a row or fields in a hash.
    let r1 = row("t", &[("a", Value::Int(1)), ("b", text("x"))]);
    let r2 = row("t", &[("b", text("x")), ("a", Value::Int(1))]);
    assert_eq!(digest(&[r1]), digest(&[r2]));
    let h1 = key("h", RedisValue::Hash(pairs(&[("f", "1"), ("g", "2")])));
    let h2 = key("h", RedisValue::Hash(pairs(&[("g", "2"), ("f", "1")])));
    assert_eq!(digest(&[h1]), digest(&[h2]));
    // But list order does.
    let l1 = key("l", RedisValue::List(b(&["a", "b"])));
    let l2 = key("l", RedisValue::List(b(&["b", "a"])));
    assert_ne!(digest(&[l1]), digest(&[l2]));
}

#[test]
fn groups_are_tables_and_key_prefixes() {
    let d = digest(&sample());
    let names: Vec<String> = d.keys().map(|g| g.to_string()).collect();
    assert_eq!(names, ["table:users", "keys:apikey", "keys:queue", "keys:rank", "keys:tags"]);
    assert_eq!(d[&table("users")].count, 2);
    assert_eq!(d[&keys("apikey")].count, 2);
    assert_eq!("table:users".parse::<GroupKey>().unwrap(), table("users"));
    // A record moved to another table leaves its group and joins the other one.
    let mut moved = sample();
    moved[1] = row("people", &[("id", Value::Int(2)), ("name", text("bob")), ("at", text("2025-01-02T09:30:00"))]);
    let m = digest(&moved);
    assert_eq!(m[&table("users")].count, 1);
    assert_eq!(m[&table("people")].count, 1);
    assert_ne!(m[&table("users")], d[&table("users")]);
}

#[test]
fn any_single_change_changes_the_digest() {
    let base = digest(&sample());
    type Change = Box<dyn Fn(&mut Vec<Record>)>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "row value",
            Box::new(|r| {
                r[0] = row(
                    "users",
                    &[("id", Value::Int(1)), ("name", text("anne")), ("at", text("2025-01-01T09:30:00.123456"))],
                )
            }),
        ),
        (
            "row column name",
            Box::new(|r| {
                r[0] = row(
                    "users",
                    &[("id", Value::Int(1)), ("nom", text("ann")), ("at", text("2025-01-01T09:30:00.123456"))],
                )
            }),
        ),
        (
            "row time",
            Box::new(|r| {
                r[0] = row(
                    "users",
                    &[("id", Value::Int(1)), ("name", text("ann")), ("at", text("2025-01-01T09:30:00.123457"))],
                )
            }),
        ),
        (
            "null vs empty",
            Box::new(|r| {
                r[0] = row(
                    "users",
                    &[("id", Value::Int(1)), ("name", text("")), ("at", text("2025-01-01T09:30:00.123456"))],
                )
            }),
        ),
        (
            "hash field value",
            Box::new(|r| r[2] = key("apikey:1", RedisValue::Hash(pairs(&[("name", "prod"), ("limit", "11")])))),
        ),
        (
            "hash field name",
            Box::new(|r| r[2] = key("apikey:1", RedisValue::Hash(pairs(&[("name", "prod"), ("limits", "10")])))),
        ),
        ("key name", Box::new(|r| r[3] = key("apikey:3", RedisValue::String(b"v".to_vec())))),
        ("string value", Box::new(|r| r[3] = key("apikey:2", RedisValue::String(b"w".to_vec())))),
        ("type", Box::new(|r| r[3] = key("apikey:2", RedisValue::List(b(&["v"]))))),
        ("list element", Box::new(|r| r[4] = key("queue:1", RedisValue::List(b(&["a", "b", "b"]))))),
        ("set member", Box::new(|r| r[5] = key("tags:1", RedisValue::Set(b(&["x", "z"]))))),
        (
            "zset score",
            Box::new(|r| {
                r[6] = key("rank:1", RedisValue::ZSet(vec![(b"m".to_vec(), 1.25), (b"n".to_vec(), f64::INFINITY)]))
            }),
        ),
        (
            "expiry",
            Box::new(|r| {
                if let Record::Redis(k) = &mut r[3] {
                    k.expire_at_ms = Some(1)
                }
            }),
        ),
        (
            "db (same group, other key)",
            Box::new(|r| {
                if let Record::Redis(k) = &mut r[3] {
                    k.key.push(b'!')
                }
            }),
        ),
        (
            "record removed",
            Box::new(|r| {
                r.remove(1);
            }),
        ),
        ("record duplicated", Box::new(|r| r.push(r[1].clone()))),
    ];
    for (what, change) in changes {
        let mut records = sample();
        change(&mut records);
        assert_ne!(digest(&records), base, "{what}");
    }
}

#[test]
fn split_keys_digest_like_whole_keys() {
    let part = |v: RedisValue, i: u32, last: bool| {
        let mut r = RedisRecord::new(0, b"big:1".to_vec(), v);
        r.part = Some(i);
        r.last = last;
        r.expire_at_ms = Some(1_800_000_000_000);
        Record::Redis(r)
    };
    let whole = |v: RedisValue| {
        let mut r = RedisRecord::new(0, b"big:1".to_vec(), v);
        r.expire_at_ms = Some(1_800_000_000_000);
        Record::Redis(r)
    };
    let stream = |entries: Vec<StreamEntry>, groups: Vec<StreamGroup>, last: Option<&str>| {
        RedisValue::Stream(StreamValue { entries, groups, last_id: last.map(str::to_owned), ..StreamValue::default() })
    };
    let entry = |id: &str, f: &str| StreamEntry { id: id.into(), fields: pairs(&[(f, "v"), (f, "w")]) };
    let group = StreamGroup {
        name: "g".into(),
        last_delivered_id: "1-0".into(),
        entries_read: Some(1),
        consumers: vec!["c".into()],
        pending: vec![PendingEntry { id: "1-0".into(), consumer: "c".into(), delivery_count: 1 }],
    };
    let cases: Vec<(&str, Record, Vec<Record>)> = vec![
        (
            "hash",
            whole(RedisValue::Hash(pairs(&[("a", "1"), ("b", "2"), ("c", "3")]))),
            vec![
                part(RedisValue::Hash(pairs(&[("a", "1"), ("b", "2")])), 0, false),
                part(RedisValue::Hash(pairs(&[("c", "3")])), 1, true),
            ],
        ),
        (
            "list",
            whole(RedisValue::List(b(&["a", "b", "c", "d"]))),
            vec![
                part(RedisValue::List(b(&["a"])), 0, false),
                part(RedisValue::List(b(&["b", "c"])), 1, false),
                part(RedisValue::List(b(&["d"])), 2, true),
            ],
        ),
        (
            "set",
            whole(RedisValue::Set(b(&["a", "b", "c"]))),
            vec![part(RedisValue::Set(b(&["a"])), 0, false), part(RedisValue::Set(b(&["b", "c"])), 1, true)],
        ),
        (
            "zset",
            whole(RedisValue::ZSet(vec![(b"a".to_vec(), 1.0), (b"b".to_vec(), f64::NEG_INFINITY)])),
            vec![
                part(RedisValue::ZSet(vec![(b"a".to_vec(), 1.0)]), 0, false),
                part(RedisValue::ZSet(vec![(b"b".to_vec(), f64::NEG_INFINITY)]), 1, true),
            ],
        ),
        (
            "string",
            whole(RedisValue::String(b"hello world".to_vec())),
            vec![
                part(RedisValue::String(b"hello".to_vec()), 0, false),
                part(RedisValue::String(b" wor".to_vec()), 1, false),
                part(RedisValue::String(b"ld".to_vec()), 2, true),
            ],
        ),
        (
            "stream",
            whole(stream(vec![entry("1-0", "f"), entry("2-0", "g")], vec![group.clone()], Some("2-0"))),
            vec![
                part(stream(vec![entry("1-0", "f")], vec![], None), 0, false),
                part(stream(vec![entry("2-0", "g")], vec![group.clone()], Some("2-0")), 1, true),
            ],
        ),
    ];
    for (what, one, parts) in cases {
        let a = digest(std::slice::from_ref(&one));
        assert_eq!(a, digest(&parts), "{what}");
        assert_eq!(a[&keys("big")].count, 1, "{what}: a split key is one record");
        // Interleaved with other keys' records, still the same.
        let mut mixed = vec![key("big:0", RedisValue::String(b"x".to_vec()))];
        mixed.extend(parts.iter().cloned());
        mixed.push(key("big:2", RedisValue::String(b"y".to_vec())));
        let mut expect = vec![key("big:0", RedisValue::String(b"x".to_vec())), one.clone()];
        expect.push(key("big:2", RedisValue::String(b"y".to_vec())));
        assert_eq!(digest(&mixed), digest(&expect), "{what} among other keys");
    }
    // A string split at a different place is the same string.
    let other_split = vec![
        part(RedisValue::String(b"hel".to_vec()), 0, false),
        part(RedisValue::String(b"lo world".to_vec()), 1, true),
    ];
    assert_eq!(digest(&other_split), digest(&[whole(RedisValue::String(b"hello world".to_vec()))]));
}

#[test]
fn time_precision_option() {
    let at = |t: &str| [row("t", &[("at", text(t))])];
    let micro = "2025-01-01T09:30:00.123456";
    let milli = "2025-01-01T09:30:00.123";
    assert_ne!(digest(&at(micro)), digest(&at(milli)));
    let p3 = CanonicalOptions { time_precision: Some(3), ..CanonicalOptions::default() };
    assert_eq!(digest_with(&p3, &at(micro)), digest_with(&p3, &at(milli)));
    // Rounded half up by default, or cut.
    assert_ne!(digest_with(&p3, &at("2025-01-01T09:30:00.1235")), digest_with(&p3, &at(milli)));
    let cut = CanonicalOptions { rounding: Rounding::Truncate, ..p3.clone() };
    assert_eq!(digest_with(&cut, &at("2025-01-01T09:30:00.1239")), digest_with(&cut, &at(milli)));
    // Trailing zeros and the date/time separator are spelling, not value.
    assert_eq!(digest(&at("2025-01-01 09:30:00.120000")), digest(&at("2025-01-01T09:30:00.12")));
    // With a schema, a time column is normalised too.
    let schema = Record::Schema(TableSchema::new("t", vec![Column::new("at", LogicalType::Time)]));
    let time = |t: &str| [schema.clone(), row("t", &[("at", text(t))])];
    assert_eq!(digest_with(&p3, &time("09:30:00.123456")), digest_with(&p3, &time("09:30:00.123")));
}

#[test]
fn zoned_timestamps_are_equal_across_offsets() {
    let at = |t: &str| [row("t", &[("at", text(t))])];
    let utc = digest(&at("2025-01-01T00:00:00Z"));
    assert_eq!(utc, digest(&at("2025-01-01T05:30:00+05:30")));
    assert_eq!(utc, digest(&at("2024-12-31T19:00:00-0500")));
    assert_eq!(utc, digest(&at("2025-01-01 00:00:00.000+00")));
    // A naive date-time is not a zoned one.
    assert_ne!(utc, digest(&at("2025-01-01T00:00:00")));
}

#[test]
fn numbers_are_normalised() {
    let v = |x: Value| [row("t", &[("n", x)])];
    assert_eq!(digest(&v(Value::Int(5))), digest(&v(Value::Float(5.0))));
    assert_eq!(digest(&v(Value::Int(-3))), digest(&v(Value::Float(-3.0))));
    assert_ne!(digest(&v(Value::Int(5))), digest(&v(Value::Float(5.5))));
    assert_ne!(digest(&v(Value::Float(0.0))), digest(&v(Value::Float(-0.0))));
    assert_eq!(digest(&v(Value::Float(f64::NAN))), digest(&v(Value::Float(-f64::NAN))));
    // Decimal columns compare by value.
    let schema = Record::Schema(TableSchema::new("t", vec![Column::new("n", LogicalType::Decimal)]));
    let dec = |s: &str| [schema.clone(), row("t", &[("n", text(s))])];
    assert_eq!(digest(&dec("12.3400")), digest(&dec("12.34")));
    assert_eq!(digest(&dec("-0.00")), digest(&dec("0")));
    assert_ne!(digest(&dec("12.34")), digest(&dec("12.35")));
    // Text and bytes with the same bytes are the same value.
    assert_eq!(digest(&v(text("abc"))), digest(&v(Value::Bytes(b"abc".to_vec()))));
}

#[test]
fn null_equals_empty_option() {
    let v = |x: Value| [row("t", &[("s", x)])];
    assert_ne!(digest(&v(Value::Null)), digest(&v(text(""))));
    let opts = CanonicalOptions { null_equals_empty: true, ..CanonicalOptions::default() };
    assert_eq!(digest_with(&opts, &v(Value::Null)), digest_with(&opts, &v(text(""))));
    assert_eq!(digest_with(&opts, &v(Value::Null)), digest_with(&opts, &v(Value::Bytes(vec![]))));
    assert_ne!(digest_with(&opts, &v(Value::Null)), digest_with(&opts, &v(text(" "))));
    // A missing column (a DynamoDB attribute left out) is NULL too, under the
    // option only; a present value is never the same as a missing one.
    let pair = |x: Value| [row("t", &[("id", Value::Int(1)), ("s", x)])];
    let alone = [row("t", &[("id", Value::Int(1))])];
    assert_ne!(digest(&pair(Value::Null)), digest(&alone));
    assert_eq!(digest_with(&opts, &pair(Value::Null)), digest_with(&opts, &alone));
    assert_eq!(digest_with(&opts, &pair(text(""))), digest_with(&opts, &alone));
    assert_ne!(digest_with(&opts, &pair(text("x"))), digest_with(&opts, &alone));
    assert_ne!(digest_with(&opts, &pair(Value::Int(0))), digest_with(&opts, &alone));
}

#[test]
fn expiry_options() {
    let with_ttl = |ms: Option<i64>| {
        let mut r = RedisRecord::new(0, b"s:1".to_vec(), RedisValue::String(b"v".to_vec()));
        r.expire_at_ms = ms;
        [Record::Redis(r)]
    };
    assert_ne!(digest(&with_ttl(Some(1_000_400))), digest(&with_ttl(Some(1_000_000))));
    let second = CanonicalOptions { expiry_precision_ms: Some(1000), ..CanonicalOptions::default() };
    assert_eq!(digest_with(&second, &with_ttl(Some(1_000_400))), digest_with(&second, &with_ttl(Some(1_000_000))));
    assert_ne!(digest_with(&second, &with_ttl(Some(1_000_600))), digest_with(&second, &with_ttl(Some(1_000_000))));
    let ignore = CanonicalOptions { ignore_expiry: true, ..CanonicalOptions::default() };
    assert_eq!(digest_with(&ignore, &with_ttl(Some(5))), digest_with(&ignore, &with_ttl(None)));
}

#[test]
fn key_grouping_options() {
    let in_db = |db: u32, k: &str| {
        let mut r = RedisRecord::new(db, k.as_bytes().to_vec(), RedisValue::String(b"v".to_vec()));
        r.db = db;
        Record::Redis(r)
    };
    // A copy into another database digests the same by default.
    assert_eq!(digest(&[in_db(0, "a:1")]), digest(&[in_db(5, "a:1")]));
    let by_db = CanonicalOptions { group_by_db: true, ..CanonicalOptions::default() };
    let d = digest_with(&by_db, &[in_db(0, "a:1"), in_db(5, "a:1")]);
    assert_eq!(d.keys().map(|g| g.to_string()).collect::<Vec<_>>(), ["keys:db0/a", "keys:db5/a"]);
    let deep = CanonicalOptions { key_groups: "2".parse::<KeyGrouper>().unwrap(), ..CanonicalOptions::default() };
    let d = digest_with(&deep, &[in_db(0, "usage:k1:daily"), in_db(0, "usage:k2:daily"), in_db(0, "plain")]);
    assert_eq!(
        d.keys().map(|g| g.to_string()).collect::<Vec<_>>(),
        ["keys:(no prefix)", "keys:usage:k1", "keys:usage:k2"]
    );
    // Key bytes that are not UTF-8 still name a group, shown escaped.
    let d = digest(&[Record::Redis(RedisRecord::new(0, b"\xff:1".to_vec(), RedisValue::String(vec![])))]);
    assert_eq!(d.keys().next().unwrap().to_string(), "keys:\\xff");
}

#[test]
fn digests_merge_like_one_stream() {
    let all = sample();
    let (a, b) = all.split_at(3);
    let mut merged = digest(a);
    for (g, d) in digest(b) {
        merged.entry(g).or_default().merge(&d);
    }
    assert_eq!(merged, digest(&all));
    let hex = merged[&table("users")].hex();
    assert_eq!(hex.len(), 64);
    assert_ne!(ContentDigest::default().hex(), hex);
}

/// The date-time normalisation as first written (with `format!`), kept as the
/// reference for the allocation-free version.
fn reference_normalize(text: &str, precision: Option<u8>, rounding: Rounding) -> Option<String> {
    let b = text.as_bytes();
    let digits = |s: &[u8]| -> Option<i64> {
        (!s.is_empty() && s.iter().all(u8::is_ascii_digit)).then(|| s.iter().fold(0, |n, d| n * 10 + (d - b'0') as i64))
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])? as u32, digits(&b[8..10])? as u32);
    let (h, mi, s) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0i128;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&frac[..n])? as i128 * 10i128.pow(9 - n as u32);
        rest = &frac[n..];
    }
    let offset: Option<i64> = match rest {
        [] => None,
        [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (oh, om) = match tail.len() {
                2 => (digits(tail)?, 0),
                4 => (digits(&tail[..2])?, digits(&tail[2..])?),
                5 if tail[2] == b':' => (digits(&tail[..2])?, digits(&tail[3..])?),
                _ => return None,
            };
            Some(if *sign == b'-' { -(oh * 3600 + om * 60) } else { oh * 3600 + om * 60 })
        }
        _ => return None,
    };
    let days = decant_record::time::days_from_civil(y, mo, d);
    let mut total = ((days * 86_400 + h * 3600 + mi * 60 + s) as i128) * 1_000_000_000 + nanos;
    total -= offset.unwrap_or(0) as i128 * 1_000_000_000;
    if let Some(p) = precision.filter(|p| *p < 9) {
        let unit = 10i128.pow(9 - p as u32);
        let rem = total.rem_euclid(unit);
        total -= rem;
        if rounding == Rounding::Round && rem * 2 >= unit {
            total += unit;
        }
    }
    let secs = total.div_euclid(1_000_000_000) as i64;
    let frac = total.rem_euclid(1_000_000_000) as u32;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = decant_record::time::civil_from_days(days);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60);
    if frac > 0 {
        out.push('.');
        out.push_str(format!("{frac:09}").trim_end_matches('0'));
    }
    if offset.is_some() {
        out.push('Z');
    }
    Some(out)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, failure_persistence: None, ..Default::default() })]

    #[test]
    fn datetime_normalisation_matches_the_reference(
        y in 0u32..=9999, mo in 0u32..=13, d in 0u32..=32, h in 0u32..=24, mi in 0u32..=60, s in 0u32..=61,
        frac in proptest::option::of("[0-9]{0,10}"),
        sep in proptest::sample::select(vec!['T', ' ', 'x']),
        zone in proptest::sample::select(vec!["", "Z", "z", "+05:30", "-0130", "+14", "-12:00", "+5", "Q"]),
        precision in proptest::option::of(0u8..=10),
        truncate in proptest::prelude::any::<bool>(),
    ) {
        let text = format!(
            "{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{}{zone}",
            frac.map(|f| format!(".{f}")).unwrap_or_default()
        );
        let rounding = if truncate { Rounding::Truncate } else { Rounding::Round };
        proptest::prop_assert_eq!(
            decant_record::time::normalize_datetime(&text, precision, rounding),
            reference_normalize(&text, precision, rounding),
            "{}", text
        );
    }
}

/// Issue 13: what newer servers keep beside a value is in the digest — a
/// hash field's expiry (under the expiry options), a stream's counters, a
/// module key's name and payload (not its version/CRC trailer), and function
/// libraries (group `functions`).
#[test]
fn newer_server_state_is_digested() {
    let hash = |expiries: &[(&str, i64)]| {
        let mut r = RedisRecord::new(0, b"h".to_vec(), RedisValue::Hash(pairs(&[("a", "1"), ("b", "2")])));
        r.field_expire_at_ms = expiries.iter().map(|(f, ms)| (f.as_bytes().to_vec(), *ms)).collect();
        Record::Redis(r)
    };
    let plain = digest(&[hash(&[])]);
    let expiring = digest(&[hash(&[("a", 1_767_225_600_000)])]);
    assert_ne!(plain, expiring, "a field expiry changes the digest");
    assert_ne!(expiring, digest(&[hash(&[("b", 1_767_225_600_000)])]), "which field expires matters");
    assert_ne!(expiring, digest(&[hash(&[("a", 1_767_225_600_001)])]), "when it expires matters");
    let ignore = CanonicalOptions { ignore_expiry: true, ..CanonicalOptions::default() };
    assert_eq!(digest_with(&ignore, &[hash(&[("a", 5)])]), digest_with(&ignore, &[hash(&[])]));
    let coarse = CanonicalOptions { expiry_precision_ms: Some(1000), ..CanonicalOptions::default() };
    assert_eq!(
        digest_with(&coarse, &[hash(&[("a", 1_767_225_600_100)])]),
        digest_with(&coarse, &[hash(&[("a", 1_767_225_599_900)])])
    );

    let stream = |read: Option<u64>, added: Option<u64>, maxdel: Option<&str>| {
        key(
            "s",
            RedisValue::Stream(StreamValue {
                entries: vec![StreamEntry { id: "1-0".into(), fields: pairs(&[("f", "v")]) }],
                groups: vec![StreamGroup {
                    name: "g".into(),
                    last_delivered_id: "1-0".into(),
                    entries_read: read,
                    consumers: vec![],
                    pending: vec![],
                }],
                last_id: Some("1-0".into()),
                entries_added: added,
                max_deleted_entry_id: maxdel.map(str::to_owned),
            }),
        )
    };
    let base = digest(&[stream(Some(1), Some(1), Some("0-0"))]);
    assert_ne!(base, digest(&[stream(Some(150), Some(1), Some("0-0"))]), "entries_read");
    assert_ne!(base, digest(&[stream(None, Some(1), Some("0-0"))]), "entries_read unknown");
    assert_ne!(base, digest(&[stream(Some(1), Some(2), Some("0-0"))]), "entries_added");
    assert_ne!(base, digest(&[stream(Some(1), Some(1), Some("1-0"))]), "max_deleted_entry_id");

    let module = |name: &str, payload: &[u8]| {
        let mut r = RedisRecord::new(0, b"doc".to_vec(), RedisValue::Module(name.into()));
        r.dump = Some(payload.to_vec());
        Record::Redis(r)
    };
    let body = b"\x07module-value-bytes";
    let with_trailer = |version: u8, crc: u8| [&body[..], &[version, 0], &[crc; 8]].concat();
    assert_eq!(
        digest(&[module("ReJSON-RL", &with_trailer(10, 1))]),
        digest(&[module("ReJSON-RL", &with_trailer(12, 2))]),
        "the DUMP trailer (RDB version, CRC) is not content"
    );
    assert_ne!(
        digest(&[module("ReJSON-RL", &with_trailer(10, 1))]),
        digest(&[module("MBbloom--", &with_trailer(10, 1))])
    );
    assert_ne!(
        digest(&[module("ReJSON-RL", &with_trailer(10, 1))]),
        digest(&[module("ReJSON-RL", &[b"\x08", &with_trailer(10, 1)[1..]].concat())])
    );

    let function = |code: &str| {
        Record::RedisFunction(decant_record::RedisFunction {
            library: "mylib".into(),
            engine: "LUA".into(),
            code: code.as_bytes().to_vec(),
        })
    };
    let f = digest(&[function("#!lua name=mylib\nreturn 1")]);
    assert_eq!(f.keys().collect::<Vec<_>>(), vec![&GroupKey::Functions]);
    assert_eq!(f[&GroupKey::Functions].count, 1);
    assert_eq!(GroupKey::Functions.to_string(), "functions");
    assert_eq!("functions".parse::<GroupKey>(), Ok(GroupKey::Functions));
    assert_ne!(f, digest(&[function("#!lua name=mylib\nreturn 2")]));
}
