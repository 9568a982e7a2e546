//! `--sample N`: spot checks by key. N random records of A (a reservoir
//! sample taken during A's pass) are looked up in B by their key. When B is
//! a live store, exactly those records are fetched from it — on SQL a
//! `WHERE key IN (…)` per table, on Redis the keys themselves — so the spot
//! check reads B through its key index, the way an application does, and
//! does not depend on B's full pass. A file B is looked up during its pass.

use std::collections::BTreeSet;

use decant_check::compare::decode_lines;
use decant_check::entry::{KeyColumns, SideInfo};
use decant_check::source::{LiveOptions, SourceSpec};
use decant_record::conn::ConnUrl;
use decant_record::digest::GroupKey;

/// A sampled record of A and what B holds under its key.
#[derive(Debug)]
pub struct SampleItem {
    /// Its identity (table and key, or Redis key).
    pub ident: Vec<u8>,
    /// Its group.
    pub group: GroupKey,
    /// blake3 of A's canonical form.
    pub content: [u8; 32],
    /// A's lines.
    pub lines: Vec<u8>,
    /// B's canonical hash and lines, once found.
    pub right: Option<([u8; 32], Vec<u8>)>,
}

/// How B's exporter is limited to the sampled keys, or `None` when that
/// cannot be said (B is not live, a table without key columns, a key value
/// with no SQL literal, a Redis key that is not UTF-8): B's pass then looks
/// the sample up instead.
pub fn point_query(
    b: &SourceSpec,
    live_b: &LiveOptions,
    sample: &[SampleItem],
    keys: &KeyColumns,
    left_info: &SideInfo,
) -> Option<LiveOptions> {
    let SourceSpec::Url(url) = b else { return None };
    let store = ConnUrl::parse(url).ok()?.store();
    let mut records = Vec::with_capacity(sample.len());
    for item in sample {
        records.push(decode_lines(&item.lines).ok()?);
    }
    decant_check::bykey::options_for(store, live_b, &records, keys, left_info)
}

/// A point query limited to the tables B has (`None` when it has none of
/// them: nothing to fetch). Redis point queries are left as they are.
pub fn restrict_to_tables(point: &LiveOptions, have: &BTreeSet<String>) -> Option<LiveOptions> {
    if point.tables.is_empty() {
        return Some(point.clone());
    }
    let tables: Vec<String> = point.tables.iter().filter(|t| have.contains(*t)).cloned().collect();
    if tables.is_empty() {
        return None;
    }
    let wheres =
        point.wheres.iter().filter(|w| w.split_once(':').is_some_and(|(t, _)| have.contains(t))).cloned().collect();
    Some(LiveOptions { tables, wheres, ..point.clone() })
}
