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
        self.callers: list[tuple[str, int]] = []  # call sites of inlined helpers, innermost first
        super().__init__(self._format())

    def add_caller(self, filename: str, lineno: int) -> None:
        """Notes that the failing code was inlined from a call at filename:lineno."""
        self.callers.append((filename, lineno))
        self.args = (self._format(),)

    def __str__(self) -> str:
        return self._format()

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
        for filename, lineno in self.callers:
            text += f"\n  called from {filename}:{lineno}"
        return text


class CompilationError(KernelSourceError):
    """A kernel the compiler cannot accept."""


class InterpreterError(KernelSourceError):
    """A kernel that went wrong while interpreted on the CPU (`tile.interpreter`),
    e.g. an access outside an array that the GPU would have made silently."""


class CaptureError(RuntimeError):
    """A launch inside a CUDA graph capture that would compile, load or tune a
    kernel (work a capture cannot hold): warm the kernel up before capturing."""
