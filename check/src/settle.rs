//! `--settle DURATION`: two live stores written by an application (a
//! dual-write phase) differ for a few milliseconds after every write. A
//! checker therefore holds the differences its comparison found, waits, and
//! re-reads exactly those records from both sides by key (SQL: `WHERE key
//! IN (…)`, in batches; Redis: the keys), and reports only those still
//! different. The others are counted apart as transient.
//!
//! A difference is confirmed when it stood still across a settle period (the
//! re-read shows both sides exactly as first seen), or when it is still there
//! after `--settle-rounds` re-reads; a record that keeps changing is
//! re-checked in the next round. So a planted difference costs one round,
//! and a write in flight is forgiven as long as it lands within the rounds.
//!
//! Generic over stores: what a side needs is "read these keys again". A live
//! side read as it is is fetched by key through its exporter; a file is read
//! again whole (it does not change, but its records are needed with their
//! schemas); a side read through a `--spec` or `--key-map` (whose keys are
//! not the store's own) is read again whole, limited to the groups
//! concerned, and filtered to the records in question.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::source::{LiveOptions, Source, SourceSpec};
use decant_record::conn::ConnUrl;
use decant_record::digest::GroupKey;
use decant_record::{DiffOp, Record};
use decant_transform::Transformer;

use crate::bykey;
use crate::compare::{changed_fields, decode_lines};
use crate::engine::{Found, Sink};
use crate::entry::{key_columns, CompareOptions, Entry, EntryReader, SideInfo};

/// Bytes of differences held for the re-check; past it the run gives up
/// settling (with a warning) and reports every difference as found, so
/// memory stays bounded when the stores really differ a lot.
pub const HOLD_LIMIT: usize = 256 << 20;

/// `--settle` and `--settle-rounds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettleConfig {
    /// How long to wait before each re-read.
    pub wait: Duration,
    /// Re-reads at most.
    pub rounds: u32,
}

impl SettleConfig {
    /// True when differences are re-checked at all (`--settle 0` turns it off).
    pub fn enabled(&self) -> bool {
        !self.wait.is_zero() && self.rounds > 0
    }
}

/// Parses `--settle`.
pub fn parse_settle(s: &str) -> Result<Duration, String> {
    decant_record::time::parse_duration(s)
}

/// One difference waiting for its re-check.
#[derive(Debug, Clone)]
struct Held {
    op: DiffOp,
    group: GroupKey,
    ident: Vec<u8>,
    left: Option<Vec<u8>>,
    right: Option<Vec<u8>>,
    fields: Vec<String>,
}

/// A [`Sink`] that holds the differences instead of passing them on.
pub struct Holding<'s> {
    inner: &'s mut dyn Sink,
    held: Vec<Held>,
    bytes: usize,
    limit: usize,
    /// Past the limit: every difference goes straight to `inner`.
    overflowed: bool,
    /// Key columns per table, as the comparison saw them.
    key_columns: HashMap<String, Option<Vec<String>>>,
    /// Tables each side declared (a side without the table is not asked for it).
    tables: [BTreeSet<String>; 2],
    keys: crate::entry::KeyColumns,
}

impl std::fmt::Debug for Holding<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Holding").field("held", &self.held.len()).field("overflowed", &self.overflowed).finish()
    }
}

impl<'s> Holding<'s> {
    /// Holds differences for `inner` (which receives the confirmed ones).
    pub fn new(inner: &'s mut dyn Sink, opts: &CompareOptions) -> Holding<'s> {
        Holding {
            inner,
            held: Vec::new(),
            bytes: 0,
            limit: HOLD_LIMIT,
            overflowed: false,
            key_columns: HashMap::new(),
            tables: Default::default(),
            keys: opts.keys.clone(),
        }
    }

    /// A sink that holds nothing: every difference goes straight to
    /// `inner` (settling off), so callers keep one code path.
    pub fn passthrough(inner: &'s mut dyn Sink, opts: &CompareOptions) -> Holding<'s> {
        Holding { overflowed: true, ..Holding::new(inner, opts) }
    }

    /// Differences held so far.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

impl Sink for Holding<'_> {
    fn found(&mut self, f: Found<'_>, left_info: &SideInfo, right_info: &SideInfo) -> anyhow::Result<()> {
        if self.overflowed {
            return self.inner.found(f, left_info, right_info);
        }
        if let GroupKey::Table(t) = f.group {
            if !self.key_columns.contains_key(t) {
                let cols = key_columns(&self.keys, left_info, t).or_else(|| key_columns(&self.keys, right_info, t));
                self.key_columns.insert(t.clone(), cols);
                for (side, info) in [left_info, right_info].into_iter().enumerate() {
                    if info.schema(t).is_some() {
                        self.tables[side].insert(t.clone());
                    }
                }
            }
        }
        self.bytes += f.ident.len() + f.left.map_or(0, <[u8]>::len) + f.right.map_or(0, <[u8]>::len) + 128;
        self.held.push(Held {
            op: f.op,
            group: f.group.clone(),
            ident: f.ident.to_vec(),
            left: f.left.map(<[u8]>::to_vec),
            right: f.right.map(<[u8]>::to_vec),
            fields: f.fields,
        });
        if self.bytes > self.limit {
            crate::warn_once(format!(
                "more than {} MiB of differences: they are reported without --settle's re-check",
                self.limit >> 20
            ));
            self.overflowed = true;
            for h in std::mem::take(&mut self.held) {
                self.inner.found(h.as_found(), left_info, right_info)?;
            }
        }
        Ok(())
    }
}

impl Held {
    fn as_found(&self) -> Found<'_> {
        Found {
            op: self.op,
            group: &self.group,
            ident: &self.ident,
            left: self.left.as_deref(),
            right: self.right.as_deref(),
            fields: self.fields.clone(),
        }
    }
}

/// The two sides as the checker opened them, to read them again.
#[derive(Debug, Clone)]
pub struct Sides<'a> {
    /// A.
    pub a: &'a SourceSpec,
    /// B.
    pub b: &'a SourceSpec,
    /// How A was read.
    pub live_a: &'a LiveOptions,
    /// How B was read.
    pub live_b: &'a LiveOptions,
    /// The `--spec` applied to A.
    pub spec: Option<&'a Arc<Transformer>>,
}

/// True when both sides can be read again (stdin cannot).
pub fn can_reread(a: &SourceSpec, b: &SourceSpec) -> bool {
    *a != SourceSpec::Stdin && *b != SourceSpec::Stdin
}

/// What the re-check found, per group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Settled {
    /// Differences the re-check no longer saw (writes in flight).
    pub transient: u64,
    /// Confirmed: only in B.
    pub added: u64,
    /// Confirmed: only in A.
    pub removed: u64,
    /// Confirmed: in both, different.
    pub changed: u64,
}

/// Re-checks the held differences, hands the confirmed ones to the inner
/// sink, and returns the counts per group (every group that had a held
/// difference).
pub fn settle(
    holding: Holding<'_>,
    sides: &Sides<'_>,
    opts: &CompareOptions,
    config: SettleConfig,
) -> anyhow::Result<BTreeMap<GroupKey, Settled>> {
    let Holding { inner, held, overflowed, key_columns, tables, .. } = holding;
    let mut out: BTreeMap<GroupKey, Settled> = BTreeMap::new();
    if overflowed {
        return Ok(out);
    }
    let mut pending = held;
    let mut round = 0;
    while !pending.is_empty() && round < config.rounds {
        round += 1;
        std::thread::sleep(config.wait);
        let groups: HashSet<GroupKey> = pending.iter().map(|h| h.group.clone()).collect();
        let (now_a, info_a) = reread(sides, true, &pending, &groups, &key_columns, &tables[0], opts)?;
        let (now_b, info_b) = reread(sides, false, &pending, &groups, &key_columns, &tables[1], opts)?;
        let mut moving = Vec::new();
        for h in pending {
            let counts = out.entry(h.group.clone()).or_default();
            let (l, r) = (now_a.get(&h.ident), now_b.get(&h.ident));
            let Some(now) = still_different(&h, l, r, (&info_a, &info_b), opts)? else {
                counts.transient += 1;
                continue;
            };
            let stood_still = now.left == h.left && now.right == h.right;
            if stood_still || round == config.rounds {
                match now.op {
                    DiffOp::Added => counts.added += 1,
                    DiffOp::Removed => counts.removed += 1,
                    DiffOp::Changed => counts.changed += 1,
                }
                inner.found(now.as_found(), &info_a, &info_b)?;
            } else {
                moving.push(now);
            }
        }
        pending = moving;
    }
    Ok(out)
}

/// The difference between what the sides hold now, `None` when they agree.
fn still_different(
    was: &Held,
    l: Option<&Entry>,
    r: Option<&Entry>,
    infos: (&SideInfo, &SideInfo),
    opts: &CompareOptions,
) -> anyhow::Result<Option<Held>> {
    let (op, fields) = match (l, r) {
        (None, None) => return Ok(None),
        (Some(l), Some(r)) if l.content == r.content => return Ok(None),
        (Some(l), Some(r)) => {
            let (lr, rr) = (decode_lines(&l.lines)?, decode_lines(&r.lines)?);
            let types = |info: &'_ SideInfo, rec: &Record| match rec {
                Record::Row(row) => info.types.get(&row.table).cloned(),
                _ => None,
            };
            let (lt, rt) = (types(infos.0, &lr), types(infos.1, &rr));
            let fields = changed_fields(&lr, &rr, lt.as_ref(), rt.as_ref(), opts);
            if fields.is_empty() {
                return Ok(None);
            }
            (DiffOp::Changed, fields)
        }
        (Some(_), None) => (DiffOp::Removed, Vec::new()),
        (None, Some(_)) => (DiffOp::Added, Vec::new()),
    };
    Ok(Some(Held {
        op,
        group: was.group.clone(),
        ident: was.ident.clone(),
        left: l.map(|e| e.lines.clone()),
        right: r.map(|e| e.lines.clone()),
        fields,
    }))
}

/// Reads one side's current records for the pending differences.
fn reread(
    sides: &Sides<'_>,
    is_left: bool,
    pending: &[Held],
    groups: &HashSet<GroupKey>,
    key_cols: &HashMap<String, Option<Vec<String>>>,
    has_table: &BTreeSet<String>,
    opts: &CompareOptions,
) -> anyhow::Result<(HashMap<Vec<u8>, Entry>, SideInfo)> {
    let (spec, live) = if is_left { (sides.a, sides.live_a) } else { (sides.b, sides.live_b) };
    let transform = if is_left { sides.spec } else { None };
    let wanted: HashSet<&[u8]> = pending.iter().map(|h| h.ident.as_slice()).collect();
    let mut found = HashMap::new();
    let mut info = SideInfo::default();
    let mut read = |source: Source, info: &mut SideInfo| -> anyhow::Result<()> {
        let mut opts = opts.clone();
        opts.only_groups = Some(groups.clone());
        let mut reader = EntryReader::new(source, &opts, is_left);
        if let Some(t) = transform {
            reader = reader.with_transform(t.clone());
        }
        while let Some(e) = reader.next_entry()? {
            if wanted.contains(e.ident.as_slice()) {
                found.insert(e.ident.clone(), e);
            }
        }
        for s in std::mem::take(&mut reader.info.schemas) {
            if info.schema(&s.table).is_none() {
                info.types.insert(s.table.clone(), reader.info.types.remove(&s.table).unwrap_or_default());
                info.schemas.push(s);
            }
        }
        reader.finish()?;
        Ok(())
    };
    // A side whose keys are its store's own: not transformed, not key-mapped.
    let own_keys = transform.is_none() && (!is_left || opts.key_map.is_empty());
    let by_key = match spec {
        SourceSpec::Url(url) if own_keys => ConnUrl::parse(url).ok().map(|u| u.store()),
        _ => None,
    };
    let Some(store) = by_key else {
        // Not by key: the whole side again, limited to the groups concerned
        // when they are the store's own tables. Through a spec or a key map
        // the groups are the output's names (a DynamoDB table "app" made of
        // MySQL's users and orders), which the source does not have.
        let options = if own_keys {
            reread_options(live, groups, has_table)
        } else {
            LiveOptions { since: None, ..live.clone() }
        };
        read(Source::open(spec, &options)?, &mut info)?;
        return Ok((found, info));
    };
    // The key of each pending difference, from this side's record when it
    // has one (else the other side's: the same key in the other store).
    let mut records = Vec::with_capacity(pending.len());
    for h in pending {
        let lines = if is_left { h.left.as_ref().or(h.right.as_ref()) } else { h.right.as_ref().or(h.left.as_ref()) };
        let Some(lines) = lines else { continue };
        let rec = decode_lines(lines)?;
        if let Record::Row(row) = &rec {
            if !has_table.contains(&row.table) {
                continue;
            }
        }
        records.push(rec);
    }
    for batch in records.chunks(bykey::KEYS_PER_FETCH) {
        let point = bykey::options_with(store, live, batch, |t| key_cols.get(t).cloned().flatten());
        match point {
            Some(point) => read(Source::open(spec, &point)?, &mut info)?,
            // Keys that cannot be written as a query: the groups whole.
            None => read(Source::open(spec, &reread_options(live, groups, has_table))?, &mut info)?,
        }
    }
    Ok((found, info))
}

/// A whole-side re-read limited to the tables among `groups` that the side
/// has (Redis keys keep their `--match`).
fn reread_options(live: &LiveOptions, groups: &HashSet<GroupKey>, has_table: &BTreeSet<String>) -> LiveOptions {
    let tables: Vec<String> = groups
        .iter()
        .filter_map(|g| match g {
            GroupKey::Table(t) if has_table.contains(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    // The records asked for, whenever they last changed.
    let mut o = LiveOptions { since: None, ..live.clone() };
    if !tables.is_empty() && groups.iter().all(|g| matches!(g, GroupKey::Table(_))) && o.tables.is_empty() {
        o.tables = tables;
    }
    o
}

/// Puts the re-check's counts into the comparison's: the confirmed
/// differences replace those first found, the rest count as transient.
pub fn apply(stats: &mut BTreeMap<GroupKey, crate::engine::GroupStats>, settled: &BTreeMap<GroupKey, Settled>) {
    for (g, s) in settled {
        let st = stats.entry(g.clone()).or_default();
        st.added = s.added;
        st.removed = s.removed;
        st.changed = s.changed;
        st.transient = s.transient;
    }
}
