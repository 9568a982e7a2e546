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
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/decant-bench.XXXXXX")
bench_init transform "$WORK"
SCALE=${BENCH_SCALE:-1}
RUNS=${BENCH_RUNS:-3}
TIMED_QUIET=1 # no line per run: the summary at the end has the figures
say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench transform: %s\n' "$*" >&2; exit 1; }
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

[[ -x /usr/bin/time ]] || { apt-get install -y -qq time >/dev/null 2>&1 || die "install GNU time (apt-get install time)"; }
if [[ -n ${DECANT_BIN:-} ]]; then BIN=$DECANT_BIN; else
    cargo build --release --bins -p decant-export -p decant-import -p decant-transform >&2
fi

python3 -m venv "$WORK/venv" >&2 && "$WORK/venv/bin/pip" install -q redis pymysql >&2 ||
    die "cannot install redis-py and pymysql for the peer (pip)"

start_redis RPORT redis
start_mariadb 1G --local-infile=1
MPORT=$MYPORT
sql() { myq -N -B "$@"; }

say "dataset: relay, scale $SCALE"
python3 examples/gen_relay_redis.py --scale "$SCALE" --out "$WORK/relay.resp" >&2
redis-cli -p "$RPORT" --pipe <"$WORK/relay.resp" >/dev/null
rm -f "$WORK/relay.resp"
KEYS=$(redis-cli -p "$RPORT" dbsize)
"$BIN/redis-export" --url "redis://127.0.0.1:$RPORT/0" -q -o "$WORK/relay.ndjson"
BYTES=$(stat -c %s "$WORK/relay.ndjson")
echo "keys: $KEYS   stream: $((BYTES / 1000000)) MB" >&2

say "1. decant-transform alone ($RUNS runs)"
for _ in $(seq "$RUNS"); do
    timed transform "$BIN/decant-transform" --spec examples/relay-to-mysql.toml -q -i "$WORK/relay.ndjson" -o /dev/null >/dev/null
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
    timed decant_subset bash -c "pipeline d$i --match 'apikey:*' --match 'usage:*:daily:*'" >/dev/null
    sql -e "DROP DATABASE IF EXISTS d$i; DROP DATABASE IF EXISTS p$i; CREATE DATABASE p$i"
    timed python_subset "$WORK/venv/bin/python" scripts/bench/relay_py_peer.py "$RPORT" "$MPORT" "p$i" >/dev/null
    sql -e "SELECT COUNT(*) FROM p$i.api_keys" >&2
    sql -e "DROP DATABASE IF EXISTS p$i"
done

say "3. the whole dataset through the pipeline ($RUNS runs)"
for i in $(seq "$RUNS"); do
    sql -e "DROP DATABASE IF EXISTS f$i; CREATE DATABASE f$i"
    timed decant_full bash -c "pipeline f$i" >/dev/null
    ROWS=$(sql -e "SELECT SUM(TABLE_ROWS) FROM information_schema.TABLES WHERE TABLE_SCHEMA='f$i'")
    sql -e "DROP DATABASE IF EXISTS f$i"
done

t_secs=$(median transform 2 mean)
t_rss=$(awk '$1=="transform" {print $3}' "$WORK/times" | sort -n | tail -1)
d_secs=$(median decant_subset 2 mean)
p_secs=$(median python_subset 2 mean)
f_secs=$(median decant_full 2 mean)
awk -v b="$BYTES" -v t="$t_secs" -v rss="$t_rss" -v d="$d_secs" -v p="$p_secs" -v f="$f_secs" -v k="$KEYS" \
    -v runs="$RUNS" -v rows="$ROWS" 'BEGIN {
    printf "relay dataset: %d keys, %.0f MB stream; medians of %d runs\n", k, b / 1e6, runs
    printf "decant-transform alone:              %6.2f s  %6.1f MB/s  peak RSS %d MB\n", t, b / 1e6 / t, rss / 1024
    printf "apikey + daily usage, decant:        %6.2f s\n", d
    printf "apikey + daily usage, redis-py+pymysql: %6.2f s  (decant %.1fx faster)\n", p, p / d
    printf "whole dataset through the pipeline:  %6.2f s  (~%d rows, InnoDB estimate)\n", f, rows
}'
