//! `--metrics-file FILE`: the figures of a run in the Prometheus text format,
//! as node_exporter's textfile collector reads it, for cron jobs.
//!
//! The file is written at the end of every run, failed runs included (written
//! to a temporary file beside it and renamed, so the collector never reads
//! half a file). `decant_last_success_timestamp_seconds` is carried over from
//! the previous file when the run fails, so an alert can ask "how long since
//! the backup last worked".

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cli::Counts;

/// Bytes of decant lines read by every [`crate::RecordReader`] of the run.
pub static BYTES_READ: AtomicU64 = AtomicU64::new(0);
/// Bytes of decant lines written by every [`crate::RecordWriter`] of the run.
pub static BYTES_WRITTEN: AtomicU64 = AtomicU64::new(0);
static COUNTS: Mutex<Option<Counts>> = Mutex::new(None);
static GAUGES: Mutex<Vec<Gauge>> = Mutex::new(Vec::new());

/// A figure a tool adds to its metrics beyond the common ones (the
/// checkers' per-table counts), with its labels besides `tool`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    /// The metric name (`decant_…`).
    pub name: &'static str,
    /// Its `# HELP` text.
    pub help: &'static str,
    /// Label names and values, after `tool`.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

/// Adds a figure to the metrics file of this run.
pub fn record_gauge(gauge: Gauge) {
    if let Ok(mut g) = GAUGES.lock() {
        g.push(gauge);
    }
}

/// Records the run's totals (the end-of-run summary does).
pub fn record_counts(counts: Counts) {
    if let Ok(mut c) = COUNTS.lock() {
        *c = Some(counts);
    }
}

/// How a run ended, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEnd {
    /// The exit status.
    pub exit_status: u8,
    /// How long the run took.
    pub duration: Duration,
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The metrics text of a run of `tool`.
pub fn render(tool: &str, end: RunEnd, now: SystemTime, last_success: Option<f64>) -> String {
    let counts = COUNTS.lock().ok().and_then(|c| *c).unwrap_or_default();
    let now_s = now.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let last_success = if end.exit_status == crate::cli::EXIT_OK { Some(now_s) } else { last_success };
    let label = format!("{{tool=\"{}\"}}", escape_label(tool));
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, value: f64| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name}{label} {value}\n"));
    };
    metric("decant_records", "Records written (exported, imported, copied) by the last run.", counts.written as f64);
    metric("decant_skipped", "Records skipped on purpose by the last run.", counts.skipped as f64);
    metric("decant_rejects", "Records rejected by the last run.", counts.rejected as f64);
    metric(
        "decant_errors",
        "1 when the last run stopped on an error (exit status 2), else 0.",
        f64::from(u8::from(end.exit_status == crate::cli::EXIT_FATAL)),
    );
    metric(
        "decant_bytes_read",
        "Bytes of decant stream read by the last run.",
        BYTES_READ.load(Ordering::Relaxed) as f64,
    );
    metric(
        "decant_bytes_written",
        "Bytes of decant stream written by the last run.",
        BYTES_WRITTEN.load(Ordering::Relaxed) as f64,
    );
    metric(
        "decant_duration_seconds",
        "How long the last run took.",
        (end.duration.as_secs_f64() * 1000.0).round() / 1000.0,
    );
    metric(
        "decant_exit_status",
        "Exit status of the last run (0 ok, 1 differences or rejects, 2 error).",
        f64::from(end.exit_status),
    );
    metric("decant_last_run_timestamp_seconds", "When the last run ended (Unix time).", now_s.floor());
    if let Some(t) = last_success {
        metric("decant_last_success_timestamp_seconds", "When a run last succeeded (Unix time).", t.floor());
    }
    // One HELP/TYPE per family, its samples together, as the format requires.
    let gauges = GAUGES.lock().map(|g| g.clone()).unwrap_or_default();
    let mut names: Vec<&'static str> = Vec::new();
    for g in &gauges {
        if !names.contains(&g.name) {
            names.push(g.name);
        }
    }
    for name in names {
        let mut family = gauges.iter().filter(|g| g.name == name).peekable();
        if let Some(first) = family.peek() {
            out.push_str(&format!("# HELP {name} {}\n# TYPE {name} gauge\n", first.help));
        }
        for g in family {
            let mut labels = format!("tool=\"{}\"", escape_label(tool));
            for (k, v) in &g.labels {
                labels.push_str(&format!(",{k}=\"{}\"", escape_label(v)));
            }
            out.push_str(&format!("{name}{{{labels}}} {}\n", g.value));
        }
    }
    out
}

/// The last success time recorded in an earlier metrics file, if any.
fn previous_success(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with("decant_last_success_timestamp_seconds{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Writes the metrics file: to a temporary file beside it, then renamed.
pub fn write_file(path: &Path, tool: &str, end: RunEnd) -> std::io::Result<()> {
    let text = render(tool, end, SystemTime::now(), previous_success(path));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "metrics".into());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_and_keeps_the_last_success() {
        let end = RunEnd { exit_status: 2, duration: Duration::from_millis(1500) };
        let text = render("pg-import", end, UNIX_EPOCH + Duration::from_secs(2000), Some(1000.0));
        assert!(text.contains("# TYPE decant_errors gauge\ndecant_errors{tool=\"pg-import\"} 1\n"), "{text}");
        assert!(text.contains("decant_duration_seconds{tool=\"pg-import\"} 1.5\n"), "{text}");
        assert!(text.contains("decant_last_success_timestamp_seconds{tool=\"pg-import\"} 1000\n"), "{text}");
        let ok = RunEnd { exit_status: 0, duration: Duration::from_secs(1) };
        let text = render("pg-import", ok, UNIX_EPOCH + Duration::from_secs(2000), Some(1000.0));
        assert!(text.contains("decant_last_success_timestamp_seconds{tool=\"pg-import\"} 2000\n"), "{text}");
        record_gauge(Gauge {
            name: "decant_check_mismatches",
            help: "Confirmed mismatches.",
            labels: vec![("group", "table:a\"b".into())],
            value: 2.0,
        });
        let text = render("pg-import", ok, UNIX_EPOCH + Duration::from_secs(2000), Some(1000.0));
        assert!(text.contains("decant_check_mismatches{tool=\"pg-import\",group=\"table:a\\\"b\"} 2\n"), "{text}");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.split_once(' ').unwrap();
            assert!(name.starts_with("decant_") && name.contains("{tool=\"pg-import\""), "{line}");
            value.parse::<f64>().unwrap();
        }
    }
}
