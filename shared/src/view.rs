//! Borrowed, zero-copy decoding of `redis` lines, for hot paths.
//!
//! [`RedisView::parse`] reads a `redis` line of type string, hash, list, set
//! or zset into slices of the line itself: a field, member or value is
//! copied only when its JSON string has escapes or it is `{"$b64":…}`. It is
//! a fast path, not a second decoder: it answers `None` for anything it does
//! not take on exactly as [`Record::decode`](crate::Record::decode) would
//! (another kind, a stream, a `dump`, a duplicate member, a tagged score, a
//! hash written as pairs, invalid JSON …), and the caller then decodes the
//! line with `Record::decode`, which gives the value or the error. So
//! whatever this view accepts, `Record::decode` decodes to the same record
//! ([`RedisView::to_record`]); the tests check that on the encodings.
//!
//! ```
//! use decant_record::view::{RedisView, RedisValueView};
//! let line = br#"{"kind":"redis","db":0,"key":"apikey:42","type":"hash","expire_at_ms":null,"value":{"name":"prod","tokenLimit":"1000"}}"#;
//! let v = RedisView::parse(line).unwrap();
//! assert_eq!(&*v.key, b"apikey:42");
//! match &v.value {
//!     RedisValueView::Hash(pairs) => assert_eq!(&*pairs[1].1, b"1000"),
//!     other => panic!("{other:?}"),
//! }
//! ```

use std::borrow::Cow;

use crate::jsontext::special_bytes;
use crate::record::{RedisRecord, RedisType, RedisValue};
use crate::value::{decode_b64, first_duplicate, parse_nonfinite};

/// Bytes borrowed from the line, or decoded (escapes, `$b64`).
pub type ViewBytes<'a> = Cow<'a, [u8]>;

/// A `redis` line's value, borrowing from the line.
#[derive(Debug, Clone, PartialEq)]
pub enum RedisValueView<'a> {
    /// A string key's value.
    String(ViewBytes<'a>),
    /// A hash's (field, value) pairs, in line order.
    Hash(Vec<(ViewBytes<'a>, ViewBytes<'a>)>),
    /// A list's elements, in order.
    List(Vec<ViewBytes<'a>>),
    /// A set's members, in line order.
    Set(Vec<ViewBytes<'a>>),
    /// A zset's (member, score) pairs, in line order.
    ZSet(Vec<(ViewBytes<'a>, f64)>),
}

impl RedisValueView<'_> {
    /// The Redis type.
    pub fn redis_type(&self) -> RedisType {
        match self {
            RedisValueView::String(_) => RedisType::String,
            RedisValueView::Hash(_) => RedisType::Hash,
            RedisValueView::List(_) => RedisType::List,
            RedisValueView::Set(_) => RedisType::Set,
            RedisValueView::ZSet(_) => RedisType::ZSet,
        }
    }

    /// Elements (hash fields, members, list items; 1 for a string), as
    /// [`RedisValue::len`] counts them.
    pub fn len(&self) -> usize {
        match self {
            RedisValueView::String(_) => 1,
            RedisValueView::Hash(p) => p.len(),
            RedisValueView::List(i) | RedisValueView::Set(i) => i.len(),
            RedisValueView::ZSet(p) => p.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An owned copy.
    pub fn to_value(&self) -> RedisValue {
        let own = |b: &ViewBytes| b.to_vec();
        match self {
            RedisValueView::String(b) => RedisValue::String(own(b)),
            RedisValueView::Hash(p) => RedisValue::Hash(p.iter().map(|(f, v)| (own(f), own(v))).collect()),
            RedisValueView::List(i) => RedisValue::List(i.iter().map(own).collect()),
            RedisValueView::Set(i) => RedisValue::Set(i.iter().map(own).collect()),
            RedisValueView::ZSet(p) => RedisValue::ZSet(p.iter().map(|(m, s)| (own(m), *s)).collect()),
        }
    }
}

/// A `redis` line (no `dump`), borrowing from the line.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisView<'a> {
    /// The database number.
    pub db: u32,
    /// The key.
    pub key: ViewBytes<'a>,
    /// Absolute expiry in Unix ms, `None` when the key persists.
    pub expire_at_ms: Option<i64>,
    /// Part number of a split key.
    pub part: Option<u32>,
    /// True on the last part of a split key.
    pub last: bool,
    /// The value.
    pub value: RedisValueView<'a>,
}

impl<'a> RedisView<'a> {
    /// Reads a `redis` line (without its newline); `None` when the line is
    /// anything else or needs the full decoder (see the module docs).
    pub fn parse(line: &'a [u8]) -> Option<RedisView<'a>> {
        // One UTF-8 check up front, as the full decoder does: strings are
        // then valid UTF-8 slices of the line.
        std::str::from_utf8(line).ok()?;
        let mut p = Parser { s: line, i: 0 };
        let mut kind_seen = false;
        let (mut db, mut key, mut ty, mut expire, mut value) = (None, None, None, None, None);
        let (mut part, mut last): (Option<Option<u32>>, Option<bool>) = (None, None);
        let mut raw_value: Option<&'a [u8]> = None;
        p.ws();
        p.object(|p, name| {
            match &*name {
                b"kind" if !kind_seen => {
                    if &*p.string()? != b"redis" {
                        return None;
                    }
                    kind_seen = true;
                }
                b"db" if db.is_none() => db = Some(u32::try_from(p.uint()?).ok()?),
                b"key" if key.is_none() => key = Some(p.bytes()?),
                b"type" if ty.is_none() => {
                    ty = Some(match &*p.string()? {
                        b"string" => RedisType::String,
                        b"hash" => RedisType::Hash,
                        b"list" => RedisType::List,
                        b"set" => RedisType::Set,
                        b"zset" => RedisType::ZSet,
                        _ => return None,
                    })
                }
                b"expire_at_ms" if expire.is_none() => {
                    expire = Some(if p.null() { None } else { Some(p.int()?) });
                }
                b"part" if part.is_none() => {
                    part = Some(if p.null() { None } else { Some(u32::try_from(p.uint()?).ok()?) });
                }
                b"last" if last.is_none() => last = Some(p.boolean()?),
                b"value" if value.is_none() && raw_value.is_none() => match (kind_seen, ty) {
                    (true, Some(t)) => value = Some(p.redis_value(t)?),
                    _ => {
                        let start = p.i;
                        p.skip()?;
                        raw_value = Some(&line[start..p.i]);
                    }
                },
                b"kind" | b"db" | b"key" | b"type" | b"expire_at_ms" | b"part" | b"last" | b"value" => return None,
                // The full decoder takes these; this view does not (a view
                // that skipped field expiries or a module name would lose them).
                b"dump" | b"table" | b"data" | b"field_expire_at_ms" | b"module" => return None,
                _ => p.skip()?,
            }
            Some(())
        })?;
        p.ws();
        if p.i != line.len() || !kind_seen {
            return None;
        }
        let ty = ty?;
        let value = match (value, raw_value) {
            (Some(v), _) => v,
            (None, Some(raw)) => {
                let mut q = Parser { s: raw, i: 0 };
                q.redis_value(ty)?
            }
            (None, None) => return None,
        };
        let part = part.flatten();
        Some(RedisView {
            db: db.unwrap_or(0),
            key: key?,
            expire_at_ms: expire.flatten(),
            part,
            last: part.is_some() && last.unwrap_or(false),
            value,
        })
    }

    /// A view of a decoded record (borrowing it), so code written for views
    /// serves records too (a `dump` and hash field expiries are left out:
    /// check them on the record where they matter); `None` for streams and
    /// module keys.
    pub fn of(r: &'a RedisRecord) -> Option<RedisView<'a>> {
        let b = |v: &'a Vec<u8>| Cow::Borrowed(v.as_slice());
        let value = match &r.value {
            RedisValue::String(s) => RedisValueView::String(b(s)),
            RedisValue::Hash(p) => RedisValueView::Hash(p.iter().map(|(f, v)| (b(f), b(v))).collect()),
            RedisValue::List(i) => RedisValueView::List(i.iter().map(b).collect()),
            RedisValue::Set(i) => RedisValueView::Set(i.iter().map(b).collect()),
            RedisValue::ZSet(p) => RedisValueView::ZSet(p.iter().map(|(m, s)| (b(m), *s)).collect()),
            RedisValue::Stream(_) | RedisValue::Module(_) => return None,
        };
        Some(RedisView {
            db: r.db,
            key: Cow::Borrowed(&r.key),
            expire_at_ms: r.expire_at_ms,
            part: r.part,
            last: r.last,
            value,
        })
    }

    /// The owned record the full decoder gives for the same line.
    pub fn to_record(&self) -> RedisRecord {
        RedisRecord {
            db: self.db,
            key: self.key.to_vec(),
            expire_at_ms: self.expire_at_ms,
            value: self.value.to_value(),
            part: self.part,
            last: self.last,
            dump: None,
            field_expire_at_ms: Vec::new(),
        }
    }
}

/// The members of a JSON object text, each as (name, raw JSON text of its
/// value), in order, the whole text checked for syntax — so a caller that
/// needs a few members decodes only those (with [`member_value`]).
/// `None` when the text is not valid UTF-8, not exactly one JSON object, has
/// a member named twice, or its first member's name starts with `$` (a
/// tagged value, which the full decoder reads differently): decode those
/// whole.
pub fn object_members(text: &[u8]) -> Option<Vec<(ViewBytes<'_>, &[u8])>> {
    let text = std::str::from_utf8(text).ok()?;
    let members = object_members_of_text(text)?;
    Some(members.into_iter().map(|(name, raw)| (name, raw.as_bytes())).collect())
}

/// [`object_members`] of a text already known to be UTF-8 (no second
/// check), each member's raw JSON text as `&str` (for [`member_text_value`]).
pub fn object_members_of_text(text: &str) -> Option<Vec<(ViewBytes<'_>, &str)>> {
    let bytes = text.as_bytes();
    let mut p = Parser { s: bytes, i: 0 };
    let mut members = Vec::with_capacity(8);
    p.ws();
    p.object(|p, name| {
        let start = p.i;
        p.skip()?;
        // A value starts and ends with an ASCII byte: both ends are char
        // boundaries, so `get` always answers.
        members.push((name, text.get(start..p.i)?));
        Some(())
    })?;
    p.ws();
    if p.i != bytes.len()
        || members.first().is_some_and(|(n, _)| n.first() == Some(&b'$'))
        || first_duplicate(members.iter().map(|(n, _)| &**n)).is_some()
    {
        return None;
    }
    Some(members)
}

/// Decodes the raw JSON text of one member (from [`object_members`]) as
/// `serde_json::from_slice::<Value>` does — directly for plain strings,
/// integers, booleans and null, through serde_json for anything else.
pub fn member_value(raw: &[u8]) -> Result<crate::Value, serde_json::Error> {
    member_value_of(raw, None)
}

/// [`member_value`] of a member's text from [`object_members_of_text`]: a
/// string member is then a slice of UTF-8 text and is not checked again.
pub fn member_text_value(raw: &str) -> Result<crate::Value, serde_json::Error> {
    member_value_of(raw.as_bytes(), Some(raw))
}

/// `raw`, and `text` when the caller has it as UTF-8 already.
fn member_value_of(raw: &[u8], text: Option<&str>) -> Result<crate::Value, serde_json::Error> {
    use crate::Value;
    match raw {
        b"null" => return Ok(Value::Null),
        b"true" => return Ok(Value::Bool(true)),
        b"false" => return Ok(Value::Bool(false)),
        [b'"', body @ .., b'"'] if !body.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20) => {
            // Between two ASCII quotes of UTF-8 text: a char boundary each.
            let body_text = match text {
                Some(t) => t.get(1..t.len() - 1),
                None => std::str::from_utf8(body).ok(),
            };
            if let Some(body_text) = body_text {
                return Ok(Value::String(body_text.to_owned()));
            }
        }
        [b'-' | b'0'..=b'9', ..] if raw.len() <= 18 && raw[1..].iter().all(u8::is_ascii_digit) => {
            // JSON integers: no leading zero, and "-" needs a digit. At most
            // 18 digits: the value fits an i64 as it is accumulated.
            let digits = raw.strip_prefix(b"-").unwrap_or(raw);
            if !digits.is_empty() && (digits[0] != b'0' || digits.len() == 1) {
                let n = digits.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
                return Ok(Value::Int(i128::from(if raw[0] == b'-' { -n } else { n })));
            }
        }
        [b'-' | b'0'..=b'9', ..] if raw.len() <= 32 && is_json_number(raw) => {
            // serde_json (float_roundtrip) and Rust parse decimal text to the
            // same nearest double; out-of-range numbers are left to serde_json.
            if let Some(f) = std::str::from_utf8(raw).ok().and_then(|t| t.parse::<f64>().ok()) {
                if f.is_finite() && raw.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
                    return Ok(Value::Float(f));
                }
            }
        }
        _ => {}
    }
    serde_json::from_slice::<Value>(raw)
}

/// True when `raw` is exactly one JSON number.
fn is_json_number(raw: &[u8]) -> bool {
    let mut p = Parser { s: raw, i: 0 };
    p.number_text().is_some() && p.i == raw.len()
}

/// A strict JSON scanner over one line (already checked to be UTF-8).
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
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

    fn lit(&mut self, word: &[u8]) -> Option<()> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    fn null(&mut self) -> bool {
        self.lit(b"null").is_some()
    }

    fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.lit(b"true").map(|_| true),
            b'f' => self.lit(b"false").map(|_| false),
            _ => None,
        }
    }

    /// A JSON string: borrowed when it has no escapes.
    fn string(&mut self) -> Option<ViewBytes<'a>> {
        self.eat(b'"')?;
        let s = self.s;
        let start = self.i;
        let mut i = self.plain_run(start);
        match *s.get(i)? {
            b'"' => {
                self.i = i + 1;
                return Some(Cow::Borrowed(&s[start..i]));
            }
            b'\\' => {}
            _ => return None,
        }
        // Room for the usual escaped string (a JSON document in a list
        // element, a few hundred bytes) without a series of reallocations.
        let mut out = Vec::with_capacity((s.len() - start).min(i - start + 512));
        out.extend_from_slice(&s[start..i]);
        loop {
            // Here `s[i]` is a quote, backslash or control byte (or the end).
            match *s.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    self.i = i + 1;
                    match self.next()? {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = match hi {
                                0xD800..=0xDBFF => {
                                    self.lit(b"\\u")?;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..=0xDFFF).contains(&lo) {
                                        return None;
                                    }
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                                }
                                0xDC00..=0xDFFF => return None,
                                c => char::from_u32(c)?,
                            };
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                    i = self.i;
                }
                _ => return None,
            }
            i = copy_plain_run(s, i, &mut out);
        }
    }

    /// The end of the run of plain string bytes from `i` (the index of the
    /// next quote, backslash or control character, or the end).
    fn plain_run(&self, i: usize) -> usize {
        plain_run(self.s, i)
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        let mut v = 0u32;
        for &c in h {
            v = v * 16 + (c as char).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }

    /// A byte string: a JSON string, or exactly `{"$b64":"…"}`.
    fn bytes(&mut self) -> Option<ViewBytes<'a>> {
        match self.peek()? {
            b'"' => self.string(),
            b'{' => {
                self.i += 1;
                self.ws();
                if &*self.string()? != b"$b64" {
                    return None;
                }
                self.ws();
                self.eat(b':')?;
                self.ws();
                let text = self.string()?;
                self.ws();
                self.eat(b'}')?;
                let text = std::str::from_utf8(&text).ok()?;
                decode_b64(text).ok().map(Cow::Owned)
            }
            _ => None,
        }
    }

    /// The text of a JSON number (strict grammar).
    fn number_text(&mut self) -> Option<&'a str> {
        let start = self.i;
        self.skip_number()?;
        std::str::from_utf8(&self.s[start..self.i]).ok()
    }

    /// Passes a JSON number (strict grammar): ASCII digits, signs, `.`, `e`.
    fn skip_number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            let d = self.i;
            self.digits();
            if self.i == d {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            let d = self.i;
            self.digits();
            if self.i == d {
                return None;
            }
        }
        Some(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    /// An integer written without fraction or exponent.
    fn int(&mut self) -> Option<i64> {
        let start = self.i;
        self.skip_number()?;
        // Up to 18 digits (an expiry in ms has 13): accumulated in an i64
        // without the UTF-8 check and `parse` (skip_number saw a digit).
        let raw = &self.s[start..self.i];
        let digits = raw.strip_prefix(b"-").unwrap_or(raw);
        if digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
            let n = digits.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
            return Some(if raw[0] == b'-' { -n } else { n });
        }
        self.i = start;
        let t = self.number_text()?;
        if t.contains(['.', 'e', 'E']) {
            return None;
        }
        t.parse().ok()
    }

    fn uint(&mut self) -> Option<u64> {
        let t = self.number_text()?;
        if t.contains(['.', 'e', 'E', '-']) {
            return None;
        }
        t.parse().ok()
    }

    /// A zset score: a number, or "inf" / "-inf".
    fn score(&mut self) -> Option<f64> {
        match self.peek()? {
            b'"' => {
                let s = self.string()?;
                parse_nonfinite(std::str::from_utf8(&s).ok()?).filter(|f| !f.is_nan())
            }
            _ => {
                let t = self.number_text()?;
                let f: f64 = t.parse().ok()?;
                f.is_finite().then_some(f)
            }
        }
    }

    /// `{ "name": value, … }`, each value read by `member` (given the name).
    fn object(&mut self, mut member: impl FnMut(&mut Self, ViewBytes<'a>) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let name = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            member(self, name)?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// `[ item, … ]`, each read by `item`.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            item(self)?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    fn redis_value(&mut self, ty: RedisType) -> Option<RedisValueView<'a>> {
        Some(match ty {
            RedisType::Stream | RedisType::Module => return None,
            RedisType::String => RedisValueView::String(self.bytes()?),
            RedisType::Hash => {
                let mut pairs = Vec::with_capacity(16);
                self.object(|p, f| {
                    pairs.push((f, p.bytes()?));
                    Some(())
                })?;
                // The full decoder rejects a field given twice, and takes a
                // first field named like a tag for a tagged value.
                if first_duplicate(pairs.iter().map(|(f, _)| &**f)).is_some()
                    || pairs.first().is_some_and(|(f, _)| f.first() == Some(&b'$'))
                {
                    return None;
                }
                RedisValueView::Hash(pairs)
            }
            RedisType::List | RedisType::Set => {
                let mut items = Vec::with_capacity(16);
                self.array(|p| {
                    items.push(p.bytes()?);
                    Some(())
                })?;
                if ty == RedisType::List {
                    RedisValueView::List(items)
                } else {
                    RedisValueView::Set(items)
                }
            }
            RedisType::ZSet => {
                let mut pairs = Vec::with_capacity(8);
                self.array(|p| {
                    p.eat(b'[')?;
                    p.ws();
                    let m = p.bytes()?;
                    p.ws();
                    p.eat(b',')?;
                    p.ws();
                    let s = p.score()?;
                    p.ws();
                    p.eat(b']')?;
                    pairs.push((m, s));
                    Some(())
                })?;
                RedisValueView::ZSet(pairs)
            }
        })
    }

    /// Skips any JSON value, checking its syntax.
    fn skip(&mut self) -> Option<()> {
        self.skip_depth(0)
    }

    fn skip_depth(&mut self, depth: u32) -> Option<()> {
        // serde_json's own recursion limit is 128.
        if depth > 100 {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.object(|p, _| p.skip_depth(depth + 1)),
            b'[' => self.array(|p| p.skip_depth(depth + 1)),
            b't' => self.lit(b"true"),
            b'f' => self.lit(b"false"),
            b'n' => self.lit(b"null"),
            _ => self.skip_number(),
        }
    }
}

/// The end of the run of plain JSON string bytes of `s` from `i`: the index
/// of the next quote, backslash or control character, or the end.
pub(crate) fn plain_run(s: &[u8], i: usize) -> usize {
    let rest = &s[i.min(s.len())..];
    // Most strings (field names, numbers as text, ids) end within a few
    // words: test 8 bytes at a time in registers before paying for
    // memchr's set-up and a second pass (ids of 36 bytes too).
    let mut at = 0;
    while at < 64 {
        let Some(word) = rest.get(at..at + 8) else { break };
        let stop = special_bytes(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        if stop != 0 {
            return i + at + (stop.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let i = i + at;
    let rest = &rest[at..];
    let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    // A branch-free test the compiler vectorises; the rare control
    // character is then found byte by byte.
    if rest[..end].iter().fold(false, |bad, &c| bad | (c < 0x20)) {
        return i + rest[..end].iter().position(|&c| c < 0x20).unwrap_or(end);
    }
    i + end
}

/// Appends to `out` the run of plain JSON string bytes of `s` from `i` and
/// returns where it ends (the next quote, backslash or control byte, or the
/// end). Between the escapes of a JSON document kept as a string (`\"` every
/// few bytes) the runs are short: each word of 8 bytes is appended whole (a
/// fixed-size copy, no call) and the bytes past the run's end are cut off
/// again, instead of a copy call per run or a push per byte.
fn copy_plain_run(s: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    while let Some(word) = s.get(i..i + 8) {
        let word: [u8; 8] = word.try_into().unwrap_or_default();
        let stop = special_bytes(u64::from_le_bytes(word));
        out.extend_from_slice(&word);
        if stop != 0 {
            // The lowest flag is exact (see `special_bytes`).
            let k = (stop.trailing_zeros() / 8) as usize;
            out.truncate(out.len() - (8 - k));
            return i + k;
        }
        i += 8;
    }
    while let Some(&c) = s.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        out.push(c);
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;

    proptest::proptest! {
        /// The word-at-a-time scan stops where a byte-by-byte one does, for
        /// strings of every length around the 8-byte words and the 64-byte
        /// switch to memchr, with the stop bytes anywhere (or nowhere).
        #[test]
        fn plain_run_stops_at_the_first_special_byte(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![8 => 0x20u8..=0xff, 1 => proptest::sample::select(vec![b'"', b'\\', 0, 0x1f, 0x7f, 0x80, 0x9f, 0xa0])],
                0..110,
            ),
            from in 0usize..10,
        ) {
            let p = Parser { s: &bytes, i: 0 };
            let from = from.min(bytes.len());
            let naive = bytes[from..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map_or(bytes.len(), |k| from + k);
            proptest::prop_assert_eq!(p.plain_run(from), naive);
        }
    }

    proptest::proptest! {
        /// The run copied word by word is the run a byte-by-byte scan finds,
        /// appended after what `out` held, whatever its length around the
        /// 8-byte words and however near the end of the text it stops.
        #[test]
        fn copied_plain_runs_are_the_bytes_before_the_first_special_byte(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![8 => 0x20u8..=0xff, 1 => proptest::sample::select(vec![b'"', b'\\', 0, 0x1f, 0x7f, 0x80])],
                0..40,
            ),
            from in 0usize..12,
        ) {
            let from = from.min(bytes.len());
            let naive = bytes[from..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map_or(bytes.len(), |k| from + k);
            let mut out = b"ab".to_vec();
            let end = copy_plain_run(&bytes, from, &mut out);
            proptest::prop_assert_eq!(end, naive);
            proptest::prop_assert_eq!(&out[2..], &bytes[from..naive]);
            proptest::prop_assert_eq!(&out[..2], b"ab");
        }
    }

    proptest::proptest! {
        /// An escaped string reads back as serde_json reads it, whatever the
        /// runs between its escapes (around the 8-byte words) and wherever
        /// it ends (a word past the closing quote, or not).
        #[test]
        fn escaped_strings_read_as_serde_json_reads_them(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => proptest::char::range(' ', '~'),
                    1 => proptest::sample::select(vec!['"', '\\', '\n', '\u{1}', '\u{1f}', 'é', '😀', '\u{7f}']),
                ],
                0..70,
            ),
            tail in "[a-z,\\]}]{0,9}",
            unicode_escapes in proptest::bool::ANY,
        ) {
            let text: String = text.into_iter().collect();
            let mut json = serde_json::to_string(&text).unwrap();
            if unicode_escapes {
                json = json.replace('é', "\\u00e9").replace('😀', "\\ud83d\\ude00");
            }
            let input = format!("{json}{tail}");
            let mut p = Parser { s: input.as_bytes(), i: 0 };
            let got = p.string();
            proptest::prop_assert_eq!(got.as_deref(), Some(text.as_bytes()));
            proptest::prop_assert_eq!(p.i, json.len());
            // Cut short anywhere inside, it is not a string.
            for cut in 1..json.len() {
                let mut p = Parser { s: &json.as_bytes()[..cut], i: 0 };
                proptest::prop_assert!(p.string().is_none(), "{}", &json[..cut]);
            }
        }
    }

    proptest::proptest! {
        /// A member's value decodes as serde_json decodes it, from bytes and
        /// from text alike (the text path takes strings without a second
        /// UTF-8 check, integers of up to 18 digits without `parse`); the
        /// members of an object text are those of its bytes.
        #[test]
        fn members_decode_as_serde_json_decodes_them(
            raw in proptest::prop_oneof![
                "-?(0|[1-9][0-9]{0,19})",
                "-?0[0-9]{1,3}",
                "-?[0-9]{0,4}(\\.[0-9]{0,3})?([eE][-+]?[0-9]{0,3})?",
                "\"([a-z é😀\\\\\"]|\\\\u00e9){0,8}\"",
                "true|false|null|-|\\[1,\"a\"\\]|\\{\"k\":1\\}",
            ],
        ) {
            let serde = serde_json::from_str::<crate::Value>(&raw).ok();
            let from_bytes = member_value(raw.as_bytes()).ok();
            // `-0` is the exception (kept as it was): serde_json reads a
            // float -0.0, member_value the integer 0.
            if raw != "-0" {
                proptest::prop_assert_eq!(&from_bytes, &serde);
            }
            proptest::prop_assert_eq!(member_text_value(&raw).ok(), from_bytes);
            let object = format!("{{\"a\":{raw},\"b\":{raw}}}");
            let of_text = object_members_of_text(&object)
                .map(|m| m.into_iter().map(|(n, v)| (n.into_owned(), v.as_bytes().to_vec())).collect::<Vec<_>>());
            let of_bytes = object_members(object.as_bytes())
                .map(|m| m.into_iter().map(|(n, v)| (n.into_owned(), v.to_vec())).collect::<Vec<_>>());
            proptest::prop_assert_eq!(of_text, of_bytes);
        }
    }

    proptest::proptest! {
        /// An integer is read as `number_text` and `parse` read it (the
        /// digits accumulated up to 18, parsed past), and anything else
        /// (fractions, exponents, bad grammar) is still declined.
        #[test]
        fn integers_read_as_parse_reads_them(text in "-?(0|[1-9][0-9]{0,20})|-?0[0-9]|-?[0-9]{1,3}[.eE][0-9]{0,2}|-|-?[0-9]{1,20},") {
            let mut p = Parser { s: text.as_bytes(), i: 0 };
            let got = p.int().map(|n| (n, p.i));
            let mut q = Parser { s: text.as_bytes(), i: 0 };
            let want = q.number_text().and_then(|t| {
                if t.contains(['.', 'e', 'E']) { None } else { t.parse::<i64>().ok() }
            }).map(|n| (n, q.i));
            proptest::prop_assert_eq!(got, want, "{}", text);
        }
    }

    /// The view gives what the full decoder gives, or declines.
    fn same(line: &str) -> bool {
        let full = Record::decode(line.as_bytes());
        match RedisView::parse(line.as_bytes()) {
            Some(v) => {
                assert_eq!(full, Ok(Record::Redis(v.to_record())), "{line}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn takes_the_hot_encodings_as_the_full_decoder_does() {
        for line in [
            r#"{"kind":"redis","db":0,"key":"apikey:42","type":"hash","expire_at_ms":null,"value":{"name":"prod","n":"1"}}"#,
            r#"{"kind":"redis","db":3,"key":"k","type":"hash","expire_at_ms":1700000000000,"value":{"tok":{"$b64":"/w=="},"e":"a\"b\\c\u00e9\ud83d\ude80\n"}}"#,
            r#"{"kind":"redis","db":0,"key":"l","type":"list","expire_at_ms":null,"value":["{\"a\":1}","x",{"$b64":"AAE="}]}"#,
            r#"{"kind":"redis","db":0,"key":"s","type":"set","expire_at_ms":null,"value":[]}"#,
            r#"{"kind":"redis","db":0,"key":"z","type":"zset","expire_at_ms":null,"value":[["a",1.5],["b","inf"],["c",-2e3],["d",7]]}"#,
            r#"{"kind":"redis","db":0,"key":"s","type":"string","expire_at_ms":5,"value":"v"}"#,
            r#"{"kind":"redis","db":0,"key":"big","type":"list","expire_at_ms":null,"part":2,"last":true,"value":["a"]}"#,
            r#" { "type" : "hash" , "value" : { "f" : "v" } , "key" : "k" , "kind" : "redis" , "extra" : [1, {"x": null}] } "#,
            r#"{"kind":"redis","key":{"$b64":"gA=="},"type":"hash","value":{}}"#,
        ] {
            assert!(same(line), "the view should take {line}");
        }
    }

    #[test]
    fn declines_what_it_does_not_take_exactly() {
        for line in [
            r#"{"kind":"row","table":"t","data":{"id":1}}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"hash","value":{"f":"1","f":"2"}}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"hash","value":{"f":1}}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"hash","value":[["f","v"]]}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"stream","value":{"entries":[]}}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"string","value":"v","dump":{"$b64":"AA=="}}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"string","value":"v"} x"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"string","value":"v","kind":"redis"}"#,
            r#"{"kind":"redis","db":-1,"key":"k","type":"string","value":"v"}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"zset","value":[["a",{"$float":"inf"}]]}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"string","value":"bad \ud800"}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"string","value":"tab	in"}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"list","value":[01]}"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"hash","value":{"$b64":"AA=="}}"#,
            "{\"kind\":\"redis\",\"db\":0,\"key\":\"k\",\"type\":\"string\",\"value\":\"v\"",
        ] {
            assert!(!same(line), "the view should decline {line}");
        }
    }

    #[test]
    fn value_arriving_before_its_type_is_read_afterwards() {
        let line = br#"{"value":["a","b"],"kind":"redis","key":"k","type":"list"}"#;
        let v = RedisView::parse(line).unwrap();
        assert_eq!(v.value, RedisValueView::List(vec![Cow::Borrowed(&b"a"[..]), Cow::Borrowed(&b"b"[..])]));
        assert_eq!(v.value.len(), 2);
    }
}
