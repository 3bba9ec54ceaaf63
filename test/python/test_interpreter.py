"""`@tile.jit` kernels on the CPU interpreter: `kernel[grid].interpret(...)` and
TILE_INTERPRET=1, on numpy arrays."""
import ml_dtypes
import numpy as np
import pytest

import tile
from tile.errors import InterpreterError

BF16 = ml_dtypes.bfloat16


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


@tile.jit
def add_unbounded(x, y, out, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK)
    b = tile.load(y, start, BLOCK)
    tile.store(out, start, a + b)


def cdiv(a, b):
    return (a + b - 1) // b


@pytest.mark.parametrize("n", [1, 1000, 4096, 5003])
def test_vector_add_f32_is_bitwise_numpy(n):
    rng = np.random.default_rng(n)
    x, y = (rng.standard_normal(n).astype(np.float32) for _ in range(2))
    out = np.full(n, np.nan, np.float32)
    add[(cdiv(n, 1024),)].interpret(x, y, out, n, BLOCK=1024)
    assert np.array_equal(out, x + y)


@pytest.mark.parametrize("dtype", [BF16, np.float16])
def test_vector_add_rounds_to_the_storage_type(dtype):
    n = 777
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal(n).astype(dtype) for _ in range(2))
    out = np.zeros(n, dtype)
    add[(cdiv(n, 256),)].interpret(x, y, out, n, BLOCK=256)
    exact = x.astype(np.float64) + y.astype(np.float64)
    assert np.array_equal(out, exact.astype(np.float32).astype(dtype))
    assert not np.array_equal(out.astype(np.float64), exact)  # rounding happened


def test_past_the_bound_nothing_is_written():
    x = np.ones(100, np.float32)
    out = np.full(128, -1, np.float32)
    add[(1,)].interpret(x, x, out, 100, BLOCK=128)
    assert (out[:100] == 2).all() and (out[100:] == -1).all()


def test_out_of_bounds_without_a_bound_names_the_source_line():
    x = np.ones(1000, np.float32)
    out = np.zeros(1000, np.float32)
    with pytest.raises(InterpreterError) as info:
        add_unbounded[(cdiv(1000, 256),)].interpret(x, x, out, BLOCK=256)
    e = info.value
    line = next(i for i, text in enumerate(open(__file__), 1) if "a = tile.load(x, start, BLOCK)" in text)
    assert e.filename == __file__ and e.lineno == line
    assert "argument 'x'" in e.message and "program (3, 0, 0)" in e.message
    assert "a = tile.load(x, start, BLOCK)" in str(e)


def test_tile_interpret_environment_variable(monkeypatch):
    monkeypatch.setenv("TILE_INTERPRET", "1")
    x = np.arange(300, dtype=np.float32)
    out = np.zeros(300, np.float32)
    add[(3,)](x, x, out, 300, BLOCK=128)
    assert np.array_equal(out, 2 * x)


def test_without_interpretation_host_arrays_are_refused_with_the_way_out(monkeypatch):
    monkeypatch.delenv("TILE_INTERPRET", raising=False)
    x = np.zeros(16, np.float32)
    with pytest.raises(ValueError, match=r"interpret\(\.\.\.\) or TILE_INTERPRET=1"):
        add[(1,)](x, x, x, 16, BLOCK=16)


def test_grid_as_a_function_of_the_constexprs():
    x = np.arange(1000, dtype=np.float32)
    out = np.zeros(1000, np.float32)
    add[lambda meta: (cdiv(1000, meta["BLOCK"]),)].interpret(x, x, out, 1000, BLOCK=128)
    assert np.array_equal(out, 2 * x)


def test_arrays_of_another_dtype_than_compiled_are_a_new_specialization():
    for dtype in (np.float32, np.int32, np.int16):
        x = np.arange(50).astype(dtype)
        out = np.zeros(50, dtype)
        add[(1,)].interpret(x, x, out, 50, BLOCK=64)
        assert np.array_equal(out, 2 * x)


def test_integer_add_wraps_like_the_gpu():
    x = np.array([2**31 - 1, -2**31], np.int32)
    out = np.zeros(2, np.int32)
    add[(1,)].interpret(x, x, out, 2, BLOCK=16)
    assert out.tolist() == [-2, 0]


def test_unsupported_host_dtype_is_refused():
    x = np.zeros(4, np.float64)
    with pytest.raises(TypeError, match="unsupported array dtype float64"):
        add[(1,)].interpret(x, x, x, 4, BLOCK=16)


def test_empty_grid_runs_nothing():
    out = np.full(4, 7, np.float32)
    add[(0,)].interpret(out, out, out, 4, BLOCK=16)
    assert (out == 7).all()


def test_store_into_a_read_only_array_is_an_error():
    x = np.ones(16, np.float32)
    out = np.zeros(16, np.float32)
    out.setflags(write=False)
    with pytest.raises(InterpreterError, match="read-only"):
        add[(1,)].interpret(x, x, out, 16, BLOCK=16)
