"""examples/attention.py's persistent kernel (attention_fwd_persistent): one
program walks (head, query block) tiles t, t + programs, ..., causal and not
(causal: in pairs of even work, causal_tile);
warp-specialized, the producer copies each tile's Q into a one-stage ring
(tile-warp-specialize's tile loads) and both sides count stage iterations on a
counter the outer loop carries (the causal key loops' trip counts vary by
tile). On the interpreter against numpy, in PTX, and on the GPU against torch
with fewer programs than tiles, as many, and an uneven split."""
import math
import os
import sys

import numpy as np
import pytest

import tile
from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from attention import attention_fwd_persistent, reference_numpy  # noqa: E402

ARGS = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32:16", "i32", "i32", "f32")
EVEN = dict(EVEN_SEQ=True)  # seq_len a multiple of the blocks, as the benchmark runs it


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("programs", [1, 3, 8])
@pytest.mark.parametrize("heads, seq_len", [(2, 256), (3, 192)])  # 8 or 9 tiles of 64 rows
def test_interpreter_matches_numpy(programs, causal, heads, seq_len):
    """Every tile written (o starts as NaN): the walk, causal_tile's pairs
    included, covers all tiles in as many steps as there are tiles, so each once."""
    import ml_dtypes
    D, BM, BN = 64, 64, 64
    rng = np.random.default_rng(programs)
    q, k, v = (rng.standard_normal((heads * seq_len, D)).astype(ml_dtypes.bfloat16)
               for _ in range(3))
    o = np.full_like(q, np.nan)
    scale = 1 / math.sqrt(D)
    attention_fwd_persistent[(programs,)].interpret(q, k, v, o, o, seq_len, heads, 1, scale,
                                                    BM=BM, BN=BN, D=D, CAUSAL=causal, **EVEN)
    for h in range(heads):
        rows = slice(h * seq_len, (h + 1) * seq_len)
        want = reference_numpy(q[rows], k[rows], v[rows], scale, causal)
        assert np.abs(o[rows].astype(np.float64) - want).max() < 1e-2


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 128])
def test_producer_copies_q_each_tile(D, causal):
    kernel = attention_fwd_persistent.compile(*ARGS, BM=128, BN=128, D=D, CAUSAL=causal,
                                              num_warps=8, num_stages=2, warp_specialize=True,
                                              **EVEN)
    tile_ir = kernel.asm["tile"]
    assert "tile.load" in tile_ir  # Q, K, V in the kernel as written
    assert kernel.metadata["block"] == [384, 1, 1]
    assert "bar.arrive 2, 256;" not in kernel.ptx  # no turns: ping-pong is off by default
    if find_ptxas():
        assert kernel.metadata["spill_stores"] == 0


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 128])
@pytest.mark.parametrize("programs", [5, 24, 132])
def test_matches_torch(D, programs, causal):
    import torch
    from attention import reference
    heads, seq_len, BM = 3, 1024, 128  # 24 tiles
    q, k, v = (torch.randn(heads * seq_len, D, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    o = torch.full_like(q, float("nan"))
    scale = 1 / math.sqrt(D)
    attention_fwd_persistent[(programs,)](q, k, v, o, o, seq_len, heads, 1, scale, BM=BM,
                                          BN=128, D=D, CAUSAL=causal, num_warps=8,
                                          num_stages=2, warp_specialize=True, **EVEN)
    torch.cuda.synchronize()
    ref = reference(*(t.view(heads, seq_len, D) for t in (q, k, v)), scale,
                    causal).reshape(heads * seq_len, D)
    assert not o.isnan().any()
    assert float((o.float() - ref).norm() / ref.norm()) < 1e-2


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 128])
def test_benchmark_configurations_lower(D, causal):
    """The persistent configurations the benchmark tunes over lower, fit in
    shared memory (227 KiB), do not spill, and keep their wgmmas asynchronous."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    from benchmarks import bench_attention
    for config in bench_attention.PERSISTENT_CONFIGS:
        try:
            kernel = attention_fwd_persistent.compile(*ARGS, D=D, CAUSAL=causal, **EVEN,
                                                      **config.launch_kwargs())
        except tile.CompilationError as e:  # the tuner skips it, with this reason
            assert "bytes of shared memory" in str(e) and "more than the 232448" in str(e)
            assert causal and D == 128 and config.num_stages > 2, config
            continue
        assert kernel.metadata["shared_bytes"] <= 227 * 1024, config
        if find_ptxas():
            assert kernel.metadata["spill_stores"] == 0, config
            assert "C7513" not in kernel.metadata["ptxas_log"], config  # no wgmma serialized


@pytest.mark.parametrize("D, BN, causal, lookahead", [(64, 128, False, True), (64, 64, False, True),
                                                      (128, 64, False, True),
                                                      (128, 128, False, False),
                                                      (64, 128, True, False)])
def test_lookahead_where_it_pays(D, BN, causal, lookahead):
    """tile-overlap-mma issues the next Q·Kᵀ before this block's softmax (more
    Q·Kᵀ copies in the PTX: before the loop, two per trip, an odd one after)
    with three stages, when S twice, O and P fit in 192 registers a thread
    (not d128 with 128-key blocks) and one loop reads K's ring (not causal);
    never with two stages. No spills, and no wgmma serialized (C7513)."""
    def compile(stages):
        return attention_fwd_persistent.compile(*ARGS, BM=128, BN=BN, D=D, CAUSAL=causal,
                                                num_warps=8, num_stages=stages,
                                                warp_specialize=True, **EVEN)
    two, three = compile(2), compile(3)
    count = lambda k: k.ptx.count("wgmma.mma_async")  # noqa: E731
    assert (count(three) > count(two)) == lookahead
    if find_ptxas():
        assert three.metadata["spill_stores"] == 0
        assert "C7513" not in three.metadata.get("ptxas_log", "C7513 unknown")
