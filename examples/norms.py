"""LayerNorm and RMSNorm, forward and backward, one row of X a program.

    LayerNorm: y = (x - mean) * rstd * w + b,   rstd = 1 / sqrt(var + eps)
    RMSNorm:   y = x * rstd * w,                rstd = 1 / sqrt(mean(x^2) + eps)

A row is a row of a (BM, BN) tile, BN the power of two at or above the row
length N (BM rows a program in the forward, one in the backward); the columns
past N load as 0 and are kept out of every sum. The forward saves
each row's mean and rstd for the backward. The backward gives dx row by row
and the weight (and bias) gradients as partial sums, one row of partials per
program (each program ROWS rows of X), which `column_sums` adds up: no
atomics, so the result is the same on every run.

Runs on the GPU against torch when there is one, else on the CPU interpreter
against numpy.
"""
import sys

import tile


@tile.jit
def layer_norm_forward(X, W, B, Y, Mean, Rstd, eps, BM: tile.constexpr, BN: tile.constexpr):
    row = tile.program_id(0) * BM
    M = X.shape[0]
    N = X.shape[1]
    inside = (tile.arange(BN) < N)[None, :]
    x = tile.load(X, (row, 0), (BM, BN)).to(tile.float32)
    mean = tile.sum(x, 1) / N
    centred = tile.where(inside, x - mean[:, None], 0.0)
    rstd = tile.rsqrt(tile.sum(centred * centred, 1) / N + eps)
    w = tile.load(W, 0, BN, bound=N).to(tile.float32)
    b = tile.load(B, 0, BN, bound=N).to(tile.float32)
    y = centred * rstd[:, None] * w[None, :] + b[None, :]
    tile.store(Y, (row, 0), y.to(Y.dtype))
    tile.store(Mean, row, mean, bound=M)
    tile.store(Rstd, row, rstd, bound=M)


@tile.jit
def layer_norm_backward(X, W, DY, Mean, Rstd, DX, DW_partial, DB_partial,
                        ROWS: tile.constexpr, BN: tile.constexpr):
    program = tile.program_id(0)
    M = X.shape[0]
    N = X.shape[1]
    inside = (tile.arange(BN) < N)[None, :]
    w = tile.load(W, 0, BN, bound=N).to(tile.float32)[None, :]
    dw = tile.zeros((1, BN))
    db = tile.zeros((1, BN))
    for row in range(program * ROWS, tile.minimum(program * ROWS + ROWS, M)):
        x = tile.load(X, (row, 0), (1, BN)).to(tile.float32)
        dy = tile.load(DY, (row, 0), (1, BN)).to(tile.float32)
        mean = tile.load(Mean, row, 1)
        rstd = tile.load(Rstd, row, 1)
        xhat = tile.where(inside, (x - mean[:, None]) * rstd[:, None], 0.0)
        wdy = w * dy
        c1 = tile.sum(xhat * wdy, 1) / N
        c2 = tile.sum(wdy, 1) / N
        dx = (wdy - (xhat * c1[:, None] + c2[:, None])) * rstd[:, None]
        tile.store(DX, (row, 0), dx.to(DX.dtype))
        dw = dw + dy * xhat
        db = db + dy
    tile.store(DW_partial, (program, 0), dw)
    tile.store(DB_partial, (program, 0), db)


@tile.jit
def rms_norm_forward(X, W, Y, Rstd, eps, BM: tile.constexpr, BN: tile.constexpr):
    row = tile.program_id(0) * BM
    N = X.shape[1]
    x = tile.load(X, (row, 0), (BM, BN)).to(tile.float32)
    rstd = tile.rsqrt(tile.sum(x * x, 1) / N + eps)
    w = tile.load(W, 0, BN, bound=N).to(tile.float32)
    tile.store(Y, (row, 0), (x * rstd[:, None] * w[None, :]).to(Y.dtype))
    tile.store(Rstd, row, rstd, bound=X.shape[0])


@tile.jit
def rms_norm_backward(X, W, DY, Rstd, DX, DW_partial, ROWS: tile.constexpr,
                      BN: tile.constexpr):
    program = tile.program_id(0)
    M = X.shape[0]
    N = X.shape[1]
    w = tile.load(W, 0, BN, bound=N).to(tile.float32)[None, :]
    dw = tile.zeros((1, BN))
    for row in range(program * ROWS, tile.minimum(program * ROWS + ROWS, M)):
        x = tile.load(X, (row, 0), (1, BN)).to(tile.float32)
        dy = tile.load(DY, (row, 0), (1, BN)).to(tile.float32)
        rstd = tile.load(Rstd, row, 1)
        xhat = x * rstd[:, None]
        wdy = w * dy
        c = tile.sum(xhat * wdy, 1) / N
        tile.store(DX, (row, 0), ((wdy - xhat * c[:, None]) * rstd[:, None]).to(DX.dtype))
        dw = dw + dy * xhat
    tile.store(DW_partial, (program, 0), dw)


@tile.jit
def column_sums(P, Out, BM: tile.constexpr, BN: tile.constexpr):
    """Out[j] = sum over i of P[i, j], BN columns a program (the partials' rows in BM steps)."""
    col = tile.program_id(0) * BN
    total = tile.zeros((BN,))
    for i in range(0, P.shape[0], BM):
        total = total + tile.sum(tile.load(P, (i, col), (BM, BN)), 0)
    tile.store(Out, col, total.to(Out.dtype), bound=P.shape[1])


def next_power_of_two(n: int) -> int:
    return 1 << (n - 1).bit_length()


def forward_blocks(BN: int) -> dict:
    """The forward's rows a program and warps: short rows go several to a program
    (a (BM, BN) tile of 4096 elements), long ones one each; 8 warps up to 8192
    columns (Triton's choice), 16 above, for at most 32 f32 registers a tile."""
    return dict(BM=max(1, 4096 // BN), num_warps=8 if BN <= 8192 else 16)


def warps_for(BN: int) -> int:
    """The backward's warps for its (1, BN) rows: 4 up to 1024 columns, then BN / 256
    (16 f32 registers a thread for each row-sized tile), at most 16."""
    return min(16, max(4, BN // 256))


def layer_norm(x, w, b, eps, dy, empty, zeros, interpret=False, ROWS=16):
    """(y, dx, dw, db) for x (M, N) through the kernels above; `empty`/`zeros`
    make arrays of the caller's kind (torch on the GPU, numpy on the CPU)."""
    M, N = x.shape
    BN = next_power_of_two(N)
    programs = tile.cdiv(M, ROWS)
    y, dx = empty((M, N), x.dtype), empty((M, N), x.dtype)
    mean, rstd = empty((M,), "float32"), empty((M,), "float32")
    dw_partial, db_partial = zeros((programs, N)), zeros((programs, N))
    dw, db = empty((N,), "float32"), empty((N,), "float32")
    launch = (lambda k, grid: k[grid].interpret) if interpret else (lambda k, grid: k[grid])
    warps = warps_for(BN)
    fwd = forward_blocks(BN)
    launch(layer_norm_forward, (tile.cdiv(M, fwd["BM"]),))(x, w, b, y, mean, rstd, eps, BN=BN,
                                                            **fwd)
    launch(layer_norm_backward, (programs,))(x, w, dy, mean, rstd, dx, dw_partial, db_partial,
                                            ROWS=ROWS, BN=BN, num_warps=warps)
    BM = min(16, next_power_of_two(programs))
    for partial, out in ((dw_partial, dw), (db_partial, db)):
        launch(column_sums, (tile.cdiv(N, 128),))(partial, out, BM=BM, BN=128)
    return y, dx, dw, db


def rms_norm(x, w, eps, dy, empty, zeros, interpret=False, ROWS=16):
    """(y, dx, dw) for x (M, N), as layer_norm."""
    M, N = x.shape
    BN = next_power_of_two(N)
    programs = tile.cdiv(M, ROWS)
    y, dx = empty((M, N), x.dtype), empty((M, N), x.dtype)
    rstd, dw = empty((M,), "float32"), empty((N,), "float32")
    dw_partial = zeros((programs, N))
    launch = (lambda k, grid: k[grid].interpret) if interpret else (lambda k, grid: k[grid])
    warps = warps_for(BN)
    fwd = forward_blocks(BN)
    launch(rms_norm_forward, (tile.cdiv(M, fwd["BM"]),))(x, w, y, rstd, eps, BN=BN, **fwd)
    launch(rms_norm_backward, (programs,))(x, w, dy, rstd, dx, dw_partial, ROWS=ROWS, BN=BN,
                                          num_warps=warps)
    launch(column_sums, (tile.cdiv(N, 128),))(dw_partial, dw,
                                              BM=min(16, next_power_of_two(programs)), BN=128)
    return y, dx, dw


def reference(x, w, b, eps, dy, rms: bool):
    """numpy float64 forward and backward (b is None for RMSNorm)."""
    import numpy as np
    x, w, dy = (np.asarray(a, np.float64) for a in (x, w, dy))
    N = x.shape[1]
    mean = 0 if rms else x.mean(1, keepdims=True)
    rstd = 1 / np.sqrt(((x - mean) ** 2).mean(1, keepdims=True) + eps)
    xhat = (x - mean) * rstd
    y = xhat * w + (0 if rms else np.asarray(b, np.float64))
    wdy = w * dy
    c1 = (xhat * wdy).sum(1, keepdims=True) / N
    c2 = 0 if rms else wdy.sum(1, keepdims=True) / N
    dx = (wdy - (xhat * c1 + c2)) * rstd
    return y, dx, (dy * xhat).sum(0), dy.sum(0)


def run_on_gpu(M=4096, N=4096) -> bool:
    import torch
    x = torch.randn(M, N, device="cuda", dtype=torch.bfloat16)
    w, b = torch.randn(N, device="cuda"), torch.randn(N, device="cuda")
    dy = torch.randn_like(x)
    empty = lambda shape, dtype: torch.empty(shape, device="cuda", dtype=getattr(torch, str(dtype).replace("torch.", "")))
    zeros = lambda shape: torch.zeros(shape, device="cuda")
    ok = True
    for rms in (False, True):
        xr = x.float().requires_grad_()
        wr, br = w.clone().requires_grad_(), b.clone().requires_grad_()
        if rms:
            y, dx, dw = rms_norm(x, w, 1e-6, dy, empty, zeros)
            ref = torch.nn.functional.rms_norm(xr, (N,), wr, 1e-6)
        else:
            y, dx, dw, db = layer_norm(x, w, b, 1e-5, dy, empty, zeros)
            ref = torch.nn.functional.layer_norm(xr, (N,), wr, br, 1e-5)
        ref.backward(dy.float())
        pairs = [(y, ref), (dx, xr.grad), (dw, wr.grad)] + ([] if rms else [(db, br.grad)])
        errors = [float((a.float() - r.float()).norm() / r.float().norm()) for a, r in pairs]
        name = "RMSNorm" if rms else "LayerNorm"
        good = all(e < 1e-2 for e in errors)
        ok &= good
        print(f"{name} {M}x{N} bf16 on the GPU: relative errors {', '.join(f'{e:.1e}' for e in errors)}"
              f" (y, dx, dw{'' if rms else ', db'}): {'matches' if good else 'DIFFERS FROM'} torch")
    return ok


def run_on_interpreter(M=40, N=100) -> bool:
    import numpy as np
    print(f"Running on the CPU interpreter (no CUDA GPU here): {M} x {N} f32 rows, against numpy.")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((M, N)).astype(np.float32)
    w, b = rng.standard_normal(N).astype(np.float32), rng.standard_normal(N).astype(np.float32)
    dy = rng.standard_normal((M, N)).astype(np.float32)
    empty = lambda shape, dtype: np.empty(shape, dtype=dtype)
    zeros = lambda shape: np.zeros(shape, np.float32)
    ok = True
    for rms in (False, True):
        got = (rms_norm(x, w, 1e-6, dy, empty, zeros, interpret=True, ROWS=8) if rms else
               layer_norm(x, w, b, 1e-5, dy, empty, zeros, interpret=True, ROWS=8))
        want = reference(x, w, None if rms else b, 1e-6 if rms else 1e-5, dy, rms)
        good = all(np.allclose(g, r, rtol=1e-4, atol=1e-4) for g, r in zip(got, want))
        ok &= good
        print(f"{'RMSNorm' if rms else 'LayerNorm'} forward and backward: "
              f"{'matches' if good else 'DIFFERS FROM'} numpy")
    return ok


if __name__ == "__main__":
    sys.exit(0 if (run_on_gpu() if tile.gpu_available() else run_on_interpreter()) else 1)
