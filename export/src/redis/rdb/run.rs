//! `redis-export --rdb FILE`: the parser's records through the same writer,
//! filters, progress and summary as the live export.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use decant_record::cli::{self, LogFormat, Outcome, Progress, Summary};
use decant_record::{Bytes, Header, Record, RecordWriter, RedisFunction, RedisRecord, RedisType, RedisValue};

use super::super::{wanted, Args, Sink, STRING_PART_BYTES};
use super::{Checksum, FunctionLibrary, Handler, Input, KeyInfo, ModuleKey, Options, Parser};

/// Runs `redis-export --rdb FILE` (`-` reads stdin; zstd input is
/// decompressed whatever its name).
pub fn run(args: &Args, path: &Path) -> anyhow::Result<Outcome> {
    if args.cluster {
        bail!("--cluster needs a server (--url); an RDB file holds one node's keys");
    }
    let shown = if decant_record::io::is_std(Some(path)) { "stdin".to_owned() } else { path.display().to_string() };
    let raw = decant_record::io::open_input(Some(path)).with_context(|| format!("opening the RDB file {shown}"))?;
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);

    let output = args.output.create()?;
    let mut writer = RecordWriter::new(output);
    writer.write_header(
        &Header::new(concat!("redis-export ", env!("CARGO_PKG_VERSION")), Some(format!("rdb:{shown}")))
            .with_shard(args.shard),
    )?;

    let slots = args.shard.filter(|s| !s.is_whole()).map(super::super::shard_slots);
    let filtered = !args.matches.is_empty()
        || !args.exclude.is_empty()
        || !args.types.is_empty()
        || args.db.is_some()
        || slots.is_some();
    let mut handler = Export {
        args,
        slots,
        sink: Sink::spawn(writer),
        summary: Summary::new().with_shard(args.shard),
        progress: Progress::new(&args.report, "keys", None),
        total_hint: (!filtered).then_some(0),
        modules: 0,
        module_aux: Default::default(),
        expired: 0,
        expired_fields: 0,
    };
    let opts = Options {
        chunk_size: args.chunk_size as usize,
        chunk_bytes: usize::try_from(args.chunk_bytes).unwrap_or(usize::MAX),
        string_part_bytes: STRING_PART_BYTES.min(usize::try_from(args.chunk_bytes).unwrap_or(usize::MAX).max(1)),
        dump: args.dump,
        dump_modules: args.dump_modules,
        include_expired: args.include_expired,
        now_ms,
    };
    let mut parser = Parser::new(Input::new(raw), opts);
    let stats = parser.run(&mut handler).with_context(|| format!("reading the RDB file {shown}"))?;
    handler.progress.finish();
    let Export { sink, summary, modules, expired, expired_fields, .. } = handler;
    sink.finish()?;
    summary.print(&args.report);
    if !args.report.quiet {
        let checksum = match stats.checksum {
            Checksum::Verified => "verified",
            Checksum::Disabled => "none (saved with rdbchecksum no)",
            Checksum::Absent => "none (RDB version < 5)",
        };
        if args.report.log_format == LogFormat::Json {
            let line = serde_json::json!({"tool": cli::tool_name(), "event": "rdb", "version": stats.version,
                "valkey": stats.valkey, "keys_in_file": stats.keys, "checksum": checksum, "expired": expired,
                "expired_fields": expired_fields});
            cli::log_lines("info", &line.to_string());
        } else {
            let expired = if expired > 0 {
                format!(", {expired} already expired (skipped; --include-expired exports them)")
            } else {
                String::new()
            };
            let fields = if expired_fields > 0 {
                format!(", {expired_fields} hash field(s) already expired (skipped)")
            } else {
                String::new()
            };
            let maker = if stats.valkey { "Valkey RDB" } else { "RDB" };
            cli::warn(format_args!(
                "{maker} version {}, {} keys in the file, checksum {checksum}{expired}{fields}",
                stats.version, stats.keys
            ));
        }
    }
    if modules > 0 {
        cli::warn(format_args!("{modules} key(s) holding Redis module values were not exported"));
    }
    if modules > 0 {
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Success)
}

struct Export<'a> {
    args: &'a Args,
    sink: Sink,
    summary: Summary,
    progress: Progress,
    /// `--shard`: only keys whose hash slot is in `lo..hi` (the same slot
    /// ranges as a live export's, so a file's shares match a server's).
    slots: Option<(u16, u16)>,
    /// Keys announced by RESIZEDB so far (only without filters).
    total_hint: Option<u64>,
    modules: u64,
    /// Modules whose MODULE_AUX data (outside keys) was seen, to warn once.
    module_aux: std::collections::BTreeSet<String>,
    expired: u64,
    /// Hash fields left out because their expiry had passed.
    expired_fields: u64,
}

impl Export<'_> {
    fn group(&mut self, key: &[u8]) -> &mut cli::Counts {
        let g = self.args.group_by.group(key);
        self.summary.group(&g)
    }
}

impl Handler for Export<'_> {
    fn want(&mut self, k: &KeyInfo<'_>) -> bool {
        self.args.db.is_none_or(|db| db == k.db)
            && (self.args.types.is_empty() || self.args.types.contains(&k.ty))
            && (self.args.matches.is_empty()
                || self.args.matches.iter().any(|m| super::super::conn::glob_match(m.as_bytes(), k.key)))
            && wanted(&[], &self.args.exclude, k.key)
            && self.slots.is_none_or(|(lo, hi)| (lo..hi).contains(&super::super::conn::key_slot(k.key)))
    }

    fn expired(&mut self, k: &KeyInfo<'_>) {
        self.expired += 1;
        self.group(k.key).skipped += 1;
    }

    fn empty(&mut self, k: &KeyInfo<'_>) {
        cli::warn(format_args!(
            "key {}: an empty {} (Redis would not load it); skipped",
            Bytes(k.key.to_vec()),
            k.ty.as_str()
        ));
        self.group(k.key).skipped += 1;
    }

    fn record(&mut self, rec: RedisRecord) -> anyhow::Result<()> {
        let ends = rec.ends_key();
        let group = ends.then(|| self.args.group_by.group(&rec.key));
        self.sink.push(rec)?;
        if let Some(g) = group {
            self.summary.group(&g).written += 1;
            self.progress.inc(1);
        }
        Ok(())
    }

    fn module_value(&mut self, m: ModuleKey<'_>) -> anyhow::Result<()> {
        let info = KeyInfo { db: m.db, key: m.key, ty: RedisType::Module, expire_at_ms: m.expire_at_ms };
        if !self.want(&info) {
            return Ok(());
        }
        if m.expired {
            self.expired(&info);
            return Ok(());
        }
        let module = m.module;
        let Some(dump) = m.dump else {
            cli::warn(format_args!(
                "key {} (db {}): a value of Redis module {module} was not exported: only {module} can read it; \
                 run with --dump (or --dump-modules) to carry it as its DUMP payload, which RESTORE accepts where {module} is loaded",
                Bytes(m.key.to_vec()),
                m.db
            ));
            self.group(m.key).rejected += 1;
            self.modules += 1;
            return Ok(());
        };
        let mut rec = RedisRecord::new(m.db, m.key.to_vec(), RedisValue::Module(module.to_owned()));
        rec.expire_at_ms = m.expire_at_ms;
        rec.dump = Some(dump.to_vec());
        self.record(rec)
    }

    fn module_aux(&mut self, module: &str) {
        // Modules often save it twice (before and after the keys): one word each.
        if self.module_aux.insert(module.to_owned()) {
            cli::warn(format_args!(
                "the file holds global data of Redis module {module} outside any key (MODULE_AUX); it is not \
                 exported: a key-by-key copy (DUMP/RESTORE, as the live export makes) does not carry it either, \
                 and a server without {module} refuses this file for it"
            ));
        }
    }

    fn function(&mut self, library: FunctionLibrary) -> anyhow::Result<()> {
        // Libraries are server-wide: they travel with a copy of whole
        // databases, not with a selection of keys.
        // A sharded export carries them in share 0, so the shares add up to the whole.
        let other_share = self.args.shard.is_some_and(|s| s.index() != 0);
        if !self.args.matches.is_empty() || !self.args.exclude.is_empty() || !self.args.types.is_empty() || other_share
        {
            self.summary.group("functions").skipped += 1;
            return Ok(());
        }
        self.summary.group("functions").written += 1;
        self.sink.push_line(Record::RedisFunction(RedisFunction {
            library: library.name,
            engine: library.engine,
            code: library.code,
        }))
    }

    fn expired_fields(&mut self, _key: &KeyInfo<'_>, fields: u64) {
        self.expired_fields += fields;
    }

    fn notice(&mut self, message: &str) {
        cli::warn(message);
    }

    fn size_hint(&mut self, keys: u64) {
        if let Some(t) = self.total_hint.as_mut() {
            *t += keys;
            let total = *t;
            self.progress.set_total(Some(total));
        }
    }
}
