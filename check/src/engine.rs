//! The keyed comparison with bounded memory.
//!
//! The left side (A) is loaded into a hash map keyed by identity (table and
//! primary key, or Redis key), holding each record's canonical hash and its
//! original lines; the right side (B) is streamed against it. When A does
//! not fit in `--memory`, both sides are hash-partitioned by identity into
//! temporary files (every record of one identity lands in the same
//! partition on both sides), and the partitions are compared one at a time;
//! a partition that still does not fit is partitioned again with another
//! hash seed. So memory stays bounded whatever the input size, and equal
//! inputs cost one pass over each side plus, when they are large, one write
//! and read of the temporary files.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use decant_record::digest::GroupKey;
use decant_record::DiffOp;

use crate::compare::{changed_fields, decode_lines};
use crate::entry::{CompareOptions, Entry, EntryReader, SideInfo};

/// Counts for one table / key group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct GroupStats {
    /// Records in A.
    pub left: u64,
    /// Records in B.
    pub right: u64,
    /// In both and equal.
    pub equal: u64,
    /// Only in B.
    pub added: u64,
    /// Only in A.
    pub removed: u64,
    /// In both, different.
    pub changed: u64,
    /// Differences found first that a `--settle` re-check no longer saw
    /// (writes in flight); not counted in added, removed or changed.
    pub transient: u64,
    /// Counted in `equal`, but equal only under `--null-equals-empty` /
    /// `--time-precision` (a NULL vs "" or a missing attribute, a timestamp
    /// cut to milliseconds): what the options forgave, reported as a note.
    #[serde(skip_serializing_if = "is_zero")]
    pub equal_by_options: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl GroupStats {
    /// Records that differ (added, removed or changed).
    pub fn differences(&self) -> u64 {
        self.added + self.removed + self.changed
    }
}

/// Counts per group, and totals.
#[derive(Debug, Clone, Default)]
pub struct DiffStats {
    /// Per table / key group.
    pub groups: BTreeMap<GroupKey, GroupStats>,
    /// True when the temporary partitions were used.
    pub spilled: bool,
    /// Tables a schema line of either side declared (with or without rows).
    pub declared_tables: std::collections::BTreeSet<String>,
}

impl DiffStats {
    /// The sums over all groups.
    pub fn total(&self) -> GroupStats {
        self.groups.values().fold(GroupStats::default(), |mut t, g| {
            t.left += g.left;
            t.right += g.right;
            t.equal += g.equal;
            t.added += g.added;
            t.removed += g.removed;
            t.changed += g.changed;
            t.transient += g.transient;
            t.equal_by_options += g.equal_by_options;
            t
        })
    }
}

/// One difference, handed to a [`Sink`].
#[derive(Debug)]
pub struct Found<'a> {
    /// Added (only in B), removed (only in A) or changed.
    pub op: DiffOp,
    /// Its group.
    pub group: &'a GroupKey,
    /// Its identity (table and canonical key, or Redis key), as
    /// [`crate::entry::Entry::ident`].
    pub ident: &'a [u8],
    /// A's lines.
    pub left: Option<&'a [u8]>,
    /// B's lines.
    pub right: Option<&'a [u8]>,
    /// Changed columns / fields.
    pub fields: Vec<String>,
}

/// Receives the differences.
pub trait Sink {
    /// One difference; `left_info`/`right_info` hold each side's schemas.
    fn found(&mut self, found: Found<'_>, left_info: &SideInfo, right_info: &SideInfo) -> anyhow::Result<()>;
}

/// Memory and temporary-file settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How records are keyed and compared.
    pub compare: CompareOptions,
    /// Bytes of A held in memory before partitioning to disk.
    pub memory_limit: usize,
    /// Where temporary partitions go (default: the system temp dir).
    pub temp_dir: Option<PathBuf>,
    /// Partitions per level.
    pub fanout: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { compare: CompareOptions::default(), memory_limit: 32 << 20, temp_dir: None, fanout: 64 }
    }
}

#[derive(Debug)]
struct Stored {
    group: u32,
    content: [u8; 32],
    strict: [u8; 32],
    lines: Vec<u8>,
}

/// Per-entry overhead of the map beyond its bytes (hash table slot, Vec
/// headers, allocator rounding), used for the memory accounting.
const ENTRY_OVERHEAD: usize = 112;

#[derive(Debug, Default)]
struct Groups {
    names: Vec<GroupKey>,
    index: HashMap<GroupKey, u32>,
}

impl Groups {
    fn id(&mut self, g: &GroupKey) -> u32 {
        if let Some(i) = self.index.get(g) {
            return *i;
        }
        let i = self.names.len() as u32;
        self.names.push(g.clone());
        self.index.insert(g.clone(), i);
        i
    }
}

#[derive(Debug, Default)]
struct Matcher {
    map: HashMap<Vec<u8>, Vec<Stored>>,
    mem: usize,
    groups: Groups,
    stats: BTreeMap<GroupKey, GroupStats>,
}

impl Matcher {
    fn insert_left(&mut self, ident: Vec<u8>, stored: Stored) {
        self.mem += ident.len() + stored.lines.len() + ENTRY_OVERHEAD;
        self.map.entry(ident).or_default().push(stored);
    }

    #[allow(clippy::too_many_arguments)]
    fn right(
        &mut self,
        ident: &[u8],
        group: u32,
        (content, strict): (&[u8; 32], &[u8; 32]),
        lines: &[u8],
        opts: &CompareOptions,
        infos: (&SideInfo, &SideInfo),
        sink: &mut dyn Sink,
    ) -> anyhow::Result<()> {
        let gname = self.groups.names[group as usize].clone();
        let slot = self.map.get_mut(ident);
        let Some(list) = slot.filter(|l| !l.is_empty()) else {
            self.stats.entry(gname.clone()).or_default().added += 1;
            let found =
                Found { op: DiffOp::Added, group: &gname, ident, left: None, right: Some(lines), fields: Vec::new() };
            return sink.found(found, infos.0, infos.1);
        };
        let pos = list.iter().position(|s| &s.content == content).unwrap_or(0);
        let left = list.swap_remove(pos);
        if list.is_empty() {
            self.map.remove(ident);
        }
        self.mem = self.mem.saturating_sub(ident.len() + left.lines.len() + ENTRY_OVERHEAD);
        let stats = self.stats.entry(gname.clone()).or_default();
        if &left.content == content {
            stats.equal += 1;
            if &left.strict != strict {
                stats.equal_by_options += 1;
            }
            return Ok(());
        }
        let (l, r) = (decode_lines(&left.lines)?, decode_lines(lines)?);
        let (lt, rt) = (table_types(infos.0, &l), table_types(infos.1, &r));
        let fields = changed_fields(&l, &r, lt, rt, opts);
        if fields.is_empty() {
            stats.equal += 1;
            return Ok(());
        }
        stats.changed += 1;
        let found =
            Found { op: DiffOp::Changed, group: &gname, ident, left: Some(&left.lines), right: Some(lines), fields };
        sink.found(found, infos.0, infos.1)
    }

    /// Reports what is left of A as removed, in identity order.
    fn drain_removed(&mut self, infos: (&SideInfo, &SideInfo), sink: &mut dyn Sink) -> anyhow::Result<()> {
        let mut rest: Vec<(Vec<u8>, Vec<Stored>)> = self.map.drain().collect();
        rest.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.mem = 0;
        for (ident, list) in rest {
            for s in list {
                let gname = self.groups.names[s.group as usize].clone();
                self.stats.entry(gname.clone()).or_default().removed += 1;
                let found = Found {
                    op: DiffOp::Removed,
                    group: &gname,
                    ident: &ident,
                    left: Some(&s.lines),
                    right: None,
                    fields: Vec::new(),
                };
                sink.found(found, infos.0, infos.1)?;
            }
        }
        Ok(())
    }
}

fn table_types<'a>(
    info: &'a SideInfo,
    r: &decant_record::Record,
) -> Option<&'a HashMap<String, decant_record::digest::CanonType>> {
    match r {
        decant_record::Record::Row(row) => info.types.get(&row.table),
        _ => None,
    }
}

/// Compares A with B, reporting every difference to `sink`.
pub fn diff(
    mut left: EntryReader,
    mut right: EntryReader,
    config: &EngineConfig,
    sink: &mut dyn Sink,
) -> anyhow::Result<DiffStats> {
    let opts = &config.compare;
    let mut m = Matcher::default();
    let mut spill_from: Option<Entry> = None;
    while let Some(e) = left.next_entry()? {
        let g = m.groups.id(&e.group);
        m.stats.entry(e.group.clone()).or_default().left += 1;
        if m.mem + e.ident.len() + e.lines.len() + ENTRY_OVERHEAD > config.memory_limit && !m.map.is_empty() {
            spill_from = Some(e);
            break;
        }
        m.insert_left(e.ident, Stored { group: g, content: e.content, strict: e.strict, lines: e.lines });
    }
    let Some(first_spilled) = spill_from else {
        // A fits: stream B against it.
        while let Some(e) = right.next_entry()? {
            let g = m.groups.id(&e.group);
            m.stats.entry(e.group.clone()).or_default().right += 1;
            m.right(&e.ident, g, (&e.content, &e.strict), &e.lines, opts, (&left.info, &right.info), sink)?;
        }
        m.drain_removed((&left.info, &right.info), sink)?;
        let declared_tables = declared_tables(&left, &right);
        left.finish()?;
        right.finish()?;
        return Ok(DiffStats { groups: m.stats, spilled: false, declared_tables });
    };

    // A does not fit: partition both sides.
    let dir = match &config.temp_dir {
        Some(d) => tempfile::Builder::new().prefix("decant-diff-").tempdir_in(d),
        None => tempfile::Builder::new().prefix("decant-diff-").tempdir(),
    }
    .context("creating a temporary directory for partitions (set --temp-dir)")?;
    let fanout = config.fanout.max(2);
    let mut lparts = Partitions::create(dir.path(), "a", fanout, 0)?;
    for (ident, list) in std::mem::take(&mut m.map) {
        for s in list {
            lparts.write(&ident, s.group, (&s.content, &s.strict), &s.lines)?;
        }
    }
    m.mem = 0;
    let g = m.groups.id(&first_spilled.group);
    lparts.write(&first_spilled.ident, g, (&first_spilled.content, &first_spilled.strict), &first_spilled.lines)?;
    while let Some(e) = left.next_entry()? {
        let g = m.groups.id(&e.group);
        m.stats.entry(e.group.clone()).or_default().left += 1;
        lparts.write(&e.ident, g, (&e.content, &e.strict), &e.lines)?;
    }
    let lpaths = lparts.finish()?;
    let mut rparts = Partitions::create(dir.path(), "b", fanout, 0)?;
    while let Some(e) = right.next_entry()? {
        let g = m.groups.id(&e.group);
        m.stats.entry(e.group.clone()).or_default().right += 1;
        rparts.write(&e.ident, g, (&e.content, &e.strict), &e.lines)?;
    }
    let rpaths = rparts.finish()?;
    let infos = (&left.info, &right.info);
    for (lp, rp) in lpaths.iter().zip(&rpaths) {
        compare_partition(&mut m, lp, rp, 1, dir.path(), config, infos, sink)?;
    }
    let declared_tables = declared_tables(&left, &right);
    left.finish()?;
    right.finish()?;
    Ok(DiffStats { groups: m.stats, spilled: true, declared_tables })
}

fn declared_tables(left: &EntryReader, right: &EntryReader) -> std::collections::BTreeSet<String> {
    left.info.schemas.iter().chain(&right.info.schemas).map(|s| s.table.clone()).collect()
}

#[allow(clippy::too_many_arguments)]
fn compare_partition(
    m: &mut Matcher,
    lpath: &Path,
    rpath: &Path,
    depth: u32,
    dir: &Path,
    config: &EngineConfig,
    infos: (&SideInfo, &SideInfo),
    sink: &mut dyn Sink,
) -> anyhow::Result<()> {
    let mut frames = FrameReader::open(lpath)?;
    let mut too_big = false;
    while let Some(f) = frames.next()? {
        if m.mem + f.ident.len() + f.lines.len() + ENTRY_OVERHEAD > config.memory_limit && depth < 6 {
            too_big = true;
            break;
        }
        m.insert_left(f.ident, Stored { group: f.group, content: f.content, strict: f.strict, lines: f.lines });
    }
    if too_big {
        // Split this partition again with another seed.
        m.map.clear();
        m.mem = 0;
        let fanout = config.fanout.max(2);
        let tag = format!("d{depth}-{}", lpath.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
        let mut lparts = Partitions::create(dir, &format!("{tag}-a"), fanout, depth)?;
        let mut frames = FrameReader::open(lpath)?;
        while let Some(f) = frames.next()? {
            lparts.write(&f.ident, f.group, (&f.content, &f.strict), &f.lines)?;
        }
        let mut rparts = Partitions::create(dir, &format!("{tag}-b"), fanout, depth)?;
        let mut frames = FrameReader::open(rpath)?;
        while let Some(f) = frames.next()? {
            rparts.write(&f.ident, f.group, (&f.content, &f.strict), &f.lines)?;
        }
        let (lp, rp) = (lparts.finish()?, rparts.finish()?);
        let _ = std::fs::remove_file(lpath);
        let _ = std::fs::remove_file(rpath);
        for (a, b) in lp.iter().zip(&rp) {
            compare_partition(m, a, b, depth + 1, dir, config, infos, sink)?;
        }
        return Ok(());
    }
    let mut frames = FrameReader::open(rpath)?;
    while let Some(f) = frames.next()? {
        m.right(&f.ident, f.group, (&f.content, &f.strict), &f.lines, &config.compare, infos, sink)?;
    }
    m.drain_removed(infos, sink)?;
    let _ = std::fs::remove_file(lpath);
    let _ = std::fs::remove_file(rpath);
    Ok(())
}

/// Partition files being written.
struct Partitions {
    paths: Vec<PathBuf>,
    files: Vec<BufWriter<File>>,
    seed: u32,
}

impl Partitions {
    fn create(dir: &Path, prefix: &str, n: usize, seed: u32) -> anyhow::Result<Partitions> {
        let mut paths = Vec::with_capacity(n);
        let mut files = Vec::with_capacity(n);
        for i in 0..n {
            let p = dir.join(format!("{prefix}-{i}"));
            let f = File::create(&p).with_context(|| format!("creating partition {}", p.display()))?;
            files.push(BufWriter::with_capacity(32 << 10, f));
            paths.push(p);
        }
        Ok(Partitions { paths, files, seed })
    }

    fn write(
        &mut self,
        ident: &[u8],
        group: u32,
        (content, strict): (&[u8; 32], &[u8; 32]),
        lines: &[u8],
    ) -> anyhow::Result<()> {
        let mut h = blake3::Hasher::new();
        h.update(&self.seed.to_le_bytes());
        h.update(ident);
        let hash = h.finalize();
        let mut word = [0u8; 8];
        word.copy_from_slice(&hash.as_bytes()[..8]);
        let i = (u64::from_le_bytes(word) % self.files.len() as u64) as usize;
        let f = &mut self.files[i];
        let res = (|| -> std::io::Result<()> {
            f.write_all(&group.to_le_bytes())?;
            f.write_all(&(ident.len() as u32).to_le_bytes())?;
            f.write_all(ident)?;
            f.write_all(content)?;
            f.write_all(strict)?;
            f.write_all(&(lines.len() as u64).to_le_bytes())?;
            f.write_all(lines)
        })();
        res.with_context(|| {
            format!("writing partition {} (is the temp dir full? set --temp-dir)", self.paths[i].display())
        })
    }

    fn finish(self) -> anyhow::Result<Vec<PathBuf>> {
        for (mut f, p) in self.files.into_iter().zip(&self.paths) {
            f.flush().with_context(|| format!("writing partition {}", p.display()))?;
        }
        Ok(self.paths)
    }
}

struct Frame {
    group: u32,
    ident: Vec<u8>,
    content: [u8; 32],
    strict: [u8; 32],
    lines: Vec<u8>,
}

struct FrameReader {
    r: BufReader<File>,
    path: PathBuf,
}

impl FrameReader {
    fn open(path: &Path) -> anyhow::Result<FrameReader> {
        let f = File::open(path).with_context(|| format!("opening partition {}", path.display()))?;
        Ok(FrameReader { r: BufReader::with_capacity(64 << 10, f), path: path.to_owned() })
    }

    #[allow(clippy::should_implement_trait)]
    fn next(&mut self) -> anyhow::Result<Option<Frame>> {
        let mut head = [0u8; 4];
        match self.r.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading partition {}", self.path.display())),
        }
        let res = (|| -> std::io::Result<Frame> {
            let group = u32::from_le_bytes(head);
            let mut n4 = [0u8; 4];
            self.r.read_exact(&mut n4)?;
            let mut ident = vec![0u8; u32::from_le_bytes(n4) as usize];
            self.r.read_exact(&mut ident)?;
            let mut content = [0u8; 32];
            self.r.read_exact(&mut content)?;
            let mut strict = [0u8; 32];
            self.r.read_exact(&mut strict)?;
            let mut n8 = [0u8; 8];
            self.r.read_exact(&mut n8)?;
            let mut lines = vec![0u8; u64::from_le_bytes(n8) as usize];
            self.r.read_exact(&mut lines)?;
            Ok(Frame { group, ident, content, strict, lines })
        })();
        res.map(Some).with_context(|| format!("reading partition {}", self.path.display()))
    }
}
