//! Decoders for the compact encodings Redis stores as one string inside an
//! RDB file: listpack (Redis ≥ 7), ziplist (≤ 6.2), intset and zipmap
//! (≤ 2.4). Each walks a byte slice with bounds checks; damage is an error
//! naming the offset inside the blob, never a panic.

use decant_record::record::Pairs;

/// One element of a listpack or ziplist: bytes, or an integer the encoding
/// stored as a number (Redis hands it out as its decimal text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Elem<'a> {
    /// A string element.
    Str(&'a [u8]),
    /// An integer element.
    Int(i64),
}

impl Elem<'_> {
    /// The element as Redis returns it: the bytes, or the integer's decimal text.
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Str(s) => s.to_vec(),
            Elem::Int(n) => n.to_string().into_bytes(),
        }
    }

    /// The element as a number (stream ids, flags and counts; zset scores).
    pub fn as_int(self) -> Option<i64> {
        match self {
            Elem::Int(n) => Some(n),
            Elem::Str(s) => std::str::from_utf8(s).ok()?.parse().ok(),
        }
    }

    /// The element as a zset score (`strtod` syntax: `inf`, `-inf`, exponents).
    pub fn as_score(self) -> Option<f64> {
        match self {
            Elem::Int(n) => Some(n as f64),
            Elem::Str(s) => parse_score(s),
        }
    }
}

/// Parses a score as Redis prints it (`%.17g`, `inf`, `-inf`).
pub fn parse_score(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

/// A blob decoding error: what, and where in the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobError {
    /// Byte offset inside the blob.
    pub at: usize,
    /// What was wrong.
    pub what: String,
}

impl std::fmt::Display for BlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte {} of the encoded value)", self.what, self.at)
    }
}

fn err<T>(at: usize, what: impl Into<String>) -> Result<T, BlobError> {
    Err(BlobError { at, what: what.into() })
}

fn slice<'a>(buf: &'a [u8], at: usize, n: usize, what: &str) -> Result<&'a [u8], BlobError> {
    match at.checked_add(n).and_then(|end| buf.get(at..end)) {
        Some(s) => Ok(s),
        None => err(at, format!("{what} runs past the end")),
    }
}

fn int_le(b: &[u8]) -> i64 {
    // Sign-extends a little-endian integer of 1..=8 bytes.
    let mut v: u64 = 0;
    for (i, byte) in b.iter().enumerate() {
        v |= (*byte as u64) << (8 * i);
    }
    let shift = 64 - 8 * b.len() as u32;
    ((v << shift) as i64) >> shift
}

/// A listpack (`lpNew` … `0xFF`): total bytes (u32 LE), element count
/// (u16 LE), entries each followed by their back-length, and 0xFF.
#[derive(Debug)]
pub struct Listpack<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Listpack<'a> {
    /// Checks the header and returns an iterator over the entries.
    pub fn new(buf: &'a [u8]) -> Result<Listpack<'a>, BlobError> {
        let head = slice(buf, 0, 6, "listpack header")?;
        let total = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if total != buf.len() {
            return err(0, format!("listpack says it is {total} bytes but holds {}", buf.len()));
        }
        Ok(Listpack { buf, pos: 6, done: false })
    }

    /// The next entry, `None` at the end marker.
    pub fn next_elem(&mut self) -> Result<Option<Elem<'a>>, BlobError> {
        if self.done {
            return Ok(None);
        }
        let buf = self.buf;
        let at = self.pos;
        let Some(&b) = buf.get(at) else {
            return err(at, "listpack has no end marker");
        };
        let (elem, len) = match b {
            0xFF => {
                self.done = true;
                if at + 1 != buf.len() {
                    return err(at, "listpack end marker before the end of its bytes");
                }
                return Ok(None);
            }
            b if b & 0x80 == 0 => (Elem::Int((b & 0x7f) as i64), 1),
            b if b & 0xC0 == 0x80 => {
                let n = (b & 0x3f) as usize;
                (Elem::Str(slice(buf, at + 1, n, "listpack string")?), 1 + n)
            }
            b if b & 0xE0 == 0xC0 => {
                let lo = slice(buf, at + 1, 1, "listpack integer")?[0];
                let v = (((b & 0x1f) as i64) << 8) | lo as i64;
                (Elem::Int(if v >= 1 << 12 { v - (1 << 13) } else { v }), 2)
            }
            b if b & 0xF0 == 0xE0 => {
                let lo = slice(buf, at + 1, 1, "listpack string length")?[0];
                let n = (((b & 0x0f) as usize) << 8) | lo as usize;
                (Elem::Str(slice(buf, at + 2, n, "listpack string")?), 2 + n)
            }
            0xF0 => {
                let l = slice(buf, at + 1, 4, "listpack string length")?;
                let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (Elem::Str(slice(buf, at + 5, n, "listpack string")?), 5 + n)
            }
            0xF1..=0xF4 => {
                let n = match b {
                    0xF1 => 2,
                    0xF2 => 3,
                    0xF3 => 4,
                    _ => 8,
                };
                (Elem::Int(int_le(slice(buf, at + 1, n, "listpack integer")?)), 1 + n)
            }
            other => return err(at, format!("unknown listpack entry encoding 0x{other:02x}")),
        };
        let backlen = match len {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        };
        slice(buf, at + len, backlen, "listpack entry")?;
        self.pos = at + len + backlen;
        Ok(Some(elem))
    }
}

/// A ziplist: total bytes (u32 LE), tail offset (u32), count (u16),
/// entries (previous length, encoding, data), 0xFF.
#[derive(Debug)]
pub struct Ziplist<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Ziplist<'a> {
    /// Checks the header and returns an iterator over the entries.
    pub fn new(buf: &'a [u8]) -> Result<Ziplist<'a>, BlobError> {
        let head = slice(buf, 0, 10, "ziplist header")?;
        let total = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if total != buf.len() {
            return err(0, format!("ziplist says it is {total} bytes but holds {}", buf.len()));
        }
        Ok(Ziplist { buf, pos: 10, done: false })
    }

    /// The next entry, `None` at the end marker.
    pub fn next_elem(&mut self) -> Result<Option<Elem<'a>>, BlobError> {
        if self.done {
            return Ok(None);
        }
        let buf = self.buf;
        let mut at = self.pos;
        let Some(&p) = buf.get(at) else {
            return err(at, "ziplist has no end marker");
        };
        if p == 0xFF {
            self.done = true;
            if at + 1 != buf.len() {
                return err(at, "ziplist end marker before the end of its bytes");
            }
            return Ok(None);
        }
        at += if p == 0xFE { 5 } else { 1 };
        let e = slice(buf, at, 1, "ziplist entry")?[0];
        let (elem, len) = match e >> 6 {
            0 => {
                let n = (e & 0x3f) as usize;
                (Elem::Str(slice(buf, at + 1, n, "ziplist string")?), 1 + n)
            }
            1 => {
                let lo = slice(buf, at + 1, 1, "ziplist string length")?[0];
                let n = (((e & 0x3f) as usize) << 8) | lo as usize;
                (Elem::Str(slice(buf, at + 2, n, "ziplist string")?), 2 + n)
            }
            2 => {
                let l = slice(buf, at + 1, 4, "ziplist string length")?;
                let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (Elem::Str(slice(buf, at + 5, n, "ziplist string")?), 5 + n)
            }
            _ => match e {
                0xC0 => (Elem::Int(int_le(slice(buf, at + 1, 2, "ziplist integer")?)), 3),
                0xD0 => (Elem::Int(int_le(slice(buf, at + 1, 4, "ziplist integer")?)), 5),
                0xE0 => (Elem::Int(int_le(slice(buf, at + 1, 8, "ziplist integer")?)), 9),
                0xF0 => (Elem::Int(int_le(slice(buf, at + 1, 3, "ziplist integer")?)), 4),
                0xFE => (Elem::Int(int_le(slice(buf, at + 1, 1, "ziplist integer")?)), 2),
                0xF1..=0xFD => (Elem::Int((e & 0x0f) as i64 - 1), 1),
                other => return err(at, format!("unknown ziplist entry encoding 0x{other:02x}")),
            },
        };
        self.pos = at + len;
        Ok(Some(elem))
    }
}

/// The members of an intset: encoding (2, 4 or 8 bytes, u32 LE), count
/// (u32 LE), then the integers in ascending order.
pub fn intset(buf: &[u8]) -> Result<Vec<i64>, BlobError> {
    let head = slice(buf, 0, 8, "intset header")?;
    let width = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let count = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if ![2, 4, 8].contains(&width) {
        return err(0, format!("intset encoding {width} (expected 2, 4 or 8)"));
    }
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(buf.len()) {
        return err(4, format!("intset of {count} × {width} bytes does not fill its {} bytes", buf.len()));
    }
    Ok(buf[8..].chunks_exact(width).map(int_le).collect())
}

/// The field/value pairs of a zipmap (Redis ≤ 2.4 small hashes):
/// count byte, then `len key len free value [free bytes]` …, 0xFF.
pub fn zipmap(buf: &[u8]) -> Result<Pairs, BlobError> {
    let mut at = 1;
    slice(buf, 0, 1, "zipmap header")?;
    let mut out = Vec::new();
    let len_at = |at: &mut usize| -> Result<Option<usize>, BlobError> {
        let b = slice(buf, *at, 1, "zipmap length")?[0];
        match b {
            0xFF => Ok(None),
            0xFE => {
                let l = slice(buf, *at + 1, 4, "zipmap length")?;
                *at += 5;
                Ok(Some(u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize))
            }
            n => {
                *at += 1;
                Ok(Some(n as usize))
            }
        }
    };
    loop {
        let Some(klen) = len_at(&mut at)? else {
            if at + 1 != buf.len() {
                return err(at, "zipmap end marker before the end of its bytes");
            }
            // Redis's integrity check (zipmapValidateIntegrity): a zipmap
            // holds at least one pair, and its header byte is the number of
            // pairs, or 254 ("254 or more: count them").
            let header = buf[0];
            if out.is_empty() {
                return err(0, "empty zipmap (Redis refuses it: \"Zipmap integrity check failed\")");
            }
            if header != 254 && header as usize != out.len() {
                return err(
                    0,
                    format!(
                        "zipmap header says {header} pairs but it holds {} (Redis refuses it: \"Zipmap integrity check failed\")",
                        out.len()
                    ),
                );
            }
            return Ok(out);
        };
        let key = slice(buf, at, klen, "zipmap key")?.to_vec();
        at += klen;
        let Some(vlen) = len_at(&mut at)? else {
            return err(at, "zipmap key without a value");
        };
        let free = slice(buf, at, 1, "zipmap free byte")?[0] as usize;
        at += 1;
        let value = slice(buf, at, vlen, "zipmap value")?.to_vec();
        at += vlen + free;
        out.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_entries_of_every_encoding() {
        let mut body = vec![
            0x05, 0x01, // 7-bit uint 5
            0x82, b'h', b'i', 0x03, // 6-bit string "hi"
            0xDF, 0xFF, 0x02, // 13-bit int: 0x1FFF = -1
        ];
        body.extend([0xF1, 0x00, 0x80, 0x03]); // int16 -32768
        body.extend([0xF4]);
        body.extend(i64::MIN.to_le_bytes());
        body.push(9);
        let long = vec![b'z'; 100];
        body.extend([0xE0, 100]);
        body.extend(&long);
        body.push(102); // back-length of a 102-byte entry: one byte
        let mut lp = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
        lp.extend(6u16.to_le_bytes());
        lp.extend(&body);
        lp.push(0xFF);
        let mut it = Listpack::new(&lp).unwrap();
        let mut got = Vec::new();
        while let Some(e) = it.next_elem().unwrap() {
            got.push(e.to_vec());
        }
        assert_eq!(
            got,
            vec![
                b"5".to_vec(),
                b"hi".to_vec(),
                b"-1".to_vec(),
                b"-32768".to_vec(),
                i64::MIN.to_string().into_bytes(),
                long
            ]
        );
    }

    #[test]
    fn ziplist_entries_of_every_encoding() {
        let mut zl = vec![0u8; 10];
        zl.extend([0x00, 0x03, b'a', b'b', b'c']); // prevlen 0, 6-bit string
        zl.extend([0x05, 0xF1]); // immediate 0
        zl.extend([0x02, 0xFD]); // immediate 12
        zl.extend([0x02, 0xFE, 0x80]); // int8 -128
        zl.extend([0x03, 0xC0, 0x39, 0x30]); // int16 12345
        zl.extend([0x04, 0xF0, 0xFF, 0xFF, 0x7F]); // int24 8388607
        zl.extend([0x05, 0xD0]);
        zl.extend((-5i32).to_le_bytes());
        zl.extend([0x06, 0xE0]);
        zl.extend(1_234_567_890_123i64.to_le_bytes());
        zl.extend([0x0A, 0x40, 0x02, b'x', b'y']); // 14-bit string
        zl.push(0xFF);
        let n = zl.len() as u32;
        zl[..4].copy_from_slice(&n.to_le_bytes());
        let mut it = Ziplist::new(&zl).unwrap();
        let mut got = Vec::new();
        while let Some(e) = it.next_elem().unwrap() {
            got.push(String::from_utf8(e.to_vec()).unwrap());
        }
        assert_eq!(got, ["abc", "0", "12", "-128", "12345", "8388607", "-5", "1234567890123", "xy"]);
    }

    #[test]
    fn intset_and_zipmap() {
        let mut is = 4u32.to_le_bytes().to_vec();
        is.extend(3u32.to_le_bytes());
        for v in [-70000i32, 1, 70000] {
            is.extend(v.to_le_bytes());
        }
        assert_eq!(intset(&is).unwrap(), vec![-70000, 1, 70000]);
        assert!(intset(&is[..is.len() - 1]).is_err());

        let zm = [2, 1, b'a', 2, 1, b'x', b'y', 0, 3, b'k', b'e', b'y', 0, 0, 0xFF];
        assert_eq!(zipmap(&zm).unwrap(), vec![(b"a".to_vec(), b"xy".to_vec()), (b"key".to_vec(), Vec::new())]);
        // 254 means "count them"; any other header must be the pair count,
        // and an empty zipmap is refused, as Redis refuses both.
        let mut counted = zm;
        counted[0] = 254;
        assert_eq!(zipmap(&counted).unwrap().len(), 2);
        for header in [0u8, 1, 3, 255] {
            let mut wrong = zm;
            wrong[0] = header;
            let e = zipmap(&wrong).unwrap_err();
            assert!(e.what.contains("header says") && e.what.contains("integrity"), "{e}");
        }
        assert!(zipmap(&[0, 0xFF]).unwrap_err().what.contains("empty zipmap"));
    }

    #[test]
    fn truncated_blobs_are_errors() {
        let lp = [7, 0, 0, 0, 1, 0, 0x05];
        let mut it = Listpack::new(&lp).unwrap();
        assert!(it.next_elem().is_err());
        for cut in 0..5 {
            assert!(Listpack::new(&lp[..cut]).is_err());
        }
        let zl = [12, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x00, 0x05];
        let mut it = Ziplist::new(&zl).unwrap();
        assert!(it.next_elem().is_err());
    }
}
