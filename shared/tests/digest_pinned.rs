//! Content digests of the golden fixtures, pinned to the values the format has
//! always given. Users keep checksum files of their backups: a change to the
//! canonical encoding (or to how split keys, schemas or options feed it) would
//! make every stored checksum fail, so any such change must show up here.
//!
//! Stream counters (`entries_read`, `entries_added`, `max_deleted_entry_id`)
//! joined the digest with issue 13 (they were skipped, so a copy that lost them
//! compared equal): the pinned digest of `stream.ndjson` changed then, and only
//! it; a stream without counters digests as before.
//!
//! `--null-equals-empty` came to treat a missing column as NULL too with issue
//! 15 (a DynamoDB item leaves out the attribute where MySQL keeps a NULL
//! column): under that option a NULL column is now left out of a row's
//! canonical form, so the pinned digests of the two fixtures that have NULL
//! columns changed under the "all" options, and only those; digests without
//! the option are unchanged.
//!
//! `digest-corpus.ndjson` is the first 300 lines of `gen_stream 1` (every
//! column type and Redis type the benchmark stream has).

use std::fmt::Write as _;
use std::path::PathBuf;

use decant_record::digest::{CanonicalOptions, Digester, KeyGrouper};
use decant_record::RecordReader;

const FIXTURES: &[&str] = &[
    "concatenated.ndjson",
    "delete.ndjson",
    "diff.ndjson",
    "digest-corpus.ndjson",
    "end.ndjson",
    "header.ndjson",
    "newer-servers.ndjson",
    "parts.ndjson",
    "redis.ndjson",
    "row.ndjson",
    "schema.ndjson",
    "stream.ndjson",
];

fn options() -> Vec<(&'static str, CanonicalOptions)> {
    let all = CanonicalOptions {
        time_precision: Some(3),
        null_equals_empty: true,
        expiry_precision_ms: Some(1000),
        key_groups: KeyGrouper { separator: b':', depth: 2 },
        group_by_db: true,
        ..CanonicalOptions::default()
    };
    let no_expiry = CanonicalOptions { ignore_expiry: true, ..CanonicalOptions::default() };
    vec![("default", CanonicalOptions::default()), ("all", all), ("no-expiry", no_expiry)]
}

/// Every fixture's digests under every option set, one line per group.
fn render() -> String {
    let mut out = String::new();
    for name in FIXTURES {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (label, opts) in options() {
            let mut digester = Digester::new(opts);
            // Per-kind fixtures, not streams: a header without a trailer is fine here.
            let unsealed = decant_record::ReaderOptions { allow_unsealed: true, ..Default::default() };
            let mut reader = RecordReader::with_options(&bytes[..], unsealed);
            while let Some(record) = reader.next_record().unwrap_or_else(|e| panic!("{name}: {e}")) {
                digester.add(&record);
            }
            for (group, digest) in digester.finish() {
                let _ = writeln!(out, "{name} {label} {group} {} {}", digest.count, digest.hex());
            }
        }
    }
    out
}

#[test]
fn fixture_digests_never_change() {
    let got = render();
    let want = include_str!("fixtures/digests.txt");
    assert!(
        got == want,
        "content digests of the fixtures changed: stored checksums would no longer verify.\n--- got\n{got}"
    );
}
