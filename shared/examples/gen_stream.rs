//! Generates a deterministic, realistic decant stream of about `SIZE_MB`
//! megabytes: a mix of table rows (integers, unsigned BIGINTs past 2^53,
//! decimals, floats, naive and zoned date-times, emoji text, bytes as `$b64`,
//! nested JSON, NULLs) and Redis keys (hashes, zsets, lists of JSON strings,
//! strings with TTLs, sets, some non-UTF-8 values), sealed with a trailer.
//!
//! ```text
//! cargo run --release -p decant-record --example gen_stream -- 1024 /tmp/bench.ndjson
//! cargo run --release -p decant-record --example gen_stream -- 64 /tmp/bench.ndjson.zst
//! ```

use std::io;
use std::path::PathBuf;

use decant_record::io::Output;
use decant_record::{
    Column, Header, LogicalType, Record, RecordWriter, RedisRecord, RedisValue, Row, RowData, TableSchema, Value,
};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn hex(&mut self, len: usize) -> String {
        const HEX: &[u8] = b"0123456789abcdef";
        (0..len).map(|_| HEX[self.below(16) as usize] as char).collect()
    }
    fn uuid(&mut self) -> String {
        format!("{}-{}-4{}-a{}-{}", self.hex(8), self.hex(4), self.hex(3), self.hex(3), self.hex(12))
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
    fn words(&mut self, n: usize) -> String {
        const WORDS: &[&str] = &[
            "alarm", "line", "group", "operator", "content", "feedback", "prod", "staging", "relay", "token", "quota",
            "daily", "東京", "überall", "naïve", "🚀", "ok", "retry", "limit", "tier",
        ];
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.pick(WORDS));
        }
        s
    }
    fn words_n(&mut self, min: u64, extra: u64) -> String {
        let n = min + self.below(extra);
        self.words(n as usize)
    }
    fn bytes_n(&mut self, min: u64, extra: u64) -> Vec<u8> {
        let n = min + self.below(extra);
        self.bytes(n as usize)
    }
    fn datetime(&mut self, fraction: bool) -> String {
        let secs = 1_700_000_000 + self.below(60_000_000) as i64;
        let base = decant_record::time::format_unix_seconds(secs);
        let naive = base.trim_end_matches('Z');
        if fraction {
            format!("{naive}.{:06}", self.below(1_000_000))
        } else {
            naive.to_owned()
        }
    }
}

fn schema() -> TableSchema {
    let col = |name: &str, ty| Column::new(name, ty);
    let mut id = col("id", LogicalType::Int64);
    id.nullable = false;
    id.auto_increment = true;
    let mut big = col("counter", LogicalType::Uint64);
    big.unsigned = true;
    let mut amount = col("amount", LogicalType::Decimal);
    amount.precision = Some(12);
    amount.scale = Some(4);
    let mut created = col("created_at", LogicalType::Datetime);
    created.precision = Some(6);
    let mut t = TableSchema::new(
        "events",
        vec![
            id,
            col("operator_id", LogicalType::Int32),
            col("uuid", LogicalType::Uuid),
            col("title", LogicalType::Text),
            big,
            amount,
            col("ratio", LogicalType::Float64),
            col("active", LogicalType::Bool),
            created,
            col("updated_at", LogicalType::Timestamp),
            col("payload", LogicalType::Json),
            col("blob", LogicalType::Bytes),
            col("deleted_at", LogicalType::Datetime),
        ],
    );
    t.primary_key = vec!["id".into()];
    t
}

fn row(rng: &mut Rng, id: i128) -> Record {
    let payload = Value::Object(vec![
        ("source".into(), Value::String(rng.pick(&["web", "api", "batch", "cron"]).into())),
        ("tags".into(), Value::Array((0..rng.below(4)).map(|_| Value::String(rng.words(1))).collect())),
        (
            "limits".into(),
            Value::Object(vec![
                ("rpm".into(), Value::Int(rng.below(10_000) as i128)),
                ("burst".into(), Value::Float(rng.below(1000) as f64 / 8.0)),
                ("enabled".into(), Value::Bool(rng.chance(70))),
            ]),
        ),
    ]);
    let counter = if rng.chance(10) {
        Value::Int(u64::MAX as i128 - rng.below(1 << 40) as i128)
    } else {
        Value::Int(rng.below(1 << 40) as i128)
    };
    let data = RowData(vec![
        ("id".into(), Value::Int(id)),
        ("operator_id".into(), Value::Int(rng.below(50_000) as i128)),
        ("uuid".into(), Value::String(rng.uuid())),
        ("title".into(), Value::String(rng.words_n(3, 8))),
        ("counter".into(), counter),
        ("amount".into(), Value::String(format!("{}.{:04}", rng.below(100_000_000), rng.below(10_000)))),
        ("ratio".into(), Value::Float(rng.below(1 << 30) as f64 / 7.0)),
        ("active".into(), Value::Bool(rng.chance(50))),
        ("created_at".into(), Value::String(rng.datetime(true))),
        ("updated_at".into(), Value::String(format!("{}Z", rng.datetime(false)))),
        ("payload".into(), payload),
        ("blob".into(), if rng.chance(30) { Value::Null } else { Value::Bytes(rng.bytes_n(8, 40)) }),
        ("deleted_at".into(), if rng.chance(90) { Value::Null } else { Value::String(rng.datetime(true)) }),
    ]);
    Record::Row(Row { table: "events".into(), data })
}

fn redis(rng: &mut Rng) -> Record {
    let ttl = |rng: &mut Rng| Some(1_800_000_000_000 + rng.below(1 << 30) as i64);
    let mut rec = match rng.below(10) {
        0..=3 => {
            let fields = [
                "name",
                "description",
                "tokenLimit",
                "concurrencyLimit",
                "dailyCostLimit",
                "permissions",
                "createdAt",
                "lastUsedAt",
                "expiresAt",
                "isActive",
                "claudeAccountId",
                "geminiAccountId",
                "rateLimitWindow",
                "rateLimitRequests",
                "tags",
            ];
            let pairs = fields
                .iter()
                .map(|f| {
                    let v = match *f {
                        "permissions" => format!("{{\"models\":[\"{}\"],\"all\":{}}}", rng.words(1), rng.chance(50)),
                        "createdAt" | "lastUsedAt" | "expiresAt" => {
                            format!("{}.{:03}Z", rng.datetime(false), rng.below(1000))
                        }
                        "isActive" => rng.pick(&["true", "false"]).to_owned(),
                        "name" | "description" | "tags" => rng.words_n(2, 4),
                        "claudeAccountId" | "geminiAccountId" => rng.uuid(),
                        _ => rng.below(100_000).to_string(),
                    };
                    (f.as_bytes().to_vec(), v.into_bytes())
                })
                .collect();
            RedisRecord::new(0, format!("apikey:{}", rng.uuid()).into_bytes(), RedisValue::Hash(pairs))
        }
        4 => {
            let key = format!("usage:{}:daily:2025-{:02}-{:02}", rng.hex(8), 1 + rng.below(12), 1 + rng.below(28));
            let pairs = ["requests", "inputTokens", "outputTokens", "cost"]
                .iter()
                .map(|f| (f.as_bytes().to_vec(), rng.below(1_000_000).to_string().into_bytes()))
                .collect();
            let mut r = RedisRecord::new(0, key.into_bytes(), RedisValue::Hash(pairs));
            if rng.chance(50) {
                r.expire_at_ms = ttl(rng);
            }
            r
        }
        5 => {
            let n = 5 + rng.below(16);
            let mut members: Vec<(Vec<u8>, f64)> =
                (0..n).map(|_| (rng.uuid().into_bytes(), 1_700_000_000_000.0 + rng.below(1 << 20) as f64)).collect();
            if rng.chance(5) {
                members.push((b"sentinel".to_vec(), f64::INFINITY));
            }
            let mut v = RedisValue::ZSet(members);
            v.sort_canonical();
            RedisRecord::new(0, format!("concurrency:{}", rng.hex(8)).into_bytes(), v)
        }
        6 => {
            let items = (0..3 + rng.below(10))
                .map(|_| {
                    format!(
                        "{{\"model\":\"{}\",\"inputTokens\":{},\"outputTokens\":{},\"at\":\"{}Z\"}}",
                        rng.words(1),
                        rng.below(100_000),
                        rng.below(10_000),
                        rng.datetime(false)
                    )
                    .into_bytes()
                })
                .collect();
            RedisRecord::new(0, format!("usage:records:{}", rng.hex(8)).into_bytes(), RedisValue::List(items))
        }
        7 => {
            let mut members: Vec<Vec<u8>> = (0..2 + rng.below(8)).map(|_| rng.words(1).into_bytes()).collect();
            members.sort_unstable();
            members.dedup();
            RedisRecord::new(0, format!("tags:{}", rng.hex(6)).into_bytes(), RedisValue::Set(members))
        }
        8 => {
            // Tokens that are not valid UTF-8 travel as $b64.
            let value = if rng.chance(50) { rng.bytes(48) } else { rng.hex(64).into_bytes() };
            let pairs = vec![
                (b"accessToken".to_vec(), value),
                (b"refreshToken".to_vec(), rng.hex(64).into_bytes()),
                (b"status".to_vec(), b"active".to_vec()),
            ];
            RedisRecord::new(0, format!("claude_account:{}", rng.uuid()).into_bytes(), RedisValue::Hash(pairs))
        }
        _ => {
            let value = format!("{{\"user\":\"{}\",\"created\":\"{}Z\"}}", rng.uuid(), rng.datetime(false));
            let mut r = RedisRecord::new(
                0,
                format!("session:{}", rng.hex(32)).into_bytes(),
                RedisValue::String(value.into_bytes()),
            );
            r.expire_at_ms = ttl(rng);
            r
        }
    };
    if rng.chance(1) {
        rec.db = 1;
    }
    Record::Redis(rec)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(size), Some(path)) = (args.first().and_then(|s| s.parse::<u64>().ok()), args.get(1)) else {
        eprintln!("usage: gen_stream SIZE_MB OUTPUT (- for stdout; .zst compresses)");
        std::process::exit(2);
    };
    let target = size << 20;
    let out = Output::create(Some(&PathBuf::from(path)))?;
    let mut w = RecordWriter::new(out);
    w.write_header(&Header::new("gen_stream", Some("generated".into())))?;
    w.write(&Record::Schema(schema()))?;
    let mut rng = Rng(0x5eed_dec0_ffee_1234);
    let mut written = 0u64;
    let mut id = 0i128;
    let mut line = Vec::new();
    while written < target {
        let rec = if rng.chance(55) {
            id += 1;
            row(&mut rng, id)
        } else {
            redis(&mut rng)
        };
        line.clear();
        rec.encode(&mut line);
        written += line.len() as u64 + 1;
        w.write_raw(&line)?;
    }
    w.finish()?.finish()
}
