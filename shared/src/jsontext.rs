//! JSON string text, word at a time: finding where a plain run of string
//! bytes ends (reading) and writing strings that need no escapes (the common
//! case) without serde_json's byte-by-byte escape table.

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

/// True when `bytes` can stand between quotes as they are: no `"`, `\` or
/// control character (JSON escapes nothing else; serde_json neither).
pub(crate) fn is_plain(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    // OR-ing the masks keeps the loop branch-free; any flag means "escape".
    let mut any = 0;
    for w in &mut words {
        any |= special_bytes(u64::from_le_bytes(w.try_into().unwrap_or_default()));
    }
    any == 0 && !words.remainder().iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20)
}

/// Appends `s` as a JSON string, byte for byte as serde_json writes it.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if is_plain(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Same bytes as serde_json, for text with and without the bytes
        /// that need escapes, at every length around the 8-byte words.
        #[test]
        fn writes_strings_as_serde_json_does(
            chars in proptest::collection::vec(
                proptest::prop_oneof![8 => proptest::char::any(), 1 => proptest::sample::select(vec!['"', '\\', '\0', '\n', '\u{1f}', '\u{7f}', '\u{80}'])],
                0..40,
            ),
        ) {
            let s: String = chars.into_iter().collect();
            let mut out = Vec::new();
            write_str(&mut out, &s);
            proptest::prop_assert_eq!(out, serde_json::to_vec(&s).unwrap());
        }
    }
}
