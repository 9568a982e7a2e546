//! Issue 14: the README's commands work as a new user would copy them. Every
//! fenced block marked ```` ```sh test ```` is run as written by `bash -eu -o
//! pipefail` in a fresh directory, with the decant binaries first on PATH and
//! the URL variables it uses pointing at throwaway servers holding some data.

use std::process::Command;

use decant_tests::{bin, mariadb, postgres, redis, Workdir};

/// The fenced blocks of `markdown` whose info string is `sh test`.
fn tested_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim() == "```sh test" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim() == "```" => blocks.push(current.take().unwrap()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unterminated ```sh test block");
    blocks
}

#[test]
fn the_readme_blocks_marked_for_testing_run_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let blocks = tested_blocks(&readme);
    assert!(!blocks.is_empty(), "README.md has no ```sh test block");

    let r = redis();
    r.cli(["-n", "3", "FLUSHDB"]);
    r.cli(["-n", "4", "FLUSHDB"]);
    r.cli(["-n", "3", "SET", "apikey:1", "alpha"]);
    r.cli(["-n", "3", "HSET", "user:1", "name", "Ada", "plan", "pro"]);
    r.cli(["-n", "3", "RPUSH", "queue", "a", "b", "c"]);
    r.cli(["-n", "3", "SET", "session:9", "x", "EX", "3600"]);
    let my = mariadb();
    let shop = my.fresh_database("readme");
    my.query(
        &shop,
        "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, joined DATETIME(3), balance DECIMAL(10,2));\
         INSERT INTO customers VALUES (1, 'Ada', '2024-01-02 03:04:05.678', 85.88), (2, 'Grace', NULL, 0.00);\
         CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, note TEXT, FOREIGN KEY (customer_id) REFERENCES customers(id));\
         INSERT INTO orders VALUES (10, 1, 'first ✓'), (11, 2, NULL);",
    );
    let pg = postgres();
    let target = pg.fresh_database("readme");

    let w = Workdir::new("readme");
    let path = format!("{}:{}", bin("decant").parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    for block in &blocks {
        let out = Command::new("bash")
            .args(["-eu", "-o", "pipefail", "-c", block])
            .current_dir(w.path())
            .env("PATH", &path)
            .env("REDIS_URL", r.url_db(3))
            .env("REDIS_COPY_URL", r.url_db(4))
            .env("MYSQL_URL", my.url(&shop))
            .env("PG_URL", pg.url(&target))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README block failed ({}):\n{block}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The blocks did what they say.
    assert_eq!(r.cli(["-n", "4", "DBSIZE"]), "4");
    assert_eq!(pg.query(&target, "SELECT count(*) FROM orders"), "2");
}
