"""Histogram: hist[b] counts the values of x in bin b of NBINS equal bins over
[lo, hi] (a value equal to hi falls in the last bin; values outside, and NaN,
are not counted), as torch.histc. Each program bins BLOCK values and adds one
to their bins with atomic_add: values of one bin, in one program or several,
each add theirs.

With a GPU it runs against torch; otherwise on the CPU interpreter against numpy.
"""
import sys

import tile


@tile.jit
def histogram(x, hist, lo, hi, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    v = tile.load(x, start, BLOCK, bound=x.shape[0])
    nbins = hist.shape[0]
    counted = (start + tile.arange(BLOCK) < x.shape[0]) & (v >= lo) & (v <= hi)
    b = ((v - lo) * (nbins / (hi - lo))).to(tile.int32)
    b = tile.minimum(b, nbins - 1)  # hi itself: the last bin
    tile.atomic_add(hist, b, 1, mask=counted, sem="relaxed")


BLOCK = 1024


def bins_of(x, nbins: int, lo: float, hi: float):
    """The bin of each value in [lo, hi], computed as the kernel does (f32)."""
    import numpy as np
    x = x[(x >= lo) & (x <= hi)]
    scale = np.float32(nbins) / (np.float32(hi) - np.float32(lo))
    return np.minimum(((x - np.float32(lo)) * scale).astype(np.int32), nbins - 1)


def main() -> int:
    if not tile.gpu_available():
        return run_on_interpreter()
    import torch
    n, nbins, lo, hi = 10_000_000, 256, -3.0, 3.0
    x = torch.randn(n, device="cuda")
    hist = torch.zeros(nbins, device="cuda", dtype=torch.int32)
    histogram[(tile.cdiv(n, BLOCK),)](x, hist, lo, hi, BLOCK=BLOCK)
    torch.cuda.synchronize()
    # torch.histc may round a value on a bin's edge the other way: allow a few.
    want = torch.histc(x, nbins, lo, hi).int()
    ok = hist.sum() == want.sum() and (hist - want).abs().sum() <= 8
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch.histc "
          f"({n} values, {nbins} bins)")
    return 0 if ok else 1


def run_on_interpreter() -> int:
    import numpy as np
    n, nbins, lo, hi = 5000, 16, -2.0, 2.0
    print("No CUDA GPU here: running the kernel's tile IR on the CPU interpreter "
          f"(tile.interpreter, numpy arrays) instead: {n} values, {nbins} bins.")
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    x[:10] = [lo, hi, np.nan, np.inf, -np.inf, 5, -5, 0, 0, 0]  # edges, outside, NaN
    hist = np.zeros(nbins, np.int32)
    histogram[(tile.cdiv(n, BLOCK),)].interpret(x, hist, lo, hi, BLOCK=BLOCK)
    ok = np.array_equal(hist, np.bincount(bins_of(x, nbins, lo, hi), minlength=nbins))
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
