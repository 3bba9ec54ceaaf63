"""Mixture of experts: out[t] = sum over the TOPK experts e that token t is routed
to of weight[t, e] * (x[t] @ W[e]), as tile kernels in four steps:

1. route: a softmax over each token's expert logits, its top-k experts
   (tile.topk) and their probabilities renormalized to sum to 1; each
   (token, slot) pair counts itself into its expert with an atomic add, whose
   old value is the pair's rank among its expert's pairs.
2. align and permute: each expert's segment of rows is padded to a multiple of
   the GEMM's BM (vLLM's moe_align_block_size): segment starts by a cumsum, and
   for each BM-row tile of the permuted rows the expert it belongs to. The
   rows of x are then scattered into expert order (row starts[e] + rank of a
   pair), and the padding rows are zeroed.
3. grouped GEMM: one BM x BN tile of the permuted output at a time, its rows
   all of one expert (the padding sees to that), so A is read with TMA view
   loads of contiguous rows and B from that expert's K rows of W, an (E*K, N)
   array; tiles past the last segment run no k-step. Whole tiles are stored:
   segment ends are tile ends, so no mask.
4. combine: each token gathers its TOPK rows of the GEMM's output and adds
   them, weighted (un-permuting).

The order of the pairs within an expert's segment is that of the atomic adds,
so it varies between runs; the result does not (each row's product is its
own, and combine adds a token's slots in slot order).

With a GPU it runs against torch (a loop over experts); otherwise on the CPU
interpreter against numpy.
"""
import sys

import tile
from gemm import grouped_tile


@tile.jit
def route(logits, weights, experts, ranks, counts, BT: tile.constexpr, E: tile.constexpr,
          TOPK: tile.constexpr):
    """weights, experts, ranks: (T, TOPK); counts: the experts' int32 zeros. E: the
    number of experts rounded up to a power of two (the columns past it are -inf)."""
    t0 = tile.program_id(0) * BT
    real = (t0 + tile.arange(BT)) < logits.shape[0]
    is_expert = (tile.arange(E) < logits.shape[1])[None, :]
    s = tile.load(logits, (t0, 0), (BT, E), mask=is_expert, other=float("-inf"))
    p = tile.exp(s - tile.max(s, 1)[:, None])
    p = p / tile.sum(p, 1)[:, None]
    top, chosen = tile.topk(p, TOPK)  # greatest first, (BT, TOPK)
    tile.store(weights, (t0, 0), top / tile.sum(top, 1)[:, None])
    tile.store(experts, (t0, 0), chosen)
    rank = tile.atomic_add(counts, chosen, 1, mask=real[:, None], sem="relaxed")
    tile.store(ranks, (t0, 0), rank)


@tile.jit
def align(counts, starts, tile_experts, BM: tile.constexpr, E: tile.constexpr,
          BTILES: tile.constexpr):
    """One program: starts[e], the first permuted row of expert e (segments padded
    to multiples of BM), and tile_experts[m], the expert of rows m*BM .. m*BM+BM-1
    (-1 past the last segment)."""
    n = counts.shape[0]
    padded = tile.cdiv(tile.load(counts, 0, E, bound=n), BM) * BM
    ends = tile.cumsum(padded)
    tile.store(starts, 0, ends - padded, bound=n)
    for m0 in range(0, tile_experts.shape[0], BTILES):
        first_rows = (m0 + tile.arange(BTILES)) * BM
        # The tile's expert: how many segments end at or before its first row.
        expert = tile.sum(ends[None, :] <= first_rows[:, None], 1)
        tile.store(tile_experts, m0, tile.where(expert < n, expert, -1),
                   bound=tile_experts.shape[0])


@tile.jit
def pair_rows(experts, ranks, starts, pairs, real):
    """The permuted rows of the (token, slot) pairs numbered `pairs` (token * TOPK
    + slot): their expert's segment start plus their rank in it. (Element
    offsets into the permuted arrays are int64: rows times H pass 2^31.)"""
    e = tile.load(experts, pairs, mask=real)
    return tile.load(starts, e, mask=real) + tile.load(ranks, pairs, mask=real)


@tile.jit
def scalar(x, i):
    """x[i] of a 1-D array, as a scalar."""
    return tile.squeeze(tile.load(x, i, 1))


@tile.jit
def permute(x, experts, ranks, starts, counts, xp, BT: tile.constexpr, BD: tile.constexpr,
            BM: tile.constexpr, TOPK: tile.constexpr):
    """Grid (cdiv(T, BT) + experts, cdiv(H, BD)): the first programs copy BT rows
    of x to each of their TOPK places in xp; then one program an expert zeroes
    its segment's padding (fewer than BM rows)."""
    p = tile.program_id(0)
    H = x.shape[1]
    cols = tile.program_id(1) * BD + tile.arange(BD)
    blocks = tile.cdiv(x.shape[0], BT)
    if p < blocks:
        tokens = p * BT + tile.arange(BT)
        real = tokens < x.shape[0]
        rows = tile.load(x, (p * BT, tile.program_id(1) * BD), (BT, BD))
        inside = real[:, None] & (cols < H)[None, :]
        for slot in range(TOPK):
            places = pair_rows(experts, ranks, starts, tokens * TOPK + slot, real)
            tile.store(xp, places.to(tile.int64)[:, None] * H + cols[None, :], rows,
                       mask=inside)
    else:
        e = p - blocks
        end = scalar(starts, e) + tile.cdiv(scalar(counts, e), BM) * BM
        for first in range(scalar(starts, e) + scalar(counts, e), end, BT):
            pad = first + tile.arange(BT)
            tile.store(xp, pad.to(tile.int64)[:, None] * H + cols[None, :], 0.0,
                       mask=(pad < end)[:, None] & (cols < H)[None, :])


@tile.jit
def expert_tile(xp, w, tile_experts, i, j, BM: tile.constexpr, BN: tile.constexpr,
                BK: tile.constexpr):
    """xp[i:i+BM, :] @ W[e][:, j:j+BN] in f32, e the expert of those rows; w is
    (E*K, N), expert e's K rows from e*K (K a multiple of BK: a k-tile past K
    would read the next expert's rows, times the zeros xp reads past its K
    columns). Rows past the last segment (e = -1) run no k-step: zeros. (A
    loop count rather than an early return: the loop stays where warp
    specialization would find it.)"""
    e = scalar(tile_experts, i // BM)
    K = xp.shape[1]
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, tile.where(e >= 0, K, 0), BK):
        a = tile.load(xp, (i, k), (BM, BK))
        b = tile.load(w, (e * K + k, j), (BK, BN))
        acc = tile.mma(a, b, acc)
    return acc


@tile.jit
def grouped_gemm(xp, w, yp, tile_experts, BM: tile.constexpr, BN: tile.constexpr,
                 BK: tile.constexpr, GROUP: tile.constexpr):
    """yp = xp @ W[e] tile by tile, one BM x BN tile a program, in grouped order."""
    i, j = grouped_tile(tile.program_id(0), xp.shape[0], w.shape[1], BM, BN, GROUP)
    tile.store(yp, (i, j), expert_tile(xp, w, tile_experts, i, j, BM, BN, BK).to(yp.dtype))


@tile.jit
def grouped_gemm_persistent(xp, w, yp, tile_experts, BM: tile.constexpr, BN: tile.constexpr,
                            BK: tile.constexpr, GROUP: tile.constexpr):
    """grouped_gemm as a persistent kernel: one program an SM walks the tiles (t,
    t + programs, ...). Launch gemm_grid(rows, N, SMs)."""
    tiles = tile.cdiv(xp.shape[0], BM) * tile.cdiv(w.shape[1], BN)
    for t in range(tile.program_id(0), tiles, tile.num_programs(0)):
        i, j = grouped_tile(t, xp.shape[0], w.shape[1], BM, BN, GROUP)
        acc = expert_tile(xp, w, tile_experts, i, j, BM, BN, BK)
        tile.store(yp, (i, j), acc.to(yp.dtype))


@tile.jit
def combine(yp, weights, experts, ranks, starts, out, BT: tile.constexpr,
            BD: tile.constexpr, TOPK: tile.constexpr):
    """out[t, :] = sum over slots s of weights[t, s] * yp[row of (t, s), :]."""
    t0 = tile.program_id(0) * BT
    c0 = tile.program_id(1) * BD
    tokens = t0 + tile.arange(BT)
    cols = c0 + tile.arange(BD)
    real = tokens < out.shape[0]
    inside = real[:, None] & (cols < out.shape[1])[None, :]
    acc = tile.zeros((BT, BD), tile.float32)
    for slot in range(TOPK):
        pairs = tokens * TOPK + slot
        places = pair_rows(experts, ranks, starts, pairs, real)
        y = tile.load(yp, places.to(tile.int64)[:, None] * yp.shape[1] + cols[None, :],
                      mask=inside)
        acc = acc + tile.load(weights, pairs, mask=real)[:, None] * y.to(tile.float32)
    tile.store(out, (t0, c0), acc.to(out.dtype))


# Blocks: route BT tokens a program; permute/combine (BT, BD) tiles; the GEMM's.
ROUTE_BT = 16
COPY = dict(BT=32, BD=128)
GEMM = dict(BM=128, BN=256, BK=64, GROUP=8)
GEMM_LAUNCH = dict(num_warps=8, num_stages=4)


def next_power_of_two(n: int) -> int:
    return 1 << (n - 1).bit_length()


def max_tiles(tokens: int, experts: int, topk: int, BM: int) -> int:
    """An upper bound on the BM-row tiles of the padded segments: the sum over
    experts of cdiv(count, BM) is below tokens * topk / BM + experts."""
    return tile.cdiv(tokens * topk, BM) + experts


class Buffers:
    """What the four steps write, allocated by `empty(shape, dtype_name)`
    (torch.empty on the GPU, numpy on the CPU) and `zeros` for the counts."""

    def __init__(self, empty, zeros, T: int, E: int, H: int, N: int, topk: int, dtype,
                 BM: int):
        rows = max_tiles(T, E, topk, BM) * BM
        self.weights = empty((T, topk), "float32")
        self.experts = empty((T, topk), "int32")
        self.ranks = empty((T, topk), "int32")
        self.counts = zeros((E,), "int32")
        self.starts = empty((E,), "int32")
        self.tile_experts = empty((rows // BM,), "int32")
        self.xp = empty((rows, H), dtype)
        self.yp = empty((rows, N), dtype)


def route_and_permute(x, logits, b: Buffers, topk: int, BM: int, launch=None):
    """Steps 1 and 2 into b (counts must start at zero). `launch(kernel, grid)`
    is `kernel[grid]` on the GPU, `kernel[grid].interpret` on the CPU."""
    launch = launch or (lambda kernel, grid: kernel[grid])
    T, H = x.shape
    E = logits.shape[1]
    launch(route, (tile.cdiv(T, ROUTE_BT),))(logits, b.weights, b.experts, b.ranks, b.counts,
                                            BT=ROUTE_BT, E=next_power_of_two(E), TOPK=topk)
    launch(align, (1,))(b.counts, b.starts, b.tile_experts, BM=BM, E=next_power_of_two(E),
                        BTILES=128)
    grid = (tile.cdiv(T, COPY["BT"]) + E, tile.cdiv(H, COPY["BD"]))
    launch(permute, grid)(x, b.experts, b.ranks, b.starts, b.counts, b.xp, BM=BM, TOPK=topk,
                          **COPY)


# The GEMM tuned per shape (@tile.autotune). BM stays the padding's (tile_experts
# counts BM-row tiles): the configurations vary BN, the warps and the stages.
CONFIGS = [tile.Config(dict(GEMM), num_warps=8, num_stages=4),
           tile.Config(dict(GEMM), num_warps=8, num_stages=3),
           tile.Config(dict(GEMM, BN=128), num_warps=8, num_stages=4),
           tile.Config(dict(GEMM, BN=128), num_warps=4, num_stages=4)]
KEY = ["xp.shape[0]", "w.shape[1]", "xp.shape[1]"]
grouped_gemm_tuned = tile.autotune(CONFIGS, key=KEY, default=CONFIGS[0])(grouped_gemm)
# The persistent kernel: 3 stages leave room for the epilogue's tile beside them
# (examples/gemm.py). Not warp-specialized: the producer warpgroup would need the
# tile's expert, a value loaded from memory, which tile-warp-specialize does not
# recompute (the kernel is left as it is).
PERSISTENT_CONFIGS = [tile.Config(dict(GEMM), num_warps=8, num_stages=3),
                      tile.Config(dict(GEMM, BN=128), num_warps=8, num_stages=4)]
grouped_gemm_persistent_tuned = tile.autotune(PERSISTENT_CONFIGS, key=KEY)(
    grouped_gemm_persistent)


def gemm_grid(rows: int, N: int, programs: int | None = None):
    """The grid of grouped_gemm over `rows` permuted rows (padded) and N columns,
    or of grouped_gemm_persistent: at most `programs` (the SMs)."""
    def grid(meta):
        tiles = rows // meta["BM"] * tile.cdiv(N, meta["BN"])
        return (tiles if programs is None else min(tiles, programs),)
    return grid


def moe_steps(x, logits, w, out, b: Buffers, topk: int, gemm=GEMM, launch=None,
              gemm_options=GEMM_LAUNCH):
    """The whole layer: out = sum over the top-k experts of weight * x @ W[e], w
    being (E*K, N)."""
    launch = launch or (lambda kernel, grid: kernel[grid])
    if x.shape[1] % gemm["BK"]:
        raise ValueError(f"moe: the hidden size {x.shape[1]} must be a multiple of BK="
                         f"{gemm['BK']} (grouped_gemm reads expert e's rows of w from e*K)")
    route_and_permute(x, logits, b, topk, gemm["BM"], launch)
    N = w.shape[1]
    run = launch(grouped_gemm, gemm_grid(b.xp.shape[0], N)(gemm))
    run(b.xp, w, b.yp, b.tile_experts, **gemm, **gemm_options)
    grid = (tile.cdiv(x.shape[0], COPY["BT"]), tile.cdiv(N, COPY["BD"]))
    launch(combine, grid)(b.yp, b.weights, b.experts, b.ranks, b.starts, out, TOPK=topk,
                          **COPY)


def torch_buffers(T, E, H, N, topk, dtype, BM):
    import torch
    return Buffers(lambda shape, d: torch.empty(shape, device="cuda", dtype=getattr(torch, d)),
                   lambda shape, d: torch.zeros(shape, device="cuda", dtype=getattr(torch, d)),
                   T, E, H, N, topk, dtype, BM)


def torch_reference(x, logits, w, topk):
    """Routing by torch (softmax, topk, renormalize), then a loop over experts in
    float32: (out, experts, weights)."""
    import torch
    T, H = x.shape
    E = logits.shape[1]
    probs = torch.softmax(logits.float(), dim=1)
    weights, experts = torch.topk(probs, topk, dim=1)
    weights = weights / weights.sum(1, keepdim=True)
    out = torch.zeros(T, w.shape[1], device=x.device)
    W = w.view(E, H, -1)
    for e in range(E):
        token, slot = (experts == e).nonzero(as_tuple=True)
        if len(token):
            out.index_add_(0, token, weights[token, slot, None] * (x[token].float() @
                                                                   W[e].float()))
    return out, experts, weights


def distinct_logits(T, E, generator=None):
    """Logits whose softmax has no near-ties (a shuffle of 0, 0.25, 0.5, ... per
    token), so that any top-k picks the same experts as torch's."""
    import torch
    return torch.argsort(torch.rand(T, E, generator=generator), dim=1).float() * 0.25


def run_on_gpu(T, E, H, N, topk):
    """The layer on random bf16 inputs on the GPU: (out, buffers, want, w), want =
    torch_reference's (output, experts, weights) for the same inputs, w the weights."""
    import torch
    x = torch.randn(T, H, device="cuda", dtype=torch.bfloat16)
    w = (torch.randn(E * H, N, device="cuda") / H ** 0.5).to(torch.bfloat16)
    logits = distinct_logits(T, E).cuda()
    out = torch.full((T, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    b = torch_buffers(T, E, H, N, topk, "bfloat16", GEMM["BM"])
    moe_steps(x, logits, w, out, b, topk)
    want = torch_reference(x, logits, w, topk)
    torch.cuda.synchronize()
    return out, b, want, w


def main() -> int:
    if not tile.gpu_available():
        return run_on_interpreter()
    import torch
    torch.manual_seed(0)
    T, E, H, N, topk = 4096, 8, 4096, 14336, 2  # Mixtral 8x7B's first FFN GEMM
    out, b, (want, experts, _), _ = run_on_gpu(T, E, H, N, topk)
    error = float((out.float() - want).norm() / want.norm())
    ok = torch.equal(b.experts.long(), experts) and error < 1e-2
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch (a loop over experts): "
          f"{T} tokens, {E} experts, top-{topk}, {H} -> {N}, rel err {error:.1e}")
    return 0 if ok else 1


def numpy_moe(x, logits, w, topk):
    """The reference on the CPU: numpy's routing (stable order on ties) and a loop
    over experts in float64."""
    import numpy as np
    T, H = x.shape
    E = logits.shape[1]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    experts = np.argsort(-p, axis=1, kind="stable")[:, :topk]
    weights = np.take_along_axis(p, experts, 1)
    weights /= weights.sum(1, keepdims=True)
    out = np.zeros((T, w.shape[1]))
    W = w.astype(np.float64).reshape(E, H, -1)
    for t in range(T):
        for s in range(topk):
            out[t] += weights[t, s] * (x[t].astype(np.float64) @ W[experts[t, s]])
    return out, experts.astype(np.int32), weights


def numpy_buffers(T, E, H, N, topk, dtype, BM):
    import ml_dtypes
    import numpy as np
    as_np = lambda d: ml_dtypes.bfloat16 if d == "bfloat16" else np.dtype(d)  # noqa: E731
    return Buffers(lambda shape, d: np.full(shape, -7, as_np(d)),  # garbage: all written
                   lambda shape, d: np.zeros(shape, as_np(d)), T, E, H, N, topk, dtype, BM)


def run_on_interpreter() -> int:
    import ml_dtypes
    import numpy as np
    T, E, H, N, topk = 50, 6, 64, 96, 2
    gemm = dict(BM=64, BN=64, BK=32, GROUP=2)
    print("No CUDA GPU here: running the kernels' tile IR on the CPU interpreter "
          f"(tile.interpreter, numpy arrays) instead: {T} tokens, {E} experts, top-{topk}, "
          f"{H} -> {N}, bfloat16.")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, H)).astype(ml_dtypes.bfloat16)
    w = (rng.standard_normal((E * H, N)) / 8).astype(ml_dtypes.bfloat16)
    logits = rng.permuted(np.tile(np.arange(E, dtype=np.float32) * 0.25, (T, 1)), axis=1)
    out = np.zeros((T, N), np.float32)
    b = numpy_buffers(T, E, H, N, topk, "bfloat16", gemm["BM"])
    moe_steps(x, logits, w, out, b, topk, gemm=gemm, gemm_options={},
              launch=lambda kernel, grid: kernel[grid].interpret)
    want, experts, _ = numpy_moe(x.astype(np.float32), logits, w, topk)
    error = np.linalg.norm(out - want) / np.linalg.norm(want)
    ok = np.array_equal(b.experts, experts) and error < 1e-2
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy (rel err "
          f"{error:.1e})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
