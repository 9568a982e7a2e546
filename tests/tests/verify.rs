//! decant-verify: counts, digests, spot checks, schema checks and the
//! mismatch threshold, on files and on live stores.

use decant_tests::{Output, ServerKind, Workdir};
use serde_json::Value;

fn users(n: i64, skip: &[i64], change: &[i64]) -> String {
    let mut out = String::from(
        r#"{"kind":"schema","table":"users","columns":[{"name":"id","type":"int64","nullable":false},{"name":"email","type":"string","max_len":255},{"name":"score","type":"float64"},{"name":"at","type":"datetime","precision":6}],"primary_key":["id"],"indexes":[{"name":"by_email","columns":["email"],"unique":true}]}"#,
    );
    out.push('\n');
    for id in 1..=n {
        if skip.contains(&id) {
            continue;
        }
        let email = if change.contains(&id) { format!("changed{id}@x") } else { format!("u{id}@x") };
        out.push_str(&format!(
            r#"{{"kind":"row","table":"users","data":{{"id":{id},"email":"{email}","score":{}.5,"at":"2025-03-01T10:00:00.{:06}"}}}}"#,
            id,
            id * 7 % 1_000_000
        ));
        out.push('\n');
    }
    out
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report is not JSON ({e}): {out:?}"))
}

fn group<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["groups"].as_array().unwrap().iter().find(|g| g["group"] == name).unwrap_or_else(|| panic!("no {name}: {r}"))
}

#[test]
fn equal_files_pass_and_planted_differences_fail_with_counts() {
    let w = Workdir::new("verify-files");
    w.write("a.ndjson", users(1000, &[], &[]));
    w.write("same.ndjson", users(1000, &[], &[]));
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "same.ndjson", "--sample", "50", "--schema", "--json", "--seed", "7"])
        .output()
        .assert_success();
    let r = report(&out);
    assert_eq!(r["ok"], true);
    let g = group(&r, "table:users");
    assert_eq!(g["left"], 1000);
    assert_eq!(g["right"], 1000);
    assert_eq!(g["digest_equal"], true);
    assert_eq!(r["sample"]["checked"], 50);
    assert_eq!(r["sample"]["missing"], 0);
    assert_eq!(r["schema_differences"].as_array().unwrap().len(), 0);

    // One missing, one extra (id 1001), two changed.
    let mut b = users(1000, &[10], &[20, 30]);
    b.push_str(
        r#"{"kind":"row","table":"users","data":{"id":1001,"email":"new@x","score":1.5,"at":"2025-03-01T10:00:00"}}"#,
    );
    b.push('\n');
    w.write("b.ndjson", b);
    let out =
        w.run("decant-verify").args(["--left", "a.ndjson", "--right", "b.ndjson", "--json"]).output().assert_code(1);
    let r = report(&out);
    assert_eq!(r["ok"], false);
    let g = group(&r, "table:users");
    assert_eq!(g["removed"], 1);
    assert_eq!(g["added"], 1);
    assert_eq!(g["changed"], 2);
    assert_eq!(g["digest_equal"], false);
    assert!(!r["examples"].as_array().unwrap().is_empty());
    assert!(out.stderr.contains("verification FAILED"), "{out:?}");
    // The text report shows its examples as a person reads them, not as diff lines.
    let out = w.run("decant-verify").args(["--left", "a.ndjson", "--right", "b.ndjson"]).output().assert_code(1);
    let text = format!("{}{}", out.stdout_str(), out.stderr);
    assert!(text.contains("example: users id=20  email  u20@x → changed20@x"), "{out:?}");
    assert!(text.contains("example: users id=10  removed (only in A)"), "{out:?}");
    assert!(!text.contains("example: {"), "{out:?}");

    // 4 of 1001 records is 0.4%: within 0.5%, not within 0.1%.
    w.run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--max-mismatch", "0.5%"])
        .output()
        .assert_success();
    w.run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--max-mismatch", "0.1%"])
        .output()
        .assert_code(1);
}

#[test]
fn timestamp_precision_needs_the_explicit_option() {
    let w = Workdir::new("verify-precision");
    w.write("a.ndjson", users(100, &[], &[]));
    // The copy went through TIMESTAMP(3): microseconds rounded to milliseconds.
    let copy: String = users(100, &[], &[])
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["kind"] == "row" {
                let at = v["data"]["at"].as_str().unwrap().to_owned();
                let (head, frac) = at.split_once('.').unwrap();
                let micros: u64 = frac.parse().unwrap();
                let millis = (micros + 500) / 1000;
                assert!(millis < 1000);
                v["data"]["at"] = Value::from(format!("{head}.{millis:03}"));
            }
            format!("{v}\n")
        })
        .collect();
    w.write("b.ndjson", copy);
    let out =
        w.run("decant-verify").args(["--left", "a.ndjson", "--right", "b.ndjson", "--json"]).output().assert_code(1);
    assert!(group(&report(&out), "table:users")["changed"].as_u64().unwrap() > 50);
    w.run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--time-precision", "3"])
        .output()
        .assert_success();
}

#[test]
fn schema_differences_are_reported() {
    let w = Workdir::new("verify-schema");
    w.write("a.ndjson", users(3, &[], &[]));
    let b = users(3, &[], &[]).replacen(r#""unique":true"#, r#""unique":false"#, 1).replacen(
        r#""max_len":255"#,
        r#""max_len":100"#,
        1,
    );
    w.write("b.ndjson", b);
    // The data is equal; only --schema notices.
    w.run("decant-verify").args(["--left", "a.ndjson", "--right", "b.ndjson"]).output().assert_success();
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--schema", "--json"])
        .output()
        .assert_code(1);
    let diffs: Vec<String> =
        report(&out)["schema_differences"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
    assert!(
        diffs.iter().any(|d| d.contains("column email") && d.contains("string(255)") && d.contains("string(100)")),
        "{diffs:?}"
    );
    assert!(diffs.iter().any(|d| d.contains("unique key on [\"email\"] only in A")), "{diffs:?}");
}

#[test]
fn sample_spot_checks_find_missing_records() {
    let w = Workdir::new("verify-sample");
    w.write("a.ndjson", users(20, &[], &[]));
    w.write("b.ndjson", users(20, &(1..=10).collect::<Vec<_>>(), &[]));
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--sample", "20", "--json"])
        .output()
        .assert_code(1);
    let r = report(&out);
    assert_eq!(r["sample"]["checked"], 20);
    assert_eq!(r["sample"]["missing"], 10);
}

#[test]
fn unsealed_inputs_are_reported_and_can_be_required() {
    let w = Workdir::new("verify-sealed");
    w.write("a.ndjson", users(5, &[], &[]));
    let out =
        w.run("decant-verify").args(["--left", "a.ndjson", "--right", "a.ndjson", "--json"]).output().assert_success();
    assert_eq!(report(&out)["left_status"], "unsealed");
    w.run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "a.ndjson", "--require-sealed"])
        .output()
        .assert_code(1);
}

const RELAY_SPEC: &str = r#"
[[schema]]
table = "api_keys"
primary_key = ["id"]
columns = [
  { name = "id", type = "string", max_len = 36, nullable = false },
  { name = "name", type = "string", max_len = 100 },
  { name = "token_limit", type = "int64" },
  { name = "created_at", type = "datetime", precision = 3 },
]

[[rule]]
match = "apikey:{id}"
type = "hash"
to_table = "api_keys"
columns = [
  { name = "id", from = "{id}" },
  { name = "name", from = "name" },
  { name = "token_limit", from = "tokenLimit" },
  { name = "created_at", from = "createdAt", cast = "datetime" },
]
"#;

fn a_redis_source_verifies_against_its_mysql_copy_through_the_spec(kind: ServerKind) {
    let r = decant_tests::redis_on(kind);
    let my = decant_tests::mariadb();
    let db = my.fresh_database("relay");
    my.query(
        &db,
        "CREATE TABLE api_keys (id VARCHAR(36) PRIMARY KEY, name VARCHAR(100) CHARACTER SET utf8mb4, token_limit BIGINT, created_at DATETIME(3))",
    );
    let mut inserts = Vec::new();
    for i in 0..60 {
        let id = format!("k-{i:04}");
        let name = format!("key {i} 🔑");
        let at = format!("2025-01-02T03:04:{:02}.{:03}", i % 60, i * 7);
        r.cli(["HSET", &format!("apikey:{id}"), "name", &name, "tokenLimit", &(i * 100).to_string(), "createdAt", &at]);
        inserts.push(format!("('{id}', '{name}', {}, '{}')", i * 100, at.replace('T', " ")));
    }
    r.cli(["SET", "session:abc", "not part of the copy"]);
    my.query(&db, &format!("INSERT INTO api_keys VALUES {}", inserts.join(", ")));
    let w = Workdir::new("verify-relay");
    w.write("relay.toml", RELAY_SPEC);
    let args = |extra: &[&str]| {
        let mut a =
            vec!["--left".to_owned(), r.url(), "--right".to_owned(), my.url(&db), "--spec".into(), "relay.toml".into()];
        a.extend(["--match".to_owned(), "apikey:*".to_owned(), "--sample".into(), "10".into(), "--json".into()]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = w.run("decant-verify").args(args(&[])).output().assert_success();
    let rep = report(&out);
    assert_eq!(group(&rep, "table:api_keys")["left"], 60, "{rep}");
    assert_eq!(group(&rep, "table:api_keys")["right"], 60, "{rep}");
    assert_eq!(rep["sample"]["checked"], 10);
    assert_eq!(rep["sample"]["different"], 0);

    // One row altered in the copy: the verification fails, naming it.
    my.query(&db, "UPDATE api_keys SET token_limit = 1 WHERE id = 'k-0042'");
    let out = w.run("decant-verify").args(args(&[])).output().assert_code(1);
    let rep = report(&out);
    assert_eq!(group(&rep, "table:api_keys")["changed"], 1, "{rep}");
    let ex = &rep["examples"][0];
    assert_eq!(ex["id"]["id"], "k-0042");
    assert_eq!(ex["fields"], serde_json::json!(["token_limit"]));
}

#[test]
fn the_same_data_verifies_equal_across_mariadb_postgres_sqlite_and_files() {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (mdb, pdb) = (my.fresh_database("xstore"), pg.fresh_database("xstore"));
    my.query(
        &mdb,
        "CREATE TABLE t (id INT PRIMARY KEY, label VARCHAR(50) CHARACTER SET utf8mb4, amount DECIMAL(10,3), ok TINYINT(1), \
         at DATETIME(6), ratio DOUBLE, payload BLOB) ENGINE=InnoDB; \
         INSERT INTO t SELECT seq, CONCAT('ラベル ', seq, ' 🚀'), seq / 8, seq % 3 = 0, \
           TIMESTAMPADD(MICROSECOND, seq * 123457, '2024-02-29 23:59:59'), seq / 7e0, CAST(CAST(seq * 31 AS CHAR) AS BINARY) \
         FROM seq_1_to_500; \
         CREATE TABLE j (id INT PRIMARY KEY, doc JSON); \
         INSERT INTO j SELECT seq, JSON_OBJECT('n', seq, 'tags', JSON_ARRAY('a', 'b')) FROM seq_1_to_50;",
    );
    pg.query(
        &pdb,
        "CREATE TABLE t (id INT PRIMARY KEY, label VARCHAR(50), amount NUMERIC(10,3), ok BOOLEAN, at TIMESTAMP(6), \
         ratio DOUBLE PRECISION, payload BYTEA); \
         INSERT INTO t SELECT s, 'ラベル ' || s || ' 🚀', s / 8.0, s % 3 = 0, \
           TIMESTAMP '2024-02-29 23:59:59' + make_interval(secs => s * 123457 / 1000000.0), s / 7.0::float8, \
           convert_to((s * 31)::text, 'UTF8') FROM generate_series(1, 500) s; \
         CREATE TABLE j (id INT PRIMARY KEY, doc JSONB); \
         INSERT INTO j SELECT s, jsonb_build_object('tags', jsonb_build_array('a', 'b'), 'n', s) FROM generate_series(1, 50) s;",
    );
    let w = Workdir::new("verify-xstore");
    // SQLite gets table t only: sqlite-export declares a JSON column as
    // "decimal" and writes its text, so j is compared between the SQL servers.
    w.run("mysql-export")
        .args(["--url", &my.url(&mdb), "--tables", "t", "-o", "t.ndjson.zst"])
        .output()
        .assert_success();
    w.write("t.db", b"");
    let sqlite_url = format!("sqlite://{}", w.join("t.db").display());
    w.run("sqlite-import")
        .args(["--url", &sqlite_url, "--create-tables", "-i", "t.ndjson.zst"])
        .output()
        .assert_success();
    let sides = [my.url(&mdb), pg.url(&pdb), sqlite_url.clone(), "t.ndjson.zst".to_owned()];
    for (i, a) in sides.iter().enumerate() {
        for b in &sides[i + 1..] {
            let out = w
                .run("decant-verify")
                .args(["--left", a, "--right", b, "--sample", "20", "--json", "--tables", "t"])
                .output();
            let out = out.assert_success();
            let rep = report(&out);
            assert_eq!(group(&rep, "table:t")["left"], 500, "{a} vs {b}: {rep}");
            assert_eq!(group(&rep, "table:t")["digest_equal"], true, "{a} vs {b}: {rep}");
        }
    }
    // JSON documents (key order, spacing) between MariaDB and PostgreSQL.
    let out =
        w.run("decant-verify").args(["--left", &sides[0], "--right", &sides[1], "--json"]).output().assert_success();
    assert_eq!(group(&report(&out), "table:j")["right"], 50);
    // One changed value anywhere is found.
    pg.query(&pdb, "UPDATE j SET doc = jsonb_set(doc, '{n}', '0') WHERE id = 25");
    pg.query(&pdb, "UPDATE t SET payload = decode('00', 'hex') WHERE id = 250");
    let out =
        w.run("decant-verify").args(["--left", &sides[0], "--right", &sides[1], "--json"]).output().assert_code(1);
    assert_eq!(group(&report(&out), "table:j")["changed"], 1);
    assert_eq!(group(&report(&out), "table:t")["changed"], 1);
    let out = w
        .run("decant-verify")
        .args(["--left", &sides[2], "--right", &sides[1], "--json", "--tables", "t"])
        .output()
        .assert_code(1);
    assert_eq!(group(&report(&out), "table:t")["changed"], 1);
}

#[test]
fn schema_checks_between_live_databases() {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (m1, m2, p1) = (my.fresh_database("schema_a"), my.fresh_database("schema_b"), pg.fresh_database("schema"));
    let ddl = "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL, \
               created DATETIME(6), UNIQUE KEY by_email (email), KEY by_created (created)) ENGINE=InnoDB";
    my.query(&m1, ddl);
    my.query(&m2, &ddl.replace("utf8mb4_unicode_ci", "utf8mb4_bin").replace(", KEY by_created (created)", ""));
    pg.query(
        &p1,
        "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(190) NOT NULL, created TIMESTAMP(6)); \
         CREATE UNIQUE INDEX by_email ON users (email); CREATE INDEX by_created ON users (created);",
    );
    let w = Workdir::new("verify-live-schema");
    // MariaDB vs its PostgreSQL copy: the same structure.
    let out = w
        .run("decant-verify")
        .args(["--left", &my.url(&m1), "--right", &pg.url(&p1), "--schema", "--json"])
        .output()
        .assert_success();
    assert_eq!(report(&out)["schema_differences"], serde_json::json!([]));
    // Two MariaDB databases: a collation and an index differ.
    let out = w
        .run("decant-verify")
        .args(["--left", &my.url(&m1), "--right", &my.url(&m2), "--schema", "--json"])
        .output()
        .assert_code(1);
    let diffs = report(&out)["schema_differences"].to_string();
    assert!(diffs.contains("collation A utf8mb4_unicode_ci, B utf8mb4_bin"), "{diffs}");
    assert!(diffs.contains("index on [\\\"created\\\"] only in A"), "{diffs}");
}

#[test]
fn sample_fetches_the_sampled_records_from_a_live_side_by_key() {
    let my = decant_tests::mariadb();
    let db = my.fresh_database("vsample");
    my.query(
        &db,
        "CREATE TABLE items (code VARCHAR(20) CHARACTER SET utf8mb4 PRIMARY KEY, qty INT, note TEXT) ENGINE=InnoDB; \
         INSERT INTO items SELECT CONCAT('it''em\\\\', seq, ' 😀'), seq, 'n' FROM seq_1_to_40;",
    );
    let w = Workdir::new("verify-sample-live");
    w.run("mysql-export").args(["--url", &my.url(&db), "-o", "a.ndjson"]).output().assert_success();
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", &my.url(&db), "--sample", "40", "--json"])
        .output()
        .assert_success();
    let r = report(&out);
    assert_eq!(r["sample"]["checked"], 40, "{r}");
    assert_eq!(r["sample"]["by_key"], true, "{r}");
    // One sampled record changed, one gone: both reported by the spot checks.
    my.query(&db, "UPDATE items SET qty = 0 WHERE qty = 7; DELETE FROM items WHERE qty = 9;");
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", &my.url(&db), "--sample", "40", "--json"])
        .output()
        .assert_code(1);
    let r = report(&out);
    assert_eq!((r["sample"]["different"].as_u64(), r["sample"]["missing"].as_u64()), (Some(1), Some(1)), "{r}");
    assert_eq!(r["sample"]["by_key"], true, "{r}");
    // A file B is looked up during its pass, with the same answer.
    w.run("mysql-export").args(["--url", &my.url(&db), "-o", "b.ndjson"]).output().assert_success();
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--sample", "40", "--json"])
        .output()
        .assert_code(1);
    let r = report(&out);
    assert_eq!((r["sample"]["different"].as_u64(), r["sample"]["missing"].as_u64()), (Some(1), Some(1)), "{r}");
    assert_eq!(r["sample"]["by_key"], false, "{r}");
    // A live B without the table: the sampled records are missing (exit 1),
    // the point query is not sent to a table that is not there (exit 2).
    let empty = my.fresh_database("vsample_empty");
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", &my.url(&empty), "--sample", "10", "--json"])
        .output()
        .assert_code(1);
    assert_eq!(report(&out)["sample"]["missing"], 10, "{out:?}");
}

fn sample_fetches_redis_keys_by_name(kind: ServerKind) {
    let r = decant_tests::redis_on(kind);
    for i in 0..30 {
        r.cli(["HSET", &format!("user:{i}*[x]"), "name", &format!("n{i}")]);
    }
    let w = Workdir::new("verify-sample-redis");
    w.run("redis-export").args(["--url", &r.url(), "-o", "a.ndjson"]).output().assert_success();
    r.cli(["HSET", "user:3*[x]", "name", "changed"]);
    r.cli(["SET", "user:3-x", "a key the glob user:3*[x] would match unescaped"]);
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", &r.url(), "--sample", "30", "--json"])
        .output()
        .assert_code(1);
    let rep = report(&out);
    assert_eq!(rep["sample"]["checked"], 30, "{rep}");
    assert_eq!(rep["sample"]["by_key"], true, "{rep}");
    assert_eq!((rep["sample"]["different"].as_u64(), rep["sample"]["missing"].as_u64()), (Some(1), Some(0)), "{rep}");
}

#[test]
fn where_limits_live_sides_to_a_slice() {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (mdb, pdb) = (my.fresh_database("vwhere"), pg.fresh_database("vwhere"));
    my.query(
        &mdb,
        "CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2), updated DATE) ENGINE=InnoDB; \
         INSERT INTO orders SELECT seq, seq * 1.5, DATE_ADD('2026-01-01', INTERVAL seq DAY) FROM seq_1_to_300;",
    );
    pg.query(
        &pdb,
        "CREATE TABLE orders (id INT PRIMARY KEY, total NUMERIC(10,2), updated DATE); \
         INSERT INTO orders SELECT s, s * 1.5, DATE '2026-01-01' + s FROM generate_series(1, 300) s;",
    );
    // A difference in an old order, outside the slice.
    pg.query(&pdb, "UPDATE orders SET total = 0 WHERE id = 10");
    let w = Workdir::new("verify-where");
    let slice = "orders:updated >= '2026-06-01'";
    let args = |extra: &[&str]| {
        let mut a = vec!["--left", "", "--right", "", "--where", slice, "--json", "--sample", "50"];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let mut a = args(&[]);
    a[1] = my.url(&mdb);
    a[3] = pg.url(&pdb);
    let out = w.run("decant-verify").args(&a).output().assert_success();
    let rep = report(&out);
    // 2026-06-01 is day 151 after 2026-01-01: orders 151..=300.
    assert_eq!(group(&rep, "table:orders")["left"], 150, "{rep}");
    assert_eq!(group(&rep, "table:orders")["right"], 150, "{rep}");
    assert_eq!(rep["sample"]["by_key"], true, "{rep}");
    // One inside it fails, with its count.
    pg.query(&pdb, "UPDATE orders SET total = 0 WHERE id = 200");
    let out = w.run("decant-verify").args(&a).output().assert_code(1);
    let rep = report(&out);
    assert_eq!(group(&rep, "table:orders")["changed"], 1, "{rep}");
    // Without --where both differences count.
    let out = w
        .run("decant-verify")
        .args(["--left", &my.url(&mdb), "--right", &pg.url(&pdb), "--json"])
        .output()
        .assert_code(1);
    assert_eq!(group(&report(&out), "table:orders")["changed"], 2);
    // --where needs a live SQL side.
    let out = w
        .run("decant-verify")
        .args(["--left", "x.ndjson", "--right", "y.ndjson", "--where", slice])
        .output()
        .assert_code(2);
    assert!(out.stderr.contains("--where"), "{out:?}");
}

/// The digest line of `table` in `decant-checksum` output.
fn checksum_of(w: &Workdir, input: &str, table: &str) -> String {
    let out = w.run("decant-checksum").arg(input).output().assert_success();
    let needle = format!("  table:{table}");
    let line = out.stdout_lines().into_iter().find(|l| l.ends_with(&needle)).map(str::to_owned);
    line.unwrap_or_else(|| panic!("no {table} in {out:?}")).split("  ").next().unwrap().to_owned()
}

/// Issue 12: PostgreSQL returns CHAR(20) padded, MariaDB unpadded. The one
/// canonical form strips a fixed string's pad, so checksum, diff and verify
/// agree: equal on equal data, and all three find a planted difference.
#[test]
fn char_padding_is_treated_alike_by_checksum_diff_and_verify() {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (mdb, pdb) = (my.fresh_database("charpad"), pg.fresh_database("charpad"));
    my.query(
        &mdb,
        "CREATE TABLE codes (id INT PRIMARY KEY, code CHAR(20) NOT NULL, label VARCHAR(20)) ENGINE=InnoDB; \
         INSERT INTO codes SELECT seq, CONCAT('c', seq), CONCAT('l', seq, ' ') FROM seq_1_to_40;",
    );
    pg.query(
        &pdb,
        "CREATE TABLE codes (id INT PRIMARY KEY, code CHAR(20) NOT NULL, label VARCHAR(20)); \
         INSERT INTO codes SELECT s, 'c' || s, 'l' || s || ' ' FROM generate_series(1, 40) s;",
    );
    let w = Workdir::new("verify-charpad");
    let (my_url, pg_url) = (my.url(&mdb), pg.url(&pdb));
    w.run("mysql-export").args(["--url", &my_url, "-o", "my.ndjson"]).output().assert_success();
    w.run("pg-export").args(["--url", &pg_url, "-o", "pg.ndjson"]).output().assert_success();
    assert!(
        String::from_utf8(w.read("pg.ndjson")).unwrap().contains(r#""code":"c1                  ""#),
        "PostgreSQL pads CHAR(20)"
    );
    assert!(String::from_utf8(w.read("my.ndjson")).unwrap().contains(r#""code":"c1""#), "MariaDB strips the pad");

    // Equal data: all three agree, live and through files.
    let digests: Vec<String> =
        [&my_url, &pg_url, "my.ndjson", "pg.ndjson"].iter().map(|s| checksum_of(&w, s, "codes")).collect();
    assert!(digests.iter().all(|d| *d == digests[0]), "{digests:?}");
    w.run("decant-diff").args(["my.ndjson", "pg.ndjson"]).output().assert_success();
    w.run("decant-diff").args([&my_url, &pg_url]).output().assert_success();
    // Live, the range checksums in both databases compare CHAR(20) too;
    // --content digest reads the rows, as the files are read.
    let out = w.run("decant-verify").args(["--left", &my_url, "--right", &pg_url, "--json"]).output().assert_success();
    assert_eq!(group(&report(&out), "table:codes")["content"], "range checksums", "{out:?}");
    let files = ["--left", "my.ndjson", "--right", "pg.ndjson"];
    let live_digest = ["--left", &my_url, "--right", &pg_url, "--content", "digest"];
    for args in [&files[..], &live_digest[..]] {
        let out = w.run("decant-verify").args(args).arg("--json").output().assert_success();
        assert_eq!(group(&report(&out), "table:codes")["digest_equal"], true, "{out:?}");
    }

    // A planted difference: a leading space is data, not pad.
    pg.query(&pdb, "UPDATE codes SET code = ' c7' WHERE id = 7");
    w.run("pg-export").args(["--url", &pg_url, "-o", "pg2.ndjson"]).output().assert_success();
    assert_ne!(checksum_of(&w, &pg_url, "codes"), digests[0]);
    assert_ne!(checksum_of(&w, "pg2.ndjson", "codes"), digests[0]);
    let out = w.run("decant-diff").args(["my.ndjson", "pg2.ndjson"]).output().assert_code(1);
    assert!(out.stdout_str().contains(r#""fields":["code"]"#), "{out:?}");
    w.run("decant-diff").args([&my_url, &pg_url]).output().assert_code(1);
    let out = w.run("decant-verify").args(["--left", &my_url, "--right", &pg_url, "--json"]).output().assert_code(1);
    let g = group(&report(&out), "table:codes").clone();
    assert_eq!(
        (g["content"].clone(), g["changed"].clone()),
        (Value::from("range checksums"), Value::from(1)),
        "{out:?}"
    );
    let files = ["--left", "my.ndjson", "--right", "pg2.ndjson"];
    for args in [&files[..], &live_digest[..]] {
        let out = w.run("decant-verify").args(args).arg("--json").output().assert_code(1);
        let g = group(&report(&out), "table:codes").clone();
        assert_eq!((g["digest_equal"].clone(), g["changed"].clone()), (Value::Bool(false), Value::from(1)), "{out:?}");
    }
}

/// Issue 12: right after a clean `--create-tables` copy to another engine,
/// `--schema` accepts decant's own type mapping (uint32 → bigint, enum →
/// text, tinyint(1) ⇄ boolean, …) both ways, and still fails on what really
/// differs: a lost index, foreign key, NOT NULL, ON UPDATE or collation.
#[test]
fn schema_check_accepts_decants_mapping_and_fails_on_real_differences() {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (mdb, pdb, back) =
        (my.fresh_database("xschema"), pg.fresh_database("xschema"), my.fresh_database("xschema_back"));
    my.query(
        &mdb,
        "CREATE TABLE store (id TINYINT UNSIGNED PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB; \
         CREATE TABLE item (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, store_id TINYINT UNSIGNED NOT NULL, \
           small TINYINT, flag TINYINT(1) NOT NULL DEFAULT 0, mood ENUM('ok','bad') NOT NULL, tags SET('a','b'), \
           born YEAR, big BIGINT UNSIGNED, code CHAR(10), raw VARBINARY(16), body TEXT, \
           password VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, price DECIMAL(10,2), ratio FLOAT, \
           doc JSON, at DATETIME(6), \
           last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
           UNIQUE KEY by_code (code), KEY by_at (at), \
           CONSTRAINT fk_item_store FOREIGN KEY (store_id) REFERENCES store (id) ON DELETE CASCADE) \
           ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci; \
         INSERT INTO store VALUES (1, 'main'); \
         INSERT INTO item (store_id, small, flag, mood, tags, born, big, code, raw, body, password, price, ratio, doc, at) \
           VALUES (1, -5, 1, 'ok', 'a,b', 1999, 18446744073709551615, 'c1', X'00ff', 'text', 'Secret', 12.34, 0.5, \
           '{\"a\": 1}', '2025-01-01 10:00:00.123456');",
    );
    let w = Workdir::new("verify-xschema");
    let (my_url, pg_url, back_url) = (my.url(&mdb), pg.url(&pdb), my.url(&back));
    let schema_diffs = |a: &str, b: &str, code: i32| -> Vec<String> {
        let out = w.run("decant-verify").args(["--left", a, "--right", b, "--schema", "--json"]).output();
        let out = out.assert_code(code);
        let r = report(&out);
        r["schema_differences"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect()
    };
    // MySQL → PostgreSQL → MySQL, each a clean --create-tables copy.
    w.run("mysql-export").args(["--url", &my_url, "-o", "my.ndjson"]).output().assert_success();
    w.run("pg-import")
        .args(["--url", &pg_url, "--create-tables", "--quiet", "-i", "my.ndjson"])
        .output()
        .assert_success();
    assert_eq!(schema_diffs(&my_url, &pg_url, 0), Vec::<String>::new());
    w.run("pg-export").args(["--url", &pg_url, "-o", "pg.ndjson"]).output().assert_success();
    w.run("mysql-import")
        .args(["--url", &back_url, "--create-tables", "--quiet", "-i", "pg.ndjson"])
        .output()
        .assert_success();
    assert_eq!(schema_diffs(&pg_url, &back_url, 0), Vec::<String>::new());

    // What really differs still fails: a lost index, foreign key and NOT NULL…
    pg.query(
        &pdb,
        "DROP INDEX item_by_at; ALTER TABLE item DROP CONSTRAINT fk_item_store; ALTER TABLE item ALTER COLUMN mood DROP NOT NULL;",
    );
    let diffs = schema_diffs(&my_url, &pg_url, 1).join("\n");
    assert!(diffs.contains("table item: index on [\"at\"] only in A"), "{diffs}");
    assert!(diffs.contains("table item: foreign key [\"store_id\"] → store[\"id\"] only in A"), "{diffs}");
    assert!(diffs.contains("table item, column mood: A enum"), "{diffs}");
    assert_eq!(diffs.lines().count(), 3, "{diffs}");
    // …and on a MySQL → MySQL copy, a lost ON UPDATE and a lost column collation.
    let same = my.fresh_database("xschema_same");
    w.run("mysql-import")
        .args(["--url", &my.url(&same), "--create-tables", "--quiet", "-i", "my.ndjson"])
        .output()
        .assert_success();
    assert_eq!(schema_diffs(&my_url, &my.url(&same), 0), Vec::<String>::new());
    my.query(
        &same,
        "ALTER TABLE item MODIFY last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
         MODIFY password VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    );
    let diffs = schema_diffs(&my_url, &my.url(&same), 1).join("\n");
    assert!(diffs.contains("table item, column last_update: ON UPDATE A current_timestamp, B none"), "{diffs}");
    assert!(diffs.contains("table item, column password: collation A utf8mb4_bin, B utf8mb4_unicode_ci"), "{diffs}");
}

/// Issue 11: a target that fills columns itself (an AUTO_INCREMENT id,
/// created_at, updated_at ON UPDATE) failed every table at 100%. With
/// --ignore-columns those columns are left out, rows are keyed by the unique
/// key the primary key gives way to (a changed row is "changed", not removed
/// + added), --tables filters the file side too, and each warning shows once.
#[test]
fn ignore_columns_for_a_target_that_fills_columns_itself() {
    let my = decant_tests::mariadb();
    let db = my.fresh_database("vign");
    my.query(
        &db,
        "CREATE TABLE costs (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, key_id VARCHAR(36) NOT NULL, \
         day DATE NOT NULL, amount DECIMAL(20,6) NOT NULL, created_at DATETIME DEFAULT CURRENT_TIMESTAMP, \
         updated_at DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, UNIQUE KEY uk_cost (key_id, day))",
    );
    let schema = r#"{"kind":"schema","table":"costs","columns":[{"name":"key_id","type":"string","max_len":36,"nullable":false},{"name":"day","type":"date","nullable":false},{"name":"amount","type":"decimal","precision":20,"scale":6,"nullable":false}],"primary_key":[],"indexes":[{"name":"uk_cost","columns":["key_id","day"],"unique":true}]}"#;
    let mut rows = format!("{schema}\n");
    for i in 1..=40 {
        rows.push_str(&format!(
            "{{\"kind\":\"row\",\"table\":\"costs\",\"data\":{{\"key_id\":\"k{i}\",\"day\":\"2026-12-{:02}\",\"amount\":\"{i}.250000\"}}}}\n",
            i % 28 + 1
        ));
    }
    let w = Workdir::new("verify-ignore");
    w.write("a.ndjson", &rows);
    // A table only the file has: --tables leaves it out on both sides.
    w.write("a_more.ndjson", format!("{rows}{{\"kind\":\"row\",\"table\":\"elsewhere\",\"data\":{{\"x\":1}}}}\n"));
    w.run("mysql-import").args(["--url", &my.url(&db), "-q", "-i", "a.ndjson"]).output().assert_success();
    let url = my.url(&db);
    let verify = |left: &str, extra: &[&str]| {
        w.run("decant-verify")
            .args(["--left", left, "--right", &url, "--json", "--sample", "10", "--seed", "3"])
            .args(extra)
    };
    // Without: every row differs (the target has three more columns).
    let out = verify("a.ndjson", &[]).output().assert_code(1);
    assert_eq!(group(&report(&out), "table:costs")["digest_equal"], false);
    let ignore = ["--ignore-columns", "costs.id", "--ignore-columns", "*.created_at,*.updated_at"];
    let out = verify("a.ndjson", &ignore).output().assert_success();
    let r = report(&out);
    assert_eq!(group(&r, "table:costs")["digest_equal"], true, "{r}");
    assert_eq!(r["sample"]["missing"], 0, "{r}");
    assert_eq!(r["sample"]["different"], 0, "{r}");
    // --tables filters the file side as well as the live one.
    verify("a_more.ndjson", &ignore).output().assert_code(1);
    verify("a_more.ndjson", &[&ignore[..], &["--tables", "costs"]].concat()).output().assert_success();
    // One changed amount: keyed by uk_cost, it is one changed row.
    my.query(&db, "UPDATE costs SET amount = 99 WHERE key_id = 'k1' AND day = '2026-12-02'");
    let out = verify("a.ndjson", &ignore).output().assert_code(1);
    let r = report(&out);
    let g = group(&r, "table:costs");
    assert_eq!((g["changed"].as_u64(), g["added"].as_u64(), g["removed"].as_u64()), (Some(1), Some(0), Some(0)), "{r}");
    // Every warning (the exporter's about ON UPDATE included) once, though B is read three times.
    let mut lines: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let n = lines.len();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), n, "a line repeats: {}", out.stderr);
    // A bad --ignore-columns value is a usage error naming it.
    verify("a.ndjson", &["--ignore-columns", "costs"]).output().assert_code(2).assert_stderr_contains("TABLE.COLUMN");
}

decant_tests::on_both_servers!(
    a_redis_source_verifies_against_its_mysql_copy_through_the_spec,
    sample_fetches_redis_keys_by_name,
);

#[test]
fn a_table_named_in_tables_on_one_side_only_is_a_difference_and_on_neither_an_error() {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (mdb, pdb) = (my.fresh_database("onesided"), pg.fresh_database("onesided"));
    my.query(
        &mdb,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, 'a'), (2, 'b'); \
         CREATE TABLE gone (id INT PRIMARY KEY); INSERT INTO gone VALUES (7), (8), (9);",
    );
    pg.query(&pdb, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    let w = Workdir::new("verify-one-sided");
    let (a, b) = (my.url(&mdb), pg.url(&pdb));
    // The table the copy forgot: every row removed, not an exporter's error.
    let out = w.run("decant-verify").args(["--left", &a, "--right", &b, "--tables", "t,gone", "--json"]).output();
    let out = out.assert_code(1).assert_stderr_contains("no table named \"gone\"");
    let r = report(&out);
    assert_eq!(group(&r, "table:gone")["left"], 3, "{r}");
    assert_eq!(group(&r, "table:gone")["right"], 0, "{r}");
    assert_eq!(group(&r, "table:gone")["removed"], 3, "{r}");
    assert_eq!(group(&r, "table:t")["ok"], true, "{r}");
    // The other way round: added.
    let out = w.run("decant-verify").args(["--left", &b, "--right", &a, "--tables", "gone", "--json"]).output();
    assert_eq!(group(&report(&out.assert_code(1)), "table:gone")["added"], 3);
    // A name neither side has is a mistake, never a pass with nothing compared.
    let out = w.run("decant-verify").args(["--left", &a, "--right", &b, "--tables", "t,goen"]).output();
    out.assert_code(2).assert_stderr_contains("table \"goen\" is in neither");
    // The same through the exporters' streams (no range checksums): SQLite vs PostgreSQL.
    w.write("t.db", b"");
    let lite = format!("sqlite://{}", w.join("t.db").display());
    let copy = w.run("pg-export").args(["--url", &b, "--tables", "t"]).output().assert_success();
    w.write("t.ndjson", copy.stdout);
    w.run("sqlite-import").args(["--url", &lite, "--create-tables", "-i", "t.ndjson"]).output().assert_success();
    let out = w.run("decant-verify").args(["--left", &a, "--right", &lite, "--tables", "gone,t", "--json"]).output();
    let r = report(&out.assert_code(1).assert_stderr_contains("no table named \"gone\""));
    assert_eq!(group(&r, "table:gone")["removed"], 3, "{r}");
    assert_eq!(group(&r, "table:t")["ok"], true, "{r}");
    let out = w.run("decant-verify").args(["--left", &lite, "--right", "t.ndjson", "--tables", "goen"]).output();
    out.assert_code(2).assert_stderr_contains("table \"goen\" is in neither");
    // The exporters: an error by default, a warning with --skip-missing-tables.
    let out = w.run("pg-export").args(["--url", &b, "--tables", "t,gone"]).output();
    out.assert_code(2).assert_stderr_contains("--tables: no table named \"gone\"");
    let out = w.run("pg-export").args(["--url", &b, "--tables", "t,gone", "--skip-missing-tables"]).output();
    let out = out.assert_success().assert_stderr_contains("skipped (--skip-missing-tables)");
    let rows = String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("\"kind\":\"row\"")).count();
    assert_eq!(rows, 2);
}
