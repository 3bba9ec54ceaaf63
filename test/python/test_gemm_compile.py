"""The Hopper path on the CPU: a @tile.jit GEMM to PTX with TMA, mbarriers and
WGMMA, accepted by ptxas for sm_90a with no spills and no injected waits; its
epilogue a TMA store where C's strides allow it, a plain store where not."""
import os
import sys

import ml_dtypes
import numpy as np
import pytest

import tile
from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import (CLUSTER_CONFIGS, CONFIGS, PERSISTENT_CONFIGS, gemm, gemm_grouped,  # noqa: E402
                  gemm_persistent, gemm_persistent_cluster)

from tile.runtime.tensormap import TensorMapError, TensorMapSpec, tiled_encoding  # noqa: E402

ARGS = ("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16")
TMA_STORE = "cp.async.bulk.tensor.2d.global.shared::cta.bulk_group"
# examples/gemm.py's fastest configuration (the benchmark's)
GROUPED = dict(BM=128, BN=256, BK=64, GROUP=8, num_warps=8, num_stages=4)


def test_ptx_has_the_hopper_instructions():
    kernel = gemm.compile(*ARGS, BM=128, BN=128, BK=64)
    ptx = kernel.ptx
    assert "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16" in ptx
    assert "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes" in ptx
    assert "mbarrier.try_wait.parity" in ptx
    assert ptx.count(".param .align 64 .b8") == 3  # A's, B's and C's tensor maps, by value


def test_tma_metadata_names_the_arrays():
    meta = gemm.compile(*ARGS, BM=128, BN=128, BK=64).metadata
    assert [(t["arg"], t["box"], t["swizzle"]) for t in meta["tma"]] == \
        [("A", [128, 64], 128), ("B", [64, 64], 128), ("C", [128, 64], 128)]
    # 3 stages of A (16 KiB) and B (16 KiB) tiles, 1024-aligned, then 3 barriers
    assert meta["shared_bytes"] >= 3 * 32768 + 24


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
def test_ptxas_no_spills_no_injected_waits():
    meta = gemm.compile(*ARGS, BM=128, BN=128, BK=64).metadata
    assert meta["spill_stores"] == 0 and meta["spill_loads"] == 0
    assert "C7519" not in meta["ptxas_log"] and "C7517" not in meta["ptxas_log"]
    assert "injected" not in meta["ptxas_log"]


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("kernel, configs", [
    (gemm_grouped, CONFIGS), (gemm_persistent, PERSISTENT_CONFIGS),
    (gemm_persistent_cluster, CLUSTER_CONFIGS)])
def test_autotune_configs_keep_wgmma_pipelined(kernel, configs):
    """No configuration the autotuners try makes ptxas serialize wgmmas
    (C7513/C7515: non-wgmma writes to registers of in-flight wgmmas; the
    one-warpgroup 128x128 and the 256x128 grouped kernels once had C7515 from
    the accumulator's zeros on the edge that skips the k loop)."""
    for config in configs:
        log = kernel.compile(*ARGS, **config.launch_kwargs()).metadata["ptxas_log"]
        assert "C751" not in log, (config, log)


def test_num_stages_sizes_the_pipeline():
    three = gemm.compile(*ARGS, BM=128, BN=128, BK=64).metadata
    four = gemm.compile(*ARGS, BM=128, BN=128, BK=64, num_stages=4).metadata
    assert four["shared_bytes"] - three["shared_bytes"] == 32768  # one more A and B stage
    one = gemm.compile(*ARGS, BM=128, BN=128, BK=64, num_stages=1).metadata  # nothing ahead
    assert one["shared_bytes"] < three["shared_bytes"]
    with pytest.raises(ValueError, match=r"num_stages must be 1\.\.8"):
        gemm.compile(*ARGS, BM=128, BN=128, BK=64, num_stages=9)


def test_grouped_gemm_epilogue_is_a_tma_store():
    """The epilogue writes C through a swizzled shared tile and four 128x64
    TMA stores; the tile reuses the main loop's stage buffers (4 x 48 KiB),
    so shared memory stays 192 KiB + barriers (not 256 KiB, over 227)."""
    kernel = gemm_grouped.compile(*ARGS, **GROUPED)
    ptx = kernel.ptx
    assert ptx.count(TMA_STORE) == 4
    assert ptx.count("cp.async.bulk.commit_group;") == 1
    assert ptx.count("cp.async.bulk.wait_group.read 0;") == 1
    assert "st.global" not in ptx
    # every thread fences its shared writes for TMA, then all meet, then TMA
    before = ptx[:ptx.index(TMA_STORE)]
    assert "bar.sync" in before[before.rindex("fence.proxy.async.shared::cta;"):]
    meta = kernel.metadata
    assert [(t["arg"], t["box"], t["swizzle"]) for t in meta["tma"]] == \
        [("A", [128, 64], 128), ("B", [64, 64], 128), ("C", [128, 64], 128)]
    assert meta["shared_bytes"] == 4 * (128 * 64 + 64 * 256) * 2 + 4 * 8
    assert meta["shared_bytes"] <= 227 * 1024


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
def test_grouped_gemm_tma_store_ptxas_no_spills():
    meta = gemm_grouped.compile(*ARGS, **GROUPED).metadata
    assert "Compiling entry function 'gemm_grouped' for 'sm_90a'" in meta["ptxas_log"]
    assert meta["spill_stores"] == 0 and meta["spill_loads"] == 0
    assert meta["stack_frame"] == 0


@pytest.mark.parametrize("c_type", ["*bf16[2]", "*bf16[2]:16"])
def test_ragged_strides_keep_the_plain_store(c_type):
    """Strides TMA cannot take (not known multiples of 16 bytes): C is written
    with st.global. With A and B ragged too the main loop is not TMA either."""
    ragged = ("*bf16[2]", "*bf16[2]", c_type)
    kernel = gemm_grouped.compile(*ragged, **GROUPED)
    if c_type.endswith(":16"):
        assert kernel.ptx.count(TMA_STORE) == 4  # only C qualifies
        assert [t["arg"] for t in kernel.metadata["tma"]] == ["C"]
    else:
        assert "cp.async.bulk.tensor" not in kernel.ptx and "st.global" in kernel.ptx
        assert kernel.metadata["tma"] == []
    if find_ptxas() is not None:
        assert kernel.metadata["spill_stores"] == 0


def test_aligned_operands_with_a_ragged_c():
    kernel = gemm_grouped.compile("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]", **GROUPED)
    assert TMA_STORE not in kernel.ptx and "st.global" in kernel.ptx
    assert [t["arg"] for t in kernel.metadata["tma"]] == ["A", "B"]


def test_store_descriptor_encodes_like_a_load():
    """The runtime encodes C's descriptor as it does A's: a ragged shape with
    16-byte row strides is fine (TMA clips the boxes), a ragged stride is
    refused with an error naming C."""
    entry = next(t for t in gemm_grouped.compile(*ARGS, **GROUPED).metadata["tma"]
                 if t["arg"] == "C")
    spec = TensorMapSpec.from_metadata(entry)
    enc = tiled_encoding(spec, 0x7F0000000000, (1000, 1528), (1528, 1))
    assert enc.global_dim == (1528, 1000) and enc.global_strides == (3056,)
    assert enc.box_dim == (64, 128) and enc.swizzle == "128B"
    with pytest.raises(TensorMapError, match="argument 'C'.*stride of dimension 0"):
        tiled_encoding(spec, 0x7F0000000000, (1000, 1535), (1535, 1))


@tile.jit
def two_products(A, B, C, BM: tile.constexpr, BK: tile.constexpr):
    """(A_i B_k) B_k summed over k: the second mma's operand is loaded after the
    first mma, as attention backward's dQ step loads K."""
    acc = tile.zeros((BM, BK), tile.float32)
    for k in range(0, A.shape[1], BK):
        p = tile.mma(tile.load(A, (0, k), (BM, BK)), tile.load(B, (k, 0), (BK, BK)),
                     tile.zeros((BM, BK), tile.float32))
        acc = tile.mma(p.to(tile.bfloat16), tile.load(B, (k, 0), (BK, BK)), acc)
    tile.store(C, (0, 0), acc.to(C.dtype))


def test_operands_loaded_after_an_earlier_mma_without_tma():
    """Row strides not known to be multiples of 16 bytes: the operands go through
    registers into shared memory, each just before its own mma (once a compile
    error: the second load's store was put before the first mma)."""
    ptx = two_products.compile("*bf16[2]", "*bf16[2]", "*bf16[2]", BM=64, BK=64).ptx
    assert ptx.count("wgmma.mma_async") >= 2 and "cp.async.bulk.tensor" not in ptx
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((64, 128)).astype(ml_dtypes.bfloat16) for _ in range(2))
    b = b.reshape(128, 64)
    c = np.zeros((64, 64), ml_dtypes.bfloat16)
    two_products[(1,)].interpret(a, b, c, BM=64, BK=64)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = sum((a64[:, k:k + 64] @ b64[k:k + 64]).astype(ml_dtypes.bfloat16).astype(np.float64)
               @ b64[k:k + 64] for k in (0, 64))
    assert np.allclose(c.astype(np.float64), want, rtol=2e-2, atol=2e-1)


@pytest.mark.parametrize("row", [4104, 4100])
def test_rows_of_16_bytes_take_tma(row):
    """TMA's stride rule is 16 bytes, not 16 elements: f16 rows of 4104 elements
    (8208 bytes) load and store through TMA; rows of 4100 (8200 bytes) cannot."""
    from runtime_fakes import FakeCudaArray
    arrays = [FakeCudaArray((256, 4096), "<f2", pointer=0x7F0000000000 + i * (1 << 24),
                            strides=(row, 1)) for i in range(3)]
    kernel = gemm_grouped.compile(*arrays, **GROUPED)
    if row % 8 == 0:
        assert [t["arg"] for t in kernel.metadata["tma"]] == ["A", "B", "C"]
        assert kernel.ptx.count(TMA_STORE) == 4
    else:
        assert kernel.metadata["tma"] == [] and "cp.async.bulk.tensor" not in kernel.ptx


@pytest.mark.parametrize("BM", [16, 32])
def test_rows_below_wgmma_are_a_clear_error_at_the_mma(BM):
    """WGMMA's M is 64 rows a warpgroup: a 16- or 32-row GEMM is an error at the
    mma's line (it aborted the process once; then it named the K loop's line)."""
    import inspect

    import gemm as example
    with pytest.raises(tile.CompilationError) as info:
        gemm.compile("*bf16[2]:16", "*bf16[2]:16", "*f32[2]:16", BM=BM, BN=128, BK=64)
    message = str(info.value)
    assert f"needs a multiple of 64 rows (64 per warpgroup, num_warps=4) and of 8 columns, " \
           f"got {BM}x128" in message
    lines = inspect.getsource(example).splitlines()
    mma_line = 1 + next(i for i, line in enumerate(lines) if "acc = tile.mma(a, b, acc)" in line)
    assert f"gemm.py:{mma_line}:" in message
