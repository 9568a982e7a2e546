//! The normalisation flags shared by `decant-checksum`, `decant-diff` and
//! `decant-verify`. Every normalisation is explicit: with no flags, two
//! records are equal only when their canonical forms (docs/format.md §3) are.

use decant_record::digest::{CanonicalOptions, KeyGrouper};
use decant_record::time::Rounding;

/// How extra fraction digits are dropped by `--time-precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TimeRounding {
    /// Round half up (what PostgreSQL and MySQL do when storing into a coarser column).
    #[default]
    Round,
    /// Cut the extra digits (MySQL with TIME_TRUNCATE_FRACTIONAL).
    Truncate,
}

/// Normalisation flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CanonicalArgs {
    /// Compare date-times and times at N fraction digits (e.g. 3 when a
    /// DATETIME(6) was copied into a TIMESTAMP(3) column).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=9))]
    pub time_precision: Option<u8>,
    /// How --time-precision drops digits.
    #[arg(long, value_enum, default_value_t = TimeRounding::Round, value_name = "HOW")]
    pub time_rounding: TimeRounding,
    /// Treat empty strings (and empty byte strings) as NULL, and a missing
    /// column (a DynamoDB attribute left out) as NULL too.
    #[arg(long)]
    pub null_equals_empty: bool,
    /// Leave Redis key expiries (TTLs) out of the comparison.
    #[arg(long)]
    pub ignore_expiry: bool,
    /// Compare Redis expiries rounded to this many milliseconds (e.g. 1000,
    /// when the two sides were exported a moment apart from PTTL).
    #[arg(long, value_name = "MS")]
    pub expiry_precision: Option<u64>,
    /// Redis key groups: the first N `:`-separated segments of the key
    /// (default 1), "SEPARATOR,N" (e.g. "/,2"), or "none" for one group.
    #[arg(long, value_name = "N", default_value = "1")]
    pub group_by: KeyGrouper,
    /// Keep Redis databases apart in the groups (db0/apikey).
    #[arg(long)]
    pub group_by_db: bool,
}

impl CanonicalArgs {
    /// The options for the record crate's canonical form.
    pub fn options(&self) -> CanonicalOptions {
        CanonicalOptions {
            time_precision: self.time_precision,
            rounding: match self.time_rounding {
                TimeRounding::Round => Rounding::Round,
                TimeRounding::Truncate => Rounding::Truncate,
            },
            null_equals_empty: self.null_equals_empty,
            ignore_expiry: self.ignore_expiry,
            expiry_precision_ms: self.expiry_precision,
            key_groups: self.group_by.clone(),
            group_by_db: self.group_by_db,
        }
    }

    /// The flags that reproduce these options (empty for the defaults), as
    /// recorded in a checksum file so `--check` digests the same way.
    pub fn to_flags(&self) -> Vec<String> {
        let mut f = Vec::new();
        if let Some(p) = self.time_precision {
            f.push(format!("--time-precision={p}"));
            if self.time_rounding == TimeRounding::Truncate {
                f.push("--time-rounding=truncate".to_owned());
            }
        }
        if self.null_equals_empty {
            f.push("--null-equals-empty".to_owned());
        }
        if self.ignore_expiry {
            f.push("--ignore-expiry".to_owned());
        }
        if let Some(ms) = self.expiry_precision {
            f.push(format!("--expiry-precision={ms}"));
        }
        if self.group_by != KeyGrouper::default() {
            let g = &self.group_by;
            let text = if g.depth == 0 {
                "none".to_owned()
            } else if g.separator == b':' {
                g.depth.to_string()
            } else {
                format!("{},{}", g.separator as char, g.depth)
            };
            f.push(format!("--group-by={text}"));
        }
        if self.group_by_db {
            f.push("--group-by-db".to_owned());
        }
        f
    }

    /// Parses flags written by [`CanonicalArgs::to_flags`].
    pub fn from_flags<S: AsRef<str>>(flags: &[S]) -> Result<CanonicalArgs, String> {
        #[derive(clap::Parser)]
        #[command(no_binary_name = true)]
        struct Only {
            #[command(flatten)]
            args: CanonicalArgs,
        }
        use clap::Parser as _;
        Only::try_parse_from(flags.iter().map(|s| s.as_ref()))
            .map(|o| o.args)
            .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip() {
        let a = CanonicalArgs::from_flags(&[
            "--time-precision=3",
            "--time-rounding=truncate",
            "--null-equals-empty",
            "--expiry-precision=1000",
            "--group-by=/,2",
            "--group-by-db",
        ])
        .unwrap();
        assert_eq!(a.time_precision, Some(3));
        assert_eq!(a.group_by.separator, b'/');
        let b = CanonicalArgs::from_flags(&a.to_flags()).unwrap();
        assert_eq!(a.to_flags(), b.to_flags());
        assert!(CanonicalArgs::from_flags::<&str>(&[]).unwrap().to_flags().is_empty());
        assert!(CanonicalArgs::from_flags(&["--bogus"]).is_err());
    }
}
