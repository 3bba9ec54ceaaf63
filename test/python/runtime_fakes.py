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

    def __init__(self, image, name, shared_bytes, device, stream=None):
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


# -- torch and the CUDA driver, for the C launch path ---------------------------------------
class FakeDtype:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


def make_fake_torch():
    """A module standing in for torch: its dtypes and the raw current-stream accessor
    (stream 1000 + device)."""
    import types
    torch = types.ModuleType("torch")
    for name in ("float32", "float16", "bfloat16", "int32", "int16", "int8", "int64"):
        setattr(torch, name, FakeDtype(name))
    torch._C = types.ModuleType("torch._C")
    torch._C._cuda_getCurrentRawStream = lambda device: 1000 + device
    return torch


class FakeTensor:
    """A CUDA torch tensor as the runtime reads one (no memory behind it)."""

    def __init__(self, torch, shape, pointer=0x7F0000000000, dtype="float32", strides=None,
                 device=0):
        self.shape, self._pointer, self._device = tuple(shape), pointer, device
        self.dtype = getattr(torch, dtype)
        if strides is None:
            strides, step = [], 1
            for extent in reversed(self.shape):
                strides.insert(0, step)
                step *= extent
        self._strides = tuple(strides)

    def data_ptr(self):
        return self._pointer

    def get_device(self):
        return self._device

    def stride(self):
        return self._strides

    @property
    def device(self):
        return f"cuda:{self._device}" if self._device >= 0 else "cpu"


def build_fake_driver(directory) -> str:
    """Compiles data/fake_cuda.c into a shared library; returns its path (or raises)."""
    import os
    import subprocess
    source = os.path.join(os.path.dirname(__file__), "data", "fake_cuda.c")
    path = os.path.join(str(directory), "libfakecuda.so")
    subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O1", "-o", path, source],
                   check=True, capture_output=True)
    return path


class FakeDriver:
    """The fake library's recorded state, through ctypes."""

    CONTEXT = 0x5678

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib_path = path

    def _var(self, ctype, name):
        return ctype.in_dll(self.lib, name)

    def reset(self, offsets=(), sizes=()):
        self._var(ctypes.c_int, "fake_result").value = 0
        self._var(ctypes.c_size_t, "fake_current").value = self.CONTEXT
        self._var(ctypes.c_int, "fake_launches").value = 0
        self._var(ctypes.c_int, "fake_context_sets").value = 0
        self._var(ctypes.c_int, "fake_table_launches").value = 0
        self._var(ctypes.c_int, "fake_proc_address_off").value = 0
        self.expect(offsets, sizes)

    def expect(self, offsets, sizes):
        """The parameter layout the fake copies each launch's parameters by."""
        self._var(ctypes.c_uint, "fake_nparams").value = len(offsets)
        (ctypes.c_uint * 64).in_dll(self.lib, "fake_offsets")[:len(offsets)] = list(offsets)
        (ctypes.c_uint * 64).in_dll(self.lib, "fake_sizes")[:len(sizes)] = list(sizes)

    def set(self, name, value):
        ctype = ctypes.c_size_t if name in ("fake_current",) else ctypes.c_int
        self._var(ctype, name).value = value

    def get(self, name):
        if name in ("fake_grid", "fake_block"):
            return tuple((ctypes.c_uint * 3).in_dll(self.lib, name))
        if name == "fake_params":
            return bytes((ctypes.c_ubyte * 8192).in_dll(self.lib, name))
        ctype = ctypes.c_size_t if name in ("fake_current", "fake_function", "fake_stream",
                                            "fake_context_at_launch") else ctypes.c_int
        if name == "fake_shared":
            ctype = ctypes.c_uint
        return self._var(ctype, name).value


class FakeLoadedKernel:
    """Replaces driver.LoadedKernel for the C path: a distinct fake CUfunction per load,
    in the fake driver's context."""

    loads = 0

    def __init__(self, image, name, shared_bytes, device, stream=None):
        FakeLoadedKernel.loads += 1
        self.name, self.shared_bytes, self.device, self.image = name, shared_bytes, device, image
        self.function_handle = 0x1000 + FakeLoadedKernel.loads
        self.context_handle = FakeDriver.CONTEXT

    def launch(self, grid, block, stream, kernel_params):
        raise AssertionError("with a plan, launches go through the C extension")
