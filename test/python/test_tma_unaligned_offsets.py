"""TMA copies whose innermost start is not a multiple of 16 bytes: a tile loaded at
column `col` of a row-major array (the K loop's operand of an mma, so the pipeliner
copies it by TMA). The view itself meets TMA's rules (16-byte aligned base and row
stride, so the launch keeps the TMA specialization); only the start column varies.
tile.ops.attention_fp8 at N = 1000 loads Vᵀ at such columns (8 bytes past a multiple
of 16) and stopped the H100 with an illegal instruction; these cases tell whether the
unaligned start is the cause. Each GPU case runs in its own process, so a fault there
fails that case alone."""
import os
import subprocess
import sys

import pytest

import tile

HERE = os.path.dirname(__file__)


@tile.jit
def shifted_gemm(A, B, C, col, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    """C = A[:, col : col + 2 BK] @ B[:2 BK, :] in two K steps."""
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, 2 * BK, BK):
        a = tile.load(A, (0, col + k), (BM, BK))
        b = tile.load(B, (0, k), (BN, BK))
        acc = tile.mma(a, b, acc, transpose_b=True)
    tile.store(C, (0, 0), acc.to(C.dtype))


# (dtype, start column): bf16 4 and fp8 8 start 8 bytes past a multiple of 16, bf16 3
# and fp8 3 at odd bytes, bf16 8 and fp8 16 on a multiple of 16.
CASES = [("bf16", 8), ("bf16", 4), ("bf16", 3), ("f8E4M3FN", 16), ("f8E4M3FN", 8), ("f8E4M3FN", 3)]


@pytest.mark.parametrize("dtype,col", CASES)
def test_the_operands_go_by_tma(dtype, col):
    """The case exercises TMA: the runtime column does not take the copies off it."""
    kernel = shifted_gemm.compile(f"*{dtype}[2]:16", f"*{dtype}[2]:16", "*f32[2]:16", "i32",
                                  BM=64, BN=64, BK=128 if dtype.startswith("f8") else 64)
    assert "cp.async.bulk.tensor" in kernel.ptx


RUN = """
import sys, torch, tile
sys.path.insert(0, sys.argv[1])
from test_tma_unaligned_offsets import shifted_gemm
dtype, col = sys.argv[2], int(sys.argv[3])
fp8 = dtype.startswith("f8")
BK = 128 if fp8 else 64
torch_dtype = torch.float8_e4m3fn if fp8 else torch.bfloat16
a_bytes = 1 if fp8 else 2
width = -(-(col + 2 * BK) * a_bytes // 16) * 16 // a_bytes  # rows a multiple of 16 bytes
a = torch.randn(64, width, device="cuda").to(torch_dtype)
b = torch.randn(64, 2 * BK, device="cuda").to(torch_dtype)
c = torch.full((64, 64), float("nan"), device="cuda")
assert "cp.async.bulk.tensor" in shifted_gemm.compile(a, b, c, col, BM=64, BN=64, BK=BK).ptx
shifted_gemm[(1,)](a, b, c, col, BM=64, BN=64, BK=BK)
torch.cuda.synchronize()
want = a[:, col:col + 2 * BK].double() @ b.double().T
error = float((c.double() - want).norm() / want.norm())
print(f"rel err {error:.2e}")
sys.exit(0 if error < 1e-2 else 1)
"""


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,col", CASES)
def test_gpu_matches_torch(dtype, col):
    proc = subprocess.run([sys.executable, "-c", RUN, HERE, dtype, str(col)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
