//! The pieces every decant binary shares: exit codes, the `main` wrapper,
//! diagnostics prefixed with the tool's name (and scrubbed of secrets), the
//! common flags, progress, the end-of-run summary and the reject file.
//!
//! A binary's `main` is one line:
//!
//! ```no_run
//! # use decant_record::cli::{self, Outcome};
//! fn main() -> std::process::ExitCode {
//!     cli::main("decant-example", || -> anyhow::Result<Outcome> { Ok(Outcome::Success) })
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt::Display;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::io::{open_input, Input, Output};
use crate::reader::{ReaderOptions, RecordReader, DEFAULT_MAX_LINE_BYTES};

/// Exit status: success, no differences.
pub const EXIT_OK: u8 = 0;
/// Exit status: differences found, verification failed, or records rejected.
pub const EXIT_DIFFERENT: u8 = 1;
/// Exit status: usage or fatal error.
pub const EXIT_FATAL: u8 = 2;

/// The exit-status section every tool appends to its `--help`.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success (no differences, nothing rejected)
  1  differences found, verification failed, or some records rejected
  2  usage or fatal error";

/// What a tool does, which decides what its exit status 1 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// Reads a store, writes a stream (`*-export`).
    Source,
    /// Reads a stream, writes a store (`*-import`).
    Sink,
    /// Reads a stream, writes a stream (`decant-transform`).
    Transform,
    /// Compares or digests (`decant-verify`, `decant-diff`, `decant-checksum`).
    Checker,
}

impl ToolKind {
    /// The kind of the tool named `name` (a binary name, e.g. `pg-import`);
    /// `None` for a name that is none of decant's tools.
    pub fn of(name: &str) -> Option<ToolKind> {
        Some(match name {
            n if n.ends_with("-export") => ToolKind::Source,
            n if n.ends_with("-import") => ToolKind::Sink,
            "decant-transform" => ToolKind::Transform,
            "decant-verify" | "decant-diff" | "decant-checksum" => ToolKind::Checker,
            _ => return None,
        })
    }

    /// The exit-status section of `--help` for this kind of tool: the codes
    /// are shared ([`EXIT_OK`], [`EXIT_DIFFERENT`], [`EXIT_FATAL`]), what
    /// leads to 1 is the tool's own.
    pub fn exit_status_help(self) -> &'static str {
        match self {
            ToolKind::Source => {
                "Exit status:\n  0  success: everything was exported\n  1  some records could not be exported (named on stderr; the rest were)\n  2  usage or fatal error (the output is incomplete: no \"end\" line)"
            }
            ToolKind::Sink => {
                "Exit status:\n  0  success: every record was written (or skipped as asked)\n  1  some records were rejected (see --reject-file); the rest went in\n  2  usage or fatal error (what was committed stays; see --state)"
            }
            ToolKind::Transform => {
                "Exit status:\n  0  success: every record was transformed\n  1  some records were rejected (see --reject-file), or --check found problems\n  2  usage or fatal error (the output is incomplete: no \"end\" line)"
            }
            ToolKind::Checker => {
                "Exit status:\n  0  no differences: the data is the same\n  1  differences found, verification failed, or a checksum did not match\n  2  usage or fatal error (nothing was compared)"
            }
        }
    }
}

/// Sets a tool's text after the flags in `--help`: `text` (or the command's
/// own after-help when `text` is empty), then the environment variables the
/// tool reads (`env`, e.g. [`crate::conn::env_help`]), then the exit-status
/// section, once: [`ToolKind::exit_status_help`] for the command's name,
/// [`EXIT_STATUS_HELP`] for another.
pub fn with_help_sections(cmd: clap::Command, text: &str, env: &str) -> clap::Command {
    let mut body =
        if text.is_empty() { cmd.get_after_help().map(|s| s.to_string()).unwrap_or_default() } else { text.to_owned() };
    if let Some(i) = body.find("Exit status:") {
        body.truncate(i);
    }
    let mut out = body.trim_end().to_owned();
    if !env.is_empty() {
        out.push_str("\n\n");
        out.push_str(env.trim_end());
    }
    out.push_str("\n\n");
    out.push_str(ToolKind::of(cmd.get_name()).map_or(EXIT_STATUS_HELP, ToolKind::exit_status_help));
    cmd.after_help(fit_command_lines(out.trim_start(), HELP_WIDTH))
}

/// The width `--help` text is laid out for: a terminal's default.
pub const HELP_WIDTH: usize = 80;

/// Breaks every over-long command line of help text (a line indented by two
/// spaces, as examples are) into shell continuation lines (` \` and a
/// six-space indent) at word boundaries outside quotes, so that nothing wraps
/// at `width` columns into lines that would paste as separate commands.
/// Other lines are left to clap's wrapping.
pub fn fit_command_lines(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let lines: Vec<&str> = text.lines().collect();
    let mut next = 0;
    while next < lines.len() {
        let start = next;
        let is_command = lines[start].starts_with("  ") && !lines[start].starts_with("   ");
        // A command already continued over more lines is laid out as one.
        next += 1;
        while is_command && next < lines.len() && lines[next - 1].ends_with(" \\") && lines[next].starts_with("   ") {
            next += 1;
        }
        let group = &lines[start..next];
        if !is_command || group.iter().all(|l| l.chars().count() <= width) {
            for line in group {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        let continued = group[group.len() - 1].ends_with(" \\");
        let body = group.iter().map(|l| l.trim().trim_end_matches('\\').trim_end()).collect::<Vec<_>>().join(" ");
        // A shell comment ends the command: a ` \` inside it continues
        // nothing, so it is never broken; it goes above the command when it
        // does not fit after it.
        let mut words = shell_words(&body);
        let comment = words.iter().position(|w| w.starts_with('#')).map(|i| words.split_off(i).join(" "));
        // A flag stays on the line of its value.
        let mut joined: Vec<String> = Vec::new();
        for word in words {
            let joins = joined.last().is_some_and(|w| w.starts_with('-') && !w.contains(' '))
                && !word.starts_with(['-', '|', '#', '<', '>', '&']);
            match joined.last_mut() {
                Some(last) if joins => {
                    last.push(' ');
                    last.push_str(&word);
                }
                _ => joined.push(word),
            }
        }
        // …unless the pair does not fit on a continuation line at all.
        let words: Vec<String> = joined
            .into_iter()
            .flat_map(|w| match w.split_once(' ') {
                Some((flag, value)) if flag.starts_with('-') && 6 + w.chars().count() + 2 > width => {
                    vec![flag.to_owned(), value.to_owned()]
                }
                _ => vec![w],
            })
            .collect();
        let mut command = String::new();
        let mut current = String::from("  ");
        let mut first = true;
        for word in words {
            let room = width.saturating_sub(2); // for the " \\"
            if !first && current.chars().count() + 1 + word.chars().count() > room {
                command.push_str(&current);
                command.push_str(" \\\n");
                current = String::from("      ");
                current.push_str(&word);
            } else {
                if !first {
                    current.push(' ');
                }
                current.push_str(&word);
            }
            first = false;
        }
        match comment {
            Some(c) if !continued && current.chars().count() + 1 + c.chars().count() <= width => {
                current.push(' ');
                current.push_str(&c);
            }
            Some(c) => out.push_str(&format!("  {c}\n")),
            None => {}
        }
        out.push_str(&command);
        out.push_str(&current);
        if continued {
            out.push_str(" \\");
        }
        out.push('\n');
    }
    if !text.ends_with('\n') {
        out.pop();
    }
    out
}

/// Splits a command line at spaces outside single or double quotes.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (c, quote) {
            ('\'' | '"', None) => {
                quote = Some(c);
                word.push(c);
            }
            (c, Some(q)) if c == q => {
                quote = None;
                word.push(c);
            }
            (' ', None) => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// How a run ended, when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: differences found, verification failed or records rejected.
    Failed,
}

static TOOL: OnceLock<&'static str> = OnceLock::new();
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The running tool's name (`decant` until [`main`] sets it).
pub fn tool_name() -> &'static str {
    TOOL.get().copied().unwrap_or("decant")
}

/// Registers a secret (a password) that must never be printed.
pub fn register_secret(secret: &str) {
    // Very short secrets would scrub ordinary words out of messages.
    if secret.len() < 3 {
        return;
    }
    if let Ok(mut s) = SECRETS.lock() {
        if !s.iter().any(|x| x == secret) {
            s.push(secret.to_owned());
            // Longest first, so a secret containing another is replaced whole.
            s.sort_by_key(|x| std::cmp::Reverse(x.len()));
        }
    }
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    if let Ok(secrets) = SECRETS.lock() {
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
    }
    out
}

static JSON_LOGS: AtomicBool = AtomicBool::new(false);

/// Makes every stderr line a JSON object from now on (`--log-format json`).
pub fn set_json_logs(on: bool) {
    JSON_LOGS.store(on, Ordering::Relaxed);
}

/// True under `--log-format json`.
pub fn json_logs() -> bool {
    JSON_LOGS.load(Ordering::Relaxed)
}

static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// How many `-v` the command line gives (`-v`, `-vv`, `--verbose`).
pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// Sets the verbosity (normally read from the command line by [`main`]).
pub fn set_verbosity(level: u8) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

/// Prints a diagnostic line when the run is at least `level` verbose
/// (`-v` is 1: connection targets, per-table and per-batch progress, timings,
/// the DDL run; `-vv` is 2: more of the same, per statement). Level "debug"
/// under `--log-format json`.
pub fn verbose(level: u8, message: impl Display) {
    if verbosity() >= level {
        log_lines("debug", &format!("{}: {message}", tool_name()));
    }
}

/// The number of `-v` / `--verbose` on the command line, read before parsing
/// (like `--log-format json`) so that every tool shares one switch.
fn args_verbosity(args: impl Iterator<Item = std::ffi::OsString>) -> u8 {
    let mut level: u8 = 0;
    for arg in args {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--verbose" {
            level = level.saturating_add(1);
        } else if let Some(vs) = arg.strip_prefix('-').filter(|v| !v.is_empty() && v.bytes().all(|b| b == b'v')) {
            level = level.saturating_add(vs.len().min(255) as u8);
        }
    }
    level
}

/// True when the command line asks for `--log-format json`: read before
/// parsing, so that even a usage error or a failure to open the input is
/// logged as JSON.
fn args_ask_for_json_logs(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let mut previous_was_flag = false;
    for arg in args {
        let arg = arg.to_string_lossy();
        if arg == "--log-format=json" || (previous_was_flag && arg == "json") {
            return true;
        }
        if arg == "--" {
            return false;
        }
        previous_was_flag = arg == "--log-format";
    }
    false
}

/// Writes lines to stderr, secrets scrubbed. Under `--log-format json` each
/// line becomes one JSON object with `ts` (UTC, RFC 3339) and `level`: a line
/// that already is a JSON object gains the two members (the level given
/// here, unless it has one), any other line becomes
/// `{"ts":…,"level":…,"tool":…,"message":…}` with the `tool: ` prefix taken off.
pub fn log_lines(level: &str, text: &str) {
    let text = redact(text);
    let mut out = String::with_capacity(text.len() + 64);
    if !json_logs() {
        out.push_str(&text);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    } else {
        let ts = crate::time::now_rfc3339();
        let prefix = format!("{}: ", tool_name());
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut object = match serde_json::from_str::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => {
                    let mut map = serde_json::Map::new();
                    map.insert("tool".into(), tool_name().into());
                    map.insert("message".into(), line.strip_prefix(&prefix).unwrap_or(line).into());
                    map
                }
            };
            let mut ordered = serde_json::Map::new();
            ordered.insert("ts".into(), ts.clone().into());
            ordered.insert("level".into(), object.remove("level").unwrap_or_else(|| level.into()));
            ordered.extend(object);
            out.push_str(&serde_json::Value::Object(ordered).to_string());
            out.push('\n');
        }
    }
    let mut err = io::stderr().lock();
    let _ = err.write_all(out.as_bytes()).and_then(|_| err.flush());
}

/// Prints a diagnostic line on stderr: `tool: message`, secrets scrubbed
/// (a JSON object with level "warn" under `--log-format json`).
pub fn warn(message: impl Display) {
    log_lines("warn", &format!("{}: {message}", tool_name()));
}

/// Prints an error line on stderr, like [`warn`] with level "error".
pub fn error(message: impl Display) {
    log_lines("error", &format!("{}: {message}", tool_name()));
}

/// Parses the command line with `cmd`: `--help` and `--version` print and
/// exit 0; a usage error exits 2 with clap's message, one JSON object under
/// `--log-format json`.
pub fn get_matches(cmd: clap::Command) -> clap::ArgMatches {
    match cmd.try_get_matches() {
        Ok(m) => m,
        Err(e) if !json_logs() || !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("usage error").trim_start_matches("error: ");
            error(format_args!("{first} (see --help)"));
            std::process::exit(i32::from(EXIT_FATAL));
        }
    }
}

/// True when the error chain contains a closed pipe (`tool | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<crate::reader::ReadError>()
                .is_some_and(|e| matches!(e, crate::reader::ReadError::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe))
    })
}

/// Runs a tool's body and turns its result into the shared exit status:
/// `Ok(Success)` 0, `Ok(Failed)` 1, `Err` 2 with the error chain printed once
/// (`tool: context: cause`). A closed output pipe exits 0 quietly.
pub fn main(tool: &'static str, body: impl FnOnce() -> anyhow::Result<Outcome>) -> ExitCode {
    let _ = TOOL.set(tool);
    let started = Instant::now();
    crate::interrupt::install(tool);
    if args_ask_for_json_logs(std::env::args_os().skip(1)) {
        set_json_logs(true);
    }
    set_verbosity(args_verbosity(std::env::args_os().skip(1)));
    let metrics_file = metrics_file_arg(std::env::args_os().skip(1));
    let status = match body() {
        Ok(Outcome::Success) => EXIT_OK,
        Ok(Outcome::Failed) => EXIT_DIFFERENT,
        Err(e) if is_broken_pipe(&e) => EXIT_OK,
        Err(e) => {
            error(error_chain(&e));
            EXIT_FATAL
        }
    };
    if let Some(path) = metrics_file {
        let end = crate::metrics::RunEnd { exit_status: status, duration: started.elapsed() };
        if let Err(e) = crate::metrics::write_file(&path, tool, end) {
            error(format_args!("writing the metrics file {}: {e}", path.display()));
            return ExitCode::from(EXIT_FATAL);
        }
    }
    ExitCode::from(status)
}

/// The error and its causes as one line, `context: cause: cause`, leaving
/// out a cause whose text the line already holds (drivers often repeat
/// their source's message in their own: "password authentication failed
/// for user \"app\": password authentication failed for user \"app\"").
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The `--metrics-file` of the command line, read before parsing so that
/// a run that fails early (even on a bad flag) still writes its metrics.
fn metrics_file_arg(args: impl Iterator<Item = std::ffi::OsString>) -> Option<PathBuf> {
    let mut previous_was_flag = false;
    for arg in args {
        if previous_was_flag {
            return Some(PathBuf::from(arg));
        }
        let text = arg.to_string_lossy();
        if let Some(path) = text.strip_prefix("--metrics-file=") {
            return Some(PathBuf::from(path));
        }
        if text == "--" {
            return None;
        }
        previous_was_flag = text == "--metrics-file";
    }
    None
}

/// Format of progress and summary lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for cron and log pipelines.
    Json,
}

/// `--progress`, `--quiet`, `--log-format`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReportArgs {
    /// Show progress on stderr even when it is not a terminal.
    #[arg(long, conflicts_with = "quiet")]
    pub progress: bool,
    /// No progress and no summary; errors and warnings only.
    #[arg(short, long)]
    pub quiet: bool,
    /// Say more on stderr, repeatable (-vv): the connection target (password
    /// hidden), per-table and per-batch progress lines with timings, the DDL
    /// statements run.
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Format of every line on stderr: text, or json (one JSON object per
    /// line with "ts" and "level": progress, summary, warnings and errors).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
    /// Write the run's figures to FILE at the end, failed runs included, in
    /// the Prometheus text format (node_exporter's textfile collector):
    /// records, skipped, rejects, errors, bytes, duration, exit status, last
    /// success time. E.g. --metrics-file /var/lib/node_exporter/backup.prom
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
}

/// `-i/--input FILE` (stdin by default), `--max-line-bytes` and `--allow-unsealed`.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Read from FILE instead of stdin (`-` is stdin; zstd input is detected).
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Reject lines longer than this many bytes (1 to 4294967296).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE_BYTES, value_parser = parse_max_line_bytes)]
    pub max_line_bytes: usize,
    /// Read a stream that begins with a header but lacks its "end" trailer
    /// (cut short, or written by a tool that failed); without it that is an
    /// error, as the missing trailer means lost records.
    #[arg(long)]
    pub allow_unsealed: bool,
}

impl InputArgs {
    /// The reader options these flags ask for.
    pub fn reader_options(&self) -> ReaderOptions {
        ReaderOptions {
            max_line_bytes: self.max_line_bytes,
            allow_unsealed: self.allow_unsealed,
            ..ReaderOptions::default()
        }
    }

    /// Opens the input as a record reader.
    pub fn open(&self) -> anyhow::Result<RecordReader<Input>> {
        open_reader(self.input.as_deref(), self.reader_options())
    }

    /// Opens the input as a record reader, with a meter of the bytes read
    /// when it is a file (for [`Progress::set_meter`]).
    pub fn open_metered(&self) -> anyhow::Result<(RecordReader<Input>, Option<crate::io::InputMeter>)> {
        let path = self.input.as_deref();
        let (input, meter) = crate::io::open_input_metered(path).with_context(|| match path {
            Some(p) => format!("opening {}", p.display()),
            None => "opening stdin".to_owned(),
        })?;
        Ok((RecordReader::with_options(input, self.reader_options()), meter))
    }
}

/// The largest `--max-line-bytes` accepted: 4 GiB. One line is held in memory
/// whole, and nothing decant writes comes near it.
pub const MAX_LINE_BYTES_LIMIT: usize = 1 << 32;

/// Parses `--max-line-bytes`: a whole number from 1 to [`MAX_LINE_BYTES_LIMIT`].
pub fn parse_max_line_bytes(text: &str) -> Result<usize, String> {
    parse_limit(text, 1, MAX_LINE_BYTES_LIMIT as u64).map(|n| n as usize)
}

/// Parses a user-given limit and checks it is within `min..=max`, so a huge
/// value cannot wrap around in arithmetic later.
pub fn parse_limit(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 =
        text.trim().parse().map_err(|_| format!("{text:?} is not a whole number (expected {min} to {max})"))?;
    if n < min || n > max {
        return Err(format!("{n} is out of range (expected {min} to {max})"));
    }
    Ok(n)
}

/// Opens a file (or stdin for `None`/`-`) as a record reader.
pub fn open_reader(path: Option<&Path>, options: ReaderOptions) -> anyhow::Result<RecordReader<Input>> {
    let input = open_input(path).with_context(|| match path {
        Some(p) => format!("opening {}", p.display()),
        None => "opening stdin".to_owned(),
    })?;
    Ok(RecordReader::with_options(input, options))
}

/// `-o/--output FILE` (stdout by default; `.zst` compresses).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// Write to FILE instead of stdout (a name ending in .zst is compressed).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    /// Creates the output.
    pub fn create(&self) -> anyhow::Result<Output> {
        Output::create(self.output.as_deref()).context("creating the output")
    }
}

/// `--url URL` and `--password-file FILE` for a source store.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceArgs {
    /// Source URL (redis://, rediss://, redis+unix:///path?db=N, mysql://, postgres://, sqlite://);
    /// defaults to $SOURCE_URL.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Read the password from FILE (first line), overriding the URL's.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// `--url URL` and `--password-file FILE` for a target store.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TargetArgs {
    /// Target URL (redis://, rediss://, redis+unix:///path?db=N, mysql://, postgres://, sqlite://);
    /// defaults to $TARGET_URL.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Read the password from FILE (first line), overriding the URL's.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// `--reject-file FILE`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RejectArgs {
    /// Write records that cannot be processed to FILE (NDJSON, each with a
    /// "rejected" reason) and carry on; without it the first one stops the run.
    #[arg(long, value_name = "FILE")]
    pub reject_file: Option<PathBuf>,
}

/// Progress on stderr: drawn in place on a terminal, or as periodic lines with
/// `--progress`; nothing with `--quiet` or when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    tty: bool,
    json: bool,
    label: String,
    total: Option<u64>,
    meter: Option<crate::io::InputMeter>,
    count: u64,
    started: Instant,
    last_draw: Instant,
    next_check: u64,
    interval: Duration,
    drew: bool,
}

impl Progress {
    /// A progress reporter counting `label` (e.g. "keys", "rows").
    pub fn new(report: &ReportArgs, label: &str, total: Option<u64>) -> Progress {
        let tty = io::stderr().is_terminal();
        // Off a terminal, periodic lines only when asked for (--progress, -v).
        let enabled = !report.quiet && (report.progress || tty || report.verbose > 0 || verbosity() > 0);
        let now = Instant::now();
        Progress {
            enabled,
            tty,
            json: report.log_format == LogFormat::Json,
            label: label.to_owned(),
            total,
            meter: None,
            count: 0,
            started: now,
            last_draw: now,
            next_check: 1024,
            interval: if tty { Duration::from_millis(250) } else { Duration::from_secs(5) },
            drew: false,
        }
    }

    /// A reporter that never draws.
    pub fn hidden() -> Progress {
        Progress::new(&ReportArgs { quiet: true, ..ReportArgs::default() }, "", None)
    }

    /// Sets or changes the expected total (enables the ETA).
    pub fn set_total(&mut self, total: Option<u64>) {
        self.total = total;
    }

    /// Measures the progress by the bytes read of an input file (percentage
    /// and ETA from its size) instead of by a total count.
    pub fn set_meter(&mut self, meter: Option<crate::io::InputMeter>) {
        self.meter = meter.filter(|m| m.total() > 0);
    }

    /// Counts `n` more items; redraws at most a few times a second.
    #[inline]
    pub fn inc(&mut self, n: u64) {
        self.count += n;
        if self.enabled && self.count >= self.next_check {
            self.next_check = self.count + 1024;
            if self.last_draw.elapsed() >= self.interval {
                self.draw();
            }
        }
    }

    /// Items counted so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn draw(&mut self) {
        self.last_draw = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = self.count as f64 / secs;
        let eta = self.total.filter(|t| *t > self.count && rate > 0.0).map(|t| ((t - self.count) as f64 / rate) as u64);
        // (bytes read, file size, ETA) when reading a file.
        let by_bytes = self.meter.as_ref().map(|m| {
            let (done, total) = (m.consumed().min(m.total()), m.total());
            let byte_rate = done as f64 / secs;
            let eta = (byte_rate > 0.0 && done < total).then(|| ((total - done) as f64 / byte_rate) as u64);
            (done, total, eta)
        });
        let eta = by_bytes.map_or(eta, |(_, _, e)| e);
        let line = if self.json {
            let mut o = serde_json::json!({"tool": tool_name(), "event": "progress", "label": self.label, "count": self.count, "per_second": rate.round(), "elapsed_s": (secs * 10.0).round() / 10.0});
            if let Some(t) = self.total {
                o["total"] = t.into();
            }
            if let Some((done, total, _)) = by_bytes {
                o["input_bytes_read"] = done.into();
                o["input_bytes"] = total.into();
                o["percent"] = ((done as f64 * 1000.0 / total as f64).round() / 10.0).into();
            }
            if let Some(e) = eta {
                o["eta_s"] = e.into();
            }
            o.to_string()
        } else {
            let mut l = format!(
                "{}: {} {}, {}/s",
                tool_name(),
                group_digits(self.count),
                self.label,
                group_digits(rate as u64)
            );
            if let Some(t) = self.total {
                l.push_str(&format!(" of {}", group_digits(t)));
            }
            if let Some((done, total, _)) = by_bytes {
                l.push_str(&format!(", {:.1}% of {}", done as f64 * 100.0 / total as f64, human_bytes(total)));
            }
            if let Some(e) = eta {
                l.push_str(&format!(", ETA {}", human_duration(e)));
            }
            l
        };
        if self.tty && !self.json {
            let _ = write!(io::stderr().lock(), "\r{line}\x1b[K");
            self.drew = true;
        } else {
            log_lines("info", &line);
        }
    }

    /// Clears the in-place progress line.
    pub fn finish(&mut self) {
        if self.drew {
            let _ = write!(io::stderr().lock(), "\r\x1b[K");
            self.drew = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `1234567` → `1,234,567`.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs / 60 % 60),
    }
}

/// Per-group counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Written (copied, imported, exported).
    pub written: u64,
    /// Skipped on purpose (existing keys, expired keys, filtered).
    pub skipped: u64,
    /// Rejected or failed.
    pub rejected: u64,
}

/// The end-of-run summary, one line per table / key group.
#[derive(Debug)]
pub struct Summary {
    labels: [&'static str; 3],
    groups: BTreeMap<String, Counts>,
    /// Counts that are not per key group (e.g. hash fields skipped), printed
    /// after the total when not zero.
    counted_notes: Vec<(&'static str, u64)>,
    started: Instant,
    /// Lines printed after the table (e.g. schema objects not carried).
    notes: Vec<String>,
    shard: Option<crate::shard::Shard>,
}

impl Default for Summary {
    fn default() -> Self {
        Summary::new()
    }
}

impl Summary {
    /// A summary with columns "written", "skipped", "rejected".
    pub fn new() -> Summary {
        Summary {
            labels: ["written", "skipped", "rejected"],
            groups: BTreeMap::new(),
            counted_notes: Vec::new(),
            started: Instant::now(),
            notes: Vec::new(),
            shard: None,
        }
    }

    /// Adds a line printed after the table (e.g. the schema objects that
    /// were not carried), so the end of a run repeats what its warnings said.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// The notes added so far.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Renames the three columns. Every tool keeps the default names
    /// (written, skipped, rejected), so scripts read one set of names.
    pub fn with_labels(mut self, labels: [&'static str; 3]) -> Summary {
        self.labels = labels;
        self
    }

    /// Says which share of a `--shard i/N` run the counts are (a `shard i/N`
    /// line in text, a `"shard"` member in JSON); `None` or `0/1`: no share.
    pub fn with_shard(mut self, shard: Option<crate::shard::Shard>) -> Summary {
        self.shard = shard.filter(|s| !s.is_whole());
        self
    }

    /// The counts of one group, created at zero.
    pub fn group(&mut self, name: &str) -> &mut Counts {
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_owned(), Counts::default());
        }
        self.groups.get_mut(name).expect("inserted above")
    }

    /// Adds `n` to a count that is not per group (`"hash fields already
    /// expired, skipped"`), printed after the total line when not zero.
    pub fn add_note(&mut self, what: &'static str, n: u64) {
        match self.counted_notes.iter_mut().find(|(w, _)| *w == what) {
            Some((_, total)) => *total += n,
            None => self.counted_notes.push((what, n)),
        }
    }

    /// All groups.
    pub fn groups(&self) -> &BTreeMap<String, Counts> {
        &self.groups
    }

    /// The sums over all groups.
    pub fn totals(&self) -> Counts {
        self.groups.values().fold(Counts::default(), |mut t, c| {
            t.written += c.written;
            t.skipped += c.skipped;
            t.rejected += c.rejected;
            t
        })
    }

    /// The summary as text lines (a table with a total line).
    pub fn render_text(&self) -> String {
        let width = self.groups.keys().map(|k| k.chars().count()).max().unwrap_or(5).max(5);
        let [a, b, c] = self.labels;
        let mut out = format!("{:<width$}  {a:>12}  {b:>12}  {c:>12}\n", "group");
        let mut line = |name: &str, n: &Counts| {
            out.push_str(&format!(
                "{name:<width$}  {:>12}  {:>12}  {:>12}\n",
                group_digits(n.written),
                group_digits(n.skipped),
                group_digits(n.rejected)
            ));
        };
        for (name, n) in &self.groups {
            line(name, n);
        }
        line("total", &self.totals());
        for (what, n) in self.counted_notes.iter().filter(|(_, n)| *n > 0) {
            out.push_str(&format!("{what}: {}\n", group_digits(*n)));
        }
        if let Some(shard) = self.shard {
            out.push_str(&format!("shard {shard}\n"));
        }
        out.push_str(&format!("elapsed {:.1}s\n", self.started.elapsed().as_secs_f64()));
        for n in &self.notes {
            out.push_str(n);
            out.push('\n');
        }
        out
    }

    /// The summary as JSON lines: one per group, then the total.
    pub fn render_json(&self) -> String {
        let [a, b, c] = self.labels;
        let elapsed = (self.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let mut out = String::new();
        let mut line = |event: &str, name: Option<&str>, n: &Counts| {
            let mut o = serde_json::json!({"tool": tool_name(), "event": event, a: n.written, b: n.skipped, c: n.rejected, "elapsed_s": elapsed});
            if let Some(name) = name {
                o["group"] = name.into();
            }
            if let Some(shard) = self.shard {
                o["shard"] = shard.to_string().into();
            }
            out.push_str(&o.to_string());
            out.push('\n');
        };
        for (name, n) in &self.groups {
            line("summary", Some(name), n);
        }
        line("total", None, &self.totals());
        for (what, n) in self.counted_notes.iter().filter(|(_, n)| *n > 0) {
            let o = serde_json::json!({"tool": tool_name(), "event": "note", "what": what, "count": n});
            out.push_str(&o.to_string());
            out.push('\n');
        }
        for n in &self.notes {
            out.push_str(&serde_json::json!({"tool": tool_name(), "event": "note", "message": n}).to_string());
            out.push('\n');
        }
        out
    }

    /// Prints the summary on stderr (unless `--quiet`), and keeps its totals
    /// for `--metrics-file`.
    pub fn print(&self, report: &ReportArgs) {
        crate::metrics::record_counts(self.totals());
        if report.quiet {
            return;
        }
        let text = match report.log_format {
            LogFormat::Text => {
                self.render_text().lines().map(|l| format!("{}: {l}\n", tool_name())).collect::<String>()
            }
            LogFormat::Json => self.render_json(),
        };
        log_lines("info", &text);
    }
}

/// Records that could not be processed: written to the reject file with their
/// reason, or, without one, an error that stops the run.
///
/// A rejected record is written as its original JSON object plus a
/// `"rejected": {"reason": …, "line": …, "tool": …}` member, so a reject file
/// is itself a decant stream that can be fixed and fed back in. A line that
/// was not a JSON object is written as `{"kind":"rejected_line", "line": …,
/// "reason": …, "text": …}` (or `"b64"` when not UTF-8).
#[derive(Debug)]
pub struct Rejects {
    file: Option<(PathBuf, BufWriter<File>)>,
    count: u64,
}

impl Rejects {
    /// Opens the reject file (truncating it, or appending for a resumed run).
    pub fn open(path: Option<&Path>, append: bool) -> anyhow::Result<Rejects> {
        let file = match path {
            None => None,
            Some(p) => {
                let f = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .append(append)
                    .truncate(!append)
                    .open(p)
                    .with_context(|| format!("opening reject file {}", p.display()))?;
                Some((p.to_path_buf(), BufWriter::new(f)))
            }
        };
        Ok(Rejects { file, count: 0 })
    }

    /// True when a reject file is set (rejects do not stop the run).
    pub fn is_enabled(&self) -> bool {
        self.file.is_some()
    }

    /// Records rejected so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Rejects one record. `what` names it for the error message (e.g.
    /// `line 12`, `key "apikey:1"`, `table operators, id 5, column "email"`);
    /// `record` is its JSON line. Without a reject file this returns the error
    /// that should stop the run.
    pub fn reject(&mut self, line: Option<u64>, what: &str, record: &[u8], reason: &str) -> anyhow::Result<()> {
        self.count += 1;
        let Some((path, out)) = self.file.as_mut() else {
            anyhow::bail!("{what}: {reason} (use --reject-file FILE to set such records aside and carry on)");
        };
        let mut info = serde_json::json!({"reason": redact(reason), "tool": tool_name()});
        if let Some(l) = line {
            info["line"] = l.into();
        }
        let trimmed = trim_ascii(record);
        let is_object = trimmed.len() >= 2
            && trimmed[0] == b'{'
            && trimmed[trimmed.len() - 1] == b'}'
            && serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok();
        let result = if is_object {
            let body = &trimmed[..trimmed.len() - 1];
            let empty = trim_ascii(&body[1..]).is_empty();
            out.write_all(body)
                .and_then(|_| out.write_all(if empty { b"\"rejected\":" } else { b",\"rejected\":" }))
                .and_then(|_| out.write_all(info.to_string().as_bytes()))
                .and_then(|_| out.write_all(b"}\n"))
        } else {
            let mut o = serde_json::json!({"kind": "rejected_line", "rejected": info});
            match std::str::from_utf8(record) {
                Ok(t) => o["text"] = t.into(),
                Err(_) => {
                    use base64::Engine as _;
                    o["b64"] = crate::value::B64.encode(record).into();
                }
            }
            writeln!(out, "{o}")
        };
        result.with_context(|| format!("writing reject file {}", path.display()))
    }

    /// Flushes the reject file.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        if let Some((path, out)) = self.file.as_mut() {
            out.flush().with_context(|| format!("writing reject file {}", path.display()))?;
        }
        Ok(())
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_example_lines_become_continuation_lines() {
        let text = "Examples:\n  mysql-export --url mysql://app@db/reline --tables 'users,orders' --where 'orders:created_at >= \"2025-01-01\"'\n  short one\nProse that is longer than the width is left alone for clap to wrap as it likes, really.\n";
        let out = fit_command_lines(text, 80);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "  mysql-export --url mysql://app@db/reline --tables 'users,orders' \\");
        assert_eq!(lines[2], "      --where 'orders:created_at >= \"2025-01-01\"'");
        assert_eq!(lines[3], "  short one");
        assert!(lines[4].starts_with("Prose"));
        assert!(out.lines().filter(|l| l.starts_with("  ")).all(|l| l.chars().count() <= 80), "{out}");
        // A comment is never broken (a " \\" in it continues nothing): it
        // stays at the end when it fits, else it goes above the command.
        let text = "  mysql-import -i patch.ndjson --url mysql://db/reline --mode upsert # applies rows and deletes\n";
        let out = fit_command_lines(text, 80);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "  # applies rows and deletes", "{out}");
        assert_eq!(lines[1], "  mysql-import -i patch.ndjson --url mysql://db/reline --mode upsert", "{out}");
        let text =
            "  mysql-export --url mysql://app@replica/reline --shard 2/8 -o reline-2.ndjson.zst # share 2 of 8\n";
        let out = fit_command_lines(text, 80);
        assert!(out.lines().nth(1).unwrap().ends_with("-o reline-2.ndjson.zst # share 2 of 8"), "{out}");
        // A line that was already continued keeps its " \\".
        let out = fit_command_lines(&format!("  {} \\\n      --b \\\n", "--a ".repeat(30).trim_end()), 80);
        assert!(out.lines().all(|l| l.ends_with(" \\") && l.chars().count() <= 80), "{out}");
        assert!(out.lines().last().unwrap().ends_with(" --b \\"), "{out}");
        // A command continued by hand with a comment too long for its last
        // line: laid out as one, the comment above it.
        let text = "  pg-import -i rows.ndjson --url postgres://db/relay --mode upsert \\\n      --key usage_records:api_key_id,created_at   # rows lack the AUTO_INCREMENT id\n";
        let out = fit_command_lines(text, 80);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "  # rows lack the AUTO_INCREMENT id", "{out}");
        assert!(lines[1].starts_with("  pg-import") && lines[1].ends_with(" \\"), "{out}");
        assert_eq!(lines[2], "      --key usage_records:api_key_id,created_at", "{out}");
    }

    #[test]
    fn limits_are_checked_for_range() {
        assert_eq!(parse_max_line_bytes("1024"), Ok(1024));
        assert!(parse_max_line_bytes("0").unwrap_err().contains("out of range"));
        let huge = parse_max_line_bytes("18446744073709551615").unwrap_err();
        assert!(huge.contains("out of range"), "{huge}");
        assert!(parse_max_line_bytes("18446744073709551616").unwrap_err().contains("not a whole number"));
        assert!(parse_max_line_bytes("-1").is_err());
        assert_eq!(parse_max_line_bytes("4294967296"), Ok(MAX_LINE_BYTES_LIMIT));
    }

    #[test]
    fn verbosity_counts_every_spelling() {
        let level = |v: &[&str]| args_verbosity(v.iter().map(std::ffi::OsString::from));
        assert_eq!(level(&["-i", "x"]), 0);
        assert_eq!(level(&["-v"]), 1);
        assert_eq!(level(&["-vv", "--verbose"]), 3);
        assert_eq!(level(&["--", "-v"]), 0);
        assert_eq!(level(&["-", "--version"]), 0);
    }

    #[test]
    fn json_logs_are_asked_for_by_either_spelling() {
        let ask = |v: &[&str]| args_ask_for_json_logs(v.iter().map(std::ffi::OsString::from));
        assert!(ask(&["-i", "x", "--log-format", "json"]));
        assert!(ask(&["--log-format=json"]));
        assert!(!ask(&["--log-format", "text", "json"]));
        assert!(!ask(&["--", "--log-format=json"]));
    }

    #[test]
    fn an_error_chain_says_each_cause_once() {
        let inner = anyhow::anyhow!("password authentication failed for user \"app\"");
        let wrapped = inner.context("error returned from database: password authentication failed for user \"app\"");
        let e = wrapped.context("connecting to postgres://app:***@h/db");
        assert_eq!(
            error_chain(&e),
            "connecting to postgres://app:***@h/db: error returned from database: password authentication failed for user \"app\""
        );
        let plain = anyhow::anyhow!("cause").context("context");
        assert_eq!(error_chain(&plain), format!("{plain:#}"));
    }

    #[test]
    fn digits_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1234567), "1,234,567");
    }

    #[test]
    fn rejects_keep_the_record_and_add_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rej.ndjson");
        let mut r = Rejects::open(Some(&path), false).unwrap();
        r.reject(Some(3), "line 3", br#"{"kind":"row","table":"t","data":{"id":1}}"#, "too long").unwrap();
        r.reject(Some(4), "line 4", b"not json", "bad JSON").unwrap();
        r.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["table"], "t");
        assert_eq!(lines[0]["rejected"]["reason"], "too long");
        assert_eq!(lines[0]["rejected"]["line"], 3);
        assert_eq!(lines[1]["kind"], "rejected_line");
        assert_eq!(lines[1]["text"], "not json");
        assert_eq!(r.count(), 2);
        // The rejected row still decodes as a row (the extra member is ignored).
        assert!(matches!(crate::Record::decode(text.lines().next().unwrap().as_bytes()), Ok(crate::Record::Row(_))));
    }

    #[test]
    fn without_a_reject_file_the_first_reject_is_an_error() {
        let mut r = Rejects::open(None, false).unwrap();
        let e = r.reject(Some(1), "line 1", b"{}", "bad").unwrap_err().to_string();
        assert!(e.contains("line 1: bad"), "{e}");
        assert!(e.contains("--reject-file"), "{e}");
    }

    #[test]
    fn summary_renders() {
        let mut s = Summary::new().with_labels(["copied", "skipped", "errors"]);
        s.group("apikey").written += 3;
        s.group("session").skipped += 1;
        let text = s.render_text();
        assert!(text.contains("copied"), "{text}");
        assert!(text.contains("total"), "{text}");
        let json = s.render_json();
        let last: serde_json::Value = serde_json::from_str(json.lines().last().unwrap()).unwrap();
        assert_eq!(last["copied"], 3);
        assert_eq!(last["skipped"], 1);
        assert!(last.get("shard").is_none(), "{json}");
        assert!(!text.contains("shard"), "{text}");
    }

    #[test]
    fn summary_names_its_share() {
        let mut s = Summary::new().with_shard(Some("2/7".parse().unwrap()));
        s.group("t").written += 1;
        assert!(s.render_text().lines().any(|l| l == "shard 2/7"), "{}", s.render_text());
        for line in s.render_json().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["shard"], "2/7", "{line}");
        }
        let whole = Summary::new().with_shard(Some(crate::shard::Shard::whole()));
        assert!(!whole.render_text().contains("shard"));
    }
}
