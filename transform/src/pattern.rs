//! Compiled key patterns with named captures: `apikey:{id}`,
//! `usage:{key_id}:daily:{date}`, `cache:{path*}`.
//!
//! A pattern is literal text with `{name}` captures. A plain capture matches
//! one or more bytes up to the next literal of the pattern and never spans a
//! `:` (the usual Redis key separator), so `usage:{key_id}:daily:{date}` cannot
//! mistake `usage:records:x` for a daily key. `{name*}` matches one or more
//! bytes of anything, `:` included. `{_}` captures nothing (a wildcard).
//! `{{` and `}}` are literal braces.
//!
//! Matching is byte-wise (keys need not be UTF-8) and allocation-free: the
//! captures come back as byte ranges of the key.

use std::fmt;
use std::ops::Range;

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Vec<u8>),
    Capture { slot: Option<usize>, greedy: bool },
}

/// A compiled key pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    pieces: Vec<Piece>,
    names: Vec<String>,
}

/// Why a pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatternError {}

impl Pattern {
    /// Compiles `text`.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let err = |msg: String| PatternError(format!("pattern {text:?}: {msg}"));
        let mut pieces: Vec<Piece> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut literal = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'{' if b.get(i + 1) == Some(&b'{') => {
                    literal.push(b'{');
                    i += 2;
                }
                b'}' if b.get(i + 1) == Some(&b'}') => {
                    literal.push(b'}');
                    i += 2;
                }
                b'}' => return Err(err(format!("unmatched '}}' at byte {i} (write '}}}}' for a literal brace)"))),
                b'{' => {
                    let close = b[i + 1..]
                        .iter()
                        .position(|&c| c == b'}')
                        .ok_or_else(|| err(format!("'{{' at byte {i} is never closed")))?;
                    let inner = &text[i + 1..i + 1 + close];
                    let (name, greedy) = match inner.strip_suffix('*') {
                        Some(n) => (n, true),
                        None => (inner, false),
                    };
                    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                        return Err(err(format!(
                            "bad capture {{{inner}}}: a name is letters, digits and '_' (optionally ending in '*')"
                        )));
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    if matches!(pieces.last(), Some(Piece::Capture { .. })) {
                        return Err(err(format!(
                            "capture {{{inner}}} follows another capture directly; put literal text between them"
                        )));
                    }
                    let slot = if name == "_" {
                        None
                    } else {
                        if names.iter().any(|n| n == name) {
                            return Err(err(format!("capture {{{name}}} appears twice")));
                        }
                        names.push(name.to_owned());
                        Some(names.len() - 1)
                    };
                    pieces.push(Piece::Capture { slot, greedy });
                    i += close + 2;
                }
                c => {
                    literal.push(c);
                    i += 1;
                }
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        if pieces.is_empty() {
            return Err(err("empty pattern".into()));
        }
        Ok(Pattern { text: text.to_owned(), pieces, names })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The capture names, in slot order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The slot of capture `name`.
    pub fn slot(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The literal text every matching key starts with (for dispatch).
    pub fn prefix(&self) -> &[u8] {
        match self.pieces.first() {
            Some(Piece::Literal(l)) => l,
            _ => &[],
        }
    }

    /// True when the pattern has no captures (matches one exact key).
    pub fn is_literal(&self) -> bool {
        self.pieces.len() == 1 && matches!(self.pieces[0], Piece::Literal(_))
    }

    /// Matches `key`, filling `caps` (resized to the number of names) with
    /// the byte ranges of the captures. Returns false when `key` does not match.
    pub fn matches(&self, key: &[u8], caps: &mut Vec<Range<usize>>) -> bool {
        caps.clear();
        caps.resize(self.names.len(), 0..0);
        self.match_from(0, key, 0, caps)
    }

    fn match_from(&self, piece: usize, key: &[u8], pos: usize, caps: &mut [Range<usize>]) -> bool {
        let Some(p) = self.pieces.get(piece) else {
            return pos == key.len();
        };
        match p {
            Piece::Literal(lit) => {
                key[pos..].starts_with(lit) && self.match_from(piece + 1, key, pos + lit.len(), caps)
            }
            Piece::Capture { slot, greedy } => {
                let rest = &key[pos..];
                // How far this capture may reach: a plain capture stops at ':'.
                let limit = if *greedy { rest.len() } else { memchr::memchr(b':', rest).unwrap_or(rest.len()) };
                if limit == 0 {
                    return false;
                }
                match self.pieces.get(piece + 1) {
                    None => {
                        if limit != rest.len() {
                            return false;
                        }
                        if let Some(s) = slot {
                            caps[*s] = pos..key.len();
                        }
                        true
                    }
                    Some(Piece::Literal(next)) => {
                        // Try each place the next literal occurs, shortest capture first.
                        let first = next[0];
                        let mut end = 1;
                        while end <= limit {
                            match memchr::memchr(first, &rest[end..]) {
                                None => return false,
                                Some(off) => {
                                    let at = end + off;
                                    if at > limit {
                                        return false;
                                    }
                                    if rest[at..].starts_with(next) {
                                        if let Some(s) = slot {
                                            caps[*s] = pos..pos + at;
                                        }
                                        if self.match_from(piece + 1, key, pos + at, caps) {
                                            return true;
                                        }
                                    }
                                    end = at + 1;
                                }
                            }
                        }
                        false
                    }
                    // parse() never puts two captures side by side.
                    Some(Piece::Capture { .. }) => false,
                }
            }
        }
    }
}

/// A key template for the rows → Redis direction: `apikey:{id}` filled from
/// a row's columns. `{{` / `}}` are literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    parts: Vec<TemplatePart>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal bytes.
    Literal(Vec<u8>),
    /// A column's value, as text.
    Column(String),
}

impl Template {
    /// Compiles `text`.
    pub fn parse(text: &str) -> Result<Template, PatternError> {
        let err = |msg: String| PatternError(format!("key template {text:?}: {msg}"));
        let mut parts = Vec::new();
        let mut literal = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'{' if b.get(i + 1) == Some(&b'{') => {
                    literal.push(b'{');
                    i += 2;
                }
                b'}' if b.get(i + 1) == Some(&b'}') => {
                    literal.push(b'}');
                    i += 2;
                }
                b'}' => return Err(err(format!("unmatched '}}' at byte {i}"))),
                b'{' => {
                    let close = b[i + 1..]
                        .iter()
                        .position(|&c| c == b'}')
                        .ok_or_else(|| err(format!("'{{' at byte {i} is never closed")))?;
                    let name = &text[i + 1..i + 1 + close];
                    if name.is_empty() {
                        return Err(err("empty column name {}".into()));
                    }
                    if !literal.is_empty() {
                        parts.push(TemplatePart::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(TemplatePart::Column(name.to_owned()));
                    i += close + 2;
                }
                c => {
                    literal.push(c);
                    i += 1;
                }
            }
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Literal(literal));
        }
        if parts.is_empty() {
            return Err(err("empty template".into()));
        }
        Ok(Template { text: text.to_owned(), parts })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The pieces.
    pub fn parts(&self) -> &[TemplatePart] {
        &self.parts
    }

    /// The column names the template uses.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Column(c) => Some(c.as_str()),
            TemplatePart::Literal(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(p: &str, key: &str) -> Option<Vec<String>> {
        let pat = Pattern::parse(p).unwrap();
        let mut c = Vec::new();
        pat.matches(key.as_bytes(), &mut c).then(|| c.iter().map(|r| key[r.clone()].to_owned()).collect())
    }

    #[test]
    fn captures() {
        assert_eq!(caps("apikey:{id}", "apikey:42").unwrap(), ["42"]);
        assert!(caps("apikey:{id}", "apikey:").is_none());
        assert!(caps("apikey:{id}", "apikey:4:2").is_none());
        assert!(caps("apikey:{id}", "apikey_hash_map").is_none());
        assert_eq!(caps("usage:{key_id}:daily:{date}", "usage:k1:daily:2025-07-20").unwrap(), ["k1", "2025-07-20"]);
        assert!(caps("usage:{key_id}:daily:{date}", "usage:records:k1").is_none());
        assert_eq!(caps("cache:{path*}", "cache:a:b:c").unwrap(), ["a:b:c"]);
        assert_eq!(caps("{a*}:x:{b}", "p:q:x:r").unwrap(), ["p:q", "r"]);
        assert_eq!(caps("{a*}-{b}", "x-y-z").unwrap(), ["x", "y-z"]);
        assert_eq!(caps("lit", "lit").unwrap(), Vec::<String>::new());
        assert!(caps("lit", "lit2").is_none());
        assert_eq!(caps("a:{_}:{b}", "a:zz:c").unwrap(), ["c"]);
        assert_eq!(caps("{{x}}:{id}", "{x}:1").unwrap(), ["1"]);
    }

    #[test]
    fn bad_patterns() {
        for bad in ["a:{", "a:}", "{a}{b}", "{a}:{a}", "{}", "{a-b}", ""] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Pattern::parse("apikey:{id}").unwrap().prefix(), b"apikey:");
    }

    #[test]
    fn non_utf8_keys() {
        let pat = Pattern::parse("k:{id}").unwrap();
        let mut c = Vec::new();
        assert!(pat.matches(b"k:\xff\x80", &mut c));
        assert_eq!(c[0], 2..4);
    }

    #[test]
    fn templates() {
        let t = Template::parse("{platform}_account:{id}").unwrap();
        assert_eq!(t.columns().collect::<Vec<_>>(), ["platform", "id"]);
        assert!(Template::parse("a:{").is_err());
    }
}
