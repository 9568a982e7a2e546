//! Round trips through the real exporters and importers: MariaDB → PostgreSQL
//! → MariaDB, PostgreSQL → MariaDB, and each server → SQLite → back. The
//! content digests of the streams must be equal, with one documented
//! normalisation only:
//!
//! - exact integers in `decimal(p,0)` columns compare as integers: PostgreSQL
//!   has no unsigned 64-bit type, so BIGINT UNSIGNED travels as
//!   `numeric(20,0)`, whose exporter writes digit strings.
//!
//! (The canonical form already compares decimals by value, date-times by
//! instant, JSON objects by sorted keys, bytes and text as bytes.)

use std::collections::{BTreeMap, HashMap};

use decant_record::digest::{CanonicalOptions, Digester, GroupKey};
use decant_record::{LogicalType, Record, RecordReader, Value};
use decant_tests::{mariadb, postgres, run, Workdir};

/// Per-table (digest, count) of a stream, after the normalisation above.
fn digests(stream: &[u8]) -> BTreeMap<String, (String, u64)> {
    let mut reader = RecordReader::new(stream);
    let mut d = Digester::new(CanonicalOptions::default());
    let mut int_decimals: HashMap<String, Vec<String>> = HashMap::new();
    while let Some(record) = reader.next_record().expect("a valid stream") {
        match record {
            Record::Schema(mut s) => {
                let mut cols = Vec::new();
                for c in s.columns.iter_mut().filter(|c| c.ty == LogicalType::Decimal && c.scale.unwrap_or(0) == 0) {
                    // Hashed as the integers they hold.
                    c.ty = LogicalType::Int64;
                    cols.push(c.name.clone());
                }
                int_decimals.insert(s.table.clone(), cols);
                d.add_schema(&s);
            }
            Record::Row(mut r) => {
                for c in int_decimals.get(&r.table).into_iter().flatten() {
                    if let Some(Value::String(s)) = r.data.get(c) {
                        if let Ok(i) = s.parse::<i128>() {
                            r.data.set(c, Value::Int(i));
                        }
                    }
                }
                d.add_row(&r.table, &r.data);
            }
            _ => {}
        }
    }
    d.finish()
        .into_iter()
        .filter_map(|(k, v)| match k {
            GroupKey::Table(t) => Some((t, (v.hex(), v.count))),
            _ => None,
        })
        .collect()
}

fn export(tool: &str, url: &str) -> Vec<u8> {
    run(tool).args(["--url", url, "--quiet"]).assert_success().stdout
}

fn import(tool: &str, url: &str, stream: &[u8], extra: &[&str]) {
    run(tool)
        .args(["--url", url, "--quiet", "--create-tables"])
        .args(extra)
        .stdin_bytes(stream.to_vec())
        .assert_success();
}

const MARIADB_SCHEMA: &str = "
CREATE TABLE operators (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(191) NOT NULL,
  active TINYINT(1) NOT NULL DEFAULT 1,
  small TINYINT,
  usmall SMALLINT UNSIGNED,
  big BIGINT,
  ubig BIGINT UNSIGNED,
  price DECIMAL(12,4),
  ratio DOUBLE,
  f FLOAT,
  code CHAR(4),
  note TEXT,
  blob_ BLOB,
  bin16 VARBINARY(16),
  born DATE,
  at DATETIME(6),
  seen TIMESTAMP(3) NULL,
  t TIME,
  y YEAR,
  doc JSON,
  mood ENUM('ok','meh','bad'),
  tags SET('a','b','c'),
  bits BIT(5),
  UNIQUE KEY uq_email (email),
  KEY ix_at (at)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE feedbacks (
  id INT NOT NULL PRIMARY KEY,
  operator_id BIGINT NOT NULL,
  body TEXT,
  CONSTRAINT fk_op FOREIGN KEY (operator_id) REFERENCES operators (id)
) DEFAULT CHARSET=utf8mb4;
SET time_zone = '+00:00';
INSERT INTO operators VALUES
 (1, 'a@example.com', 1, -128, 65535, -9223372036854775808, 18446744073709551615, 12345678.1234, 0.1, 0.5, 'ab', 'emoji 😀 tab\there \\\\ ''q''', X'00FF0A0D09', X'0123456789ABCDEF0123456789ABCDEF', '1999-12-31', '2025-01-01 09:30:00.123456', '2025-06-01 22:15:00.250', '12:34:56', 2024, '{\"a\": [1, 2.5, null], \"b\": {\"c\": \"😀\"}}', 'meh', 'a,c', b'10101'),
 (2, 'b@example.com', 0, 127, 0, 9223372036854775807, 0, -0.0001, -1.5e300, -3.25, 'abcd', '', X'', NULL, '2000-02-29', '1970-01-01 00:00:00.000001', '2038-01-19 03:14:07.000', '23:59:59', 1901, '[]', 'ok', '', b'0'),
 (3, 'c@example.com', 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO feedbacks VALUES (1, 1, 'first'), (2, 1, NULL), (3, 2, 'こんにちは');
";

#[test]
fn mariadb_to_postgres_and_back() {
    let my = mariadb();
    let pg = postgres();
    let src = my.fresh_database("rt_src");
    my.query(&src, MARIADB_SCHEMA);
    let first = export("mysql-export", &my.url(&src));

    let pdb = pg.fresh_database("rt_pg");
    import("pg-import", &pg.url(&pdb), &first, &[]);
    // Spot checks of the hardest values, by SQL on the target.
    assert_eq!(
        pg.query(&pdb, "SELECT ubig, big, at::text, (seen AT TIME ZONE 'UTC')::text FROM operators WHERE id = 1"),
        "18446744073709551615|-9223372036854775808|2025-01-01 09:30:00.123456|2025-06-01 22:15:00.25"
    );
    assert_eq!(
        pg.query(&pdb, "SELECT active, encode(blob_, 'hex'), doc->'b'->>'c', note FROM operators WHERE id = 1"),
        "t|00ff0a0d09|😀|emoji 😀 tab\there \\ 'q'"
    );
    assert_eq!(pg.query(&pdb, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'operators'::regclass AND attname IN ('at', 'doc', 'active', 'big') ORDER BY attnum"),
        "boolean\nbigint\ntimestamp(6) without time zone\njsonb");
    assert!(pg.query(&pdb, "SELECT conname FROM pg_constraint WHERE contype = 'f'").contains("fk_op"));
    assert_eq!(pg.query(&pdb, "INSERT INTO operators (email) VALUES ('new@example.com') RETURNING id"), "4");
    pg.query(&pdb, "DELETE FROM operators WHERE id = 4");

    let second = export("pg-export", &pg.url(&pdb));
    let (a, b) = (digests(&first), digests(&second));
    assert_eq!(a.len(), 2);
    assert_eq!(a, b, "MariaDB → PostgreSQL changed the content");

    // And back into MariaDB.
    let back = my.fresh_database("rt_back");
    import("mysql-import", &my.url(&back), &second, &[]);
    let third = export("mysql-export", &my.url(&back));
    assert_eq!(digests(&third), a, "PostgreSQL → MariaDB changed the content");
    assert_eq!(
        my.query(&back, "SET time_zone = '+00:00'; SELECT ubig, seen, HEX(blob_) FROM operators WHERE id = 1"),
        "18446744073709551615\t2025-06-01 22:15:00.250\t00FF0A0D09"
    );
}

const PG_SCHEMA: &str = "
CREATE TABLE events (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  title varchar(100) NOT NULL,
  ok boolean,
  amount numeric(14,3),
  ratio real,
  payload bytea,
  at timestamptz,
  local_at timestamp(3),
  day date,
  doc jsonb,
  uid uuid,
  ids integer[],
  names text[],
  span interval,
  note text
);
CREATE UNIQUE INDEX events_title ON events (title);
INSERT INTO events (id, title, ok, amount, ratio, payload, at, local_at, day, doc, uid, ids, names, span, note) VALUES
 (1, 'emoji 😀', true, 12345678901.125, 0.25, '\\x00ff0a', '2025-06-01 22:15:00.123456+05:30', '2025-01-01 09:30:00.123', '2024-02-29', '{\"k\": [1, 2.5], \"z\": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,3}', '{\"a b\",NULL,\"c,d\"}', '1 day 02:00:00', E'line\\nbreak\\ttab'),
 (2, 'plain', false, -0.001, -1.5, '', '1999-12-31 23:59:59Z', '1970-01-01 00:00:00', '1999-01-01', '[]', NULL, '{}', '{}', NULL, ''),
 (3, 'nulls', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
";

#[test]
fn postgres_to_mariadb_and_back() {
    let my = mariadb();
    let pg = postgres();
    let src = pg.fresh_database("rt_pgsrc");
    pg.query(&src, PG_SCHEMA);
    let first = export("pg-export", &pg.url(&src));
    let mdb = my.fresh_database("rt_frompg");
    import("mysql-import", &my.url(&mdb), &first, &[]);
    assert_eq!(my.query(&mdb, "SET time_zone = '+00:00'; SELECT at, local_at, HEX(payload), JSON_EXTRACT(ids, '$[2]') FROM events WHERE id = 1"),
        "2025-06-01 16:45:00.123456\t2025-01-01 09:30:00.123\t00FF0A\t3");
    let second = export("mysql-export", &my.url(&mdb));
    let a = digests(&first);
    assert_eq!(a, digests(&second), "PostgreSQL → MariaDB changed the content");

    let back = pg.fresh_database("rt_pgback");
    import("pg-import", &pg.url(&back), &second, &[]);
    let third = export("pg-export", &pg.url(&back));
    assert_eq!(digests(&third), a, "MariaDB → PostgreSQL changed the content");
}

/// Columns SQLite keeps exactly with decant's mapping and sqlite-export's
/// reading of declared types (JSON, decimals and unsigned 64-bit values are
/// covered by the server round trips; see the importer's type table).
const SQLITE_SAFE: &str = "
CREATE TABLE items (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(50) NOT NULL,
  flag TINYINT(1),
  qty INT,
  ratio DOUBLE,
  raw BLOB,
  at DATETIME(6),
  day DATE,
  note TEXT
) DEFAULT CHARSET=utf8mb4;
INSERT INTO items VALUES
 (1, 'emoji 😀', 1, -5, 0.1, X'00FF', '2025-01-01 09:30:00.123456', '2024-02-29', 'a\\nb'),
 (2, 'two', 0, 2147483647, -1.5e300, X'', '1970-01-01 00:00:00.000001', '1999-01-01', ''),
 (3, 'nulls', NULL, NULL, NULL, NULL, NULL, NULL, NULL);
";

#[test]
fn each_server_to_sqlite_and_back() {
    let my = mariadb();
    let pg = postgres();
    let w = Workdir::new("rt_sqlite");
    let src = my.fresh_database("rt_lite_src");
    my.query(&src, SQLITE_SAFE);
    let first = export("mysql-export", &my.url(&src));
    let a = digests(&first);

    // MariaDB → SQLite → MariaDB
    let file = w.join("from_mariadb.db");
    std::fs::File::create(&file).unwrap();
    let lite = format!("sqlite://{}", file.display());
    import("sqlite-import", &lite, &first, &[]);
    let second = export("sqlite-export", &lite);
    assert_eq!(digests(&second), a, "MariaDB → SQLite changed the content");
    let back = my.fresh_database("rt_lite_back");
    import("mysql-import", &my.url(&back), &second, &[]);
    assert_eq!(digests(&export("mysql-export", &my.url(&back))), a, "SQLite → MariaDB changed the content");

    // PostgreSQL → SQLite → PostgreSQL (the same table, loaded into PostgreSQL first)
    let pdb = pg.fresh_database("rt_lite_pg");
    import("pg-import", &pg.url(&pdb), &first, &[]);
    let from_pg = export("pg-export", &pg.url(&pdb));
    assert_eq!(digests(&from_pg), a);
    let file = w.join("from_pg.db");
    std::fs::File::create(&file).unwrap();
    let lite = format!("sqlite://{}", file.display());
    import("sqlite-import", &lite, &from_pg, &[]);
    let via = export("sqlite-export", &lite);
    assert_eq!(digests(&via), a, "PostgreSQL → SQLite changed the content");
    let pback = pg.fresh_database("rt_lite_pgback");
    import("pg-import", &pg.url(&pback), &via, &[]);
    assert_eq!(digests(&export("pg-export", &pg.url(&pback))), a, "SQLite → PostgreSQL changed the content");
}
