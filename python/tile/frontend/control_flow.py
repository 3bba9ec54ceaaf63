"""Control flow: `if`, `for` and `while` on runtime values become `scf.if`,
`scf.for` and `scf.while`, with the names the body rebinds (and that are read
later) carried as the ops' results. A mixin of the one visitor (`CodeGenerator`).

A region's body is built in the op's block(s) before all of its results are
known: an `if`'s result types are the names its branches assign, so its
branches are built in a scratch `scf.if` whose blocks then move to the real one.
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import Any

from mlir import ir as mlir_ir
from mlir.dialects import scf

from .. import language as tl
from .early_exit import counted_loop, is_return_value, shown
from .ir import ScalarType, TileType, Value
from .liveness import assigned, exposed_reads
from .semantics import Number, describe


@dataclass(frozen=True)
class Undefined:
    """A name Python would bind but the kernel cannot use here; `reason` says why."""

    reason: str


class _Retype(Exception):
    """A loop gave a return value (None before it) a type: built again with the
    value typed from the start (a zero that no path returns)."""

    def __init__(self, types: dict):
        self.types = types


class _ExitsAtRunTime(Exception):
    """A `for` that may exit early does at run time: built again as a `while`."""

    def __init__(self, loop):
        self.loop = loop


class ControlFlow:
    # -- control flow ------------------------------------------------------------
    def condition(self, node: ast.AST, value, what: str) -> Value:
        """A runtime i1 scalar for `if`/`while` (an int32 means `!= 0`)."""
        if isinstance(value, Value) and value.type == ScalarType(tl.int32):
            return self.compare(node, ast.NotEq(), value, 0)
        if not isinstance(value, Value) or value.type != ScalarType(tl.int1):
            raise self.error(node, f"{what} condition must be a boolean scalar (a comparison), "
                             f"got {describe(value)}")
        return value

    def visit_If(self, node: ast.If):
        cond = self.visit(node.test)
        self.no_arrays(node.test, "an `if` condition", cond)
        if not self.is_runtime(cond):
            self.visit_block(node.body if cond else node.orelse)  # decided at compile time
            return
        cond = self.condition(node.test, cond, "an `if`")
        live = self.live_after()
        before = self.fn.scope
        b, loc = self.builder, self.loc(node)
        scratch = scf.IfOp(cond.ir, [], has_else=True, loc=b.at(loc), ip=b.ip)
        blocks = [scratch.then_block, scratch.else_block]
        scopes = []
        for stmts, block in zip((node.body, node.orelse), blocks):
            self.fn.scope = dict(before)
            b.push_block(block)
            self.in_region(stmts)
            scopes.append(self.fn.scope)
            b.pop_block()
        self.fn.scope = before
        names, results = [], [[], []]
        for name in self.in_definition_order(assigned(node.body + node.orelse), before):
            then, other = (scope.get(name, Undefined("")) for scope in scopes)
            if isinstance(then, Undefined) and isinstance(other, Undefined):
                before[name] = then if then.reason else other
                continue
            if isinstance(then, Undefined) or isinstance(other, Undefined):
                before[name] = Undefined(f"'{name}' is assigned in only one branch of the "
                                         f"`if` at line {self.loc(node).line}")
                continue
            if name not in live:
                before[name] = Undefined(f"'{name}' is not defined after the `if` at line "
                                         f"{self.loc(node).line}")
                continue
            if is_return_value(name) and (then is None) != (other is None):
                # One branch returned, the other not yet: its value is never returned.
                then, other = (self.unreturned(node, other) if then is None else then,
                               self.unreturned(node, then) if other is None else other)
            if then is other or not self.is_runtime(then) and not self.is_runtime(other) \
                    and type(then) is type(other) and then == other:
                before[name] = then
                continue
            for v in (then, other):
                if not isinstance(v, (Value, *Number)) or isinstance(v, Value) and \
                        not isinstance(v.type, (ScalarType, TileType)):
                    raise self.error(node, f"{shown(name)} is {describe(v)} in a branch of this "
                                     "runtime `if`; only numbers, scalars and tiles can "
                                     "differ between branches")
            if isinstance(then, Value) and isinstance(other, Value) and then.type != other.type:
                if is_return_value(name):
                    raise self.error(node, f"this function returns {then.type} on one path and "
                                     f"{other.type} on another; every `return` must give one "
                                     "type")
                raise self.error(node, f"'{name}' is {then.type} in the `if` branch and "
                                 f"{other.type} in the `else` branch; both must have one type")
            then, other = self.unify(node, f"'{name}' after the `if`", [then, other])
            self.op_dtypes(node, "compute", f"'{name}' after the `if`", then)
            names.append(name)
            results[0].append(then)
            results[1].append(other)
        types = [v.type for v in results[0]]
        for block, values in zip(blocks, results):
            scf.YieldOp([v.ir for v in values], loc=b.at(loc), ip=mlir_ir.InsertionPoint(block))
        # Built after the values unify made for the yields (they are in this block).
        op = mlir_ir.Operation.create("scf.if", results=[b.type(t) for t in types],
                                      operands=[cond.ir], regions=2, loc=b.at(loc), ip=b.ip)
        blocks[0].append_to(op.regions[0])
        if node.orelse or types:
            blocks[1].append_to(op.regions[1])
        scratch.operation.erase()
        for name, value, type_ in zip(names, op.results, types):
            before[name] = Value(value, type_)

    def unreturned(self, node: ast.AST, like):
        """A stand-in of `like`'s type for a return value not set on a path."""
        if isinstance(like, Value) and isinstance(like.type, (ScalarType, TileType)):
            return self.constant(node, 0, like.type)
        return type(like)(0) if isinstance(like, Number) else None

    @staticmethod
    def in_definition_order(names, scope: dict) -> list[str]:
        """`names` ordered as first bound (the scope's order), then new ones as
        written: the order of an op's results, so that the IR reads like the source."""
        return [n for n in scope if n in names] + [n for n in names if n not in scope]

    def carried(self, node: ast.AST, body: list[ast.stmt], live: set[str],
                exclude: set[str] = frozenset()) -> tuple[list[str], dict[str, Any]]:
        """The names a loop carries from one iteration to the next, materialized;
        and the constexpr-valued names it must leave alone (checked after)."""
        names, fixed = [], {}
        for name in self.in_definition_order(assigned(body), self.fn.scope):
            value = self.fn.scope.get(name, Undefined(""))
            if name in exclude or name not in live or isinstance(value, Undefined):
                continue
            if isinstance(value, Number):
                value = self.materialize(node, value, name)
                self.fn.scope[name] = value
            if isinstance(value, Value) and isinstance(value.type, (ScalarType, TileType)):
                self.op_dtypes(node, "compute", f"'{name}' carried by the loop", value)
                names.append(name)
            else:
                fixed[name] = value
        return names, fixed

    def last_assignment(self, body: list[ast.stmt], name: str) -> ast.AST | None:
        found = None
        for stmt in body:
            for node in ast.walk(stmt):
                if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and name in \
                        assigned([node]):
                    if found is None or node.lineno >= found.lineno:
                        found = node
        return found

    def loop_yields(self, node: ast.AST, body: list[ast.stmt], names: list[str],
                    types: list, fixed: dict[str, Any], what: str) -> list[Value]:
        """The values a loop body yields for its carried names, type-checked."""
        values = []
        for name, type_ in zip(names, types):
            value = self.fn.scope.get(name)
            where = self.last_assignment(body, name) or node
            if isinstance(value, Number):
                value = self.coerce(where, value, getattr(type_, "shape", None), type_.dtype,
                                    f"'{name}'")
            if not isinstance(value, Value) or value.type != type_:
                got = value.reason if isinstance(value, Undefined) else describe(value)
                if is_return_value(name):
                    raise self.error(where, f"this function returns {type_} and {got}; every "
                                     "`return` must give one type")
                raise self.error(where, f"'{name}' is {type_} before the {what} and {got} at "
                                 f"the end of its body; a loop-carried value must keep its type")
            values.append(value)
        retype = {name: self.fn.scope[name].type for name, before in fixed.items()
                  if is_return_value(name) and before is None and
                  isinstance(self.fn.scope.get(name), Value)}
        if retype:
            raise _Retype(retype)
        for name, before in fixed.items():
            if self.fn.scope.get(name) is not before:
                raise self.error(self.last_assignment(body, name) or node,
                                 f"'{name}' holds {describe(before)} and is rebound inside the "
                                 f"{what}; only numbers, scalars and tiles can change from one "
                                 "iteration to the next")
        return values

    def end_loop(self, body: list[ast.stmt], before: dict, names: list[str], results,
                 fixed: dict[str, Any], line: int, what: str):
        """The scope after a loop: carried names get the results, names bound
        only inside the body are undefined."""
        after = dict(before)
        for name in assigned(body):
            if name in names:
                after[name] = results[names.index(name)]
            elif name in fixed:
                pass  # checked unchanged by loop_yields
            elif name not in before or isinstance(before[name], Undefined):
                after[name] = Undefined(f"'{name}' is only defined inside the {what} at line "
                                        f"{line}; assign it before the loop to use it after")
            else:  # rebound in the body and never read after: not carried
                after[name] = Undefined(f"'{name}' is not defined after the {what} at line "
                                        f"{line}")
        self.fn.scope = after

    def visit_For(self, node: ast.For):
        if node.orelse:
            raise self.error(node, "`for ... else` is not supported")
        if not isinstance(node.target, ast.Name):
            raise self.error(node.target, "a loop index must be a single name")
        it = node.iter
        if isinstance(it, ast.Call) and self.visit(it.func) is tl.static_range:
            return self.unroll(node, it)
        if not isinstance(it, ast.Call) or self.visit(it.func) is not builtins.range:
            raise self.error(it, "only `for i in range(...)` loops are supported")
        if it.keywords or not 1 <= len(it.args) <= 3:
            raise self.error(it, "range takes 1 to 3 positional arguments")
        args = [self.visit(a) for a in it.args]
        start, stop, step = (0, args[0], 1) if len(args) == 1 else \
            (args[0], args[1], 1) if len(args) == 2 else args
        constant_step = isinstance(step, int) and not isinstance(step, bool)
        if constant_step and step == 0:
            raise self.error(it, "range's step must not be zero")
        if len(it.args) == 3 and isinstance(it.args[2], ast.UnaryOp) and \
                isinstance(it.args[2].op, ast.USub) and self.is_runtime(step):
            raise self.error(it.args[2], "range's step is negative and only known at run time; "
                             "a negative step must be a constant (a literal or a constexpr), "
                             "a runtime step positive")
        lb, ub, st = (self.int32(it, v, f"range's {w}")
                      for v, w in zip((start, stop, step), ("start", "stop", "step")))
        descending = constant_step and step < 0
        index = node.target.id
        exits = getattr(node, "exit_flags", [])  # it may break or return (early_exit.py)
        if all(self.fn.scope.get(f) is False for f in exits):
            # An scf.for while no exit is taken at run time (only constexpr ifs may
            # take one); else built again as an scf.while that tests the flags.
            bounds, index_of = (lb, ub, st), None
            if descending:  # k = 0, 1, ... trips - 1 and i = start + k * step
                bounds = self.descending(it, lb, ub, step)

                def index_of(k):
                    return self.binary(it, ast.Add(), lb, self.binary(it, ast.Mult(), k, step))
            scope, depth = dict(self.fn.scope), self.builder.depth
            try:
                return self.build_for(node, *bounds, index, exits, index_of)
            except _ExitsAtRunTime as e:
                self.builder.close_to(depth)
                e.loop.erase()
                self.fn.scope = scope
        where = f"{node.lineno}:{node.col_offset}"
        names = [f"<{w} {where}>" for w in ("counter", "stop", "step")]
        self.fn.scope.update(zip(names, (lb, ub, st)))
        self.visit_While(counted_loop(node, *names, descending), "loop")
        self.fn.scope[index] = Undefined(f"the loop index '{index}' is only defined inside "
                                         f"the loop at line {self.loc(node).line}")

    def descending(self, node: ast.AST, lb: Value, ub: Value, step: int):
        """(0, the trip count, 1) of `range(lb, ub, step)` with a negative constant
        step: cdiv(lb - ub, -step), or 0 where lb <= ub."""
        span = self.binary(node, ast.Sub(), lb, ub)
        trips = self.binary(node, ast.FloorDiv(), self.binary(node, ast.Add(), span, -step - 1),
                            -step)
        trips = self.int32(node, self.elementwise(node, "maximum", trips, 0), "range's trips")
        return self.int32(node, 0, "range's start"), trips, self.int32(node, 1, "range's step")

    def unroll(self, node: ast.For, it: ast.Call):
        """`for i in tile.static_range(...)`: the body once per value, i a constexpr."""
        if it.keywords or not 1 <= len(it.args) <= 3:
            raise self.error(it, "static_range takes 1 to 3 positional arguments")
        bounds = [self.constexpr_int(it, self.visit(a), "static_range's bounds")
                  for a in it.args]
        values = range(*bounds)  # its own break/continue/return: refused by early_exit.py
        if len(values) > 1024:
            raise self.error(it, f"static_range unrolls {len(values)} copies of its body; "
                             "at most 1024 (use range)")
        reads = frozenset(exposed_reads(node.body))
        for k, value in enumerate(values):
            self.fn.scope[node.target.id] = value
            self.visit_block(node.body, reads if k + 1 < len(values) else frozenset())

    def build_for(self, node: ast.For, lb: Value, ub: Value, st: Value, index: str,
                  exits: list[str], index_of=None):
        """An scf.for from lb to ub by st; the loop index is its induction variable,
        or `index_of` of it (computed at the top of the body)."""
        loop_reads = frozenset(exposed_reads(node.body))
        names, fixed = self.carried(node, node.body, self.live_after() | loop_reads,
                                    {index, *exits})
        before = dict(self.fn.scope)
        inits = [self.fn.scope[n] for n in names]
        types = [v.type for v in inits]
        b, loc = self.builder, self.loc(node)
        with b.at(loc):  # the body's arguments take the loop's location
            loop = scf.ForOp(lb.ir, ub.ir, st.ir, [v.ir for v in inits], ip=b.ip)
        iv = Value(loop.induction_variable, ScalarType(tl.int32))
        args_ = [Value(a, t) for a, t in zip(loop.inner_iter_args, types)]
        self.fn.scope.update({index: iv, **dict(zip(names, args_))})
        b.push_block(loop.body)
        if index_of is not None:
            self.fn.scope[index] = index_of(iv)
        self.in_region(node.body, loop_reads)
        if any(self.fn.scope.get(f) is not False for f in exits):
            raise _ExitsAtRunTime(loop.operation)
        yields = self.loop_yields(node, node.body, names, types, fixed, "loop")
        scf.YieldOp([v.ir for v in yields], loc=b.at(loc), ip=b.ip)
        b.pop_block()
        results = [Value(r, t) for r, t in zip(loop.results, types)]
        self.end_loop(node.body, before, names, results, fixed, loc.line, "loop")
        self.fn.scope.update(dict.fromkeys(exits, False))
        self.fn.scope[index] = Undefined(f"the loop index '{index}' is only defined inside "
                                         f"the loop at line {loc.line}")

    def visit_While(self, node: ast.While, what: str = "`while` loop"):
        if node.orelse:
            raise self.error(node, "`while ... else` is not supported")
        while True:
            scope, depth = dict(self.fn.scope), self.builder.depth
            try:
                return self.build_while(node, what)
            except _Retype as e:  # drop this try: its ops, scope and open blocks
                self.builder.close_to(depth)
                e.loop.erase()
                self.fn.scope = scope
                for name, type_ in e.types.items():
                    scope[name] = self.constant(node, 0, type_)

    def build_while(self, node: ast.While, what: str):
        test_reads = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
        loop_reads = frozenset(exposed_reads(node.body) | test_reads)
        names, fixed = self.carried(node, node.body, self.live_after() | loop_reads)
        before = dict(self.fn.scope)
        inits = [self.fn.scope[n] for n in names]
        types = [v.type for v in inits]
        b, loc = self.builder, self.loc(node)
        ir_types = [b.type(t) for t in types]
        loop = scf.WhileOp(ir_types, [v.ir for v in inits], loc=b.at(loc), ip=b.ip)
        try:
            self.while_regions(node, what, loop, names, fixed, before, types, ir_types,
                               loop_reads)
        except _Retype as e:
            e.loop = loop.operation
            raise

    def while_regions(self, node, what, loop, names, fixed, before, types, ir_types,
                      loop_reads):
        b, loc = self.builder, self.loc(node)
        arg_locs = [b.at(loc)] * len(types)
        # Before region: the condition, on the carried values.
        check = loop.regions[0].blocks.append(*ir_types, arg_locs=arg_locs)
        cond_args = [Value(a, t) for a, t in zip(check.arguments, types)]
        self.fn.scope.update(zip(names, cond_args))
        b.push_block(check)
        cond = self.visit(node.test)
        if not self.is_runtime(cond):
            raise self.error(node.test, f"a `while` condition must be a runtime boolean, got "
                             f"{describe(cond)} (a constant condition loops never or forever)")
        cond = self.condition(node.test, cond, "a `while`")
        scf.ConditionOp(cond.ir, [a.ir for a in cond_args], loc=b.at(loc), ip=b.ip)
        b.pop_block()
        # After region: the body, on the values the condition passed on.
        body = loop.regions[1].blocks.append(*ir_types, arg_locs=arg_locs)
        body_args = [Value(a, t) for a, t in zip(body.arguments, types)]
        self.fn.scope.update(zip(names, body_args))
        b.push_block(body)
        self.in_region(node.body, loop_reads)
        yields = self.loop_yields(node, node.body, names, types, fixed, what)
        scf.YieldOp([v.ir for v in yields], loc=b.at(loc), ip=b.ip)
        b.pop_block()
        results = [Value(r, t) for r, t in zip(loop.results, types)]
        self.end_loop(node.body, before, names, results, fixed, loc.line, what)
