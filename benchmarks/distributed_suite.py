"""The distributed kernels of examples/distributed/, checked and timed against torch.

Each case is checked against torch on the same inputs and timed beside a torch
reference, in one of two modes:

- one rank a GPU, under torchrun (every GPU of one machine):
      torchrun --nproc-per-node=N -m benchmarks.distributed_suite [--quick] [--json F]
  Reference times are torch + NCCL, with no overlap (what the kernels overlap):
  all-reduce: dist.all_reduce; AG-GEMM: dist.all_gather_into_tensor then one matmul;
  GEMM-RS: one matmul then dist.reduce_scatter_tensor; the MoE all-to-all is checked
  but not timed against NCCL yet. A repetition starts with a barrier and counts as
  the slowest rank's time (a collective ends when its last rank does).
- loopback, N ranks on this process's one GPU (LoopbackWorld), no torchrun:
      python3 -m benchmarks.distributed_suite --loopback N [--quick] [--json F]
  The same kernels and checks, as a smoke test of the GPU path: the ranks share the
  GPU's SMs and memory and a peer's copy is local memory, so the times are not
  communication figures. Reference times are torch computing every rank's results
  on this GPU with no communication, one op a case: all-reduce: one sum of the N
  inputs stacked; AG-GEMM: one matmul of the gathered A by the ranks' B side by
  side; GEMM-RS: one matmul of the ranks' A side by side by their B stacked (its
  rows are the ranks' outputs); MoE: every token times its expert's weights.

`bash scripts/distributed-suite.sh [--quick]` picks the mode by the GPUs it finds.
The check of a case compares every rank's output with a float32 torch reference
computed from every rank's inputs (relative error, Frobenius); each row says whether
it passed and any failure makes the exit status 1. Times: CUDA events, the median of
30 repetitions after 5 of warm-up (tile / reference speed: the reference's time over
tile's). Grids fit on the GPU at once (in loopback,
programs_per_rank()), as a program waits for peers' programs; a tile.wait that lasts
10 s stops its kernel, so a flag never set is a failed row in loopback (the rest
fail after it: the CUDA context is lost) and a failed job under torchrun, not a
hang. NVLink multicast stays off (every world sets NCCL_NVLS_ENABLE=0 and PyTorch's
and NVSHMEM's switches).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import tile
import tile.distributed

from .examples import load

WARMUP, REPS = 5, 30
TILE_M, TILE_N, TILE_K = 128, 128, 64  # the GEMMs' tiles, as the loopback tests take them
LOCAL_EXPERTS = 2  # MoE experts a rank
MOE_HIDDEN_BLOCK = 32  # hidden dims a step of the MoE kernel
LOOPBACK_RANKS = range(2, 9)  # the world sizes the tests run


# -- the references: each rank's expected output from every rank's inputs -------------
def relative_error(out, ref) -> float:
    """|out - ref| / |ref| (Frobenius, float32); a NaN or inf anywhere is inf."""
    error = float((out.float() - ref.float()).norm() / max(float(ref.float().norm()), 1e-30))
    return error if math.isfinite(error) else math.inf


def allreduce_expected(inputs):
    """Every rank's output: the sum of the ranks' inputs."""
    import torch
    return torch.stack([x.float() for x in inputs]).sum(0)


def ag_gemm_expected(a_everyone, b):
    """A rank's C: the ranks' A gathered in rank order, times its own B."""
    import torch
    return torch.cat([a.float() for a in a_everyone]) @ b.float()


def gemm_rs_expected(a_everyone, b_everyone):
    """The sum over ranks q of A_q @ B_q; rank r's output is its r-th block of rows."""
    return sum(a.float() @ b.float() for a, b in zip(a_everyone, b_everyone))


def moe_expected(x, expert, scales_everyone):
    """A rank's Out: each of its tokens times its expert's weights (expert e is row
    e % LOCAL_EXPERTS of rank e // LOCAL_EXPERTS's Scale)."""
    import torch
    return x.float() * torch.cat(scales_everyone).float()[expert.long()]


def random_input(device, rank: int, which: int, shape, dtype):
    """Rank `rank`'s input number `which`: the same in both modes and on every run."""
    import torch
    generator = torch.Generator(device=device).manual_seed(1000 * rank + which)
    return torch.randn(shape, generator=generator, device=device, dtype=dtype)


def random_experts(device, rank: int, which: int, tokens: int, experts: int):
    """Rank `rank`'s tokens' experts (int32), like `random_input`."""
    import torch
    generator = torch.Generator(device=device).manual_seed(1000 * rank + which)
    return torch.randint(0, experts, (tokens,), generator=generator, device=device,
                         dtype=torch.int32)


# -- grids and shapes ------------------------------------------------------------------
def grid_for(span: int, programs_limit: int, least_block: int) -> tuple[int, int]:
    """(programs, block) covering `span` elements with at most `programs_limit`
    programs (all of them resident: a program waits for peers'), a block of at
    least `least_block` where the span allows and a power of two (a tile's length)."""
    programs = max(1, min(programs_limit, span // least_block))
    block = -(-span // programs)
    block = 1 << (block - 1).bit_length()
    return -(-span // block), block


def allreduce_warps(block: int) -> int:
    """Warps for an all-reduce block: 4 up to 4096 elements, then one a 1024 (few
    programs a rank, as in loopback worlds of many ranks, make long blocks, which
    spill with 4 warps at 16384)."""
    return min(16, max(4, block // 1024))


def suite_shapes(size: int, quick: bool) -> dict:
    """The cases' shapes for a world of `size` ranks: the GEMMs' M is about 8192
    (each rank's rows a multiple of TILE_M), the all-reduce vector a multiple of size."""
    rows = 1024 if quick else max(TILE_M, 8192 // size // TILE_M * TILE_M)
    vector = (1 << 16 if quick else 1 << 18) // size * size
    return dict(vector=vector, rows=rows, k=4096, n=4096, tokens=2048 if quick else 4096,
                hidden=1024)


# -- where the ranks run -----------------------------------------------------------------
class LoopbackRanks:
    """Every rank of a LoopbackWorld: one process, one GPU. Per-rank values are lists
    of all the ranks' values."""

    mode = "loopback"
    reports_failures = True  # a failed case is a row; the suite goes on

    def __init__(self, world):
        self.world, self.size, self.device = world, world.size, world.device
        self.held = list(range(world.size))
        self.prints = True

    def per_rank(self, make) -> list:
        return [make(rank) for rank in range(self.size)]

    def everyone(self, values) -> list:
        return list(values)

    def copies(self, array) -> list:
        return list(array.arrays)

    def worst(self, error: float) -> float:
        return error

    def programs_per_rank(self) -> int:
        return self.world.programs_per_rank()

    def reference(self, nccl, one_gpu):
        return one_gpu()

    def synchronize(self) -> None:
        import torch
        torch.cuda.synchronize(self.device)

    def timed(self, run) -> float:
        """Median over REPS of `run()`'s time in ms on the current stream, which
        LoopbackWorld.launch makes wait for every rank's stream."""
        import torch
        for _ in range(WARMUP):
            run()
        times = []
        for _ in range(REPS):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        return statistics.median(times)

    def device_name(self) -> str:
        import torch
        return torch.cuda.get_device_name(self.device)

    def title(self) -> str:
        return (f"{self.device_name()}: {self.size} loopback ranks on one GPU. A smoke test: "
                "the ranks share this GPU's SMs and memory and a peer's copy is local "
                "memory, so the times are not communication figures. Reference: torch "
                "computing every rank's results on this GPU, no communication.")

    def close(self) -> None:
        pass


class TorchrunRanks:
    """This process's rank of a torchrun world, one rank a GPU. Per-rank values are
    lists whose every entry is this rank's value (launch reads its own index)."""

    mode = "torchrun"
    reports_failures = False  # a rank that stops ends the job; its peers' collectives would hang

    def __init__(self, world):
        import torch
        self.world, self.size, self.rank = world, world.size, world.rank
        self.device = torch.device("cuda", torch.cuda.current_device())
        self.held = [world.rank]
        self.prints = world.rank == 0

    def per_rank(self, make) -> list:
        return [make(self.rank)] * self.size

    def everyone(self, values) -> list:
        import torch
        import torch.distributed as dist
        mine = values[self.rank].contiguous()
        gathered = [torch.empty_like(mine) for _ in range(self.size)]
        dist.all_gather(gathered, mine, group=self.world.group)
        return gathered

    def copies(self, array) -> list:
        return [array.local] * self.size

    def worst(self, error: float) -> float:
        import torch
        import torch.distributed as dist
        worst = torch.tensor([error], device=self.device, dtype=torch.float64)
        dist.all_reduce(worst, op=dist.ReduceOp.MAX, group=self.world.group)
        return float(worst)

    def programs_per_rank(self) -> int:
        import torch
        return torch.cuda.get_device_properties(self.device).multi_processor_count

    def reference(self, nccl, one_gpu):
        return nccl()

    def synchronize(self) -> None:
        import torch
        torch.cuda.synchronize()

    def timed(self, run) -> float:
        """Median over REPS of the slowest rank's time of `run()`, in ms."""
        import torch
        import torch.distributed as dist
        for _ in range(WARMUP):
            run()
        times = []
        for _ in range(REPS):
            dist.barrier(group=self.world.group)
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run()
            end.record()
            torch.cuda.synchronize()
            slowest = torch.tensor([start.elapsed_time(end)], device=self.device)
            dist.all_reduce(slowest, op=dist.ReduceOp.MAX, group=self.world.group)
            times.append(float(slowest))
        return statistics.median(times)

    def device_name(self) -> str:
        import torch
        return torch.cuda.get_device_name(self.device)

    def title(self) -> str:
        return f"{self.device_name()} x {self.size}, one rank a GPU (torchrun)"

    def close(self) -> None:
        import torch.distributed as dist
        dist.destroy_process_group()


# -- the cases ----------------------------------------------------------------------------
def checked_and_timed(ranks, run, error_of, tolerance: float, reference) -> dict:
    """Runs `run` once and checks every held rank's output (`error_of(rank)`: its
    relative error), times it, checks again after the timed launches (their flags
    count on from the first's) and times `reference` ((label, function or None))."""
    def worst_error():
        ranks.synchronize()
        return ranks.worst(max(error_of(rank) for rank in ranks.held))
    run()
    first = worst_error()
    tile_ms = ranks.timed(run)
    error = max(first, worst_error())
    label, baseline = reference
    return dict(error=error, correct=error <= tolerance, tile_ms=tile_ms, reference=label,
                reference_ms=ranks.timed(baseline) if baseline else None)


def allreduce_case(ranks, n: int, two_shot: bool) -> dict:
    import torch
    import torch.distributed as dist
    allreduce = load("allreduce", "distributed")
    world, size, device = ranks.world, ranks.size, ranks.device
    kernel = allreduce.allreduce_two_shot if two_shot else allreduce.allreduce_one_shot
    programs, block = grid_for(n // size if two_shot else n, ranks.programs_per_rank(), 1024)
    inputs = ranks.per_rank(lambda r: random_input(device, r, 0, (n,), torch.float32))
    x = world.zeros((n,), torch.float32)
    flags = world.zeros((2 * size * programs,), torch.int32)
    if two_shot:  # each chunk's owner stores its sum into every rank's Out
        out = world.zeros((n,), torch.float32)
        outputs = ranks.copies(out)
    else:
        outputs = ranks.per_rank(lambda r: torch.empty(n, device=device))
    epoch = [1]

    def run():
        world.launch(kernel, (programs,),
                     lambda r: (inputs[r], x, out if two_shot else outputs[r], flags, epoch[0]),
                     BLOCK=block, num_warps=allreduce_warps(block))
        epoch[0] += 2  # each launch meets twice

    def nccl():
        buffer = inputs[ranks.rank].clone()
        return "NCCL all_reduce", lambda: dist.all_reduce(buffer, group=world.group)

    def one_gpu():
        stacked, total = torch.stack(inputs), torch.empty(n, device=device)
        return "torch.sum of the N inputs", lambda: torch.sum(stacked, 0, out=total)
    expected = allreduce_expected(ranks.everyone(inputs))
    return checked_and_timed(ranks, run, lambda r: relative_error(outputs[r], expected), 1e-5,
                             ranks.reference(nccl, one_gpu))


def ag_gemm_case(ranks, rows: int, k: int, n: int) -> dict:
    import torch
    import torch.distributed as dist
    ag_gemm = load("ag_gemm", "distributed")
    world, size, device, bf16 = ranks.world, ranks.size, ranks.device, torch.bfloat16
    a = ranks.per_rank(lambda r: random_input(device, r, 0, (rows, k), bf16))
    b = ranks.per_rank(lambda r: random_input(device, r, 1, (k, n), bf16))
    c = ranks.per_rank(lambda r: torch.empty(size * rows, n, device=device, dtype=bf16))
    full = world.zeros((size * rows, k), bf16)
    ready = world.zeros((size,), torch.int32)
    programs = ranks.programs_per_rank()
    done = world.zeros((2 * size * programs,), torch.int32)
    epoch = [1]

    def run():
        ag_gemm.launch(world, a, full, b, c, ready, done, epoch[0], programs, TILE_M, TILE_N,
                       TILE_K)
        epoch[0] += 1

    def nccl():
        gathered = torch.empty(size * rows, k, device=device, dtype=bf16)

        def gather_then_matmul():
            dist.all_gather_into_tensor(gathered, a[ranks.rank], group=world.group)
            return gathered @ b[ranks.rank]
        return "NCCL all_gather + cuBLAS", gather_then_matmul

    def one_gpu():
        gathered, b_side_by_side = torch.cat(a), torch.cat(b, dim=1)
        result = torch.empty(size * rows, size * n, device=device, dtype=bf16)
        return "cuBLAS gathered A @ [B_0 .. B_N-1]", \
            lambda: torch.matmul(gathered, b_side_by_side, out=result)
    a_everyone = ranks.everyone(a)
    return checked_and_timed(ranks, run,
                             lambda r: relative_error(c[r], ag_gemm_expected(a_everyone, b[r])),
                             1e-2, ranks.reference(nccl, one_gpu))


def gemm_rs_case(ranks, rows: int, k: int, n: int) -> dict:
    import torch
    import torch.distributed as dist
    gemm_rs = load("gemm_rs", "distributed")
    world, size, device, bf16 = ranks.world, ranks.size, ranks.device, torch.bfloat16
    a = ranks.per_rank(lambda r: random_input(device, r, 0, (size * rows, k), bf16))
    b = ranks.per_rank(lambda r: random_input(device, r, 1, (k, n), bf16))
    out = ranks.per_rank(lambda r: torch.empty(rows, n, device=device))
    partial = world.zeros((size, rows, n), torch.float32)
    ready = world.zeros((size,), torch.int32)
    programs = ranks.programs_per_rank()
    done = world.zeros((2 * size * programs,), torch.int32)
    epoch = [1]

    def run():
        # 8 warps: with 4 the scatter of a 128 x 128 f32 tile to its owner spills.
        gemm_rs.launch(world, a, b, partial, out, ready, done, epoch[0], programs, TILE_M,
                       TILE_N, TILE_K, num_warps=8)
        epoch[0] += 1

    def nccl():
        mine = torch.empty(rows, n, device=device)
        return "cuBLAS + NCCL reduce_scatter", lambda: dist.reduce_scatter_tensor(
            mine, (a[ranks.rank] @ b[ranks.rank]).float(), group=world.group)

    def one_gpu():
        a_side_by_side, b_stacked = torch.cat(a, dim=1), torch.cat(b)
        result = torch.empty(size * rows, n, device=device, dtype=bf16)
        return "cuBLAS [A_0 .. A_N-1] @ stacked B", \
            lambda: torch.matmul(a_side_by_side, b_stacked, out=result)
    total = gemm_rs_expected(ranks.everyone(a), ranks.everyone(b))
    return checked_and_timed(
        ranks, run, lambda r: relative_error(out[r], total[r * rows:(r + 1) * rows]), 1e-2,
        ranks.reference(nccl, one_gpu))


def moe_case(ranks, tokens: int, hidden: int) -> dict:
    import torch
    moe = load("moe_all_to_all", "distributed")
    world, size, device, bf16 = ranks.world, ranks.size, ranks.device, torch.bfloat16
    programs, block = grid_for(tokens, ranks.programs_per_rank(), 32)
    x = ranks.per_rank(lambda r: random_input(device, r, 0, (tokens, hidden), bf16))
    expert = ranks.per_rank(lambda r: random_experts(device, r, 1, tokens, size * LOCAL_EXPERTS))
    scales = ranks.per_rank(lambda r: random_input(device, r, 2, (LOCAL_EXPERTS, hidden), bf16))
    recv = world.zeros((size, tokens, hidden), bf16)
    recv_expert = world.zeros((size, tokens), torch.int32)
    arrived, returned = world.zeros((size,), torch.int32), world.zeros((size,), torch.int32)
    done = world.zeros((2 * size * programs,), torch.int32)
    out = world.zeros((tokens, hidden), bf16)  # every token comes back: a zero row is a miss
    outputs = ranks.copies(out)
    epoch = [1]

    def run():
        world.launch(moe.moe_all_to_all, (programs,),
                     lambda r: (x[r], expert[r], scales[r], recv, recv_expert, out, arrived,
                                returned, done, epoch[0]),
                     BT=block, BH=MOE_HIDDEN_BLOCK, num_warps=8)  # 4 spill
        epoch[0] += 1

    def one_gpu():
        tokens_all, experts_all = torch.cat(x), torch.cat(expert).long()
        weights, result = torch.cat(scales), torch.empty(size * tokens, hidden, device=device,
                                                         dtype=bf16)
        return "torch tokens * expert weights", lambda: torch.mul(
            tokens_all, weights.index_select(0, experts_all), out=result)
    scales_everyone = ranks.everyone(scales)
    return checked_and_timed(
        ranks, run, lambda r: relative_error(outputs[r], moe_expected(x[r], expert[r],
                                                                      scales_everyone)),
        1e-2, ranks.reference(lambda: ("not timed against NCCL yet", None), one_gpu))


@dataclass(frozen=True)
class Case:
    label: str  # the table's first column
    run: Callable  # run(ranks, **shape) -> the row's check and times
    shape: dict


def cases(size: int, shapes: dict) -> list[Case]:
    """The suite, one row a case, for a world of `size` ranks."""
    vector, rows, k, n = shapes["vector"], shapes["rows"], shapes["k"], shapes["n"]
    tokens, hidden = shapes["tokens"], shapes["hidden"]
    kib = f"{vector * 4 / 1024:g} KiB f32"
    return [Case(f"allreduce one-shot {kib}", allreduce_case, dict(n=vector, two_shot=False)),
            Case(f"allreduce two-shot {kib}", allreduce_case, dict(n=vector, two_shot=True)),
            Case(f"AG-GEMM {size * rows}x{n}x{k} bf16", ag_gemm_case, dict(rows=rows, k=k, n=n)),
            Case(f"GEMM-RS {size * rows}x{n}x{k} bf16", gemm_rs_case, dict(rows=rows, k=k, n=n)),
            Case(f"MoE all-to-all {tokens}x{hidden} bf16, top-1 of {size * LOCAL_EXPERTS} "
                 "experts", moe_case, dict(tokens=tokens, hidden=hidden))]


def run_cases(ranks, planned: list[Case]) -> list[dict]:
    results = []
    for case in planned:
        try:
            result = case.run(ranks, **case.shape)
        except Exception as e:
            if not ranks.reports_failures:
                raise
            message = " ".join(str(e).split())[:160] or "no message"
            result = dict(error=None, correct=False, tile_ms=None, reference=None,
                          reference_ms=None, failure=f"{type(e).__name__}: {message}")
        results.append(dict(case=case.label, ranks=ranks.size, **result))
    return results


# -- the table ----------------------------------------------------------------------------
REFERENCE_COLUMN = {"torchrun": "torch + NCCL", "loopback": "torch, one GPU, no communication"}


def check_cell(r: dict) -> str:
    if r.get("failure"):
        return "FAILED: " + r["failure"].replace("|", "/")
    return f"{'passed' if r['correct'] else 'FAILED'}, rel err {r['error']:.1e}"


def row(r: dict) -> str:
    def us(ms):
        return "—" if ms is None else f"{ms * 1e3:.1f} µs"
    reference = "—" if r["reference"] is None else f"{r['reference']} {us(r['reference_ms'])}"
    ratio = (f"{r['reference_ms'] / r['tile_ms']:.3f} ×"
             if r["tile_ms"] and r["reference_ms"] is not None else "—")
    return f"| {r['case']} | {r['ranks']} | {check_cell(r)} | {us(r['tile_ms'])} | " \
           f"{reference} | {ratio} |"


def table(title: str, mode: str, results: list[dict]) -> str:
    return "\n".join([title, f"| case | ranks | check | tile | {REFERENCE_COLUMN[mode]} | "
                      "tile / reference speed |", "|---|---|---|---|---|---|",
                      *(row(r) for r in results)])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes")
    parser.add_argument("--json", help="where to write the results (rank 0 under torchrun)")
    parser.add_argument("--loopback", type=int, metavar="N",
                        help="N ranks on this process's one GPU, without torchrun: a smoke "
                             "test, not communication figures")
    args = parser.parse_args(argv)
    if args.loopback is not None:
        if args.loopback not in LOOPBACK_RANKS:
            parser.error(f"--loopback takes {LOOPBACK_RANKS.start} to "
                         f"{LOOPBACK_RANKS.stop - 1} ranks, got {args.loopback}")
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            parser.error("--loopback runs its ranks in one process: start it without torchrun")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.loopback is not None:
        ranks = LoopbackRanks(tile.distributed.LoopbackWorld(args.loopback))
    else:
        ranks = TorchrunRanks(tile.distributed.init())
    results = run_cases(ranks, cases(ranks.size, suite_shapes(ranks.size, args.quick)))
    if ranks.prints:
        print(table(ranks.title(), ranks.mode, results))
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"mode": ranks.mode, "device": ranks.device_name(), "ranks": ranks.size,
                 "multicast": os.environ.get("NCCL_NVLS_ENABLE"), "results": results},
                indent=1))
    ranks.close()
    return 0 if all(r["correct"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
