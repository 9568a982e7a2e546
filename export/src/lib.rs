//! decant exporters: read a store and write a decant NDJSON stream.
//!
//! - [`dynamodb`]: `dynamodb-export` (parallel Scan, resumable).
//! - [`redis`]: `redis-export` (SCAN-based, pipelined, cluster-aware).
//! - [`sql`]: `mysql-export`, `pg-export`, `sqlite-export` over one
//!   dialect-aware core.
//!
//! The binaries in `src/bin/` only parse arguments and call these modules.

pub mod commands;
pub mod dynamodb;
pub mod redis;
pub mod sql;
