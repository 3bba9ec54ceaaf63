"""The stream-K GEMM (tile.notify / tile.wait between programs) on the GPU,
against torch: plain and warp-specialized, shapes whose tiles are split
between programs and ragged ones, launched three times on the same flags
(each launch leaves them zero for the next)."""
import os
import sys

import pytest

import tile

pytestmark = pytest.mark.gpu
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm_stream_k  # noqa: E402

CONFIGS = [dict(num_stages=3), dict(num_stages=4, warp_specialize=True),
           dict(num_stages=3, warp_specialize=True)]


@pytest.mark.parametrize("config", CONFIGS, ids=["plain s3", "ws s4", "ws s3"])
@pytest.mark.parametrize("M,N,K,programs", [(4096, 4096, 4096, None), (1000, 3000, 520, None),
                                            (512, 512, 512, 3), (1024, 1024, 1024, 5),
                                            (2048, 1024, 8192, None), (128, 256, 64, None)])
def test_stream_k_matches_torch(config, M, N, K, programs):
    import torch
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    ref = a.double() @ b.double()
    programs = min(programs or sms, tile.cdiv(M, 128) * tile.cdiv(N, 256))
    partials = torch.empty(programs * 128, 256, device="cuda", dtype=torch.float32)
    flags = torch.zeros(programs, device="cuda", dtype=torch.int32)
    for _ in range(3):
        c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
        gemm_stream_k[(programs,)](a, b, c, partials, flags, BM=128, BN=256, BK=64, GROUP=8,
                                   num_warps=8, **config)
        torch.cuda.synchronize()
        assert not c.isnan().any()
        assert float((c.double() - ref).norm() / ref.norm()) < 1e-2
        assert int(flags.abs().sum()) == 0
