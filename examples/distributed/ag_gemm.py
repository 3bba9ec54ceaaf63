"""AllGather-GEMM: C = allgather(A) @ B on every rank of a world (the first GEMM
of a tensor-parallel MLP: each rank holds Mr rows of A and a column slice of B).

Each program puts its row blocks of this rank's A into every rank's copy of the
symmetric `Full` (rank-local copy first), then adds 1 to that rank's
`Ready[me]`. The GEMM then takes the ranks' chunks as they arrive, this rank's
own first: before chunk c's tiles a program waits until all of rank c's
programs have announced theirs (`Ready[c] == epoch * programs`, counting up
launch after launch). The barrier at the end keeps the next launch's puts out
of `Full` while a peer still reads it.

Run: `python examples/distributed/ag_gemm.py` interprets it on 2, 4 and 8 ranks
against numpy; `--loopback` runs 4 ranks on one GPU against torch.
"""
import sys

import numpy as np

import tile


@tile.jit
def ag_gemm(A, Full, B, C, Ready, Done, epoch, BM: tile.constexpr, BN: tile.constexpr,
            BK: tile.constexpr):
    """A: (Mr, K), Mr a multiple of BM; Full: symmetric (num_ranks() * Mr, K); B:
    (K, N); C: (num_ranks() * Mr, N); Ready: symmetric int32 (num_ranks(),);
    Done: symmetric int32 (tile.barrier_all's flags); epoch: 1, 2, ... a launch."""
    p = tile.program_id(0)
    programs = tile.num_programs(0)
    ranks = tile.num_ranks()
    me = tile.rank()
    rows = A.shape[0]
    # 1. put: my row blocks p, p + programs, ... into every rank's Full.
    for i in range(p * BM, rows, programs * BM):
        for k in range(0, A.shape[1], BK):
            a = tile.load(A, (i, k), (BM, BK))
            for s in range(ranks):
                tile.store(tile.remote(Full, (me + s) % ranks), (me * rows + i, k), a)
    for s in range(ranks):
        tile.notify(Ready, me, 1, rank=(me + s) % ranks, op="add", scope="sys")
    # 2. the GEMM, one chunk of Full at a time as its rank's puts land, mine first.
    tiles_n = tile.cdiv(B.shape[1], BN)
    per_chunk = (rows // BM) * tiles_n
    for s in range(ranks):
        c = (me + s) % ranks
        tile.wait(Ready, c, epoch * programs, scope="sys")
        for t in range(p, per_chunk, programs):
            i = c * rows + (t // tiles_n) * BM
            j = (t % tiles_n) * BN
            acc = tile.zeros((BM, BN), tile.float32)
            for k in range(0, A.shape[1], BK):
                acc = tile.mma(tile.load(Full, (i, k), (BM, BK)),
                               tile.load(B, (k, j), (BK, BN)), acc)
            tile.store(C, (i, j), acc.to(C.dtype))
    tile.barrier_all(Done, epoch)


def launch(world, a, full, b, c, ready, done, epoch, programs, bm=16, bn=16, bk=16):
    if a[0].shape[0] % bm:
        raise ValueError(f"ag_gemm: each rank's rows ({a[0].shape[0]}) must be a multiple "
                         f"of BM ({bm}), or a block would spill into the next rank's chunk")
    world.launch(ag_gemm, (programs,), lambda r: (a[r], full, b[r], c[r], ready, done, epoch),
                 BM=bm, BN=bn, BK=bk)


def check_on_interpreter(ranks, rows=32, k=32, n=32, programs=2, launches=2):
    world = tile.distributed.HostWorld(ranks)
    rng = np.random.default_rng(ranks)
    full = world.zeros((ranks * rows, k), np.float16)
    ready = world.zeros((ranks,), np.int32)
    done = world.zeros((2 * ranks * programs,), np.int32)
    for epoch in range(1, launches + 1):  # twice: the flags count on without a reset
        a = [rng.standard_normal((rows, k)).astype(np.float16) for _ in range(ranks)]
        b = [rng.standard_normal((k, n)).astype(np.float16) for _ in range(ranks)]
        c = [np.zeros((ranks * rows, n), np.float32) for _ in range(ranks)]
        launch(world, a, full, b, c, ready, done, epoch, programs)
        gathered = np.concatenate(a).astype(np.float32)
        for r in range(ranks):
            np.testing.assert_allclose(c[r], gathered @ b[r].astype(np.float32), rtol=2e-3,
                                       atol=2e-3)


def check_on_loopback(ranks=4, rows=1024, k=1024, n=1024):
    import torch
    world = tile.distributed.LoopbackWorld(ranks)
    programs = world.programs_per_rank()
    full = world.zeros((ranks * rows, k), torch.bfloat16)
    ready = world.zeros((ranks,), torch.int32)
    done = world.zeros((2 * ranks * programs,), torch.int32)
    for epoch in (1, 2):  # twice: the flags count on without a reset
        a = [torch.randn(rows, k, device=world.device, dtype=torch.bfloat16)
             for _ in range(ranks)]
        b = [torch.randn(k, n, device=world.device, dtype=torch.bfloat16) for _ in range(ranks)]
        c = [torch.empty(ranks * rows, n, device=world.device, dtype=torch.bfloat16)
             for _ in range(ranks)]
        launch(world, a, full, b, c, ready, done, epoch, programs, 128, 128, 64)
        torch.cuda.synchronize()
        gathered = torch.cat(a)
        for r in range(ranks):
            torch.testing.assert_close(c[r].float(), (gathered @ b[r]).float(), rtol=2e-2,
                                       atol=2e-1)


if __name__ == "__main__":
    if "--loopback" in sys.argv:
        check_on_loopback()
        print("ag_gemm: 4 ranks on one GPU match torch")
    else:
        for ranks in (2, 4, 8):
            check_on_interpreter(ranks)
        print("ag_gemm: 2, 4 and 8 interpreted ranks match numpy")
