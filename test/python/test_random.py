"""tile.randint4x / randint / rand / randn (frontend/philox.py): a Philox4x32
written here in numpy from Random123's definition and checked against its
published known-answer vectors is the reference; the interpreter matches it bit
for bit over int32 and int64 offsets, runtime and constant seeds and round
counts; rand and randn have the right statistics; bad arguments are errors at
the line; the kernels reach PTX (mul.hi.u32) and a cubin; on the GPU every word
equals the interpreter's."""
import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.compiler import find_ptxas

# Random123 kat_vectors: philox4x32 R, counter (4 words), key (2 words) -> result.
KNOWN_ANSWERS = """
7 00000000 00000000 00000000 00000000 00000000 00000000 5f6fb709 0d893f64 4f121f81 4f730a48
7 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff 5207ddc2 45165e59 4d8ee751 8c52f662
7 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0 4dfccaba 190a87f0 c47362ba b6b5242a
10 00000000 00000000 00000000 00000000 00000000 00000000 6627e8d5 e169c58d bc57ac4c 9b00dbd8
10 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff 408f276d 41c83b0e a20bc7c6 6d5451fd
10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0 d16cfe09 94fdcceb 5001e420 24126ea1
"""
U32 = np.uint64(0xFFFFFFFF)


def philox(counter, key, rounds: int):
    """Philox4x32-R on uint32 arrays: counter (c0, c1, c2, c3), key (k0, k1)."""
    c = [np.asarray(w, np.uint64) for w in counter]
    k = [np.asarray(w, np.uint64) for w in key]
    for _ in range(rounds):
        p0 = np.uint64(0xD2511F53) * c[0]  # both below 2**32: the product fits
        p1 = np.uint64(0xCD9E8D57) * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k[0], p1 & U32,
             (p0 >> np.uint64(32)) ^ c[3] ^ k[1], p0 & U32]
        k = [(k[0] + np.uint64(0x9E3779B9)) & U32, (k[1] + np.uint64(0xBB67AE85)) & U32]
    return [w.astype(np.uint32) for w in c]


def test_reference_matches_random123():
    for line in KNOWN_ANSWERS.strip().splitlines():
        rounds, *words = line.split()
        words = [int(w, 16) for w in words]
        assert [int(w) for w in philox(words[:4], words[4:6], int(rounds))] == words[6:]


def expected(seed: int, offsets: np.ndarray, rounds: int = 10):
    """randint4x's words as int32: counter (low, high word of the offset, 0, 0),
    key (low, high word of the seed as a 64-bit integer)."""
    wide = offsets.astype(np.int64).view(np.uint64) if offsets.dtype == np.int64 else \
        offsets.astype(np.uint32).astype(np.uint64)
    zero = np.zeros_like(wide)
    counter = [wide & U32, wide >> np.uint64(32), zero, zero]
    seed %= 2**64
    return [w.view(np.int32) for w in philox(counter, [seed & 0xFFFFFFFF, seed >> 32], rounds)]


def uniform(x: np.ndarray) -> np.ndarray:
    """Triton's uint_to_uniform_float on the int32 words."""
    flipped = np.where(x < 0, -(x.astype(np.int64)) - 1, x).astype(np.int32)
    return flipped.astype(np.float32) * np.float32(4.6566127342e-10)


@tile.jit
def words4(OFF, OUT, seed, BLOCK: tile.constexpr, ROUNDS: tile.constexpr):
    i = tile.program_id(0) * BLOCK + tile.arange(BLOCK)
    offsets = tile.load(OFF, i)
    r0, r1, r2, r3 = tile.randint4x(seed, offsets, ROUNDS)
    n = tile.num_programs(0) * BLOCK
    tile.store(OUT, i, r0)
    tile.store(OUT, i + n, r1)
    tile.store(OUT, i + 2 * n, r2)
    tile.store(OUT, i + 3 * n, r3)


@tile.jit
def words4_constant_seed(OFF, OUT, SEED: tile.constexpr, BLOCK: tile.constexpr):
    i = tile.program_id(0) * BLOCK + tile.arange(BLOCK)
    r0, r1, r2, r3 = tile.randint4x(SEED, tile.load(OFF, i))
    n = tile.num_programs(0) * BLOCK
    tile.store(OUT, i, r0)
    tile.store(OUT, i + n, r1)
    tile.store(OUT, i + 2 * n, r2)
    tile.store(OUT, i + 3 * n, r3)


def run_words(offsets, seed, rounds=10, block=64, interpret=True):
    out = np.zeros(4 * offsets.size, np.int32)
    grid = (offsets.size // block,)
    if isinstance(seed, int) and not -2**31 <= seed < 2**31:
        words4_constant_seed[grid].interpret(offsets, out, SEED=seed, BLOCK=block)
    else:
        words4[grid].interpret(offsets, out, seed, BLOCK=block, ROUNDS=rounds)
    return out.reshape(4, -1)


def offsets_of(dtype) -> np.ndarray:
    rng = np.random.default_rng(7)
    if dtype == np.int32:
        return np.concatenate([np.arange(64), rng.integers(-2**31, 2**31, 192)]).astype(dtype)
    return np.concatenate([np.arange(64), rng.integers(-2**63, 2**63, 128, dtype=np.int64),
                           2**32 + np.arange(64)]).astype(dtype)


def test_zero_counter_and_key_is_the_known_answer():
    out = run_words(np.zeros(64, np.int32), 0)
    assert [int(w) & 0xFFFFFFFF for w in out[:, 0]] == [0x6627e8d5, 0xe169c58d, 0xbc57ac4c,
                                                         0x9b00dbd8]


@pytest.mark.parametrize("dtype", [np.int32, np.int64], ids=["int32", "int64"])
@pytest.mark.parametrize("seed", [0, 1234, -5, 2**31 - 1])
def test_interpreter_matches_reference(dtype, seed):
    offsets = offsets_of(dtype)
    np.testing.assert_array_equal(run_words(offsets, seed), expected(seed, offsets))


@pytest.mark.parametrize("seed", [2**40 + 5, 2**64 - 1, -2**63])
def test_constant_seeds_of_64_bits(seed):
    offsets = offsets_of(np.int64)
    np.testing.assert_array_equal(run_words(offsets, seed), expected(seed, offsets))


@pytest.mark.parametrize("rounds", [0, 1, 2, 7])
def test_round_counts(rounds):
    offsets = offsets_of(np.int32)
    np.testing.assert_array_equal(run_words(offsets, 99, rounds), expected(99, offsets, rounds))


@tile.jit
def draws(OUT, seed, N: tile.constexpr, KIND: tile.constexpr):
    rows = tile.program_id(0) * N + tile.arange(N)
    offsets = rows[:, None] * N + tile.arange(N)[None, :]  # an (N, N) tile
    out = tile.rand(seed, offsets) if KIND == "rand" else \
        tile.randn(seed, offsets) if KIND == "randn" else tile.randint(seed, offsets)
    tile.store(OUT, offsets, out)


@tile.jit
def row_draws(OUT, seed, N: tile.constexpr):
    cols = tile.arange(N)
    tile.store(OUT, cols[None, :], tile.rand(seed, cols[None, :]))  # a (1, N) row


def test_randint_and_rand_of_a_2d_tile():
    n = 32
    ints, floats = np.zeros(4 * n * n, np.int32), np.zeros(4 * n * n, np.float32)
    draws[(4,)].interpret(ints, 77, N=n, KIND="randint")
    draws[(4,)].interpret(floats, 77, N=n, KIND="rand")
    offsets = np.arange(4 * n * n, dtype=np.int32)
    np.testing.assert_array_equal(ints, expected(77, offsets)[0])
    np.testing.assert_array_equal(floats, uniform(expected(77, offsets)[0]))
    row = np.zeros(n, np.float32)
    row_draws[(1,)].interpret(row, 77, N=n)
    np.testing.assert_array_equal(row, floats[:n])  # same (seed, offset), same number


@tile.jit
def scalar_draws(OUT, seed):
    pid = tile.program_id(0)
    wide = seed.to(tile.int64) * 3000000000  # an int64 seed: both key words vary
    tile.store(OUT, tile.arange(1) + pid, tile.randint(wide, pid))  # a scalar offset


def test_scalar_offsets_and_int64_seeds():
    for seed in (1234, -5):
        out = np.zeros(8, np.int32)
        scalar_draws[(8,)].interpret(out, seed)
        np.testing.assert_array_equal(out, expected(seed * 3000000000, np.arange(8))[0])


def test_uniform_extremes():
    x = np.array([0, -1, 2**31 - 1, -2**31, 1], np.int32)
    u = uniform(x)
    assert u[0] == u[1] == 0 and u[2] == u[3] < 1 and u[4] > 0
    assert np.float32(2**31 - 1) * np.float32(4.6566127342e-10) < 1


def test_rand_and_randn_statistics():
    n = 64
    u, z = np.zeros(16 * n * n, np.float32), np.zeros(16 * n * n, np.float32)
    draws[(16,)].interpret(u, 2026, N=n, KIND="rand")
    draws[(16,)].interpret(z, 2026, N=n, KIND="randn")
    count = u.size  # 65536 draws: the mean's standard deviation is 0.0011 (uniform)
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 5 * (1 / 12 / count) ** 0.5
    assert abs(u.var() - 1 / 12) < 0.002
    assert np.histogram(u, 16, (0, 1))[0].min() > count / 16 * 0.95
    assert abs(z.mean()) < 5 / count ** 0.5 and abs(z.var() - 1) < 0.02
    assert np.abs(z).max() < 5.7
    # randn is Box-Muller of the first two words, as Triton's
    words = expected(2026, np.arange(count, dtype=np.int32))
    u1, u2 = (np.maximum(uniform(w).astype(np.float64), 1e-7) for w in words[:2])
    want = np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * uniform(words[1]).astype(np.float64))
    np.testing.assert_allclose(z, want, atol=2e-5, rtol=1e-5)


def test_the_ir_is_integer_ops():
    text = words4.ir("*i64:16", "*i32:16", "i32", BLOCK=64, ROUNDS=1)
    # One round: hi(A·c0) through i64 (hi(B·c2) of c2 = 0 folds), the offsets'
    # high word by a shift; lo(A·c0) in i32.
    assert text.count("arith.extui") == 1 and text.count("arith.shrui") == 2
    assert "arith.constant dense<3528531795> : tensor<64xi64>" in text  # 0xD2511F53
    assert "arith.constant dense<-766435501> : tensor<64xi32>" in text  # 0xD2511F53 as int32


def test_reaches_ptx_and_a_cubin():
    for kind in ("randint", "rand", "randn"):
        compiled = draws.compile("*f32:16" if kind != "randint" else "*i32:16", "i32",
                                 N=64, KIND=kind)
        assert "mul.hi.u32" in compiled.ptx
        if find_ptxas():
            assert compiled.cubin


# -- bad arguments --------------------------------------------------------------------
@tile.jit
def bad_offsets(X, seed, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    tile.store(X, 0, tile.rand(seed, x))  # float offsets


@tile.jit
def bad_seed(X, BLOCK: tile.constexpr):
    offsets = tile.arange(BLOCK)
    tile.store(X, 0, tile.rand(tile.load(X, 0, BLOCK), offsets))  # a tile as the seed


@tile.jit
def bad_argument(X, S: tile.constexpr, OFFSETS: tile.constexpr, R: tile.constexpr,
                 BLOCK: tile.constexpr):
    offsets = tile.arange(BLOCK) if OFFSETS else 5
    tile.store(X, 0, tile.randn(S, offsets, n_rounds=R))  # constexpr arguments


def test_bad_arguments_are_errors_at_the_line():
    expect_error(bad_offsets, "# float offsets",
                 "rand's offsets must be an int32 or int64 tile or scalar", "*f32:16", "i32",
                 BLOCK=64)
    expect_error(bad_seed, "# a tile as the seed",
                 "rand's seed must be an integer scalar or constant", "*i32:16", BLOCK=64)
    for S, OFFSETS, R, message in (
            (1.5, True, 10, "randn's seed must be an integer scalar or constant"),
            (2**64, True, 10, "randn's seed 18446744073709551616 does not fit in 64 bits"),
            (1, False, 10, "randn's offsets must be an int32 or int64 tile or scalar"),
            (1, True, 1.5, "randn's n_rounds must be a constexpr integer"),
            (1, True, -1, "randn's n_rounds must be >= 0")):
        expect_error(bad_argument, "# constexpr arguments", message, "*f32:16", S=S,
                     OFFSETS=OFFSETS, R=R, BLOCK=64)


# -- on the GPU ---------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.int32, np.int64], ids=["int32", "int64"])
def test_gpu_words_equal_the_interpreter(dtype):
    import torch
    offsets = np.concatenate([offsets_of(dtype)] * 64)
    for seed, rounds in ((1234, 10), (-5, 10), (7, 7)):
        out = torch.zeros(4 * offsets.size, dtype=torch.int32, device="cuda")
        words4[(offsets.size // 256,)](torch.from_numpy(offsets).cuda(), out, seed, BLOCK=256,
                                       ROUNDS=rounds)
        np.testing.assert_array_equal(out.cpu().numpy().reshape(4, -1),
                                      run_words(offsets, seed, rounds, block=256))


@pytest.mark.gpu
def test_gpu_draws_equal_the_interpreter_and_randn_is_close():
    import torch
    n = 64
    for kind in ("randint", "rand", "randn"):
        dtype = np.int32 if kind == "randint" else np.float32
        want = np.zeros(16 * n * n, dtype)
        draws[(16,)].interpret(want, 31, N=n, KIND=kind)
        got = torch.zeros(16 * n * n, dtype=torch.from_numpy(want).dtype, device="cuda")
        draws[(16,)](got, 31, N=n, KIND=kind)
        if kind == "randn":
            # log is the SFU's (absolute error 2**-22), which sqrt(-2 log u1)
            # divides by the radius; cos and sqrt within a few ulps.
            u1 = np.maximum(uniform(expected(31, np.arange(want.size, dtype=np.int32))[0]),
                            np.float32(1e-7)).astype(np.float64)
            radius = np.sqrt(-2 * np.log(u1))
            error = np.abs(got.cpu().numpy().astype(np.float64) - want)
            assert (error <= 1e-5 * (1 + np.abs(want)) + 2.5e-7 / radius).all()
        else:
            np.testing.assert_array_equal(got.cpu().numpy(), want)
    got = torch.zeros(8, dtype=torch.int32, device="cuda")
    scalar_draws[(8,)](got, -5)
    np.testing.assert_array_equal(got.cpu().numpy(), expected(-5 * 3000000000, np.arange(8))[0])


# -- examples/dropout.py --------------------------------------------------------------
def dropout_example():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    import dropout
    return dropout


def test_dropout_mask_is_rand_above_p():
    dropout = dropout_example()
    n, p = 3000, 0.25
    x = np.arange(1, n + 1, dtype=np.float32)
    y = np.full_like(x, np.nan)
    dropout.dropout(x, y, p, 42, BLOCK=256, interpret=True)
    keep = uniform(expected(42, np.arange(n, dtype=np.int32))[0]) > np.float32(p)
    np.testing.assert_array_equal(y != 0, keep)
    np.testing.assert_array_equal(y[keep], x[keep] / (np.float32(1) - np.float32(p)))
    assert dropout.run_on_interpreter(n=2000, p=0.5, seed=-7)


@pytest.mark.gpu
def test_dropout_on_the_gpu_against_torch():
    assert dropout_example().run_on_gpu(n=1 << 20, p=0.1, seed=99)
