"""tile.print and tile.assert. The interpreter runs both whatever the debug
option (the compiled kernel drops them without it): lines as the GPU prints
them, and a failed assert as a `DeviceAssertionError` at the kernel's line."""
from __future__ import annotations

import itertools

import numpy as np
from mlir import ir

from ..errors import InterpreterError
from .executor import Executor, error_at, handles


class DeviceAssertionError(InterpreterError, AssertionError):
    """A `tile.device_assert` (or runtime `assert`) that failed in the interpreter."""


def _text(value) -> str:
    if np.issubdtype(value.dtype, np.floating) or value.dtype.kind == "V":
        return f"{float(value):f}"
    return str(int(value))


@handles("tile.print")
def _print(ex: Executor, op, args):
    """One line per scalar per program, one per tile element per program (as
    the GPU prints them, in program order here)."""
    text = ir.StringAttr(op.attributes["format"]).value
    for p, pid in enumerate(ex.pids):
        prefix = f"pid ({pid[0]}, {pid[1]}, {pid[2]})"
        if not args:
            print(f"{prefix} {text}")
        for n, value in enumerate(args):
            row = value[p if value.shape[0] > 1 else 0]
            operand = f" (operand {n})" if len(args) > 1 else ""
            if row.ndim == 0:
                print(f"{prefix} {text}{operand}: {_text(row)}")
                continue
            for index in itertools.product(*(range(d) for d in row.shape)):
                print(f"{prefix} idx ({', '.join(map(str, index))}) {text}{operand}: "
                      f"{_text(row[index])}")
    return []


@handles("tile.assert")
def _assert(ex: Executor, op, args):
    holds = args[0].reshape(args[0].shape[0], -1).all(axis=1)
    if not holds.all():
        p = int(np.nonzero(~holds)[0][0]) if holds.shape[0] > 1 else 0
        message = ir.StringAttr(op.attributes["message"]).value
        pid = tuple(int(i) for i in ex.pids[p])
        raise error_at(op, f"device assertion failed in program {pid}: {message}",
                       DeviceAssertionError)
    return []
