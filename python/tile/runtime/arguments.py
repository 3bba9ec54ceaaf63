"""What a kernel argument is, read on every launch: a CUDA torch tensor, any
array with `__cuda_array_interface__` (CuPy, Numba) or `__dlpack__`, a Python
int or float, or a numpy integer or floating scalar (read as the Python int or
float: an int must fit in int32, a finite float in float32's range). When a kernel
is interpreted on the CPU, arrays are host arrays instead (numpy, CPU torch):
`as_device_array(..., on_host=True)`.

`collect` turns the runtime arguments of one call into
  - a specialization key part per argument (`signature.array_key` for arrays),
  - the flat "raw" values the kernel parameters are gathered from: an array
    contributes (pointer, *shape, *strides), a scalar (value,) (`raw_index`
    says where each kernel parameter's value sits),
  - the device and the stream the arrays came with.
It runs on every launch, so the common cases are kept to a few attribute reads.
The rules it follows (raw layout, key parts) are runtime/abi.py's, which the C
fast path reads too.
"""
from __future__ import annotations

import ctypes
import math
import struct
import sys
from dataclasses import dataclass

from .. import language as tl
from ..signature import DIVISOR, INT32_RANGE, ArgSpec, Param, array_divisors, array_key
from .abi import FLOAT_KEY, INT_KEYS

TORCH_STREAM = "torch"  # stream hint: the current torch stream of the arrays' device
_INT_MIN, _INT_MAX = INT32_RANGE
_F32_MAX = 3.4028234663852886e38  # the largest finite float32
_SCALAR = object()  # a reader's device for a scalar argument: no array, nothing to merge

_TORCH_DTYPE_NAMES = {"float32": tl.float32, "float16": tl.float16, "bfloat16": tl.bfloat16,
                      "float8_e4m3fn": tl.float8e4m3, "float8_e5m2": tl.float8e5m2,
                      "int32": tl.int32, "int16": tl.int16, "int8": tl.int8,
                      "int64": tl.int64}
_TYPESTR_DTYPES = {"f4": tl.float32, "f2": tl.float16, "i4": tl.int32, "i2": tl.int16,
                   "i1": tl.int8, "i8": tl.int64}
# DLPack (type code, bits) -> dtype; codes from dlpack.h (10: float8_e4m3fn, 12: float8_e5m2).
_DLPACK_DTYPES = {(0, 8): tl.int8, (0, 16): tl.int16, (0, 32): tl.int32, (0, 64): tl.int64,
                  (2, 16): tl.float16, (2, 32): tl.float32, (4, 16): tl.bfloat16,
                  (10, 8): tl.float8e4m3, (12, 8): tl.float8e5m2}
_DL_CPU, _DL_CUDA, _DL_CUDA_HOST, _DL_CUDA_MANAGED = 1, 2, 3, 13
# The way out for a host array passed to a GPU launch.
INTERPRET_HINT = (", or run on the CPU interpreter: kernel[grid].interpret(...) or "
                   "TILE_INTERPRET=1")


@dataclass(frozen=True)
class DeviceArray:
    """An array argument, read once (used off the hot path: AOT checks, tests)."""

    pointer: int
    dtype: tl.dtype
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # in elements
    device: int  # CUDA device ordinal; -1 for a host array
    stream: object  # None, an int stream handle, or TORCH_STREAM
    host: object = None  # a host array (interpreting): the numpy array over its memory


def raw_index(param: Param, spec: ArgSpec) -> int:
    """Where `param`'s value sits in its argument's raw values."""
    if param.source == "pointer" or param.source == "value":
        return 0
    if param.source == "my_rank":  # a symmetric array's: after its sizes and strides
        return 1 + 2 * spec.rank
    if param.source == "peer":
        return 2 + 2 * spec.rank + param.dim
    return 1 + param.dim + (spec.rank if param.source == "stride" else 0)


def raw_length(spec: ArgSpec) -> int:
    if spec.kind == "symmetric":
        return 2 + 2 * spec.rank + spec.world
    return 1 + 2 * spec.rank if spec.kind == "array" else (0 if spec.kind == "constexpr" else 1)


# -- per-type readers: append the key part and raw values, return (device, stream hint) --
_TORCH = "torch tensor"  # the reader of torch tensors, which `collect` runs inline


def _read_cuda_array_interface(value, name, key, raw, stream=None):
    array = from_cuda_array_interface(value, name)
    _append_array(array, key, raw)
    return array.device, array.stream


def _read_dlpack(value, name, key, raw, stream=None):
    array = from_dlpack(value, name, stream)
    _append_array(array, key, raw)
    return array.device, array.stream


def _append_array(array: DeviceArray, key, raw):
    key.append(array_key(array.dtype, array.pointer, array.shape, array.strides))
    raw.append(array.pointer)
    raw += array.shape
    raw += array.strides


def _int_out_of_range(value, name) -> ValueError:
    return ValueError(f"argument '{name}' = {value} does not fit in int32")


def check_float(value: float, name: str) -> None:
    """A float argument is passed as float32: a finite value that would round to
    infinity is an error (inf and nan themselves pass)."""
    if not -_F32_MAX <= value <= _F32_MAX and math.isfinite(value):
        try:
            struct.pack("<f", value)  # rounds to the largest float32, or overflows
        except OverflowError:
            raise ValueError(f"argument '{name}' = {value!r} is outside float32's range "
                             f"(magnitude at most {_F32_MAX:.8g}); float arguments are passed "
                             "as float32") from None


def python_scalar(value):
    """A numpy bool, integer or floating scalar as the Python bool, int or float it
    holds; any other value unchanged."""
    np = sys.modules.get("numpy")
    if np is None or not isinstance(value, np.generic):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _is_numpy_scalar_type(cls: type) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and issubclass(cls, (np.bool_, np.integer, np.floating))


def _append_scalar(value, name, key, raw) -> None:
    """An int (int32, keyed by its divisibility by 16) or a float (float32)."""
    if type(value) is int:
        if not _INT_MIN <= value <= _INT_MAX:
            raise _int_out_of_range(value, name)
        key.append(INT_KEYS[value % DIVISOR == 0])
    else:
        check_float(value, name)
        key.append(FLOAT_KEY)
    raw.append(value)


def _read_numpy_scalar(value, name, key, raw, stream=None):
    """np.int32(3), np.float32(2.5), ...: read as the Python int or float (the C
    path leaves them to this one)."""
    value = python_scalar(value)
    if type(value) is bool:
        _read_bool(value, name, key, raw)
    _append_scalar(value, name, key, raw)
    return _SCALAR, None


def _read_type_string(value, name, key, raw, stream=None):
    raise TypeError(f"argument '{name}' is the type string {value!r}: type strings can be "
                    "compiled, not launched")


def _read_bool(value, name, key, raw, stream=None):
    raise TypeError(f"argument '{name}': bool parameters must be tile.constexpr")


def _read_by_instance(value, name, key, raw, stream=None):
    """Types whose class does not declare a protocol: the protocol may still be an
    instance attribute (the CUDA Array Interface allows it), so look per value."""
    if hasattr(value, "__cuda_array_interface__"):
        return _read_cuda_array_interface(value, name, key, raw, stream)
    if hasattr(value, "__dlpack__") and hasattr(value, "__dlpack_device__"):
        return _read_dlpack(value, name, key, raw, stream)
    return _read_unsupported(value, name, key, raw, stream)


def _read_unsupported(value, name, key, raw, stream=None):
    if hasattr(value, "__array_interface__") or hasattr(value, "__array__"):
        raise ValueError(f"argument '{name}' is a host array; tile kernels take device arrays "
                         "(a CUDA torch tensor, a CuPy array or any CUDA DLPack array)"
                         + INTERPRET_HINT)
    raise TypeError(f"argument '{name}': unsupported type {type(value).__name__}; expected a "
                    "device array, int or float")


_READERS: dict[type, object] = {str: _read_type_string, bool: _read_bool}


def _read_symmetric(value, name, key, raw, stream=None):
    """One rank's symmetric array (tile.distributed): its copy as an array, then
    the rank and every rank's base pointer (signature.py `params_of`)."""
    array = as_device_array(value.local, name, stream)
    key.append(("symmetric", value.world, all(p % 16 == 0 for p in value.pointers),
                array_key(array.dtype, array.pointer, array.shape, array.strides)))
    raw.append(array.pointer)
    raw += array.shape
    raw += array.strides
    raw.append(value.rank)
    raw += value.pointers
    return array.device, array.stream


def _reader_for(cls: type):
    """Picks (once per Python type) how to read arguments of that type."""
    if getattr(cls, "__tile_symmetric__", False):
        reader = _read_symmetric
    elif _is_numpy_scalar_type(cls):
        reader = _read_numpy_scalar
    elif hasattr(cls, "data_ptr") and hasattr(cls, "get_device") and hasattr(cls, "stride"):
        _torch_dtypes()
        reader = _TORCH
    elif hasattr(cls, "__cuda_array_interface__"):
        reader = _read_cuda_array_interface
    elif hasattr(cls, "__dlpack__") and hasattr(cls, "__dlpack_device__"):
        reader = _read_dlpack
    else:
        reader = _read_by_instance
    _READERS[cls] = reader
    return reader


def collect(names, values, key: list, raw: list, stream: int | None = None):
    """Reads one call's runtime arguments (see the module docstring); `stream`,
    the launch's explicit stream if any, is where DLPack producers are asked to
    make their data ready.
    Returns (device, stream hint): the arrays' device (None with no arrays) and
    TORCH_STREAM, an int handle, None (nothing known) or a list of conflicting hints."""
    device = hint = None
    for name, value in zip(names, values):
        cls = type(value)
        if cls is int or cls is float:
            _append_scalar(value, name, key, raw)
            continue
        reader = _READERS.get(cls) or _reader_for(cls)
        if reader is _TORCH:  # inline: the common case
            array_device = value.get_device()
            dtype = _torch_dtype_table.get(value.dtype)
            if array_device < 0:
                raise ValueError(f"argument '{name}' is on {value.device}, not on a CUDA "
                                 "device" + INTERPRET_HINT)
            if dtype is None:
                raise TypeError(f"argument '{name}': unsupported tensor dtype {value.dtype}")
            pointer, shape, strides = value.data_ptr(), value.shape, value.stride()
            key.append(array_key(dtype, pointer, shape, strides))
            raw.append(pointer)
            raw += shape
            raw += strides
            array_hint = TORCH_STREAM
        else:
            array_device, array_hint = reader(value, name, key, raw, stream)
            if array_device is _SCALAR:
                continue
        if device is None:
            device = array_device
        elif array_device != device:
            raise ValueError(f"arrays are on different devices (cuda:{device} and "
                             f"cuda:{array_device} for argument '{name}')")
        if hint is None:
            hint = array_hint
        elif array_hint is not None and array_hint != hint:
            hint = (hint if isinstance(hint, list) else [hint]) + [array_hint]
    return device, hint


def scalar_spec(value, name: str) -> ArgSpec:
    """The specialization of an int or float argument (what `collect` keys on);
    numpy scalars as the Python int or float they hold."""
    from ..signature import divisibility
    value = python_scalar(value)
    if isinstance(value, bool):
        _read_bool(value, name, None, None)
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise _int_out_of_range(value, name)
        return ArgSpec("int", tl.int32, divisibility(value))
    if isinstance(value, float):
        check_float(value, name)
        return ArgSpec("float", tl.float32)
    raise TypeError(f"argument '{name}': {type(value).__name__} is not a scalar")


def is_host_array(value) -> bool:
    """Whether `value` is an array in host memory (numpy, a CPU torch tensor, a
    CPU DLPack array): what `ir` and `compile` may also specialize on."""
    if _is_numpy_scalar_type(type(value)) or hasattr(value, "__cuda_array_interface__"):
        return False
    if hasattr(value, "__dlpack_device__"):
        try:
            return int(value.__dlpack_device__()[0]) == 1  # kDLCPU
        except Exception:
            return False
    return hasattr(value, "__array_interface__")


def as_device_array(value, name: str, stream: int | None = None,
                    on_host: bool = False) -> DeviceArray | None:
    """A `DeviceArray` for array-like `value`, None for an int or float.
    `on_host`: the kernel is interpreted, so arrays must be host arrays."""
    if type(value) in (int, float) or _is_numpy_scalar_type(type(value)):
        return None
    if on_host:
        return _as_host_array(value, name)
    key, raw = [], []
    device, hint = collect([name], [value], key, raw, stream)
    rank = (len(raw) - 1) // 2
    return DeviceArray(raw[0], tl.BY_MLIR[key[0][0]], tuple(raw[1:1 + rank]),
                       tuple(raw[1 + rank:]), device, hint)


# -- the exchange protocols ------------------------------------------------------------------
_torch_dtype_table: dict = {}
# torch dtype -> (MLIR name: array_key's first part, array_divisors), for the C path
_TORCH_DTYPE_KEYS: dict = {}


def _torch_dtypes() -> dict:
    """torch dtype objects -> tile dtypes (built once torch is imported, by the
    first tensor seen)."""
    if not _torch_dtype_table:
        import torch
        for attr, dtype in _TORCH_DTYPE_NAMES.items():
            if hasattr(torch, attr):
                _torch_dtype_table[getattr(torch, attr)] = dtype
                _TORCH_DTYPE_KEYS[getattr(torch, attr)] = (dtype.mlir, array_divisors(dtype))
    return _torch_dtype_table


def from_cuda_array_interface(value, name: str) -> DeviceArray:
    cai = value.__cuda_array_interface__
    typestr = cai["typestr"]
    dtype = _TYPESTR_DTYPES.get(typestr[1:])
    if dtype is None or typestr[0] == ">":
        raise TypeError(f"argument '{name}': unsupported array element type {typestr!r}")
    if cai.get("mask") is not None:
        raise ValueError(f"argument '{name}': masked arrays are not supported")
    shape = tuple(cai["shape"])
    strides = _element_strides(shape, cai.get("strides"), dtype.bits // 8, name)
    pointer = cai["data"][0]
    device = getattr(getattr(value, "device", None), "id", None)
    if device is None:
        from .driver import pointer_device
        try:
            device = pointer_device(pointer) if pointer else 0
        except Exception:
            # Not memory the driver knows (or no GPU here): the array can be
            # specialized on (`ir`, `compile`) but not launched; see _prepare.
            device = None
    # Version 3 exports the producer's stream: 1 and 0 are the legacy default stream.
    stream = cai.get("stream") if cai.get("version", 0) >= 3 else None
    return DeviceArray(pointer, dtype, shape, strides, device, 0 if stream == 1 else stream)


def _element_strides(shape, byte_strides, itemsize: int, name: str) -> tuple[int, ...]:
    if byte_strides is None:  # C-contiguous
        strides, step = [], 1
        for extent in reversed(shape):
            strides.append(step)
            step *= extent
        return tuple(reversed(strides))
    if any(s % itemsize for s in byte_strides):
        raise ValueError(f"argument '{name}': byte strides {tuple(byte_strides)} are not "
                         f"multiples of the {itemsize}-byte element size")
    return tuple(s // itemsize for s in byte_strides)


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device_type", ctypes.c_int32),
                ("device_id", ctypes.c_int32), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


# DLManagedTensorVersioned starts with version (2 x u32), manager_ctx, deleter, flags (u64).
_VERSIONED_HEADER = 8 + 8 + 8 + 8


def read_dlpack_capsule(capsule, name: str) -> tuple:
    """(device_type, device_id, pointer, dtype, shape, strides in elements) of a
    DLPack capsule, read in place: the capsule keeps ownership (it is not
    consumed), so the producer's array must stay alive while it is used."""
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object,
                                                                 ctypes.c_char_p]
    capsule_name = get_name(capsule)
    if capsule_name not in (b"dltensor", b"dltensor_versioned"):
        raise ValueError(f"argument '{name}': __dlpack__ returned a {capsule_name!r} capsule")
    address = get_pointer(capsule, capsule_name)
    if capsule_name == b"dltensor_versioned":
        major = ctypes.c_uint32.from_address(address).value
        if major != 1:
            raise ValueError(f"argument '{name}': DLPack version {major} is not supported")
        address += _VERSIONED_HEADER
    t = _DLTensor.from_address(address)
    dtype = _DLPACK_DTYPES.get((t.dtype.code, t.dtype.bits))
    if dtype is None or t.dtype.lanes != 1:
        raise TypeError(f"argument '{name}': unsupported DLPack element type (code "
                        f"{t.dtype.code}, {t.dtype.bits} bits, {t.dtype.lanes} lanes)")
    shape = tuple(t.shape[i] for i in range(t.ndim))
    if t.strides:
        strides = tuple(t.strides[i] for i in range(t.ndim))
    else:
        strides = _element_strides(shape, None, 1, name)
    pointer = (t.data or 0) + t.byte_offset
    return t.device_type, t.device_id, pointer, dtype, shape, strides


def from_dlpack(value, name: str, stream: int | None = None) -> DeviceArray:
    device_type, device_id = value.__dlpack_device__()
    if device_type not in (_DL_CUDA, _DL_CUDA_MANAGED):
        raise ValueError(f"argument '{name}' is a host array (DLPack device type "
                         f"{int(device_type)}); tile kernels take CUDA arrays" + INTERPRET_HINT)
    # The producer makes the data ready on `stream`; DLPack spells the legacy default 1.
    capsule = value.__dlpack__(stream=1 if not stream else stream)
    _, device_id, pointer, dtype, shape, strides = read_dlpack_capsule(capsule, name)
    return DeviceArray(pointer, dtype, shape, strides, device_id, None)


# -- host arrays, for the interpreter ------------------------------------------------------
def _as_host_array(value, name: str) -> DeviceArray:
    """A numpy array or CPU torch tensor, seen as a numpy array sharing its memory."""
    import numpy as np

    from ..interpreter.memory import element_strides
    from ..interpreter.numerics import MLIR_NAME, STORAGE
    if hasattr(value, "data_ptr") and hasattr(value, "device"):  # torch
        if value.device.type != "cpu":
            raise ValueError(f"argument '{name}' is on {value.device}; the interpreter runs "
                             "on CPU arrays (pass a CPU tensor or a numpy array)")
        import torch
        dtype = _torch_dtypes().get(value.dtype)
        if dtype is None:
            raise TypeError(f"argument '{name}': unsupported tensor dtype {value.dtype}")
        # numpy has no bf16/fp8: view the bits, then reinterpret them with ml_dtypes.
        bits = {"bf16": torch.int16, "f8E4M3FN": torch.uint8, "f8E5M2": torch.uint8}
        tensor = value.detach()
        tensor = tensor.view(bits[dtype.mlir]) if dtype.mlir in bits else tensor
        value = tensor.numpy().view(STORAGE[dtype.mlir])
    if not isinstance(value, np.ndarray):
        if hasattr(value, "__cuda_array_interface__"):
            raise ValueError(f"argument '{name}' is on the GPU; the interpreter runs on CPU "
                             "arrays (numpy or CPU torch tensors)")
        raise TypeError(f"argument '{name}': unsupported type {type(value).__name__}; expected "
                        "a host array (numpy, CPU torch), int or float")
    dtype = tl.BY_MLIR.get(MLIR_NAME.get(value.dtype, ""))
    if dtype is None or dtype == tl.int1:
        raise TypeError(f"argument '{name}': unsupported array dtype {value.dtype}")
    return DeviceArray(value.ctypes.data, dtype, value.shape, element_strides(value, name),
                       -1, None, value)
