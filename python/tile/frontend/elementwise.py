"""Elementwise functions (`tile.exp`, `tile.abs`, `tile.fma`, ...): one table.

Each entry says how Python folds the function on constants, which element
types it takes (a rule of `OP_DTYPES` in semantics.py: "math" computes f16 and
bf16 in f32 and rounds back, "exact" takes floats and integers as they are)
and what it becomes on floats and on integers. A new function is one entry
here and its declaration in language.py, which is what a kernel calls (plus
the interpreter's handler if the op is new to it); `builtin_<name>` is made
from the table.

A mixin of the one visitor (`CodeGenerator`).
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Callable

from mlir.dialects import arith
from mlir.dialects import math as math_ops

from .. import language as tl
from .ir import ScalarType, TileType, Value
from .semantics import Number, describe


def op(build) -> Callable:
    """A function built as one op of `mlir.dialects` on its operands."""
    def emit(gen, node, *xs: Value) -> Value:
        return gen.emit(node, xs[0].type, build, *(x.ir for x in xs),
                        results=[gen.builder.type(xs[0].type)])
    return emit


def _sigmoid(gen, node, x: Value) -> Value:
    # 1 / (1 + exp(-x)): exp is the SFU's ex2, the division the fast one (afn),
    # as Triton's tl.sigmoid; exp(-x) = inf for x < -88 gives 0.
    exp = op(math_ops.exp)(gen, node, gen.negate(node, x))
    one = gen.constant(node, 1.0, x.type)
    afn = {"fastmath": gen.builder.attr("#arith.fastmath<afn>")}
    den = gen.emit(node, x.type, arith.addf, one.ir, exp.ir, results=[gen.builder.type(x.type)])
    return gen.emit(node, x.type, arith.divf, one.ir, den.ir, **afn,
                    results=[gen.builder.type(x.type)])


def _nan_wins(pick) -> Callable:
    """max or min of constants as maximumf/minimumf compute: a NaN operand gives NaN
    (Python's max(1.0, nan) is 1.0)."""
    def fold(*xs):
        nan = next((x for x in xs if isinstance(x, float) and math.isnan(x)), None)
        return nan if nan is not None else pick(*xs)
    return fold


def _clamp(maximum, minimum) -> Callable:
    def emit(gen, node, x: Value, lo: Value, hi: Value) -> Value:
        return op(minimum)(gen, node, op(maximum)(gen, node, x, lo), hi)
    return emit


def _trunc(gen, node, x: Value) -> Value:
    # Toward zero: ceil below zero, floor elsewhere (exact; NaN and -0.0 kept).
    below = gen.compare(node, ast.Lt(), x, gen.constant(node, 0.0, x.type))
    return gen.select(node, below, op(math_ops.ceil)(gen, node, x),
                      op(math_ops.floor)(gen, node, x))


def _umulhi(gen, node, a: Value, b: Value) -> Value:
    # The unsigned product widened to 64 bits, its high half (mul.hi.u32).
    if a.type.dtype != tl.int32:
        raise gen.error(node, f"umulhi needs int32 tiles or scalars, got {describe(a)}")
    wide = gen.with_dtype(a.type, tl.int64)
    a, b = (gen.emit(node, wide, arith.extui, gen.builder.type(wide), x.ir) for x in (a, b))
    product = op(arith.muli)(gen, node, a, b)
    high = op(arith.shrui)(gen, node, product, gen.constant(node, 32, wide))
    narrow = gen.with_dtype(wide, tl.int32)
    return gen.emit(node, narrow, arith.trunci, gen.builder.type(narrow), high.ir)


def _fold_umulhi(a: int, b: int) -> int:
    high = (a % 2 ** 32) * (b % 2 ** 32) >> 32
    return high - 2 ** 32 if high >= 2 ** 31 else high  # as int32


def _floats_refused(name: str) -> Callable:
    def emit(gen, node, *xs: Value) -> Value:
        raise gen.error(node, f"{name} needs integers, got {describe(xs[0])}")
    return emit


def _fold_sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


@dataclass(frozen=True)
class Function:
    fold: Callable            # on Python numbers (floats, for the "math" rule)
    floats: Callable          # (visitor, node, *operands) -> Value, on f32 or f16/bf16
    ints: Callable | None = None  # the same on integers, if it takes them
    dtypes: str = "math"      # the OP_DTYPES rule


FUNCTIONS = {
    "exp": Function(math.exp, op(math_ops.exp)),
    "exp2": Function(lambda x: 2.0 ** x, op(math_ops.exp2)),
    "log": Function(math.log, op(math_ops.log)),
    "log2": Function(math.log2, op(math_ops.log2)),
    "sqrt": Function(math.sqrt, op(math_ops.sqrt)),
    "rsqrt": Function(lambda x: 1.0 / math.sqrt(x), op(math_ops.rsqrt)),
    "sigmoid": Function(_fold_sigmoid, _sigmoid),
    "tanh": Function(math.tanh, op(math_ops.tanh)),
    "erf": Function(math.erf, op(math_ops.erf)),
    "sin": Function(math.sin, op(math_ops.sin)),
    "cos": Function(math.cos, op(math_ops.cos)),
    "floor": Function(lambda x: float(math.floor(x)), op(math_ops.floor)),
    "ceil": Function(lambda x: float(math.ceil(x)), op(math_ops.ceil)),
    "trunc": Function(lambda x: float(math.trunc(x)), _trunc),
    "round": Function(lambda x: float(round(x)), op(math_ops.roundeven)),  # halves to even
    "log1p": Function(math.log1p, op(math_ops.log1p)),
    "expm1": Function(math.expm1, op(math_ops.expm1)),
    "tan": Function(math.tan, op(math_ops.tan)),
    "atan2": Function(math.atan2, op(math_ops.atan2)),
    "pow": Function(math.pow, op(math_ops.powf)),
    "fma": Function(lambda a, b, c: a * b + c, op(math_ops.fma)),
    "umulhi": Function(_fold_umulhi, _floats_refused("umulhi"), _umulhi, "exact"),
    "abs": Function(abs, op(math_ops.absf), op(math_ops.absi), "exact"),
    "maximum": Function(_nan_wins(max), op(arith.maximumf), op(arith.maxsi), "exact"),
    "minimum": Function(_nan_wins(min), op(arith.minimumf), op(arith.minsi), "exact"),
    "clamp": Function(lambda x, lo, hi: _nan_wins(min)(_nan_wins(max)(x, lo), hi),
                      _clamp(arith.maximumf, arith.minimumf),
                      _clamp(arith.maxsi, arith.minsi), "exact"),
}


class Elementwise:
    def elementwise(self, node: ast.AST, name: str, *args):
        """`tile.<name>(*args)` by its entry of FUNCTIONS: constants fold; otherwise
        the operands broadcast and promote as for `+`, then compute in the dtype
        the rule says, converted back."""
        fn = FUNCTIONS[name]
        self.no_arrays(node, name, *args)
        if not any(self.is_runtime(a) for a in args):
            if not all(isinstance(a, Number) for a in args):
                bad = next(a for a in args if not isinstance(a, Number))
                raise self.error(node, f"{name} needs numbers, scalars or tiles, "
                                 f"got {describe(bad)}")
            try:
                return fn.fold(*(float(a) for a in args)) if fn.dtypes == "math" \
                    else fn.fold(*args)
            except (ValueError, OverflowError, ZeroDivisionError) as e:
                raise self.error(node, f"{name}({', '.join(map(repr, args))}) failed: "
                                 f"{e}") from None
        for a in args:
            if isinstance(a, Value) and not isinstance(a.type, (ScalarType, TileType)):
                raise self.error(node, f"{name} needs numbers, scalars or tiles, "
                                 f"got {describe(a)}")
        operands, shaped = self.unify_lazily(node, name, list(args))
        compute, result = self.op_dtypes(node, fn.dtypes, name, operands[0])
        build = fn.floats if compute.is_float else fn.ints
        if build is None:
            raise self.error(node, f"{name} needs a float tile or scalar, got "
                             f"{describe(operands[0])}")
        value = build(self, node, *(self.cast(node, x, compute) for x in operands))
        return shaped(self.cast(node, value, result))


def _builtin(name: str) -> Callable:
    def builtin(self, node, *args, **kwargs):
        return self.elementwise(node, name, *args, *kwargs.values())
    builtin.__name__ = f"builtin_{name}"
    return builtin


for _name in FUNCTIONS:  # codegen calls `builtin_<name>` with language.py's parameters
    setattr(Elementwise, f"builtin_{_name}", _builtin(_name))
