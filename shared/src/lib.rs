//! `decant-record`: the one owner of the decant NDJSON stream format.
//!
//! Every decant tool reads and writes this format, so it is documented here
//! like a wire format (docs/format.md). A stream is UTF-8, one JSON object per
//! line, `\n` line ends; every line has a `"kind"`:
//!
//! ```json
//! {"kind":"header","format":"decant/1","source":"redis://prod:6379/0","tool":"redis-export 0.1.0","created_at":"2026-11-21T10:00:00Z"}
//! {"kind":"schema","table":"operators","columns":[{"name":"id","type":"int64","nullable":false,"auto_increment":true},{"name":"email","type":"string","max_len":255}],"primary_key":["id"]}
//! {"kind":"row","table":"operators","data":{"id":1,"email":"a@example.com"}}
//! {"kind":"redis","db":0,"key":"apikey:42","type":"hash","expire_at_ms":null,"value":{"name":"prod","tokenLimit":"1000"}}
//! {"kind":"diff","op":"removed","table":"operators","id":{"id":1},"left":{"kind":"row","table":"operators","data":{"id":1,"email":"a@example.com"}},"right":null,"fields":[]}
//! {"kind":"delete","db":0,"key":"session:abc"}
//! {"kind":"end","records":5,"stream_blake3":"…64 hex…"}
//! ```
//!
//! - [`record`]: the line kinds and their encoding (Redis values by type,
//!   split big keys with `part`/`last`).
//! - [`value`]: column values and their exact encodings (`$int`, `$float`,
//!   `$b64`, `$zero_date`, `$json`).
//! - [`schema`]: logical column types.
//! - [`reader`] / [`writer`]: streaming, with the `end` trailer (record count
//!   and blake3 of the segment's bytes) written and checked; concatenated
//!   streams are segments.
//! - [`io`]: files, stdin/stdout, zstd.
//! - [`digest`]: canonical form and order-independent content digests.
//! - [`parallel`]: digests and validated pass-through on several threads.
//! - [`conn`]: connection URLs, env fallbacks, password redaction.
//! - [`store`]: the store registry: schemes, binaries, capabilities.
//! - [`interrupt`]: Ctrl-C / SIGTERM: partial outputs removed, exit 130 / 143.
//! - [`metrics`]: `--metrics-file` (Prometheus text format).
//! - [`cli`]: exit codes, the `main` wrapper, common flags, progress, summary,
//!   reject files.
#![deny(missing_docs)]

pub mod cli;
pub mod conn;
pub mod digest;
pub mod interrupt;
pub mod io;
pub mod jsontext;
pub mod metrics;
pub mod parallel;
pub mod reader;
pub mod record;
pub mod rowview;
pub mod schema;
pub mod shard;
pub mod since;
pub mod store;
pub mod time;
pub mod value;
pub mod view;
pub mod wildcard;
pub mod writer;

pub use reader::{Frame, ReadError, ReaderOptions, RecordReader, SegmentInfo};
pub use record::{
    DecodeError, Delete, Diff, DiffOp, FieldExpiries, Header, PendingEntry, Record, RedisFunction, RedisRecord,
    RedisType, RedisValue, Row, StreamEntry, StreamGroup, StreamValue, Target, Trailer, FORMAT,
};
pub use schema::{Check, Column, ForeignKey, GeneratedColumn, Index, LogicalType, SchemaObject, TableSchema};
pub use shard::Shard;
pub use value::{Bytes, RowData, Value};
pub use writer::RecordWriter;
