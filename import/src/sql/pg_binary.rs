//! PostgreSQL `COPY … FROM STDIN (FORMAT binary)`: cells in each column
//! type's binary wire form, so the server parses no text for them.
//!
//! Text COPY makes the server run every column's input function on every
//! value (numeric_in, timestamp_in, byteain's hex decoding, …), a third of
//! its CPU in a bulk load; the binary forms of integers, numerics (base-10000
//! digits), date-times (µs since 2000-01-01) and bytea cost it next to
//! nothing. Only types whose binary form is simple and stable since
//! PostgreSQL 9 are written this way ([`BinType`]); a batch with any other
//! column type goes as text, and so does a batch with a cell whose text this
//! module does not recognise in full (e.g. a date-time with a BC era): the
//! server's text parser then decides, as before. Exactness: the server's
//! receive functions apply the column's type modifier (length, precision,
//! fraction digits) exactly as its input functions do.

use super::cell::Cell;

/// A column type with a binary form here (from `format_type` output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    /// text, varchar(n), char(n): the UTF-8 bytes (converted to the server
    /// encoding and checked against the length modifier by the server).
    Text,
    Bytea,
    Date,
    /// timestamp without time zone.
    Timestamp,
    /// timestamp with time zone (the session runs at UTC).
    Timestamptz,
    Json,
    Jsonb,
    Uuid,
}

impl BinType {
    /// The binary form of a column declared `sql_type` (as `format_type`
    /// prints it), `None` when it is written as text.
    pub(crate) fn of(sql_type: &str) -> Option<BinType> {
        let t = sql_type.trim();
        let base = t.split('(').next().unwrap_or("").trim_end();
        Some(match base {
            "boolean" => BinType::Bool,
            "smallint" => BinType::Int2,
            "integer" => BinType::Int4,
            "bigint" => BinType::Int8,
            "real" => BinType::Float4,
            "double precision" => BinType::Float8,
            "numeric" => BinType::Numeric,
            "text" | "character varying" | "character" => BinType::Text,
            "bytea" => BinType::Bytea,
            "date" => BinType::Date,
            "timestamp" if t.ends_with("without time zone") || t == "timestamp" => BinType::Timestamp,
            "timestamp without time zone" => BinType::Timestamp,
            "timestamp" if t.ends_with("with time zone") => BinType::Timestamptz,
            "timestamp with time zone" => BinType::Timestamptz,
            "json" => BinType::Json,
            "jsonb" => BinType::Jsonb,
            "uuid" => BinType::Uuid,
            _ => return None,
        })
    }
}

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// The rows in binary COPY format (header to trailer), `None` when a cell
/// does not have the shape its column's binary form needs (then the batch
/// goes as text).
pub(crate) fn copy_binary(types: &[BinType], rows: &[&[Cell]]) -> Option<Vec<u8>> {
    let fields = i16::try_from(types.len()).ok()?;
    let want: usize = rows.iter().map(|r| 2 + r.iter().map(|c| 4 + cell_len(c)).sum::<usize>()).sum();
    let mut out = Vec::with_capacity(SIGNATURE.len() + 8 + want + 2);
    header(&mut out);
    let mut digits = Vec::new();
    for row in rows {
        if row.len() != types.len() {
            return None;
        }
        out.extend_from_slice(&fields.to_be_bytes());
        for (cell, ty) in row.iter().zip(types) {
            put_cell(cell, *ty, &mut out, &mut digits)?;
        }
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    Some(out)
}

/// Binary COPY data from rows already in their binary form (each a field
/// count and its fields, as [`copy_binary`] writes a row), header to trailer.
pub(crate) fn copy_binary_rows<'a>(rows: impl Iterator<Item = &'a [u8]> + Clone) -> Vec<u8> {
    let want: usize = rows.clone().map(<[u8]>::len).sum();
    let mut out = Vec::with_capacity(SIGNATURE.len() + 8 + want + 2);
    header(&mut out);
    for row in rows {
        out.extend_from_slice(row);
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

fn header(out: &mut Vec<u8>) {
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&0i32.to_be_bytes()); // flags: no OIDs
    out.extend_from_slice(&0i32.to_be_bytes()); // header extension length
}

/// Appends one field of a row: its length and binary value (-1 for NULL);
/// `None` (with `out` as it was) when the cell has not the shape `ty` needs.
pub(crate) fn put_cell(cell: &Cell, ty: BinType, out: &mut Vec<u8>, digits: &mut Vec<i16>) -> Option<()> {
    if matches!(cell, Cell::Null) {
        out.extend_from_slice(&(-1i32).to_be_bytes());
        return Some(());
    }
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    if encode(cell, ty, out, digits).is_none() {
        out.truncate(at);
        return None;
    }
    end_field(out, at)
}

/// Writes the length of the field whose 4-byte length slot is at `at`
/// (its value follows it up to the end of `out`).
pub(crate) fn end_field(out: &mut [u8], at: usize) -> Option<()> {
    let len = i32::try_from(out.len() - at - 4).ok()?;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Some(())
}

/// About the bytes a cell takes (sizes the buffer up front).
fn cell_len(cell: &Cell) -> usize {
    match cell {
        Cell::Null => 0,
        Cell::Bool(_) => 1,
        Cell::Int(_) | Cell::Float(_) => 8,
        Cell::Text(s) => s.len() + 1,
        Cell::Bytes(b) => b.len(),
    }
}

/// Appends one non-NULL cell's binary value; `None` when it has not the
/// shape `ty` needs.
fn encode(cell: &Cell, ty: BinType, out: &mut Vec<u8>, digits: &mut Vec<i16>) -> Option<()> {
    match (ty, cell) {
        (BinType::Bool, Cell::Bool(b)) => out.push(*b as u8),
        (BinType::Int2, Cell::Int(i)) => out.extend_from_slice(&i16::try_from(*i).ok()?.to_be_bytes()),
        (BinType::Int4, Cell::Int(i)) => out.extend_from_slice(&i32::try_from(*i).ok()?.to_be_bytes()),
        (BinType::Int8, Cell::Int(i)) => out.extend_from_slice(&i64::try_from(*i).ok()?.to_be_bytes()),
        // The cell holds the value the column keeps (a float4 column's
        // value was rounded to f32 on the way in), so the cast is exact.
        (BinType::Float4, Cell::Float(f)) => out.extend_from_slice(&(*f as f32).to_bits().to_be_bytes()),
        (BinType::Float8, Cell::Float(f)) => out.extend_from_slice(&f.to_bits().to_be_bytes()),
        (BinType::Numeric, Cell::Int(i)) => {
            let text = i.to_string();
            let (neg, int) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text.as_str()),
            };
            numeric(neg, int.as_bytes(), b"", out, digits)?;
        }
        (BinType::Numeric, Cell::Text(s)) => {
            if s == "NaN" {
                // ndigits 0, weight 0, sign NaN, dscale 0. (Infinity has a
                // binary form only since PostgreSQL 14: it goes as text.)
                out.extend_from_slice(&[0, 0, 0, 0, 0xC0, 0, 0, 0]);
                return Some(());
            }
            let (neg, body) = match s.as_bytes() {
                [b'-', rest @ ..] => (true, rest),
                [b'+', rest @ ..] => (false, rest),
                b => (false, b),
            };
            let dot = body.iter().position(|&b| b == b'.');
            let (int, frac) = match dot {
                Some(p) => (&body[..p], &body[p + 1..]),
                None => (body, &b""[..]),
            };
            if (int.is_empty() && frac.is_empty()) || !int.iter().chain(frac).all(u8::is_ascii_digit) {
                return None;
            }
            numeric(neg, int, frac, out, digits)?;
        }
        (BinType::Text | BinType::Json, Cell::Text(s)) => out.extend_from_slice(s.as_bytes()),
        (BinType::Jsonb, Cell::Text(s)) => {
            out.push(1); // jsonb binary format version 1: the JSON text follows
            out.extend_from_slice(s.as_bytes());
        }
        (BinType::Bytea, Cell::Bytes(b)) => out.extend_from_slice(b),
        (BinType::Date, Cell::Text(s)) => {
            let b = s.as_bytes();
            if b.len() != 10 {
                return None;
            }
            let days = civil_days(b)?;
            out.extend_from_slice(&i32::try_from(days).ok()?.to_be_bytes());
        }
        (BinType::Timestamp, Cell::Text(s)) => out.extend_from_slice(&micros(s.as_bytes(), false)?.to_be_bytes()),
        (BinType::Timestamptz, Cell::Text(s)) => out.extend_from_slice(&micros(s.as_bytes(), true)?.to_be_bytes()),
        (BinType::Uuid, Cell::Text(s)) => out.extend_from_slice(&uuid(s.as_bytes())?),
        _ => return None,
    }
    Some(())
}

/// A numeric in PostgreSQL's binary form: ndigits, weight, sign, dscale,
/// then base-10000 digits (`int`, `frac`: ASCII decimal digits). The
/// display scale is the number of fraction digits given, so `12.3400`
/// keeps its four (as numeric_in keeps them).
pub(crate) fn numeric(neg: bool, int: &[u8], frac: &[u8], out: &mut Vec<u8>, digits: &mut Vec<i16>) -> Option<()> {
    let dscale = u16::try_from(frac.len()).ok().filter(|d| *d <= 0x3FFF)?;
    let int = &int[int.iter().position(|&b| b != b'0').unwrap_or(int.len())..];
    digits.clear();
    // Integer part: groups of four from the right (the first group short).
    let first = int.len() % 4;
    let mut weight: i32 = (int.len().div_ceil(4) as i32) - 1;
    if first > 0 {
        digits.push(group(&int[..first]));
    }
    for g in int[first..].chunks(4) {
        digits.push(group(g));
    }
    // Fraction: groups of four from the left, the last padded with zeros.
    for g in frac.chunks(4) {
        let mut d = group(g);
        for _ in g.len()..4 {
            d *= 10;
        }
        digits.push(d);
    }
    // No leading or trailing zero groups (the weight follows the leading ones).
    let lead = digits.iter().take_while(|&&d| d == 0).count();
    let trail = digits[lead..].iter().rev().take_while(|&&d| d == 0).count();
    let kept = &digits[lead..digits.len() - trail];
    weight -= lead as i32;
    let (weight, sign) = if kept.is_empty() { (0, 0x0000u16) } else { (weight, if neg { 0x4000 } else { 0 }) };
    out.extend_from_slice(&i16::try_from(kept.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&i16::try_from(weight).ok()?.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for d in kept {
        out.extend_from_slice(&d.to_be_bytes());
    }
    Some(())
}

fn group(d: &[u8]) -> i16 {
    d.iter().fold(0i16, |n, c| n * 10 + (c - b'0') as i16)
}

fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, c| n * 10 + (c - b'0') as i64))
}

/// Days from 2000-01-01 to the date `YYYY-MM-DD` at the start of `b`
/// (proleptic Gregorian, years 1 to 9999; anything else is `None`).
pub(crate) fn civil_days(b: &[u8]) -> Option<i64> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(&b[..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match m {
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        1..=12 => 31,
        _ => return None,
    };
    if y < 1 || d < 1 || d > month_days {
        return None;
    }
    // Howard Hinnant's days_from_civil, shifted from 1970 to 2000.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468 - 10_957)
}

/// µs since 2000-01-01 00:00:00 of `YYYY-MM-DD[( |T)HH:MM:SS[.f{1,6}]]`,
/// with `Z` or `±HH[:MM]` after it when `zoned` (then the instant in UTC;
/// without one the value is UTC, the session's zone).
pub(crate) fn micros(b: &[u8], zoned: bool) -> Option<i64> {
    let days = civil_days(b)?;
    let mut secs = days * 86_400;
    let mut frac = 0i64;
    let mut rest = &b[10..];
    if !rest.is_empty() {
        if !(rest[0] == b'T' || rest[0] == b' ') || rest.len() < 9 || rest[3] != b':' || rest[6] != b':' {
            return None;
        }
        let (h, mi, s) = (num(&rest[1..3])?, num(&rest[4..6])?, num(&rest[7..9])?);
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
        secs += h * 3600 + mi * 60 + s;
        rest = &rest[9..];
        if let [b'.', tail @ ..] = rest {
            let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 6 {
                return None;
            }
            frac = num(&tail[..n])? * 10i64.pow(6 - n as u32);
            rest = &tail[n..];
        }
    }
    match rest {
        [] => {}
        [b'Z' | b'z'] if zoned => {}
        [sign @ (b'+' | b'-'), tz @ ..] if zoned => {
            let (h, m) = match tz {
                [_, _] => (num(tz)?, 0),
                [_, _, b':', _, _] => (num(&tz[..2])?, num(&tz[3..])?),
                [_, _, _, _] => (num(&tz[..2])?, num(&tz[2..])?),
                _ => return None,
            };
            if h > 15 || m > 59 {
                return None;
            }
            let offset = h * 3600 + m * 60;
            secs -= if *sign == b'+' { offset } else { -offset };
        }
        _ => return None,
    }
    Some(secs * 1_000_000 + frac)
}

/// The 16 bytes of a UUID in a form uuid_in takes: 32 hex digits, plain or
/// dashed 8-4-4-4-12 (other spellings go as text, for the server to judge).
fn uuid(b: &[u8]) -> Option<[u8; 16]> {
    let hex: [u8; 32] = match b.len() {
        32 => b.try_into().ok()?,
        36 => {
            if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
                return None;
            }
            let mut h = [0u8; 32];
            let mut k = 0;
            for (i, &c) in b.iter().enumerate() {
                if !matches!(i, 8 | 13 | 18 | 23) {
                    h[k] = c;
                    k += 1;
                }
            }
            h
        }
        _ => return None,
    };
    let nibble = |c: u8| (c as char).to_digit(16).map(|v| v as u8);
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num_bytes(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&Cell::Text(s.into()), BinType::Numeric, &mut out, &mut Vec::new()).unwrap();
        out
    }

    fn words(v: &[u8]) -> Vec<i32> {
        // ndigits, weight, sign, dscale, digits… (sign and dscale unsigned)
        v.chunks(2)
            .enumerate()
            .map(|(i, w)| {
                let x = u16::from_be_bytes([w[0], w[1]]);
                if i == 2 || i == 3 {
                    x as i32
                } else {
                    x as i16 as i32
                }
            })
            .collect()
    }

    #[test]
    fn numerics_in_base_10000_keep_their_scale() {
        assert_eq!(words(&num_bytes("61245448.3629")), [3, 1, 0, 4, 6124, 5448, 3629]);
        assert_eq!(words(&num_bytes("12.3400")), [2, 0, 0, 4, 12, 3400]);
        assert_eq!(words(&num_bytes("-0.0001")), [1, -1, 0x4000, 4, 1]);
        assert_eq!(words(&num_bytes("0.00001")), [1, -2, 0, 5, 1000]);
        assert_eq!(words(&num_bytes("10000")), [1, 1, 0, 0, 1]);
        assert_eq!(words(&num_bytes("18446744073709551615")), [5, 4, 0, 0, 1844, 6744, 737, 955, 1615]);
        assert_eq!(words(&num_bytes("0.0000")), [0, 0, 0, 4]);
        assert_eq!(words(&num_bytes("-0")), [0, 0, 0, 0]);
        assert_eq!(words(&num_bytes("007.5")), [2, 0, 0, 1, 7, 5000]);
        assert_eq!(words(&num_bytes("NaN")), [0, 0, 0xC000, 0]);
        let mut out = Vec::new();
        encode(&Cell::Int(-12345), BinType::Numeric, &mut out, &mut Vec::new()).unwrap();
        assert_eq!(words(&out), [2, 1, 0x4000, 0, 1, 2345]);
        for odd in ["Infinity", "-Infinity", "1e5", "", ".", "1.2.3", " 1"] {
            assert!(
                encode(&Cell::Text(odd.into()), BinType::Numeric, &mut Vec::new(), &mut Vec::new()).is_none(),
                "{odd}"
            );
        }
    }

    #[test]
    fn date_times_count_from_2000_in_utc() {
        assert_eq!(micros(b"2000-01-01T00:00:00", false), Some(0));
        assert_eq!(micros(b"2000-01-01", false), Some(0));
        assert_eq!(micros(b"1999-12-31 23:59:59.5", false), Some(-500_000));
        assert_eq!(micros(b"2024-12-24T12:40:41.811657", false), Some(788_359_241_811_657));
        assert_eq!(micros(b"2024-01-17T10:42:42Z", true), micros(b"2024-01-17T10:42:42", false));
        assert_eq!(micros(b"2024-01-17T16:12:42+05:30", true), micros(b"2024-01-17T10:42:42", false));
        assert_eq!(micros(b"2024-01-17T08:42:42-0200", true), micros(b"2024-01-17T10:42:42", false));
        assert_eq!(micros(b"0001-01-01T00:00:00", false), Some(-63_082_281_600_000_000));
        assert_eq!(micros(b"9999-12-31T23:59:59.999999", false), Some(252_455_615_999_999_999));
        // Not taken here: the server's text parser decides.
        for odd in [
            &b"2024-01-17T10:42:42Z"[..],
            b"2024-02-30T00:00:00",
            b"2024-01-17T24:00:00",
            b"2024-01-17T10:42:42.1234567",
            b"2024-01-17T10:42",
            b"0000-01-01T00:00:00",
            b"infinity",
            b"2024-01-17T10:42:42 BC",
        ] {
            assert_eq!(micros(odd, false), None, "{}", String::from_utf8_lossy(odd));
        }
        assert_eq!(civil_days(b"2000-03-01"), Some(60));
        assert_eq!(civil_days(b"1970-01-01"), Some(-10_957));
    }

    #[test]
    fn uuids_and_fallbacks() {
        let u = uuid(b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
        assert_eq!(u[0], 0xa0);
        assert_eq!(u[15], 0x11);
        assert_eq!(uuid(b"A0EEBC999C0B4EF8BB6D6BB9BD380A11"), Some(u));
        assert_eq!(uuid(b"a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11"), None);
        assert!(copy_binary(&[BinType::Int4], &[&[Cell::Int(1 << 40)]]).is_none());
        assert!(copy_binary(&[BinType::Bool], &[&[Cell::Int(1)]]).is_none());
        assert_eq!(BinType::of("timestamp(6) without time zone"), Some(BinType::Timestamp));
        assert_eq!(BinType::of("timestamp with time zone"), Some(BinType::Timestamptz));
        assert_eq!(BinType::of("timestamp(3) with time zone"), Some(BinType::Timestamptz));
        assert_eq!(BinType::of("numeric(20,0)"), Some(BinType::Numeric));
        assert_eq!(BinType::of("character varying(255)"), Some(BinType::Text));
        assert_eq!(BinType::of("citext"), None);
        assert_eq!(BinType::of("integer[]"), None);
        assert_eq!(BinType::of("time without time zone"), None);
    }

    #[test]
    fn a_batch_has_the_header_rows_and_trailer() {
        let rows: Vec<Vec<Cell>> = vec![vec![Cell::Int(7), Cell::Null, Cell::Text("é".into())]];
        let refs: Vec<&[Cell]> = rows.iter().map(Vec::as_slice).collect();
        let data = copy_binary(&[BinType::Int8, BinType::Bytea, BinType::Text], &refs).unwrap();
        let mut want = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
        want.extend_from_slice(&[
            0, 3, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0xc3, 0xa9,
        ]);
        want.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(data, want);
    }
}
