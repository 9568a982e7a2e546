//! Rows into Redis keys: the key name from its template, and a hash, string,
//! list, set, zset or stream value from the rule's columns.

use super::*;

impl Rule {
    pub(super) fn build_key(&self, rec: Who, ctx: &mut Ctx) -> Result<Record, TransformError> {
        let Out::Keys {
            template, template_slots, ty, db, cols, field, fields_from, value, score, entry_id, ttl, ..
        } = &self.out
        else {
            unreachable!("build_key is called for key rules only")
        };
        let mut key = Vec::with_capacity(64);
        let mut slot = template_slots.iter();
        for part in template.parts() {
            match part {
                TemplatePart::Literal(l) => key.extend_from_slice(l),
                TemplatePart::Column(c) | TemplatePart::Padded(c, _) => {
                    let v = slot.next().copied().flatten().and_then(|i| ctx.fields[i]);
                    let text = match v {
                        Some(Input::Value(v)) => {
                            render(v, self.json_style).map_err(|e| self.error(rec, Some(c), e.0))?
                        }
                        Some(Input::Bytes(b)) => Some(b.to_vec()),
                        None => None,
                    };
                    let text = match (part, text) {
                        (TemplatePart::Padded(_, width), Some(t)) => {
                            let digits = String::from_utf8_lossy(&t).into_owned();
                            let (sign, body) = digits.strip_prefix('-').map_or(("", digits.as_str()), |b| ("-", b));
                            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
                                return Err(self.error(
                                    rec,
                                    Some(c),
                                    format!(
                                        "key template {:?}: {digits:?} is not a whole number to pad",
                                        template.as_str()
                                    ),
                                ));
                            }
                            Some(format!("{sign}{body:0>width$}", width = *width).into_bytes())
                        }
                        (_, t) => t,
                    };
                    match text {
                        Some(t) => key.extend_from_slice(&t),
                        None => {
                            return Err(self.error(
                                rec,
                                Some(c),
                                format!("key template {:?}: column {c:?} is missing or NULL", template.as_str()),
                            ))
                        }
                    }
                }
            }
        }
        let expire_at_ms = match ttl {
            None => None,
            Some(i) => match ctx.fields[*i] {
                None => None,
                Some(input) => cast::to_epoch_ms(input).map_err(|e| {
                    self.error(rec, Some(&String::from_utf8_lossy(&self.fields[*i])), format!("ttl_from: {e}"))
                })?,
            },
        };
        let value = match ty {
            RedisType::Module => return Err(self.error(rec, None, "rows cannot make a module key")),
            RedisType::Hash if field.is_some() => {
                let f = self.key_part(rec, field, ctx)?;
                RedisValue::Hash(vec![(f, self.key_part(rec, value, ctx)?)])
            }
            RedisType::Hash => {
                let mut pairs = match fields_from {
                    None => Vec::new(),
                    Some(col) => self.object_fields(rec, col, ctx)?,
                };
                pairs.extend(self.key_fields(rec, cols, ctx)?);
                if pairs.is_empty() {
                    return Err(self.error(rec, None, "every field is NULL: Redis cannot hold an empty hash"));
                }
                RedisValue::Hash(pairs)
            }
            RedisType::List | RedisType::Set if !cols.is_empty() => {
                let mut members = Vec::with_capacity(cols.len());
                for col in cols {
                    match self.eval(rec, col, ctx)? {
                        Value::Null if !col.null_as_empty => {}
                        v => members.push((col.name.clone(), v)),
                    }
                }
                let text = cast::render_json(&Value::Object(members), self.json_style)
                    .map_err(|e| self.error(rec, None, e.0))?
                    .into_bytes();
                if *ty == RedisType::List {
                    RedisValue::List(vec![text])
                } else {
                    RedisValue::Set(vec![text])
                }
            }
            RedisType::String => RedisValue::String(self.key_part(rec, value, ctx)?),
            RedisType::List => RedisValue::List(vec![self.key_part(rec, value, ctx)?]),
            RedisType::Set => RedisValue::Set(vec![self.key_part(rec, value, ctx)?]),
            RedisType::ZSet => {
                let member = self.key_part(rec, value, ctx)?;
                let scol = score.as_ref().expect("compile() sets score for zsets");
                let s = self.eval(rec, scol, ctx)?;
                let s = cast::cast(Input::Value(&s), Cast::Float, &CastOptions::default())
                    .map_err(|e| self.error(rec, Some("score"), e.0))?;
                let Value::Float(f) = s else {
                    return Err(self.error(rec, Some("score"), "is NULL; a zset member needs a score"));
                };
                RedisValue::ZSet(vec![(member, f)])
            }
            RedisType::Stream => {
                let id = self.key_part(rec, entry_id, ctx)?;
                let id = match String::from_utf8(id) {
                    Ok(id) if parse_entry_id(&id).is_some() => id,
                    Ok(id) => {
                        return Err(self.error(
                            rec,
                            Some("entry_id"),
                            format!("{id:?} is not a stream entry id (<ms>-<seq>)"),
                        ))
                    }
                    Err(_) => return Err(self.error(rec, Some("entry_id"), "is not text")),
                };
                let fields = self.key_fields(rec, cols, ctx)?;
                if fields.is_empty() {
                    return Err(self.error(rec, None, "every field is NULL: a stream entry needs a field"));
                }
                RedisValue::Stream(decant_record::StreamValue {
                    entries: vec![decant_record::StreamEntry { id, fields }],
                    ..decant_record::StreamValue::default()
                })
            }
        };
        Ok(Record::Redis(RedisRecord { expire_at_ms, ..RedisRecord::new(*db, key, value) }))
    }

    /// The (field, value) pairs of a hash or stream entry; NULL columns are
    /// left out (unless they write NULL as "").
    fn key_fields(
        &self,
        rec: Who,
        cols: &[Col],
        ctx: &mut Ctx,
    ) -> Result<decant_record::record::Pairs, TransformError> {
        let mut pairs = Vec::with_capacity(cols.len());
        for col in cols {
            if let Some(b) = self.key_bytes(rec, col, ctx)? {
                pairs.push((col.name.as_bytes().to_vec(), b));
            }
        }
        Ok(pairs)
    }

    /// The members of a JSON object column as hash fields: strings as they
    /// are, other values as JSON text; NULL gives none.
    fn object_fields(
        &self,
        rec: Who,
        col: &Col,
        ctx: &mut Ctx,
    ) -> Result<decant_record::record::Pairs, TransformError> {
        let v = match self.eval(rec, col, ctx)? {
            Value::String(s) => parse_json_value(&Value::String(s)).map_err(|e| self.error(rec, Some(&col.name), e))?,
            Value::Bytes(b) => parse_json_value(&Value::Bytes(b)).map_err(|e| self.error(rec, Some(&col.name), e))?,
            other => other,
        };
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Object(members) => {
                let mut pairs = Vec::with_capacity(members.len());
                for (k, x) in members {
                    let text = match x {
                        Value::String(s) => s.into_bytes(),
                        other => {
                            match render(&other, self.json_style).map_err(|e| self.error(rec, Some(&col.name), e.0))? {
                                Some(b) => b,
                                None => continue,
                            }
                        }
                    };
                    pairs.push((k.into_bytes(), text));
                }
                Ok(pairs)
            }
            other => Err(self.error(
                rec,
                Some(&col.name),
                format!("fields_from: {} is not a JSON object", cast::show(Input::Value(&other))),
            )),
        }
    }

    /// The fold of a key rule.
    pub(crate) fn fold(&self) -> Option<&Fold> {
        match &self.out {
            Out::Keys { fold, .. } => fold.as_ref(),
            _ => None,
        }
    }

    /// The value of a folding rule's `order_by` column in an input row.
    pub(crate) fn fold_order(&self, rec: &Record) -> Option<Value> {
        let (name, _) = self.fold()?.order_by.as_ref()?;
        match rec {
            Record::Row(row) => row.data.get(name).cloned(),
            _ => None,
        }
    }

    /// One column of an output key as bytes (`None` for NULL, unless the
    /// column writes NULL as "").
    fn key_bytes(&self, rec: Who, col: &Col, ctx: &mut Ctx) -> Result<Option<Vec<u8>>, TransformError> {
        let v = self.eval(rec, col, ctx)?;
        let out = render(&v, col.opts.json_style).map_err(|e| self.error(rec, Some(&col.name), e.0))?;
        Ok(match out {
            None if col.null_as_empty => Some(Vec::new()),
            other => other,
        })
    }

    /// A value, member or field name of an output key, which cannot be NULL.
    fn key_part(&self, rec: Who, col: &Option<Col>, ctx: &mut Ctx) -> Result<Vec<u8>, TransformError> {
        let col = col.as_ref().expect("compile() sets value/member/field for these types");
        self.key_bytes(rec, col, ctx)?
            .ok_or_else(|| self.error(rec, Some(&col.name), "is NULL; a Redis value cannot be NULL"))
    }
}

/// A stream entry id `<ms>-<seq>` as numbers.
pub(crate) fn parse_entry_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    let num = |t: &str| if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) { t.parse().ok() } else { None };
    Some((num(ms)?, num(seq)?))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{row, rule};
    use super::*;

    /// A rule from the rows of table `src` to keys, with the given options.
    fn key_rule(options: &str) -> Rule {
        rule(&format!("[[rule]]\nname = \"keys\"\nmatch_table = \"src\"\n{options}\n"))
    }

    /// The key a rule builds of one `src` row, through [`Rule::build_key`] directly.
    fn key_of(rule: &Rule, data: &[(&str, Value)]) -> Result<RedisRecord, TransformError> {
        let rec = row("src", data);
        let Record::Row(r) = &rec else { unreachable!() };
        let mut ctx = Ctx::new(rule.fields.len(), rule.json_sources.len());
        ctx.table = Some(&r.table);
        rule.bind_row(&rec, r, &mut ctx)?;
        match rule.build_key(Who::Record(&rec), &mut ctx)? {
            Record::Redis(k) => Ok(k),
            other => panic!("a key, not {other:?}"),
        }
    }

    fn text(s: &str) -> Value {
        Value::String(s.into())
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        p.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
    }

    #[test]
    fn rows_become_hashes_without_their_null_fields() {
        let rule = key_rule(
            r#"to_key = "user:{id}"
            to_db = 3
            columns = [{ name = "id" }, { name = "name" }, { name = "age" }, { name = "note", null = "empty" }]"#,
        );
        let k =
            key_of(&rule, &[("id", Value::Int(7)), ("name", text("Ann")), ("age", Value::Null), ("note", Value::Null)])
                .unwrap();
        assert_eq!((k.db, k.key.as_slice()), (3, &b"user:7"[..]));
        assert_eq!(k.value, RedisValue::Hash(pairs(&[("id", "7"), ("name", "Ann"), ("note", "")])));
        let rule = key_rule(
            r#"to_key = "user:{id}"
            columns = [{ name = "name" }]
            ignore_fields = ["id"]"#,
        );
        let err = key_of(&rule, &[("id", Value::Int(7)), ("name", Value::Null)]).unwrap_err();
        assert_eq!(err.message, "every field is NULL: Redis cannot hold an empty hash");
    }

    #[test]
    fn fields_from_spreads_a_json_object_before_the_listed_columns() {
        let rule = key_rule(
            r#"to_key = "cfg:{id}"
            fields_from = "doc"
            columns = [{ name = "id" }]"#,
        );
        let k = key_of(&rule, &[("id", Value::Int(1)), ("doc", text(r#"{"a":"x","n":2,"z":null}"#))]).unwrap();
        assert_eq!(k.value, RedisValue::Hash(pairs(&[("a", "x"), ("n", "2"), ("id", "1")])));
        let err = key_of(&rule, &[("id", Value::Int(1)), ("doc", text("[1]"))]).unwrap_err();
        assert_eq!(
            (err.column.as_deref(), err.message.as_str()),
            (Some("fields_from"), "fields_from: [1] is not a JSON object")
        );
    }

    #[test]
    fn rows_become_strings_set_members_and_scored_zset_members() {
        let string = key_rule("to_key = \"s:{id}\"\nto_type = \"string\"\nvalue = \"body\"\nignore_fields = []");
        let k = key_of(&string, &[("id", Value::Int(1)), ("body", text("hello"))]).unwrap();
        assert_eq!(k.value, RedisValue::String(b"hello".to_vec()));
        let err = key_of(&string, &[("id", Value::Int(1)), ("body", Value::Null)]).unwrap_err();
        assert_eq!(
            (err.column.as_deref(), err.message.as_str()),
            (Some("value"), "is NULL; a Redis value cannot be NULL")
        );

        let set = key_rule("to_key = \"tags:{id}\"\nto_type = \"set\"\nmember = \"tag\"");
        let k = key_of(&set, &[("id", Value::Int(1)), ("tag", text("red"))]).unwrap();
        assert_eq!(k.value, RedisValue::Set(vec![b"red".to_vec()]));

        let zset = key_rule("to_key = \"rank\"\nto_type = \"zset\"\nmember = \"who\"\nscore = \"points\"");
        let k = key_of(&zset, &[("who", text("ann")), ("points", text("2.5"))]).unwrap();
        assert_eq!(k.value, RedisValue::ZSet(vec![(b"ann".to_vec(), 2.5)]));
        let err = key_of(&zset, &[("who", text("ann")), ("points", Value::Null)]).unwrap_err();
        assert_eq!(
            (err.column.as_deref(), err.message.as_str()),
            (Some("score"), "is NULL; a zset member needs a score")
        );
    }

    #[test]
    fn key_templates_pad_numbers_and_name_a_missing_column() {
        let rule = key_rule(
            r#"to_key = "h:{day}:{hour|02}"
            columns = [{ name = "n" }]
            ignore_fields = ["day", "hour"]"#,
        );
        let k = key_of(&rule, &[("day", text("2024-01-02")), ("hour", Value::Int(5)), ("n", Value::Int(1))]).unwrap();
        assert_eq!(k.key, b"h:2024-01-02:05");
        let err =
            key_of(&rule, &[("day", text("2024-01-02")), ("hour", text("five")), ("n", Value::Int(1))]).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("hour"));
        assert_eq!(err.message, r#"key template "h:{day}:{hour|02}": "five" is not a whole number to pad"#);
        let err = key_of(&rule, &[("hour", Value::Int(5)), ("n", Value::Int(1))]).unwrap_err();
        assert_eq!(err.message, r#"key template "h:{day}:{hour|02}": column "day" is missing or NULL"#);
    }

    #[test]
    fn ttl_from_sets_the_absolute_expiry_and_names_a_bad_column() {
        let rule = key_rule("to_key = \"k:{id}\"\nttl_from = \"until\"\ncolumns = [{ name = \"id\" }]");
        let k = key_of(&rule, &[("id", Value::Int(1)), ("until", Value::Int(1_700_000_000_000))]).unwrap();
        assert_eq!(k.expire_at_ms, Some(1_700_000_000_000));
        let k = key_of(&rule, &[("id", Value::Int(1)), ("until", Value::Null)]).unwrap();
        assert_eq!(k.expire_at_ms, None, "NULL means no expiry");
        let err = key_of(&rule, &[("id", Value::Int(1)), ("until", text("soon"))]).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("until"));
        assert!(err.message.starts_with("ttl_from: "), "{err}");
    }

    #[test]
    fn stream_entries_need_a_valid_id_and_a_field() {
        let rule =
            key_rule("to_key = \"events\"\nto_type = \"stream\"\nentry_id = \"eid\"\ncolumns = [{ name = \"what\" }]");
        let k = key_of(&rule, &[("eid", text("5-1")), ("what", text("login"))]).unwrap();
        let RedisValue::Stream(s) = k.value else { panic!("a stream") };
        assert_eq!((s.entries[0].id.as_str(), &s.entries[0].fields), ("5-1", &pairs(&[("what", "login")])));
        let err = key_of(&rule, &[("eid", text("5")), ("what", text("login"))]).unwrap_err();
        assert_eq!(
            (err.column.as_deref(), err.message.as_str()),
            (Some("entry_id"), r#""5" is not a stream entry id (<ms>-<seq>)"#)
        );
        let err = key_of(&rule, &[("eid", text("5-1")), ("what", Value::Null)]).unwrap_err();
        assert_eq!(err.message, "every field is NULL: a stream entry needs a field");
    }

    #[test]
    fn folding_rules_read_their_order_column() {
        let rule = key_rule("to_key = \"l:{id}\"\nto_type = \"list\"\nvalue = \"v\"\nfold = true\norder_by = \"pos\"");
        assert_eq!(rule.fold().and_then(|f| f.order_by.as_ref()).map(|(n, _)| n.as_str()), Some("pos"));
        let rec = row("src", &[("id", Value::Int(1)), ("pos", Value::Int(4)), ("v", text("x"))]);
        assert_eq!(rule.fold_order(&rec), Some(Value::Int(4)));
        assert!(key_rule("to_key = \"l:{id}\"\nto_type = \"list\"\nvalue = \"v\"").fold().is_none());
    }

    #[test]
    fn entry_ids_parse_as_two_numbers() {
        assert_eq!(parse_entry_id("1700000000000-3"), Some((1_700_000_000_000, 3)));
        for bad in ["5", "-1", "1-", "a-1", "1-2-3", "+1-2"] {
            assert_eq!(parse_entry_id(bad), None, "{bad}");
        }
    }
}
