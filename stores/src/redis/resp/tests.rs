use std::io::{self, Read};

use proptest::prelude::*;

use super::*;

/// Hands out its bytes a few at a time, in the sizes given (cycled), like a
/// socket delivering a reply in pieces.
struct Pieces {
    data: Vec<u8>,
    pos: usize,
    sizes: Vec<usize>,
    call: usize,
}

impl Pieces {
    fn new(data: Vec<u8>, sizes: Vec<usize>) -> Pieces {
        Pieces { data, pos: 0, sizes, call: 0 }
    }
}

impl Read for Pieces {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let want = self.sizes[self.call % self.sizes.len()].max(1);
        self.call += 1;
        // An interruption now and then must be retried, not reported.
        if self.call % 7 == 0 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        let n = want.min(out.len()).min(self.data.len() - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn encode(r: &Reply, out: &mut Vec<u8>) {
    match r {
        Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
        Reply::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
        Reply::Bulk(b) => {
            out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Simple(s) => {
            out.push(b'+');
            out.extend_from_slice(s);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Error(e) => out.extend_from_slice(format!("-{e}\r\n").as_bytes()),
        Reply::Array(items) => {
            out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
            for i in items {
                encode(i, out);
            }
        }
    }
}

fn encoded(replies: &[Reply]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in replies {
        encode(r, &mut out);
    }
    out
}

fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'), 0..40)
}

fn reply_tree() -> impl Strategy<Value = Reply> {
    let leaf = prop_oneof![
        Just(Reply::Nil),
        any::<i64>().prop_map(Reply::Int),
        // Bulk strings may hold anything, CRLF included.
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(Reply::Bulk),
        proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()], 0..20).prop_map(Reply::Bulk),
        (1usize..3000).prop_map(|n| Reply::Bulk((0..n).map(|i| (i % 251) as u8).collect())),
        line_bytes().prop_map(Reply::Simple),
        "[^\r\n]{0,30}".prop_map(Reply::Error),
    ];
    leaf.prop_recursive(5, 200, 12, |inner| proptest::collection::vec(inner, 0..12).prop_map(Reply::Array))
}

/// Reads every reply of `bytes`, then expects a clean end of input.
fn read_all(bytes: Vec<u8>, sizes: Vec<usize>, cap: usize, n: usize) -> Vec<Reply> {
    let mut r = RespReader::with_capacity(cap, Pieces::new(bytes, sizes));
    let got: Vec<Reply> = (0..n).map(|_| r.read_reply().unwrap()).collect();
    let end = r.read_reply().unwrap_err();
    assert_eq!(end.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(end.to_string(), "the server closed the connection");
    got
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn replies_round_trip_through_any_read_sizes(
        replies in proptest::collection::vec(reply_tree(), 1..6),
        sizes in proptest::collection::vec(1usize..64, 1..8),
        small_buffer in any::<bool>(),
    ) {
        // A 16-byte buffer forces every refill, compaction, growth and
        // direct-read path; the real size checks the common one.
        let cap = if small_buffer { 16 } else { READ_BUFFER };
        let got = read_all(encoded(&replies), sizes, cap, replies.len());
        prop_assert_eq!(got, replies);
    }

    #[test]
    fn every_truncation_is_an_error(reply in reply_tree(), size in 1usize..50) {
        let full = encoded(std::slice::from_ref(&reply));
        // Every strict prefix (but the empty one, a clean end) must fail, not panic.
        for cut in (1..full.len()).step_by(1 + full.len() / 64) {
            let mut r = RespReader::with_capacity(16, Pieces::new(full[..cut].to_vec(), vec![size]));
            let e = r.read_reply().unwrap_err();
            prop_assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "cut at {}: {}", cut, e);
            prop_assert!(e.to_string().contains("middle of a reply"), "{}", e);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), size in 1usize..20) {
        let mut r = RespReader::with_capacity(16, Pieces::new(bytes, vec![size]));
        for _ in 0..50 {
            if r.read_reply().is_err() {
                break;
            }
        }
    }
}

fn parse(bytes: &[u8]) -> io::Result<Reply> {
    RespReader::new(Pieces::new(bytes.to_vec(), vec![3])).read_reply()
}

fn parse_err(bytes: &[u8]) -> String {
    let e = parse(bytes).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    e.to_string()
}

#[test]
fn every_kind_of_reply() {
    assert_eq!(parse(b"+OK\r\n").unwrap(), Reply::Simple(b"OK".to_vec()));
    assert_eq!(parse(b"-WRONGTYPE Operation\r\n").unwrap(), Reply::Error("WRONGTYPE Operation".into()));
    assert_eq!(parse(b":-9223372036854775808\r\n").unwrap(), Reply::Int(i64::MIN));
    assert_eq!(parse(b":9223372036854775807\r\n").unwrap(), Reply::Int(i64::MAX));
    assert_eq!(parse(b"$-1\r\n").unwrap(), Reply::Nil);
    assert_eq!(parse(b"*-1\r\n").unwrap(), Reply::Nil);
    assert_eq!(parse(b"$0\r\n\r\n").unwrap(), Reply::Bulk(Vec::new()));
    assert_eq!(parse(b"*0\r\n").unwrap(), Reply::Array(Vec::new()));
    assert_eq!(
        parse(b"*2\r\n$1\r\n0\r\n*3\r\n$1\r\na\r\n$-1\r\n:5\r\n").unwrap(),
        Reply::Array(vec![
            Reply::Bulk(b"0".to_vec()),
            Reply::Array(vec![Reply::Bulk(b"a".to_vec()), Reply::Nil, Reply::Int(5)])
        ])
    );
}

#[test]
fn bulk_strings_get_exactly_their_capacity() {
    for n in [0, 1, 100, 70_000] {
        let mut r = RespReader::new(Pieces::new(encoded(&[Reply::Bulk(vec![b'x'; n])]), vec![1 << 20]));
        let Reply::Bulk(b) = r.read_reply().unwrap() else { panic!("not a bulk string") };
        assert_eq!((b.len(), b.capacity()), (n, n));
    }
}

#[test]
fn big_bulk_strings_in_small_pieces() {
    // Bigger than the buffer: read straight into the string.
    let big: Vec<u8> = (0..3 * READ_BUFFER + 17).map(|i| (i * 7 % 256) as u8).collect();
    let bytes = encoded(&[Reply::Bulk(big.clone()), Reply::Int(1), Reply::Bulk(big.clone())]);
    let got = read_all(bytes, vec![1000, 1, 65536, 3], READ_BUFFER, 3);
    assert_eq!(got, [Reply::Bulk(big.clone()), Reply::Int(1), Reply::Bulk(big)]);
}

#[test]
fn long_status_lines_grow_the_buffer() {
    let line = vec![b'y'; 5000];
    let got = read_all(encoded(&[Reply::Simple(line.clone()), Reply::Int(2)]), vec![13], 16, 2);
    assert_eq!(got, [Reply::Simple(line), Reply::Int(2)]);
}

#[test]
fn malformed_replies_say_what_was_expected() {
    assert!(parse_err(b"!oops\r\n").contains("expected a reply type byte"), "{}", parse_err(b"!oops\r\n"));
    assert!(parse_err(b"%1\r\n").contains("\"%\""));
    for bad in [&b"$abc\r\n"[..], b"$-2\r\n", b"$\r\n", b"$ 1\r\n", b"$99999999999999999999\r\n"] {
        let e = parse_err(bad);
        assert!(e.contains("expected the length of a bulk string"), "{e}");
    }
    assert!(parse_err(b"*x\r\n").contains("expected the length of an array"));
    assert!(parse_err(b":12a\r\n").contains("expected an integer"));
    assert!(parse_err(b":\r\n").contains("expected an integer"));
    assert!(parse_err(b"$3\r\nabcXY").contains("expected CRLF after a bulk string of 3 bytes"));
    assert!(parse_err(b"+OK\n").contains("expected CRLF at the end of the line"));
    let deep = "*1\r\n".repeat(200);
    assert!(parse_err(deep.as_bytes()).contains("nested deeper"));
}

#[test]
fn truncated_replies_are_errors() {
    for bytes in [&b"$5\r\nab"[..], b"$5\r\nabcde", b"$5\r\nabcde\r", b"*2\r\n:1\r\n", b"+OK", b":1\r", b"*"] {
        let e = parse(bytes).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{bytes:?}: {e}");
    }
    // A clean end between replies is its own message.
    assert_eq!(parse(b"").unwrap_err().to_string(), "the server closed the connection");
}

#[test]
fn read_errors_pass_through() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::WouldBlock, "timed out"))
        }
    }
    let e = RespReader::new(Failing).read_reply().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
}
