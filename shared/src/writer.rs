//! The streaming writer: buffered, counts and hashes what it writes, and seals
//! each segment with an `end` trailer.

use std::io::{self, Write};

use crate::record::{Header, Record, Trailer};

/// Bytes buffered before one write (and one blake3 update).
const BUFFER: usize = 256 << 10;

/// Writes decant records, one per line, sealing each segment with a trailer.
///
/// ```
/// use decant_record::{Header, Record, RecordReader, RecordWriter, Row, RowData, Value};
/// let mut w = RecordWriter::new(Vec::new());
/// w.write_header(&Header::new("example 0.1.0", None)).unwrap();
/// let row = Row { table: "t".into(), data: RowData(vec![("id".into(), Value::Int(1))]) };
/// w.write(&Record::Row(row)).unwrap();
/// let bytes = w.finish().unwrap();
/// let mut r = RecordReader::new(&bytes[..]);
/// while r.next_record().unwrap().is_some() {}
/// assert!(r.all_sealed());
/// ```
#[derive(Debug)]
pub struct RecordWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// `buf[..unhashed_from]` is already in `hasher` (or is a trailer, which
    /// belongs to no segment's digest).
    unhashed_from: usize,
    hasher: blake3::Hasher,
    /// Lines after the header in the open segment.
    records: u64,
    /// Records written over all segments.
    total: u64,
    segment_open: bool,
}

impl<W: Write> RecordWriter<W> {
    /// A writer over `out` (which needs no buffering of its own).
    pub fn new(out: W) -> Self {
        RecordWriter {
            out,
            buf: Vec::with_capacity(BUFFER + 4096),
            unhashed_from: 0,
            hasher: blake3::Hasher::new(),
            records: 0,
            total: 0,
            segment_open: false,
        }
    }

    /// Writes a header, starting a new segment (sealing the open one first).
    pub fn write_header(&mut self, header: &Header) -> io::Result<()> {
        if self.segment_open {
            self.write_trailer()?;
        }
        self.segment_open = true;
        Record::Header(header.clone()).encode(&mut self.buf);
        self.buf.push(b'\n');
        self.maybe_flush()
    }

    /// Writes one record. A `Header` starts a new segment; an `End` seals the
    /// open segment with a trailer computed here (its own fields are ignored),
    /// so a pass-through keeps its input's segments.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        match record {
            Record::Header(h) => self.write_header(h),
            Record::End(_) => {
                if self.segment_open {
                    self.write_trailer()?;
                }
                Ok(())
            }
            other => {
                other.encode(&mut self.buf);
                self.end_line()
            }
        }
    }

    /// Writes a line that is already a valid encoded record (no newline), as a
    /// pass-through does with the lines it does not change. The caller must
    /// not pass `header` or `end` lines here.
    pub fn write_raw(&mut self, line: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(line);
        self.end_line()
    }

    /// Writes `n` lines that are already valid encoded records, each ending
    /// with its newline (`lines` holds exactly `n` newlines, none of them
    /// starting an empty line): [`Self::write_raw`] for each, in one copy,
    /// or none when `lines` fills the buffer anyway (what is buffered goes
    /// first; the digest takes the same bytes in the same order).
    pub fn write_raw_lines(&mut self, lines: &[u8], n: u64) -> io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        if lines.len() >= BUFFER {
            self.flush_buffer()?;
            self.hasher.update(lines);
            self.out.write_all(lines)?;
            crate::metrics::BYTES_WRITTEN.fetch_add(lines.len() as u64, std::sync::atomic::Ordering::Relaxed);
            self.segment_open = true;
            self.records += n;
            self.total += n;
            return Ok(());
        }
        self.buf.extend_from_slice(lines);
        self.segment_open = true;
        self.records += n;
        self.total += n;
        self.maybe_flush()
    }

    fn end_line(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        self.segment_open = true;
        self.records += 1;
        self.total += 1;
        self.maybe_flush()
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= BUFFER {
            self.flush_buffer()?;
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> io::Result<()> {
        self.hasher.update(&self.buf[self.unhashed_from..]);
        self.out.write_all(&self.buf)?;
        crate::metrics::BYTES_WRITTEN.fetch_add(self.buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.buf.clear();
        self.unhashed_from = 0;
        Ok(())
    }

    fn write_trailer(&mut self) -> io::Result<()> {
        self.hasher.update(&self.buf[self.unhashed_from..]);
        let trailer = Trailer { records: self.records, stream_blake3: self.hasher.finalize().to_hex().to_string() };
        self.hasher.reset();
        Record::End(trailer).encode(&mut self.buf);
        self.buf.push(b'\n');
        self.unhashed_from = self.buf.len();
        self.records = 0;
        self.segment_open = false;
        self.maybe_flush()
    }

    /// Records written so far (all segments, not counting headers and trailers).
    pub fn records_written(&self) -> u64 {
        self.total
    }

    /// Pushes buffered lines to the output (for low-latency pipelines). The
    /// stream is not sealed by this.
    pub fn flush(&mut self) -> io::Result<()> {
        self.flush_buffer()?;
        self.out.flush()
    }

    /// Seals the open segment with its trailer, flushes, and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        if self.segment_open {
            self.write_trailer()?;
        }
        self.flush()?;
        Ok(self.out)
    }

    /// Flushes without writing a trailer (the stream stays unsealed), for a
    /// run that stops on an error: what was written is kept, and readers can
    /// tell it is incomplete.
    pub fn abandon(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines handed over in one piece make the very stream (records,
    /// trailer, seal) that the same lines handed over one by one make.
    #[test]
    fn raw_lines_at_once_are_raw_lines_one_by_one() {
        let lines =
            [r#"{"kind":"row","table":"t","data":{"id":1}}"#, r#"{"kind":"row","table":"t","data":{"s":"a\nb"}}"#];
        let mut one = RecordWriter::new(Vec::new());
        for line in lines {
            one.write_raw(line.as_bytes()).unwrap();
        }
        let mut all = RecordWriter::new(Vec::new());
        all.write_raw_lines(b"", 0).unwrap();
        all.write_raw_lines(format!("{}\n{}\n", lines[0], lines[1]).as_bytes(), 2).unwrap();
        assert_eq!(one.finish().unwrap(), all.finish().unwrap());
    }

    /// Buffers bigger than the writer's own go out without a copy: the same
    /// stream, with lines buffered before them, across segments.
    #[test]
    fn big_raw_line_buffers_make_the_same_stream() {
        let line =
            |i: usize| format!(r#"{{"kind":"row","table":"t","data":{{"id":{i},"pad":"{}"}}}}"#, "x".repeat(i % 97));
        let big: Vec<String> = (0..BUFFER / 40).map(line).collect();
        let header = Header::new("test 0.1.0", None);
        let mut one = RecordWriter::new(Vec::new());
        let mut all = RecordWriter::new(Vec::new());
        for w in [&mut one, &mut all] {
            w.write_header(&header).unwrap();
            w.write_raw(line(7).as_bytes()).unwrap();
        }
        for segment in 0..2 {
            for l in &big {
                one.write_raw(l.as_bytes()).unwrap();
            }
            let joined: String = big.iter().map(|l| format!("{l}\n")).collect();
            assert!(joined.len() >= BUFFER);
            all.write_raw_lines(joined.as_bytes(), big.len() as u64).unwrap();
            if segment == 0 {
                one.write_header(&header).unwrap();
                all.write_header(&header).unwrap();
            }
        }
        assert_eq!(one.finish().unwrap(), all.finish().unwrap());
    }
}
