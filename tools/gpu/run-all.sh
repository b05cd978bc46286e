#!/usr/bin/env bash
# Every GPU check and benchmark of TinyLlama.Managed on a GPU host, with everything written under $OUT
# (default ./gpu-out): one log per stage and summary.txt (stage, exit code, seconds).
#
# Before, on a machine with the .NET SDK, from the repository root (pack.sh: ../shared/gpu-host/pack.sh):
#   ../shared/gpu-host/pack.sh src/TinyLlama.Cli/TinyLlama.Cli.csproj .gpu-host/cli
#   ../shared/gpu-host/pack.sh benchmarks/TinyLlama.Benchmarks/TinyLlama.Benchmarks.csproj .gpu-host/bench
# Then on the GPU host, from the repository root:
#   tools/gpu/run-all.sh                    # every stage, in order (about 15-20 minutes on an H100)
#   tools/gpu/run-all.sh info selftest smoke
#   tools/gpu/run-all.sh bench-memory       # one stage at a time fits a 10-minute limit per command
#   tools/gpu/run-all.sh bench-matmul sdpa
#   tools/gpu/run-all.sh train-curve train-bench
#
# Stages:
#   info          nvidia-smi, the driver and the device as ILGPU sees it
#   selftest      selftest --device cuda: every GPU kernel against the CPU kernels at realistic sizes (exit 1 on a mismatch)
#   smoke         each GPU benchmark class validated once at tiny sizes on the real GPU (seconds; guards the long runs)
#   bench-memory  memory-bound kernels vs a device-to-device copy (GB/s, % of copy): RMSNorm, RoPE, SwiGLU, AdamW,
#                 cross-entropy, softmax, embedding, reductions
#   bench-matmul  GEMM vs cuBLAS (TFLOP/s, % of cuBLAS) and FlashAttention forward/backward (TFLOP/s)
#   sdpa          tools/reference/sdpa_bench.py: PyTorch SDPA at the FlashAttention benchmark's shape (needs torch with CUDA)
#   train-curve   `train --preset nano` for 200 steps, seed 1, on cuda (--precision bf16) and on cpu (f32, the reference);
#                 both metrics.jsonl under $OUT/train-curve/{cuda,cpu}; fails if a step's losses differ by more than 0.15
#   train-bench   `bench train --preset tinyllama-1.1b --device cuda` (bf16) at batch 8 x 2048, then
#                 tools/reference/hf_train_step.py (PyTorch: Hugging Face LlamaForCausalLM, SDPA, fused AdamW) at the
#                 same shape: tokens/s, MFU (nanoGPT's estimate_mfu) and peak memory of each
#
# The xunit GPU tests (GemmGpuCudaTests, FlashAttentionCudaTests) need `dotnet test` and so the SDK, which the GPU
# host does not have; the selftest stage covers the same kernels (GEMM: four transposes, both pipelines, bf16 C, SIMT;
# FlashAttention forward and backward, f32 and bf16) at larger sizes. Where the host has an SDK, run them with
#   dotnet test tests/TinyLlama.Kernels.Tests -c Release --filter 'FullyQualifiedName~CudaTests'
# Environment: OUT (output folder), CLI (default .gpu-host/cli), BENCH (default .gpu-host/bench), PYTHON (python3),
# TINYLLAMA_BENCH_DEVICE (default cuda), TINYLLAMA_CUBLAS (a libcublas path, when it is not found by itself),
# TRAIN_BENCH_BATCH (train-bench's batch size, default 8: lower it if a side runs out of memory).
set -uo pipefail

OUT=${OUT:-./gpu-out}
CLI=${CLI:-.gpu-host/cli}
BENCH=${BENCH:-.gpu-host/bench}
PYTHON=${PYTHON:-python3}
TRAIN_BENCH_BATCH=${TRAIN_BENCH_BATCH:-8}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
failed=0

# step NAME TIMEOUT_S COMMAND...: runs it with a time limit, output to $OUT/NAME.log (and the terminal).
step() {
  local name=$1 limit=$2; shift 2
  echo "== $name ($(date -u +%FT%TZ)): $*" | tee -a "$OUT/summary.txt"
  local start=$SECONDS
  timeout --signal=INT --kill-after=30 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]} note=""
  [[ $rc -eq 124 ]] && note=" (timed out at $limit s)"
  echo "   $name: exit $rc after $((SECONDS - start)) s$note" | tee -a "$OUT/summary.txt"
  [[ $rc -eq 0 ]] || failed=1
}

need() {
  [[ -x "$1/run.sh" ]] || { echo "missing $1/run.sh: pack it first (see the top of $0)" | tee -a "$OUT/summary.txt"; failed=1; return 1; }
}

memory_filters=('*Gpu.RmsNormGpu*' '*Gpu.RopeGpu*' '*Gpu.SwiGluGpu*' '*Gpu.AdamWGpu*' '*Gpu.CrossEntropyGpu*'
                '*Gpu.SoftmaxGpu*' '*Gpu.EmbeddingGpu*' '*Gpu.ReduceGpu*')
matmul_filters=('*Gpu.GemmGpu*' '*Gpu.FlashAttentionGpu*')

# train-curve: the same run on both devices; only the device and the precision differ.
curve_args=(train --preset nano --max-steps 200 --seed 1 --samples 0)
# Compares two metrics.jsonl step by step (training lines only; validation lines have no "loss").
# bf16 activations against f32 drift apart by a few hundredths; a wrong gradient or update shows as far more.
read -r -d '' curve_compare <<'PY'
import json, math, sys
def losses(path):
    try:
        with open(path) as f:
            return {r["step"]: r["loss"] for r in map(json.loads, f) if "loss" in r}
    except FileNotFoundError:
        sys.exit(f"train-curve: {path} is missing: see that run's log")
cuda, cpu = losses(sys.argv[1]), losses(sys.argv[2])
if not cuda or set(cuda) != set(cpu):
    sys.exit(f"train-curve: the runs logged different steps (cuda {len(cuda)}, cpu {len(cpu)})")
worst = 0.0
for step in sorted(cuda):
    a, b = cuda[step], cpu[step]
    if not (math.isfinite(a) and math.isfinite(b)):
        sys.exit(f"train-curve: step {step} has loss {a} on cuda, {b} on cpu")
    worst = max(worst, abs(a - b))
    print(f"step {step:4d}: cuda {a:.4f}  cpu {b:.4f}  difference {a - b:+.4f}")
print(f"largest difference {worst:.4f} (limit 0.15)")
sys.exit(1 if worst > 0.15 else 0)
PY

stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(info selftest smoke bench-memory bench-matmul sdpa train-curve train-bench)

for stage in "${stages[@]}"; do # every name is checked before anything runs
  case $stage in
    info | selftest | smoke | bench-memory | bench-matmul | sdpa | train-curve | train-bench) ;;
    *) echo "unknown stage '$stage': expected info, selftest, smoke, bench-memory, bench-matmul, sdpa, train-curve or train-bench" >&2; exit 2 ;;
  esac
done

for stage in "${stages[@]}"; do
  case $stage in
    info)
      step nvidia-smi 60 nvidia-smi
      step nvidia-smi-query 60 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit --format=csv
      ;;
    selftest)
      need "$CLI" && step selftest 420 "$CLI/run.sh" TinyLlama.Cli.dll selftest --device cuda
      ;;
    smoke)
      need "$BENCH" && step bench-smoke 180 "$BENCH/run.sh" TinyLlama.Benchmarks.dll --smoke cuda
      ;;
    bench-memory)
      need "$BENCH" && step bench-memory 570 "$BENCH/run.sh" TinyLlama.Benchmarks.dll \
        --filter "${memory_filters[@]}" --inProcess --artifacts "$OUT/bench-memory"
      ;;
    bench-matmul)
      need "$BENCH" && step bench-matmul 570 "$BENCH/run.sh" TinyLlama.Benchmarks.dll \
        --filter "${matmul_filters[@]}" --inProcess --artifacts "$OUT/bench-matmul"
      ;;
    sdpa)
      step sdpa 300 "$PYTHON" tools/reference/sdpa_bench.py
      ;;
    train-curve)
      if need "$CLI"; then
        rm -rf "$OUT/train-curve" # train refuses to start over an earlier run's folder
        mkdir -p "$OUT/train-curve" && printf '%s\n' "$curve_compare" > "$OUT/train-curve/compare.py"
        step train-curve-cuda 570 "$CLI/run.sh" TinyLlama.Cli.dll "${curve_args[@]}" --device cuda --precision bf16 --out "$OUT/train-curve/cuda"
        step train-curve-cpu 570 "$CLI/run.sh" TinyLlama.Cli.dll "${curve_args[@]}" --device cpu --out "$OUT/train-curve/cpu"
        step train-curve-compare 60 "$PYTHON" "$OUT/train-curve/compare.py" "$OUT/train-curve/cuda/metrics.jsonl" "$OUT/train-curve/cpu/metrics.jsonl"
      fi
      ;;
    train-bench)
      need "$CLI" && step train-bench 570 "$CLI/run.sh" TinyLlama.Cli.dll bench train --preset tinyllama-1.1b --device cuda \
        --batch-size "$TRAIN_BENCH_BATCH" --seq-len 2048 --steps 10 --warmup 2
      step train-bench-torch 570 "$PYTHON" tools/reference/hf_train_step.py --preset tinyllama-1.1b --batch "$TRAIN_BENCH_BATCH" \
        --seq 2048 --steps 10 --warmup 2 --dtype bf16 --sdpa
      ;;
  esac
done

echo "results in $OUT (summary.txt, one .log per stage, BenchmarkDotNet reports under bench-*/results)"
exit $failed
