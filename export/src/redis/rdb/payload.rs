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
    // The input is the payload up to its CRC: the type byte (read already
    // above, read again so the CRC covers it), the value, the version.
    let mut parser = Parser::new(Input::new(Box::new(std::io::Cursor::new(payload[..n - 8].to_vec()))), opts());
    parser.version = version;
    parser.valkey = valkey;
    parser.input.u8()?;
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
    let value_end = (n - 10) as u64;
    if read < value_end {
        return Err(RdbError::corrupt(read, format!("{} bytes after the value", value_end - read)));
    }
    if read > value_end {
        return Err(RdbError::corrupt(value_end, "the value runs into the version and CRC"));
    }
    parser.input.array::<2>()?;
    let crc = parser.input.crc();
    if stored_crc != 0 && crc != stored_crc {
        return Err(RdbError::corrupt(
            (n - 8) as u64,
            format!("checksum mismatch: the payload says {stored_crc:016x}, its content hashes to {crc:016x}"),
        ));
    }
    out.finish(None, &mut sink)?;
    match sink.record {
        Some(r) => Ok(Decoded::Value(r.value)),
        // Redis never stores an empty collection.
        None => Err(RdbError::corrupt(1, "an empty collection")),
    }
}

/// The whole value in one record: no parts, nothing left out.
fn opts() -> Options {
    Options {
        chunk_size: usize::MAX,
        chunk_bytes: usize::MAX,
        string_part_bytes: usize::MAX,
        dump: false,
        dump_modules: false,
        include_expired: true,
        now_ms: 0,
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

#[cfg(test)]
mod tests {
    use super::*;
    use decant_stores::redis::dump::{plan, seal, write_payload, Limits};

    fn payload(value: &RedisValue, listpack: bool) -> Vec<u8> {
        let limits = Limits { hash_entries: 128, hash_value: 64 };
        let plan = plan(value, listpack.then_some(&limits)).unwrap();
        let mut out = Vec::new();
        write_payload(value, plan, &mut out);
        out
    }

    fn decoded(payload: &[u8]) -> RedisValue {
        match decode(payload).unwrap() {
            Decoded::Value(v) => v,
            Decoded::Unfit(why) => panic!("unfit: {why}"),
        }
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn payloads_decode_to_the_sorted_value() {
        let hash = RedisValue::Hash(vec![(b"b".to_vec(), b"12".to_vec()), (b"a".to_vec(), b"\xff".to_vec())]);
        let mut sorted = hash.clone();
        sorted.sort_canonical();
        assert_eq!(decoded(&payload(&hash, true)), sorted, "listpack");
        assert_eq!(decoded(&payload(&hash, false)), sorted, "hash table");
        let set = RedisValue::Set(strs(&["y", "x", ""]));
        let mut sorted = set.clone();
        sorted.sort_canonical();
        assert_eq!(decoded(&payload(&set, false)), sorted);
        let zset = RedisValue::ZSet(vec![(b"m".to_vec(), f64::INFINITY), (b"n".to_vec(), -0.1)]);
        let mut sorted = zset.clone();
        sorted.sort_canonical();
        assert_eq!(decoded(&payload(&zset, false)), sorted);
    }

    #[test]
    fn damaged_payloads_are_errors() {
        let hash = RedisValue::Hash(vec![(b"f".to_vec(), b"v".to_vec())]);
        let good = payload(&hash, true);
        let mut bad_crc = good.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        assert!(decode(&bad_crc).unwrap_err().to_string().contains("checksum mismatch"));
        // A byte more inside the value (re-sealed): left over after it.
        let mut longer = good[..good.len() - 10].to_vec();
        longer.push(0);
        seal(&mut longer, 0, 10);
        assert!(decode(&longer).unwrap_err().to_string().contains("after the value"), "{:?}", decode(&longer));
        // Cut short (re-sealed).
        let mut short = good[..good.len() - 12].to_vec();
        seal(&mut short, 0, 10);
        assert!(decode(&short).is_err());
        assert!(decode(&good[..5]).is_err());
    }

    #[test]
    fn payloads_the_element_reads_must_read_are_unfit() {
        let sealed = |t: u8, version: u16| {
            let mut p = vec![t, 1, 1, b'x'];
            seal(&mut p, 0, version);
            p
        };
        // Field expiry (Redis 7.4's HASH_METADATA, LISTPACK_EX; Valkey 9's HASH_2).
        for (t, version) in [(24, 12), (25, 12), (22, 80)] {
            assert!(matches!(decode(&sealed(t, version)).unwrap(), Decoded::Unfit("a hash with field expiry")));
        }
        // Strings (GETRANGE, bounded), streams, modules.
        for t in [0, 7, 21] {
            assert!(matches!(decode(&sealed(t, 11)).unwrap(), Decoded::Unfit(_)), "type {t}");
        }
        // A format newer than this reader's.
        assert!(matches!(decode(&sealed(2, 13)).unwrap(), Decoded::Unfit(_)));
        assert!(matches!(decode(&sealed(2, 81)).unwrap(), Decoded::Unfit(_)));
        // And one it knows: a plain set of one member.
        assert_eq!(decoded(&sealed(2, 11)), RedisValue::Set(strs(&["x"])));
    }
}
