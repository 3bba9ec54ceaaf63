"""Errors that point at the user's kernel source."""
from __future__ import annotations


class KernelSourceError(Exception):
    """An error at a place in a kernel's source.

    The message names the kernel's file, line and column, shows the source
    line with a caret under the column, and says what is wrong.
    """

    def __init__(self, message: str, filename: str | None = None,
                 lineno: int | None = None, col: int | None = None,
                 source_line: str | None = None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col = col
        self.source_line = source_line
        super().__init__(self._format())

    def _format(self) -> str:
        if self.filename is None or self.lineno is None:
            return self.message
        where = f"{self.filename}:{self.lineno}:{(self.col or 0) + 1}"
        text = f"{where}: error: {self.message}"
        if self.source_line is not None:
            line = self.source_line.rstrip("\n")
            stripped = line.lstrip()
            indent = len(line) - len(stripped)
            caret_col = max((self.col or 0) - indent, 0)
            text += f"\n    {stripped}\n    {' ' * caret_col}^"
        return text


class CompilationError(KernelSourceError):
    """A kernel the compiler cannot accept."""


class InterpreterError(KernelSourceError):
    """A kernel that went wrong while interpreted on the CPU (`tile.interpreter`),
    e.g. an access outside an array that the GPU would have made silently."""
