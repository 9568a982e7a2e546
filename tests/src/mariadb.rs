//! One throwaway MariaDB server per test binary (it takes about a second to
//! initialise); tests isolate themselves with [`MariaDb::fresh_database`].

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use crate::process::{
    chomp, find_tool, free_port, is_root, make_temp_dir, opt, report_started, run_checked, shared_server, Supervised,
};

/// The MariaDB server of this test binary, started on first use: MariaDB
/// 10.11 speaking the MySQL protocol on a free 127.0.0.1 port, in a temp dir.
///
/// Server settings: `character-set-server=utf8mb4`, `default-time-zone=+02:00`
/// (not UTC, so zone bugs show), `local-infile=1`, `max-allowed-packet=256M`,
/// no binary log, `innodb-flush-log-at-trx-commit=2` (fast, not durable).
/// User `root` with an empty password, over TCP from 127.0.0.1 and on the
/// socket.
///
/// It stops, and its dir is deleted, when the test process exits, however it
/// exits. Panics, naming the Debian package to install, if `mariadbd`,
/// `mariadb-install-db` or the `mariadb` client is missing.
pub fn mariadb() -> &'static MariaDb {
    static SERVER: OnceLock<Result<MariaDb, String>> = OnceLock::new();
    shared_server(&SERVER, MariaDb::start)
}

/// A running MariaDB server; see [`mariadb`].
#[derive(Debug)]
pub struct MariaDb {
    port: u16,
    dir: PathBuf,
    socket: PathBuf,
    client: PathBuf,
    databases: AtomicU32,
    server: Supervised,
    ca: PathBuf,
}

impl MariaDb {
    fn start() -> MariaDb {
        let since = Instant::now();
        let install_db = find_tool("mariadb-install-db");
        let mariadbd = find_tool("mariadbd");
        let client = find_tool("mariadb");
        let dir = make_temp_dir("mariadb");
        let mut server = Supervised::new("mariadbd", &dir, dir.join("server.log"), "KILL", None);
        let socket = dir.join("mysqld.sock");
        // sun_path holds 108 bytes.
        assert!(
            socket.as_os_str().len() < 100,
            "the MariaDB socket path {} is too long for a Unix socket: set TMPDIR to a shorter dir",
            socket.display()
        );
        let data = dir.join("data");
        let tmp = dir.join("tmp");
        fs::create_dir(&tmp).unwrap_or_else(|e| panic!("cannot create {}: {e}", tmp.display()));
        // mariadbd refuses to run as root unless told to, and only root may
        // tell it to run as some user.
        let user: &[&str] = if is_root() { &["--user=root"] } else { &[] };

        let mut install: Vec<OsString> = vec![install_db.into(), "--no-defaults".into()];
        install.extend(user.iter().map(OsString::from));
        install.extend([
            opt("--datadir", &data),
            "--auth-root-authentication-method=normal".into(),
            "--skip-test-db".into(),
        ]);
        server.run(&install);
        let installed_in = since.elapsed();
        // TLS on, with this test process's certificates (see `ca_path`).
        let (ca, cert, key) = crate::redis::test_ca_and_server_cert();

        let port = server.start(
            || {
                let port = free_port();
                let mut argv: Vec<OsString> = vec![mariadbd.clone().into(), "--no-defaults".into()];
                argv.extend(user.iter().map(OsString::from));
                argv.extend([
                    opt("--datadir", &data),
                    opt("--socket", &socket),
                    opt("--port", port.to_string()),
                    "--bind-address=127.0.0.1".into(),
                    opt("--pid-file", dir.join("mariadb.pid")),
                    opt("--tmpdir", &tmp),
                    // Accounts are matched by IP: `root`@`127.0.0.1` below.
                    "--skip-name-resolve".into(),
                    "--skip-log-bin".into(),
                    "--local-infile=1".into(),
                    "--max-allowed-packet=256M".into(),
                    "--innodb-flush-log-at-trx-commit=2".into(),
                    "--character-set-server=utf8mb4".into(),
                    "--default-time-zone=+02:00".into(),
                    opt("--ssl-ca", ca),
                    opt("--ssl-cert", cert),
                    opt("--ssl-key", key),
                ]);
                (argv, port)
            },
            |_| {
                client_command(&client, &socket, "")
                    .arg("--execute=select 1")
                    .output()
                    .is_ok_and(|out| out.status.success())
            },
        );
        let mariadb = MariaDb { port, dir, socket, client, databases: AtomicU32::new(0), server, ca: ca.to_path_buf() };
        // root has no password on the socket only; the tools under test
        // connect over TCP.
        mariadb.query(
            "",
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';\n\
             GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n\
             FLUSH PRIVILEGES;",
        );
        report_started(
            &format!("mariadbd (data dir made in {} ms)", installed_in.as_millis()),
            port,
            &mariadb.dir,
            since,
        );
        mariadb
    }

    /// The CA that signed the server's TLS certificate (for `ssl-ca`): the
    /// server accepts TLS, with a certificate valid for 127.0.0.1 and localhost.
    pub fn ca_path(&self) -> &Path {
        &self.ca
    }

    /// The TCP port (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Unix socket (user `root`, no password).
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The server's temp dir (data dir, socket, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log file (errors and start-up notes).
    pub fn log_path(&self) -> &Path {
        self.server.log()
    }

    /// `mysql://root@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a database no other test of this binary uses, named
    /// `PREFIX_N` (the prefix reduced to `[a-z0-9_]`), with character set
    /// utf8mb4, and returns its name.
    pub fn fresh_database(&self, prefix: &str) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = database_name(prefix, n);
        self.query("", &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"));
        name
    }

    /// Runs `sql` (one or more `;`-separated statements) with the `mariadb`
    /// client in database `db` (none when empty) and returns the output
    /// without the final newline: `--batch --skip-column-names`, so one line
    /// per row, columns separated by tabs, `NULL` for NULL, and tab, newline,
    /// backslash and NUL escaped as `\t`, `\n`, `\\`, `\0`.
    ///
    /// Panics with the client's error message when a statement fails.
    pub fn query(&self, db: &str, sql: &str) -> String {
        let mut cmd = self.client_command(db);
        chomp(run_checked(&mut cmd, Some(sql.as_bytes())))
    }

    /// [`MariaDb::query`]'s rows, each column unescaped, NULL as `None`.
    pub fn query_rows(&self, db: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        self.query(db, sql).lines().map(|l| l.split('\t').map(unescape_batch_field).collect()).collect()
    }

    /// A `mariadb` client command on the socket as `root`, in database `db`
    /// (none when empty), with batch output and utf8mb4.
    pub fn client_command(&self, db: &str) -> Command {
        client_command(&self.client, &self.socket, db)
    }
}

/// Undoes the `mariadb --batch` escapes of one column; `NULL` is `None`.
fn unescape_batch_field(field: &str) -> Option<String> {
    if field == "NULL" {
        return None;
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('0') => out.push('\0'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn client_command(client: &Path, socket: &Path, db: &str) -> Command {
    let mut cmd = Command::new(client);
    // --no-defaults must come first; it keeps ~/.my.cnf and /etc/mysql out.
    cmd.arg("--no-defaults").arg(opt("--socket", socket)).args([
        "--user=root",
        "--batch",
        "--skip-column-names",
        "--default-character-set=utf8mb4",
    ]);
    if !db.is_empty() {
        cmd.arg(format!("--database={db}"));
    }
    cmd
}

/// `PREFIX_N` with the prefix reduced to what needs no quoting anywhere and
/// short enough for MySQL's 64 and PostgreSQL's 63 byte identifiers.
pub(crate) fn database_name(prefix: &str, n: u32) -> String {
    let mut name: String =
        prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).take(40).collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "db_");
    }
    format!("{name}_{n}")
}

#[cfg(test)]
mod tests {
    use super::database_name;

    #[test]
    fn database_names_are_plain() {
        assert_eq!(database_name("Import-Test", 3), "import_test_3");
        assert_eq!(database_name("", 0), "db__0");
        assert_eq!(database_name("1x", 0), "db_1x_0");
        assert!(database_name(&"x".repeat(100), 99).len() <= 63);
    }
}
