//! End-to-end tests of `pg-import`, `mysql-import` and `sqlite-import` against
//! throwaway servers (MariaDB at +02:00, PostgreSQL at Asia/Kolkata, so a
//! zone shift would show) and SQLite files.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use decant_tests::{bin, mariadb, postgres, run, Cmd, Workdir};

/// A stream with every hard type the issue names, hand-written as an
/// exporter would write it.
const HARD: &str = r#"{"kind":"header","format":"decant/1","source":"mysql://root@old/reline","tool":"mysql-export 0.1.0"}
{"kind":"schema","table":"hard","dialect":"mysql","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true,"source_type":"bigint(20)"},{"name":"flag","type":"bool","source_type":"tinyint(1)"},{"name":"small","type":"int8"},{"name":"big","type":"int64"},{"name":"ubig","type":"uint64","unsigned":true,"source_type":"bigint(20) unsigned"},{"name":"price","type":"decimal","precision":12,"scale":4},{"name":"ratio","type":"float64"},{"name":"name","type":"string","max_len":20},{"name":"body","type":"text"},{"name":"blob","type":"bytes"},{"name":"born","type":"date"},{"name":"at","type":"datetime","precision":6},{"name":"ts","type":"timestamp","precision":0},{"name":"doc","type":"json"},{"name":"mood","type":"enum","values":["ok","meh"]}],"primary_key":["id"],"indexes":[{"name":"uq_name","columns":["name"],"unique":true},{"name":"ix_at","columns":["at"]}]}
{"kind":"row","table":"hard","data":{"id":1,"flag":true,"small":-128,"big":{"$int":"-9223372036854775808"},"ubig":{"$int":"18446744073709551615"},"price":"12345678.1234","ratio":0.1,"name":"emoji 😀 ok","body":"tab\there\nnew line \\ back 'q' \"dq\"","blob":{"$b64":"AP8KDQk="},"born":"1999-12-31","at":"2025-01-01T09:30:00.123456","ts":"2025-06-01T22:15:00Z","doc":{"a":[1,2.5,null],"b":{"c":"😀"},"big":9007199254740993},"mood":"meh"}}
{"kind":"row","table":"hard","data":{"id":2,"flag":false,"small":127,"big":{"$int":"9223372036854775807"},"ubig":0,"price":"-0.0001","ratio":-1.5e300,"name":"","body":"","blob":{"$b64":""},"born":"2000-02-29","at":"1970-01-01T00:00:00.000001","ts":"1999-12-31T23:59:59Z","doc":[],"mood":"ok"}}
{"kind":"row","table":"hard","data":{"id":7,"flag":null,"small":null,"big":null,"ubig":null,"price":null,"ratio":null,"name":null,"body":null,"blob":null,"born":null,"at":null,"ts":null,"doc":null,"mood":null}}
"#;

/// `text` (a header, then records) sealed with its `end` trailer, as an
/// exporter writes it: a header promises a trailer.
fn sealed(text: &str) -> Vec<u8> {
    let mut w = decant_record::RecordWriter::new(Vec::new());
    for line in text.lines() {
        match decant_record::Record::decode(line.as_bytes()) {
            Ok(header @ decant_record::Record::Header(_)) => w.write(&header).unwrap(),
            _ => w.write_raw(line.as_bytes()).unwrap(),
        }
    }
    w.finish().unwrap()
}

fn import(tool: &str, url: &str) -> Cmd {
    run(tool).args(["--url", url, "--quiet"])
}

/// A --reject-file's lines, each parsed as JSON.
fn reject_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn pg_import_keeps_hard_values_exactly() {
    let pg = postgres();
    let db = pg.fresh_database("pg_hard");
    import("pg-import", &pg.url(&db)).args(["--create-tables"]).stdin_bytes(sealed(HARD)).assert_success();

    let types = pg.query(
        &db,
        "SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = 'hard'::regclass AND attnum > 0 ORDER BY attnum",
    );
    for want in [
        "id bigint",
        "flag boolean",
        "big bigint",
        "ubig numeric(20,0)",
        "price numeric(12,4)",
        "ratio double precision",
        "name character varying(20)",
        "at timestamp(6) without time zone",
        "ts timestamp(0) with time zone",
        "doc jsonb",
        "blob bytea",
    ] {
        assert!(types.lines().any(|l| l == want), "missing {want:?} in\n{types}");
    }
    // Naive datetimes are not shifted by the server's zone (Asia/Kolkata).
    assert_eq!(pg.query(&db, "SELECT at::text FROM hard WHERE id = 1"), "2025-01-01 09:30:00.123456");
    assert_eq!(pg.query(&db, "SELECT (ts AT TIME ZONE 'UTC')::text FROM hard WHERE id = 1"), "2025-06-01 22:15:00");
    assert_eq!(
        pg.query(&db, "SELECT big, ubig, price FROM hard WHERE id = 1"),
        "-9223372036854775808|18446744073709551615|12345678.1234"
    );
    assert_eq!(
        pg.query(&db, "SELECT ratio = 0.1::float8, name, encode(blob, 'hex') FROM hard WHERE id = 1"),
        "t|emoji 😀 ok|00ff0a0d09"
    );
    assert_eq!(
        pg.query(&db, "SELECT body = E'tab\\there\\nnew line \\\\ back ''q'' \"dq\"' FROM hard WHERE id = 1"),
        "t"
    );
    assert_eq!(
        pg.query(&db, "SELECT doc->'b'->>'c', doc->>'big', doc->'a'->>1 FROM hard WHERE id = 1"),
        "😀|9007199254740993|2.5"
    );
    assert_eq!(
        pg.query(&db, "SELECT ratio = -1.5e300::float8, encode(blob, 'hex') = '', name = '' FROM hard WHERE id = 2"),
        "t|t|t"
    );
    assert_eq!(
        pg.query(&db, "SELECT count(*) FROM hard WHERE id = 7 AND flag IS NULL AND doc IS NULL AND blob IS NULL"),
        "1"
    );
    // The unique key and index exist (created after the data).
    let indexes = pg.query(&db, "SELECT indexdef FROM pg_indexes WHERE tablename = 'hard' ORDER BY indexname");
    assert!(indexes.contains("CREATE UNIQUE INDEX hard_uq_name ON public.hard USING btree (name)"), "{indexes}");
    assert!(indexes.contains("hard_ix_at"), "{indexes}");
    // The identity sequence continues after the largest id.
    assert_eq!(pg.query(&db, "INSERT INTO hard (name) VALUES ('next') RETURNING id"), "8");
    // The unsigned range is kept by a CHECK.
    let mut cmd = pg.psql_command(&db);
    let bad = cmd.stdin(Stdio::piped()).arg("--command=INSERT INTO hard (id, ubig) VALUES (100, -1)").output().unwrap();
    assert!(!bad.status.success());
}

/// pg-import writes rows it decodes straight into binary COPY rows; a row
/// with a value only the text form carries (numeric Infinity) sends its whole
/// run as text, and a row the server refuses after a binary COPY is found
/// row by row, named by line and column, while the others land exactly.
#[test]
fn pg_import_binary_rows_fall_back_exactly() {
    let head = r#"{"kind":"schema","table":"m","columns":[{"name":"id","type":"uint64","nullable":false,"unsigned":true},{"name":"n","type":"decimal"},{"name":"at","type":"datetime","precision":6},{"name":"s","type":"string","max_len":3},{"name":"doc","type":"json"},{"name":"z","type":"datetime","precision":0}],"primary_key":["id"]}
{"kind":"row","table":"m","data":{"id":1,"n":"-12.5000","at":"2024-02-29T23:59:59.000001","s":"é\"\\","doc":{"a":[1,2.5]},"z":{"$zero_date":"0000-00-00 00:00:00"}}}
"#;
    let infinity = "{\"kind\":\"row\",\"table\":\"m\",\"data\":{\"id\":2,\"n\":\"Infinity\",\"s\":\"x\"}}\n";
    let tail = r#"{"kind":"row","table":"m","data":{"id":3,"n":7,"at":"1999-12-31T00:00:00","s":"q\tr","doc":{ "b" : null },"z":"2024-01-01T00:00:00"}}
{"kind":"row","table":"m","data":{"id":4,"s":"abcd"}}
{"kind":"row","table":"m","data":{"id":18446744073709551615,"n":null,"s":null}}
"#;
    let pg = postgres();
    let w = Workdir::new("pg-binary-rows");
    for with_infinity in [false, true] {
        let stream = format!("{head}{}{tail}", if with_infinity { infinity } else { "" });
        let db = pg.fresh_database(if with_infinity { "binmix" } else { "binall" });
        let rejects = w.join(format!("{with_infinity}.rej"));
        import("pg-import", &pg.url(&db))
            .args(["--create-tables", "--zero-dates", "null", "--jobs", "2", "--reject-file"])
            .arg(&rejects)
            .stdin_bytes(stream.as_str())
            .output()
            .assert_code(1);
        let rej = std::fs::read_to_string(&rejects).unwrap();
        let rej: Vec<serde_json::Value> = rej.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(rej.len(), 1, "{rej:?}");
        assert_eq!(rej[0]["data"]["id"], 4);
        assert_eq!(rej[0]["rejected"]["line"], if with_infinity { 5 } else { 4 });
        let reason = rej[0]["rejected"]["reason"].as_str().unwrap();
        assert!(reason.contains("too long"), "{reason}");
        let rows = pg.query(&db, "SELECT id, n, at, s, doc::text, coalesce(z::text, 'NULL') FROM m ORDER BY id");
        let mut want = vec![
            "1|-12.5000|2024-02-29 23:59:59.000001|é\"\\|{\"a\": [1, 2.5]}|NULL",
            "3|7|1999-12-31 00:00:00|q\tr|{\"b\": null}|2024-01-01 00:00:00",
            "18446744073709551615|||||NULL",
        ];
        if with_infinity {
            want.insert(1, "2|Infinity||x||NULL");
        }
        assert_eq!(rows, want.join("\n"));
    }
}

#[test]
fn mysql_import_keeps_hard_values_exactly() {
    let my = mariadb();
    let db = my.fresh_database("my_hard");
    // PostgreSQL-flavoured stream: zoned timestamps with offsets, arrays.
    import("mysql-import", &my.url(&db)).args(["--create-tables"]).stdin_bytes(sealed(HARD)).assert_success();
    let create = my.query(&db, "SHOW CREATE TABLE hard");
    for want in [
        "`id` bigint(20) NOT NULL AUTO_INCREMENT",
        "`flag` tinyint(1) DEFAULT NULL",
        "`ubig` bigint(20) unsigned DEFAULT NULL",
        "`price` decimal(12,4) DEFAULT NULL",
        "`at` datetime(6) DEFAULT NULL",
        "`ts` timestamp NULL DEFAULT NULL",
        "`mood` enum('ok','meh')",
        "UNIQUE KEY `uq_name` (`name`)",
        "COLLATE=utf8mb4_unicode_ci",
    ] {
        assert!(create.contains(want), "missing {want:?} in\n{create}");
    }
    assert_eq!(
        my.query(&db, "SELECT at, big, ubig, price FROM hard WHERE id = 1"),
        "2025-01-01 09:30:00.123456\t-9223372036854775808\t18446744073709551615\t12345678.1234"
    );
    // The server runs at +02:00: the instant is kept, not the wall time.
    assert_eq!(my.query(&db, "SET time_zone = '+00:00'; SELECT ts FROM hard WHERE id = 1"), "2025-06-01 22:15:00");
    assert_eq!(
        my.query(&db, "SELECT name, HEX(`blob`), ratio = 0.1, mood FROM hard WHERE id = 1"),
        "emoji 😀 ok\t00FF0A0D09\t1\tmeh"
    );
    assert_eq!(my.query(&db, "SELECT body = CONCAT('tab', CHAR(9), 'here', CHAR(10), 'new line \\\\ back ''q'' \"dq\"') FROM hard WHERE id = 1"), "1");
    assert_eq!(
        my.query(
            &db,
            "SELECT JSON_UNQUOTE(JSON_EXTRACT(doc, '$.b.c')), JSON_EXTRACT(doc, '$.big') FROM hard WHERE id = 1"
        ),
        "😀\t9007199254740993"
    );
    assert_eq!(my.query(&db, "SELECT HEX(`blob`), ratio = -1.5e300 FROM hard WHERE id = 2"), "\t1");
    assert_eq!(my.query(&db, "SELECT COUNT(*) FROM hard WHERE id = 7 AND flag IS NULL AND doc IS NULL"), "1");
    assert_eq!(my.query(&db, "INSERT INTO hard (name) VALUES ('next'); SELECT LAST_INSERT_ID()"), "8");
}

#[test]
fn mysql_zero_dates_and_pg_refusal() {
    let stream = r#"{"kind":"schema","table":"z","columns":[{"name":"id","type":"int32","nullable":false},{"name":"d","type":"datetime","precision":0}],"primary_key":["id"]}
{"kind":"row","table":"z","data":{"id":1,"d":{"$zero_date":"0000-00-00 00:00:00"}}}
{"kind":"row","table":"z","data":{"id":2,"d":"2024-02-29T12:00:00"}}
"#;
    let my = mariadb();
    let db = my.fresh_database("zero");
    import("mysql-import", &my.url(&db)).args(["--create-tables"]).stdin_bytes(stream).assert_success();
    assert_eq!(my.query(&db, "SELECT CAST(d AS CHAR) FROM z ORDER BY id"), "0000-00-00 00:00:00\n2024-02-29 12:00:00");

    let pg = postgres();
    let pdb = pg.fresh_database("zero");
    let out = import("pg-import", &pg.url(&pdb)).args(["--create-tables"]).stdin_bytes(stream).output().assert_code(2);
    assert!(
        out.stderr.contains("table z, key id=1")
            && out.stderr.contains("column \"d\"")
            && out.stderr.contains("--zero-dates null"),
        "{}",
        out.stderr
    );
    import("pg-import", &pg.url(&pdb))
        .args(["--create-tables", "--zero-dates", "null", "--truncate"])
        .stdin_bytes(stream)
        .assert_success();
    assert_eq!(
        pg.query(&pdb, "SELECT id, coalesce(d::text, 'NULL') FROM z ORDER BY id"),
        "1|NULL\n2|2024-02-29 12:00:00"
    );
}

#[test]
fn sqlite_import_binds_values_exactly() {
    let w = Workdir::new("sqlite_hard");
    // No file yet: sqlite-import creates it, as sqlite3 does; a dry run does not.
    let file = w.join("t.db");
    let url = format!("sqlite://{}", file.display());
    import("sqlite-import", &url).args(["--create-tables", "--dry-run"]).stdin_bytes(sealed(HARD)).assert_success();
    assert!(!file.exists(), "a dry run created {}", file.display());
    import("sqlite-import", &url).args(["--create-tables"]).stdin_bytes(sealed(HARD)).assert_success();
    let q = |sql: &str| {
        let o = Command::new("sqlite3").arg(&file).arg(sql).output().expect("sqlite3 CLI");
        String::from_utf8(o.stdout).unwrap().trim_end().to_owned()
    };
    // u64 max does not fit SQLite's INTEGER: it is kept as 20 digits in a BLOB
    // (no affinity converts a BLOB; a TEXT would become an inexact REAL).
    assert_eq!(
        q("SELECT id, typeof(big), big, typeof(ubig), CAST(ubig AS TEXT), price, hex(blob), typeof(blob), at, ts, doc FROM hard ORDER BY id"),
        "1|integer|-9223372036854775808|blob|18446744073709551615|12345678.1234|00FF0A0D09|blob|2025-01-01T09:30:00.123456|2025-06-01T22:15:00Z|{\"a\":[1,2.5,null],\"b\":{\"c\":\"😀\"},\"big\":9007199254740993}\n\
         2|integer|9223372036854775807|integer|0|-0.0001||blob|1970-01-01T00:00:00.000001|1999-12-31T23:59:59Z|[]\n\
         7|null||null||||null|||"
    );
    // The declared types name the logical types, so sqlite-export maps them back.
    assert_eq!(
        q("SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('hard')"),
        "id INTEGER, flag BOOLEAN, small TINYINT, big BIGINT, ubig BIGINT UNSIGNED, price DECIMAL(12,4), ratio DOUBLE, \
         name VARCHAR(20), body TEXT, blob BLOB, born DATE, at DATETIME(6), ts TIMESTAMP(0), doc JSON, mood TEXT"
    );
    // Read back identically: every value of the stream, u64 max included.
    let back = run("sqlite-export").args(["--url", &url]).assert_success();
    // Compared as decant values: a big integer inside a JSON document may be
    // written plain or as {"$int":…}, which is the same value.
    let values = |lines: Vec<serde_json::Value>| -> Vec<decant_record::Value> {
        lines
            .into_iter()
            .filter(|l| l["kind"] == "row")
            .map(|l| serde_json::from_value(l["data"].clone()).unwrap())
            .collect()
    };
    let sent = values(HARD.lines().map(|l| serde_json::from_str(l).unwrap()).collect());
    assert_eq!(values(back.stdout_json_lines()), sent);
    assert_eq!(q("SELECT ratio = -1.5e300, flag, small FROM hard WHERE id = 2"), "1|0|127");
}

#[test]
fn modes_and_deletes() {
    let pg = postgres();
    let my = mariadb();
    let w = Workdir::new("modes");
    let file = w.join("m.db");
    std::fs::File::create(&file).unwrap();
    let schema = r#"{"kind":"schema","table":"m","columns":[{"name":"id","type":"int32","nullable":false},{"name":"v","type":"string","max_len":10}],"primary_key":["id"]}"#;
    let first = format!("{schema}\n{}\n{}\n", row(1, "a"), row(2, "b"));
    let second = format!(
        "{schema}\n{}\n{}\n{{\"kind\":\"delete\",\"table\":\"m\",\"id\":{{\"id\":2}}}}\n",
        row(2, "B"),
        row(3, "c")
    );
    let second_no_delete = format!("{schema}\n{}\n{}\n", row(2, "B"), row(3, "c"));
    let pdb = pg.fresh_database("modes");
    let mdb = my.fresh_database("modes");
    let targets: Vec<(&str, String, Query)> = vec![
        ("pg-import", pg.url(&pdb), Box::new(|sql: &str| pg.query(&pdb, sql).replace('|', " "))),
        ("mysql-import", my.url(&mdb), Box::new(|sql: &str| my.query(&mdb, sql).replace('\t', " "))),
        (
            "sqlite-import",
            format!("sqlite://{}", file.display()),
            Box::new(|sql: &str| {
                let o = Command::new("sqlite3").arg(&file).arg(sql).output().unwrap();
                String::from_utf8(o.stdout).unwrap().trim_end().replace('|', " ")
            }),
        ),
    ];
    for (tool, url, q) in &targets {
        let rows = || q("SELECT id, v FROM m ORDER BY id");
        import(tool, url).args(["--create-tables"]).stdin_bytes(first.clone()).assert_success();
        // insert: the existing key is rejected with the database's error.
        let rejects = w.join(format!("{tool}.rej"));
        let out = run(tool)
            .args(["--url", url, "--reject-file"])
            .arg(&rejects)
            .stdin_bytes(second_no_delete.clone())
            .output()
            .assert_code(1);
        assert!(out.stderr.contains("rejected"), "{tool}: {}", out.stderr);
        let rej = std::fs::read_to_string(&rejects).unwrap();
        assert_eq!(rej.lines().count(), 1, "{tool}: {rej}");
        let reason = rej.to_ascii_lowercase();
        assert!(reason.contains("duplicate") || reason.contains("unique"), "{tool}: {rej}");
        assert_eq!(rows(), "1 a\n2 b\n3 c", "{tool}");
        // delete records outside upsert/replace are errors.
        import(tool, url).stdin_bytes(second.clone()).output().assert_code(2).assert_stderr_contains("--mode upsert");
        // skip-existing leaves row 2 alone and counts it.
        let out = run(tool)
            .args(["--url", url, "--mode", "skip-existing", "--log-format", "json"])
            .stdin_bytes(second_no_delete.clone())
            .assert_success();
        let total = out.stderr.lines().find(|l| l.contains("\"event\":\"total\"")).unwrap_or_default().to_owned();
        assert!(total.contains("\"skipped\":2") && total.contains("\"written\":0"), "{tool}: {}", out.stderr);
        assert_eq!(rows(), "1 a\n2 b\n3 c", "{tool}");
        // upsert updates and applies the delete.
        import(tool, url).args(["--mode", "upsert"]).stdin_bytes(second.clone()).assert_success();
        assert_eq!(rows(), "1 a\n3 c", "{tool}");
        // replace, then truncate.
        import(tool, url)
            .args(["--mode", "replace"])
            .stdin_bytes(format!("{schema}\n{}\n", row(1, "A")))
            .assert_success();
        assert_eq!(rows(), "1 A\n3 c", "{tool}");
        import(tool, url).args(["--truncate"]).stdin_bytes(format!("{schema}\n{}\n", row(9, "z"))).assert_success();
        assert_eq!(rows(), "9 z", "{tool}");
    }
}

/// Runs SQL on a target and returns its rows, columns separated by spaces.
type Query<'a> = Box<dyn Fn(&str) -> String + 'a>;

fn row(id: u32, v: &str) -> String {
    format!(r#"{{"kind":"row","table":"m","data":{{"id":{id},"v":"{v}"}}}}"#)
}

#[test]
fn rejects_carry_on_and_without_a_reject_file_the_run_stops_naming_the_row() {
    let stream = r#"{"kind":"schema","table":"r","columns":[{"name":"id","type":"int32","nullable":false},{"name":"name","type":"string","max_len":3},{"name":"at","type":"date"}],"primary_key":["id"]}
{"kind":"row","table":"r","data":{"id":1,"name":"abc","at":"2024-01-01"}}
{"kind":"row","table":"r","data":{"id":2,"name":"abcd","at":"2024-01-01"}}
{"kind":"row","table":"r","data":{"id":3,"name":"ok","at":"2024-02-30"}}
{"kind":"row","table":"r","data":{"id":4,"name":"ok4","at":"2024-03-01"}}
"#;
    let pg = postgres();
    let my = mariadb();
    let w = Workdir::new("rejects");
    for (tool, url, count) in [
        ("pg-import", pg.url(&pg.fresh_database("rej")), "pg"),
        ("mysql-import", my.url(&my.fresh_database("rej")), "my"),
    ] {
        let rejects = w.join(format!("{count}.rej"));
        import(tool, &url)
            .args(["--create-tables", "--batch-rows", "2", "--reject-file"])
            .arg(&rejects)
            .stdin_bytes(stream)
            .output()
            .assert_code(1);
        let lines = reject_lines(&rejects);
        assert_eq!(lines.len(), 2, "{tool}: {lines:?}");
        assert_eq!(lines[0]["data"]["id"], 2);
        let reason = lines[0]["rejected"]["reason"].as_str().unwrap().to_ascii_lowercase();
        assert!(reason.contains("too long"), "{tool}: {reason}");
        assert_eq!(lines[0]["rejected"]["line"], 3);
        assert_eq!(lines[1]["data"]["id"], 3);
        let reason = lines[1]["rejected"]["reason"].as_str().unwrap().to_ascii_lowercase();
        assert!(reason.contains("date") || reason.contains("range"), "{tool}: {reason}");
    }
    // Without a reject file: exit 2, the table, key and column named. An
    // impossible date is refused before the database sees the batch, so it
    // stops the run first, wherever it is in the batch (issue 12).
    let db = pg.fresh_database("early");
    let out = import("pg-import", &pg.url(&db)).args(["--create-tables"]).stdin_bytes(stream).output().assert_code(2);
    assert!(
        out.stderr.contains("table r, key id=3 (line 4): column \"at\": \"2024-02-30\" is not a date"),
        "{}",
        out.stderr
    );
    // A value only the database refuses: named by the database's error.
    let stream = &stream
        .replace("{\"kind\":\"row\",\"table\":\"r\",\"data\":{\"id\":3,\"name\":\"ok\",\"at\":\"2024-02-30\"}}\n", "");
    assert!(!stream.contains("2024-02-30"));
    let db = pg.fresh_database("stop");
    let out = import("pg-import", &pg.url(&db))
        .args(["--create-tables"])
        .stdin_bytes(stream.as_str())
        .output()
        .assert_code(2);
    assert!(out.stderr.contains("table r, key id=2 (line 3), column \"name\""), "{}", out.stderr);
    assert!(out.stderr.contains("value too long"), "{}", out.stderr);
    let db = my.fresh_database("stop");
    let out = import("mysql-import", &my.url(&db))
        .args(["--create-tables"])
        .stdin_bytes(stream.as_str())
        .output()
        .assert_code(2);
    assert!(
        out.stderr.contains("table r, key id=2 (line 3), column \"name\"") && out.stderr.contains("1406"),
        "{}",
        out.stderr
    );
    // The failing batch is rolled back whole: what is committed ends on a batch boundary.
    assert_eq!(my.query(&db, "SELECT COUNT(*) FROM r"), "0");
}

/// `n` levels of nested arrays around `1`.
fn nested_json(n: usize) -> String {
    format!("{}1{}", "[".repeat(n), "]".repeat(n))
}

/// mysql-import writes rows of MariaDB JSON columns (LONGTEXT CHECK
/// (json_valid(col))) with the session's CHECK constraints off when it knows
/// they pass (BENCHMARKS.md): every row the server refused before is still
/// refused, by the server, named by its line — a document too deep for
/// MariaDB's parser, another CHECK of the table, an omitted JSON column's
/// default, a trigger's insert into a checked table.
#[test]
fn mariadb_json_checks_skipped_only_for_rows_that_pass_them() {
    let my = mariadb();
    let w = Workdir::new("jsonchecks");
    let db = my.fresh_database("jsonchecks");
    // Created here from the schema line: JSON columns, no other check.
    let mut stream = String::from(
        r#"{"kind":"schema","table":"docs","columns":[{"name":"id","type":"int32","nullable":false},{"name":"doc","type":"json"},{"name":"more","type":"json"}],"primary_key":["id"]}
"#,
    );
    let deep = 32;
    for id in 1..=40 {
        // Row 20 nests as deep as MariaDB refuses; row 21 one level less.
        let doc = match id {
            20 => nested_json(deep),
            21 => nested_json(deep - 1),
            _ => format!(r#"{{"id":{id},"s":"[[{{ \" ]"}}"#),
        };
        stream.push_str(&format!(
            r#"{{"kind":"row","table":"docs","data":{{"id":{id},"doc":{doc},"more":{}}}}}"#,
            if id % 2 == 0 { "null" } else { "[1,{\"a\":[]}]" }
        ));
        stream.push('\n');
    }
    // Existing tables: a JSON column beside another CHECK; a JSON column
    // the rows leave out, whose default is not JSON; a trigger that writes
    // a table with a CHECK.
    my.query(
        &db,
        "CREATE TABLE other (id INT PRIMARY KEY, doc JSON, n INT CHECK (n > 0)); \
         CREATE TABLE omitted (id INT PRIMARY KEY, doc JSON DEFAULT 'not json', v INT); \
         CREATE TABLE logged (id INT PRIMARY KEY, doc JSON); \
         CREATE TABLE log (id INT, n INT CHECK (n < 100)); \
         CREATE TRIGGER logged_ai AFTER INSERT ON logged FOR EACH ROW INSERT INTO log VALUES (NEW.id, NEW.id)",
    );
    for id in 1..=4 {
        let n = if id == 3 { -1 } else { id };
        stream.push_str(&format!(r#"{{"kind":"row","table":"other","data":{{"id":{id},"doc":[{id}],"n":{n}}}}}"#));
        stream.push('\n');
    }
    stream.push_str(r#"{"kind":"row","table":"omitted","data":{"id":1,"doc":{"a":1},"v":1}}"#);
    stream.push('\n');
    stream.push_str(r#"{"kind":"row","table":"omitted","data":{"id":2,"v":2}}"#);
    stream.push('\n');
    for id in [5, 500, 6] {
        stream.push_str(&format!(r#"{{"kind":"row","table":"logged","data":{{"id":{id},"doc":{{"k":[{id}]}}}}}}"#));
        stream.push('\n');
    }
    let rejects = w.join("json.rej");
    import("mysql-import", &my.url(&db))
        .args(["--create-tables", "--batch-rows", "16", "--reject-file"])
        .arg(&rejects)
        .stdin_bytes(stream.as_str())
        .output()
        .assert_code(1);
    let rejected = reject_lines(&rejects);
    let named: Vec<(String, i64)> = rejected
        .iter()
        .map(|r| (r["table"].as_str().unwrap_or("?").to_owned(), r["rejected"]["line"].as_i64().unwrap_or(-1)))
        .collect();
    // Lines: 1 schema, 2..=41 docs, 42..=45 other, 46..=47 omitted, 48..=50 logged.
    assert_eq!(
        named,
        [("docs".to_owned(), 21), ("other".to_owned(), 44), ("omitted".to_owned(), 47), ("logged".to_owned(), 49)],
        "{rejected:#?}"
    );
    for r in &rejected {
        let reason = r["rejected"]["reason"].as_str().unwrap();
        assert!(reason.contains("4025") && reason.contains("CONSTRAINT"), "{reason}");
    }
    // Every other row landed once, byte for byte.
    assert_eq!(my.query(&db, "SELECT COUNT(*), SUM(id) FROM docs"), format!("39\t{}", (1..=40).sum::<i32>() - 20));
    assert_eq!(my.query(&db, "SELECT doc FROM docs WHERE id = 21"), nested_json(deep - 1));
    assert_eq!(my.query(&db, "SELECT doc FROM docs WHERE id = 7"), r#"{"id":7,"s":"[[{ \\" ]"}"#);
    assert_eq!(my.query(&db, "SELECT COUNT(*) FROM docs WHERE more IS NULL"), "19");
    assert_eq!(my.query(&db, "SELECT GROUP_CONCAT(id ORDER BY id) FROM other"), "1,2,4");
    assert_eq!(my.query(&db, "SELECT GROUP_CONCAT(id ORDER BY id) FROM omitted"), "1");
    assert_eq!(my.query(&db, "SELECT GROUP_CONCAT(id ORDER BY id) FROM logged"), "5,6");
    assert_eq!(my.query(&db, "SELECT GROUP_CONCAT(n ORDER BY n) FROM log"), "5,6");
    // Nothing in the tables fails its checks.
    assert_eq!(my.query(&db, "SELECT COUNT(*) FROM docs WHERE NOT json_valid(doc) OR NOT json_valid(more)"), "0");
}

/// mysql-import binds text as bytes where MariaDB stores the bytes as the
/// same text (utf8mb4 columns, decimals, date-times), and as a string
/// elsewhere: a latin1 column still gets its text converted (é is one
/// byte), and a character latin1 cannot hold is still refused.
#[test]
fn mariadb_text_bound_as_bytes_only_where_stored_the_same() {
    let my = mariadb();
    let w = Workdir::new("textbytes");
    let db = my.fresh_database("textbytes");
    my.query(
        &db,
        "CREATE TABLE t (id INT PRIMARY KEY, l VARCHAR(10) CHARACTER SET latin1, u VARCHAR(10), \
         d DECIMAL(6,2), at DATETIME, e ENUM('é','x'), j JSON)",
    );
    let stream = r#"{"kind":"row","table":"t","data":{"id":1,"l":"café","u":"café😀","d":"12.34","at":"2024-01-02T03:04:05","e":"é","j":{"é":"😀"}}}
{"kind":"row","table":"t","data":{"id":2,"l":"x😀","u":"y","d":"-0.5","at":"1999-12-31T23:59:59","e":"x","j":[]}}
{"kind":"row","table":"t","data":{"id":3,"l":"ÿ","u":"","d":"0","at":"2000-02-29T00:00:00","e":null,"j":null}}
"#;
    let rejects = w.join("t.rej");
    import("mysql-import", &my.url(&db))
        .args(["--reject-file"])
        .arg(&rejects)
        .stdin_bytes(stream)
        .output()
        .assert_code(1);
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(rejected.lines().count(), 1, "{rejected}");
    assert!(rejected.contains("\"line\":2") && rejected.contains("1366"), "{rejected}");
    assert_eq!(
        my.query(&db, "SELECT id, HEX(l), HEX(u), d, at, HEX(e), HEX(j) FROM t ORDER BY id"),
        "1\t636166E9\t636166C3A9F09F9880\t12.34\t2024-01-02 03:04:05\tC3A9\t7B22C3A9223A22F09F9880227D\n\
         3\tFF\t\t0.00\t2000-02-29 00:00:00\tNULL\tNULL"
    );
}

#[test]
fn dry_run_writes_nothing_and_reports_what_would_fail() {
    let stream = r#"{"kind":"schema","table":"d","columns":[{"name":"id","type":"int32","nullable":false},{"name":"name","type":"string","max_len":3}],"primary_key":["id"]}
{"kind":"row","table":"d","data":{"id":1,"name":"abc"}}
{"kind":"row","table":"d","data":{"id":2,"name":"abcd"}}
{"kind":"row","table":"d","data":{"id":null,"name":"x"}}
"#;
    let pg = postgres();
    let db = pg.fresh_database("dry");
    let w = Workdir::new("dry");
    let rejects = w.join("r.ndjson");
    let out = run("pg-import")
        .args(["--url", &pg.url(&db), "--create-tables", "--dry-run", "--log-format", "json", "--reject-file"])
        .arg(&rejects)
        .stdin_bytes(stream)
        .output()
        .assert_code(1);
    assert!(out.stderr.contains("\"written\":1") && out.stderr.contains("\"rejected\":2"), "{}", out.stderr);
    assert!(out.stderr.contains("dry run: nothing was written"), "{}", out.stderr);
    assert_eq!(pg.query(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0");
    let rej = std::fs::read_to_string(&rejects).unwrap();
    assert!(rej.contains("value too long") && rej.contains("NOT NULL"), "{rej}");
}

#[test]
fn cast_rules_override_the_mapping() {
    let stream = r#"{"kind":"schema","table":"c","columns":[{"name":"id","type":"int32","nullable":false},{"name":"at","type":"datetime","precision":3},{"name":"flag","type":"bool","source_type":"tinyint(1)"}],"primary_key":["id"]}
{"kind":"row","table":"c","data":{"id":1,"at":"2025-01-01T09:30:00.123","flag":true}}
"#;
    let pg = postgres();
    let db = pg.fresh_database("cast");
    import("pg-import", &pg.url(&db))
        .args(["--create-tables", "--cast", "type:datetime=timestamptz", "--cast", "column:c.flag=smallint"])
        .stdin_bytes(stream)
        .assert_success();
    assert_eq!(
        pg.query(&db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'c'::regclass AND attnum > 1 ORDER BY attnum"),
        "timestamp with time zone\nsmallint"
    );
    // A naive value into a zoned column is read as UTC, never as the server's zone.
    assert_eq!(pg.query(&db, "SELECT (at AT TIME ZONE 'UTC')::text, flag FROM c"), "2025-01-01 09:30:00.123|1");
    import("pg-import", &pg.url(&db))
        .args(["--cast", "nonsense"])
        .stdin_bytes(stream)
        .output()
        .assert_code(2)
        .assert_stderr_contains("bad --cast rule");
}

#[test]
fn without_schema_lines_the_target_columns_drive_conversion() {
    let pg = postgres();
    let db = pg.fresh_database("noschema");
    pg.query(
        &db,
        "CREATE TABLE e (id int PRIMARY KEY, ok boolean, amount numeric(8,2), raw bytea, at timestamptz, tags text[])",
    );
    let stream = r#"{"kind":"row","table":"e","data":{"id":1,"ok":1,"amount":"12.50","raw":{"$b64":"3q2+7w=="},"at":"2025-01-01T00:00:00+05:30","tags":["a","b c",null]}}
{"kind":"row","table":"e","data":{"id":2,"ok":"false","amount":7,"raw":null,"at":null,"tags":[]}}
"#;
    import("pg-import", &pg.url(&db)).stdin_bytes(stream).assert_success();
    assert_eq!(
        pg.query(
            &db,
            "SELECT id, ok, amount, encode(raw, 'hex'), (at AT TIME ZONE 'UTC')::text, tags::text FROM e ORDER BY id"
        ),
        "1|t|12.50|deadbeef|2024-12-31 18:30:00|{a,\"b c\",NULL}\n2|f|7.00|||{}"
    );
    let out = import("pg-import", &pg.url(&db))
        .stdin_bytes(r#"{"kind":"row","table":"missing","data":{"id":1}}"#)
        .output()
        .assert_code(2);
    assert!(out.stderr.contains("table missing does not exist"), "{}", out.stderr);
}

/// Rows for the resume test: `n` rows of table `s` with a schema line.
fn resume_stream(n: u32) -> String {
    let mut s = String::from(
        r#"{"kind":"schema","table":"s","columns":[{"name":"id","type":"int64","nullable":false},{"name":"pad","type":"text"}],"primary_key":["id"]}"#,
    );
    s.push('\n');
    for i in 1..=n {
        s.push_str(&format!(
            "{{\"kind\":\"row\",\"table\":\"s\",\"data\":{{\"id\":{i},\"pad\":\"{}\"}}}}\n",
            "x".repeat(200)
        ));
    }
    s
}

/// Starts an import, kills it (SIGKILL) once `committed()` rows are in,
/// calls `killed()`, reruns it.
fn kill_and_resume(tool: &str, url: &str, w: &Workdir, n: u32, committed: &dyn Fn() -> u64, killed: &dyn Fn()) {
    let input = w.write(format!("{tool}.ndjson"), resume_stream(n));
    let state = w.join(format!("{tool}.state"));
    let args = |c: &mut Command| {
        c.args(["--url", url, "--quiet", "--create-tables", "--truncate", "--batch-rows", "500", "--state"])
            .arg(&state)
            .arg("-i")
            .arg(&input);
    };
    let mut cmd = Command::new(bin(tool));
    args(&mut cmd);
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    loop {
        let c = committed();
        if c >= 2000 {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{tool} ended ({status}) before it could be killed; {c} rows in");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{tool}: no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = committed();
    assert!(partial < n as u64, "{tool}: finished before the kill ({partial} rows)");
    killed();
    // The rerun continues after the last committed batch.
    let mut cmd = Command::new(bin(tool));
    args(&mut cmd);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool}: {stderr}");
    assert_eq!(committed(), n as u64, "{tool}");
    // A third run has nothing to do.
    let mut cmd = Command::new(bin(tool));
    args(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("finished already"), "{tool}");
}

#[test]
fn state_resumes_after_a_kill_without_duplicates_or_loss() {
    const N: u32 = 60_000;
    let w = Workdir::new("resume");
    let pg = postgres();
    let db = pg.fresh_database("resume");
    let count = || pg.query(&db, "SELECT count(*) FROM pg_tables WHERE tablename = 's'").parse::<u64>().unwrap();
    let rows = || if count() == 1 { pg.query(&db, "SELECT count(*) FROM s").parse::<u64>().unwrap() } else { 0 };
    // The table's autovacuum is off while it loads, still off after the
    // kill, and back to the server's default once the resumed run is done.
    let reloptions = || {
        pg.query(
            &db,
            "SELECT coalesce(array_to_string(reloptions, ','), 'none') FROM pg_class WHERE oid = 's'::regclass",
        )
    };
    kill_and_resume("pg-import", &pg.url(&db), &w, N, &rows, &|| assert_eq!(reloptions(), "autovacuum_enabled=off"));
    assert_eq!(pg.query(&db, "SELECT count(DISTINCT id), min(id), max(id) FROM s"), format!("{N}|1|{N}"));
    assert_eq!(reloptions(), "none");
    assert_eq!(pg.query(&db, "SELECT count(*) FROM pg_tables WHERE tablename = 'decant_import_state'"), "0");

    let my = mariadb();
    let mdb = my.fresh_database("resume");
    let rows = || {
        let t = my.query(
            &mdb,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 's'",
        );
        if t == "1" {
            my.query(&mdb, "SELECT COUNT(*) FROM s").parse::<u64>().unwrap()
        } else {
            0
        }
    };
    kill_and_resume("mysql-import", &my.url(&mdb), &w, N, &rows, &|| {});
    assert_eq!(my.query(&mdb, "SELECT COUNT(DISTINCT id), MIN(id), MAX(id) FROM s"), format!("{N}\t1\t{N}"));
}

#[test]
fn foreign_keys_come_after_the_data_and_are_checked() {
    // The child table comes first (as in any order an exporter may choose).
    let stream = r#"{"kind":"schema","table":"child","columns":[{"name":"id","type":"int32","nullable":false},{"name":"parent_id","type":"int32"}],"primary_key":["id"],"foreign_keys":[{"name":"fk_parent","columns":["parent_id"],"ref_table":"parent","ref_columns":["id"]}]}
{"kind":"row","table":"child","data":{"id":1,"parent_id":10}}
{"kind":"row","table":"child","data":{"id":2,"parent_id":null}}
{"kind":"schema","table":"parent","columns":[{"name":"id","type":"int32","nullable":false}],"primary_key":["id"]}
{"kind":"row","table":"parent","data":{"id":10}}
"#;
    let orphan = stream.replace(r#""id":10}}"#, r#""id":11}}"#);
    let my = mariadb();
    let pg = postgres();
    let db = my.fresh_database("fk");
    import("mysql-import", &my.url(&db)).args(["--create-tables"]).stdin_bytes(stream).assert_success();
    assert!(my.query(&db, "SHOW CREATE TABLE child").contains("FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`)"));
    let db = my.fresh_database("fk_orphan");
    import("mysql-import", &my.url(&db))
        .args(["--create-tables"])
        .stdin_bytes(orphan.clone())
        .output()
        .assert_code(2)
        .assert_stderr_contains("foreign key fk_parent of child: 1 row(s) reference rows missing from parent");
    // Tables pg-import creates have autovacuum off during the load
    // (`Importer::pause_autovacuum`); whichever way the run ends, it is
    // reset: after a clean run, after a failure after the data, after a
    // failure in the middle of the data.
    let paused = |db: &str| {
        pg.query(
            db,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND reloptions IS NOT NULL",
        )
    };
    let pdb = pg.fresh_database("fk");
    import("pg-import", &pg.url(&pdb)).args(["--create-tables"]).stdin_bytes(stream).assert_success();
    assert_eq!(pg.query(&pdb, "SELECT conname FROM pg_constraint WHERE contype = 'f'"), "fk_parent");
    assert_eq!(paused(&pdb), "0");
    let pdb = pg.fresh_database("fk_orphan");
    import("pg-import", &pg.url(&pdb))
        .args(["--create-tables"])
        .stdin_bytes(orphan)
        .output()
        .assert_code(2)
        .assert_stderr_contains("violates foreign key constraint");
    assert_eq!(paused(&pdb), "0");
    let pdb = pg.fresh_database("fk_broken");
    import("pg-import", &pg.url(&pdb))
        .args(["--create-tables"])
        .stdin_bytes(format!("{stream}{{\"kind\":\"row\",\"table\":\"parent\",\"data\":{{\"id\":\n"))
        .output()
        .assert_code(2);
    assert_eq!(pg.query(&pdb, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "2");
    assert_eq!(paused(&pdb), "0");
}

/// After the data, indexes and foreign-key checks of many tables are shared
/// between two connections: every index is built, and each failure (a
/// duplicate under a unique key, an orphan row) is named, whichever
/// connection met it.
#[test]
fn indexes_and_key_checks_of_many_tables_all_run_and_failures_are_named() {
    let mut stream = String::new();
    for t in 0..6 {
        stream.push_str(&format!(
            r#"{{"kind":"schema","table":"t{t}","columns":[{{"name":"id","type":"int32","nullable":false}},{{"name":"code","type":"string","max_len":8}},{{"name":"n","type":"int32"}},{{"name":"parent","type":"int32"}}],"primary_key":["id"],"indexes":[{{"name":"uq_t{t}_code","columns":["code"],"unique":true}},{{"name":"ix_t{t}_n","columns":["n"]}}]{fk}}}"#,
            fk = if t > 0 {
                format!(r#","foreign_keys":[{{"name":"fk_t{t}","columns":["parent"],"ref_table":"t0","ref_columns":["id"]}}]"#)
            } else {
                String::new()
            }
        ));
        stream.push('\n');
        for id in 0..200 {
            // t3 has a duplicate code; t5 a row whose parent is missing.
            let code = if t == 3 && id == 7 { "c6".to_owned() } else { format!("c{id}") };
            let parent = if t == 5 && id == 9 { 999 } else { id % 50 };
            stream.push_str(&format!(
                r#"{{"kind":"row","table":"t{t}","data":{{"id":{id},"code":"{code}","n":{},"parent":{parent}}}}}"#,
                id % 13
            ));
            stream.push('\n');
        }
    }
    let my = mariadb();
    let db = my.fresh_database("many_ix");
    let out = import("mysql-import", &my.url(&db))
        .args(["--create-tables"])
        .stdin_bytes(stream.clone())
        .output()
        .assert_code(2);
    out.assert_stderr_contains("2 statement(s) after it failed")
        .assert_stderr_contains("uq_t3_code")
        .assert_stderr_contains("foreign key fk_t5 of t5: 1 row(s) reference rows missing from t0");
    for t in 0..6 {
        let ddl = my.query(&db, &format!("SHOW CREATE TABLE t{t}"));
        assert!(ddl.contains(&format!("KEY `ix_t{t}_n` (`n`)")), "{ddl}");
        assert_eq!(ddl.contains(&format!("UNIQUE KEY `uq_t{t}_code`")), t != 3, "{ddl}");
        assert_eq!(ddl.contains(&format!("CONSTRAINT `fk_t{t}`")), t > 0, "{ddl}");
    }
    let pg = postgres();
    let pdb = pg.fresh_database("many_ix");
    let out = import("pg-import", &pg.url(&pdb)).args(["--create-tables"]).stdin_bytes(stream).output().assert_code(2);
    out.assert_stderr_contains("uq_t3_code").assert_stderr_contains("fk_t5");
    let indexes = pg.query(
        &pdb,
        "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'",
    );
    for t in 0..6 {
        assert!(indexes.contains(&format!("t{t}_ix_t{t}_n")), "{indexes}");
        assert_eq!(indexes.contains(&format!("t{t}_uq_t{t}_code")), t != 3, "{indexes}");
    }
    // The keys are validated after being added NOT VALID (two at once): the
    // ones that hold are valid, the one that does not is not left behind.
    let fks = pg.query(
        &pdb,
        "SELECT string_agg(conname || ':' || convalidated, ',' ORDER BY conname) FROM pg_constraint WHERE contype = 'f'",
    );
    assert_eq!(fks, "fk_t1:true,fk_t2:true,fk_t3:true,fk_t4:true");
}

/// `n` rows of table `p` (id, name varchar(8), at date) with a schema line;
/// `bad` replaces rows by id.
fn pipeline_stream(n: u32, bad: &[(u32, &str)]) -> String {
    let mut s = String::from(
        r#"{"kind":"schema","table":"p","columns":[{"name":"id","type":"int64","nullable":false},{"name":"name","type":"string","max_len":8},{"name":"at","type":"date"}],"primary_key":["id"]}"#,
    );
    s.push('\n');
    for i in 1..=n {
        match bad.iter().find(|(id, _)| *id == i) {
            Some((_, line)) => s.push_str(line),
            None => s.push_str(&format!(
                r#"{{"kind":"row","table":"p","data":{{"id":{i},"name":"n{i}","at":"2024-01-01"}}}}"#
            )),
        }
        s.push('\n');
    }
    s
}

/// The decoding thread builds batch N+1 while batch N executes: an error in
/// the second of the two batches in flight, whether the database finds it
/// (a duplicate key, a value too long) or the conversion does (a bad date),
/// names its own line, only the first batch is committed, `--state` records
/// exactly that batch, and a rerun of the corrected input continues from it.
#[test]
fn an_error_in_the_second_batch_in_flight_names_its_line_and_commits_only_the_first() {
    const N: u32 = 400;
    let pg = postgres();
    let my = mariadb();
    let w = Workdir::new("inflight");
    // Line numbers: the schema is line 1, row id k is line k + 1.
    let cases: [(&str, String, &str); 4] = [
        (
            "duplicate",
            r#"{"kind":"row","table":"p","data":{"id":10,"name":"dup","at":"2024-01-01"}}"#.to_owned(),
            "key id=10 (line 151)",
        ),
        (
            "toolong",
            r#"{"kind":"row","table":"p","data":{"id":150,"name":"much too long","at":"2024-01-01"}}"#.to_owned(),
            "key id=150 (line 151), column \"name\"",
        ),
        (
            "baddate",
            r#"{"kind":"row","table":"p","data":{"id":150,"name":"n150","at":"2024-13-45"}}"#.to_owned(),
            "key id=150 (line 151)",
        ),
        (
            // Refused by the conversion, before the database sees it.
            "notadate",
            r#"{"kind":"row","table":"p","data":{"id":150,"name":"n150","at":"yesterday"}}"#.to_owned(),
            "key id=150 (line 151)",
        ),
    ];
    for (tool, url_of, count_of) in [
        (
            "pg-import",
            Box::new(|db: &str| pg.url(db)) as Box<dyn Fn(&str) -> String>,
            Box::new(|db: &str| pg.query(db, "SELECT count(*), count(DISTINCT id), coalesce(max(id), 0) FROM p"))
                as Box<dyn Fn(&str) -> String>,
        ),
        (
            "mysql-import",
            Box::new(|db: &str| my.url(db)),
            Box::new(|db: &str| {
                my.query(db, "SELECT COUNT(*), COUNT(DISTINCT id), COALESCE(MAX(id), 0) FROM p").replace('\t', "|")
            }),
        ),
    ] {
        for (name, bad, named) in &cases {
            let db = if tool == "pg-import" { pg.fresh_database(name) } else { my.fresh_database(name) };
            let url = url_of(&db);
            let input = w.write(format!("{tool}-{name}.ndjson"), pipeline_stream(N, &[(150, bad)]));
            let state = w.join(format!("{tool}-{name}.state"));
            let out = import(tool, &url)
                .args(["--create-tables", "--batch-rows", "100", "--state"])
                .arg(&state)
                .arg("-i")
                .arg(&input)
                .output()
                .assert_code(2);
            assert!(out.stderr.contains(&format!("table p, {named}")), "{tool} {name}: {}", out.stderr);
            // Batch 1 (ids 1..=100, lines 2..=101) is in; batch 2 and everything after are not.
            assert_eq!(count_of(&db), "100|100|100", "{tool} {name}");
            let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
            assert_eq!(saved["line"], 101, "{tool} {name}: {saved}");
            assert_eq!(saved["finished"], false, "{tool} {name}");
            // The corrected input (same first line) continues after line 101.
            let fixed = w.write(format!("{tool}-{name}.fixed.ndjson"), pipeline_stream(N, &[]));
            let out = import(tool, &url)
                .args(["--create-tables", "--batch-rows", "100", "--state"])
                .arg(&state)
                .arg("-i")
                .arg(&fixed)
                .output()
                .assert_code(0);
            assert!(!out.stderr.contains("finished already"), "{tool} {name}: {}", out.stderr);
            assert_eq!(count_of(&db), format!("{N}|{N}|{N}"), "{tool} {name}");
        }
    }
}

/// Rows of two tables interleaved (a transform's output in key order) are
/// written one statement per table and batch, not one per few rows: every
/// row lands, and a refused row is still named by its own line.
#[test]
fn interleaved_tables_are_grouped_per_batch_and_rejects_keep_their_lines() {
    let mut stream = String::from(
        r#"{"kind":"schema","table":"ka","columns":[{"name":"id","type":"int64","nullable":false},{"name":"name","type":"string","max_len":8}],"primary_key":["id"]}
{"kind":"schema","table":"kb","columns":[{"name":"id","type":"int64","nullable":false},{"name":"ka_id","type":"int64"},{"name":"note","type":"string","max_len":8}],"primary_key":["id"],"foreign_keys":[{"name":"fk_kb_ka","columns":["ka_id"],"ref_table":"ka","ref_columns":["id"]}]}
"#,
    );
    // Children before their parents within a batch: the foreign key comes
    // after the data, so the order cannot matter.
    for i in 1..=300u32 {
        let note = if i == 77 { "far too long".to_owned() } else { format!("b{i}") };
        stream.push_str(&format!(r#"{{"kind":"row","table":"kb","data":{{"id":{i},"ka_id":{i},"note":"{note}"}}}}"#));
        stream.push('\n');
        stream.push_str(&format!(r#"{{"kind":"row","table":"ka","data":{{"id":{i},"name":"a{i}"}}}}"#));
        stream.push('\n');
    }
    let pg = postgres();
    let my = mariadb();
    let w = Workdir::new("interleaved");
    let sql = "SELECT (SELECT COUNT(*) FROM ka), (SELECT COUNT(*) FROM kb), (SELECT COUNT(*) FROM kb WHERE id = 77)";
    let pg_db = pg.fresh_database("il");
    let my_db = my.fresh_database("il");
    type Counts<'a> = Box<dyn Fn() -> String + 'a>;
    let targets: [(&str, String, Counts); 2] = [
        ("pg-import", pg.url(&pg_db), Box::new(|| pg.query(&pg_db, sql))),
        ("mysql-import", my.url(&my_db), Box::new(|| my.query(&my_db, sql).replace('\t', "|"))),
    ];
    for (tool, url, counts) in targets {
        let rejects = w.join(format!("{tool}.rej"));
        import(tool, &url)
            .args(["--create-tables", "--batch-rows", "100", "--reject-file"])
            .arg(&rejects)
            .stdin_bytes(stream.as_str())
            .output()
            .assert_code(1);
        let lines = reject_lines(&rejects);
        assert_eq!(lines.len(), 1, "{tool}: {lines:?}");
        // Row kb 77 is line 2 + 2 * 77 - 1.
        assert_eq!(lines[0]["rejected"]["line"], 155, "{tool}: {lines:?}");
        assert_eq!(lines[0]["data"]["id"], 77, "{tool}");
        assert_eq!(lines[0]["table"], "kb", "{tool}");
        assert_eq!(counts(), "300|299|0", "{tool}");
    }
}

/// Grouping interleaved tables never reorders one table's rows: upserts of
/// one key with different column sets, between rows of another table, end
/// with the last one.
#[test]
fn grouping_keeps_each_tables_row_order_for_upserts() {
    let stream = r#"{"kind":"schema","table":"ua","columns":[{"name":"id","type":"int64","nullable":false},{"name":"a","type":"string","max_len":8},{"name":"b","type":"string","max_len":8}],"primary_key":["id"]}
{"kind":"schema","table":"ub","columns":[{"name":"id","type":"int64","nullable":false}],"primary_key":["id"]}
{"kind":"row","table":"ua","data":{"id":1,"a":"x","b":"y"}}
{"kind":"row","table":"ub","data":{"id":1}}
{"kind":"row","table":"ua","data":{"id":1,"a":"z"}}
{"kind":"row","table":"ub","data":{"id":2}}
{"kind":"row","table":"ua","data":{"id":1,"a":"w","b":"v"}}
"#;
    let pg = postgres();
    let my = mariadb();
    let pg_db = pg.fresh_database("order");
    import("pg-import", &pg.url(&pg_db))
        .args(["--create-tables", "--mode", "upsert"])
        .stdin_bytes(stream)
        .assert_success();
    assert_eq!(pg.query(&pg_db, "SELECT a, b, (SELECT count(*) FROM ub) FROM ua"), "w|v|2");
    let my_db = my.fresh_database("order");
    import("mysql-import", &my.url(&my_db))
        .args(["--create-tables", "--mode", "upsert"])
        .stdin_bytes(stream)
        .assert_success();
    assert_eq!(my.query(&my_db, "SELECT a, b, (SELECT COUNT(*) FROM ub) FROM ua"), "w\tv\t2");
}

/// Issue 12: `--dry-run` validates every value against the target column —
/// impossible dates and times, numbers out of range, strings too long — with
/// the message the real run stops with, naming the line and column; a row
/// for a table that does not exist names its line too. One row per class.
#[test]
fn dry_run_finds_every_value_the_real_run_refuses() {
    let stream = r#"{"kind":"schema","table":"v","columns":[{"name":"id","type":"int32","nullable":false},{"name":"d","type":"date"},{"name":"at","type":"datetime","precision":0},{"name":"t","type":"time"},{"name":"n","type":"int64"},{"name":"s","type":"string","max_len":3}],"primary_key":["id"]}
{"kind":"row","table":"v","data":{"id":1,"d":"2024-02-29","at":"2023-04-30T23:59:59","t":"12:00:00","n":5,"s":"abc"}}
{"kind":"row","table":"v","data":{"id":2,"d":"2023-02-30"}}
{"kind":"row","table":"v","data":{"id":3,"at":"2023-04-31T10:00:00"}}
{"kind":"row","table":"v","data":{"id":4,"at":"2023-04-30T24:00:00"}}
{"kind":"row","table":"v","data":{"id":5,"t":"25:61:00"}}
{"kind":"row","table":"v","data":{"id":6,"n":{"$int":"18446744073709551615"}}}
{"kind":"row","table":"v","data":{"id":7,"s":"abcd"}}
"#;
    let (my, pg) = (mariadb(), postgres());
    let w = Workdir::new("dry-values");
    let sqlite_url = format!("sqlite://{}", w.join("v.db").display());
    let (mdb, pdb) = (my.fresh_database("dryv"), pg.fresh_database("dryv"));
    let targets = [("mysql-import", my.url(&mdb)), ("pg-import", pg.url(&pdb)), ("sqlite-import", sqlite_url)];
    let expected = [
        (3, "column \"d\": \"2023-02-30\" is not a date that exists"),
        (4, "column \"at\": \"2023-04-31T10:00:00\" is not a date that exists"),
        (5, "column \"at\": \"2023-04-30T24:00:00\" is not a time of day that exists"),
        (6, "column \"t\": \"25:61:00\" is not a time"),
        (7, "column \"n\": 18446744073709551615 is out of range"),
        (8, "column \"s\": value too long"),
    ];
    for (tool, url) in &targets {
        if *tool == "sqlite-import" {
            w.write("v.db", b"");
        }
        let rejects = w.join(format!("{tool}.rejects"));
        run(tool)
            .args(["--url", url, "--create-tables", "--dry-run", "--reject-file"])
            .arg(&rejects)
            .stdin_bytes(stream)
            .output()
            .assert_code(1);
        let rej = reject_lines(&rejects);
        let found: Vec<(u64, String)> = rej
            .iter()
            .map(|r| (r["rejected"]["line"].as_u64().unwrap(), r["rejected"]["reason"].as_str().unwrap().to_owned()))
            .collect();
        // SQLite keeps any length in a VARCHAR(3) (it has no length limit).
        let want: Vec<_> = expected.iter().filter(|(line, _)| !(*tool == "sqlite-import" && *line == 8)).collect();
        assert_eq!(found.len(), want.len(), "{tool}: {found:?}");
        for ((line, reason), (want_line, want_reason)) in found.iter().zip(&want) {
            assert_eq!(line, want_line, "{tool}: {found:?}");
            assert!(reason.contains(want_reason), "{tool}: line {line}: {reason:?} lacks {want_reason:?}");
        }
        // The real run stops at the first with the same message, naming line and column.
        let out = run(tool).args(["--url", url, "--create-tables"]).stdin_bytes(stream).output().assert_code(2);
        assert!(out.stderr.contains("table v, key id=2 (line 3): column \"d\""), "{tool}: {}", out.stderr);
        assert!(out.stderr.contains(expected[0].1), "{tool}: {}", out.stderr);
    }
    // A row for a table that does not exist: its line is named, dry run or not.
    let orphan = "{\"kind\":\"row\",\"table\":\"nowhere\",\"data\":{\"id\":1}}\n";
    for (tool, url) in &targets {
        for dry in [true, false] {
            let mut cmd = run(tool).args(["--url", url]);
            if dry {
                cmd = cmd.arg("--dry-run");
            }
            let out = cmd.stdin_bytes(orphan).output().assert_code(2);
            assert!(out.stderr.contains("line 1: table nowhere does not exist"), "{tool}: {}", out.stderr);
        }
    }
}

/// The three SQL targets of one test: tool, URL and a query runner (columns
/// separated by spaces).
fn three_targets<'a>(
    pg: &'a decant_tests::Postgres,
    my: &'a decant_tests::MariaDb,
    w: &Workdir,
    name: &str,
) -> Vec<(&'static str, String, Query<'a>)> {
    let pdb = pg.fresh_database(name);
    let mdb = my.fresh_database(name);
    let file = w.join(format!("{name}.db"));
    std::fs::File::create(&file).unwrap();
    vec![
        ("pg-import", pg.url(&pdb), Box::new(move |sql: &str| pg.query(&pdb, sql).replace('|', " "))),
        ("mysql-import", my.url(&mdb), Box::new(move |sql: &str| my.query(&mdb, sql).replace('\t', " "))),
        (
            "sqlite-import",
            format!("sqlite://{}", file.display()),
            Box::new(move |sql: &str| {
                let o = Command::new("sqlite3").arg(&file).arg(sql).output().unwrap();
                String::from_utf8(o.stdout).unwrap().trim_end().replace('|', " ")
            }),
        ),
    ]
}

/// Issue 11: rows of tables that already exist, switching table every row,
/// are grouped per table within a batch (as rows of tables the run creates
/// were): same rows as the sorted stream, a table with an enforced foreign
/// key keeps its order against the tables around it, and `--state` resumes
/// exactly after a run that stopped half-way.
#[test]
fn interleaved_rows_of_existing_tables_import_as_sorted_and_resume_exactly() {
    const N: u32 = 900;
    let schema = r#"{"kind":"schema","table":"ia","columns":[{"name":"id","type":"int64","nullable":false},{"name":"v","type":"string","max_len":12}],"primary_key":["id"]}
{"kind":"schema","table":"ib","columns":[{"name":"id","type":"int64","nullable":false},{"name":"v","type":"string","max_len":12,"nullable":false},{"name":"w","type":"int64"}],"primary_key":["id"]}
{"kind":"schema","table":"ic","columns":[{"name":"id","type":"int64","nullable":false},{"name":"ia_id","type":"int64"}],"primary_key":["id"],"foreign_keys":[{"name":"fk_ic_ia","columns":["ia_id"],"ref_table":"ia","ref_columns":["id"]}]}
"#;
    // ic i refers to ia i, which comes between ic i-1 and ic i: grouping ic
    // across ia's rows would write a child before its parent.
    let rows = |bad_at: Option<u32>| {
        let mut s = String::new();
        for i in 1..=N {
            s.push_str(&format!("{{\"kind\":\"row\",\"table\":\"ic\",\"data\":{{\"id\":{i},\"ia_id\":{}}}}}\n", i - 1));
            s.push_str(&format!("{{\"kind\":\"row\",\"table\":\"ia\",\"data\":{{\"id\":{i},\"v\":\"a{i}\"}}}}\n"));
            let v = if bad_at == Some(i) { "null".to_owned() } else { format!("\"b{i}\"") };
            // Two column sets, as a table fed by two rules gets.
            let w = if i % 2 == 0 { format!(",\"w\":{i}") } else { String::new() };
            s.push_str(&format!("{{\"kind\":\"row\",\"table\":\"ib\",\"data\":{{\"id\":{i},\"v\":{v}{w}}}}}\n"));
        }
        s
    };
    let parent = "{\"kind\":\"row\",\"table\":\"ia\",\"data\":{\"id\":0,\"v\":\"root\"}}\n";
    let interleaved = format!("{parent}{}", rows(None));
    let mut sorted: Vec<&str> = interleaved.lines().collect();
    sorted.sort_by_key(|l| {
        if l.contains("\"table\":\"ia\"") {
            0
        } else if l.contains("\"table\":\"ib\"") {
            1
        } else {
            2
        }
    });
    let sorted = sorted.join("\n") + "\n";
    let broken = format!("{parent}{}", rows(Some(N * 2 / 3)));
    let check = "SELECT (SELECT COUNT(*) FROM ia), (SELECT COUNT(DISTINCT id) FROM ia), (SELECT SUM(id) FROM ib), \
                 (SELECT COUNT(*) FROM ib), (SELECT COUNT(*) FROM ic), (SELECT SUM(ia_id) FROM ic), \
                 (SELECT MAX(v) FROM ib WHERE id = 7), (SELECT COUNT(w) FROM ib), (SELECT SUM(w) FROM ib)";
    let want = format!(
        "{} {} {} {N} {N} {} b7 {} {}",
        N + 1,
        N + 1,
        N * (N + 1) / 2,
        N * (N - 1) / 2,
        N / 2,
        (N / 2) * (N / 2 + 1)
    );
    let pg = postgres();
    let my = mariadb();
    let w = Workdir::new("interleaved-existing");
    for order in ["sorted", "interleaved", "resumed"] {
        for (tool, url, q) in three_targets(pg, my, &w, &format!("ie{}", &order[..3])) {
            // The tables exist before the run (foreign key included).
            import(tool, &url).args(["--create-tables"]).stdin_bytes(schema).assert_success();
            match order {
                "sorted" => {
                    import(tool, &url).args(["--batch-rows", "500"]).stdin_bytes(sorted.clone()).assert_success();
                }
                "interleaved" => {
                    import(tool, &url).args(["--batch-rows", "500"]).stdin_bytes(interleaved.clone()).assert_success();
                }
                _ => {
                    let state = w.join(format!("{tool}.state"));
                    let input = w.join(format!("{tool}.ndjson"));
                    std::fs::write(&input, &broken).unwrap();
                    // Without a reject file the NULL in ib.v stops the run (exit 2).
                    import(tool, &url)
                        .args(["--batch-rows", "500", "--state"])
                        .arg(&state)
                        .arg("-i")
                        .arg(&input)
                        .output()
                        .assert_code(2);
                    let partial: u64 = q("SELECT COUNT(*) FROM ib").parse().unwrap();
                    assert!(partial > 0 && partial < N as u64, "{tool}: {partial} rows committed before the stop");
                    // The same input, mended: the run continues after the last committed batch.
                    std::fs::write(&input, &interleaved).unwrap();
                    import(tool, &url)
                        .args(["--batch-rows", "500", "--state"])
                        .arg(&state)
                        .arg("-i")
                        .arg(&input)
                        .assert_success();
                }
            }
            assert_eq!(q(check), want, "{tool}, {order} input");
        }
    }
}

/// Issue 11: rows that omit a column of the unique key used for upsert
/// (the real relay job's account_usage_stats: no rule writes `account_type`,
/// daily rows have no hour) are matched with that column's default, NULL
/// equal to NULL; a default that is not a constant is refused, naming the
/// table, the key and the column.
#[test]
fn upsert_matches_omitted_key_columns_by_their_defaults() {
    let schema = r#"{"kind":"schema","table":"aus","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true},{"name":"account_id","type":"string","max_len":36,"nullable":false},{"name":"account_type","type":"string","max_len":16,"nullable":false,"default":"claude"},{"name":"stat_date","type":"date","nullable":false},{"name":"stat_hour","type":"string","max_len":13},{"name":"requests","type":"int32"}],"primary_key":["id"],"indexes":[{"name":"uk_aus","columns":["account_id","account_type","stat_date","stat_hour"],"unique":true}]}
{"kind":"schema","table":"ev","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true},{"name":"name","type":"string","max_len":16,"nullable":false},{"name":"seen_at","type":"datetime","precision":0,"nullable":false,"default_expr":"current_timestamp"},{"name":"n","type":"int32"}],"primary_key":["id"],"indexes":[{"name":"uk_ev","columns":["name","seen_at"],"unique":true}]}
{"kind":"schema","table":"nd","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true},{"name":"name","type":"string","max_len":16,"nullable":false},{"name":"kind","type":"string","max_len":16,"nullable":false},{"name":"n","type":"int32"}],"primary_key":["id"],"indexes":[{"name":"uk_nd","columns":["name","kind"],"unique":true}]}
"#;
    // Daily rows leave out stat_hour (NULL), hourly rows carry it; none
    // carries account_type (its default, 'claude').
    let rows = |requests: u32| {
        let mut s = String::new();
        for account in ["a1", "a2"] {
            s.push_str(&format!(
                "{{\"kind\":\"row\",\"table\":\"aus\",\"data\":{{\"account_id\":\"{account}\",\"stat_date\":\"2026-12-01\",\"requests\":{requests}}}}}\n"
            ));
            for hour in ["2026-12-01:03", "2026-12-01:04"] {
                s.push_str(&format!(
                    "{{\"kind\":\"row\",\"table\":\"aus\",\"data\":{{\"account_id\":\"{account}\",\"stat_date\":\"2026-12-01\",\"stat_hour\":\"{hour}\",\"requests\":{requests}}}}}\n"
                ));
            }
        }
        s
    };
    let pg = postgres();
    let my = mariadb();
    let w = Workdir::new("upsert-omitted-key");
    for (tool, url, q) in three_targets(pg, my, &w, "uok") {
        import(tool, &url).args(["--create-tables"]).stdin_bytes(schema).assert_success();
        // A row the other tools wrote, of another account type, is a different row.
        q("INSERT INTO aus (account_id, account_type, stat_date, requests) VALUES ('a1', 'gemini', '2026-12-01', 100)");
        for requests in [5, 5, 7] {
            import(tool, &url).args(["--mode", "upsert"]).stdin_bytes(rows(requests)).assert_success();
        }
        let table = q("SELECT account_id, account_type, COALESCE(stat_hour, '-'), requests FROM aus \
                       ORDER BY account_id, account_type, COALESCE(stat_hour, '-')");
        let table: Vec<&str> = table.lines().collect();
        assert_eq!(
            table,
            [
                "a1 claude - 7",
                "a1 claude 2026-12-01:03 7",
                "a1 claude 2026-12-01:04 7",
                "a1 gemini - 100",
                "a2 claude - 7",
                "a2 claude 2026-12-01:03 7",
                "a2 claude 2026-12-01:04 7",
            ],
            "{tool}: upsert three times"
        );
        // skip-existing and replace match the same way.
        import(tool, &url).args(["--mode", "skip-existing"]).stdin_bytes(rows(9)).assert_success();
        import(tool, &url).args(["--mode", "replace"]).stdin_bytes(rows(2)).assert_success();
        assert_eq!(q("SELECT COUNT(*), SUM(requests) FROM aus"), "7 112", "{tool}: skip-existing, then replace");

        // A key column whose default is an expression: refused, naming table, key and column.
        let ev = "{\"kind\":\"row\",\"table\":\"ev\",\"data\":{\"name\":\"x\",\"n\":1}}\n";
        let refused = import(tool, &url).args(["--mode", "upsert"]).stdin_bytes(ev).output().assert_code(2);
        for part in ["table ev", "\"seen_at\"", "name, seen_at", "not a constant"] {
            assert!(refused.stderr.contains(part), "{tool}: {part:?} in {}", refused.stderr);
        }
        // A NOT NULL key column without a default: refused likewise.
        let nd = "{\"kind\":\"row\",\"table\":\"nd\",\"data\":{\"name\":\"x\",\"n\":1}}\n";
        let refused = import(tool, &url).args(["--mode", "upsert"]).stdin_bytes(nd).output().assert_code(2);
        for part in ["table nd", "\"kind\"", "name, kind", "NOT NULL and has no default"] {
            assert!(refused.stderr.contains(part), "{tool}: {part:?} in {}", refused.stderr);
        }
        assert_eq!(q("SELECT (SELECT COUNT(*) FROM ev) + (SELECT COUNT(*) FROM nd)"), "0", "{tool}");
    }
}

/// Issue 11: `--mode upsert` twice doubled tables whose primary key is an
/// AUTO_INCREMENT id the rows do not carry. Rows are now matched by a unique
/// key they carry (the database's own when it enforces it, else one by one,
/// NULL equal to NULL), by `--key`, or refused with an error saying what to
/// pass; never inserted twice, in every mode.
#[test]
fn upsert_without_the_primary_key_matches_by_a_unique_key_and_never_inserts_twice() {
    let schema = r#"{"kind":"schema","table":"us","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true},{"name":"api_key_id","type":"string","max_len":36,"nullable":false},{"name":"stat_date","type":"date","nullable":false},{"name":"stat_hour","type":"int16"},{"name":"requests","type":"int32"}],"primary_key":["id"],"indexes":[{"name":"uk_usage","columns":["api_key_id","stat_date","stat_hour"],"unique":true}]}
{"kind":"schema","table":"uc","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true},{"name":"api_key_id","type":"string","max_len":36,"nullable":false},{"name":"cost_date","type":"string","max_len":16,"nullable":false},{"name":"amount","type":"decimal","precision":20,"scale":6}],"primary_key":["id"],"indexes":[{"name":"uk_cost","columns":["api_key_id","cost_date"],"unique":true}]}
{"kind":"schema","table":"ur","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true},{"name":"api_key_id","type":"string","max_len":36,"nullable":false},{"name":"created_at","type":"datetime","precision":0},{"name":"cost","type":"decimal","precision":20,"scale":6}],"primary_key":["id"]}
"#;
    // us: daily rows have no hour (NULL: a unique index lets it repeat).
    let stats = |requests: u32| {
        let mut s = String::new();
        for (key, hour) in [("k1", "null"), ("k1", "3"), ("k2", "null"), ("k2", "4")] {
            s.push_str(&format!(
                "{{\"kind\":\"row\",\"table\":\"us\",\"data\":{{\"api_key_id\":\"{key}\",\"stat_date\":\"2026-12-01\",\"stat_hour\":{hour},\"requests\":{requests}}}}}\n"
            ));
            s.push_str(&format!(
                "{{\"kind\":\"row\",\"table\":\"uc\",\"data\":{{\"api_key_id\":\"{key}\",\"cost_date\":\"2026-12-0{}\",\"amount\":\"{requests}.5\"}}}}\n",
                hour.len()
            ));
        }
        s
    };
    let records = |cost: &str| {
        (1..=3)
            .map(|i| format!("{{\"kind\":\"row\",\"table\":\"ur\",\"data\":{{\"api_key_id\":\"k{i}\",\"created_at\":\"2026-12-01T10:00:0{i}\",\"cost\":\"{cost}\"}}}}\n"))
            .collect::<String>()
    };
    let counts = "SELECT (SELECT COUNT(*) FROM us), (SELECT SUM(requests) FROM us), (SELECT COUNT(*) FROM uc), \
                  (SELECT SUM(amount) FROM uc), (SELECT COUNT(*) FROM ur), (SELECT COALESCE(SUM(cost), 0) FROM ur)";
    let pg = postgres();
    let my = mariadb();
    let w = Workdir::new("upsert-no-pk");
    for (tool, url, q) in three_targets(pg, my, &w, "upk") {
        let sums = || {
            // Decimal sums print with the column's scale on some servers.
            q(counts)
                .split(' ')
                .map(|v| if v.contains('.') { v.trim_end_matches('0').trim_end_matches('.') } else { v })
                .collect::<Vec<_>>()
                .join(" ")
        };
        import(tool, &url).args(["--create-tables"]).stdin_bytes(schema).assert_success();
        for _ in 0..2 {
            import(tool, &url).args(["--mode", "upsert"]).stdin_bytes(stats(5)).assert_success();
        }
        assert_eq!(sums(), "4 20 4 22 0 0", "{tool}: a second upsert inserted again");
        // Upsert updates in place; skip-existing leaves rows alone; replace swaps them.
        import(tool, &url).args(["--mode", "upsert"]).stdin_bytes(stats(7)).assert_success();
        assert_eq!(sums(), "4 28 4 30 0 0", "{tool}: upsert with new values");
        let out = run(tool)
            .args(["--url", &url, "--mode", "skip-existing", "--log-format", "json"])
            .stdin_bytes(stats(9))
            .assert_success();
        let total = out.stderr.lines().find(|l| l.contains("\"event\":\"total\"")).unwrap_or_default().to_owned();
        assert!(total.contains("\"skipped\":8") && total.contains("\"written\":0"), "{tool}: {}", out.stderr);
        assert_eq!(sums(), "4 28 4 30 0 0", "{tool}: skip-existing changed rows");
        import(tool, &url).args(["--mode", "replace"]).stdin_bytes(stats(1)).assert_success();
        assert_eq!(sums(), "4 4 4 6 0 0", "{tool}: replace");
        // No primary key in the rows and no unique key: refused, saying what to pass.
        let refused = import(tool, &url).args(["--mode", "upsert"]).stdin_bytes(records("0.5")).output().assert_code(2);
        assert!(refused.stderr.contains("--key ur:") && refused.stderr.contains("id"), "{tool}: {}", refused.stderr);
        assert_eq!(q("SELECT COUNT(*) FROM ur"), "0", "{tool}");
        for cost in ["0.5", "1.25"] {
            import(tool, &url)
                .args(["--mode", "upsert", "--key", "ur:api_key_id,created_at"])
                .stdin_bytes(records(cost))
                .assert_success();
        }
        assert_eq!(sums().split(' ').skip(4).collect::<Vec<_>>().join(" "), "3 3.75", "{tool}: --key");
        // --key naming a column the rows lack is an error naming it.
        import(tool, &url)
            .args(["--mode", "upsert", "--key", "ur:api_key_id,missing"])
            .stdin_bytes(records("2"))
            .output()
            .assert_code(2)
            .assert_stderr_contains("\"missing\"");
    }
}

/// Issue 14: `--create-tables` meets a table that exists already. A
/// different one (a column the rows carry is missing, a type that cannot
/// hold the values, another primary key) is named column by column before
/// the first row, exit 2, nothing written; a compatible one (same columns,
/// one extra nullable) takes the rows with a warning; `--dry-run` prints the
/// DDL it would run and creates nothing.
#[test]
fn create_tables_checks_an_existing_table_before_the_first_row() {
    const USERS: &str = r#"{"kind":"header","format":"decant/1","source":"test","tool":"test"}
{"kind":"schema","table":"users","columns":[{"name":"id","type":"int64","nullable":false},{"name":"email","type":"string","max_len":100},{"name":"born","type":"date"}],"primary_key":["id"]}
{"kind":"row","table":"users","data":{"id":1,"email":"a@x","born":"2000-01-01"}}
{"kind":"row","table":"users","data":{"id":2,"email":"b@x","born":null}}
"#;
    let w = Workdir::new("create_tables_existing");
    let pg = postgres();
    let my = mariadb();
    type Query<'a> = Box<dyn Fn(&str) -> String + 'a>;
    let mut targets: Vec<(&str, String, Query)> = Vec::new();
    for (i, tool) in ["pg-import", "mysql-import", "sqlite-import"].into_iter().enumerate() {
        for case in ["different", "compatible", "dry"] {
            let (url, query): (String, Query) = match i {
                0 => {
                    let db = pg.fresh_database(&format!("ct_{case}"));
                    (
                        pg.url(&db),
                        Box::new({
                            let pg = &pg;
                            move |sql: &str| pg.query(&db, sql)
                        }),
                    )
                }
                1 => {
                    let db = my.fresh_database(&format!("ct_{case}"));
                    (
                        my.url(&db),
                        Box::new({
                            let my = &my;
                            move |sql: &str| my.query(&db, sql)
                        }),
                    )
                }
                _ => {
                    let file = w.join(format!("{case}.db"));
                    std::fs::File::create(&file).unwrap();
                    (
                        format!("sqlite://{}", file.display()),
                        Box::new(move |sql: &str| {
                            let o = Command::new("sqlite3").arg(&file).arg(sql).output().expect("sqlite3 CLI");
                            assert!(o.status.success(), "{sql}: {}", String::from_utf8_lossy(&o.stderr));
                            String::from_utf8_lossy(&o.stdout).trim_end().to_owned()
                        }),
                    )
                }
            };
            targets.push((tool, format!("{case} {url}"), query));
        }
    }
    for (tool, case_url, query) in &targets {
        let (case, url) = case_url.split_once(' ').unwrap();
        match case {
            "different" => {
                query("CREATE TABLE users (uid BIGINT PRIMARY KEY, email VARCHAR(100), born INTEGER)");
                let out = run(tool).args(["--url", url, "--create-tables"]).stdin_bytes(sealed(USERS)).output();
                assert_eq!(out.code(), Some(2), "{tool}: {out:?}");
                for needle in [
                    "table users exists already and differs from the stream's schema line",
                    "column \"id\" is missing in the target",
                    "column \"born\": the target's type",
                    "cannot hold the stream's date values",
                    "primary key: the stream's is (id), the target's (uid)",
                ] {
                    assert!(out.stderr.contains(needle), "{tool}: {needle:?} not in {}", out.stderr);
                }
                assert_eq!(query("SELECT COUNT(*) FROM users"), "0", "{tool}: rows written");
            }
            "compatible" => {
                query("CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(200), born DATE, note TEXT)");
                let out = run(tool).args(["--url", url, "--create-tables"]).stdin_bytes(sealed(USERS)).assert_success();
                assert!(
                    out.stderr.contains("table users exists already: column \"note\"")
                        && out.stderr.contains("is in the target but not in the stream"),
                    "{tool}: {}",
                    out.stderr
                );
                assert_eq!(query("SELECT COUNT(*) FROM users"), "2", "{tool}");
            }
            _ => {
                let out = run(tool)
                    .args(["--url", url, "--create-tables", "--dry-run"])
                    .stdin_bytes(sealed(USERS))
                    .assert_success();
                let ddl = out.stdout_str();
                assert!(ddl.contains("-- table users: would be created"), "{tool}: {ddl}");
                assert!(ddl.contains("CREATE TABLE") && ddl.contains("users") && ddl.contains("born"), "{tool}: {ddl}");
                let exists = match *tool {
                    "pg-import" => query("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'users'"),
                    "mysql-import" => query(
                        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'users'",
                    ),
                    _ => query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'users'"),
                };
                assert_eq!(exists, "0", "{tool}: the dry run created the table");
            }
        }
    }
}

/// Starts `tool --state` on `n` rows, cuts its connection server-side with
/// `cut()` once its first batch is committed (the server going away, as the
/// importer sees it), checks the message (server gone, what was committed,
/// the command that continues, exit 2), then runs that command: all rows,
/// once each.
fn cut_off_and_resume(tool: &str, url: &str, w: &Workdir, n: u32, committed: &dyn Fn() -> u64, cut: &dyn Fn()) {
    let input = w.write(format!("gone-{tool}.ndjson"), resume_stream(n));
    let state = w.join(format!("gone-{tool}.state"));
    let args = |c: &mut Command| {
        c.args(["--url", url, "--create-tables", "--batch-rows", "500", "--state"]).arg(&state).arg("-i").arg(&input);
    };
    let mut cmd = Command::new(bin(tool));
    args(&mut cmd);
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while committed() < 500 {
        assert!(started.elapsed() < Duration::from_secs(60), "{tool}: no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    cut();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let partial = committed();
    assert!(partial < n as u64, "{tool}: finished before the cut ({partial} rows): {stderr}");
    assert_eq!(out.status.code(), Some(2), "{tool}: {stderr}");
    for needle in [
        "the database server went away",
        "stopped after ",
        "batch(es) committed by this run",
        "--state records the last one",
        "rerun the same command",
    ] {
        assert!(stderr.contains(needle), "{tool}: {needle:?} not in {stderr}");
    }
    // The command printed is the one that continues; run it as printed
    // (it names the input and the state file).
    let command = stderr.lines().find(|l| l.starts_with(&format!("  {tool} --url"))).unwrap_or_else(|| {
        panic!("{tool}: no resume command in {stderr}");
    });
    assert!(command.contains("--state") && command.contains(&*input.to_string_lossy()), "{command}");
    let path = format!("{}:{}", bin(tool).parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh").arg("-c").arg(command.trim()).env("PATH", path).output().unwrap();
    assert!(out.status.success(), "{tool}: {command}: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(committed(), n as u64, "{tool}");
}

/// Issue 14: a database that goes away mid-import (its connection killed
/// from the server side) gives a message that says so, what was committed
/// and the exact command that continues; that command completes the import.
#[test]
fn a_server_gone_mid_import_says_what_was_committed_and_how_to_resume() {
    const N: u32 = 40_000;
    let w = Workdir::new("server_gone");
    let pg = postgres();
    let db = pg.fresh_database("gone");
    let rows = || {
        if pg.query(&db, "SELECT count(*) FROM pg_tables WHERE tablename = 's'") == "1" {
            pg.query(&db, "SELECT count(*) FROM s").parse::<u64>().unwrap()
        } else {
            0
        }
    };
    let cut = || {
        pg.query(
            &db,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"
            ),
        );
    };
    cut_off_and_resume("pg-import", &pg.url(&db), &w, N, &rows, &cut);
    assert_eq!(pg.query(&db, "SELECT count(DISTINCT id), min(id), max(id) FROM s"), format!("{N}|1|{N}"));

    let my = mariadb();
    let mdb = my.fresh_database("gone");
    let rows = || {
        let t = my.query(
            &mdb,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 's'",
        );
        if t == "1" {
            my.query(&mdb, "SELECT COUNT(*) FROM s").parse::<u64>().unwrap()
        } else {
            0
        }
    };
    let cut = || {
        let ids = my.query(
            &mdb,
            &format!("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{mdb}' AND ID <> CONNECTION_ID()"),
        );
        assert!(!ids.trim().is_empty(), "no import connection found to kill");
        for id in ids.lines().filter(|l| !l.is_empty()) {
            // The connection may be gone already between the two queries.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                my.query(&mdb, &format!("KILL CONNECTION {id}"))
            }));
        }
    };
    // MariaDB takes rows faster: more of them, so the cut comes midway.
    let n = 4 * N;
    cut_off_and_resume("mysql-import", &my.url(&mdb), &w, n, &rows, &cut);
    assert_eq!(my.query(&mdb, "SELECT COUNT(DISTINCT id), MIN(id), MAX(id) FROM s"), format!("{n}\t1\t{n}"));
}

/// Issue 14: -v says what a person debugging a run needs (the target with
/// its password hidden, the DDL run, each committed batch with its rows and
/// input line), -vv no less, and -v with --quiet is a usage error.
#[test]
fn verbose_says_the_target_the_ddl_and_each_batch() {
    let pg = postgres();
    let db = pg.fresh_database("verbose");
    // The server trusts loopback clients: the password is only there to be hidden.
    let url = pg.url(&db).replace("postgres@", "postgres:Sec%2Fret%23pw@");
    let out = run("pg-import")
        .args(["--url", &url, "--create-tables", "--batch-rows", "2", "-v"])
        .stdin_bytes(sealed(&format!(
            "{{\"kind\":\"header\",\"format\":\"decant/1\",\"source\":\"t\",\"tool\":\"t\"}}\n{}",
            resume_stream(5)
        )))
        .assert_success();
    let stderr = &out.stderr;
    assert!(stderr.contains("pg-import: target: postgres://postgres:***@127.0.0.1:"), "{stderr}");
    assert!(!stderr.contains("Sec") && !stderr.contains("%2Fret"), "password shown: {stderr}");
    assert!(stderr.contains("pg-import: table s: CREATE TABLE"), "{stderr}");
    assert!(stderr.contains("pg-import: batch 1 committed: 2 rows in "), "{stderr}");
    assert!(stderr.contains("batch 3 committed: 1 rows in ") && stderr.contains("(total 5, input line 8)"), "{stderr}");
    let both = run("pg-import").args(["--url", &url, "-v", "--quiet"]).stdin_bytes(Vec::new()).output();
    assert_eq!(both.code(), Some(2), "{both:?}");
}

/// Issue 11: rows matched by a key the target does not enforce (`--key`,
/// no unique key, NULLs in it) are looked up, updated and inserted in
/// batches, not four round trips a row: a second upsert of many rows
/// updates them in place, NULL equal to NULL; rows of one batch with the
/// same key apply in stream order, as the database compares keys (MariaDB's
/// accent-insensitive collation, a date-time written two ways); skip-existing
/// and replace likewise; a bad row in a big batch is still rejected with its line.
#[test]
fn looked_up_rows_go_in_batches_in_stream_order_with_rejects_named() {
    const N: u32 = 3000;
    let schema = r#"{"kind":"schema","table":"lk","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true},{"name":"api_key_id","type":"string","max_len":36,"nullable":false},{"name":"created_at","type":"datetime","precision":0},{"name":"model","type":"string","max_len":12},{"name":"cost","type":"decimal","precision":20,"scale":6}],"primary_key":["id"]}
"#;
    // Keys (api_key_id, created_at): the first 100 rows have a NULL created_at.
    let lk_row = |i: u32, api: Option<&str>, cost: &str, model: bool| {
        let api = api.map(|a| format!("\"{a}\"")).unwrap_or_else(|| format!("\"k{}\"", i % 100));
        let at = if i < 100 {
            "null".to_owned()
        } else {
            format!("\"2026-12-01T{:02}:{:02}:{:02}\"", i / 3600, i / 60 % 60, i % 60)
        };
        let model = if model { format!(",\"model\":\"m{}\"", i % 10) } else { String::new() };
        format!("{{\"kind\":\"row\",\"table\":\"lk\",\"data\":{{\"api_key_id\":{api},\"created_at\":{at}{model},\"cost\":\"{cost}\"}}}}\n")
    };
    let many =
        |frac: &str, model: bool| (0..N).map(|i| lk_row(i, None, &format!("{i}.{frac}"), model)).collect::<String>();
    // Decimal sums print with the column's scale on some servers.
    let norm = |s: String| {
        s.split(['\n', ' '])
            .map(|v| if v.contains('.') { v.trim_end_matches('0').trim_end_matches('.') } else { v })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let total = |out: &decant_tests::Output| {
        out.stderr.lines().find(|l| l.contains("\"event\":\"total\"")).unwrap_or_default().to_owned()
    };
    let sum_all = (N * (N - 1) / 2) as u64;
    let pg = postgres();
    let my = mariadb();
    let w = Workdir::new("looked-up-batches");
    for (tool, url, q) in three_targets(pg, my, &w, "lkb") {
        let q = |sql: &str| norm(q(sql));
        let ks = "SELECT COUNT(*), SUM(cost), COUNT(model), COUNT(created_at) FROM lk WHERE api_key_id LIKE 'k%'";
        import(tool, &url).args(["--create-tables"]).stdin_bytes(schema).assert_success();
        let upsert = || {
            import(tool, &url).args(["--mode", "upsert", "--key", "lk:api_key_id,created_at", "--batch-rows", "5000"])
        };
        // Twice: the second run updates every row, in batches (-v says so).
        upsert().stdin_bytes(many("25", true)).assert_success();
        let out = run(tool)
            .args([
                "--url",
                &url,
                "-v",
                "--log-format",
                "json",
                "--mode",
                "upsert",
                "--key",
                "lk:api_key_id,created_at",
            ])
            .args(["--batch-rows", "5000"])
            .stdin_bytes(many("75", true))
            .assert_success();
        assert!(total(&out).contains(&format!("\"written\":{N}")), "{tool}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("{N} row(s) matched by key in 2 segment(s): {N} together, 0 row by row")),
            "{tool}: {}",
            out.stderr
        );
        assert_eq!(q(ks), format!("{N} {} {N} {}", sum_all + 3 * N as u64 / 4, N - 100), "{tool}: upsert twice");
        assert_eq!(q("SELECT COUNT(*) FROM lk WHERE created_at IS NULL"), "100", "{tool}: NULL keys");

        // Keys repeated within one batch: the later row meets what the earlier wrote.
        let t = "2026-12-02T00:00:00";
        let dups = [
            lk_row(200, Some("dup1"), "1", true).replace("2026-12-01T00:03:20", t),
            lk_row(200, Some("dup1"), "2", true).replace("2026-12-01T00:03:20", &t.replace('T', " ")),
            lk_row(1, Some("dup2"), "3", true),
            lk_row(1, Some("dup2"), "4", true),
            lk_row(300, Some("cafe"), "5", true),
            lk_row(300, Some("café"), "6", true),
        ]
        .concat();
        let out = run(tool)
            .args(["--url", &url, "--log-format", "json", "--mode", "upsert", "--key", "lk:api_key_id,created_at"])
            .stdin_bytes(dups)
            .assert_success();
        assert!(total(&out).contains("\"written\":6"), "{tool}: {}", out.stderr);
        let got = q("SELECT api_key_id, cost FROM lk WHERE api_key_id NOT LIKE 'k%' ORDER BY cost");
        let want = match tool {
            // utf8mb4_unicode_ci: café is cafe; the date-times are one value.
            "mysql-import" => "dup1 2 dup2 4 cafe 6",
            "pg-import" => "dup1 2 dup2 4 cafe 5 café 6",
            // SQLite keeps date-times as the text written: two keys.
            _ => "dup1 1 dup1 2 dup2 4 cafe 5 café 6",
        };
        assert_eq!(got, want, "{tool}: keys repeated in one batch");

        // skip-existing: the second row of a new key is skipped, as are existing ones.
        let skip = [
            lk_row(400, Some("dup3"), "7", true),
            lk_row(400, Some("dup3"), "8", true),
            lk_row(1, Some("dup2"), "9", true),
        ]
        .concat();
        let out = run(tool)
            .args([
                "--url",
                &url,
                "--log-format",
                "json",
                "--mode",
                "skip-existing",
                "--key",
                "lk:api_key_id,created_at",
            ])
            .stdin_bytes(skip)
            .assert_success();
        assert!(
            total(&out).contains("\"written\":1") && total(&out).contains("\"skipped\":2"),
            "{tool}: {}",
            out.stderr
        );
        assert_eq!(q("SELECT cost FROM lk WHERE api_key_id IN ('dup2', 'dup3') ORDER BY cost"), "4 7", "{tool}");

        // replace: whole rows swapped (model, not carried, is NULL after).
        import(tool, &url)
            .args(["--mode", "replace", "--key", "lk:api_key_id,created_at", "--batch-rows", "5000"])
            .stdin_bytes(many("5", false))
            .assert_success();
        assert_eq!(q(ks), format!("{N} {} 0 {}", sum_all + (N / 2) as u64, N - 100), "{tool}: replace");

        // A row the database refuses (NULL in a NOT NULL column) inside a
        // big batch: rejected with its line, every other row written.
        let bad = 1234;
        let stream: String = (0..N)
            .map(|i| {
                if i == bad {
                    lk_row(i, None, "1", true).replace("\"api_key_id\":\"k34\"", "\"api_key_id\":null")
                } else {
                    lk_row(i, None, &format!("{i}.25"), true)
                }
            })
            .collect();
        assert!(stream.contains("\"api_key_id\":null"));
        let rejects = w.join(format!("{tool}.rej"));
        let out = run(tool)
            .args(["--url", &url, "--log-format", "json", "--mode", "upsert", "--key", "lk:api_key_id,created_at"])
            .args(["--batch-rows", "5000", "--reject-file"])
            .arg(&rejects)
            .stdin_bytes(stream)
            .output()
            .assert_code(1);
        assert!(
            total(&out).contains(&format!("\"written\":{}", N - 1)) && total(&out).contains("\"rejected\":1"),
            "{tool}: {}",
            out.stderr
        );
        let lines = reject_lines(&rejects);
        assert_eq!(lines.len(), 1, "{tool}: {lines:?}");
        assert_eq!(lines[0]["rejected"]["line"], bad + 1, "{tool}: {lines:?}");
        // Row 1234 keeps its replaced cost (.5); the others are .25 now.
        let cents: u64 = (0..N as u64).map(|i| if i == bad as u64 { i * 100 + 50 } else { i * 100 + 25 }).sum();
        assert_eq!(
            q("SELECT COUNT(*), SUM(cost) FROM lk WHERE api_key_id LIKE 'k%'"),
            norm(format!("{N} {}.{:02}", cents / 100, cents % 100)),
            "{tool}: a bad row in a big batch"
        );
    }
}

#[test]
fn upsert_of_one_key_twice_in_the_first_batch_falls_back_row_by_row() {
    // Regression: the bulk upsert of a batch holding one key twice fails
    // (ON CONFLICT cannot affect a row twice) and is rolled back to its
    // savepoint, taking the staging table created in it along; pg-import
    // kept using that table's name, and each row failed with
    // `relation "decant_stage_0" does not exist`.
    let stream = r#"{"kind":"schema","table":"o","columns":[{"name":"id","type":"int32","nullable":false},{"name":"v","type":"string","max_len":20}],"primary_key":["id"]}
{"kind":"row","table":"o","data":{"id":1,"v":"a"}}
{"kind":"row","table":"o","data":{"id":2,"v":"a"}}
{"kind":"row","table":"o","data":{"id":1,"v":"b"}}
"#;
    let pg = postgres();
    for mode in ["upsert", "replace"] {
        let db = pg.fresh_database("twice");
        import("pg-import", &pg.url(&db))
            .args(["--create-tables", "--mode", mode])
            .stdin_bytes(stream)
            .assert_success();
        assert_eq!(pg.query(&db, "SELECT id, v FROM o ORDER BY id"), "1|b\n2|a", "--mode {mode}");
    }
}

/// pg-import --create-tables --mode insert builds a created table's primary
/// key after the data while the keys keep going up (a sorted build instead
/// of a btree insert per row). Keys that stop going up make it add the key
/// before that batch, so a duplicate is still refused by the database and
/// named by its own line; keys out of order but unique all go in; every
/// table ends with its primary key, whichever way, with --jobs too.
#[test]
fn a_primary_key_built_after_the_data_still_refuses_duplicates_and_is_always_built() {
    let schema = |t: &str, ty: &str| {
        format!(
            r#"{{"kind":"schema","table":"{t}","columns":[{{"name":"id","type":"{ty}","nullable":false}},{{"name":"v","type":"string","max_len":8}}],"primary_key":["id"]}}"#
        )
    };
    let row = |t: &str, id: u64| format!(r#"{{"kind":"row","table":"{t}","data":{{"id":{id},"v":"v{id}"}}}}"#);
    let mut stream = String::new();
    let mut line = 0;
    let mut push = |s: String, stream: &mut String| {
        stream.push_str(&s);
        stream.push('\n');
        line += 1;
        line
    };
    // up: keys only go up (unsigned 64-bit: numeric(20,0), digits). dup: a
    // key again after 300 rows. shuffled: unique keys out of order.
    push(schema("up", "uint64"), &mut stream);
    push(schema("dup", "int64"), &mut stream);
    push(schema("shuffled", "int32"), &mut stream);
    let mut dup_line = 0;
    for i in 1..=400u64 {
        push(row("up", i), &mut stream);
        push(row("shuffled", (i * 7919) % 401), &mut stream);
        push(row("dup", i), &mut stream);
        if i == 300 {
            dup_line = push(row("dup", 150), &mut stream);
        }
    }
    let pg = postgres();
    let w = Workdir::new("pk_after");
    for jobs in ["1", "2"] {
        let db = pg.fresh_database(&format!("pk_after_{jobs}"));
        let rejects = w.join(format!("pk_after_{jobs}.rej"));
        import("pg-import", &pg.url(&db))
            .args(["--create-tables", "--batch-rows", "100", "--jobs", jobs, "--reject-file"])
            .arg(&rejects)
            .stdin_bytes(stream.clone())
            .output()
            .assert_code(1);
        let rej = std::fs::read_to_string(&rejects).unwrap();
        assert_eq!(rej.lines().count(), 1, "jobs {jobs}: {rej}");
        assert!(rej.contains(&format!("\"line\":{dup_line}")), "jobs {jobs}: line {dup_line}: {rej}");
        assert!(rej.to_ascii_lowercase().contains("duplicate key"), "jobs {jobs}: {rej}");
        let counts = pg.query(
            &db,
            "SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM dup), (SELECT count(DISTINCT id) FROM dup), \
             (SELECT count(*) FROM shuffled), (SELECT v FROM dup WHERE id = 150)",
        );
        assert_eq!(counts, "400|400|400|400|v150", "jobs {jobs}");
        let keys = pg.query(
            &db,
            "SELECT string_agg(conname || ':' || pg_get_constraintdef(oid), ',' ORDER BY conname) \
             FROM pg_constraint WHERE contype = 'p' AND connamespace = 'public'::regnamespace",
        );
        assert_eq!(
            keys, "dup_pkey:PRIMARY KEY (id),shuffled_pkey:PRIMARY KEY (id),up_pkey:PRIMARY KEY (id)",
            "jobs {jobs}"
        );
    }
    // A run that stops (a duplicate, no reject file) leaves the table it
    // created with its primary key all the same.
    let db = pg.fresh_database("pk_after_stop");
    let stopped = format!("{}\n{}\n{}\n{}\n", schema("st", "int64"), row("st", 1), row("st", 2), row("st", 1));
    import("pg-import", &pg.url(&db))
        .args(["--create-tables"])
        .stdin_bytes(stopped)
        .output()
        .assert_code(2)
        .assert_stderr_contains("key id=1 (line 4)");
    let keys = "SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'st'::regclass";
    assert_eq!(pg.query(&db, keys), "st_pkey");
    // A run killed before the key leaves its marker: the next run adds the
    // key before its rows (and the marker goes), so a duplicate of a row of
    // the first run is refused.
    pg.query(
        &db,
        "CREATE TABLE k (id bigint NOT NULL, v varchar(8), CONSTRAINT decant_primary_key_pending CHECK (true)); \
         INSERT INTO k VALUES (1, 'v1'), (2, 'v2')",
    );
    let rejects = w.join("pk_after_marker.rej");
    let again = format!("{}\n{}\n{}\n", schema("k", "int64"), row("k", 2), row("k", 3));
    import("pg-import", &pg.url(&db))
        .args(["--create-tables", "--reject-file"])
        .arg(&rejects)
        .stdin_bytes(again)
        .output()
        .assert_code(1);
    let rej = std::fs::read_to_string(&rejects).unwrap();
    assert!(rej.contains("\"line\":2") && rej.to_ascii_lowercase().contains("duplicate key"), "{rej}");
    assert_eq!(pg.query(&db, &keys.replace("'st'", "'k'")), "k_pkey");
    assert_eq!(pg.query(&db, "SELECT string_agg(id::text, ',' ORDER BY id) FROM k"), "1,2,3");
}

/// pg-import builds a created table's primary key and indexes on a
/// connection of its own once the stream has moved on to another table. A
/// stream may come back to a table (rows need only follow its schema line):
/// the returning rows then meet the table as they would have without it (a
/// duplicate under a unique key fails that index at the end, named as ever;
/// a key that does not go up is refused row by row by the primary key), and
/// every index and key is there at the end, with `--jobs 1` and `2`.
#[test]
fn a_table_the_stream_comes_back_to_gets_its_indexes_as_ever() {
    let schema = |t: &str| {
        format!(
            r#"{{"kind":"schema","table":"{t}","columns":[{{"name":"id","type":"int64","nullable":false}},{{"name":"code","type":"string","max_len":8}},{{"name":"n","type":"int32"}},{{"name":"parent","type":"int64"}}],"primary_key":["id"],"indexes":[{{"name":"uq_{t}_code","columns":["code"],"unique":true}},{{"name":"ix_{t}_n","columns":["n"]}}],"foreign_keys":[{{"name":"fk_{t}","columns":["parent"],"ref_table":"a","ref_columns":["id"]}}]}}"#
        )
    };
    let row = |t: &str, id: u64, code: &str| {
        format!(
            r#"{{"kind":"row","table":"{t}","data":{{"id":{id},"code":"{code}","n":{},"parent":{}}}}}"#,
            id % 7,
            id % 50 + 1
        )
    };
    // a, then b, then a again, then b again: each stretch several batches.
    let stream = |a_again: &dyn Fn(u64) -> (u64, String)| {
        let mut s = format!("{}\n{}\n", schema("a"), schema("b"));
        let mut line = 2;
        let mut lines = Vec::new();
        for id in 1..=300 {
            s.push_str(&row("a", id, &format!("c{id}")));
            s.push('\n');
        }
        line += 300;
        for id in 1..=300 {
            s.push_str(&row("b", id, &format!("c{id}")));
            s.push('\n');
        }
        line += 300;
        for i in 301..=400 {
            let (id, code) = a_again(i);
            s.push_str(&row("a", id, &code));
            s.push('\n');
            line += 1;
            lines.push((id, line));
        }
        for id in 301..=400 {
            s.push_str(&row("b", id, &format!("c{id}")));
            s.push('\n');
        }
        (s, lines)
    };
    let pg = postgres();
    let w = Workdir::new("early_builds");
    let indexes = "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'";
    let keys = "SELECT string_agg(conname || ':' || convalidated, ',' ORDER BY conname) FROM pg_constraint \
                WHERE contype IN ('p', 'f') AND connamespace = 'public'::regnamespace";
    for jobs in ["1", "2"] {
        // Rows that hold: everything built, the data whole.
        let (plain, _) = stream(&|i| (i, format!("c{i}")));
        let db = pg.fresh_database(&format!("early_ok_{jobs}"));
        let out = run("pg-import")
            .args(["--url", &pg.url(&db), "--create-tables", "--batch-rows", "100", "--jobs", jobs, "-v"])
            .stdin_bytes(plain)
            .output()
            .assert_success();
        out.assert_stderr_contains("table a: the stream moved on; its indexes are built beside the load")
            .assert_stderr_contains("table a: the stream came back to it; its indexes come at the end");
        assert_eq!(pg.query(&db, indexes), "a_ix_a_n,a_pkey,a_uq_a_code,b_ix_b_n,b_pkey,b_uq_b_code", "jobs {jobs}");
        assert_eq!(pg.query(&db, keys), "a_pkey:true,b_pkey:true,fk_a:true,fk_b:true", "jobs {jobs}");
        assert_eq!(
            pg.query(&db, "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)"),
            "400|400",
            "jobs {jobs}"
        );

        // A code of the first stretch again: the data goes in and the
        // unique index fails at the end, named, as without early builds.
        let (dup_code, _) = stream(&|i| (i, if i == 350 { "c5".into() } else { format!("c{i}") }));
        let db = pg.fresh_database(&format!("early_dup_code_{jobs}"));
        import("pg-import", &pg.url(&db))
            .args(["--create-tables", "--batch-rows", "100", "--jobs", jobs])
            .stdin_bytes(dup_code)
            .output()
            .assert_code(2)
            .assert_stderr_contains("the data is loaded, but 1 statement(s) after it failed")
            .assert_stderr_contains("a_uq_a_code");
        assert_eq!(pg.query(&db, indexes), "a_ix_a_n,a_pkey,b_ix_b_n,b_pkey,b_uq_b_code", "jobs {jobs}");
        assert_eq!(pg.query(&db, "SELECT count(*) FROM a"), "400", "jobs {jobs}");

        // A key of the first stretch again: refused row by row by the
        // primary key built beside the load, its line named.
        let (dup_key, lines) = stream(&|i| if i == 360 { (5, "d5".into()) } else { (i, format!("c{i}")) });
        let dup_line = lines.iter().find(|(id, _)| *id == 5).map(|(_, l)| *l).unwrap();
        let db = pg.fresh_database(&format!("early_dup_key_{jobs}"));
        let rejects = w.join(format!("dup_key_{jobs}.rej"));
        import("pg-import", &pg.url(&db))
            .args(["--create-tables", "--batch-rows", "100", "--jobs", jobs, "--reject-file"])
            .arg(&rejects)
            .stdin_bytes(dup_key)
            .output()
            .assert_code(1);
        let rej = std::fs::read_to_string(&rejects).unwrap();
        assert_eq!(rej.lines().count(), 1, "jobs {jobs}: {rej}");
        assert!(rej.contains(&format!("\"line\":{dup_line}")), "jobs {jobs}: line {dup_line}: {rej}");
        assert!(rej.to_ascii_lowercase().contains("duplicate key"), "jobs {jobs}: {rej}");
        assert_eq!(pg.query(&db, keys), "a_pkey:true,b_pkey:true,fk_a:true,fk_b:true", "jobs {jobs}");
        assert_eq!(pg.query(&db, "SELECT count(*) FROM a"), "399", "jobs {jobs}");
    }
}
