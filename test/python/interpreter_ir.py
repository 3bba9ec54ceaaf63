"""Running hand-written tile IR on the interpreter, for the interpreter's tests."""
import re

import pytest
from mlir import ir

import tile.interpreter
from tile.errors import CompilationError

_NOT_IN_DIALECT_YET = re.compile(r"custom op '[\w.]+' is unknown|unknown\s+type `\w+` in dialect")


def run_ir(text: str, arguments: list, grid=1) -> None:
    """Interprets tile IR in the syntax of docs/dialect.md, parsed by the C++ dialect.
    Skips (with the parser's message) while an op it uses is still planned."""
    try:
        tile.interpreter.run(text, arguments, grid)
    except CompilationError as e:
        if _NOT_IN_DIALECT_YET.search(str(e)):
            pytest.skip(f"not in the C++ dialect yet: {e.message}")
        raise


def run_generic_ir(text: str, arguments: list, grid=1) -> None:
    """Interprets IR whose tile ops are in MLIR's generic form, parsed without the
    tile dialect: this tests the handlers of ops the C++ does not parse yet. The
    attribute names (`kind`, `dim`, `axis`, `transpose_b`) are the ones
    docs/dialect.md prints."""
    with ir.Context() as context, ir.Location.unknown():
        context.allow_unregistered_dialects = True
        tile.interpreter.run(ir.Module.parse(text), arguments, grid)
