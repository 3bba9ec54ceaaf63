"""LayerNorm and RMSNorm, forward and backward, bf16 rows (examples/norms.py): tile
against torch eager, torch.compile of the same function (forward), and a device copy.

Memory-bound: the forward reads x and writes y, the backward reads x and dy and
writes dx (the weight rows and the per-row statistics are a few KB); bandwidth is
those bytes over the time, and the copy of x in the same run is the floor.
"""
from __future__ import annotations

import tile

from .examples import norms
from .rows import bandwidth_row, interleaved

# (M, N) per row; --quick runs the first.
SHAPES = [(16384, 4096), (4096, 16384), (16384, 1000)]
KINDS = ("LayerNorm forward", "RMSNorm forward", "LayerNorm backward", "RMSNorm backward")
ROWS = 16  # rows a backward program


def cases(quick: bool = False) -> list[tuple]:
    return [(kind, M, N) for M, N in SHAPES[:1 if quick else None] for kind in KINDS]


def case_name(kind: str, M: int, N: int) -> str:
    return f"{kind} {M}x{N} bf16"


def _tile_runs(x, w, b, dy, rms: bool):
    """The tile launches of one direction, each a closure, and their outputs."""
    import torch
    M, N = x.shape
    BN = norms.next_power_of_two(N)
    warps = norms.warps_for(BN)
    programs = tile.cdiv(M, ROWS)
    f32 = dict(device="cuda", dtype=torch.float32)
    y, dx = torch.full_like(x, float("nan")), torch.full_like(x, float("nan"))
    mean, rstd = torch.empty(M, **f32), torch.empty(M, **f32)
    dw_partial, db_partial = torch.zeros(programs, N, **f32), torch.zeros(programs, N, **f32)
    dw, db = torch.empty(N, **f32), torch.empty(N, **f32)
    sums = (tile.cdiv(N, 128),)
    BM = min(16, norms.next_power_of_two(programs))

    fwd = norms.forward_blocks(BN)
    rows = (tile.cdiv(M, fwd["BM"]),)

    if rms:
        def forward():
            norms.rms_norm_forward[rows](x, w, y, rstd, 1e-6, BN=BN, **fwd)

        def backward():
            norms.rms_norm_backward[(programs,)](x, w, dy, rstd, dx, dw_partial, ROWS=ROWS,
                                                 BN=BN, num_warps=warps)
            norms.column_sums[sums](dw_partial, dw, BM=BM, BN=128)
        return forward, backward, (y, dx, dw)

    def forward():
        norms.layer_norm_forward[rows](x, w, b, y, mean, rstd, 1e-5, BN=BN, **fwd)

    def backward():
        norms.layer_norm_backward[(programs,)](x, w, dy, mean, rstd, dx, dw_partial, db_partial,
                                               ROWS=ROWS, BN=BN, num_warps=warps)
        norms.column_sums[sums](dw_partial, dw, BM=BM, BN=128)
        norms.column_sums[sums](db_partial, db, BM=BM, BN=128)
    return forward, backward, (y, dx, dw, db)


def _relative(a, b) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm())


def bench_case(kind: str, M: int, N: int, warmup: int, rep: int) -> dict:
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    rms, backward = kind.startswith("RMS"), kind.endswith("backward")
    x = torch.randn(M, N, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(N, device="cuda", dtype=torch.float32)
    b = torch.randn(N, device="cuda", dtype=torch.float32)
    dy = torch.randn_like(x)

    def torch_forward(x):
        return F.rms_norm(x, (N,), w.to(x.dtype), 1e-6) if rms else \
            F.layer_norm(x, (N,), w.to(x.dtype), b.to(x.dtype), 1e-5)

    tile_forward, tile_backward, outputs = _tile_runs(x, w, b, dy, rms)
    tile_forward()
    tile_backward()
    # The check: forward and backward against torch's autograd in float32.
    xr, wr, br = x.float().requires_grad_(), w.clone().requires_grad_(), b.clone().requires_grad_()
    ref = F.rms_norm(xr, (N,), wr, 1e-6) if rms else F.layer_norm(xr, (N,), wr, br, 1e-5)
    ref.backward(dy.float())
    refs = [ref, xr.grad, wr.grad] + ([] if rms else [br.grad])
    torch.cuda.synchronize()
    errors = [_relative(o, r) for o, r in zip(outputs, refs)]
    src = torch.empty_like(x)
    if backward:
        xg = x.detach().requires_grad_()
        wg = w.to(x.dtype).requires_grad_()
        bg = b.to(x.dtype).requires_grad_()
        yg = F.rms_norm(xg, (N,), wg, 1e-6) if rms else F.layer_norm(xg, (N,), wg, bg, 1e-5)
        params = (xg, wg) if rms else (xg, wg, bg)
        runs = {"tile": tile_backward,
                "torch": lambda: torch.autograd.grad(yg, params, dy, retain_graph=True),
                "copy": lambda: src.copy_(x)}
        moved = 3 * x.numel() * x.element_size()
    else:
        compiled = torch.compile(torch_forward, dynamic=False)
        compiled(x)
        runs = {"tile": tile_forward, "torch": lambda: torch_forward(x),
                "torch.compile": lambda: compiled(x), "copy": lambda: src.copy_(x)}
        moved = 2 * x.numel() * x.element_size()
    ms, _ = interleaved(runs, warmup=warmup, rep=rep)
    # The copy moves x once each way; the others move `moved` bytes.
    gbs = {name: (2 * x.numel() * x.element_size() if name == "copy" else moved) /
           (t * 1e-3) / 1e9 for name, t in ms.items()}
    return {"case": case_name(kind, M, N), "kind": "norms", "correct": max(errors) < 1e-2,
            "rel_errors": errors, "GBps": gbs,
            "vs_torch": ms["torch"] / ms["tile"], "vs_copy": gbs["tile"] / gbs["copy"],
            "vs_compile": ms["torch.compile"] / ms["tile"] if "torch.compile" in ms else None}


def bench(quick: bool = False) -> list[dict]:
    warmup, rep = (25, 100) if quick else (100, 500)
    return [bench_case(*case, warmup=warmup, rep=rep) for case in cases(quick)]


row = bandwidth_row
