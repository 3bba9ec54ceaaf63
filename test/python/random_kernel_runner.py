"""Runs random_kernels' cases: compiles each into the disk kernel cache (the
specialization a GPU launch on contiguous arrays of the case's shapes makes)
and runs it on the CPU interpreter, in worker processes, so that a compiler
crash (abort, segfault) kills only a worker and is reported with its case.

Worker: `python random_kernel_runner.py SEED DIRECTORY INTERPRET INDEX...`.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_kernels import STORAGE, Case, generate_case  # noqa: E402

MLIR = {"f32": "f32", "f16": "f16", "bf16": "bf16", "i32": "i32"}


def dtype_name(array: np.ndarray) -> str:
    return next(d for d, s in STORAGE.items() if np.dtype(s) == array.dtype)


def load_kernel(case: Case, directory):
    """The case's kernel, imported from a file (the frontend reads the source)."""
    import importlib.util
    import os
    path = os.path.join(directory, f"{case.name}.py")
    if not os.path.exists(path):
        with open(path + ".tmp", "w") as f:
            f.write(case.source)
        os.replace(path + ".tmp", path)
    spec = importlib.util.spec_from_file_location(case.name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, case.name)


def gpu_binding(kernel, case: Case):
    """The binding a GPU launch on contiguous, 16-byte aligned arrays of the case's
    shapes makes, so that compiling it here fills the disk cache entry that launch reads."""
    from tile import language as tl
    from tile.signature import array_spec
    args = [f"*{MLIR[dtype_name(case.arrays[p])]}[{case.arrays[p].ndim}]" if p in case.arrays
            else case.scalars[p] for p in case.params]
    bound = kernel._bind(args, dict(case.constexprs, num_warps=case.num_warps))
    for name, array in case.arrays.items():
        strides = [s // array.itemsize for s in array.strides]
        bound.specs[name] = array_spec(tl.BY_MLIR[MLIR[dtype_name(array)]], 0, array.shape,
                                       strides)
    return bound


def run_case(case: Case, directory, interpret: bool) -> tuple:
    """Compiles (into the disk cache) and optionally interprets one case, saving the
    interpreter's outputs next to the kernel. Returns (status, message)."""
    import tile
    from tile.compiler import find_ptxas
    kernel = load_kernel(case, directory)
    bound = gpu_binding(kernel, case)
    try:
        kernel._tile_ir(bound)
    except tile.CompilationError as e:
        return "rejected", str(e)
    try:
        compiled = kernel._compile(bound)
    except Exception as e:  # noqa: BLE001 - every failure is reported with the case
        return "compile_error", f"{type(e).__name__}: {e}"
    if find_ptxas() and not compiled.cubin:
        return "compile_error", "ptxas is on PATH but no cubin was made"
    if interpret:
        arrays = case.fresh_arrays()
        try:
            kernel[case.grid].interpret(*case.arguments(arrays), **case.constexprs,
                                        num_warps=case.num_warps)
        except Exception as e:  # noqa: BLE001
            return "interpret_error", f"{type(e).__name__}: {e}"
        np.savez(f"{directory}/{case.name}.interp.npz",
                 **{o: arrays[o].view(np.uint8) for o in case.outputs})
    return "ok", ""


def interpreted_outputs(case: Case, directory) -> dict:
    saved = np.load(f"{directory}/{case.name}.interp.npz")
    return {o: saved[o].view(case.arrays[o].dtype).reshape(case.arrays[o].shape)
            for o in case.outputs}


def run_in_subprocesses(seed: int, indices, directory, jobs: int, interpret: bool) -> dict:
    """index -> (status, message) for each case, run by `jobs` worker processes. A
    worker that dies (abort, segfault) marks its case "crash" and a new one goes on."""
    import json
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor
    results: dict = {}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))

    def work(chunk):
        while chunk:
            proc = subprocess.run(
                [sys.executable, __file__, str(seed), str(directory), str(int(interpret)),
                 *map(str, chunk)], capture_output=True, text=True, env=env)
            started = None
            for line in proc.stdout.splitlines():
                if line.startswith("START "):
                    started = int(line.split()[1])
                elif line.startswith("DONE "):
                    _, index, status, message = line.split(" ", 3)
                    results[int(index)] = (status, json.loads(message))
            done = [i for i in chunk if i in results]
            chunk = [i for i in chunk if i not in results]
            if proc.returncode != 0 and chunk:
                crashed = started if started in chunk else chunk[0]
                results[crashed] = ("crash", f"worker exit {proc.returncode}: "
                                    + proc.stderr[-2000:])
                chunk.remove(crashed)
            elif chunk and not done:
                raise RuntimeError(f"worker made no progress: {proc.stderr[-2000:]}")
    chunks = [list(indices)[j::jobs] for j in range(jobs)]
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(work, [c for c in chunks if c]))
    return results


def main(argv) -> None:
    """Worker: `random_kernels.py SEED DIRECTORY INTERPRET INDEX...`."""
    import json
    seed, directory, interpret = int(argv[0]), argv[1], argv[2] == "1"
    for index in map(int, argv[3:]):
        print(f"START {index}", flush=True)
        status, message = run_case(generate_case(seed, index), directory, interpret)
        print(f"DONE {index} {status} {json.dumps(message)}", flush=True)


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
