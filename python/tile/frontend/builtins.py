"""The `tile.*` functions a kernel calls, each turned into tile IR.

A mixin of the one visitor (`CodeGenerator`): `builtin_<name>` implements
`tile.<name>`, with the parameters of its declaration in `language.py` (the
visitor binds the call's arguments against that signature first). Every
argument is checked here so that the IR printed is valid.
"""
from __future__ import annotations

import ast
import math

from .. import language as tl
from .ir import ScalarType, TileType, Value, ViewType
from .semantics import ArrayArg, Expanded, Number, describe

# Element types a register tile may have (the dialect's, plus i1 for masks).
TILE_DTYPES = (tl.float32, tl.float16, tl.bfloat16, tl.float8e4m3, tl.float8e5m2,
               tl.int32, tl.int16, tl.int8, tl.int1)
MMA_INPUTS = (tl.bfloat16, tl.float16, tl.float8e4m3, tl.float8e5m2)
_MATH = {"exp": (math.exp, "math.exp"), "exp2": (lambda x: 2.0 ** x, "math.exp2"),
         "log": (math.log, "math.log"), "log2": (math.log2, "math.log2"),
         "sqrt": (math.sqrt, "math.sqrt")}


class Builtins:
    # -- argument checks -----------------------------------------------------------
    def constexpr_int(self, node, value, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(node, f"{what} must be a constexpr integer, got {describe(value)}")
        return value

    def constexpr_bool(self, node, value, what: str) -> bool:
        if not isinstance(value, (bool, int)) or isinstance(value, (Value, Expanded)):
            raise self.error(node, f"{what} must be a constexpr bool, got {describe(value)}")
        return bool(value)

    def int32(self, node, value, what: str) -> Value:
        """An i32 scalar for `value` (a constant is materialized)."""
        if isinstance(value, int) and not isinstance(value, bool):
            return self.constant(node, value, ScalarType(tl.int32))
        if not isinstance(value, Value) or value.type != ScalarType(tl.int32):
            raise self.error(node, f"{what} must be an int32 scalar, got {describe(value)}")
        return value

    def tile_shape(self, node, shape, what: str) -> tuple[int, ...]:
        """A tile shape: constexpr powers of two (an int is a 1-D shape)."""
        dims = shape if isinstance(shape, (tuple, list)) else (shape,)
        if not dims:
            raise self.error(node, f"{what} must have at least one dimension")
        for d in dims:
            self.constexpr_int(node, d, what)
            if d <= 0 or d & (d - 1):
                raise self.error(node, f"{what}: each dimension must be a power of two, got {d}")
        return tuple(dims)

    def tile_dtype(self, node, dtype, what: str) -> tl.dtype:
        if not isinstance(dtype, tl.dtype):
            raise self.error(node, f"{what} must be a dtype such as tile.float32, "
                             f"got {describe(dtype)}")
        if dtype not in TILE_DTYPES:
            raise self.error(node, f"{what}: tiles of {dtype.name} are not supported")
        return dtype

    def tile(self, node, value, what: str, rank: int | None = None) -> Value:
        if not isinstance(value, Value) or not isinstance(value.type, TileType):
            raise self.error(node, f"{what} must be a tile, got {describe(value)}")
        if rank is not None and len(value.type.shape) != rank:
            raise self.error(node, f"{what} must be a {rank}-D tile, got {value.type}")
        return value

    def array(self, node, value, what: str) -> ArrayArg:
        if not isinstance(value, ArrayArg):
            raise self.error(node, f"{what} must be an array parameter, got {describe(value)}")
        return value

    # -- grid ----------------------------------------------------------------------
    def grid_axis(self, node, axis, what: str) -> int:
        axis = self.constexpr_int(node, axis, f"{what}'s axis")
        if axis not in (0, 1, 2):
            raise self.error(node, f"{what}'s axis must be 0, 1 or 2, got {axis}")
        return axis

    def builtin_program_id(self, node, axis):
        axis = self.grid_axis(node, axis, "program_id")
        return self.builder.op(f"tile.program_id {axis}", self.loc(node), ScalarType(tl.int32))

    def builtin_num_programs(self, node, axis):
        axis = self.grid_axis(node, axis, "num_programs")
        return self.builder.op(f"tile.num_programs {axis}", self.loc(node),
                               ScalarType(tl.int32))

    # -- global memory -------------------------------------------------------------
    def view_of(self, array: ArrayArg) -> Value:
        """The array's `tile.make_view`, made once at the top of the kernel."""
        if array.pointer.name not in self.views:
            strides = [s if isinstance(s, Value) else self.unit_stride(array) for s in
                       array.strides]
            type_ = ViewType(array.dtype, array.rank)
            sizes = ", ".join(s.name for s in array.sizes)
            self.views[array.pointer.name] = self.builder.entry_op(
                f"tile.make_view {array.pointer.name}, [{sizes}], "
                f"[{', '.join(s.name for s in strides)}] : {array.pointer.type.mlir()} -> "
                f"{type_.mlir()}", array.loc, type_)
        return self.views[array.pointer.name]

    def unit_stride(self, array: ArrayArg) -> Value:
        if self.one is None:
            self.one = self.builder.entry_op("arith.constant 1 : i32", array.loc,
                                             ScalarType(tl.int32))
        return self.one

    def access(self, node, array, offset, bound, what: str):
        """Checks a load's or store's target; returns (text of `%x[...]`, its type)."""
        array = self.array(node, array, f"{what}'s first argument")
        if isinstance(offset, (tuple, list)):  # N-D view form
            if bound is not None:
                raise self.error(node, f"{what}: `bound` is for the 1-D form; a view's "
                                 "bounds are the array's sizes")
            if len(offset) != array.rank:
                raise self.error(node, f"{what}: {describe(array)} needs {array.rank} offsets, "
                                 f"got {len(offset)}")
            offsets = [self.int32(node, o, f"{what}'s offset {d}") for d, o in enumerate(offset)]
            view = self.view_of(array)
            return f"{view.name}[{', '.join(o.name for o in offsets)}]", view.type
        if array.rank != 1:
            raise self.error(node, f"{what}: the 1-D form `{what}(x, start, ...)` needs a 1-D "
                             f"array, got {describe(array)}; pass one offset per dimension: "
                             f"{what}(A, (i, j), ...)")
        offset = self.int32(node, offset, f"{what}'s offset")
        if bound is not None:
            bound = self.int32(node, bound, f"{what}'s bound")
        if isinstance(array.strides[0], Value):
            # A strided 1-D array: a view of `bound` (else all) elements at its stride.
            type_ = ViewType(array.dtype, 1)
            size = bound if bound is not None else array.sizes[0]
            view = self.builder.op(
                f"tile.make_view {array.pointer.name}, [{size.name}], [{array.strides[0].name}]"
                f" : {array.pointer.type.mlir()} -> {type_.mlir()}", self.loc(node), type_)
            return f"{view.name}[{offset.name}]", type_
        text = f"{array.pointer.name}[{offset.name}]"
        if bound is not None:
            text += f" bound {bound.name}"
        return text, array.pointer.type

    def builtin_load(self, node, array, offset, shape, bound=None, multicast=False):
        multicast = self.constexpr_bool(node, multicast, "load's multicast")
        target, type_ = self.access(node, array, offset, bound, "load")
        what = "load's shape" if isinstance(offset, (tuple, list)) else "load's size"
        shape = self.tile_shape(node, shape, what)
        rank = len(offset) if isinstance(offset, (tuple, list)) else 1
        if len(shape) != rank:
            raise self.error(node, f"load: a {len(shape)}-D shape {shape} with {rank} offsets")
        if multicast and not isinstance(offset, (tuple, list)):
            raise self.error(node, "load: multicast loads a tile of an N-D view "
                             "(load(A, (i, j), (BM, BK), multicast=True)), not a 1-D range")
        result = TileType(shape, type_.dtype)
        attrs = " {multicast}" if multicast else ""
        return self.builder.op(f"tile.load {target}{attrs} : {type_.mlir()} -> {result.mlir()}",
                               self.loc(node), result)

    def builtin_store(self, node, array, offset, value, bound=None):
        target, type_ = self.access(node, array, offset, bound, "store")
        value = self.tile(node, value, "store's value")
        rank = len(offset) if isinstance(offset, (tuple, list)) else 1
        if len(value.type.shape) != rank:
            raise self.error(node, f"store of a {value.type} with {rank} offset(s): the tile "
                             "needs one dimension per offset")
        if value.type.dtype != type_.dtype:
            raise self.error(node, f"store of a {value.type} to {describe(array)}: element "
                             "types differ (convert with .to(dtype) first)")
        self.builder.op(f"tile.store {value.name}, {target} : {value.type.mlir()}, "
                        f"{type_.mlir()}", self.loc(node))

    # -- signals between programs -------------------------------------------------
    def flag(self, node, flags, index, value, what: str) -> str:
        """Checks a notify's or wait's operands; returns `%flags[%i], %v : type`."""
        array = self.array(node, flags, f"{what}'s flags")
        if array.rank != 1 or array.dtype != tl.int32 or isinstance(array.strides[0], Value):
            raise self.error(node, f"{what}: flags must be a contiguous 1-D int32 array, got "
                             f"{describe(array)}")
        index = self.int32(node, index, f"{what}'s index")
        value = self.int32(node, value, f"{what}'s value")
        return f"{array.pointer.name}[{index.name}], {value.name} : {array.pointer.type.mlir()}"

    def builtin_notify(self, node, flags, index, value=1):
        self.builder.op(f"tile.notify {self.flag(node, flags, index, value, 'notify')}",
                        self.loc(node))

    def builtin_wait(self, node, flags, index, value=1):
        self.builder.op(f"tile.wait_flag {self.flag(node, flags, index, value, 'wait')}",
                        self.loc(node))

    # -- making tiles --------------------------------------------------------------
    def fill(self, node, name: str, shape, value, dtype) -> Value:
        shape = self.tile_shape(node, shape, f"{name}'s shape")
        dtype = self.tile_dtype(node, dtype, f"{name}'s dtype")
        self.op_dtypes(node, "compute", name, dtype)
        if isinstance(value, Number):
            return self.constant(node, value, TileType(shape, dtype))
        if not isinstance(value, Value) or not isinstance(value.type, ScalarType):
            raise self.error(node, f"{name}'s value must be a number or a scalar, "
                             f"got {describe(value)}")
        if value.type.dtype != dtype:
            raise self.error(node, f"{name}'s value is {describe(value)} but the dtype is "
                             f"{dtype.name} (convert with .to(dtype) first)")
        return self.coerce(node, value, shape, dtype, name)

    def builtin_full(self, node, shape, value, dtype=tl.float32):
        return self.fill(node, "full", shape, value, dtype)

    def builtin_zeros(self, node, shape, dtype=tl.float32):
        return self.fill(node, "zeros", shape, 0, dtype)

    def builtin_neg_inf(self, node, shape, dtype=tl.float32):
        if isinstance(dtype, tl.dtype) and not dtype.is_float:
            raise self.error(node, f"neg_inf needs a float dtype, got {dtype.name}")
        return self.fill(node, "neg_inf", shape, float("-inf"), dtype)

    def builtin_arange(self, node, n):
        (n,) = self.tile_shape(node, n, "arange's size")
        result = TileType((n,), tl.int32)
        return self.builder.op(f"tile.iota : {result.mlir()}", self.loc(node), result)

    # -- matrix multiply -------------------------------------------------------------
    def builtin_mma(self, node, a, b, acc, transpose_a=False, transpose_b=False):
        a, b = self.tile(node, a, "mma's a", 2), self.tile(node, b, "mma's b", 2)
        acc = self.tile(node, acc, "mma's acc", 2)
        ta = self.constexpr_bool(node, transpose_a, "mma's transpose_a")
        tb = self.constexpr_bool(node, transpose_b, "mma's transpose_b")
        if a.type.dtype not in MMA_INPUTS or b.type.dtype != a.type.dtype:
            raise self.error(node, f"mma: a and b must both be bfloat16, float16 or fp8; got "
                             f"{a.type} and {b.type}")
        accs = (tl.float32, tl.float16) if a.type.dtype == tl.float16 else (tl.float32,)
        if acc.type.dtype not in accs:
            raise self.error(node, f"mma: the accumulator of {a.type.dtype.name} inputs must "
                             f"be {' or '.join(d.name for d in accs)}, got {acc.type}")
        (m, ka), (kb, n) = a.type.shape[::-1] if ta else a.type.shape, \
            b.type.shape[::-1] if tb else b.type.shape
        a_dims = "K x M" if ta else "M x K"
        b_dims = "N x K" if tb else "K x N"
        if ka != kb:
            raise self.error(node, f"mma: a is {a.type} ({a_dims}) and b is {b.type} ({b_dims}): "
                             f"their K differ ({ka} and {kb})")
        if acc.type.shape != (m, n):
            raise self.error(node, f"mma: a @ b is {m} x {n} but acc is {acc.type}")
        if m % 16 or n % 16 or ka % 16:
            raise self.error(node, f"mma: M, N and K must be multiples of 16, got "
                             f"M = {m}, N = {n}, K = {ka}")
        flags = [f for f, on in (("transpose_a", ta), ("transpose_b", tb)) if on]
        attrs = f" {{{', '.join(flags)}}}" if flags else ""
        return self.builder.op(
            f"tile.mma {a.name}, {b.name}, {acc.name}{attrs} : {a.type.mlir()}, "
            f"{b.type.mlir()}, {acc.type.mlir()} -> {acc.type.mlir()}", self.loc(node), acc.type)

    # -- reductions and layout -------------------------------------------------------
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
            return self.builder.op(f"tile.reduce {kind} {x.name}, dim = {axis} : "
                                   f"{x.type.mlir()} -> {result.mlir()}", self.loc(node), result)
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
        return self.builder.op(f"tile.transpose {x.name} : {x.type.mlir()} -> {result.mlir()}",
                               self.loc(node), result)

    # -- elementwise ------------------------------------------------------------------
    def unary_math(self, node, name: str, x):
        fold, opname = _MATH[name]
        if isinstance(x, Number):
            try:
                return fold(float(x))
            except (ValueError, OverflowError) as e:
                raise self.error(node, f"{name}({x!r}) failed: {e}") from None
        if isinstance(x, Expanded):
            return Expanded(self.unary_math(node, name, x.value), x.dim)
        if not isinstance(x, Value) or not isinstance(x.type, (ScalarType, TileType)):
            raise self.error(node, f"{name} needs a float tile or scalar, got {describe(x)}")
        return self.computed_in(node, "math", name, x, lambda x: self.builder.op(
            f"{opname} {x.name} : {x.type.mlir()}", self.loc(node), x.type))

    def builtin_exp(self, node, x):
        return self.unary_math(node, "exp", x)

    def builtin_exp2(self, node, x):
        return self.unary_math(node, "exp2", x)

    def builtin_log(self, node, x):
        return self.unary_math(node, "log", x)

    def builtin_log2(self, node, x):
        return self.unary_math(node, "log2", x)

    def builtin_sqrt(self, node, x):
        return self.unary_math(node, "sqrt", x)

    def extremum(self, node, name: str, a, b):
        if not self.is_runtime(a) and not self.is_runtime(b):
            return (min if name == "minimum" else max)(a, b)
        a, b = self.unify(node, name, [a, b])
        self.op_dtypes(node, "compute", name, a)
        if a.type.dtype.is_float:
            opname = f"arith.{name}f"
        else:
            opname = "arith.minsi" if name == "minimum" else "arith.maxsi"
        return self.builder.op(f"{opname} {a.name}, {b.name} : {a.type.mlir()}", self.loc(node),
                               a.type)

    def builtin_fdiv(self, node, x, y, ieee_rounding=False):
        ieee = self.constexpr_bool(node, ieee_rounding, "fdiv's ieee_rounding")
        if not self.is_runtime(x) and not self.is_runtime(y):
            return self.fold(node, ast.Div(), x, y)
        x, y = self.unify(node, "fdiv", [x, y])
        self.op_dtypes(node, "compute", "fdiv", x)
        if not x.type.dtype.is_float:
            raise self.error(node, f"fdiv needs floats, got {describe(x)}")
        # afn: the lowering may use the fast division (TileOpsToGPU.cpp).
        flags = "" if ieee else " fastmath<afn>"
        return self.builder.op(f"arith.divf {x.name}, {y.name}{flags} : {x.type.mlir()}",
                               self.loc(node), x.type)

    def builtin_maximum(self, node, a, b):
        return self.extremum(node, "maximum", a, b)

    def builtin_minimum(self, node, a, b):
        return self.extremum(node, "minimum", a, b)

    def builtin_where(self, node, condition, a, b):
        if not self.is_runtime(condition):
            return a if condition else b
        return self.select(node, condition, a, b)

    def builtin_cdiv(self, node, a, b):
        if not self.is_runtime(a) and not self.is_runtime(b):
            self.constexpr_int(node, a, "cdiv's a")
            if self.constexpr_int(node, b, "cdiv's b") == 0:
                raise self.error(node, "cdiv by zero")
            return -(-a // b)
        a, b = self.unify(node, "cdiv", [a, b])
        if a.type.dtype.is_float:
            raise self.error(node, f"cdiv needs integers, got {describe(a)}")
        return self.builder.op(f"arith.ceildivsi {a.name}, {b.name} : {a.type.mlir()}",
                               self.loc(node), a.type)
