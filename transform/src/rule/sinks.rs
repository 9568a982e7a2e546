//! Where a row rule's output rows go: decoded records for callers that want
//! records, or encoded NDJSON lines for the streaming path.

use super::*;

/// Where a row rule's output rows go: decoded records, or encoded lines.
pub(crate) trait RowSink {
    /// Starts a row of `table` (`prefix` is its encoded start).
    fn begin(&mut self, table: &str, prefix: &[u8], columns: usize);
    /// One column (`name_json` is `"name":` encoded).
    fn col(&mut self, name: &str, name_json: &[u8], value: Value);
    /// One JSON column whose text is what `Value::write_json` writes for it
    /// (`verbatim::text_is_verbatim`): encoded lines copy it.
    fn col_verbatim_json(&mut self, name: &str, name_json: &[u8], text: &str) {
        // Verbatim text is valid JSON: this parse cannot fail.
        let value = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
        self.col(name, name_json, value);
    }
    /// A string column (`Rule::plain_text`): encoded lines write the text
    /// without making a `Value::String` of it first.
    fn col_str(&mut self, name: &str, name_json: &[u8], text: &str) {
        self.col(name, name_json, Value::String(text.to_owned()));
    }
    /// Ends the row.
    fn end(&mut self);
}

/// Rows as records.
pub(super) struct RecordRows<'a> {
    out: &'a mut Vec<Record>,
    table: String,
    data: Vec<(String, Value)>,
}

impl<'a> RecordRows<'a> {
    pub(super) fn new(out: &'a mut Vec<Record>) -> RecordRows<'a> {
        RecordRows { out, table: String::new(), data: Vec::new() }
    }
}

impl RowSink for RecordRows<'_> {
    fn begin(&mut self, table: &str, _prefix: &[u8], columns: usize) {
        self.table = table.to_owned();
        self.data = Vec::with_capacity(columns);
    }
    fn col(&mut self, name: &str, _name_json: &[u8], value: Value) {
        self.data.push((name.to_owned(), value));
    }
    fn end(&mut self) {
        let table = std::mem::take(&mut self.table);
        let data = RowData(std::mem::take(&mut self.data));
        self.out.push(Record::Row(Row { table, data }));
    }
}

/// Rows encoded straight into a buffer, one line each (with its `\n`),
/// byte for byte as `Record::encode` writes the same row.
pub(crate) struct ByteRows<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) rows: u64,
    first: bool,
}

impl<'a> ByteRows<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> ByteRows<'a> {
        ByteRows { out, rows: 0, first: true }
    }

    /// A member's separator (after the first) and `"name":`; its value follows.
    fn member(&mut self, name_json: &[u8]) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(name_json);
    }
}

impl RowSink for ByteRows<'_> {
    fn begin(&mut self, _table: &str, prefix: &[u8], _columns: usize) {
        self.out.extend_from_slice(prefix);
        self.first = true;
    }
    fn col(&mut self, _name: &str, name_json: &[u8], value: Value) {
        self.member(name_json);
        value.write_json(self.out);
    }
    fn col_verbatim_json(&mut self, _name: &str, name_json: &[u8], text: &str) {
        self.member(name_json);
        self.out.extend_from_slice(text.as_bytes());
    }
    fn col_str(&mut self, _name: &str, name_json: &[u8], text: &str) {
        self.member(name_json);
        decant_record::jsontext::write_str(self.out, text);
    }
    fn end(&mut self) {
        self.out.extend_from_slice(b"}}\n");
        self.rows += 1;
    }
}

/// `"name":` as JSON writes an object key.
pub(super) fn json_key(name: &str) -> Vec<u8> {
    let mut out = serde_json::to_vec(name).unwrap_or_default();
    out.push(b':');
    out
}

/// The first bytes of every row of `table`: `{"kind":"row","table":"t","data":{`.
pub(super) fn row_prefix(table: &str) -> Vec<u8> {
    let mut out = b"{\"kind\":\"row\",\"table\":".to_vec();
    out.extend_from_slice(&serde_json::to_vec(table).unwrap_or_default());
    out.extend_from_slice(b",\"data\":{");
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{hash, rule};
    use super::*;

    /// The same rows through both sinks: records, then encoded.
    fn both_sinks(rule: &Rule, rec: &Record) -> (Vec<u8>, Vec<u8>, u64) {
        let Record::Redis(r) = rec else { panic!("a Redis record") };
        let mut caps = Vec::new();
        assert!(rule.matches(rec, &mut caps));
        let mut records = Vec::new();
        rule.apply_matched(rec, &caps, 0, &mut records).expect("rows as records");
        let mut encoded_records = Vec::new();
        for rec in &records {
            rec.encode(&mut encoded_records);
            encoded_records.push(b'\n');
        }
        let view = RedisView::of(r).expect("not a stream");
        let mut lines = Vec::new();
        let rows = rule.view_rows(&view, &caps, &mut lines).expect("rows as lines");
        (encoded_records, lines, rows)
    }

    /// The string columns written from their text (`Rule::plain_text`) are
    /// the records' strings: escapes, empty sources (kept, null, default),
    /// a time pattern, a capture and the key, auto and string casts.
    #[test]
    fn string_columns_written_from_their_text_are_the_records_strings() {
        let rule = rule(
            r#"
            [[rule]]
            match = "k:{id}"
            type = "hash"
            to_table = "t"
            columns = [
              { name = "id", from = "{id}" },
              { name = "key", from = "$key", cast = "string" },
              { name = "s", from = "s", cast = "string" },
              { name = "a", from = "s" },
              { name = "e_keep", from = "e", cast = "string", empty = "keep" },
              { name = "e_null", from = "e", cast = "string" },
              { name = "e_default", from = "e", cast = "string", empty = "default", default = "d" },
              { name = "e_auto", from = "e" },
              { name = "when", from = "t", cast = "string", format = "%Y-%m" },
            ]
            "#,
        );
        for s in ["Ann \"✓\"\n\\ \u{1}", "x", "{\"a\":1}"] {
            let rec = hash("k:5\"", &[("s", s), ("e", ""), ("t", "2026-12-06T10:00:00Z")]);
            let (records, lines, rows) = both_sinks(&rule, &rec);
            assert_eq!(rows, 1);
            assert_eq!(String::from_utf8_lossy(&lines), String::from_utf8_lossy(&records));
        }
        // Bytes that are not UTF-8: the string cast's error, the auto cast's bytes.
        let Record::Redis(mut r) = hash("k:5", &[("e", ""), ("t", "2026-12-06T10:00:00Z")]) else { unreachable!() };
        if let RedisValue::Hash(p) = &mut r.value {
            p.push((b"s".to_vec(), vec![0xff, b'a']));
        }
        let mut caps = Vec::new();
        let rec = Record::Redis(r.clone());
        assert!(rule.matches(&rec, &mut caps));
        let view = RedisView::of(&r).expect("a hash");
        let err = rule.view_rows(&view, &caps, &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), rule.apply_matched(&rec, &caps, 0, &mut Vec::new()).unwrap_err().to_string());
    }

    #[test]
    fn encoded_rows_are_byte_for_byte_the_records_encoding() {
        let rule = rule(
            r#"
            [[rule]]
            match = "k:{id}"
            type = "hash"
            to_table = "t\"able ✓"
            columns = [{ name = "id", from = "{id}", cast = "int" }, { name = "na\"me", from = "name" }, { name = "raw", from = "bin" }]
            extra_into = "rest"
            "#,
        );
        let Record::Redis(mut r) = hash("k:5", &[("name", "Ann ✓"), ("x", "1")]) else { unreachable!() };
        if let RedisValue::Hash(p) = &mut r.value {
            p.push((b"bin".to_vec(), vec![0xff, 0x00]));
        }
        let (records, lines, rows) = both_sinks(&rule, &Record::Redis(r));
        assert_eq!(rows, 1);
        assert_eq!(String::from_utf8_lossy(&lines), String::from_utf8_lossy(&records));
        assert!(lines.starts_with(b"{\"kind\":\"row\",\"table\":\"t\\\"able \xe2\x9c\x93\",\"data\":{\"id\":5,"));
    }

    #[test]
    fn exploded_rows_go_one_line_each_and_are_counted() {
        let rule = rule(
            "[[rule]]\nmatch = \"l:{id}\"\ntype = \"list\"\nto_table = \"t\"\nexplode = true\n\
             columns = [{ name = \"i\", from = \"$index\" }, { name = \"v\", from = \"$value\" }]\n",
        );
        let list =
            Record::Redis(RedisRecord::new(0, b"l:1".to_vec(), RedisValue::List(vec![b"a".to_vec(), b"b".to_vec()])));
        let (records, lines, rows) = both_sinks(&rule, &list);
        assert_eq!(rows, 2);
        assert_eq!(lines, records);
        assert_eq!(
            String::from_utf8(lines).unwrap(),
            "{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"i\":0,\"v\":\"a\"}}\n{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"i\":1,\"v\":\"b\"}}\n"
        );
    }

    /// A `cast = "json"` column copies text that is already what the writer
    /// writes, and parses the rest (or fails on it) as before: every row is
    /// the parsed value written again, in both sinks.
    #[test]
    fn json_columns_copy_verbatim_text_and_parse_the_rest() {
        let rule = rule(
            "[[rule]]\nmatch = \"l:{id}\"\ntype = \"list\"\nto_table = \"t\"\nexplode = true\n\
             columns = [{ name = \"j\", from = \"$value\", cast = \"json\" }, { name = \"m\", from = \"$value\", path = \"model\" }]\n",
        );
        let elements = [
            r#"{"model":"m","cost":0.0123,"n":[1,2],"ok":true}"#,
            r#"{ "model" : "m", "cost": 1e5 }"#,
            r#"{"model":"q\"\u00e9","big":9007199254740993,"t":{"$int":"5"}}"#,
            r#"[1.50,-0,"x"]"#,
        ];
        let list = Record::Redis(RedisRecord::new(
            0,
            b"l:1".to_vec(),
            RedisValue::List(elements.iter().map(|e| e.as_bytes().to_vec()).collect()),
        ));
        let (records, lines, rows) = both_sinks(&rule, &list);
        assert_eq!(rows, 4);
        assert_eq!(String::from_utf8_lossy(&lines), String::from_utf8_lossy(&records));
        for (line, e) in String::from_utf8(lines).unwrap().lines().zip(elements) {
            let want = serde_json::from_str::<Value>(e).unwrap().to_json_string();
            assert!(line.contains(&format!(r#""j":{want},"#)), "{line} holds {want}");
        }
        let bad = Record::Redis(RedisRecord::new(0, b"l:2".to_vec(), RedisValue::List(vec![b"{\"a\":".to_vec()])));
        let mut caps = Vec::new();
        assert!(rule.matches(&bad, &mut caps));
        let Record::Redis(r) = &bad else { unreachable!() };
        let err = rule.view_rows(&RedisView::of(r).unwrap(), &caps, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn record_rows_push_one_row_record_per_row() {
        let mut out = Vec::new();
        let mut sink = RecordRows::new(&mut out);
        for n in 0..2 {
            sink.begin("t", b"", 1);
            sink.col("n", b"", Value::Int(n));
            sink.end();
        }
        let tables: Vec<_> = out.iter().map(|r| r.to_json_string()).collect();
        assert_eq!(
            tables,
            [r#"{"kind":"row","table":"t","data":{"n":0}}"#, r#"{"kind":"row","table":"t","data":{"n":1}}"#]
        );
        assert_eq!(json_key("a\"b"), b"\"a\\\"b\":");
        assert_eq!(row_prefix("x"), b"{\"kind\":\"row\",\"table\":\"x\",\"data\":{");
    }
}
