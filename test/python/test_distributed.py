"""Distributed kernels (docs/distributed.md): symmetric arrays, tile.remote,
notify/wait across ranks, tile.barrier_all. The frontend's checks, the PTX
(through ptxas), the interpreter running a launch as N ranks (deadlocks and
races across ranks reported at the line), the examples/distributed kernels
(AllReduce, AllGather-GEMM, GEMM-ReduceScatter, MoE all-to-all) on 2, 4 and 8
interpreted ranks against numpy, the pure-Python parts of the GPU
worlds, and, with the gpu marker, the kernels on a loopback world of one GPU."""
import os
import re
import sys

import numpy as np
import pytest

import tile
from expect_error import expect_error
from tile.compiler import find_ptxas
from tile.distributed import HostWorld, RankArray
from tile.errors import InterpreterError
from tile.interpreter.races import RaceError
from tile.runtime.arguments import collect, raw_index, raw_length
from tile.signature import params_of, parse_type_string

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                                "distributed"))
import ag_gemm  # noqa: E402
import allreduce  # noqa: E402
import gemm_rs  # noqa: E402
import moe_all_to_all  # noqa: E402

SYM = "*f32:16@4"  # a symmetric 1-D f32 array over 4 ranks
BF16_2D = "*bf16[2]:16"
FLAGS = "*i32:16@4"


# -- the frontend -------------------------------------------------------------------
@tile.jit
def remote_of_plain(X, Y, BLOCK: tile.constexpr):
    v = tile.load(tile.remote(X, 1), 0, BLOCK)  # <- plain remote
    tile.store(Y, 0, v)


def test_remote_needs_a_symmetric_array():
    expect_error(remote_of_plain, "# <- plain remote", "remote's array must be a symmetric "
                 "array argument (one copy on every rank), got the 1-D array 'X'",
                 "*f32:16", SYM, BLOCK=16)


@tile.jit
def remote_of_selected(X, BLOCK: tile.constexpr):
    v = tile.load(tile.remote(X[0], 1), (0,), (BLOCK,))  # <- selected remote
    tile.store(X[0], (0,), v)


def test_remote_of_an_indexed_array_says_how():
    expect_error(remote_of_selected, "# <- selected remote", "index the remote view instead: "
                 "tile.remote(X, peer)[i]", "*f32[2]:16@2", BLOCK=16)


@tile.jit
def constant_peer(X, BLOCK: tile.constexpr, PEER: tile.constexpr):
    v = tile.load(tile.remote(X, PEER), 0, BLOCK)  # <- constant peer
    tile.store(X, 0, v)


def test_constant_peer_out_of_range():
    expect_error(constant_peer, "# <- constant peer", "remote: peer 4 is outside the world of "
                 "4 ranks of the symmetric 1-D array 'X'", SYM, BLOCK=16, PEER=4)


@tile.jit
def no_world(X):
    tile.store(X, 0, tile.zeros((16,), tile.int32) + tile.rank())  # <- no world


def test_rank_needs_a_symmetric_argument():
    expect_error(no_world, "# <- no world", "tile.rank() needs a symmetric array argument",
                 "*i32:16")


@tile.jit
def two_worlds(X, Y):  # <- two worlds
    tile.store(X, 0, tile.load(Y, 0, 16))


def test_one_world_a_kernel():
    expect_error(two_worlds, "# <- two worlds", "symmetric array 'Y' spans 2 ranks, an "
                 "earlier one 4", SYM, "*f32:16@2")


@tile.jit
def bad_ordering(F, OP: tile.constexpr, SCOPE: tile.constexpr):
    tile.notify(F, 0, 1, rank=1, op=OP, scope=SCOPE)  # <- ordering


@pytest.mark.parametrize("op, scope, message", [
    ("max", "sys", "notify's op must be 'set' or 'add', got 'max'"),
    ("set", "cta", "notify's scope must be 'gpu' (programs of this GPU) or 'sys'"),
])
def test_notify_ordering_is_checked(op, scope, message):
    expect_error(bad_ordering, "# <- ordering", message, FLAGS, OP=op, SCOPE=scope)


@tile.jit
def notify_plain_rank(F):
    tile.notify(F, 0, 1, rank=1)  # <- plain flags


def test_notify_to_a_rank_needs_symmetric_flags():
    expect_error(notify_plain_rank, "# <- plain flags", "notify's flags (with rank=) must be "
                 "a symmetric array argument", "*i32:16")


@tile.jit
def multicast_remote(X, Y):
    v = tile.load(tile.remote(X, 1), (0, 0), (16, 16), multicast=True)  # <- multicast
    tile.store(Y, (0, 0), v)


def test_remote_views_are_not_multicast():
    expect_error(multicast_remote, "# <- multicast", "multicast is not supported from a "
                 "remote view", "*f32[2]:16@2", "*f32[2]:16")


@tile.jit
def runtime_peer(X, F, BLOCK: tile.constexpr):
    peer = (tile.rank() + 1) % tile.num_ranks()
    tile.store(tile.remote(X, peer), 0, tile.load(X, 0, BLOCK))
    tile.notify(F, tile.rank(), 1, rank=peer, op="add", scope="sys")
    tile.wait(F, peer, 1, scope="sys")


def test_remote_is_a_select_of_peer_pointers():
    ir = " ".join(runtime_peer.ir(SYM, FLAGS, BLOCK=16).split())
    assert ir.count("arith.select") == 2 * 3  # 3 selects a remote view of 4 ranks, 2 views
    assert "scope = sys add : !tile.ptr<i32>" in ir and \
        re.search(r"tile.wait_flag \S+, \S+ scope = sys :", ir)
    assert "tile.scatter" in ir  # a remote 1-D store goes element by element


def test_symmetric_parameters():
    spec = parse_type_string(SYM, "X")
    assert spec.kind == "symmetric" and spec.world == 4 and spec.is_array
    names = [p.name for p in params_of("X", spec)]
    assert names == ["X", "X_size0", "X_rank", "X_peer0", "X_peer1", "X_peer2", "X_peer3"]
    with pytest.raises(ValueError, match="'@ranks' is for symmetric arrays"):
        parse_type_string("i32@4", "n")


class _FakeDeviceArray:
    """A CUDA array interface over made-up memory (nothing is launched)."""

    def __init__(self, pointer, shape):
        self.__cuda_array_interface__ = {"data": (pointer, False), "shape": shape,
                                         "typestr": "<f4", "version": 2}
        self.device = type("Device", (), {"id": 0})()


def test_launch_reads_a_symmetric_argument_where_its_parameters_expect():
    pointers = [0x10000 * (k + 1) for k in range(4)]
    value = RankArray(_FakeDeviceArray(pointers[2], (64,)), 2, pointers)
    key, raw = [], []
    collect(["X"], [value], key, raw)
    spec = parse_type_string(SYM, "X")
    assert len(raw) == raw_length(spec)
    got = {p.name: raw[raw_index(p, spec)] for p in params_of("X", spec)}
    assert got == {"X": pointers[2], "X_size0": 64, "X_rank": 2,
                   **{f"X_peer{k}": p for k, p in enumerate(pointers)}}


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
def test_ptx_across_gpus():
    ptx = runtime_peer.compile(SYM, FLAGS, BLOCK=128).ptx
    assert "red.release.sys.global.add.u32" in ptx and "ld.acquire.sys.global.b32" in ptx
    assert "selp.b64" in ptx
    barrier = allreduce.allreduce_one_shot.compile("*f32:16", SYM, "*f32:16", FLAGS, "i32",
                                                   BLOCK=256)
    assert "st.release.sys.global.b32" in barrier.ptx
    assert barrier.cubin  # ptxas took it


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
def test_kernels_compile_for_the_gpu():
    """The local copies' tiles load through TMA, the remote ones never (no
    descriptor names a peer's pointer), and ptxas takes both GEMMs and the MoE
    all-to-all without spills, as their loopback runs launch them (GEMM-RS with
    8 warps: its scatter of a 128 x 128 f32 tile spills with 4)."""
    flags = "*i32:16@4"
    ag = ag_gemm.ag_gemm.compile("*bf16[2]:16", "*bf16[2]:16@4", "*bf16[2]:16", "*bf16[2]:16",
                                 flags, flags, "i32", BM=128, BN=128, BK=64)
    rs = gemm_rs.gemm_rs.compile("*bf16[2]:16", "*bf16[2]:16", "*f32[3]:16@4", "*f32[2]:16",
                                 flags, flags, "i32", BM=128, BN=128, BK=64, num_warps=8)
    for kernel in (ag, rs):  # as check_on_loopback launches them
        assert kernel.cubin and kernel.metadata["spill_stores"] == 0
        described = {t["arg"] for t in kernel.metadata["tma"]}
        assert described and not any("_peer" in name for name in described)
    assert "Full" in {t["arg"] for t in ag.metadata["tma"]}  # the gathered A, by TMA
    moe = moe_all_to_all.moe_all_to_all.compile(
        BF16_2D, "*i32:16", BF16_2D, "*bf16[3]:16@4", "*i32[2]:16@4", "*bf16[2]:16@4", flags,
        flags, flags, "i32", BT=128, BH=32, num_warps=8)
    assert moe.cubin and moe.metadata["spill_stores"] == 0


# -- the interpreter as N ranks -------------------------------------------------------
@pytest.mark.parametrize("ranks", [2, 4, 8])
def test_allreduce(ranks):
    allreduce.check_on_interpreter(ranks)


@pytest.mark.parametrize("ranks", [2, 4, 8])
def test_ag_gemm(ranks):
    ag_gemm.check_on_interpreter(ranks)


@pytest.mark.parametrize("ranks", [2, 4, 8])
def test_gemm_rs(ranks):
    gemm_rs.check_on_interpreter(ranks)


@pytest.mark.parametrize("ranks", [2, 4, 8])
def test_moe_all_to_all(ranks):
    moe_all_to_all.check_on_interpreter(ranks)


@tile.jit
def ring(X, F, BLOCK: tile.constexpr):
    """Each rank sends its block to the next rank, which waits for it."""
    me = tile.rank()
    right = (me + 1) % tile.num_ranks()
    tile.store(tile.remote(X, right), BLOCK, tile.load(X, 0, BLOCK))
    tile.notify(F, 0, 1, rank=right, scope="sys")
    tile.wait(F, 0, 1, scope="sys")  # <- ring wait


def test_remote_stores_land_in_the_peer():
    world = HostWorld(3)
    x = world.symmetric([np.r_[np.full(4, r, np.float32), np.zeros(4, np.float32)]
                         for r in range(3)])
    f = world.zeros((1,), np.int32)
    world.launch(ring, (1,), [(x, f)] * 3, BLOCK=4)
    for r in range(3):
        np.testing.assert_array_equal(x.arrays[r][4:], (r - 1) % 3)


@tile.jit
def gather_from_left(X, Y, Count, BM: tile.constexpr, BN: tile.constexpr):
    """Y = the left rank's X, tile by tile in the view form (the last tiles stick
    out: zeros read there); every program counts itself into rank 0's Count."""
    left = (tile.rank() + tile.num_ranks() - 1) % tile.num_ranks()
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    tile.store(Y, (i, j), tile.load(tile.remote(X, left), (i, j), (BM, BN)))
    tile.atomic_add(tile.remote(Count, 0), tile.zeros((1,), tile.int32), 1, scope="sys")


def test_remote_view_loads_and_atomics():
    world = HostWorld(4)
    rng = np.random.default_rng(0)
    x = world.symmetric([rng.standard_normal((20, 24)).astype(np.float32) for _ in range(4)])
    count = world.zeros((1,), np.int32)
    ys = [np.zeros((20, 24), np.float32) for _ in range(4)]
    world.launch(gather_from_left, (3, 2), lambda r: (x, ys[r], count), BM=8, BN=16)
    for r in range(4):
        np.testing.assert_array_equal(ys[r], x.arrays[(r - 1) % 4])
    assert count.arrays[0][0] == 4 * 6 and all(c[0] == 0 for c in count.arrays[1:])


@tile.jit
def put_right(X, Y, F, n, offset):
    """Each program puts its share of X into the right rank's Y from `offset` on,
    then tells it; every rank waits for its left neighbour's programs."""
    right = (tile.rank() + 1) % tile.num_ranks()
    share = tile.cdiv(n, tile.num_programs(0))
    first = tile.program_id(0) * share
    tile.put(Y, X, tile.minimum(share, n - first), right, dst_offset=offset + first,
             src_offset=first, BLOCK=64)
    tile.notify(F, tile.program_id(0), 1, rank=right, scope="sys")
    tile.wait(F, tile.program_id(0), 1, scope="sys")


@tile.jit
def get_left(X, Y, n, offset):
    left = (tile.rank() + tile.num_ranks() - 1) % tile.num_ranks()
    tile.get(Y, X, n, left, src_offset=offset)


@pytest.mark.parametrize("ranks", [2, 4])
def test_put_and_get_ranges(ranks):
    """tile.put splits a ragged range over programs into the right rank's copy;
    tile.get reads the left rank's from an offset: nothing outside the ranges moves."""
    world = HostWorld(ranks)
    n, offset = 1000, 7
    xs = [np.arange(n, dtype=np.float32) + 1000 * r for r in range(ranks)]
    y = world.symmetric([np.full(n + 20, -1, np.float32) for _ in range(ranks)])
    flags = world.zeros((3,), np.int32)
    world.launch(put_right, (3,), lambda r: (xs[r], y, flags, n, offset))
    for r in range(ranks):
        want = np.full(n + 20, -1, np.float32)
        want[offset:offset + n] = xs[(r - 1) % ranks]
        np.testing.assert_array_equal(y.arrays[r], want)
    ys = [np.full(n - offset, -1, np.float32) for _ in range(ranks)]
    world.launch(get_left, (1,), lambda r: (y, ys[r], n - offset, offset + offset))
    for r in range(ranks):
        np.testing.assert_array_equal(ys[r], y.arrays[(r - 1) % ranks][2 * offset:n + offset])


def test_put_and_get_compile_for_the_gpu():
    put = put_right.compile("*f32:16", "*f32:16@4", "*i32:16@4", "i32", "i32")
    get = get_left.compile("*f32:16@4", "*f32:16", "i32", "i32")
    assert "st.global" in put.ptx and "ld.global" in get.ptx


@tile.jit
def waits_forever(X, F):
    if tile.rank() == 1:
        tile.wait(F, 0, 7, scope="sys")  # <- never set


def test_a_wait_no_rank_can_end_is_reported():
    world = HostWorld(2)
    x, f = world.zeros((4,), np.float32), world.zeros((1,), np.int32)
    with pytest.raises(InterpreterError) as info:
        world.launch(waits_forever, (1,), lambda r: (x, f))
    message = str(info.value)
    assert "rank 1's program (0, 0, 0) waits for argument 'F of rank 1' (int32[1])[0] == 7" \
        in message and "# <- never set" in message


@tile.jit
def unordered(X, BLOCK: tile.constexpr):
    tile.store(tile.remote(X, 0), 0, tile.load(X, 0, BLOCK) + 1.0)  # <- racing store


def test_races_across_ranks_are_reported():
    world = HostWorld(2)
    x = world.zeros((8,), np.float32)
    with pytest.raises(RaceError) as info:
        world.launch(unordered, (1,), [(x,), (x,)], BLOCK=8)
    message = str(info.value)
    assert "argument 'X of rank 0'" in message and "rank 0's program (0, 0, 0)" in message \
        and "rank 1's program (0, 0, 0)" in message


@tile.jit
def runtime_peer_outside(X, peer, BLOCK: tile.constexpr):
    tile.store(X, 0, tile.load(tile.remote(X, peer), 0, BLOCK))  # <- bad peer


def test_a_runtime_peer_outside_the_world_is_reported():
    world = HostWorld(2)
    x = world.zeros((8,), np.float32)
    with pytest.raises(InterpreterError, match="peer outside the world of 2 ranks"):
        world.launch(runtime_peer_outside, (1,), lambda r: (x, 5), BLOCK=8)


def test_world_arguments_are_checked():
    world = HostWorld(2)
    with pytest.raises(ValueError, match="rank 1's copy has shape \\(5,\\), rank 0's \\(4,\\)"):
        world.symmetric([np.zeros(4, np.float32), np.zeros(5, np.float32)])
    x = world.zeros((4,), np.float32)
    with pytest.raises(ValueError, match="argument 'X' is rank 1's copy, passed to rank 0's"):
        world.launch(unordered, (1,), [(x[1],), (x[1],)], BLOCK=4)
    with pytest.raises(ValueError, match="argument 'X' is a symmetric array of 3 ranks"):
        world.launch(unordered, (1,), lambda r: (HostWorld(3).zeros((4,), np.float32),),
                     BLOCK=4)
    with pytest.raises(ValueError, match="3 tuples of arguments for a world of 2 ranks"):
        world.launch(unordered, (1,), [(x,)] * 3, BLOCK=4)
    with pytest.raises(ValueError, match="world size must be an int from 1 to 64"):
        HostWorld(0)


# -- the GPU worlds ---------------------------------------------------------------------
def test_multicast_is_turned_off(monkeypatch):
    for name in tile.distributed.MULTICAST_OFF:
        monkeypatch.delenv(name, raising=False)
    tile.distributed.multicast_off()
    assert os.environ["NCCL_NVLS_ENABLE"] == "0"
    assert os.environ["TORCH_SYMM_MEM_DISABLE_MULTICAST"] == "1"
    assert os.environ["NVSHMEM_DISABLE_NVLS"] == "1"


def test_torch_world_needs_an_initialized_world():
    with pytest.raises(RuntimeError, match="torch.distributed is not initialized|needs torch"):
        tile.distributed.TorchWorld()


@pytest.mark.gpu
@pytest.mark.parametrize("example", [allreduce, ag_gemm, gemm_rs, moe_all_to_all])
def test_loopback_world_on_one_gpu(example):
    example.check_on_loopback()
