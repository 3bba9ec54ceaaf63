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
import os

import numpy as np
from mlir import ir

from ..compiler.driver import _LOC  # the driver's reading of `loc("file":line:col)`
from ..errors import InterpreterError
from ..runtime.launcher import check_clusters
from .memory import Buffer, OutOfBounds, subset
from .numerics import STORAGE, round_to, type_info

# Elements per tile value in one batch (P x tile size): bounds the memory of a batch.
BATCH_ELEMENTS = 1 << 21

# Programs a launch may have: beyond this the interpreter would run for days (a
# program takes tens of microseconds at least). Program ids are made batch by
# batch, so nothing is allocated per program of the grid.
MAX_PROGRAMS = 1 << 24

# Iterations one loop may run in one program before the launch is an error (an
# `scf.while` that never ends would hang); interpret(..., loop_limit=n) or the
# variable override it, 0 turns the limit off.
DEFAULT_LOOP_LIMIT = 1_000_000
LOOP_LIMIT_VARIABLE = "TILE_INTERPRET_LOOP_LIMIT"

HANDLERS = {}  # op name -> handler(executor, op, operand values) -> result values
SUSPENDING = set()  # ops whose handlers are generators (they may wait, or run blocks)
TERMINATORS = ("scf.yield", "scf.condition", "func.return")


def handles(*names):
    def register(fn):
        for name in names:
            HANDLERS[name] = fn
        return fn
    return register


def suspends(*names):
    """Registers a generator handler: control flow, and ops that may wait."""
    def register(fn):
        SUSPENDING.update(names)
        return handles(*names)(fn)
    return register


def error_at(op, message: str, kind=InterpreterError) -> InterpreterError:
    """An `InterpreterError` (or subclass `kind`) at the kernel line of `op`'s location."""
    m = _LOC.search(str(op.location))
    if m is None:
        return kind(f"{message} (at {op.location})")
    filename, line = m["file"], int(m["line"])
    return kind(message, filename, line, int(m["col"]) - 1,
                linecache.getline(filename, line) or None)


def uniform(x: np.ndarray) -> bool:
    """Whether every program holds the same value (`x`: (P, ...) or (1, ...))."""
    return x.shape[0] == 1 or bool((x == x[:1]).all())


class Launch:
    """What every program of one launch shares: the grid, the cluster size, the
    scheduler of programs that wait (signals.py), the race checker (races.py)
    and the loop limit."""

    def __init__(self, grid: tuple[int, int, int], num_ctas: int = 1, scheduler=None,
                 races=None, loop_limit: int = 0, rank: int | None = None):
        self.grid, self.num_ctas = grid, num_ctas  # num_ctas: programs a cluster along axis 0
        self.scheduler, self.races = scheduler, races
        self.loop_limit = loop_limit  # iterations one loop may run in a program; 0: no limit
        self.rank = rank  # the rank this launch runs on, in a world's launch (ranks.py)

    def program(self, linear: int) -> tuple[int, int, int]:
        """The program id (x, y, z) of the `linear`-th program (axis 0 fastest)."""
        x, y = self.grid[0], self.grid[1]
        return linear % x, linear // x % y, linear // (x * y)


class Executor:
    """Runs ops for one batch of programs: `pids` is (P, 3), one program id a row;
    `programs` (P,) their positions in the launch (x fastest).

    Control flow (`scf.*`) and waits run as generators (`suspends`): a program
    that waits for a flag yields to the launch's scheduler up through them, so
    programs that wait for each other take turns on one thread (signals.py)."""

    def __init__(self, launch: Launch, pids: np.ndarray, programs: np.ndarray, env: dict):
        self.launch, self.pids, self.programs, self.env = launch, pids, programs, env

    @property
    def size(self) -> int:
        return len(self.pids)

    @property
    def grid(self) -> tuple[int, int, int]:
        return self.launch.grid

    @property
    def num_ctas(self) -> int:
        return self.launch.num_ctas

    @property
    def scheduler(self):
        return self.launch.scheduler

    def run_block(self, block, arguments=()):
        """(generator) Binds the block's arguments, runs its ops, returns its
        terminator's operands."""
        for arg, value in zip(block.arguments, arguments):
            self.env[arg] = value
        for op in block.operations:
            op = op.operation  # the generic op: no ODS accessors shadowing `name`, `results`
            name = op.name
            if name in TERMINATORS:
                return [self.env[v] for v in op.operands]
            if name in SUSPENDING:
                yield from self.execute_suspending(op)
            else:
                self.execute(op)
        return []

    def execute(self, op) -> None:
        handler = HANDLERS.get(op.name)
        if handler is None:
            raise error_at(op, f"the interpreter does not support '{op.name}' yet")
        try:
            results = handler(self, op, [self.env[v] for v in op.operands]) or []
        except (OutOfBounds, NotImplementedError, ValueError) as e:
            raise self._located(op, e) from None
        self._bind_results(op, results)

    def execute_suspending(self, op):
        """(generator) `execute` for the ops that may wait (`suspends`)."""
        try:
            results = yield from HANDLERS[op.name](self, op, [self.env[v] for v in op.operands])
        except (OutOfBounds, NotImplementedError, ValueError) as e:
            raise self._located(op, e) from None
        self._bind_results(op, results or [])

    def _bind_results(self, op, results) -> None:
        for value, result in zip(op.results, results, strict=True):
            self.env[value] = self._stored(value, result)

    def _located(self, op, e: Exception) -> InterpreterError:
        if not isinstance(e, OutOfBounds):
            return error_at(op, f"{op.name}: {e}")
        message = e.message
        if e.row is not None:
            message += f", in program {tuple(int(i) for i in self.pids[e.row])}"
        return error_at(op, f"{message}; {e.hint}" if e.hint else message)

    def _stored(self, value, result):
        """A handler's result as the register holds it: rounded to the result type."""
        info = type_info(str(value.type))
        if info.kind not in ("scalar", "tensor"):
            return result
        result = round_to(result, info.dtype)
        if result.shape[1:] != info.shape or result.shape[0] not in (1, self.size):
            raise AssertionError(f"interpreter bug: {value.type} held as shape {result.shape}")
        return result

    def part(self, programs: np.ndarray) -> "Executor":
        """An executor for some rows of this batch (indices into it)."""
        return Executor(self.launch, self.pids[programs], self.programs[programs],
                        {k: subset(v, programs) for k, v in self.env.items()})

    def diverge(self, op, keys: np.ndarray):
        """(generator) Runs `op` once per group of programs with equal rows of
        `keys` (P, ...); merges the groups' results."""
        _, group = np.unique(keys.reshape(self.size, -1), axis=0, return_inverse=True)
        group = group.reshape(-1)
        results = []
        for g in range(group.max() + 1):
            programs = np.nonzero(group == g)[0]
            part = self.part(programs)
            outs = yield from HANDLERS[op.name](part, op, [part.env[v] for v in op.operands])
            for i, out in enumerate(outs):
                if not isinstance(out, np.ndarray):
                    raise NotImplementedError(f"a {op.results[i].type} that differs between "
                                              "programs is not supported")
                if g == 0:
                    results.append(np.zeros((self.size,) + out.shape[1:], out.dtype))
                results[i][programs] = out
        return results

    def loop_limit_error(self, op, what: str) -> InterpreterError:
        limit = self.launch.loop_limit
        return error_at(op, f"{what}: more than the interpreter's limit of {limit} iterations "
                            f"of one loop in a program (a loop that never ends hangs the GPU); "
                            f"raise it with interpret(..., loop_limit=n) or "
                            f"{LOOP_LIMIT_VARIABLE}=n, 0 for none")


def finish(steps):
    """Runs a generator of `run_block` or a handler that cannot wait to its end."""
    try:
        steps.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("interpreter bug: a program waited outside the scheduler")


# -- structured control flow -------------------------------------------------------
@suspends("scf.for")
def _for(ex: Executor, op, args):
    lower, upper, step, *values = args
    bounds = np.stack(np.broadcast_arrays(lower, upper, step), axis=1)
    if not uniform(bounds):
        return (yield from ex.diverge(op, bounds))
    lower, upper, step = (int(b) for b in bounds[0])
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    iterations = len(range(lower, upper, step))
    if ex.launch.loop_limit and iterations > ex.launch.loop_limit:
        raise ex.loop_limit_error(op, f"this loop would run {iterations} iterations "
                                      f"(range({lower}, {upper}, {step}))")
    body = op.regions[0].blocks[0]
    counter = type_info(str(body.arguments[0].type)).dtype
    if iterations and lower + iterations * step > np.iinfo(counter).max:
        raise ValueError(f"range({lower}, {upper}, {step}): the {counter.name} loop counter "
                         f"passes {np.iinfo(counter).max} after the last iteration; on the GPU "
                         "it wraps and the loop does not end")
    for i in range(lower, upper, step):
        values = yield from ex.run_block(body, [np.array([i], counter)] + values)
    return values


@suspends("scf.if")
def _if(ex: Executor, op, args):
    (condition,) = args
    if not uniform(condition):
        return (yield from ex.diverge(op, condition))
    region = op.regions[0 if condition[0] else 1]
    return (yield from ex.run_block(region.blocks[0])) if len(region.blocks) else []


@suspends("scf.while")
def _while(ex: Executor, op, args):
    if ex.size > 1:  # programs leave the loop at different times: run each alone
        return (yield from ex.diverge(op, np.arange(ex.size)))
    from .signals import Deadlock, Spin  # (signals.py imports this module)
    before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
    values, limit, iterations = args, ex.launch.loop_limit, 0
    while True:
        condition, *forwarded = yield from ex.run_block(before, values)
        if not condition[0]:
            return forwarded
        iterations += 1
        program = tuple(int(i) for i in ex.pids[0])
        if limit and iterations > limit:
            raise ex.loop_limit_error(op, f"this while loop has not ended in program {program}")
        values = yield from ex.run_block(after, forwarded)
        if ex.scheduler.concurrent:  # other programs go on (one may hold a lock this awaits)
            try:
                yield Spin()
            except Deadlock:
                raise error_at(op, f"program {program} spins in this while loop, and every "
                                   "program left spins too without changing memory: none can "
                                   "leave its loop (on the GPU the kernel would hang)") from None


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


def loop_limit(requested: int | None) -> int:
    """The launch's loop limit: `requested`, else the variable's, else the default."""
    if requested is None:
        text = os.environ.get(LOOP_LIMIT_VARIABLE, "").strip()
        try:
            requested = int(text) if text else DEFAULT_LOOP_LIMIT
            if requested < 0:
                raise ValueError
        except ValueError:
            raise ValueError(f"{LOOP_LIMIT_VARIABLE}={text!r}: expected a whole number of "
                             "iterations (0 for no limit)") from None
    if type(requested) is not int or requested < 0:
        raise ValueError(f"loop_limit must be an int >= 0 (0: no limit), got {requested!r}")
    return requested


def program_ids(grid: tuple[int, int, int], start: int, stop: int):
    """(pids (P, 3) int32, positions (P,)) of the programs start .. stop - 1 of the
    launch, axis 0 fastest (as CUDA numbers blocks)."""
    linear = np.arange(start, stop, dtype=np.int64)
    x, y = grid[0], grid[1]
    pids = np.stack([linear % x, linear // x % y, linear // (x * y)], axis=1).astype(np.int32)
    return pids, linear


def run_function(func, arguments: list, grid: tuple[int, int, int], *,
                 loop_limit_override: int | None = None, check_races: bool = True) -> None:
    """Runs the kernel `func` for every program of `grid`; `arguments` has one entry
    per kernel parameter: a `Buffer` for each pointer, a Python number otherwise.
    `loop_limit_override`: see `loop_limit`; `check_races`: report programs that
    race on an element (races.py)."""
    programs = grid[0] * grid[1] * grid[2]
    if programs > MAX_PROGRAMS:
        name = ir.StringAttr(func.attributes["sym_name"]).value
        raise ValueError(f"{name}: grid {tuple(grid)} has {programs} programs; the interpreter "
                         f"runs at most {MAX_PROGRAMS} (2^24) in a launch")
    limit = loop_limit(loop_limit_override)
    body = func.regions[0].blocks[0]
    if len(arguments) != len(body.arguments):
        kinds = ", ".join(str(a.type) for a in body.arguments)
        raise TypeError(f"the kernel takes {len(body.arguments)} parameters ({kinds}), "
                        f"{len(arguments)} were given: one value a func.func parameter, an "
                        "array's sizes and strides as numbers where the IR lists them")
    env = {arg: _argument(arg, value, i)
           for i, (arg, value) in enumerate(zip(body.arguments, arguments))}
    attrs = func.attributes
    num_ctas = ir.IntegerAttr(attrs["tile.num_ctas"]).value if "tile.num_ctas" in attrs else 1
    check_clusters(grid, num_ctas, "tile IR")
    from .races import RaceChecker
    from .signals import Scheduler
    scheduler = Scheduler(func)  # programs that wait take turns, one cluster a task
    races = RaceChecker(grid, synchronized=scheduler.concurrent) if check_races else None
    launch = Launch(grid, num_ctas, scheduler, races, limit)
    # A batch holds whole clusters (consecutive rows), so that multicast loads can
    # be checked across each cluster's programs.
    batch = max(1, BATCH_ELEMENTS // _tile_elements(func)) // num_ctas * num_ctas or num_ctas
    if scheduler.concurrent:
        batch = num_ctas

    def task(start):
        pids, positions = program_ids(grid, start, min(start + batch, programs))
        return Executor(launch, pids, positions, dict(env)).run_block(body)
    with np.errstate(all="ignore"):  # integer wrap-around and inf/NaN behave as on the GPU
        scheduler.run_all(range(0, programs, batch), task)
