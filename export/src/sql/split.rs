//! Boundaries of a text key for `--shard`, placed without counting rows.
//!
//! A shard cuts a table whose (first) primary-key column is text at N-1
//! boundary values interpolated between the column's MIN and MAX, which the
//! server finds with two index lookups. As Sqoop's TextSplitter does, the
//! common prefix of MIN and MAX is kept and the next few characters are read
//! as the digits of a number; unlike it, the digits are not code points but
//! ranks in the column's own collation over a small alphabet (the characters
//! of MIN and MAX, each ASCII letter or digit widened to its whole class),
//! which the server ranks in one small query ([`alphabet`], then
//! [`candidates`]). So hash-like keys (md5, uuid: `0-9a-f`) and numbered ones
//! (`user:000123`: `0-9`) split evenly, and `a`/`A` are one digit under a
//! case-insensitive collation.
//!
//! Nothing here decides correctness: the candidates are only proposals. The
//! server sorts them in the column's collation before they are used
//! (`TablePlan::text_chunks`), and the share conditions `k < b1`,
//! `b_i <= k < b_i+1`, `k >= b_N-1` partition any totally ordered key
//! whatever the values are. A collation whose order is not per character
//! (ICU, libc locales that skip punctuation) only makes the shares less even.

use std::collections::BTreeSet;

/// Characters after the common prefix that the interpolation reads: enough
/// for a million shares over a two-letter alphabet, and short literals.
const WINDOW: usize = 12;

/// The interpolated number stays below this (u128 arithmetic, no overflow).
const RESOLUTION: u128 = 1 << 62;

/// Characters spread between the first differing characters of MIN and MAX
/// when either is not ASCII (e.g. CJK keys), so that the alphabet has digits
/// between them; the server ranks them like any other.
const FILL: u32 = 48;

/// MIN and MAX split into their common prefix and the next [`WINDOW`]
/// characters of each.
fn parts(min: &str, max: &str) -> (String, Vec<char>, Vec<char>) {
    let common = min.chars().zip(max.chars()).take_while(|(a, b)| a == b).count();
    let prefix: String = min.chars().take(common).collect();
    let window = |s: &str| s.chars().skip(common).take(WINDOW).collect::<Vec<char>>();
    (prefix, window(min), window(max))
}

/// The characters to rank in the column's collation, sorted by code point:
/// those of MIN and MAX after their common prefix, each ASCII digit or
/// letter widened to its class (`0-9`, `a-z`, `A-Z`), and, when the first
/// differing characters are not both ASCII, up to [`FILL`] characters
/// evenly spaced between them (none above `max_char`, the highest the
/// column's character set holds). NUL is left out: it cannot be written in
/// every dialect's literals, and it sorts first anyway.
pub(crate) fn alphabet(min: &str, max: &str, max_char: char) -> Vec<char> {
    let (_, lo, hi) = parts(min, max);
    let mut set = BTreeSet::new();
    for &c in lo.iter().chain(&hi) {
        match c {
            '0'..='9' => set.extend('0'..='9'),
            'a'..='z' => set.extend('a'..='z'),
            'A'..='Z' => set.extend('A'..='Z'),
            '\0' => {}
            c if c <= max_char => {
                set.insert(c);
            }
            _ => {}
        }
    }
    if let (Some(&a), Some(&b)) = (lo.first(), hi.first()) {
        let (a, b) = (a.min(b) as u32, a.max(b) as u32);
        if b > 0x7f && b - a > 1 {
            for j in 1..=FILL {
                let cp = a + (b - a) * j / (FILL + 1);
                // Surrogates are not characters: char::from_u32 refuses them.
                if let Some(c) = char::from_u32(cp).filter(|c| *c <= max_char && *c != '\0') {
                    set.insert(c);
                }
            }
        }
    }
    set.into_iter().collect()
}

/// The N-1 candidate boundaries (for `n` shares) between `min` and `max`:
/// `alphabet` is [`alphabet`]'s list and `ranks[i]` the dense rank (from 0)
/// of `alphabet[i]` in the column's collation, equal for characters the
/// collation holds equal. Each candidate is the common prefix followed by
/// the digits of an interpolated number, each digit written as the
/// lowest-code-point character of its rank, trailing lowest digits dropped.
/// Not necessarily in the server's order, nor distinct (see the module doc).
pub(crate) fn candidates(min: &str, max: &str, alphabet: &[char], ranks: &[u32], n: u32) -> Vec<String> {
    let (prefix, lo, hi) = parts(min, max);
    let base = ranks.iter().max().map_or(1, |r| *r as u128 + 1);
    // The character written for each rank: alphabet is sorted by code point.
    let mut digit_char: Vec<Option<char>> = vec![None; base as usize];
    for (c, r) in alphabet.iter().zip(ranks) {
        digit_char[*r as usize].get_or_insert(*c);
    }
    let rank_of = |c: char| alphabet.binary_search(&c).ok().and_then(|i| ranks.get(i)).map_or(0, |r| *r as u128);
    let mut digits = 1;
    while digits < WINDOW && base > 1 && base.pow(digits as u32 + 1) <= RESOLUTION {
        digits += 1;
    }
    let value = |s: &[char]| (0..digits).fold(0u128, |v, j| v * base + s.get(j).map_or(0, |c| rank_of(*c)));
    let (a, b) = (value(&lo), value(&hi));
    // A collation that orders MIN and MAX other than per character may put
    // them the other way round here: interpolate between them all the same.
    let (a, b) = (a.min(b), a.max(b));
    (1..n as u128)
        .map(|k| {
            let mut v = a + (b - a) * k / n as u128;
            let mut ds = vec![0u128; digits];
            for d in ds.iter_mut().rev() {
                *d = v % base;
                v /= base;
            }
            while ds.last() == Some(&0) {
                ds.pop();
            }
            let mut s = prefix.clone();
            s.extend(ds.iter().filter_map(|d| digit_char[*d as usize]));
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranks by code point (a binary collation): each character its own rank.
    fn binary(alphabet: &[char]) -> Vec<u32> {
        (0..alphabet.len() as u32).collect()
    }

    fn split(min: &str, max: &str, n: u32) -> Vec<String> {
        let a = alphabet(min, max, char::MAX);
        candidates(min, max, &a, &binary(&a), n)
    }

    #[test]
    fn numbered_keys_split_at_round_numbers() {
        // Between user:249999 and user:250000, etc.: a quarter of the keys below each.
        assert_eq!(split("user:000000", "user:999999", 4), ["user:24999975", "user:4999995", "user:74999925"]);
        assert_eq!(split("user:000001", "user:999999", 2), ["user:5"]);
    }

    #[test]
    fn hex_keys_split_evenly_in_the_hex_digits() {
        let a = alphabet("0000f", "ffff0", char::MAX);
        // Widened to the classes, so a-z beyond f is in the alphabet, but
        // the interpolation stays between 0 and f.
        assert!(a.contains(&'z') && !a.contains(&'A'));
        let got = candidates("0000f", "ffff0", &a, &binary(&a), 4);
        let firsts: Vec<char> = got.iter().map(|s| s.chars().next().unwrap()).collect();
        assert_eq!(firsts, ['3', '7', 'b']);
    }

    #[test]
    fn the_common_prefix_is_kept_and_shorter_keys_count_as_lowest() {
        for c in split("order/", "order/zz", 5) {
            assert!(c.starts_with("order/") && c.len() > 6, "{c}");
        }
        // MIN == MAX: every candidate is the prefix itself.
        assert_eq!(split("same", "same", 3), ["same", "same"]);
    }

    #[test]
    fn equal_ranks_make_one_digit() {
        // A case-insensitive collation: a-z rank with A-Z.
        let a = alphabet("Ab", "_z", char::MAX);
        let ranks: Vec<u32> = a
            .iter()
            .map(|c| match c {
                '0'..='9' => *c as u32 - '0' as u32,
                'A'..='Z' => *c as u32 - 'A' as u32 + 10,
                'a'..='z' => *c as u32 - 'a' as u32 + 10,
                '_' => 36,
                _ => unreachable!("{c}"),
            })
            .collect();
        let got = candidates("Ab", "_z", &a, &ranks, 3);
        // Between A (10) and _ (36), written with the upper-case letters.
        for c in &got {
            let first = c.chars().next().unwrap();
            assert!(first.is_ascii_uppercase() && first > 'A', "{got:?}");
        }
    }

    #[test]
    fn non_ascii_keys_get_characters_between_them_within_the_charset() {
        let a = alphabet("é", "日本", char::MAX);
        assert!(a.len() > 20 && a.iter().any(|c| ('\u{e9}'..'\u{65e5}').contains(c) && *c != 'é'), "{a:?}");
        for c in split("é", "日本", 7) {
            assert!(c.chars().next().unwrap() >= 'é', "{c}");
        }
        // Latin-1: nothing above U+00FF, and a CJK MAX is not in the alphabet at all.
        assert!(alphabet("é", "日本", '\u{ff}').iter().all(|c| *c <= '\u{ff}'));
        // Never NUL, never a surrogate (char cannot hold one).
        assert!(!alphabet("a\0", "b\0", char::MAX).contains(&'\0'));
    }

    #[test]
    fn candidates_are_valid_for_any_input() {
        for (min, max) in [("", "z"), ("\0", "\u{10FFFF}"), ("\u{D7FF}", "\u{E000}"), ("", ""), ("a", "")] {
            for n in [2, 3, 65_536] {
                let got = split(min, max, n);
                assert_eq!(got.len(), n as usize - 1);
                assert!(got.iter().all(|c| !c.contains('\0') || min.contains('\0')), "{got:?}");
            }
        }
    }
}
