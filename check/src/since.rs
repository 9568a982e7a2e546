//! `--since COLUMN --state FILE` on the checkers: both live SQL stores are
//! read through their exporters' `--since` from one state file, so a check
//! every few minutes reads the rows changed since the last good check, not
//! the tables. Each exporter writes the watermarks of what it read to a
//! file of its own; the state is moved forward (per table, the earlier of
//! the two stores' watermarks: what both are known to hold) only when the
//! check passed, so a difference found, or a failed run, is looked at again
//! next time. Deletions leave no row to see: a key-only comparison of the
//! whole tables (range checksums over the primary keys, in the databases)
//! finds the rows on one side only.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::source::{LiveOptions, SinceRead, SourceSpec};
use anyhow::{bail, Context as _};
use decant_record::digest::GroupKey;
use decant_record::since::SinceState;
use decant_record::DiffOp;

use crate::engine::{self, EngineConfig, Found, GroupStats, Sink};
use crate::entry::SideInfo;

/// The flags.
#[derive(Debug, Clone, clap::Args)]
pub struct SinceArgs {
    /// Two live SQL stores: compare only the rows whose COLUMN (an update
    /// timestamp, a monotonic id) is at or past the watermark of the last
    /// passing run in --state, less --since-overlap; the watermark moves
    /// only when this run passes. A table without COLUMN is compared whole.
    #[arg(long, value_name = "COLUMN", requires = "state")]
    pub since: Option<String>,
    /// The --since watermark file (missing on the first run, which compares
    /// everything).
    #[arg(long, value_name = "FILE", requires = "since")]
    pub state: Option<PathBuf>,
    /// Re-read this much before a date-time watermark (transactions in
    /// flight at the last run, clock skew between writers).
    #[arg(long, value_name = "DURATION", requires = "since", default_value = "5m")]
    pub since_overlap: String,
    /// With --since: skip the key-only comparison of the whole tables that
    /// finds rows deleted on one side (leave it to a nightly full run).
    #[arg(long, requires = "since")]
    pub no_key_check: bool,
}

/// A `--since` run in progress.
#[derive(Debug)]
pub struct SinceRun {
    column: String,
    state: PathBuf,
    dir: tempfile::TempDir,
}

impl SinceRun {
    /// Sets both sides up to read past the watermarks; `None` without `--since`.
    pub fn start(
        args: &SinceArgs,
        a: &SourceSpec,
        b: &SourceSpec,
        live_a: &mut LiveOptions,
        live_b: &mut LiveOptions,
    ) -> anyhow::Result<Option<SinceRun>> {
        let (Some(column), Some(state)) = (&args.since, &args.state) else { return Ok(None) };
        if !(crate::sqlrange::applies(a, b) || both_sql(a, b)) {
            bail!("--since reads the changed rows of two live SQL stores (mysql://, postgres://, sqlite://); compare files or Redis whole");
        }
        decant_record::time::parse_duration(&args.since_overlap)
            .map_err(|e| anyhow::anyhow!("--since-overlap: {e}"))?;
        // Fail now, not in both exporters, on a state of another column.
        SinceState::load(state, column)?;
        let dir =
            tempfile::Builder::new().prefix("decant-since-").tempdir().context("creating a temporary directory")?;
        let run = SinceRun { column: column.clone(), state: state.clone(), dir };
        live_a.since = Some(run.read("a.json", &args.since_overlap));
        live_b.since = Some(run.read("b.json", &args.since_overlap));
        Ok(Some(run))
    }

    fn read(&self, out: &str, overlap: &str) -> SinceRead {
        SinceRead {
            column: self.column.clone(),
            state: self.state.clone(),
            out: self.dir.path().join(out),
            overlap: Some(overlap.to_owned()),
        }
    }

    /// After the first read of both sides: keeps its watermarks, and lets
    /// later reads (a keyed second pass) write elsewhere.
    pub fn first_pass_done(&self, live_a: &mut LiveOptions, live_b: &mut LiveOptions) -> anyhow::Result<()> {
        for (name, live) in [("a", live_a), ("b", live_b)] {
            let Some(since) = live.since.as_mut() else { continue };
            let kept = self.dir.path().join(format!("{name}.first.json"));
            if since.out.exists() {
                std::fs::rename(&since.out, &kept).context("keeping the watermarks of the first read")?;
            }
            since.out = self.dir.path().join(format!("{name}.later.json"));
        }
        Ok(())
    }

    /// The run passed: moves the state forward.
    pub fn commit(&self) -> anyhow::Result<()> {
        let load = |name: &str| -> anyhow::Result<SinceState> {
            let first = self.dir.path().join(format!("{name}.first.json"));
            let path: &Path = if first.exists() { &first } else { &self.dir.path().join(format!("{name}.json")) };
            if !path.exists() {
                bail!("the exporter of side {} wrote no watermarks", name.to_uppercase());
            }
            Ok(SinceState::load(path, &self.column)?)
        };
        let merged = SinceState::earliest(&load("a")?, &load("b")?);
        merged.save(&self.state)?;
        Ok(())
    }
}

fn both_sql(a: &SourceSpec, b: &SourceSpec) -> bool {
    let sql = |s: &SourceSpec| match s {
        SourceSpec::Url(u) => {
            decant_record::conn::ConnUrl::parse(u).is_ok_and(|c| c.store().capabilities().where_filter)
        }
        _ => false,
    };
    sql(a) && sql(b)
}

/// Passes differences on and remembers their identities.
pub struct Tap<'s> {
    /// Receives every difference.
    pub inner: &'s mut dyn Sink,
    /// The identities seen.
    pub seen: &'s mut HashSet<Vec<u8>>,
}

impl std::fmt::Debug for Tap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").field("seen", &self.seen.len()).finish()
    }
}

impl Sink for Tap<'_> {
    fn found(&mut self, f: Found<'_>, left: &SideInfo, right: &SideInfo) -> anyhow::Result<()> {
        self.seen.insert(f.ident.to_vec());
        self.inner.found(f, left, right)
    }
}

/// The key-only comparison's sink: rows on one side only, not yet reported.
struct KeysOnly<'s> {
    inner: &'s mut dyn Sink,
    seen: &'s HashSet<Vec<u8>>,
    counts: BTreeMap<GroupKey, GroupStats>,
}

impl Sink for KeysOnly<'_> {
    fn found(&mut self, f: Found<'_>, left: &SideInfo, right: &SideInfo) -> anyhow::Result<()> {
        if f.op == DiffOp::Changed || self.seen.contains(f.ident) {
            return Ok(());
        }
        let c = self.counts.entry(f.group.clone()).or_default();
        match f.op {
            DiffOp::Added => c.added += 1,
            _ => c.removed += 1,
        }
        self.inner.found(f, left, right)
    }
}

/// The key-only comparison of the whole tables (deletions): range checksums
/// over the primary keys between MySQL/PostgreSQL, else every row's key.
/// Reports to `sink` the rows on one side only that `seen` (the `--since`
/// comparison) did not, and returns their counts per table.
pub fn key_check(
    (a, b): (&SourceSpec, &SourceSpec),
    (live_a, live_b): (&LiveOptions, &LiveOptions),
    config: &EngineConfig,
    sink: &mut dyn Sink,
    seen: &HashSet<Vec<u8>>,
) -> anyhow::Result<BTreeMap<GroupKey, GroupStats>> {
    let whole = |l: &LiveOptions| LiveOptions { since: None, ..l.clone() };
    let (live_a, live_b) = (whole(live_a), whole(live_b));
    let mut keys = KeysOnly { inner: sink, seen, counts: BTreeMap::new() };
    if crate::sqlrange::applies(a, b) {
        let range = crate::sqlrange::RangeConfig { keys_only: true, ..Default::default() };
        crate::sqlrange::diff_live(a, b, &live_a, &live_b, config, &range, &mut keys)?;
    } else {
        let (left, right) = crate::pair::open_pair(a, b, &live_a, &live_b, &config.compare, None)?;
        engine::diff(left, right, config, &mut keys)?;
    }
    Ok(keys.counts)
}

/// Adds the key check's counts to the comparison's.
pub fn add_key_check(stats: &mut BTreeMap<GroupKey, GroupStats>, keys: &BTreeMap<GroupKey, GroupStats>) {
    for (g, k) in keys {
        let s = stats.entry(g.clone()).or_default();
        s.added += k.added;
        s.removed += k.removed;
    }
}
