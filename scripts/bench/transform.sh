#!/usr/bin/env bash
# Benchmark of decant-transform and the relay migration (scripts/bench.sh transform).
#
# On the relay dataset (examples/gen_relay_redis.py, ~1M keys at BENCH_SCALE=1):
#   1. decant-transform alone: the redis-export stream of the whole dataset
#      through examples/relay-to-mysql.toml, file → /dev/null (MB/s of input);
#   2. redis-export | decant-transform | mysql-import for four families of the
#      real relay service (apikey:*, usage:daily:*, usage:cost:daily:*,
#      usage:records:*), against the peer: a hand-written redis-py + pymysql
#      script doing the same mapping into the same tables (relay_py_peer.py),
#      measured in the same run;
#   3. the whole dataset (every family) through the pipeline.
# Part 2 also measures the pipeline's floor (issue 11), in the same runs: the
# slower of redis-export of the same keys to /dev/null and LOAD DATA INFILE
# of the same rows, in stream order, from files (rows_to_loaddata.py) into
# empty tables; and the CPU seconds of redis-server and mariadbd during the
# pipeline (from /proc), so the stage that bounds it shows.
# Needs the real-model spec examples/relay-to-mysql.toml (issue 11) and the
# real-model generator examples/gen_relay_redis.py.
# Medians of BENCH_RUNS runs (default 3); peak RSS from /usr/bin/time -v.
# IMPORT_JOBS=N gives the pipeline's mysql-import --jobs N (default 1).
# The machine may be shared: the transform alone is also reported in MB per
# CPU-second (user+sys of all its threads), which load barely moves, and each
# pipeline stage's CPU seconds are recorded (so the slow stage shows), with
# the load average before each part.
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

load() { awk '{print $1, $2, $3}' /proc/loadavg; }
# cpu LABEL FILE: appends "LABEL cpu_s" (user+sys from a /usr/bin/time -f '%U %S' file).
cpu() { awk -v l="$1" '{print l, $1 + $2}' "$2" >>"$WORK/times"; }

say "1. decant-transform alone ($RUNS runs), load $(load)"
for _ in $(seq "$RUNS"); do
    timed transform /usr/bin/time -f '%U %S' -o "$WORK/cpu.out" \
        "$BIN/decant-transform" --spec examples/relay-to-mysql.toml -q -i "$WORK/relay.ndjson" -o /dev/null >/dev/null
    cpu transform_cpu "$WORK/cpu.out"
done
LOAD_1=$(load)

pipeline() { # db, redis-export args... (each stage's user+sys CPU into $WORK/stage.*)
    local db=$1
    shift
    /usr/bin/time -f '%U %S' -o "$WORK/stage.export" "$BIN/redis-export" --url "redis://127.0.0.1:$RPORT/0" -q "$@" |
        /usr/bin/time -f '%U %S' -o "$WORK/stage.transform" "$BIN/decant-transform" --spec examples/relay-to-mysql.toml -q |
        /usr/bin/time -f '%U %S' -o "$WORK/stage.import" "$BIN/mysql-import" --url "mysql://root@127.0.0.1:$MPORT/$db" --create-tables --jobs "${IMPORT_JOBS:-1}" -q
}
stages() { # LABEL: records the CPU seconds of each stage of the last pipeline
    for s in export transform import; do cpu "$1_$s" "$WORK/stage.$s"; done
}
# proc_cpu PID: the user+sys CPU seconds a process has used so far.
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
REDIS_PID=$(redis-cli -p "$RPORT" info server | awk -F: '/^process_id/ {print $2+0}')
MARIADB_PID=$(cat "$MY/pid")
SUBSET=(--match 'apikey:*' --match 'usage:daily:*' --match 'usage:cost:daily:*' --match 'usage:records:*')
export -f pipeline
export BIN RPORT MPORT WORK

say "2. api keys, daily usage, daily costs, usage records: decant pipeline vs redis-py + pymysql ($RUNS runs each), load $(load)"
for i in $(seq "$RUNS"); do
    sql -e "DROP DATABASE IF EXISTS d$i; CREATE DATABASE d$i"
    r0=$(proc_cpu "$REDIS_PID") m0=$(proc_cpu "$MARIADB_PID")
    timed decant_subset bash -c "pipeline d$i --match 'apikey:*' --match 'usage:daily:*' --match 'usage:cost:daily:*' --match 'usage:records:*'" >/dev/null
    echo "subset_redis $(awk -v a="$r0" -v b="$(proc_cpu "$REDIS_PID")" 'BEGIN {print b - a}')" >>"$WORK/times"
    echo "subset_mariadb $(awk -v a="$m0" -v b="$(proc_cpu "$MARIADB_PID")" 'BEGIN {print b - a}')" >>"$WORK/times"
    stages subset
    # The floor: redis-export of the same keys to /dev/null, and LOAD DATA of
    # the same rows (the pipeline's transform output) from files into empty
    # tables created like the pipeline's.
    timed floor_export "$BIN/redis-export" --url "redis://127.0.0.1:$RPORT/0" -q "${SUBSET[@]}" -o /dev/null
    "$BIN/redis-export" --url "redis://127.0.0.1:$RPORT/0" -q "${SUBSET[@]}" |
        "$BIN/decant-transform" --spec examples/relay-to-mysql.toml -q -o "$WORK/subset-rows.ndjson"
    rm -rf "$WORK/ld"
    python3 scripts/bench/rows_to_loaddata.py "$WORK/subset-rows.ndjson" "$WORK/ld" >"$WORK/load.sql"
    sql -e "DROP DATABASE IF EXISTS l$i; CREATE DATABASE l$i"
    for t in $(sql -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'd$i'"); do
        sql -e "CREATE TABLE l$i.\`$t\` LIKE d$i.\`$t\`"
    done
    timed floor_load mariadb --no-defaults --socket="$MY/sock" -uroot "l$i" -e "source $WORK/load.sql"
    [[ $(sql -e "SELECT SUM(TABLE_ROWS) > 0 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'l$i'") == 1 ]] ||
        die "LOAD DATA of the floor loaded nothing"
    sql -e "DROP DATABASE IF EXISTS l$i"
    sql -e "DROP DATABASE IF EXISTS d$i; DROP DATABASE IF EXISTS p$i; CREATE DATABASE p$i"
    timed python_subset "$WORK/venv/bin/python" scripts/bench/relay_py_peer.py "$RPORT" "$MPORT" "p$i" >/dev/null
    sql -e "SELECT COUNT(*) FROM p$i.api_keys" >&2
    sql -e "DROP DATABASE IF EXISTS p$i"
done

LOAD_2=$(load)
say "3. the whole dataset through the pipeline ($RUNS runs), load $(load)"
for i in $(seq "$RUNS"); do
    sql -e "DROP DATABASE IF EXISTS f$i; CREATE DATABASE f$i"
    timed decant_full bash -c "pipeline f$i" >/dev/null
    stages full
    ROWS=$(sql -e "SELECT SUM(TABLE_ROWS) FROM information_schema.TABLES WHERE TABLE_SCHEMA='f$i'")
    sql -e "DROP DATABASE IF EXISTS f$i"
done

LOAD_3=$(load)
t_secs=$(median transform 2 mean)
t_cpu=$(median transform_cpu 2 mean)
stage_line() { printf '%s CPU s: redis-export %s, decant-transform %s, mysql-import %s\n' "$1" \
    "$(median "$1_export" 2 mean)" "$(median "$1_transform" 2 mean)" "$(median "$1_import" 2 mean)"; }
t_rss=$(awk '$1=="transform" {print $3}' "$WORK/times" | sort -n | tail -1)
d_secs=$(median decant_subset 2 mean)
p_secs=$(median python_subset 2 mean)
fe_secs=$(median floor_export 2 mean)
fl_secs=$(median floor_load 2 mean)
f_secs=$(median decant_full 2 mean)
awk -v b="$BYTES" -v t="$t_secs" -v c="$t_cpu" -v rss="$t_rss" -v d="$d_secs" -v p="$p_secs" -v f="$f_secs" -v k="$KEYS" \
    -v runs="$RUNS" -v rows="$ROWS" -v fe="$fe_secs" -v fl="$fl_secs" 'BEGIN {
    printf "relay dataset: %d keys, %.0f MB stream; medians of %d runs\n", k, b / 1e6, runs
    printf "decant-transform alone:              %6.2f s  %6.1f MB/s  %.2f CPU s = %.0f MB per CPU-second  peak RSS %d MB\n", t, b / 1e6 / t, c, b / 1e6 / c, rss / 1024
    printf "4 families (api keys, daily usage, costs, records), decant:  %6.2f s\n", d
    printf "4 families, redis-py+pymysql:                             %6.2f s  (decant %.1fx faster; target >= 6x)\n", p, p / d
    floor = fe > fl ? fe : fl
    printf "floor of the 4 families: redis-export to /dev/null %.2f s, LOAD DATA of the rows %.2f s\n", fe, fl
    printf "4 families, decant vs its floor:                          %.2fx  (target <= 1.3x)\n", d / floor
    printf "whole dataset through the pipeline:  %6.2f s  (~%d rows, InnoDB estimate)\n", f, rows
}'
stage_line subset
printf 'subset CPU s of the servers: redis-server %s, mariadbd %s\n' "$(median subset_redis 2 mean)" "$(median subset_mariadb 2 mean)"
stage_line full
echo "load average (1/5/15 min) after part 1: $LOAD_1; after part 2: $LOAD_2; at the end: $LOAD_3"
