//! `decant-transform`: declarative mapping between Redis keys and table rows.
//!
//! A [`Transformer`] is compiled from a TOML spec ([`spec`]) and is a pure
//! function of one record: no I/O, no state, so `decant-verify` can apply the
//! same spec to a Redis source to compare it with its SQL copy.
//!
//! ```
//! use decant_record::{Record, RedisRecord, RedisValue};
//! use decant_transform::Transformer;
//!
//! let t = Transformer::from_toml(r#"
//!     [[rule]]
//!     match = "apikey:{id}"
//!     type = "hash"
//!     to_table = "api_keys"
//!     columns = [
//!       { name = "id", from = "{id}" },
//!       { name = "token_limit", from = "tokenLimit", cast = "int" },
//!     ]
//! "#).unwrap();
//! let key = Record::Redis(RedisRecord::new(
//!     0,
//!     b"apikey:42".to_vec(),
//!     RedisValue::Hash(vec![(b"tokenLimit".to_vec(), b"1000".to_vec())]),
//! ));
//! let rows = t.apply(&key).unwrap().records;
//! assert_eq!(rows[0].to_json_string(), r#"{"kind":"row","table":"api_keys","data":{"id":"42","token_limit":1000}}"#);
//! ```
//!
//! Modules: [`pattern`] (key patterns with captures, templates), [`cast`]
//! (pure casts), [`spec`] (the TOML model), [`rule`] (one rule applied to
//! one record), [`cli`] (the `decant-transform` command: streaming, rejects,
//! `--check`).

pub mod cast;
pub mod check_stats;
pub mod cli;
pub mod fold;
pub mod framing;
#[cfg(test)]
mod item_tests;
pub mod js_json;
#[cfg(test)]
mod language_tests;
pub mod pattern;
pub mod rounding;
pub mod rule;
pub mod spec;
pub mod text_template;
mod verbatim;

use std::ops::Range;
use std::path::Path;

use decant_record::view::RedisView;
use decant_record::{Record, TableSchema};

pub use rule::{Rule, RuleKind, TransformError};
pub use spec::{Spec, SpecError};

/// A compiled spec: rules tried in order, and the declared target tables.
#[derive(Debug, Clone)]
pub struct Transformer {
    rules: Vec<Rule>,
    schemas: Vec<TableSchema>,
    /// Key rules that may match a key starting with each byte (in rule order);
    /// index 256 holds those for the empty key.
    by_first_byte: Vec<Vec<usize>>,
    table_rules: Vec<usize>,
}

/// What [`Transformer::apply_view`] did with one Redis key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewOutcome {
    /// Rule `rule` took the key and wrote `rows` encoded rows (0 for a drop rule).
    Matched {
        /// The rule.
        rule: usize,
        /// Rows written.
        rows: u64,
    },
    /// No rule matches the key: nothing was written.
    Unmatched,
    /// The matching rule needs the decoded record (filters, key outputs):
    /// nothing was written; use [`Transformer::apply_into`].
    Fallback,
}

/// What a transformer did with one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The rule that matched, `None` when no rule did.
    pub rule: Option<usize>,
    /// What it produced (empty for drop rules and unmatched records).
    pub records: Vec<Record>,
}

impl Transformer {
    /// Compiles a spec's TOML text.
    pub fn from_toml(text: &str) -> Result<Transformer, SpecError> {
        Transformer::from_spec(&Spec::parse(text)?)
    }

    /// Reads and compiles a spec file.
    pub fn from_file(path: &Path) -> Result<Transformer, SpecError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SpecError(format!("cannot read spec {}: {e}", path.display())))?;
        Transformer::from_toml(&text).map_err(|e| SpecError(format!("{}: {e}", path.display())))
    }

    /// Compiles a parsed spec.
    pub fn from_spec(spec: &Spec) -> Result<Transformer, SpecError> {
        let schemas = spec.tables()?;
        if spec.rule.is_empty() {
            return Err(SpecError("the spec has no [[rule]]".into()));
        }
        let mut rules = Vec::with_capacity(spec.rule.len());
        for (i, r) in spec.rule.iter().enumerate() {
            let rule = Rule::compile(i, r, &schemas)?;
            if rules.iter().any(|x: &Rule| x.name() == rule.name()) {
                return Err(SpecError(format!(
                    "two rules are named {:?}: give each a distinct name = \"…\" (summaries count by rule)",
                    rule.name()
                )));
            }
            rules.push(rule);
        }
        let mut by_first_byte = vec![Vec::new(); 257];
        let mut table_rules = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match r.key_prefix() {
                Some(prefix) => match prefix.first() {
                    Some(b) => by_first_byte[*b as usize].push(i),
                    None => by_first_byte.iter_mut().for_each(|v| v.push(i)),
                },
                None => table_rules.push(i),
            }
        }
        Ok(Transformer { rules, schemas, by_first_byte, table_rules })
    }

    /// The rules, in spec order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The declared target tables, in spec order (written as `schema` lines
    /// at the start of the output).
    pub fn schemas(&self) -> &[TableSchema] {
        &self.schemas
    }

    /// The first rule that takes `rec` (filling `caps` with its captures).
    pub fn find(&self, rec: &Record, caps: &mut Vec<Range<usize>>) -> Option<usize> {
        let candidates: &[usize] = match rec {
            Record::Redis(r) => &self.by_first_byte[r.key.first().map_or(256, |b| *b as usize)],
            Record::Row(_) | Record::Schema(_) | Record::Delete(_) => &self.table_rules,
            _ => return None,
        };
        for &i in candidates {
            let rule = &self.rules[i];
            if let (Record::Redis(r), Some(p)) = (rec, rule.key_prefix()) {
                if !r.key.starts_with(p) {
                    continue;
                }
            }
            if rule.matches(rec, caps) {
                return Some(i);
            }
        }
        None
    }

    /// Transforms one record.
    pub fn apply(&self, rec: &Record) -> Result<Applied, TransformError> {
        let mut caps = Vec::new();
        let mut records = Vec::new();
        let rule = self.apply_into(rec, 0, &mut caps, &mut records)?;
        Ok(Applied { rule, records })
    }

    /// Transforms one record into `out` (reusing the buffers): returns the
    /// rule that matched, `None` when none did (nothing is written then).
    /// `first_index` is the position of the record's first element within
    /// its key, for the later parts of a split key (`$index` of exploded
    /// elements).
    pub fn apply_into(
        &self,
        rec: &Record,
        first_index: u64,
        caps: &mut Vec<Range<usize>>,
        out: &mut Vec<Record>,
    ) -> Result<Option<usize>, TransformError> {
        let Some(i) = self.find(rec, caps) else {
            return Ok(None);
        };
        let rule = &self.rules[i];
        if let Record::Schema(s) = rec {
            // A declared target table is written up front; the source's own
            // schema line describes the input, not the output.
            let declared = rule.target_table().is_some_and(|t| self.schemas.iter().any(|d| d.table == t));
            if declared || rule.kind() != RuleKind::Rows {
                return Ok(Some(i));
            }
            let _ = s;
        }
        rule.apply_matched(rec, caps, first_index, out)?;
        Ok(Some(i))
    }

    /// Transforms one Redis key read through a view, writing the output rows
    /// straight into `out` as encoded lines (each with its `\n`), byte for
    /// byte as [`Record::encode`] writes them. On an error, `out` may hold
    /// part of the key's rows: the caller truncates it.
    pub fn apply_view(
        &self,
        view: &RedisView,
        caps: &mut Vec<Range<usize>>,
        out: &mut Vec<u8>,
    ) -> Result<ViewOutcome, TransformError> {
        let ty = view.value.redis_type();
        for &i in &self.by_first_byte[view.key.first().map_or(256, |b| *b as usize)] {
            let rule = &self.rules[i];
            if rule.key_prefix().is_some_and(|p| !view.key.starts_with(p)) {
                continue;
            }
            if rule.has_filter() {
                return Ok(ViewOutcome::Fallback);
            }
            if !rule.matches_key(view.db, ty, &view.key, caps) {
                continue;
            }
            return match rule.kind() {
                RuleKind::Drop => Ok(ViewOutcome::Matched { rule: i, rows: 0 }),
                RuleKind::Rows if rule.writes_columns() => {
                    let rows = rule.view_rows(view, caps, out)?;
                    Ok(ViewOutcome::Matched { rule: i, rows })
                }
                _ => Ok(ViewOutcome::Fallback),
            };
        }
        Ok(ViewOutcome::Unmatched)
    }
}

/// The clap command of `decant-transform`, as the binary parses it (and the
/// `decant` dispatcher renders it for completions and man pages).
pub fn command() -> clap::Command {
    use clap::CommandFactory as _;
    decant_record::cli::with_help_sections(cli::Args::command(), "", "")
}

/// `decant-transform`'s `main`.
pub fn main() -> std::process::ExitCode {
    use clap::FromArgMatches as _;
    decant_record::cli::main("decant-transform", || {
        let args =
            cli::Args::from_arg_matches(&decant_record::cli::get_matches(command())).unwrap_or_else(|e| e.exit());
        cli::run(&args)
    })
}
