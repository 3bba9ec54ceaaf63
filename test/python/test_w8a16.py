"""mma operands computed in registers: examples/w8a16.py (an int8 weight
dequantized in the K loop, B of the mma) and other computed B tiles. The
compiler writes them to shared memory for WGMMA (tile-store-mma-operands); checked
on the interpreter against numpy, as PTX through ptxas, and on the GPU against
torch at LLM shapes."""
import os
import sys

import pytest

import tile
from tile.compiler import find_ptxas
from tile.errors import CompilationError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from w8a16 import CONFIGS, blocks, launch, w8a16  # noqa: E402

SIGNATURE = ("*bf16[2]:16", "*i8[2]:16", "*bf16:16", "*bf16[2]:16")


@tile.jit
def gemm_computed_b(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    """C = A @ relu(B): B's tile (K x N, N-major) is computed in registers."""
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):
        b = tile.maximum(tile.load(B, (k, j), (BK, BN)), 0.0)
        acc = tile.mma(tile.load(A, (i, k), (BM, BK)), b, acc)  # computed b
    tile.store(C, (i, j), acc.to(C.dtype))


def _reference(x, w, scale):
    import numpy as np
    return x.astype(np.float64) @ (w.astype(np.float64) * scale.astype(np.float64)[:, None]).T


@pytest.mark.parametrize("M,N,K", [(1, 64, 64), (16, 130, 192), (100, 72, 136)])
def test_interpreter_matches_numpy(M, N, K):
    import ml_dtypes
    import numpy as np
    rng = np.random.default_rng(M)
    x = rng.standard_normal((M, K)).astype(ml_dtypes.bfloat16)
    w = rng.integers(-128, 128, (N, K), dtype=np.int8)
    scale = (rng.random(N) / 64 + 1e-3).astype(np.float32)  # f32 scales too
    y = np.full((M, N), np.nan, ml_dtypes.bfloat16)
    launch(x, w, scale, y, run="interpret")
    expect = _reference(x, w, scale)
    error = np.linalg.norm(y.astype(np.float64) - expect) / np.linalg.norm(expect)
    assert error < 1e-2, error


@pytest.mark.parametrize("M", [16, 4096])
def test_ptx_stages_w_by_tma_and_stores_the_dequantized_tile_for_wgmma(M):
    """Both configurations: X's and W's tiles come by TMA (two tensor maps); W's
    int8 stage is read back with 16-byte shared loads, converted, and written to
    shared memory through generic stores fenced for the async proxy before the
    wgmma reads it with a descriptor (SS form), left in flight; ptxas takes it
    without spills."""
    config = blocks(M)
    kernel = w8a16.compile(*SIGNATURE, **config)
    ptx = kernel.ptx
    n = config["BN"]
    assert f"wgmma.mma_async.sync.aligned.m64n{n}k16.f32.bf16.bf16" in ptx
    assert [t["arg"] for t in kernel.metadata["tma"]][:2] == ["X", "W"]
    step = ptx[ptx.index("mbarrier.try_wait"):ptx.index("wgmma.mma_async")]  # one k-step
    assert "ld.shared.v4.b32" in step and "ld.global" not in step
    assert "st.shared" in step and "fence.proxy.async.shared::cta;" in step
    assert "wgmma.wait_group.sync.aligned 1;" in ptx  # in flight: two stages of B
    if find_ptxas() is not None:
        assert kernel.cubin is not None
        assert kernel.metadata["spill_stores"] == 0, kernel.metadata["ptxas_log"]


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.kwargs}w{c.num_warps}s{c.num_stages}")
def test_tuned_configurations_keep_wgmma_pipelined(config):
    """No configuration w8a16_tuned times spills or makes ptxas serialize its
    wgmmas (C751x) or inject waits (C7519/C7517)."""
    meta = w8a16.compile(*SIGNATURE, **config.launch_kwargs()).metadata
    assert meta["spill_stores"] == 0 and "C75" not in meta["ptxas_log"], meta["ptxas_log"]


def test_w_rows_tma_cannot_copy_are_loaded_into_registers():
    """W's row stride with no 16-byte divisibility: its tiles are global loads, the
    dequantized tile still goes through shared memory to the wgmma."""
    kernel = w8a16.compile("*bf16[2]:16", "*i8[2]", "*bf16:16", "*bf16[2]:16", **blocks(16))
    assert [t["arg"] for t in kernel.metadata["tma"]][:1] == ["X"]
    assert "ld.global" in kernel.ptx and "wgmma.mma_async" in kernel.ptx
    if find_ptxas() is not None:
        assert kernel.cubin is not None


def test_warp_specialized_compiles():
    """A producer warpgroup copies X; the consumers dequantize W and wait for
    each mma (the stage releases assume it)."""
    kernel = w8a16.compile(*SIGNATURE, BM=128, BN=128, BK=64, num_warps=8,
                           warp_specialize=True)
    assert "setmaxnreg" in kernel.ptx
    assert "wgmma.wait_group.sync.aligned 0;" in kernel.ptx


def test_computed_n_major_b_compiles_and_matches_the_interpreter():
    import ml_dtypes
    import numpy as np
    kernel = gemm_computed_b.compile("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16",
                                     BM=64, BN=64, BK=64)
    assert "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16" in kernel.ptx
    rng = np.random.default_rng(1)
    a = rng.standard_normal((70, 130)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((130, 90)).astype(ml_dtypes.bfloat16)
    c = np.zeros((70, 90), np.float32)
    gemm_computed_b[(2, 2)].interpret(a, b, c, BM=64, BN=64, BK=64)
    ref = a.astype(np.float64) @ np.maximum(b.astype(np.float64), 0)
    assert np.allclose(c, ref, rtol=1e-3, atol=1e-2)


def test_narrow_n_major_b_is_refused_at_the_line():
    """A computed K x N tile 32 columns wide has 64-byte rows: WGMMA's N-major B
    takes 128-byte rows; the error names the mma's line and what to change."""
    with pytest.raises(CompilationError) as info:
        gemm_computed_b.compile("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16",
                                BM=64, BN=32, BK=64)
    err = info.value
    assert err.filename == gemm_computed_b.source.filename
    assert "# computed b" in str(err)
    assert "transpose_b" in err.message, err.message


@pytest.mark.gpu
@pytest.mark.parametrize("M,N,K", [(1, 4096, 4096), (16, 4096, 4096), (64, 8192, 8192),
                                   (100, 4096, 4096), (4096, 4096, 4096),
                                   (4096, 8192, 8192)])
def test_matches_torch(M, N, K):
    import torch
    torch.manual_seed(0)
    x = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    w = torch.randint(-128, 128, (N, K), device="cuda", dtype=torch.int8)
    scale = torch.rand(N, device="cuda", dtype=torch.bfloat16) / 64
    y = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    launch(x, w, scale, y)
    expect = x.float() @ (w.float() * scale.float()[:, None]).T
    torch.cuda.synchronize()
    error = float((y.float() - expect).norm() / expect.norm())
    assert error < 1e-2, error


@pytest.mark.gpu
def test_computed_n_major_b_matches_torch():
    import torch
    a = torch.randn(1000, 520, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(520, 700, device="cuda", dtype=torch.bfloat16)
    c = torch.full((1000, 700), float("nan"), device="cuda", dtype=torch.float32)
    gemm_computed_b[(tile.cdiv(1000, 128), tile.cdiv(700, 128))](a, b, c, BM=128, BN=128,
                                                                   BK=64, num_warps=8)
    torch.cuda.synchronize()
    assert torch.allclose(c, a.float() @ b.float().relu(), rtol=1e-3, atol=1e-2)
