//! Line framing and trailer checks for the streaming transform, with the
//! decoding of the hot lines left to the worker threads.
//!
//! [`decant_record::RecordReader`] decodes every line on the thread that
//! reads, which would make that one thread the transform's limit. This
//! reader does what the record reader does — lines capped in length, each
//! segment hashed and its `end` line checked, the same errors with the same
//! line numbers — but hands back the bytes of `row` and `redis` lines
//! undecoded ([`Next::Raw`]) for the workers to decode in parallel. Lines it
//! cannot classify that cheaply (a `header` or `end` line, a split key's
//! `part`, a line whose `kind` is not its first member, any `\u` escape) are
//! decoded here with [`Record::decode`], as the record reader would.

use std::io::{self, BufRead};

use decant_record::{ReadError, Record};

/// Bytes of hashed input collected before they are fed to blake3 in one call.
const HASH_BATCH: usize = 64 << 10;

/// What the next line is.
#[derive(Debug)]
pub enum Next {
    /// A `row` or `redis` line that is not a split key's part, undecoded:
    /// its bytes are [`Framer::raw_line`].
    Raw,
    /// Any other line, decoded (`header` and `end` lines included, after
    /// the trailer check), boxed: rare, and large.
    Record(Box<Record>),
}

/// The open segment: its first line, line count and digest so far.
struct Segment {
    first_line: u64,
    has_header: bool,
    records: u64,
    hasher: blake3::Hasher,
    pending: Vec<u8>,
}

impl Segment {
    fn new(first_line: u64) -> Segment {
        Segment {
            first_line,
            has_header: false,
            records: 0,
            hasher: blake3::Hasher::new(),
            pending: Vec::with_capacity(HASH_BATCH),
        }
    }

    fn hash(&mut self, bytes: &[u8]) {
        if self.pending.len() + bytes.len() > HASH_BATCH {
            self.hasher.update(&self.pending);
            self.pending.clear();
            if bytes.len() > HASH_BATCH {
                self.hasher.update(bytes);
                return;
            }
        }
        self.pending.extend_from_slice(bytes);
    }

    fn digest(&mut self) -> String {
        self.hasher.update(&self.pending);
        self.pending.clear();
        self.hasher.finalize().to_hex().to_string()
    }

    fn is_empty(&self) -> bool {
        !self.has_header && self.records == 0
    }
}

/// Reads lines, checks trailers, decodes only what it must (see the module docs).
pub struct Framer<R> {
    input: R,
    max_line_bytes: usize,
    line: Vec<u8>,
    line_no: u64,
    segment: Segment,
    finished: bool,
}

impl<R> std::fmt::Debug for Framer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("Framer").field("line_no", &self.line_no).finish_non_exhaustive()
    }
}

impl<R: BufRead> Framer<R> {
    /// A framer over `input` with a cap on the length of a line.
    pub fn new(input: R, max_line_bytes: usize) -> Framer<R> {
        Framer {
            input,
            max_line_bytes,
            line: Vec::with_capacity(4096),
            line_no: 0,
            segment: Segment::new(1),
            finished: false,
        }
    }

    /// The number of the line last read (1-based).
    pub fn line_number(&self) -> u64 {
        self.line_no
    }

    /// The bytes of the line last read, without its line end.
    pub fn raw_line(&self) -> &[u8] {
        let mut l = self.line.as_slice();
        if let Some(x) = l.strip_suffix(b"\n") {
            l = x;
        }
        if let Some(x) = l.strip_suffix(b"\r") {
            l = x;
        }
        l
    }

    /// The next line, `Ok(None)` at the end of input. Errors are those of
    /// [`decant_record::RecordReader::next_record`], recoverable or not.
    pub fn next_line(&mut self) -> Result<Option<Next>, ReadError> {
        if self.finished {
            return Ok(None);
        }
        let got_line = self.read_line().inspect_err(|e| {
            if !e.is_recoverable() {
                self.finished = true;
            }
        })?;
        if !got_line {
            self.finished = true;
            return Ok(None);
        }
        let line_no = self.line_no;
        if is_plain_hot_line(self.raw_line()) {
            self.segment.records += 1;
            self.hash_line();
            return Ok(Some(Next::Raw));
        }
        let decoded = if self.raw_line().is_empty() {
            Err(decant_record::DecodeError("empty line (every line must be a JSON object with a \"kind\")".into()))
        } else {
            Record::decode(self.raw_line())
        };
        match decoded {
            Ok(Record::End(trailer)) => {
                let digest = self.segment.digest();
                if trailer.records != self.segment.records {
                    self.finished = true;
                    return Err(ReadError::Trailer {
                        line: line_no,
                        message: format!(
                            "the end line says {} records but its segment (from line {}) has {}: the stream was altered or lines were lost",
                            trailer.records, self.segment.first_line, self.segment.records
                        ),
                    });
                }
                if !trailer.stream_blake3.eq_ignore_ascii_case(&digest) {
                    self.finished = true;
                    return Err(ReadError::Trailer {
                        line: line_no,
                        message: format!(
                            "stream digest mismatch: the end line says {} but the bytes of its segment (from line {}) hash to {digest}: the stream was altered",
                            trailer.stream_blake3, self.segment.first_line
                        ),
                    });
                }
                self.segment = Segment::new(line_no + 1);
                Ok(Some(Next::Record(Box::new(Record::End(trailer)))))
            }
            Ok(Record::Header(header)) => {
                if !self.segment.is_empty() {
                    // A new header without an end before it: a new segment.
                    self.segment = Segment::new(line_no);
                }
                self.segment.has_header = true;
                self.hash_line();
                Ok(Some(Next::Record(Box::new(Record::Header(header)))))
            }
            Ok(record) => {
                self.segment.records += 1;
                self.hash_line();
                Ok(Some(Next::Record(Box::new(record))))
            }
            Err(e) => {
                self.segment.records += 1;
                self.hash_line();
                Err(ReadError::Malformed { line: line_no, message: e.0 })
            }
        }
    }

    fn hash_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.segment.hash(&line);
        self.line = line;
    }

    /// Reads one line into `self.line` (with its `\n`). Returns false at EOF.
    fn read_line(&mut self) -> Result<bool, ReadError> {
        self.line.clear();
        let max = self.max_line_bytes;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            };
            if buf.is_empty() {
                if self.line.is_empty() {
                    return Ok(false);
                }
                if content_len(&self.line) > max {
                    return Err(self.skip_long_line());
                }
                self.line_no += 1;
                return Ok(true);
            }
            let (take, complete) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let too_long = if complete {
                let crlf = if take >= 2 { buf[take - 2] == b'\r' } else { self.line.last() == Some(&b'\r') };
                self.line.len() + take - 1 - crlf as usize > max
            } else {
                self.line.len() + take > max + 1
            };
            if too_long {
                return Err(self.skip_long_line());
            }
            self.line.extend_from_slice(&buf[..take]);
            self.input.consume(take);
            if complete {
                self.line_no += 1;
                return Ok(true);
            }
        }
    }

    /// Skips the rest of an over-long line, hashing it so the segment digest
    /// still covers every byte.
    fn skip_long_line(&mut self) -> ReadError {
        self.line_no += 1;
        self.segment.records += 1;
        let line = std::mem::take(&mut self.line);
        self.segment.hash(&line);
        self.line = line;
        self.line.clear();
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.io_error(e),
            };
            if buf.is_empty() {
                break;
            }
            let (take, complete) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            self.segment.hash(&buf[..take]);
            self.input.consume(take);
            if complete {
                break;
            }
        }
        ReadError::LineTooLong { line: self.line_no, max: self.max_line_bytes }
    }

    fn io_error(&self, e: io::Error) -> ReadError {
        let hint = if e.kind() == io::ErrorKind::UnexpectedEof || e.to_string().contains("incomplete") {
            " (the compressed input is truncated)"
        } else {
            ""
        };
        let source = if hint.is_empty() { e } else { io::Error::new(e.kind(), format!("{e}{hint}")) };
        ReadError::Io { line: self.line_no, source }
    }
}

/// True for a `row` or `redis` line, as writers write them (`kind` first),
/// that is not a split key's part and has no `\u` escape (which could spell
/// a member name): such a line is a record line whatever else it holds, so
/// it needs no decoding for the framing.
pub fn is_plain_hot_line(line: &[u8]) -> bool {
    let rest = if let Some(r) = line.strip_prefix(br#"{"kind":"redis""#) {
        r
    } else if let Some(r) = line.strip_prefix(br#"{"kind":"row""#) {
        r
    } else {
        return false;
    };
    matches!(rest.first(), Some(b',' | b'}'))
        && memchr::memmem::find(rest, br#""part""#).is_none()
        && memchr::memmem::find(rest, br"\u").is_none()
}

/// The length of a line without its "\n" or "\r\n".
fn content_len(line: &[u8]) -> usize {
    let mut l = line;
    if let Some(x) = l.strip_suffix(b"\n") {
        l = x;
    }
    if let Some(x) = l.strip_suffix(b"\r") {
        l = x;
    }
    l.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use decant_record::{Header, RecordReader, RecordWriter, Row, RowData, Value};

    fn sealed_stream() -> Vec<u8> {
        let mut w = RecordWriter::new(Vec::new());
        w.write_header(&Header::new("t", None)).unwrap();
        for i in 0..3 {
            let row = Row { table: "t".into(), data: RowData(vec![("id".into(), Value::Int(i))]) };
            w.write(&Record::Row(row)).unwrap();
        }
        w.write_raw(br#"{"kind":"redis","db":0,"key":"k","type":"list","expire_at_ms":null,"part":0,"value":["a"]}"#)
            .unwrap();
        w.finish().unwrap()
    }

    /// (line, Ok(kind) | Err(error text)) for every line, through either reader.
    fn lines_of_framer(input: &[u8]) -> Vec<(u64, Result<String, String>)> {
        let mut f = Framer::new(input, 1 << 20);
        let mut out = Vec::new();
        loop {
            match f.next_line() {
                Ok(None) => return out,
                // The workers decode raw lines; their errors are the reader's.
                Ok(Some(Next::Raw)) => match Record::decode(f.raw_line()) {
                    Ok(rec) => out.push((f.line_number(), Ok(rec.kind().to_owned()))),
                    Err(e) => {
                        let line = f.line_number();
                        out.push((line, Err(ReadError::Malformed { line, message: e.0 }.to_string())))
                    }
                },
                Ok(Some(Next::Record(r))) => out.push((f.line_number(), Ok(r.kind().to_owned()))),
                Err(e) => {
                    let fatal = !e.is_recoverable();
                    out.push((e.line(), Err(e.to_string())));
                    if fatal {
                        return out;
                    }
                }
            }
        }
    }

    fn lines_of_reader(input: &[u8]) -> Vec<(u64, Result<String, String>)> {
        let mut r = RecordReader::new(input);
        let mut out = Vec::new();
        loop {
            match r.next_record() {
                Ok(None) => return out,
                Ok(Some(rec)) => out.push((r.line_number(), Ok(rec.kind().to_owned()))),
                Err(e) => {
                    let fatal = !e.is_recoverable();
                    out.push((e.line(), Err(e.to_string())));
                    if fatal {
                        return out;
                    }
                }
            }
        }
    }

    #[test]
    fn frames_and_checks_as_the_record_reader_does() {
        let good = sealed_stream();
        let mut two = good.clone();
        two.extend_from_slice(&good);
        let mut altered = good.clone();
        let at = memchr::memmem::find(&altered, b"\"id\":1").unwrap();
        altered[at + 5] = b'7';
        let mut dropped = String::from_utf8(good.clone()).unwrap().lines().map(str::to_owned).collect::<Vec<_>>();
        dropped.remove(2);
        let dropped = (dropped.join("\n") + "\n").into_bytes();
        let mut messy = b"\n{\"kind\":\"row\"}\nnot json\n{\"table\":\"t\",\"kind\":\"row\",\"data\":{}}\n".to_vec();
        messy.extend_from_slice(&good);
        for (name, input) in
            [("sealed", &good), ("two segments", &two), ("altered", &altered), ("dropped", &dropped), ("messy", &messy)]
        {
            assert_eq!(lines_of_framer(input), lines_of_reader(input), "{name}");
        }
        assert!(lines_of_framer(&altered).iter().any(|(_, r)| r.as_ref().is_err_and(|e| e.contains("digest"))));
    }

    #[test]
    fn only_plain_hot_lines_are_left_undecoded() {
        assert!(is_plain_hot_line(br#"{"kind":"row","table":"t","data":{}}"#));
        assert!(is_plain_hot_line(br#"{"kind":"redis","db":0,"key":"k","type":"string","value":"v"}"#));
        assert!(!is_plain_hot_line(br#"{"kind":"redis","key":"k","part":1,"type":"list","value":[]}"#));
        assert!(!is_plain_hot_line(br#"{"kind":"redis","key":"k","p\u0061rt":1,"type":"list","value":[]}"#));
        assert!(!is_plain_hot_line(br#"{"kind":"rows","table":"t"}"#));
        assert!(!is_plain_hot_line(br#"{"kind":"end","records":1}"#));
        assert!(!is_plain_hot_line(br#"{"table":"t","kind":"row","data":{}}"#));
    }
}
