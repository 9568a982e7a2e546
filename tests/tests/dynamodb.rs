//! `dynamodb-export` and `dynamodb-import` against a real DynamoDB
//! implementation (dynalite), each test on tables of its own.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use decant_record::{Record, RecordReader, Value};
use decant_tests::{dynalite, mariadb, run, Workdir};
use serde_json::json;

/// The rows of a stream by table, each row's attributes sorted by name, rows
/// sorted by their JSON text (DynamoDB has no order).
fn rows(stream: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut reader = RecordReader::new(stream);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while let Some(record) = reader.next_record().expect("a valid stream") {
        if let Record::Row(r) = record {
            let mut data = r.data.0.clone();
            data.sort_by(|a, b| a.0.cmp(&b.0));
            out.entry(r.table).or_default().push(Value::Object(data).to_json_string());
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn import(url: &str, args: &[&str], stdin: impl Into<Vec<u8>>) -> decant_tests::Output {
    run("dynamodb-import").args(["--url", url]).args(args).stdin_bytes(stdin).output()
}

fn export(url: &str, tables: &str) -> Vec<u8> {
    let out = run("dynamodb-export").args(["--url", url, "--tables", tables, "--quiet"]).assert_success().stdout;
    assert_sealed(&out);
    out
}

fn assert_sealed(stream: &[u8]) {
    let mut reader = RecordReader::new(stream);
    while reader.next_record().expect("a valid stream").is_some() {}
    assert!(reader.all_sealed(), "the stream is sealed");
}

fn nested(depth: usize) -> String {
    let mut v = r#"{"leaf":[1,{"$ss":["a"]},null,{"$b64":"AP8="}]}"#.to_owned();
    for i in 0..depth {
        v = if i % 2 == 0 { format!(r#"{{"m{i}":{v},"n":{i}}}"#) } else { format!(r#"[{v},"l{i}"]"#) };
    }
    v
}

/// Every attribute type survives export → import → export, checked on the
/// stream and on the items dynalite holds.
#[test]
fn every_attribute_type_round_trips() {
    let db = dynalite();
    let url = db.url();
    let all_bytes: Vec<u8> = (0..=255).collect();
    let b64 = {
        use std::fmt::Write as _;
        // Standard base64 by hand: the test does not trust the tools' own.
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in all_bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    let _ = write!(s, "{}", A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    };
    let source = format!(
        "{}\n{}\n{}\n{}\n",
        r#"{"kind":"schema","table":"rt_a","columns":[{"name":"pk","type":"string"},{"name":"sk","type":"int64"}],"primary_key":["pk","sk"]}"#,
        format_args!(
            r#"{{"kind":"row","table":"rt_a","data":{{"pk":"all","sk":1,"n38":{{"$n":"12345678901234567890123456789012345678"}},"neg":{{"$n":"-0.000000000000000000000000000000000001"}},"small":-7,"bytes":{{"$b64":"{b64}"}},"ss":{{"$ss":["a","b","é"]}},"ns":{{"$ns":["-1.5","10","99999999999999999999999999999999999999"]}},"bs":{{"$bs":["AA==","AQI=","/w=="]}},"nul":null,"t":true,"f":false,"empty":"","list":[1,"two",[3]],"deep":{}}}}}"#,
            nested(10)
        ),
        r#"{"kind":"row","table":"rt_a","data":{"pk":"absent","sk":2}}"#,
        r#"{"kind":"row","table":"rt_a","data":{"pk":"null","sk":2,"nul":null}}"#,
    );
    import(&url, &["--create-tables", "--mode", "replace"], source.clone()).assert_success();

    // What dynalite holds: the DynamoDB types, not lists or strings.
    let items = db.scan_all("rt_a");
    let all = items.iter().find(|i| i["pk"]["S"] == "all").expect("the item");
    assert_eq!(all["n38"], json!({"N": "12345678901234567890123456789012345678"}));
    assert_eq!(all["nul"], json!({"NULL": true}));
    assert_eq!(all["bytes"], json!({"B": b64}));
    assert!(all["ss"]["SS"].is_array() && all["ns"]["NS"].is_array() && all["bs"]["BS"].is_array(), "{all}");
    assert!(all["list"]["L"].is_array() && all["deep"]["L"][0]["M"]["m8"]["L"].is_array(), "{all}");
    let absent = items.iter().find(|i| i["pk"]["S"] == "absent").expect("the item");
    assert!(absent.get("nul").is_none(), "an absent attribute stays absent: {absent}");
    let null = items.iter().find(|i| i["pk"]["S"] == "null").expect("the item");
    assert_eq!(null["nul"], json!({"NULL": true}));

    let first = export(&url, "rt_a");
    let expected = rows(source.as_bytes());
    assert_eq!(rows(&first), expected, "export gives back what was imported");
    // The schema line names the key.
    let schema = String::from_utf8_lossy(&first).lines().find(|l| l.contains(r#""kind":"schema""#)).unwrap().to_owned();
    assert!(
        schema
            .contains(r#""key_schema":{"partition_key":{"name":"pk","type":"S"},"sort_key":{"name":"sk","type":"N"}}"#),
        "{schema}"
    );

    // Into a second table and out again: the same stream (renamed, so
    // without its header and trailer, whose digest no longer holds).
    let renamed = String::from_utf8(first.clone()).unwrap().replace("\"rt_a\"", "\"rt_b\"");
    let renamed: String = renamed
        .lines()
        .filter(|l| !l.contains(r#""kind":"end""#) && !l.contains(r#""kind":"header""#))
        .map(|l| format!("{l}\n"))
        .collect();
    import(&url, &["--create-tables", "--mode", "replace"], renamed).assert_success();
    let second = export(&url, "rt_b");
    let mut back = rows(&second);
    assert_eq!(back.remove("rt_b"), expected.get("rt_a").cloned());
}

fn seed(url: &str, table: &str, rows: &[&str]) {
    let mut s = format!(
        "{{\"kind\":\"schema\",\"table\":\"{table}\",\"columns\":[{{\"name\":\"id\",\"type\":\"int64\"}}],\"primary_key\":[\"id\"]}}\n"
    );
    for r in rows {
        s.push_str(&format!("{{\"kind\":\"row\",\"table\":\"{table}\",\"data\":{r}}}\n"));
    }
    import(url, &["--create-tables", "--mode", "replace"], s).assert_success();
}

fn items_by_id(table: &str) -> BTreeMap<i64, serde_json::Value> {
    dynalite().scan_all(table).into_iter().map(|i| (i["id"]["N"].as_str().unwrap().parse().unwrap(), i)).collect()
}

#[test]
fn modes_and_deletes() {
    let url = dynalite().url();
    let rows = |table: &str, lines: &[&str]| -> String {
        lines.iter().map(|l| format!("{{\"kind\":\"row\",\"table\":\"{table}\",\"data\":{l}}}\n")).collect()
    };
    for table in ["mode_skip", "mode_replace", "mode_upsert"] {
        seed(&url, table, &[r#"{"id":1,"a":"old","keep":"yes"}"#, r#"{"id":2,"a":"old"}"#]);
    }
    let input = |t: &str| {
        let mut s = rows(t, &[r#"{"id":1,"a":"new"}"#, r#"{"id":3,"a":"new"}"#]);
        s.push_str(&format!("{{\"kind\":\"delete\",\"table\":\"{t}\",\"id\":{{\"id\":2}}}}\n"));
        s
    };

    // skip-existing (the default): 1 is kept, 3 is written, the delete is a reject.
    let out = import(&url, &["--reject-file", "/dev/null"], input("mode_skip")).assert_code(1);
    let items = items_by_id("mode_skip");
    assert_eq!(items[&1]["a"]["S"], "old");
    assert_eq!(items[&3]["a"]["S"], "new");
    assert!(items.contains_key(&2), "skip-existing never deletes");
    let err = out.stderr.clone();
    assert!(err.contains("mode_skip") && err.contains("1"), "{err}");
    // Without a reject file the delete line stops the run, naming it.
    import(&url, &[], input("mode_skip")).assert_code(2).assert_stderr_contains("--mode replace or upsert");

    // replace: 1 is overwritten whole (its "keep" is gone), 2 is deleted.
    import(&url, &["--mode", "replace"], input("mode_replace")).assert_success();
    let items = items_by_id("mode_replace");
    assert_eq!(items[&1]["a"]["S"], "new");
    assert!(items[&1].get("keep").is_none(), "{}", items[&1]);
    assert!(!items.contains_key(&2));
    assert_eq!(items.len(), 2);

    // upsert: 1 keeps "keep" and gets the new "a", 2 is deleted.
    import(&url, &["--mode", "upsert"], input("mode_upsert")).assert_success();
    let items = items_by_id("mode_upsert");
    assert_eq!(items[&1]["a"]["S"], "new");
    assert_eq!(items[&1]["keep"]["S"], "yes");
    assert!(!items.contains_key(&2));
    assert_eq!(items[&3]["a"]["S"], "new");

    // A put and a delete of one key in one stream keep their order.
    let mut s = rows("mode_replace", &[r#"{"id":7,"a":"x"}"#]);
    s.push_str("{\"kind\":\"delete\",\"table\":\"mode_replace\",\"id\":{\"id\":7}}\n");
    s.push_str(&rows("mode_replace", &[r#"{"id":7,"a":"last"}"#]));
    import(&url, &["--mode", "replace"], s).assert_success();
    assert_eq!(items_by_id("mode_replace")[&7]["a"]["S"], "last");
}

#[test]
fn create_tables_from_a_sql_schema_line_and_dry_run() {
    let db = dynalite();
    let url = db.url();
    let schema = r#"{"kind":"schema","table":"ct_orders","columns":[{"name":"customer","type":"string"},{"name":"n","type":"int32"},{"name":"total","type":"decimal"}],"primary_key":["customer","n"]}"#;
    let row = r#"{"kind":"row","table":"ct_orders","data":{"customer":"c1","n":1,"total":"12.50"}}"#;
    // A dry run checks everything and creates nothing.
    import(&url, &["--create-tables", "--dry-run"], format!("{schema}\n{row}\n")).assert_success();
    let (status, _) = db.call("DescribeTable", &json!({"TableName": "ct_orders"}));
    assert_eq!(status, 400, "a dry run creates no table");
    // Without --create-tables a missing table is an error naming it.
    import(&url, &[], format!("{schema}\n{row}\n")).assert_code(2).assert_stderr_contains("--create-tables");
    import(&url, &["--create-tables"], format!("{schema}\n{row}\n")).assert_success();
    let (status, d) = db.call("DescribeTable", &json!({"TableName": "ct_orders"}));
    assert_eq!(status, 200);
    assert_eq!(d["Table"]["TableStatus"], "ACTIVE");
    let key = d["Table"]["KeySchema"].to_string();
    assert!(key.contains(r#""AttributeName":"customer","KeyType":"HASH""#), "{key}");
    assert!(key.contains(r#""AttributeName":"n","KeyType":"RANGE""#), "{key}");
    let defs = d["Table"]["AttributeDefinitions"].to_string();
    assert!(defs.contains(r#""AttributeName":"n","AttributeType":"N""#), "{defs}");
    assert_eq!(d["Table"]["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(db.scan_all("ct_orders").len(), 1);
}

#[test]
fn items_dynamodb_cannot_hold_are_rejects_naming_their_key() {
    let url = dynalite().url();
    let big = "x".repeat(410 * 1024);
    let input = format!(
        "{}\n{}\n{}\n{}\n{}\n",
        r#"{"kind":"schema","table":"rej","columns":[{"name":"id","type":"string"}],"primary_key":["id"]}"#,
        format_args!(r#"{{"kind":"row","table":"rej","data":{{"id":"huge-one","blob":"{big}"}}}}"#),
        r#"{"kind":"row","table":"rej","data":{"id":"fine","n":1}}"#,
        r#"{"kind":"row","table":"rej","data":{"id":"digits","n":{"$n":"123456789012345678901234567890123456789"}}}"#,
        r#"{"kind":"row","table":"rej","data":{"id":"noset","s":{"$ns":[]}}}"#,
    );
    let work = Workdir::new("dynamodb-rejects");
    let rejects = work.join("rejects.ndjson");
    import(&url, &["--create-tables", "--reject-file", rejects.to_str().unwrap()], input.clone()).assert_code(1);
    let text = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    let reason = |id: &str| {
        lines
            .iter()
            .find(|l| l["data"]["id"] == id)
            .map(|l| l["rejected"]["reason"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(
        reason("huge-one").contains("id=\"huge-one\"") && reason("huge-one").contains("400 KB"),
        "{}",
        reason("huge-one")
    );
    assert!(reason("digits").contains("39 significant digits"), "{}", reason("digits"));
    assert!(
        reason("noset").contains("empty set") && reason("noset").contains("attribute \"s\""),
        "{}",
        reason("noset")
    );
    assert_eq!(dynalite().scan_all("rej").len(), 1, "the good item is written");
    // Without a reject file the first one stops the run, naming the key.
    import(&url, &[], input).assert_code(2).assert_stderr_contains("huge-one");
}

/// Throttling errors and unprocessed items (forced by a proxy in front of
/// dynalite, which never sends them itself) are retried until every item is
/// written.
#[test]
fn unprocessed_items_and_throttling_are_retried_with_nothing_lost() {
    let db = dynalite();
    let proxy = db.flaky(7);
    let mut input = String::from(
        r#"{"kind":"schema","table":"retry","columns":[{"name":"id","type":"int64"}],"primary_key":["id"]}"#,
    );
    input.push('\n');
    for i in 0..3000 {
        input.push_str(&format!(
            "{{\"kind\":\"row\",\"table\":\"retry\",\"data\":{{\"id\":{i},\"v\":\"value {i}\"}}}}\n"
        ));
    }
    let out = import(&proxy.url(), &["--create-tables", "--mode", "replace", "--jobs", "8"], input).assert_success();
    let err = out.stderr.clone();
    assert!(proxy.withheld() > 1000, "the proxy left items unprocessed: {}", proxy.withheld());
    assert!(proxy.throttled() > 10, "the proxy throttled calls: {}", proxy.throttled());
    assert!(err.contains("calls retried"), "{err}");
    let items = db.scan_all("retry");
    assert_eq!(items.len(), 3000);
    for item in &items {
        let id = item["id"]["N"].as_str().unwrap();
        assert_eq!(item["v"]["S"], format!("value {id}"));
    }
    // The exporter retries throttled scans too.
    let stream = run("dynamodb-export")
        .args(["--url", &proxy.url(), "--tables", "retry", "--segments", "3", "--page-size", "100", "--quiet"])
        .assert_success()
        .stdout;
    assert_eq!(rows(&stream)["retry"].len(), 3000);
}

/// kill -9 in the middle of an import, then the same command with the same
/// --state: the table ends equal to the input, nothing lost.
#[test]
fn kill_9_mid_import_and_resume_with_state() {
    let db = dynalite();
    let url = db.url();
    let work = Workdir::new("dynamodb-resume");
    let mut input = String::from(
        r#"{"kind":"schema","table":"resume","columns":[{"name":"id","type":"int64"}],"primary_key":["id"]}"#,
    );
    input.push('\n');
    for i in 0..6000 {
        input.push_str(&format!(
            "{{\"kind\":\"row\",\"table\":\"resume\",\"data\":{{\"id\":{i},\"v\":\"{}\"}}}}\n",
            "v".repeat(i % 50)
        ));
    }
    let file = work.write("in.ndjson", &input);
    let state = work.join("import.state");
    let args = |cmd: decant_tests::Cmd| {
        cmd.args(["--url", &url, "--create-tables", "--mode", "replace", "--rate-limit", "2000"]).args([
            "--state",
            state.to_str().unwrap(),
            "-i",
            file.to_str().unwrap(),
        ])
    };
    let mut child = std::process::Command::new(decant_tests::bin("dynamodb-import"))
        .args(["--url", &url, "--create-tables", "--mode", "replace", "--rate-limit", "2000", "--quiet"])
        .args(["--state", state.to_str().unwrap(), "-i", file.to_str().unwrap()])
        .spawn()
        .unwrap();
    // Wait until it has written part of the input, then kill it hard.
    let started = Instant::now();
    loop {
        let line = std::fs::read_to_string(&state)
            .ok()
            .and_then(|t| t.lines().rev().find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()))
            .and_then(|v| v["line"].as_u64())
            .unwrap_or(0);
        if line > 500 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the import made no progress");
        assert!(child.try_wait().unwrap().is_none(), "the import ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let written = db.scan_all("resume").len();
    assert!(written > 0 && written < 6000, "killed midway: {written} items");

    let out = args(run("dynamodb-import")).assert_success();
    assert!(out.stderr.as_str().contains("resuming after input line"));
    let back = export(&url, "resume");
    assert_eq!(rows(&back)["resume"], rows(input.as_bytes())["resume"], "the table equals the input");
}

/// MySQL → DynamoDB backfill (rows as items, the table's primary key as the
/// item key) and back (DynamoDB → MySQL), equal by decant-checksum.
#[test]
fn mysql_backfill_and_back_equal_by_checksum() {
    let my = mariadb();
    let source = my.fresh_database("ddb_src");
    let target = my.fresh_database("ddb_back");
    let ddl = "CREATE TABLE backfill_people (
        id BIGINT UNSIGNED PRIMARY KEY,
        name VARCHAR(100) NOT NULL,
        email VARCHAR(200) NULL,
        balance DECIMAL(12,2) NOT NULL,
        ratio DOUBLE NULL,
        active TINYINT(1) NOT NULL,
        created_at DATETIME(6) NOT NULL,
        avatar BLOB NULL,
        prefs JSON NULL
    )";
    my.query(&source, ddl);
    my.query(&target, ddl);
    my.query(
        &source,
        "INSERT INTO backfill_people VALUES
         (1, 'Ann', 'ann@example.com', 12.50, 0.25, 1, '2025-01-01 09:30:00.123456', X'00FF10', '{\"theme\":\"dark\",\"n\":[1,2]}'),
         (2, 'Bob', NULL, -3.00, NULL, 0, '2024-12-31 23:59:59.000000', NULL, NULL),
         (18446744073709551615, 'Max', '', 0.00, 1.5e100, 1, '2000-02-29 00:00:00.000001', X'', '[]')",
    );
    let ddb = dynalite().url();
    let exported = run("mysql-export").args(["--url", &my.url(&source), "--quiet"]).assert_success().stdout;
    import(&ddb, &["--create-tables"], exported.clone()).assert_success();
    let items = dynalite().scan_all("backfill_people");
    assert_eq!(items.len(), 3);
    assert!(items.iter().any(|i| i["id"] == json!({"N": "18446744073709551615"})), "{items:?}");

    let back = export(&ddb, "backfill_people");
    run("mysql-import").args(["--url", &my.url(&target), "--quiet"]).stdin_bytes(back).assert_success();
    let sum = |db: &str| {
        let stream = run("mysql-export").args(["--url", &my.url(db), "--quiet"]).assert_success().stdout;
        let out = run("decant-checksum").stdin_bytes(stream).assert_success();
        out.stdout_lines().iter().filter(|l| l.contains("backfill_people")).map(|l| l.to_string()).collect::<Vec<_>>()
    };
    let (a, b) = (sum(&source), sum(&target));
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a, b, "MySQL → DynamoDB → MySQL keeps every value");
}

#[test]
fn bad_urls_and_missing_tables_are_clear_errors() {
    run("dynamodb-export")
        .args(["--url", "dynamodb://us-east-1/x"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("no path");
    run("dynamodb-export")
        .args(["--url", "dynamodb://AKIDX:s3cretValue@us-east-1"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("credentials do not go in the URL");
    let out = run("dynamodb-export").args(["--url", "dynamodb://AKIDX:s3cretValue@us-east-1"]).output();
    assert!(!out.stderr.as_str().contains("s3cretValue"));
    run("dynamodb-export")
        .args(["--url", &dynalite().url(), "--tables", "no_such_table"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("no_such_table");
    // Beside a wildcard, a literal name is looked for too; with
    // --skip-missing-tables (what decant-verify passes) it is a warning.
    let db = dynalite();
    seed(&db.url(), "present_t", &[r#"{"id":1}"#]);
    run("dynamodb-export")
        .args(["--url", &db.url(), "--tables", "present_*,no_such_table"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("no table named \"no_such_table\"");
    let out = run("dynamodb-export")
        .args(["--url", &db.url(), "--tables", "present_*,no_such_table", "--skip-missing-tables"])
        .output()
        .assert_success()
        .assert_stderr_contains("skipped (--skip-missing-tables)");
    assert_eq!(rows(&out.stdout).get("present_t").map(Vec::len), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
}

/// dynamodb-export --state: killed with kill -9 after some pages, the same
/// command goes on from each segment's last key; the file then holds every
/// item once, in sealed segments.
#[test]
fn export_killed_and_resumed_with_state_holds_every_item_once() {
    let db = dynalite();
    let url = db.url();
    let mut input = String::from(
        r#"{"kind":"schema","table":"exp_resume","columns":[{"name":"id","type":"int64"}],"primary_key":["id"]}"#,
    );
    input.push('\n');
    for i in 0..3000 {
        input.push_str(&format!(
            "{{\"kind\":\"row\",\"table\":\"exp_resume\",\"data\":{{\"id\":{i},\"v\":\"{i}\"}}}}\n"
        ));
    }
    import(&url, &["--create-tables", "--mode", "replace"], input.clone()).assert_success();
    let work = Workdir::new("dynamodb-export-resume");
    let (out, state) = (work.join("out.ndjson"), work.join("export.state"));
    let args = [
        "--url",
        &url,
        "--tables",
        "exp_resume",
        "--segments",
        "2",
        "--page-size",
        "5",
        "--rate-limit",
        "50",
        "--quiet",
        "--state",
        state.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let mut child = std::process::Command::new(decant_tests::bin("dynamodb-export")).args(args).spawn().unwrap();
    let started = Instant::now();
    loop {
        let sealed = std::fs::read(&state)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["output_bytes"].as_u64())
            .unwrap_or(0);
        if sealed > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the export made no progress");
        assert!(child.try_wait().unwrap().is_none(), "the export ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let fast: Vec<&str> = args.iter().copied().filter(|a| *a != "--rate-limit" && *a != "50").collect();
    run("dynamodb-export").args(fast).assert_success();
    assert!(!state.exists(), "the state file is removed at the end");
    let bytes = std::fs::read(&out).unwrap();
    let segments = bytes.split(|b| *b == b'\n').filter(|l| l.starts_with(br#"{"kind":"header""#)).count();
    assert!(segments >= 2, "a resumed export is several sealed segments: {segments}");
    assert_sealed(&bytes);
    assert_eq!(rows(&bytes)["exp_resume"], rows(input.as_bytes())["exp_resume"], "every item once");
}
