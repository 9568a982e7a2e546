//! MySQL ↔ DynamoDB through the single-table specs of `examples/`
//! (mysql-to-dynamodb.toml, dynamodb-to-mysql.toml): the backfill and the way
//! back, and the dual-write validation — the five mismatch classes found by
//! decant-verify and decant-diff, forgiven where an option says so, repaired
//! by a patch toward either side.
//!
//! The MySQL side is a real MariaDB. The DynamoDB side is a file of items as
//! `decant-transform` writes them (the same `row` lines, read by the same code
//! path as a live `dynamodb://` side); a patch toward it is applied as
//! `dynamodb-import --mode upsert` does (attributes merged, `delete` lines
//! deleting). The same validation against a live DynamoDB (the binary's
//! dynalite, `--right dynamodb://…?endpoint=…`) is
//! `live_dynamodb_backfill_validation_repair_and_rollback`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use decant_tests::{Output, Workdir};
use serde_json::Value;

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name).to_string_lossy().into_owned()
}

/// The shop's MySQL schema (the one `examples/mysql-to-dynamodb.md` shows).
const DDL: &str = "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, \
    display_name VARCHAR(100) CHARACTER SET utf8mb4 NULL, bio TEXT CHARACTER SET utf8mb4 NOT NULL, \
    password_hash VARCHAR(255) NOT NULL, avatar_sha256 VARBINARY(32) NULL, created_at DATETIME(6) NOT NULL, \
    last_login_at DATETIME(3) NULL, UNIQUE KEY uk_users_email (email)) ENGINE=InnoDB; \
    CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, total DECIMAL(12,2) NOT NULL, \
    currency VARCHAR(3) NOT NULL, status VARCHAR(20) NOT NULL, note VARCHAR(255) CHARACTER SET utf8mb4 NULL, \
    placed_at DATETIME(6) NOT NULL, KEY idx_orders_user (user_id)) ENGINE=InnoDB;";

/// 200 users and 300 orders: NULL and empty display names, bios and notes,
/// bcrypt-shaped hashes, 32 raw bytes (every value possible), microsecond
/// and millisecond date-times, exact decimals.
const DATA: &str = "INSERT INTO users SELECT seq, CONCAT('user', seq, '@example.com'), \
    IF(seq % 5 = 0, NULL, IF(seq % 7 = 0, '', CONCAT('Usér ', seq, ' 🦀'))), IF(seq % 3 = 0, '', CONCAT('bio ', seq)), \
    CONCAT('$2b$12$', LEFT(SHA2(seq, 256), 53)), IF(seq % 4 = 0, NULL, UNHEX(SHA2(seq, 256))), \
    TIMESTAMPADD(MICROSECOND, seq * 1234567, '2025-01-01 00:00:00'), \
    IF(seq % 6 = 0, NULL, TIMESTAMPADD(MICROSECOND, seq * 7001000, '2025-03-01 00:00:00')) FROM seq_1_to_200; \
    INSERT INTO orders SELECT seq, seq % 200 + 1, ROUND(seq * 1.37, 2), IF(seq % 2 = 0, 'EUR', 'USD'), \
    ELT(seq % 3 + 1, 'paid', 'shipped', 'refunded'), IF(seq % 4 = 0, NULL, IF(seq % 4 = 1, '', CONCAT('note ', seq))), \
    TIMESTAMPADD(MICROSECOND, seq * 987654321, '2025-02-01 00:00:00') FROM seq_1_to_300;";

/// A MariaDB database holding the shop, and its URL.
fn shop(prefix: &str) -> String {
    let my = decant_tests::mariadb();
    let db = my.fresh_database(prefix);
    my.query(&db, DDL);
    my.query(&db, DATA);
    my.url(&db)
}

/// The shop's items, as the backfill writes them into DynamoDB.
fn backfill(w: &Workdir, mysql: &str, file: &str) {
    w.run("mysql-export").args(["--url", mysql, "-o", "rows.ndjson"]).output().assert_success();
    w.run("decant-transform")
        .args(["--spec", &example("mysql-to-dynamodb.toml"), "-i", "rows.ndjson", "-o", file])
        .output()
        .assert_success();
}

type Items = BTreeMap<(String, String), serde_json::Map<String, Value>>;

/// The `row` lines of an items file (and its other lines, kept in order).
fn read_items(w: &Workdir, file: &str) -> (Vec<Value>, Items) {
    let mut other = Vec::new();
    let mut items = Items::new();
    for line in w.read_to_string(file).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["kind"] == "row" {
            let data = v["data"].as_object().unwrap().clone();
            let key = (data["pk"].as_str().unwrap().to_owned(), data["sk"].as_str().unwrap().to_owned());
            items.insert(key, data);
        } else if v["kind"] == "schema" {
            other.push(v);
        }
    }
    (other, items)
}

/// Writes items back as a stream without a header (hand-made, unsealed).
fn write_items(w: &Workdir, file: &str, schemas: &[Value], items: &Items) {
    let mut out = String::new();
    for s in schemas {
        out.push_str(&s.to_string());
        out.push('\n');
    }
    for data in items.values() {
        out.push_str(&serde_json::json!({"kind": "row", "table": "app", "data": data}).to_string());
        out.push('\n');
    }
    w.write(file, out);
}

/// Applies a patch to an items file as `dynamodb-import --mode upsert` does:
/// an item's attributes merged into the stored item, `delete` lines deleting.
fn apply_item_patch(w: &Workdir, items_file: &str, patch: &Output) -> (usize, usize) {
    let (schemas, mut items) = read_items(w, items_file);
    let (mut upserts, mut deletes) = (0, 0);
    for v in patch.stdout_json_lines() {
        match v["kind"].as_str().unwrap() {
            "row" => {
                assert_eq!(v["table"], "app", "{v}");
                let data = v["data"].as_object().unwrap();
                let key = (data["pk"].as_str().unwrap().to_owned(), data["sk"].as_str().unwrap().to_owned());
                let stored = items.entry(key).or_default();
                for (k, x) in data {
                    stored.insert(k.clone(), x.clone());
                }
                upserts += 1;
            }
            "delete" => {
                assert_eq!(v["table"], "app", "{v}");
                let id = &v["id"];
                let key = (id["pk"].as_str().unwrap().to_owned(), id["sk"].as_str().unwrap().to_owned());
                assert!(items.remove(&key).is_some(), "a delete of an item that is not there: {v}");
                deletes += 1;
            }
            _ => {}
        }
    }
    write_items(w, items_file, &schemas, &items);
    (upserts, deletes)
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report is not JSON ({e}): {out:?}"))
}

fn app(r: &Value) -> &Value {
    r["groups"].as_array().unwrap().iter().find(|g| g["group"] == "table:app").unwrap_or_else(|| panic!("{r}"))
}

fn verify(w: &Workdir, mysql: &str, items: &str, extra: &[&str]) -> Output {
    w.run("decant-verify")
        .args(["--left", mysql, "--right", items, "--spec", &example("mysql-to-dynamodb.toml"), "--json"])
        .args(["--sample", "50"])
        .args(extra)
        .output()
}

/// The diff lines of decant-diff A B, by the item key (`pk`, `sk`) or row id.
fn diff_lines(out: &Output) -> BTreeMap<String, (String, Vec<String>)> {
    out.stdout_json_lines()
        .into_iter()
        .filter(|v| v["kind"] == "diff")
        .map(|v| {
            let id = &v["id"];
            let key = match id.get("pk") {
                Some(pk) => format!("{}/{}", pk.as_str().unwrap(), id["sk"].as_str().unwrap()),
                None => format!("{}#{}", v["table"].as_str().unwrap(), id["id"]),
            };
            let fields = v["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
            (key, (v["op"].as_str().unwrap().to_owned(), fields))
        })
        .collect()
}

#[test]
fn backfill_through_the_single_table_spec_and_back_is_equal() {
    let w = Workdir::new("ddb-backfill");
    let mysql = shop("ddb_backfill");
    backfill(&w, &mysql, "items.ndjson");
    let (_, items) = read_items(&w, "items.ndjson");
    assert_eq!(items.len(), 500);
    // The ID transformation and the casts, as the application writes them.
    let user = &items[&("USER#7".to_owned(), "PROFILE".to_owned())];
    assert_eq!(user["entity"], "user");
    assert_eq!(user["display_name"], "");
    assert_eq!(user["created_at"], "2025-01-01T00:00:08.641969Z");
    assert_eq!(user["last_login_at"], 1_740_787_249_007i64);
    assert_eq!(user["password_hash"].as_str().unwrap().len(), 60);
    assert!(user["avatar_sha256"]["$b64"].is_string(), "{user:?}");
    let order = &items[&("USER#11".to_owned(), "ORDER#10".to_owned())];
    assert_eq!(order["total"], "13.70");
    assert_eq!(order["note"], "note 10");
    assert_eq!(items[&("USER#9".to_owned(), "ORDER#8".to_owned())]["note"], Value::Null);
    assert_eq!(items[&("USER#10".to_owned(), "ORDER#9".to_owned())]["note"], "");

    let out = verify(&w, &mysql, "items.ndjson", &[]).assert_success();
    let r = report(&out);
    assert_eq!((app(&r)["left"].as_u64(), app(&r)["right"].as_u64()), (Some(500), Some(500)), "{r}");
    assert_eq!(r["sample"]["different"], 0, "{r}");

    // The way back (a rollback): items → rows through the reverse spec, into
    // an empty copy of the schema, equal to the original tables.
    let my = decant_tests::mariadb();
    let back = my.fresh_database("ddb_rollback");
    my.query(&back, DDL);
    w.run("decant-transform")
        .args(["--spec", &example("dynamodb-to-mysql.toml"), "-i", "items.ndjson"])
        .pipe(w.run("mysql-import").args(["--url", &my.url(&back)]))
        .assert_success();
    let out = w.run("decant-verify").args(["--left", &mysql, "--right", &my.url(&back), "--json"]).output();
    let r = report(&out.assert_success());
    assert_eq!(r["ok"], true, "{r}");
    w.run("decant-diff").args([&mysql, &my.url(&back), "--brief"]).output().assert_success();
}

/// Plants the five mismatch classes of a dual-write validation in the items.
fn plant_five_classes(w: &Workdir, file: &str) {
    let (schemas, mut items) = read_items(w, file);
    let key = |pk: &str, sk: &str| (pk.to_owned(), sk.to_owned());
    // 1. ID transformation: order 10 of user 11 written under "USER#011".
    let order = items.remove(&key("USER#11", "ORDER#10")).unwrap();
    let mut wrong = order.clone();
    wrong.insert("pk".into(), "USER#011".into());
    items.insert(key("USER#011", "ORDER#10"), wrong);
    // 2. Timestamp precision: created_at cut to milliseconds.
    let u = items.get_mut(&key("USER#20", "PROFILE")).unwrap();
    assert_eq!(u["created_at"], "2025-01-01T00:00:24.691340Z");
    u.insert("created_at".into(), "2025-01-01T00:00:24.691Z".into());
    // 3. NULL vs empty: a NULL display name written as "", another left out.
    let u = items.get_mut(&key("USER#25", "PROFILE")).unwrap();
    assert_eq!(u["display_name"], Value::Null);
    u.insert("display_name".into(), "".into());
    let u = items.get_mut(&key("USER#30", "PROFILE")).unwrap();
    assert_eq!(u["display_name"], Value::Null);
    u.remove("display_name");
    // 4. Password hash: one character changed.
    let u = items.get_mut(&key("USER#22", "PROFILE")).unwrap();
    let hash = u["password_hash"].as_str().unwrap().to_owned();
    let last = if hash.ends_with('a') { "b" } else { "a" };
    u.insert("password_hash".into(), format!("{}{last}", &hash[..hash.len() - 1]).into());
    // 5. Type conversion: a number stored as a string.
    let u = items.get_mut(&key("USER#23", "PROFILE")).unwrap();
    let ms = u["last_login_at"].as_i64().unwrap();
    u.insert("last_login_at".into(), ms.to_string().into());
    write_items(w, file, &schemas, &items);
}

#[test]
fn five_mismatch_classes_are_found_and_repaired_toward_dynamodb() {
    let w = Workdir::new("ddb-mismatch");
    let mysql = shop("ddb_mismatch");
    backfill(&w, &mysql, "dynamo.ndjson");
    plant_five_classes(&w, "dynamo.ndjson");

    // decant-verify finds every class: 5 changed items, the wrong ID as one
    // added and one removed.
    let out = verify(&w, &mysql, "dynamo.ndjson", &[]).assert_code(1);
    let r = report(&out);
    let g = app(&r);
    assert_eq!((g["added"].as_u64(), g["removed"].as_u64(), g["changed"].as_u64()), (Some(1), Some(1), Some(5)), "{r}");
    assert_eq!(r["ok"], false);

    // decant-diff names each one, and the field.
    let out = w
        .run("decant-diff")
        .args([&mysql, "dynamo.ndjson", "--spec", &example("mysql-to-dynamodb.toml")])
        .output()
        .assert_code(1);
    let found = diff_lines(&out);
    let want = |op: &str, fields: &[&str]| (op.to_owned(), fields.iter().map(|f| f.to_string()).collect::<Vec<_>>());
    assert_eq!(found["USER#011/ORDER#10"], want("added", &[]));
    assert_eq!(found["USER#11/ORDER#10"], want("removed", &[]));
    assert_eq!(found["USER#20/PROFILE"], want("changed", &["created_at"]));
    assert_eq!(found["USER#25/PROFILE"], want("changed", &["display_name"]));
    assert_eq!(found["USER#30/PROFILE"], want("changed", &["display_name"]));
    assert_eq!(found["USER#22/PROFILE"], want("changed", &["password_hash"]));
    assert_eq!(found["USER#23/PROFILE"], want("changed", &["last_login_at"]));
    assert_eq!(found.len(), 7, "{found:?}");

    // --null-equals-empty and --time-precision 3 forgive classes 2 and 3, and
    // say how many records they forgave; a hash, a type and an ID never pass.
    let lenient = ["--null-equals-empty", "--time-precision", "3", "--time-rounding", "truncate"];
    let out = verify(&w, &mysql, "dynamo.ndjson", &lenient).assert_code(1);
    let r = report(&out);
    let g = app(&r);
    assert_eq!((g["added"].as_u64(), g["removed"].as_u64(), g["changed"].as_u64()), (Some(1), Some(1), Some(2)), "{r}");
    assert_eq!(g["equal_by_options"], 3, "{r}");
    let notes = r["notes"].to_string();
    assert!(notes.contains("3 record(s) counted equal only under --null-equals-empty"), "{notes}");
    let out = w
        .run("decant-diff")
        .args([&mysql, "dynamo.ndjson", "--spec", &example("mysql-to-dynamodb.toml"), "--brief"])
        .args(lenient)
        .output()
        .assert_code(1);
    assert!(out.stderr.contains("note: 3 record(s) counted equal only under"), "{}", out.stderr);
    // Each option alone forgives its own class only.
    let r = report(&verify(&w, &mysql, "dynamo.ndjson", &["--null-equals-empty"]).assert_code(1));
    assert_eq!((app(&r)["changed"].as_u64(), app(&r)["equal_by_options"].as_u64()), (Some(3), Some(2)), "{r}");
    let r = report(&verify(&w, &mysql, "dynamo.ndjson", &lenient[1..]).assert_code(1));
    assert_eq!((app(&r)["changed"].as_u64(), app(&r)["equal_by_options"].as_u64()), (Some(4), Some(1)), "{r}");

    // The repair: MySQL's items as a patch (upserts + the stray item's delete).
    let patch = w
        .run("decant-diff")
        .args([&mysql, "dynamo.ndjson", "--spec", &example("mysql-to-dynamodb.toml"), "--patch"])
        .output()
        .assert_code(1);
    assert_eq!(apply_item_patch(&w, "dynamo.ndjson", &patch), (6, 1));
    let r = report(&verify(&w, &mysql, "dynamo.ndjson", &[]).assert_success());
    assert_eq!(app(&r)["right"], 500, "{r}");
    assert!(r.get("notes").is_none(), "{r}");
}

#[test]
fn mismatches_in_mysql_are_repaired_from_dynamodb_through_the_reverse_spec() {
    let w = Workdir::new("ddb-repair-mysql");
    let mysql = shop("ddb_repair");
    backfill(&w, &mysql, "dynamo.ndjson");
    // MySQL drifts (the DynamoDB side is right, as after a cutover).
    let my = decant_tests::mariadb();
    let db = mysql.rsplit('/').next().unwrap();
    my.query(
        db,
        "UPDATE users SET password_hash = CONCAT(LEFT(password_hash, 59), 'X') WHERE id = 22; \
         UPDATE users SET created_at = '2025-01-01 00:00:24.691000' WHERE id = 20; \
         UPDATE users SET display_name = '' WHERE id = 25; \
         UPDATE users SET avatar_sha256 = CONCAT(LEFT(avatar_sha256, 31), \
           IF(RIGHT(avatar_sha256, 1) = X'00', X'01', X'00')) WHERE id = 21; \
         UPDATE orders SET user_id = 12 WHERE id = 10; \
         DELETE FROM orders WHERE id = 11; \
         INSERT INTO orders VALUES (999, 3, 1.00, 'EUR', 'paid', NULL, '2025-05-05 05:05:05.000005');",
    );
    let reverse = example("dynamodb-to-mysql.toml");
    let out = w.run("decant-diff").args(["dynamo.ndjson", &mysql, "--spec", &reverse]).output().assert_code(1);
    let found = diff_lines(&out);
    let want = |op: &str, fields: &[&str]| (op.to_owned(), fields.iter().map(|f| f.to_string()).collect::<Vec<_>>());
    assert_eq!(found["users#22"], want("changed", &["password_hash"]));
    assert_eq!(found["users#20"], want("changed", &["created_at"]));
    assert_eq!(found["users#25"], want("changed", &["display_name"]));
    // Bytes (B vs VARBINARY) are compared exactly: one byte of 32.
    assert_eq!(found["users#21"], want("changed", &["avatar_sha256"]));
    assert_eq!(found["orders#10"], want("changed", &["user_id"]));
    assert_eq!(found["orders#11"], want("removed", &[]));
    assert_eq!(found["orders#999"], want("added", &[]));
    assert_eq!(found.len(), 7, "{found:?}");

    // The patch toward MySQL: rows for mysql-import --mode upsert, and the
    // delete of the row DynamoDB does not have.
    let outs = w
        .run("decant-diff")
        .args(["dynamo.ndjson", &mysql, "--spec", &reverse, "--patch"])
        .pipe(w.run("mysql-import").args(["--url", &mysql, "--mode", "upsert"]))
        .output();
    assert_eq!(outs[0].code(), Some(1), "{outs:?}");
    assert_eq!(outs[1].code(), Some(0), "{outs:?}");
    let r = report(&verify(&w, &mysql, "dynamo.ndjson", &[]).assert_success());
    assert_eq!((app(&r)["left"].as_u64(), app(&r)["right"].as_u64()), (Some(500), Some(500)), "{r}");
    w.run("decant-diff").args(["dynamo.ndjson", &mysql, "--spec", &reverse, "--brief"]).output().assert_success();
}

/// The example specs with their DynamoDB table renamed (tests of one binary
/// share one dynalite and keep apart by table names).
fn specs_for_table(w: &Workdir, table: &str) -> (String, String) {
    let rename = |name: &str| {
        let text = std::fs::read_to_string(example(name)).unwrap();
        let text = text
            .replace("table = \"app\"", &format!("table = \"{table}\""))
            .replace("to_table = \"app\"", &format!("to_table = \"{table}\""))
            .replace("match_table = \"app\"", &format!("match_table = \"{table}\""));
        w.write(name, text).to_string_lossy().into_owned()
    };
    (rename("mysql-to-dynamodb.toml"), rename("dynamodb-to-mysql.toml"))
}

fn ddb_string(s: &str) -> Value {
    serde_json::json!({ "S": s })
}

fn group<'a>(r: &'a Value, table: &str) -> &'a Value {
    let name = format!("table:{table}");
    r["groups"].as_array().unwrap().iter().find(|g| g["group"] == name).unwrap_or_else(|| panic!("{r}"))
}

/// The dual-write validation against a live DynamoDB (dynalite): the backfill
/// as a pipe into `dynamodb-import`, the five mismatch classes written into
/// the table as a buggy dual write would, decant-verify and decant-diff with
/// `--right dynamodb://…?endpoint=…`, the repair as `decant-diff --patch |
/// dynamodb-import --mode upsert`, and the rollback into MySQL.
#[test]
fn live_dynamodb_backfill_validation_repair_and_rollback() {
    let ddb = decant_tests::dynalite();
    let w = Workdir::new("ddb-live");
    let mysql = shop("ddb_live");
    let table = "shop_live";
    let (forward, reverse) = specs_for_table(&w, table);
    let url = ddb.url();
    // 1. Backfill.
    w.run("mysql-export")
        .args(["--url", &mysql])
        .pipe(w.run("decant-transform").args(["--spec", &forward]))
        .pipe(w.run("dynamodb-import").args(["--url", &url, "--create-tables"]))
        .assert_success();
    assert_eq!(ddb.scan_all(table).len(), 500);
    let verify_live = |extra: &[&str]| {
        w.run("decant-verify")
            .args(["--left", &mysql, "--right", &url, "--spec", &forward, "--json"])
            .args(extra)
            .output()
    };
    // DynamoDB has no lookup by key in the registry: the sample is looked up
    // during B's full pass, every sampled record found and equal.
    let r = report(&verify_live(&["--sample", "50"]).assert_success());
    let g = group(&r, table);
    assert_eq!((g["left"].as_u64(), g["right"].as_u64()), (Some(500), Some(500)), "{r}");
    assert_eq!(r["right_status"], "live", "{r}");
    let s = &r["sample"];
    assert_eq!(
        (s["checked"].as_u64(), s["missing"].as_u64(), s["different"].as_u64()),
        (Some(50), Some(0), Some(0)),
        "{r}"
    );
    assert_eq!(s["by_key"], false, "{r}");

    // 2. The five classes, written as a buggy dual write would.
    let key = |pk: &str, sk: &str| serde_json::json!({ "pk": ddb_string(pk), "sk": ddb_string(sk) });
    let update = |pk: &str, sk: &str, expr: &str, values: Value| {
        let mut body = serde_json::json!({ "TableName": table, "Key": key(pk, sk), "UpdateExpression": expr });
        if !values.is_null() {
            body["ExpressionAttributeValues"] = values;
        }
        let (status, out) = ddb.call("UpdateItem", &body);
        assert_eq!(status, 200, "{out}");
    };
    let get = |pk: &str, sk: &str| {
        let (status, got) = ddb.call("GetItem", &serde_json::json!({ "TableName": table, "Key": key(pk, sk) }));
        assert_eq!(status, 200, "{got}");
        got["Item"].clone()
    };
    // 1. ID transformation: order 10 of user 11 written under "USER#011".
    let mut wrong = get("USER#11", "ORDER#10");
    assert_eq!(wrong["note"], ddb_string("note 10"), "{wrong}");
    wrong["pk"] = ddb_string("USER#011");
    assert_eq!(ddb.call("PutItem", &serde_json::json!({ "TableName": table, "Item": wrong })).0, 200);
    assert_eq!(
        ddb.call("DeleteItem", &serde_json::json!({ "TableName": table, "Key": key("USER#11", "ORDER#10") })).0,
        200
    );
    // 2. Timestamp precision: created_at cut to milliseconds.
    assert_eq!(get("USER#20", "PROFILE")["created_at"], ddb_string("2025-01-01T00:00:24.691340Z"));
    update(
        "USER#20",
        "PROFILE",
        "SET created_at = :t",
        serde_json::json!({ ":t": ddb_string("2025-01-01T00:00:24.691Z") }),
    );
    // 3. NULL vs empty: a NULL display name written as "", another left out.
    assert_eq!(get("USER#25", "PROFILE")["display_name"], serde_json::json!({ "NULL": true }));
    update("USER#25", "PROFILE", "SET display_name = :e", serde_json::json!({ ":e": ddb_string("") }));
    assert_eq!(get("USER#30", "PROFILE")["display_name"], serde_json::json!({ "NULL": true }));
    update("USER#30", "PROFILE", "REMOVE display_name", Value::Null);
    // 4. Password hash: changed.
    update("USER#22", "PROFILE", "SET password_hash = :h", serde_json::json!({ ":h": ddb_string("$2b$12$tampered") }));
    // 5. Type conversion: a number stored as a string.
    let ms = get("USER#23", "PROFILE")["last_login_at"]["N"].as_str().unwrap().to_owned();
    update("USER#23", "PROFILE", "SET last_login_at = :s", serde_json::json!({ ":s": ddb_string(&ms) }));

    let r = report(&verify_live(&["--sample", "500"]).assert_code(1));
    let g = group(&r, table);
    assert_eq!((g["added"].as_u64(), g["removed"].as_u64(), g["changed"].as_u64()), (Some(1), Some(1), Some(5)), "{r}");
    // Every record of A sampled: the moved order missing, the five different.
    let s = &r["sample"];
    assert_eq!(
        (s["checked"].as_u64(), s["missing"].as_u64(), s["different"].as_u64()),
        (Some(500), Some(1), Some(5)),
        "{r}"
    );
    assert_eq!(r["ok"], false, "{r}");
    // Each option forgives its own class only, together both.
    let r = report(&verify_live(&["--null-equals-empty", "--time-precision", "3"]).assert_code(1));
    let g = group(&r, table);
    assert_eq!((g["changed"].as_u64(), g["equal_by_options"].as_u64()), (Some(2), Some(3)), "{r}");
    assert_eq!((g["added"].as_u64(), g["removed"].as_u64()), (Some(1), Some(1)), "{r}");
    let r = report(&verify_live(&["--null-equals-empty"]).assert_code(1));
    let g = group(&r, table);
    assert_eq!((g["changed"].as_u64(), g["equal_by_options"].as_u64()), (Some(3), Some(2)), "{r}");
    let r = report(&verify_live(&["--time-precision", "3"]).assert_code(1));
    let g = group(&r, table);
    assert_eq!((g["changed"].as_u64(), g["equal_by_options"].as_u64()), (Some(4), Some(1)), "{r}");

    // decant-diff names each one, and the field.
    let out = w.run("decant-diff").args([&mysql, &url, "--spec", &forward]).output().assert_code(1);
    let found = diff_lines(&out);
    let want = |op: &str, fields: &[&str]| (op.to_owned(), fields.iter().map(|f| f.to_string()).collect::<Vec<_>>());
    assert_eq!(found["USER#011/ORDER#10"], want("added", &[]));
    assert_eq!(found["USER#11/ORDER#10"], want("removed", &[]));
    assert_eq!(found["USER#20/PROFILE"], want("changed", &["created_at"]));
    assert_eq!(found["USER#25/PROFILE"], want("changed", &["display_name"]));
    assert_eq!(found["USER#30/PROFILE"], want("changed", &["display_name"]));
    assert_eq!(found["USER#22/PROFILE"], want("changed", &["password_hash"]));
    assert_eq!(found["USER#23/PROFILE"], want("changed", &["last_login_at"]));
    assert_eq!(found.len(), 7, "{found:?}");
    let out = w
        .run("decant-diff")
        .args([&mysql, &url, "--spec", &forward, "--null-equals-empty", "--time-precision", "3"])
        .output()
        .assert_code(1);
    let found = diff_lines(&out);
    let keys: Vec<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(keys, ["USER#011/ORDER#10", "USER#11/ORDER#10", "USER#22/PROFILE", "USER#23/PROFILE"], "{found:?}");

    // 3. Repair toward DynamoDB, re-verified clean.
    let outs = w
        .run("decant-diff")
        .args([&mysql, &url, "--spec", &forward, "--patch"])
        .pipe(w.run("dynamodb-import").args(["--url", &url, "--mode", "upsert"]))
        .output();
    assert_eq!(outs[0].code(), Some(1), "{outs:?}");
    assert_eq!(outs[1].code(), Some(0), "{outs:?}");
    let r = report(&verify_live(&["--sample", "500"]).assert_success());
    let g = group(&r, table);
    assert_eq!((g["left"].as_u64(), g["right"].as_u64()), (Some(500), Some(500)), "{r}");
    assert_eq!((r["sample"]["missing"].as_u64(), r["sample"]["different"].as_u64()), (Some(0), Some(0)), "{r}");
    assert_eq!(get("USER#22", "PROFILE")["password_hash"]["S"].as_str().unwrap().len(), 60);
    assert_eq!(get("USER#30", "PROFILE")["display_name"], serde_json::json!({ "NULL": true }));
    assert!(get("USER#011", "ORDER#10").is_null());
    w.run("decant-diff").args([&mysql, &url, "--spec", &forward, "--brief"]).output().assert_success();

    // 4. Rollback: DynamoDB → MySQL through the reverse spec, equal to the original.
    let my = decant_tests::mariadb();
    let back = my.fresh_database("ddb_live_back");
    my.query(&back, DDL);
    w.run("dynamodb-export")
        .args(["--url", &url, "--tables", table])
        .pipe(w.run("decant-transform").args(["--spec", &reverse]))
        .pipe(w.run("mysql-import").args(["--url", &my.url(&back)]))
        .assert_success();
    w.run("decant-diff").args([&mysql, &my.url(&back), "--brief"]).output().assert_success();
}
