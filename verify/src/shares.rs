//! `decant-verify --combine`: the verdict of a sharded verification from the
//! JSON reports of its shares (`decant-verify --shard I/N --json`, one run per
//! share, as the pods of an Indexed Job run them). The shares must be exactly
//! 0/N … N-1/N, each once: a missing share would pass a verification that
//! never looked at part of the data, and a share given twice would count its
//! records twice.

use std::collections::BTreeMap;

use anyhow::bail;
use decant_record::Shard;
use serde::{Deserialize, Serialize};

/// What `--combine` reads of a share's report.
#[derive(Debug, Clone, Deserialize)]
pub struct ShareReport {
    /// The share it verified (absent: not a share).
    #[serde(default)]
    pub shard: Option<Shard>,
    /// A's name.
    pub left: String,
    /// B's name.
    pub right: String,
    /// Per group.
    pub groups: Vec<ShareGroup>,
    /// The share's verdict.
    pub ok: bool,
}

/// A group's counts in one share.
#[derive(Debug, Clone, Deserialize)]
pub struct ShareGroup {
    /// `table:NAME` or `keys:GROUP`.
    pub group: String,
    /// Records in A's share.
    pub left: u64,
    /// Records in B's share.
    pub right: u64,
    /// The group passed in this share.
    pub ok: bool,
}

/// The combined verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Combined {
    /// N.
    pub shares: u32,
    /// Per group, summed over the shares.
    pub groups: Vec<CombinedGroup>,
    /// The shares that failed, as `I/N`.
    pub failed_shares: Vec<String>,
    /// Every share passed.
    pub ok: bool,
}

/// A group summed over the shares.
#[derive(Debug, Clone, Serialize)]
pub struct CombinedGroup {
    /// `table:NAME` or `keys:GROUP`.
    pub group: String,
    /// Records in A.
    pub left: u64,
    /// Records in B.
    pub right: u64,
    /// Passed in every share.
    pub ok: bool,
}

/// Combines the reports `(file name, report)` of a sharded verification.
pub fn combine(reports: &[(String, ShareReport)]) -> anyhow::Result<Combined> {
    let mut by_index: BTreeMap<u32, &str> = BTreeMap::new();
    let mut count: Option<(u32, &str)> = None;
    for (name, r) in reports {
        let Some(shard) = r.shard.filter(|s| !s.is_whole()) else {
            bail!("{name}: not the report of a share (no \"shard\"): run decant-verify --shard I/N --json");
        };
        match count {
            Some((n, first)) if n != shard.count() => {
                bail!("{name}: share {shard} is one of {}, but {first} is one of {n}", shard.count())
            }
            None => count = Some((shard.count(), name)),
            _ => {}
        }
        if let Some(other) = by_index.insert(shard.index(), name) {
            bail!("share {shard} given twice ({other} and {name})");
        }
    }
    let Some((n, _)) = count else { bail!("no reports to combine") };
    let missing: Vec<String> = (0..n).filter(|i| !by_index.contains_key(i)).map(|i| format!("{i}/{n}")).collect();
    if !missing.is_empty() {
        bail!("missing share(s) {}: every share 0/{n} … {}/{n} must be verified", missing.join(", "), n - 1);
    }
    let mut groups: BTreeMap<&str, CombinedGroup> = BTreeMap::new();
    let mut failed_shares = Vec::new();
    for (_, r) in reports {
        if !r.ok {
            failed_shares.push(r.shard.map(|s| s.to_string()).unwrap_or_default());
        }
        for g in &r.groups {
            let c = groups.entry(&g.group).or_insert_with(|| CombinedGroup {
                group: g.group.clone(),
                left: 0,
                right: 0,
                ok: true,
            });
            c.left += g.left;
            c.right += g.right;
            c.ok &= g.ok;
        }
    }
    failed_shares.sort();
    Ok(Combined { shares: n, ok: failed_shares.is_empty(), groups: groups.into_values().collect(), failed_shares })
}

/// The combined verdict as text lines.
pub fn render_text(c: &Combined) -> String {
    let mut out = format!("{} shares combined\n", c.shares);
    for g in &c.groups {
        out.push_str(&format!("{}  A {}  B {}  {}\n", g.group, g.left, g.right, if g.ok { "ok" } else { "FAILED" }));
    }
    if !c.failed_shares.is_empty() {
        out.push_str(&format!("failed share(s): {}\n", c.failed_shares.join(", ")));
    }
    out.push_str(if c.ok { "verification passed (all shares)\n" } else { "verification FAILED\n" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(shard: Option<&str>, ok: bool, left: u64) -> ShareReport {
        ShareReport {
            shard: shard.map(|s| s.parse().unwrap()),
            left: "a".into(),
            right: "b".into(),
            groups: vec![ShareGroup { group: "table:t".into(), left, right: left, ok }],
            ok,
        }
    }

    #[test]
    fn shares_add_up_and_bad_sets_are_refused() {
        let all: Vec<(String, ShareReport)> =
            (0..3).map(|i| (format!("r{i}"), report(Some(&format!("{i}/3")), true, 10 + i as u64))).collect();
        let c = combine(&all).unwrap();
        assert!(c.ok);
        assert_eq!((c.groups[0].left, c.groups[0].right), (33, 33));
        let mut failing = all.clone();
        failing[1].1 = report(Some("1/3"), false, 11);
        let c = combine(&failing).unwrap();
        assert!(!c.ok && !c.groups[0].ok);
        assert_eq!(c.failed_shares, vec!["1/3"]);
        let err = |rs: &[(String, ShareReport)]| combine(rs).unwrap_err().to_string();
        assert!(err(&all[..2]).contains("missing share(s) 2/3"));
        assert!(
            err(&[all[0].clone(), all[1].clone(), all[1].clone(), all[2].clone()]).contains("share 1/3 given twice")
        );
        assert!(err(&[all[0].clone(), ("x".into(), report(Some("1/2"), true, 1))]).contains("is one of 2, but"));
        assert!(err(&[("w".into(), report(None, true, 1))]).contains("not the report of a share"));
    }
}
