//! One `SCAN … MATCH` glob for several `--match` patterns.
//!
//! `SCAN` takes one MATCH pattern, and Redis globs have no alternation, so
//! with several `--match` patterns the exporter used to scan without MATCH
//! and filter client-side: the server then sent every key of the database
//! (1M keys for the 73k of the relay benchmark's four families), building
//! replies the client threw away. [`superset_glob`] gives a glob that every
//! key of any pattern matches (a superset), which the server applies before
//! replying; the exact client-side filter stays, so the exported keys are
//! the same.
//!
//! The glob is the patterns' literal prefixes merged position by position,
//! as far as the shortest one goes: a position where all patterns agree is
//! that byte, one where they differ is the class of their bytes, and a `*`
//! ends it. `apikey:*` and `usage:daily:*` give `[au][ps][ai][gk]e[:y][:d]*`.

/// The literal bytes every key matching `pattern` starts with: up to the
/// first `*`, `?` or `[`, with `\x` read as `x` (as Redis reads it; a final
/// lone `\` is a literal backslash there too).
fn literal_prefix(pattern: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'*' | b'?' | b'[' => break,
            b'\\' if i + 1 < pattern.len() => {
                out.push(pattern[i + 1]);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// A glob that matches every key matched by any of `patterns` (and maybe
/// more), for the server to filter with; `None` when the patterns share no
/// position before a wildcard (e.g. one of them starts with `*`), where a
/// MATCH would only cost the server a comparison per key and save nothing.
pub(crate) fn superset_glob<S: AsRef<[u8]>>(patterns: &[S]) -> Option<Vec<u8>> {
    let prefixes: Vec<Vec<u8>> = patterns.iter().map(|p| literal_prefix(p.as_ref())).collect();
    let len = prefixes.iter().map(Vec::len).min()?;
    if len == 0 {
        return None;
    }
    let mut glob = Vec::with_capacity(len * 4 + 1);
    for i in 0..len {
        let mut set: Vec<u8> = prefixes.iter().map(|p| p[i]).collect();
        set.sort_unstable();
        set.dedup();
        if let [only] = set[..] {
            // Outside a class these four are syntax.
            if matches!(only, b'*' | b'?' | b'[' | b'\\') {
                glob.push(b'\\');
            }
            glob.push(only);
        } else {
            glob.push(b'[');
            for c in set {
                // Inside a class these close it, escape, negate (first) or
                // make a range; escaped, each is itself (Redis and
                // glob_match both read `\x` in a class as `x`).
                if matches!(c, b']' | b'\\' | b'^' | b'-') {
                    glob.push(b'\\');
                }
                glob.push(c);
            }
            glob.push(b']');
        }
    }
    glob.push(b'*');
    Some(glob)
}

#[cfg(test)]
mod tests {
    use super::*;
    use decant_stores::redis::conn::glob_match;
    use proptest::prelude::*;

    fn glob(patterns: &[&str]) -> Option<String> {
        superset_glob(patterns).map(|g| String::from_utf8(g).unwrap())
    }

    #[test]
    fn merges_the_literal_prefixes_up_to_the_first_wildcard() {
        assert_eq!(
            glob(&["apikey:*", "usage:daily:*", "usage:cost:daily:*", "usage:records:*"]).as_deref(),
            Some("[au][ps][ai][gk]e[:y][:cdr]*")
        );
        assert_eq!(glob(&["usage:daily:*", "usage:cost:*"]).as_deref(), Some("usage:[cd][ao][is][lt][:y]*"));
        assert_eq!(glob(&["a?c", "abd"]).as_deref(), Some("a*"));
        assert_eq!(glob(&["a[bc]", "ab"]).as_deref(), Some("a*"));
        // Whole literals: the shorter one bounds it.
        assert_eq!(glob(&["account_groups", "account"]).as_deref(), Some("account*"));
    }

    #[test]
    fn no_glob_without_a_common_literal_start() {
        assert_eq!(glob(&["apikey:*", "*:daily"]), None);
        assert_eq!(glob(&["?x", "ax"]), None);
        assert_eq!(glob(&["", "a"]), None);
        assert_eq!(glob(&[]), None);
    }

    #[test]
    fn syntax_bytes_are_escaped() {
        assert_eq!(glob(&["a\\*b*", "a\\*c*"]).as_deref(), Some("a\\*[bc]*"));
        assert_eq!(glob(&["]x", "^x", "-x", "\\\\x"]).as_deref(), Some("[\\-\\\\\\]\\^]x*"));
        // A class of exactly the bytes given, not a range or a negation.
        let g = superset_glob(&["^1", "-1", "]1"]).unwrap();
        for key in ["^1", "-1", "]1"] {
            assert!(glob_match(&g, key.as_bytes()), "{key}");
        }
        for key in ["a1", "\\1", "_1", "[1"] {
            assert!(!glob_match(&g, key.as_bytes()), "{key}");
        }
    }

    /// Patterns and keys over a small alphabet holding every glob syntax
    /// byte, so wildcards, classes and escapes meet often.
    fn pattern() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ab:*?\\[\\]\\\\^-]{0,8}").unwrap()
    }

    /// A key `pattern` matches (most of the time): its wildcards filled in.
    fn key_of(pattern: &str, fill: &str) -> String {
        let mut k = String::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '*' => k.push_str(fill),
                '?' => k.push('a'),
                '\\' => k.push(chars.next().unwrap_or('\\')),
                c => k.push(c),
            }
        }
        k
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn every_key_any_pattern_accepts_the_glob_accepts(
            patterns in proptest::collection::vec(pattern(), 1..5),
            random in proptest::collection::vec(pattern(), 8),
            fill in "[ab:\\]\\[\\\\^-]{0,3}",
        ) {
            let Some(g) = superset_glob(&patterns) else { return Ok(()) };
            let keys = patterns.iter().map(|p| key_of(p, &fill)).chain(random);
            for key in keys {
                if patterns.iter().any(|p| glob_match(p.as_bytes(), key.as_bytes())) {
                    prop_assert!(
                        glob_match(&g, key.as_bytes()),
                        "key {key:?} matches one of {patterns:?} but not {:?}",
                        String::from_utf8_lossy(&g)
                    );
                }
            }
        }
    }
}
