//! decant importers: read a decant NDJSON stream and write it into a store.
//!
//! - [`dynamodb`]: `dynamodb-import` (batched, retried, resumable).
//! - [`redis`]: `redis-import` (pipelined, modes, TTLs, cluster routing).
//! - [`sql`]: `mysql-import`, `pg-import`, `sqlite-import` over one
//!   dialect-aware core.
//!
//! The binaries in `src/bin/` only parse arguments and call these modules.

pub mod commands;
pub mod dynamodb;
pub mod redis;
pub mod sql;
