"""The C launch path on the GPU: kernels launched through the fast path (counted by the
extension, not assumed), checked against torch."""
import os
import sys

import pytest

import tile
from tile.runtime import native

pytestmark = pytest.mark.gpu
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm  # noqa: E402


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


@pytest.fixture(autouse=True)
def extension():
    if native.module is None:
        if os.environ.get("TILE_NATIVE_LAUNCH", "").strip().lower() in native._OFF:
            pytest.skip("the C launch path is turned off (TILE_NATIVE_LAUNCH)")
        pytest.fail(f"the C launch path is missing: {native.reason}")
    return native.module


def fast_launches():
    return native.module.stats()["fast"]


def test_vector_add_through_the_fast_path():
    import torch
    x = torch.randn(5000, device="cuda")
    y = torch.randn(5000, device="cuda")
    add[(5,)](x, y, torch.empty_like(x), 5000, BLOCK=1024)  # compiles, files the plan
    for n in (5000, 4999, 1):  # same specialization: n % 16 != 0
        out = torch.full_like(x, float("nan"))
        before = fast_launches()
        add[(tile.cdiv(n, 1024),)](x, y, out, n, BLOCK=1024)
        torch.cuda.synchronize()
        assert fast_launches() == before + 1
        assert torch.equal(out[:n], (x + y)[:n]) and bool(out[n:].isnan().all())


def test_fast_path_uses_the_current_torch_stream():
    import torch
    n = 1 << 16
    x, y = torch.randn(n, device="cuda"), torch.randn(n, device="cuda")
    out = torch.empty_like(x)
    add[(64,)](x, y, out, n, BLOCK=1024)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    before = fast_launches()
    with torch.cuda.stream(s):
        torch.cuda._sleep(50_000_000)  # the launch must queue behind this on `s`
        x.add_(1)
        add[(64,)](x, y, out, n, BLOCK=1024)
    torch.cuda.synchronize()
    assert fast_launches() == before + 1
    assert torch.equal(out, x + y)


def test_tma_gemm_through_the_fast_path():
    """The second launch on the same arrays finds their TMA descriptors cached."""
    import torch
    a = torch.randn(256, 512, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(512, 384, device="cuda", dtype=torch.bfloat16)
    c = torch.full((256, 384), float("nan"), device="cuda", dtype=torch.bfloat16)
    grid = (2, 3)
    gemm[grid](a, b, c, BM=128, BN=128, BK=64)
    assert "cp.async.bulk.tensor" in gemm.compile(a, b, c, BM=128, BN=128, BK=64).ptx
    c.fill_(float("nan"))
    before = fast_launches()
    gemm[grid](a, b, c, BM=128, BN=128, BK=64)
    torch.cuda.synchronize()
    assert fast_launches() == before + 1
    ref = (a.double() @ b.double()).float()
    assert float((c.float() - ref).norm() / ref.norm()) < 1e-2
