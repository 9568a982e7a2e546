#!/usr/bin/env bash
# SQL importers on the "reline" dataset (1M rows in 5 tables at scale 1), with
# the peers measured in the same run:
#   load:      LOAD DATA LOCAL INFILE (the dataset's own load.sql)  — peer
#   importers: pg-import / mysql-import / sqlite-import alone, from a file
#              (mysql-export's stream of reline), --create-tables
#   pipelines: mysql-export | pg-import   and   pg-export | mysql-import
#   peer:      pgloader MySQL → PostgreSQL, when installed (apt-get install pgloader)
# Each figure: wall seconds, rows/s, MB/s of stream, peak RSS (/usr/bin/time -v),
# median of RUNS runs.
#
#   scripts/bench.sh sql                   # scale 1, 3 runs each (medians)
#   SCALE=0.1 RUNS=1 scripts/bench.sh sql
# Servers are throwaway MariaDB / PostgreSQL instances on free ports in a temp
# dir, with fsync off (PostgreSQL: fsync=off, synchronous_commit=off;
# MariaDB: innodb-flush-log-at-trx-commit=2): fast, not durable.
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init sql
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}

[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
need_mariadb
need_postgres

echo "== building (release)" >&2
cargo build --release -q -p decant-export -p decant-import \
  --bin mysql-export --bin pg-export --bin mysql-import --bin pg-import --bin sqlite-import

echo "== starting MariaDB and PostgreSQL" >&2
start_mariadb 1G --skip-name-resolve --local-infile=1
start_postgres 512MB

echo "== generating reline (scale $SCALE)" >&2
python3 "$DATASETS/gen_reline_mysql.py" --scale "$SCALE" --dir "$WORK/reline" --ndjson "$WORK/events.ndjson" >/dev/null
myq < "$WORK/reline/schema.sql"
(cd "$WORK/reline" && timed load_data sh -c "mariadb --no-defaults --socket='$MY/sock' -uroot --local-infile=1 --default-character-set=utf8mb4 reline < load.sql")
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
  timed pg_import "$BIN/pg-import" --url "$PGURL/t1" -i "$WORK/reline.ndjson" --create-tables --zero-dates null --quiet
  check pg-import "$(count_pg t1)"
  myq -e "DROP DATABASE IF EXISTS t2; CREATE DATABASE t2 CHARACTER SET utf8mb4"
  timed mysql_import "$BIN/mysql-import" --url "$MYURL/t2" -i "$WORK/reline.ndjson" --create-tables --quiet
  check mysql-import "$(count_my t2)"
  rm -f "$WORK/t3.db" && sqlite3 "$WORK/t3.db" 'VACUUM'
  timed sqlite_import "$BIN/sqlite-import" --url "sqlite://$WORK/t3.db" -i "$WORK/reline.ndjson" --create-tables --cast type:uint64=TEXT --quiet
  pgq -d postgres -c "DROP DATABASE IF EXISTS t4" -c "CREATE DATABASE t4"
  timed my_to_pg sh -c "'$BIN/mysql-export' --url '$MYURL/reline' --quiet | '$BIN/pg-import' --url '$PGURL/t4' --create-tables --zero-dates null --quiet"
  check "mysql-export | pg-import" "$(count_pg t4)"
  myq -e "DROP DATABASE IF EXISTS t5; CREATE DATABASE t5 CHARACTER SET utf8mb4"
  timed pg_to_my sh -c "'$BIN/pg-export' --url '$PGURL/t4' --quiet | '$BIN/mysql-import' --url '$MYURL/t5' --create-tables --quiet"
  check "pg-export | mysql-import" "$(count_my t5)"
  if command -v pgloader >/dev/null; then
    pgq -d postgres -c "DROP DATABASE IF EXISTS t6" -c "CREATE DATABASE t6"
    timed pgloader pgloader --quiet "$MYURL/reline" "$PGURL/t6" || true
  fi
done

echo
echo "reline, scale $SCALE: $ROWS rows, stream $MB MB; medians of $RUNS run(s)"
printf '%-26s %9s %11s %8s %9s\n' step wall_s rows_per_s MB_per_s rss_MB
for l in load_data pg_import mysql_import sqlite_import my_to_pg pg_to_my pgloader; do
  w=$(median "$l" 2); r=$(median "$l" 3)
  [ "$w" = n/a ] && continue
  awk -v l="$l" -v w="$w" -v r="$r" -v n="$ROWS" -v mb="$MB" 'BEGIN {printf "%-26s %9.2f %11.0f %8.1f %9.1f\n", l, w, n/w, mb/w, r/1024}'
done
