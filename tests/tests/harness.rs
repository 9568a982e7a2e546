//! Tests of the harness itself: every kind of server starts and answers, and
//! nothing outlives the test process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use decant_tests::{
    bin, mariadb, postgres, redis, redis_cluster, redis_on, redis_tls, Cmd, RedisOptions, ServerKind, Workdir,
};

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
fn listening(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Sends an inline PING over plain TCP and returns whatever comes back.
fn raw_ping(port: u16) -> Vec<u8> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = stream.write_all(b"PING\r\n");
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    // Up to the end of the first reply line, or until the server hangs up.
    while !reply.contains(&b'\n') {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
    reply
}

#[test]
fn redis_answers() {
    let redis = redis();
    assert_ne!(redis.port(), 6379);
    assert_eq!(redis.cli(["PING"]), "PONG");
    assert_eq!(redis.cli(["SET", "greeting", "hello world"]), "OK");
    assert_eq!(redis.cli(["GET", "greeting"]), "hello world");
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/0", redis.port()));
    assert_eq!(redis.url_db(3), format!("redis://127.0.0.1:{}/3", redis.port()));
    assert!(redis.dir().is_dir());
}

/// The second generation: Valkey 9.1, with hash field expiry, picked per test.
#[test]
fn valkey_answers_with_field_expiry() {
    let valkey = redis_on(ServerKind::Valkey9);
    assert_eq!(valkey.kind(), ServerKind::Valkey9);
    let info = valkey.cli(["INFO", "server"]);
    assert!(info.contains("valkey_version:9.1."), "not Valkey 9.1: {info}");
    valkey.cli(["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(valkey.cli(["HEXPIRE", "h", "1000", "FIELDS", "1", "a"]), "1");
    let ttl: i64 = valkey.cli(["HTTL", "h", "FIELDS", "1", "a"]).parse().unwrap();
    assert!((990..=1000).contains(&ttl), "HTTL {ttl}");
    assert_eq!(valkey.cli(["HTTL", "h", "FIELDS", "1", "b"]), "-1");
    let redis = redis_on(ServerKind::Redis7);
    assert!(redis.cli(["INFO", "server"]).contains("redis_version:7.0."));
}

#[test]
#[should_panic(expected = "WRONGTYPE")]
fn redis_cli_error_replies_fail() {
    let redis = redis();
    redis.cli(["SET", "k", "v"]);
    redis.cli(["HGET", "k", "f"]);
}

#[test]
fn redis_with_password() {
    let redis = RedisOptions::new().requirepass("s3cret pw").start();
    assert_eq!(redis.cli(["PING"]), "PONG");
    assert!(raw_ping(redis.port()).starts_with(b"-NOAUTH"));
    assert_eq!(redis.url(), format!("redis://:s3cret%20pw@127.0.0.1:{}/0", redis.port()));
    assert_eq!(redis.password(), Some("s3cret pw"));
}

#[test]
fn redis_extra_args() {
    let redis = RedisOptions::new().args(["--databases", "32"]).start();
    assert_eq!(redis.cli(["CONFIG", "GET", "databases"]), "databases\n32");
}

#[test]
fn redis_stops_and_cleans_up_on_drop() {
    let redis = redis();
    let (port, dir) = (redis.port(), redis.dir().to_owned());
    drop(redis);
    assert!(!listening(port), "port {port} still answers after drop");
    assert!(!dir.exists(), "{} still exists after drop", dir.display());
}

#[test]
fn redis_tls_answers_and_refuses_plain_tcp() {
    let redis = redis_tls();
    assert_eq!(redis.cli(["PING"]), "PONG");
    assert_eq!(redis.url(), format!("rediss://127.0.0.1:{}/0", redis.port()));
    assert_eq!(redis.url_localhost(), format!("rediss://localhost:{}/0", redis.port()));
    let reply = raw_ping(redis.port());
    assert!(!reply.starts_with(b"+PONG"), "plain TCP got an answer: {reply:?}");
    // The certificates hold together, and name what clients will check.
    let verify = |cert: &Path| {
        Cmd::new("openssl").arg("verify").arg("-CAfile").arg(redis.ca_path()).arg(cert).assert_success();
    };
    verify(redis.server_cert_path());
    verify(redis.client_cert_path());
    let text =
        Cmd::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(redis.server_cert_path()).assert_success();
    assert!(text.stdout_str().contains("IP Address:127.0.0.1"));
    assert!(text.stdout_str().contains("DNS:localhost"));
    assert!(redis.client_key_path().is_file());
    // Host-name verification against `localhost` passes too.
    let mut cmd = redis.server().cli_command();
    cmd.args(["-h", "localhost", "--sni", "localhost", "PING"]);
    let out = cmd.output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PONG");
}

#[test]
fn redis_mutual_tls() {
    let redis = RedisOptions::new().require_client_cert().start_tls();
    // cli() presents the client certificate.
    assert_eq!(redis.cli(["PING"]), "PONG");
    let without_cert = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &redis.port().to_string()])
        .arg("--tls")
        .arg("--cacert")
        .arg(redis.ca_path())
        .arg("PING")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&without_cert.stdout).contains("PONG"), "a client without a certificate got in");
}

#[test]
fn redis_cluster_forms() {
    let cluster = redis_cluster();
    assert_eq!(cluster.ports().len(), 3);
    for node in cluster.nodes() {
        let info = node.cli(["CLUSTER", "INFO"]);
        assert!(info.contains("cluster_state:ok"), "{info}");
        assert!(node.bus_port().is_some());
    }
    for i in 0..30 {
        cluster.cli(["SET", &format!("key:{i}"), &i.to_string()]);
    }
    assert_eq!(cluster.cli(["GET", "key:17"]), "17");
    let per_node: Vec<u64> = cluster.nodes().iter().map(|n| n.cli(["DBSIZE"]).parse().unwrap()).collect();
    assert_eq!(per_node.iter().sum::<u64>(), 30);
    assert!(per_node.iter().all(|&n| n > 0), "keys all on one node: {per_node:?}");
    assert_eq!(cluster.url(), format!("redis://127.0.0.1:{}", cluster.ports()[0]));
}

#[test]
fn mariadb_answers() {
    let db = mariadb();
    assert_ne!(db.port(), 3306);
    assert!(db.query("", "select version()").contains("MariaDB"));
    assert_eq!(db.query("", "select @@global.time_zone"), "+02:00");
    let name = db.fresh_database("harness-check");
    assert!(name.starts_with("harness_check_"), "{name}");
    assert_ne!(db.fresh_database("harness-check"), name);
    assert_eq!(db.url(&name), format!("mysql://root@127.0.0.1:{}/{name}", db.port()));
    db.query(
        &name,
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20));\n\
         INSERT INTO t VALUES (1, 'tea 🍵 time');",
    );
    assert_eq!(db.query(&name, "SELECT s FROM t"), "tea 🍵 time");
    assert_eq!(db.query(&name, "SELECT CHAR_LENGTH(s), LENGTH(s) FROM t"), "10\t13");
    // The tools connect over TCP as root@127.0.0.1 with no password.
    let out = db
        .client_command(&name)
        .args(["--protocol=TCP", "--host=127.0.0.1"])
        .arg(format!("--port={}", db.port()))
        .arg("--execute=SELECT CURRENT_USER(), COUNT(*) FROM t")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "root@127.0.0.1\t1\n");
}

#[test]
#[should_panic(expected = "doesn't exist")]
fn mariadb_query_errors_fail() {
    mariadb().query("", "SELECT * FROM mysql.no_such_table");
}

#[test]
fn postgres_answers() {
    let pg = postgres();
    assert_ne!(pg.port(), 5432);
    assert_eq!(pg.query("postgres", "show timezone"), "Asia/Kolkata");
    assert_eq!(pg.query("postgres", "show server_encoding"), "UTF8");
    let name = pg.fresh_database("harness check");
    assert!(name.starts_with("harness_check_"), "{name}");
    assert_eq!(pg.url(&name), format!("postgres://postgres@127.0.0.1:{}/{name}", pg.port()));
    pg.query(
        &name,
        "CREATE TABLE t (id int PRIMARY KEY, s text);\n\
         INSERT INTO t VALUES (1, 'tea 🍵 time'), (2, NULL);",
    );
    assert_eq!(pg.query(&name, "SELECT id, s, length(s) FROM t ORDER BY id"), "1|tea 🍵 time|10\n2||");
}

#[test]
#[should_panic(expected = "does not exist")]
fn postgres_query_errors_fail() {
    postgres().query("postgres", "SELECT 1; SELECT * FROM no_such_table; SELECT 2");
}

#[test]
fn cmd_captures_code_stdout_and_stderr() {
    let out = Cmd::new("sh")
        .args(["-c", "cat; echo '{\"kind\":\"end\"}'; echo oops >&2; exit 3"])
        .stdin_bytes("{\"kind\":\"header\"}\n")
        .output()
        .assert_code(3)
        .assert_stderr_contains("oops");
    let lines = out.stdout_json_lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["kind"], "end");
    assert_eq!(out.stdout_lines(), ["{\"kind\":\"header\"}", "{\"kind\":\"end\"}"]);
}

#[test]
fn cmd_hides_tool_fallback_variables() {
    let out = Cmd::new("sh").args(["-c", "echo \"${SOURCE_URL-unset} ${X-unset}\""]).env("X", "set").assert_success();
    assert_eq!(out.stdout_str(), "unset set\n");
}

#[test]
fn pipelines_connect_stdout_to_stdin() {
    let wd = Workdir::new("pipeline");
    let input = wd.write("in.txt", "b\na\nc\n");
    let outputs = Cmd::new("cat")
        .stdin_file(&input)
        .pipe(Cmd::new("sort"))
        .pipe(Cmd::new("sh").args(["-c", "cat; echo done >&2"]))
        .output();
    assert_eq!(outputs.len(), 3);
    assert!(outputs[0].stdout.is_empty());
    assert_eq!(outputs[2].stdout_str(), "a\nb\nc\n");
    assert_eq!(outputs[2].stderr, "done\n");
    let dir = wd.path().to_owned();
    assert_eq!(wd.read_to_string("in.txt"), "b\na\nc\n");
    drop(wd);
    assert!(!dir.exists());
}

#[test]
#[should_panic(expected = "timed out")]
fn cmd_timeout_kills() {
    Cmd::new("sleep").arg("30").timeout(Duration::from_millis(300)).output();
}

#[test]
#[should_panic(expected = "cargo build --workspace --bins")]
fn missing_binary_says_how_to_build_it() {
    bin("decant-no-such-tool");
}

// --- Cleanup after the test process is gone ---------------------------------

const CHILD_ENV: &str = "DECANT_HARNESS_CHILD";

/// Not a test of its own: the body of the child process that
/// `servers_die_with_the_test_process` starts (a no-op otherwise). It starts
/// servers, reports them on stdout, and then exits without dropping them or
/// waits to be killed.
#[test]
fn child_process_body() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let report = |kind: &str, port: u16, dir: &Path| {
        println!("DECANT-CHILD {kind} {port} {}", dir.display());
    };
    let redis = redis();
    report("redis", redis.port(), redis.dir());
    if mode == "kill" {
        // The server that runs as another user, under a watchdog that does
        // too. (MariaDB's watchdog works like Redis's.)
        let pg = postgres();
        report("postgres", pg.port(), pg.dir());
    }
    println!("DECANT-CHILD ready");
    std::io::stdout().flush().unwrap();
    if mode == "kill" {
        thread::sleep(Duration::from_secs(120));
    }
    // Like a static: never dropped.
    std::mem::forget(redis);
}

/// A child process that is killed when the test ends, even a failed test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `child_process_body` in a child process in `mode`, returns the servers
/// it reported (kind, port, dir) once they are all up, and the child.
fn start_child(mode: &str) -> (Vec<(String, u16, PathBuf)>, KillOnDrop) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_process_body", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let child = KillOnDrop(child);
    let (lines_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        // Read to the end even when nobody listens any more: a closed pipe
        // would make the child's last words fail, and the child with them.
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut servers = Vec::new();
    loop {
        let line = lines.recv_timeout(Duration::from_secs(60)).expect("the child process reports its servers");
        // libtest's "test child_process_body ... " may start the line.
        let Some((_, report)) = line.split_once("DECANT-CHILD ") else {
            continue;
        };
        if report == "ready" {
            return (servers, child);
        }
        let mut words = report.splitn(3, ' ');
        let kind = words.next().unwrap().to_owned();
        let port = words.next().unwrap().parse().unwrap();
        let dir = PathBuf::from(words.next().unwrap());
        assert!(listening(port), "{kind} is not listening on {port}");
        assert!(dir.is_dir(), "{kind} has no dir {}", dir.display());
        servers.push((kind, port, dir));
    }
}

/// Processes (other than zombies) whose command line mentions `dir`.
fn processes_using(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && !cmdline.contains("decant-watchdog") {
            found.push(format!("{}: {cmdline}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

fn assert_all_gone(servers: &[(String, u16, PathBuf)], how: &str) {
    let started = Instant::now();
    for (kind, port, dir) in servers {
        loop {
            let procs = processes_using(dir);
            if !listening(*port) && !dir.exists() && procs.is_empty() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{kind} outlived a test process that {how}: listening={}, dir exists={}, \
                 processes={procs:?}",
                listening(*port),
                dir.exists()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
    eprintln!("servers cleaned up {} ms after the test process {how}", started.elapsed().as_millis());
}

#[test]
fn servers_die_with_a_killed_test_process() {
    let (servers, mut child) = start_child("kill");
    assert_eq!(servers.len(), 2);
    child.0.kill().unwrap(); // SIGKILL: no destructor, no atexit, nothing runs.
    child.0.wait().unwrap();
    assert_all_gone(&servers, "was killed");
}

#[test]
fn servers_die_with_an_exiting_test_process() {
    let (servers, mut child) = start_child("exit");
    assert_eq!(servers.len(), 1);
    assert!(child.0.wait().unwrap().success());
    assert_all_gone(&servers, "exited");
}
