#!/usr/bin/python3
"""Llama-2 reference in plain PyTorch, and the fixture writer for TinyLlama.Model.Tests.

The model follows the Hugging Face `LlamaForCausalLM` definition (transformers 4.3x): RMSNorm,
rotate-half RoPE, grouped-query attention via repeat_kv, SwiGLU MLP, pre-norm residual blocks,
final norm and an untied lm_head, with no biases. Parameter names are exactly HF's.

Usage (Debian's PyTorch; see setup.sh):
    /usr/bin/python3 tools/reference/llama_reference.py --out tests/TinyLlama.Model.Tests/Fixtures/tiny-random-llama
    /usr/bin/python3 tools/reference/llama_reference.py --check   # regenerate and byte-compare

The expected values are computed in float64 from the float32 weights and rounded once to float32,
so they are the best float32 answer and do not depend on the BLAS that runs the script. A float32
run of the same model is compared with them and the gap is printed (it is what a correct float32
implementation can be expected to reach).
"""

import argparse
import copy
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REPO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "TinyLlama.Model.Tests", "Fixtures", "tiny-random-llama")

SEED = 20261123
GENERATED_ON = "2026-11-23"  # fixed, so that the output does not depend on the clock

# Deliberately odd sizes: nothing is a power of two except the head size, so a swapped dimension
# shows up as a shape error rather than a silent mismatch.
CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "head_dim": 8,
    "hidden_act": "silu",
    "hidden_size": 48,
    "initializer_range": 0.2,
    "intermediate_size": 80,
    "max_position_embeddings": 32,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 6,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "use_cache": True,
    "vocab_size": 67,
}

BATCH, TIME = 2, 11                  # (B, T) of the training example
IGNORED_TARGETS = [(0, 3), (1, 10)]  # (b, t) positions whose target is the ignore index
IGNORE_INDEX = -100
PROMPT_LEN, NEW_TOKENS = 5, 12
MIN_GREEDY_MARGIN = 1e-3
WEIGHT_STD, NORM_STD = 0.2, 0.1


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------

class LlamaRMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        # HF upcasts half types to float32 for the statistics, then scales in the input dtype.
        compute = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
        h = x.to(compute)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope_cos_sin(seq_len, head_size, theta, dtype):
    """cos and sin, each (T, Hs); the angle for pair i is pos * theta^(-2i/Hs), duplicated."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_size, 2, dtype=dtype) / head_size))  # (Hs/2,)
    positions = torch.arange(seq_len, dtype=dtype)                                        # (T,)
    freqs = torch.outer(positions, inv_freq)                                               # (T, Hs/2)
    emb = torch.cat((freqs, freqs), dim=-1)                                                # (T, Hs)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    # q (B, H, T, Hs), k (B, KvH, T, Hs), cos/sin (T, Hs) broadcast over batch and heads.
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def repeat_kv(x, n_rep):
    """(B, KvH, T, Hs) -> (B, KvH*n_rep, T, Hs); query head h reads kv head h // n_rep."""
    if n_rep == 1:
        return x
    b, kvh, t, hs = x.shape
    return x[:, :, None, :, :].expand(b, kvh, n_rep, t, hs).reshape(b, kvh * n_rep, t, hs)


class LlamaAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["hidden_size"]
        self.n_heads = cfg["num_attention_heads"]
        self.n_kv_heads = cfg["num_key_value_heads"]
        self.head_size = c // self.n_heads
        self.q_proj = nn.Linear(c, self.n_heads * self.head_size, bias=False)
        self.k_proj = nn.Linear(c, self.n_kv_heads * self.head_size, bias=False)
        self.v_proj = nn.Linear(c, self.n_kv_heads * self.head_size, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_size, c, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        hs = self.head_size
        q = self.q_proj(x).view(b, t, self.n_heads, hs).transpose(1, 2)     # (B, H, T, Hs)
        k = self.k_proj(x).view(b, t, self.n_kv_heads, hs).transpose(1, 2)  # (B, KvH, T, Hs)
        v = self.v_proj(x).view(b, t, self.n_kv_heads, hs).transpose(1, 2)  # (B, KvH, T, Hs)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        n_rep = self.n_heads // self.n_kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)                    # (B, H, T, Hs)
        scores = (q @ k.transpose(-2, -1)) * (hs ** -0.5)                   # (B, H, T, T)
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        y = (probs @ v).transpose(1, 2).reshape(b, t, self.n_heads * hs)   # (B, T, C)
        return self.o_proj(y)


class LlamaMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, i = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(c, i, bias=False)
        self.up_proj = nn.Linear(c, i, bias=False)
        self.down_proj = nn.Linear(i, c, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = LlamaAttention(cfg)
        self.mlp = LlamaMLP(cfg)
        self.input_layernorm = LlamaRMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = LlamaRMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(LlamaDecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = LlamaRMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, input_ids, trace=None):
        t = input_ids.shape[1]
        x = self.embed_tokens(input_ids)                                    # (B, T, C)
        head_size = self.cfg["hidden_size"] // self.cfg["num_attention_heads"]
        cos, sin = rope_cos_sin(t, head_size, self.cfg["rope_theta"], x.dtype)
        if trace is not None:
            trace["embed"], trace["rope_cos"], trace["rope_sin"] = x, cos, sin
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin)
            if trace is not None:
                trace[f"layer{i}"] = x
        x = self.norm(x)
        if trace is not None:
            trace["final_norm"] = x
        return x


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def forward(self, input_ids, trace=None):
        return self.lm_head(self.model(input_ids, trace))                  # (B, T, V)


def causal_lm_loss(logits, targets):
    """Mean cross-entropy over positions whose target is not IGNORE_INDEX."""
    v = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, v), targets.reshape(-1), ignore_index=IGNORE_INDEX)


# ----------------------------------------------------------------------------------------------
# Deterministic data. numpy's legacy RandomState stream is frozen by numpy's compatibility policy,
# so the weights do not depend on the torch or numpy version that runs the script.
# ----------------------------------------------------------------------------------------------

def init_weights(model, rng):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                values = 1.0 + NORM_STD * rng.standard_normal(p.shape)
            else:
                values = WEIGHT_STD * rng.standard_normal(p.shape)
            p.copy_(torch.from_numpy(values.astype(np.float32)))


def make_batch(rng, vocab, bos):
    seq = rng.randint(3, vocab, size=(BATCH, TIME + 1))  # never bos/eos/unk inside the text
    seq[:, 0] = bos
    input_ids = torch.from_numpy(seq[:, :-1].astype(np.int64))   # (B, T)
    targets = torch.from_numpy(seq[:, 1:].astype(np.int64))      # (B, T): the next token
    for b, t in IGNORED_TARGETS:
        targets[b, t] = IGNORE_INDEX
    return input_ids, targets


def greedy(model, prompt, new_tokens):
    """Full recomputation each step; returns (ids (1, P+N), margins between top-1 and top-2)."""
    ids, margins = prompt.clone(), []
    with torch.no_grad():
        for _ in range(new_tokens):
            last = model(ids)[0, -1]                                         # (V,)
            top = torch.topk(last, 2).values
            margins.append(float(top[0] - top[1]))
            ids = torch.cat((ids, last.argmax().view(1, 1)), dim=1)
    return ids, margins


# ----------------------------------------------------------------------------------------------
# Sanity checks
# ----------------------------------------------------------------------------------------------

def expected_param_count(cfg):
    v, c, i, l = cfg["vocab_size"], cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    hs = c // cfg["num_attention_heads"]
    q = cfg["num_attention_heads"] * hs * c
    kv = 2 * cfg["num_key_value_heads"] * hs * c
    per_layer = 2 * c + q + kv + q + 3 * c * i  # two norms, q, k+v, o, gate+up+down
    return v * c + l * per_layer + c + v * c     # embed, layers, final norm, untied lm_head


def check_param_count(model, cfg):
    actual = sum(p.numel() for p in model.parameters())
    assert actual == expected_param_count(cfg), (actual, expected_param_count(cfg))
    return actual


def check_gqa_mapping(model64, cfg):
    """repeat_kv must give query head h the kv head h // (H / KvH); checked by marking heads and by
    recomputing one layer's attention head by head."""
    h, kvh = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    n_rep = h // kvh
    marked = torch.arange(kvh, dtype=torch.float64).view(1, kvh, 1, 1).expand(1, kvh, 3, 4)
    repeated = repeat_kv(marked, n_rep)
    for head in range(h):
        assert torch.all(repeated[0, head] == head // n_rep), head

    attn = model64.model.layers[0].self_attn
    g = torch.Generator().manual_seed(SEED)
    x = torch.randn(1, 7, cfg["hidden_size"], dtype=torch.float64, generator=g)
    hs = cfg["hidden_size"] // h
    cos, sin = rope_cos_sin(7, hs, cfg["rope_theta"], torch.float64)
    with torch.no_grad():
        via_repeat = attn(x, cos, sin)
        wq = attn.q_proj.weight.view(h, hs, -1)
        wk = attn.k_proj.weight.view(kvh, hs, -1)
        wv = attn.v_proj.weight.view(kvh, hs, -1)
        heads = []
        for head in range(h):
            kv = head // n_rep
            q = x[0] @ wq[head].T
            k = x[0] @ wk[kv].T
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            s = (q @ k.T) / math.sqrt(hs)
            s = s.masked_fill(torch.ones(7, 7, dtype=torch.bool).triu(1), float("-inf"))
            heads.append(torch.softmax(s, -1) @ (x[0] @ wv[kv].T))
        by_head = torch.cat(heads, dim=-1) @ attn.o_proj.weight.T
    assert torch.allclose(via_repeat[0], by_head, rtol=1e-12, atol=1e-12)


def check_rope(cfg):
    """Rotate-half RoPE rotates the pair (i, i + Hs/2) by pos * inv_freq[i], so it keeps norms and a
    query-key dot product depends only on the distance between their positions."""
    hs = cfg["hidden_size"] // cfg["num_attention_heads"]
    cos, sin = rope_cos_sin(20, hs, cfg["rope_theta"], torch.float64)
    g = torch.Generator().manual_seed(SEED)
    q, k = torch.randn(2, hs, dtype=torch.float64, generator=g)
    rot = lambda x, pos: x * cos[pos] + rotate_half(x) * sin[pos]
    assert torch.allclose(rot(q, 13).norm(), q.norm(), rtol=1e-14)
    assert torch.allclose(rot(q, 9) @ rot(k, 4), rot(q, 17) @ rot(k, 12), rtol=1e-12)
    half = hs // 2
    i, pos = 1, 5
    angle = pos / cfg["rope_theta"] ** (2 * i / hs)
    e = torch.zeros(hs, dtype=torch.float64)
    e[i] = 1.0
    expected = torch.zeros(hs, dtype=torch.float64)
    expected[i], expected[i + half] = math.cos(angle), math.sin(angle)
    assert torch.allclose(rot(e, pos), expected, atol=1e-15)


def check_loss_by_hand(logits, targets, loss):
    v = logits.shape[-1]
    flat, tgt = logits.reshape(-1, v), targets.reshape(-1)
    keep = tgt != IGNORE_INDEX
    lse = torch.logsumexp(flat[keep], dim=-1)
    picked = flat[keep].gather(1, tgt[keep].view(-1, 1)).squeeze(1)
    manual = (lse - picked).mean()
    assert keep.sum() == BATCH * TIME - len(IGNORED_TARGETS)
    assert torch.allclose(manual, loss, rtol=1e-13, atol=0), (float(manual), float(loss))


def check_gradients_by_finite_differences(model64, input_ids, targets):
    """Central differences in float64 on a few entries of several parameters."""
    params = dict(model64.named_parameters())
    picks = [("model.embed_tokens.weight", (int(input_ids[0, 2]), 5)),
             ("model.layers.0.input_layernorm.weight", (7,)),
             ("model.layers.0.self_attn.k_proj.weight", (9, 30)),
             ("model.layers.1.self_attn.v_proj.weight", (15, 2)),
             ("model.layers.1.mlp.down_proj.weight", (40, 79)),
             ("model.norm.weight", (47,)),
             ("lm_head.weight", (66, 0))]
    step = 1e-6
    with torch.no_grad():
        for name, index in picks:
            p = params[name]
            original = p[index].item()
            p[index] = original + step
            up = causal_lm_loss(model64(input_ids), targets).item()
            p[index] = original - step
            down = causal_lm_loss(model64(input_ids), targets).item()
            p[index] = original
            numeric = (up - down) / (2 * step)
            analytic = p.grad[index].item()
            assert abs(numeric - analytic) <= 1e-7 + 1e-6 * abs(analytic), (name, numeric, analytic)


# ----------------------------------------------------------------------------------------------
# safetensors (written by hand: 8-byte LE header length, JSON header padded with spaces to a
# multiple of 8, then raw little-endian C-order data; offsets are relative to the data start)
# ----------------------------------------------------------------------------------------------

SAFETENSORS_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("<i4"): "I32",
                      np.dtype("<i8"): "I64"}


def safetensors_bytes(tensors, metadata=None):
    """tensors: list of (name, numpy array), written in that order."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, array in tensors:
        array = np.asarray(array)  # not ascontiguousarray: that turns a 0-d loss into shape (1,)
        dtype = array.dtype.newbyteorder("<")
        data = array.astype(dtype).tobytes(order="C")
        header[name] = {"dtype": SAFETENSORS_DTYPES[dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def read_safetensors(path):
    numpy_dtypes = {v: k for k, v in SAFETENSORS_DTYPES.items()}
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + begin:8 + n + end],
                                  dtype=numpy_dtypes[info["dtype"]]).reshape(tuple(info["shape"]))
    return out, meta


# ----------------------------------------------------------------------------------------------
# Generation of the fixture folder
# ----------------------------------------------------------------------------------------------

def relative_gap(actual, expected):
    """max |a - e| / max |e| over a tensor: the norm-relative error the tests are asked to meet."""
    scale = expected.abs().max().item()
    return (actual - expected).abs().max().item() / scale if scale > 0 else 0.0


def compute(cfg):
    rng = np.random.RandomState(SEED)
    model32 = LlamaForCausalLM(cfg)
    init_weights(model32, rng)
    input_ids, targets = make_batch(rng, cfg["vocab_size"], cfg["bos_token_id"])
    model64 = copy.deepcopy(model32).double()

    n_params = check_param_count(model32, cfg)
    check_gqa_mapping(model64, cfg)
    check_rope(cfg)

    trace = {}
    logits64 = model64(input_ids, trace)
    loss64 = causal_lm_loss(logits64, targets)
    loss64.backward()
    check_loss_by_hand(logits64.detach(), targets, loss64.detach())
    check_gradients_by_finite_differences(model64, input_ids, targets)

    logits32 = model32(input_ids)
    loss32 = causal_lm_loss(logits32, targets)
    loss32.backward()

    gaps = {"logits": relative_gap(logits32.detach().double(), logits64.detach()),
            "loss": abs(loss32.item() - loss64.item()) / abs(loss64.item())}
    grad_gaps = {}
    for (name, p32), (_, p64) in zip(model32.named_parameters(), model64.named_parameters()):
        grad_gaps[name] = relative_gap(p32.grad.double(), p64.grad)

    # Greedy generation: redraw the prompt until every step has a clear winner in both precisions
    # and eos is never produced (so "stop at eos" and "always produce N tokens" agree).
    for attempt in range(100):
        prompt_rng = np.random.RandomState(SEED + 1 + attempt)
        prompt = prompt_rng.randint(3, cfg["vocab_size"], size=(1, PROMPT_LEN))
        prompt[0, 0] = cfg["bos_token_id"]
        prompt = torch.from_numpy(prompt.astype(np.int64))
        ids64, margins64 = greedy(model64, prompt, NEW_TOKENS)
        ids32, margins32 = greedy(model32, prompt, NEW_TOKENS)
        generated = ids64[0, PROMPT_LEN:]
        if (torch.equal(ids64, ids32) and min(margins64) > MIN_GREEDY_MARGIN
                and min(margins32) > MIN_GREEDY_MARGIN and not (generated == cfg["eos_token_id"]).any()):
            break
    else:
        raise RuntimeError("no prompt with clear greedy margins found")

    weights = [(name, p.detach().numpy()) for name, p in model32.named_parameters()]
    f32 = lambda t: t.detach().to(torch.float64).numpy().astype(np.float32)  # round once
    i32 = lambda t: t.numpy().astype(np.int32)
    expected = [("input_ids", i32(input_ids)),
                ("targets", i32(targets)),
                ("logits", f32(logits64)),
                ("loss", f32(loss64).reshape(())),
                ("prompt_ids", i32(prompt)),
                ("greedy_ids", i32(ids64))]
    expected += [(f"grad.{name}", f32(p.grad)) for name, p in model64.named_parameters()]
    expected += [("debug.embed", f32(trace["embed"]))]
    expected += [(f"debug.layers.{i}.out", f32(trace[f"layer{i}"])) for i in range(cfg["num_hidden_layers"])]
    expected += [("debug.final_norm", f32(trace["final_norm"])),
                 ("debug.rope_cos", f32(trace["rope_cos"])),
                 ("debug.rope_sin", f32(trace["rope_sin"]))]

    report = {"params": n_params, "loss64": loss64.item(), "loss32": loss32.item(), "gaps": gaps,
              "grad_gaps": grad_gaps, "prompt_attempt": attempt,
              "min_margin64": min(margins64), "min_margin32": min(margins32),
              "max_abs_logit": logits64.abs().max().item()}
    return weights, expected, report


def fixture_readme(report):
    return f"""# tiny-random-llama

A tiny random Llama-2 (`LlamaForCausalLM`) with deliberately odd sizes, and the values the C# model
must reproduce. Generated by `tools/reference/llama_reference.py`; do not edit by hand.

    /usr/bin/python3 tools/reference/llama_reference.py --out tests/TinyLlama.Model.Tests/Fixtures/tiny-random-llama
    /usr/bin/python3 tools/reference/llama_reference.py --check

- PyTorch: Debian bookworm `python3-torch` 1.13.1+dfsg-4 (CPU), `python3-numpy` 1.24.2; run with `/usr/bin/python3`.
- Seed: {SEED} (numpy `RandomState`, whose stream is frozen across versions); greedy prompt seed {SEED + 1 + report['prompt_attempt']}.
- Date: {GENERATED_ON}.

Files:
- `config.json`: Hugging Face `LlamaConfig` (vocab 67, hidden 48, intermediate 80, 2 layers,
  6 heads, 2 kv heads, head size 8, 32 positions, eps 1e-5, theta 10000, untied lm_head).
- `model.safetensors`: the {report['params']} parameters, F32, HF names.
- `expected.safetensors`: `input_ids`, `targets` (-100 = ignored), `logits`, `loss` (shape `[]`),
  `grad.<parameter name>` for every parameter, `prompt_ids`, `greedy_ids`, and `debug.*`
  intermediates. Expected values are computed in float64 from the F32 weights and rounded to F32.
  See `tools/reference/README.md` for every tensor and the suggested tolerances.
"""


def write_fixtures(out_dir):
    weights, expected, report = compute(CONFIG)
    os.makedirs(out_dir, exist_ok=True)
    files = {
        "config.json": (json.dumps(CONFIG, indent=2, sort_keys=True) + "\n").encode("utf-8"),
        "model.safetensors": safetensors_bytes(weights, {"format": "pt"}),
        "expected.safetensors": safetensors_bytes(expected, {
            "format": "pt", "generator": "tools/reference/llama_reference.py", "seed": str(SEED),
            "precision": "float64 computation rounded to float32", "loss_shape": "scalar []",
            "ignore_index": str(IGNORE_INDEX)}),
        "README.md": fixture_readme(report).encode("utf-8"),
    }
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)

    # Round trip through the reader: what was written is what was computed.
    for name, tensors in (("model.safetensors", weights), ("expected.safetensors", expected)):
        back, _ = read_safetensors(os.path.join(out_dir, name))
        assert list(back) == [n for n, _ in tensors]
        for n, a in tensors:
            assert back[n].shape == a.shape and np.array_equal(back[n], a.astype(back[n].dtype)), n
    return files, report


def print_report(report, files):
    print(f"parameters: {report['params']}")
    print(f"loss: float64 {report['loss64']:.17g}  float32 {report['loss32']:.9g}")
    print(f"max |logit|: {report['max_abs_logit']:.4g}")
    print("float32 vs float64, max|a-e|/max|e|:")
    print(f"  logits {report['gaps']['logits']:.3e}   loss {report['gaps']['loss']:.3e}")
    worst = max(report["grad_gaps"].items(), key=lambda kv: kv[1])
    print(f"  gradients: worst {worst[1]:.3e} ({worst[0]})")
    for name, gap in report["grad_gaps"].items():
        print(f"    {gap:.3e}  {name}")
    print(f"greedy: prompt attempt {report['prompt_attempt']}, min top-2 margin "
          f"float64 {report['min_margin64']:.4g}, float32 {report['min_margin32']:.4g}")
    for name, data in files.items():
        print(f"  {name}: {len(data)} bytes")


def check(committed_dir):
    with tempfile.TemporaryDirectory() as tmp:
        files, report = write_fixtures(tmp)
        print_report(report, files)
        ok = True
        for name, data in files.items():
            path = os.path.join(committed_dir, name)
            if not os.path.exists(path):
                print(f"MISSING {path}")
                ok = False
                continue
            with open(path, "rb") as f:
                same = f.read() == data
            print(f"{'same' if same else 'DIFFERENT'}: {name}")
            if not same and name.endswith(".safetensors"):
                fresh, _ = read_safetensors(os.path.join(tmp, name))
                old, _ = read_safetensors(path)
                for n in sorted(set(fresh) | set(old)):
                    if n not in fresh or n not in old or fresh[n].shape != old[n].shape:
                        print(f"  {n}: missing or shape differs")
                    elif not np.array_equal(fresh[n], old[n]):
                        d = np.abs(fresh[n].astype(np.float64) - old[n]).max()
                        print(f"  {n}: max abs difference {d:.3e}")
            ok = ok and same
    print("check: OK, the committed fixtures are what this script writes" if ok else "check: FAILED")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="fixture folder to write")
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary folder and byte-compare with --out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if args.check:
        return check(args.out)
    files, report = write_fixtures(args.out)
    print_report(report, files)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
