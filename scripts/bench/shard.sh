#!/usr/bin/env bash
# --shard I/N does no more total work than one run (issue 17): mysql-export of
# one table with an integer key and one with a text key, whole and as N shares
# run one after the other, each measured in CPU seconds (user+sys) of the
# exporter (/usr/bin/time) and of the MariaDB server (/proc/PID/stat deltas),
# so the server-side queries of the shares (COUNT, boundary subqueries) count.
# Shares run one at a time so every server CPU second is attributed; on N
# machines they would run at once. Medians of RUNS runs.
#
#   scripts/bench.sh shard                      # 1M rows per table, N=4, 3 runs
#   ROWS=200000 N=8 RUNS=1 scripts/bench.sh shard
#   SHARD_BENCH_BIN=target/debug ROWS=20000 RUNS=1 scripts/bench.sh shard   # smoke run of
#     the script with the debug build (not a benchmark: no figures from it)
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init shard
ROWS=${ROWS:-1000000}
N=${N:-4}
RUNS=${RUNS:-3}

[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
need_mariadb
if [ -n "${SHARD_BENCH_BIN:-}" ]; then
  BIN=$(cd "$SHARD_BENCH_BIN" && pwd)
else
  echo "== building (release)" >&2
  cargo build --release -q -p decant-export --bin mysql-export
fi
echo "== starting MariaDB" >&2
start_mariadb 1G --skip-name-resolve
MYPID=${BENCH_PIDS[-1]}
URL="mysql://root@127.0.0.1:$MYPORT/shardb"

echo "== $ROWS rows per table" >&2
myq -e "CREATE DATABASE shardb"
myq shardb -e "
  CREATE TABLE t_int (id BIGINT PRIMARY KEY, v VARCHAR(60), n INT);
  CREATE TABLE t_text (k VARCHAR(40) PRIMARY KEY, v VARCHAR(60), n INT);
  INSERT INTO t_int SELECT seq * 7, CONCAT('value number ', seq), seq % 1000 FROM seq_1_to_$ROWS;
  INSERT INTO t_text SELECT CONCAT(ELT(seq % 4 + 1, 'Ab', 'ab', 'Z', '_'), MD5(seq)), CONCAT('value number ', seq), seq % 1000
    FROM seq_1_to_$ROWS;
  ANALYZE TABLE t_int, t_text;" >/dev/null

ticks=$(getconf CLK_TCK)
# server_cpu: the server's user+sys CPU seconds so far.
server_cpu() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$MYPID/stat"; }
# cpu LABEL CMD...: runs CMD, appends "LABEL tool_cpu server_cpu wall" to $WORK/cpu.
cpu() {
  local label=$1 before after
  shift
  before=$(server_cpu)
  /usr/bin/time -v -o "$WORK/time.out" "$@"
  after=$(server_cpu)
  awk -v l="$label" -v s="$(echo "$after - $before" | bc -l)" -F': ' '
    /User time/ {u=$2} /System time/ {y=$2}
    /Elapsed \(wall clock\)/ {n=split($2,a,":"); w=0; for(i=1;i<=n;i++) w=w*60+a[i]}
    END {printf "%s %.3f %.3f %.3f\n", l, u+y, s, w}' "$WORK/time.out" >> "$WORK/cpu"
}
# sum_shares LABEL: adds the last N lines (the shares of one run) into one.
sum_shares() {
  tail -n "$N" "$WORK/cpu" | awk -v l="$1" '{t+=$2; s+=$3; w+=$4} END {printf "%s %.3f %.3f %.3f\n", l, t, s, w}' >> "$WORK/cpu.sum"
}

: > "$WORK/cpu.sum"
for run in $(seq "$RUNS"); do
  echo "== run $run/$RUNS" >&2
  for table in t_int t_text; do
    cpu "$table-whole" "$BIN/mysql-export" --url "$URL" --tables "$table" -o /dev/null --quiet
    tail -n 1 "$WORK/cpu" >> "$WORK/cpu.sum"
    for i in $(seq 0 $((N - 1))); do
      cpu "$table-share" "$BIN/mysql-export" --url "$URL" --tables "$table" --shard "$i/$N" -o /dev/null --quiet
    done
    sum_shares "$table-shares"
  done
done

med() { awk -v l="$1" -v f="$2" '$1==l {print $f}' "$WORK/cpu.sum" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "mysql-export, $ROWS rows per table, N=$N shares run one after the other, median of $RUNS runs"
echo "(CPU seconds user+sys; load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-8s %-10s %9s %11s %9s %9s\n' table run tool_cpu server_cpu total wall
for table in t_int t_text; do
  for kind in whole shares; do
    t=$(med "$table-$kind" 2); s=$(med "$table-$kind" 3); w=$(med "$table-$kind" 4)
    printf '%-8s %-10s %9.2f %11.2f %9.2f %9.2f\n' "$table" "$kind" "$t" "$s" "$(echo "$t + $s" | bc -l)" "$w"
  done
  whole=$(echo "$(med "$table-whole" 2) + $(med "$table-whole" 3)" | bc -l)
  shares=$(echo "$(med "$table-shares" 2) + $(med "$table-shares" 3)" | bc -l)
  printf '%-8s shares / whole (total CPU): %.2fx\n' "$table" "$(echo "$shares / $whole" | bc -l)"
done
