//! The malformed corpus (`tests/malformed/*.ndjson`): every bad line gives an
//! error that names its line and what is wrong, never a panic; a bad line is
//! recoverable (the reader goes on with the next line), a trailer that does not
//! match its segment or broken compression is fatal. Also: unsealed and
//! truncated streams, zstd input, and random corruption.

mod common;

use std::fs;
use std::io::Read;
use std::path::PathBuf;

use decant_record::io::{open_input, sniff, Output};
use decant_record::reader::ReaderOptions;
use decant_record::{ReadError, Record, RecordReader, RecordWriter, Row, RowData, Value};
use proptest::prelude::*;

fn corpus(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/malformed").join(format!("{name}.ndjson"));
    fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (file, line of the error, substrings its message must contain).
/// Each file is a good row, the bad line (line 2), and a good row "after".
const RECOVERABLE: &[(&str, u64, &[&str])] = &[
    ("bad_json", 2, &["EOF while parsing"]),
    ("not_an_object", 2, &["not a JSON object", "[1,2,3]"]),
    ("array_shaped_like_a_row", 2, &["not a JSON object"]),
    ("bare_string", 2, &["not a JSON object"]),
    ("missing_kind", 2, &["missing field `kind`"]),
    ("kind_not_a_string", 2, &["\"kind\" must be a string"]),
    ("unknown_kind", 2, &["unknown kind \"rows\""]),
    ("row_without_table", 2, &["row line has no \"table\""]),
    ("row_without_data", 2, &["row line has no \"data\""]),
    ("row_data_not_an_object", 2, &["invalid type: sequence", "object of column values"]),
    ("bad_base64", 2, &["column \"blob\"", "bad $b64 value \"!!!\""]),
    ("int_not_digits", 2, &["column \"n\"", "bad $int value \"12a\""]),
    ("int_out_of_range", 2, &["column \"n\"", "18446744073709551616 is outside the i64/u64 range"]),
    ("float_tag_bad", 2, &["column \"x\"", "bad $float value \"nope\""]),
    ("tagged_with_extra_keys", 2, &["column \"b\"", "($b64) must be the only key"]),
    ("redis_unknown_type", 2, &["redis key k", "unknown type \"hyperloglog\""]),
    ("redis_without_key", 2, &["redis line has no \"key\""]),
    ("redis_db_negative", 2, &["invalid value: integer `-1`", "u32"]),
    ("zset_pair_malformed", 2, &["redis key z", "zset[1]", "[member, score] pair"]),
    ("zset_score_bad", 2, &["redis key z", "zset[0]", "bad score \"high\""]),
    ("hash_pair_malformed", 2, &["redis key h", "pair [0]", "[field, value] pair"]),
    ("hash_value_not_a_string", 2, &["redis key h", "field \"f\"", "expected a string or {\"$b64\":…}"]),
    ("list_element_not_a_string", 2, &["redis key l", "list[1]", "invalid type: integer `5`"]),
    ("string_value_is_a_number", 2, &["redis key s", "invalid type: integer `5`"]),
    ("unsupported_header_format", 2, &["unsupported stream format \"decant/2\"", "decant/1"]),
    ("trailer_bad_hex", 2, &["stream_blake3 must be 64 hex digits", "\"xyz\""]),
    ("empty_line", 2, &["empty line"]),
    ("whitespace_line", 2, &["blank line"]),
    ("invalid_utf8_in_string", 2, &["invalid UTF-8 at byte 46", "$b64"]),
    ("lone_surrogate_escape", 2, &["column \"name\"", "hex escape"]),
    ("duplicate_field", 2, &["duplicate field `kind`"]),
    ("trailing_garbage", 2, &["trailing characters"]),
    ("delete_without_target", 2, &["delete line needs \"table\" and \"id\", or \"key\""]),
    ("diff_side_not_a_record", 2, &["diff right", "expected a row, redis or redis_function record", "\"header\""]),
    ("diff_bad_op", 2, &["unknown variant `moved`", "added"]),
    ("row_duplicate_column", 2, &["column \"a\" appears twice"]),
    ("hash_duplicate_field", 2, &["redis key h", "field \"f\" appears twice"]),
    ("field_expiry_not_in_value", 2, &["redis key h", "names field z that is not in this line's value"]),
    ("field_expiry_not_ms", 2, &["field_expire_at_ms: field \"a\"", "expected Unix milliseconds"]),
    ("field_expiry_on_a_set", 2, &["redis key s", "only for hashes, not a set"]),
    ("module_without_dump", 2, &["redis key doc", "type ReJSON-RL has no \"dump\"", "--dump"]),
    ("module_bad_name", 2, &["redis key doc", "bad module type name \"json\""]),
    ("module_with_value", 2, &["redis key doc", "value\" must be null"]),
    ("function_without_code", 2, &["missing field `code`"]),
];

fn row_id(r: &Record) -> Option<&str> {
    match r {
        Record::Row(Row { data, .. }) => data.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn check_recoverable(name: &str, line: u64, needles: &[&str], options: ReaderOptions) {
    let bytes = corpus(name);
    let mut reader = RecordReader::with_options(&bytes[..], options);
    let first = reader.next_record().unwrap_or_else(|e| panic!("{name}: line 1 is good, got {e}"));
    assert_eq!(first.as_ref().and_then(row_id), Some("before"), "{name}");
    let err = match reader.next_record() {
        Err(e) => e,
        Ok(r) => panic!("{name}: line {line} should be rejected, got {r:?}"),
    };
    let msg = err.to_string();
    assert_eq!(err.line(), line, "{name}: {msg}");
    assert!(msg.starts_with(&format!("line {line}: ")), "{name}: the message names the line: {msg}");
    for needle in needles {
        assert!(msg.contains(needle), "{name}: {msg:?} should contain {needle:?}");
    }
    assert!(err.is_recoverable(), "{name}: {msg}");
    // The reader carries on with the next line.
    let next = reader.next_record().unwrap_or_else(|e| panic!("{name}: the line after the bad one: {e}"));
    assert_eq!(next.as_ref().and_then(row_id), Some("after"), "{name}");
    assert_eq!(reader.line_number(), 3);
    assert!(reader.next_record().unwrap().is_none());
    // The bad line still counts: the segment has three lines.
    assert_eq!(reader.segments().len(), 1);
    assert_eq!(reader.segments()[0].records, 3, "{name}");
    assert!(!reader.segments()[0].sealed);
}

#[test]
fn every_malformed_line_is_named_and_skippable() {
    assert!(RECOVERABLE.len() >= 20);
    for (name, line, needles) in RECOVERABLE {
        check_recoverable(name, *line, needles, ReaderOptions::default());
    }
}

#[test]
fn every_corpus_file_is_in_a_table() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut known: Vec<&str> = RECOVERABLE.iter().map(|c| c.0).collect();
    known.extend(["over_long_line", "trailer_count_mismatch", "trailer_digest_mismatch"]);
    for entry in fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().trim_end_matches(".ndjson").to_owned();
        assert!(known.contains(&name.as_str()), "tests/malformed/{name}.ndjson is not checked by any test");
    }
}

#[test]
fn over_long_line_is_skipped_and_reported() {
    let options = ReaderOptions { max_line_bytes: 64, ..ReaderOptions::default() };
    check_recoverable("over_long_line", 2, &["longer than 64 bytes", "--max-line-bytes"], options);
}

#[test]
fn line_length_cap_is_exact() {
    let line = br#"{"kind":"row","table":"t","data":{"a":"xxxxxxxxxx"}}"#;
    let n = line.len();
    for (cap, ok) in [(n, true), (n - 1, false)] {
        for ending in [&b"\n"[..], b"\r\n", b""] {
            let mut input = line.to_vec();
            input.extend_from_slice(ending);
            let options = ReaderOptions { max_line_bytes: cap, ..ReaderOptions::default() };
            let mut reader = RecordReader::with_options(&input[..], options);
            let got = reader.next_record();
            assert_eq!(got.is_ok(), ok, "line of {n} bytes, cap {cap}, ending {ending:?}: {got:?}");
        }
    }
}

#[test]
fn trailer_count_mismatch_is_fatal() {
    let bytes = corpus("trailer_count_mismatch");
    let mut reader = RecordReader::new(&bytes[..]);
    for _ in 0..4 {
        reader.next_record().unwrap();
    }
    let err = reader.next_record().unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ReadError::Trailer { line: 5, .. }), "{msg}");
    assert!(msg.starts_with("line 5: "), "{msg}");
    assert!(msg.contains("says 5 records") && msg.contains("has 3"), "{msg}");
    assert!(!err.is_recoverable());
    assert!(reader.next_record().unwrap().is_none(), "a fatal error ends the stream");
}

#[test]
fn trailer_digest_mismatch_is_fatal() {
    let bytes = corpus("trailer_digest_mismatch");
    let mut reader = RecordReader::new(&bytes[..]);
    for _ in 0..4 {
        reader.next_record().unwrap();
    }
    let err = reader.next_record().unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ReadError::Trailer { line: 5, .. }), "{msg}");
    assert!(msg.contains("stream digest mismatch") && msg.contains("73ba09e2"), "{msg}");
    assert!(!err.is_recoverable());
    assert!(reader.next_record().unwrap().is_none());
}

fn sealed_stream(rows: usize) -> Vec<u8> {
    let mut w = RecordWriter::new(Vec::new());
    w.write_header(&decant_record::Header::new("malformed-test", None)).unwrap();
    for i in 0..rows {
        let data = RowData(vec![("id".into(), Value::Int(i as i128)), ("pad".into(), Value::String("x".repeat(40)))]);
        w.write(&Record::Row(Row { table: "t".into(), data })).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn unsealed_streams_are_accepted_and_reported() {
    let bytes = corpus("bad_json");
    let good: Vec<u8> = bytes.split(|&b| b == b'\n').next().unwrap().iter().copied().chain(*b"\n").collect();
    let mut reader = RecordReader::new(&good[..]);
    assert!(reader.next_record().unwrap().is_some());
    assert!(reader.next_record().unwrap().is_none());
    assert_eq!(reader.segments().len(), 1);
    assert!(!reader.segments()[0].sealed);
    assert!(reader.segments()[0].stream_blake3.is_none());
    assert!(!reader.all_sealed());
}

#[test]
fn truncated_sealed_file_is_detected_when_sealing_is_required() {
    let bytes = sealed_stream(5);
    let required = || ReaderOptions { require_sealed: true, ..ReaderOptions::default() };
    // Whole: fine.
    let mut reader = RecordReader::with_options(&bytes[..], required());
    while reader.next_record().unwrap().is_some() {}
    assert!(reader.all_sealed());
    // Cut before the end line: every line reads, then the missing trailer is fatal.
    let cut = bytes.len() - bytes.rsplit(|&b| b == b'\n').nth(1).unwrap().len() - 1;
    let mut reader = RecordReader::with_options(&bytes[..cut], required());
    let mut n = 0;
    let err = loop {
        match reader.next_record() {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("a truncated file must not read as complete"),
            Err(e) => break e,
        }
    };
    assert_eq!(n, 6, "header and five rows");
    // The header promised a trailer: cut short, whether or not sealing is required.
    assert!(matches!(err, ReadError::CutShort { line: 6, header_line: 1 }), "{err}");
    assert!(err.to_string().contains("line 6: the stream ends without its trailer: cut short?"), "{err}");
    // Cut in the middle of a line: that line is malformed, then unsealed.
    let mut reader = RecordReader::with_options(&bytes[..cut - 10], required());
    let errors: Vec<String> = std::iter::from_fn(|| match reader.next_record() {
        Ok(Some(_)) => Some(None),
        Ok(None) => None,
        Err(e) => Some(Some(e.to_string())),
    })
    .flatten()
    .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("line 6: ") && errors[0].contains("EOF while parsing"), "{errors:?}");
    assert!(errors[1].starts_with("line 6: the stream ends without its trailer"), "{errors:?}");
    // Without require_sealed, a cut stream that began with a header is still
    // an error: the header promises a trailer.
    let mut reader = RecordReader::new(&bytes[..cut]);
    let err = loop {
        match reader.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("a cut-short stream must not read as complete"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, ReadError::CutShort { line: 6, header_line: 1 }), "{err}");
    assert!(!err.is_recoverable());
    // With allow_unsealed it reads, reported unsealed.
    let allowed = ReaderOptions { allow_unsealed: true, ..ReaderOptions::default() };
    let mut reader = RecordReader::with_options(&bytes[..cut], allowed.clone());
    while reader.next_record().unwrap().is_some() {}
    assert!(!reader.all_sealed());
    // ... unless sealing is required too.
    let mut reader = RecordReader::with_options(&bytes[..cut], ReaderOptions { require_sealed: true, ..allowed });
    let err = std::iter::from_fn(|| reader.next_record().transpose()).find_map(Result::err).unwrap();
    assert!(matches!(err, ReadError::Unsealed { line: 6 }), "{err}");
}

#[test]
fn a_cut_segment_followed_by_another_is_cut_short() {
    // `cat cut.ndjson whole.ndjson`: the first segment's header has no trailer
    // before the second header.
    let whole = sealed_stream(2);
    let cut = &whole[..whole.len() - whole.rsplit(|&b| b == b'\n').nth(1).unwrap().len() - 1];
    let both = [cut, &whole[..]].concat();
    let mut reader = RecordReader::new(&both[..]);
    let err = std::iter::from_fn(|| reader.next_record().transpose()).find_map(Result::err).unwrap();
    assert!(matches!(err, ReadError::CutShort { line: 3, header_line: 1 }), "{err}");
    assert!(reader.next_record().unwrap().is_none(), "fatal: the reader stops");
    let allowed = ReaderOptions { allow_unsealed: true, ..ReaderOptions::default() };
    let mut reader = RecordReader::with_options(&both[..], allowed);
    while reader.next_record().unwrap().is_some() {}
    assert_eq!(reader.segments().iter().map(|s| s.sealed).collect::<Vec<_>>(), [false, true]);
}

#[test]
fn a_foreign_first_line_means_not_a_decant_stream() {
    for (input, found) in [
        (&b"1\n2\n3\n"[..], "found \"1\""),
        (b"id,name\n1,a\n", "id,name"),
        (b"--\n-- PostgreSQL database dump\n--\n", "--"),
        (b"\n{\"kind\":\"row\",\"table\":\"t\",\"data\":{}}\n", "empty line"),
        (b"{\"id\":1}\n", "kind"),
    ] {
        let mut reader = RecordReader::new(input);
        let err = reader.next_record().unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ReadError::NotDecant { line: 1, .. }), "{msg}");
        assert!(msg.starts_with("line 1: not a decant stream"), "{msg}");
        assert!(msg.contains(found), "{msg} should contain {found}");
        assert!(!err.is_recoverable());
        assert!(reader.next_record().unwrap().is_none(), "fatal: the reader stops");
    }
    // A first line that is a record, if a bad one, stays a recoverable error.
    let mut reader = RecordReader::new(&b"{\"kind\":\"row\",\"table\":\"t\"}\n"[..]);
    assert!(reader.next_record().unwrap_err().is_recoverable());
    // Streams without a header stay accepted as unsealed.
    let mut reader = RecordReader::new(&b"{\"kind\":\"row\",\"table\":\"t\",\"data\":{}}\n"[..]);
    while reader.next_record().unwrap().is_some() {}
    assert!(!reader.all_sealed());
}

#[test]
fn the_largest_line_cap_does_not_wrap() {
    let options = ReaderOptions { max_line_bytes: usize::MAX, ..ReaderOptions::default() };
    let bytes = sealed_stream(3);
    // Read in small chunks, so lines arrive without their "\n" first.
    let input = std::io::BufReader::with_capacity(16, &bytes[..]);
    let mut reader = RecordReader::with_options(input, options);
    while reader.next_record().unwrap().is_some() {}
    assert!(reader.all_sealed());
}

fn zstd_of(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

fn read_from(input: decant_record::io::Input) -> (Vec<Record>, Result<(), ReadError>, Vec<bool>) {
    let mut reader = RecordReader::new(input);
    let mut out = Vec::new();
    let result = loop {
        match reader.next_record() {
            Ok(Some(r)) => out.push(r),
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    (out, result, reader.segments().iter().map(|s| s.sealed).collect())
}

#[test]
fn zstd_output_by_extension_and_input_by_magic() {
    let dir = tempfile::tempdir().unwrap();
    let plain = sealed_stream(50);
    // Output: `.zst` compresses, any other name does not.
    for (name, compressed) in [("out.ndjson.zst", true), ("out.ndjson", false)] {
        let path = dir.path().join(name);
        let mut out = Output::create(Some(&path)).unwrap();
        std::io::Write::write_all(&mut out, &plain).unwrap();
        out.finish().unwrap();
        let written = fs::read(&path).unwrap();
        assert_eq!(written.starts_with(&decant_record::io::ZSTD_MAGIC), compressed, "{name}");
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).collect();
        assert!(leftovers.iter().all(|e| !e.file_name().to_string_lossy().contains(".tmp-")));
    }
    // Input: detected by the magic bytes whatever the name.
    let misnamed = dir.path().join("looks-plain.ndjson");
    fs::copy(dir.path().join("out.ndjson.zst"), &misnamed).unwrap();
    let (records, result, sealed) = read_from(open_input(Some(&misnamed)).unwrap());
    result.unwrap();
    assert_eq!(records.len(), 52);
    assert_eq!(sealed, [true]);
    // A reader (stdin) goes through the same sniffing.
    let (records, result, _) = read_from(sniff(Box::new(std::io::Cursor::new(zstd_of(&plain)))).unwrap());
    result.unwrap();
    assert_eq!(records.len(), 52);
    // Plain input, even shorter than the magic, passes through.
    let (records, result, _) = read_from(sniff(Box::new(&b"{}"[..])).unwrap());
    assert!(records.is_empty());
    assert!(result.unwrap_err().to_string().contains("missing field `kind`"));
}

#[test]
fn multi_frame_zstd_is_one_stream_of_segments() {
    // `cat a.zst b.zst`: two frames, two sealed segments.
    let mut input = zstd_of(&sealed_stream(3));
    input.extend(zstd_of(&sealed_stream(4)));
    let (records, result, sealed) = read_from(sniff(Box::new(std::io::Cursor::new(input))).unwrap());
    result.unwrap();
    assert_eq!(records.len(), (1 + 3 + 1) + (1 + 4 + 1));
    assert_eq!(sealed, [true, true]);
}

#[test]
fn truncated_zstd_names_the_line_reached() {
    // Big enough for several zstd blocks, so some lines decode before the cut.
    let plain = sealed_stream(40_000);
    let compressed = zstd_of(&plain);
    let cut = &compressed[..compressed.len() * 2 / 3];
    let (records, result, _) = read_from(sniff(Box::new(std::io::Cursor::new(cut.to_vec()))).unwrap());
    let err = result.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ReadError::Io { .. }), "{msg}");
    assert!(!err.is_recoverable());
    // Everything before the cut was read; the error says how far.
    assert!(!records.is_empty());
    let reached = records.len() as u64;
    assert!(msg.starts_with(&format!("after line {reached}: ")), "{msg} (read {reached} records)");
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn corrupted_zstd_is_an_error_not_garbage() {
    let plain = sealed_stream(2000);
    let mut compressed = zstd_of(&plain);
    let mid = compressed.len() / 2;
    for b in &mut compressed[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let (_, result, _) = read_from(sniff(Box::new(std::io::Cursor::new(compressed))).unwrap());
    let err = result.expect_err("corruption must be detected");
    let msg = err.to_string();
    assert!(matches!(err, ReadError::Io { .. } | ReadError::Malformed { .. } | ReadError::Trailer { .. }), "{msg}");
    assert!(msg.starts_with("after line ") || msg.starts_with("line "), "{msg}");
}

#[test]
fn reading_stdin_like_input_in_small_pieces() {
    // A reader that hands out one byte at a time (as a slow pipe can).
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.1 >= self.0.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[self.1];
            self.1 += 1;
            Ok(1)
        }
    }
    let plain = sealed_stream(20);
    for input in [plain.clone(), zstd_of(&plain)] {
        let (records, result, sealed) = read_from(sniff(Box::new(Trickle(input, 0))).unwrap());
        result.unwrap();
        assert_eq!(records.len(), 22);
        assert_eq!(sealed, [true]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random damage never panics, and every error names a line.
    #[test]
    fn damaged_streams_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        compress in any::<bool>(),
    ) {
        let mut bytes = sealed_stream(6);
        bytes.extend(fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redis.ndjson")).unwrap());
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep.max(bytes.len() / 2));
        if compress {
            bytes = zstd_of(&bytes);
        }
        let mut reader = RecordReader::new(sniff(Box::new(std::io::Cursor::new(bytes))).unwrap());
        for _ in 0..10_000 {
            match reader.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(msg.starts_with("line ") || msg.starts_with("after line "), "{}", msg);
                    if !e.is_recoverable() {
                        break;
                    }
                }
            }
        }
    }
}

#[test]
fn crlf_line_ends_are_read_and_covered_by_the_trailer() {
    let body =
        b"{\"kind\":\"header\",\"format\":\"decant/1\"}\r\n{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1}}\r\n";
    let mut bytes = body.to_vec();
    bytes.extend_from_slice(
        format!("{{\"kind\":\"end\",\"records\":1,\"stream_blake3\":\"{}\"}}\r\n", blake3::hash(body).to_hex())
            .as_bytes(),
    );
    let mut reader = RecordReader::new(&bytes[..]);
    assert!(matches!(reader.next_record().unwrap(), Some(Record::Header(_))));
    assert!(matches!(reader.next_record().unwrap(), Some(Record::Row(_))));
    assert_eq!(reader.raw_line(), br#"{"kind":"row","table":"t","data":{"id":1}}"#);
    assert!(matches!(reader.next_record().unwrap(), Some(Record::End(_))));
    assert!(reader.next_record().unwrap().is_none());
    assert!(reader.all_sealed());
}

#[test]
fn output_to_a_device_writes_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let path = std::path::Path::new("/dev/null");
    let mut out = Output::create(Some(path)).unwrap();
    std::io::Write::write_all(&mut out, &sealed_stream(3)).unwrap();
    out.finish().unwrap();
    assert!(fs::metadata(path).unwrap().file_type().is_char_device(), "/dev/null is still a device");
    // A failed run leaves no partial file behind under the final name.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial.ndjson");
    let mut out = Output::create(Some(&path)).unwrap();
    std::io::Write::write_all(&mut out, b"{\"kind\":\"row\"").unwrap();
    drop(out);
    assert!(!path.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "the temporary file is removed too");
}
