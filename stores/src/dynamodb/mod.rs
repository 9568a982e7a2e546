//! DynamoDB: the client both `dynamodb-export` and `dynamodb-import` use.
//!
//! - [`client`]: `dynamodb://REGION?endpoint=…` URLs, signed calls over a
//!   pooled HTTP agent, retries with backoff and full jitter;
//! - [`sigv4`]: AWS Signature Version 4;
//! - [`credentials`]: the AWS credential and region chain (environment,
//!   profiles in `~/.aws/credentials` and `~/.aws/config`);
//! - [`codec`]: items ↔ decant values (DESIGN.md §2.2a);
//! - this module: the table-level calls (ListTables, DescribeTable,
//!   CreateTable, Scan) and the request bodies of the writes.

pub mod client;
pub mod codec;
pub mod credentials;
pub mod sigv4;

use std::time::{Duration, Instant};

use decant_record::schema::{KeyAttribute, KeySchema, KeyType};
use decant_record::{Column, LogicalType, RowData, TableSchema, Value};
use serde::Deserialize;
use serde_json::json;

pub use client::{Client, DynamoError, DynamoUrl, RetryPolicy};
pub use codec::{CodecError, Items, MAX_ITEM_BYTES};

/// Every table name of the account and region (ListTables, all pages).
pub fn list_tables(client: &Client) -> Result<Vec<String>, DynamoError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Page {
        #[serde(default)]
        table_names: Vec<String>,
        last_evaluated_table_name: Option<String>,
    }
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let body = match &start {
            Some(s) => json!({"ExclusiveStartTableName": s, "Limit": 100}),
            None => json!({"Limit": 100}),
        };
        let out = client.call("ListTables", body.to_string().as_bytes())?;
        let page: Page = parse("ListTables", &out)?;
        names.extend(page.table_names);
        match page.last_evaluated_table_name {
            Some(s) => start = Some(s),
            None => return Ok(names),
        }
    }
}

fn parse<'a, T: Deserialize<'a>>(operation: &str, body: &'a [u8]) -> Result<T, DynamoError> {
    serde_json::from_slice(body).map_err(|e| DynamoError::Service {
        operation: operation.to_owned(),
        status: 200,
        code: "BadResponse".into(),
        message: format!("cannot read the answer: {e}"),
    })
}

/// What DescribeTable says about a table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// The table.
    pub name: String,
    /// Its key.
    pub key: KeySchema,
    /// `ACTIVE`, `CREATING`…
    pub status: String,
    /// DynamoDB's item count (updated about every six hours).
    pub item_count: Option<u64>,
}

/// DescribeTable; `Ok(None)` when the table does not exist.
pub fn describe_table(client: &Client, table: &str) -> Result<Option<TableInfo>, DynamoError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Out {
        table: Desc,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Desc {
        table_name: String,
        key_schema: Vec<KeyElement>,
        attribute_definitions: Vec<AttrDef>,
        table_status: String,
        item_count: Option<u64>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct KeyElement {
        attribute_name: String,
        key_type: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct AttrDef {
        attribute_name: String,
        attribute_type: KeyType,
    }
    let body = json!({ "TableName": table }).to_string();
    let out = match client.call("DescribeTable", body.as_bytes()) {
        Ok(out) => out,
        Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(e),
    };
    let d: Out = parse("DescribeTable", &out)?;
    let d = d.table;
    let attr = |role: &str| -> Option<KeyAttribute> {
        let name = &d.key_schema.iter().find(|k| k.key_type == role)?.attribute_name;
        let ty = d.attribute_definitions.iter().find(|a| &a.attribute_name == name)?.attribute_type;
        Some(KeyAttribute { name: name.clone(), ty })
    };
    let partition_key = attr("HASH").ok_or_else(|| DynamoError::Service {
        operation: "DescribeTable".into(),
        status: 200,
        code: "BadResponse".into(),
        message: format!("table {table:?} has no HASH key in its description"),
    })?;
    Ok(Some(TableInfo {
        name: d.table_name,
        key: KeySchema { partition_key, sort_key: attr("RANGE") },
        status: d.table_status,
        item_count: d.item_count,
    }))
}

/// The `schema` line of a DynamoDB table: its key attributes as columns
/// (S → string, N → decimal, B → bytes), as the primary key, and the key
/// schema itself (`"key_schema"`), so a SQL importer can create a table
/// and `dynamodb-import --create-tables` the same DynamoDB table.
pub fn table_schema(info: &TableInfo) -> TableSchema {
    let column = |k: &KeyAttribute| {
        let ty = match k.ty {
            KeyType::S => LogicalType::String,
            KeyType::N => LogicalType::Decimal,
            KeyType::B => LogicalType::Bytes,
        };
        let mut c = Column::new(k.name.clone(), ty);
        c.nullable = false;
        c
    };
    let keys: Vec<&KeyAttribute> = std::iter::once(&info.key.partition_key).chain(info.key.sort_key.as_ref()).collect();
    let mut schema = TableSchema::new(info.name.clone(), keys.iter().map(|k| column(k)).collect());
    schema.primary_key = keys.iter().map(|k| k.name.clone()).collect();
    schema.key_schema = Some(info.key.clone());
    schema.dialect = Some("dynamodb".into());
    schema.estimated_rows = info.item_count;
    schema
}

/// The DynamoDB key of a table from a `schema` line: its `key_schema`, else
/// its primary key (one column: partition key; two: partition and sort
/// key) with types from the columns' logical types (integers, decimals and
/// floats → N, bytes → B, anything else → S).
pub fn key_schema_of(schema: &TableSchema) -> Result<KeySchema, String> {
    if let Some(k) = &schema.key_schema {
        return Ok(k.clone());
    }
    let ty_of = |name: &str| {
        let ty = schema.column(name).map(|c| c.ty);
        match ty {
            Some(t)
                if t.is_integer()
                    || matches!(t, LogicalType::Decimal | LogicalType::Float32 | LogicalType::Float64) =>
            {
                KeyType::N
            }
            Some(LogicalType::Bytes) => KeyType::B,
            _ => KeyType::S,
        }
    };
    let attr = |name: &String| KeyAttribute { name: name.clone(), ty: ty_of(name) };
    match schema.primary_key.as_slice() {
        [pk] => Ok(KeySchema { partition_key: attr(pk), sort_key: None }),
        [pk, sk] => Ok(KeySchema { partition_key: attr(pk), sort_key: Some(attr(sk)) }),
        [] => Err(format!("table {:?} has no primary key to be the DynamoDB key", schema.table)),
        more => Err(format!(
            "table {:?} has a primary key of {} columns; a DynamoDB key has at most two (partition and sort key): \
             build one with decant-transform",
            schema.table,
            more.len()
        )),
    }
}

/// CreateTable with on-demand billing (PAY_PER_REQUEST), then waits until
/// the table is ACTIVE. A table that already exists is left as it is.
pub fn create_table(client: &Client, table: &str, key: &KeySchema, wait: Duration) -> Result<bool, DynamoError> {
    let mut schema = vec![json!({"AttributeName": key.partition_key.name, "KeyType": "HASH"})];
    let mut defs = vec![json!({"AttributeName": key.partition_key.name, "AttributeType": key.partition_key.ty})];
    if let Some(sk) = &key.sort_key {
        schema.push(json!({"AttributeName": sk.name, "KeyType": "RANGE"}));
        defs.push(json!({"AttributeName": sk.name, "AttributeType": sk.ty}));
    }
    let body = json!({
        "TableName": table,
        "KeySchema": schema,
        "AttributeDefinitions": defs,
        "BillingMode": "PAY_PER_REQUEST",
    });
    let created = match client.call("CreateTable", body.to_string().as_bytes()) {
        Ok(_) => true,
        Err(e) if e.code() == Some("ResourceInUseException") => false,
        Err(e) => return Err(e),
    };
    let deadline = Instant::now() + wait;
    loop {
        if let Some(info) = describe_table(client, table)? {
            if info.status == "ACTIVE" {
                return Ok(created);
            }
        }
        if Instant::now() > deadline {
            return Err(DynamoError::Service {
                operation: "CreateTable".into(),
                status: 200,
                code: "Timeout".into(),
                message: format!("table {table:?} was not ACTIVE after {}s", wait.as_secs()),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One Scan page.
#[derive(Debug, Default)]
pub struct ScanPage {
    /// The items, attributes sorted by name.
    pub items: Vec<RowData>,
    /// Where the next page starts (`None`: the segment is done), as
    /// DynamoDB JSON.
    pub last_evaluated_key: Option<serde_json::Value>,
    /// Read capacity units the page used.
    pub consumed: f64,
}

/// What a Scan request asks for.
#[derive(Debug, Clone)]
pub struct ScanRequest<'a> {
    /// The table.
    pub table: &'a str,
    /// This segment (from 0) of `total_segments`.
    pub segment: u32,
    /// Segments of the parallel scan.
    pub total_segments: u32,
    /// Strongly consistent reads (twice the read units).
    pub consistent_read: bool,
    /// Items per page at most (DynamoDB also stops at 1 MB).
    pub limit: Option<u32>,
    /// Where to start (a previous page's `last_evaluated_key`).
    pub start: Option<&'a serde_json::Value>,
}

/// Reads one Scan page.
pub fn scan(client: &Client, req: &ScanRequest<'_>) -> Result<ScanPage, DynamoError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Out {
        #[serde(default)]
        items: Items,
        last_evaluated_key: Option<serde_json::Value>,
        consumed_capacity: Option<Consumed>,
    }
    let mut body = json!({
        "TableName": req.table,
        "ReturnConsumedCapacity": "TOTAL",
    });
    if req.total_segments > 1 {
        body["Segment"] = req.segment.into();
        body["TotalSegments"] = req.total_segments.into();
    }
    if req.consistent_read {
        body["ConsistentRead"] = true.into();
    }
    if let Some(limit) = req.limit {
        body["Limit"] = limit.into();
    }
    if let Some(start) = req.start {
        body["ExclusiveStartKey"] = start.clone();
    }
    let out = client.call("Scan", body.to_string().as_bytes())?;
    let out: Out = parse("Scan", &out)?;
    Ok(ScanPage {
        items: out.items.0,
        last_evaluated_key: out.last_evaluated_key.filter(|k| k.as_object().is_some_and(|o| !o.is_empty())),
        consumed: out.consumed_capacity.map_or(0.0, |c| c.capacity_units),
    })
}

/// `ConsumedCapacity` of an answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consumed {
    /// Capacity units used.
    #[serde(default)]
    pub capacity_units: f64,
}

/// The key attributes of an item, as DynamoDB JSON (`{"pk":{"S":"a"}}`), or
/// why the item has no usable key (a key attribute missing, of the wrong
/// type, or empty).
pub fn item_key(item: &RowData, key: &KeySchema, out: &mut Vec<u8>) -> Result<(), String> {
    out.push(b'{');
    let attrs = std::iter::once(&key.partition_key).chain(key.sort_key.as_ref());
    for (i, k) in attrs.enumerate() {
        let Some(v) = item.get(&k.name) else {
            return Err(format!("the key attribute {:?} is missing", k.name));
        };
        let ok = match (k.ty, v) {
            (KeyType::S, Value::String(s)) => !s.is_empty(),
            (KeyType::N, Value::Int(_) | Value::Number(_)) => true,
            (KeyType::N, Value::Float(f)) => f.is_finite(),
            (KeyType::B, Value::Bytes(b)) => !b.is_empty(),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "the key attribute {:?} is {} but the table's key is of type {}{}",
                k.name,
                v.type_name(),
                k.ty.as_str(),
                if matches!(v, Value::String(s) if s.is_empty()) { " (an empty string cannot be a key)" } else { "" }
            ));
        }
        if i > 0 {
            out.push(b',');
        }
        decant_record::jsontext::write_str(out, &k.name);
        out.push(b':');
        codec::write_attr(v, &mut String::new(), out).map_err(|e| e.reason)?;
    }
    out.push(b'}');
    Ok(())
}

/// A key for messages: `pk="user#1", sk=3`.
pub fn describe_key(item: &RowData, key: &KeySchema) -> String {
    let attrs = std::iter::once(&key.partition_key).chain(key.sort_key.as_ref());
    attrs
        .map(|k| match item.get(&k.name) {
            Some(v) => {
                let mut text = v.to_json_string();
                if text.len() > 80 {
                    let cut = (0..=80).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
                    text.truncate(cut);
                    text.push('…');
                }
                format!("{}={text}", k.name)
            }
            None => format!("{}=(missing)", k.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A capacity-unit budget shared by threads (`--rate-limit`): each call
/// waits until the budget is not in debt, then pays what DynamoDB says it
/// consumed. Refills at `rate` units per second, holding at most one
/// second's worth.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    state: std::sync::Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A budget of `rate` units per second.
    pub fn new(rate: f64) -> RateLimiter {
        RateLimiter { rate, state: std::sync::Mutex::new((rate, Instant::now())) }
    }

    fn refill(&self, s: &mut (f64, Instant)) {
        let now = Instant::now();
        s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * self.rate).min(self.rate);
        s.1 = now;
    }

    /// Waits until the budget is positive.
    pub fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                self.refill(&mut s);
                if s.0 > 0.0 {
                    return;
                }
                Duration::from_secs_f64((-s.0 + 0.001) / self.rate)
            };
            std::thread::sleep(wait.min(Duration::from_secs(1)));
        }
    }

    /// Pays `units` (may take the budget into debt, repaid by waiting).
    pub fn consume(&self, units: f64) {
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.refill(&mut s);
        s.0 -= units;
    }
}
