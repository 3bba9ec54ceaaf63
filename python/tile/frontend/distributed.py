"""Kernels run by every rank of a world: `tile.rank()`, `tile.num_ranks()`,
`tile.remote(X, peer)`, the `rank=`/`op=`/`scope=` of `tile.notify` and
`tile.wait`, and `tile.barrier_all` (docs/distributed.md).

A symmetric array argument comes with the base of every rank's copy as kernel
parameters (signature.py: `x_peer0` ...), so a remote view is the same array
with another pointer: a constant peer's parameter, or a runtime peer's picked
by `arith.select`s (`selp` in PTX, no memory access). Loads, stores, gathers,
scatters and atomics then take it as they take any array; its view and 1-D
forms go through element offsets (gathers and scatters: `ld.global` and
`st.global` through the peer's pointer over NVLink), since a TMA descriptor
exists for the local copy only. Nothing here is a new op but the `scope` and
`add` of `tile.notify` / `tile.wait_flag`.

A mixin of the one visitor (`CodeGenerator`).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from mlir.dialects import arith

from .ir import ScalarType, Value
from .semantics import ArrayArg, describe

NOTIFY_OPS = ("set", "add")
FLAG_SCOPES = ("gpu", "sys")  # the verifier's rule (no "cta"), spelled for the message


@dataclass(frozen=True)
class Symmetric(ArrayArg):
    """A symmetric array parameter: this rank's copy (`pointer`), every rank's
    copy by rank (`peers`) and the rank running the kernel (`my_rank`)."""

    peers: tuple[Value, ...] = ()
    my_rank: Value | None = None

    def __str__(self) -> str:
        return f"the symmetric {self.rank}-D array '{self.name}' of {self.dtype.name}"


@dataclass(frozen=True)
class Remote(ArrayArg):
    """`tile.remote(X, peer)`: X's sizes and strides at the peer's copy."""

    def __str__(self) -> str:
        return f"the remote view of the {self.rank}-D array '{self.name}' of {self.dtype.name}"


class Distributed:
    world: tuple[Value, int] | None = None  # (my rank, number of ranks), from the first
    # symmetric argument (codegen.py `kernel`)

    def world_of(self, node, what: str) -> tuple[Value, int]:
        if self.world is None:
            raise self.error(node, f"{what} needs a symmetric array argument (the world comes "
                             "with it: docs/distributed.md); this kernel has none")
        return self.world

    def builtin_rank(self, node):
        return self.world_of(node, "tile.rank()")[0]

    def builtin_num_ranks(self, node):
        return self.world_of(node, "tile.num_ranks()")[1]

    def symmetric(self, node, array, what: str) -> Symmetric:
        if not isinstance(array, Symmetric):
            hint = "; index the remote view instead: tile.remote(X, peer)[i]" \
                if isinstance(getattr(array, "base", None), Symmetric) else ""
            raise self.error(node, f"{what} must be a symmetric array argument (one copy on "
                             f"every rank), got {describe(array)}{hint}")
        return array

    def peer_pointer(self, node, array: Symmetric, peer, what: str) -> Value:
        """The base of `peer`'s copy of `array`: a constant peer's parameter, else a
        chain of selects over the parameters (a runtime peer outside the world is
        a device assert: the interpreter and TILE_DEBUG=1 report it)."""
        world = len(array.peers)
        if isinstance(peer, int) and not isinstance(peer, bool):
            if not 0 <= peer < world:
                raise self.error(node, f"{what}: peer {peer} is outside the world of {world} "
                                 f"ranks of {describe(array)}")
            return array.peers[peer]
        peer = self.int32(node, peer, f"{what}'s peer")
        if not isinstance(peer.type, ScalarType):
            raise self.error(node, f"{what}'s peer must be an int32 scalar, got {describe(peer)}")
        inside = self.binary(node, ast.BitAnd(), self.compare(node, ast.GtE(), peer, 0),
                             self.compare(node, ast.Lt(), peer, world))
        self.builtin_device_assert(node, inside, f"{what}: peer outside the world of {world} "
                                   "ranks")
        pointer = array.peers[world - 1]
        for k in range(world - 2, -1, -1):
            chosen = self.compare(node, ast.Eq(), peer, k)
            pointer = self.emit(node, pointer.type, arith.select, chosen.ir,
                                array.peers[k].ir, pointer.ir)
        return pointer

    def builtin_remote(self, node, array, peer):
        array = self.symmetric(node, array, "remote's array")
        return Remote(array.name, self.peer_pointer(node, array, peer, "remote"), array.sizes,
                      array.strides, array.loc)

    # -- loads and stores of a remote view: element offsets (see the docstring) ----------
    def remote_range(self, node, array: Remote, offset, shape, bound, mask, what: str):
        """The view form's (offsets, shape, mask) of a 1-D or view access."""
        if isinstance(offset, (tuple, list)):
            if bound is not None:
                raise self.error(node, f"{what}: `bound` is for the 1-D form; a view's bounds "
                                 "are the array's sizes")
            if not 1 <= len(shape) <= 2:
                raise self.error(node, f"{what} of {describe(array)}: tiles of 1 or 2 dims "
                                 f"(its elements go through gathers), got shape {shape}")
            return tuple(offset), shape, mask
        if array.rank != 1:
            raise self.error(node, f"{what}: the 1-D form needs a 1-D array, got "
                             f"{describe(array)}; pass one offset per dimension")
        if bound is not None:
            start = self.int32(node, offset, f"{what}'s offset")
            bound = self.int32(node, bound, f"{what}'s bound")
            below = self.compare(node, ast.Lt(), self.binary(
                node, ast.Add(), self.builtin_arange(node, shape[0]), start), bound)
            mask = below if mask is None else self.binary(node, ast.BitAnd(), below, mask)
        return (offset,), shape, mask

    def remote_load(self, node, array: Remote, offset, shape, bound, multicast, mask, other):
        if multicast is not False:
            raise self.error(node, "load: multicast is not supported from a remote view "
                             "(its loads are ld.global through the peer's pointer, not TMA)")
        if shape is None:
            raise self.error(node, "load needs a shape: load(x, start, BLOCK) or "
                             "load(A, (i, j), (BM, BN)); a gather's offsets are a tile")
        what = "load's shape" if isinstance(offset, (tuple, list)) else "load's size"
        shape = self.tile_shape(node, shape, what)
        offset, shape, mask = self.remote_range(node, array, offset, shape, bound, mask, "load")
        return self.selected_load(node, array, offset, shape, False, mask, other)

    def remote_store(self, node, array: Remote, offset, value, bound, mask):
        value = self.tile(node, value, "store's value")
        offset, _, mask = self.remote_range(node, array, offset, value.type.shape, bound, mask,
                                            "store")
        return self.selected_store(node, array, offset, value, mask)

    # -- flags across ranks --------------------------------------------------------------
    def flag_ordering(self, node, scope, what: str, op=None) -> dict:
        if scope not in FLAG_SCOPES or not isinstance(scope, str):
            raise self.error(node, f"{what}'s scope must be 'gpu' (programs of this GPU) or "
                             f"'sys' (every GPU), got {describe(scope)}")
        attrs = {"scope": self.builder.attr(f"#tile<scope {scope}>")}
        if op is not None:
            if op not in NOTIFY_OPS or not isinstance(op, str):
                raise self.error(node, f"{what}'s op must be 'set' or 'add', got {describe(op)}")
            attrs["add"] = op == "add"
        return attrs

    def notify_target(self, node, flags, rank):
        """The flags a notify sets: this rank's, or `rank`'s copy of symmetric flags."""
        if rank is None:
            return flags
        return self.builtin_remote(node, self.symmetric(node, flags, "notify's flags (with "
                                                        "rank=)"), rank)

    def builtin_barrier_all(self, node, flags, value):
        """Program p of every rank sets its slot in every rank's flags to `value`,
        then waits for the world's slots of program p in its own. Slots alternate
        between two sets by the value's parity: a rank one barrier ahead writes
        the other set while a slower one still reads this one (and cannot get two
        ahead: that needs the slower one's next notify)."""
        flags = self.symmetric(node, flags, "barrier_all's flags")
        my_rank, world = self.world_of(node, "tile.barrier_all")
        value = self.int32(node, value, "barrier_all's value")
        linear = self.builtin_program_id(node, 0)
        extent = None
        for axis in (1, 2):
            extent = self.builtin_num_programs(node, axis - 1) if extent is None else \
                self.binary(node, ast.Mult(), extent, self.builtin_num_programs(node, axis - 1))
            linear = self.binary(node, ast.Add(), linear, self.binary(
                node, ast.Mult(), self.builtin_program_id(node, axis), extent))
        half = self.binary(node, ast.BitAnd(), value, 1)
        first = self.binary(node, ast.Mult(), self.binary(
            node, ast.Add(), self.binary(node, ast.Mult(), linear, 2), half), world)
        mine = self.binary(node, ast.Add(), first, my_rank)
        for peer in range(world):
            self.builtin_notify(node, flags, mine, value, rank=peer, op="set", scope="sys")
        for peer in range(world):
            self.builtin_wait(node, flags, self.binary(node, ast.Add(), first, peer), value,
                              scope="sys")
