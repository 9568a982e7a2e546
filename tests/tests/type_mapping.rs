//! docs/type-mapping.md, row by row (issue 12): for each source type, the
//! type `--create-tables` picks on each other store, and every value the
//! source type can hold — its extremes: TIME ±838:59:59, u64 max,
//! DECIMAL(65,30) at ±(10^35 − 10^−30), … — through that type and back.
//!
//! Table-driven: one column per row of the document. A MySQL table goes
//! MySQL → PostgreSQL → MySQL and MySQL → SQLite → MySQL; a PostgreSQL table
//! goes PostgreSQL → MySQL → PostgreSQL and PostgreSQL → SQLite →
//! PostgreSQL. Each hop creates its tables with `--create-tables`, and the
//! test checks the created column's type against the document. The way back
//! goes into a copy of the source table made with the source's own DDL, so
//! the values are compared in the source's own types, by SQL (a digest per
//! column of the values as the server prints them), not through decant.

use std::path::Path;

use decant_tests::{mariadb, postgres, run, Workdir};

/// One row of the mapping: a source type, values at its extremes (SQL
/// literals), and the type each other store gets.
struct Case {
    source: &'static str,
    values: &'static [&'static str],
    /// As `format_type` / MySQL's COLUMN_TYPE print it.
    other_sql: &'static str,
    /// The declared type in SQLite.
    sqlite: &'static str,
}

const MYSQL_CASES: &[Case] = &[
    Case { source: "tinyint(1)", values: &["0", "1"], other_sql: "boolean", sqlite: "BOOLEAN" },
    Case { source: "tinyint", values: &["-128", "127"], other_sql: "smallint", sqlite: "TINYINT" },
    Case { source: "tinyint unsigned", values: &["0", "255"], other_sql: "smallint", sqlite: "TINYINT UNSIGNED" },
    Case { source: "smallint", values: &["-32768", "32767"], other_sql: "smallint", sqlite: "SMALLINT" },
    Case { source: "smallint unsigned", values: &["0", "65535"], other_sql: "integer", sqlite: "SMALLINT UNSIGNED" },
    Case { source: "mediumint", values: &["-8388608", "8388607"], other_sql: "integer", sqlite: "INT" },
    Case { source: "int", values: &["-2147483648", "2147483647"], other_sql: "integer", sqlite: "INT" },
    Case { source: "int unsigned", values: &["0", "4294967295"], other_sql: "bigint", sqlite: "INT UNSIGNED" },
    Case {
        source: "bigint",
        values: &["-9223372036854775808", "9223372036854775807"],
        other_sql: "bigint",
        sqlite: "BIGINT",
    },
    Case {
        source: "bigint unsigned",
        values: &["0", "18446744073709551615"],
        other_sql: "numeric(20,0)",
        sqlite: "BIGINT UNSIGNED",
    },
    Case {
        source: "decimal(65,30)",
        values: &[
            "99999999999999999999999999999999999.999999999999999999999999999999",
            "-99999999999999999999999999999999999.999999999999999999999999999999",
            "0.000000000000000000000000000001",
        ],
        other_sql: "numeric(65,30)",
        sqlite: "DECIMAL TEXT(65,30)",
    },
    Case {
        source: "decimal(5,2)",
        values: &["-999.99", "999.99", "4.00"],
        other_sql: "numeric(5,2)",
        sqlite: "DECIMAL(5,2)",
    },
    Case { source: "float", values: &["-1.25", "3.4e38"], other_sql: "real", sqlite: "FLOAT" },
    Case {
        source: "double",
        values: &["1.7976931348623157e308", "-2.2250738585072014e-308"],
        other_sql: "double precision",
        sqlite: "DOUBLE",
    },
    Case {
        source: "bit(64)",
        values: &["b'1111111111111111111111111111111111111111111111111111111111111111'", "b'0'"],
        other_sql: "bit(64)",
        sqlite: "BIT(64)",
    },
    Case { source: "char(3)", values: &["'abc'", "''"], other_sql: "character varying(3)", sqlite: "CHAR(3)" },
    Case {
        source: "varchar(10)",
        values: &["'é😀 \\\\ ''q'''", "''"],
        other_sql: "character varying(10)",
        sqlite: "VARCHAR(10)",
    },
    Case { source: "text", values: &["'tab\\there\\nnew line'"], other_sql: "text", sqlite: "TEXT" },
    Case { source: "binary(4)", values: &["X'00FF0A0D'"], other_sql: "bytea", sqlite: "BINARY(4)" },
    Case { source: "varbinary(8)", values: &["X'00'", "X''"], other_sql: "bytea", sqlite: "VARBINARY(8)" },
    Case { source: "blob", values: &["X'00FF'"], other_sql: "bytea", sqlite: "BLOB" },
    Case { source: "date", values: &["'1000-01-01'", "'9999-12-31'"], other_sql: "date", sqlite: "DATE" },
    Case {
        source: "time",
        values: &["'-838:59:59'", "'838:59:59'", "'00:00:00'"],
        other_sql: "interval hour to second(0)",
        sqlite: "TIME(0)",
    },
    Case {
        source: "time(6)",
        values: &["'-838:59:59.000000'", "'838:59:58.999999'", "'-00:00:00.000001'"],
        other_sql: "interval hour to second(6)",
        sqlite: "TIME(6)",
    },
    Case {
        source: "datetime(6)",
        values: &["'1000-01-01 00:00:00.000000'", "'9999-12-31 23:59:59.999999'"],
        other_sql: "timestamp(6) without time zone",
        sqlite: "DATETIME(6)",
    },
    Case {
        source: "timestamp(6) NULL",
        values: &["'1970-01-01 00:00:01.000000'", "'2038-01-19 03:14:07.999999'"],
        other_sql: "timestamp(6) with time zone",
        sqlite: "TIMESTAMP(6)",
    },
    Case { source: "year", values: &["1901", "2155"], other_sql: "smallint", sqlite: "YEAR" },
    Case {
        source: "json",
        values: &["'{\"a\": [1, 2.5, null], \"b\": \"😀\"}'", "'[]'"],
        other_sql: "jsonb",
        sqlite: "JSON",
    },
    Case { source: "enum('a','b c')", values: &["'a'", "'b c'"], other_sql: "text", sqlite: "TEXT" },
    Case { source: "set('a','b')", values: &["'a,b'", "''"], other_sql: "text", sqlite: "TEXT" },
];

const PG_CASES: &[Case] = &[
    Case { source: "boolean", values: &["true", "false"], other_sql: "tinyint(1)", sqlite: "BOOLEAN" },
    Case { source: "smallint", values: &["-32768", "32767"], other_sql: "smallint(6)", sqlite: "SMALLINT" },
    Case { source: "integer", values: &["-2147483648", "2147483647"], other_sql: "int(11)", sqlite: "INT" },
    Case {
        source: "bigint",
        values: &["-9223372036854775808", "9223372036854775807"],
        other_sql: "bigint(20)",
        sqlite: "BIGINT",
    },
    Case {
        source: "numeric(65,30)",
        values: &[
            "99999999999999999999999999999999999.999999999999999999999999999999",
            "-99999999999999999999999999999999999.999999999999999999999999999999",
        ],
        other_sql: "decimal(65,30)",
        sqlite: "DECIMAL TEXT(65,30)",
    },
    Case { source: "real", values: &["-1.25", "3.4e38"], other_sql: "float", sqlite: "FLOAT" },
    Case { source: "double precision", values: &["1.7976931348623157e308"], other_sql: "double", sqlite: "DOUBLE" },
    Case {
        source: "character varying(10)", values: &["'é😀 ''q'''"], other_sql: "varchar(10)", sqlite: "VARCHAR(10)"
    },
    Case { source: "text", values: &["E'tab\\there'"], other_sql: "longtext", sqlite: "TEXT" },
    Case { source: "bytea", values: &["'\\x00ff'", "''"], other_sql: "longblob", sqlite: "BLOB" },
    Case { source: "date", values: &["'1000-01-01'", "'9999-12-31'"], other_sql: "date", sqlite: "DATE" },
    Case {
        source: "time(6) without time zone",
        values: &["'00:00:00'", "'24:00:00'", "'23:59:59.999999'"],
        other_sql: "time(6)",
        sqlite: "TIME(6)",
    },
    Case {
        source: "timestamp(6) without time zone",
        values: &["'1000-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'"],
        other_sql: "datetime(6)",
        sqlite: "DATETIME(6)",
    },
    Case {
        source: "timestamp(6) with time zone",
        values: &["'1970-01-01 00:00:01+00'", "'2038-01-19 03:14:07.999999+00'"],
        other_sql: "timestamp(6)",
        sqlite: "TIMESTAMP(6)",
    },
    Case {
        source: "interval",
        values: &["'1 year 2 mons 3 days 04:05:06.5'", "'-838:59:59'"],
        other_sql: "varchar(100)",
        sqlite: "INTERVAL",
    },
    // MariaDB's JSON is a LONGTEXT with a JSON check.
    Case { source: "jsonb", values: &["'{\"a\": [1, 2.5, null]}'"], other_sql: "longtext", sqlite: "JSON" },
    Case { source: "uuid", values: &["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"], other_sql: "char(36)", sqlite: "UUID" },
    Case { source: "integer[]", values: &["'{1,NULL,3}'", "'{}'"], other_sql: "longtext", sqlite: "JSON" },
];

/// `CREATE TABLE t (id int PRIMARY KEY, c0 …, c1 …)` and the inserts: one
/// row per value index, NULL where a column has fewer values, and a row of
/// NULLs.
fn table_sql(cases: &[Case], mysql: bool) -> (String, String) {
    let cols: Vec<String> = cases.iter().enumerate().map(|(i, c)| format!("c{i} {}", c.source)).collect();
    let create = format!("CREATE TABLE t (id int PRIMARY KEY, {})", cols.join(", "));
    let rows = cases.iter().map(|c| c.values.len()).max().unwrap_or(0) + 1;
    let mut insert = String::new();
    for r in 0..rows {
        let vals: Vec<&str> = cases.iter().map(|c| c.values.get(r).copied().unwrap_or("NULL")).collect();
        insert.push_str(&format!("INSERT INTO t VALUES ({}, {});\n", r + 1, vals.join(", ")));
    }
    if mysql {
        insert = format!("SET time_zone = '+00:00';\n{insert}");
    }
    (create, insert)
}

/// Per column, an md5 of its values in key order as the server prints them.
/// A JSON document is compared as its compact text: PostgreSQL's jsonb keeps
/// the value, not the spacing.
fn mysql_digests(db: &str, cases: &[Case]) -> Vec<String> {
    let cols: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let v = if c.source == "json" { format!("JSON_COMPACT(c{i})") } else { format!("c{i}") };
            format!("MD5(GROUP_CONCAT(IFNULL(HEX(CAST({v} AS BINARY)), 'NULL') ORDER BY id))")
        })
        .collect();
    let out = mariadb().query(db, &format!("SET time_zone = '+00:00'; SELECT {} FROM t", cols.join(", ")));
    out.split('\t').map(str::to_owned).collect()
}

fn pg_digests(db: &str, n: usize) -> Vec<String> {
    let cols: Vec<String> =
        (0..n).map(|i| format!("md5(string_agg(COALESCE(c{i}::text, 'NULL'), ',' ORDER BY id))")).collect();
    let out = postgres().query(db, &format!("SET timezone = 'UTC'; SELECT {} FROM t", cols.join(", ")));
    out.split('|').map(str::to_owned).collect()
}

fn sqlite_types(file: &Path) -> Vec<String> {
    let out = std::process::Command::new("sqlite3")
        .arg(file)
        .arg("SELECT type FROM pragma_table_info('t') WHERE name <> 'id' ORDER BY cid")
        .output()
        .expect("the sqlite3 CLI");
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

fn hop(exporter: &str, from: &str, importer: &str, to: &str, create: bool) {
    let mut import = run(importer).args(["--url", to, "--quiet"]);
    if create {
        import = import.arg("--create-tables");
    }
    run(exporter).args(["--url", from, "--quiet"]).pipe(import).assert_success();
}

fn assert_types(cases: &[Case], got: &[String], path: &str, pick: impl Fn(&Case) -> &'static str) {
    assert_eq!(got.len(), cases.len(), "{path}: the columns");
    for (c, g) in cases.iter().zip(got) {
        assert_eq!(g, pick(c), "{path}: the type created for {}", c.source);
    }
}

fn assert_values(cases: &[Case], want: &[String], got: &[String], path: &str) {
    assert_eq!(got.len(), cases.len(), "{path}: the columns");
    for ((c, w), g) in cases.iter().zip(want).zip(got) {
        assert_eq!(w, g, "{path}: the values of {} ({:?}) came back changed", c.source, c.values);
    }
}

#[test]
fn every_mysql_type_to_postgres_and_sqlite_and_back() {
    let (my, pg) = (mariadb(), postgres());
    let (create, insert) = table_sql(MYSQL_CASES, true);
    let src = my.fresh_database("tm_my");
    my.query(&src, &format!("{create};\n{insert}"));
    let want = mysql_digests(&src, MYSQL_CASES);

    // MySQL → PostgreSQL (created) → MySQL (a copy of the source table).
    let mid = pg.fresh_database("tm_my_pg");
    hop("mysql-export", &my.url(&src), "pg-import", &pg.url(&mid), true);
    let types: Vec<String> = pg
        .query(&mid, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 1 ORDER BY attnum")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_types(MYSQL_CASES, &types, "MySQL → PostgreSQL", |c| c.other_sql);
    let back = my.fresh_database("tm_my_back");
    my.query(&back, &create);
    hop("pg-export", &pg.url(&mid), "mysql-import", &my.url(&back), false);
    assert_values(MYSQL_CASES, &want, &mysql_digests(&back, MYSQL_CASES), "MySQL → PostgreSQL → MySQL");

    // MySQL → SQLite (created) → MySQL.
    let w = Workdir::new("tm_my_lite");
    let file = w.join("t.db");
    let lite = format!("sqlite://{}", file.display());
    hop("mysql-export", &my.url(&src), "sqlite-import", &lite, true);
    assert_types(MYSQL_CASES, &sqlite_types(&file), "MySQL → SQLite", |c| c.sqlite);
    let back = my.fresh_database("tm_my_lite_back");
    my.query(&back, &create);
    hop("sqlite-export", &lite, "mysql-import", &my.url(&back), false);
    assert_values(MYSQL_CASES, &want, &mysql_digests(&back, MYSQL_CASES), "MySQL → SQLite → MySQL");
}

#[test]
fn every_postgres_type_to_mysql_and_sqlite_and_back() {
    let (my, pg) = (mariadb(), postgres());
    let (create, insert) = table_sql(PG_CASES, false);
    let src = pg.fresh_database("tm_pg");
    pg.query(&src, &format!("{create};\n{insert}"));
    let want = pg_digests(&src, PG_CASES.len());

    let mid = my.fresh_database("tm_pg_my");
    // Where MySQL's type is narrower, the importer says so when it plans the
    // table, before any row (a dry run writes none).
    let plan = run("pg-export")
        .args(["--url", &pg.url(&src), "--quiet"])
        .pipe(run("mysql-import").args(["--url", &my.url(&mid), "--create-tables", "--dry-run"]))
        .assert_success();
    let column = PG_CASES.iter().position(|c| c.source == "timestamp(6) with time zone").unwrap();
    let note = format!("table t, column \"c{column}\" (timestamp(6) with time zone): MySQL TIMESTAMP holds 1970-01-01");
    assert!(plan.stderr.contains(&note), "{note}\n{}", plan.stderr);
    assert!(plan.stderr.contains("--cast column:t.c"), "{}", plan.stderr);
    hop("pg-export", &pg.url(&src), "mysql-import", &my.url(&mid), true);
    let types: Vec<String> = my
        .query(&mid, "SELECT column_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 't' AND column_name <> 'id' ORDER BY ordinal_position")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_types(PG_CASES, &types, "PostgreSQL → MySQL", |c| c.other_sql);
    let back = pg.fresh_database("tm_pg_back");
    pg.query(&back, &create);
    hop("mysql-export", &my.url(&mid), "pg-import", &pg.url(&back), false);
    assert_values(PG_CASES, &want, &pg_digests(&back, PG_CASES.len()), "PostgreSQL → MySQL → PostgreSQL");

    let w = Workdir::new("tm_pg_lite");
    let file = w.join("t.db");
    let lite = format!("sqlite://{}", file.display());
    hop("pg-export", &pg.url(&src), "sqlite-import", &lite, true);
    assert_types(PG_CASES, &sqlite_types(&file), "PostgreSQL → SQLite", |c| c.sqlite);
    let back = pg.fresh_database("tm_pg_lite_back");
    pg.query(&back, &create);
    hop("sqlite-export", &lite, "pg-import", &pg.url(&back), false);
    assert_values(PG_CASES, &want, &pg_digests(&back, PG_CASES.len()), "PostgreSQL → SQLite → PostgreSQL");
}
