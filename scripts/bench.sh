#!/usr/bin/env bash
# decant benchmarks (release build, datasets generated on the fly).
#   scripts/bench.sh            # the record format: pass-through and digest vs jq
#   scripts/bench.sh NAME ...   # scripts/bench/NAME.sh (redis, sql, transform, proof, shard)
# Figures go to BENCHMARKS.md by hand: this machine is noisy, so every figure
# is a median of several runs, and a benchmark is never a test.
set -euo pipefail
cd "$(dirname "$0")/.."
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(record)
for name in "${names[@]}"; do
  script="scripts/bench/$name.sh"
  if [ "$name" = lib ] || [ ! -f "$script" ]; then # lib.sh: helpers, sourced by the others
    echo "bench.sh: no benchmark named $name (have: $(ls scripts/bench/*.sh | sed 's|.*/||; s/\.sh$//' | grep -vx lib | tr '\n' ' '))" >&2
    exit 2
  fi
  bash "$script"
done
