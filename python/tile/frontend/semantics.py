"""What operations on kernel values mean: constants, broadcasting, arithmetic,
comparisons and casts. Every shape and dtype rule is checked here, in Python,
before any op is built, so a mistake is a CompilationError at the user's line
that says it in the kernel's terms.

A mixin of the one visitor (`CodeGenerator`): it uses `self.builder`,
`self.loc(node)` and `self.error(node, message)`; `emit` builds one op.
"""
from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field

from mlir import ir
from mlir.dialects import arith

from .. import language as tl
from .ir import Location, PtrType, ScalarType, TileType, Value, literal
from .shapes import Expanded, Shapes, broadcast_shapes, tile_shape

Number = (bool, int, float)


@dataclass(frozen=True)
class ArrayArg:
    """An array parameter inside the kernel: its pointer, sizes and strides."""

    name: str
    pointer: Value
    sizes: tuple[Value, ...]
    strides: tuple[Value | int, ...]  # 1 where the runtime specialized it away
    loc: Location

    @property
    def type(self) -> PtrType:
        return self.pointer.type

    @property
    def dtype(self) -> tl.dtype:
        return self.pointer.type.dtype

    @property
    def rank(self) -> int:
        return len(self.sizes)

    def __str__(self) -> str:
        return f"the {self.rank}-D array '{self.name}' of {self.dtype.name}"


def describe(x) -> str:
    """How a value is named in error messages."""
    if isinstance(x, (Expanded, ArrayArg)):
        return str(x)
    if isinstance(x, Value):
        return str(x.type)
    if isinstance(x, bool):
        return f"the constant {x}"
    if isinstance(x, (int, float)):
        return f"the constant {x!r}"
    if isinstance(x, tuple):  # what tile.sort, tile.topk and helpers return
        return f"a tuple of {len(x)} ({', '.join(describe(v) for v in x)})"
    return repr(x)


_INT_OPS = {ast.Add: arith.addi, ast.Sub: arith.subi, ast.Mult: arith.muli,
            ast.FloorDiv: arith.floordivsi, ast.Mod: arith.remsi,
            ast.BitAnd: arith.andi, ast.BitOr: arith.ori, ast.BitXor: arith.xori,
            ast.LShift: arith.shli, ast.RShift: arith.shrsi}
_FLOAT_OPS = {ast.Add: arith.addf, ast.Sub: arith.subf, ast.Mult: arith.mulf,
              ast.Div: arith.divf, ast.Mod: arith.remf}
_CONTRACTABLE = (ast.Add, ast.Sub, ast.Mult)
_BOOL_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.LShift, ast.RShift)
_FOLD = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
         ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
         ast.Pow: operator.pow, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
         ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor}
SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
          ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&",
          ast.BitOr: "|", ast.BitXor: "^", ast.MatMult: "@", ast.Eq: "==", ast.NotEq: "!=",
          ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_CMP = {ast.Eq: (arith.CmpFPredicate.OEQ, arith.CmpIPredicate.eq),
        ast.NotEq: (arith.CmpFPredicate.UNE, arith.CmpIPredicate.ne),
        ast.Lt: (arith.CmpFPredicate.OLT, arith.CmpIPredicate.slt),
        ast.LtE: (arith.CmpFPredicate.OLE, arith.CmpIPredicate.sle),
        ast.Gt: (arith.CmpFPredicate.OGT, arith.CmpIPredicate.sgt),
        ast.GtE: (arith.CmpFPredicate.OGE, arith.CmpIPredicate.sge)}
_CMP_FOLD = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
             ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}


FLOAT8 = (tl.float8e4m3, tl.float8e5m2)
_NOT_FLOAT8 = tuple(d for d in tl.DTYPES.values() if d not in FLOAT8)
_TO_F32 = {tl.float16: tl.float32, tl.bfloat16: tl.float32}
_TO_I32 = {tl.int8: tl.int32, tl.int16: tl.int32, tl.int1: tl.int32}


@dataclass(frozen=True)
class OpDtypes:
    """The element types one kind of operation takes: computed as they are
    (`native`), computed in a wider type (`promoted`: operand dtype -> the dtype
    the IR computes in; the result is converted back unless the dtype is in
    `keeps_promoted`), or else rejected with `needs` in the message."""

    native: tuple[tl.dtype, ...]
    needs: str
    promoted: dict = field(default_factory=dict)
    keeps_promoted: tuple[tl.dtype, ...] = ()


# Which element types each operation takes and how it is promoted: the one table
# every operator and builtin asks (`Semantics.op_dtypes`). The GPU lowering's
# reductions handle f32, i32 and i64 tiles, its math f32; float8 is only for storage,
# `.to()` and mma. Promotions follow Triton: tl.sum of int8 is int32 (and of int1
# counts the trues), tl.max of f16 is f16, tl.exp of bf16 computes in f32.
OP_DTYPES = {
    # operators, selects, fills and values carried by if/for/while: the lowering
    # has no float8 arithmetic, constants or region results.
    "compute": OpDtypes(_NOT_FLOAT8, "numbers, scalars or tiles"),
    "math": OpDtypes((tl.float32,), "a float tile or scalar", _TO_F32),
    # abs, maximum, minimum, clamp: exact in any width, so computed as they are.
    "exact": OpDtypes((tl.float32, tl.float16, tl.bfloat16, tl.int64, tl.int32, tl.int16,
                       tl.int8),
                      "a float or integer tile or scalar"),
    "max": OpDtypes((tl.float32, tl.int64, tl.int32), "a float or integer tile",
                    {**_TO_F32, **_TO_I32}),
    "sum": OpDtypes((tl.float32, tl.int64, tl.int32), "a float or integer tile",
                    {**_TO_F32, **_TO_I32},
                    keeps_promoted=tuple(_TO_I32)),
}
OP_DTYPES["min"] = OP_DTYPES["max"]


def promote(a: tl.dtype, b: tl.dtype) -> tl.dtype | None:
    """The dtype runtime operands of dtypes `a` and `b` combine in, as Triton and
    torch promote: an integer with a float is the float; two floats the wider, and
    float16 with bfloat16 float32 (neither holds the other); two integers the
    wider (int1 the narrowest). None for float8 with anything else: it is only
    stored, converted and multiplied, so mixing it in is a mistake to report."""
    if a == b:
        return a
    if a in FLOAT8 or b in FLOAT8:
        return None
    if a.is_float != b.is_float:
        return a if a.is_float else b
    if a.bits != b.bits:
        return a if a.bits > b.bits else b
    return tl.float32  # float16 and bfloat16


def python_dtype(x) -> tl.dtype:
    """The dtype a Python number becomes when it must be a runtime value on its own."""
    return tl.int1 if isinstance(x, bool) else tl.int32 if isinstance(x, int) else tl.float32


class Semantics(Shapes):
    def emit(self, node: ast.AST, result, build, *args, **kwargs) -> Value | None:
        """`build(*args, **kwargs)` (an op builder of mlir.dialects or the generated
        tile ops) at the insertion point, located at `node`; its result as a
        Value of the frontend type `result` (None: the op has no result)."""
        b = self.builder
        built = build(*args, **kwargs, loc=b.at(self.loc(node)), ip=b.ip)
        return Value(built, result) if result is not None else None

    # -- constants ---------------------------------------------------------------
    def constant(self, node: ast.AST, value, type_: ScalarType | TileType) -> Value:
        """`arith.constant` of a Python number: a scalar, or a tile filled with it."""
        try:
            number = literal(value, type_.dtype)
        except ValueError as e:
            raise self.error(node, f"constant {value!r} cannot be a {type_}: {e}") from None
        b = self.builder
        element = b.type(ScalarType(type_.dtype))
        attr = ir.FloatAttr.get(element, number) if type_.dtype.is_float else \
            ir.IntegerAttr.get(element, number)
        if isinstance(type_, TileType):
            attr = ir.DenseElementsAttr.get_splat(b.type(type_), attr)
        return self.emit(node, type_, lambda **kw: arith.ConstantOp(attr, None, **kw).result)

    def materialize(self, node: ast.AST, x, what: str) -> Value:
        """A runtime value for `x` (a Python number becomes i1, i32 or f32)."""
        if isinstance(x, Value):
            return x
        if isinstance(x, Number):
            return self.constant(node, x, ScalarType(python_dtype(x)))
        raise self.error(node, f"{what} must be a number, a scalar or a tile, "
                         f"got {describe(x)}")

    # -- broadcasting --------------------------------------------------------------
    def common_shape(self, node: ast.AST, what: str, operands: list) -> tuple[int, ...] | None:
        """The tile shape operands broadcast to by numpy's rules (None: all scalars),
        or an error naming the two that do not."""
        shape, first = (), None
        for x in operands:
            own = tile_shape(x)
            if not own:
                continue
            merged = broadcast_shapes(shape, own)
            if merged is None:
                raise self.error(node, f"operands of {what} differ in shape: {describe(first)} "
                                 f"and {describe(x)} do not broadcast (aligned on the right, "
                                 "each pair of dims must be equal or one of them 1)")
            shape, first = merged, first or x
        return shape or None

    def common_dtype(self, node: ast.AST, what: str, operands: list) -> tl.dtype | None:
        """The element type the operands combine in (None: no runtime value): their
        runtime values' dtypes promoted (`promote`); Python numbers are weak, they
        take that dtype, except that a float constant with integers makes float32."""
        first, dtype = None, None
        for x in operands:
            if isinstance(x, (Value, Expanded)):
                if first is None:
                    first, dtype = x, self.dtype_of(x)
                    continue
                wider = promote(dtype, self.dtype_of(x))
                if wider is None:
                    raise self.error(node, f"operands of {what} differ in type: "
                                     f"{describe(first)} and {describe(x)}; float8 values "
                                     "combine only with float8 of their kind (convert with "
                                     ".to(tile.float32) first)")
                dtype = wider
        if dtype is not None and not dtype.is_float and \
                any(isinstance(x, float) for x in operands):
            dtype = tl.float32
        return dtype

    @staticmethod
    def dtype_of(x) -> tl.dtype:
        return x.type.dtype

    def coerce(self, node: ast.AST, x, shape: tuple[int, ...] | None, dtype: tl.dtype,
               what: str) -> Value:
        """`x` as a value of `shape` (None: scalar) and `dtype`: numbers become
        constants, scalars are splat, tiles broadcast (`stretch`)."""
        target = TileType(shape, dtype) if shape is not None else ScalarType(dtype)
        if isinstance(x, bool) and dtype != tl.int1 or \
                isinstance(x, float) and not dtype.is_float:
            raise self.error(node, f"{what}: cannot mix {describe(x)} with {dtype.name} values")
        if isinstance(x, Number):
            return self.constant(node, x, target)
        if not isinstance(x, Value) or not isinstance(x.type, (TileType, ScalarType)):
            raise self.error(node, f"{what}: expected a number, a scalar or a tile, "
                             f"got {describe(x)}")
        if x.type.dtype != dtype:
            raise self.error(node, f"{what}: expected {dtype.name} values, got {describe(x)}")
        if isinstance(x.type, ScalarType) and shape is not None:
            return self.emit(node, target, self.builder.ops.splat, self.builder.type(target),
                             x.ir)
        if isinstance(x.type, TileType) and x.type.shape != shape:
            if shape is None or broadcast_shapes(x.type.shape, shape) != shape:
                raise self.error(node, f"{what}: {describe(x)} does not broadcast to "
                                 f"{'a scalar' if shape is None else target}")
            return self.stretch(node, x, shape)
        return x

    def unify(self, node: ast.AST, what: str, operands: list) -> list[Value]:
        """Operands as values of one type, following broadcast rules."""
        values, _ = self.unify_lazily(node, what, operands, lazy=False)
        return values

    def unify_lazily(self, node: ast.AST, what: str, operands: list, lazy: bool = True):
        """(operands as values of one type, what makes the result of an elementwise op
        on them the value of the broadcast shape). A result that is a row or column
        (1, N) / (N, 1) of rows, columns and scalars is computed on their 1-D tiles
        and expanded after (`kept_lazy`)."""
        for x in operands:
            if not isinstance(x, (Value, *Number)) or \
                    isinstance(x, Value) and not isinstance(x.type, (ScalarType, TileType)):
                raise self.error(node, f"{what} is not defined on {describe(x)}")
        shape = self.common_shape(node, what, operands)
        dtype = self.common_dtype(node, what, operands)
        if dtype is None:  # only numbers: they stand for i32 / f32 values
            dtype = python_dtype(next((x for x in operands if isinstance(x, float)),
                                      operands[0]))
        dim = self.kept_lazy(operands, shape) if lazy else None
        if dim is None:
            return [self.coerce(node, self.promoted(node, x, dtype), shape, dtype, what)
                    for x in operands], lambda v: v
        length = shape[1 - dim]
        values = [self.coerce(node, self.promoted(node, self.line_of(node, x, dim, length)
                                                  if tile_shape(x) else x, dtype),
                              (length,), dtype, what) for x in operands]
        return values, lambda v: self.expand(node, v, dim)

    def promoted(self, node: ast.AST, x, dtype: tl.dtype):
        """`x` converted to `dtype` if it is a runtime value of another dtype."""
        return self.cast(node, x, dtype) if self.is_runtime(x) and \
            self.dtype_of(x) != dtype else x

    # -- which dtypes an operation takes ------------------------------------------------
    def op_dtypes(self, node: ast.AST, op: str, what: str, x) -> tuple[tl.dtype, tl.dtype]:
        """(the dtype `op` computes in, the dtype of its result) for the operand `x`,
        by OP_DTYPES; an error at the user's line where `op` does not take x's dtype."""
        rule = OP_DTYPES[op]
        dtype = x if isinstance(x, tl.dtype) else self.dtype_of(x)
        if dtype in rule.native:
            return dtype, dtype
        if dtype in rule.promoted:
            wide = rule.promoted[dtype]
            return wide, wide if dtype in rule.keeps_promoted else dtype
        if dtype in FLOAT8:
            raise self.error(node, f"{what} on {describe(x)}: float8 values are only stored, "
                             "converted and multiplied (tile.mma); convert with "
                             ".to(tile.float32) first")
        raise self.error(node, f"{what} needs {rule.needs}, got {describe(x)}")

    def computed_in(self, node: ast.AST, op: str, what: str, x: Value, emit) -> Value:
        """`emit(x)` with x promoted to the dtype `op` computes in (OP_DTYPES), its
        result converted to the op's result dtype."""
        compute, result = self.op_dtypes(node, op, what, x)
        return self.cast(node, emit(self.cast(node, x, compute)), result)

    # -- arithmetic ----------------------------------------------------------------
    def fold(self, node: ast.AST, op: ast.AST, lhs, rhs):
        table = _CMP_FOLD if type(op) in _CMP_FOLD else _FOLD
        if type(op) not in table:
            raise self.error(node, f"unsupported operator {type(op).__name__}")
        try:
            return table[type(op)](lhs, rhs)
        except Exception as e:  # e.g. ZeroDivisionError on constexprs
            raise self.error(node, f"constant expression failed: {e}") from None

    def is_runtime(self, x) -> bool:
        return isinstance(x, (Value, Expanded))

    def no_arrays(self, node: ast.AST, what: str, *operands) -> None:
        """An operator applied to an array argument (a pointer, not a tile) is an error."""
        for x in operands:
            if isinstance(x, ArrayArg):
                raise self.error(node, f"{what} on arrays (pointers) is not supported, got "
                                 f"{x}; load a tile from it with tile.load (or pass an "
                                 "offset to tile.load/tile.store)")

    def power(self, node: ast.AST, base, exponent):
        """`x ** y`: x * x * ... for a constant integer y of 1 to 4 (exact, and on
        integers too), ones for y = 0 on integers, else tile.pow (floats; NaN ** 0
        is 1 there)."""
        if exponent == 0 and type(exponent) is int and self.is_runtime(base) and \
                not self.dtype_of(base).is_float:
            return self.binary(node, ast.Add(), self.binary(node, ast.Mult(), base, 0), 1)
        if type(exponent) is int and 1 <= exponent <= 4 and self.is_runtime(base):
            result = base
            for _ in range(exponent - 1):
                result = self.binary(node, ast.Mult(), result, base)
            return result
        return self.elementwise(node, "pow", base, exponent)

    def binary(self, node: ast.AST, op: ast.operator, lhs, rhs):
        sym = SYMBOL.get(type(op), type(op).__name__)
        self.no_arrays(node, f"'{sym}'", lhs, rhs)
        if not self.is_runtime(lhs) and not self.is_runtime(rhs):
            return self.fold(node, op, lhs, rhs)
        if isinstance(op, ast.Pow):
            return self.power(node, lhs, rhs)
        what = f"'{sym}'"
        (lhs, rhs), shaped = self.unify_lazily(node, what, [lhs, rhs])
        if isinstance(op, ast.Div) and not lhs.type.dtype.is_float:
            # True division, as Python and Triton: integers are divided as float32.
            lhs, rhs = (self.cast(node, x, tl.float32) for x in (lhs, rhs))
        if lhs.type.dtype == tl.int1 and type(op) in _BOOL_ARITHMETIC:
            # As Python and numpy count: True + True is 2, not i1's wrap-around (an
            # xor) or numpy's bool or.
            lhs, rhs = (self.cast(node, x, tl.int32) for x in (lhs, rhs))
        dtype, _ = self.op_dtypes(node, "compute", what, lhs)
        table = _FLOAT_OPS if dtype.is_float else _INT_OPS
        if type(op) not in table:
            hint = " (it takes integers; tile.floor(a / b) on floats)" \
                if isinstance(op, ast.FloorDiv) else ""
            raise self.error(node, f"operator '{sym}' is not supported on {describe(lhs)}{hint}")
        # a * b + c may become one FMA, as under nvcc's and Triton's defaults.
        flags = {"fastmath": self.builder.attr("#arith.fastmath<contract>")} \
            if type(op) in _CONTRACTABLE and dtype.is_float else {}
        return shaped(self.emit(node, lhs.type, table[type(op)], lhs.ir, rhs.ir, **flags,
                                results=[self.builder.type(lhs.type)]))

    def compare(self, node: ast.AST, op: ast.cmpop, lhs, rhs):
        sym = SYMBOL.get(type(op), type(op).__name__)
        self.no_arrays(node, f"'{sym}'", lhs, rhs)
        if not self.is_runtime(lhs) and not self.is_runtime(rhs):
            return self.fold(node, op, lhs, rhs)
        if type(op) not in _CMP:
            raise self.error(node, f"comparison '{sym}' is not supported on runtime values")
        (lhs, rhs), shaped = self.unify_lazily(node, f"'{sym}'", [lhs, rhs])
        fpred, ipred = _CMP[type(op)]
        dtype, _ = self.op_dtypes(node, "compute", f"'{sym}'", lhs)
        result = self.with_dtype(lhs.type, tl.int1)
        build, pred = (arith.cmpf, fpred) if dtype.is_float else (arith.cmpi, ipred)
        return shaped(self.emit(node, result, build, pred, lhs.ir, rhs.ir,
                                results=[self.builder.type(result)]))

    def negate(self, node: ast.AST, x):
        if isinstance(x, Expanded):
            return self.expand(node, self.negate(node, x.value), x.dim)
        if isinstance(x, Value) and x.type.dtype.is_float:
            self.op_dtypes(node, "compute", "'-'", x)
            return self.emit(node, x.type, arith.negf, x.ir,
                             results=[self.builder.type(x.type)])
        return self.binary(node, ast.Sub(), 0, x)

    def logical_not(self, node: ast.AST, x):
        if not self.is_runtime(x):
            return not x
        (x,) = self.unify(node, "'not'", [x])
        if x.type.dtype != tl.int1:
            raise self.error(node, f"'not' needs a boolean (a comparison), got {describe(x)}")
        return self.binary(node, ast.BitXor(), x, True)

    def invert(self, node: ast.AST, x):
        """`~x`: every bit flipped on integers (x ^ -1), `not` on booleans, as Triton."""
        if not self.is_runtime(x):
            if isinstance(x, bool) or not isinstance(x, int):
                raise self.error(node, f"'~' is not defined on {describe(x)}")
            return ~x
        (x,) = self.unify(node, "'~'", [x])
        if x.type.dtype.is_float:
            raise self.error(node, f"'~' needs an integer or boolean, got {describe(x)}")
        return self.binary(node, ast.BitXor(), x, True if x.type.dtype == tl.int1 else -1)

    @staticmethod
    def with_dtype(type_, dtype: tl.dtype):
        return TileType(type_.shape, dtype) if isinstance(type_, TileType) else ScalarType(dtype)

    def select(self, node: ast.AST, cond, a, b, what: str = "tile.where"):
        """`cond ? a : b` elementwise (`arith.select`); a scalar condition picks
        a whole value."""
        if not self.is_runtime(cond) or self.dtype_of(cond) != tl.int1:
            raise self.error(node, f"{what}'s condition must be a boolean (a comparison), "
                             f"got {describe(cond)}")
        shape = self.common_shape(node, what, [cond, a, b])
        dtype = self.common_dtype(node, what, [a, b]) or \
            python_dtype(a if isinstance(a, float) else b)
        scalar_cond = isinstance(cond, Value) and isinstance(cond.type, ScalarType)
        cond = self.coerce(node, cond, None if scalar_cond else shape, tl.int1, what)
        a, b = (self.coerce(node, self.promoted(node, x, dtype), shape, dtype, what)
                for x in (a, b))
        self.op_dtypes(node, "compute", what, a)
        return self.emit(node, a.type, arith.select, cond.ir, a.ir, b.ir,
                         results=[self.builder.type(a.type)])

    # -- conversions ---------------------------------------------------------------
    def bitcast(self, node: ast.AST, x, dtype: tl.dtype):
        """`x.to(dtype, bitcast=True)`: x's bits read as `dtype`, of the same width."""
        if not isinstance(dtype, tl.dtype):
            raise self.error(node, f".to() needs a dtype such as tile.int32, got {dtype!r}")
        if isinstance(x, Expanded):
            return self.expand(node, self.bitcast(node, x.value, dtype), x.dim)
        if not isinstance(x, Value) or not isinstance(x.type, (ScalarType, TileType)):
            raise self.error(node, f"cannot bitcast {describe(x)} to {dtype.name}")
        src = x.type.dtype
        if src.bits != dtype.bits or tl.int1 in (src, dtype):
            raise self.error(node, f"a bitcast keeps the width: {describe(x)} ({src.bits} bits) "
                             f"cannot be read as {dtype.name} ({dtype.bits} bits)")
        if src == dtype:
            return x
        result = self.with_dtype(x.type, dtype)
        return self.emit(node, result, arith.bitcast, self.builder.type(result), x.ir)

    def cast(self, node: ast.AST, x, dtype: tl.dtype):
        """`x.to(dtype)`: float width changes round to nearest, float to int truncates."""
        if not isinstance(dtype, tl.dtype):
            raise self.error(node, f".to() needs a dtype such as tile.float16, got {dtype!r}")
        if isinstance(x, Expanded):
            return x if x.dtype == dtype else \
                self.expand(node, self.cast(node, x.value, dtype), x.dim)
        if not isinstance(x, Value) or not isinstance(x.type, (ScalarType, TileType)):
            raise self.error(node, f"cannot convert {describe(x)} to {dtype.name}")
        src = x.type.dtype
        if src == dtype:
            return x
        result = self.with_dtype(x.type, dtype)

        def emit(build, value, to):
            return self.emit(node, to, build, self.builder.type(to), value.ir)
        if src.is_float and dtype.is_float:
            if src.bits == dtype.bits:  # bf16 <-> f16 goes through f32
                return emit(arith.truncf, emit(arith.extf, x,
                                                 self.with_dtype(x.type, tl.float32)), result)
            return emit(arith.extf if dtype.bits > src.bits else arith.truncf, x, result)
        if (src.is_float and src.bits == 8) != (dtype.is_float and dtype.bits == 8):
            if not (src.is_float and dtype.is_float):  # fp8 <-> int: through float32
                return self.cast(node, self.cast(node, x, tl.float32), dtype)
        if not src.is_float and dtype.is_float:
            return emit(arith.uitofp if src == tl.int1 else arith.sitofp, x, result)
        if src.is_float:
            if dtype == tl.int1:
                raise self.error(node, f"cannot convert {describe(x)} to int1; compare instead "
                                 "(x != 0)")
            return emit(arith.fptosi, x, result)
        if src == tl.int1:
            return emit(arith.extui, x, result)
        if dtype == tl.int1:  # truth, as torch's and Triton's: any bit set, not the low bit
            return self.compare(node, ast.NotEq(), x, 0)
        return emit(arith.extsi if dtype.bits > src.bits else arith.trunci, x, result)
