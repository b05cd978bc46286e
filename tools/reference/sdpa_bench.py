#!/usr/bin/python3
"""PyTorch side of the FlashAttention benchmark (docs/flash-attention.md): times the forward and the
backward of torch.nn.functional.scaled_dot_product_attention, causal, bf16, on CUDA, at the shape the C#
kernels are measured at (default B=8, H=32, KvH=4, T=2048, Hs=64: TinyLlama's attention).

Grouped-query attention: with torch >= 2.5, SDPA takes enable_gqa=True and reads each kv head for its
H/KvH query heads. Older torch has no such flag; then k and v are expanded with repeat_interleave inside
the timed region (that copy is what such a user pays) and the output says so.

FLOP counts follow FlashAttention-2's benchmark: forward 4·B·H·T²·Hs, halved for causal; backward 2.5×
forward (five T×T×Hs products instead of two).

Usage:
    /usr/bin/python3 tools/reference/sdpa_bench.py                      # on a CUDA machine
    /usr/bin/python3 tools/reference/sdpa_bench.py --seq 4096 --iters 20
    /usr/bin/python3 tools/reference/sdpa_bench.py --cpu-smoke          # no GPU: check the script's math at a tiny size

Without CUDA it prints why and exits 0; --cpu-smoke then runs a tiny float32 forward and backward on the
CPU and compares them with plain softmax attention (no timing: a CPU figure is not the comparator).
"""

import argparse
import sys

import torch
import torch.nn.functional as F


def has_sdpa():
    return hasattr(F, "scaled_dot_product_attention")


def sdpa_supports_gqa():
    if not has_sdpa():
        return False
    try:
        q = torch.zeros(1, 2, 1, 4)
        kv = torch.zeros(1, 1, 1, 4)
        F.scaled_dot_product_attention(q, kv, kv, is_causal=True, enable_gqa=True)
        return True
    except TypeError:
        return False


def naive_attention(q, k, v, scale):
    """Causal softmax attention written out: the definition the C# reference also follows."""
    t = q.shape[-2]
    s = (q @ k.transpose(-2, -1)) * scale
    mask = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
    s = s.masked_fill(mask, float("-inf"))
    stats = torch.float32 if q.dtype in (torch.bfloat16, torch.float16) else q.dtype  # f32 statistics for half types
    return torch.softmax(s.to(stats), dim=-1).to(q.dtype) @ v


def attention(q, k, v, group, gqa):
    """Causal attention with kv heads shared by `group` query heads; SDPA where torch has it."""
    scale = q.shape[-1] ** -0.5
    if gqa:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    if group > 1:
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
    if has_sdpa():
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return naive_attention(q, k, v, scale)


def inputs(b, h, kvh, t, hs, dtype, device, seed=0):
    g = torch.Generator(device="cpu").manual_seed(seed)
    make = lambda heads: torch.randn(b, heads, t, hs, generator=g).to(device=device, dtype=dtype).requires_grad_()
    q, k, v = make(h), make(kvh), make(kvh)
    dout = torch.randn(b, h, t, hs, generator=g).to(device=device, dtype=dtype)
    return q, k, v, dout


def cpu_smoke():
    b, h, kvh, t, hs = 1, 4, 2, 7, 8
    q, k, v, dout = inputs(b, h, kvh, t, hs, torch.float32, "cpu", seed=1)
    gqa = sdpa_supports_gqa()
    out = attention(q, k, v, h // kvh, gqa)
    out.backward(dout)
    got = [out.detach(), q.grad, k.grad, v.grad]

    q2, k2, v2 = (x.detach().double().requires_grad_() for x in (q, k, v))
    ref = naive_attention(q2, k2.repeat_interleave(h // kvh, dim=1), v2.repeat_interleave(h // kvh, dim=1), hs ** -0.5)
    ref.backward(dout.double())
    want = [ref.detach(), q2.grad, k2.grad, v2.grad]
    worst = max((a.double() - e).abs().max().item() for a, e in zip(got, want))
    path = "sdpa(enable_gqa)" if gqa else ("sdpa + repeat_interleave" if has_sdpa() else "naive + repeat_interleave")
    print(f"cpu smoke test: torch {torch.__version__}, path {path}, max |error| vs float64 = {worst:.2e}")
    if not worst < 1e-4:
        print("cpu smoke test FAILED")
        return 1
    print("cpu smoke test passed")
    return 0


def bench(args):
    device = torch.device("cuda")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    b, h, kvh, t, hs = args.batch, args.heads, args.kv_heads, args.seq, args.head_size
    if h % kvh:
        sys.exit(f"--heads ({h}) must be a multiple of --kv-heads ({kvh})")
    gqa = sdpa_supports_gqa()
    if not has_sdpa():
        sys.exit(f"torch {torch.__version__} has no scaled_dot_product_attention (needs torch >= 2.0)")
    q, k, v, dout = inputs(b, h, kvh, t, hs, dtype, device)

    def forward():
        return attention(q, k, v, h // kvh, gqa)

    def time_ms(fn, iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(args.warmup):
            fn()
        torch.cuda.synchronize()
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / iters

    def fwd_only():
        with torch.no_grad():
            forward()

    def fwd_bwd():
        q.grad = k.grad = v.grad = None
        forward().backward(dout)

    fwd_ms = time_ms(fwd_only, args.iters)
    fwd_bwd_ms = time_ms(fwd_bwd, args.iters)
    # The backward alone is the difference; the forward inside fwd_bwd saves what backward needs (lse), which
    # the no-grad forward may skip, so the difference is an estimate, as in FlashAttention's own benchmark.
    bwd_ms = fwd_bwd_ms - fwd_ms

    fwd_flops = 4.0 * b * h * t * t * hs / 2  # causal: half the score matrix
    bwd_flops = 2.5 * fwd_flops
    props = torch.cuda.get_device_properties(device)
    path = "sdpa(enable_gqa=True)" if gqa else f"sdpa with k, v repeat_interleave x{h // kvh} (inside the timed region)"
    print(f"device   : {props.name}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    print(f"shape    : B={b} H={h} KvH={kvh} T={t} Hs={hs} {args.dtype} causal; path {path}")
    flash = getattr(torch.backends.cuda, "flash_sdp_enabled", lambda: None)()
    print(f"backends : flash_sdp_enabled={flash}")
    print(f"forward  : {fwd_ms:8.3f} ms  {fwd_flops / fwd_ms / 1e9:8.1f} TFLOP/s")
    print(f"backward : {bwd_ms:8.3f} ms  {bwd_flops / bwd_ms / 1e9:8.1f} TFLOP/s  (fwd+bwd {fwd_bwd_ms:.3f} ms minus fwd)")
    print(f"fwd+bwd  : {fwd_bwd_ms:8.3f} ms  {(fwd_flops + bwd_flops) / fwd_bwd_ms / 1e9:8.1f} TFLOP/s")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=4)
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--head-size", type=int, default=64)
    p.add_argument("--dtype", choices=["bf16", "fp16"], default="bf16")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--cpu-smoke", action="store_true", help="without CUDA, check the script's attention at a tiny size on the CPU")
    args = p.parse_args()

    if not torch.cuda.is_available():
        print(f"no CUDA device (torch {torch.__version__}): nothing to time; run this on the GPU machine")
        return cpu_smoke() if args.cpu_smoke else 0
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
