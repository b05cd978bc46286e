#!/usr/bin/env bash
# Scaling of data-parallel training on one machine (docs/data-parallel.md, "Scaling"): the tiny preset, micro-batch 8
# per process, 30 steps, N = 1, 2, 4 processes through `launch`; prints the median global tokens/s of steps 6–30.
# Usage: tools/bench/data-parallel-scaling.sh [OUTDIR]   (after dotnet build -c Release)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cli=(dotnet "$repo/src/TinyLlama.Cli/bin/Release/net10.0/TinyLlama.Cli.dll")
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
# The tokenizer and the packed data are made once, so every run trains on the same files and none pays for them.
"${cli[@]}" train --preset tiny --max-steps 1 --samples 0 --out "$out/prepared" > "$out/prepared.log" 2>&1
common=(train --preset tiny --micro-batch-size 8 --max-steps 30 --eval-every 1000 --checkpoint-every 1000 --samples 0
        --tokenizer "$out/prepared/tokenizer.json" --data "$out/prepared/data")
for n in 1 2 4; do
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  if [[ $n == 1 ]]; then
    "${cli[@]}" "${common[@]}" --batch-size 8 --out "$out/n1" > "$out/n1.log" 2>&1
  else
    "${cli[@]}" launch --nproc "$n" -- "${common[@]}" --batch-size $((8 * n)) --out "$out/n$n" > "$out/n$n.log" 2>&1
  fi
  python3 - "$out/n$n/metrics.jsonl" "$n" "$load" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
steps = [r for r in rows if "loss" in r and 6 <= r["step"] <= 30]
print(f"N={sys.argv[2]}: {statistics.median(r['tokens_per_s'] for r in steps):,.0f} tokens/s (load before: {sys.argv[3]})")
PY
done
