"""Shapes of tiles: numpy's broadcasting, size-1 dims, `tile.expand_dims`,
`tile.squeeze`, `x[:, None]`-style indexing and `x.reshape`.

Tiles have any number of dims (loads take up to 5). `v[:, None]` of a 1-D tile
v is an (N, 1) tile, `v[None, :]` a (1, N) one (`Expanded`: the broadcast op
that makes it, and v itself, so that what combines it with other shapes starts
from v). Operands broadcast as in numpy: shapes align on the right and a dim of
size 1 stretches. The dialect's broadcast adds one dim to a tile (`dim`: where
the new dim lands): a size-1 dim is added by a broadcast to size 1, and dropped
by taking the tile a broadcast made it from, else by a max over that one element
(a reduction along a dim of size 1: no exchange between threads); a tile
stretches to a larger shape by dropping its size-1 dims that stretch, then
broadcasting along every dim it lacks, in increasing order.

A mixin of the one visitor (`CodeGenerator`).
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith

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


def _unmatched(short: tuple[int, ...], long_: tuple[int, ...]) -> list[int] | None:
    """The dims of `long_` (increasing) that are not `short`'s, where `short` is
    `long_` with some of its size-1 dims left out (else None)."""
    extra, i = [], 0
    for d, n in enumerate(long_):
        if i < len(short) and short[i] == n:
            i += 1
        elif n == 1:
            extra.append(d)
        else:
            return None
    return extra if i == len(short) else None


def broadcast_dim_of(x: Value) -> int | None:
    """The dim a tile.broadcast added to make `x` (None: x is not one)."""
    op = defining_op(x) if x.ir is not None else None
    if op is not None and op.name == "tile.broadcast":
        return ir.IntegerAttr(op.attributes["dim"]).value
    return None


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

    def add_dim(self, node, x: Value, dim: int, size: int = 1) -> Value:
        """`x` with a new dim of `size` at `dim` (a 1-D tile made a row or column
        of one is `Expanded`)."""
        shape = x.type.shape[:dim] + (size,) + x.type.shape[dim:]
        if len(shape) == 2 and size == 1 and not isinstance(x, Expanded):
            return self.expand(node, x, dim)
        return self.broadcast_dim(node, x, dim, shape)

    def squeeze_dim(self, node, x: Value, dim: int) -> Value:
        """A tile with a size-1 `dim` (and another dim) without it."""
        if isinstance(x, Expanded) and (x.dim == dim or x.type.shape == (1, 1)):
            return x.value
        kept = TileType(x.type.shape[:dim] + x.type.shape[dim + 1:], x.type.dtype)
        if broadcast_dim_of(x) == dim:
            return Value(defining_op(x).operands[0], kept)
        return self.filled(node, x, kept.shape) or self.only_element(node, x, dim, kept)

    def squeeze_dims(self, node, x: Value, dims) -> Value:
        """`x` without its size-1 `dims` (not all of its dims): each time the dim a
        broadcast added if it is one of them (nothing computed), else the last."""
        dims = sorted(set(dims))
        while dims:
            made = broadcast_dim_of(x)
            if isinstance(x, Expanded) and x.dim in dims:
                made = x.dim
            dim = made if made in dims else dims[-1]
            x = self.squeeze_dim(node, x, dim)
            dims = [d - (d > dim) for d in dims if d != dim]
        return x

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
        """The one element of a tile of one element (any rank)."""
        if len(v.type.shape) > 1:
            v = self.squeeze_dims(node, v, range(1, len(v.type.shape)))
            if len(v.type.shape) > 1:  # dim 0 was the one a broadcast added
                v = self.squeeze_dim(node, v, 0)
        op = defining_op(v)
        if op is not None and op.name == "tile.splat":
            return Value(op.operands[0], ScalarType(v.type.dtype))
        return self.only_element(node, v, 0, ScalarType(v.type.dtype))

    def stretch(self, node, x: Value, shape: tuple[int, ...]) -> Value:
        """A tile `x` whose shape broadcasts to `shape` (of as many dims or more) as a
        tile of `shape`: its size-1 dims that stretch dropped, then a broadcast
        along each dim it lacks, in increasing order."""
        own = x.type.shape
        if own == shape:
            return x
        filled = self.filled(node, x, shape)
        if filled is not None:
            return filled
        if all(d == 1 for d in own):
            return self.emit(node, TileType(shape, x.type.dtype), self.builder.ops.splat,
                             self.builder.type(TileType(shape, x.type.dtype)),
                             self.scalar_of(node, x).ir)
        lead = len(shape) - len(own)
        if lead < 0 or broadcast_shapes(own, shape) != shape:
            raise AssertionError(f"{own} does not stretch to {shape}")
        stretched = [d for d in range(len(own)) if own[d] != shape[lead + d]]
        core = self.squeeze_dims(node, x, stretched)
        kept = [lead + d for d in range(len(own)) if d not in stretched]
        for p in range(len(shape)):
            if p not in kept:
                kept.append(p)
                core = self.broadcast_dim(node, core, p,
                                          tuple(shape[q] for q in sorted(kept)))
        return core

    def filled(self, node, x: Value, shape: tuple[int, ...]) -> Value | None:
        """A fill (`tile.splat` of a scalar, or a splat constant, or broadcasts of
        one) made again at `shape`, rather than broadcast (None: `x` is no fill)."""
        op = defining_op(x) if x.ir is not None else None
        while op is not None and op.name == "tile.broadcast":
            owner = op.operands[0].owner
            op = owner.operation if isinstance(owner, (ir.Operation, ir.OpView)) else None
        target = TileType(shape, x.type.dtype)
        if op is not None and op.name == "tile.splat":
            return self.emit(node, target, self.builder.ops.splat, self.builder.type(target),
                             op.operands[0])
        if op is not None and op.name == "arith.constant":
            value = op.attributes["value"]
            if isinstance(value, ir.DenseElementsAttr) and value.is_splat:
                splat = ir.DenseElementsAttr.get_splat(self.builder.type(target),
                                                       value.get_splat_value())
                return self.emit(node, target,
                                 lambda **kw: arith.ConstantOp(splat, None, **kw).result)
        return None

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
        rank = len(x.type.shape) + 1
        if not -rank <= axis < rank:
            raise self.error(node, f"expand_dims's axis {axis} is out of range for a "
                             f"{rank}-D result (of {x.type})")
        return self.add_dim(node, x, axis % rank)

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
        return self.squeeze_dims(node, x, dims)

    def builtin_reshape(self, node, x, shape):
        return self.reshape(node, x, shape)

    def reshape(self, node, x, shape) -> Value:
        """`x.reshape(shape)`: adds or removes dims of size 1."""
        x = self.tile(node, x, "reshape's argument")
        shape = self.tile_shape(node, shape, "reshape's shape")
        return self.with_ones(node, x, tuple(shape), "reshape")

    def with_ones(self, node, x: Value, shape: tuple[int, ...], what: str) -> Value:
        """`x` with dims of size 1 added or removed to give `shape`: its size-1 dims
        dropped (all but one if all are), then new ones added in increasing order."""
        own = x.type.shape
        if [n for n in own if n != 1] != [n for n in shape if n != 1]:
            raise self.error(node, f"{what} of {x.type} to {shape}: only dims of size "
                             "1 are added or removed")
        if shape == own:
            return x
        if len(shape) != len(own):  # only added, or only removed: the others stay
            short, long_ = sorted((own, shape), key=len)
            extra = _unmatched(short, long_)
            if extra is not None and len(shape) > len(own):
                for d in extra:
                    x = self.add_dim(node, x, d)
                return x
            if extra is not None:
                return self.squeeze_dims(node, x, extra)
        ones = [d for d, n in enumerate(own) if n == 1]
        core = self.squeeze_dims(node, x, ones[1:] if len(ones) == len(own) else ones)
        new = [d for d, n in enumerate(shape) if n == 1]
        if all(n == 1 for n in core.type.shape):
            new = new[1:]  # core's own dim stands for the first
        for d in new:  # in increasing order, so each lands where shape has it
            core = self.add_dim(node, core, d)
        return core

    def index_tile(self, node, x: Value, parts: list) -> Value:
        """`x[...]` with `:` (a whole dim), `None` (a new dim of size 1) and one
        `...` (the dims not named), as numpy: `x[:, None]`, `m[:, :, None]`,
        `x[None]`. Trailing dims not named are kept whole."""
        rank = len(x.type.shape)
        if parts.count(...) > 1:
            raise self.error(node, "a tile index has at most one '...'")
        named = sum(p is not None and p is not ... for p in parts)
        if named > rank:
            raise self.error(node, f"too many indices for {x.type}: {named} ':' for "
                             f"{rank} dim(s)")
        if ... in parts:
            at = parts.index(...)
            parts = parts[:at] + [slice(None)] * (rank - named) + parts[at + 1:]
        else:
            parts = parts + [slice(None)] * (rank - named)
        shape, dims = [], iter(x.type.shape)
        for p in parts:
            shape.append(1 if p is None else next(dims))
        return self.with_ones(node, x, tuple(shape), "indexing")
