//! The decant end-to-end test harness: throwaway servers and the real
//! binaries.
//!
//! End-to-end tests live in `tests/tests/*.rs` (one file per tool) and run
//! the real binaries against real servers that the harness starts in temp
//! dirs on free 127.0.0.1 ports, so they never touch, or depend on, the
//! machine's own services:
//!
//! - [`redis`], [`redis_tls`], [`redis_cluster`], [`RedisOptions`]: one
//!   server (or cluster) per test, owned by the test, stopped on drop; Redis
//!   7.0 or Valkey 9.1 ([`redis_on`], [`ServerKind`]).
//! - [`dynalite`]: a DynamoDB implementation (dynalite, Node.js) per test
//!   binary, and [`FlakyProxy`] in front of it to throttle and leave batch
//!   items unprocessed, as DynamoDB does under load.
//! - [`mariadb`], [`postgres`]: one server per test binary (each takes about
//!   a second to initialise), shared by its tests, which keep apart with
//!   `fresh_database`.
//! - [`run`], [`Cmd`], [`Output`]: run a workspace binary (built by
//!   `cargo build --workspace --bins`, which `scripts/test.sh` runs first)
//!   and check its exit code, stderr and NDJSON stdout.
//! - [`Workdir`]: a temp dir for files.
//!
//! ```no_run
//! use decant_tests::{mariadb, redis, run};
//!
//! let redis = redis();
//! redis.cli(["HSET", "apikey:1", "name", "prod"]);
//! let export = run("redis-export").args(["--url", &redis.url()]).assert_success();
//! assert_eq!(export.stdout_json_lines().len(), 3); // header, key, end
//!
//! let db = mariadb();
//! let name = db.fresh_database("redis_copy");
//! db.query(&name, "CREATE TABLE t (id INT PRIMARY KEY)");
//! ```
//!
//! Cleanup: every server runs under a watchdog shell that holds the read end
//! of a pipe whose write end only the test process has. When the pipe closes
//! — the handle is dropped, or the test process ends in any way, including a
//! panic, `exit` or `kill -9` — the watchdog stops the server and deletes its
//! temp dir. Set `DECANT_TEST_KEEP=1` to keep the dirs for a post-mortem.
//!
//! A missing server program fails the test with the Debian package to
//! install; nothing is skipped.

#![deny(missing_docs)]

mod bins;
mod corpus;
mod dynamodb;
mod mariadb;
mod postgres;
mod process;
mod redis;
mod workdir;

pub use bins::{bin, run, Cmd, Output, Pipeline, DEFAULT_TIMEOUT};
pub use corpus::{corpus, CORPUS_ENV};
pub use dynamodb::{dynalite, Dynalite, FlakyProxy, DYNALITE_ENV};
pub use mariadb::{mariadb, MariaDb};
pub use postgres::{postgres, Postgres};
pub use process::{free_port, KEEP_ENV};
pub use redis::{
    redis, redis_cluster, redis_cluster_on, redis_on, redis_tls, RedisCluster, RedisOptions, RedisServer, ServerKind,
    TlsRedis, VALKEY_SERVER_ENV,
};
pub use workdir::Workdir;
