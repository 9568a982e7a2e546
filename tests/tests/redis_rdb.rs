//! `redis-export --rdb FILE` against files a real server wrote with `SAVE`,
//! each test on both generations the harness runs (Redis 7.0 and Valkey 9.1,
//! whose files carry the `VALKEY` magic and, for hashes with field expiry, its
//! own encodings): the records equal the live export's of the same
//! server (element by element, same digests per key group, same DUMP
//! payloads), `redis-import` of them reproduces the data, filters, expiry,
//! stdin and zstd input work, and damaged or truncated files are errors
//! naming the byte offset, never a panic. Older encodings Redis 7 no longer
//! writes are checked with hand-made files in the exporter's unit tests
//! (`export/src/redis/rdb/tests.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use decant_record::{Record, RedisRecord, RedisValue};
use decant_tests::{redis_on, run, RedisOptions, RedisServer, ServerKind, Workdir};
use redis::Value;

fn connect(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

fn q(c: &mut redis::Connection, args: &[&[u8]]) -> Value {
    let name = std::str::from_utf8(args[0]).unwrap();
    let mut cmd = redis::cmd(name);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Every type in its small (listpack/intset) and large (hashtable,
/// skiplist, quicklist) encoding, the hard values, several databases; on a
/// server with hash field expiry (Valkey 9.1), fields that expire in small
/// and large hashes.
fn fill(server: &RedisServer) {
    let mut c = connect(&server.url());
    let in_a_day = (now_ms() + 86_400_000).to_string();
    q(&mut c, &[b"SET", b"str:plain", b"hello world"]);
    q(&mut c, &[b"SET", b"bin:\xff\xfe\x00key", b"\x00\x01\xff\x80 value\r\n"]);
    q(&mut c, &[b"SET", b"str:empty", b""]);
    for (k, v) in [("str:int", "12345"), ("str:neg", "-42"), ("str:big", "9223372036854775807"), ("str:i8", "7")] {
        q(&mut c, &[b"SET", k.as_bytes(), v.as_bytes()]);
    }
    q(&mut c, &[b"SET", b"str:lead0", b"007"]);
    // Long and compressible: LZF in the file (rdbcompression is on by default).
    q(&mut c, &[b"SET", b"str:lzf", "abcdefgh".repeat(500).as_bytes()]);
    q(&mut c, &[b"SET", b"str:utf8", "héllo ✓ 🎉".as_bytes()]);
    q(&mut c, &[b"SET", b"session:abc", b"token", b"PX", b"3600000"]);
    q(&mut c, &[b"HSET", b"hash:small", b"name", b"prod", b"\xff\xfefield", b"\xc3\x28", b"empty", b"", b"n", b"17"]);
    q(&mut c, &[b"PEXPIREAT", b"hash:small", in_a_day.as_bytes()]);
    q(&mut c, &[b"RPUSH", b"list:small", b"a", b"", b"\xff", b"{\"json\":1}", b"a", b"-5", b"100000"]);
    q(&mut c, &[b"SADD", b"set:ints", b"1", b"2", b"300", b"-70000", b"9223372036854775807"]);
    q(&mut c, &[b"SADD", b"set:strs", b"x", b"y", b"\x80", b""]);
    q(
        &mut c,
        &[
            b"ZADD",
            b"zset:small",
            b"+inf",
            b"top",
            b"-inf",
            b"bottom",
            b"0.1",
            b"tenth",
            b"0.3333333333333333",
            b"third",
            b"1e300",
            b"huge",
            b"-2.5e-300",
            b"tiny",
            b"12345678901234567",
            b"\xffbin",
            b"0",
            b"",
            b"42",
            b"int",
        ],
    );
    let mut p = redis::pipe();
    for i in 0..300 {
        p.cmd("HSET").arg("hash:large").arg(format!("f{i}")).arg(format!("v{i}")).ignore();
        p.cmd("SADD").arg("set:large").arg(format!("s{i}")).ignore();
        p.cmd("SADD").arg("set:largeints").arg(i * 7).ignore();
        p.cmd("ZADD").arg("zset:large").arg(i as f64 * 1.25 - 100.0).arg(format!("m{i}")).ignore();
    }
    p.cmd("HSET").arg("hash:large").arg(b"\xff\x00").arg(b"\x01\xfe").ignore();
    p.cmd("ZADD").arg("zset:large").arg("+inf").arg("pinf").arg("-inf").arg("ninf").ignore();
    p.cmd("ZADD").arg("zset:large").arg("0.10000000000000001").arg("digits17").ignore();
    for i in 0..2500 {
        p.cmd("RPUSH").arg("list:large").arg(format!("element-{i}-{}", "x".repeat(i % 40))).ignore();
    }
    for i in 0..250 {
        p.cmd("XADD")
            .arg("stream:big")
            .arg(format!("{}-{}", 1000 + i / 3, i % 3))
            .arg("n")
            .arg(i)
            .arg("k")
            .arg("v")
            .ignore();
    }
    p.cmd("XGROUP").arg("CREATE").arg("stream:big").arg("readers").arg("1050-0").ignore();
    p.query::<()>(&mut c).unwrap();
    // A stream with a deleted entry, two groups, consumers, pending entries.
    q(&mut c, &[b"XADD", b"stream:1", b"1-1", b"f", b"v", b"\xff", b"\x00bin"]);
    q(&mut c, &[b"XADD", b"stream:1", b"1-2", b"dup", b"1", b"dup", b"2"]);
    q(&mut c, &[b"XADD", b"stream:1", b"1-3", b"f", b"w", b"\xff", b"x"]);
    q(&mut c, &[b"XADD", b"stream:1", b"2-0", b"gone", b"soon"]);
    q(&mut c, &[b"XDEL", b"stream:1", b"2-0"]);
    q(&mut c, &[b"XGROUP", b"CREATE", b"stream:1", b"g1", b"0"]);
    q(&mut c, &[b"XREADGROUP", b"GROUP", b"g1", b"alice", b"COUNT", b"2", b"STREAMS", b"stream:1", b">"]);
    q(&mut c, &[b"XREADGROUP", b"GROUP", b"g1", b"\xffcarol", b"COUNT", b"1", b"STREAMS", b"stream:1", b">"]);
    q(&mut c, &[b"XCLAIM", b"stream:1", b"g1", b"alice", b"0", b"1-3"]);
    q(&mut c, &[b"XGROUP", b"CREATE", b"stream:1", b"g2", b"$"]);
    q(&mut c, &[b"XGROUP", b"CREATECONSUMER", b"stream:1", b"g2", b"bob"]);
    q(&mut c, &[b"XGROUP", b"CREATE", b"stream:empty", b"g", b"0", b"MKSTREAM"]);
    // Over 8 MiB, so written in parts: incompressible (a plain string in the
    // file, streamed) and repetitive (LZF-compressed in the file).
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..9 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    q(&mut c, &[b"SET", b"big:plain", &noise]);
    let pattern: Vec<u8> = (0..9 << 20).map(|i| (i % 251) as u8).collect();
    q(&mut c, &[b"SET", b"big:lzf", &pattern]);
    // Other databases.
    let mut c1 = connect(&server.url_db(1));
    q(&mut c1, &[b"SET", b"db1:key", b"one"]);
    q(&mut c1, &[b"HSET", b"db1:hash", b"a", b"1"]);
    let mut c5 = connect(&server.url_db(5));
    q(&mut c5, &[b"RPUSH", b"db5:list", b"x", b"y"]);
    q(&mut c5, &[b"SET", b"str:plain", b"same key, other db"]);
    if server.kind() == ServerKind::Valkey9 {
        // Field expiry (Redis 7.4+ / Valkey 9): a listpack hash with some
        // fields expiring, a key expiry on top, and the hashtable-encoded
        // big hash with a few expiring fields (written in parts at chunk 100).
        q(&mut c, &[b"HSET", b"hash:hfe", b"a", b"1", b"b", b"2", b"\xff", b"bin"]);
        q(&mut c, &[b"HPEXPIREAT", b"hash:hfe", in_a_day.as_bytes(), b"FIELDS", b"2", b"a", b"\xff"]);
        q(&mut c, &[b"PEXPIREAT", b"hash:hfe", (now_ms() + 2 * 86_400_000).to_string().as_bytes()]);
        let later = (now_ms() + 3_600_000).to_string();
        q(&mut c, &[b"HPEXPIREAT", b"hash:large", later.as_bytes(), b"FIELDS", b"3", b"f1", b"f150", b"\xff\x00"]);
    }
}

fn save(server: &RedisServer, dir: &Workdir, name: &str) -> PathBuf {
    let mut c = connect(&server.url());
    assert_eq!(
        q(&mut c, &[b"CONFIG", b"GET", b"rdbcompression"]),
        Value::Array(vec![Value::BulkString(b"rdbcompression".to_vec()), Value::BulkString(b"yes".to_vec())])
    );
    q(&mut c, &[b"SAVE"]);
    let to = dir.join(name);
    std::fs::copy(server.dir().join("dump.rdb"), &to).unwrap();
    to
}

fn records(stream: &[u8]) -> Vec<RedisRecord> {
    std::str::from_utf8(stream)
        .unwrap()
        .lines()
        .filter_map(|l| match Record::decode(l.as_bytes()).unwrap_or_else(|e| panic!("{e}: {l}")) {
            Record::Redis(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// Whole keys, parts joined and put in one order, by (db, key); with the
/// DUMP payload of keys that came in one line.
fn whole_keys(recs: Vec<RedisRecord>) -> BTreeMap<(u32, Vec<u8>), RedisRecord> {
    let mut out: BTreeMap<(u32, Vec<u8>), RedisRecord> = BTreeMap::new();
    for r in recs {
        let id = (r.db, r.key.clone());
        match out.get_mut(&id) {
            None => {
                assert!(r.part.is_none() || r.part == Some(0), "key {:?} starts at part {:?}", r.key, r.part);
                out.insert(id, r);
            }
            Some(prev) => {
                assert!(r.part.is_some(), "key {:?} written twice", String::from_utf8_lossy(&r.key));
                assert_eq!(prev.expire_at_ms, r.expire_at_ms);
                prev.append_part(r).unwrap();
            }
        }
    }
    for r in out.values_mut() {
        r.value.sort_canonical();
        if let RedisValue::Hash(h) = &mut r.value {
            h.sort();
        }
        r.field_expire_at_ms.sort();
        r.part = None;
        r.last = false;
    }
    out
}

fn live_export(server: &RedisServer, dbs: &[u32], extra: &[&str]) -> Vec<u8> {
    let mut all = Vec::new();
    for db in dbs {
        all.extend(run("redis-export").args(["--url", &server.url_db(*db)]).args(extra).assert_success().stdout);
    }
    all
}

fn rdb_export(file: &Path, extra: &[&str]) -> decant_tests::Output {
    run("redis-export").arg("--rdb").arg(file).args(extra).assert_success()
}

fn assert_same_keys(live: &BTreeMap<(u32, Vec<u8>), RedisRecord>, rdb: &BTreeMap<(u32, Vec<u8>), RedisRecord>) {
    let names = |m: &BTreeMap<(u32, Vec<u8>), RedisRecord>| {
        m.keys().map(|(db, k)| format!("{db}/{}", String::from_utf8_lossy(k))).collect::<Vec<_>>()
    };
    assert_eq!(names(live), names(rdb), "different key sets");
    for (id, l) in live {
        let r = &rdb[id];
        let name = String::from_utf8_lossy(&id.1);
        assert_eq!(l.value, r.value, "key {name}: values differ");
        assert_eq!(l.expire_at_ms, r.expire_at_ms, "key {name}: expiry");
        assert_eq!(l.field_expire_at_ms, r.field_expire_at_ms, "key {name}: field expiries");
        assert_eq!(l.dump, r.dump, "key {name}: DUMP payloads differ");
    }
}

/// `decant-checksum` of a stream: per group digest, count and name.
fn checksum(dir: &Workdir, name: &str, stream: &[u8]) -> String {
    let path = dir.write(name, stream);
    let out = run("decant-checksum").arg(&path).assert_success();
    // Drop the file name and sealing notes: only the digest lines compare.
    let digests: Vec<&str> = out.stdout_str().lines().filter(|l| l.len() > 64 && l.as_bytes()[64] == b' ').collect();
    assert!(digests.len() >= 8, "too few groups in: {}", out.stdout_str());
    digests.join("\n")
}

fn an_rdb_file_exports_the_same_records_as_the_live_server(kind: ServerKind) {
    let dir = Workdir::new("rdb_same");
    let server = redis_on(kind);
    fill(&server);
    let file = save(&server, &dir, "dump.rdb");

    for chunk in ["100000", "100"] {
        let live = live_export(&server, &[0, 1, 5], &["--chunk-size", chunk]);
        let rdb = rdb_export(&file, &["--chunk-size", chunk]).stdout;
        let live_recs = records(&live);
        let rdb_recs = records(&rdb);
        if chunk == "100" {
            // Big keys came in parts, as in the live export.
            for key in ["hash:large", "set:large", "zset:large", "list:large", "stream:big"] {
                let parts: Vec<&RedisRecord> = rdb_recs.iter().filter(|r| r.key == key.as_bytes()).collect();
                assert!(parts.len() > 2, "{key}: {} records", parts.len());
                assert!(parts.iter().enumerate().all(|(i, p)| p.part == Some(i as u32)), "{key}: part numbers");
                assert!(parts.iter().all(|p| p.value.len() <= 100), "{key}: a part over the chunk size");
                assert!(parts.last().unwrap().last && parts.iter().filter(|p| p.last).count() == 1, "{key}: last");
            }
        }
        assert_same_keys(&whole_keys(live_recs), &whole_keys(rdb_recs));
        assert_eq!(checksum(&dir, "live.ndjson", &live), checksum(&dir, "rdb.ndjson", &rdb), "chunk {chunk}: digests");
    }

    // The DUMP payloads are the server's own, byte for byte.
    let live = live_export(&server, &[0, 1, 5], &["--dump"]);
    let rdb = rdb_export(&file, &["--dump"]).stdout;
    let rdb_recs = records(&rdb);
    assert!(rdb_recs.iter().all(|r| r.dump.is_some() != r.part.is_some()), "every key in one line has a payload");
    for key in [&b"big:plain"[..], b"big:lzf"] {
        let parts: Vec<_> = rdb_recs.iter().filter(|r| r.key == key).map(|r| (r.part, r.last, r.value.len())).collect();
        assert_eq!(parts, vec![(Some(0), false, 8 << 20), (Some(1), true, 1 << 20)]);
    }
    assert_same_keys(&whole_keys(records(&live)), &whole_keys(rdb_recs));

    // The hard values, as the record format spells them.
    let recs = whole_keys(records(&rdb_export(&file, &[]).stdout));
    let get = |db: u32, k: &[u8]| &recs[&(db, k.to_vec())].value;
    assert_eq!(get(0, b"str:lzf"), &RedisValue::String("abcdefgh".repeat(500).into_bytes()));
    assert_eq!(get(0, b"str:big"), &RedisValue::String(b"9223372036854775807".to_vec()));
    assert_eq!(get(5, b"str:plain"), &RedisValue::String(b"same key, other db".to_vec()));
    let RedisValue::ZSet(z) = get(0, b"zset:small") else { panic!() };
    assert_eq!(z.first().unwrap(), &(b"bottom".to_vec(), f64::NEG_INFINITY));
    assert!(z.contains(&(b"\xffbin".to_vec(), 12345678901234567.0)));
    if kind == ServerKind::Valkey9 {
        // The field expiries came through (so the comparisons above compared them).
        let expiring = |k: &[u8]| -> Vec<Vec<u8>> {
            recs[&(0, k.to_vec())].field_expire_at_ms.iter().map(|(f, _)| f.clone()).collect()
        };
        assert_eq!(expiring(b"hash:hfe"), [b"a".to_vec(), b"\xff".to_vec()]);
        assert_eq!(expiring(b"hash:large"), [b"f1".to_vec(), b"f150".to_vec(), b"\xff\x00".to_vec()]);
    }
}

fn import_of_an_rdb_export_reproduces_the_server(kind: ServerKind) {
    let dir = Workdir::new("rdb_import");
    let source = redis_on(kind);
    fill(&source);
    let file = save(&source, &dir, "dump.rdb");
    for extra in [&["--chunk-size", "100"][..], &["--dump"][..]] {
        let target = redis_on(kind);
        let stream = rdb_export(&file, extra).stdout;
        run("redis-import").args(["--url", &target.url(), "--keep-db"]).stdin_bytes(stream).assert_success();
        let want = whole_keys(records(&live_export(&source, &[0, 1, 5], &[])));
        let got = whole_keys(records(&live_export(&target, &[0, 1, 5], &[])));
        assert_same_keys(&want, &got);
    }
}

fn filters_databases_stdin_and_zstd(kind: ServerKind) {
    let dir = Workdir::new("rdb_filters");
    let server = redis_on(kind);
    fill(&server);
    let file = save(&server, &dir, "dump.rdb");
    let keys = |out: &decant_tests::Output| -> Vec<(u32, String)> {
        let mut k: Vec<(u32, String)> = whole_keys(records(&out.stdout))
            .into_keys()
            .map(|(db, k)| (db, String::from_utf8_lossy(&k).into_owned()))
            .collect();
        k.sort();
        k
    };
    let out = rdb_export(&file, &["--db", "5"]);
    assert_eq!(keys(&out), vec![(5, "db5:list".to_owned()), (5, "str:plain".to_owned())]);
    let out = rdb_export(&file, &["--match", "db*", "--exclude", "*:hash"]);
    assert_eq!(keys(&out), vec![(1, "db1:key".to_owned()), (5, "db5:list".to_owned())]);
    let out = rdb_export(&file, &["--type", "stream", "--log-format", "json"]);
    assert_eq!(
        keys(&out),
        vec![(0, "stream:1".to_owned()), (0, "stream:big".to_owned()), (0, "stream:empty".to_owned())]
    );
    assert!(out.stderr.contains("\"group\":\"stream\"") && out.stderr.contains("\"written\":3"), "{}", out.stderr);

    let all = keys(&rdb_export(&file, &[]));
    let stdin = run("redis-export").args(["--rdb", "-"]).stdin_file(&file).assert_success();
    assert_eq!(keys(&stdin), all);
    // Compressed through the record crate's writer (a `.zst` name means zstd).
    let zst = dir.join("dump.rdb.zst");
    let mut w = decant_record::io::Output::create(Some(&zst)).unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(&file).unwrap()).unwrap();
    w.finish().unwrap();
    assert_eq!(std::fs::read(&zst).unwrap()[..4], decant_record::io::ZSTD_MAGIC);
    assert_eq!(keys(&rdb_export(&zst, &[])), all);
    let header = &records_header(&stdin.stdout);
    assert_eq!(header, "rdb:stdin");

    // --url and --rdb together is a usage error.
    run("redis-export").args(["--rdb", "x.rdb", "--url", &server.url()]).output().assert_code(2);
}

fn records_header(stream: &[u8]) -> String {
    let first = std::str::from_utf8(stream).unwrap().lines().next().unwrap();
    match Record::decode(first.as_bytes()).unwrap() {
        Record::Header(h) => h.source.unwrap_or_default(),
        other => panic!("no header: {other:?}"),
    }
}

fn expired_keys_are_skipped_and_counted(kind: ServerKind) {
    let dir = Workdir::new("rdb_expired");
    let server = redis_on(kind);
    let mut c = connect(&server.url());
    q(&mut c, &[b"SET", b"temp:soon", b"x", b"PX", b"1500"]);
    q(&mut c, &[b"SET", b"temp:later", b"y", b"EX", b"3600"]);
    let field_expiry = kind == ServerKind::Valkey9;
    if field_expiry {
        // A field that expires with the key's, one that stays.
        q(&mut c, &[b"HSET", b"temp:fields", b"soon", b"1", b"stays", b"2"]);
        q(&mut c, &[b"HPEXPIRE", b"temp:fields", b"1500", b"FIELDS", b"1", b"soon"]);
    }
    let file = save(&server, &dir, "dump.rdb");
    std::thread::sleep(Duration::from_millis(1700));
    let out = rdb_export(&file, &["--log-format", "json"]);
    let mut recs = records(&out.stdout);
    if field_expiry {
        let at = recs.iter().position(|r| r.key == b"temp:fields").expect("the hash with an expired field");
        let fields = recs.remove(at);
        assert_eq!(
            fields.value,
            RedisValue::Hash(vec![(b"stays".to_vec(), b"2".to_vec())]),
            "the expired field is left out"
        );
        assert!(fields.field_expire_at_ms.is_empty(), "{fields:?}");
        assert!(rdb_export(&file, &[]).stderr.contains("1 hash field(s) already expired (skipped)"));
    }
    assert_eq!(recs.iter().map(|r| r.key.as_slice()).collect::<Vec<_>>(), vec![&b"temp:later"[..]]);
    assert!(out.stderr.contains("\"skipped\":1"), "{}", out.stderr);
    assert!(out.stderr.contains("\"expired\":1"), "{}", out.stderr);
    let out = rdb_export(&file, &[]);
    assert!(out.stderr.contains("1 already expired"), "{}", out.stderr);
    let out = rdb_export(&file, &["--include-expired"]);
    assert_eq!(records(&out.stdout).len(), if field_expiry { 3 } else { 2 });
}

/// A real file cut short at many offsets, and damaged at many offsets:
/// always exit 2 with a message naming the byte offset, never a panic, never
/// a sealed (complete-looking) stream.
fn truncated_and_damaged_files_are_errors_never_panics(kind: ServerKind) {
    let dir = Workdir::new("rdb_damage");
    let server = RedisOptions::new().server(kind).start();
    let mut c = connect(&server.url());
    q(&mut c, &[b"SET", b"s", "compressible ".repeat(40).as_bytes()]);
    q(&mut c, &[b"HSET", b"h", b"f", b"v", b"g", b"12"]);
    q(&mut c, &[b"RPUSH", b"l", b"a", b"b", b"300"]);
    q(&mut c, &[b"SADD", b"i", b"1", b"2"]);
    q(&mut c, &[b"ZADD", b"z", b"1.5", b"m", b"-inf", b"n"]);
    q(&mut c, &[b"XADD", b"x", b"5-1", b"f", b"v"]);
    q(&mut c, &[b"XGROUP", b"CREATE", b"x", b"g", b"0"]);
    q(&mut c, &[b"XREADGROUP", b"GROUP", b"g", b"c", b"STREAMS", b"x", b">"]);
    q(&mut c, &[b"PEXPIRE", b"h", b"100000000"]);
    let file = save(&server, &dir, "dump.rdb");
    let bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    let check = |name: &str, data: &[u8], what: &str| {
        let p = dir.write(name, data);
        let out = run("redis-export").arg("--rdb").arg(&p).args(["--dump", "--chunk-size", "1"]).output();
        assert_eq!(out.code(), Some(2), "{what}: exit code; stderr: {}", out.stderr);
        assert!(out.stderr.contains("byte "), "{what}: no offset in: {}", out.stderr);
        assert!(!out.stdout_str().contains("\"kind\":\"end\""), "{what}: sealed a broken stream");
    };
    let step = (n / 150).max(1);
    for cut in (0..n).step_by(step).chain(n - 9..n) {
        check("cut.rdb", &bytes[..cut], &format!("cut at {cut} of {n}"));
    }
    for at in (9..n - 8).step_by(step) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x5a;
        check("flip.rdb", &damaged, &format!("byte {at} flipped"));
        // With the checksum zeroed ("none"), the parser meets the damage
        // itself: it may read a different value or stop, but never panics.
        damaged[n - 8..].fill(0);
        let p = dir.write("flip0.rdb", &damaged);
        let out = run("redis-export").arg("--rdb").arg(&p).args(["--dump", "--chunk-size", "1"]).output();
        match out.code() {
            // Read as other data (1: it now looks like a module value, reported).
            Some(0 | 1) => {}
            Some(2) => assert!(out.stderr.contains("byte "), "byte {at} flipped, no checksum: {}", out.stderr),
            other => panic!("byte {at} flipped, no checksum: exit {other:?}: {}", out.stderr),
        }
    }
    let out = run("redis-export").args(["--rdb"]).arg(dir.write("not.rdb", b"hello, not a dump")).output();
    assert_eq!(out.code(), Some(2));
    assert!(out.stderr.contains("not an RDB file"), "{}", out.stderr);
}

decant_tests::on_both_servers!(
    an_rdb_file_exports_the_same_records_as_the_live_server,
    import_of_an_rdb_export_reproduces_the_server,
    filters_databases_stdin_and_zstd,
    expired_keys_are_skipped_and_counted,
    truncated_and_damaged_files_are_errors_never_panics,
);
