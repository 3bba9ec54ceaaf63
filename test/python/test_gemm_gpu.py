"""GEMM through TMA, mbarriers and WGMMA on the GPU, against torch."""
import os
import subprocess
import sys

import pytest

import tile

pytestmark = pytest.mark.gpu
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm, gemm_nt  # noqa: E402


def relative_error(out, ref):
    return float((out.float() - ref).norm() / ref.norm())


@pytest.mark.parametrize("M,N,K", [(128, 128, 64), (256, 384, 512), (1024, 512, 768),
                                   (1000, 1528, 776), (8, 136, 200),
                                   (300, 200, 1001)])  # a by registers, b and c by TMA
def test_gemm_nn_matches_torch(M, N, K):
    import torch
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    gemm[(tile.cdiv(M, 128), tile.cdiv(N, 128))](a, b, c, BM=128, BN=128, BK=64)
    torch.cuda.synchronize()
    ref = a.double() @ b.double()
    assert not c.isnan().any()
    assert relative_error(c, ref.float()) < 1e-2


@pytest.mark.parametrize("M,N,K", [(1000, 1535, 777), (129, 65, 33), (300, 201, 1001)])
def test_gemm_ragged_strides_without_tma(M, N, K):
    """Row strides of a, b and c that are not multiples of 16 bytes: TMA cannot copy, so the
    tiles go through registers into swizzled shared memory."""
    import torch
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    gemm[(tile.cdiv(M, 128), tile.cdiv(N, 128))](a, b, c, BM=128, BN=128, BK=64)
    torch.cuda.synchronize()
    assert not c.isnan().any()
    assert relative_error(c, (a.double() @ b.double()).float()) < 1e-2
    assert "cp.async.bulk.tensor" not in gemm.compile(a, b, c, BM=128, BN=128, BK=64).ptx


@pytest.mark.parametrize("BN,num_warps", [(128, 8), (256, 8)])
def test_gemm_two_warpgroups(BN, num_warps):
    import torch
    M, N, K = 1024, 1024, 1024
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    gemm[(tile.cdiv(M, 128), tile.cdiv(N, BN))](a, b, c, BM=128, BN=BN, BK=64,
                                                num_warps=num_warps)
    torch.cuda.synchronize()
    assert relative_error(c, (a.double() @ b.double()).float()) < 1e-2


@pytest.mark.parametrize("M,N,K", [(128, 128, 64), (1024, 512, 768), (1000, 1528, 776)])
def test_gemm_nt_matches_torch(M, N, K):
    import torch
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(N, K, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    gemm_nt[(tile.cdiv(M, 128), tile.cdiv(N, 128))](a, w, c, BM=128, BN=128, BK=64)
    torch.cuda.synchronize()
    ref = a.double() @ w.double().T
    assert not c.isnan().any()
    assert relative_error(c, ref.float()) < 1e-2


def test_sass_has_hgmma(tmp_path):
    kernel = gemm.compile("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16", BM=128, BN=128, BK=64)
    cubin = tmp_path / "gemm.cubin"
    cubin.write_bytes(kernel.cubin)
    sass = subprocess.run(["cuobjdump", "--dump-sass", str(cubin)], capture_output=True,
                          text=True, check=True).stdout
    assert "HGMMA" in sass and "UTMALDG" in sass


@pytest.mark.parametrize("M,N,K", [(1024, 768, 512), (1000, 1528, 776)])
def test_gemm_grouped_order(M, N, K):
    import torch
    from gemm import gemm_grouped
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    grid = (tile.cdiv(M, 128) * tile.cdiv(N, 256),)
    gemm_grouped[grid](a, b, c, BM=128, BN=256, BK=64, GROUP=8, num_warps=8, num_stages=4)
    torch.cuda.synchronize()
    assert not c.isnan().any()
    assert relative_error(c, (a.double() @ b.double()).float()) < 1e-2


@pytest.mark.parametrize("M,N,K", [(4096, 4096, 4096), (1000, 1528, 776)])
def test_gemm_grouped_tma_store_epilogue(M, N, K):
    """The benchmark configuration, whose epilogue is a TMA store (C's row
    stride is a multiple of 16 bytes; 1000 x 1528 is ragged in both
    dimensions, so TMA clips the last boxes). C is a view into a NaN-poisoned
    buffer: nothing outside it may be written."""
    import torch
    from gemm import gemm_grouped
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    # row stride a multiple of 16 elements (TMA), 16 to 31 poisoned columns
    big = torch.full((M + 24, N + 16 + (-N % 16)), float("nan"), device="cuda",
                     dtype=torch.bfloat16)
    c = big[:M, :N]
    blocks = dict(BM=128, BN=256, BK=64, GROUP=8, num_warps=8, num_stages=4)
    ptx = gemm_grouped.compile(a, b, c, **blocks).ptx
    assert ptx.count("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group") == 4
    assert "st.global" not in ptx
    gemm_grouped[(tile.cdiv(M, 128) * tile.cdiv(N, 256),)](a, b, c, **blocks)
    torch.cuda.synchronize()
    assert not c.isnan().any()
    assert relative_error(c, (a.double() @ b.double()).float()) < 1e-2
    assert bool(big[M:, :].isnan().all()) and bool(big[:, N:].isnan().all())
