"""fp16 GEMM and the bias + activation epilogue (examples/gemm_epilogue.py): PTX on
the CPU, the interpreter against numpy, and (on a GPU) the kernels against torch."""
import os
import sys

import numpy as np
import pytest

from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import CONFIGS, gemm, gemm_grouped  # noqa: E402
from gemm_epilogue import ACTIVATIONS, gemm_bias_act, grid, reference_numpy  # noqa: E402

BLOCKS = dict(BM=128, BN=256, BK=64, GROUP=8)  # the benchmark's tiles


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_f16_and_bf16_gemm_compile_to_wgmma(dtype):
    args = (f"*{dtype}[2]:16",) * 3
    for kernel in (gemm.compile(*args, BM=128, BN=128, BK=64),
                   gemm_grouped.compile(*args, **BLOCKS, num_warps=8, num_stages=4)):
        assert f".f32.{dtype}.{dtype}" in kernel.ptx
        assert "cp.async.bulk.tensor.2d" in kernel.ptx
        if find_ptxas():
            assert kernel.metadata["spill_stores"] == 0


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_epilogue_compiles_without_spills(dtype, act):
    kernel = gemm_bias_act.compile(*(f"*{dtype}[2]:16",) * 3, f"*{dtype}:16", **BLOCKS, ACT=act,
                                   num_warps=8, num_stages=4)
    assert f"wgmma.mma_async.sync.aligned.m64n256k16.f32.{dtype}.{dtype}" in kernel.ptx
    if act in ("gelu", "silu"):
        assert "ex2.approx" in kernel.ptx
    if find_ptxas():
        assert kernel.metadata["spill_stores"] == 0


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_every_tuned_configuration_compiles(dtype):
    """What gemm_tuned and gemm_bias_act_tuned choose among: all lower, none spills."""
    for config in CONFIGS:
        for kernel, extra in ((gemm_grouped, ()), (gemm_bias_act, (f"*{dtype}:16",))):
            constexprs = dict(ACT="gelu") if extra else {}
            compiled = kernel.compile(*(f"*{dtype}[2]:16",) * 3, *extra, **constexprs,
                                      **config.launch_kwargs())
            assert "wgmma.mma_async" in compiled.ptx
            if find_ptxas():
                assert compiled.metadata["spill_stores"] == 0, (config, kernel)


def test_persistent_configurations_store_through_tma():
    """gemm_persistent_tuned's configurations: 3 stages leave room for the
    TMA-store epilogue's tile beside them (within 227 KiB), and nothing spills."""
    from gemm import PERSISTENT_CONFIGS, gemm_persistent
    for config in PERSISTENT_CONFIGS:
        compiled = gemm_persistent.compile(*("*bf16[2]:16",) * 3, **config.launch_kwargs())
        assert "cp.async.bulk.tensor.2d.global.shared::cta" in compiled.ptx, config
        assert compiled.metadata["shared_bytes"] <= 227 * 1024, config
        if find_ptxas():
            assert compiled.metadata["spill_stores"] == 0, config


def _interpret(act, dtype, M=192, N=200, K=128, seed=0):
    import ml_dtypes
    np_dtype = {"bf16": ml_dtypes.bfloat16, "f16": np.float16}[dtype]
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((M, K)).astype(np_dtype)
    b = rng.standard_normal((K, N)).astype(np_dtype)
    bias = (4 * rng.standard_normal(N)).astype(np_dtype)  # large enough to matter
    c = np.full((M, N), np.nan, np_dtype)
    blocks = dict(BM=128, BN=128, BK=64, GROUP=2)
    gemm_bias_act[grid(M, N, blocks["BM"], blocks["BN"])].interpret(a, b, c, bias, **blocks,
                                                                   ACT=act)
    return c.astype(np.float64), a, b, bias


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["bf16", "f16"])
def test_epilogue_on_the_interpreter(act, dtype):
    c, a, b, bias = _interpret(act, dtype)
    ref = reference_numpy(a, b, bias, act)
    assert not np.isnan(c).any()
    # One rounding to the output type: 2^-8 (bf16) or 2^-11 (f16) relative, at most.
    tolerance = {"bf16": 4e-3, "f16": 5e-4}[dtype]
    assert np.allclose(c, ref, rtol=tolerance, atol=tolerance)
    for other in ACTIVATIONS:  # the check tells the activations apart
        if other != act:
            assert not np.allclose(c, reference_numpy(a, b, bias, other), rtol=tolerance,
                                   atol=tolerance)


@pytest.mark.gpu
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
@pytest.mark.parametrize("M,N,K", [(1024, 1024, 512), (1000, 1000, 776)])
def test_epilogue_matches_torch(M, N, K, dtype_name, act):
    import torch
    from gemm_epilogue import reference_torch
    dtype = getattr(torch, dtype_name)
    a = torch.randn(M, K, device="cuda", dtype=dtype)
    b = torch.randn(K, N, device="cuda", dtype=dtype)
    bias = 4 * torch.randn(N, device="cuda", dtype=dtype)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=dtype)
    gemm_bias_act[grid(M, N, BLOCKS["BM"], BLOCKS["BN"])](a, b, c, bias, **BLOCKS, ACT=act,
                                                          num_warps=8, num_stages=4)
    torch.cuda.synchronize()
    ref = reference_torch(a.double(), b.double(), bias.double(), act)
    assert not c.isnan().any()
    assert float((c.double() - ref).norm() / ref.norm()) < 5e-3


@pytest.mark.gpu
@pytest.mark.parametrize("M,N,K", [(4096, 4096, 4096), (1000, 1528, 776)])
def test_f16_gemm_matches_torch(M, N, K):
    import torch
    a = torch.randn(M, K, device="cuda", dtype=torch.float16)
    b = torch.randn(K, N, device="cuda", dtype=torch.float16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.float16)
    gemm_grouped[grid(M, N, BLOCKS["BM"], BLOCKS["BN"])](a, b, c, **BLOCKS, num_warps=8,
                                                         num_stages=4)
    torch.cuda.synchronize()
    ref = a.double() @ b.double()
    assert float((c.double() - ref).norm() / ref.norm()) < 2e-3
