//! Connection URLs: parsing, environment fallbacks, `--password-file`, and
//! redaction so a password never reaches a log, a progress line or an error.
//!
//! Every password parsed here is also registered with [`crate::cli::register_secret`],
//! and every diagnostic printed through [`crate::cli`] is scrubbed of
//! registered secrets, so even a driver error that echoes the URL is safe.

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use crate::cli::register_secret;

pub use crate::store::Store;

/// Whether a URL names where data comes from or where it goes (selects the
/// `SOURCE_*` or `TARGET_*` environment variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Exporters and the left side of comparisons: `SOURCE_URL`, `SOURCE_REDIS_*`.
    Source,
    /// Importers: `TARGET_URL`, `TARGET_REDIS_*`.
    Target,
}

impl Role {
    fn prefix(self) -> &'static str {
        match self {
            Role::Source => "SOURCE",
            Role::Target => "TARGET",
        }
    }
}

/// A connection URL whose password is hidden whenever it is displayed.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnUrl {
    url: Url,
    store: Store,
    /// The password of a URL that has no host to hang it on (a Redis unix
    /// socket, `redis+unix:///path`), from the environment or a file.
    hostless_password: Option<String>,
}

/// Why a connection URL is unusable.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// Not a URL.
    #[error("bad connection URL {shown}: {reason}")]
    Invalid {
        /// The text with any password hidden.
        shown: String,
        /// What is wrong.
        reason: String,
    },
    /// No URL given and none in the environment.
    #[error("no connection URL: give --url, or set {0}")]
    Missing(String),
    /// The password file could not be read.
    #[error("cannot read password file {path}: {source}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Where the password of URL-like text (`scheme://user:PASSWORD@host/…`)
/// is, as a byte range, found by the last `@` after the scheme rather than
/// by parsing: a password holding `/ # ? @` (not percent-encoded) makes the
/// URL unparsable, and the error must still not show it.
fn password_span(text: &str) -> Option<std::ops::Range<usize>> {
    let scheme_end = text.find("://")? + 3;
    let rest = &text[scheme_end..];
    let at = rest.rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some(scheme_end + colon + 1..scheme_end + at)
}

/// Hides the password part of URL-like text (`scheme://user:PASSWORD@host`).
pub fn redact_url_text(text: &str) -> String {
    match password_span(text) {
        Some(span) => format!("{}***{}", &text[..span.start], &text[span.end..]),
        None => text.to_owned(),
    }
}

/// The hint for a URL whose password did not parse.
const ENCODE_HINT: &str = "percent-encode the password's special characters (/ as %2F, # as %23, ? as %3F, @ as %40, : as %3A, % as %25), or leave it out of the URL and give it with --password-file FILE or the store's environment variable";

/// The marker decant writes in place of a password (`postgres://app:***@…`,
/// e.g. in a checksum file): a URL that holds it has no password of its own.
pub const REDACTED: &str = "***";

impl ConnUrl {
    /// Parses a URL, registering its password as a secret.
    pub fn parse(text: &str) -> Result<ConnUrl, UrlError> {
        // Registered before parsing: whatever fails below, no message shows it.
        if let Some(span) = password_span(text) {
            register_secret(&text[span.clone()]);
            if let Ok(decoded) = percent_decode(&text[span]) {
                register_secret(&decoded);
            }
        }
        let invalid = |reason: String| UrlError::Invalid { shown: redact_url_text(text), reason };
        let url = Url::parse(text)
            .map_err(|e| invalid(format!("{e}; if the password holds special characters, {ENCODE_HINT}")))?;
        let store = Store::from_scheme(url.scheme()).ok_or_else(|| {
            invalid(format!("unknown scheme {:?} (expected {})", url.scheme(), crate::store::known_schemes()))
        })?;
        // "postgres://app:12/x@host/db" parses (host "app", port 12, path
        // "/x@host/db"): an "@" after the host part means a password with a
        // "/", "?" or "#" in it.
        let after_host = &url[url::Position::AfterPort..];
        if store.capabilities().url_has_host && url.password().is_none() && after_host.contains('@') {
            return Err(invalid(format!("\"@\" after the host: {ENCODE_HINT}")));
        }
        if let Some(pw) = url.password() {
            register_secret(pw);
            if let Ok(decoded) = percent_decode(pw) {
                register_secret(&decoded);
            }
        }
        Ok(ConnUrl { url, store, hostless_password: None })
    }

    /// Resolves the URL a tool should use, in order: `--url`, then
    /// `SOURCE_URL`/`TARGET_URL`, then (for Redis tools, `redis_env`) the
    /// `*_REDIS_HOST`/`PORT`/`PASSWORD`/`DB` variables. A URL without a
    /// password (or with decant's `***` in its place) takes one from
    /// `--password-file`, else the store's own variable ([`password_env`]).
    pub fn resolve(
        cli_url: Option<&str>,
        password_file: Option<&Path>,
        role: Role,
        redis_env: bool,
    ) -> Result<ConnUrl, UrlError> {
        Self::resolve_inner(cli_url, password_file, role, redis_env.then_some(Store::Redis))
    }

    /// [`ConnUrl::resolve`] for a tool of one store: a Redis tool also reads
    /// the `*_REDIS_*` variables, a PostgreSQL tool builds its URL from the
    /// libpq variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`,
    /// `PGSSLMODE`) when no URL is given.
    pub fn resolve_for(
        cli_url: Option<&str>,
        password_file: Option<&Path>,
        role: Role,
        store: Store,
    ) -> Result<ConnUrl, UrlError> {
        Self::resolve_inner(cli_url, password_file, role, Some(store))
    }

    fn resolve_inner(
        cli_url: Option<&str>,
        password_file: Option<&Path>,
        role: Role,
        store: Option<Store>,
    ) -> Result<ConnUrl, UrlError> {
        let redis_env = store == Some(Store::Redis);
        let p = role.prefix();
        let env = |name: &str| std::env::var(format!("{p}_{name}")).ok().filter(|v| !v.is_empty());
        let mut conn = if let Some(u) = cli_url {
            ConnUrl::parse(u)?
        } else if let Some(u) = env("URL") {
            ConnUrl::parse(&u)?
        } else if redis_env && env("REDIS_HOST").is_some() {
            let host = env("REDIS_HOST").unwrap_or_default();
            let port = env("REDIS_PORT").unwrap_or_else(|| "6379".into());
            let db = env("REDIS_DB").unwrap_or_else(|| "0".into());
            let scheme = if env("REDIS_TLS").is_some_and(|v| v != "0" && v != "false") { "rediss" } else { "redis" };
            ConnUrl::parse(&format!("{scheme}://{host}:{port}/{db}"))?
        } else if let Some(u) = store.and_then(url_from_libpq_env) {
            ConnUrl::parse(&u)?
        } else {
            let mut names = format!("{p}_URL");
            match store {
                Some(Store::Redis) => {
                    names.push_str(&format!(" (or {p}_REDIS_HOST, {p}_REDIS_PORT, {p}_REDIS_PASSWORD, {p}_REDIS_DB)"))
                }
                Some(Store::Postgres) => names.push_str(" (or the libpq variables PGHOST, PGPORT, PGUSER, PGDATABASE)"),
                _ => {}
            }
            return Err(UrlError::Missing(names));
        };
        if conn.url.password() == Some(REDACTED) {
            let _ = conn.url.set_password(None);
        }
        if conn.store == Store::Redis && conn.password().is_none() {
            if let Some(pw) = env("REDIS_PASSWORD") {
                conn.set_password(&pw);
            }
        }
        if let Some(path) = password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| UrlError::PasswordFile { path: path.to_path_buf(), source })?;
            conn.set_password(text.trim_end_matches(['\n', '\r']));
        } else if conn.url.password().is_none() {
            if let Some(pw) =
                password_env(conn.store).and_then(|name| std::env::var(name).ok()).filter(|v| !v.is_empty())
            {
                conn.set_password(&pw);
            }
        }
        let whose = match role {
            Role::Source => "source",
            Role::Target => "target",
        };
        let password = if conn.password().is_some() { "with a password" } else { "no password" };
        crate::cli::verbose(1, format_args!("{whose}: {conn} ({password})"));
        Ok(conn)
    }

    /// Replaces the password (registering it as a secret).
    pub fn set_password(&mut self, password: &str) {
        register_secret(password);
        let encoded = percent_encode(password);
        register_secret(&encoded);
        // Only URLs without a host (a unix socket's) refuse this: their
        // password is kept beside the URL.
        if self.url.set_password(Some(&encoded)).is_err() {
            self.hostless_password = Some(password.to_owned());
        }
    }

    /// The store this URL names.
    pub fn store(&self) -> Store {
        self.store
    }

    /// The URL with its password, for handing to a driver. Never print it.
    pub fn expose(&self) -> &str {
        self.url.as_str()
    }

    /// The parsed URL (with its password). Never print it.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL with its password replaced by `***`, for messages and headers.
    pub fn redacted(&self) -> String {
        let mut shown = self.url.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        shown.to_string()
    }

    /// The decoded password, if any.
    pub fn password(&self) -> Option<String> {
        if let Some(p) = &self.hostless_password {
            return Some(p.clone());
        }
        self.url.password().map(|p| percent_decode(p).unwrap_or_else(|_| p.to_owned()))
    }

    /// The decoded user name, if any.
    pub fn username(&self) -> Option<String> {
        let u = self.url.username();
        (!u.is_empty()).then(|| percent_decode(u).unwrap_or_else(|_| u.to_owned()))
    }

    /// Host name or address.
    pub fn host(&self) -> Option<&str> {
        self.url.host_str()
    }

    /// Port, if given.
    pub fn port(&self) -> Option<u16> {
        self.url.port()
    }

    /// True for `rediss://`.
    pub fn is_tls(&self) -> bool {
        self.url.scheme() == "rediss"
    }

    /// The first path segment: the database name (SQL) or number (Redis).
    pub fn database(&self) -> Option<String> {
        let seg = self.url.path().trim_start_matches('/');
        let seg = seg.split('/').next().unwrap_or("");
        (!seg.is_empty()).then(|| percent_decode(seg).unwrap_or_else(|_| seg.to_owned()))
    }

    /// A query parameter, e.g. `sslmode`.
    pub fn param(&self, name: &str) -> Option<String> {
        self.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    /// The file of a `sqlite://` URL: `sqlite:///abs/path.db` is absolute,
    /// `sqlite://relative.db` relative to the working directory.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        if self.store != Store::Sqlite {
            return None;
        }
        let path = percent_decode(self.url.path()).unwrap_or_else(|_| self.url.path().to_owned());
        match self.url.host_str().filter(|h| !h.is_empty()) {
            Some(host) => Some(PathBuf::from(format!("{host}{path}"))),
            None => Some(PathBuf::from(path)),
        }
    }
}

/// The environment variable the store's own clients read a password from:
/// `PGPASSWORD` (libpq), `MYSQL_PWD` (mysql, mariadb), `REDISCLI_AUTH`
/// (redis-cli). Used when neither the URL nor `--password-file` gives one.
pub fn password_env(store: Store) -> Option<&'static str> {
    store.info().password_env
}

/// A PostgreSQL URL from the libpq variables (`PGHOST`, `PGPORT`, `PGUSER`,
/// `PGDATABASE`, `PGSSLMODE`), when at least `PGHOST` or `PGDATABASE` is set.
/// The password comes later, from `PGPASSWORD` or `PGPASSFILE`.
fn url_from_libpq_env(store: Store) -> Option<String> {
    if store != Store::Postgres {
        return None;
    }
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (host, db) = (var("PGHOST"), var("PGDATABASE"));
    if host.is_none() && db.is_none() {
        return None;
    }
    let mut url = String::from("postgres://");
    if let Some(user) = var("PGUSER") {
        url.push_str(&percent_encode(&user));
        url.push('@');
    }
    let host = host.unwrap_or_else(|| "localhost".into());
    if host.starts_with('/') {
        // A socket directory: libpq's form, which sqlx reads as ?host=.
        url.push_str("localhost");
    } else {
        url.push_str(&host);
    }
    if let Some(port) = var("PGPORT") {
        url.push(':');
        url.push_str(&port);
    }
    url.push('/');
    if let Some(db) = db {
        url.push_str(&percent_encode(&db));
    }
    let mut params = Vec::new();
    if host.starts_with('/') {
        params.push(format!("host={}", percent_encode(&host)));
    }
    if let Some(mode) = var("PGSSLMODE") {
        params.push(format!("sslmode={}", percent_encode(&mode)));
    }
    if !params.is_empty() {
        url.push('?');
        url.push_str(&params.join("&"));
    }
    Some(url)
}

/// The environment variables a tool of `store` reads, for its `--help`.
pub fn env_help(store: Store, role: Role) -> String {
    let p = role.prefix();
    let mut out = format!("Environment:\n  {p}_URL  the URL, when --url is not given\n");
    out.push_str(&store.info().env_help.replace("{P}", p));
    out.push_str("  A password in the URL, or from --password-file, comes first.\n");
    out
}

/// The environment section of `--help` for the tools that read live stores
/// by URL (decant-checksum, decant-diff, decant-verify): each store's
/// password variables, from the registry.
pub fn live_env_help() -> String {
    let mut out = String::from("Environment (live store URLs without a password, and no --password-file):\n");
    for (vars, text) in crate::store::STORES.iter().filter_map(|s| s.password_help) {
        out.push_str(&format!("  {vars:<22}  {text}\n"));
    }
    out.push_str(
        "  A URL written with its password hidden (user:***@host, as in a checksum file)\n  takes its password from these too.",
    );
    out
}

impl fmt::Display for ConnUrl {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ConnUrl {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ConnUrl({})", self.redacted())
    }
}

fn percent_decode(s: &str) -> Result<String, std::string::FromUtf8Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        let u = ConnUrl::parse("redis://app:s3cr%40t@db.example:6380/2").unwrap();
        assert_eq!(u.to_string(), "redis://app:***@db.example:6380/2");
        assert_eq!(format!("{u:?}"), "ConnUrl(redis://app:***@db.example:6380/2)");
        assert_eq!(u.password().unwrap(), "s3cr@t");
        assert_eq!(u.database().unwrap(), "2");
        assert_eq!(crate::cli::redact("error talking to s3cr@t and s3cr%40t"), "error talking to *** and ***");
        assert_eq!(redact_url_text("mysql://root:pw@h/db"), "mysql://root:***@h/db");
        assert_eq!(redact_url_text("mysql://root@h/db"), "mysql://root@h/db");
    }

    #[test]
    fn bad_urls_hide_the_password() {
        let err = ConnUrl::parse("ftp://u:hunter2@h/").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("unknown scheme"), "{err}");
    }

    #[test]
    fn unparsable_urls_never_show_their_password() {
        for pw in ["Sec/ret#1", "a?b", "p#w", "x@y/z", "12/x"] {
            let text = format!("postgres://app:{pw}@db.example:5432/shop");
            let err = ConnUrl::parse(&text).map(|u| u.to_string()).unwrap_or_else(|e| e.to_string());
            assert!(!err.contains(pw), "{pw}: {err}");
            assert!(!crate::cli::redact(&format!("driver said {text}")).contains(pw), "{pw}");
            assert!(redact_url_text(&text).contains("app:***@db.example"), "{}", redact_url_text(&text));
        }
        let err = ConnUrl::parse("postgres://app:Sec/ret#1@host/db").unwrap_err().to_string();
        assert!(err.contains("percent-encode") && err.contains("--password-file"), "{err}");
        // "12/x" parses as host app, port 12: caught by the "@" after the host.
        let err = ConnUrl::parse("postgres://app:12/x@host/db").unwrap_err().to_string();
        assert!(err.contains("after the host"), "{err}");
    }

    #[test]
    fn the_redaction_marker_is_no_password() {
        let u = ConnUrl::resolve(Some("redis://app:***@127.0.0.1:1/0"), None, Role::Source, false).unwrap();
        assert_eq!(u.password(), None);
        let dir = std::env::temp_dir().join(format!("decant-conn-{}", std::process::id()));
        std::fs::write(&dir, "from-file\n").unwrap();
        let u = ConnUrl::resolve(Some("postgres://app:***@h/db"), Some(&dir), Role::Source, false).unwrap();
        assert_eq!(u.password().as_deref(), Some("from-file"));
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(ConnUrl::parse("sqlite:///tmp/a.db").unwrap().sqlite_path().unwrap(), PathBuf::from("/tmp/a.db"));
        assert_eq!(ConnUrl::parse("sqlite://rel.db").unwrap().sqlite_path().unwrap(), PathBuf::from("rel.db"));
    }

    #[test]
    fn set_password_encodes() {
        let mut u = ConnUrl::parse("redis://127.0.0.1:6379/0").unwrap();
        u.set_password("p@ss word");
        assert_eq!(u.password().unwrap(), "p@ss word");
        assert!(!u.to_string().contains("p@ss"));
    }
}
