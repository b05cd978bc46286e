#!/usr/bin/python3
"""Cross-check of lit-gpt's packed token format (LITPKDS) against TinyLlama.Data.Packed.

  packed_dataset_check.py write OUT_DIR   write the test fixtures the way lit-gpt's PackedDatasetBuilder does
  packed_dataset_check.py read FILE...    read packed files (ours or anyone's) the way lit-gpt's reader does

Written from the format description (24-byte header: b"LITPKDS", <Q version 1, <B dtype code, <Q chunk
size; then chunk_size tokens, C order, little-endian). Needs only numpy (Debian: python3-numpy).
"""
import os
import struct
import sys

import numpy as np

HDR_MAGIC = b"LITPKDS"
HDR_SIZE = 24
DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float32, 7: np.float64, 8: np.uint16}


def code_of(dtype):
    for k, v in DTYPES.items():
        if v == dtype:
            return k
    raise ValueError(dtype)


class Builder:
    """lit-gpt's builder: a buffer pre-filled with sep_token; a full buffer becomes one file."""

    def __init__(self, outdir, prefix, chunk_size, sep_token, vocab_size):
        self.dtype = np.uint16 if vocab_size < 65500 else np.int32
        self.outdir, self.prefix, self.chunk_size, self.sep = outdir, prefix, chunk_size, sep_token
        self.arr = np.full(chunk_size, sep_token, dtype=self.dtype)
        self.idx = 0
        self.counter = 0
        self.filenames = []

    def _write_chunk(self):
        name = os.path.join(self.outdir, f"{self.prefix}_{self.counter:010d}.bin")
        with open(name, "wb") as f:
            f.write(HDR_MAGIC)
            f.write(struct.pack("<Q", 1))
            f.write(struct.pack("<B", code_of(self.dtype)))
            f.write(struct.pack("<Q", self.chunk_size))
            f.write(self.arr.astype(self.arr.dtype.newbyteorder("<")).tobytes(order="C"))
        self.filenames.append(name)
        self.counter += 1
        self.arr.fill(self.sep)
        self.idx = 0

    def add_array(self, arr):
        while self.idx + arr.shape[0] > self.chunk_size:
            part = self.chunk_size - self.idx
            self.arr[self.idx:self.idx + part] = arr[:part]
            self._write_chunk()
            arr = arr[part:]
        n = arr.shape[0]
        self.arr[self.idx:self.idx + n] = arr
        self.idx += n

    def write_reminder(self):
        self._write_chunk()


def documents(count, vocab, eos):
    """The fixture's token stream; TinyLlama.Data.Tests regenerates it with the same formula."""
    for d in range(count):
        length = 5 + (d * 7) % 11
        yield np.array([(d * 20011 + i * 37 + 3) % vocab for i in range(length)] + [eos], dtype=np.int64)


def write(outdir):
    os.makedirs(outdir, exist_ok=True)
    for prefix, vocab, chunk, docs in (("litgpt_u16", 32000, 40, 10), ("litgpt_i32", 70000, 16, 4)):
        b = Builder(outdir, prefix, chunk, sep_token=1, vocab_size=vocab)
        for doc in documents(docs, vocab, eos=2):
            b.add_array(doc.astype(b.dtype))
        b.write_reminder()  # as TinyLlama before issue #83: the tail padded with sep_token (1)
        for name in b.filenames:
            print(name, os.path.getsize(name))


def read_header(path):
    with open(path, "rb") as f:
        magic = f.read(len(HDR_MAGIC))
        assert magic == HDR_MAGIC, f"{path}: bad magic {magic!r}"
        (version,) = struct.unpack("<Q", f.read(8))
        assert version == 1, f"{path}: version {version}"
        (code,) = struct.unpack("<B", f.read(1))
        (chunk,) = struct.unpack("<Q", f.read(8))
    return DTYPES[code], chunk


def read(paths):
    for path in paths:
        dtype, chunk = read_header(path)
        tokens = np.memmap(path, mode="r", order="C", offset=HDR_SIZE, dtype=np.dtype(dtype).newbyteorder("<"))
        assert tokens.shape[0] == chunk, f"{path}: {tokens.shape[0]} tokens, header says {chunk}"
        print(f"{path}: dtype={np.dtype(dtype).name} chunk={chunk} sum={int(tokens.astype(np.int64).sum())} "
              f"first={tokens[:12].tolist()} last={tokens[-4:].tolist()}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "read":
        read(sys.argv[2:])
    else:
        sys.exit(__doc__)
