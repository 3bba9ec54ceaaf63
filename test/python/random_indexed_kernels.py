"""The "indexed" family of random_kernels: gathers through random index arrays
(some indices far outside the source, masked off), masked view and 1-D loads with
`other`, masked and scattered stores, and order-independent atomics (integer
adds, float or integer max/min) into a histogram, with random shapes, dtypes,
int32 or int64 offsets and masks. The references are numpy's fancy indexing."""
from __future__ import annotations

import random

import numpy as np

from random_kernels import DIMS, STORAGE, Case, poisoned, rounded

FAR = 1 << 28  # an index a masked-off element may hold: outside every source array

ROWS = '''import tile


@tile.jit
def {name}(X, IDX, KEEP, OUT, HIST, n, BM: tile.constexpr, BN: tile.constexpr):
    r0 = tile.program_id(0) * BM
    real = r0 + tile.arange(BM) < n
    rows = tile.load(IDX, r0, BM, bound=n){wide}
    cols = tile.arange(BN)
    keep = (real & (tile.load(KEEP, r0, BM, bound=n) != 0))[:, None] & \\
        (cols < X.shape[1])[None, :]
    v = tile.load(X, (rows * X.shape[1])[:, None] + cols[None, :], mask=keep{other})
    tile.store(OUT, (r0, 0), v{store_mask})
    tile.{atomic}(HIST, (rows % HIST.shape[0])[:, None] + (cols * 0)[None, :], {value}, mask=keep)
'''

FLAT = '''import tile


@tile.jit
def {name}(X, IDX, KEEP, OUT, HIST, n, BM: tile.constexpr, BN: tile.constexpr):
    s = tile.program_id(0) * BM
    pos = s + tile.arange(BM)
    idx = tile.load(IDX, s, BM, bound=n){wide}
    keep = (tile.load(KEEP, s, BM, mask=pos < n) != 0) & (pos < n)
    v = tile.load(X, idx, mask=keep{other})
    tile.store(OUT, idx % OUT.shape[0], v, mask=keep)
    tile.{atomic}(HIST, idx % HIST.shape[0], {value}, mask=keep)
'''

VIEW = '''import tile


@tile.jit
def {name}(X, IDX, KEEP, OUT, HIST, n, BM: tile.constexpr, BN: tile.constexpr):
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    rows = i + tile.arange(BM)
    cols = j + tile.arange(BN)
    a = tile.load(X, (i, j), (BM, BN), mask={load_mask}{other})
    tile.store(OUT, (i, j), a, mask={store_mask})
'''


def indexed_case(index: int, rng: random.Random) -> Case:
    data = np.random.default_rng(rng.randrange(2 ** 32))
    dt = rng.choice(("f32", "f16", "bf16", "i32"))
    form = rng.choice(("rows", "flat", "view"))
    bm, bn = rng.choice(DIMS[:8]), rng.choice(DIMS[:7])
    wide = ".to(tile.int64)" if rng.random() < 0.3 else ""
    other_value = rng.choice((None, 0, -3, 7)) if rng.random() < 0.7 else None
    other = "" if other_value is None else f", other={other_value}"
    fill = 0 if other_value is None else other_value
    name = f"indexed_{index}"
    if dt == "i32":
        x_values = lambda shape: data.integers(-100, 100, shape).astype(np.int32)  # noqa: E731
    else:
        x_values = lambda shape: rounded(dt, data.uniform(-4, 4, shape))  # noqa: E731
    hist_len = rng.randint(1, 40)
    # Atomics whose result does not depend on the order they apply in.
    atomic = rng.choice(("atomic_add", "atomic_max", "atomic_min") if dt in ("f32", "i32")
                        else ("atomic_add",))
    counts = atomic == "atomic_add"
    hist_dt = "i32" if counts else dt
    value = "1" if counts else "v"
    start = {"atomic_add": 0, "atomic_max": -1000, "atomic_min": 1000}[atomic]
    hist = np.full(hist_len, start, STORAGE[hist_dt])
    grid = None

    if form == "view":
        rows_n, cols_n = rng.randint(1, 3 * bm), rng.randint(1, 3 * bn)
        x = x_values((rows_n, cols_n))
        masks = {"(cols % 3 != 0)[None, :]": lambda r, c: (c % 3 != 0)[None, :],
                 "(rows % 2 == 0)[:, None]": lambda r, c: (r % 2 == 0)[:, None],
                 "(rows[:, None] + cols[None, :]) % 4 != 1":
                     lambda r, c: (r[:, None] + c[None, :]) % 4 != 1}
        load_mask, store_mask = rng.choice(list(masks)), rng.choice(list(masks))
        source = VIEW.format(name=name, load_mask=load_mask, store_mask=store_mask, other=other)
        out = poisoned((rows_n, cols_n), dt)
        idx = keep = np.zeros(1, np.int32)
        n = 0
        grid = (-(-rows_n // bm), -(-cols_n // bn))

        def reference():
            r, c = np.arange(rows_n), np.arange(cols_n)
            loaded = np.where(masks[load_mask](r, c), x, fill).astype(x.dtype)
            result = np.where(masks[store_mask](r, c), loaded, out)
            return {"OUT": result, "HIST": hist}, {"OUT": 1.0, "HIST": 1.0}
    else:
        n = rng.randint(1, 3 * bm)
        if form == "rows":
            vocab, width = rng.randint(1, 50), rng.randint(1, bn)
            x = x_values((vocab, width))
        else:
            vocab = rng.randint(1, 400)
            x = x_values((vocab,))
        idx = data.integers(0, vocab, n).astype(np.int32)
        keep = (data.random(n) < 0.7).astype(np.int32)
        idx[keep == 0] = np.where(data.random(int((keep == 0).sum())) < 0.5, FAR, -FAR)
        store_mask = ", mask=keep" if rng.random() < 0.5 else ""
        template = ROWS if form == "rows" else FLAT
        source = template.format(name=name, wide=wide, other=other, atomic=atomic,
                                 value=value, store_mask=store_mask)
        out = poisoned((n, bn) if form == "rows" else (rng.randint(1, 64),), dt)
        grid = (-(-n // bm),)

        def reference():
            on = keep != 0
            result, h = out.copy(), hist.copy()
            if form == "rows":
                inside = np.arange(bn) < width
                gathered = np.full((n, bn), fill, x.dtype)
                gathered[np.ix_(on, inside)] = x[idx[on]]
                valid = np.arange(n)[:, None] < n  # rows past n are outside OUT anyway
                written = (on[:, None] & inside[None, :]) if store_mask else valid
                result = np.where(written, gathered, result)
                for r in np.flatnonzero(on):
                    update(h, atomic, idx[r] % hist_len, gathered[r, :width], width)
            else:
                for k in np.flatnonzero(on):  # distinct targets may collide: last wins
                    result[idx[k] % len(out)] = x[idx[k]]
                    update(h, atomic, idx[k] % hist_len, x[idx[k]:idx[k] + 1], 1)
            return {"OUT": result, "HIST": h}, {"OUT": 1.0, "HIST": 1.0}
        if form == "flat":
            # Two active elements that scatter to one element of OUT write one of
            # their values (which is not defined): keep the targets distinct.
            targets = idx[keep != 0] % len(out)
            _, first = np.unique(targets, return_index=True)
            drop = np.setdiff1d(np.arange(len(targets)), first)
            keep[np.flatnonzero(keep != 0)[drop]] = 0
            idx[keep == 0] = FAR
    arrays = {"X": x, "IDX": idx, "KEEP": keep, "OUT": out, "HIST": hist}
    # At most 32 elements of a BM x BN tile a thread: its values, offsets and mask fit.
    warps = rng.choice([w for w in (1, 2, 4, 8) if bm * bn <= 1024 * w])
    exact = (0.0, 0.0)
    return Case(index, "indexed", name, source, grid,
                ["X", "IDX", "KEEP", "OUT", "HIST", "n"], arrays, {"n": n}, ["OUT", "HIST"],
                {"BM": bm, "BN": bn}, warps, {"OUT": exact, "HIST": exact},
                reference)


def update(h: np.ndarray, atomic: str, bin_: int, values: np.ndarray, count: int) -> None:
    """One histogram element's atomic, for each of `count` values (a row's columns)."""
    if atomic == "atomic_add":
        h[bin_] += count
    elif atomic == "atomic_max":
        h[bin_] = max(h[bin_], values.max())
    else:
        h[bin_] = min(h[bin_], values.min())
