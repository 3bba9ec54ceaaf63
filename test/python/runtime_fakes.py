"""Stand-ins for the GPU side, so the runtime's launch path runs on the CPU:
arrays that speak `__cuda_array_interface__`, and a loaded kernel that reads
its parameters back through the kernelParams array exactly as the driver
would (pointer i -> bytes of parameter i)."""
import ctypes
import struct
from types import SimpleNamespace

_ITEMSIZE = {"f4": 4, "f2": 2, "i4": 4, "i2": 2, "i1": 1, "i8": 8}


class FakeCudaArray:
    """A device array as CuPy or Numba describe it (no memory behind it)."""

    def __init__(self, shape, typestr="<f4", pointer=0x7F0000000000, strides=None, device=0,
                 stream=None, version=3):
        itemsize = _ITEMSIZE[typestr[1:]]
        self._cai = {"shape": tuple(shape), "typestr": typestr, "data": (pointer, False),
                     "strides": None if strides is None else tuple(s * itemsize for s in strides),
                     "version": version}
        if stream is not None:
            self._cai["stream"] = stream
        self.device = SimpleNamespace(id=device)

    @property
    def __cuda_array_interface__(self):
        return self._cai


class RecordingKernel:
    """Replaces driver.LoadedKernel: records each launch with the parameter
    bytes read through the kernelParams pointers."""

    launches: list = []

    def __init__(self, image, name, shared_bytes, device):
        self.name, self.shared_bytes, self.device = name, shared_bytes, device
        self.image = image

    def launch(self, grid, block, stream, kernel_params):
        self.launches.append(SimpleNamespace(kernel=self.name, grid=grid, block=block,
                                             stream=stream, kernel_params=kernel_params))


def read_params(kernel_params: int, abi: list[dict]) -> list[bytes]:
    """The bytes of each parameter, through the kernelParams pointer array."""
    pointers = (ctypes.c_void_p * len(abi)).from_address(kernel_params)
    return [ctypes.string_at(pointers[i], slot["size"]) for i, slot in enumerate(abi)]


def decode(blob: bytes, kind: str):
    return struct.unpack({"ptr": "<Q", "i32": "<i", "f32": "<f"}[kind], blob)[0]
