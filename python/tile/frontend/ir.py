"""Tile IR as text: the types the frontend tracks and a builder that prints ops.

The frontend prints IR rather than calling MLIR builders: the parser and
verifier then report any mistake as a diagnostic with the op's location,
never as an assertion abort inside MLIR.
"""
from __future__ import annotations

import math
import re
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
class ViewType:
    dtype: tl.dtype
    rank: int

    def mlir(self) -> str:
        return f"!tile.view<{self.dtype.mlir}, {self.rank}>"

    def __str__(self) -> str:
        return f"{self.rank}-D view of {self.dtype.name}"


@dataclass(frozen=True)
class TileType:
    shape: tuple[int, ...]
    dtype: tl.dtype

    def mlir(self) -> str:
        dims = "x".join(str(d) for d in self.shape)
        return f"tensor<{dims}x{self.dtype.mlir}>"

    def __str__(self) -> str:
        return f"tile[{', '.join(str(d) for d in self.shape)}] of {self.dtype.name}"


IRType = ScalarType | PtrType | ViewType | TileType


@dataclass(frozen=True)
class Value:
    """An SSA value of the kernel being built."""

    name: str
    type: IRType


# Bit patterns of the infinities and NaN: MLIR float literals have no `inf`.
_SPECIAL_FLOATS = {  # mlir type: (+inf, -inf, nan); None where the type has none
    "f32": ("0x7F800000", "0xFF800000", "0x7FC00000"),
    "f16": ("0x7C00", "0xFC00", "0x7E00"),
    "bf16": ("0x7F80", "0xFF80", "0x7FC0"),
    "f8E5M2": ("0x7C", "0xFC", "0x7E"),
    "f8E4M3FN": (None, None, "0x7F"),
}
_MAX_FINITE = {"f32": 3.4028234663852886e38, "f16": 65504.0, "bf16": 3.3895313892515355e38,
               "f8E5M2": 57344.0, "f8E4M3FN": 448.0}
_INT_RANGE = {bits: (-2**(bits - 1), 2**(bits - 1) - 1) for bits in (8, 16, 32, 64)}


def literal(value, dtype: tl.dtype) -> str:
    """The MLIR literal of a Python number as `dtype`; ValueError if it does not fit."""
    if dtype == tl.int1:
        if value not in (0, 1):
            raise ValueError(f"{value!r} is not a boolean")
        return "true" if value else "false"
    if not dtype.is_float:
        if isinstance(value, float):
            raise ValueError(f"the float {value!r} is not an {dtype.name}")
        low, high = _INT_RANGE[dtype.bits]
        if not low <= int(value) <= high:
            raise ValueError(f"{value} does not fit in {dtype.name}")
        return str(int(value))
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        pos, neg, nan = _SPECIAL_FLOATS[dtype.mlir]
        text = nan if math.isnan(value) else pos if value > 0 else neg
        if text is None:
            raise ValueError(f"{dtype.name} has no infinity")
        return text
    if abs(value) > _MAX_FINITE[dtype.mlir]:
        raise ValueError(f"{value!r} does not fit in {dtype.name}")
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:  # '1e-30': MLIR wants a '.' in a float literal
        text = f"{mantissa}.0" + (f"e{exponent}" if exponent else "")
    return text


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


_NAME_HINT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Builder:
    """Prints one kernel function into a module.

    Ops go to the innermost open block; `push_block`/`pop_block` bracket the
    body of a region (a loop body, an `if` branch), which `region_op` then
    prints inside its op. `entry_op` puts an op at the top of the function,
    before everything else, for values that only depend on the parameters.
    """

    def __init__(self):
        self._blocks: list[list[str]] = [[]]
        self._entry: list[str] = []
        self._next = 0

    def fresh(self, type_: IRType, hint: str | None = None) -> Value:
        """A new SSA name; `hint` (a Python variable name) makes it readable."""
        self._next += 1
        if hint and _NAME_HINT.match(hint):
            return Value(f"%{hint}_{self._next}", type_)
        return Value(f"%{self._next}", type_)

    def op(self, text: str, loc: Location, result: IRType | None = None) -> Value | None:
        """Emits `[%r = ]text loc(...)`; `text` is everything after the `=`."""
        value = self.fresh(result) if result is not None else None
        prefix = f"{value.name} = " if value else ""
        self._blocks[-1].append(f"{prefix}{text} {loc.mlir()}")
        return value

    def entry_op(self, text: str, loc: Location, result: IRType) -> Value:
        value = self.fresh(result)
        self._entry.append(f"{value.name} = {text} {loc.mlir()}")
        return value

    def push_block(self, header: str | None = None) -> None:
        """Opens a region's block; `header` is its `^bb0(...)` line, if it has arguments."""
        self._blocks.append([header] if header else [])

    def pop_block(self) -> list[str]:
        return self._blocks.pop()

    def region_op(self, results: list[IRType], head: str, regions: list[tuple[str, list[str]]],
                  loc: Location) -> list[Value]:
        """Emits an op with regions: `head {` region 0 `} else {` region 1 ... `}`.

        Each region is (the text that opens it, its lines); the first opener
        follows `head`. Returns the op's results."""
        first = self.fresh(results[0]) if results else None
        if len(results) == 1:
            values, prefix = [first], f"{first.name} = "
        elif results:
            values = [Value(f"{first.name}#{i}", t) for i, t in enumerate(results)]
            prefix = f"{first.name}:{len(results)} = "
        else:
            values, prefix = [], ""
        lines = self._blocks[-1]
        for i, (opener, body) in enumerate(regions):
            lines.append(f"{prefix}{head} {opener}" if i == 0 else f"}} {opener}")
            lines.extend("  " + line for line in body)
        lines.append(f"}} {loc.mlir()}")
        return values

    def module(self, name: str, args: list[Argument], attrs: dict[str, str],
               loc: Location) -> str:
        assert len(self._blocks) == 1, "a region was left open"
        params = []
        for a in args:
            extra = ""
            if a.attrs:
                extra = " {" + ", ".join(f"{k} = {v}" for k, v in a.attrs.items()) + "}"
            aloc = f" {a.loc.mlir()}" if a.loc else ""
            params.append(f"{a.value.name}: {a.value.type.mlir()}{extra}{aloc}")
        fattrs = ", ".join(k if v is None else f"{k} = {v}" for k, v in attrs.items())
        body = "".join(f"    {line}\n" for line in self._entry + self._blocks[0])
        return (f"module {{\n  func.func @{name}({', '.join(params)}) attributes {{{fattrs}}} {{\n"
                f"{body}    return {loc.mlir()}\n  }} {loc.mlir()}\n}}\n")
