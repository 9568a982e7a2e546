//! `decant`: one command in front of the decant tools, as git and cargo are
//! in front of theirs. `decant TOOL ARGS…` runs the tool's own binary
//! (`decant diff …` runs `decant-diff …`, `decant redis-export …` runs
//! `redis-export …`), found next to the `decant` executable first and then
//! on `PATH`, with the arguments untouched and its exit status passed through.
//!
//! `decant completions SHELL` and `decant man [TOOL]` are generated from the
//! tools' own clap commands (each tool's library builds its command with a
//! public function, which its binary parses with), so they cannot drift from
//! what the tools accept.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use decant_record::cli::{EXIT_FATAL, EXIT_OK, HELP_WIDTH};

/// One tool the dispatcher knows.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// The name after `decant` (`diff`, `redis-export`).
    pub name: &'static str,
    /// The binary it runs (`decant-diff`, `redis-export`).
    pub binary: &'static str,
    /// The cargo package directory that installs the binary.
    pub package: &'static str,
    /// The tool's clap command, from its library.
    pub command: fn() -> clap::Command,
}

/// Every tool, in the order `decant --help` lists them.
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "redis-export",
        binary: "redis-export",
        package: "export",
        command: decant_export::commands::redis_export,
    },
    Tool {
        name: "mysql-export",
        binary: "mysql-export",
        package: "export",
        command: decant_export::commands::mysql_export,
    },
    Tool { name: "pg-export", binary: "pg-export", package: "export", command: decant_export::commands::pg_export },
    Tool {
        name: "sqlite-export",
        binary: "sqlite-export",
        package: "export",
        command: decant_export::commands::sqlite_export,
    },
    Tool {
        name: "dynamodb-export",
        binary: "dynamodb-export",
        package: "export",
        command: decant_export::commands::dynamodb_export,
    },
    Tool {
        name: "redis-import",
        binary: "redis-import",
        package: "import",
        command: decant_import::commands::redis_import,
    },
    Tool {
        name: "mysql-import",
        binary: "mysql-import",
        package: "import",
        command: decant_import::commands::mysql_import,
    },
    Tool { name: "pg-import", binary: "pg-import", package: "import", command: decant_import::commands::pg_import },
    Tool {
        name: "sqlite-import",
        binary: "sqlite-import",
        package: "import",
        command: decant_import::commands::sqlite_import,
    },
    Tool {
        name: "dynamodb-import",
        binary: "dynamodb-import",
        package: "import",
        command: decant_import::commands::dynamodb_import,
    },
    Tool { name: "transform", binary: "decant-transform", package: "transform", command: decant_transform::command },
    Tool { name: "checksum", binary: "decant-checksum", package: "checksum", command: decant_checksum::command },
    Tool { name: "verify", binary: "decant-verify", package: "verify", command: decant_verify::command },
    Tool { name: "diff", binary: "decant-diff", package: "diff", command: decant_diff::command },
];

/// The tool `name` names: its short name (`diff`) or its binary (`decant-diff`).
pub fn find_tool(name: &str) -> Option<&'static Tool> {
    TOOLS.iter().find(|t| t.name == name || t.binary == name)
}

/// The first line of a tool's `about`.
pub fn summary(tool: &Tool) -> String {
    let cmd = (tool.command)();
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    about.lines().next().unwrap_or("").trim_end_matches('.').to_owned()
}

/// `decant --help`: what decant is, and every tool with one line.
pub fn overview() -> String {
    let width = TOOLS.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut out = String::from(
        "decant: move data between Redis/Valkey, MySQL/MariaDB, PostgreSQL and SQLite\n\
         through one NDJSON stream format, and prove nothing was lost.\n\n\
         Usage: decant TOOL [ARGS]...     runs the tool (decant diff … runs decant-diff)\n       \
         decant help TOOL           the tool's --help\n       \
         decant completions SHELL   a completion script (bash, zsh, fish, elvish,\n                                  powershell)\n       \
         decant man [TOOL]          a roff man page (decant's own without TOOL)\n\n\
         Tools:\n",
    );
    for tool in TOOLS {
        out.push_str(&hanging_indent(&format!("  {:<width$}  ", tool.name), &summary(tool), HELP_WIDTH));
    }
    out.push_str(
        "\nEach tool is also a program of its own (decant-diff, redis-export, …);\n\
         decant runs the one next to it, else the one on PATH, and passes its exit\n\
         status through.\n\n\
         Examples:\n  \
         decant redis-export --url redis://127.0.0.1:6379/0 -o keys.ndjson.zst\n  \
         decant verify --left keys.ndjson.zst --right redis://127.0.0.1:6380/0\n  \
         decant completions bash > ~/.local/share/bash-completion/completions/decant\n  \
         decant man pg-import | man -l -\n\n",
    );
    out.push_str(decant_record::cli::EXIT_STATUS_HELP);
    out.push_str("\n  (decant TOOL exits with the tool's own status)\n");
    out
}

/// `first` then `text` wrapped at `width` columns, continuation lines
/// indented under the text's start.
fn hanging_indent(first: &str, text: &str, width: usize) -> String {
    let indent = first.chars().count();
    let mut out = String::from(first);
    let mut column = indent;
    for (i, word) in text.split(' ').enumerate() {
        let len = word.chars().count();
        if i > 0 && column + 1 + len > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            column = indent;
        } else if i > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += len;
    }
    out.push('\n');
    out
}

/// `decant` as one clap command with every tool as a subcommand, for
/// completion scripts and decant's own man page.
pub fn command() -> clap::Command {
    let mut cmd = clap::Command::new("decant")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Run a decant tool: decant TOOL [ARGS]...")
        .subcommand_required(true);
    // clap adds `help` (decant help TOOL) itself.
    for tool in TOOLS {
        cmd = cmd.subcommand((tool.command)().name(tool.name).bin_name(format!("decant {}", tool.name)));
    }
    cmd.subcommand(
        clap::Command::new("completions")
            .about("Print a shell completion script")
            .arg(clap::Arg::new("shell").required(true).value_parser(clap::value_parser!(clap_complete::Shell))),
    )
    .subcommand(
        clap::Command::new("man")
            .about("Print a roff man page (decant's own without TOOL)")
            .arg(clap::Arg::new("tool").value_parser(TOOLS.iter().map(|t| t.name).collect::<Vec<_>>())),
    )
}

/// Writes the completion script for `shell` (covering `decant` and every tool
/// under it).
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = command();
    clap_complete::generate(shell, &mut cmd, "decant", out);
}

/// Writes the roff man page of `tool` (its binary's page), or decant's own.
pub fn man_page(tool: Option<&Tool>, out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = match tool {
        Some(t) => (t.command)().name(t.binary),
        None => command().after_help(overview()),
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut page)?;
    out.write_all(title_first(&String::from_utf8_lossy(&page)).as_bytes())
}

/// The page with its `.TH` line first: roff puts its apostrophe definitions
/// (`.ie \n(.g .ds Aq …`) before it, and `man`, `whatis` and friends look for
/// the title at the top. Defining a string after `.TH` works the same.
fn title_first(page: &str) -> String {
    let lines: Vec<&str> = page.lines().collect();
    let Some(th) = lines.iter().position(|l| l.starts_with(".TH ")) else {
        return page.to_owned();
    };
    let mut out = String::with_capacity(page.len() + 1);
    for line in std::iter::once(lines[th]).chain(lines[..th].iter().copied()).chain(lines[th + 1..].iter().copied()) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Where the tool's binary is: next to this executable, else the bare name
/// for a `PATH` lookup.
pub fn locate(tool: &Tool) -> PathBuf {
    decant_check::source::find_sibling_binary(tool.binary, None)
}

fn unknown_tool(name: &str) -> ExitCode {
    let mut msg = format!("decant: unknown tool {name:?}; the tools are:\n");
    for t in TOOLS {
        msg.push_str(&format!("  {}\n", t.name));
    }
    msg.push_str("(decant --help says what each does)");
    eprintln!("{msg}");
    ExitCode::from(EXIT_FATAL)
}

fn print(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`decant --help | head`) is not an error.
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    ExitCode::from(EXIT_OK)
}

/// Runs the tool's binary with `args`, replacing this process (so signals and
/// the exit status are the tool's own).
fn run_tool(tool: &Tool, args: Vec<OsString>) -> ExitCode {
    let program = locate(tool);
    let mut cmd = std::process::Command::new(&program);
    cmd.args(args);
    let err = exec(&mut cmd);
    eprintln!(
        "decant: cannot run {} ({}): {err}; install it next to decant or on PATH \
         (cargo install --locked --path {} from the decant repository)",
        tool.binary,
        program.display(),
        tool.package
    );
    ExitCode::from(EXIT_FATAL)
}

#[cfg(unix)]
fn exec(cmd: &mut std::process::Command) -> std::io::Error {
    use std::os::unix::process::CommandExt as _;
    cmd.exec()
}

#[cfg(not(unix))]
fn exec(cmd: &mut std::process::Command) -> std::io::Error {
    match cmd.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(i32::from(EXIT_FATAL))),
        Err(e) => e,
    }
}

/// The body of `decant`'s `main`.
pub fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(first) = args.next() else {
        eprint!("{}", overview());
        return ExitCode::from(EXIT_FATAL);
    };
    let rest: Vec<OsString> = args.collect();
    let Some(first) = first.to_str().map(str::to_owned) else {
        return unknown_tool(&first.to_string_lossy());
    };
    match first.as_str() {
        "-h" | "--help" => print(&overview()),
        "help" if rest.is_empty() => print(&overview()),
        "help" => match rest[0].to_str().and_then(find_tool) {
            Some(tool) => run_tool(tool, vec!["--help".into()]),
            None => unknown_tool(&rest[0].to_string_lossy()),
        },
        "-V" | "--version" => print(&format!("decant {}\n", env!("CARGO_PKG_VERSION"))),
        "completions" => {
            let shell = rest.first().and_then(|s| s.to_str()).and_then(|s| s.parse::<clap_complete::Shell>().ok());
            match shell {
                Some(shell) if rest.len() == 1 => {
                    let mut buf = Vec::new();
                    completions(shell, &mut buf);
                    print(&String::from_utf8_lossy(&buf))
                }
                _ => {
                    eprintln!("decant: usage: decant completions bash|zsh|fish|elvish|powershell");
                    ExitCode::from(EXIT_FATAL)
                }
            }
        }
        "man" => {
            let tool = match rest.first().map(|s| s.to_str().and_then(find_tool)) {
                None => None,
                Some(Some(t)) => Some(t),
                Some(None) => return unknown_tool(&rest[0].to_string_lossy()),
            };
            let mut buf = Vec::new();
            if let Err(e) = man_page(tool, &mut buf) {
                eprintln!("decant: rendering the man page: {e}");
                return ExitCode::from(EXIT_FATAL);
            }
            print(&String::from_utf8_lossy(&buf))
        }
        name => match find_tool(name) {
            Some(tool) => run_tool(tool, rest),
            None => unknown_tool(name),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_builds_its_command_and_names_itself() {
        for tool in TOOLS {
            let cmd = (tool.command)();
            cmd.clone().debug_assert();
            assert_eq!(cmd.get_name(), tool.binary, "{}", tool.name);
            let about = summary(tool);
            assert!(!about.is_empty() && !about.starts_with("The flags"), "{}: {about}", tool.name);
        }
        command().debug_assert();
    }

    #[test]
    fn no_example_wraps_at_80_columns() {
        for tool in TOOLS {
            let after = (tool.command)().get_after_help().map(|s| s.to_string()).unwrap_or_default();
            for line in after.lines().filter(|l| l.starts_with("  ") && !l.starts_with("   ")) {
                assert!(line.chars().count() <= 80, "{}: {line:?}", tool.name);
            }
        }
    }

    #[test]
    fn no_help_text_holds_clap_s_line_break_escape() {
        // "{n}" in clap help text renders as a line break, splitting examples.
        for tool in TOOLS {
            let mut cmd = (tool.command)();
            let help = cmd.render_long_help().to_string();
            for arg in cmd.get_arguments() {
                let text = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
                assert!(!text.contains("{n}"), "{} --{:?}: {text}", tool.name, arg.get_long());
            }
            assert!(!help.contains("@\n"), "{}", tool.name);
        }
    }

    #[test]
    fn tools_are_found_by_short_name_and_binary() {
        assert_eq!(find_tool("diff").unwrap().binary, "decant-diff");
        assert_eq!(find_tool("decant-diff").unwrap().name, "diff");
        assert_eq!(find_tool("redis-export").unwrap().binary, "redis-export");
        assert!(find_tool("nope").is_none());
    }

    #[test]
    fn every_registered_store_has_its_exporter_and_importer_here() {
        for store in decant_record::store::STORES {
            for binary in [store.exporter, store.importer] {
                assert!(TOOLS.iter().any(|t| t.binary == binary), "{}: {binary} is not in TOOLS", store.name);
            }
        }
    }

    #[test]
    fn the_overview_lists_every_tool() {
        let text = overview();
        for tool in TOOLS {
            assert!(text.contains(&format!("  {} ", tool.name)), "{}: {text}", tool.name);
        }
    }
}
