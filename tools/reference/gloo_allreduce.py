#!/usr/bin/python3
"""PyTorch gloo all-reduce bandwidth, printed in the same table as `bench allreduce`.

The comparator for TinyLlama.Managed's TCP ring all-reduce: the same sizes, the same rank-dependent integer data
checked exactly before timing, the same timing rule (iterations chosen from one call so a size runs about --seconds,
the slowest rank's mean time), and the same bus bandwidth (algbw x 2(N-1)/N, as nccl-tests reports it).

    /usr/bin/python3 tools/reference/gloo_allreduce.py --nproc 2 --size 0.00390625 1 16 64
"""
import argparse
import math
import os
import socket
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

DEFAULT_SIZES_MIB = [4 / 1024, 16 / 1024, 64 / 1024, 256 / 1024, 1, 4, 16, 64, 256]


def values(count, rank, dtype):
    # Integers in -32..31, the same as BenchAllReduceCommand.Value: sums over up to 8 ranks are exact in f32 and bf16.
    i = torch.arange(count, dtype=torch.int64)
    return (((i * 7 + rank * 13) % 64) - 32).to(dtype)


def measure(tensor, seconds, world):
    dist.all_reduce(tensor)
    expected = sum(values(tensor.numel(), r, torch.float64) for r in range(world)).to(tensor.dtype)
    wrong = int((tensor != expected).sum())
    dist.all_reduce(tensor)  # warm-up
    start = time.perf_counter()
    dist.all_reduce(tensor)
    first = time.perf_counter() - start
    iterations = torch.tensor([min(100000, max(3, math.ceil(seconds / max(first, 1e-6))))], dtype=torch.int64)
    dist.broadcast(iterations, 0)  # every rank runs the same number
    count = int(iterations)
    dist.barrier()
    start, cpu_start = time.perf_counter(), time.process_time()  # process_time: every thread of this process
    for _ in range(count):
        dist.all_reduce(tensor)
    mean = torch.tensor([(time.perf_counter() - start) / count], dtype=torch.float64)
    cpu = torch.tensor([(time.process_time() - cpu_start) / count], dtype=torch.float64)
    dist.all_reduce(mean, op=dist.ReduceOp.MAX)
    dist.all_reduce(cpu)  # summed over the ranks
    return count, float(mean), float(cpu), wrong


def rank_main(rank, world, port, sizes, dtypes, seconds):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    if rank == 0:
        print(f"gloo allreduce: {world} ranks over TCP (127.0.0.1), torch {torch.__version__}, {os.cpu_count()} cores")
        print("busbw = algbw x 2(N-1)/N; GB/s = 1e9 B/s; time is the slowest rank's mean; cpu is the CPU time of all ranks' processes per all-reduce")
        print(f"{'size (B)':>12} {'count':>11} {'type':>5} {'iters':>6} {'time (us)':>11} {'algbw GB/s':>11} {'busbw GB/s':>11} {'cpu (us)':>11} {'#wrong':>7}")
    for name in dtypes:
        dtype = torch.float32 if name == "f32" else torch.bfloat16
        element = 4 if name == "f32" else 2
        for mib in sizes:
            count = max(1, round(mib * 1024 * 1024 / element))
            nbytes = count * element
            iters, mean, cpu, wrong = measure(values(count, rank, dtype), seconds, world)
            algbw = nbytes / mean / 1e9
            if rank == 0:
                print(f"{nbytes:>12} {count:>11} {name:>5} {iters:>6} {mean * 1e6:>11.1f} {algbw:>11.3f} {algbw * 2 * (world - 1) / world:>11.3f} {cpu * 1e6:>11.1f} {wrong:>7}",
                      flush=True)
            if wrong:
                raise SystemExit(f"gloo allreduce: {wrong} wrong values at {nbytes} bytes ({name}) on rank {rank}")
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--size", type=float, nargs="+", default=DEFAULT_SIZES_MIB, help="sizes in MiB")
    parser.add_argument("--dtype", choices=["f32", "bf16", "both"], default="f32")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dtypes = ["f32", "bf16"] if args.dtype == "both" else [args.dtype]
    mp.spawn(rank_main, args=(args.nproc, port, args.size, dtypes, args.seconds), nprocs=args.nproc, join=True)


if __name__ == "__main__":
    main()
