"""The launch ABI: how one call's runtime arguments become a specialization key,
raw values and the kernel's parameter bytes. This module is its one description.
The Python launch path (`arguments.collect`, `launcher.ParamPacker`) uses these
rules directly; the C fast path (launch/, `tile._launch`) is given them once, as
`native_table()`, when the runtime configures it, and holds none of its own: no
divisor, range, key part, slot code, grid limit or environment variable's text.

Raw values. One call is read into a flat list: an array contributes
    (pointer, size0 .. size{r-1}, stride0 .. stride{r-1})      strides in elements
and a symmetric array then (rank, peer0 .. peer{w-1}); an int or float (value,).
`arguments.raw_index`/`raw_length` say where each kernel parameter's value sits.

Key parts. Each runtime argument adds one part to the call's key:
    int    INT_KEYS[value % signature.DIVISOR == 0]; the value must lie in INT32_RANGE
    float  FLOAT_KEY (passed as float32: a finite value that rounds to infinity is an error)
    array  (MLIR element type, mask) = `signature.array_key`: a leading 1 bit, then for
           the pointer, each size and each stride a "divisible" bit per divisor of
           `signature.array_divisors(dtype)` (one for the pointer and a size, two for a
           stride: 16 elements and 16 bytes), then "innermost stride is 1".
`spec_of_part` turns a part back into the `ArgSpec` it stands for. The C reader reads
ints, floats and torch tensors by these rules (the same parts, test_runtime_abi.py
checks it over many arguments) and declines every other argument, and every value
outside a rule, to `collect`, which reads it or raises the error.

Parameter slots. Each kernel parameter is one slot of the packed buffer (offsets and
sizes from the PTX `.param` list), written as a `struct` code: `PARAM_CODES` by
`signature.Param.type`, and a TMA descriptor as `TMA_CODE` (its bytes copied in).
Values that do not fit a code ('i' beyond int32, 'f' rounding to infinity) are
refused as `struct` refuses them; the Python path then names the parameter.

TMA descriptors are cached by their encoding (`TensorMapSpec.encoding`) and then by
the array's raw values (pointer, sizes, strides): the C path looks a descriptor up by
exactly that slice of the call's raw values, and leaves a miss to the Python path.

TILE_INTERPRET is read by `interpreter.requested()` only: the C path asks it again
whenever the variable's text changes, and sends an interpreted call to Python.
"""
from __future__ import annotations

import struct
import sys

from .. import language as tl
from ..signature import DIVISOR, INT32_RANGE, ArgSpec, spec_of_array_key

FLOAT_KEY = "f32"  # the key part of a float argument
INT_KEYS = (False, True)  # the key part of an int: [whether it is a multiple of DIVISOR]
PARAM_CODES = {"ptr": "Q", "i32": "i", "f32": "f"}  # signature.Param.type -> struct code
GRID_LIMITS = (2**31 - 1, 65535, 65535)  # CUDA's largest grid, per axis


def tma_code(size: int) -> str:
    """The slot code of a TMA descriptor parameter of `size` bytes (copied as is)."""
    return f"{size}s"


def param_size(code: str) -> int:
    return struct.calcsize("<" + code)


def spec_of_part(part) -> ArgSpec:
    """The specialization behind one key part."""
    if isinstance(part, tuple):
        return spec_of_array_key(part)
    if part == FLOAT_KEY:
        return ArgSpec("float", tl.float32)
    return ArgSpec("int", tl.int32, DIVISOR if part == INT_KEYS[1] else 1)


def native_table() -> dict:
    """What `tile._launch.configure` reads: these rules, and the runtime objects the
    C path calls (by reference: the dicts fill as new types and dtypes are seen).

    readers, reader_for, torch_reader  `arguments`: type -> reader, the function that
        picks (and files) a new type's reader, and the reader that marks torch tensors
    torch_dtypes   torch dtype -> (MLIR element type, `signature.array_divisors`)
    int_range, int_keys, int_divisor, float_key   the scalar rules above
    grid_limits    the largest grid, per axis (a larger one goes to Python's error)
    interpret_requested   `interpreter.requested`
    stream_handle, streams, torch_stream   `driver.stream_handle`; the module whose
        attribute `torch_stream` is the current torch stream's accessor
    identity_types   immutable constexpr types, known by identity in the C path's memo
    cuda_error     the exception a failed launch raises
    """
    from .. import interpreter
    from . import arguments, launcher
    from .driver import CudaError, stream_handle
    return {"readers": arguments._READERS, "reader_for": arguments._reader_for,
            "torch_reader": arguments._TORCH, "torch_dtypes": arguments._TORCH_DTYPE_KEYS,
            "int_range": INT32_RANGE, "int_keys": INT_KEYS, "int_divisor": DIVISOR,
            "float_key": FLOAT_KEY, "grid_limits": GRID_LIMITS,
            "interpret_requested": interpreter.requested,
            "stream_handle": stream_handle, "streams": sys.modules[launcher.__name__],
            "torch_stream": "_torch_raw_stream",
            # immutable: the same object always has the same repr
            "identity_types": (str, float, bool, bytes, tl.dtype),
            "cuda_error": CudaError}
