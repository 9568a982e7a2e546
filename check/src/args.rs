//! Flags the checking tools share, and their parsers.

use std::path::PathBuf;

use crate::canon::CanonicalArgs;
use crate::entry::CompareOptions;
use crate::keymap::KeyMap;
use crate::pair::live_options;
use crate::source::{LiveOptions, SourceSpec};

/// Parses `64M`, `1G`, `512K`, `1000` (bytes).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: usize = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'B' => 1,
                _ => return Err(format!("bad size {s:?}: use a number with K, M or G")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: usize = num.trim().parse().map_err(|_| format!("bad size {s:?}: use a number with K, M or G"))?;
    Ok(n.saturating_mul(mult))
}

/// How records are matched and compared: the flags decant-diff and
/// decant-verify share (with [`CanonicalArgs`] for the normalisations).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CompareArgs {
    /// Key columns: COLUMN[,COLUMN] for every table, or TABLE:COLUMN[,COLUMN]
    /// (repeatable). Default: each table's primary key from its schema line.
    #[arg(long, value_name = "SPEC")]
    pub key: Vec<String>,
    // The example's capture is not named n: clap renders "{n}" in help text as a line break.
    /// Map A's IDs before comparing: FROM=TO for Redis keys
    /// ("apikey:{id}=key:{id}"), TABLE.COLUMN@FROM=TO for a column
    /// ("users.id@{id}=u-{id}"); repeatable.
    #[arg(long, value_name = "RULE")]
    pub key_map: Vec<KeyMap>,
    /// Numbers within this relative tolerance are equal:
    /// |a-b| <= TOL * max(1, |a|, |b|).
    #[arg(long, value_name = "TOL")]
    pub float_tolerance: Option<f64>,
    /// Memory for A in the keyed comparison before it is partitioned to
    /// temporary files (e.g. 64M, 1G).
    #[arg(long, value_name = "SIZE", default_value = "32M", value_parser = parse_size)]
    pub memory: usize,
    /// Directory for the temporary partitions (default: $TMPDIR).
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
}

impl CompareArgs {
    /// The comparison options these flags and the normalisations give.
    pub fn options(&self, canon: &CanonicalArgs) -> anyhow::Result<CompareOptions> {
        CompareOptions::from_flags(&self.key, canon.options(), self.float_tolerance, &self.key_map)
    }
}

/// How the two sides are read: the flags decant-diff and decant-verify share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SideArgs {
    /// Live Redis: only keys matching this pattern (repeatable).
    #[arg(long = "match", value_name = "PATTERN")]
    pub matches: Vec<String>,
    /// Read a file side that begins with a header but lacks its "end"
    /// trailer (cut short); without it that is an error (exit 2).
    #[arg(long)]
    pub allow_unsealed: bool,
    /// Password file for a live A.
    #[arg(long, value_name = "FILE")]
    pub left_password_file: Option<PathBuf>,
    /// Password file for a live B.
    #[arg(long, value_name = "FILE")]
    pub right_password_file: Option<PathBuf>,
    /// Live stores: compare only share I of N (numbered from 0) of each
    /// side, the records `EXPORTER --shard I/N` exports (SQL key ranges cut
    /// from each side's own keys, Redis slot ranges). Every share passes
    /// exactly when the whole does, provided both sides cut their keys alike:
    /// always for integer keys and Redis; text and composite keys are cut in
    /// each server's collation order, so between stores whose orders differ
    /// compare the combined checksums instead (decant-checksum --combine).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<decant_record::Shard>,
}

impl SideArgs {
    /// The share compared (`--shard`), `None` for the whole.
    pub fn share(&self) -> Option<decant_record::Shard> {
        self.shard.filter(|s| !s.is_whole())
    }

    /// How each live side is read ([`live_options`]), with `--tables` and
    /// `--where` (their wording is each tool's own), and these flags.
    pub fn live_options(
        &self,
        a: &SourceSpec,
        b: &SourceSpec,
        tables: &[String],
        wheres: &[String],
    ) -> anyhow::Result<(LiveOptions, LiveOptions)> {
        let (mut live_a, mut live_b) = live_options(
            a,
            b,
            tables,
            &self.matches,
            wheres,
            [self.left_password_file.as_ref(), self.right_password_file.as_ref()],
        )?;
        live_a.allow_unsealed = self.allow_unsealed;
        live_b.allow_unsealed = self.allow_unsealed;
        (live_a.shard, live_b.shard) = (self.share(), self.share());
        Ok((live_a, live_b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("12X").is_err());
    }
}
