//! The byte source of the RDB parser: counts the offset (for error
//! messages), keeps the running CRC-64 (checked at EOF) and, while a DUMP
//! payload is being built, copies the value's bytes aside.

use std::io::BufRead;

use super::{crc64, lzf, RdbError};

/// How much of a declared length is reserved up front: a damaged length
/// then fails at the end of the input instead of allocating gigabytes.
const RESERVE_CAP: usize = 1 << 20;

/// A length-or-encoding prefix (`rdbLoadLenByRef`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// A plain length.
    Len(u64),
    /// `11xxxxxx`: a specially encoded string (int8/16/32, LZF).
    Encoded(u8),
}

/// Buffered, offset-counting, checksumming reader.
pub struct Input {
    inner: Box<dyn BufRead + Send>,
    offset: u64,
    crc: u64,
    /// Bytes of the value being read, for a DUMP payload.
    pub tee: Option<Vec<u8>>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input").field("offset", &self.offset).finish()
    }
}

impl Input {
    /// Wraps a buffered reader positioned at the start of the file.
    pub fn new(inner: Box<dyn BufRead + Send>) -> Input {
        Input { inner, offset: 0, crc: 0, tee: None, scratch: Vec::new() }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The CRC-64 of every byte consumed so far.
    pub fn crc(&self) -> u64 {
        self.crc
    }

    fn consumed(&mut self, n: usize) {
        self.offset += n as u64;
    }

    /// Consumes exactly `n` bytes, checksummed and teed, handing each
    /// buffered chunk to `each` as it goes (no copy of the whole run).
    fn consume_chunks(&mut self, n: u64, mut each: impl FnMut(&[u8])) -> Result<(), RdbError> {
        let mut left = n;
        while left > 0 {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(RdbError::io(self.offset, e)),
            };
            if buf.is_empty() {
                return Err(RdbError::truncated(self.offset));
            }
            let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let chunk = &buf[..take];
            self.crc = crc64::update(self.crc, chunk);
            if let Some(t) = self.tee.as_mut() {
                t.extend_from_slice(chunk);
            }
            each(chunk);
            self.inner.consume(take);
            self.consumed(take);
            left -= take as u64;
        }
        Ok(())
    }

    /// Appends exactly `n` bytes to `out`.
    pub fn read_into(&mut self, n: u64, out: &mut Vec<u8>) -> Result<(), RdbError> {
        out.reserve((n as usize).min(RESERVE_CAP));
        self.consume_chunks(n, |chunk| out.extend_from_slice(chunk))
    }

    /// Reads exactly `out.len()` bytes.
    pub fn read_exact(&mut self, out: &mut [u8]) -> Result<(), RdbError> {
        let mut got = 0;
        self.consume_chunks(out.len() as u64, |chunk| {
            out[got..got + chunk.len()].copy_from_slice(chunk);
            got += chunk.len();
        })
    }

    /// Skips `n` bytes (still checksummed).
    pub fn skip(&mut self, n: u64) -> Result<(), RdbError> {
        self.consume_chunks(n, |_| {})
    }

    /// True at the end of the input (nothing more to read).
    pub fn at_end(&mut self) -> Result<bool, RdbError> {
        loop {
            match self.inner.fill_buf() {
                Ok(b) => return Ok(b.is_empty()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(RdbError::io(self.offset, e)),
            }
        }
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, RdbError> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    /// `N` bytes.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.read_exact(&mut b)?;
        Ok(b)
    }

    /// A length or a string-encoding marker.
    pub fn len_or_encoding(&mut self) -> Result<Len, RdbError> {
        let at = self.offset;
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Len((b & 0x3f) as u64),
            1 => Len::Len((((b & 0x3f) as u64) << 8) | self.u8()? as u64),
            3 => Len::Encoded(b & 0x3f),
            _ => match b {
                0x80 => Len::Len(u32::from_be_bytes(self.array()?) as u64),
                0x81 => Len::Len(u64::from_be_bytes(self.array()?)),
                other => return Err(RdbError::corrupt(at, format!("unknown length encoding 0x{other:02x}"))),
            },
        })
    }

    /// A plain length (an encoded-string marker here is damage).
    pub fn length(&mut self) -> Result<u64, RdbError> {
        let at = self.offset;
        match self.len_or_encoding()? {
            Len::Len(n) => Ok(n),
            Len::Encoded(e) => Err(RdbError::corrupt(at, format!("expected a length, found string encoding {e}"))),
        }
    }

    /// A string (plain, integer-encoded or LZF-compressed) into `out`
    /// (cleared first).
    pub fn string_into(&mut self, out: &mut Vec<u8>) -> Result<(), RdbError> {
        let at = self.offset;
        let prefix = self.len_or_encoding()?;
        self.string_after(at, prefix, out)
    }

    /// The rest of a string whose length-or-encoding prefix (read at `at`)
    /// was `prefix`, into `out` (cleared first).
    pub fn string_after(&mut self, at: u64, prefix: Len, out: &mut Vec<u8>) -> Result<(), RdbError> {
        out.clear();
        match prefix {
            Len::Len(n) => self.read_into(n, out),
            Len::Encoded(0) => {
                let v = self.u8()? as i8;
                out.extend_from_slice(v.to_string().as_bytes());
                Ok(())
            }
            Len::Encoded(1) => {
                let v = i16::from_le_bytes(self.array()?);
                out.extend_from_slice(v.to_string().as_bytes());
                Ok(())
            }
            Len::Encoded(2) => {
                let v = i32::from_le_bytes(self.array()?);
                out.extend_from_slice(v.to_string().as_bytes());
                Ok(())
            }
            Len::Encoded(3) => {
                let clen = self.length()?;
                let ulen = self.length()?;
                let mut packed = std::mem::take(&mut self.scratch);
                packed.clear();
                let data_at = self.offset;
                self.read_into(clen, &mut packed)?;
                // LZF expands at most ~88× (a 3-byte back reference makes 264 bytes).
                if ulen > clen.saturating_mul(100).saturating_add(64) {
                    return Err(RdbError::corrupt(
                        at,
                        format!("LZF string claims {ulen} bytes from {clen} compressed bytes"),
                    ));
                }
                let result = lzf::decompress(&packed, ulen as usize, out)
                    .map_err(|e| RdbError::corrupt(data_at, format!("compressed string: {e}")));
                self.scratch = packed;
                result
            }
            Len::Encoded(e) => Err(RdbError::corrupt(at, format!("unknown string encoding {e}"))),
        }
    }

    /// A string, as a new vector.
    pub fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let mut v = Vec::new();
        self.string_into(&mut v)?;
        Ok(v)
    }

    /// Skips a string without keeping it.
    pub fn skip_string(&mut self) -> Result<(), RdbError> {
        match self.len_or_encoding()? {
            Len::Len(n) => self.skip(n),
            Len::Encoded(0) => self.skip(1),
            Len::Encoded(1) => self.skip(2),
            Len::Encoded(2) => self.skip(4),
            Len::Encoded(3) => {
                let clen = self.length()?;
                self.length()?;
                self.skip(clen)
            }
            Len::Encoded(e) => Err(RdbError::corrupt(self.offset - 1, format!("unknown string encoding {e}"))),
        }
    }

    /// A score of the old `ZSET` type: a length byte then ASCII, with
    /// 253/254/255 meaning nan/+inf/-inf.
    pub fn text_double(&mut self) -> Result<f64, RdbError> {
        let at = self.offset;
        let n = self.u8()?;
        match n {
            253 => Err(RdbError::corrupt(at, "score is NaN")),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let mut b = Vec::with_capacity(n as usize);
                self.read_into(n as u64, &mut b)?;
                super::blobs::parse_score(&b).ok_or_else(|| {
                    RdbError::corrupt(at, format!("score {:?} is not a number", String::from_utf8_lossy(&b)))
                })
            }
        }
    }

    /// A binary double (`ZSET_2`).
    pub fn binary_double(&mut self) -> Result<f64, RdbError> {
        let at = self.offset;
        let v = f64::from_le_bytes(self.array()?);
        if v.is_nan() {
            return Err(RdbError::corrupt(at, "score is NaN"));
        }
        Ok(v)
    }

    /// A Unix time in milliseconds (8 bytes LE).
    pub fn millis(&mut self) -> Result<i64, RdbError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}
