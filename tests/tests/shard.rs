//! End-to-end tests of `--shard i/N`: N shards of one export are disjoint and
//! together are the unsharded export (every row line once, nothing else), for
//! integer, composite and text primary keys on MariaDB, PostgreSQL and
//! SQLite, and for a Redis keyspace on one node; each shard names its share
//! in the header and summary; `decant-checksum --combine` of the shards'
//! sums equals the unsharded sums and refuses missing or repeated shares.

use std::collections::BTreeMap;

use decant_record::{Record, RecordReader};
use decant_tests::{mariadb, postgres, run, Cmd, Output, Workdir};

/// The tables every SQL test exports: uneven integer keys (negative, with
/// gaps), a composite key, a text key whose order depends on the
/// collation, and a table without a primary key.
fn tables_sql(text_type: &str) -> String {
    let mut sql = format!(
        "CREATE TABLE t_int (id BIGINT PRIMARY KEY, v VARCHAR(20));\n\
         CREATE TABLE t_comp (a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT, PRIMARY KEY (a, b));\n\
         CREATE TABLE t_text (k {text_type} PRIMARY KEY, v INT);\n\
         CREATE TABLE t_nopk (x INT);\n"
    );
    let prefixes = ["Ab", "ab", "Z", "z", "_", "0"];
    for i in 0..61i64 {
        sql.push_str(&format!("INSERT INTO t_int VALUES ({}, 'v{i}');\n", i * i - 200));
        sql.push_str(&format!("INSERT INTO t_comp VALUES ({}, 'k{i}', {i});\n", i % 4));
        sql.push_str(&format!("INSERT INTO t_text VALUES ('{}{i}', {i});\n", prefixes[i as usize % 6]));
    }
    for i in 0..5 {
        sql.push_str(&format!("INSERT INTO t_nopk VALUES ({i});\n"));
    }
    sql
}

/// One export's lines: the header, and the other lines by kind.
struct Parsed {
    shard: Option<String>,
    rows: Vec<String>,
    schemas: Vec<String>,
}

fn parse(out: &Output) -> Parsed {
    let mut reader = RecordReader::new(&out.stdout[..]);
    let mut header = None;
    while let Some(rec) = reader.next_record().unwrap_or_else(|e| panic!("bad stream: {e}\n{}", out.stderr)) {
        if let Record::Header(h) = rec {
            header = Some(h);
            break;
        }
    }
    assert!(reader.all_sealed() || !out.stdout.is_empty(), "{}", out.stderr);
    let header = header.expect("a header line");
    let mut rows = Vec::new();
    let mut schemas = Vec::new();
    for line in out.stdout_str().lines() {
        if line.starts_with(r#"{"kind":"row""#) || line.starts_with(r#"{"kind":"redis""#) {
            rows.push(line.to_owned());
        } else if line.starts_with(r#"{"kind":"schema""#) {
            schemas.push(line.to_owned());
        }
    }
    Parsed { shard: header.shard.map(|s| s.to_string()), rows, schemas }
}

/// Runs `export(args)` whole and as N = 1, 3, 7 shards, and checks that the
/// shards are disjoint and together equal the whole export. Returns the whole
/// export's rows.
fn check_shards(tool: &str, base: &[&str], expect_rows: usize) -> Vec<String> {
    let whole = parse(&run(tool).args(base).assert_success());
    assert_eq!(whole.shard, None);
    assert_eq!(whole.rows.len(), expect_rows, "{tool}: whole export");
    let mut expected = whole.rows.clone();
    expected.sort();
    for n in [1u32, 3, 7] {
        let mut union: BTreeMap<String, u32> = BTreeMap::new();
        for i in 0..n {
            let share = format!("{i}/{n}");
            let out = run(tool).args(base).args(["--shard", &share]).assert_success();
            let part = parse(&out);
            if n == 1 {
                assert_eq!(part.shard, None, "{tool} --shard 0/1 is the whole export");
            } else {
                assert_eq!(part.shard.as_deref(), Some(share.as_str()), "{tool}: header share");
                assert!(out.stderr.lines().any(|l| l.ends_with(&format!("shard {share}"))), "{}", out.stderr);
            }
            // Every shard carries every schema line, so each stream imports alone.
            assert_eq!(part.schemas.len(), whole.schemas.len(), "{tool} {share}: schemas");
            // The split is real: with 3 shards each holds a fair part.
            if n == 3 {
                assert!(part.rows.len() * 100 >= expected.len() * 15, "{tool} {share}: {} rows", part.rows.len());
            }
            for row in part.rows {
                if let Some(other) = union.insert(row.clone(), i) {
                    panic!("{tool}: row in shards {other} and {i} of {n}: {row}");
                }
            }
        }
        let got: Vec<String> = union.keys().cloned().collect();
        assert_eq!(got.len(), expected.len(), "{tool} N={n}: rows in the union of the shards");
        assert_eq!(got, expected, "{tool} N={n}: union of the shards");
    }
    whole.rows
}

fn rows_of<'a>(rows: &'a [String], table: &str) -> impl Iterator<Item = &'a String> + 'a {
    let prefix = format!(r#"{{"kind":"row","table":"{table}""#);
    rows.iter().filter(move |r| r.starts_with(&prefix))
}

#[test]
fn mariadb_shards_are_disjoint_and_cover_every_key_kind() {
    let m = mariadb();
    let db = m.fresh_database("shard");
    m.query(&db, &tables_sql("VARCHAR(40)"));
    let url = m.url(&db);
    let rows = check_shards("mysql-export", &["--url", &url], 61 * 3 + 5);
    assert_eq!(rows_of(&rows, "t_text").count(), 61);
    // With --jobs the shard's range is split again, inside the shard.
    check_shards("mysql-export", &["--url", &url, "--jobs", "2", "--chunk-rows", "4"], 61 * 3 + 5);
    // --where applies before the split: the shards share the filtered rows.
    check_shards(
        "mysql-export",
        &["--url", &url, "--where", "t_text:v % 2 = 0", "--where", "t_int:id > 0"],
        61 + 31 + 46 + 5,
    );
}

#[test]
fn postgres_shards_are_disjoint_and_cover_every_key_kind() {
    let pg = postgres();
    let db = pg.fresh_database("shard");
    pg.query(&db, &tables_sql("TEXT"));
    let url = pg.url(&db);
    check_shards("pg-export", &["--url", &url], 61 * 3 + 5);
    check_shards("pg-export", &["--url", &url, "--jobs", "3", "--chunk-rows", "5"], 61 * 3 + 5);
}

#[test]
fn sqlite_shards_are_disjoint_and_cover_every_key_kind() {
    let wd = Workdir::new("shard-sqlite");
    let file = wd.join("s.db");
    Cmd::new("sqlite3").arg(&file).stdin_bytes(tables_sql("TEXT")).assert_success();
    let url = format!("sqlite://{}", file.display());
    check_shards("sqlite-export", &["--url", &url], 61 * 3 + 5);
}

#[test]
fn a_table_without_primary_key_goes_to_shard_0_whole() {
    let wd = Workdir::new("shard-nopk");
    let file = wd.join("s.db");
    Cmd::new("sqlite3").arg(&file).stdin_bytes(tables_sql("TEXT")).assert_success();
    let url = format!("sqlite://{}", file.display());
    let first = run("sqlite-export").args(["--url", &url, "--shard", "0/2"]).assert_success();
    assert_eq!(rows_of(&parse(&first).rows, "t_nopk").count(), 5);
    assert!(first.stderr.contains(r#"table "t_nopk" has no primary key"#), "{}", first.stderr);
    let second = run("sqlite-export").args(["--url", &url, "--shard", "1/2"]).assert_success();
    assert_eq!(rows_of(&parse(&second).rows, "t_nopk").count(), 0);
    assert!(second.stderr.contains("this shard only its schema"), "{}", second.stderr);
}

#[test]
fn a_bad_share_is_a_usage_error() {
    for bad in ["3/3", "1", "a/2", "0/0"] {
        run("sqlite-export")
            .args(["--url", "sqlite:///nonexistent.db", "--shard", bad])
            .output()
            .assert_code(2)
            .assert_stderr_contains("expected I/N");
    }
}

#[test]
fn redis_shards_are_disjoint_slot_ranges_and_cover_the_keyspace() {
    let r = decant_tests::redis();
    r.cli([
        "EVAL",
        "for i = 1, 150 do \
           redis.call('SET', 'str:' .. i, i) \
           redis.call('HSET', 'h:' .. i, 'f', i) \
           redis.call('RPUSH', '{user' .. (i % 5) .. '}:list:' .. i, i, i + 1) \
         end \
         redis.call('ZADD', 'z', 1, 'a') \
         redis.call('PEXPIRE', 'str:7', 100000000)",
        "0",
    ]);
    let url = r.url();
    let rows = check_shards("redis-export", &["--url", &url], 451);
    // Keys with one {hash tag} share a slot, so they land in one shard.
    for i in 0..5 {
        let tag = format!("{{user{i}}}");
        let mut owners = std::collections::BTreeSet::new();
        for n in 0..3 {
            let share = format!("{n}/3");
            let out = run("redis-export").args(["--url", &url, "--shard", &share]).assert_success();
            if parse(&out).rows.iter().any(|l| l.contains(&tag)) {
                owners.insert(n);
            }
        }
        assert_eq!(owners.len(), 1, "{tag} keys in shards {owners:?}");
    }
    assert_eq!(rows.len(), 451);
}

/// The group lines (`DIGEST  COUNT  GROUP`) of a checksum file.
fn group_lines(b3: &str) -> Vec<String> {
    b3.lines()
        .filter(|l| l.split("  ").next().is_some_and(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit())))
        .map(str::to_owned)
        .collect()
}

/// Exports `n` shares into files, checksums each, and returns the .b3 paths.
fn share_sums(wd: &Workdir, tool: &str, base: &[&str], n: u32) -> Vec<String> {
    (0..n)
        .map(|i| {
            let share = format!("{i}/{n}");
            let file = wd.join(format!("{tool}-{i}-of-{n}.ndjson"));
            run(tool).args(base).args(["--shard", &share, "-o"]).arg(&file).assert_success();
            let b3 = wd.join(format!("{tool}-{i}-of-{n}.b3"));
            let out = run("decant-checksum").arg(&file).args(["-o"]).arg(&b3).assert_success();
            let text = wd.read_to_string(&b3);
            assert!(text.contains(&format!("# shard: {share}\n")), "{text}\n{}", out.stderr);
            b3.display().to_string()
        })
        .collect()
}

#[test]
fn combined_shard_checksums_equal_the_whole_and_refuse_bad_shares() {
    let wd = Workdir::new("shard-combine");
    let file = wd.join("s.db");
    Cmd::new("sqlite3").arg(&file).stdin_bytes(tables_sql("TEXT")).assert_success();
    let url = format!("sqlite://{}", file.display());
    let r = decant_tests::redis();
    r.cli(["EVAL", "for i = 1, 100 do redis.call('SET', 'a:' .. i, i) redis.call('SADD', 'b:' .. i, i) end", "0"]);
    let redis_url = r.url();
    for (tool, base) in
        [("sqlite-export", vec!["--url", url.as_str()]), ("redis-export", vec!["--url", redis_url.as_str()])]
    {
        let whole = run(tool).args(&base).assert_success();
        let whole_b3 = run("decant-checksum").stdin_bytes(whole.stdout).assert_success();
        let expected = group_lines(whole_b3.stdout_str());
        assert!(expected.len() >= 2, "{}", whole_b3.stdout_str());
        // (`--shard 0/1` is the whole export: its stream names no share.)
        for n in [2u32, 3, 7] {
            let files = share_sums(&wd, tool, &base, n);
            let total = run("decant-checksum").arg("--combine").args(&files).assert_success();
            assert_eq!(group_lines(total.stdout_str()), expected, "{tool}: {n} shares\n{}", total.stdout_str());
            assert!(total.stdout_str().lines().nth(1).unwrap().starts_with("sealed  "), "{}", total.stdout_str());
        }
        let files = share_sums(&wd, tool, &base, 3);
        // A missing share, a share given twice, a share of another N: refused.
        run("decant-checksum")
            .arg("--combine")
            .args(&files[..2])
            .output()
            .assert_code(2)
            .assert_stderr_contains("missing share(s) 2/3");
        run("decant-checksum")
            .arg("--combine")
            .args([&files[0], &files[1], &files[1], &files[2]])
            .output()
            .assert_code(2)
            .assert_stderr_contains("share 1/3 given twice");
        let other = share_sums(&wd, tool, &base, 2);
        run("decant-checksum")
            .arg("--combine")
            .args([&files[0], &files[1], &other[1]])
            .output()
            .assert_code(2)
            .assert_stderr_contains("is one of 2, but");
        // An unsharded checksum is not a share.
        let plain = wd.write("plain.b3", whole_b3.stdout_str());
        run("decant-checksum")
            .arg("--combine")
            .arg(&plain)
            .output()
            .assert_code(2)
            .assert_stderr_contains("not a share of a sharded export");
    }
}

#[test]
fn redis_cluster_shards_are_disjoint_and_cover_the_three_masters() {
    let cluster = decant_tests::redis_cluster();
    for i in 0..90 {
        cluster.cli(["SET", &format!("user:{i}"), &i.to_string()]);
    }
    for i in 0..10 {
        cluster.cli(["HSET", &format!("{{acct{}}}:h{i}", i % 3), "f", &i.to_string()]);
    }
    // Every master holds some of the keys, so every share range meets real keys.
    for node in cluster.nodes() {
        assert!(node.cli(["DBSIZE"]).parse::<u32>().unwrap() > 0);
    }
    check_shards("redis-export", &["--url", &cluster.url(), "--cluster"], 100);
}

// ---------------------------------------------------------------------------
// Importers, live checkers, RDB files and the orchestrator examples.

/// A SQLite source with the three key kinds, exported as 3 shares into files.
fn sqlite_share_files(wd: &Workdir) -> (String, Vec<std::path::PathBuf>) {
    let file = wd.join("src.db");
    Cmd::new("sqlite3").arg(&file).stdin_bytes(tables_sql("TEXT")).assert_success();
    let url = format!("sqlite://{}", file.display());
    let files = (0..3)
        .map(|i| {
            let out = wd.join(format!("share-{i}.ndjson"));
            run("sqlite-export").args(["--url", &url, "--shard", &format!("{i}/3"), "-o"]).arg(&out).assert_success();
            out
        })
        .collect();
    (url, files)
}

#[test]
fn an_importer_takes_the_share_from_the_header_and_keeps_each_shares_state_apart() {
    let wd = Workdir::new("shard-import");
    let (_, files) = sqlite_share_files(&wd);
    let target = format!("sqlite://{}", wd.join("dst.db").display());
    let schema = run("sqlite-export").args(["--url", &format!("sqlite://{}", wd.join("src.db").display())]);
    let schema = schema.args(["--schema-only"]).assert_success();
    assert!(!schema.stdout_str().contains(r#""kind":"row""#), "--schema-only wrote rows");
    run("sqlite-import").args(["--url", &target, "--create-tables"]).stdin_bytes(schema.stdout).assert_success();
    let state = |i: usize| wd.join(format!("share-{i}.state"));
    // The flag must agree with the header; a whole stream is not a share.
    run("sqlite-import")
        .args(["--url", &target, "--shard", "2/3", "-i"])
        .arg(&files[1])
        .output()
        .assert_code(2)
        .assert_stderr_contains("--shard 2/3 but the input's header says it is share 1/3");
    // --truncate in one share would wipe the rows the others wrote.
    run("sqlite-import")
        .args(["--url", &target, "--truncate", "-i"])
        .arg(&files[1])
        .output()
        .assert_code(2)
        .assert_stderr_contains("--truncate with share 1/3");
    for (i, file) in files.iter().enumerate() {
        let out = run("sqlite-import")
            .args(["--url", &target, "--shard", &format!("{i}/3"), "--state"])
            .arg(state(i))
            .arg("-i")
            .arg(file)
            .assert_success();
        assert!(out.stderr.lines().any(|l| l.ends_with(&format!("shard {i}/3"))), "{}", out.stderr);
        let saved = wd.read_to_string(state(i));
        assert!(saved.contains(&format!("\"shard\": \"{i}/3\"")), "{saved}");
    }
    // Another share's state file is refused, before anything is written.
    run("sqlite-import")
        .args(["--url", &target, "--state"])
        .arg(state(0))
        .arg("-i")
        .arg(&files[2])
        .output()
        .assert_code(2)
        .assert_stderr_contains("is the progress of share 0/3, but this input is share 2/3");
    // The three shares are the source, each row once.
    let sums = |url: &str| group_lines(run("decant-checksum").arg(url).assert_success().stdout_str());
    assert_eq!(sums(&target), sums(&format!("sqlite://{}", wd.join("src.db").display())));
}

#[test]
fn live_checksums_of_shares_are_the_exported_shares_and_add_up() {
    let wd = Workdir::new("shard-live-sums");
    let (url, files) = sqlite_share_files(&wd);
    let r = decant_tests::redis();
    r.cli(["EVAL", "for i = 1, 200 do redis.call('SET', 'a:' .. i, i) redis.call('SADD', '{b}:' .. i, i) end", "0"]);
    let redis_url = r.url();
    let redis_files: Vec<std::path::PathBuf> = (0..3)
        .map(|i| {
            let out = wd.join(format!("redis-{i}.ndjson"));
            run("redis-export")
                .args(["--url", &redis_url, "--shard", &format!("{i}/3"), "-o"])
                .arg(&out)
                .assert_success();
            out
        })
        .collect();
    for (url, files) in [(&url, &files), (&redis_url, &redis_files)] {
        let mut live_sums = Vec::new();
        for (i, file) in files.iter().enumerate() {
            let b3 = wd.join(format!("live-{i}.b3"));
            run("decant-checksum").args(["--shard", &format!("{i}/3"), url, "-o"]).arg(&b3).assert_success();
            let text = wd.read_to_string(&b3);
            assert!(text.contains(&format!("# shard: {i}/3\n")), "{text}");
            let of_file = run("decant-checksum").arg(file).assert_success();
            assert_eq!(group_lines(&text), group_lines(of_file.stdout_str()), "{url} share {i}");
            // --check reads the live store's share again as that share.
            run("decant-checksum").arg("--check").arg(&b3).assert_success();
            live_sums.push(b3);
        }
        let total = run("decant-checksum").arg("--combine").args(&live_sums).assert_success();
        let whole = run("decant-checksum").arg(url).assert_success();
        assert_eq!(group_lines(total.stdout_str()), group_lines(whole.stdout_str()), "{url}");
    }
    run("decant-checksum")
        .args(["--shard", "1/3"])
        .arg(&files[1])
        .output()
        .assert_code(2)
        .assert_stderr_contains("is not one: a file's share is named in its header");
    // A changed key is found by its share's diff only.
    let copy = decant_tests::redis();
    run("redis-import")
        .arg("--url")
        .arg(copy.url())
        .stdin_bytes(run("redis-export").args(["--url", &redis_url]).assert_success().stdout)
        .assert_success();
    // decant-verify per share, its reports combined: all shares, once each.
    let verify_shares = |tag: &str| -> Vec<std::path::PathBuf> {
        (0..3)
            .map(|i| {
                let out = run("decant-verify")
                    .args(["--shard", &format!("{i}/3"), "--json", "--left", &redis_url, "--right", &copy.url()])
                    .output();
                assert!(matches!(out.code(), Some(0 | 1)), "{}", out.stderr);
                wd.write(format!("verify-{tag}-{i}.json"), out.stdout_str())
            })
            .collect()
    };
    let reports = verify_shares("same");
    let combined = run("decant-verify").arg("--combine").args(&reports).assert_success();
    assert!(combined.stderr.contains("verification passed (all shares)"), "{}", combined.stderr);
    run("decant-verify")
        .arg("--combine")
        .args(&reports[..2])
        .output()
        .assert_code(2)
        .assert_stderr_contains("missing share(s) 2/3");
    run("decant-verify")
        .arg("--combine")
        .args([&reports[0], &reports[1], &reports[1], &reports[2]])
        .output()
        .assert_code(2)
        .assert_stderr_contains("share 1/3 given twice");
    copy.cli(["SET", "a:7", "changed"]);
    let reports = verify_shares("changed");
    run("decant-verify")
        .arg("--combine")
        .args(&reports)
        .output()
        .assert_code(1)
        .assert_stderr_contains("failed share(s): ");
    let mut differing = Vec::new();
    for i in 0..3 {
        let out = run("decant-diff").args(["--shard", &format!("{i}/3"), &redis_url, &copy.url()]).output();
        match out.code() {
            Some(0) => {}
            Some(1) => {
                assert!(out.stdout_str().contains("a:7"), "{}", out.stdout_str());
                differing.push(i);
            }
            c => panic!("decant-diff --shard {i}/3: exit {c:?}\n{}", out.stderr),
        }
    }
    assert_eq!(differing.len(), 1, "the change is in one share: {differing:?}");
}

#[test]
fn rdb_file_shares_are_the_live_shares() {
    let r = decant_tests::redis();
    r.cli([
        "EVAL",
        "for i = 1, 120 do redis.call('SET', 'k:' .. i, i) redis.call('HSET', '{grp' .. (i % 4) .. '}:h' .. i, 'f', i) end",
        "0",
    ]);
    r.cli(["SAVE"]);
    let rdb = r.dir().join("dump.rdb");
    assert!(rdb.is_file(), "no {}", rdb.display());
    let rdb = rdb.display().to_string();
    check_shards("redis-export", &["--rdb", &rdb], 240);
    // The same slot ranges as a live export: share i of the file is share i of the server.
    for i in 0..3 {
        let share = format!("{i}/3");
        let mut of_file = parse(&run("redis-export").args(["--rdb", &rdb, "--shard", &share]).assert_success()).rows;
        let mut live = parse(&run("redis-export").args(["--url", &r.url(), "--shard", &share]).assert_success()).rows;
        of_file.sort();
        live.sort();
        assert_eq!(of_file, live, "share {share}");
    }
}

/// The Jobs of `examples/k8s/NAME`, validated against the Kubernetes Job
/// schema (strict) by tests/fixtures/k8s/jobs.py: name -> essentials + script.
fn k8s_jobs(name: &str) -> serde_json::Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "no {}: run scripts/test.sh, or `python3 -m venv .venv && .venv/bin/pip install 'kubernetes-validate>=1.37,<1.38'` \
         in the repository root",
        python.display()
    );
    let out = Cmd::new(python)
        .arg(root.join("tests/fixtures/k8s/jobs.py"))
        .arg(root.join("examples/k8s").join(name))
        .output();
    assert_eq!(out.code(), Some(0), "{name} is not a valid Job manifest:\n{}", out.stderr);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The script of a Job's container, after checking it is run by `sh -ec`.
fn job_script(jobs: &serde_json::Value, name: &str) -> String {
    let job = &jobs[name];
    assert_eq!(job["command"], serde_json::json!(["/bin/sh", "-ec"]), "{name}");
    assert_eq!(job["restart_policy"], "Never", "{name}: failed pods are retried by the Job controller");
    job["args"][0].as_str().unwrap_or_else(|| panic!("{name}: no script")).to_owned()
}

/// Checks the Indexed Job that runs the shares: one pod per share, the pod's
/// index as the share, retried per index.
fn check_indexed_job(jobs: &serde_json::Value, name: &str) -> String {
    let job = &jobs[name];
    assert_eq!(job["completion_mode"], "Indexed", "{name}");
    assert_eq!(job["env"]["N"].as_str().unwrap(), job["completions"].to_string(), "{name}: N = completions");
    assert_eq!(job["parallelism"], job["completions"], "{name}: one pod per share, all at once");
    assert!(job["backoff_limit_per_index"].as_u64().is_some_and(|n| n >= 1), "{name}: a failed share is retried");
    let script = job_script(jobs, name);
    assert!(script.contains("i=$JOB_COMPLETION_INDEX"), "{script}");
    assert!(script.matches("--shard \"$i/$N\"").count() >= 2, "export and import take the share: {script}");
    assert!(script.contains("--state \"$share.state\""), "each share has its own state: {script}");
    script
}

/// Runs a manifest's script as its pod would: `sh -ec`, the decant binaries
/// on PATH, the pod's environment; in its own process group, so that a kill
/// takes the whole pod.
fn pod(script: &str, index: Option<u32>, env: &[(&str, String)]) -> std::process::Command {
    use std::os::unix::process::CommandExt as _;
    let bins = decant_tests::bin("decant-checksum").parent().unwrap().to_owned();
    let path = format!("{}:{}", bins.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-ec").arg(script).env("PATH", path).process_group(0);
    if let Some(i) = index {
        cmd.env("JOB_COMPLETION_INDEX", i.to_string());
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    cmd
}

fn pod_output(cmd: &mut std::process::Command, what: &str) -> (String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{what}: {}\n{stderr}", out.status);
    (stdout, stderr)
}

/// The `line` a state file has committed, and whether the run finished.
fn state_line(path: &std::path::Path) -> Option<(u64, bool)> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some((v["line"].as_u64()?, v["finished"].as_bool().unwrap_or(false)))
}

#[test]
fn k8s_mysql_to_postgres_shares_run_concurrently_and_a_killed_one_resumes() {
    let jobs = k8s_jobs("mysql-to-postgres.yaml");
    let copy = check_indexed_job(&jobs, "shop-copy");
    let (schema, verify) = (job_script(&jobs, "shop-schema"), job_script(&jobs, "shop-verify"));

    let m = mariadb();
    let src = m.fresh_database("k8s");
    m.query(
        &src,
        "CREATE TABLE t_int (id BIGINT PRIMARY KEY, v VARCHAR(40));\n\
         CREATE TABLE t_text (k VARCHAR(40) PRIMARY KEY, v INT);\n\
         CREATE TABLE t_comp (a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT, PRIMARY KEY (a, b));\n\
         INSERT INTO t_int SELECT CAST(seq AS SIGNED) * 3 - 1000, CONCAT('value ', seq) FROM seq_1_to_150000;\n\
         INSERT INTO t_text SELECT CONCAT(ELT(seq % 4 + 1, 'Ab', 'ab', 'Z', '_'), seq), seq FROM seq_1_to_3000;\n\
         INSERT INTO t_comp SELECT seq % 7, CONCAT('k', seq), seq FROM seq_1_to_3000;",
    );
    let pg = postgres();
    let dst = pg.fresh_database("k8s");
    let wd = Workdir::new("k8s-shop");
    const N: u32 = 3;
    let env = [
        ("SOURCE_URL", m.url(&src)),
        ("TARGET_URL", pg.url(&dst)),
        ("SHARES", wd.path().display().to_string()),
        ("N", N.to_string()),
    ];
    pod_output(&mut pod(&schema, None, &env), "shop-schema");

    // All shares at once, as the Job's pods; share 1 is killed (kill -9 of
    // the whole pod) once it has committed a batch, and started again.
    let mut pods: Vec<std::process::Child> =
        (0..N).map(|i| pod(&copy, Some(i), &env).spawn().expect("starting a pod")).collect();
    let state1 = wd.join("shop-share-1.state");
    let started = std::time::Instant::now();
    loop {
        match state_line(&state1) {
            Some((line, false)) if line > 0 => break,
            Some((_, true)) => panic!("share 1 finished before it could be killed"),
            _ => {}
        }
        if let Ok(Some(status)) = pods[1].try_wait() {
            panic!("share 1 ended ({status}) before it could be killed");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(300), "share 1: no progress");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Cmd::new("kill").args(["-9", "--", &format!("-{}", pods[1].id())]).assert_success();
    let killed = pods.remove(1).wait_with_output().unwrap();
    assert!(!killed.status.success());
    let (line, finished) = state_line(&state1).unwrap();
    assert!(!finished && line > 0, "share 1 was killed mid-import (line {line})");
    for (i, p) in [0, 2].into_iter().zip(pods) {
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success(), "share {i}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("shard {i}/{N}")));
    }
    // The Job controller's retry of index 1: the same script, the same files.
    let (_, stderr) = pod_output(&mut pod(&copy, Some(1), &env), "share 1, retried");
    assert!(stderr.contains("resuming after input line"), "{stderr}");
    assert!(stderr.contains("shard 1/3"), "{stderr}");

    let (stdout, _) = pod_output(&mut pod(&verify, None, &env), "shop-verify");
    assert!(stdout.contains("target == the 3 shares of the source"), "{stdout}");
    // Beyond the manifest: the live source has the sums the Job found in the target.
    let source_sums = group_lines(run("decant-checksum").arg(m.url(&src)).assert_success().stdout_str());
    assert_eq!(source_sums.len(), 3, "{source_sums:?}");
    assert_eq!(group_lines(&wd.read_to_string("shop-target.b3")), source_sums);
    assert_eq!(pg.query(&dst, "SELECT count(*), count(DISTINCT id) FROM t_int"), "150000|150000");
    assert_eq!(pg.query(&dst, "SELECT count(*) FROM pg_tables WHERE tablename = 'decant_import_state'"), "0");
    // The killed share compared live on both sides (integer keys are cut
    // alike in both stores).
    run("decant-diff").args(["--shard", "1/3", "--tables", "t_int", &m.url(&src), &pg.url(&dst)]).assert_success();
    // The verify Job fails when the target lost a row.
    pg.query(&dst, "DELETE FROM t_text WHERE v = 1234");
    let out = pod(&verify, None, &env).output().unwrap();
    assert!(!out.status.success(), "shop-verify passed with a row missing");
}

#[test]
fn k8s_redis_cluster_copy_by_slot_shares_equals_the_source() {
    let jobs = k8s_jobs("redis-cluster-copy.yaml");
    let copy = check_indexed_job(&jobs, "cache-copy");
    let verify = job_script(&jobs, "cache-verify");
    let source = decant_tests::redis_cluster();
    let target = decant_tests::redis_cluster();
    for i in 0..300 {
        source.cli(["SET", &format!("user:{i}"), &i.to_string()]);
        if i % 3 == 0 {
            source.cli(["RPUSH", &format!("{{q{}}}:jobs:{i}", i % 5), "a", "b", &i.to_string()]);
        }
    }
    for node in source.nodes() {
        assert!(node.cli(["DBSIZE"]).parse::<u32>().unwrap() > 0, "every master holds keys");
    }
    let wd = Workdir::new("k8s-cache");
    const N: u32 = 3;
    let env = [
        ("SOURCE_URL", source.url()),
        ("TARGET_URL", target.url()),
        ("SHARES", wd.path().display().to_string()),
        ("N", N.to_string()),
    ];
    let pods: Vec<std::process::Child> =
        (0..N).map(|i| pod(&copy, Some(i), &env).spawn().expect("starting a pod")).collect();
    let mut union = BTreeMap::new();
    for (i, p) in pods.into_iter().enumerate() {
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success(), "share {i}: {}", String::from_utf8_lossy(&out.stderr));
        let file = wd.join(format!("cache-share-{i}.ndjson.zst"));
        let text = Cmd::new("zstd").args(["-dc"]).arg(&file).assert_success();
        let part = parse(&text);
        assert_eq!(part.shard.as_deref(), Some(format!("{i}/{N}").as_str()));
        for row in part.rows {
            assert!(union.insert(row.clone(), i).is_none(), "{row} in two shares");
        }
    }
    assert_eq!(union.len(), 400, "the shares hold every key once");
    let (stdout, _) = pod_output(&mut pod(&verify, None, &env), "cache-verify");
    assert!(stdout.contains("target == the 3 shares of the source"), "{stdout}");
    let keys = |c: &decant_tests::RedisCluster| {
        c.nodes().iter().map(|n| n.cli(["DBSIZE"]).parse::<u32>().unwrap()).sum::<u32>()
    };
    assert_eq!(keys(&target), 400);
    target.cli(["DEL", "user:17"]);
    assert!(!pod(&verify, None, &env).output().unwrap().status.success(), "cache-verify passed with a key missing");
}

// ---------------------------------------------------------------------------
// Text and composite keys cut without counting (issue 17): boundaries
// interpolated between MIN and MAX, ordered by the server in the column's
// collation, read by index range scans.

/// Which SQL dialect a table list is written for.
#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    MariaDb,
    Postgres,
    Sqlite,
}

/// `INSERT INTO table VALUES (...), ...` of single-quoted text keys with `v`.
fn insert_keys(table: &str, keys: &[String]) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let rows: Vec<String> =
        keys.iter().enumerate().map(|(i, k)| format!("('{}', {i})", k.replace('\'', "''"))).collect();
    format!("INSERT INTO {table} VALUES {};\n", rows.join(", "))
}

/// 32 hex digits per key, as md5 keys look (splitmix64, no crate needed).
fn hash_keys(n: u64) -> Vec<String> {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..n).map(|i| format!("{:016x}{:016x}", mix(2 * i), mix(2 * i + 1))).collect()
}

/// Keys with prefixes that byte order and the case-insensitive collations
/// order differently (`Z` < `_` < `a` in bytes; `a` < `Z` < `_` in
/// utf8mb4_general_ci; `_` < `a` < `Z` in SQLite's NOCASE).
fn mixed_case_keys() -> Vec<String> {
    let prefixes = ["_", "Z", "a", "z_", "A_", "Za", "_a", "aZ", "ZZ", "__", "a-b", "A.B"];
    (0..120).map(|i| format!("{}{i}", prefixes[i % prefixes.len()])).collect()
}

fn non_ascii_keys(wide: bool) -> Vec<String> {
    let narrow = ["é", "e", "E", "ü", "z", "ß", "ñ", "_", "Z", "a"];
    let all = ["é", "e", "E", "日本", "ü", "z", "😀", "Ω", "ß", "ñ", "日", "本日"];
    let prefixes: &[&str] = if wide { &all } else { &narrow };
    (0..100).map(|i| format!("{}{i}", prefixes[i % prefixes.len()])).collect()
}

/// The edge-case tables of one dialect, and the row count of its export.
fn text_key_tables(dialect: Dialect) -> (String, usize) {
    let (ci, uni) = match dialect {
        Dialect::MariaDb => ("VARCHAR(40) COLLATE utf8mb4_general_ci", "VARCHAR(40) COLLATE utf8mb4_unicode_ci"),
        // ICU: a nondeterministic case-insensitive collation, and one whose
        // order is not per character (punctuation, case and accents weigh less).
        Dialect::Postgres => ("VARCHAR(40) COLLATE ci", "TEXT COLLATE \"en-x-icu\""),
        Dialect::Sqlite => ("TEXT COLLATE NOCASE", "TEXT"),
    };
    let mut sql = String::new();
    if dialect == Dialect::Postgres {
        sql.push_str("CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);\n");
    }
    sql.push_str(&format!(
        "CREATE TABLE t_ci (k {ci} PRIMARY KEY, v INT);\n\
         CREATE TABLE t_uni (k {uni} PRIMARY KEY, v INT);\n\
         CREATE TABLE t_prefix (k VARCHAR(60) PRIMARY KEY, v INT);\n\
         CREATE TABLE t_empty (k VARCHAR(10) PRIMARY KEY, v INT);\n\
         CREATE TABLE t_one (k VARCHAR(10) PRIMARY KEY, v INT);\n\
         CREATE TABLE t_ti (name VARCHAR(20){}, n INT NOT NULL, v INT, PRIMARY KEY (name, n));\n\
         CREATE TABLE t_hash (k CHAR(32) PRIMARY KEY, v INT);\n\
         CREATE TABLE t_num (k VARCHAR(20) PRIMARY KEY, v INT);\n",
        // SQLite lets a primary-key column of a rowid table hold NULL.
        if dialect == Dialect::Sqlite { "" } else { " NOT NULL" }
    ));
    let mut rows = 0;
    let mut add = |table: &str, keys: Vec<String>| {
        rows += keys.len();
        sql.push_str(&insert_keys(table, &keys));
    };
    add("t_ci", mixed_case_keys());
    add("t_uni", non_ascii_keys(true));
    add(
        "t_prefix",
        std::iter::once(String::new())
            .chain((0..80).map(|i| i.to_string()))
            .map(|s| format!("order/2024/{s}"))
            .collect(),
    );
    add("t_one", vec!["only".into()]);
    add("t_hash", hash_keys(3000));
    add("t_num", (0..3000).map(|i| format!("user:{:06}", i * 333)).collect());
    let names = ["ann", "Bob", "_x", "Zed", "émile", "日本"];
    let ti: Vec<String> =
        (0..120).map(|i| format!("('{}', {}, {i})", names[i % names.len()], i / names.len())).collect();
    sql.push_str(&format!("INSERT INTO t_ti VALUES {};\n", ti.join(", ")));
    rows += ti.len();
    if dialect == Dialect::Sqlite {
        sql.push_str("INSERT INTO t_ti VALUES (NULL, 1, -1), (NULL, 2, -2);\n");
        rows += 2;
    }
    if dialect == Dialect::MariaDb {
        // A latin1 column: the boundaries are converted into its charset.
        sql.push_str("CREATE TABLE t_latin (k VARCHAR(40) CHARACTER SET latin1 PRIMARY KEY, v INT);\n");
        sql.push_str(&insert_keys("t_latin", &non_ascii_keys(false)));
        rows += 100;
    }
    (sql, rows)
}

/// Exports `tables` as `n` shares and returns each share's row count per table.
fn share_counts(tool: &str, url: &str, tables: &str, n: u32) -> Vec<BTreeMap<String, usize>> {
    (0..n)
        .map(|i| {
            let out = run(tool).args(["--url", url, "--tables", tables, "--shard", &format!("{i}/{n}")]);
            let mut counts = BTreeMap::new();
            for line in parse(&out.assert_success()).rows {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                *counts.entry(v["table"].as_str().unwrap().to_owned()).or_insert(0) += 1;
            }
            counts
        })
        .collect()
}

/// Hash-like and numbered keys split evenly: each of 4 shares holds 15-35%.
fn check_even(tool: &str, url: &str) {
    let counts = share_counts(tool, url, "t_hash,t_num", 4);
    for table in ["t_hash", "t_num"] {
        let per: Vec<usize> = counts.iter().map(|c| c.get(table).copied().unwrap_or(0)).collect();
        assert_eq!(per.iter().sum::<usize>(), 3000, "{tool} {table}: {per:?}");
        assert!(per.iter().all(|n| (450..=1050).contains(n)), "{tool} {table}: uneven shares {per:?}");
    }
}

/// Every text-key table of `tool` split N = 1, 3, 7 ways (disjoint, covering,
/// same digest when combined), an empty and a one-row table included.
fn check_text_keys(tool: &str, url: &str, rows: usize, wd: &Workdir) {
    let all = check_shards(tool, &["--url", url], rows);
    assert_eq!(rows_of(&all, "t_empty").count(), 0);
    assert_eq!(rows_of(&all, "t_one").count(), 1);
    assert_eq!(rows_of(&all, "t_ci").count(), 120);
    check_even(tool, url);
    // The shares' checksums add up to the whole export's.
    let whole = run(tool).args(["--url", url]).assert_success();
    let expected = group_lines(run("decant-checksum").stdin_bytes(whole.stdout).assert_success().stdout_str());
    let files = share_sums(wd, tool, &["--url", url], 5);
    let total = run("decant-checksum").arg("--combine").args(&files).assert_success();
    assert_eq!(group_lines(total.stdout_str()), expected, "{tool}: combined sums");
    // A key with one value is not split: share 0 reads it.
    for i in 0..3 {
        let out = run(tool).args(["--url", url, "--shard", &format!("{i}/3"), "--tables", "t_one"]).assert_success();
        assert_eq!(parse(&out).rows.len(), usize::from(i == 0), "{tool}: the one row is in share 0 only");
    }
}

#[test]
fn mariadb_text_keys_split_in_the_columns_collation() {
    let m = mariadb();
    let db = m.fresh_database("shard_text");
    let (sql, rows) = text_key_tables(Dialect::MariaDb);
    m.query(&db, &sql);
    let url = m.url(&db);
    let wd = Workdir::new("shard-text-mariadb");
    check_text_keys("mysql-export", &url, rows, &wd);
    check_shards("mysql-export", &["--url", &url, "--jobs", "2", "--tables", "t_ci,t_ti,t_latin"], 340);
}

#[test]
fn postgres_text_keys_split_in_the_columns_collation() {
    let pg = postgres();
    let db = pg.fresh_database("shard_text");
    let (sql, rows) = text_key_tables(Dialect::Postgres);
    pg.query(&db, &sql);
    let url = pg.url(&db);
    let wd = Workdir::new("shard-text-pg");
    check_text_keys("pg-export", &url, rows, &wd);
}

#[test]
fn sqlite_text_keys_split_in_the_columns_collation() {
    let wd = Workdir::new("shard-text-sqlite");
    let file = wd.join("s.db");
    let (sql, rows) = text_key_tables(Dialect::Sqlite);
    Cmd::new("sqlite3").arg(&file).stdin_bytes(sql).assert_success();
    let url = format!("sqlite://{}", file.display());
    check_text_keys("sqlite-export", &url, rows, &wd);
    // The NULL keys of the composite key are in share 0.
    let first = run("sqlite-export").args(["--url", &url, "--tables", "t_ti", "--shard", "0/3"]).assert_success();
    assert_eq!(parse(&first).rows.iter().filter(|r| r.contains(r#""name":null"#)).count(), 2);
}

/// The statements on the `t_explain_*` tables: (bounds and rankings, data queries).
fn explain_statements<'a>(statements: impl Iterator<Item = &'a str>) -> (Vec<String>, Vec<String>) {
    let mine: Vec<String> = statements.filter(|q| q.contains("t_explain_")).map(str::to_owned).collect();
    for q in &mine {
        assert!(!q.contains("COUNT(") && !q.contains("OFFSET"), "a share counted rows: {q}");
    }
    mine.into_iter().partition(|q| q.starts_with("SELECT MIN(") || q.starts_with("SELECT (SELECT MIN("))
}

const EXPLAIN_SHARES: u32 = 4;

#[test]
fn mariadb_text_key_shares_are_index_range_scans() {
    let m = mariadb();
    let db = m.fresh_database("shard_explain");
    m.query(
        &db,
        "CREATE TABLE t_explain_ci (k VARCHAR(40) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT);\n\
         CREATE TABLE t_explain_latin (k VARCHAR(40) CHARACTER SET latin1 PRIMARY KEY, v INT);\n\
         CREATE TABLE t_explain_ti (name VARCHAR(40) NOT NULL, n INT NOT NULL, v INT, PRIMARY KEY (name, n));\n\
         INSERT INTO t_explain_ci SELECT CONCAT(ELT(seq % 4 + 1, 'Ab', 'ab', 'Z', '_'), MD5(seq)), seq FROM seq_1_to_20000;\n\
         INSERT INTO t_explain_latin SELECT CONCAT(ELT(seq % 3 + 1, 'é', 'e', 'É'), MD5(seq)), seq FROM seq_1_to_20000;\n\
         INSERT INTO t_explain_ti SELECT CONCAT('n', MD5(seq % 200)), seq, seq FROM seq_1_to_20000;\n\
         ANALYZE TABLE t_explain_ci, t_explain_latin, t_explain_ti;",
    );
    let url = m.url(&db);
    // The server's general log holds the exporter's statements as sent.
    m.query("", "SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1");
    for i in 0..EXPLAIN_SHARES {
        let share = format!("{i}/{EXPLAIN_SHARES}");
        run("mysql-export").args(["--url", &url, "--tables", "t_explain_*", "--shard", &share]).assert_success();
    }
    m.query("", "SET GLOBAL general_log = 0");
    let logged = m.query_rows(
        "",
        "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log WHERE argument LIKE '%t_explain_%'",
    );
    let (bounds, data) = explain_statements(logged.iter().filter_map(|r| r[0].as_deref()));
    assert_eq!(bounds.len(), 3 * EXPLAIN_SHARES as usize, "{bounds:#?}");
    assert_eq!(data.len(), 3 * EXPLAIN_SHARES as usize, "{data:#?}");
    for q in &bounds {
        let plan = m.query(&db, &format!("EXPLAIN {q}"));
        assert!(plan.contains("Select tables optimized away"), "not index lookups: {q}\n{plan}");
    }
    for q in &data {
        // id, select_type, table, type, …
        let plan = m.query_rows(&db, &format!("EXPLAIN {q}"));
        assert_eq!(plan.len(), 1, "{q}\n{plan:?}");
        assert_eq!(plan[0][3].as_deref(), Some("range"), "not a range scan: {q}\n{plan:?}");
        assert_eq!(plan[0][5].as_deref(), Some("PRIMARY"), "{q}\n{plan:?}");
    }
}

#[test]
fn postgres_text_key_shares_are_index_range_scans() {
    let pg = postgres();
    let db = pg.fresh_database("shard_explain");
    pg.query(
        &db,
        &format!(
            "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);\n\
             CREATE TABLE t_explain_ci (k VARCHAR(40) COLLATE ci PRIMARY KEY, v INT);\n\
             CREATE TABLE t_explain_icu (k TEXT COLLATE \"en-x-icu\" PRIMARY KEY, v INT);\n\
             CREATE TABLE t_explain_bpchar (k CHAR(34) PRIMARY KEY, v INT);\n\
             CREATE TABLE t_explain_ti (name TEXT NOT NULL, n INT NOT NULL, v INT, PRIMARY KEY (name, n));\n\
             INSERT INTO t_explain_ci SELECT (ARRAY['Ab', 'ab', 'Z', '_'])[s % 4 + 1] || md5(s::text), s FROM generate_series(1, 20000) s;\n\
             INSERT INTO t_explain_icu SELECT (ARRAY['é', 'e', 'É', '日本'])[s % 4 + 1] || md5(s::text), s FROM generate_series(1, 20000) s;\n\
             INSERT INTO t_explain_bpchar SELECT md5(s::text), s FROM generate_series(1, 20000) s;\n\
             INSERT INTO t_explain_ti SELECT 'n' || md5((s % 200)::text), s, s FROM generate_series(1, 20000) s;\n\
             ANALYZE;\n\
             ALTER DATABASE \"{db}\" SET log_statement = 'all';"
        ),
    );
    let url = pg.url(&db);
    for i in 0..EXPLAIN_SHARES {
        let share = format!("{i}/{EXPLAIN_SHARES}");
        run("pg-export").args(["--url", &url, "--tables", "t_explain_*", "--shard", &share]).assert_success();
    }
    let log = std::fs::read_to_string(pg.log_path()).unwrap();
    let (bounds, data) = explain_statements(log.lines().filter_map(|l| l.split_once("statement: ").map(|(_, q)| q)));
    assert_eq!(bounds.len(), 4 * EXPLAIN_SHARES as usize, "{bounds:#?}");
    assert_eq!(data.len(), 4 * EXPLAIN_SHARES as usize, "{data:#?}");
    for q in &bounds {
        let plan = pg.query(&db, &format!("EXPLAIN {q}"));
        assert!(plan.contains("Index Only Scan") && !plan.contains("Seq Scan"), "not index lookups: {q}\n{plan}");
    }
    for q in &data {
        // Can the key's index serve the share's conditions? (For a share
        // of a small table the planner would rather scan the heap.)
        let plan = pg.query(&db, &format!("SET enable_seqscan = off; SET enable_bitmapscan = off; EXPLAIN {q}"));
        assert!(plan.contains("Index Scan using t_explain_"), "not an index scan: {q}\n{plan}");
        let first_share = !q.contains(">=");
        let cond =
            plan.lines().find(|l| l.contains("Index Cond:")).unwrap_or_else(|| panic!("no Index Cond: {q}\n{plan}"));
        assert!(first_share || cond.contains(">="), "the lower bound is not an index condition: {q}\n{plan}");
        assert!(!plan.contains("Filter:"), "a bound is filtered, not an index condition: {q}\n{plan}");
    }
}
