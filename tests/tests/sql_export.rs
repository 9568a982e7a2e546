//! End-to-end tests of `mysql-export`, `pg-export` and `sqlite-export`
//! against throwaway MariaDB / PostgreSQL servers and temp SQLite files:
//! every type exported exactly (checked value by value against what was
//! inserted), the schema line, dependency order, filters, `--jobs`, the
//! sealed trailer, and errors.
//!
//! The MariaDB server runs with `--default-time-zone=+02:00` and PostgreSQL
//! with `timezone=Asia/Kolkata` on purpose: nothing may shift.

use std::collections::BTreeMap;

use decant_record::digest::{CanonicalOptions, Digester};
use decant_record::{Column, LogicalType, Record, RecordReader, TableSchema, Value};
use decant_tests::{mariadb, postgres, run, Output, Workdir};

/// A parsed export: schemas in stream order, rows by table.
struct Export {
    schemas: Vec<TableSchema>,
    rows: BTreeMap<String, Vec<Vec<(String, Value)>>>,
    sealed: bool,
    digest: String,
}

fn parse(out: &Output) -> Export {
    let mut reader = RecordReader::new(&out.stdout[..]);
    let mut schemas = Vec::new();
    let mut rows: BTreeMap<String, Vec<Vec<(String, Value)>>> = BTreeMap::new();
    let mut digester = Digester::new(CanonicalOptions::default());
    let mut first = true;
    while let Some(rec) = reader.next_record().unwrap_or_else(|e| panic!("bad stream: {e}\n{}", out.stderr)) {
        if first {
            assert!(matches!(rec, Record::Header(_)), "the first line must be the header");
            first = false;
        }
        digester.add(&rec);
        match rec {
            Record::Schema(s) => {
                assert!(!rows.contains_key(&s.table), "schema of {} after its rows", s.table);
                schemas.push(s)
            }
            Record::Row(r) => {
                assert!(schemas.iter().any(|s| s.table == r.table), "row of {} before its schema", r.table);
                rows.entry(r.table).or_default().push(r.data.0)
            }
            _ => {}
        }
    }
    let digest = digester
        .finish()
        .into_iter()
        .map(|(k, d)| format!("{k} {} {}", d.hex(), d.count))
        .collect::<Vec<_>>()
        .join("\n");
    Export { schemas, rows, sealed: reader.all_sealed() && !out.stdout.is_empty(), digest }
}

impl Export {
    fn schema(&self, table: &str) -> &TableSchema {
        self.schemas.iter().find(|s| s.table == table).unwrap_or_else(|| panic!("no schema for {table}"))
    }
    fn table_order(&self) -> Vec<&str> {
        self.schemas.iter().map(|s| s.table.as_str()).collect()
    }
    fn rows(&self, table: &str) -> &[Vec<(String, Value)>] {
        self.rows.get(table).map(Vec::as_slice).unwrap_or(&[])
    }
    /// The row of `table` whose `key` column is `id`.
    fn row(&self, table: &str, key: &str, id: i128) -> BTreeMap<String, Value> {
        self.rows(table)
            .iter()
            .find(|r| r.iter().any(|(k, v)| k == key && *v == Value::Int(id)))
            .unwrap_or_else(|| panic!("no row {key}={id} in {table}"))
            .iter()
            .cloned()
            .collect()
    }
}

fn col<'a>(s: &'a TableSchema, name: &str) -> &'a Column {
    s.column(name).unwrap_or_else(|| panic!("no column {name} in {}", s.table))
}

fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

/// Asserts every listed column of `row` and that no other column exists.
fn assert_row(row: &BTreeMap<String, Value>, expected: &[(&str, Value)]) {
    for (name, want) in expected {
        let got = row.get(*name).unwrap_or_else(|| panic!("column {name} missing from {row:?}"));
        assert_eq!(got, want, "column {name}: got {}, want {}", got.to_json_string(), want.to_json_string());
    }
    assert_eq!(row.len(), expected.len(), "columns: {:?}", row.keys().collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------
// MariaDB

const MYSQL_TYPES: &str = "
CREATE TABLE types (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  u64 BIGINT UNSIGNED, i64 BIGINT, i8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, m24 MEDIUMINT UNSIGNED,
  i32 INT NOT NULL DEFAULT 7,
  flag TINYINT(1) NOT NULL DEFAULT 0,
  dec65 DECIMAL(65,30), price DECIMAL(10,2) UNSIGNED DEFAULT '9.99',
  f FLOAT, d DOUBLE,
  dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, dt0 DATETIME, da DATE, t TIME(3), y YEAR,
  created DATETIME DEFAULT CURRENT_TIMESTAMP,
  j JSON,
  vc VARCHAR(100) COLLATE utf8mb4_unicode_ci, ch CHAR(5), tx TEXT,
  lat VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci,
  vb VARBINARY(50), fb BINARY(4), bl BLOB,
  e ENUM('small','medium','large') DEFAULT 'small', st SET('a','b','c'),
  bits BIT(10), uid UUID
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='every type';
SET time_zone = '+02:00';
INSERT INTO types (id, u64, i64, i8, u8, i16, m24, i32, flag, dec65, price, f, d, dt, ts, dt0, da, t, y, j, vc, ch, tx,
  lat, vb, fb, bl, e, st, bits, uid) VALUES
 (1, 18446744073709551615, -9223372036854775808, -128, 255, -32768, 16777215, -2147483648, 1,
  '12345678901234567890123456789012345.123456789012345678901234567890', 0.00, 0.1, 0.30000000000000004,
  '2025-01-01 09:30:00.123456', '2025-06-01 12:00:00.654321', '1999-12-31 23:59:59', '2025-02-28',
  '-838:59:59.000', 2155,
  '{\"emoji\":\"😀\",\"nested\":{\"a\":[1,2.5,null,true]},\"ü\":\"ñ\",\"$int\":\"x\"}',
  '😀 emoji 𝄞 ok', 'ab', '', 'café', X'00FF80', X'00000001', X'C328000A',
  'medium', 'a,c', b'1010101010', '123e4567-e89b-12d3-a456-426614174000'),
 (2, 9007199254740993, 9007199254740992, 0, 0, 0, 0, 0, 0,
  '-0.000000000000000000000000000001', 12345678.90, 16777217, -1.7976931348623157e308,
  '1000-01-01 00:00:00.000001', '1970-01-01 02:00:01.000000', '9999-12-31 23:59:59', '1000-01-01',
  '12:34:56.789', 1901, '[]', '', 'abcde', NULL, NULL, X'', X'', X'',
  'large', '', b'0', NULL);
SET sql_mode = '';
INSERT INTO types (id, dt, dt0, da, ts, flag) VALUES (3, '0000-00-00 00:00:00', '2025-00-00 00:00:00', '0000-00-00', '0000-00-00 00:00:00', 5);
";

#[test]
fn mysql_every_type_is_exported_exactly() {
    let db = mariadb();
    let name = db.fresh_database("myexp_types");
    db.query(&name, MYSQL_TYPES);
    let out = run("mysql-export").args(["--url", &db.url(&name)]).assert_success();
    let ex = parse(&out);
    assert!(ex.sealed, "the stream must end with a valid trailer");
    assert!(out.stderr.contains("flag") && out.stderr.contains("holds 5"), "TINYINT(1) warning: {}", out.stderr);

    // The raw encodings of the values that plain JSON cannot carry.
    let text = out.stdout_str();
    assert!(text.contains(r#""u64":{"$int":"18446744073709551615"}"#), "{text}");
    assert!(text.contains(r#""i64":{"$int":"-9223372036854775808"}"#), "{text}");
    assert!(text.contains(r#""dt0":{"$zero_date":"2025-00-00 00:00:00"}"#), "{text}");

    let r1 = ex.row("types", "id", 1);
    assert_row(
        &r1,
        &[
            ("id", Value::Int(1)),
            ("u64", Value::Int(18446744073709551615)),
            ("i64", Value::Int(-9223372036854775808)),
            ("i8", Value::Int(-128)),
            ("u8", Value::Int(255)),
            ("i16", Value::Int(-32768)),
            ("m24", Value::Int(16777215)),
            ("i32", Value::Int(-2147483648)),
            ("flag", Value::Bool(true)),
            ("dec65", s("12345678901234567890123456789012345.123456789012345678901234567890")),
            ("price", s("0.00")),
            ("f", Value::Float(0.1f32 as f64)),
            ("d", Value::Float(0.30000000000000004)),
            ("dt", s("2025-01-01T09:30:00.123456")),
            // Inserted at +02:00: the instant in UTC.
            ("ts", s("2025-06-01T10:00:00.654321Z")),
            ("dt0", s("1999-12-31T23:59:59")),
            ("da", s("2025-02-28")),
            ("t", s("-838:59:59.000")),
            ("y", Value::Int(2155)),
            ("created", r1["created"].clone()),
            (
                "j",
                // MariaDB keeps JSON text verbatim: members in the order inserted.
                Value::Object(vec![
                    ("emoji".into(), s("😀")),
                    (
                        "nested".into(),
                        Value::Object(vec![(
                            "a".into(),
                            Value::Array(vec![Value::Int(1), Value::Float(2.5), Value::Null, Value::Bool(true)]),
                        )]),
                    ),
                    ("ü".into(), s("ñ")),
                    ("$int".into(), s("x")),
                ]),
            ),
            ("vc", s("😀 emoji 𝄞 ok")),
            ("ch", s("ab")),
            ("tx", s("")),
            ("lat", s("café")),
            ("vb", Value::Bytes(vec![0x00, 0xff, 0x80])),
            ("fb", Value::Bytes(vec![0, 0, 0, 1])),
            ("bl", Value::Bytes(vec![0xc3, 0x28, 0x00, 0x0a])),
            ("e", s("medium")),
            ("st", s("a,c")),
            ("bits", Value::Int(0b1010101010)),
            ("uid", s("123e4567-e89b-12d3-a456-426614174000")),
        ],
    );
    assert!(matches!(&r1["created"], Value::String(t) if t.len() == 19 && t.as_bytes()[10] == b'T'));

    let r2 = ex.row("types", "id", 2);
    assert_eq!(r2["u64"], Value::Int(9007199254740993));
    assert_eq!(r2["i64"], Value::Int(9007199254740992));
    assert_eq!(r2["flag"], Value::Bool(false));
    assert_eq!(r2["dec65"], s("-0.000000000000000000000000000001"));
    assert_eq!(r2["price"], s("12345678.90"));
    assert_eq!(r2["f"], Value::Float(16777216.0));
    assert_eq!(r2["d"], Value::Float(-1.7976931348623157e308));
    assert_eq!(r2["dt"], s("1000-01-01T00:00:00.000001"));
    assert_eq!(r2["ts"], s("1970-01-01T00:00:01.000000Z"));
    assert_eq!(r2["t"], s("12:34:56.789"));
    assert_eq!(r2["j"], Value::Array(vec![]));
    // NULL and the empty string stay apart, for text and bytes.
    assert_eq!(r2["vc"], s(""));
    assert_eq!(r2["tx"], Value::Null);
    assert_eq!(r2["vb"], Value::Bytes(vec![]));
    assert_eq!(r2["fb"], Value::Bytes(vec![0, 0, 0, 0]), "BINARY(4) pads with NUL bytes");
    assert_eq!(r2["st"], s(""));
    assert_eq!(r2["bits"], Value::Int(0));
    assert_eq!(r2["uid"], Value::Null);

    let r3 = ex.row("types", "id", 3);
    assert_eq!(r3["dt"], Value::ZeroDate("0000-00-00 00:00:00.000000".into()));
    assert_eq!(r3["dt0"], Value::ZeroDate("2025-00-00 00:00:00".into()));
    assert_eq!(r3["da"], Value::ZeroDate("0000-00-00".into()));
    assert_eq!(r3["ts"], Value::ZeroDate("0000-00-00 00:00:00.000000".into()));
    assert_eq!(r3["flag"], Value::Int(5), "a TINYINT(1) holding 5 is not squashed to true");
    assert_eq!(r3["i32"], Value::Int(7));
    assert_eq!(r3["e"], s("small"));

    // The schema line.
    let sc = ex.schema("types");
    assert_eq!(sc.dialect.as_deref(), Some("mysql"));
    assert_eq!(sc.primary_key, vec!["id"]);
    assert_eq!(sc.charset.as_deref(), Some("utf8mb4"));
    assert_eq!(sc.collation.as_deref(), Some("utf8mb4_unicode_ci"));
    assert_eq!(sc.comment.as_deref(), Some("every type"));
    assert!(sc.estimated_rows.is_some());
    let id = col(sc, "id");
    assert_eq!((id.ty, id.nullable, id.auto_increment, id.unsigned), (LogicalType::Uint64, false, true, true));
    let types: Vec<(&str, LogicalType)> = sc.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect();
    use LogicalType as L;
    assert_eq!(
        types,
        vec![
            ("id", L::Uint64),
            ("u64", L::Uint64),
            ("i64", L::Int64),
            ("i8", L::Int8),
            ("u8", L::Uint8),
            ("i16", L::Int16),
            ("m24", L::Uint32),
            ("i32", L::Int32),
            ("flag", L::Bool),
            ("dec65", L::Decimal),
            ("price", L::Decimal),
            ("f", L::Float32),
            ("d", L::Float64),
            ("dt", L::Datetime),
            ("ts", L::Timestamp),
            ("dt0", L::Datetime),
            ("da", L::Date),
            ("t", L::Time),
            ("y", L::Year),
            ("created", L::Datetime),
            ("j", L::Json),
            ("vc", L::String),
            ("ch", L::String),
            ("tx", L::Text),
            ("lat", L::String),
            ("vb", L::Bytes),
            ("fb", L::Bytes),
            ("bl", L::Bytes),
            ("e", L::Enum),
            ("st", L::Set),
            ("bits", L::Bit),
            ("uid", L::Uuid),
        ]
    );
    let flag = col(sc, "flag");
    assert_eq!(flag.source_type.as_deref(), Some("tinyint(1)"));
    assert_eq!(flag.default, Some(Value::Bool(false)));
    assert!(!flag.nullable);
    assert_eq!(col(sc, "i32").default, Some(Value::Int(7)));
    let dec = col(sc, "dec65");
    assert_eq!((dec.precision, dec.scale), (Some(65), Some(30)));
    let price = col(sc, "price");
    assert_eq!((price.precision, price.scale, price.unsigned), (Some(10), Some(2), true));
    assert_eq!(price.default, Some(s("9.99")));
    assert_eq!(col(sc, "dt").precision, Some(6));
    assert_eq!(col(sc, "dt0").precision, Some(0));
    assert_eq!(col(sc, "t").precision, Some(3));
    assert_eq!(col(sc, "created").default_expr.as_deref(), Some("current_timestamp"));
    assert_eq!(col(sc, "j").source_type.as_deref(), Some("json"));
    let vc = col(sc, "vc");
    assert_eq!((vc.max_len, vc.fixed), (Some(100), false));
    assert_eq!(vc.collation.as_deref(), Some("utf8mb4_unicode_ci"));
    let ch = col(sc, "ch");
    assert_eq!((ch.max_len, ch.fixed), (Some(5), true));
    let lat = col(sc, "lat");
    assert_eq!((lat.charset.as_deref(), lat.collation.as_deref()), (Some("latin1"), Some("latin1_swedish_ci")));
    let fb = col(sc, "fb");
    assert_eq!((fb.max_len, fb.fixed), (Some(4), true));
    let e = col(sc, "e");
    assert_eq!(e.values.as_deref(), Some(&["small".to_owned(), "medium".to_owned(), "large".to_owned()][..]));
    assert_eq!(e.default, Some(s("small")));
    assert_eq!(col(sc, "st").values.as_ref().map(Vec::len), Some(3));
    assert_eq!(col(sc, "bits").len, Some(10));
}

const MYSQL_KEYS: &str = "
CREATE TABLE z_parent (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL, UNIQUE KEY uq_code (code));
CREATE TABLE a_child (
  id INT PRIMARY KEY, parent_id INT, x INT, y INT,
  KEY idx_xy (x, y),
  CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES z_parent (id) ON DELETE CASCADE
);
CREATE TABLE m_grandchild (
  a INT, b VARCHAR(5), child_id INT, PRIMARY KEY (a, b),
  CONSTRAINT fk_child FOREIGN KEY (child_id) REFERENCES a_child (id)
);
CREATE TABLE nopk (v TEXT);
CREATE TABLE blobs (id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT);
INSERT INTO blobs VALUES (1, REPEAT(X'00FF', 1500000), REPEAT('😀', 500000));
INSERT INTO z_parent VALUES (1, 'one'), (2, 'two'), (3, 'three');
INSERT INTO a_child VALUES (10, 1, 1, 2), (20, 2, 3, 4), (30, NULL, 5, 6);
INSERT INTO m_grandchild VALUES (1, 'x', 10);
INSERT INTO nopk VALUES ('a'), ('a'), (NULL);
";

#[test]
fn mysql_keys_dependency_order_and_filters() {
    let db = mariadb();
    let name = db.fresh_database("myexp_keys");
    db.query(&name, MYSQL_KEYS);
    let url = db.url(&name);
    let ex = parse(&run("mysql-export").args(["--url", &url]).assert_success());
    assert_eq!(ex.table_order(), vec!["blobs", "nopk", "z_parent", "a_child", "m_grandchild"]);
    // Multi-megabyte values arrive whole.
    let big = ex.row("blobs", "id", 1);
    assert!(matches!(&big["b"], Value::Bytes(b) if b.len() == 3_000_000 && b[..4] == [0, 255, 0, 255]));
    assert!(matches!(&big["t"], Value::String(t) if t.chars().count() == 500_000 && t.starts_with('😀')));
    let parent = ex.schema("z_parent");
    assert_eq!(parent.indexes.len(), 1);
    assert_eq!(parent.indexes[0].name, "uq_code");
    assert_eq!(parent.indexes[0].columns, vec!["code"]);
    assert!(parent.indexes[0].unique);
    let child = ex.schema("a_child");
    assert_eq!(
        child.indexes.iter().find(|i| i.name == "idx_xy").map(|i| (i.columns.clone(), i.unique)),
        Some((vec!["x".to_owned(), "y".to_owned()], false))
    );
    let fk = &child.foreign_keys[0];
    assert_eq!((fk.name.as_str(), fk.ref_table.as_str()), ("fk_parent", "z_parent"));
    assert_eq!((fk.columns.clone(), fk.ref_columns.clone()), (vec!["parent_id".to_owned()], vec!["id".to_owned()]));
    assert_eq!((fk.on_delete.as_deref(), fk.on_update.as_deref()), (Some("cascade"), None));
    assert_eq!(ex.schema("m_grandchild").primary_key, vec!["a", "b"]);
    assert_eq!(ex.rows("nopk").len(), 3);
    assert_eq!(ex.rows("a_child").len(), 3);
    // Rows come in primary-key order.
    let ids: Vec<Value> = ex.rows("a_child").iter().map(|r| r[0].1.clone()).collect();
    assert_eq!(ids, vec![Value::Int(10), Value::Int(20), Value::Int(30)]);

    // --tables (with a wildcard), --exclude, --where.
    let ex = parse(
        &run("mysql-export").args(["--url", &url, "--tables", "a_*,z_parent", "--exclude", "z_*"]).assert_success(),
    );
    assert_eq!(ex.table_order(), vec!["a_child"]);
    let ex = parse(
        &run("mysql-export")
            .args([
                "--url",
                &url,
                "--tables",
                "z_parent,a_child",
                "--where",
                "z_parent:code LIKE 't%'",
                "--where",
                "a_child:parent_id IS NULL",
            ])
            .assert_success(),
    );
    assert_eq!(ex.table_order(), vec!["z_parent", "a_child"]);
    let codes: Vec<Value> = ex.rows("z_parent").iter().map(|r| r[1].1.clone()).collect();
    assert_eq!(codes, vec![s("two"), s("three")]);
    assert_eq!(ex.rows("a_child").len(), 1);

    // A closed pipe (`mysql-export | head`) ends the export quietly, with status 0.
    let outs =
        run("mysql-export").args(["--url", &url]).pipe(decant_tests::Cmd::new("head").args(["-c", "100"])).output();
    assert_eq!(outs[0].code(), Some(0), "{:?}", outs[0]);
    assert_eq!(outs[1].stdout.len(), 100);

    // A missing table is a usage error.
    run("mysql-export")
        .args(["--url", &url, "--tables", "nope"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("mysql-export: --tables: no table named \"nope\"");
    run("mysql-export")
        .args(["--url", &url, "--where", "nope:1=1"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("--where: table \"nope\" is not exported");
    // A bad condition names the table.
    run("mysql-export")
        .args(["--url", &url, "--where", "z_parent:no_such_column = 1"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("reading table \"z_parent\"");
}

#[test]
fn mysql_jobs_give_the_same_content_as_one_job() {
    let db = mariadb();
    let name = db.fresh_database("myexp_jobs");
    db.query(
        &name,
        "SET max_recursive_iterations = 100000;
         CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20), d DECIMAL(10,3));
         CREATE TABLE strkey (k VARCHAR(10) PRIMARY KEY, n INT);
         INSERT INTO big WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2500)
           SELECT n, CONCAT('v', n), n / 7 FROM s;
         INSERT INTO strkey WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 300)
           SELECT CONCAT('k', n), n FROM s;",
    );
    let url = db.url(&name);
    let one = parse(&run("mysql-export").args(["--url", &url]).assert_success());
    let out = run("mysql-export").args(["--url", &url, "--jobs", "4", "--chunk-rows", "100"]).assert_success();
    let four = parse(&out);
    assert!(one.sealed && four.sealed);
    assert_eq!(one.rows("big").len(), 2500);
    assert_eq!(four.rows("big").len(), 2500);
    assert_eq!(four.rows("strkey").len(), 300);
    assert_eq!(one.digest, four.digest);
    assert_eq!(one.table_order(), four.table_order());
    // The summary counts each table.
    assert!(out.stderr.contains("big") && out.stderr.contains("2,500"), "{}", out.stderr);

    // -o FILE.zst writes the same stream, compressed.
    let wd = Workdir::new("myexp-jobs");
    let file = wd.join("out.ndjson.zst");
    run("mysql-export").args(["--url", &url, "-o"]).arg(&file).arg("--quiet").assert_success();
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..4], &[0x28, 0xB5, 0x2F, 0xFD]);
    let unz = decant_tests::Cmd::new("zstd").args(["-dc"]).arg(&file).assert_success();
    let again = parse(&unz);
    assert!(again.sealed);
    assert_eq!(again.digest, one.digest);
}

#[test]
fn mysql_errors_exit_2_and_hide_the_password() {
    let db = mariadb();
    // Wrong password: the server refuses; the password is never printed.
    let url = format!("mysql://root:Sup3rSecretPw@127.0.0.1:{}/mysql", db.port());
    let out = run("mysql-export").args(["--url", &url]).output().assert_code(2);
    assert!(!out.stderr.contains("Sup3rSecretPw"), "{}", out.stderr);
    assert!(out.stderr.starts_with("mysql-export: "), "{}", out.stderr);
    assert!(out.stdout.is_empty() || !out.stdout_str().contains("Sup3rSecretPw"));
    // From the environment too.
    let out = run("mysql-export").env("SOURCE_URL", &url).output().assert_code(2);
    assert!(!out.stderr.contains("Sup3rSecretPw"), "{}", out.stderr);
    // No URL at all.
    run("mysql-export").output().assert_code(2).assert_stderr_contains("SOURCE_URL");
    // A URL of another store.
    run("mysql-export")
        .args(["--url", "postgres://u:pw12345@h/db"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("not a MySQL URL");
    // No such database.
    run("mysql-export")
        .args(["--url", &db.url("no_such_db")])
        .output()
        .assert_code(2)
        .assert_stderr_contains("no_such_db");
}

// ---------------------------------------------------------------------------
// PostgreSQL

const PG_TYPES: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN amount AS numeric(10,2);
CREATE TABLE types (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  i2 SMALLINT, i4 INTEGER NOT NULL DEFAULT 42, i8 BIGINT,
  n NUMERIC(65,30), nn NUMERIC, f4 REAL, f8 DOUBLE PRECISION,
  b BOOLEAN DEFAULT true, tx TEXT, vc VARCHAR(10) DEFAULT 'x''y', ch CHAR(3),
  by BYTEA, da DATE, t TIME(3), ttz TIMETZ, ts TIMESTAMP(6), tstz TIMESTAMPTZ(6) DEFAULT now(), iv INTERVAL,
  j JSON, jb JSONB, u UUID, ai INTEGER[], at TEXT[], an NUMERIC[], m mood, bt BIT(8), dom posint, amt amount
);
COMMENT ON TABLE types IS 'every type';
SET timezone = 'Asia/Kolkata';
INSERT INTO types (id, i2, i4, i8, n, nn, f4, f8, b, tx, vc, ch, by, da, t, ttz, ts, tstz, iv, j, jb, u, ai, at, an, m, bt, dom, amt) VALUES
 (1, -32768, 2147483647, -9223372036854775808,
  '12345678901234567890123456789012345.123456789012345678901234567890', 'NaN', 0.1, 0.30000000000000004,
  true, '😀 emoji 𝄞', 'a''b"c', 'ab', '\x00ff80c328'::bytea, '2025-02-28', '23:59:59.999', '09:30:00+05:30',
  '2025-01-01 09:30:00.123456', '2025-06-01 12:00:00.654321+05:30', '1 year 2 months 3 days 04:05:06',
  '{"b": 1, "a": "ü"}', '{"nested": {"x": [1, 2.5, null]}, "emoji": "😀"}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{"a b","c,d","e\"f",NULL,"NULL",""}', '{1.50,-0.001}',
  'happy', B'10100101', 5, 12.5),
 (2, 0, 0, 9223372036854775807, '-0.000000000000000000000000000001', '1e-20', 'NaN', 'Infinity',
  false, '', '', NULL, '\x'::bytea, '0001-01-01', '00:00:00', NULL, '1970-01-01 00:00:00', '1970-01-01 00:00:00+00',
  '-1 days', 'null', '[]', NULL, '{}', '{}', NULL, 'sad', B'00000000', NULL, NULL),
 (3, NULL, 1, NULL, NULL, NULL, '-Infinity', '-0', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  'infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

#[test]
fn pg_every_type_is_exported_exactly() {
    let pg = postgres();
    let name = pg.fresh_database("pgexp_types");
    pg.query(&name, PG_TYPES);
    let out = run("pg-export").args(["--url", &pg.url(&name)]).assert_success();
    let ex = parse(&out);
    assert!(ex.sealed);
    let r1 = ex.row("types", "id", 1);
    assert_row(
        &r1,
        &[
            ("id", Value::Int(1)),
            ("i2", Value::Int(-32768)),
            ("i4", Value::Int(2147483647)),
            ("i8", Value::Int(-9223372036854775808)),
            ("n", s("12345678901234567890123456789012345.123456789012345678901234567890")),
            ("nn", s("NaN")),
            ("f4", Value::Float(0.1f32 as f64)),
            ("f8", Value::Float(0.30000000000000004)),
            ("b", Value::Bool(true)),
            ("tx", s("😀 emoji 𝄞")),
            ("vc", s("a'b\"c")),
            ("ch", s("ab ")),
            ("by", Value::Bytes(vec![0x00, 0xff, 0x80, 0xc3, 0x28])),
            ("da", s("2025-02-28")),
            ("t", s("23:59:59.999")),
            ("ttz", s("09:30:00+05:30")),
            ("ts", s("2025-01-01T09:30:00.123456")),
            // Inserted at +05:30: the instant in UTC.
            ("tstz", s("2025-06-01T06:30:00.654321Z")),
            ("iv", s("P1Y2M3DT4H5M6S")),
            // json (not jsonb) keeps the text's member order.
            ("j", Value::Object(vec![("b".into(), Value::Int(1)), ("a".into(), s("ü"))])),
            (
                "jb",
                Value::Object(vec![
                    ("emoji".into(), s("😀")),
                    (
                        "nested".into(),
                        Value::Object(vec![(
                            "x".into(),
                            Value::Array(vec![Value::Int(1), Value::Float(2.5), Value::Null]),
                        )]),
                    ),
                ]),
            ),
            ("u", s("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
            ("ai", Value::Array(vec![Value::Int(1), Value::Null, Value::Int(3)])),
            ("at", Value::Array(vec![s("a b"), s("c,d"), s("e\"f"), Value::Null, s("NULL"), s("")])),
            ("an", Value::Array(vec![s("1.50"), s("-0.001")])),
            ("m", s("happy")),
            ("bt", Value::Int(0b10100101)),
            ("dom", Value::Int(5)),
            ("amt", s("12.50")),
        ],
    );
    let text = out.stdout_str();
    assert!(text.contains(r#""i8":{"$int":"-9223372036854775808"}"#), "{text}");
    assert!(text.contains(r#""f4":{"$float":"nan"}"#), "{text}");

    let r2 = ex.row("types", "id", 2);
    assert_eq!(r2["i8"], Value::Int(9223372036854775807));
    assert_eq!(r2["n"], s("-0.000000000000000000000000000001"));
    assert_eq!(r2["nn"], s("0.00000000000000000001"));
    assert!(matches!(r2["f4"], Value::Float(f) if f.is_nan()));
    assert_eq!(r2["f8"], Value::Float(f64::INFINITY));
    assert_eq!(r2["b"], Value::Bool(false));
    assert_eq!(r2["tx"], s(""));
    assert_eq!(r2["ch"], Value::Null);
    assert_eq!(r2["by"], Value::Bytes(vec![]));
    assert_eq!(r2["da"], s("0001-01-01"));
    assert_eq!(r2["ts"], s("1970-01-01T00:00:00"));
    assert_eq!(r2["tstz"], s("1970-01-01T00:00:00Z"));
    assert_eq!(r2["iv"], s("P-1D"));
    assert_eq!(r2["j"], Value::Null, "a JSON null document is exported as JSON null");
    assert_eq!(r2["jb"], Value::Array(vec![]));
    assert_eq!(r2["ai"], Value::Array(vec![]));
    let r3 = ex.row("types", "id", 3);
    assert_eq!(r3["f4"], Value::Float(f64::NEG_INFINITY));
    assert_eq!(r3["f8"], Value::Float(-0.0));
    assert_eq!(r3["tstz"], s("infinity"));
    assert_eq!(r3["tx"], Value::Null);

    let sc = ex.schema("types");
    assert_eq!(sc.dialect.as_deref(), Some("postgres"));
    assert_eq!(sc.primary_key, vec!["id"]);
    assert_eq!(sc.comment.as_deref(), Some("every type"));
    use LogicalType as L;
    let types: Vec<(&str, LogicalType)> = sc.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect();
    assert_eq!(
        types,
        vec![
            ("id", L::Int64),
            ("i2", L::Int16),
            ("i4", L::Int32),
            ("i8", L::Int64),
            ("n", L::Decimal),
            ("nn", L::Decimal),
            ("f4", L::Float32),
            ("f8", L::Float64),
            ("b", L::Bool),
            ("tx", L::Text),
            ("vc", L::String),
            ("ch", L::String),
            ("by", L::Bytes),
            ("da", L::Date),
            ("t", L::Time),
            ("ttz", L::Time),
            ("ts", L::Datetime),
            ("tstz", L::Timestamp),
            ("iv", L::Interval),
            ("j", L::Json),
            ("jb", L::Json),
            ("u", L::Uuid),
            ("ai", L::Array),
            ("at", L::Array),
            ("an", L::Array),
            ("m", L::Enum),
            ("bt", L::Bit),
            ("dom", L::Int32),
            ("amt", L::Decimal),
        ]
    );
    let id = col(sc, "id");
    assert!(id.auto_increment && !id.nullable);
    assert_eq!(col(sc, "i4").default, Some(Value::Int(42)));
    assert!(!col(sc, "i4").nullable);
    assert_eq!(col(sc, "b").default, Some(Value::Bool(true)));
    assert_eq!(col(sc, "vc").default, Some(s("x'y")));
    assert_eq!(col(sc, "vc").max_len, Some(10));
    assert_eq!((col(sc, "ch").max_len, col(sc, "ch").fixed), (Some(3), true));
    assert_eq!(col(sc, "tstz").default_expr.as_deref(), Some("current_timestamp"));
    assert_eq!(col(sc, "tstz").precision, Some(6));
    assert_eq!(col(sc, "t").precision, Some(3));
    let n = col(sc, "n");
    assert_eq!((n.precision, n.scale), (Some(65), Some(30)));
    assert_eq!((col(sc, "nn").precision, col(sc, "nn").scale), (None, None));
    assert_eq!(col(sc, "jb").source_type.as_deref(), Some("jsonb"));
    assert_eq!(col(sc, "ai").element, Some(L::Int32));
    assert_eq!(col(sc, "at").element, Some(L::Text));
    assert_eq!(col(sc, "an").element, Some(L::Decimal));
    assert_eq!(col(sc, "m").values.as_deref(), Some(&["sad".to_owned(), "ok".to_owned(), "happy".to_owned()][..]));
    assert_eq!(col(sc, "bt").len, Some(8));
    // Domains take their base type, source_type included: the target
    // database may not have the domain (issue 12: Sakila's `year`), and a
    // warning says its constraint is not carried.
    assert_eq!(col(sc, "dom").source_type.as_deref(), Some("integer"));
    assert_eq!((col(sc, "amt").precision, col(sc, "amt").scale), (Some(10), Some(2)));
}

const PG_KEYS: &str = "
CREATE TABLE z_parent (id INT PRIMARY KEY, code TEXT NOT NULL UNIQUE);
CREATE TABLE a_child (id SERIAL PRIMARY KEY, parent_id INT REFERENCES z_parent (id) ON DELETE SET NULL, x INT, y INT);
CREATE INDEX idx_xy ON a_child (x, y);
CREATE INDEX idx_partial ON a_child (x) WHERE x > 0;
CREATE TABLE big (id BIGINT PRIMARY KEY, v TEXT, ts TIMESTAMPTZ);
INSERT INTO z_parent VALUES (1, 'one'), (2, 'two'), (3, 'three');
INSERT INTO a_child (parent_id, x, y) VALUES (1, 1, 2), (2, 3, 4), (NULL, 5, 6);
INSERT INTO big SELECT g, 'v' || g, '2025-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 2500) g;
ANALYZE;
";

#[test]
fn pg_keys_order_filters_and_jobs() {
    let pg = postgres();
    let name = pg.fresh_database("pgexp_keys");
    pg.query(&name, PG_KEYS);
    let url = pg.url(&name);
    let out = run("pg-export").args(["--url", &url]).assert_success();
    assert!(out.stderr.contains("idx_partial"), "a skipped partial index is reported: {}", out.stderr);
    let one = parse(&out);
    assert_eq!(one.table_order(), vec!["big", "z_parent", "a_child"]);
    let child = one.schema("a_child");
    assert!(col(child, "id").auto_increment, "serial is auto_increment");
    assert_eq!(col(child, "id").default_expr, None);
    assert_eq!(child.indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), vec!["idx_xy"]);
    let fk = &child.foreign_keys[0];
    assert_eq!((fk.ref_table.as_str(), fk.on_delete.as_deref()), ("z_parent", Some("set null")));
    assert_eq!(fk.columns, vec!["parent_id"]);
    let parent = one.schema("z_parent");
    assert_eq!(parent.indexes.len(), 1);
    assert!(parent.indexes[0].unique && parent.indexes[0].columns == vec!["code"]);
    assert_eq!(one.schema("big").estimated_rows, Some(2500));

    let four = parse(&run("pg-export").args(["--url", &url, "-j", "4", "--chunk-rows", "100"]).assert_success());
    assert!(four.sealed);
    assert_eq!(four.rows("big").len(), 2500);
    assert_eq!(one.digest, four.digest);

    // Another schema.
    pg.query(&name, "CREATE SCHEMA billing; CREATE TABLE billing.invoices (id INT PRIMARY KEY, total NUMERIC(8,2)); INSERT INTO billing.invoices VALUES (1, 9.90);");
    let billing = parse(&run("pg-export").args(["--url", &url, "--schema", "billing"]).assert_success());
    assert_eq!(billing.table_order(), vec!["invoices"]);
    assert_eq!(billing.row("invoices", "id", 1)["total"], s("9.90"));

    let filtered = parse(
        &run("pg-export")
            .args(["--url", &url, "--tables", "z_parent", "--where", "z_parent:code LIKE 't%'"])
            .assert_success(),
    );
    assert_eq!(filtered.table_order(), vec!["z_parent"]);
    assert_eq!(filtered.rows("z_parent").len(), 2);
    run("pg-export")
        .args(["--url", &url, "--exclude", "big", "--tables", "bog"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("no table named \"bog\"");
    run("pg-export")
        .args(["--url", &url, "--schema", "nope"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("no schema \"nope\"");
    let out = run("pg-export")
        .args(["--url", &format!("postgres://nobody:Secr3tPgPw@127.0.0.1:{}/{name}", pg.port())])
        .output()
        .assert_code(2);
    assert!(!out.stderr.contains("Secr3tPgPw"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// SQLite

/// Regression (issue 12): pg-export read an inheritance parent without ONLY,
/// so every child row came out twice (once under the parent).
#[test]
fn pg_inheritance_and_partitions_are_read_once() {
    let pg = postgres();
    let name = pg.fresh_database("pgexp_inherit");
    pg.query(
        &name,
        "CREATE TABLE pay (id int PRIMARY KEY, amount numeric(5,2) NOT NULL);
         CREATE TABLE pay_2007 (CHECK (id >= 100)) INHERITS (pay);
         INSERT INTO pay VALUES (1, 1.00), (2, 2.00);
         INSERT INTO pay_2007 VALUES (100, 3.00), (101, 4.00), (102, 5.00);
         CREATE TABLE ev (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
           PARTITION BY RANGE (id);
         CREATE TABLE ev_2025_low PARTITION OF ev_2025 FOR VALUES FROM (0) TO (1000);
         INSERT INTO ev VALUES (1, '2024-05-01'), (2, '2025-05-01'), (3, '2025-06-01');",
    );
    let url = pg.url(&name);
    let ex = parse(&run("pg-export").args(["--url", &url]).assert_success());
    let ids = |t: &str| -> Vec<i128> {
        let mut v: Vec<i128> = ex.rows[t]
            .iter()
            .map(|r| match r.iter().find(|(k, _)| k == "id") {
                Some((_, Value::Int(i))) => *i,
                other => panic!("{t}: id {other:?}"),
            })
            .collect();
        v.sort();
        v
    };
    // The parent's own rows, the child's own rows: each once.
    assert_eq!(ids("pay"), vec![1, 2]);
    assert_eq!(ids("pay_2007"), vec![100, 101, 102]);
    // A partitioned table through its parent; its partitions (a sub-partitioned
    // one included) are not exported on their own.
    assert_eq!(ids("ev"), vec![1, 2, 3]);
    let mut tables = ex.table_order();
    tables.sort();
    assert_eq!(tables, vec!["ev", "pay", "pay_2007"]);
    // The same with --jobs (primary-key ranges) and --where.
    let jobs = parse(&run("pg-export").args(["--url", &url, "--jobs", "2"]).assert_success());
    assert_eq!(jobs.digest, ex.digest);
    let filtered = parse(&run("pg-export").args(["--url", &url, "--where", "pay:id > 1"]).assert_success());
    assert_eq!(filtered.rows["pay"].len(), 1);
    let help = run("pg-export").arg("--help").assert_success();
    assert!(help.stdout_str().contains("Inheritance is read with ONLY"), "{}", help.stdout_str());
}

#[test]
fn sqlite_types_keys_and_filters() {
    let wd = Workdir::new("sqlite-export");
    let db = wd.join("app.db");
    let sql = "
PRAGMA foreign_keys = ON;
CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE, active BOOLEAN DEFAULT 1,
  score REAL, balance DECIMAL(10,2), avatar BLOB, note TEXT DEFAULT 'n/a', created DATETIME DEFAULT CURRENT_TIMESTAMP, anything);
CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users ON DELETE CASCADE, title TEXT);
CREATE INDEX posts_user ON posts (user_id);
INSERT INTO users VALUES (1, 'a@example.com', 1, 1.5, 12.34, X'00FF', '😀 emoji', '2025-01-01 09:30:00', 9223372036854775807);
INSERT INTO users VALUES (2, 'b@example.com', 0, NULL, 10, X'', '', NULL, 'text');
INSERT INTO users VALUES (3, 'c@example.com', 2, -0.0, 'about 1', NULL, NULL, NULL, 2.5);
INSERT INTO posts (user_id, title) VALUES (1, 'hello'), (3, 'world');
";
    decant_tests::Cmd::new("sqlite3").arg(&db).stdin_bytes(sql).assert_success();
    let url = format!("sqlite://{}", db.display());
    let ex = parse(&run("sqlite-export").args(["--url", &url]).assert_success());
    assert!(ex.sealed);
    assert_eq!(ex.table_order(), vec!["users", "posts"]);
    let u = ex.schema("users");
    assert_eq!(u.dialect.as_deref(), Some("sqlite"));
    let id = col(u, "id");
    assert!(id.auto_increment && id.ty == LogicalType::Int64 && !id.nullable);
    assert_eq!(
        (col(u, "email").ty, col(u, "email").max_len, col(u, "email").nullable),
        (LogicalType::String, Some(255), false)
    );
    assert_eq!(col(u, "active").ty, LogicalType::Bool);
    assert_eq!(col(u, "active").default, Some(Value::Bool(true)));
    assert_eq!(col(u, "score").ty, LogicalType::Float64);
    let bal = col(u, "balance");
    assert_eq!((bal.ty, bal.precision, bal.scale), (LogicalType::Decimal, Some(10), Some(2)));
    assert_eq!(col(u, "avatar").ty, LogicalType::Bytes);
    assert_eq!(col(u, "note").default, Some(s("n/a")));
    assert_eq!(col(u, "created").ty, LogicalType::Datetime);
    assert_eq!(col(u, "created").default_expr.as_deref(), Some("current_timestamp"));
    assert_eq!(col(u, "anything").ty, LogicalType::Bytes);
    assert_eq!(u.indexes.len(), 1);
    assert!(u.indexes[0].unique && u.indexes[0].columns == vec!["email"]);
    let p = ex.schema("posts");
    assert_eq!(p.foreign_keys[0].ref_table, "users");
    assert_eq!(p.foreign_keys[0].ref_columns, vec!["id"], "an FK without columns references the parent's key");
    assert_eq!(p.foreign_keys[0].on_delete.as_deref(), Some("cascade"));
    assert_eq!(p.indexes[0].name, "posts_user");

    let r1 = ex.row("users", "id", 1);
    assert_row(
        &r1,
        &[
            ("id", Value::Int(1)),
            ("email", s("a@example.com")),
            ("active", Value::Bool(true)),
            ("score", Value::Float(1.5)),
            // NUMERIC affinity stores 12.34 as REAL; a decimal column stays an exact string.
            ("balance", s("12.34")),
            ("avatar", Value::Bytes(vec![0, 255])),
            ("note", s("😀 emoji")),
            ("created", s("2025-01-01 09:30:00")),
            ("anything", Value::Int(9223372036854775807)),
        ],
    );
    let r2 = ex.row("users", "id", 2);
    assert_eq!(r2["active"], Value::Bool(false));
    assert_eq!(r2["score"], Value::Null);
    // A whole number stored as INTEGER comes back with the column's scale.
    assert_eq!(r2["balance"], s("10.00"));
    assert_eq!(r2["avatar"], Value::Bytes(vec![]));
    assert_eq!(r2["note"], s(""));
    assert_eq!(r2["anything"], s("text"));
    let r3 = ex.row("users", "id", 3);
    assert_eq!(r3["active"], Value::Int(2));
    assert_eq!(r3["balance"], s("about 1"), "a TEXT value in a DECIMAL column stays text");
    assert_eq!(r3["anything"], Value::Float(2.5));

    let out = run("sqlite-export").args(["--url", &url, "--jobs", "2"]).assert_success();
    assert!(out.stderr.contains("one connection"), "{}", out.stderr);
    assert_eq!(parse(&out).digest, ex.digest);

    let ex = parse(
        &run("sqlite-export")
            .args(["--url", &url, "--tables", "posts", "--where", "posts:user_id = 3"])
            .assert_success(),
    );
    assert_eq!(ex.table_order(), vec!["posts"]);
    assert_eq!(ex.rows("posts").len(), 1);
    run("sqlite-export")
        .args(["--url", &format!("sqlite://{}", wd.join("missing.db").display())])
        .output()
        .assert_code(2)
        .assert_stderr_contains("no SQLite database file");
}

/// TLS to PostgreSQL: `sslmode=verify-full` with the CA works; without the
/// CA the certificate is refused with a clear message (exit 2), never
/// silently downgraded.
#[test]
fn pg_tls_verifies_the_server_certificate() {
    let pg = postgres();
    let name = pg.fresh_database("pgexp_tls");
    pg.query(&name, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'über TLS');");
    let base = pg.url(&name);
    let with_ca = format!("{base}?sslmode=verify-full&sslrootcert={}", pg.ca_path().display());
    let out = run("pg-export").args(["--url", &with_ca]).assert_success();
    let ex = parse(&out);
    assert!(ex.sealed);
    assert_eq!(ex.rows["t"][0], vec![("id".to_owned(), Value::Int(1)), ("v".to_owned(), s("über TLS"))]);

    let out = run("pg-export").args(["--url", &format!("{base}?sslmode=verify-full")]).output().assert_code(2);
    assert!(out.stderr.contains("certificate"), "the error should name the certificate problem: {}", out.stderr);
    // A header without its trailer: every reader refuses it as cut short.
    let refused = out.stdout.is_empty() || RecordReader::new(&out.stdout[..]).any(|r| r.is_err());
    assert!(refused, "a refused connection must not look like an export");
}

/// TLS to MariaDB: `ssl-mode=VERIFY_IDENTITY` with the CA works; without it
/// the certificate is refused (exit 2).
#[test]
fn mysql_tls_verifies_the_server_certificate() {
    let db = mariadb();
    let name = db.fresh_database("myexp_tls");
    db.query(&name, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'über TLS');");
    let base = db.url(&name);
    let with_ca = format!("{base}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", db.ca_path().display());
    let out = run("mysql-export").args(["--url", &with_ca]).assert_success();
    let ex = parse(&out);
    assert!(ex.sealed);
    assert_eq!(ex.rows["t"][0], vec![("id".to_owned(), Value::Int(1)), ("v".to_owned(), s("über TLS"))]);

    let out = run("mysql-export").args(["--url", &format!("{base}?ssl-mode=VERIFY_IDENTITY")]).output().assert_code(2);
    assert!(out.stderr.contains("certificate"), "the error should name the certificate problem: {}", out.stderr);
}

/// Issue 12: no schema object is lost silently. ON UPDATE, a column's own
/// collation and CHECK constraints travel in the schema line and are
/// recreated on a same-dialect copy (and named where the target has no
/// equivalent); views, triggers, routines, events, special indexes and
/// generated columns are named in a warning and in the summary, and
/// `--objects-file` writes their DDL.
#[test]
fn mysql_schema_objects_are_carried_or_named() {
    let my = mariadb();
    let (src, copy) = (my.fresh_database("objs"), my.fresh_database("objs_copy"));
    my.query(
        &src,
        "CREATE TABLE staff (id INT PRIMARY KEY, password VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, \
           rating INT, body TEXT, doubled INT AS (rating * 2) VIRTUAL, \
           last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
           CONSTRAINT rating_range CHECK (rating BETWEEN 0 AND 5), FULLTEXT KEY ft_body (body)) \
           ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci; \
         INSERT INTO staff (id, password, rating, body) VALUES (1, 'Secret', 3, 'hello world'); \
         CREATE VIEW staff_list AS SELECT id, rating FROM staff; \
         CREATE TRIGGER staff_rating BEFORE INSERT ON staff FOR EACH ROW SET NEW.rating = COALESCE(NEW.rating, 0); \
         CREATE FUNCTION plus_one(a INT) RETURNS INT DETERMINISTIC RETURN a + 1; \
         CREATE PROCEDURE list_staff() SELECT * FROM staff; \
         CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM staff WHERE rating IS NULL;",
    );
    let w = Workdir::new("objects");
    let out = run("mysql-export")
        .args(["--url", &my.url(&src), "--objects-file"])
        .arg(w.join("objects.sql"))
        .output()
        .assert_success();
    for named in [
        "1 view(s): staff_list",
        "1 trigger(s): staff.staff_rating",
        "1 function(s): plus_one",
        "1 procedure(s): list_staff",
        "1 event(s): nightly",
        "1 fulltext index(s): staff.ft_body",
    ] {
        // Once as the warning, once in the end summary.
        assert_eq!(out.stderr.matches(named).count(), 2, "{named}: {}", out.stderr);
    }
    let sql = std::fs::read_to_string(w.join("objects.sql")).unwrap();
    for ddl in [
        "CREATE VIEW `staff_list` AS select",
        "CREATE TRIGGER `staff_rating` BEFORE INSERT ON `staff` FOR EACH ROW SET NEW.rating",
        "FUNCTION `plus_one`",
        "PROCEDURE `list_staff`",
        "EVENT `nightly`",
        "CREATE FULLTEXT INDEX `ft_body` ON `staff` (`body`)",
        "DELIMITER ;;",
    ] {
        assert!(sql.contains(ddl), "{ddl} not in {sql}");
    }
    let e = parse(&out);
    let staff = e.schema("staff");
    assert_eq!(col(staff, "last_update").on_update.as_deref(), Some("current_timestamp"));
    assert_eq!(col(staff, "password").collation.as_deref(), Some("utf8mb4_bin"));
    assert_eq!(staff.checks.len(), 1, "{:?}", staff.checks);
    assert_eq!(staff.checks[0].name, "rating_range");
    assert_eq!(staff.generated.len(), 1, "{:?}", staff.generated);
    assert!(!staff.generated[0].stored && staff.generated[0].expr.contains("`rating` * 2"), "{:?}", staff.generated);
    assert!(staff.column("doubled").is_none() && !e.rows("staff")[0].iter().any(|(k, _)| k == "doubled"));

    // MySQL → MySQL: the same column definitions and constraint.
    run("mysql-import")
        .args(["--url", &my.url(&copy), "--create-tables", "--quiet"])
        .stdin_bytes(out.stdout.clone())
        .output()
        .assert_success();
    let ddl = my.query(&copy, "SHOW CREATE TABLE staff");
    assert!(ddl.contains("`password` varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"), "{ddl}");
    assert!(ddl.to_lowercase().contains("on update current_timestamp"), "{ddl}");
    assert!(ddl.contains("CONSTRAINT `rating_range` CHECK"), "{ddl}");
    assert!(ddl.contains("`doubled` int(11) GENERATED ALWAYS AS (`rating` * 2) VIRTUAL"), "{ddl}");
    assert_eq!(my.query(&copy, "SELECT doubled FROM staff WHERE id = 1"), "6");
    assert!(ddl.contains("FULLTEXT KEY `ft_body` (`body`)"), "{ddl}");
    let check = run("decant-verify").args(["--left", &my.url(&src), "--right", &my.url(&copy), "--schema"]).output();
    assert!(check.assert_success().stderr.contains("schema: equal"));
    // A lost FULLTEXT index is a difference --schema finds.
    my.query(&copy, "ALTER TABLE staff DROP INDEX ft_body");
    let check = run("decant-verify").args(["--left", &my.url(&src), "--right", &my.url(&copy), "--schema"]).output();
    assert!(check.assert_code(1).stderr.contains("table staff: fulltext index \"ft_body\" only in A"));
    let refused =
        my.client_command(&copy).arg("-e").arg("INSERT INTO staff (id, rating) VALUES (2, 9)").output().unwrap();
    assert!(!refused.status.success(), "the CHECK constraint holds on the copy");

    // MySQL → PostgreSQL: what has no equivalent is named, and the rows arrive.
    let pg = postgres();
    let pdb = pg.fresh_database("objs");
    let to_pg = run("pg-import")
        .args(["--url", &pg.url(&pdb), "--create-tables"])
        .stdin_bytes(out.stdout.clone())
        .output()
        .assert_success();
    for lost in [
        "table staff: column \"last_update\": ON UPDATE current_timestamp is not carried",
        "table staff: column \"password\": collation utf8mb4_bin is not carried",
        "table staff: CHECK constraint \"rating_range\"",
        "table staff: generated column \"doubled\" (`rating` * 2) is not carried",
        "table staff: fulltext index \"ft_body\" is not carried",
    ] {
        assert_eq!(to_pg.stderr.matches(lost).count(), 2, "{lost}: {}", to_pg.stderr);
    }
    assert_eq!(pg.query(&pdb, "SELECT count(*) FROM staff"), "1");
}

#[test]
fn pg_schema_objects_are_carried_or_named() {
    let pg = postgres();
    let (src, copy) = (pg.fresh_database("objs"), pg.fresh_database("objs_copy"));
    pg.query(
        &src,
        "CREATE TABLE film (id int PRIMARY KEY, title text NOT NULL, rating int CONSTRAINT rating_range CHECK (rating >= 0), \
           tags text[], title_len int GENERATED ALWAYS AS (length(title)) STORED, last_update timestamp DEFAULT now()); \
         CREATE INDEX film_tags ON film USING gin (tags); \
         CREATE INDEX film_rated ON film (rating) WHERE rating > 3; \
         CREATE INDEX film_lower_title ON film (lower(title)); \
         CREATE INDEX film_id_brin ON film USING brin (id); \
         CREATE INDEX film_title_gist ON film USING gist (to_tsvector('simple', title)); \
         CREATE INDEX film_recent ON film (last_update DESC NULLS LAST, id); \
         CREATE INDEX film_rated_incl ON film (rating) INCLUDE (title); \
         CREATE UNIQUE INDEX film_title_pattern ON film (title text_pattern_ops) WHERE rating IS NOT NULL; \
         CREATE INDEX film_title_c ON film (title COLLATE \"C\" text_pattern_ops); \
         INSERT INTO film (id, title, rating, tags) VALUES (1, 'Alien', 5, '{space}'); \
         CREATE VIEW film_list AS SELECT id, title FROM film; \
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.last_update = now(); RETURN NEW; END $$; \
         CREATE TRIGGER film_touch BEFORE UPDATE ON film FOR EACH ROW EXECUTE FUNCTION touch(); \
         CREATE RULE film_no_delete AS ON DELETE TO film DO INSTEAD NOTHING;",
    );
    let w = Workdir::new("pg-objects");
    let out = run("pg-export")
        .args(["--url", &pg.url(&src), "--objects-file"])
        .arg(w.join("objects.sql"))
        .output()
        .assert_success();
    for named in [
        "1 view(s): film_list",
        "1 trigger(s): film.film_touch",
        "1 function(s): touch()",
        "1 rule(s): film.film_no_delete",
        "1 gin index(s): film.film_tags",
        "3 partial or expression index(s): film.film_lower_title, film.film_rated, film.film_title_pattern",
        "1 brin index(s): film.film_id_brin",
        "1 gist index(s): film.film_title_gist",
        "3 ordered, covering or operator-class index(s): film.film_rated_incl, film.film_recent, film.film_title_c",
    ] {
        assert_eq!(out.stderr.matches(named).count(), 2, "{named}: {}", out.stderr);
    }
    let sql = std::fs::read_to_string(w.join("objects.sql")).unwrap();
    for ddl in [
        "CREATE VIEW \"public\".\"film_list\" AS",
        "CREATE TRIGGER film_touch BEFORE UPDATE ON public.film",
        "CREATE OR REPLACE FUNCTION public.touch()",
        "CREATE RULE film_no_delete AS",
        "USING gin (tags)",
        "WHERE (rating > 3)",
    ] {
        assert!(sql.contains(ddl), "{ddl} not in {sql}");
    }
    let e = parse(&out);
    assert_eq!(e.schema("film").checks.len(), 1);
    // PostgreSQL → PostgreSQL: the CHECK constraint holds on the copy.
    run("pg-import")
        .args(["--url", &pg.url(&copy), "--create-tables", "--quiet"])
        .stdin_bytes(out.stdout.clone())
        .output()
        .assert_success();
    assert_eq!(
        pg.query(&copy, "SELECT conname FROM pg_constraint WHERE contype = 'c' AND conrelid = 'film'::regclass"),
        "rating_range"
    );
    // …and the generated column, computed by the copy.
    assert_eq!(pg.query(&copy, "SELECT title_len FROM film"), "5");
    // Issue 12: the special indexes (GIN, GiST, BRIN, partial, expression,
    // DESC / NULLS order, INCLUDE, operator class, collation) are recreated
    // exactly: the same definitions in pg_indexes, and --schema finds none
    // missing.
    let defs = "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE tablename = 'film' ORDER BY indexname";
    let (want, got) = (pg.query(&src, defs), pg.query(&copy, defs));
    assert_eq!(want.lines().count(), 10, "{want}");
    assert_eq!(got, want, "index definitions of the PostgreSQL copy");
    let check = run("decant-verify").args(["--left", &pg.url(&src), "--right", &pg.url(&copy), "--schema"]).output();
    assert!(check.assert_success().stderr.contains("schema: equal"));
    // Across engines each one is named, with its definition.
    let my = mariadb();
    let mdb = my.fresh_database("pg_objs");
    let to_my = run("mysql-import")
        .args(["--url", &my.url(&mdb), "--create-tables"])
        .stdin_bytes(out.stdout.clone())
        .output()
        .assert_success();
    for name in ["film_tags", "film_id_brin", "film_title_gist", "film_recent", "film_rated_incl", "film_title_c"] {
        assert!(to_my.stderr.contains(&format!("index {name:?} is not carried")), "{name}: {}", to_my.stderr);
    }
}

/// The Sakila schema (MySQL original, see the corpus's SOURCES.md) in a fresh
/// MariaDB database `db`, with the load-time edits SOURCES.md lists, the
/// `sakila.` qualifiers of its views pointed at `db`, and the three triggers
/// the data file defines. No rows: the schema is the point.
fn load_sakila_schema(dir: &std::path::Path, db: &str) {
    let schema = std::fs::read_to_string(dir.join("sakila-schema.sql")).unwrap();
    let schema = schema
        .replace("DROP SCHEMA IF EXISTS sakila;", "")
        .replace("CREATE SCHEMA sakila;", "")
        .replace("USE sakila_app;", &format!("USE `{db}`;"))
        .replace("sakila.", &format!("`{db}`."))
        .replace("/*!50705 location GEOMETRY */ /*!80003 SRID 0 */ /*!50705 NOT NULL,*/", "location GEOMETRY NOT NULL,")
        .replace("/*!50705 SPATIAL KEY `idx_location` (location),*/", "SPATIAL KEY `idx_location` (location),");
    let data = std::fs::read_to_string(dir.join("sakila-data.sql")).unwrap();
    let mut triggers = String::new();
    let mut inside = false;
    for line in data.lines() {
        inside |= line.starts_with("CREATE TRIGGER");
        if inside {
            triggers.push_str(line);
            triggers.push('\n');
            inside = !line.trim_end().ends_with(';');
        }
    }
    assert_eq!(triggers.matches("CREATE TRIGGER").count(), 3, "{triggers}");
    mariadb().query(db, &format!("{schema}\nUSE `{db}`;\n{triggers}"));
}

/// Issue 12 on Sakila: its 15 ON UPDATE columns, the utf8mb4_bin password
/// column and its keys survive a MySQL → MySQL copy (`--schema` equal), its
/// 7 views, 6 triggers, 6 routines and FULLTEXT / SPATIAL indexes are named
/// and written by `--objects-file`, and its PostgreSQL copy passes
/// `decant-verify --schema` under decant's mapping.
#[test]
fn sakila_schema_objects_are_carried_or_named() {
    let Some(dir) = decant_tests::corpus("sakila", "sakila_schema_objects_are_carried_or_named") else { return };
    let (my, pg) = (mariadb(), postgres());
    let (src, copy, pdb) = (my.fresh_database("sakila"), my.fresh_database("sakila_copy"), pg.fresh_database("sakila"));
    load_sakila_schema(&dir, &src);
    let w = Workdir::new("sakila-objects");
    let out = run("mysql-export")
        .args(["--url", &my.url(&src), "--objects-file"])
        .arg(w.join("objects.sql"))
        .output()
        .assert_success();
    for named in [
        "not carried: 7 view(s): actor_info, customer_list, film_list, nicer_but_slower_film_list, sales_by_film_category, sales_by_store, staff_list",
        "not carried: 6 trigger(s): customer.customer_create_date, film.del_film, film.ins_film, film.upd_film, payment.payment_date, rental.rental_date",
        "not carried: 3 procedure(s): film_in_stock, film_not_in_stock, rewards_report",
        "not carried: 3 function(s): get_customer_balance, inventory_held_by_customer, inventory_in_stock",
        "not carried: 1 fulltext index(s): film_text.idx_title_description",
        "not carried: 1 spatial index(s): address.idx_location",
    ] {
        assert_eq!(out.stderr.matches(named).count(), 2, "{named}: {}", out.stderr);
    }
    let sql = std::fs::read_to_string(w.join("objects.sql")).unwrap();
    assert_eq!(sql.matches("\n;;\n").count(), 7 + 6 + 6 + 2, "{sql}");
    let e = parse(&out);
    let on_update: usize = e.schemas.iter().map(|s| s.columns.iter().filter(|c| c.on_update.is_some()).count()).sum();
    assert_eq!(on_update, 15);
    assert_eq!(col(e.schema("staff"), "password").collation.as_deref(), Some("utf8mb4_bin"));

    // MySQL → MySQL: the same schema, ON UPDATE and the column collation included.
    run("mysql-import")
        .args(["--url", &my.url(&copy), "--create-tables", "--quiet"])
        .stdin_bytes(out.stdout.clone())
        .output()
        .assert_success();
    let verify = |a: &str, b: &str| {
        let out = run("decant-verify").args(["--left", a, "--right", b, "--schema"]).output();
        out.assert_success().stderr
    };
    assert!(verify(&my.url(&src), &my.url(&copy)).contains("schema: equal"));
    assert_eq!(
        my.query(
            &copy,
            "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND EXTRA LIKE '%on update%'"
        ),
        "15"
    );
    // MySQL → PostgreSQL: decant's mapping passes --schema.
    run("pg-import")
        .args(["--url", &pg.url(&pdb), "--create-tables", "--quiet"])
        .stdin_bytes(out.stdout.clone())
        .output()
        .assert_success();
    assert!(verify(&my.url(&src), &pg.url(&pdb)).contains("schema: equal"));
}

#[test]
fn sqlite_views_and_triggers_are_named() {
    let w = Workdir::new("sqlite-objects");
    let db = w.join("o.db");
    let sql = "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, at TEXT); \
               CREATE VIEW big AS SELECT id FROM t WHERE n > 10; \
               CREATE TRIGGER t_touch AFTER UPDATE ON t BEGIN UPDATE t SET at = 'now' WHERE id = NEW.id; END;";
    decant_tests::Cmd::new("sqlite3").arg(&db).stdin_bytes(sql).assert_success();
    let out = run("sqlite-export")
        .args(["--url", &format!("sqlite://{}", db.display()), "--objects-file"])
        .arg(w.join("objects.sql"))
        .output()
        .assert_success();
    for named in ["not carried: 1 view(s): big", "not carried: 1 trigger(s): t.t_touch"] {
        assert_eq!(out.stderr.matches(named).count(), 2, "{named}: {}", out.stderr);
    }
    let objects = std::fs::read_to_string(w.join("objects.sql")).unwrap();
    assert!(objects.contains("CREATE VIEW big AS SELECT id FROM t WHERE n > 10\n;"), "{objects}");
    assert!(objects.contains("CREATE TRIGGER t_touch AFTER UPDATE ON t BEGIN"), "{objects}");
}

/// Issue 12 on the PostgreSQL port of Sakila: its views, triggers,
/// functions, aggregate, rules, enum type, domain and GiST index are named
/// in a warning and in the summary, and written by `--objects-file`.
#[test]
fn pg_sakila_schema_objects_are_named() {
    let Some(dir) = decant_tests::corpus("sakila", "pg_sakila_schema_objects_are_named") else { return };
    let pg = postgres();
    let db = pg.fresh_database("sakila");
    pg.query(&db, &std::fs::read_to_string(dir.join("postgres-sakila-schema.sql")).unwrap());
    let w = Workdir::new("pg-sakila-objects");
    let out = run("pg-export")
        .args(["--url", &pg.url(&db), "--objects-file"])
        .arg(w.join("objects.sql"))
        .output()
        .assert_success();
    for named in [
        "not carried: 7 view(s): actor_info, customer_list, film_list, nicer_but_slower_film_list, sales_by_film_category, sales_by_store, staff_list",
        "not carried: 6 rule(s): payment.payment_insert_p2007_01",
        "not carried: 1 aggregate(s): group_concat(text)",
        "not carried: 1 enum type(s): mpaa_rating",
        "not carried: 1 domain(s): year",
        "not carried: 1 gist index(s): film.film_fulltext_idx",
        "film.film_fulltext_trigger",
        "get_customer_balance(p_customer_id integer, p_effective_date timestamp without time zone)",
    ] {
        assert_eq!(out.stderr.matches(named).count(), 2, "{named}: {}", out.stderr);
    }
    let triggers = out.stderr.lines().find(|l| l.contains("trigger(s):")).unwrap_or_default();
    assert!(triggers.contains("not carried: 15 trigger(s)"), "{triggers}");
    let functions = out.stderr.lines().find(|l| l.contains("function(s):")).unwrap_or_default();
    assert!(functions.contains("not carried: 9 function(s)"), "{functions}");
    let sql = std::fs::read_to_string(w.join("objects.sql")).unwrap();
    for ddl in [
        "CREATE AGGREGATE public.group_concat(text) (SFUNC = _group_concat, STYPE = text)",
        "CREATE TYPE public.mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17')",
        "CREATE DOMAIN public.year AS integer CONSTRAINT year_check CHECK (((VALUE >= 1901) AND (VALUE <= 2155)))",
        "CREATE INDEX film_fulltext_idx ON public.film USING gist (fulltext)",
        "CREATE OR REPLACE FUNCTION public.last_updated()",
    ] {
        assert!(sql.contains(ddl), "{ddl} not in {sql}");
    }
}
