//! decant importers: read a decant NDJSON stream and write it into a store.
//!
//! - [`redis`]: `redis-import` (pipelined, modes, TTLs, cluster routing).
//! - [`sql`]: `mysql-import`, `pg-import`, `sqlite-import` over one
//!   dialect-aware core.
//!
//! The binaries in `src/bin/` only parse arguments and call these modules.

pub mod commands;
pub mod redis;
pub mod sql;
