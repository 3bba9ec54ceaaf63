"""The interpreter's entry points: a `@tile.jit` launch, or tile IR text."""
from __future__ import annotations

import weakref

import numpy as np
from mlir import ir

from ..compiler.driver import _parse as _parse_verified
from ..compiler.mlir_context import new_context
from ..runtime.launcher import grid3
from . import debug_ops, indexed_ops, ops, ranks, reduction_ops, signals  # noqa: F401  (handlers)
from .executor import run_function
from .memory import Buffer


def _kernel_function(module):
    funcs = [op.operation for op in module.body.operations if op.operation.name == "func.func"]
    kernels = [f for f in funcs if "tile.kernel" in f.attributes] or funcs
    if len(kernels) != 1:
        raise ValueError(f"expected one kernel function in the module, found {len(kernels)}")
    return kernels[0]


def _parse(text: str):
    """(context, module) of tile IR text, verified as the compiler does; errors point
    at the kernel's source (parse errors through the IR line's `loc`)."""
    context = new_context()
    with context, ir.Location.unknown():
        context.emit_error_diagnostics = False
        return context, _parse_verified(text)


# Keyword arguments of `kernel[grid].interpret(...)` that are the interpreter's
# (unless the kernel has a parameter of that name): see `run`.
OPTIONS = ("loop_limit", "check_races")


def run(module, arguments: list, grid, *, loop_limit: int | None = None,
        check_races: bool = True) -> None:
    """Interprets a kernel module (tile IR text or a parsed `mlir.ir.Module`) over
    `grid`. `arguments`: one per kernel parameter; numpy arrays for pointers
    (written in place), Python numbers for scalars. `loop_limit`: iterations one
    loop may run in a program (default: TILE_INTERPRET_LOOP_LIMIT, else
    1,000,000; 0: none). `check_races`: programs that race on an element are an
    error (`races.RaceError`)."""
    if isinstance(module, str):
        context, module = _parse(module)  # the module lives as long as its context
    grid = grid3(grid, "tile IR")  # the launch's grid rule: 1 to 3 ints within CUDA's limits
    if grid is None:
        return  # an empty grid runs nothing, as on the GPU
    values = [Buffer(f"%arg{i}", a) if isinstance(a, np.ndarray) else a
              for i, a in enumerate(arguments)]
    with module.context:
        run_function(_kernel_function(module), values, grid, loop_limit_override=loop_limit,
                     check_races=check_races)


# Parsed modules of each JIT function's specializations (a context kept with each).
_parsed: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def launch(fn, grid, args, kwargs) -> None:
    """Interprets `fn[grid](*args, **kwargs)` of a `@tile.jit` function on host arrays:
    the specialization is the one a GPU launch would compile (`fn._bind`); the
    keyword arguments in `OPTIONS` are `run`'s."""
    kwargs = dict(kwargs)
    options = {name: kwargs.pop(name) for name in OPTIONS
               if name in kwargs and name not in fn.params}
    bound = fn._bind(list(args), kwargs, on_host=True)
    if any(value is None for _, value in bound.runtime):
        raise TypeError(f"{fn.__name__}: type strings can be compiled, not launched")
    if callable(grid):
        grid = grid(dict(bound.constexprs))
    grid = grid3(grid, fn.__name__)
    if grid is None:
        return  # an empty grid runs nothing, as on the GPU
    cache = _parsed.setdefault(fn, {})
    key = fn._key(bound)
    if key not in cache:
        cache[key] = _parse(fn._tile_ir(bound))  # the IR `kernel.ir()` and `compile` use
    context, module = cache[key]
    arguments = [Buffer(param.name, bound.host_arrays[param.name]) if param.type == "ptr"
                 else value for param, value in bound.runtime]
    with context:
        run_function(_kernel_function(module), arguments, grid,
                     loop_limit_override=options.get("loop_limit"),
                     check_races=options.get("check_races", True))
