"""Tile IR as text: the types the frontend tracks and a builder that prints ops.

The frontend prints IR rather than calling MLIR builders: the parser and
verifier then report any mistake as a diagnostic with the op's location,
never as an assertion abort inside MLIR.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import language as tl


@dataclass(frozen=True)
class ScalarType:
    dtype: tl.dtype

    def mlir(self) -> str:
        return self.dtype.mlir

    def __str__(self) -> str:
        return self.dtype.name


@dataclass(frozen=True)
class PtrType:
    dtype: tl.dtype

    def mlir(self) -> str:
        return f"!tile.ptr<{self.dtype.mlir}>"

    def __str__(self) -> str:
        return f"pointer to {self.dtype.name}"


@dataclass(frozen=True)
class TileType:
    shape: tuple[int, ...]
    dtype: tl.dtype

    def mlir(self) -> str:
        dims = "x".join(str(d) for d in self.shape)
        return f"tensor<{dims}x{self.dtype.mlir}>"

    def __str__(self) -> str:
        return f"tile[{', '.join(str(d) for d in self.shape)}] of {self.dtype.name}"


IRType = ScalarType | PtrType | TileType


@dataclass(frozen=True)
class Value:
    """An SSA value of the kernel being built."""

    name: str
    type: IRType


@dataclass
class Location:
    filename: str
    line: int
    col: int

    def mlir(self) -> str:
        name = self.filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'loc("{name}":{self.line}:{self.col + 1})'


@dataclass
class Argument:
    value: Value
    attrs: dict[str, str] = field(default_factory=dict)
    loc: Location | None = None


class Builder:
    """Prints one kernel function into a module."""

    def __init__(self):
        self._lines: list[str] = []
        self._next = 0
        self._indent = 2

    def fresh(self, type_: IRType) -> Value:
        self._next += 1
        return Value(f"%{self._next}", type_)

    def op(self, text: str, loc: Location, result: IRType | None = None) -> Value | None:
        """Emits `[%r = ]text loc(...)`; `text` is everything after the `=`."""
        value = self.fresh(result) if result is not None else None
        prefix = f"{value.name} = " if value else ""
        self._lines.append(" " * (self._indent * 2) + f"{prefix}{text} {loc.mlir()}")
        return value

    def module(self, name: str, args: list[Argument], attrs: dict[str, str],
               loc: Location) -> str:
        params = []
        for a in args:
            extra = ""
            if a.attrs:
                extra = " {" + ", ".join(f"{k} = {v}" for k, v in a.attrs.items()) + "}"
            aloc = f" {a.loc.mlir()}" if a.loc else ""
            params.append(f"{a.value.name}: {a.value.type.mlir()}{extra}{aloc}")
        fattrs = ", ".join(k if v is None else f"{k} = {v}" for k, v in attrs.items())
        body = "\n".join(self._lines)
        return (f"module {{\n  func.func @{name}({', '.join(params)}) attributes {{{fattrs}}} {{\n"
                f"{body}\n    return {loc.mlir()}\n  }} {loc.mlir()}\n}}\n")
