# Sourced by test.sh and demo.sh: checks the build toolchain before anything
# else (installing servers is pointless without it) and says what to install.
#
#   check_toolchain NAME   exits 1 with instructions when something is missing

check_toolchain() {
    local name=$1 problems=()
    # rustup installs into ~/.cargo/bin, which a fresh shell may not have on PATH yet.
    [[ -d $HOME/.cargo/bin ]] && export PATH=$PATH:$HOME/.cargo/bin
    if ! command -v cargo >/dev/null 2>&1; then
        problems+=("cargo is not installed: install Rust 1.85 or newer with rustup:"
            "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y"
            "  (Debian's own rustc/cargo packages are too old)")
    else
        local version
        version=$(rustc --version 2>/dev/null | awk '{print $2}')
        local major=${version%%.*} rest=${version#*.}
        local minor=${rest%%.*}
        if [[ -z $version ]] || ((major < 1 || (major == 1 && minor < 85))); then
            problems+=("rustc ${version:-?} is too old: decant needs 1.85 or newer (rustup update stable)")
        fi
    fi
    if ! command -v cc >/dev/null 2>&1; then
        problems+=("no C compiler and linker (cc): ring and zstd compile C code; apt-get install -y build-essential")
    fi
    if ((${#problems[@]})); then
        local line
        for line in "${problems[@]}"; do printf '%s: %s\n' "$name" "$line" >&2; done
        printf '%s: the README lists the prerequisites (Rust >= 1.85, build-essential, ~8 GB free for target/)\n' "$name" >&2
        exit 1
    fi
}
