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
