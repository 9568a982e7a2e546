//! The importers' hot path: a `row` line decoded straight into the cells of
//! its table's plan, with column names borrowed from the line (no `Record`,
//! no `RowData`, no `String` per column name).
//!
//! It takes only the line writers write — `kind`, `table`, `data`, each once,
//! `table` before `data`, a table already planned, every column known and
//! converting — and declines anything else ([`decode_row`] answers false,
//! having added nothing), so that the full decoder and `on_row` handle it
//! and report what is wrong exactly as before. The line is read by
//! [`rowview`](decant_record::rowview)'s tokenizer (strings without escapes
//! borrowed, numbers as their text), and each value becomes what `Value`'s
//! own `Deserialize` makes of it, as `RowData`'s does, except a JSON
//! column's object or array that is already the text the `Value` path would
//! write: that is taken as it stands in the line.

use std::collections::HashMap;

use decant_record::rowview::{self, short_eq, Declined, Members, Token};

use super::cell::{encode_owned, json_text_is_verbatim, json_verbatim_len, Cell, EncodeOptions};
use super::typemap::Kind;
use super::TablePlan;

/// Decodes `line` (a `row` line) into `cells` (and the columns' numbers into
/// `cols`) for its table's plan; the table's number, or `None` — with
/// `cells` and `cols` as they were — when the line needs the full decoder.
pub(crate) fn decode_row(
    line: &[u8],
    plans: &[Option<TablePlan>],
    plan_of: &mut TableNumbers,
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
    /// declining whatever the full decoder is to see. The caller undoes
    /// what it added when the line is declined.
    fn columns<'a>(&mut self, t: usize, plan: &TablePlan, data: &mut Members<'a, '_>) -> Result<(), Declined>;
}

/// Decodes a `row` line written the way writers write it (`kind`, `table`,
/// `data`, each once, `table` before `data`, a table already planned) into
/// `sink`: the table's number, `None` for a line the full decoder is to
/// see (the sink may then hold part of it).
pub(crate) fn decode_line<S: RowSink>(
    line: &[u8],
    plans: &[Option<TablePlan>],
    plan_of: &mut TableNumbers,
    sink: &mut S,
) -> Option<usize> {
    rowview::read_row(
        line,
        |name| plan_of.find(name),
        |t, data| {
            let plan = plans.get(t).and_then(Option::as_ref).ok_or(Declined)?;
            sink.columns(t, plan, data)
        },
    )
}

/// Each table's plan number by its name, remembering the last name found:
/// a stream's rows come table by table, so a row's table is nearly always
/// the one before's, found by one comparison instead of a hash per line.
#[derive(Debug, Default)]
pub(crate) struct TableNumbers {
    map: HashMap<String, usize>,
    /// The name `find` found last, and its number (`None` after `insert`,
    /// which may give a name another number).
    last: Option<(String, usize)>,
}

impl TableNumbers {
    pub(crate) fn insert(&mut self, name: String, t: usize) {
        self.last = None;
        self.map.insert(name, t);
    }

    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        self.map.get(name).copied()
    }

    /// `get`, remembering the answer for the next line.
    #[inline]
    pub(crate) fn find(&mut self, name: &str) -> Option<usize> {
        if let Some((last, t)) = &self.last {
            if last == name {
                return Some(*t);
            }
        }
        let t = self.get(name)?;
        self.last = Some((name.to_owned(), t));
        Some(t)
    }
}

impl From<HashMap<String, usize>> for TableNumbers {
    fn from(map: HashMap<String, usize>) -> TableNumbers {
        TableNumbers { map, last: None }
    }
}

/// Where a row's `data` is in its table's columns.
#[derive(Debug, Default)]
pub(crate) struct ColumnCursor {
    /// The column after the last one named: the next one's usual place.
    next: usize,
    /// The columns named so far rise in the table's order (the usual case,
    /// columns in order, some left out): none can have been named twice.
    tangled: bool,
}

impl ColumnCursor {
    /// The column number of `name`, the next key of a row's `data`: the
    /// column after the last one when that is it (no lookup), else looked
    /// up; once the columns do not rise, each is checked against `cols`
    /// (the columns so far). Declines a column the plan does not have, or
    /// one named twice (the full decoder's errors).
    #[inline]
    pub(crate) fn column(&mut self, plan: &TablePlan, name: &str, cols: &[usize]) -> Result<usize, Declined> {
        let i = match plan.columns.get(self.next) {
            Some(c) if short_eq(c.name.as_bytes(), name.as_bytes()) => self.next,
            _ => *plan.index.get(name).ok_or(Declined)?,
        };
        self.take(i, cols)
    }

    /// The column after the last one: its usual place, where its name is
    /// expected (0 before the first).
    #[inline]
    pub(crate) fn next_column(&self) -> usize {
        self.next
    }

    /// [`ColumnCursor::column`] of the name of the column after the last
    /// one, known to be that (the line named it).
    #[inline]
    pub(crate) fn expected(&mut self, cols: &[usize]) -> Result<usize, Declined> {
        self.take(self.next, cols)
    }

    #[inline]
    fn take(&mut self, i: usize, cols: &[usize]) -> Result<usize, Declined> {
        // `next` is past the last column so far (0 before the first).
        if self.tangled || i < self.next {
            self.tangled = true;
            if cols.contains(&i) {
                return Err(Declined);
            }
        }
        self.next = i + 1;
        Ok(i)
    }
}

/// A row into [`Cell`]s, each value what `Value`'s own `Deserialize` makes
/// of it, as `RowData`'s does.
struct CellRow<'a> {
    enc: &'a EncodeOptions,
    cols: &'a mut Vec<usize>,
    cells: &'a mut Vec<Cell>,
}

impl RowSink for CellRow<'_> {
    fn columns<'a>(&mut self, _t: usize, plan: &TablePlan, data: &mut Members<'a, '_>) -> Result<(), Declined> {
        let mut at = ColumnCursor::default();
        while let Some(name) = data.next_name()? {
            let i = at.column(plan, &name, self.cols)?;
            let cell = if plan.columns[i].kind == Kind::Json {
                // The line's own bytes when they are what the Value path
                // would write: found and checked in one pass.
                match data.verbatim(json_verbatim_len) {
                    Some(text) => Cell::Text(text.to_owned()),
                    None => json_cell(data.value()?, plan, i, self.enc)?,
                }
            } else {
                encode_owned(data.value()?.to_value()?, plan.src_of[i].as_ref(), &plan.columns[i], self.enc)
                    .map_err(|_| Declined)?
            };
            self.cols.push(i);
            self.cells.push(cell);
        }
        Ok(())
    }
}

/// The cell of a JSON column's value as it stands in the line: the line's
/// bytes when verbatim, else through `Value` (the full decoder's cell either way).
pub(crate) fn json_cell(value: Token, plan: &TablePlan, i: usize, enc: &EncodeOptions) -> Result<Cell, Declined> {
    if let Token::Nested(text) = value {
        if json_text_is_verbatim(text.as_bytes()) {
            return Ok(Cell::Text(text.to_owned()));
        }
    }
    encode_owned(value.to_value()?, plan.src_of[i].as_ref(), &plan.columns[i], enc).map_err(|_| Declined)
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 20_000, ..Default::default() })]

        /// Names of every length, equal or differing anywhere.
        #[test]
        fn short_eq_is_equality(a in "[ab]{0,20}", b in "[ab]{0,20}", n in 0usize..20) {
            proptest::prop_assert_eq!(short_eq(a.as_bytes(), b.as_bytes()), a == b);
            let prefix = &a[..n.min(a.len())];
            proptest::prop_assert_eq!(short_eq(a.as_bytes(), prefix.as_bytes()), a == prefix);
            proptest::prop_assert!(short_eq(a.as_bytes(), a.clone().as_bytes()));
        }
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
        let mut plan_of = TableNumbers::from(HashMap::from([("t".to_owned(), 1)]));
        let enc = EncodeOptions { dialect: Dialect::MySql, zero_dates: ZeroDates::Error };
        let taken = [
            r#"{"kind":"row","table":"t","data":{"id":1,"name":"a","n":2}}"#,
            r#"{"kind":"row","table":"t","data":{"n":2,"id":1}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"na\u006de":"é \"q\" 😀","n":null}}"#,
            r#" { "kind" : "row" , "table" : "t" , "data" : { "id" : {"$int":"5"} } } "#,
            r#"{"kind":"row","table":"t","data":{}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"n":2}}"#,
            r#"{"kind":"row","table":"t","data":{"name":"a","n":2,"id":1}}"#,
        ];
        let declined = [
            r#"{"kind":"row","table":"t","data":{"id":1,"id":2}}"#,
            r#"{"kind":"row","table":"t","data":{"n":1,"id":2,"n":3}}"#,
            r#"{"kind":"row","table":"t","data":{"id":1,"n":2,"n":3}}"#,
            r#"{"kind":"row","table":"t","data":{"name":"a","n":2,"name":"b"}}"#,
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
            let fast = decode_row(line.as_bytes(), &plans, &mut plan_of, &enc, &mut cols, &mut cells);
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
        let mut plan_of = TableNumbers::from(HashMap::from([("t".to_owned(), 0)]));
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
            let fast = decode_row(line.as_bytes(), &plans, &mut plan_of, &enc, &mut cols, &mut cells);
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
        decode_row(taken[0].as_bytes(), &plans, &mut plan_of, &enc, &mut cols, &mut cells).unwrap();
        assert_eq!(cells[1], Cell::Text(r#"{"model":"m","cost":0.0123,"n":[1,2]}"#.into()));
        let (mut cols, mut cells) = (Vec::new(), Vec::new());
        decode_row(taken[1].as_bytes(), &plans, &mut plan_of, &enc, &mut cols, &mut cells).unwrap();
        assert_eq!(cells[1], Cell::Text(r#"{"model":"m","cost":100000.0}"#.into()));
    }

    /// A MySQL table of the usual column types.
    const TYPES: &[(&str, &str)] = &[
        ("id", "bigint unsigned"),
        ("i", "int"),
        ("ti", "tinyint(1)"),
        ("dec", "decimal(12,4)"),
        ("vc", "varchar(10)"),
        ("t", "text"),
        ("dt", "datetime(6)"),
        ("ts", "timestamp"),
        ("d", "date"),
        ("j", "json"),
        ("bl", "blob"),
        ("f", "double"),
        ("e", "enum('a','b')"),
    ];

    fn mysql_plan() -> TablePlan {
        let cols = TYPES
            .iter()
            .map(|(n, t)| TargetColumn {
                name: (*n).into(),
                sql_type: (*t).into(),
                kind: crate::sql::typemap::kind_of(Dialect::MySql, t),
                nullable: true,
                identity: false,
            })
            .collect();
        TablePlan::new("t", cols, &["id".to_owned()])
    }

    /// JSON text of a value: every shape, some invalid.
    fn value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let text = "[a-z\\\\\"\u{0}\n\t é😀-]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap());
        prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<i64>().prop_map(|i| i.to_string()),
            any::<u64>().prop_map(|i| i.to_string()),
            any::<f64>().prop_map(|f| f.to_string()),
            "-?(0|[1-9][0-9]{0,21}|0[0-9])(\\.[0-9]{0,3})?([eE][+-]?[0-9]{0,3})?",
            Just("-0".to_owned()),
            Just("18446744073709551616".to_owned()),
            Just("1e400".to_owned()),
            text,
            "-?[0-9]{0,10}(\\.[0-9]{0,6})?".prop_map(|s| format!("{s:?}")),
            "(19|20|00)[0-9]{2}-[01][0-9]-[0-3][0-9]([T ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{1,7})?Z?)?"
                .prop_map(|s| format!("{s:?}")),
            proptest::collection::vec(
                proptest::sample::select(vec![
                    "a",
                    "é",
                    "\\n",
                    "\\/",
                    "\\\"",
                    "\\u00e9",
                    "\\u0000",
                    "\\ud83d\\ude00",
                    "\\ud83d",
                    "\\x",
                    "\t",
                ]),
                0..5,
            )
            .prop_map(|parts| format!("\"{}\"", parts.concat())),
            Just(r#"{"$zero_date":"0000-00-00 00:00:00"}"#.to_owned()),
            Just(r#"{"$int":"5"}"#.to_owned()),
            Just(r#"{"$b64":"AAEC/w=="}"#.to_owned()),
            Just(r#"{"$b64":"not base64"}"#.to_owned()),
            Just(r#"{"a":[1,2.5,"x",-0,1E2],"b":{"c":null}}"#.to_owned()),
            Just(r#"{ "a" : "q\"\u00e9" }"#.to_owned()),
            Just(r#"{"a":1,"a":2}"#.to_owned()),
            Just("[1,\"two\",{\"$int\":\"3\"}]".to_owned()),
            Just("[1,]".to_owned()),
            Just("[]".to_owned()),
            Just("{}".to_owned()),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        /// Whatever the fast path takes, the full decoder takes to the same
        /// columns and cells (names repeated or unknown, whitespace, every
        /// value shape); the rest it declines, for the full decoder to
        /// take or report as ever.
        #[test]
        fn fast_cells_are_the_full_decoders(
            values in proptest::collection::vec((0usize..15, value()), 0..8),
            ws in proptest::sample::select(vec!["", " ", "\t\r\n "]),
        ) {
            let plan = mysql_plan();
            let plans = vec![Some(plan.clone())];
            let mut plan_of = TableNumbers::from(HashMap::from([("t".to_owned(), 0)]));
            let enc = EncodeOptions { dialect: Dialect::MySql, zero_dates: ZeroDates::Null };
            let names: Vec<&str> = TYPES.iter().map(|(n, _)| *n).chain(["zz", "i\\u0064"]).collect();
            let data: Vec<String> = values.iter().map(|(i, v)| format!("\"{}\"{ws}:{ws}{v}", names[i % names.len()])).collect();
            let line = format!(r#"{{"kind":"row",{ws}"table"{ws}:{ws}"t","data":{ws}{{{ws}{}{ws}}}{ws}}}{ws}"#, data.join(&format!("{ws},{ws}")));
            let (mut cols, mut cells) = (vec![7], vec![Cell::Null]);
            match decode_row(line.as_bytes(), &plans, &mut plan_of, &enc, &mut cols, &mut cells) {
                Some(t) => {
                    proptest::prop_assert_eq!(t, 0);
                    let want = slow(&line, &plan, &enc);
                    proptest::prop_assert_eq!(Some((cols, cells[1..].to_vec())), want, "{}", line);
                }
                None => proptest::prop_assert_eq!(cells, vec![Cell::Null], "nothing added: {}", line),
            }
        }
    }
}
