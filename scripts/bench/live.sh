#!/usr/bin/env bash
# Validating two live stores (issue 16): on two equal ROWS-row tables, MariaDB
# and its PostgreSQL copy (the numeric columns of bench/proof.sh plus an
# indexed updated_at):
#   1. a full decant-verify (--content auto: range checksums in the
#      databases; and --content digest: both sides exported and digested),
#      and decant-diff (range checksums), vs reladiff on the same numeric
#      columns;
#   2. after 1,000 rows changed on both sides, a decant-verify --since
#      updated_at (the rows changed since the last run), with and without the
#      key-only comparison that finds deletions.
# Wall time, CPU seconds of the tool and of both servers (the machine is
# shared: wall time alone is noisy); medians of RUNS.
#
#   scripts/bench.sh live                  # 1M rows, 3 runs
#   ROWS=100000 RUNS=1 SKIP_RELADIFF=1 scripts/bench.sh live
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init live
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
RELADIFF_TIMEOUT=${RELADIFF_TIMEOUT:-300}
TIMED_EXIT=1

[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
need_mariadb
need_postgres

echo "== building (release)" >&2
cargo build --release -q -p decant-verify -p decant-diff -p decant-export \
  --bin decant-verify --bin decant-diff --bin mysql-export --bin pg-export

need_reladiff

echo "== starting MariaDB and PostgreSQL" >&2
start_mariadb 512M --skip-name-resolve
start_postgres 256MB

echo "== loading $ROWS rows into both" >&2
myq -e "CREATE DATABASE bench; USE bench;
  CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner_id INT NOT NULL, balance DECIMAL(12,4), credits BIGINT,
    active TINYINT(1), updated_at DATETIME(6) NOT NULL, KEY by_updated (updated_at)) ENGINE=InnoDB;
  SET SESSION max_recursive_iterations = 100000000;
  INSERT INTO accounts SELECT seq, seq % 9973, seq * 1.0625, seq * 37, seq % 2,
    TIMESTAMPADD(MICROSECOND, seq * 1000003, '2024-01-01 00:00:00') FROM seq_1_to_$ROWS;"
pgq -c "CREATE DATABASE bench" >/dev/null
pgq -d bench -c "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner_id INT NOT NULL, balance NUMERIC(12,4), credits BIGINT,
    active BOOLEAN, updated_at TIMESTAMP(6) NOT NULL);
  INSERT INTO accounts SELECT s, s % 9973, s * 1.0625, s * 37, s % 2 = 1,
    TIMESTAMP '2024-01-01 00:00:00' + make_interval(secs => s::bigint * 1000003 / 1000000.0)
    FROM generate_series(1, $ROWS) s;
  CREATE INDEX by_updated ON accounts (updated_at);" >/dev/null
pgq -d bench -c "VACUUM ANALYZE accounts" >/dev/null
MYURL="mysql://root@127.0.0.1:$MYPORT/bench"
PGURL="postgres://postgres@127.0.0.1:$PGPORT/bench"

verify() { # LABEL ARGS...
  local label=$1
  shift
  measured "$label" sh -c "'$BIN/decant-verify' --left '$MYURL' --right '$PGURL' --settle 0 --json $* > '$WORK/$label.json' 2> '$WORK/$label.err'"
}

for i in $(seq "$RUNS"); do
  echo "== run $i/$RUNS: equal tables, everything compared" >&2
  verify verify_full
  verify verify_full_digest --content digest
  measured diff_full sh -c "'$BIN/decant-diff' '$MYURL' '$PGURL' --settle 0 --brief 2> '$WORK/diff_full.err'"
  if [ -n "$RELADIFF" ]; then
    measured reladiff_numeric sh -c "timeout $RELADIFF_TIMEOUT '$RELADIFF' '$MYURL' accounts \
      'postgresql://postgres@127.0.0.1:$PGPORT/bench' accounts -k id -c owner_id -c balance -c credits -c active -c updated_at > '$WORK/reladiff.out' 2>&1"
  fi
done

echo "== the first --since run (no state: reads everything, stores the watermark)" >&2
"$BIN/decant-verify" --left "$MYURL" --right "$PGURL" --settle 0 --since updated_at --state "$WORK/since.json" --quiet
for i in $(seq "$RUNS"); do
  echo "== run $i/$RUNS: 1,000 rows changed on both sides, then --since" >&2
  # Stamped an hour apart from run to run: past the last watermark and its 5-minute overlap.
  stamp="2030-01-01 0$i:00:00"
  change="UPDATE accounts SET credits = credits + 1, updated_at = '$stamp' WHERE id % 1000 = $i"
  myq bench -e "$change"
  pgq -d bench -c "$change" >/dev/null
  cp "$WORK/since.json" "$WORK/since-nokeys.json"
  verify verify_since_no_key_check --since updated_at --state "$WORK/since-nokeys.json" --no-key-check
  verify verify_since --since updated_at --state "$WORK/since.json"
  python3 -c "import json; g = json.load(open('$WORK/verify_since.json'))['groups'][0]; print('   rows read per side:', g['left'], g['right'])" >&2
done

echo
echo "## results (medians of $RUNS; $ROWS rows; 2-core machine shared with other builds; load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
cpu_median() {
  awk -v l="$1" -v f="$2" '$1==l {print $f}' "$WORK/cpu" 2>/dev/null | sort -g | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "n/a"}'
}
printf "%-28s %8s %8s %12s %11s %13s\n" "run" "wall s" "best s" "peak RSS MB" "tool CPU s" "server CPU s"
for l in verify_full verify_full_digest diff_full reladiff_numeric verify_since_no_key_check verify_since; do
  w=$(median $l 2); r=$(median $l 3)
  [ "$w" = "n/a" ] && continue
  best=$(awk -v l="$l" '$1==l {print $2}' "$WORK/times" | sort -g | head -1)
  printf "%-28s %8s %8s %12s %11s %13s\n" "$l" "$w" "$best" "$((r / 1024))" "$(cpu_median $l 2)" "$(cpu_median $l 3)"
done
