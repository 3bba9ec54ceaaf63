"""The distributed kernels of examples/distributed/ on every GPU of one machine, each
checked against torch + NCCL on the same inputs and timed beside it in one run:

    bash scripts/distributed-suite.sh [--quick]   # the tests, then this under torchrun

or, from the repository's root, `torchrun --nproc-per-node=N -m benchmarks.distributed_suite
[--quick] [--json F]`.
Every rank runs every case; rank 0 prints a row a case (kernel, shape, GPUs, tile,
torch + NCCL, ratio, check) and writes the JSON. NVLink multicast stays off
(tile.distributed.init sets NCCL_NVLS_ENABLE=0 and PyTorch's and NVSHMEM's switches).

Timing: each repetition starts with a barrier, is timed with CUDA events on every
rank, and counts as the slowest rank's time (a collective ends when its last rank
does); the median over repetitions after warm-up. References: all-reduce is
dist.all_reduce; AG-GEMM dist.all_gather_into_tensor then one matmul; GEMM-RS one
matmul then dist.reduce_scatter_tensor (no overlap: what the kernels overlap). The
MoE all-to-all is checked by the loopback tests, not timed here yet.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import tile
import tile.distributed

from .examples import load

WARMUP, REPS = 5, 30


def timed(world, run) -> float:
    """Median over REPS of the slowest rank's time of `run()`, in ms."""
    import torch
    import torch.distributed as dist
    for _ in range(WARMUP):
        run()
    times = []
    for _ in range(REPS):
        dist.barrier(group=world.group)
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        torch.cuda.synchronize()
        slowest = torch.tensor([start.elapsed_time(end)], device="cuda")
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX, group=world.group)
        times.append(float(slowest))
    return statistics.median(times)


def agreed(world, ok: bool) -> bool:
    """Whether every rank's check passed."""
    import torch
    import torch.distributed as dist
    flag = torch.tensor([0 if ok else 1], device="cuda")
    dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=world.group)
    return int(flag) == 0


def relative_error(out, ref) -> float:
    return float((out.float() - ref.float()).norm() / max(float(ref.float().norm()), 1e-30))


def allreduce_cases(world, n: int) -> list[dict]:
    import torch
    import torch.distributed as dist
    allreduce = load("allreduce", "distributed")
    size, rank = world.size, world.rank
    torch.manual_seed(rank)
    local = torch.randn(n, device="cuda")
    reference = local.clone()
    dist.all_reduce(reference, group=world.group)
    x = world.zeros((n,), torch.float32)
    out = world.zeros((n,), torch.float32)
    flags = world.zeros((2 * 132 * size,), torch.int32)
    rows = []
    for name, kernel, symmetric_out, span in (("one-shot", allreduce.allreduce_one_shot, False, n),
                                               ("two-shot", allreduce.allreduce_two_shot, True,
                                                n // size)):
        programs = max(1, min(132, span // 1024))
        block = -(-span // programs)
        block = 1 << (block - 1).bit_length()  # a power of two covering the span
        result = out.local if symmetric_out else torch.empty_like(local)
        epoch = [1]

        def run(kernel=kernel, symmetric_out=symmetric_out, result=result):
            target = out if symmetric_out else result
            world.launch(kernel, (programs,), lambda r: (local, x, target, flags, epoch[0]),
                         BLOCK=block)
            epoch[0] += 2  # each launch meets twice
        run()
        torch.cuda.synchronize()
        error = relative_error(result, reference)
        ok = agreed(world, error < 1e-5)
        tile_ms = timed(world, run)
        nccl = local.clone()
        nccl_ms = timed(world, lambda: dist.all_reduce(nccl, group=world.group))
        rows.append(dict(case=f"allreduce {name} {n * 4 >> 10} KiB f32", gpus=size,
                         tile_ms=tile_ms, reference="NCCL all_reduce", reference_ms=nccl_ms,
                         error=error, correct=ok))
    return rows


def ag_gemm_case(world, rows: int, k: int, n: int) -> dict:
    import torch
    import torch.distributed as dist
    ag_gemm = load("ag_gemm", "distributed")
    size, rank = world.size, world.rank
    torch.manual_seed(rank)
    a = torch.randn(rows, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
    c = torch.empty(size * rows, n, device="cuda", dtype=torch.bfloat16)
    full = world.zeros((size * rows, k), torch.bfloat16)
    ready = world.zeros((size,), torch.int32)
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    done = world.zeros((2 * size * programs,), torch.int32)
    epoch = [1]

    def run():
        ag_gemm.launch(world, [a] * size, full, [b] * size, [c] * size, ready, done,
                       epoch[0], programs, 128, 128, 64)  # [x] * size: this rank's x at its index
        epoch[0] += 1
    run()
    gathered = torch.empty(size * rows, k, device="cuda", dtype=torch.bfloat16)
    dist.all_gather_into_tensor(gathered, a, group=world.group)
    error = relative_error(c, gathered @ b)
    ok = agreed(world, error < 1e-2)
    tile_ms = timed(world, run)

    def reference():
        dist.all_gather_into_tensor(gathered, a, group=world.group)
        return gathered @ b
    return dict(case=f"AG-GEMM {size * rows}x{n}x{k} bf16", gpus=size, tile_ms=tile_ms,
                reference="NCCL all_gather + cuBLAS", reference_ms=timed(world, reference),
                error=error, correct=ok)


def gemm_rs_case(world, rows: int, k: int, n: int) -> dict:
    import torch
    import torch.distributed as dist
    gemm_rs = load("gemm_rs", "distributed")
    size, rank = world.size, world.rank
    torch.manual_seed(rank)
    a = torch.randn(size * rows, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
    out = torch.empty(rows, n, device="cuda")
    partial = world.zeros((size, rows, n), torch.float32)
    ready = world.zeros((size,), torch.int32)
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    done = world.zeros((2 * size * programs,), torch.int32)
    epoch = [1]

    def run():
        gemm_rs.launch(world, [a] * size, [b] * size, partial, [out] * size, ready, done,
                       epoch[0], programs, 128, 128, 64, num_warps=8)
        epoch[0] += 1
    run()
    mine = torch.empty(rows, n, device="cuda")

    def reference():
        dist.reduce_scatter_tensor(mine, (a @ b).float(), group=world.group)
        return mine
    error = relative_error(out, reference())
    ok = agreed(world, error < 1e-2)
    return dict(case=f"GEMM-RS {size * rows}x{n}x{k} bf16", gpus=size,
                tile_ms=timed(world, run), reference="cuBLAS + NCCL reduce_scatter",
                reference_ms=timed(world, reference), error=error, correct=ok)


def row(r: dict) -> str:
    check = f"rel err {r['error']:.1e}" if r["correct"] else f"WRONG: rel err {r['error']:.1e}"
    return (f"| {r['case']} | {r['gpus']} | {check} | {r['tile_ms'] * 1e3:.1f} µs | "
            f"{r['reference']} {r['reference_ms'] * 1e3:.1f} µs | "
            f"{r['reference_ms'] / r['tile_ms']:.3f} × |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes")
    parser.add_argument("--json", help="rank 0 writes the results here")
    args = parser.parse_args(argv)
    world = tile.distributed.init()
    rows_per_rank = 1024 if args.quick else 8192 // world.size
    results = allreduce_cases(world, 1 << 16 if args.quick else 1 << 18)
    results.append(ag_gemm_case(world, rows_per_rank, 4096, 4096))
    results.append(gemm_rs_case(world, rows_per_rank, 4096, 4096))
    if world.rank == 0:
        import torch
        print(f"{torch.cuda.get_device_name(0)} x {world.size}")
        print("| case | GPUs | check | tile | torch + NCCL | tile / reference speed |")
        print("|---|---|---|---|---|---|")
        for r in results:
            print(row(r))
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"device": torch.cuda.get_device_name(0), "gpus": world.size,
                 "multicast": os.environ.get("NCCL_NVLS_ENABLE"), "results": results}, indent=1))
    import torch.distributed as dist
    dist.destroy_process_group()
    return 0 if all(r["correct"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
