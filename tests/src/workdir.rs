//! A temp dir per test, for input and output files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::bins::{run, Cmd};

/// A fresh temp dir for one test, deleted when dropped (set
/// `DECANT_TEST_KEEP=1` to keep it for a look after a failure).
///
/// ```no_run
/// let wd = decant_tests::Workdir::new("checksum");
/// wd.write("in.ndjson", "{\"kind\":\"row\",\"table\":\"t\",\"data\":{}}\n");
/// wd.run("decant-checksum").arg("in.ndjson").assert_success();
/// ```
#[derive(Debug)]
pub struct Workdir {
    dir: PathBuf,
}

impl Workdir {
    /// Creates `decant-test-NAME-XXXXXX` in the system temp dir.
    pub fn new(name: &str) -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("decant-test-{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a work dir: {e}"))
            .keep();
        Workdir { dir }
    }

    /// The dir's path.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `path` inside the dir.
    pub fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        self.dir.as_path().join(path)
    }

    /// Writes `contents` to `name` in the dir and returns the file's path.
    pub fn write(&self, name: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        fs::write(&path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Reads file `name` of the dir.
    pub fn read(&self, name: impl AsRef<Path>) -> Vec<u8> {
        let path = self.join(name);
        fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// Reads file `name` of the dir as text.
    pub fn read_to_string(&self, name: impl AsRef<Path>) -> String {
        let path = self.join(name);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// A command for workspace binary `name` running in this dir.
    pub fn run(&self, name: &str) -> Cmd {
        run(name).current_dir(self.path())
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if crate::process::keep_requested() {
            eprintln!("decant-tests: keeping work dir {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
