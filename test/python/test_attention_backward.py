"""python/tile/ops/attention_backward.py: dQ, dK, dV on the interpreter against a
float64 numpy backward (any N, ragged last blocks, causal and not, bf16 and f16,
blocks of unequal sizes, head dims padded to the tile width, grouped kv heads), PTX
of the GPU configurations (with and without TMA), the errors at bad input, and with
the `gpu` marker against torch SDPA's backward (from a float32 forward, and from
tile.ops.attention's output and log-sum-exp)."""
import math

import ml_dtypes
import numpy as np
import pytest

import tile
from tile.ops import attention_backward as ab

DTYPES = {"bf16": ml_dtypes.bfloat16, "f16": np.float16}
# Small blocks, so that small N still spans several blocks of both kernels. Head
# dims below 64 or not a power of two run in tiles of tile_width(d) columns.
SMALL = dict(dkdv_blocks=dict(BM=16, BN=32), dq_blocks=dict(BM=32, BN=16))


def forward64(q, k, v, scale, causal):
    """float64 P, O and the row log-sum-exp over (B, H, N, D) arrays (k and v
    of as many heads as q)."""
    s = np.einsum("bhid,bhjd->bhij", q, k) * scale
    if causal:
        n = s.shape[-1]
        s = np.where(np.tril(np.ones((n, n), bool)), s, -np.inf)
    lse = np.log(np.exp(s - s.max(-1, keepdims=True)).sum(-1)) + s.max(-1)
    p = np.exp(s - lse[..., None])
    return p, p @ v, lse


def by_query_head(t, H):
    """k or v of H_kv heads as H: query head h reads kv head h // (H / H_kv)."""
    return np.repeat(t, H // t.shape[1], axis=1)


def backward64(q, k, v, do, scale, causal):
    """float64 (dq, dk, dv) of softmax(scale·QKᵀ) V, written out by hand; a kv
    head's dk and dv sum over the query heads that read it."""
    B, H, N, D = q.shape
    H_kv = k.shape[1]
    q, k, v, do = (t.astype(np.float64) for t in (q, k, v, do))
    k, v = by_query_head(k, H), by_query_head(v, H)
    p, _, _ = forward64(q, k, v, scale, causal)
    dv = np.swapaxes(p, -1, -2) @ do
    dp = do @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (p * dp).sum(-1, keepdims=True))
    dk = scale * np.swapaxes(ds, -1, -2) @ q
    per_kv_head = lambda t: t.reshape(B, H_kv, H // H_kv, N, D).sum(2)  # noqa: E731
    return scale * ds @ k, per_kv_head(dk), per_kv_head(dv)


def problem(B, H, N, D, dtype, causal, seed=0, H_kv=None):
    """Inputs as attention_backward takes them: q, k, v, o, dO in `dtype` (k and
    v of H_kv heads, H by default); lse float32; O and lse from the float64
    forward of the rounded q, k, v."""
    rng = np.random.default_rng(seed)
    q, do = (rng.standard_normal((B, H, N, D)).astype(dtype) for _ in range(2))
    k, v = (rng.standard_normal((B, H_kv or H, N, D)).astype(dtype) for _ in range(2))
    scale = 1 / math.sqrt(D)
    _, o, lse = forward64(q.astype(np.float64), *(by_query_head(t.astype(np.float64), H)
                                                  for t in (k, v)), scale, causal)
    return q, k, v, o.astype(dtype), lse.astype(np.float32), do, scale


def max_error(got, want):
    """Largest error relative to the largest reference value (the outputs are
    rounded to 16 bits; small entries carry the big ones' absolute error)."""
    return float(np.abs(got.astype(np.float64) - want).max() / np.abs(want).max())


CASES = [(1, 2, 16, 16, False), (1, 2, 16, 16, True), (2, 1, 33, 32, False),
         (2, 1, 33, 32, True), (1, 2, 64, 64, False), (1, 2, 64, 64, True),
         (1, 2, 100, 16, True), (1, 1, 130, 32, False), (1, 1, 130, 64, True),
         (2, 2, 47, 16, True), (1, 2, 70, 24, False), (1, 1, 90, 40, True),
         (1, 1, 40, 96, True)]


@pytest.mark.parametrize("dtype", ["bf16", "f16"])
@pytest.mark.parametrize("B,H,N,D,causal", CASES)
def test_matches_float64_on_the_interpreter(B, H, N, D, causal, dtype):
    q, k, v, o, lse, do, scale = problem(B, H, N, D, DTYPES[dtype], causal, seed=N + D)
    got = ab.attention_backward(q, k, v, o, lse, do, causal, scale, **SMALL)
    want = backward64(q, k, v, do, scale, causal)
    tolerance = 1.5e-2 if dtype == "bf16" else 3e-3
    for name, g, w in zip(("dq", "dk", "dv"), got, want):
        assert g.dtype == q.dtype and g.shape == q.shape
        assert max_error(g, w) < tolerance, name
    # The check tells causal from not: the other mask is far off.
    other = backward64(q, k, v, do, scale, not causal)
    assert max(max_error(g, w) for g, w in zip(got, other)) > 0.05


def test_default_blocks_on_the_interpreter():
    """The GPU's block sizes (dK/dV 128 keys x 64 queries, dQ 128 x 64): a
    ragged last block in both kernels, and a causal diagonal of two steps."""
    q, k, v, o, lse, do, scale = problem(1, 2, 200, 32, DTYPES["bf16"], True, seed=1)
    got = ab.attention_backward(q, k, v, o, lse, do, True, scale)
    for name, g, w in zip(("dq", "dk", "dv"), got, backward64(q, k, v, do, scale, True)):
        assert max_error(g, w) < 1.5e-2, name


@pytest.mark.parametrize("H,H_kv,causal", [(4, 2, False), (4, 1, True), (6, 2, True)])
def test_grouped_kv_heads_on_the_interpreter(H, H_kv, causal):
    """Grouped-query attention: a kv head's dK and dV sum over its query heads
    (one dK/dV program walks them all), dQ reads its kv head's K and V."""
    q, k, v, o, lse, do, scale = problem(2, H, 37, 16, DTYPES["f16"], causal, seed=H * H_kv,
                                         H_kv=H_kv)
    got = ab.attention_backward(q, k, v, o, lse, do, causal, scale, **SMALL)
    assert [g.shape for g in got] == [q.shape, k.shape, v.shape]
    for name, g, w in zip(("dq", "dk", "dv"), got, backward64(q, k, v, do, scale, causal)):
        assert max_error(g, w) < 3e-3, name


def test_tile_width():
    assert [ab.tile_width(d) for d in (8, 16, 64, 72, 96, 128)] == [64, 64, 64, 128, 128, 128]


def test_delta_is_the_row_dot():
    rng = np.random.default_rng(3)
    o, do = (rng.standard_normal((70, 32)).astype(ml_dtypes.bfloat16) for _ in range(2))
    delta = np.full(70, np.nan, np.float32)
    ab.row_dot[(tile.cdiv(70, 16), 1)].interpret(o, do, delta, 70, BM=16, D=32)  # one head
    want = (o.astype(np.float64) * do.astype(np.float64)).sum(1)
    np.testing.assert_allclose(delta, want, rtol=1e-5, atol=1e-5)


def test_rows_past_n_are_left_alone():
    """A head's ragged last block must not write the next head's rows: with
    N = 20 and blocks of 16 or 32, every head's rows are its own (the outputs,
    given through out=, start as NaN: each row is written once)."""
    q, k, v, o, lse, do, scale = problem(1, 3, 20, 16, DTYPES["f16"], False, seed=5)
    got = tuple(np.full_like(q, np.nan) for _ in range(3))
    returned = ab.attention_backward(q, k, v, o, lse, do, False, scale, out=got, **SMALL)
    assert all(r is g for r, g in zip(returned, got))
    for name, g, w in zip(("dq", "dk", "dv"), got, backward64(q, k, v, do, scale, False)):
        for h in range(3):
            assert max_error(g[:, h], w[:, h]) < 3e-3, (name, h)


def signature(dtype, outputs, aligned=True):
    """Q, K, V, dO, LSE, Delta, `outputs` gradients, seq_len (any), group, sm_scale;
    aligned: strides a multiple of 16 (TMA), else nothing known (d40's rows)."""
    array = f"*{dtype}[2]{':16' if aligned else ''}"
    return (array,) * 4 + ("*f32[1]:16",) * 2 + (array,) * outputs + ("i32", "i32", "f32")


DKDV_ARGS, DQ_ARGS = signature("bf16", 2), signature("bf16", 1)
SHARED_LIMIT = 227 * 1024  # H100, one block, opted in


@pytest.mark.parametrize("dtype", ["bf16", "f16"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 128])
def test_lowers_to_ptx(D, causal, dtype):
    from tile.compiler import find_ptxas
    dkdv_blocks, dq_blocks = ab.default_blocks(D)
    for kernel, outputs, blocks in ((ab.attention_bwd_dkdv, 2, dkdv_blocks),
                                    (ab.attention_bwd_dq, 1, dq_blocks)):
        compiled = kernel.compile(*signature(dtype, outputs), D=D, CAUSAL=causal, **blocks)
        assert f"wgmma.mma_async.sync.aligned.m64n{blocks['BM'] if outputs == 2 else 64}k16" \
               f".f32.{dtype}.{dtype}" in compiled.ptx
        assert compiled.metadata["shared_bytes"] <= SHARED_LIMIT
        # Q, K, V and dO through TMA: the pipeliner staged every mma operand.
        assert {t["arg"] for t in compiled.metadata["tma"]} >= {"Q", "K", "V", "dO"}
        if find_ptxas():
            assert compiled.metadata["spill_stores"] == 0


@pytest.mark.parametrize("causal", [False, True])
def test_lowers_to_ptx_without_tma(causal):
    """Rows whose stride TMA cannot take (d40, d96) are loaded into registers and
    written to shared memory before each step's first mma."""
    dkdv_blocks, dq_blocks = ab.default_blocks(64, tma=False)
    for kernel, outputs, blocks in ((ab.attention_bwd_dkdv, 2, dkdv_blocks),
                                    (ab.attention_bwd_dq, 1, dq_blocks)):
        compiled = kernel.compile(*signature("bf16", outputs, aligned=False), D=64,
                                  CAUSAL=causal, **blocks)
        assert compiled.metadata["tma"] == []
        assert "wgmma.mma_async" in compiled.ptx


def test_causal_block_sizes_are_checked():
    with pytest.raises(tile.CompilationError, match="needs BM to divide BN"):
        ab.attention_bwd_dkdv.ir(*DKDV_ARGS, BM=64, BN=32, D=64, CAUSAL=True)
    with pytest.raises(tile.CompilationError, match="needs BN to divide BM"):
        ab.attention_bwd_dq.ir(*DQ_ARGS, BM=32, BN=64, D=64, CAUSAL=True)


def test_bad_input_is_a_clear_error():
    q, k, v, o, lse, do, scale = problem(1, 1, 16, 16, DTYPES["bf16"], False)
    with pytest.raises(ValueError, match="k must be .B, H_kv, N, D., H_kv dividing H = 1"):
        ab.attention_backward(q, np.concatenate([k, k], 1), v, o, lse, do, False, scale)
    with pytest.raises(ValueError, match="k has shape"):
        ab.attention_backward(q, k[:, :, :8], v, o, lse, do, False, scale)
    with pytest.raises(ValueError, match="bfloat16 or float16"):
        f32 = q.astype(np.float32)
        ab.attention_backward(f32, f32, f32, f32, lse, f32, False, scale)
    with pytest.raises(ValueError, match="lse must be float32"):
        ab.attention_backward(q, k, v, o, lse.astype(np.float64), do, False, scale)
    with pytest.raises(ValueError, match="out's dk must be a contiguous"):
        ab.attention_backward(q, k, v, o, lse, do, False, scale,
                              out=(np.empty_like(q), np.empty_like(q)[:, :, ::2], q))
    for width in (20, 136):
        with pytest.raises(ValueError, match=f"head dim {width}; a multiple of 8 up to 128"):
            x = np.zeros((1, 1, 16, width), q.dtype)
            ab.attention_backward(x, x, x, x, lse, x, False, scale)


def _torch_case(B, H, N, D, dtype_name, causal, tile_forward=False, H_kv=None):
    """tile's gradients and SDPA's (bf16/f16) of one problem, and a float32 autograd
    reference. O and L: the float32 forward's, or tile.ops.attention's (return_lse).
    k and v of H_kv heads reach SDPA repeated to H (autograd sums their gradients)."""
    import torch
    import torch.nn.functional as F
    torch.manual_seed(N + D)
    dtype = getattr(torch, dtype_name)
    q, do = (torch.randn(B, H, N, D, device="cuda", dtype=dtype) for _ in range(2))
    k, v = (torch.randn(B, H_kv or H, N, D, device="cuda", dtype=dtype) for _ in range(2))
    scale = 1 / math.sqrt(D)

    def sdpa(q, k, v):
        group = H // k.shape[1]
        return F.scaled_dot_product_attention(q, k.repeat_interleave(group, 1),
                                              v.repeat_interleave(group, 1), is_causal=causal)
    qr, kr, vr = (t.float().requires_grad_() for t in (q, k, v))
    o32 = sdpa(qr, kr, vr)
    o32.backward(do.float())
    if tile_forward:
        import tile.ops
        o, lse = tile.ops.attention(q, k, v, causal=causal, return_lse=True)
    else:
        s = (q.float() @ k.float().repeat_interleave(H // k.shape[1], 1).transpose(-1, -2)
             * scale)
        if causal:
            s = s.masked_fill(torch.ones(N, N, device="cuda", dtype=torch.bool).triu(1),
                              -math.inf)
        o, lse = o32.detach().to(dtype), torch.logsumexp(s, -1)
    got = ab.attention_backward(q, k, v, o, lse, do, causal, scale)
    qs, ks, vs = (t.detach().clone().requires_grad_() for t in (q, k, v))
    sdpa(qs, ks, vs).backward(do)
    return got, (qs.grad, ks.grad, vs.grad), (qr.grad, kr.grad, vr.grad)


def _assert_close_as_sdpa(got, sdpa, ref):
    """Relative Frobenius error against float32 autograd, within twice SDPA's own
    (bf16 or f16 SDPA, same inputs) plus a floor of 1e-3."""
    for name, g, s, r in zip(("dq", "dk", "dv"), got, sdpa, ref):
        error = float((g.float() - r).norm() / r.norm())
        sdpa_error = float((s.float() - r).norm() / r.norm())
        assert error < 2 * sdpa_error + 1e-3, (name, error, sdpa_error)


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("N", [1000, 4096])
@pytest.mark.parametrize("D", [64, 128])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_matches_sdpa_backward_on_the_gpu(dtype, D, N, causal):
    _assert_close_as_sdpa(*_torch_case(2, 4, N, D, dtype, causal))


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D,H_kv", [(40, 6), (96, 6), (64, 2), (128, 1)])
def test_backward_of_tile_ops_attention_on_the_gpu(D, H_kv, causal):
    """From tile.ops.attention's output and log-sum-exp: head dims that are not a
    power of two (tiles of 64 and 128 columns), grouped kv heads, N ragged."""
    _assert_close_as_sdpa(*_torch_case(2, 6, 777, D, "bfloat16", causal, tile_forward=True,
                                       H_kv=H_kv))
