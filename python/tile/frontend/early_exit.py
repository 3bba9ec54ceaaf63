"""`break`, `continue` and `return` inside runtime control flow, as flags.

scf regions have no early exits: a region runs to its end. So before a function
is visited, its AST is rewritten into one without them, with boolean flags, as
TensorFlow's AutoGraph and other Python-to-MLIR compilers do:

- `break` sets the loop's break flag, `continue` its continue flag (cleared at
  the top of each iteration), `return v` the function's return flag and binds
  the return value (one name per element where every `return` gives a tuple
  of one length); the function then ends with `return <return value>`.
- The statements after one that may set a flag run under `if not flag:`.
- A loop that may break or return tests its flags first: `while c:` becomes
  `while not flag and c:`; a `for ... in range` becomes such a `while` over a
  counter (built by `visit_For`, which checks the range first: the `for` is
  marked with `exit_flags`), unless no exit is taken at run time (only under
  constexpr `if`s): visit_For builds an scf.for first and builds it again as a
  `while` if a flag is a runtime value at the end of the body. A loop that
  only `continue`s stays a `for`.
- Inside `if not flag:` the flags are set false again: constants, so that
  what follows folds as if no exit came before.

The flags are ordinary names to the visitor: i1 values where a runtime `if`
sets them, carried by scf.if and scf.while as any other name; constants, which
fold, where only constexpr `if`s set them. So the IR has only
structured control flow, and a loop that can exit early is an scf.while, which
the tile passes that software-pipeline loops (scf.for) leave alone.

A function whose only `return`s are at its top level, and which has no `break`
or `continue`, is left as it is. Hidden names are not identifiers, so they
never meet a user's names.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable

RETURN_FLAG = "<return>"
RETURN_VALUE = "<return value>"


def is_return_value(name: str) -> bool:
    return name.startswith(RETURN_VALUE)


def shown(name: str) -> str:
    """How a name is named in error messages."""
    return "the returned value" if is_return_value(name) else f"'{name}'"


def _located(node: ast.AST, at: ast.AST) -> ast.AST:
    for n in ast.walk(node):
        for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if not hasattr(n, attr) or getattr(n, attr) is None:
                setattr(n, attr, getattr(at, attr, 0))
    return node


def _name(name: str, store: bool = False) -> ast.Name:
    return ast.Name(name, ast.Store() if store else ast.Load())


def _assign(name: str, value, at: ast.AST) -> ast.Assign:
    value = value if isinstance(value, ast.AST) else ast.Constant(value)
    return _located(ast.Assign([_name(name, True)], value), at)


def none_of(flags: list[str]) -> ast.expr:
    """`not (f1 or f2 ...)`."""
    either = _name(flags[0]) if len(flags) == 1 else ast.BoolOp(ast.Or(), [_name(f) for f in
                                                                           flags])
    return ast.UnaryOp(ast.Not(), either)


def counted_loop(node: ast.For, counter: str, stop: str, step: str,
                 descending: bool = False) -> ast.While:
    """`for i in range(...)` whose `exit_flags` may end it early, as
    `while not flags and counter < stop: i = counter; counter += step; body`
    (`counter > stop` for a negative step; `visit_For` binds counter, stop and
    step to the range's checked values)."""
    before_stop = ast.Compare(_name(counter), [ast.Gt() if descending else ast.Lt()],
                              [_name(stop)])
    test = ast.BoolOp(ast.And(), [none_of(node.exit_flags), before_stop])
    advance = ast.Assign([_name(counter, True)],
                         ast.BinOp(_name(counter), ast.Add(), _name(step)))
    body = [ast.Assign([node.target], _name(counter)), advance] + node.body
    return _located(ast.While(test, body, []), node)


def _skipped(node: ast.AST) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))


def _exit_nodes(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """The `break`/`continue` of the loop around `stmts` (not of loops inside them)
    and the `return`s in them."""
    found: list[ast.stmt] = []

    def walk(node: ast.AST, in_loop: bool):
        for child in ast.iter_child_nodes(node):
            if _skipped(child):
                continue
            if isinstance(child, ast.Return) or \
                    (isinstance(child, (ast.Break, ast.Continue)) and not in_loop):
                found.append(child)
            walk(child, in_loop or isinstance(child, (ast.For, ast.While)))
    walk(ast.Module(stmts, []), False)
    return found


def _exits(stmts: list[ast.stmt]) -> set[str]:
    """What `stmts` may do early: "break", "continue" and "return"."""
    words = {ast.Break: "break", ast.Continue: "continue", ast.Return: "return"}
    return {words[type(n)] for n in _exit_nodes(stmts)}


def _is_static_range(loop: ast.stmt) -> bool:
    """`for ... in tile.static_range(...)` (by name: this runs before any lookup)."""
    it = getattr(loop, "iter", None)
    func = it.func if isinstance(it, ast.Call) else None
    return (isinstance(func, ast.Attribute) and func.attr == "static_range") or \
        (isinstance(func, ast.Name) and func.id == "static_range")


def _statements(stmts: list[ast.stmt]):
    for stmt in stmts:
        for node in ast.walk(stmt):
            if not _skipped(node):
                yield node


def _always_returns(stmts: list[ast.stmt]) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.Return):
        return True
    if isinstance(last, ast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    return any(isinstance(s, ast.Return) for s in stmts)  # dead code after a return


@dataclass
class _Loop:
    break_flag: str | None
    continue_flag: str | None


class _Lowering:
    def __init__(self, error: Callable, arity: int | None, returns_value: bool):
        self.error = error
        self.arity = arity  # elements of the returned tuple, None: one value
        self.returns_value = returns_value

    def return_names(self) -> list[str]:
        if self.arity is None:
            return [RETURN_VALUE]
        return [f"{RETURN_VALUE} {i}" for i in range(self.arity)]

    def block(self, stmts: list[ast.stmt], loop: _Loop | None) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for k, stmt in enumerate(stmts):
            if isinstance(stmt, (ast.Break, ast.Continue)):
                word = "break" if isinstance(stmt, ast.Break) else "continue"
                if loop is None:
                    raise self.error(stmt, f"`{word}` outside a loop")
                flag = loop.break_flag if word == "break" else loop.continue_flag
                out.append(_assign(flag, True, stmt))
                return out  # what follows never runs
            if isinstance(stmt, ast.Return):
                out.extend(self.returned(stmt))
                return out
            flags = self.flags(stmt, loop)
            out.extend(self.statement(stmt, loop))
            rest = stmts[k + 1:]
            if flags and rest:
                # Inside, the flags are known false: constants again, which fold.
                body = [_assign(f, False, rest[0]) for f in flags] + self.block(rest, loop)
                out.append(_located(ast.If(none_of(flags), body, []), rest[0]))
                return out
        return out

    def flags(self, stmt: ast.stmt, loop: _Loop | None) -> list[str]:
        """The flags `stmt` may set that the statements after it must test."""
        if isinstance(stmt, (ast.For, ast.While)):
            exits = _exits(stmt.body) & {"return"}  # its break/continue are its own
        else:
            exits = _exits([stmt])
        flags = []
        if "break" in exits:
            flags.append(loop.break_flag)
        if "continue" in exits:
            flags.append(loop.continue_flag)
        if "return" in exits:
            flags.append(RETURN_FLAG)
        return flags

    def statement(self, stmt: ast.stmt, loop: _Loop | None) -> list[ast.stmt]:
        if isinstance(stmt, ast.If):
            stmt.body = self.block(stmt.body, loop)
            stmt.orelse = self.block(stmt.orelse, loop)
            return [stmt]
        if not isinstance(stmt, (ast.For, ast.While)):
            return [stmt]
        if not _exits(stmt.body):  # loops inside it may still leave early
            stmt.body = self.block(stmt.body, _Loop(None, None))
            return [stmt]
        if _is_static_range(stmt):  # unrolled by visit_For: no loop to leave
            raise self.error(_exit_nodes(stmt.body)[0], "break, continue and return are not "
                             "supported in a tile.static_range loop (use range)")
        exits = _exits(stmt.body)
        where = f"{stmt.lineno}:{stmt.col_offset}"
        inner = _Loop(f"<break {where}>" if "break" in exits else None,
                      f"<continue {where}>" if "continue" in exits else None)
        body = self.block(stmt.body, inner)
        if inner.continue_flag:
            body.insert(0, _assign(inner.continue_flag, False, stmt))
        stmt.body = body
        ends = [f for f in (inner.break_flag, RETURN_FLAG if "return" in exits else None) if f]
        before = [_assign(inner.break_flag, False, stmt)] if inner.break_flag else []
        if ends:
            if isinstance(stmt, ast.While):
                stmt.test = _located(ast.BoolOp(ast.And(), [none_of(ends), stmt.test]), stmt)
            else:
                stmt.exit_flags = ends  # visit_For makes it a `while` (counted_loop)
        return before + [stmt]

    def returned(self, stmt: ast.Return) -> list[ast.stmt]:
        out = []
        if stmt.value is not None:
            values = stmt.value.elts if self.arity is not None else [stmt.value]
            out = [_assign(n, v, stmt) for n, v in zip(self.return_names(), values)]
        return out + [_assign(RETURN_FLAG, True, stmt)]


def lower_early_exits(fn: ast.FunctionDef, is_kernel: bool, error: Callable) -> None:
    """Rewrites `fn`'s body in place (see the module's doc); `error(node, message)`
    makes the CompilationError for a misuse."""
    nodes = list(_statements(fn.body))
    top = {id(s) for s in fn.body}
    if not any(isinstance(n, (ast.Break, ast.Continue)) or isinstance(n, ast.Return) and
               id(n) not in top for n in nodes):
        return
    returns = [n for n in nodes if isinstance(n, ast.Return)]
    valued = [r for r in returns if r.value is not None]
    if is_kernel and valued:
        raise error(valued[0], "a tile kernel cannot return a value; store results instead")
    arity = None
    if valued:
        bare = next((r for r in returns if r.value is None), None)
        if bare is not None:
            raise error(bare, f"this `return` gives no value but another `return` of "
                        f"{fn.name} does; return a value on every path")
        if not _always_returns(fn.body):
            raise error(fn.body[-1], f"{fn.name} returns a value on some paths but can reach "
                        "its end without a `return`; return a value on every path")
        if all(isinstance(r.value, ast.Tuple) for r in valued) and \
                len({len(r.value.elts) for r in valued}) == 1:
            arity = len(valued[0].value.elts)
    lowering = _Lowering(error, arity, bool(valued))
    body = lowering.block(fn.body, None)
    start = fn.body[0]
    prologue = [_assign(RETURN_FLAG, False, start)] if returns else []
    if valued:
        names = lowering.return_names()
        prologue += [_assign(n, None, start) for n in names]
        value = _name(names[0]) if arity is None else ast.Tuple([_name(n) for n in names],
                                                                ast.Load())
        body.append(_located(ast.Return(value), fn.body[-1]))
    fn.body = prologue + body
