"""A launch option a pass cannot honour is not dropped silently: a kernel
that tile-warp-specialize cannot split runs unspecialized, a multicast load
is made by each program, a loop TMA cannot feed gets one shared buffer for
the num_stages asked, each with a warning at the line of the op that failed
it, naming the kernel and the reason; TILE_STRICT=1 (or
CompileOptions(strict=True)) makes it a CompilationError at that line."""
import os
import sys
import warnings

import pytest

import tile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm  # noqa: E402
from moe import grouped_gemm  # noqa: E402

from tile.compiler.driver import CompileOptions, compile_ir  # noqa: E402


@tile.jit
def scale(x, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    tile.store(out, start, tile.load(x, start, BLOCK, bound=n) * 2.0, bound=n)


ARGS = ("*f32:16", "*f32:16", "i32")


def test_warp_specialize_that_cannot_apply_warns():
    with pytest.warns(UserWarning, match="scale: warp_specialize not applied: no loop loads "
                                         "tiles for the producer to copy"):
        scale.compile(*ARGS, BLOCK=1024, warp_specialize=True)


def test_strict_makes_it_an_error(monkeypatch):
    monkeypatch.setenv("TILE_STRICT", "1")
    with pytest.raises(tile.CompilationError, match="warp_specialize not applied"):
        scale.compile(*ARGS, BLOCK=512, warp_specialize=True)


def test_warp_specialize_that_applies_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel = gemm.compile("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16", BM=128, BN=128,
                              BK=64, num_warps=4, warp_specialize=True)
    assert kernel.metadata["block"] == [256, 1, 1]  # the producer warpgroup is there


def line_of(function, marker: str) -> int:
    """The line of `function`'s source file holding `marker`."""
    import inspect
    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, text in enumerate(lines) if marker in text)


@tile.jit
def pair_gemm(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    i = tile.program_id(0) * BM
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):  # <- the k loop
        a = tile.load(A, (i, k), (BM, BK))
        b = tile.load(B, (k, 0), (BK, BN), multicast=True)  # <- shared B
        acc = tile.mma(a, b, acc)
    tile.store(C, (i, 0), acc.to(C.dtype))


MAT = "*bf16[2]:16"
RAGGED = "*bf16[2]"  # no 16-byte alignment known: TMA cannot copy it
MOE = dict(BM=128, BN=128, BK=64, GROUP=8)
MOE_ARGS = (MAT, MAT, MAT, "*i32:16")


def only_warning(record) -> warnings.WarningMessage:
    assert len(record) == 1, [str(w.message) for w in record]
    return record[0]


def test_grouped_gemm_of_experts_read_from_memory_says_why():
    """moe.py's grouped GEMM: the k loop's bound and B's rows depend on the
    tile's expert, read from memory, which the producer cannot recompute."""
    import moe
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        grouped_gemm.compile(*MOE_ARGS, **MOE, warp_specialize=True)
    w = only_warning(record)
    assert str(w.message).startswith("grouped_gemm: warp_specialize not applied: the bounds of "
                                     "a loop of staged loads depend on a value read from memory")
    assert (w.filename, w.lineno) == (moe.__file__, line_of(moe.expert_tile.fn, "for k in range"))


def test_strict_grouped_gemm_is_an_error_at_the_loop(monkeypatch):
    import moe
    monkeypatch.setenv("TILE_STRICT", "1")
    with pytest.raises(tile.CompilationError, match="grouped_gemm: warp_specialize not applied: "
                                                    "the bounds of a loop") as e:
        grouped_gemm.compile(*MOE_ARGS, **{**MOE, "BN": 64}, warp_specialize=True)
    assert (e.value.filename, e.value.lineno) == \
        (moe.__file__, line_of(moe.expert_tile.fn, "for k in range"))
    assert "for k in range" in str(e.value)


def test_multicast_without_warp_specialize_warns_at_the_load():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        pair_gemm.compile(MAT, MAT, MAT, BM=64, BN=64, BK=64, num_ctas=2)
    w = only_warning(record)
    assert str(w.message) == ("pair_gemm: multicast not applied: the kernel is not "
                              "warp-specialized (multicast needs warp_specialize=True)")
    assert (w.filename, w.lineno) == (__file__, line_of(pair_gemm.fn, "# <- shared B"))


def test_multicast_that_applies_or_has_no_cluster_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pair_gemm.compile(MAT, MAT, MAT, BM=64, BN=64, BK=64)  # one program a cluster
        pair_gemm.compile(MAT, MAT, MAT, BM=128, BN=128, BK=64, num_warps=8, num_ctas=2,
                          warp_specialize=True)


def test_strict_argument_makes_multicast_an_error_at_the_load():
    text = pair_gemm.ir(MAT, MAT, MAT, BM=64, BN=64, BK=64, num_ctas=2, locations=True)
    with pytest.raises(tile.CompilationError, match="multicast not applied") as e:
        compile_ir(text, "pair_gemm", CompileOptions(num_ctas=2, strict=True))
    assert (e.value.filename, e.value.lineno) == (__file__, line_of(pair_gemm.fn, "# <- shared B"))


def test_stages_asked_of_a_loop_tma_cannot_feed_warn():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        pair_gemm.compile(RAGGED, RAGGED, MAT, BM=64, BN=64, BK=64, num_stages=4)
    w = only_warning(record)
    assert str(w.message).startswith("pair_gemm: num_stages=4 not applied: TMA cannot copy "
                                     "every load of this loop")
    assert (w.filename, w.lineno) == (__file__, line_of(pair_gemm.fn, "# <- the k loop"))


def test_default_stages_are_not_reported():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pair_gemm.compile(RAGGED, RAGGED, MAT, BM=64, BN=128, BK=64)


def test_strict_stages_is_an_error_at_the_loop(monkeypatch):
    monkeypatch.setenv("TILE_STRICT", "1")
    with pytest.raises(tile.CompilationError, match="num_stages=3 not applied") as e:
        pair_gemm.compile(RAGGED, RAGGED, MAT, BM=64, BN=64, BK=64, num_stages=3)
    assert e.value.lineno == line_of(pair_gemm.fn, "# <- the k loop")


def test_a_kernel_read_from_the_disk_cache_warns_again():
    for _ in range(2):
        pair_gemm._cache.clear()  # the second compile reads the disk cache
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            pair_gemm.compile(MAT, MAT, MAT, BM=128, BN=64, BK=64, num_ctas=2)
        assert "pair_gemm: multicast not applied" in str(only_warning(record).message)
