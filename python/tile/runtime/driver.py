"""The CUDA driver API through cuda-python: context, modules, launches."""
from __future__ import annotations

import ctypes
from functools import lru_cache


class CudaError(RuntimeError):
    pass


def _cu():
    from cuda.bindings import driver
    return driver


def check(result):
    """Unpacks a cuda-python return tuple, raising on a CUDA error."""
    cu = _cu()
    err, *rest = result if isinstance(result, tuple) else (result,)
    if err != cu.CUresult.CUDA_SUCCESS:
        _, name = cu.cuGetErrorName(err)
        _, text = cu.cuGetErrorString(err)
        raise CudaError(f"{name.decode() if name else err}: {text.decode() if text else ''}")
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else tuple(rest)


@lru_cache(maxsize=None)
def gpu_available() -> bool:
    """True when the CUDA driver loads and sees at least one device."""
    try:
        cu = _cu()
        check(cu.cuInit(0))
        return check(cu.cuDeviceGetCount()) > 0
    except Exception:
        return False


@lru_cache(maxsize=None)
def _primary_context(device: int):
    cu = _cu()
    check(cu.cuInit(0))
    dev = check(cu.cuDeviceGet(device))
    return check(cu.cuDevicePrimaryCtxRetain(dev))


def set_device(device: int) -> None:
    """Makes `device`'s primary context (the one torch and CuPy use) current."""
    check(_cu().cuCtxSetCurrent(_primary_context(device)))


class LoadedKernel:
    """A kernel loaded into one device's context, ready to launch."""

    def __init__(self, image: bytes, name: str, shared_bytes: int):
        cu = _cu()
        self.module = check(cu.cuModuleLoadData(image))
        self.function = check(cu.cuModuleGetFunction(self.module, name.encode()))
        if shared_bytes > 48 * 1024:
            check(cu.cuFuncSetAttribute(
                self.function,
                cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                shared_bytes))

    def launch(self, grid, block, shared_bytes: int, stream: int, params: list) -> None:
        """`params`: ctypes objects, one per kernel parameter, in order."""
        cu = _cu()
        pointers = (ctypes.c_void_p * len(params))(
            *[ctypes.cast(ctypes.pointer(p), ctypes.c_void_p) for p in params])
        check(cu.cuLaunchKernel(self.function, *grid, *block, shared_bytes,
                                cu.CUstream(stream), ctypes.addressof(pointers), 0))
