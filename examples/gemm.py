"""GEMM: C = A @ B, one BM x BN tile of C per program, accumulated in f32 over K.

Prints the kernel's verified tile IR size, then tries the GPU lowering (where it
does not exist yet this says so). With a GPU and the lowering, it runs there
against torch; otherwise it runs the same specialization's tile IR on the CPU
interpreter, on a smaller problem, against numpy.
"""
import sys

import tile


@tile.jit
def matmul_tile(A, B, i, j, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr,
                SHARED_B: tile.constexpr = False, backwards=False):
    """A[i:i+BM, :] @ B[:, j:j+BN], accumulated in f32. SHARED_B: every program
    of the cluster takes the same j (its B tiles are multicast). backwards:
    march K from its end (persistent kernels' odd rounds; see round_backwards)."""
    acc = tile.zeros((BM, BN), tile.float32)
    last = (tile.cdiv(A.shape[1], BK) - 1) * BK
    # March along K: acc += A[i:i+BM, k:k+BK] @ B[k:k+BK, j:j+BN]. Tiles that
    # stick out of A or B read zeros, which add nothing.
    for step in range(0, A.shape[1], BK):
        k = last - step if backwards else step
        a = tile.load(A, (i, k), (BM, BK))
        b = tile.load(B, (k, j), (BK, BN), multicast=SHARED_B)
        acc = tile.mma(a, b, acc)
    return acc


@tile.jit
def gemm(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    # This program's tile of C starts at row i, column j.
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    tile.store(C, (i, j), matmul_tile(A, B, i, j, BM, BN, BK).to(C.dtype))


@tile.jit
def grouped_tile(t, M, N, BM: tile.constexpr, BN: tile.constexpr, GROUP: tile.constexpr):
    """Where tile t of an M x N output starts when tiles go in grouped order:
    GROUP rows of tiles per column sweep, so that programs running together
    share A's and B's tiles in L2 (GROUP * BM near 2048 keeps what a round of
    132 tiles reads smallest). Every other group sweeps the columns right to
    left, so the programs crossing into the next group find B's last columns
    still in L2."""
    tiles_m = tile.cdiv(M, BM)
    tiles_n = tile.cdiv(N, BN)
    group = t // (GROUP * tiles_n)
    rows = tiles_m - group * GROUP
    if rows > GROUP:
        rows = GROUP
    column = (t % (GROUP * tiles_n)) // rows
    if group % 2 == 1:
        column = tiles_n - 1 - column
    return (group * GROUP + t % rows) * BM, column * BN


@tile.jit
def round_backwards(t, programs):
    """Whether tile t of a persistent walk (t, t + programs, ...) marches K
    backwards: every other round does, so it starts on the k-slices the round
    before read last, which L2 still holds (a third less DRAM traffic at 4096^3)."""
    return (t // programs) % 2 == 1


@tile.jit
def gemm_grouped(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr,
                 GROUP: tile.constexpr):
    """The same GEMM on a 1-D grid, its tiles in grouped order."""
    i, j = grouped_tile(tile.program_id(0), A.shape[0], B.shape[1], BM, BN, GROUP)
    tile.store(C, (i, j), matmul_tile(A, B, i, j, BM, BN, BK).to(C.dtype))


@tile.jit
def gemm_persistent(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr,
                    GROUP: tile.constexpr):
    """The grouped GEMM as a persistent kernel: one program per SM walks the
    tiles of C (t, t + programs, ...), every other round marching K backwards.
    Launch persistent_grid's programs. With warp_specialize=True a producer
    warpgroup loads the next tile's operands while the consumers store this one."""
    tiles = tile.cdiv(A.shape[0], BM) * tile.cdiv(B.shape[1], BN)
    for t in range(tile.program_id(0), tiles, tile.num_programs(0)):
        i, j = grouped_tile(t, A.shape[0], B.shape[1], BM, BN, GROUP)
        backwards = round_backwards(t, tile.num_programs(0))
        acc = matmul_tile(A, B, i, j, BM, BN, BK, backwards=backwards)
        tile.store(C, (i, j), acc.to(C.dtype))


@tile.jit
def matmul_steps(A, B, i, j, first, last, BM: tile.constexpr, BN: tile.constexpr,
                 BK: tile.constexpr):
    """matmul_tile over k-steps first .. last-1 only (K from first*BK to last*BK)."""
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(first * BK, last * BK, BK):
        a = tile.load(A, (i, k), (BM, BK))
        b = tile.load(B, (k, j), (BK, BN))
        acc = tile.mma(a, b, acc)
    return acc


@tile.jit
def gemm_stream_k(A, B, C, Partials, Flags, BM: tile.constexpr, BN: tile.constexpr,
                  BK: tile.constexpr, GROUP: tile.constexpr):
    """The persistent GEMM with its last tiles split along K (stream-K): all
    but the last two rounds of tiles go whole, program by program; the k-steps
    of the tiles left are shared evenly, each program taking one contiguous
    run, so no program idles through a last round that is only partly full.
    A tile split between programs p and p + 1: p + 1 does its last k-steps
    first and leaves its partial sum in Partials (rows p + 1), p adds it to its
    own after its first k-steps and stores the tile. Launch
    min(SMs, tiles) programs, all resident at once (persistent_grid);
    Partials: programs * BM x BN float32; Flags: programs int32 zeros (left
    zero again). Slower than gemm_persistent on the H100 (0.72-0.76 x cuBLAS
    at 4096^3): in the shared part the programs read A and B at ~64
    different k offsets at once, which L2 does not hold (docs/perf-notes.md)."""
    M = A.shape[0]
    N = B.shape[1]
    tiles = tile.cdiv(M, BM) * tile.cdiv(N, BN)
    steps = tile.cdiv(A.shape[1], BK)
    programs = tile.num_programs(0)
    pid = tile.program_id(0)
    rounds = tiles // programs - 1  # whole tiles a program, before the shared ones
    whole = rounds * programs
    units = (tiles - whole) * steps  # k-steps of the shared tiles, at least one tile's a program
    share = tile.cdiv(units, programs)
    start = tile.minimum(pid * share, units)
    end = tile.minimum(start + share, units)
    for r in range(0, rounds + tile.cdiv(end, steps) - start // steps):
        t = pid + r * programs
        first = 0
        last = steps
        if r >= rounds:  # the shared part: this program's run of k-steps in tile t
            t = whole + start // steps + r - rounds
            first = tile.maximum(start - (t - whole) * steps, 0)
            last = tile.minimum(end - (t - whole) * steps, steps)
        i, j = grouped_tile(t, M, N, BM, BN, GROUP)
        acc = matmul_steps(A, B, i, j, first, last, BM, BN, BK)
        if first > 0:  # program pid - 1 holds the tile's first k-steps
            tile.store(Partials, (pid * BM, 0), acc)
            tile.notify(Flags, pid)
        else:
            if last < steps:  # program pid + 1 did the tile's last k-steps
                tile.wait(Flags, pid + 1)
                acc = acc + tile.load(Partials, ((pid + 1) * BM, 0), (BM, BN))
                tile.notify(Flags, pid + 1, 0)
            tile.store(C, (i, j), acc.to(C.dtype))


@tile.jit
def gemm_cluster(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr,
                 GROUP: tile.constexpr):
    """The grouped GEMM with programs in pairs (num_ctas=2, warp_specialize=True):
    a pair takes the two BM x BN tiles of one 2BM x BN block, one above the other,
    so both read the same B tiles, which their producers load half each and
    multicast to both. Launch 2 * cdiv(M, 2 BM) * cdiv(N, BN) programs."""
    pid = tile.program_id(0)
    i, j = grouped_tile(pid // 2, A.shape[0], B.shape[1], 2 * BM, BN, GROUP)
    i = i + (pid % 2) * BM
    tile.store(C, (i, j), matmul_tile(A, B, i, j, BM, BN, BK, True).to(C.dtype))


@tile.jit
def gemm_persistent_cluster(A, B, C, BM: tile.constexpr, BN: tile.constexpr,
                            BK: tile.constexpr, GROUP: tile.constexpr):
    """gemm_cluster as a persistent kernel: each pair of programs walks the
    2BM x BN blocks (c, c + pairs, ...); both take as many, so every multicast
    has its two programs. Launch an even number of programs."""
    pairs = tile.num_programs(0) // 2
    blocks = tile.cdiv(A.shape[0], 2 * BM) * tile.cdiv(B.shape[1], BN)
    for c in range(tile.program_id(0) // 2, blocks, pairs):
        i, j = grouped_tile(c, A.shape[0], B.shape[1], 2 * BM, BN, GROUP)
        i = i + (tile.program_id(0) % 2) * BM
        acc = matmul_tile(A, B, i, j, BM, BN, BK, True, round_backwards(c, pairs))
        tile.store(C, (i, j), acc.to(C.dtype))


@tile.jit
def matmul_nt_tile(A, W, i, j, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    """A[i:i+BM, :] @ W[j:j+BN, :].T, accumulated in f32: W is N x K as nn.Linear
    stores it (both operands K-major, the layout fp8 WGMMA takes)."""
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):
        a = tile.load(A, (i, k), (BM, BK))
        w = tile.load(W, (j, k), (BN, BK))
        acc = tile.mma(a, w, acc, transpose_b=True)
    return acc


@tile.jit
def gemm_nt(A, W, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    """C = A @ W.T (bf16, f16 or fp8 in)."""
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    tile.store(C, (i, j), matmul_nt_tile(A, W, i, j, BM, BN, BK).to(C.dtype))


# One configuration does not serve every shape: @tile.autotune times these on the
# first launch of each (M, N, K, dtypes) and keeps the fastest (on disk too).
CONFIGS = [tile.Config(dict(BM=128, BN=256, BK=64, GROUP=16), num_warps=8, num_stages=4),
           tile.Config(dict(BM=128, BN=256, BK=64, GROUP=16), num_warps=8, num_stages=3),
           tile.Config(dict(BM=256, BN=128, BK=64, GROUP=8), num_warps=8, num_stages=4),
           tile.Config(dict(BM=128, BN=128, BK=64, GROUP=8), num_warps=4, num_stages=4)]
KEY = ["A.shape[0]", "B.shape[1]", "A.shape[1]"]
gemm_tuned = tile.autotune(CONFIGS, key=KEY, default=CONFIGS[0])(gemm_grouped)


# The persistent kernel. Its epilogue's tile cannot reuse the stages (the next
# tile's loads fill them): with 3 stages the whole 64 KiB tile fits beside
# them, with 4 it goes in 64-column windows through 32 KiB (tile-tma-store).
PERSISTENT_CONFIGS = [tile.Config(dict(BM=128, BN=256, BK=64, GROUP=16), num_warps=8,
                                  num_stages=3),
                      tile.Config(dict(BM=256, BN=128, BK=64, GROUP=8), num_warps=8,
                                  num_stages=3),
                      tile.Config(dict(BM=128, BN=256, BK=64, GROUP=16), num_warps=8,
                                  num_stages=4, warp_specialize=True)]
gemm_persistent_tuned = tile.autotune(PERSISTENT_CONFIGS, key=KEY)(gemm_persistent)


# Pairs of programs multicasting B (num_ctas=2 needs warp_specialize); each
# program's tile BM x BN, so a pair covers 2 BM x BN. The epilogue's tile has
# its own bytes beside the stages, as above.
CLUSTER_CONFIGS = [tile.Config(dict(BM=128, BN=256, BK=64, GROUP=8), num_warps=8,
                               num_stages=stages, warp_specialize=True, num_ctas=2)
                   for stages in (3, 4)]
gemm_cluster_tuned = tile.autotune(CLUSTER_CONFIGS, key=KEY)(gemm_cluster)
gemm_persistent_cluster_tuned = tile.autotune(CLUSTER_CONFIGS, key=KEY)(gemm_persistent_cluster)


def cluster_grid(M, N, programs=None):
    """The grid of gemm_cluster (programs=None) or of gemm_persistent_cluster (at
    most `programs`, rounded down to pairs)."""
    def grid(meta):
        pairs = tile.cdiv(M, 2 * meta["BM"]) * tile.cdiv(N, meta["BN"])
        return (2 * (pairs if programs is None else min(pairs, programs // 2)),)
    return grid


def persistent_grid(M, N, programs):
    """The grid of gemm_persistent (and its tuned form): at most `programs`
    programs, as few as take the same number of rounds, so that every program
    walks as many tiles as the others or one fewer (4096^3 in 128x256 tiles: 128
    programs of 4 tiles each, rather than 132 of which 16 idle through the last
    round; measured 0.4-1.5 % faster, docs/perf-notes.md)."""
    def grid(meta):
        tiles = tile.cdiv(M, meta["BM"]) * tile.cdiv(N, meta["BN"])
        return (tile.cdiv(tiles, tile.cdiv(tiles, programs)),)
    return grid


def grouped_grid(M, N):
    """The 1-D grid of gemm_grouped (and gemm_tuned) for an M x N output."""
    return lambda meta: (tile.cdiv(M, meta["BM"]) * tile.cdiv(N, meta["BN"]),)


def main() -> int:
    args = ("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16")
    blocks = dict(BM=128, BN=128, BK=64)
    text = gemm.ir(*args, **blocks)
    print(f"gemm: verified tile IR, {len(text.splitlines())} lines "
          f"(BM={blocks['BM']}, BN={blocks['BN']}, BK={blocks['BK']}, bf16 in, f32 accumulate)")
    if not tile.gpu_available():
        gemm.compile(*args, **blocks)  # through ptxas too, where it is installed
        print("Compiled to PTX.")
        return run_on_interpreter(blocks, "there is no CUDA GPU here")
    import torch
    M, N, K = 1024, 512, 768
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
    gemm[(tile.cdiv(M, blocks["BM"]), tile.cdiv(N, blocks["BN"]))](a, b, c, **blocks)
    ok = torch.allclose(c.float(), (a.float() @ b.float()), rtol=2e-2, atol=1e-1)
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch")
    return 0 if ok else 1


def run_on_interpreter(blocks, reason) -> int:
    import ml_dtypes
    import numpy as np
    M, N, K = 256, 200, 192  # ragged: the last tiles of C stick out
    what = f"{M} x {K} @ {K} x {N}, bf16"
    print(f"Running the kernel's tile IR on the CPU interpreter (tile.interpreter, numpy "
          f"arrays) instead, since {reason}: {what}.")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((K, N)).astype(ml_dtypes.bfloat16)
    c = np.zeros((M, N), ml_dtypes.bfloat16)
    gemm[(tile.cdiv(M, blocks["BM"]), tile.cdiv(N, blocks["BN"]))].interpret(a, b, c, **blocks)
    reference = a.astype(np.float64) @ b.astype(np.float64)
    ok = np.allclose(c.astype(np.float64), reference, rtol=2e-2, atol=1e-1)
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
