#!/usr/bin/env bash
# Benchmark of decant-transform and the relay migration (scripts/bench.sh transform).
#
# On the relay dataset (examples/gen_relay_redis.py, ~1M keys at BENCH_SCALE=1):
#   1. decant-transform alone: the redis-export stream of the whole dataset
#      through examples/relay-to-mysql.toml, file → /dev/null (MB/s of input);
#   2. redis-export | decant-transform | mysql-import for the apikey:* and
#      usage:*:daily:* hashes (100k + 500k), against the peer: a hand-written
#      redis-py + pymysql script doing the same mapping (relay_py_peer.py),
#      measured in the same run;
#   3. the whole dataset (every family, 11 tables) through the pipeline.
# Medians of BENCH_RUNS runs (default 3); peak RSS from /usr/bin/time -v.
# Servers: throwaway redis-server and MariaDB (innodb_flush_log_at_trx_commit=2)
# on free loopback ports in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SCALE=${BENCH_SCALE:-1}
RUNS=${BENCH_RUNS:-3}
say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench transform: %s\n' "$*" >&2; exit 1; }
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

[[ -x /usr/bin/time ]] || { apt-get install -y -qq time >/dev/null 2>&1 || die "install GNU time (apt-get install time)"; }
if [[ -n ${DECANT_BIN:-} ]]; then BIN=$DECANT_BIN; else
    cargo build --release --bins -p decant-export -p decant-import -p decant-transform >&2
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/decant-bench.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 1
    rm -rf "$TMP"
}
trap cleanup EXIT

python3 -m venv "$TMP/venv" >&2 && "$TMP/venv/bin/pip" install -q redis pymysql >&2 ||
    die "cannot install redis-py and pymysql for the peer (pip)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RPORT=$(free_port)
mkdir -p "$TMP/redis"
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$TMP/redis" \
    --daemonize yes --pidfile "$TMP/redis/redis.pid" --logfile "$TMP/redis/redis.log"
sleep 0.5
PIDS+=("$(cat "$TMP/redis/redis.pid")")
MPORT=$(free_port)
mkdir -p "$TMP/mariadb/tmp"
mariadb-install-db --no-defaults --user=root --datadir="$TMP/mariadb/data" \
    --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
mariadbd --no-defaults --user=root --datadir="$TMP/mariadb/data" --socket="$TMP/mariadb/mysqld.sock" \
    --port="$MPORT" --bind-address=127.0.0.1 --pid-file="$TMP/mariadb/mariadb.pid" --tmpdir="$TMP/mariadb/tmp" \
    --skip-log-bin --local-infile=1 --max-allowed-packet=256M --innodb-flush-log-at-trx-commit=2 \
    --innodb-buffer-pool-size=1G --character-set-server=utf8mb4 --log-error="$TMP/mariadb/error.log" &
PIDS+=($!)
sql() { mariadb --no-defaults -S "$TMP/mariadb/mysqld.sock" -uroot -N -B "$@"; }
for _ in $(seq 300); do sql -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
sql -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"

say "dataset: relay, scale $SCALE"
python3 examples/gen_relay_redis.py --scale "$SCALE" --out "$TMP/relay.resp" >&2
redis-cli -p "$RPORT" --pipe <"$TMP/relay.resp" >/dev/null
rm -f "$TMP/relay.resp"
KEYS=$(redis-cli -p "$RPORT" dbsize)
"$BIN/redis-export" --url "redis://127.0.0.1:$RPORT/0" -q -o "$TMP/relay.ndjson"
BYTES=$(stat -c %s "$TMP/relay.ndjson")
echo "keys: $KEYS   stream: $((BYTES / 1000000)) MB" >&2

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# timed LABEL CMD...: runs CMD under /usr/bin/time; appends "seconds rss_kb" to $TMP/LABEL.
timed() {
    local label=$1
    shift
    /usr/bin/time -f '%e %M' -o "$TMP/time.out" "$@" >/dev/null
    cat "$TMP/time.out" >>"$TMP/$label"
}

say "1. decant-transform alone ($RUNS runs)"
for _ in $(seq "$RUNS"); do
    timed transform "$BIN/decant-transform" --spec examples/relay-to-mysql.toml -q -i "$TMP/relay.ndjson" -o /dev/null
done

pipeline() { # db, redis-export args...
    local db=$1
    shift
    "$BIN/redis-export" --url "redis://127.0.0.1:$RPORT/0" -q "$@" |
        "$BIN/decant-transform" --spec examples/relay-to-mysql.toml -q |
        "$BIN/mysql-import" --url "mysql://root@127.0.0.1:$MPORT/$db" --create-tables -q
}
export -f pipeline
export BIN RPORT MPORT

say "2. apikey + daily usage hashes: decant pipeline vs redis-py + pymysql ($RUNS runs each)"
for i in $(seq "$RUNS"); do
    sql -e "DROP DATABASE IF EXISTS d$i; CREATE DATABASE d$i"
    timed decant_subset bash -c "pipeline d$i --match 'apikey:*' --match 'usage:*:daily:*'"
    sql -e "DROP DATABASE IF EXISTS d$i; DROP DATABASE IF EXISTS p$i; CREATE DATABASE p$i"
    timed python_subset "$TMP/venv/bin/python" scripts/bench/relay_py_peer.py "$RPORT" "$MPORT" "p$i"
    sql -e "SELECT COUNT(*) FROM p$i.api_keys" >&2
    sql -e "DROP DATABASE IF EXISTS p$i"
done

say "3. the whole dataset through the pipeline ($RUNS runs)"
for i in $(seq "$RUNS"); do
    sql -e "DROP DATABASE IF EXISTS f$i; CREATE DATABASE f$i"
    timed decant_full bash -c "pipeline f$i"
    ROWS=$(sql -e "SELECT SUM(TABLE_ROWS) FROM information_schema.TABLES WHERE TABLE_SCHEMA='f$i'")
    sql -e "DROP DATABASE IF EXISTS f$i"
done

t_secs=$(cut -d' ' -f1 "$TMP/transform" | median)
t_rss=$(cut -d' ' -f2 "$TMP/transform" | sort -n | tail -1)
d_secs=$(cut -d' ' -f1 "$TMP/decant_subset" | median)
p_secs=$(cut -d' ' -f1 "$TMP/python_subset" | median)
f_secs=$(cut -d' ' -f1 "$TMP/decant_full" | median)
awk -v b="$BYTES" -v t="$t_secs" -v rss="$t_rss" -v d="$d_secs" -v p="$p_secs" -v f="$f_secs" -v k="$KEYS" \
    -v runs="$RUNS" -v rows="$ROWS" 'BEGIN {
    printf "relay dataset: %d keys, %.0f MB stream; medians of %d runs\n", k, b / 1e6, runs
    printf "decant-transform alone:              %6.2f s  %6.1f MB/s  peak RSS %d MB\n", t, b / 1e6 / t, rss / 1024
    printf "apikey + daily usage, decant:        %6.2f s\n", d
    printf "apikey + daily usage, redis-py+pymysql: %6.2f s  (decant %.1fx faster)\n", p, p / d
    printf "whole dataset through the pipeline:  %6.2f s  (~%d rows, InnoDB estimate)\n", f, rows
}'
