"""tile.notify / tile.wait: programs handing data to each other through flags.
The frontend's checks, the interpreter (programs that wait take turns as tasks
on one thread; a wait no program can end is an error, not a hang), and the
stream-K GEMM of examples/gemm.py on the interpreter and through ptxas."""
import os
import sys
import time

import ml_dtypes
import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm_stream_k  # noqa: E402


@tile.jit
def float_flags(X, F):
    tile.notify(F, tile.program_id(0))  # <- float flags


def test_flags_must_be_int32():
    expect_error(float_flags, "# <- float flags",
                 "notify: flags must be a contiguous 1-D int32 array, got", "*f32:16", "*f32")


@tile.jit
def tile_index(F, BLOCK: tile.constexpr):
    tile.wait(F, tile.arange(BLOCK))  # <- tile index


def test_index_must_be_a_scalar():
    expect_error(tile_index, "# <- tile index", "wait's index must be an int32 scalar", "*i32",
                 BLOCK=16)


@tile.jit
def relay(X, Flags, BLOCK: tile.constexpr):
    """X[p] = X[p + 1] + 1: each program waits for the next one (a later
    program, which a sequential run would reach only after it)."""
    p = tile.program_id(0)
    if p < tile.num_programs(0) - 1:
        tile.wait(Flags, p + 1)
        v = tile.load(X, (p + 1) * BLOCK, BLOCK) + 1.0
    else:
        v = tile.zeros((BLOCK,), tile.float32)
    tile.store(X, p * BLOCK, v)
    tile.notify(Flags, p)


def test_interpreter_runs_waiting_programs_together():
    n = 24
    x = np.full(n * 16, -1.0, np.float32)
    flags = np.zeros(n, np.int32)
    relay[(n,)].interpret(x, flags, BLOCK=16)
    np.testing.assert_array_equal(x.reshape(n, 16), np.repeat(np.arange(n - 1, -1, -1.0), 16)
                                  .reshape(n, 16))
    np.testing.assert_array_equal(flags, 1)


@tile.jit
def chain(X, Flags, BLOCK: tile.constexpr, BACKWARDS: tile.constexpr):
    """Program p waits for the program before it (after it, BACKWARDS), adds one
    to the block that one wrote, and notifies the next: one long chain."""
    p = tile.program_id(0)
    last = tile.num_programs(0) - 1
    source = last - p if BACKWARDS else p  # the position of this program in the chain
    v = tile.zeros((BLOCK,), tile.float32)
    if source > 0:
        before = p + 1 if BACKWARDS else p - 1
        tile.wait(Flags, before)
        v = tile.load(X, before * BLOCK, BLOCK) + 1.0
    tile.store(X, p * BLOCK, v)
    tile.notify(Flags, p)


@pytest.mark.parametrize("backwards", [False, True])
def test_a_chain_of_2048_waiting_programs_runs_in_seconds(backwards):
    """Backwards, every program but the last waits at once (2047 tasks suspended);
    with one thread a program this used to take 5-132 s, and once aborted."""
    n, block = 2048, 16
    x = np.full(n * block, -1.0, np.float32)
    flags = np.zeros(n, np.int32)
    chain[(1,)].interpret(x, flags, BLOCK=block, BACKWARDS=backwards)  # parse outside the clock
    flags[:] = 0
    started = time.perf_counter()
    chain[(n,)].interpret(x, flags, BLOCK=block, BACKWARDS=backwards)
    seconds = time.perf_counter() - started
    steps = np.arange(n, dtype=np.float32)
    expected = steps[::-1] if backwards else steps
    np.testing.assert_array_equal(x.reshape(n, block), np.repeat(expected, block).reshape(n, block))
    np.testing.assert_array_equal(flags, 1)
    assert seconds < 30, f"{n} programs in a chain took {seconds:.1f} s"


@tile.jit
def circle(Flags):
    p = tile.program_id(0)
    tile.wait(Flags, (p + 1) % tile.num_programs(0))  # <- circle
    tile.notify(Flags, p)


def test_interpreter_reports_a_wait_no_program_can_end():
    with pytest.raises(tile.errors.InterpreterError) as info:
        circle[(4,)].interpret(np.zeros(4, np.int32))
    message = str(info.value)
    assert "waits for argument 'Flags' (int32[4])" in message and "none can set it" in message
    assert "# <- circle" in message  # the kernel's line


def stream_k(M, N, K, programs, BM=16, BN=16, BK=16):
    rng = np.random.default_rng(M + N + K)
    a = rng.standard_normal((M, K)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((K, N)).astype(ml_dtypes.bfloat16)
    c = np.zeros((M, N), ml_dtypes.bfloat16)
    programs = min(programs, tile.cdiv(M, BM) * tile.cdiv(N, BN))
    partials = np.full((programs * BM, BN), np.nan, np.float32)
    flags = np.zeros(programs, np.int32)
    gemm_stream_k[(programs,)].interpret(a, b, c, partials, flags, BM=BM, BN=BN, BK=BK, GROUP=2)
    reference = a.astype(np.float64) @ b.astype(np.float64)
    return c.astype(np.float64), reference, flags, partials


@pytest.mark.parametrize("M,N,K,programs", [(96, 80, 100, 8), (64, 64, 64, 16), (128, 48, 40, 5),
                                            (48, 48, 208, 3), (16, 16, 16, 4)])
def test_stream_k_gemm_on_the_interpreter(M, N, K, programs):
    """Ragged shapes; programs that share tiles (a partial handed over) and,
    with as many programs as tiles, none that do."""
    c, reference, flags, partials = stream_k(M, N, K, programs)
    assert np.linalg.norm(c - reference) / np.linalg.norm(reference) < 1e-2
    np.testing.assert_array_equal(flags, 0)  # left zero for the next launch


def test_stream_k_hands_partial_tiles_over():
    """With 8 programs on 30 tiles of 7 k-steps, tiles are split: partial sums
    were written (rows of some program) and the result is still right."""
    c, reference, _, partials = stream_k(96, 80, 100, 8)
    assert not np.isnan(partials).all()
    assert np.linalg.norm(c - reference) / np.linalg.norm(reference) < 1e-2


ARGS = ("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16", "*f32[2]:16", "*i32")


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("config", [dict(num_stages=3), dict(num_stages=4, warp_specialize=True)])
def test_stream_k_compiles_without_spills(config):
    """Both stores through TMA (their branches' shared tiles share bytes: 4
    stages + 32 KiB fit), the partial loaded straight into the accumulator's
    layout (no layout conversion through shared memory), no spills, and
    ptxas keeps the wgmmas pipelined."""
    kernel = gemm_stream_k.compile(*ARGS, BM=128, BN=256, BK=64, GROUP=8, num_warps=8, **config)
    meta, ptx = kernel.metadata, kernel.ptx
    assert meta["spill_stores"] == 0 and meta["spill_loads"] == 0
    assert "C751" not in meta["ptxas_log"]
    assert ptx.count("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group") >= 2
    assert "st.release.gpu.global.b32" in ptx and "ld.acquire.gpu.global.b32" in ptx
    assert "ld.global.v2.b32" in ptx  # the partial, two f32 a thread per access
