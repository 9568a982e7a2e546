//! Running the binaries under test: finding them, feeding them stdin,
//! capturing exit code, stdout and stderr, and piping them together.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::process::install_hint;

/// How long a command may run before it is killed and the test fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The path of workspace binary `name` (e.g. `"redis-export"`), built in the
/// same target dir and profile as the running test: test executables live in
/// `<target>/<profile>/deps/`, binaries in `<target>/<profile>/`, whatever
/// `CARGO_TARGET_DIR` says.
///
/// Panics when the binary has not been built: `cargo test` builds only the
/// binaries of the package under test, so run
/// `cargo build --workspace --bins` first (`scripts/test.sh` does).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the running test executable: {e}"));
    let deps = exe.parent().unwrap_or_else(|| Path::new("."));
    let profile_dir = if deps.file_name() == Some(OsStr::new("deps")) { deps.parent().unwrap_or(deps) } else { deps };
    let path = profile_dir.join(name);
    if !path.is_file() {
        panic!("binary `{name}` not built (no {}): run `cargo build --workspace --bins`", path.display());
    }
    path
}

/// A command for workspace binary `name` (see [`bin`]):
/// `run("redis-export").args(["--url", &url]).output()`.
pub fn run(name: &str) -> Cmd {
    Cmd::new(bin(name))
}

/// A command to run to completion, with its output captured.
///
/// Environment variables that decant tools read as fallbacks
/// (`SOURCE_*`, `TARGET_*`) are removed, so a developer's shell cannot leak
/// into a test; set them again with [`env`](Self::env).
#[derive(Debug)]
pub struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    current_dir: Option<PathBuf>,
    stdin: Input,
    timeout: Duration,
}

#[derive(Debug)]
enum Input {
    Null,
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl Cmd {
    /// A command for any program: a path, or a name looked up on `PATH`
    /// (e.g. `Cmd::new("zstd")`).
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: PathBuf::from(program.as_ref()),
            args: Vec::new(),
            envs: Vec::new(),
            current_dir: None,
            stdin: Input::Null,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.envs.push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Cmd {
        self.envs.push((key.as_ref().to_owned(), None));
        self
    }

    /// Runs in `dir` (default: the test's own working directory).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.current_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Feeds `bytes` on stdin (default: stdin is `/dev/null`).
    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Input::Bytes(bytes.into());
        self
    }

    /// Feeds the file at `path` on stdin.
    pub fn stdin_file(mut self, path: impl AsRef<Path>) -> Cmd {
        self.stdin = Input::File(path.as_ref().to_owned());
        self
    }

    /// Kills the command and fails the test after `timeout` (default
    /// [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = timeout;
        self
    }

    /// Pipes this command's stdout into `next`'s stdin.
    pub fn pipe(self, next: Cmd) -> Pipeline {
        Pipeline { cmds: vec![self, next] }
    }

    /// Runs the command to completion (or its timeout).
    pub fn output(self) -> Output {
        Pipeline { cmds: vec![self] }.output().pop().expect("one command, one output")
    }

    /// Runs the command and panics (with its stderr) unless it exits 0.
    pub fn assert_success(self) -> Output {
        self.output().assert_success()
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name.starts_with("SOURCE_") || name.starts_with("TARGET_") {
                cmd.env_remove(&key);
            }
        }
        for (key, value) in &self.envs {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = &self.current_dir {
            cmd.current_dir(dir);
        }
        cmd
    }

    fn display(&self) -> String {
        let mut words = vec![self.program.to_string_lossy().into_owned()];
        words.extend(self.args.iter().map(|a| a.to_string_lossy().into_owned()));
        words.join(" ")
    }
}

/// Commands joined by pipes, like `a | b | c` in a shell; see [`Cmd::pipe`].
#[derive(Debug)]
pub struct Pipeline {
    cmds: Vec<Cmd>,
}

impl Pipeline {
    /// Pipes the last command's stdout into `next`'s stdin.
    pub fn pipe(mut self, next: Cmd) -> Pipeline {
        self.cmds.push(next);
        self
    }

    /// Runs all commands to completion (or the first command's timeout, for
    /// all of them) and returns one [`Output`] per command, in order; only
    /// the last has stdout.
    pub fn output(self) -> Vec<Output> {
        let timeout = self.cmds[0].timeout;
        let mut running: Vec<Running> = Vec::with_capacity(self.cmds.len());
        let mut previous_stdout: Option<ChildStdout> = None;
        let last = self.cmds.len() - 1;
        for (i, spec) in self.cmds.into_iter().enumerate() {
            let mut cmd = spec.command();
            let mut feed = None;
            match (previous_stdout.take(), &spec.stdin) {
                (Some(pipe), _) => {
                    cmd.stdin(Stdio::from(pipe));
                }
                (None, Input::Null) => {
                    cmd.stdin(Stdio::null());
                }
                (None, Input::Bytes(bytes)) => {
                    cmd.stdin(Stdio::piped());
                    feed = Some(bytes.clone());
                }
                (None, Input::File(path)) => {
                    let file = std::fs::File::open(path)
                        .unwrap_or_else(|e| panic!("cannot open {} for `{}`: {e}", path.display(), spec.display()));
                    cmd.stdin(file);
                }
            }
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = match cmd.spawn() {
                Ok(child) => child,
                Err(e) => {
                    let name = spec.program.file_name().unwrap_or_default().to_string_lossy();
                    panic!("cannot run `{}`: {e}; {}", spec.display(), install_hint(&name));
                }
            };
            let writer = feed.map(|bytes| {
                let mut stdin = child.stdin.take().expect("stdin was piped");
                // A closed pipe is the reader's business, not an error here.
                thread::spawn(move || {
                    let _ = stdin.write_all(&bytes);
                })
            });
            let stdout = if i == last {
                Some(read_all(child.stdout.take().expect("stdout was piped")))
            } else {
                previous_stdout = child.stdout.take();
                None
            };
            let stderr = read_all(child.stderr.take().expect("stderr was piped"));
            running.push(Running { display: spec.display(), child, writer, stdout, stderr, status: None });
        }

        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        while running.iter().any(|r| r.status.is_none()) {
            for r in running.iter_mut().filter(|r| r.status.is_none()) {
                r.status = r.child.try_wait().unwrap_or_else(|e| panic!("cannot wait for `{}`: {e}", r.display));
            }
            if started.elapsed() > timeout {
                for r in running.iter_mut().filter(|r| r.status.is_none()) {
                    let _ = r.child.kill();
                    let _ = r.child.wait();
                }
                let stderrs: Vec<String> = running
                    .into_iter()
                    .map(|r| {
                        let output = r.finish();
                        format!("--- {} stderr ---\n{}", output.command, output.stderr)
                    })
                    .collect();
                panic!("timed out after {} s; killed:\n{}", timeout.as_secs(), stderrs.join("\n"));
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        running.into_iter().map(Running::finish).collect()
    }

    /// Runs the pipeline, panics unless every command exits 0, and returns
    /// the last command's output.
    pub fn assert_success(self) -> Output {
        let outputs = self.output();
        for output in &outputs {
            output.check_success();
        }
        outputs.into_iter().last().expect("a pipeline has commands")
    }
}

struct Running {
    display: String,
    child: Child,
    writer: Option<JoinHandle<()>>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: JoinHandle<Vec<u8>>,
    status: Option<ExitStatus>,
}

impl Running {
    fn finish(self) -> Output {
        if let Some(writer) = self.writer {
            let _ = writer.join();
        }
        let stdout = self.stdout.map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let stderr = self.stderr.join().unwrap_or_default();
        Output {
            command: self.display,
            status: self.status,
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// What a finished command did.
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// The exit status (`None` if it was killed at its timeout).
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stdout (empty for all but the last command of
    /// a pipeline).
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr (invalid UTF-8 replaced: stderr is talk).
    pub stderr: String,
}

impl Output {
    /// The exit code; `None` when killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Panics, showing stderr and the start of stdout, unless the exit code
    /// is 0; returns `self` for chaining.
    pub fn assert_success(self) -> Output {
        self.check_success();
        self
    }

    fn check_success(&self) {
        if self.code() != Some(0) {
            panic!("expected success: {self:?}");
        }
    }

    /// Panics unless the exit code is `code` (e.g. 1: differences found or
    /// records rejected, 2: usage or fatal error); returns `self`.
    pub fn assert_code(self, code: i32) -> Output {
        if self.code() != Some(code) {
            panic!("expected exit code {code}: {self:?}");
        }
        self
    }

    /// Panics unless stderr contains `needle`; returns `self`.
    pub fn assert_stderr_contains(self, needle: &str) -> Output {
        if !self.stderr.contains(needle) {
            panic!("expected stderr to contain {needle:?}: {self:?}");
        }
        self
    }

    /// Stdout as text; panics if it is not UTF-8.
    pub fn stdout_str(&self) -> &str {
        std::str::from_utf8(&self.stdout).unwrap_or_else(|e| panic!("stdout is not UTF-8 ({e}): {self:?}"))
    }

    /// Stdout's lines, without line ends.
    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout_str().lines().collect()
    }

    /// Stdout parsed as NDJSON, one value per non-empty line; panics naming
    /// the line that is not JSON.
    pub fn stdout_json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout_lines()
            .into_iter()
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("stdout line {} is not JSON ({e}): {line}\n{self:?}", i + 1))
            })
            .collect()
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 4000;
        let stdout = String::from_utf8_lossy(&self.stdout);
        let (stdout, cut) = match stdout.char_indices().nth(SHOWN) {
            Some((at, _)) => (&stdout[..at], " …(cut)"),
            None => (&stdout[..], ""),
        };
        let status = match self.status {
            Some(status) => status.to_string(),
            None => "killed at timeout".to_owned(),
        };
        write!(
            f,
            "`{}` ({status})\n--- stderr ---\n{}\n--- stdout ---\n{stdout}{cut}",
            self.command,
            self.stderr.trim_end()
        )
    }
}
