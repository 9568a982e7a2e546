//! What `--check` learns from a sample, so that one run shows everything a
//! spec needs fixing: per rule the fields never mapped, the mapped fields
//! some keys lack, the columns whose casts fail (with an example), and the
//! keys no rule matches grouped by their shape (`usage:{uuid}:{date}`).

use std::collections::BTreeMap;

use decant_record::{Record, RedisValue};

use crate::rule::Rule;
use crate::TransformError;

/// Field statistics of one rule over the sample.
#[derive(Debug, Default)]
pub struct FieldStats {
    /// Records (keys, stream entries, rows) whose fields were counted.
    pub records: u64,
    /// How many of them had each field.
    pub seen: BTreeMap<Vec<u8>, u64>,
    /// Failures per output column: count and the first (record, message).
    pub failures: BTreeMap<String, (u64, String)>,
}

impl FieldStats {
    /// Counts the fields of a record the rule matched.
    pub fn add(&mut self, rec: &Record) {
        match rec {
            Record::Redis(r) => match &r.value {
                RedisValue::Hash(pairs) => {
                    self.records += 1;
                    for (f, _) in pairs {
                        *self.seen.entry(f.clone()).or_default() += 1;
                    }
                }
                RedisValue::Stream(s) => {
                    for e in &s.entries {
                        self.records += 1;
                        for (f, _) in &e.fields {
                            *self.seen.entry(f.clone()).or_default() += 1;
                        }
                    }
                }
                _ => {}
            },
            Record::Row(row) => {
                self.records += 1;
                for (c, _) in row.data.iter() {
                    *self.seen.entry(c.as_bytes().to_vec()).or_default() += 1;
                }
            }
            _ => {}
        }
    }

    /// Remembers a failure, grouped by its column.
    pub fn fail(&mut self, e: &TransformError) {
        let column = e.column.clone().unwrap_or_else(|| "(the record)".into());
        let entry = self.failures.entry(column).or_insert_with(|| (0, format!("{}: {}", e.record, e.message)));
        entry.0 += 1;
    }

    /// The report lines: fields never mapped, mapped fields missing in some
    /// records, failures by column.
    pub fn report(&self, rule: &Rule) -> Vec<String> {
        let mut lines = Vec::new();
        let show = |f: &[u8]| format!("{:?}", String::from_utf8_lossy(f));
        let share = |n: u64| {
            if self.records == 0 {
                String::new()
            } else {
                let g = decant_record::cli::group_digits;
                format!("{} of {} ({:.1}%)", g(n), g(self.records), n as f64 * 100.0 / self.records as f64)
            }
        };
        if rule.kind() == crate::RuleKind::Drop {
            return lines;
        }
        // A long list (a hash keyed by ids) is cut: its size says enough.
        let list = |mut items: Vec<String>| {
            const MAX: usize = 20;
            let more = items.len().saturating_sub(MAX);
            items.truncate(MAX);
            let mut text = items.join(", ");
            if more > 0 {
                text.push_str(&format!(", … and {more} more"));
            }
            text
        };
        if self.records > 0 && !rule.maps_every_field() {
            let unmapped: Vec<String> = self
                .seen
                .iter()
                .filter(|(f, _)| !rule.reads_field(f) && !rule.ignores_field(f))
                .map(|(f, n)| format!("{} (in {})", show(f), share(*n)))
                .collect();
            if !unmapped.is_empty() {
                lines.push(format!(
                    "fields never mapped{}: {}",
                    if rule.drops_unmapped() { " (dropped: extra_fields = \"ignore\")" } else { "" },
                    list(unmapped)
                ));
            }
        }
        if self.records > 0 {
            let missing: Vec<String> = rule
                .field_names()
                .iter()
                .filter_map(|f| {
                    let n = self.seen.get(f).copied().unwrap_or(0);
                    (n < self.records).then(|| format!("{} (missing in {})", show(f), share(self.records - n)))
                })
                .collect();
            if !missing.is_empty() {
                lines.push(format!("mapped fields some records lack: {}", list(missing)));
            }
        }
        for (column, (n, example)) in &self.failures {
            lines.push(format!(
                "column {column:?} fails in {} record(s), e.g. {example}",
                decant_record::cli::group_digits(*n)
            ));
        }
        lines
    }
}

/// The shape of a key: UUIDs, dates, long hex strings and numbers replaced
/// by `{uuid}`, `{date}`, `{hex}`, `{n}`, so that keys of one family group.
pub fn key_shape(key: &[u8]) -> String {
    let mut out = String::with_capacity(key.len());
    let mut i = 0;
    let is_hex = |c: u8| c.is_ascii_hexdigit();
    let run = |from: usize, pred: &dyn Fn(u8) -> bool| key[from..].iter().take_while(|c| pred(**c)).count();
    // A run starts a token only at the start or after a non-alphanumeric byte.
    while i < key.len() {
        let at_boundary = i == 0 || !key[i - 1].is_ascii_alphanumeric();
        if at_boundary {
            if is_uuid(&key[i..]) && !key.get(i + 36).is_some_and(|c| c.is_ascii_alphanumeric()) {
                out.push_str("{uuid}");
                i += 36;
                continue;
            }
            if is_date(&key[i..]) && !key.get(i + 10).is_some_and(|c| c.is_ascii_digit()) {
                out.push_str("{date}");
                i += 10;
                continue;
            }
            let hex = run(i, &is_hex);
            let ends = !key.get(i + hex).is_some_and(|c| c.is_ascii_alphanumeric());
            if hex >= 16 && ends && key[i..i + hex].iter().any(u8::is_ascii_digit) {
                out.push_str("{hex}");
                i += hex;
                continue;
            }
            let digits = run(i, &|c: u8| c.is_ascii_digit());
            if digits > 0 && !key.get(i + digits).is_some_and(|c| c.is_ascii_alphabetic()) {
                out.push_str("{n}");
                i += digits;
                continue;
            }
        }
        let c = key[i];
        if c.is_ascii_graphic() {
            out.push(c as char);
        } else {
            out.push('?');
        }
        i += 1;
    }
    out
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() >= 36
        && b[..36].iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_date(b: &[u8]) -> bool {
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// Unmatched keys grouped by shape and type: count and one example each.
#[derive(Debug, Default)]
pub struct Unmatched {
    /// (shape, type) → (count, an example key).
    pub groups: BTreeMap<(String, String), (u64, String)>,
}

impl Unmatched {
    /// Counts one unmatched record.
    pub fn add(&mut self, rec: &Record) {
        let (shape, ty, example) = match rec {
            Record::Redis(r) => {
                (key_shape(&r.key), r.value.redis_type().to_string(), String::from_utf8_lossy(&r.key).into_owned())
            }
            Record::Row(r) => (format!("table {}", r.table), "row".into(), format!("table {}", r.table)),
            other => (other.kind().to_string(), String::new(), String::new()),
        };
        // Cap the number of groups: a sample of random keys must not grow it without end.
        if self.groups.len() >= 10_000 && !self.groups.contains_key(&(shape.clone(), ty.clone())) {
            return;
        }
        self.groups.entry((shape, ty)).or_insert((0, example)).0 += 1;
    }

    /// The groups, largest first.
    pub fn largest(&self) -> Vec<(&str, &str, u64, &str)> {
        let mut v: Vec<_> =
            self.groups.iter().map(|((s, t), (n, e))| (s.as_str(), t.as_str(), *n, e.as_str())).collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        for (key, shape) in [
            ("usage:daily:9cb36928-da1b-408b-944e-56926f00b16f:2026-12-04", "usage:daily:{uuid}:{date}"),
            (
                "usage:cost:hourly:9cb36928-da1b-408b-944e-56926f00b16f:2026-12-04:21",
                "usage:cost:hourly:{uuid}:{date}:{n}",
            ),
            ("system:metrics:minute:29443210", "system:metrics:minute:{n}"),
            ("session:7ed102db0316be1f6238962220078329", "session:{hex}"),
            ("username:user9", "username:user9"),
            ("usage:monthly:k:2026-12", "usage:monthly:k:{n}-{n}"),
            ("claude-opus-4-1-20250805", "claude-opus-{n}-{n}-{n}"),
            ("apikey:hash_map", "apikey:hash_map"),
            ("deadbeefdeadbeef", "deadbeefdeadbeef"),
        ] {
            assert_eq!(key_shape(key.as_bytes()), shape, "{key}");
        }
    }

    #[test]
    fn unmatched_groups() {
        let mut u = Unmatched::default();
        let key = |k: &str| {
            Record::Redis(decant_record::RedisRecord {
                db: 0,
                key: k.as_bytes().to_vec(),
                expire_at_ms: None,
                value: RedisValue::String(b"1".to_vec()),
                part: None,
                last: false,
                dump: None,
                field_expire_at_ms: Vec::new(),
            })
        };
        for k in ["rate_limit:cost:1", "rate_limit:cost:2", "user:5", "rate_limit:cost:3"] {
            u.add(&key(k));
        }
        let g = u.largest();
        assert_eq!(g[0], ("rate_limit:cost:{n}", "string", 3, "rate_limit:cost:1"));
        assert_eq!(g[1], ("user:{n}", "string", 1, "user:5"));
    }
}
