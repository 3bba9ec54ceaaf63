"""Rotary position embedding of q and k, in place, one token a program.

Each head's D features form D/2 pairs (x1, x2) turned by the angle of the
token's position: (x1 cos - x2 sin, x2 cos + x1 sin), with cos and sin read from
tables of shape (positions, D/2). Two pair layouts are in use:
    half:        x1 = x[..., :D/2],  x2 = x[..., D/2:]   (GPT-NeoX, Llama in HF)
    interleaved: x1 = x[..., 0::2],  x2 = x[..., 1::2]   (GPT-J, Llama's original)
The kernel names the pairs by element offsets (Triton's pointer arithmetic), so
both layouts are one kernel; heads past H (the tile's rows are a power of two)
are masked off. q is (tokens, H, D) and k (tokens, HK, D), HK <= H (grouped
queries), both contiguous.

Runs on the GPU against torch when there is one, else on the CPU interpreter
against numpy.
"""
import sys

import tile


@tile.jit
def rotate(X, Cos, Sin, Positions, H, D2: tile.constexpr, BH: tile.constexpr,
           INTERLEAVED: tile.constexpr):
    token = tile.program_id(0)
    position = tile.load(Positions, token, 1)
    heads = tile.arange(BH)
    cols = tile.arange(D2)
    row = (token * H + heads)[:, None] * (2 * D2)  # (BH, 1): each head's first element
    if INTERLEAVED:
        first = row + 2 * cols[None, :]
        second = first + 1
    else:
        first = row + cols[None, :]
        second = first + D2
    angle = position[:, None] * D2 + cols[None, :]  # (1, D2) offsets into the tables
    cos = tile.load(Cos, angle)
    sin = tile.load(Sin, angle)
    live = (heads < H)[:, None]
    x1 = tile.load(X, first, mask=live).to(tile.float32)
    x2 = tile.load(X, second, mask=live).to(tile.float32)
    tile.store(X, first, (x1 * cos - x2 * sin).to(X.dtype), mask=live)
    tile.store(X, second, (x2 * cos + x1 * sin).to(X.dtype), mask=live)


def apply_rotary(q, k, cos, sin, positions, interleaved: bool, interpret=False):
    """Rotates q (tokens, H, D) and k (tokens, HK, D) in place; cos, sin (P, D/2) float32."""
    tokens, H, D = q.shape
    for x, heads in ((q, H), (k, k.shape[1])):
        BH = 1 << (heads - 1).bit_length()
        kernel = rotate[(tokens,)]
        (kernel.interpret if interpret else kernel)(x, cos, sin, positions, heads, D2=D // 2,
                                                     BH=BH, INTERLEAVED=interleaved)


def reference(x, cos, sin, positions, interleaved: bool):
    """numpy float64: x (tokens, heads, D) rotated."""
    import numpy as np
    x = np.asarray(x, np.float64).copy()
    c, s = np.asarray(cos, np.float64)[positions][:, None], np.asarray(sin, np.float64)[positions][:, None]
    D2 = x.shape[-1] // 2
    x1, x2 = (x[..., 0::2], x[..., 1::2]) if interleaved else (x[..., :D2], x[..., D2:])
    out = np.empty_like(x)
    o1, o2 = (out[..., 0::2], out[..., 1::2]) if interleaved else (out[..., :D2], out[..., D2:])
    o1[...] = x1 * c - x2 * s
    o2[...] = x2 * c + x1 * s
    return out


def tables(positions: int, D: int, xp, **kw):
    inv = 1.0 / (10000 ** (xp.arange(0, D, 2, **kw) / D))
    angles = xp.arange(positions, **kw)[:, None] * inv[None, :]
    return xp.cos(angles), xp.sin(angles)


def run_on_gpu(tokens=8192, H=32, HK=8, D=128) -> bool:
    import numpy as np
    import torch
    cos, sin = tables(4096, D, torch, device="cuda", dtype=torch.float32)
    positions = torch.randint(0, 4096, (tokens,), device="cuda", dtype=torch.int32)
    good = True
    for interleaved in (False, True):
        q = torch.randn(tokens, H, D, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(tokens, HK, D, device="cuda", dtype=torch.bfloat16)
        want = [reference(a.float().cpu().numpy(), cos.cpu().numpy(), sin.cpu().numpy(),
                          positions.cpu().numpy(), interleaved) for a in (q, k)]
        apply_rotary(q, k, cos, sin, positions, interleaved)
        errors = [float(np.abs(a.float().cpu().numpy() - w).max()) for a, w in zip((q, k), want)]
        ok = max(errors) < 0.05  # bf16 rounding of values of a few units
        good &= ok
        print(f"rotary ({'interleaved' if interleaved else 'half'}) q {tokens}x{H}x{D}, k "
              f"{tokens}x{HK}x{D} bf16 on the GPU: max abs error {max(errors):.1e}: "
              f"{'matches' if ok else 'DIFFERS FROM'} numpy float64")
    return good


def run_on_interpreter(tokens=6, H=5, HK=2, D=16) -> bool:
    import numpy as np
    print(f"Running on the CPU interpreter (no CUDA GPU here): q {tokens}x{H}x{D}, k "
          f"{tokens}x{HK}x{D} f32, against numpy.")
    rng = np.random.default_rng(0)
    cos, sin = (a.astype(np.float32) for a in tables(32, D, np))
    positions = rng.integers(0, 32, tokens).astype(np.int32)
    good = True
    for interleaved in (False, True):
        q = rng.standard_normal((tokens, H, D)).astype(np.float32)
        k = rng.standard_normal((tokens, HK, D)).astype(np.float32)
        want = [reference(a, cos, sin, positions, interleaved) for a in (q, k)]
        apply_rotary(q, k, cos, sin, positions, interleaved, interpret=True)
        ok = all(np.allclose(a, w, atol=1e-5) for a, w in zip((q, k), want))
        good &= ok
        print(f"rotary ({'interleaved' if interleaved else 'half'}): "
              f"{'matches' if ok else 'DIFFERS FROM'} numpy")
    return good


if __name__ == "__main__":
    sys.exit(0 if (run_on_gpu() if tile.gpu_available() else run_on_interpreter()) else 1)
