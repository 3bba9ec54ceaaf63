"""What a kernel argument is: a device array (torch, CuPy, anything with
`__cuda_array_interface__`), a Python int or a Python float."""
from __future__ import annotations

from dataclasses import dataclass

from .. import language as tl

_TORCH_DTYPES = {"torch.float32": tl.float32, "torch.float16": tl.float16,
                 "torch.bfloat16": tl.bfloat16, "torch.float8_e4m3fn": tl.float8e4m3,
                 "torch.float8_e5m2": tl.float8e5m2, "torch.int32": tl.int32,
                 "torch.int16": tl.int16, "torch.int8": tl.int8}
_TYPESTR_DTYPES = {"f4": tl.float32, "f2": tl.float16, "i4": tl.int32, "i2": tl.int16,
                   "i1": tl.int8}

INT32_RANGE = (-2**31, 2**31 - 1)


@dataclass(frozen=True)
class DeviceArray:
    pointer: int
    dtype: tl.dtype
    device: int  # CUDA device ordinal
    stream: int | None  # the producing framework's current stream, if known


def as_device_array(value, name: str) -> DeviceArray | None:
    """A `DeviceArray` for array-like `value`, None if it is not an array."""
    if hasattr(value, "data_ptr") and hasattr(value, "dtype") and hasattr(value, "device"):
        dtype = _TORCH_DTYPES.get(str(value.dtype))
        if dtype is None:
            raise TypeError(f"argument '{name}': unsupported tensor dtype {value.dtype}")
        if value.device.type != "cuda":
            raise ValueError(f"argument '{name}' is on {value.device}, not on a CUDA device")
        import torch
        stream = torch.cuda.current_stream(value.device).cuda_stream
        return DeviceArray(value.data_ptr(), dtype, value.device.index or 0, stream)
    cai = getattr(value, "__cuda_array_interface__", None)
    if cai is not None:
        dtype = _TYPESTR_DTYPES.get(cai["typestr"][1:])
        if dtype is None:
            raise TypeError(f"argument '{name}': unsupported array typestr {cai['typestr']}")
        device = getattr(getattr(value, "device", None), "id", 0)
        return DeviceArray(cai["data"][0], dtype, device, cai.get("stream"))
    if hasattr(value, "__array__") and not isinstance(value, (int, float)):
        raise ValueError(f"argument '{name}' is a host array; tile kernels take device "
                         "arrays (a CUDA torch tensor or CuPy array)")
    return None


def divisibility(value: int, cap: int = 16) -> int:
    """16 if `value` is a multiple of 16 (Triton's specialization), else 1."""
    return cap if value % cap == 0 else 1


def parse_type_string(text: str, name: str):
    """An `ArgSpec` from a signature string, for compiling with no arrays at hand:
    `"*f32:16"` (pointer to f32, 16-byte aligned), `"i32"`, `"i32:16"` (a
    multiple of 16), `"f32"`."""
    from ..frontend import ArgSpec
    body, _, div = text.partition(":")
    try:
        divisibility = int(div) if div else 1
    except ValueError:
        divisibility = 0
    if divisibility not in (1, 16):
        raise ValueError(f"argument '{name}': divisibility in {text!r} must be 16 or absent")
    pointer = body.startswith("*")
    dtype = tl.BY_MLIR.get(body.lstrip("*"))
    if dtype is None:
        raise ValueError(f"argument '{name}': unknown type {text!r}; use e.g. '*f32:16', "
                         "'i32', 'f32'")
    if pointer:
        return ArgSpec("ptr", dtype, divisibility)
    if dtype == tl.int32:
        return ArgSpec("int", dtype, divisibility)
    if dtype == tl.float32 and divisibility == 1:
        return ArgSpec("float", dtype)
    raise ValueError(f"argument '{name}': scalar parameters are i32 or f32, got {text!r}")
