"""TMA stores (tile-tma-store): 2-D tile copies whose store goes through a
swizzled shared tile and cp.async.bulk.tensor, one per swizzle the shared
tile can get (128B, 64B, 32B, none), and a store in a loop (the tile is
reused, so each iteration waits for the last one's TMA store to read it).
On the CPU: the PTX and ptxas; on the GPU (marked `gpu`): exact copies into
the middle of a poisoned buffer, whose outside TMA must not write."""
import pytest

import tile
from tile.compiler import find_ptxas

TMA_STORE = "cp.async.bulk.tensor.2d.global.shared::cta.bulk_group"


@tile.jit
def copy2d(X, Y, BM: tile.constexpr, BN: tile.constexpr):
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    tile.store(Y, (i, j), tile.load(X, (i, j), (BM, BN)))


@tile.jit
def copy_rows(X, Y, BM: tile.constexpr, BN: tile.constexpr):
    """One program a column of tiles, walking down the rows."""
    j = tile.program_id(0) * BN
    for i in range(0, X.shape[0], BM):
        tile.store(Y, (i, j), tile.load(X, (i, j), (BM, BN)))


# (dtype, BM, BN, TMA stores a tile, swizzle of the store's descriptor)
CASES = [("bf16", 128, 256, 4, 128), ("bf16", 64, 64, 1, 128), ("bf16", 64, 32, 1, 64),
         ("bf16", 64, 16, 1, 32), ("bf16", 64, 8, 1, 0), ("f32", 64, 32, 1, 128),
         ("f16", 32, 128, 2, 128)]


@pytest.mark.parametrize("dtype,BM,BN,boxes,swizzle", CASES)
def test_copy_compiles_to_tma_stores(dtype, BM, BN, boxes, swizzle):
    arg = f"*{dtype}[2]:16"
    kernel = copy2d.compile(arg, arg, BM=BM, BN=BN)
    assert kernel.ptx.count(TMA_STORE) == boxes
    assert "st.global" not in kernel.ptx
    assert [(t["arg"], t["swizzle"]) for t in kernel.metadata["tma"]] == [("Y", swizzle)]
    if find_ptxas() is not None:
        assert kernel.metadata["spill_stores"] == 0


def test_store_in_a_loop_waits_before_reuse():
    ptx = copy_rows.compile("*bf16[2]:16", "*bf16[2]:16", BM=64, BN=64).ptx
    # in the loop: wait (tile free again), store; after it: the final wait
    assert ptx.count("cp.async.bulk.wait_group.read 0;") == 2
    assert ptx.index("cp.async.bulk.wait_group.read 0;") < ptx.index(TMA_STORE)


def test_unaligned_destination_stays_plain():
    kernel = copy2d.compile("*bf16[2]:16", "*bf16[2]", BM=64, BN=64)
    assert TMA_STORE not in kernel.ptx and "st.global" in kernel.ptx


TORCH_DTYPES = {"bf16": "bfloat16", "f32": "float32", "f16": "float16"}


def poisoned_view(torch, shape, dtype):
    """A view of `shape` inside a larger buffer full of NaN, and the buffer.
    Its row stride is a multiple of 16 elements (what the specialization
    checks, so that TMA can store to it) and at least 16 more than a row."""
    M, N = shape
    big = torch.full((M + 8, N + 16 + (-N % 16)), float("nan"), device="cuda", dtype=dtype)
    return big[:M, :N], big


def check_copy(torch, x, y, big):
    M, N = x.shape
    assert torch.equal(y, x)
    assert bool(big[M:, :].isnan().all()) and bool(big[:, N:].isnan().all())


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,BM,BN,boxes,swizzle", CASES)
@pytest.mark.parametrize("M,N", [(256, 512), (300, 200), (1000, 1528)])
def test_copy_on_gpu(dtype, BM, BN, boxes, swizzle, M, N):
    import torch
    torch_dtype = getattr(torch, TORCH_DTYPES[dtype])
    x = torch.randn(M, N, device="cuda").to(torch_dtype)
    y, big = poisoned_view(torch, (M, N), torch_dtype)
    assert TMA_STORE in copy2d.compile(x, y, BM=BM, BN=BN).ptx
    copy2d[(tile.cdiv(M, BM), tile.cdiv(N, BN))](x, y, BM=BM, BN=BN)
    torch.cuda.synchronize()
    check_copy(torch, x, y, big)


@pytest.mark.gpu
@pytest.mark.parametrize("M,N", [(512, 256), (1000, 200)])
def test_copy_in_a_loop_on_gpu(M, N):
    import torch
    x = torch.randn(M, N, device="cuda").to(torch.bfloat16)
    y, big = poisoned_view(torch, (M, N), torch.bfloat16)
    assert TMA_STORE in copy_rows.compile(x, y, BM=64, BN=64).ptx
    copy_rows[(tile.cdiv(N, 64),)](x, y, BM=64, BN=64)
    torch.cuda.synchronize()
    check_copy(torch, x, y, big)
