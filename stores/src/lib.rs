//! decant store clients: each store's connection code, in one place that its
//! exporter (`export/`) and its importer (`import/`) both use, so the two
//! directions connect, authenticate and verify TLS the same way and an
//! importer never depends on an exporter crate. One module per store; what
//! each store can do is in the registry (`decant_record::store`).

pub mod dynamodb;
pub mod redis;
