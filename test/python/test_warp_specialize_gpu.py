"""Warp-specialized kernels (a producer warpgroup issues the TMA copies) on the
GPU against float64/float32 references, and what the compiler emits for them."""
import math
import os
import sys

import pytest

import tile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from attention import attention_fwd, reference  # noqa: E402
from gemm import gemm, gemm_grouped, gemm_persistent  # noqa: E402

GEMM_ARGS = ("*bf16[2]:16",) * 3
ATTENTION_ARGS = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32:16", "i32", "f32")


def test_gemm_compiles_with_a_producer_warpgroup():
    kernel = gemm_grouped.compile(*GEMM_ARGS, BM=128, BN=256, BK=64, GROUP=8, num_warps=8,
                                  num_stages=4, warp_specialize=True)
    ptx = kernel.ptx
    assert kernel.metadata["block"] == [384, 1, 1]
    assert "setmaxnreg.dec.sync.aligned.u32 40;" in ptx
    assert "setmaxnreg.inc.sync.aligned.u32 232;" in ptx
    assert "mbarrier.arrive.shared::cta.b64" in ptx  # consumers release stages
    if kernel.cubin is not None:
        assert kernel.metadata["spill_stores"] == 0


@pytest.mark.parametrize("num_warps,D,BN,ping_pong,turns",
                         [(8, 128, 128, True, True), (8, 128, 128, False, False),
                          (4, 64, 64, True, False)])
def test_attention_overlaps_mmas_and_takes_turns(monkeypatch, num_warps, D, BN, ping_pong,
                                                 turns):
    """tile-overlap-mma: P·V(j-1) is issued behind Q·Kᵀ(j) and left in flight
    (wait_group 1); with ping-pong (off by default), two consumer warpgroups
    take turns (named barriers 2, 3); one warpgroup has no one to take turns
    with."""
    from tile.compiler import CompileOptions, compile_ir
    monkeypatch.setenv("TILE_PIPELINE_OPTIONS", f"ping-pong={str(ping_pong).lower()}")
    ir = attention_fwd.ir(*ATTENTION_ARGS, BM=128, BN=BN, D=D, CAUSAL=False, EVEN_SEQ=True,
                          num_warps=num_warps)
    kernel = compile_ir(ir, "attention_fwd", CompileOptions(num_warps=num_warps, stages=2,
                                                            warp_specialize=True))
    ptx = kernel.ptx
    assert "wgmma.wait_group.sync.aligned 1;" in ptx
    assert ("bar.arrive 2, 256;" in ptx) == turns
    assert ("bar.sync $0, 256;" in kernel.asm["llvm"]) == turns
    if kernel.cubin is not None:
        assert kernel.metadata["spill_stores"] == 0


@pytest.mark.parametrize("num_warps,BM,consumer_regs", [(8, 128, 232), (16, 256, 104)])
def test_consumer_registers_fit_the_launch_allocation(num_warps, BM, consumer_regs):
    """setmaxnreg only moves registers within the CTA's launch allocation (the
    64K file over its threads, 8 at a time: 168 for 384 threads, 96 for 640);
    asking for more blocks forever. Four consumer warpgroups and a producer at
    40: (96 * 640 - 40 * 128) / 512 = 110, rounded down to 104 (112 hung).
    The launch allocation is fixed with .maxnreg: without it ptxas gave this
    kernel 124 registers and ignored every setmaxnreg (C7508)."""
    kernel = attention_fwd.compile(*ATTENTION_ARGS, BM=BM, BN=64, D=64, CAUSAL=False,
                                   EVEN_SEQ=True,
                                   num_warps=num_warps, num_stages=2, warp_specialize=True)
    assert f"setmaxnreg.inc.sync.aligned.u32 {consumer_regs};" in kernel.ptx
    threads = 32 * num_warps + 128
    assert f".maxnreg {65536 // threads // 8 * 8}" in kernel.ptx
    if kernel.cubin is not None:
        assert "C7508" not in kernel.metadata["ptxas_log"]


@pytest.mark.gpu
def test_attention_on_four_consumer_warpgroups():
    import torch
    heads, seq_len, D = 2, 1024, 64
    q, k, v = (torch.randn(heads * seq_len, D, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    o = torch.full_like(q, float("nan"))
    attention_fwd[(seq_len // 256, heads)](q, k, v, o, o, seq_len, 1, 1 / math.sqrt(D), BM=256,
                                           BN=64, D=D, CAUSAL=True, EVEN_SEQ=True, num_warps=16,
                                           num_stages=2,
                                           warp_specialize=True)
    torch.cuda.synchronize()
    ref = reference(*(t.view(heads, seq_len, D) for t in (q, k, v)), 1 / math.sqrt(D),
                    True).reshape(heads * seq_len, D)
    assert relative_error(o, ref) < 1e-2


def test_pipeline_options_turn_ping_pong_on(monkeypatch):
    from tile.compiler import CompileOptions, compile_ir
    ir = attention_fwd.ir(*ATTENTION_ARGS, BM=128, BN=128, D=64, CAUSAL=True, EVEN_SEQ=True,
                          num_warps=8)
    options = CompileOptions(num_warps=8, stages=2, warp_specialize=True)
    ptx = compile_ir(ir, "attention_fwd", options, want_cubin=False).ptx
    assert "bar.arrive 2, 256;" not in ptx
    assert "wgmma.wait_group.sync.aligned 1;" in ptx
    monkeypatch.setenv("TILE_PIPELINE_OPTIONS", "ping-pong=true")
    assert "bar.arrive 2, 256;" in compile_ir(ir, "attention_fwd", options, want_cubin=False).ptx


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
def test_attention_with_ping_pong_on_the_gpu(monkeypatch, causal):
    """The turns (ping-pong=true, no longer the default) still give the right
    result: a fresh JIT function, so that the option reaches its compile."""
    import torch
    monkeypatch.setenv("TILE_PIPELINE_OPTIONS", "ping-pong=true")
    kernel = tile.jit(attention_fwd.fn)
    heads, seq_len, D = 2, 1024, 128
    q, k, v = (torch.randn(heads * seq_len, D, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    o = torch.full_like(q, float("nan"))
    kernel[(seq_len // 128, heads)](q, k, v, o, o, seq_len, 1, 1 / math.sqrt(D), BM=128, BN=128,
                                    D=D, CAUSAL=causal, EVEN_SEQ=True, num_warps=8, num_stages=2,
                                    warp_specialize=True)
    assert "bar.arrive 2, 256;" in kernel.compile(q, k, v, o, o, seq_len, 1, 1 / math.sqrt(D),
                                                  BM=128, BN=128, D=D, CAUSAL=causal,
                                                  EVEN_SEQ=True, num_warps=8,
                                                  num_stages=2, warp_specialize=True).ptx
    torch.cuda.synchronize()
    ref = reference(*(t.view(heads, seq_len, D) for t in (q, k, v)), 1 / math.sqrt(D),
                    causal).reshape(heads * seq_len, D)
    assert relative_error(o, ref) < 1e-2


def test_without_a_pipelined_loop_the_kernel_is_not_split():
    @tile.jit
    def copy(X, Y, BLOCK: tile.constexpr):
        i = tile.program_id(0) * BLOCK
        tile.store(Y, (i,), tile.load(X, (i,), (BLOCK,)))
    kernel = copy.compile("*f32[1]:16", "*f32[1]:16", BLOCK=512, warp_specialize=True)
    assert kernel.metadata["block"] == [128, 1, 1]
    assert "setmaxnreg" not in kernel.ptx


def relative_error(out, ref):
    return float((out.float() - ref).norm() / ref.norm())


@pytest.mark.gpu
@pytest.mark.parametrize("M,N,K", [(1024, 768, 512), (1000, 1528, 776), (4096, 4096, 4096)])
def test_gemm_grouped(M, N, K):
    import torch
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    grid = (tile.cdiv(M, 128) * tile.cdiv(N, 256),)
    gemm_grouped[grid](a, b, c, BM=128, BN=256, BK=64, GROUP=8, num_warps=8, num_stages=4,
                       warp_specialize=True)
    torch.cuda.synchronize()
    assert not c.isnan().any()
    assert relative_error(c, (a.double() @ b.double()).float()) < 1e-2


@pytest.mark.gpu
@pytest.mark.parametrize("warp_specialize", [False, True])
@pytest.mark.parametrize("M,N,K,programs", [(1024, 768, 512, 5), (1000, 1528, 776, 7),
                                             (2048, 2048, 1024, 132), (256, 256, 64, 132)])
def test_gemm_persistent(M, N, K, programs, warp_specialize):
    """Programs walk several tiles each (or, with more programs than tiles, none):
    the producer runs ahead across tile boundaries; barrier phases carry on."""
    import torch
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    gemm_persistent[(programs,)](a, b, c, BM=128, BN=256, BK=64, GROUP=8, num_warps=8,
                                 num_stages=4, warp_specialize=warp_specialize)
    torch.cuda.synchronize()
    assert not c.isnan().any()
    assert relative_error(c, (a.double() @ b.double()).float()) < 1e-2


@pytest.mark.gpu
@pytest.mark.parametrize("num_warps,BN", [(4, 128), (8, 256)])
def test_gemm_one_and_two_consumer_warpgroups(num_warps, BN):
    import torch
    M, N, K = 512, 1024, 2048  # 32 k-steps: every stage is refilled many times
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    gemm[(tile.cdiv(M, 128), tile.cdiv(N, BN))](a, b, c, BM=128, BN=BN, BK=64,
                                                num_warps=num_warps, num_stages=3,
                                                warp_specialize=True)
    torch.cuda.synchronize()
    assert relative_error(c, (a.double() @ b.double()).float()) < 1e-2


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D,num_warps,BN", [(64, 4, 64), (64, 8, 128), (128, 8, 64),
                                             (128, 8, 128)])
def test_attention(D, num_warps, BN, causal):
    import torch
    heads, seq_len, BM = 3, 1024, 128
    q, k, v = (torch.randn(heads * seq_len, D, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    o = torch.full_like(q, float("nan"))
    scale = 1 / math.sqrt(D)
    stages = 2 if BN == 128 or D == 128 else 3
    attention_fwd[(seq_len // BM, heads)](q, k, v, o, o, seq_len, 1, scale, BM=BM, BN=BN, D=D,
                                           CAUSAL=causal, EVEN_SEQ=True, num_warps=num_warps,
                                           num_stages=stages, warp_specialize=True)
    torch.cuda.synchronize()
    ref = reference(q.view(heads, seq_len, D), k.view(heads, seq_len, D),
                    v.view(heads, seq_len, D), scale, causal).reshape(heads * seq_len, D)
    assert not o.isnan().any()
    assert relative_error(o, ref) < 1e-2
