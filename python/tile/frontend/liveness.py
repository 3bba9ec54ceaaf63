"""Which names statements read and write, from the AST alone.

Control flow needs it: a loop carries a name only if the body rebinds it and
it is read later (after the loop or in the next iteration); an `if` yields a
name only if a branch rebinds it and it is read after the `if`. Carrying a
dead name would force its types to agree for nothing.
"""
from __future__ import annotations

import ast


def _targets(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def assigned(stmts: list[ast.stmt]) -> dict[str, None]:
    """Every name bound anywhere in `stmts` (nested blocks included), in source order."""
    stores = [node for stmt in stmts for node in ast.walk(stmt)
              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)]
    stores.sort(key=lambda n: (n.lineno, n.col_offset))
    return dict.fromkeys(n.id for n in stores)


def _definitely_assigned(stmt: ast.stmt) -> set[str]:
    """Names bound by `stmt` on every path (only plain assignments count)."""
    if isinstance(stmt, ast.Assign):
        return set().union(*(_targets(t) for t in stmt.targets))
    if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) and stmt.value is not None:
        return _targets(stmt.target)
    return set()


def _reads(stmt: ast.stmt) -> set[str]:
    names = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)}
    if isinstance(stmt, ast.AugAssign):
        names |= _targets(stmt.target)
    if isinstance(stmt, ast.For):  # the loop's own index is not a read from outside
        names -= _targets(stmt.target) - _reads_expr(stmt.iter)
    return names


def _reads_expr(expr: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}


def exposed_reads(stmts: list[ast.stmt]) -> set[str]:
    """Names `stmts` may read before binding them: the values they need from before."""
    bound, exposed = set(), set()
    for stmt in stmts:
        exposed |= _reads(stmt) - bound
        bound |= _definitely_assigned(stmt)
    return exposed


def killed(stmts: list[ast.stmt]) -> set[str]:
    """Names `stmts` rebind on every path before the block ends."""
    return set().union(*(_definitely_assigned(s) for s in stmts)) if stmts else set()
