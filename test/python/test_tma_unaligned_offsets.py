"""TMA boxes whose innermost start is not a multiple of 16 bytes. On the H100
(2026-12-07) a TMA copy of a box starting 6 or 8 bytes past a multiple of 16 (bf16
columns 3 and 4, fp8 columns 3 and 8) stopped the kernel with an illegal
instruction, while boxes at 16-byte columns ran right. So TMA copies only boxes
whose innermost offset is known to be a multiple of 16 bytes (Analysis/TMA.h): a
runtime column the launch cannot vouch for (not a multiple of 16, so the
specialization says nothing) sends the tiles through registers instead, and
tile.multiple_of can promise it. Each GPU case runs in its own process, so a fault
there fails that case alone."""
import os
import subprocess
import sys

import pytest

import tile

HERE = os.path.dirname(__file__)


@tile.jit
def shifted_gemm(A, B, C, col, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr,
                 PROMISE: tile.constexpr = 1):
    """C = A[:, col : col + 2 BK] @ B[:2 BK, :] in two K steps; PROMISE > 1 says
    col is a multiple of it."""
    if PROMISE > 1:
        col = tile.multiple_of(col, PROMISE)
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, 2 * BK, BK):
        a = tile.load(A, (0, col + k), (BM, BK))
        b = tile.load(B, (0, k), (BN, BK))
        acc = tile.mma(a, b, acc, transpose_b=True)
    tile.store(C, (0, 0), acc.to(C.dtype))


TMA_LOAD = "cp.async.bulk.tensor.2d.shared::cluster.global"


def compiled(dtype: str, col: str, promise: int = 1):
    return shifted_gemm.compile(f"*{dtype}[2]:16", f"*{dtype}[2]:16", "*f32[2]:16", col,
                                BM=64, BN=64, BK=128 if dtype.startswith("f8") else 64,
                                PROMISE=promise)


@pytest.mark.parametrize("dtype", ["bf16", "f8E4M3FN"])
def test_tma_only_at_known_16_byte_columns(dtype):
    assert TMA_LOAD not in compiled(dtype, "i32").ptx          # col: nothing known
    assert TMA_LOAD in compiled(dtype, "i32:16").ptx           # the launch's multiple of 16
    promise = 8 if dtype == "bf16" else 16                     # 16 bytes either way
    assert TMA_LOAD in compiled(dtype, "i32", promise).ptx
    assert TMA_LOAD not in compiled(dtype, "i32", promise // 2).ptx


# (dtype, start column): bf16 4 and fp8 8 start 8 bytes past a multiple of 16, bf16 3
# and fp8 3 at odd bytes, bf16 16 and fp8 16 on a multiple of 16 (TMA).
CASES = [("bf16", 16), ("bf16", 4), ("bf16", 3), ("f8E4M3FN", 16), ("f8E4M3FN", 8), ("f8E4M3FN", 3)]

RUN = """
import sys, torch, tile
sys.path.insert(0, sys.argv[1])
from test_tma_unaligned_offsets import shifted_gemm, TMA_LOAD
dtype, col = sys.argv[2], int(sys.argv[3])
fp8 = dtype.startswith("f8")
BK = 128 if fp8 else 64
torch_dtype = torch.float8_e4m3fn if fp8 else torch.bfloat16
a_bytes = 1 if fp8 else 2
width = -(-(col + 2 * BK) * a_bytes // 16) * 16 // a_bytes  # rows a multiple of 16 bytes
a = torch.randn(64, width, device="cuda").to(torch_dtype)
b = torch.randn(64, 2 * BK, device="cuda").to(torch_dtype)
c = torch.full((64, 64), float("nan"), device="cuda")
by_tma = TMA_LOAD in shifted_gemm.compile(a, b, c, col, BM=64, BN=64, BK=BK).ptx
assert by_tma == (col % 16 == 0), (col, by_tma)
shifted_gemm[(1,)](a, b, c, col, BM=64, BN=64, BK=BK)
torch.cuda.synchronize()
want = a[:, col:col + 2 * BK].double() @ b.double().T
error = float((c.double() - want).norm() / want.norm())
print(f"rel err {error:.2e}, TMA loads: {by_tma}")
sys.exit(0 if error < 1e-2 else 1)
"""


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,col", CASES)
def test_gpu_matches_torch(dtype, col):
    proc = subprocess.run([sys.executable, "-c", RUN, HERE, dtype, str(col)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
