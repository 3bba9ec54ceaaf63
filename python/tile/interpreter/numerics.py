"""Element types and rounding, as the GPU does them.

Tiles are held in their storage type (bf16 tiles as `ml_dtypes.bfloat16`, so
every value is exactly representable on the GPU). Arithmetic on 16- and 8-bit
floats is computed in f32 and rounded back to the storage type after each op,
which is what the GPU's f32 paths (and its correctly rounded bf16/f16 adds and
multiplies) produce.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import ml_dtypes
import numpy as np

# MLIR element type spelling -> numpy storage dtype.
STORAGE = {
    "f64": np.dtype(np.float64), "f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
    "bf16": np.dtype(ml_dtypes.bfloat16), "f8E4M3FN": np.dtype(ml_dtypes.float8_e4m3fn),
    "f8E5M2": np.dtype(ml_dtypes.float8_e5m2), "i64": np.dtype(np.int64),
    "i32": np.dtype(np.int32), "i16": np.dtype(np.int16), "i8": np.dtype(np.int8),
    "i1": np.dtype(np.bool_), "index": np.dtype(np.int64),
}
MLIR_NAME = {dtype: name for name, dtype in STORAGE.items() if name != "index"}
_FP8 = (np.dtype(ml_dtypes.float8_e4m3fn), np.dtype(ml_dtypes.float8_e5m2))


def is_float(dtype: np.dtype) -> bool:
    return dtype in MLIR_NAME and MLIR_NAME[dtype].startswith(("f", "bf"))


def compute(x: np.ndarray) -> np.ndarray:
    """`x` in the precision the GPU computes it in: f32 for narrower floats."""
    if is_float(x.dtype) and x.dtype.itemsize < 4:
        return x.astype(np.float32)
    return x


def round_to(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`x` rounded once to `dtype` as the GPU converts: round to nearest even; fp8
    saturates to its largest finite value (PTX `cvt` to fp8 is `.satfinite`)."""
    x = np.asarray(x)
    if x.dtype == dtype or not is_float(dtype):
        return x.astype(dtype, copy=False)
    if dtype in _FP8:
        limit = float(ml_dtypes.finfo(dtype).max)
        x = np.clip(x.astype(np.float64), -limit, limit)  # NaN stays NaN
    if dtype.itemsize < 4 and x.dtype.itemsize >= 4 and x.dtype != np.float32:
        x = _to_f32_round_to_odd(x.astype(np.float64))
    return x.astype(dtype)


def _to_f32_round_to_odd(x: np.ndarray) -> np.ndarray:
    """f64 -> f32 rounding to odd. ml_dtypes converts f64 to bf16/fp8 through f32,
    rounding twice; rounding to odd first makes the second rounding the correct
    single one (f32 has more than 2 bits beyond any narrower float's mantissa)."""
    nearest = x.astype(np.float32)
    overshot = np.abs(nearest.astype(np.float64)) > np.abs(x)
    truncated = np.where(overshot, np.nextafter(nearest, np.float32(0)), nearest)
    inexact = (truncated.astype(np.float64) != x) & np.isfinite(truncated)
    bits = truncated.view(np.uint32) | inexact.astype(np.uint32)
    return bits.view(np.float32)


def fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """`math.fma` as PTX `fma.rn.f32` does it: a·b + c rounded once to f32 (f16 and
    bf16 operands are computed in f32, then rounded again to their type, as the GPU
    does). The product is exact in f64 and TwoSum gives the sum's exact error; the
    sum rounded to odd in f64 then rounds to f32 as the exact value would."""
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    product = a * b  # 24 + 24 significand bits fit in f64's 53
    total = product + c
    virtual = total - product
    error = (product - (total - virtual)) + (c - virtual)  # product + c == total + error
    even = (total.view(np.int64) & 1) == 0
    inexact = (error != 0) & even & np.isfinite(total)
    odd = np.where(inexact, np.nextafter(total, np.copysign(np.inf, error)), total)
    return odd.astype(np.float32)


def float_to_int(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`arith.fptosi` as PTX `cvt.rzi` does it: truncate, saturate, NaN -> 0."""
    info = np.iinfo(dtype)
    x = np.trunc(x.astype(np.float64))
    # int64's largest value is not a float64 (it rounds up to 2^63): values at or past
    # 2^63 are set to it after the conversion, not clipped to it before.
    high = x >= 2.0 ** (info.bits - 1)
    inside = np.where(np.isnan(x) | high, 0, np.clip(x, info.min, info.max)).astype(dtype)
    return np.where(high, np.array(info.max, dtype), inside)


@dataclass(frozen=True)
class TypeInfo:
    """What the interpreter needs of an MLIR type (read from its text, so that
    types of ops the C++ does not register yet are understood too)."""

    kind: str  # "scalar" | "tensor" | "ptr" | "view" | "shared" | "mbarrier"
    element: str = ""  # MLIR element type name
    shape: tuple[int, ...] = ()
    rank: int = 0  # views

    @property
    def dtype(self) -> np.dtype:
        return STORAGE[self.element]


_TENSOR = re.compile(r"^tensor<(?P<dims>(?:\d+x)*)(?P<elt>\w+)[,>]")
_SHARED = re.compile(r"^!tile\.shared<(?P<dims>(?:\d+x)+)(?P<elt>\w+)[,>]")
_PTR = re.compile(r"^!tile\.ptr<(?P<elt>\w+)>$")
_VIEW = re.compile(r"^!tile\.view<(?P<elt>\w+),\s*(?P<rank>\d+)>$")


@lru_cache(maxsize=None)
def type_info(text: str) -> TypeInfo:
    if text in STORAGE:
        return TypeInfo("scalar", text)
    if text == "!tile.mbarrier":
        return TypeInfo("mbarrier")
    for kind, pattern in (("tensor", _TENSOR), ("shared", _SHARED)):
        if m := pattern.match(text):
            dims = tuple(int(d) for d in m["dims"].split("x") if d)
            return TypeInfo(kind, m["elt"], dims)
    if m := _PTR.match(text):
        return TypeInfo("ptr", m["elt"])
    if m := _VIEW.match(text):
        return TypeInfo("view", m["elt"], rank=int(m["rank"]))
    raise NotImplementedError(f"the interpreter does not know the type {text}")
