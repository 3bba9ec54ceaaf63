"""One handler per op: `tile`, `arith` and `math` (control flow is in executor.py).

A handler takes the executor, the `mlir.ir` op and its operand values and
returns the result values; the executor rounds each result to its type, so a
handler may return f32 (or f64) for a bf16 result. Floats narrower than f32 are
computed in f32 (`numerics.compute`), as the GPU does.
"""
from __future__ import annotations

import math
import re

import numpy as np
from mlir import ir

from .executor import Executor, handles
from .memory import Barrier, Buffer, SharedTile, View
from .numerics import STORAGE, compute, float_to_int, fma, round_to, type_info


def _result(op, i: int = 0):
    return type_info(str(op.results[i].type))


def _int_attr(op, name: str) -> int:
    return ir.IntegerAttr(op.attributes[name]).value


def _keyword(op, name: str, choices: tuple[str, ...]) -> str:
    """An enum-like attribute (printed `max`, `"max"` or `#tile<... max>`) as one of `choices`."""
    found = re.findall(r"\b(" + "|".join(choices) + r")\b", str(op.attributes[name]))
    if len(found) != 1:
        raise NotImplementedError(f"cannot read attribute {name} = {op.attributes[name]}")
    return found[0]


def _by_program(x: np.ndarray, rank: int) -> np.ndarray:
    """A (P,) scalar per program shaped to broadcast against (P, *tile) of `rank` dims."""
    return x.reshape((-1,) + (1,) * rank)


def _tile(value) -> np.ndarray:
    """A register tile, or the contents of a shared tile (mma takes either)."""
    return value.read() if isinstance(value, SharedTile) else value


# -- grid -------------------------------------------------------------------------
@handles("tile.program_id")
def _program_id(ex: Executor, op, args):
    return [ex.pids[:, _int_attr(op, "axis")]]


@handles("tile.num_programs")
def _num_programs(ex: Executor, op, args):
    return [np.array([ex.grid[_int_attr(op, "axis")]], np.int32)]


@handles("tile.assume_multiple")
def _assume_multiple(ex: Executor, op, args):
    """tile.multiple_of's promise, checked for every program."""
    multiple = _int_attr(op, "multiple")
    broken = np.nonzero(np.asarray(args[0]).astype(np.int64) % multiple)[0]
    if broken.size:
        first = broken[0]
        raise ValueError(f"multiple_of: {args[0][first]} is not a multiple of {multiple} (program "
                         f"{tuple(int(p) for p in ex.pids[first])})")
    return [args[0]]


# -- global memory ------------------------------------------------------------------
def _pointer_box(offset: np.ndarray, bound, size: int):
    """Offsets and mask of the 1-D pointer form: element i is ptr[off + i] if off + i < bound."""
    offsets = _by_program(offset.astype(np.int64), 1) + np.arange(size)
    active = offsets < _by_program(bound, 1) if bound is not None else np.ones((1, 1), bool)
    return offsets, active


def _check_multicast(ex: Executor, index: list[np.ndarray]) -> None:
    """A multicast load's promise: every program of each cluster loads here, the
    same tile (on the GPU, one program's producer copies part of it for all)."""
    n = ex.num_ctas
    cluster = np.stack([ex.pids[:, 0] // n, ex.pids[:, 1], ex.pids[:, 2]], axis=1)
    origin = np.stack([np.broadcast_to(i.reshape(-1), (ex.size,)) for i in index], axis=1)
    for c in np.unique(cluster, axis=0):
        rows = np.nonzero((cluster == c).all(axis=1))[0]
        programs = [tuple(int(v) for v in ex.pids[r]) for r in rows]
        if len(rows) != n:
            raise ValueError(f"multicast load: only program(s) {programs} of a cluster of "
                             f"{n} load it here; every program of the cluster must")
        if not (origin[rows] == origin[rows[0]]).all():
            at = {p: tuple(int(v) for v in origin[r]) for p, r in zip(programs, rows)}
            raise ValueError(f"multicast load: the programs of a cluster load different tiles "
                             f"(origins {at}); a multicast tile must be the same in each")


def _gather(ex: Executor, op, buffer: Buffer, offsets, active) -> np.ndarray:
    """A load from global memory, checked for races (races.py)."""
    values = buffer.gather(offsets, active)
    if ex.launch.races is not None:
        ex.launch.races.load(ex, op, buffer, offsets, active)
    return values


@handles("tile.load")
def _load(ex: Executor, op, args):
    source, *index = args
    shape = _result(op).shape
    if isinstance(source, View):
        if ex.num_ctas > 1 and "multicast" in op.attributes:
            _check_multicast(ex, index)
        return [_gather(ex, op, source.buffer, *source.box(index, shape))]
    if len(shape) != 1:
        raise NotImplementedError("the pointer form of tile.load makes 1-D tiles")
    offset, bound = index[0], (index[1] if len(index) > 1 else None)
    return [_gather(ex, op, source, *_pointer_box(offset, bound, shape[0]))]


@handles("tile.store")
def _store(ex: Executor, op, args):
    value, target, *index = args
    if isinstance(target, View):
        buffer, (offsets, active) = target.buffer, target.box(index, value.shape[1:])
    else:
        offset, bound = index[0], (index[1] if len(index) > 1 else None)
        buffer, (offsets, active) = target, _pointer_box(offset, bound, value.shape[1])
    buffer.scatter(offsets, active, value)
    if ex.launch.races is not None:
        ex.launch.races.store(ex, op, buffer, offsets, active)
    return []


@handles("tile.make_view")
def _make_view(ex: Executor, op, args):
    buffer, *rest = args
    if not isinstance(buffer, Buffer):
        raise NotImplementedError("make_view of a value that is not a kernel argument")
    rank = _result(op).rank
    columns = lambda xs: np.stack(np.broadcast_arrays(*xs), axis=1).astype(np.int64)
    return [View(buffer, columns(rest[:rank]), columns(rest[rank:]))]


# -- filling and indices ------------------------------------------------------------
def _attribute_value(attr):
    for kind in (ir.BoolAttr, ir.FloatAttr, ir.IntegerAttr):
        if isinstance(attr, kind):  # the bindings hand out attributes downcast
            return attr.value
    raise NotImplementedError(f"constant {attr}")


def _filled(shape, value, dtype) -> np.ndarray:
    """`value` everywhere; floats held in f64 until the executor rounds them once."""
    return np.full(shape, value, np.float64 if isinstance(value, float) else dtype)


@handles("arith.constant")
def _constant(ex: Executor, op, args):
    attr, info = op.attributes["value"], _result(op)
    if info.kind == "scalar":
        return [_filled((1,), _attribute_value(attr), info.dtype)]
    dense = ir.DenseElementsAttr(attr)
    if dense.is_splat:
        return [_filled((1, *info.shape), _attribute_value(dense.get_splat_value()), info.dtype)]
    try:
        values = np.array(dense)
    except Exception:  # the bindings give no buffer for bf16 and fp8
        raise NotImplementedError(f"non-splat constants of {info.element}") from None
    return [values.reshape((1, *info.shape))]


@handles("tile.splat")
def _splat(ex: Executor, op, args):
    shape = _result(op).shape
    return [np.broadcast_to(_by_program(args[0], len(shape)), (len(args[0]), *shape))]


@handles("tile.iota")
def _iota(ex: Executor, op, args):
    shape = _result(op).shape
    if len(shape) != 1:
        raise NotImplementedError("tile.iota makes 1-D tiles")
    return [np.arange(shape[0]).reshape(1, -1)]


# -- matrix multiply, reductions, shapes -------------------------------------------------
@handles("tile.mma")
def _mma(ex: Executor, op, args):
    """acc + a·b with exact products and an f64 sum, rounded once to the accumulator
    type (the GPU's tensor cores add in f32 in their own order)."""
    a, b, acc = (_tile(x) for x in args)
    if "transpose_a" in op.attributes:
        a = np.swapaxes(a, -1, -2)
    if "transpose_b" in op.attributes:
        b = np.swapaxes(b, -1, -2)
    return [acc.astype(np.float64) + np.matmul(a.astype(np.float64), b.astype(np.float64))]


# tile.reduce and tile.scan: reduction_ops.py


@handles("tile.broadcast")
def _broadcast(ex: Executor, op, args):
    shape = _result(op).shape
    x = np.expand_dims(args[0], _int_attr(op, "dim") + 1)
    return [np.broadcast_to(x, (x.shape[0], *shape))]


@handles("tile.transpose")
def _transpose(ex: Executor, op, args):
    x = args[0]
    return [np.transpose(x, (0, *range(x.ndim - 1, 0, -1)))]


@handles("tile.convert_layout")
def _convert_layout(ex: Executor, op, args):
    return [args[0]]  # layouts say which thread holds an element, not its value


# -- shared memory and barriers -----------------------------------------------------------
@handles("tile.alloc_shared")
def _alloc_shared(ex: Executor, op, args):
    info = _result(op)
    return [SharedTile.allocate(ex.size, info.shape, info.dtype)]


@handles("tile.alloc_mbarrier")
def _alloc_mbarrier(ex: Executor, op, args):
    return [Barrier()]


@handles("tile.async_load")
def _async_load(ex: Executor, op, args):
    """Copies at once: the data is in shared memory before any wait."""
    view, *origin, shared, barrier = args
    shared.write(_gather(ex, op, view.buffer, *view.box(origin, shared.data.shape[1:])))
    return []


@handles("tile.load_shared")
def _load_shared(ex: Executor, op, args):
    return [args[0].read()]


@handles("tile.store_shared")
def _store_shared(ex: Executor, op, args):
    value, shared = args
    shared.write(round_to(value, shared.data.dtype))
    return []


@handles("tile.wait", "tile.barrier")
def _synchronize(ex: Executor, op, args):
    return []  # each program runs its ops in order; copies completed when issued


# -- arith and math ---------------------------------------------------------------------------
def _elementwise(fn):
    return lambda ex, op, args: [fn(*(compute(a) for a in args))]


def _divsi(a, b):
    """Integer division rounding toward zero (C, PTX `div.s32`); numpy floors."""
    q = np.floor_divide(a, b)
    return np.where((q < 0) & (q * b != a), q + 1, q)


def _ceildivsi(a, b):
    """ceil(a / b) from the floor and the remainder: -floor(-a / b) negates a,
    which wraps at INT_MIN (cdiv(-2**31, 3) came out positive)."""
    return np.floor_divide(a, b) + (np.remainder(a, b) != 0).astype(np.asarray(a).dtype)


def _unsigned(fn):
    def apply(a, b):
        kind = np.dtype(f"u{a.dtype.itemsize}")
        return fn(a.view(kind), b.view(kind)).astype(kind).view(a.dtype)
    return apply


def _in_f64(fn):
    """`fn` computed in f64 and rounded to f32, where the GPU computes it (libdevice,
    within 2 f32 ulps of the exact value); narrower types are rounded again."""
    return lambda *xs: fn(*(np.asarray(x, np.float64) for x in xs)).astype(np.float32)


def _erf(x: np.ndarray) -> np.ndarray:  # numpy has none
    return np.frompyfunc(math.erf, 1, 1)(x).astype(np.float64)


_ELEMENTWISE = {
    "arith.addf": np.add, "arith.subf": np.subtract, "arith.mulf": np.multiply,
    "arith.divf": np.divide, "arith.negf": np.negative, "arith.remf": np.fmod,
    "arith.maximumf": np.maximum, "arith.minimumf": np.minimum,  # NaN-propagating
    "arith.maxnumf": np.fmax, "arith.minnumf": np.fmin,  # NaN-ignoring
    "math.exp": np.exp, "math.exp2": np.exp2, "math.log": np.log, "math.log2": np.log2,
    "math.sqrt": np.sqrt, "math.rsqrt": lambda x: 1 / np.sqrt(x), "math.absf": np.abs,
    "math.tanh": np.tanh, "math.erf": _in_f64(_erf),
    "math.sin": _in_f64(np.sin), "math.cos": _in_f64(np.cos), "math.floor": np.floor,
    "math.ceil": np.ceil, "math.roundeven": np.rint, "math.log1p": _in_f64(np.log1p),
    "math.expm1": _in_f64(np.expm1), "math.tan": _in_f64(np.tan),
    "math.atan2": _in_f64(np.arctan2), "math.powf": _in_f64(np.power),
    "math.fma": fma, "math.absi": np.abs,
    "arith.maxui": _unsigned(np.maximum), "arith.minui": _unsigned(np.minimum),
    "arith.addi": np.add, "arith.subi": np.subtract, "arith.muli": np.multiply,
    "arith.divsi": _divsi, "arith.floordivsi": np.floor_divide,
    "arith.ceildivsi": _ceildivsi,
    "arith.remsi": np.fmod, "arith.divui": _unsigned(np.floor_divide),
    "arith.remui": _unsigned(np.remainder), "arith.maxsi": np.maximum,
    "arith.minsi": np.minimum, "arith.andi": np.bitwise_and, "arith.ori": np.bitwise_or,
    "arith.xori": np.bitwise_xor, "arith.shli": np.left_shift,
    "arith.shrsi": np.right_shift, "arith.shrui": _unsigned(np.right_shift),
    "arith.select": np.where,
}
for _name, _fn in _ELEMENTWISE.items():
    handles(_name)(_elementwise(_fn))

# arith.cmpf predicates, in the order of their enum values.
_CMPF = ["false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord",
         "ueq", "ugt", "uge", "ult", "ule", "une", "uno", "true"]
_ORDERED = {"eq": np.equal, "gt": np.greater, "ge": np.greater_equal, "lt": np.less,
            "le": np.less_equal, "ne": np.not_equal}
_CMPI = ["eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"]


@handles("arith.cmpf")
def _cmpf(ex: Executor, op, args):
    a, b = (compute(x) for x in args)
    predicate = _CMPF[_int_attr(op, "predicate")]
    unordered = np.isnan(a) | np.isnan(b)
    if predicate in ("false", "true"):
        return [np.full(np.broadcast(a, b).shape, predicate == "true")]
    if predicate in ("ord", "uno"):
        return [~unordered if predicate == "ord" else unordered]
    result = _ORDERED[predicate[1:]](a, b)
    return [result & ~unordered if predicate[0] == "o" else result | unordered]


@handles("arith.cmpi")
def _cmpi(ex: Executor, op, args):
    a, b = args
    predicate = _CMPI[_int_attr(op, "predicate")]
    if predicate[0] == "u":
        a, b = (x.view(np.dtype(f"u{x.dtype.itemsize}")) for x in (a, b))
    return [_ORDERED[predicate.lstrip("su")](a, b)]


@handles("arith.truncf", "arith.extf", "arith.sitofp", "arith.extsi", "arith.trunci",
         "arith.index_cast")
def _convert(ex: Executor, op, args):
    if op.name == "arith.trunci" and _result(op).element == "i1":
        return [(args[0] & 1).astype(np.bool_)]  # the low bit, as the GPU's trunci
    return [args[0]]  # the executor rounds (or wraps) to the result type


@handles("arith.bitcast")
def _bitcast(ex: Executor, op, args):
    """The same bits as the result's element type (of the same width)."""
    x = np.ascontiguousarray(args[0])
    return [x.view(STORAGE[_result(op).element])]


@handles("arith.fptosi")
def _fptosi(ex: Executor, op, args):
    return [float_to_int(args[0], _result(op).dtype)]


@handles("arith.extui", "arith.uitofp", "arith.index_castui")
def _convert_unsigned(ex: Executor, op, args):
    x = args[0]
    return [x.view(np.dtype(f"u{x.dtype.itemsize}")) if x.dtype != np.bool_ else x]
