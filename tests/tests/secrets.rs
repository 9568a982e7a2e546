//! Issue 14: no password in any message, and the environment variables the
//! stores' own clients read (PGPASSWORD, PGPASSFILE, PGHOST…, MYSQL_PWD,
//! REDISCLI_AUTH), against real servers that require a password.

use decant_tests::{mariadb, postgres, run, Output, RedisOptions, Workdir};

/// A password with every character that breaks a URL: / # ? @.
const PW: &str = "Pw/1#2?3@4x";
/// Its percent-encoded form, for URLs that are meant to parse.
const PW_ENC: &str = "Pw%2F1%232%3F3%404x";

/// Fails when the password, whole or in part, or its encoded form, appears.
fn assert_no_password(what: &str, text: &str) {
    for needle in [PW, PW_ENC, "Pw/1", "Pw%2F1", "2?3@4x"] {
        assert!(!text.contains(needle), "{what}: shows the password ({needle:?}):\n{text}");
    }
}

fn assert_output_clean(what: &str, out: &Output) {
    assert_no_password(&format!("{what} stdout"), out.stdout_str());
    assert_no_password(&format!("{what} stderr"), &out.stderr);
}

#[test]
fn a_url_whose_password_does_not_parse_is_never_shown() {
    let w = Workdir::new("secrets-bad-url");
    w.write("a.ndjson", "{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1}}\n");
    let pg = format!("postgres://app:{PW}@127.0.0.1:1/db");
    let my = format!("mysql://app:{PW}@127.0.0.1:1/db");
    let rd = format!("redis://:{PW}@127.0.0.1:1/0");
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("pg-export", vec!["--url", &pg]),
        ("pg-import", vec!["--url", &pg, "-i", "a.ndjson"]),
        ("mysql-export", vec!["--url", &my]),
        ("mysql-import", vec!["--url", &my, "-i", "a.ndjson"]),
        ("redis-export", vec!["--url", &rd]),
        ("redis-import", vec!["--url", &rd, "-i", "a.ndjson"]),
        ("decant-checksum", vec![&pg]),
        ("decant-diff", vec![&my, "a.ndjson"]),
        ("decant-verify", vec!["--left", &rd, "--right", "a.ndjson"]),
    ];
    for (tool, args) in runs {
        for extra in [&[][..], &["--log-format", "json"][..]] {
            if extra.len() == 2 && tool == "decant-checksum" {
                continue;
            }
            let out = w.run(tool).args(&args).args(extra).output();
            assert_eq!(out.code(), Some(2), "{tool}: {out:?}");
            assert_output_clean(tool, &out);
            assert!(out.stderr.contains("percent-encode") && out.stderr.contains("--password-file"), "{tool}: {out:?}");
        }
    }
}

#[test]
fn redis_with_a_password_leaks_it_nowhere_and_checksum_check_logs_in() {
    let r = RedisOptions::new().requirepass(PW).start();
    for i in 0..20 {
        r.cli(["SET", &format!("k:{i}"), "v"]);
    }
    let w = Workdir::new("secrets-redis");
    let url = r.url();
    assert!(url.contains(PW_ENC), "the harness encodes the password: {url}");
    let out = w.run("redis-export").args(["--url", &url, "-o", "keys.ndjson", "--progress"]).output().assert_success();
    assert_output_clean("redis-export", &out);
    assert_no_password("the export's header", &w.read_to_string("keys.ndjson"));
    let out = w.run("redis-import").args(["--url", &url, "-i", "keys.ndjson", "--log-format", "json"]).output();
    assert_output_clean("redis-import", &out.assert_success());

    // A server error with the right password (no such db) shows no password either.
    let bad_db = url.replace("/0", "/99");
    let out = w.run("redis-export").args(["--url", &bad_db]).output();
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert_output_clean("redis-export db 99", &out);

    // The checksum file keeps the URL with *** for the password ...
    let out = w.run("decant-checksum").args([&url, "-o", "live.b3"]).output().assert_success();
    assert_output_clean("decant-checksum", &out);
    let sums = w.read_to_string("live.b3");
    assert_no_password("live.b3", &sums);
    assert!(sums.contains(":***@127.0.0.1"), "{sums}");
    // ... and --check logs in with the password from the environment or a file.
    let out = w.run("decant-checksum").args(["--check", "live.b3"]).env("REDISCLI_AUTH", PW).output();
    assert_output_clean("--check", &out.assert_success());
    w.write("pw.txt", format!("{PW}\n"));
    w.run("decant-checksum").args(["--check", "live.b3", "--password-file", "pw.txt"]).output().assert_success();
    let out = w.run("decant-checksum").args(["--check", "live.b3"]).env_remove("REDISCLI_AUTH").output();
    assert_ne!(out.code(), Some(0), "no password given: {out:?}");
    assert_output_clean("--check without a password", &out);

    // REDISCLI_AUTH alone, as redis-cli takes it.
    let bare = format!("redis://127.0.0.1:{}/0", r.port());
    w.run("redis-export").args(["--url", &bare]).env("REDISCLI_AUTH", PW).output().assert_success();
    let out = w.run("redis-export").args(["--url", &bare]).env_remove("REDISCLI_AUTH").output();
    assert_eq!(out.code(), Some(2), "{out:?}");
}

#[test]
fn mysql_pwd_gives_the_password() {
    let db = mariadb();
    let name = db.fresh_database("secrets");
    db.query(&name, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)");
    db.query(
        "",
        &format!("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY '{PW}'; GRANT ALL ON `{name}`.* TO 'app'@'%'"),
    );
    let url = format!("mysql://app@127.0.0.1:{}/{name}", db.port());
    let out = run("mysql-export").args(["--url", &url]).env("MYSQL_PWD", PW).assert_success();
    assert_eq!(out.stdout_json_lines().len(), 5, "header, schema, 2 rows, end: {out:?}");
    assert_output_clean("mysql-export", &out);
    let out = run("mysql-export").args(["--url", &url]).env_remove("MYSQL_PWD").output();
    assert_eq!(out.code(), Some(2), "{out:?}");
    // The URL's own (encoded) password comes first.
    let with_pw = format!("mysql://app:{PW_ENC}@127.0.0.1:{}/{name}", db.port());
    let out = run("mysql-export").args(["--url", &with_pw]).env("MYSQL_PWD", "wrong").assert_success();
    assert_output_clean("mysql-export with the URL's password", &out);
}

#[test]
fn the_libpq_variables_work_with_and_without_a_url() {
    let pg = postgres();
    let name = pg.fresh_database("secrets");
    pg.query(&name, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)");
    // A user that must give its password (scram), ahead of the harness's trust lines.
    pg.query(
        "postgres",
        &format!(
            "DO $$ BEGIN CREATE ROLE app LOGIN PASSWORD '{PW}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ),
    );
    pg.query(&name, "GRANT SELECT ON t TO app");
    let hba = pg.dir().join("data/pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    if !rules.starts_with("host all app") {
        std::fs::write(&hba, format!("host all app 127.0.0.1/32 scram-sha-256\n{rules}")).unwrap();
        pg.query("postgres", "SELECT pg_reload_conf()");
    }
    let url = format!("postgres://app@127.0.0.1:{}/{name}", pg.port());
    let export = |envs: &[(&str, &str)], args: &[&str]| {
        let mut cmd = run("pg-export").args(args);
        for var in ["PGPASSWORD", "PGPASSFILE", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSSLMODE", "SOURCE_URL"] {
            cmd = cmd.env_remove(var);
        }
        for (k, v) in envs {
            cmd = cmd.env(k, v);
        }
        cmd.output()
    };
    let out = export(&[], &["--url", &url]);
    assert_eq!(out.code(), Some(2), "scram needs a password: {out:?}");
    let out = export(&[("PGPASSWORD", PW)], &["--url", &url]).assert_success();
    assert_output_clean("PGPASSWORD", &out);
    // PGPASSFILE, in libpq's format.
    let w = Workdir::new("secrets-pg");
    let passfile = w.write("pgpass", format!("127.0.0.1:{}:{name}:app:{PW}\n", pg.port()));
    std::fs::set_permissions(&passfile, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    export(&[("PGPASSFILE", passfile.to_str().unwrap())], &["--url", &url]).assert_success();
    // No --url: the URL from PGHOST, PGPORT, PGUSER, PGDATABASE.
    let port = pg.port().to_string();
    let parts =
        [("PGHOST", "127.0.0.1"), ("PGPORT", &port), ("PGUSER", "app"), ("PGDATABASE", &name), ("PGPASSWORD", PW)];
    let out = export(&parts, &[]).assert_success();
    assert_eq!(out.stdout_json_lines().len(), 5, "{out:?}");
    // PGSSLMODE is honoured: verify-full without the test CA is refused.
    let mut strict = parts.to_vec();
    strict.push(("PGSSLMODE", "verify-full"));
    let out = export(&strict, &[]);
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("certificate"), "{out:?}");
    strict.pop();
    strict.push(("PGSSLMODE", "require"));
    export(&strict, &[]).assert_success();
    // The help lists them.
    let help = run("pg-export").arg("--help").assert_success();
    for var in ["PGPASSWORD", "PGPASSFILE", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSSLMODE"] {
        assert!(help.stdout_str().contains(var), "{var} not in pg-export --help");
    }
    assert!(run("mysql-import").arg("--help").assert_success().stdout_str().contains("MYSQL_PWD"));
    assert!(run("redis-import").arg("--help").assert_success().stdout_str().contains("REDISCLI_AUTH"));
}
