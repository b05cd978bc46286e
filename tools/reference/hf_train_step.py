#!/usr/bin/python3
"""Training-step throughput of a Llama-2 in PyTorch on a CUDA GPU: the comparator for `bench train --device cuda`.

The same measurement as the C# benchmark: a preset's shape, random tokens, one step = upload the batch, forward,
mean cross-entropy (f32), backward, clip_grad_norm_(1.0), AdamW(lr 4e-4, betas (0.9, 0.95), eps 1e-8,
weight_decay 0.1 on every parameter), zero_grad; timed with the device synchronised at both ends.

The model is Hugging Face's `transformers.LlamaForCausalLM` when `transformers` imports (attn_implementation "sdpa"
with --sdpa, the default, else "eager"), otherwise the compact plain-PyTorch Llama-2 of train_reference.py beside
this file (same architecture; its attention is F.scaled_dot_product_attention with --sdpa, else the written-out
masked softmax). The first lines printed say which ran. --model hf|plain forces one.

--dtype bf16 (default) is mixed precision as in our trainer: f32 master weights and optimizer, the forward under
torch.autocast(bfloat16), the loss in f32. --dtype f32 runs without autocast (TF32 left at PyTorch's default, off for
matmuls). AdamW is fused=True where this torch has it (else foreach), and says so.

Printed: each step's time and loss, the median step, `tokens/s: X` (B·T over the median step), `mfu: Y%` and the
FLOPs per token (nanoGPT's estimate_mfu, as `bench train`: 6·N + 12·L·H·Hs·T per token, N = the parameters used in
matmuls, i.e. all but the input embedding table; the causal mask is not halved), and
`peak memory: Z GiB` (torch.cuda.max_memory_allocated: model, optimizer state, gradients and activations).
Every loss must be finite, and the first near ln V (random tokens at initialisation); otherwise it exits 1.

Usage (on a CUDA machine; without CUDA it exits 1 saying so):
    python3 tools/reference/hf_train_step.py --preset tinyllama-1.1b --batch 8 --seq 2048 --steps 10 --warmup 3
    python3 tools/reference/hf_train_step.py --preset small --compile
"""

import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

# The shapes of src/TinyLlama.Model/Config/LlamaPresets.cs (rms_norm_eps 1e-5, rope_theta 10000, untied lm_head).
PRESETS = {
    "nano": dict(vocab=512, hidden=64, layers=2, heads=4, kv_heads=2, intermediate=176, max_seq=128),
    "tiny": dict(vocab=4096, hidden=256, layers=4, heads=8, kv_heads=4, intermediate=688, max_seq=256),
    "small": dict(vocab=32000, hidden=768, layers=12, heads=12, kv_heads=4, intermediate=2048, max_seq=1024),
    "tinyllama-1.1b": dict(vocab=32000, hidden=2048, layers=22, heads=32, kv_heads=4, intermediate=5632, max_seq=2048),
}
EPS, THETA = 1e-5, 10000.0
H100_SXM_BF16_PEAK_TFLOPS = 989.0


def flops_per_token(cfg, seq, matmul_params):
    """nanoGPT's estimate_mfu per token: 6·N for the weight matmuls forward and backward, 12·L·H·Hs·T for attention."""
    return 6.0 * matmul_params + 12.0 * cfg["layers"] * cfg["hidden"] * seq  # H·Hs = C


def build_hf(cfg, attention):
    """transformers.LlamaForCausalLM with random weights, f32; attention 'sdpa' or 'eager'."""
    import transformers
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig(
        vocab_size=cfg["vocab"], hidden_size=cfg["hidden"], intermediate_size=cfg["intermediate"],
        num_hidden_layers=cfg["layers"], num_attention_heads=cfg["heads"], num_key_value_heads=cfg["kv_heads"],
        max_position_embeddings=cfg["max_seq"], rms_norm_eps=EPS, rope_theta=THETA, tie_word_embeddings=False,
        use_cache=False, bos_token_id=1, eos_token_id=2)
    try:
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attention)  # f32 weights: the default
    except TypeError:  # transformers before 4.36 takes no attn_implementation; it has eager attention only
        if attention != "eager":
            raise SystemExit(f"hf_train_step.py: transformers {transformers.__version__} cannot choose "
                             f"attn_implementation={attention!r}; use --no-sdpa or --model plain")
        model = AutoModelForCausalLM.from_config(config)
    ran = getattr(model.config, "_attn_implementation", "eager")
    name = f"Hugging Face transformers {transformers.__version__} LlamaForCausalLM, attn_implementation={ran}"
    return model, name, model.get_input_embeddings().weight


def build_plain(cfg, attention, why):
    """train_reference.py's Llama, its attention replaced by SDPA (flash attention where the GPU has it) for 'sdpa'."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import train_reference as ref

    shape = dict(vocab=cfg["vocab"], hidden=cfg["hidden"], layers=cfg["layers"], heads=cfg["heads"],
                 kv_heads=cfg["kv_heads"], intermediate=cfg["intermediate"], eps=EPS, theta=THETA)

    class SdpaAttention(ref.Attention):
        def forward(self, x, cos, sin, mask):
            b, t, _ = x.shape
            q = self.q_proj(x).view(b, t, self.heads, self.hs).transpose(1, 2)     # (B, H, T, Hs)
            k = self.k_proj(x).view(b, t, self.kv_heads, self.hs).transpose(1, 2)  # (B, KvH, T, Hs)
            v = self.v_proj(x).view(b, t, self.kv_heads, self.hs).transpose(1, 2)
            q = q * cos + ref.rotate_half(q) * sin
            k = k * cos + ref.rotate_half(k) * sin
            n_rep = self.heads // self.kv_heads
            k, v = ref.repeat_kv(k, n_rep), ref.repeat_kv(v, n_rep)                 # as HF's sdpa path does
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)            # (B, H, T, Hs)
            return self.o_proj(y.transpose(1, 2).reshape(b, t, self.heads * self.hs))

    model = ref.Llama(shape, cfg["max_seq"])
    if attention == "sdpa":
        if not hasattr(F, "scaled_dot_product_attention"):
            raise SystemExit(f"hf_train_step.py: torch {torch.__version__} has no scaled_dot_product_attention "
                             "(torch >= 2.0); use --no-sdpa")
        for layer in model.layers:
            sdpa = SdpaAttention(shape)
            sdpa.load_state_dict(layer.self_attn.state_dict())  # keep the initialisation
            layer.self_attn = sdpa
    name = f"plain PyTorch Llama-2 (tools/reference/train_reference.py), attention {attention} ({why})"
    return model, name, model.embed_tokens.weight


def build(args, cfg):
    attention = "sdpa" if args.sdpa else "eager"
    if args.model in ("auto", "hf"):
        try:
            import transformers  # noqa: F401  (only whether it imports)
        except ImportError as e:
            if args.model == "hf":
                raise SystemExit(f"hf_train_step.py: --model hf, but transformers does not import: {e}")
            return build_plain(cfg, attention, f"transformers does not import: {e}")
        return build_hf(cfg, attention)
    return build_plain(cfg, attention, "--model plain")


def on_device(fn):
    """Builds the model directly on the GPU where torch can (>= 2.0), instead of initialising 1.1B weights on the CPU."""
    if hasattr(torch, "set_default_device"):
        with torch.device("cuda"):
            return fn()
    return fn()


def make_adamw(params):
    hyper = dict(lr=4e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    try:
        return torch.optim.AdamW(params, fused=True, **hyper), "fused"
    except (TypeError, RuntimeError, ValueError):  # torch without fused AdamW, or not for these tensors
        return torch.optim.AdamW(params, **hyper), "unfused (torch's default implementation)"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="tinyllama-1.1b")
    p.add_argument("--batch", type=int, default=8, help="sequences per step")
    p.add_argument("--seq", type=int, help="tokens per sequence (default: the preset's context length)")
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (with --compile: at least 2)")
    p.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
    p.add_argument("--sdpa", dest="sdpa", action="store_true", default=True,
                   help="flash attention through scaled_dot_product_attention (the default)")
    p.add_argument("--no-sdpa", dest="sdpa", action="store_false", help="eager attention (written-out masked softmax)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--model", choices=["auto", "hf", "plain"], default="auto")
    p.add_argument("--peak-tflops", type=float, default=H100_SXM_BF16_PEAK_TFLOPS,
                   help="the MFU denominator (default 989: H100 SXM dense bf16)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    if not torch.cuda.is_available():
        cuda = torch.version.cuda or "none (a CPU-only build)"
        sys.exit(f"hf_train_step.py: CUDA is not available (torch {torch.__version__}, CUDA {cuda}): this comparator "
                 "times a training step on a GPU; run it on the GPU machine (train_reference.py is the CPU one)")
    cfg = PRESETS[args.preset]
    b, t = args.batch, args.seq or cfg["max_seq"]
    if b <= 0 or not 0 < t <= cfg["max_seq"] or args.steps <= 0 or args.warmup < 0 or not args.peak_tflops > 0:
        sys.exit(f"hf_train_step.py: batch {b}, seq {t} (<= {cfg['max_seq']}), steps {args.steps}, warmup {args.warmup}, "
                 f"peak {args.peak_tflops}: expected positive sizes")

    torch.manual_seed(args.seed)
    torch.cuda.reset_peak_memory_stats()
    model, name, embedding = on_device(lambda: build(args, cfg))
    model = model.cuda().train()
    n_params = sum(p.numel() for p in model.parameters())
    matmul_params = n_params - embedding.numel()  # the embedding table is a lookup; lm_head is untied and counted
    opt, adamw = make_adamw(list(model.parameters()))
    step_model = torch.compile(model) if args.compile else model
    props = torch.cuda.get_device_properties(0)
    print(f"model: {name}")
    print(f"device: {props.name}, torch {torch.__version__}, CUDA {torch.version.cuda}; {args.preset} ({n_params:,} parameters), "
          f"batch {b} x {t}, {'bf16 autocast, f32 weights' if args.dtype == 'bf16' else 'f32'}, AdamW {adamw}"
          f"{', torch.compile' if args.compile else ''}")

    vocab = cfg["vocab"]
    generator = torch.Generator().manual_seed(args.seed)
    times = []
    for step in range(args.warmup + args.steps):
        seq = torch.randint(0, vocab, (b, t + 1), generator=generator)  # inputs: the first t; targets: the next token
        torch.cuda.synchronize()
        start = time.perf_counter()
        ids, targets = seq[:, :-1].cuda(), seq[:, 1:].cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=args.dtype == "bf16"):
            out = step_model(ids)
            logits = out if torch.is_tensor(out) else out.logits  # HF returns an output object
        # The targets are already the next tokens, so no shift (HF's labels= would shift once more); f32 loss.
        loss = F.cross_entropy(logits.float().reshape(-1, vocab), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        value = loss.item()
        torch.cuda.synchronize()  # the optimizer's kernels have finished
        elapsed = time.perf_counter() - start
        warm = step < args.warmup
        if not warm:
            times.append(elapsed)
        print(f"step {step + 1}{' (warm-up)' if warm else ''}: {elapsed * 1000:.0f} ms, loss {value:.3f}", flush=True)
        if not math.isfinite(value):
            sys.exit(f"hf_train_step.py: step {step + 1} has loss {value}; no figures are reported for a run that computes nonsense")
        if step == 0 and abs(value - math.log(vocab)) > 1.0:
            sys.exit(f"hf_train_step.py: step 1 has loss {value:.3f}, but random tokens at initialisation score about "
                     f"ln V = {math.log(vocab):.3f}")

    median = statistics.median(times)
    tokens_per_s = b * t / median
    per_token = flops_per_token(cfg, t, matmul_params)
    achieved = per_token * tokens_per_s / 1e12
    print(f"median step {median * 1000:.0f} ms, mean {statistics.mean(times) * 1000:.0f} ms, fastest {min(times) * 1000:.0f} ms")
    print(f"tokens/s: {tokens_per_s:.0f}")
    print(f"mfu: {100 * achieved / args.peak_tflops:.3g}% ({achieved:.4g} model TFLOP/s over a peak of {args.peak_tflops:g} TFLOP/s, --peak-tflops)")
    print(f"model FLOPs per token: {per_token:.4E} (nanoGPT's estimate_mfu: 6·N + 12·L·H·Hs·T, N = {matmul_params:,} "
          "matmul weights: all but the embedding table)")
    print(f"peak memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB "
          f"(torch.cuda.max_memory_allocated; reserved {torch.cuda.max_memory_reserved() / 2**30:.2f} GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
