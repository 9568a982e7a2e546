//! A JSON column's text written as the stream writes its value, without the
//! value.
//!
//! The slow path parses the text into a [`Value`] (`Value::from_json_text`:
//! member order and duplicate keys kept, `$`-keys not read as tags) and
//! writes it with `Value::write_json`: compact, strings as serde_json writes
//! them, integers past ±2^53 as `{"$int":"…"}`, floats in shortest
//! round-trip form. MariaDB keeps a JSON column's text as it was given
//! (Python's `json.dumps` leaves a space after each `:` and `,`), so the
//! writer's text differs from the server's, but mostly only by that
//! whitespace. [`write`] copies the tokens and drops the whitespace between
//! them; a number is written through its `Value`, and kept only when that
//! gives back the number's own text (or the `$int` tag around it). Anything
//! else — a string with an escape or a control byte, a key starting with
//! `$` (a possible tag, which the writer may wrap), a number that prints
//! otherwise (`1e5`, `1.50`, `-0`), deeper nesting than 64, text that is not
//! JSON — answers false, and the caller takes the slow path, which also
//! reports what is wrong.

use decant_record::Value;

/// Appends what `Value::from_json_text(raw)` written by `Value::write_json`
/// gives, when `raw` is in the subset above, and returns true; otherwise
/// returns false with `out` as it was.
pub(crate) fn write(raw: &[u8], out: &mut Vec<u8>) -> bool {
    if std::str::from_utf8(raw).is_err() {
        return false;
    }
    let start = out.len();
    let mut c = Compact { raw, i: 0, out };
    let ok = c.value(0) && {
        c.skip_ws();
        c.i == raw.len()
    };
    if !ok {
        out.truncate(start);
    }
    ok
}

struct Compact<'a> {
    raw: &'a [u8],
    i: usize,
    out: &'a mut Vec<u8>,
}

impl Compact<'_> {
    /// The next byte after JSON whitespace (serde_json's four bytes).
    fn skip_ws(&mut self) -> Option<u8> {
        while let Some(&b) = self.raw.get(self.i) {
            if !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(b);
            }
            self.i += 1;
        }
        None
    }

    fn value(&mut self, depth: u32) -> bool {
        if depth > 64 {
            return false;
        }
        match self.skip_ws() {
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
        self.out.push(b'{');
        if self.skip_ws() == Some(b'}') {
            self.i += 1;
            self.out.push(b'}');
            return true;
        }
        loop {
            if self.skip_ws() != Some(b'"') || self.raw.get(self.i + 1) == Some(&b'$') || !self.string() {
                return false;
            }
            if self.skip_ws() != Some(b':') {
                return false;
            }
            self.i += 1;
            self.out.push(b':');
            if !self.value(depth + 1) {
                return false;
            }
            match self.comma_or_close(b'}') {
                Some(true) => return true,
                Some(false) => {}
                None => return false,
            }
        }
    }

    /// After a member or item: a `,` (`Some(false)`: another follows) or
    /// `close` (`Some(true)`: the container ends), copied; else `None`.
    fn comma_or_close(&mut self, close: u8) -> Option<bool> {
        let c = self.skip_ws().filter(|&c| c == b',' || c == close)?;
        self.i += 1;
        self.out.push(c);
        Some(c == close)
    }

    fn items(&mut self, depth: u32) -> bool {
        self.i += 1;
        self.out.push(b'[');
        if self.skip_ws() == Some(b']') {
            self.i += 1;
            self.out.push(b']');
            return true;
        }
        loop {
            if !self.value(depth + 1) {
                return false;
            }
            match self.comma_or_close(b']') {
                Some(true) => return true,
                Some(false) => {}
                None => return false,
            }
        }
    }

    fn word(&mut self, word: &[u8]) -> bool {
        if !self.raw[self.i..].starts_with(word) {
            return false;
        }
        self.i += word.len();
        self.out.extend_from_slice(word);
        true
    }

    /// A string with no escape and no control byte: serde_json writes it
    /// back as it stands.
    fn string(&mut self) -> bool {
        let rest = &self.raw[self.i + 1..];
        match rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20) {
            Some(end) if rest[end] == b'"' => {
                self.out.extend_from_slice(&self.raw[self.i..self.i + end + 2]);
                self.i += end + 2;
                true
            }
            _ => false,
        }
    }

    /// The number's `Value` (an integer as serde_json reads one, else a
    /// float, both correctly rounded) written, and kept when it is the
    /// number's own text or that text in an `$int` tag.
    fn number(&mut self) -> bool {
        let start = self.i;
        while matches!(self.raw.get(self.i), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
            self.i += 1;
        }
        let text = &self.raw[start..self.i];
        let Ok(t) = std::str::from_utf8(text) else { return false };
        let value = if let Ok(i) = t.parse::<i64>() {
            Value::Int(i.into())
        } else if let Ok(u) = t.parse::<u64>() {
            Value::Int(u.into())
        } else {
            match t.parse::<f64>() {
                Ok(f) if f.is_finite() => Value::Float(f),
                _ => return false,
            }
        };
        let at = self.out.len();
        value.write_json(self.out);
        let written = &self.out[at..];
        written == text
            || written
                .strip_prefix(br#"{"$int":""#)
                .and_then(|w| w.strip_suffix(br#""}"#))
                .is_some_and(|digits| digits == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The slow path's text (None: it refuses the text).
    fn via_value(raw: &[u8]) -> Option<Vec<u8>> {
        let v = Value::from_json_text(raw).ok()?;
        let mut out = Vec::new();
        v.write_json(&mut out);
        Some(out)
    }

    fn fast(raw: &[u8]) -> Option<Vec<u8>> {
        let mut out = b"x".to_vec();
        let ok = write(raw, &mut out);
        if !ok {
            assert_eq!(out, b"x", "a refused text leaves the output as it was");
            return None;
        }
        Some(out[1..].to_vec())
    }

    #[test]
    fn mariadb_texts_are_compacted_as_the_writer_writes_them() {
        let taken = [
            r#"{"lang": "ko", "notify": true, "quota": 611097, "nick": "op1"}"#,
            r#"{"type": "group", "bots": [13, 32, 25]}"#,
            r#"{"retry": false, "big": 9007199254741292, "f": 0.36819210434512906}"#,
            r#"[]"#,
            r#"["alert"]"#,
            r#" { "a" : [ 1 , { } , [ ] , null ] , "b" : -7 } "#,
            "{\"a\":\n\t1,\r\n\"a\": 2}",
            r#"[1.5, -0.25, 100000.0, 0, -9007199254740991, 18446744073709551615, -9223372036854775808]"#,
            r#"{"é😀": "ü $ [x] {y}"}"#,
            r#""a string""#,
            "12",
            "null",
            "true",
        ];
        for raw in taken {
            let want = via_value(raw.as_bytes()).unwrap();
            assert_eq!(fast(raw.as_bytes()), Some(want.clone()), "{raw} -> {}", String::from_utf8_lossy(&want));
        }
        let refused = [
            r#"{"a":"q\"uote"}"#,
            r#"{"a":"\u00e9"}"#,
            r#"{"$int":"5"}"#,
            r#"{"a": 1, "$b": 2}"#,
            r#"[1e5]"#,
            r#"[-0]"#,
            r#"[01]"#,
            r#"[1.]"#,
            r#"[.5]"#,
            r#"[+1]"#,
            r#"[1.50]"#,
            r#"[1e400]"#,
            r#"[18446744073709551616]"#,
            r#"[tru]"#,
            r#"[1,]"#,
            r#"{"a"}"#,
            r#"{"a":1,}"#,
            r#"[1]x"#,
            r#"[1"#,
            r#"{"a" 1}"#,
            "",
            "   ",
            "[\"a\nb\"]",
            "[1]\u{0c}",
        ];
        for raw in refused {
            assert_eq!(fast(raw.as_bytes()), None, "{raw}");
        }
        assert_eq!(fast(b"[\"\xff\"]"), None);
        let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
        assert_eq!(fast(deep.as_bytes()), None);
        let ok_deep = format!("{}{}", "[".repeat(60), "]".repeat(60));
        assert_eq!(fast(ok_deep.as_bytes()), via_value(ok_deep.as_bytes()));
    }

    /// JSON-like texts with whitespace, escapes, tags, odd number forms and
    /// big integers: often, not always, in the fast path's subset.
    fn json_like() -> impl Strategy<Value = String> {
        let ws = prop_oneof![Just(""), Just(""), Just(" "), Just("\n "), Just("\t"), Just("\u{0b}")];
        let leaf = prop_oneof![
            "-?(0|[1-9][0-9]{14,20})",
            "-?(0|[1-9][0-9]{0,3})",
            "[-+]?[0-9]{0,3}(\\.[0-9]{0,4})?([eE][-+]?[0-9]{1,3})?",
            "\"([a$ é]|\\\\[n\"u]|\u{01}){0,4}\"",
            Just("true".to_owned()),
            Just("fals".to_owned()),
            Just("null".to_owned()),
        ];
        let leaf = (leaf, ws.clone(), ws.clone()).prop_map(|(l, a, b)| format!("{a}{l}{b}"));
        leaf.prop_recursive(4, 24, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("\\$?[ab]{1,2}", inner), 0..4).prop_map(|v| {
                    let members: Vec<String> = v.into_iter().map(|(k, v)| format!("\"{k}\" : {v}")).collect();
                    format!("{{{}}}", members.join(", "))
                }),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever the fast path takes, it writes the slow path's bytes;
        /// what the slow path refuses, the fast path refuses too.
        #[test]
        fn the_fast_path_writes_the_values_bytes(raw in json_like()) {
            let slow = via_value(raw.as_bytes());
            if let Some(out) = fast(raw.as_bytes()) {
                prop_assert_eq!(Some(out), slow, "{}", raw);
            }
        }

        /// Texts the fast path takes on every spelling of their whitespace.
        #[test]
        fn whitespace_does_not_turn_the_fast_path_away(
            a in 0i64..100_000, b in any::<u64>(), f in any::<f64>().prop_filter("finite", |f| f.is_finite()),
            ws in prop_oneof![Just(""), Just(" "), Just("\n  "), Just("\r\n\t")],
        ) {
            let mut f_text = Vec::new();
            Value::Float(f).write_json(&mut f_text);
            let f = String::from_utf8(f_text).unwrap();
            let raw = format!("{ws}{{{ws}\"a\"{ws}:{ws}{a}{ws},{ws}\"b\":{ws}[{ws}{b}{ws},{ws}{f}{ws}]{ws}}}{ws}");
            prop_assert_eq!(fast(raw.as_bytes()), via_value(raw.as_bytes()), "{}", raw);
        }
    }
}
