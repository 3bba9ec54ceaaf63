"""Reductions, scans and layout changes of tiles: `tile.sum`, `max`, `min`,
`argmax`, `argmin`, `topk`, `sort`, `gather`, `cumsum`, `cumprod` and `transpose`.

A mixin of the one visitor (`CodeGenerator`), as builtins.py is: `builtin_<name>`
implements `tile.<name>` with the parameters of its declaration in language.py.
"""
from __future__ import annotations

import ast

from mlir import ir

from .. import language as tl
from .ir import ScalarType, TileType, Value
from .semantics import describe

ARG_KINDS = ("argmax", "argmin")


class Reductions:
    def reduce_axis(self, node, what: str, x: Value, axis) -> int:
        rank = len(x.type.shape)
        axis = self.constexpr_int(node, axis, f"{what}'s axis")
        if not -rank <= axis < rank:
            raise self.error(node, f"{what}'s axis {axis} is out of range for {x.type}")
        return axis % rank

    def reduce(self, node, kind: str, x, axis, keep_dims=False):
        """tile.reduce along `axis`, or over every dimension to a scalar (axis None,
        or a 1-D tile); argmax/argmin compare as max/min do and give int32 indices.
        keep_dims: the reduced dims stay, of size 1."""
        x = self.tile(node, x, f"{kind}'s argument")
        if self.constexpr_bool(node, keep_dims, f"{kind}'s keep_dims"):
            reduced = self.reduce(node, kind, x, axis)
            shape = list(x.type.shape)
            for d in range(len(shape)) if axis is None else [self.reduce_axis(node, kind, x,
                                                                                axis)]:
                shape[d] = 1
            if isinstance(reduced.type, ScalarType):
                return self.fill(node, kind, tuple(shape), reduced, reduced.type.dtype)
            return self.reshape(node, reduced, tuple(shape))
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

    def builtin_max(self, node, x, axis=None, keep_dims=False):
        return self.reduce(node, "max", x, axis, keep_dims)

    def builtin_min(self, node, x, axis=None, keep_dims=False):
        return self.reduce(node, "min", x, axis, keep_dims)

    def builtin_sum(self, node, x, axis=None, keep_dims=False):
        return self.reduce(node, "sum", x, axis, keep_dims)

    def builtin_argmax(self, node, x, axis=None, keep_dims=False):
        return self.reduce(node, "argmax", x, axis, keep_dims)

    def builtin_argmin(self, node, x, axis=None, keep_dims=False):
        return self.reduce(node, "argmin", x, axis, keep_dims)

    def builtin_topk(self, node, x, k, axis=-1):
        """k rounds, each taking the first greatest element not yet taken: an
        argmax over x with the taken elements at the lowest value, its value (a
        sum of the one element, exact, NaN kept), and, where that value is the
        lowest (every element left is: a taken one may have won the tie), the
        first element not taken instead. Built of reduce, select and compare."""
        x = self.tile(node, x, "topk's argument")
        shape = x.type.shape
        dim = self.reduce_axis(node, "topk", x, axis)
        k = self.constexpr_int(node, k, "topk's k")
        n = shape[dim]
        if not 1 <= k <= n or k & (k - 1):
            raise self.error(node, f"topk's k must be a power of two of at most {n} (the size of "
                             f"axis {dim} of {x.type}), got {k}")
        compute, _ = self.op_dtypes(node, "max", "topk", x)
        xs = self.cast(node, x, compute)
        low = float("-inf") if compute.is_float else -2 ** 31
        along = None if len(shape) == 1 else dim  # the reductions' axis: None gives scalars

        def line(m):  # 0 .. m-1 along dim, to broadcast against x
            iota = self.builtin_arange(node, m)
            return self.with_ones(node, iota, tuple(m if d == dim else 1
                                                    for d in range(len(shape))), "topk")

        def spread(r):  # a reduction's result, to broadcast along dim again
            return r if len(shape) == 1 else self.add_dim(node, r, dim)

        def eq(a, b):
            return self.compare(node, ast.Eq(), a, b)
        position, slot = line(n), line(k)
        free = values = indices = None
        for r in range(k):
            left = xs if free is None else self.select(node, free, xs, low)
            best = self.reduce(node, "argmax", left, along)
            top = self.reduce(node, "sum", self.select(node, eq(position, spread(best)), left,
                                                       -0.0 if compute.is_float else 0), along)
            if free is not None:
                first_free = self.reduce(node, "min", self.select(node, free, position, n), along)
                best = self.select(node, eq(top, low), first_free, best)
            chosen = self.compare(node, ast.NotEq(), position, spread(best))
            free = chosen if free is None else self.binary(node, ast.BitAnd(), free, chosen)
            here = eq(slot, r)
            values = self.select(node, here, spread(top), 0 if values is None else values)
            indices = self.select(node, here, spread(best), 0 if indices is None else indices)
        return self.cast(node, values, x.type.dtype), indices

    def builtin_sort(self, node, x, axis=-1, descending=False):
        """tile.sort: computed as `max` compares (f16/bf16 as f32, narrow
        integers as int32); the values converted back."""
        x = self.tile(node, x, "sort's argument")
        dim = self.reduce_axis(node, "sort", x, axis)
        descending = self.constexpr_bool(node, descending, "sort's descending")
        compute, _ = self.op_dtypes(node, "max", "sort", x)
        xs = self.cast(node, x, compute)
        b = self.builder
        indices = TileType(x.type.shape, tl.int32)
        values, order = b.ops.sort(b.type(xs.type), b.type(indices), xs.ir,
                                   ir.IntegerAttr.get(b.type(ScalarType(tl.int32)), dim),
                                   descending=descending or None, loc=b.at(self.loc(node)),
                                   ip=b.ip)
        return self.cast(node, Value(values, xs.type), x.type.dtype), Value(order, indices)

    def builtin_gather(self, node, x, index, axis):
        """tile.take: x computed as `max` compares (f16/bf16 as f32, narrow integers
        as int32: exact both ways), the picked values converted back."""
        x = self.tile(node, x, "gather's argument")
        index = self.tile(node, index, "gather's index")
        dim = self.reduce_axis(node, "gather", x, axis)
        if index.type.dtype != tl.int32 or len(index.type.shape) != len(x.type.shape) or any(
                n != m for d, (n, m) in enumerate(zip(index.type.shape, x.type.shape))
                if d != dim):
            raise self.error(node, f"gather's index must be an int32 tile of {x.type}'s sizes "
                             f"but along axis {dim}, got {describe(index)}")
        def emit(xs):
            b, result = self.builder, TileType(index.type.shape, xs.type.dtype)
            return self.emit(node, result, b.ops.take, b.type(result), xs.ir, index.ir,
                             ir.IntegerAttr.get(b.type(ScalarType(tl.int32)), dim))
        return self.computed_in(node, "max", "gather", x, emit)

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
