"""Dropout, fused, with a backward that regenerates the forward's mask.

The forward keeps each element of x with probability 1 - p and scales what it
keeps: y = x * keep / (1 - p). The mask is never stored: keep[i] is
`tile.rand(seed, i) > p`, a function of the seed and the element's index alone
(Philox, counter-based), so the backward, dx = dy * keep / (1 - p), draws the
same mask from the same (seed, offsets), whatever its block size or grid.

Runs on the GPU against torch when there is one (the keep rate, the kept
values, and the backward's mask against the forward's), else on the CPU
interpreter against numpy.
"""
import sys

import tile


@tile.jit
def dropout_forward(X, Y, n, p, seed, BLOCK: tile.constexpr):
    offsets = tile.program_id(0) * BLOCK + tile.arange(BLOCK)
    inside = offsets < n
    x = tile.load(X, offsets, mask=inside).to(tile.float32)
    keep = tile.rand(seed, offsets) > p
    tile.store(Y, offsets, tile.where(keep, x / (1 - p), 0.0).to(Y.dtype), mask=inside)


@tile.jit
def dropout_backward(DY, DX, n, p, seed, BLOCK: tile.constexpr):
    offsets = tile.program_id(0) * BLOCK + tile.arange(BLOCK)
    inside = offsets < n
    dy = tile.load(DY, offsets, mask=inside).to(tile.float32)
    keep = tile.rand(seed, offsets) > p  # the forward's mask, drawn again
    tile.store(DX, offsets, tile.where(keep, dy / (1 - p), 0.0).to(DX.dtype), mask=inside)


def dropout(x, y, p: float, seed: int, BLOCK=1024, interpret=False):
    """y = dropout(x) (flat arrays of n elements); seed an int32."""
    n = x.shape[0]
    kernel = dropout_forward[(tile.cdiv(n, BLOCK),)]
    (kernel.interpret if interpret else kernel)(x, y, n, p, seed, BLOCK=BLOCK)


def dropout_grad(dy, dx, p: float, seed: int, BLOCK=1024, interpret=False):
    """dx for dy, with the mask of the forward of the same seed."""
    n = dy.shape[0]
    kernel = dropout_backward[(tile.cdiv(n, BLOCK),)]
    (kernel.interpret if interpret else kernel)(dy, dx, n, p, seed, BLOCK=BLOCK)


def keep_rate_is_plausible(kept: int, n: int, p: float) -> bool:
    """Within 5 standard deviations of the binomial's mean n (1 - p)."""
    return abs(kept - n * (1 - p)) <= 5 * (n * p * (1 - p)) ** 0.5


def quotient(a, scale: float):
    """a / scale correctly rounded to float32, as the kernel's `/` gives it: through
    float64, whose quotient rounds to the same float32 (torch's own division by a
    scalar multiplies by its reciprocal, which can differ in the last bit)."""
    if hasattr(a, "double"):  # torch
        return (a.double() / scale).float()
    return (a.astype("float64") / scale).astype("float32")


def check(x, y, dy, dx, p: float, xp) -> tuple[bool, str]:
    """What both runs check, on numpy or torch float32 arrays (x and dy never 0,
    so y != 0 is the mask): the kept elements are x / (1 - p) exactly; the
    backward keeps exactly the same elements; the keep rate is plausible."""
    scale = float(1 - xp.asarray(p, dtype=x.dtype))  # (1 - p) in float32, as the kernel computes it
    keep = y != 0
    values = bool((y[keep] == quotient(x[keep], scale)).all())  # a NaN (never stored) fails here
    same_mask = bool(((dx != 0) == keep).all()) and bool((dx[keep] == quotient(dy[keep], scale)).all())
    kept, n = int(keep.sum()), x.shape[0]
    rate = keep_rate_is_plausible(kept, n, p)
    return values and same_mask and rate, (f"kept {kept / n:.4f} of {n} (1 - p = {1 - p}), "
                                          f"values {'exact' if values else 'WRONG'}, backward "
                                          f"mask {'the same' if same_mask else 'DIFFERENT'}")


def run_on_gpu(n=1 << 22, p=0.3, seed=1234) -> bool:
    import torch
    x = torch.randn(n, device="cuda") + 10  # never 0: a 0 in y means dropped
    dy = torch.randn(n, device="cuda") + 10
    y, dx = torch.full_like(x, float("nan")), torch.full_like(x, float("nan"))
    dropout(x, y, p, seed)
    dropout_grad(dy, dx, p, seed, BLOCK=256)  # another grid: the mask follows the offsets
    good, summary = check(x, y, dy, dx, p, torch)
    other = torch.empty_like(x)
    dropout(x, other, p, seed + 1)
    differs = bool(((other != 0) != (y != 0)).any())  # another seed, another mask
    print(f"dropout of {n} float32 on the GPU, p = {p}: {summary}; seed {seed + 1} "
          f"{'draws another mask' if differs else 'DRAWS THE SAME MASK'}: "
          f"{'matches' if good and differs else 'DIFFERS FROM'} torch")
    return good and differs


def run_on_interpreter(n=5000, p=0.3, seed=1234) -> bool:
    import numpy as np
    print(f"Running on the CPU interpreter (no CUDA GPU here): dropout of {n} float32, "
          f"p = {p}, against numpy.")
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) + 10).astype(np.float32)
    dy = (rng.standard_normal(n) + 10).astype(np.float32)
    y, dx = np.full_like(x, np.nan), np.full_like(x, np.nan)
    dropout(x, y, p, seed, BLOCK=512, interpret=True)
    dropout_grad(dy, dx, p, seed, BLOCK=128, interpret=True)
    good, summary = check(x, y, dy, dx, p, np)
    print(f"dropout: {summary}: {'matches' if good else 'DIFFERS FROM'} numpy")
    return good


if __name__ == "__main__":
    sys.exit(0 if (run_on_gpu() if tile.gpu_available() else run_on_interpreter()) else 1)
