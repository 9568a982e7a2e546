//! `decant-diff A B`: record-level differences between two decant streams,
//! files or live stores, keyed by primary key or Redis key.
//!
//!
//! The comparison itself (inputs, engine, key maps, range checksums, output)
//! is the `decant-check` library, shared with decant-verify and
//! decant-checksum; this crate is the command.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use decant_check::args::{CompareArgs, SideArgs};
use decant_check::canon::CanonicalArgs;
use decant_check::engine::{self, DiffStats, EngineConfig};
use decant_check::entry::SideInfo;
use decant_check::pair::{load_spec, open_pair};
use decant_check::source::{LiveOptions, SourceSpec};
use decant_check::{checkmetrics, output, settle, since, sqlrange};
use decant_record::cli::{self, LogFormat, Outcome, ReportArgs, EXIT_STATUS_HELP};
use decant_record::digest::GroupKey;
use decant_record::DiffOp;

const AFTER_HELP: &str = "\
Output: one \"diff\" line per difference, read like diff(1) from A to B:
  {\"kind\":\"diff\",\"op\":\"changed\",\"table\":\"users\",\"id\":{\"id\":7},\"left\":{row in A},\"right\":{row in B},\"fields\":[\"email\"]}
  op \"added\" is only in B (left null), \"removed\" only in A (right null), \"changed\"
  in both with the changed columns / hash fields (\"expire_at_ms\" for a TTL,
  \"value\" for a list/set/zset/string) in \"fields\". A summary goes to stderr.

With --patch, the output is instead a stream that makes B equal to A when fed to
B's importer with --mode upsert (redis-import: --mode replace): A's record for every
removed or changed row/key (after its table's schema line) and a \"delete\" line for
every added one. Read like the diff lines: \"removed\" and \"changed\" rows are written
back as they are in A, \"added\" ones are deleted from B.

Rows are keyed by the primary key of their schema line (SQL exports have one),
or by --key. Records are compared in the canonical form (docs/format.md §3); every
other normalisation is an explicit flag. Inputs larger than --memory are
hash-partitioned into temporary files. Two live SQL databases (mysql:// or
postgres:// on both sides) are compared by checksums of primary-key ranges
computed inside each database, both at once and --jobs queries at a time per
database, bisecting into the ranges that differ before any row is fetched.
--where limits live SQL sides to a slice of a table, in the checksums and in
every row fetched.

Live stores being written: differences are read again by key after --settle
(default 3s) and reported only if still there (--settle 0: at once). --since
COLUMN --state FILE compares only the rows changed since the last run without
differences, plus the keys of the whole tables (deletions). --only picks the
kinds of difference reported and patched (a sync policy). See
examples/dual-write.md.

Examples:
  decant-diff old.ndjson.zst new.ndjson.zst
  decant-diff mysql://root@old/reline postgres://app@new/reline --tables operators
  decant-diff mysql://root@old/shop postgres://app@new/shop --tables orders \\
    --where \"orders:updated_at >= '2026-11-01'\"
  decant-diff backup.ndjson.zst redis://cache:6379/0 --expiry-precision 1000
  decant-diff mysql://root@old/reline postgres://app@new/reline --patch \\
    | pg-import --url postgres://app@new/reline --mode upsert
  decant-diff backup.ndjson.zst redis://cache/0 --patch | redis-import --url redis://cache/0 --mode replace
  decant-diff mysql://root@old/shop postgres://app@new/shop --only removed,changed --patch \\
    | pg-import --url postgres://app@new/shop --mode upsert
  decant-diff a.ndjson b.ndjson --key users:email --time-precision 3 --brief
  decant-diff rows.ndjson mysql://app@db/relay --ignore-columns 'usage_records.id,*.created_at,*.updated_at'

";

/// Shows record-level differences between two decant streams, files or live stores.
#[derive(Debug, Parser)]
#[command(name = "decant-diff", version, after_help = format!("{AFTER_HELP}{EXIT_STATUS_HELP}"))]
pub struct Args {
    /// A: file (plain or .zst), - for stdin, or a live store URL.
    #[arg(value_name = "A")]
    pub left: String,
    /// B: file (plain or .zst), - for stdin, or a live store URL.
    #[arg(value_name = "B")]
    pub right: String,
    /// Write a patch (A's records and deletes) that makes B equal to A with an
    /// importer in --mode upsert, instead of diff lines.
    #[arg(long)]
    pub patch: bool,
    /// No diff lines: only the summary and the exit status (like diff -q).
    #[arg(long, conflicts_with = "patch")]
    pub brief: bool,
    /// Output format: text (one line per changed column, `users id=10
    /// balance  85.88 → 86.88`, added and removed records named and
    /// counted) or ndjson (diff lines); default text on a terminal, ndjson
    /// when piped or written to a file.
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "patch")]
    pub format: Option<OutputFormat>,
    #[command(flatten)]
    pub compare: CompareArgs,
    /// Apply this decant-transform spec to A before comparing (when A and B
    /// differ in shape, e.g. Redis keys vs their SQL copy).
    #[arg(long, value_name = "FILE.toml")]
    pub spec: Option<PathBuf>,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only these tables (comma-separated), on both sides: live SQL stores
    /// read only them; files and a --spec's output are filtered.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Leave these columns out of the comparison, repeatable, comma lists:
    /// TABLE.COLUMN, or *.COLUMN for every table (`--ignore-columns
    /// 'usage_stats.id,*.created_at,*.updated_at'`): columns a target fills
    /// itself. A primary key with an ignored column gives way to the first
    /// unique key without one.
    #[arg(long = "ignore-columns", value_name = "TABLE.COLUMN")]
    pub ignore_columns: Vec<String>,
    /// Live SQL stores: compare only the rows of TABLE for which CONDITION
    /// holds, on both sides (SQL both databases understand, e.g.
    /// "orders:updated_at >= '2025-01-01'"); repeatable, once per table.
    /// Applied to the range checksums and to every row fetched. A file side
    /// is read whole: compare it with an export made with the same --where.
    #[arg(long = "where", value_name = "TABLE:CONDITION")]
    pub wheres: Vec<String>,
    #[command(flatten)]
    pub sides: SideArgs,
    /// Two live SQL stores: fetch and compare every row instead of comparing
    /// range checksums inside the databases first.
    #[arg(long)]
    pub no_range_checksums: bool,
    /// Range checksums: bisect until a range holds at most this many rows,
    /// then fetch and compare its rows.
    #[arg(long, value_name = "ROWS", default_value_t = 1000)]
    pub leaf_rows: u64,
    /// Live stores written while compared (a dual-write phase): wait this
    /// long after the comparison, read the differing records again from
    /// both sides by key, and report only those still different; the others
    /// count as transient. 0 turns it off; two files are never re-read.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = settle::parse_settle)]
    pub settle: std::time::Duration,
    /// Re-reads at most, --settle apart: a difference is confirmed once it
    /// stood still across a settle period, or after the last round.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub settle_rounds: u32,
    /// Report (and patch) only these kinds of difference, comma-separated:
    /// added, removed, changed. E.g. --patch --only removed,changed copies
    /// to B what it lacks or holds differently and deletes nothing.
    #[arg(long, value_name = "OPS", value_delimiter = ',', value_parser = parse_op)]
    pub only: Vec<DiffOp>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub since: since::SinceArgs,
    /// Range checksums: queries in flight (and connections) per database.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
    #[command(flatten)]
    pub canon: CanonicalArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Parses an `--only` kind: added, removed or changed.
pub fn parse_op(s: &str) -> Result<DiffOp, String> {
    match s.trim() {
        "added" => Ok(DiffOp::Added),
        "removed" => Ok(DiffOp::Removed),
        "changed" => Ok(DiffOp::Changed),
        other => Err(format!("bad --only {other:?}: use added, removed or changed")),
    }
}

/// Passes on only the differences of the kinds asked for (`--only`).
struct OnlyOps<'s> {
    inner: &'s mut dyn engine::Sink,
    ops: Vec<DiffOp>,
}

impl engine::Sink for OnlyOps<'_> {
    fn found(&mut self, f: engine::Found<'_>, left: &SideInfo, right: &SideInfo) -> anyhow::Result<()> {
        if self.ops.is_empty() || self.ops.contains(&f.op) {
            self.inner.found(f, left, right)?;
        }
        Ok(())
    }
}

/// Prints the summary on stderr.
pub fn print_summary(stats: &DiffStats, report: &ReportArgs, canon: &decant_record::digest::CanonicalOptions) {
    if report.quiet {
        return;
    }
    let total = stats.total();
    let text = match report.log_format {
        LogFormat::Text => {
            let mut t = output::render_summary(stats);
            t.push_str(&if total.differences() == 0 {
                "A and B are equal\n".to_owned()
            } else {
                format!(
                    "{} difference(s): {} added, {} removed, {} changed\n",
                    total.differences(),
                    total.added,
                    total.removed,
                    total.changed
                )
            });
            if total.transient > 0 {
                t.push_str(&format!(
                    "{} transient difference(s) gone after --settle (writes in flight), not counted\n",
                    total.transient
                ));
            }
            if let Some(note) = decant_check::options_note(total.equal_by_options, canon) {
                t.push_str(&note);
                t.push('\n');
            }
            t.lines().map(|l| format!("{}: {l}\n", cli::tool_name())).collect::<String>()
        }
        LogFormat::Json => {
            let mut out = String::new();
            for (g, s) in &stats.groups {
                let mut o = serde_json::to_value(s).unwrap_or_default();
                o["tool"] = cli::tool_name().into();
                o["event"] = "summary".into();
                o["group"] = g.to_string().into();
                out.push_str(&o.to_string());
                out.push('\n');
            }
            let mut o = serde_json::to_value(total).unwrap_or_default();
            o["tool"] = cli::tool_name().into();
            o["event"] = "total".into();
            out.push_str(&o.to_string());
            out.push('\n');
            out
        }
    };
    cli::log_lines("info", &text);
}

/// Runs `decant-diff`.
/// `--format` of decant-diff's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For a person: one line per difference.
    Text,
    /// `diff` records (docs/format.md), for programs.
    Ndjson,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let a = SourceSpec::parse(&args.left);
    let b = SourceSpec::parse(&args.right);
    let opts = args.compare.options(&args.canon)?.with_filters(&args.ignore_columns, &args.tables)?;
    let config = EngineConfig {
        compare: opts.clone(),
        memory_limit: args.compare.memory,
        temp_dir: args.compare.temp_dir.clone(),
        ..EngineConfig::default()
    };
    let out = decant_record::io::Output::create(args.output.as_deref()).context("creating the output")?;
    let (mut live_a, mut live_b) = args.sides.live_options(&a, &b, &args.tables, &args.wheres)?;
    // A table on one side only is a difference, not an exporter's error.
    (live_a.skip_missing_tables, live_b.skip_missing_tables) = (true, true);
    let since_run = since::SinceRun::start(&args.since, &a, &b, &mut live_a, &mut live_b)?;
    // Range checksums are computed in the databases over whole rows (with
    // --since, the changed rows are read instead).
    let use_ranges = since_run.is_none()
        && !args.no_range_checksums
        && args.sides.share().is_none()
        && sqlrange::applies(&a, &b)
        && args.compare.key_map.is_empty()
        && args.spec.is_none()
        && args.ignore_columns.is_empty();
    let (a_name, b_name) = (a.display_name(), b.display_name());
    let stats = if args.patch {
        let mut sink = output::Patch::new(out, opts.keys.clone(), &a_name, &b_name)?;
        let stats =
            compare(args, &a, &b, (&mut live_a, &mut live_b), &config, use_ranges, since_run.as_ref(), &mut sink)?;
        sink.finish()?.finish().context("writing the patch")?;
        stats
    } else if args.brief {
        let stats = compare(
            args,
            &a,
            &b,
            (&mut live_a, &mut live_b),
            &config,
            use_ranges,
            since_run.as_ref(),
            &mut output::Discard,
        )?;
        out.finish()?;
        stats
    } else if args.format.unwrap_or_else(|| {
        use std::io::IsTerminal as _;
        if args.output.is_none() && std::io::stdout().is_terminal() {
            OutputFormat::Text
        } else {
            OutputFormat::Ndjson
        }
    }) == OutputFormat::Text
    {
        let mut sink = output::TextView::new(out, opts.keys.clone());
        let stats =
            compare(args, &a, &b, (&mut live_a, &mut live_b), &config, use_ranges, since_run.as_ref(), &mut sink)?;
        sink.finish()?.finish().context("writing the output")?;
        stats
    } else {
        let mut sink = output::DiffLines::new(out, opts.keys.clone(), &a_name, &b_name)?;
        let stats =
            compare(args, &a, &b, (&mut live_a, &mut live_b), &config, use_ranges, since_run.as_ref(), &mut sink)?;
        sink.finish()?.finish().context("writing the output")?;
        stats
    };
    // A table named in --tables that neither side has is a mistake, never a
    // pass with nothing compared (the range checksums check it themselves).
    if !use_ranges {
        for table in args.tables.iter().filter(|t| !t.contains(['*', '?'])) {
            if !stats.groups.contains_key(&GroupKey::Table(table.clone())) && !stats.declared_tables.contains(table) {
                anyhow::bail!(
                    "table {table:?} is in neither {a_name} nor {b_name} (--tables): check the name; nothing was compared for it"
                );
            }
        }
    }
    for (g, s) in &stats.groups {
        let confirmed = s.differences();
        let compared = s.equal + s.transient + confirmed;
        checkmetrics::record(
            &g.to_string(),
            checkmetrics::GroupFigures { compared, confirmed, transient: s.transient },
        );
    }
    print_summary(&stats, &args.report, &opts.canon);
    let same = stats.total().differences() == 0;
    // The --since watermark moves only past a run without differences.
    if let (true, Some(run)) = (same, &since_run) {
        run.commit()?;
    }
    Ok(if same { Outcome::Success } else { Outcome::Failed })
}

#[allow(clippy::too_many_arguments)]
fn compare(
    args: &Args,
    a: &SourceSpec,
    b: &SourceSpec,
    (live_a, live_b): (&mut LiveOptions, &mut LiveOptions),
    config: &EngineConfig,
    use_ranges: bool,
    since_run: Option<&since::SinceRun>,
    sink: &mut dyn engine::Sink,
) -> anyhow::Result<DiffStats> {
    let mut only = OnlyOps { inner: sink, ops: args.only.clone() };
    let settle_config = settle::SettleConfig { wait: args.settle, rounds: args.settle_rounds };
    let settling = settle_config.enabled() && (a.is_live() || b.is_live()) && settle::can_reread(a, b);
    let mut holding = if settling {
        settle::Holding::new(&mut only, &config.compare)
    } else {
        settle::Holding::passthrough(&mut only, &config.compare)
    };
    let mut seen = std::collections::HashSet::new();
    let mut tap = since::Tap { inner: &mut holding, seen: &mut seen };
    let mut stats = compare_once(args, a, b, (&*live_a, &*live_b), config, use_ranges, &mut tap)?;
    if let Some(run) = since_run {
        run.first_pass_done(live_a, live_b)?;
        if !args.since.no_key_check {
            let keys = since::key_check((a, b), (&*live_a, &*live_b), config, &mut holding, &seen)?;
            since::add_key_check(&mut stats.groups, &keys);
        }
    }
    if !settling {
        return Ok(stats);
    }
    let spec = load_spec(args.spec.as_deref())?;
    let sides = settle::Sides { a, b, live_a, live_b, spec: spec.as_ref() };
    let settled = settle::settle(holding, &sides, &config.compare, settle_config)?;
    settle::apply(&mut stats.groups, &settled);
    Ok(stats)
}

fn compare_once(
    args: &Args,
    a: &SourceSpec,
    b: &SourceSpec,
    (live_a, live_b): (&LiveOptions, &LiveOptions),
    config: &EngineConfig,
    use_ranges: bool,
    sink: &mut dyn engine::Sink,
) -> anyhow::Result<DiffStats> {
    if use_ranges {
        let range = sqlrange::RangeConfig {
            leaf_rows: args.leaf_rows,
            jobs: args.jobs as usize,
            verbose: !args.report.quiet,
            ..Default::default()
        };
        return sqlrange::diff_live(a, b, live_a, live_b, config, &range, sink);
    }
    let spec = load_spec(args.spec.as_deref())?;
    let (left, right) = open_pair(a, b, live_a, live_b, &config.compare, spec.as_ref())?;
    engine::diff(left, right, config, sink)
}

/// The clap command of `decant-diff`, as the binary parses it (and the `decant`
/// dispatcher renders it for completions and man pages).
pub fn command() -> clap::Command {
    use clap::CommandFactory as _;
    decant_record::cli::with_help_sections(Args::command(), "", &decant_record::conn::live_env_help())
}

/// `decant-diff`'s `main`.
pub fn main() -> std::process::ExitCode {
    use clap::FromArgMatches as _;
    decant_record::cli::main("decant-diff", || {
        let args = Args::from_arg_matches(&decant_record::cli::get_matches(command())).unwrap_or_else(|e| e.exit());
        run(&args)
    })
}
