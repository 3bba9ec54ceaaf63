"""Programs that wait for each other: `tile.notify` and `tile.wait_flag`.

The interpreter runs programs in batches, in lockstep (executor.py); a program
that waits for a flag that another one sets later would wait forever there. In
a kernel that waits, each program (each cluster) runs in a thread of its own
instead, all at once, as the programs of a persistent grid do on the GPU. When
every program left is blocked in a wait, none can ever set a flag: the waits
raise an error naming the flag (on the GPU the kernel would hang).
"""
from __future__ import annotations

import threading

import numpy as np

from .executor import Executor, _walk, error_at, handles


class Deadlock(Exception):
    """Every thread waits on a flag that no running thread can set."""


class Scheduler:
    """Counts the threads that run (not blocked in a wait, nor the launching
    thread while its programs' threads run), so that a wait can tell when no
    thread could ever set its flag."""

    def __init__(self, func):
        # Threads only for kernels that wait: the others run in batches, in order.
        self.concurrent = any(op.name == "tile.wait_flag" for op in _walk(func))
        self.context = func.context
        self.changed = threading.Condition()
        self.running = 1  # the thread that launched the kernel
        self.waiting = 0
        self.notifies = 0  # a waiter sleeps until this moves
        self.deadlocked = False

    def run_all(self, tasks: list) -> list:
        """Runs each of `tasks` (callables), in threads when the kernel waits;
        returns their results in order, or raises the first error (one that
        is not a wait left hanging by it, if any)."""
        if not self.concurrent or len(tasks) < 2:
            return [task() for task in tasks]
        results, errors = [None] * len(tasks), [None] * len(tasks)
        left = [len(tasks)]

        def body(i):
            try:  # a new thread has neither the MLIR context nor numpy's error state
                with self.context, np.errstate(all="ignore"):
                    results[i] = tasks[i]()
            except BaseException as e:  # noqa: BLE001 - handed to the caller below
                errors[i] = e
            finally:
                with self.changed:
                    left[0] -= 1
                    if left[0]:  # the last one hands its running slot back to the caller
                        self.running -= 1
                        self._check()
                    self.changed.notify_all()

        with self.changed:
            self.running += len(tasks) - 1  # the caller blocks while its tasks run
        threads = [threading.Thread(target=body, args=(i,), daemon=True)
                   for i in range(len(tasks))]
        for t in threads:
            t.start()
        with self.changed:
            while left[0]:
                self.changed.wait()
        for t in threads:
            t.join()
        failed = [e for e in errors if e is not None]
        if failed:  # the cause rather than the waits it left hanging
            raise next((e for e in failed if not getattr(e, "deadlock", False)), failed[0])
        return results

    def _check(self) -> None:
        if self.running == 0 and self.waiting and not self.deadlocked:
            self.deadlocked = True
            self.changed.notify_all()

    def wait(self, satisfied) -> None:
        """Blocks until `satisfied()` (read under the lock); raises Deadlock
        once no thread runs that could make it so."""
        with self.changed:
            while not satisfied():
                if self.deadlocked:
                    raise Deadlock()
                self.running -= 1
                self.waiting += 1
                self._check()
                seen = self.notifies
                while self.notifies == seen and not self.deadlocked:
                    self.changed.wait()
                if self.deadlocked:
                    raise Deadlock()

    def notify(self, write) -> None:
        """Runs `write()` under the lock and wakes every waiter to look again."""
        with self.changed:
            write()
            # The waiters count as running until they find their flag unset again.
            self.running += self.waiting
            self.waiting = 0
            self.notifies += 1
            self.changed.notify_all()


def _flags(ex: Executor, args):
    """The flags buffer and (P, 1) element offsets and values of a notify or wait."""
    flags, index, value = args
    offsets = np.broadcast_to(index.astype(np.int64).reshape(-1, 1), (ex.size, 1))
    values = np.broadcast_to(value.reshape(-1, 1), (ex.size, 1)).astype(flags.dtype)
    return flags, offsets, values


@handles("tile.notify")
def _notify(ex: Executor, op, args):
    flags, offsets, values = _flags(ex, args)
    ex.scheduler.notify(lambda: flags.scatter(offsets, np.ones_like(offsets, bool), values))
    return []


@handles("tile.wait_flag")
def _wait_flag(ex: Executor, op, args):
    flags, offsets, values = _flags(ex, args)
    everywhere = np.ones_like(offsets, bool)
    try:
        ex.scheduler.wait(lambda: bool((flags.gather(offsets, everywhere) == values).all()))
    except Deadlock:
        seen = flags.gather(offsets, everywhere)
        stuck = [(tuple(int(v) for v in ex.pids[r]), int(offsets[r, 0]), int(values[r, 0]),
                  int(seen[r, 0])) for r in range(ex.size) if seen[r, 0] != values[r, 0]]
        program, index, value, now = stuck[0]
        error = error_at(op, f"program {program} waits for {flags.describe()}[{index}] == "
                             f"{value} (it holds {now}), and every program left waits: none "
                             "can set it (on the GPU the kernel would hang)")
        error.deadlock = True  # Scheduler.run_all reports another thread's error first
        raise error from None
    return []
