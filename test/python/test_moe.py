"""examples/moe.py: routing, permutation, grouped GEMM and combine on the interpreter
against numpy (every intermediate checked, ragged sizes, experts that get no
token), compiled through ptxas, and on a GPU against torch (a loop over experts)
at Mixtral-like and DeepSeek-like sizes."""
import os
import sys

import ml_dtypes
import numpy as np
import pytest

from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import moe  # noqa: E402

INTERPRET = lambda kernel, grid: kernel[grid].interpret  # noqa: E731


def shuffled_logits(rng, T, E):
    """Distinct logits 0.25 apart per token: no near-ties for the top-k to split."""
    return rng.permuted(np.tile(np.arange(E, dtype=np.float32) * 0.25, (T, 1)), axis=1)


@pytest.mark.parametrize("T,E,H,N,topk,idle", [(50, 6, 64, 96, 2, False),
                                                (37, 16, 80, 64, 4, True),
                                                (9, 4, 64, 64, 1, False)])
def test_moe_on_the_interpreter(T, E, H, N, topk, idle):
    rng = np.random.default_rng(T)
    gemm = dict(BM=64, BN=64, BK=16, GROUP=2)
    x = rng.standard_normal((T, H)).astype(ml_dtypes.bfloat16)
    w = (rng.standard_normal((E * H, N)) / 8).astype(ml_dtypes.bfloat16)
    logits = shuffled_logits(rng, T, E)
    if idle:  # experts 0 and 1 are never chosen: empty segments
        logits[:, :2] -= 100
    out = np.full((T, N), np.nan, np.float32)
    b = moe.numpy_buffers(T, E, H, N, topk, "bfloat16", gemm["BM"])
    moe.moe_steps(x, logits, w, out, b, topk, gemm=gemm, gemm_options={}, launch=INTERPRET)
    want, experts, weights = moe.numpy_moe(x.astype(np.float32), logits, w, topk)
    # Routing: the experts exactly, the weights to f32 rounding.
    assert np.array_equal(b.experts, experts)
    np.testing.assert_allclose(b.weights, weights, rtol=1e-5)
    # Counts, and each expert's pairs ranked 0 .. count-1 in some order.
    counts = np.bincount(experts.ravel(), minlength=E)
    assert np.array_equal(b.counts, counts)
    for e in range(E):
        assert sorted(b.ranks[experts == e]) == list(range(counts[e]))
    # Segments padded to BM; each tile's expert, -1 past the last.
    padded = -(-counts // gemm["BM"]) * gemm["BM"]
    assert np.array_equal(b.starts, np.cumsum(padded) - padded)
    want_tiles = np.repeat(np.arange(E), padded // gemm["BM"])
    assert np.array_equal(b.tile_experts[:len(want_tiles)], want_tiles)
    assert (b.tile_experts[len(want_tiles):] == -1).all()
    # Rows in expert order, padding zeroed.
    rows = b.starts[experts] + b.ranks
    token = np.repeat(np.arange(T), topk).reshape(T, topk)
    assert np.array_equal(b.xp[rows], x[token])
    used = np.zeros(padded.sum(), bool)
    used[rows.ravel()] = True
    assert (b.xp[:padded.sum()][~used].astype(np.float32) == 0).all()
    error = np.linalg.norm(out - want) / np.linalg.norm(want)
    assert error < 1e-2, error
    # The persistent GEMM, three programs walking the tiles, writes the same rows.
    yp = np.full_like(b.yp, np.nan)
    INTERPRET(moe.grouped_gemm_persistent, (3,))(b.xp, w, yp, b.tile_experts, **gemm)
    used = np.repeat(b.tile_experts >= 0, gemm["BM"])
    assert np.array_equal(yp[used], b.yp[used])


def test_topk_of_many_experts_picks_numpy_s_order():
    """64 experts, top-8, where ties and equal probabilities are frequent."""
    rng = np.random.default_rng(1)
    T, E, topk = 40, 64, 8
    logits = rng.integers(0, 3, (T, E)).astype(np.float32)  # many equal logits
    b = moe.numpy_buffers(T, E, 64, 64, topk, "bfloat16", 64)
    INTERPRET(moe.route, (moe.tile.cdiv(T, moe.ROUTE_BT),))(
        logits, b.weights, b.experts, b.ranks, b.counts, BT=moe.ROUTE_BT, E=E, TOPK=topk)
    _, experts, weights = moe.numpy_moe(np.zeros((T, 64), np.float32), logits,
                                        np.zeros((E * 64, 64), np.float32), topk)
    assert np.array_equal(b.experts, experts)
    np.testing.assert_allclose(b.weights, weights, rtol=1e-5)


B, F, I2, I1 = "*bf16[2]:16", "*f32[2]:16", "*i32[2]:16", "*i32:16"


@pytest.mark.parametrize("name,args,blocks", [
    ("route", (F, F, I2, I2, I1), dict(BT=16, E=64, TOPK=8)),
    ("align", (I1, I1, I1), dict(BM=128, E=64, BTILES=128)),
    ("permute", (B, I2, I2, I1, I1, B), dict(BM=128, TOPK=8, **moe.COPY)),
    ("grouped_gemm", (B, B, B, I1), dict(**moe.GEMM, **moe.GEMM_LAUNCH)),
    ("grouped_gemm_persistent", (B, B, B, I1), dict(**moe.GEMM, num_warps=8, num_stages=3)),
    ("combine", (B, F, I2, I2, I1, B), dict(TOPK=2, **moe.COPY))])
def test_moe_kernels_compile(name, args, blocks):
    compiled = getattr(moe, name).compile(*args, **blocks)
    if name.startswith("grouped_gemm"):  # TMA loads of the permuted rows and of W, WGMMA
        assert "cp.async.bulk.tensor" in compiled.ptx and "wgmma.mma_async" in compiled.ptx
    if name == "route":
        assert "atom." in compiled.ptx
    if find_ptxas():
        assert compiled.cubin and compiled.metadata["spill_stores"] == 0


@pytest.mark.gpu
@pytest.mark.parametrize("T,E,H,N,topk", [(4096, 8, 4096, 14336, 2),  # Mixtral 8x7B
                                          (4096, 64, 2048, 1408, 8),  # DeepSeek-like
                                          (333, 16, 192, 320, 4)])  # ragged
def test_gpu_moe_matches_torch(T, E, H, N, topk):
    import torch
    torch.manual_seed(T + E)
    out, b, (want, experts, weights), w = moe.run_on_gpu(T, E, H, N, topk)
    assert torch.equal(b.experts.long(), experts)
    torch.testing.assert_close(b.weights, weights, rtol=1e-4, atol=1e-6)
    assert torch.equal(b.counts.long(), torch.bincount(experts.ravel(), minlength=E))
    error = float((out.float() - want).norm() / want.norm())
    assert error < 1e-2, error
    # The persistent GEMM (tuned: it picks its configuration here) writes the same rows.
    yp = torch.full_like(b.yp, float("nan"))
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    moe.grouped_gemm_persistent_tuned[moe.gemm_grid(b.xp.shape[0], N, programs)](
        b.xp, w, yp, b.tile_experts)
    used = (b.tile_experts >= 0).repeat_interleave(moe.GEMM["BM"])
    torch.testing.assert_close(yp[used], b.yp[used])
