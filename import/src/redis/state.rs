//! `--state FILE` for `redis-import` (and `dynamodb-import`, which needs
//! only `line`): resumable runs.
//!
//! Redis has no transaction spanning a batch, so the state file is the
//! authority. A new state is recorded just before each batch's writes go
//! out, once the previous batch is acknowledged, and says: every record up to `line` is applied, except the keys listed in
//! `restart`, which may be partly written — the keys of the batch in flight,
//! and a split key whose parts straddle `line`. A resumed run skips the lines
//! up to `line` (or up to the first part of the earliest restart key) and
//! writes each restart key from scratch: deleted first in skip-existing and
//! replace modes (this run created or replaced it), and in merge mode a list
//! is trimmed back to the length it had before this run appended to it and
//! a stream this run created is deleted (hash, set and sorted-set merges and
//! string writes are idempotent; entries appended to a stream that existed
//! before cannot be taken back, and re-adding them is reported for the key).
//! So a run killed at any point continues without duplicates or loss.
//!
//! The file is a log of JSON lines, the last complete one being the state:
//! a state is appended (cheap), and once the log passes [`COMPACT_BYTES`] it
//! is replaced by its last state (temp file + rename). Renaming over a file
//! on every batch made the file system flush each time (ext4 does so to make
//! the replacement durable), which tripled the import's wall time.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use decant_record::Bytes;
use serde::{Deserialize, Serialize};

/// The progress of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The input, as given (`-` for stdin), for messages.
    pub input: String,
    /// blake3 of the input's first line, to refuse another input.
    pub first_line_blake3: String,
    /// Every record up to this input line is applied (but see `restart`).
    pub line: u64,
    /// Keys that may be partly written; rewritten from their first part.
    #[serde(default)]
    pub restart: Vec<RestartKey>,
    /// The run finished.
    #[serde(default)]
    pub finished: bool,
    /// The share of a `--shard i/N` job this run imports (absent: the whole
    /// job): a state file is resumed only by a run of the same share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<decant_record::shard::Shard>,
}

/// A key that may be partly written when the run stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartKey {
    /// The database written to.
    pub db: u32,
    /// The key.
    pub key: Bytes,
    /// The input line of its first part.
    pub line: u64,
    /// Merge mode, lists and streams: the length before this run appended
    /// to it (a stream this run created, length 0, is deleted on resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_len: Option<i64>,
}

impl Progress {
    /// The last line a resumed run skips: the lines after it are read again.
    pub fn resume_after(&self) -> u64 {
        self.restart.iter().map(|r| r.line.saturating_sub(1)).fold(self.line, u64::min)
    }
}

/// The log is compacted to its last state once it grows past this.
pub const COMPACT_BYTES: u64 = 4 << 20;

/// The state file.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    tmp: PathBuf,
    buf: Vec<u8>,
    /// Open for appending, with the bytes it holds.
    log: Option<(File, u64)>,
}

impl StateFile {
    /// The state file at `path`.
    pub fn new(path: &Path) -> StateFile {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp-decant");
        StateFile { path: path.to_owned(), tmp: PathBuf::from(tmp), buf: Vec::new(), log: None }
    }

    /// The file's progress (its last complete line: a run killed while
    /// appending leaves a torn one), or `None` when the file does not exist yet.
    pub fn load(&self) -> anyhow::Result<Option<Progress>> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading state file {}", self.path.display())),
        };
        let last = bytes.split(|&b| b == b'\n').rev().find_map(|l| serde_json::from_slice::<Progress>(l).ok());
        match last {
            Some(p) => Ok(Some(p)),
            None => bail!(
                "state file {} is not a {} state (remove it to start over)",
                self.path.display(),
                decant_record::cli::tool_name()
            ),
        }
    }

    /// Records the progress: appended to the log, or the log replaced
    /// atomically (temp file + rename) by this state once it is long.
    pub fn save(&mut self, p: &Progress) -> anyhow::Result<()> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, p).context("encoding the state")?;
        self.buf.push(b'\n');
        let what = || format!("writing state file {}", self.path.display());
        let len = self.buf.len() as u64;
        match &mut self.log {
            Some((file, size)) if *size + len <= COMPACT_BYTES => {
                file.write_all(&self.buf).with_context(what)?;
                *size += len;
            }
            _ => {
                self.log = None;
                std::fs::write(&self.tmp, &self.buf)
                    .and_then(|_| std::fs::rename(&self.tmp, &self.path))
                    .with_context(what)?;
                let file = std::fs::OpenOptions::new().append(true).open(&self.path).with_context(what)?;
                self.log = Some((file, len));
            }
        }
        Ok(())
    }
}

/// Checks a saved state against this run's input; `Ok(None)` starts afresh.
pub fn check(
    saved: Option<Progress>,
    path: &Path,
    fingerprint: &str,
    share: Option<decant_record::shard::Shard>,
) -> anyhow::Result<Option<Progress>> {
    let Some(saved) = saved else { return Ok(None) };
    decant_record::shard::check_state_share(saved.shard, share, &path.display().to_string())
        .map_err(anyhow::Error::msg)?;
    if saved.first_line_blake3 != fingerprint {
        bail!(
            "state file {} belongs to another input (its first line differs): remove it to start over",
            path.display()
        );
    }
    Ok(Some(saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_resumes_at_the_earliest_restart_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = StateFile::new(&dir.path().join("s.json"));
        assert!(f.load().unwrap().is_none());
        let p = Progress {
            input: "x.ndjson".into(),
            first_line_blake3: "ab".into(),
            line: 40,
            restart: vec![
                RestartKey { db: 0, key: Bytes(vec![0xff, b'k']), line: 35, list_len: Some(3) },
                RestartKey { db: 2, key: "k2".into(), line: 41, list_len: None },
            ],
            finished: false,
            shard: None,
        };
        f.save(&Progress { line: 7, ..p.clone() }).unwrap();
        f.save(&p).unwrap();
        let back = f.load().unwrap().unwrap();
        assert_eq!(back, p);
        // A torn last line (killed while appending): the state before it.
        let mut text = std::fs::read(dir.path().join("s.json")).unwrap();
        text.extend_from_slice(b"{\"input\":\"x.nd");
        std::fs::write(dir.path().join("s.json"), &text).unwrap();
        assert_eq!(f.load().unwrap().unwrap(), p);
        assert_eq!(back.resume_after(), 34);
        assert!(check(Some(back.clone()), Path::new("s"), "other", None).is_err());
        // Another share's state file is refused.
        let share = Some(decant_record::Shard::new(1, 3).unwrap());
        assert!(check(Some(back.clone()), Path::new("s"), "ab", share).is_err());
        assert_eq!(check(Some(back), Path::new("s"), "ab", None).unwrap().unwrap().line, 40);
        std::fs::write(dir.path().join("s.json"), "{\"line\":\"x\"}").unwrap();
        assert!(f.load().is_err());
    }
}
