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
cd "$(dirname "$0")/../.."
ROOT=$PWD
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}
DATASETS=${DATASETS:-$ROOT/../shared/datasets}
[ -d "$DATASETS" ] || DATASETS=/work/shared/datasets
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release
WORK=$(mktemp -d /tmp/decant-bench-sql.XXXXXX)
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
command -v mariadbd >/dev/null || { echo "bench/sql: mariadbd missing (apt-get install mariadb-server)" >&2; exit 2; }
PGBIN=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
[ -x "$PGBIN/initdb" ] || { echo "bench/sql: initdb missing (apt-get install postgresql)" >&2; exit 2; }

echo "== building (release)" >&2
cargo build --release -q -p decant-export -p decant-import \
  --bin mysql-export --bin pg-export --bin mysql-import --bin pg-import --bin sqlite-import

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
