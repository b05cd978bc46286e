#!/usr/bin/env bash
# Every GPU check and benchmark of TinyLlama.Managed on a GPU host, with everything written under $OUT
# (default ./gpu-out): one log per stage and summary.txt (stage, exit code, seconds).
#
# Before, on a machine with the .NET SDK, from the repository root (pack.sh: ../shared/gpu-host/pack.sh):
#   ../shared/gpu-host/pack.sh src/TinyLlama.Cli/TinyLlama.Cli.csproj .gpu-host/cli
#   ../shared/gpu-host/pack.sh benchmarks/TinyLlama.Benchmarks/TinyLlama.Benchmarks.csproj .gpu-host/bench
# Then on the GPU host, from the repository root:
#   tools/gpu/run-all.sh                    # every stage, in order (about 10-12 minutes on an H100)
#   tools/gpu/run-all.sh info selftest smoke
#   tools/gpu/run-all.sh bench-memory       # one stage at a time fits a 10-minute limit per command
#   tools/gpu/run-all.sh bench-matmul sdpa
#
# Stages:
#   info          nvidia-smi, the driver and the device as ILGPU sees it
#   selftest      selftest --device cuda: every GPU kernel against the CPU kernels at realistic sizes (exit 1 on a mismatch)
#   smoke         each GPU benchmark class validated once at tiny sizes on the real GPU (seconds; guards the long runs)
#   bench-memory  memory-bound kernels vs a device-to-device copy (GB/s, % of copy): RMSNorm, RoPE, SwiGLU, AdamW,
#                 cross-entropy, softmax, embedding, reductions
#   bench-matmul  GEMM vs cuBLAS (TFLOP/s, % of cuBLAS) and FlashAttention forward/backward (TFLOP/s)
#   sdpa          tools/reference/sdpa_bench.py: PyTorch SDPA at the FlashAttention benchmark's shape (needs torch with CUDA)
#
# The xunit GPU tests (GemmGpuCudaTests, FlashAttentionCudaTests) need `dotnet test` and so the SDK, which the GPU
# host does not have; the selftest stage covers the same kernels (GEMM: four transposes, both pipelines, bf16 C, SIMT;
# FlashAttention forward and backward, f32 and bf16) at larger sizes. Where the host has an SDK, run them with
#   dotnet test tests/TinyLlama.Kernels.Tests -c Release --filter 'FullyQualifiedName~CudaTests'
# Environment: OUT (output folder), CLI (default .gpu-host/cli), BENCH (default .gpu-host/bench), PYTHON (python3),
# TINYLLAMA_BENCH_DEVICE (default cuda), TINYLLAMA_CUBLAS (a libcublas path, when it is not found by itself).
set -uo pipefail

OUT=${OUT:-./gpu-out}
CLI=${CLI:-.gpu-host/cli}
BENCH=${BENCH:-.gpu-host/bench}
PYTHON=${PYTHON:-python3}
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

stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(info selftest smoke bench-memory bench-matmul sdpa)

for stage in "${stages[@]}"; do # every name is checked before anything runs
  case $stage in
    info | selftest | smoke | bench-memory | bench-matmul | sdpa) ;;
    *) echo "unknown stage '$stage': expected info, selftest, smoke, bench-memory, bench-matmul or sdpa" >&2; exit 2 ;;
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
  esac
done

echo "results in $OUT (summary.txt, one .log per stage, BenchmarkDotNet reports under bench-*/results)"
exit $failed
