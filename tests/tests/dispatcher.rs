//! The `decant` dispatcher: runs the tools with their exit status, lists them,
//! and generates completion scripts and man pages from their clap commands.

use decant_tests::{run, Cmd, Workdir};

const TOOLS: &[&str] = &[
    "redis-export",
    "mysql-export",
    "pg-export",
    "sqlite-export",
    "dynamodb-export",
    "redis-import",
    "mysql-import",
    "pg-import",
    "sqlite-import",
    "dynamodb-import",
    "transform",
    "checksum",
    "verify",
    "diff",
];

#[test]
fn help_lists_every_tool_with_one_line() {
    let out = run("decant").arg("--help").assert_success();
    for tool in TOOLS {
        let line = out.stdout_lines().into_iter().find(|l| l.starts_with(&format!("  {tool} "))).unwrap_or_else(|| {
            panic!("{tool} is not listed: {}", out.stdout_str());
        });
        assert!(line.len() > tool.len() + 10, "{tool} has no description: {line:?}");
    }
}

#[test]
fn a_tool_runs_with_its_own_help_and_exit_status() {
    for (short, binary) in [("diff", "decant-diff"), ("redis-export", "redis-export"), ("checksum", "decant-checksum")]
    {
        let via = run("decant").args([short, "--help"]).assert_success();
        let direct = run(binary).arg("--help").assert_success();
        assert_eq!(via.stdout_str(), direct.stdout_str(), "decant {short} --help");
    }
    // Exit statuses pass through: 1 for differences, 2 for trouble.
    let w = Workdir::new("dispatcher");
    w.write("a.ndjson", "{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1,\"v\":1}}\n");
    w.write("b.ndjson", "{\"kind\":\"row\",\"table\":\"t\",\"data\":{\"id\":1,\"v\":2}}\n");
    w.run("decant").args(["diff", "a.ndjson", "a.ndjson", "--key", "id"]).output().assert_code(0);
    w.run("decant").args(["diff", "a.ndjson", "b.ndjson", "--key", "id"]).output().assert_code(1);
    w.run("decant")
        .args(["checksum", "no-such-file.ndjson"])
        .output()
        .assert_code(2)
        .assert_stderr_contains("decant-checksum: ");
}

#[test]
fn an_unknown_tool_is_a_usage_error_that_lists_the_tools() {
    let out = run("decant").arg("frobnicate").output().assert_code(2);
    assert!(out.stderr.contains("unknown tool \"frobnicate\""), "{out:?}");
    for tool in TOOLS {
        assert!(out.stderr.contains(&format!("  {tool}\n")), "{tool}: {out:?}");
    }
    run("decant").output().assert_code(2);
}

#[test]
fn completion_scripts_are_valid_and_name_the_tools() {
    let w = Workdir::new("completions");
    let bash = run("decant").args(["completions", "bash"]).assert_success();
    let script = w.write("decant.bash", &bash.stdout);
    Cmd::new("bash").arg("-n").arg(&script).assert_success();
    for tool in TOOLS {
        assert!(bash.stdout_str().contains(tool), "bash completion lacks {tool}");
    }
    // Flags of the tools come from their own definitions.
    assert!(bash.stdout_str().contains("--allow-unsealed"), "tool flags are completed");
    for shell in ["zsh", "fish"] {
        let out = run("decant").args(["completions", shell]).assert_success();
        assert!(out.stdout_str().contains("redis-export"), "{shell}");
    }
    run("decant").args(["completions", "tcsh"]).output().assert_code(2);
}

#[test]
fn man_pages_are_roff_generated_from_the_tools() {
    let page = run("decant").args(["man", "redis-export"]).assert_success();
    assert!(page.stdout_str().starts_with(".TH redis-export 1"), "{}", &page.stdout_str()[..200]);
    assert!(page.stdout_str().contains("\\-\\-match"), "the tool's flags are in its page");
    let own = run("decant").arg("man").assert_success();
    assert!(own.stdout_str().starts_with(".TH decant 1"), "{}", &own.stdout_str()[..200]);
    run("decant").args(["man", "nope"]).output().assert_code(2);
}

/// Issue 14: `--help` read at 80 columns. No line is wider (so nothing wraps
/// mid-example), an example broken over lines continues with ` \` so it
/// pastes as one command, and the exit-status text is the tool kind's own
/// (an exporter does not speak of "differences found").
#[test]
fn help_at_80_columns_pastes_as_single_commands_and_says_the_kinds_exit_status() {
    let binaries = [
        ("redis-export", "some records could not be exported"),
        ("mysql-export", "some records could not be exported"),
        ("pg-export", "some records could not be exported"),
        ("sqlite-export", "some records could not be exported"),
        ("redis-import", "some records were rejected"),
        ("mysql-import", "some records were rejected"),
        ("pg-import", "some records were rejected"),
        ("sqlite-import", "some records were rejected"),
        ("decant-transform", "some records were rejected"),
        ("decant-checksum", "differences found"),
        ("decant-verify", "differences found"),
        ("decant-diff", "differences found"),
        ("decant", "differences found"),
    ];
    for (binary, exit_1) in binaries {
        let out = run(binary).env("COLUMNS", "80").arg("--help").assert_success();
        let text = out.stdout_str();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines {
            assert!(line.chars().count() <= 80, "{binary}: wider than 80 columns: {line:?}");
        }
        let examples = lines.iter().skip_while(|l| !l.starts_with("Examples:")).skip(1).take_while(|l| !l.is_empty());
        let examples: Vec<&str> = examples.copied().collect();
        assert!(!examples.is_empty(), "{binary}: no examples");
        for (i, line) in examples.iter().enumerate() {
            let continues = i > 0 && examples[i - 1].ends_with(" \\");
            let indented = line.starts_with("   ");
            assert_eq!(continues, indented, "{binary}: example line {line:?} would paste as a separate command");
            assert!(line.starts_with("  "), "{binary}: {line:?}");
        }
        assert!(!examples.last().unwrap().ends_with(" \\"), "{binary}: the last example ends with a continuation");
        let exit = text.split("Exit status:").nth(1).unwrap_or_else(|| panic!("{binary}: no exit status"));
        assert!(exit.contains(exit_1), "{binary}: exit status 1 should say {exit_1:?}: {exit}");
        if binary.ends_with("-export") || binary.ends_with("-import") || binary == "decant-transform" {
            assert!(!exit.contains("differences"), "{binary}: {exit}");
        }
    }
}
