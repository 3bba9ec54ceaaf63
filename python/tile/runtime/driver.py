"""The CUDA driver API through cuda-python: contexts, modules, launches.

Everything here needs only `cuda.bindings` (no MLIR), so the AOT loader can
use it on a machine with nothing else installed.
"""
from __future__ import annotations

from functools import lru_cache

from ..errors import CaptureError

DEFAULT_SHARED_BYTES = 48 * 1024  # above this a kernel must opt in, per function


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
def primary_context(device: int):
    """The device's primary context: the one torch and CuPy use."""
    cu = _cu()
    check(cu.cuInit(0))
    count = check(cu.cuDeviceGetCount())
    if not 0 <= device < count:
        raise ValueError(f"CUDA device {device} does not exist ({count} present)")
    return check(cu.cuDevicePrimaryCtxRetain(check(cu.cuDeviceGet(device))))


def set_device(device: int) -> None:
    """Makes `device`'s primary context current on this thread."""
    check(_cu().cuCtxSetCurrent(primary_context(device)))


@lru_cache(maxsize=None)
def device_attribute(device: int, name: str) -> int:
    cu = _cu()
    attribute = getattr(cu.CUdevice_attribute, f"CU_DEVICE_ATTRIBUTE_{name}")
    check(cu.cuInit(0))
    return check(cu.cuDeviceGetAttribute(attribute, check(cu.cuDeviceGet(device))))


def max_shared_bytes(device: int) -> int:
    """Shared memory one block may use on `device` after opting in (227 KiB on H100)."""
    return device_attribute(device, "MAX_SHARED_MEMORY_PER_BLOCK_OPTIN")


def pointer_device(pointer: int) -> int:
    """The ordinal of the device that owns a device pointer."""
    cu = _cu()
    check(cu.cuInit(0))
    return check(cu.cuPointerGetAttribute(
        cu.CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, pointer))


def check_shared_memory(kernel: str, static_bytes: int, dynamic_bytes: int, limit: int) -> None:
    if static_bytes + dynamic_bytes > limit:
        raise ValueError(f"kernel {kernel} needs {static_bytes + dynamic_bytes} bytes of shared "
                         f"memory per block ({static_bytes} static + {dynamic_bytes} dynamic); "
                         f"the device allows {limit}")


def stream_handle(stream) -> int:
    """An int CUstream handle from an int, a torch or CuPy stream, an object with
    `__cuda_stream__` (the CUDA stream protocol) or a cuda-python CUstream."""
    if stream is None:
        return 0
    if isinstance(stream, int):
        return stream
    if hasattr(stream, "__cuda_stream__"):
        return int(stream.__cuda_stream__()[1])
    for attribute in ("cuda_stream", "ptr", "handle"):
        handle = getattr(stream, attribute, None)
        if isinstance(handle, int):
            return handle
    try:
        if not isinstance(stream, (str, bytes, float)):
            return int(stream)  # cuda.bindings CUstream
    except (TypeError, ValueError):
        pass
    raise TypeError(f"stream= takes an int handle, a torch or CuPy stream or a CUstream; "
                    f"got {type(stream).__name__}")


class LoadedKernel:
    """A kernel image loaded into one device's primary context, ready to launch."""

    def __init__(self, image: bytes, name: str, shared_bytes: int, device: int,
                 stream: int | None = None):
        """`stream`: the stream of the launch that loads it; loading while it
        captures a CUDA graph is a CaptureError (the capture cannot hold it)."""
        if stream is not None and stream_capturing(stream):
            raise CaptureError(
                f"{name}: first launch with these argument types and constexprs inside a "
                "CUDA graph capture; loading the kernel cannot be captured. Launch it once "
                "with these arguments before capturing (a warm-up)")
        cu = _cu()
        self.name, self.device, self.shared_bytes = name, device, shared_bytes
        self.context = primary_context(device)
        self.context_handle = int(self.context)
        previous = check(cu.cuCtxGetCurrent())
        check(cu.cuCtxSetCurrent(self.context))
        try:
            self.module = check(cu.cuModuleLoadData(image))
            self.function = check(cu.cuModuleGetFunction(self.module, name.encode()))
            self.function_handle = int(self.function)  # what the C launch path calls
            static = check(cu.cuFuncGetAttribute(
                cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, self.function))
            check_shared_memory(name, static, shared_bytes, max_shared_bytes(device))
            if static + shared_bytes > DEFAULT_SHARED_BYTES:  # set once per function
                check(cu.cuFuncSetAttribute(
                    self.function,
                    cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    shared_bytes))
        finally:
            if int(previous) and int(previous) != self.context_handle:
                check(cu.cuCtxSetCurrent(previous))
        self._launch = cu.cuLaunchKernel
        self._get_current = cu.cuCtxGetCurrent
        self._streams: dict[int, object] = {}
        self._cu_stream = cu.CUstream
        self._success = cu.CUresult.CUDA_SUCCESS

    def launch(self, grid, block, stream: int, kernel_params: int) -> None:
        """`kernel_params`: address of the array of pointers to each parameter."""
        cu_stream = self._streams.get(stream)
        if cu_stream is None:
            if len(self._streams) > 64:
                self._streams.clear()
            cu_stream = self._streams[stream] = self._cu_stream(stream)
        err, current = self._get_current()
        if int(current) != self.context_handle:
            self._launch_in_context(current, grid, block, cu_stream, kernel_params)
            return
        err, = self._launch(self.function, grid[0], grid[1], grid[2], block[0], block[1],
                            block[2], self.shared_bytes, cu_stream, kernel_params, 0)
        if err != self._success:
            check((err,))

    def _launch_in_context(self, current, grid, block, cu_stream, kernel_params) -> None:
        """Launches from another (or no) current context: the primary context of
        the kernel's device is made current, then the caller's is restored."""
        cu = _cu()
        check(cu.cuCtxSetCurrent(self.context))
        try:
            check(self._launch(self.function, *grid, *block, self.shared_bytes, cu_stream,
                               kernel_params, 0))
        finally:
            if int(current):
                check(cu.cuCtxSetCurrent(current))


def stream_capturing(stream: int) -> bool:
    """Whether work launched on `stream` would be captured into a CUDA graph
    (also true for the legacy default stream while another stream captures
    in global mode: the driver then refuses to say, with an "implicit" error)."""
    cu = _cu()
    err, status = cu.cuStreamIsCapturing(cu.CUstream(stream))
    if err == cu.CUresult.CUDA_ERROR_STREAM_CAPTURE_IMPLICIT:
        return True
    check((err,))
    return status == cu.CUstreamCaptureStatus.CU_STREAM_CAPTURE_STATUS_ACTIVE
