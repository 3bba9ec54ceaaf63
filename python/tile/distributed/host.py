"""A world of N ranks on the CPU interpreter: each rank its own host memory,
every program of every rank a task of one scheduler (interpreter/ranks.py)."""
from __future__ import annotations

import numpy as np

from .symmetric import SymmetricArray, per_rank, rank_arguments

MAX_RANKS = 64


def check_world_size(size, what: str = "world size") -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_RANKS:
        raise ValueError(f"{what} must be an int from 1 to {MAX_RANKS}, got {size!r}")
    return size


class HostWorld:
    """N ranks interpreted in this process: `symmetric`/`zeros` make symmetric
    arrays (numpy, one copy a rank), `launch` runs a kernel on every rank."""

    def __init__(self, size: int):
        self.size = check_world_size(size)

    def symmetric(self, arrays) -> SymmetricArray:
        """A symmetric array of the given copies (numpy arrays, one a rank, kept:
        the kernel writes into them)."""
        arrays = list(arrays)
        if len(arrays) != self.size:
            raise ValueError(f"symmetric: {len(arrays)} arrays for a world of {self.size} ranks")
        for rank, array in enumerate(arrays):
            if not isinstance(array, np.ndarray):
                raise TypeError(f"symmetric: rank {rank}'s copy is a {type(array).__name__}; "
                                "a host world takes numpy arrays")
        return SymmetricArray(arrays, [a.ctypes.data for a in arrays])

    def zeros(self, shape, dtype) -> SymmetricArray:
        return self.symmetric([np.zeros(shape, dtype) for _ in range(self.size)])

    def launch(self, kernel, grid, args, **kwargs) -> None:
        """Interprets `kernel[grid](*args_r, **kwargs)` on every rank r at once;
        `args`: a function of the rank, or one tuple a rank (a `SymmetricArray`
        in it stands for the rank's copy). A wait that no rank can end, or a
        race between programs of any ranks, is an `InterpreterError` at the line."""
        from ..interpreter.ranks import launch_ranks
        from ..runtime.jit import JITFunction
        if not isinstance(kernel, JITFunction):
            raise TypeError(f"launch takes a @tile.jit kernel, got {type(kernel).__name__}")
        rank_args = [rank_arguments(kernel, r, self.size, a)
                     for r, a in enumerate(per_rank(args, self.size))]
        launch_ranks(kernel, grid, rank_args, kwargs)
