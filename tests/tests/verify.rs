//! decant-verify: counts, digests, spot checks, schema checks and the
//! mismatch threshold, on files and on live stores.

use decant_tests::{Output, Workdir};
use serde_json::Value;

fn users(n: i64, skip: &[i64], change: &[i64]) -> String {
    let mut out = String::from(
        r#"{"kind":"schema","table":"users","columns":[{"name":"id","type":"int64","nullable":false},{"name":"email","type":"string","max_len":255},{"name":"score","type":"float64"},{"name":"at","type":"datetime","precision":6}],"primary_key":["id"],"indexes":[{"name":"by_email","columns":["email"],"unique":true}]}"#,
    );
    out.push('\n');
    for id in 1..=n {
        if skip.contains(&id) {
            continue;
        }
        let email = if change.contains(&id) { format!("changed{id}@x") } else { format!("u{id}@x") };
        out.push_str(&format!(
            r#"{{"kind":"row","table":"users","data":{{"id":{id},"email":"{email}","score":{}.5,"at":"2025-03-01T10:00:00.{:06}"}}}}"#,
            id,
            id * 7 % 1_000_000
        ));
        out.push('\n');
    }
    out
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report is not JSON ({e}): {out:?}"))
}

fn group<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["groups"].as_array().unwrap().iter().find(|g| g["group"] == name).unwrap_or_else(|| panic!("no {name}: {r}"))
}

#[test]
fn equal_files_pass_and_planted_differences_fail_with_counts() {
    let w = Workdir::new("verify-files");
    w.write("a.ndjson", users(1000, &[], &[]));
    w.write("same.ndjson", users(1000, &[], &[]));
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "same.ndjson", "--sample", "50", "--schema", "--json", "--seed", "7"])
        .output()
        .assert_success();
    let r = report(&out);
    assert_eq!(r["ok"], true);
    let g = group(&r, "table:users");
    assert_eq!(g["left"], 1000);
    assert_eq!(g["right"], 1000);
    assert_eq!(g["digest_equal"], true);
    assert_eq!(r["sample"]["checked"], 50);
    assert_eq!(r["sample"]["missing"], 0);
    assert_eq!(r["schema_differences"].as_array().unwrap().len(), 0);

    // One missing, one extra (id 1001), two changed.
    let mut b = users(1000, &[10], &[20, 30]);
    b.push_str(
        r#"{"kind":"row","table":"users","data":{"id":1001,"email":"new@x","score":1.5,"at":"2025-03-01T10:00:00"}}"#,
    );
    b.push('\n');
    w.write("b.ndjson", b);
    let out =
        w.run("decant-verify").args(["--left", "a.ndjson", "--right", "b.ndjson", "--json"]).output().assert_code(1);
    let r = report(&out);
    assert_eq!(r["ok"], false);
    let g = group(&r, "table:users");
    assert_eq!(g["removed"], 1);
    assert_eq!(g["added"], 1);
    assert_eq!(g["changed"], 2);
    assert_eq!(g["digest_equal"], false);
    assert!(!r["examples"].as_array().unwrap().is_empty());
    assert!(out.stderr.contains("verification FAILED"), "{out:?}");

    // 4 of 1001 records is 0.4%: within 0.5%, not within 0.1%.
    w.run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--max-mismatch", "0.5%"])
        .output()
        .assert_success();
    w.run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--max-mismatch", "0.1%"])
        .output()
        .assert_code(1);
}

#[test]
fn timestamp_precision_needs_the_explicit_option() {
    let w = Workdir::new("verify-precision");
    w.write("a.ndjson", users(100, &[], &[]));
    // The copy went through TIMESTAMP(3): microseconds rounded to milliseconds.
    let copy: String = users(100, &[], &[])
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["kind"] == "row" {
                let at = v["data"]["at"].as_str().unwrap().to_owned();
                let (head, frac) = at.split_once('.').unwrap();
                let micros: u64 = frac.parse().unwrap();
                let millis = (micros + 500) / 1000;
                assert!(millis < 1000);
                v["data"]["at"] = Value::from(format!("{head}.{millis:03}"));
            }
            format!("{v}\n")
        })
        .collect();
    w.write("b.ndjson", copy);
    let out =
        w.run("decant-verify").args(["--left", "a.ndjson", "--right", "b.ndjson", "--json"]).output().assert_code(1);
    assert!(group(&report(&out), "table:users")["changed"].as_u64().unwrap() > 50);
    w.run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--time-precision", "3"])
        .output()
        .assert_success();
}

#[test]
fn schema_differences_are_reported() {
    let w = Workdir::new("verify-schema");
    w.write("a.ndjson", users(3, &[], &[]));
    let b = users(3, &[], &[]).replacen(r#""unique":true"#, r#""unique":false"#, 1).replacen(
        r#""max_len":255"#,
        r#""max_len":100"#,
        1,
    );
    w.write("b.ndjson", b);
    // The data is equal; only --schema notices.
    w.run("decant-verify").args(["--left", "a.ndjson", "--right", "b.ndjson"]).output().assert_success();
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--schema", "--json"])
        .output()
        .assert_code(1);
    let diffs: Vec<String> =
        report(&out)["schema_differences"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
    assert!(
        diffs.iter().any(|d| d.contains("column email") && d.contains("string(255)") && d.contains("string(100)")),
        "{diffs:?}"
    );
    assert!(diffs.iter().any(|d| d.contains("unique key on [\"email\"] only in A")), "{diffs:?}");
}

#[test]
fn sample_spot_checks_find_missing_records() {
    let w = Workdir::new("verify-sample");
    w.write("a.ndjson", users(20, &[], &[]));
    w.write("b.ndjson", users(20, &(1..=10).collect::<Vec<_>>(), &[]));
    let out = w
        .run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "b.ndjson", "--sample", "20", "--json"])
        .output()
        .assert_code(1);
    let r = report(&out);
    assert_eq!(r["sample"]["checked"], 20);
    assert_eq!(r["sample"]["missing"], 10);
}

#[test]
fn unsealed_inputs_are_reported_and_can_be_required() {
    let w = Workdir::new("verify-sealed");
    w.write("a.ndjson", users(5, &[], &[]));
    let out =
        w.run("decant-verify").args(["--left", "a.ndjson", "--right", "a.ndjson", "--json"]).output().assert_success();
    assert_eq!(report(&out)["left_status"], "unsealed");
    w.run("decant-verify")
        .args(["--left", "a.ndjson", "--right", "a.ndjson", "--require-sealed"])
        .output()
        .assert_code(1);
}
