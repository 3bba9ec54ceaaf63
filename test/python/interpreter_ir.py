"""Running hand-written tile IR on the interpreter, for the interpreter's tests."""
import re

import pytest

import tile.interpreter
from tile.errors import CompilationError

_NOT_PARSED = re.compile(r"custom op '[\w.]+' is unknown|unknown\s+type `\w+` in dialect")


def run_ir(text: str, arguments: list, grid=1) -> None:
    """Interprets tile IR in the syntax of docs/dialect.md, parsed and verified by the
    C++ dialect. Skips, with the parser's message, when the libTileCAPI.so in use
    predates an op the test uses (a build older than the tree)."""
    try:
        tile.interpreter.run(text, arguments, grid)
    except CompilationError as e:
        if _NOT_PARSED.search(str(e)):
            pytest.skip(f"this build of the C++ dialect does not parse it: {e.message}")
        raise
