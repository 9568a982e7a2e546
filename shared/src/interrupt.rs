//! Ctrl-C (SIGINT) and SIGTERM: stop cleanly instead of dying with `^C`.
//!
//! [`crate::cli::main`] installs the handler for every tool. On the first
//! signal it removes the unfinished output files (an `-o FILE` is written
//! under a hidden temporary name until it is complete; see
//! [`crate::io::Output`]), says what was done and how to go on, and exits
//! 130 (SIGINT) or 143 (SIGTERM), as shells expect. State needs no flushing
//! here: importers commit their `--state` with each batch, and a batch the
//! signal cuts off is rolled back by the server when the connection drops.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PARTIAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Registers a file being written that is useless unless finished.
pub fn register_partial(path: &Path) {
    if let Ok(mut p) = PARTIAL.lock() {
        p.push(path.to_path_buf());
    }
}

/// The file was finished (renamed into place) or removed.
pub fn unregister_partial(path: &Path) {
    if let Ok(mut p) = PARTIAL.lock() {
        p.retain(|x| x != path);
    }
}

/// What to do after an interrupted run of `tool`.
pub fn how_to_go_on(tool: &str) -> &'static str {
    if tool.ends_with("-import") {
        "the batches committed before the signal stay in the target. With --state FILE, \
         rerun the same command to continue where it stopped; without it, rerun with \
         --mode skip-existing (rows already there are kept), or --truncate to start over"
    } else if tool.ends_with("-export") || tool == "decant-transform" || tool == "decant-diff" {
        "nothing complete was written; run the command again"
    } else {
        "nothing was written; run the command again"
    }
}

/// Starts the thread that waits for SIGINT and SIGTERM.
#[cfg(unix)]
pub fn install(tool: &'static str) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return; // The default action (die) stays: no worse than before.
    };
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
            let removed: Vec<PathBuf> = PARTIAL.lock().map(|p| p.clone()).unwrap_or_default();
            let mut what = String::new();
            for path in &removed {
                if std::fs::remove_file(path).is_ok() {
                    what.push_str(&format!(" Removed the unfinished output {}.", path.display()));
                }
            }
            crate::cli::error(format_args!(
                "interrupted by {name}: stopped before the end.{what} Next: {}.",
                how_to_go_on(tool)
            ));
            std::process::exit(128 + signal);
        }
    });
    drop(spawned);
}

/// Signals are left to their default action where there are no POSIX signals.
#[cfg(not(unix))]
pub fn install(_tool: &'static str) {}
