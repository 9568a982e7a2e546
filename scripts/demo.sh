#!/usr/bin/env bash
# decant demo: the relay migration end to end, on throwaway servers.
#
#   scripts/demo.sh
#
# 1. starts a throwaway Redis (source), a second Redis (warm-up target) and a
#    MariaDB on free loopback ports in a temp dir (installing redis-server and
#    mariadb-server with apt-get when they are missing);
# 2. loads a sample of the relay service's data, in the shapes the real
#    service writes (examples/gen_relay_redis.py), or DEMO_SNAPSHOT;
# 3. backs it up:   redis-export -o backup.ndjson.zst
# 4. dry-runs:      decant-transform --check
# 5. migrates:      redis-export | decant-transform --spec examples/relay-to-mysql.toml | mysql-import --create-tables
#    (the spec declares the service's tables);
# 6. prints per-table row counts next to the source key/element counts of the
#    families each table takes, and runs decant-verify when it is built;
# 7. warms an empty Redis back from MySQL:
#                   mysql-export | decant-transform --spec examples/mysql-to-relay.toml | redis-import
#    and checks that every warmed key equals its original for every field
#    the schema keeps (values, and TTLs where the table keeps them);
# 8. cleans up. Exits non-zero on any mismatch.
#
# Environment:
#   DEMO_SCALE=0.01     size of the sample (1 = ~1M keys)
#   DEMO_SNAPSHOT=FILE  load this decant stream of the service's keys (a
#                       redis-export backup) instead of the generated sample
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
if [[ -n ${DEMO_SNAPSHOT:-} ]]; then
    say "loading $DEMO_SNAPSHOT"
    "$BIN/redis-import" --url "$REDIS_SRC" --quiet "$DEMO_SNAPSHOT"
else
    say "loading the relay sample (scale $SCALE)"
    python3 examples/gen_relay_redis.py --scale "$SCALE" --out "$TMP/relay.resp" >/dev/null
    redis-cli -p "$SRC_PORT" --pipe <"$TMP/relay.resp" | tail -1
fi
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
uuid='????????-????-????-????-????????????'
usage=$(($(count 'usage:daily:*' hash) + $(count 'usage:hourly:*' hash) + $(count 'usage:*:model:daily:*' hash) + $(count 'usage:*:model:hourly:*' hash)))
account_usage=$(($(count 'account_usage:daily:*' hash) + $(count 'account_usage:hourly:*' hash) +
    $(count 'account_usage:model:daily:*' hash) + $(count 'account_usage:model:hourly:*' hash)))
costs=$(($(count 'usage:cost:*' string) + $(count 'usage:opus:*' string)))
row api_keys "apikey:{uuid} hashes" "$(count "apikey:$uuid" hash)"
row admin_users "session:admin_credentials" "$(count 'session:admin_credentials' hash)"
row sessions "session:{token} hashes" "$(($(count 'session:*' hash) - $(count 'session:admin_credentials' hash)))"
row sticky_sessions "sticky_session:* strings" "$(count 'sticky_session:*' string)"
row concurrency_leases "concurrency:* zset members" "$(count 'concurrency:*' zset ZCARD)"
row claude_accounts "claude:account:* hashes" "$(count 'claude:account:*' hash)"
row gemini_accounts "gemini_account:* hashes" "$(count 'gemini_account:*' hash)"
row openai_accounts "openai:account:* hashes" "$(count 'openai:account:*' hash)"
row usage_stats "usage daily/hourly(/model) hashes" "$usage"
row account_usage_stats "account_usage daily/hourly(/model)" "$account_usage"
row cost_stats "usage:cost:*, usage:opus:* strings" "$costs"
row usage_records "usage:records:* list elements" "$(count 'usage:records:*' list LLEN)"
row system_metrics "system:metrics:minute:* hashes" "$(count 'system:metrics:minute:*' hash)"
# Every other key is kept whole in key_value_store, but for the two dropped families.
in_tables=$(($(count "apikey:$uuid" hash) + $(count 'session:*' hash) + $(count 'sticky_session:*' string) +
    $(count 'concurrency:*' zset) + $(count 'claude:account:*' hash) + $(count 'gemini_account:*' hash) +
    $(count 'openai:account:*' hash) + usage + account_usage + costs + $(count 'usage:records:*' list) +
    $(count 'system:metrics:minute:*' hash)))
dropped=$(($(count 'apikey:hash_map' hash) + $(count 'billing:events' stream)))
row key_value_store "every other key" "$(($(redis-cli -p "$SRC_PORT" dbsize | tr -dc '0-9') - in_tables - dropped))"
echo "dropped on purpose (apikey:hash_map, billing:events): $dropped key(s)"
((mismatch == 0)) && echo "all counts match" || echo "COUNT MISMATCH"

# Typed columns, and one sample hash against its row.
sql relay -e "SELECT COUNT(*) FROM api_keys WHERE JSON_VALID(tags) = 0" | grep -qx 0 ||
    { echo "invalid JSON in api_keys.tags"; mismatch=1; }
sql relay -e "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='relay' AND TABLE_NAME='api_keys' AND COLUMN_NAME='created_at'" |
    grep -qix datetime || { echo "api_keys.created_at is not a DATETIME"; mismatch=1; }

if [[ -x $BIN/decant-verify ]]; then
    say "decant-verify: source (through the spec) vs MySQL"
    # The columns no rule of the spec writes are the database's own (AUTO_INCREMENT
    # ids, DEFAULT CURRENT_TIMESTAMP, defaults): left out of the comparison, so
    # rows are keyed by the unique keys those ids give way to.
    filled_by_db=$(python3 examples/unwritten_columns.py examples/relay-to-mysql.toml)
    "$BIN/decant-verify" --left "$TMP/backup.ndjson.zst" --spec examples/relay-to-mysql.toml --right "$MYSQL" \
        --ignore-columns "$filled_by_db" || { echo "decant-verify found differences"; mismatch=1; }
fi

# ------------------------------------------------------------------ warm-up
say "warm-up: mysql-export | decant-transform (reverse spec) | redis-import into an empty Redis"
"$BIN/mysql-export" --url "$MYSQL" --progress |
    "$BIN/decant-transform" --spec examples/mysql-to-relay.toml --progress |
    "$BIN/redis-import" --url "$REDIS_WARM" --mode replace --progress
echo "warmed keys: $(redis-cli -p "$WARM_PORT" dbsize)"

say "warmed keys vs originals (every field the schema keeps)"
"$BIN/redis-export" --url "$REDIS_SRC" --quiet -o "$TMP/orig.ndjson"
"$BIN/redis-export" --url "$REDIS_WARM" --quiet -o "$TMP/warm.ndjson"
python3 - "$TMP/orig.ndjson" "$TMP/warm.ndjson" <<'EOF' || mismatch=1
import json, sys

def load(path):
    keys = {}
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        if r.get("kind") != "redis":
            continue
        k, v = r["key"], r["value"]
        if k in keys:  # a big key split into parts
            if r["type"] == "hash":
                keys[k]["value"].update(v)
            elif r["type"] == "stream":
                keys[k]["value"]["entries"] += v["entries"]
            else:
                keys[k]["value"] += v
            continue
        keys[k] = {"type": r["type"], "value": v, "ttl": r.get("expire_at_ms")}
    return keys

def family(key, ty):
    """How the warm-up gives a key back (None: not warmed: Claude accounts,
    the sets kept in key_value_store, the two dropped families)."""
    s = key.split(":")
    if s[:2] in (["apikey", "hash_map"], ["billing", "events"]):
        return None
    if s[0] == "apikey" and len(s) == 2:
        return "api_keys"
    if key == "session:admin_credentials":
        return "admin_users"
    if s[0] == "session" and ty == "hash":
        return "sessions"
    if s[0] == "sticky_session":
        return "sticky_sessions"
    if s[0] == "concurrency":
        return "concurrency_leases"
    if s[0] == "gemini_account" or s[:2] == ["openai", "account"]:
        return "exact"
    if s[0] == "usage" and len(s) > 3 and (s[1] in ("daily", "hourly") or (s[2] == "model" and s[3] in ("daily", "hourly"))):
        return "usage"
    if s[0] == "account_usage" and len(s) > 3 and (s[1] in ("daily", "hourly") or s[1:3] in (["model", "daily"], ["model", "hourly"])):
        return "usage"
    if s[0] == "usage" and len(s) > 2 and s[1] in ("cost", "opus"):
        return "cost"
    if s[:2] == ["usage", "records"] or s[:3] == ["system", "metrics", "minute"]:
        return "exact"
    if s[:2] == ["claude", "account"] or ty in ("set", "stream"):
        return None  # not warmed back: no token columns; sets from JSON arrays
    return "key_value_store"  # kept whole, with its TTL

DATES = {"createdAt", "lastUsedAt", "expiresAt", "activatedAt", "lastLogin", "updatedAt"}
NOT_KEPT = {"isDeleted", "deletedAt", "deletedBy", "deletedByType", "tokens"}

def expected(fam, o):
    v = o["value"]
    if fam in ("api_keys", "admin_users"):
        return {f: (x[:19] + ".000Z" if f in DATES and x else x) for f, x in v.items() if f not in NOT_KEPT}
    if fam == "usage":
        return {f: x for f, x in v.items() if f not in NOT_KEPT and not f.startswith("model:")}
    if fam == "concurrency_leases":
        return [[m, float(int(sc) // 1000 * 1000)] for m, sc in v]
    return v

orig, warm = load(sys.argv[1]), load(sys.argv[2])
bad, compared = [], 0
for k, o in orig.items():
    fam = family(k, o["type"])
    if fam is None:
        continue
    compared += 1
    w = warm.get(k)
    if w is None:
        bad.append(f"{k}: missing after warm-up")
        continue
    if fam == "cost":
        same = abs(float(w["value"]) - float(o["value"])) <= 5.000001e-7
    else:
        same = w["type"] == o["type"] and w["value"] == expected(fam, o)
    if not same:
        bad.append(f"{k}: value differs")
    elif fam in ("sessions", "sticky_sessions", "key_value_store"):
        a, b = o["ttl"], w["ttl"]
        if (a is None) != (b is None) or (a is not None and abs(a - b) > 2000):
            bad.append(f"{k}: TTL differs ({a} vs {b})")
extra = len(warm) - compared
print(f"compared {compared} keys of the warmed families: {compared - len(bad)} equal, {len(bad)} different, {extra} unexpected")
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
