#!/usr/bin/env bash
# SQL importers on the "reline" dataset (1M rows in 5 tables at scale 1), with
# the peers measured in the same run:
#   load:      LOAD DATA LOCAL INFILE (the dataset's own load.sql)  — peer
#   importers: pg-import / mysql-import / sqlite-import alone, from a file
#              (mysql-export's stream of reline), --create-tables
#   pipelines: mysql-export | pg-import   and   pg-export | mysql-import
#   peer:      pgloader MySQL → PostgreSQL, when installed (apt-get install pgloader)
#   sakila:    the Sakila sample database (../shared/corpus/sakila, or $SAKILA; 16
#              tables, 47k rows, every MySQL type family), mysql-export | pg-import
#              --create-tables against pgloader in the same run (SAKILA=0 skips it)
# Each figure: wall seconds, rows/s, MB/s of stream, peak RSS (/usr/bin/time -v),
# client CPU seconds (user+sys of the timed command) and the MariaDB server's
# CPU seconds during it (the "load" and mysql steps), median of RUNS runs.
#
#   scripts/bench.sh sql                   # scale 1, 3 runs each (medians)
#   SCALE=0.1 RUNS=1 scripts/bench.sh sql
#   DECANT_BIN=/tmp/base …                  # those binaries, not a fresh build
#   IMPORT_JOBS=1 …                         # the importers' --jobs (default 2: one
#                                           # writer connection per core here)
# Servers are throwaway MariaDB / PostgreSQL instances on free ports in a temp
# dir, with fsync off (PostgreSQL: fsync=off, synchronous_commit=off;
# MariaDB: innodb-flush-log-at-trx-commit=2): fast, not durable.
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init sql
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}
IMPORT_JOBS=${IMPORT_JOBS:-2}

[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
need_mariadb
need_postgres

# DECANT_BIN=DIR: that directory's binaries (e.g. a copy of main's, for a
# before/after), without building.
if [[ -n ${DECANT_BIN:-} ]]; then BIN=$DECANT_BIN; else
  echo "== building (release)" >&2
  cargo build --release -q -p decant-export -p decant-import \
    --bin mysql-export --bin pg-export --bin mysql-import --bin pg-import --bin sqlite-import
fi

echo "== starting MariaDB and PostgreSQL" >&2
start_mariadb 1G --skip-name-resolve --local-infile=1
start_postgres 512MB

# mycpu: the MariaDB server's CPU seconds so far (utime+stime of mariadbd).
mycpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f\n", ($14+$15)/t}' "/proc/$(cat "$MY/pid")/stat"; }
# cpu LABEL SERVER_BEFORE: records the last timed command's client CPU (user+sys)
# and the server CPU since SERVER_BEFORE (or "-") in $WORK/cpu.
cpu() {
  local c s=-
  c=$(awk -F': ' '/User time|System time/ {s+=$2} END {printf "%.2f", s}' "$WORK/time.out")
  [ "$2" = - ] || s=$(awk -v a="$2" -v b="$(mycpu)" 'BEGIN {printf "%.2f", b-a}')
  echo "$1 $c $s" >> "$WORK/cpu"
}

echo "== generating reline (scale $SCALE)" >&2
python3 "$DATASETS/gen_reline_mysql.py" --scale "$SCALE" --dir "$WORK/reline" --ndjson "$WORK/events.ndjson" >/dev/null
myq < "$WORK/reline/schema.sql"
S0=$(mycpu)
(cd "$WORK/reline" && timed load_data sh -c "mariadb --no-defaults --socket='$MY/sock' -uroot --local-infile=1 --default-character-set=utf8mb4 reline < load.sql")
cpu load_data "$S0"
ROWS=$(myq -N reline -e "SELECT (SELECT COUNT(*) FROM operators)+(SELECT COUNT(*) FROM line_groups)+(SELECT COUNT(*) FROM contents)+(SELECT COUNT(*) FROM alarm_contents)+(SELECT COUNT(*) FROM feedbacks)")
echo "   reline: $ROWS rows" >&2
MYURL="mysql://root@127.0.0.1:$MYPORT"
PGURL="postgres://postgres@127.0.0.1:$PGPORT"
"$BIN/mysql-export" --url "$MYURL/reline" -o "$WORK/reline.ndjson" --quiet
MB=$(du -m "$WORK/reline.ndjson" | cut -f1)
echo "   stream: $MB MB" >&2
count_pg() { pgq -d "$1" -c "SELECT (SELECT COUNT(*) FROM operators)+(SELECT COUNT(*) FROM line_groups)+(SELECT COUNT(*) FROM contents)+(SELECT COUNT(*) FROM alarm_contents)+(SELECT COUNT(*) FROM feedbacks)"; }
count_my() { myq -N "$1" -e "SELECT (SELECT COUNT(*) FROM operators)+(SELECT COUNT(*) FROM line_groups)+(SELECT COUNT(*) FROM contents)+(SELECT COUNT(*) FROM alarm_contents)+(SELECT COUNT(*) FROM feedbacks)"; }
check() { [ "$2" = "$ROWS" ] || { echo "bench/sql: $1 loaded $2 of $ROWS rows" >&2; exit 1; }; }

for i in $(seq "$RUNS"); do
  echo "== run $i/$RUNS" >&2
  pgq -d postgres -c "DROP DATABASE IF EXISTS t1" -c "CREATE DATABASE t1"
  timed pg_import "$BIN/pg-import" --url "$PGURL/t1" -i "$WORK/reline.ndjson" --create-tables --zero-dates null --jobs "$IMPORT_JOBS" --quiet
  cpu pg_import -
  check pg-import "$(count_pg t1)"
  # Each PostgreSQL database goes once checked (or read again): an autovacuum
  # of its freshly loaded tables (ANALYZE: ~0.5 CPU-s here) would otherwise
  # land on whichever later step runs then, decant's or pgloader's alike.
  pgq -d postgres -c "DROP DATABASE t1"
  myq -e "DROP DATABASE IF EXISTS t2; CREATE DATABASE t2 CHARACTER SET utf8mb4"
  S0=$(mycpu)
  timed mysql_import "$BIN/mysql-import" --url "$MYURL/t2" -i "$WORK/reline.ndjson" --create-tables --jobs "$IMPORT_JOBS" --quiet
  cpu mysql_import "$S0"
  check mysql-import "$(count_my t2)"
  rm -f "$WORK/t3.db" && sqlite3 "$WORK/t3.db" 'VACUUM'
  timed sqlite_import "$BIN/sqlite-import" --url "sqlite://$WORK/t3.db" -i "$WORK/reline.ndjson" --create-tables --cast type:uint64=TEXT --quiet
  cpu sqlite_import -
  pgq -d postgres -c "DROP DATABASE IF EXISTS t4" -c "CREATE DATABASE t4"
  timed my_to_pg sh -c "/usr/bin/time -f '%U %S' -o '$WORK/stage.export' '$BIN/mysql-export' --url '$MYURL/reline' --quiet |
    /usr/bin/time -f '%U %S' -o '$WORK/stage.import' '$BIN/pg-import' --url '$PGURL/t4' --create-tables --zero-dates null --jobs $IMPORT_JOBS --quiet"
  # Each stage's CPU (user+sys), so the one that bounds the pipeline shows.
  echo "my_to_pg_export $(awk '{print $1 + $2}' "$WORK/stage.export")" >> "$WORK/times"
  echo "my_to_pg_import $(awk '{print $1 + $2}' "$WORK/stage.import")" >> "$WORK/times"
  check "mysql-export | pg-import" "$(count_pg t4)"
  myq -e "DROP DATABASE IF EXISTS t5; CREATE DATABASE t5 CHARACTER SET utf8mb4"
  timed pg_to_my sh -c "'$BIN/pg-export' --url '$PGURL/t4' --quiet | '$BIN/mysql-import' --url '$MYURL/t5' --create-tables --jobs $IMPORT_JOBS --quiet"
  check "pg-export | mysql-import" "$(count_my t5)"
  pgq -d postgres -c "DROP DATABASE t4"
  if command -v pgloader >/dev/null; then
    pgq -d postgres -c "DROP DATABASE IF EXISTS t6" -c "CREATE DATABASE t6"
    timed pgloader pgloader --quiet "$MYURL/reline" "$PGURL/t6" || true
    pgq -d postgres -c "DROP DATABASE t6"
  fi
done

# Sakila: the MySQL original, with the load-time edits of its SOURCES.md
# (MariaDB ignores MySQL 5.7+ versioned comments).
SAKILA=${SAKILA:-$ROOT/../shared/corpus/sakila}
if [ "$SAKILA" != 0 ] && [ -f "$SAKILA/sakila-schema.sql" ]; then
  echo "== Sakila ($SAKILA)" >&2
  sed -e 's/USE sakila_app;/USE sakila;/' \
    -e 's#/\*!50705 location GEOMETRY \*/ /\*!80003 SRID 0 \*/ /\*!50705 NOT NULL,\*/#location GEOMETRY NOT NULL,#' \
    -e 's#/\*!50705 SPATIAL KEY `idx_location` (location),\*/#SPATIAL KEY `idx_location` (location),#' \
    "$SAKILA/sakila-schema.sql" | myq
  sed -e 's/USE sakila_app;/USE sakila;/' -e 's#/\*!50705 \(0x[0-9A-Fa-f]*,\)\*/#\1#' "$SAKILA/sakila-data.sql" | myq
  SAKILA_TABLES=$(myq -N sakila -e "SELECT GROUP_CONCAT(table_name) FROM information_schema.tables WHERE table_schema = 'sakila' AND table_type = 'BASE TABLE'")
  count_sakila() { # count_sakila my|pg DB: rows in Sakila's base tables
    local t n=0
    for t in ${SAKILA_TABLES//,/ }; do
      if [ "$1" = my ]; then n=$((n + $(myq -N "$2" -e "SELECT COUNT(*) FROM \`$t\`")))
      else n=$((n + $(pgq -d "$2" -c "SELECT COUNT(*) FROM \"$t\""))); fi
    done
    echo "$n"
  }
  SAKILA_ROWS=$(count_sakila my sakila)
  "$BIN/mysql-export" --url "$MYURL/sakila" -o "$WORK/sakila.ndjson" --quiet
  SAKILA_MB=$(du -m "$WORK/sakila.ndjson" | cut -f1)
  echo "   sakila: $SAKILA_ROWS rows, stream $SAKILA_MB MB" >&2
  for i in $(seq "$RUNS"); do
    pgq -d postgres -c "DROP DATABASE IF EXISTS s1" -c "CREATE DATABASE s1"
    timed sakila_my_to_pg sh -c "'$BIN/mysql-export' --url '$MYURL/sakila' --quiet | '$BIN/pg-import' --url '$PGURL/s1' --create-tables --jobs $IMPORT_JOBS --quiet"
    [ "$(count_sakila pg s1)" = "$SAKILA_ROWS" ] || { echo "bench/sql: sakila: mysql-export | pg-import lost rows" >&2; exit 1; }
    pgq -d postgres -c "DROP DATABASE s1"
    if command -v pgloader >/dev/null; then
      pgq -d postgres -c "DROP DATABASE IF EXISTS s2" -c "CREATE DATABASE s2"
      # pgloader loads into a schema named after the source database.
      timed sakila_pgloader pgloader --quiet "$MYURL/sakila" "$PGURL/s2" || true
      pgq -d postgres -c "DROP DATABASE s2"
    fi
  done
fi

echo
echo "reline, scale $SCALE: $ROWS rows, stream $MB MB; medians of $RUNS run(s)"
printf '%-26s %9s %11s %8s %9s %12s %12s\n' step wall_s rows_per_s MB_per_s rss_MB client_cpu_s server_cpu_s
# cpumed LABEL FIELD: median of a $WORK/cpu column (2 client, 3 server), "-" without one.
cpumed() { awk -v l="$1" -v f="$2" '$1==l && $f != "-" {print $f}' "$WORK/cpu" 2>/dev/null | sort -g | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}'; }
for l in load_data pg_import mysql_import sqlite_import my_to_pg pg_to_my pgloader; do
  w=$(median "$l" 2); r=$(median "$l" 3)
  [ "$w" = n/a ] && continue
  awk -v l="$l" -v w="$w" -v r="$r" -v n="$ROWS" -v mb="$MB" -v c="$(cpumed "$l" 2)" -v s="$(cpumed "$l" 3)" \
    'BEGIN {printf "%-26s %9.2f %11.0f %8.1f %9.1f %12s %12s\n", l, w, n/w, mb/w, r/1024, c, s}'
done
echo "mysql-export | pg-import, CPU s per stage: mysql-export $(median my_to_pg_export 2), pg-import $(median my_to_pg_import 2)"
awk -v d="$(median my_to_pg 2)" -v p="$(median pgloader 2)" 'BEGIN {
  if (p != "n/a" && p > 0) printf "reline MySQL → PostgreSQL: decant %.2f s, pgloader %.2f s = %.2fx pgloader'"'"'s time (issue 12 target <= 0.5x)\n", d, p, d / p }'
if [ -n "${SAKILA_ROWS:-}" ]; then
  echo
  echo "sakila: $SAKILA_ROWS rows, stream $SAKILA_MB MB; medians of $RUNS run(s)"
  printf '%-26s %9s %11s %9s\n' step wall_s rows_per_s rss_MB
  for l in sakila_my_to_pg sakila_pgloader; do
    w=$(median "$l" 2); r=$(median "$l" 3)
    [ "$w" = n/a ] && continue
    awk -v l="$l" -v w="$w" -v r="$r" -v n="$SAKILA_ROWS" 'BEGIN {printf "%-26s %9.2f %11.0f %9.1f\n", l, w, n/w, r/1024}'
  done
  awk -v d="$(median sakila_my_to_pg 2)" -v p="$(median sakila_pgloader 2)" 'BEGIN {
    if (p != "n/a" && d > 0) printf "Sakila MySQL → PostgreSQL: decant %.1fx faster than pgloader (issue 12 target >= 5x)\n", p / d }'
fi
