"""Gathers, scatters and atomics whose offsets the axis analysis proves
contiguous and aligned (lib/Analysis/AxisInfo.cpp) become vector accesses and
packed atomics; atomics whose old values no one reads become `red`. Checked on
the PTX of the examples and of small kernels (what vectorizes and what stays
scalar), on the interpreter (results do not depend on it), and on the GPU:
exact results at unaligned bases, odd sizes and masks that change inside a
run of a thread's registers."""
import os
import re
import sys
from collections import Counter

import ml_dtypes
import numpy as np
import pytest

import tile
from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import embedding  # noqa: E402
import histogram  # noqa: E402
import rotary  # noqa: E402
import split_k  # noqa: E402


def global_accesses(ptx):
    """Counts of each global load/store, red, atom and fence instruction."""
    return Counter(m.group(1) for m in re.finditer(
        r"\b((?:ld|st)\.global[.\w]*|red\.[.\w]*|atom\.[.\w]*|fence\.acq_rel[.\w]*)", ptx))


def test_embedding_gathers_whole_rows_16_bytes_at_a_time():
    forward = global_accesses(embedding.embedding_forward.compile(
        "*i32:16", "*f32[2]:16", "*f32[2]:16", **embedding.BLOCKS).ptx)
    # The (32, 128) float32 gather: rows * width + columns, a run of 4 columns a
    # thread, under a mask (columns < width, a multiple of 16) that is the same over it.
    assert forward["ld.global.v4.b32"] == 8
    assert forward["ld.global.b32"] == 1 and not forward["ld.global.f32"]  # b32: the ids


@pytest.mark.parametrize("kernel,args,blocks,red,count", [
    # The scatter-add of (32, 128) rows: runs of 2 columns a thread.
    (embedding.embedding_backward, ("*i64:16", "*f32[2]:16", "*f32[2]:16"), embedding.BLOCKS,
     "red.relaxed.gpu.global.add.v2.f32", 16),
    # Bins are data: one add an element.
    (histogram.histogram, ("*f32:16", "*i32:16", 0.0, 1.0), dict(BLOCK=histogram.BLOCK),
     "red.relaxed.gpu.global.add.u32", 8),
    # The partial tile added into C: runs of 4 columns.
    (split_k.gemm_split_k, ("*bf16[2]:16", "*bf16[2]:16", "*f32[2]:16"), split_k.BLOCKS,
     "red.relaxed.gpu.global.add.v4.f32", 8)],
    ids=["embedding_backward", "histogram", "split_k"])
def test_unused_atomic_results_are_red(kernel, args, blocks, red, count):
    compiled = kernel.compile(*args, **blocks)
    if find_ptxas():  # ptxas took the form (the vector ones need PTX 8.1)
        assert compiled.cubin
    accesses = global_accesses(compiled.ptx)
    assert accesses[red] == count
    assert not [k for k in accesses if k.startswith(("atom.", "red.")) and k != red]


def test_rotary_vectorizes_halves_not_interleaved_pairs():
    args = ("*bf16:16", "*f32:16", "*f32:16", "*i32:16", "i32")
    halves = global_accesses(rotary.rotate.compile(*args, D2=64, BH=32, INTERLEAVED=False).ptx)
    assert halves["st.global.v2.b32"] == 8 and not halves["st.global.b16"]
    # first = row + 2 * cols: each gather alone strides by 2 (not yet paired up).
    pairs = global_accesses(rotary.rotate.compile(*args, D2=64, BH=32, INTERLEAVED=True).ptx)
    assert pairs["st.global.b16"] == 32 and not pairs["st.global.v2.b32"]


@tile.jit
def shifted_copy(X, Y, n, shift, BLOCK: tile.constexpr):
    """Y[i] = X[i + shift] for i < n: a gather and a scatter of one block."""
    i = tile.program_id(0) * BLOCK + tile.arange(BLOCK)
    inside = i < n
    tile.store(Y, i, tile.load(X, i + shift, mask=inside, other=-1.0), mask=inside)


@tile.jit
def masked_by_data(X, Y, M, n, BLOCK: tile.constexpr):
    """Y[i] = X[i] where M[i] != 0 (a mask that changes anywhere), else -1."""
    i = tile.program_id(0) * BLOCK + tile.arange(BLOCK)
    inside = i < n
    keep = (tile.load(M, i, mask=inside) != 0) & inside
    tile.store(Y, i, tile.load(X, i, mask=keep, other=-1.0), mask=inside)


@tile.jit
def add_pairs(X, V, n, BLOCK: tile.constexpr):
    """X[i] += V[i] for i < n, atomically (f16/bf16 pairs as one packed add)."""
    i = tile.program_id(0) * BLOCK + tile.arange(BLOCK)
    inside = i < n
    tile.atomic_add(X, i, tile.load(V, i, mask=inside), mask=inside, sem="relaxed")


@tile.jit
def add_pairs_old(X, V, Old, n, BLOCK: tile.constexpr):
    """As add_pairs, and writes the old values to Old (an atom, not a red)."""
    i = tile.program_id(0) * BLOCK + tile.arange(BLOCK)
    inside = i < n
    old = tile.atomic_add(X, i, tile.load(V, i, mask=inside), mask=inside)
    tile.store(Old, i, old, mask=inside)


@pytest.mark.parametrize("spec,load,store", [
    (("*f32:16", "*f32:16", "i32:16", "i32:16"), True, True),
    (("*f32", "*f32:16", "i32:16", "i32:16"), False, True),  # X of unknown alignment
    (("*f32:16", "*f32:16", "i32", "i32:16"), False, False),  # n: the mask may change in a run
    (("*f32:16", "*f32:16", "i32:16", "i32"), False, True)],  # X[i + shift]: unaligned
    ids=["aligned", "unaligned_base", "odd_size", "unaligned_shift"])
def test_what_vectorizes(spec, load, store):
    accesses = global_accesses(shifted_copy.compile(*spec, BLOCK=512).ptx)
    # 512 elements over 128 threads: a run of 4 a thread, one access or four.
    for kind, vector in (("ld", load), ("st", store)):
        scalar = accesses[f"{kind}.global.b32"] + accesses[f"{kind}.global.f32"]
        assert (accesses[f"{kind}.global.v4.b32"], scalar) == ((1, 0) if vector else (0, 4))


def test_a_mask_from_data_stays_scalar():
    accesses = global_accesses(masked_by_data.compile("*f32:16", "*f32:16", "*i32:16", "i32:16",
                                                      BLOCK=512).ptx)
    # X[i] under M[i]: four scalar loads a thread; M and Y (under i < n) are runs.
    assert accesses["ld.global.v4.b32"] == 1 and accesses["st.global.v4.b32"] == 1
    assert accesses["ld.global.f32"] + accesses["ld.global.b32"] == 4


@pytest.mark.parametrize("dtype", ["bf16", "f16"])
def test_packed_atomic_adds(dtype):
    # 8 elements a thread in runs of 4: a red of 4 (8 bytes) a run...
    red = global_accesses(add_pairs.compile(f"*{dtype}:16", f"*{dtype}:16", "i32:16",
                                            BLOCK=1024).ptx)
    assert red == Counter({"ld.global.v2.b32": 2, f"red.relaxed.gpu.global.add.noftz.v4.{dtype}": 2})
    # ... an atom (old values used) of a packed pair, returning both halves...
    compiled = add_pairs_old.compile(f"*{dtype}:16", f"*{dtype}:16", f"*{dtype}:16", "i32:16",
                                     BLOCK=1024)
    assert compiled.cubin or not find_ptxas()
    atom = global_accesses(compiled.ptx)
    assert atom[f"atom.acq_rel.gpu.global.add.noftz.{dtype}x2"] == 4
    # ... and with an odd n (the mask may change inside a run) one an element.
    scalar = global_accesses(add_pairs.compile(f"*{dtype}:16", f"*{dtype}:16", "i32",
                                               BLOCK=1024).ptx)
    assert scalar[f"red.relaxed.gpu.global.add.noftz.{dtype}"] == 8 and len(scalar) == 2


CASES = [(4096, 0), (1000, 0), (1001, 3), (4096, 1), (37, 5)]


@pytest.mark.parametrize("n,shift", CASES)
def test_interpreter_results(n, shift):
    x = np.arange(n + shift, dtype=np.float32)
    y = np.zeros(n, np.float32)
    shifted_copy[(-(-n // 512),)].interpret(x, y, n, shift, BLOCK=512)
    assert np.array_equal(y, x[shift:shift + n])
    m = (np.arange(n) % 3 == 0).astype(np.int32)
    masked_by_data[(-(-n // 512),)].interpret(x[:n], y, m, n, BLOCK=512)
    assert np.array_equal(y, np.where(m != 0, x[:n], -1.0))
    for dtype in (np.float16, ml_dtypes.bfloat16):
        acc = np.ones(n, dtype)
        v = (np.arange(n) % 7).astype(dtype)
        old = np.zeros(n, dtype)
        add_pairs_old[(-(-n // 1024),)].interpret(acc, v, old, n, BLOCK=1024)
        assert np.array_equal(old, np.ones(n, dtype))
        add_pairs[(-(-n // 1024),)].interpret(acc, v, n, BLOCK=1024)
        assert np.array_equal(acc.astype(np.float32), 1 + 2 * (np.arange(n) % 7))


@pytest.mark.gpu
@pytest.mark.parametrize("n,shift", CASES + [(1 << 20, 0), (1 << 20 | 9, 4)])
@pytest.mark.parametrize("base", [0, 1, 4], ids=["aligned", "base+1", "base+4"])
def test_gpu_exact_results(n, shift, base):
    import torch
    # base: the arrays start 0, 4 or 16 bytes past an aligned address, so the
    # launch's specialization (and with it the access width) changes.
    x = torch.arange(base + n + shift, device="cuda", dtype=torch.float32)[base:]
    y = torch.zeros(base + n, device="cuda")[base:]
    shifted_copy[(-(-n // 512),)](x, y, n, shift, BLOCK=512)
    assert torch.equal(y, x[shift:shift + n])
    m = (torch.arange(n, device="cuda") % 3 == 0).int()
    masked_by_data[(-(-n // 512),)](x[:n], y, m, n, BLOCK=512)
    assert torch.equal(y, torch.where(m != 0, x[:n], -1.0))
    for dtype in (torch.float16, torch.bfloat16):
        acc = torch.ones(base + n, device="cuda", dtype=dtype)[base:]
        v = (torch.arange(n, device="cuda") % 7).to(dtype)
        old = torch.zeros(base + n, device="cuda", dtype=dtype)[base:]
        add_pairs_old[(-(-n // 1024),)](acc, v, old, n, BLOCK=1024)
        assert torch.equal(old, torch.ones_like(old))
        for _ in range(3):  # several programs' adds to one element would race; none here
            add_pairs[(-(-n // 1024),)](acc, v, n, BLOCK=1024)
        assert torch.equal(acc.float(), 1 + 4 * (torch.arange(n, device="cuda") % 7).float())
