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

/// The stores decant talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// `redis://` or `rediss://` (TLS).
    Redis,
    /// `mysql://` or `mariadb://`.
    MySql,
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `sqlite://`.
    Sqlite,
}

impl Store {
    /// The store a URL scheme names.
    pub fn from_scheme(scheme: &str) -> Option<Store> {
        Some(match scheme {
            "redis" | "rediss" | "redis+unix" | "unix" => Store::Redis,
            "mysql" | "mariadb" => Store::MySql,
            "postgres" | "postgresql" => Store::Postgres,
            "sqlite" => Store::Sqlite,
            _ => return None,
        })
    }
}

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

/// Hides the password part of URL-like text (`scheme://user:PASSWORD@host`).
pub fn redact_url_text(text: &str) -> String {
    if let Some(scheme_end) = text.find("://") {
        let rest = &text[scheme_end + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                return format!("{}://{}:***{}", &text[..scheme_end], &rest[..colon], &rest[at..]);
            }
        }
    }
    text.to_owned()
}

impl ConnUrl {
    /// Parses a URL, registering its password as a secret.
    pub fn parse(text: &str) -> Result<ConnUrl, UrlError> {
        let invalid = |reason: String| UrlError::Invalid { shown: redact_url_text(text), reason };
        let url = Url::parse(text).map_err(|e| invalid(e.to_string()))?;
        let store = Store::from_scheme(url.scheme()).ok_or_else(|| {
            invalid(format!(
                "unknown scheme {:?} (expected redis, rediss, redis+unix, mysql, postgres or sqlite)",
                url.scheme()
            ))
        })?;
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
    /// `*_REDIS_HOST`/`PORT`/`PASSWORD`/`DB` variables. A Redis URL without a
    /// password takes `*_REDIS_PASSWORD`; `--password-file` overrides any password.
    pub fn resolve(
        cli_url: Option<&str>,
        password_file: Option<&Path>,
        role: Role,
        redis_env: bool,
    ) -> Result<ConnUrl, UrlError> {
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
        } else {
            let mut names = format!("{p}_URL");
            if redis_env {
                names.push_str(&format!(" (or {p}_REDIS_HOST, {p}_REDIS_PORT, {p}_REDIS_PASSWORD, {p}_REDIS_DB)"));
            }
            return Err(UrlError::Missing(names));
        };
        if conn.store == Store::Redis && conn.password().is_none() {
            if let Some(pw) = env("REDIS_PASSWORD") {
                conn.set_password(&pw);
            }
        }
        if let Some(path) = password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| UrlError::PasswordFile { path: path.to_path_buf(), source })?;
            conn.set_password(text.trim_end_matches(['\n', '\r']));
        }
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
