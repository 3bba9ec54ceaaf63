"""fp8 attention forward (tile.ops.attention_fp8; the fp8 path of attention_kernels.py):
Vᵀ as the K-major operand, P rounded to e4m3. Checked on the interpreter and on the GPU
against float64 attention of the dequantized inputs. Rounding P to e4m3 alone costs
about 2.5 % (relative Frobenius, random inputs, N 200-4096), hence TOLERANCE."""
import math

import numpy as np
import pytest

import tile
from tile.ops.attention_kernels import attention_forward

TOLERANCE = 5e-2


def reference(q, k, v, scale, causal):
    """float64 softmax(q kᵀ · scale) v over (..., N, D) arrays."""
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        N = q.shape[-2]
        s = np.where(np.tril(np.ones((N, N), bool)), s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


def relative_error(got, want):
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


@pytest.mark.parametrize("causal", [False, True])
def test_interpreter_matches_float64(causal):
    import ml_dtypes
    rng = np.random.default_rng(0)
    H, N, D = 2, 200, 128  # a ragged last block of queries and keys
    q, k, v = (rng.standard_normal((H, N, D)).astype(ml_dtypes.float8_e4m3fn) for _ in range(3))
    vt = np.ascontiguousarray(v.reshape(-1, D).T)
    out = np.zeros((H * N, D), ml_dtypes.bfloat16)
    scale = 1 / math.sqrt(D)
    attention_forward[(tile.cdiv(N, 128), H)].interpret(
        q.reshape(-1, D), k.reshape(-1, D), vt, out, out, N, H, 1, scale, BM=128, BN=128, D=D,
        CAUSAL=causal, PERSISTENT=False)
    want = reference(*(x.astype(np.float64) for x in (q, k, v)), scale, causal)
    assert relative_error(out.astype(np.float64).reshape(H, N, D), want) < TOLERANCE


def test_compiles_to_fp8_wgmma_both_products():
    kernel = attention_forward.compile(
        "*f8E4M3FN[2]:16", "*f8E4M3FN[2]:16", "*f8E4M3FN[2]:16", "*bf16[2]:16", "*bf16:16",
        "i32:16", "i32", "i32", "f32", BM=128, BN=128, D=128, CAUSAL=False, PERSISTENT=False,
        num_warps=8, num_stages=2)  # seq_len a multiple of 16: Vᵀ's tiles by TMA
    assert "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3" in kernel.ptx
    assert "cp.async.bulk.tensor.2d.shared::cluster.global" in kernel.ptx
    if kernel.cubin is not None:
        assert kernel.metadata["spill_stores"] == 0


def test_bad_inputs_name_the_argument():
    torch = pytest.importorskip("torch")
    q = torch.zeros(1, 2, 128, 128, dtype=torch.float8_e4m3fn)
    with pytest.raises(TypeError, match="v is bfloat16"):
        tile.ops.attention_fp8(q, q, q.to(torch.bfloat16))
    with pytest.raises(ValueError, match="head dim 64"):
        small = torch.zeros(1, 2, 128, 64, dtype=torch.float8_e4m3fn)
        tile.ops.attention_fp8(small, small, small)
    with pytest.raises(ValueError, match="v_scale must be a positive finite number"):
        tile.ops.attention_fp8(q, q, q, v_scale=0)
    with pytest.raises(ValueError, match="k_scale must be a positive finite number"):
        tile.ops.attention_fp8(q, q, q, k_scale=float("inf"))
    with pytest.raises(ValueError, match="heads must be at least one and divide"):
        three = torch.zeros(1, 3, 128, 128, dtype=torch.float8_e4m3fn)
        tile.ops.attention_fp8(q, three, three)


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("B,H,H_kv,N", [(2, 4, 4, 1024), (1, 8, 2, 2048),
                                         (2, 4, 4, 1000), (2, 4, 2, 1008)])  # ragged: by registers, by TMA
def test_gpu_matches_float64(B, H, H_kv, N, causal):
    import torch
    torch.manual_seed(0)
    q = torch.randn(B, H, N, 128, device="cuda").to(torch.float8_e4m3fn)
    k, v = (torch.randn(B, H_kv, N, 128, device="cuda").to(torch.float8_e4m3fn)
            for _ in range(2))
    scales = dict(q_scale=0.5, k_scale=2.0, v_scale=0.25)
    out = tile.ops.attention_fp8(q, k, v, causal=causal, **scales)
    torch.cuda.synchronize()
    assert out.dtype == torch.bfloat16 and out.shape == (B, H, N, 128)
    group = H // H_kv
    dq = q.double().cpu().numpy() * 0.5
    dk = np.repeat(k.double().cpu().numpy() * 2.0, group, axis=1)
    dv = np.repeat(v.double().cpu().numpy() * 0.25, group, axis=1)
    want = reference(dq, dk, dv, 1 / math.sqrt(128), causal)
    assert relative_error(out.double().cpu().numpy(), want) < TOLERANCE


def test_op_on_the_interpreter_matches_float64(monkeypatch):
    """tile.ops.attention_fp8's own path (checks, Vᵀ, scales, launch) with CPU tensors on
    the interpreter."""
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("TILE_INTERPRET", "1")
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 2, 128, 128).to(torch.float8_e4m3fn) for _ in range(3))
    out = tile.ops.attention_fp8(q, k, v, q_scale=0.5, k_scale=2.0, v_scale=0.25, causal=True)
    want = reference(q.double().numpy() * 0.5, k.double().numpy() * 2.0,
                     v.double().numpy() * 0.25, 1 / math.sqrt(128), True)
    assert relative_error(out.double().numpy(), want) < TOLERANCE
