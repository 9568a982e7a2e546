//! Both sides of a comparison: how each live side is read (by its store's
//! capabilities), the `--spec` transform of A, and the two entry readers.

use std::path::PathBuf;
use std::sync::Arc;

use decant_transform::Transformer;

use crate::entry::{CompareOptions, EntryReader};
use crate::source::{LiveOptions, Source, SourceSpec};
use crate::sqlrange;

/// Opens both sides as entry readers.
pub fn open_pair(
    a: &SourceSpec,
    b: &SourceSpec,
    live_a: &LiveOptions,
    live_b: &LiveOptions,
    opts: &CompareOptions,
    spec: Option<&Arc<Transformer>>,
) -> anyhow::Result<(EntryReader, EntryReader)> {
    if a == &SourceSpec::Stdin && b == &SourceSpec::Stdin {
        anyhow::bail!("A and B cannot both be stdin");
    }
    let left = Source::open(a, live_a)?;
    let mut left = EntryReader::new(left, opts, true);
    if let Some(t) = spec {
        left = left.with_transform(t.clone());
    }
    // B is read after A: its exporter starts then.
    let (b, live_b) = (b.clone(), live_b.clone());
    let right = EntryReader::lazy(b.display_name(), move || Source::open(&b, &live_b), opts, false);
    Ok((left, right))
}

/// How each live side is read: `--tables`, `--match`, its password file, and
/// `--where` for SQL stores (checked here, so a bad one fails before any
/// work; a Redis side with `--where` is a usage error).
pub fn live_options(
    a: &SourceSpec,
    b: &SourceSpec,
    tables: &[String],
    matches: &[String],
    wheres: &[String],
    password_files: [Option<&PathBuf>; 2],
) -> anyhow::Result<(LiveOptions, LiveOptions)> {
    sqlrange::parse_wheres(wheres)?;
    let store = |s: &SourceSpec| match s {
        SourceSpec::Url(u) => decant_record::conn::ConnUrl::parse(u).ok().map(|c| c.store()),
        _ => None,
    };
    let sql = |s: Option<decant_record::conn::Store>| s.is_some_and(|s| s.capabilities().where_filter);
    let (sa, sb) = (store(a), store(b));
    if !(wheres.is_empty() || sql(sa) || sql(sb)) {
        anyhow::bail!("--where filters the rows of live SQL stores, and neither side is one");
    }
    let side = |s: Option<decant_record::conn::Store>, pw: Option<&PathBuf>| {
        let mut o = LiveOptions::new(tables, matches, pw);
        if sql(s) {
            o.wheres = wheres.to_vec();
        }
        o
    };
    Ok((side(sa, password_files[0]), side(sb, password_files[1])))
}

/// Loads a transform spec.
pub fn load_spec(path: Option<&std::path::Path>) -> anyhow::Result<Option<Arc<Transformer>>> {
    path.map(|p| Transformer::from_file(p).map(Arc::new).map_err(|e| anyhow::anyhow!("--spec: {e}"))).transpose()
}
