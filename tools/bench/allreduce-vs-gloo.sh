#!/usr/bin/env bash
# Our ring all-reduce against PyTorch's gloo, side by side (docs/performance.md, "All-reduce over TCP").
# Runs PAIRS pairs of `bench allreduce` and tools/reference/gloo_allreduce.py with the same sizes, alternating which
# goes first (so neither always gets the quieter slot), then prints every pair's bus bandwidth and, per size, the
# median of ours / gloo. Each run checks its result exactly before timing; a run with #wrong > 0 fails the script.
# Usage: tools/bench/allreduce-vs-gloo.sh NPROC PAIRS SECONDS SIZE_MIB... [-- EXTRA bench allreduce ARGS]
#        (after dotnet build -c Release; gloo from tools/reference/setup.sh); DTYPE=bf16 (or both) for bfloat16,
#        which needs a torch whose gloo reduces bf16 (Debian's 1.13 refuses it: "Invalid scalar type")
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ $# -lt 4 ]]; then
  echo "usage: $0 NPROC PAIRS SECONDS SIZE_MIB... [-- EXTRA bench allreduce ARGS]" >&2
  exit 2
fi
nproc="$1" pairs="$2" seconds="$3" dtype="${DTYPE:-f32}"
shift 3
sizes=() extra=()
while [[ $# -gt 0 && $1 != -- ]]; do sizes+=("$1"); shift; done
[[ $# -gt 0 ]] && { shift; extra=("$@"); }
out="$(mktemp -d)"
ours() { dotnet "$repo/src/TinyLlama.Cli/bin/Release/net10.0/TinyLlama.Cli.dll" bench allreduce --nproc "$nproc" \
           --seconds "$seconds" --dtype "$dtype" --size "${sizes[@]}" "${extra[@]}" > "$out/ours.$1" 2>&1; }
gloo() { /usr/bin/python3 "$repo/tools/reference/gloo_allreduce.py" --nproc "$nproc" --seconds "$seconds" \
           --dtype "$dtype" --size "${sizes[@]}" > "$out/gloo.$1" 2>&1; }
for ((p = 1; p <= pairs; p++)); do
  load="$(cut -d' ' -f1 /proc/loadavg)"
  for run in $( ((p % 2)) && echo "ours gloo" || echo "gloo ours"); do
    "$run" "$p" || { echo "$run (pair $p) failed:" >&2; tail -5 "$out/$run.$p" >&2; exit 1; }
  done
  echo "pair $p at $(date -u +%H:%M:%S) UTC, load before $load" >> "$out/loads"
done
python3 - "$out" "$pairs" "$nproc" <<'PY'
import os, re, statistics, sys
out, pairs, nproc = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# size count type iters time algbw busbw cpu #wrong, as both programs print them (ours with a "[rank 0]" prefix)
row = re.compile(r"^(?:\[rank 0\]\s+)?(\d+)\s+\d+\s+(f32|bf16)\s+\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s*$")
def table(path):
    found = {}
    for line in open(path):
        m = row.match(line.strip())
        if m:
            if int(m.group(7)) != 0:
                sys.exit(f"{path}: {m.group(7)} wrong elements at {m.group(1)} bytes")
            found[(int(m.group(1)), m.group(2))] = (float(m.group(5)), float(m.group(6)))
    if not found:
        sys.exit(f"{path}: no result rows:\n" + open(path).read())
    return found
print(open(os.path.join(out, "loads")).read(), end="")
runs = [(table(f"{out}/ours.{p}"), table(f"{out}/gloo.{p}")) for p in range(1, pairs + 1)]
print(f"N = {nproc}: busbw GB/s, ours/gloo per pair; the median of the ratios ours / gloo (above 1: ours is faster)")
for key in sorted(runs[0][0]):
    ratios = [o[key][0] / g[key][0] for o, g in runs]
    cells = "  ".join(f"{o[key][0]:.3f}/{g[key][0]:.3f}" for o, g in runs)
    print(f"{key[0] / 2**20:>9.4g} MiB {key[1]:>4}  {cells}  median {statistics.median(ratios):.2f}x")
print(f"N = {nproc}: CPU time of all ranks per all-reduce (ms), ours/gloo per pair; the median of gloo / ours (above 1: ours uses less)")
for key in sorted(runs[0][0]):
    ratios = [g[key][1] / o[key][1] for o, g in runs]
    cells = "  ".join(f"{o[key][1] / 1e3:.1f}/{g[key][1] / 1e3:.1f}" for o, g in runs)
    print(f"{key[0] / 2**20:>9.4g} MiB {key[1]:>4}  {cells}  median {statistics.median(ratios):.2f}x")
PY
