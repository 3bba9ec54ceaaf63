"""Handlers of the ops that index a flat array with a tile of offsets:
tile.gather, tile.scatter, tile.atomic_rmw and tile.atomic_cas.

Masked-off elements are not accessed (so they may lie outside the array);
an active one outside it is an error at the op's line. Gathers and scatters
go through the race checker as loads and stores do. Atomics cannot race
with each other: they apply in a fixed order (programs in launch order,
then the tile's elements row-major; elements with one offset one after
another) and return the values they found; the race checker does not
record them.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .executor import Executor, error_at, handles
from .memory import Buffer, OutOfBounds, Shifted, resolve
from .numerics import compute, round_to, type_info
from .races import RaceError, differing_duplicate
from .ops import _by_program, _gather, _keyword

_MASK_HINT = "mask the elements whose offsets fall outside the array"


def _is_tile(value) -> bool:
    return type_info(str(value.type)).kind == "tensor"


def _optional_operands(op, args: list, first: int) -> tuple:
    """(mask, scalar) among the operands from `first` on: the mask is the tile."""
    mask = scalar = None
    for value, arg in zip(list(op.operands)[first:], args[first:]):
        if _is_tile(value):
            mask = arg
        else:
            scalar = arg
    return mask, scalar


def _active(mask, offsets: np.ndarray) -> np.ndarray:
    return mask if mask is not None else np.ones((1,) * offsets.ndim, bool)


def _masked_hint(fn):
    """OutOfBounds from a gather, scatter or atomic says to mask, not to bound."""
    def handler(ex: Executor, op, args):
        try:
            return fn(ex, op, args)
        except OutOfBounds as e:
            e.hint = _MASK_HINT
            raise
    handler.__name__ = fn.__name__
    return handler


@handles("tile.addptr")
def _addptr(ex: Executor, op, args):
    pointer, offset = args
    shift = np.asarray(offset).astype(np.int64).reshape(-1)
    if isinstance(pointer, Shifted):
        return [Shifted(pointer.buffer, pointer.shift + shift)]
    if not isinstance(pointer, Buffer):
        raise NotImplementedError("addptr of a value that is not a kernel argument")
    return [Shifted(pointer, shift)]


@handles("tile.gather")
@_masked_hint
def _gather_op(ex: Executor, op, args):
    source, offsets = resolve(args[0], args[1].astype(np.int64))
    mask, other = _optional_operands(op, args, 2)
    active = _active(mask, offsets)
    values = _gather(ex, op, source, offsets, active)
    if other is not None:
        values = np.where(active, values, _by_program(other, offsets.ndim - 1))
    return [values]


@handles("tile.scatter")
@_masked_hint
def _scatter_op(ex: Executor, op, args):
    value, (target, offsets) = args[0], resolve(args[1], args[2].astype(np.int64))
    mask, _ = _optional_operands(op, args, 3)
    active = _active(mask, offsets)
    if ex.launch.races is not None and (clash := differing_duplicate(offsets, active, value)):
        row, first, second, offset = clash
        raise error_at(op, f"store: elements {first} and {second} of one scatter of program "
                           f"{tuple(int(p) for p in ex.pids[row])} write different values to "
                           f"element offset {offset} of {target.describe()}; the GPU keeps "
                           "either one (which is not defined): mask all but one, or use an "
                           "atomic; interpret(..., check_races=False) turns this check off",
                       RaceError)
    target.scatter(offsets, active, value)
    if ex.launch.races is not None:
        ex.launch.races.store(ex, op, target, offsets, active)
    return []


def _ordered_bits(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f32 bits as signed and as unsigned ints (the GPU's float max/min)."""
    return x.view(np.int32), x.view(np.uint32)


def _float_extreme(old: np.ndarray, value: np.ndarray, want_max: bool) -> np.ndarray:
    """f32 max/min as the GPU applies it to bits: a value with the sign clear
    compares as a signed int, one with it set as an unsigned int, reversed."""
    old_s, old_u = _ordered_bits(old)
    value_s, value_u = _ordered_bits(value)
    signed = np.maximum(old_s, value_s) if want_max else np.minimum(old_s, value_s)
    unsigned = np.minimum(old_u, value_u) if want_max else np.maximum(old_u, value_u)
    return np.where(value_s >= 0, signed.view(np.float32), unsigned.view(np.float32))


def _combine(kind: str, dtype: np.dtype):
    """new = f(old, value) of an atomic_rmw kind on elements of `dtype`."""
    if kind == "add":
        return lambda old, value: round_to(compute(old) + compute(value), dtype)
    if kind == "xchg":
        return lambda old, value: value
    want_max = kind == "max"
    if dtype == np.float32:
        return lambda old, value: _float_extreme(old, value, want_max)
    return np.maximum if want_max else np.minimum


def _per_element(x: np.ndarray, shape: tuple) -> np.ndarray:
    return np.broadcast_to(x, shape)


@handles("tile.atomic_rmw")
@_masked_hint
def _atomic_rmw(ex: Executor, op, args):
    (target, offsets), value = resolve(args[0], args[1].astype(np.int64)), args[2]
    mask, _ = _optional_operands(op, args, 3)
    kind = _keyword(op, "kind", ("add", "max", "min", "xchg"))
    shape = (ex.size,) + offsets.shape[1:]
    active = np.broadcast_to(_active(mask, offsets), shape)
    values = _per_element(value, shape)[active]
    combine = _combine(kind, target.dtype)
    with _ordering(ex, op, target, offsets):
        return [target.read_modify_write(offsets, active,
                                         lambda old, k: combine(old, values[k]))]


@handles("tile.atomic_cas")
@_masked_hint
def _atomic_cas(ex: Executor, op, args):
    (target, offsets), cmp, value = resolve(args[0], args[1].astype(np.int64)), args[2], \
        args[3]
    mask, _ = _optional_operands(op, args, 4)
    shape = (ex.size,) + offsets.shape[1:]
    active = np.broadcast_to(_active(mask, offsets), shape)
    bits = np.dtype(f"u{target.dtype.itemsize}")  # compared bit for bit, as the GPU does
    expected = _per_element(cmp, shape)[active]
    values = _per_element(value, shape)[active]

    def swap(old, k):
        equal = old.view(bits) == expected[k].view(bits)
        return np.where(equal, values[k], old)
    with _ordering(ex, op, target, offsets):
        return [target.read_modify_write(offsets, active, swap)]


@contextmanager
def _ordering(ex: Executor, op, target, offsets):
    """An atomic's `sem` for the race checker, in kernels whose programs order
    through memory (a spin lock's acquire and release): an acquire sees what the
    releases of the element before it saw; a release passes on what this program
    did so far."""
    sem = _keyword(op, "sem", ("relaxed", "acquire", "release", "acq_rel")) \
        if "sem" in op.attributes else "acq_rel"
    races = ex.launch.races if ex.scheduler.concurrent else None
    if races is not None:
        rows = np.broadcast_to(offsets, (ex.size,) + offsets.shape[1:]).reshape(ex.size, -1)
    if races is not None and sem in ("acquire", "acq_rel"):
        races.acquire(ex.programs, target, rows)
    yield
    if races is not None and sem in ("release", "acq_rel"):
        races.release(ex.programs, target, rows, accumulate=True)

