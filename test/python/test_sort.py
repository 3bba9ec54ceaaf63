"""tile.sort: the interpreter against a reference written with Python's sorted (ties,
signed zeros, infinities, NaN, every dtype, both axes, 1-D tiles, both orders), the
IR and PTX (with ptxas a cubin) on the CPU, errors at the kernel's line, and on a
GPU the device against torch.sort(stable=True)."""
import math

import ml_dtypes
import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.compiler import find_ptxas

NUMPY = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16, "i32": np.int32,
         "i8": np.int8}


@tile.jit
def sort_rows(X, V, I, AXIS: tile.constexpr, DESCENDING: tile.constexpr, BM: tile.constexpr,
              BN: tile.constexpr):
    values, indices = tile.sort(tile.load(X, (0, 0), (BM, BN)), AXIS, DESCENDING)
    tile.store(V, (0, 0), values)
    tile.store(I, (0, 0), indices)


@tile.jit
def sort_1d(X, V, I, DESCENDING: tile.constexpr, BLOCK: tile.constexpr):
    values, indices = tile.sort(tile.load(X, 0, BLOCK), descending=DESCENDING)
    tile.store(V, 0, values)
    tile.store(I, 0, indices)


def reference_order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """torch.sort(stable=True)'s indices: NaN the greatest, equal values (-0.0 and
    0.0 too) in index order."""
    rows = np.moveaxis(x.astype(np.float64), axis, -1)
    flat = rows.reshape(-1, rows.shape[-1])

    def key(row, i):
        v = row[i]
        if math.isnan(v):
            return (1 if not descending else -1, 0.0, i)
        return (0, -v if descending else v, i)
    order = np.array([sorted(range(len(row)), key=lambda i: key(row, i)) for row in flat])
    return np.moveaxis(order.reshape(rows.shape), -1, axis)


def inputs(dtype: str, shape, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.startswith("i"):
        return rng.integers(-6, 6, shape).astype(NUMPY[dtype])  # many ties
    x = rng.integers(-4, 4, shape).astype(np.float64) / 2
    flat = x.reshape(-1)
    flat[::7] = np.nan
    flat[1::11] = -0.0
    flat[2::13] = np.inf
    flat[3::17] = -np.inf
    flat[4::5] = rng.standard_normal(flat[4::5].size)
    return x.astype(NUMPY[dtype])


def check(x, values, indices, axis, descending):
    order = reference_order(x, axis, descending)
    np.testing.assert_array_equal(indices, order)
    want = np.ascontiguousarray(np.take_along_axis(x, order, axis))
    if values.dtype.kind == "i":
        np.testing.assert_array_equal(values, want)
        return
    # Bit for bit (so -0.0 stays -0.0) except NaNs: a NaN may come out with another
    # sign or payload (the H100's bf16 compare-and-select gives 0x7FFF for 0xFFFF).
    nan = np.isnan(want.astype(np.float32))
    np.testing.assert_array_equal(np.isnan(values.astype(np.float32)), nan)
    keep = ~nan
    assert np.array_equal(values[keep].view(np.uint8), want[keep].view(np.uint8)), (values, want)


@pytest.mark.parametrize("dtype", ["f32", "bf16", "f16", "i32", "i8"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("axis", [0, 1])
def test_interpreter_sorts_rows_stably(dtype, descending, axis):
    x = inputs(dtype, (16, 64), seed=axis)
    values, indices = np.zeros_like(x), np.zeros(x.shape, np.int32)
    sort_rows[(1,)].interpret(x, values, indices, AXIS=axis, DESCENDING=descending, BM=16,
                              BN=64)
    check(x, values, indices, axis, descending)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("n", [1, 2, 1024])
def test_interpreter_sorts_1d(descending, n):
    x = inputs("f32", (n,), seed=n)
    values, indices = np.zeros_like(x), np.zeros(n, np.int32)
    sort_1d[(1,)].interpret(x, values, indices, DESCENDING=descending, BLOCK=n)
    check(x, values, indices, 0, descending)


def test_ir_sorts_in_f32_and_converts_back():
    text = sort_rows.ir("*bf16[2]:16", "*bf16[2]:16", "*i32[2]:16", AXIS=1, DESCENDING=True, BM=8,
                        BN=128)
    assert "arith.extf %3 : tensor<8x128xbf16> to tensor<8x128xf32>" in text
    assert ("tile.sort %4, dim = 1 descending : tensor<8x128xf32> -> tensor<8x128xi32>"
            in text)
    assert "arith.truncf %values : tensor<8x128xf32> to tensor<8x128xbf16>" in text
    assert "descending" not in sort_1d.ir("*i32:16", "*i32:16", "*i32:16", DESCENDING=False,
                                          BLOCK=256)


@pytest.mark.parametrize("dtype,shape,axis", [("f32", (4, 256), 1), ("bf16", (64, 16), 0),
                                              ("i32", (1, 1024), 1)])
def test_compiles(dtype, shape, axis):
    kernel = sort_rows.compile(f"*{dtype}[2]:16", f"*{dtype}[2]:16", "*i32[2]:16", AXIS=axis,
                               DESCENDING=False, BM=shape[0], BN=shape[1])
    assert ".entry sort_rows(" in kernel.ptx and "bar.sync" in kernel.ptx
    if find_ptxas() is not None:
        assert kernel.cubin


@tile.jit
def sort_bad_axis(X, BLOCK: tile.constexpr):
    v, i = tile.sort(tile.load(X, 0, BLOCK), 1)  # <- axis


@tile.jit
def sort_runtime_order(X, d, BLOCK: tile.constexpr):
    v, i = tile.sort(tile.load(X, 0, BLOCK), descending=d > 0)  # <- order


@tile.jit
def sort_array(X, BLOCK: tile.constexpr):
    v, i = tile.sort(X)  # <- array


def test_misuse_names_the_line():
    expect_error(sort_bad_axis, "# <- axis", "sort", "*f32:16", BLOCK=64)
    expect_error(sort_runtime_order, "# <- order", "sort's descending", "*f32:16", "i32",
                 BLOCK=64)
    expect_error(sort_array, "# <- array", "sort's argument", "*f32:16", BLOCK=64)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["f32", "bf16", "i32"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("shape,axis", [((16, 64), 1), ((64, 16), 0), ((2, 1024), 1)])
def test_gpu_matches_torch(dtype, descending, shape, axis):
    import torch
    x = inputs(dtype, shape, seed=3)
    torch_dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "i32": torch.int32}[dtype]
    gx = torch.from_numpy(x.astype(np.float32) if dtype == "bf16" else x).to(torch_dtype).cuda()
    values, indices = torch.empty_like(gx), torch.empty(shape, dtype=torch.int32, device="cuda")
    sort_rows[(1,)](gx, values, indices, AXIS=axis, DESCENDING=descending, BM=shape[0],
                    BN=shape[1])
    torch.cuda.synchronize()
    # The contract, NaN the greatest and ties in index order, checked exactly against
    # the input as the GPU holds it (its conversion to bf16 makes every NaN 0x7FFF).
    as_numpy = ((lambda t: t.cpu().view(torch.int16).numpy().view(x.dtype)) if dtype == "bf16"
                else (lambda t: t.cpu().numpy()))
    check(as_numpy(gx), as_numpy(values), indices.cpu().numpy(), axis, descending)
    if dtype == "bf16":  # torch 2.11's CUDA sort of these rows put the NaNs first
        return
    want_values, want_indices = torch.sort(gx, dim=axis, descending=descending, stable=True)
    assert torch.equal(indices.long(), want_indices)
    assert torch.equal(values.view(torch.uint8) if dtype != "bf16" else
                       values.view(torch.int16), want_values.view(torch.uint8)
                       if dtype != "bf16" else want_values.view(torch.int16))
