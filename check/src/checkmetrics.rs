//! The checkers' figures for `--metrics-file`, per table / key group, so a
//! monitor can alert on a mismatch rate (e.g. above 0.1% for a dual-write
//! phase) and on a job that stopped succeeding (the common
//! `decant_last_success_timestamp_seconds`).

use decant_record::metrics::{record_gauge, Gauge};

/// One group's figures of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GroupFigures {
    /// Records compared (present on either side).
    pub compared: u64,
    /// Differences confirmed (after `--settle`, when on).
    pub confirmed: u64,
    /// Differences the `--settle` re-check no longer saw.
    pub transient: u64,
}

/// Adds one group's figures to the run's metrics.
pub fn record(group: &str, f: GroupFigures) {
    let labels = || vec![("group", group.to_owned())];
    let gauge = |name, help, value: u64| Gauge { name, help, labels: labels(), value: value as f64 };
    record_gauge(gauge("decant_check_records_compared", "Records compared, per table / key group.", f.compared));
    record_gauge(gauge(
        "decant_check_mismatches_confirmed",
        "Differences still there after the settle re-check (or found, without one).",
        f.confirmed,
    ));
    record_gauge(gauge(
        "decant_check_mismatches_transient",
        "Differences the settle re-check no longer saw (writes in flight).",
        f.transient,
    ));
    let rate = if f.compared == 0 { 0.0 } else { f.confirmed as f64 / f.compared as f64 };
    record_gauge(Gauge {
        name: "decant_check_mismatch_ratio",
        help: "Confirmed mismatches / records compared.",
        labels: labels(),
        value: rate,
    });
}
