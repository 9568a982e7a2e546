//! Issue 14: under `--log-format json` every stderr line of every tool is a
//! JSON object with a timestamp and a level: progress, summaries, reports,
//! warnings and errors alike, usage errors included.

use decant_tests::{redis, Output, Workdir};

/// Every stderr line parses as a JSON object with `ts` and `level`; returns them.
fn json_lines(what: &str, out: &Output) -> Vec<serde_json::Value> {
    assert!(!out.stderr.trim().is_empty(), "{what}: nothing on stderr: {out:?}");
    out.stderr
        .lines()
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line:?}\n{out:?}"));
            assert!(v.is_object(), "{what}: {line}");
            let ts = v["ts"].as_str().unwrap_or_else(|| panic!("{what}: no ts: {line}"));
            assert!(ts.len() >= 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{what}: ts {ts}");
            assert!(["info", "warn", "error"].contains(&v["level"].as_str().unwrap_or("")), "{what}: level: {line}");
            v
        })
        .collect()
}

#[test]
fn every_stderr_line_of_every_tool_is_json() {
    let r = redis();
    r.cli(["SET", "k:1", "v"]);
    let w = Workdir::new("json-logs");
    w.write("seq.txt", "1\n2\n");
    let db = w.join("t.db");
    std::fs::File::create(&db).unwrap();
    let sqlite = format!("sqlite://{}", db.display());
    w.write(
        "rows.ndjson",
        "{\"kind\":\"schema\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false}],\"primary_key\":[\"id\"]}\n{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1}}\n",
    );
    w.write("other.ndjson", "{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":2}}\n");
    w.write("spec.toml", "[[rule]]\nname = \"x\"\nmatch_table = \"x\"\ndrop = true\n");
    let pg_dead = "postgres://app@127.0.0.1:1/db";
    let my_dead = "mysql://app@127.0.0.1:1/db";
    let redis_url = r.url();
    // (tool, arguments, expected exit code)
    let runs: Vec<(&str, Vec<&str>, i32)> = vec![
        // Successes, with summaries and reports.
        ("sqlite-import", vec!["--url", &sqlite, "--create-tables", "-i", "rows.ndjson", "--progress"], 0),
        ("sqlite-export", vec!["--url", &sqlite, "-o", "back.ndjson", "--progress"], 0),
        ("redis-export", vec!["--url", &redis_url, "-o", "keys.ndjson", "--progress"], 0),
        ("redis-import", vec!["--url", &redis_url, "-i", "keys.ndjson", "--mode", "replace", "--yes"], 0),
        ("decant-transform", vec!["--spec", "spec.toml", "--unmatched", "pass", "-i", "rows.ndjson"], 0),
        ("decant-verify", vec!["--left", "rows.ndjson", "--right", "rows.ndjson"], 0),
        // Failures: differences, warnings and the whole report.
        ("decant-verify", vec!["--left", "rows.ndjson", "--right", "other.ndjson"], 1),
        ("decant-diff", vec!["rows.ndjson", "other.ndjson", "--key", "id"], 1),
        // Errors: foreign input, dead servers, usage errors.
        ("decant-checksum", vec!["seq.txt"], 2),
        ("decant-diff", vec!["seq.txt", "rows.ndjson"], 2),
        ("pg-export", vec!["--url", pg_dead], 2),
        ("pg-import", vec!["--url", pg_dead, "-i", "rows.ndjson"], 2),
        ("mysql-export", vec!["--url", my_dead], 2),
        ("mysql-import", vec!["--url", my_dead, "-i", "rows.ndjson"], 2),
        ("sqlite-import", vec!["--url", &sqlite, "-i", "seq.txt"], 2),
        ("decant-transform", vec!["--spec", "spec.toml", "-i", "seq.txt"], 2),
        ("redis-import", vec!["--url", &redis_url, "--no-such-flag"], 2),
        ("decant-checksum", vec!["--no-such-flag"], 2),
    ];
    for (tool, args, code) in runs {
        let out = w.run(tool).args(&args).args(["--log-format", "json"]).output();
        let what = format!("{tool} {}", args.join(" "));
        assert_eq!(out.code(), Some(code), "{what}: {out:?}");
        let lines = json_lines(&what, &out);
        if code == 2 {
            assert!(lines.iter().any(|l| l["level"] == "error"), "{what}: no error line: {out:?}");
        }
    }
    // decant-checksum's summary-less success says nothing; its --check failure is JSON.
    let sums = w.run("decant-checksum").args(["rows.ndjson", "-o", "rows.b3"]).output().assert_success();
    assert!(sums.stderr.is_empty(), "{sums:?}");
    w.write("rows.ndjson", "{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":3}}\n");
    let out = w.run("decant-checksum").args(["--check", "rows.b3", "--log-format", "json"]).output().assert_code(1);
    json_lines("decant-checksum --check", &out);
}

/// `name{tool="…"} value` lines of a metrics file, by name.
fn metrics(w: &Workdir, file: &str, tool: &str) -> std::collections::BTreeMap<String, f64> {
    let text = w.read_to_string(file);
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            assert!(rest.ends_with(" gauge"), "{file}: {line}");
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.split_once(' ').unwrap_or_else(|| panic!("{file}: {line:?}"));
        // The checkers add labels after tool (per table): `name{tool="…",group="…"}`.
        let labelled = |(name, labels): (&str, &str)| {
            let rest = labels.strip_prefix(&format!("tool=\"{tool}\""))?.strip_suffix('}')?;
            Some(match rest.strip_prefix(',') {
                Some(extra) => format!("{name}{{{extra}}}"),
                None if rest.is_empty() => name.to_owned(),
                None => return None,
            })
        };
        let name = series
            .split_once('{')
            .and_then(labelled)
            .unwrap_or_else(|| panic!("{file}: {line:?} is not labelled tool={tool}"));
        out.insert(name, value.parse().unwrap_or_else(|_| panic!("{file}: {line:?}")));
    }
    for name in ["decant_records", "decant_rejects", "decant_errors", "decant_bytes_read", "decant_duration_seconds"] {
        assert!(out.contains_key(name), "{file}: no {name}:\n{text}");
    }
    assert!(!w.path().read_dir().unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains(".tmp-")));
    out
}

#[test]
fn every_tool_writes_a_prometheus_metrics_file() {
    let r = redis();
    r.cli(["SET", "k:1", "v"]);
    let w = Workdir::new("metrics");
    let db = w.join("t.db");
    std::fs::File::create(&db).unwrap();
    let sqlite = format!("sqlite://{}", db.display());
    w.write(
        "rows.ndjson",
        "{\"kind\":\"schema\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false}],\"primary_key\":[\"id\"]}\n{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1}}\n{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":2}}\n",
    );
    w.write("spec.toml", "[[rule]]\nname = \"x\"\nmatch_table = \"x\"\ndrop = true\n");
    let url = r.url();
    let runs: Vec<(&str, Vec<&str>, i32)> = vec![
        ("sqlite-import", vec!["--url", &sqlite, "--create-tables", "-i", "rows.ndjson"], 0),
        ("sqlite-export", vec!["--url", &sqlite, "-o", "back.ndjson"], 0),
        ("redis-export", vec!["--url", &url, "-o", "keys.ndjson"], 0),
        ("redis-import", vec!["--url", &url, "-i", "keys.ndjson", "--mode", "replace", "--yes"], 0),
        (
            "decant-transform",
            vec!["--spec", "spec.toml", "--unmatched", "pass", "-i", "rows.ndjson", "-o", "t.ndjson"],
            0,
        ),
        ("decant-checksum", vec!["rows.ndjson"], 0),
        ("decant-verify", vec!["--left", "rows.ndjson", "--right", "back.ndjson", "--key", "id"], 0),
        ("decant-diff", vec!["rows.ndjson", "back.ndjson", "--key", "id"], 0),
        ("pg-export", vec!["--url", "postgres://app@127.0.0.1:1/db"], 2),
        ("mysql-export", vec!["--url", "mysql://app@127.0.0.1:1/db"], 2),
        ("pg-import", vec!["--url", "postgres://app@127.0.0.1:1/db", "-i", "rows.ndjson"], 2),
        ("mysql-import", vec!["--url", "mysql://app@127.0.0.1:1/db", "-i", "rows.ndjson"], 2),
    ];
    for (tool, args, code) in runs {
        let file = format!("{tool}.prom");
        w.run(tool).args(&args).args(["--metrics-file", &file]).output().assert_code(code);
        let m = metrics(&w, &file, tool);
        assert_eq!(m["decant_exit_status"], f64::from(code), "{tool}");
        assert_eq!(m["decant_errors"], if code == 2 { 1.0 } else { 0.0 }, "{tool}");
        assert_eq!(m.contains_key("decant_last_success_timestamp_seconds"), code == 0, "{tool}");
    }
    // The checkers' figures per table.
    for checker in ["decant-verify", "decant-diff"] {
        let m = metrics(&w, &format!("{checker}.prom"), checker);
        assert_eq!(m["decant_check_records_compared{group=\"table:t\"}"], 2.0, "{checker}: {m:?}");
        assert_eq!(m["decant_check_mismatches_confirmed{group=\"table:t\"}"], 0.0, "{checker}: {m:?}");
        assert_eq!(m["decant_check_mismatch_ratio{group=\"table:t\"}"], 0.0, "{checker}: {m:?}");
    }
    let import = metrics(&w, "sqlite-import.prom", "sqlite-import");
    assert_eq!(import["decant_records"], 2.0);
    assert!(import["decant_bytes_read"] > 100.0, "{import:?}");
    let export = metrics(&w, "sqlite-export.prom", "sqlite-export");
    assert_eq!(export["decant_records"], 2.0);
    assert!(export["decant_bytes_written"] > 100.0, "{export:?}");
    // A failed run keeps the time of the last success.
    let before = import["decant_last_success_timestamp_seconds"];
    w.write("seq.txt", "1\n");
    w.run("sqlite-import")
        .args(["--url", &sqlite, "-i", "seq.txt", "--metrics-file", "sqlite-import.prom"])
        .output()
        .assert_code(2);
    let failed = metrics(&w, "sqlite-import.prom", "sqlite-import");
    assert_eq!(failed["decant_errors"], 1.0);
    assert_eq!(failed["decant_last_success_timestamp_seconds"], before);
}
