"""Global and shared memory of interpreted kernels.

A kernel argument array becomes a `Buffer`: a flat view of the memory its
elements occupy, written through to the caller's array. An address is an
element offset from the array's element [0, ..., 0], as the kernel computes it
from the pointer, sizes and strides it was given. Every access the kernel
actually makes (the ones inside the bound or view) must land on an element of
the array: the GPU would read or corrupt whatever lies there, the interpreter
raises `OutOfBounds`.

Values carry a leading axis of programs (see executor.py): a tile of shape S
for P programs is an array of shape (P, *S), or (1, *S) when all programs
hold the same value.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class OutOfBounds(Exception):
    """An access outside an argument's memory. `row` is the program's index in
    its batch; the executor adds the program id and the kernel line."""

    def __init__(self, message: str, row: int | None = None, hint: str = ""):
        super().__init__(message)
        self.message, self.row, self.hint = message, row, hint


def element_strides(array: np.ndarray, name: str) -> tuple[int, ...]:
    if any(s % array.itemsize for s in array.strides):
        raise ValueError(f"argument '{name}': strides {array.strides} are not whole elements")
    return tuple(s // array.itemsize for s in array.strides)


class Buffer:
    """One array argument's memory, addressed in elements from element [0, ..., 0]."""

    changes = 0  # stores and atomics that changed memory, in any buffer (signals.py)

    def __init__(self, name: str, array: np.ndarray):
        self.name, self.shape = name, array.shape
        itemsize, strides = array.itemsize, element_strides(array, name)
        self.strides = strides
        # Flip the axes with negative strides: `low` starts at the lowest address.
        low = array[tuple(slice(None, None, -1) if s < 0 else slice(None) for s in strides)]
        self.origin = sum((n - 1) * -s for n, s in zip(array.shape, strides) if s < 0)
        span = 1 + sum((n - 1) * abs(s) for n, s in zip(array.shape, strides)) if array.size else 0
        # Through an unsigned view of the same width: as_strided rebuilds the array
        # from its typestr, which ml_dtypes' float8_e5m2 ('<f1') does not survive.
        bits = low.view(np.dtype(f"u{itemsize}")) if itemsize in (1, 2, 4, 8) else low
        self.flat = np.lib.stride_tricks.as_strided(bits, shape=(span,),
                                                    strides=(itemsize,)).view(array.dtype)
        self.owned = None  # which flat elements are the array's (None: all of them)
        if span != array.size:  # gaps (padding between rows) or overlap (zero strides)
            # Marked through a strided view of the mask: a byte of memory an element
            # of the span, not an index per element of the array.
            self.owned = np.zeros(span, dtype=bool)
            np.lib.stride_tricks.as_strided(
                self.owned, shape=array.shape, strides=tuple(abs(s) for s in strides))[...] = True

    @property
    def dtype(self) -> np.dtype:
        return self.flat.dtype

    def describe(self) -> str:
        shape = ", ".join(str(n) for n in self.shape)
        return f"argument '{self.name}' ({self.dtype.name}[{shape}])"

    def element_index(self, flat: int) -> tuple[int, ...] | None:
        """The array index of flat element `flat`, for messages (None where the
        strides are not all positive)."""
        if any(s <= 0 for s in self.strides):
            return None
        index, left = [0] * len(self.shape), flat - self.origin
        for d in sorted(range(len(self.shape)), key=lambda d: -self.strides[d]):
            index[d], left = divmod(left, self.strides[d])
        inside = left == 0 and all(i < n for i, n in zip(index, self.shape))
        return tuple(index) if inside else None

    def _indices(self, offsets: np.ndarray, active: np.ndarray, what: str) -> np.ndarray:
        """Flat indices of `offsets` where `active`; raises on an active one outside the array."""
        index = self.origin + offsets
        inside = (index >= 0) & (index < self.flat.size)
        if self.owned is not None:
            inside &= self.owned[np.where(inside, index, 0)]
        bad = active & ~inside
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise OutOfBounds(
                f"{what} of {self.describe()} at element offset {int(offsets[where])} (tile "
                f"index {where[1:]}) is outside the array's memory", where[0],
                "give the access a bound, or keep its view's sizes within the array")
        return np.where(active, index, 0)

    def gather(self, offsets: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Elements at `offsets` where `active`, zero elsewhere."""
        offsets, active = np.broadcast_arrays(offsets, active)
        index = self._indices(offsets, active, "load")
        values = self.flat[index] if self.flat.size else np.zeros(index.shape, self.dtype)
        return np.where(active, values, np.zeros((), self.dtype))

    def scatter(self, offsets: np.ndarray, active: np.ndarray, values: np.ndarray) -> None:
        offsets, active, values = np.broadcast_arrays(offsets, active, values)
        index = self._indices(offsets, active, "store")
        if not self.flat.flags.writeable:
            raise OutOfBounds(f"store to {self.describe()}, which is read-only")
        self.flat[index[active]] = values[active]
        Buffer.changes += 1

    def read_modify_write(self, offsets: np.ndarray, active: np.ndarray, update) -> np.ndarray:
        """Atomics: for each active element in order (row-major over programs, then
        the tile), `flat[i] = update(old, k)` where `old` is the element's value and
        `k` the positions (into the active elements) being applied; returns the old
        values, zero where not active. Elements with one offset apply one after
        another, in that order."""
        offsets, active = np.broadcast_arrays(offsets, active)
        index = self._indices(offsets, active, "atomic")
        if not self.flat.flags.writeable:
            raise OutOfBounds(f"atomic on {self.describe()}, which is read-only")
        targets = index[active]
        # The n-th access to an element goes in round n: within a round every
        # element is distinct, so a round is one vectorized read and write.
        order = np.argsort(targets, kind="stable")
        sorted_targets = targets[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_targets)) + 1]
        rank = np.arange(len(targets)) - np.repeat(starts, np.diff(np.r_[starts, len(targets)]))
        occurrence = np.empty(len(targets), np.int64)
        occurrence[order] = rank
        old = np.zeros(len(targets), self.dtype)
        for n in range(int(occurrence.max(initial=-1)) + 1):
            k = np.flatnonzero(occurrence == n)
            old[k] = self.flat[targets[k]]
            new = np.asarray(update(old[k], k), self.dtype)
            if (new.view(np.uint8) != old[k].view(np.uint8)).any():  # a failed CAS changes nothing
                Buffer.changes += 1
            self.flat[targets[k]] = new
        result = np.zeros(active.shape, self.dtype)
        result[active] = old
        return result


@dataclass(frozen=True)
class View:
    """`!tile.view<T, R>`: a buffer with sizes and strides, each of shape (P or 1, R)."""

    buffer: Buffer
    sizes: np.ndarray
    strides: np.ndarray

    def subset(self, programs: np.ndarray) -> "View":
        return View(self.buffer, _rows(self.sizes, programs), _rows(self.strides, programs))

    def box(self, origin: list[np.ndarray], shape: tuple[int, ...]):
        """Offsets and in-view mask of the tile of `shape` at `origin` (one (P,) array a dim)."""
        rank = len(shape)
        offsets, inside = 0, True
        for d in range(rank):
            index = origin[d].astype(np.int64).reshape((-1,) + (1,) * rank) + \
                np.arange(shape[d]).reshape((1,) * (d + 1) + (shape[d],) + (1,) * (rank - d - 1))
            size = self.sizes[:, d].reshape((-1,) + (1,) * rank)
            stride = self.strides[:, d].reshape((-1,) + (1,) * rank)
            offsets = offsets + index * stride
            inside = inside & (index >= 0) & (index < size)
        return offsets, inside


@dataclass(frozen=True)
class Shifted:
    """`tile.addptr`: a buffer's pointer moved by `shift` elements, of shape (P or 1,)."""

    buffer: Buffer
    shift: np.ndarray

    def subset(self, programs: np.ndarray) -> "Shifted":
        return Shifted(self.buffer, _rows(self.shift, programs))

    def resolve(self, offsets: np.ndarray) -> tuple[Buffer, np.ndarray]:
        """(the buffer, offsets from its first element) for offsets from this pointer."""
        return self.buffer, offsets + self.shift.reshape((-1,) + (1,) * (offsets.ndim - 1))


def resolve(pointer, offsets: np.ndarray) -> tuple[Buffer, np.ndarray]:
    """A gather's, scatter's or atomic's buffer and offsets, from its pointer operand."""
    return pointer.resolve(offsets) if isinstance(pointer, Shifted) else (pointer, offsets)


class SharedTile:
    """`!tile.shared<...>`: one tile per program. `rows` picks this batch's programs
    from `data`, so a subset of programs writes through to the whole batch's tiles."""

    def __init__(self, data: np.ndarray, rows: np.ndarray, written: np.ndarray):
        self.data, self.rows, self.written = data, rows, written

    @classmethod
    def allocate(cls, programs: int, shape, dtype) -> "SharedTile":
        return cls(np.zeros((programs, *shape), dtype), np.arange(programs),
                   np.zeros((programs, *shape), dtype=bool))

    def subset(self, programs: np.ndarray) -> "SharedTile":
        return SharedTile(self.data, self.rows[programs], self.written)

    def read(self) -> np.ndarray:
        unwritten = ~self.written[self.rows]
        if unwritten.any():
            where = tuple(int(i) for i in np.argwhere(unwritten)[0])
            raise OutOfBounds(f"read of shared memory never written (tile index {where[1:]}): "
                              "the GPU would read garbage", where[0])
        return self.data[self.rows]

    def write(self, value: np.ndarray) -> None:
        shape = (len(self.rows),) + self.data.shape[1:]
        self.data[self.rows] = np.broadcast_to(value, shape)
        self.written[self.rows] = True


class Barrier:
    """`!tile.mbarrier`. Copies complete at once in the interpreter, so waits never block."""


def _rows(values: np.ndarray, programs: np.ndarray) -> np.ndarray:
    return values if values.shape[0] == 1 else values[programs]


def subset(value, programs: np.ndarray):
    """The part of a value that belongs to `programs` (indices into the batch)."""
    if isinstance(value, np.ndarray):
        return _rows(value, programs)
    if isinstance(value, (View, SharedTile, Shifted)):
        return value.subset(programs)
    return value  # Buffer, Barrier: the same for every program
