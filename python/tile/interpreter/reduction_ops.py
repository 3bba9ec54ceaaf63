"""tile.reduce, tile.scan, tile.sort and tile.take: along a dimension, or (a
scalar result) over all.

max/min/argmax/argmin are exact; float sums and products are computed in f64 and
rounded once (the GPU combines in f32, in its own order of registers, lanes
and warps, so results differ from these in the last bits); integer ones in
int64, wrapped to the tile's width as the GPU's integer arithmetic wraps.
"""
from __future__ import annotations

import numpy as np

from .executor import Executor, handles
from .memory import OutOfBounds
from .numerics import compute, type_info
from .ops import _int_attr, _keyword

_REDUCTIONS = {"max": np.max, "min": np.min, "sum": np.sum,
               "argmax": np.argmax, "argmin": np.argmin}


@handles("tile.reduce")
def _reduce(ex: Executor, op, args):
    """argmax/argmin: the first index of the extreme, NaN counting as both the
    greatest and the least value (numpy's rule, as torch's); over every
    dimension the row-major index."""
    kind = _keyword(op, "kind", tuple(_REDUCTIONS))
    x = args[0]
    integer = np.issubdtype(x.dtype, np.integer)
    if kind == "sum":
        x = x.astype(np.int64 if integer else np.float64)
    else:
        x = compute(x)
    dim = _int_attr(op, "dim") + 1
    if type_info(str(op.results[0].type)).kind == "scalar":
        x, dim = x.reshape(x.shape[0], -1), 1
    result = _REDUCTIONS[kind](x, axis=dim)
    if kind.startswith("arg"):
        return [result.astype(np.int32)]
    return [result.astype(args[0].dtype) if kind == "sum" and integer else result]


_SCANS = {"sum": np.cumsum, "prod": np.cumprod}


@handles("tile.scan")
def _scan(ex: Executor, op, args):
    """f32, i32 and i64 tiles (the verifier's rule): in f64, or in i64 wrapped to
    the tile's width as the GPU's integer arithmetic wraps."""
    kind = _keyword(op, "kind", tuple(_SCANS))
    x = args[0]
    floating = np.issubdtype(x.dtype, np.floating)
    result = _SCANS[kind](x.astype(np.float64 if floating else np.int64),
                          axis=_int_attr(op, "dim") + 1)
    return [result if floating else result.astype(x.dtype)]


@handles("tile.sort")
def _sort(ex: Executor, op, args):
    """Stable, NaN the greatest (torch.sort(stable=True)): keys ordered by
    (NaN last, value), descending by (NaN first, -value); ties by index."""
    x = args[0]
    axis = _int_attr(op, "dim") + 1
    wide = x.astype(np.float64 if np.issubdtype(x.dtype, np.floating) else np.int64)
    nan = np.isnan(wide) if np.issubdtype(wide.dtype, np.floating) else np.zeros(x.shape, bool)
    if "descending" in op.attributes:
        order = np.lexsort((np.where(nan, 0, -wide), ~nan), axis=axis)
    else:
        order = np.lexsort((np.where(nan, 0, wide), nan), axis=axis)
    return [np.take_along_axis(x, order, axis), order.astype(np.int32)]


@handles("tile.take")
def _take(ex: Executor, op, args):
    """An index outside the source is an error (the GPU's result is undefined)."""
    x, index = args
    axis = _int_attr(op, "dim") + 1
    bad = (index < 0) | (index >= x.shape[axis])
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise OutOfBounds(f"gather index {int(index[bad][0])} outside the tile's "
                          f"{x.shape[axis]} elements along axis {axis - 1}", row)
    return [np.take_along_axis(x, index.astype(np.int64), axis)]
