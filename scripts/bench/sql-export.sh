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
cd "$(dirname "$0")/../.."
ROOT=$PWD
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}
DATASETS=${DATASETS:-$ROOT/../shared/datasets}
[ -d "$DATASETS" ] || DATASETS=/work/shared/datasets
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release
WORK=$(mktemp -d /tmp/decant-bench-sqlx.XXXXXX)
chmod 755 "$WORK"
PIDS=()
PGDATA_DIR=
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$PGDATA_DIR" ]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true; fi
  sleep 1
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
command -v mariadbd >/dev/null || { echo "bench/sql-export: mariadbd missing (apt-get install mariadb-server)" >&2; exit 2; }
PGBIN=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
[ -x "$PGBIN/initdb" ] || { echo "bench/sql-export: initdb missing (apt-get install postgresql)" >&2; exit 2; }

echo "== building (release)" >&2
cargo build --release -q -p decant-export --bin mysql-export --bin pg-export --bin sqlite-export
# The importers copy reline into PostgreSQL and SQLite (WITH_IMPORTERS=0: MySQL only).
if [ "${WITH_IMPORTERS:-1}" = 1 ]; then
  cargo build --release -q -p decant-import --bin pg-import --bin sqlite-import 2>/dev/null || true
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== starting MariaDB and PostgreSQL" >&2
MY=$WORK/mariadb
mkdir -p "$MY/tmp"
mariadb-install-db --no-defaults --user=root --datadir="$MY/data" --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
MYPORT=$(free_port)
mariadbd --no-defaults --user=root --datadir="$MY/data" --socket="$MY/sock" --port="$MYPORT" --bind-address=127.0.0.1 \
  --pid-file="$MY/pid" --tmpdir="$MY/tmp" --skip-name-resolve --skip-log-bin --local-infile=1 --max-allowed-packet=256M \
  --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=1G --character-set-server=utf8mb4 \
  --log-error="$MY/error.log" &
PIDS+=($!)
myq() { mariadb --no-defaults --socket="$MY/sock" -uroot --local-infile=1 --default-character-set=utf8mb4 "$@"; }
for _ in $(seq 200); do myq -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
myq -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"

id postgres >/dev/null 2>&1 || useradd -r -m postgres
PGDATA_DIR=$WORK/pg/data
mkdir -p "$WORK/pg" && chown postgres "$WORK/pg"
PGPORT=$(free_port)
(cd /tmp && runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null)
(cd /tmp && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/pg/log" -w \
  -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=4GB -c shared_buffers=512MB" start >/dev/null)
pgq() { psql -X -q -At -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"; }

timed() { # LABEL CMD...: /usr/bin/time -v; appends "LABEL wall rss" to $WORK/times
  local label=$1; shift
  /usr/bin/time -v -o "$WORK/time.out" "$@"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time.out")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.out")
  echo "$label $wall $rss" >> "$WORK/times"
  echo "   $label: ${wall}s, peak RSS $((rss / 1024)) MB" >&2
}
median() { awk -v l="$1" -v f="$2" '$1==l {print $f}' "$WORK/times" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'; }

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
