//! JSON string text, word at a time: finding where a plain run of string
//! bytes ends (reading) and writing strings that need no escapes (the common
//! case) without serde_json's byte-by-byte escape table.

use std::ops::Range;

/// A mask with the high bit set in the lowest byte of `word` (little-endian)
/// that is `"`, `\` or a control character (< 0x20), and 0 when there is
/// none. Bytes above the first flagged one may be flagged falsely (the
/// borrow of the subtraction runs upward), so only the lowest flag counts.
pub(crate) fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    zero_byte(word ^ (ONES * u64::from(b'"')))
        | zero_byte(word ^ (ONES * u64::from(b'\\')))
        | (word.wrapping_sub(ONES * 0x20) & !word & HIGH)
}

/// Appends `s` as a JSON string, byte for byte as serde_json writes it:
/// the runs between the bytes that need escapes are found a word at a time
/// and copied whole (text that holds JSON, such as the relay service's usage
/// records, has a quote every few bytes; serde_json looks up every byte).
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    // `b[copied..i]` is plain and not yet written.
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some(word) = b.get(i..i + 8) {
            let flags = special_bytes(u64::from_le_bytes(word.try_into().unwrap_or_default()));
            if flags == 0 {
                i += 8;
                continue;
            }
            // The lowest flag is exact (see `special_bytes`).
            i += (flags.trailing_zeros() / 8) as usize;
        } else if !needs_escape(b[i]) {
            i += 1;
            continue;
        }
        out.extend_from_slice(&b[copied..i]);
        write_escape(out, b[i]);
        i += 1;
        copied = i;
    }
    out.extend_from_slice(&b[copied..]);
    out.push(b'"');
}

fn needs_escape(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// The escape serde_json writes for `c` (a byte [`needs_escape`] flags).
fn write_escape(out: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match c {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        c => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]),
    }
}

/// True when `raw` is a JSON object or array in the form a writer of
/// decant's would give it back after parsing it: compact (no whitespace),
/// strings without escapes or control bytes, no key that starts with `$` (a
/// possible value tag), nesting at most 64 deep, and every number accepted
/// by `number_is_verbatim` (each writer prints numbers its own way; it gets
/// the number's text). Callers copy such text instead of parsing it into a
/// tree and writing it again; anything else answers false, and the caller's
/// parsing path reports what is wrong. `raw` is taken to be UTF-8.
pub fn is_verbatim(raw: &[u8], number_is_verbatim: impl FnMut(&[u8]) -> bool) -> bool {
    verbatim_len(raw, number_is_verbatim) == Some(raw.len())
}

/// The length of the object or array that starts `text` when it is in the
/// form [`is_verbatim`] takes (whatever follows it), else `None`: for a
/// reader that finds where a value ends and whether it is verbatim in one
/// pass. `text` is taken to be UTF-8.
pub fn verbatim_len(text: &[u8], number_is_verbatim: impl FnMut(&[u8]) -> bool) -> Option<usize> {
    if !matches!(text.first(), Some(b'{' | b'[')) {
        return None;
    }
    let mut scan = VerbatimScan { raw: text, i: 0, number_is_verbatim, top: None };
    scan.value(0).then_some(scan.i)
}

/// [`is_verbatim`], and when it answers true for an object, its members in
/// order (in `top`, cleared first): where each name is (without its quotes:
/// a verbatim name has no escape) and where the raw text of its value is,
/// so that a caller who also reads members needs no second scan.
pub fn is_verbatim_with_members(
    raw: &[u8],
    number_is_verbatim: impl FnMut(&[u8]) -> bool,
    top: &mut Vec<(Range<usize>, Range<usize>)>,
) -> bool {
    top.clear();
    if !matches!(raw.first(), Some(b'{' | b'[')) {
        return false;
    }
    let mut scan = VerbatimScan { raw, i: 0, number_is_verbatim, top: Some(top) };
    scan.value(0) && scan.i == raw.len()
}

struct VerbatimScan<'a, 't, F> {
    raw: &'a [u8],
    i: usize,
    number_is_verbatim: F,
    /// The top-level object's members, when asked for.
    top: Option<&'t mut Vec<(Range<usize>, Range<usize>)>>,
}

impl<F: FnMut(&[u8]) -> bool> VerbatimScan<'_, '_, F> {
    fn peek(&self) -> Option<u8> {
        self.raw.get(self.i).copied()
    }

    fn value(&mut self, depth: u32) -> bool {
        if depth > 64 {
            return false;
        }
        match self.peek() {
            Some(b'{') => self.members(depth),
            Some(b'[') => self.items(depth),
            Some(b'"') => self.string(),
            Some(b't') => self.word(b"true"),
            Some(b'f') => self.word(b"false"),
            Some(b'n') => self.word(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn members(&mut self, depth: u32) -> bool {
        self.i += 1;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return true;
        }
        loop {
            let name_at = self.i + 1;
            if self.raw.get(name_at) == Some(&b'$') || !self.string() || self.peek() != Some(b':') {
                return false;
            }
            let name_end = self.i - 1;
            self.i += 1;
            let value_at = self.i;
            if !self.value(depth + 1) {
                return false;
            }
            if depth == 0 {
                if let Some(top) = self.top.as_deref_mut() {
                    top.push((name_at..name_end, value_at..self.i));
                }
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    fn items(&mut self, depth: u32) -> bool {
        self.i += 1;
        if self.peek() == Some(b']') {
            self.i += 1;
            return true;
        }
        loop {
            if !self.value(depth + 1) {
                return false;
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    fn word(&mut self, word: &[u8]) -> bool {
        let ok = self.raw[self.i..].starts_with(word);
        self.i += word.len();
        ok
    }

    /// A string with no escape and no control byte: read and written as is.
    fn string(&mut self) -> bool {
        if self.peek() != Some(b'"') {
            return false;
        }
        // The first quote, backslash or control byte must be the closing
        // quote (plain_run: a word at a time over the short strings JSON
        // keys and values mostly are, memchr over long ones).
        let end = crate::view::plain_run(self.raw, self.i + 1);
        if self.raw.get(end) == Some(&b'"') {
            self.i = end + 1;
            true
        } else {
            false
        }
    }

    fn number(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
            self.i += 1;
        }
        (self.number_is_verbatim)(&self.raw[start..self.i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A verbatim string ends at its first quote, with no backslash or
        /// control byte before it, as a byte-by-byte reading finds.
        #[test]
        fn verbatim_strings_end_where_a_plain_scan_ends(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![8 => 0x20u8..=0x7e, 1 => proptest::sample::select(vec![b'"', b'\\', 0, 0x1f, b'\n'])],
                0..80,
            ),
        ) {
            let mut raw = vec![b'"'];
            raw.extend_from_slice(&bytes);
            let mut scan = VerbatimScan { raw: &raw, i: 0, number_is_verbatim: |_: &[u8]| true, top: None };
            let got = scan.string().then_some(scan.i);
            let naive = match bytes.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20) {
                Some(k) if bytes[k] == b'"' => Some(k + 2),
                _ => None,
            };
            proptest::prop_assert_eq!(got, naive);
        }
    }

    proptest::proptest! {
        /// Same bytes as serde_json, for text with and without the bytes
        /// that need escapes, at every length around the 8-byte words.
        #[test]
        fn writes_strings_as_serde_json_does(
            chars in proptest::collection::vec(
                proptest::prop_oneof![8 => proptest::char::any(), 1 => proptest::sample::select(vec!['"', '\\', '\0', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{1f}', '\u{7f}', '\u{80}'])],
                0..70,
            ),
        ) {
            let s: String = chars.into_iter().collect();
            let mut out = Vec::new();
            write_str(&mut out, &s);
            proptest::prop_assert_eq!(out, serde_json::to_vec(&s).unwrap());
        }
    }
}
