"""Host launch overhead of a cached kernel, in one process: tile's launch (the C fast path
when the extension is built), tile's pure-Python path, a raw cuLaunchKernel through
cuda.bindings (the same cubin and function, parameters prepacked) and Triton's launch of
the same vector add. Each side's result is checked once, in this run.

Timing: `LAUNCHES` back-to-back launches of a 4096-element vector add (the GPU finishes
each faster than the host issues the next, so the host is measured). The sides take turns,
`REPEATS` rounds of each in turn, so that a slow spell of a shared host falls on all of
them; the best mean per launch of each side is reported, and `vs_raw_rounds` gives tile /
raw within each round (`vs_raw_median`: their median, steadier than best / best on a
shared host).

Which path ran is counted, not assumed: `path` says "C fast path" only when the
extension's counter saw every timed launch of `tile_us`; anything else is said in `path`,
`fast_path_used` is false, and a warning goes to stderr.
    python3 benchmarks/run.py --only launch
"""
from __future__ import annotations

import ctypes
import sys
import time

import torch

import tile
from tile.runtime import launcher as launcher_module
from tile.runtime import native
from tile.runtime.jit import _Launcher

from .examples import vector_add

add = vector_add.add

LAUNCHES, REPEATS, N, BLOCK = 5000, 5, 4096, 1024


def per_launch_us(sides: dict) -> dict:
    """{name: [mean µs per launch, one per round]}, the sides taking turns each round."""
    times = {name: [] for name in sides}
    for _ in range(REPEATS):
        for name, launch in sides.items():
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(LAUNCHES):
                launch()
            times[name].append((time.perf_counter() - start) / LAUNCHES * 1e6)
            torch.cuda.synchronize()
    return times


def checked(run, out, expected) -> bool:
    out.fill_(float("nan"))
    run()
    torch.cuda.synchronize()
    return torch.equal(out, expected)


def bench() -> dict:
    from cuda.bindings import driver as cu
    x = torch.randn(N, device="cuda")
    y = torch.randn(N, device="cuda")
    expected = x + y
    grid = (N // BLOCK,)
    checks, result = {}, {"case": "launch overhead (cached, 4 args)"}

    # tile, as users call it: the C fast path when the extension is there.
    out = torch.empty_like(x)
    tile_launch = lambda: add[grid](x, y, out, N, BLOCK=BLOCK)  # noqa: E731
    checks["tile"] = checked(tile_launch, out, expected)
    sides = {"tile": tile_launch}

    # tile's pure-Python path (Python binding and reading, struct, cuda.bindings): a
    # second kernel object with no C plan.
    pure = tile.jit(add.fn)
    pure._native = None
    make_plan, launcher_module.make_plan = launcher_module.make_plan, lambda *a: None
    try:
        pure_out = torch.empty_like(x)
        pure_launch = lambda: _Launcher(pure, grid)(x, y, pure_out, N, BLOCK=BLOCK)  # noqa: E731
        checks["tile_python"] = checked(pure_launch, pure_out, expected)
    finally:
        launcher_module.make_plan = make_plan
    assert all(lc.plan is None for lc in pure._launchers.values())
    sides["tile_python"] = pure_launch

    # Raw: the very function tile loaded, its parameters packed once by hand.
    launcher = next(iter(add._launchers.values()))
    function, block = launcher.loaded.function, launcher.block
    raw_out = torch.empty_like(x)
    values = [ctypes.c_uint64(x.data_ptr()), ctypes.c_int32(N), ctypes.c_uint64(y.data_ptr()),
              ctypes.c_int32(N), ctypes.c_uint64(raw_out.data_ptr()), ctypes.c_int32(N),
              ctypes.c_int32(N)]
    pointers = (ctypes.c_void_p * len(values))(*[ctypes.addressof(v) for v in values])
    params = ctypes.addressof(pointers)
    stream = cu.CUstream(torch.cuda.current_stream().cuda_stream)

    def raw_launch():
        cu.cuLaunchKernel(function, grid[0], 1, 1, block[0], 1, 1, 0, stream, params, 0)
    checks["raw"] = checked(raw_launch, raw_out, expected)
    sides["raw"] = raw_launch

    try:
        import triton

        from .triton_ref import vector_add
        triton_add = triton.jit(vector_add)
        tri_out = torch.empty_like(x)
        tri_launch = lambda: triton_add[grid](x, y, tri_out, N, BLOCK=BLOCK)  # noqa: E731
        checks["triton"] = checked(tri_launch, tri_out, expected)
        sides["triton"] = tri_launch
        result["triton_version"] = triton.__version__
    except ImportError:
        pass

    before = native.module.stats() if native.module else None
    times = per_launch_us(sides)
    result.update(path_report(before, LAUNCHES * REPEATS))
    for name, rounds in times.items():
        result[f"{name}_us"] = min(rounds)
    result["vs_raw"] = result["tile_us"] / result["raw_us"]
    result["vs_raw_rounds"] = [t / r for t, r in zip(times["tile"], times["raw"])]
    result["vs_raw_median"] = sorted(result["vs_raw_rounds"])[len(result["vs_raw_rounds"]) // 2]
    result["python_vs_raw"] = result["tile_python_us"] / result["raw_us"]
    if "triton_us" in result:
        result["vs_triton"] = result["tile_us"] / result["triton_us"]
    result["breakdown_us"] = breakdown(x, y, out, grid)
    result["checks"] = checks
    result["correct"] = all(checks.values())
    return result


def path_report(before, timed: int) -> dict:
    """Which path the timed tile launches took, from the extension's counters."""
    if native.module is None:
        report = {"path": f"Python: {native.reason}", "fast_path_used": False}
    else:
        after = native.module.stats()
        fast = after["fast"] - before["fast"]
        declined = after["declined"] - before["declined"]
        report = {"path": "C fast path" if fast == timed else
                  f"mixed: {fast} of {timed} launches on the C fast path, {declined} declined "
                  f"(last: {after['last_decline']})",
                  "fast_path_used": fast == timed, "extension": native.reason}
    if not report["fast_path_used"]:
        print(f"WARNING: tile_us is NOT the C fast path: {report['path']}", file=sys.stderr)
    return report


def breakdown(x, y, out, grid) -> dict:
    """tile's time by piece (same run, same arguments)."""
    from cuda.bindings import driver as cu

    def mean_us(fn, n=20000):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e6

    def reads():
        for t in (x, y, out):
            t.get_device(), t.dtype, t.data_ptr(), t.shape, t.stride()
    key, raw, *_ = add._launch_key((x, y, out, N), {"BLOCK": BLOCK})
    launcher = add._launchers[key]
    stream = torch._C._cuda_getCurrentRawStream(0)
    parts = {
        "kernel[grid] (the bound launcher object)": mean_us(lambda: add[grid]),
        "torch reads: get_device, dtype, data_ptr, shape, stride() x 3 tensors": mean_us(reads),
        "torch current stream (torch._C._cuda_getCurrentRawStream)":
            mean_us(lambda: torch._C._cuda_getCurrentRawStream(0)),
        "cuCtxGetCurrent (cuda.bindings)": mean_us(cu.cuCtxGetCurrent),
        "Python path: bind + read + key": mean_us(lambda: add._launch_key((x, y, out, N),
                                                                          {"BLOCK": BLOCK})),
        "Python path: struct pack": mean_us(lambda: launcher.packer.pack(raw)),
    }
    if launcher.plan is not None:  # the C floor: pack and cuLaunchKernel, no reading
        grid3 = (grid[0], 1, 1)
        parts["C pack + cuLaunchKernel from prebuilt raw values (_launch.launch)"] = mean_us(
            lambda: native.module.launch(launcher.plan, grid3, stream, raw, []))
        torch.cuda.synchronize()
    return parts


GRAPH_LAUNCHES, GRAPH_STEPS = 100, 200


def bench_graph() -> dict:
    """One step of `GRAPH_LAUNCHES` small dependent tile launches (each vector add reads
    the last one's output), captured once in a CUDA graph and replayed, against the same
    launches issued one by one. Checked exactly against torch's chain of adds, eager, the
    first replay, and a replay after new inputs were copied into the captured buffers."""
    x = torch.randn(N, device="cuda")
    y = torch.randn(N, device="cuda")
    buffers = [torch.empty_like(x) for _ in range(2)]
    grid = (N // BLOCK,)

    def step():
        source = x
        for i in range(GRAPH_LAUNCHES):
            add[grid](source, y, buffers[i % 2], N, BLOCK=BLOCK)
            source = buffers[i % 2]
        return source

    def expected():
        out = x.clone()
        for _ in range(GRAPH_LAUNCHES):
            out = out + y
        return out

    checks = {}
    result_buffer = step()  # compiles and loads outside the capture, as the docs say
    torch.cuda.synchronize()
    checks["eager"] = torch.equal(result_buffer, expected())
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    result_buffer.fill_(float("nan"))
    graph.replay()
    torch.cuda.synchronize()
    checks["replay"] = torch.equal(result_buffer, expected())
    x.copy_(torch.randn_like(x))
    y.copy_(torch.randn_like(y))
    graph.replay()
    torch.cuda.synchronize()
    checks["replay, new inputs"] = torch.equal(result_buffer, expected())

    def per_step_us(run) -> float:
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(GRAPH_STEPS):
            run()
        torch.cuda.synchronize()
        return (time.perf_counter() - start) / GRAPH_STEPS * 1e6
    eager, replay = [], []
    for _ in range(REPEATS):  # taking turns, as per_launch_us does
        eager.append(per_step_us(step))
        replay.append(per_step_us(graph.replay))
    eager_us, graph_us = sorted(eager)[REPEATS // 2], sorted(replay)[REPEATS // 2]
    return {"case": f"CUDA graph of {GRAPH_LAUNCHES} cached launches (vector add {N})",
            "graph": True, "eager_us": eager_us, "graph_us": graph_us,
            "speedup": eager_us / graph_us, "checks": checks, "correct": all(checks.values())}


def row(r: dict) -> str:
    if r.get("graph"):
        check = "exact" if r["correct"] else "WRONG"
        return (f"| {r['case']} | {check} | replay {r['graph_us']:.0f} µs/step "
                f"({r['graph_us'] / GRAPH_LAUNCHES:.2f} µs/launch) | the same launches uncaptured "
                f"{r['eager_us']:.0f} µs/step | {r['speedup']:.2f}× faster replayed |")
    check = "exact" if r["correct"] else "WRONG"
    path = "" if r["fast_path_used"] else f" [{r['path']}]"
    triton = f"; Triton {r['triton_us']:.1f} µs" if "triton_us" in r else ""
    vs_triton = f" (vs Triton {r['vs_triton']:.2f})" if "vs_triton" in r else ""
    return (f"| {r['case']} | {check} | {r['tile_us']:.1f} µs/launch{path} (pure Python "
            f"{r['tile_python_us']:.1f}) | raw cuLaunchKernel {r['raw_us']:.1f} µs{triton} | "
            f"{r['vs_raw']:.2f} (median of rounds {r['vs_raw_median']:.2f}){vs_triton} |")

