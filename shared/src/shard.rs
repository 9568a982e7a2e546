//! `--shard i/N`: one deterministic share of a job run as N processes.
//!
//! Shards are numbered from 0, as Kubernetes Indexed Jobs number their pods
//! (`JOB_COMPLETION_INDEX`), so `--shard 0/3`, `--shard 1/3` and
//! `--shard 2/3` together cover the whole job, each record exactly once.
//! The share is written `i/N` wherever it appears: the flag, the stream
//! header's `shard` field, the summary and checksum files.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Share `index` of `count` (0 <= index < count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Shards beyond this many are refused (a typo, not a plan).
pub const MAX_SHARDS: u32 = 65_536;

impl Shard {
    /// Share `index` of `count`; `None` unless `index < count <= MAX_SHARDS`.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index < count && count <= MAX_SHARDS).then_some(Shard { index, count })
    }

    /// The whole job as one share (`0/1`).
    pub fn whole() -> Shard {
        Shard { index: 0, count: 1 }
    }

    /// This share's number, from 0.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many shares the job has.
    pub fn count(self) -> u32 {
        self.count
    }

    /// True for `0/1` (sharding changes nothing).
    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// The share `[lo, hi)` of the range `0..total` that this shard owns: N
    /// contiguous pieces whose sizes differ by at most one, in shard order,
    /// so the pieces of all shards are disjoint and cover the range.
    pub fn split(self, total: u128) -> (u128, u128) {
        let part = |k: u32| -> u128 {
            let k = k as u128;
            let n = self.count as u128;
            // total * k / n without overflow: total = q * n + r.
            let (q, r) = (total / n, total % n);
            q * k + r * k / n
        };
        (part(self.index), part(self.index + 1))
    }
}

/// The share an importer's input is: the stream header's `shard`, checked
/// against the `--shard` flag when both are given. `None` (or `0/1`) is the
/// whole job. The flag is a promise about the input, so a disagreement is an
/// error rather than a choice: importing share 2's stream as share 1 would
/// record share 1's progress for share 2's rows.
pub fn input_share(flag: Option<Shard>, header: Option<Shard>) -> Result<Option<Shard>, String> {
    let flag = flag.filter(|s| !s.is_whole());
    let header = header.filter(|s| !s.is_whole());
    match (flag, header) {
        (Some(f), Some(h)) if f != h => {
            Err(format!("--shard {f} but the input's header says it is share {h}: give each share its own stream"))
        }
        (Some(f), None) => Err(format!(
            "--shard {f} but the input's header names no share (a whole export, or not written by a sharded \
             exporter): drop --shard, or import the stream of `EXPORTER --shard {f}`"
        )),
        (_, h) => Ok(h),
    }
}

/// Checks that a `--state` file saved for share `saved` may be resumed by a
/// run of share `this` (`None`: the whole job). Each share has its own state
/// file; resuming another share's would skip lines of this share's stream
/// that were never written.
pub fn check_state_share(saved: Option<Shard>, this: Option<Shard>, state_file: &str) -> Result<(), String> {
    let name = |s: Option<Shard>| s.map_or_else(|| "the whole job (no --shard)".to_owned(), |s| format!("share {s}"));
    if saved.filter(|s| !s.is_whole()) == this.filter(|s| !s.is_whole()) {
        return Ok(());
    }
    Err(format!(
        "state file {state_file} is the progress of {}, but this input is {}: each share needs its own --state \
         file (e.g. --state shop-$I.state)",
        name(saved),
        name(this)
    ))
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "bad shard {s:?}: expected I/N with 0 <= I < N <= {MAX_SHARDS}, shards numbered from 0 \
                 (e.g. --shard 0/4 … --shard 3/4)"
            )
        };
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let i: u32 = i.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        Shard::new(i, n).ok_or_else(bad)
    }
}

impl Serialize for Shard {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Shard, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_i_of_n() {
        let s: Shard = "2/7".parse().unwrap();
        assert_eq!((s.index(), s.count()), (2, 7));
        assert_eq!(s.to_string(), "2/7");
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""2/7""#);
        assert_eq!(serde_json::from_str::<Shard>(r#""2/7""#).unwrap(), s);
    }

    #[test]
    fn refuses_out_of_range_and_malformed_shares() {
        for bad in ["7/7", "1/0", "-1/3", "3", "a/3", "1/99999999", ""] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains("expected I/N"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_flag_must_agree_with_the_header() {
        let s = |t: &str| Some(t.parse::<Shard>().unwrap());
        assert_eq!(input_share(None, s("1/3")), Ok(s("1/3")));
        assert_eq!(input_share(s("1/3"), s("1/3")), Ok(s("1/3")));
        assert_eq!(input_share(None, None), Ok(None));
        assert_eq!(input_share(s("0/1"), None), Ok(None));
        assert!(input_share(s("2/3"), s("1/3")).unwrap_err().contains("header says it is share 1/3"));
        assert!(input_share(s("2/3"), None).unwrap_err().contains("names no share"));
        assert!(check_state_share(s("1/3"), s("1/3"), "f").is_ok());
        assert!(check_state_share(None, None, "f").is_ok());
        let e = check_state_share(s("1/3"), s("2/3"), "a.state").unwrap_err();
        assert!(e.contains("a.state is the progress of share 1/3, but this input is share 2/3"), "{e}");
        assert!(check_state_share(None, s("2/3"), "f").unwrap_err().contains("the whole job"));
    }

    #[test]
    fn splits_are_disjoint_contiguous_and_cover() {
        for total in [0u128, 1, 2, 6, 7, 100, 16384, u128::MAX / 3] {
            for n in [1u32, 2, 3, 7, 13] {
                let mut next = 0;
                for i in 0..n {
                    let (lo, hi) = Shard::new(i, n).unwrap().split(total);
                    assert_eq!(lo, next, "total {total} shard {i}/{n}");
                    assert!(hi >= lo && hi - lo <= total / n as u128 + 1);
                    next = hi;
                }
                assert_eq!(next, total);
            }
        }
    }
}
