//! Small, dependency-free date/time helpers: the header's `created_at`, and
//! the normalisation of ISO 8601 date-times used by the canonical form.

use std::time::{SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
/// Exact for |year| below 2^50 (far beyond any SQL date); callers pass parsed
/// years of at most a few digits. See [`checked_days_from_civil`] for input
/// that is not bounded.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// [`days_from_civil`] for any year: `None` when the day number would not fit
/// (|year| of 2^50 or more), instead of overflowing.
pub fn checked_days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    const LIMIT: i64 = 1 << 50;
    ((-LIMIT..LIMIT).contains(&y) && (1..=12).contains(&m) && d <= 31).then(|| days_from_civil(y, m, d))
}

/// The date of a day number since 1970-01-01 (exact for |z| below 2^58).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Now as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    format_unix_seconds(secs)
}

/// A Unix time in seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_unix_seconds(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// How fraction digits beyond the kept precision are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rounding {
    /// Round half up, as PostgreSQL and MySQL do when storing into a coarser column.
    #[default]
    Round,
    /// Cut the extra digits (MySQL with `TIME_TRUNCATE_FRACTIONAL`).
    Truncate,
}

/// A parsed ISO 8601 date-time: `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|±HH[:MM]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateTime {
    days: i64,
    secs_of_day: i64,
    nanos: u32,
    offset_secs: Option<i32>,
}

/// The number an ASCII digit string spells; `None` when it is empty, holds
/// anything but digits, or does not fit an `i64` (never wrapped: two
/// different numbers must never read as one).
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0i64, |n, d| n.checked_mul(10)?.checked_add((d - b'0') as i64))
}

fn parse(text: &str) -> Option<DateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])? as u32, digits(&b[8..10])? as u32);
    let (h, mi, s) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        let mut v = digits(&frac[..n])? as u32;
        for _ in n..9 {
            v *= 10;
        }
        nanos = v;
        rest = &frac[n..];
    }
    let offset_secs = match rest {
        [] => None,
        [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (oh, om) = match tail.len() {
                2 => (digits(tail)?, 0),
                4 => (digits(&tail[..2])?, digits(&tail[2..])?),
                5 if tail[2] == b':' => (digits(&tail[..2])?, digits(&tail[3..])?),
                _ => return None,
            };
            let secs = (oh * 3600 + om * 60) as i32;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => return None,
    };
    Some(DateTime { days: days_from_civil(y, mo, d), secs_of_day: h * 3600 + mi * 60 + s, nanos, offset_secs })
}

/// Normalises an ISO 8601 date-time for comparison: zoned values are moved to
/// UTC and written with `Z`; the fraction is cut to `precision` digits (by
/// `rounding`) and its trailing zeros removed; `T` separates date and time.
/// Returns `None` when `text` is not such a date-time.
///
/// ```
/// use decant_record::time::{normalize_datetime, Rounding};
/// assert_eq!(normalize_datetime("2025-01-01 09:30:00.123456", Some(3), Rounding::Round).unwrap(), "2025-01-01T09:30:00.123");
/// assert_eq!(normalize_datetime("2025-01-01T05:30:00+05:30", None, Rounding::Round).unwrap(), "2025-01-01T00:00:00Z");
/// assert_eq!(normalize_datetime("2025-12-31T23:59:59.9996", Some(3), Rounding::Round).unwrap(), "2026-01-01T00:00:00");
/// ```
pub fn normalize_datetime(text: &str, precision: Option<u8>, rounding: Rounding) -> Option<String> {
    let mut out = Vec::with_capacity(32);
    normalize_datetime_into(text, precision, rounding, &mut out)?;
    // Only ASCII digits and punctuation are written.
    String::from_utf8(out).ok()
}

/// [`normalize_datetime`] appending to `out` (nothing is appended on `None`),
/// without allocating: the canonical form calls it for every date-time.
pub fn normalize_datetime_into(text: &str, precision: Option<u8>, rounding: Rounding, out: &mut Vec<u8>) -> Option<()> {
    let dt = parse(text)?;
    let mut total = (dt.days * 86_400 + dt.secs_of_day) as i128 * 1_000_000_000 + dt.nanos as i128;
    if let Some(off) = dt.offset_secs {
        total -= off as i128 * 1_000_000_000;
    }
    if let Some(p) = precision.filter(|p| *p < 9) {
        let unit = 10i128.pow(9 - p as u32);
        let rem = total.rem_euclid(unit);
        total -= rem;
        if rounding == Rounding::Round && rem * 2 >= unit {
            total += unit;
        }
    }
    let secs = total.div_euclid(1_000_000_000) as i64;
    let nanos = total.rem_euclid(1_000_000_000) as u32;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        push_digits(out, y as u64, 4);
    } else {
        out.extend_from_slice(format!("{y:04}").as_bytes());
    }
    out.push(b'-');
    push_digits(out, m as u64, 2);
    out.push(b'-');
    push_digits(out, d as u64, 2);
    out.push(b'T');
    push_digits(out, (sod / 3600) as u64, 2);
    out.push(b':');
    push_digits(out, (sod / 60 % 60) as u64, 2);
    out.push(b':');
    push_digits(out, (sod % 60) as u64, 2);
    if nanos > 0 {
        let mut digits = 9;
        let mut n = nanos;
        while n % 10 == 0 {
            n /= 10;
            digits -= 1;
        }
        out.push(b'.');
        push_digits(out, n as u64, digits);
    }
    if dt.offset_secs.is_some() {
        out.push(b'Z');
    }
    Some(())
}

/// Appends `n` as exactly `width` decimal digits (zero-padded).
fn push_digits(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

fn push_fraction(out: &mut String, nanos: u32) {
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// Normalises a time of day or duration `[-]H+:MM:SS[.f]` the same way
/// (fraction cut to `precision`, trailing zeros removed). `None` when `text`
/// is not such a time.
pub fn normalize_time(text: &str, precision: Option<u8>, rounding: Rounding) -> Option<String> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let mut parts = body.splitn(3, ':');
    let h = digits(parts.next()?.as_bytes())?;
    let m = digits(parts.next()?.as_bytes())?;
    let sec_part = parts.next()?;
    let (s, frac) = match sec_part.split_once('.') {
        Some((s, f)) => (s, f),
        None => (sec_part, ""),
    };
    let s = digits(s.as_bytes())?;
    if m > 59 || s > 59 || frac.len() > 9 || (!frac.is_empty() && digits(frac.as_bytes()).is_none()) {
        return None;
    }
    let mut nanos: i128 = 0;
    for (i, c) in frac.bytes().enumerate() {
        nanos += (c - b'0') as i128 * 10i128.pow(8 - i as u32);
    }
    // Checked: an hour count near i64::MAX must be refused, not wrapped into
    // another time (two times 2^60 hours apart would otherwise normalise alike).
    let secs = h.checked_mul(3600)?.checked_add(m * 60 + s)?;
    let mut total = (secs as i128).checked_mul(1_000_000_000)?.checked_add(nanos)?;
    if let Some(p) = precision.filter(|p| *p < 9) {
        let unit = 10i128.pow(9 - p as u32);
        let rem = total % unit;
        total -= rem;
        if rounding == Rounding::Round && rem * 2 >= unit {
            total = total.checked_add(unit)?;
        }
    }
    let secs = i64::try_from(total / 1_000_000_000).ok()?;
    let mut out = String::new();
    if neg && total != 0 {
        out.push('-');
    }
    out.push_str(&format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60));
    push_fraction(&mut out, (total % 1_000_000_000) as u32);
    Some(out)
}

/// Parses a duration flag: `3s`, `500ms`, `2m`, `1h`, `1d`, or a bare
/// number of seconds (`0` included).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let bad = || format!("bad duration {text:?}: use e.g. 3s, 500ms, 5m, 1h or 0");
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return Err(bad()),
    };
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-800_000i64, -1, 0, 1, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(format_unix_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix_seconds(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn datetimes() {
        let n = |t: &str, p| normalize_datetime(t, p, Rounding::Round);
        assert_eq!(n("2025-01-01T09:30:00.000000", None).unwrap(), "2025-01-01T09:30:00");
        assert_eq!(n("2025-01-01T09:30:00.1200", None).unwrap(), "2025-01-01T09:30:00.12");
        assert_eq!(n("2025-01-01T09:30:00.1235", Some(3)).unwrap(), "2025-01-01T09:30:00.124");
        assert_eq!(
            normalize_datetime("2025-01-01T09:30:00.1239", Some(3), Rounding::Truncate).unwrap(),
            "2025-01-01T09:30:00.123"
        );
        assert_eq!(n("2025-03-01T01:00:00+02:00", None).unwrap(), "2025-02-28T23:00:00Z");
        assert_eq!(n("2025-03-01T01:00:00-0130", None).unwrap(), "2025-03-01T02:30:00Z");
        assert_eq!(n("2025-03-01 01:00:00Z", Some(0)).unwrap(), "2025-03-01T01:00:00Z");
        assert!(n("2025-03-01", None).is_none());
        assert!(n("not a date at all!!", None).is_none());
        assert!(n("2025-13-01T00:00:00", None).is_none());
    }

    #[test]
    fn times() {
        let n = |t: &str, p| normalize_time(t, p, Rounding::Round);
        assert_eq!(n("09:30:00.500000", None).unwrap(), "09:30:00.5");
        assert_eq!(n("-838:59:59", None).unwrap(), "-838:59:59");
        assert_eq!(n("23:59:59.96", Some(1)).unwrap(), "24:00:00");
        assert!(n("9h", None).is_none());
        // The largest hour count that fits, and one beyond: refused, never wrapped.
        assert_eq!(n("2562047788015215:00:00", None).unwrap(), "2562047788015215:00:00");
        assert!(n("2562047788015216:00:00", None).is_none());
        assert!(n("99999999999999999999:00:00", None).is_none());
        assert!(n("-99999999999999999999:00:00", None).is_none());
    }

    #[test]
    fn checked_dates() {
        assert_eq!(checked_days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(checked_days_from_civil(i64::MAX, 1, 1), None);
        assert_eq!(checked_days_from_civil(2025, 13, 1), None);
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    proptest::proptest! {
        /// Distinct in-range durations normalise to distinct texts, and the
        /// text reads back as the same duration.
        #[test]
        fn time_round_trip(secs in -(i64::MAX / 3600 * 3600)..(i64::MAX / 3600 * 3600), nanos in 0u32..1_000_000_000) {
            let (neg, abs) = (secs < 0, secs.unsigned_abs());
            let text = format!("{}{}:{:02}:{:02}.{nanos:09}", if neg { "-" } else { "" }, abs / 3600, abs / 60 % 60, abs % 60);
            let once = normalize_time(&text, None, Rounding::Round).unwrap();
            proptest::prop_assert_eq!(normalize_time(&once, None, Rounding::Round).unwrap(), once.clone());
            let back = normalize_time(&format!("{}{}:00:00", if neg { "-" } else { "" }, abs / 3600 + 1), None, Rounding::Round);
            if let Some(other) = back {
                proptest::prop_assert_ne!(other, once);
            }
        }

        /// Any digit string as the hour count: normalised exactly or refused, never a panic.
        #[test]
        fn huge_hours_never_wrap(h in "[0-9]{1,40}") {
            let text = format!("{h}:00:00");
            if let Some(n) = normalize_time(&text, None, Rounding::Round) {
                let hours = n.split(':').next().unwrap().parse::<u128>().unwrap();
                proptest::prop_assert_eq!(hours, h.parse::<u128>().unwrap());
            }
        }
    }
}
