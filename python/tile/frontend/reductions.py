"""Reductions and layout changes of tiles: `tile.sum`, `max`, `min` and
`transpose`.

A mixin of the one visitor (`CodeGenerator`), as builtins.py is: `builtin_<name>`
implements `tile.<name>` with the parameters of its declaration in language.py.
"""
from __future__ import annotations

from mlir import ir

from .. import language as tl
from .ir import ScalarType, TileType


class Reductions:
    def reduce(self, node, kind: str, x, axis):
        x = self.tile(node, x, f"{kind}'s argument")
        rank = len(x.type.shape)
        axis = self.constexpr_int(node, axis, f"{kind}'s axis")
        if rank < 2:
            raise self.error(node, f"{kind} of a 1-D tile to a scalar is not supported yet "
                             f"(got {x.type})")
        if not -rank <= axis < rank:
            raise self.error(node, f"{kind}'s axis {axis} is out of range for {x.type}")
        axis %= rank

        def emit(x):
            result = TileType(x.type.shape[:axis] + x.type.shape[axis + 1:], x.type.dtype)
            b = self.builder
            return self.emit(node, result, b.ops.reduce, b.type(result),
                             b.attr(f"#tile<reduce_kind {kind}>"), x.ir,
                             ir.IntegerAttr.get(b.type(ScalarType(tl.int32)), axis))
        return self.computed_in(node, kind, kind, x, emit)

    def builtin_max(self, node, x, axis):
        return self.reduce(node, "max", x, axis)

    def builtin_min(self, node, x, axis):
        return self.reduce(node, "min", x, axis)

    def builtin_sum(self, node, x, axis):
        return self.reduce(node, "sum", x, axis)

    def builtin_transpose(self, node, x):
        x = self.tile(node, x, "transpose's argument", 2)
        result = TileType(x.type.shape[::-1], x.type.dtype)
        return self.emit(node, result, self.builder.ops.transpose, self.builder.type(result),
                         x.ir)
