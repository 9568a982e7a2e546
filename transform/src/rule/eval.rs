//! Column values: what a source reads from the record being transformed, and
//! a column's final value after JSON paths, defaults, empty handling and its cast.

use super::*;
use std::borrow::Cow;

use crate::verbatim::{is_plain_decimal, text_is_verbatim, text_is_verbatim_with_members};

/// A source parsed as JSON for `path` columns.
pub(super) enum Doc<'a> {
    /// An object's members, each still JSON text: only the members a path
    /// names are decoded.
    Members(Vec<(ViewBytes<'a>, &'a str)>),
    /// The whole value decoded (anything but a plain object of raw bytes),
    /// or why it is not JSON.
    Whole(Result<Value, String>),
}

impl<'a> Doc<'a> {
    /// `b`, which is `text` when that is UTF-8 (else the whole-value
    /// parse reports it).
    fn of_bytes(b: &'a [u8], text: Option<&'a str>) -> Doc<'a> {
        match text.and_then(object_members_of_text) {
            Some(m) => Doc::Members(m),
            None => Doc::whole(b),
        }
    }

    /// [`Doc::of_bytes`] of a source a column may also copy: the verbatim
    /// test first, whose scan gives the members of a verbatim object (the
    /// same members `object_members_of_text` reads: a verbatim text is
    /// valid, compact JSON with no escape and no `$` name), then, when the
    /// text is not verbatim, the members read as above. Returns the test's
    /// answer too.
    fn of_copied_bytes(b: &'a [u8], text: Option<&'a str>) -> (Doc<'a>, bool) {
        let Some(text) = text else { return (Doc::whole(b), false) };
        // Room for a usage record's members without regrowing.
        let mut top = Vec::with_capacity(16);
        if !text_is_verbatim_with_members(text, &mut top) {
            return (Doc::of_bytes(b, Some(text)), false);
        }
        let mut members = Some(Vec::with_capacity(top.len()));
        for (name, value) in top {
            match (&mut members, b.get(name), text.get(value)) {
                (Some(m), Some(name), Some(value)) => m.push((Cow::Borrowed(name), value)),
                _ => members = None,
            }
        }
        match members {
            Some(m) if !m.is_empty() && !has_duplicate_name(&m) => (Doc::Members(m), true),
            // An array, `{}`, or a name given twice.
            _ => (Doc::of_bytes(b, Some(text)), true),
        }
    }

    fn whole(b: &[u8]) -> Doc<'a> {
        Doc::Whole(serde_json::from_slice::<Value>(b).map_err(|e| format!("not valid JSON: {e}")))
    }
}

/// Whether two members have the same name (as `object_members` checks).
fn has_duplicate_name(members: &[(ViewBytes, &str)]) -> bool {
    if members.len() <= 32 {
        return (1..members.len()).any(|i| members[..i].iter().any(|(n, _)| *n == members[i].0));
    }
    let mut names: Vec<&[u8]> = members.iter().map(|(n, _)| &**n).collect();
    names.sort_unstable();
    names.windows(2).any(|w| w[0] == w[1])
}

/// The raw bytes a source reads from the record, when it reads bytes.
fn source_bytes<'a>(src: &Src, ctx: &Ctx<'a>) -> Option<&'a [u8]> {
    match src {
        Src::Capture(i) => Some(&ctx.key[ctx.caps[*i].clone()]),
        Src::Key => Some(ctx.key),
        Src::Field(i) => match ctx.fields[*i] {
            Some(Input::Bytes(b)) => Some(b),
            _ => None,
        },
        Src::Value => match ctx.value {
            Some(Input::Bytes(b)) => Some(b),
            _ => None,
        },
        Src::FieldName => ctx.field_name,
        _ => None,
    }
}

/// A source's value before the cast.
enum Got<'a> {
    Missing,
    In(Input<'a>),
    Owned(Value),
}

impl Rule {
    /// The raw value of a source.
    fn get<'a>(&self, src: &'a Src, ctx: &Ctx<'a>) -> Got<'a> {
        match src {
            Src::Capture(i) => Got::In(Input::Bytes(&ctx.key[ctx.caps[*i].clone()])),
            Src::RowCapture(i) => Got::Owned(Value::from_bytes_or_text(ctx.row_caps[*i].clone())),
            Src::Field(i) => ctx.fields[*i].map_or(Got::Missing, Got::In),
            Src::Key => Got::In(Input::Bytes(ctx.key)),
            Src::Db => Got::Owned(Value::Int(ctx.db as i128)),
            Src::Type => Got::Owned(ctx.ty.map_or(Value::Null, |t| Value::String(t.as_str().to_owned()))),
            Src::ExpireAtMs => Got::Owned(ctx.expire.map_or(Value::Null, |e| Value::Int(e as i128))),
            Src::Value => match (ctx.value, &ctx.whole) {
                (Some(v), _) => Got::In(v),
                (None, Some(w)) => Got::Owned(w.clone()),
                (None, None) => Got::Missing,
            },
            Src::Index => ctx.index.map_or(Got::Missing, |i| Got::Owned(Value::Int(i as i128))),
            Src::Score => ctx.score.map_or(Got::Missing, |s| Got::Owned(Value::Float(s))),
            Src::FieldName => ctx.field_name.map_or(Got::Missing, |f| Got::In(Input::Bytes(f))),
            Src::EntryId => ctx.entry_id.map_or(Got::Missing, |id| Got::Owned(Value::String(id.to_owned()))),
            Src::Table => ctx.table.map_or(Got::Missing, |t| Got::Owned(Value::String(t.to_owned()))),
            Src::Const(v) => Got::In(Input::Value(v)),
            Src::Hash => ctx.whole.as_ref().map_or(Got::Missing, |w| Got::Owned(w.clone())),
            Src::Coalesce(srcs) => {
                for s in srcs {
                    let got = self.get(s, ctx);
                    let absent = match &got {
                        Got::Missing => true,
                        Got::In(Input::Bytes(b)) => b.is_empty(),
                        Got::In(Input::Value(v)) => is_absent(v),
                        Got::Owned(v) => is_absent(v),
                    };
                    if !absent {
                        return got;
                    }
                }
                Got::Missing
            }
            Src::Template(pieces) => {
                let mut text: Vec<u8> = Vec::with_capacity(64);
                for p in pieces {
                    match p {
                        TemplateSrc::Literal(l) => text.extend_from_slice(l.as_bytes()),
                        TemplateSrc::Source(s, opts) => {
                            let got = self.get(s, ctx);
                            let input = match &got {
                                Got::Missing => return Got::Missing,
                                Got::In(Input::Value(Value::Null)) | Got::Owned(Value::Null) => return Got::Missing,
                                Got::In(i) => *i,
                                Got::Owned(v) => Input::Value(v),
                            };
                            let piece = match opts {
                                // A source that does not format is reported by the column's cast.
                                Some(o) => match cast::cast(input, Cast::String, o) {
                                    Ok(Value::String(t)) => t.into_bytes(),
                                    _ => return Got::Missing,
                                },
                                None => match input {
                                    Input::Bytes(b) => b.to_vec(),
                                    Input::Value(v) => match render(v, self.json_style) {
                                        Ok(Some(b)) => b,
                                        _ => return Got::Missing,
                                    },
                                },
                            };
                            text.extend_from_slice(&piece);
                        }
                        TemplateSrc::Padded(s, width) => {
                            let got = self.get(s, ctx);
                            let digits = match &got {
                                Got::In(Input::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                                Got::In(Input::Value(Value::Int(i))) => i.to_string(),
                                Got::Owned(Value::Int(i)) => i.to_string(),
                                Got::In(Input::Value(Value::String(t))) => t.clone(),
                                Got::Owned(Value::String(t)) => t.clone(),
                                _ => return Got::Missing,
                            };
                            let (sign, body) = digits.strip_prefix('-').map_or(("", digits.as_str()), |b| ("-", b));
                            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
                                return Got::Missing;
                            }
                            text.extend_from_slice(format!("{sign}{body:0>width$}").as_bytes());
                        }
                    }
                }
                Got::Owned(Value::from_bytes_or_text(text))
            }
        }
    }

    /// One column's final value.
    /// A `cast = "json"` column's source text when it can be copied into the
    /// row as it is (what [`Rule::eval`] and the row writer would make of it
    /// is the same text: [`text_is_verbatim`]); `None` sends the column
    /// through `eval`.
    pub(super) fn verbatim_json<'c>(&self, col: &'c Col, ctx: &'c Ctx<'c>) -> Option<&'c str> {
        if col.cast != Cast::Json || col.path.is_some() || !col.json_order.is_empty() {
            return None;
        }
        let text = match self.get(&col.src, ctx) {
            Got::In(Input::Bytes(b)) => match ctx.memo_of(b) {
                Some((text, Some(verbatim))) => return text.filter(|_| verbatim),
                Some((text, None)) => text?,
                None => std::str::from_utf8(b).ok()?,
            },
            Got::In(Input::Value(Value::String(s))) => s.as_str(),
            _ => return None,
        };
        text_is_verbatim(text).then_some(text)
    }

    /// A column's value when it is the text of a source's bytes as they are:
    /// a `string` (without a time pattern) or `auto` column of non-empty
    /// UTF-8 bytes, which `eval` would turn into the same `Value::String`.
    /// The sink then writes the text without that string being made (the
    /// relay's ids, names and dates). `None` sends the column through `eval`.
    pub(super) fn plain_text<'c>(&self, col: &'c Col, ctx: &'c Ctx<'c>) -> Option<&'c str> {
        if col.path.is_some() || !col.json_order.is_empty() {
            return None;
        }
        match col.cast {
            Cast::String if col.opts.time_pattern.is_none() => {}
            Cast::Auto => {}
            _ => return None,
        }
        // The sources `get` reads as `Got::In(Input::Bytes(b))`, and only those.
        match source_bytes(&col.src, ctx) {
            Some(b) if !b.is_empty() => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    pub(super) fn eval<'a>(&self, rec: Who, col: &Col, ctx: &mut Ctx<'a>) -> Result<Value, TransformError> {
        let err = |msg: String| self.error(rec, Some(&col.name), msg);
        let from = || col.src.describe(self);
        let got: Got = match &col.path {
            None => self.get(&col.src, ctx),
            Some((j, segs)) => {
                let src = &self.json_sources[*j];
                if ctx.json[*j].is_none() {
                    let doc = match source_bytes(src, ctx) {
                        Some(b) => {
                            let text = ctx.text_of(b);
                            let (doc, verbatim) = if self.json_copied.get(*j).copied().unwrap_or(false) {
                                let (doc, verbatim) = Doc::of_copied_bytes(b, text);
                                (doc, Some(verbatim))
                            } else {
                                (Doc::of_bytes(b, text), None)
                            };
                            ctx.text_memo = Some((b.as_ptr(), b.len(), text, verbatim));
                            doc
                        }
                        None => Doc::Whole(match self.get(src, ctx) {
                            Got::Missing => Ok(Value::Null),
                            Got::In(Input::Value(v)) => parse_json_value(v),
                            Got::Owned(v) => parse_json_value(&v),
                            Got::In(Input::Bytes(b)) => {
                                serde_json::from_slice::<Value>(b).map_err(|e| format!("not valid JSON: {e}"))
                            }
                        }),
                    };
                    ctx.json[*j] = Some(doc);
                }
                let member = match ctx.json[*j].as_ref() {
                    Some(Doc::Members(members)) => match members.iter().find(|(k, _)| **k == *segs[0].as_bytes()) {
                        None => Ok(None),
                        // A decimal column of a plain number member: from its
                        // text (what reading the float and printing it gives).
                        Some((_, raw))
                            if segs.len() == 1
                                && col.cast == Cast::Decimal
                                && col.json_order.is_empty()
                                && is_plain_decimal(raw.as_bytes()) =>
                        {
                            if let Some(v) = cast::decimal_of_plain_number(raw, &col.opts) {
                                return Ok(v);
                            }
                            member_text_value(raw).map(Some)
                        }
                        Some((_, raw)) => member_text_value(raw).map(Some),
                    },
                    _ => Ok(None),
                };
                if member.is_err() {
                    // A member that is JSON but not a decant value: the whole
                    // document's error says which.
                    if let Some(b) = source_bytes(src, ctx) {
                        ctx.json[*j] = Some(Doc::whole(b));
                    }
                }
                match (ctx.json[*j].as_ref(), member) {
                    (Some(Doc::Members(_)), Ok(Some(v))) if segs.len() == 1 => Got::Owned(v),
                    (Some(Doc::Members(_)), Ok(Some(v))) => {
                        walk(&v, &segs[1..]).map_or(Got::Missing, |x| Got::Owned(x.clone()))
                    }
                    (Some(Doc::Members(_)), _) => Got::Missing,
                    (Some(Doc::Whole(Ok(doc))), _) => walk(doc, segs).map_or(Got::Missing, |v| Got::Owned(v.clone())),
                    (Some(Doc::Whole(Err(e))), _) => return Err(err(format!("{}: {e}", from()))),
                    (None, _) => Got::Missing,
                }
            }
        };
        let missing = |what: &str| -> Result<Value, TransformError> {
            if let Some(d) = &col.default {
                return Ok(d.clone());
            }
            if col.required || col.not_null {
                let path = col.path.as_ref().map(|(_, s)| format!(" path {:?}", s.join("."))).unwrap_or_default();
                return Err(err(format!(
                    "{}{path} is {what}, and the column is {} (give it a default)",
                    from(),
                    if col.required { "required" } else { "NOT NULL" }
                )));
            }
            Ok(Value::Null)
        };
        let input = match &got {
            Got::Missing => return missing("missing"),
            Got::In(i) => *i,
            Got::Owned(v) => Input::Value(v),
        };
        let is_empty = match input {
            Input::Bytes(b) => b.is_empty(),
            Input::Value(Value::String(s)) => s.is_empty(),
            Input::Value(Value::Null) => return missing("null"),
            _ => false,
        };
        if is_empty {
            match col.empty {
                Empty::Keep => {}
                Empty::Null => return missing("empty"),
                Empty::Default => return Ok(col.default.clone().unwrap_or(Value::Null)),
                Empty::Error => return Err(err(format!("{} is empty", from()))),
            }
        }
        let mut v = cast::cast(input, col.cast, &col.opts).map_err(|e| err(format!("{}: {e}", from())))?;
        if !col.json_order.is_empty() {
            reorder(&mut v, &col.json_order);
        }
        Ok(v)
    }
}

/// Null, or empty text: what `coalesce` passes over.
fn is_absent(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        _ => false,
    }
}

/// Puts the members named in `order` first, in that order, in every object of `v`.
fn reorder(v: &mut Value, order: &[String]) {
    match v {
        Value::Object(members) => {
            members.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
            members.iter_mut().for_each(|(_, m)| reorder(m, order));
        }
        Value::Array(items) => items.iter_mut().for_each(|m| reorder(m, order)),
        _ => {}
    }
}

pub(super) fn parse_json_value(v: &Value) -> Result<Value, String> {
    match v {
        Value::String(s) => serde_json::from_str::<Value>(s).map_err(|e| format!("not valid JSON: {e}")),
        Value::Bytes(b) => serde_json::from_slice::<Value>(b).map_err(|e| format!("not valid JSON: {e}")),
        other => Ok(other.clone()),
    }
}

fn walk<'v>(doc: &'v Value, segs: &[String]) -> Option<&'v Value> {
    let mut cur = doc;
    for s in segs {
        cur = match cur {
            Value::Object(members) => members.iter().find(|(k, _)| k == s).map(|(_, v)| v)?,
            Value::Array(items) => items.get(s.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::rule;
    use super::*;
    use proptest::prelude::*;

    /// Object texts (sometimes an array, `{}`, a name twice, a `$` name,
    /// spaces, escapes, odd numbers): verbatim or not.
    fn object_like() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            "-?(0|[1-9][0-9]{0,17})",
            "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?([eE][-+]?[0-9]{1,2})?",
            "\"([a$ é]|\\\\[n\"u]){0,4}\"",
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just(" 1".to_owned()),
            Just("[1,{\"a\":2}]".to_owned()),
            Just("{\"k\":[]}".to_owned()),
        ];
        let members = proptest::collection::vec(("\"[ab$]{0,2}\"", leaf), 0..6)
            .prop_map(|v| v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(","));
        prop_oneof![
            6 => members.clone().prop_map(|m| format!("{{{m}}}")),
            1 => members.clone().prop_map(|m| format!("{{ {m} }}")),
            1 => members.prop_map(|m| format!("[{m}]")),
        ]
    }

    #[test]
    fn a_usage_record_is_read_once_for_its_members_and_its_copy() {
        let text = r#"{"timestamp":"2026-12-06T18:44:16.937Z","model":"m","inputTokens":33854,"cost":0.198117,"costBreakdown":{"input":0.101562,"cacheCreate":0},"isLongContext":false}"#;
        let (doc, verbatim) = Doc::of_copied_bytes(text.as_bytes(), Some(text));
        assert!(verbatim);
        let names: Vec<_> = members_of(&doc).unwrap().into_iter().map(|(n, _)| String::from_utf8(n).unwrap()).collect();
        assert_eq!(names, ["timestamp", "model", "inputTokens", "cost", "costBreakdown", "isLongContext"]);
        let (doc, verbatim) = Doc::of_copied_bytes(br#"{"a":1,"a":2}"#, Some(r#"{"a":1,"a":2}"#));
        assert!(verbatim && matches!(doc, Doc::Whole(_)));
    }

    /// Members as comparable bytes.
    fn members_of(doc: &Doc) -> Option<Vec<(Vec<u8>, String)>> {
        match doc {
            Doc::Members(m) => Some(m.iter().map(|(n, v)| (n.to_vec(), (*v).to_owned())).collect()),
            Doc::Whole(_) => None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// A source a column copies gets its members from the verbatim
        /// scan: the same members (or the same whole-value fallback) as the
        /// members scan, and the same verbatim answer as the test alone.
        #[test]
        fn copied_sources_read_the_members_the_members_scan_reads(text in object_like()) {
            let (copied, verbatim) = Doc::of_copied_bytes(text.as_bytes(), Some(&text));
            let plain = Doc::of_bytes(text.as_bytes(), Some(&text));
            prop_assert_eq!(verbatim, text_is_verbatim(&text), "{}", text);
            prop_assert_eq!(members_of(&copied), members_of(&plain), "{}", text);
            if let (Doc::Whole(a), Doc::Whole(b)) = (&copied, &plain) {
                prop_assert_eq!(a, b);
            }
        }
    }

    /// Each column of `rule` evaluated on a hash key, through [`Rule::eval`] directly.
    fn eval_columns(rule: &Rule, key: &str, fields: &[(&str, &str)]) -> Vec<Result<Value, TransformError>> {
        let mut caps = Vec::new();
        assert!(rule.matches_key(0, RedisType::Hash, key.as_bytes(), &mut caps), "{key} matches");
        let mut ctx = Ctx::new(rule.fields.len(), rule.json_sources.len());
        ctx.key = key.as_bytes();
        ctx.caps = &caps;
        ctx.ty = Some(RedisType::Hash);
        for (f, v) in fields {
            if let Some(i) = rule.field_index(f.as_bytes()) {
                ctx.fields[i] = Some(Input::Bytes(v.as_bytes()));
            }
        }
        let Out::Rows { cols, .. } = &rule.out else { panic!("a row rule") };
        cols.iter().map(|c| rule.eval(Who::Key(key.as_bytes()), c, &mut ctx)).collect()
    }

    fn values(results: Vec<Result<Value, TransformError>>) -> Vec<String> {
        results.into_iter().map(|r| r.expect("the column evaluates").to_json_string()).collect()
    }

    fn spec(columns: &str) -> String {
        format!(
            "[[rule]]\nname = \"users\"\nmatch = \"user:{{tenant}}:{{id}}\"\ntype = \"hash\"\nto_table = \"users\"\n\
             extra_fields = \"ignore\"\ncolumns = [{columns}]\n"
        )
    }

    #[test]
    fn pattern_captures_become_columns_with_their_casts() {
        let rule = rule(&spec(
            r#"{ name = "id", from = "{id}", cast = "int" }, { name = "tenant", from = "{tenant}" }, { name = "key", from = "$key" }, { name = "type", from = "$type" }"#,
        ));
        let got = values(eval_columns(&rule, "user:acme:0042", &[]));
        assert_eq!(got, ["42", r#""acme""#, r#""user:acme:0042""#, r#""hash""#]);
    }

    #[test]
    fn each_field_gets_its_own_cast() {
        let rule = rule(&spec(
            r#"{ name = "age", cast = "int" }, { name = "ratio", cast = "float" }, { name = "ok", cast = "bool" }, { name = "note" }, { name = "meta", cast = "json" }"#,
        ));
        let got = values(eval_columns(
            &rule,
            "user:a:1",
            &[("age", "37"), ("ratio", "0.25"), ("ok", "true"), ("note", "007"), ("meta", r#"{"a":[1,2]}"#)],
        ));
        assert_eq!(got, ["37", "0.25", "true", r#""007""#, r#"{"a":[1,2]}"#]);
    }

    #[test]
    fn a_cast_that_fails_names_the_column_and_the_field() {
        let rule = rule(&spec(r#"{ name = "age", cast = "int" }"#));
        let err = eval_columns(&rule, "user:a:1", &[("age", "thirty")]).remove(0).unwrap_err();
        assert_eq!((err.rule.as_str(), err.record.as_str()), ("users", r#"key "user:a:1""#));
        assert_eq!(err.column.as_deref(), Some("age"));
        assert!(err.message.starts_with(r#"field "age": "#) && err.message.contains("thirty"), "{err}");
    }

    #[test]
    fn missing_and_empty_sources_follow_required_default_and_empty() {
        let rule = rule(&spec(
            r#"{ name = "a", required = true }, { name = "b", default = 5 }, { name = "c", empty = "error" }, { name = "d", cast = "int" }, { name = "e" }"#,
        ));
        let got = eval_columns(&rule, "user:x:1", &[("c", ""), ("d", "")]);
        let err = got[0].as_ref().unwrap_err();
        assert_eq!(err.message, r#"field "a" is missing, and the column is required (give it a default)"#);
        assert_eq!(got[1].as_ref().unwrap(), &Value::Int(5));
        assert_eq!(got[2].as_ref().unwrap_err().message, r#"field "c" is empty"#);
        assert_eq!(got[3].as_ref().unwrap(), &Value::Null, "an empty text is NULL for a typed cast");
        assert_eq!(got[4].as_ref().unwrap(), &Value::Null, "a missing field without options is NULL");
    }

    #[test]
    fn json_paths_read_members_and_elements_and_report_bad_json() {
        let rule = rule(&spec(
            r#"{ name = "city", from = "profile", path = "address.city" }, { name = "second", from = "profile", path = "tags.1" }, { name = "none", from = "profile", path = "nope" }"#,
        ));
        let profile = r#"{"address":{"city":"Oslo"},"tags":["a","b"]}"#;
        assert_eq!(values(eval_columns(&rule, "user:x:1", &[("profile", profile)])), [r#""Oslo""#, r#""b""#, "null"]);
        let err = eval_columns(&rule, "user:x:1", &[("profile", "{not json")]).remove(0).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("city"));
        assert!(err.message.starts_with(r#"field "profile": not valid JSON"#), "{err}");
    }

    #[test]
    fn templates_pad_and_coalesce_takes_the_first_present_source() {
        let rule = rule(&spec(
            r#"{ name = "code", template = "{tenant}-{id|05}" }, { name = "label", coalesce = ["nick", "name", "{id}"] }"#,
        ));
        let got = values(eval_columns(&rule, "user:acme:7", &[("nick", ""), ("name", "Ann")]));
        // Regression: `|05` padded to 2 digits (the format's length).
        assert_eq!(got, [r#""acme-00007""#, r#""Ann""#]);
        let got = values(eval_columns(&rule, "user:acme:7", &[]));
        assert_eq!(got[1], r#""7""#, "the capture is the last resort");
    }

    #[test]
    fn helpers_walk_reorder_and_absent() {
        let doc = Value::Object(vec![("a".into(), Value::Array(vec![Value::Int(1), Value::Int(2)]))]);
        assert_eq!(walk(&doc, &["a".into(), "1".into()]), Some(&Value::Int(2)));
        assert_eq!(walk(&doc, &["a".into(), "x".into()]), None);
        let mut v =
            Value::Object(vec![("z".into(), Value::Null), ("a".into(), Value::Null), ("m".into(), Value::Null)]);
        reorder(&mut v, &["m".into(), "z".into()]);
        assert_eq!(v.to_json_string(), r#"{"m":null,"z":null,"a":null}"#);
        assert!(is_absent(&Value::String(String::new())) && is_absent(&Value::Null) && !is_absent(&Value::Int(0)));
    }
}
