#!/usr/bin/env python3
"""Loads a Hugging Face folder written by our trainer into the PyTorch reference Llama (strict: every name and shape
must match) and prints the mean next-token loss on blocks of a packed LITPKDS file, so our export can be checked
against the loss our `eval`/validation reports.

    /usr/bin/python3 tools/reference/check_export.py --model runs/default/hf --data runs/default/data/validation_corpus_0000000000.bin
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import llama_reference as ref  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True, help="a LITPKDS .bin file")
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--blocks", type=int, default=4)
    args = parser.parse_args()

    cfg = json.load(open(os.path.join(args.model, "config.json")))
    weights, _ = ref.read_safetensors(os.path.join(args.model, "model.safetensors"))
    model = ref.LlamaForCausalLM(cfg)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()}, strict=True)
    model.eval()

    raw = np.fromfile(args.data, dtype=np.uint8)
    assert raw[:7].tobytes() == b"LITPKDS", "not a LITPKDS file"
    tokens = np.frombuffer(raw[24:].tobytes(), dtype=np.uint16).astype(np.int64)
    block = args.seq + 1
    losses = []
    with torch.no_grad():
        for i in range(min(args.blocks, len(tokens) // block)):
            chunk = torch.from_numpy(tokens[i * block:(i + 1) * block]).unsqueeze(0)
            logits = model(chunk[:, :-1])
            losses.append(torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1)).item())
    print(f"loaded {len(weights)} tensors strictly; mean loss over {len(losses)} blocks: {sum(losses) / len(losses):.4f}")


if __name__ == "__main__":
    main()
