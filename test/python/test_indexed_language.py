"""The gather and scatter forms of tile.load/tile.store, mask= and other= on every
form, and the atomics, written as kernels: the interpreter against numpy, every
kernel compiled to PTX (and a cubin where ptxas is on PATH), and on a GPU against
torch."""
import ml_dtypes
import numpy as np
import pytest

import tile
from tile.compiler import find_ptxas

VEC, MAT = "*f32:16", "*f32[2]:16"
rng = np.random.default_rng(0)


@tile.jit
def gather_1d(x, idx, out, n, B: tile.constexpr):
    s = tile.program_id(0) * B
    pos = s + tile.arange(B)
    i = tile.load(idx, s, B, bound=n)
    tile.store(out, s, tile.load(x, i, mask=pos < n, other=-1.0), bound=n)


def test_gather_with_mask_and_other():
    x = rng.standard_normal(100).astype(np.float32)
    idx = rng.integers(0, 100, 300).astype(np.int32)
    out = np.zeros(300, np.float32)
    gather_1d[(3,)].interpret(x, idx, out, 250, B=128)
    assert np.array_equal(out[:250], x[idx[:250]]) and not out[250:].any()


@tile.jit
def gather_rows(table, ids, out, BT: tile.constexpr, BD: tile.constexpr, WIDE: tile.constexpr):
    """out[t, :] = table[ids[t], :], offsets int64 where WIDE."""
    t0 = tile.program_id(0) * BT
    rows = tile.load(ids, t0, BT)
    if WIDE:
        rows = rows.to(tile.int64)
    cols = tile.arange(BD)
    offsets = (rows * table.shape[1])[:, None] + cols[None, :]
    inside = (cols < table.shape[1])[None, :]  # a mask broadcast along the rows
    tile.store(out, (t0, 0), tile.load(table, offsets, mask=inside))


@pytest.mark.parametrize("wide", [False, True])
def test_gather_of_rows_by_2d_offsets(wide):
    table = rng.standard_normal((50, 20)).astype(np.float32)
    ids = rng.integers(0, 50, 64).astype(np.int32)
    out = np.zeros((64, 20), np.float32)
    gather_rows[(2,)].interpret(table, ids, out, BT=32, BD=32, WIDE=wide)
    assert np.array_equal(out, table[ids])


@tile.jit
def scatter_1d(x, idx, out, n, B: tile.constexpr):
    pos = tile.arange(B)
    tile.store(out, tile.load(idx, 0, B), tile.load(x, 0, B), mask=pos < n)


def test_scatter_writes_only_where_masked_on():
    x = np.arange(128, dtype=np.float32) + 1
    idx = rng.permutation(256)[:128].astype(np.int32)
    idx[100:] = 1 << 30  # masked off: far outside `out`, never written
    out = np.zeros(256, np.float32)
    scatter_1d[(1,)].interpret(x, idx, out, 100, B=128)
    want = np.zeros(256, np.float32)
    want[idx[:100]] = x[:100]
    assert np.array_equal(out, want)


@tile.jit
def scatter_constant(out, idx, B: tile.constexpr):
    i = tile.load(idx, 0, B)
    tile.store(out, i, -1.5, mask=i >= 0)  # a number is stored to every offset


@tile.jit
def other_negative_zero(x, out, B: tile.constexpr):
    k = tile.arange(B)
    tile.store(out, 0, tile.load(x, k, mask=k % 2 == 0, other=-0.0))


def test_scatter_of_a_number_and_other_negative_zero():
    idx = np.array([0, 2, -2, -7] * 32, np.int32)
    out = np.zeros(8, np.float32)
    scatter_constant[(1,)].interpret(out, idx, B=128)
    assert out.tolist() == [-1.5, 0, -1.5, 0, 0, 0, 0, 0]
    x, got = np.ones(128, np.float32), np.ones(128, np.float32)
    other_negative_zero[(1,)].interpret(x, got, B=128)
    assert (got[::2] == 1).all() and (got[1::2] == 0).all() and np.signbit(got[1::2]).all()


@tile.jit
def masked_view(A, C, BM: tile.constexpr, BN: tile.constexpr):
    i = tile.program_id(0) * BM
    rows = i + tile.arange(BM)
    # Columns 3.. read as 5; rows of odd index are not written.
    a = tile.load(A, (i, 0), (BM, BN), mask=(tile.arange(BN) < 3)[None, :], other=5.0)
    tile.store(C, (i, 0), a, mask=(rows % 2 == 0)[:, None])


def test_masked_view_load_and_store():
    a = rng.standard_normal((50, 6)).astype(np.float32)
    c = np.full((50, 6), 9, np.float32)
    masked_view[(2,)].interpret(a, c, BM=32, BN=8)
    want = np.where(np.arange(6) < 3, a, 5.0)
    want[1::2] = 9
    assert np.array_equal(c, want)


@tile.jit
def masked_3d(X, Y, B: tile.constexpr, M: tile.constexpr, N: tile.constexpr):
    b = tile.program_id(0) * B
    x = tile.load(X, (b, 0, 0), (B, M, N))
    tile.store(Y, (b, 1, 2), x, mask=x > 0)  # the positives, moved by (0, 1, 2)


def test_masked_store_to_a_3d_view():
    x = rng.standard_normal((6, 5, 7)).astype(np.float32)
    y = np.zeros((6, 5, 7), np.float32)
    masked_3d[(3,)].interpret(x, y, B=2, M=8, N=8)
    want = np.zeros_like(y)
    want[:, 1:, 2:] = np.maximum(x[:, :4, :5], 0)
    assert np.array_equal(y, want)


@tile.jit
def masked_1d(x, out, keep_below, B: tile.constexpr):
    s = tile.program_id(0) * B
    pos = s + tile.arange(B)
    # No bound: the mask alone keeps the tail of the last tile from being read.
    v = tile.load(x, s, B, mask=pos < keep_below, other=2)
    tile.store(out, s, v, mask=pos < out.shape[0])


def test_masked_1d_load_and_store_stay_inside_the_arrays():
    x = rng.integers(-9, 9, 200).astype(np.int32)
    out = np.zeros(200, np.int32)
    masked_1d[(2,)].interpret(x, out, 150, B=128)
    assert np.array_equal(out, np.where(np.arange(200) < 150, x, 2))


@tile.jit
def masked_strided(x, out, B: tile.constexpr):
    pos = tile.arange(B)
    tile.store(out, 0, tile.load(x, 0, B, bound=x.shape[0]) * 2.0, mask=pos % 3 != 0)


def test_masked_store_to_a_strided_array():
    x = rng.standard_normal(100).astype(np.float32)
    base = np.zeros(400, np.float32)
    out = base[::4]  # stride 4: the store's offsets are scaled by it
    masked_strided[(1,)].interpret(x, out, B=128)
    want = np.where(np.arange(100) % 3 != 0, x * 2, 0)
    assert np.array_equal(out, want) and not base.reshape(100, 4)[:, 1:].any()


@tile.jit
def histogram(x, hist, old, n, B: tile.constexpr):
    s = tile.program_id(0) * B
    pos = s + tile.arange(B)
    inside = pos < n
    bins = tile.load(x, s, B, mask=inside)
    tile.store(old, s, tile.atomic_add(hist, bins, 1, mask=inside), bound=n)


def test_atomic_add_counts_duplicates_and_returns_old_values():
    x = rng.integers(0, 10, 300).astype(np.int32)
    hist, old = np.zeros(10, np.int32), np.full(300, -1, np.int32)
    histogram[(3,)].interpret(x, hist, old, 300, B=128)
    assert np.array_equal(hist, np.bincount(x, minlength=10))
    # Applied in order (programs, then elements): each saw how many came before it.
    assert np.array_equal(old, [np.count_nonzero(x[:k] == x[k]) for k in range(300)])


@tile.jit
def extremes(x, vals, out_max, out_min, B: tile.constexpr):
    bins = tile.load(x, 0, B)
    v = tile.load(vals, 0, B)
    tile.atomic_max(out_max, bins, v, sem="relaxed", scope="cta")
    tile.atomic_min(out_min, bins, v, sem="release", scope="sys")


def test_atomic_max_and_min():
    x = rng.integers(0, 8, 128).astype(np.int32)
    v = rng.standard_normal(128).astype(np.float32)
    hi, lo = np.full(8, -np.inf, np.float32), np.full(8, np.inf, np.float32)
    extremes[(1,)].interpret(x, v, hi, lo, B=128)
    for b in range(8):
        if (x == b).any():
            assert hi[b] == v[x == b].max() and lo[b] == v[x == b].min()


@tile.jit
def claim(slots, keys, winner, B: tile.constexpr):
    """Each program claims the free slots (0) of its keys with its id + 1; a
    program's first element of each slot wins, the others see the claim."""
    k = tile.load(keys, 0, B)
    me = tile.program_id(0) + 1
    old = tile.atomic_cas(slots, k, 0, me)
    tile.store(winner, tile.program_id(0) * B, old)
    tile.atomic_xchg(slots, k, me * 10, mask=k == 0, sem="acquire")


def test_compare_and_swap_and_exchange():
    keys = (np.arange(128) % 32).astype(np.int32)
    slots, old = np.zeros(32, np.int32), np.full(256, -5, np.int32)
    claim[(2,)].interpret(slots, keys, old, B=128)
    # The interpreter applies each op for every program (in order) before the next op:
    # both compare-and-swaps, then both exchanges of slot 0 (program 2's last).
    assert slots[0] == 20 and (slots[1:] == 1).all()
    assert (old[:32] == 0).all() and (old[32:] == 1).all()


@tile.jit
def atomic_bf16(x, idx, vals, B: tile.constexpr):
    tile.atomic_add(x, tile.load(idx, 0, B), tile.load(vals, 0, B))


def test_atomic_add_on_bf16_rounds_each_add():
    x = np.zeros(4, ml_dtypes.bfloat16)
    idx = np.zeros(128, np.int32)
    vals = np.full(128, 1, ml_dtypes.bfloat16)
    atomic_bf16[(1,)].interpret(x, idx, vals, B=128)
    assert float(x[0]) == 128.0


# -- compiled through the whole pipeline -----------------------------------------
COMPILED = {
    "gather_1d": (gather_1d, (VEC, "*i32:16", VEC, "i32"), dict(B=128)),
    "gather_rows_i64": (gather_rows, (MAT, "*i32:16", MAT), dict(BT=32, BD=32, WIDE=True)),
    "scatter_1d": (scatter_1d, (VEC, "*i32:16", VEC, "i32"), dict(B=128)),
    "masked_view": (masked_view, (MAT, MAT), dict(BM=32, BN=8)),
    "masked_3d": (masked_3d, ("*f32[3]:16", "*f32[3]:16"), dict(B=2, M=8, N=8)),
    "scatter_constant": (scatter_constant, (VEC, "*i32:16"), dict(B=128)),
    "other_negative_zero": (other_negative_zero, (VEC, VEC), dict(B=128)),
    "masked_1d": (masked_1d, ("*i32:16", "*i32:16", "i32"), dict(B=128)),
    "histogram": (histogram, ("*i32:16",) * 3 + ("i32",), dict(B=128)),
    "extremes": (extremes, ("*i32:16", VEC, VEC, VEC), dict(B=128)),
    "claim": (claim, ("*i32:16",) * 3, dict(B=128)),
    "atomic_bf16": (atomic_bf16, ("*bf16:16", "*i32:16", "*bf16:16"), dict(B=128)),
}


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_compiles_to_ptx(name):
    kernel, args, blocks = COMPILED[name]
    compiled = kernel.compile(*args, **blocks)
    ptx = compiled.ptx
    if name in ("histogram", "claim"):  # old values used; cas and xchg
        assert "atom." in ptx
    if name == "extremes":  # old values unused: red, in the op's order and scope
        assert "red.relaxed.cta.global" in ptx and "red.release.sys.global" in ptx
    if name == "atomic_bf16":  # acq_rel and unused: a release red, then a fence
        assert "red.release.gpu.global.add.noftz.bf16" in ptx and "fence.acq_rel.gpu;" in ptx
    if find_ptxas():
        assert compiled.cubin


# -- on the GPU, against torch ------------------------------------------------------
@pytest.mark.gpu
def test_gpu_gather_scatter_and_masks_match_torch():
    import torch
    x = torch.randn(1000, device="cuda")
    idx = torch.randint(0, 1000, (300,), device="cuda", dtype=torch.int32)
    out = torch.zeros(300, device="cuda")
    gather_1d[(3,)](x, idx, out, 250, B=128)
    assert torch.equal(out[:250], x[idx[:250].long()]) and not out[250:].any()
    table = torch.randn(50, 20, device="cuda")
    ids = torch.randint(0, 50, (64,), device="cuda", dtype=torch.int32)
    rows = torch.zeros(64, 20, device="cuda")
    gather_rows[(2,)](table, ids, rows, BT=32, BD=32, WIDE=True)
    assert torch.equal(rows, table[ids.long()])
    a = torch.randn(50, 6, device="cuda")
    c = torch.full((50, 6), 9.0, device="cuda")
    masked_view[(2,)](a, c, BM=32, BN=8)
    want = torch.where(torch.arange(6, device="cuda") < 3, a, 5.0)
    want[1::2] = 9
    assert torch.equal(c, want)
    base = torch.zeros(400, device="cuda")
    masked_strided[(1,)](x[:100], base[::4], B=128)
    keep = torch.arange(100, device="cuda") % 3 != 0
    assert torch.equal(base[::4], torch.where(keep, x[:100] * 2, 0.0))
    assert not base.view(100, 4)[:, 1:].any()
    out = torch.zeros(8, device="cuda")
    idx = torch.tensor([0, 2, -2, -7] * 32, device="cuda", dtype=torch.int32)
    scatter_constant[(1,)](out, idx, B=128)
    assert out.tolist() == [-1.5, 0, -1.5, 0, 0, 0, 0, 0]
    got = torch.ones(128, device="cuda")
    other_negative_zero[(1,)](torch.ones(128, device="cuda"), got, B=128)
    assert (got[::2] == 1).all() and torch.signbit(got[1::2]).all() and not got[1::2].any()
    x3 = torch.randn(6, 5, 7, device="cuda")
    y3 = torch.zeros(6, 5, 7, device="cuda")
    masked_3d[(3,)](x3, y3, B=2, M=8, N=8)
    assert torch.equal(y3[:, 1:, 2:], x3[:, :4, :5].clamp(min=0)) and not y3[:, 0].any()


@pytest.mark.gpu
def test_gpu_atomics_match_torch():
    import torch
    x = torch.randint(0, 10, (300,), device="cuda", dtype=torch.int32)
    hist = torch.zeros(10, device="cuda", dtype=torch.int32)
    old = torch.full((300,), -1, device="cuda", dtype=torch.int32)
    histogram[(3,)](x, hist, old, 300, B=128)
    assert torch.equal(hist, torch.bincount(x, minlength=10).int())
    for b in range(10):  # each bin's old values are 0..count-1, in some order
        got = old[x == b].sort().values
        assert torch.equal(got, torch.arange(len(got), device="cuda", dtype=torch.int32))
    bins = torch.randint(0, 8, (128,), device="cuda", dtype=torch.int32)
    v = torch.randn(128, device="cuda")
    hi = torch.full((8,), float("-inf"), device="cuda")
    lo = torch.full((8,), float("inf"), device="cuda")
    extremes[(1,)](bins, v, hi, lo, B=128)
    for b in range(8):
        if (bins == b).any():
            assert hi[b] == v[bins == b].max() and lo[b] == v[bins == b].min()
    slots = torch.zeros(32, device="cuda", dtype=torch.int32)
    keys = (torch.arange(128, device="cuda") % 32).int()
    winner = torch.zeros(256, device="cuda", dtype=torch.int32)
    claim[(2,)](slots, keys, winner, B=128)
    # Every slot was claimed exactly once, by one element of one program.
    assert (winner == 0).sum() == 32 and set(slots[1:].tolist()) <= {1, 2}
