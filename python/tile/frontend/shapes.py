"""Shapes of tiles: numpy's broadcasting, size-1 dims, `tile.expand_dims`,
`tile.squeeze` and `x.reshape`.

Tiles have one or two dims. `v[:, None]` of a 1-D tile v is an (N, 1) tile,
`v[None, :]` a (1, N) one (`Expanded`: the broadcast op that makes it, and v
itself, so that what combines it with other shapes starts from v). Operands
broadcast as in numpy: shapes align on the right and a dim of size 1 stretches.
The dialect's broadcast adds a dim to a 1-D tile; a size-1 dim is dropped by
taking the 1-D tile it was made from, else by a max over that one element (a
reduction along a dim of size 1: no exchange between threads).

A mixin of the one visitor (`CodeGenerator`).
"""
from __future__ import annotations

from mlir import ir

from .. import language as tl
from .ir import ScalarType, TileType, Value


class Expanded(Value):
    """`v[:, None]` (dim = 1: an (N, 1) tile) or `v[None, :]` (dim = 0: (1, N))
    of the 1-D tile `value`. `ir` is the broadcast op's result (None while only
    an operand of a broadcasting operation, which starts from `value`)."""

    def __init__(self, value: Value, dim: int, ir_value: ir.Value | None = None):
        n = value.type.shape[0]
        object.__setattr__(self, "ir", ir_value)
        object.__setattr__(self, "type", TileType((n, 1) if dim == 1 else (1, n),
                                                  value.type.dtype))
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "dim", dim)

    @property
    def dtype(self) -> tl.dtype:
        return self.type.dtype

    def __str__(self) -> str:
        index = "[:, None]" if self.dim == 1 else "[None, :]"
        return f"{self.type} (a 1-D tile{index})"


def tile_shape(x) -> tuple[int, ...]:
    """A runtime value's shape, () for a scalar or a number."""
    return x.type.shape if isinstance(x, Value) and isinstance(x.type, TileType) else ()


def defining_op(x: Value) -> ir.Operation | None:
    owner = x.ir.owner
    return owner.operation if isinstance(owner, (ir.Operation, ir.OpView)) else None


def broadcast_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """numpy's rule: aligned on the right, each pair of dims equal or one of them 1."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        return None
    return tuple(max(x, y) for x, y in zip(a, b))


class Shapes:
    # -- building blocks -------------------------------------------------------------
    def expand(self, node, value: Value, dim: int) -> Expanded:
        """The 1-D tile `value` as an (N, 1) (dim 1) or (1, N) (dim 0) tile."""
        shape = (value.type.shape[0], 1) if dim == 1 else (1, value.type.shape[0])
        full = self.broadcast_dim(node, value, dim, shape)  # erased if unused (ir.py)
        return Expanded(value, dim, full.ir)

    def broadcast_dim(self, node, value: Value, dim: int, shape: tuple[int, ...]) -> Value:
        target = TileType(shape, value.type.dtype)
        return self.emit(node, target, self.builder.ops.broadcast, self.builder.type(target),
                         value.ir, dim)

    def squeeze_dim(self, node, x: Value, dim: int) -> Value:
        """A 2-D tile with a size-1 `dim` as the 1-D tile of its other dim."""
        if isinstance(x, Expanded) and (x.dim == dim or x.type.shape == (1, 1)):
            return x.value
        kept = TileType(x.type.shape[:dim] + x.type.shape[dim + 1:], x.type.dtype)
        op = defining_op(x)
        if op is not None and op.name == "tile.broadcast" and \
                ir.IntegerAttr(op.attributes["dim"]).value == dim:
            return Value(op.operands[0], kept)
        return self.only_element(node, x, dim, kept)

    def only_element(self, node, x: Value, dim: int, result) -> Value:
        """A max along `dim`, of size 1: the element itself (a scalar `result` for a 1-D x)."""
        def emit(x):
            b = self.builder
            type_ = TileType(result.shape, x.type.dtype) if isinstance(result, TileType) \
                else ScalarType(x.type.dtype)
            return self.emit(node, type_, b.ops.reduce, b.type(type_),
                             b.attr("#tile<reduce_kind max>"), x.ir,
                             ir.IntegerAttr.get(b.type(ScalarType(tl.int32)), dim))
        return self.computed_in(node, "max", "a broadcast of a size-1 dim", x, emit)

    def scalar_of(self, node, v: Value) -> Value:
        """The one element of a 1-D tile of size 1, or of a (1, 1) tile."""
        if len(v.type.shape) == 2:
            v = self.squeeze_dim(node, v, 0)
        op = defining_op(v)
        if op is not None and op.name == "tile.splat":
            return Value(op.operands[0], ScalarType(v.type.dtype))
        return self.only_element(node, v, 0, ScalarType(v.type.dtype))

    def stretch(self, node, x: Value, shape: tuple[int, ...]) -> Value:
        """A tile `x` whose shape broadcasts to `shape` (same rank or 1-D to 2-D) as a
        tile of `shape`."""
        own = x.type.shape
        if own == shape:
            return x
        if all(d == 1 for d in own):
            return self.emit(node, TileType(shape, x.type.dtype), self.builder.ops.splat,
                             self.builder.type(TileType(shape, x.type.dtype)),
                             self.scalar_of(node, x).ir)
        if len(shape) == 1:
            raise AssertionError(f"{own} does not stretch to {shape}")
        if len(own) == 1:  # a row
            return self.broadcast_dim(node, x, 0, shape)
        dim = 0 if own[0] == 1 else 1  # the size-1 dim to stretch
        return self.broadcast_dim(node, self.squeeze_dim(node, x, dim), dim, shape)

    def line_of(self, node, x: Value, dim: int, length: int) -> Value:
        """The 1-D tile of `length` an operand of a broadcast that stays (1, N) (dim 0)
        or (N, 1) (dim 1) contributes: a row or column's own 1-D tile, stretched
        where it has size 1."""
        v = x.value if isinstance(x, Expanded) else x
        return self.stretch(node, v, (length,))

    def kept_lazy(self, operands: list, shape: tuple[int, ...] | None) -> int | None:
        """The dim a 2-D result of size 1 along it is computed without, on 1-D tiles:
        where every tile operand is a row, a column or a 1-D tile (no 2-D tile is
        built; the result is a row or column again)."""
        if shape is None or len(shape) != 2 or 1 not in shape:
            return None
        if any(len(tile_shape(x)) == 2 and not isinstance(x, Expanded) for x in operands):
            return None
        return 0 if shape[0] == 1 else 1

    # -- builtins ------------------------------------------------------------------------
    def builtin_expand_dims(self, node, x, axis):
        x = self.tile(node, x, "expand_dims's argument")
        axis = self.constexpr_int(node, axis, "expand_dims's axis")
        if len(x.type.shape) != 1:
            raise self.error(node, f"expand_dims takes a 1-D tile (tiles have at most 2 "
                             f"dims), got {x.type}")
        if axis not in (-2, -1, 0, 1):
            raise self.error(node, f"expand_dims's axis {axis} is out of range for a 2-D result")
        return self.expand(node, x, axis % 2)

    def builtin_squeeze(self, node, x, axis=None):
        x = self.tile(node, x, "squeeze's argument")
        shape = x.type.shape
        if axis is None:
            dims = [d for d, n in enumerate(shape) if n == 1]
        else:
            axis = self.constexpr_int(node, axis, "squeeze's axis")
            if not -len(shape) <= axis < len(shape):
                raise self.error(node, f"squeeze's axis {axis} is out of range for {x.type}")
            if shape[axis] != 1:
                raise self.error(node, f"squeeze's axis {axis} has size {shape[axis]} in "
                                 f"{x.type}; only a dim of size 1 can be removed")
            dims = [axis % len(shape)]
        return self.drop_dims(node, x, dims)

    def drop_dims(self, node, x: Value, dims: list[int]) -> Value:
        if len(dims) == len(x.type.shape):
            return self.scalar_of(node, x)
        if not dims:
            return x
        return self.squeeze_dim(node, x, dims[0])

    def builtin_reshape(self, node, x, shape):
        return self.reshape(node, x, shape)

    def reshape(self, node, x, shape) -> Value:
        """`x.reshape(shape)`: adds or removes dims of size 1."""
        x = self.tile(node, x, "reshape's argument")
        shape = self.tile_shape(node, shape, "reshape's shape")
        own = x.type.shape
        if [n for n in own if n != 1] != [n for n in shape if n != 1] or len(shape) > 2:
            raise self.error(node, f"reshape of {x.type} to {tuple(shape)}: only dims of size "
                             "1 are added or removed, to a shape of 1 or 2 dims")
        if tuple(shape) == own:
            return x
        core = x  # x without its size-1 dims (one of them if all are)
        for d in reversed(range(len(own))):
            if own[d] == 1 and len(core.type.shape) > 1:
                core = self.squeeze_dim(node, core, d)
        ones = [i for i, n in enumerate(shape) if n == 1]
        if all(n == 1 for n in core.type.shape):
            ones = ones[1:]  # core's own dim stands for the first
        for axis in ones:  # in increasing order, so each lands where shape has it
            core = self.expand(node, core, axis)
        return core
