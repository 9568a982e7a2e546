//! decant-diff: planted differences are found with the right counts, equal
//! data is equal, the patch repairs, and big inputs spill to disk with the
//! same result.

use decant_tests::{bin, Output, ServerKind, Workdir};
use serde_json::{json, Value};

fn schema(table: &str, extra: &str) -> String {
    format!(
        r#"{{"kind":"schema","table":"{table}","columns":[{{"name":"id","type":"int64","nullable":false}},{{"name":"email","type":"string"}},{{"name":"blob","type":"bytes"}},{{"name":"at","type":"datetime","precision":6}}{extra}],"primary_key":["id"]}}"#
    )
}

fn row(table: &str, id: i64, email: &str, blob_b64: &str, at: &str) -> String {
    format!(
        r#"{{"kind":"row","table":"{table}","data":{{"id":{id},"email":"{email}","blob":{{"$b64":"{blob_b64}"}},"at":"{at}"}}}}"#
    )
}

fn key(k: &str, expire: Option<i64>, value: &str) -> String {
    let e = expire.map_or("null".to_owned(), |e| e.to_string());
    format!(r#"{{"kind":"redis","db":0,"key":"{k}","type":"hash","expire_at_ms":{e},"value":{value}}}"#)
}

/// Per-group and total counts from `--log-format json` on stderr.
fn summary(out: &Output) -> (Vec<Value>, Value) {
    let lines: Vec<Value> =
        out.stderr.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut total =
        lines.iter().find(|l| l["event"] == "total").cloned().unwrap_or_else(|| panic!("no total: {out:?}"));
    // The figures, not when they were logged.
    total.as_object_mut().unwrap().remove("ts");
    (lines, total)
}

fn diffs(out: &Output) -> Vec<Value> {
    out.stdout_json_lines().into_iter().filter(|l| l["kind"] == "diff").collect()
}

/// A: 6 rows and 3 keys. B: the same with one of each planted difference.
fn planted(w: &Workdir) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut a = vec![schema("users", "")];
    let mut b = vec![schema("users", "")];
    for id in 1..=6 {
        a.push(row("users", id, &format!("u{id}@x"), "AAEC", &format!("2025-01-01T09:30:00.12345{id}")));
    }
    // 1: equal; 2: changed email; 3: missing in B; 4: one byte of the blob;
    // 5: timestamp at millisecond precision (the copy is TIMESTAMP(3));
    // 6: equal; 7: extra in B.
    b.push(row("users", 6, "u6@x", "AAEC", "2025-01-01T09:30:00.123456"));
    b.push(row("users", 1, "u1@x", "AAEC", "2025-01-01T09:30:00.123451"));
    b.push(row("users", 2, "CHANGED@x", "AAEC", "2025-01-01T09:30:00.123452"));
    b.push(row("users", 4, "u4@x", "AAED", "2025-01-01T09:30:00.123454"));
    b.push(row("users", 5, "u5@x", "AAEC", "2025-01-01T09:30:00.123"));
    b.push(row("users", 7, "u7@x", "AAEC", "2025-01-01T09:30:00.123457"));
    a.push(key("apikey:1", None, r#"{"name":"prod","limit":"10"}"#));
    a.push(key("apikey:2", Some(1_900_000_000_000), r#"{"name":"dev"}"#));
    a.push(key("session:1", None, r#"{"u":"1"}"#));
    b.push(key("session:1", None, r#"{"u":"1"}"#));
    b.push(key("apikey:1", None, r#"{"name":"prod","limit":"11"}"#));
    b.push(key("apikey:2", Some(1_900_000_060_000), r#"{"name":"dev"}"#));
    let pa = w.write("a.ndjson", a.join("\n") + "\n");
    let pb = w.write("b.ndjson", b.join("\n") + "\n");
    (pa, pb)
}

#[test]
fn planted_differences_are_found_with_the_right_counts() {
    let w = Workdir::new("diff-planted");
    planted(&w);
    let out = w.run("decant-diff").args(["a.ndjson", "b.ndjson", "--log-format", "json"]).output().assert_code(1);
    let (_, total) = summary(&out);
    assert_eq!(total["added"], 1, "{out:?}");
    assert_eq!(total["removed"], 1, "{out:?}");
    // email, blob byte, timestamp precision, hash field, TTL.
    assert_eq!(total["changed"], 5, "{out:?}");
    assert_eq!(total["equal"], 3, "{out:?}");
    let d = diffs(&out);
    let by_id = |id: i64| d.iter().find(|x| x["id"] == json!({"id": id})).unwrap_or_else(|| panic!("no diff for {id}"));
    assert_eq!(by_id(2)["op"], "changed");
    assert_eq!(by_id(2)["fields"], json!(["email"]));
    assert_eq!(by_id(3)["op"], "removed");
    assert!(by_id(3)["right"].is_null());
    assert_eq!(by_id(4)["fields"], json!(["blob"]));
    assert_eq!(by_id(5)["fields"], json!(["at"]));
    assert_eq!(by_id(7)["op"], "added");
    assert!(by_id(7)["left"].is_null());
    let k1 = d.iter().find(|x| x["key"] == "apikey:1").unwrap();
    assert_eq!(k1["fields"], json!(["limit"]));
    let k2 = d.iter().find(|x| x["key"] == "apikey:2").unwrap();
    assert_eq!(k2["fields"], json!(["expire_at_ms"]));
    // The output is a sealed decant stream.
    let lines = out.stdout_json_lines();
    assert_eq!(lines[0]["kind"], "header");
    assert_eq!(lines.last().unwrap()["kind"], "end");
    assert_eq!(lines.last().unwrap()["records"], 7);

    // --only: the kinds asked for, in the lines and in the patch (a sync
    // policy that adds what B lacks and deletes nothing); counts stay whole.
    let out = w.run("decant-diff").args(["a.ndjson", "b.ndjson", "--only", "removed,changed"]).output().assert_code(1);
    let ops: std::collections::BTreeSet<String> =
        diffs(&out).iter().map(|d| d["op"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ops, ["changed", "removed"].map(String::from).into_iter().collect(), "{out:?}");
    let patch =
        w.run("decant-diff").args(["a.ndjson", "b.ndjson", "--only", "added", "--patch"]).output().assert_code(1);
    let kinds: Vec<String> = patch
        .stdout_json_lines()
        .iter()
        .map(|l| l["kind"].as_str().unwrap().to_owned())
        .filter(|k| !matches!(k.as_str(), "header" | "end" | "schema"))
        .collect();
    assert_eq!(kinds, ["delete"], "only the row only in B is deleted: {patch:?}");
    w.run("decant-diff").args(["a.ndjson", "b.ndjson", "--only", "moved"]).output().assert_code(2);
}

#[test]
fn normalisation_options_are_explicit() {
    let w = Workdir::new("diff-norm");
    planted(&w);
    // --time-precision 3 makes row 5 equal; nothing else changes.
    let out = w
        .run("decant-diff")
        .args(["a.ndjson", "b.ndjson", "--log-format", "json", "--time-precision", "3"])
        .output()
        .assert_code(1);
    let (_, total) = summary(&out);
    assert_eq!(total["changed"], 4, "{out:?}");
    assert_eq!(total["equal"], 4, "{out:?}");
    // --expiry-precision 60000 is not enough to hide a 60 s TTL change… but
    // --ignore-expiry is.
    let out = w
        .run("decant-diff")
        .args(["a.ndjson", "b.ndjson", "--log-format", "json", "--time-precision", "3", "--ignore-expiry"])
        .output()
        .assert_code(1);
    assert_eq!(summary(&out).1["changed"], 3, "{out:?}");
    // Null vs empty string.
    w.write("n1.ndjson", format!("{}\n", r#"{"kind":"row","table":"t","data":{"id":1,"s":null}}"#));
    w.write("n2.ndjson", format!("{}\n", r#"{"kind":"row","table":"t","data":{"id":1,"s":""}}"#));
    w.run("decant-diff").args(["n1.ndjson", "n2.ndjson", "--key", "id"]).output().assert_code(1);
    w.run("decant-diff")
        .args(["n1.ndjson", "n2.ndjson", "--key", "id", "--null-equals-empty"])
        .output()
        .assert_success();
    // Float tolerance.
    w.write("f1.ndjson", format!("{}\n", r#"{"kind":"row","table":"t","data":{"id":1,"x":0.30000000000000004}}"#));
    w.write("f2.ndjson", format!("{}\n", r#"{"kind":"row","table":"t","data":{"id":1,"x":0.3}}"#));
    w.run("decant-diff").args(["f1.ndjson", "f2.ndjson", "--key", "t:id"]).output().assert_code(1);
    w.run("decant-diff")
        .args(["f1.ndjson", "f2.ndjson", "--key", "t:id", "--float-tolerance", "1e-9"])
        .output()
        .assert_success();
}

#[test]
fn equal_data_in_any_order_and_spelling_is_equal() {
    let w = Workdir::new("diff-equal");
    let mut a = vec![schema("users", "")];
    let mut b = vec![schema("users", "")];
    for id in 1..=50 {
        a.push(row("users", id, &format!("u{id}@x"), "AAEC", "2025-01-01T09:30:00.100000"));
    }
    for id in (1..=50).rev() {
        // The same values spelled differently: key order, date-time spelling.
        b.push(format!(
            r#"{{"kind":"row","table":"users","data":{{"at":"2025-01-01 09:30:00.1","blob":{{"$b64":"AAEC"}},"email":"u{id}@x","id":{id}}}}}"#
        ));
    }
    w.write("a.ndjson", a.join("\n") + "\n");
    w.write("b.ndjson", b.join("\n") + "\n");
    let out = w.run("decant-diff").args(["a.ndjson", "b.ndjson"]).output().assert_success();
    assert!(diffs(&out).is_empty(), "{out:?}");
    assert!(out.stderr.contains("A and B are equal"), "{out:?}");
}

#[test]
fn inputs_larger_than_memory_are_partitioned_with_the_same_result() {
    let w = Workdir::new("diff-spill");
    let mut a = vec![schema("big", "")];
    let mut b = vec![schema("big", "")];
    for id in 1..=3000 {
        a.push(row("big", id, &format!("user{id}@example.com"), "AAEC", "2025-01-01T09:30:00"));
        if id % 1000 == 0 {
            continue; // 3 removed
        }
        let email = if id % 700 == 0 { "changed".to_owned() } else { format!("user{id}@example.com") };
        b.push(row("big", id, &email, "AAEC", "2025-01-01T09:30:00"));
    }
    b.push(row("big", 5000, "new", "AAEC", "2025-01-01T09:30:00"));
    w.write("a.ndjson", a.join("\n") + "\n");
    w.write("b.ndjson", b.join("\n") + "\n");
    let run = |mem: &str| {
        let out = w
            .run("decant-diff")
            .args(["a.ndjson", "b.ndjson", "--log-format", "json", "--memory", mem, "--temp-dir", "."])
            .output()
            .assert_code(1);
        let (_, total) = summary(&out);
        assert_eq!(total["removed"], 3, "{mem}: {out:?}");
        assert_eq!(total["changed"], 4, "{mem}: {out:?}");
        assert_eq!(total["added"], 1, "{mem}: {out:?}");
        assert_eq!(total["equal"], 2993, "{mem}: {out:?}");
        let mut ids: Vec<String> = diffs(&out).iter().map(|d| d["id"].to_string()).collect();
        ids.sort();
        ids
    };
    // 20 KB holds ~100 rows: partitions of 3000/64 rows fit after one split.
    assert_eq!(run("64M"), run("20K"));
    // 2 KB forces a second level of partitioning.
    assert_eq!(run("64M"), run("2K"));
    // The temporary partitions are gone.
    let left: Vec<_> = std::fs::read_dir(w.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("decant-diff-"))
        .collect();
    assert!(left.is_empty(), "temporary partitions left behind: {left:?}");
}

#[test]
fn patch_makes_b_equal_to_a() {
    let w = Workdir::new("diff-patch");
    planted(&w);
    let out = w.run("decant-diff").args(["a.ndjson", "b.ndjson", "--patch"]).output().assert_code(1);
    let patch = out.stdout_json_lines();
    let kinds: Vec<&str> = patch.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"header"));
    assert_eq!(kinds.last(), Some(&"end"));
    // Deletes for what only B has; A's records for removed and changed.
    let deletes: Vec<&Value> = patch.iter().filter(|l| l["kind"] == "delete").collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0]["table"], "users");
    assert_eq!(deletes[0]["id"], json!({"id": 7}));
    let rows: Vec<i64> =
        patch.iter().filter(|l| l["kind"] == "row").map(|l| l["data"]["id"].as_i64().unwrap()).collect();
    let mut rows_sorted = rows.clone();
    rows_sorted.sort();
    assert_eq!(rows_sorted, [2, 3, 4, 5]);
    assert_eq!(patch.iter().filter(|l| l["kind"] == "redis").count(), 2);
    // The schema line comes before the first row of its table.
    let first_schema = kinds.iter().position(|k| *k == "schema").unwrap();
    let first_row = kinds.iter().position(|k| *k == "row").unwrap();
    assert!(first_schema < first_row);
    // Applying the patch to B the way an upsert importer does (replace by
    // key, delete by key) gives A.
    let b_text = w.read_to_string("b.ndjson");
    let mut b: Vec<Value> = b_text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ident = |v: &Value| {
        if v["kind"] == "redis" || v.get("key").is_some() {
            format!("k{}", v["key"])
        } else if v.get("data").is_some() {
            format!("t{}", v["data"]["id"])
        } else {
            format!("t{}", v["id"]["id"])
        }
    };
    for p in &patch {
        match p["kind"].as_str().unwrap() {
            "row" | "redis" => {
                b.retain(|x| x["kind"] == "schema" || ident(x) != ident(p));
                b.push(p.clone());
            }
            "delete" => b.retain(|x| x["kind"] == "schema" || ident(x) != ident(p)),
            _ => {}
        }
    }
    let repaired: String = b.iter().map(|v| format!("{v}\n")).collect();
    w.write("b2.ndjson", repaired);
    w.run("decant-diff").args(["a.ndjson", "b2.ndjson"]).output().assert_success();
}

#[test]
fn key_map_and_key_flags() {
    let w = Workdir::new("diff-keymap");
    w.write(
        "a.ndjson",
        format!("{}\n{}\n", key("apikey:1", None, r#"{"n":"1"}"#), key("apikey:2", None, r#"{"n":"2"}"#)),
    );
    w.write(
        "b.ndjson",
        format!("{}\n{}\n", key("key:1:v1", None, r#"{"n":"1"}"#), key("key:2:v1", None, r#"{"n":"2"}"#)),
    );
    w.run("decant-diff").args(["a.ndjson", "b.ndjson"]).output().assert_code(1);
    w.run("decant-diff")
        .args(["a.ndjson", "b.ndjson", "--key-map", "apikey:{id}=key:{id}:v1"])
        .output()
        .assert_success();
    // Rows keyed by a non-PK column: a changed row is "changed", not removed + added.
    w.write("r1.ndjson", format!("{}\n", r#"{"kind":"row","table":"t","data":{"email":"a@x","n":1}}"#));
    w.write("r2.ndjson", format!("{}\n", r#"{"kind":"row","table":"t","data":{"email":"a@x","n":2}}"#));
    let out = w.run("decant-diff").args(["r1.ndjson", "r2.ndjson", "--key", "t:email"]).output().assert_code(1);
    let d = diffs(&out);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["op"], "changed");
    assert_eq!(d[0]["id"], json!({"email": "a@x"}));
    // Without a key the table is keyed by whole rows, with a warning.
    let out = w.run("decant-diff").args(["r1.ndjson", "r2.ndjson"]).output().assert_code(1);
    assert!(out.stderr.contains("no primary key"), "{out:?}");
    assert_eq!(diffs(&out).len(), 2);
}

#[test]
fn trouble_exits_2_naming_the_line() {
    let w = Workdir::new("diff-trouble");
    w.write("a.ndjson", format!("{}\n", key("k", None, r#"{"a":"1"}"#)));
    w.write("bad.ndjson", format!("{}\nnot json\n", key("k", None, r#"{"a":"1"}"#)));
    w.run("decant-diff").args(["a.ndjson", "bad.ndjson"]).output().assert_code(2).assert_stderr_contains("line 2");
    w.run("decant-diff")
        .args(["a.ndjson", "missing.ndjson"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("missing.ndjson");
    w.run("decant-diff").args(["a.ndjson"]).output().assert_code(2);
}

/// The same 3000-row table in MariaDB and PostgreSQL (every type the range
/// checksums render in SQL), plus a table with a float column (row by row).
fn sql_pair(prefix: &str) -> (String, String, String, String) {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (mdb, pdb) = (my.fresh_database(prefix), pg.fresh_database(prefix));
    my.query(
        &mdb,
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, name VARCHAR(100) CHARACTER SET utf8mb4, balance DECIMAL(12,4), \
         active TINYINT(1), created DATETIME(6), born DATE, token VARBINARY(16), note TEXT NULL, small SMALLINT) ENGINE=InnoDB; \
         INSERT INTO accounts SELECT seq, CONCAT('user ', seq, ' 😀 ü'), seq * 1.25, seq % 2, \
           TIMESTAMPADD(MICROSECOND, seq * 1001, '2025-01-01 00:00:00'), DATE_ADD('2000-01-01', INTERVAL seq DAY), \
           UNHEX(LPAD(HEX(seq), 8, '0')), IF(seq % 10 = 0, NULL, IF(seq % 7 = 0, '', 'n')), seq % 300 FROM seq_1_to_3000; \
         CREATE TABLE measures (id INT PRIMARY KEY, x DOUBLE, y FLOAT); \
         INSERT INTO measures SELECT seq, seq / 3e0, seq / 4e0 FROM seq_1_to_200;",
    );
    pg.query(
        &pdb,
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, name VARCHAR(100), balance NUMERIC(12,4), active BOOLEAN, \
         created TIMESTAMP(6), born DATE, token BYTEA, note TEXT NULL, small SMALLINT); \
         INSERT INTO accounts SELECT s, 'user ' || s || ' 😀 ü', s * 1.25, s % 2 = 1, \
           TIMESTAMP '2025-01-01 00:00:00' + make_interval(secs => s * 1001 / 1000000.0), DATE '2000-01-01' + s, \
           decode(lpad(to_hex(s), 8, '0'), 'hex'), CASE WHEN s % 10 = 0 THEN NULL WHEN s % 7 = 0 THEN '' ELSE 'n' END, s % 300 \
         FROM generate_series(1, 3000) s; \
         CREATE TABLE measures (id INT PRIMARY KEY, x DOUBLE PRECISION, y REAL); \
         INSERT INTO measures SELECT s, s / 3.0::float8, (s / 4.0)::real FROM generate_series(1, 200) s;",
    );
    (mdb.clone(), pdb.clone(), my.url(&mdb), pg.url(&pdb))
}

#[test]
fn live_mariadb_and_postgres_compare_by_range_checksums() {
    let (mdb, pdb, my_url, pg_url) = sql_pair("rangediff");
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    // Equal: no row moves for accounts (range checksums), measures row by row.
    let out = decant_tests::run("decant-diff").args([&my_url, &pg_url, "--log-format", "json"]).output();
    let out = out.assert_success();
    assert!(
        out.stderr.contains(
            "table accounts: range checksums in both databases: 3000 rows in A, 3000 in B, 0 range(s) differ"
        ),
        "{out:?}"
    );
    assert!(out.stderr.contains("table measures: compared row by row"), "{out:?}");
    let (_, total) = summary(&out);
    assert_eq!(total["equal"], 3200, "{out:?}");

    // Planted: changed field, missing row, extra row, one byte of a binary,
    // a timestamp at millisecond precision, a float; and each kind of value
    // the range checksums render in SQL: a 4-byte character swapped for
    // another of the same length, a decimal's last digit, a boolean, NULL vs
    // empty text (both ways), the text "N" vs NULL, a date, a sign.
    pg.query(&pdb, "UPDATE accounts SET name = 'changed' WHERE id = 100");
    pg.query(&pdb, "DELETE FROM accounts WHERE id = 1500");
    pg.query(&pdb, "INSERT INTO accounts (id, name) VALUES (5000, 'extra')");
    pg.query(&pdb, "UPDATE accounts SET token = decode('000009c5', 'hex') WHERE id = 2500");
    pg.query(&pdb, "UPDATE accounts SET created = date_trunc('milliseconds', created) WHERE id = 2999");
    pg.query(&pdb, "UPDATE measures SET x = x + 0.5 WHERE id = 7");
    pg.query(&pdb, "UPDATE accounts SET name = replace(name, '😀', '😁') WHERE id = 300");
    pg.query(&pdb, "UPDATE accounts SET balance = balance + 0.0001 WHERE id = 400");
    pg.query(&pdb, "UPDATE accounts SET active = NOT active WHERE id = 600");
    pg.query(&pdb, "UPDATE accounts SET note = '' WHERE id = 20");
    pg.query(&pdb, "UPDATE accounts SET note = NULL WHERE id = 14");
    my.query(&mdb, "UPDATE accounts SET note = 'N' WHERE id = 30");
    pg.query(&pdb, "UPDATE accounts SET born = born + 1 WHERE id = 800");
    pg.query(&pdb, "UPDATE accounts SET small = -small WHERE id = 901");
    let out = decant_tests::run("decant-diff").args([&my_url, &pg_url, "--log-format", "json"]).output().assert_code(1);
    let (lines, total) = summary(&out);
    assert_eq!(total["added"], 1, "{out:?}");
    assert_eq!(total["removed"], 1, "{out:?}");
    assert_eq!(total["changed"], 12, "{out:?}");
    let acc = lines.iter().find(|l| l["group"] == "table:accounts").unwrap();
    assert_eq!(acc["left"], 3000);
    assert_eq!(acc["right"], 3000);
    assert_eq!(acc["equal"], 2988);
    let d = diffs(&out);
    let by = |id: i64| {
        d.iter()
            .find(|x| x["table"] == "accounts" && x["id"] == json!({"id": id}))
            .unwrap_or_else(|| panic!("{id}: {out:?}"))
    };
    assert_eq!(by(100)["fields"], json!(["name"]));
    assert_eq!(by(1500)["op"], "removed");
    assert_eq!(by(5000)["op"], "added");
    assert_eq!(by(2500)["fields"], json!(["token"]));
    assert_eq!(by(2999)["fields"], json!(["created"]));
    assert_eq!(by(300)["fields"], json!(["name"]));
    assert_eq!(by(400)["fields"], json!(["balance"]));
    assert_eq!(by(600)["fields"], json!(["active"]));
    for id in [14, 20, 30] {
        assert_eq!(by(id)["fields"], json!(["note"]), "{id}");
    }
    assert_eq!(by(800)["fields"], json!(["born"]));
    assert_eq!(by(901)["fields"], json!(["small"]));
    // The same answer row by row (no range checksums), and with one or
    // many checksum queries at a time.
    let rows = decant_tests::run("decant-diff")
        .args([&my_url, &pg_url, "--log-format", "json", "--no-range-checksums"])
        .output()
        .assert_code(1);
    assert_eq!(summary(&rows).1, total);
    for jobs in ["1", "5"] {
        let again = decant_tests::run("decant-diff")
            .args([&my_url, &pg_url, "--log-format", "json", "--jobs", jobs, "--leaf-rows", "10"])
            .output()
            .assert_code(1);
        assert_eq!(summary(&again).1, total, "--jobs {jobs}");
    }
    let _ = (my, mdb);
}

/// Issue 12: range checksums read a PostgreSQL table as pg-export does: an
/// inheritance parent without its children's rows (each child is a table of
/// its own) and a partitioned table through its parent only (its partitions
/// are not tables of their own). Before, a parent counted its children's
/// rows and each partition was compared again as a table.
#[test]
fn range_checksums_read_inheritance_parents_and_partitions_once() {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (mdb, pdb) = (my.fresh_database("rangeonly"), pg.fresh_database("rangeonly"));
    pg.query(
        &pdb,
        "CREATE TABLE animal (id INT PRIMARY KEY, name TEXT); \
         CREATE TABLE dog (id INT PRIMARY KEY, name TEXT, breed TEXT) INHERITS (animal); \
         INSERT INTO animal SELECT s, 'a' || s FROM generate_series(1, 100) s; \
         INSERT INTO dog SELECT s, 'd' || s, 'b' || s FROM generate_series(1001, 1050) s; \
         CREATE TABLE events (id INT PRIMARY KEY, v INT) PARTITION BY RANGE (id); \
         CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (0) TO (500); \
         CREATE TABLE events_high PARTITION OF events FOR VALUES FROM (500) TO (2000); \
         INSERT INTO events SELECT s, s * 3 FROM generate_series(1, 1200) s;",
    );
    my.query(
        &mdb,
        "CREATE TABLE animal (id INT PRIMARY KEY, name TEXT) ENGINE=InnoDB; \
         CREATE TABLE dog (id INT PRIMARY KEY, name TEXT, breed TEXT) ENGINE=InnoDB; \
         CREATE TABLE events (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
         INSERT INTO animal SELECT seq, CONCAT('a', seq) FROM seq_1_to_100; \
         INSERT INTO dog SELECT seq, CONCAT('d', seq), CONCAT('b', seq) FROM seq_1001_to_1050; \
         INSERT INTO events SELECT seq, seq * 3 FROM seq_1_to_1200;",
    );
    let (my_url, pg_url) = (my.url(&mdb), pg.url(&pdb));
    let out =
        decant_tests::run("decant-diff").args([&my_url, &pg_url, "--log-format", "json"]).output().assert_success();
    for (table, rows) in [("animal", 100), ("dog", 50), ("events", 1200)] {
        let said = format!(
            "table {table}: range checksums in both databases: {rows} rows in A, {rows} in B, 0 range(s) differ"
        );
        assert!(out.stderr.contains(&said), "{said}: {out:?}");
    }
    assert!(!out.stderr.contains("events_low") && !out.stderr.contains("events_high"), "{out:?}");
    // A child's row changed: found in the child, the parent stays equal.
    pg.query(&pdb, "UPDATE dog SET breed = 'x' WHERE id = 1010");
    let out = decant_tests::run("decant-diff").args([&my_url, &pg_url, "--log-format", "json"]).output().assert_code(1);
    assert_eq!(diffs(&out).len(), 1, "{out:?}");
    assert_eq!(diffs(&out)[0]["table"], "dog", "{out:?}");
}

#[test]
fn range_checksums_see_equal_decimals_of_different_scales_as_equal() {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (mdb, pdb) = (my.fresh_database("rangescale"), pg.fresh_database("rangescale"));
    my.query(
        &mdb,
        "SET time_zone = '+00:00'; CREATE TABLE prices (id INT PRIMARY KEY, amount DECIMAL(12,4), at TIMESTAMP(6) NULL) ENGINE=InnoDB; \
         INSERT INTO prices SELECT seq, seq / 4, TIMESTAMPADD(MICROSECOND, seq * 7, '2025-06-01 00:00:00') FROM seq_1_to_500;",
    );
    pg.query(
        &pdb,
        "CREATE TABLE prices (id INT PRIMARY KEY, amount NUMERIC(14,2), at TIMESTAMP(6) WITH TIME ZONE); \
         INSERT INTO prices SELECT s, s / 4.0, TIMESTAMPTZ '2025-06-01 00:00:00+00' + make_interval(secs => s * 7 / 1000000.0) \
         FROM generate_series(1, 500) s;",
    );
    let (my_url, pg_url) = (my.url(&mdb), pg.url(&pdb));
    // 1.2500 in A is 1.25 in B: equal, in place and row by row.
    decant_tests::run("decant-diff").args([&my_url, &pg_url, "--no-range-checksums"]).output().assert_success();
    let out =
        decant_tests::run("decant-diff").args([&my_url, &pg_url, "--log-format", "json"]).output().assert_success();
    assert!(
        out.stderr
            .contains("table prices: range checksums in both databases: 500 rows in A, 500 in B, 0 range(s) differ"),
        "{out:?}"
    );
    pg.query(&pdb, "UPDATE prices SET amount = amount + 0.01 WHERE id = 250");
    let out = decant_tests::run("decant-diff").args([&my_url, &pg_url, "--log-format", "json"]).output().assert_code(1);
    assert_eq!(summary(&out).1["changed"], 1, "{out:?}");
    assert_eq!(diffs(&out)[0]["fields"], json!(["amount"]), "{out:?}");
}

/// Regression (found by issue 16's work): a table on one live side only is
/// fetched from that side, the other reading nothing; the empty side used
/// to fail as "empty input: no header" (exit 2) instead of reporting the
/// table's rows as removed.
#[test]
fn a_table_on_one_live_side_only_is_reported_not_an_error() {
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    let (mdb, pdb) = (my.fresh_database("rangeonlya"), pg.fresh_database("rangeonlya"));
    let t = "CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 1), (2, 2);";
    my.query(&mdb, &format!("{t} CREATE TABLE only_a (id INT PRIMARY KEY, v INT); INSERT INTO only_a VALUES (7, 1);"));
    pg.query(&pdb, t);
    let out = decant_tests::run("decant-diff")
        .args([&my.url(&mdb), &pg.url(&pdb), "--settle", "0", "--log-format", "json"])
        .output()
        .assert_code(1);
    assert_eq!((summary(&out).1["removed"].as_u64(), summary(&out).1["changed"].as_u64()), (Some(1), Some(0)));
    let found = diffs(&out);
    assert_eq!((found.len(), &found[0]["table"], &found[0]["id"]), (1, &json!("only_a"), &json!({"id": 7})), "{out:?}");
}

#[test]
fn where_limits_both_sides_in_the_checksums_and_the_row_fetches() {
    let (mdb, pdb, my_url, pg_url) = sql_pair("rangewhere");
    let (my, pg) = (decant_tests::mariadb(), decant_tests::postgres());
    // Inside the slice (small < 150): a change, a deleted row, an extra row.
    pg.query(&pdb, "UPDATE accounts SET name = 'changed' WHERE id = 100");
    pg.query(&pdb, "DELETE FROM accounts WHERE id = 1500");
    pg.query(&pdb, "INSERT INTO accounts (id, name, small) VALUES (5001, 'extra', 1)");
    pg.query(&pdb, "UPDATE measures SET x = 0 WHERE id = 7");
    // Outside it: not compared.
    pg.query(&pdb, "UPDATE accounts SET name = 'changed' WHERE id = 250");
    pg.query(&pdb, "INSERT INTO accounts (id, name, small) VALUES (5000, 'extra', 299)");
    pg.query(&pdb, "UPDATE measures SET x = 0 WHERE id = 150");
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = vec![
            my_url.clone(),
            pg_url.clone(),
            "--log-format".into(),
            "json".into(),
            "--where".into(),
            "accounts:small < 150".into(),
            "--where".into(),
            "measures:id < 100".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = decant_tests::run("decant-diff").args(args(&[])).output().assert_code(1);
    assert!(
        out.stderr.contains("table accounts: range checksums in both databases: 1500 rows in A, 1500 in B"),
        "{out:?}"
    );
    let (lines, total) = summary(&out);
    assert_eq!(
        (total["added"].as_u64(), total["removed"].as_u64(), total["changed"].as_u64()),
        (Some(1), Some(1), Some(2)),
        "{out:?}"
    );
    let measures = lines.iter().find(|l| l["group"] == "table:measures").unwrap();
    assert_eq!((measures["left"].as_u64(), measures["right"].as_u64()), (Some(99), Some(99)), "{out:?}");
    let ids: Vec<Value> = diffs(&out).iter().map(|d| d["id"]["id"].clone()).collect();
    for id in [100, 1500, 5001, 7] {
        assert!(ids.contains(&json!(id)), "{id}: {out:?}");
    }
    // The same slice row by row, and the patch of the slice repairs it.
    let rows = decant_tests::run("decant-diff").args(args(&["--no-range-checksums"])).output().assert_code(1);
    assert_eq!(summary(&rows).1, total);
    let p = decant_tests::run("decant-diff")
        .args(args(&["--patch"]))
        .pipe(decant_tests::run("pg-import").args(["--url", &pg_url, "--mode", "upsert"]))
        .output();
    assert_eq!(p[1].code(), Some(0), "{:?}", p[1]);
    decant_tests::run("decant-diff").args(args(&[])).output().assert_success();
    // Outside the slice the differences are still there.
    let out = decant_tests::run("decant-diff").args([&my_url, &pg_url, "--log-format", "json"]).output().assert_code(1);
    assert_eq!(summary(&out).1["changed"], 2, "{out:?}");
    // A condition one side cannot run is an error, not a silent difference.
    let bad = decant_tests::run("decant-diff")
        .args([&my_url, &pg_url, "--where", "accounts:no_such_column = 1"])
        .output()
        .assert_code(2);
    assert!(bad.stderr.contains("--where"), "{bad:?}");
    let bad = decant_tests::run("decant-diff").args([&my_url, &pg_url, "--where", "accounts"]).output().assert_code(2);
    assert!(bad.stderr.contains("TABLE:CONDITION"), "{bad:?}");
    let _ = (my, mdb);
}

#[test]
fn patch_from_range_checksums_repairs_postgres_through_pg_import() {
    let (_, pdb, my_url, pg_url) = sql_pair("rangepatch");
    let pg = decant_tests::postgres();
    pg.query(&pdb, "UPDATE accounts SET note = 'changed', active = NOT active WHERE id IN (10, 2000)");
    pg.query(&pdb, "DELETE FROM accounts WHERE id BETWEEN 700 AND 720");
    pg.query(&pdb, "INSERT INTO accounts (id, name) VALUES (9000, 'extra'), (9001, 'extra')");
    pg.query(&pdb, "UPDATE measures SET y = 0 WHERE id = 3");
    let out = decant_tests::run("decant-diff").args([&my_url, &pg_url, "--log-format", "json"]).output().assert_code(1);
    let (_, total) = summary(&out);
    assert_eq!(
        (total["added"].as_u64(), total["removed"].as_u64(), total["changed"].as_u64()),
        (Some(2), Some(21), Some(3)),
        "{out:?}"
    );
    let repaired = decant_tests::run("decant-diff")
        .args([&my_url, &pg_url, "--patch"])
        .pipe(decant_tests::run("pg-import").args(["--url", &pg_url, "--mode", "upsert"]))
        .output();
    assert_eq!(repaired[0].code(), Some(1), "{:?}", repaired[0]);
    assert_eq!(repaired[1].code(), Some(0), "{:?}", repaired[1]);
    decant_tests::run("decant-diff").args([&my_url, &pg_url]).output().assert_success();
}

fn live_redis_differences_and_patch_through_redis_import(kind: ServerKind) {
    let r = decant_tests::redis_on(kind);
    let expire = 4_000_000_000_000i64; // a whole second, far in the future
    for i in 0..30 {
        r.cli(["HSET", &format!("apikey:{i}"), "name", &format!("k{i}"), "limit", "10"]);
    }
    r.cli(["SET", "session:1", "s1"]);
    r.cli(["PEXPIREAT", "session:1", &expire.to_string()]);
    let bin = r.cli_command().args(["-x", "SET", "blob:1"]).stdin(std::process::Stdio::piped()).spawn();
    {
        use std::io::Write as _;
        let mut child = bin.unwrap();
        child.stdin.take().unwrap().write_all(&[0u8, 159, 146, 150, 1, 2, 3]).unwrap();
        assert!(child.wait().unwrap().success());
    }
    r.cli(["RPUSH", "queue:1", "a", "b", "c"]);
    let w = Workdir::new("diff-redis");
    w.run("redis-export").args(["--url", &r.url(), "-o", "a.ndjson.zst"]).output().assert_success();
    w.run("decant-diff").args(["a.ndjson.zst", &r.url()]).output().assert_success();

    // Planted: changed field, missing key, extra key, changed TTL, one byte of a binary value.
    r.cli(["HSET", "apikey:3", "limit", "11"]);
    r.cli(["DEL", "apikey:4"]);
    r.cli(["SET", "extra:1", "x"]);
    r.cli(["PEXPIREAT", "session:1", &(expire + 60_000).to_string()]);
    r.cli(["SETRANGE", "blob:1", "3", "\u{1}"]);
    let out = w.run("decant-diff").args(["a.ndjson.zst", &r.url(), "--log-format", "json"]).output().assert_code(1);
    let (_, total) = summary(&out);
    assert_eq!(total["added"], 1, "{out:?}");
    assert_eq!(total["removed"], 1, "{out:?}");
    assert_eq!(total["changed"], 3, "{out:?}");
    let d = diffs(&out);
    let by = |k: &str| d.iter().find(|x| x["key"] == k).unwrap_or_else(|| panic!("{k}: {out:?}"));
    assert_eq!(by("apikey:3")["fields"], json!(["limit"]));
    assert_eq!(by("session:1")["fields"], json!(["expire_at_ms"]));
    assert_eq!(by("blob:1")["fields"], json!(["value"]));
    assert_eq!(by("apikey:4")["op"], "removed");
    assert_eq!(by("extra:1")["op"], "added");

    // Repair in one pipe, then equal.
    let p = w
        .run("decant-diff")
        .args(["a.ndjson.zst", &r.url(), "--patch"])
        .pipe(decant_tests::run("redis-import").args(["--url", &r.url(), "--mode", "replace"]))
        .output();
    assert_eq!(p[1].code(), Some(0), "{:?}", p[1]);
    w.run("decant-diff").args(["a.ndjson.zst", &r.url()]).output().assert_success();
}

/// Issue 11: --ignore-columns leaves columns a target fills itself out of
/// the comparison (and --tables filters file sides): rows keyed by the
/// unique key the ignored primary key gives way to.
#[test]
fn ignored_columns_and_tables_leave_the_comparison() {
    let w = Workdir::new("diff-ignore");
    let schema = r#"{"kind":"schema","table":"t","columns":[{"name":"id","type":"int64"},{"name":"k","type":"string"},{"name":"v","type":"int64"},{"name":"updated_at","type":"datetime"}],"primary_key":["id"],"indexes":[{"name":"uk","columns":["k"],"unique":true}]}"#;
    let rows = |ids: [i64; 2], v: i64, at: &str| {
        format!(
            "{schema}\n{{\"kind\":\"row\",\"table\":\"t\",\"data\":{{\"id\":{},\"k\":\"a\",\"v\":1,\"updated_at\":\"{at}\"}}}}\n{{\"kind\":\"row\",\"table\":\"t\",\"data\":{{\"id\":{},\"k\":\"b\",\"v\":{v},\"updated_at\":\"{at}\"}}}}\n",
            ids[0], ids[1]
        )
    };
    w.write("a.ndjson", rows([1, 2], 2, "2026-01-01T00:00:00"));
    // Other ids and times (the target's own), one changed value, one table only B has.
    w.write(
        "b.ndjson",
        format!(
            "{}{{\"kind\":\"row\",\"table\":\"other\",\"data\":{{\"x\":1}}}}\n",
            rows([7, 8], 3, "2026-12-06T04:00:00")
        ),
    );
    let out = w
        .run("decant-diff")
        .args(["a.ndjson", "b.ndjson", "--ignore-columns", "t.id,*.updated_at", "--tables", "t"])
        .output()
        .assert_code(1);
    let d = diffs(&out);
    assert_eq!(d.len(), 1, "{out:?}");
    assert_eq!(d[0]["op"], "changed");
    assert_eq!(d[0]["fields"], json!(["v"]));
    w.write("b_same.ndjson", rows([7, 8], 2, "2026-12-06T04:00:00"));
    w.run("decant-diff")
        .args(["a.ndjson", "b_same.ndjson", "--ignore-columns", "t.id", "--ignore-columns", "*.updated_at"])
        .output()
        .assert_success();
}

decant_tests::on_both_servers!(live_redis_differences_and_patch_through_redis_import,);

/// Issue 14: on a terminal decant-diff shows a readable view (one line per
/// changed column, added and removed records named, then counted), NDJSON
/// when piped, and `--format` forces either. The terminal is a real
/// pseudo-terminal: script(1) runs the tool on one.
#[test]
fn a_terminal_gets_a_readable_view_and_a_pipe_gets_ndjson() {
    let w = Workdir::new("diff-terminal");
    let schema = r#"{"kind":"schema","table":"accounts","columns":[{"name":"id","type":"int64","nullable":false},{"name":"balance","type":"decimal"},{"name":"owner","type":"string"}],"primary_key":["id"]}"#;
    let row = |id: u32, balance: &str| {
        format!(r#"{{"kind":"row","table":"accounts","data":{{"id":{id},"balance":"{balance}","owner":"o{id}"}}}}"#)
    };
    let mut a = vec![schema.to_owned(), row(10, "85.88"), row(11, "1.00")];
    let mut b = vec![schema.to_owned(), row(10, "86.88")];
    b.extend((100..115).map(|id| row(id, "0.00"))); // 15 added: 10 named, 5 counted
    a.push(r#"{"kind":"redis","db":0,"key":"session:1","type":"string","value":"x"}"#.to_owned());
    b.push(r#"{"kind":"redis","db":0,"key":"session:1","type":"string","value":"y"}"#.to_owned());
    w.write("a.ndjson", a.join("\n") + "\n");
    w.write("b.ndjson", b.join("\n") + "\n");

    let on_terminal = |extra: &str| {
        let command = format!("{} a.ndjson b.ndjson {extra} 2>/dev/null", bin("decant-diff").display());
        let out = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(w.path())
            .output()
            .expect("script(1), from util-linux");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"))
    };
    let (code, view) = on_terminal("");
    assert_eq!(code, Some(1), "{view}");
    assert!(view.contains("accounts id=10  balance  85.88 → 86.88\n"), "{view}");
    assert!(view.contains("accounts id=11  removed (only in A)\n"), "{view}");
    assert!(view.contains("accounts id=100  added (only in B)\n"), "{view}");
    assert!(!view.contains("accounts id=114  added"), "only the first ten are named: {view}");
    assert!(view.contains("accounts  … 5 more added (only in B), 15 in all\n"), "{view}");
    assert!(view.contains("key \"session:1\"  value  x → y\n"), "{view}");
    assert!(!view.contains("{\"kind\""), "no NDJSON on a terminal: {view}");
    // --format ndjson on a terminal: the diff lines.
    let (_, lines) = on_terminal("--format ndjson");
    assert!(lines.lines().any(|l| l.starts_with("{\"kind\":\"diff\"")), "{lines}");
    // Piped: NDJSON by default, the view with --format text.
    let piped = w.run("decant-diff").args(["a.ndjson", "b.ndjson"]).output();
    assert_eq!(piped.code(), Some(1));
    assert!(piped.stdout_lines().iter().all(|l| l.starts_with('{')), "{piped:?}");
    let forced = w.run("decant-diff").args(["a.ndjson", "b.ndjson", "--format", "text"]).output();
    assert!(forced.stdout_str().contains("accounts id=10  balance  85.88 → 86.88"), "{forced:?}");
}

/// `--tables` naming a table one side lacks: its rows are differences; a name
/// neither side has is an error naming it, never "equal".
#[test]
fn a_table_on_one_side_only_differs_and_one_on_neither_is_an_error() {
    let w = Workdir::new("diff-one-sided");
    let (a, b) = (w.join("a.db"), w.join("b.db"));
    let sqlite = |db: &std::path::Path, sql: &str| {
        let st = std::process::Command::new("sqlite3").arg(db).arg(sql).status().expect("sqlite3 runs");
        assert!(st.success(), "sqlite3 {sql}");
    };
    sqlite(&a, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'); CREATE TABLE only_a (id INTEGER PRIMARY KEY); INSERT INTO only_a VALUES (5), (6); CREATE TABLE empty (id INTEGER PRIMARY KEY);");
    sqlite(&b, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'); CREATE TABLE empty (id INTEGER PRIMARY KEY);");
    let (a, b) = (format!("sqlite://{}", a.display()), format!("sqlite://{}", b.display()));
    let out = w.run("decant-diff").args([&a, &b, "--tables", "t,only_a,empty", "--brief"]).output();
    let out = out.assert_code(1).assert_stderr_contains("no table named \"only_a\"");
    out.assert_stderr_contains("2 difference(s): 0 added, 2 removed");
    // Empty on both sides is no error: the schema lines declare it.
    w.run("decant-diff").args([&a, &b, "--tables", "t,empty", "--brief"]).output().assert_success();
    let out = w.run("decant-diff").args([&a, &b, "--tables", "t,emtpy", "--brief"]).output();
    out.assert_code(2).assert_stderr_contains("table \"emtpy\" is in neither");
}
