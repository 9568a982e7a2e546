//! Where a row rule's output rows go: decoded records for callers that want
//! records, or encoded NDJSON lines for the streaming path.

use super::*;

/// Where a row rule's output rows go: decoded records, or encoded lines.
pub(crate) trait RowSink {
    /// Starts a row of `table` (`prefix` is its encoded start).
    fn begin(&mut self, table: &str, prefix: &[u8], columns: usize);
    /// One column (`name_json` is `"name":` encoded).
    fn col(&mut self, name: &str, name_json: &[u8], value: Value);
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
}

impl RowSink for ByteRows<'_> {
    fn begin(&mut self, _table: &str, prefix: &[u8], _columns: usize) {
        self.out.extend_from_slice(prefix);
        self.first = true;
    }
    fn col(&mut self, _name: &str, name_json: &[u8], value: Value) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(name_json);
        value.write_json(self.out);
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
