//! Casts: pure conversions of one source value (Redis bytes or a column
//! value) into a typed column value, and back into Redis text.
//!
//! | cast | accepts | produces |
//! |---|---|---|
//! | `string` | UTF-8 text; numbers, bools, JSON (rendered); date-times with a `format` pattern | text |
//! | `bytes` | anything textual or binary | bytes (never mangled) |
//! | `int` | `-?[0-9]+` in the i64/u64 range; integral floats; bools | integer |
//! | `float` | decimal or exponent notation, `inf`, `nan` | float |
//! | `decimal` | `-?[0-9]+(.[0-9]+)?` | the exact digits, as text |
//! | `bool` | `true/false`, `1/0`, `yes/no`, `t/f`, `on/off` (any case) | bool |
//! | `datetime` | ISO 8601 (`2025-01-01T09:30:00.123Z`, space or `T`, zone optional) or epoch numbers (`format = "epoch_s"`/`"epoch_ms"`/`"epoch_us"`) | naive UTC `YYYY-MM-DDTHH:MM:SS[.f]`, the fraction as precise as the input |
//! | `timestamp` | as `datetime` | the same instant with a `Z` |
//! | `date` | `YYYY-MM-DD` | the same text, validated |
//! | `json` | a JSON document in a string, or a JSON value | the nested JSON value |
//!
//! A failed cast is a [`CastError`] whose text says what was expected and
//! shows the offending value.

use std::fmt;
use std::fmt::Write as _;

use decant_record::time::{civil_from_days, days_from_civil};
use decant_record::{LogicalType, Value};

use crate::rounding::{round_decimal, round_nanos, Rounding};

/// A target type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    /// No conversion: Redis bytes become text when UTF-8, else bytes.
    Auto,
    /// UTF-8 text.
    String,
    /// A byte string.
    Bytes,
    /// An integer.
    Int,
    /// A 64-bit float.
    Float,
    /// An exact decimal, kept as its digits.
    Decimal,
    /// A boolean.
    Bool,
    /// A naive (UTC) date-time.
    Datetime,
    /// A zoned instant, written with `Z`.
    Timestamp,
    /// A calendar date.
    Date,
    /// A JSON document.
    Json,
    /// Epoch seconds (an integer) of a date-time.
    EpochS,
    /// Epoch milliseconds (an integer) of a date-time.
    EpochMs,
}

impl Cast {
    /// All cast names, for error messages.
    pub const NAMES: &'static str =
        "string, bytes, int, float, decimal, bool, datetime, timestamp, date, json, epoch_s, epoch_ms";

    /// Parses a cast name.
    pub fn parse(name: &str) -> Option<Cast> {
        Some(match name {
            "auto" => Cast::Auto,
            "string" | "text" => Cast::String,
            "bytes" | "binary" => Cast::Bytes,
            "int" | "integer" => Cast::Int,
            "float" | "double" => Cast::Float,
            "decimal" => Cast::Decimal,
            "bool" | "boolean" => Cast::Bool,
            "datetime" => Cast::Datetime,
            "timestamp" => Cast::Timestamp,
            "date" => Cast::Date,
            "json" => Cast::Json,
            "epoch_s" => Cast::EpochS,
            "epoch_ms" => Cast::EpochMs,
            _ => return None,
        })
    }

    /// The cast a declared column type implies.
    pub fn for_type(ty: LogicalType) -> Cast {
        use LogicalType as L;
        match ty {
            L::Bool => Cast::Bool,
            L::Int8 | L::Int16 | L::Int32 | L::Int64 | L::Uint8 | L::Uint16 | L::Uint32 | L::Uint64 | L::Year => {
                Cast::Int
            }
            L::Bit => Cast::Int,
            L::Float32 | L::Float64 => Cast::Float,
            L::Decimal => Cast::Decimal,
            L::Bytes => Cast::Bytes,
            L::Date => Cast::Date,
            L::Datetime => Cast::Datetime,
            L::Timestamp => Cast::Timestamp,
            L::Json | L::Array => Cast::Json,
            L::String | L::Text | L::Time | L::Interval | L::Uuid | L::Enum | L::Set => Cast::String,
        }
    }

    /// The logical column type this cast produces (for `schema` lines).
    pub fn logical_type(self) -> Option<LogicalType> {
        Some(match self {
            Cast::Auto => return None,
            Cast::String => LogicalType::Text,
            Cast::Bytes => LogicalType::Bytes,
            Cast::Int => LogicalType::Int64,
            Cast::Float => LogicalType::Float64,
            Cast::Decimal => LogicalType::Decimal,
            Cast::Bool => LogicalType::Bool,
            Cast::Datetime => LogicalType::Datetime,
            Cast::Timestamp => LogicalType::Timestamp,
            Cast::Date => LogicalType::Date,
            Cast::Json => LogicalType::Json,
            Cast::EpochS | Cast::EpochMs => LogicalType::Int64,
        })
    }

    /// The cast's name.
    pub fn name(self) -> &'static str {
        match self {
            Cast::Auto => "auto",
            Cast::String => "string",
            Cast::Bytes => "bytes",
            Cast::Int => "int",
            Cast::Float => "float",
            Cast::Decimal => "decimal",
            Cast::Bool => "bool",
            Cast::Datetime => "datetime",
            Cast::Timestamp => "timestamp",
            Cast::Date => "date",
            Cast::Json => "json",
            Cast::EpochS => "epoch_s",
            Cast::EpochMs => "epoch_ms",
        }
    }
}

/// How a date-time source is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeInput {
    /// ISO 8601 text (numbers are refused: say which epoch unit they are in).
    #[default]
    Iso,
    /// Seconds since 1970 (a fraction allowed).
    EpochS,
    /// Milliseconds since 1970.
    EpochMs,
    /// Microseconds since 1970.
    EpochUs,
}

/// How JSON values are written as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonStyle {
    /// Compact, as `JSON.stringify` and serde_json write it.
    #[default]
    Compact,
    /// As Python's `json.dumps` writes it by default: `", "` and `": "`
    /// separators, non-ASCII escaped as `\uXXXX`.
    Python,
    /// As Python's `json.dumps(v, separators=(",", ":"))` writes it: no
    /// spaces, non-ASCII escaped, floats as Python's `repr`.
    PythonCompact,
    /// As JavaScript's `JSON.stringify` writes it: compact, numbers as
    /// `Number.prototype.toString` (`0.0000025`, `1e-7`, `1e+21`).
    JavaScript,
}

/// One item of a date-time output pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FmtItem {
    Lit(String),
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// Fraction with this many digits.
    Frac(u8),
    /// Epoch seconds.
    Epoch,
    /// `+0000`.
    Zone,
}

/// A date-time output pattern (a strftime subset): `%Y %m %d %H %M %S`,
/// `%f` (6 fraction digits), `%3f` `%6f` `%9f`, `%s` (epoch seconds),
/// `%z` (`+0000`), `%%`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimePattern(Vec<FmtItem>);

impl TimePattern {
    /// Parses a pattern.
    pub fn parse(text: &str) -> Result<TimePattern, String> {
        let mut items = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            let item = match chars.next() {
                Some('%') => {
                    lit.push('%');
                    continue;
                }
                Some('Y') => FmtItem::Year,
                Some('m') => FmtItem::Month,
                Some('d') => FmtItem::Day,
                Some('H') => FmtItem::Hour,
                Some('M') => FmtItem::Minute,
                Some('S') => FmtItem::Second,
                Some('f') => FmtItem::Frac(6),
                Some('s') => FmtItem::Epoch,
                Some('z') => FmtItem::Zone,
                Some(d @ ('3' | '6' | '9')) if chars.peek() == Some(&'f') => {
                    chars.next();
                    FmtItem::Frac(d as u8 - b'0')
                }
                other => {
                    return Err(format!(
                        "bad date-time pattern {text:?}: unknown directive %{} (known: %Y %m %d %H %M %S %f %3f %6f %9f %s %z %%)",
                        other.map(String::from).unwrap_or_default()
                    ))
                }
            };
            if !lit.is_empty() {
                items.push(FmtItem::Lit(std::mem::take(&mut lit)));
            }
            items.push(item);
        }
        if !lit.is_empty() {
            items.push(FmtItem::Lit(lit));
        }
        Ok(TimePattern(items))
    }

    fn render(&self, dt: &DateTime) -> String {
        let mut out = String::with_capacity(32);
        let (y, m, d) = civil_from_days(dt.days);
        for item in &self.0 {
            let _ = match item {
                FmtItem::Lit(l) => {
                    out.push_str(l);
                    Ok(())
                }
                FmtItem::Year => write!(out, "{y:04}"),
                FmtItem::Month => write!(out, "{m:02}"),
                FmtItem::Day => write!(out, "{d:02}"),
                FmtItem::Hour => write!(out, "{:02}", dt.secs / 3600),
                FmtItem::Minute => write!(out, "{:02}", dt.secs / 60 % 60),
                FmtItem::Second => write!(out, "{:02}", dt.secs % 60),
                FmtItem::Frac(n) => {
                    let digits = format!("{:09}", dt.nanos);
                    out.push_str(&digits[..*n as usize]);
                    Ok(())
                }
                FmtItem::Epoch => write!(out, "{}", dt.days * 86_400 + dt.secs as i64),
                FmtItem::Zone => {
                    out.push_str("+0000");
                    Ok(())
                }
            };
        }
        out
    }
}

/// Options of one cast.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CastOptions {
    /// How date-time sources are written.
    pub time_input: TimeInput,
    /// How a `string` cast writes date-times (`None`: unchanged).
    pub time_pattern: Option<TimePattern>,
    /// How a `string` cast writes JSON values.
    pub json_style: JsonStyle,
    /// Date-time casts: the fraction digits the column keeps, and how to
    /// drop finer ones (`None`: a finer value is an error).
    pub time_digits: Option<(u8, Option<Rounding>)>,
    /// Decimal casts: the scale the column keeps, and how to drop finer
    /// digits (`None`: a finer value is an error).
    pub decimal_scale: Option<(u32, Option<Rounding>)>,
}

/// A source value handed to a cast.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// Raw bytes (a Redis field, member or value).
    Bytes(&'a [u8]),
    /// A typed value (a column, a JSON member, key metadata).
    Value(&'a Value),
}

/// Why a value could not be cast (the caller adds the rule, key and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastError(pub String);

impl fmt::Display for CastError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CastError {}

/// A short, printable rendering of a source value for error messages.
pub fn show(input: Input) -> String {
    const MAX: usize = 60;
    let text = match input {
        Input::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => format!("{s:?}"),
            Err(_) => format!("<{} bytes, not UTF-8>", b.len()),
        },
        Input::Value(v) => v.to_json_string(),
    };
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn fail(input: Input, what: &str) -> CastError {
    CastError(format!("{} is not {what}", show(input)))
}

/// The text of a source, when it has one (`Bytes` must be UTF-8).
fn text_of<'a>(input: Input<'a>) -> Option<&'a str> {
    match input {
        Input::Bytes(b) => std::str::from_utf8(b).ok(),
        Input::Value(Value::String(s)) => Some(s),
        Input::Value(_) => None,
    }
}

/// Casts one source value.
pub fn cast(input: Input, cast: Cast, opts: &CastOptions) -> Result<Value, CastError> {
    if let Input::Value(Value::Null) = input {
        return Ok(Value::Null);
    }
    match cast {
        Cast::Auto => Ok(match input {
            Input::Bytes(b) => Value::from_bytes_or_text(b.to_vec()),
            Input::Value(v) => v.clone(),
        }),
        Cast::String => to_string(input, opts).map(Value::String),
        Cast::Bytes => Ok(Value::Bytes(match input {
            Input::Bytes(b) => b.to_vec(),
            Input::Value(Value::Bytes(b)) => b.clone(),
            Input::Value(_) => to_string(input, opts)?.into_bytes(),
        })),
        Cast::Int => to_int(input).map(Value::Int),
        Cast::Float => to_float(input).map(Value::Float),
        Cast::Decimal => {
            let d = to_decimal(input)?;
            match opts.decimal_scale {
                None => Ok(Value::String(d)),
                Some((scale, mode)) => fit_scale(input, d, scale, mode).map(Value::String),
            }
        }
        Cast::Bool => to_bool(input).map(Value::Bool),
        Cast::Datetime => Ok(Value::String(fit_time(input, to_datetime(input, opts.time_input)?, opts)?.naive())),
        Cast::Timestamp => {
            let mut s = fit_time(input, to_datetime(input, opts.time_input)?, opts)?.naive();
            s.push('Z');
            Ok(Value::String(s))
        }
        Cast::EpochS | Cast::EpochMs => {
            let format = match (input, opts.time_input) {
                // Already a count in the unit asked for: kept as is.
                (Input::Value(Value::Int(_)), TimeInput::Iso) if cast == Cast::EpochS => TimeInput::EpochS,
                (Input::Value(Value::Int(_)), TimeInput::Iso) => TimeInput::EpochMs,
                (_, f) => f,
            };
            let dt = to_datetime(input, format)?;
            let dt = fit_time(input, dt, opts)?;
            let secs = dt.days as i128 * 86_400 + dt.secs as i128;
            Ok(Value::Int(match cast {
                Cast::EpochS => secs,
                _ => secs * 1000 + (dt.nanos / 1_000_000) as i128,
            }))
        }
        Cast::Date => to_date(input).map(Value::String),
        Cast::Json => to_json(input),
    }
}

/// A decimal fitted to `scale` fraction digits: unchanged when it fits,
/// rounded as the spec says, or an error saying how to say it.
fn fit_scale(input: Input, d: String, scale: u32, mode: Option<Rounding>) -> Result<String, CastError> {
    let frac = d.split_once('.').map_or("", |(_, f)| f);
    if frac.len() <= scale as usize || frac.as_bytes()[scale as usize..].iter().all(|&c| c == b'0') {
        return Ok(match mode {
            Some(m) if frac.len() > scale as usize => round_decimal(&d, scale, m),
            _ => d,
        });
    }
    match mode {
        Some(m) => Ok(round_decimal(&d, scale, m)),
        None => Err(CastError(format!(
            "{} has more than the column's {scale} fraction digits: say round = \"half_even\" (or \"half_up\", \"truncate\") to round it",
            show(input)
        ))),
    }
}

/// A date-time fitted to the column's fraction digits (see [`fit_scale`]).
fn fit_time(input: Input, mut dt: DateTime, opts: &CastOptions) -> Result<DateTime, CastError> {
    let Some((digits, mode)) = opts.time_digits else {
        return Ok(dt);
    };
    let unit = 10u32.pow(9 - digits.min(9) as u32);
    if dt.nanos % unit != 0 {
        let Some(mode) = mode else {
            return Err(CastError(format!(
                "{} is finer than the column's {digits} fraction digits of a second: say round = \"truncate\" (or \"half_up\", \"half_even\")",
                show(input)
            )));
        };
        let (nanos, carry) = round_nanos(dt.secs, dt.nanos, digits, mode);
        dt.nanos = nanos;
        if carry {
            dt.secs += 1;
            if dt.secs == 86_400 {
                dt.secs = 0;
                dt.days += 1;
            }
        }
    }
    dt.frac_digits = dt.frac_digits.min(digits);
    Ok(dt)
}

fn to_string(input: Input, opts: &CastOptions) -> Result<String, CastError> {
    if let Some(p) = &opts.time_pattern {
        let dt = to_datetime(input, opts.time_input)?;
        return Ok(p.render(&dt));
    }
    match input {
        Input::Bytes(b) => std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| CastError(format!("{} is not UTF-8 text (use cast = \"bytes\")", show(input)))),
        Input::Value(v) => match v {
            Value::Null => Ok(String::new()),
            Value::Bool(b) => Ok(if *b { "true" } else { "false" }.to_owned()),
            Value::Int(i) => Ok(i.to_string()),
            Value::Float(f) => Ok(float_text(*f)),
            Value::String(s) => Ok(s.clone()),
            Value::ZeroDate(z) => Ok(z.clone()),
            Value::Number(n) => Ok(n.clone()),
            Value::Bytes(b) => String::from_utf8(b.clone())
                .map_err(|_| CastError(format!("{} is not UTF-8 text (use cast = \"bytes\")", show(input)))),
            Value::Array(_) | Value::Object(_) | Value::StringSet(_) | Value::NumberSet(_) | Value::BinarySet(_) => {
                render_json(v, opts.json_style)
            }
        },
    }
}

/// A float as Redis and JavaScript print it: shortest round-trip digits,
/// integral values without a fraction.
pub fn float_text(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{f}")
    }
}

fn to_int(input: Input) -> Result<i128, CastError> {
    let parsed = match input {
        Input::Value(Value::Int(i)) => Some(*i),
        Input::Value(Value::Bool(b)) => Some(*b as i128),
        Input::Value(Value::Float(f)) if f.fract() == 0.0 && f.is_finite() && f.abs() < 1.9e19 => Some(*f as i128),
        // A hash field's count (most of the relay's columns): read from its
        // bytes when it is a short integer, else as text.
        Input::Bytes(b) => parse_short_int(b).or_else(|| text_of(input).and_then(parse_int)),
        other => text_of(other).and_then(parse_int),
    };
    match parsed {
        Some(n) if (Value::INT_MIN..=Value::INT_MAX).contains(&n) => Ok(n),
        Some(_) => Err(fail(input, "an integer in the i64/u64 range")),
        None => Err(fail(input, "an integer")),
    }
}

/// [`parse_int`] of bytes that are an optional sign and 1 to 18 ASCII
/// digits (an i64 holds them as they are accumulated), without the UTF-8
/// check and the i128 parse; `None` for anything else (the caller then
/// takes the text path, which reads or rejects it).
fn parse_short_int(b: &[u8]) -> Option<i128> {
    let (negative, digits) = match b {
        [b'-', d @ ..] => (true, d),
        [b'+', d @ ..] => (false, d),
        d => (false, d),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
    Some(i128::from(if negative { -n } else { n }))
}

fn parse_int(s: &str) -> Option<i128> {
    let digits = s.strip_prefix('-').or_else(|| s.strip_prefix('+')).unwrap_or(s);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn to_float(input: Input) -> Result<f64, CastError> {
    match input {
        Input::Value(Value::Float(f)) => Ok(*f),
        Input::Value(Value::Int(i)) => Ok(*i as f64),
        other => text_of(other)
            .filter(|s| !s.is_empty() && !s.starts_with(|c: char| c.is_whitespace()))
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| fail(input, "a number")),
    }
}

fn is_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').or_else(|| s.strip_prefix('+')).unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |d: &str| d.bytes().all(|c| c.is_ascii_digit());
    match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => (!int.is_empty() || !f.is_empty()) && digits(int) && digits(f) && !f.is_empty(),
    }
}

fn to_decimal(input: Input) -> Result<String, CastError> {
    match input {
        Input::Value(Value::Int(i)) => Ok(i.to_string()),
        Input::Value(Value::Float(f)) if f.is_finite() => Ok(format!("{f}")),
        other => text_of(other)
            .filter(|s| is_decimal(s))
            .map(str::to_owned)
            .ok_or_else(|| fail(input, "a decimal number (digits with an optional '.' fraction)")),
    }
}

/// The `decimal` cast of a JSON number whose text passes
/// `verbatim::is_plain_decimal`, from that text: the float it reads as
/// prints as the same text (`{f}` writes the shortest round-trip digits
/// without an exponent, and those are the text's digits), so the float
/// need not be read and printed again (a usage record's `cost`). `None`
/// where the cast would fail (more fraction digits than the column's and no
/// rounding): the caller then casts the float, which says why.
pub(crate) fn decimal_of_plain_number(text: &str, opts: &CastOptions) -> Option<Value> {
    let d = text.to_owned();
    match opts.decimal_scale {
        None => Some(Value::String(d)),
        Some((scale, mode)) => fit_scale(Input::Bytes(text.as_bytes()), d, scale, mode).ok().map(Value::String),
    }
}

fn to_bool(input: Input) -> Result<bool, CastError> {
    match input {
        Input::Value(Value::Bool(b)) => Ok(*b),
        Input::Value(Value::Int(0)) => Ok(false),
        Input::Value(Value::Int(1)) => Ok(true),
        other => {
            let parsed = text_of(other).and_then(|s| {
                if s.len() > 5 {
                    return None;
                }
                match s.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "t" | "y" | "on" => Some(true),
                    "false" | "0" | "no" | "f" | "n" | "off" => Some(false),
                    _ => None,
                }
            });
            parsed.ok_or_else(|| fail(input, "a boolean (true/false, 1/0, yes/no, on/off)"))
        }
    }
}

/// A UTC date-time with the number of fraction digits its source had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    days: i64,
    secs: u32,
    nanos: u32,
    frac_digits: u8,
}

impl DateTime {
    /// `YYYY-MM-DDTHH:MM:SS[.f]`, the fraction with the source's digits.
    pub fn naive(&self) -> String {
        // Hand-rolled: this runs for every date-time of every row.
        fn two(out: &mut Vec<u8>, n: u32) {
            out.push(b'0' + (n / 10 % 10) as u8);
            out.push(b'0' + (n % 10) as u8);
        }
        let (y, m, d) = civil_from_days(self.days);
        let mut out: Vec<u8> = Vec::with_capacity(32);
        if (0..=9999).contains(&y) {
            two(&mut out, y as u32 / 100);
            two(&mut out, y as u32 % 100);
        } else {
            out.extend_from_slice(format!("{y:04}").as_bytes());
        }
        out.push(b'-');
        two(&mut out, m);
        out.push(b'-');
        two(&mut out, d);
        out.push(b'T');
        two(&mut out, self.secs / 3600);
        out.push(b':');
        two(&mut out, self.secs / 60 % 60);
        out.push(b':');
        two(&mut out, self.secs % 60);
        if self.frac_digits > 0 {
            out.push(b'.');
            let mut n = self.nanos;
            let mut digits = [0u8; 9];
            for slot in digits.iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
            out.extend_from_slice(&digits[..self.frac_digits as usize]);
        }
        // Only ASCII digits and separators were written.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Milliseconds since 1970 (fractions of a millisecond dropped).
    pub fn epoch_ms(&self) -> i64 {
        (self.days * 86_400 + self.secs as i64) * 1000 + (self.nanos / 1_000_000) as i64
    }

    fn from_epoch(n: i128, unit_per_sec: i128, frac_digits: u8) -> Option<DateTime> {
        let secs = n.div_euclid(unit_per_sec);
        let sub = n.rem_euclid(unit_per_sec);
        let nanos = (sub * (1_000_000_000 / unit_per_sec)) as u32;
        let days = secs.div_euclid(86_400);
        // Years 0..=9999 only: what SQL date-times hold.
        if !(-719_528..=2_932_896).contains(&days) {
            return None;
        }
        Some(DateTime { days: days as i64, secs: secs.rem_euclid(86_400) as u32, nanos, frac_digits })
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, d| n * 10 + (d - b'0') as i64))
}

fn valid_date(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Rejects 2025-02-30 and friends.
    (civil_from_days(days) == (y, m, d)).then_some(days)
}

/// Parses `YYYY-MM-DD[T ]HH:MM[:SS[.f]][Z|±HH[:MM]]` (or a date alone, at
/// midnight) into UTC.
pub fn parse_iso(text: &str) -> Option<DateTime> {
    let b = text.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        // A date alone: its midnight (so `%Y-%m` can format a DATE column).
        let days = valid_date(digits(&b[0..4])?, digits(&b[5..7])? as u32, digits(&b[8..10])? as u32)?;
        return Some(DateTime { days, secs: 0, nanos: 0, frac_digits: 0 });
    }
    if b.len() < 16 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' {
        return None;
    }
    let days = valid_date(digits(&b[0..4])?, digits(&b[5..7])? as u32, digits(&b[8..10])? as u32)?;
    let (h, mi) = (digits(&b[11..13])?, digits(&b[14..16])?);
    let mut rest = &b[16..];
    let mut s = 0;
    if let Some(r) = rest.strip_prefix(b":") {
        if r.len() < 2 {
            return None;
        }
        s = digits(&r[..2])?;
        rest = &r[2..];
    }
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let (mut nanos, mut frac_digits) = (0u32, 0u8);
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&frac[..n])? as u32 * 10u32.pow(9 - n as u32);
        frac_digits = n as u8;
        rest = &frac[n..];
    }
    let offset: i64 = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (oh, om) = match tail.len() {
                2 => (digits(tail)?, 0),
                4 => (digits(&tail[..2])?, digits(&tail[2..])?),
                5 if tail[2] == b':' => (digits(&tail[..2])?, digits(&tail[3..])?),
                _ => return None,
            };
            let secs = oh * 3600 + om * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let total = days * 86_400 + h * 3600 + mi * 60 + s - offset;
    Some(DateTime { days: total.div_euclid(86_400), secs: total.rem_euclid(86_400) as u32, nanos, frac_digits })
}

fn to_datetime(input: Input, format: TimeInput) -> Result<DateTime, CastError> {
    let epoch = |unit: i128, digits_: u8, what: &str| -> Result<DateTime, CastError> {
        let n = match input {
            Input::Value(Value::Int(i)) => Some(*i),
            Input::Value(Value::Float(f)) if f.is_finite() => Some((*f * unit as f64).round() as i128 / unit),
            other => text_of(other).and_then(parse_int),
        };
        n.and_then(|n| DateTime::from_epoch(n, unit, digits_)).ok_or_else(|| fail(input, what))
    };
    match format {
        TimeInput::Iso => match input {
            Input::Value(Value::Int(_)) | Input::Value(Value::Float(_)) => Err(CastError(format!(
                "{} is a number; say how it counts time with format = \"epoch_s\", \"epoch_ms\" or \"epoch_us\"",
                show(input)
            ))),
            other => text_of(other)
                .and_then(parse_iso)
                .ok_or_else(|| fail(input, "an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM])")),
        },
        TimeInput::EpochS => {
            // Seconds may carry a fraction: "1700000000.250".
            if let Some(text) = text_of(input) {
                if let Some((int, frac)) = text.split_once('.') {
                    if let (Some(i), true) = (parse_int(int), !frac.is_empty() && frac.len() <= 9) {
                        if let Some(f) = digits(frac.as_bytes()) {
                            let n = i * 1_000_000_000 + f as i128 * 10i128.pow(9 - frac.len() as u32);
                            return DateTime::from_epoch(n, 1_000_000_000, frac.len() as u8)
                                .ok_or_else(|| fail(input, "an epoch time in seconds"));
                        }
                    }
                    return Err(fail(input, "an epoch time in seconds"));
                }
            }
            epoch(1, 0, "an epoch time in seconds")
        }
        TimeInput::EpochMs => epoch(1000, 3, "an epoch time in milliseconds"),
        TimeInput::EpochUs => epoch(1_000_000, 6, "an epoch time in microseconds"),
    }
}

/// Epoch milliseconds of a TTL source: an integer, or an ISO date-time.
pub fn to_epoch_ms(input: Input) -> Result<Option<i64>, CastError> {
    match input {
        Input::Value(Value::Null) => Ok(None),
        Input::Value(Value::Int(i)) => i64::try_from(*i).map(Some).map_err(|_| fail(input, "an epoch time in ms")),
        other => {
            if let Some(n) = text_of(other).and_then(parse_int) {
                return i64::try_from(n).map(Some).map_err(|_| fail(input, "an epoch time in ms"));
            }
            Ok(Some(to_datetime(other, TimeInput::Iso)?.epoch_ms()))
        }
    }
}

fn to_date(input: Input) -> Result<String, CastError> {
    let ok = text_of(input).filter(|t| {
        let b = t.as_bytes();
        b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && matches!(
                (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10])),
                (Some(y), Some(m), Some(d)) if valid_date(y, m as u32, d as u32).is_some()
            )
    });
    ok.map(str::to_owned).ok_or_else(|| fail(input, "a date (YYYY-MM-DD)"))
}

fn to_json(input: Input) -> Result<Value, CastError> {
    match input {
        Input::Value(v @ (Value::Array(_) | Value::Object(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_))) => {
            Ok(v.clone())
        }
        other => {
            let text = text_of(other).ok_or_else(|| fail(input, "JSON text"))?;
            serde_json::from_str::<Value>(text)
                .map_err(|e| CastError(format!("{} is not valid JSON: {e}", show(input))))
        }
    }
}

/// Writes a JSON value as text in the given style.
pub fn render_json(v: &Value, style: JsonStyle) -> Result<String, CastError> {
    match style {
        JsonStyle::Compact => {
            if contains_bytes(v) {
                return Err(CastError("a JSON value holds bytes, which JSON text cannot".into()));
            }
            Ok(v.to_json_string())
        }
        JsonStyle::JavaScript => {
            let mut out = String::with_capacity(64);
            crate::js_json::js_json(v, &mut out)?;
            Ok(out)
        }
        JsonStyle::Python | JsonStyle::PythonCompact => {
            let mut out = String::with_capacity(64);
            let seps = if style == JsonStyle::Python { (", ", ": ") } else { (",", ":") };
            python_json(v, seps, &mut out)?;
            Ok(out)
        }
    }
}

fn contains_bytes(v: &Value) -> bool {
    match v {
        Value::Bytes(_) | Value::BinarySet(_) => true,
        Value::Array(a) => a.iter().any(contains_bytes),
        Value::Object(o) => o.iter().any(|(_, v)| contains_bytes(v)),
        _ => false,
    }
}

fn python_json(v: &Value, seps: (&str, &str), out: &mut String) -> Result<(), CastError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&python_float(*f)),
        Value::String(s) | Value::ZeroDate(s) => python_str(s, out),
        // Exact digits: JSON numbers have no precision limit of their own.
        Value::Number(n) => out.push_str(n),
        // A set as JSON text is the array of its members.
        Value::StringSet(members) => {
            let items: Vec<Value> = members.iter().cloned().map(Value::String).collect();
            python_json(&Value::Array(items), seps, out)?
        }
        Value::NumberSet(members) => {
            let items: Vec<Value> = members.iter().cloned().map(Value::Number).collect();
            python_json(&Value::Array(items), seps, out)?
        }
        Value::Bytes(_) | Value::BinarySet(_) => {
            return Err(CastError("a JSON value holds bytes, which JSON text cannot".into()))
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(seps.0);
                }
                python_json(item, seps, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(seps.0);
                }
                python_str(k, out);
                out.push_str(seps.1);
                python_json(item, seps, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn python_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A float as Python's `repr` writes it (`1e-05`, `1.5e+16`, `2.0`).
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "1.2345e-5".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Short integers read from their bytes are what the text path
        /// reads, signs, leading zeros and the 18/19-digit edge included.
        #[test]
        fn short_integers_read_as_the_text_path_reads_them(text in "[-+]?[0-9]{0,21}|[-+]?[0-9]{1,3}[ .a-]?[0-9]{0,2}|[-+]{2}[0-9]") {
            if let Some(n) = parse_short_int(text.as_bytes()) {
                proptest::prop_assert_eq!(Some(n), parse_int(&text), "{}", text);
            }
            let digits = text.trim_start_matches(['-', '+']);
            let short = text.len() - digits.len() <= 1 && (1..=18).contains(&digits.len()) && digits.bytes().all(|c| c.is_ascii_digit());
            proptest::prop_assert_eq!(parse_short_int(text.as_bytes()).is_some(), short, "{}", text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20000))]
        /// The decimal of a plain number's text is the decimal of the float
        /// it reads as, at every scale and rounding; where it declines, the
        /// float's cast fails.
        #[test]
        fn plain_numbers_cast_to_decimals_as_their_floats_do(
            text in "-?(0|[1-9][0-9]{0,7})\\.0{0,5}[0-9]{0,16}[1-9]|-?[0-9]{1,3}\\.[0-9]{0,3}0?|-?9{1,7}\\.9{1,12}",
            scale in proptest::option::of((0u32..10, proptest::option::of(proptest::sample::select(vec![Rounding::HalfEven, Rounding::HalfUp, Rounding::Truncate])))),
        ) {
            if crate::verbatim::is_plain_decimal(text.as_bytes()) {
                let opts = CastOptions { decimal_scale: scale, ..CastOptions::default() };
                let f: f64 = text.parse().unwrap();
                let slow = cast(Input::Value(&Value::Float(f)), Cast::Decimal, &opts);
                match decimal_of_plain_number(&text, &opts) {
                    Some(v) => proptest::prop_assert_eq!(Ok(v), slow, "{}", text),
                    None => proptest::prop_assert!(slow.is_err(), "{}", text),
                }
            }
        }
    }

    fn c(s: &str, cast_: Cast) -> Result<Value, CastError> {
        cast(Input::Bytes(s.as_bytes()), cast_, &CastOptions::default())
    }

    #[test]
    fn numbers() {
        assert_eq!(c("42", Cast::Int).unwrap(), Value::Int(42));
        assert_eq!(c("-7", Cast::Int).unwrap(), Value::Int(-7));
        assert_eq!(c("18446744073709551615", Cast::Int).unwrap(), Value::Int(u64::MAX as i128));
        assert!(c("18446744073709551616", Cast::Int).unwrap_err().0.contains("range"));
        assert!(c("4x", Cast::Int).unwrap_err().0.contains("\"4x\" is not an integer"));
        assert!(c("", Cast::Int).is_err());
        assert!(c(" 4", Cast::Int).is_err());
        assert_eq!(c("1.5e3", Cast::Float).unwrap(), Value::Float(1500.0));
        assert!(c("abc", Cast::Float).is_err());
        assert_eq!(c("12.30", Cast::Decimal).unwrap(), Value::String("12.30".into()));
        assert_eq!(c("-0.5", Cast::Decimal).unwrap(), Value::String("-0.5".into()));
        for bad in ["1e5", "1.", ".", "--1", "1.2.3", ""] {
            assert!(c(bad, Cast::Decimal).is_err(), "{bad}");
        }
        assert_eq!(cast(Input::Value(&Value::Float(3.0)), Cast::Int, &CastOptions::default()).unwrap(), Value::Int(3));
    }

    #[test]
    fn bools() {
        assert_eq!(c("true", Cast::Bool).unwrap(), Value::Bool(true));
        assert_eq!(c("FALSE", Cast::Bool).unwrap(), Value::Bool(false));
        assert_eq!(c("0", Cast::Bool).unwrap(), Value::Bool(false));
        assert!(c("maybe", Cast::Bool).is_err());
        assert_eq!(cast(Input::Value(&Value::Int(1)), Cast::Bool, &CastOptions::default()).unwrap(), Value::Bool(true));
    }

    #[test]
    fn datetimes() {
        let s = |v: Value| match v {
            Value::String(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(s(c("2025-01-01T09:30:00.123Z", Cast::Datetime).unwrap()), "2025-01-01T09:30:00.123");
        assert_eq!(s(c("2025-01-01 09:30:00", Cast::Datetime).unwrap()), "2025-01-01T09:30:00");
        assert_eq!(s(c("2025-01-01T01:30:00+02:00", Cast::Datetime).unwrap()), "2024-12-31T23:30:00");
        assert_eq!(s(c("2025-01-01T01:30:00+02:00", Cast::Timestamp).unwrap()), "2024-12-31T23:30:00Z");
        assert!(c("2025-02-30T00:00:00", Cast::Datetime).is_err());
        assert!(c("yesterday", Cast::Datetime).unwrap_err().0.contains("ISO 8601"));
        let ms = CastOptions { time_input: TimeInput::EpochMs, ..Default::default() };
        assert_eq!(s(cast(Input::Bytes(b"1700000000123"), Cast::Datetime, &ms).unwrap()), "2023-11-14T22:13:20.123");
        assert_eq!(
            s(cast(Input::Value(&Value::Int(1_700_000_000_123)), Cast::Datetime, &ms).unwrap()),
            "2023-11-14T22:13:20.123"
        );
        let sec = CastOptions { time_input: TimeInput::EpochS, ..Default::default() };
        assert_eq!(s(cast(Input::Bytes(b"1700000000"), Cast::Datetime, &sec).unwrap()), "2023-11-14T22:13:20");
        assert_eq!(s(cast(Input::Bytes(b"1700000000.25"), Cast::Datetime, &sec).unwrap()), "2023-11-14T22:13:20.25");
        let e = cast(Input::Value(&Value::Int(5)), Cast::Datetime, &CastOptions::default()).unwrap_err();
        assert!(e.0.contains("epoch_ms"), "{e}");
        assert_eq!(s(c("2025-07-20", Cast::Date).unwrap()), "2025-07-20");
        assert!(c("2025-7-20", Cast::Date).is_err());
    }

    #[test]
    fn datetime_patterns_round_trip() {
        let opts = CastOptions {
            time_pattern: Some(TimePattern::parse("%Y-%m-%dT%H:%M:%S.%3fZ").unwrap()),
            ..Default::default()
        };
        // What MySQL's DATETIME(3) gives back, written as the relay service wrote it.
        let v = Value::String("2025-03-04T05:06:07.080".into());
        assert_eq!(
            cast(Input::Value(&v), Cast::String, &opts).unwrap(),
            Value::String("2025-03-04T05:06:07.080Z".into())
        );
        assert!(TimePattern::parse("%Q").is_err());
    }

    #[test]
    fn bytes_and_text() {
        assert_eq!(c("x", Cast::Auto).unwrap(), Value::String("x".into()));
        let raw = Input::Bytes(b"\x80\xffabc");
        assert_eq!(cast(raw, Cast::Auto, &CastOptions::default()).unwrap(), Value::Bytes(b"\x80\xffabc".to_vec()));
        assert_eq!(cast(raw, Cast::Bytes, &CastOptions::default()).unwrap(), Value::Bytes(b"\x80\xffabc".to_vec()));
        assert!(cast(raw, Cast::String, &CastOptions::default()).unwrap_err().0.contains("not UTF-8"));
    }

    #[test]
    fn json() {
        let v = c(r#"{"scope": "all", "models": ["a"], "n": 1.5}"#, Cast::Json).unwrap();
        assert_eq!(v.to_json_string(), r#"{"scope":"all","models":["a"],"n":1.5}"#);
        assert_eq!(render_json(&v, JsonStyle::Python).unwrap(), r#"{"scope": "all", "models": ["a"], "n": 1.5}"#);
        assert!(c("{bad", Cast::Json).unwrap_err().0.contains("not valid JSON"));
        let uni = Value::String("clé 🚀".into());
        assert_eq!(render_json(&uni, JsonStyle::Python).unwrap(), r#""cl\u00e9 \ud83d\ude80""#);
        assert_eq!(render_json(&v, JsonStyle::PythonCompact).unwrap(), r#"{"scope":"all","models":["a"],"n":1.5}"#);
    }

    #[test]
    fn python_floats() {
        for (f, want) in [
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (2.0, "2.0"),
            (0.123456, "0.123456"),
            (-3.25, "-3.25"),
            (123.456, "123.456"),
        ] {
            assert_eq!(python_float(f), want, "{f}");
        }
    }
}
