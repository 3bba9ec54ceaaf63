"""examples/embedding.py, examples/split_k.py and examples/histogram.py: on the
interpreter against numpy (ragged shapes, repeated token ids, values on the bins'
edges and outside them), compiled to PTX, and on a GPU against torch."""
import os
import sys

import ml_dtypes
import numpy as np
import pytest

from tile.compiler import find_ptxas

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from embedding import BLOCKS as EMB, embedding_backward, embedding_forward  # noqa: E402
from embedding import grid as emb_grid  # noqa: E402
from histogram import BLOCK as HIST_BLOCK, bins_of, histogram  # noqa: E402
from split_k import BLOCKS as SPLIT, gemm_split_k  # noqa: E402
from split_k import grid as split_grid  # noqa: E402


@pytest.mark.parametrize("vocab,dim,n_tokens,id_dtype", [
    (64, 128, 32, np.int32), (300, 200, 100, np.int64), (7, 33, 45, np.int32)])
def test_embedding_on_the_interpreter(vocab, dim, n_tokens, id_dtype):
    rng = np.random.default_rng(vocab)
    weight = rng.standard_normal((vocab, dim)).astype(np.float32)
    ids = rng.integers(0, vocab, n_tokens).astype(id_dtype)  # int64: torch's default
    ids[: n_tokens // 2] = ids[0]  # half the tokens are one id: many adds to one row
    out = np.zeros((n_tokens, dim), np.float32)
    embedding_forward[emb_grid(n_tokens, dim)].interpret(ids, weight, out, **EMB)
    assert np.array_equal(out, weight[ids])
    grad_out = rng.integers(-8, 8, (n_tokens, dim)).astype(np.float32)  # exact sums
    grad_weight = np.zeros_like(weight)
    embedding_backward[emb_grid(n_tokens, dim)].interpret(ids, grad_out, grad_weight, **EMB)
    want = np.zeros_like(weight)
    np.add.at(want, ids, grad_out)
    assert np.array_equal(grad_weight, want)


@pytest.mark.parametrize("M,N,K", [(20, 100, 1000), (64, 64, 512), (5, 130, 200)])
def test_split_k_on_the_interpreter(M, N, K):
    rng = np.random.default_rng(M)
    a = rng.integers(-3, 4, (M, K)).astype(ml_dtypes.bfloat16)  # exact f32 sums in any order
    b = rng.integers(-3, 4, (K, N)).astype(ml_dtypes.bfloat16)
    c = np.zeros((M, N), np.float32)
    gemm_split_k[split_grid(M, N)].interpret(a, b, c, **SPLIT)
    assert np.array_equal(c, a.astype(np.float32) @ b.astype(np.float32))


@pytest.mark.parametrize("n,nbins", [(1, 4), (3000, 7), (2048, 1024)])
def test_histogram_on_the_interpreter(n, nbins):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 2).astype(np.float32)
    x[:3] = [-1.0, 1.0, np.nan][:n]
    hist = np.zeros(nbins, np.int32)
    histogram[(-(-n // HIST_BLOCK),)].interpret(x, hist, -1.0, 1.0, BLOCK=HIST_BLOCK)
    assert np.array_equal(hist, np.bincount(bins_of(x, nbins, -1.0, 1.0), minlength=nbins))


@pytest.mark.parametrize("kernel,args,blocks", [
    (embedding_forward, ("*i32:16", "*f32[2]:16", "*f32[2]:16"), EMB),
    (embedding_forward, ("*i64:16", "*f32[2]:16", "*f32[2]:16"), EMB),
    (embedding_backward, ("*i64:16", "*f32[2]:16", "*f32[2]:16"), EMB),
    (gemm_split_k, ("*bf16[2]:16", "*bf16[2]:16", "*f32[2]:16"), SPLIT),
    (histogram, ("*f32:16", "*i32:16", 0.0, 1.0), dict(BLOCK=HIST_BLOCK))],
    ids=["embedding_forward", "embedding_forward_i64", "embedding_backward_i64", "split_k",
         "histogram"])
def test_examples_compile(kernel, args, blocks):
    compiled = kernel.compile(*args, **blocks)
    if kernel is not embedding_forward:  # their atomic adds' old values are unused
        assert "red.relaxed.gpu.global.add." in compiled.ptx and "atom." not in compiled.ptx
    if find_ptxas():
        assert compiled.cubin and compiled.metadata["spill_stores"] == 0


@pytest.mark.gpu
@pytest.mark.parametrize("vocab,dim,n_tokens,id_dtype", [
    (50_000, 1000, 4096, "int64"), (32_000, 4096, 512, "int32"), (17, 96, 1000, "int64")])
def test_gpu_embedding_matches_torch(vocab, dim, n_tokens, id_dtype):
    import torch
    torch.manual_seed(vocab)
    weight = torch.randn(vocab, dim, device="cuda")
    ids = torch.randint(0, vocab, (n_tokens,), device="cuda", dtype=getattr(torch, id_dtype))
    ids[::5] = ids[0]
    out = torch.empty(n_tokens, dim, device="cuda")
    embedding_forward[emb_grid(n_tokens, dim)](ids, weight, out, **EMB)
    assert torch.equal(out, torch.nn.functional.embedding(ids.long(), weight))
    grad_out = torch.randint(-8, 8, (n_tokens, dim), device="cuda").float()  # exact sums
    grad_weight = torch.zeros_like(weight)
    embedding_backward[emb_grid(n_tokens, dim)](ids, grad_out, grad_weight, **EMB)
    w = weight.clone().requires_grad_()
    torch.nn.functional.embedding(ids.long(), w).backward(grad_out)
    assert torch.equal(grad_weight, w.grad)


@pytest.mark.gpu
@pytest.mark.parametrize("M,N,K", [(16, 1024, 16384), (1, 4096, 8192), (100, 257, 3000)])
def test_gpu_split_k_matches_torch(M, N, K):
    import torch
    torch.manual_seed(M)
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.zeros(M, N, device="cuda")
    gemm_split_k[split_grid(M, N)](a, b, c, **SPLIT)
    torch.testing.assert_close(c, a.float() @ b.float(), rtol=1e-3, atol=1e-2)


@pytest.mark.gpu
@pytest.mark.parametrize("n,nbins", [(10_000_000, 256), (1000, 3), (1 << 20, 4096)])
def test_gpu_histogram_matches_torch(n, nbins):
    import torch
    torch.manual_seed(n)
    x = torch.randn(n, device="cuda") * 2
    x[:3] = torch.tensor([-3.0, 3.0, float("nan")])
    hist = torch.zeros(nbins, device="cuda", dtype=torch.int32)
    histogram[(-(-n // HIST_BLOCK),)](x, hist, -3.0, 3.0, BLOCK=HIST_BLOCK)
    # The kernel's bins, computed by torch in the same f32 steps (torch.histc may
    # put a value on a bin's edge in the other bin).
    inside = x[(x >= -3.0) & (x <= 3.0)]
    scale = torch.tensor(nbins, dtype=torch.float32) / torch.tensor(6.0)
    bins = ((inside + 3.0) * scale.item()).int().clamp(max=nbins - 1)
    assert torch.equal(hist, torch.bincount(bins, minlength=nbins).int())
