"""`@tile.jit`: specialization, compilation on first use, launch."""
from __future__ import annotations

import ctypes
import inspect
import textwrap
import typing
from dataclasses import dataclass

from .. import interpreter
from .. import language as tl
from ..compiler import CompiledKernel, CompileOptions, compile_ir, verify_ir
from ..frontend import KernelSource, generate_ir
from ..signature import (INT32_RANGE, ArgSpec, array_spec, divisibility, params_of,
                         parse_type_string)
from . import driver
from .arguments import as_device_array

LAUNCH_OPTIONS = ("num_warps", "stream")


def _is_constexpr(annotation, globals_) -> bool:
    if annotation is tl.constexpr:
        return True
    if isinstance(annotation, str):
        try:
            return eval(annotation, globals_) is tl.constexpr
        except Exception:
            return annotation.split(".")[-1] == "constexpr"
    return False


@dataclass
class _Bound:
    """A call's arguments sorted into specialization and launch values."""

    specs: dict[str, ArgSpec]
    runtime: list  # (Param, value) per kernel parameter, in order; value None for type strings
    constexprs: dict
    options: CompileOptions
    stream: int | None
    device: int
    host_arrays: dict  # argument name -> numpy array, when interpreting


class JITFunction:
    def __init__(self, fn):
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        lines, first_line = inspect.getsourcelines(fn)
        text = "".join(lines)
        dedented = textwrap.dedent(text)
        indent = len(lines[0]) - len(lines[0].lstrip())
        self.source = KernelSource(fn.__name__, inspect.getsourcefile(fn) or "<unknown>",
                                   first_line, dedented, indent, fn.__globals__)
        self.signature = inspect.signature(fn)
        self.params = list(self.signature.parameters)
        self.constexpr_params = {
            name for name, p in self.signature.parameters.items()
            if _is_constexpr(p.annotation, fn.__globals__)}
        self._cache: dict[tuple, CompiledKernel] = {}
        self._ir_cache: dict[tuple, str] = {}  # specialization -> frontend IR text
        self._loaded: dict[tuple, driver.LoadedKernel] = {}

    def __repr__(self) -> str:
        return f"<tile.jit {self.__name__}>"

    def __call__(self, *args, **kwargs):
        raise TypeError(f"launch a tile kernel with a grid: {self.__name__}[grid](...)")

    def __getitem__(self, grid) -> "_Launcher":
        return _Launcher(self, grid)

    # -- specialization --------------------------------------------------------
    def _bind(self, args, kwargs, on_host: bool = False) -> _Bound:
        options = {k: kwargs.pop(k) for k in LAUNCH_OPTIONS if k in kwargs}
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.__name__}: {e}") from None
        bound.apply_defaults()  # `BLOCK: tile.constexpr = 128` specializes on 128
        specs, runtime, constexprs, devices, streams = {}, [], {}, set(), set()
        host_arrays = {}
        for name, value in bound.arguments.items():
            if name in self.constexpr_params:
                specs[name] = ArgSpec("constexpr", value=value)
                constexprs[name] = value
                continue
            if isinstance(value, str):
                spec = parse_type_string(value, name)
                runtime += [(p, None) for p in params_of(name, spec)]
                specs[name] = spec
                continue
            array = as_device_array(value, name, on_host)
            if array is not None:
                if on_host:
                    host_arrays[name] = array.host
                spec = array_spec(array.dtype, array.pointer, array.shape, array.strides)
                parts = {"pointer": lambda p: array.pointer,
                         "size": lambda p: array.shape[p.dim],
                         "stride": lambda p: array.strides[p.dim]}
                runtime += [(p, parts[p.source](p)) for p in params_of(name, spec)]
                devices.add(array.device)
                if array.stream is not None:
                    streams.add(array.stream)
            elif isinstance(value, bool):
                raise TypeError(f"argument '{name}': bool parameters must be tile.constexpr")
            elif isinstance(value, int):
                if not INT32_RANGE[0] <= value <= INT32_RANGE[1]:
                    raise ValueError(f"argument '{name}' = {value} does not fit in int32")
                spec = ArgSpec("int", tl.int32, divisibility(value))
                runtime += [(p, value) for p in params_of(name, spec)]
            elif isinstance(value, float):
                spec = ArgSpec("float", tl.float32)
                runtime += [(p, value) for p in params_of(name, spec)]
            else:
                raise TypeError(f"argument '{name}': unsupported type {type(value).__name__}; "
                                "expected a device array, int or float")
            specs[name] = spec
        if len(devices) > 1:
            raise ValueError(f"{self.__name__}: arrays are on different devices {sorted(devices)}")
        stream = options.get("stream")
        if stream is None and len(streams) == 1:
            stream = streams.pop()
        compile_options = CompileOptions(num_warps=options.get("num_warps", 4))
        compile_options.validate()
        return _Bound(specs, runtime, constexprs, compile_options,
                      stream, devices.pop() if devices else 0, host_arrays)

    def _key(self, bound: _Bound) -> tuple:
        return (tuple((n, s.key()) for n, s in bound.specs.items()), bound.options)

    def _tile_ir(self, bound: _Bound) -> str:
        """The frontend's IR text of a specialization (cached)."""
        key = self._key(bound)
        text = self._ir_cache.get(key)
        if text is None:
            text = generate_ir(self.source, bound.specs, bound.options.num_warps)
            self._ir_cache[key] = text
        return text

    def _compile(self, bound: _Bound, want_cubin: bool = True) -> CompiledKernel:
        key = self._key(bound)
        kernel = self._cache.get(key)
        if kernel is None:
            kernel = compile_ir(self._tile_ir(bound), self.__name__, bound.options, want_cubin)
            self._cache[key] = kernel
        return kernel

    def ir(self, *args, locations: bool = False, **kwargs) -> str:
        """The verified tile IR of the specialization for these arguments: parsed
        and verified by MLIR, not lowered, so it works for every op the dialect
        knows even where the GPU lowering does not exist yet. Arguments are as
        for `compile` (arrays, or type strings like `"*bf16[2]:16"`);
        `locations=True` keeps each op's `loc` into the kernel's source."""
        return verify_ir(self._tile_ir(self._bind(list(args), dict(kwargs))), locations)

    def compile(self, *args, **kwargs) -> CompiledKernel:
        """Compiles (or returns the cached) specialization for these arguments;
        `.asm` holds "tile", "llvm", "ptx" and, with ptxas present, "cubin".

        Arguments are what a launch takes, or type strings standing for them
        (`"*f32:16"`, `"i32"`), so no GPU is needed:
        `add.compile("*f32:16", "*f32:16", "*f32:16", "i32:16", BLOCK=1024)`."""
        return self._compile(self._bind(list(args), dict(kwargs)))

    # -- launch ------------------------------------------------------------------
    def _launch(self, grid, args, kwargs) -> None:
        bound = self._bind(list(args), dict(kwargs))
        if any(value is None for _, value in bound.runtime):
            raise TypeError(f"{self.__name__}: type strings can be compiled, not launched")
        kernel = self._compile(bound)
        if callable(grid):
            grid = grid(dict(bound.constexprs))
        grid = tuple(grid) if isinstance(grid, (tuple, list)) else (grid,)
        if not 1 <= len(grid) <= 3 or not all(isinstance(g, int) for g in grid):
            raise ValueError(f"{self.__name__}: grid must be 1 to 3 ints, got {grid}")
        grid = grid + (1,) * (3 - len(grid))
        if any(g <= 0 for g in grid):
            return  # an empty grid launches nothing, as in Triton
        if grid[0] > 2**31 - 1 or grid[1] > 65535 or grid[2] > 65535:
            raise ValueError(f"{self.__name__}: grid {grid} exceeds the CUDA limits "
                             "(2^31-1, 65535, 65535)")
        driver.set_device(bound.device)
        key = (self._key(bound), bound.device)
        loaded = self._loaded.get(key)
        if loaded is None:
            image = kernel.cubin or kernel.ptx.encode() + b"\0"
            loaded = driver.LoadedKernel(image, kernel.name, kernel.metadata["shared_bytes"])
            self._loaded[key] = loaded
        params = kernel.metadata["params"]
        if len(params) != len(bound.runtime):
            raise RuntimeError(f"{self.__name__}: kernel has {len(params)} parameters but "
                               f"{len(bound.runtime)} runtime arguments were given")
        ctype = {"ptr": ctypes.c_uint64, "i32": ctypes.c_int32, "f32": ctypes.c_float}
        values = []
        for param, value in bound.runtime:
            if param.type == "i32" and not INT32_RANGE[0] <= value <= INT32_RANGE[1]:
                raise ValueError(f"{self.__name__}: {param.name} = {value} does not fit in int32")
            values.append(ctype[param.type](value))
        loaded.launch(grid, kernel.metadata["block"], kernel.metadata["shared_bytes"],
                      bound.stream or 0, values)


class _Launcher:
    def __init__(self, fn: JITFunction, grid):
        self.fn, self.grid = fn, grid

    def __call__(self, *args, **kwargs):
        if interpreter.requested():
            return self.interpret(*args, **kwargs)
        return self.fn._launch(self.grid, args, kwargs)

    def interpret(self, *args, **kwargs):
        """Runs the kernel's tile IR on the CPU interpreter, on numpy arrays or CPU
        torch tensors (results written into them); see docs/interpreter.md."""
        return interpreter.launch(self.fn, self.grid, args, kwargs)


def jit(fn=None):
    """Decorator: compiles `fn` into a GPU kernel, launched as `fn[grid](*args)`."""
    if fn is None:
        return jit
    return JITFunction(fn)
