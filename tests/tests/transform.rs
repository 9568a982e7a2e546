//! decant-transform, the binary: rejects, --unmatched, --check, schema lines,
//! split keys, spec errors, help. (The relay pipeline against real servers is
//! in relay_pipeline.rs.)

use decant_tests::{run, Workdir};

const SPEC: &str = r#"
[[schema]]
table = "api_keys"
primary_key = ["id"]
columns = [
  { name = "id", type = "string", max_len = 36, nullable = false },
  { name = "token_limit", type = "int64" },
  { name = "created_at", type = "datetime", precision = 3 },
]

[[rule]]
name = "api_keys"
match = "apikey:{id}"
type = "hash"
to_table = "api_keys"
columns = [
  { name = "id", from = "{id}" },
  { name = "token_limit", from = "tokenLimit" },
  { name = "created_at", from = "createdAt" },
]

[[rule]]
name = "records"
match = "usage:records:{key_id}"
type = "list"
explode = true
to_table = "usage_records"
columns = [
  { name = "key_id", from = "{key_id}" },
  { name = "position", from = "$index" },
  { name = "model", from = "$value", path = "model" },
]
"#;

const GOOD: &str = r#"{"kind":"redis","db":0,"key":"apikey:1","type":"hash","expire_at_ms":null,"value":{"tokenLimit":"1000","createdAt":"2025-01-01T00:00:00.500Z"}}"#;
const BAD: &str = r#"{"kind":"redis","db":0,"key":"apikey:2","type":"hash","expire_at_ms":null,"value":{"tokenLimit":"lots","createdAt":"2025-01-01T00:00:00.000Z"}}"#;
const OTHER: &str =
    r#"{"kind":"redis","db":0,"key":"session:x","type":"string","expire_at_ms":1800000000000,"value":"v"}"#;

fn setup() -> Workdir {
    let wd = Workdir::new("transform");
    wd.write("spec.toml", SPEC);
    wd
}

fn input(lines: &[&str]) -> Vec<u8> {
    let mut s = String::from(r#"{"kind":"header","format":"decant/1","source":"redis://127.0.0.1:1/0","tool":"test"}"#);
    s.push('\n');
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    sealed(&s)
}

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

#[test]
fn writes_header_schema_then_rows_and_seals_the_stream() {
    let wd = setup();
    let out = wd.run("decant-transform").args(["--spec", "spec.toml"]).stdin_bytes(input(&[GOOD])).assert_success();
    let lines = out.stdout_json_lines();
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["header", "schema", "row", "end"], "{out:?}");
    assert_eq!(lines[0]["source"], "redis://127.0.0.1:1/0");
    assert_eq!(lines[1]["table"], "api_keys");
    assert_eq!(lines[2]["data"]["token_limit"], 1000);
    assert_eq!(lines[2]["data"]["created_at"], "2025-01-01T00:00:00.500");
    assert_eq!(lines[3]["records"], 2);
    // The summary names the rule.
    assert!(out.stderr.contains("api_keys"), "{out:?}");

    let out = wd
        .run("decant-transform")
        .args(["--spec", "spec.toml", "--no-schema", "-q"])
        .stdin_bytes(input(&[GOOD]))
        .assert_success();
    assert_eq!(out.stdout_json_lines().len(), 3);
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn a_failed_cast_stops_the_run_naming_key_column_and_value() {
    let wd = setup();
    let out = wd.run("decant-transform").args(["--spec", "spec.toml"]).stdin_bytes(input(&[GOOD, BAD])).output();
    let out = out.assert_code(2);
    assert!(
        out.stderr.contains(
            r#"decant-transform: line 3: rule "api_keys", key "apikey:2", column "token_limit": field "tokenLimit": "lots" is not an integer"#
        ),
        "{out:?}"
    );
    assert!(out.stderr.contains("--reject-file"), "{out:?}");
    // What came before is written, but the stream is not sealed.
    let kinds: Vec<String> = out.stdout_json_lines().iter().map(|l| l["kind"].as_str().unwrap().to_owned()).collect();
    assert!(!kinds.contains(&"end".to_owned()), "{kinds:?}");
}

#[test]
fn a_reject_file_sets_bad_records_aside_and_exits_1() {
    let wd = setup();
    let out = wd
        .run("decant-transform")
        .args(["--spec", "spec.toml", "--reject-file", "rejects.ndjson"])
        .stdin_bytes(input(&[BAD, GOOD, OTHER]))
        .output()
        .assert_code(1);
    let rows: Vec<_> = out.stdout_json_lines().into_iter().filter(|l| l["kind"] == "row").collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["data"]["id"], "1");
    let rejects: Vec<serde_json::Value> =
        wd.read_to_string("rejects.ndjson").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    assert_eq!(rejects[0]["key"], "apikey:2");
    assert_eq!(rejects[0]["rejected"]["line"], 2);
    assert!(rejects[0]["rejected"]["reason"].as_str().unwrap().contains("\"lots\" is not an integer"));
    assert_eq!(rejects[1]["key"], "session:x");
    assert!(rejects[1]["rejected"]["reason"].as_str().unwrap().contains("no rule matches"));
    // A reject line is itself a record: fixed, it can be fed back in.
    let fixed = wd.read_to_string("rejects.ndjson").lines().next().unwrap().replace("lots", "7");
    let out = wd.run("decant-transform").args(["--spec", "spec.toml"]).stdin_bytes(input(&[&fixed])).assert_success();
    assert_eq!(out.stdout_json_lines()[2]["data"]["token_limit"], 7);
}

#[test]
fn unmatched_records_error_by_default_and_can_pass_or_drop() {
    let wd = setup();
    // A function library of a whole-database export: named, with the way out.
    let library = r##"{"kind":"redis_function","library":"mylib","engine":"LUA","code":"#!lua name=mylib"}"##;
    wd.run("decant-transform")
        .args(["--spec", "spec.toml"])
        .stdin_bytes(input(&[library]))
        .output()
        .assert_code(2)
        .assert_stderr_contains(r#"line 2, function library "mylib": no rule takes Redis function libraries (export with redis-export --no-functions"#);
    wd.run("decant-transform")
        .args(["--spec", "spec.toml"])
        .stdin_bytes(input(&[OTHER]))
        .output()
        .assert_code(2)
        .assert_stderr_contains(r#"line 2, key "session:x": no rule matches it"#);

    let out = wd
        .run("decant-transform")
        .args(["--spec", "spec.toml", "--unmatched", "pass"])
        .stdin_bytes(input(&[OTHER, GOOD]))
        .assert_success();
    let lines = out.stdout_json_lines();
    let passed: Vec<_> = lines.iter().filter(|l| l["kind"] == "redis").collect();
    assert_eq!(passed.len(), 1);
    assert_eq!(passed[0]["key"], "session:x");
    assert_eq!(passed[0]["expire_at_ms"], 1_800_000_000_000u64);

    let out = wd
        .run("decant-transform")
        .args(["--spec", "spec.toml", "--unmatched", "drop", "--log-format", "json"])
        .stdin_bytes(input(&[OTHER, GOOD]))
        .assert_success();
    assert!(out.stdout_json_lines().iter().all(|l| l["kind"] != "redis"));
    let summary: Vec<serde_json::Value> = out.stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let unmatched = summary.iter().find(|s| s["group"] == "(unmatched)").expect("an (unmatched) summary line");
    assert_eq!(unmatched["skipped"], 1, "{summary:?}");
}

#[test]
fn split_lists_keep_their_positions() {
    let wd = setup();
    let part0 = r#"{"kind":"redis","db":0,"key":"usage:records:k","type":"list","expire_at_ms":null,"part":0,"value":["{\"model\":\"a\"}","{\"model\":\"b\"}"]}"#;
    let part1 = r#"{"kind":"redis","db":0,"key":"usage:records:k","type":"list","expire_at_ms":null,"part":1,"last":true,"value":["{\"model\":\"c\"}"]}"#;
    let out =
        wd.run("decant-transform").args(["--spec", "spec.toml"]).stdin_bytes(input(&[part0, part1])).assert_success();
    let rows: Vec<(i64, String)> = out
        .stdout_json_lines()
        .iter()
        .filter(|l| l["kind"] == "row")
        .map(|l| (l["data"]["position"].as_i64().unwrap(), l["data"]["model"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(rows, [(0, "a".into()), (1, "b".into()), (2, "c".into())]);

    // A later part whose part 0 never came is an error, not a silent guess.
    wd.run("decant-transform")
        .args(["--spec", "spec.toml"])
        .stdin_bytes(input(&[part1]))
        .output()
        .assert_code(2)
        .assert_stderr_contains("without its part 0");
}

#[test]
fn the_summary_counts_a_dropped_split_key_once() {
    let wd = setup();
    wd.write(
        "drop.toml",
        r#"
[[rule]]
name = "events (dropped)"
match = "billing:events"
type = "stream"
drop = true
"#,
    );
    let part0 = r#"{"kind":"redis","db":0,"key":"billing:events","type":"stream","expire_at_ms":null,"part":0,"value":{"entries":[["1-0",{"data":"a"}]]}}"#;
    let part1 = r#"{"kind":"redis","db":0,"key":"billing:events","type":"stream","expire_at_ms":null,"part":1,"last":true,"value":{"entries":[["2-0",{"data":"b"}]]}}"#;
    let out =
        wd.run("decant-transform").args(["--spec", "drop.toml"]).stdin_bytes(input(&[part0, part1])).assert_success();
    let line = out.stderr.lines().find(|l| l.contains("events (dropped)")).unwrap_or_else(|| panic!("{out:?}"));
    let figures: Vec<&str> = line.split_whitespace().rev().take(3).collect();
    assert_eq!(figures, ["0", "1", "0"], "written, skipped (one key), rejected: {line}");
}

#[test]
fn check_shows_what_each_rule_produces() {
    let wd = setup();
    let out = wd
        .run("decant-transform")
        .args(["--spec", "spec.toml", "--check"])
        .stdin_bytes(input(&[GOOD, BAD, OTHER]))
        .output()
        .assert_code(1);
    let text = out.stdout_str();
    assert!(text.contains("spec spec.toml: valid, 2 rule(s), 1 declared table(s)"), "{text}");
    assert!(text.contains(r#"rule "api_keys": apikey:{id} (hash) → rows of api_keys"#), "{text}");
    assert!(text.contains("matched 2, produced 1, errors 1"), "{text}");
    assert!(text.contains(r#"out: {"kind":"row","table":"api_keys","data":{"id":"1","token_limit":1000"#), "{text}");
    assert!(text.contains("\"lots\" is not an integer"), "{text}");
    assert!(text.contains("unmatched: 1 record(s)"), "{text}");
    assert!(text.contains("1  session:x (string), e.g. session:x"), "{text}");
    assert!(text.contains("check: problems found"), "{text}");

    let out = wd
        .run("decant-transform")
        .args(["--spec", "spec.toml", "--check"])
        .stdin_bytes(input(&[GOOD]))
        .assert_success();
    assert!(out.stdout_str().contains("check: OK"), "{out:?}");
}

#[test]
fn check_names_every_problem_of_a_spec_in_one_pass() {
    let wd = setup();
    let key = |id: &str, fields: &str| {
        format!(
            r#"{{"kind":"redis","db":0,"key":"apikey:{id}","type":"hash","expire_at_ms":null,"value":{{{fields}}}}}"#
        )
    };
    let lines = [
        // Two fields no column maps (one in every key), createdAt missing in one key of four.
        key("1", r#""tokenLimit":"1","createdAt":"2025-01-01T00:00:00Z","name":"a","tags":"[]""#),
        key("2", r#""tokenLimit":"2","createdAt":"2025-01-01T00:00:00Z","name":"b""#),
        key("3", r#""tokenLimit":"3","name":"c""#),
        key("4", r#""tokenLimit":"x","createdAt":"2025-01-01T00:00:00Z","name":"d""#),
        // Keys no rule matches, of two shapes.
        r#"{"kind":"redis","db":0,"key":"rate_limit:cost:9cb36928-da1b-408b-944e-56926f00b16f","type":"string","expire_at_ms":null,"value":"1"}"#.into(),
        r#"{"kind":"redis","db":0,"key":"rate_limit:cost:0ca83446-2b28-456e-9b05-aa6f321af875","type":"string","expire_at_ms":null,"value":"2"}"#.into(),
        r#"{"kind":"redis","db":0,"key":"system:metrics:minute:29443210","type":"hash","expire_at_ms":null,"value":{"a":"1"}}"#.into(),
    ];
    let spec = SPEC.replace(
        r#"  { name = "created_at", from = "createdAt" },
]"#,
        r#"  { name = "created_at", from = "createdAt" },
]
extra_fields = "ignore""#,
    );
    wd.write("ignore.toml", &spec);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    for (spec, unmapped) in [
        ("spec.toml", r#"fields never mapped: "name" (in 4 of 4 (100.0%)), "tags" (in 1 of 4 (25.0%))"#),
        (
            "ignore.toml",
            r#"fields never mapped (dropped: extra_fields = "ignore"): "name" (in 4 of 4 (100.0%)), "tags" (in 1 of 4 (25.0%))"#,
        ),
    ] {
        let out = wd
            .run("decant-transform")
            .args(["--spec", spec, "--check"])
            .stdin_bytes(input(&refs))
            .output()
            .assert_code(1);
        let text = out.stdout_str();
        assert!(text.contains(unmapped), "{text}");
        assert!(text.contains(r#"mapped fields some records lack: "createdAt" (missing in 1 of 4 (25.0%))"#), "{text}");
        assert!(text.contains("unmatched: 3 record(s)"), "{text}");
        assert!(text.contains("2  rate_limit:cost:{uuid} (string), e.g. rate_limit:cost:9cb36928"), "{text}");
        assert!(text.contains("1  system:metrics:minute:{n} (hash), e.g. system:metrics:minute:29443210"), "{text}");
        if spec == "ignore.toml" {
            assert!(
                text.contains(r#"column "token_limit" fails in 1 record(s), e.g. key "apikey:4": field "tokenLimit": "x" is not an integer"#),
                "{text}"
            );
        } else {
            // Every key stops at its unmapped fields, named all at once.
            assert!(text.contains(r#"2 hash fields "name", "tags" are not mapped"#), "{text}");
        }
    }
}

#[test]
fn a_bad_spec_is_a_usage_error_naming_the_rule_and_field() {
    let wd = Workdir::new("transform-bad-spec");
    wd.write(
        "bad.toml",
        "[[rule]]\nname = \"keys\"\nmatch = \"apikey:{id}\"\ntype = \"hash\"\nto_table = \"t\"\ncolumns = [{ name = \"n\", from = \"tokens\", cast = \"int32\" }]\n",
    );
    wd.run("decant-transform")
        .args(["--spec", "bad.toml"])
        .stdin_bytes(input(&[GOOD]))
        .output()
        .assert_code(2)
        .assert_stderr_contains(r#"bad.toml: rule "keys": column "n": unknown cast "int32""#);
    wd.run("decant-transform")
        .args(["--spec", "missing.toml"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("cannot read spec missing.toml");
}

#[test]
fn help_is_the_manual() {
    let out = run("decant-transform").arg("--help").assert_success();
    let text = out.stdout_str();
    for needle in ["--spec", "--unmatched", "--check", "--reject-file", "Examples:", "mysql-import", "Exit status:"] {
        assert!(text.contains(needle), "--help lacks {needle}: {text}");
    }
}
