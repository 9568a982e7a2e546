//! The value-binding layer: a stream [`Value`] plus the target column's
//! [`Kind`] → a [`Cell`] in the form the target takes, and the renderings of
//! cells as PostgreSQL COPY text and MySQL literals.
//!
//! Pure functions. The rules that keep values exact:
//!
//! - Naive date-times never go into zoned columns' offsets and vice versa
//!   silently: a value with `Z`/offset into a column without time zone is an
//!   error; a naive value into a zoned column is read as UTC (sessions run at
//!   UTC: PostgreSQL `timezone=UTC`, MySQL `time_zone='+00:00'`).
//! - MySQL zero dates go into MySQL verbatim (the session's `sql_mode` allows
//!   them); into PostgreSQL they are an error, or NULL with `--zero-dates null`.
//! - Integers are range-checked against the column; unsigned 64-bit values go
//!   to PostgreSQL `numeric(20,0)` as digits; SQLite refuses values above
//!   2^63−1 (it would keep them as inexact REAL).
//! - Decimals travel as their exact digits; digits the column would round away
//!   are an error, not a silent rounding.
//! - Floats are written in shortest round-trip exponent form (`1.5e0`), so the
//!   server's parser gets back the very same double.
//! - Bytes are bytes (`\x…` in COPY, `X'…'` in MySQL, BLOB binds in SQLite);
//!   bytes that are not UTF-8 never go into a text column.

use std::fmt::Write as _;

use decant_record::{Column, LogicalType, Value};

use super::typemap::{Dialect, Kind, TargetColumn};

/// A value ready for the target.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// Boolean.
    Bool(bool),
    /// Integer.
    Int(i128),
    /// Float.
    Float(f64),
    /// Text in the target's input syntax for the column type.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// What to do with MySQL zero dates where the target has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ZeroDates {
    /// Reject the row.
    #[default]
    Error,
    /// Store NULL.
    Null,
}

/// Options of the value layer.
#[derive(Debug, Clone, Copy)]
pub struct EncodeOptions {
    /// The target dialect.
    pub dialect: Dialect,
    /// Zero dates into PostgreSQL / SQLite typed columns.
    pub zero_dates: ZeroDates,
}

pub(crate) fn zoned_suffix(s: &str) -> bool {
    // After `YYYY-MM-DDTHH:MM:SS[.f]`: `Z` or `±HH[:MM]`.
    if s.len() <= 19 {
        return false;
    }
    // Bytes, not char patterns: a short tail, on every date-time value.
    let tail = &s.as_bytes()[19..];
    matches!(tail.last(), Some(b'Z' | b'z')) || tail.iter().any(|&b| b == b'+' || b == b'-')
}

pub(crate) fn check_date(s: &str, d: Dialect) -> Result<(), String> {
    let b = s.as_bytes();
    let ok = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4].iter().chain(&b[5..7]).chain(&b[8..10]).all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T' || b[10] == b' ');
    if !ok {
        return Err(format!("{s:?} is not a date-time in ISO 8601 form"));
    }
    check_calendar(s, d)
}

/// The number of days in month `m` of year `y` (proleptic Gregorian).
fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [x @ b'0'..=b'9', y @ b'0'..=b'9'] => Some(((x - b'0') * 10 + (y - b'0')) as u32),
        _ => None,
    }
}

/// Refuses a date (or date-time) that no calendar holds — 2023-02-30, month
/// 13, 25:00 — before the database does, so `--dry-run` finds it and the real
/// run gives the same message (the database's own error would name neither
/// line nor column). `s` starts with `YYYY-MM-DD` (checked by the caller).
pub(crate) fn check_calendar(s: &str, d: Dialect) -> Result<(), String> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, c| n * 10 + (c - b'0') as u32);
    let (y, m, day) = (num(0..4), num(5..7), num(8..10));
    if !(1..=12).contains(&m) || day == 0 || day > days_in_month(y, m) {
        return Err(format!("{s:?} is not a date that exists (month {m} of {y} has no day {day})"));
    }
    if y == 0 && d == Dialect::Postgres {
        return Err(format!("{s:?}: PostgreSQL has no year 0 (1 BC comes before 1 AD)"));
    }
    if b.len() > 10 {
        let time = (b.len() >= 19 && b[13] == b':' && b[16] == b':')
            .then(|| (two_digits(&b[11..13]), two_digits(&b[14..16]), two_digits(&b[17..19])));
        match time {
            Some((Some(h), Some(mi), Some(sec))) if h <= 23 && mi <= 59 && sec <= 59 => {}
            Some((Some(_), Some(_), Some(_))) => {
                return Err(format!("{s:?} is not a time of day that exists (00:00:00 to 23:59:59)"))
            }
            _ => return Err(format!("{s:?} is not a date-time in ISO 8601 form (YYYY-MM-DDTHH:MM:SS[.f])")),
        }
    }
    Ok(())
}

/// Fraction digits a temporal column keeps, from its declared type (`None`:
/// no limit, as in SQLite).
pub fn fraction_limit(dialect: Dialect, sql_type: &str) -> Option<u32> {
    // Only digits are read, so no lowercasing (no allocation per value).
    // Bytes, not char patterns: a short type name, on every temporal value.
    let t = sql_type.as_bytes();
    let declared = t.iter().position(|&b| b == b'(').and_then(|o| {
        let args = &t[o + 1..];
        let args = &args[..args.iter().position(|&b| b == b')').unwrap_or(args.len())];
        std::str::from_utf8(args).ok()?.trim().parse::<u32>().ok()
    });
    match dialect {
        Dialect::Sqlite => None,
        Dialect::MySql => Some(declared.unwrap_or(0)),
        Dialect::Postgres => Some(declared.unwrap_or(6)),
    }
}

/// Refuses a date-time or time whose fraction the column would round away.
pub(crate) fn check_fraction(s: &str, col: &TargetColumn, dialect: Dialect) -> Result<(), String> {
    // The type is read only for a value with a fraction.
    if !s.as_bytes().contains(&b'.') {
        return Ok(());
    }
    check_fraction_within(s, fraction_limit(dialect, &col.sql_type), col)
}

/// [`check_fraction`] with the column's `fraction_limit` already read.
pub(crate) fn check_fraction_within(s: &str, limit: Option<u32>, col: &TargetColumn) -> Result<(), String> {
    let Some(limit) = limit else { return Ok(()) };
    let Some(dot) = s.bytes().position(|b| b == b'.') else { return Ok(()) };
    let digits: &str = &s[dot + 1..];
    let digits = &digits[..digits.bytes().take_while(u8::is_ascii_digit).count()];
    let kept = digits.trim_end_matches('0').len() as u32;
    if kept > limit {
        return Err(format!(
            "{s} has {kept} fraction digits but {} keeps {limit}: it would be rounded; --cast the column to a finer type",
            col.sql_type
        ));
    }
    Ok(())
}

/// A time value: `[-]H:MM:SS[.f]` (MySQL TIME is a duration, −838:59:59 …
/// 838:59:59; PostgreSQL time a time of day) or an ISO 8601 duration
/// without years or months (`PT838H59M59S`, how pg-export writes an
/// interval): `(negative, whole seconds, fraction digits)`.
fn parse_time(s: &str) -> Option<(bool, u64, String)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if let Some(iso) = body.strip_prefix('P') {
        // PostgreSQL signs each field: `PT-838H-59M-59S`, `P1DT-1H`. Sum in
        // microseconds (what both TIME and interval keep), checked.
        let (days, clock) = iso.split_once('T').unwrap_or((iso, ""));
        let mut micros: i128 = 0;
        let mut add = |text: &str, unit: i128, fraction_ok: bool| -> Option<()> {
            let (sign, digits) = match text.strip_prefix('-') {
                Some(d) => (-1i128, d),
                None => (1, text),
            };
            let (whole, f) = digits.split_once('.').unwrap_or((digits, ""));
            if whole.is_empty() && f.is_empty()
                || !whole.bytes().all(|b| b.is_ascii_digit())
                || !f.bytes().all(|b| b.is_ascii_digit())
                || (!f.is_empty() && !fraction_ok)
                || f.len() > 6
            {
                return None;
            }
            let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
            let f_micros: i128 = if f.is_empty() { 0 } else { format!("{f:0<6}").parse().ok()? };
            let v = whole.checked_mul(unit)?.checked_add(f_micros)?;
            micros = micros.checked_add(sign * v)?;
            Some(())
        };
        if !days.is_empty() {
            add(days.strip_suffix('D')?, 86_400_000_000, false)?;
        }
        let mut rest = clock;
        for (unit, scale) in [('H', 3_600_000_000i128), ('M', 60_000_000), ('S', 1_000_000)] {
            if let Some(at) = rest.find(unit) {
                add(&rest[..at], scale, unit == 'S')?;
                rest = &rest[at + 1..];
            }
        }
        if !rest.is_empty() {
            return None;
        }
        let micros = if neg { -micros } else { micros };
        let abs = micros.unsigned_abs();
        let secs = u64::try_from(abs / 1_000_000).ok()?;
        let frac = format!("{:06}", abs % 1_000_000).trim_end_matches('0').to_owned();
        return Some((micros < 0, secs, frac));
    }
    let (clock, frac) = body.split_once('.').unwrap_or((body, ""));
    let mut parts = clock.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || m.len() != 2
        || sec.len() != 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || [h, m, sec].iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (m, sec): (u64, u64) = (m.parse().ok()?, sec.parse().ok()?);
    if m > 59 || sec > 59 {
        return None;
    }
    let secs = h.parse::<u64>().ok()?.checked_mul(3_600)?.checked_add(m * 60 + sec)?;
    Some((neg, secs, frac.to_owned()))
}

/// Splits a PostgreSQL `time with time zone` value into its clock and its
/// zone (`13:00:00+02`, `13:00:00.5-05:30`, `13:00:00Z`); `None` when the
/// zone is not `Z` or `±HH[:MM[:SS]]`.
fn split_zone(s: &str) -> Option<(&str, &str)> {
    if let Some(clock) = s.strip_suffix(['Z', 'z']) {
        return Some((clock, &s[clock.len()..]));
    }
    // The zone sign comes after the clock, so skip a leading minus.
    let at = s.get(1..)?.find(['+', '-'])? + 1;
    let (clock, zone) = s.split_at(at);
    let fields: Vec<&str> = zone[1..].split(':').collect();
    let well_formed = fields.len() <= 3 && fields.iter().all(|f| f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit()));
    well_formed.then_some((clock, zone))
}

const NOT_A_TIME: &str =
    "is not a time ([-]H:MM:SS[.ffffff] with minutes and seconds below 60, or an ISO 8601 duration without years or months)";

/// A time value for the target's time column, checked against its range —
/// the one check for dry run and real run: MySQL TIME (a duration)
/// −838:59:59 … 838:59:59, PostgreSQL time (a time of day, with a zone for
/// `time with time zone`) 00:00:00 … 24:00:00. Both the clock spelling and
/// the ISO 8601 duration pg-export writes for an interval are read.
fn time_cell(s: &str, col: &TargetColumn, d: Dialect) -> Result<Cell, String> {
    let zoned = d == Dialect::Postgres && {
        let t = col.sql_type.to_ascii_lowercase();
        t.starts_with("timetz") || t.contains("with time zone")
    };
    let (clock_text, zone) = if zoned {
        split_zone(s).ok_or_else(|| format!("{s:?} {NOT_A_TIME}, then a zone (Z or +HH[:MM])"))?
    } else {
        (s, "")
    };
    let (neg, secs, frac) = parse_time(clock_text).ok_or_else(|| format!("{s:?} {NOT_A_TIME}"))?;
    let fraction_nonzero = frac.bytes().any(|b| b != b'0');
    let zero = secs == 0 && !fraction_nonzero;
    // -00:00:00 is 00:00:00.
    let neg = neg && !zero;
    let clock = |h: u64| {
        let mut out = format!("{}{h:02}:{:02}:{:02}", if neg { "-" } else { "" }, secs / 60 % 60, secs % 60);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(&frac);
        }
        out.push_str(zone);
        out
    };
    match d {
        Dialect::MySql => {
            if secs > 838 * 3_600 + 59 * 60 + 59 || secs == 838 * 3_600 + 59 * 60 + 59 && fraction_nonzero {
                return Err(format!("{s} is out of range for {} (-838:59:59 .. 838:59:59)", col.sql_type));
            }
            Ok(Cell::Text(clock(secs / 3_600)))
        }
        Dialect::Postgres => {
            if neg || secs > 86_400 || secs == 86_400 && fraction_nonzero {
                return Err(format!(
                    "{s} is out of range for PostgreSQL {} (00:00:00 .. 24:00:00; a MySQL TIME is a duration: \
                     import it into an interval column, the type --create-tables picks unless told otherwise)",
                    col.sql_type
                ));
            }
            Ok(Cell::Text(clock(secs / 3_600)))
        }
        Dialect::Sqlite => Ok(Cell::Text(clock(secs / 3_600))),
    }
}

/// A value for an interval column. A value in clock form (`[-]H:MM:SS[.f]`,
/// what a MySQL TIME is) is checked like a time — minutes and seconds below
/// 60 — so `--dry-run` finds what PostgreSQL would refuse; other spellings
/// (`1 year 2 mons`, ISO 8601 `P1Y2M`) go to the database as they are.
fn interval_cell(s: String, d: Dialect) -> Result<Cell, String> {
    let body = s.strip_prefix('-').unwrap_or(&s);
    let clock_form = body.contains(':') && body.bytes().all(|b| b.is_ascii_digit() || b == b':' || b == b'.');
    if clock_form && parse_time(&s).is_none() {
        return Err(format!("{s:?} {NOT_A_TIME}"));
    }
    text_cell(s, d)
}

/// Decimal digits check: `(negative, integer digits, fraction digits)`.
fn decimal_parts(s: &str) -> Option<(bool, &str, &str)> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((neg, int, frac))
}

fn check_decimal(s: &str, precision: Option<u32>, scale: Option<u32>) -> Result<String, String> {
    let (neg, int, frac) = decimal_checked(s, precision, scale)?;
    let mut out = String::with_capacity(s.len());
    if neg {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Ok(out)
}

/// The checks of [`check_decimal`] without the text it writes:
/// `(negative, integer digits, fraction digits)` of a decimal that fits
/// `numeric(precision, scale)` without rounding.
pub(crate) fn decimal_checked(
    s: &str,
    precision: Option<u32>,
    scale: Option<u32>,
) -> Result<(bool, &str, &str), String> {
    decimal_fits(s, precision, scale).ok_or_else(|| decimal_refusal(s, precision, scale))
}

/// Why [`decimal_fits`] refuses `s`.
fn decimal_refusal(s: &str, precision: Option<u32>, scale: Option<u32>) -> String {
    let Some((_, _, frac)) = decimal_parts(s) else {
        return format!("{s:?} is not a decimal number (digits with an optional '.')");
    };
    let frac_kept = frac.trim_end_matches('0').len();
    match scale {
        Some(scale) if frac_kept as u32 > scale => {
            format!("{s} has {frac_kept} fraction digits but the column keeps {scale}: it would be rounded")
        }
        _ => format!("{s} does not fit numeric({},{})", precision.unwrap_or(0), scale.unwrap_or(0)),
    }
}

/// The decimal check in one pass over `s` (the hot paths call it for every
/// value): the sign, the integer digits and the fraction digits of a
/// decimal that fits `numeric(precision, scale)` without rounding, else
/// `None` ([`decimal_checked`] says why).
#[inline]
pub(crate) fn decimal_fits(s: &str, precision: Option<u32>, scale: Option<u32>) -> Option<(bool, &str, &str)> {
    let b = s.as_bytes();
    let (neg, start) = match b.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    // The first point splits; any other non-digit (a second point too) fails.
    let mut point = None;
    // Leading zeros of the integer part, and where the last nonzero
    // fraction digit ends.
    let (mut lead, mut leading) = (0, true);
    let mut frac_end = 0;
    for (k, &c) in b.iter().enumerate().skip(start) {
        match c {
            b'0'..=b'9' => match point {
                None if leading && c == b'0' => lead += 1,
                None => leading = false,
                Some(_) if c != b'0' => frac_end = k + 1,
                Some(_) => {}
            },
            b'.' if point.is_none() => point = Some(k),
            _ => return None,
        }
    }
    let (int, frac) = match point {
        Some(p) => (&s[start..p], &s[p + 1..]),
        None => (&s[start..], ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let int_digits = (int.len() - lead) as u32;
    let frac_kept = match point {
        Some(p) => frac_end.saturating_sub(p + 1) as u32,
        None => 0,
    };
    if scale.is_some_and(|scale| frac_kept > scale) {
        return None;
    }
    if precision.is_some_and(|p| int_digits > p.saturating_sub(scale.unwrap_or(0))) {
        return None;
    }
    Some((neg, int, frac))
}

/// Shortest round-trip exponent form: `1.5e0`, `1e300`, `-0e0`.
pub fn float_text(f: f64) -> String {
    format!("{f:e}")
}

/// The JSON text of a nested value (JSON columns, arrays into JSON).
pub fn json_text(value: &Value, out: &mut String) -> Result<(), String> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!("JSON cannot hold the float {f}"));
            }
            let mut buf = Vec::new();
            let _ = serde_json::to_writer(&mut buf, f);
            out.push_str(&String::from_utf8_lossy(&buf));
        }
        Value::String(s) => push_json_str(s, out),
        Value::Bytes(_) => return Err("JSON cannot hold bytes (a $b64 value)".into()),
        Value::ZeroDate(z) => return Err(format!("JSON cannot hold the zero date {z}")),
        // Exact digits: JSON numbers have no precision limit of their own.
        Value::Number(n) => out.push_str(n),
        // A set as JSON is the array of its members.
        Value::StringSet(members) => {
            json_text(&Value::Array(members.iter().cloned().map(Value::String).collect()), out)?
        }
        Value::NumberSet(members) => {
            json_text(&Value::Array(members.iter().cloned().map(Value::Number).collect()), out)?
        }
        Value::BinarySet(_) => return Err("JSON cannot hold bytes (a $bs binary set)".into()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_text(item, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_str(k, out);
                out.push(':');
                json_text(v, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// True when `raw` (an object or array, as read from a line) is exactly
/// the text [`json_text`] writes for the value it decodes to, so a JSON
/// column can take the line's bytes instead of building the `Value` tree and
/// writing it again (most of the import's time on rows with a JSON column).
/// Conservative: any whitespace, escape, `$` key (a possible tag), number
/// that does not print back the same, or depth over 64 answers false, and
/// the caller takes the `Value` path, which reports what is wrong.
pub fn json_text_is_verbatim(raw: &[u8]) -> bool {
    decant_record::jsontext::is_verbatim(raw, verbatim_number)
}

/// The length of the JSON object or array that starts `text` when
/// [`json_text_is_verbatim`] takes it (whatever follows), else `None`.
pub(crate) fn json_verbatim_len(text: &[u8]) -> Option<usize> {
    decant_record::jsontext::verbatim_len(text, verbatim_number)
}

/// An integer of at most 18 digits without a leading zero (an `i64`,
/// printed back as read), or a float that serde_json prints back as read.
fn verbatim_number(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.iter().all(u8::is_ascii_digit) {
        return !digits.is_empty() && digits.len() <= 18 && (digits == b"0" && text.len() == 1 || digits[0] != b'0');
    }
    let Ok(f) = std::str::from_utf8(text).unwrap_or("x").parse::<f64>() else { return false };
    if !f.is_finite() {
        return false;
    }
    let mut buf = [0u8; 40];
    let mut out = std::io::Cursor::new(&mut buf[..]);
    if serde_json::to_writer(&mut out, &f).is_err() {
        return false;
    }
    let n = out.position() as usize;
    &buf[..n] == text
}

/// Appends a JSON string literal, escaped exactly as serde_json escapes it
/// (`\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`), without
/// an intermediate buffer.
fn push_json_str(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn int_of(value: &Value) -> Result<i128, String> {
    match value {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i128),
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e38 => Ok(*f as i128),
        // An exact number (DynamoDB N) reads like the same digits in a string.
        Value::String(s) | Value::Number(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i128>() {
                return Ok(i);
            }
            // "12.000" from a decimal(…,3) source is the integer 12.
            match decimal_parts(t) {
                Some((neg, int, frac)) if frac.bytes().all(|b| b == b'0') && !int.is_empty() => {
                    let i: i128 = int.parse().map_err(|_| format!("{s:?} is not an integer"))?;
                    Ok(if neg { -i } else { i })
                }
                _ => Err(format!("{s:?} is not an integer")),
            }
        }
        other => Err(format!("{} is not an integer", describe(other))),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {:?}", s.chars().take(40).collect::<String>()),
        Value::Float(f) => format!("the float {f}"),
        Value::Int(i) => format!("the integer {i}"),
        other => format!("a {} value", other.type_name()),
    }
}

/// Text into a text-like column.
fn text_cell(text: String, d: Dialect) -> Result<Cell, String> {
    if d == Dialect::Postgres && text.contains('\0') {
        return Err("PostgreSQL text cannot hold the NUL character (0x00); --cast the column to bytea".into());
    }
    Ok(Cell::Text(text))
}

/// Whether `b` has a date's shape, `YYYY-MM-DD` (digits, not yet a calendar date).
pub(crate) fn is_date_shape(b: &[u8]) -> bool {
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4].iter().chain(&b[5..7]).chain(&b[8..10]).all(u8::is_ascii_digit)
}

fn date_cell(s: String, d: Dialect) -> Result<Cell, String> {
    if !is_date_shape(s.as_bytes()) {
        return Err(format!("{s:?} is not a date (YYYY-MM-DD)"));
    }
    check_calendar(&s, d)?;
    Ok(Cell::Text(s))
}

/// MySQL takes `YYYY-MM-DD HH:MM:SS`: the `T` (position 10, checked by
/// `check_date`) becomes a space, in place.
fn mysql_datetime(mut s: String) -> String {
    if s.as_bytes().get(10) == Some(&b'T') {
        s.replace_range(10..11, " ");
    }
    s
}

fn datetime_cell(s: String, col: &TargetColumn, d: Dialect) -> Result<Cell, String> {
    check_date(&s, d)?;
    check_fraction(&s, col, d)?;
    if zoned_suffix(&s) {
        return Err(format!(
            "{s} has a time zone but {} {} has none: the offset would be dropped; --cast the column to a zoned type",
            d, col.sql_type
        ));
    }
    Ok(Cell::Text(if d == Dialect::MySql { mysql_datetime(s) } else { s }))
}

fn timestamp_cell(s: String, col: &TargetColumn, d: Dialect) -> Result<Cell, String> {
    check_date(&s, d)?;
    check_fraction(&s, col, d)?;
    if d == Dialect::MySql {
        // MySQL TIMESTAMP literals take no offset (MariaDB); the
        // session runs at +00:00, so the UTC wall time is exact.
        if zoned_suffix(&s) {
            let utc = decant_record::time::normalize_datetime(&s, None, Default::default())
                .ok_or_else(|| format!("{s:?} is not a date-time"))?;
            return Ok(Cell::Text(utc.trim_end_matches('Z').replacen('T', " ", 1)));
        }
        return Ok(Cell::Text(mysql_datetime(s)));
    }
    Ok(Cell::Text(s))
}

/// [`encode`] for a value the caller owns: strings and bytes move into the
/// cell instead of being copied (the hot path of every importer).
pub fn encode_owned(
    value: Value,
    src: Option<&Column>,
    col: &TargetColumn,
    opts: &EncodeOptions,
) -> Result<Cell, String> {
    let d = opts.dialect;
    match (&col.kind, value) {
        (Kind::Text { .. } | Kind::Enum(_) | Kind::Set(_) | Kind::Other, Value::String(s)) => text_cell(s, d),
        (Kind::Interval, Value::String(s)) => interval_cell(s, d),
        (Kind::Datetime, Value::String(s)) => datetime_cell(s, col, d),
        (Kind::Timestamp, Value::String(s)) => timestamp_cell(s, col, d),
        (Kind::Date, Value::String(s)) => date_cell(s, d),
        (Kind::Bytes { .. }, Value::Bytes(b)) => Ok(Cell::Bytes(b)),
        (Kind::Bytes { .. }, Value::String(s)) => Ok(Cell::Bytes(s.into_bytes())),
        (Kind::Int { min, max }, Value::Int(i)) => {
            if i < *min || i > *max {
                return encode(&Value::Int(i), src, col, opts);
            }
            Ok(Cell::Int(i))
        }
        (_, value) => encode(&value, src, col, opts),
    }
}

/// Converts one value for a target column. `src` is the column's `schema`
/// line entry, when the stream had one.
pub fn encode(value: &Value, src: Option<&Column>, col: &TargetColumn, opts: &EncodeOptions) -> Result<Cell, String> {
    let d = opts.dialect;
    if value.is_null() {
        return Ok(Cell::Null);
    }
    if let Value::ZeroDate(z) = value {
        return match (&col.kind, d) {
            (Kind::Date | Kind::Datetime | Kind::Timestamp | Kind::Text { .. } | Kind::Other, Dialect::MySql) => {
                Ok(Cell::Text(z.clone()))
            }
            (Kind::Text { .. } | Kind::Other, _) => Ok(Cell::Text(z.clone())),
            (Kind::Date | Kind::Datetime | Kind::Timestamp, Dialect::Sqlite) => Ok(Cell::Text(z.clone())),
            (Kind::Date | Kind::Datetime | Kind::Timestamp, _) if opts.zero_dates == ZeroDates::Null => Ok(Cell::Null),
            _ => Err(format!(
                "the MySQL zero date {z} has no equivalent in {} {}: pass --zero-dates null to store NULL",
                d, col.sql_type
            )),
        };
    }
    match &col.kind {
        Kind::Bool => match value {
            Value::Bool(b) => Ok(Cell::Bool(*b)),
            Value::Int(0) => Ok(Cell::Bool(false)),
            Value::Int(1) => Ok(Cell::Bool(true)),
            // MySQL's "boolean" is a TINYINT and holds any small integer.
            Value::Int(i) if d != Dialect::Postgres && (-128..=127).contains(i) => Ok(Cell::Int(*i)),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "t" | "1" | "yes" | "y" | "on" => Ok(Cell::Bool(true)),
                "false" | "f" | "0" | "no" | "n" | "off" => Ok(Cell::Bool(false)),
                _ => Err(format!("{} is not a boolean", describe(value))),
            },
            other => Err(format!("{} is not a boolean", describe(other))),
        },
        Kind::Int { min, max } => {
            let i = int_of(value)?;
            if i < *min || i > *max {
                let hint = if d == Dialect::Sqlite && i > *max {
                    " (SQLite INTEGER holds at most 9223372036854775807; --cast the column to TEXT to keep it as digits)"
                } else {
                    ""
                };
                return Err(format!("{i} is out of range for {} ({min}..{max}){hint}", col.sql_type));
            }
            Ok(Cell::Int(i))
        }
        Kind::Year => {
            let y = int_of(value)?;
            // MySQL YEAR: 1901..=2155, or 0 (the zero year).
            if d == Dialect::MySql && y != 0 && !(1901..=2155).contains(&y) {
                return Err(format!("{y} is out of range for {} (1901..2155, or 0)", col.sql_type));
            }
            Ok(Cell::Int(y))
        }
        Kind::Float { single } => {
            let f = match value {
                Value::Float(f) => *f,
                Value::Int(i) => {
                    let f = *i as f64;
                    if f as i128 != *i {
                        return Err(format!("the integer {i} has no exact float equivalent"));
                    }
                    f
                }
                Value::String(s) | Value::Number(s) => {
                    s.trim().parse::<f64>().map_err(|_| format!("{} is not a number", describe(value)))?
                }
                Value::Bool(b) => *b as u8 as f64,
                other => return Err(format!("{} is not a number", describe(other))),
            };
            if !f.is_finite() && d == Dialect::MySql {
                return Err(format!("MySQL cannot store the float {f}"));
            }
            if *single && f.is_finite() && (f as f32).is_infinite() {
                return Err(format!("{f} is out of range for {}", col.sql_type));
            }
            Ok(Cell::Float(if *single { f as f32 as f64 } else { f }))
        }
        Kind::Decimal { precision, scale } => {
            let text = match value {
                Value::String(s) | Value::Number(s) => s.trim().to_owned(),
                Value::Int(i) => i.to_string(),
                Value::Float(f) if f.is_finite() => {
                    // Shortest digits, positional (`{}` never uses an exponent).
                    format!("{f}")
                }
                Value::Bool(b) => (*b as u8).to_string(),
                other => return Err(format!("{} is not a decimal number", describe(other))),
            };
            if d == Dialect::Postgres && matches!(text.as_str(), "NaN" | "Infinity" | "-Infinity") {
                return Ok(Cell::Text(text));
            }
            let exact = check_decimal(&text, *precision, *scale)?;
            if d == Dialect::Sqlite && col.sql_type.to_ascii_uppercase().starts_with("TEXT") {
                return Ok(Cell::Text(exact));
            }
            Ok(Cell::Text(exact))
        }
        Kind::Text { .. } | Kind::Enum(_) | Kind::Set(_) | Kind::Interval | Kind::Other => {
            let text = match value {
                Value::String(s) if col.kind == Kind::Interval => return interval_cell(s.clone(), d),
                Value::String(s) => return text_cell(s.clone(), d),
                Value::Int(i) => i.to_string(),
                Value::Float(f) => {
                    if f.is_finite() {
                        let mut buf = Vec::new();
                        let _ = serde_json::to_writer(&mut buf, f);
                        String::from_utf8_lossy(&buf).into_owned()
                    } else {
                        f.to_string()
                    }
                }
                Value::Bool(b) => {
                    if d == Dialect::Postgres && col.kind == Kind::Other {
                        b.to_string()
                    } else {
                        (*b as u8).to_string()
                    }
                }
                Value::Bytes(b) => match std::str::from_utf8(b) {
                    Ok(s) => s.to_owned(),
                    Err(_) if d == Dialect::Sqlite || col.kind == Kind::Other => return Ok(Cell::Bytes(b.clone())),
                    Err(_) => {
                        return Err(format!(
                        "bytes that are not UTF-8 cannot go into the text column {} ({}); --cast it to a binary type",
                        col.name, col.sql_type
                    ))
                    }
                },
                Value::Array(_)
                | Value::Object(_)
                | Value::StringSet(_)
                | Value::NumberSet(_)
                | Value::BinarySet(_) => {
                    let mut s = String::new();
                    json_text(value, &mut s)?;
                    s
                }
                Value::ZeroDate(z) | Value::Number(z) => z.clone(),
                Value::Null => unreachable!("handled above"),
            };
            text_cell(text, d)
        }
        Kind::Bytes { .. } => match value {
            Value::Bytes(b) => Ok(Cell::Bytes(b.clone())),
            Value::String(s) => Ok(Cell::Bytes(s.as_bytes().to_vec())),
            other => Err(format!("{} is not a byte string", describe(other))),
        },
        Kind::Date => match value {
            Value::String(s) => date_cell(s.clone(), d),
            other => Err(format!("{} is not a date", describe(other))),
        },
        Kind::Time => match value {
            Value::String(s) => {
                check_fraction(s, col, d)?;
                time_cell(s, col, d)
            }
            other => Err(format!("{} is not a time", describe(other))),
        },
        Kind::Datetime => match value {
            Value::String(s) => datetime_cell(s.clone(), col, d),
            other => Err(format!("{} is not a date-time", describe(other))),
        },
        Kind::Timestamp => match value {
            Value::String(s) => timestamp_cell(s.clone(), col, d),
            other => Err(format!("{} is not a timestamp", describe(other))),
        },
        Kind::Json => {
            // A JSON column's value is the JSON value itself, unless the
            // source column was text (a cast to json): then it is JSON text.
            let text_source = src.is_some_and(|c| !matches!(c.ty, LogicalType::Json | LogicalType::Array));
            if let (true, Value::String(s)) = (text_source, value) {
                serde_json::from_str::<serde_json::Value>(s).map_err(|e| format!("not valid JSON text: {e}"))?;
                return Ok(Cell::Text(s.clone()));
            }
            let mut s = String::new();
            json_text(value, &mut s)?;
            Ok(Cell::Text(s))
        }
        Kind::Uuid => match value {
            Value::String(s) => {
                let hex: String = s.chars().filter(|c| *c != '-').collect();
                if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!("{s:?} is not a UUID"));
                }
                Ok(Cell::Text(s.clone()))
            }
            Value::Bytes(b) if b.len() == 16 => {
                let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                Ok(Cell::Text(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])))
            }
            other => Err(format!("{} is not a UUID", describe(other))),
        },
        Kind::Bit(n) => {
            let i = match value {
                Value::String(s) if !s.is_empty() && s.bytes().all(|b| b == b'0' || b == b'1') => {
                    i128::from_str_radix(s, 2).map_err(|e| e.to_string())?
                }
                Value::Bytes(b) if b.len() <= 8 => b.iter().fold(0i128, |acc, x| (acc << 8) | *x as i128),
                other => int_of(other)?,
            };
            if i < 0 || (*n < 127 && i >> n != 0) {
                return Err(format!("{i} does not fit bit({n})"));
            }
            match d {
                Dialect::Postgres => Ok(Cell::Text(format!("{i:0width$b}", width = *n as usize))),
                _ => Ok(Cell::Int(i)),
            }
        }
        Kind::Array(elem) => match value {
            Value::Array(_) if d == Dialect::Postgres => {
                let mut s = String::new();
                pg_array_literal(value, elem, opts, &col.name, &mut s)?;
                Ok(Cell::Text(s))
            }
            Value::String(s) => Ok(Cell::Text(s.clone())),
            other => Err(format!("{} is not an array", describe(other))),
        },
    }
}

fn pg_array_literal(
    value: &Value,
    elem: &Kind,
    opts: &EncodeOptions,
    name: &str,
    out: &mut String,
) -> Result<(), String> {
    let Value::Array(items) = value else {
        let col = TargetColumn {
            name: name.to_owned(),
            sql_type: "array element".into(),
            kind: elem.clone(),
            nullable: true,
            identity: false,
        };
        let cell = encode(value, None, &col, opts)?;
        match cell {
            Cell::Null => out.push_str("NULL"),
            Cell::Bytes(b) => {
                out.push_str("\"\\\\x");
                for x in b {
                    let _ = write!(out, "{x:02x}");
                }
                out.push('"');
            }
            other => {
                let text = cell_text(&other);
                out.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
        return Ok(());
    };
    out.push('{');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        pg_array_literal(item, elem, opts, name, out)?;
    }
    out.push('}');
    Ok(())
}

/// The text form of a non-NULL, non-bytes cell (PostgreSQL input syntax).
pub fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Bool(b) => if *b { "t" } else { "f" }.to_owned(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) => pg_float(*f),
        Cell::Text(s) => s.clone(),
        Cell::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

fn pg_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        float_text(f)
    }
}

/// Decimal digits of an integer, without allocating (`[u8; 40]` holds any i128).
pub(crate) struct IntText {
    buf: [u8; 40],
    start: usize,
}

impl IntText {
    pub(crate) fn new(i: i128) -> IntText {
        let mut buf = [0u8; 40];
        let mut pos = buf.len();
        let mut n = i.unsigned_abs();
        if let Ok(mut m) = u64::try_from(n) {
            // u64 division is several times cheaper than u128's.
            loop {
                pos -= 1;
                buf[pos] = b'0' + (m % 10) as u8;
                m /= 10;
                if m == 0 {
                    break;
                }
            }
        } else {
            while n > 0 {
                pos -= 1;
                buf[pos] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        if i < 0 {
            pos -= 1;
            buf[pos] = b'-';
        }
        IntText { buf, start: pos }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and '-' were written.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

fn int_len(i: i128) -> usize {
    (i < 0) as usize + i.unsigned_abs().checked_ilog10().map_or(1, |l| l as usize + 1)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends a cell in PostgreSQL COPY text format (no delimiter).
pub fn pg_copy(cell: &Cell, out: &mut Vec<u8>) {
    match cell {
        Cell::Null => out.extend_from_slice(b"\\N"),
        Cell::Bool(b) => out.push(if *b { b't' } else { b'f' }),
        Cell::Int(i) => out.extend_from_slice(IntText::new(*i).as_bytes()),
        Cell::Float(f) => {
            if f.is_finite() {
                let _ = std::io::Write::write_fmt(out, format_args!("{f:e}"));
            } else {
                out.extend_from_slice(pg_float(*f).as_bytes());
            }
        }
        Cell::Text(s) => copy_escape(s.as_bytes(), out),
        Cell::Bytes(b) => {
            // bytea hex input `\x…`, its backslash escaped for COPY.
            out.reserve(b.len() * 2 + 3);
            out.extend_from_slice(b"\\\\x");
            for x in b {
                out.push(HEX[(x >> 4) as usize]);
                out.push(HEX[(x & 15) as usize]);
            }
        }
    }
}

/// The bytes [`pg_copy`] writes for a cell, or a close estimate (escapes
/// not counted): sizes buffers up front.
pub fn pg_copy_len(cell: &Cell) -> usize {
    match cell {
        Cell::Null => 2,
        Cell::Bool(_) => 1,
        Cell::Int(i) => int_len(*i),
        Cell::Float(_) => 24,
        Cell::Text(s) => s.len(),
        Cell::Bytes(b) => b.len() * 2 + 3,
    }
}

fn copy_escape(s: &[u8], out: &mut Vec<u8>) {
    // Copies the runs between escapes whole, not byte by byte.
    let mut start = 0;
    for (i, &c) in s.iter().enumerate() {
        let esc: &[u8] = match c {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends a cell as a MySQL literal (the session runs with
/// `NO_BACKSLASH_ESCAPES`, so only `'` needs doubling).
pub fn mysql_literal(cell: &Cell, out: &mut String) {
    match cell {
        Cell::Null => out.push_str("NULL"),
        Cell::Bool(b) => out.push(if *b { '1' } else { '0' }),
        Cell::Int(i) => out.push_str(IntText::new(*i).as_str()),
        Cell::Float(f) => {
            let _ = write!(out, "{f:e}");
        }
        Cell::Text(s) => {
            out.reserve(s.len() + 2);
            out.push('\'');
            let mut rest = s.as_str();
            while let Some(p) = rest.find('\'') {
                out.push_str(&rest[..=p]);
                out.push('\'');
                rest = &rest[p + 1..];
            }
            out.push_str(rest);
            out.push('\'');
        }
        Cell::Bytes(b) => {
            out.reserve(b.len() * 2 + 3);
            out.push_str("X'");
            for x in b {
                out.push(HEX[(x >> 4) as usize] as char);
                out.push(HEX[(x & 15) as usize] as char);
            }
            out.push('\'');
        }
    }
}

/// The bytes [`mysql_literal`] writes for a cell, or a close estimate
/// (doubled quotes not counted): sizes statements up front.
pub fn mysql_literal_len(cell: &Cell) -> usize {
    match cell {
        Cell::Null => 4,
        Cell::Bool(_) => 1,
        Cell::Int(i) => int_len(*i),
        Cell::Float(_) => 24,
        Cell::Text(s) => s.len() + 2,
        Cell::Bytes(b) => b.len() * 2 + 3,
    }
}

/// Checks what the database would check, for `--dry-run` and to name the
/// column of a row the database refused: NULLs, lengths, enum members.
pub fn validate(cell: &Cell, col: &TargetColumn, dialect: Dialect) -> Result<(), String> {
    if matches!(cell, Cell::Null) {
        if !(col.nullable || col.identity && dialect == Dialect::MySql) {
            return Err(format!("NULL in the NOT NULL column {:?}", col.name));
        }
        return Ok(());
    }
    if dialect == Dialect::Sqlite {
        return Ok(());
    }
    match (&col.kind, cell) {
        (Kind::Text { max_chars: Some(n) }, Cell::Text(s)) => {
            let len = s.chars().count() as u64;
            if len > *n {
                return Err(format!("value too long for {}: {len} characters, at most {n}", col.sql_type));
            }
        }
        (Kind::Bytes { max_bytes: Some(n) }, Cell::Bytes(b)) if b.len() as u64 > *n => {
            return Err(format!("value too long for {}: {} bytes, at most {n}", col.sql_type, b.len()));
        }
        (Kind::Enum(values), Cell::Text(s)) if !values.is_empty() && !values.contains(s) => {
            return Err(format!("{s:?} is not one of the values of {}", col.sql_type));
        }
        (Kind::Set(values), Cell::Text(s)) if !values.is_empty() && !s.is_empty() => {
            if let Some(bad) = s.split(',').find(|m| !values.iter().any(|v| v == m)) {
                return Err(format!("{bad:?} is not a member of {}", col.sql_type));
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::typemap::kind_of;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 20_000, ..Default::default() })]

        /// The one-pass check answers what the three-pass rule it replaced
        /// did (the point's split, each part's digits, then the two limits).
        #[test]
        fn decimal_fits_is_decimal_checked(
            s in "[-+]?[0-9.]{0,12}|[-+0-9.a ]{0,6}",
            precision in proptest::option::of(0u32..14),
            scale in proptest::option::of(0u32..8),
        ) {
            let three_pass = decimal_parts(&s).filter(|(_, int, frac)| {
                let int_digits = int.trim_start_matches('0').len() as u32;
                let frac_kept = frac.trim_end_matches('0').len() as u32;
                scale.is_none_or(|sc| frac_kept <= sc)
                    && precision.is_none_or(|p| int_digits <= p.saturating_sub(scale.unwrap_or(0)))
            });
            proptest::prop_assert_eq!(decimal_fits(&s, precision, scale), three_pass, "{}", s);
            proptest::prop_assert_eq!(decimal_checked(&s, precision, scale).ok(), three_pass, "{}", s);
        }
    }

    fn col(d: Dialect, ty: &str) -> TargetColumn {
        TargetColumn { name: "c".into(), sql_type: ty.into(), kind: kind_of(d, ty), nullable: true, identity: false }
    }
    fn enc(d: Dialect, ty: &str, v: Value) -> Result<Cell, String> {
        encode(&v, None, &col(d, ty), &EncodeOptions { dialect: d, zero_dates: ZeroDates::Error })
    }
    fn copy(c: &Cell) -> String {
        let mut out = Vec::new();
        pg_copy(c, &mut out);
        String::from_utf8(out).unwrap()
    }
    fn lit(c: &Cell) -> String {
        let mut out = String::new();
        mysql_literal(c, &mut out);
        out
    }
    const PG: Dialect = Dialect::Postgres;
    const MY: Dialect = Dialect::MySql;
    const LITE: Dialect = Dialect::Sqlite;

    #[test]
    fn time_is_a_duration_in_mysql_and_a_time_of_day_in_postgres() {
        let my = TargetColumn {
            name: "t".into(),
            sql_type: "time".into(),
            kind: Kind::Time,
            nullable: true,
            identity: false,
        };
        let pg = TargetColumn { sql_type: "time without time zone".into(), ..my.clone() };
        let text = |c: Result<Cell, String>| match c {
            Ok(Cell::Text(t)) => t,
            other => panic!("{other:?}"),
        };
        for (value, mysql) in [
            ("838:59:59", "838:59:59"),
            ("-838:59:59", "-838:59:59"),
            ("-00:00:00", "00:00:00"),
            ("PT838H59M59S", "838:59:59"),
            ("-PT838H59M59S", "-838:59:59"),
            ("PT-838H-59M-59S", "-838:59:59"),
            ("PT-0.5S", "-00:00:00.5"),
            ("P1DT-1H", "23:00:00"),
            ("P1DT2H3M4.5S", "26:03:04.5"),
            ("12:30:00.000001", "12:30:00.000001"),
        ] {
            assert_eq!(text(time_cell(value, &my, Dialect::MySql)), mysql, "{value}");
        }
        assert!(time_cell("839:00:00", &my, Dialect::MySql).unwrap_err().contains("-838:59:59 .. 838:59:59"));
        assert!(time_cell("PT839H", &my, Dialect::MySql).unwrap_err().contains("out of range"));
        assert!(time_cell("838:59:59.5", &my, Dialect::MySql).is_err());
        assert!(time_cell("P1M", &my, Dialect::MySql).is_err());
        assert!(time_cell("99999999999999999999:00:00", &my, Dialect::MySql).is_err());
        assert!(time_cell("12:60:00", &my, Dialect::MySql).is_err());
        assert_eq!(text(time_cell("24:00:00", &pg, Dialect::Postgres)), "24:00:00");
        assert!(time_cell("838:59:59", &pg, Dialect::Postgres).unwrap_err().contains("interval"));
        assert!(time_cell("-01:00:00", &pg, Dialect::Postgres).is_err());
    }

    #[test]
    fn datetimes_never_shift() {
        let naive = Value::String("2025-01-01T09:30:00.123456".into());
        assert_eq!(
            enc(PG, "timestamp(6) without time zone", naive.clone()).unwrap(),
            Cell::Text("2025-01-01T09:30:00.123456".into())
        );
        assert_eq!(enc(MY, "datetime(6)", naive.clone()).unwrap(), Cell::Text("2025-01-01 09:30:00.123456".into()));
        let zoned = Value::String("2025-01-01T09:30:00+05:30".into());
        let e = enc(PG, "timestamp without time zone", zoned.clone()).unwrap_err();
        assert!(e.contains("offset would be dropped"), "{e}");
        assert_eq!(enc(MY, "timestamp(6)", zoned.clone()).unwrap(), Cell::Text("2025-01-01 04:00:00".into()));
        assert_eq!(enc(PG, "timestamp with time zone", zoned).unwrap(), Cell::Text("2025-01-01T09:30:00+05:30".into()));
        assert_eq!(
            enc(MY, "timestamp", Value::String("2025-01-01T00:00:00Z".into())).unwrap(),
            Cell::Text("2025-01-01 00:00:00".into())
        );
    }

    #[test]
    fn fractions_are_never_rounded_away() {
        let v = Value::String("2025-01-01T09:30:00.123456".into());
        assert!(enc(MY, "datetime", v.clone()).unwrap_err().contains("would be rounded"));
        assert!(enc(MY, "datetime(3)", v.clone()).is_err());
        assert!(enc(PG, "timestamp(3) without time zone", v.clone()).is_err());
        assert!(enc(MY, "datetime(6)", v.clone()).is_ok());
        assert!(enc(PG, "timestamp without time zone", v.clone()).is_ok());
        assert!(enc(MY, "datetime(3)", Value::String("2025-01-01T09:30:00.120000".into())).is_ok());
        assert!(enc(MY, "time", Value::String("12:00:00.5".into())).is_err());
        assert!(enc(LITE, "DATETIME", v).is_ok());
    }

    #[test]
    fn zero_dates_are_explicit() {
        let z = Value::ZeroDate("0000-00-00 00:00:00".into());
        assert_eq!(enc(MY, "datetime", z.clone()).unwrap(), Cell::Text("0000-00-00 00:00:00".into()));
        assert!(enc(PG, "timestamp without time zone", z.clone()).unwrap_err().contains("--zero-dates null"));
        let c = col(PG, "timestamp without time zone");
        let null = encode(&z, None, &c, &EncodeOptions { dialect: PG, zero_dates: ZeroDates::Null }).unwrap();
        assert_eq!(null, Cell::Null);
    }

    #[test]
    fn integers_and_ranges() {
        let big = Value::Int(u64::MAX as i128);
        assert_eq!(enc(PG, "numeric(20,0)", big.clone()).unwrap(), Cell::Text("18446744073709551615".into()));
        assert_eq!(enc(MY, "bigint unsigned", big.clone()).unwrap(), Cell::Int(u64::MAX as i128));
        assert!(enc(PG, "bigint", big.clone()).unwrap_err().contains("out of range"));
        // SQLite: BIGINT UNSIGNED holds it (bound as a 20-digit BLOB), BIGINT does not.
        assert_eq!(enc(LITE, "BIGINT UNSIGNED", big.clone()).unwrap(), Cell::Int(u64::MAX as i128));
        assert!(enc(LITE, "BIGINT", big).unwrap_err().contains("--cast"));
        assert!(enc(MY, "tinyint", Value::Int(128)).is_err());
        assert_eq!(enc(MY, "tinyint unsigned", Value::Int(255)).unwrap(), Cell::Int(255));
        assert_eq!(enc(PG, "integer", Value::String("12".into())).unwrap(), Cell::Int(12));
        assert_eq!(enc(PG, "boolean", Value::Int(1)).unwrap(), Cell::Bool(true));
        assert!(enc(PG, "boolean", Value::Int(2)).is_err());
        assert_eq!(enc(MY, "tinyint(1)", Value::Bool(true)).unwrap(), Cell::Bool(true));
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(enc(PG, "numeric(12,4)", Value::String("12.3400".into())).unwrap(), Cell::Text("12.3400".into()));
        assert!(enc(PG, "numeric(12,2)", Value::String("12.345".into())).unwrap_err().contains("rounded"));
        assert_eq!(enc(PG, "numeric(12,2)", Value::String("12.3400".into())).unwrap(), Cell::Text("12.3400".into()));
        assert!(enc(MY, "decimal(4,2)", Value::String("123.4".into())).unwrap_err().contains("does not fit"));
        assert!(enc(MY, "decimal(4,2)", Value::String("abc".into())).is_err());
        assert_eq!(enc(PG, "numeric", Value::String("-0.5".into())).unwrap(), Cell::Text("-0.5".into()));
    }

    #[test]
    fn floats_round_trip() {
        let c = enc(MY, "double", Value::Float(0.1)).unwrap();
        assert_eq!(lit(&c), "1e-1");
        assert_eq!(copy(&enc(PG, "double precision", Value::Float(f64::NAN)).unwrap()), "NaN");
        assert!(enc(MY, "double", Value::Float(f64::INFINITY)).is_err());
        assert_eq!("1.7976931348623157e308".parse::<f64>().unwrap(), f64::MAX);
        assert_eq!(float_text(f64::MAX).parse::<f64>().unwrap(), f64::MAX);
    }

    #[test]
    fn text_bytes_and_json() {
        let emoji = Value::String("tab\there\nline \\ 😀 'q'".into());
        assert_eq!(copy(&enc(PG, "text", emoji.clone()).unwrap()), "tab\\there\\nline \\\\ 😀 'q'");
        assert_eq!(lit(&enc(MY, "longtext", emoji).unwrap()), "'tab\there\nline \\ 😀 ''q'''");
        let bytes = Value::Bytes(vec![0, 255, 10]);
        assert_eq!(copy(&enc(PG, "bytea", bytes.clone()).unwrap()), "\\\\x00ff0a");
        assert_eq!(lit(&enc(MY, "longblob", bytes.clone()).unwrap()), "X'00ff0a'");
        assert!(enc(PG, "text", bytes).unwrap_err().contains("not UTF-8"));
        assert!(enc(PG, "text", Value::String("a\0b".into())).is_err());
        let doc = Value::Object(vec![
            ("b".into(), Value::Int(u64::MAX as i128)),
            ("a".into(), Value::Array(vec![Value::Null])),
        ]);
        assert_eq!(enc(PG, "jsonb", doc).unwrap(), Cell::Text("{\"b\":18446744073709551615,\"a\":[null]}".into()));
        assert_eq!(enc(PG, "jsonb", Value::String("x".into())).unwrap(), Cell::Text("\"x\"".into()));
        // A text source cast to json is JSON text.
        let src = Column::new("c", LogicalType::Text);
        let c = encode(
            &Value::String("{\"a\":1}".into()),
            Some(&src),
            &col(PG, "jsonb"),
            &EncodeOptions { dialect: PG, zero_dates: ZeroDates::Error },
        )
        .unwrap();
        assert_eq!(c, Cell::Text("{\"a\":1}".into()));
    }

    #[test]
    fn arrays_bits_uuids() {
        let arr = Value::Array(vec![Value::String("a,\"b\"".into()), Value::Null]);
        assert_eq!(enc(PG, "text[]", arr).unwrap(), Cell::Text("{\"a,\\\"b\\\"\",NULL}".into()));
        let nested = Value::Array(vec![Value::Array(vec![Value::Int(1), Value::Int(2)])]);
        assert_eq!(enc(PG, "integer[]", nested).unwrap(), Cell::Text("{{\"1\",\"2\"}}".into()));
        assert_eq!(enc(PG, "bit(4)", Value::Int(5)).unwrap(), Cell::Text("0101".into()));
        assert!(enc(PG, "bit(2)", Value::Int(5)).is_err());
        assert_eq!(enc(MY, "bit(4)", Value::Int(5)).unwrap(), Cell::Int(5));
        assert!(enc(PG, "uuid", Value::String("nope".into())).is_err());
    }

    #[test]
    fn impossible_dates_and_times_are_refused_everywhere() {
        for d in [PG, MY, LITE] {
            let e = enc(d, "date", Value::String("2023-02-30".into())).unwrap_err();
            assert!(e.contains("not a date that exists"), "{d}: {e}");
            assert!(enc(d, "date", Value::String("2024-02-29".into())).is_ok(), "{d}: a leap day");
            assert!(enc(d, "date", Value::String("2100-02-29".into())).is_err(), "{d}: 2100 is not a leap year");
            assert!(enc(d, "date", Value::String("2023-13-01".into())).is_err());
            let dt = if d == PG { "timestamp without time zone" } else { "datetime" };
            assert!(enc(d, dt, Value::String("2023-04-31T10:00:00".into())).is_err());
            assert!(enc(d, dt, Value::String("2023-04-30T24:00:00".into())).unwrap_err().contains("time of day"));
            assert!(enc(d, dt, Value::String("2023-04-30T23:60:00".into())).is_err());
            assert!(enc(d, dt, Value::String("2023-04-30T23:59:59".into())).is_ok());
        }
        assert!(enc(PG, "date", Value::String("0000-01-01".into())).unwrap_err().contains("year 0"));
        assert!(enc(MY, "date", Value::String("0000-01-01".into())).is_ok());
    }

    #[test]
    fn times_out_of_the_column_range_are_refused() {
        let t = |d, ty: &str, v: &str| enc(d, ty, Value::String(v.into()));
        assert!(t(MY, "time", "838:59:59").is_ok());
        assert!(t(MY, "time", "-838:59:59").is_ok());
        assert!(t(MY, "time", "839:00:00").unwrap_err().contains("out of range"));
        assert!(t(MY, "time", "99999999999999999999:00:00").is_err());
        assert!(t(PG, "time without time zone", "23:59:59.999999").is_ok());
        assert!(t(PG, "time without time zone", "24:00:00").is_ok());
        assert!(t(PG, "time without time zone", "25:00:00").unwrap_err().contains("out of range"));
        assert!(t(PG, "time without time zone", "-01:00:00").is_err());
        assert!(t(PG, "time with time zone", "13:00:00.5+02:00").is_ok());
        assert_eq!(t(PG, "time with time zone", "13:00:00-05:30").unwrap(), Cell::Text("13:00:00-05:30".into()));
        assert!(t(PG, "time with time zone", "-13:00:00+02").is_err());
        assert_eq!(t(PG, "time with time zone", "13:00:00Z").unwrap(), Cell::Text("13:00:00Z".into()));
        assert!(t(PG, "time with time zone", "13:00:00+2").is_err());
        assert!(t(PG, "time without time zone", "13:00:00+02").is_err());
        // An ISO 8601 duration (how pg-export writes an interval) into a MySQL
        // TIME, with the same range as the clock spelling.
        assert_eq!(t(MY, "time", "PT12H34M56S").unwrap(), Cell::Text("12:34:56".into()));
        assert_eq!(t(MY, "time", "PT-838H-59M-59S").unwrap(), Cell::Text("-838:59:59".into()));
        assert!(t(MY, "time", "PT839H").unwrap_err().contains("out of range"));
        assert!(t(MY, "time", "25:61:00").unwrap_err().contains("\"25:61:00\" is not a time"));
        // An interval column checks a clock-form value like a time; other
        // interval spellings go to PostgreSQL unchanged.
        let iv = "interval hour to second(6)";
        assert_eq!(t(PG, iv, "-838:59:59.5").unwrap(), Cell::Text("-838:59:59.5".into()));
        assert!(t(PG, iv, "25:61:00").unwrap_err().contains("\"25:61:00\" is not a time"));
        assert_eq!(t(PG, iv, "P1DT2H").unwrap(), Cell::Text("P1DT2H".into()));
        assert_eq!(t(PG, iv, "1 day 02:00:00").unwrap(), Cell::Text("1 day 02:00:00".into()));
        let owned = encode_owned(
            Value::String("12:60:00".into()),
            None,
            &col(PG, iv),
            &EncodeOptions { dialect: PG, zero_dates: ZeroDates::Error },
        );
        assert!(owned.unwrap_err().contains("is not a time"));
        assert!(t(MY, "time", "10:60:00").is_err());
        assert!(t(MY, "time", "ten o'clock").is_err());
        assert!(enc(MY, "year", Value::Int(1900)).unwrap_err().contains("out of range"));
        assert!(enc(MY, "year", Value::Int(2155)).is_ok());
        assert!(enc(MY, "year", Value::Int(0)).is_ok());
    }

    #[test]
    fn validation_names_the_problem() {
        let c = col(MY, "varchar(3)");
        assert!(validate(&Cell::Text("abcd".into()), &c, MY).unwrap_err().contains("too long"));
        assert!(validate(&Cell::Text("😀😀😀".into()), &c, MY).is_ok());
        let mut nn = col(PG, "integer");
        nn.nullable = false;
        assert!(validate(&Cell::Null, &nn, PG).is_err());
        assert!(validate(&Cell::Text("x".into()), &col(MY, "enum('a','b')"), MY).is_err());
    }

    #[test]
    fn integers_render_without_formatting_machinery() {
        for i in
            [0i128, 7, -7, 10, 99, -100, i64::MAX as i128, i64::MIN as i128, u64::MAX as i128, i128::MAX, i128::MIN]
        {
            assert_eq!(IntText::new(i).as_str(), i.to_string());
            assert_eq!(int_len(i), i.to_string().len(), "{i}");
            assert_eq!(lit(&Cell::Int(i)), i.to_string());
            assert_eq!(copy(&Cell::Int(i)), i.to_string());
        }
    }

    #[test]
    fn renderers_escape_every_special_byte_and_size_buffers() {
        let cells = [
            Cell::Null,
            Cell::Bool(true),
            Cell::Float(-1.5e-300),
            Cell::Text("'a''b' \\ \t\n\r end'".into()),
            Cell::Text(String::new()),
            Cell::Bytes(vec![0, 1, 0xab, 0xff]),
        ];
        assert_eq!(lit(&cells[3]), "'''a''''b'' \\ \t\n\r end'''");
        assert_eq!(copy(&cells[3]), "'a''b' \\\\ \\t\\n\\r end'");
        assert_eq!(lit(&cells[5]), "X'0001abff'");
        assert_eq!(copy(&cells[5]), "\\\\x0001abff");
        assert_eq!(lit(&cells[2]), "-1.5e-300");
        assert_eq!(copy(&cells[2]), "-1.5e-300");
        for c in &cells {
            // Exact but for doubled quotes and escapes, which the estimates leave out.
            assert!(mysql_literal_len(c) + 5 >= lit(c).len(), "{c:?}");
            assert!(pg_copy_len(c) + 5 >= copy(c).len(), "{c:?}");
        }
    }

    #[test]
    fn owned_and_borrowed_encoding_agree() {
        let values = [
            Value::String("2025-01-01T09:30:00.123456".into()),
            Value::String("2025-01-01T09:30:00+05:30".into()),
            Value::String("2025-01-01 09:30:00".into()),
            Value::String("2025-01-01".into()),
            Value::String("2025-1-01".into()),
            Value::String("text 😀 'q'".into()),
            Value::String("a\0b".into()),
            Value::Bytes(vec![0, 255]),
            Value::Int(200),
            Value::Int(-129),
            Value::Null,
            Value::ZeroDate("0000-00-00 00:00:00".into()),
        ];
        let types = [
            "datetime(6)",
            "timestamp",
            "timestamp(6) with time zone",
            "timestamp without time zone",
            "date",
            "text",
            "varchar(5)",
            "bytea",
            "longblob",
            "tinyint",
            "smallint",
            "integer",
        ];
        for d in [PG, MY, LITE] {
            for ty in types {
                let c = col(d, ty);
                let opts = EncodeOptions { dialect: d, zero_dates: ZeroDates::Error };
                for v in &values {
                    assert_eq!(encode_owned(v.clone(), None, &c, &opts), encode(v, None, &c, &opts), "{d} {ty} {v:?}");
                }
            }
        }
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_does() {
        let mut all_controls: String = (0u8..0x20).map(char::from).collect();
        all_controls.push_str("\"\\/\u{7f}😀é'");
        for s in [all_controls.as_str(), "", "plain", "a\"b", "end\\"] {
            let mut out = String::new();
            push_json_str(s, &mut out);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    /// What the Value path writes for `raw` (None: it does not decode).
    fn via_value(raw: &str) -> Option<String> {
        let v: Value = serde_json::from_str(raw).ok()?;
        let mut out = String::new();
        json_text(&v, &mut out).ok()?;
        Some(out)
    }

    #[test]
    fn verbatim_json_is_exactly_what_the_value_path_writes() {
        let verbatim = [
            r#"{}"#,
            r#"[]"#,
            r#"{"model":"claude-3","n":12,"cost":0.0123,"ok":true,"x":null,"a":[1,-2,{"b":false}]}"#,
            r#"[1.5,-0.25,100000.0,1e+300,0,-7,123456789012345678]"#,
            r#"{"a":1,"a":2}"#,
            r#"{"é😀":"ü $ [x] {y}"}"#,
        ];
        for raw in verbatim {
            assert!(json_text_is_verbatim(raw.as_bytes()), "{raw}");
            assert_eq!(via_value(raw).as_deref(), Some(raw), "{raw}");
        }
        let not = [
            r#""a string""#,
            "12",
            "null",
            r#"{ "a":1}"#,
            r#"{"a":1 }"#,
            r#"[1, 2]"#,
            r#"{"a":"q\"uote"}"#,
            r#"{"a":"\u00e9"}"#,
            r#"{"$int":"5"}"#,
            r#"{"$b64":"AA=="}"#,
            r#"[1e5]"#,
            r#"[1e300]"#,
            r#"[1E5]"#,
            r#"[-0]"#,
            r#"[01]"#,
            r#"[1.]"#,
            r#"[+1]"#,
            r#"[1.50]"#,
            r#"[1234567890123456789]"#,
            r#"[1e400]"#,
            r#"[tru]"#,
            r#"[1,]"#,
            r#"{"a"}"#,
            r#"[1]x"#,
            r#"[1"#,
            "[\"a\nb\"]",
        ];
        for raw in not {
            assert!(!json_text_is_verbatim(raw.as_bytes()), "{raw}");
        }
        let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
        assert!(!json_text_is_verbatim(deep.as_bytes()));
    }

    /// JSON-like texts built from pieces that are often, but not always,
    /// verbatim (escapes, tags, spaces, odd number forms).
    fn json_like() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            "-?(0|[1-9][0-9]{15,20})",
            "-?(0|[1-9][0-9]{0,3})",
            "-?(0|[1-9][0-9]{0,19})(\\.[0-9]{1,4})?([eE][-+]?[0-9]{1,3})?",
            "\"([a$ é]|\\\\[n\"u]){0,4}\"",
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just(" 1".to_owned()),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(("\"[a$]{0,2}\"", inner), 0..4).prop_map(|v| {
                    let members: Vec<String> = v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn a_verbatim_text_is_what_the_value_path_writes(raw in json_like()) {
            if json_text_is_verbatim(raw.as_bytes()) {
                let written = via_value(&raw);
                proptest::prop_assert_eq!(written.as_deref(), Some(raw.as_str()));
            }
        }
    }
}
