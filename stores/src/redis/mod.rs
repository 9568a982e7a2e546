//! Redis and Valkey: connections (TCP, TLS, unix sockets, AUTH, SELECT,
//! cluster masters) and the RESP2 reply reader, shared by `redis-export`
//! and `redis-import`; the CRC-64 of RDB files and DUMP payloads, and DUMP
//! payloads built from values (`redis-import`'s one-command writes).

pub mod conn;
pub mod crc64;
pub mod dump;
pub mod resp;
