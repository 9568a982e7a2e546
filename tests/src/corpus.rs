//! The real-world corpus in `../shared/corpus` (RDB files, Sakila, the real
//! relay service's data), which the repository does not carry.
//!
//! A test that needs it calls [`corpus`]; when the folder is absent the test
//! says so loudly on stderr and returns without asserting anything, so a
//! missing corpus is visible in the test output and never passes as a silent
//! success of the data it would have checked.

use std::path::PathBuf;

/// The environment variable that points at the corpus folder, for runs from
/// a checkout that does not sit beside `shared/`.
pub const CORPUS_ENV: &str = "DECANT_CORPUS";

/// `../shared/corpus/<sub>` (or `$DECANT_CORPUS/<sub>`) when it exists.
/// When it does not, prints a `NOT RUN` banner naming `test` and returns
/// `None`: the caller returns at once.
pub fn corpus(sub: &str, test: &str) -> Option<PathBuf> {
    let root = match std::env::var_os(CORPUS_ENV) {
        Some(dir) => PathBuf::from(dir),
        // The workspace root is the parent of this crate's folder.
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    };
    let dir = root.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    eprintln!(
        "\n!!!!!!!! NOT RUN: {test}: the corpus folder {} is absent \
         (set {CORPUS_ENV} or place shared/ beside the repository); \
         this test checked nothing !!!!!!!!\n",
        dir.display()
    );
    None
}
