//! Issue 14: Ctrl-C (SIGINT) and SIGTERM stop a tool cleanly: the unfinished
//! output file is removed, the tool says what was done and how to go on, and
//! exits 130 / 143. Real signals, sent with kill(1) to the real binaries.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use decant_tests::{bin, RedisOptions, Workdir};

const ROWS: &str = "{\"kind\":\"schema\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false}],\"primary_key\":[\"id\"]}\n{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1}}\n{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":2}}\n";

/// Runs `tool ARGS` in `w` with its stdin a pipe that stays open (so the run
/// cannot end by itself), waits until `ready` holds, sends `signal`, and
/// returns (exit code, stderr).
fn interrupt(w: &Workdir, tool: &str, args: &[&str], signal: &str, ready: impl Fn() -> bool) -> (Option<i32>, String) {
    let mut child = Command::new(bin(tool))
        .args(args)
        .current_dir(w.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(ROWS.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "{tool} never got going");
        assert!(child.try_wait().unwrap().is_none(), "{tool} ended before the signal");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn partial_files(w: &Workdir) -> Vec<String> {
    w.path()
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn sigint_removes_the_partial_output_and_exits_130() {
    let w = Workdir::new("signals-int");
    w.write("spec.toml", "[[rule]]\nname = \"x\"\nmatch_table = \"x\"\ndrop = true\n");
    let args = ["--spec", "spec.toml", "--unmatched", "pass", "-o", "out.ndjson"];
    let (code, stderr) = interrupt(&w, "decant-transform", &args, "INT", || !partial_files(&w).is_empty());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("decant-transform: interrupted by SIGINT"), "{stderr}");
    assert!(stderr.contains("Removed the unfinished output") && stderr.contains(".out.ndjson.tmp-"), "{stderr}");
    assert!(partial_files(&w).is_empty(), "left behind: {:?}", partial_files(&w));
    assert!(!w.join("out.ndjson").exists(), "an interrupted run must not leave a complete-looking file");
}

#[test]
fn sigterm_stops_an_import_exits_143_and_says_how_to_resume() {
    let w = Workdir::new("signals-term");
    let db = w.join("t.db");
    std::fs::File::create(&db).unwrap();
    let url = format!("sqlite://{}", db.display());
    // The importer has read its input so far after a moment (it cannot
    // finish: its stdin stays open).
    let args = ["--url", &url, "--create-tables", "--log-format", "json"];
    let begun = Instant::now();
    let (code, stderr) = interrupt(&w, "sqlite-import", &args, "TERM", || begun.elapsed() > Duration::from_millis(500));
    assert_eq!(code, Some(143), "{stderr}");
    let last: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error", "{stderr}");
    let message = last["message"].as_str().unwrap();
    assert!(message.contains("interrupted by SIGTERM"), "{message}");
    assert!(message.contains("--state") && message.contains("--mode skip-existing"), "{message}");
}

/// Ctrl-C in the middle of `redis-export -o FILE` (the exporter itself, not
/// a pipeline after it): the half-written file is removed, nothing that looks
/// like a complete export is left, the message says so, exit 130.
#[test]
fn sigint_mid_redis_export_leaves_no_partial_file_and_exits_130() {
    let w = Workdir::new("signals-redis-export");
    let server = RedisOptions::new().start();
    // Enough keys that the export is still writing when the signal comes.
    let loaded = server.cli([
        "EVAL",
        "for i = 1, 300000 do redis.call('SET', 'session:' .. i, string.rep('x', 200)) end return redis.call('DBSIZE')",
        "0",
    ]);
    assert_eq!(loaded, "300000");
    let mut child = Command::new(bin("redis-export"))
        .args(["--url", &server.url(), "-o", "sessions.ndjson"])
        .current_dir(w.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Until the hidden temporary file holds some records.
    let deadline = Instant::now() + Duration::from_secs(60);
    let started_writing = || {
        w.path().read_dir().unwrap().map(|e| e.unwrap()).any(|e| {
            e.file_name().to_string_lossy().contains(".tmp-") && e.metadata().is_ok_and(|m| m.len() > 64 << 10)
        })
    };
    while !started_writing() {
        assert!(Instant::now() < deadline, "redis-export never started writing");
        assert!(child.try_wait().unwrap().is_none(), "redis-export finished before the signal: too few keys");
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = Command::new("kill").arg("-INT").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("redis-export: interrupted by SIGINT: stopped before the end."), "{stderr}");
    assert!(stderr.contains("Removed the unfinished output") && stderr.contains(".sessions.ndjson.tmp-"), "{stderr}");
    assert!(stderr.contains("nothing complete was written; run the command again"), "{stderr}");
    assert!(partial_files(&w).is_empty(), "left behind: {:?}", partial_files(&w));
    assert!(!w.join("sessions.ndjson").exists(), "an interrupted export must not leave a complete-looking file");
    // The source is untouched by the interrupted export.
    assert_eq!(server.cli(["DBSIZE"]), "300000");
}
