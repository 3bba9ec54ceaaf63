"""Executes a tile IR kernel (`func.func` walked through `mlir.ir`) op by op.

Programs run in batches: each value carries a leading axis of programs, of
size P (one entry per program of the batch) or 1 (the same for all of them:
constants, kernel arguments, loop counters). Straight-line code then runs once
per batch with numpy broadcasting. Where control flow diverges (an `scf.for`
whose bounds, or an `scf.if` whose condition, differ between programs), the
batch splits into groups that agree, each group runs the op, and the results
merge back.
"""
from __future__ import annotations

import linecache

import numpy as np
from mlir import ir

from ..compiler.driver import _LOC  # the driver's reading of `loc("file":line:col)`
from ..errors import InterpreterError
from ..runtime.launcher import check_clusters
from .memory import Buffer, OutOfBounds, subset
from .numerics import STORAGE, round_to, type_info

# Elements per tile value in one batch (P x tile size): bounds the memory of a batch.
BATCH_ELEMENTS = 1 << 21

HANDLERS = {}  # op name -> handler(executor, op, operand values) -> result values
TERMINATORS = ("scf.yield", "scf.condition", "func.return")


def handles(*names):
    def register(fn):
        for name in names:
            HANDLERS[name] = fn
        return fn
    return register


def error_at(op, message: str) -> InterpreterError:
    """An `InterpreterError` at the kernel line of `op`'s location."""
    m = _LOC.search(str(op.location))
    if m is None:
        return InterpreterError(f"{message} (at {op.location})")
    filename, line = m["file"], int(m["line"])
    return InterpreterError(message, filename, line, int(m["col"]) - 1,
                            linecache.getline(filename, line) or None)


def uniform(x: np.ndarray) -> bool:
    """Whether every program holds the same value (`x`: (P, ...) or (1, ...))."""
    return x.shape[0] == 1 or bool((x == x[:1]).all())


class Executor:
    """Runs ops for one batch of programs: `pids` is (P, 3), one program id a row."""

    def __init__(self, grid: tuple[int, int, int], pids: np.ndarray, env: dict,
                 num_ctas: int = 1, scheduler=None):
        self.grid, self.pids, self.env = grid, pids, env
        self.num_ctas = num_ctas  # programs a cluster along axis 0 (tile.num_ctas)
        self.scheduler = scheduler  # where programs wait for each other (signals.py)

    @property
    def size(self) -> int:
        return len(self.pids)

    def run_block(self, block, arguments=()) -> list:
        """Binds the block's arguments, runs its ops, returns its terminator's operands."""
        for arg, value in zip(block.arguments, arguments):
            self.env[arg] = value
        for op in block.operations:
            op = op.operation  # the generic op: no ODS accessors shadowing `name`, `results`
            if op.name in TERMINATORS:
                return [self.env[v] for v in op.operands]
            self.execute(op)
        return []

    def execute(self, op) -> None:
        handler = HANDLERS.get(op.name)
        if handler is None:
            raise error_at(op, f"the interpreter does not support '{op.name}' yet")
        try:
            results = handler(self, op, [self.env[v] for v in op.operands]) or []
            for value, result in zip(op.results, results, strict=True):
                self.env[value] = self._stored(value, result)
        except OutOfBounds as e:
            message = e.message
            if e.row is not None:
                message += f", in program {tuple(int(i) for i in self.pids[e.row])}"
            raise error_at(op, f"{message}; {e.hint}" if e.hint else message) from None
        except (NotImplementedError, ValueError) as e:
            raise error_at(op, f"{op.name}: {e}") from None

    def _stored(self, value, result):
        """A handler's result as the register holds it: rounded to the result type."""
        info = type_info(str(value.type))
        if info.kind not in ("scalar", "tensor"):
            return result
        result = round_to(result, info.dtype)
        if result.shape[1:] != info.shape or result.shape[0] not in (1, self.size):
            raise AssertionError(f"interpreter bug: {value.type} held as shape {result.shape}")
        return result

    def diverge(self, op, keys: np.ndarray) -> list:
        """Runs `op` once per group of programs with equal rows of `keys` (P, ...);
        merges the groups' results."""
        _, group = np.unique(keys.reshape(self.size, -1), axis=0, return_inverse=True)
        group = group.reshape(-1)
        results = []
        for g in range(group.max() + 1):
            programs = np.nonzero(group == g)[0]
            part = Executor(self.grid, self.pids[programs],
                            {k: subset(v, programs) for k, v in self.env.items()}, self.num_ctas)
            outs = HANDLERS[op.name](part, op, [part.env[v] for v in op.operands])
            for i, out in enumerate(outs):
                if not isinstance(out, np.ndarray):
                    raise NotImplementedError(f"a {op.results[i].type} that differs between "
                                              "programs is not supported")
                if g == 0:
                    results.append(np.zeros((self.size,) + out.shape[1:], out.dtype))
                results[i][programs] = out
        return results


# -- structured control flow -------------------------------------------------------
@handles("scf.for")
def _for(ex: Executor, op, args):
    lower, upper, step, *values = args
    bounds = np.stack(np.broadcast_arrays(lower, upper, step), axis=1)
    if not uniform(bounds):
        return ex.diverge(op, bounds)
    lower, upper, step = (int(b) for b in bounds[0])
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    body = op.regions[0].blocks[0]
    counter = type_info(str(body.arguments[0].type)).dtype
    for i in range(lower, upper, step):
        values = ex.run_block(body, [np.array([i], counter)] + values)
    return values


@handles("scf.if")
def _if(ex: Executor, op, args):
    (condition,) = args
    if not uniform(condition):
        return ex.diverge(op, condition)
    region = op.regions[0 if condition[0] else 1]
    return ex.run_block(region.blocks[0]) if len(region.blocks) else []


@handles("scf.while")
def _while(ex: Executor, op, args):
    if ex.size > 1:  # programs leave the loop at different times: run each alone
        return ex.diverge(op, np.arange(ex.size))
    before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
    values = args
    while True:
        condition, *forwarded = ex.run_block(before, values)
        if not condition[0]:
            return forwarded
        values = ex.run_block(after, forwarded)


# -- running a kernel ---------------------------------------------------------------
def _walk(op):
    op = op.operation
    yield op
    for region in op.regions:
        for block in region.blocks:
            for inner in block.operations:
                yield from _walk(inner)


def _tile_elements(func) -> int:
    """The most elements of any tile the kernel makes."""
    largest = 1
    for op in _walk(func):
        for result in op.results:
            info = type_info(str(result.type))
            if info.kind in ("tensor", "shared"):
                largest = max(largest, int(np.prod(info.shape)))
    return largest


def _argument(block_arg, value, position: int):
    """A kernel parameter's value: a `Buffer` for pointers, a (1,) array for scalars."""
    info = type_info(str(block_arg.type))
    if info.kind == "ptr":
        if not isinstance(value, Buffer):
            raise TypeError(f"parameter {position} is a {block_arg.type}; pass an array")
        if value.dtype != info.dtype:
            raise TypeError(f"{value.describe()} holds {value.dtype.name}, the kernel "
                            f"reads {info.element}")
        return value
    if info.kind != "scalar" or isinstance(value, (Buffer, np.ndarray)):
        raise TypeError(f"parameter {position} is a {block_arg.type}, got {type(value).__name__}")
    return np.array([value], dtype=STORAGE[info.element])


def run_function(func, arguments: list, grid: tuple[int, int, int]) -> None:
    """Runs the kernel `func` for every program of `grid`; `arguments` has one entry
    per kernel parameter: a `Buffer` for each pointer, a Python number otherwise."""
    body = func.regions[0].blocks[0]
    if len(arguments) != len(body.arguments):
        raise TypeError(f"the kernel takes {len(body.arguments)} parameters, "
                        f"{len(arguments)} were given")
    env = {arg: _argument(arg, value, i)
           for i, (arg, value) in enumerate(zip(body.arguments, arguments))}
    # Program ids, one a row, with axis 0 fastest (as CUDA numbers blocks).
    z, y, x = np.indices(grid[::-1], dtype=np.int32).reshape(3, -1)
    pids = np.stack([x, y, z], axis=1)
    attrs = func.attributes
    num_ctas = ir.IntegerAttr(attrs["tile.num_ctas"]).value if "tile.num_ctas" in attrs else 1
    check_clusters(grid, num_ctas, "tile IR")
    # A batch holds whole clusters (consecutive rows), so that multicast loads can
    # be checked across each cluster's programs.
    batch = max(1, BATCH_ELEMENTS // _tile_elements(func)) // num_ctas * num_ctas or num_ctas
    # Programs that wait for each other each run in a thread of their own.
    from .signals import Scheduler
    scheduler = Scheduler(func)
    if scheduler.concurrent:
        batch = num_ctas

    def run_batch(start):
        Executor(grid, pids[start:start + batch], dict(env), num_ctas, scheduler).run_block(body)
    with np.errstate(all="ignore"):  # integer wrap-around and inf/NaN behave as on the GPU
        scheduler.run_all([lambda start=start: run_batch(start)
                           for start in range(0, len(pids), batch)])
