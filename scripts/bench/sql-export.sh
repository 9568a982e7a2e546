#!/usr/bin/env bash
# SQL exporters on the "reline" dataset (1M rows in 5 tables at scale 1), with
# the peers measured in the same run:
#   mysql-export (--jobs 1 and --jobs 2, to /dev/null and to .zst) vs mariadb-dump
#   pg-export (--jobs 1 and 2) vs pg_dump --data-only, on reline copied into
#   PostgreSQL by pg-import (skipped when pg-import is not built yet)
#   sqlite-export vs `sqlite3 .dump`, on reline copied by sqlite-import (likewise)
# Each figure: wall seconds, rows/s, MB/s of stream, peak RSS (/usr/bin/time -v),
# median of RUNS runs.
#
#   scripts/bench.sh sql-export                  # scale 1, 3 runs each
#   SCALE=0.1 RUNS=1 scripts/bench.sh sql-export
#   WITH_IMPORTERS=0 scripts/bench.sh sql-export  # MySQL only
# Servers are throwaway instances on free ports in a temp dir, fsync off
# (PostgreSQL fsync=off; MariaDB innodb-flush-log-at-trx-commit=2): fast, not durable.
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init sql-export
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}

[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
need_mariadb
need_postgres

echo "== building (release)" >&2
cargo build --release -q -p decant-export --bin mysql-export --bin pg-export --bin sqlite-export
# The importers copy reline into PostgreSQL and SQLite (WITH_IMPORTERS=0: MySQL only).
if [ "${WITH_IMPORTERS:-1}" = 1 ]; then
  cargo build --release -q -p decant-import --bin pg-import --bin sqlite-import 2>/dev/null || true
fi

echo "== starting MariaDB and PostgreSQL" >&2
start_mariadb 1G --skip-name-resolve --local-infile=1
start_postgres 512MB

echo "== generating reline (scale $SCALE)" >&2
python3 "$DATASETS/gen_reline_mysql.py" --scale "$SCALE" --dir "$WORK/reline" --ndjson "$WORK/events.ndjson" >/dev/null
myq < "$WORK/reline/schema.sql"
(cd "$WORK/reline" && myq reline < load.sql)
myq reline -e "ANALYZE TABLE operators, line_groups, contents, alarm_contents, feedbacks" >/dev/null
ROWS=$(myq -N reline -e "SELECT (SELECT COUNT(*) FROM operators)+(SELECT COUNT(*) FROM line_groups)+(SELECT COUNT(*) FROM contents)+(SELECT COUNT(*) FROM alarm_contents)+(SELECT COUNT(*) FROM feedbacks)")
MYURL="mysql://root@127.0.0.1:$MYPORT/reline"
PGURL="postgres://postgres@127.0.0.1:$PGPORT/reline"
"$BIN/mysql-export" --url "$MYURL" -o "$WORK/reline.ndjson" --quiet
MB=$(du -m "$WORK/reline.ndjson" | cut -f1)
LINES=$(wc -l < "$WORK/reline.ndjson")
[ "$LINES" = $((ROWS + 7)) ] || { echo "bench/sql-export: $LINES lines for $ROWS rows" >&2; exit 1; }
echo "   reline: $ROWS rows, stream $MB MB" >&2

HAVE_PG=
if [ "${WITH_IMPORTERS:-1}" = 1 ] && [ -x "$BIN/pg-import" ]; then
  pgq -d postgres -c "CREATE DATABASE reline"
  if "$BIN/pg-import" --url "$PGURL" -i "$WORK/reline.ndjson" --create-tables --zero-dates null --quiet 2>"$WORK/pg-import.err"; then
    pgq -d reline -c "ANALYZE"
    HAVE_PG=1
  else
    echo "   pg-import failed ($(head -c 300 "$WORK/pg-import.err")): PostgreSQL figures skipped" >&2
  fi
fi
HAVE_SQLITE=
if [ "${WITH_IMPORTERS:-1}" = 1 ] && [ -x "$BIN/sqlite-import" ]; then
  sqlite3 "$WORK/reline.db" 'VACUUM'
  if "$BIN/sqlite-import" --url "sqlite://$WORK/reline.db" -i "$WORK/reline.ndjson" --create-tables --quiet 2>"$WORK/sqlite-import.err"; then
    HAVE_SQLITE=1
  else
    echo "   sqlite-import failed ($(head -c 300 "$WORK/sqlite-import.err")): SQLite figures skipped" >&2
  fi
fi

for i in $(seq "$RUNS"); do
  echo "== run $i/$RUNS" >&2
  timed mysql_export "$BIN/mysql-export" --url "$MYURL" -o /dev/null --quiet
  timed mysql_export_j2 "$BIN/mysql-export" --url "$MYURL" -o /dev/null --quiet --jobs 2
  timed mysql_export_zst "$BIN/mysql-export" --url "$MYURL" -o "$WORK/out.ndjson.zst" --quiet
  timed mariadb_dump sh -c "mariadb-dump --no-defaults --socket='$MY/sock' -uroot --single-transaction --quick reline > /dev/null"
  if [ -n "$HAVE_PG" ]; then
    timed pg_export "$BIN/pg-export" --url "$PGURL" -o /dev/null --quiet
    timed pg_export_j2 "$BIN/pg-export" --url "$PGURL" -o /dev/null --quiet --jobs 2
    timed pg_dump sh -c "runuser -u postgres -- pg_dump -h 127.0.0.1 -p $PGPORT -U postgres --data-only reline > /dev/null"
  fi
  if [ -n "$HAVE_SQLITE" ]; then
    timed sqlite_export "$BIN/sqlite-export" --url "sqlite://$WORK/reline.db" -o /dev/null --quiet
    timed sqlite3_dump sh -c "sqlite3 '$WORK/reline.db' .dump > /dev/null"
  fi
done

echo
echo "reline, scale $SCALE: $ROWS rows, stream $MB MB; medians of $RUNS run(s)"
printf '%-20s %9s %11s %8s %9s\n' step wall_s rows_per_s MB_per_s rss_MB
for l in mysql_export mysql_export_j2 mysql_export_zst mariadb_dump pg_export pg_export_j2 pg_dump sqlite_export sqlite3_dump; do
  w=$(median "$l" 2); r=$(median "$l" 3)
  [ "$w" = n/a ] && continue
  awk -v l="$l" -v w="$w" -v r="$r" -v n="$ROWS" -v mb="$MB" 'BEGIN {printf "%-20s %9.2f %11.0f %8.1f %9.1f\n", l, w, n/w, mb/w, r/1024}'
done
