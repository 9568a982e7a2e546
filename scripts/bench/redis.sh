#!/usr/bin/env bash
# redis-export / redis-import on the "relay" dataset (~1M keys at scale 1), with
# the peers measured in the same run:
#   export: redis-export -o FILE   vs  redis-cli --rdb FILE (the server's own dump)
#                                  vs  redis-dump (redis-dump-load, PyPI)
#   import: redis-import (default mode, into an empty server)
#                                  vs  redis-cli --pipe < relay.resp
#                                  vs  redis-load (redis-dump-load)
# plus peak RSS of both tools, also on a 5M-member sorted set.
#
#   scripts/bench.sh redis                 # scale 1, 3 runs each (medians)
#   SCALE=0.1 RUNS=1 scripts/bench.sh redis
#   SKIP_RDL=1 SKIP_BIGZSET=1 …            # leave out the slow parts
# Servers are throwaway redis-servers on free ports in a temp dir (no
# persistence); nothing touches the machine's own Redis.
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init redis
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}

command -v redis-server >/dev/null || { echo "bench/redis: redis-server missing (apt-get install redis-server)" >&2; exit 2; }
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null

echo "== building (release)" >&2
cargo build --release -q -p decant-export -p decant-import --bin redis-export --bin redis-import

echo "== generating the relay dataset (scale $SCALE)" >&2
python3 "$DATASETS/gen_relay_redis.py" --scale "$SCALE" --out "$WORK/relay.resp" >/dev/null
start_redis SRC source
redis-cli -p "$SRC" --pipe < "$WORK/relay.resp" >/dev/null
KEYS=$(redis-cli -p "$SRC" dbsize)
echo "   source: $KEYS keys, $(redis-cli -p "$SRC" info memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r') used" >&2
start_redis TGT target

for i in $(seq "$RUNS"); do
  echo "== run $i/$RUNS" >&2
  timed export "$BIN/redis-export" --url "redis://127.0.0.1:$SRC/0" -o "$WORK/relay.ndjson" --quiet
  timed rdb redis-cli -p "$SRC" --rdb "$WORK/dump.rdb"
  redis-cli -p "$TGT" flushall >/dev/null
  timed import "$BIN/redis-import" --url "redis://127.0.0.1:$TGT/0" -i "$WORK/relay.ndjson" --quiet
  [ "$(redis-cli -p "$TGT" dbsize)" = "$KEYS" ] || { echo "bench/redis: import copied $(redis-cli -p "$TGT" dbsize) of $KEYS keys" >&2; exit 1; }
  redis-cli -p "$TGT" flushall >/dev/null
  timed pipe sh -c "redis-cli -p $TGT --pipe < '$WORK/relay.resp' >/dev/null"
done
echo "   export file: $(du -m "$WORK/relay.ndjson" | cut -f1) MB, rdb: $(du -m "$WORK/dump.rdb" | cut -f1) MB" >&2

# redis-dump-load 1.1 passes `charset=` to redis-py, which redis-py 4+ rejects:
# with a current redis-py it fails at once, so it runs with redis-py 3.5.
RDL=${RDL:-/tmp/rdl-venv-redis3}
if [ -z "${SKIP_RDL:-}" ]; then
  echo "== redis-dump-load (PyPI, with redis-py 3.5; one run)" >&2
  [ -x "$RDL/bin/redis-dump" ] || { python3 -m venv "$RDL" && "$RDL/bin/pip" install -q redis-dump-load 'redis<4'; }
  if timed rdl_dump "$RDL/bin/redis-dump" -p "$SRC" -o "$WORK/rdl.json" 2>"$WORK/rdl.err"; then
    redis-cli -p "$TGT" flushall >/dev/null
    timed rdl_load "$RDL/bin/redis-load" -p "$TGT" "$WORK/rdl.json" 2>>"$WORK/rdl.err" || true
    echo "   redis-load copied $(redis-cli -p "$TGT" dbsize) of $KEYS keys" >&2
  else
    echo "   redis-dump failed: $(tail -1 "$WORK/rdl.err")" >&2
    # With latin-1 every byte decodes, so it gets past non-UTF-8 values; it still cannot read streams.
    timed rdl_dump_latin1 "$RDL/bin/redis-dump" -p "$SRC" -E latin-1 -o "$WORK/rdl.json" 2>"$WORK/rdl.err" \
      || echo "   redis-dump -E latin-1 failed too: $(tail -1 "$WORK/rdl.err")" >&2
  fi
fi

if [ -z "${SKIP_BIGZSET:-}" ]; then
  echo "== 5M-member sorted set (memory)" >&2
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
  timed bigzset_export "$BIN/redis-export" --url "redis://127.0.0.1:$BIG/0" -o "$WORK/zset.ndjson" --quiet
  redis-cli -p "$BIG" flushall >/dev/null
  timed bigzset_import "$BIN/redis-import" --url "redis://127.0.0.1:$BIG/0" -i "$WORK/zset.ndjson" --quiet
  echo "   imported zset: $(redis-cli -p "$BIG" zcard big:zset) members" >&2
fi

rate() { awk -v k="$KEYS" -v w="$1" 'BEGIN { if (w == "n/a" || w == 0) print "n/a"; else printf "%d", k / w }'; }
mb() { awk -v r="$1" 'BEGIN { if (r == "n/a") print "n/a"; else printf "%.0f", r / 1024 }'; }
echo
echo "relay dataset, scale $SCALE: $KEYS keys; medians of $RUNS runs (wall s, keys/s, peak RSS MB)"
printf "%-34s %8s %10s %8s\n" "step" "wall_s" "keys/s" "rss_MB"
for l in export rdb rdl_dump rdl_dump_latin1 import pipe rdl_load bigzset_export bigzset_import; do
  w=$(median $l 2); [ "$w" = "n/a" ] && continue
  printf "%-34s %8s %10s %8s\n" "$l" "$w" "$(rate "$w")" "$(mb "$(median $l 3)")"
done
