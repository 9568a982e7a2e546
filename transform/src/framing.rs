//! Line framing for the streaming transform, with the decoding of the hot
//! lines left to the worker threads.
//!
//! [`RecordReader::next_record`] decodes every line on the thread that reads,
//! which would make that one thread the transform's limit. The framing,
//! length cap, segment hashing and trailer checks stay the record crate's
//! ([`RecordReader::next_frame`]: one implementation of the format, the same
//! errors with the same line numbers); this adapter only decides which data
//! lines the workers may decode. A plain `row` or `redis` line goes to them
//! undecoded ([`Next::Raw`]); a split key's `part` (which the writing thread
//! must see in order), a `diff` or `delete` line, or a line with a `\u`
//! escape is decoded here.

use std::io::BufRead;

use decant_record::{Frame, ReadError, ReaderOptions, Record, RecordReader};

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

/// Frames lines through [`RecordReader::next_frame`], leaving plain hot
/// lines to the workers.
#[derive(Debug)]
pub struct Framer<R> {
    reader: RecordReader<R>,
}

impl<R: BufRead> Framer<R> {
    /// A framer over `input` with the reader's options (line cap, `--allow-unsealed`).
    pub fn new(input: R, options: ReaderOptions) -> Framer<R> {
        Framer { reader: RecordReader::with_options(input, options) }
    }

    /// The number of the line last read (1-based).
    pub fn line_number(&self) -> u64 {
        self.reader.line_number()
    }

    /// The line last read, without its line ending.
    pub fn raw_line(&self) -> &[u8] {
        self.reader.raw_line()
    }

    /// The next line, `Ok(None)` at the end of input. Errors are those of
    /// [`RecordReader::next_record`], recoverable or not.
    pub fn next_line(&mut self) -> Result<Option<Next>, ReadError> {
        match self.reader.next_frame()? {
            None => Ok(None),
            Some(Frame::Record(record)) => Ok(Some(Next::Record(Box::new(record)))),
            Some(Frame::Data) if is_plain_hot_line(self.raw_line()) => Ok(Some(Next::Raw)),
            // Counted and hashed by the reader already: only decoding is left.
            Some(Frame::Data) => match Record::decode(self.raw_line()) {
                Ok(record) => Ok(Some(Next::Record(Box::new(record)))),
                Err(e) => Err(ReadError::Malformed { line: self.line_number(), message: e.0 }),
            },
        }
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
        let mut f = Framer::new(input, ReaderOptions { max_line_bytes: 1 << 20, ..ReaderOptions::default() });
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
