//! Redis connections shared by `redis-export` and `redis-import` (the import
//! crate uses this module, so the two tools connect, verify TLS and find
//! cluster masters the same way).
//!
//! Connections are the `redis` crate's blocking ones, driven by hand: a whole
//! batch of commands is encoded into one buffer ([`Packer`]), written with one
//! `send`, and the replies are read one at a time with [`Conn::recv`]. Replies
//! are consumed as they arrive, so a batch costs one round trip and memory for
//! one reply, while the server works through the rest.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use decant_record::conn::ConnUrl;
use redis::Value;

/// `--tls-ca`, `--tls-cert`, `--tls-key`, `--insecure`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// For rediss:// URLs: trust the CA certificate(s) in FILE (PEM) instead
    /// of the system's roots.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// For rediss:// URLs: present this client certificate (PEM; needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// For rediss:// URLs: do not verify the server's certificate (encrypts,
    /// but does not prove who the server is).
    #[arg(long)]
    pub insecure: bool,
}

/// Where to connect and how: the URL (with its password), TLS settings and
/// the database to select.
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: ConnUrl,
    tls: TlsArgs,
    db: u32,
}

/// The server's version and mode, from `INFO server` / `INFO cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    /// `(major, minor, patch)`.
    pub version: (u32, u32, u32),
    /// `cluster_enabled:1`.
    pub cluster: bool,
}

impl ServerInfo {
    /// True when the server is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.version.0, self.version.1) >= (major, minor)
    }
}

impl Endpoint {
    /// An endpoint for `url`; `db` overrides the URL's database.
    pub fn new(url: ConnUrl, tls: TlsArgs, db: Option<u32>) -> anyhow::Result<Endpoint> {
        let url_db = match url.database() {
            Some(d) => d.parse::<u32>().with_context(|| format!("{url}: the database must be a number, not {d:?}"))?,
            None => 0,
        };
        if !url.is_tls() && (tls.tls_ca.is_some() || tls.tls_cert.is_some() || tls.insecure) {
            bail!("--tls-ca, --tls-cert, --tls-key and --insecure need a rediss:// URL (got {url})");
        }
        Ok(Endpoint { url, tls, db: db.unwrap_or(url_db) })
    }

    /// The database selected on connect.
    pub fn db(&self) -> u32 {
        self.db
    }

    /// The URL, password hidden, for messages and headers.
    pub fn shown(&self) -> String {
        let mut u = self.url.url().clone();
        if u.password().is_some() {
            let _ = u.set_password(Some("***"));
        }
        u.set_path(&format!("/{}", self.db));
        u.to_string()
    }

    /// Host and port of the URL.
    pub fn host_port(&self) -> (String, u16) {
        (self.url.host().unwrap_or("127.0.0.1").to_owned(), self.url.port().unwrap_or(6379))
    }

    /// Connects to the URL's server.
    pub fn connect(&self) -> anyhow::Result<Conn> {
        let (host, port) = self.host_port();
        self.connect_to(&host, port, self.db)
    }

    /// Connects to another node of the same deployment (a cluster master),
    /// with the same credentials and TLS settings.
    pub fn connect_to(&self, host: &str, port: u16, db: u32) -> anyhow::Result<Conn> {
        let addr = format!("{host}:{port}");
        let mut u = self.url.url().clone();
        if u.host_str() != Some(host) {
            u.set_host(Some(host)).map_err(|e| anyhow::anyhow!("bad node address {addr}: {e}"))?;
        }
        let _ = u.set_port(Some(port));
        u.set_path(&format!("/{db}"));
        u.set_query(None);
        let mut text = u.to_string();
        if self.url.is_tls() && self.tls.insecure {
            text.push_str("#insecure");
        }
        let client = if self.url.is_tls() && (self.tls.tls_ca.is_some() || self.tls.tls_cert.is_some()) {
            let read =
                |p: &PathBuf, what: &str| std::fs::read(p).with_context(|| format!("reading {what} {}", p.display()));
            let root_cert = self.tls.tls_ca.as_ref().map(|p| read(p, "--tls-ca")).transpose()?;
            let client_tls = match (&self.tls.tls_cert, &self.tls.tls_key) {
                (Some(c), Some(k)) => Some(redis::ClientTlsConfig {
                    client_cert: read(c, "--tls-cert")?,
                    client_key: read(k, "--tls-key")?,
                }),
                _ => None,
            };
            install_crypto_provider();
            redis::Client::build_with_tls(text.as_str(), redis::TlsCertificates { client_tls, root_cert })
        } else {
            install_crypto_provider();
            redis::Client::open(text.as_str())
        }
        .map_err(|e| anyhow::anyhow!("{}: {}", self.shown_addr(&addr), scrub(&e.to_string())))?;
        let con = client.get_connection_with_timeout(Duration::from_secs(10)).map_err(|e| {
            let msg = scrub(&e.to_string());
            let hint = if self.url.is_tls() && (msg.contains("certificate") || msg.contains("UnknownIssuer")) {
                " (the server's certificate is not trusted: give its CA with --tls-ca FILE, or --insecure to skip verification)"
            } else if ["WRONGPASS", "NOAUTH", "invalid password", "AuthenticationFailed"].iter().any(|m| msg.contains(m)) {
                " (check the user and password: URL, --password-file or *_REDIS_PASSWORD)"
            } else {
                ""
            };
            anyhow::anyhow!("cannot connect to {}: {msg}{hint}", self.shown_addr(&addr))
        })?;
        let _ = con.set_read_timeout(Some(Duration::from_secs(300)));
        Ok(Conn { inner: con, addr, pending: 0 })
    }

    fn shown_addr(&self, addr: &str) -> String {
        format!("{}://{addr}", self.url.url().scheme())
    }
}

fn install_crypto_provider() {
    // Several providers could be compiled in through other crates; pick ring
    // explicitly (an error only means one is installed already).
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Driver errors can echo the URL; hide any password in it.
fn scrub(text: &str) -> String {
    decant_record::cli::redact(&decant_record::conn::redact_url_text(text))
}

/// One connection with hand-driven pipelining.
pub struct Conn {
    inner: redis::Connection,
    addr: String,
    pending: usize,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("addr", &self.addr).field("pending", &self.pending).finish()
    }
}

impl Conn {
    /// `host:port` of the server.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends a packed batch of `count` commands without reading replies.
    pub fn send(&mut self, packed: &[u8], count: usize) -> anyhow::Result<()> {
        if count == 0 {
            return Ok(());
        }
        self.inner.send_packed_command(packed).map_err(|e| self.io_error(e))?;
        self.pending += count;
        Ok(())
    }

    /// Reads the next reply (an error reply is a `Value::ServerError`, not an `Err`).
    pub fn recv(&mut self) -> anyhow::Result<Value> {
        let v = self.inner.recv_response().map_err(|e| self.io_error(e))?;
        self.pending = self.pending.saturating_sub(1);
        Ok(v)
    }

    /// Replies still to be read.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Reads and drops every outstanding reply.
    pub fn drain(&mut self) -> anyhow::Result<()> {
        while self.pending > 0 {
            self.recv()?;
        }
        Ok(())
    }

    /// Runs one command and returns its reply; an error reply is an `Err`.
    pub fn call(&mut self, args: &[&[u8]]) -> anyhow::Result<Value> {
        let mut p = Packer::default();
        p.cmd(args);
        self.send(p.bytes(), 1)?;
        let v = self.recv()?;
        if let Some(e) = error_text(&v) {
            bail!("{}: {} failed: {e}", self.addr, String::from_utf8_lossy(args[0]));
        }
        Ok(v)
    }

    /// `INFO server` and `INFO cluster`.
    pub fn server_info(&mut self) -> anyhow::Result<ServerInfo> {
        let info = self.call(&[b"INFO", b"server"])?;
        let text = bytes_of(&info).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        let field = |name: &str| {
            text.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':'))).map(str::trim)
        };
        let mut version = (0, 0, 0);
        if let Some(v) = field("redis_version") {
            let mut it = v.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
            version = (it.next().unwrap_or(0), it.next().unwrap_or(0), it.next().unwrap_or(0));
        }
        let cluster = match self.call(&[b"INFO", b"cluster"]) {
            Ok(v) => bytes_of(&v).is_some_and(|b| String::from_utf8_lossy(b).contains("cluster_enabled:1")),
            Err(_) => false,
        };
        Ok(ServerInfo { version, cluster })
    }

    /// The cluster's slot ranges and their masters, from `CLUSTER SLOTS`;
    /// an empty host means "the host this connection reached".
    pub fn cluster_slots(&mut self, seed_host: &str) -> anyhow::Result<Vec<SlotRange>> {
        let v = self.call(&[b"CLUSTER", b"SLOTS"])?;
        let mut out = Vec::new();
        for range in array_of(&v).unwrap_or(&[]) {
            let items = array_of(range).unwrap_or(&[]);
            if items.len() < 3 {
                continue;
            }
            let (Some(start), Some(end)) = (int_of(&items[0]), int_of(&items[1])) else { continue };
            let node = array_of(&items[2]).unwrap_or(&[]);
            let host = node.first().and_then(bytes_of).map(|b| String::from_utf8_lossy(b).into_owned());
            let port = node.get(1).and_then(int_of);
            let (Some(mut host), Some(port)) = (host, port) else { continue };
            if host.is_empty() || host == "?" {
                host = seed_host.to_owned();
            }
            out.push(SlotRange { start: start as u16, end: end as u16, host, port: port as u16 });
        }
        if out.is_empty() {
            bail!("{}: CLUSTER SLOTS returned no slot ranges (is the cluster configured?)", self.addr);
        }
        Ok(out)
    }

    fn io_error(&self, e: redis::RedisError) -> anyhow::Error {
        anyhow::anyhow!("{}: {}", self.addr, scrub(&e.to_string()))
    }
}

/// The error text of an error reply, `None` for any other reply.
pub fn error_text(v: &Value) -> Option<String> {
    match v {
        Value::ServerError(e) => Some(match e.details() {
            Some(d) => format!("{} {d}", e.code()),
            None => e.code().to_owned(),
        }),
        _ => None,
    }
}

/// A bulk or simple string's bytes.
pub fn bytes_of(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        Value::Okay => Some(b"OK"),
        _ => None,
    }
}

/// An integer reply (or a string holding one).
pub fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        other => bytes_of(other).and_then(|b| std::str::from_utf8(b).ok()).and_then(|s| s.parse().ok()),
    }
}

/// An array reply's elements.
pub fn array_of(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(a) | Value::Set(a) => Some(a),
        _ => None,
    }
}

/// Takes an array reply's elements by value.
pub fn into_array(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) | Value::Set(a) => Some(a),
        _ => None,
    }
}

/// Takes a bulk string's bytes by value.
pub fn into_bytes(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        _ => None,
    }
}

/// A range of hash slots served by one master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRange {
    /// First slot.
    pub start: u16,
    /// Last slot (inclusive).
    pub end: u16,
    /// Master host.
    pub host: String,
    /// Master port.
    pub port: u16,
}

/// Encodes commands in RESP into one reusable buffer.
#[derive(Debug, Default)]
pub struct Packer {
    buf: Vec<u8>,
    count: usize,
}

impl Packer {
    /// Starts a command of `argc` arguments (the name included); follow it
    /// with exactly `argc` calls to [`arg`](Self::arg).
    pub fn begin(&mut self, argc: usize) {
        self.buf.push(b'*');
        push_decimal(&mut self.buf, argc as u64);
        self.buf.extend_from_slice(b"\r\n");
        self.count += 1;
    }

    /// One argument.
    #[inline]
    pub fn arg(&mut self, a: &[u8]) {
        self.buf.push(b'$');
        push_decimal(&mut self.buf, a.len() as u64);
        self.buf.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(a);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// One integer argument.
    pub fn arg_int(&mut self, n: i64) {
        let mut tmp = Vec::with_capacity(20);
        if n < 0 {
            tmp.push(b'-');
        }
        push_decimal(&mut tmp, n.unsigned_abs());
        self.arg(&tmp);
    }

    /// Already encoded commands (a range of another packer's bytes).
    pub fn raw(&mut self, encoded: &[u8], count: usize) {
        self.buf.extend_from_slice(encoded);
        self.count += count;
    }

    /// A whole command.
    pub fn cmd(&mut self, args: &[&[u8]]) {
        self.begin(args.len());
        for a in args {
            self.arg(a);
        }
    }

    /// The encoded commands.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Commands encoded so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Bytes encoded so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is encoded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Empties the buffer, keeping its capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.count = 0;
    }
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// The cluster hash slot of a key (CRC16/XMODEM of the key or of its
/// `{hash tag}`, modulo 16384).
pub fn key_slot(key: &[u8]) -> u16 {
    let mut k = key;
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                k = &key[open + 1..open + 1 + len];
            }
        }
    }
    crc16(k) % 16384
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// Redis glob matching (`*`, `?`, `[abc]`, `[^a-z]`, `\x`), as `SCAN MATCH`
/// and `KEYS` do it, on bytes.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star_p, mut star_t) = (usize::MAX, 0);
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star_p = p;
                    star_t = t;
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class_match(pattern, p, text[t]) {
                        if matched {
                            p = next;
                            t += 1;
                            continue;
                        }
                    } else if text[t] == b'[' {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if pattern[p + 1] == text[t] {
                        p += 2;
                        t += 1;
                        continue;
                    }
                }
                c => {
                    if c == text[t] {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        if star_p != usize::MAX {
            p = star_p + 1;
            star_t += 1;
            t = star_t;
            continue;
        }
        return false;
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Matches `c` against the class starting at `pattern[start] == b'['`;
/// returns (matched, index after the class), or `None` when unterminated.
fn class_match(pattern: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let b = *pattern.get(i)?;
        if b == b']' && !first {
            break;
        }
        first = false;
        if b == b'\\' && i + 1 < pattern.len() {
            if pattern[i + 1] == c {
                matched = true;
            }
            i += 2;
        } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']' {
            let (lo, hi) = if b <= pattern[i + 2] { (b, pattern[i + 2]) } else { (pattern[i + 2], b) };
            if (lo..=hi).contains(&c) {
                matched = true;
            }
            i += 3;
        } else {
            if b == c {
                matched = true;
            }
            i += 1;
        }
    }
    Some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // Values from the Redis Cluster specification and CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"apikey:*", b"apikey:42"));
        assert!(!glob_match(b"apikey:*", b"session:1"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"h?llo", b"hello"));
        assert!(glob_match(b"h[ae]llo", b"hallo"));
        assert!(!glob_match(b"h[^e]llo", b"hello"));
        assert!(glob_match(b"h[a-b]llo", b"hbllo"));
        assert!(glob_match(b"a\\*b", b"a*b"));
        assert!(!glob_match(b"a\\*b", b"axb"));
        assert!(glob_match(b"*:daily:*", b"usage:k1:daily:2025-01-01"));
        assert!(glob_match(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_match(b"a*b*c", b"aXXbYY"));
    }

    #[test]
    fn packs_resp() {
        let mut p = Packer::default();
        p.cmd(&[b"SET", b"k", b""]);
        p.begin(2);
        p.arg(b"INCRBY");
        p.arg_int(-12);
        assert_eq!(p.bytes(), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$6\r\nINCRBY\r\n$3\r\n-12\r\n");
        assert_eq!(p.count(), 2);
    }
}
