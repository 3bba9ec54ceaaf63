"""Gathers, scatters, masks and atomics: the `tile.*` accesses through a tile
of element offsets, and `mask=` on every load and store.

A mixin of the one visitor (`CodeGenerator`). `builtins.py`'s load and store
hand a call here when its second argument is a tile of offsets or it has a
mask; the atomics are `builtin_atomic_*`.

Offsets count elements from the array's first one in memory, as Triton's
pointer arithmetic does: on a contiguous array, the row-major flat index
(`i * n + j` in an m x n array); a strided array's element (i, j) is at
`i * stride0 + j * stride1`. A gather reads nothing where its mask is false.

A masked view or 1-D load is the bounded load (it never reads outside the
array's sizes or the bound; a 1-D load without a bound is bounded by the
array's size) and a select of `other` where the mask is false: the fast
paths (TMA, vector loads) stay. A masked view or 1-D store must not write
where the mask is false, so it is a scatter to offsets computed from the
start, the strides and the sizes.
"""
from __future__ import annotations

import ast
import dataclasses
import math

from mlir.dialects import arith

from .. import language as tl
from .ir import ScalarType, TileType, Value, literal
from .semantics import ArrayArg, Expanded, Number, describe
from .shapes import broadcast_shapes

OFFSET_DTYPES = (tl.int32, tl.int64)
# The spellings of the dialect's memory-semantics and scope enums (TileAttrs.td);
# which element types each atomic takes is the verifier's rule, reported at the line.
SEMANTICS = ("relaxed", "acquire", "release", "acq_rel")
SCOPES = ("cta", "gpu", "sys")


class Indexed:
    # -- dispatch from builtins.py's load/store -------------------------------------
    def is_indexed(self, offset, mask) -> bool:
        """Whether a load/store goes through offsets or a mask (this mixin)."""
        return mask is not None or self.is_offset_tile(offset)

    @staticmethod
    def is_offset_tile(offset) -> bool:
        return isinstance(offset, Expanded) or \
            isinstance(offset, Value) and isinstance(offset.type, TileType)

    def indexed_load(self, node, array, offset, shape, bound, multicast, mask, other):
        if self.is_offset_tile(offset):
            return self.gather(node, array, offset, shape, bound, multicast, mask, other)
        # A view or 1-D load with a mask: the bounded load, then `other` where masked off.
        array = self.array(node, array, "load's first argument")
        if bound is None and not isinstance(offset, (tuple, list)) and array.rank == 1:
            bound = array.sizes[0]  # elements past the end must not be read
        loaded = self.builtin_load(node, array, offset, shape, bound, multicast)
        keep = self.mask(node, mask, loaded.type.shape, "load")
        if keep is None:
            self.other(node, other, array.dtype)  # still checked
            return loaded
        fill = self.coerce(node, self.other(node, other, array.dtype), loaded.type.shape,
                           array.dtype, "load's other")
        return self.emit(node, loaded.type, arith.select, keep.ir, loaded.ir, fill.ir,
                         results=[self.builder.type(loaded.type)])

    def indexed_store(self, node, array, offset, value, bound, mask):
        array = self.array(node, array, "store's first argument")
        if self.is_offset_tile(offset):
            if bound is not None:
                raise self.error(node, "store: `bound` is for the 1-D form; a scatter's "
                                 "elements are kept by its mask")
            offsets = self.offsets(node, offset, "store")
            # A number or scalar is stored to every offset, as Triton's tl.store.
            value = self.operand(node, value, offsets.type.shape, array, "store's value")
            return self.scatter(node, array, offsets, value, mask, None)
        value = self.tile(node, value, "store's value")
        if isinstance(offset, (tuple, list)):
            array, offsets, inside = self.box_offsets(node, array, offset, value.type.shape,
                                                      "store")
        else:
            array, offsets, inside = self.range_offsets(node, array, offset, value.type.shape,
                                                        bound)
        if value.type.dtype != array.dtype:
            raise self.error(node, f"store of a {value.type} to {describe(array)}: element "
                             "types differ (convert with .to(dtype) first)")
        return self.scatter(node, array, offsets, value, mask, inside)

    def scatter(self, node, array: ArrayArg, offsets: Value, value: Value, mask, inside):
        """value[k] to the element at offsets[k] where the mask and `inside` hold."""
        keep = self.both(node, self.mask(node, mask, offsets.type.shape, "store"), inside)
        self.emit(node, None, self.builder.ops.scatter, value.ir, array.pointer.ir, offsets.ir,
                  mask=keep.ir if keep is not None else None)

    # -- gathers -----------------------------------------------------------------------
    def gather(self, node, array, offset, shape, bound, multicast, mask, other):
        array = self.array(node, array, "load's first argument")
        offsets = self.offsets(node, offset, "load")
        if shape is not None:
            raise self.error(node, "load: a gather takes no shape (its tile has the offsets' "
                             f"shape, {offsets.type.shape}); pass a mask as mask=")
        if bound is not None:
            raise self.error(node, "load: `bound` is for the 1-D form; a gather's elements "
                             "are kept by its mask (mask=)")
        if multicast is not False:
            raise self.error(node, "load: multicast is for the view form, not a gather")
        keep = self.mask(node, mask, offsets.type.shape, "load")
        fill = self.other(node, other, array.dtype)
        if keep is None or isinstance(fill, Number) and fill == 0 and \
                math.copysign(1, fill) > 0:
            fill = None  # masked-off elements of a gather are +0 without `other`
        elif isinstance(fill, Number):
            fill = self.constant(node, fill, ScalarType(array.dtype))
        result = TileType(offsets.type.shape, array.dtype)
        b = self.builder
        return self.emit(node, result, b.ops.gather, b.type(result), array.pointer.ir,
                         offsets.ir, mask=keep.ir if keep is not None else None,
                         other=fill.ir if fill is not None else None)

    # -- atomics -------------------------------------------------------------------------
    def atomic(self, node, kind: str, x, offsets, value, mask, sem, scope):
        what = f"atomic_{kind}"
        array = self.array(node, x, f"{what}'s first argument")
        offsets, one = self.atomic_offsets(node, offsets, what)
        value = self.operand(node, value, offsets.type.shape, array, f"{what}'s value")
        keep = self.mask(node, mask, offsets.type.shape, what)
        b = self.builder
        old = self.emit(node, value.type, b.ops.atomic_rmw, b.attr(f"#tile<atomic_kind {kind}>"),
                        array.pointer.ir, offsets.ir, value.ir,
                        mask=keep.ir if keep is not None else None,
                        **self.ordering(node, sem, scope, what))
        return self.builtin_squeeze(node, old) if one else old

    def atomic_offsets(self, node, offsets, what: str) -> tuple[Value, bool]:
        """An atomic's offsets tile, and whether it stands for one scalar offset (one
        element, as Triton's tl.atomic_add(ptr + i, v): the old value is a scalar)."""
        if not self.scalar_offsets(offsets) or isinstance(offsets, (tuple, list)):
            return self.offsets(node, offsets, what), False
        dtype = self.dtype_of(offsets) if isinstance(offsets, Value) else tl.int32
        return self.fill(node, what, (1,), offsets,
                         dtype if dtype in OFFSET_DTYPES else tl.int32), True

    def builtin_atomic_add(self, node, x, offsets, value, mask=None, sem="acq_rel", scope="gpu"):
        return self.atomic(node, "add", x, offsets, value, mask, sem, scope)

    def builtin_atomic_max(self, node, x, offsets, value, mask=None, sem="acq_rel", scope="gpu"):
        return self.atomic(node, "max", x, offsets, value, mask, sem, scope)

    def builtin_atomic_min(self, node, x, offsets, value, mask=None, sem="acq_rel", scope="gpu"):
        return self.atomic(node, "min", x, offsets, value, mask, sem, scope)

    def builtin_atomic_xchg(self, node, x, offsets, value, mask=None, sem="acq_rel",
                            scope="gpu"):
        return self.atomic(node, "xchg", x, offsets, value, mask, sem, scope)

    def builtin_atomic_cas(self, node, x, offsets, cmp, value, mask=None, sem="acq_rel",
                           scope="gpu"):
        array = self.array(node, x, "atomic_cas's first argument")
        offsets, one = self.atomic_offsets(node, offsets, "atomic_cas")
        shape = offsets.type.shape
        cmp = self.operand(node, cmp, shape, array, "atomic_cas's cmp")
        value = self.operand(node, value, shape, array, "atomic_cas's value")
        keep = self.mask(node, mask, shape, "atomic_cas")
        old = self.emit(node, value.type, self.builder.ops.atomic_cas, array.pointer.ir,
                        offsets.ir, cmp.ir, value.ir,
                        mask=keep.ir if keep is not None else None,
                        **self.ordering(node, sem, scope, "atomic_cas"))
        return self.builtin_squeeze(node, old) if one else old

    def ordering(self, node, sem, scope, what: str) -> dict:
        for value, name, allowed in ((sem, "sem", SEMANTICS), (scope, "scope", SCOPES)):
            if value not in allowed or not isinstance(value, str):
                raise self.error(node, f"{what}'s {name} must be one of "
                                 f"{', '.join(repr(a) for a in allowed)}, got {describe(value)}")
        return {"sem": self.builder.attr(f"#tile<sem {sem}>"),
                "scope": self.builder.attr(f"#tile<scope {scope}>")}

    # -- operands ------------------------------------------------------------------------
    def offsets(self, node, offset, what: str) -> Value:
        """The offsets tile: int32 or int64 (int8/int16 widen to int32)."""
        if not isinstance(offset, Value) or not isinstance(offset.type, TileType):
            raise self.error(node, f"{what}'s offsets must be an int32 or int64 tile, got "
                             f"{describe(offset)}")
        dtype = offset.type.dtype
        if dtype.is_float or dtype == tl.int1:
            raise self.error(node, f"{what}'s offsets must be an int32 or int64 tile (element "
                             f"offsets into the array), got {offset.type}")
        return offset if dtype in OFFSET_DTYPES else self.cast(node, offset, tl.int32)

    def mask(self, node, mask, shape: tuple[int, ...], what: str) -> Value | None:
        """The mask as an i1 tile of `shape` (None: every element)."""
        if mask is None or mask is True:
            return None
        if mask is False:
            return self.constant(node, False, TileType(shape, tl.int1))
        if not self.is_runtime(mask) or self.dtype_of(mask) != tl.int1:
            raise self.error(node, f"{what}'s mask must be a boolean tile (a comparison), "
                             f"got {describe(mask)}")
        if not self.broadcasts(mask, shape):
            raise self.error(node, f"{what}'s mask is {describe(mask)} but the tile's shape "
                             f"is {list(shape)}: the mask must have its shape "
                             "(or broadcast to it with [:, None] / [None, :])")
        return self.coerce(node, mask, shape, tl.int1, f"{what}'s mask")

    @staticmethod
    def broadcasts(x, shape: tuple[int, ...]) -> bool:
        """Whether a runtime value broadcasts to a tile of `shape` (numpy's rule)."""
        return isinstance(x.type, ScalarType) or broadcast_shapes(x.type.shape, shape) == shape

    def other(self, node, other, dtype: tl.dtype):
        """`other` as a number of `dtype` or a scalar Value of it."""
        if isinstance(other, Number):
            try:
                return literal(other, dtype)
            except ValueError as e:
                raise self.error(node, f"load's other {other!r} cannot be {dtype.name}, the "
                                 f"array's element type: {e}") from None
        if isinstance(other, Value) and isinstance(other.type, ScalarType):
            if other.type.dtype != dtype:
                raise self.error(node, f"load's other is {describe(other)} but the array holds "
                                 f"{dtype.name} (convert with .to(dtype) first)")
            return other
        raise self.error(node, f"load's other must be a number or a scalar of {dtype.name}, "
                         f"got {describe(other)}")

    def operand(self, node, value, shape, array: ArrayArg, what: str) -> Value:
        """An atomic's value (or cmp) as a tile of `shape` and the array's dtype."""
        if self.is_runtime(value) and self.dtype_of(value) != array.dtype:
            raise self.error(node, f"{what} is {describe(value)} but {describe(array)} holds "
                             f"{array.dtype.name} (convert with .to(dtype) first)")
        if self.is_runtime(value) and not self.broadcasts(value, shape):
            raise self.error(node, f"{what} is {describe(value)} but the offsets' shape is "
                             f"{shape}: it must have that shape (or broadcast to it)")
        if isinstance(value, Number):
            try:
                literal(value, array.dtype)
            except ValueError as e:
                raise self.error(node, f"{what} {value!r} cannot be {array.dtype.name}: "
                                 f"{e}") from None
        return self.coerce(node, value, shape, array.dtype, what)

    # -- offsets of the view and 1-D forms --------------------------------------------------
    def both(self, node, a: Value | None, b: Value | None) -> Value | None:
        if a is None or b is None:
            return a if b is None else b
        return self.binary(node, ast.BitAnd(), a, b)

    def range_offsets(self, node, array: ArrayArg, start, shape, bound):
        """A 1-D store's (array, offsets, which are inside the bound): start + i, times
        the stride; a strided array's pointer is moved to the start (see box_offsets)."""
        if array.rank != 1:
            raise self.error(node, f"store: the 1-D form needs a 1-D array, got "
                             f"{describe(array)}; pass one offset per dimension")
        if len(shape) != 1:
            raise self.error(node, f"store of a {len(shape)}-D tile with one offset")
        start = self.int32(node, start, "store's offset")
        local = self.builtin_arange(node, shape[0])
        index = self.binary(node, ast.Add(), local, start)
        inside = None
        if bound is not None:
            inside = self.compare(node, ast.Lt(), index, self.int32(node, bound, "store's bound"))
        elif isinstance(array.strides[0], Value):  # as the strided form: within the size
            inside = self.compare(node, ast.Lt(), index, array.sizes[0])
        stride = array.strides[0]
        if stride == 1 and not isinstance(stride, Value):
            return array, index, inside  # below the size, which is below 2^31
        return self.moved(node, array, self.wide_offset(node, start, stride)), \
            self.scaled(node, local, stride), inside

    def box_offsets(self, node, array: ArrayArg, start, shape: tuple[int, ...], what: str):
        """A tile of `shape` at `start` (one offset per dim of the array; the tile takes the
        trailing dims): (the array with its pointer moved to the tile's first element,
        the element offsets from there, which elements are inside the array's sizes).
        The move is counted in 64 bits and the offsets within the tile in 32: an array
        may span 2^31 elements or more (row r of an m x n array is r · n elements in),
        the rows of one tile do not."""
        if len(start) != array.rank:
            raise self.error(node, f"{what}: {describe(array)} needs {array.rank} offsets, "
                             f"got {len(start)}")
        lead = array.rank - len(shape)
        first, offsets, inside = None, None, None
        for d, s in enumerate(start):
            begin = self.int32(node, s, f"{what}'s offset {d}")
            index = begin
            if d >= lead:
                local = self.builtin_arange(node, shape[d - lead])
                index = self.binary(node, ast.Add(), local, begin)
            ok = self.binary(node, ast.BitAnd(), self.compare(node, ast.GtE(), index, 0),
                             self.compare(node, ast.Lt(), index, array.sizes[d]))
            if not (isinstance(s, int) and s == 0):
                part = self.wide_offset(node, begin, array.strides[d])
                first = part if first is None else self.binary(node, ast.Add(), first, part)
            if d >= lead:
                part = self.scaled(node, local, array.strides[d])
                if len(shape) == 2:  # a row of offsets, then a column
                    ok = self.expand(node, ok, 1 - (d - lead))
                    part = self.expand(node, part, 1 - (d - lead))
                elif len(shape) > 2:  # a line along dim d of the tile, size 1 elsewhere
                    line = tuple(n if k == d - lead else 1 for k, n in enumerate(shape))
                    ok, part = (self.with_ones(node, x, line, what) for x in (ok, part))
                offsets = part if offsets is None else self.binary(node, ast.Add(), offsets, part)
            inside = ok if inside is None else self.binary(node, ast.BitAnd(), inside, ok)
        full = TileType(shape, offsets.type.dtype)
        return self.moved(node, array, first), \
            self.coerce(node, offsets, full.shape, full.dtype, what), \
            self.coerce(node, inside, shape, inside.type.dtype, what)

    def wide_offset(self, node, index: Value, stride) -> Value:
        """index * stride as an int64 scalar."""
        wide = self.cast(node, index, tl.int64)
        return wide if stride == 1 and not isinstance(stride, Value) else \
            self.binary(node, ast.Mult(), wide, stride)

    def moved(self, node, array: ArrayArg, offset: Value | None) -> ArrayArg:
        """The array with its pointer `offset` elements on (tile.addptr)."""
        if offset is None:
            return array
        pointer = self.emit(node, array.pointer.type, self.builder.ops.addptr, array.pointer.ir,
                            offset.ir)
        return dataclasses.replace(array, pointer=pointer)

    def scaled(self, node, index: Value, stride) -> Value:
        """index * stride (a stride specialized to 1 is the constant 1)."""
        return index if stride == 1 and not isinstance(stride, Value) else \
            self.binary(node, ast.Mult(), index, stride)
