"""tile.ops.attention: (B, H, N, D) inputs as SDPA takes them. On the CPU
interpreter (TILE_INTERPRET=1, host arrays) against numpy: ragged N, grouped kv
heads, a head dim padded to its tile, the log-sum-exp, strided and transposed
inputs; its argument errors; and on the GPU against torch's SDPA (tuned). Its
backward and torch.compile: test_ops_attention_autograd.py."""
import math

import ml_dtypes
import numpy as np
import pytest

import tile.ops
from tile.ops import sdpa


@pytest.fixture
def interpret(monkeypatch):
    monkeypatch.setenv("TILE_INTERPRET", "1")


def numpy_sdpa(q, k, v, causal, scale=None):
    """float64 output and log-sum-exp of (B, H, N, D) arrays, kv heads repeated."""
    group = q.shape[1] // k.shape[1]
    k, v = (np.repeat(t.astype(np.float64), group, axis=1) for t in (k, v))
    scale = scale or 1 / math.sqrt(q.shape[-1])
    s = q.astype(np.float64) @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    m = s.max(-1, keepdims=True)
    p = np.exp(s - m)
    lse = (m + np.log(p.sum(-1, keepdims=True)))[..., 0]
    return p / p.sum(-1, keepdims=True) @ v, lse


def inputs(B, H, H_kv, N, D, dtype=ml_dtypes.bfloat16, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((B, H, N, D)).astype(dtype)
    k, v = (rng.standard_normal((B, H_kv, N, D)).astype(dtype) for _ in "kv")
    return q, k, v


@pytest.mark.parametrize("causal", [False, True])
def test_interpreter_grouped_ragged_padded(interpret, causal):
    """N 100 (no multiple of a block), 4 query heads over 2 kv heads, a head dim
    of 48 in 64-wide tiles, the log-sum-exp returned."""
    q, k, v = inputs(2, 4, 2, 100, 48)
    out, lse = tile.ops.attention(q, k, v, causal=causal, return_lse=True)
    want, want_lse = numpy_sdpa(q, k, v, causal)
    assert out.shape == q.shape and out.dtype == q.dtype
    assert lse.shape == (2, 4, 100) and lse.dtype == np.float32
    assert np.abs(out.astype(np.float64) - want).max() < 2e-2
    assert np.abs(lse - want_lse).max() < 1e-4
    other, _ = numpy_sdpa(q, k, v, not causal)
    assert np.abs(out.astype(np.float64) - other).max() > 0.1  # the check tells them apart


def test_interpreter_strided_and_transposed_inputs(interpret):
    """q a slice of wider rows (read in place), k and v (B, N, H, D) arrays
    transposed (copied), float16, a scale of its own, multi-query."""
    rng = np.random.default_rng(1)
    wide = rng.standard_normal((1, 2, 70, 64)).astype(np.float16)
    q = wide[..., :32]
    k, v = (rng.standard_normal((1, 70, 1, 32)).astype(np.float16).transpose(0, 2, 1, 3)
            for _ in "kv")
    out = tile.ops.attention(q, k, v, causal=True, scale=0.3)
    want, _ = numpy_sdpa(q, k, v, True, scale=0.3)
    assert np.abs(out.astype(np.float64) - want).max() < 5e-3


def test_interpreter_one_query(interpret):
    q, k, v = inputs(1, 1, 1, 1, 16)
    out = tile.ops.attention(q, k, v)
    assert np.abs(out.astype(np.float64) - v).max() < 1e-2  # one key: its value


def test_empty(interpret):
    q, k, v = inputs(1, 2, 2, 0, 16)
    assert tile.ops.attention(q, k, v).shape == (1, 2, 0, 16)


@pytest.mark.parametrize("change, error, message", [
    (lambda q, k, v: (q.astype(np.float32), k, v), TypeError, "q is float32; bfloat16 and "),
    (lambda q, k, v: (q, k.astype(np.float16), v), TypeError, "k is float16 but q is bfloat16"),
    (lambda q, k, v: (q[0], k, v), ValueError, r"q must be 4-D \(B, H, N, D\)"),
    (lambda q, k, v: (q, k[:, :, :50], v[:, :, :50]), ValueError, "k has 50 keys, q 100"),
    (lambda q, k, v: (q, k[:, :1], v), ValueError, r"k \(2, 1, 100, 48\) and v"),
    (lambda q, k, v: (q[:, :3], k, v), ValueError, "k has 2 heads and q 3; k's heads must be at least one and divide q's"),
    (lambda q, k, v: (q, k[..., :40], v[..., :40]), ValueError, "k's head dim is 40, q's 48"),
    (lambda q, k, v: (q[..., ::2], k[..., ::2], v[..., ::2]), ValueError,
     "q's last dim has stride 2; it must be 1"),
    (lambda q, k, v: (q[..., :44], k[..., :44], v[..., :44]), ValueError,
     "q's head dim is 44; supported: multiples of 8 from 8 to 256"),
    (lambda q, k, v: (q, "k", v), TypeError, "k must be a torch tensor, got str"),
])
def test_argument_errors(interpret, change, error, message):
    q, k, v = change(*inputs(2, 4, 2, 100, 48))
    with pytest.raises(error, match=message):
        tile.ops.attention(q, k, v)


def test_head_dim_over_256():
    q, k, v = inputs(1, 1, 1, 4, 264)
    with pytest.raises(ValueError, match="q's head dim is 264; supported"):
        tile.ops.attention(q, k, v)


def test_option_errors(interpret):
    q, k, v = inputs(1, 2, 1, 8, 16)
    with pytest.raises(TypeError, match="causal must be a bool"):
        tile.ops.attention(q, k, v, causal=1)
    with pytest.raises(ValueError, match="scale must be a positive finite number"):
        tile.ops.attention(q, k, v, scale=-1.0)
    with pytest.raises(ValueError, match="scale must be a positive finite number"):
        tile.ops.attention(q, k, v, scale=float("inf"))


def test_host_arrays_need_the_interpreter(monkeypatch):
    monkeypatch.delenv("TILE_INTERPRET", raising=False)
    with pytest.raises(TypeError, match="pass torch CUDA tensors"):
        tile.ops.attention(*inputs(1, 1, 1, 4, 16))


def test_configurations_divide_the_even_length():
    """EVEN_SEQ is N % sdpa.EVEN == 0: every configuration's blocks divide it."""
    for config in sdpa.BLOCK_CONFIGS + sdpa.PERSISTENT_CONFIGS + sdpa.WIDE_CONFIGS:
        assert sdpa.EVEN % config.kwargs["BM"] == 0 and sdpa.EVEN % config.kwargs["BN"] == 0


@pytest.mark.parametrize("even", [False, True])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("width", sdpa.TILE_WIDTHS)
def test_default_configuration_fits(width, causal, even):
    """The configuration TILE_AUTOTUNE=0 launches lowers within an H100's shared
    memory for every tile width, causal or not, ragged or not, storing the LSE."""
    tuner = sdpa.tuned[width > 128]
    args = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32", "i32", "i32", "f32")
    kernel = tuner.fn.compile(*args, D=width, CAUSAL=causal, EVEN_SEQ=even, STORE_LSE=True,
                              **tuner.default.launch_kwargs())
    assert kernel.metadata["shared_bytes"] <= 227 * 1024
    if kernel.cubin is not None:
        assert kernel.metadata["spill_stores"] == 0


def test_backward_head_dims_are_checked(interpret):
    """The forward takes head dims to 256, the backward to 128: an input that
    requires grad at d256 is refused naming q, and runs under no_grad."""
    torch = pytest.importorskip("torch")
    q, k, v = (torch.randn(1, 1, 4, 256, dtype=torch.bfloat16) for _ in range(3))
    k.requires_grad_(True)
    with pytest.raises(ValueError, match="q's head dim is 256; the backward takes head dims "
                                         "up to 128"):
        tile.ops.attention(q, k, v)


def test_cpu_tensors_need_the_interpreter(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.delenv("TILE_INTERPRET", raising=False)
    q = torch.randn(1, 2, 8, 16, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="q is on cpu; pass CUDA tensors"):
        tile.ops.attention(q, q, q)


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("N", [1000, 1024, 8000])
@pytest.mark.parametrize("D", [64, 128])
def test_gpu_matches_sdpa(D, N, dtype, causal, monkeypatch):
    """Against SDPA; the log-sum-exp against torch's of the float32 scores. The
    bf16 d128 N 1024 cases are tuned over every configuration that fits (EVEN_SEQ);
    the rest launch the default configuration (tuning each would compile every
    configuration of every case)."""
    import torch
    if not (D == 128 and N == 1024 and dtype == "bfloat16"):
        monkeypatch.setenv("TILE_AUTOTUNE", "0")
    import torch.nn.functional as F
    dtype = getattr(torch, dtype)
    B, H = (1, 4) if N > 4000 else (2, 4)
    q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=dtype) for _ in range(3))
    out, lse = tile.ops.attention(q, k, v, causal=causal, return_lse=True)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert out.shape == q.shape and out.dtype == dtype and out.is_contiguous()
    assert float((out.float() - ref.float()).norm() / ref.float().norm()) < 1e-2
    s = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(D)
    if causal:
        s = s.masked_fill(torch.ones(N, N, device="cuda", dtype=torch.bool).triu(1),
                          float("-inf"))
    assert float((lse - s.logsumexp(-1)).abs().max()) < 1e-3
    again = tile.ops.attention(q, k, v, causal=causal)  # no LSE: its own specialization
    assert torch.equal(again, out) or float((again.float() - out.float()).abs().max()) < 1e-2


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [96, 192])
def test_gpu_padded_head_dims(D, causal):
    """d96 in 128-wide tiles, d192 in 256-wide ones (WIDE_CONFIGS): the columns
    past D read as zero (TMA fills them) and are not stored."""
    import torch
    import torch.nn.functional as F
    q, k, v = (torch.randn(2, 4, 1000, D, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    out = tile.ops.attention(q, k, v, causal=causal)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert float((out.float() - ref.float()).norm() / ref.float().norm()) < 1e-2


@pytest.mark.gpu
@pytest.mark.parametrize("H_kv", [1, 2])
def test_gpu_grouped_query_and_strided(H_kv):
    """8 query heads over H_kv kv heads; q, k, v transposed from (B, N, H, D)."""
    import torch
    import torch.nn.functional as F
    B, N, H, D = 2, 777, 8, 64
    q = torch.randn(B, N, H, D, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
    k, v = (torch.randn(B, N, H_kv, D, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
            for _ in range(2))
    out = tile.ops.attention(q, k, v, causal=True)
    ref = F.scaled_dot_product_attention(q, k.repeat_interleave(H // H_kv, 1),
                                         v.repeat_interleave(H // H_kv, 1), is_causal=True)
    assert float((out.float() - ref.float()).norm() / ref.float().norm()) < 1e-2


@pytest.mark.gpu
def test_gpu_requires_grad_under_no_grad():
    """Under no_grad an input that requires grad gives a plain forward (no LSE kept)."""
    import torch
    q = torch.randn(1, 2, 128, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    with torch.no_grad():
        out = tile.ops.attention(q, q, q)
    assert out.shape == q.shape and not out.requires_grad
