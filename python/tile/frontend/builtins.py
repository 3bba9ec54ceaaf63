"""The `tile.*` functions a kernel calls, each turned into tile IR.

A mixin of the one visitor (`CodeGenerator`): `builtin_<name>` implements
`tile.<name>`, with the parameters of its declaration in `language.py` (the
visitor binds the call's arguments against that signature first). Every
argument is checked here, then the op is built with its class generated from
the dialect's ODS (`self.builder.ops.<op>`) or an upstream `mlir.dialects` one.
"""
from __future__ import annotations

import ast

from mlir import ir
from mlir.dialects import arith

from .. import language as tl
from .ir import ScalarType, TileType, Value, ViewType
from .distributed import Remote
from .semantics import ArrayArg, Expanded, Number, describe
from .views import Selected

# Element types a register tile may have (the dialect's, plus i1 for masks).
TILE_DTYPES = (tl.float32, tl.float16, tl.bfloat16, tl.float8e4m3, tl.float8e5m2,
               tl.int64, tl.int32, tl.int16, tl.int8, tl.int1)
MMA_INPUTS = (tl.bfloat16, tl.float16, tl.float8e4m3, tl.float8e5m2)


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

    def scalar_offsets(self, offset) -> bool:
        """Whether `offset` is one integer, or a tuple of them (one element's place)."""
        def scalar(x):
            return isinstance(x, int) and not isinstance(x, bool) or \
                isinstance(x, Value) and isinstance(x.type, ScalarType) and not x.type.dtype.is_float
        return all(map(scalar, offset)) if isinstance(offset, (tuple, list)) else scalar(offset)

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
        if isinstance(value, Selected):
            raise self.error(node, f"{what}: {describe(value)} is loaded and stored in the "
                             "view form only (tile.load(Q[b, h], (i, 0), (BM, D))); offset a "
                             "gather's offsets into the whole array instead")
        return value

    # -- grid ----------------------------------------------------------------------
    def grid_axis(self, node, axis, what: str) -> int:
        axis = self.constexpr_int(node, axis, f"{what}'s axis")
        if axis not in (0, 1, 2):
            raise self.error(node, f"{what}'s axis must be 0, 1 or 2, got {axis}")
        return axis

    def grid_value(self, node, build, axis, what: str) -> Value:
        axis = self.grid_axis(node, axis, what)
        i32 = self.builder.type(ScalarType(tl.int32))
        return self.emit(node, ScalarType(tl.int32), build, ir.IntegerAttr.get(i32, axis),
                         results=[i32])

    def builtin_program_id(self, node, axis):
        return self.grid_value(node, self.builder.ops.program_id, axis, "program_id")

    def builtin_num_programs(self, node, axis):
        return self.grid_value(node, self.builder.ops.num_programs, axis, "num_programs")

    # -- global memory -------------------------------------------------------------
    def view_of(self, array: ArrayArg) -> Value:
        """The array's `tile.make_view`, made once at the top of the kernel."""
        if array.name not in self.views:
            strides = [s if isinstance(s, Value) else self.unit_stride(array) for s in
                       array.strides]
            type_ = ViewType(array.dtype, array.rank)
            b = self.builder
            view = b.ops.make_view(b.type(type_), array.pointer.ir, [s.ir for s in array.sizes],
                                   [s.ir for s in strides], loc=b.at(array.loc), ip=b.entry())
            b.entered(view)
            self.views[array.name] = Value(view, type_)
        return self.views[array.name]

    def unit_stride(self, array: ArrayArg) -> Value:
        if self.one is None:
            b = self.builder
            i32 = b.type(ScalarType(tl.int32))
            one = arith.ConstantOp(ir.IntegerAttr.get(i32, 1), None, loc=b.at(array.loc),
                                   ip=b.entry())
            b.entered(one)
            self.one = Value(one.result, ScalarType(tl.int32))
        return self.one

    def access(self, node, array, offset, bound, what: str):
        """Checks a load's or store's target; returns (the value accessed: a view or
        the pointer, its offsets, the 1-D bound or None, its type)."""
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
            return view, offsets, None, view.type
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
            view = self.emit(node, type_, self.builder.ops.make_view, self.builder.type(type_),
                             array.pointer.ir, [size.ir], [array.strides[0].ir])
            return view, [offset], None, type_
        return array.pointer, [offset], bound, array.pointer.type

    @staticmethod
    def lower_rank(offset, array, shape) -> bool:
        """Whether a view-form access takes a tile of fewer dims than the array's
        (`shape` a shape or the tile stored)."""
        if isinstance(shape, Value) and isinstance(shape.type, TileType):
            shape = shape.type.shape
        rank = len(shape) if isinstance(shape, (tuple, list)) else 1 if shape is not None else 0
        return isinstance(offset, (tuple, list)) and isinstance(array, ArrayArg) and \
            0 < rank < array.rank

    def builtin_load(self, node, array, offset, shape=None, bound=None, multicast=False,
                     mask=None, other=0):
        array, offset = self.unselect(node, array, offset, "load")  # Q[b, h]: views.py
        if isinstance(array, Remote) and not self.is_offset_tile(offset):  # distributed.py
            return self.remote_load(node, array, offset, shape, bound, multicast, mask, other)
        if isinstance(offset, Expanded) and (mask is None or isinstance(mask, Expanded) and
                                             mask.dim == offset.dim):
            # A row or column of offsets: gathered as its 1-D tile, so that combining
            # the result with a 2-D tile needs no size-1 dim dropped.
            line = self.indexed_load(node, array, offset.value, shape, bound, multicast,
                                     mask if mask is None else mask.value, other)
            return self.expand(node, line, offset.dim)
        if self.lower_rank(offset, array, shape):  # a row of a 2-D array: views.py
            return self.selected_load(node, array, offset, self.tile_shape(
                node, shape, "load's shape"), multicast, mask, other)
        if self.is_indexed(offset, mask):  # a gather, or a mask: indexed.py
            return self.indexed_load(node, array, offset, shape, bound, multicast, mask, other)
        if shape is None and self.scalar_offsets(offset):  # one element, as a scalar
            rank = len(offset) if isinstance(offset, (tuple, list)) else 1
            one = self.builtin_load(node, array, offset, (1,) * rank, bound, multicast, mask,
                                    other)
            return self.builtin_squeeze(node, one)
        if shape is None:
            raise self.error(node, "load needs a shape: load(x, start, BLOCK) or "
                             "load(A, (i, j), (BM, BN)); a gather's offsets are a tile, one "
                             f"element's place ints (load(x, i)); got {describe(offset)}")
        multicast = self.constexpr_bool(node, multicast, "load's multicast")
        source, offsets, bound, type_ = self.access(node, array, offset, bound, "load")
        what = "load's shape" if isinstance(offset, (tuple, list)) else "load's size"
        shape = self.tile_shape(node, shape, what)
        rank = len(offset) if isinstance(offset, (tuple, list)) else 1
        if len(shape) != rank:
            raise self.error(node, f"load: a {len(shape)}-D shape {shape} with {rank} offsets")
        if multicast and not isinstance(offset, (tuple, list)):
            raise self.error(node, "load: multicast loads a tile of an N-D view "
                             "(load(A, (i, j), (BM, BK), multicast=True)), not a 1-D range")
        result = TileType(shape, type_.dtype)
        return self.emit(node, result, self.builder.ops.load, self.builder.type(result),
                         source.ir, [o.ir for o in offsets],
                         bound=bound.ir if bound is not None else None, multicast=multicast)

    def builtin_store(self, node, array, offset, value, bound=None, mask=None):
        array, offset = self.unselect(node, array, offset, "store")
        if isinstance(array, Remote) and not self.is_offset_tile(offset):
            return self.remote_store(node, array, offset, value, bound, mask)
        if isinstance(array, ArrayArg) and self.scalar_offsets(offset) and (
                isinstance(value, Number) or isinstance(value, Value) and
                isinstance(value.type, ScalarType)):  # one element
            if isinstance(value, Value) and value.type.dtype != array.dtype:
                raise self.error(node, f"store of {describe(value)} to {describe(array)}: "
                                 "element types differ (convert with .to(dtype) first)")
            rank = len(offset) if isinstance(offset, (tuple, list)) else 1
            value = self.fill(node, "store", (1,) * rank, value, array.dtype)
        if self.lower_rank(offset, array, value):
            return self.selected_store(node, array, offset, value, mask)
        if self.is_indexed(offset, mask):  # a scatter, or a mask: indexed.py
            return self.indexed_store(node, array, offset, value, bound, mask)
        target, offsets, bound, type_ = self.access(node, array, offset, bound, "store")
        rank = len(offset) if isinstance(offset, (tuple, list)) else 1
        value = self.tile(node, value, "store's value")
        if len(value.type.shape) != rank:
            raise self.error(node, f"store of a {value.type} with {rank} offset(s): the tile "
                             "needs one dimension per offset")
        if value.type.dtype != type_.dtype:
            raise self.error(node, f"store of a {value.type} to {describe(array)}: element "
                             "types differ (convert with .to(dtype) first)")
        self.emit(node, None, self.builder.ops.store, value.ir, target.ir,
                  [o.ir for o in offsets], bound=bound.ir if bound is not None else None)

    # -- signals between programs -------------------------------------------------
    def flag(self, node, flags, index, value, what: str) -> list:
        """Checks a notify's or wait's operands; returns them (flags, index, value)."""
        array = self.array(node, flags, f"{what}'s flags")
        if array.rank != 1 or array.dtype != tl.int32 or isinstance(array.strides[0], Value):
            raise self.error(node, f"{what}: flags must be a contiguous 1-D int32 array, got "
                             f"{describe(array)}")
        index = self.int32(node, index, f"{what}'s index")
        value = self.int32(node, value, f"{what}'s value")
        return [array.pointer.ir, index.ir, value.ir]

    def builtin_notify(self, node, flags, index, value=1, rank=None, op="set", scope="gpu"):
        ordering = self.flag_ordering(node, scope, "notify", op)  # distributed.py
        self.emit(node, None, self.builder.ops.notify,
                  *self.flag(node, self.notify_target(node, flags, rank), index, value,
                             "notify"), **ordering)

    def builtin_wait(self, node, flags, index, value=1, scope="gpu"):
        ordering = self.flag_ordering(node, scope, "wait")
        self.emit(node, None, self.builder.ops.wait_flag,
                  *self.flag(node, flags, index, value, "wait"), **ordering)

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

    def builtin_arange(self, node, start, end=None):
        if end is None:
            (n,), start = self.tile_shape(node, start, "arange's size"), 0
        else:
            start = self.constexpr_int(node, start, "arange's start")
            end = self.constexpr_int(node, end, "arange's end")
            (n,) = self.tile_shape(node, end - start, "arange's length (end - start)")
        result = TileType((n,), tl.int32)
        iota = self.emit(node, result, self.builder.ops.iota, self.builder.type(result))
        return self.binary(node, ast.Add(), iota, start) if start else iota

    def builtin_static_range(self, node, start, stop=None, step=1):
        raise self.error(node, "tile.static_range is only for `for i in tile.static_range(...)`")

    def builtin_zeros_like(self, node, x):
        x = self.tile(node, x, "zeros_like's argument")
        return self.fill(node, "zeros_like", x.type.shape, 0, x.type.dtype)

    def builtin_full_like(self, node, x, value):
        x = self.tile(node, x, "full_like's argument")
        return self.fill(node, "full_like", x.type.shape, value, x.type.dtype)

    # -- matrix multiply -------------------------------------------------------------
    def builtin_mma(self, node, a, b, acc, transpose_a=False, transpose_b=False):
        a, b = self.tile(node, a, "mma's a", 2), self.tile(node, b, "mma's b", 2)
        acc = self.tile(node, acc, "mma's acc", 2)
        ta = self.constexpr_bool(node, transpose_a, "mma's transpose_a")
        tb = self.constexpr_bool(node, transpose_b, "mma's transpose_b")
        if a.type.dtype not in MMA_INPUTS or b.type.dtype != a.type.dtype:
            raise self.error(node, f"mma: a and b must both be bfloat16, float16 or fp8; got "
                             f"{a.type} and {b.type}")
        if acc.type.dtype != tl.float32:
            raise self.error(node, f"mma: the accumulator must be float32, got {acc.type} "
                             "(accumulate in float32, then convert the result with .to())")
        (m, ka), (kb, n) = a.type.shape[::-1] if ta else a.type.shape, \
            b.type.shape[::-1] if tb else b.type.shape
        a_dims = "K x M" if ta else "M x K"
        b_dims = "N x K" if tb else "K x N"
        if ka != kb:
            raise self.error(node, f"mma: a is {a.type} ({a_dims}) and b is {b.type} ({b_dims}): "
                             f"their K differ ({ka} and {kb})")
        if acc.type.shape != (m, n):
            raise self.error(node, f"mma: a @ b is {m} x {n} but acc is {acc.type}")
        # M, N and K multiples of 16: tile.mma's verifier says so at this line.
        return self.emit(node, acc.type, self.builder.ops.mma, self.builder.type(acc.type),
                         a.ir, b.ir, acc.ir, transpose_a=ta, transpose_b=tb)

    # -- elementwise (the math functions are elementwise.py's table) ---------------
    def builtin_fdiv(self, node, x, y, ieee_rounding=False):
        ieee = self.constexpr_bool(node, ieee_rounding, "fdiv's ieee_rounding")
        if not self.is_runtime(x) and not self.is_runtime(y):
            return self.fold(node, ast.Div(), x, y)
        x, y = self.unify(node, "fdiv", [x, y])
        self.op_dtypes(node, "compute", "fdiv", x)
        if not x.type.dtype.is_float:
            raise self.error(node, f"fdiv needs floats, got {describe(x)}")
        # afn: the lowering may use the fast division (TileOpsToGPU.cpp).
        flags = {} if ieee else {"fastmath": self.builder.attr("#arith.fastmath<afn>")}
        return self.emit(node, x.type, arith.divf, x.ir, y.ir, **flags,
                         results=[self.builder.type(x.type)])

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
        return self.emit(node, a.type, arith.ceildivsi, a.ir, b.ir,
                         results=[self.builder.type(a.type)])

    def builtin_multiple_of(self, node, x, n):
        n = self.constexpr_int(node, n, "multiple_of's n")
        if n < 1 or n & (n - 1):
            raise self.error(node, f"multiple_of's n must be a power of two, got {n}")
        if isinstance(x, int) and not isinstance(x, bool):  # a constexpr: checked here
            if x % n:
                raise self.error(node, f"multiple_of: {x} is not a multiple of {n}")
            return x
        if not isinstance(x, Value) or not isinstance(x.type, ScalarType) \
                or x.type.dtype not in (tl.int32, tl.int64):
            raise self.error(node, f"multiple_of's x must be an int32 or int64 scalar, got "
                             f"{describe(x)}")
        i64 = ir.IntegerType.get_signless(64)
        return self.emit(node, x.type, self.builder.ops.assume_multiple, x.ir,
                         ir.IntegerAttr.get(i64, n))

    # -- compile-time checks ----------------------------------------------------------
    def builtin_static_assert(self, node, condition, msg=""):
        if self.is_runtime(condition) or isinstance(condition, ArrayArg):
            raise self.error(node, f"static_assert needs a constexpr condition, got "
                             f"{describe(condition)}; it is checked at compile time")
        if not isinstance(msg, str):
            raise self.error(node, f"static_assert's message must be a string, got "
                             f"{describe(msg)}")
        if not condition:
            raise self.error(node, f"static_assert failed{': ' + msg if msg else ''}")
