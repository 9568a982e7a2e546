//! The main job end to end on real servers: the relay dataset from Redis
//! through `redis-export | decant-transform | mysql-import` into MariaDB,
//! checked table by table and row by row against the source, then warmed back
//! into an empty Redis; and `scripts/demo.sh`, which must keep working.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use decant_tests::{bin, mariadb, redis_on, run, Cmd, RedisServer, ServerKind, Workdir};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn spec(name: &str) -> String {
    repo().join("examples/imagined").join(name).to_string_lossy().into_owned()
}

/// Loads the relay sample at `scale` into `redis`.
fn load_relay(redis: &RedisServer, wd: &Workdir, scale: &str) {
    let resp = wd.join("relay.resp");
    Cmd::new("python3")
        .arg(repo().join("examples/imagined/gen_relay_redis.py"))
        .args(["--scale", scale, "--out"])
        .arg(&resp)
        .assert_success();
    let file = std::fs::File::open(&resp).unwrap();
    let status = redis.cli_command().arg("--pipe").stdin(file).output().unwrap();
    assert!(status.status.success(), "redis-cli --pipe: {}", String::from_utf8_lossy(&status.stderr));
}

/// Keys matching `pattern` of type `ty` (SCAN … TYPE, as `redis-cli --scan`
/// of Redis 7.0 has no `--type`).
fn keys(redis: &RedisServer, pattern: &str, ty: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = "0".to_owned();
    loop {
        let mut args = vec!["SCAN", cursor.as_str(), "MATCH", pattern, "COUNT", "1000"];
        if let Some(t) = ty {
            args.extend(["TYPE", t]);
        }
        let reply = redis.cli(args);
        let mut lines = reply.lines();
        let next = lines.next().unwrap_or("0").to_owned();
        out.extend(lines.filter(|l| !l.is_empty()).map(str::to_owned));
        if next == "0" {
            return out;
        }
        cursor = next;
    }
}

/// The `redis` records of a `redis-export` run, by key.
fn export(redis: &RedisServer, patterns: &[&str]) -> BTreeMap<String, serde_json::Value> {
    let mut cmd = run("redis-export").args(["--url", &redis.url(), "--quiet"]);
    for p in patterns {
        cmd = cmd.args(["--match", p]);
    }
    cmd.assert_success()
        .stdout_json_lines()
        .into_iter()
        .filter(|l| l["kind"] == "redis")
        .map(|l| (l["key"].as_str().expect("UTF-8 keys in the relay data").to_owned(), l))
        .collect()
}

fn query_rows(db: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    mariadb().query_rows(db, sql)
}

fn count(db: &str, table: &str) -> usize {
    mariadb().query(db, &format!("SELECT COUNT(*) FROM `{table}`")).parse().unwrap()
}

fn relay_dataset_to_mysql_and_back(kind: ServerKind) {
    let wd = Workdir::new("relay-pipeline");
    let src = redis_on(kind);
    load_relay(&src, &wd, "0.003");
    let db = mariadb().fresh_database("relay");
    let url = mariadb().url(&db);

    let outputs = run("redis-export")
        .args(["--url", &src.url()])
        .timeout(Duration::from_secs(300))
        .pipe(run("decant-transform").args(["--spec", &spec("relay-to-mysql.toml")]))
        .pipe(run("mysql-import").args(["--url", &url, "--create-tables"]))
        .output();
    for o in &outputs {
        assert_eq!(o.code(), Some(0), "{o:?}");
    }

    // Row counts equal the matching key (or element) counts.
    let n = |p: &str, t: &str| keys(&src, p, Some(t)).len();
    let sum = |p: &str, t: &str, cmd: &str| -> usize {
        keys(&src, p, Some(t)).iter().map(|k| src.cli([cmd, k.as_str()]).parse::<usize>().unwrap()).sum()
    };
    assert_eq!(count(&db, "api_keys"), n("apikey:*", "hash"));
    assert_eq!(count(&db, "api_key_hashes"), sum("apikey_hash_map", "hash", "HLEN"));
    assert_eq!(count(&db, "accounts"), n("claude_account:*", "hash") + n("gemini_account:*", "hash"));
    assert_eq!(count(&db, "admins"), n("admin:*", "hash"));
    assert_eq!(count(&db, "usage_stats"), n("usage:*:daily:*", "hash"));
    assert_eq!(count(&db, "usage_records"), sum("usage:records:*", "list", "LLEN"));
    assert_eq!(count(&db, "sessions"), n("session:*", "string"));
    assert_eq!(count(&db, "concurrency_leases"), sum("concurrency:*", "zset", "ZCARD"));
    assert_eq!(count(&db, "events"), sum("events:stream", "stream", "XLEN"));
    assert!(count(&db, "api_keys") >= 300, "the sample is too small to mean anything");

    // The right types.
    let types: BTreeMap<String, String> = query_rows(
        "",
        &format!("SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME), COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}'"),
    )
    .into_iter()
    .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
    .collect();
    for (col, want) in [
        ("api_keys.created_at", "datetime(3)"),
        ("api_keys.token_limit", "bigint"),
        ("api_keys.daily_cost_limit", "decimal(10,2)"),
        ("usage_stats.date", "date"),
        ("usage_stats.expire_at_ms", "bigint"),
        ("accounts.refresh_token", "varbinary"),
        ("usage_records.timestamp", "datetime(3)"),
        ("concurrency_leases.score", "double"),
    ] {
        let got = types.get(col).unwrap_or_else(|| panic!("no column {col}: {types:?}"));
        assert!(got.starts_with(want), "{col} is {got}, expected {want}");
    }
    assert_eq!(mariadb().query(&db, "SELECT COUNT(*) FROM api_keys WHERE NOT JSON_VALID(permissions)"), "0");
    assert_eq!(mariadb().query(&db, "SELECT COUNT(*) FROM sessions WHERE NOT JSON_VALID(data)"), "0");
    assert_eq!(
        mariadb().query(&db, "SELECT COUNT(*) FROM usage_stats WHERE expire_at_ms IS NOT NULL"),
        keys(&src, "usage:*:daily:*", Some("hash"))
            .iter()
            .filter(|k| src.cli(["PTTL", k.as_str()]) != "-1")
            .count()
            .to_string()
    );

    // A sample of rows equal to their source hashes, field by field.
    let hashes = export(&src, &["apikey:*", "claude_account:*", "gemini_account:*"]);
    let api_rows = query_rows(
        &db,
        "SELECT id, name, description, api_key_hash, token_limit, concurrency_limit, rate_limit_window, \
         rate_limit_requests, IF(is_active, 'true', 'false'), permissions, claude_account_id, \
         DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%f'), DATE_FORMAT(last_used_at, '%Y-%m-%dT%H:%i:%s.%f'), \
         DATE_FORMAT(expires_at, '%Y-%m-%dT%H:%i:%s.%f'), daily_cost_limit FROM api_keys ORDER BY id LIMIT 50",
    );
    assert_eq!(api_rows.len(), 50);
    let fields = [
        "id",
        "name",
        "description",
        "apiKey",
        "tokenLimit",
        "concurrencyLimit",
        "rateLimitWindow",
        "rateLimitRequests",
        "isActive",
        "permissions",
        "claudeAccountId",
        "createdAt",
        "lastUsedAt",
        "expiresAt",
        "dailyCostLimit",
    ];
    for row in &api_rows {
        let id = row[0].clone().unwrap();
        let h = &hashes[&format!("apikey:{id}")]["value"];
        for (i, f) in fields.iter().enumerate() {
            let src_value = h[f].as_str().unwrap_or_else(|| panic!("apikey:{id} {f}: {h}"));
            let got = row[i].clone().unwrap_or_default();
            match *f {
                "permissions" => assert_eq!(
                    serde_json::from_str::<serde_json::Value>(&got).unwrap(),
                    serde_json::from_str::<serde_json::Value>(src_value).unwrap(),
                    "apikey:{id} {f}"
                ),
                // DATETIME(3) printed with 6 digits, vs the service's "….123Z".
                "createdAt" | "lastUsedAt" | "expiresAt" if !got.is_empty() => {
                    assert_eq!(format!("{}Z", &got[..23]), src_value, "apikey:{id} {f}")
                }
                _ => assert_eq!(got, src_value, "apikey:{id} {f}"),
            }
        }
    }
    // Encrypted tokens land as bytes, never mangled.
    let tokens = query_rows(
        &db,
        "SELECT CONCAT(platform, '_account:', id), REPLACE(TO_BASE64(refresh_token), '\\n', '') FROM accounts",
    );
    let mut binary = 0;
    for t in &tokens {
        let key = t[0].clone().unwrap();
        let src_token = &hashes[&key]["value"]["refreshToken"];
        let want = match src_token {
            serde_json::Value::String(s) => {
                let mut hex_free = String::new();
                // Text tokens: compare through base64 of their UTF-8 bytes.
                hex_free.push_str(&base64(s.as_bytes()));
                hex_free
            }
            other => {
                binary += 1;
                other["$b64"].as_str().unwrap().to_owned()
            }
        };
        assert_eq!(t[1].clone().unwrap(), want, "{key} refreshToken");
    }
    assert!(binary > 0, "the sample has no binary token to check");

    // Warm-up: MySQL → an empty Redis gives every original key back: the
    // hashes (fields, values, TTLs), and the keys folded from many rows — the
    // one big hash map, the usage:records lists in position order, the sets,
    // zsets and the events stream. Every table has a rule (no --unmatched).
    let warm = redis_on(kind);
    let outputs = run("mysql-export")
        .args(["--url", &url])
        .timeout(Duration::from_secs(300))
        .pipe(run("decant-transform").args(["--spec", &spec("mysql-to-relay.toml")]))
        .pipe(run("redis-import").args(["--url", &warm.url(), "--mode", "replace", "--log-format", "json"]))
        .output();
    for o in &outputs {
        assert_eq!(o.code(), Some(0), "{o:?}");
    }
    // The big hash map is one key (folded from its rows, in parts when big),
    // counted once: it is the dataset's only key without a ':' prefix.
    let copied = |group: &str| -> Option<u64> {
        outputs[2]
            .stderr
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|l| (l["group"] == group).then(|| l["written"].as_u64()).flatten())
    };
    assert_eq!(copied("(no prefix)"), Some(1), "{}", outputs[2].stderr);
    let families = [
        "apikey:*",
        "apikey_hash_map",
        "*_account:*",
        "admin:*",
        "usage:*:daily:*",
        "session:*",
        "usage:records:*",
        "events:stream",
        "concurrency:*",
        "set:tags:*",
    ];
    let before = export(&src, &families);
    let after = export(&warm, &families);
    assert_eq!(before.len(), after.len());
    let mut with_ttl = 0;
    for (key, o) in &before {
        let w = after.get(key).unwrap_or_else(|| panic!("{key} missing after the warm-up"));
        assert_eq!(o["type"], w["type"], "{key}");
        if o["type"] == "set" {
            let sorted = |v: &serde_json::Value| {
                let mut m: Vec<String> = v.as_array().unwrap().iter().map(|x| x.to_string()).collect();
                m.sort();
                m
            };
            assert_eq!(sorted(&o["value"]), sorted(&w["value"]), "{key}");
        } else {
            assert_eq!(o["value"], w["value"], "{key}");
        }
        match (o["expire_at_ms"].as_i64(), w["expire_at_ms"].as_i64()) {
            (None, None) => {}
            (Some(a), Some(b)) => {
                with_ttl += 1;
                assert!((a - b).abs() <= 1000, "{key}: TTL {a} vs {b}");
            }
            (a, b) => panic!("{key}: TTL {a:?} vs {b:?}"),
        }
    }
    assert!(with_ttl > 0, "no key with a TTL was compared");
    for ty in ["list", "stream", "zset", "set", "hash", "string"] {
        assert!(before.values().any(|o| o["type"] == ty), "no {ty} key was compared");
    }
    assert_eq!(before.len(), keys(&src, "*", None).len(), "every key of the dataset is compared");
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn cast_failures_in_the_pipeline_go_to_the_reject_file(kind: ServerKind) {
    let wd = Workdir::new("relay-rejects");
    let src = redis_on(kind);
    src.cli([
        "HSET",
        "usage:k1:daily:2025-07-20",
        "requests",
        "10",
        "inputTokens",
        "1",
        "outputTokens",
        "2",
        "cacheCreateTokens",
        "3",
        "cacheReadTokens",
        "4",
        "allTokens",
        "10",
        "cost",
        "0.5",
    ]);
    src.cli([
        "HSET",
        "usage:k2:daily:2025-07-20",
        "requests",
        "ten",
        "inputTokens",
        "1",
        "outputTokens",
        "2",
        "cacheCreateTokens",
        "3",
        "cacheReadTokens",
        "4",
        "allTokens",
        "10",
        "cost",
        "0.5",
    ]);
    let db = mariadb().fresh_database("relay_rejects");
    let rejects = wd.join("rejects.ndjson");
    let outputs = run("redis-export")
        .args(["--url", &src.url(), "--quiet"])
        .pipe(run("decant-transform").args(["--spec", &spec("relay-to-mysql.toml"), "--reject-file"]).arg(&rejects))
        .pipe(run("mysql-import").args(["--url", &mariadb().url(&db), "--create-tables", "--quiet"]))
        .output();
    assert_eq!(outputs[0].code(), Some(0), "{:?}", outputs[0]);
    assert_eq!(outputs[1].code(), Some(1), "{:?}", outputs[1]);
    assert_eq!(outputs[2].code(), Some(0), "{:?}", outputs[2]);
    assert_eq!(mariadb().query(&db, "SELECT key_id FROM usage_stats"), "k1");
    let text = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["key"], "usage:k2:daily:2025-07-20");
    let reason = lines[0]["rejected"]["reason"].as_str().unwrap();
    assert!(reason.contains(r#"column "requests": field "requests": "ten" is not an integer"#), "{reason}");
}

#[test]
fn demo_script_runs() {
    let bin_dir = bin("decant-transform").parent().unwrap().to_path_buf();
    let out = Cmd::new("bash")
        .arg(repo().join("scripts/demo.sh"))
        .env("DEMO_SCALE", "0.002")
        .env("DECANT_BIN", &bin_dir)
        .timeout(Duration::from_secs(600))
        .output();
    let out = out.assert_success();
    let text = out.stdout_str();
    for needle in ["all counts match", "warm-up: every key equals its original", "demo OK"] {
        assert!(text.contains(needle), "demo output lacks {needle:?}: {out:?}");
    }
    assert!(text.contains("api_keys") && text.contains("usage_stats"), "{out:?}");
}

/// Issue 11: `examples/gen_relay_redis.py` writes the real Claude Relay
/// Service's data, not an imagined one. Its output, loaded into Redis and
/// exported, has the snapshot's key families, Redis types, TTLs, hash field
/// names and value encodings (tests/fixtures/relay_shapes.py compares the
/// shapes, never the random values). Needs the corpus: loud NOT RUN without.
#[test]
fn the_generator_writes_the_real_relay_services_shapes() {
    let Some(corpus) = decant_tests::corpus("relay-real", "the_generator_writes_the_real_relay_services_shapes") else {
        return;
    };
    let r = redis_on(ServerKind::Redis7);
    let wd = Workdir::new("relay-shapes");
    let resp = wd.join("relay.resp");
    Cmd::new("python3")
        .arg(repo().join("examples/gen_relay_redis.py"))
        .args(["--scale", "0.02", "--out"])
        .arg(&resp)
        .assert_success();
    let file = std::fs::File::open(&resp).unwrap();
    let loaded = r.cli_command().arg("--pipe").stdin(file).output().unwrap();
    let said = String::from_utf8_lossy(&loaded.stdout);
    assert!(loaded.status.success() && said.contains("errors: 0"), "redis-cli --pipe: {said}");
    let exported = wd.join("generated.ndjson");
    run("redis-export").args(["--url", &r.url(), "--quiet", "-o"]).arg(&exported).assert_success();
    let out = Cmd::new("python3")
        .arg(repo().join("tests/fixtures/relay_shapes.py"))
        .arg(&exported)
        .arg(corpus.join("crs-snapshot.ndjson.zst"))
        .output();
    assert_eq!(out.code(), Some(0), "the generator's shapes differ from the snapshot's:\n{}", out.stdout_str());
    assert!(
        out.stdout_str().contains("51 families generated, 51 in the snapshot, 0 difference(s)"),
        "{}",
        out.stdout_str()
    );
}

decant_tests::on_both_servers!(relay_dataset_to_mysql_and_back, cast_failures_in_the_pipeline_go_to_the_reject_file,);
