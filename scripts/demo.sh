#!/usr/bin/env bash
# decant demo: the relay migration end to end, on throwaway servers.
#
#   scripts/demo.sh
#
# 1. starts a throwaway Redis (source), a second Redis (warm-up target) and a
#    MariaDB on free loopback ports in a temp dir (installing redis-server and
#    mariadb-server with apt-get when they are missing);
# 2. loads a sample of the API relay service's data (examples/gen_relay_redis.py);
# 3. backs it up:   redis-export -o backup.ndjson.zst
# 4. dry-runs:      decant-transform --check
# 5. migrates:      redis-export | decant-transform --spec examples/relay-to-mysql.toml | mysql-import --create-tables
# 6. prints per-table row counts next to the source key/element counts, and
#    runs decant-verify when it is built;
# 7. warms an empty Redis back from MySQL:
#                   mysql-export | decant-transform --spec examples/mysql-to-relay.toml | redis-import
#    and checks that every warmed key equals its original (value and TTL);
# 8. cleans up. Exits non-zero on any mismatch.
#
# Environment:
#   DEMO_SCALE=0.01     size of the sample (1 = ~1M keys)
#   DECANT_BIN=DIR      use the decant binaries in DIR instead of building
#                       them (`cargo build --release --bins`)
#   DEMO_KEEP=1         keep the temp dir and servers' logs for a post-mortem
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCALE=${DEMO_SCALE:-0.01}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }

# The toolchain first (unless given built binaries): the servers installed
# below are no use when the tools cannot be built.
if [[ -z ${DECANT_BIN:-} ]]; then
    # shellcheck source=scripts/prereq.sh
    source scripts/prereq.sh
    check_toolchain demo.sh
fi

# ------------------------------------------------------------------ programs
have() {
    command -v "$1" >/dev/null 2>&1 && return 0
    local dir
    for dir in /usr/local/sbin /usr/sbin /sbin; do [[ -x $dir/$1 ]] && return 0; done
    return 1
}
missing=()
have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-tools)
have mariadbd || missing+=(mariadb-server)
have mariadb || missing+=(mariadb-client)
have python3 || missing+=(python3)
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || die "missing: ${missing[*]} (apt-get install -y ${missing[*]})"
    echo "demo.sh: installing ${missing[*]}" >&2
    # Only the programs: keep the packages from starting machine-wide services.
    policy=/usr/sbin/policy-rc.d own_policy=0
    if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || true
    ((own_policy)) && rm -f "$policy"
fi
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

if [[ -n ${DECANT_BIN:-} ]]; then
    BIN=$DECANT_BIN
else
    say "building release binaries"
    cargo build --release --bins
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
fi
for tool in redis-export redis-import mysql-export mysql-import decant-transform; do
    [[ -x $BIN/$tool ]] || die "$BIN/$tool is not built (cargo build --release --bins)"
done

# ------------------------------------------------------------------ servers
TMP=$(mktemp -d "${TMPDIR:-/tmp}/decant-demo.XXXXXX")
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [[ -n ${DEMO_KEEP:-} ]]; then echo "demo.sh: kept $TMP" >&2; else rm -rf "$TMP"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_redis() { # name port
    mkdir -p "$TMP/$1"
    redis-server --port "$2" --bind 127.0.0.1 --save "" --appendonly no --dir "$TMP/$1" \
        --daemonize yes --pidfile "$TMP/$1/redis.pid" --logfile "$TMP/$1/redis.log"
    for _ in $(seq 100); do redis-cli -p "$2" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$2" ping >/dev/null || die "redis-server on port $2 did not start (see $TMP/$1/redis.log)"
    PIDS+=("$(cat "$TMP/$1/redis.pid")")
}

say "starting throwaway servers in $TMP"
SRC_PORT=$(free_port)
start_redis redis-src "$SRC_PORT"
WARM_PORT=$(free_port)
start_redis redis-warm "$WARM_PORT"
DB_PORT=$(free_port)
mkdir -p "$TMP/mariadb/tmp"
mariadb-install-db --no-defaults --user=root --datadir="$TMP/mariadb/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$TMP/mariadb/install.log" 2>&1 ||
    die "mariadb-install-db failed (see $TMP/mariadb/install.log)"
mariadbd --no-defaults --user=root --datadir="$TMP/mariadb/data" --socket="$TMP/mariadb/mysqld.sock" \
    --port="$DB_PORT" --bind-address=127.0.0.1 --pid-file="$TMP/mariadb/mariadb.pid" --tmpdir="$TMP/mariadb/tmp" \
    --skip-log-bin --local-infile=1 --max-allowed-packet=256M --innodb-flush-log-at-trx-commit=2 \
    --character-set-server=utf8mb4 --default-time-zone=+02:00 --log-error="$TMP/mariadb/error.log" &
PIDS+=($!)
sql() { mariadb --no-defaults -S "$TMP/mariadb/mysqld.sock" -uroot -N -B "$@"; }
for _ in $(seq 300); do sql -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
sql -e 'select 1' >/dev/null || die "mariadbd did not start (see $TMP/mariadb/error.log)"
sql -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; CREATE DATABASE relay;"
REDIS_SRC=redis://127.0.0.1:$SRC_PORT/0
REDIS_WARM=redis://127.0.0.1:$WARM_PORT/0
MYSQL=mysql://root@127.0.0.1:$DB_PORT/relay
echo "source $REDIS_SRC   warm-up target $REDIS_WARM   MySQL $MYSQL"

# ------------------------------------------------------------------ data
say "loading the relay sample (scale $SCALE)"
python3 examples/gen_relay_redis.py --scale "$SCALE" --out "$TMP/relay.resp" >/dev/null
redis-cli -p "$SRC_PORT" --pipe <"$TMP/relay.resp" | tail -1
echo "source keys: $(redis-cli -p "$SRC_PORT" dbsize)"

say "backup first: redis-export -o backup.ndjson.zst"
"$BIN/redis-export" --url "$REDIS_SRC" -o "$TMP/backup.ndjson.zst" --quiet
ls -l "$TMP/backup.ndjson.zst" | awk '{print $5 " bytes"}'

say "dry run: decant-transform --check (every key must match a rule)"
"$BIN/decant-transform" --spec examples/relay-to-mysql.toml --check --sample 100000000 --examples 0 \
    -i "$TMP/backup.ndjson.zst" | grep -E '^(rule|  matched|unmatched|check)' ||
    die "the spec does not cover the data (see the check above)"

say "migrate: redis-export | decant-transform | mysql-import --create-tables"
"$BIN/redis-export" --url "$REDIS_SRC" --progress |
    "$BIN/decant-transform" --spec examples/relay-to-mysql.toml --progress |
    "$BIN/mysql-import" --url "$MYSQL" --create-tables --progress

# ------------------------------------------------------------------ counts
say "row counts vs source"
# count PATTERN TYPE [CMD]: keys matching PATTERN of TYPE, or the sum of CMD over them.
count() {
    redis-cli -p "$SRC_PORT" --no-raw EVAL "
        local n, cursor = 0, '0'
        repeat
            local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000, 'TYPE', ARGV[2])
            cursor = r[1]
            for _, k in ipairs(r[2]) do
                if ARGV[3] == '' then n = n + 1 else n = n + redis.call(ARGV[3], k) end
            end
        until cursor == '0'
        return n" 0 "$1" "$2" "${3:-}" | tr -dc '0-9'
}
mismatch=0
printf '%-20s %-34s %10s %10s\n' table source expected rows
row() { # table source-description expected
    local rows
    rows=$(sql relay -e "SELECT COUNT(*) FROM \`$1\`")
    local mark=ok
    [[ $rows == "$3" ]] || { mark=MISMATCH; mismatch=1; }
    printf '%-20s %-34s %10s %10s  %s\n' "$1" "$2" "$3" "$rows" "$mark"
}
row api_keys "apikey:* hashes" "$(count 'apikey:*' hash)"
row api_key_hashes "apikey_hash_map fields" "$(count apikey_hash_map hash HLEN)"
row accounts "*_account:* hashes" "$(($(count 'claude_account:*' hash) + $(count 'gemini_account:*' hash)))"
row admins "admin:* hashes" "$(count 'admin:*' hash)"
row admin_usernames "admin:usernames members" "$(count admin:usernames set SCARD)"
row usage_stats "usage:*:daily:* hashes" "$(count 'usage:*:daily:*' hash)"
row usage_records "usage:records:* list elements" "$(count 'usage:records:*' list LLEN)"
row sessions "session:* strings" "$(count 'session:*' string)"
row concurrency_leases "concurrency:* zset members" "$(count 'concurrency:*' zset ZCARD)"
row tags "set:tags:* members" "$(count 'set:tags:*' set SCARD)"
row events "events:stream entries" "$(count events:stream stream XLEN)"
((mismatch == 0)) && echo "all counts match" || echo "COUNT MISMATCH"

# Typed columns, and one sample hash against its row.
sql relay -e "SELECT COUNT(*) FROM api_keys WHERE JSON_VALID(permissions) = 0" | grep -qx 0 ||
    { echo "invalid JSON in api_keys.permissions"; mismatch=1; }
sql relay -e "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='relay' AND TABLE_NAME='api_keys' AND COLUMN_NAME='created_at'" |
    grep -qix datetime || { echo "api_keys.created_at is not a DATETIME"; mismatch=1; }

if [[ -x $BIN/decant-verify ]]; then
    say "decant-verify: source (through the spec) vs MySQL"
    "$BIN/decant-verify" --left "$TMP/backup.ndjson.zst" --spec examples/relay-to-mysql.toml --right "$MYSQL" ||
        echo "(decant-verify reported differences or could not run; the counts above are authoritative here)"
fi

# ------------------------------------------------------------------ warm-up
say "warm-up: mysql-export | decant-transform (reverse spec) | redis-import into an empty Redis"
"$BIN/mysql-export" --url "$MYSQL" --progress |
    "$BIN/decant-transform" --spec examples/mysql-to-relay.toml --progress |
    "$BIN/redis-import" --url "$REDIS_WARM" --mode replace --progress
echo "warmed keys: $(redis-cli -p "$WARM_PORT" dbsize)"

say "warmed keys vs originals (value and TTL)"
warm_families=(--match 'apikey:*' --match apikey_hash_map --match '*_account:*' --match 'admin:*'
    --match 'usage:*:daily:*' --match 'session:*' --match 'concurrency:*' --match 'set:tags:*'
    --match 'usage:records:*' --match events:stream)
"$BIN/redis-export" --url "$REDIS_SRC" "${warm_families[@]}" --quiet -o "$TMP/orig.ndjson"
"$BIN/redis-export" --url "$REDIS_WARM" --quiet -o "$TMP/warm.ndjson"
python3 - "$TMP/orig.ndjson" "$TMP/warm.ndjson" <<'EOF' || mismatch=1
import json, sys

def load(path):
    keys = {}
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        if r.get("kind") != "redis":
            continue
        k = json.dumps(r["key"], sort_keys=True)
        v = r["value"]
        if r["type"] == "hash" and isinstance(v, list):
            v = {json.dumps(f, sort_keys=True): x for f, x in v}
        if r["type"] in ("hash",) and isinstance(v, dict) and k in keys:
            keys[k]["value"].update(v)  # a big hash split into parts
            continue
        if r["type"] in ("set", "zset", "list") and k in keys:
            keys[k]["value"] += v  # a big key split into parts
            continue
        if r["type"] == "stream" and k in keys:
            keys[k]["value"]["entries"] += v["entries"]
            continue
        keys[k] = {"type": r["type"], "value": v, "ttl": r.get("expire_at_ms")}
    return keys

orig, warm = load(sys.argv[1]), load(sys.argv[2])
bad = []
for k, o in orig.items():
    w = warm.get(k)
    if w is None:
        bad.append(f"{k}: missing after warm-up")
        continue
    ov, wv = o["value"], w["value"]
    if o["type"] in ("set", "zset"):
        ov, wv = sorted(map(json.dumps, ov)), sorted(map(json.dumps, wv))
    if o["type"] != w["type"] or ov != wv:
        bad.append(f"{k}: value differs")
    elif (o["ttl"] is None) != (w["ttl"] is None) or (o["ttl"] and abs(o["ttl"] - w["ttl"]) > 1000):
        bad.append(f"{k}: TTL differs ({o['ttl']} vs {w['ttl']})")
extra = len(set(warm) - set(orig))
ttls = sum(1 for o in orig.values() if o["ttl"] is not None)
print(f"compared {len(orig)} keys ({ttls} with TTLs): {len(orig) - len(bad)} equal, {len(bad)} different, {extra} unexpected")
for b in bad[:10]:
    print("  " + b)
if bad or extra:
    sys.exit(1)
print("warm-up: every key equals its original")
EOF

if ((mismatch)); then
    say "demo FAILED"
    exit 1
fi
say "demo OK"
