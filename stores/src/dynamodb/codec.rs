//! DynamoDB items ↔ decant values (DESIGN.md §2.2a, the tags in
//! `decant_record::value`):
//!
//! | DynamoDB | decant value | stream |
//! |---|---|---|
//! | `S` | `Value::String` | `"text"` |
//! | `N` integer within ±(2^53−1) | `Value::Int` | `42` |
//! | `N` any other (fraction, 38 digits, exponent) | `Value::Number` (its text) | `{"$n":"0.5"}` |
//! | `B` | `Value::Bytes` | `{"$b64":"…"}` |
//! | `BOOL` | `Value::Bool` | `true` |
//! | `NULL` | `Value::Null` | `null` (an absent attribute is absent from `data`) |
//! | `M` | `Value::Object` (members sorted by name) | `{…}` |
//! | `L` | `Value::Array` | `[…]` |
//! | `SS` / `NS` / `BS` | `Value::StringSet` / `NumberSet` / `BinarySet` (members sorted) | `{"$ss":[…]}` `{"$ns":[…]}` `{"$bs":[…]}` |
//!
//! Numbers never pass through a float. Writing the other way, an integer
//! becomes `N`, a float its shortest exact digits as `N`, a zero date its
//! text as `S`; what DynamoDB cannot hold (a NaN, a number with more than 38
//! significant digits or out of DynamoDB's range, an empty set, a set with a
//! member twice) is an error naming where in the item it is.

use std::fmt;

use base64::Engine as _;
use decant_record::value::is_number_text;
use decant_record::{RowData, Value};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// DynamoDB's largest item: 400 KB (name and value bytes, by its own rules).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// A value DynamoDB cannot hold, with where it is (`attribute "a".b[2]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct CodecError {
    /// Where in the item (`attribute "tags"`, `attribute "m".x[3]`).
    pub path: String,
    /// Why it cannot be held.
    pub reason: String,
}

/// Checks a number for DynamoDB: at most 38 significant digits, magnitude
/// from 1E-130 to below 1E+126 (or zero).
pub fn check_number(text: &str) -> Result<(), String> {
    if !is_number_text(text) {
        return Err(format!("{text:?} is not a number"));
    }
    let body = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap_or(i64::MAX)),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = int.chars().chain(frac.chars()).collect();
    let leading = digits.bytes().take_while(|b| *b == b'0').count();
    let significant = digits[leading..].trim_end_matches('0');
    if significant.is_empty() {
        return Ok(()); // zero
    }
    if significant.len() > 38 {
        return Err(format!(
            "the number {} has {} significant digits; DynamoDB holds at most 38",
            shorten(text),
            significant.len()
        ));
    }
    // value = 0.SIGNIFICANT × 10^point
    let point = (int.len() as i64 - leading as i64).saturating_add(exp);
    if !(-129..=126).contains(&point) {
        return Err(format!("the number {} is outside DynamoDB's range (1E-130 to 9.9…E+125)", shorten(text)));
    }
    Ok(())
}

fn shorten(text: &str) -> String {
    if text.len() <= 60 {
        text.to_owned()
    } else {
        format!("{}…", &text[..60])
    }
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    decant_record::jsontext::write_str(out, s);
}

/// Appends the DynamoDB JSON of one value (`{"S":"x"}`).
pub fn write_attr(value: &Value, path: &mut String, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let err = |path: &String, reason: String| CodecError { path: path.clone(), reason };
    match value {
        Value::Null => out.extend_from_slice(br#"{"NULL":true}"#),
        Value::Bool(b) => out.extend_from_slice(if *b { br#"{"BOOL":true}"# } else { br#"{"BOOL":false}"# }),
        Value::Int(i) => {
            out.extend_from_slice(br#"{"N":""#);
            out.extend_from_slice(i.to_string().as_bytes());
            out.extend_from_slice(br#""}"#);
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(err(path, format!("DynamoDB numbers cannot be {f}")));
            }
            // `{}` prints the shortest digits that read back as the same float.
            let text = format!("{f}");
            check_number(&text).map_err(|r| err(path, r))?;
            out.extend_from_slice(br#"{"N":""#);
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(br#""}"#);
        }
        Value::Number(n) => {
            check_number(n).map_err(|r| err(path, r))?;
            out.extend_from_slice(br#"{"N":""#);
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(br#""}"#);
        }
        Value::String(s) | Value::ZeroDate(s) => {
            out.extend_from_slice(br#"{"S":"#);
            push_json_str(out, s);
            out.push(b'}');
        }
        Value::Bytes(b) => {
            out.extend_from_slice(br#"{"B":""#);
            out.extend_from_slice(B64.encode(b).as_bytes());
            out.extend_from_slice(br#""}"#);
        }
        Value::StringSet(members) => {
            check_set(members.iter().map(|m| m.as_bytes()), path)?;
            out.extend_from_slice(br#"{"SS":["#);
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_str(out, m);
            }
            out.extend_from_slice(b"]}");
        }
        Value::NumberSet(members) => {
            check_set(members.iter().map(|m| m.as_bytes()), path)?;
            out.extend_from_slice(br#"{"NS":["#);
            for (i, m) in members.iter().enumerate() {
                check_number(m).map_err(|r| err(path, r))?;
                if i > 0 {
                    out.push(b',');
                }
                push_json_str(out, m);
            }
            out.extend_from_slice(b"]}");
        }
        Value::BinarySet(members) => {
            check_set(members.iter().map(|m| m.as_slice()), path)?;
            out.extend_from_slice(br#"{"BS":["#);
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(B64.encode(m).as_bytes());
                out.push(b'"');
            }
            out.extend_from_slice(b"]}");
        }
        Value::Array(items) => {
            out.extend_from_slice(br#"{"L":["#);
            let len = path.len();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                path.push_str(&format!("[{i}]"));
                write_attr(item, path, out)?;
                path.truncate(len);
            }
            out.extend_from_slice(b"]}");
        }
        Value::Object(members) => {
            out.extend_from_slice(br#"{"M":"#);
            write_members(members.iter().map(|(k, v)| (k.as_str(), v)), path, out)?;
            out.push(b'}');
        }
    }
    Ok(())
}

fn check_set<'a>(members: impl ExactSizeIterator<Item = &'a [u8]> + Clone, path: &str) -> Result<(), CodecError> {
    if members.len() == 0 {
        return Err(CodecError { path: path.to_owned(), reason: "DynamoDB cannot hold an empty set".into() });
    }
    let mut sorted: Vec<&[u8]> = members.collect();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(CodecError {
            path: path.to_owned(),
            reason: format!("the set holds {:?} twice", String::from_utf8_lossy(w[0])),
        });
    }
    Ok(())
}

fn write_members<'a>(
    members: impl Iterator<Item = (&'a str, &'a Value)>,
    path: &mut String,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    out.push(b'{');
    let len = path.len();
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, k);
        out.push(b':');
        if len == 0 {
            path.push_str(&format!("attribute {k:?}"));
        } else {
            path.push('.');
            path.push_str(k);
        }
        write_attr(v, path, out)?;
        path.truncate(len);
    }
    out.push(b'}');
    Ok(())
}

/// Appends a whole item (`{"name":{"S":"x"},…}`).
pub fn write_item(data: &RowData, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let mut path = String::new();
    write_members(data.iter(), &mut path, out)
}

/// An item's size as DynamoDB counts it against its 400 KB limit and for
/// capacity units: attribute names plus values (strings and binaries by
/// length, numbers by about one byte per two significant digits plus one,
/// maps and lists three bytes plus one per element).
pub fn item_size(data: &RowData) -> usize {
    data.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn number_size(text: &str) -> usize {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    digits.div_ceil(2) + 1
}

fn value_size(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 1,
        Value::Int(i) => number_size(&i.to_string()),
        Value::Float(f) => number_size(&format!("{f}")),
        Value::Number(n) => number_size(n),
        Value::String(s) | Value::ZeroDate(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::StringSet(m) => m.iter().map(String::len).sum(),
        Value::NumberSet(m) => m.iter().map(|n| number_size(n)).sum(),
        Value::BinarySet(m) => m.iter().map(Vec::len).sum(),
        Value::Array(items) => 3 + items.iter().map(|i| 1 + value_size(i)).sum::<usize>(),
        Value::Object(members) => 3 + members.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
    }
}

/// The decant value of a DynamoDB number's text: an integer within
/// ±(2^53−1) as `Int`, anything else exactly as `Number`.
pub fn number_value(text: String) -> Value {
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if !digits.is_empty() && digits.len() <= 16 && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            if i128::from(i).abs() <= decant_record::value::MAX_SAFE_INTEGER {
                return Value::Int(i128::from(i));
            }
        }
    }
    Value::Number(text)
}

/// One DynamoDB attribute value read from its JSON (`{"S":"x"}`) straight
/// into a decant value.
#[derive(Debug)]
pub struct Attr(pub Value);

impl<'de> Deserialize<'de> for Attr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Attr, D::Error> {
        d.deserialize_map(AttrVisitor)
    }
}

struct AttrVisitor;

fn b64<E: de::Error>(text: &str) -> Result<Vec<u8>, E> {
    B64.decode(text).map_err(|e| E::custom(format!("bad base64 in a B value: {e}")))
}

impl<'de> Visitor<'de> for AttrVisitor {
    type Value = Attr;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB attribute value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attr, A::Error> {
        let tag: decant_record::value::Text<'de> =
            map.next_key()?.ok_or_else(|| de::Error::custom("an attribute value with no type"))?;
        let value = match tag.0.as_ref() {
            "S" => Value::String(map.next_value()?),
            "N" => number_value(map.next_value()?),
            "B" => Value::Bytes(b64(&map.next_value::<decant_record::value::Text>()?.0)?),
            "BOOL" => Value::Bool(map.next_value()?),
            "NULL" => {
                let _: bool = map.next_value()?;
                Value::Null
            }
            "M" => Value::Object(map.next_value::<Item>()?.0 .0),
            "L" => Value::Array(map.next_value::<Vec<Attr>>()?.into_iter().map(|a| a.0).collect()),
            "SS" => {
                let mut m: Vec<String> = map.next_value()?;
                m.sort_unstable();
                Value::StringSet(m)
            }
            "NS" => {
                let mut m: Vec<String> = map.next_value()?;
                m.sort_unstable();
                Value::NumberSet(m)
            }
            "BS" => {
                let texts: Vec<decant_record::value::Text> = map.next_value()?;
                let mut m = texts.iter().map(|t| b64(&t.0)).collect::<Result<Vec<_>, _>>()?;
                m.sort_unstable();
                Value::BinarySet(m)
            }
            other => return Err(de::Error::custom(format!("unknown DynamoDB attribute type {other:?}"))),
        };
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("an attribute value with more than one type"));
        }
        Ok(Attr(value))
    }
}

/// A DynamoDB item (or an `M` value): its attributes sorted by name, so an
/// item always reads the same whatever order the server sent.
#[derive(Debug, Default)]
pub struct Item(pub RowData);

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Item;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a DynamoDB item")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
                let mut attrs: Vec<(String, Value)> = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(k) = map.next_key::<String>()? {
                    attrs.push((k, map.next_value::<Attr>()?.0));
                }
                attrs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                Ok(Item(RowData(attrs)))
            }
        }
        d.deserialize_map(V)
    }
}

/// A list of items (`"Items":[…]`).
#[derive(Debug, Default)]
pub struct Items(pub Vec<RowData>);

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Items, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Items;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of DynamoDB items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(64));
                while let Some(item) = seq.next_element::<Item>()? {
                    items.push(item.0);
                }
                Ok(Items(items))
            }
        }
        d.deserialize_seq(V)
    }
}

/// Decodes an item from its DynamoDB JSON.
pub fn read_item(json: &[u8]) -> Result<RowData, serde_json::Error> {
    serde_json::from_slice::<Item>(json).map(|i| i.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: Value) -> Value {
        let data = RowData(vec![("a".into(), v)]);
        let mut out = Vec::new();
        write_item(&data, &mut out).unwrap();
        let back = read_item(&out).unwrap();
        back.get("a").cloned().unwrap()
    }

    #[test]
    fn every_type_reads_back() {
        let n38 = "12345678901234567890123456789012345678".to_owned();
        let all: Vec<u8> = (0..=255).collect();
        for v in [
            Value::String("é\n\"".into()),
            Value::Int(-42),
            Value::Int(9_007_199_254_740_991),
            Value::Number(n38.clone()),
            Value::Number("-0.000123".into()),
            Value::Bytes(all.clone()),
            Value::Bool(true),
            Value::Null,
            Value::StringSet(vec!["a".into(), "b".into()]),
            Value::NumberSet(vec!["1".into(), "2.5".into()]),
            Value::BinarySet(vec![vec![0], vec![255, 1]]),
            Value::Array(vec![Value::Int(1), Value::Array(vec![Value::Null])]),
            Value::Object(vec![("x".into(), Value::Object(vec![("y".into(), Value::Bytes(vec![1]))]))]),
        ] {
            assert_eq!(roundtrip(v.clone()), v);
        }
        assert_eq!(roundtrip(Value::Int(9_007_199_254_740_992)), Value::Number("9007199254740992".into()));
        assert_eq!(roundtrip(Value::Float(0.5)), Value::Number("0.5".into()));
        assert_eq!(roundtrip(Value::Float(3.0)), Value::Int(3));
    }

    #[test]
    fn what_dynamodb_cannot_hold_is_an_error_with_its_path() {
        let mut out = Vec::new();
        let item = RowData(vec![(
            "m".into(),
            Value::Object(vec![("l".into(), Value::Array(vec![Value::Int(1), Value::StringSet(vec![])]))]),
        )]);
        let e = write_item(&item, &mut out).unwrap_err();
        assert_eq!(e.path, "attribute \"m\".l[1]");
        assert!(e.reason.contains("empty set"), "{e}");
        let digits39 = "1".repeat(39);
        assert!(check_number(&digits39).unwrap_err().contains("39 significant digits"));
        assert!(check_number(&format!("{}000", "9".repeat(38))).is_ok());
        assert!(check_number("1E+126").is_err());
        assert!(check_number("9.9E+125").is_ok());
        assert!(check_number("1E-130").is_ok());
        assert!(check_number("1E-131").is_err());
        assert!(check_number("0.000").is_ok());
        assert!(write_attr(&Value::Float(f64::NAN), &mut String::new(), &mut out).is_err());
        let dup = Value::NumberSet(vec!["1".into(), "1".into()]);
        assert!(write_attr(&dup, &mut String::new(), &mut out).unwrap_err().reason.contains("twice"));
    }

    #[test]
    fn item_size_counts_names_and_values() {
        let item = RowData(vec![("pk".into(), Value::String("abc".into())), ("n".into(), Value::Int(12345))]);
        assert_eq!(item_size(&item), 2 + 3 + 1 + 4);
    }
}
