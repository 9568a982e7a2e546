//! What Redis 7.4+ / Valkey 9+ keep beside a key's value, live (issue 13):
//! hash field expiry, stream counters, module keys, function libraries, and
//! connections over a unix socket. Field expiry needs Valkey 9.1; the rest
//! runs on both server generations.

use std::time::{SystemTime, UNIX_EPOCH};

use decant_tests::{redis_on, run, RedisServer, ServerKind, Workdir};
use serde_json::Value as Json;

fn export(url: &str, extra: &[&str]) -> Vec<u8> {
    run("redis-export").args(["--url", url]).args(extra).assert_success().stdout
}

fn import(url: &str, stream: &[u8], extra: &[&str]) -> decant_tests::Output {
    run("redis-import").args(["--url", url]).args(extra).stdin_bytes(stream.to_vec()).output()
}

fn lines(stream: &[u8]) -> Vec<Json> {
    std::str::from_utf8(stream).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn key_lines<'a>(lines: &'a [Json], key: &str) -> Vec<&'a Json> {
    lines.iter().filter(|l| l["key"] == key).collect()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// `HPEXPIRETIME key FIELDS 1 field` as a number (-1 none, -2 no field).
fn field_expire_time(server: &RedisServer, key: &str, field: &str) -> i64 {
    server.cli(["HPEXPIRETIME", key, "FIELDS", "1", field]).parse().unwrap()
}

fn field_ttl(server: &RedisServer, key: &str, field: &str) -> i64 {
    server.cli(["HTTL", key, "FIELDS", "1", field]).parse().unwrap()
}

// ---------------------------------------------------------------------------
// Hash field expiry (Valkey 9.1)

/// A source with field expiry on small hashes and on a hash big enough to be
/// split in parts (`--chunk-size 50`).
fn fill_field_expiry(source: &RedisServer) {
    source.cli(["HSET", "h", "a", "1", "b", "2"]);
    source.cli(["HEXPIRE", "h", "1000", "FIELDS", "1", "a"]);
    source.cli(["HSET", "h2", "x", "1", "y", "2", "z", "3"]);
    source.cli(["HPEXPIRE", "h2", "5000000", "FIELDS", "2", "x", "z"]);
    source.cli(["EXPIRE", "h2", "9000"]);
    let mut args = vec!["HSET".to_owned(), "big".to_owned()];
    for i in 0..200 {
        args.push(format!("f{i:03}"));
        args.push(format!("v{i}"));
    }
    source.cli(&args);
    let mut expire = vec!["HEXPIRE".to_owned(), "big".to_owned(), "3000".to_owned(), "FIELDS".to_owned()];
    let fields: Vec<String> = (0..200).step_by(4).map(|i| format!("f{i:03}")).collect();
    expire.push(fields.len().to_string());
    expire.extend(fields);
    source.cli(&expire);
}

/// Every field's absolute expiry on the target equals the source's (so its
/// HTTL is within a second), fields without one have none.
fn assert_field_expiry_copied(source: &RedisServer, target: &RedisServer) {
    // The exact check is the absolute expiry below; the TTL only shows it was
    // not reset, with slack for a loaded machine between HEXPIRE and now.
    let ttl = field_ttl(target, "h", "a");
    assert!((900..=1000).contains(&ttl), "HTTL h a on the target: {ttl}");
    assert_eq!(field_expire_time(target, "h", "a"), field_expire_time(source, "h", "a"));
    assert_eq!(field_ttl(target, "h", "b"), -1);
    for (k, f) in [("h2", "x"), ("h2", "z"), ("h2", "y"), ("big", "f000"), ("big", "f001"), ("big", "f196")] {
        assert_eq!(field_expire_time(target, k, f), field_expire_time(source, k, f), "{k} {f}");
    }
    assert_eq!(target.cli(["HLEN", "big"]), "200");
    assert_eq!(target.cli(["HGET", "h2", "y"]), "2");
    let key_ttl: i64 = target.cli(["TTL", "h2"]).parse().unwrap();
    assert!((8990..=9000).contains(&key_ttl), "TTL h2 {key_ttl}");
}

#[test]
fn field_expiry_survives_export_and_import() {
    let source = redis_on(ServerKind::Valkey9);
    fill_field_expiry(&source);
    let stream = export(&source.url(), &["--chunk-size", "50"]);
    let all = lines(&stream);
    let h = key_lines(&all, "h");
    assert_eq!(h.len(), 1);
    let a_at = h[0]["field_expire_at_ms"]["a"].as_i64().expect("h carries a's expiry");
    assert_eq!(a_at, field_expire_time(&source, "h", "a"));
    assert!(h[0]["field_expire_at_ms"].get("b").is_none(), "b does not expire: {}", h[0]);
    // The big hash is in parts; each part carries its own fields' expiries.
    let parts = key_lines(&all, "big");
    assert!(parts.len() >= 4, "big should be split: {} line(s)", parts.len());
    let mut expiring = 0;
    for p in &parts {
        let fields = p["value"].as_object().unwrap();
        for (f, _) in p["field_expire_at_ms"].as_object().into_iter().flatten() {
            assert!(fields.contains_key(f), "a part names a field it does not hold: {p}");
            expiring += 1;
        }
    }
    assert_eq!(expiring, 50);

    // live → live, through a pipe.
    let target = redis_on(ServerKind::Valkey9);
    let out = run("redis-export")
        .args(["--url", &source.url(), "--chunk-size", "50"])
        .pipe(run("redis-import").args(["--url", &target.url()]))
        .assert_success();
    assert_eq!(out.code(), Some(0));
    assert_field_expiry_copied(&source, &target);

    // live → file → live.
    let dir = Workdir::new("field-expiry");
    let file = dir.path().join("backup.ndjson.zst");
    run("redis-export").args(["--url", &source.url(), "--chunk-size", "50", "-o"]).arg(&file).assert_success();
    let from_file = redis_on(ServerKind::Valkey9);
    run("redis-import").args(["--url", &from_file.url()]).arg(&file).assert_success();
    assert_field_expiry_copied(&source, &from_file);

    // --dump: RESTORE carries the field expiries itself.
    let dumped = export(&source.url(), &["--dump", "--chunk-size", "50"]);
    assert!(key_lines(&lines(&dumped), "h")[0]["dump"].is_object());
    let restored = redis_on(ServerKind::Valkey9);
    import(&restored.url(), &dumped, &[]).assert_success();
    assert_field_expiry_copied(&source, &restored);
}

#[test]
fn expired_fields_are_skipped_and_counted_and_old_targets_refuse() {
    let past = now_ms() - 60_000;
    let later = now_ms() + 600_000;
    let stream = format!(
        "{}\n{}\n",
        json_line("h", &format!(r#"{{"a":"1","b":"2","c":"3"}},"field_expire_at_ms":{{"a":{past},"b":{later}}}"#)),
        json_line("gone", &format!(r#"{{"a":"1"}},"field_expire_at_ms":{{"a":{past}}}"#)),
    );
    let target = redis_on(ServerKind::Valkey9);
    let out = import(&target.url(), stream.as_bytes(), &["--log-format", "json"]).assert_success();
    let note = out
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .find(|v| v["event"] == "note")
        .unwrap_or_else(|| panic!("no note of the skipped fields:\n{}", out.stderr));
    assert_eq!(note["what"], "hash fields already expired, skipped");
    assert_eq!(note["count"], 2);
    assert_eq!(target.cli(["HLEN", "h"]), "2");
    assert_eq!(target.cli(["HEXISTS", "h", "a"]), "0");
    assert_eq!(field_expire_time(&target, "h", "b"), later);
    assert_eq!(field_ttl(&target, "h", "c"), -1);
    assert_eq!(target.cli(["EXISTS", "gone"]), "0", "a hash whose every field expired is skipped");
    let total = out.stderr.lines().find(|l| l.contains("\"event\":\"total\"")).unwrap();
    assert!(total.contains("\"skipped\":1"), "{total}");

    // Redis 7.0 has no field expiry: the key is refused, named (exit 2, or
    // 1 with a reject file), never written without its expiries.
    let old = redis_on(ServerKind::Redis7);
    let out = import(&old.url(), stream.as_bytes(), &[]).assert_code(2);
    assert!(out.stderr.contains("key h: ") && out.stderr.contains("no hash field expiry"), "{}", out.stderr);
    let dir = Workdir::new("old-target");
    let rejects = dir.path().join("rejects.ndjson");
    let rejects_arg = rejects.to_str().unwrap();
    import(&old.url(), stream.as_bytes(), &["--reject-file", rejects_arg]).assert_code(1);
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert!(rejected.contains("no hash field expiry") && rejected.contains("\"key\":\"h\""), "{rejected}");
    assert_eq!(old.cli(["EXISTS", "h"]), "0");
}

fn json_line(key: &str, value_and_more: &str) -> String {
    format!(r#"{{"kind":"redis","db":0,"key":"{key}","type":"hash","expire_at_ms":null,"value":{value_and_more}}}"#)
}

// ---------------------------------------------------------------------------
// Stream counters (both generations)

/// `XINFO STREAM`'s counters and each group's entries-read, as text.
fn stream_counters(server: &RedisServer, key: &str) -> Vec<String> {
    let info = server.cli(["XINFO", "STREAM", key]);
    let lines: Vec<&str> = info.lines().collect();
    let mut out = Vec::new();
    for pair in lines.windows(2) {
        if ["last-generated-id", "entries-added", "max-deleted-entry-id"].contains(&pair[0]) {
            out.push(format!("{}={}", pair[0], pair[1]));
        }
    }
    let groups = server.cli(["XINFO", "GROUPS", key]);
    let lines: Vec<&str> = groups.lines().collect();
    for pair in lines.windows(2) {
        if ["name", "last-delivered-id", "entries-read"].contains(&pair[0]) {
            out.push(format!("{}={}", pair[0], pair[1]));
        }
    }
    out
}

fn stream_counters_travel_and_a_planted_entries_read_is_found(kind: ServerKind) {
    let source = redis_on(kind);
    for i in 1..=6 {
        source.cli(["XADD", "events:1", &format!("{i}-0"), "n", &i.to_string()]);
    }
    source.cli(["XDEL", "events:1", "2-0"]);
    source.cli(["XGROUP", "CREATE", "events:1", "readers", "0"]);
    source.cli(["XREADGROUP", "GROUP", "readers", "c1", "COUNT", "3", "STREAMS", "events:1", ">"]);
    source.cli(["XGROUP", "CREATE", "events:1", "tail", "$"]);
    source.cli(["XGROUP", "CREATE", "events:1", "lagging", "0"]);
    source.cli(["XGROUP", "SETID", "events:1", "lagging", "3-0", "ENTRIESREAD", "150"]);
    let before = stream_counters(&source, "events:1");
    assert!(before.contains(&"entries-added=6".to_owned()), "{before:?}");
    assert!(before.contains(&"max-deleted-entry-id=2-0".to_owned()), "{before:?}");
    assert!(before.contains(&"entries-read=150".to_owned()), "{before:?}");

    let w = Workdir::new("stream-counters");
    w.run("redis-export").args(["--url", &source.url(), "-o", "a.ndjson"]).output().assert_success();
    let line = lines(&std::fs::read(w.join("a.ndjson")).unwrap()).into_iter().find(|l| l["key"] == "events:1");
    let value = &line.expect("the stream is exported")["value"];
    assert_eq!(value["entries_added"], 6);
    assert_eq!(value["max_deleted_entry_id"], "2-0");
    let read: Vec<&Json> = value["groups"].as_array().unwrap().iter().map(|g| &g["entries_read"]).collect();
    // "readers" read across a deleted entry: the server itself no longer
    // knows its count (nil), and neither does the line.
    assert_eq!(read, [&Json::from(150), &Json::Null, &Json::Null], "{value}");

    let target = redis_on(kind);
    w.run("redis-import").args(["--url", &target.url(), "a.ndjson"]).output().assert_success();
    assert_eq!(stream_counters(&target, "events:1"), before);
    w.run("decant-diff").args(["a.ndjson", &target.url()]).output().assert_success();
    let sealed = w.run("decant-checksum").arg(target.url()).output().assert_success();
    w.write("target.b3", sealed.stdout_str());

    // Planted: one group's entries-read, nothing else.
    target.cli(["XGROUP", "SETID", "events:1", "lagging", "3-0", "ENTRIESREAD", "151"]);
    let out = w.run("decant-checksum").args(["--check"]).arg(w.join("target.b3")).output().assert_code(1);
    assert!(out.stdout_str().contains("keys:events: FAILED: content digest differs"), "{out:?}");
    let out = w.run("decant-diff").args(["a.ndjson", &target.url()]).output().assert_code(1);
    let changed = out.stdout_json_lines().into_iter().find(|l| l["kind"] == "diff").expect("a diff line");
    assert_eq!(changed["op"], "changed", "{out:?}");
    assert_eq!(changed["key"], "events:1", "{out:?}");
}

decant_tests::on_both_servers!(stream_counters_travel_and_a_planted_entries_read_is_found);

// ---------------------------------------------------------------------------
// Module keys (no server with modules runs here: the import side is tested
// with a hand-built payload of a module type the target lacks)

/// CRC-64 as Redis computes it for DUMP payloads (Jones polynomial,
/// reflected, initial value 0).
fn crc64(bytes: &[u8]) -> u64 {
    let mut crc = 0u64;
    for b in bytes {
        crc ^= u64::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5 } else { crc >> 1 };
        }
    }
    crc
}

/// A valid DUMP payload of a key of module type `name` (RDB_TYPE_MODULE_2,
/// the 64-bit module id of `name` and encoding version 0, one unsigned
/// integer, EOF), for RDB version `rdb_version`, with its CRC-64.
fn module_payload(name: &str, rdb_version: u16) -> Vec<u8> {
    const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id: u64 = 0;
    for c in name.bytes() {
        id = (id << 6) | CHARSET.iter().position(|x| *x == c).unwrap() as u64;
    }
    id <<= 10;
    let mut p = vec![7u8, 0x81];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[2, 42, 0]); // RDB_MODULE_OPCODE_UINT 42, RDB_MODULE_OPCODE_EOF
    p.extend_from_slice(&rdb_version.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn b64(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { T[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

fn module_key_the_target_lacks_is_refused_naming_module_and_key(kind: ServerKind) {
    let target = redis_on(kind);
    // The CRC helper agrees with the server's own payloads.
    target.cli(["SET", "probe", "v"]);
    let dump = run("redis-export").args(["--url", &target.url(), "--dump"]).assert_success().stdout;
    let probe = lines(&dump).into_iter().find(|l| l["key"] == "probe").unwrap();
    let probe_b64 = probe["dump"]["$b64"].as_str().unwrap().to_owned();
    target.cli(["DEL", "probe"]);
    let rdb_version = 9; // loadable by Redis 7.0 and Valkey 9.1 alike
    let payload = module_payload("ReJSON-RL", rdb_version);
    let stream = format!(
        concat!(
            r#"{{"kind":"redis","db":0,"key":"doc:1","type":"module","module":"ReJSON-RL","expire_at_ms":null,"value":null,"dump":{{"$b64":"{}"}}}}"#,
            "\n",
            r#"{{"kind":"redis","db":0,"key":"plain","type":"string","expire_at_ms":null,"value":"v","dump":{{"$b64":"{}"}}}}"#,
            "\n"
        ),
        b64(&payload),
        probe_b64
    );
    let out = import(&target.url(), stream.as_bytes(), &[]).assert_code(2);
    assert!(
        out.stderr.contains("key doc:1")
            && out.stderr.contains("refuses the payload of module type ReJSON-RL")
            && out.stderr.contains("load the module"),
        "the error names the key and the module:\n{}",
        out.stderr
    );
    target.cli(["DEL", "plain"]);
    let w = Workdir::new("module-refused");
    let rejects = w.join("rejects.ndjson");
    let out = import(&target.url(), stream.as_bytes(), &["--reject-file", rejects.to_str().unwrap()]).assert_code(1);
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert!(rejected.contains("doc:1") && rejected.contains("ReJSON-RL"), "{rejected}");
    assert_eq!(target.cli(["EXISTS", "doc:1"]), "0");
    // The refusal does not stop RESTORE for the other keys.
    assert_eq!(target.cli(["GET", "plain"]), "v", "{}", out.stderr);
    assert!(!out.stderr.contains("writing keys with type commands"), "{}", out.stderr);
}

decant_tests::on_both_servers!(module_key_the_target_lacks_is_refused_naming_module_and_key);

// ---------------------------------------------------------------------------
// Function libraries (both generations)

const LIBRARY: &str = "#!lua name=decantlib\nredis.register_function('decant_double', function(keys, args) return tonumber(args[1]) * 2 end)";

fn function_libraries_travel_in_a_whole_db_copy(kind: ServerKind) {
    let source = redis_on(kind);
    source.cli(["FUNCTION", "LOAD", LIBRARY]);
    source.cli(["SET", "apikey:1", "x"]);
    let stream = export(&source.url(), &[]);
    let all = lines(&stream);
    assert_eq!(all[1]["kind"], "redis_function", "libraries come first: {all:?}");
    assert_eq!(all[1]["library"], "decantlib");
    assert_eq!(all[1]["engine"], "LUA");
    assert_eq!(all[1]["code"], LIBRARY);
    for narrowed in [&["--no-functions"][..], &["--match", "apikey:*"], &["--type", "string"]] {
        let s = export(&source.url(), narrowed);
        assert!(lines(&s).iter().all(|l| l["kind"] != "redis_function"), "{narrowed:?}");
    }

    let target = redis_on(kind);
    let out = import(&target.url(), &stream, &[]).assert_success();
    assert!(out.stderr.contains("function libraries loaded: 1"), "{}", out.stderr);
    assert_eq!(target.cli(["FCALL", "decant_double", "0", "21"]), "42");
    assert_eq!(target.cli(["GET", "apikey:1"]), "x");
    // The file and the copy digest the same, functions included.
    let w = Workdir::new("functions");
    w.write("a.ndjson", &stream);
    let file_sums = w.run("decant-checksum").arg("a.ndjson").output().assert_success();
    let live_sums = w.run("decant-checksum").arg(target.url()).output().assert_success();
    // `DIGEST  COUNT  GROUP` lines (the header and source lines differ).
    let digests = |text: &str| -> Vec<String> {
        text.lines().filter(|l| l.split_whitespace().count() == 3).map(str::to_owned).collect()
    };
    let file_digests = digests(file_sums.stdout_str());
    assert!(file_digests.iter().any(|l| l.ends_with("  1  functions")), "{file_digests:?}");
    assert_eq!(file_digests, digests(live_sums.stdout_str()));
    w.run("decant-diff").args(["a.ndjson", &target.url()]).output().assert_success();

    // Existing libraries: left alone (and counted), replaced only in replace mode.
    target.cli(["FUNCTION", "LOAD", "REPLACE", &LIBRARY.replace("* 2", "* 3")]);
    let out = import(&target.url(), &stream, &[]).assert_success();
    assert!(out.stderr.contains("function libraries that exist, skipped: 1"), "{}", out.stderr);
    assert_eq!(target.cli(["FCALL", "decant_double", "0", "21"]), "63");
    let out = w.run("decant-diff").args(["a.ndjson", &target.url()]).output().assert_code(1);
    let changed = out.stdout_json_lines().into_iter().find(|l| l["kind"] == "diff").expect("a diff line");
    assert_eq!((changed["op"].as_str(), changed["library"].as_str()), (Some("changed"), Some("decantlib")));
    assert_eq!(changed["fields"], serde_json::json!(["code"]));
    import(&target.url(), &stream, &["--mode", "replace", "--yes"]).assert_success();
    assert_eq!(target.cli(["FCALL", "decant_double", "0", "21"]), "42");

    // A library only in the target: decant-diff --patch deletes it (FUNCTION DELETE).
    target.cli([
        "FUNCTION",
        "LOAD",
        "#!lua name=extra\nredis.register_function('decant_extra', function() return 1 end)",
    ]);
    let patch = w.run("decant-diff").args(["a.ndjson", &target.url(), "--patch"]).output().assert_code(1);
    assert!(patch.stdout_str().contains(r#"{"kind":"delete","library":"extra"}"#), "{}", patch.stdout_str());
    let p = w
        .run("decant-diff")
        .args(["a.ndjson", &target.url(), "--patch"])
        .pipe(run("redis-import").args(["--url", &target.url(), "--mode", "replace", "--yes"]))
        .output();
    assert_eq!(p[1].code(), Some(0), "{:?}", p[1]);
    assert_eq!(target.cli(["FUNCTION", "LIST", "LIBRARYNAME", "extra"]), "", "the patch deleted it");
    w.run("decant-diff").args(["a.ndjson", &target.url()]).output().assert_success();
}

decant_tests::on_both_servers!(function_libraries_travel_in_a_whole_db_copy);

// ---------------------------------------------------------------------------
// Unix sockets (both generations)

fn unix_socket_urls_as_redis_cli_s(kind: ServerKind) {
    let w = Workdir::new("sockets");
    let (src_sock, dst_sock) = (w.join("src.sock"), w.join("dst.sock"));
    let source = decant_tests::RedisOptions::new().server(kind).args(["--unixsocket"]).args([&src_sock]).start();
    let target = decant_tests::RedisOptions::new().server(kind).args(["--unixsocket"]).args([&dst_sock]).start();
    source.cli(["-n", "2", "HSET", "apikey:1", "name", "prod"]);
    source.cli(["-n", "2", "RPUSH", "queue:1", "a", "b"]);
    source.cli(["-n", "0", "SET", "other:db", "x"]);
    let src_url = format!("redis+unix://{}?db=2", src_sock.display());
    let dst_url = format!("unix://{}?db=3", dst_sock.display());

    let stream = export(&src_url, &[]);
    let all = lines(&stream);
    assert_eq!(all[0]["source"], format!("redis+unix://{}?db=2", src_sock.display()));
    assert_eq!(all.iter().filter(|l| l["kind"] == "redis").count(), 2, "db 2 only: {all:?}");
    import(&dst_url, &stream, &[]).assert_success();
    assert_eq!(target.cli(["-n", "3", "HGET", "apikey:1", "name"]), "prod");
    assert_eq!(target.cli(["-n", "3", "LRANGE", "queue:1", "0", "-1"]), "a\nb");

    // The checkers open the socket through redis-export.
    w.write("a.ndjson", &stream);
    w.run("decant-diff").args(["a.ndjson", &dst_url]).output().assert_success();
    let live = w.run("decant-checksum").arg(&dst_url).output().assert_success();
    assert!(live.stdout_str().contains("keys:apikey"), "{}", live.stdout_str());

    // A socket that is not there: a clear error naming it, exit 2.
    let missing = format!("redis+unix://{}/nope.sock", w.path().display());
    let out = run("redis-export").args(["--url", &missing]).output().assert_code(2);
    assert!(out.stderr.contains("nope.sock"), "{}", out.stderr);
}

decant_tests::on_both_servers!(unix_socket_urls_as_redis_cli_s);
