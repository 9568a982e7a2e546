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
//! Matching is byte-wise (keys need not be UTF-8), takes time linear in the
//! key's length whatever the key (no unbounded backtracking: one odd key
//! must not stall a migration), and allocates nothing once warmed up: the
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
    ///
    /// Each capture takes the shortest text that lets the rest of the
    /// pattern match, earlier captures first. The time is linear in the
    /// key's length (times the pattern's length), whatever the key: see
    /// [`Pattern::match_counting`].
    pub fn matches(&self, key: &[u8], caps: &mut Vec<Range<usize>>) -> bool {
        let mut steps = 0;
        self.match_counting(key, caps, &mut steps)
    }

    /// [`Pattern::matches`], adding to `steps` the work done (one per byte
    /// position per piece, plus the literal bytes compared): at most
    /// `(pieces + 1) × (key length + 1)` positions, each visited a bounded
    /// number of times. A backtracking matcher would take exponential time
    /// on a key like sixty dashes against `{a}-{b}-…-{j}`.
    pub fn match_counting(&self, key: &[u8], caps: &mut Vec<Range<usize>>, steps: &mut usize) -> bool {
        caps.clear();
        caps.resize(self.names.len(), 0..0);
        // A single literal, or a literal prefix that does not fit: no table needed.
        if !key.starts_with(self.prefix()) {
            *steps += 1;
            return false;
        }
        if self.is_literal() {
            *steps += 1;
            return key.len() == self.prefix().len();
        }
        // Most keys match (or fail) at the first try of each capture: a
        // backtracking search with a budget linear in the key's length finds
        // them without a table. Only a key that exhausts the budget (many
        // places where the next literal occurs, none of which work out) is
        // matched through the table.
        let mut budget = 4 * (self.pieces.len() + 1) * (key.len() + 1);
        let start = budget;
        let found = self.backtrack(0, key, 0, caps, &mut budget);
        *steps += start - budget;
        if let Some(found) = found {
            return found;
        }
        MATCH_TABLE.with(|table| {
            let mut table = table.borrow_mut();
            self.fill_table(key, &mut table, steps) && self.read_captures(key, &table, caps, steps)
        })
    }

    /// Shortest-first backtracking (the reference semantics), giving up
    /// (`None`) once `budget` tries are spent.
    fn backtrack(
        &self,
        piece: usize,
        key: &[u8],
        pos: usize,
        caps: &mut [Range<usize>],
        budget: &mut usize,
    ) -> Option<bool> {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        let Some(p) = self.pieces.get(piece) else {
            return Some(pos == key.len());
        };
        match p {
            Piece::Literal(lit) => {
                if !key[pos..].starts_with(lit) {
                    return Some(false);
                }
                self.backtrack(piece + 1, key, pos + lit.len(), caps, budget)
            }
            Piece::Capture { slot, greedy } => {
                let rest = &key[pos..];
                // How far this capture may reach: a plain capture stops at ':'.
                let limit = if *greedy { rest.len() } else { memchr::memchr(b':', rest).unwrap_or(rest.len()) };
                // The budget pays for the bytes scanned, not only the tries.
                *budget = budget.checked_sub(limit)?;
                if limit == 0 {
                    return Some(false);
                }
                let Some(Piece::Literal(next)) = self.pieces.get(piece + 1) else {
                    // The last piece (parse() never puts two captures side by side).
                    if limit != rest.len() {
                        return Some(false);
                    }
                    if let Some(s) = slot {
                        caps[*s] = pos..key.len();
                    }
                    return Some(true);
                };
                // Try each place the next literal occurs, shortest capture first.
                let mut end = 1;
                while end <= limit {
                    let Some(off) = memchr::memchr(next[0], &rest[end..]) else {
                        return Some(false);
                    };
                    let at = end + off;
                    if at > limit {
                        return Some(false);
                    }
                    *budget = budget.checked_sub(off)?;
                    if rest[at..].starts_with(next) {
                        if let Some(s) = slot {
                            caps[*s] = pos..pos + at;
                        }
                        if self.backtrack(piece + 1, key, pos + at, caps, budget)? {
                            return Some(true);
                        }
                    }
                    end = at + 1;
                }
                Some(false)
            }
        }
    }

    /// Fills `ok`, row by row from the last piece: `ok[i][pos]` says whether
    /// pieces `i..` match `key[pos..]`. Returns `ok[0][0]`.
    fn fill_table(&self, key: &[u8], ok: &mut Vec<bool>, steps: &mut usize) -> bool {
        let n = key.len();
        let width = n + 1;
        let rows = self.pieces.len() + 1;
        ok.clear();
        ok.resize(rows * width, false);
        // The end of the pattern matches only the end of the key.
        ok[self.pieces.len() * width + n] = true;
        for (i, piece) in self.pieces.iter().enumerate().rev() {
            let (here, next) = ok.split_at_mut((i + 1) * width);
            let here = &mut here[i * width..];
            let next = &next[..width];
            match piece {
                Piece::Literal(lit) => {
                    for pos in 0..width {
                        *steps += 1;
                        let end = pos + lit.len();
                        if end <= n && next[end] {
                            *steps += lit.len();
                            here[pos] = key[pos..end] == lit[..];
                        }
                    }
                }
                Piece::Capture { greedy, .. } => {
                    // Walking down from the end: the nearest position after
                    // `pos` where the rest matches, and the nearest ':' at or
                    // after `pos` (a plain capture stops there).
                    let last = i + 1 == self.pieces.len();
                    let mut nearest: Option<usize> = None;
                    let mut colon = n;
                    for pos in (0..n).rev() {
                        *steps += 1;
                        if next[pos + 1] {
                            nearest = Some(pos + 1);
                        }
                        if key[pos] == b':' {
                            colon = pos;
                        }
                        let limit = if *greedy { n } else { colon };
                        here[pos] = if last { limit == n } else { nearest.is_some_and(|q| q <= limit) };
                    }
                }
            }
        }
        ok[0]
    }

    /// Walks a filled table from the start, giving each capture the
    /// shortest text after which the rest still matches.
    fn read_captures(&self, key: &[u8], ok: &[bool], caps: &mut [Range<usize>], steps: &mut usize) -> bool {
        let width = key.len() + 1;
        let mut pos = 0;
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Literal(lit) => pos += lit.len(),
                Piece::Capture { slot, .. } => {
                    let next = &ok[(i + 1) * width..(i + 2) * width];
                    let mut end = pos + 1;
                    while !next[end] {
                        *steps += 1;
                        end += 1;
                    }
                    if let Some(s) = slot {
                        caps[*s] = pos..end;
                    }
                    pos = end;
                }
            }
        }
        pos == key.len()
    }
}

thread_local! {
    /// The matcher's table, reused from key to key (matching stays allocation-free
    /// once it has seen the longest key).
    static MATCH_TABLE: std::cell::RefCell<Vec<bool>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A key template for the rows → Redis direction: `apikey:{id}` filled from
/// a row's columns; `{hour|02}` zero-pads a number to 2 digits. `{{` / `}}`
/// are literal braces.
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
    /// A column's number zero-padded to this many digits (`{stat_hour|02}`).
    Padded(String, usize),
}

/// The widest zero padding a template may ask for: enough for any number a
/// column holds, small enough that a typo cannot ask for megabytes per key.
const MAX_ZERO_PAD: usize = 64;

/// The width of a `|0N` zero-padding format: `02` → 2, `05` → 5, `010` → 10.
pub(crate) fn zero_pad_width(format: &str) -> Option<usize> {
    let digits = format.strip_prefix('0')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|w| (1..=MAX_ZERO_PAD).contains(w))
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
                    let inner = &text[i + 1..i + 1 + close];
                    let (name, pad) = match inner.split_once('|') {
                        Some((n, p)) if zero_pad_width(p).is_some() => (n, zero_pad_width(p)),
                        Some((_, p)) => {
                            return Err(err(format!(
                                "{{{inner}}}: after '|' give 0N for a number zero-padded to N digits, not {p:?}"
                            )))
                        }
                        None => (inner, None),
                    };
                    if name.is_empty() {
                        return Err(err("empty column name {}".into()));
                    }
                    if !literal.is_empty() {
                        parts.push(TemplatePart::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(match pad {
                        Some(width) => TemplatePart::Padded(name.to_owned(), width),
                        None => TemplatePart::Column(name.to_owned()),
                    });
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
            TemplatePart::Column(c) | TemplatePart::Padded(c, _) => Some(c.as_str()),
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

    /// The matcher as it was before it became linear: unbounded shortest-first
    /// backtracking. The semantics to keep.
    fn reference(pat: &Pattern, piece: usize, key: &[u8], pos: usize, caps: &mut [Range<usize>]) -> bool {
        let mut budget = usize::MAX;
        pat.backtrack(piece, key, pos, caps, &mut budget).expect("an unbounded budget never runs out")
    }

    /// The table matcher alone (the path odd keys take).
    fn by_table(pat: &Pattern, key: &[u8]) -> Option<Vec<Range<usize>>> {
        let mut caps = vec![0..0; pat.names().len()];
        let mut table = Vec::new();
        let mut steps = 0;
        (pat.fill_table(key, &mut table, &mut steps) && pat.read_captures(key, &table, &mut caps, &mut steps))
            .then_some(caps)
    }

    #[test]
    fn ten_captures_on_sixty_dashes_take_linear_steps() {
        // Regression: `match_from` backtracked without bound here (86 CPU s).
        let pat = Pattern::parse("{a}-{b}-{c}-{d}-{e}-{f}-{g}-{h}-{i}-{j}").unwrap();
        let bound = |n: usize| 8 * (pat.pieces.len() + 1) * (n + 1);
        for n in [60, 600, 6000] {
            // Dashes end with a ':' that no plain capture may take: nothing
            // matches, after (for backtracking) C(n, 9) tries.
            for (key, want) in
                [("-".repeat(n), true), (format!("{}:", "-".repeat(n)), false), (format!("{}-", "-".repeat(n)), true)]
            {
                let mut caps = Vec::new();
                let mut steps = 0;
                let hit = pat.match_counting(key.as_bytes(), &mut caps, &mut steps);
                assert_eq!(hit, want, "{n} dashes: {key:?}");
                assert!(steps <= bound(key.len()), "{steps} steps for {} bytes", key.len());
            }
        }
        let key = "-".repeat(60);
        let mut caps = Vec::new();
        assert!(pat.matches(key.as_bytes(), &mut caps));
        assert_eq!(caps[0], 0..1);
        assert_eq!(caps[9], 18..60);
        // Greedy captures against many colons.
        let pat = Pattern::parse("{a*}:{b*}:{c*}:{d*}:{e*}:z").unwrap();
        let key = ":".repeat(5000);
        let mut steps = 0;
        assert!(!pat.match_counting(key.as_bytes(), &mut caps, &mut steps));
        assert!(steps <= 8 * 11 * 5001, "{steps}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Same answer and same captures as the old backtracking matcher, on
        /// random small patterns and keys over a tiny alphabet (so that
        /// literals recur and captures have choices).
        #[test]
        fn same_as_backtracking(
            parts in proptest::collection::vec((0u8..4, "[ab:-]{1,3}"), 1..6),
            key in "[ab:-]{0,14}",
        ) {
            let mut text = String::new();
            let mut last_capture = false;
            for (i, (kind, lit)) in parts.iter().enumerate() {
                if *kind < 2 && !last_capture {
                    text.push_str(&format!("{{c{i}{}}}", if *kind == 1 { "*" } else { "" }));
                    last_capture = true;
                } else {
                    text.push_str(lit);
                    last_capture = false;
                }
            }
            let pat = Pattern::parse(&text).unwrap();
            let mut want = vec![0..0; pat.names().len()];
            let hit = reference(&pat, 0, key.as_bytes(), 0, &mut want);
            let mut got = Vec::new();
            proptest::prop_assert_eq!(pat.matches(key.as_bytes(), &mut got), hit, "{} on {:?}", text, key);
            let table = by_table(&pat, key.as_bytes());
            proptest::prop_assert_eq!(table.is_some(), hit, "table: {} on {:?}", text, key);
            if hit {
                proptest::prop_assert_eq!(&got, &want, "{} on {:?}", text, key);
                proptest::prop_assert_eq!(table.unwrap(), want, "table: {} on {:?}", text, key);
            }
        }
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
        let t = Template::parse("h:{date}:{hour|02}").unwrap();
        assert_eq!(t.parts()[3], TemplatePart::Padded("hour".into(), 2));
        assert_eq!(t.columns().collect::<Vec<_>>(), ["date", "hour"]);
        assert!(Template::parse("h:{hour|%H}").is_err());
        // Regression: the width was the format's length, so `|05` padded to 2 digits.
        assert_eq!(Template::parse("{id|05}").unwrap().parts()[0], TemplatePart::Padded("id".into(), 5));
        assert_eq!(Template::parse("{id|010}").unwrap().parts()[0], TemplatePart::Padded("id".into(), 10));
        assert!(Template::parse("{id|00}").is_err() && Template::parse("{id|0999}").is_err());
    }
}
