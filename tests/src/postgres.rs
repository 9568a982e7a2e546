//! One throwaway PostgreSQL server per test binary; tests isolate themselves
//! with [`Postgres::fresh_database`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use crate::mariadb::database_name;
use crate::process::{
    chomp, find_tool, free_port, install_hint, is_executable, is_root, make_temp_dir, report_started, run_checked,
    shared_server, RunAs, Supervised,
};

/// The PostgreSQL server of this test binary, started on first use on a free
/// 127.0.0.1 port, in a temp dir.
///
/// Server settings: `timezone=Asia/Kolkata` (UTC+05:30, so zone bugs show),
/// encoding UTF8, locale C.UTF-8, trust authentication for the superuser
/// `postgres`, and `fsync=off`, `synchronous_commit=off`,
/// `full_page_writes=off` (fast, not durable: say so beside any timing).
///
/// PostgreSQL refuses to run as root, so as root the server runs as the
/// `postgres` user (created with `useradd -r -m postgres` if missing). It
/// stops, and its dir is deleted, when the test process exits, however it
/// exits. Panics, naming the Debian package to install, if `initdb`,
/// `postgres` or `psql` is missing.
pub fn postgres() -> &'static Postgres {
    static SERVER: OnceLock<Result<Postgres, String>> = OnceLock::new();
    shared_server(&SERVER, Postgres::start)
}

/// A running PostgreSQL server; see [`postgres`].
#[derive(Debug)]
pub struct Postgres {
    port: u16,
    dir: PathBuf,
    psql: PathBuf,
    databases: AtomicU32,
    server: Supervised,
    ca: PathBuf,
}

impl Postgres {
    fn start() -> Postgres {
        let since = Instant::now();
        let initdb = find_tool("initdb");
        // The server binary that belongs to this initdb, not another version.
        let bin_dir = initdb.canonicalize().ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_default();
        let postgres = bin_dir.join("postgres");
        assert!(
            is_executable(&postgres),
            "`postgres` not found beside {}: {}",
            initdb.display(),
            install_hint("postgres")
        );
        let psql = find_tool("psql");
        let run_as = is_root().then(postgres_user);

        let dir = make_temp_dir("postgres");
        if let Some(user) = run_as {
            std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
                .unwrap_or_else(|e| panic!("cannot give {} to postgres: {e}", dir.display()));
        }
        // The watchdog runs as the server's user: it can signal the server
        // and delete the dir, and needs nothing else.
        let mut server = Supervised::new("postgres", &dir, dir.join("server.log"), "QUIT", run_as);
        let data = dir.join("data");

        let mut init: Vec<OsString> = vec![initdb.clone().into(), "-D".into(), data.clone().into()];
        init.extend(
            ["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"].map(OsString::from),
        );
        server.run(&init);
        let initialised_in = since.elapsed();

        // TLS on (certificates of this test process, signed by its test CA),
        // so tests can check sslmode=verify-full; plain connections still work.
        let (ca, cert, key) = crate::redis::test_ca_and_server_cert();
        let (tls_cert, tls_key, tls_ca) = (dir.join("tls.crt"), dir.join("tls.key"), dir.join("ca.crt"));
        for (from, to) in [(cert, &tls_cert), (key, &tls_key), (ca, &tls_ca)] {
            std::fs::copy(from, to)
                .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
            if let Some(user) = run_as {
                std::os::unix::fs::chown(to, Some(user.uid), Some(user.gid))
                    .unwrap_or_else(|e| panic!("cannot give {} to postgres: {e}", to.display()));
            }
        }
        // PostgreSQL refuses a key file that others can read.
        std::fs::set_permissions(&tls_key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap_or_else(|e| panic!("cannot restrict {}: {e}", tls_key.display()));
        let ssl_settings = [
            "ssl=on".to_owned(),
            format!("ssl_cert_file={}", tls_cert.display()),
            format!("ssl_key_file={}", tls_key.display()),
        ];

        let port = server.start(
            || {
                let port = free_port();
                let mut argv: Vec<OsString> = vec![postgres.clone().into(), "-D".into()];
                argv.push(data.clone().into());
                argv.extend(["-p".into(), port.to_string().into(), "-k".into()]);
                argv.push(dir.clone().into());
                for setting in [
                    "listen_addresses=127.0.0.1",
                    "timezone=Asia/Kolkata",
                    "fsync=off",
                    "synchronous_commit=off",
                    "full_page_writes=off",
                ] {
                    argv.extend(["-c".into(), setting.into()]);
                }
                for setting in &ssl_settings {
                    argv.extend(["-c".into(), setting.into()]);
                }
                (argv, port)
            },
            |&port| {
                psql_command(&psql, port, "postgres")
                    .arg("--command=select 1")
                    .output()
                    .is_ok_and(|out| out.status.success())
            },
        );
        report_started(&format!("postgres (initdb took {} ms)", initialised_in.as_millis()), port, &dir, since);
        Postgres { port, dir, psql, databases: AtomicU32::new(0), server, ca: tls_ca }
    }

    /// The CA that signed the server's TLS certificate (for `sslrootcert`):
    /// the server accepts TLS, with a certificate valid for 127.0.0.1 and
    /// localhost.
    pub fn ca_path(&self) -> &Path {
        &self.ca
    }

    /// The TCP port (on 127.0.0.1; the socket dir is [`dir`](Self::dir)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's temp dir (data dir, socket, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        self.server.log()
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a database no other test of this binary uses, named
    /// `PREFIX_N` (the prefix reduced to `[a-z0-9_]`; encoding UTF8), and
    /// returns its name.
    pub fn fresh_database(&self, prefix: &str) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = database_name(prefix, n);
        self.query("postgres", &format!("CREATE DATABASE \"{name}\""));
        name
    }

    /// Runs `sql` (one or more statements) with `psql` in database `db` and
    /// returns the output without the final newline: `-At`, so one line per
    /// row, columns separated by `|`, NULL as an empty string, no command
    /// tags. Stops at, and panics with, the first error (`ON_ERROR_STOP`).
    pub fn query(&self, db: &str, sql: &str) -> String {
        let mut cmd = self.psql_command(db);
        chomp(run_checked(&mut cmd, Some(sql.as_bytes())))
    }

    /// A `psql` command connected as `postgres` to database `db`, with
    /// `-X -q -At -v ON_ERROR_STOP=1` and UTF-8 client encoding.
    pub fn psql_command(&self, db: &str) -> Command {
        psql_command(&self.psql, self.port, db)
    }
}

fn psql_command(psql: &Path, port: u16, db: &str) -> Command {
    let mut cmd = Command::new(psql);
    // Nothing from the caller's PG* environment (PGHOST, PGOPTIONS, …) may
    // redirect or alter the connection.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PG") {
            cmd.env_remove(name);
        }
    }
    cmd.env("PGCLIENTENCODING", "UTF8")
        .env("PGCONNECT_TIMEOUT", "5")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .arg(format!("--dbname={db}"));
    cmd
}

/// The `postgres` user's ids, creating the user if it does not exist.
fn postgres_user() -> RunAs {
    if let Some(user) = system_user("postgres") {
        return user;
    }
    let mut useradd = Command::new(find_tool("useradd"));
    useradd.args(["-r", "-m", "postgres"]);
    run_checked(&mut useradd, None);
    system_user("postgres").unwrap_or_else(|| {
        panic!("PostgreSQL cannot run as root and there is no `postgres` user: create it with `useradd -r -m postgres`")
    })
}

/// The ids of local user `name`, from /etc/passwd.
fn system_user(name: &str) -> Option<RunAs> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let uid = fields.nth(1)?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(RunAs { uid, gid })
    })
}
