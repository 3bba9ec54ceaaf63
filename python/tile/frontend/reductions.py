"""Reductions, scans and layout changes of tiles: `tile.sum`, `max`, `min`,
`argmax`, `argmin`, `cumsum`, `cumprod` and `transpose`.

A mixin of the one visitor (`CodeGenerator`), as builtins.py is: `builtin_<name>`
implements `tile.<name>` with the parameters of its declaration in language.py.
"""
from __future__ import annotations

from mlir import ir

from .. import language as tl
from .ir import ScalarType, TileType, Value

ARG_KINDS = ("argmax", "argmin")


class Reductions:
    def reduce_axis(self, node, what: str, x: Value, axis) -> int:
        rank = len(x.type.shape)
        axis = self.constexpr_int(node, axis, f"{what}'s axis")
        if not -rank <= axis < rank:
            raise self.error(node, f"{what}'s axis {axis} is out of range for {x.type}")
        return axis % rank

    def reduce(self, node, kind: str, x, axis):
        """tile.reduce along `axis`, or over every dimension to a scalar (axis None,
        or a 1-D tile); argmax/argmin compare as max/min do and give int32 indices."""
        x = self.tile(node, x, f"{kind}'s argument")
        shape = x.type.shape
        dim = None if axis is None else self.reduce_axis(node, kind, x, axis)
        if dim is not None and len(shape) > 1:
            kept = shape[:dim] + shape[dim + 1:]
        else:  # every dimension; a 1-D tile's only one
            dim, kept = 0, None

        def emit(x):
            dtype = tl.int32 if kind in ARG_KINDS else x.type.dtype
            result = ScalarType(dtype) if kept is None else TileType(kept, dtype)
            b = self.builder
            return self.emit(node, result, b.ops.reduce, b.type(result),
                             b.attr(f"#tile<reduce_kind {kind}>"), x.ir,
                             ir.IntegerAttr.get(b.type(ScalarType(tl.int32)), dim))
        if kind in ARG_KINDS:  # the index needs no rounding back
            compute, _ = self.op_dtypes(node, "max", kind, x)
            return emit(self.cast(node, x, compute))
        return self.computed_in(node, kind, kind, x, emit)

    def builtin_max(self, node, x, axis=None):
        return self.reduce(node, "max", x, axis)

    def builtin_min(self, node, x, axis=None):
        return self.reduce(node, "min", x, axis)

    def builtin_sum(self, node, x, axis=None):
        return self.reduce(node, "sum", x, axis)

    def builtin_argmax(self, node, x, axis=None):
        return self.reduce(node, "argmax", x, axis)

    def builtin_argmin(self, node, x, axis=None):
        return self.reduce(node, "argmin", x, axis)

    def scan(self, node, kind: str, what: str, x, axis):
        """tile.scan: computed as `sum` is (f16/bf16 in f32, narrow integers in int32)."""
        x = self.tile(node, x, f"{what}'s argument")
        dim = self.reduce_axis(node, what, x, axis)

        def emit(x):
            b = self.builder
            return self.emit(node, x.type, b.ops.scan, b.attr(f"#tile<scan_kind {kind}>"), x.ir,
                             ir.IntegerAttr.get(b.type(ScalarType(tl.int32)), dim))
        return self.computed_in(node, "sum", what, x, emit)

    def builtin_cumsum(self, node, x, axis=0):
        return self.scan(node, "sum", "cumsum", x, axis)

    def builtin_cumprod(self, node, x, axis=0):
        return self.scan(node, "prod", "cumprod", x, axis)

    def builtin_transpose(self, node, x):
        x = self.tile(node, x, "transpose's argument", 2)
        result = TileType(x.type.shape[::-1], x.type.dtype)
        return self.emit(node, result, self.builder.ops.transpose, self.builder.type(result),
                         x.ir)
