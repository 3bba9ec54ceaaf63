"""What a kernel argument is: a device array (torch, CuPy, anything with
`__cuda_array_interface__`), a Python int or a Python float. When a kernel is
interpreted on the CPU, arrays are host arrays instead (numpy, CPU torch)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import language as tl

_TORCH_DTYPES = {"torch.float32": tl.float32, "torch.float16": tl.float16,
                 "torch.bfloat16": tl.bfloat16, "torch.float8_e4m3fn": tl.float8e4m3,
                 "torch.float8_e5m2": tl.float8e5m2, "torch.int32": tl.int32,
                 "torch.int16": tl.int16, "torch.int8": tl.int8}
_TYPESTR_DTYPES = {"f4": tl.float32, "f2": tl.float16, "i4": tl.int32, "i2": tl.int16,
                   "i1": tl.int8}

@dataclass(frozen=True)
class DeviceArray:
    pointer: int
    dtype: tl.dtype
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # in elements
    device: int  # CUDA device ordinal; -1 for a host array
    stream: int | None  # the producing framework's current stream, if known
    host: object = None  # a host array: the numpy array over its memory


def as_device_array(value, name: str, on_host: bool = False) -> DeviceArray | None:
    """A `DeviceArray` for array-like `value`, None if it is not an array.
    `on_host`: the kernel is interpreted, so arrays must be host arrays."""
    if on_host:
        return _as_host_array(value, name)
    if hasattr(value, "data_ptr") and hasattr(value, "dtype") and hasattr(value, "device"):
        dtype = _TORCH_DTYPES.get(str(value.dtype))
        if dtype is None:
            raise TypeError(f"argument '{name}': unsupported tensor dtype {value.dtype}")
        if value.device.type != "cuda":
            raise ValueError(f"argument '{name}' is on {value.device}, not on a CUDA device")
        import torch
        stream = torch.cuda.current_stream(value.device).cuda_stream
        return DeviceArray(value.data_ptr(), dtype, tuple(value.shape), tuple(value.stride()),
                           value.device.index or 0, stream)
    cai = getattr(value, "__cuda_array_interface__", None)
    if cai is not None:
        dtype = _TYPESTR_DTYPES.get(cai["typestr"][1:])
        if dtype is None:
            raise TypeError(f"argument '{name}': unsupported array typestr {cai['typestr']}")
        device = getattr(getattr(value, "device", None), "id", 0)
        shape = tuple(cai["shape"])
        itemsize = dtype.bits // 8
        if cai.get("strides") is None:  # C-contiguous
            strides, step = [], 1
            for extent in reversed(shape):
                strides.insert(0, step)
                step *= extent
        else:
            strides = [s // itemsize for s in cai["strides"]]
        return DeviceArray(cai["data"][0], dtype, shape, tuple(strides), device,
                           cai.get("stream"))
    if hasattr(value, "__array__") and not isinstance(value, (int, float)):
        raise ValueError(f"argument '{name}' is a host array; tile kernels take device "
                         "arrays (a CUDA torch tensor or CuPy array), or run on the CPU "
                         "interpreter: kernel[grid].interpret(...) or TILE_INTERPRET=1")
    return None


def _as_host_array(value, name: str) -> DeviceArray | None:
    """A numpy array or CPU torch tensor, seen as a numpy array sharing its memory."""
    import numpy as np

    from ..interpreter.memory import element_strides
    from ..interpreter.numerics import MLIR_NAME, STORAGE
    if hasattr(value, "data_ptr") and hasattr(value, "device"):  # torch
        if value.device.type != "cpu":
            raise ValueError(f"argument '{name}' is on {value.device}; the interpreter runs "
                             "on CPU arrays (pass a CPU tensor or a numpy array)")
        import torch
        dtype = _TORCH_DTYPES.get(str(value.dtype))
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
        return None
    dtype = tl.BY_MLIR.get(MLIR_NAME.get(value.dtype, ""))
    if dtype is None or dtype == tl.int64 or dtype == tl.int1:
        raise TypeError(f"argument '{name}': unsupported array dtype {value.dtype}")
    return DeviceArray(value.ctypes.data, dtype, value.shape, element_strides(value, name),
                       -1, None, value)
