#!/usr/bin/python3
"""Training throughput of a plain PyTorch Llama-2: the comparator for `bench train`.

Trains the `tiny` shape (V 4096, C 256, L 4, H 8, KvH 4, I 688) on random token batches with
AdamW and gradient clipping, in float32 on the CPU, and reports tokens per second. The model is
the Hugging Face `LlamaForCausalLM` architecture (RMSNorm, rotate-half RoPE, GQA via repeat_kv,
SwiGLU, untied lm_head, no biases), written compactly; `llama_reference.py` beside this file is the
commented version that the numerical fixtures come from.

Usage (Debian's PyTorch 1.13: apt-get install -y python3-torch libopenblas0-pthread):
    /usr/bin/python3 tools/reference/train_reference.py --steps 20 --warmup 3 --threads 2

The last line printed is `tokens/s: X` (timed steps only; warm-up steps are excluded).
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

TINY = dict(vocab=4096, hidden=256, layers=4, heads=8, kv_heads=4, intermediate=688,
            eps=1e-5, theta=10000.0)


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x, n_rep):
    """(B, KvH, T, Hs) -> (B, KvH*n_rep, T, Hs); query head h reads kv head h // n_rep."""
    if n_rep == 1:
        return x
    b, kvh, t, hs = x.shape
    return x[:, :, None].expand(b, kvh, n_rep, t, hs).reshape(b, kvh * n_rep, t, hs)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["hidden"]
        self.heads, self.kv_heads = cfg["heads"], cfg["kv_heads"]
        self.hs = c // self.heads
        self.q_proj = nn.Linear(c, self.heads * self.hs, bias=False)
        self.k_proj = nn.Linear(c, self.kv_heads * self.hs, bias=False)
        self.v_proj = nn.Linear(c, self.kv_heads * self.hs, bias=False)
        self.o_proj = nn.Linear(self.heads * self.hs, c, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.hs).transpose(1, 2)     # (B, H, T, Hs)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.hs).transpose(1, 2)  # (B, KvH, T, Hs)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.hs).transpose(1, 2)  # (B, KvH, T, Hs)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        n_rep = self.heads // self.kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)                       # (B, H, T, Hs)
        scores = (q @ k.transpose(-2, -1)) * (self.hs ** -0.5)                 # (B, H, T, T)
        probs = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        y = (probs @ v).transpose(1, 2).reshape(b, t, self.heads * self.hs)    # (B, T, C)
        return self.o_proj(y)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, i = cfg["hidden"], cfg["intermediate"]
        self.input_layernorm = RMSNorm(c, cfg["eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(c, cfg["eps"])
        self.gate_proj = nn.Linear(c, i, bias=False)
        self.up_proj = nn.Linear(c, i, bias=False)
        self.down_proj = nn.Linear(i, c, bias=False)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, cfg, max_seq):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab"], cfg["hidden"])
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg["layers"]))
        self.norm = RMSNorm(cfg["hidden"], cfg["eps"])
        self.lm_head = nn.Linear(cfg["hidden"], cfg["vocab"], bias=False)
        # The rotary tables and the causal mask depend only on T: built once, as any fast
        # implementation would, so that the timing measures the training step alone.
        hs = cfg["hidden"] // cfg["heads"]
        inv_freq = 1.0 / (cfg["theta"] ** (torch.arange(0, hs, 2, dtype=torch.float32) / hs))
        freqs = torch.outer(torch.arange(max_seq, dtype=torch.float32), inv_freq)  # (T, Hs/2)
        emb = torch.cat((freqs, freqs), dim=-1)                                    # (T, Hs)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)
        mask = torch.ones(max_seq, max_seq, dtype=torch.bool).triu(1)             # (T, T)
        self.register_buffer("mask", mask, persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)  # TinyLlama's initializer_range

    def forward(self, ids):
        t = ids.shape[1]
        cos, sin, mask = self.cos[:t], self.sin[:t], self.mask[:t, :t]
        x = self.embed_tokens(ids)                                                 # (B, T, C)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.norm(x))                                          # (B, T, V)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = TINY
    model = Llama(cfg, args.seq)
    opt = torch.optim.AdamW(model.parameters(), lr=4e-4, betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=0.1)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"params {n_params:,}, B {args.batch}, T {args.seq}")

    tokens_per_step = args.batch * args.seq
    times, cpu_times = [], []
    for step in range(args.warmup + args.steps):
        # (B, T+1) random tokens: inputs are the first T, targets the next token of each.
        seq = torch.randint(0, cfg["vocab"], (args.batch, args.seq + 1))
        start, cpu_start = time.perf_counter(), time.process_time()
        logits = model(seq[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, cfg["vocab"]), seq[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        timed = step >= args.warmup
        if timed:
            times.append(elapsed)
            cpu_times.append(cpu)
        print(f"step {step + 1:3d} {'timed ' if timed else 'warmup'} {elapsed * 1000:8.1f} ms  "
              f"(cpu {cpu * 1000:8.1f} ms)  loss {loss.item():.4f}  grad_norm {norm.item():.3f}")

    total = sum(times)
    # On a machine shared with other work the wall time says more about the neighbours than about this
    # step; CPU time spread over the threads estimates the wall time the step would take on idle cores
    # (rough: shared caches and memory bandwidth make it optimistic, threads that spin-wait pessimistic).
    cpu_estimate = tokens_per_step * len(cpu_times) / (sum(cpu_times) / args.threads)
    print(f"cpu-time estimate: {cpu_estimate:.0f} tokens/s on {args.threads} idle cores")
    print(f"step time: mean {total / len(times) * 1000:.1f} ms, "
          f"median {statistics.median(times) * 1000:.1f} ms, min {min(times) * 1000:.1f} ms "
          f"(fastest step: {tokens_per_step / min(times):.0f} tokens/s)")
    print(f"tokens/s: {tokens_per_step * len(times) / total:.0f}")


if __name__ == "__main__":
    main()
