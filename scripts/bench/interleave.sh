#!/usr/bin/env bash
# Benchmark: the SQL importers on interleaved vs table-sorted input
# (scripts/bench.sh interleave; issue 11).
#
# decant-transform writes a keyspace in SCAN order, so its rows switch table
# almost every line. The same rows sorted by table must import about as fast
# (target: interleaved ≤ 1.2× sorted). scripts/bench/interleaved_rows.py
# writes both orders (BENCH_ROWS rows, default 33,172, over 12 tables of 6–15
# columns) and the schema lines; the tables exist before each timed run (as
# when the target's schema is created by the application), so nothing about
# the input's order can be learnt from table creation.
# Medians of BENCH_RUNS runs (default 5) per importer and order.
# Servers: throwaway MariaDB (innodb_flush_log_at_trx_commit=2) and
# PostgreSQL (fsync off) on free loopback ports in a temp dir; SQLite in a file.
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init interleave
RUNS=${BENCH_RUNS:-5}
ROWS=${BENCH_ROWS:-33172}
TIMED_QUIET=1
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
[[ -x /usr/bin/time ]] || apt-get install -y -qq time >/dev/null 2>&1 || { echo "bench interleave: install GNU time" >&2; exit 2; }
if [[ -n ${DECANT_BIN:-} ]]; then BIN=$DECANT_BIN; else
    cargo build --release -p decant-import --bin mysql-import --bin pg-import --bin sqlite-import >&2
fi
need_mariadb
need_postgres
start_mariadb 512M
start_postgres 256MB

python3 scripts/bench/interleaved_rows.py --rows "$ROWS" --out-schema "$WORK/schema.ndjson" \
    --out-interleaved "$WORK/interleaved.ndjson" --out-sorted "$WORK/sorted.ndjson" >&2

# fresh IMPORTER URL: an empty target with the tables created from the schema lines.
fresh() {
    case $1 in
    mysql) myq -e "DROP DATABASE IF EXISTS b; CREATE DATABASE b" ;;
    pg) pgq -c "DROP DATABASE IF EXISTS b" -c "CREATE DATABASE b" ;;
    sqlite) rm -f "$WORK/b.db" && python3 -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).close()" "$WORK/b.db" ;;
    esac
    "$BIN/$1-import" --url "$2" --create-tables -q -i "$WORK/schema.ndjson"
}

for imp in mysql pg sqlite; do
    case $imp in
    mysql) url="mysql://root@127.0.0.1:$MYPORT/b" ;;
    pg) url="postgres://postgres@127.0.0.1:$PGPORT/b" ;;
    sqlite) url="sqlite://$WORK/b.db" ;;
    esac
    for _ in $(seq "$RUNS"); do
        for order in interleaved sorted; do
            fresh "$imp" "$url"
            timed "$imp-$order" "$BIN/$imp-import" --url "$url" -q -i "$WORK/$order.ndjson"
        done
    done
done

echo
echo "rows: $ROWS (12 tables), medians of $RUNS runs, load $(awk '{print $1, $2, $3}' /proc/loadavg)"
printf '%-8s %14s %10s %8s\n' importer interleaved_s sorted_s ratio
for imp in mysql pg sqlite; do
    i=$(median "$imp-interleaved" 2)
    s=$(median "$imp-sorted" 2)
    printf '%-8s %14s %10s %8s\n' "$imp" "$i" "$s" "$(awk -v i="$i" -v s="$s" 'BEGIN {printf "%.2f", i / s}')"
done
