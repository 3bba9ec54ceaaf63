"""tile.topk: the interpreter against numpy (ties, -inf, NaN, every dtype, both axes
and 1-D tiles), PTX (and with ptxas a cubin) on the CPU, errors at the kernel's
line, and on a GPU the device against numpy's reference and torch.topk."""
import ml_dtypes
import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.compiler import find_ptxas

NUMPY = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16, "i32": np.int32,
         "i8": np.int8}


@tile.jit
def topk_rows(X, V, I, K: tile.constexpr, AXIS: tile.constexpr, BM: tile.constexpr,
              BN: tile.constexpr):
    values, indices = tile.topk(tile.load(X, (0, 0), (BM, BN)), K, AXIS)
    tile.store(V, (0, 0), values)
    tile.store(I, (0, 0), indices)


@tile.jit
def topk_1d(X, V, I, K: tile.constexpr, BLOCK: tile.constexpr):
    values, indices = tile.topk(tile.load(X, 0, BLOCK), K)
    tile.store(V, 0, values)
    tile.store(I, 0, indices)


def reference(x: np.ndarray, k: int, axis: int):
    """numpy's topk: the greatest first, NaN above everything, ties in index order."""
    x = np.moveaxis(x, axis, -1)
    key = np.where(np.isnan(x.astype(np.float64)), np.inf, x.astype(np.float64))
    nan = np.isnan(x.astype(np.float64))
    # lexsort: last key first; the index breaks ties (stable), NaN before +inf.
    order = np.stack([np.lexsort((np.arange(x.shape[-1]), ~n, -kk))
                      for kk, n in zip(key.reshape(-1, x.shape[-1]),
                                       nan.reshape(-1, x.shape[-1]))])
    order = order.reshape(x.shape)[..., :k]
    values = np.take_along_axis(x, order, -1)
    return np.moveaxis(values, -1, axis), np.moveaxis(order.astype(np.int32), -1, axis)


def data(dtype: str, shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.startswith("i"):
        return rng.integers(-4, 4, shape).astype(NUMPY[dtype])  # many ties
    x = rng.standard_normal(shape).astype(np.float32)
    x[0, :] = 1.0  # a row of ties
    x[1, ::2] = -np.inf  # -inf among the values taken when k is large
    x[2, 3], x[2, 1] = np.nan, np.nan
    x[3, :] = -np.inf  # only -inf: the taken ones must not come back
    return x.astype(NUMPY[dtype])


def run_rows(x: np.ndarray, k: int, axis: int):
    shape = list(x.shape)
    shape[axis] = k
    v, i = np.zeros(shape, x.dtype), np.zeros(shape, np.int32)
    topk_rows[(1,)].interpret(x, v, i, K=k, AXIS=axis, BM=x.shape[0], BN=x.shape[1])
    return v, i


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a.astype(np.float64), b.astype(np.float64), equal_nan=True)


@pytest.mark.parametrize("dtype", sorted(NUMPY))
@pytest.mark.parametrize("k,axis", [(1, 1), (2, 1), (8, 1), (16, 1), (4, 0), (8, -1)])
def test_topk_on_the_interpreter(dtype, k, axis):
    x = data(dtype, (8, 16), seed=k)
    v, i = run_rows(x, k, axis)
    want_v, want_i = reference(x, k, axis)
    assert same(v, want_v) and np.array_equal(i, want_i)


def test_topk_of_whole_rows_and_1d_tiles():
    x = data("f32", (4, 64), seed=1)
    v, i = run_rows(x, 64, 1)  # every element: a full descending sort
    want_v, want_i = reference(x, 64, 1)
    assert same(v, want_v) and np.array_equal(i, want_i)
    row = np.random.default_rng(2).permutation(1024).astype(np.float32)
    v, i = np.zeros(8, np.float32), np.zeros(8, np.int32)
    topk_1d[(1,)].interpret(row, v, i, K=8, BLOCK=1024)
    assert np.array_equal(v, np.arange(1023, 1015, -1)) and np.array_equal(row[i], v)


def test_topk_ir_is_reductions_and_selects():
    text = topk_rows.ir("*bf16[2]:16", "*bf16[2]:16", "*i32[2]:16", K=2, AXIS=1, BM=16, BN=64)
    # Two rounds: argmax and sum each, and the first element not taken in the second.
    reductions = [line.split()[3] for line in text.splitlines() if "tile.reduce" in line]
    assert reductions == ["argmax", "sum", "argmax", "sum", "min"] and "arith.extf" in text
    assert "arith.truncf" in text  # the values come back as bf16


@pytest.mark.parametrize("dtype,k,bm,bn", [("f32", 8, 16, 64), ("bf16", 2, 64, 64),
                                           ("i32", 8, 1, 1024)])
def test_topk_compiles(dtype, k, bm, bn):
    t = {"f32": "f32", "bf16": "bf16", "i32": "i32"}[dtype]
    compiled = topk_rows.compile(f"*{t}[2]:16", f"*{t}[2]:16", "*i32[2]:16", K=k, AXIS=1,
                                 BM=bm, BN=bn)
    assert "shfl.sync" in compiled.ptx
    if find_ptxas():
        assert compiled.cubin and compiled.metadata["spill_stores"] == 0


# -- errors at the line ------------------------------------------------------------------
@tile.jit
def not_power_of_two(X):
    tile.topk(tile.load(X, (0, 0), (16, 16)), 3)  # <- k 3


@tile.jit
def too_many(X):
    tile.topk(tile.load(X, 0, 16), 32)  # <- k 32


@tile.jit
def runtime_k(X, k):
    tile.topk(tile.load(X, 0, 16), k)  # <- runtime k


@tile.jit
def bad_axis(X):
    tile.topk(tile.load(X, (0, 0), (16, 16)), 2, 2)  # <- axis


@tile.jit
def of_an_array(X):
    tile.topk(X, 2)  # <- array


@tile.jit
def of_float8(X):
    tile.topk(tile.load(X, 0, 16), 2)  # <- fp8


def test_topk_errors():
    expect_error(not_power_of_two, "# <- k 3", "topk's k must be a power of two of at most 16 "
                 "(the size of axis 1 of tile[16, 16] of float32), got 3", "*f32[2]:16")
    expect_error(too_many, "# <- k 32", "topk's k must be a power of two of at most 16",
                 "*f32:16")
    expect_error(runtime_k, "# <- runtime k", "topk's k must be a constexpr integer", "*f32:16",
                 "i32")
    expect_error(bad_axis, "# <- axis", "topk's axis 2 is out of range", "*f32[2]:16")
    expect_error(of_an_array, "# <- array", "topk's argument must be a tile", "*f32:16")
    expect_error(of_float8, "# <- fp8", "topk on tile[16] of float8e4m3", "*f8E4M3FN:16")


# -- on the GPU ------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["f32", "bf16", "i32"])
@pytest.mark.parametrize("k,axis,bm,bn", [(2, 1, 64, 8), (8, 1, 16, 64), (8, 1, 4, 1024),
                                          (4, 0, 32, 16), (16, 1, 8, 16)])
def test_gpu_topk_matches_reference(dtype, k, axis, bm, bn):
    import torch
    x = data(dtype, (bm, bn), seed=bm + bn) if bm >= 4 else data(dtype, (4, bn), 0)[:bm]
    xt = torch.from_numpy(x.astype(np.float32)).to(getattr(torch, {
        "f32": "float32", "bf16": "bfloat16", "i32": "int32"}[dtype])).cuda()
    shape = list(x.shape)
    shape[axis] = k
    v = torch.zeros(shape, dtype=xt.dtype, device="cuda")
    i = torch.zeros(shape, dtype=torch.int32, device="cuda")
    topk_rows[(1,)](xt, v, i, K=k, AXIS=axis, BM=bm, BN=bn)
    want_v, want_i = reference(x, k, axis)
    assert same(v.float().cpu().numpy(), want_v) and np.array_equal(i.cpu().numpy(), want_i)
    distinct = torch.randn(bm, bn, device="cuda")  # torch.topk's order is defined here
    v2 = torch.zeros(shape, device="cuda")
    i2 = torch.zeros(shape, dtype=torch.int32, device="cuda")
    topk_rows[(1,)](distinct, v2, i2, K=k, AXIS=axis, BM=bm, BN=bn)
    want = torch.topk(distinct, k, dim=axis)
    assert torch.equal(v2, want.values) and torch.equal(i2.long(), want.indices)
