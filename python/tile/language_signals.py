"""The tile language, continued: signals between programs and ranks of a world.

Part of `tile.language` (which imports these builtins, and exports them as its
own); kept apart to keep each file short. scripts/gen_language_ref.py documents
these sections after language.py's.
"""
from __future__ import annotations

from .language import _builtin


# -- signals between programs ---------------------------------------------------
@_builtin
def notify(flags, index, value=1, rank=None, op="set", scope="gpu"):
    """Set `flags[index] = value` (int32 scalars; `flags` a contiguous 1-D int32
    array) once every write this program made before it is visible: a program
    whose `tile.wait` sees the value then sees those writes too (release and
    acquire; TMA stores included). `op="add"` adds `value` atomically instead
    (several notifiers count up one flag). `rank=peer` sets the flag in peer's
    copy of symmetric `flags` (`tile.remote`); `scope` is whom the writes are
    ordered for: "gpu" (programs of this GPU) or "sys" (every GPU: needed when
    the writes or the flag are another rank's)."""


@_builtin
def wait(flags, index, value=1, scope="gpu"):
    """Wait until `flags[index] == value` (set by another program's
    `tile.notify`; `scope="sys"` to see writes of other GPUs). The program
    waited for must run at the same time: launch a
    persistent grid (at most one program an SM), or a program may wait for one
    that cannot start. A wait that lasts 10 s stops the kernel (the launch
    fails) rather than hang; with TILE_DEBUG=1 it prints this line first."""


# -- ranks of a world (docs/distributed.md) ----------------------------------------
# A kernel launched on every rank of a world takes symmetric arrays: one copy on
# each rank, of one shape and dtype (tile.distributed). The world comes with them.
@_builtin
def rank():
    """This rank's number in the world, 0 .. num_ranks() - 1 (an int32 scalar)."""


@_builtin
def num_ranks():
    """The number of ranks in the world (a constant: kernels specialize on it)."""


@_builtin
def remote(array, peer):
    """Rank `peer`'s copy of the symmetric `array` (a constant or an int32
    scalar): the same shape and strides, read and written in peer's memory
    (NVLink peer access on the GPU). Loads, stores, gathers, scatters and
    atomics take it as any array; its view and 1-D loads and stores go
    element by element (ld.global/st.global, no TMA or multicast), and
    `tile.remote(X, tile.rank())` is X itself seen as a peer's."""


@_builtin
def barrier_all(flags, value):
    """Program p of every rank meets program p of every other rank: each sets
    its slot in every rank's copy of the symmetric int32 `flags` to `value`,
    then waits until the world's slots of program p in its own copy hold
    `value` (release/acquire at "sys" scope), so each sees what the others
    wrote before. `flags` has 2 * num_ranks() slots a program (two sets, taken
    by the value's parity; program p's start at 2 * num_ranks() * p). Give each
    barrier the value one more than the last (a launch counter, then + 1 for a
    second barrier in the kernel): the flags then need no reset."""
