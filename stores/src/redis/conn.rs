//! Redis connections shared by `redis-export` and `redis-import` (both
//! crates use this module, so the two tools connect, verify TLS and find
//! cluster masters the same way).
//!
//! A connection is a TCP stream (or rustls over one, for `rediss://`) driven
//! by hand: a whole batch of commands is encoded into one buffer
//! ([`Packer`]), written with one `send`, and the replies are read one at a
//! time with [`Conn::recv`] through a large-buffered RESP2 reader
//! ([`RespReader`]). Replies are consumed as they arrive, so a batch costs one
//! round trip and memory for one reply, while the server works through the
//! rest.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use decant_record::conn::ConnUrl;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

pub use super::resp::{Reply, RespReader};

/// How long connecting (TCP, TLS handshake, AUTH, SELECT) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a reply once connected.
const READ_TIMEOUT: Duration = Duration::from_secs(300);

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
    /// Built on the first TLS connect, shared by the later ones (cluster
    /// nodes, worker connections).
    tls_config: OnceLock<Arc<rustls::ClientConfig>>,
}

/// The server's version and mode, from `INFO server` / `INFO cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    /// `(major, minor, patch)`.
    pub version: (u32, u32, u32),
    /// `cluster_enabled:1`.
    pub cluster: bool,
    /// Hash field expiry (`HPEXPIRETIME`, `HPEXPIREAT`: Redis 7.4+, Valkey
    /// 9+), asked with `COMMAND INFO` since Valkey reports `redis_version:7.2`.
    pub field_expiry: bool,
    /// Functions (`FUNCTION LIST`: Redis 7+, Valkey).
    pub functions: bool,
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
        let unix = is_socket_url(&url);
        let url_db = match if unix { url.param("db") } else { url.database() } {
            Some(d) => d.parse::<u32>().with_context(|| format!("{url}: the database must be a number, not {d:?}"))?,
            None => 0,
        };
        if unix && url.url().path().trim_matches('/').is_empty() {
            bail!("{url}: a socket URL names the socket's path: redis+unix:///path/to/redis.sock?db=N");
        }
        if !url.is_tls() && (tls.tls_ca.is_some() || tls.tls_cert.is_some() || tls.insecure) {
            bail!("--tls-ca, --tls-cert, --tls-key and --insecure need a rediss:// URL (got {url})");
        }
        Ok(Endpoint { url, tls, db: db.unwrap_or(url_db), tls_config: OnceLock::new() })
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
        if self.socket_path().is_some() {
            u.set_query(Some(&format!("db={}", self.db)));
        } else {
            u.set_path(&format!("/{}", self.db));
        }
        u.to_string()
    }

    /// The unix socket of a `redis+unix:///path?db=N` (or `unix://`) URL.
    pub fn socket_path(&self) -> Option<PathBuf> {
        is_socket_url(&self.url).then(|| {
            let path = self.url.url().path();
            PathBuf::from(percent_encoding_decode(path))
        })
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
        // The URL's host of an IPv6 address keeps its brackets; sockets and
        // TLS server names want the bare address.
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let tls = if self.url.is_tls() {
            let config = self.tls_config(&addr)?;
            let name = ServerName::try_from(bare.to_owned())
                .map_err(|e| anyhow::anyhow!("{}: not a valid TLS server name: {e}", self.shown_addr(&addr)))?;
            Some((config, name))
        } else {
            None
        };
        self.open(bare, port, db, tls).map_err(|e| {
            let msg = scrub(&e);
            let hint = if self.url.is_tls() && (msg.contains("certificate") || msg.contains("UnknownIssuer")) {
                " (the server's certificate is not trusted: give its CA with --tls-ca FILE, or --insecure to skip verification)"
            } else if ["WRONGPASS", "NOAUTH", "invalid password", "AuthenticationFailed"].iter().any(|m| msg.contains(m)) {
                " (check the user and password: URL, --password-file or *_REDIS_PASSWORD)"
            } else {
                ""
            };
            anyhow::anyhow!("cannot connect to {}: {msg}{hint}", self.shown_addr(&addr))
        })
        .map(|reader| Conn { reader, addr, pending: 0 })
    }

    /// TCP connect, TLS handshake, AUTH and SELECT, all within
    /// [`CONNECT_TIMEOUT`]; errors as text for the caller's message.
    fn open(
        &self,
        host: &str,
        port: u16,
        db: u32,
        tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    ) -> Result<RespReader<Stream>, String> {
        let start = Instant::now();
        let io_err = |e: io::Error| e.to_string();
        if let Some(path) = self.socket_path() {
            let unix = UnixStream::connect(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            unix.set_read_timeout(Some(CONNECT_TIMEOUT)).map_err(io_err)?;
            unix.set_write_timeout(Some(CONNECT_TIMEOUT)).map_err(io_err)?;
            return self.handshake(Stream::Unix(unix), db);
        }
        if host == "0.0.0.0" || host == "::" {
            return Err("Cannot connect to a wildcard address (0.0.0.0 or ::)".into());
        }
        let mut last_error = None;
        let mut tcp = None;
        for sa in (host, port).to_socket_addrs().map_err(|e| e.to_string())? {
            match TcpStream::connect_timeout(&sa, CONNECT_TIMEOUT) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let tcp = match (tcp, last_error) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(e.to_string()),
            (None, None) => return Err("could not resolve to any addresses".into()),
        };
        tcp.set_nodelay(true).map_err(io_err)?;
        let left = CONNECT_TIMEOUT.checked_sub(start.elapsed()).filter(|d| !d.is_zero());
        let Some(left) = left else { return Err("Connection timed out".into()) };
        tcp.set_read_timeout(Some(left)).map_err(io_err)?;
        tcp.set_write_timeout(Some(left)).map_err(io_err)?;
        let stream = match tls {
            None => Stream::Tcp(tcp),
            Some((config, name)) => {
                let conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
                let mut s = rustls::StreamOwned::new(conn, tcp);
                while s.conn.is_handshaking() {
                    s.conn.complete_io(&mut s.sock).map_err(io_err)?;
                }
                Stream::Tls(Box::new(s))
            }
        };
        self.handshake(stream, db)
    }

    /// AUTH and SELECT on a connected stream, then the read timeout.
    fn handshake(&self, stream: Stream, db: u32) -> Result<RespReader<Stream>, String> {
        let io_err = |e: io::Error| e.to_string();
        let user = self.url.username();
        let password = self.url.password();
        let mut reader = RespReader::new(stream);
        let mut replies = hello(&mut reader, user.as_deref(), password.as_deref(), db)?;
        if user.is_some()
            && matches!(replies.first(), Some(Reply::Error(e)) if e.contains("wrong number of arguments for 'auth' command"))
        {
            // A server older than 6.0 (no ACL users): the password alone.
            replies = hello(&mut reader, None, password.as_deref(), db)?;
        }
        let mut replies = replies.into_iter();
        if password.is_some() {
            if let Some(Reply::Error(e)) = replies.next() {
                // The server's refusal (WRONGPASS …) never holds the password.
                return Err(format!("Password authentication failed: {e}"));
            }
        }
        if db != 0 {
            if let Some(Reply::Error(e)) = replies.next() {
                return Err(format!("SELECT {db} failed: {e}"));
            }
        }
        reader.get_ref().set_timeouts(Some(READ_TIMEOUT), None).map_err(io_err)?;
        Ok(reader)
    }

    /// The rustls configuration (built once): `--tls-ca` or the system's
    /// roots, `--tls-cert`/`--tls-key`, `--insecure`; the ring provider.
    fn tls_config(&self, addr: &str) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        if let Some(c) = self.tls_config.get() {
            return Ok(c.clone());
        }
        let read =
            |p: &PathBuf, what: &str| std::fs::read(p).with_context(|| format!("reading {what} {}", p.display()));
        let ca = self.tls.tls_ca.as_ref().map(|p| read(p, "--tls-ca")).transpose()?;
        let client = match (&self.tls.tls_cert, &self.tls.tls_key) {
            (Some(c), Some(k)) => Some((read(c, "--tls-cert")?, read(k, "--tls-key")?)),
            _ => None,
        };
        let config = Arc::new(
            build_tls_config(ca.as_deref(), client, self.tls.insecure)
                .map_err(|e| anyhow::anyhow!("{}: {}", self.shown_addr(addr), scrub(&e)))?,
        );
        let _ = self.tls_config.set(config.clone());
        Ok(config)
    }

    fn shown_addr(&self, addr: &str) -> String {
        match self.socket_path() {
            Some(path) => format!("{}://{}", self.url.url().scheme(), path.display()),
            None => format!("{}://{addr}", self.url.url().scheme()),
        }
    }
}

/// True for `redis+unix://` and `unix://` URLs (a server's unix socket, as
/// `redis-cli -s`).
pub fn is_socket_url(url: &ConnUrl) -> bool {
    matches!(url.url().scheme(), "redis+unix" | "unix")
}

/// `%XX` escapes of a URL path decoded (a socket path with spaces).
fn percent_encoding_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The rustls configuration from the PEM contents of `--tls-ca` and
/// `--tls-cert`/`--tls-key`; errors worded as the redis crate worded them.
fn build_tls_config(
    ca: Option<&[u8]>,
    client: Option<(Vec<u8>, Vec<u8>)>,
    insecure: bool,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("Unable to parse root certificate PEM: {e}"))?;
                roots.add(cert).map_err(|_| "Unable to parse TLS trust anchors".to_owned())?;
            }
        }
        // Nothing is verified: no need to load the system's roots.
        None if insecure => {}
        None => {
            // As the redis crate did: the platform's roots, any error fatal.
            let mut found = rustls_native_certs::load_native_certs();
            if let Some(e) = found.errors.pop() {
                return Err(e.to_string());
            }
            roots.add_parsable_certificates(found.certs);
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("Unable to parse client certificate chain PEM: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(&key)
                .map_err(|e| format!("Unable to extract private key from PEM file: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("Unable to build client with TLS parameters provided. - {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    if insecure {
        config.enable_sni = false;
        config.dangerous().set_certificate_verifier(Arc::new(NoVerification(provider)));
    }
    Ok(config)
}

/// AUTH and SELECT in one round trip; their replies. A PING stands in when
/// there is neither, so that a connection that does not work (a TLS port
/// spoken to in clear, a client certificate refused, which TLS 1.3 says only
/// after the handshake) fails while connecting, as "cannot connect". The
/// PING's reply is not checked: a NOAUTH there is reported by the first real
/// command, as before.
fn hello(
    reader: &mut RespReader<Stream>,
    user: Option<&str>,
    password: Option<&str>,
    db: u32,
) -> Result<Vec<Reply>, String> {
    let mut p = Packer::default();
    if let Some(pw) = password {
        p.begin(if user.is_some() { 3 } else { 2 });
        p.arg(b"AUTH");
        if let Some(u) = user {
            p.arg(u.as_bytes());
        }
        p.arg(pw.as_bytes());
    }
    if db != 0 {
        p.begin(2);
        p.arg(b"SELECT");
        p.arg_int(db as i64);
    }
    if p.is_empty() {
        p.cmd(&[b"PING"]);
    }
    let s = reader.get_mut();
    s.write_all(p.bytes()).and_then(|_| s.flush()).map_err(|e| e.to_string())?;
    (0..p.count()).map(|_| reader.read_reply().map_err(|e| e.to_string())).collect()
}

/// `--insecure`: accepts any server certificate and handshake signature,
/// as the redis crate's `#insecure` did (a certificate webpki cannot even
/// parse, e.g. an old X.509 v1 self-signed one, must still be accepted).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Errors can echo the URL; hide any password in it.
fn scrub(text: &str) -> String {
    decant_record::cli::redact(&decant_record::conn::redact_url_text(text))
}

/// The byte stream under a connection.
enum Stream {
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    Unix(UnixStream),
}

impl Stream {
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(read).and_then(|()| s.set_write_timeout(write)),
            Stream::Tls(s) => s.sock.set_read_timeout(read).and_then(|()| s.sock.set_write_timeout(write)),
            Stream::Unix(s) => s.set_read_timeout(read).and_then(|()| s.set_write_timeout(write)),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// One connection with hand-driven pipelining.
pub struct Conn {
    reader: RespReader<Stream>,
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
        let s = self.reader.get_mut();
        s.write_all(packed).and_then(|_| s.flush()).map_err(|e| self.io_error(e))?;
        self.pending += count;
        Ok(())
    }

    /// Reads the next reply (an error reply is a `Reply::Error`, not an `Err`).
    pub fn recv(&mut self) -> anyhow::Result<Reply> {
        let v = self.reader.read_reply().map_err(|e| self.io_error(e))?;
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
    pub fn call(&mut self, args: &[&[u8]]) -> anyhow::Result<Reply> {
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
        let field_expiry = self.has_command("HPEXPIRETIME");
        let functions = self.has_command("FUNCTION");
        Ok(ServerInfo { version, cluster, field_expiry, functions })
    }

    /// The function libraries with their code (`FUNCTION LIST WITHCODE`), by name.
    pub fn function_libraries(&mut self) -> anyhow::Result<Vec<decant_record::RedisFunction>> {
        let reply = self.call(&[b"FUNCTION", b"LIST", b"WITHCODE"])?;
        let mut out = Vec::new();
        for lib in array_of(&reply).unwrap_or(&[]) {
            let (mut library, mut engine, mut code) = (None, None, None);
            for pair in array_of(lib).unwrap_or(&[]).chunks(2) {
                let [name, value] = pair else { continue };
                match bytes_of(name).unwrap_or_default() {
                    b"library_name" => library = bytes_of(value).map(|b| String::from_utf8_lossy(b).into_owned()),
                    b"engine" => engine = bytes_of(value).map(|b| String::from_utf8_lossy(b).into_owned()),
                    b"library_code" => code = bytes_of(value).map(<[u8]>::to_vec),
                    _ => {}
                }
            }
            match (library, engine, code) {
                (Some(library), Some(engine), Some(code)) => {
                    out.push(decant_record::RedisFunction { library, engine, code })
                }
                _ => bail!("{}: FUNCTION LIST WITHCODE: a library without name, engine or code", self.addr),
            }
        }
        out.sort_by(|a, b| a.library.cmp(&b.library));
        Ok(out)
    }

    /// Whether the server knows the command `name` (`COMMAND INFO`); false
    /// when it cannot tell (an old server, or COMMAND renamed away).
    pub fn has_command(&mut self, name: &str) -> bool {
        match self.call(&[b"COMMAND", b"INFO", name.as_bytes()]) {
            Ok(v) => array_of(&v).and_then(|a| a.first()).is_some_and(|c| array_of(c).is_some()),
            Err(_) => false,
        }
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

    fn io_error(&self, e: io::Error) -> anyhow::Error {
        let msg = match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                format!("no reply within {} s ({e})", READ_TIMEOUT.as_secs())
            }
            _ => e.to_string(),
        };
        anyhow::anyhow!("{}: {}", self.addr, scrub(&msg))
    }
}

/// The error text of an error reply, `None` for any other reply.
pub fn error_text(v: &Reply) -> Option<String> {
    match v {
        Reply::Error(e) => Some(e.clone()),
        _ => None,
    }
}

/// A bulk or simple string's bytes.
pub fn bytes_of(v: &Reply) -> Option<&[u8]> {
    match v {
        Reply::Bulk(b) | Reply::Simple(b) => Some(b),
        _ => None,
    }
}

/// An integer reply (or a string holding one).
pub fn int_of(v: &Reply) -> Option<i64> {
    match v {
        Reply::Int(n) => Some(*n),
        other => bytes_of(other).and_then(|b| std::str::from_utf8(b).ok()).and_then(|s| s.parse().ok()),
    }
}

/// An array reply's elements.
pub fn array_of(v: &Reply) -> Option<&[Reply]> {
    match v {
        Reply::Array(a) => Some(a),
        _ => None,
    }
}

/// Takes an array reply's elements by value.
pub fn into_array(v: Reply) -> Option<Vec<Reply>> {
    match v {
        Reply::Array(a) => Some(a),
        _ => None,
    }
}

/// Takes a bulk string's bytes by value.
pub fn into_bytes(v: Reply) -> Option<Vec<u8>> {
    match v {
        Reply::Bulk(b) | Reply::Simple(b) => Some(b),
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

    /// One argument of `len` bytes that `write` appends to the buffer, so a
    /// big argument (a DUMP payload) is built in place rather than copied.
    /// `write` must append exactly `len` bytes: anything else would shift
    /// every later command, so it stops the program.
    pub fn arg_with(&mut self, len: usize, write: impl FnOnce(&mut Vec<u8>)) {
        self.buf.push(b'$');
        push_decimal(&mut self.buf, len as u64);
        self.buf.extend_from_slice(b"\r\n");
        self.buf.reserve(len + 2);
        let start = self.buf.len();
        write(&mut self.buf);
        assert_eq!(self.buf.len() - start, len, "an argument written in place has the length announced");
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
                // A last `*` takes whatever is left (the `prefix:*` of
                // `--match`, tested against every key SCAN gives).
                b'*' if p + 1 == pattern.len() => return true,
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
    fn socket_urls_name_a_path_and_a_db_parameter() {
        let url = ConnUrl::parse("redis+unix:///run/redis%20x/redis.sock?db=4").unwrap();
        let e = Endpoint::new(url, TlsArgs::default(), None).unwrap();
        assert_eq!(e.socket_path(), Some(PathBuf::from("/run/redis x/redis.sock")));
        assert_eq!(e.db(), 4);
        assert_eq!(e.shown(), "redis+unix:///run/redis%20x/redis.sock?db=4");
        let plain = Endpoint::new(ConnUrl::parse("unix:///tmp/r.sock").unwrap(), TlsArgs::default(), Some(2)).unwrap();
        assert_eq!((plain.socket_path(), plain.db()), (Some(PathBuf::from("/tmp/r.sock")), 2));
        let tcp = Endpoint::new(ConnUrl::parse("redis://h:1/3").unwrap(), TlsArgs::default(), None).unwrap();
        assert_eq!((tcp.socket_path(), tcp.db()), (None, 3));
        let err = Endpoint::new(ConnUrl::parse("redis+unix:///?db=1").unwrap(), TlsArgs::default(), None).unwrap_err();
        assert!(err.to_string().contains("names the socket's path"), "{err}");
        let mut pw = ConnUrl::parse("redis+unix:///tmp/r.sock").unwrap();
        pw.set_password("s3cret");
        assert_eq!(pw.password().as_deref(), Some("s3cret"));
    }

    #[test]
    fn slots_match_redis() {
        // Values from the Redis Cluster specification and CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }

    /// Redis's glob by its definition, recursively (`*`, `?`, `[ab]`, `\\x`).
    fn glob_reference(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') => (0..=t.len()).any(|k| glob_reference(&p[1..], &t[k..])),
            Some(b'?') => !t.is_empty() && glob_reference(&p[1..], &t[1..]),
            Some(b'[') => {
                let end = p.iter().position(|&c| c == b']').expect("the test's classes are closed");
                !t.is_empty() && p[1..end].contains(&t[0]) && glob_reference(&p[end + 1..], &t[1..])
            }
            Some(b'\\') if p.len() > 1 => t.first() == Some(&p[1]) && glob_reference(&p[2..], &t[1..]),
            Some(&c) => t.first() == Some(&c) && glob_reference(&p[1..], &t[1..]),
        }
    }

    proptest::proptest! {
        #[test]
        fn globs_match_as_redis_defines_them(pattern in "(a|b|:|\\*|\\?|\\[ab\\]|\\\\\\*){0,7}", text in "[ab:*]{0,9}") {
            proptest::prop_assert_eq!(glob_match(pattern.as_bytes(), text.as_bytes()), glob_reference(pattern.as_bytes(), text.as_bytes()));
        }
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
