"""tile.gather (elements of a tile picked along an axis, torch.gather / Triton's
tl.gather): the interpreter against numpy's take_along_axis on both axes, 1-D and
several dtypes, an index outside the tile named at the line, the IR and PTX (with
ptxas a cubin), misuse at the line, and on a GPU the device against torch.gather."""
import ml_dtypes
import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.compiler import find_ptxas

NUMPY = {"f32": np.float32, "bf16": ml_dtypes.bfloat16, "i32": np.int32, "i8": np.int8}


@tile.jit
def gather_rows(X, I, Y, AXIS: tile.constexpr, BM: tile.constexpr, BN: tile.constexpr,
                IM: tile.constexpr, IN: tile.constexpr):
    x = tile.load(X, (0, 0), (BM, BN))
    tile.store(Y, (0, 0), tile.gather(x, tile.load(I, (0, 0), (IM, IN)), AXIS))


@tile.jit
def permute(X, I, Y, BLOCK: tile.constexpr):
    tile.store(Y, 0, tile.load(X, 0, BLOCK).gather(tile.load(I, 0, BLOCK), 0))


def operands(dtype, axis, rng):
    x = rng.integers(-100, 100, (16, 64)).astype(NUMPY[dtype])
    shape, n = ((16, 8), 64) if axis == 1 else ((4, 64), 16)
    return x, rng.integers(0, n, shape).astype(np.int32)


@pytest.mark.parametrize("dtype", sorted(NUMPY))
@pytest.mark.parametrize("axis", [0, 1])
def test_interpreter_matches_take_along_axis(dtype, axis):
    x, index = operands(dtype, axis, np.random.default_rng(axis))
    y = np.zeros(index.shape, x.dtype)
    gather_rows[(1,)].interpret(x, index, y, AXIS=axis, BM=16, BN=64, IM=index.shape[0],
                                IN=index.shape[1])
    np.testing.assert_array_equal(y, np.take_along_axis(x, index, axis))


def test_a_permutation_of_a_1d_tile_and_the_method_form():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(256).astype(np.float32)
    index = rng.permutation(256).astype(np.int32)
    y = np.zeros_like(x)
    permute[(1,)].interpret(x, index, y, BLOCK=256)
    np.testing.assert_array_equal(y, x[index])


def test_an_index_outside_the_tile_is_named_at_the_line():
    x = np.zeros(256, np.float32)
    index = np.arange(256, dtype=np.int32)
    index[7] = 256
    with pytest.raises(tile.errors.InterpreterError,
                       match=r"gather index 256 outside the tile's 256 elements"):
        permute[(1,)].interpret(x, index, np.zeros_like(x), BLOCK=256)


def test_ir_and_ptx():
    signature = ("*bf16[2]:16", "*i32[2]:16", "*bf16[2]:16")
    text = gather_rows.ir(*signature, AXIS=1, BM=16, BN=64, IM=16, IN=8)
    assert "tile.take %5[%4], dim = 1 : tensor<16x64xf32>, tensor<16x8xi32> -> " \
           "tensor<16x8xf32>" in text
    kernel = gather_rows.compile(*signature, AXIS=1, BM=16, BN=64, IM=16, IN=8)
    assert "ld.shared" in kernel.ptx and "st.shared" in kernel.ptx
    if find_ptxas() is not None:
        assert kernel.cubin


@tile.jit
def wrong_index(X, I, BLOCK: tile.constexpr):
    x, i = tile.load(X, (0, 0), (BLOCK, BLOCK)), tile.load(I, (0, 0), (2 * BLOCK, BLOCK))
    y = tile.gather(x, i, 1)  # <- sizes


@tile.jit
def float_index(X, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    y = tile.gather(x, x, 0)  # <- float


def test_misuse_names_the_line():
    expect_error(wrong_index, "# <- sizes", "gather's index must be an int32 tile of "
                 "tile[16, 16] of float32's sizes but along axis 1", "*f32[2]:16",
                 "*i32[2]:16", BLOCK=16)
    expect_error(float_index, "# <- float", "gather's index must be an int32 tile",
                 "*f32:16", BLOCK=64)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["f32", "bf16", "i32"])
@pytest.mark.parametrize("axis", [0, 1])
def test_gpu_matches_torch_gather(dtype, axis):
    import torch
    x, index = operands(dtype, axis, np.random.default_rng(9))
    torch_dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "i32": torch.int32}[dtype]
    gx = torch.from_numpy(x.astype(np.float32) if dtype == "bf16" else x).to(torch_dtype).cuda()
    gi = torch.from_numpy(index).cuda()
    y = torch.empty(index.shape, dtype=torch_dtype, device="cuda")
    gather_rows[(1,)](gx, gi, y, AXIS=axis, BM=16, BN=64, IM=index.shape[0], IN=index.shape[1])
    assert torch.equal(y, torch.gather(gx, axis, gi.long()))
