"""The CPU interpreter: runs the tile IR of a kernel on numpy arrays, op by op,
for every program of the grid, with the GPU's storage rounding.

    kernel[grid].interpret(x, y, out, n, BLOCK=1024)   # numpy or CPU torch arrays
    TILE_INTERPRET=1 python script.py                  # every launch interprets

or, on tile IR text: `tile.interpreter.run(text, [x, y, out, n], grid)`. Both take
`loop_limit=n` (iterations a loop may run in a program; TILE_INTERPRET_LOOP_LIMIT)
and `check_races=False` (programs racing on an element are a `RaceError` otherwise).
See docs/interpreter.md for the numerics and what differs from the GPU.
"""
from __future__ import annotations

import os

__all__ = ["RaceError", "launch", "requested", "run"]


def requested() -> bool:
    """Whether TILE_INTERPRET asks for every launch to be interpreted."""
    value = os.environ.get("TILE_INTERPRET")  # read on every launch: kept cheap when unset
    return bool(value) and value.strip().lower() in ("1", "true", "yes", "on")


def __getattr__(name: str):
    # numpy, ml_dtypes and the MLIR bindings load on first use, not with `import tile`.
    if name in ("launch", "run"):
        from . import api
        return getattr(api, name)
    if name == "RaceError":
        from .races import RaceError
        return RaceError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
