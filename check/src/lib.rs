//! `decant-check`: the machinery the three checking tools share as peers
//! (`decant-checksum`, `decant-diff`, `decant-verify`).
//!
//! - [`source`]: opening an input — a file (plain or zstd), stdin, or a live
//!   store read through its exporter (from the store registry).
//! - [`canon`]: the explicit normalisation flags (`--time-precision`, …).
//! - [`args`]: the other shared flags and their parsers.
//! - [`pair`]: both sides of a comparison: live options per store
//!   capability, the `--spec` transform, the two entry readers.
//! - [`entry`]: records → keyed entries with canonical hashes.
//! - [`engine`]: the comparison, in memory or hash-partitioned on disk.
//! - [`compare`]: field-by-field comparison (changed columns, float tolerance).
//! - [`output`]: `diff` lines, the patch stream, the summary.
//! - [`keymap`]: `--key-map` ID transformations.
//! - [`sqlrange`]: two live SQL tables compared by range checksums inside
//!   the databases, bisecting to the ranges that differ.

pub mod args;
pub mod canon;
pub mod compare;
pub mod engine;
pub mod entry;
pub mod keymap;
pub mod output;
pub mod pair;
pub mod source;
pub mod sqlrange;

use decant_record::cli;

/// Prints a warning on stderr the first time this process sees it: a
/// checker reads a side more than once (verify's keyed second pass), and a
/// warning about the data is said once.
pub fn warn_once(message: String) {
    source::say_once(&cli::redact(&format!("{}: {message}", cli::tool_name())));
}

/// The note on the records that are equal only under the normalisation
/// options (`None` when there are none): a validation job must know how much
/// `--null-equals-empty` and `--time-precision` forgave, not only that they did.
pub fn options_note(equal_by_options: u64, canon: &decant_record::digest::CanonicalOptions) -> Option<String> {
    if equal_by_options == 0 {
        return None;
    }
    let mut flags = Vec::new();
    if canon.null_equals_empty {
        flags.push("--null-equals-empty (NULL, \"\" and a missing column)".to_owned());
    }
    if let Some(p) = canon.time_precision {
        flags.push(format!("--time-precision {p} (date-times past {p} fraction digits)"));
    }
    Some(format!("note: {equal_by_options} record(s) counted equal only under {}", flags.join(" and ")))
}
