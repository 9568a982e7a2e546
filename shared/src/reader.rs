//! The streaming reader: line framing (with a length cap), then JSON decoding,
//! with the `end` trailer of every segment checked as the stream goes by.
//!
//! Framing and decoding are separate steps: a line that is too long or not
//! valid JSON is reported with its number and the reader carries on with the
//! next line ([`ReadError::is_recoverable`]), so a tool with a reject file can
//! set it aside. A trailer that does not match the segment is fatal.

use std::io::{self, BufRead};

use crate::record::{Header, Record};

/// Default cap on one line: big Redis keys are split into parts well below it.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

/// Bytes of hashed input collected before they are fed to blake3 in one call
/// (large updates let blake3 use its SIMD paths).
const HASH_BATCH: usize = 64 << 10;

/// Why reading a stream failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The line is not a valid decant record; the reader can go on.
    #[error("line {line}: {message}")]
    Malformed {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The line is longer than the cap; it was skipped and the reader can go on.
    #[error("line {line}: longer than {max} bytes (raise --max-line-bytes if the line is genuine)")]
    LineTooLong {
        /// 1-based line number.
        line: u64,
        /// The cap.
        max: usize,
    },
    /// The `end` line disagrees with the segment it closes: the stream was
    /// altered or is incomplete.
    #[error("line {line}: {message}")]
    Trailer {
        /// 1-based line number of the `end` line.
        line: u64,
        /// What disagrees.
        message: String,
    },
    /// The first line is not a decant record at all (a CSV, an SQL dump,
    /// `seq` output): the input is not a decant stream. Fatal.
    #[error("line {line}: not a decant stream: {message} (decant tools read the NDJSON that redis-export, mysql-export, pg-export and sqlite-export write; see docs/format.md)")]
    NotDecant {
        /// 1-based line number (always the first line).
        line: u64,
        /// What the line is.
        message: String,
    },
    /// A segment that began with a `header` ended (at the end of input, or
    /// at the next `header`) without its `end` trailer: the stream was cut
    /// short. Fatal unless [`ReaderOptions::allow_unsealed`].
    #[error("line {line}: the stream ends without its trailer: cut short? (the header at line {header_line} promises an \"end\" line after the last record; copy or export it again, or pass --allow-unsealed to read what is there)")]
    CutShort {
        /// The last line of the segment.
        line: u64,
        /// The line of the segment's header.
        header_line: u64,
    },
    /// The input has no bytes at all: not a decant stream (every decant
    /// tool writes at least a header and its trailer), but a backup cut
    /// short before its first line or an export that never started. Fatal
    /// unless [`ReaderOptions::allow_unsealed`], like [`ReadError::CutShort`].
    #[error("empty input: no header; a cut-short stream? (a decant stream has at least a header and an \"end\" line, even with no records; pass --allow-unsealed to accept an empty input)")]
    Empty,
    /// The input ended without an `end` line while sealed input was required.
    #[error("line {line}: stream ends without an \"end\" line: it is truncated or was not written by a decant tool")]
    Unsealed {
        /// The last line number read.
        line: u64,
    },
    /// Reading the input failed (I/O, or a corrupt / truncated zstd frame).
    #[error("after line {line}: {source}")]
    Io {
        /// The last complete line number.
        line: u64,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

impl ReadError {
    /// True when the reader can continue with the next line.
    pub fn is_recoverable(&self) -> bool {
        matches!(self, ReadError::Malformed { .. } | ReadError::LineTooLong { .. })
    }

    /// The line number the error is about.
    pub fn line(&self) -> u64 {
        match self {
            ReadError::Malformed { line, .. }
            | ReadError::LineTooLong { line, .. }
            | ReadError::Trailer { line, .. }
            | ReadError::Unsealed { line }
            | ReadError::NotDecant { line, .. }
            | ReadError::CutShort { line, .. }
            | ReadError::Io { line, .. } => *line,
            ReadError::Empty => 0,
        }
    }
}

/// Options of a [`RecordReader`].
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Cap on the length of one line, in bytes.
    pub max_line_bytes: usize,
    /// Fail at the end of input when the last segment has no `end` line,
    /// even a segment without a header.
    pub require_sealed: bool,
    /// Accept a segment that began with a `header` but has no `end` line
    /// (`--allow-unsealed`), and an input of no bytes at all; without it
    /// such a stream is [`ReadError::CutShort`] / [`ReadError::Empty`].
    pub allow_unsealed: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions { max_line_bytes: DEFAULT_MAX_LINE_BYTES, require_sealed: false, allow_unsealed: false }
    }
}

/// What the reader learnt about one segment of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentInfo {
    /// Line number of the segment's first line.
    pub first_line: u64,
    /// The segment's header, if it had one.
    pub header: Option<Header>,
    /// Lines after the header, before the trailer.
    pub records: u64,
    /// True when the segment ended with a matching `end` line.
    pub sealed: bool,
    /// The segment's blake3 (of the bytes before its trailer), when sealed.
    pub stream_blake3: Option<String>,
}

#[derive(Debug)]
struct Segment {
    first_line: u64,
    header: Option<Header>,
    records: u64,
    hasher: blake3::Hasher,
    pending: Vec<u8>,
}

impl Segment {
    fn new(first_line: u64) -> Segment {
        Segment {
            first_line,
            header: None,
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
        self.header.is_none() && self.records == 0
    }

    fn info(self, sealed: Option<String>) -> SegmentInfo {
        SegmentInfo {
            first_line: self.first_line,
            header: self.header,
            records: self.records,
            sealed: sealed.is_some(),
            stream_blake3: sealed,
        }
    }
}

/// Reads decant records from a buffered byte stream.
///
/// ```
/// use decant_record::{RecordReader, Record};
/// let input = b"{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1}}\n";
/// let mut reader = RecordReader::new(&input[..]);
/// match reader.next_record().unwrap() {
///     Some(Record::Row(row)) => assert_eq!(row.table, "t"),
///     other => panic!("{other:?}"),
/// }
/// assert!(reader.next_record().unwrap().is_none());
/// assert!(!reader.segments()[0].sealed);
/// ```
#[derive(Debug)]
pub struct RecordReader<R> {
    input: R,
    options: ReaderOptions,
    line: Vec<u8>,
    line_no: u64,
    segment: Segment,
    /// True right after an `end` line: the next line opens a new segment.
    after_end: bool,
    segments: Vec<SegmentInfo>,
    finished: bool,
}

impl<R: BufRead> RecordReader<R> {
    /// A reader with default options.
    pub fn new(input: R) -> Self {
        Self::with_options(input, ReaderOptions::default())
    }

    /// A reader with the given options.
    pub fn with_options(input: R, options: ReaderOptions) -> Self {
        RecordReader {
            input,
            options,
            line: Vec::with_capacity(4096),
            line_no: 0,
            segment: Segment::new(1),
            after_end: false,
            segments: Vec::new(),
            finished: false,
        }
    }

    /// The number of the line last read (1-based; 0 before the first).
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

    /// The segments completed so far; after the end of input, all of them.
    pub fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// True when every segment read so far was sealed (and there was at least one).
    pub fn all_sealed(&self) -> bool {
        !self.segments.is_empty() && self.segments.iter().all(|s| s.sealed)
    }

    /// Reads the next record, `Ok(None)` at the end of input.
    ///
    /// `header` and `end` lines are returned too (after the trailer check), so
    /// pass-through tools can keep the stream's segments.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        match self.next_line(true)? {
            None => Ok(None),
            Some(Frame::Record(record)) => Ok(Some(record)),
            // Not produced when every line is decoded.
            Some(Frame::Data) => {
                Err(ReadError::Malformed { line: self.line_no, message: "internal: undecoded line".into() })
            }
        }
    }

    /// Frames the next line, keeping the segment accounting and trailer
    /// checks of [`RecordReader::next_record`], but leaves lines that say
    /// they are data (`{"kind":"row"`, `redis`, `diff`, `delete` at the start
    /// of the line) undecoded for the caller ([`Frame::Data`]; the bytes are
    /// in [`RecordReader::raw_line`]). Every other line is decoded here, so a
    /// `header`, `end` or `schema` line is always a [`Frame::Record`].
    ///
    /// For tools that decode data lines on other threads (the parallel
    /// digest, `decant-transform`): the line is already counted and hashed
    /// for its segment's trailer check, so a caller that fails to decode it
    /// reports [`ReadError::Malformed`] with [`RecordReader::line_number`].
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ReadError> {
        self.next_line(false)
    }

    fn next_line(&mut self, decode_data: bool) -> Result<Option<Frame>, ReadError> {
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
            if self.line_no == 0 && !self.options.allow_unsealed {
                return Err(ReadError::Empty);
            }
            let last = std::mem::replace(&mut self.segment, Segment::new(self.line_no + 1));
            if !last.is_empty() {
                let header_line = last.header.is_some().then_some(last.first_line);
                self.segments.push(last.info(None));
                if let Some(header_line) = header_line.filter(|_| !self.options.allow_unsealed) {
                    return Err(ReadError::CutShort { line: self.line_no, header_line });
                }
                if self.options.require_sealed {
                    return Err(ReadError::Unsealed { line: self.line_no });
                }
            }
            return Ok(None);
        }
        let line_no = self.line_no;
        if self.after_end {
            self.after_end = false;
            self.segment = Segment::new(line_no);
        }
        if !decode_data && is_data_line(self.raw_line()) {
            // Whether it decodes or not, a data line counts and is hashed
            // like any record line (see the `Ok(record)` and `Err` arms below).
            self.segment.records += 1;
            self.hash_line();
            return Ok(Some(Frame::Data));
        }
        let decoded = if self.raw_line().is_empty() {
            Err(crate::record::DecodeError("empty line (every line must be a JSON object with a \"kind\")".into()))
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
                let done = std::mem::replace(&mut self.segment, Segment::new(line_no + 1));
                self.segments.push(done.info(Some(digest)));
                self.after_end = true;
                Ok(Some(Frame::Record(Record::End(trailer))))
            }
            Ok(Record::Header(header)) => {
                if !self.segment.is_empty() {
                    // A new header without an end before it: the previous
                    // segment was unsealed (e.g. `cat` of tools' outputs).
                    let prev = std::mem::replace(&mut self.segment, Segment::new(line_no));
                    let header_line = prev.header.is_some().then_some(prev.first_line);
                    self.segments.push(prev.info(None));
                    if let Some(header_line) = header_line.filter(|_| !self.options.allow_unsealed) {
                        self.finished = true;
                        return Err(ReadError::CutShort { line: line_no - 1, header_line });
                    }
                }
                self.segment.header = Some(header.clone());
                self.hash_line();
                Ok(Some(Frame::Record(Record::Header(header))))
            }
            Ok(record) => {
                self.segment.records += 1;
                self.hash_line();
                Ok(Some(Frame::Record(record)))
            }
            Err(e) => {
                self.segment.records += 1;
                self.hash_line();
                if line_no == 1 && !looks_like_a_record(self.raw_line()) {
                    self.finished = true;
                    return Err(ReadError::NotDecant { line: line_no, message: e.0 });
                }
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
        let max = self.options.max_line_bytes;
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
            // The cap is on the line without its "\n" or "\r\n"; a chunk
            // without the "\n" yet may end in the "\r" of a "\r\n".
            let too_long = if complete {
                let crlf = if take >= 2 { buf[take - 2] == b'\r' } else { self.line.last() == Some(&b'\r') };
                self.line.len() + take - 1 - crlf as usize > max
            } else {
                self.line.len() + take > max.saturating_add(1)
            };
            if too_long {
                return Err(self.skip_long_line());
            }
            self.line.extend_from_slice(&buf[..take]);
            self.input.consume(take);
            crate::metrics::BYTES_READ.fetch_add(take as u64, std::sync::atomic::Ordering::Relaxed);
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
        if self.after_end {
            self.after_end = false;
            self.segment = Segment::new(self.line_no);
        }
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
        ReadError::LineTooLong { line: self.line_no, max: self.options.max_line_bytes }
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

/// A framed line, as [`RecordReader::next_frame`] gives it.
#[derive(Debug)]
// Moved out once per line like `Option<Record>`; a box would cost an
// allocation per record on the one-thread path.
#[allow(clippy::large_enum_variant)]
pub enum Frame {
    /// A `row`, `redis`, `diff` or `delete` line, not decoded yet.
    Data,
    /// A decoded line (always so for `header`, `end` and `schema`).
    Record(Record),
}

/// True when the line starts `{"kind":"row"` (or `redis`, `diff`, `delete`),
/// the way writers put it. Such a line either decodes to that kind or is
/// malformed (a second `"kind"` is an error), so the framing thread can leave
/// it to a worker; any other spelling is decoded by the framing thread.
fn is_data_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"{\"kind\":\"") else {
        return false;
    };
    let Some(end) = memchr::memchr2(b'"', b'\\', rest) else {
        return false;
    };
    rest[end] == b'"' && matches!(&rest[..end], b"row" | b"redis" | b"diff" | b"delete")
}

/// True when the line is a JSON object with a string `"kind"`: a decant
/// record, if perhaps a malformed one. The first line of a stream that is not
/// even that (CSV, SQL, plain numbers) means the input is not a decant stream.
fn looks_like_a_record(line: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(line).is_ok_and(|v| v.get("kind").is_some_and(|k| k.is_string()))
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

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}
