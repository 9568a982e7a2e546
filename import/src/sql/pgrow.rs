//! pg-import's hot path: a `row` line decoded straight into the row's
//! binary COPY form, with no [`Value`] and no [`Cell`] per value for the
//! common column kinds (integers, numerics, text, date-times, booleans,
//! JSON as it stands in the line, NULL).
//!
//! Exactness: each value is converted exactly as `encode_owned` and
//! `pg_binary` convert it (the same checks, called on the borrowed text),
//! and whatever has another shape here — a tagged value, a float, a string
//! for an integer column, a kind without a fast form — goes through `Value`,
//! `encode_owned` and `pg_binary` themselves. A value either of them would
//! refuse (a conversion error, a cell binary COPY cannot take) declines the
//! whole line: the cell path then handles it as before (an error naming
//! line and column, or the batch going as COPY text). The property test
//! below holds the two paths to the same bytes.
//!
//! The cells of the key columns (the columns rows are spread over the
//! connections by, and the primary key whose order is watched) are made as
//! ever, for the decoding thread's routing, and only those: a binary row's
//! cells are its key columns' (their columns listed apart, in `cell_cols`),
//! so a batch with binary rows never hands its cells on (the database
//! thread converts a row again from its line when it needs it).

use std::borrow::Cow;

use decant_record::rowview::{small_int, Declined, Members, NextName, PlainName, Token};
use decant_record::Value;

use super::cell::{
    check_fraction_within, decimal_fits, encode_owned, fraction_limit, is_date_shape, json_text_is_verbatim,
    json_verbatim_len, zoned_suffix, Cell, EncodeOptions, IntText,
};
use super::fastrow::{self, json_cell, ColumnCursor, RowSink, TableNumbers};
use super::pg_binary::{civil_days, end_field, micros, numeric, put_cell, BinType};
use super::typemap::{Dialect, Kind};
use super::TablePlan;

/// Per table: how its rows go to binary COPY rows here.
#[derive(Debug, Clone)]
pub(crate) struct BinPlan {
    /// Each column's binary form (`None`: a line carrying it is declined).
    pub types: Vec<Option<BinType>>,
    /// The columns whose cells are made for the decoding thread.
    pub keys: Vec<bool>,
    /// Each column's `fraction_limit` (PostgreSQL), read from its type once
    /// rather than for every date-time value.
    pub fractions: Vec<Option<u32>>,
    /// Each column's name, where a line writes it as itself (between
    /// quotes): recognised by its bytes when it comes in its place.
    pub names: Vec<Option<PlainName>>,
}

impl BinPlan {
    /// The plan of a table whose rows `pg-import` writes with binary COPY;
    /// `key_cols`: the columns the decoding thread reads the cells of.
    pub(crate) fn new(plan: &TablePlan, key_cols: &[usize]) -> BinPlan {
        let types = plan.columns.iter().map(|c| BinType::of(&c.sql_type)).collect();
        let keys = (0..plan.columns.len()).map(|i| key_cols.contains(&i)).collect();
        let fractions = plan.columns.iter().map(|c| fraction_limit(Dialect::Postgres, &c.sql_type)).collect();
        let names = plan.columns.iter().map(|c| PlainName::new(&c.name)).collect();
        BinPlan { types, keys, fractions, names }
    }
}

/// Decodes `line` into one binary COPY row appended to `out` (field count,
/// then each field), its columns' numbers into `cols` and the cells of its
/// key columns into `cells` (their columns' numbers into `cell_cols`); the
/// table's number, or `None` — with `out`, `cols`, `cell_cols` and `cells`
/// as they were — when the line is for the cell path.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_row(
    line: &[u8],
    plans: &[Option<TablePlan>],
    plan_of: &mut TableNumbers,
    bin: &[Option<BinPlan>],
    enc: &EncodeOptions,
    cols: &mut Vec<usize>,
    cell_cols: &mut Vec<usize>,
    cells: &mut Vec<Cell>,
    out: &mut Vec<u8>,
    digits: &mut Vec<i16>,
) -> Option<usize> {
    debug_assert_eq!(enc.dialect, Dialect::Postgres);
    let (cells_at, out_at) = (cells.len(), out.len());
    cols.clear();
    cell_cols.clear();
    let mut sink =
        BinRow { bin, enc, cols: &mut *cols, cell_cols: &mut *cell_cols, cells: &mut *cells, out: &mut *out, digits };
    match fastrow::decode_line(line, plans, plan_of, &mut sink) {
        Some(t) => Some(t),
        None => {
            cells.truncate(cells_at);
            out.truncate(out_at);
            cols.clear();
            cell_cols.clear();
            None
        }
    }
}

struct BinRow<'a> {
    bin: &'a [Option<BinPlan>],
    enc: &'a EncodeOptions,
    cols: &'a mut Vec<usize>,
    cell_cols: &'a mut Vec<usize>,
    cells: &'a mut Vec<Cell>,
    out: &'a mut Vec<u8>,
    digits: &'a mut Vec<i16>,
}

impl RowSink for BinRow<'_> {
    fn columns<'a>(&mut self, t: usize, plan: &TablePlan, data: &mut Members<'a, '_>) -> Result<(), Declined> {
        let bin = self.bin.get(t).and_then(Option::as_ref).ok_or(Declined)?;
        let row_at = self.out.len();
        self.out.extend_from_slice(&[0, 0]); // the field count, once known
        let mut cursor = ColumnCursor::default();
        loop {
            // The columns usually come in the table's order: the next
            // one's name is checked against the line's bytes.
            let expected = bin.names.get(cursor.next_column()).and_then(Option::as_ref);
            let i = match data.next_name_expecting(expected)? {
                None => break,
                Some(NextName::Expected) => cursor.expected(self.cols)?,
                Some(NextName::Other(name)) => cursor.column(plan, &name, self.cols)?,
            };
            let ty = bin.types[i].ok_or(Declined)?;
            let col = &plan.columns[i];
            if bin.keys[i] {
                // A key column: its cell as ever, and the field from it.
                let value = data.value()?;
                let cell = match (&col.kind, value) {
                    (Kind::Json, value) => json_cell(value, plan, i, self.enc)?,
                    // encode: a decimal column's integer (Value::Int, as
                    // `small_int` reads it) is check_decimal of its
                    // digits, which are `t` itself: one String, not two.
                    (Kind::Decimal { precision, scale }, Token::Num(t))
                        if small_int(t).is_some() && decimal_fits(t, *precision, *scale).is_some() =>
                    {
                        Cell::Text(t.to_owned())
                    }
                    (_, value) => {
                        encode_owned(value.to_value()?, plan.src_of[i].as_ref(), col, self.enc).map_err(|_| Declined)?
                    }
                };
                put_cell(&cell, ty, self.out, self.digits).ok_or(Declined)?;
                self.cells.push(cell);
                self.cell_cols.push(i);
            } else if col.kind == Kind::Json {
                let verbatim =
                    if matches!(ty, BinType::Json | BinType::Jsonb) { data.verbatim(json_verbatim_len) } else { None };
                match verbatim {
                    Some(text) => {
                        // What json_cell's Cell::Text would encode to.
                        let at = self.out.len();
                        self.out.extend_from_slice(&[0; 4]);
                        if ty == BinType::Jsonb {
                            self.out.push(1); // jsonb binary format version 1
                        }
                        self.out.extend_from_slice(text.as_bytes());
                        end_field(self.out, at).ok_or(Declined)?;
                    }
                    None => {
                        let value = data.value()?;
                        let at = self.out.len();
                        if matches!(ty, BinType::Json | BinType::Jsonb) {
                            if let Token::Nested(text) = &value {
                                self.out.extend_from_slice(&[0; 4]);
                                if ty == BinType::Jsonb {
                                    self.out.push(1);
                                }
                                let start = self.out.len();
                                if int_tags_untagged(text.as_bytes(), self.out)
                                    && json_text_is_verbatim(&self.out[start..])
                                {
                                    end_field(self.out, at).ok_or(Declined)?;
                                    self.cols.push(i);
                                    continue;
                                }
                                self.out.truncate(at);
                            }
                        }
                        let cell = json_cell(value, plan, i, self.enc)?;
                        put_cell(&cell, ty, self.out, self.digits).ok_or(Declined)?;
                    }
                }
            } else {
                let at = self.out.len();
                self.out.extend_from_slice(&[0; 4]);
                let fraction = bin.fractions[i];
                let field =
                    Field { at, plan, i, ty, fraction, enc: self.enc, out: &mut *self.out, digits: &mut *self.digits };
                match field.put(data.value()?)? {
                    Put::Value => end_field(self.out, at).ok_or(Declined)?,
                    Put::Null => {
                        self.out.truncate(at);
                        self.out.extend_from_slice(&(-1i32).to_be_bytes());
                    }
                    // Written by put_cell, length and all.
                    Put::Field => {}
                }
            }
            self.cols.push(i);
        }
        let n = i16::try_from(self.cols.len()).map_err(|_| Declined)?;
        self.out[row_at..row_at + 2].copy_from_slice(&n.to_be_bytes());
        Ok(())
    }
}

/// Appends `text` (a JSON object or array) to `out` with each
/// `{"$int":"D"}` that stands as a value (after `:`, `[` or `,`, before
/// `,`, `}`, `]` or the end, outside strings) written as the number `D`
/// itself, where `D` is an integer of at most 18 digits as `small_int`
/// takes it (no sign but `-`, no leading zero): `Value` reads the tag as
/// the integer `D`, which `json_text` writes as `D`, and serde_json reads
/// the bare `D` as that same integer. So when the result is text
/// `json_text_is_verbatim` takes, it is what the `Value` path writes for
/// `text` (the tag objects swapped for values equal to theirs, everything
/// else the same bytes); the caller checks that. False when `text` has no
/// such tag (the `Value` path is no slower then).
fn int_tags_untagged(text: &[u8], out: &mut Vec<u8>) -> bool {
    const TAG: &[u8] = b"{\"$int\":\"";
    let mut found = false;
    let (mut i, mut in_string) = (0, false);
    // `text[copied..i]` is not yet written.
    let mut copied = 0;
    while i < text.len() {
        let b = text[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
        } else if b == b'{' && i > 0 && matches!(text[i - 1], b':' | b'[' | b',') && text[i..].starts_with(TAG) {
            let body_at = i + TAG.len();
            let body_len = text[body_at..].iter().position(|&c| c == b'"').unwrap_or(text.len() - body_at);
            let end = body_at + body_len;
            let digits = std::str::from_utf8(&text[body_at..end]).ok().filter(|d| small_int(d).is_some());
            let closed = text.get(end..end + 2) == Some(&b"\"}"[..]);
            let then_ok = text.get(end + 2).is_none_or(|&c| matches!(c, b',' | b'}' | b']'));
            if let (Some(d), true, true) = (digits, closed, then_ok) {
                out.extend_from_slice(&text[copied..i]);
                out.extend_from_slice(d.as_bytes());
                i = end + 2;
                copied = i;
                found = true;
                continue;
            }
        }
        i += 1;
    }
    out.extend_from_slice(&text[copied..]);
    found
}

/// What a [`Field`] wrote after the 4-byte length slot it was given.
enum Put {
    /// The value (the caller writes its length).
    Value,
    /// Nothing: the value is NULL.
    Null,
    /// A whole field in place of the slot (through `put_cell`).
    Field,
}

/// One non-key, non-JSON column's value, decoded straight into its binary
/// form after the length slot at the end of `out`.
struct Field<'a> {
    /// Where the field's length slot starts in `out`.
    at: usize,
    plan: &'a TablePlan,
    i: usize,
    ty: BinType,
    /// The column's `fraction_limit` (from [`BinPlan`]).
    fraction: Option<u32>,
    enc: &'a EncodeOptions,
    out: &'a mut Vec<u8>,
    digits: &'a mut Vec<i16>,
}

impl Field<'_> {
    /// The cell path for a value without a fast form here: `Value` →
    /// `encode_owned` → `pg_binary`, replacing the length slot.
    fn through_cell(self, value: Value) -> Result<Put, Declined> {
        let col = &self.plan.columns[self.i];
        let cell = encode_owned(value, self.plan.src_of[self.i].as_ref(), col, self.enc).map_err(|_| Declined)?;
        self.out.truncate(self.at);
        put_cell(&cell, self.ty, self.out, self.digits).ok_or(Declined)?;
        Ok(Put::Field)
    }

    /// An integer (as serde_json reads it: `Value::Int`); `text`, when
    /// given, is its decimal digits as `IntText` writes them.
    fn int(self, i: i128, text: Option<&str>) -> Result<Put, Declined> {
        let col = &self.plan.columns[self.i];
        match (&col.kind, self.ty) {
            // encode_owned: an integer in range is Cell::Int as it is.
            (Kind::Int { min, max }, BinType::Int2 | BinType::Int4 | BinType::Int8) if i >= *min && i <= *max => {
                match self.ty {
                    BinType::Int2 => self.out.extend_from_slice(&i16::try_from(i).map_err(|_| Declined)?.to_be_bytes()),
                    BinType::Int4 => self.out.extend_from_slice(&i32::try_from(i).map_err(|_| Declined)?.to_be_bytes()),
                    _ => self.out.extend_from_slice(&i64::try_from(i).map_err(|_| Declined)?.to_be_bytes()),
                }
                Ok(Put::Value)
            }
            // encode: a decimal column's integer is its digits (i.to_string()).
            (Kind::Decimal { precision, scale }, BinType::Numeric) => match text {
                Some(text) => self.decimal(text, *precision, *scale),
                None => self.decimal(IntText::new(i).as_str(), *precision, *scale),
            },
            _ => self.through_cell(Value::Int(i)),
        }
    }

    /// Decimal digits as `check_decimal` takes and `pg_binary` writes them.
    fn decimal(self, s: &str, precision: Option<u32>, scale: Option<u32>) -> Result<Put, Declined> {
        let (neg, int, frac) = decimal_fits(s, precision, scale).ok_or(Declined)?;
        let int = if int.is_empty() { "0" } else { int };
        numeric(neg, int.as_bytes(), frac.as_bytes(), self.out, self.digits).ok_or(Declined)?;
        Ok(Put::Value)
    }

    /// A JSON string (`Value::String`), borrowed.
    /// `escaped`: the string had escapes (so perhaps a NUL).
    fn string(self, s: &str, escaped: bool) -> Result<Put, Declined> {
        let col = &self.plan.columns[self.i];
        match (&col.kind, self.ty) {
            // text_cell: no NUL in PostgreSQL text.
            (Kind::Text { .. }, BinType::Text) => {
                if escaped && s.contains('\0') {
                    return Err(Declined);
                }
                self.out.extend_from_slice(s.as_bytes());
                Ok(Put::Value)
            }
            // encode: the trimmed text; NaN and the infinities as they are.
            (Kind::Decimal { precision, scale }, BinType::Numeric)
                if s.trim().len() == s.len() && !matches!(s, "NaN" | "Infinity" | "-Infinity") =>
            {
                self.decimal(s, *precision, *scale)
            }
            // datetime_cell, then pg_binary's micros.
            // check_date is not called: whatever micros takes, it takes
            // (micros_checks_what_check_date_checks).
            (Kind::Datetime, BinType::Timestamp) => {
                check_fraction_within(s, self.fraction, col).map_err(|_| Declined)?;
                if zoned_suffix(s) {
                    return Err(Declined);
                }
                let us = micros(s.as_bytes(), false).ok_or(Declined)?;
                self.out.extend_from_slice(&us.to_be_bytes());
                Ok(Put::Value)
            }
            // timestamp_cell (PostgreSQL), then micros.
            (Kind::Timestamp, BinType::Timestamptz) => {
                check_fraction_within(s, self.fraction, col).map_err(|_| Declined)?;
                let us = micros(s.as_bytes(), true).ok_or(Declined)?;
                self.out.extend_from_slice(&us.to_be_bytes());
                Ok(Put::Value)
            }
            // date_cell, then civil_days.
            (Kind::Date, BinType::Date) => {
                let b = s.as_bytes();
                // check_calendar is not called: whatever civil_days takes
                // in this shape, it takes.
                if !is_date_shape(b) {
                    return Err(Declined);
                }
                let days = i32::try_from(civil_days(b).ok_or(Declined)?).map_err(|_| Declined)?;
                self.out.extend_from_slice(&days.to_be_bytes());
                Ok(Put::Value)
            }
            _ => self.through_cell(Value::String(s.to_owned())),
        }
    }
}

impl Field<'_> {
    /// The value, as the visitor `Value`'s `Deserialize` uses visits it
    /// (its `Value` for whatever has no fast form here).
    fn put(self, value: Token) -> Result<Put, Declined> {
        match value {
            // encode: NULL into any column is NULL.
            Token::Null => Ok(Put::Null),
            Token::Bool(v) => {
                if self.plan.columns[self.i].kind == Kind::Bool && self.ty == BinType::Bool {
                    self.out.push(v as u8);
                    return Ok(Put::Value);
                }
                self.through_cell(Value::Bool(v))
            }
            // A string without escapes cannot hold a NUL (a control byte
            // in a JSON string is an error).
            Token::Str(s) => self.string(&s, matches!(s, Cow::Owned(_))),
            // An integer is Value::Int (serde_json's i64 or u64), any other
            // number Value::Float. A canonical integer of up to 18 digits
            // (read by `to_value` without serde_json): its text is what
            // `IntText` would write, so a numeric column takes the text.
            Token::Num(t) => match small_int(t) {
                Some(i) => self.int(i128::from(i), Some(t)),
                None => match value.to_value()? {
                    Value::Int(i) => self.int(i, None),
                    other => self.through_cell(other),
                },
            },
            // A tagged value ($b64 bytes, $zero_date, $int, …) or an array:
            // Value reads it.
            Token::Nested(_) => self.through_cell(value.to_value()?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::cell::ZeroDates;
    use crate::sql::front::encode_row;
    use crate::sql::pg_binary::copy_binary;
    use crate::sql::typemap::{kind_of, TargetColumn};
    use decant_record::Record;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Every column type with a binary form, and one without (interval).
    const TYPES: &[(&str, &str)] = &[
        ("id", "numeric(20,0)"),
        ("big", "bigint"),
        ("i4", "integer"),
        ("i2", "smallint"),
        ("dec", "numeric(12,4)"),
        ("num", "numeric"),
        // A bigint unsigned that is not a key (a foreign key's column).
        ("un", "numeric(20,0)"),
        ("t", "text"),
        ("vc", "character varying(10)"),
        ("b", "boolean"),
        ("ts", "timestamp(6) without time zone"),
        ("ts0", "timestamp(0) without time zone"),
        ("ts3", "timestamp(3) without time zone"),
        ("tsd", "timestamp without time zone"),
        ("tz0", "timestamp(0) with time zone"),
        ("tz", "timestamp(6) with time zone"),
        ("d", "date"),
        ("j", "json"),
        ("jb", "jsonb"),
        ("by", "bytea"),
        ("f8", "double precision"),
        ("f4", "real"),
        ("u", "uuid"),
    ];

    fn plan(with_interval: bool) -> TablePlan {
        let mut types = TYPES.to_vec();
        if with_interval {
            types.push(("iv", "interval"));
        }
        let cols = types
            .iter()
            .map(|(n, t)| TargetColumn {
                name: (*n).into(),
                sql_type: (*t).into(),
                kind: kind_of(Dialect::Postgres, t),
                nullable: true,
                identity: false,
            })
            .collect();
        TablePlan::new("t", cols, &["id".to_owned()])
    }

    fn enc() -> EncodeOptions {
        EncodeOptions { dialect: Dialect::Postgres, zero_dates: ZeroDates::Null }
    }

    /// What the cell path makes of a line: its columns, cells and binary
    /// COPY row (`None` for the row when the run would go as text); `None`
    /// when it refuses the line.
    /// A row as the cell path makes it: its columns, cells and binary row.
    type CellRow = (Vec<usize>, Vec<Cell>, Option<Vec<u8>>);

    /// The full decoder's (serde_json's `Record::decode`, then
    /// `encode_row`): the reference, read without any fast path.
    fn cell_path(line: &str, plan: &TablePlan) -> Option<CellRow> {
        let (mut cols, mut cells) = (Vec::new(), Vec::new());
        let Ok(Record::Row(row)) = Record::decode(line.as_bytes()) else { return None };
        if row.table != plan.name {
            return None;
        }
        encode_row(plan, row.data, &enc(), false, &mut cols, &mut cells).ok()?;
        let types: Option<Vec<BinType>> = cols.iter().map(|&i| BinType::of(&plan.columns[i].sql_type)).collect();
        // The row alone: without the 19-byte header and the 2-byte trailer.
        let row = types.and_then(|t| copy_binary(&t, &[&cells])).map(|b| b[19..b.len() - 2].to_vec());
        Some((cols, cells, row))
    }

    fn bin_path(line: &str, plan: &TablePlan) -> Option<(Vec<usize>, Vec<Cell>, Vec<u8>)> {
        let plans = vec![Some(plan.clone())];
        let mut plan_of = TableNumbers::from(HashMap::from([("t".to_owned(), 0)]));
        let bin = vec![Some(BinPlan::new(plan, &plan.pk))];
        let (mut cols, mut cells, mut out) = (vec![9], vec![Cell::Bool(true)], vec![7u8]);
        let mut cell_cols = vec![8];
        let t = decode_row(
            line.as_bytes(),
            &plans,
            &mut plan_of,
            &bin,
            &enc(),
            &mut cols,
            &mut cell_cols,
            &mut cells,
            &mut out,
            &mut Vec::new(),
        );
        match t {
            Some(0) => {
                // The key columns' cells, and only those.
                let keys: Vec<usize> = cols.iter().copied().filter(|i| plan.pk.contains(i)).collect();
                assert_eq!(cell_cols, keys, "{line}");
                Some((cols, cells[1..].to_vec(), out[1..].to_vec()))
            }
            Some(_) => panic!("wrong table"),
            None => {
                assert_eq!((cells, out), (vec![Cell::Bool(true)], vec![7u8]), "a declined line leaves nothing");
                assert!(cols.is_empty() && cell_cols.is_empty());
                None
            }
        }
    }

    /// The binary path takes a line only when the cell path takes it to
    /// binary COPY, and then writes the very same bytes, and the same
    /// cells for the key columns.
    fn same_or_declined(line: &str, plan: &TablePlan) -> Option<()> {
        let fast = bin_path(line, plan)?;
        let (cols, cells, row) = cell_path(line, plan).unwrap_or_else(|| panic!("cell path refuses {line}"));
        assert_eq!(fast.0, cols, "{line}");
        assert_eq!(Some(&fast.2), row.as_ref(), "{line}");
        // The key cells, in the row's order (bin_path checked their columns).
        let keys: Vec<&Cell> = cols.iter().zip(&cells).filter(|(i, _)| plan.pk.contains(i)).map(|(_, c)| c).collect();
        assert_eq!(fast.1.iter().collect::<Vec<_>>(), keys, "key cells of {line}");
        Some(())
    }

    /// JSON text of a value for column `name`, from a few shapes each.
    fn value() -> impl Strategy<Value = String> {
        let text = "[a-z\\\\\"\u{0}\n\t é😀-]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap());
        prop_oneof![
            Just("null".to_owned()),
            any::<i64>().prop_map(|i| i.to_string()),
            any::<u64>().prop_map(|i| i.to_string()),
            (-40_000i64..40_000).prop_map(|i| i.to_string()),
            Just("18446744073709551616".to_owned()),
            Just("-0".to_owned()),
            Just("1.5".to_owned()),
            Just("1e3".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            text,
            "-?[0-9]{0,10}(\\.[0-9]{0,6})?".prop_map(|s| format!("{s:?}")),
            Just("\" 12.5\"".to_owned()),
            Just("\"NaN\"".to_owned()),
            Just("\"Infinity\"".to_owned()),
            Just("\"+1.25\"".to_owned()),
            "(19|20|00|99)[0-9]{2}-[01][0-9]-[0-3][0-9]([T ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{1,7})?(Z|[+-]0[0-9]:[03]0)?)?"
                .prop_map(|s| format!("{s:?}")),
            Just("\"2024-01-17T10:42:42.811657\"".to_owned()),
            Just("\"2024-01-17T10:42:42Z\"".to_owned()),
            Just("\"2024-02-29\"".to_owned()),
            Just("\"2023-02-29\"".to_owned()),
            Just("\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"".to_owned()),
            Just(r#"{"$zero_date":"0000-00-00 00:00:00"}"#.to_owned()),
            Just(r#"{"$int":"5"}"#.to_owned()),
            Just(r#"{"$b64":"AAEC/w=="}"#.to_owned()),
            Just(r#"{"$b64":"not base64"}"#.to_owned()),
            Just(r#"{"$float":"nan"}"#.to_owned()),
            Just(r#"{"a":[1,2.5,"x"],"b":{"c":null}}"#.to_owned()),
            Just(r#"{ "a" : 1 }"#.to_owned()),
            Just("[1,\"two\",{\"$int\":\"3\"}]".to_owned()),
            Just("[]".to_owned()),
            int_tagged_json(),
            // Escapes of every kind, good and bad, in raw string bodies.
            proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "é", "\\n", "\\/", "\\\"", "\\u00e9", "\\u0000", "\\ud83d\\ude00", "\\ud83d", "\\x", "\t", "12",
                    "-", ".", "2024-01-17",
                ]),
                0..5,
            )
            .prop_map(|parts| format!("\"{}\"", parts.concat())),
            Just("1.".to_owned()),
            Just("01".to_owned()),
            Just("1e400".to_owned()),
            Just("nul".to_owned()),
            Just("[1,]".to_owned()),
            Just("{\"$b64\":\"AAEC/w==\",}".to_owned()),
        ]
    }

    /// JSON with `$int` tags among other values, well placed or not, as
    /// JSON column values (the reline payloads' shape and its near misses).
    fn int_tagged_json() -> impl Strategy<Value = String> {
        let piece = proptest::sample::select(vec![
            r#"{"$int":"9007199254741881"}"#,
            r#"{"$int":"-5"}"#,
            r#"{"$int":"0"}"#,
            r#"{"$int":"-0"}"#,
            r#"{"$int":"05"}"#,
            r#"{"$int":"+5"}"#,
            r#"{"$int":"123456789012345678"}"#,
            r#"{"$int":"1234567890123456789"}"#,
            r#"{"$int":"18446744073709551615"}"#,
            r#"{"$int":"99999999999999999999999"}"#,
            r#"{"$int":"5","x":1}"#,
            r#"{"$int":5}"#,
            r#"{"$int":"5\u0030"}"#,
            r#"{"$int":"5"#,
            r#"{"$b64":"AA=="}"#,
            r#"{"$float":"nan"}"#,
            r#"{"a":{"$int":"7"}}"#,
            r#""{\"$int\":\"5\"}""#,
            r#""{""#,
            r#""}""#,
            r#""\"""#,
            r#""$int""#,
            "true",
            "0.3532483335297092",
            "1.50",
            "12",
            "null",
            "[]",
            "{}",
            r#"{"retry":true}"#,
        ]);
        let sep = proptest::sample::select(vec![",", ",", ",", ":", "", " "]);
        let key = proptest::sample::select(vec![r#""a":"#, r#""big":"#, r#""$int":"#, "", r#""a" : "#]);
        proptest::collection::vec((key, piece, sep), 1..5).prop_flat_map(|parts| {
            proptest::bool::ANY.prop_map(move |object| {
                let body: String = parts
                    .iter()
                    .enumerate()
                    .map(|(n, (k, p, s))| {
                        let s = if n + 1 == parts.len() { "" } else { *s };
                        if object {
                            format!("{k}{p}{s}")
                        } else {
                            format!("{p}{s}")
                        }
                    })
                    .collect();
                if object {
                    format!("{{{body}}}")
                } else {
                    format!("[{body}]")
                }
            })
        })
    }

    fn line(values: &[(usize, String)], with_interval: bool) -> String {
        spaced_line(values, with_interval, "")
    }

    /// A row line with `ws` around every token.
    fn spaced_line(values: &[(usize, String)], with_interval: bool, ws: &str) -> String {
        let names: Vec<&str> = TYPES.iter().map(|(n, _)| *n).chain(with_interval.then_some("iv")).collect();
        let data: Vec<String> =
            values.iter().map(|(i, v)| format!("{:?}{ws}:{ws}{v}", names[i % names.len()])).collect();
        let data = data.join(&format!("{ws},{ws}"));
        format!(r#"{ws}{{{ws}"kind"{ws}:{ws}"row"{ws},{ws}"table":"t",{ws}"data"{ws}:{ws}{{{ws}{data}{ws}}}{ws}}}{ws}"#)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        #[test]
        fn binary_rows_are_the_cell_paths_bytes(
            values in proptest::collection::vec((0usize..40, value()), 0..8),
            with_interval in any::<bool>(),
        ) {
            let plan = plan(with_interval);
            same_or_declined(&line(&values, with_interval), &plan);
        }

        /// Whitespace anywhere the JSON grammar allows it, or none.
        #[test]
        fn spaced_rows_are_the_cell_paths_bytes(
            values in proptest::collection::vec((0usize..40, value()), 0..8),
            ws in prop_oneof![Just(""), Just(" "), Just("\t\r\n ")],
        ) {
            let plan = plan(false);
            same_or_declined(&spaced_line(&values, false, ws), &plan);
        }

        /// JSON columns with `$int` tags, placed well or not.
        #[test]
        fn int_tagged_json_is_the_cell_paths_bytes(j in int_tagged_json(), jb in int_tagged_json()) {
            let plan = plan(false);
            let values = vec![(0, "1".to_owned()), (17, j), (18, jb)];
            same_or_declined(&line(&values, false), &plan);
        }

        /// Every column in order, each with a value of its own kind.
        #[test]
        fn whole_rows_are_the_cell_paths_bytes(values in proptest::collection::vec(value(), TYPES.len())) {
            let plan = plan(false);
            let values: Vec<(usize, String)> = values.into_iter().enumerate().collect();
            same_or_declined(&line(&values, false), &plan);
        }
    }

    /// A date-time `micros` converts is one `check_date` takes, and a
    /// date `civil_days` converts one `check_calendar` takes: the binary
    /// path converts without them and declines the same values.
    fn micros_checks_what_check_date_checks(s: &str) {
        use crate::sql::cell::{check_calendar, check_date};
        for zoned in [false, true] {
            if micros(s.as_bytes(), zoned).is_some() {
                assert!(check_date(s, Dialect::Postgres).is_ok(), "{s} (zoned: {zoned})");
            }
        }
        if is_date_shape(s.as_bytes()) && civil_days(s.as_bytes()).is_some() {
            assert!(check_calendar(s, Dialect::Postgres).is_ok(), "{s}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

        #[test]
        fn date_times_micros_takes_check_date_takes(
            s in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]([T ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,7})?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?)?",
            tail in "[0-9:. TZ+-]{0,3}",
        ) {
            micros_checks_what_check_date_checks(&s);
            micros_checks_what_check_date_checks(&format!("{s}{tail}"));
            micros_checks_what_check_date_checks(&s[..s.len().min(tail.len() * 5)]);
        }
    }

    #[test]
    fn edge_dates_micros_takes_check_date_takes() {
        for s in [
            "0000-01-01",
            "0001-01-01",
            "2024-02-29",
            "2023-02-29",
            "2000-02-29",
            "1900-02-29",
            "9999-12-31",
            "2024-12-31T23:59:59.999999",
            "2024-12-31T24:00:00",
            "2024-01-01T",
            "2024-01-01T00:00",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "2024-01-01 00:00:60",
            "2024-01-01x00:00:00",
        ] {
            micros_checks_what_check_date_checks(s);
        }
    }

    /// The rows of the reline benchmark's shapes take the binary path.
    #[test]
    fn usual_rows_take_the_binary_path() {
        let plan = plan(false);
        for l in [
            r#"{"kind":"row","table":"t","data":{"id":1,"big":-5,"i4":7,"i2":-3,"dec":"61245448.3629","num":"-0.5","t":"Body 1 line1\nline2\ttab \\ 'q' \"dq\" 🚀","vc":"x","b":true,"ts":"2024-12-24T12:40:41.811657","ts0":"2024-12-24T12:40:41","tz":"2024-01-17T10:42:42Z","d":"2024-02-29","j":{"model":"m","n":[1,2]},"jb":[],"by":{"$b64":"AAEC/w=="},"f8":1.5,"f4":null,"u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}}"#,
            r#"{"kind":"row","table":"t","data":{"id":18446744073709551615,"dec":null,"ts":{"$zero_date":"0000-00-00 00:00:00"},"jb":{"a":"q\"\u00e9"}}}"#,
            r#"{"kind":"row","table":"t","data":{"b":false,"id":2,"big":9223372036854775807}}"#,
            r#"{"kind":"row","table":"t","data":{"id":2,"b\u0069g":5,"i4":7}}"#,
            r#"{"kind":"row","table":"t","data":{"id":3,"j":{"retry":true,"big":{"$int":"9007199254741881"},"f":0.3532483335297092},"jb":[{"$int":"-5"},{"a":{"$int":"0"}}]}}"#,
        ] {
            assert!(same_or_declined(l, &plan).is_some(), "declined {l}");
        }
        // Declined: the cell path has the last word (a text COPY, an error).
        for l in [
            r#"{"kind":"row","table":"t","data":{"id":1,"num":"Infinity"}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"i2":40000}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"t":"a\u0000b"}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"ts":"2024-01-17T10:42:42Z"}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"dec":"1.23456"}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"d":"2023-02-29"}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"zz":1}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"id":2}}"#,
        ] {
            assert!(bin_path(l, &plan).is_none(), "took {l}");
        }
        let with_interval = plan_with_interval();
        let l = r#"{"kind":"row","table":"t","data":{"id":1,"iv":"1 day"}}"#;
        assert!(bin_path(l, &with_interval).is_none(), "a column without a binary form: the cell path");
        assert!(cell_path(l, &with_interval).is_some());
    }

    /// The tags swapped for their integers where they stand as values.
    #[test]
    fn int_tags_become_their_integers() {
        let untag = |text: &str| {
            let mut out = b"x".to_vec();
            let found = int_tags_untagged(text.as_bytes(), &mut out);
            (found, String::from_utf8(out[1..].to_vec()).unwrap())
        };
        let payload = r#"{"retry":true,"big":{"$int":"9007199254741881"},"f":0.3532483335297092}"#;
        let want = r#"{"retry":true,"big":9007199254741881,"f":0.3532483335297092}"#;
        assert_eq!(untag(payload), (true, want.to_owned()));
        assert!(json_text_is_verbatim(want.as_bytes()));
        assert_eq!(untag(r#"[{"$int":"-5"},[{"$int":"0"}]]"#), (true, "[-5,[0]]".to_owned()));
        for same in [
            r#"{"a":1}"#,
            r#"{"$int":"5"}"#,
            r#"[{"$int":"05"}]"#,
            r#"[{"$int":"-0"}]"#,
            r#"[{"$int":"+5"}]"#,
            r#"[{"$int":"1234567890123456789"}]"#,
            r#"[{"$int":"5"}7]"#,
            r#"[1{"$int":"5"}]"#,
            r#"[{"$int":"5","x":1}]"#,
            r#"["{"$int":"5"}"]"#,
            r#"["\",{"$int":"5"x]"#,
        ] {
            assert_eq!(untag(same), (false, same.to_owned()), "{same}");
        }
    }

    fn plan_with_interval() -> TablePlan {
        plan(true)
    }
}
