//! DUMP payloads built from a record's value, so that `redis-import` writes a
//! whole hash, list, set or sorted set with one `RESTORE` instead of an
//! `EXISTS` round, the type's commands and a `PEXPIREAT`: `RESTORE` without
//! `REPLACE` refuses a key that exists (`BUSYKEY`), which is exactly
//! `--mode skip-existing`, decided by the server in the same command, and
//! `ABSTTL` sets the expiry in it too.
//!
//! The payload is what `DUMP` returns: one RDB object (type byte and body),
//! the RDB version (2 bytes LE) and the CRC-64 of both (8 bytes LE). The
//! plain encodings — `RDB_TYPE_LIST`, `_SET`, `_HASH` and `_ZSET_2` (binary
//! scores) — load on every server since Redis 4.0 (RDB 8) and every Valkey,
//! which converts them to its compact encodings (listpack, intset) by the
//! same size limits the commands use; but loading one costs the server as
//! much as the commands (an allocation and a listpack append per element).
//! So a small hash goes as the listpack the server would have built
//! (`RDB_TYPE_HASH_LISTPACK`, Redis 7.0+ and Valkey), byte for byte as
//! `HSET` builds it, which the server takes as one block: that is what makes
//! the import cheaper for the server than the commands themselves.
//!
//! Servers load payloads without checking for repeated fields or members
//! unless `sanitize-dump-payload` is on (a repeated hash field would corrupt
//! the key), so a value with repeats has no payload here and goes by commands.

use decant_record::RedisValue;

use super::crc64;

const RDB_TYPE_LIST: u8 = 1;
const RDB_TYPE_SET: u8 = 2;
const RDB_TYPE_HASH: u8 = 4;
const RDB_TYPE_ZSET_2: u8 = 5;
const RDB_TYPE_HASH_LISTPACK: u8 = 16;

/// The RDB version of plain payloads: 8 (Redis 4.0), the first with
/// `RDB_TYPE_ZSET_2`. A server accepts any version up to its own.
const PLAIN_RDB_VERSION: u16 = 8;
/// The RDB version of listpack payloads: 10 (Redis 7.0), the first with them.
const LISTPACK_RDB_VERSION: u16 = 10;

/// The target's limits for its compact encodings (`CONFIG GET
/// hash-max-listpack-*`), on a server that loads listpack payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `hash-max-listpack-entries`: more fields make a hash table.
    pub hash_entries: usize,
    /// `hash-max-listpack-value`: a longer field or value makes a hash table.
    pub hash_value: usize,
}

/// How a value's payload is written, and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The payload's size in bytes.
    pub len: usize,
    /// The size of the listpack the server would build, when the payload
    /// holds that rather than the plain encoding.
    listpack: Option<usize>,
}

/// The plan of `value`'s payload, or `None` when it gets none: strings
/// (`SET` does it in one command already), streams and module keys, empty
/// values (no server creates an empty key), NaN scores and repeated fields
/// or members. With `limits`, a hash small enough for the target's listpack
/// goes as one.
pub fn plan(value: &RedisValue, limits: Option<&Limits>) -> Option<Plan> {
    let body = match value {
        RedisValue::Hash(pairs) if !pairs.is_empty() => {
            if has_repeats(pairs.iter().map(|(f, _)| f.as_slice())) {
                return None;
            }
            let small = |l: &Limits| {
                pairs.len() <= l.hash_entries && pairs.iter().all(|(f, v)| f.len().max(v.len()) <= l.hash_value)
            };
            if limits.is_some_and(small) {
                let lp = listpack_len(pairs);
                return Some(Plan { len: 1 + len_len(lp) + lp + 2 + 8, listpack: Some(lp) });
            }
            pairs.iter().map(|(f, v)| string_len(f) + string_len(v)).sum::<usize>() + len_len(pairs.len())
        }
        RedisValue::List(items) if !items.is_empty() => {
            items.iter().map(|v| string_len(v)).sum::<usize>() + len_len(items.len())
        }
        RedisValue::Set(items) if !items.is_empty() => {
            if has_repeats(items.iter().map(Vec::as_slice)) {
                return None;
            }
            items.iter().map(|v| string_len(v)).sum::<usize>() + len_len(items.len())
        }
        RedisValue::ZSet(pairs) if !pairs.is_empty() => {
            if pairs.iter().any(|(_, s)| s.is_nan()) || has_repeats(pairs.iter().map(|(m, _)| m.as_slice())) {
                return None;
            }
            pairs.iter().map(|(m, _)| string_len(m) + 8).sum::<usize>() + len_len(pairs.len())
        }
        _ => return None,
    };
    // Type byte, body, version, CRC.
    Some(Plan { len: 1 + body + 2 + 8, listpack: None })
}

/// Appends `value`'s payload as `plan` (from [`plan`] of the same value)
/// says: exactly `plan.len` bytes.
pub fn write_payload(value: &RedisValue, plan: Plan, out: &mut Vec<u8>) {
    let start = out.len();
    let version = if plan.listpack.is_some() { LISTPACK_RDB_VERSION } else { PLAIN_RDB_VERSION };
    match (value, plan.listpack) {
        (RedisValue::Hash(pairs), Some(lp)) => {
            // The listpack as one RDB string.
            out.push(RDB_TYPE_HASH_LISTPACK);
            push_len(out, lp);
            write_listpack(out, lp, pairs);
        }
        (RedisValue::Hash(pairs), None) => {
            out.push(RDB_TYPE_HASH);
            push_len(out, pairs.len());
            for (f, v) in pairs {
                push_string(out, f);
                push_string(out, v);
            }
        }
        (RedisValue::List(items) | RedisValue::Set(items), _) => {
            out.push(if matches!(value, RedisValue::List(_)) { RDB_TYPE_LIST } else { RDB_TYPE_SET });
            push_len(out, items.len());
            for v in items {
                push_string(out, v);
            }
        }
        (RedisValue::ZSet(pairs), _) => {
            out.push(RDB_TYPE_ZSET_2);
            push_len(out, pairs.len());
            for (m, s) in pairs {
                push_string(out, m);
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        (RedisValue::String(_) | RedisValue::Stream(_) | RedisValue::Module(_), _) => return,
    }
    seal(out, start, version);
}

/// Ends the payload that starts at `out[start]` (a value in the RDB
/// encoding of `version`) as `DUMP` does: the version (2 bytes LE), then the
/// CRC-64 of the value and the version (8 bytes LE).
pub fn seal(out: &mut Vec<u8>, start: usize, version: u16) {
    out.extend_from_slice(&version.to_le_bytes());
    let crc = crc64::update(0, &out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// The size of the listpack of a hash's fields and values (listpack.c): a
/// 6-byte header (total bytes, count), each entry (encoding, data,
/// back-length), 0xFF.
fn listpack_len(pairs: &[(Vec<u8>, Vec<u8>)]) -> usize {
    6 + pairs.iter().map(|(f, v)| with_backlen(entry_len(f)) + with_backlen(entry_len(v))).sum::<usize>() + 1
}

/// Writes the listpack of a hash's fields and values, `total` bytes long
/// (from [`listpack_len`]).
fn write_listpack(out: &mut Vec<u8>, total: usize, pairs: &[(Vec<u8>, Vec<u8>)]) {
    out.extend_from_slice(&(total as u32).to_le_bytes());
    // A count past 65534 is "unknown": the server counts the entries.
    out.extend_from_slice(&((pairs.len() * 2).min(65535) as u16).to_le_bytes());
    for (f, v) in pairs {
        push_entry(out, f);
        push_entry(out, v);
    }
    out.push(0xff);
}

/// One listpack entry: an integer or a string, then its back-length.
fn push_entry(out: &mut Vec<u8>, e: &[u8]) {
    let start = out.len();
    match lp_int(e) {
        Some(v) => push_lp_int(out, v),
        None => {
            let n = e.len();
            if n < 64 {
                out.push(0x80 | n as u8);
            } else if n < 4096 {
                out.extend_from_slice(&[0xe0 | (n >> 8) as u8, n as u8]);
            } else {
                out.push(0xf0);
                out.extend_from_slice(&(n as u32).to_le_bytes());
            }
            out.extend_from_slice(e);
        }
    }
    push_backlen(out, out.len() - start);
}

/// The size of an entry without its back-length: an integer's encoding,
/// or a string's header and bytes.
fn entry_len(e: &[u8]) -> usize {
    match lp_int(e) {
        Some(v) => int_len(v),
        None if e.len() < 64 => 1 + e.len(),
        None if e.len() < 4096 => 2 + e.len(),
        None => 5 + e.len(),
    }
}

fn with_backlen(l: usize) -> usize {
    l + match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// The back-length of an entry of `l` bytes (lpEncodeBacklen): 7 bits a
/// byte, most significant first, every byte but the first with bit 7 set.
fn push_backlen(out: &mut Vec<u8>, l: usize) {
    let n = with_backlen(l) - l;
    for i in (0..n).rev() {
        let b = ((l >> (7 * i)) & 127) as u8;
        out.push(if i + 1 == n { b } else { b | 128 });
    }
}

fn push_lp_int(out: &mut Vec<u8>, v: i64) {
    // Negative values in two's complement of the encoding's width.
    match int_len(v) {
        1 => out.push(v as u8),
        2 => {
            let u = (v as u64) & 0x1fff;
            out.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
        }
        3 => {
            out.push(0xf1);
            out.extend_from_slice(&(v as i16).to_le_bytes());
        }
        4 => {
            out.push(0xf2);
            out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        }
        5 => {
            out.push(0xf3);
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        _ => {
            out.push(0xf4);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// The size of an integer entry (lpEncodeIntegerGetType): 7-bit unsigned,
/// then 13, 16, 24, 32 and 64-bit signed.
fn int_len(v: i64) -> usize {
    match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32_768..=32_767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    }
}

/// The element as the integer a listpack stores instead of its text
/// (lpStringToInt64): the canonical decimal form of an i64 only — no sign
/// on zero, no `+`, no leading zeros, nothing else.
fn lp_int(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s {
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    // 19 digits and a sign at most (LONG_STR_SIZE); the first digit not 0.
    if digits.is_empty() || digits.len() > 19 || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if negative {
        (v <= i64::MAX as u64 + 1).then(|| (v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Bytes of an RDB length (rdbSaveLen): 6, 14, 32 or 64 bits.
fn len_len(n: usize) -> usize {
    match n {
        0..=0x3f => 1,
        0x40..=0x3fff => 2,
        _ if n as u64 <= u32::MAX as u64 => 5,
        _ => 9,
    }
}

fn push_len(out: &mut Vec<u8>, n: usize) {
    match len_len(n) {
        1 => out.push(n as u8),
        2 => out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]),
        5 => {
            out.push(0x80);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(0x81);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
}

/// A raw string: its length, then its bytes (never the integer or LZF
/// forms, which are optional).
fn string_len(s: &[u8]) -> usize {
    len_len(s.len()) + s.len()
}

fn push_string(out: &mut Vec<u8>, s: &[u8]) {
    push_len(out, s.len());
    out.extend_from_slice(s);
}

/// True when a name occurs twice.
fn has_repeats<'a>(names: impl ExactSizeIterator<Item = &'a [u8]> + Clone) -> bool {
    if names.len() <= 32 {
        // Quadratic but allocation-free: most hashes and sets are small.
        return names.clone().enumerate().any(|(i, a)| names.clone().skip(i + 1).any(|b| a == b));
    }
    let mut sorted: Vec<&[u8]> = names.collect();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { hash_entries: 128, hash_value: 64 };

    fn payload_with(v: &RedisValue, limits: Option<&Limits>) -> Vec<u8> {
        let mut out = vec![0xaa];
        let plan = plan(v, limits).unwrap();
        write_payload(v, plan, &mut out);
        assert_eq!(out.len() - 1, plan.len, "the plan's length is what is written");
        out.split_off(1)
    }

    fn payload(v: &RedisValue) -> Vec<u8> {
        payload_with(v, None)
    }

    #[test]
    fn a_small_hash_is_laid_out_as_rdb_type_hash() {
        // Type 4, one pair, "a" and "1" as 1-byte lengths and their bytes,
        // version 8, then the CRC of all that.
        let p = payload(&RedisValue::Hash(vec![(b"a".to_vec(), b"1".to_vec())]));
        assert_eq!(&p[..8], b"\x04\x01\x01a\x011\x08\x00");
        assert_eq!(&p[8..], &crc64::update(0, &p[..8]).to_le_bytes());
    }

    #[test]
    fn lengths_take_every_rdb_width() {
        for n in [0usize, 1, 63, 64, 16383, 16384, 70000] {
            let mut out = Vec::new();
            push_len(&mut out, n);
            assert_eq!(out.len(), len_len(n), "{n}");
            let back = match out[0] >> 6 {
                0 => out[0] as usize,
                1 => ((out[0] as usize & 0x3f) << 8) | out[1] as usize,
                _ => u32::from_be_bytes([out[1], out[2], out[3], out[4]]) as usize,
            };
            assert_eq!(back, n);
        }
        let long = RedisValue::List(vec![vec![b'x'; 20_000], vec![]]);
        let p = payload(&long);
        assert_eq!(&p[..4], b"\x01\x02\x80\x00", "a list of two, the first 20000 bytes long");
    }

    #[test]
    fn scores_are_little_endian_doubles() {
        let p = payload(&RedisValue::ZSet(vec![(b"m".to_vec(), 1.5), (b"n".to_vec(), f64::NEG_INFINITY)]));
        assert_eq!(&p[..4], b"\x05\x02\x01m");
        assert_eq!(&p[4..12], &1.5f64.to_le_bytes());
        assert_eq!(&p[12..14], b"\x01n");
        assert_eq!(&p[14..22], &f64::NEG_INFINITY.to_le_bytes());
    }

    #[test]
    fn values_the_server_would_load_otherwise_get_none() {
        let dup_hash = RedisValue::Hash(vec![(b"f".to_vec(), b"1".to_vec()), (b"f".to_vec(), b"2".to_vec())]);
        let dup_set = RedisValue::Set((0..40).map(|i| format!("m{}", i % 39).into_bytes()).collect());
        let nan = RedisValue::ZSet(vec![(b"m".to_vec(), f64::NAN)]);
        for v in [dup_hash, dup_set, nan, RedisValue::Hash(vec![]), RedisValue::String(b"s".to_vec())] {
            assert_eq!(plan(&v, Some(&LIMITS)), None, "{v:?}");
        }
        let list_with_repeats = RedisValue::List(vec![b"a".to_vec(), b"a".to_vec()]);
        assert!(plan(&list_with_repeats, None).is_some(), "lists keep repeated elements");
    }

    #[test]
    fn integers_are_what_a_listpack_stores_as_integers() {
        for (text, want) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("-1", Some(-1)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
        ] {
            assert_eq!(lp_int(text.as_bytes()), want, "{text}");
        }
        for text in ["", "-", "-0", "+1", "01", "1.0", " 1", "1 ", "9223372036854775808", "-9223372036854775809", "1e3"]
        {
            assert_eq!(lp_int(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn a_small_hash_goes_as_the_listpack_hset_builds() {
        // `HSET h f 1 n -5000 s ""` then `DUMP h` on Redis 7.0.15: type 16,
        // the 24-byte listpack as a string, version 10, CRC.
        let h = RedisValue::Hash(vec![
            (b"f".to_vec(), b"1".to_vec()),
            (b"n".to_vec(), b"-5000".to_vec()),
            (b"s".to_vec(), b"".to_vec()),
        ]);
        let dumped: &[u8] = b"\x10\x18\x18\x00\x00\x00\x06\x00\x81f\x02\x01\x01\x81n\x02\xf1x\xec\x03\x81s\x02\x80\x01\xff\n\x00\xdc\x8a\x90\xce\xdbD\xf1\x83";
        assert_eq!(payload_with(&h, Some(&LIMITS)), dumped);
        // Past the target's limits: the plain encoding, which the server converts.
        let long = RedisValue::Hash(vec![(b"f".to_vec(), vec![b'v'; 65])]);
        assert_eq!(payload_with(&long, Some(&LIMITS))[0], 4);
        assert_eq!(payload_with(&h, Some(&Limits { hash_entries: 2, hash_value: 64 }))[0], 4);
    }

    #[test]
    fn listpack_entries_take_every_width() {
        let mut elements: Vec<Vec<u8>> = Vec::new();
        for v in [
            0i64,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            32767,
            -32768,
            32768,
            8_388_607,
            -8_388_608,
            8_388_608,
            i32::MIN as i64,
            i64::MAX,
        ] {
            elements.push(v.to_string().into_bytes());
        }
        for n in [0usize, 63, 64, 4095, 4096, 20_000] {
            elements.push(vec![b'x'; n]);
        }
        if elements.len() % 2 == 1 {
            elements.push(b"-".to_vec());
        }
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = elements.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
        let total = listpack_len(&pairs);
        let mut out = Vec::new();
        write_listpack(&mut out, total, &pairs);
        assert_eq!(&out[..6], &[&(total as u32).to_le_bytes()[..], &(elements.len() as u16).to_le_bytes()].concat());
        assert_eq!(out.len(), total);
        // Walk it back to front by the back-lengths, as lpPrev does.
        let mut end = out.len() - 1;
        let mut seen = 0;
        while end > 6 {
            let (mut l, mut shift, mut p) = (0usize, 0, end - 1);
            loop {
                l |= ((out[p] & 127) as usize) << shift;
                if out[p] & 128 == 0 {
                    break;
                }
                shift += 7;
                p -= 1;
            }
            let start = p - l;
            let want = &elements[elements.len() - 1 - seen];
            assert_eq!(l, entry_len(want), "entry {}", elements.len() - 1 - seen);
            if lp_int(want).is_none() {
                assert!(out[start..p].ends_with(want));
            }
            end = start;
            seen += 1;
        }
        assert_eq!((end, seen), (6, elements.len()));
    }
}
