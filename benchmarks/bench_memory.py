"""Memory-bound kernels of a training step beyond norms and softmax: cross-entropy
(forward and backward over a vocabulary), rotary embedding of q and k (in place),
token embedding forward (a gather of rows) and backward (a scatter-add with
atomics). tile against torch eager, torch.compile of the same function, and a
device copy in the same run; every row checked against torch first.

Bandwidth is the bytes a kernel must move at the least over its time: the
copy of the same bytes is the floor.
"""
from __future__ import annotations

import tile

from .examples import cross_entropy, embedding, rotary
from .rows import bandwidth_row, interleaved

IGNORE = -100
# (kind, sizes) per row; --quick runs the first of each kind.
CASES = [("cross-entropy", (4096, 131072)), ("cross-entropy", (8192, 32768)),
         ("rotary", (8192, 32, 8, 128)), ("rotary", (16384, 16, 16, 64)),
         ("embedding forward", (131072, 4096, 8192)),
         ("embedding backward", (32768, 1024, 16384))]


def cases(quick: bool = False) -> list[tuple]:
    if not quick:
        return list(CASES)
    firsts = {}
    for kind, sizes in CASES:
        firsts.setdefault(kind, (kind, sizes))
    return list(firsts.values())


def case_name(kind: str, sizes: tuple) -> str:
    if kind == "cross-entropy":
        return f"cross-entropy fwd+bwd {sizes[0]}x{sizes[1]} bf16"
    if kind == "rotary":
        tokens, H, HK, D = sizes
        return f"rotary q {tokens}x{H}x{D}, k {tokens}x{HK}x{D} bf16"
    vocab, dim, tokens = sizes  # the backward adds float32 gradients (bf16 atomics round)
    return f"{kind} {tokens} tokens of {vocab}x{dim} {'f32' if 'backward' in kind else 'bf16'}"


def _relative(a, b) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm())


def _cross_entropy(sizes):
    """(runs, bytes moved, relative errors): the forward and backward as one step."""
    import torch
    import torch.nn.functional as F
    M, V = sizes
    logits = torch.randn(M, V, device="cuda", dtype=torch.bfloat16)
    targets = torch.randint(0, V, (M,), device="cuda", dtype=torch.int32)
    targets[::7] = IGNORE
    dloss = torch.randn(M, device="cuda")
    empty = lambda shape, dtype: torch.empty(shape, device="cuda", dtype=getattr(torch, dtype)
                                             if isinstance(dtype, str) else dtype)
    loss, dlogits = cross_entropy.cross_entropy(logits, targets, dloss, IGNORE, empty)
    x = logits.float().requires_grad_()
    ref = F.cross_entropy(x, targets.long(), ignore_index=IGNORE, reduction="none")
    ref.backward(dloss)
    errors = [_relative(loss, ref), _relative(dlogits, x.grad)]
    long_targets = targets.long()

    def torch_step(logits):
        leaf = logits.detach().requires_grad_()
        out = F.cross_entropy(leaf, long_targets, ignore_index=IGNORE, reduction="none")
        return torch.autograd.grad(out, leaf, dloss)[0]
    compiled = torch.compile(torch_step, dynamic=False)
    compiled(logits)
    runs = {"tile": lambda: cross_entropy.cross_entropy(logits, targets, dloss, IGNORE, empty),
            "torch": lambda: torch_step(logits), "torch.compile": lambda: compiled(logits)}
    # Logits read by the forward and by the backward, dlogits written.
    return runs, 3 * logits.numel() * logits.element_size(), errors, logits


def _rotary(sizes):
    import numpy as np
    import torch
    tokens, H, HK, D = sizes
    cos, sin = rotary.tables(4096, D, torch, device="cuda", dtype=torch.float32)
    positions = torch.randint(0, 4096, (tokens,), device="cuda", dtype=torch.int32)
    q = torch.randn(tokens, H, D, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(tokens, HK, D, device="cuda", dtype=torch.bfloat16)
    want = [rotary.reference(a.float().cpu().numpy(), cos.cpu().numpy(), sin.cpu().numpy(),
                             positions.cpu().numpy(), False) for a in (q, k)]
    got = [q.clone(), k.clone()]
    rotary.apply_rotary(*got, cos, sin, positions, False)
    errors = [float(np.abs(g.float().cpu().numpy() - w).max() / np.abs(w).max())
              for g, w in zip(got, want)]
    c, s = cos[positions.long()][:, None, :], sin[positions.long()][:, None, :]

    def torch_rotary(x):  # the half layout as models write it, out of place
        x1, x2 = x[..., :D // 2].float(), x[..., D // 2:].float()
        return torch.cat((x1 * c - x2 * s, x2 * c + x1 * s), -1).to(x.dtype)
    compiled = torch.compile(torch_rotary, dynamic=False)
    compiled(q)
    # Rotating in place twice a round is harmless for timing (values stay finite).
    runs = {"tile": lambda: rotary.apply_rotary(q, k, cos, sin, positions, False),
            "torch": lambda: (torch_rotary(q), torch_rotary(k)),
            "torch.compile": lambda: (compiled(q), compiled(k))}
    return runs, 2 * (q.numel() + k.numel()) * q.element_size(), errors, q


def _embedding(sizes, backward: bool):
    import torch
    import torch.nn.functional as F
    vocab, dim, tokens = sizes
    weight = torch.randn(vocab, dim, device="cuda", dtype=torch.bfloat16)
    ids = torch.randint(0, vocab, (tokens,), device="cuda")
    grid = embedding.grid(tokens, dim)
    if not backward:
        out = torch.full((tokens, dim), float("nan"), device="cuda", dtype=weight.dtype)
        embedding.embedding_forward[grid](ids, weight, out, **embedding.BLOCKS)
        errors = [0.0 if torch.equal(out, weight[ids]) else float("inf")]
        compiled = torch.compile(F.embedding, dynamic=False)
        compiled(ids, weight)
        runs = {"tile": lambda: embedding.embedding_forward[grid](ids, weight, out,
                                                                   **embedding.BLOCKS),
                "torch": lambda: F.embedding(ids, weight),
                "torch.compile": lambda: compiled(ids, weight)}
        return runs, 2 * out.numel() * out.element_size(), errors, out
    # The backward in float32 (bf16 atomics round at every add): grad_weight zeroed,
    # then each token's gradient row added into its row.
    grad_out = torch.randn(tokens, dim, device="cuda")
    grad_weight = torch.zeros(vocab, dim, device="cuda")

    def tile_backward():
        grad_weight.zero_()
        embedding.embedding_backward[grid](ids, grad_out, grad_weight, **embedding.BLOCKS)

    def torch_backward():
        return torch.zeros(vocab, dim, device="cuda").index_add_(0, ids, grad_out)
    tile_backward()
    errors = [_relative(grad_weight, torch_backward())]
    runs = {"tile": tile_backward, "torch": torch_backward}
    # grad_weight written once (the zeroing), the rows read and added into it.
    moved = grad_weight.numel() * 4 + 3 * grad_out.numel() * 4
    return runs, moved, errors, grad_out


def bench_case(kind: str, sizes: tuple, warmup: int, rep: int) -> dict:
    import torch
    torch.manual_seed(0)
    if kind == "cross-entropy":
        runs, moved, errors, sample = _cross_entropy(sizes)
    elif kind == "rotary":
        runs, moved, errors, sample = _rotary(sizes)
    else:
        runs, moved, errors, sample = _embedding(sizes, kind.endswith("backward"))
    torch.cuda.synchronize()
    # The copy moves `moved` bytes too: half read, half written.
    src = torch.empty(moved // 2, device="cuda", dtype=torch.uint8)
    dst = torch.empty_like(src)
    runs["copy"] = lambda: dst.copy_(src)
    ms, _ = interleaved(runs, warmup=warmup, rep=rep)
    gbs = {name: moved / (t * 1e-3) / 1e9 for name, t in ms.items()}
    return {"case": case_name(kind, sizes), "kind": "memory", "correct": max(errors) < 1e-2,
            "rel_errors": errors, "GBps": gbs, "vs_torch": ms["torch"] / ms["tile"],
            "vs_copy": gbs["tile"] / gbs["copy"],
            "vs_compile": ms["torch.compile"] / ms["tile"] if "torch.compile" in ms else None}


def bench(quick: bool = False) -> list[dict]:
    from .rows import run_cases
    return run_cases(cases(quick), "memory", bench_case, case_name, row, quick)


row = bandwidth_row
