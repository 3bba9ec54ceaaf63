"""`@tile.jit`: specialization, compilation on first use, launch.

`kernel[grid](...)` with the C extension (`native`) is its `Bound`: C binds
the call by the kernel's signature, reads ints, floats and torch tensors into a
key and launches the key's plan (launch/fast.c); everything else comes to
`_slow_launch`, the Python path. There, a launch reads the arguments into a
specialization key (`arguments.collect`); a key seen before maps straight to a
`Launcher` (packing plan + loaded kernel). A new key goes the slow way: bind,
build the `ArgSpec`s, compile (or load from the memory or disk cache), load,
plan, and remember the launcher (and its C plan under the C path's key).
"""
from __future__ import annotations

import hashlib
import inspect
import textwrap
import time
from dataclasses import dataclass, field

from .. import interpreter
from .. import language as tl
from ..compiler import CompiledKernel, CompileOptions, compile_ir, verify_ir
from ..compiler.driver import report_unhonoured
from ..frontend import KernelSource, generate_ir
from ..signature import ArgSpec, array_spec, params_of, parse_type_string, symmetric_spec
from . import cache, driver, native
from .dependencies import dependencies_hash
from .arguments import as_device_array, collect, is_host_array, python_scalar, scalar_spec
from .launcher import Launcher, ParamPacker, check_clusters, grid3, resolve_stream
from .tensormap import TensorMapSpec

LAUNCH_OPTIONS = ("num_warps", "num_stages", "warp_specialize", "num_ctas", "stream")
DEFAULT_NUM_WARPS = 4
_NO_DEFAULT = object()  # a parameter without a default, for the C path's binding


def check_launch_options(where: str, num_warps=None, num_stages=None, warp_specialize=None,
                         num_ctas=None) -> None:
    """A TypeError naming the launch option given a value of the wrong type (None
    stands for the default), before anything compiles; `where` starts the message.
    Their ranges are `CompileOptions.validate`'s (num_warps 1-16, a power of two)."""
    for name, value in (("num_warps", num_warps), ("num_stages", num_stages),
                        ("num_ctas", num_ctas)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{where}: {name} must be an int, got {value!r} "
                            f"({type(value).__name__})")
    if warp_specialize is not None and not isinstance(warp_specialize, bool):
        raise TypeError(f"{where}: warp_specialize must be True or False, got "
                        f"{warp_specialize!r} ({type(warp_specialize).__name__})")


def check_constexpr(kernel: str, name: str, value) -> None:
    """A constexpr's value is a constant the kernel is specialized on: None, a
    bool, int, float, str, tile dtype, function, or a tuple or list of them. Data
    (an array, a tensor, a dict, a set) is a TypeError naming the parameter."""
    if isinstance(value, (tuple, list)):
        for item in value:
            check_constexpr(kernel, name, item)
        return
    if value is None or isinstance(value, (bool, int, float, str, bytes, tl.dtype)):
        return
    if isinstance(value, type) or callable(value) and not _is_array(value):
        return  # a helper function, a @tile.jit function, a class
    try:
        hash(value)
        unhashable = False
    except TypeError:
        unhashable = True
    if unhashable or _is_array(value):
        kind = type(value)
        raise TypeError(f"{kernel}: constexpr argument '{name}' is a "
                        f"{kind.__module__ + '.' if kind.__module__ != 'builtins' else ''}"
                        f"{kind.__qualname__}; a tile.constexpr is a constant the kernel is "
                        "specialized on (an int, float, bool, str, None, tile dtype, function, "
                        "or a tuple of them). Pass arrays as runtime arguments (parameters "
                        "without tile.constexpr)")


def _is_array(value) -> bool:
    """An array or tensor object (numpy scalars are numbers, not arrays)."""
    if python_scalar(value) is not value:
        return False
    return any(hasattr(value, attr) for attr in ("__array_interface__", "__array__",
                                                 "__cuda_array_interface__", "__dlpack__"))


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
    stream: object  # the stream= option as given, or None
    device: int
    values: dict  # every argument by name, as passed
    host_arrays: dict  # argument name -> numpy array over its memory, when interpreting
    unknown_memory: list = field(default_factory=list)  # arrays no CUDA device owns


class JITFunction(native.module.KernelBase if native.module is not None else object):
    """A `@tile.jit` kernel. With the C extension, `kernel[grid]` is made in C (its base
    class), launching through `_native`; otherwise `_python_launcher` makes it."""

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        try:
            lines, first_line = inspect.getsourcelines(fn)
        except (OSError, TypeError) as e:  # a prompt, exec or a built-in: no source to parse
            raise TypeError(f"@tile.jit: the source of '{getattr(fn, '__name__', fn)}' cannot be "
                            f"read ({e}); tile parses a kernel's source, so define it in a "
                            ".py file (not at an interactive prompt or in exec)") from None
        text = "".join(lines)
        dedented = textwrap.dedent(text)
        indent = len(lines[0]) - len(lines[0].lstrip())
        self.source = KernelSource(fn.__name__, inspect.getsourcefile(fn) or "<unknown>",
                                   first_line, dedented, indent, fn.__globals__)
        self.source_hash = hashlib.sha256(
            f"{self.source.filename}:{first_line}:{indent}\n{dedented}".encode()).hexdigest()
        self.signature = inspect.signature(fn)
        self.params = list(self.signature.parameters)
        self.constexpr_params = {
            name for name, p in self.signature.parameters.items()
            if _is_constexpr(p.annotation, fn.__globals__)}
        self._runtime_names = [n for n in self.params if n not in self.constexpr_params]
        self._constexpr_names = [n for n in self.params if n in self.constexpr_params]
        self._binder = self._make_binder()
        self._cache: dict[tuple, CompiledKernel] = {}
        self._ir_cache: dict[tuple, str] = {}  # specialization -> frontend IR text
        self._loaded: dict[tuple, driver.LoadedKernel] = {}  # (compile key, device)
        self._launchers: dict[tuple, Launcher] = {}  # launch key -> launcher
        self._plans: dict[tuple, object] = {}  # the C path's key -> C launch plan
        self._native = self._native_kernel()

    def __repr__(self) -> str:
        return f"<tile.jit {self.__name__}>"

    def __call__(self, *args, **kwargs):
        raise TypeError(f"launch a tile kernel with a grid: {self.__name__}[grid](...)")

    def _python_launcher(self, grid) -> "_Launcher":
        return _Launcher(self, grid)

    if native.module is None:
        __getitem__ = _python_launcher

    # -- specialization --------------------------------------------------------
    def _native_kernel(self):
        """What the C fast path binds a call by (launch/fast.c), or None without it."""
        if native.module is None:
            return None
        params = self.signature.parameters.values()
        spec = tuple((p.name, p.name in self.constexpr_params,
                      _NO_DEFAULT if p.default is p.empty else p.default) for p in params)
        positional = sum(p.kind == p.POSITIONAL_OR_KEYWORD for p in params)
        try:
            return native.module.kernel(self.__name__, spec, positional, _NO_DEFAULT,
                                        self._plans, _slow_launch, _resolve_grid,
                                        interpreter_launch)
        except ValueError:  # more parameters than the C path binds: the Python path
            return None

    def _clear_plans(self) -> None:
        """Forgets the C path's plans (its dict and the memo of recent calls)."""
        self._plans.clear()
        if self._native is not None:
            native.module.forget(self._native)

    def _make_binder(self):
        """A function with the kernel's signature plus the launch options that
        returns (runtime values, constexpr values, compile options, stream): binding by
        Python's own call machinery, far cheaper than `Signature.bind`."""
        clash = set(self.params) & set(LAUNCH_OPTIONS)
        if clash:
            raise TypeError(f"{self.__name__}: parameter names {sorted(clash)} are reserved for "
                            "launch options")
        defaults, parts = {}, []
        for name, p in self.signature.parameters.items():
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                raise TypeError(f"{self.__name__}: tile kernels take plain parameters only")
            if p.kind == p.KEYWORD_ONLY and "*" not in parts:
                parts.append("*")
            if p.default is not p.empty:
                defaults[name] = p.default
                parts.append(f"{name}=_defaults[{name!r}]")
            else:
                parts.append(name)
        runtime = "".join(f"{n}, " for n in self._runtime_names)
        constexprs = "".join(f"{n}, " for n in self._constexpr_names)
        options = ", ".join(f"{o}=None" for o in LAUNCH_OPTIONS)
        if "*" not in parts:
            parts.append("*")
        code = (f"def {self.__name__}({', '.join(parts)}, {options}):\n"
                f"    return ({runtime}), ({constexprs}), "
                f"(num_warps, num_stages, warp_specialize, num_ctas), "
                f"stream\n")
        namespace = {"_defaults": defaults}
        exec(code, namespace)
        return namespace[self.__name__]

    def _binding_error(self, error: TypeError, args, kwargs) -> TypeError:
        """The message `inspect.Signature.bind` gives for arguments that do not fit."""
        kwargs = {k: v for k, v in kwargs.items() if k not in LAUNCH_OPTIONS}
        try:
            self.signature.bind(*args, **kwargs)
        except TypeError as e:
            error = e
        return TypeError(f"{self.__name__}: {error}")

    def _bind(self, args, kwargs, on_host: bool = False) -> _Bound:
        """The full binding (slow path: new specializations, `compile`, `ir` and the
        interpreter). Defaults apply through the binder: `BLOCK: tile.constexpr = 128`
        specializes on 128. `on_host`: the kernel is interpreted, so arrays are host
        arrays (numpy, CPU torch), kept in `host_arrays`."""
        try:
            runtime_values, constexpr_values, (num_warps, num_stages, warp_specialize, num_ctas), \
                stream = \
                self._binder(*args, **kwargs)
        except TypeError as e:
            raise self._binding_error(e, args, kwargs) from None
        check_launch_options(self.__name__, num_warps, num_stages, warp_specialize, num_ctas)
        values = dict(zip(self._runtime_names, runtime_values))
        constexprs = dict(zip(self._constexpr_names, constexpr_values))
        specs, runtime, devices, host_arrays, unknown_memory = {}, [], set(), {}, []
        for name in self.params:
            if name in constexprs:
                check_constexpr(self.__name__, name, constexprs[name])
                specs[name] = ArgSpec("constexpr", value=constexprs[name])
                continue
            value = python_scalar(values[name])  # np.int32(3) as 3
            if isinstance(value, str):
                spec = parse_type_string(value, name)
                runtime += [(p, None) for p in params_of(name, spec)]
            elif isinstance(value, (bool, int, float)):
                spec = scalar_spec(value, name)
                runtime += [(p, value) for p in params_of(name, spec)]
            else:
                symmetric = getattr(value, "__tile_symmetric__", False)  # tile.distributed
                array = as_device_array(value.local if symmetric else value, name,
                                        on_host=on_host)
                if on_host:
                    host_arrays[name] = array.host
                spec = array_spec(array.dtype, array.pointer, array.shape, array.strides)
                parts = {"pointer": lambda p: array.pointer,
                         "size": lambda p: array.shape[p.dim],
                         "stride": lambda p: array.strides[p.dim]}
                if symmetric:
                    spec = symmetric_spec(spec, value.pointers, value.world)
                    parts["my_rank"] = lambda p, v=value: v.rank
                    parts["peer"] = lambda p, v=value: v.pointers[p.dim]
                    if on_host:
                        host_arrays.update((f"{name}_peer{k}", peer)
                                           for k, peer in enumerate(value.peers))
                runtime += [(p, parts[p.source](p)) for p in params_of(name, spec)]
                if array.device is not None:
                    devices.add(array.device)
                elif not on_host:
                    unknown_memory.append(name)
            specs[name] = spec
        if len(devices) > 1:
            raise ValueError(f"{self.__name__}: arrays are on different devices {sorted(devices)}")
        options = CompileOptions(
            num_warps=DEFAULT_NUM_WARPS if num_warps is None else num_warps,
            stages=num_stages,
            warp_specialize=bool(warp_specialize),
            num_ctas=1 if num_ctas is None else num_ctas)
        options.validate()
        return _Bound(specs, runtime, constexprs, options, stream,
                      devices.pop() if devices else 0, {**values, **constexprs}, host_arrays,
                      unknown_memory)

    def _key(self, bound: _Bound) -> tuple:
        return (tuple((n, s.key()) for n, s in bound.specs.items()), bound.options)

    def _tile_ir(self, bound: _Bound) -> str:
        """The frontend's IR text of a specialization (cached)."""
        key = self._key(bound)
        text = self._ir_cache.get(key)
        if text is None:
            text = generate_ir(self.source, bound.specs, bound.options.num_warps,
                               bound.options.num_ctas)
            self._ir_cache[key] = text
        return text

    def _compile(self, bound: _Bound, want_cubin: bool = True) -> CompiledKernel:
        """The compiled specialization: from memory, from the disk cache, or built."""
        key = self._key(bound)
        kernel = self._cache.get(key)
        if kernel is not None:
            return kernel
        disk = cache.disk_cache() if want_cubin else None
        entry = cache.entry_key(dependencies_hash(self), key[0], key[1]) if disk else None
        kernel = disk.load(entry) if disk else None
        if kernel is None:
            start = time.perf_counter()
            text = self._tile_ir(bound)  # ~0 s when `ir()` already generated it
            frontend_seconds = time.perf_counter() - start
            kernel = compile_ir(text, self.__name__, bound.options, want_cubin,
                                param_names=[p.name for p, _ in bound.runtime])
            kernel.metadata.setdefault("stage_seconds", {})["frontend"] = frontend_seconds
            if disk:
                disk.store(entry, kernel)
        else:  # what the compiler said when it was built, said again
            report_unhonoured(self.__name__, kernel.metadata.get("unhonoured", []), bound.options)
        self._cache[key] = kernel
        return kernel

    def ir(self, *args, locations: bool = False, **kwargs) -> str:
        """The verified tile IR of the specialization for these arguments: parsed
        and verified by MLIR, not lowered, so it works for every op the dialect
        knows even where the GPU lowering does not exist yet. Arguments are as
        for `compile` (arrays, or type strings like `"*bf16[2]:16"`);
        `locations=True` keeps each op's `loc` into the kernel's source. Host
        arrays (numpy, CPU torch) specialize as device arrays would."""
        return verify_ir(self._tile_ir(self._bind(list(args), dict(kwargs),
                                                  on_host=_on_host(args, kwargs))), locations)

    def compile(self, *args, **kwargs) -> CompiledKernel:
        """Compiles (or returns the cached) specialization for these arguments;
        `.asm` holds "tile", "llvm", "ptx" and, with ptxas present, "cubin".

        Arguments are what a launch takes, or type strings standing for them
        (`"*f32:16"`, `"i32"`), so no GPU is needed:
        `add.compile("*f32:16", "*f32:16", "*f32:16", "i32:16", BLOCK=1024)`; host
        arrays (numpy, CPU torch) as well."""
        return self._compile(self._bind(list(args), dict(kwargs), on_host=_on_host(args, kwargs)))

    # -- launch ------------------------------------------------------------------
    def _launch_key(self, args, kwargs):
        """The fast specialization key of a call and its raw argument values.
        Equal keys always mean equal `ArgSpec`s (test_runtime_jit checks it)."""
        try:
            runtime, constexprs, launch_options, stream = self._binder(*args, **kwargs)
        except TypeError as e:
            raise self._binding_error(e, args, kwargs) from None
        # Checked on every call: 4.0 == 4 would find the launcher compiled for num_warps=4.
        check_launch_options(self.__name__, *launch_options)
        key, raw = [launch_options, *map(repr, constexprs)], []
        try:
            device, hint = collect(self._runtime_names, runtime, key, raw, stream)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{self.__name__}: {e}") from None
        key.append(device)
        return tuple(key), raw, device, hint, constexprs, stream

    def _launch(self, grid, args, kwargs) -> Launcher:
        """The Python launch path; returns the launcher it used."""
        key, raw, device, hint, constexprs, stream = self._launch_key(args, kwargs)
        launcher = self._launchers.get(key)
        stream = resolve_stream(stream, hint, device or 0)
        if launcher is None:
            launcher = self._prepare(key, args, kwargs, stream)
        grid = _resolve_grid(self, grid, constexprs)
        if grid is not None:
            check_clusters(grid, launcher.num_ctas, self.__name__)  # an empty grid launches nothing, as in Triton
            launcher(grid, stream, raw)
        return launcher

    def _prepare(self, key: tuple, args, kwargs, stream: int) -> Launcher:
        """A new specialization: compile (or fetch), load on the device (refused
        while `stream` captures a CUDA graph), plan."""
        bound = self._bind(list(args), dict(kwargs))
        if bound.unknown_memory:
            raise ValueError(f"{self.__name__}: argument '{bound.unknown_memory[0]}' points to "
                             "memory that is not on a CUDA device the driver knows")
        kernel = self._compile(bound)
        metadata = kernel.metadata
        tma = [TensorMapSpec.from_metadata(t) for t in metadata.get("tma", [])]
        packer = ParamPacker(self.__name__, [(n, bound.specs[n]) for n in self._runtime_names],
                             metadata["params"], tma)
        loaded = self._loaded.get((self._key(bound), bound.device))
        if loaded is None:
            image = kernel.cubin or kernel.ptx.encode() + b"\0"
            loaded = driver.LoadedKernel(image, kernel.name, metadata["shared_bytes"],
                                         bound.device, stream=stream)
            self._loaded[(self._key(bound), bound.device)] = loaded
        launcher = self._launchers[key] = Launcher(loaded, packer, metadata["block"],
                                                   metadata.get("num_ctas", 1))
        return launcher


def _resolve_grid(fn: JITFunction, grid, constexprs):
    """3 ints, or None for an empty grid; a callable grid is called with the constexprs."""
    if callable(grid):
        grid = grid(dict(zip(fn._constexpr_names, constexprs)))
    return grid3(grid, fn.__name__)


def _slow_launch(fn: JITFunction, grid, args, kwargs, key):
    """The Python path, for every call the C fast path leaves (see launch/fast.c); `key`,
    the C path's key of the call when it got that far, then finds the plan directly."""
    if interpreter.requested():
        return interpreter.launch(fn, grid, args, kwargs or {})
    launcher = fn._launch(grid, args, kwargs or {})
    if key is not None and launcher.plan is not None:
        fn._plans[key] = launcher.plan


class _Launcher:
    """`kernel[grid]` without the C extension."""

    def __init__(self, fn: JITFunction, grid):
        self.fn, self.grid = fn, grid

    def __call__(self, *args, **kwargs):
        if interpreter.requested():
            return self.interpret(*args, **kwargs)
        self.fn._launch(self.grid, args, kwargs)

    def interpret(self, *args, **kwargs):
        """Runs the kernel's tile IR on the CPU interpreter, on numpy arrays or CPU
        torch tensors (results written into them); see docs/interpreter.md."""
        return interpreter.launch(self.fn, self.grid, args, kwargs)


def interpreter_launch(fn, grid, args, kwargs):
    """`kernel[grid].interpret(...)` of the C path's launcher."""
    return interpreter.launch(fn, grid, args, kwargs)


def jit(fn=None):
    """Decorator: compiles `fn` into a GPU kernel, launched as `fn[grid](*args)`."""
    if fn is None:
        return jit
    return JITFunction(fn)


def _on_host(args, kwargs) -> bool:
    """`ir` and `compile` given host arrays bind them as the interpreter does."""
    return any(is_host_array(v) for v in (*args, *kwargs.values()))
