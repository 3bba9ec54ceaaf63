"""The frontend: one AST visitor that turns a `@tile.jit` function into tile IR.

Values during code generation are either `ir.Value` (runtime values in the
IR) or plain Python objects (constexprs: folded at compile time).
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import Any

from .. import language as tl
from ..errors import CompilationError
from . import ir
from ..signature import ArgSpec, params_of
from .ir import PtrType, ScalarType, TileType, Value


@dataclass(frozen=True)
class ArrayArg:
    """An array parameter inside the kernel: its pointer, sizes and strides."""

    pointer: Value
    sizes: tuple[Value, ...]
    strides: tuple[Value | int, ...]  # 1 where the runtime specialized it away

    @property
    def type(self) -> PtrType:
        return self.pointer.type


@dataclass
class KernelSource:
    """Where a kernel's code lives, for locations and error messages."""

    name: str
    filename: str
    first_line: int  # line number of the `def` line in the file
    source: str      # dedented source of the function
    indent: int      # columns removed by dedenting
    globals: dict


_INT_OPS = {ast.Add: "arith.addi", ast.Sub: "arith.subi", ast.Mult: "arith.muli",
            ast.FloorDiv: "arith.floordivsi"}
_FLOAT_OPS = {ast.Add: "arith.addf", ast.Sub: "arith.subf", ast.Mult: "arith.mulf",
              ast.Div: "arith.divf"}
_OP_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
              ast.FloorDiv: "//", ast.Mod: "%"}


class CodeGenerator(ast.NodeVisitor):
    def __init__(self, kernel: KernelSource, specs: dict[str, ArgSpec], num_warps: int):
        self.kernel = kernel
        self.specs = specs
        self.num_warps = num_warps
        self.builder = ir.Builder()
        self.scope: dict[str, Any] = {}
        self.lines = kernel.source.splitlines()

    # -- errors and locations ------------------------------------------------
    def loc(self, node: ast.AST) -> ir.Location:
        return ir.Location(self.kernel.filename, node.lineno + self.kernel.first_line - 1,
                           node.col_offset + self.kernel.indent)

    def error(self, node: ast.AST, message: str) -> CompilationError:
        line = getattr(node, "lineno", 1)
        src = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        if src is not None:
            src = " " * self.kernel.indent + src
        return CompilationError(message, self.kernel.filename,
                                line + self.kernel.first_line - 1,
                                getattr(node, "col_offset", 0) + self.kernel.indent, src)

    def generic_visit(self, node: ast.AST):
        raise self.error(node, f"unsupported Python syntax in a tile kernel: {type(node).__name__}")

    # -- function ------------------------------------------------------------
    def generate(self) -> str:
        tree = ast.parse(self.kernel.source)
        fn = tree.body[0]
        if not isinstance(fn, ast.FunctionDef):
            raise self.error(fn, "a tile kernel must be a plain `def` function")
        return self.visit_FunctionDef(fn)

    def visit_FunctionDef(self, fn: ast.FunctionDef) -> str:
        a = fn.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
            raise self.error(fn, "tile kernels take plain positional parameters only "
                             "(no *args, **kwargs, keyword-only or positional-only)")
        if a.defaults:
            raise self.error(a.defaults[0], "kernel parameters cannot have default values yet")
        args: list[ir.Argument] = []
        for arg in a.args:
            spec = self.specs[arg.arg]
            if spec.kind == "constexpr":
                self.scope[arg.arg] = spec.value
                continue
            values = {}
            for p in params_of(arg.arg, spec):
                type_ = PtrType(spec.dtype) if p.type == "ptr" else \
                    ScalarType(tl.BY_MLIR[p.type])
                value = Value(f"%{p.name}", type_)
                attrs = {}
                if p.divisibility > 1:
                    attrs["tile.divisibility"] = f"{p.divisibility} : i64"
                args.append(ir.Argument(value, attrs, self.loc(arg)))
                values[(p.source, p.dim)] = value
            if spec.kind == "array":
                self.scope[arg.arg] = ArrayArg(
                    values[("pointer", -1)],
                    tuple(values[("size", d)] for d in range(spec.rank)),
                    tuple(values.get(("stride", d), 1) for d in range(spec.rank)))
            else:
                self.scope[arg.arg] = values[("value", -1)]
        for stmt in fn.body:
            self.visit(stmt)
        attrs = {"tile.kernel": None, "tile.num_warps": f"{self.num_warps} : i32"}
        return self.builder.module(self.kernel.name, args, attrs, self.loc(fn))

    # -- statements ----------------------------------------------------------
    def visit_Expr(self, node: ast.Expr):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # docstring
        self.visit(node.value)

    def visit_Pass(self, node: ast.Pass):
        pass

    def visit_Return(self, node: ast.Return):
        if node.value is not None:
            raise self.error(node, "a tile kernel cannot return a value; store results instead")
        # A trailing `return` is the implicit one; early returns come with control flow.

    def visit_Assign(self, node: ast.Assign):
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            raise self.error(node, "only assignments to a single name are supported")
        self.scope[node.targets[0].id] = self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign):
        if not isinstance(node.target, ast.Name):
            raise self.error(node, "only augmented assignments to a name are supported")
        current = self.visit_Name(ast.Name(node.target.id, ast.Load(), lineno=node.lineno,
                                           col_offset=node.col_offset))
        self.scope[node.target.id] = self.binary(node, node.op, current, self.visit(node.value))

    def visit_If(self, node: ast.If):
        cond = self.visit(node.test)
        if isinstance(cond, Value):
            raise self.error(node.test, "`if` on a runtime value is not supported yet; "
                             "only constexpr conditions")
        for stmt in node.body if cond else node.orelse:
            self.visit(stmt)

    # -- expressions ---------------------------------------------------------
    def visit_Constant(self, node: ast.Constant):
        if isinstance(node.value, (bool, int, float)) or node.value is None:
            return node.value
        raise self.error(node, f"unsupported constant {node.value!r} in a tile kernel")

    def visit_Name(self, node: ast.Name):
        if node.id in self.scope:
            return self.scope[node.id]
        if node.id in self.kernel.globals:
            return self.kernel.globals[node.id]
        if hasattr(builtins, node.id):
            return getattr(builtins, node.id)
        raise self.error(node, f"name '{node.id}' is not defined")

    def visit_Attribute(self, node: ast.Attribute):
        base = self.visit(node.value)
        if isinstance(base, (Value, ArrayArg)):
            raise self.error(node, f"'{node.attr}' is not an attribute of a {base.type}")
        try:
            return getattr(base, node.attr)
        except AttributeError:
            raise self.error(node, f"{base!r} has no attribute '{node.attr}'") from None

    def visit_UnaryOp(self, node: ast.UnaryOp):
        operand = self.visit(node.operand)
        if not isinstance(operand, Value):
            ops = {ast.USub: lambda v: -v, ast.UAdd: lambda v: +v, ast.Not: lambda v: not v}
            if type(node.op) in ops:
                return ops[type(node.op)](operand)
        if isinstance(node.op, ast.USub) and isinstance(operand, Value):
            return self.binary(node, ast.Sub(), 0, operand)
        raise self.error(node, f"unsupported unary operator {type(node.op).__name__}")

    def visit_BinOp(self, node: ast.BinOp):
        return self.binary(node, node.op, self.visit(node.left), self.visit(node.right))

    def visit_Compare(self, node: ast.Compare):
        values = [self.visit(node.left)] + [self.visit(c) for c in node.comparators]
        if any(isinstance(v, Value) for v in values):
            raise self.error(node, "comparisons of runtime values are not supported yet")
        ops = {ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__",
               ast.Gt: "__gt__", ast.GtE: "__ge__"}
        for op, lhs, rhs in zip(node.ops, values, values[1:]):
            if type(op) not in ops or not getattr(lhs, ops[type(op)])(rhs):
                return False
        return True

    def visit_Call(self, node: ast.Call):
        fn = self.visit(node.func)
        name = getattr(fn, "__tile_builtin__", None)
        if name is None:
            raise self.error(node, f"cannot call {getattr(fn, '__name__', fn)!r} in a tile kernel")
        handler = getattr(self, f"builtin_{name}")
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords}
        return handler(node, *args, **kwargs)

    # -- arithmetic ----------------------------------------------------------
    def constant(self, node: ast.AST, value, type_: ScalarType) -> Value:
        if type_.dtype.is_float:
            text = f"arith.constant {float(value)!r} : {type_.mlir()}"
        else:
            info = {"i32": (-2**31, 2**31 - 1), "i64": (-2**63, 2**63 - 1)}.get(type_.dtype.mlir)
            if info and not info[0] <= int(value) <= info[1]:
                raise self.error(node, f"constant {value} does not fit in {type_}")
            text = f"arith.constant {int(value)} : {type_.mlir()}"
        return self.builder.op(text, self.loc(node), type_)

    def as_value(self, node: ast.AST, x, like: Value) -> Value:
        """A runtime value for `x`, converting a Python number to `like`'s type."""
        if isinstance(x, Value):
            return x
        if isinstance(like.type, ScalarType) and isinstance(x, (int, float)) \
                and not isinstance(x, bool):
            if isinstance(x, float) and not like.type.dtype.is_float:
                raise self.error(node, f"cannot mix the float {x} with a {like.type} value")
            return self.constant(node, x, like.type)
        raise self.error(node, f"cannot combine {x!r} with a {like.type} value")

    def binary(self, node: ast.AST, op: ast.operator, lhs, rhs):
        sym = _OP_SYMBOL.get(type(op), type(op).__name__)
        if any(isinstance(v, ArrayArg) for v in (lhs, rhs)):
            raise self.error(node, f"'{sym}' on arrays (pointers) is not supported; pass an "
                             "offset to tile.load/tile.store instead")
        if not isinstance(lhs, Value) and not isinstance(rhs, Value):
            return self.fold(node, op, lhs, rhs)
        lhs = self.as_value(node, lhs, rhs if isinstance(rhs, Value) else lhs)
        rhs = self.as_value(node, rhs, lhs)
        if lhs.type != rhs.type:
            raise self.error(node, f"operands of '{sym}' differ in type: "
                             f"{lhs.type} and {rhs.type}")
        dtype = lhs.type.dtype
        table = _FLOAT_OPS if dtype.is_float else _INT_OPS
        if type(op) not in table:
            kind = "float" if dtype.is_float else "integer"
            raise self.error(node, f"operator '{sym}' is not supported on {kind} values "
                             f"({lhs.type})")
        return self.builder.op(f"{table[type(op)]} {lhs.name}, {rhs.name} : {lhs.type.mlir()}",
                               self.loc(node), lhs.type)

    def fold(self, node: ast.AST, op: ast.operator, lhs, rhs):
        import operator as pyop
        table = {ast.Add: pyop.add, ast.Sub: pyop.sub, ast.Mult: pyop.mul,
                 ast.Div: pyop.truediv, ast.FloorDiv: pyop.floordiv, ast.Mod: pyop.mod,
                 ast.Pow: pyop.pow, ast.LShift: pyop.lshift, ast.RShift: pyop.rshift}
        if type(op) not in table:
            raise self.error(node, f"unsupported operator {type(op).__name__}")
        try:
            return table[type(op)](lhs, rhs)
        except Exception as e:  # e.g. ZeroDivisionError on constexprs
            raise self.error(node, f"constant expression failed: {e}") from None

    # -- builtins --------------------------------------------------------------
    def require_constexpr_int(self, node, value, what: str) -> int:
        if isinstance(value, Value) or not isinstance(value, int) or isinstance(value, bool):
            raise self.error(node, f"{what} must be a constexpr integer, got "
                             f"{value.type if isinstance(value, Value) else repr(value)}")
        return value

    def require_i32(self, node, value, what: str) -> Value:
        if isinstance(value, int) and not isinstance(value, bool):
            return self.constant(node, value, ScalarType(tl.int32))
        if not isinstance(value, Value) or value.type != ScalarType(tl.int32):
            got = value.type if isinstance(value, Value) else repr(value)
            raise self.error(node, f"{what} must be an int32 scalar, got {got}")
        return value

    def builtin_program_id(self, node, axis=0):
        axis = self.require_constexpr_int(node, axis, "program_id's axis")
        if axis not in (0, 1, 2):
            raise self.error(node, f"program_id's axis must be 0, 1 or 2, got {axis}")
        return self.builder.op(f"tile.program_id {axis}", self.loc(node), ScalarType(tl.int32))

    def builtin_num_programs(self, node, axis=0):
        axis = self.require_constexpr_int(node, axis, "num_programs's axis")
        if axis not in (0, 1, 2):
            raise self.error(node, f"num_programs's axis must be 0, 1 or 2, got {axis}")
        return self.builder.op(f"tile.num_programs {axis}", self.loc(node), ScalarType(tl.int32))

    def global_access(self, node, ptr, offset, bound, what: str):
        if not isinstance(ptr, ArrayArg):
            got = ptr.type if isinstance(ptr, Value) else repr(ptr)
            raise self.error(node, f"{what}'s first argument must be an array parameter, "
                             f"got {got}")
        ptr = ptr.pointer
        offset = self.require_i32(node, offset, f"{what}'s offset")
        bound_text = ""
        if bound is not None:
            bound = self.require_i32(node, bound, f"{what}'s bound")
            bound_text = f" bound {bound.name}"
        return ptr, offset, bound_text

    def builtin_load(self, node, ptr, offset, size, bound=None):
        ptr, offset, bound_text = self.global_access(node, ptr, offset, bound, "load")
        size = self.require_constexpr_int(node, size, "load's size")
        if size <= 0 or size & (size - 1):
            raise self.error(node, f"load's size must be a power of two, got {size}")
        result = TileType((size,), ptr.type.dtype)
        return self.builder.op(
            f"tile.load {ptr.name}[{offset.name}]{bound_text} : {ptr.type.mlir()} -> "
            f"{result.mlir()}", self.loc(node), result)

    def builtin_store(self, node, ptr, offset, value, bound=None):
        ptr, offset, bound_text = self.global_access(node, ptr, offset, bound, "store")
        if not isinstance(value, Value) or not isinstance(value.type, TileType):
            got = value.type if isinstance(value, Value) else repr(value)
            raise self.error(node, f"store's value must be a tile, got {got}")
        if value.type.dtype != ptr.type.dtype:
            raise self.error(node, f"store of a {value.type} to a {ptr.type}: element types "
                             "differ (convert with .to(dtype) first)")
        self.builder.op(f"tile.store {value.name}, {ptr.name}[{offset.name}]{bound_text} : "
                        f"{value.type.mlir()}, {ptr.type.mlir()}", self.loc(node))
