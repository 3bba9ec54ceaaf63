"""The launch path of one loaded specialization, precomputed so that a cached
launch does little work. With the C extension (`native`), a `Launcher` holds a
plan: the parameter layout, packed and launched in C (`_launch.launch`), which
`kernel[grid]`'s C fast path also uses. Without it: one gather of the parameter
values out of the raw argument values, one `struct.pack_into` into a buffer that
the kernelParams array already points into, the TMA descriptors copied in (from
their cache), one cuLaunchKernel through cuda.bindings. Both follow the slot codes
and the descriptor cache's keys of runtime/abi.py.
"""
from __future__ import annotations

import ctypes
import operator
import struct
import threading

from ..signature import ArgSpec, Param, params_of
from . import abi, native
from .abi import GRID_LIMITS, PARAM_CODES, param_size, tma_code
from .arguments import TORCH_STREAM, raw_index, raw_length
from .driver import LoadedKernel, stream_handle
from .tensormap import DESCRIPTORS, TENSOR_MAP_BYTES, TensorMapSpec


def grid3(grid, kernel: str):
    """A grid as 3 ints, or None for an empty grid (which launches nothing)."""
    if type(grid) is tuple and len(grid) == 1 and type(grid[0]) is int \
            and 0 < grid[0] <= GRID_LIMITS[0]:
        return grid[0], 1, 1  # the common case, first
    if type(grid) is not tuple:
        grid = (grid,) if isinstance(grid, int) else tuple(grid) if isinstance(grid, list) \
            else _bad_grid(grid, kernel)
    n = len(grid)
    if n == 1:
        grid = (grid[0], 1, 1)
    elif n == 2:
        grid = (grid[0], grid[1], 1)
    elif n != 3:
        _bad_grid(grid, kernel)
    x, y, z = grid
    if type(x) is not int or type(y) is not int or type(z) is not int:
        try:
            x, y, z = map(operator.index, grid)  # numpy integers
        except TypeError:
            _bad_grid(grid, kernel)
    if 0 < x <= GRID_LIMITS[0] and 0 < y <= GRID_LIMITS[1] and 0 < z <= GRID_LIMITS[2]:
        return x, y, z
    if x >= 0 and y >= 0 and z >= 0 and (x == 0 or y == 0 or z == 0):
        return None  # as in Triton: an empty grid is not an error
    raise ValueError(f"{kernel}: grid {(x, y, z)} is outside the CUDA limits (1..2^31-1, "
                     "1..65535, 1..65535)")


def check_clusters(grid, num_ctas: int, kernel: str) -> None:
    """Programs run in clusters of `num_ctas` along axis 0: the grid (3 ints) must
    hold whole clusters (the launch path's and the interpreter's rule)."""
    if grid[0] % num_ctas:
        raise ValueError(f"{kernel}: grid {tuple(grid)} with num_ctas={num_ctas}: programs run "
                         f"in clusters of {num_ctas} along axis 0, so the grid's first size "
                         f"must be a multiple of {num_ctas}")


def _bad_grid(grid, kernel: str):
    raise ValueError(f"{kernel}: a grid is 1 to 3 ints (or a function of the constexprs "
                     f"returning them), got {grid!r}")


def _torch_raw_stream(device: int) -> int:
    """The current torch stream of `device`, through the accessor torch's own
    launchers use (looked up on first use: importing tile must not import torch)."""
    global _torch_raw_stream
    try:
        from torch._C import _cuda_getCurrentRawStream as accessor
    except ImportError:
        import torch

        def accessor(device):
            return torch.cuda.current_stream(device).cuda_stream
    _torch_raw_stream = accessor
    return accessor(device)


def resolve_stream(explicit, hint, device: int) -> int:
    """The launch stream: `stream=` if given, else the arrays' (the current torch
    stream for torch tensors, the exported one for CuPy), else the default."""
    if explicit is not None:
        return stream_handle(explicit)
    if hint is None:
        return 0
    if hint is TORCH_STREAM:
        return _torch_raw_stream(device)
    if isinstance(hint, int):
        return hint
    streams = {_torch_raw_stream(device) if h is TORCH_STREAM else h for h in hint}
    if len(streams) == 1:
        return streams.pop()
    raise ValueError(f"the arrays come with different current streams {sorted(streams)}; "
                     "pass stream= to choose the launch stream")


class ParamPacker:
    """The kernel parameters of one specialization in one buffer, with the
    kernelParams array pointing at each, and how to fill it from raw values.
    `abi` is the kernel's parameter list (size and align of each, read from the
    PTX); `args` the runtime arguments in call order with their specializations."""

    def __init__(self, kernel: str, args: list[tuple[str, ArgSpec]], abi: list[dict],
                 tma: list[TensorMapSpec]):
        params, bases, base = [], {}, 0
        for name, spec in args:  # the order `arguments.collect` reads them in
            bases[name] = (base, spec)
            params += [(p, base + raw_index(p, spec)) for p in params_of(name, spec)]
            base += raw_length(spec)
        by_slot = {t.param: t for t in tma}
        if len(abi) != len(params) + len(tma) or any(i >= len(abi) for i in by_slot):
            raise RuntimeError(f"{kernel}: the kernel has {len(abi)} parameters, the signature "
                               f"makes {len(params)} plus {len(tma)} TMA descriptors")
        fmt, offsets, gather, self.params, self._tma = "<", [], [], [], []
        self.slots = []  # (struct code, offset, raw index or TMA entry) per parameter: the C plan's
        offset, pending = 0, iter(params)
        for index, slot in enumerate(abi):
            aligned = -(-offset // slot["align"]) * slot["align"]
            if aligned > offset:  # struct's '<' packs without padding: add it
                fmt += f"{aligned - offset}x"
            offset = aligned
            offsets.append(offset)
            if index in by_slot:
                t = by_slot[index]
                if slot["size"] != TENSOR_MAP_BYTES or t.arg not in bases:
                    raise RuntimeError(f"{kernel}: TMA parameter {index} for '{t.arg}' is "
                                       f"{slot['size']} bytes or names no array argument")
                arg_base, spec = bases[t.arg]
                if not spec.is_array or spec.dtype.mlir != t.dtype:
                    raise RuntimeError(f"{kernel}: argument '{t.arg}' is {spec.dtype}, its TMA "
                                       f"descriptor expects {t.dtype}")
                self._tma.append((t, offset, arg_base, spec.rank))
                self.slots.append((tma_code(TENSOR_MAP_BYTES), offset, len(self._tma) - 1))
                fmt += f"{TENSOR_MAP_BYTES}x"
            else:
                param, at = next(pending)
                code = PARAM_CODES[param.type]
                size = param_size(code)
                self.slots.append((code, offset, at))
                if slot["size"] != size:
                    raise RuntimeError(f"{kernel}: parameter {index} ({param.name}) is "
                                       f"{slot['size']} bytes in the kernel, {size} here")
                fmt += code
                gather.append(at)
                self.params.append(param)
            offset += slot["size"]
        self.size, self.offsets = offset, offsets
        self._struct = struct.Struct(fmt)
        # Over-allocated so that the buffer can start 64-byte aligned, as a CUtensorMap wants.
        self._buffer = ctypes.create_string_buffer(offset + _BUFFER_ALIGN)
        self._base = -ctypes.addressof(self._buffer) % _BUFFER_ALIGN
        self._view = memoryview(self._buffer).cast("B")
        start = ctypes.addressof(self._buffer) + self._base
        self._pointers = (ctypes.c_void_p * max(len(abi), 1))(*[start + o for o in offsets])
        self.kernel_params = ctypes.addressof(self._pointers)
        if not gather:
            self._gather = lambda raw: ()
        elif len(gather) == 1:
            only = gather[0]
            self._gather = lambda raw: (raw[only],)
        else:
            self._gather = operator.itemgetter(*gather)

    def pack(self, raw: list) -> None:
        values = self._gather(raw)
        try:
            self._struct.pack_into(self._buffer, self._base, *values)
        except (struct.error, OverflowError):
            raise self._range_error(values) from None
        view, base = self._view, self._base
        for (_, offset, _, _), blob in zip(self._tma, self.descriptors(raw)):
            view[base + offset:base + offset + TENSOR_MAP_BYTES] = blob

    def descriptors(self, raw: list) -> list[bytes]:
        """The TMA descriptors of a call, in the order of `tma_layout` (from their cache,
        by the array's raw values)."""
        return [DESCRIPTORS.descriptor(spec, tuple(raw[base:base + 1 + 2 * rank]))
                for spec, _, base, rank in self._tma]

    def tma_layout(self) -> list[tuple]:
        """(raw index of the array's pointer, its number of raw values, the cache's
        table of its encoding) per descriptor, for the C plan."""
        return [(base, 1 + 2 * rank, DESCRIPTORS.table(spec)) for spec, _, base, rank in self._tma]

    def range_error(self, raw: list) -> Exception:
        return self._range_error(self._gather(raw))

    def _range_error(self, values) -> Exception:
        """Names the parameter whose value does not fit (sizes and strides are i32)."""
        for param, value in zip(self.params, values):
            code = PARAM_CODES[param.type]
            try:
                struct.pack("<" + code, value)
            except (struct.error, OverflowError):
                what = "int32" if code == "i" else "a 64-bit pointer" if code == "Q" else "f32"
                return ValueError(f"{param.name} = {value} does not fit in {what}")
        return ValueError(f"parameters {values} do not fit the kernel's parameter types")

    def packed(self) -> bytes:
        """The packed parameter bytes, as the driver will read them."""
        return bytes(self._view[self._base:self._base + self.size])


_BUFFER_ALIGN = 64


def make_plan(loaded, packer: ParamPacker, block):
    """The C launch plan of a loaded kernel, or None without the extension (or for a
    stand-in kernel with no CUfunction handle, as the CPU tests use)."""
    function = getattr(loaded, "function_handle", None)
    if native.module is None or function is None:
        return None
    return native.module.plan(function, loaded.context_handle, tuple(block),
                              loaded.shared_bytes, packer.size, packer.slots,
                              packer.tma_layout())


class Launcher:
    """One specialization loaded on one device: pack, then cuLaunchKernel (in C when the
    extension is there: `plan`)."""

    def __init__(self, loaded: LoadedKernel, packer: ParamPacker, block, num_ctas: int = 1):
        self.loaded, self.packer, self.block = loaded, packer, tuple(block)
        self.num_ctas = num_ctas  # programs a cluster (launches check the grid)
        self._lock = threading.Lock()  # the parameter buffer is shared by calls
        self.plan = make_plan(loaded, packer, self.block)

    def __call__(self, grid, stream: int, raw: list) -> None:
        if self.plan is not None:
            try:  # packs on the C stack: no lock
                native.module.launch(self.plan, grid, stream, raw, self.packer.descriptors(raw))
            except (OverflowError, TypeError):
                raise self.packer.range_error(raw) from None
            return
        with self._lock:
            self.packer.pack(raw)
            self.loaded.launch(grid, self.block, stream, self.packer.kernel_params)


if native.module is not None:  # the C fast path follows the ABI's rules (runtime/abi.py)
    native.module.configure(abi.native_table())
