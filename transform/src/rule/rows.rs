//! Records into rows: Redis keys (whole, or exploded per element or stream
//! entry) and input rows (column lists or reshaped) become output rows.

use super::*;

impl Rule {
    /// The schema of this rule's output table given an input schema (row
    /// rules): renamed, dropped and recast columns. `None` when the rule
    /// writes keys, drops, or has a declared table (emitted up front).
    pub(super) fn reshape_schema(&self, s: &TableSchema) -> Option<TableSchema> {
        match &self.out {
            Out::Reshape { table, rename, drop, casts } => {
                let mut s = s.clone();
                s.table = table.clone();
                s.columns.retain(|c| !drop.contains(&c.name));
                for c in &mut s.columns {
                    if let Some((_, cast)) = casts.iter().find(|(n, _)| *n == c.name) {
                        if let Some(ty) = cast.logical_type() {
                            if ty != c.ty {
                                let keep = decant_record::Column::new(c.name.clone(), ty);
                                *c = decant_record::Column { nullable: c.nullable, comment: c.comment.take(), ..keep };
                            }
                        }
                    }
                    if let Some((_, new)) = rename.iter().find(|(old, _)| *old == c.name) {
                        c.name = new.clone();
                    }
                }
                let map = |cols: &mut Vec<String>| -> bool {
                    if cols.iter().any(|c| drop.contains(c)) {
                        return false;
                    }
                    for c in cols.iter_mut() {
                        if let Some((_, new)) = rename.iter().find(|(old, _)| old == c) {
                            *c = new.clone();
                        }
                    }
                    true
                };
                if !map(&mut s.primary_key) {
                    s.primary_key.clear();
                }
                s.indexes.retain_mut(|i| map(&mut i.columns));
                s.foreign_keys.retain_mut(|f| map(&mut f.columns));
                Some(s)
            }
            _ => None,
        }
    }

    pub(super) fn reshape_row(&self, row: &Row) -> Result<Row, TransformError> {
        let Out::Reshape { table, rename, drop, casts } = &self.out else {
            unreachable!("reshape_row is called for reshape rules only")
        };
        let mut data = Vec::with_capacity(row.data.len());
        for (name, v) in row.data.iter() {
            if drop.iter().any(|d| d == name) {
                continue;
            }
            let v = match casts.iter().find(|(c, _)| c == name) {
                Some((_, cast)) => cast::cast(Input::Value(v), *cast, &CastOptions::default())
                    .map_err(|e| self.error(&Record::Row(row.clone()), Some(name), e.0))?,
                None => v.clone(),
            };
            let name = rename.iter().find(|(old, _)| old == name).map_or(name, |(_, new)| new.as_str());
            data.push((name.to_owned(), v));
        }
        Ok(Row { table: table.clone(), data: RowData(data) })
    }

    /// Binds a row's columns to field slots; returns the extra columns.
    pub(super) fn bind_row<'a>(
        &self,
        rec: &Record,
        row: &'a Row,
        ctx: &mut Ctx<'a>,
    ) -> Result<Vec<(&'a [u8], Input<'a>)>, TransformError> {
        let mut extras = Vec::new();
        let mut unmapped: Vec<&[u8]> = Vec::new();
        for (name, v) in row.data.iter() {
            match self.fields.iter().position(|f| f == name.as_bytes()) {
                Some(i) => ctx.fields[i] = Some(Input::Value(v)),
                None if self.ignored.iter().any(|x| x == name.as_bytes()) => {}
                None => match self.extra {
                    Extra::Ignore => {}
                    Extra::Error => unmapped.push(name.as_bytes()),
                    Extra::Keep | Extra::Into => extras.push((name.as_bytes(), Input::Value(v))),
                },
            }
        }
        if !unmapped.is_empty() {
            return Err(self.error(rec, None, unmapped_message("input column", &unmapped)));
        }
        Ok(extras)
    }

    pub(super) fn redis_to_rows(
        &self,
        rec: &Record,
        r: &RedisRecord,
        caps: &[Range<usize>],
        first_index: u64,
        out: &mut Vec<Record>,
    ) -> Result<(), TransformError> {
        let mut sink = RecordRows::new(out);
        if let Some(module) = r.module() {
            return Err(self.error(
                rec,
                None,
                format!("a key of module type {module} holds an opaque payload, not fields: it cannot become rows"),
            ));
        }
        match RedisView::of(r) {
            Some(view) => self.view_to_rows(Who::Record(rec), &view, caps, first_index, &mut sink),
            None => self.stream_to_rows(rec, r, caps, first_index, &mut sink),
        }
    }

    /// Rows from a Redis key of any type but stream, written to `sink`.
    pub(crate) fn view_to_rows<S: RowSink>(
        &self,
        who: Who,
        r: &RedisView,
        caps: &[Range<usize>],
        first_index: u64,
        sink: &mut S,
    ) -> Result<(), TransformError> {
        let mut ctx = Ctx::new(self.fields.len(), self.json_sources.len());
        ctx.key = &r.key;
        ctx.caps = caps;
        ctx.db = r.db;
        ctx.ty = Some(r.value.redis_type());
        ctx.expire = r.expire_at_ms;
        if !self.explode {
            if r.part.is_some() && matches!(r.value, RedisValueView::Hash(_)) {
                return Err(self.error(
                    who,
                    None,
                    "this hash arrives in parts (a big key); a row needs the whole hash: export with a larger chunk size, or explode it",
                ));
            }
            let mut extras = Vec::new();
            match &r.value {
                RedisValueView::Hash(pairs) => {
                    let mut unmapped: Vec<&[u8]> = Vec::new();
                    for (f, v) in pairs {
                        match self.field_index(f) {
                            Some(i) => ctx.fields[i] = Some(Input::Bytes(v)),
                            None if self.ignored.iter().any(|x| x == &**f) => {}
                            None => match self.extra {
                                Extra::Ignore => {}
                                Extra::Keep | Extra::Into => extras.push((&**f, Input::Bytes(v))),
                                // `$hash` maps every field.
                                Extra::Error if self.reads_hash => {}
                                Extra::Error => unmapped.push(f),
                            },
                        }
                    }
                    if !unmapped.is_empty() {
                        return Err(self.error(who, None, unmapped_message("hash field", &unmapped)));
                    }
                    if self.reads_hash {
                        // Fields in bytewise order: a hash's field order is not part
                        // of its value (a big hash's order is the server's table
                        // order), and the same hash must give the same JSON text.
                        let mut fields = Vec::with_capacity(pairs.len());
                        for (f, v) in pairs.iter() {
                            let Ok(name) = std::str::from_utf8(f) else {
                                return Err(self.error(
                                    who,
                                    None,
                                    "a hash field name is not UTF-8: it cannot be a key of the JSON object ($hash / $value)",
                                ));
                            };
                            fields.push((name.to_owned(), Value::from_bytes_or_text(v.to_vec())));
                        }
                        fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                        ctx.whole = Some(Value::Object(fields));
                    }
                }
                RedisValueView::String(s) => ctx.value = Some(Input::Bytes(s)),
                RedisValueView::List(items) | RedisValueView::Set(items) => {
                    ctx.whole =
                        Some(Value::Array(items.iter().map(|i| Value::from_bytes_or_text(i.to_vec())).collect()))
                }
                RedisValueView::ZSet(pairs) => {
                    ctx.whole = Some(Value::Array(
                        pairs
                            .iter()
                            .map(|(m, s)| Value::Array(vec![Value::from_bytes_or_text(m.to_vec()), Value::Float(*s)]))
                            .collect(),
                    ))
                }
            }
            return self.emit_row(who, &mut ctx, extras, sink);
        }
        let mut i = first_index;
        // One context for all the elements: only the element's own sources
        // and the JSON parsed from them change.
        let emit = |ctx: &mut Ctx, sink: &mut S| -> Result<(), TransformError> {
            self.emit_row(who, ctx, Vec::new(), sink)?;
            ctx.json.iter_mut().for_each(|j| *j = None);
            Ok(())
        };
        match &r.value {
            RedisValueView::List(items) | RedisValueView::Set(items) => {
                for item in items {
                    ctx.value = Some(Input::Bytes(item));
                    ctx.index = Some(i);
                    i += 1;
                    emit(&mut ctx, sink)?;
                }
            }
            RedisValueView::ZSet(pairs) => {
                for (m, s) in pairs {
                    ctx.value = Some(Input::Bytes(m));
                    ctx.score = Some(*s);
                    ctx.index = Some(i);
                    i += 1;
                    emit(&mut ctx, sink)?;
                }
            }
            RedisValueView::Hash(pairs) => {
                for (f, v) in pairs {
                    ctx.field_name = Some(f);
                    ctx.value = Some(Input::Bytes(v));
                    ctx.index = Some(i);
                    i += 1;
                    emit(&mut ctx, sink)?;
                }
            }
            RedisValueView::String(_) => return Err(self.error(who, None, "a string key has no elements to explode")),
        }
        Ok(())
    }

    /// Rows from a stream key: one per entry (explode), else an error.
    fn stream_to_rows<S: RowSink>(
        &self,
        rec: &Record,
        r: &RedisRecord,
        caps: &[Range<usize>],
        first_index: u64,
        sink: &mut S,
    ) -> Result<(), TransformError> {
        let RedisValue::Stream(s) = &r.value else { unreachable!("RedisView::of takes every other type") };
        if !self.explode {
            return Err(self.error(rec, None, "a stream becomes rows with explode = true (one per entry)"));
        }
        let mut ctx = Ctx::new(self.fields.len(), self.json_sources.len());
        ctx.key = &r.key;
        ctx.caps = caps;
        ctx.db = r.db;
        ctx.ty = Some(r.value.redis_type());
        ctx.expire = r.expire_at_ms;
        for (i, entry) in (first_index..).zip(&s.entries) {
            ctx.fields.iter_mut().for_each(|f| *f = None);
            ctx.entry_id = Some(&entry.id);
            ctx.index = Some(i);
            let mut extras = Vec::new();
            for (f, v) in &entry.fields {
                match self.field_index(f) {
                    Some(k) => ctx.fields[k] = Some(Input::Bytes(v)),
                    None if self.ignored.contains(f) => {}
                    None => match self.extra {
                        Extra::Ignore => {}
                        Extra::Keep | Extra::Into => extras.push((f.as_slice(), Input::Bytes(v))),
                        Extra::Error => {
                            return Err(self.error(
                                rec,
                                None,
                                format!(
                                    "entry {} field {} is not mapped to any column (map it, or set extra_fields = \"ignore\" or extra_into)",
                                    entry.id,
                                    cast::show(Input::Bytes(f))
                                ),
                            ))
                        }
                    },
                }
            }
            self.emit_row(Who::Record(rec), &mut ctx, extras, sink)?;
            ctx.json.iter_mut().for_each(|j| *j = None);
        }
        Ok(())
    }

    /// The slot of a hash field / input column the rule reads.
    pub(super) fn field_index(&self, name: &[u8]) -> Option<usize> {
        self.fields.iter().position(|x| x == name)
    }

    /// Evaluates the columns of one output row (and its extra fields) into `sink`.
    pub(super) fn emit_row<S: RowSink>(
        &self,
        rec: Who,
        ctx: &mut Ctx,
        extras: Vec<(&[u8], Input)>,
        sink: &mut S,
    ) -> Result<(), TransformError> {
        let Out::Rows { table, cols, extra_into, prefix } = &self.out else {
            unreachable!("emit_row is called for row rules only")
        };
        sink.begin(table, prefix, cols.len() + extras.len() + 1);
        for col in cols {
            if let Some(text) = self.verbatim_json(col, ctx) {
                sink.col_verbatim_json(&col.name, &col.name_json, text);
                continue;
            }
            if let Some(text) = self.plain_text(col, ctx) {
                sink.col_str(&col.name, &col.name_json, text);
                continue;
            }
            let v = self.eval(rec, col, ctx)?;
            sink.col(&col.name, &col.name_json, v);
        }
        match (self.extra, extra_into) {
            (Extra::Into, Some(into)) => {
                let mut obj = Vec::with_capacity(extras.len());
                for (f, v) in extras {
                    let Ok(name) = std::str::from_utf8(f) else {
                        return Err(self.error(
                            rec,
                            Some(into),
                            format!("extra field {} is not UTF-8", cast::show(Input::Bytes(f))),
                        ));
                    };
                    let v = match v {
                        Input::Bytes(b) => Value::from_bytes_or_text(b.to_vec()),
                        Input::Value(v) => v.clone(),
                    };
                    obj.push((name.to_owned(), v));
                }
                // Bytewise field order, as `$hash`: the same fields give the same JSON text.
                obj.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                sink.col(into, &json_key(into), if obj.is_empty() { Value::Null } else { Value::Object(obj) });
            }
            (Extra::Keep, _) => {
                let mut kept: Vec<&str> = Vec::with_capacity(extras.len());
                for (f, v) in extras {
                    let Ok(name) = std::str::from_utf8(f) else {
                        return Err(self.error(
                            rec,
                            None,
                            format!("extra field {} is not UTF-8", cast::show(Input::Bytes(f))),
                        ));
                    };
                    if cols.iter().any(|c| c.name == name) || kept.contains(&name) {
                        return Err(self.error(rec, Some(name), "an extra field has the name of a listed column"));
                    }
                    kept.push(name);
                    let v = match v {
                        Input::Bytes(b) => Value::from_bytes_or_text(b.to_vec()),
                        Input::Value(v) => v.clone(),
                    };
                    sink.col(name, &json_key(name), v);
                }
            }
            _ => {}
        }
        sink.end();
        Ok(())
    }
}

/// The error for fields no column maps: every one of them, so that one run
/// fixes the spec.
fn unmapped_message(what: &str, names: &[&[u8]]) -> String {
    let list = names.iter().map(|n| cast::show(Input::Bytes(n))).collect::<Vec<_>>().join(", ");
    let (them, are) = if names.len() == 1 { ("it", "is") } else { ("them", "are") };
    format!(
        "{} {what}{} {list} {are} not mapped to any column (map {them}, list {them} in ignore_fields, or set extra_fields = \"ignore\" or extra_into = \"column\")",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{hash, redis, row, rule};
    use super::*;
    use decant_record::{Column, Index, StreamEntry, StreamValue};

    /// The rows a key rule makes of a Redis record, through [`Rule::redis_to_rows`]
    /// directly, each row's data as JSON.
    fn key_rows(rule: &Rule, rec: &Record, first_index: u64) -> Result<Vec<String>, TransformError> {
        let Record::Redis(r) = rec else { panic!("a Redis record") };
        let mut caps = Vec::new();
        assert!(rule.matches(rec, &mut caps), "the rule matches {}", describe_record(rec));
        let mut out = Vec::new();
        rule.redis_to_rows(rec, r, &caps, first_index, &mut out)?;
        Ok(out.iter().map(data_json).collect())
    }

    fn data_json(rec: &Record) -> String {
        let Record::Row(row) = rec else { panic!("a row, not {rec:?}") };
        assert_eq!(row.table, "out");
        Value::Object(row.data.0.clone()).to_json_string()
    }

    fn members(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|i| i.as_bytes().to_vec()).collect()
    }

    /// An exploding rule over keys of type `ty`, with `columns` after the id.
    fn explode_rule(ty: &str, columns: &str) -> Rule {
        rule(&format!(
            "[[rule]]\nmatch = \"k:{{id}}\"\ntype = \"{ty}\"\nto_table = \"out\"\nexplode = true\n\
             columns = [{{ name = \"id\", from = \"{{id}}\", cast = \"int\" }}, {columns}]\n"
        ))
    }

    const INDEX_VALUE: &str = r#"{ name = "i", from = "$index" }, { name = "v", from = "$value" }"#;

    #[test]
    fn a_hash_becomes_one_row_and_every_unmapped_field_is_named() {
        let rule = rule(
            r#"
            [[rule]]
            match = "k:{id}"
            type = "hash"
            to_table = "out"
            columns = [{ name = "id", from = "{id}", cast = "int" }, { name = "n", cast = "int" }]
            ignore_fields = ["skip"]
            "#,
        );
        let got = key_rows(&rule, &hash("k:7", &[("n", "3"), ("skip", "x")]), 0).unwrap();
        assert_eq!(got, [r#"{"id":7,"n":3}"#]);
        let err = key_rows(&rule, &hash("k:7", &[("n", "3"), ("a", "1"), ("b\u{1}", "2")]), 0).unwrap_err();
        assert_eq!(err.record, r#"key "k:7""#);
        assert!(err.message.starts_with(r#"2 hash fields "a", "b\u{1}" are not mapped to any column"#), "{err}");
    }

    #[test]
    fn lists_and_sets_explode_one_row_per_element_counting_from_the_part_s_first_index() {
        let rule = explode_rule("list", INDEX_VALUE);
        let list = redis("k:1", RedisValue::List(members(&["a", "b"])));
        assert_eq!(key_rows(&rule, &list, 0).unwrap(), [r#"{"id":1,"i":0,"v":"a"}"#, r#"{"id":1,"i":1,"v":"b"}"#]);
        // The second part of a split list goes on counting where the first stopped.
        assert_eq!(key_rows(&rule, &list, 10).unwrap()[1], r#"{"id":1,"i":11,"v":"b"}"#);
        let rule = explode_rule("set", INDEX_VALUE);
        let set = redis("k:2", RedisValue::Set(members(&["x"])));
        assert_eq!(key_rows(&rule, &set, 0).unwrap(), [r#"{"id":2,"i":0,"v":"x"}"#]);
    }

    #[test]
    fn zsets_explode_with_their_scores_and_hashes_with_their_field_names() {
        let rule = explode_rule("zset", r#"{ name = "s", from = "$score" }, { name = "v", from = "$value" }"#);
        let zset = redis("k:1", RedisValue::ZSet(vec![(b"m".to_vec(), 1.5), (b"n".to_vec(), -2.0)]));
        assert_eq!(key_rows(&rule, &zset, 0).unwrap(), [r#"{"id":1,"s":1.5,"v":"m"}"#, r#"{"id":1,"s":-2.0,"v":"n"}"#]);
        let rule = explode_rule("hash", r#"{ name = "f", from = "$field" }, { name = "v", from = "$value" }"#);
        let h = hash("k:2", &[("name", "Ann"), ("age", "40")]);
        assert_eq!(
            key_rows(&rule, &h, 0).unwrap(),
            [r#"{"id":2,"f":"name","v":"Ann"}"#, r#"{"id":2,"f":"age","v":"40"}"#]
        );
    }

    #[test]
    fn without_explode_a_collection_is_one_json_value_and_a_string_its_text() {
        let rule = rule(
            r#"
            [[rule]]
            match = "k:{id}"
            to_table = "out"
            columns = [{ name = "id", from = "{id}", cast = "int" }, { name = "v", from = "$value" }]
            "#,
        );
        let list = redis("k:1", RedisValue::List(members(&["a", "b"])));
        assert_eq!(key_rows(&rule, &list, 0).unwrap(), [r#"{"id":1,"v":["a","b"]}"#]);
        let zset = redis("k:1", RedisValue::ZSet(vec![(b"m".to_vec(), 2.0)]));
        assert_eq!(key_rows(&rule, &zset, 0).unwrap(), [r#"{"id":1,"v":[["m",2.0]]}"#]);
        let string = redis("k:1", RedisValue::String(b"text".to_vec()));
        assert_eq!(key_rows(&rule, &string, 0).unwrap(), [r#"{"id":1,"v":"text"}"#]);
    }

    #[test]
    fn a_hash_in_parts_needs_explode_and_a_module_key_never_becomes_rows() {
        let rule =
            rule("[[rule]]\nmatch = \"k:{id}\"\nto_table = \"out\"\ncolumns = [{ name = \"id\", from = \"{id}\" }]\n");
        let Record::Redis(mut part) = hash("k:1", &[("a", "1")]) else { unreachable!() };
        part.part = Some(1);
        let err = key_rows(&rule, &Record::Redis(part), 0).unwrap_err();
        assert!(err.message.starts_with("this hash arrives in parts (a big key)"), "{err}");
        let module = redis("k:1", RedisValue::Module("ReJSON-RL".into()));
        let err = key_rows(&rule, &module, 0).unwrap_err();
        assert!(err.message.starts_with("a key of module type ReJSON-RL holds an opaque payload"), "{err}");
    }

    #[test]
    fn hash_and_extra_into_write_fields_in_bytewise_order() {
        let rule = rule(
            r#"
            [[rule]]
            match = "k:{id}"
            type = "hash"
            to_table = "out"
            columns = [{ name = "all", from = "$hash" }]
            "#,
        );
        let h = hash("k:1", &[("b", "2"), ("a", "1")]);
        assert_eq!(key_rows(&rule, &h, 0).unwrap(), [r#"{"all":{"a":"1","b":"2"}}"#]);
        let rule = rule_with_extra_into();
        let h = hash("k:1", &[("z", "2"), ("id", "5"), ("m", "1")]);
        assert_eq!(key_rows(&rule, &h, 0).unwrap(), [r#"{"id":5,"rest":{"m":"1","z":"2"}}"#]);
        assert_eq!(key_rows(&rule, &hash("k:1", &[("id", "5")]), 0).unwrap(), [r#"{"id":5,"rest":null}"#]);
    }

    fn rule_with_extra_into() -> Rule {
        rule(
            r#"
            [[rule]]
            match = "k:{id}"
            to_table = "out"
            columns = [{ name = "id", cast = "int" }]
            extra_into = "rest"
            "#,
        )
    }

    #[test]
    fn streams_explode_per_entry_and_name_an_unmapped_entry_field() {
        let rule = rule(
            r#"
            [[rule]]
            match = "s:{id}"
            type = "stream"
            to_table = "out"
            explode = true
            columns = [{ name = "entry", from = "$id" }, { name = "i", from = "$index" }, { name = "temp", cast = "float" }]
            "#,
        );
        let entry = |id: &str, fields: &[(&str, &str)]| StreamEntry {
            id: id.into(),
            fields: fields.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec())).collect(),
        };
        let stream = |entries| redis("s:1", RedisValue::Stream(StreamValue { entries, ..StreamValue::default() }));
        let got = key_rows(&rule, &stream(vec![entry("1-0", &[("temp", "20.5")]), entry("2-0", &[])]), 3).unwrap();
        assert_eq!(got, [r#"{"entry":"1-0","i":3,"temp":20.5}"#, r#"{"entry":"2-0","i":4,"temp":null}"#]);
        let err = key_rows(&rule, &stream(vec![entry("9-1", &[("hum", "3")])]), 0).unwrap_err();
        assert!(err.message.starts_with(r#"entry 9-1 field "hum" is not mapped to any column"#), "{err}");
    }

    #[test]
    fn a_stream_without_explode_is_an_error() {
        let rule =
            rule("[[rule]]\nmatch = \"s:{id}\"\nto_table = \"out\"\ncolumns = [{ name = \"id\", from = \"{id}\" }]\n");
        let stream = redis("s:1", RedisValue::Stream(StreamValue::default()));
        let err = key_rows(&rule, &stream, 0).unwrap_err();
        assert_eq!(err.message, "a stream becomes rows with explode = true (one per entry)");
    }

    #[test]
    fn input_rows_bind_to_columns_and_unmapped_input_columns_are_errors() {
        let rule = rule(
            "[[rule]]\nmatch_table = \"users\"\nto_table = \"out\"\ncolumns = [{ name = \"uid\", from = \"id\" }, { name = \"t\", from = \"$table\" }]\n",
        );
        let mut out = Vec::new();
        rule.apply_matched(&row("users", &[("id", Value::Int(9))]), &[], 0, &mut out).unwrap();
        assert_eq!(out.iter().map(data_json).collect::<Vec<_>>(), [r#"{"uid":9,"t":"users"}"#]);
        let rec = row("users", &[("id", Value::Int(9)), ("email", Value::Null)]);
        let mut ctx = Ctx::new(rule.fields.len(), rule.json_sources.len());
        let Record::Row(r) = &rec else { unreachable!() };
        let err = rule.bind_row(&rec, r, &mut ctx).unwrap_err();
        assert_eq!(err.record, r#"table "users" row"#);
        assert!(err.message.starts_with(r#"1 input column "email" is not mapped to any column"#), "{err}");
    }

    #[test]
    fn reshape_renames_drops_and_recasts_rows_and_their_schema() {
        let rule = rule(
            r#"
            [[rule]]
            match_table = "users"
            to_table = "people"
            rename = { id = "person_id" }
            drop_columns = ["secret"]
            casts = { age = "int" }
            "#,
        );
        let Record::Row(input) =
            row("users", &[("id", Value::Int(1)), ("secret", Value::Null), ("age", Value::String("40".into()))])
        else {
            unreachable!()
        };
        let out = rule.reshape_row(&input).unwrap();
        assert_eq!(out.table, "people");
        assert_eq!(Value::Object(out.data.0).to_json_string(), r#"{"person_id":1,"age":40}"#);
        let Record::Row(bad) = row("users", &[("age", Value::String("old".into()))]) else { unreachable!() };
        let err = rule.reshape_row(&bad).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("age"));

        let mut schema = TableSchema::new(
            "users",
            vec![
                Column::new("id", LogicalType::Int64),
                Column::new("secret", LogicalType::Text),
                Column::new("age", LogicalType::Text),
            ],
        );
        schema.primary_key = vec!["id".into()];
        schema.indexes = vec![
            Index { name: "by_secret".into(), columns: vec!["secret".into()], unique: false },
            Index { name: "by_id_age".into(), columns: vec!["id".into(), "age".into()], unique: true },
        ];
        let out = rule.reshape_schema(&schema).expect("a reshape rule reshapes the schema");
        assert_eq!(out.table, "people");
        let cols: Vec<_> = out.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect();
        assert_eq!(cols, [("person_id", LogicalType::Int64), ("age", LogicalType::Int64)]);
        assert_eq!(out.primary_key, ["person_id"]);
        assert_eq!(out.indexes.len(), 1, "the index on a dropped column goes");
        assert_eq!(out.indexes[0].columns, ["person_id", "age"]);
    }

    #[test]
    fn the_unmapped_message_counts_and_lists() {
        assert!(unmapped_message("hash field", &[b"a"])
            .starts_with(r#"1 hash field "a" is not mapped to any column (map it,"#));
        assert!(unmapped_message("hash field", &[b"a", b"b"]).starts_with(r#"2 hash fields "a", "b" are not mapped"#));
    }
}
