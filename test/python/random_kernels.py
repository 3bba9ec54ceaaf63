"""Random small tile kernels with a numpy reference, for differential testing.

`generate_case(seed, index)` builds one kernel deterministically from
a `random.Random` seeded by both: its source text, grid, constexprs, inputs, the
outputs to compare (poisoned, so unwritten elements show) and per-output
tolerances. Three families:
- "tree": a random expression tree over 1-D and 2-D tiles (loads with `bound=`
  and view loads of ragged arrays, zeros/full/arange, + - * / maximum minimum,
  where on comparisons of exact values, exp/exp2/log/sqrt on safe ranges, casts,
  reductions along either axis, v[None, :] / v[:, None] broadcasts), optionally
  inside a loop with carried accumulators, stored by view stores and bounded
  1-D stores (one-element stores included). The generator keeps a mini program
  of the same statements and evaluates it with numpy (the reference), tracking
  each value's interval so that no op overflows or leaves its domain.
- "decode": the flash-decoding pattern (size-1 rows, q[None, :] * k, running
  max and sum, acc * alpha[:, None] + pv[None, :]) with random sizes.
- "indexed": gathers through random index arrays (masked-off indices far
  outside the source), masked view and 1-D loads with `other`, masked and
  scattered stores, and order-independent atomics into a histogram.
The tree family is in random_tree_kernels.py, the indexed one in
random_indexed_kernels.py; compiling and interpreting cases, in
worker processes, in random_kernel_runner.py.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import ml_dtypes
import numpy as np

STORAGE = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16, "i32": np.int32}
TILE_NAME = {"f32": "tile.float32", "f16": "tile.float16", "bf16": "tile.bfloat16",
             "i32": "tile.int32"}
EPS = {"f32": 2.0 ** -23, "f16": 2.0 ** -10, "bf16": 2.0 ** -7, "i32": 0.0}
LIMIT = {"f32": 3e4, "f16": 1e3, "bf16": 3e4, "i32": 3e4}  # largest |value| a node may hold
DIMS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
INT_POISON = -777777


@dataclass
class Case:
    index: int
    family: str
    name: str  # the kernel function's name
    source: str  # the whole module
    grid: tuple
    params: list  # runtime parameters in order: names of arrays or scalars
    arrays: dict  # name -> numpy array (inputs, and outputs already poisoned)
    scalars: dict  # name -> int or float
    outputs: list
    constexprs: dict
    num_warps: int
    tolerance: dict  # output -> (rtol, atol)
    reference: object = field(repr=False, default=None)  # () -> {output: array}

    def arguments(self, arrays: dict) -> list:
        return [arrays[p] if p in arrays else self.scalars[p] for p in self.params]

    def fresh_arrays(self) -> dict:
        return {name: a.copy() for name, a in self.arrays.items()}


def rounded(dt: str, x) -> np.ndarray:
    """`x` in `dt`'s storage (round to nearest once, as the interpreter does)."""
    x = np.asarray(x)
    if dt == "i32":
        return x.astype(np.int32)
    if dt == "bf16" and x.dtype == np.float64:
        x = x.astype(np.float32)
    return x.astype(STORAGE[dt])


def f32(x) -> np.ndarray:
    return np.asarray(x).astype(np.float32)


def poisoned(shape, dt: str) -> np.ndarray:
    return np.full(shape, INT_POISON if dt == "i32" else np.nan, STORAGE[dt])


def window(array: np.ndarray, starts, shape, limit=None) -> np.ndarray:
    """The tile of `shape` at `starts` with zeros outside the array (or past `limit`)."""
    out = np.zeros(shape, array.dtype)
    ends = [array.shape[d] if limit is None else min(limit, array.shape[d])
            for d in range(array.ndim)]
    src = tuple(slice(max(s, 0), min(s + n, e)) for s, n, e in zip(starts, shape, ends))
    if all(sl.stop > sl.start for sl in src):
        dst = tuple(slice(sl.start - s, sl.stop - s) for sl, s in zip(src, starts))
        out[dst] = array[src]
    return out


def write_window(array: np.ndarray, starts, value: np.ndarray, limit=None) -> None:
    ends = [array.shape[d] if limit is None else min(limit, array.shape[d])
            for d in range(array.ndim)]
    src = tuple(slice(max(s, 0), min(s + n, e)) for s, n, e in zip(starts, value.shape, ends))
    if all(sl.stop > sl.start for sl in src):
        array[src] = value[tuple(slice(sl.start - s, sl.stop - s) for sl, s in zip(src, starts))]


def tolerance(dt: str, eps_dt: str, approx: bool) -> tuple:
    """(rtol, atol factor): the error allowed relative to the value plus relative to
    the case's error scale (the largest |value| or reduction's sum of |values| seen).
    FMA contraction, reduction order and the transcendental approximations differ
    between devices by ulps of the intermediates, so a few ulps of the coarsest type
    the values were rounded to, more with exp/exp2/log/sqrt."""
    if dt == "i32" and eps_dt == "i32":
        return 0.0, 0.0
    eps = max(EPS[eps_dt], EPS[dt] if dt != "i32" else 0.0)
    ulps = 16 * (4 if approx else 1) if eps == EPS["f32"] else 2 * (2 if approx else 1)
    return ulps * eps, ulps * eps


DECODE = '''import tile


@tile.jit
def {name}(Q, K, V, O, L, M, n_keys, n_rows, scale, BN: tile.constexpr, D: tile.constexpr):
    row = tile.program_id(0)
{load_q}
    m = tile.neg_inf((1,))
    l = tile.zeros((1,))
    acc = tile.zeros((1, D))
    for start in range(0, n_keys, BN):
        k = tile.load(K, (row * n_keys + start, 0), (BN, D)){to_f32}
        v = tile.load(V, (row * n_keys + start, 0), (BN, D)){to_f32}
        qk = tile.sum(q[None, :] * k, 1) * scale
        qk = tile.where(start + tile.arange(BN) < n_keys, qk, float("-inf"))
{softmax}
        l = l * alpha + p_sum
        acc = acc * alpha[:, None] + pv[None, :]
        m = m_new
    tile.store(O, {store_o})
    tile.store(L, row, l, bound=n_rows)
    tile.store(M, (row,), m)
'''
SOFTMAX_BY_ROW = '''        scores = tile.zeros((1, BN)) + qk[None, :]
        m_new = tile.maximum(m, tile.max(scores, 1))
        p = tile.{exp}(scores - m_new[:, None])
        alpha = tile.{exp}(m - m_new)
        p_sum = tile.sum(p, 1)
        pv = tile.sum(tile.sum(p, 0)[:, None] * v, 0)'''
SOFTMAX_BY_COLUMN = '''        scores = tile.zeros((BN, 1)) + qk[:, None]
        m_new = tile.maximum(m, tile.max(scores, 0))
        p = tile.{exp}(scores - m_new[None, :])
        alpha = tile.{exp}(m - m_new)
        p_sum = tile.sum(p, 0)
        pv = tile.sum(tile.sum(p, 1)[:, None] * v, 0)'''


def decode_case(index: int, rng: random.Random) -> Case:
    """The flash-decoding pattern of size-1 rows, with random sizes and types."""
    data = np.random.default_rng(rng.randrange(2 ** 32))
    bn, d = rng.choice(DIMS[:7]), rng.choice(DIMS[:8])
    rows, n_keys = rng.randint(1, 4), rng.randint(1, 4 * bn)
    kv_dt, out_dt = rng.choice(("f32", "f16", "bf16")), rng.choice(("f32", "f16", "bf16"))
    exp = rng.choice(("exp", "exp2"))
    q_view = rng.random() < 0.4
    name = f"decode_{index}"
    load_q = ("    q = tile.sum(tile.load(Q, (row, 0), (1, D)), 0)" if q_view else
              "    q = tile.load(Q, row * D, D, bound=n_rows * D)")
    out_2d = rng.random() < 0.6
    cast = "" if out_dt == "f32" else f".to({TILE_NAME[out_dt]})"
    store_o = f"(row, 0), (acc / l[:, None]){cast}" if out_2d else \
        f"row * D, tile.sum(acc / l[:, None], 0){cast}, bound=n_rows * D"
    softmax = (SOFTMAX_BY_ROW if rng.random() < 0.6 else SOFTMAX_BY_COLUMN).format(exp=exp)
    source = DECODE.format(name=name, load_q=load_q, store_o=store_o, softmax=softmax,
                           to_f32="" if kv_dt == "f32" else ".to(tile.float32)")
    q = data.uniform(-1, 1, (rows, d)).astype(np.float32)
    k = rounded(kv_dt, data.uniform(-1, 1, (rows * n_keys, d)))
    v = rounded(kv_dt, data.uniform(-1, 1, (rows * n_keys, d)))
    scale = float(np.float32(rng.choice((0.125, 0.5, 1.0))))
    arrays = {"Q": q if q_view else q.reshape(-1), "K": k, "V": v,
              "O": poisoned((rows, d) if out_2d else (rows * d,), out_dt),
              "L": poisoned((rows,), "f32"), "M": poisoned((rows,), "f32")}
    scalars = {"n_keys": n_keys, "n_rows": rows, "scale": scale}
    base = math.e if exp == "exp" else 2.0

    def reference():  # (outputs, error scale of each)
        o, ls, ms = arrays["O"].copy(), arrays["L"].copy(), arrays["M"].copy()
        for r in range(rows):
            s = (k[r * n_keys:(r + 1) * n_keys].astype(np.float64) @ q[r]) * scale
            m = s.max()
            p = base ** (s - m)
            ls[r], ms[r] = p.sum(), m
            value = rounded(out_dt, (p @ v[r * n_keys:(r + 1) * n_keys].astype(np.float64))
                            / p.sum())
            if out_2d:
                o[r] = value
            else:
                o[r * d:(r + 1) * d] = value
        # |q.k| <= D: exp's argument errors scale with D, and l's with D * n_keys.
        return {"O": o, "L": ls, "M": ms}, {"O": d, "L": d * n_keys, "M": d}
    # All math is f32 (k and v convert exactly); O is rounded once to its type at the end.
    f32_tol = tolerance("f32", "f32", True)
    tolerances = {"O": (max(2 * EPS[out_dt], f32_tol[0]), f32_tol[1]), "L": f32_tol,
                  "M": f32_tol}
    return Case(index, "decode", name, source, (rows,),
                ["Q", "K", "V", "O", "L", "M", "n_keys", "n_rows", "scale"], arrays, scalars,
                ["O", "L", "M"], {"BN": bn, "D": d}, rng.choice((1, 2, 4, 8)), tolerances,
                reference)


def generate_case(seed: int, index: int) -> Case:
    """Case `index` of the stream for `seed`: the same on every machine and process."""
    rng = random.Random(seed * 1_000_003 + index)
    family = rng.random()
    if family < 0.12:
        return decode_case(index, rng)
    if family < 0.24:
        from random_indexed_kernels import indexed_case  # it imports this module
        return indexed_case(index, rng)
    from random_tree_kernels import tree_case  # it imports this module
    return tree_case(index, rng)


def compare(case: Case, name: str, expected: np.ndarray, actual: np.ndarray, scale: float):
    """(number of mismatched elements, max abs error) of `actual` against `expected`:
    poison (NaN or INT_POISON) and infinities must match exactly, finite values
    within the output's tolerance."""
    rtol, atol = case.tolerance[name]
    e, a = f32(expected).astype(np.float64), f32(actual).astype(np.float64)
    if expected.dtype == np.int32:
        bad = e != a
    else:
        same_special = (np.isnan(e) & np.isnan(a)) | (np.isinf(e) & (e == a))
        finite = np.isfinite(e) & np.isfinite(a)
        close = finite & (np.abs(e - a) <= rtol * np.abs(e) + atol * scale)
        bad = ~(same_special | close)
    both = np.isfinite(e) & np.isfinite(a)
    err = float(np.abs(e - a)[both].max()) if both.any() else 0.0
    return int(bad.sum()), err
