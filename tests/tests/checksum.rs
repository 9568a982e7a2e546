//! decant-checksum: digests of files, pipes and live stores; the wire format
//! parses back; --check fails on a truncated or altered backup.

use decant_tests::{redis_on, run, ServerKind, Workdir};

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// One group line: digest, count, group.
type Group = (String, u64, String);
/// One input section: status, source, groups.
type Input = (String, String, Vec<Group>);

/// Parses decant-checksum output, one section per input.
fn parse(text: &str) -> Vec<Input> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("# decant-checksum/1"), "{text}");
    let mut inputs: Vec<Input> = Vec::new();
    for line in lines {
        if line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, "  ").collect();
        if is_hex64(parts[0]) {
            assert_eq!(parts.len(), 3, "{line}");
            let count = parts[1].parse().unwrap_or_else(|_| panic!("bad count in {line:?}"));
            assert!(parts[2].starts_with("table:") || parts[2].starts_with("keys:"), "{line}");
            inputs.last_mut().expect("group before input").2.push((parts[0].into(), count, parts[2].into()));
        } else {
            assert!(["sealed", "unsealed", "live", "broken"].contains(&parts[0]), "{line}");
            inputs.push((parts[0].into(), line[parts[0].len() + 2..].into(), Vec::new()));
        }
    }
    inputs
}

fn fill(r: &decant_tests::RedisServer) {
    for i in 0..40 {
        r.cli(["HSET", &format!("apikey:{i}"), "name", &format!("key {i} ✓"), "tokenLimit", &i.to_string()]);
    }
    r.cli(["SADD", "tags:a", "x", "y", "z"]);
    r.cli(["RPUSH", "queue:jobs", "1", "2", "3"]);
    r.cli(["SET", "plain", "value"]);
}

fn backups_are_sealed_and_check_catches_truncation_and_alteration(kind: ServerKind) {
    let r = redis_on(kind);
    fill(&r);
    let w = Workdir::new("checksum-backup");
    w.run("redis-export").args(["--url", &r.url(), "-o", "backup.ndjson"]).output().assert_success();
    w.run("redis-export").args(["--url", &r.url(), "-o", "backup.ndjson.zst"]).output().assert_success();

    let out = w.run("decant-checksum").args(["backup.ndjson", "backup.ndjson.zst"]).output().assert_success();
    let inputs = parse(out.stdout_str());
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0].0, "sealed");
    assert_eq!(inputs[0].1, "backup.ndjson");
    assert_eq!(inputs[1].0, "sealed");
    // The same content digests whatever the compression.
    assert_eq!(inputs[0].2, inputs[1].2);
    let groups: Vec<(&str, u64)> = inputs[0].2.iter().map(|(_, n, g)| (g.as_str(), *n)).collect();
    assert_eq!(groups, [("keys:(no prefix)", 1), ("keys:apikey", 40), ("keys:queue", 1), ("keys:tags", 1)]);
    w.write("backup.b3", out.stdout_str());

    // The live store digests the same.
    let live = run("decant-checksum").arg(r.url()).output().assert_success();
    let live = parse(live.stdout_str());
    assert_eq!(live[0].0, "live");
    assert_eq!(live[0].2, inputs[0].2);

    // Unchanged: OK.
    let ok = w.run("decant-checksum").args(["--check", "backup.b3"]).output().assert_success();
    assert!(ok.stdout_str().contains("backup.ndjson: sealed OK"), "{ok:?}");
    assert!(ok.stdout_str().contains("backup.ndjson keys:apikey: OK"), "{ok:?}");
    let quiet = w.run("decant-checksum").args(["--check", "backup.b3", "--quiet"]).output().assert_success();
    assert!(quiet.stdout.is_empty(), "{quiet:?}");

    // Truncated: the last line (the trailer) lost.
    let full = w.read_to_string("backup.ndjson");
    let cut: String = full.lines().take(full.lines().count() - 1).map(|l| format!("{l}\n")).collect();
    w.write("backup.ndjson", &cut);
    let out = w.run("decant-checksum").args(["--check", "backup.b3"]).output().assert_code(1);
    assert!(out.stdout_str().contains("backup.ndjson: FAILED"), "{out:?}");
    assert!(out.stdout_str().contains("cut short?"), "{out:?}");
    assert!(out.stderr.contains("FAILED"), "{out:?}");
    // ... and it still fails with --quiet; a plain checksum is an error (the
    // header promised a trailer), and says unsealed only with --allow-unsealed.
    w.run("decant-checksum").args(["--check", "backup.b3", "-q"]).output().assert_code(1);
    w.run("decant-checksum").arg("backup.ndjson").output().assert_code(2).assert_stderr_contains("cut short?");
    let plain = w.run("decant-checksum").args(["backup.ndjson", "--allow-unsealed"]).output().assert_success();
    assert_eq!(parse(plain.stdout_str())[0].0, "unsealed");
    w.run("decant-checksum").args(["backup.ndjson", "--allow-unsealed", "--require-sealed"]).output().assert_code(1);

    // Truncated mid-line (rows lost too), at a char boundary: where half the
    // file falls depends on the port's digits, and may be inside a '✓'.
    let mut half = full.len() / 2;
    while !full.is_char_boundary(half) {
        half -= 1;
    }
    w.write("backup.ndjson", &full[..half]);
    w.run("decant-checksum").args(["--check", "backup.b3"]).output().assert_code(1);

    // Altered: one byte of a value changed, trailer intact.
    let altered = full.replacen("key 7 ✓", "key 8 ✓", 1);
    assert_ne!(altered, full);
    w.write("backup.ndjson", &altered);
    let out = w.run("decant-checksum").args(["--check", "backup.b3"]).output().assert_code(1);
    assert!(out.stdout_str().contains("stream digest mismatch"), "{out:?}");
    let plain = w.run("decant-checksum").arg("backup.ndjson").output().assert_code(1);
    assert_eq!(parse(plain.stdout_str())[0].0, "broken");

    // Restored: OK again.
    w.write("backup.ndjson", &full);
    w.run("decant-checksum").args(["--check", "backup.b3"]).output().assert_success();

    // A truncated zstd file.
    let z = w.read("backup.ndjson.zst");
    w.write("backup.ndjson.zst", &z[..z.len() - 10]);
    let out = w.run("decant-checksum").args(["--check", "backup.b3"]).output().assert_code(1);
    assert!(out.stdout_str().contains("backup.ndjson.zst"), "{out:?}");

    // A missing file fails the check, like sha256sum -c.
    std::fs::remove_file(w.join("backup.ndjson.zst")).unwrap();
    w.run("decant-checksum").args(["--check", "backup.b3"]).output().assert_code(1);
}

fn a_changed_store_fails_the_check_with_the_group_named(kind: ServerKind) {
    let r = redis_on(kind);
    fill(&r);
    let out = run("decant-checksum").arg(r.url()).output().assert_success();
    let w = Workdir::new("checksum-live");
    w.write("live.b3", out.stdout_str());
    run("decant-checksum").args(["--check"]).arg(w.join("live.b3")).output().assert_success();
    r.cli(["HSET", "apikey:3", "tokenLimit", "999"]);
    r.cli(["DEL", "tags:a"]);
    let out = run("decant-checksum").args(["--check"]).arg(w.join("live.b3")).output().assert_code(1);
    assert!(out.stdout_str().contains("keys:apikey: FAILED: content digest differs"), "{out:?}");
    assert!(out.stdout_str().contains("keys:tags: FAILED: missing"), "{out:?}");
    assert!(out.stdout_str().contains("keys:queue: OK"), "{out:?}");
}

#[test]
fn options_are_recorded_and_reused_by_check() {
    let w = Workdir::new("checksum-options");
    w.write(
        "t.ndjson",
        concat!(
            r#"{"kind":"schema","table":"t","columns":[{"name":"id","type":"int64"},{"name":"at","type":"datetime","precision":6}],"primary_key":["id"]}"#,
            "\n",
            r#"{"kind":"row","table":"t","data":{"id":1,"at":"2025-01-01T09:30:00.123456"}}"#,
            "\n"
        ),
    );
    let out = w.run("decant-checksum").args(["t.ndjson", "--time-precision", "3"]).output().assert_success();
    assert!(out.stdout_str().contains("# options: --time-precision=3"), "{out:?}");
    w.write("t.b3", out.stdout_str());
    // The same data at millisecond precision checks OK under the recorded option.
    w.write(
        "t.ndjson",
        concat!(
            r#"{"kind":"schema","table":"t","columns":[{"name":"id","type":"int64"},{"name":"at","type":"datetime","precision":3}],"primary_key":["id"]}"#,
            "\n",
            r#"{"kind":"row","table":"t","data":{"id":1,"at":"2025-01-01T09:30:00.123"}}"#,
            "\n"
        ),
    );
    w.run("decant-checksum").args(["--check", "t.b3"]).output().assert_success();
    // A different order of rows digests the same; a stdin pipe is "unsealed  -".
    let piped = w.run("decant-checksum").stdin_file(w.join("t.ndjson")).output().assert_success();
    assert!(piped.stdout_str().contains("\nunsealed  -\n"), "{piped:?}");
    // Not a checksum file: exit 2 with the line.
    w.write("bad.b3", "hello\n");
    w.run("decant-checksum").args(["--check", "bad.b3"]).output().assert_code(2).assert_stderr_contains("line 1");
}

/// Issue 12: a `time` beyond what i64 seconds hold is never wrapped into
/// another time (it once panicked in debug builds, and two times 2^60 hours
/// apart digested alike in release): checksum, diff and verify all see the
/// two files differ.
#[test]
fn times_beyond_the_range_are_never_wrapped() {
    let w = Workdir::new("checksum-huge-time");
    let file = |hours: &str| {
        format!(
            "{{\"kind\":\"schema\",\"table\":\"t\",\"columns\":[{{\"name\":\"id\",\"type\":\"int32\"}},{{\"name\":\"d\",\"type\":\"time\"}}],\"primary_key\":[\"id\"]}}\n\
             {{\"kind\":\"row\",\"table\":\"t\",\"data\":{{\"id\":1,\"d\":\"{hours}:00:00\"}}}}\n"
        )
    };
    // 2^60 hours apart.
    let (a, b) = (99_999_999_999_999_999_999u128, 99_999_999_999_999_999_999u128 - (1u128 << 60));
    w.write("a.ndjson", file(&a.to_string()));
    w.write("b.ndjson", file(&b.to_string()));
    let out = w.run("decant-checksum").args(["a.ndjson", "b.ndjson"]).output().assert_success();
    let inputs = parse(out.stdout_str());
    assert_eq!(inputs.len(), 2, "{inputs:?}");
    assert_ne!(inputs[0].2[0].0, inputs[1].2[0].0, "{inputs:?}");
    let diff = w.run("decant-diff").args(["a.ndjson", "b.ndjson"]).output().assert_code(1);
    assert!(diff.stdout_str().contains(r#""fields":["d"]"#), "{diff:?}");
    w.run("decant-verify").args(["--left", "a.ndjson", "--right", "b.ndjson"]).output().assert_code(1);
}

decant_tests::on_both_servers!(
    backups_are_sealed_and_check_catches_truncation_and_alteration,
    a_changed_store_fails_the_check_with_the_group_named,
);
