"""MoE dispatch and combine: an all-to-all of tokens routed by expert, in one
kernel (top-1 routing; experts 0 .. E - 1 spread over the ranks, E / num_ranks()
each, expert e on rank e // (E / num_ranks())).

Dispatch: program p sends its block of this rank's tokens to every rank, each
row masked to the tokens routed there, into slot `me` of that rank's symmetric
`Recv` (a fixed slot a source: no counts to exchange first), with the local
expert of each row (-1: not routed here) in `RecvExpert`, then adds 1 to that
rank's `Arrived[me]`. Expert: once every rank's block p has arrived, each
routed row is scaled by its expert's weights (`Scale[e]`: the expert's work,
kept small so that the example is about moving tokens). Combine: the result
goes back into the source rank's `Out` at the token's row, counted in the
source's `Returned[me]`; a rank's `Out` is complete once every rank has
returned its block p.

Run: `python examples/distributed/moe_all_to_all.py` interprets it on 2, 4 and
8 ranks against numpy; `--loopback` runs 4 ranks on one GPU against torch.
"""
import sys

import numpy as np

import tile


@tile.jit
def moe_all_to_all(X, Expert, Scale, Recv, RecvExpert, Out, Arrived, Returned, Done, epoch,
                   BT: tile.constexpr, BH: tile.constexpr):
    """X: (T, H) this rank's tokens; Expert: (T,) int32, each token's expert;
    Scale: (E / num_ranks(), H) this rank's experts' weights, contiguous; Recv:
    symmetric (num_ranks(), T, H); RecvExpert: symmetric int32 (num_ranks(), T);
    Out: symmetric (T, H), where the tokens come back; Arrived, Returned:
    symmetric int32 (num_ranks(),); Done: symmetric int32 (tile.barrier_all's
    flags); epoch: 1, 2, ... a launch. Program p moves tokens p * BT .. and
    their hidden dims BH at a time."""
    ranks = tile.num_ranks()
    me = tile.rank()
    local = Scale.shape[0]  # experts a rank
    hidden = X.shape[1]
    t0 = tile.program_id(0) * BT
    programs = tile.num_programs(0)
    # Dispatch: my block of tokens to the rank of each token's expert.
    rows = t0 + tile.arange(BT)
    expert = tile.load(Expert, rows, mask=rows < X.shape[0], other=-1)
    for s in range(ranks):
        peer = (me + s) % ranks
        here = (expert >= 0) & (expert // local == peer)
        for h in range(0, hidden, BH):
            tile.store(tile.remote(Recv, peer)[me], (t0, h), tile.load(X, (t0, h), (BT, BH)),
                       mask=here[:, None])
        routes = tile.where(here, expert % local, -1)
        tile.store(tile.remote(RecvExpert, peer)[me], (t0,), routes)
        tile.notify(Arrived, me, 1, rank=peer, op="add", scope="sys")
    # Expert and combine: block p of every source's slot, back to its rows there.
    for s in range(ranks):
        source = (me + s) % ranks
        tile.wait(Arrived, source, epoch * programs, scope="sys")
        mine = tile.load(RecvExpert[source], (t0,), (BT,))
        routed = mine >= 0
        for h in range(0, hidden, BH):
            cols = h + tile.arange(BH)
            weights = tile.load(Scale, tile.where(routed, mine, 0)[:, None] * hidden +
                                cols[None, :], mask=routed[:, None] & (cols < hidden)[None, :])
            y = tile.load(Recv[source], (t0, h), (BT, BH)).to(tile.float32) * \
                weights.to(tile.float32)
            tile.store(tile.remote(Out, source), (t0, h), y.to(Out.dtype), mask=routed[:, None])
        tile.notify(Returned, me, 1, rank=source, op="add", scope="sys")
    for s in range(ranks):  # every rank has returned my tokens of block p
        tile.wait(Returned, s, epoch * programs, scope="sys")
    tile.barrier_all(Done, epoch)  # no rank refills Recv while a peer still reads it


def reference(x, expert, scales):
    """numpy: each token times its expert's weights."""
    return x * np.concatenate(scales)[expert]  # (E, H): expert e on rank e // local


def check_on_interpreter(ranks, tokens=24, hidden=16, local=2, block=8, launches=2):
    world = tile.distributed.HostWorld(ranks)
    rng = np.random.default_rng(ranks)
    experts = ranks * local
    recv = world.zeros((ranks, tokens, hidden), np.float32)
    recv_expert = world.zeros((ranks, tokens), np.int32)
    arrived, returned = world.zeros((ranks,), np.int32), world.zeros((ranks,), np.int32)
    programs = -(-tokens // block)
    done = world.zeros((2 * ranks * programs,), np.int32)
    scales = [rng.standard_normal((local, hidden)).astype(np.float32) for _ in range(ranks)]
    for epoch in range(1, launches + 1):
        x = [rng.standard_normal((tokens, hidden)).astype(np.float32) for _ in range(ranks)]
        expert = [rng.integers(0, experts, tokens).astype(np.int32) for _ in range(ranks)]
        out = world.symmetric([np.full((tokens, hidden), np.nan, np.float32)
                               for _ in range(ranks)])
        world.launch(moe_all_to_all, (programs,),
                     lambda r: (x[r], expert[r], scales[r], recv, recv_expert, out, arrived,
                                returned, done, epoch), BT=block, BH=8)
        for r in range(ranks):
            np.testing.assert_allclose(out.arrays[r], reference(x[r], expert[r], scales),
                                       rtol=1e-6, atol=1e-6)


def check_on_loopback(ranks=4, tokens=4096, hidden=1024, local=2, block=32, bh=32):
    import torch
    world = tile.distributed.LoopbackWorld(ranks)
    programs = tokens // block
    if programs > world.programs_per_rank():
        block = tokens // world.programs_per_rank()
        block = 1 << (block - 1).bit_length()
        programs = -(-tokens // block)
    dev, bf16 = world.device, torch.bfloat16
    recv = world.zeros((ranks, tokens, hidden), bf16)
    recv_expert = world.zeros((ranks, tokens), torch.int32)
    arrived, returned = world.zeros((ranks,), torch.int32), world.zeros((ranks,), torch.int32)
    done = world.zeros((2 * ranks * programs,), torch.int32)
    scales = [torch.randn(local, hidden, device=dev, dtype=bf16) for _ in range(ranks)]
    x = [torch.randn(tokens, hidden, device=dev, dtype=bf16) for _ in range(ranks)]
    expert = [torch.randint(0, ranks * local, (tokens,), device=dev, dtype=torch.int32)
              for _ in range(ranks)]
    out = world.symmetric([torch.full((tokens, hidden), float("nan"), device=dev, dtype=bf16)
                           for _ in range(ranks)])
    world.launch(moe_all_to_all, (programs,),
                 lambda r: (x[r], expert[r], scales[r], recv, recv_expert, out, arrived,
                            returned, done, 1), BT=block, BH=bh, num_warps=8)  # 4 spill
    torch.cuda.synchronize()
    weights = torch.cat(scales)
    for r in range(ranks):
        want = (x[r].float() * weights[expert[r].long()].float()).to(bf16)
        torch.testing.assert_close(out.arrays[r], want, rtol=1e-2, atol=1e-2)


if __name__ == "__main__":
    if "--loopback" in sys.argv:
        check_on_loopback()
        print("moe_all_to_all: 4 ranks on one GPU match torch")
    else:
        for ranks in (2, 4, 8):
            check_on_interpreter(ranks)
        print("moe_all_to_all: 2, 4 and 8 interpreted ranks match numpy")
