//! Validating two live stores (issue 16): decant-verify while a dual-write
//! application keeps writing to MariaDB and PostgreSQL (`--settle`), the
//! `--since` runs that read only the changed rows (and find a delete by the
//! key-only comparison, and keep their watermark when a run fails), the
//! catch-up sync through `mysql-export --since | pg-import --mode upsert`,
//! and the checkers' `--metrics-file` read back by the Prometheus text
//! parser of PyPI's prometheus_client.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use decant_tests::{mariadb, postgres, MariaDb, Output, Postgres, Workdir};
use serde_json::Value;

const MY_TABLE: &str = "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, qty INT NOT NULL, updated_at DATETIME(6) NOT NULL)";
const PG_TABLE: &str = "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, qty INT NOT NULL, updated_at TIMESTAMP(6) NOT NULL)";

/// The same rows in both databases: `ids` at `at`.
fn seed(my: &MariaDb, mdb: &str, pg: &Postgres, pdb: &str, ids: std::ops::RangeInclusive<i64>, at: &str) {
    let values: Vec<String> = ids.map(|i| format!("({i}, 'item {i}', {}, '{at}')", i % 17)).collect();
    let sql = format!("INSERT INTO items VALUES {};", values.join(", "));
    my.query(mdb, &sql);
    pg.query(pdb, &sql);
}

fn pair(prefix: &str) -> (&'static MariaDb, String, &'static Postgres, String) {
    let (my, pg) = (mariadb(), postgres());
    let (mdb, pdb) = (my.fresh_database(prefix), pg.fresh_database(prefix));
    my.query(&mdb, MY_TABLE);
    pg.query(&pdb, PG_TABLE);
    (my, mdb, pg, pdb)
}

/// A dual-write application: every write goes to MariaDB, then a few
/// milliseconds later to PostgreSQL, through one long-lived client session
/// per database (statements piped to `mariadb` and `psql`). Bounded in
/// count and time.
struct DualWriter {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<u64, String>>,
}

impl DualWriter {
    fn start(my: &MariaDb, mdb: &str, pg: &Postgres, pdb: &str, ids: i64, max_ops: u64, max_time: Duration) -> Self {
        let spawn = |mut cmd: std::process::Command| -> Child {
            cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("client starts")
        };
        let mut my_client = spawn(my.client_command(mdb));
        let mut pg_client = spawn(pg.psql_command(pdb));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let (mut my_in, mut pg_in) = (my_client.stdin.take().unwrap(), pg_client.stdin.take().unwrap());
            // Which ids exist, as the application knows (ids 1..=ids start present).
            let mut present: HashMap<i64, bool> = (1..=ids).map(|i| (i, true)).collect();
            let mut rng = 0x9E37_79B9_7F4A_7C15u64;
            let started = Instant::now();
            let mut ops = 0u64;
            while !flag.load(Ordering::Relaxed) && ops < max_ops && started.elapsed() < max_time {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let id = (rng % ids as u64) as i64 + 1;
                // A clock of its own: every write a later updated_at.
                let at = format!("2026-12-01 {:02}:{:02}:{:02}", ops / 3600 % 24, ops / 60 % 60, ops % 60);
                let exists = present.get(&id).copied().unwrap_or(false);
                let sql = match (exists, rng >> 60) {
                    (false, _) => format!("INSERT INTO items VALUES ({id}, 'new {ops}', {}, '{at}');\n", ops % 100),
                    (true, 0..=2) => format!("DELETE FROM items WHERE id = {id};\n"),
                    (true, _) => format!(
                        "UPDATE items SET qty = qty + 1, name = 'upd {ops}', updated_at = '{at}' WHERE id = {id};\n"
                    ),
                };
                present.insert(id, !sql.starts_with("DELETE"));
                my_in.write_all(sql.as_bytes()).and_then(|()| my_in.flush()).map_err(|e| format!("mariadb: {e}"))?;
                std::thread::sleep(Duration::from_millis(3));
                pg_in.write_all(sql.as_bytes()).and_then(|()| pg_in.flush()).map_err(|e| format!("psql: {e}"))?;
                std::thread::sleep(Duration::from_millis(12));
                ops += 1;
            }
            drop((my_in, pg_in));
            for (name, child) in [("mariadb", my_client), ("psql", pg_client)] {
                let out = child.wait_with_output().map_err(|e| e.to_string())?;
                if !out.status.success() {
                    return Err(format!("{name}: {}", String::from_utf8_lossy(&out.stderr)));
                }
            }
            Ok(ops)
        });
        DualWriter { stop, handle }
    }

    /// Stops the writer; its number of dual writes.
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("writer thread").unwrap_or_else(|e| panic!("the writer failed: {e}"))
    }
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report is not JSON ({e}): {out:?}"))
}

fn items(r: &Value) -> &Value {
    r["groups"].as_array().unwrap().iter().find(|g| g["group"] == "table:items").unwrap_or_else(|| panic!("{r}"))
}

fn confirmed(g: &Value) -> u64 {
    ["added", "removed", "changed"].iter().map(|k| g[k].as_u64().unwrap()).sum()
}

/// The samples of a metrics file as the Prometheus text parser reads them:
/// `name{label=value,…}` → value.
fn parse_metrics(w: &Workdir, file: &str) -> HashMap<String, f64> {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()) if k != "tool")
        out[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(out))
"#;
    let out =
        std::process::Command::new(&python).arg("-c").arg(script).arg(w.join(file)).output().unwrap_or_else(|e| {
            panic!("cannot run {} ({e}): scripts/test.sh installs prometheus_client into .venv/", python.display())
        });
    assert!(
        out.status.success(),
        "the Prometheus parser rejected {file} (or prometheus_client is missing: .venv/bin/pip install prometheus_client): {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        w.read_to_string(file)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn dual_writes_in_flight_settle_and_a_planted_mismatch_is_confirmed_every_time() {
    let (my, mdb, pg, pdb) = pair("live_settle");
    seed(my, &mdb, pg, &pdb, 1..=150, "2026-01-01 00:00:00");
    // Rows the writer never touches, for the planted mismatch.
    seed(my, &mdb, pg, &pdb, 10_001..=10_002, "2026-01-01 00:00:00");
    let w = Workdir::new("live-settle");
    let verify = |extra: &[&str]| {
        w.run("decant-verify")
            .args(["--left", &my.url(&mdb), "--right", &pg.url(&pdb), "--settle", "2s", "--json"])
            .args(extra)
            .output()
    };
    let writer = DualWriter::start(my, &mdb, pg, &pdb, 180, 20_000, Duration::from_secs(240));
    let mut transient = 0;
    for run in 0..10 {
        let out = verify(&[]);
        let r = report(&out);
        let g = items(&r);
        assert_eq!(
            (out.code(), confirmed(g)),
            (Some(0), 0),
            "run {run}: writes in flight reported as mismatches: {r}\n{}",
            out.stderr
        );
        transient += g["transient"].as_u64().unwrap();
    }
    eprintln!("10 runs under dual writes: {transient} transient difference(s), none confirmed");
    // The writes were really seen in flight (else this proved nothing).
    assert!(transient > 0, "no write was ever caught in flight: the writer is too slow to test --settle");

    // A write that reached one side only, and one that reached the other
    // side differently: found every time, while the writer goes on.
    my.query(&mdb, "INSERT INTO items VALUES (10003, 'only in A', 1, '2026-01-01 00:00:00')");
    pg.query(&pdb, "UPDATE items SET qty = 99 WHERE id = 10002");
    for run in 0..3 {
        let out = verify(&["--metrics-file", "verify.prom"]);
        let r = report(&out);
        assert_eq!(out.code(), Some(1), "run {run}: {r}\n{}", out.stderr);
        let g = items(&r);
        assert_eq!(
            (g["removed"].as_u64(), g["changed"].as_u64(), g["added"].as_u64()),
            (Some(1), Some(1), Some(0)),
            "run {run}: {r}"
        );
        assert!(g["transient"].is_u64(), "the transient count is reported apart: {g}");
        let mut listed: Vec<(String, Value, Value)> = r["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["op"].as_str().unwrap().to_owned(), m["key"].clone(), m["fields"].clone()))
            .collect();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            listed,
            vec![
                ("changed".to_owned(), serde_json::json!({"id": 10002}), serde_json::json!(["qty"])),
                ("removed".to_owned(), serde_json::json!({"id": 10003}), serde_json::json!([])),
            ],
            "run {run}: {r}"
        );
    }
    let ops = writer.finish();
    assert!(ops >= 100, "the writer wrote only {ops} times while the checks ran");

    // The metrics of the last (failed) run, as node_exporter would read them.
    let m = parse_metrics(&w, "verify.prom");
    let compared = m["decant_check_records_compared{group=table:items}"];
    // 150 seeded rows, less the writer's deletes, plus its inserts: the
    // figure moves with the writer, the ratio below must match it exactly.
    assert!(compared >= 100.0, "{m:?}");
    assert_eq!(m["decant_check_mismatches_confirmed{group=table:items}"], 2.0, "{m:?}");
    assert!(m.contains_key("decant_check_mismatches_transient{group=table:items}"), "{m:?}");
    assert!((m["decant_check_mismatch_ratio{group=table:items}"] - 2.0 / compared).abs() < 1e-9, "{m:?}");
    assert_eq!(m["decant_exit_status{}"], 1.0, "{m:?}");
    assert!(m["decant_duration_seconds{}"] > 0.0, "{m:?}");
    assert!(!m.contains_key("decant_last_success_timestamp_seconds{}"), "no run has passed yet: {m:?}");

    // Mended, at rest: passes, and the last success time is there.
    pg.query(&pdb, "UPDATE items SET qty = 10002 % 17 WHERE id = 10002; INSERT INTO items SELECT 10003, 'only in A', 1, '2026-01-01 00:00:00'");
    let out = verify(&["--metrics-file", "verify.prom"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let m = parse_metrics(&w, "verify.prom");
    assert_eq!(m["decant_check_mismatches_confirmed{group=table:items}"], 0.0, "{m:?}");
    assert!(m["decant_last_success_timestamp_seconds{}"] > 1.7e9, "{m:?}");
}

#[test]
fn since_runs_read_only_changed_rows_find_a_delete_and_keep_the_watermark_when_they_fail() {
    let (my, mdb, pg, pdb) = pair("live_since");
    seed(my, &mdb, pg, &pdb, 1..=400, "2026-01-01 00:00:00");
    seed(my, &mdb, pg, &pdb, 401..=401, "2026-01-01 12:00:00");
    let w = Workdir::new("live-since");
    let verify = |right: &str| {
        w.run("decant-verify")
            .args(["--left", &my.url(&mdb), "--right", right, "--since", "updated_at", "--state", "v.json"])
            .args(["--settle", "0", "--json"])
            .output()
    };
    let rows_read = |out: &Output| {
        let r = report(out);
        let g = items(&r).clone();
        (g["left"].as_u64().unwrap(), g["right"].as_u64().unwrap())
    };

    // First run: no state, everything read; the watermark is the newest row.
    let out = verify(&pg.url(&pdb));
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(rows_read(&out), (401, 401));
    let state: Value = serde_json::from_str(&w.read_to_string("v.json")).unwrap();
    assert_eq!(state["tables"]["items"], "2026-01-01T12:00:00", "{state}");

    // Five rows change on both sides: read are those five and the rows
    // within the overlap (5 minutes) before the watermark: row 401.
    let change =
        "UPDATE items SET qty = qty + 100, updated_at = '2026-01-02 00:00:00' WHERE id IN (3, 50, 99, 200, 333)";
    my.query(&mdb, change);
    pg.query(&pdb, change);
    let out = verify(&pg.url(&pdb));
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(rows_read(&out), (6, 6), "{}", out.stdout_str());
    let after_good_run = w.read_to_string("v.json");
    assert!(after_good_run.contains("2026-01-02T00:00:00"), "{after_good_run}");

    // A row deleted on one side only: no changed row shows it, the key-only
    // comparison does; the watermark stays.
    pg.query(&pdb, "DELETE FROM items WHERE id = 7");
    let out = verify(&pg.url(&pdb));
    let r = report(&out);
    assert_eq!(out.code(), Some(1), "{r}");
    assert_eq!((items(&r)["removed"].as_u64(), rows_read(&out)), (Some(1), (5, 5)), "{r}");
    assert_eq!(r["mismatches"][0]["key"], serde_json::json!({"id": 7}), "{r}");
    assert_eq!(w.read_to_string("v.json"), after_good_run, "a failed check moved the watermark");

    // B down: a fatal error, and the watermark stays.
    pg.query(&pdb, "INSERT INTO items VALUES (7, 'item 7', 7, '2026-01-01 00:00:00')");
    let later = "UPDATE items SET qty = 1, updated_at = '2026-01-03 00:00:00' WHERE id IN (10, 20)";
    my.query(&mdb, later);
    pg.query(&pdb, later);
    let down = format!("postgres://postgres@127.0.0.1:{}/{pdb}", decant_tests::free_port());
    let out = verify(&down);
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert_eq!(w.read_to_string("v.json"), after_good_run, "a run that failed moved the watermark");
    // Back up: the two rows changed since, and the five within the overlap.
    let out = verify(&pg.url(&pdb));
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(rows_read(&out), (7, 7));
    assert!(w.read_to_string("v.json").contains("2026-01-03T00:00:00"));
}

#[test]
fn since_export_piped_to_an_upsert_is_the_catch_up_sync() {
    let (my, mdb, pg, pdb) = pair("live_catchup");
    // The newest row a day after the others, so the overlap re-reads only it.
    let rows: Vec<String> =
        (1..=300).map(|i| format!("({i}, 'item {i}', {i}, '2026-01-0{} 00:00:00')", 1 + i / 300)).collect();
    my.query(&mdb, &format!("INSERT INTO items VALUES {}", rows.join(", ")));
    let w = Workdir::new("live-catchup");
    let sync = |state_out: &str| {
        w.run("mysql-export")
            .args(["--url", &my.url(&mdb), "--since", "updated_at", "--state", "s.json", "--state-out", state_out])
            .pipe(w.run("pg-import").args(["--url", &pg.url(&pdb), "--mode", "upsert"]))
            .output()
    };
    let rows_in_b = || pg.query(&pdb, "SELECT COUNT(*) FROM items").parse::<u64>().unwrap();
    // The bulk copy, then the watermark moves (the pipeline succeeded).
    let outs = sync("s.next.json");
    assert!(outs.iter().all(|o| o.code() == Some(0)), "{outs:?}");
    assert_eq!(rows_in_b(), 300);
    std::fs::rename(w.join("s.next.json"), w.join("s.json")).unwrap();

    // The application goes on writing to A: 4 updates, 2 inserts.
    my.query(&mdb, "UPDATE items SET name = 'changed', updated_at = '2026-01-05 00:00:00' WHERE id IN (1, 2, 3, 4); INSERT INTO items VALUES (301, 'new', 1, '2026-01-05 00:00:01'), (302, 'new', 2, '2026-01-05 00:00:02')");
    let export = w
        .run("mysql-export")
        .args(["--url", &my.url(&mdb), "--since", "updated_at", "--state", "s.json", "--state-out", "probe.json"])
        .output()
        .assert_success();
    let read = export.stdout_json_lines().iter().filter(|l| l["kind"] == "row").count();
    // The 6 changed rows, and row 300, stamped within the overlap before the watermark.
    assert_eq!(read, 7);

    // A failed run (a target that does not exist) leaves the state alone.
    let before = w.read_to_string("s.json");
    let out = w
        .run("mysql-export")
        .args(["--url", &my.url(&mdb), "--since", "updated_at", "--state", "s.json", "--tables", "no_such_table"])
        .output();
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert_eq!(w.read_to_string("s.json"), before);

    // The catch-up sync, then A and B verify equal.
    let outs = sync("s.next.json");
    assert!(outs.iter().all(|o| o.code() == Some(0)), "{outs:?}");
    std::fs::rename(w.join("s.next.json"), w.join("s.json")).unwrap();
    w.run("decant-verify")
        .args(["--left", &my.url(&mdb), "--right", &pg.url(&pdb), "--settle", "0"])
        .output()
        .assert_success();
    let state: Value = serde_json::from_str(&w.read_to_string("s.json")).unwrap();
    // MariaDB writes DATETIME(6) with all six digits.
    assert_eq!(state["tables"]["items"], "2026-01-05T00:00:02.000000", "{state}");
    // Nothing changed since: the next export reads only the overlap.
    let again = w
        .run("mysql-export")
        .args(["--url", &my.url(&mdb), "--since", "updated_at", "--state", "s.json", "--state-out", "probe.json"])
        .output()
        .assert_success();
    assert_eq!(again.stdout_json_lines().iter().filter(|l| l["kind"] == "row").count(), 6);
}

/// Rows MariaDB has sent to `user`'s sessions so far (USER_STATISTICS,
/// with `userstat` on): what crossed the wire from A, whichever tool read it.
fn rows_sent(my: &MariaDb, user: &str) -> u64 {
    let sent = my.query("", &format!("SELECT ROWS_SENT FROM information_schema.USER_STATISTICS WHERE USER = '{user}'"));
    sent.trim().parse().unwrap_or(0)
}

/// Issue 16: two equal live SQL stores verify through range checksums
/// computed in both databases (no row of a covered table crosses the wire),
/// a planted difference is still found and named with its key, a table
/// with a column type the checksums do not cover (DOUBLE) is still
/// digested, and `--content digest` still reads and digests every row.
#[test]
fn equal_live_tables_verify_by_range_checksums_without_reading_their_rows() {
    let (my, mdb, pg, pdb) = pair("live_ranges");
    seed(my, &mdb, pg, &pdb, 1..=3000, "2026-01-01 00:00:00");
    let ratios = "CREATE TABLE ratios (id INT PRIMARY KEY, r DOUBLE PRECISION NOT NULL); \
                  INSERT INTO ratios VALUES (1, 0.5), (2, 1.25), (3, 3.0e-7), (4, -2.5), (5, 1e300)";
    my.query(&mdb, ratios);
    pg.query(&pdb, ratios);
    // A's own account, so the rows it sends are this test's alone.
    let user = format!("v_{mdb}");
    my.query(
        "",
        &format!(
            "SET GLOBAL userstat = 1; CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY ''; \
             GRANT ALL ON `{mdb}`.* TO '{user}'@'127.0.0.1'"
        ),
    );
    let left = format!("mysql://{user}@127.0.0.1:{}/{mdb}", my.port());
    let w = Workdir::new("live-ranges");
    let verify = |extra: &[&str]| {
        w.run("decant-verify")
            .args(["--left", &left, "--right", &pg.url(&pdb), "--settle", "0", "--json"])
            .args(extra)
            .output()
    };
    let ratios_of =
        |r: &Value| r["groups"].as_array().unwrap().iter().find(|g| g["group"] == "table:ratios").cloned().unwrap();

    // Equal: items by range checksums (counted in the databases, no
    // digest), ratios (DOUBLE) by its digest; of items' 3000 rows none was sent.
    let before = rows_sent(my, &user);
    let out = verify(&["--metrics-file", "ranges.prom"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let sent = rows_sent(my, &user) - before;
    let r = report(&out);
    let g = items(&r);
    assert_eq!((g["content"].as_str(), g["digest_equal"].is_null()), (Some("range checksums"), true), "{r}");
    assert_eq!((g["left"].as_u64(), g["right"].as_u64()), (Some(3000), Some(3000)), "{r}");
    let g = ratios_of(&r);
    assert_eq!((g["content"].as_str(), g["digest_equal"].as_bool()), (Some("digest"), Some(true)), "{r}");
    assert_eq!(g["left"], 5, "{r}");
    assert!(sent < 500, "auto mode had A send {sent} rows: the covered table's rows were read");
    let m = parse_metrics(&w, "ranges.prom");
    assert_eq!(m["decant_check_records_compared{group=table:items}"], 3000.0, "{m:?}");
    assert_eq!(m["decant_check_records_compared{group=table:ratios}"], 5.0, "{m:?}");

    // The old full read, on request: every row sent, every table digested.
    let before = rows_sent(my, &user);
    let out = verify(&["--content", "digest"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let sent = rows_sent(my, &user) - before;
    let r = report(&out);
    assert_eq!((items(&r)["content"].as_str(), items(&r)["digest_equal"].as_bool()), (Some("digest"), Some(true)));
    assert!(sent >= 3005, "--content digest had A send only {sent} rows");

    // The text report says how each table was compared.
    let out = w
        .run("decant-verify")
        .args(["--left", &left, "--right", &pg.url(&pdb), "--settle", "0"])
        .output()
        .assert_success();
    assert!(out.stderr.contains("table:items: compared by range checksums in both databases"), "{}", out.stderr);
    assert!(out.stderr.contains("ranges"), "{}", out.stderr);

    // The sample still draws from A's rows and fetches them from B by key.
    let out = verify(&["--sample", "25", "--seed", "9"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let r = report(&out);
    assert_eq!((r["sample"]["checked"].as_u64(), r["sample"]["by_key"].as_bool()), (Some(25), Some(true)), "{r}");
    assert_eq!(items(&r)["content"], "range checksums", "{r}");

    // Planted differences: one changed and one removed row in the covered
    // table, one changed value in the digested one. Both modes find them
    // and name their keys.
    pg.query(
        &pdb,
        "UPDATE items SET qty = 99 WHERE id = 1234; DELETE FROM items WHERE id = 77; UPDATE ratios SET r = 0.75 WHERE id = 2",
    );
    for content in ["auto", "digest"] {
        let out = verify(&["--content", content]);
        let r = report(&out);
        assert_eq!(out.code(), Some(1), "{content}: {r}\n{}", out.stderr);
        let g = items(&r);
        assert_eq!(
            (g["changed"].as_u64(), g["removed"].as_u64(), g["added"].as_u64()),
            (Some(1), Some(1), Some(0)),
            "{content}: {r}"
        );
        assert_eq!((g["left"].as_u64(), g["right"].as_u64()), (Some(3000), Some(2999)), "{content}: {r}");
        let expected = if content == "auto" { "range checksums" } else { "digest" };
        assert_eq!(g["content"], expected, "{content}: {r}");
        assert_eq!(ratios_of(&r)["changed"], 1, "{content}: {r}");
        assert_eq!(ratios_of(&r)["digest_equal"], false, "{content}: {r}");
        let mut listed: Vec<(String, String, Value, Value)> = r["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let s = |k: &str| m[k].as_str().unwrap().to_owned();
                (s("group"), s("op"), m["key"].clone(), m["fields"].clone())
            })
            .collect();
        listed.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        assert_eq!(
            listed,
            vec![
                (
                    "table:items".to_owned(),
                    "changed".to_owned(),
                    serde_json::json!({"id": 1234}),
                    serde_json::json!(["qty"])
                ),
                ("table:items".to_owned(), "removed".to_owned(), serde_json::json!({"id": 77}), serde_json::json!([])),
                (
                    "table:ratios".to_owned(),
                    "changed".to_owned(),
                    serde_json::json!({"id": 2}),
                    serde_json::json!(["r"])
                ),
            ],
            "{content}: {r}"
        );
    }

    // A table on A's side only: its rows are removed ones, named by key.
    my.query(&mdb, "CREATE TABLE only_a (id INT PRIMARY KEY, v INT); INSERT INTO only_a VALUES (7, 1)");
    let out = verify(&[]);
    let r = report(&out);
    assert_eq!(out.code(), Some(1), "{r}\n{}", out.stderr);
    let g = r["groups"].as_array().unwrap().iter().find(|g| g["group"] == "table:only_a").unwrap();
    assert_eq!((g["removed"].as_u64(), g["content"].as_str()), (Some(1), Some("digest")), "{r}");
    assert!(r["mismatches"].as_array().unwrap().iter().any(|m| m["key"] == serde_json::json!({"id": 7})), "{r}");
}
