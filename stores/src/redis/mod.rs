//! Redis and Valkey: connections (TCP, TLS, unix sockets, AUTH, SELECT,
//! cluster masters) and the RESP2 reply reader, shared by `redis-export`
//! and `redis-import`.

pub mod conn;
pub mod resp;
