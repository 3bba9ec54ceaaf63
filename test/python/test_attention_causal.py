"""examples/attention.py on the CPU: PTX for d64/d128, causal and not; the causal
kernel's two loops (blocks left of the diagonal with no mask, then the masked
diagonal), and the non-causal one's tail loop when seq_len may be ragged;
results on the interpreter against numpy, with BN < BM (two diagonal blocks,
the second fully masked for the first half of the rows) and BN = BM."""
import math
import os
import sys

import numpy as np
import pytest

from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from attention import attention_fwd, reference_numpy  # noqa: E402

ARGS = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32:16", "i32", "f32")
EVEN = dict(EVEN_SEQ=True)  # seq_len a multiple of the blocks, as the benchmark runs it
SHARED_LIMIT = 227 * 1024  # H100, one block, opted in


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D,num_warps", [(64, 4), (128, 8)])
def test_lowers_to_ptx(D, num_warps, causal):
    kernel = attention_fwd.compile(*ARGS, BM=128, BN=64, D=D, CAUSAL=causal,
                                   num_warps=num_warps, num_stages=2, **EVEN)
    assert "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16" in kernel.ptx
    assert kernel.metadata["shared_bytes"] <= SHARED_LIMIT
    if find_ptxas():
        assert kernel.metadata["spill_stores"] == 0


def test_causal_masks_only_the_diagonal_loop():
    text = attention_fwd.ir(*ARGS, BM=128, BN=64, D=64, CAUSAL=True, **EVEN)
    loops = text.split("scf.for")
    assert len(loops) == 3  # before, first loop, second loop
    def masks(text):  # selects over the 128 x 64 scores (the row maxima have their own)
        return [line for line in text.splitlines() if "arith.select" in line and "128x64x" in line]
    assert not masks(loops[1]) and "arith.cmpi sge" not in loops[1]
    assert masks(loops[2])
    plain = attention_fwd.ir(*ARGS, BM=128, BN=64, D=64, CAUSAL=False, **EVEN)
    assert plain.count("scf.for") == 1 and not masks(plain)
    # Any seq_len: a second loop (the partial key block, at most one) masks keys.
    loops = attention_fwd.ir(*ARGS, BM=128, BN=64, D=64, CAUSAL=False).split("scf.for")
    assert len(loops) == 3 and not masks(loops[1]) and masks(loops[2])


def test_causal_needs_bn_to_divide_bm():
    import tile
    with pytest.raises(tile.CompilationError, match="causal attention needs BN to divide BM"):
        attention_fwd.ir(*ARGS, BM=64, BN=128, D=64, CAUSAL=True)
    attention_fwd.ir(*ARGS, BM=64, BN=128, D=64, CAUSAL=False)  # fine without the mask


def _interpret(heads, seq_len, D, causal, BM, BN, seed=0):
    import ml_dtypes
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((heads * seq_len, D)).astype(ml_dtypes.bfloat16)
               for _ in range(3))
    o = np.full_like(q, np.nan)
    scale = 1 / math.sqrt(D)
    attention_fwd[(seq_len // BM, heads)].interpret(q, k, v, o, o, seq_len, 1, scale, BM=BM,
                                                    BN=BN, D=D, CAUSAL=causal, **EVEN)
    return q, k, v, o, scale


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 128])
@pytest.mark.parametrize("BM,BN", [(128, 64), (64, 64)])
def test_interpreter_matches_numpy(D, causal, BM, BN):
    heads, seq_len = 2, 256
    q, k, v, o, scale = _interpret(heads, seq_len, D, causal, BM, BN)
    assert not np.isnan(o.astype(np.float32)).any()
    for h in range(heads):
        rows = slice(h * seq_len, (h + 1) * seq_len)
        want = reference_numpy(q[rows], k[rows], v[rows], scale, causal)
        got = o[rows].astype(np.float64)
        assert np.abs(got - want).max() < 1e-2
        # The check tells causal from not: the other mask is far off.
        other = reference_numpy(q[rows], k[rows], v[rows], scale, not causal)
        assert np.abs(got - other).max() > 0.1


def _bench_configs():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    from benchmarks import bench_attention
    return bench_attention.CONFIGS, bench_attention.attention_tuned.default


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 128])
def test_benchmark_configurations_lower(D, causal):
    """What the benchmark's autotuner chooses among: each lowers; those over the
    shared-memory limit are the ones it will skip; the default always fits."""
    configs, default = _bench_configs()
    fits = []
    for config in configs:
        kernel = attention_fwd.compile(*ARGS, D=D, CAUSAL=causal, **EVEN,
                                       **config.launch_kwargs())
        if find_ptxas():
            assert kernel.metadata["spill_stores"] == 0, config
        fits.append(kernel.metadata["shared_bytes"] <= SHARED_LIMIT)
        if config == default:
            assert fits[-1]
    assert any(fits)


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 128])
def test_every_benchmark_configuration_matches_torch(D, causal):
    import torch
    from attention import reference
    heads, seq_len = 3, 1024
    q, k, v = (torch.randn(heads * seq_len, D, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    ref = reference(*(t.view(heads, seq_len, D) for t in (q, k, v)), 1 / math.sqrt(D),
                    causal).reshape(heads * seq_len, D)
    configs, _ = _bench_configs()
    for config in configs:
        shared = attention_fwd.compile(q, k, v, q, q, seq_len, 1, 1.0, D=D, CAUSAL=causal,
                                       **EVEN, **config.launch_kwargs()).metadata["shared_bytes"]
        if shared > SHARED_LIMIT:
            continue  # the autotuner skips it (the driver refuses the launch)
        o = torch.full_like(q, float("nan"))
        attention_fwd[(seq_len // config.kwargs["BM"], heads)](
            q, k, v, o, o, seq_len, 1, 1 / math.sqrt(D), D=D, CAUSAL=causal, **EVEN,
            **config.launch_kwargs())
        torch.cuda.synchronize()
        error = float((o.float() - ref).norm() / ref.norm())
        assert error < 1e-2, (config, error)
