//! A buffered RESP2 reply reader.
//!
//! Replies are parsed straight out of one large read buffer: a bulk string
//! becomes a `Vec<u8>` of exactly its length (one allocation, one copy), an
//! array a `Vec` of its elements. Error replies are values ([`Reply::Error`]),
//! not errors: in a pipeline they belong to one command and the caller
//! decides. An `Err` from [`RespReader::read_reply`] means the connection
//! failed or the server sent something that is not RESP2; the connection is
//! then out of step and must not be used further.

use std::io::{self, Read};

/// One reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A nil bulk string (`$-1`) or nil array (`*-1`).
    Nil,
    /// An integer (`:`).
    Int(i64),
    /// A bulk string (`$`).
    Bulk(Vec<u8>),
    /// A simple string (`+`), e.g. `OK`.
    Simple(Vec<u8>),
    /// An error reply (`-`), e.g. `WRONGTYPE Operation against a key …`.
    Error(String),
    /// An array (`*`).
    Array(Vec<Reply>),
}

/// The read buffer's size: many small replies per `read` call.
pub const READ_BUFFER: usize = 256 * 1024;

/// Bulk strings up to this size are allocated whole from their length;
/// longer ones grow as their bytes arrive, so a corrupt length cannot
/// allocate more memory than the server actually sends.
const TRUSTED_LEN: usize = 64 << 20;

/// Status, error and integer lines longer than this are refused.
const MAX_LINE: usize = 64 << 20;

/// Arrays nested deeper than this are refused (Redis replies nest a few levels).
const MAX_DEPTH: usize = 128;

/// Reads replies from `R` through a large buffer.
pub struct RespReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl<R> std::fmt::Debug for RespReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RespReader").field("buffered", &(self.end - self.pos)).finish()
    }
}

fn malformed(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("malformed reply from the server: {what}"))
}

fn cut_short() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection in the middle of a reply")
}

/// A few bytes for a message: printable ASCII as is, the rest escaped.
fn shown(bytes: &[u8]) -> String {
    let mut s: String = bytes.iter().take(32).flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
    if bytes.len() > 32 {
        s.push('…');
    }
    format!("\"{s}\"")
}

impl<R: Read> RespReader<R> {
    /// A reader with a [`READ_BUFFER`]-byte buffer.
    pub fn new(inner: R) -> RespReader<R> {
        RespReader::with_capacity(READ_BUFFER, inner)
    }

    /// A reader with a `cap`-byte buffer (at least 16).
    pub fn with_capacity(cap: usize, inner: R) -> RespReader<R> {
        RespReader { inner, buf: vec![0; cap.max(16)], pos: 0, end: 0 }
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying stream, e.g. to write commands to it. Reading from it
    /// directly would skip buffered bytes.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Reads the next whole reply.
    pub fn read_reply(&mut self) -> io::Result<Reply> {
        if self.pos == self.end && self.fill()? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
        }
        self.reply(0)
    }

    /// Reads more bytes after `end`, making room first; returns how many (0 at EOF).
    fn fill(&mut self) -> io::Result<usize> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.end -= self.pos;
                self.pos = 0;
            } else {
                // One line fills the whole buffer: grow it (bounded by MAX_LINE).
                let len = self.buf.len();
                self.buf.resize(len * 2, 0);
            }
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Like `fill`, but the end of input is an error: we are inside a reply.
    fn fill_more(&mut self) -> io::Result<()> {
        match self.fill()? {
            0 => Err(cut_short()),
            _ => Ok(()),
        }
    }

    /// The next line's content (without CRLF), consumed, as a range of `buf`.
    fn line(&mut self) -> io::Result<std::ops::Range<usize>> {
        let mut scanned = 0;
        loop {
            let start = self.pos;
            if let Some(i) = self.buf[start + scanned..self.end].iter().position(|&b| b == b'\n') {
                let nl = start + scanned + i;
                if nl == start || self.buf[nl - 1] != b'\r' {
                    return Err(malformed(format!(
                        "expected CRLF at the end of the line {}",
                        shown(&self.buf[start..nl])
                    )));
                }
                self.pos = nl + 1;
                return Ok(start..nl - 1);
            }
            scanned = self.end - start;
            if scanned > MAX_LINE {
                return Err(malformed(format!("a line longer than {MAX_LINE} bytes without CRLF")));
            }
            self.fill_more()?;
        }
    }

    fn reply(&mut self, depth: usize) -> io::Result<Reply> {
        if self.pos == self.end {
            self.fill_more()?;
        }
        let kind = self.buf[self.pos];
        self.pos += 1;
        match kind {
            b'$' => {
                let n = self.length("a bulk string")?;
                match n {
                    None => Ok(Reply::Nil),
                    Some(n) => self.bulk(n).map(Reply::Bulk),
                }
            }
            b'*' => {
                let Some(n) = self.length("an array")? else { return Ok(Reply::Nil) };
                if depth >= MAX_DEPTH {
                    return Err(malformed(format!("arrays nested deeper than {MAX_DEPTH} levels")));
                }
                let mut items = Vec::with_capacity(n.min(4096));
                for _ in 0..n {
                    items.push(self.reply(depth + 1)?);
                }
                Ok(Reply::Array(items))
            }
            b':' => {
                let r = self.line()?;
                let n = parse_int(&self.buf[r.clone()])
                    .ok_or_else(|| malformed(format!("expected an integer after ':', got {}", shown(&self.buf[r]))))?;
                Ok(Reply::Int(n))
            }
            b'+' => {
                let r = self.line()?;
                Ok(Reply::Simple(self.buf[r].to_vec()))
            }
            b'-' => {
                let r = self.line()?;
                Ok(Reply::Error(String::from_utf8_lossy(&self.buf[r]).into_owned()))
            }
            other => Err(malformed(format!(
                "expected a reply type byte ('+', '-', ':', '$' or '*'), got {}",
                shown(&[other])
            ))),
        }
    }

    /// The length after `$` or `*`: `None` for -1 (nil).
    fn length(&mut self, what: &str) -> io::Result<Option<usize>> {
        let r = self.line()?;
        let bad = |buf: &[u8]| malformed(format!("expected the length of {what}, got {}", shown(buf)));
        let n = parse_int(&self.buf[r.clone()]).ok_or_else(|| bad(&self.buf[r.clone()]))?;
        match n {
            -1 => Ok(None),
            n => usize::try_from(n).map(Some).map_err(|_| bad(&self.buf[r])),
        }
    }

    /// A bulk string's `n` bytes and the CRLF after them.
    fn bulk(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if self.end - self.pos >= n + 2 {
            // The common case: the whole string is buffered.
            let s = self.buf[self.pos..self.pos + n].to_vec();
            self.pos += n;
            self.crlf(n)?;
            return Ok(s);
        }
        let mut s = Vec::with_capacity(n.min(TRUSTED_LEN));
        let take = (self.end - self.pos).min(n);
        s.extend_from_slice(&self.buf[self.pos..self.pos + take]);
        self.pos += take;
        if n - s.len() >= self.buf.len() / 2 {
            // Big: read straight into the string, in steps of at most
            // TRUSTED_LEN so memory follows the bytes actually received.
            while s.len() < n {
                let have = s.len();
                s.resize(have + (n - have).min(TRUSTED_LEN), 0);
                self.read_exact_direct(&mut s[have..])?;
            }
        } else {
            while s.len() < n {
                self.fill_more()?;
                let take = (self.end - self.pos).min(n - s.len());
                s.extend_from_slice(&self.buf[self.pos..self.pos + take]);
                self.pos += take;
            }
        }
        self.crlf(n)?;
        Ok(s)
    }

    /// Fills `out` from the stream, bypassing the (empty) buffer.
    fn read_exact_direct(&mut self, mut out: &mut [u8]) -> io::Result<()> {
        debug_assert_eq!(self.pos, self.end);
        while !out.is_empty() {
            match self.inner.read(out) {
                Ok(0) => return Err(cut_short()),
                Ok(k) => out = &mut out[k..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn crlf(&mut self, n: usize) -> io::Result<()> {
        while self.end - self.pos < 2 {
            self.fill_more()?;
        }
        if &self.buf[self.pos..self.pos + 2] != b"\r\n" {
            return Err(malformed(format!(
                "expected CRLF after a bulk string of {n} bytes, got {}",
                shown(&self.buf[self.pos..self.pos + 2])
            )));
        }
        self.pos += 2;
        Ok(())
    }
}

/// A RESP integer: an optional `-` and decimal digits, nothing else.
fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_sub((d - b'0') as i64)?;
    }
    if neg {
        Some(n)
    } else {
        n.checked_neg()
    }
}

#[cfg(test)]
mod tests;
