//! The machinery under every throwaway server: finding the server tools, free
//! ports, temp dirs, and the watchdog that stops a server and deletes its dir
//! when the test process goes away, however it goes away.

use std::any::Any;
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::panic::{self, UnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to answer after it was started.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Set (to anything but `0` or empty) to keep server dirs after the test run.
pub const KEEP_ENV: &str = "DECANT_TEST_KEEP";

/// Whether [`KEEP_ENV`] asks to keep server and work dirs.
pub(crate) fn keep_requested() -> bool {
    std::env::var_os(KEEP_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago and that no
/// other call in this process has returned.
///
/// The port is found by binding port 0 and dropping the listener, so another
/// process may still take it before the caller does; the server starters in
/// this crate retry on "Address already in use".
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    loop {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("cannot bind a port on 127.0.0.1: {e}"));
        let port = listener.local_addr().unwrap_or_else(|e| panic!("cannot read the bound port: {e}")).port();
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// The Debian package that provides `tool`, for "please install" messages.
pub(crate) fn debian_package(tool: &str) -> Option<&'static str> {
    Some(match tool {
        "redis-server" => "redis-server",
        "redis-cli" => "redis-tools",
        "mariadbd" | "mariadb-install-db" => "mariadb-server",
        "mariadb" => "mariadb-client",
        "initdb" | "pg_ctl" | "postgres" => "postgresql",
        "psql" | "pg_isready" => "postgresql-client",
        "openssl" => "openssl",
        "zstd" => "zstd",
        "jq" => "jq",
        "node" => "nodejs",
        "sqlite3" => "sqlite3",
        "useradd" => "passwd",
        _ => return None,
    })
}

/// The "how to get it" half of a missing-tool message.
pub(crate) fn install_hint(tool: &str) -> String {
    match debian_package(tool) {
        Some(package) => format!(
            "install the Debian package `{package}` (`apt-get install -y {package}`), \
             or run scripts/test.sh, which installs missing packages"
        ),
        None => "install it or put it on PATH".to_owned(),
    }
}

/// Finds a server or client tool: on `PATH`, then in the sbin dirs a
/// non-root `PATH` often lacks, then (PostgreSQL server tools) in
/// `/usr/lib/postgresql/<newest version>/bin`.
///
/// Panics, naming the Debian package to install, when the tool is missing: a
/// test that cannot get its server fails, it never skips.
pub(crate) fn find_tool(tool: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect()).unwrap_or_default();
    dirs.extend(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.extend(postgres_bin_dirs());
    for dir in &dirs {
        let candidate = dir.join(tool);
        if is_executable(&candidate) {
            return candidate;
        }
    }
    panic!("`{tool}` not found on PATH nor in /usr/sbin or /usr/lib/postgresql/*/bin: {}", install_hint(tool));
}

/// `/usr/lib/postgresql/<version>/bin` dirs, newest version first.
fn postgres_bin_dirs() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

pub(crate) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether this process runs as root (the servers need `--user=root` or a
/// switch to the `postgres` user then).
pub(crate) fn is_root() -> bool {
    // /proc/self belongs to the effective uid of the process.
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Creates a fresh temp dir named `decant-<kind>-XXXXXX` and hands its removal
/// over to the caller (normally to a [`Supervised`] watchdog).
pub(crate) fn make_temp_dir(kind: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(&format!("decant-{kind}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temp dir for {kind}: {e}"));
    dir.keep()
}

/// Runs a set-up command to completion and returns its stdout; panics with
/// its exit status, stderr and stdout when it fails or cannot be started.
pub(crate) fn run_checked(cmd: &mut Command, stdin: Option<&[u8]>) -> String {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let name = Path::new(&program).file_name().map_or(program.clone(), |n| n.to_string_lossy().into_owned());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run `{program}`: {e}; {}", install_hint(&name)));
    let writer = stdin.map(|input| {
        let input = input.to_vec();
        let mut pipe = child.stdin.take().expect("stdin was piped");
        // A thread, so a command that answers before reading all its input
        // cannot deadlock against us.
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        })
    });
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("cannot wait for `{program}`: {e}"));
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        panic!(
            "`{}` failed ({}):\n--- stderr ---\n{}\n--- stdout ---\n{}",
            describe(cmd),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end(),
            stdout.trim_end()
        );
    }
    match String::from_utf8(output.stdout) {
        Ok(stdout) => stdout,
        Err(_) => {
            panic!("`{}` printed output that is not UTF-8; select such values as hex or base64 instead", describe(cmd))
        }
    }
}

/// `cmd` as a shell-like line, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// Notes on stderr (shown with a failing test's output) that a server is up.
pub(crate) fn report_started(what: &str, port: u16, dir: &Path, since: Instant) {
    eprintln!(
        "decant-tests: {what} on 127.0.0.1:{port} ready in {} ms ({})",
        since.elapsed().as_millis(),
        dir.display()
    );
}

/// Drops one trailing newline: tools print one after their last line.
pub(crate) fn chomp(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
    }
    text
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Starts a server shared by all tests of one test binary: the first caller
/// starts it, later callers get the same instance. When starting fails, every
/// caller panics with the first failure's message instead of starting again.
pub(crate) fn shared_server<T: Sync + Send>(
    cell: &'static OnceLock<Result<T, String>>,
    start: impl FnOnce() -> T + UnwindSafe,
) -> &'static T {
    match cell.get_or_init(|| panic::catch_unwind(start).map_err(panic_message)) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

/// The watchdog: a `sh` that owns one server process and its temp dir.
///
/// It reads commands, one per line, on stdin: `run CMD` runs a set-up
/// program (initdb, …) to completion and prints its exit status; `start CMD`
/// stops the previous server attempt, if any, starts CMD in the background
/// and prints its pid. CMD is shell-quoted; its output goes to the log. At end
/// of input — the handle was dropped, or the test process exited, panicked or
/// was killed, since the kernel closes the pipe in every case — it stops the
/// server with the given signal, waits for it and deletes the dir.
///
/// Set-up programs run here, not in the test process, so that none is left
/// writing into the dir after it was deleted (initdb even recreates it).
/// Ctrl-C reaches only the test process: the watchdog runs in its own process
/// group. Nothing here may need /dev/null to be writable.
const WATCHDOG: &str = r#"
exec 2>>"$2"
trap '' INT HUP PIPE
PATH=$PATH:/usr/bin:/bin
dir=$1 log=$2 sig=$3 pid=
while IFS= read -r line; do
    case $line in
    run\ *)
        /bin/sh -c "exec ${line#run }" </dev/null >>"$log" 2>&1
        echo "$?"
        ;;
    start\ *)
        if [ -n "$pid" ]; then kill -"$sig" "$pid"; wait "$pid"; fi
        /bin/sh -c "exec ${line#start }" </dev/null >>"$log" 2>&1 &
        pid=$!
        echo "$pid"
        ;;
    esac
done
if [ -n "$pid" ]; then kill -"$sig" "$pid"; wait "$pid"; fi
tries=0
while [ -n "$dir" ] && [ -e "$dir" ] && [ "$tries" -lt 50 ]; do
    rm -rf "$dir" || sleep 0.1
    tries=$((tries + 1))
done
"#;

/// A user to run a server as (PostgreSQL refuses to run as root).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunAs {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// A server process under a watchdog; see [`WATCHDOG`]. Dropping it stops the
/// server and deletes its dir, and waits for both.
#[derive(Debug)]
pub(crate) struct Supervised {
    what: &'static str,
    watchdog: Child,
    control: Option<ChildStdin>,
    pids: BufReader<ChildStdout>,
    log: PathBuf,
}

impl Supervised {
    /// Puts `dir` under a new watchdog, which will stop the server with
    /// `stop_signal` (a `kill` signal name) and then delete `dir` (unless
    /// [`KEEP_ENV`] is set). The server's stdout and stderr go to `log`.
    pub(crate) fn new(
        what: &'static str,
        dir: &Path,
        log: PathBuf,
        stop_signal: &str,
        run_as: Option<RunAs>,
    ) -> Supervised {
        let keep = keep_requested();
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("decant-watchdog")
            .arg(if keep { Path::new("") } else { dir })
            .arg(&log)
            .arg(stop_signal)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0);
        if let Some(user) = run_as {
            cmd.uid(user.uid).gid(user.gid);
        }
        let mut watchdog = cmd.spawn().unwrap_or_else(|e| panic!("cannot start the watchdog shell /bin/sh: {e}"));
        let control = watchdog.stdin.take();
        let pids = BufReader::new(watchdog.stdout.take().expect("stdout was piped"));
        Supervised { what, watchdog, control, pids, log }
    }

    /// The server's log file.
    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// Sends `verb CMD` to the watchdog and returns its one-line answer.
    fn tell(&mut self, verb: &str, argv: &[OsString]) -> String {
        let mut line = verb.as_bytes().to_vec();
        for arg in argv {
            line.push(b' ');
            line.extend(shell_quote(arg));
        }
        line.push(b'\n');
        let control = self.control.as_mut().expect("watchdog still controlled");
        if let Err(e) = control.write_all(&line).and_then(|()| control.flush()) {
            panic!("the watchdog of {} is gone: {e}", self.what);
        }
        let mut answer = String::new();
        match self.pids.read_line(&mut answer) {
            Ok(n) if n > 0 => answer.trim().to_owned(),
            other => panic!("the watchdog of {} did not answer: {other:?}", self.what),
        }
    }

    /// Runs a set-up program (initdb, …) to completion under the watchdog, in
    /// the dir, as the watchdog's user; panics with its output (from the log)
    /// when it fails.
    pub(crate) fn run(&mut self, argv: &[OsString]) {
        let log_start = fs::metadata(&self.log).map_or(0, |m| m.len());
        let status = self.tell("run", argv);
        if status != "0" {
            panic!(
                "`{}` failed (exit status {status}); its output (in {}):\n{}",
                describe_argv(argv),
                self.log.display(),
                tail(&read_log(&self.log, log_start), 60)
            );
        }
    }

    /// Starts the server (stopping any earlier attempt) and returns its pid.
    fn launch(&mut self, argv: &[OsString]) -> u32 {
        let pid = self.tell("start", argv);
        pid.parse().unwrap_or_else(|_| panic!("the watchdog of {} printed {pid:?}", self.what))
    }

    /// Starts the server and waits until `ready` says it answers.
    ///
    /// `attempt` picks fresh ports and returns the command line and the
    /// ports; when the server dies saying "Address already in use" (another
    /// process took the port between [`free_port`] and the server's bind),
    /// it is started again with new ports. Panics with the end of the
    /// server's log when it dies for another reason or does not answer within
    /// [`START_TIMEOUT`].
    pub(crate) fn start<T>(
        &mut self,
        mut attempt: impl FnMut() -> (Vec<OsString>, T),
        mut ready: impl FnMut(&T) -> bool,
    ) -> T {
        const ATTEMPTS: u32 = 5;
        for attempt_no in 1..=ATTEMPTS {
            let (argv, ports) = attempt();
            let log_start = fs::metadata(&self.log).map_or(0, |m| m.len());
            let pid = self.launch(&argv);
            let started = Instant::now();
            loop {
                // Alive too: a port taken by someone else's server answers.
                if ready(&ports) && process_running(pid) {
                    return ports;
                }
                if !process_running(pid) {
                    let log = read_log(&self.log, log_start);
                    if log.contains("Address already in use") && attempt_no < ATTEMPTS {
                        break;
                    }
                    panic!(
                        "{} exited during start-up ({}); its log {} says:\n{}",
                        self.what,
                        describe_argv(&argv),
                        self.log.display(),
                        tail(&log, 40)
                    );
                }
                if started.elapsed() > START_TIMEOUT {
                    panic!(
                        "{} did not answer within {} s ({}); its log {} ends with:\n{}",
                        self.what,
                        START_TIMEOUT.as_secs(),
                        describe_argv(&argv),
                        self.log.display(),
                        tail(&read_log(&self.log, log_start), 40)
                    );
                }
                // Most servers answer within a few tens of milliseconds.
                let pause = if started.elapsed() < Duration::from_millis(300) {
                    Duration::from_millis(10)
                } else {
                    Duration::from_millis(50)
                };
                thread::sleep(pause);
            }
        }
        unreachable!("the last attempt either returns or panics")
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        // End of input tells the watchdog to stop the server and clean up.
        drop(self.control.take());
        let _ = self.watchdog.wait();
    }
}

/// Whether `pid` is a live process (a zombie, not yet reaped by the watchdog,
/// counts as dead).
fn process_running(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) state …"; comm may contain spaces and parentheses.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
}

/// The log written since byte `from`.
fn read_log(path: &Path, from: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut file) = fs::File::open(path) {
        let _ = file.seek(SeekFrom::Start(from));
        let _ = file.read_to_end(&mut text);
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let shown = &all[all.len().saturating_sub(lines)..];
    if shown.is_empty() {
        "(nothing)".to_owned()
    } else {
        shown.join("\n")
    }
}

fn describe_argv(argv: &[OsString]) -> String {
    argv.iter().map(|a| if a.is_empty() { "''".into() } else { a.to_string_lossy() }).collect::<Vec<_>>().join(" ")
}

/// `arg` quoted for `sh`.
fn shell_quote(arg: &OsStr) -> Vec<u8> {
    let bytes = arg.as_bytes();
    assert!(!bytes.contains(&b'\n'), "server arguments cannot contain newlines: {arg:?}");
    let mut quoted = vec![b'\''];
    for &b in bytes {
        if b == b'\'' {
            quoted.extend_from_slice(b"'\\''");
        } else {
            quoted.push(b);
        }
    }
    quoted.push(b'\'');
    quoted
}

/// `--name=value`, for server command lines with path values.
pub(crate) fn opt(name: &str, value: impl AsRef<OsStr>) -> OsString {
    let mut arg = OsString::from(name);
    arg.push("=");
    arg.push(value);
    arg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_the_shell() {
        let quoted = shell_quote(OsStr::new("it's a \"test\" $HOME `x`"));
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("printf %s {}", String::from_utf8(quoted).unwrap()))
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"it's a \"test\" $HOME `x`");
    }

    #[test]
    fn free_ports_are_distinct() {
        let ports: HashSet<u16> = (0..50).map(|_| free_port()).collect();
        assert_eq!(ports.len(), 50);
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 2), "(nothing)");
    }
}
