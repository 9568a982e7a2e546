//! The store registry: every store decant talks to, with its URL schemes, its
//! exporter and importer binaries and what it can do. Code that would
//! otherwise ask "is this Redis?" (and treat every other store as SQL) asks
//! the registry about a capability instead, so a new store that lacks one is
//! refused with a clear message rather than misread.
//!
//! # How to add a store
//!
//! 1. Its client module (connection, TLS, auth): `stores/src/NAME/`, used by
//!    both directions.
//! 2. Its source: `export/src/NAME/` and an `export/src/bin/NAME-export.rs`.
//! 3. Its sink: `import/src/NAME/` and an `import/src/bin/NAME-import.rs`.
//! 4. Its entry here: a [`Store`] variant and a [`StoreInfo`] in [`STORES`]
//!    (schemes, binaries, capabilities, password variable, help lines).
//!
//! The checkers (`decant-checksum`, `decant-diff`, `decant-verify`) read a
//! live store through its exporter and learn from its [`Capabilities`] which
//! filters it takes and which checks run inside it; they need no change.
//! (The `decant` dispatcher's tool list and the README's tables name the new
//! binaries for users.)

use std::fmt;

/// The stores decant talks to. Everything known about one is in its
/// [`StoreInfo`] ([`Store::info`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Store {
    /// `redis://` or `rediss://` (TLS), `redis+unix://`, `unix://`.
    Redis,
    /// `mysql://` or `mariadb://`.
    MySql,
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `sqlite://`.
    Sqlite,
    /// `dynamodb://REGION` (`?endpoint=http://HOST:PORT` for a local server).
    DynamoDb,
}

/// The SQL dialect of a store that speaks SQL: how the checkers write a key
/// lookup or a range condition that the store's exporter passes on in `--where`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlDialect {
    /// MySQL / MariaDB: backquoted identifiers, `X'…'` and `_utf8mb4 X'…'` literals.
    MySql,
    /// PostgreSQL: double-quoted identifiers, `'\x…'` byte literals.
    Postgres,
    /// SQLite: double-quoted identifiers, `X'…'` byte literals.
    Sqlite,
}

/// How the records of a store are identified, and so how a checker fetches
/// a few of them by key (`decant-verify --sample`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup {
    /// Redis keys: the exporter's `--match` with each key as an escaped glob.
    KeyGlob,
    /// Rows by key columns: the exporter's `--where` with `KEY IN (…)` in the
    /// store's [`SqlDialect`].
    SqlWhere,
    /// No lookup by key: a sampled record is looked up during the full pass.
    None,
}

/// What a store can do, as the tools that read or check it need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Its records are `row` lines in tables, keyed by the primary key of the
    /// table's `schema` line (SQL, DynamoDB); otherwise `redis` lines keyed by key.
    pub keyed_rows: bool,
    /// It writes `schema` lines (column types, keys, indexes).
    pub schema_lines: bool,
    /// Its records carry expiry times (TTLs).
    pub ttls: bool,
    /// Its exporter takes `--tables LIST`.
    pub tables_filter: bool,
    /// Its exporter takes `--match PATTERN` (key globs).
    pub match_filter: bool,
    /// Its exporter takes `--where TABLE:CONDITION` with an SQL condition.
    pub where_filter: bool,
    /// `decant-diff` can compare two of its tables by checksums of primary-key
    /// ranges computed inside the database (MySQL/MariaDB, PostgreSQL).
    pub range_checksums: bool,
    /// How a checker fetches records by key.
    pub key_lookup: KeyLookup,
    /// Its URLs name a host (`user:password@host`); SQLite's name a file.
    pub url_has_host: bool,
    /// Its exporter takes `--dump-modules`: values only a server extension
    /// can read (Redis module types) are exported as their serialised
    /// payload, the one form a checker can compare them in.
    pub opaque_payloads: bool,
}

/// One store's entry in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreInfo {
    /// The store.
    pub store: Store,
    /// Its name for people: "PostgreSQL".
    pub name: &'static str,
    /// The URL schemes that name it; the first is the canonical one.
    pub schemes: &'static [&'static str],
    /// A URL template for help and error messages.
    pub url_example: &'static str,
    /// The binary that writes its contents as a decant stream.
    pub exporter: &'static str,
    /// The binary that writes a decant stream into it.
    pub importer: &'static str,
    /// What it can do.
    pub capabilities: Capabilities,
    /// Its SQL dialect, for a store that takes SQL conditions.
    pub sql: Option<SqlDialect>,
    /// The variable the store's own clients read a password from, used when
    /// neither the URL nor `--password-file` gives one.
    pub password_env: Option<&'static str>,
    /// For the live-store checkers' `--help`: the password variables and
    /// what they are (one line, `VARIABLES  text`).
    pub password_help: Option<(&'static str, &'static str)>,
    /// The store-specific lines of a tool's `Environment:` help, with `{P}`
    /// for `SOURCE` or `TARGET`.
    pub env_help: &'static str,
}

/// Capabilities shared by the three SQL stores.
const SQL: Capabilities = Capabilities {
    keyed_rows: true,
    schema_lines: true,
    ttls: false,
    tables_filter: true,
    match_filter: false,
    where_filter: true,
    range_checksums: false,
    key_lookup: KeyLookup::SqlWhere,
    url_has_host: true,
    opaque_payloads: false,
};

/// The registry, in the order stores are listed to users.
pub static STORES: &[StoreInfo] = &[
    StoreInfo {
        store: Store::Redis,
        name: "Redis",
        schemes: &["redis", "rediss", "redis+unix", "unix"],
        url_example: "redis://HOST:PORT/DB",
        exporter: "redis-export",
        importer: "redis-import",
        capabilities: Capabilities {
            keyed_rows: false,
            schema_lines: false,
            ttls: true,
            tables_filter: false,
            match_filter: true,
            where_filter: false,
            range_checksums: false,
            key_lookup: KeyLookup::KeyGlob,
            url_has_host: true,
            opaque_payloads: true,
        },
        sql: None,
        password_env: Some("REDISCLI_AUTH"),
        password_help: Some(("REDISCLI_AUTH", "Redis password, as redis-cli reads it")),
        env_help: "  {P}_REDIS_HOST, _PORT, _DB, _PASSWORD, _TLS  the URL in parts,\n      when neither --url nor {P}_URL is given\n  REDISCLI_AUTH  the password, as redis-cli reads it\n",
    },
    StoreInfo {
        store: Store::MySql,
        name: "MySQL",
        schemes: &["mysql", "mariadb"],
        url_example: "mysql://USER@HOST:PORT/DATABASE",
        exporter: "mysql-export",
        importer: "mysql-import",
        capabilities: Capabilities { range_checksums: true, ..SQL },
        sql: Some(SqlDialect::MySql),
        password_env: Some("MYSQL_PWD"),
        password_help: Some(("MYSQL_PWD", "MySQL / MariaDB password, as the mysql client reads it")),
        env_help: "  MYSQL_PWD  the password, as the mysql and mariadb clients read it\n",
    },
    StoreInfo {
        store: Store::Postgres,
        name: "PostgreSQL",
        schemes: &["postgres", "postgresql"],
        url_example: "postgres://USER@HOST:PORT/DATABASE",
        exporter: "pg-export",
        importer: "pg-import",
        capabilities: Capabilities { range_checksums: true, ..SQL },
        sql: Some(SqlDialect::Postgres),
        password_env: Some("PGPASSWORD"),
        password_help: Some(("PGPASSWORD, PGPASSFILE", "PostgreSQL password (or ~/.pgpass), as libpq reads them")),
        env_help: "  PGHOST, PGPORT, PGUSER, PGDATABASE  the URL in parts,\n      when neither --url nor {P}_URL is given\n  PGPASSWORD, PGPASSFILE  the password (or ~/.pgpass), as libpq reads them\n  PGSSLMODE  TLS: disable, prefer, require, verify-ca, verify-full\n",
    },
    StoreInfo {
        store: Store::Sqlite,
        name: "SQLite",
        schemes: &["sqlite"],
        url_example: "sqlite:///path/to/file.db",
        exporter: "sqlite-export",
        importer: "sqlite-import",
        capabilities: Capabilities { url_has_host: false, ..SQL },
        sql: Some(SqlDialect::Sqlite),
        password_env: None,
        password_help: None,
        env_help: "",
    },
    StoreInfo {
        store: Store::DynamoDb,
        name: "DynamoDB",
        schemes: &["dynamodb"],
        url_example: "dynamodb://REGION?endpoint=http://HOST:PORT",
        exporter: "dynamodb-export",
        importer: "dynamodb-import",
        // Items are rows keyed by the table's partition (and sort) key, named
        // in the schema line; no server-side filters or checksums.
        capabilities: Capabilities {
            keyed_rows: true,
            schema_lines: true,
            ttls: false,
            tables_filter: true,
            match_filter: false,
            where_filter: false,
            range_checksums: false,
            key_lookup: KeyLookup::None,
            url_has_host: false,
            opaque_payloads: false,
        },
        sql: None,
        // Credentials come from the AWS chain, never from the URL.
        password_env: None,
        password_help: Some((
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE",
            "DynamoDB credentials, as the AWS CLI reads them",
        )),
        env_help: "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN  credentials\n  AWS_PROFILE  a profile of ~/.aws/credentials and ~/.aws/config\n  AWS_REGION, AWS_DEFAULT_REGION  the region, when the URL has none\n",
    },
];

impl Store {
    /// The store a URL scheme names (lower case).
    pub fn from_scheme(scheme: &str) -> Option<Store> {
        STORES.iter().find(|s| s.schemes.contains(&scheme)).map(|s| s.store)
    }

    /// Its registry entry.
    pub fn info(self) -> &'static StoreInfo {
        // Every variant has an entry: the registry's unit test checks it.
        STORES.iter().find(|s| s.store == self).unwrap_or(&STORES[0])
    }

    /// What it can do.
    pub fn capabilities(self) -> Capabilities {
        self.info().capabilities
    }

    /// Its name for people.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Its SQL dialect, if it takes SQL conditions.
    pub fn sql(self) -> Option<SqlDialect> {
        self.info().sql
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every scheme of every store, for "expected …" messages: `a, b or c`.
pub fn known_schemes() -> String {
    let all: Vec<&str> = STORES.iter().flat_map(|s| s.schemes.iter().copied()).collect();
    match all.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_owned(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_store_has_one_entry_and_schemes_are_unique() {
        for store in [Store::Redis, Store::MySql, Store::Postgres, Store::Sqlite, Store::DynamoDb] {
            assert_eq!(STORES.iter().filter(|s| s.store == store).count(), 1, "{store:?}");
            assert_eq!(store.info().store, store);
        }
        let mut schemes: Vec<&str> = STORES.iter().flat_map(|s| s.schemes.iter().copied()).collect();
        let n = schemes.len();
        schemes.sort_unstable();
        schemes.dedup();
        assert_eq!(schemes.len(), n, "a scheme names two stores");
    }

    #[test]
    fn capabilities_are_consistent() {
        for s in STORES {
            let c = s.capabilities;
            assert_eq!(c.where_filter, s.sql.is_some(), "{}: --where is an SQL condition", s.name);
            assert!(!c.range_checksums || s.sql.is_some(), "{}: range checksums are SQL queries", s.name);
            assert!(c.key_lookup != KeyLookup::SqlWhere || c.where_filter, "{}", s.name);
            assert!(c.key_lookup != KeyLookup::KeyGlob || c.match_filter, "{}", s.name);
            assert!(!c.schema_lines || c.keyed_rows, "{}", s.name);
            assert!(s.url_example.starts_with(&format!("{}://", s.schemes[0])), "{}", s.name);
            assert_eq!(STORES.iter().filter(|o| o.exporter == s.exporter || o.importer == s.importer).count(), 1);
        }
        assert_eq!(Store::from_scheme("mariadb"), Some(Store::MySql));
        assert_eq!(Store::from_scheme("unix"), Some(Store::Redis));
        assert_eq!(Store::from_scheme("ftp"), None);
        assert!(
            known_schemes().ends_with(", mysql, mariadb, postgres, postgresql, sqlite or dynamodb"),
            "{}",
            known_schemes()
        );
        assert_eq!(Store::from_scheme("dynamodb"), Some(Store::DynamoDb));
    }
}
