"""Attention backward, bf16, causal and not: tile (python/tile/ops/attention_backward.py,
FlashAttention-2's algorithm in three kernels) against SDPA's backward on its flash and
cuDNN backends, side by side in one process.

Cases: B8 H16, N in {1024, 4096, 8192}, d in {64, 128}, causal and not (12), as the
forward rows (bench_attention.py). All sides start from the same q, k, v, dO and
SDPA flash's forward (its output and row log-sum-exp are tile's O and L). tile's time
is attention_backward's three launches (Delta, dK/dV, dQ) into given outputs; SDPA's
is autograd's backward of its forward (torch.autograd.grad).

Each row checks tile's dQ, dK and dV, and cuDNN's, against SDPA flash's from the
same run (relative Frobenius error below TOLERANCE each; cuDNN's is reported, not
required), then times the sides with rows.interleaved. FLOPs: 2.5 times the forward's
(2 matmuls forward, 5 backward): 10·B·H·N²·d, half of it when causal.
"""
from __future__ import annotations

import math

from .bench_attention import cases  # the forward rows' shapes
from .rows import run_cases, throughput_row, timed

TOLERANCE = 1e-2
GRADIENTS = ("dq", "dk", "dv")


def case_name(B, H, N, D, causal) -> str:
    return f"attention bwd B{B} H{H} N{N} d{D} {'causal' if causal else 'non-causal'}"


def flops(B, H, N, D, causal) -> float:
    return 2.5 * 4.0 * B * H * N * N * D / (2 if causal else 1)


def relative_error(got, want) -> float:
    """|got - want| / |want| (Frobenius), in float32 (torch) or float64 (numpy)."""
    got, want = ((t.float() if hasattr(t, "float") else t.astype("float64")) for t in (got, want))
    return float((((got - want) ** 2).sum() / (want ** 2).sum()) ** 0.5)


def gradient_errors(got, want) -> dict:
    """{"dq": e, "dk": e, "dv": e}: each of `got` against `want`."""
    return {name: relative_error(g, w) for name, g, w in zip(GRADIENTS, got, want)}


def check(errors: dict) -> bool:
    """tile's three gradients within TOLERANCE of the reference (NaN fails)."""
    return all(errors["tile"][name] < TOLERANCE for name in GRADIENTS)


def bench_case(B, H, N, D, causal, warmup=100, rep=500) -> dict:
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from tile.ops.attention_backward import attention_backward, default_blocks, tile_width
    torch.manual_seed(0)
    q, k, v, do = (torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16)
                   for _ in range(4))
    scale = 1 / math.sqrt(D)
    # SDPA flash's forward: tile's O and L (natural log of the rows of scale·QKᵀ).
    o, lse = torch.ops.aten._scaled_dot_product_flash_attention(
        q, k, v, is_causal=causal, scale=scale)[:2]
    # Contiguous before timing (attention_backward would copy them each run): flash
    # returns O as a (B, H, N, D) view of (B, N, H, D) memory; L (B, H, N), should a
    # build pad its rows.
    o, lse = o.contiguous(), lse[..., :N].contiguous()
    out = tuple(torch.full_like(q, float("nan")) for _ in GRADIENTS)
    run_tile = lambda: attention_backward(q, k, v, o, lse, do, causal, scale, out=out)  # noqa: E731
    runs, grads, unavailable = {"tile": run_tile}, {}, {}
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                          ("cuDNN", SDPBackend.CUDNN_ATTENTION)):
        leaves = [t.detach().requires_grad_() for t in (q, k, v)]
        try:
            with sdpa_kernel(backend):
                forward = F.scaled_dot_product_attention(*leaves, is_causal=causal, scale=scale)
            grads[name] = torch.autograd.grad(forward, leaves, do, retain_graph=True)
        except RuntimeError as e:  # a backend this build or GPU lacks: reported, not fatal
            unavailable[name] = str(e).splitlines()[0][:120]
            continue
        runs[name] = (lambda forward=forward, leaves=leaves:
                      torch.autograd.grad(forward, leaves, do, retain_graph=True))
    if "flash" not in grads:
        raise RuntimeError(f"SDPA flash ran no backward: {unavailable}")
    run_tile()
    torch.cuda.synchronize()
    errors = {"tile": gradient_errors(out, grads["flash"])}
    if "cuDNN" in grads:
        errors["cuDNN"] = gradient_errors(grads["cuDNN"], grads["flash"])
    dkdv, dq = default_blocks(tile_width(D))
    result = {"case": case_name(B, H, N, D, causal), "kind": "attention_bwd",
              "shape": [B, H, N, D], "causal": causal, "unavailable": unavailable,
              "reference": "SDPA flash", "errors": errors, "correct": check(errors),
              "tile_config": config_text(dkdv, dq)}
    result.update(timed(runs, flops(B, H, N, D, causal), warmup, rep))
    return result


def config_text(dkdv: dict, dq: dict) -> str:
    """dK/dV's and dQ's blocks (queries x keys), warps and stages."""
    def one(blocks):
        return (f"{blocks['BM']}x{blocks['BN']} w{blocks['num_warps']} "
                f"s{blocks['num_stages']}")
    return f"dkdv {one(dkdv)}, dq {one(dq)}"


def bench(selected=None, quick: bool = False) -> list[dict]:
    return run_cases(selected if selected is not None else cases(quick), "attention_bwd",
                     bench_case, case_name, row, quick)


def row(r: dict) -> str:
    """One line of the table: case | check | tile | references | tile / reference."""
    if "error" in r:
        return throughput_row(r, "")
    tile_errors = r["errors"]["tile"]
    others = ", ".join(f"{name} {max(e.values()):.1e}" for name, e in r["errors"].items()
                       if name != "tile")
    others = f"; {others}" if others else ""
    if r["correct"]:
        check = (f"rel err {max(tile_errors.values()):.1e} vs {r['reference']} "
                 f"(worst of dq, dk, dv{others})")
    else:
        each = ", ".join(f"{name} {tile_errors[name]:.1e}" for name in GRADIENTS)
        check = f"FAILED: rel err vs {r['reference']}: {each}{others}"
    return throughput_row(r, check)
