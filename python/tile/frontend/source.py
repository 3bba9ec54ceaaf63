"""Where a kernel's code lives (kept apart from the IR builder so that loading
an ahead-of-time compiled kernel never imports MLIR)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class KernelSource:
    """Where a kernel's code lives, for locations and error messages."""

    name: str
    filename: str
    first_line: int  # line number of the `def` line in the file
    source: str      # dedented source of the function
    indent: int      # columns removed by dedenting
    globals: dict
