//! The streaming fast path (lines decoded on the workers through a borrowed
//! view, rows encoded straight from the rule's columns) writes exactly what
//! the record path writes; the folding rules of the warm-up.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use decant_record::view::RedisView;
use decant_record::{Header, Record, RecordReader, RecordWriter, RedisRecord, RedisValue, Row, RowData, Value};
use decant_transform::{Transformer, ViewOutcome};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/imagined").join(name)
}

fn relay() -> Transformer {
    Transformer::from_file(&example("relay-to-mysql.toml")).unwrap()
}

/// Lines of every shape the relay spec takes, with escapes, non-UTF-8
/// bytes, TTLs, JSON spreads and failing casts.
const LINES: &[&str] = &[
    r#"{"kind":"redis","db":0,"key":"apikey:7f1","type":"hash","expire_at_ms":null,"value":{"id":"7f1","name":"team🚀 \"prod\"","description":"a\nb","apiKey":"abc","tokenLimit":"1000","concurrencyLimit":"5","rateLimitWindow":"60","rateLimitRequests":"100","isActive":"true","permissions":"{\"scope\": \"all\", \"models\": [\"a\"]}","claudeAccountId":"","createdAt":"2025-03-04T05:06:07.080Z","lastUsedAt":"","expiresAt":"2026-01-01T00:00:00.000Z","dailyCostLimit":"12.50"}}"#,
    r#"{"kind":"redis","db":0,"key":"claude_account:9","type":"hash","expire_at_ms":null,"value":{"id":"9","name":"clé","email":"a@b.c","accessToken":"tok","refreshToken":{"$b64":"/wCAgQ=="},"encryptedIv":"iv","isActive":"false","status":"active","proxy":"","createdAt":"2025-01-01T00:00:00.000Z","priority":"3"}}"#,
    r#"{"kind":"redis","db":0,"key":"usage:k1:daily:2025-03-04","type":"hash","expire_at_ms":1790000000000,"value":{"requests":"3","inputTokens":"10","outputTokens":"20","cacheCreateTokens":"0","cacheReadTokens":"1","allTokens":"31","cost":"0.123400"}}"#,
    r#"{"kind":"redis","db":0,"key":"usage:records:k1","type":"list","expire_at_ms":null,"value":["{\"timestamp\":\"2025-03-04T05:06:07.080Z\",\"model\":\"m\",\"inputTokens\":5,\"outputTokens\":6,\"cost\":1.5e-05,\"status\":200}","{\"timestamp\":\"2025-03-04T05:06:08.000Z\",\"model\":null,\"inputTokens\":-7,\"outputTokens\":0,\"cost\":0.25,\"status\":429,\"extra\":{\"$int\":\"5\"}}"]}"#,
    r#"{"kind":"redis","db":0,"key":"session:abc","type":"string","expire_at_ms":1800000000000,"value":"{\"adminId\":3,\"ip\":\"10.0.0.1\",\"ua\":\"Mozilla\\/5.0\",\"loginAt\":\"2025-01-01T00:00:00.000Z\"}"}"#,
    r#"{"kind":"redis","db":0,"key":"concurrency:k1","type":"zset","expire_at_ms":null,"value":[["req-1",1700000000000.5],["req-2","inf"]]}"#,
    r#"{"kind":"redis","db":0,"key":"set:tags:0","type":"set","expire_at_ms":null,"value":["a","b"]}"#,
    r#"{"kind":"redis","db":0,"key":"admin:usernames","type":"set","expire_at_ms":null,"value":["admin0"]}"#,
    r#"{"kind":"redis","db":0,"key":"apikey_hash_map","type":"hash","expire_at_ms":null,"value":{"h1":"k1","h2":"k2"}}"#,
    r#"{"kind":"redis","db":0,"key":"admin:1","type":"hash","expire_at_ms":null,"value":{"id":"1","username":"root","passwordHash":"x","createdAt":"2025-01-01T00:00:00.000Z","lastLogin":""}}"#,
    // Failing casts and unmatched keys: the same error either way.
    r#"{"kind":"redis","db":0,"key":"usage:k2:daily:2025-13-40","type":"hash","expire_at_ms":null,"value":{"requests":"x"}}"#,
    r#"{"kind":"redis","db":0,"key":"usage:records:k3","type":"list","expire_at_ms":null,"value":["not json"]}"#,
    r#"{"kind":"redis","db":0,"key":"apikey:8","type":"hash","expire_at_ms":null,"value":{"surprise":"field"}}"#,
    r#"{"kind":"redis","db":0,"key":"nobody:1","type":"string","expire_at_ms":null,"value":"v"}"#,
];

/// What the record path writes for a record: the rows encoded, or the error.
fn by_records(t: &Transformer, rec: &Record) -> Result<(Option<usize>, Vec<u8>), String> {
    let applied = t.apply(rec).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in &applied.records {
        r.encode(&mut out);
        out.push(b'\n');
    }
    Ok((applied.rule, out))
}

#[test]
fn view_path_writes_the_bytes_the_record_path_writes() {
    let t = relay();
    let mut caps = Vec::new();
    let mut matched = 0;
    for line in LINES {
        let view = RedisView::parse(line.as_bytes()).unwrap_or_else(|| panic!("the view declines {line}"));
        let rec = Record::decode(line.as_bytes()).unwrap();
        let want = by_records(&t, &rec);
        let mut out = Vec::new();
        let got = match t.apply_view(&view, &mut caps, &mut out) {
            Ok(ViewOutcome::Matched { rule, rows }) => {
                assert_eq!(rows as usize, out.iter().filter(|b| **b == b'\n').count());
                matched += 1;
                Ok((Some(rule), out))
            }
            Ok(ViewOutcome::Unmatched) => Ok((None, out)),
            Ok(ViewOutcome::Fallback) => panic!("the relay spec needs no fallback: {line}"),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(
            got.as_ref().map(|(r, b)| (*r, String::from_utf8_lossy(b).into_owned())),
            want.as_ref().map(|(r, b)| (*r, String::from_utf8_lossy(b).into_owned())),
            "{line}"
        );
    }
    assert!(matched >= 10, "too few lines took the fast path");
}

fn transform_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_decant-transform"))
}

/// A sealed stream of `lines` (written through the record writer).
fn sealed(lines: &[&str]) -> Vec<u8> {
    let mut w = RecordWriter::new(Vec::new());
    w.write_header(&Header::new("test", None)).unwrap();
    for l in lines {
        w.write_raw(l.as_bytes()).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn the_command_writes_what_the_record_writer_writes_and_seals_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    let good: Vec<&str> = LINES[..10].to_vec();
    std::fs::write(&input, sealed(&good)).unwrap();
    let out = transform_bin()
        .args(["--spec", example("relay-to-mysql.toml").to_str().unwrap(), "-q", "--no-schema", "-i"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // The same rows through the record path and the record writer.
    let t = relay();
    let mut w = RecordWriter::new(Vec::new());
    let mut reader = RecordReader::new(&out.stdout[..]);
    let header = match reader.next_record().unwrap() {
        Some(Record::Header(h)) => h,
        other => panic!("{other:?}"),
    };
    w.write_header(&header).unwrap();
    for line in &good {
        for r in t.apply(&Record::decode(line.as_bytes()).unwrap()).unwrap().records {
            w.write(&r).unwrap();
        }
    }
    let want = w.finish().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&want));
    while reader.next_record().unwrap().is_some() {}
    assert!(reader.all_sealed(), "the output's trailer must check");
}

#[test]
fn rejects_keep_their_line_numbers_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    let rejects = dir.path().join("rejects.ndjson");
    let mut text = String::new();
    text.push_str(LINES[0]);
    text.push('\n');
    text.push_str("{\"kind\":\"redis\",\"db\":0,\"key\":\"x\"\n"); // line 2: truncated
    text.push_str(LINES[10]); // line 3: a failing cast
    text.push('\n');
    text.push_str(LINES[13]); // line 4: unmatched
    text.push('\n');
    text.push_str(LINES[2]);
    text.push('\n');
    std::fs::write(&input, text).unwrap();
    let out = transform_bin()
        .args(["--spec", example("relay-to-mysql.toml").to_str().unwrap(), "-q", "--no-schema", "-i"])
        .arg(&input)
        .arg("--reject-file")
        .arg(&rejects)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<serde_json::Value> = rejected.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let numbers: Vec<u64> = lines.iter().filter_map(|l| l["rejected"]["line"].as_u64()).collect();
    assert_eq!(numbers, vec![2, 3, 4], "{rejected}");
    assert!(rejected.contains("rule \\\"usage_stats\\\""), "{rejected}");
    assert!(rejected.contains("no rule matches it"), "{rejected}");
    let rows = String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("\"kind\":\"row\"")).count();
    assert_eq!(rows, 2);
}

#[test]
fn an_altered_stream_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    let mut bytes = sealed(&LINES[..3]);
    let at = bytes.windows(4).position(|w| w == b"1000").unwrap();
    bytes[at] = b'2';
    std::fs::write(&input, bytes).unwrap();
    let out = transform_bin()
        .args(["--spec", example("relay-to-mysql.toml").to_str().unwrap(), "-q", "-i"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 5") && err.contains("digest mismatch"), "{err}");
}

fn row(table: &str, cols: &[(&str, Value)]) -> String {
    Record::Row(Row {
        table: table.into(),
        data: RowData(cols.iter().map(|(k, v)| ((*k).into(), v.clone())).collect()),
    })
    .to_json_string()
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

/// Runs the warm-up spec over rows; returns the output records and the reject file.
fn warm(lines: &[String]) -> (i32, Vec<Record>, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    let rejects = dir.path().join("rejects.ndjson");
    let mut f = std::fs::File::create(&input).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let out = transform_bin()
        .args(["--spec", example("mysql-to-relay.toml").to_str().unwrap(), "-q", "-i"])
        .arg(&input)
        .arg("--reject-file")
        .arg(&rejects)
        .output()
        .unwrap();
    let records =
        RecordReader::new(&out.stdout[..]).map(|r| r.unwrap()).filter(|r| matches!(r, Record::Redis(_))).collect();
    (out.status.code().unwrap(), records, std::fs::read_to_string(&rejects).unwrap_or_default())
}

fn usage_record(key: &str, pos: i128, cost: &str) -> String {
    row(
        "usage_records",
        &[
            ("key_id", s(key)),
            ("position", Value::Int(pos)),
            ("timestamp", s("2025-03-04T05:06:07.080")),
            ("model", s("claude")),
            ("input_tokens", Value::Int(5)),
            ("output_tokens", Value::Int(6)),
            ("cost", s(cost)),
            ("status", Value::Int(200)),
        ],
    )
}

#[test]
fn warm_up_folds_list_rows_in_position_order_into_the_original_json() {
    let lines = vec![
        usage_record("k1", 0, "0.000015"),
        usage_record("k1", 1, "0.250000"),
        usage_record("k2", 0, "1.000000"),
        usage_record("k2", 1, "0.5"),
        usage_record("k2", 1, "0.5"), // out of order: rejected
        usage_record("k1", 2, "0.1"), // k1 again, not contiguous: rejected
    ];
    let (code, records, rejects) = warm(&lines);
    assert_eq!(code, 1, "{rejects}");
    let keys: Vec<&RedisRecord> =
        records.iter().filter_map(|r| if let Record::Redis(k) = r { Some(k) } else { None }).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0].key, b"usage:records:k1");
    let elem = |c: &str| {
        format!(r#"{{"timestamp":"2025-03-04T05:06:07.080Z","model":"claude","inputTokens":5,"outputTokens":6,"cost":{c},"status":200}}"#)
            .into_bytes()
    };
    // As Python's json.dumps(…, separators=(",", ":")) wrote them.
    assert_eq!(keys[0].value, RedisValue::List(vec![elem("1.5e-05"), elem("0.25")]));
    assert_eq!(keys[1].value, RedisValue::List(vec![elem("1.0"), elem("0.5")]));
    assert_eq!((keys[0].part, keys[1].part), (None, None));
    assert!(rejects.contains("out of order") && rejects.contains("not contiguous"), "{rejects}");
    assert!(rejects.contains("\"line\":5") && rejects.contains("\"line\":6"), "{rejects}");
}

#[test]
fn warm_up_folds_stream_entries_and_the_hash_map_into_one_key_each() {
    let mut lines = Vec::new();
    for i in 0..3 {
        lines.push(row(
            "events",
            &[
                ("id", s(&format!("1735689600000-{i}"))),
                ("type", s("req")),
                ("key_id", s("k1")),
                ("latency_ms", Value::Int(10 + i)),
            ],
        ));
    }
    for i in 0..25_000 {
        lines.push(row("api_key_hashes", &[("api_key_hash", s(&format!("h{i:05}"))), ("key_id", s("k"))]));
    }
    let (code, records, rejects) = warm(&lines);
    assert_eq!(code, 0, "{rejects}");
    let keys: Vec<&RedisRecord> =
        records.iter().filter_map(|r| if let Record::Redis(k) = r { Some(k) } else { None }).collect();
    let stream = keys.iter().find(|k| k.key == b"events:stream").unwrap();
    let RedisValue::Stream(sv) = &stream.value else { panic!("{stream:?}") };
    assert_eq!(sv.entries.len(), 3);
    assert_eq!(sv.entries[2].id, "1735689600000-2");
    assert_eq!(
        sv.entries[2].fields,
        vec![
            (b"type".to_vec(), b"req".to_vec()),
            (b"keyId".to_vec(), b"k1".to_vec()),
            (b"latencyMs".to_vec(), b"12".to_vec())
        ]
    );
    // 25,000 fields: one key in three parts, the last marked.
    let parts: Vec<(Option<u32>, bool, usize)> =
        keys.iter().filter(|k| k.key == b"apikey_hash_map").map(|k| (k.part, k.last, k.value.len())).collect();
    assert_eq!(parts, vec![(Some(0), false, 10_000), (Some(1), false, 10_000), (Some(2), true, 5_000)]);
}

/// The header and schema lines go out as soon as the input's header is in,
/// before any row: an importer downstream creates its tables while the
/// first rows are still being read and transformed (not after the first
/// output buffer fills).
#[test]
fn schema_lines_go_out_before_the_first_row_is_read() {
    use std::io::{BufRead as _, BufReader};
    let mut child = transform_bin()
        // A header without its trailer: the input is cut short below.
        .args(["--spec", example("relay-to-mysql.toml").to_str().unwrap(), "-q", "--allow-unsealed"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut header = Vec::new();
    Record::Header(Header::new("test", None)).encode(&mut header);
    header.push(b'\n');
    stdin.write_all(&header).unwrap();
    stdin.flush().unwrap();
    // The input stays open: these lines can only come from the early flush.
    let schemas = relay().schemas().len();
    assert!(schemas > 0);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    // Read on a thread: without the early flush nothing comes until the
    // input ends, which only a guard (generous, not a timing) can tell.
    let (tx, rx) = std::sync::mpsc::channel();
    let reading = std::thread::spawn(move || {
        let mut kinds = Vec::new();
        for _ in 0..=schemas {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            let rec = serde_json::from_str::<serde_json::Value>(&line).unwrap();
            kinds.push(rec["kind"].as_str().unwrap_or_default().to_owned());
        }
        tx.send(kinds).unwrap();
        out
    });
    let Ok(kinds) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
        let _ = child.kill();
        panic!("no schema lines while the input was open");
    };
    let mut out = reading.join().unwrap();
    assert_eq!(kinds[0], "header");
    assert!(kinds[1..].iter().all(|k| k == "schema"), "{kinds:?}");
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(rest.starts_with("{\"kind\":\"end\""), "{rest}");
}
