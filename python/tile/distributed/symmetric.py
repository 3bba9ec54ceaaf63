"""Symmetric arrays: one copy on each rank of a world, of one shape, dtype and
strides. `SymmetricArray` holds every rank's copy (a host world, a loopback
world on one GPU); `RankArray` is what a kernel launched on one rank takes:
that rank's copy, its rank and every copy's base pointer (signature.py turns
it into the kernel parameters `x`, sizes, strides, `x_rank`, `x_peer0` ...)."""
from __future__ import annotations


class RankArray:
    """Rank `rank`'s handle of a symmetric array over `world` ranks: `local` (its
    own copy), `pointers` (each rank's base address, by rank) and, where this
    process holds them, `peers` (each rank's copy)."""

    __tile_symmetric__ = True  # how runtime/arguments.py and jit.py recognize it
    __slots__ = ("local", "rank", "world", "pointers", "peers")

    def __init__(self, local, rank: int, pointers, peers=None):
        self.local, self.rank = local, rank
        self.pointers = tuple(int(p) for p in pointers)
        self.world = len(self.pointers)
        self.peers = tuple(peers) if peers is not None else None

    def __repr__(self) -> str:
        return f"RankArray(rank {self.rank} of {self.world}, shape {tuple(self.local.shape)})"


class SymmetricArray:
    """Every rank's copy of a symmetric array, in one process: `x[r]` is rank r's
    kernel argument, `x.arrays[r]` its copy. Passing `x` itself in rank r's
    arguments of `world.launch` passes `x[r]`."""

    def __init__(self, arrays: list, pointers: list, what: str = "symmetric array"):
        arrays = list(arrays)
        first = arrays[0]
        for rank, array in enumerate(arrays[1:], 1):
            for attr in ("shape", "dtype"):
                if _attr(array, attr) != _attr(first, attr):
                    raise ValueError(f"{what}: rank {rank}'s copy has {attr} "
                                     f"{_attr(array, attr)}, rank 0's {_attr(first, attr)}: "
                                     "a symmetric array is the same on every rank")
            if _strides(array) != _strides(first):
                raise ValueError(f"{what}: rank {rank}'s copy has strides {_strides(array)}, "
                                 f"rank 0's {_strides(first)}")
        self.arrays, self.world = arrays, len(arrays)
        self._ranks = [RankArray(a, r, pointers, arrays) for r, a in enumerate(arrays)]

    def __getitem__(self, rank: int) -> RankArray:
        if not isinstance(rank, int) or not 0 <= rank < self.world:
            raise IndexError(f"rank {rank!r} is outside the world of {self.world} ranks")
        return self._ranks[rank]

    def __len__(self) -> int:
        return self.world


def _attr(array, name: str):
    value = getattr(array, name)
    return tuple(value) if name == "shape" else str(value)


def _strides(array) -> tuple:
    """Strides in elements (torch's are; numpy's are in bytes)."""
    if callable(getattr(array, "stride", None)):
        return tuple(array.stride())
    return tuple(s // array.itemsize for s in array.strides)


def rank_arguments(kernel, rank: int, world: int, args) -> tuple:
    """Rank `rank`'s positional arguments: a `SymmetricArray` becomes its handle
    for the rank; a `RankArray` must be the rank's own and of this world."""
    names = list(getattr(kernel, "params", ()))
    resolved = []
    for i, value in enumerate(args):
        name = names[i] if i < len(names) else f"#{i}"
        if isinstance(value, SymmetricArray):
            if value.world != world:
                raise ValueError(f"argument '{name}' is a symmetric array of {value.world} "
                                 f"ranks, launched in a world of {world}")
            value = value[rank]
        elif isinstance(value, RankArray):
            if value.world != world:
                raise ValueError(f"argument '{name}' is a symmetric array of {value.world} "
                                 f"ranks, launched in a world of {world}")
            if value.rank != rank:
                raise ValueError(f"argument '{name}' is rank {value.rank}'s copy, passed to "
                                 f"rank {rank}'s launch")
        resolved.append(value)
    return tuple(resolved)


def per_rank(args, world: int) -> list:
    """`args` as one tuple of arguments a rank: a list of `world` tuples, or a
    function of the rank."""
    if callable(args):
        return [tuple(args(rank)) for rank in range(world)]
    args = list(args)
    if len(args) != world:
        raise ValueError(f"args: {len(args)} tuples of arguments for a world of {world} ranks "
                         "(one a rank, or a function of the rank)")
    return [tuple(a) for a in args]
