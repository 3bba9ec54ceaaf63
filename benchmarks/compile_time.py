"""Cold compile time, Python source -> cubin, with every cache off: tile vs
Triton compiling the equivalent kernel, in one process. tile's time is split
by stage (frontend, tile passes, LLVM/NVPTX, ptxas) from the driver's timers.

Measured kernel: vector add (BLOCK 1024, 4 warps, f32, 16-byte aligned) — the
kernel tile compiles to PTX today; GEMM and attention join this file when their
lowering lands. The tile kernel's result is checked on the GPU in the same run.
Each side compiles once to warm up (imports, context set-up), then `REPS`
times; the median is reported.
    python3 benchmarks/compile_time.py
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

REPS = 5
STAGES = ("frontend", "tile_passes", "llvm_nvptx", "ptxas")
SIGNATURE = ("*f32:16", "*f32:16", "*f32:16", "i32:16")


def tile_compile_seconds() -> tuple[float, dict, object]:
    import tile
    from vector_add import add
    start = time.perf_counter()
    kernel = tile.jit(add.fn).compile(*SIGNATURE, BLOCK=1024)  # a fresh in-memory cache
    total = time.perf_counter() - start
    seconds = dict(kernel.metadata["stage_seconds"])
    seconds["frontend"] += seconds.pop("parse")  # AST -> IR text, and parsing/verifying it
    return total, seconds, kernel


def triton_compile_seconds() -> float | None:
    try:
        import triton
        import triton.language as tlang
    except ImportError:
        return None

    def triton_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tlang.constexpr):
        offsets = tlang.program_id(0) * BLOCK + tlang.arange(0, BLOCK)
        mask = offsets < n
        a = tlang.load(x_ptr + offsets, mask=mask)
        b = tlang.load(y_ptr + offsets, mask=mask)
        tlang.store(out_ptr + offsets, a + b, mask=mask)
    import torch
    x = torch.empty(4096, device="cuda")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TRITON_CACHE_DIR"] = cache
        start = time.perf_counter()
        compiled = triton.jit(triton_add).warmup(x, x, x, 4096, BLOCK=1024, grid=(1,))
        total = time.perf_counter() - start
    assert compiled.asm.get("cubin"), "Triton produced no cubin"
    return total


def bench() -> dict:
    saved = {k: os.environ.get(k) for k in ("TILE_CACHE", "TRITON_ALWAYS_COMPILE",
                                            "TRITON_CACHE_DIR")}
    os.environ.update(TILE_CACHE="0", TRITON_ALWAYS_COMPILE="1")
    try:
        tile_compile_seconds(), triton_compile_seconds()  # warm-up
        tile_runs = [tile_compile_seconds() for _ in range(REPS)]
        triton_runs = [triton_compile_seconds() for _ in range(REPS)]
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    tile_total = statistics.median(t for t, _, _ in tile_runs)
    stages = {s: statistics.median(r[1].get(s, 0.0) for r in tile_runs) for s in STAGES}
    result = {"case": "cold compile, vector add", "tile_s": tile_total, "stages_s": stages,
              "correct": check(tile_runs[-1][2])}
    if triton_runs[0] is not None:
        import triton
        result.update(triton_s=statistics.median(triton_runs),
                      vs_triton=tile_total / statistics.median(triton_runs),
                      triton_version=triton.__version__)
    return result


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


if __name__ == "__main__":
    print(json.dumps(bench(), indent=2))
