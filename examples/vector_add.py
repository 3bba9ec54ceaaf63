"""Vector add: the smallest tile kernel, end to end.

Compiles `add` for 2^20 float32 elements, says where the PTX/cubin went, and
runs it on the GPU against torch when one is present; with no GPU, it runs the
kernel's tile IR on the CPU interpreter against numpy instead.
"""
import os
import sys
import tempfile

import tile


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


def main() -> int:
    n = 1 << 20
    os.environ.setdefault("TILE_DUMP_DIR", os.path.join(tempfile.gettempdir(), "tile-dump"))
    if tile.gpu_available():
        import torch
        x = torch.randn(n, device="cuda")
        y = torch.randn(n, device="cuda")
        out = torch.empty_like(x)
        kernel = add.compile(x, y, out, n, BLOCK=1024)
    else:
        # No arrays to specialize on: say what they would be.
        kernel = add.compile("*f32:16", "*f32:16", "*f32:16", n, BLOCK=1024)
    dump = os.path.join(os.environ["TILE_DUMP_DIR"], "add")
    print(f"PTX:   {os.path.join(dump, '2-kernel.ptx')} ({len(kernel.ptx)} bytes)")
    if kernel.cubin is not None:
        print(f"cubin: {os.path.join(dump, '3-kernel.cubin')} ({len(kernel.cubin)} bytes, "
              f"{kernel.metadata['registers']} registers, "
              f"{kernel.metadata['spill_stores']} bytes spilled)")
    else:
        print("cubin: not built (no ptxas on PATH); the driver will JIT the PTX")
    grid = lambda meta: ((n + meta["BLOCK"] - 1) // meta["BLOCK"],)
    if not tile.gpu_available():
        return run_on_interpreter(n, grid)
    add[grid](x, y, out, n, BLOCK=1024)
    torch.cuda.synchronize()
    ok = torch.equal(out, x + y)
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch (bitwise)")
    return 0 if ok else 1


def run_on_interpreter(n, grid) -> int:
    import numpy as np
    print("No CUDA GPU here: running the kernel's tile IR on the CPU interpreter "
          "(tile.interpreter, numpy arrays) instead.")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n, dtype=np.float32)
    y = rng.standard_normal(n, dtype=np.float32)
    out = np.empty_like(x)
    add[grid].interpret(x, y, out, n, BLOCK=1024)
    ok = np.array_equal(out, x + y)
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy (bitwise)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
