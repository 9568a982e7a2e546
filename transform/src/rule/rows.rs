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
    fn field_index(&self, name: &[u8]) -> Option<usize> {
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
