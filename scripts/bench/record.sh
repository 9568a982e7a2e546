#!/usr/bin/env bash
# Benchmark of the record format (decant-record): on a generated ~1 GB NDJSON
# stream of mixed table rows and Redis keys, measures in one run
#   pass-through  read + validate every line + rewrite it (re-sealed)   shared/examples/passthrough.rs
#   digest        content digests per table / key group                 shared/examples/digest.rs
# each with THREADS worker threads (default: one per core, as decant-checksum) and in one
# thread (`-j 1`, the CPU cost of the format itself),
#   jq            `jq -c . FILE > /dev/null`, the peer baseline (on a prefix of the file)
# and prints MB/s (wall clock and CPU time), ratios to jq and peak RSS, medians of RUNS runs.
#
#   scripts/bench.sh record                      # 1024 MB, 3 runs, jq on a 200 MB prefix
#   SIZE_MB=256 RUNS=5 JQ_MB=64 THREADS=2 scripts/bench.sh record
#   KEEP=1 BENCH_DIR=/tmp/b scripts/bench.sh record   # keep the generated file for the next run
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init record "${BENCH_DIR:-}" "${KEEP:-}" # KEEP=1: leave BENCH_DIR in place
BENCH_DIR=$WORK

SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
JQ_MB=${JQ_MB:-200}
THREADS=${THREADS:-$(nproc)}

command -v jq >/dev/null || { echo "record.sh: jq is not installed (apt-get install -y jq)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "record.sh: /usr/bin/time is missing (apt-get install -y time)" >&2; exit 2; }

echo "== building (release)" >&2
cargo build --release --quiet -p decant-record --examples
bin="$BIN/examples"

data="$BENCH_DIR/stream-$SIZE_MB.ndjson"
if [ ! -s "$data" ]; then
  echo "== generating $SIZE_MB MB stream: $data" >&2
  "$bin/gen_stream" "$SIZE_MB" "$data"
fi
prefix="$BENCH_DIR/prefix-$JQ_MB.ndjson"
if [ ! -s "$prefix" ]; then
  # Whole lines only: cut at the last newline of the first JQ_MB megabytes.
  head -c "$((JQ_MB << 20))" "$data" | head -n -1 >"$prefix"
fi

results="$BENCH_DIR/results.tsv"
: >"$results"
measure() { # name file command... (the file goes after the command's arguments)
  local name=$1 file=$2
  shift 2
  local size
  size=$(stat -c %s "$file")
  for run in $(seq "$RUNS"); do
    # %e wall seconds, %U user, %S system, %M peak RSS KB
    /usr/bin/time -f "%e %U %S %M" -o "$BENCH_DIR/time" "$@" "$file" >/dev/null 2>"$BENCH_DIR/stderr" || {
      echo "record.sh: $name failed:" >&2
      cat "$BENCH_DIR/stderr" >&2
      exit 2
    }
    echo -e "$name\t$size\t$(cat "$BENCH_DIR/time" | tr ' ' '\t')" >>"$results"
    echo "   $name run $run: $(cat "$BENCH_DIR/time")" >&2
  done
}

echo "== measuring (medians of $RUNS runs, $THREADS worker threads; load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
measure passthrough "$data" "$bin/passthrough" -j "$THREADS"
measure passthrough-1-thread "$data" "$bin/passthrough" -j 1
measure digest "$data" "$bin/digest" -j "$THREADS"
measure digest-1-thread "$data" "$bin/digest" -j 1
measure jq "$prefix" jq -c .
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$results" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for name, size, wall, user, sys_, rss in rows:
    by.setdefault(name, []).append((int(size), float(wall), float(user) + float(sys_), int(rss)))
mb = lambda b: b / (1 << 20)
stats = {}
for name, runs in by.items():
    size = runs[0][0]
    wall = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    stats[name] = (size, mb(size) / wall, mb(size) / cpu, max(r[3] for r in runs) / 1024)
    print(f"{name} runs (wall s / CPU s): " + ", ".join(f"{r[1]:.1f}/{r[2]:.1f}" for r in runs), file=sys.stderr)
jq_wall, jq_cpu = stats["jq"][1], stats["jq"][2]
print(f"| stage | input | MB/s (wall) | MB/s (CPU) | × jq (wall) | × jq (CPU) | peak RSS |")
print(f"|---|---|---|---|---|---|---|")
for name in ("passthrough", "passthrough-1-thread", "digest", "digest-1-thread", "jq"):
    size, w, c, rss = stats[name]
    print(f"| {name} | {mb(size):.0f} MB | {w:.1f} | {c:.1f} | {w / jq_wall:.1f} | {c / jq_cpu:.1f} | {rss:.1f} MB |")
EOF
