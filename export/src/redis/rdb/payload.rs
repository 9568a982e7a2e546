//! A `DUMP` payload turned back into the value the live reads give
//! (`HSCAN`, `SSCAN`, `ZRANGE`, ...), with the RDB file's parser: the live
//! exporter reads small hashes, sets and sorted sets with one `DUMP` each,
//! which costs the server less than the element-by-element replies (a
//! listpack is saved as one string) and, on servers with hash field expiry,
//! spares the `HPEXPIRETIME` of a hash that has none.
//!
//! A payload is `type byte, value, RDB version (2 bytes LE), CRC-64 (8
//! bytes LE)` of everything before the CRC. Only payloads whose record is
//! the same as the live reads' are decoded; the others (streams, module
//! values, hashes with field expiry, an RDB version this parser does not
//! know) come back as [`Decoded::Unfit`], for the caller's usual reads.

use decant_record::{RedisRecord, RedisType, RedisValue};

use super::{check_version, Emitter, FunctionLibrary, Handler, Input, KeyInfo, ModuleKey, Options, Parser, RdbError};

/// What a payload holds, for the live exporter.
#[derive(Debug)]
pub enum Decoded {
    /// The value, sorted as records are ([`RedisValue::sort_canonical`]).
    Value(RedisValue),
    /// A payload the live reads must read instead: why (for tests and
    /// debugging; not an error).
    Unfit(&'static str),
}

/// Decodes a `DUMP` payload into the value the live reads give for it.
///
/// Errors are payloads that are damaged (a bad CRC-64, an encoding that does
/// not parse, bytes left over); the caller names the key.
pub fn decode(payload: &[u8]) -> Result<Decoded, RdbError> {
    let n = payload.len();
    if n < 11 {
        return Err(RdbError::corrupt(0, format!("a DUMP payload of {n} bytes (at least 11 expected)")));
    }
    let version = u32::from(u16::from_le_bytes([payload[n - 10], payload[n - 9]]));
    let stored_crc = u64::from_le_bytes(payload[n - 8..].try_into().unwrap_or_default());
    // Valkey numbers its own formats from 80 up (`VALKEY080`), and its
    // types from 22 differ from Redis's.
    let valkey = version >= super::VALKEY_VERSION;
    if check_version(valkey, version).is_err() {
        return Ok(Decoded::Unfit("an RDB version this reader does not know"));
    }
    let t = payload[0];
    let ty = match (t, valkey) {
        (1 | 10 | 14 | 18, _) => RedisType::List,
        (2 | 11 | 20, _) => RedisType::Set,
        (3 | 5 | 12 | 17, _) => RedisType::ZSet,
        (4 | 9 | 13 | 16, _) => RedisType::Hash,
        // Strings are read with GETRANGE (bounded); streams carry groups
        // and counters XINFO gives; module values travel as payloads.
        (0 | 6 | 7 | 15 | 19 | 21, _) => return Ok(Decoded::Unfit("a string, stream or module value")),
        // Hashes with field expiry (Redis 7.4's and Valkey 9's forms): read
        // with HPEXPIRETIME, against the server's clock.
        (22..=25, _) => return Ok(Decoded::Unfit("a hash with field expiry")),
        (other, _) => return Err(RdbError::corrupt(0, format!("unknown value type {other}"))),
    };
    let body = payload[1..n - 10].to_vec();
    let body_len = body.len() as u64;
    let opts = Options {
        chunk_size: usize::MAX,
        chunk_bytes: usize::MAX,
        string_part_bytes: usize::MAX,
        dump: false,
        dump_modules: false,
        include_expired: true,
        now_ms: 0,
    };
    let mut parser = Parser::new(Input::new(Box::new(std::io::Cursor::new(body))), opts);
    parser.version = version;
    parser.valkey = valkey;
    let mut out = Emitter {
        active: true,
        db: 0,
        key: Vec::new(),
        ty,
        expire_at_ms: None,
        chunk: usize::MAX,
        chunk_bytes: usize::MAX,
        part: 0,
        cur: Emitter::empty_value(ty),
        cur_bytes: 0,
        cur_field_expiry: Vec::new(),
        expired_fields: 0,
    };
    let mut sink = One::default();
    parser.value(t, &mut out, &mut sink)?;
    let read = parser.input.offset();
    if read != body_len {
        return Err(RdbError::corrupt(read + 1, format!("{} bytes after the value", body_len - read)));
    }
    if stored_crc != 0 {
        let crc = super::crc64::update(0, &payload[..n - 8]);
        if crc != stored_crc {
            return Err(RdbError::corrupt(
                (n - 8) as u64,
                format!("checksum mismatch: the payload says {stored_crc:016x}, its content hashes to {crc:016x}"),
            ));
        }
    }
    out.finish(None, &mut sink)?;
    match sink.record {
        Some(r) => Ok(Decoded::Value(r.value)),
        // Redis never stores an empty collection.
        None => Err(RdbError::corrupt(1, "an empty collection")),
    }
}

/// Keeps the one record of a payload.
#[derive(Default)]
struct One {
    record: Option<RedisRecord>,
}

impl Handler for One {
    fn want(&mut self, _: &KeyInfo<'_>) -> bool {
        true
    }

    fn expired(&mut self, _: &KeyInfo<'_>) {}

    fn empty(&mut self, _: &KeyInfo<'_>) {}

    fn record(&mut self, record: RedisRecord) -> anyhow::Result<()> {
        // Limits are unbounded, so a payload is one record.
        self.record = Some(record);
        Ok(())
    }

    fn module_value(&mut self, _: ModuleKey<'_>) -> anyhow::Result<()> {
        Ok(())
    }

    fn module_aux(&mut self, _: &str) {}

    fn function(&mut self, _: FunctionLibrary) -> anyhow::Result<()> {
        Ok(())
    }

    fn notice(&mut self, _: &str) {}
}
