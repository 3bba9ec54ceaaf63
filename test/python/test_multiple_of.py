"""tile.multiple_of(x, n): a kernel's promise that an int scalar is a multiple of n,
which the divisibility analysis takes as a fact (wider accesses), the interpreter
checks, and the frontend refuses where it cannot hold."""
import numpy as np
import pytest

import tile
from tile.errors import InterpreterError

from expect_error import expect_error


@tile.jit
def copy_segments(X, Y, starts, PROMISE: tile.constexpr, BLOCK: tile.constexpr):
    """Y[s : s + BLOCK] = X[s : s + BLOCK] for s = starts[program] (read from memory)."""
    s = tile.squeeze(tile.load(starts, tile.program_id(0), 1))
    if PROMISE:
        s = tile.multiple_of(s, 4)  # <- promise
    tile.store(Y, s, tile.load(X, s, BLOCK))


SIGNATURE = ("*f32:16", "*f32:16", "*i32:16")


def test_the_promise_widens_the_accesses():
    promised = copy_segments.compile(*SIGNATURE, PROMISE=True, BLOCK=512)  # 4 a thread
    unknown = copy_segments.compile(*SIGNATURE, PROMISE=False, BLOCK=512)
    assert "ld.global.v4" in promised.ptx and "st.global.v4" in promised.ptx
    assert "ld.global.v" not in unknown.ptx  # a start read from memory: one element a load
    assert "tile.assume_multiple" in copy_segments.ir(*SIGNATURE, PROMISE=True, BLOCK=256)


def test_interpreter_runs_a_kept_promise():
    x = np.arange(1024, dtype=np.float32)
    y = np.zeros(1024, np.float32)
    starts = np.array([0, 256, 516], np.int32)
    copy_segments[(3,)].interpret(x, y, starts, PROMISE=True, BLOCK=256)
    for s in starts:
        assert (y[s:s + 256] == x[s:s + 256]).all()


def test_interpreter_names_a_broken_promise():
    x = np.zeros(1024, np.float32)
    starts = np.array([0, 258], np.int32)
    with pytest.raises(InterpreterError) as info:
        copy_segments[(2,)].interpret(x, np.zeros_like(x), starts, PROMISE=True, BLOCK=256)
    assert "multiple_of: 258 is not a multiple of 4" in info.value.message
    assert "# <- promise" in str(info.value)


@tile.jit
def bad_multiple(X, n, BLOCK: tile.constexpr):
    s = tile.multiple_of(n, 12)  # <- twelve
    tile.store(X, s, tile.zeros((BLOCK,)))


@tile.jit
def bad_value(X, BLOCK: tile.constexpr):
    s = tile.multiple_of(tile.zeros((BLOCK,), tile.int32), 4)  # <- tile


@tile.jit
def bad_constant(X, BLOCK: tile.constexpr):
    s = tile.multiple_of(6, 4)  # <- constant
    tile.store(X, s, tile.zeros((BLOCK,)))


def test_misuse_names_the_line():
    expect_error(bad_multiple, "# <- twelve", "multiple_of's n must be a power of two, got 12",
                 "*f32:16", "i32", BLOCK=64)
    expect_error(bad_value, "# <- tile", "multiple_of's x must be an int32 or int64 scalar",
                 "*f32:16", BLOCK=64)
    expect_error(bad_constant, "# <- constant", "multiple_of: 6 is not a multiple of 4",
                 "*f32:16", BLOCK=64)


@pytest.mark.gpu
def test_gpu_matches_the_interpreter():
    import torch
    x = torch.randn(2048, device="cuda")
    y = torch.zeros_like(x)
    starts = torch.tensor([0, 512, 1028, 1792], dtype=torch.int32, device="cuda")
    copy_segments[(4,)](x, y, starts, PROMISE=True, BLOCK=256)
    torch.cuda.synchronize()
    for s in starts.tolist():
        assert torch.equal(y[s:s + 256], x[s:s + 256])
