//! `dynamodb-export`: DynamoDB tables as `schema` + `row` lines.
//!
//! Each table is read by a parallel Scan: `--segments N` threads, each
//! paging through its segment (TotalSegments = N, or N × shards with
//! `--shard i/K`, this process taking segments i·N … i·N+N−1). Pages go to
//! one writer (this thread) through a bounded channel, so memory holds a few
//! pages, whatever the table's size. `--rate-limit` shares a read-unit
//! budget between the threads, paid with each page's ConsumedCapacity.
//!
//! `--state FILE` (with `-o FILE`, not compressed): the output is written in
//! place and sealed every few seconds (an `end` trailer, an fsync, then the
//! last evaluated key of every segment saved to the state file, then a new
//! `header`); a run killed at any point is resumed by running the same
//! command: the file is cut back to the last seal and every segment goes on
//! from its saved key. The file is then a concatenation of sealed segments
//! holding every item once.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use decant_record::cli::{self, Outcome, OutputArgs, Progress, ReportArgs, Summary, EXIT_STATUS_HELP};
use decant_record::{Header, Record, RecordWriter, Row, RowData, Shard, TableSchema};
use decant_stores::dynamodb::{self as ddb, Client, DynamoUrl, RateLimiter, ScanRequest};
use serde::{Deserialize, Serialize};

/// `dynamodb-export --help` after the flags.
pub const AFTER_HELP: &str = "\
Examples:
  dynamodb-export --url dynamodb://eu-west-1 -o all-tables.ndjson.zst
  dynamodb-export --url dynamodb://eu-west-1 --tables 'users,orders' --segments 8 --rate-limit 500
  dynamodb-export --url 'dynamodb://us-east-1?endpoint=http://127.0.0.1:8000' --tables users | mysql-import --url mysql://root@db/app
  dynamodb-export --url dynamodb://eu-west-1 --tables big --state big.state -o big.ndjson   # rerun after a kill to go on
  dynamodb-export --url dynamodb://eu-west-1 --tables big --shard $JOB_COMPLETION_INDEX/4 -o big-$JOB_COMPLETION_INDEX.ndjson

Output: a header, then per table a schema line (its key attributes as columns and as
primary_key, and \"key_schema\" with the partition and sort key and their types) and one
row line per item, then a sealed trailer. Items are read by a parallel Scan
(--segments threads); their order in the stream is not the table's.

Values (decant NDJSON §2.2a): S is a string, N an integer when within ±(2^53-1) and
otherwise {\"$n\":\"exact digits\"} (never a float), B {\"$b64\":…}, BOOL true/false, NULL
null (an attribute that is absent stays absent), M an object, L an array, and the sets
{\"$ss\":[…]}, {\"$ns\":[…]}, {\"$bs\":[…]} with their members sorted. An item's attributes
are written sorted by name.

--rate-limit N keeps the scan under N read capacity units per second (as DynamoDB
reports them: an eventually consistent read of 4 KB is half a unit, --consistent-read
doubles it), so a production table keeps capacity for its application.

--shard I/K exports share I (from 0) of K: the scan is cut into K × --segments segments
and this process reads its --segments of them, so K processes read the table together.

Credentials and region as the AWS CLI finds them: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, or AWS_PROFILE (or ?profile=NAME) in ~/.aws/credentials and ~/.aws/config;
the region from the URL, AWS_REGION, AWS_DEFAULT_REGION or the profile. Secrets are never
printed. A local server (?endpoint=http://…) needs no credentials.";

/// Arguments of `dynamodb-export`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "dynamodb-export",
    version,
    about = "Export DynamoDB tables (every attribute type, exactly) as a decant NDJSON stream.",
    after_help = format!("{AFTER_HELP}\n\n{EXIT_STATUS_HELP}")
)]
pub struct Args {
    /// Source: dynamodb://REGION, or dynamodb://REGION?endpoint=http://HOST:PORT for a local
    /// server; defaults to $SOURCE_URL.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Export only these tables (comma-separated; `*` and `?` wildcards); default: every
    /// table of the region (ListTables).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub tables: Vec<String>,
    /// A name in --tables that names no table is skipped with a warning
    /// instead of an error (decant-verify passes it to both sides, so that a
    /// table on one side only is reported as a difference).
    #[arg(long)]
    pub skip_missing_tables: bool,
    /// Leave out these tables (comma-separated; wildcards).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Scan segments read at the same time, per table (parallel Scan).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub segments: u32,
    /// Strongly consistent reads (twice the read units).
    #[arg(long)]
    pub consistent_read: bool,
    /// Read capacity units per second at most (all segments together).
    #[arg(long, value_name = "UNITS", value_parser = parse_rate)]
    pub rate_limit: Option<f64>,
    /// Items per Scan page at most (DynamoDB also stops a page at 1 MB).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
    /// Resumable export: keeps each segment's last evaluated key in FILE; rerun
    /// the same command after a kill to go on (needs -o FILE, not .zst).
    #[arg(long, value_name = "FILE", requires = "output")]
    pub state: Option<PathBuf>,
    /// Export only share I of K (from 0): segments I·N … I·N+N−1 of K × N.
    #[arg(long, value_name = "I/K")]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Parses a positive rate (units per second).
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("{text:?} is not a positive number of capacity units per second")),
    }
}

/// The DynamoDB URL of `--url` or `$ROLE_URL`.
pub fn resolve_url(cli_url: Option<&str>, env_var: &str) -> anyhow::Result<DynamoUrl> {
    let text = match cli_url {
        Some(u) => u.to_owned(),
        None => match std::env::var(env_var).ok().filter(|v| !v.is_empty()) {
            Some(u) => u,
            None => bail!("no connection URL: give --url dynamodb://REGION, or set {env_var}"),
        },
    };
    Ok(DynamoUrl::parse(&text)?)
}

/// `*` and `?` wildcard match (linear, in the record crate).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    decant_record::wildcard::matches(pattern, name)
}

/// What the writer receives from the scanning threads.
enum Page {
    Items { segment: u32, items: Vec<RowData>, next: Option<serde_json::Value> },
    Failed(anyhow::Error),
}

/// `--state`: where every segment of every table stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ExportState {
    /// The output's length at the last seal.
    output_bytes: u64,
    /// Tables finished.
    done: Vec<String>,
    /// The table being exported and its segments: the key to go on from
    /// (`null`: from the start), or `"done"`.
    current: Option<String>,
    #[serde(default)]
    segments: BTreeMap<u32, SegmentState>,
    /// The settings the segments were cut with (a resumed run must match).
    total_segments: u32,
    first_segment: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "at", rename_all = "snake_case")]
enum SegmentState {
    Start,
    After { key: serde_json::Value },
    Done,
}

/// Seal and save the state this often with `--state`.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// Pages queued between the scanning threads and the writer.
const QUEUED_PAGES: usize = 16;

/// Runs `dynamodb-export`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let url = resolve_url(args.url.as_deref(), "SOURCE_URL")?;
    let client = Arc::new(Client::connect(&url)?);
    let shard = args.shard.unwrap_or_else(Shard::whole);
    let total_segments = shard
        .count()
        .checked_mul(args.segments)
        .filter(|n| *n <= 1_000_000)
        .context("--shard K × --segments N is more than 1000000 scan segments (DynamoDB's limit)")?;
    let first_segment = shard.index() * args.segments;

    let all = if args.tables.is_empty() || args.tables.iter().any(|t| t.contains(['*', '?'])) {
        ddb::list_tables(&client).context("listing the tables")?
    } else {
        args.tables.clone()
    };
    let mut tables: Vec<String> = all
        .iter()
        .filter(|t| args.tables.is_empty() || args.tables.iter().any(|p| glob_match(p, t)))
        .filter(|t| !args.exclude.iter().any(|p| glob_match(p, t)))
        .cloned()
        .collect();
    tables.sort();
    tables.dedup();
    let missing = |t: &str| -> anyhow::Result<()> {
        if !args.skip_missing_tables {
            bail!("--tables: no table named {t:?} in {}", client.region());
        }
        cli::warn(format_args!(
            "--tables: no table named {t:?} in {}: skipped (--skip-missing-tables)",
            client.region()
        ));
        Ok(())
    };
    // A name given beside a wildcard is looked for in ListTables' answer.
    for t in args.tables.iter().filter(|t| !t.contains(['*', '?'])) {
        if !all.contains(t) {
            missing(t)?;
        }
    }
    let mut infos = Vec::with_capacity(tables.len());
    for t in &tables {
        match ddb::describe_table(&client, t).with_context(|| format!("reading table {t:?}"))? {
            Some(info) => infos.push(info),
            None => missing(t)?,
        }
    }

    let source = format!("dynamodb://{}{}", client.region(), url_suffix(&url));
    let header =
        Header::new(&format!("dynamodb-export {}", env!("CARGO_PKG_VERSION")), Some(source)).with_shard(Some(shard));
    let limiter = args.rate_limit.map(|r| Arc::new(RateLimiter::new(r)));
    let mut summary = Summary::new().with_shard(header.shard);
    let mut progress = Progress::new(&args.report, "items", None);
    progress
        .set_total(Some(infos.iter().filter_map(|i| i.item_count).sum::<u64>()).filter(|n| *n > 0 && shard.is_whole()));

    let scan = ScanSettings {
        segments: args.segments,
        total_segments,
        first_segment,
        consistent_read: args.consistent_read,
        page_size: args.page_size,
    };
    match &args.state {
        None => {
            let output = args.output.create()?;
            let mut writer = RecordWriter::new(output);
            writer.write_header(&header).context("writing the output")?;
            for info in &infos {
                let schema = ddb::table_schema(info);
                writer.write(&Record::Schema(schema.clone())).context("writing the output")?;
                summary.group(&info.name);
                let starts = (0..args.segments).map(|i| (first_segment + i, None)).collect();
                export_table(
                    &client,
                    limiter.clone(),
                    &scan,
                    &info.name,
                    starts,
                    &mut summary,
                    &mut progress,
                    |page, _| write_items(&mut writer, &info.name, page),
                )?;
            }
            progress.finish();
            let out = writer.finish().context("writing the output")?;
            out.finish().context("writing the output")?;
        }
        Some(state_path) => {
            let output = args.output.output.as_deref().context("--state needs -o FILE")?;
            resumable(&client, limiter, &scan, &infos, &header, output, state_path, &mut summary, &mut progress)?;
        }
    }
    if client.retries() > 0 {
        summary.add_note("calls retried (throttling, errors)", client.retries());
    }
    summary.print(&args.report);
    Ok(Outcome::Success)
}

fn url_suffix(url: &DynamoUrl) -> String {
    match &url.endpoint {
        Some(e) => format!("?endpoint={e}"),
        None => String::new(),
    }
}

#[derive(Debug, Clone, Copy)]
struct ScanSettings {
    segments: u32,
    total_segments: u32,
    first_segment: u32,
    consistent_read: bool,
    page_size: Option<u32>,
}

fn write_items<W: std::io::Write>(
    writer: &mut RecordWriter<W>,
    table: &str,
    items: Vec<RowData>,
) -> anyhow::Result<()> {
    let mut row = Row { table: table.to_owned(), data: RowData::default() };
    for data in items {
        row.data = data;
        let record = Record::Row(row);
        writer.write(&record).context("writing the output")?;
        let Record::Row(r) = record else { unreachable!("built above") };
        row = r;
    }
    Ok(())
}

/// Scans one table: a thread per segment in `starts` (segment, key to go
/// on from), pages handed to `sink` in arrival order with the segment's
/// next key (`None`: the segment is done).
#[allow(clippy::too_many_arguments)]
fn export_table(
    client: &Arc<Client>,
    limiter: Option<Arc<RateLimiter>>,
    scan: &ScanSettings,
    table: &str,
    starts: Vec<(u32, Option<serde_json::Value>)>,
    summary: &mut Summary,
    progress: &mut Progress,
    mut sink: impl FnMut(Vec<RowData>, (u32, Option<serde_json::Value>)) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::sync_channel::<Page>(QUEUED_PAGES);
    let mut handles = Vec::new();
    for (segment, start) in starts {
        let (tx, client, limiter, table, scan) = (tx.clone(), client.clone(), limiter.clone(), table.to_owned(), *scan);
        let handle = std::thread::Builder::new()
            .name(format!("scan-{segment}"))
            .spawn(move || {
                let mut start = start;
                loop {
                    if let Some(l) = &limiter {
                        l.acquire();
                    }
                    let req = ScanRequest {
                        table: &table,
                        segment,
                        total_segments: scan.total_segments,
                        consistent_read: scan.consistent_read,
                        limit: scan.page_size,
                        start: start.as_ref(),
                    };
                    let page = match ddb::scan(&client, &req) {
                        Ok(p) => p,
                        Err(e) => {
                            let e =
                                anyhow::Error::new(e).context(format!("scanning table {table:?}, segment {segment}"));
                            let _ = tx.send(Page::Failed(e));
                            return;
                        }
                    };
                    if let Some(l) = &limiter {
                        // Half a unit is the least a Scan call costs (4 KB, eventually consistent).
                        l.consume(page.consumed.max(0.5));
                    }
                    let done = page.last_evaluated_key.is_none();
                    start = page.last_evaluated_key.clone();
                    if tx.send(Page::Items { segment, items: page.items, next: page.last_evaluated_key }).is_err()
                        || done
                    {
                        return;
                    }
                }
            })
            .context("starting a scan thread")?;
        handles.push(handle);
    }
    drop(tx);
    let mut result = Ok(());
    for page in rx.iter() {
        match page {
            Page::Items { segment, items, next } => {
                let n = items.len() as u64;
                if let Err(e) = sink(items, (segment, next)) {
                    result = Err(e);
                    break;
                }
                summary.group(table).written += n;
                progress.inc(n);
            }
            Page::Failed(e) => {
                result = Err(e);
                break;
            }
        }
    }
    // On an error the threads stop at their next send (the receiver is gone).
    drop(rx);
    for h in handles {
        let _ = h.join();
    }
    result
}

/// `--state`: the export written in place, sealed and checkpointed.
#[allow(clippy::too_many_arguments)]
fn resumable(
    client: &Arc<Client>,
    limiter: Option<Arc<RateLimiter>>,
    scan: &ScanSettings,
    infos: &[ddb::TableInfo],
    header: &Header,
    output: &Path,
    state_path: &Path,
    summary: &mut Summary,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    if decant_record::io::wants_zstd(output) || decant_record::io::is_std(Some(output)) {
        bail!("--state needs -o FILE with an uncompressed file (it is cut back to its last seal on resume)");
    }
    let saved: Option<ExportState> = match std::fs::read(state_path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).with_context(|| {
            format!("state file {} is not a dynamodb-export state (remove it to start over)", state_path.display())
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading state file {}", state_path.display())),
    };
    let mut state = match saved {
        Some(s) => {
            if (s.total_segments, s.first_segment) != (scan.total_segments, scan.first_segment) {
                bail!(
                    "state file {} was written with other --segments / --shard settings: use the same, or remove it to start over",
                    state_path.display()
                );
            }
            cli::warn(format_args!(
                "resuming from state file {} ({} tables done{})",
                state_path.display(),
                s.done.len(),
                s.current.as_ref().map(|t| format!(", going on with {t:?}")).unwrap_or_default()
            ));
            s
        }
        None => ExportState {
            total_segments: scan.total_segments,
            first_segment: scan.first_segment,
            ..ExportState::default()
        },
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(output)
        .with_context(|| format!("opening {}", output.display()))?;
    // Whatever follows the last seal was written by a run that was cut off.
    file.set_len(state.output_bytes).with_context(|| format!("cutting {} back to its last seal", output.display()))?;
    let mut file = file;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(state.output_bytes))
        .with_context(|| format!("seeking in {}", output.display()))?;
    let save = |state: &ExportState| -> anyhow::Result<()> {
        let tmp = state_path.with_extension("tmp-decant");
        std::fs::write(&tmp, serde_json::to_vec(state)?)
            .and_then(|_| std::fs::rename(&tmp, state_path))
            .with_context(|| format!("writing state file {}", state_path.display()))
    };
    for info in infos {
        if state.done.contains(&info.name) {
            continue;
        }
        let schema = ddb::table_schema(info);
        if state.current.as_deref() != Some(&info.name) {
            state.current = Some(info.name.clone());
            state.segments = (0..scan.segments).map(|i| (scan.first_segment + i, SegmentState::Start)).collect();
        }
        let starts: Vec<(u32, Option<serde_json::Value>)> = state
            .segments
            .iter()
            .filter_map(|(seg, st)| match st {
                SegmentState::Start => Some((*seg, None)),
                SegmentState::After { key } => Some((*seg, Some(key.clone()))),
                SegmentState::Done => None,
            })
            .collect();
        summary.group(&info.name);
        let mut writer = Some(open_segment(&file, header, &schema)?);
        let mut last_seal = Instant::now();
        export_table(
            client,
            limiter.clone(),
            scan,
            &info.name,
            starts,
            summary,
            progress,
            |items, (segment, next)| {
                let w = writer.as_mut().expect("a segment is open");
                write_items(w, &info.name, items)?;
                state.segments.insert(segment, next.map_or(SegmentState::Done, |key| SegmentState::After { key }));
                if last_seal.elapsed() >= CHECKPOINT_EVERY {
                    seal(writer.take().expect("a segment is open"), &file, &mut state)?;
                    save(&state)?;
                    writer = Some(open_segment(&file, header, &schema)?);
                    last_seal = Instant::now();
                }
                Ok(())
            },
        )?;
        seal(writer.take().expect("a segment is open"), &file, &mut state)?;
        state.done.push(info.name.clone());
        state.current = None;
        state.segments.clear();
        save(&state)?;
    }
    progress.finish();
    let mut f = &file;
    f.flush().context("writing the output")?;
    std::fs::remove_file(state_path)
        .with_context(|| format!("removing the finished state file {}", state_path.display()))?;
    Ok(())
}

fn open_segment<'f>(file: &'f File, header: &Header, schema: &TableSchema) -> anyhow::Result<RecordWriter<&'f File>> {
    let mut writer = RecordWriter::new(file);
    writer.write_header(header).context("writing the output")?;
    writer.write(&Record::Schema(schema.clone())).context("writing the output")?;
    Ok(writer)
}

/// Ends the open segment with its trailer and makes it durable, so the
/// state may point past it.
fn seal(writer: RecordWriter<&File>, file: &File, state: &mut ExportState) -> anyhow::Result<()> {
    writer.finish().context("writing the output")?;
    file.sync_data().context("syncing the output")?;
    state.output_bytes = file.metadata().context("reading the output's length")?.len();
    Ok(())
}
