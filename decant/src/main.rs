//! `decant TOOL ARGS…`: runs a decant tool; see `decant --help`.

fn main() -> std::process::ExitCode {
    decant::main()
}
