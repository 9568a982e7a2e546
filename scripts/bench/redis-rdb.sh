#!/usr/bin/env bash
# redis-export --rdb (an RDB file read offline) vs redis-export --url (the live
# server), and redis-cli --rdb (fetching the file) for scale, on the relay dataset (~1M keys at scale 1) and on a 5M-member sorted
# set, in the same run: wall and CPU seconds (user+sys), keys/s, MB/s of RDB
# read, peak RSS. Medians of RUNS runs.
#
#   scripts/bench.sh redis-rdb
#   SCALE=0.1 RUNS=1 SKIP_BIGZSET=1 scripts/bench.sh redis-rdb
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init redis-rdb
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}
command -v redis-server >/dev/null || { echo "bench/redis-rdb: redis-server missing (apt-get install redis-server)" >&2; exit 2; }
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null

echo "== building (release)" >&2
cargo build --release -q -p decant-export -p decant-checksum --bin redis-export --bin decant-checksum

# same_digests A B: the per-group content digests of two streams agree (else exit 1).
same_digests() {
  if diff <("$BIN/decant-checksum" "$1" | grep -v '^#\|^sealed\|^unsealed') \
          <("$BIN/decant-checksum" "$2" | grep -v '^#\|^sealed\|^unsealed') >&2; then
    echo "   same digests per key group: $(basename "$1") = $(basename "$2")" >&2
  else
    echo "bench/redis-rdb: $1 and $2 differ" >&2
    exit 1
  fi
}

# run LABEL CMD...: appends "LABEL wall user sys rss_kb" to $WORK/cpu.
run() {
  local label=$1
  shift
  /usr/bin/time -f "$label %e %U %S %M" -a -o "$WORK/cpu" "$@"
  tail -1 "$WORK/cpu" | awk '{printf "   %s: %ss wall, %ss user, %ss sys, %d MB\n", $1, $2, $3, $4, $5/1024}' >&2
}
# med LABEL FIELD: median of FIELD (2 wall, 3 user, 4 sys, 5 rss) of LABEL's runs.
med() { awk -v l="$1" -v f="$2" '$1==l {print $f}' "$WORK/cpu" | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "n/a")}'; }
cpu() { awk -v l="$1" '$1==l {print $3+$4}' "$WORK/cpu" | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "n/a")}'; }

echo "== generating the relay dataset (scale $SCALE)" >&2
python3 "$DATASETS/gen_relay_redis.py" --scale "$SCALE" --out "$WORK/relay.resp" >/dev/null
start_redis SRC source
redis-cli -p "$SRC" --pipe < "$WORK/relay.resp" >/dev/null
KEYS=$(redis-cli -p "$SRC" dbsize)
redis-cli -p "$SRC" --rdb "$WORK/relay.rdb" >/dev/null 2>&1
RDB_MB=$(du -m "$WORK/relay.rdb" | cut -f1)
echo "   source: $KEYS keys, RDB $RDB_MB MB; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for i in $(seq "$RUNS"); do
  echo "== run $i/$RUNS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  run live "$BIN/redis-export" --url "redis://127.0.0.1:$SRC/0" -o "$WORK/live.ndjson" --quiet
  run rdb_fetch sh -c "redis-cli -p $SRC --rdb '$WORK/fetched.rdb' >/dev/null 2>&1"
  run rdb "$BIN/redis-export" --rdb "$WORK/relay.rdb" -o "$WORK/rdb.ndjson" --quiet
  run rdb_zst_out "$BIN/redis-export" --rdb "$WORK/relay.rdb" -o "$WORK/rdb.ndjson.zst" --quiet
done
lines_live=$(wc -l < "$WORK/live.ndjson")
lines_rdb=$(wc -l < "$WORK/rdb.ndjson")
echo "   lines: live $lines_live, rdb $lines_rdb" >&2
same_digests "$WORK/live.ndjson" "$WORK/rdb.ndjson"

if [ -z "${SKIP_BIGZSET:-}" ]; then
  echo "== 5M-member sorted set" >&2
  start_redis BIG bigzset
  python3 - "$WORK/zset.resp" <<'EOF'
import sys
with open(sys.argv[1], "wb", buffering=1 << 22) as f:
    for start in range(0, 5_000_000, 1000):
        args = [b"ZADD", b"big:zset"]
        for i in range(start, start + 1000):
            args += [b"%.17g" % (i * 0.37), b"member:%d" % i]
        f.write(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
EOF
  redis-cli -p "$BIG" --pipe < "$WORK/zset.resp" >/dev/null
  redis-cli -p "$BIG" --rdb "$WORK/zset.rdb" >/dev/null 2>&1
  ZSET_MB=$(du -m "$WORK/zset.rdb" | cut -f1)
  for i in $(seq "$RUNS"); do
    run zset_live "$BIN/redis-export" --url "redis://127.0.0.1:$BIG/0" -o "$WORK/zlive.ndjson" --quiet
    run zset_rdb "$BIN/redis-export" --rdb "$WORK/zset.rdb" -o "$WORK/zrdb.ndjson" --quiet
  done
  same_digests "$WORK/zlive.ndjson" "$WORK/zrdb.ndjson"
fi

echo
echo "relay dataset, scale $SCALE: $KEYS keys, RDB $RDB_MB MB; medians of $RUNS runs"
printf "%-14s %8s %8s %10s %8s %8s\n" step wall_s cpu_s keys/s MB/s rss_MB
for l in live rdb_fetch rdb rdb_zst_out zset_live zset_rdb; do
  w=$(med $l 2); [ "$w" = "n/a" ] && continue
  mbs=$RDB_MB; keys=$KEYS
  case $l in zset_*) mbs=${ZSET_MB:-0}; keys=1 ;; esac
  printf "%-14s %8s %8s %10s %8s %8d\n" "$l" "$w" "$(cpu $l)" \
    "$(awk -v k="$keys" -v w="$w" 'BEGIN {printf "%d", k / w}')" \
    "$(awk -v m="$mbs" -v w="$w" 'BEGIN {printf "%.0f", m / w}')" "$(( $(med $l 5) / 1024 ))"
done
