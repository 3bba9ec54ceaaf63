"""A launch on every rank of a world (tile.distributed.HostWorld), interpreted.

Each rank binds its own arguments, so it has its own memory; a symmetric
array's peer parameters are the `Buffer`s of the other ranks' copies (one
`Buffer` per host array, shared by every rank that reaches it), so a remote
store lands in the peer's array and a notify of a peer's flag wakes the peer's
waiting program. Every program of every rank is a task of one scheduler
(signals.py), taken in turns program by program across the ranks; a wait that
no program of any rank can end is an error naming the rank, the program, the
flag and the line. One race checker sees all ranks' accesses, ordered by the
notify -> wait chains between them, as within one launch.
"""
from __future__ import annotations

import numpy as np
from mlir import ir

from ..errors import InterpreterError
from ..runtime.launcher import check_clusters, grid3
from .executor import HANDLERS, Executor, Launch, _argument, error_at, handles, loop_limit, \
    program_ids, uniform
from .memory import Buffer
from .races import RaceChecker
from .signals import Scheduler


def launch_ranks(fn, grid, rank_args: list, kwargs: dict) -> None:
    """Interprets `fn[grid](*rank_args[r], **kwargs)` on each rank r at once."""
    from .api import OPTIONS, _kernel_function, _parse, _parsed  # api imports this module
    kwargs = dict(kwargs)
    options = {name: kwargs.pop(name) for name in OPTIONS
               if name in kwargs and name not in fn.params}
    bounds = [fn._bind(list(args), kwargs, on_host=True) for args in rank_args]
    if callable(grid):
        grid = grid(dict(bounds[0].constexprs))
    grid = grid3(grid, fn.__name__)
    if grid is None:
        return
    buffers = {}  # id(host array) -> (its Buffer, the array), one for every rank reaching it

    def buffer(array, name: str, rank: int) -> Buffer:
        if id(array) not in buffers:
            buffers[id(array)] = Buffer(f"{name} of rank {rank}", array), array
        return buffers[id(array)][0]

    parsed, functions, arguments = _parsed.setdefault(fn, {}), [], []
    for rank, bound in enumerate(bounds):
        key = fn._key(bound)
        if key not in parsed:
            parsed[key] = _parse(fn._tile_ir(bound))
        functions.append(parsed[key])
        values = []
        for param, value in bound.runtime:
            if param.type != "ptr":
                values.append(value)
            elif param.source == "peer":
                values.append(buffer(bound.host_arrays[param.name],
                                     param.name.rsplit("_peer", 1)[0], param.dim))
            else:
                values.append(buffer(bound.host_arrays[param.name], param.name, rank))
        arguments.append(values)
    run_world([(ctx, _kernel_function(module)) for ctx, module in functions], arguments, grid,
              options.get("loop_limit"), options.get("check_races", True))


def run_world(kernels: list, arguments: list, grid, loop_limit_override, check_races) -> None:
    """Runs rank r's kernel (`kernels[r]`: (context, func)) on `arguments[r]`."""
    ranks, programs = len(kernels), grid[0] * grid[1] * grid[2]
    limit = loop_limit(loop_limit_override)
    scheduler = Scheduler(kernels[0][1])
    waits = scheduler.concurrent  # whether programs order through flags
    scheduler.concurrent = True  # every program a task: peers' pointers may differ by program
    races = RaceChecker(grid, synchronized=waits, ranks=ranks) if check_races else None
    launches, envs = [], []
    for rank, ((context, func), values) in enumerate(zip(kernels, arguments)):
        with context:
            body = func.regions[0].blocks[0]
            if len(values) != len(body.arguments):
                raise TypeError(f"rank {rank}: the kernel takes {len(body.arguments)} "
                                f"parameters, {len(values)} were given")
            envs.append({arg: _argument(arg, value, i)
                         for i, (arg, value) in enumerate(zip(body.arguments, values))})
            attrs = func.attributes
            num_ctas = ir.IntegerAttr(attrs["tile.num_ctas"]).value \
                if "tile.num_ctas" in attrs else 1
            check_clusters(grid, num_ctas, "tile IR")
        launches.append(Launch(grid, num_ctas, scheduler, races, limit, rank))
    num_ctas = launches[0].num_ctas
    # Program by program across the ranks, as they would start together.
    starts = [(rank, start) for start in range(0, programs, num_ctas) for rank in range(ranks)]

    def task(start):
        rank, first = start
        pids, positions = program_ids(grid, first, min(first + num_ctas, programs))
        body = kernels[rank][1].regions[0].blocks[0]
        return Executor(launches[rank], pids, positions + rank * programs,
                        dict(envs[rank])).run_block(body)
    with kernels[0][0], np.errstate(all="ignore"):
        scheduler.run_all(starts, task)


# Remote views pick a peer's pointer with `arith.select`: the interpreter's
# pointers are Buffers, one for all programs of a task.
from . import ops  # noqa: E402,F401  (the elementwise select, registered first)
_select_values = HANDLERS["arith.select"]


@handles("arith.select")
def _select(ex: Executor, op, args):
    condition, yes, no = args
    if not isinstance(yes, Buffer):
        return _select_values(ex, op, args)
    if not uniform(condition):
        raise error_at(op, "programs of one batch pick different peers' arrays; the "
                           "interpreter runs such kernels one program a task", InterpreterError)
    return [yes if condition.reshape(-1)[0] else no]
