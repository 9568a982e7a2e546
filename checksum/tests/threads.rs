//! `decant-checksum -j N`: the digests (and a broken stream's reason, with its
//! line number) do not depend on the number of threads.

use std::path::Path;
use std::process::Command;

use decant_record::{Record, RecordWriter, RedisRecord, RedisValue, Row, RowData, Value};

/// A stream of several batches: rows, whole keys and keys split into parts.
fn stream() -> Vec<u8> {
    let mut w = RecordWriter::new(Vec::new());
    for i in 0..30_000i64 {
        let data = RowData(vec![
            ("id".into(), Value::Int(i.into())),
            ("at".into(), Value::String(format!("2025-01-01 09:30:{:02}.{i:06}", i % 60))),
        ]);
        w.write(&Record::Row(Row { table: "t".into(), data })).unwrap();
        if i % 7 == 0 {
            let items = vec![format!("item {i}").into_bytes(), b"x".to_vec()];
            let mut part = RedisRecord::new(0, format!("list:{}", i / 70).into_bytes(), RedisValue::List(items));
            part.part = Some((i / 7 % 10) as u32);
            part.last = i / 7 % 10 == 9;
            w.write(&Record::Redis(part)).unwrap();
        }
        if i % 11 == 0 {
            let value = RedisValue::String(format!("value {i}").into_bytes());
            w.write(&Record::Redis(RedisRecord::new(0, format!("s:{i}").into_bytes(), value))).unwrap();
        }
    }
    w.finish().unwrap()
}

fn checksum(threads: &str, file: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_decant-checksum")).args(["-j", threads]).arg(file).output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn digests_do_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.ndjson");
    std::fs::write(&file, stream()).unwrap();
    let one = checksum("1", &file);
    assert_eq!(one.0, Some(0));
    assert!(one.1.contains("sealed  "), "{}", one.1);
    assert!(one.1.contains("  30000  table:t"), "{}", one.1);
    assert_eq!(checksum("3", &file), one);
    assert_eq!(checksum("2", &file), one);
}

#[test]
fn a_broken_line_is_reported_at_its_number_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.ndjson");
    let mut bytes = stream();
    // Break line 20000.
    let start: usize = bytes.split(|b| *b == b'\n').take(19_999).map(|l| l.len() + 1).sum();
    bytes[start] = b'x';
    std::fs::write(&file, bytes).unwrap();
    let one = checksum("1", &file);
    assert_eq!(one.0, Some(1));
    assert!(one.1.contains("broken  ") && one.1.contains("# line 20000: "), "{}", one.1);
    assert_eq!(checksum("2", &file), one);
    assert_eq!(checksum("3", &file), one);
}
