//! One throwaway dynalite (a DynamoDB implementation on Node.js) per test
//! binary, and a fault-injecting proxy in front of it.
//!
//! dynalite never throttles and never leaves items unprocessed, so the
//! proxy ([`Dynalite::flaky`]) makes DynamoDB's two ways of saying "later"
//! happen against the real server: it answers some calls with
//! `ProvisionedThroughputExceededException` without forwarding them, and
//! forwards only the first half of each BatchWriteItem, returning the other
//! half as `UnprocessedItems`, exactly as DynamoDB does under load.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{free_port, make_temp_dir, report_started, shared_server, Supervised};

/// Where `scripts/test.sh` installs dynalite (npm, into a folder the
/// project owns); `DECANT_DYNALITE` overrides it.
pub const DYNALITE_ENV: &str = "DECANT_DYNALITE";

fn dynalite_program() -> PathBuf {
    if let Some(p) = std::env::var_os(DYNALITE_ENV) {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.npm-tools/node_modules/dynalite/cli.js");
    if !p.exists() {
        panic!(
            "dynalite not found at {}: run scripts/test.sh (it installs dynalite 4 with npm into .npm-tools/), \
             or `npm install --prefix .npm-tools dynalite@4`, or set {DYNALITE_ENV}",
            p.display()
        );
    }
    p
}

/// The dynalite server of this test binary, started on first use on a free
/// 127.0.0.1 port (in memory, its log in a temp dir; tables are created in
/// no time). Tests keep apart by table names. Panics if Node.js or dynalite
/// is missing.
pub fn dynalite() -> &'static Dynalite {
    static SERVER: OnceLock<Result<Dynalite, String>> = OnceLock::new();
    shared_server(&SERVER, Dynalite::start)
}

/// A running dynalite; see [`dynalite`].
#[derive(Debug)]
pub struct Dynalite {
    port: u16,
    _server: Supervised,
}

impl Dynalite {
    fn start() -> Dynalite {
        let since = Instant::now();
        let program = dynalite_program();
        let node = crate::process::find_tool("node");
        let dir = make_temp_dir("dynalite");
        let mut server = Supervised::new("dynalite", &dir, dir.join("dynalite.log"), "KILL", None);
        let port = server.start(
            || {
                let port = free_port();
                let argv = vec![
                    node.clone().into_os_string(),
                    program.clone().into_os_string(),
                    "--host".into(),
                    "127.0.0.1".into(),
                    "--port".into(),
                    port.to_string().into(),
                    "--createTableMs".into(),
                    "0".into(),
                    "--deleteTableMs".into(),
                    "0".into(),
                ];
                (argv, port)
            },
            |port| TcpStream::connect(("127.0.0.1", *port)).is_ok(),
        );
        report_started("dynalite", port, &dir, since);
        Dynalite { port, _server: server }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `dynamodb://us-east-1?endpoint=http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("dynamodb://us-east-1?endpoint=http://127.0.0.1:{}", self.port)
    }

    /// A proxy in front of the server that throttles every `throttle_every`th
    /// call (0: never) and leaves the second half of every BatchWriteItem
    /// unprocessed; see the module's doc.
    pub fn flaky(&self, throttle_every: u64) -> FlakyProxy {
        FlakyProxy::start(self.port, throttle_every)
    }

    /// Calls the server directly (a test's own view, not the tools'):
    /// `operation` with a JSON body; returns the status and JSON answer.
    pub fn call(&self, operation: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let text = body.to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-amz-json-1.0\r\n\
             X-Amz-Target: DynamoDB_20120810.{operation}\r\nX-Amz-Date: 20260101T000000Z\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
            self.port,
            text.len()
        );
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connecting to dynalite");
        stream.write_all(request.as_bytes()).expect("writing to dynalite");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("reading from dynalite");
        let (status, _, body) = split_response(&answer).expect("an HTTP answer from dynalite");
        (status, serde_json::from_slice(body).unwrap_or(serde_json::Value::Null))
    }

    /// Every item of a table (Scan, all pages), as DynamoDB JSON.
    pub fn scan_all(&self, table: &str) -> Vec<serde_json::Value> {
        let mut items = Vec::new();
        let mut start: Option<serde_json::Value> = None;
        loop {
            let mut body = serde_json::json!({ "TableName": table });
            if let Some(s) = start.take() {
                body["ExclusiveStartKey"] = s;
            }
            let (status, out) = self.call("Scan", &body);
            assert_eq!(status, 200, "Scan {table}: {out}");
            items.extend(out["Items"].as_array().cloned().unwrap_or_default());
            match out.get("LastEvaluatedKey") {
                Some(k) if k.is_object() => start = Some(k.clone()),
                _ => return items,
            }
        }
    }
}

/// Splits an HTTP answer into status, headers and body.
fn split_response(answer: &[u8]) -> Option<(u16, &[u8], &[u8])> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = &answer[..end];
    let status = std::str::from_utf8(head).ok()?.split(' ').nth(1)?.parse().ok()?;
    Some((status, head, &answer[end + 4..]))
}

/// The fault-injecting proxy of [`Dynalite::flaky`]; stops when dropped.
#[derive(Debug)]
pub struct FlakyProxy {
    port: u16,
    stats: Arc<ProxyStats>,
}

#[derive(Debug, Default)]
struct ProxyStats {
    calls: AtomicU64,
    throttled: AtomicU64,
    withheld: AtomicU64,
    stop: AtomicBool,
}

impl FlakyProxy {
    fn start(upstream: u16, throttle_every: u64) -> FlakyProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("binding the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let stats = Arc::new(ProxyStats::default());
        let s = stats.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                thread::spawn(move || {
                    let _ = serve(conn, upstream, throttle_every, &s);
                });
            }
        });
        FlakyProxy { port, stats }
    }

    /// `dynamodb://us-east-1?endpoint=http://127.0.0.1:PROXY_PORT`.
    pub fn url(&self) -> String {
        format!("dynamodb://us-east-1?endpoint=http://127.0.0.1:{}", self.port)
    }

    /// Calls answered with a throttling error.
    pub fn throttled(&self) -> u64 {
        self.stats.throttled.load(Ordering::Relaxed)
    }

    /// Write requests returned as unprocessed.
    pub fn withheld(&self) -> u64 {
        self.stats.withheld.load(Ordering::Relaxed)
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stats.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Serves one client connection (keep-alive), request by request.
fn serve(conn: TcpStream, upstream: u16, throttle_every: u64, stats: &ProxyStats) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let mut head = Vec::new();
        let mut length = 0usize;
        let mut target = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
                continue;
            }
            if let Some(v) = lower.strip_prefix("x-amz-target:") {
                target = v.trim().to_owned();
            }
            if lower.starts_with("connection:") {
                continue;
            }
            head.extend_from_slice(line.as_bytes());
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let n = stats.calls.fetch_add(1, Ordering::Relaxed) + 1;
        if throttle_every > 0 && n % throttle_every == 0 {
            stats.throttled.fetch_add(1, Ordering::Relaxed);
            let answer = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded (decant test proxy)"}"#;
            write_answer(&mut out, 400, answer)?;
            continue;
        }
        let mut withheld = serde_json::Map::new();
        if target.ends_with(".batchwriteitem") {
            if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&body) {
                if let Some(tables) = json["RequestItems"].as_object_mut() {
                    for (table, requests) in tables.iter_mut() {
                        let Some(list) = requests.as_array_mut() else { continue };
                        if list.len() >= 2 {
                            let rest = list.split_off(list.len().div_ceil(2));
                            stats.withheld.fetch_add(rest.len() as u64, Ordering::Relaxed);
                            withheld.insert(table.clone(), serde_json::Value::Array(rest));
                        }
                    }
                }
                body = json.to_string().into_bytes();
            }
        }
        let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
        up.write_all(&head)?;
        write!(up, "Content-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
        up.write_all(&body)?;
        let mut answer = Vec::new();
        up.read_to_end(&mut answer)?;
        let Some((status, _, answer_body)) = split_response(&answer) else {
            return Ok(());
        };
        let mut answer_body = answer_body.to_vec();
        if status == 200 && !withheld.is_empty() {
            if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&answer_body) {
                json["UnprocessedItems"] = serde_json::Value::Object(withheld);
                answer_body = json.to_string().into_bytes();
            }
        }
        write_answer(&mut out, status, &answer_body)?;
    }
}

fn write_answer(out: &mut TcpStream, status: u16, body: &[u8]) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status} {}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
        if status == 200 { "OK" } else { "Bad Request" },
        body.len()
    )?;
    out.write_all(body)?;
    out.flush()
}
