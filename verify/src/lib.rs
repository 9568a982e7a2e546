//! `decant-verify --left A --right B`: the last step of every runbook —
//! proves that B holds the same data as A.
//!
//! 1. One streaming pass over each side: record counts and order-independent
//!    content digests per table / key group (memory: one record), a random
//!    sample of A's records (`--sample N`) looked up by key in B, and the
//!    schema lines (`--schema`). Between two live SQL stores
//!    (`--content auto`), the tables the in-database range checksums cover
//!    ([`decant_check::sqlrange`]) are compared there instead: counts and
//!    key-range checksums from both databases, no row read; the pass reads
//!    only the other tables' rows (and their schema lines).
//! 2. Only for the groups whose counts or digests differ: a keyed comparison
//!    ([`decant_check::engine`]) that counts added, removed and changed records,
//!    so `--max-mismatch` can be judged and the first differences shown.
//!
//! Equal data therefore costs one read of each side, or, for tables the
//! range checksums cover, none. Normalisations are explicit flags, never
//! silent.

pub mod sample;
pub mod schema;
pub mod shares;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use decant_check::args::{CompareArgs, SideArgs};
use decant_check::canon::CanonicalArgs;
use decant_check::compare::{changed_fields, decode_lines};
use decant_check::engine::{self, EngineConfig, Found, GroupStats, Sink};
use decant_check::entry::{EntryReader, KeyColumns, SideInfo};
use decant_check::source::{seal_status, LiveOptions, Source, SourceSpec};
use decant_record::cli::{self, Outcome, ReportArgs, EXIT_STATUS_HELP};
use decant_record::digest::{ContentDigest, GroupKey};
use decant_transform::Transformer;
use serde::Serialize;

use crate::sample::SampleItem;

const AFTER_HELP: &str = "\
What is compared, per table / key group: record counts and content digests (one
streaming pass over each side); only for groups that differ, a keyed comparison
that counts added, removed and changed records (a second read of those groups).
Between two live SQL stores (MySQL/MariaDB, PostgreSQL) --content auto, the
default, compares in the databases instead every table both have with a single
integer primary key and column types both render alike (integers, booleans,
decimals, text, dates, date-times, bytes): row counts and checksums of key
ranges, computed by both servers at once, as decant-diff does; only the rows of
ranges that differ are read. The report says \"range checksums\" for those
tables (there is no digest to give). Other tables (floats, JSON, no integer
key, …) are read and digested. --content digest reads and digests every table
of both sides. --since, --shard, --spec, --key-map, --ignore-columns and the
normalisation flags always use digests; --sample N still reads A's tables whole
to draw its records (B's are fetched by key).
--sample N also picks N random records of A and looks each up by key in B: from a
live B exactly those records are fetched (SQL: WHERE key IN (…); Redis: the keys),
from a file B during its pass. --where limits live SQL sides to a slice of a table.
--schema compares the schema lines (columns, logical types, nullability, primary
and unique keys, indexes, foreign keys, ON UPDATE, CHECK constraints,
charset/collation) of two SQL sides. Across engines (MySQL vs PostgreSQL) a column
passes when B's type holds every value of A's under decant's own mapping — an
unsigned INT as bigint, an ENUM as text, TINYINT(1) as boolean, BIGINT UNSIGNED as
numeric(20,0) — and a lost index, foreign key, NOT NULL, ON UPDATE or collation fails.

Live stores being written (a dual-write phase): every difference the comparison
finds is read again from both sides by key after --settle (default 3s; SQL WHERE
key IN (…), Redis the keys), up to --settle-rounds times, and counts only if it is
still there; the others are reported apart as transient (table, JSON, metrics).
--since COLUMN --state FILE reads, on two live SQL stores, only the rows whose
COLUMN is past the last passing run's watermark (less --since-overlap), plus a
key-only comparison of the whole tables for rows deleted on one side; the
watermark moves only when the run passes. --metrics-file F writes, per table,
records compared, confirmed and transient mismatches and the mismatch ratio.
See examples/dual-write.md.

Content is compared through the one canonical form decant-checksum and decant-diff
use (CHAR(n) values without their trailing pad spaces, DECIMAL(p,0) values as integers,
normalised date-times), so the three never disagree.

The report is a table on stderr (or a JSON document on stdout with --json). The
run passes (exit 0) when every group's mismatch ratio (differing records / the
records on either side) is within --max-mismatch, the sample agrees within it, and
--schema found no difference. Digests that differ while the keyed comparison names
no differing record fail the group (unexplained), unless --float-tolerance
explains them.

Examples:
  decant-verify --left reline.ndjson.zst --right postgres://app@new/reline
  decant-verify --left mysql://root@old/reline --right postgres://app@new/reline --schema --sample 1000
  decant-verify --left redis://prod:6379/0 --right mysql://app@db/relay --spec relay-to-mysql.toml
  decant-verify --left a.ndjson --right b.ndjson --time-precision 3 --null-equals-empty --max-mismatch 0.1%
  decant-verify --left old.ndjson --right new.ndjson --key-map 'users.id@{id}=u-{id}' --json > report.json
  decant-verify --left mysql://v@old/shop --right postgres://v@new/shop --since updated_at \
      --state verify.json --settle 3s --max-mismatch 0.1% --metrics-file shop.prom
  decant-verify --left snapshot.ndjson.zst --spec relay-to-mysql.toml --right mysql://app@db/relay \
      --ignore-columns 'usage_records.id,usage_stats.id,*.created_at,*.updated_at' --tables usage_stats,usage_records
  decant-verify --left postgres://app@old/shop --right postgres://app@new/shop --shard $i/8 --json > verify-$i.json
  decant-verify --combine verify-*.json          # all 8 shares passed, none missing or twice

";

/// Proves that B holds the same data as A: counts, digests, spot checks, schema.
#[derive(Debug, Parser)]
#[command(name = "decant-verify", version, after_help = format!("{AFTER_HELP}{EXIT_STATUS_HELP}"))]
pub struct Args {
    /// A (the source): file (plain or .zst), - for stdin, or a live store URL.
    #[arg(long, value_name = "A", required_unless_present = "combine")]
    pub left: Option<String>,
    /// B (the copy): file (plain or .zst), - for stdin, or a live store URL.
    #[arg(long, value_name = "B", required_unless_present = "combine")]
    pub right: Option<String>,
    /// Combine the JSON reports of the N shares of a sharded verification
    /// (`decant-verify --shard I/N --json > verify-I.json`, one run per share)
    /// into one verdict: refuses a missing share, a share given twice or one
    /// of another N (exit 2); passes when every share passed.
    #[arg(long, value_name = "REPORT", num_args = 1.., conflicts_with_all = ["left", "right"])]
    pub combine: Vec<PathBuf>,
    /// Apply this decant-transform spec to A first (when A and B differ in
    /// shape, e.g. a Redis source and its SQL copy).
    #[arg(long, value_name = "FILE.toml")]
    pub spec: Option<PathBuf>,
    /// Spot-check N random records of A, fetched by key from B.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub sample: usize,
    /// Seed of the sample (default: from the clock).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Also compare the schemas (columns, types, keys, indexes, foreign keys,
    /// ON UPDATE, charset/collation; across engines, decant's type mapping
    /// is accepted).
    #[arg(long)]
    pub schema: bool,
    /// Largest share of differing records per group that still passes:
    /// "0.1%", "0.001", or "0" (default: any difference fails).
    #[arg(long, value_name = "RATIO", default_value = "0", value_parser = parse_ratio)]
    pub max_mismatch: f64,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Fail when a file side has no "end" trailer (truncated or not from decant).
    #[arg(long)]
    pub require_sealed: bool,
    #[command(flatten)]
    pub compare: CompareArgs,
    /// Only these tables (comma-separated), on both sides: live SQL stores
    /// read only them; files and the --spec side are filtered.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Leave these columns out of every check, repeatable, comma lists:
    /// TABLE.COLUMN, or *.COLUMN for every table (`--ignore-columns
    /// 'usage_stats.id,*.created_at,*.updated_at'`): columns the target
    /// fills itself (AUTO_INCREMENT ids, timestamps) that A does not have.
    /// A primary key with an ignored column gives way to the first unique
    /// key without one (else --key TABLE:COLS says how to match rows).
    #[arg(long = "ignore-columns", value_name = "TABLE.COLUMN")]
    pub ignore_columns: Vec<String>,
    /// Live SQL stores: verify only the rows of TABLE for which CONDITION
    /// holds, on both sides (SQL both databases understand, e.g.
    /// "orders:updated_at >= '2025-01-01'"); repeatable, once per table. A
    /// file side is read whole: verify it against an export made with the
    /// same --where.
    #[arg(long = "where", value_name = "TABLE:CONDITION")]
    pub wheres: Vec<String>,
    #[command(flatten)]
    pub sides: SideArgs,
    /// Live stores written while verified (a dual-write phase): wait this
    /// long after the comparison, read the differing records again from
    /// both sides by key, and count only those still different; the others
    /// are reported apart as transient. 0 turns it off; files are never
    /// re-read.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = decant_check::settle::parse_settle)]
    pub settle: std::time::Duration,
    /// Re-reads at most, --settle apart: a difference is confirmed once it
    /// stood still across a settle period, or after the last round.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub settle_rounds: u32,
    /// How the content is compared in the first pass: auto (between two
    /// live SQL stores, by range checksums in both databases for the tables
    /// they cover, so equal tables are not read; digests for the rest) or
    /// digest (every table read from both sides and digested).
    #[arg(long, value_enum, value_name = "HOW", default_value_t = ContentMode::Auto)]
    pub content: ContentMode,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub since: decant_check::since::SinceArgs,
    #[command(flatten)]
    pub canon: CanonicalArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `--content`: how the first pass compares a table's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ContentMode {
    /// Range checksums in both databases where they apply (two live SQL
    /// stores, a table they cover), digests elsewhere.
    Auto,
    /// Always read every record of both sides and compare digests.
    Digest,
}

/// How a group's content was compared in the first pass (the report's
/// `content`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ContentCheck {
    /// Both sides read, content digests compared (`digest_equal`).
    #[serde(rename = "digest")]
    Digest,
    /// Counts and key-range checksums computed in both databases; no rows
    /// read but those of differing ranges, so no digest (`digest_equal` is
    /// null).
    #[serde(rename = "range checksums")]
    RangeChecksums,
}

/// Parses `0.1%`, `0.001`, `0`.
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("bad ratio {s:?}: use a percentage such as 0.1% or a fraction such as 0.001"))?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("bad ratio {s:?}: must be between 0 and 100%"));
    }
    Ok(v)
}

/// One side's first pass.
#[derive(Debug, Default)]
struct Scan {
    digests: BTreeMap<GroupKey, ContentDigest>,
    /// The digests without the forgiving options (only when one is set).
    strict: BTreeMap<GroupKey, ContentDigest>,
    status: &'static str,
    info: SideInfo,
}

/// A small xorshift generator: the sample needs spread, not cryptography.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Per-group result.
#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    /// `table:NAME` or `keys:GROUP`.
    pub group: String,
    /// Records in A.
    pub left: u64,
    /// Records in B.
    pub right: u64,
    /// How the content was compared: `digest` or `range checksums`.
    pub content: ContentCheck,
    /// Content digests equal; null when the content was compared by range
    /// checksums in the databases (no digest computed).
    pub digest_equal: Option<bool>,
    /// Only in B (known when the digests differ).
    pub added: u64,
    /// Only in A.
    pub removed: u64,
    /// In both, different.
    pub changed: u64,
    /// Differences first found that --settle's re-check no longer saw
    /// (writes in flight); not in added, removed or changed.
    pub transient: u64,
    /// Equal only under --null-equals-empty / --time-precision (counted as
    /// equal, reported as a note).
    #[serde(skip_serializing_if = "is_zero")]
    pub equal_by_options: u64,
    /// Differing records / records present on either side.
    pub mismatch_ratio: f64,
    /// The digests differ but the keyed comparison found no differing record
    /// (the two disagree, which must never pass; --float-tolerance aside,
    /// which only the keyed comparison applies).
    pub unexplained: bool,
    /// Within --max-mismatch.
    pub ok: bool,
}

/// The sample's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SampleReport {
    /// Records sampled from A.
    pub checked: u64,
    /// Not found in B.
    pub missing: u64,
    /// Found but different.
    pub different: u64,
    /// True when B's records were fetched by key (a live B), false when
    /// looked up during B's full pass (a file).
    pub by_key: bool,
    /// Within --max-mismatch.
    pub ok: bool,
}

/// The whole report (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// A's name (no password).
    pub left: String,
    /// B's name (no password).
    pub right: String,
    /// `sealed`, `unsealed` or `live`.
    pub left_status: String,
    /// `sealed`, `unsealed` or `live`.
    pub right_status: String,
    /// Per group.
    pub groups: Vec<GroupReport>,
    /// `--sample`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleReport>,
    /// `--schema` differences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_differences: Option<Vec<String>>,
    /// The first differences found (diff lines).
    pub examples: Vec<serde_json::Value>,
    /// Every confirmed mismatch (up to [`MAX_LISTED`]): its group, kind,
    /// key and differing fields.
    pub mismatches: Vec<Mismatch>,
    /// More mismatches were confirmed than are listed.
    pub mismatches_truncated: bool,
    /// Notes per group: records equal only under --null-equals-empty /
    /// --time-precision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The threshold.
    pub max_mismatch: f64,
    /// `--shard`: the share compared (`decant-verify --combine` adds the
    /// shares' reports up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<decant_record::Shard>,
    /// The verdict.
    pub ok: bool,
}

/// Most mismatches listed in the report.
pub const MAX_LISTED: usize = 10_000;

/// One confirmed mismatch, as the JSON report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    /// `table:NAME` or `keys:GROUP`.
    pub group: String,
    /// added (only in B), removed (only in A) or changed.
    pub op: decant_record::DiffOp,
    /// The row's key columns (`{"id":5}`) or the Redis key.
    pub key: serde_json::Value,
    /// The differing columns / fields (changed records).
    pub fields: Vec<String>,
}

/// Collects the first few differences as `diff` JSON lines, and every
/// mismatch's key and fields.
#[derive(Debug)]
struct Examples {
    keys: KeyColumns,
    max: usize,
    items: Vec<serde_json::Value>,
    mismatches: Vec<Mismatch>,
    truncated: bool,
}

impl Sink for Examples {
    fn found(&mut self, f: Found<'_>, left_info: &SideInfo, right_info: &SideInfo) -> anyhow::Result<()> {
        if self.items.len() >= self.max && self.mismatches.len() >= MAX_LISTED {
            self.truncated = true;
            return Ok(());
        }
        let group = f.group.to_string();
        let op = f.op;
        let fields = f.fields.clone();
        let mut buf = Vec::new();
        {
            let mut w = decant_check::output::DiffLines::bare(&mut buf, self.keys.clone());
            w.found(f, left_info, right_info)?;
            w.flush()?;
        }
        for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) {
                if self.mismatches.len() < MAX_LISTED {
                    let key = v.get("id").or_else(|| v.get("key")).cloned().unwrap_or_default();
                    self.mismatches.push(Mismatch { group: group.clone(), op, key, fields: fields.clone() });
                } else {
                    self.truncated = true;
                }
                if self.items.len() < self.max {
                    self.items.push(v);
                }
            }
        }
        Ok(())
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Content digests per group, and (with `strict`) the digests without the
/// forgiving options, so a pass that needed them can say for how many records.
type Digests = (BTreeMap<GroupKey, ContentDigest>, BTreeMap<GroupKey, ContentDigest>);

fn scan(
    reader: &mut EntryReader,
    sample: &mut Vec<SampleItem>,
    sample_size: usize,
    rng: &mut Rng,
    lookup: Option<&HashMap<Vec<u8>, usize>>,
    strict: bool,
) -> anyhow::Result<Digests> {
    let mut digests: BTreeMap<GroupKey, ContentDigest> = BTreeMap::new();
    let mut strict_digests: BTreeMap<GroupKey, ContentDigest> = BTreeMap::new();
    let mut seen = 0u64;
    while let Some(e) = reader.next_entry()? {
        let d = digests.entry(e.group.clone()).or_default();
        d.add_hash(&e.content);
        d.count += 1;
        if strict {
            let d = strict_digests.entry(e.group.clone()).or_default();
            d.add_hash(&e.strict);
            d.count += 1;
        }
        match lookup {
            None if sample_size > 0 => {
                let item = || SampleItem {
                    ident: e.ident.clone(),
                    group: e.group.clone(),
                    content: e.content,
                    lines: e.lines.clone(),
                    right: None,
                };
                if sample.len() < sample_size {
                    sample.push(item());
                } else {
                    let j = (rng.next() % (seen + 1)) as usize;
                    if j < sample_size {
                        sample[j] = item();
                    }
                }
            }
            Some(map) => {
                if let Some(&i) = map.get(&e.ident) {
                    if sample[i].right.is_none() {
                        sample[i].right = Some((e.content, e.lines));
                    }
                }
            }
            None => {}
        }
        seen += 1;
    }
    // Tables declared by a schema line but without rows count as empty groups
    // (the reader keeps only the schema lines of the --tables asked for).
    for s in &reader.info.schemas {
        digests.entry(GroupKey::Table(s.table.clone())).or_default();
        if strict {
            strict_digests.entry(GroupKey::Table(s.table.clone())).or_default();
        }
    }
    Ok((digests, strict_digests))
}

/// Runs `decant-verify` and returns the report.
pub fn verify(args: &Args) -> anyhow::Result<Report> {
    let a = SourceSpec::parse(args.left.as_deref().unwrap_or("-"));
    let b = SourceSpec::parse(args.right.as_deref().unwrap_or("-"));
    let opts = args.compare.options(&args.canon)?.with_filters(&args.ignore_columns, &args.tables)?;
    let spec: Option<Arc<Transformer>> = decant_check::pair::load_spec(args.spec.as_deref())?;
    let (mut live_a, mut live_b) = args.sides.live_options(&a, &b, &args.tables, &args.wheres)?;
    // A table on one side only is a finding, not an exporter's error.
    (live_a.skip_missing_tables, live_b.skip_missing_tables) = (true, true);
    let since_run = decant_check::since::SinceRun::start(&args.since, &a, &b, &mut live_a, &mut live_b)?;
    let base = EngineConfig {
        compare: opts.clone(),
        memory_limit: args.compare.memory,
        temp_dir: args.compare.temp_dir.clone(),
        ..EngineConfig::default()
    };

    // Between two live SQL stores, the tables the range checksums cover are
    // compared in the databases first: their rows need not travel.
    let mut plan = if args.content == ContentMode::Auto
        && since_run.is_none()
        && args.sides.share().is_none()
        && ranges_apply(args, (&a, &b), spec.as_ref())
    {
        let range = decant_check::sqlrange::RangeConfig::default();
        Some(decant_check::sqlrange::plan_live(&a, &b, &live_a, &live_b, &base, &range)?)
    } else {
        None
    };
    let ranged: BTreeMap<GroupKey, (u64, u64)> = plan
        .iter()
        .flat_map(|p| p.ranged())
        .map(|(t, left, right)| (GroupKey::Table(t.to_owned()), (left, right)))
        .collect();
    // Pass 1 reads the covered tables' schema lines, not their rows; A's
    // rows too when the sample must draw from them.
    let pass_a = without_rows(&live_a, &ranged, args.sample == 0);
    let pass_b = without_rows(&live_b, &ranged, true);
    // Every table covered and no schema or sample asking for the schema
    // lines: pass 1 has nothing to read, and the exporters are not started.
    let read = plan.as_ref().is_none_or(|p| !p.row_tables().is_empty() || args.schema || args.sample > 0);
    let open = |spec: &SourceSpec, live: &LiveOptions| {
        if read {
            Source::open(spec, live)
        } else {
            Ok(Source::empty(spec.display_name()))
        }
    };

    // Pass 1: counts, digests, sample, schemas.
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let mut rng = Rng(seed | 1);
    let mut sample = Vec::new();
    if a == SourceSpec::Stdin && b == SourceSpec::Stdin {
        anyhow::bail!("A and B cannot both be stdin");
    }
    // One side at a time: a live B is not kept waiting (with a transaction
    // open) while A is read.
    let mut left = EntryReader::new(open(&a, &pass_a)?, &opts, true);
    if let Some(t) = &spec {
        left = left.with_transform(t.clone());
    }
    let strict = opts.strict_canon().is_some();
    let (left_digests, left_strict) = scan(&mut left, &mut sample, args.sample, &mut rng, None, strict)?;
    let left_info = std::mem::take(&mut left.info);
    // Always finish: a failed exporter fails the run.
    let left_segments = left.finish()?;
    let lookup: HashMap<Vec<u8>, usize> = sample.iter().enumerate().map(|(i, s)| (s.ident.clone(), i)).collect();
    // The spot checks: exactly the sampled records, fetched from a live B by
    // key once B's pass has said which of its tables exist (a table B lacks
    // leaves its sampled records missing, not the exporter failing).
    let point = sample::point_query(&b, &live_b, &sample, &opts.keys, &left_info);
    let mut right = EntryReader::new(open(&b, &pass_b)?, &opts, false);
    let right_lookup = if point.is_some() { None } else { Some(&lookup) };
    let right_sample = if point.is_some() { 0 } else { args.sample };
    let (right_digests, right_strict) = scan(&mut right, &mut sample, right_sample, &mut rng, right_lookup, strict)?;
    let right_info = std::mem::take(&mut right.info);
    let right_segments = right.finish()?;
    if let Some(run) = &since_run {
        run.first_pass_done(&mut live_a, &mut live_b)?;
    }
    let right_tables: BTreeSet<String> = right_info.schemas.iter().map(|s| s.table.clone()).collect();
    if let Some(point_b) = point.as_ref().and_then(|p| sample::restrict_to_tables(p, &right_tables)) {
        let mut by_key = EntryReader::new(Source::open(&b, &point_b)?, &opts, false);
        scan(&mut by_key, &mut sample, 0, &mut rng, Some(&lookup), false)?;
        by_key.finish()?;
    }
    let left_scan = Scan {
        digests: left_digests,
        strict: left_strict,
        status: if a.is_live() { "live" } else { seal_status(&left_segments) },
        info: left_info,
    };
    let right_scan = Scan {
        digests: right_digests,
        strict: right_strict,
        status: if b.is_live() { "live" } else { seal_status(&right_segments) },
        info: right_info,
    };

    // Groups whose counts or digests differ (the range checksums speak for
    // the tables they covered).
    let names: BTreeSet<&GroupKey> =
        left_scan.digests.keys().chain(right_scan.digests.keys()).chain(ranged.keys()).collect();
    // A table named in --tables that neither side has is a mistake (a typo
    // would otherwise pass with nothing compared); one side only is a
    // difference, reported below as every row removed or added.
    for table in args.tables.iter().filter(|t| !t.contains(['*', '?'])) {
        if !names.contains(&GroupKey::Table(table.clone())) {
            anyhow::bail!(
                "table {table:?} is in neither {} nor {} (--tables): check the name; nothing was compared for it",
                a.display_name(),
                b.display_name()
            );
        }
    }
    let mut differing = HashSet::new();
    for g in names.iter().filter(|g| !ranged.contains_key(**g)) {
        let l = left_scan.digests.get(*g).copied().unwrap_or_default();
        let r = right_scan.digests.get(*g).copied().unwrap_or_default();
        // Equal only under --null-equals-empty / --time-precision: the keyed
        // pass counts how many records the options forgave.
        let forgiven = || left_scan.strict.get(*g) != right_scan.strict.get(*g);
        if l != r || (strict && forgiven()) {
            differing.insert((*g).clone());
        }
    }

    // Pass 2, only for those: the keyed comparison.
    let mut examples =
        Examples { keys: opts.keys.clone(), max: 10, items: Vec::new(), mismatches: Vec::new(), truncated: false };
    let settle_config = decant_check::settle::SettleConfig { wait: args.settle, rounds: args.settle_rounds };
    let settling = settle_config.enabled() && (a.is_live() || b.is_live()) && decant_check::settle::can_reread(&a, &b);
    let mut detail: BTreeMap<GroupKey, GroupStats> = BTreeMap::new();
    let mut holding = if settling {
        decant_check::settle::Holding::new(&mut examples, &opts)
    } else {
        decant_check::settle::Holding::passthrough(&mut examples, &opts)
    };
    let mut seen = HashSet::new();
    // Groups whose records were all compared by the row-by-row engine, in
    // the one canonical form the digests use.
    let mut row_checked: HashSet<GroupKey> = HashSet::new();
    if let Some(mut plan) = plan.take() {
        // The covered tables' differing key ranges, and the other tables
        // whose digests differ, fetched and compared record by record.
        let tables = differing
            .iter()
            .filter_map(|g| match g {
                GroupKey::Table(t) => Some(t.clone()),
                GroupKey::Keys(_) | GroupKey::Functions => None,
            })
            .collect();
        plan.set_row_tables(tables);
        let mut tap = decant_check::since::Tap { inner: &mut holding, seen: &mut seen };
        detail = plan.compare(&a, &b, &live_a, &live_b, &base, &mut tap)?.groups;
        row_checked.clone_from(&differing);
    } else if !differing.is_empty() {
        let mut config = base.clone();
        config.compare.only_groups = Some(differing.clone());
        let mut tap = decant_check::since::Tap { inner: &mut holding, seen: &mut seen };
        let used_ranges;
        (detail, used_ranges) =
            keyed_pass(args, (&a, &b), (&live_a, &live_b), &config, &differing, spec.as_ref(), &mut tap)?;
        if !used_ranges {
            row_checked.clone_from(&differing);
        } else if settling {
            // Live stores: the digests differed, yet the range checksums
            // (both databases at one moment) saw no difference — a write
            // in flight during the digest pass, or a difference they cannot
            // see. The row-by-row comparison, which cannot disagree with
            // the digests at rest, decides (its writes in flight settle).
            let unresolved: HashSet<GroupKey> =
                differing.iter().filter(|g| detail.get(*g).is_none_or(|d| d.differences() == 0)).cloned().collect();
            if !unresolved.is_empty() {
                config.compare.only_groups = Some(unresolved.clone());
                let (l2, r2) = decant_check::pair::open_pair(&a, &b, &live_a, &live_b, &config.compare, spec.as_ref())?;
                for (g, st) in engine::diff(l2, r2, &config, &mut tap)?.groups {
                    detail.insert(g, st);
                }
                row_checked = unresolved;
            }
        }
    }
    // --since: rows deleted on one side leave nothing to read; the keys of
    // the whole tables are compared for them.
    if since_run.is_some() && !args.since.no_key_check {
        let keys = decant_check::since::key_check((&a, &b), (&live_a, &live_b), &base, &mut holding, &seen)?;
        decant_check::since::add_key_check(&mut detail, &keys);
    }
    if settling {
        let sides = decant_check::settle::Sides { a: &a, b: &b, live_a: &live_a, live_b: &live_b, spec: spec.as_ref() };
        let settled = decant_check::settle::settle(holding, &sides, &opts, settle_config)?;
        decant_check::settle::apply(&mut detail, &settled);
    } else {
        drop(holding);
    }
    // Live stores: digests that differed while the row-by-row comparison (a
    // later read) found every difference transient, or none, were caught
    // mid-write; at rest a digest difference nothing explains still fails.
    let settled_digests: HashSet<GroupKey> = if settling && (a.is_live() || b.is_live()) {
        row_checked.into_iter().filter(|g| detail.get(g).is_none_or(|d| d.differences() == 0)).collect()
    } else {
        HashSet::new()
    };

    let counted = |count: u64| {
        let mut d = ContentDigest::default();
        d.count = count;
        d
    };
    let mut groups = Vec::new();
    for g in names {
        let d = detail.get(g).copied().unwrap_or_default();
        let (content, l, r) = match ranged.get(g) {
            // Counted by the databases; the content is the range checksums'
            // (and the keyed comparison's of the ranges that differed).
            Some(&(left, right)) => (ContentCheck::RangeChecksums, counted(left), counted(right)),
            None => (
                ContentCheck::Digest,
                left_scan.digests.get(g).copied().unwrap_or_default(),
                right_scan.digests.get(g).copied().unwrap_or_default(),
            ),
        };
        let diffs = d.added + d.removed + d.changed;
        // Share of the records present on either side that differ (at most 1).
        let ratio = if diffs == 0 { 0.0 } else { diffs as f64 / (d.equal + d.transient + diffs) as f64 };
        // Digests that differed only through writes in flight: the settle
        // re-check accounts for them.
        let digests_differ =
            content == ContentCheck::Digest && l != r && d.transient == 0 && !settled_digests.contains(g);
        let (ok, unexplained) =
            group_verdict(digests_differ, diffs, ratio, args.max_mismatch, args.compare.float_tolerance.is_some());
        // Records compared: every record read (the digest pass covers them all).
        let compared = l.count.max(r.count).max(d.equal + d.transient + diffs);
        let figures = decant_check::checkmetrics::GroupFigures { compared, confirmed: diffs, transient: d.transient };
        decant_check::checkmetrics::record(&g.to_string(), figures);
        groups.push(GroupReport {
            group: g.to_string(),
            left: l.count,
            right: r.count,
            content,
            digest_equal: (content == ContentCheck::Digest).then_some(l == r),
            added: d.added,
            removed: d.removed,
            changed: d.changed,
            transient: d.transient,
            equal_by_options: d.equal_by_options,
            mismatch_ratio: ratio,
            unexplained,
            ok,
        });
    }

    let sample_report = (args.sample > 0).then(|| {
        let mut rep = SampleReport { checked: sample.len() as u64, by_key: point.is_some(), ..Default::default() };
        for s in &sample {
            match &s.right {
                None => rep.missing += 1,
                Some((c, _)) if *c == s.content => {}
                Some((_, lines)) => {
                    let same = match (decode_lines(&s.lines), decode_lines(lines)) {
                        (Ok(l), Ok(r)) => {
                            let lt = row_types(&left_scan.info, &l);
                            let rt = row_types(&right_scan.info, &r);
                            changed_fields(&l, &r, lt, rt, &opts).is_empty()
                        }
                        _ => false,
                    };
                    if !same {
                        rep.different += 1;
                    }
                }
            }
            let _ = &s.group;
        }
        let bad = rep.missing + rep.different;
        rep.ok = if args.max_mismatch == 0.0 {
            bad == 0
        } else {
            bad as f64 <= args.max_mismatch * rep.checked.max(1) as f64
        };
        rep
    });

    let schema_differences =
        args.schema.then(|| schema::compare(&left_scan.info.schemas, &right_scan.info.schemas, &args.tables));

    let notes = groups
        .iter()
        .filter_map(|g| {
            decant_check::options_note(g.equal_by_options, &opts.canon).map(|n| format!("{}: {n}", g.group))
        })
        .collect();
    let mut ok = groups.iter().all(|g| g.ok);
    ok &= sample_report.as_ref().is_none_or(|s| s.ok);
    ok &= schema_differences.as_ref().is_none_or(|d| d.is_empty());
    if args.require_sealed {
        ok &= left_scan.status != "unsealed" && right_scan.status != "unsealed";
    }
    // The watermark moves only past a passing check: a difference found is
    // looked at again next time.
    if let (true, Some(run)) = (ok, &since_run) {
        run.commit()?;
    }
    Ok(Report {
        left: a.display_name(),
        right: b.display_name(),
        left_status: left_scan.status.to_owned(),
        right_status: right_scan.status.to_owned(),
        groups,
        sample: sample_report,
        schema_differences,
        examples: examples.items,
        mismatches: examples.mismatches,
        mismatches_truncated: examples.truncated,
        notes,
        max_mismatch: args.max_mismatch,
        shard: args.sides.share(),
        ok,
    })
}

/// True when the in-database range checksums may compare A and B: two live
/// SQL stores whose records reach the comparison as they are stored (no
/// spec, key map or ignored columns reshaping them).
fn ranges_apply(args: &Args, (a, b): (&SourceSpec, &SourceSpec), spec: Option<&Arc<Transformer>>) -> bool {
    decant_check::sqlrange::applies(a, b)
        && spec.is_none()
        && args.compare.key_map.is_empty()
        && args.ignore_columns.is_empty()
}

/// A live side's first-pass options with the rows of the `ranged` tables
/// left out (when `skip`): their schema lines still come, for `--schema`,
/// the sample's lookups and empty tables, through a condition no row meets.
fn without_rows(live: &LiveOptions, ranged: &BTreeMap<GroupKey, (u64, u64)>, skip: bool) -> LiveOptions {
    if !skip || ranged.is_empty() {
        return live.clone();
    }
    let covered = |t: &str| ranged.contains_key(&GroupKey::Table(t.to_owned()));
    // The exporters take one --where per table: the user's own condition for
    // a covered table gives way (its rows are not read at all).
    let mut wheres: Vec<String> =
        live.wheres.iter().filter(|w| w.split_once(':').is_none_or(|(t, _)| !covered(t.trim()))).cloned().collect();
    for g in ranged.keys() {
        if let GroupKey::Table(t) = g {
            wheres.push(format!("{t}:1 = 0"));
        }
    }
    LiveOptions { wheres, ..live.clone() }
}

/// The keyed comparison of the groups whose digests differ: range
/// checksums between two live SQL stores, else record by record.
fn keyed_pass(
    args: &Args,
    (a, b): (&SourceSpec, &SourceSpec),
    (live_a, live_b): (&LiveOptions, &LiveOptions),
    config: &EngineConfig,
    differing: &HashSet<GroupKey>,
    spec: Option<&Arc<Transformer>>,
    sink: &mut dyn Sink,
) -> anyhow::Result<(BTreeMap<GroupKey, GroupStats>, bool)> {
    if ranges_apply(args, (a, b), spec) {
        // Two live SQL stores: narrow the differing tables down by range
        // checksums in the databases before fetching rows.
        let tables: Vec<String> = differing
            .iter()
            .filter_map(|g| match g {
                GroupKey::Table(t) => Some(t.clone()),
                GroupKey::Keys(_) | GroupKey::Functions => None,
            })
            .collect();
        let (la, lb) =
            (LiveOptions { tables: tables.clone(), ..live_a.clone() }, LiveOptions { tables, ..live_b.clone() });
        let range = decant_check::sqlrange::RangeConfig::default();
        return Ok((decant_check::sqlrange::diff_live(a, b, &la, &lb, config, &range, sink)?.groups, true));
    }
    let (l2, r2) = decant_check::pair::open_pair(a, b, live_a, live_b, &config.compare, spec)?;
    Ok((engine::diff(l2, r2, config, sink)?.groups, false))
}

/// A group's verdict: `(ok, unexplained)`. A digest difference the keyed
/// comparison cannot name is a failure, never a pass: both use the one
/// canonical form, so it means a difference the comparison could not see
/// (e.g. a column type the in-database range checksums do not cover). Only
/// `--float-tolerance`, which the digest cannot apply, explains it.
fn group_verdict(
    digests_differ: bool,
    differing_records: u64,
    ratio: f64,
    max_mismatch: f64,
    float_tolerance: bool,
) -> (bool, bool) {
    let unexplained = digests_differ && differing_records == 0 && !float_tolerance;
    let within = if max_mismatch == 0.0 { differing_records == 0 } else { ratio <= max_mismatch };
    (within && !unexplained, unexplained)
}

fn row_types<'a>(
    info: &'a SideInfo,
    r: &decant_record::Record,
) -> Option<&'a HashMap<String, decant_record::digest::CanonType>> {
    match r {
        decant_record::Record::Row(row) => info.types.get(&row.table),
        _ => None,
    }
}

/// The report as the table printed on stderr.
pub fn render_text(r: &Report) -> String {
    use decant_record::cli::group_digits as n;
    let width = r.groups.iter().map(|g| g.group.chars().count()).max().unwrap_or(5).max(5);
    let mut out = format!("A: {} ({})\nB: {} ({})\n", r.left, r.left_status, r.right, r.right_status);
    out.push_str(&format!(
        "{:<width$}  {:>10}  {:>10}  {:>8}  {:>8}  {:>8}  {:>8}  {:>9}  {:>9}  status\n",
        "group", "A", "B", "digest", "added", "removed", "changed", "transient", "mismatch"
    ));
    for g in &r.groups {
        out.push_str(&format!(
            "{:<width$}  {:>10}  {:>10}  {:>8}  {:>8}  {:>8}  {:>8}  {:>9}  {:>8.4}%  {}\n",
            g.group,
            n(g.left),
            n(g.right),
            match g.digest_equal {
                Some(true) => "equal",
                Some(false) => "differs",
                None => "ranges",
            },
            n(g.added),
            n(g.removed),
            n(g.changed),
            n(g.transient),
            g.mismatch_ratio * 100.0,
            if g.ok { "ok" } else { "FAILED" }
        ));
    }
    for note in &r.notes {
        out.push_str(note);
        out.push('\n');
    }
    let ranged: Vec<&str> =
        r.groups.iter().filter(|g| g.content == ContentCheck::RangeChecksums).map(|g| g.group.as_str()).collect();
    if !ranged.is_empty() {
        out.push_str(&format!(
            "{}: compared by range checksums in both databases (counts and key-range checksums; only the rows of differing ranges read, no digest); --content digest reads every row instead\n",
            ranged.join(", ")
        ));
    }
    for g in r.groups.iter().filter(|g| g.unexplained) {
        out.push_str(&format!(
            "{}: the content digests differ but the keyed comparison found no differing record; compare the two sides with decant-diff on exported files (e.g. mysql-export … > a.ndjson) to see the records\n",
            g.group
        ));
    }
    if let Some(s) = &r.sample {
        out.push_str(&format!(
            "sample: {} checked ({}), {} missing in B, {} different: {}\n",
            s.checked,
            if s.by_key { "fetched from B by key" } else { "looked up in B's pass" },
            s.missing,
            s.different,
            if s.ok { "ok" } else { "FAILED" }
        ));
    }
    if let Some(d) = &r.schema_differences {
        if d.is_empty() {
            out.push_str("schema: equal\n");
        }
        for line in d {
            out.push_str(&format!("schema: {line}\n"));
        }
    }
    // Readable lines here; the diff lines themselves are in the --json report.
    for e in &r.examples {
        for line in decant_check::output::describe(e) {
            out.push_str(&format!("example: {line}\n"));
        }
    }
    out.push_str(if r.ok { "verification passed\n" } else { "verification FAILED\n" });
    out
}

/// Runs `decant-verify`.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    if !args.combine.is_empty() {
        return run_combine(args);
    }
    let report = verify(args)?;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &report).context("writing the report")?;
        writeln!(out)?;
        out.flush()?;
    }
    // With --json a passing run prints nothing else; a failing one still explains itself.
    if !(args.report.quiet || args.json && report.ok) {
        let text = render_text(&report);
        let prefixed: String = text.lines().map(|l| format!("{}: {l}\n", cli::tool_name())).collect();
        cli::log_lines(if report.ok { "info" } else { "error" }, &prefixed);
    }
    Ok(if report.ok { Outcome::Success } else { Outcome::Failed })
}

/// `--combine`: the verdict of the shares' reports.
fn run_combine(args: &Args) -> anyhow::Result<Outcome> {
    let mut reports = Vec::with_capacity(args.combine.len());
    for path in &args.combine {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let report: shares::ShareReport = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a decant-verify --json report", path.display()))?;
        reports.push((path.display().to_string(), report));
    }
    let combined = shares::combine(&reports)?;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &combined).context("writing the report")?;
        writeln!(out)?;
        out.flush()?;
    }
    if !(args.report.quiet || args.json && combined.ok) {
        let text = shares::render_text(&combined);
        let prefixed: String = text.lines().map(|l| format!("{}: {l}\n", cli::tool_name())).collect();
        cli::log_lines(if combined.ok { "info" } else { "error" }, &prefixed);
    }
    Ok(if combined.ok { Outcome::Success } else { Outcome::Failed })
}

/// The clap command of `decant-verify`, as the binary parses it (and the `decant`
/// dispatcher renders it for completions and man pages).
pub fn command() -> clap::Command {
    use clap::CommandFactory as _;
    decant_record::cli::with_help_sections(Args::command(), "", &decant_record::conn::live_env_help())
}

/// `decant-verify`'s `main`.
pub fn main() -> std::process::ExitCode {
    use clap::FromArgMatches as _;
    decant_record::cli::main("decant-verify", || {
        let args = Args::from_arg_matches(&decant_record::cli::get_matches(command())).unwrap_or_else(|e| e.exit());
        run(&args)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_difference_nothing_explains_never_passes() {
        // Equal digests, nothing differs: passes.
        assert_eq!(group_verdict(false, 0, 0.0, 0.0, false), (true, false));
        // Digests differ, the keyed comparison finds nothing: fails, at any threshold.
        assert_eq!(group_verdict(true, 0, 0.0, 0.0, false), (false, true));
        assert_eq!(group_verdict(true, 0, 0.0, 0.5, false), (false, true));
        // --float-tolerance explains it.
        assert_eq!(group_verdict(true, 0, 0.0, 0.0, true), (true, false));
        // Differences found: judged by the threshold.
        assert_eq!(group_verdict(true, 1, 0.001, 0.01, false), (true, false));
        assert_eq!(group_verdict(true, 1, 0.001, 0.0, false), (false, false));
    }

    #[test]
    fn covered_tables_are_read_for_their_schema_lines_only() {
        let live = LiveOptions {
            wheres: vec!["items:qty > 1".to_owned(), "other:x = 1".to_owned()],
            ..LiveOptions::default()
        };
        let ranged: BTreeMap<GroupKey, (u64, u64)> = [(GroupKey::Table("items".to_owned()), (3, 3))].into();
        // The user's condition on a covered table gives way: no row is read.
        assert_eq!(without_rows(&live, &ranged, true).wheres, ["other:x = 1", "items:1 = 0"]);
        // The sample draws from A's rows: A keeps them.
        assert_eq!(without_rows(&live, &ranged, false).wheres, live.wheres);
        assert_eq!(without_rows(&live, &BTreeMap::new(), true).wheres, live.wheres);
    }

    #[test]
    fn ratios() {
        assert_eq!(parse_ratio("0.1%").unwrap(), 0.001);
        assert_eq!(parse_ratio("0.001").unwrap(), 0.001);
        assert_eq!(parse_ratio("0").unwrap(), 0.0);
        assert!(parse_ratio("200%").is_err());
        assert!(parse_ratio("x").is_err());
    }
}
