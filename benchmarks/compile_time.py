"""Cold compile time, Python source -> cubin, with every cache off: tile vs
Triton compiling the equivalent kernel, in one process. tile's time is split
by stage (frontend, tile passes, LLVM/NVPTX, ptxas) from the driver's timers.

Measured kernels: vector add (BLOCK 1024, 4 warps, f32, 16-byte aligned) and
the bf16 GEMM of examples/gemm.py (128x256x64 tiles, 8 warps, 3 stages) against
Triton's tutorial matmul with the same tiles, and attention forward (d128,
non-causal, 128x128 blocks, 8 warps, 2 stages) against the Triton attention
kernel of benchmarks/triton_ref.py with the same blocks. tile's kernels are
checked on the GPU in the same run.
Each side compiles once to warm up (imports, context set-up), then `REPS`
times; the median is reported.
    python3 benchmarks/run.py --only compile
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time

from . import examples

REPS = 5
STAGES = ("frontend", "tile_passes", "llvm_nvptx", "ptxas")
SIGNATURE = ("*f32:16", "*f32:16", "*f32:16", "i32:16")


def timed_compile(kernel, signature: tuple, **options) -> tuple[float, dict, object]:
    """Seconds tile takes to compile `kernel`'s function, in all and by stage,
    and the compiled kernel."""
    import tile
    start = time.perf_counter()
    compiled = tile.jit(kernel.fn).compile(*signature, **options)  # a fresh in-memory cache
    total = time.perf_counter() - start
    seconds = dict(compiled.metadata["stage_seconds"])
    seconds["frontend"] += seconds.pop("parse")  # AST -> IR text, and parsing/verifying it
    return total, seconds, compiled


def tile_compile_seconds() -> tuple[float, dict, object]:
    return timed_compile(examples.vector_add.add, SIGNATURE, BLOCK=1024)


def triton_compile_seconds() -> float | None:
    try:
        import triton

        from .triton_ref import vector_add
    except ImportError:
        return None
    import torch
    x = torch.empty(4096, device="cuda")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TRITON_CACHE_DIR"] = cache
        start = time.perf_counter()
        compiled = triton.jit(vector_add).warmup(x, x, x, 4096, BLOCK=1024, grid=(1,))
        total = time.perf_counter() - start
    assert compiled.asm.get("cubin"), "Triton produced no cubin"
    return total


GEMM_SIGNATURE = ("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16")
GEMM_BLOCKS = dict(BM=128, BN=256, BK=64)


def tile_gemm_seconds() -> tuple[float, dict, object]:
    return timed_compile(examples.gemm.gemm, GEMM_SIGNATURE, **GEMM_BLOCKS, num_warps=8)


def triton_gemm_seconds() -> float | None:
    try:
        import triton
        import triton.language as tlang
    except ImportError:
        return None

    def matmul(a_ptr, b_ptr, c_ptr, M, N, K, sam, sak, sbk, sbn, scm, scn,
               BM: tlang.constexpr, BN: tlang.constexpr, BK: tlang.constexpr):
        rm = tlang.program_id(0) * BM + tlang.arange(0, BM)
        rn = tlang.program_id(1) * BN + tlang.arange(0, BN)
        rk = tlang.arange(0, BK)
        acc = tlang.zeros((BM, BN), dtype=tlang.float32)
        for k in range(0, K, BK):
            a = tlang.load(a_ptr + rm[:, None] * sam + (k + rk)[None, :] * sak,
                           mask=(rm[:, None] < M) & ((k + rk)[None, :] < K), other=0.0)
            b = tlang.load(b_ptr + (k + rk)[:, None] * sbk + rn[None, :] * sbn,
                           mask=((k + rk)[:, None] < K) & (rn[None, :] < N), other=0.0)
            acc = tlang.dot(a, b, acc)
        tlang.store(c_ptr + rm[:, None] * scm + rn[None, :] * scn, acc.to(tlang.bfloat16),
                    mask=(rm[:, None] < M) & (rn[None, :] < N))
    import torch
    a = torch.empty(512, 512, device="cuda", dtype=torch.bfloat16)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TRITON_CACHE_DIR"] = cache
        start = time.perf_counter()
        compiled = triton.jit(matmul).warmup(a, a, a, 512, 512, 512, 512, 1, 512, 1, 512, 1,
                                             BM=128, BN=256, BK=64, num_warps=8, num_stages=3,
                                             grid=(1,))
        total = time.perf_counter() - start
    assert compiled.asm.get("cubin"), "Triton produced no cubin"
    return total


def check_gemm() -> bool:
    """Runs the same specialization (compiled again, cache off) against torch."""
    import torch
    import tile
    gemm = examples.gemm.gemm
    a = torch.randn(512, 384, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(384, 768, device="cuda", dtype=torch.bfloat16)
    c = torch.full((512, 768), float("nan"), device="cuda", dtype=torch.bfloat16)
    tile.jit(gemm.fn)[(4, 3)](a, b, c, **GEMM_BLOCKS, num_warps=8)
    ref = a.double() @ b.double()
    return float((c.double() - ref).norm() / ref.norm()) < 1e-2


ATTENTION_SIGNATURE = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32:16", "i32", "f32")
ATTENTION_BLOCKS = dict(BM=128, BN=128, D=128, CAUSAL=False, EVEN_SEQ=True)


def tile_attention_seconds() -> tuple[float, dict, object]:
    return timed_compile(examples.attention.attention_fwd, ATTENTION_SIGNATURE,
                         **ATTENTION_BLOCKS, num_warps=8, num_stages=2)


def triton_attention_seconds() -> float | None:
    try:
        import triton
        from . import triton_ref
    except ImportError:
        return None
    import torch
    q = torch.empty(1024, 128, device="cuda", dtype=torch.bfloat16)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TRITON_CACHE_DIR"] = cache
        start = time.perf_counter()
        fresh = triton.jit(triton_ref._attention_kernel.fn.fn)  # no in-memory kernel cache
        compiled = fresh.warmup(
            q, q, q, q, 1024, 0.1, D=128, CAUSAL=False, BM=128, BN=128, num_warps=8,
            num_stages=2, grid=(1,))
        total = time.perf_counter() - start
    assert compiled.asm.get("cubin"), "Triton produced no cubin"
    return total


def check_attention() -> bool:
    """Runs the same specialization (compiled again, cache off) against torch."""
    import math
    import torch
    import tile
    attention_fwd, reference = examples.attention.attention_fwd, examples.attention.reference
    heads, n, d = 2, 512, 128
    q, k, v = (torch.randn(heads * n, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    o = torch.full_like(q, float("nan"))
    tile.jit(attention_fwd.fn)[(n // 128, heads)](q, k, v, o, o, n, 1, 1 / math.sqrt(d),
                                                   **ATTENTION_BLOCKS, num_warps=8,
                                                   num_stages=2)
    ref = reference(q.view(heads, n, d), k.view(heads, n, d), v.view(heads, n, d),
                    1 / math.sqrt(d), False).reshape(heads * n, d)
    return float((o.float() - ref).norm() / ref.norm()) < 1e-2


def measure(case: str, tile_seconds, triton_seconds, check) -> dict:
    """Both sides compile once to warm up (imports, context set-up), then REPS
    times with every cache off; the medians, tile's per stage, and whether the
    last kernel tile built computes the right result."""
    saved = {k: os.environ.get(k) for k in ("TILE_CACHE", "TRITON_ALWAYS_COMPILE",
                                            "TRITON_CACHE_DIR")}
    os.environ.update(TILE_CACHE="0", TRITON_ALWAYS_COMPILE="1")
    try:
        tile_seconds(), triton_seconds()
        tile_runs = [tile_seconds() for _ in range(REPS)]
        triton_runs = [triton_seconds() for _ in range(REPS)]
        correct = check(tile_runs[-1][2])
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    tile_total = statistics.median(t for t, _, _ in tile_runs)
    stages = {s: statistics.median(r[1].get(s, 0.0) for r in tile_runs) for s in STAGES}
    result = {"case": case, "tile_s": tile_total, "stages_s": stages, "correct": correct}
    if triton_runs[0] is not None:
        import triton
        result.update(triton_s=statistics.median(triton_runs),
                      vs_triton=tile_total / statistics.median(triton_runs),
                      triton_version=triton.__version__)
    return result


def bench() -> dict:
    return measure("cold compile, vector add", tile_compile_seconds, triton_compile_seconds,
                   check)


def bench_gemm() -> dict:
    return measure("cold compile, GEMM 128x256x64", tile_gemm_seconds, triton_gemm_seconds,
                   lambda _: check_gemm())


def bench_attention() -> dict:
    return measure("cold compile, attention d128 128x128", tile_attention_seconds,
                   triton_attention_seconds, lambda _: check_attention())


def check(kernel) -> bool:
    """Launches the freshly compiled cubin once and compares with torch."""
    import torch
    from tile.runtime import driver
    from tile.runtime.launcher import Launcher, ParamPacker
    from tile.signature import parse_type_string
    n = 100_000
    x, y = torch.randn(n, device="cuda"), torch.randn(n, device="cuda")
    out = torch.full_like(x, float("nan"))
    specs = [(name, parse_type_string(t, name)) for name, t in zip("xyon", SIGNATURE)]
    packer = ParamPacker(kernel.name, specs, kernel.metadata["params"], [])
    loaded = driver.LoadedKernel(kernel.cubin, kernel.name, 0, 0)
    raw = [x.data_ptr(), n, 1, y.data_ptr(), n, 1, out.data_ptr(), n, 1, n]
    Launcher(loaded, packer, kernel.metadata["block"])(((n + 1023) // 1024, 1, 1),
                                                        torch.cuda.current_stream().cuda_stream,
                                                        raw)
    torch.cuda.synchronize()
    return torch.equal(out, x + y)


def row(r: dict) -> str:
    check = "exact" if r["correct"] else "WRONG"
    s = r["stages_s"]
    stages = (f"frontend {s['frontend'] * 1e3:.0f} ms, tile passes {s['tile_passes'] * 1e3:.0f}, "
              f"LLVM/NVPTX {s['llvm_nvptx'] * 1e3:.0f}, ptxas {s['ptxas'] * 1e3:.0f}")
    triton = f"Triton {r['triton_s']:.3f} s" if "triton_s" in r else "Triton absent"
    ratio = f"{r['vs_triton']:.2f}" if "vs_triton" in r else "—"
    return f"| {r['case']} | {check} | {r['tile_s']:.3f} s ({stages}) | {triton} | {ratio} |"

