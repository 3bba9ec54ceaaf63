"""`tile.mma` in a K loop whose operands are computed from their loads (scaled,
transposed with `.T`): tile-pipeline stages every load, reads each stage back
into registers, and copies ahead after the mma. With every operand computed
there was no mma reading a stage to place those copies after, and compiling
crashed the process. Interpreter against numpy, PTX on the CPU, GPU against torch."""
import numpy as np
import pytest

import tile

CASES = ("scaled", "transposed")


@tile.jit
def scaled_gemm(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr,
                CASE: tile.constexpr):
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, B.shape[0], BK):
        if CASE == "scaled":
            a = tile.load(A, (0, k), (BM, BK)) * 2.0
            b = tile.load(B, (k, 0), (BK, BN)) * 2.0
        else:  # A is read as (K, M) and transposed, B scaled
            a = tile.load(A, (k, 0), (BK, BM)).T
            b = tile.load(B, (k, 0), (BK, BN)) * 2.0
        acc = tile.mma(a, b, acc)
    tile.store(C, (0, 0), acc)


def reference(a, b, case):
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    return (2 * a32) @ (2 * b32) if case == "scaled" else a32.T @ (2 * b32)


def operands(rng, case, K=256, M=64, N=64):
    import ml_dtypes
    shape_a = (M, K) if case == "scaled" else (K, M)
    a = rng.integers(-3, 4, shape_a).astype(ml_dtypes.bfloat16)  # exact in bf16 and f32
    b = rng.integers(-3, 4, (K, N)).astype(ml_dtypes.bfloat16)
    return a, b


@pytest.mark.parametrize("case", CASES)
def test_interpreter_and_ptx(case):
    a, b = operands(np.random.default_rng(0), case)
    c = np.zeros((64, 64), np.float32)
    scaled_gemm[(1,)].interpret(a, b, c, BM=64, BN=64, BK=64, CASE=case)
    np.testing.assert_array_equal(c, reference(a, b, case))
    for stages in (1, 3):
        compiled = scaled_gemm.compile("*bf16[2]:16", "*bf16[2]:16", "*f32[2]:16", BM=64,
                                       BN=64, BK=64, CASE=case, num_stages=stages)
        assert "wgmma.mma_async" in compiled.ptx


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES)
def test_gpu_matches_torch(case):
    import torch
    a, b = operands(np.random.default_rng(1), case)
    ta = torch.tensor(a.astype(np.float32)).to(torch.bfloat16).cuda()
    tb = torch.tensor(b.astype(np.float32)).to(torch.bfloat16).cuda()
    c = torch.zeros(64, 64, device="cuda")
    scaled_gemm[(1,)](ta, tb, c, BM=64, BN=64, BK=64, CASE=case)
    np.testing.assert_array_equal(c.cpu().numpy(), reference(a, b, case))
