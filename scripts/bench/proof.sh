#!/usr/bin/env bash
# decant-diff / decant-checksum, with reladiff (PyPI) measured in the same run:
#   1. diff of two equal ROWS-row tables, MariaDB vs its PostgreSQL copy:
#      decant-diff (range checksums inside both databases) vs reladiff, on the
#      numeric columns alone and with the utf8mb4 text column included;
#   2. the same with 10 planted differences (all must be found, no false one);
#   3. decant-checksum of a ~1 GB stream (MB/s).
# Peak RSS of every decant run with /usr/bin/time -v; CPU seconds of the tool
# itself and of both database servers (from /proc, children included) next to
# every wall time, as the machine is shared and wall time alone is noisy.
#
#   scripts/bench.sh proof                       # 1M rows, 3 runs (medians)
#   ROWS=100000 RUNS=1 STREAM_MB=64 scripts/bench.sh proof
#   SKIP_RELADIFF=1 / SKIP_RELADIFF_TEXT=1 / RELADIFF_TIMEOUT=300 / JOBS=2 (decant-diff --jobs) …
# Servers are throwaway MariaDB / PostgreSQL on free ports in a temp dir
# (PostgreSQL with fsync=off: load speed only, not measured).
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init proof
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
STREAM_MB=${STREAM_MB:-1024}
RELADIFF_TIMEOUT=${RELADIFF_TIMEOUT:-300}
JOBS=${JOBS:-2}
TIMED_EXIT=1 # every run is recorded with its exit status ("LABEL wall rss exit")

[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
need_mariadb
need_postgres

echo "== building (release)" >&2
cargo build --release -q -p decant-diff -p decant-checksum -p decant-export \
  --bin decant-diff --bin decant-checksum --bin mysql-export --bin pg-export
cargo build --release -q -p decant-record --example gen_stream

need_reladiff

echo "== starting MariaDB and PostgreSQL" >&2
start_mariadb 512M --skip-name-resolve
start_postgres 256MB

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
  measured "$1" sh -c "'$BIN/decant-diff' '$MYURL' '$PGURL' --tables $3 --jobs $JOBS --log-format json > '$WORK/$1.out' 2> '$WORK/$1.err'; test \$? -eq $2"
}
run_reladiff() { # LABEL COLUMNS
  local cols=()
  IFS=, read -ra list <<< "$2"
  for c in "${list[@]}"; do cols+=(-c "$c"); done
  measured "$1" sh -c "timeout $RELADIFF_TIMEOUT '$RELADIFF' 'mysql://root@127.0.0.1:$MYPORT/bench' accounts \
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
# At fixed fractions of ROWS (250000, 500000, … at 1M rows), so every size finds all 10.
pgq -d bench -c "UPDATE accounts SET label = 'changed' WHERE id IN (17, $((ROWS / 4)));
  UPDATE accounts SET balance = balance + 0.0001 WHERE id = $((ROWS / 2));
  UPDATE accounts SET created = date_trunc('milliseconds', created) WHERE id = $((ROWS * 3 / 5 + 1));
  UPDATE accounts SET active = NOT active WHERE id = $((ROWS * 7 / 10));
  DELETE FROM accounts WHERE id IN (3, $((ROWS * 4 / 5)), $ROWS);
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
echo "## results (medians of $RUNS; $ROWS rows; 2-core machine; load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
cpu_median() { # LABEL FIELD: median of a field of $WORK/cpu (2: tool, 3: servers)
  awk -v l="$1" -v f="$2" '$1==l {print $f}' "$WORK/cpu" 2>/dev/null | sort -g | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "n/a"}'
}
printf "%-26s %8s %8s %12s %11s %13s\n" "run" "wall s" "best s" "peak RSS MB" "tool CPU s" "server CPU s"
for l in decant_numeric decant_text reladiff_numeric reladiff_text decant_planted reladiff_planted_numeric checksum; do
  w=$(median $l 2); r=$(median $l 3)
  [ "$w" = "n/a" ] && continue
  best=$(awk -v l="$l" '$1==l {print $2}' "$WORK/times" | sort -g | head -1)
  printf "%-26s %8s %8s %12s %11s %13s\n" "$l" "$w" "$best" "$((r / 1024))" "$(cpu_median $l 2)" "$(cpu_median $l 3)"
done
cs=$(median checksum 2)
python3 -c "print(f'checksum throughput: {$BYTES/1e6/$cs:.0f} MB/s over {$BYTES/1e6:.0f} MB')"
if [ -f "$WORK/reladiff_text.out" ]; then
  echo "reladiff with the text column: exit $(awk '$1=="reladiff_text" {print $4}' "$WORK/times"), $(grep -c '^[-+]' "$WORK/reladiff_text.out" || true) difference lines on equal tables"
fi
