//! Opening inputs and outputs: files or stdin/stdout, with zstd handled
//! transparently (by the `.zst` extension, and on input by the magic bytes so
//! `zstd -c x | tool` and `tool < x.zst` both work). gzip input is read the
//! same way (by its magic bytes: `dump.rdb.gz`, `gzip -c x | tool`).

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// The four bytes every zstd frame starts with.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The two bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

/// Read buffer size for inputs.
const READ_BUFFER: usize = 256 << 10;

/// A buffered input stream.
pub type Input = Box<dyn BufRead + Send>;

/// True when `path` names stdin/stdout (`-` or absent).
pub fn is_std(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p.as_os_str() == "-")
}

/// Opens a file (or stdin for `None`/`-`), decompressing zstd or gzip input,
/// whatever its name, when it starts with their magic bytes.
pub fn open_input(path: Option<&Path>) -> io::Result<Input> {
    let raw: Box<dyn Read + Send> = if is_std(path) {
        Box::new(io::stdin())
    } else {
        let p = path.unwrap_or(Path::new("-"));
        Box::new(File::open(p).map_err(|e| with_path(e, "cannot open", p))?)
    };
    sniff(raw)
}

/// How far the reading of an input file has come: the bytes of the file read
/// so far (compressed bytes for a compressed file) out of its size, for the
/// progress line's percentage and ETA.
#[derive(Debug, Clone)]
pub struct InputMeter {
    consumed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    total: u64,
}

impl InputMeter {
    /// Bytes of the file read so far.
    pub fn consumed(&self) -> u64 {
        self.consumed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The file's size in bytes.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Counts the bytes read through it into an [`InputMeter`].
struct Metered<R> {
    inner: R,
    consumed: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Like [`open_input`], with a meter of the bytes read when the input is a
/// regular file (its size is known); stdin and pipes have none.
pub fn open_input_metered(path: Option<&Path>) -> io::Result<(Input, Option<InputMeter>)> {
    if is_std(path) {
        return Ok((open_input(path)?, None));
    }
    let p = path.unwrap_or(Path::new("-"));
    let file = File::open(p).map_err(|e| with_path(e, "cannot open", p))?;
    let meta = file.metadata().map_err(|e| with_path(e, "cannot open", p))?;
    if !meta.is_file() {
        return Ok((sniff(Box::new(file))?, None));
    }
    let consumed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let meter = InputMeter { consumed: consumed.clone(), total: meta.len() };
    Ok((sniff(Box::new(Metered { inner: file, consumed }))?, Some(meter)))
}

/// Wraps any reader, decompressing it when it starts with the zstd or gzip
/// magic (gzip: every member, as `gzip -d` reads concatenated files).
pub fn sniff(mut raw: Box<dyn Read + Send>) -> io::Result<Input> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match raw.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let prefix = io::Cursor::new(magic[..got].to_vec());
    let joined = prefix.chain(raw);
    if got == 4 && magic == ZSTD_MAGIC {
        let decoder = zstd::stream::read::Decoder::new(joined)?;
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER, decoder)))
    } else if got >= 2 && magic[..2] == GZIP_MAGIC {
        let decoder = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(READ_BUFFER, joined));
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER, decoder)))
    } else {
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER, joined)))
    }
}

fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// True when the file name asks for zstd compression.
pub fn wants_zstd(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "zst")
}

enum Sink {
    Stdout(io::Stdout),
    File(File),
    Zstd(zstd::stream::write::Encoder<'static, Box<dyn Write + Send>>),
}

/// An output stream: stdout or a file, zstd-compressed when the file name ends
/// in `.zst`. A file is written under a temporary name and renamed into place by
/// [`Output::finish`], so a killed run never leaves a complete-looking file.
pub struct Output {
    sink: Option<Sink>,
    /// (temporary path, final path) for file outputs.
    rename: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output").field("rename", &self.rename).finish()
    }
}

/// zstd level for `.zst` outputs: fast, and still a good ratio on NDJSON.
pub const ZSTD_LEVEL: i32 = 3;

impl Output {
    /// Creates the output: stdout for `None`/`-`, else the file.
    pub fn create(path: Option<&Path>) -> io::Result<Output> {
        if is_std(path) {
            return Ok(Output { sink: Some(Sink::Stdout(io::stdout())), rename: None });
        }
        let path = path.unwrap_or(Path::new("-"));
        // A device or FIFO (`-o /dev/null`, a named pipe) is written in place:
        // renaming a temporary file over it would replace the device itself.
        if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = fs::OpenOptions::new().write(true).open(path).map_err(|e| with_path(e, "cannot open", path))?;
            let sink = if wants_zstd(path) {
                let inner: Box<dyn Write + Send> = Box::new(file);
                let mut enc = zstd::stream::write::Encoder::new(inner, ZSTD_LEVEL)?;
                enc.include_checksum(true)?;
                Sink::Zstd(enc)
            } else {
                Sink::File(file)
            };
            return Ok(Output { sink: Some(sink), rename: None });
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let file = File::create(&tmp).map_err(|e| with_path(e, "cannot create", path))?;
        // Removed by the Ctrl-C / SIGTERM handler if the run is cut off.
        crate::interrupt::register_partial(&tmp);
        let sink = if wants_zstd(path) {
            let inner: Box<dyn Write + Send> = Box::new(file);
            let mut enc = zstd::stream::write::Encoder::new(inner, ZSTD_LEVEL)?;
            enc.include_checksum(true)?;
            Sink::Zstd(enc)
        } else {
            Sink::File(file)
        };
        Ok(Output { sink: Some(sink), rename: Some((tmp, path.to_path_buf())) })
    }

    /// Whether the output is zstd-compressed (a flush there ends a block,
    /// which changes the compressed bytes; the plain ones never change).
    pub fn is_compressed(&self) -> bool {
        matches!(self.sink, Some(Sink::Zstd(_)))
    }

    /// Completes the output: ends the zstd frame, flushes, syncs a file to
    /// disk and moves it to its final name.
    pub fn finish(mut self) -> io::Result<()> {
        match self.sink.take() {
            Some(Sink::Stdout(mut s)) => s.flush()?,
            Some(Sink::File(mut f)) => {
                if self.rename.is_some() {
                    f.sync_all()?
                } else {
                    f.flush()?
                }
            }
            Some(Sink::Zstd(enc)) => {
                let mut inner = enc.finish()?;
                inner.flush()?;
            }
            None => {}
        }
        if let Some((tmp, dest)) = self.rename.take() {
            if let Ok(f) = File::open(&tmp) {
                let _ = f.sync_all();
            }
            fs::rename(&tmp, &dest).map_err(|e| with_path(e, "cannot move into place", &dest))?;
            crate::interrupt::unregister_partial(&tmp);
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.sink.as_mut() {
            Some(Sink::Stdout(s)) => s.write(buf),
            Some(Sink::File(f)) => f.write(buf),
            Some(Sink::Zstd(z)) => z.write(buf),
            None => Err(io::Error::other("output already finished")),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self.sink.as_mut() {
            // One locked write per buffer: stdout's line buffering would
            // otherwise split the buffer at its last newline.
            Some(Sink::Stdout(s)) => s.lock().write_all(buf),
            Some(Sink::File(f)) => f.write_all(buf),
            Some(Sink::Zstd(z)) => z.write_all(buf),
            None => Err(io::Error::other("output already finished")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.sink.as_mut() {
            Some(Sink::Stdout(s)) => s.flush(),
            Some(Sink::File(f)) => f.flush(),
            Some(Sink::Zstd(z)) => z.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Not finished: the run failed. Leave no partial file behind under a
        // name that could be mistaken for a complete one.
        if let Some((tmp, _)) = self.rename.take() {
            let _ = fs::remove_file(&tmp);
            crate::interrupt::unregister_partial(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn read_all(bytes: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        sniff(Box::new(io::Cursor::new(bytes))).unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn gzip_input_is_decompressed_every_member_plain_input_passes() {
        let mut two = gzip(b"REDIS0011 first member, ");
        two.extend(gzip(b"second member"));
        assert_eq!(read_all(two), b"REDIS0011 first member, second member");
        assert_eq!(read_all(b"REDIS0011".to_vec()), b"REDIS0011");
        assert_eq!(read_all(vec![0x1F]), vec![0x1F]);
        assert_eq!(read_all(Vec::new()), Vec::<u8>::new());
        // A damaged gzip stream is a read error, not silently short data.
        let mut bad = gzip(b"some data that is long enough to matter");
        let n = bad.len();
        bad[n - 6] ^= 0xFF;
        let mut out = Vec::new();
        assert!(sniff(Box::new(io::Cursor::new(bad))).unwrap().read_to_end(&mut out).is_err());
    }
}
