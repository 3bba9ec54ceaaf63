"""tile.sum/max/min to scalars, argmax/argmin, cumsum/cumprod, device_print and
assert: the IR, the interpreter against numpy, PTX (and with ptxas a cubin) on
the CPU, errors at the kernel's line, and on a GPU the device against torch."""
import os
import subprocess
import sys
import textwrap

import ml_dtypes
import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.compiler import find_ptxas
from tile.interpreter.debug_ops import DeviceAssertionError

BF16 = ml_dtypes.bfloat16
NUMPY = {"f32": np.float32, "f16": np.float16, "bf16": BF16, "i32": np.int32, "i8": np.int8}
REDUCTIONS = {"sum": np.sum, "max": np.max, "min": np.min, "argmax": np.argmax,
              "argmin": np.argmin}


@tile.jit
def reduce_all(X, OUT, FN: tile.constexpr, BM: tile.constexpr, BN: tile.constexpr):
    s = FN(tile.load(X, (0, 0), (BM, BN)))
    tile.store(OUT, 0, tile.full((16,), s, OUT.dtype))


@tile.jit
def reduce_1d(X, OUT, FN: tile.constexpr, BLOCK: tile.constexpr):
    s = FN(tile.load(X, 0, BLOCK), 0)
    tile.store(OUT, 0, tile.full((16,), s, OUT.dtype))


@tile.jit
def reduce_rows(X, OUT, FN: tile.constexpr, AXIS: tile.constexpr, BM: tile.constexpr,
                BN: tile.constexpr):
    tile.store(OUT, 0, FN(tile.load(X, (0, 0), (BM, BN)), AXIS))


@tile.jit
def scan(X, OUT, FN: tile.constexpr, AXIS: tile.constexpr, BM: tile.constexpr,
         BN: tile.constexpr):
    tile.store(OUT, (0, 0), FN(tile.load(X, (0, 0), (BM, BN)), AXIS))


def result_dtype(fn: str, dtype: str):
    if fn.startswith("arg"):
        return np.int32
    return np.int32 if dtype == "i8" and fn == "sum" else NUMPY[dtype]


def data(dtype: str, shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.startswith("i"):
        return rng.integers(-20, 20, shape).astype(NUMPY[dtype])
    return rng.standard_normal(shape).astype(NUMPY[dtype])


# -- the IR -----------------------------------------------------------------------
def ir(kernel, *args, **kwargs) -> str:
    return " ".join(kernel.ir(*args, **kwargs).split())  # enum attributes print two spaces


def test_ir():
    text = ir(reduce_all, "*f32[2]:16", "*f32:16", FN=tile.sum, BM=8, BN=32)
    assert "tile.reduce sum %" in text and "-> f32" in text
    text = ir(reduce_all, "*f16[2]:16", "*i32:16", FN=tile.argmax, BM=8, BN=32)
    assert "arith.extf" in text and "tile.reduce argmax" in text and "-> i32" in text
    text = ir(reduce_rows, "*f32[2]:16", "*i32:16", FN=tile.argmin, AXIS=1, BM=8, BN=32)
    assert "tile.reduce argmin %" in text and "-> tensor<8xi32>" in text
    text = ir(scan, "*bf16[2]:16", "*bf16[2]:16", FN=tile.cumsum, AXIS=1, BM=8, BN=32)
    assert "tile.scan sum %" in text and "arith.truncf" in text
    assert "tile.scan prod" in ir(scan, "*i32[2]:16", "*i32[2]:16", FN=tile.cumprod, AXIS=0,
                                  BM=8, BN=32)


# -- the interpreter against numpy ---------------------------------------------------
@pytest.mark.parametrize("dtype", ["f32", "f16", "i32", "i8"])
@pytest.mark.parametrize("fn", sorted(REDUCTIONS))
def test_reduce_to_scalar(fn, dtype):
    x = data(dtype, (8, 32))
    out = np.zeros(16, result_dtype(fn, dtype))
    reduce_all[(1,)].interpret(x, out, FN=getattr(tile, fn), BM=8, BN=32)
    want = REDUCTIONS[fn](x.astype(np.float64))
    np.testing.assert_allclose(out.astype(np.float64), np.full(16, want), rtol=2e-3)
    out1 = np.zeros(16, result_dtype(fn, dtype))
    reduce_1d[(1,)].interpret(x.reshape(-1), out1, FN=getattr(tile, fn), BLOCK=256)
    np.testing.assert_allclose(out1.astype(np.float64), np.full(16, want), rtol=2e-3)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("fn", ["argmax", "argmin"])
def test_arg_reductions_take_the_first_index_and_nan(fn, axis):
    x = np.random.default_rng(1).integers(0, 3, (16, 32)).astype(np.float32)  # many ties
    x[3, 5] = x[3, 9] = x[7, 2] = np.nan
    out = np.zeros(32 if axis == 0 else 16, np.int32)
    reduce_rows[(1,)].interpret(x, out, FN=getattr(tile, fn), AXIS=axis, BM=16, BN=32)
    assert np.array_equal(out, REDUCTIONS[fn](x, axis=axis))  # numpy's rule is torch's


@pytest.mark.parametrize("dtype", ["f32", "bf16", "i32", "i8"])
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("fn", ["cumsum", "cumprod"])
def test_scans(fn, axis, dtype):
    x = data(dtype, (16, 64), seed=2)
    if fn == "cumprod":  # keep products in range
        x = (np.sign(x.astype(np.float64)) + (x == 0)).astype(NUMPY[dtype])
    out = np.zeros((16, 64), result_dtype("sum", dtype))
    scan[(1,)].interpret(x, out, FN=getattr(tile, fn), AXIS=axis, BM=16, BN=64)
    want = getattr(np, fn)(x.astype(np.float64), axis=axis)
    np.testing.assert_allclose(out.astype(np.float64), want, rtol=1e-2, atol=1e-2)


# -- debugging ----------------------------------------------------------------------
@tile.jit
def printing(X, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.device_print("x", x)
    tile.device_print("sum", tile.sum(x), tile.program_id(0))


@tile.jit
def asserting(X, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    assert tile.min(x) > 0, "x must be positive"  # <- assert
    tile.device_assert(x < 100)


def test_device_print_in_the_interpreter(capsys):
    printing[(2,)].interpret(np.arange(4, dtype=np.float32), BLOCK=4)
    lines = capsys.readouterr().out.splitlines()
    assert "pid (0, 0, 0) idx (2) x: 2.000000" in lines
    assert "pid (1, 0, 0) sum (operand 0): 6.000000" in lines
    assert "pid (1, 0, 0) sum (operand 1): 1" in lines
    assert len(lines) == 2 * (4 + 2)


def test_assert_in_the_interpreter():
    asserting[(1,)].interpret(np.arange(1, 5, dtype=np.float32), BLOCK=4)
    with pytest.raises(DeviceAssertionError, match="device assertion failed in program "
                       r"\(0, 0, 0\): x must be positive") as e:
        asserting[(1,)].interpret(np.arange(4, dtype=np.float32), BLOCK=4)
    assert isinstance(e.value, AssertionError)
    assert e.value.lineno == asserting.fn.__code__.co_firstlineno + 3
    with pytest.raises(DeviceAssertionError, match="x < 100"):
        asserting[(1,)].interpret(np.arange(98, 102, dtype=np.float32), BLOCK=4)


def test_debug_ops_compile_to_nothing_without_debug(monkeypatch):
    ptx = printing.compile("*f32:16", BLOCK=128).ptx
    assert "vprintf" not in ptx and "__assertfail" not in asserting.compile(
        "*f32:16", BLOCK=128).ptx
    monkeypatch.setenv("TILE_DEBUG", "1")
    assert "vprintf" in printing.compile("*f32:16", BLOCK=128).ptx
    assert "__assertfail" in asserting.compile("*f32:16", BLOCK=128).ptx


# -- PTX ----------------------------------------------------------------------------
def test_reaches_ptx():
    compiled = [reduce_all.compile("*f32[2]:16", "*i32:16", FN=tile.argmax, BM=32, BN=64),
                reduce_1d.compile("*f32:16", "*f32:16", FN=tile.sum, BLOCK=64),
                reduce_rows.compile("*f32[2]:16", "*i32:16", FN=tile.argmin, AXIS=0, BM=32,
                                    BN=64),
                scan.compile("*f32[2]:16", "*f32[2]:16", FN=tile.cumsum, AXIS=1, BM=4, BN=1024),
                scan.compile("*i32[2]:16", "*i32[2]:16", FN=tile.cumprod, AXIS=0, BM=256,
                             BN=8)]
    assert "shfl.sync.bfly" in compiled[0].ptx and "shfl.sync.up" in compiled[3].ptx
    if find_ptxas():
        assert all(c.cubin for c in compiled), "ptxas is on PATH but made no cubin"


@pytest.mark.parametrize("fn", ["max", "min"])
def test_max_and_min_propagate_nan(fn):
    """A NaN anywhere makes tile.max/min NaN, as torch.max and np.max (and
    tile.maximum) give it: max.NaN.f32 on the GPU, never max.f32, which drops it."""
    x = data("f32", (32, 64))
    x[5, 7] = np.nan
    out = np.zeros(16, np.float32)
    reduce_all[(1,)].interpret(x, out, FN=getattr(tile, fn), BM=32, BN=64)
    assert np.isnan(out).all()
    ptx = reduce_all.compile("*f32[2]:16", "*f32:16", FN=getattr(tile, fn), BM=32, BN=64).ptx
    assert f"{fn}.NaN.f32" in ptx and f"{fn}.f32" not in ptx


# -- errors -------------------------------------------------------------------------
@tile.jit
def bad_axis(X):
    tile.argmax(tile.load(X, 0, 64), 1)  # <- axis


@tile.jit
def bad_scan(X):
    tile.cumsum(tile.load(X, 0, 64).to(tile.float8e4m3))  # <- fp8


@tile.jit
def bad_assert(X):
    tile.device_assert(tile.load(X, 0, 64))  # <- not i1


@tile.jit
def bad_print(X):
    tile.device_print(3, tile.load(X, 0, 64))  # <- fmt


def test_misuse_names_the_line():
    expect_error(bad_axis, "# <- axis", "argmax's axis 1 is out of range for tile[64] of "
                 "float32", "*f32:16")
    expect_error(bad_scan, "# <- fp8", "cumsum on tile[64] of float8e4m3: float8 values are "
                 "only stored", "*f32:16")
    expect_error(bad_assert, "# <- not i1", "device_assert's condition must be int1 (a "
                 "comparison), got tile[64] of float32", "*f32:16")
    expect_error(bad_print, "# <- fmt", "device_print's first argument must be a format "
                 "string, got the constant 3", "*f32:16")


# -- keep_dims on tiles of three dims ---------------------------------------------------
@tile.jit
def kept_3d(X, Y, FN: tile.constexpr, AXIS: tile.constexpr):
    x = tile.load(X, (0, 0, 0), (2, 4, 8))
    tile.store(Y, (0, 0, 0), x - FN(x, AXIS, keep_dims=True).to(tile.float32))


@tile.jit
def softmax_3d(X, Y, BN: tile.constexpr):
    x = tile.load(X, (0, 0, 0), (2, 4, BN))
    e = tile.exp(x - tile.max(x, 2, keep_dims=True))
    tile.store(Y, (0, 0, 0), e / e.sum(2)[:, :, None])


@tile.jit
def new_axes(X, Y):
    x = tile.load(X, (0, 0, 0), (2, 4, 8))
    m = tile.max(x, 1)      # (2, 8)
    s = tile.sum(x, 0)      # (4, 8)
    tile.store(Y, (0, 0, 0), x - m[:, None, :] + s[None, :, :] + s[None] * 0.5
               + tile.expand_dims(tile.min(x, 2), 2) + tile.reshape(tile.sum(x, 2), (2, 4, 1))
               + tile.squeeze(tile.sum(x, 1, keep_dims=True), 1)[:, None])


@pytest.mark.parametrize("fn", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", [0, 1, 2, -1, None])
def test_keep_dims_on_3d_tiles(fn, axis):
    x = np.random.default_rng(5).standard_normal((2, 4, 8)).astype(np.float32)
    y = np.zeros_like(x)
    kept_3d[(1,)].interpret(x, y, FN=getattr(tile, fn), AXIS=axis)
    if fn.startswith("arg") and axis is None:
        want = x - np.float32(REDUCTIONS[fn](x))
    elif fn.startswith("arg"):
        want = x - np.expand_dims(REDUCTIONS[fn](x, axis), axis).astype(np.float32)
    else:
        want = x - REDUCTIONS[fn](x, axis=axis, keepdims=True)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_keep_dims_and_new_axes_on_3d_tiles_compile():
    x = np.random.default_rng(6).standard_normal((2, 4, 8)).astype(np.float32)
    y = np.zeros_like(x)
    softmax_3d[(1,)].interpret(x, y, BN=8)
    e = np.exp(x - x.max(2, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(2, keepdims=True), rtol=1e-5, atol=1e-6)
    new_axes[(1,)].interpret(x, y)
    s = x.sum(0)
    np.testing.assert_allclose(y, x - x.max(1)[:, None, :] + s[None] * 1.5
                               + x.min(2)[:, :, None] + x.sum(2)[:, :, None]
                               + x.sum(1)[:, None], rtol=1e-5, atol=1e-5)
    signature = ("*f32[3]:16", "*f32[3]:16")
    for kernel, constexprs in [(softmax_3d, dict(BN=8)), (new_axes, {}),
                               (kept_3d, dict(FN=tile.max, AXIS=2)),
                               (kept_3d, dict(FN=tile.argmin, AXIS=0)),
                               (kept_3d, dict(FN=tile.sum, AXIS=None))]:
        compiled = kernel.compile(*signature, **constexprs)
        assert f".entry {kernel.__name__}(" in compiled.ptx
        if find_ptxas() is not None:
            assert compiled.cubin


@pytest.mark.gpu
def test_gpu_keep_dims_and_new_axes_on_3d_tiles():
    import torch
    x = np.random.default_rng(7).standard_normal((2, 4, 8)).astype(np.float32)
    cases = [(softmax_3d, dict(BN=8)), (new_axes, {})] + [
        (kept_3d, dict(FN=getattr(tile, fn), AXIS=axis))
        for fn in sorted(REDUCTIONS) for axis in (0, 1, 2, None)]
    for kernel, constexprs in cases:
        want = np.zeros_like(x)
        kernel[(1,)].interpret(x, want, **constexprs)
        out = torch.full(x.shape, float("nan"), device="cuda")
        kernel[(1,)](torch.from_numpy(x).cuda(), out, **constexprs)
        np.testing.assert_allclose(out.cpu().numpy(), want, rtol=1e-5, atol=1e-5,
                                   err_msg=f"{kernel.__name__} {constexprs}")


# -- on the GPU ---------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("fn", sorted(REDUCTIONS))
def test_gpu_reductions_match_torch(fn):
    import torch
    x = torch.randn(32, 64, device="cuda")
    x[5, 7] = float("nan") if fn != "sum" else x[5, 7]  # max and min give NaN, as torch
    out = torch.zeros(16, device="cuda", dtype=torch.int32 if fn.startswith("arg") else
                      torch.float32)
    reduce_all[(1,)](x, out, FN=getattr(tile, fn), BM=32, BN=64)
    want = {"sum": torch.sum, "max": torch.max, "min": torch.min,
            "argmax": torch.argmax, "argmin": torch.argmin}[fn](x)
    if fn == "argmax" or fn == "argmin":
        assert (out == int(want)).all()
    else:
        torch.testing.assert_close(out, want.expand(16), rtol=1e-5, atol=1e-4, equal_nan=True)
        assert out.isnan().all() == (fn != "sum")
    for axis in (0, 1) if fn.startswith("arg") else ():
        rows = torch.zeros(64 if axis == 0 else 32, device="cuda", dtype=torch.int32)
        ties = torch.randint(0, 3, (32, 64), device="cuda").float()
        reduce_rows[(1,)](ties, rows, FN=getattr(tile, fn), AXIS=axis, BM=32, BN=64)
        want = getattr(np, fn)(ties.cpu().numpy(), axis=axis)  # first index on ties
        assert np.array_equal(rows.cpu().numpy(), want)


@pytest.mark.gpu
@pytest.mark.parametrize("shape,axis", [((16, 64), 1), ((16, 64), 0), ((4, 1024), 1),
                                        ((256, 8), 0), ((1, 32), 1), ((64, 4), 1)])
@pytest.mark.parametrize("fn", ["cumsum", "cumprod"])
def test_gpu_scans_match_torch(fn, shape, axis):
    import torch
    x = torch.randn(*shape, device="cuda")
    if fn == "cumprod":
        x = torch.sign(x)
    out = torch.zeros_like(x)
    scan[(1,)](x, out, FN=getattr(tile, fn), AXIS=axis, BM=shape[0], BN=shape[1])
    want = getattr(torch, fn)(x, dim=axis)
    torch.testing.assert_close(out, want, rtol=1e-4, atol=1e-3)
    xi = torch.randint(-3, 4, shape, device="cuda", dtype=torch.int32)
    outi = torch.zeros_like(xi)
    scan[(1,)](xi, outi, FN=getattr(tile, fn), AXIS=axis, BM=shape[0], BN=shape[1])
    assert torch.equal(outi, getattr(torch, fn)(xi, dim=axis).to(torch.int32))


# A failed device assert spoils the CUDA context: the kernels run in a child.
CHILD = textwrap.dedent("""
    import torch
    import tile

    @tile.jit
    def checks(X, BLOCK: tile.constexpr):
        x = tile.load(X, 0, BLOCK)
        tile.device_print("x", x)
        assert tile.min(x) > 0, "x must be positive"

    checks[(1,)](torch.arange(1, 5, device="cuda", dtype=torch.float32), BLOCK=4)
    torch.cuda.synchronize()
    print("PASSED", flush=True)
    checks[(1,)](torch.arange(4, device="cuda", dtype=torch.float32), BLOCK=4)
    torch.cuda.synchronize()
    print("RETURNED", flush=True)
""")


@pytest.mark.gpu
@pytest.mark.parametrize("debug", [True, False])
def test_gpu_print_and_assert(tmp_path, debug):
    script = tmp_path / "checks.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONUNBUFFERED="1", TILE_DEBUG="1" if debug else "0")
    child = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                           env=env, timeout=120)
    output = child.stdout + child.stderr
    assert "PASSED" in output, output
    if not debug:  # compiled out: nothing printed, nothing checked
        assert "RETURNED" in output and "idx" not in output, output
        return
    assert "pid (0, 0, 0) idx (2) x: 3.000000" in output, output
    assert "RETURNED" not in output and child.returncode != 0, output
    assert f"{script}:9" in output and "x must be positive" in output, output


@tile.jit
def int64_rows(X, S, M, A, C, Q, R: tile.constexpr, N: tile.constexpr):
    """Each reduction of int64 rows, and a squeezed (1, N) row summed to a scalar."""
    x = tile.load(X, (0, 0), (R, N))
    tile.store(S, 0, tile.sum(x, axis=1))
    tile.store(M, 0, tile.max(x, axis=1))
    tile.store(A, 0, tile.argmax(x, axis=1))
    tile.store(C, (0, 0), tile.cumsum(x, axis=1))
    total = tile.sum(tile.squeeze(tile.load(X, (0, 0), (1, N)), 0))
    tile.store(Q, 0, tile.full((1,), total, tile.int64))


def int64_case(seed=0, R=16, N=64):
    """Values past int32 (torch's labels and offsets are int64) and the outputs."""
    x = np.random.default_rng(seed).integers(-(1 << 40), 1 << 40, (R, N)).astype(np.int64)
    outs = (np.zeros(R, np.int64), np.zeros(R, np.int64), np.zeros(R, np.int32),
            np.zeros((R, N), np.int64), np.zeros(1, np.int64))
    return x, outs


def check_int64(x, outs):
    s, m, a, c, q = outs
    np.testing.assert_array_equal(s, x.sum(1))
    np.testing.assert_array_equal(m, x.max(1))
    np.testing.assert_array_equal(a, x.argmax(1))
    np.testing.assert_array_equal(c, np.cumsum(x, 1))
    assert q[0] == x[0].sum()


def test_int64_reductions_in_the_interpreter():
    x, outs = int64_case()
    int64_rows[(1,)].interpret(x, *outs, R=16, N=64)
    check_int64(x, outs)


def test_int64_reductions_compile_with_split_shuffles():
    kernel = int64_rows.compile("*i64[2]:16", "*i64[1]:16", "*i64[1]:16", "*i32[1]:16",
                                "*i64[2]:16", "*i64[1]:16", R=16, N=64)
    assert "shfl.sync" in kernel.ptx and "shfl.sync.bfly.b64" not in kernel.ptx
    if find_ptxas() is not None:
        assert kernel.metadata["spill_stores"] == 0


@pytest.mark.gpu
def test_gpu_int64_reductions_match_numpy():
    import torch
    x, outs = int64_case(seed=1)
    device = [torch.from_numpy(t).cuda() for t in (x, *outs)]
    int64_rows[(1,)](*device, R=16, N=64)
    torch.cuda.synchronize()
    check_int64(x, [t.cpu().numpy() for t in device[1:]])
