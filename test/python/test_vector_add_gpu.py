"""Vector add on the GPU, compared bitwise with torch."""
import pytest

import tile

pytestmark = pytest.mark.gpu


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


def run_add(x, y, n, block, num_warps=4):
    import torch
    out = torch.full_like(x, float("nan"))  # poison: every element must be written
    grid = ((n + block - 1) // block,)
    add[grid](x, y, out, n, BLOCK=block, num_warps=num_warps)
    torch.cuda.synchronize()
    return out


@pytest.mark.parametrize("n", [1, 1000, 4096, 4097, 1 << 20, (1 << 20) + 3])
@pytest.mark.parametrize("block", [64, 1024, 4096])
def test_matches_torch_bitwise(n, block):
    import torch
    x = torch.randn(n, device="cuda")
    y = torch.randn(n, device="cuda")
    assert torch.equal(run_add(x, y, n, block), x + y)


@pytest.mark.parametrize("num_warps", [1, 2, 8])
def test_num_warps(num_warps):
    import torch
    n = 100_003
    x = torch.randn(n, device="cuda")
    y = torch.randn(n, device="cuda")
    assert torch.equal(run_add(x, y, n, 1024, num_warps), x + y)


def test_bound_stops_writes():
    import torch
    x = torch.randn(5000, device="cuda")
    y = torch.randn(5000, device="cuda")
    out = torch.full_like(x, -7.0)
    add[(5,)](x, y, out, 3000, BLOCK=1024)
    torch.cuda.synchronize()
    assert torch.equal(out[:3000], (x + y)[:3000])
    assert bool((out[3000:] == -7.0).all())


def test_unaligned_views_use_narrow_accesses():
    import torch
    base = torch.randn(10_001, device="cuda")
    x, y = base[1:5001], base[5001:]  # 4-byte aligned only
    out = torch.empty(5000, device="cuda")
    add[(5,)](x, y, out, 5000, BLOCK=1024)
    torch.cuda.synchronize()
    assert torch.equal(out, x + y)
    kernel = add.compile(x, y, out, 5000, BLOCK=1024)
    assert "ld.global.v4" not in kernel.ptx


def test_half_and_bfloat16():
    import torch
    for dtype in (torch.float16, torch.bfloat16):
        x = torch.randn(3333, device="cuda", dtype=dtype)
        y = torch.randn(3333, device="cuda", dtype=dtype)
        assert torch.equal(run_add(x, y, 3333, 1024), x + y)


def test_cupy_arrays():
    cupy = pytest.importorskip("cupy")
    x = cupy.random.randn(7777).astype(cupy.float32)
    y = cupy.random.randn(7777).astype(cupy.float32)
    out = cupy.empty_like(x)
    add[(8,)](x, y, out, 7777, BLOCK=1024)
    cupy.cuda.get_current_stream().synchronize()
    assert bool((out == x + y).all())
