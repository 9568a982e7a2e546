//! Hand-made RDB files for the encodings Redis 7 no longer writes (zipmap,
//! ziplist, intset in old files, quicklist of ziplists, text scores,
//! version-1 streams), parts, expiry, checksums and damage. Files written by
//! a real Redis 7.0 are checked end to end in `tests/tests/redis_rdb.rs`.

use super::*;
use decant_record::FieldExpiries;

/// Writes RDB bytes the way `rdb.c` does.
struct W(Vec<u8>);

impl W {
    fn new(version: u32) -> W {
        W(format!("REDIS{version:04}").into_bytes())
    }

    fn byte(&mut self, b: u8) -> &mut W {
        self.0.push(b);
        self
    }

    fn raw(&mut self, b: &[u8]) -> &mut W {
        self.0.extend_from_slice(b);
        self
    }

    fn len(&mut self, n: u64) -> &mut W {
        if n < 64 {
            self.0.push(n as u8);
        } else if n < 16384 {
            self.0.extend([0x40 | (n >> 8) as u8, n as u8]);
        } else if n <= u32::MAX as u64 {
            self.0.push(0x80);
            self.0.extend((n as u32).to_be_bytes());
        } else {
            self.0.push(0x81);
            self.0.extend(n.to_be_bytes());
        }
        self
    }

    fn str(&mut self, s: &[u8]) -> &mut W {
        self.len(s.len() as u64);
        self.raw(s)
    }

    fn key(&mut self, t: u8, key: &str) -> &mut W {
        self.byte(t).str(key.as_bytes())
    }

    fn finish(&mut self, checksum: bool) -> Vec<u8> {
        self.0.push(0xFF);
        let crc = if checksum { crc64::update(0, &self.0) } else { 0 };
        self.0.extend(crc.to_le_bytes());
        std::mem::take(&mut self.0)
    }
}

fn ziplist(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    for e in entries {
        let start = body.len();
        body.push(prev as u8);
        match std::str::from_utf8(e).ok().and_then(|s| s.parse::<i16>().ok()).filter(|n| n.to_string().as_bytes() == *e)
        {
            Some(n) => {
                body.push(0xC0);
                body.extend(n.to_le_bytes());
            }
            None => {
                body.push(e.len() as u8);
                body.extend_from_slice(e);
            }
        }
        prev = body.len() - start;
    }
    let mut zl = ((10 + body.len() + 1) as u32).to_le_bytes().to_vec();
    zl.extend(0u32.to_le_bytes());
    zl.extend((entries.len() as u16).to_le_bytes());
    zl.extend(body);
    zl.push(0xFF);
    zl
}

fn listpack(entries: &[Elem<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in entries {
        let start = body.len();
        match e {
            Elem::Int(n) if (0..128).contains(n) => body.push(*n as u8),
            Elem::Int(n) => {
                body.push(0xF4);
                body.extend(n.to_le_bytes());
            }
            Elem::Str(s) => {
                assert!(s.len() < 64);
                body.push(0x80 | s.len() as u8);
                body.extend_from_slice(s);
            }
        }
        let l = body.len() - start;
        assert!(l < 128);
        body.push(l as u8);
    }
    let mut lp = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
    lp.extend((entries.len() as u16).to_le_bytes());
    lp.extend(body);
    lp.push(0xFF);
    lp
}

#[derive(Debug, Default)]
struct Collect {
    records: Vec<RedisRecord>,
    expired: Vec<Vec<u8>>,
    modules: Vec<(Vec<u8>, String, Option<Vec<u8>>)>,
    module_aux: Vec<String>,
    functions: Vec<FunctionLibrary>,
    expired_fields: u64,
    notices: Vec<String>,
    only_db: Option<u32>,
}

impl Handler for Collect {
    fn want(&mut self, k: &KeyInfo<'_>) -> bool {
        self.only_db.is_none_or(|d| d == k.db)
    }
    fn expired(&mut self, k: &KeyInfo<'_>) {
        self.expired.push(k.key.to_vec());
    }
    fn empty(&mut self, _: &KeyInfo<'_>) {}
    fn record(&mut self, r: RedisRecord) -> anyhow::Result<()> {
        self.records.push(r);
        Ok(())
    }
    fn module_value(&mut self, m: ModuleKey<'_>) -> anyhow::Result<()> {
        self.modules.push((m.key.to_vec(), m.module.to_owned(), m.dump.map(<[u8]>::to_vec)));
        Ok(())
    }
    fn module_aux(&mut self, module: &str) {
        self.module_aux.push(module.to_owned());
    }
    fn function(&mut self, library: FunctionLibrary) -> anyhow::Result<()> {
        self.functions.push(library);
        Ok(())
    }
    fn expired_fields(&mut self, _: &KeyInfo<'_>, fields: u64) {
        self.expired_fields += fields;
    }
    fn notice(&mut self, m: &str) {
        self.notices.push(m.to_owned());
    }
}

fn opts(chunk: usize) -> Options {
    Options {
        chunk_size: chunk,
        chunk_bytes: usize::MAX,
        string_part_bytes: 1 << 20,
        dump: false,
        dump_modules: false,
        include_expired: false,
        now_ms: 1_700_000_000_000,
    }
}

fn parse_with(bytes: &[u8], opts: Options) -> Result<(Collect, Stats), RdbError> {
    let mut c = Collect::default();
    let input = Input::new(Box::new(std::io::Cursor::new(bytes.to_vec())));
    let stats = Parser::new(input, opts).run(&mut c)?;
    Ok((c, stats))
}

fn parse(bytes: &[u8]) -> Collect {
    parse_with(bytes, opts(1000)).unwrap_or_else(|e| panic!("{e}")).0
}

fn value_of<'a>(c: &'a Collect, key: &str) -> &'a RedisValue {
    &c.records.iter().find(|r| r.key == key.as_bytes()).unwrap_or_else(|| panic!("no key {key}")).value
}

fn strs(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Redis 2.4-era encodings (RDB 4: no checksum): zipmap hash, intset, ziplist
/// list and zset, expiry in seconds, several databases.
#[test]
fn redis_2_encodings() {
    let mut w = W::new(4);
    // zipmap: count, len key len free value, …, end
    let zm = [2, 4, b'n', b'a', b'm', b'e', 4, 1, b'p', b'r', b'o', b'd', 0, 1, b'x', 0, 0, 0xFF];
    w.key(9, "hash:zipmap").str(&zm);
    let mut is = 2u32.to_le_bytes().to_vec();
    is.extend(3u32.to_le_bytes());
    for v in [-5i16, 7, 300] {
        is.extend(v.to_le_bytes());
    }
    w.key(11, "set:intset").str(&is);
    w.key(10, "list:zl").str(&ziplist(&[b"a", b"123", b"", b"-7"]));
    w.byte(0xFD).raw(&2_000_000_000i32.to_le_bytes());
    w.key(12, "zset:zl").str(&ziplist(&[b"m1", b"2", b"m0", b"1.5", b"top", b"inf"]));
    w.byte(0xFE).len(3);
    w.key(0, "str:db3").str(b"three");
    let c = parse(&w.finish(false));
    assert_eq!(
        value_of(&c, "hash:zipmap"),
        &RedisValue::Hash(vec![(b"name".to_vec(), b"prod".to_vec()), (b"x".to_vec(), Vec::new())])
    );
    assert_eq!(value_of(&c, "set:intset"), &RedisValue::Set(strs(&["-5", "300", "7"])));
    assert_eq!(value_of(&c, "list:zl"), &RedisValue::List(strs(&["a", "123", "", "-7"])));
    let z = c.records.iter().find(|r| r.key == b"zset:zl").unwrap();
    assert_eq!(z.expire_at_ms, Some(2_000_000_000_000));
    assert_eq!(
        z.value,
        RedisValue::ZSet(vec![(b"m0".to_vec(), 1.5), (b"m1".to_vec(), 2.0), (b"top".to_vec(), f64::INFINITY)])
    );
    let s = c.records.iter().find(|r| r.key == b"str:db3").unwrap();
    assert_eq!((s.db, &s.value), (3, &RedisValue::String(b"three".to_vec())));
    assert!(c.records.iter().filter(|r| r.key != b"str:db3").all(|r| r.db == 0));
}

/// Redis 3.2–6.2 encodings (RDB 7–9): quicklist of ziplists (one node LZF
/// compressed), hash ziplist, text and binary scores, linked list, plain
/// set and hash, int-encoded strings, AUX, RESIZEDB, IDLE and FREQ.
#[test]
fn redis_6_encodings() {
    let mut w = W::new(9);
    w.byte(0xFA).str(b"redis-ver").str(b"6.2.14");
    w.byte(0xFA).str(b"ctime").byte(0xC2).raw(&1_700_000_000i32.to_le_bytes());
    w.byte(0xFE).len(0).byte(0xFB).len(9).len(1);
    // A quicklist node compressed with LZF: a ziplist of 20 × "abc".
    let node2 = ziplist(&[&b"abcabcabcabcabc"[..]; 3]);
    // LZF literal runs of at most 32 bytes (no back references: valid, if not small).
    let mut lzf = Vec::new();
    for run in node2.chunks(32) {
        lzf.push((run.len() - 1) as u8);
        lzf.extend_from_slice(run);
    }
    w.key(14, "list:quick").len(2).str(&ziplist(&[b"first", b"1000"]));
    w.byte(0xC3).len(lzf.len() as u64).len(node2.len() as u64).raw(&lzf);
    w.key(13, "hash:zl").str(&ziplist(&[b"f1", b"v1", b"f2", b"22"]));
    w.byte(0xF8).len(12345);
    w.key(3, "zset:text").len(3).str(b"a").byte(3).raw(b"0.5").str(b"b").byte(255).str(b"c").byte(254);
    w.byte(0xF9).byte(7);
    w.key(5, "zset:bin").len(2).str(b"x").raw(&0.1f64.to_le_bytes()).str(b"y").raw(&(-2.5e-300f64).to_le_bytes());
    w.key(1, "list:linked").len(3).str(b"a").byte(0xC0).byte(0xF6).byte(0xC1).raw(&(-300i16).to_le_bytes());
    w.key(2, "set:plain").len(2).str(b"\xff\x00").str(b"m");
    w.key(4, "hash:plain").len(1).str(b"f").str(b"v");
    w.key(0, "str:int32").byte(0xC2).raw(&(-123456789i32).to_le_bytes());
    // An LZF-compressed string value: "ab" + back reference of 8 → "ababababab".
    w.key(0, "str:lzf").byte(0xC3).len(5).len(10).raw(&[1, b'a', b'b', (6 << 5) as u8, 1]);
    let c = parse(&w.finish(true));
    assert_eq!(
        value_of(&c, "list:quick"),
        &RedisValue::List(strs(&["first", "1000", "abcabcabcabcabc", "abcabcabcabcabc", "abcabcabcabcabc"]))
    );
    assert_eq!(
        value_of(&c, "hash:zl"),
        &RedisValue::Hash(vec![(b"f1".to_vec(), b"v1".to_vec()), (b"f2".to_vec(), b"22".to_vec())])
    );
    assert_eq!(
        value_of(&c, "zset:text"),
        &RedisValue::ZSet(vec![
            (b"b".to_vec(), f64::NEG_INFINITY),
            (b"a".to_vec(), 0.5),
            (b"c".to_vec(), f64::INFINITY)
        ])
    );
    assert_eq!(value_of(&c, "zset:bin"), &RedisValue::ZSet(vec![(b"y".to_vec(), -2.5e-300), (b"x".to_vec(), 0.1)]));
    assert_eq!(value_of(&c, "list:linked"), &RedisValue::List(strs(&["a", "-10", "-300"])));
    assert_eq!(value_of(&c, "set:plain"), &RedisValue::Set(vec![b"m".to_vec(), b"\xff\x00".to_vec()]));
    assert_eq!(value_of(&c, "str:int32"), &RedisValue::String(b"-123456789".to_vec()));
    assert_eq!(value_of(&c, "str:lzf"), &RedisValue::String(b"ababababab".to_vec()));
    assert_eq!(c.records.len(), 9);
}

/// A version-1 stream (Redis 5–6.2): entries with and without the master
/// fields, a deleted entry, a group with a consumer and a pending entry.
#[test]
fn redis_5_stream() {
    let mut w = W::new(9);
    let master = {
        let mut k = 1000u64.to_be_bytes().to_vec();
        k.extend(0u64.to_be_bytes());
        k
    };
    use Elem::{Int, Str};
    let lp = listpack(&[
        Int(2),
        Int(1),
        Int(1),
        Str(b"f"),
        Int(0), // master: 2 live, 1 deleted, fields [f], terminator
        Int(2),
        Int(0),
        Int(0),
        Str(b"v0"),
        Int(4), // 1000-0 f=v0 (same fields)
        Int(0),
        Int(5),
        Int(1),
        Int(2),
        Str(b"a"),
        Str(b"1"),
        Str(b"b"),
        Str(b"\xff"),
        Int(9), // 1005-1 a=1 b=\xff
        Int(3),
        Int(6),
        Int(0),
        Str(b"gone"),
        Int(4), // 1006-0 deleted
    ]);
    w.key(15, "stream:v1").len(1).str(&master).str(&lp);
    w.len(2).len(1006).len(0); // length, last id
    w.len(1).str(b"grp").len(1005).len(1); // one group, last delivered 1005-1
    let mut id = 1005u64.to_be_bytes().to_vec();
    id.extend(1u64.to_be_bytes());
    w.len(1).raw(&id).raw(&1_700_000_000_000i64.to_le_bytes()).len(3); // PEL: 1005-1 delivered 3 times
    w.len(2).str(b"alice").raw(&0i64.to_le_bytes()).len(1).raw(&id); // alice owns it
    w.str(b"bob").raw(&0i64.to_le_bytes()).len(0);
    let c = parse(&w.finish(true));
    let RedisValue::Stream(s) = value_of(&c, "stream:v1") else { panic!("not a stream") };
    let ids: Vec<&str> = s.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["1000-0", "1005-1"]);
    assert_eq!(s.entries[0].fields, vec![(b"f".to_vec(), b"v0".to_vec())]);
    assert_eq!(s.entries[1].fields, vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"\xff".to_vec())]);
    assert_eq!(s.last_id.as_deref(), Some("1006-0"));
    let g = &s.groups[0];
    assert_eq!((g.name.0.as_slice(), g.last_delivered_id.as_str()), (&b"grp"[..], "1005-1"));
    assert_eq!(g.consumers, vec![Bytes(b"alice".to_vec()), Bytes(b"bob".to_vec())]);
    assert_eq!(
        g.pending,
        vec![PendingEntry { id: "1005-1".into(), consumer: Bytes(b"alice".to_vec()), delivery_count: 3 }]
    );
}

#[test]
fn big_collections_come_in_parts_like_the_live_export() {
    let mut w = W::new(10);
    for (name, n) in [("l25", 25), ("l20", 20), ("l10", 10)] {
        w.key(1, name).len(n);
        for i in 0..n {
            w.str(format!("e{i}").as_bytes());
        }
    }
    let c = parse_with(&w.finish(true), opts(10)).unwrap().0;
    let shape = |k: &str| -> Vec<(Option<u32>, bool, usize)> {
        c.records.iter().filter(|r| r.key == k.as_bytes()).map(|r| (r.part, r.last, r.value.len())).collect()
    };
    assert_eq!(shape("l25"), vec![(Some(0), false, 10), (Some(1), false, 10), (Some(2), true, 5)]);
    assert_eq!(shape("l20"), vec![(Some(0), false, 10), (Some(1), true, 10)]);
    assert_eq!(shape("l10"), vec![(None, false, 10)]);
    let all: Vec<Vec<u8>> = c
        .records
        .iter()
        .filter(|r| r.key == b"l25")
        .flat_map(|r| match &r.value {
            RedisValue::List(l) => l.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(all, (0..25).map(|i| format!("e{i}").into_bytes()).collect::<Vec<_>>());
}

#[test]
fn parts_are_capped_by_bytes_as_well_as_by_count() {
    // A list of 12 elements of 100 bytes and one of 450: with a 300-byte cap
    // every part holds at most 300 bytes, except the element bigger than the
    // cap, which makes a part of its own.
    let mut w = W::new(10);
    w.key(1, "big").len(13);
    let elems: Vec<Vec<u8>> = (0..13).map(|i| vec![b'a' + i as u8; if i == 6 { 450 } else { 100 }]).collect();
    for e in &elems {
        w.str(e);
    }
    let c = parse_with(&w.finish(true), Options { chunk_bytes: 300, ..opts(1000) }).unwrap().0;
    let parts: Vec<&RedisRecord> = c.records.iter().filter(|r| r.key == b"big").collect();
    let sizes: Vec<usize> = parts
        .iter()
        .map(|r| match &r.value {
            RedisValue::List(l) => l.iter().map(Vec::len).sum(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(sizes, vec![300, 300, 450, 300, 300]);
    assert!(parts.last().unwrap().last);
    let joined: Vec<Vec<u8>> = parts
        .iter()
        .flat_map(|r| match &r.value {
            RedisValue::List(l) => l.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(joined, elems);
}

#[test]
fn expired_keys_are_skipped_unless_asked_for() {
    let mut w = W::new(10);
    w.byte(0xFC).raw(&1_600_000_000_000i64.to_le_bytes()).key(0, "old").str(b"x");
    w.byte(0xFC).raw(&1_800_000_000_000i64.to_le_bytes()).key(0, "new").str(b"y");
    w.key(0, "forever").str(b"z");
    let bytes = w.finish(true);
    let c = parse(&bytes);
    assert_eq!(c.expired, vec![b"old".to_vec()]);
    let keys: Vec<&[u8]> = c.records.iter().map(|r| r.key.as_slice()).collect();
    assert_eq!(keys, [&b"new"[..], b"forever"]);
    assert_eq!(c.records[0].expire_at_ms, Some(1_800_000_000_000));
    assert_eq!(c.records[1].expire_at_ms, None);
    let c = parse_with(&bytes, Options { include_expired: true, ..opts(10) }).unwrap().0;
    assert_eq!(c.records.len(), 3);
    assert!(c.expired.is_empty());
}

#[test]
fn dump_payloads_are_type_value_version_and_crc() {
    let mut w = W::new(10);
    w.key(0, "s").str(b"hello");
    let c = parse_with(&w.finish(true), Options { dump: true, ..opts(10) }).unwrap().0;
    let d = c.records[0].dump.clone().unwrap();
    assert_eq!(&d[..7], &[0, 5, b'h', b'e', b'l', b'l', b'o']);
    assert_eq!(&d[7..9], &10u16.to_le_bytes());
    assert_eq!(&d[9..], &crc64::update(0, &d[..9]).to_le_bytes());
}

fn module_id(name: &[u8; 9], encver: u64) -> u64 {
    const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = 0u64;
    for ch in name {
        id = (id << 6) | CHARSET.iter().position(|c| c == ch).unwrap() as u64;
    }
    (id << 10) | encver
}

#[test]
fn module_values_carry_their_name_and_dump_payload_old_module_format_is_an_error() {
    // ReJSON-RL's id with encoding version 3, one string item, EOF.
    let id = module_id(b"ReJSON-RL", 3);
    assert_eq!(module_name(id), "ReJSON-RL");
    let mut w = W::new(10);
    w.key(7, "doc:1").len(id).len(5).str(b"{\"a\":1}").len(0);
    w.key(0, "after").str(b"ok");
    let file = w.finish(true);
    let c = parse(&file);
    assert_eq!(c.modules, vec![(b"doc:1".to_vec(), "ReJSON-RL".to_owned(), None)]);
    assert_eq!(c.records.len(), 1);

    // With --dump: type byte, module id, items, EOF item, version, CRC-64.
    let c = parse_with(&file, Options { dump: true, ..opts(10) }).unwrap().0;
    let payload = c.modules[0].2.clone().expect("a DUMP payload");
    let mut value = W(Vec::new());
    value.byte(7).len(id).len(5).str(b"{\"a\":1}").len(0);
    assert_eq!(&payload[..payload.len() - 10], &value.0[..]);
    let n = payload.len();
    assert_eq!(&payload[n - 10..n - 8], &10u16.to_le_bytes());
    assert_eq!(&payload[n - 8..], &crc64::update(0, &payload[..n - 8]).to_le_bytes());
    // With --dump-modules: the same payload for the module key, none for the others.
    let c = parse_with(&file, Options { dump_modules: true, ..opts(10) }).unwrap().0;
    assert_eq!(c.modules[0].2.as_deref(), Some(&payload[..]));
    assert!(c.records.iter().all(|r| r.dump.is_none()), "only module keys carry a payload");

    // The old format cannot be walked without the module: an error naming both.
    let mut w = W::new(8);
    w.key(6, "old").len(module_id(b"hellotype", 0)).raw(b"opaque");
    let e = parse_with(&w.finish(true), opts(10)).unwrap_err().to_string();
    assert!(e.contains("key old") && e.contains("hellotype") && e.contains("old module format"), "{e}");
}

#[test]
fn functions_are_read_in_both_formats_module_aux_is_reported() {
    let mut w = W::new(10);
    w.byte(0xF5).str(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)");
    // The 7.0 release candidates: name, engine, a description, the code alone.
    w.byte(0xF6).str(b"old").str(b"LUA").len(1).str(b"about it").str(b"redis.register_function('g', g)");
    w.byte(0xF7).len(module_id(b"test__rdb", 2)).len(2).len(2).len(1).len(7).len(0);
    w.key(0, "k").str(b"v");
    let c = parse(&w.finish(true));
    assert_eq!(c.records.len(), 1);
    assert_eq!(c.module_aux, vec!["test__rdb".to_owned()]);
    let libs: Vec<(&str, &str, &[u8])> =
        c.functions.iter().map(|f| (f.name.as_str(), f.engine.as_str(), f.code.as_slice())).collect();
    assert_eq!(
        libs,
        vec![
            ("lib", "LUA", &b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"[..]),
            ("old", "LUA", &b"#!LUA name=old\nredis.register_function('g', g)"[..]),
        ]
    );
    let mut w = W::new(10);
    w.byte(0xF5).str(b"return 1");
    let e = parse_with(&w.finish(true), opts(10)).unwrap_err().to_string();
    assert!(e.contains("function library") && e.contains("#!ENGINE"), "{e}");
}

#[test]
fn a_key_held_twice_in_one_db_is_an_error_naming_it() {
    let mut w = W::new(10);
    w.key(0, "k").str(b"1");
    w.byte(0xFE).len(1).key(0, "k").str(b"same name, other db");
    w.byte(0xFE).len(0).key(0, "other").str(b"2").key(0, "k").str(b"3");
    let e = parse_with(&w.finish(true), opts(10)).unwrap_err();
    assert!(matches!(e, RdbError::Refused { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.contains("key k appears twice in db 0") && e.contains("Duplicated key"), "{e}");
    assert!(!e.contains("damaged"), "{e}");
}

#[test]
fn valkey_files_and_newer_formats_are_named() {
    let mut w = W(b"VALKEY080".to_vec());
    w.key(0, "s").str(b"v");
    let (c, stats) = parse_with(&w.finish(true), opts(10)).unwrap();
    assert!(stats.valkey && stats.version == 80);
    assert_eq!(c.records.len(), 1);
    for (magic, want) in [
        (&b"REDIS0013"[..], "RDB version 13 is a Redis format newer"),
        (b"VALKEY081", "Valkey RDB version 81 is newer"),
        (b"VALKEY012", "not written by Valkey"),
        (b"MYSQL0001", "neither a REDIS nor a VALKEY magic"),
    ] {
        let mut w = W(magic.to_vec());
        let e = parse_with(&w.finish(true), opts(10)).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
}

#[test]
fn version_1_streams_get_the_group_counters_redis_computes() {
    let length = 3;
    let (first, last) = (Some((5, 0)), (9, 0));
    assert_eq!(estimate_entries_read(length, last, first, (9, 0)), Some(3), "at the last id");
    assert_eq!(estimate_entries_read(length, last, first, (9, 1)), None, "a future id");
    assert_eq!(estimate_entries_read(length, last, first, (0, 0)), Some(0), "before the first entry");
    assert_eq!(estimate_entries_read(length, last, first, (5, 0)), Some(1), "at the first entry");
    assert_eq!(estimate_entries_read(length, last, first, (7, 0)), None, "inside the stream");
    assert_eq!(estimate_entries_read(0, (9, 0), None, (3, 0)), Some(0), "an empty stream");
}

fn sample_file() -> Vec<u8> {
    let mut w = W::new(10);
    w.byte(0xFA).str(b"redis-ver").str(b"7.0.15");
    w.byte(0xFE).len(0).byte(0xFB).len(4).len(1);
    w.key(0, "s").str(b"hello world");
    w.byte(0xFC).raw(&1_900_000_000_000i64.to_le_bytes());
    w.key(16, "h").str(&listpack(&[Elem::Str(b"f"), Elem::Int(5), Elem::Str(b"g"), Elem::Int(-9)]));
    w.key(17, "z").str(&listpack(&[Elem::Str(b"m"), Elem::Str(b"1.5"), Elem::Str(b"n"), Elem::Int(2)]));
    w.key(18, "l").len(2).len(2).str(&listpack(&[Elem::Str(b"a"), Elem::Int(100)])).len(1).str(b"plain node");
    w.key(11, "i").str(&{
        let mut is = 8u32.to_le_bytes().to_vec();
        is.extend(1u32.to_le_bytes());
        is.extend(i64::MAX.to_le_bytes());
        is
    });
    w.finish(true)
}

#[test]
fn redis_7_listpacks() {
    let c = parse(&sample_file());
    assert_eq!(
        value_of(&c, "h"),
        &RedisValue::Hash(vec![(b"f".to_vec(), b"5".to_vec()), (b"g".to_vec(), b"-9".to_vec())])
    );
    assert_eq!(value_of(&c, "z"), &RedisValue::ZSet(vec![(b"m".to_vec(), 1.5), (b"n".to_vec(), 2.0)]));
    assert_eq!(value_of(&c, "l"), &RedisValue::List(strs(&["a", "100", "plain node"])));
    assert_eq!(value_of(&c, "i"), &RedisValue::Set(vec![i64::MAX.to_string().into_bytes()]));
}

#[test]
fn a_wrong_checksum_is_an_error_and_zero_means_none() {
    let mut bytes = sample_file();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let e = parse_with(&bytes, opts(10)).unwrap_err().to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    bytes[n - 8..].fill(0);
    let (_, stats) = parse_with(&bytes, opts(10)).unwrap();
    assert_eq!(stats.checksum, Checksum::Disabled);
    assert_eq!(parse_with(&sample_file(), opts(10)).unwrap().1.checksum, Checksum::Verified);
}

#[test]
fn every_truncation_and_every_flipped_byte_is_an_error_never_a_panic() {
    let bytes = sample_file();
    for cut in 0..bytes.len() {
        let e = parse_with(&bytes[..cut], opts(2)).err().unwrap_or_else(|| panic!("cut at {cut} parsed"));
        let text = e.to_string();
        assert!(text.starts_with("byte "), "cut at {cut}: {text}");
    }
    for at in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut damaged = bytes.clone();
            damaged[at] ^= flip;
            // The checksum catches whatever parses.
            assert!(parse_with(&damaged, opts(2)).is_err(), "flip {flip:#x} at {at} went unnoticed");
            // Without one (stored as 0), the parser meets the damage itself:
            // an error or a different value, never a panic.
            let n = damaged.len();
            damaged[n - 8..].fill(0);
            let _ = parse_with(&damaged, Options { dump: true, ..opts(1) });
        }
    }
}

#[test]
fn long_strings_come_in_parts_plain_ones_streamed() {
    let mut w = W::new(10);
    w.key(0, "plain").str(b"abcdefghij");
    w.key(0, "exact").str(b"abcdefgh");
    w.key(0, "lzf").byte(0xC3).len(5).len(10).raw(&[1, b'a', b'b', (6 << 5) as u8, 1]);
    w.key(0, "int").byte(0xC2).raw(&(-123456789i32).to_le_bytes());
    let c = parse_with(&w.finish(true), Options { string_part_bytes: 4, dump: true, ..opts(10) }).unwrap().0;
    let shape = |k: &str| -> Vec<(Option<u32>, bool, Vec<u8>, bool)> {
        c.records
            .iter()
            .filter(|r| r.key == k.as_bytes())
            .map(|r| match &r.value {
                RedisValue::String(s) => (r.part, r.last, s.clone(), r.dump.is_some()),
                _ => unreachable!(),
            })
            .collect()
    };
    let p = |part: u32, last: bool, s: &str| (Some(part), last, s.as_bytes().to_vec(), false);
    assert_eq!(shape("plain"), vec![p(0, false, "abcd"), p(1, false, "efgh"), p(2, true, "ij")]);
    assert_eq!(shape("exact"), vec![p(0, false, "abcd"), p(1, true, "efgh")]);
    assert_eq!(shape("lzf"), vec![p(0, false, "abab"), p(1, false, "abab"), p(2, true, "ab")]);
    assert_eq!(shape("int"), vec![p(0, false, "-123"), p(1, false, "4567"), p(2, true, "89")]);
    let c = parse_with(&sample_file(), Options { dump: true, ..opts(10) }).unwrap().0;
    assert!(c.records.iter().all(|r| r.dump.is_some() && r.part.is_none()));
}

/// Redis 7.2 (RDB 11): a set listpack and a version-3 stream (first id,
/// max deleted id, entries added, entries read, consumer active time).
#[test]
fn redis_7_2_set_listpack_and_stream_v3() {
    use Elem::{Int, Str};
    let mut w = W::new(11);
    w.key(20, "set:lp").str(&listpack(&[Str(b"b"), Int(-3), Str(b"\xff")]));
    let master = {
        let mut k = 7u64.to_be_bytes().to_vec();
        k.extend(1u64.to_be_bytes());
        k
    };
    let lp = listpack(&[Int(1), Int(0), Int(1), Str(b"f"), Int(0), Int(2), Int(0), Int(0), Str(b"x"), Int(4)]);
    w.key(21, "stream:v3").len(1).str(&master).str(&lp);
    w.len(1).len(7).len(1); // length 1, last id 7-1
    w.len(7).len(1).len(5).len(0).len(3); // first id 7-1, max deleted 5-0, entries added 3
    w.len(2);
    w.str(b"known").len(7).len(1).len(3); // last delivered 7-1, entries read 3
    w.len(0).len(1).str(b"c").raw(&1i64.to_le_bytes()).raw(&2i64.to_le_bytes()).len(0);
    w.str(b"unknown").len(0).len(0).len(u64::MAX); // entries read -1: unknown
    w.len(0).len(0);
    let c = parse(&w.finish(true));
    assert_eq!(value_of(&c, "set:lp"), &RedisValue::Set(vec![b"-3".to_vec(), b"b".to_vec(), b"\xff".to_vec()]));
    let RedisValue::Stream(s) = value_of(&c, "stream:v3") else { panic!("not a stream") };
    assert_eq!(s.entries, vec![StreamEntry { id: "7-1".into(), fields: vec![(b"f".to_vec(), b"x".to_vec())] }]);
    assert_eq!(
        (s.last_id.as_deref(), s.max_deleted_entry_id.as_deref(), s.entries_added),
        (Some("7-1"), Some("5-0"), Some(3))
    );
    assert_eq!((s.groups[0].entries_read, s.groups[1].entries_read), (Some(3), None));
    assert_eq!(s.groups[0].consumers, vec![Bytes(b"c".to_vec())]);
}

#[test]
fn hash_field_expiry_in_every_encoding_expired_fields_skipped_and_counted() {
    let now = opts(10).now_ms;
    let (later, past) = (now + 60_000, now - 60_000);
    let want = |c: &Collect| -> Vec<(String, FieldExpiries)> {
        c.records
            .iter()
            .map(|r| {
                let RedisValue::Hash(h) = &r.value else { panic!("{r:?}") };
                let fields: Vec<String> = h.iter().map(|(f, _)| String::from_utf8_lossy(f).into_owned()).collect();
                (fields.join(","), r.field_expire_at_ms.clone())
            })
            .collect()
    };
    let expect = vec![("a,b,keep".to_owned(), vec![(b"a".to_vec(), later), (b"b".to_vec(), later + 5)])];

    // Redis 7.4 HASH_METADATA: the minimum first, then per field its expiry
    // relative to it, plus 1 (0: none).
    let rel = |at: i64| (at - past + 1) as u64;
    let mut w = W::new(12);
    w.key(24, "h").raw(&past.to_le_bytes()).len(4);
    w.len(rel(later)).str(b"a").str(b"1").len(rel(past)).str(b"gone").str(b"4");
    w.len(rel(later + 5)).str(b"b").str(b"2").len(0).str(b"keep").str(b"3");
    let (c, _) = parse_with(&w.finish(true), opts(10)).unwrap();
    assert_eq!(want(&c), expect);
    assert_eq!(c.expired_fields, 1);

    // The release-candidate HASH_METADATA (22): absolute expiries, no minimum.
    let mut w = W::new(12);
    w.key(22, "h").len(4);
    w.len(later as u64).str(b"a").str(b"1").len(later as u64 + 5).str(b"b").str(b"2");
    w.len(0).str(b"keep").str(b"3").len(past as u64).str(b"gone").str(b"4");
    let (c, _) = parse_with(&w.finish(true), opts(10)).unwrap();
    assert_eq!(want(&c), expect);
    assert_eq!(c.expired_fields, 1);

    // HASH_LISTPACK_EX (25, with a minimum first) and its release-candidate form (23).
    for t in [25u8, 23] {
        let lp = listpack(&[
            Elem::Str(b"a"),
            Elem::Int(1),
            Elem::Int(later),
            Elem::Str(b"gone"),
            Elem::Int(4),
            Elem::Int(past),
            Elem::Str(b"b"),
            Elem::Int(2),
            Elem::Int(later + 5),
            Elem::Str(b"keep"),
            Elem::Int(3),
            Elem::Int(0),
        ]);
        let mut w = W::new(12);
        w.byte(t).str(b"h");
        if t == 25 {
            w.raw(&past.to_le_bytes());
        }
        w.str(&lp);
        let (c, _) = parse_with(&w.finish(true), opts(10)).unwrap();
        assert_eq!(want(&c), expect, "type {t}");
        assert_eq!(c.expired_fields, 1, "type {t}");
    }

    // Valkey 9 HASH_2: field, value, absolute expiry (-1: none).
    let mut w = W(b"VALKEY080".to_vec());
    w.key(22, "h").len(4);
    w.str(b"a").str(b"1").raw(&later.to_le_bytes()).str(b"gone").str(b"4").raw(&past.to_le_bytes());
    w.str(b"b").str(b"2").raw(&(later + 5).to_le_bytes()).str(b"keep").str(b"3").raw(&(-1i64).to_le_bytes());
    let (c, _) = parse_with(&w.finish(true), opts(10)).unwrap();
    assert_eq!(want(&c), expect);
    assert_eq!(c.expired_fields, 1);

    // Every field expired: the key is gone, as Redis drops it on load.
    let mut w = W(b"VALKEY080".to_vec());
    w.key(22, "h").len(1).str(b"gone").str(b"4").raw(&past.to_le_bytes());
    let (c, _) = parse_with(&w.finish(true), opts(10)).unwrap();
    assert!(c.records.is_empty() && c.expired == vec![b"h".to_vec()] && c.expired_fields == 1);

    // Parts carry their own fields' expiries.
    let mut w = W(b"VALKEY080".to_vec());
    w.key(22, "h").len(3);
    for (f, at) in [("x", later), ("y", -1), ("z", later + 1)] {
        w.str(f.as_bytes()).str(b"v").raw(&at.to_le_bytes());
    }
    let (c, _) = parse_with(&w.finish(true), opts(2)).unwrap();
    let parts: Vec<_> = c.records.iter().map(|r| (r.part, r.field_expire_at_ms.clone())).collect();
    assert_eq!(parts, vec![(Some(0), vec![(b"x".to_vec(), later)]), (Some(1), vec![(b"z".to_vec(), later + 1)])]);
}
