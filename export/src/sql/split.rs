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
/// those of MIN and MAX after their common prefix, ASCII digits widened to
/// `0-9` and letters from `a` (`A`) to the highest one seen, and, when the first
/// differing characters are not both ASCII, up to [`FILL`] characters
/// evenly spaced between them (none above `max_char`, the highest the
/// column's character set holds). NUL is left out: it cannot be written in
/// every dialect's literals, and it sorts first anyway.
pub(crate) fn alphabet(min: &str, max: &str, max_char: char) -> Vec<char> {
    let (_, lo, hi) = parts(min, max);
    let mut set = BTreeSet::new();
    // A letter class is widened from its first letter to the highest one
    // seen, so hex keys (0-9a-f) get a base-16 alphabet, words one of 26.
    let top = |first: char, last: char| lo.iter().chain(&hi).filter(|c| (first..=last).contains(*c)).max().copied();
    for (first, last) in [('0', '9'), ('a', 'z'), ('A', 'Z')] {
        if let Some(top) = top(first, last) {
            set.extend(first..=if first == '0' { last } else { top });
        }
    }
    for &c in lo.iter().chain(&hi) {
        if c != '\0' && c <= max_char && !c.is_ascii_alphanumeric() {
            set.insert(c);
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
        assert_eq!(a.iter().collect::<String>(), "0123456789abcdef");
        let got = candidates("0000f", "ffff0", &a, &binary(&a), 4);
        let firsts: Vec<char> = got.iter().map(|s| s.chars().next().unwrap()).collect();
        assert_eq!(firsts, ['4', '7', 'b']);
        // Words: the whole lower-case class.
        assert_eq!(alphabet("apple", "zebra", char::MAX).len(), 26);
    }

    #[test]
    fn the_common_prefix_is_kept_and_shorter_keys_count_as_lowest() {
        for c in split("order/", "order/zz", 5) {
            assert!(c.starts_with("order/") && c.len() > 6, "{c}");
        }
        // MIN == MAX: every candidate is the prefix itself.
        assert_eq!(split("same", "same", 3), ["same", "same"]);
    }

    /// Dense ranks by a sort key, as the server's DENSE_RANK gives them.
    fn ranked_by<K: Ord>(alphabet: &[char], key: impl Fn(char) -> K) -> Vec<u32> {
        let keys: BTreeSet<K> = alphabet.iter().map(|c| key(*c)).collect();
        let keys: Vec<K> = keys.into_iter().collect();
        alphabet.iter().map(|c| keys.binary_search(&key(*c)).unwrap() as u32).collect()
    }

    #[test]
    fn equal_ranks_make_one_digit() {
        // utf8mb4_general_ci: a-z weigh as A-Z, and '_' comes after them.
        let a = alphabet("Ab", "_z", char::MAX);
        let ranks = ranked_by(&a, |c| c.to_ascii_uppercase());
        assert_eq!(ranks[a.iter().position(|c| *c == 'a').unwrap()], ranks[0], "{a:?}");
        let got = candidates("Ab", "_z", &a, &ranks, 3);
        // Between A and _ in the collation (not between A and _ in code
        // points, which holds no letter), a/A being one digit.
        assert_eq!(got, ["j", "r_"]);
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
