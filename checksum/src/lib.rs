//! `decant-checksum`: content digests of decant streams, files and live
//! stores, and `--check` to re-check them later (like `sha256sum -c`).
//!
//! - [`sums`]: the digests, the checksum-file wire format and `--check`.
//!
//! Opening inputs (files, stdin, live stores) and the normalisation flags
//! are the `decant-check` library, shared with decant-diff and decant-verify.

pub mod sums;

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use decant_record::cli::{self, Outcome, EXIT_STATUS_HELP};

use crate::sums::{InputStatus, MAGIC};
use decant_check::canon::CanonicalArgs;
use decant_check::source::{LiveOptions, SourceSpec};

const AFTER_HELP: &str = "\
Output (wire format decant-checksum/1, one section per input):
  # decant-checksum/1
  # options: --time-precision=3          (only when normalisation flags are set)
  sealed  reline.ndjson.zst              STATUS  SOURCE
  5f0c…64 hex…9ad1  1000  table:operators  DIGEST  COUNT  GROUP
  STATUS is sealed (every segment ends with a matching \"end\" trailer), unsealed
  (no trailer: piped from another tool, or truncated), live (a store read through
  its exporter) or broken (altered or unreadable; the reason follows as a # line).
  GROUP is table:NAME or keys:PREFIX. The digest is order independent, so a MySQL
  table, its PostgreSQL copy and an NDJSON file of it have the same digest when,
  and only when, they hold the same records.

Examples:
  mysql-export --url mysql://root@db/reline -o reline.ndjson.zst
  decant-checksum reline.ndjson.zst > reline.b3          # nightly, from cron
  decant-checksum --check reline.b3                       # later: exit 1 if altered
  decant-checksum redis://cache:6379/0 --group-by 2       # a live Redis db
  decant-checksum postgres://app@new/reline --tables operators,api_keys
  redis-export --url redis://prod/0 | decant-checksum     # a pipe (unsealed input is fine)
  decant-checksum --combine shard-*.b3 > total.b3          # the shares of a --shard export

Shards: a stream whose header names its share (an exporter run with --shard I/N)
gets a \"# shard: I/N\" line and a \"# sum: HEX\" line (the raw sum) after each group.
--combine FILE… adds the shares' sums up per group and prints the total in the same
format, the digest of the whole export; it refuses a share that is missing, given
twice, of another N, or broken, so a total is never short or double-counted.

";

/// Prints digests of decant streams, files or live stores; --check re-checks them.
#[derive(Debug, Parser)]
#[command(name = "decant-checksum", version, after_help = format!("{AFTER_HELP}{EXIT_STATUS_HELP}"))]
pub struct Args {
    /// Inputs: files (plain or .zst), - for stdin, or live store URLs
    /// (redis://, rediss://, mysql://, postgres://, sqlite://). Default: stdin.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Read checksums from FILE (the output of decant-checksum) and re-check
    /// every input it names; exit 1 on any mismatch, missing or extra group,
    /// or a sealed file that is now unsealed or broken.
    #[arg(short, long, value_name = "FILE", conflicts_with = "inputs")]
    pub check: Option<PathBuf>,
    /// Add up the checksum files of the N shares of a `--shard` export
    /// (every share 0/N … N-1/N exactly once) and print the total, e.g.
    /// `decant-checksum --combine shard-*.b3`.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["inputs", "check"])]
    pub combine: Vec<PathBuf>,
    /// Exit 1 when an input is unsealed (a backup must end with its trailer).
    #[arg(long)]
    pub require_sealed: bool,
    /// Write the checksums to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// SQL stores: only these tables (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Redis: only keys matching this pattern (repeatable).
    #[arg(long = "match", value_name = "PATTERN")]
    pub matches: Vec<String>,
    /// Read a live store's password from FILE (first line).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Live stores: checksum only share I of N (numbered from 0), the records
    /// `EXPORTER --shard I/N` exports (SQL key ranges, Redis slot ranges);
    /// the sums say `# shard: I/N` and add up with --combine. A file's share
    /// is in its header: --shard is for live stores only.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<decant_record::Shard>,
    /// With --check: print only failures.
    #[arg(short, long)]
    pub quiet: bool,
    /// Say more on stderr, repeatable (-vv): each input as it is read, with
    /// its timing.
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Format of the lines on stderr: text, or json (one JSON object per
    /// line with a timestamp and a level, for cron and log pipelines).
    #[arg(long, value_enum, default_value_t = cli::LogFormat::Text, value_name = "FORMAT")]
    pub log_format: cli::LogFormat,
    /// Write the run's figures to FILE at the end in the Prometheus text
    /// format (node_exporter's textfile collector), failed runs included.
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// Reject lines longer than this many bytes (1 to 4294967296).
    #[arg(long, value_name = "BYTES", default_value_t = decant_record::reader::DEFAULT_MAX_LINE_BYTES,
          value_parser = cli::parse_max_line_bytes)]
    pub max_line_bytes: usize,
    /// Digest a file that begins with a header but lacks its "end" trailer
    /// (cut short; reported unsealed); without it that is an error (exit 2).
    #[arg(long)]
    pub allow_unsealed: bool,
    /// Read each stream on N worker threads (default: one per core; 1 reads
    /// in one thread). The digests do not depend on it.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub canon: CanonicalArgs,
}

impl Args {
    fn live(&self) -> LiveOptions {
        LiveOptions {
            tables: self.tables.clone(),
            // One store: a table it lacks is the exporter's error.
            skip_missing_tables: false,
            matches: self.matches.clone(),
            wheres: Vec::new(),
            password_file: self.password_file.clone(),
            exporter_dir: None,
            allow_unsealed: self.allow_unsealed,
            since: None,
            shard: self.shard,
        }
    }

    fn canon_is_default(&self) -> bool {
        self.canon.to_flags().is_empty()
    }
}

/// Runs `decant-checksum`.
pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    match &args.check {
        Some(file) => run_check(args, file),
        None if !args.combine.is_empty() => run_combine(args),
        None => run_sums(args),
    }
}

fn run_combine(args: &Args) -> anyhow::Result<Outcome> {
    let mut files = Vec::with_capacity(args.combine.len());
    for path in &args.combine {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let parsed = sums::parse_checksum_file(&text)
            .with_context(|| format!("{} (expected {MAGIC} output)", path.display()))?;
        files.push((path.display().to_string(), parsed));
    }
    let (options, total) = sums::combine(&files)?;
    let canon =
        CanonicalArgs::from_flags(&options).map_err(|e| anyhow::anyhow!("the checksum files' options line: {e}"))?;
    let out = decant_record::io::Output::create(args.output.as_deref()).context("creating the output")?;
    let mut out = std::io::BufWriter::new(out);
    out.write_all(sums::render_preamble(&canon).as_bytes())?;
    out.write_all(sums::render_input(&total).as_bytes())?;
    let out = out.into_inner().map_err(|e| e.into_error())?;
    out.finish().context("writing the checksums")?;
    if args.require_sealed && total.status != InputStatus::Sealed {
        cli::warn("a share is unsealed (no \"end\" trailer: truncated, or not written by a decant tool)");
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Success)
}

fn run_sums(args: &Args) -> anyhow::Result<Outcome> {
    if let Some(shard) = args.shard.filter(|s| !s.is_whole()) {
        let not_live = match args.inputs.is_empty() {
            true => Some("stdin"),
            false => args.inputs.iter().map(String::as_str).find(|i| !SourceSpec::parse(i).is_live()),
        };
        if let Some(input) = not_live {
            anyhow::bail!(
                "--shard {shard} reads a share of a live store, but {input} is not one: a file's share is named \
                 in its header (export it with --shard)"
            );
        }
    }
    let config = sums::Config {
        canon: args.canon.clone(),
        live: args.live(),
        max_line_bytes: args.max_line_bytes,
        threads: args.threads.unwrap_or(0),
    };
    let inputs: Vec<SourceSpec> = if args.inputs.is_empty() {
        vec![SourceSpec::Stdin]
    } else {
        args.inputs.iter().map(|s| SourceSpec::parse(s)).collect()
    };
    let out = decant_record::io::Output::create(args.output.as_deref()).context("creating the output")?;
    let mut out = std::io::BufWriter::new(out);
    out.write_all(sums::render_preamble(&args.canon).as_bytes())?;
    let mut outcome = Outcome::Success;
    for spec in &inputs {
        let sums = sums::checksum(spec, &config)?;
        match &sums.status {
            InputStatus::Broken(reason) => {
                cli::warn(format_args!("{}: BROKEN: {reason}", sums.source));
                outcome = Outcome::Failed;
            }
            InputStatus::Unsealed if args.require_sealed => {
                cli::warn(format_args!(
                    "{}: unsealed (no \"end\" trailer: truncated, or not written by a decant tool)",
                    sums.source
                ));
                outcome = Outcome::Failed;
            }
            _ => {}
        }
        out.write_all(sums::render_input(&sums).as_bytes())?;
    }
    let out = out.into_inner().map_err(|e| e.into_error())?;
    out.finish().context("writing the checksums")?;
    Ok(outcome)
}

fn run_check(args: &Args, file: &std::path::Path) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let parsed =
        sums::parse_checksum_file(&text).with_context(|| format!("{} (expected {MAGIC} output)", file.display()))?;
    if parsed.inputs.is_empty() {
        anyhow::bail!("{}: no inputs listed", file.display());
    }
    let canon = if args.canon_is_default() { None } else { Some(&args.canon) };
    let results = sums::check(&parsed, canon, &args.live(), args.max_line_bytes, args.threads.unwrap_or(0))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0usize;
    for r in &results {
        for (ok, line) in &r.lines {
            if !ok {
                failed += 1;
            }
            if !ok || !args.quiet {
                writeln!(out, "{line}")?;
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        cli::warn(format_args!("WARNING: {failed} check(s) FAILED"));
        Ok(Outcome::Failed)
    } else {
        Ok(Outcome::Success)
    }
}

/// The clap command of `decant-checksum`, as the binary parses it (and the `decant`
/// dispatcher renders it for completions and man pages).
pub fn command() -> clap::Command {
    use clap::CommandFactory as _;
    decant_record::cli::with_help_sections(Args::command(), "", &decant_record::conn::live_env_help())
}

/// `decant-checksum`'s `main`.
pub fn main() -> std::process::ExitCode {
    use clap::FromArgMatches as _;
    decant_record::cli::main("decant-checksum", || {
        let args = Args::from_arg_matches(&decant_record::cli::get_matches(command())).unwrap_or_else(|e| e.exit());
        run(&args)
    })
}
