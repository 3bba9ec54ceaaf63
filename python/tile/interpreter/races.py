"""Races between the programs of one launch: two programs storing one element,
or one loading an element another stores, with nothing ordering the two.

Every array argument gets a shadow for the launch (`Shadow`): for each element,
the last program that stored it and two programs that loaded it (the first, and
the latest other one), each with the op that did it. An access checks the
shadow of its elements; any other program found there races with it, unless a
`tile.notify` -> `tile.wait` chain orders the two. That ordering is tracked with
vector clocks, in kernels that wait only: a program's clock moves on at each
notify; a notify leaves the notifier's clock on the flag, a wait that reads the
flag takes it in; an access is ordered after another program's when the
accessor's clock has reached the other's clock at that access.
"""
from __future__ import annotations

import linecache

import numpy as np

from ..compiler.driver import _LOC
from ..errors import InterpreterError
from .executor import error_at

# Kernels that wait keep one clock (an int32 per program of the launch) for each
# program that notifies or waits, and one for each flag element notified.
MAX_SYNCHRONIZED_PROGRAMS = 1 << 13


class RaceError(InterpreterError):
    """Two programs of a launch accessed one element, one of them storing, with
    no notify/wait ordering between them: on the GPU the result depends on timing."""


def differing_duplicate(offsets, active, values):
    """(batch row, tile index, other tile index, offset) of two active elements of one
    program's scatter that write different values to one element, or None: the GPU
    keeps either one (which is not defined), the interpreter the later one."""
    offsets, active, values = np.broadcast_arrays(offsets, active, values)
    rows = np.broadcast_to(np.arange(offsets.shape[0]).reshape((-1,) + (1,) * (offsets.ndim - 1)),
                           offsets.shape)
    positions = np.flatnonzero(active)
    if positions.size < 2:
        return None
    o, r = offsets.reshape(-1)[positions], rows.reshape(-1)[positions]
    order = np.lexsort((positions, o, r))  # by program, offset, then tile position
    o, r, positions = o[order], r[order], positions[order]
    same = (o[1:] == o[:-1]) & (r[1:] == r[:-1])
    if not same.any():
        return None
    bits = np.ascontiguousarray(values.reshape(-1)[positions])
    bits = bits.view(np.uint8).reshape(bits.size, -1)  # bit for bit: NaNs, -0.0
    differ = same & (bits[1:] != bits[:-1]).any(axis=1)
    if not differ.any():
        return None
    i = int(np.argmax(differ))
    index = lambda p: tuple(int(k) for k in np.unravel_index(p, offsets.shape)[1:])
    return int(r[i]), index(positions[i]), index(positions[i + 1]), int(o[i])


class Shadow:
    """One array's accesses in this launch, by flat element."""

    def __init__(self, size: int, synchronized: bool):
        self.size, self.synchronized = size, synchronized
        self.writer = np.full(size, -1, np.int32)  # program positions (< 2^24: MAX_PROGRAMS)
        self.write_site = np.zeros(size, np.int16)
        self.write_clock = np.zeros(size, np.int32) if synchronized else None
        self.readers = None  # (2, size): allocated at the first load

    def add_readers(self) -> None:
        self.readers = np.full((2, self.size), -1, np.int32)
        self.read_sites = np.zeros((2, self.size), np.int16)
        self.read_clocks = np.zeros((2, self.size), np.int32) if self.synchronized else None


class RaceChecker:
    """The shadows and clocks of one launch over `grid`; `synchronized`: the
    kernel waits, so notify/wait orderings count."""

    def __init__(self, grid: tuple[int, int, int], synchronized: bool, ranks: int = 0):
        # ranks: the launch runs on each rank of a world (ranks.py); program
        # positions then count rank by rank
        self.grid, self.ranks = grid, ranks
        programs = grid[0] * grid[1] * grid[2] * max(ranks, 1)
        if synchronized and programs > MAX_SYNCHRONIZED_PROGRAMS:
            raise ValueError(f"checking races between {programs} programs that wait for each "
                             f"other: the interpreter does up to {MAX_SYNCHRONIZED_PROGRAMS}; "
                             "interpret(..., check_races=False) runs without the check")
        self.programs, self.synchronized = programs, synchronized
        self.shadows = {}  # Buffer -> Shadow
        self.sites, self.site_ids = [], {}  # op locations, by number
        self.clocks = {}  # program -> its vector clock, once it notified or waited
        self.flag_clocks = {}  # (flags buffer, element) -> the clock its last notify left

    # -- accesses ------------------------------------------------------------------
    def load(self, ex, op, buffer, offsets, active) -> None:
        if not buffer.flat.flags.writeable:
            return  # a read-only array is never stored: its loads cannot race
        shadow, elements, programs, site = self._accesses(ex, op, buffer, offsets, active)
        self._check(op, buffer, shadow.writer, shadow.write_site, shadow.write_clock,
                    elements, programs, "loads", "stored")
        if shadow.readers is None:
            shadow.add_readers()
        first, latest = shadow.readers
        clock = self._own_clocks(programs) if self.synchronized else None
        mine = first[elements] == -1
        first[elements[mine]] = programs[mine]
        mine = first[elements] == programs  # this program is the first reader (again)
        other = ~mine  # also where two programs of the batch read one element here
        self._record(shadow.read_sites[0], shadow.read_clocks, 0, elements, mine, site, clock)
        latest[elements[other]] = programs[other]
        self._record(shadow.read_sites[1], shadow.read_clocks, 1, elements, other, site, clock)

    def store(self, ex, op, buffer, offsets, active) -> None:
        shadow, elements, programs, site = self._accesses(ex, op, buffer, offsets, active)
        self._check(op, buffer, shadow.writer, shadow.write_site, shadow.write_clock,
                    elements, programs, "stores", "stored")
        if shadow.readers is not None:  # the first access (in the batch's order) that races
            found = [self._conflict(shadow.readers[slot], shadow.read_sites[slot],
                                    None if shadow.read_clocks is None else
                                    shadow.read_clocks[slot], elements, programs)
                     for slot in (0, 1)]
            found = [f for f in found if f is not None]
            if found:
                i, other, other_site = min(found)
                raise self._race(op, buffer, int(elements[i]), int(programs[i]), "stores",
                                 other, other_site, "loaded")
        shadow.writer[elements] = programs
        stored = shadow.writer[elements]
        clash = stored != programs  # two programs of the batch store one element here
        if clash.any():
            i = int(np.argmax(clash))
            raise self._race(op, buffer, int(elements[i]), int(programs[i]), "stores",
                             int(stored[i]), site, "stores")
        shadow.write_site[elements] = site
        if self.synchronized:
            shadow.write_clock[elements] = self._own_clocks(programs)

    def _accesses(self, ex, op, buffer, offsets, active):
        """The buffer's shadow, the flat elements accessed (where `active`), the
        program making each access, and the op's site number."""
        offsets, active = np.broadcast_arrays(offsets, active)
        shape = (ex.size,) + offsets.shape[1:]
        active = np.broadcast_to(active, shape)
        elements = (buffer.origin + np.broadcast_to(offsets, shape))[active]
        programs = np.broadcast_to(ex.programs.reshape((-1,) + (1,) * (len(shape) - 1)),
                                   shape)[active].astype(np.int32)
        shadow = self.shadows.get(buffer)
        if shadow is None:
            shadow = self.shadows[buffer] = Shadow(buffer.flat.size, self.synchronized)
        return shadow, elements, programs, self._site(op)

    def _record(self, sites, clocks, slot, elements, where, site, clock) -> None:
        sites[elements[where]] = site
        if clocks is not None:
            clocks[slot][elements[where]] = clock[where]

    def _check(self, op, buffer, who, sites, clocks, elements, programs, doing, done) -> None:
        """Raises a RaceError where another program `done` an element (`who`)
        that this access is not ordered after."""
        found = self._conflict(who, sites, clocks, elements, programs)
        if found is not None:
            i, other, other_site = found
            raise self._race(op, buffer, int(elements[i]), int(programs[i]), doing, other,
                             other_site, done)

    def _conflict(self, who, sites, clocks, elements, programs):
        """(access number, other program, its site) of the first access whose
        element another program accessed (`who`) unordered with it, or None."""
        other = who[elements]
        conflict = (other >= 0) & (other != programs)
        if not conflict.any():
            return None
        if self.synchronized:
            at = np.nonzero(conflict)[0]
            conflict[at] = ~self._ordered(other[at], clocks[elements[at]], programs[at])
            if not conflict.any():
                return None
        i = int(np.argmax(conflict))
        return i, int(other[i]), int(sites[elements[i]])

    # -- happens-before through notify and wait --------------------------------------
    def _clock(self, program: int) -> np.ndarray:
        clock = self.clocks.get(program)
        if clock is None:
            clock = self.clocks[program] = np.zeros(self.programs, np.int32)
            clock[program] = 1
        return clock

    def _own_clocks(self, programs: np.ndarray) -> np.ndarray:
        """Each accessing program's own clock entry (1 until its first notify)."""
        clocks = np.ones(len(programs), np.int32)
        for program in np.unique(programs):
            if int(program) in self.clocks:
                clocks[programs == program] = self.clocks[int(program)][program]
        return clocks

    def _ordered(self, earlier, clocks, programs) -> np.ndarray:
        """Whether each access by `earlier` at its clock happens before `programs` now."""
        ordered = np.zeros(len(programs), bool)
        for program in np.unique(programs):
            clock = self.clocks.get(int(program))
            if clock is not None:
                rows = programs == program
                ordered[rows] = clock[earlier[rows]] >= clocks[rows]
        return ordered

    def release(self, programs: np.ndarray, flags, offsets: np.ndarray,
                accumulate: bool = False) -> None:
        """A notify: each program's accesses so far happen before a wait that reads it
        (`accumulate`, a notify that adds: after every notify that added before)."""
        if not self.synchronized:
            return  # no program waits: nothing orders programs
        for row, program in enumerate(int(p) for p in programs):
            clock = self._clock(program)
            for element in flags.origin + offsets[row].reshape(-1):
                key = (flags, int(element))
                earlier = self.flag_clocks.get(key)
                self.flag_clocks[key] = np.maximum(clock, earlier) \
                    if accumulate and earlier is not None else clock.copy()
            clock[program] += 1

    def acquire(self, programs: np.ndarray, flags, offsets: np.ndarray) -> None:
        """A wait that ended: the notifies it read happen before what follows."""
        for row, program in enumerate(int(p) for p in programs):
            for element in flags.origin + offsets[row].reshape(-1):
                released = self.flag_clocks.get((flags, int(element)))
                if released is not None:
                    clock = self._clock(program)
                    np.maximum(clock, released, out=clock)

    # -- reporting -------------------------------------------------------------------
    def _site(self, op) -> int:
        location = str(op.location)
        site = self.site_ids.get(location)
        if site is None:
            if len(self.sites) >= np.iinfo(np.int16).max:
                raise AssertionError("interpreter limit: too many memory ops to check races")
            site = self.site_ids[location] = len(self.sites)
            self.sites.append(location)
        return site

    def _where(self, site: int) -> str:
        """file:line (and the line) of an op that accessed memory."""
        m = _LOC.search(self.sites[site])
        if m is None:
            return self.sites[site]
        source = linecache.getline(m["file"], int(m["line"])).strip()
        return f"{m['file']}:{m['line']}" + (f" ({source})" if source else "")

    def _race(self, op, buffer, element: int, program: int, doing: str, other: int,
              other_site: int, done: str) -> RaceError:
        index = buffer.element_index(element)
        at = f"element {list(index)}" if index is not None else \
            f"element offset {element - buffer.origin}"
        this, that = (self._program(p) for p in (program, other))
        if done == "stores":  # two programs of one batch, in this op: the first one first
            first, second = sorted((program, other))
            what = f"{self._program(first)} and {self._program(second)} both store it here"
        else:
            what = f"{this} {doing} it here; {that} {done} it at {self._where(other_site)}"
        return error_at(op, f"race on {buffer.describe()} {at}: {what}, with no tile.notify -> "
                            "tile.wait ordering the two (on the GPU the result depends on "
                            "timing); interpret(..., check_races=False) turns this check off",
                        RaceError)

    def _program(self, position: int) -> str:
        """`program (x, y, z)`, with its rank in a world's launch."""
        x, y, z = self.grid
        rank, position = divmod(position, x * y * z)
        pid = (position % x, position // x % y, position // (x * y))
        return f"rank {rank}'s program {pid}" if self.ranks else f"program {pid}"
