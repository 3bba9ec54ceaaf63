"""Programs that wait for each other: `tile.notify` and `tile.wait_flag`.

The interpreter runs programs in batches, in lockstep (executor.py); a program
that waits for a flag that another one sets later would wait forever there. In
a kernel that waits, each program (each cluster) is a task of its own instead:
a generator (`Executor.run_block`) that yields at a wait whose flag is not set.
The scheduler runs one task at a time, on the launching thread, in a fixed
order: tasks whose flags were set, lowest program first, else the next program
not started. When no task can run and some wait, none can ever set a flag: the
first waiting program's wait is an error naming the flag (on the GPU the kernel
would hang).

A kernel whose while loops use atomics (a spin lock: `while atomic_cas(...) ==
1`) runs the same way, each iteration of such a loop yielding a `Spin` so that
the program holding the lock can go on. Spinning tasks take turns after every
other runnable task; a whole round of them that changes no memory means none
can leave its loop: an error naming the first one's loop.
"""
from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from .executor import Executor, _walk, error_at, finish, handles, suspends
from .memory import Buffer

_ATOMICS = ("tile.atomic_rmw", "tile.atomic_cas")


class Deadlock(Exception):
    """Thrown into a waiting task: no task left can set its flag."""


class Spin:
    """What a task yields at each iteration of a loop that may wait for another
    program through memory (a while loop with atomics)."""


def spins(func) -> bool:
    """Whether a while loop of the kernel uses atomics (may spin on a lock)."""
    return any(op.name == "scf.while" and any(inner.name in _ATOMICS for inner in _walk(op))
               for op in _walk(func))


class Wait:
    """What a waiting task yields: the flag elements it waits on, and whether
    they hold what it waits for."""

    def __init__(self, flags, offsets: np.ndarray, values: np.ndarray):
        self.flags, self.offsets, self.values = flags, offsets, values
        self.keys = {(flags, int(i)) for i in flags.origin + offsets.reshape(-1)}

    def satisfied(self) -> bool:
        everywhere = np.ones_like(self.offsets, bool)
        return bool((self.flags.gather(self.offsets, everywhere) == self.values).all())


class Scheduler:
    """Runs a launch's tasks: in order, one after the other, for kernels that do
    not wait; as cooperative tasks (see the module's docstring) for those that do."""

    def __init__(self, func):
        self.concurrent = any(op.name == "tile.wait_flag" for op in _walk(func)) or spins(func)
        self.spinning = deque()  # (number, generator) of tasks in a spin loop, in turn
        self.idle_spins = 0  # spin iterations in a row that changed no memory
        self.changes_seen = None  # Buffer.changes at the last spin
        self.blocked = {}  # task number -> (its generator, the Wait it yielded)
        self.waiters = {}  # (flags buffer, element) -> numbers of the tasks waiting on it
        self.ready = []  # heap of numbers of blocked tasks whose flags now hold

    def run_all(self, starts, task) -> None:
        """Runs `task(start)` (a generator) for each of `starts`, in order."""
        if not self.concurrent:
            for start in starts:
                finish(task(start))
            return
        unstarted = iter(enumerate(starts))
        try:
            while True:
                picked = self._next_ready()
                if picked is None:
                    started = next(unstarted, None)
                    if started is None:
                        picked = self._next_ready(look_at_all=True) or self._next_spinner()
                        if picked is None:
                            break  # every task ended, or the waiting ones deadlock
                    else:
                        picked = started[0], task(started[1])
                number, steps = picked
                self._step(number, steps, steps.send)
            if self.blocked:
                number = min(self.blocked)
                steps, _ = self._unblock(number)
                self._step(number, steps, lambda _: steps.throw(Deadlock()))
                raise AssertionError("interpreter bug: a deadlocked wait went on")
        finally:
            for steps, _ in self.blocked.values():
                steps.close()  # the launch failed: drop the tasks left waiting
            for _, steps in self.spinning:
                steps.close()
            self.spinning.clear()
            self.blocked.clear()
            self.waiters.clear()
            self.ready.clear()

    def _step(self, number: int, steps, resume) -> None:
        """Runs a task until it ends or waits on a flag that is not set."""
        try:
            wait = resume(None)
        except StopIteration:
            return
        if isinstance(wait, Spin):
            self.spinning.append((number, steps))
            return
        self.blocked[number] = steps, wait
        for key in wait.keys:
            self.waiters.setdefault(key, set()).add(number)

    def _next_spinner(self):
        """(number, generator) of the next spinning task; one that can never leave
        its loop (a round of spins changed no memory) gets a Deadlock thrown in."""
        if not self.spinning:
            return None
        changes = Buffer.changes
        number, steps = self.spinning.popleft()
        if changes == self.changes_seen:
            self.idle_spins += 1
        else:
            self.idle_spins, self.changes_seen = 0, changes
        if self.idle_spins > len(self.spinning) + 1:  # every spinner went round: no change
            self._step(number, steps, lambda _: steps.throw(Deadlock()))
            raise AssertionError("interpreter bug: a deadlocked spin went on")
        return number, steps

    def _unblock(self, number: int):
        steps, wait = self.blocked.pop(number)
        for key in wait.keys:
            self.waiters[key].discard(number)
        return steps, wait

    def _next_ready(self, look_at_all: bool = False):
        """(number, generator) of a waiting task that can go on: one whose flags a
        notify set (`ready`), or, with `look_at_all`, any (a plain store may have
        set a flag)."""
        if look_at_all:
            self.ready = [n for n, (_, wait) in sorted(self.blocked.items()) if wait.satisfied()]
        while self.ready:
            number = heapq.heappop(self.ready)
            if number in self.blocked and self.blocked[number][1].satisfied():
                return number, self._unblock(number)[0]
        return None

    def notified(self, flags, offsets: np.ndarray) -> None:
        """Flags were set: the tasks waiting on them may go on."""
        for element in flags.origin + offsets.reshape(-1):
            for number in self.waiters.get((flags, int(element)), ()):
                heapq.heappush(self.ready, number)


def _flags(ex: Executor, args):
    """The flags buffer and (P, 1) element offsets and values of a notify or wait."""
    flags, index, value = args
    offsets = np.broadcast_to(index.astype(np.int64).reshape(-1, 1), (ex.size, 1))
    values = np.broadcast_to(value.reshape(-1, 1), (ex.size, 1)).astype(flags.dtype)
    return flags, offsets, values


@handles("tile.notify")
def _notify(ex: Executor, op, args):
    flags, offsets, values = _flags(ex, args)
    add = "add" in op.attributes  # else set; the scope orders nothing more here
    if add:
        flags.read_modify_write(offsets, np.ones_like(offsets, bool),
                                lambda old, k: old + values.reshape(-1)[k])
    else:
        flags.scatter(offsets, np.ones_like(offsets, bool), values)
    if ex.launch.races is not None:  # the program's earlier writes happen before any wait
        ex.launch.races.release(ex.programs, flags, offsets, accumulate=add)
    if ex.scheduler.concurrent:
        ex.scheduler.notified(flags, offsets)
    return []


@suspends("tile.wait_flag")
def _wait_flag(ex: Executor, op, args):
    flags, offsets, values = _flags(ex, args)
    wait = Wait(flags, offsets, values)
    while not wait.satisfied():
        try:
            yield wait
        except Deadlock:
            seen = flags.gather(offsets, np.ones_like(offsets, bool))
            row = next(r for r in range(ex.size) if seen[r, 0] != values[r, 0])
            program = f"program {tuple(int(v) for v in ex.pids[row])}"
            if ex.launch.rank is not None:
                program = f"rank {ex.launch.rank}'s {program}"
            raise error_at(op, f"{program} waits for {flags.describe()}"
                               f"[{int(offsets[row, 0])}] == {int(values[row, 0])} (it holds "
                               f"{int(seen[row, 0])}), and every program left waits: none can "
                               "set it (on the GPU the kernel would hang)") from None
    if ex.launch.races is not None:  # what the notifying programs wrote is now visible
        ex.launch.races.acquire(ex.programs, flags, offsets)
    return []
