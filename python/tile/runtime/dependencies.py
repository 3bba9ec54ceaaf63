"""What a kernel's compiled code depends on besides its own source: the
`@tile.jit` helpers it calls and the module-level constants it reads, found by
walking its AST through its globals (as Triton's cache key does). The disk
cache keys on this, so editing a helper in another file, or a constant, gives
a new entry rather than the old kernel."""
from __future__ import annotations

import ast
import hashlib
import inspect

from .. import language as tl

_CONSTANTS = (bool, int, float, str, bytes, type(None), tl.dtype)


def dependencies_hash(kernel) -> str:
    """sha256 of `kernel`'s source and, transitively, of every helper and
    constant its code names (computed once a process: a kernel's code is fixed
    once it has launched)."""
    cached = getattr(kernel, "_dependencies_hash", None)
    if cached is None:
        cached = _hash(kernel, set())
        kernel._dependencies_hash = cached
    return cached


def _hash(kernel, visiting: set) -> str:
    visiting.add(id(kernel))
    parts = [kernel.source_hash]
    tree = ast.parse(kernel.source.source)
    for chain in sorted(_name_chains(tree)):
        value, found = _resolve(kernel.source.globals, chain)
        if found:
            parts.append(f"{'.'.join(chain)}={_fingerprint(value, visiting)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _name_chains(tree: ast.AST) -> set[tuple[str, ...]]:
    """Every `a`, `a.b`, `a.b.c` read in the code (the longest chain each time)."""
    chains, inner = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            names, base = [], node
            while isinstance(base, ast.Attribute):
                names.append(base.attr)
                inner.add(id(base.value))
                base = base.value
            if isinstance(base, ast.Name):
                chains.add((base.id, *reversed(names)))
        elif isinstance(node, ast.Name) and id(node) not in inner:
            chains.add((node.id,))
    return chains


def _resolve(globals_: dict, chain: tuple[str, ...]):
    """The value `chain` names from the module's globals, following modules only
    (an attribute of a tile or array is the frontend's business)."""
    if chain[0] not in globals_:
        return None, False
    value = globals_[chain[0]]
    for name in chain[1:]:
        if not inspect.ismodule(value):
            break
        value = getattr(value, name, None)
    return value, True


def _fingerprint(value, visiting: set) -> str:
    if hasattr(value, "source_hash") and hasattr(value, "source"):  # a @tile.jit helper
        if id(value) in visiting:  # recursion (the frontend reports it)
            return "cycle"
        return getattr(value, "_dependencies_hash", None) or _hash(value, visiting)
    if isinstance(value, _CONSTANTS):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, (tuple, list, frozenset)):
        return "(" + ",".join(_fingerprint(v, visiting) for v in value) + ")"
    fn = getattr(value, "fn", None)  # an autotuned or wrapped kernel
    if fn is not None and hasattr(fn, "source_hash"):
        return _fingerprint(fn, visiting)
    return type(value).__qualname__  # modules, the language, classes: the compiler's own
