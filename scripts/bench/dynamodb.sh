# DynamoDB: 100k items imported into and exported from dynalite (a DynamoDB
# implementation on Node.js, started here in memory on a free port) by decant
# and by the peers a user would pick, in the same run:
#   - dynamodump (PyPI) backup (Scan) and restore (BatchWriteItem);
#   - aws dynamodb scan (PyPI awscli), export only.
# dynalite is single-threaded Node: it is the ceiling here, so decant's own
# client CPU (user+sys) per item is reported too.
#   scripts/bench.sh dynamodb            # ITEMS=100000 RUNS=3
# Needs: node + .npm-tools/node_modules/dynalite (scripts/test.sh installs it),
# .venv/bin/dynamodump and .venv/bin/aws (pip install dynamodump awscli).
# shellcheck shell=bash
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_init dynamodb
ITEMS=${ITEMS:-100000}
RUNS=${RUNS:-3}
DYNALITE=${DECANT_DYNALITE:-$ROOT/.npm-tools/node_modules/dynalite/cli.js}
[ -f "$DYNALITE" ] || { echo "bench/dynamodb: dynalite missing (run scripts/test.sh, or npm install --prefix .npm-tools dynalite@4)" >&2; exit 2; }
[ -x "$ROOT/.venv/bin/dynamodump" ] && [ -x "$ROOT/.venv/bin/aws" ] ||
  { echo "bench/dynamodb: .venv/bin/dynamodump or aws missing (.venv/bin/pip install dynamodump awscli)" >&2; exit 2; }

cargo build --release -q -p decant-export --bin dynamodb-export -p decant-import --bin dynamodb-import

PORT=$(free_port)
node "$DYNALITE" --host 127.0.0.1 --port "$PORT" --createTableMs 0 --deleteTableMs 0 >"$WORK/dynalite.log" 2>&1 &
DYNALITE_PID=$!
BENCH_PIDS+=("$DYNALITE_PID")
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
URL="dynamodb://us-east-1?endpoint=http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=

# ITEMS items of about 200 bytes: a string key, numbers, text, a bool, a list, a map, a set.
python3 - "$ITEMS" >"$WORK/items.ndjson" <<'EOF'
import json, sys
n = int(sys.argv[1])
out = sys.stdout
out.write(json.dumps({"kind": "schema", "table": "bench", "columns": [{"name": "pk", "type": "string"}], "primary_key": ["pk"]}) + "\n")
for i in range(n):
    d = {"pk": f"user#{i:08d}", "n": i, "price": {"$n": f"{i % 1000}.{i % 100:02d}"}, "name": f"name {i} " + "x" * (i % 40),
         "active": i % 3 == 0, "tags": {"$ss": ["a", f"t{i % 7}"]}, "hist": [i, i + 1, "z"], "addr": {"city": "Lyon", "zip": f"{69000 + i % 10}"}}
    out.write(json.dumps({"kind": "row", "table": "bench", "data": d}, separators=(",", ":")) + "\n")
EOF

# dynalite_cpu: the CPU seconds (user+sys) dynalite has used so far.
dynalite_cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$DYNALITE_PID/stat"; }
# time_of CMD...: runs CMD, prints "wall user sys server" (seconds; server:
# dynalite's CPU during the run, so a server-bound step shows as server ≈ wall).
time_of() {
  local before
  before=$(dynalite_cpu)
  /usr/bin/time -o "$WORK/t" -f '%e %U %S' "$@" >/dev/null 2>"$WORK/err" ||
    { echo "bench/dynamodb: $* failed:" >&2; tail -5 "$WORK/err" >&2; exit 1; }
  echo "$(cat "$WORK/t") $(awk -v a="$before" -v b="$(dynalite_cpu)" 'BEGIN {print b - a}')"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
drop() { curl -s -o /dev/null -X POST "http://127.0.0.1:$PORT/" -H 'X-Amz-Target: DynamoDB_20120810.DeleteTable' \
  -H 'Content-Type: application/x-amz-json-1.0' -H "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00" \
  -H 'X-Amz-Date: 20260101T000000Z' -d "{\"TableName\":\"$1\"}" || true; sleep 0.3; }

declare -A RESULTS
# A failed measurement (time_of exits only its $(…) subshell) stops the run:
# a table of zeros is no result.
record() {
  [ -n "$2" ] || { echo "bench/dynamodb: no figure for $1: stopping" >&2; exit 1; }
  RESULTS[$1]+="$2"$'\n'
}

echo "bench/dynamodb: $ITEMS items, $RUNS runs, dynalite on 127.0.0.1:$PORT, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
  drop bench
  record "decant import (replace, 16 in flight)" "$(time_of "$BIN/dynamodb-import" --url "$URL" --create-tables --mode replace --quiet -i "$WORK/items.ndjson")"
  record "decant export (4 segments)" "$(time_of "$BIN/dynamodb-export" --url "$URL" --tables bench --quiet -o "$WORK/out.ndjson")"
  [ "$(grep -c '"kind":"row"' "$WORK/out.ndjson")" = "$ITEMS" ] || { echo "bench/dynamodb: decant exported the wrong count" >&2; exit 1; }
  rm -rf "$WORK/dump"
  record "dynamodump backup" "$(time_of "$ROOT/.venv/bin/dynamodump" -m backup -r us-east-1 --host 127.0.0.1 --port "$PORT" --accessKey bench --secretKey bench-secret -s bench --dumpPath "$WORK/dump" --log ERROR)"
  drop bench_restored
  record "dynamodump restore" "$(time_of "$ROOT/.venv/bin/dynamodump" -m restore -r us-east-1 --host 127.0.0.1 --port "$PORT" --accessKey bench --secretKey bench-secret -s bench -d bench_restored --dumpPath "$WORK/dump" --billingMode PAY_PER_REQUEST --skipThroughputUpdate --noConfirm --log ERROR)"
  record "aws dynamodb scan" "$(time_of "$ROOT/.venv/bin/aws" dynamodb scan --table-name bench --endpoint-url "http://127.0.0.1:$PORT" --output json)"
  drop bench_decant_skip
  sed -E 's/"table": ?"bench"/"table":"bench_decant_skip"/' "$WORK/items.ndjson" >"$WORK/items-skip.ndjson"
  record "decant import (skip-existing, conditional puts)" "$(time_of "$BIN/dynamodb-import" --url "$URL" --create-tables --quiet -i "$WORK/items-skip.ndjson")"
done

printf '%-48s %10s %10s %12s %14s %16s\n' tool "wall s" "items/s" "CPU s (u+s)" "CPU us/item" "dynalite CPU s"
for name in "decant import (replace, 16 in flight)" "decant import (skip-existing, conditional puts)" "dynamodump restore" \
  "decant export (4 segments)" "dynamodump backup" "aws dynamodb scan"; do
  wall=$(printf '%s' "${RESULTS[$name]}" | awk 'NF {print $1}' | median)
  cpu=$(printf '%s' "${RESULTS[$name]}" | awk 'NF {print $2 + $3}' | median)
  server=$(printf '%s' "${RESULTS[$name]}" | awk 'NF {print $4}' | median)
  printf '%-48s %10.1f %10.0f %12.2f %14.1f %16.2f\n' "$name" "$wall" "$(echo "$ITEMS / $wall" | bc -l)" "$cpu" \
    "$(echo "$cpu * 1000000 / $ITEMS" | bc -l)" "$server"
done
echo "bench/dynamodb: load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
