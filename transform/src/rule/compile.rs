//! Compiling a `[[rule]]` of the spec into a [`Rule`]: its matcher, sources,
//! columns and outputs, with errors naming the rule and field at fault.

use super::*;

impl Rule {
    /// Compiles one rule (`index` is its position, for the default name).
    pub fn compile(index: usize, spec: &RuleSpec, tables: &[TableSchema]) -> Result<Rule, SpecError> {
        let name = spec.name.clone().unwrap_or_else(|| {
            spec.to_table.clone().or(spec.to_key.clone()).unwrap_or_else(|| format!("rule {}", index + 1))
        });
        let n = name.as_str();
        let matcher = match (&spec.key_match, &spec.match_table) {
            (Some(p), None) => {
                let pattern = Pattern::parse(p).map_err(|e| spec_err(n, e))?;
                let ty = spec.redis_type.as_deref().map(|t| parse_redis_type(n, "type", t)).transpose()?;
                Matcher::Key { pattern, ty, db: spec.db }
            }
            (None, Some(t)) => {
                if spec.redis_type.is_some() || spec.db.is_some() {
                    return Err(spec_err(n, "type and db filter Redis keys; match_table takes rows"));
                }
                Matcher::Table(t.clone())
            }
            (Some(_), Some(_)) => return Err(spec_err(n, "give match (Redis keys) or match_table (rows), not both")),
            (None, None) => {
                return Err(spec_err(n, "says nothing to match: give match = \"key:{id}\" or match_table = \"t\""))
            }
        };
        let outputs = [spec.drop, spec.to_table.is_some(), spec.to_key.is_some()].iter().filter(|b| **b).count();
        if outputs != 1 {
            return Err(spec_err(n, "needs exactly one of to_table = \"t\", to_key = \"template\" or drop = true"));
        }
        let json_style = match spec.json_style.as_deref() {
            None | Some("compact") => JsonStyle::Compact,
            Some("python") => JsonStyle::Python,
            Some("python_compact") => JsonStyle::PythonCompact,
            Some("javascript") => JsonStyle::JavaScript,
            Some(o) => {
                return Err(spec_err(
                    n,
                    format!("json_style = {o:?}: expected compact, javascript, python or python_compact"),
                ))
            }
        };
        let mut rule = Rule {
            name: name.clone(),
            matcher,
            filter: Vec::new(),
            explode: spec.explode,
            fields: Vec::new(),
            json_sources: Vec::new(),
            json_copied: Vec::new(),
            extra: Extra::Error,
            ignored: spec.ignore_fields.iter().map(|f| f.as_bytes().to_vec()).collect(),
            json_style,
            reads_hash: false,
            row_captures: Vec::new(),
            row_capture_slots: Vec::new(),
            out: Out::Drop,
        };
        rule.extra = match (spec.extra_fields.as_deref(), &spec.extra_into) {
            (_, Some(_)) if spec.extra_fields.as_deref().is_some_and(|e| e != "into") => {
                return Err(spec_err(n, "extra_into collects extra fields; drop extra_fields or set it to \"into\""))
            }
            (_, Some(_)) => Extra::Into,
            (None | Some("error"), None) => Extra::Error,
            (Some("ignore"), None) => Extra::Ignore,
            (Some("keep"), None) => Extra::Keep,
            (Some(o), None) => {
                return Err(spec_err(
                    n,
                    format!("extra_fields = {o:?}: expected error, ignore or keep (or extra_into)"),
                ))
            }
        };
        if spec.explode {
            match &rule.matcher {
                Matcher::Key { ty: Some(RedisType::String), .. } => {
                    return Err(spec_err(
                        n,
                        "explode needs an aggregate type (hash, list, set, zset, stream), not string",
                    ))
                }
                Matcher::Key { ty: Some(_), .. } => {}
                Matcher::Key { ty: None, .. } => {
                    return Err(spec_err(n, "explode needs type = \"list\" (or hash, set, zset, stream)"))
                }
                Matcher::Table(_) => return Err(spec_err(n, "explode applies to Redis keys, not rows")),
            }
        }
        for (k, v) in &spec.filter {
            let src = rule.source(k, false)?;
            let text = match toml_to_value(v) {
                Value::String(s) => s.into_bytes(),
                Value::Int(i) => i.to_string().into_bytes(),
                Value::Bool(b) => b.to_string().into_bytes(),
                Value::Float(f) => cast::float_text(f).into_bytes(),
                _ => return Err(spec_err(n, format!("where {k:?}: compare with a string, number or bool"))),
            };
            rule.filter.push((src, Want::Text(text)));
        }
        for (k, p) in &spec.where_match {
            let src = rule.source(k, false)?;
            let pattern = Pattern::parse(p).map_err(|e| spec_err(n, format!("where_match {k:?}: {e}")))?;
            // A row rule's patterns capture: an item's `pk = "USER#{id}"` gives
            // `{id}` back as a column source (items → rows).
            if matches!(rule.matcher, Matcher::Table(_)) && !pattern.names().is_empty() {
                let mut slots = Vec::with_capacity(pattern.names().len());
                for name in pattern.names() {
                    if rule.row_captures.contains(name) {
                        return Err(spec_err(
                            n,
                            format!(
                                "where_match {k:?}: capture {{{name}}} is also captured by another where_match pattern"
                            ),
                        ));
                    }
                    rule.row_captures.push(name.clone());
                    slots.push(rule.row_captures.len() - 1);
                }
                rule.row_capture_slots.push((rule.filter.len(), slots));
            }
            rule.filter.push((src, Want::Matches(Box::new(pattern))));
        }
        for (names, want) in [(&spec.where_null, Want::Null), (&spec.where_not_null, Want::NotNull)] {
            for k in names {
                let src = rule.source(k, false)?;
                rule.filter.push((src, want.clone()));
            }
        }

        let reshape_keys = !spec.rename.is_empty() || !spec.drop_columns.is_empty() || !spec.casts.is_empty();
        if spec.drop {
            if !spec.columns.is_empty() || reshape_keys {
                return Err(spec_err(n, "drop = true takes no columns"));
            }
            return Ok(rule);
        }
        if let Some(table) = &spec.to_table {
            for k in [
                "to_type",
                "to_db",
                "ttl_from",
                "value",
                "member",
                "score",
                "null",
                "fold",
                "order_by",
                "entry_id",
                "fields_from",
            ] {
                let set = match k {
                    "fields_from" => spec.fields_from.is_some(),
                    "fold" => spec.fold,
                    "order_by" => spec.order_by.is_some(),
                    "entry_id" => spec.entry_id.is_some(),
                    "to_type" => spec.to_type.is_some(),
                    "to_db" => spec.to_db.is_some(),
                    "ttl_from" => spec.ttl_from.is_some(),
                    "value" => spec.value.is_some(),
                    "member" => spec.member.is_some(),
                    "score" => spec.score.is_some(),
                    _ => spec.null.is_some(),
                };
                if set {
                    return Err(spec_err(n, format!("{k} is for to_key rules; this one writes rows (to_table)")));
                }
            }
            let declared = tables.iter().find(|t| &t.table == table);
            if spec.columns.is_empty() {
                if !matches!(rule.matcher, Matcher::Table(_)) {
                    return Err(spec_err(n, "lists no columns: say which column each field goes to"));
                }
                rule.out = Out::Reshape {
                    table: table.clone(),
                    rename: spec.rename.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
                    drop: spec.drop_columns.clone(),
                    casts: spec
                        .casts
                        .iter()
                        .map(|(c, t)| {
                            Cast::parse(t).map(|k| (c.clone(), k)).ok_or_else(|| {
                                spec_err(n, format!("casts.{c} = {t:?}: unknown cast (known: {})", Cast::NAMES))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                };
                if rule.extra == Extra::Into {
                    return Err(spec_err(n, "extra_into needs a column list"));
                }
                return Ok(rule);
            }
            if reshape_keys {
                return Err(spec_err(
                    n,
                    "rename / drop_columns / casts reshape all columns; with a column list, say it there",
                ));
            }
            let mut cols = Vec::with_capacity(spec.columns.len());
            for c in &spec.columns {
                let decl = match declared {
                    Some(t) => Some(t.column(&c.name).ok_or_else(|| {
                        spec_err(n, format!("column {:?} is not declared in [[schema]] table {table:?}", c.name))
                    })?),
                    None => None,
                };
                cols.push(rule.column(
                    c,
                    decl.map(|d| Declared {
                        ty: d.ty,
                        not_null: !d.nullable && d.default.is_none() && !d.auto_increment,
                        precision: d.precision,
                        scale: d.scale,
                    }),
                )?);
            }
            if let Some(into) = &spec.extra_into {
                if cols.iter().any(|c| &c.name == into) {
                    return Err(spec_err(n, format!("extra_into {into:?} is also a listed column")));
                }
            }
            let mut names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).chain(spec.extra_into.as_deref()).collect();
            names.sort_unstable();
            if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
                return Err(spec_err(n, format!("column {:?} listed twice", w[0])));
            }
            if let Some(t) = declared {
                for c in &t.columns {
                    let produced = names.binary_search(&c.name.as_str()).is_ok();
                    if !produced && !c.nullable && c.default.is_none() && c.default_expr.is_none() && !c.auto_increment
                    {
                        return Err(spec_err(
                            n,
                            format!("table {table:?} column {:?} is NOT NULL without a default, and no column of this rule fills it", c.name),
                        ));
                    }
                }
                if let Some(into) = &spec.extra_into {
                    if t.column(into).is_none() {
                        return Err(spec_err(n, format!("extra_into {into:?} is not declared in table {table:?}")));
                    }
                }
            }
            rule.json_copied = rule.json_sources.iter().map(|s| cols.iter().any(|c| c.copies(s))).collect();
            rule.out = Out::Rows {
                table: table.clone(),
                cols,
                extra_into: spec.extra_into.clone(),
                prefix: row_prefix(table),
            };
            return Ok(rule);
        }
        // to_key
        let template_text = spec.to_key.as_deref().unwrap_or_default();
        if !matches!(rule.matcher, Matcher::Table(_)) {
            return Err(spec_err(
                n,
                "to_key builds Redis keys from rows: use match_table (Redis → Redis copies need no transform)",
            ));
        }
        if reshape_keys || rule.extra == Extra::Into || rule.extra == Extra::Keep {
            return Err(spec_err(
                n,
                "rename / drop_columns / casts / extra_into / extra_fields = \"keep\" are for rows",
            ));
        }
        let template = Template::parse(template_text).map_err(|e| spec_err(n, e))?;
        let template_slots = template.columns().map(|c| Some(rule.field_slot(c))).collect();
        let ty = parse_redis_type(n, "to_type", spec.to_type.as_deref().unwrap_or("hash"))?;
        let null_as_empty = match spec.null.as_deref() {
            None | Some("omit") => false,
            Some("empty") => true,
            Some(o) => return Err(spec_err(n, format!("null = {o:?}: expected omit or empty"))),
        };
        let simple = |rule: &mut Rule, what: &str, col: &Option<ValueSpec>| -> Result<Option<Col>, SpecError> {
            col.as_ref()
                .map(|c| {
                    let spec = match c {
                        ValueSpec::Column(c) => {
                            ColumnSpec { name: what.to_owned(), from: Some(c.clone()), ..ColumnSpec::default() }
                        }
                        ValueSpec::Spec(c) => ColumnSpec { name: what.to_owned(), ..(**c).clone() },
                    };
                    rule.column(&spec, None)
                })
                .transpose()
        };
        let (mut value, mut score, mut field, mut entry_id, mut fields_from) = (None, None, None, None, None);
        if spec.fields_from.is_some() && (ty != RedisType::Hash || spec.field.is_some()) {
            return Err(spec_err(n, "fields_from makes a hash's fields of a JSON object column: it needs to_type = \"hash\" (without field / value)"));
        }
        if spec.field.is_some() && ty != RedisType::Hash {
            return Err(spec_err(n, "field is for hash keys"));
        }
        let mut cols = Vec::new();
        match ty {
            RedisType::Module => {
                return Err(spec_err(
                    n,
                    "to_type = \"module\": a module key's value is an opaque payload, rows cannot make one",
                ))
            }
            RedisType::Hash if spec.field.is_some() || spec.value.is_some() => {
                if !spec.columns.is_empty() || spec.field.is_none() || spec.value.is_none() {
                    return Err(spec_err(
                        n,
                        "a hash takes columns = [{ name = \"field\", from = \"column\" }, …], or field = \"column\" and value = \"column\" for one field per row",
                    ));
                }
                field = simple(&mut rule, "field", &spec.field)?;
                value = simple(&mut rule, "value", &spec.value)?;
            }
            RedisType::Hash => {
                if spec.columns.is_empty() && spec.fields_from.is_none() {
                    return Err(spec_err(
                        n,
                        "to_type = \"hash\" needs columns = [{ name = \"field\", from = \"column\" }, …] or fields_from = \"json_column\"",
                    ));
                }
                fields_from = simple(&mut rule, "fields_from", &spec.fields_from.clone().map(ValueSpec::Column))?;
                if spec.value.is_some() || spec.member.is_some() || spec.score.is_some() {
                    return Err(spec_err(n, "value / member / score are for string, list, set and zset keys"));
                }
                cols = key_columns(&mut rule, &spec.columns, null_as_empty, "field")?;
            }
            RedisType::List | RedisType::Set if !spec.columns.is_empty() => {
                // Each element is a JSON object of the columns (json_style).
                if spec.value.is_some() || spec.member.is_some() || spec.score.is_some() {
                    return Err(spec_err(
                        n,
                        format!("a {ty} element is either value / member = \"column\" or a JSON object of columns, not both"),
                    ));
                }
                cols = key_columns(&mut rule, &spec.columns, null_as_empty, "member")?;
            }
            RedisType::String | RedisType::List | RedisType::Set | RedisType::ZSet => {
                if !spec.columns.is_empty() {
                    return Err(spec_err(
                        n,
                        format!("columns are hash fields (or a list's JSON elements); a {ty} key takes value / member / score"),
                    ));
                }
                let (v, what) = match ty {
                    RedisType::String | RedisType::List => (&spec.value, "value"),
                    _ => (&spec.member, "member"),
                };
                if v.is_none() {
                    return Err(spec_err(n, format!("to_type = \"{ty}\" needs {what} = \"column\"")));
                }
                value = simple(&mut rule, what, v)?;
                if ty == RedisType::ZSet {
                    if spec.score.is_none() {
                        return Err(spec_err(n, "to_type = \"zset\" needs score = \"column\""));
                    }
                    score = simple(&mut rule, "score", &spec.score)?;
                } else if spec.score.is_some() {
                    return Err(spec_err(n, "score is for zset keys"));
                }
            }
            RedisType::Stream => {
                if spec.entry_id.is_none() || spec.columns.is_empty() {
                    return Err(spec_err(
                        n,
                        "to_type = \"stream\" needs entry_id = \"column\" and columns = [{ name = \"field\", from = \"column\" }, …]",
                    ));
                }
                if spec.value.is_some() || spec.member.is_some() || spec.score.is_some() {
                    return Err(spec_err(n, "value / member / score are for string, list, set and zset keys"));
                }
                entry_id = simple(&mut rule, "entry_id", &spec.entry_id)?;
                cols = key_columns(&mut rule, &spec.columns, null_as_empty, "field")?;
            }
        }
        if spec.entry_id.is_some() && ty != RedisType::Stream {
            return Err(spec_err(n, "entry_id is for stream keys"));
        }
        let fold = match (spec.fold, &spec.order_by) {
            (false, Some(_)) => return Err(spec_err(n, "order_by orders the rows of a folded key: set fold = true")),
            (false, None) => None,
            (true, _) if ty == RedisType::String => {
                return Err(spec_err(n, "fold makes one key of many rows; a string key holds one value"))
            }
            (true, _) if ty == RedisType::Hash && field.is_none() => {
                return Err(spec_err(
                    n,
                    "fold on a hash needs one field per row: field = \"column\" and value = \"column\"",
                ))
            }
            (true, order) => Some(Fold { order_by: order.as_ref().map(|c| (c.clone(), rule.field_slot(c))) }),
        };
        let ttl = spec.ttl_from.as_ref().map(|c| rule.field_slot(c));
        rule.out = Out::Keys {
            template,
            template_slots,
            ty,
            db: spec.to_db.unwrap_or(0),
            cols,
            field,
            fields_from,
            value,
            score,
            entry_id,
            ttl,
            fold,
        };
        Ok(rule)
    }

    pub(super) fn field_slot(&mut self, name: &str) -> usize {
        let b = name.as_bytes();
        match self.fields.iter().position(|f| f == b) {
            Some(i) => i,
            None => {
                self.fields.push(b.to_vec());
                self.fields.len() - 1
            }
        }
    }

    /// Parses a source reference, checking it makes sense for this rule.
    pub(super) fn source(&mut self, from: &str, for_column: bool) -> Result<Src, SpecError> {
        let n = self.name.clone();
        let bad = |msg: String| Err(spec_err(&n, msg));
        let (key_ty, is_key) = match &self.matcher {
            Matcher::Key { ty, .. } => (*ty, true),
            Matcher::Table(_) => (None, false),
        };
        let explode = self.explode;
        if let Some(inner) = from.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            return match &self.matcher {
                Matcher::Key { pattern, .. } => match pattern.slot(inner) {
                    Some(i) => Ok(Src::Capture(i)),
                    None => bad(format!(
                        "{from:?}: pattern {:?} has no capture {{{inner}}} (has: {})",
                        pattern.as_str(),
                        pattern.names().iter().map(|s| format!("{{{s}}}")).collect::<Vec<_>>().join(" ")
                    )),
                },
                Matcher::Table(_) => match self.row_captures.iter().position(|c| c == inner) {
                    Some(i) => Ok(Src::RowCapture(i)),
                    None if self.row_captures.is_empty() => bad(format!(
                        "{from:?}: captures come from key patterns, or from where_match patterns of columns (where_match = {{ pk = \"USER#{{{inner}}}\" }})"
                    )),
                    None => bad(format!(
                        "{from:?}: no where_match pattern captures {{{inner}}} (they capture: {})",
                        self.row_captures.iter().map(|s| format!("{{{s}}}")).collect::<Vec<_>>().join(" ")
                    )),
                },
            };
        }
        if let Some(meta) = from.strip_prefix('$') {
            let ok_key_only =
                |s: Src| if is_key { Ok(s) } else { bad(format!("{from:?} is Redis key metadata; rows have columns")) };
            return match meta {
                "key" => ok_key_only(Src::Key),
                "db" => ok_key_only(Src::Db),
                "type" => ok_key_only(Src::Type),
                "expire_at_ms" => ok_key_only(Src::ExpireAtMs),
                "table" if !is_key => Ok(Src::Table),
                "hash" if is_key && key_ty == Some(RedisType::Hash) && !explode => {
                    self.reads_hash = true;
                    Ok(Src::Hash)
                }
                "value" | "member" if is_key => match (key_ty, explode) {
                    (Some(RedisType::Stream), true) => bad(format!("{from:?}: stream entries have fields and $id")),
                    (Some(RedisType::Hash), false) => {
                        bad(format!("{from:?}: a hash has fields (or set explode = true)"))
                    }
                    _ => Ok(Src::Value),
                },
                "index" if explode => Ok(Src::Index),
                "score" if explode && key_ty == Some(RedisType::ZSet) => Ok(Src::Score),
                "field" if explode && key_ty == Some(RedisType::Hash) => Ok(Src::FieldName),
                "id" if explode && key_ty == Some(RedisType::Stream) => Ok(Src::EntryId),
                _ => bad(format!(
                    "{from:?} is not a source here (sources: {})",
                    if is_key {
                        "\"{capture}\", hash/entry field names, $key, $db, $type, $expire_at_ms, $value, $hash (a hash key without explode); with explode: $index, $score (zset), $field (hash), $id (stream)"
                    } else {
                        "column names, $table"
                    }
                )),
            };
        }
        if from.is_empty() {
            return bad("empty source name".into());
        }
        if is_key {
            let fields_ok = matches!(
                (key_ty, explode),
                (Some(RedisType::Hash), false) | (None, false) | (Some(RedisType::Stream), true)
            );
            if !fields_ok {
                let what = if for_column { "column source" } else { "where" };
                return bad(format!(
                    "{what} {from:?} names a field, but {} has none: use \"$value\"{}",
                    match (key_ty, explode) {
                        (Some(t), true) => format!("an exploded {t} element"),
                        (Some(t), false) => format!("a {t} key"),
                        (None, _) => "this key".into(),
                    },
                    if key_ty == Some(RedisType::Hash) { ", \"$field\"" } else { "" }
                ));
            }
        }
        Ok(Src::Field(self.field_slot(from)))
    }

    /// Compiles a column template; a name that is a capture of the key
    /// pattern is the capture, any other is a source as `from` names it.
    pub(super) fn template_source(&mut self, text: &str) -> Result<Src, SpecError> {
        let pieces = text_template::parse(text).map_err(|e| SpecError(e.0))?;
        let mut out = Vec::with_capacity(pieces.len());
        for p in pieces {
            out.push(match p {
                text_template::Piece::Literal(l) => TemplateSrc::Literal(l),
                text_template::Piece::Source { name, format } => {
                    let src = match &self.matcher {
                        Matcher::Key { pattern, .. } => pattern.slot(&name).map(Src::Capture),
                        Matcher::Table(_) => self.row_captures.iter().position(|c| *c == name).map(Src::RowCapture),
                    };
                    let src = match src {
                        Some(s) => s,
                        None => self.source(&name, true)?,
                    };
                    if let Some(width) = format.as_deref().and_then(crate::pattern::zero_pad_width) {
                        out.push(TemplateSrc::Padded(src, width));
                        continue;
                    }
                    let opts = match format {
                        None => None,
                        Some(f) => {
                            let (pattern, input) = f.split_once('|').map_or((f.as_str(), None), |(p, i)| (p, Some(i)));
                            let time_input = match input {
                                None => TimeInput::Iso,
                                Some(i) => parse_time_input(i).ok_or_else(|| {
                                    SpecError(format!(
                                        "template {text:?}: {{{name}|{f}}}: after the second '|' give iso, epoch_s, epoch_ms or epoch_us"
                                    ))
                                })?,
                            };
                            Some(CastOptions {
                                time_pattern: Some(TimePattern::parse(pattern).map_err(SpecError)?),
                                time_input,
                                ..CastOptions::default()
                            })
                        }
                    };
                    TemplateSrc::Source(src, opts)
                }
            });
        }
        Ok(Src::Template(out))
    }

    pub(super) fn column(&mut self, c: &ColumnSpec, declared: Option<Declared>) -> Result<Col, SpecError> {
        let n = self.name.clone();
        let err = |msg: String| spec_err(&n, format!("column {:?}: {msg}", c.name));
        if c.name.is_empty() {
            return Err(spec_err(&n, "a column has an empty name"));
        }
        let given = [c.from.is_some(), c.constant.is_some(), c.template.is_some(), c.coalesce.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(err("give one of from, const, template or coalesce".into()));
        }
        let src = match (&c.from, &c.constant, &c.template, &c.coalesce) {
            (None, Some(k), _, _) => Src::Const(toml_to_value(k)),
            (Some(f), ..) => self.source(f, true)?,
            (_, _, Some(t), _) => self.template_source(t).map_err(|e| err(e.0))?,
            (_, _, _, Some(list)) => {
                if list.len() < 2 {
                    return Err(err("coalesce takes two or more sources (one is from = …)".into()));
                }
                Src::Coalesce(list.iter().map(|f| self.source(f, true)).collect::<Result<_, _>>()?)
            }
            (None, None, None, None) => self.source(&c.name, true).map_err(|e| {
                SpecError(format!("{e} (column {:?} has no from, so it reads the field of the same name)", c.name))
            })?,
        };
        let cast = match &c.cast {
            Some(name) => {
                Cast::parse(name).ok_or_else(|| err(format!("unknown cast {name:?} (known: {})", Cast::NAMES)))?
            }
            None => match declared {
                Some(d) => Cast::for_type(d.ty),
                None if c.format.as_deref().is_some_and(|f| f.contains('%') || f.starts_with("json")) => Cast::String,
                None if c.template.is_some() => Cast::String,
                None => Cast::Auto,
            },
        };
        let mut opts = CastOptions { json_style: self.json_style, ..CastOptions::default() };
        if let Some(f) = &c.format {
            match cast {
                Cast::Datetime | Cast::Timestamp | Cast::EpochS | Cast::EpochMs => {
                    opts.time_input = parse_time_input(f).ok_or_else(|| {
                        err(format!("format = {f:?}: a {} cast reads iso, epoch_s, epoch_ms or epoch_us", cast.name()))
                    })?
                }
                Cast::String => match f.as_str() {
                    "json" => opts.json_style = JsonStyle::Compact,
                    "json_javascript" => opts.json_style = JsonStyle::JavaScript,
                    "json_python" => opts.json_style = JsonStyle::Python,
                    p => {
                        let (pattern, input) = match p.split_once('|') {
                            Some((pat, inp)) => (pat, Some(inp)),
                            None => (p, None),
                        };
                        opts.time_pattern = Some(TimePattern::parse(pattern).map_err(err)?);
                        if let Some(inp) = input {
                            opts.time_input = parse_time_input(inp).ok_or_else(|| {
                                err(format!("format {f:?}: after '|' give iso, epoch_s, epoch_ms or epoch_us"))
                            })?;
                        }
                    }
                },
                _ => {
                    return Err(err(format!(
                        "format applies to datetime, timestamp and string casts, not {}",
                        cast.name()
                    )))
                }
            }
        }
        let round = match c.round.as_deref() {
            None => None,
            Some(r) => {
                Some(Rounding::parse(r).ok_or_else(|| err(format!("round = {r:?}: expected {}", Rounding::NAMES)))?)
            }
        };
        match cast {
            Cast::Decimal => {
                if c.precision.is_some() {
                    return Err(err("a decimal column has a scale (fraction digits), not a precision".into()));
                }
                match c.scale.or(declared.and_then(|d| d.scale)) {
                    Some(scale) => opts.decimal_scale = Some((scale, round)),
                    None if round.is_some() => {
                        return Err(err(
                            "round needs the column's scale: declare it in [[schema]] or give scale = N".into()
                        ))
                    }
                    None => {}
                }
            }
            Cast::Datetime | Cast::Timestamp | Cast::EpochS | Cast::EpochMs => {
                if c.scale.is_some() {
                    return Err(err("a date-time column has a precision (fraction digits), not a scale".into()));
                }
                let digits = match cast {
                    Cast::EpochS => Some(0),
                    Cast::EpochMs => Some(3),
                    _ => c.precision.map(u32::from).or(declared.and_then(|d| d.precision)).map(|p| p.min(9) as u8),
                };
                match digits {
                    Some(d) => opts.time_digits = Some((d, round)),
                    None if round.is_some() => {
                        return Err(err(
                            "round needs the column's precision: declare it in [[schema]] or give precision = N".into(),
                        ))
                    }
                    None => {}
                }
            }
            _ if round.is_some() || c.precision.is_some() || c.scale.is_some() => {
                return Err(err(format!(
                    "round / precision / scale apply to decimal and date-time casts, not {}",
                    cast.name()
                )))
            }
            _ => {}
        }
        let path = match &c.path {
            None => None,
            Some(p) => {
                if matches!(src, Src::Const(_)) {
                    return Err(err("path needs a source, not a const".into()));
                }
                let segs: Vec<String> = p.split('.').map(str::to_owned).collect();
                if segs.iter().any(|s| s.is_empty()) {
                    return Err(err(format!("path {p:?} has an empty segment")));
                }
                let i = match self.json_sources.iter().position(|s| *s == src) {
                    Some(i) => i,
                    None => {
                        self.json_sources.push(src.clone());
                        self.json_sources.len() - 1
                    }
                };
                Some((i, segs))
            }
        };
        let empty = match c.empty.as_deref() {
            None => {
                if matches!(cast, Cast::Auto | Cast::String | Cast::Bytes) {
                    Empty::Keep
                } else {
                    Empty::Null
                }
            }
            Some("null") => Empty::Null,
            Some("keep") => Empty::Keep,
            Some("default") => {
                if c.default.is_none() {
                    return Err(err("empty = \"default\" needs a default".into()));
                }
                Empty::Default
            }
            Some("error") => Empty::Error,
            Some(o) => return Err(err(format!("empty = {o:?}: expected null, keep, default or error"))),
        };
        if c.null.is_some() && !matches!(self.matcher, Matcher::Table(_)) {
            return Err(err("null = … is for fields of output keys".into()));
        }
        Ok(Col {
            name: c.name.clone(),
            name_json: json_key(&c.name),
            src,
            path,
            cast,
            opts,
            default: c.default.as_ref().map(toml_to_value),
            required: c.required,
            empty,
            not_null: declared.is_some_and(|d| d.not_null),
            null_as_empty: false,
            json_order: c.json_order.clone().unwrap_or_default(),
        })
    }
}

/// Compiles the columns of a to_key rule (hash or stream fields, or the
/// members of a list's JSON elements), checking names are distinct.
fn key_columns(rule: &mut Rule, specs: &[ColumnSpec], null_as_empty: bool, what: &str) -> Result<Vec<Col>, SpecError> {
    let n = rule.name.clone();
    let mut cols = Vec::with_capacity(specs.len());
    for c in specs {
        let mut col = rule.column(c, None)?;
        col.null_as_empty = match c.null.as_deref() {
            None => null_as_empty,
            Some("omit") => false,
            Some("empty") => true,
            Some(o) => return Err(spec_err(&n, format!("column {:?}: null = {o:?}: expected omit or empty", c.name))),
        };
        cols.push(col);
    }
    let mut names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(spec_err(&n, format!("{what} {:?} listed twice", w[0])));
    }
    Ok(cols)
}

fn spec_err(rule: &str, msg: impl fmt::Display) -> SpecError {
    SpecError(format!("rule {rule:?}: {msg}"))
}

fn parse_redis_type(rule: &str, what: &str, name: &str) -> Result<RedisType, SpecError> {
    RedisType::parse(name).ok_or_else(|| {
        spec_err(rule, format!("{what} = {name:?} is not a Redis type (string, hash, list, set, zset, stream)"))
    })
}

fn parse_time_input(f: &str) -> Option<TimeInput> {
    Some(match f {
        "iso" => TimeInput::Iso,
        "epoch_s" => TimeInput::EpochS,
        "epoch_ms" => TimeInput::EpochMs,
        "epoch_us" => TimeInput::EpochUs,
        _ => return None,
    })
}
