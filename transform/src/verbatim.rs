//! JSON text that a `cast = "json"` column can copy into its output row.
//!
//! The cast parses the text into a `Value` and the row writer writes that
//! value again; when the text is already exactly what the writer would
//! write, both steps are skipped and the bytes are copied (the relay's
//! usage records carry each request's JSON document this way: a third of
//! the transform's time went into parsing and re-writing it).

use std::ops::Range;

use decant_record::Value;

/// True when `raw` is an object or array that `Value::write_json` writes
/// back byte for byte after `serde_json` parses it into a `Value`: compact
/// (no whitespace), strings without escapes or control bytes, no key that
/// starts with `$` (a possible tag), numbers that print back as read (so
/// `1e5`, `1.50`, `-0` and integers past ±2^53, written as `$int`, do not),
/// nesting at most 64 deep. Anything else answers false (the cast path then
/// parses it, and reports what is wrong).
#[cfg(test)]
pub(crate) fn json_is_verbatim(raw: &[u8]) -> bool {
    std::str::from_utf8(raw).is_ok_and(text_is_verbatim)
}

/// [`json_is_verbatim`] of text already known to be UTF-8.
pub(crate) fn text_is_verbatim(text: &str) -> bool {
    let mut scratch = Vec::new();
    decant_record::jsontext::is_verbatim(text.as_bytes(), |n| number_is_verbatim(n, &mut scratch))
}

/// [`text_is_verbatim`], and the members of a verbatim object (where each
/// name and value is in `text`; see `jsontext::is_verbatim_with_members`).
pub(crate) fn text_is_verbatim_with_members(text: &str, top: &mut Vec<(Range<usize>, Range<usize>)>) -> bool {
    let mut scratch = Vec::new();
    decant_record::jsontext::is_verbatim_with_members(text.as_bytes(), |n| number_is_verbatim(n, &mut scratch), top)
}

/// A number whose `Value` (an integer as serde_json reads one, else a
/// float, both correctly rounded) the writer prints as the same text.
fn number_is_verbatim(text: &[u8], scratch: &mut Vec<u8>) -> bool {
    is_plain_int(text) || is_plain_decimal(text) || is_written_back(text, scratch)
}

/// The parse-and-write test of [`number_is_verbatim`].
fn is_written_back(text: &[u8], scratch: &mut Vec<u8>) -> bool {
    let Ok(text) = std::str::from_utf8(text) else { return false };
    let value = if let Ok(i) = text.parse::<i64>() {
        Value::Int(i.into())
    } else if let Ok(u) = text.parse::<u64>() {
        Value::Int(u.into())
    } else {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Value::Float(f),
            _ => return false,
        }
    };
    scratch.clear();
    value.write_json(scratch);
    scratch == text.as_bytes()
}

/// An integer the writer prints as it is read, told from its text alone:
/// an optional `-`, then 1 to 15 digits without a leading zero (or `0`
/// alone), so well inside ±2^53 (written plainly, not as `$int`). The
/// rest (`-0`, `+1`, `007`, longer or other numbers) goes through the
/// parse-and-write test.
fn is_plain_int(text: &[u8]) -> bool {
    if text == b"0" {
        return true;
    }
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    matches!(digits.first(), Some(b'1'..=b'9')) && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit)
}

/// A float the writer prints as it is read, told from its text alone: an
/// optional `-`, then `0.` with at most 3 zeros before the first other
/// digit, or 1 to 6 integer digits without a leading zero, a `.` and
/// digits not ending in `0`; 15 significant digits at most. Any decimal of
/// at most 15 significant digits is the only one of that many digits that
/// reads as its double (DBL_DIG), so the shortest text of the double has
/// those digits, and from 1e-4 to below 1e6 the writer prints them in this
/// plain form (it does from 1e-5 to below 1e16).
pub(crate) fn is_plain_decimal(text: &[u8]) -> bool {
    let body = text.strip_prefix(b"-").unwrap_or(text);
    let Some(dot) = body.iter().position(|&c| c == b'.') else { return false };
    let (int, frac) = (&body[..dot], &body[dot + 1..]);
    if !int.iter().all(u8::is_ascii_digit)
        || !frac.iter().all(u8::is_ascii_digit)
        || frac.last().is_none_or(|&c| c == b'0')
    {
        return false;
    }
    let significant = if int == b"0" {
        let zeros = frac.iter().take_while(|&&c| c == b'0').count();
        if zeros > 3 {
            return false;
        }
        frac.len() - zeros
    } else {
        if !matches!(int.first(), Some(b'1'..=b'9')) || int.len() > 6 {
            return false;
        }
        int.len() + frac.len()
    };
    significant <= 15
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the cast and the row writer make of `raw` (None: not JSON).
    fn via_value(raw: &str) -> Option<String> {
        let v: Value = serde_json::from_str(raw).ok()?;
        let mut out = Vec::new();
        v.write_json(&mut out);
        String::from_utf8(out).ok()
    }

    #[test]
    fn verbatim_texts_are_what_the_writer_writes() {
        let verbatim = [
            r#"{}"#,
            r#"[]"#,
            r#"{"model":"claude-3","inputTokens":12,"cost":0.0123,"ok":true,"x":null,"a":[1,-2,{"b":false}]}"#,
            r#"[1.5,-0.25,100000.0,0,-7,9007199254740991]"#,
            r#"{"a":1,"a":2}"#,
            r#"{"é😀":"ü $ [x] {y}"}"#,
        ];
        for raw in verbatim {
            assert!(json_is_verbatim(raw.as_bytes()), "{raw} {:?}", via_value(raw));
            assert_eq!(via_value(raw).as_deref(), Some(raw), "{raw}");
        }
        let not = [
            r#""a string""#,
            "12",
            "null",
            r#"{ "a":1}"#,
            r#"[1, 2]"#,
            r#"{"a":"q\"uote"}"#,
            r#"{"a":"\u00e9"}"#,
            r#"{"$int":"5"}"#,
            r#"[9007199254740992]"#,
            r#"[1e5]"#,
            r#"[-0]"#,
            r#"[01]"#,
            r#"[1.]"#,
            r#"[1.50]"#,
            r#"[1e400]"#,
            r#"[tru]"#,
            r#"[1,]"#,
            r#"{"a"}"#,
            r#"[1]x"#,
            r#"[1"#,
            "[\"a\nb\"]",
        ];
        for raw in not {
            assert!(!json_is_verbatim(raw.as_bytes()), "{raw}");
        }
        assert!(!json_is_verbatim(b"[\"\xff\"]"));
        let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
        assert!(!json_is_verbatim(deep.as_bytes()));
    }

    /// JSON-like texts built from pieces that are often, but not always,
    /// verbatim (escapes, tags, spaces, odd number forms, big integers).
    fn json_like() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            "-?(0|[1-9][0-9]{14,20})",
            "-?(0|[1-9][0-9]{0,3})",
            "-?(0|[1-9][0-9]{0,19})(\\.[0-9]{1,4})?([eE][-+]?[0-9]{1,3})?",
            "\"([a$ é]|\\\\[n\"u]){0,4}\"",
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just(" 1".to_owned()),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(("\"[a$]{0,2}\"", inner), 0..4).prop_map(|v| {
                    let members: Vec<String> = v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    proptest! {
        /// The integers taken from their text alone are written back as
        /// they are read; whatever it declines gets the full test.
        #[test]
        fn plain_integers_are_written_back(text in "-?(0|[1-9][0-9]{0,17})|-?0[0-9]{1,3}|\\+[0-9]{1,3}|-?[0-9]{1,3}[.eE][0-9]{1,2}") {
            let mut scratch = Vec::new();
            if is_plain_int(text.as_bytes()) {
                prop_assert!(is_written_back(text.as_bytes(), &mut scratch), "{}", text);
            }
            let digits = text.strip_prefix('-').unwrap_or(&text);
            let plain = digits.len() <= 15 && text != "-0" && !digits.starts_with('0') || text == "0";
            prop_assert_eq!(is_plain_int(text.as_bytes()), plain && digits.bytes().all(|b| b.is_ascii_digit()), "{}", text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20000))]
        /// The floats taken from their text alone are written back as they
        /// are read (around the 15-digit and the 1e-4 / 1e6 edges).
        #[test]
        fn plain_decimals_are_written_back(
            text in "-?(0|[1-9][0-9]{0,7})\\.0{0,5}[0-9]{0,16}[1-9]|-?[0-9]{1,3}\\.[0-9]{0,3}0?|-?9{1,7}\\.9{1,12}",
        ) {
            let mut scratch = Vec::new();
            if is_plain_decimal(text.as_bytes()) {
                prop_assert!(is_written_back(text.as_bytes(), &mut scratch), "{}", text);
            }
        }
    }

    #[test]
    fn plain_decimals_are_told_from_their_text() {
        for yes in
            ["0.198117", "0.19243559999999998".get(..17).unwrap(), "-0.5", "0.0001", "999999.5", "123456.789012345"]
        {
            assert!(is_plain_decimal(yes.as_bytes()), "{yes}");
        }
        for no in [
            "0.19243559999999998",
            "1.0",
            "1.50",
            "0.00001",
            "1000000.5",
            "01.5",
            "1e5",
            "1.",
            ".5",
            "-",
            "1.5e3",
            "123456.7890123456",
        ] {
            assert!(!is_plain_decimal(no.as_bytes()), "{no}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn a_verbatim_text_is_what_the_writer_writes(raw in json_like()) {
            if json_is_verbatim(raw.as_bytes()) {
                let written = via_value(&raw);
                prop_assert_eq!(written.as_deref(), Some(raw.as_str()));
            }
        }
    }
}
