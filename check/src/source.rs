//! Where records come from for the checking tools: a file (plain or `.zst`),
//! stdin, or a live store named by URL.
//!
//! `decant-checksum`, `decant-diff` and `decant-verify` all open their inputs
//! here. A live URL is read by running the store's exporter (`redis-export`,
//! `mysql-export`, `pg-export`, `sqlite-export`) as a child process and reading
//! its stdout, exactly as a user would pipe it. That is deliberate:
//!
//! - the exporters own the hard parts (consistent snapshots, SCAN over a
//!   cluster, big keys in parts, the exact value encodings of every column
//!   type), and a comparison is only meaningful if it sees the same records an
//!   export would produce — one code path, not two that may drift apart;
//! - a child process keeps the store drivers (and their runtime) out of the
//!   checking tools, and a crash or hang in a driver cannot corrupt a
//!   comparison: a non-zero exit of the exporter is an error here;
//! - the stream between them is checked like any other (the exporter seals it
//!   with an `end` trailer, and the reader verifies it).
//!
//! The exporter is looked up next to the running executable first (where
//! `cargo build` and the install put all decant binaries), then on `PATH`. The
//! URL, with its password, is handed over in the child's `SOURCE_URL`
//! environment variable, never on its command line where `ps` would show it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context as _};
use decant_record::conn::{ConnUrl, Role, Store};
use decant_record::digest::{CanonicalOptions, ContentDigest, GroupKey};
use decant_record::io::{open_input, Input};
use decant_record::parallel::{digest_stream, Parallelism};
use decant_record::reader::{ReaderOptions, DEFAULT_MAX_LINE_BYTES};
use decant_record::{ReadError, Record, RecordReader, SegmentInfo};

/// An input named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `-`: standard input.
    Stdin,
    /// A file (zstd detected by content).
    File(PathBuf),
    /// A live store: `redis://`, `rediss://`, `mysql://`, `mariadb://`,
    /// `postgres://`, `postgresql://`, `sqlite://`.
    Url(String),
}

impl SourceSpec {
    /// Reads an argument: `-` is stdin, a known store URL scheme is a live
    /// store, anything else is a file name.
    pub fn parse(text: &str) -> SourceSpec {
        if text == "-" {
            return SourceSpec::Stdin;
        }
        if let Some((scheme, _)) = text.split_once("://") {
            if Store::from_scheme(&scheme.to_ascii_lowercase()).is_some() {
                return SourceSpec::Url(text.to_owned());
            }
        }
        SourceSpec::File(PathBuf::from(text))
    }

    /// True for a live store.
    pub fn is_live(&self) -> bool {
        matches!(self, SourceSpec::Url(_))
    }

    /// The name shown in reports (a URL without its password).
    pub fn display_name(&self) -> String {
        match self {
            SourceSpec::Stdin => "-".to_owned(),
            SourceSpec::File(p) => p.display().to_string(),
            SourceSpec::Url(u) => decant_record::conn::redact_url_text(u),
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_name())
    }
}

/// How sources are read: live stores through their exporters, and files.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Read only this share of a live store: the exporter's `--shard I/N`,
    /// so the records are exactly those `EXPORTER --shard I/N` exports.
    pub shard: Option<decant_record::Shard>,
    /// Accept a stream that begins with a header but lacks its `end`
    /// trailer (`--allow-unsealed`).
    pub allow_unsealed: bool,
    /// SQL stores: only these tables (passed to the exporter's `--tables`).
    pub tables: Vec<String>,
    /// A table of `tables` this side lacks is no error for its exporter
    /// (`--skip-missing-tables`): the comparison shows it as one-sided.
    pub skip_missing_tables: bool,
    /// Redis: only keys matching these patterns (the exporter's `--match`).
    pub matches: Vec<String>,
    /// SQL stores: row filters, `TABLE:CONDITION` (the exporter's `--where`).
    pub wheres: Vec<String>,
    /// Read the password from this file (first line).
    pub password_file: Option<PathBuf>,
    /// The exporter's own directory, when not next to this executable
    /// (tests, unusual installs).
    pub exporter_dir: Option<PathBuf>,
    /// SQL stores: only rows changed since a watermark (the exporter's
    /// `--since`).
    pub since: Option<SinceRead>,
}

/// `--since` for a live SQL side: the exporter reads the watermarks of
/// `state`, and writes the new ones to `out` when it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinceRead {
    /// The column.
    pub column: String,
    /// The watermarks to read past.
    pub state: PathBuf,
    /// Where the exporter writes the watermarks of what it read.
    pub out: PathBuf,
    /// `--since-overlap`, as given.
    pub overlap: Option<String>,
}

impl LiveOptions {
    /// Options for reading a live side limited to `tables` / `matches`, with
    /// its password from `password_file`.
    pub fn new(tables: &[String], matches: &[String], password_file: Option<&PathBuf>) -> LiveOptions {
        LiveOptions {
            tables: tables.to_vec(),
            matches: matches.to_vec(),
            password_file: password_file.cloned(),
            ..LiveOptions::default()
        }
    }
}

/// The exporter binary for a store (from the store registry).
pub fn exporter_name(store: Store) -> &'static str {
    store.info().exporter
}

/// Finds a decant binary: next to the running executable, then on `PATH`.
pub fn find_sibling_binary(name: &str, dir: Option<&Path>) -> PathBuf {
    let mut candidates = Vec::new();
    if let Some(d) = dir {
        candidates.push(d.join(name));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(d) = exe.parent() {
            candidates.push(d.join(name));
            // Test binaries live in target/<profile>/deps.
            if d.file_name().is_some_and(|n| n == "deps") {
                if let Some(up) = d.parent() {
                    candidates.push(up.join(name));
                }
            }
        }
    }
    candidates.into_iter().find(|p| p.is_file()).unwrap_or_else(|| PathBuf::from(name))
}

/// An open input: records one at a time, with the stream's trailer checks.
pub struct Source {
    name: String,
    reader: RecordReader<Input>,
    child: Option<(Child, String)>,
    /// Forwards the exporter's stderr ([`say_once`]); joined when it ends.
    stderr_relay: Option<std::thread::JoinHandle<()>>,
}

/// Writes a line on stderr unless this process wrote the same line before.
/// A checker reads a live side more than once (decant-verify: the counts,
/// the spot checks, the keyed pass), so the exporter's warnings about that
/// side (a clause it cannot carry, an index it skips) would repeat.
pub fn say_once(line: &str) {
    static SEEN: std::sync::Mutex<Option<std::collections::HashSet<String>>> = std::sync::Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.get_or_insert_with(Default::default).insert(line.to_owned()) {
        // Through the one stderr writer, so --log-format json holds for
        // these lines too (a child's JSON line passes through as it is).
        decant_record::cli::log_lines("warn", line);
    }
}

/// Relays a child's stderr, each distinct line once.
fn relay_stderr(child: &mut Child) -> Option<std::thread::JoinHandle<()>> {
    use std::io::BufRead as _;
    let err = child.stderr.take()?;
    std::thread::Builder::new()
        .name("exporter-stderr".into())
        .spawn(move || {
            for line in BufReader::new(err).lines() {
                match line {
                    Ok(l) => say_once(&l),
                    Err(_) => break,
                }
            }
        })
        .ok()
}

/// Why a source failed while being read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The stream itself is bad: malformed line, altered or truncated.
    #[error("{name}: {source}")]
    Stream {
        /// The source's display name.
        name: String,
        /// The reader's error.
        #[source]
        source: ReadError,
    },
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source").field("name", &self.name).field("line", &self.reader.line_number()).finish()
    }
}

impl Source {
    /// Opens a source.
    pub fn open(spec: &SourceSpec, live: &LiveOptions) -> anyhow::Result<Source> {
        Self::open_with(spec, live, DEFAULT_MAX_LINE_BYTES)
    }

    /// Opens a source with a line-length cap.
    pub fn open_with(spec: &SourceSpec, live: &LiveOptions, max_line_bytes: usize) -> anyhow::Result<Source> {
        let options = ReaderOptions { max_line_bytes, allow_unsealed: live.allow_unsealed, ..ReaderOptions::default() };
        let name = spec.display_name();
        match spec {
            SourceSpec::Stdin => {
                let input = open_input(None).context("opening stdin")?;
                Ok(Source { name, reader: RecordReader::with_options(input, options), child: None, stderr_relay: None })
            }
            SourceSpec::File(path) => {
                let input = open_input(Some(path)).with_context(|| format!("opening {}", path.display()))?;
                Ok(Source { name, reader: RecordReader::with_options(input, options), child: None, stderr_relay: None })
            }
            SourceSpec::Url(text) => {
                let url = ConnUrl::resolve(Some(text), live.password_file.as_deref(), Role::Source, false)
                    .with_context(|| format!("bad URL {name}"))?;
                let exporter = exporter_name(url.store());
                let program = find_sibling_binary(exporter, live.exporter_dir.as_deref());
                let mut cmd = Command::new(&program);
                cmd.env("SOURCE_URL", url.expose())
                    .env_remove("SOURCE_REDIS_HOST")
                    .arg("--quiet")
                    .args(live.shard.filter(|s| !s.is_whole()).map(|s| format!("--shard={s}")))
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                // Each filter goes to the exporters that take it; the
                // checkers' flags name the stores each one is for.
                let caps = url.store().capabilities();
                if caps.opaque_payloads {
                    // A module key's value has no other form than its
                    // payload: without it the exporter names the key and
                    // fails, and a changed module value would go unseen.
                    cmd.arg("--dump-modules");
                }
                if caps.match_filter {
                    for m in &live.matches {
                        cmd.arg("--match").arg(m);
                    }
                }
                if caps.tables_filter && !live.tables.is_empty() {
                    cmd.arg("--tables").arg(live.tables.join(","));
                    if live.skip_missing_tables {
                        cmd.arg("--skip-missing-tables");
                    }
                }
                if caps.where_filter {
                    for w in &live.wheres {
                        cmd.arg("--where").arg(w);
                    }
                    // --since is an SQL exporter's, as --where is.
                    if let Some(since) = &live.since {
                        cmd.arg("--since").arg(&since.column).arg("--state").arg(&since.state);
                        cmd.arg("--state-out").arg(&since.out);
                        if let Some(o) = &since.overlap {
                            cmd.arg("--since-overlap").arg(o);
                        }
                    }
                }
                let mut child = cmd.spawn().with_context(|| {
                    format!(
                        "reading {name}: cannot run {exporter} ({}); decant-checksum, decant-diff and decant-verify read live stores through the exporters, install them next to this program or on PATH",
                        program.display()
                    )
                })?;
                let stdout = child.stdout.take().context("exporter stdout")?;
                let stderr_relay = relay_stderr(&mut child);
                let input: Input = Box::new(BufReader::with_capacity(256 << 10, stdout));
                Ok(Source {
                    name,
                    reader: RecordReader::with_options(input, options),
                    child: Some((child, exporter.to_owned())),
                    stderr_relay,
                })
            }
        }
    }

    /// A source with no records (a side that has none of the tables asked for).
    pub fn empty(name: impl Into<String>) -> Source {
        let input: Input = Box::new(std::io::empty());
        // No bytes is this source's whole content, not a stream cut short
        // (which the default options refuse).
        let options = ReaderOptions { allow_unsealed: true, ..ReaderOptions::default() };
        let reader = RecordReader::with_options(input, options);
        Source { name: name.into(), reader, child: None, stderr_relay: None }
    }

    /// Wraps an already open reader (tests, stdin with a custom reader).
    pub fn from_reader(name: impl Into<String>, reader: RecordReader<Input>) -> Source {
        Source { name: name.into(), reader, child: None, stderr_relay: None }
    }

    /// The name shown in reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when the records come from a live store's exporter.
    pub fn is_live(&self) -> bool {
        self.child.is_some()
    }

    /// The next record; header and end lines included. Any bad line is an
    /// error here: the checking tools never skip input.
    /// Digests the rest of the source, reading it on `parallelism` threads
    /// ([`digest_stream`]): the digests of the records before the first
    /// error, and that error. After an error the source's segments are
    /// unknown (empty).
    pub fn digest(
        &mut self,
        opts: CanonicalOptions,
        parallelism: Parallelism,
    ) -> (BTreeMap<GroupKey, ContentDigest>, Option<SourceError>) {
        let empty: Input = Box::new(std::io::empty());
        let reader = std::mem::replace(&mut self.reader, RecordReader::new(empty));
        let run = digest_stream(reader, opts, parallelism);
        if let Some(reader) = run.reader {
            self.reader = reader;
        }
        (run.groups, run.error.map(|source| SourceError::Stream { name: self.name.clone(), source }))
    }

    pub fn next_record(&mut self) -> Result<Option<Record>, SourceError> {
        self.reader.next_record().map_err(|source| SourceError::Stream { name: self.name.clone(), source })
    }

    /// The raw bytes of the line last returned.
    pub fn raw_line(&self) -> &[u8] {
        self.reader.raw_line()
    }

    /// The line number of the line last returned.
    pub fn line_number(&self) -> u64 {
        self.reader.line_number()
    }

    /// The segments seen so far (all of them once the input is exhausted).
    pub fn segments(&self) -> &[SegmentInfo] {
        self.reader.segments()
    }

    /// Ends the source: for a live store, waits for the exporter and fails if
    /// it failed (its own messages are already on stderr).
    pub fn finish(mut self) -> anyhow::Result<Vec<SegmentInfo>> {
        let segments = self.reader.segments().to_vec();
        if let Some((mut child, exporter)) = self.child.take() {
            let status = child.wait().with_context(|| format!("waiting for {exporter}"))?;
            if let Some(relay) = self.stderr_relay.take() {
                // Its last words are on stderr before ours.
                let _ = relay.join();
            }
            if !status.success() {
                bail!("{}: {exporter} failed ({status}); see its message above", self.name);
            }
        }
        Ok(segments)
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        if let Some((child, _)) = self.child.as_mut() {
            // Abandoned mid-stream (an error elsewhere): do not leave the
            // exporter running against the store.
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(relay) = self.stderr_relay.take() {
            let _ = relay.join();
        }
    }
}

/// The segments summarised as one status word: `sealed` when every segment
/// ended with a matching `end` line (and there was at least one), else
/// `unsealed`.
pub fn seal_status(segments: &[SegmentInfo]) -> &'static str {
    if !segments.is_empty() && segments.iter().all(|s| s.sealed) {
        "sealed"
    } else {
        "unsealed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(SourceSpec::parse("-"), SourceSpec::Stdin);
        assert_eq!(SourceSpec::parse("a.ndjson.zst"), SourceSpec::File("a.ndjson.zst".into()));
        assert!(SourceSpec::parse("postgres://u:secret@h/db").is_live());
        assert!(SourceSpec::parse("REDIS://h:1/0").is_live());
        assert!(!SourceSpec::parse("ftp://x/y").is_live());
        assert!(!SourceSpec::parse("postgres://u:secret@h/db").display_name().contains("secret"));
    }
}
