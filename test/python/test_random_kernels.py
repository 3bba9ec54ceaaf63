"""Differential tests on random kernels (random_kernels.py): on the CPU each case
compiles (PTX, and a cubin where ptxas is present) and the interpreter matches
the generator's numpy reference; on the GPU (`gpu` marker) the interpreter and
the GPU agree element by element. Every failing case is collected and reported
with its source; the run fails once at the end.

TILE_RANDOM_SEED, TILE_RANDOM_CPU_CASES and TILE_RANDOM_GPU_CASES change the
stream and the number of cases."""
import os
import sys
import time
from collections import Counter

import numpy as np
import pytest

from tile.compiler import find_ptxas

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import random_kernel_runner as runner  # noqa: E402
import random_kernels  # noqa: E402

SEED = int(os.environ.get("TILE_RANDOM_SEED", "2026"))
CPU_CASES = int(os.environ.get("TILE_RANDOM_CPU_CASES", "60"))
GPU_CASES = int(os.environ.get("TILE_RANDOM_GPU_CASES", "300"))


def worker_count() -> int:
    return max(1, min(16, os.cpu_count() or 1))


def run_all(count: int, directory, jobs: int):
    """Compiles and interprets cases 0..count-1 in workers; (results, counts, seconds)."""
    start = time.perf_counter()
    results = runner.run_in_subprocesses(SEED, range(count), directory, jobs, interpret=True)
    counts = Counter(status for status, _ in results.values())
    return results, counts, time.perf_counter() - start


def describe(case, what: str) -> str:
    return (f"case {case.index} ({case.family}, grid {case.grid}, num_warps {case.num_warps}, "
            f"constexprs {case.constexprs}): {what}\n{case.source}")


def mismatches(case, expected: dict, actual: dict, scales: dict) -> list:
    """One line per output that differs: mismatched elements and the max abs error."""
    lines = []
    for name in case.outputs:
        scale = max(1.0, scales[name])
        bad, err = random_kernels.compare(case, name, expected[name], actual[name], scale)
        if bad:
            lines.append(f"{name}{expected[name].shape} {expected[name].dtype}: {bad} of "
                         f"{expected[name].size} elements differ, max abs error {err:.3g} "
                         f"(error scale {scale:.3g}, tolerance {case.tolerance[name]})")
    return lines


def check_statuses(results, counts, count: int, failures: list) -> None:
    """Rejected kernels are skipped but counted; any other failure is one."""
    for index in sorted(results):
        status, message = results[index]
        if status not in ("ok", "rejected"):
            failures.append(describe(random_kernels.generate_case(SEED, index),
                                     f"{status}: {message}"))
    # A generator bug that makes the frontend reject everything must not pass silently.
    assert counts["rejected"] <= count // 10, \
        f"{counts['rejected']} of {count} random kernels rejected by the frontend: " + \
        next(m for s, m in results.values() if s == "rejected")


def test_random_kernels_interpreter_matches_numpy(tmp_path):
    results, counts, seconds = run_all(CPU_CASES, tmp_path, jobs=worker_count())
    print(f"random kernels (CPU, seed {SEED}): {CPU_CASES} cases {dict(counts)}, compiled "
          f"({'cubin' if find_ptxas() else 'PTX'}) and interpreted in {seconds:.1f} s")
    failures: list = []
    check_statuses(results, counts, CPU_CASES, failures)
    for index in sorted(i for i, (s, _) in results.items() if s == "ok"):
        case = random_kernels.generate_case(SEED, index)
        expected, scales = case.reference()
        lines = mismatches(case, expected, runner.interpreted_outputs(case, tmp_path), scales)
        if lines:
            failures.append(describe(case, "interpreter differs from numpy:\n  " +
                                     "\n  ".join(lines)))
    assert not failures, f"{len(failures)} failing random kernels:\n\n" + "\n\n".join(failures)


def test_generator_is_deterministic():
    a, b = (random_kernels.generate_case(SEED, 7) for _ in range(2))
    assert a.source == b.source and a.grid == b.grid
    assert all(np.array_equal(a.arrays[n], b.arrays[n], equal_nan=True) for n in a.arrays)


def test_precompiled_binding_is_a_launchs(tmp_path):
    """The workers compile the specialization a launch on contiguous device arrays
    makes, so the GPU test's launches find their kernels in the disk cache."""
    from runtime_fakes import FakeCudaArray
    typestr = {np.dtype(np.float32): "<f4", np.dtype(np.float16): "<f2",
               np.dtype(np.int32): "<i4"}  # bf16 has no __cuda_array_interface__ typestr
    checked = 0
    for index in range(40):
        case = random_kernels.generate_case(SEED, index)
        if any(a.dtype not in typestr for a in case.arrays.values()):
            continue
        kernel = runner.load_kernel(case, tmp_path)
        devices = {name: FakeCudaArray(a.shape, typestr[a.dtype], pointer=0x7F0000000000 + 512 * i)
                   for i, (name, a) in enumerate(case.arrays.items())}
        launch = kernel._bind(case.arguments(devices), dict(case.constexprs,
                                                             num_warps=case.num_warps))
        assert kernel._key(launch) == kernel._key(runner.gpu_binding(kernel, case))
        checked += 1
    assert checked >= 10


def to_device(array: np.ndarray):
    import torch
    if array.dtype == random_kernels.STORAGE["bf16"]:
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16).cuda()
    return torch.from_numpy(array).cuda()


def to_host(tensor, dtype) -> np.ndarray:
    import torch
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)
    return tensor.cpu().numpy().view(dtype)


@pytest.mark.gpu
def test_random_kernels_gpu_matches_interpreter(tmp_path):
    import torch
    jobs = worker_count()
    results, counts, compile_seconds = run_all(GPU_CASES, tmp_path, jobs)
    failures: list = []
    check_statuses(results, counts, GPU_CASES, failures)
    start = time.perf_counter()
    launched = 0
    for index in sorted(i for i, (s, _) in results.items() if s == "ok"):
        case = random_kernels.generate_case(SEED, index)
        kernel = runner.load_kernel(case, tmp_path)
        arrays = {name: to_device(a) for name, a in case.fresh_arrays().items()}
        try:
            kernel[case.grid](*case.arguments(arrays), **case.constexprs,
                              num_warps=case.num_warps)
            torch.cuda.synchronize()
        except Exception as e:  # noqa: BLE001 - reported with the case
            failures.append(describe(case, f"GPU launch failed: {type(e).__name__}: {e}"))
            continue
        launched += 1
        gpu = {o: to_host(arrays[o], case.arrays[o].dtype) for o in case.outputs}
        interpreted = runner.interpreted_outputs(case, tmp_path)
        expected, scales = case.reference()
        lines = mismatches(case, interpreted, gpu, scales)
        if lines:
            numpy_side = mismatches(case, expected, interpreted, scales)
            verdict = "the interpreter matches numpy" if not numpy_side else \
                "the interpreter differs from numpy too"
            failures.append(describe(case, f"GPU differs from the interpreter ({verdict}):\n  "
                                     + "\n  ".join(lines)))
    print(f"random kernels (GPU, seed {SEED}): {GPU_CASES} cases {dict(counts)}; compiled and "
          f"interpreted in {compile_seconds:.1f} s on {jobs} workers, {launched} launched and "
          f"compared in {time.perf_counter() - start:.1f} s")
    assert not failures, f"{len(failures)} failing random kernels:\n\n" + "\n\n".join(failures)
