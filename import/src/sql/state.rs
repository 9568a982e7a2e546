//! `--state FILE`: resumable imports.
//!
//! The progress of a run — the last input line whose batch is committed, the
//! tables it created and truncated — is written in the same transaction as
//! each batch, into a one-row-per-run table `decant_import_state` in the
//! target database. A commit therefore moves data and progress together: a
//! run killed at any point continues after its last committed batch, with no
//! duplicate and no lost row. The state file names the run (a random id) and
//! mirrors the progress for people to read; the row in the database is the
//! authority. The row is deleted when the run finishes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

/// The table that holds the progress of runs with `--state`.
pub const STATE_TABLE: &str = "decant_import_state";

/// The progress of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The run's id (the key of its row in [`STATE_TABLE`]).
    pub id: String,
    /// The input, as given (`-` for stdin), for messages.
    pub input: String,
    /// blake3 of the input's first line, to refuse another input.
    pub first_line_blake3: String,
    /// The last input line whose batch is committed.
    pub line: u64,
    /// Tables this run created (their indexes and foreign keys are still due
    /// until `finished`).
    #[serde(default)]
    pub created: Vec<String>,
    /// Tables this run truncated (never truncated again on resume).
    #[serde(default)]
    pub truncated: Vec<String>,
    /// The run finished.
    #[serde(default)]
    pub finished: bool,
    /// Writer connections (`--jobs`) when more than one: each commits its
    /// share of a batch with its own progress row (`ID-J` in the table,
    /// the run's own row for the first), so they may stop at different lines.
    #[serde(default, skip_serializing_if = "is_one")]
    pub jobs: u64,
    /// Tables whose rows go through the first connection from some line on
    /// (a row that did not carry the key the rows are spread by): resumed
    /// runs route the rows as the first did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<String>,
    /// The share of a `--shard i/N` job this run imports (absent: the whole
    /// job): a state file is resumed only by a run of the same share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<decant_record::shard::Shard>,
}

fn is_one(n: &u64) -> bool {
    *n <= 1
}

/// The state file.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file at `path`.
    pub fn new(path: &Path) -> StateFile {
        StateFile { path: path.to_owned() }
    }

    /// The file's progress, or `None` when the file does not exist yet.
    pub fn load(&self) -> anyhow::Result<Option<Progress>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                let p: Progress = serde_json::from_slice(&bytes)
                    .with_context(|| format!("state file {} is not a decant import state", self.path.display()))?;
                if p.id.is_empty() || !p.id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    bail!("state file {}: bad run id {:?}", self.path.display(), p.id);
                }
                Ok(Some(p))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading state file {}", self.path.display())),
        }
    }

    /// Writes the progress atomically (temp file + rename).
    pub fn save(&self, p: &Progress) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("tmp-decant");
        let mut text = serde_json::to_vec_pretty(p).unwrap_or_default();
        text.push(b'\n');
        std::fs::write(&tmp, &text)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .with_context(|| format!("writing state file {}", self.path.display()))
    }
}

/// A fresh run id: 16 hex digits from the clock and the process id.
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let seed = format!("{nanos}-{}", std::process::id());
    blake3::hash(seed.as_bytes()).to_hex()[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let f = StateFile::new(&dir.path().join("s.json"));
        assert!(f.load().unwrap().is_none());
        let p = Progress { id: new_run_id(), line: 42, created: vec!["t".into()], ..Default::default() };
        f.save(&p).unwrap();
        assert_eq!(f.load().unwrap().unwrap(), p);
        std::fs::write(
            dir.path().join("s.json"),
            "{\"id\":\"../x\",\"input\":\"\",\"first_line_blake3\":\"\",\"line\":0}",
        )
        .unwrap();
        assert!(f.load().is_err());
    }
}
