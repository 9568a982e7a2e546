//! Checksums of inputs, the checksum-file wire format, and `--check`.
//!
//! # The checksum file (wire format `decant-checksum/1`)
//!
//! ```text
//! # decant-checksum/1
//! # options: --time-precision=3
//! sealed  reline.ndjson.zst
//! 5f0c…(64 hex)…9ad1  1000  table:operators
//! 0e41…(64 hex)…77b2  0  table:empty_table
//! live  redis://cache:6379/0
//! 91aa…(64 hex)…03c4  42  keys:apikey
//! ```
//!
//! - `# decant-checksum/1` is the first line; other lines starting with `#`
//!   are comments, except `# options: FLAGS`, which records the normalisation
//!   flags the digests were computed with (so `--check` uses the same ones).
//! - An input line, `STATUS  SOURCE` (two spaces), opens each input's
//!   section. STATUS is `sealed` (every segment of the stream ended with a
//!   matching `end` trailer), `unsealed` (no trailer: a pipe from another tool,
//!   or a truncated file), `live` (a store read through its exporter) or
//!   `broken` (the stream is altered or unreadable; the reason follows as a
//!   `# ` comment line).
//! - A group line, `DIGEST  COUNT  GROUP`: 64 lowercase hex digits of the
//!   order-independent content digest (docs/format.md §3), the number of records
//!   (rows, or whole Redis keys), and the group: `table:NAME` or
//!   `keys:GROUP`. Groups are sorted by name.
//! - `# shard: I/N` right after an input line says the input is share I of N
//!   of a `--shard` export (its stream header said so); each of its group
//!   lines is then followed by `# sum: HEX`, the raw 256-bit sum behind the
//!   digest, so `decant-checksum --combine` can add the shares' sums up.
//!   Readers of `decant-checksum/1` that do not know these comments skip them.
//! - In SOURCE and GROUP, a backslash, a newline and a carriage return are
//!   written `\\`, `\n` and `\r`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Context as _;
use decant_record::digest::{ContentDigest, GroupKey};
use decant_record::parallel::{default_threads, Parallelism};
use decant_record::{ReadError, Shard};

use decant_check::canon::CanonicalArgs;
use decant_check::source::{seal_status, LiveOptions, Source, SourceError, SourceSpec};

/// The first line of a checksum file.
pub const MAGIC: &str = "# decant-checksum/1";

/// The state of an input, as written in its input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputStatus {
    /// Every segment ended with a matching `end` line.
    Sealed,
    /// Some segment has no `end` line.
    Unsealed,
    /// A live store, read through its exporter.
    Live,
    /// The stream is altered, malformed or unreadable (the reason).
    Broken(String),
}

impl InputStatus {
    /// The word written in the checksum file.
    pub fn word(&self) -> &'static str {
        match self {
            InputStatus::Sealed => "sealed",
            InputStatus::Unsealed => "unsealed",
            InputStatus::Live => "live",
            InputStatus::Broken(_) => "broken",
        }
    }
}

/// The digests of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSums {
    /// The input as named (a URL without its password).
    pub source: String,
    /// Sealed, unsealed, live or broken.
    pub status: InputStatus,
    /// Digest per table / key group.
    pub groups: BTreeMap<GroupKey, ContentDigest>,
    /// The share of a `--shard` export this input holds (from its header).
    pub shard: Option<Shard>,
}

/// Options of a checksum run.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Normalisations.
    pub canon: CanonicalArgs,
    /// How live stores are read.
    pub live: LiveOptions,
    /// Line-length cap.
    pub max_line_bytes: usize,
    /// Worker threads for reading a stream (0: one per core; 1: the calling
    /// thread only).
    pub threads: usize,
}

/// Digests one input. A bad stream (malformed line, trailer mismatch,
/// corrupt compression) is reported as [`InputStatus::Broken`]; failing to
/// open it, or a failed exporter, is an error.
pub fn checksum(spec: &SourceSpec, config: &Config) -> anyhow::Result<InputSums> {
    let max =
        if config.max_line_bytes == 0 { decant_record::reader::DEFAULT_MAX_LINE_BYTES } else { config.max_line_bytes };
    let mut source = Source::open_with(spec, &config.live, max)?;
    let threads = if config.threads == 0 { default_threads() } else { config.threads };
    let (groups, broken) = source.digest(config.canon.options(), Parallelism::new(threads));
    // Not a decant stream at all, or cut short: no digest of it means
    // anything, so this is an error (exit 2), not a "broken" status line.
    if let Some(SourceError::Stream {
        name,
        source: e @ (ReadError::NotDecant { .. } | ReadError::CutShort { .. } | ReadError::Empty),
    }) = broken
    {
        return Err(anyhow::Error::new(e).context(name));
    }
    let broken = broken.map(|SourceError::Stream { source: e, .. }| e.to_string());
    let live = source.is_live();
    let segments = source.finish()?;
    // A share only when every segment's header names the same one.
    let shards: Vec<Option<Shard>> = segments.iter().map(|s| s.header.as_ref().and_then(|h| h.shard)).collect();
    let shard = shards.first().copied().flatten().filter(|first| shards.iter().all(|s| *s == Some(*first)));
    let status = match broken {
        Some(reason) => InputStatus::Broken(reason),
        None if live => InputStatus::Live,
        None if seal_status(&segments) == "sealed" => InputStatus::Sealed,
        None => InputStatus::Unsealed,
    };
    Ok(InputSums { source: spec.display_name(), status, groups, shard })
}

/// Escapes a name for the checksum file.
pub fn escape(name: &str) -> String {
    if !name.contains(['\\', '\n', '\r']) {
        return name.to_owned();
    }
    name.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}

/// Reverses [`escape`].
pub fn unescape(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The checksum file's first lines: the magic line and the options.
pub fn render_preamble(canon: &CanonicalArgs) -> String {
    let mut out = format!("{MAGIC}\n");
    let flags = canon.to_flags();
    if !flags.is_empty() {
        let _ = writeln!(out, "# options: {}", flags.join(" "));
    }
    out
}

/// One input's section of the checksum file.
pub fn render_input(sums: &InputSums) -> String {
    let mut out = format!("{}  {}\n", sums.status.word(), escape(&sums.source));
    if let InputStatus::Broken(reason) = &sums.status {
        for line in reason.lines() {
            let _ = writeln!(out, "# {line}");
        }
    }
    if let Some(shard) = sums.shard {
        let _ = writeln!(out, "# shard: {shard}");
    }
    for (group, digest) in &sums.groups {
        let _ = writeln!(out, "{}  {}  {}", digest.hex(), digest.count, escape(&group.to_string()));
        if sums.shard.is_some() {
            let _ = writeln!(out, "# sum: {}", digest.sum_hex());
        }
    }
    out
}

/// One group as saved in a checksum file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedGroup {
    /// 64 hex digits.
    pub digest: String,
    /// Record count.
    pub count: u64,
    /// The raw sum (`# sum:` line), kept for shares of a sharded export.
    pub sum: Option<String>,
}

/// One input's section as saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedInput {
    /// Line number of its input line.
    pub line: usize,
    /// `sealed`, `unsealed`, `live` or `broken`.
    pub status: String,
    /// The source as written.
    pub source: String,
    /// Its groups.
    pub groups: BTreeMap<GroupKey, SavedGroup>,
    /// Its share (`# shard:` line), for a share of a sharded export.
    pub shard: Option<Shard>,
    /// The group whose `# sum:` line may follow.
    last_group: Option<GroupKey>,
}

/// A parsed checksum file.
#[derive(Debug, Clone, Default)]
pub struct ChecksumFile {
    /// The normalisation flags it was computed with.
    pub options: Vec<String>,
    /// The inputs in file order.
    pub inputs: Vec<SavedInput>,
}

/// Why a checksum file cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses a checksum file (the output of `decant-checksum`).
pub fn parse_checksum_file(text: &str) -> Result<ChecksumFile, ParseError> {
    let mut file = ChecksumFile::default();
    let mut saw_magic = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |message: String| ParseError { line: line_no, message };
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            if comment == &MAGIC[2..] {
                saw_magic = true;
            } else if let Some(flags) = comment.strip_prefix("options:") {
                file.options = flags.split_whitespace().map(str::to_owned).collect();
            } else if let Some(share) = comment.strip_prefix("shard:") {
                let input =
                    file.inputs.last_mut().ok_or_else(|| err("a # shard: line before any input line".into()))?;
                input.shard = Some(share.trim().parse().map_err(err)?);
            } else if let Some(sum) = comment.strip_prefix("sum:") {
                let input = file.inputs.last_mut().ok_or_else(|| err("a # sum: line before any input line".into()))?;
                let group =
                    input.last_group.as_ref().ok_or_else(|| err("a # sum: line before any group line".into()))?;
                let sum = sum.trim();
                if !is_hex64(sum) {
                    return Err(err(format!("bad sum {sum:?}: expected 64 hex digits")));
                }
                input.groups.get_mut(group).expect("last group inserted").sum = Some(sum.to_owned());
            } else if comment.starts_with("decant-checksum/") {
                return Err(err(format!(
                    "unsupported checksum file version {comment:?} (this program reads decant-checksum/1)"
                )));
            }
            continue;
        }
        if !saw_magic {
            return Err(err(format!("not a decant-checksum file: the first line must be {MAGIC:?}")));
        }
        let mut parts = line.splitn(3, "  ");
        let first = parts.next().unwrap_or_default();
        if is_hex64(first) {
            let (Some(count), Some(group)) = (parts.next(), parts.next()) else {
                return Err(err("expected \"DIGEST  COUNT  GROUP\"".into()));
            };
            let count: u64 = count.parse().map_err(|_| err(format!("bad record count {count:?}")))?;
            let group: GroupKey = unescape(group).parse().map_err(err)?;
            let input = file
                .inputs
                .last_mut()
                .ok_or_else(|| err("a group line before any input line (STATUS  SOURCE)".into()))?;
            if input.groups.insert(group.clone(), SavedGroup { digest: first.to_owned(), count, sum: None }).is_some() {
                return Err(err(format!("group {group} listed twice for {}", input.source)));
            }
            input.last_group = Some(group);
        } else if matches!(first, "sealed" | "unsealed" | "live" | "broken") {
            let rest = line[first.len()..].strip_prefix("  ").unwrap_or_default();
            if rest.is_empty() {
                return Err(err("expected \"STATUS  SOURCE\"".into()));
            }
            file.inputs.push(SavedInput {
                line: line_no,
                status: first.to_owned(),
                source: unescape(rest),
                groups: BTreeMap::new(),
                shard: None,
                last_group: None,
            });
        } else {
            return Err(err(format!(
                "expected \"DIGEST  COUNT  GROUP\" or \"sealed|unsealed|live|broken  SOURCE\", found {:?}",
                line.chars().take(80).collect::<String>()
            )));
        }
    }
    if !saw_magic {
        return Err(ParseError { line: 1, message: format!("not a decant-checksum file: no {MAGIC:?} line") });
    }
    Ok(file)
}

/// Adds up the shares of a sharded export: `files` are `(name, parsed
/// checksum file)`, whose inputs are together shares 0..N of one N. Returns
/// the total as one input (sealed only when every share was), or an error
/// naming a share that is missing, given twice, of another N, broken, or
/// saved without its sums.
pub fn combine(files: &[(String, ChecksumFile)]) -> anyhow::Result<(Vec<String>, InputSums)> {
    let mut options: Option<&Vec<String>> = None;
    let mut shares: BTreeMap<u32, (String, &SavedInput)> = BTreeMap::new();
    let mut count: Option<(u32, String)> = None;
    for (name, file) in files {
        if let Some(first) = options {
            if *first != file.options {
                anyhow::bail!(
                    "{name}: computed with options {:?}, the others with {:?}: recompute with the same flags",
                    file.options.join(" "),
                    first.join(" ")
                );
            }
        }
        options = Some(&file.options);
        if file.inputs.is_empty() {
            anyhow::bail!("{name}: no inputs listed");
        }
        for input in &file.inputs {
            let at = format!("{name} line {} ({})", input.line, input.source);
            let Some(shard) = input.shard else {
                anyhow::bail!(
                    "{at}: not a share of a sharded export (no \"# shard:\" line): checksum the output of an \
                     exporter run with --shard I/N"
                );
            };
            if input.status == "broken" {
                anyhow::bail!("{at}: share {shard} is broken; export it again");
            }
            match &count {
                Some((n, first)) if *n != shard.count() => {
                    anyhow::bail!("{at}: share {shard} is one of {}, but {first} is one of {n}", shard.count())
                }
                Some(_) => {}
                None => count = Some((shard.count(), at.clone())),
            }
            if let Some((other, _)) = shares.insert(shard.index(), (at.clone(), input)) {
                anyhow::bail!("share {shard} given twice: {other} and {at} (overlapping shares)");
            }
        }
    }
    let n = count.map(|(n, _)| n).unwrap_or(0);
    let missing: Vec<String> = (0..n).filter(|i| !shares.contains_key(i)).map(|i| format!("{i}/{n}")).collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "missing share(s) {} of {n}: the total would leave their records out; checksum them too",
            missing.join(", ")
        );
    }
    let mut groups: BTreeMap<GroupKey, ContentDigest> = BTreeMap::new();
    let mut sealed = true;
    let mut sources = Vec::new();
    for (at, input) in shares.values() {
        sealed &= input.status == "sealed" || input.status == "live";
        sources.push(input.source.clone());
        for (group, saved) in &input.groups {
            let part = saved.sum.as_deref().and_then(|sum| ContentDigest::from_sum_hex(saved.count, sum));
            let Some(part) = part.filter(|p| p.hex() == saved.digest) else {
                anyhow::bail!("{at} {group}: no \"# sum:\" line matching its digest: checksum the share again");
            };
            groups.entry(group.clone()).or_default().merge(&part);
        }
    }
    let options = options.cloned().unwrap_or_default();
    let status = if sealed { InputStatus::Sealed } else { InputStatus::Unsealed };
    let source = format!("{n} shares: {}", sources.join(" + "));
    Ok((options, InputSums { source, status, groups, shard: None }))
}

/// The result of re-checking one saved input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The source as saved.
    pub source: String,
    /// One line per finding: `(ok, text)`.
    pub lines: Vec<(bool, String)>,
}

impl CheckResult {
    /// True when every finding is OK.
    pub fn ok(&self) -> bool {
        self.lines.iter().all(|(ok, _)| *ok)
    }
}

/// Re-checks every input of a parsed checksum file. `canon` overrides the
/// file's recorded options when given.
pub fn check(
    file: &ChecksumFile,
    canon: Option<&CanonicalArgs>,
    live: &LiveOptions,
    max_line_bytes: usize,
    threads: usize,
) -> anyhow::Result<Vec<CheckResult>> {
    let canon = match canon {
        Some(c) => c.clone(),
        None => CanonicalArgs::from_flags(&file.options)
            .map_err(|e| anyhow::anyhow!("the checksum file's options line: {e}"))?,
    };
    let config = Config { canon, live: live.clone(), max_line_bytes, threads };
    let mut results = Vec::new();
    for saved in &file.inputs {
        results.push(check_one(saved, &config)?);
    }
    Ok(results)
}

fn check_one(saved: &SavedInput, config: &Config) -> anyhow::Result<CheckResult> {
    let name = &saved.source;
    let mut lines = Vec::new();
    let spec = SourceSpec::parse(name);
    // A live store's share is read again as that share.
    let share_config;
    let config = match saved.shard {
        Some(shard) if spec.is_live() => {
            share_config = Config { live: LiveOptions { shard: Some(shard), ..config.live.clone() }, ..config.clone() };
            &share_config
        }
        _ => config,
    };
    let now = match checksum(&spec, config) {
        Ok(now) => now,
        Err(e) if !spec.is_live() => {
            lines.push((false, format!("{name}: FAILED open or read: {e:#}")));
            return Ok(CheckResult { source: name.clone(), lines });
        }
        Err(e) => return Err(e).with_context(|| format!("checking {name}")),
    };
    match (&now.status, saved.status.as_str()) {
        (InputStatus::Broken(reason), _) => lines.push((false, format!("{name}: FAILED: {reason}"))),
        (InputStatus::Unsealed, "sealed") => lines.push((
            false,
            format!(
                "{name}: FAILED: was sealed, now unsealed (no \"end\" line: the file is truncated or was rewritten)"
            ),
        )),
        (status, _) => lines.push((true, format!("{name}: {} OK", status.word()))),
    }
    for (group, want) in &saved.groups {
        match now.groups.get(group) {
            None => lines.push((false, format!("{name} {group}: FAILED: missing (saved {} records)", want.count))),
            Some(got) if got.count != want.count => {
                lines.push((false, format!("{name} {group}: FAILED: {} records, saved {}", got.count, want.count)))
            }
            Some(got) if got.hex() != want.digest => {
                lines.push((false, format!("{name} {group}: FAILED: content digest differs ({} records)", got.count)))
            }
            Some(_) => lines.push((true, format!("{name} {group}: OK"))),
        }
    }
    for (group, got) in &now.groups {
        if !saved.groups.contains_key(group) {
            lines.push((false, format!("{name} {group}: FAILED: not in the checksum file ({} records)", got.count)));
        }
    }
    Ok(CheckResult { source: name.clone(), lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use decant_record::digest::Digester;
    use decant_record::{Record, Row, RowData, Value};

    #[test]
    fn escape_round_trips() {
        for s in ["plain", "a\\b", "new\nline", "cr\r", "\\n literal"] {
            assert_eq!(unescape(&escape(s)), s);
        }
    }

    #[test]
    fn render_parses_back() {
        let mut d = Digester::new(Default::default());
        d.add(&Record::Row(Row { table: "two  spaces\n".into(), data: RowData(vec![("id".into(), Value::Int(1))]) }));
        let sums =
            InputSums { source: "x y.ndjson".into(), status: InputStatus::Sealed, groups: d.finish(), shard: None };
        let text = render_preamble(&CanonicalArgs::default()) + &render_input(&sums);
        let parsed = parse_checksum_file(&text).unwrap();
        assert_eq!(parsed.inputs.len(), 1);
        let g = &parsed.inputs[0].groups[&GroupKey::Table("two  spaces\n".into())];
        assert_eq!(g.count, 1);
        assert_eq!(g.digest, sums.groups.values().next().unwrap().hex());
        assert!(parse_checksum_file("sealed  x\n").is_err());
        assert!(parse_checksum_file(&format!("{MAGIC}\n{}  1  table:t\n", "0".repeat(64))).is_err());
    }
}
