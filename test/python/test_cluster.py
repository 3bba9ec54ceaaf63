"""Programs in clusters (`num_ctas`) and multicast loads: the frontend's IR, the
launch options, PTX that ptxas takes, and the interpreter's check of the
multicast promise (CPU); the cluster GEMMs against torch (GPU)."""
import os
import sys

import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.errors import InterpreterError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm_cluster, gemm_persistent_cluster  # noqa: E402

MAT = "*bf16[2]:16"


@tile.jit
def shared_b(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    """Pairs of programs on the same columns of C: B's tiles are the same."""
    i = tile.program_id(0) * BM
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):
        a = tile.load(A, (i, k), (BM, BK))
        b = tile.load(B, (k, 0), (BK, BN), multicast=True)
        acc = tile.mma(a, b, acc)
    tile.store(C, (i, 0), acc.to(C.dtype))


@tile.jit
def broken_promise(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    """Each program takes its own columns of B, yet says its B tiles are shared."""
    j = tile.program_id(0) * BN
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):
        a = tile.load(A, (0, k), (BM, BK))
        b = tile.load(B, (k, j), (BK, BN), multicast=True)
        acc = tile.mma(a, b, acc)
    tile.store(C, (0, j), acc.to(C.dtype))


@tile.jit
def half_the_cluster(A, C, BM: tile.constexpr):
    """Only the even program of each pair loads the tile it says is shared."""
    if tile.program_id(0) % 2 == 0:
        tile.store(C, (0, 0), tile.load(A, (0, 0), (BM, BM), multicast=True))


@tile.jit
def multicast_range(x, y, BLOCK: tile.constexpr):
    v = tile.load(x, 0, BLOCK, multicast=True)  # <- 1-D multicast
    tile.store(y, 0, v)


@tile.jit
def multicast_runtime(A, C, flag, BM: tile.constexpr):
    v = tile.load(A, (0, 0), (BM, BM), multicast=flag)  # <- runtime multicast
    tile.store(C, (0, 0), v)


def test_frontend_marks_multicast_loads_and_the_cluster():
    text = shared_b.ir(MAT, MAT, MAT, BM=64, BN=64, BK=64, num_ctas=2)
    assert "tile.num_ctas = 2 : i32" in text
    assert text.count("{multicast}") == 1  # B's load, not A's
    alone = shared_b.ir(MAT, MAT, MAT, BM=64, BN=64, BK=64)
    assert "tile.num_ctas" not in alone and "{multicast}" in alone


def test_multicast_errors_name_the_line():
    expect_error(multicast_range, "# <- 1-D multicast", "multicast loads a tile of an N-D view",
                 "*f32:16", "*f32:16", BLOCK=64)
    expect_error(multicast_runtime, "# <- runtime multicast",
                 "load's multicast must be a constexpr bool", MAT, MAT, "i32", BM=64)


@pytest.mark.parametrize("num_ctas", [0, 3, 8])
def test_num_ctas_is_checked(num_ctas):
    with pytest.raises(ValueError, match="num_ctas must be 1, 2 or 4"):
        shared_b.ir(MAT, MAT, MAT, BM=64, BN=64, BK=64, num_ctas=num_ctas)


def test_num_ctas_of_another_type_is_refused():
    with pytest.raises(TypeError, match="num_ctas must be an int, got '2' \\(str\\)"):
        shared_b.ir(MAT, MAT, MAT, BM=64, BN=64, BK=64, num_ctas="2")


def test_cluster_gemm_ptx():
    """Cluster launch, multicast copies, cross-program releases; ptxas takes it."""
    kernel = gemm_cluster.compile(MAT, MAT, MAT, BM=128, BN=256, BK=64, GROUP=8, num_warps=8,
                                  num_stages=3, warp_specialize=True, num_ctas=2)
    ptx = kernel.ptx
    assert ".reqnctapercluster 2, 1, 1" in ptx
    assert ptx.count("complete_tx::bytes.multicast::cluster") == 4  # B's four boxes
    assert ptx.count("mbarrier.arrive.shared::cluster.b64") == 2    # at both programs
    assert "barrier.cluster.arrive.release;" in ptx
    assert kernel.metadata["num_ctas"] == 2
    if tile.compiler.driver.find_ptxas() is not None:
        assert kernel.cubin and kernel.metadata.get("spill_stores", 0) == 0


def test_autotune_config_carries_num_ctas():
    config = tile.Config(dict(BM=128), num_warps=8, warp_specialize=True, num_ctas=2)
    assert config.launch_kwargs()["num_ctas"] == 2
    assert "num_ctas=2" in repr(config)
    assert config != tile.Config(dict(BM=128), num_warps=8, warp_specialize=True)


@pytest.mark.parametrize("M,N,K", [(640, 512, 320), (384, 256, 128)])
def test_interpreted_cluster_gemm_matches_numpy(M, N, K):
    import ml_dtypes
    rng = np.random.default_rng(0)  # small integers: bf16 holds them and their sums exactly
    a = rng.integers(-3, 4, (M, K)).astype(ml_dtypes.bfloat16)
    b = rng.integers(-3, 4, (K, N)).astype(ml_dtypes.bfloat16)
    c = np.full((M, N), np.nan, ml_dtypes.bfloat16)
    ref = (a.astype(np.float32) @ b.astype(np.float32)).astype(ml_dtypes.bfloat16).astype(np.float32)
    blocks = tile.cdiv(M, 128) * tile.cdiv(N, 128)
    gemm_cluster[(2 * blocks,)].interpret(a, b, c, BM=64, BN=128, BK=64, GROUP=2, num_ctas=2)
    np.testing.assert_array_equal(c.astype(np.float32), ref)
    c[:] = np.nan
    gemm_persistent_cluster[(6,)].interpret(a, b, c, BM=64, BN=128, BK=64, GROUP=2, num_ctas=2)
    np.testing.assert_array_equal(c.astype(np.float32), ref)


def bf16_operands(M, N, K):
    """A and B of ones, C of zeros, bf16 host arrays for the interpreter."""
    import ml_dtypes
    return (np.ones((M, K), ml_dtypes.bfloat16), np.ones((K, N), ml_dtypes.bfloat16),
            np.zeros((M, N), ml_dtypes.bfloat16))


def test_interpreter_checks_the_multicast_promise():
    a, b, c = bf16_operands(64, 256, 128)
    with pytest.raises(InterpreterError, match="load different tiles"):
        broken_promise[(4,)].interpret(a, b, c, BM=64, BN=64, BK=64, num_ctas=2)
    broken_promise[(4,)].interpret(a, b, c, BM=64, BN=64, BK=64)  # no cluster: no promise


def test_interpreter_checks_every_program_of_the_cluster_loads():
    a, _, c = bf16_operands(64, 64, 64)
    with pytest.raises(InterpreterError, match=r"only program\(s\) \[\(0, 0, 0\)\] of a cluster of 2"):
        half_the_cluster[(2,)].interpret(a, c, BM=64, num_ctas=2)


def test_grid_must_hold_whole_clusters():
    a, b, c = bf16_operands(192, 64, 64)
    with pytest.raises(ValueError, match="multiple of 2"):
        shared_b[(3,)].interpret(a, b, c, BM=64, BN=64, BK=64, num_ctas=2)


# -- GPU ---------------------------------------------------------------------------
def gpu_operands(M, N, K):
    """Random bf16 A (M x K) and B (K x N), C poisoned with NaN, on the GPU."""
    import torch
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    return a, b, torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)


def assert_product(a, b, c):
    """C was written everywhere and holds A @ B (relative error under 1e-2)."""
    import torch
    torch.cuda.synchronize()
    ref = (a.double() @ b.double()).float()
    assert not c.isnan().any()
    assert float((c.float() - ref).norm() / ref.norm()) < 1e-2


@pytest.mark.gpu
@pytest.mark.parametrize("M,N,K", [(640, 512, 320), (384, 768, 192), (1000, 1000, 1000),
                                   (2048, 1536, 4096)])
@pytest.mark.parametrize("persistent,stages", [(False, 3), (True, 3), (True, 4)])
def test_cluster_gemm_matches_torch(M, N, K, persistent, stages):
    """4 stages: the persistent kernel's epilogue goes in windows (tile-tma-store)."""
    a, b, c = gpu_operands(M, N, K)
    blocks = tile.cdiv(M, 256) * tile.cdiv(N, 256)
    options = dict(BM=128, BN=256, BK=64, GROUP=8, num_warps=8, num_stages=stages,
                   warp_specialize=True, num_ctas=2)
    if persistent:  # fewer pairs than blocks: each pair walks several
        gemm_persistent_cluster[(min(2 * blocks, 8),)](a, b, c, **options)
    else:
        gemm_cluster[(2 * blocks,)](a, b, c, **options)
    assert_product(a, b, c)


@pytest.mark.gpu
def test_cluster_without_warp_specialization():
    """tile-pipeline's kernel in clusters: the multicast loads load as plain ones
    (each program its whole tile); the cluster barriers still bracket the kernel."""
    M, N, K = 1024, 768, 512
    a, b, c = gpu_operands(M, N, K)
    kernel = gemm_cluster.compile(a, b, c, BM=128, BN=256, BK=64, GROUP=8, num_warps=8,
                                  num_ctas=2)
    assert ".reqnctapercluster 2, 1, 1" in kernel.ptx and "multicast::cluster" not in kernel.ptx
    gemm_cluster[(2 * tile.cdiv(M, 256) * tile.cdiv(N, 256),)](
        a, b, c, BM=128, BN=256, BK=64, GROUP=8, num_warps=8, num_ctas=2)
    assert_product(a, b, c)


@pytest.mark.gpu
def test_cluster_grid_must_hold_whole_clusters_on_the_gpu():
    import torch
    a = torch.randn(256, 64, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(64, 256, device="cuda", dtype=torch.bfloat16)
    c = torch.empty(256, 256, device="cuda", dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="multiple of 2"):
        gemm_cluster[(3,)](a, b, c, BM=128, BN=256, BK=64, GROUP=8, num_warps=8,
                           warp_specialize=True, num_ctas=2)
