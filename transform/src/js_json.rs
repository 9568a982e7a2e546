//! JSON text as JavaScript's `JSON.stringify` writes it, so that a value a
//! Node.js service wrote comes back byte for byte after a trip through a
//! database (`json_style = "javascript"`).
//!
//! The differences from decant's compact JSON are in numbers: JavaScript
//! writes `0.0000025` (not `2.5e-6`) and `1` for the float `1.0`, and turns
//! to exponent notation only below 1e-6 (`1e-7`) and at 1e21 and above
//! (`1e+21`). Strings are escaped as `JSON.stringify` does: `"`, `\` and
//! control characters only (`\n`, `\u001f`), everything else as is.

use std::fmt::Write as _;

use decant_record::Value;

use crate::cast::CastError;

/// A number as JavaScript's `Number.prototype.toString` writes it (the
/// algorithm of ECMA-262 Number::toString: shortest round-trip digits,
/// positional between 1e-7 and 1e21).
pub fn js_number(f: f64) -> String {
    if f.is_nan() {
        // JSON.stringify writes NaN and ±Infinity as null.
        return "null".into();
    }
    if f.is_infinite() {
        return "null".into();
    }
    if f == 0.0 {
        return "0".into();
    }
    // `{:e}` gives the shortest round-trip digits: "2.5e-6".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i32;
    // ECMA-262: the value is digits × 10^(n − k).
    let n = exp + 1;
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    out
}

/// A string as `JSON.stringify` quotes it.
fn js_str(s: &str, out: &mut String) {
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
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `v` as `JSON.stringify(v)` would.
pub fn js_json(v: &Value, out: &mut String) -> Result<(), CastError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&js_number(*f)),
        Value::String(s) | Value::ZeroDate(s) => js_str(s, out),
        // Exact digits: JSON numbers have no precision limit of their own.
        Value::Number(n) => out.push_str(n),
        // A set as JSON text is the array of its members.
        Value::StringSet(members) => {
            let items: Vec<Value> = members.iter().cloned().map(Value::String).collect();
            js_json(&Value::Array(items), out)?
        }
        Value::NumberSet(members) => {
            let items: Vec<Value> = members.iter().cloned().map(Value::Number).collect();
            js_json(&Value::Array(items), out)?
        }
        Value::Bytes(_) | Value::BinarySet(_) => {
            return Err(CastError("a JSON value holds bytes, which JSON text cannot".into()))
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                js_json(item, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                js_str(k, out);
                out.push(':');
                js_json(item, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_javascript_writes_them() {
        // Each pair checked against node: String(x) / JSON.stringify(x).
        for (f, js) in [
            (0.0000025, "0.0000025"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1.0, "1"),
            (-2.0, "-2"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (-0.0, "0"),
            (12.5, "12.5"),
            (1797125943634.0, "1797125943634"),
        ] {
            assert_eq!(js_number(f), js, "{f:e}");
        }
    }

    #[test]
    fn documents_round_trip_byte_for_byte() {
        let text =
            r#"{"model":"claude-sonnet-4","cost":0.0000025,"n":[1,2.5,1e-7],"s":"é\n\u001f\"","ok":true,"x":null}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        let mut out = String::new();
        js_json(&v, &mut out).unwrap();
        assert_eq!(out, text);
    }
}
