//! Borrowed, zero-copy reading of `row` lines, for the SQL importers' hot
//! paths.
//!
//! [`read_row`] reads a `row` line written the way writers write it —
//! `kind`, `table` and `data`, each once, `table` before `data` — and hands
//! each member of `data` to its caller as a name and a [`Token`]: strings
//! without escapes borrowed from the line as they stand, numbers as their
//! text, `null` and booleans, objects and arrays (JSON columns, tagged values
//! such as `{"$b64":…}`) as their text, syntax checked. Column names are
//! compared by the caller as bytes, with no `String` per name.
//!
//! It is a fast path, not a second decoder: it answers `None` (or
//! [`Declined`]) for anything it does not read exactly as serde_json reads
//! it — invalid UTF-8 anywhere, invalid JSON, an escape serde_json refuses
//! (a lone surrogate), another kind, another member, a member twice,
//! nesting deeper than [`MAX_DEPTH`] — and the caller then decodes the line
//! with [`Record::decode`](crate::Record::decode), which gives the row or
//! the error as ever. [`Token::to_value`] gives the [`Value`] serde_json
//! would have given for the token where it stood in the line (numbers other
//! than plain integers, and nested values, through serde_json itself); the
//! tests hold the two to the same values.
//!
//! ```
//! use decant_record::rowview::{read_row, Token};
//! let line = br#"{"kind":"row","table":"t","data":{"id":1,"name":"a\"b","j":{"k":[1]}}}"#;
//! let mut got = Vec::new();
//! let t = read_row(line, |name| (name == "t").then_some(7), |t, data| {
//!     while let Some((name, value)) = data.next_member()? {
//!         got.push((t, name.into_owned(), value));
//!     }
//!     Ok(())
//! });
//! assert_eq!(t, Some(7));
//! assert_eq!(got[0].2, Token::Num("1"));
//! assert_eq!(got[1].2, Token::Str("a\"b".into()));
//! assert_eq!(got[2].2, Token::Nested(r#"{"k":[1]}"#));
//! ```

use std::borrow::Cow;

use crate::value::{decode_b64, parse_int_tag};
use crate::view::plain_run;
use crate::Value;

/// The deepest nesting of an object or array value taken (serde_json's own
/// limit, counted from the line, is 128).
pub const MAX_DEPTH: u32 = 100;

/// "Not for this path": the caller decodes the line in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declined;

/// One value of a row's `data`, borrowed from the line.
#[derive(Debug, Clone, PartialEq)]
pub enum Token<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A string, borrowed when it has no escapes.
    Str(Cow<'a, str>),
    /// A number's text (strict JSON grammar).
    Num(&'a str),
    /// An object or array's text, syntax checked (strings included).
    Nested(&'a str),
}

impl Token<'_> {
    /// The value serde_json and `Value`'s `Deserialize` make of the token
    /// where it stands in the line; [`Declined`] where they fail (a number
    /// out of range, a nested value `Value` refuses, such as a bad `$b64`).
    #[inline]
    pub fn to_value(self) -> Result<Value, Declined> {
        match self {
            Token::Null => Ok(Value::Null),
            Token::Bool(b) => Ok(Value::Bool(b)),
            Token::Str(s) => Ok(Value::String(s.into_owned())),
            Token::Num(t) => match small_int(t) {
                Some(i) => Ok(Value::Int(i128::from(i))),
                None => serde_json::from_str(t).map_err(|_| Declined),
            },
            Token::Nested(t) => match tagged(t) {
                Some(value) => value,
                None => serde_json::from_str(t).map_err(|_| Declined),
            },
        }
    }
}

/// `{"$b64":"…"}`, `{"$int":"…"}` or `{"$zero_date":"…"}` written compact,
/// the text without escapes, as `Value` reads it; `None` for any other text
/// (`Value`'s own `Deserialize` reads it). `text` is a JSON value.
fn tagged(text: &str) -> Option<Result<Value, Declined>> {
    let rest = text.strip_prefix("{\"$")?;
    let (tag, body) = if let Some(body) = rest.strip_prefix("b64\":\"") {
        ("b64", body)
    } else if let Some(body) = rest.strip_prefix("int\":\"") {
        ("int", body)
    } else {
        ("zero_date", rest.strip_prefix("zero_date\":\"")?)
    };
    let body = body.strip_suffix("\"}")?;
    // No quote, backslash or control byte: the string ends at `"}`.
    if plain_run(body.as_bytes(), 0) != body.len() {
        return None;
    }
    let value = match tag {
        "b64" => decode_b64(body).map(Value::Bytes),
        "int" => parse_int_tag(body).map(Value::Int),
        _ => Ok(Value::ZeroDate(body.to_owned())),
    };
    Some(value.map_err(|_| Declined))
}

/// An integer of at most 18 digits, without a leading zero and not `-0`
/// (which serde_json reads as a float): what serde_json reads as that
/// `i64`. `None` for any other number text.
pub fn small_int(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let (neg, digits) = match b.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(if neg { -n } else { n })
}

/// Reads a `row` line (without its newline): `table` gives the number of
/// the table named (`None`: decline), then `data` reads the members of the
/// `data` object through [`Members::next_member`], to the end. The table's
/// number, or `None` when the line is for the full decoder (`data` may then
/// have run, in part or whole: the caller undoes what it did).
pub fn read_row<'a, T: Copy>(
    line: &'a [u8],
    mut table: impl FnMut(&str) -> Option<T>,
    data: impl FnOnce(T, &mut Members<'a, '_>) -> Result<(), Declined>,
) -> Option<T> {
    // One UTF-8 check for the whole line (the reader leaves data lines
    // unchecked): every string is then a slice of `text`.
    let text = std::str::from_utf8(line).ok()?;
    let mut p = Scan { s: text, i: 0 };
    let (mut kind, mut t) = (false, None);
    let mut data = Some(data);
    p.ws();
    p.eat(b'{')?;
    p.ws();
    loop {
        let name = p.string()?;
        p.ws();
        p.eat(b':')?;
        p.ws();
        match &*name {
            "kind" if !kind => {
                if p.string()? != "row" {
                    return None;
                }
                kind = true;
            }
            "table" if t.is_none() => t = Some(table(&p.string()?)?),
            "data" if data.is_some() => {
                let (t, read) = (t?, data.take()?);
                p.eat(b'{')?;
                let mut members = Members { p: &mut p, state: State::First };
                read(t, &mut members).ok()?;
                if members.state != State::Done {
                    return None;
                }
            }
            _ => return None,
        }
        p.ws();
        match p.next()? {
            b',' => p.ws(),
            b'}' => break,
            _ => return None,
        }
    }
    p.ws();
    (p.i == text.len() && kind && data.is_none()).then_some(t?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first member.
    First,
    /// After a member's name, before its value.
    Value,
    /// After a member.
    Next,
    /// After the closing brace.
    Done,
}

/// The members of a row's `data` object, read one at a time.
#[derive(Debug)]
pub struct Members<'a, 'p> {
    p: &'p mut Scan<'a>,
    state: State,
}

impl<'a> Members<'a, '_> {
    /// The next member's name and value; `Ok(None)` after the last one.
    #[inline]
    pub fn next_member(&mut self) -> Result<Option<(Cow<'a, str>, Token<'a>)>, Declined> {
        match self.next_name()? {
            Some(name) => Ok(Some((name, self.value()?))),
            None => Ok(None),
        }
    }

    /// The next member's name, `Ok(None)` after the last one; its value is
    /// then read by [`Members::value`] (or [`Members::verbatim`] first).
    #[inline]
    pub fn next_name(&mut self) -> Result<Option<Cow<'a, str>>, Declined> {
        if !self.reach_name()? {
            return Ok(None);
        }
        let name = self.p.string().ok_or(Declined)?;
        self.past_name()?;
        Ok(Some(name))
    }

    /// Moves past the separator before the next member's name: `false`
    /// after the last member (the closing brace read).
    #[inline]
    fn reach_name(&mut self) -> Result<bool, Declined> {
        let p = &mut *self.p;
        p.ws();
        match self.state {
            State::Done => return Ok(false),
            State::First if p.peek() == Some(b'}') => {
                p.i += 1;
                self.state = State::Done;
                return Ok(false);
            }
            State::First => {}
            State::Next => match p.next() {
                Some(b',') => p.ws(),
                Some(b'}') => {
                    self.state = State::Done;
                    return Ok(false);
                }
                _ => return Err(Declined),
            },
            State::Value => return Err(Declined),
        }
        Ok(true)
    }

    /// Moves from the end of a member's name to its value.
    #[inline]
    fn past_name(&mut self) -> Result<(), Declined> {
        let p = &mut *self.p;
        p.ws();
        p.eat(b':').ok_or(Declined)?;
        p.ws();
        self.state = State::Value;
        Ok(())
    }

    /// The value of the member just named.
    #[inline]
    pub fn value(&mut self) -> Result<Token<'a>, Declined> {
        if self.state != State::Value {
            return Err(Declined);
        }
        self.state = State::Next;
        self.p.token().ok_or(Declined)
    }

    /// The value of the member just named when it is an object or array
    /// that `len` measures, given the rest of the line: the first `len`
    /// bytes, taken as they stand. `len` must answer only for a whole JSON
    /// value that starts the text, and at most its length (a strict subset
    /// of JSON, such as the compact form of `jsontext::verbatim_len`); `None`,
    /// with nothing read, otherwise (read the value with [`Members::value`]).
    #[inline]
    pub fn verbatim(&mut self, len: impl FnOnce(&'a [u8]) -> Option<usize>) -> Option<&'a str> {
        if self.state != State::Value || !matches!(self.p.peek(), Some(b'{' | b'[')) {
            return None;
        }
        let (s, at) = (self.p.s, self.p.i);
        let n = len(&s.as_bytes()[at..])?;
        // A slice on char boundaries (the value ends with `}` or `]`).
        let text = s.get(at..at + n)?;
        self.p.i = at + n;
        self.state = State::Next;
        Some(text)
    }
}

/// A strict JSON scanner over one line, already checked to be UTF-8.
#[derive(Debug)]
struct Scan<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn lit(&mut self, word: &str) -> Option<()> {
        self.s[self.i..].starts_with(word).then(|| self.i += word.len())
    }

    fn token(&mut self) -> Option<Token<'a>> {
        Some(match self.peek()? {
            b'"' => Token::Str(self.string()?),
            b'n' => self.lit("null").map(|_| Token::Null)?,
            b't' => self.lit("true").map(|_| Token::Bool(true))?,
            b'f' => self.lit("false").map(|_| Token::Bool(false))?,
            b'{' | b'[' => {
                let start = self.i;
                self.skip(0)?;
                Token::Nested(&self.s[start..self.i])
            }
            _ => Token::Num(self.number()?),
        })
    }

    /// A JSON string, decoded as serde_json decodes it (strictly: a lone
    /// surrogate is refused); borrowed when it has no escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let (s, b) = (self.s, self.s.as_bytes());
        let start = self.i;
        let mut i = plain_run(b, start);
        match *b.get(i)? {
            b'"' => {
                self.i = i + 1;
                return Some(Cow::Borrowed(&s[start..i]));
            }
            b'\\' => {}
            _ => return None,
        }
        let mut out = String::with_capacity(i - start + 16);
        let mut run = start;
        loop {
            match *b.get(i)? {
                b'"' => {
                    out.push_str(&s[run..i]);
                    self.i = i + 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    out.push_str(&s[run..i]);
                    self.i = i + 1;
                    out.push(self.escape()?);
                    i = self.i;
                    run = i;
                }
                c if c < 0x20 => return None,
                _ => i = plain_run(b, i),
            }
        }
    }

    /// The character of the escape after a backslash.
    fn escape(&mut self) -> Option<char> {
        Some(match self.next()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                match hi {
                    0xD800..=0xDBFF => {
                        self.lit("\\u")?;
                        let lo = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                    }
                    0xDC00..=0xDFFF => return None,
                    c => char::from_u32(c)?,
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.as_bytes().get(self.i..self.i + 4)?;
        let mut v = 0u32;
        for &c in h {
            v = v * 16 + (c as char).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }

    /// A string, checked as [`Scan::string`] checks it, not decoded.
    fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        let b = self.s.as_bytes();
        let mut i = self.i;
        loop {
            i = plain_run(b, i);
            match *b.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    return Some(());
                }
                b'\\' => {
                    self.i = i + 1;
                    self.escape()?;
                    i = self.i;
                }
                _ => return None,
            }
        }
    }

    /// The text of a JSON number (strict grammar: no leading zero, a digit
    /// after `-`, `.` and the exponent).
    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !self.digits() {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !self.digits() {
                return None;
            }
        }
        Some(&self.s[start..self.i])
    }

    /// Skips digits; true when there was one.
    fn digits(&mut self) -> bool {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i > start
    }

    /// Skips any JSON value, checking its syntax; `depth`: the objects and
    /// arrays it is in.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            open @ (b'{' | b'[') => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                let close = if open == b'{' { b'}' } else { b']' };
                self.i += 1;
                self.ws();
                if self.peek()? == close {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    if open == b'{' {
                        self.skip_string()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    self.skip(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => self.ws(),
                        c if c == close => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'n' => self.lit("null"),
            b't' => self.lit("true"),
            b'f' => self.lit("false"),
            _ => self.number().map(|_| ()),
        }
    }
}

/// A column name [`Members::next_name_expecting`] finds by its bytes: one
/// without a quote, backslash or control byte, so that a line writes it
/// as itself between quotes (and a string written so is that name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainName(String);

impl PlainName {
    /// `None` for a name a line may write otherwise (with escapes).
    pub fn new(name: &str) -> Option<PlainName> {
        name.bytes().all(|b| b != b'"' && b != b'\\' && b >= 0x20).then(|| PlainName(name.to_owned()))
    }
}

/// What [`Members::next_name_expecting`] read.
#[derive(Debug, PartialEq, Eq)]
pub enum NextName<'a> {
    /// The name expected.
    Expected,
    /// Another name.
    Other(Cow<'a, str>),
}

impl<'a> Members<'a, '_> {
    /// [`Members::next_name`], when the name is most likely `expected`
    /// (the column after the last one): that name is then recognised by
    /// comparing the line's bytes with it, without scanning and slicing
    /// a string, and answered as [`NextName::Expected`]. Any other name
    /// is read as `next_name` reads it, and so is everything else.
    #[inline]
    pub fn next_name_expecting(&mut self, expected: Option<&PlainName>) -> Result<Option<NextName<'a>>, Declined> {
        let Some(expected) = expected else {
            return Ok(self.next_name()?.map(NextName::Other));
        };
        if !self.reach_name()? {
            return Ok(None);
        }
        let p = &mut *self.p;
        let (b, e) = (p.s.as_bytes(), expected.0.as_bytes());
        let at = p.i + 1;
        // `"expected"` here is the string `next_name` would read: it
        // stops at the first quote, backslash or control byte, and the
        // name has none before its closing quote.
        let hit = b.get(p.i) == Some(&b'"')
            && b.get(at + e.len()) == Some(&b'"')
            && b.get(at..at + e.len()).is_some_and(|name| short_eq(name, e));
        let name = if hit {
            p.i = at + e.len() + 1;
            NextName::Expected
        } else {
            NextName::Other(p.string().ok_or(Declined)?)
        };
        self.past_name()?;
        Ok(Some(name))
    }
}

/// `a == b`, for short names (of columns: one comparison for each value of
/// a row, the most made) without a call to `memcmp`: two overlapping words
/// cover a name of 4 to 16 bytes.
#[inline]
pub fn short_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or_default());
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or_default());
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

#[cfg(test)]
mod expecting_tests {
    use super::*;
    use proptest::prelude::*;

    /// Every name of `data` as `next_name` reads them, and as
    /// `next_name_expecting` does with each expected name in turn.
    fn names(line: &str, expect: &[&str]) -> (Option<Vec<String>>, Option<Vec<String>>) {
        let plain: Vec<Option<PlainName>> = expect.iter().map(|n| PlainName::new(n)).collect();
        let mut slow = Vec::new();
        let a = read_row(
            line.as_bytes(),
            |_| Some(0),
            |_, m| {
                while let Some(n) = m.next_name()? {
                    slow.push(n.into_owned());
                    m.value()?;
                }
                Ok(())
            },
        );
        let mut fast = Vec::new();
        let b = read_row(
            line.as_bytes(),
            |_| Some(0),
            |_, m| {
                let mut k = 0;
                loop {
                    let e = plain.get(k).and_then(Option::as_ref);
                    let Some(n) = m.next_name_expecting(e)? else { break };
                    fast.push(match n {
                        NextName::Expected => expect[k].to_owned(),
                        NextName::Other(n) => n.into_owned(),
                    });
                    k += 1;
                    m.value()?;
                }
                Ok(())
            },
        );
        (a.map(|_| slow), b.map(|_| fast))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

        /// The same names, the same lines declined, whatever is expected.
        #[test]
        fn expecting_reads_what_next_name_reads(
            members in proptest::collection::vec(
                (prop::sample::select(vec!["a", "abcd", "abcdefgh", "i\\u0064", "id", "a\"b", "", "abcdefghijklmnopq"]),
                 prop::sample::select(vec![":1", " : 1", ":\"x\"", "1", ":{\"a\":1}"])),
                0..5),
            expect in proptest::collection::vec(
                prop::sample::select(vec!["a", "abcd", "abcdefgh", "id", "a\"b", "a\\", "", "abcdefghijklmnopq", "abcdefghijklmnopr"]),
                0..6),
            sep in prop::sample::select(vec![",", " , ", ";"]),
        ) {
            let data: Vec<String> = members.iter().map(|(n, v)| format!("\"{n}\"{v}")).collect();
            let line = format!(r#"{{"kind":"row","table":"t","data":{{{}}}}}"#, data.join(sep));
            let (slow, fast) = names(&line, &expect);
            prop_assert_eq!(slow, fast, "{}", line);
        }
    }

    #[test]
    fn plain_names_only() {
        assert!(PlainName::new("created_at").is_some());
        assert!(PlainName::new("").is_some());
        for n in ["a\"b", "a\\b", "a\nb"] {
            assert!(PlainName::new(n).is_none(), "{n:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::{Deserializer, MapAccess, Visitor};
    use std::fmt;

    /// A line's table name and `data` members, or `None`: declined.
    type Read = Option<(String, Vec<(String, Value)>)>;

    /// What serde_json makes of a line: the table name and each member of
    /// `data` as (name, Value), read the way the importers' serde_json path
    /// read them; `None` where that path declined.
    fn serde_path(line: &[u8]) -> Read {
        use crate::value::Text;
        struct Line;
        impl<'de> Visitor<'de> for Line {
            type Value = (String, Vec<(String, Value)>);
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a row line")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut kind, mut table, mut data) = (false, None::<String>, None);
                let no = || serde::de::Error::custom("declined");
                while let Some(Text(name)) = map.next_key::<Text>()? {
                    match &*name {
                        "kind" if !kind => {
                            if &*map.next_value::<Text>()?.0 != "row" {
                                return Err(no());
                            }
                            kind = true;
                        }
                        "table" if table.is_none() => table = Some(map.next_value::<Text>()?.0.into_owned()),
                        "data" if data.is_none() => {
                            if table.is_none() {
                                return Err(no());
                            }
                            data = Some(map.next_value::<Members>()?.0);
                        }
                        _ => return Err(no()),
                    }
                }
                match (kind, table, data) {
                    (true, Some(t), Some(d)) => Ok((t, d)),
                    _ => Err(no()),
                }
            }
        }
        struct Members(Vec<(String, Value)>);
        impl<'de> serde::Deserialize<'de> for Members {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Members;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("data")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                        let mut out = Vec::new();
                        while let Some(Text(name)) = map.next_key::<Text>()? {
                            out.push((name.into_owned(), map.next_value::<Value>()?));
                        }
                        Ok(Members(out))
                    }
                }
                d.deserialize_map(V)
            }
        }
        let mut de = serde_json::Deserializer::from_slice(line);
        let got = de.deserialize_map(Line).ok()?;
        de.end().ok()?;
        Some(got)
    }

    /// Reads with both; the table name is compared too.
    fn both(line: &[u8]) -> (Read, Read) {
        let mut members = Vec::new();
        let mut name = String::new();
        let t = read_row(
            line,
            |t| {
                name = t.to_owned();
                Some(())
            },
            |(), data| {
                while let Some((n, value)) = data.next_member()? {
                    members.push((n.into_owned(), value.to_value()?));
                }
                Ok(())
            },
        );
        (t.map(|()| (name, members)), serde_path(line))
    }

    /// A JSON value's text, of many shapes, some invalid.
    fn json_value() -> impl Strategy<Value = String> {
        let good = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<i64>().prop_map(|i| i.to_string()),
            any::<u64>().prop_map(|i| i.to_string()),
            any::<f64>().prop_map(|f| f.to_string()),
            any::<f64>().prop_map(|f| format!("{f:e}")),
            "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?",
            Just("-0".to_owned()),
            Just("-1e-400".to_owned()),
            Just("18446744073709551616".to_owned()),
            Just("-9223372036854775808".to_owned()),
            Just("-9223372036854775809".to_owned()),
            Just("999999999999999999".to_owned()),
            Just("1000000000000000000".to_owned()),
            "[a-z\\\\\"\u{0}\u{1f}\n\té😀/-]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#"{"$b64":"AAEC/w=="}"#.to_owned()),
            Just(r#"{"$int":"5"}"#.to_owned()),
            Just(r#"{"$zero_date":"0000-00-00 00:00:00"}"#.to_owned()),
            Just(r#"{"$json":{"a":1}}"#.to_owned()),
            Just(r#"{"$int":"-5"}"#.to_owned()),
            Just(r#"{"$int":"99999999999999999999999"}"#.to_owned()),
            Just(r#"{"$int":"5x"}"#.to_owned()),
            Just(r#"{"$b64":""}"#.to_owned()),
            Just(r#"{"$b64":"A\u0041=="}"#.to_owned()),
            Just(r#"{"$b64":"AA==","x":1}"#.to_owned()),
            Just(r#"{ "$b64":"AA=="}"#.to_owned()),
            Just(r#"{"$zero_date":"0000-00-00"}"#.to_owned()),
            Just(r#"{"$zero_date":"a\"b"}"#.to_owned()),
            Just(r#"{"$other":"x"}"#.to_owned()),
            Just(r#"{"$b64x":"AA=="}"#.to_owned()),
        ];
        // Raw string bodies: escapes of every kind, mostly good.
        let part = prop_oneof![
            4 => prop_oneof![
                Just("a"), Just("é"), Just("\\n"), Just("\\/"), Just("\\b\\f\\r\\t"), Just("\\\""),
                Just("\\\\"), Just("\\u00e9"), Just("\\u00E9"), Just("\\u0000"), Just("\\ud83d\\ude00"),
                Just("\u{7f}"),
            ],
            1 => prop_oneof![
                Just("\\ud83d"), Just("\\ude00"), Just("\\ud83dx"), Just("\\ud83d\\n"), Just("\\ud83d\\u0041"),
                Just("\\u12"), Just("\\x"), Just("\t"),
            ],
        ];
        let raw = proptest::collection::vec(part, 0..6).prop_map(|parts| format!("\"{}\"", parts.concat()));
        let odd = prop_oneof![
            Just("nul".to_owned()),
            Just("tru".to_owned()),
            "-?0[0-9]{1,3}",
            Just("-".to_owned()),
            Just("1.".to_owned()),
            Just("1e".to_owned()),
            Just("1e400".to_owned()),
            Just(r#"{"$b64":"not base64"}"#.to_owned()),
            Just(r#"{"$float":"nan"}"#.to_owned()),
        ];
        let leaf = prop_oneof![12 => good, 4 => raw, 1 => odd];
        leaf.prop_recursive(4, 24, 4, |inner| {
            let ws = prop_oneof![Just(""), Just(" "), Just("\n\t"), Just("\r")];
            prop_oneof![
                4 => (proptest::collection::vec(inner.clone(), 0..4), ws.clone())
                    .prop_map(|(items, w)| format!("[{w}{}{w}]", items.join(&format!("{w},{w}")))),
                4 => (proptest::collection::vec(("[a-c$]{0,2}", inner), 0..4), ws).prop_map(|(m, w)| {
                    let m: Vec<String> = m.iter().map(|(k, v)| format!("{k:?}{w}:{w}{v}")).collect();
                    format!("{{{w}{}{w}}}", m.join(","))
                }),
                1 => prop_oneof![
                    Just("[1,]".to_owned()),
                    Just("{\"a\":1,}".to_owned()),
                    Just("{\"a\" 1}".to_owned()),
                    Just("[1 2]".to_owned()),
                ],
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// Whatever the tokens take, serde_json takes the same way (table,
        /// names, values, in order); whatever serde_json refuses, they decline.
        #[test]
        fn rows_read_as_serde_json_reads_them(
            members in proptest::collection::vec((prop_oneof![20 => "[a-c]{1,2}|na\\\\u006de", 1 => "\"|k\\\\ud800"], json_value()), 0..6),
            ws in prop_oneof![Just(""), Just(" "), Just(" \t\r\n")],
            order in 0usize..10,
            table in prop_oneof![10 => "[a-z]{1,3}|t\\\\u0031", 1 => Just("\\ude00".to_owned())],
            tail in prop_oneof![12 => Just(""), 4 => Just(" "), 1 => Just("x"), 1 => Just(",")],
        ) {
            let data: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\"{ws}:{ws}{v}")).collect();
            let data = format!("{{{ws}{}{ws}}}", data.join(&format!("{ws},{ws}")));
            let kind = r#""kind":"row""#.to_owned();
            let table = format!(r#""table"{ws}:{ws}"{table}""#);
            let data = format!(r#""data":{ws}{data}"#);
            let parts = match order {
                0..=5 => vec![kind, table, data],
                6 => vec![table, kind, data],
                7 => vec![table, data, kind],
                8 => vec![kind.clone(), table, data, kind],
                _ => vec![r#""kind":"redis""#.to_owned(), table, data],
            };
            let line = format!("{ws}{{{ws}{}{ws}}}{ws}{tail}", parts.join(&format!("{ws},{ws}")));
            let (fast, slow) = both(line.as_bytes());
            if fast.is_some() {
                // Debug text: it tells -0.0 from 0.0, which == does not.
                prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{}", line);
            }
            // Declines only what serde_json refuses, or a nesting too deep.
            if fast.is_none() && slow.is_some() {
                prop_assert!(false, "declined a line serde_json reads: {}", line);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// A value taken by `Members::verbatim` is the very text `value`
        /// gives as `Nested`, and one `is_verbatim` takes; it takes every
        /// such value; and the members after it read the same.
        #[test]
        fn verbatim_values_are_the_nested_spans(values in proptest::collection::vec(json_value(), 0..5)) {
            let data: Vec<String> = values.iter().enumerate().map(|(k, v)| format!("\"c{k}\":{v}")).collect();
            let line = format!(r#"{{"kind":"row","table":"t","data":{{{}}}}}"#, data.join(","));
            let numbers = |n: &[u8]| serde_json::from_slice::<serde_json::Value>(n).is_ok();
            let (mut plain, mut through) = (Vec::new(), Vec::new());
            let a = read_row(line.as_bytes(), |_| Some(()), |(), data| {
                while let Some(member) = data.next_member()? {
                    plain.push(member);
                }
                Ok(())
            });
            let b = read_row(line.as_bytes(), |_| Some(()), |(), data| {
                while let Some(name) = data.next_name()? {
                    match data.verbatim(|t| crate::jsontext::verbatim_len(t, numbers)) {
                        Some(text) => through.push((name, Token::Nested(text), true)),
                        None => through.push((name, data.value()?, false)),
                    }
                }
                Ok(())
            });
            prop_assert_eq!(a, b, "{}", line);
            if a.is_some() {
                prop_assert_eq!(plain.len(), through.len());
                for ((n1, t1), (n2, t2, taken)) in plain.iter().zip(&through) {
                    prop_assert_eq!(n1, n2);
                    prop_assert_eq!(t1, t2);
                    let verbatim = matches!(t1, Token::Nested(t) if crate::jsontext::is_verbatim(t.as_bytes(), numbers));
                    prop_assert_eq!(*taken, verbatim, "{}", line);
                }
            }
        }
    }

    #[test]
    fn declines_what_it_does_not_take_exactly() {
        for line in [
            &br#"{"kind":"row","table":"t","data":{"a":1}} x"#[..],
            br#"{"kind":"row","data":{"a":1},"table":"t"}"#,
            br#"{"kind":"row","table":"t","data":{"a":1},"extra":1}"#,
            br#"{"kind":"row","table":"t","data":{"a":01}}"#,
            br#"{"kind":"row","table":"t","data":{"a":1,}}"#,
            br#"{"kind":"row","table":"t","data":[]}"#,
            br#"{"kind":"row","table":"t","data":{"a":"\ud800"}}"#,
            br#"{"table":"t","data":{"a":1}}"#,
            b"{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"a\":\"\xff\"}}",
            b"{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"a\":\"\t\"}}",
            br#"{"kind":"row","table":"t","data":{"a":1}"#,
            b"",
        ] {
            assert_eq!(both(line).0, None, "{}", String::from_utf8_lossy(line));
        }
        let deep = format!(r#"{{"kind":"row","table":"t","data":{{"a":{}1{}}}}}"#, "[".repeat(101), "]".repeat(101));
        assert_eq!(both(deep.as_bytes()).0, None, "deeper than MAX_DEPTH");
        let ok = format!(r#"{{"kind":"row","table":"t","data":{{"a":{}1{}}}}}"#, "[".repeat(100), "]".repeat(100));
        let (fast, slow) = both(ok.as_bytes());
        assert_eq!(fast, slow);
        assert!(fast.is_some());
    }

    #[test]
    fn small_ints_are_what_serde_json_reads() {
        for t in ["0", "-1", "7", "999999999999999999", "-999999999999999999", "123456789"] {
            assert_eq!(small_int(t).map(i128::from), serde_json::from_str::<i64>(t).ok().map(i128::from), "{t}");
        }
        for t in ["-0", "01", "1000000000000000000", "", "-", "1.0", "1e2", "+1"] {
            assert_eq!(small_int(t), None, "{t}");
        }
    }
}
