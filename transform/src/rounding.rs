//! Opt-in rounding to a column's scale (DECIMAL) or fraction digits
//! (DATETIME precision): never done unless the spec says how, with
//! `round = "half_even"`, `"half_up"` or `"truncate"`.
//!
//! Decimals are rounded on their digits, never through a float: a Redis
//! `INCRBYFLOAT` text like `0.12838372000000002` into `DECIMAL(20,6)` becomes
//! `0.128384` whatever binary value the text is closest to.

use std::fmt;

/// How to drop digits a column cannot keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// To the nearest; a tie goes to the even digit (banker's rounding, as
    /// Python's `round` and most accounting code do).
    HalfEven,
    /// To the nearest; a tie goes away from zero (as MySQL rounds DECIMAL).
    HalfUp,
    /// Toward zero: the extra digits are cut off.
    Truncate,
}

impl Rounding {
    /// The accepted names, for error messages.
    pub const NAMES: &'static str = "half_even, half_up, truncate";

    /// Parses `half_even`, `half_up` or `truncate`.
    pub fn parse(name: &str) -> Option<Rounding> {
        Some(match name {
            "half_even" => Rounding::HalfEven,
            "half_up" => Rounding::HalfUp,
            "truncate" => Rounding::Truncate,
            _ => return None,
        })
    }

    /// Whether to add one to the kept digits, given the last kept digit,
    /// the first dropped digit and whether any later dropped digit is non-zero.
    pub fn rounds_up(self, last_kept: u8, first_dropped: u8, rest_nonzero: bool) -> bool {
        match self {
            Rounding::Truncate => false,
            Rounding::HalfUp => first_dropped >= 5,
            Rounding::HalfEven => first_dropped > 5 || (first_dropped == 5 && (rest_nonzero || last_kept % 2 == 1)),
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Rounding::HalfEven => "half_even",
            Rounding::HalfUp => "half_up",
            Rounding::Truncate => "truncate",
        })
    }
}

/// Rounds decimal text (`-?[0-9]+(.[0-9]+)?`, as the decimal cast checks) to
/// `scale` fraction digits. Text with no more digits than that is returned
/// unchanged; `-0.000` becomes `0.000`.
pub fn round_decimal(text: &str, scale: u32, mode: Rounding) -> String {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let scale = scale as usize;
    if frac.len() <= scale {
        return text.to_owned();
    }
    let dropped = &frac.as_bytes()[scale..];
    let mut kept: Vec<u8> = int.bytes().chain(frac.bytes().take(scale)).collect();
    if kept.is_empty() {
        kept.push(b'0');
    }
    let last = kept.last().map_or(0, |d| d - b'0');
    if mode.rounds_up(last, dropped[0] - b'0', dropped[1..].iter().any(|&d| d != b'0')) {
        // Carry from the last digit.
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let int_len = kept.len() - scale;
    let mut out = String::with_capacity(kept.len() + 2);
    let is_zero = kept.iter().all(|&d| d == b'0');
    if neg && !is_zero {
        out.push('-');
    }
    let int_digits = std::str::from_utf8(&kept[..int_len]).unwrap_or("0");
    out.push_str(if int_digits.is_empty() { "0" } else { int_digits });
    if scale > 0 {
        out.push('.');
        out.push_str(std::str::from_utf8(&kept[int_len..]).unwrap_or_default());
    }
    out
}

/// Rounds a count of nanoseconds (`0..1e9`) after `secs` whole seconds to
/// `digits` fraction digits: the new count, and whether it reached a whole
/// second (carry).
pub fn round_nanos(secs: u32, nanos: u32, digits: u8, mode: Rounding) -> (u32, bool) {
    if digits >= 9 {
        return (nanos, false);
    }
    let unit = 10u32.pow(9 - digits as u32);
    let kept = nanos / unit;
    let dropped = nanos % unit;
    let first_dropped = (dropped / (unit / 10)) as u8;
    let rest_nonzero = dropped % (unit / 10) != 0;
    let last_kept = if digits == 0 { secs % 10 } else { kept % 10 };
    let up = mode.rounds_up(last_kept as u8, first_dropped, rest_nonzero);
    let n = (kept + up as u32) * unit;
    if n >= 1_000_000_000 {
        (0, true)
    } else {
        (n, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        use Rounding::*;
        // The INCRBYFLOAT text of the relay service into DECIMAL(20,6).
        assert_eq!(round_decimal("0.12838372000000002", 6, HalfEven), "0.128384");
        assert_eq!(round_decimal("0.12838372000000002", 6, Truncate), "0.128383");
        assert_eq!(round_decimal("0.0000025", 6, HalfEven), "0.000002");
        assert_eq!(round_decimal("0.0000025", 6, HalfUp), "0.000003");
        assert_eq!(round_decimal("0.00000250001", 6, HalfEven), "0.000003");
        assert_eq!(round_decimal("0.0000035", 6, HalfEven), "0.000004");
        assert_eq!(round_decimal("9.9999995", 6, HalfEven), "10.000000");
        assert_eq!(round_decimal("-9.9999995", 6, HalfUp), "-10.000000");
        assert_eq!(round_decimal("-0.0000001", 6, HalfEven), "0.000000");
        assert_eq!(round_decimal("1.5", 0, HalfEven), "2");
        assert_eq!(round_decimal("2.5", 0, HalfEven), "2");
        assert_eq!(round_decimal("2.5", 0, HalfUp), "3");
        assert_eq!(round_decimal(".5", 0, HalfUp), "1");
        // Nothing to drop: unchanged, even its form.
        assert_eq!(round_decimal("12.50", 6, HalfEven), "12.50");
        assert_eq!(round_decimal("7", 2, HalfEven), "7");
    }

    #[test]
    fn nanos() {
        use Rounding::*;
        assert_eq!(round_nanos(0, 123_456_789, 3, HalfEven), (123_000_000, false));
        assert_eq!(round_nanos(10, 500_000_000, 0, HalfEven), (0, false));
        assert_eq!(round_nanos(11, 500_000_000, 0, HalfEven), (0, true));
        assert_eq!(round_nanos(10, 500_000_000, 0, HalfUp), (0, true));
        assert_eq!(round_nanos(10, 499_999_999, 0, HalfUp), (0, false));
        assert_eq!(round_nanos(0, 999_600_000, 3, HalfUp), (0, true));
        assert_eq!(round_nanos(0, 999_600_000, 3, Truncate), (999_000_000, false));
        assert_eq!(round_nanos(0, 123_500_000, 3, HalfEven), (124_000_000, false));
        assert_eq!(round_nanos(0, 124_500_000, 3, HalfEven), (124_000_000, false));
    }

    #[test]
    fn names() {
        for n in ["half_even", "half_up", "truncate"] {
            assert_eq!(Rounding::parse(n).unwrap().to_string(), n);
        }
        assert!(Rounding::parse("round").is_none());
    }
}
