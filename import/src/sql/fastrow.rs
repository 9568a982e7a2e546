//! The importers' hot path: a `row` line decoded straight into the cells of
//! its table's plan, with column names borrowed from the line (no `Record`,
//! no `RowData`, no `String` per column name).
//!
//! It takes only the line writers write — `kind`, `table`, `data`, each once,
//! `table` before `data`, a table already planned, every column known and
//! converting — and declines anything else ([`decode_row`] answers false,
//! having added nothing), so that the full decoder and `on_row` handle it
//! and report what is wrong exactly as before. Values are decoded by
//! `Value`'s own `Deserialize`, as `RowData`'s is, except a JSON column's
//! object or array that is already the text the `Value` path would write:
//! that is taken as it stands in the line.

use std::collections::HashMap;
use std::fmt;

use decant_record::value::Text;
use decant_record::Value;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize as _;
use serde_json::value::RawValue;

use super::cell::{encode_owned, json_text_is_verbatim, Cell, EncodeOptions};
use super::typemap::Kind;
use super::TablePlan;

/// Decodes `line` (a `row` line) into `cells` (and the columns' numbers into
/// `cols`) for its table's plan; the table's number, or `None` — with
/// `cells` and `cols` as they were — when the line needs the full decoder.
pub(crate) fn decode_row(
    line: &[u8],
    plans: &[Option<TablePlan>],
    plan_of: &HashMap<String, usize>,
    enc: &EncodeOptions,
    cols: &mut Vec<usize>,
    cells: &mut Vec<Cell>,
) -> Option<usize> {
    let start = cells.len();
    cols.clear();
    let mut sink = CellRow { enc, cols: &mut *cols, cells: &mut *cells };
    match decode_line(line, plans, plan_of, &mut sink) {
        Some(t) => Some(t),
        None => {
            cells.truncate(start);
            cols.clear();
            None
        }
    }
}

/// What the `data` object of a row line is decoded into.
pub(crate) trait RowSink {
    /// Decodes the columns of `data` for `plan` (table number `t`),
    /// declining (an error: see [`decline`]) whatever the full decoder is
    /// to see. The caller undoes what it added when the line is declined.
    fn columns<'de, A: MapAccess<'de>>(&mut self, t: usize, plan: &TablePlan, map: A) -> Result<(), A::Error>;
}

/// Decodes a `row` line written the way writers write it (`kind`, `table`,
/// `data`, each once, `table` before `data`, a table already planned) into
/// `sink`: the table's number, `None` for a line the full decoder is to
/// see (the sink may then hold part of it).
pub(crate) fn decode_line<S: RowSink>(
    line: &[u8],
    plans: &[Option<TablePlan>],
    plan_of: &HashMap<String, usize>,
    sink: &mut S,
) -> Option<usize> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let seed = LineSeed { plans, plan_of, sink };
    seed.deserialize(&mut de).and_then(|t| de.end().map(|_| t)).ok()
}

/// "Not for this path": the caller falls back to the full decoder.
pub(crate) fn decline<E: de::Error>() -> E {
    E::custom("declined")
}

/// The column number of `name`, the `k`-th key of a row's `data`: while
/// every column comes in the table's order (the usual case, `in_order`) no
/// name can repeat; after the first one that does not, each is looked up
/// and checked against `cols` (the columns so far). Declines a column the
/// plan does not have, or one named twice (the full decoder's errors).
pub(crate) fn column_at<E: de::Error>(
    plan: &TablePlan,
    name: &str,
    k: usize,
    in_order: &mut bool,
    cols: &[usize],
) -> Result<usize, E> {
    match plan.columns.get(k) {
        Some(c) if *in_order && c.name == name => Ok(k),
        _ => {
            *in_order = false;
            let i = *plan.index.get(name).ok_or_else(decline)?;
            if cols.contains(&i) {
                return Err(decline());
            }
            Ok(i)
        }
    }
}

struct LineSeed<'a, S> {
    plans: &'a [Option<TablePlan>],
    plan_of: &'a HashMap<String, usize>,
    sink: &'a mut S,
}

impl<'de, S: RowSink> DeserializeSeed<'de> for LineSeed<'_, S> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: RowSink> Visitor<'de> for LineSeed<'_, S> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row line")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let (mut kind, mut table, mut data) = (false, None, false);
        while let Some(Text(name)) = map.next_key::<Text>()? {
            match &*name {
                "kind" if !kind => {
                    if &*map.next_value::<Text>()?.0 != "row" {
                        return Err(decline());
                    }
                    kind = true;
                }
                "table" if table.is_none() => {
                    let Text(t) = map.next_value::<Text>()?;
                    table = Some(*self.plan_of.get(&*t).ok_or_else(decline)?);
                }
                "data" if !data => {
                    let t = table.ok_or_else(decline)?;
                    let plan = self.plans.get(t).and_then(Option::as_ref).ok_or_else(decline)?;
                    map.next_value_seed(DataSeed { t, plan, sink: &mut *self.sink })?;
                    data = true;
                }
                _ => return Err(decline()),
            }
        }
        match (kind, table, data) {
            (true, Some(t), true) => Ok(t),
            _ => Err(decline()),
        }
    }
}

struct DataSeed<'a, S> {
    t: usize,
    plan: &'a TablePlan,
    sink: &'a mut S,
}

impl<'de, S: RowSink> DeserializeSeed<'de> for DataSeed<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: RowSink> Visitor<'de> for DataSeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of column values")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.sink.columns(self.t, self.plan, map)
    }
}

/// A row into [`Cell`]s, each value decoded by `Value`'s own `Deserialize`
/// as `RowData`'s is.
struct CellRow<'a> {
    enc: &'a EncodeOptions,
    cols: &'a mut Vec<usize>,
    cells: &'a mut Vec<Cell>,
}

impl RowSink for CellRow<'_> {
    fn columns<'de, A: MapAccess<'de>>(&mut self, _t: usize, plan: &TablePlan, mut map: A) -> Result<(), A::Error> {
        let mut in_order = true;
        let mut k = 0;
        while let Some(Text(name)) = map.next_key::<Text>()? {
            let i = column_at(plan, &name, k, &mut in_order, self.cols)?;
            k += 1;
            let cell = if plan.columns[i].kind == Kind::Json {
                // The line's own bytes when they are what the Value path
                // would write (json_text_is_verbatim): no tree to build.
                let raw: &'de RawValue = map.next_value()?;
                json_cell(raw, plan, i, self.enc).map_err(|_| decline())?
            } else {
                let value: Value = map.next_value()?;
                encode_owned(value, plan.src_of[i].as_ref(), &plan.columns[i], self.enc).map_err(|_| decline())?
            };
            self.cols.push(i);
            self.cells.push(cell);
        }
        Ok(())
    }
}

/// The cell of a JSON column's value as it stands in the line: the line's
/// bytes when verbatim, else through `Value` (the full decoder's cell either way).
pub(crate) fn json_cell(raw: &RawValue, plan: &TablePlan, i: usize, enc: &EncodeOptions) -> Result<Cell, String> {
    if json_text_is_verbatim(raw.get().as_bytes()) {
        return Ok(Cell::Text(raw.get().to_owned()));
    }
    let value = Value::deserialize(&mut serde_json::Deserializer::from_str(raw.get())).map_err(|e| e.to_string())?;
    encode_owned(value, plan.src_of[i].as_ref(), &plan.columns[i], enc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::cell::ZeroDates;
    use crate::sql::front::encode_row;
    use crate::sql::typemap::{Dialect, Kind, TargetColumn};
    use decant_record::Record;

    fn column(name: &str, kind: Kind) -> TargetColumn {
        TargetColumn { name: name.into(), sql_type: "t".into(), kind, nullable: true, identity: false }
    }

    /// What the full decoder and `encode_row` make of a line.
    fn slow(line: &str, plan: &TablePlan, enc: &EncodeOptions) -> Option<(Vec<usize>, Vec<Cell>)> {
        let Ok(Record::Row(row)) = Record::decode(line.as_bytes()) else { return None };
        if row.table != plan.name {
            return None;
        }
        let (mut cols, mut cells) = (Vec::new(), Vec::new());
        encode_row(plan, row.data, enc, false, &mut cols, &mut cells).ok()?;
        Some((cols, cells))
    }

    #[test]
    fn takes_what_the_full_decoder_takes_the_same_way_or_declines() {
        let int = Kind::Int { min: i64::MIN.into(), max: i64::MAX.into() };
        let cols = vec![column("id", int.clone()), column("name", Kind::Text { max_chars: None }), column("n", int)];
        let plan = TablePlan::new("t", cols, &["id".to_owned()]);
        let plans = vec![None, Some(plan.clone())];
        let plan_of: HashMap<String, usize> = [("t".to_owned(), 1)].into();
        let enc = EncodeOptions { dialect: Dialect::MySql, zero_dates: ZeroDates::Error };
        let taken = [
            r#"{"kind":"row","table":"t","data":{"id":1,"name":"a","n":2}}"#,
            r#"{"kind":"row","table":"t","data":{"n":2,"id":1}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"na\u006de":"é \"q\" 😀","n":null}}"#,
            r#" { "kind" : "row" , "table" : "t" , "data" : { "id" : {"$int":"5"} } } "#,
            r#"{"kind":"row","table":"t","data":{}}"#,
        ];
        let declined = [
            r#"{"kind":"row","table":"t","data":{"id":1,"id":2}}"#,
            r#"{"kind":"row","table":"t","data":{"n":1,"id":2,"n":3}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"zzz":2}}"#,
            r#"{"kind":"row","table":"t","data":{"id":"x"}}"#,
            r#"{"kind":"row","table":"u","data":{"id":1}}"#,
            r#"{"kind":"row","data":{"id":1},"table":"t"}"#,
            r#"{"kind":"row","table":"t","data":{"id":1},"extra":1}"#,
            r#"{"kind":"row","table":"t","data":{"id":1}} x"#,
            r#"{"kind":"redis","db":0,"key":"k","type":"string","expire_at_ms":null,"value":"v"}"#,
            r#"{"kind":"row","table":"t","data":{"id":1},"kind":"row"}"#,
            r#"{"kind":"row","table":"t","data":{"id":01}}"#,
        ];
        for line in taken.iter().chain(&declined) {
            let (mut cols, mut cells) = (vec![7], vec![Cell::Null]);
            let fast = decode_row(line.as_bytes(), &plans, &plan_of, &enc, &mut cols, &mut cells);
            if taken.contains(line) {
                assert_eq!(fast, Some(1), "should take {line}");
                let (want_cols, want_cells) = slow(line, &plan, &enc).expect("the full decoder takes it");
                assert_eq!((cols, cells[1..].to_vec()), (want_cols, want_cells), "{line}");
            } else {
                assert_eq!(fast, None, "should decline {line}");
                assert_eq!(cells, [Cell::Null], "nothing added: {line}");
            }
        }
    }

    /// A JSON column's value: the line's bytes when verbatim, else the Value
    /// path; the cell is the full decoder's either way.
    #[test]
    fn json_columns_take_the_same_cells_as_the_full_decoder() {
        let int = Kind::Int { min: i64::MIN.into(), max: i64::MAX.into() };
        let plan = TablePlan::new("t", vec![column("id", int), column("j", Kind::Json)], &["id".to_owned()]);
        let plans = vec![Some(plan.clone())];
        let plan_of: HashMap<String, usize> = [("t".to_owned(), 0)].into();
        let enc = EncodeOptions { dialect: Dialect::MySql, zero_dates: ZeroDates::Error };
        let taken = [
            r#"{"kind":"row","table":"t","data":{"id":1,"j":{"model":"m","cost":0.0123,"n":[1,2]}}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"j":{ "model" : "m" , "cost":1e5 }}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"j":{"a":"q\"\u00e9","b":{"$int":"5"}}}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"j":[1.50,-0,{"$b64":"AA=="}]}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"j":"text"}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"j":null}}"#,
        ];
        for line in taken {
            let (mut cols, mut cells) = (Vec::new(), Vec::new());
            let fast = decode_row(line.as_bytes(), &plans, &plan_of, &enc, &mut cols, &mut cells);
            let slow = slow(line, &plan, &enc);
            match slow {
                Some(want) => {
                    assert_eq!(fast, Some(0), "should take {line}");
                    assert_eq!((cols, cells), want, "{line}");
                }
                None => assert_eq!(fast, None, "should decline {line}"),
            }
        }
        let (mut cols, mut cells) = (Vec::new(), Vec::new());
        decode_row(taken[0].as_bytes(), &plans, &plan_of, &enc, &mut cols, &mut cells).unwrap();
        assert_eq!(cells[1], Cell::Text(r#"{"model":"m","cost":0.0123,"n":[1,2]}"#.into()));
        let (mut cols, mut cells) = (Vec::new(), Vec::new());
        decode_row(taken[1].as_bytes(), &plans, &plan_of, &enc, &mut cols, &mut cells).unwrap();
        assert_eq!(cells[1], Cell::Text(r#"{"model":"m","cost":100000.0}"#.into()));
    }
}
