#!/usr/bin/env bash
# decant-diff / decant-checksum, with reladiff (PyPI) measured in the same run:
#   1. diff of two equal ROWS-row tables, MariaDB vs its PostgreSQL copy:
#      decant-diff (range checksums inside both databases) vs reladiff, on the
#      numeric columns alone and with the utf8mb4 text column included;
#   2. the same with 10 planted differences (all must be found, no false one);
#   3. decant-checksum of a ~1 GB stream (MB/s).
# Peak RSS of every decant run with /usr/bin/time -v.
#
#   scripts/bench.sh proof                       # 1M rows, 3 runs (medians)
#   ROWS=100000 RUNS=1 STREAM_MB=64 scripts/bench.sh proof
#   SKIP_RELADIFF=1 / SKIP_RELADIFF_TEXT=1 / RELADIFF_TIMEOUT=300 …
# Servers are throwaway MariaDB / PostgreSQL on free ports in a temp dir
# (PostgreSQL with fsync=off: load speed only, not measured).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
STREAM_MB=${STREAM_MB:-1024}
RELADIFF_TIMEOUT=${RELADIFF_TIMEOUT:-300}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release
WORK=$(mktemp -d /tmp/decant-bench-proof.XXXXXX)
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
command -v mariadbd >/dev/null || { echo "bench/proof: mariadbd missing (apt-get install mariadb-server)" >&2; exit 2; }
PGBIN=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
[ -x "$PGBIN/initdb" ] || { echo "bench/proof: initdb missing (apt-get install postgresql)" >&2; exit 2; }

echo "== building (release)" >&2
cargo build --release -q -p decant-diff -p decant-checksum -p decant-export \
  --bin decant-diff --bin decant-checksum --bin mysql-export --bin pg-export
cargo build --release -q -p decant-record --example gen_stream

RELADIFF=
if [ -z "${SKIP_RELADIFF:-}" ]; then
  VENV=${RELADIFF_VENV:-$ROOT/target/reladiff-venv}
  if [ ! -x "$VENV/bin/reladiff" ]; then
    echo "== installing reladiff (PyPI) into $VENV" >&2
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "reladiff[mysql,postgresql]" >&2
  fi
  RELADIFF=$VENV/bin/reladiff
  echo "   $("$RELADIFF" --version 2>&1 | head -1)" >&2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== starting MariaDB and PostgreSQL" >&2
MY=$WORK/mariadb
mkdir -p "$MY/tmp"
mariadb-install-db --no-defaults --user=root --datadir="$MY/data" --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
MYPORT=$(free_port)
mariadbd --no-defaults --user=root --datadir="$MY/data" --socket="$MY/sock" --port="$MYPORT" --bind-address=127.0.0.1 \
  --pid-file="$MY/pid" --tmpdir="$MY/tmp" --skip-name-resolve --skip-log-bin --max-allowed-packet=256M \
  --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=512M --character-set-server=utf8mb4 \
  --log-error="$MY/error.log" &
PIDS+=($!)
myq() { mariadb --no-defaults --socket="$MY/sock" -uroot --default-character-set=utf8mb4 "$@"; }
for _ in $(seq 200); do myq -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
myq -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"

id postgres >/dev/null 2>&1 || useradd -r -m postgres
PGDATA_DIR=$WORK/pg/data
mkdir -p "$WORK/pg" && chown postgres "$WORK/pg"
PGPORT=$(free_port)
(cd /tmp && runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null)
(cd /tmp && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/pg/log" -w \
  -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=4GB -c shared_buffers=256MB" start >/dev/null)
pgq() { psql -X -q -At -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"; }

timed() { # LABEL CMD...: /usr/bin/time -v; appends "LABEL wall rss exit" to $WORK/times
  local label=$1; shift
  local rc=0
  /usr/bin/time -v -o "$WORK/time.out" "$@" || rc=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time.out")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.out")
  echo "$label $wall $rss $rc" >> "$WORK/times"
  echo "   $label: ${wall}s, peak RSS $((rss / 1024)) MB, exit $rc" >&2
}
median() { # LABEL FIELD (2 wall, 3 rss)
  awk -v l="$1" -v f="$2" '$1==l {print $f}' "$WORK/times" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'
}

echo "== loading $ROWS rows into both (the same values computed in each)" >&2
myq -e "CREATE DATABASE bench; USE bench;
  CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner_id INT NOT NULL, balance DECIMAL(12,4), credits BIGINT,
    active TINYINT(1), created DATETIME(6), label VARCHAR(100) CHARACTER SET utf8mb4) ENGINE=InnoDB;
  SET SESSION max_recursive_iterations = 100000000;
  INSERT INTO accounts SELECT seq, seq % 9973, seq * 1.0625, seq * 37, seq % 2,
    TIMESTAMPADD(MICROSECOND, seq * 1000003, '2024-01-01 00:00:00'),
    CONCAT('ユーザー ', seq, ' 😀 ', LEFT(MD5(seq), 12)) FROM seq_1_to_$ROWS;"
pgq -c "CREATE DATABASE bench" >/dev/null
pgq -d bench -c "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner_id INT NOT NULL, balance NUMERIC(12,4), credits BIGINT,
    active BOOLEAN, created TIMESTAMP(6), label VARCHAR(100));
  INSERT INTO accounts SELECT s, s % 9973, s * 1.0625, s * 37, s % 2 = 1,
    TIMESTAMP '2024-01-01 00:00:00' + make_interval(secs => s::bigint * 1000003 / 1000000.0),
    'ユーザー ' || s || ' 😀 ' || left(md5(s::text), 12) FROM generate_series(1, $ROWS) s;" >/dev/null
pgq -d bench -c "VACUUM ANALYZE accounts" >/dev/null
MYURL="mysql://root@127.0.0.1:$MYPORT/bench"
PGURL="postgres://postgres@127.0.0.1:$PGPORT/bench"
NUMERIC="owner_id,balance,credits,active,created"

run_decant() { # LABEL EXPECTED_EXIT TABLE
  timed "$1" sh -c "'$BIN/decant-diff' '$MYURL' '$PGURL' --tables $3 --log-format json > '$WORK/$1.out' 2> '$WORK/$1.err'; test \$? -eq $2"
}
run_reladiff() { # LABEL COLUMNS
  local cols=()
  IFS=, read -ra list <<< "$2"
  for c in "${list[@]}"; do cols+=(-c "$c"); done
  timed "$1" sh -c "timeout $RELADIFF_TIMEOUT '$RELADIFF' 'mysql://root@127.0.0.1:$MYPORT/bench' accounts \
    'postgresql://postgres@127.0.0.1:$PGPORT/bench' accounts -k id ${cols[*]} > '$WORK/$1.out' 2> '$WORK/$1.err'"
  echo "   $1: $(grep -c '^[-+]' "$WORK/$1.out" || true) difference lines reported" >&2
}

# decant-diff always compares every column; a numeric-only copy of the table
# (a view would hide the key) gives the like-for-like figure.
myq bench -e "CREATE TABLE accounts_num AS SELECT id, owner_id, balance, credits, active, created FROM accounts; ALTER TABLE accounts_num ADD PRIMARY KEY (id);"
pgq -d bench -c "CREATE TABLE accounts_num AS SELECT id, owner_id, balance, credits, active, created FROM accounts; ALTER TABLE accounts_num ADD PRIMARY KEY (id);" >/dev/null
pgq -d bench -c "VACUUM ANALYZE accounts_num" >/dev/null

for i in $(seq "$RUNS"); do
  echo "== run $i/$RUNS: equal tables" >&2
  run_decant decant_numeric 0 accounts_num
  run_decant decant_text 0 accounts
  if [ -n "$RELADIFF" ]; then
    run_reladiff reladiff_numeric "$NUMERIC"
  fi
done
if [ -n "$RELADIFF" ] && [ -z "${SKIP_RELADIFF_TEXT:-}" ]; then
  echo "== reladiff with the text column (once, timeout ${RELADIFF_TIMEOUT}s)" >&2
  run_reladiff reladiff_text "$NUMERIC,label"
fi

echo "== 10 planted differences" >&2
pgq -d bench -c "UPDATE accounts SET label = 'changed' WHERE id IN (17, 250000);
  UPDATE accounts SET balance = balance + 0.0001 WHERE id = 500000;
  UPDATE accounts SET created = date_trunc('milliseconds', created) WHERE id = 600001;
  UPDATE accounts SET active = NOT active WHERE id = 700000;
  DELETE FROM accounts WHERE id IN (3, 800000, $ROWS);
  INSERT INTO accounts (id, owner_id, label) VALUES ($ROWS + 1, 1, 'extra'), ($ROWS + 2, 2, 'extra');" >/dev/null
for i in $(seq "$RUNS"); do
  run_decant decant_planted 1 accounts
done
found=$(grep '"event":"total"' "$WORK/decant_planted.err" | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["added"], t["removed"], t["changed"])')
echo "   decant-diff found (added removed changed): $found (expected: 2 3 5)" >&2
[ "$found" = "2 3 5" ] || { echo "bench/proof: wrong differences found" >&2; cat "$WORK/decant_planted.err" >&2; exit 1; }
if [ -n "$RELADIFF" ]; then
  run_reladiff reladiff_planted_numeric "$NUMERIC"
fi

echo "== decant-checksum of a ${STREAM_MB} MB stream" >&2
"$CARGO_TARGET_DIR/release/examples/gen_stream" "$STREAM_MB" "$WORK/stream.ndjson" >/dev/null
BYTES=$(stat -c %s "$WORK/stream.ndjson")
cat "$WORK/stream.ndjson" > /dev/null
for i in $(seq "$RUNS"); do
  timed checksum sh -c "'$BIN/decant-checksum' '$WORK/stream.ndjson' > '$WORK/stream.b3'"
done
grep -q '^sealed' "$WORK/stream.b3" || { echo "bench/proof: the stream is not reported sealed" >&2; exit 1; }

echo
echo "## results (medians of $RUNS; $ROWS rows; 2-core machine)"
printf "%-34s %10s %12s\n" "run" "wall s" "peak RSS MB"
for l in decant_numeric decant_text reladiff_numeric reladiff_text decant_planted reladiff_planted_numeric checksum; do
  w=$(median $l 2); r=$(median $l 3)
  [ "$w" = "n/a" ] && continue
  printf "%-34s %10s %12s\n" "$l" "$w" "$((r / 1024))"
done
cs=$(median checksum 2)
python3 -c "print(f'checksum throughput: {$BYTES/1e6/$cs:.0f} MB/s over {$BYTES/1e6:.0f} MB')"
if [ -f "$WORK/reladiff_text.out" ]; then
  echo "reladiff with the text column: exit $(awk '$1=="reladiff_text" {print $4}' "$WORK/times"), $(grep -c '^[-+]' "$WORK/reladiff_text.out" || true) difference lines on equal tables"
fi
