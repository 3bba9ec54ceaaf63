"""Host launch overhead of a cached kernel: tile vs a raw cuLaunchKernel (the
same cubin and function, parameters prepacked) vs Triton's launch of the same
vector add, in one process. Each side's result is checked once, in this run.

Timing: `LAUNCHES` back-to-back launches of a 4096-element vector add (the GPU
finishes each faster than the host issues the next, so the host is measured),
repeated `REPEATS` times; the best mean per launch is reported.
    python3 benchmarks/launch_overhead.py
"""
from __future__ import annotations

import ctypes
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from vector_add import add  # noqa: E402

LAUNCHES, REPEATS, N, BLOCK = 5000, 5, 4096, 1024


def per_launch_us(launch) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(LAUNCHES):
            launch()
        best = min(best, (time.perf_counter() - start) / LAUNCHES * 1e6)
        torch.cuda.synchronize()
    return best


def bench() -> dict:
    from cuda.bindings import driver as cu
    x = torch.randn(N, device="cuda")
    y = torch.randn(N, device="cuda")
    expected = x + y
    grid = (N // BLOCK,)
    checks = {}

    out = torch.full_like(x, float("nan"))
    add[grid](x, y, out, N, BLOCK=BLOCK)
    torch.cuda.synchronize()
    checks["tile"] = torch.equal(out, expected)
    t_tile = per_launch_us(lambda: add[grid](x, y, out, N, BLOCK=BLOCK))

    # Raw: the very function tile loaded, its parameters packed once by hand.
    launcher = next(iter(add._launchers.values()))
    function, block = launcher.loaded.function, launcher.block
    raw_out = torch.full_like(x, float("nan"))
    values = [ctypes.c_uint64(x.data_ptr()), ctypes.c_int32(N), ctypes.c_uint64(y.data_ptr()),
              ctypes.c_int32(N), ctypes.c_uint64(raw_out.data_ptr()), ctypes.c_int32(N),
              ctypes.c_int32(N)]
    pointers = (ctypes.c_void_p * len(values))(*[ctypes.addressof(v) for v in values])
    params = ctypes.addressof(pointers)
    stream = cu.CUstream(torch.cuda.current_stream().cuda_stream)

    def raw_launch():
        cu.cuLaunchKernel(function, grid[0], 1, 1, block[0], 1, 1, 0, stream, params, 0)
    raw_launch()
    torch.cuda.synchronize()
    checks["raw"] = torch.equal(raw_out, expected)
    t_raw = per_launch_us(raw_launch)

    result = {"case": "launch overhead (cached, 4 args)", "tile_us": t_tile, "raw_us": t_raw,
              "vs_raw": t_tile / t_raw}
    try:
        import triton
        import triton.language as tlang

        @triton.jit
        def triton_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tlang.constexpr):
            offsets = tlang.program_id(0) * BLOCK + tlang.arange(0, BLOCK)
            mask = offsets < n
            a = tlang.load(x_ptr + offsets, mask=mask)
            b = tlang.load(y_ptr + offsets, mask=mask)
            tlang.store(out_ptr + offsets, a + b, mask=mask)

        tri_out = torch.full_like(x, float("nan"))
        triton_add[grid](x, y, tri_out, N, BLOCK=BLOCK)
        torch.cuda.synchronize()
        checks["triton"] = torch.equal(tri_out, expected)
        t_triton = per_launch_us(lambda: triton_add[grid](x, y, tri_out, N, BLOCK=BLOCK))
        result.update(triton_us=t_triton, vs_triton=t_tile / t_triton,
                      triton_version=triton.__version__)
    except ImportError:
        pass
    # How much of tile's time is its own Python, by piece (same run, same arguments).
    result["breakdown_us"] = breakdown(x, y, out, grid)
    result["checks"] = checks
    result["correct"] = all(checks.values())
    return result


def breakdown(x, y, out, grid) -> dict:
    from cuda.bindings import driver as cu

    def mean_us(fn, n=20000):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e6
    key, raw, *_ = add._launch_key((x, y, out, N), {"BLOCK": BLOCK})
    packer = add._launchers[key].packer
    return {"bind+read args+key": mean_us(lambda: add._launch_key((x, y, out, N),
                                                                  {"BLOCK": BLOCK})),
            "pack params": mean_us(lambda: packer.pack(raw)),
            "cuCtxGetCurrent": mean_us(cu.cuCtxGetCurrent),
            # The accessor the launcher uses (torch.cuda.current_stream() costs ~9 µs).
            "torch current stream": mean_us(lambda: torch._C._cuda_getCurrentRawStream(0))}


def row(r: dict) -> str:
    check = "exact" if r["correct"] else "WRONG"
    triton = f"; Triton {r['triton_us']:.1f} µs" if "triton_us" in r else ""
    vs_triton = f" (vs Triton {r['vs_triton']:.2f})" if "vs_triton" in r else ""
    return (f"| {r['case']} | {check} | {r['tile_us']:.1f} µs/launch | raw cuLaunchKernel "
            f"{r['raw_us']:.1f} µs{triton} | {r['vs_raw']:.2f}{vs_triton} |")


if __name__ == "__main__":
    print(json.dumps(bench(), indent=2))
