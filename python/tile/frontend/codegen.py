"""The frontend: one AST visitor that turns a `@tile.jit` function into tile IR.

It builds the module with MLIR's Python bindings (see `ir.Builder`) and
returns it printed, with each op's `loc` into the kernel's source.

Values during code generation are `ir.Value` (runtime values in the IR),
`ArrayArg` (an array parameter), `Expanded` (a 1-D tile indexed `[:, None]`:
an (N, 1) tile that remembers its 1-D tile), or plain Python objects (constexprs: folded at
compile time). Statements and control flow live here; what operations mean is
in `semantics.py`, the `tile.*` functions in `builtins.py`.
"""
from __future__ import annotations

import ast
import builtins
import inspect
from dataclasses import dataclass, field
from typing import Any

from mlir import ir as mlir_ir

from .. import language as tl
from ..errors import CompilationError
from ..signature import ArgSpec, params_of
from . import ir
from .builtins import Builtins
from .control_flow import ControlFlow, Undefined
from .debugging import Debugging
from .distributed import Distributed, Symmetric
from .early_exit import lower_early_exits
from .elementwise import Elementwise
from .indexed import Indexed
from .ir import PtrType, ScalarType, TileType, Value
from .liveness import exposed_reads, killed
from .philox import Random
from .reductions import Reductions
from .semantics import ArrayArg, Expanded, Semantics, describe
from .source import KernelSource
from .views import Views

MAX_INLINE_DEPTH = 16
# Python builtins a kernel may call on constants.
_PY_BUILTINS = (builtins.min, builtins.max, builtins.abs, builtins.int, builtins.float,
                builtins.bool, builtins.len)
_METHODS = ("to", *tl.TILE_METHODS)  # x.sum(1) is tile.sum(x, 1)
_UNARY_SYMBOL = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~", ast.Not: "not"}
# Triton's names that tile spells otherwise: said where a kernel asks for them.
_TRITON_NAMES = {
    "dot": "tile.mma(a, b, acc) is acc + a @ b",
    "trans": "t.T or tile.transpose(t)", "permute": "t.T or tile.transpose(t) for 2-D tiles",
    "view": "tile.reshape adds or removes dims of size 1",
    "make_block_ptr": "a view load takes the block's place: tile.load(A, (i, j), (BM, BK))",
    "advance": "a view load takes the block's place: tile.load(A, (i, j + k), (BM, BK))",
    "max_contiguous": "tile.multiple_of(x, n) promises alignment",
    "broadcast_to": "tiles broadcast implicitly, as numpy's",
    "associative_scan": "tile.cumsum and tile.cumprod",
    "softmax": "write it: m = x.max(1); p = tile.exp(x - m[:, None]); p / p.sum(1)[:, None]",
}


@dataclass(frozen=True)
class StrideOf:
    """`A.stride` before its call: `A.stride(d)` is dim d's stride in elements."""
    array: ArrayArg


@dataclass(frozen=True)
class Method:
    """`x.to` or `x.sum` (a function of TILE_METHODS) before it is called."""

    base: Any
    name: str


@dataclass
class Frame:
    """A block being visited: its statements, the one being visited, and the
    names it reads when it runs again (a loop body), for liveness."""

    stmts: list[ast.stmt]
    index: int = 0
    rerun_reads: frozenset[str] = frozenset()


@dataclass
class Function:
    """The kernel, or an inlined helper, being visited."""

    source: KernelSource
    scope: dict[str, Any]
    is_kernel: bool
    lines: list[str] = field(init=False)
    frames: list[Frame] = field(default_factory=list)
    returned: bool = False
    return_value: Any = None

    def __post_init__(self):
        self.lines = self.source.source.splitlines()


class CodeGenerator(ast.NodeVisitor, Semantics, Builtins, Indexed, Reductions, Elementwise,
                    Random, ControlFlow, Debugging, Views, Distributed):
    def __init__(self, kernel: KernelSource, specs: dict[str, ArgSpec], num_warps: int,
                 num_ctas: int = 1):
        self.specs = specs
        self.num_warps = num_warps
        self.num_ctas = num_ctas
        self.builder: ir.Builder | None = None  # made inside the context `generate` opens
        self.fn = Function(kernel, {}, is_kernel=True)
        self.views: dict[str, Value] = {}  # pointer name -> its tile.make_view
        self.one: Value | None = None      # the i32 constant 1 of unit strides
        self.callers: list[Function] = []  # the functions inlining the one being visited

    # -- errors and locations ------------------------------------------------
    def loc(self, node: ast.AST) -> ir.Location:
        src = self.fn.source
        return ir.Location(src.filename, node.lineno + src.first_line - 1,
                           node.col_offset + src.indent)

    def error(self, node: ast.AST, message: str) -> CompilationError:
        src = self.fn.source
        line = getattr(node, "lineno", 1)
        text = self.fn.lines[line - 1] if 0 < line <= len(self.fn.lines) else None
        if text is not None:
            text = " " * src.indent + text
        return CompilationError(message, src.filename, line + src.first_line - 1,
                                getattr(node, "col_offset", 0) + src.indent, text)

    def generic_visit(self, node: ast.AST):
        raise self.error(node, f"unsupported Python syntax in a tile kernel: {type(node).__name__}")

    # -- function ------------------------------------------------------------
    def parse(self, source: KernelSource) -> ast.FunctionDef:
        fn = ast.parse(source.source).body[0]
        if not isinstance(fn, ast.FunctionDef):
            raise self.error(fn, "a tile kernel must be a plain `def` function")
        return fn

    def generate(self) -> str:
        """The kernel's module, verified, printed with locations."""
        from ..compiler.driver import _error_from_mlir
        with ir.frontend_context() as ctx, mlir_ir.Location.unknown():
            self.builder = ir.Builder(ctx)
            try:
                module = self.kernel(self.parse(self.fn.source))
            except mlir_ir.MLIRError as e:
                raise _error_from_mlir(e, "the tile IR verifier") from None
            return module.operation.get_asm(enable_debug_info=True, assume_verified=True)

    def visit_FunctionDef(self, node: ast.FunctionDef):
        raise self.error(node, "functions cannot be defined inside a tile kernel; "
                         "decorate a module-level function with @tile.jit instead")

    def kernel(self, fn: ast.FunctionDef) -> mlir_ir.Module:
        a = fn.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
            raise self.error(fn, "tile kernels take plain positional parameters only "
                             "(no *args, **kwargs, keyword-only or positional-only)")
        args: list[ir.Argument] = []
        runtime: list[tuple[ast.arg, ArgSpec, list]] = []  # with their IR parameters
        for arg in a.args:
            spec = self.specs[arg.arg]
            if spec.kind == "constexpr":
                self.fn.scope[arg.arg] = spec.value
                continue
            params = params_of(arg.arg, spec)
            for p in params:
                type_ = PtrType(spec.dtype) if p.type == "ptr" else \
                    ScalarType(tl.BY_MLIR[p.type])
                attrs = {"tile.divisibility": p.divisibility} if p.divisibility > 1 else {}
                args.append(ir.Argument(type_, attrs, self.loc(arg)))
            runtime.append((arg, spec, params))
            self.fn.scope[arg.arg] = None  # bound below; the scope keeps parameter order
        i32 = mlir_ir.IntegerType.get_signless(32)
        fattrs = {"tile.kernel": mlir_ir.UnitAttr.get(),
                  "tile.num_warps": mlir_ir.IntegerAttr.get(i32, self.num_warps)}
        if self.num_ctas > 1:
            fattrs["tile.num_ctas"] = mlir_ir.IntegerAttr.get(i32, self.num_ctas)
        arg_values = iter(self.builder.function(self.fn.source.name, args, fattrs, self.loc(fn)))
        arg_types = iter(args)
        for arg, spec, params in runtime:
            values = {}
            for p in params:
                values[(p.source, p.dim)] = Value(next(arg_values), next(arg_types).type)
            if spec.is_array:
                array = (arg.arg, values[("pointer", -1)],
                         tuple(values[("size", d)] for d in range(spec.rank)),
                         tuple(values.get(("stride", d), 1) for d in range(spec.rank)),
                         self.loc(arg))
                self.fn.scope[arg.arg] = ArrayArg(*array) if spec.kind == "array" else \
                    self.symmetric_argument(arg, spec, array, values)
            else:
                self.fn.scope[arg.arg] = values[("value", -1)]
        lower_early_exits(fn, True, self.error)
        self.visit_block(fn.body)
        return self.builder.finish(self.loc(fn))

    def symmetric_argument(self, arg: ast.arg, spec: ArgSpec, array: tuple, values: dict):
        """A symmetric array parameter; the first one brings the world (distributed.py)."""
        my_rank = values[("my_rank", -1)]
        if self.world is None:
            self.world = (my_rank, spec.world)
        elif self.world[1] != spec.world:
            raise self.error(arg, f"symmetric array '{arg.arg}' spans {spec.world} ranks, an "
                             f"earlier one {self.world[1]}: a kernel runs in one world")
        return Symmetric(*array, tuple(values[("peer", k)] for k in range(spec.world)),
                         my_rank)

    # -- blocks and liveness ---------------------------------------------------
    def visit_block(self, stmts: list[ast.stmt], rerun_reads: frozenset[str] = frozenset()):
        frame = Frame(stmts, 0, rerun_reads)
        self.fn.frames.append(frame)
        try:
            for frame.index, stmt in enumerate(stmts):
                self.visit(stmt)
                if self.fn.returned:
                    break
        finally:
            self.fn.frames.pop()

    def live_after(self) -> set[str]:
        """Names that may be read after the statement being visited."""
        live: set[str] = set()
        for frame in self.fn.frames:
            live |= frame.rerun_reads
            rest = frame.stmts[frame.index + 1:]
            live = exposed_reads(rest) | (live - killed(rest))
        return live

    def in_region(self, stmts: list[ast.stmt], rerun_reads: frozenset[str] = frozenset()):
        """Visits the body of a runtime if/loop (early exits in it are flags by now:
        early_exit.py)."""
        self.visit_block(stmts, rerun_reads)

    # -- simple statements -------------------------------------------------------
    def visit_Expr(self, node: ast.Expr):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # docstring
        self.visit(node.value)

    def visit_Pass(self, node: ast.Pass):
        pass

    # break, continue and a return inside if/loops became flags (early_exit.py)
    def visit_Break(self, node: ast.Break):
        raise self.error(node, "`break` outside a loop")

    def visit_Continue(self, node: ast.Continue):
        raise self.error(node, "`continue` outside a loop")

    def visit_Return(self, node: ast.Return):
        if self.fn.is_kernel and node.value is not None:
            raise self.error(node, "a tile kernel cannot return a value; store results instead")
        self.fn.return_value = self.visit(node.value) if node.value is not None else None
        self.fn.returned = True

    def visit_Assign(self, node: ast.Assign):
        value = self.visit(node.value)
        for target in node.targets:
            self.bind(target, value)

    def visit_AnnAssign(self, node: ast.AnnAssign):
        if node.value is None:
            raise self.error(node, "a bare annotation binds nothing; assign a value")
        self.bind(node.target, self.visit(node.value))

    def visit_AugAssign(self, node: ast.AugAssign):
        if not isinstance(node.target, ast.Name):
            raise self.error(node, "only augmented assignments to a name are supported")
        current = self.visit_Name(ast.Name(node.target.id, ast.Load(), lineno=node.lineno,
                                           col_offset=node.col_offset))
        self.bind(node.target, self.binary(node, node.op, current, self.visit(node.value)))

    def bind(self, target: ast.AST, value):
        if isinstance(target, ast.Name):
            self.fn.scope[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if not isinstance(value, tuple) or len(value) != len(target.elts):
                raise self.error(target, f"cannot unpack {describe(value)} into "
                                 f"{len(target.elts)} names")
            for t, v in zip(target.elts, value):
                self.bind(t, v)
        else:
            raise self.error(target, "only names can be assigned to (tiles are values: "
                             "build a new one instead of writing into it)")

    def visit_Assert(self, node: ast.Assert):
        test = self.visit(node.test)
        self.no_arrays(node.test, "an assert's condition", test)
        if self.is_runtime(test):
            return self.runtime_assert(node, test)  # a device assert (debugging.py)
        if not test:
            msg = self.visit(node.msg) if node.msg is not None else None
            raise self.error(node, f"assertion failed{': ' + str(msg) if msg else ''}")

    # -- expressions ---------------------------------------------------------
    def visit_Constant(self, node: ast.Constant):
        if isinstance(node.value, (bool, int, float, str)) or node.value is None:
            return node.value
        raise self.error(node, f"unsupported constant {node.value!r} in a tile kernel")

    def visit_JoinedStr(self, node: ast.JoinedStr):  # f-strings of constants (assert messages)
        parts = []
        for v in node.values:
            value = self.visit(v.value) if isinstance(v, ast.FormattedValue) else v.value
            if self.is_runtime(value):
                raise self.error(v, "an f-string can only format constants")
            parts.append(str(value))
        return "".join(parts)

    def visit_Name(self, node: ast.Name):
        if node.id in self.fn.scope:
            value = self.fn.scope[node.id]
            if isinstance(value, Undefined):
                raise self.error(node, value.reason)
            return value
        globals_ = self.fn.source.globals
        if node.id in globals_:
            return globals_[node.id]
        if hasattr(builtins, node.id):
            return getattr(builtins, node.id)
        raise self.error(node, f"name '{node.id}' is not defined")

    def visit_Tuple(self, node: ast.Tuple):
        return tuple(self.visit(e) for e in node.elts)

    visit_List = visit_Tuple

    def visit_Attribute(self, node: ast.Attribute):
        base = self.visit(node.value)
        if isinstance(base, ArrayArg):
            attrs = {"dtype": lambda: base.dtype, "shape": lambda: base.sizes,
                     "ndim": lambda: base.rank, "stride": lambda: StrideOf(base)}
        elif isinstance(base, Value):
            type_ = base.type
            attrs = {"dtype": lambda: type_.dtype, **{m: lambda m=m: Method(base, m)
                                                       for m in _METHODS}}
            if isinstance(type_, TileType) and isinstance(base, Value):
                attrs.update(shape=lambda: type_.shape, ndim=lambda: len(type_.shape),
                             T=lambda: self.builtin_transpose(node, base))
        else:
            try:
                return getattr(base, node.attr)
            except AttributeError:
                what = base.__name__ if inspect.ismodule(base) else repr(base)
                hint = _TRITON_NAMES.get(node.attr) if what == "tile" else None
                raise self.error(node, f"{what} has no attribute '{node.attr}'"
                                 + (f" ({hint})" if hint else "")) from None
        if node.attr not in attrs:
            raise self.error(node, f"{describe(base)} has no attribute '{node.attr}' "
                             f"(it has {', '.join(sorted(attrs))})")
        return attrs[node.attr]()

    def visit_Subscript(self, node: ast.Subscript):
        base = self.visit(node.value)
        if isinstance(base, Value) and isinstance(base.type, TileType):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]

            def part(e):  # None, ... or slice(None) for `:`; False for anything else
                if isinstance(e, ast.Constant) and (e.value is None or e.value is ...):
                    return e.value
                whole = isinstance(e, ast.Slice) and not (e.lower or e.upper or e.step)
                return slice(None) if whole else False
            kinds = [part(e) for e in parts]
            if any(k is False for k in kinds):
                raise self.error(node, f"a {base.type} cannot be indexed; only dims of size "
                                 "1 are added with None (numpy's v[:, None], v[None, :], "
                                 "m[:, :, None]), ':' keeping a dim whole")
            return self.index_tile(node, base, kinds)
        if isinstance(base, ArrayArg):  # Q[b, h]: a lower-rank array (views.py)
            return self.select_array(node, base, self.visit(node.slice))
        if isinstance(base, (tuple, list)):
            index = self.visit(node.slice)
            if self.is_runtime(index) or not isinstance(index, (int, slice)):
                raise self.error(node, f"a tuple index must be a constexpr int, got "
                                 f"{describe(index)}")
            try:
                return base[index]
            except IndexError:
                if isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
                    raise self.error(node, f"index {index} is out of range: "
                                     f"{ast.unparse(node.value.value)} has {len(base)} "
                                     "dim(s) (a type string gives an array's rank as "
                                     "'*bf16[2]:16'; without [rank] it is 1-D)") from None
                raise self.error(node, f"index {index} is out of range for a tuple of "
                                 f"{len(base)}") from None
        raise self.error(node, f"{describe(base)} cannot be indexed")

    def visit_Slice(self, node: ast.Slice):
        return slice(*(self.visit(p) if p else None for p in (node.lower, node.upper,
                                                              node.step)))

    def visit_UnaryOp(self, node: ast.UnaryOp):
        operand = self.visit(node.operand)
        self.no_arrays(node, f"'{_UNARY_SYMBOL[type(node.op)]}'", operand)
        if isinstance(node.op, ast.Not):
            return self.logical_not(node, operand)
        if isinstance(node.op, ast.USub):
            if self.is_runtime(operand):
                return self.negate(node, operand)
            try:
                return -operand
            except TypeError:
                raise self.error(node, f"'-' is not defined on {describe(operand)}") from None
        if isinstance(node.op, ast.UAdd):
            return operand
        return self.invert(node, operand)  # ast.Invert

    def visit_BinOp(self, node: ast.BinOp):
        return self.binary(node, node.op, self.visit(node.left), self.visit(node.right))

    def visit_Compare(self, node: ast.Compare):
        values = [self.visit(node.left)] + [self.visit(c) for c in node.comparators]
        result = True
        for op, lhs, rhs in zip(node.ops, values, values[1:]):
            if isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)):
                raise self.error(node, f"'{type(op).__name__}' comparisons are not supported")
            this = self.compare(node, op, lhs, rhs)
            result = this if result is True else self.logical(node, ast.And(), result, this)
        return result

    def visit_BoolOp(self, node: ast.BoolOp):
        word = "'and'" if isinstance(node.op, ast.And) else "'or'"
        result = self.visit(node.values[0])
        for value in node.values[1:]:
            self.no_arrays(node, word, result)
            if not self.is_runtime(result):  # Python's short circuit on constants
                if bool(result) == isinstance(node.op, ast.Or):
                    return result
                result = self.visit(value)
            else:
                result = self.logical(node, node.op, result, self.visit(value))
        self.no_arrays(node, word, result)
        return result

    def logical(self, node: ast.AST, op: ast.boolop, lhs, rhs):
        """`and`/`or` of booleans where one side is a runtime value (both evaluated)."""
        word = "and" if isinstance(op, ast.And) else "or"
        lhs, rhs = self.unify(node, f"'{word}'", [lhs, rhs])
        if lhs.type.dtype != tl.int1:
            raise self.error(node, f"'{word}' needs booleans (comparisons), got "
                             f"{describe(lhs)}")
        return self.binary(node, ast.BitAnd() if word == "and" else ast.BitOr(), lhs, rhs)

    def visit_IfExp(self, node: ast.IfExp):
        cond = self.visit(node.test)
        self.no_arrays(node.test, "a conditional expression's condition", cond)
        if not self.is_runtime(cond):
            return self.visit(node.body if cond else node.orelse)
        return self.select(node, cond, self.visit(node.body), self.visit(node.orelse),
                           "a conditional expression")

    def visit_Call(self, node: ast.Call):
        fn = self.visit(node.func)
        if any(isinstance(a, ast.Starred) for a in node.args) or \
                any(k.arg is None for k in node.keywords):
            raise self.error(node, "*args and **kwargs are not supported in calls")
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords}
        if isinstance(fn, StrideOf):  # A.stride(d): in elements, as torch's
            if len(args) != 1 or kwargs or not isinstance(args[0], int) or \
                    not -fn.array.rank <= args[0] < fn.array.rank:
                raise self.error(node, f"{fn.array.name}.stride(d) takes one constexpr dim of "
                                 f"its {fn.array.rank}, got {', '.join(map(describe, args))}")
            return fn.array.strides[args[0]]
        if isinstance(fn, Method):
            if fn.name == "to":
                if len(args) != 1 or set(kwargs) - {"bitcast"}:
                    raise self.error(node, ".to() takes one dtype argument (and bitcast=)")
                if self.constexpr_bool(node, kwargs.get("bitcast", False), ".to's bitcast"):
                    return self.bitcast(node, fn.base, args[0])
                return self.cast(node, fn.base, args[0])
            if fn.name == "reshape" and len(args) > 1:  # x.reshape(m, n)
                args = [tuple(args)]
            args, fn = [fn.base, *args], getattr(tl, fn.name)
        name = getattr(fn, "__tile_builtin__", None)
        if name is not None:
            try:
                bound = inspect.signature(fn).bind(*args, **kwargs)
            except TypeError as e:
                raise self.error(node, f"tile.{name}: {e}") from None
            bound.apply_defaults()
            return getattr(self, f"builtin_{name}")(node, **bound.arguments)
        from ..runtime.jit import JITFunction
        if isinstance(fn, JITFunction):
            return self.inline(node, fn, args, kwargs)
        if any(fn is b for b in _PY_BUILTINS):  # by identity: kernel values need not hash
            if fn is builtins.abs and len(args) == 1 and not kwargs and self.is_runtime(args[0]):
                return self.builtin_abs(node, args[0])
            if (fn is builtins.min or fn is builtins.max) and \
                    any(self.is_runtime(a) for a in args):
                return self.min_max(node, fn.__name__, args, kwargs)
            if any(self.is_runtime(a) or isinstance(a, ArrayArg) for a in args):
                hint = {builtins.min: " (use tile.minimum)", builtins.max: " (use tile.maximum)",
                        builtins.abs: " (use tile.abs)"}
                raise self.error(node, f"{fn.__name__}() only works on constants here"
                                 f"{hint.get(fn, '')}")
            try:
                return fn(*args, **kwargs)
            except Exception as e:
                raise self.error(node, f"{fn.__name__}() failed: {e}") from None
        if isinstance(fn, (ArrayArg, Value, Expanded)) or not callable(fn):
            raise self.error(node, f"{describe(fn)} is not callable; only tile.* functions, "
                             "@tile.jit functions and min/max/abs/int/float/bool/len can be "
                             "called")
        raise self.error(node, f"cannot call {getattr(fn, '__name__', fn)!r} in a tile kernel "
                         "(call tile.* functions, @tile.jit functions, or min/max/abs/int/"
                         "float/bool/len on constants)")

    def min_max(self, node: ast.Call, name: str, args: list, kwargs: dict):
        """Python's min(a, b, ...) / max(a, b, ...) with a runtime value among them:
        tile.minimum / tile.maximum, left to right (constants alone fold as Python)."""
        elementwise = {"min": "minimum", "max": "maximum"}[name]
        if kwargs or len(args) < 2:
            hint = f" (to reduce a tile, use tile.{name}(x))" if len(args) == 1 else ""
            raise self.error(node, f"{name}() of runtime values takes two or more "
                             f"numbers, scalars or tiles and no keywords{hint}")
        result = args[0]
        for a in args[1:]:
            result = self.elementwise(node, elementwise, result, a)
        return result

    # -- inlining ------------------------------------------------------------
    def inline(self, node: ast.Call, callee, args: list, kwargs: dict):
        """Visits a @tile.jit helper's body in place, with its own scope and
        source locations; its `return` value is the call's value."""
        sources = [f.source for f in self.callers] + [self.fn.source]
        start = next((i for i, s in enumerate(sources) if s is callee.source), None)
        if start is not None:  # this call closes a cycle
            cycle = " → ".join(s.name for s in sources[start:] + [callee.source])
            raise self.error(node, f"{callee.__name__} calls itself recursively ({cycle}); "
                             "recursive @tile.jit functions are not supported")
        if len(self.callers) >= MAX_INLINE_DEPTH:
            raise self.error(node, f"calls nest deeper than {MAX_INLINE_DEPTH}")
        try:
            bound = callee.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise self.error(node, f"{callee.__name__}(): {e}") from None
        bound.apply_defaults()
        for name in callee.constexpr_params:
            if self.is_runtime(bound.arguments.get(name)):
                raise self.error(node, f"{callee.__name__}(): '{name}' is a tile.constexpr "
                                 f"parameter but got {describe(bound.arguments[name])}, "
                                 "which is only known at run time")
        site = self.loc(node)
        self.callers.append(self.fn)
        self.fn = Function(callee.source, dict(bound.arguments), is_kernel=False)
        try:
            fndef = self.parse(callee.source)
            if fndef.args.vararg or fndef.args.kwarg:
                raise self.error(fndef, "@tile.jit functions cannot take *args or **kwargs")
            lower_early_exits(fndef, False, self.error)
            self.visit_block(fndef.body)
            return self.fn.return_value
        except CompilationError as e:
            e.add_caller(site.filename, site.line)
            raise
        finally:
            self.fn = self.callers.pop()
