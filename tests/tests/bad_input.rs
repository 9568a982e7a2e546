//! Issue 14: no quiet exit 0 on input that did not arrive. Every reading tool
//! (the four importers, decant-transform, decant-checksum, decant-verify,
//! decant-diff) fails with a message on input that is not a decant stream
//! (a CSV, an SQL dump, `seq` output) and on a stream whose header promises a
//! trailer that is missing (cut short); `--allow-unsealed` reads the latter.

use decant_record::{Record, RecordWriter};
use decant_tests::{mariadb, postgres, redis, Output, RedisServer, Workdir};

const FOREIGN: &[(&str, &str)] = &[
    ("seq.txt", "1\n2\n3\n4\n5\n"),
    ("users.csv", "id,email\n1,a@example.com\n2,b@example.com\n"),
    (
        "dump.sql",
        "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nCREATE TABLE users (id integer);\n",
    ),
];

const SCHEMA: &str = r#"{"kind":"schema","table":"users","columns":[{"name":"id","type":"int64","nullable":false},{"name":"email","type":"string","max_len":100}],"primary_key":["id"]}"#;

/// A sealed stream: header, schema, `n` rows, end.
fn sealed_users(n: u32) -> Vec<u8> {
    let rows = (1..=n).map(|id| format!(r#"{{"kind":"row","table":"users","data":{{"id":{id},"email":"u{id}@x"}}}}"#));
    sealed(std::iter::once(SCHEMA.to_owned()).chain(rows))
}

/// A sealed stream of `n` Redis keys, for redis-import.
fn sealed_keys(n: u32) -> Vec<u8> {
    sealed((1..=n).map(|i| format!(r#"{{"kind":"redis","db":0,"key":"k:{i}","type":"string","value":"v{i}"}}"#)))
}

fn sealed(lines: impl Iterator<Item = String>) -> Vec<u8> {
    let mut w = RecordWriter::new(Vec::new());
    let header = br#"{"kind":"header","format":"decant/1","source":"test","tool":"bad_input"}"#;
    w.write(&Record::decode(header).unwrap()).unwrap();
    for line in lines {
        w.write_raw(line.as_bytes()).unwrap();
    }
    w.finish().unwrap()
}

/// The stream without its last line (the trailer): a backup cut at a line boundary.
fn cut_short(stream: &[u8]) -> Vec<u8> {
    let body = &stream[..stream.len() - 1];
    stream[..body.iter().rposition(|&b| b == b'\n').unwrap() + 1].to_vec()
}

const SPEC: &str = "[[rule]]\nname = \"other\"\nmatch_table = \"other\"\ndrop = true\n";

/// Every reading tool, as (name, arguments) reading FILE (a placeholder).
fn readers(w: &Workdir, r: &RedisServer) -> Vec<(&'static str, Vec<String>)> {
    let pg = postgres();
    let pg_db = pg.fresh_database("bad_input");
    let my = mariadb();
    let my_db = my.fresh_database("bad_input");
    let sqlite = w.join("target.db");
    std::fs::File::create(&sqlite).unwrap();
    w.write("spec.toml", SPEC);
    w.write("whole.ndjson", sealed_users(3));
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        ("pg-import", s(&["--url", &pg.url(&pg_db), "--create-tables", "-i", "FILE"])),
        ("mysql-import", s(&["--url", &my.url(&my_db), "--create-tables", "-i", "FILE"])),
        ("sqlite-import", s(&["--url", &format!("sqlite://{}", sqlite.display()), "--create-tables", "-i", "FILE"])),
        ("redis-import", s(&["--url", &r.url(), "-i", "redis-FILE"])),
        ("decant-transform", s(&["--spec", "spec.toml", "--unmatched", "pass", "-i", "FILE"])),
        ("decant-checksum", s(&["FILE"])),
        ("decant-verify", s(&["--left", "FILE", "--right", "whole.ndjson"])),
        ("decant-diff", s(&["FILE", "whole.ndjson"])),
    ]
}

fn run_on(w: &Workdir, tool: &str, args: &[String], file: &str, extra: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.replace("FILE", file)).collect();
    w.run(tool).args(&args).args(extra).output()
}

#[test]
fn foreign_input_is_an_error_at_line_1_for_every_reader() {
    let w = Workdir::new("bad-input-foreign");
    let r = redis();
    let tools = readers(&w, &r);
    for (file, text) in FOREIGN {
        w.write(file, text);
        w.write(format!("redis-{file}"), text);
        for (tool, args) in &tools {
            let out = run_on(&w, tool, args, file, &[]);
            assert_eq!(out.code(), Some(2), "{tool} on {file}: {out:?}");
            assert!(out.stderr.contains("line 1: not a decant stream"), "{tool} on {file}: {out:?}");
            assert!(out.stderr.starts_with(&format!("{tool}: ")), "{tool} on {file}: {out:?}");
        }
    }
}

#[test]
fn a_stream_cut_short_is_an_error_for_every_reader_unless_allowed() {
    let w = Workdir::new("bad-input-cut");
    let r = redis();
    let tools = readers(&w, &r);
    w.write("cut.ndjson", cut_short(&sealed_users(3)));
    w.write("redis-cut.ndjson", cut_short(&sealed_keys(3)));
    for (tool, args) in &tools {
        let out = run_on(&w, tool, args, "cut.ndjson", &[]);
        assert_eq!(out.code(), Some(2), "{tool}: {out:?}");
        assert!(out.stderr.contains("the stream ends without its trailer: cut short?"), "{tool}: {out:?}");
        assert!(out.stderr.contains("--allow-unsealed"), "{tool}: {out:?}");
    }
    // With --allow-unsealed the records that are there are read. (verify and
    // diff then find the missing... nothing: only the trailer was cut.)
    for (tool, args) in &tools {
        let out = run_on(&w, tool, args, "cut.ndjson", &["--allow-unsealed"]);
        assert_eq!(out.code(), Some(0), "{tool} --allow-unsealed: {out:?}");
    }
    // A stream without a header stays accepted as unsealed.
    let headerless: Vec<u8> =
        sealed_users(2).split_inclusive(|&b| b == b'\n').skip(1).take(3).flatten().copied().collect();
    w.write("headerless.ndjson", headerless);
    let out = w.run("decant-checksum").arg("headerless.ndjson").output().assert_success();
    assert!(out.stdout_str().contains("unsealed  headerless.ndjson"), "{out:?}");
}

/// A 0-byte input is not a decant stream (every tool writes a header and a
/// trailer even for no records): a backup cut before its first line, or an
/// export that never started. The same rule as a cut-short stream.
#[test]
fn an_empty_input_is_an_error_for_every_reader_unless_allowed() {
    let w = Workdir::new("bad-input-empty");
    let r = redis();
    let tools = readers(&w, &r);
    w.write("empty.ndjson", "");
    w.write("redis-empty.ndjson", "");
    for (tool, args) in &tools {
        let out = run_on(&w, tool, args, "empty.ndjson", &[]);
        assert_eq!(out.code(), Some(2), "{tool}: {out:?}");
        assert!(out.stderr.contains("empty input: no header; a cut-short stream?"), "{tool}: {out:?}");
        assert!(out.stderr.contains("--allow-unsealed"), "{tool}: {out:?}");
        assert!(out.stderr.starts_with(&format!("{tool}: ")), "{tool}: {out:?}");
    }
    // Standard input too (`cat missing-backup | mysql-import …`).
    let out = w.run("decant-checksum").arg("-").stdin_bytes(Vec::new()).output();
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("empty input"), "{out:?}");
    for (tool, args) in &tools {
        let out = run_on(&w, tool, args, "empty.ndjson", &["--allow-unsealed"]);
        // Read as no records: verify and diff then find B's three users missing from A.
        let expected = if ["decant-verify", "decant-diff"].contains(tool) { 1 } else { 0 };
        assert_eq!(out.code(), Some(expected), "{tool} --allow-unsealed: {out:?}");
        assert!(!out.stderr.contains("empty input"), "{tool} --allow-unsealed: {out:?}");
    }
}

#[test]
fn line_caps_out_of_range_are_usage_errors() {
    let w = Workdir::new("bad-input-caps");
    w.write("whole.ndjson", sealed_users(2));
    for tool in ["decant-checksum", "decant-transform", "sqlite-import"] {
        for cap in ["18446744073709551615", "0", "-5", "lots"] {
            let out = w.run(tool).arg(format!("--max-line-bytes={cap}")).arg("whole.ndjson").output();
            assert_eq!(out.code(), Some(2), "{tool} {cap}: {out:?}");
            assert!(out.stderr.contains("--max-line-bytes"), "{tool} {cap}: {out:?}");
        }
    }
    // The largest accepted cap reads a normal stream.
    w.run("decant-checksum").args(["--max-line-bytes", "4294967296", "whole.ndjson"]).output().assert_success();
}

#[test]
fn a_rerun_that_meets_its_own_rows_says_how_to_go_on() {
    let w = Workdir::new("bad-input-rerun");
    w.write("users.ndjson", sealed_users(3));
    let pg = postgres();
    let db = pg.fresh_database("rerun");
    let url = pg.url(&db);
    w.run("pg-import").args(["--url", &url, "--create-tables", "-i", "users.ndjson"]).output().assert_success();
    // The same import again, as after a run that was cut off without --state.
    let out = w.run("pg-import").args(["--url", &url, "--create-tables", "-i", "users.ndjson"]).output();
    assert_eq!(out.code(), Some(2), "{out:?}");
    for hint in ["--mode skip-existing", "--truncate", "--state"] {
        assert!(out.stderr.contains(hint), "{hint}: {out:?}");
    }
    // ... and what it suggests works.
    w.run("pg-import").args(["--url", &url, "--mode", "skip-existing", "-i", "users.ndjson"]).output().assert_success();
}
