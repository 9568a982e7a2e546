//! The value model of a row column (docs/format.md §2) and its exact JSON encoding.
//!
//! Plain JSON is used wherever it is exact; otherwise a one-key tagged object:
//!
//! | value | encoding |
//! |---|---|
//! | NULL | `null` |
//! | bool | `true` / `false` |
//! | integer in ±(2^53−1) | JSON number: `42` |
//! | any other integer (i64 / u64 range) | `{"$int":"18446744073709551615"}` |
//! | finite float | shortest round-trip JSON number, always with a `.` or exponent: `1.0`, `-0.0`, `1e300` |
//! | NaN, ±inf | `{"$float":"nan"}`, `{"$float":"inf"}`, `{"$float":"-inf"}` |
//! | text (valid UTF-8) | JSON string |
//! | bytes | `{"$b64":"…standard base64 with padding…"}` (always, even when the bytes are UTF-8) |
//! | MySQL zero date | `{"$zero_date":"0000-00-00 00:00:00"}` |
//! | nested JSON (JSON columns, PG arrays) | the JSON value itself, its members encoded by the same rules |
//! | exact number no JSON number carries exactly (DynamoDB `N` with a fraction or beyond ±(2^53−1)) | `{"$n":"12345678901234567890123456789012345678"}`, `{"$n":"-0.5"}` |
//! | string set (DynamoDB `SS`) | `{"$ss":["a","b"]}` |
//! | number set (DynamoDB `NS`) | `{"$ns":["1","2.5"]}` (members as exact number text) |
//! | binary set (DynamoDB `BS`) | `{"$bs":["AAE=","/w=="]}` (members as standard base64) |
//!
//! Sets are never lists: a DynamoDB `L` is a JSON array, an `SS` is `$ss`.
//! A set's members are distinct; exporters write them sorted (bytewise for
//! `$ss` and `$bs`, by their text for `$ns`) so a set always reads the same.
//! A `$n` text is a decimal number: an optional `-`, digits, an optional
//! fraction and an optional exponent (`1.5E+3`); readers reject anything else.
//!
//! A nested object whose first key is one of the tags above (`$int`, `$float`,
//! `$b64`, `$zero_date`, `$n`, `$ss`, `$ns`, `$bs`, `$json`) would read back as a tag, so it is written
//! wrapped: `{"$json":{"$int":"not a tag"}}`, `{"$json":{"$b64":1,"x":2}}`.
//! Readers take an object whose first key is a tag for a tagged value and
//! reject it when it has more keys. Any other `$`-key is plain JSON.
//!
//! Decimals, dates and times are strings here; the column's logical type in
//! the `schema` line says what the string holds.

use std::fmt;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest integer JSON numbers carry exactly in every common parser (2^53 − 1).
pub const MAX_SAFE_INTEGER: i128 = (1 << 53) - 1;

/// The standard base64 engine used for every `$b64` value.
pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One column value, or one member of a nested JSON value.
///
/// `PartialEq` compares floats by bits, so `NaN == NaN` and `-0.0 != 0.0`:
/// two values are equal when they encode to the same bytes.
#[derive(Debug, Clone)]
pub enum Value {
    /// SQL NULL / JSON null.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer in `i64::MIN ..= u64::MAX`.
    Int(i128),
    /// A 64-bit float (NaN and infinities allowed).
    Float(f64),
    /// Text, always valid UTF-8. Also decimals, dates and times.
    String(String),
    /// A byte string (BLOB, BYTEA, …).
    Bytes(Vec<u8>),
    /// A MySQL zero date such as `0000-00-00 00:00:00`, kept verbatim.
    ZeroDate(String),
    /// An exact decimal number kept as its text (`$n`): a DynamoDB `N` that
    /// no JSON number carries exactly. Never goes through a float.
    Number(String),
    /// A set of strings (DynamoDB `SS`), distinct from a list.
    StringSet(Vec<String>),
    /// A set of exact numbers as text (DynamoDB `NS`).
    NumberSet(Vec<String>),
    /// A set of byte strings (DynamoDB `BS`).
    BinarySet(Vec<Vec<u8>>),
    /// A JSON array.
    Array(Vec<Value>),
    /// A JSON object; member order is kept as read.
    Object(Vec<(String, Value)>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (String(a), String(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (ZeroDate(a), ZeroDate(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (StringSet(a), StringSet(b)) => a == b,
            (NumberSet(a), NumberSet(b)) => a == b,
            (BinarySet(a), BinarySet(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Object(a), Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The smallest integer a `Value::Int` may hold.
    pub const INT_MIN: i128 = i64::MIN as i128;
    /// The largest integer a `Value::Int` may hold.
    pub const INT_MAX: i128 = u64::MAX as i128;

    /// A byte string as `String` when it is valid UTF-8, else `Bytes` — the rule
    /// for Redis values and any source without a declared type.
    pub fn from_bytes_or_text(bytes: Vec<u8>) -> Value {
        match String::from_utf8(bytes) {
            Ok(s) => Value::String(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        }
    }

    /// True for `Value::Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The bytes of a `String` or `Bytes` value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::String(s) => Some(s.as_bytes()),
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The text of a `String` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::ZeroDate(_) => "zero date",
            Value::Number(_) => "number",
            Value::StringSet(_) => "string set",
            Value::NumberSet(_) => "number set",
            Value::BinarySet(_) => "binary set",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Converts from a `serde_json::Value` (numbers beyond i64/u64 become floats,
    /// as serde_json parsed them; object members come out sorted by
    /// serde_json's map — use [`Value::from_json_text`] to keep their order).
    pub fn from_json(json: serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i as i128)
                } else if let Some(u) = n.as_u64() {
                    Value::Int(u as i128)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from_json(v))).collect())
            }
        }
    }

    /// Encodes this value as one line of compact JSON (decant encoding).
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::with_capacity(32);
        self.write_json(&mut out);
        // The encoder only ever writes UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Appends the decant JSON encoding of this value to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            // The hot case (row columns) without serde_json's escape table.
            Value::String(s) => crate::jsontext::write_str(out, s),
            Value::Null => out.extend_from_slice(b"null"),
            // Writing into a Vec cannot fail, and every Value is encodable.
            _ => {
                let _ = serde_json::to_writer(&mut *out, self);
            }
        }
    }
}

/// The tags of one-key tagged objects.
pub(crate) const TAGS: [&str; 9] = ["$int", "$float", "$b64", "$zero_date", "$n", "$ss", "$ns", "$bs", "$json"];

fn is_tag(key: &str) -> bool {
    key.starts_with('$') && TAGS.contains(&key)
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => {
                if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(i) {
                    s.serialize_i64(*i as i64)
                } else {
                    let mut m = s.serialize_map(Some(1))?;
                    m.serialize_entry("$int", &i.to_string())?;
                    m.end()
                }
            }
            Value::Float(f) => serialize_float(*f, s),
            Value::String(t) => s.serialize_str(t),
            Value::Bytes(b) => serialize_b64(b, s),
            Value::ZeroDate(z) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("$zero_date", z)?;
                m.end()
            }
            Value::Number(n) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("$n", n)?;
                m.end()
            }
            Value::StringSet(members) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("$ss", members)?;
                m.end()
            }
            Value::NumberSet(members) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("$ns", members)?;
                m.end()
            }
            Value::BinarySet(members) => {
                let encoded: Vec<String> = members.iter().map(|b| B64.encode(b)).collect();
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("$bs", &encoded)?;
                m.end()
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(members) => {
                // A reader takes an object whose first key is a tag for a
                // tagged value, so such an object is wrapped (whatever its size).
                if members.first().is_some_and(|(k, _)| is_tag(k)) {
                    let mut m = s.serialize_map(Some(1))?;
                    m.serialize_entry("$json", &PlainObject(members))?;
                    m.end()
                } else {
                    PlainObject(members).serialize(s)
                }
            }
        }
    }
}

/// An object written member by member, never wrapped in `$json`.
struct PlainObject<'a>(&'a [(String, Value)]);

impl Serialize for PlainObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Serializes a float: finite in shortest round-trip form, otherwise tagged.
pub(crate) fn serialize_float<S: Serializer>(f: f64, s: S) -> Result<S::Ok, S::Error> {
    if f.is_finite() {
        s.serialize_f64(f)
    } else {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("$float", nonfinite_name(f))?;
        m.end()
    }
}

pub(crate) fn nonfinite_name(f: f64) -> &'static str {
    if f.is_nan() {
        "nan"
    } else if f > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

/// Serializes bytes as `{"$b64":"…"}`.
pub(crate) fn serialize_b64<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(1))?;
    m.serialize_entry("$b64", &B64.encode(b))?;
    m.end()
}

/// Parses the text of a `$float` tag.
pub(crate) fn parse_nonfinite(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Parses the text of an `$int` tag, checking the i64/u64 range.
pub(crate) fn parse_int_tag(text: &str) -> Result<i128, String> {
    let n: i128 = text.parse().map_err(|_| format!("bad $int value {text:?}: expected decimal digits"))?;
    if !(Value::INT_MIN..=Value::INT_MAX).contains(&n) {
        return Err(format!("$int value {text} is outside the i64/u64 range"));
    }
    Ok(n)
}

/// True when `text` is an exact decimal number as `$n` and `$ns` hold it:
/// `-?digits[.digits][(e|E)[+-]digits]`, at least one digit before or after
/// the point (DynamoDB's own number syntax, without a leading `+`).
pub fn is_number_text(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn number_tag(text: String) -> Result<String, String> {
    if is_number_text(&text) {
        Ok(text)
    } else {
        let shown: String = text.chars().take(60).collect();
        Err(format!("bad $n value {shown:?}: expected a decimal number such as \"-12.5\" or \"1E+40\""))
    }
}

/// Decodes the text of a `$b64` tag (standard alphabet, padding required).
pub(crate) fn decode_b64(text: &str) -> Result<Vec<u8>, String> {
    B64.decode(text).map_err(|e| {
        let shown: String = text.chars().take(40).collect();
        format!("bad $b64 value {shown:?}: {e}")
    })
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decant value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v as i128))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v as i128))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<Text<'de>>()? else {
            return Ok(Value::Object(Vec::new()));
        };
        if is_tag(&first.0) {
            let value = match first.0.as_ref() {
                "$int" => {
                    let text: Text = map.next_value()?;
                    Value::Int(parse_int_tag(&text.0).map_err(de::Error::custom)?)
                }
                "$float" => {
                    let text: Text = map.next_value()?;
                    Value::Float(parse_nonfinite(&text.0).ok_or_else(|| {
                        de::Error::custom(format!(
                            "bad $float value {:?}: expected \"nan\", \"inf\" or \"-inf\"",
                            text.0
                        ))
                    })?)
                }
                "$b64" => {
                    let text: Text = map.next_value()?;
                    Value::Bytes(decode_b64(&text.0).map_err(de::Error::custom)?)
                }
                "$zero_date" => {
                    let text: Text = map.next_value()?;
                    Value::ZeroDate(text.0.into_owned())
                }
                "$n" => {
                    let text: Text = map.next_value()?;
                    Value::Number(number_tag(text.0.into_owned()).map_err(de::Error::custom)?)
                }
                "$ss" => Value::StringSet(map.next_value()?),
                "$ns" => {
                    let members: Vec<String> = map.next_value()?;
                    let members = members.into_iter().map(number_tag).collect::<Result<_, _>>();
                    Value::NumberSet(members.map_err(|e| de::Error::custom(format!("$ns member: {e}")))?)
                }
                "$bs" => {
                    let members: Vec<Text> = map.next_value()?;
                    let members = members.iter().map(|t| decode_b64(&t.0)).collect::<Result<_, _>>();
                    Value::BinarySet(members.map_err(|e| de::Error::custom(format!("$bs member: {e}")))?)
                }
                _ => Value::Object(map.next_value_seed(PlainObjectSeed)?),
            };
            if map.next_key::<de::IgnoredAny>()?.is_some() {
                return Err(de::Error::custom(format!(
                    "a tagged value ({}) must be the only key of its object (wrap a plain object whose first key is a tag in {{\"$json\":…}})",
                    first.0
                )));
            }
            return Ok(value);
        }
        let mut members = Vec::with_capacity(4);
        members.push((first.0.into_owned(), map.next_value::<Value>()?));
        while let Some(k) = map.next_key::<KeyString>()? {
            members.push((k.0, map.next_value::<Value>()?));
        }
        Ok(Value::Object(members))
    }
}

/// Plain JSON (a JSON column's text as the database stores it) read into a
/// `Value` with member order kept and no tag interpretation: `{"$b64":"x"}`
/// in a JSON column is an object, not bytes.
struct PlainJson;

impl<'de> DeserializeSeed<'de> for PlainJson {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PlainJson {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v as i128))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v as i128))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(PlainJson)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Vec::new();
        while let Some(k) = map.next_key::<KeyString>()? {
            members.push((k.0, map.next_value_seed(PlainJson)?));
        }
        Ok(Value::Object(members))
    }
}

impl Value {
    /// Parses plain JSON text (e.g. a JSON column as the database returns it)
    /// keeping member order and without reading `$`-keys as tags, so the
    /// value is written back with `$json` wrapping where needed and survives
    /// a round trip exactly. Integers beyond the u64 range become floats (as
    /// serde_json reads them).
    pub fn from_json_text(text: &[u8]) -> Result<Value, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(text);
        let v = PlainJson.deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }
}

/// Reads an object member by member without interpreting its keys as tags
/// (the content of a `$json` wrapper).
struct PlainObjectSeed;

impl<'de> DeserializeSeed<'de> for PlainObjectSeed {
    type Value = Vec<(String, Value)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PlainObjectSeed {
    type Value = Vec<(String, Value)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object inside $json")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(k) = map.next_key::<KeyString>()? {
            members.push((k.0, map.next_value::<Value>()?));
        }
        Ok(members)
    }
}

/// A JSON string, borrowed from the input when it has no escapes (no
/// allocation for tag names, tag texts and column names that are only
/// parsed or looked up).
#[derive(Debug)]
pub struct Text<'de>(pub std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON string read into an owned `String` without going through `Value`.
pub(crate) struct KeyString(pub String);

impl<'de> Deserialize<'de> for KeyString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyString, E> {
                Ok(KeyString(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<KeyString, E> {
                Ok(KeyString(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// The columns of one row, in the order they were read or built.
///
/// Encoded as a JSON object `{"column": value, …}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowData(pub Vec<(String, Value)>);

impl RowData {
    /// The value of a column, if present.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == column).map(|(_, v)| v)
    }

    /// Sets a column, replacing an existing value or appending a new column.
    pub fn set(&mut self, column: &str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| k == column) {
            Some(slot) => slot.1 = value,
            None => self.0.push((column.to_owned(), value)),
        }
    }

    /// Removes a column, returning its value.
    pub fn remove(&mut self, column: &str) -> Option<Value> {
        let pos = self.0.iter().position(|(k, _)| k == column)?;
        Some(self.0.remove(pos).1)
    }

    /// Iterates over `(column, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, Value)> for RowData {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        RowData(iter.into_iter().collect())
    }
}

impl Serialize for RowData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PlainObject(&self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for RowData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RowData;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of column values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RowData, A::Error> {
                // 15 columns of 64 bytes stay under glibc's 1 KiB "large"
                // requests, which consolidate the fast bins on every row.
                let mut cols = Vec::with_capacity(map.size_hint().unwrap_or(15).min(1024));
                while let Some(k) = map.next_key::<KeyString>()? {
                    let v =
                        map.next_value::<Value>().map_err(|e| de::Error::custom(format!("column {:?}: {e}", k.0)))?;
                    cols.push((k.0, v));
                }
                if let Some(name) = first_duplicate(cols.iter().map(|(k, _)| k.as_bytes())) {
                    // An importer would keep one of the two values: data lost silently.
                    return Err(de::Error::custom(format!("column {:?} appears twice", String::from_utf8_lossy(name))));
                }
                Ok(RowData(cols))
            }
        }
        d.deserialize_map(V)
    }
}

/// The first name that occurs twice, if any (object members, hash fields).
pub(crate) fn first_duplicate<'a>(names: impl ExactSizeIterator<Item = &'a [u8]> + Clone) -> Option<&'a [u8]> {
    if names.len() <= 32 {
        // Quadratic but allocation-free: rows and hashes are mostly small.
        for (i, a) in names.clone().enumerate() {
            if names.clone().skip(i + 1).any(|b| a == b) {
                return Some(a);
            }
        }
        return None;
    }
    let mut sorted: Vec<&[u8]> = names.collect();
    sorted.sort_unstable();
    sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// A byte string encoded as a JSON string when valid UTF-8, else `{"$b64":…}`
/// (Redis keys, fields, members and values).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_bytes_or_text(&self.0, s)
    }
}

/// Serializes a byte string as text when valid UTF-8, else as `$b64`.
pub(crate) fn serialize_bytes_or_text<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(b) {
        Ok(text) => s.serialize_str(text),
        Err(_) => serialize_b64(b, s),
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or {\"$b64\":…}")
            }
            fn visit_str<E>(self, v: &str) -> Result<Bytes, E> {
                Ok(Bytes(v.as_bytes().to_vec()))
            }
            fn visit_string<E>(self, v: String) -> Result<Bytes, E> {
                Ok(Bytes(v.into_bytes()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Bytes, A::Error> {
                let key =
                    map.next_key::<Text<'de>>()?.ok_or_else(|| de::Error::custom("expected {\"$b64\":…}, found {}"))?;
                if key.0 != "$b64" {
                    return Err(de::Error::custom(format!(
                        "expected a string or {{\"$b64\":…}}, found an object with key {:?}",
                        key.0
                    )));
                }
                let text: Text = map.next_value()?;
                let bytes = decode_b64(&text.0).map_err(de::Error::custom)?;
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("$b64 must be the only key of its object"));
                }
                Ok(Bytes(bytes))
            }
        }
        d.deserialize_any(V)
    }
}

impl From<&str> for Bytes {
    fn from(s: &str) -> Self {
        Bytes(s.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl fmt::Display for Bytes {
    /// Shows UTF-8 as is and other bytes as `\xNN` escapes (for messages).
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod plain_json_tests {
    use super::*;

    #[test]
    fn plain_json_keeps_order_and_ignores_tags() {
        let v = Value::from_json_text(br#"{"z":1,"a":{"$b64":"not bytes"},"m":[1.5,null,"x"]}"#).unwrap();
        let Value::Object(members) = &v else { panic!("{v:?}") };
        assert_eq!(members.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["z", "a", "m"]);
        assert_eq!(members[1].1, Value::Object(vec![("$b64".into(), Value::String("not bytes".into()))]));
        // Written with $json wrapping, so it reads back as the same object.
        let text = v.to_json_string();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        assert!(Value::from_json_text(b"{} trailing").is_err());
    }
}
