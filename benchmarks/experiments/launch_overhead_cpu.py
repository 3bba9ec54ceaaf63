"""Host work of a cached launch with no GPU: tile's C fast path and its pure-Python path
on stand-in torch tensors (test/python/runtime_fakes.py: their methods are Python, so
reading them costs more than torch's), launched through a stand-in libcuda whose
cuLaunchKernel does nothing (test/python/data/fake_cuda.c, built here with cc). Each
path's launches are counted by the extension, not assumed.
    python -m benchmarks.experiments.launch_overhead_cpu
"""
from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import timeit
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2] / "test" / "python"
_spec = importlib.util.spec_from_file_location("runtime_fakes", TESTS / "runtime_fakes.py")
fakes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakes)

torch = fakes.make_fake_torch()
sys.modules["torch"], sys.modules["torch._C"] = torch, torch._C

import tile  # noqa: E402 - after the stand-in torch, which tile's runtime then finds
from tile.runtime import driver, native  # noqa: E402
from tile.runtime import launcher as launcher_module  # noqa: E402
from tile.runtime.jit import _Launcher  # noqa: E402

N, BLOCK, GRID = 4096, 1024, (4,)


def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


def best_us(fn, number=20000, repeat=7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def bench() -> dict:
    if native.module is None:
        raise SystemExit(f"no C launch path to measure: {native.reason}")
    path = fakes.build_fake_driver(tempfile.mkdtemp())
    fake = fakes.FakeDriver(path)
    fake.reset()
    native.module.use_driver(path)
    driver.LoadedKernel = fakes.FakeLoadedKernel
    x, y, out = (fakes.FakeTensor(torch, (N,), pointer=0x7F0000000000 + i * 2**20)
                 for i in range(3))

    fast = tile.jit(add)
    for _ in range(3):
        fast[GRID](x, y, out, N, BLOCK=BLOCK)
    before = native.module.stats()["fast"]
    result = {"c_fast_path_us": best_us(lambda: fast[GRID](x, y, out, N, BLOCK=BLOCK))}
    counted = native.module.stats()["fast"] - before
    result["c_fast_path_launches_counted"] = counted == 7 * 20000

    class NoLaunch(fakes.FakeLoadedKernel):  # the Python path's cuda.bindings call, left out
        def launch(self, grid, block, stream, kernel_params):
            pass
    pure = tile.jit(add)
    pure._native = None
    driver.LoadedKernel = NoLaunch
    make_plan, launcher_module.make_plan = launcher_module.make_plan, lambda *a: None
    try:
        _Launcher(pure, GRID)(x, y, out, N, BLOCK=BLOCK)
    finally:
        launcher_module.make_plan = make_plan
    result["python_path_us (no cuda.bindings call)"] = best_us(
        lambda: _Launcher(pure, GRID)(x, y, out, N, BLOCK=BLOCK))

    def reads():
        for t in (x, y, out):
            t.get_device(), t.dtype, t.data_ptr(), t.shape, t.stride()
    result["stand-in tensor reads (5 x 3, in Python)"] = best_us(reads)
    result["kernel[grid]"] = best_us(lambda: fast[GRID])
    native.module.use_driver(None)
    return result


if __name__ == "__main__":
    print(json.dumps(bench(), indent=2))
