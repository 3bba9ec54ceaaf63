"""`@tile.autotune`: pick a kernel's launch configuration by timing each on the GPU.

    @tile.autotune(configs=[tile.Config(dict(BM=128, BN=256, BK=64), num_warps=8, num_stages=4),
                            tile.Config(dict(BM=128, BN=128, BK=64), num_warps=4)],
                   key=["A.shape[0]", "B.shape[1]", "A.shape[1]"])
    @tile.jit
    def gemm(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr): ...

    gemm[lambda meta: (tile.cdiv(M, meta["BM"]), tile.cdiv(N, meta["BN"]))](a, b, c)

The first call for a new key launches each configuration once (compiling it; a
configuration that fails to compile, load, launch or be timed is skipped, its
reason kept in `kernel.tuning[key]`, with a warning when the failure is not one
of the refusals in SKIPPED_ERRORS; when none is left, the error gives each
configuration's reason), times those that ran (median of CUDA-event
timed runs after a warm-up, L2 flushed before each run, as `triton.testing.do_bench`;
in three rounds that take the configurations in turn, each configuration's time
the median of its rounds, so that the GPU's clocks drifting as it warms up do not
favour whichever runs first), and launches the fastest. The choice is kept in memory and on disk under the
kernel cache directory (`<TILE_CACHE_DIR>/autotune/`, off with `TILE_CACHE=0`),
in a file named by the kernel's source, the configurations, the key's values, the
device's name and the compiler; it is written atomically and checksummed, and a
corrupt file is reported, deleted and tuned again.

`prune(args, configs)`, if given, returns a list of the configurations worth
timing for this launch (`args`: the arguments by name; some of `configs`, at least
one), a model's cut before any compiling: the rest are recorded as pruned. It
sees each key once, when that key is tuned.

A key entry is an argument name (a scalar's value; an array's shape and dtype),
`"A.shape[d]"`, `"A.dtype"`, or a function of the arguments by name. The dtypes of
every array argument and the constexprs the call passes join the key. The kernel
runs several times while it is tuned, so it must compute its outputs from inputs
it does not overwrite.

    TILE_AUTOTUNE=0         no timing: launch `default` (or the first configuration)
    TILE_AUTOTUNE_PRINT=1   print each tuning's timings and skipped configurations
The interpreter (`.interpret(...)`, `TILE_INTERPRET=1`) also launches the default.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import sys
import warnings
from pathlib import Path

from . import interpreter
from .errors import CaptureError, CompilationError, KernelSourceError
from .runtime import cache, driver
from .runtime.dependencies import dependencies_hash
from .runtime.jit import JITFunction, check_launch_options
from .runtime.launcher import resolve_stream

_FORMAT = 1
_MAGIC = b"tile-autotune-v1 "
_SHAPE = re.compile(r"^(\w+)\.shape\[(\d+)\]$")
_DTYPE = re.compile(r"^(\w+)\.dtype$")
# How a configuration is refused: the compiler refusing it, a launch option or
# shared-memory size out of range, the driver refusing the launch. Tuning skips a
# configuration that fails any other way too, with a warning.
SKIPPED_ERRORS = (CompilationError, ValueError, driver.CudaError)
_REASON_LINES = 3  # of an error's message, in the tuning record and the final error


def failure_reason(error: BaseException) -> str:
    """Why a configuration failed, in a few lines: the error's type and the first
    lines of its message (a kernel source error's first line says where and what;
    the lines after it quote the source)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if isinstance(error, KernelSourceError) and error.lineno is not None:
        lines = lines[:1]
    if not lines:
        return type(error).__name__
    return f"{type(error).__name__}: " + "\n    ".join(lines[:_REASON_LINES])


class Config:
    """One launch configuration: constexpr values, `num_warps`, `num_stages`
    (None: the compiler's default, 3), `warp_specialize` and `num_ctas`."""

    def __init__(self, kwargs: dict, num_warps: int = 4, num_stages: int | None = None,
                 warp_specialize: bool = False, num_ctas: int = 1):
        if not isinstance(kwargs, dict):
            raise TypeError(f"tile.Config takes a dict of constexpr values, got {kwargs!r}")
        check_launch_options("tile.Config", num_warps, num_stages, warp_specialize, num_ctas)
        self.kwargs, self.num_warps, self.num_stages = dict(kwargs), num_warps, num_stages
        self.warp_specialize = bool(warp_specialize)
        self.num_ctas = num_ctas

    def launch_kwargs(self) -> dict:
        options = {"num_warps": self.num_warps}
        if self.num_stages is not None:
            options["num_stages"] = self.num_stages
        if self.warp_specialize:
            options["warp_specialize"] = True
        if self.num_ctas != 1:
            options["num_ctas"] = self.num_ctas
        return {**self.kwargs, **options}

    def to_json(self) -> dict:
        data = {"kwargs": self.kwargs, "num_warps": self.num_warps, "num_stages": self.num_stages}
        if self.warp_specialize:
            data["warp_specialize"] = True
        if self.num_ctas != 1:
            data["num_ctas"] = self.num_ctas
        return data

    def __eq__(self, other) -> bool:
        return isinstance(other, Config) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True, default=repr))

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        stages = "" if self.num_stages is None else f", num_stages={self.num_stages}"
        if self.warp_specialize:
            stages += ", warp_specialize=True"
        if self.num_ctas != 1:
            stages += f", num_ctas={self.num_ctas}"
        return f"Config({values}, num_warps={self.num_warps}{stages})"


def _shape_dtype(value):
    """(shape, dtype name) of an array argument, or None for anything else."""
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return tuple(int(s) for s in shape), str(dtype)
    cai = getattr(value, "__cuda_array_interface__", None)
    if cai is not None:
        return tuple(cai["shape"]), cai["typestr"]
    return None


class CudaEventTimer:
    """Times a launch on the GPU as `triton.testing.do_bench` does: an estimate
    from 5 runs, then `warmup` ms of untimed runs and `rep` ms of runs (at most
    1000), each timed with CUDA events after a 256 MiB memset that flushes L2;
    the median in milliseconds."""

    FLUSH_BYTES = 256 << 20

    def __init__(self, warmup: float = 25, rep: float = 100):
        self.warmup, self.rep = warmup, rep

    def device_name(self, device: int) -> str:
        cu = driver._cu()
        driver.check(cu.cuInit(0))
        name = driver.check(cu.cuDeviceGetName(256, driver.check(cu.cuDeviceGet(device))))
        return name.split(b"\0", 1)[0].decode()

    def capturing(self, stream: int) -> bool:
        """Whether `stream` is being captured into a CUDA graph (no timing then)."""
        return driver.stream_capturing(stream)

    def time(self, run, stream: int, device: int) -> float:
        cu, check = driver._cu(), driver.check
        driver.set_device(device)
        handle = cu.CUstream(stream)
        flush = check(cu.cuMemAlloc(self.FLUSH_BYTES))
        events = []

        def event():
            events.append(check(cu.cuEventCreate(cu.CUevent_flags.CU_EVENT_DEFAULT)))
            return events[-1]

        try:
            start, end = event(), event()
            run()
            check(cu.cuStreamSynchronize(handle))
            check(cu.cuEventRecord(start, handle))
            for _ in range(5):
                run()
            check(cu.cuEventRecord(end, handle))
            check(cu.cuEventSynchronize(end))
            estimate = max(check(cu.cuEventElapsedTime(start, end)) / 5, 1e-3)
            for _ in range(max(1, int(self.warmup / estimate))):
                run()
            pairs = [(event(), event()) for _ in range(max(1, min(1000, int(self.rep / estimate))))]
            for begin, finish in pairs:
                check(cu.cuMemsetD32Async(flush, 0, self.FLUSH_BYTES // 4, handle))
                check(cu.cuEventRecord(begin, handle))
                run()
                check(cu.cuEventRecord(finish, handle))
            check(cu.cuEventSynchronize(pairs[-1][1]))
            return statistics.median(check(cu.cuEventElapsedTime(b, f)) for b, f in pairs)
        finally:
            for e in events:
                cu.cuEventDestroy(e)
            cu.cuMemFree(flush)


class Autotuner:
    """A `@tile.jit` kernel with a set of configurations; launched as the kernel is,
    `kernel[grid](*args)`, with the tuned constexprs and options added."""

    def __init__(self, fn: JITFunction, configs, key, default: Config | None = None,
                 warmup: float = 25, rep: float = 100, timer=None, rounds: int = 3,
                 prune=None):
        if not isinstance(fn, JITFunction):
            raise TypeError("@tile.autotune decorates a @tile.jit kernel: put it above @tile.jit")
        self.fn, self.__name__ = fn, fn.__name__
        self.configs = list(configs)
        if not self.configs or not all(isinstance(c, Config) for c in self.configs):
            raise TypeError(f"{self.__name__}: @tile.autotune needs a non-empty list of "
                            "tile.Config")
        if default is not None and not isinstance(default, Config):
            raise TypeError(f"{self.__name__}: default= is a tile.Config")
        for config in self.configs + ([default] if default else []):
            unknown = sorted(set(config.kwargs) - fn.constexpr_params)
            if unknown:
                raise TypeError(f"{self.__name__}: {config} sets {unknown}, which are not "
                                f"constexpr parameters of the kernel "
                                f"({sorted(fn.constexpr_params)})")
        self.tuned_names = set().union(*(c.kwargs for c in self.configs))
        self.default = default or self.configs[0]
        if isinstance(key, (str, bytes)) or callable(key):
            key = [key]
        self._key_entries = [(k, self._key_entry(k)) for k in key]
        self._positions = {name: i for i, name in enumerate(fn.params)}
        if prune is not None and not callable(prune):
            raise TypeError(f"{self.__name__}: prune= is a function (args, configs) -> the "
                            "configurations to time")
        self.prune = prune
        self.rounds = rounds  # the budget of warmup + rep ms is split over them
        self.timer = timer or CudaEventTimer(warmup / rounds, rep / rounds)
        self.best: dict[tuple, Config] = {}  # key -> chosen configuration
        self.tuning: dict[tuple, dict] = {}  # key -> how it was chosen (timings, skipped)
        self.best_config: Config | None = None  # the configuration of the last launch

    def __repr__(self) -> str:
        return f"<tile.autotune {self.__name__}, {len(self.configs)} configs>"

    def __getitem__(self, grid) -> "_TunedLauncher":
        return _TunedLauncher(self, grid)

    # -- the key ------------------------------------------------------------------
    def _key_entry(self, entry):
        if callable(entry):
            return entry
        if not isinstance(entry, str):
            raise TypeError(f"{self.__name__}: a key entry is an argument name, 'A.shape[d]', "
                            f"'A.dtype' or a function of the arguments; got {entry!r}")
        shape, dtype = _SHAPE.match(entry), _DTYPE.match(entry)
        name = shape.group(1) if shape else dtype.group(1) if dtype else entry
        if name not in self.fn.params:
            raise TypeError(f"{self.__name__}: key entry {entry!r} names no parameter of the "
                            f"kernel ({', '.join(self.fn.params)})")
        if shape:
            dim = int(shape.group(2))
            return lambda args: _shape_dtype(args[name])[0][dim]
        if dtype:
            return lambda args: _shape_dtype(args[name])[1]
        return lambda args: _shape_dtype(args[name]) or args[name]

    def _arguments(self, args, kwargs) -> dict:
        named = dict(zip(self.fn.params, args))
        for name, value in kwargs.items():
            if name in named:
                raise TypeError(f"{self.__name__}: got multiple values for argument '{name}'")
            named[name] = value
        return named

    def key_of(self, args, kwargs) -> tuple:
        clash = sorted((self.tuned_names | {"num_warps", "num_stages", "warp_specialize",
                                          "num_ctas"}) & set(kwargs))
        if clash:
            raise TypeError(f"{self.__name__}: {clash} are chosen by @tile.autotune; do not "
                            "pass them")
        named = self._arguments(args, kwargs)
        values = []
        for given, entry in self._key_entries:
            try:
                values.append(entry(named))
            except (KeyError, TypeError, IndexError) as e:
                raise TypeError(f"{self.__name__}: cannot read the autotune key entry "
                                f"{given!r} from the arguments ({type(e).__name__}: {e})") from None
        dtypes = [sd[1] for name in self.fn.params if name in named
                  for sd in [_shape_dtype(named[name])] if sd]
        # Constexprs the call passes specialize the kernel: each value is tuned apart.
        constexprs = [(name, named[name]) for name in self.fn.params
                      if name in self.fn.constexpr_params and name in named]
        return (*values, *dtypes, *constexprs)

    # -- choosing -------------------------------------------------------------------
    def config_for(self, grid, args, kwargs) -> Config:
        key = self.key_of(args, kwargs)
        config = self.best.get(key)
        if config is not None:
            return config
        if os.environ.get("TILE_AUTOTUNE", "1").strip().lower() in ("0", "off", "false", "no"):
            self.tuning[key] = {"source": "default (TILE_AUTOTUNE=0)"}
            config = self.default
        else:
            config = self._from_disk(key, args, kwargs) or self._tune(key, grid, args, kwargs)
        self.best[key] = config
        return config

    def _device(self, args, kwargs, config: Config) -> tuple[int, int]:
        """(device, stream) a launch with these arguments uses."""
        all_kwargs = {**kwargs, **config.launch_kwargs()}
        _, _, device, hint, _, stream = self.fn._launch_key(args, all_kwargs)
        device = device or 0
        return device, resolve_stream(stream, hint, device)

    def _tune(self, key, grid, args, kwargs) -> Config:
        runs, skipped, first_error = {}, {}, None
        device = stream = None

        def skip(index: int, error: Exception) -> None:
            nonlocal first_error
            skipped[index] = failure_reason(error)
            first_error = first_error or error
            if not isinstance(error, SKIPPED_ERRORS):  # not a refusal: likely a bug, say so
                warnings.warn(f"tile.autotune {self.__name__}: {self.configs[index]} failed "
                              f"({skipped[index]}); tuning goes on without it",
                              RuntimeWarning, stacklevel=5)

        candidates = self._candidates(args, kwargs)
        for index, config in enumerate(self.configs):
            if index not in candidates:
                continue
            self._progress(f"compiling configuration {index + 1} of {len(self.configs)}")
            launch_kwargs = {**kwargs, **config.launch_kwargs()}

            def run(launch_kwargs=launch_kwargs):
                self.fn._launch(grid, args, launch_kwargs)

            try:
                if device is None:
                    device, stream = self._device(args, kwargs, config)
                    self._refuse_capture(key, stream)
                run()  # compiles and loads it; the driver refuses what does not fit
            except CaptureError:
                raise
            except Exception as e:  # each configuration's failure is its own
                skip(index, e)
                continue
            runs[index] = run
        samples = {index: [] for index in runs}
        for round_ in range(self.rounds):  # in turn: clock drift falls on every configuration
            self._progress(f"timing {len(runs)} configurations, round {round_ + 1} of "
                           f"{self.rounds}")
            for index, run in list(runs.items()):
                try:
                    samples[index].append(float(self.timer.time(run, stream, device)))
                except Exception as e:
                    skip(index, e)
                    del runs[index], samples[index]
        self._progress(None)
        timings = {index: statistics.median(times) for index, times in samples.items()}
        record = {"source": "tuned", "timings_ms": timings, "skipped": skipped,
                  "pruned": sorted(set(range(len(self.configs))) - candidates)}
        self.tuning[key] = record
        if not timings:
            if len(skipped) > 1 and len(set(skipped.values())) == 1 and \
                    isinstance(first_error, (TypeError, ValueError)):
                raise first_error  # the arguments' fault, not any configuration's
            reasons = "\n".join(f"  {self.configs[i]}: {why}" for i, why in sorted(skipped.items()))
            raise RuntimeError(f"{self.__name__}: no configuration could be launched for key "
                               f"{key}; each failed:\n{reasons}") from first_error
        best = min(timings, key=timings.get)
        record["best"] = best
        if os.environ.get("TILE_AUTOTUNE_PRINT"):
            self._print(key, record)
        self._to_disk(key, device, record)
        return self.configs[best]

    def _candidates(self, args, kwargs) -> set[int]:
        """Indices of the configurations to time: all, or those `prune` keeps."""
        if self.prune is None:
            return set(range(len(self.configs)))
        kept = self.prune(self._arguments(args, kwargs), list(self.configs))
        if not isinstance(kept, (list, tuple)):
            raise TypeError(f"{self.__name__}: prune= must return a list of the configurations "
                            f"it was given (the ones to time); it returned {_short(kept)} "
                            f"({type(kept).__name__})")
        indices = set()
        for k in kept:  # the configurations given, or equal ones
            index = next((i for i, c in enumerate(self.configs) if k is c or k == c), None)
            if index is None:
                raise ValueError(f"{self.__name__}: prune= returned {_short(k)}, which is not "
                                 f"one of the {len(self.configs)} configurations it was given "
                                 "(it must return some of those, not new ones)")
            indices.add(index)
        if not indices:
            raise ValueError(f"{self.__name__}: prune= kept none of the {len(self.configs)} "
                             "configurations (it must return some of the ones it was given)")
        return indices

    def _refuse_capture(self, key, stream: int) -> None:
        # Timing synchronizes on events, which a CUDA graph capture forbids (and
        # the timed launches would be recorded into the graph).
        if self.timer.capturing(stream):
            raise CaptureError(
                f"{self.__name__}: tuning key {key} for the first time inside a CUDA graph "
                "capture; timing configurations cannot be captured. Launch the kernel once "
                "with these shapes before capturing (a warm-up)")

    def _progress(self, what: str | None) -> None:
        """One line on a terminal's stderr, rewritten as tuning goes (None: erased):
        the first tuning of a key compiles every configuration, which takes a while."""
        if not sys.stderr.isatty():
            return
        line = f"tile.autotune {self.__name__}: {what}" if what else ""
        sys.stderr.write(f"\r{line:<79}" + ("" if what else "\r"))
        sys.stderr.flush()

    def _print(self, key, record) -> None:
        print(f"tile.autotune {self.__name__} key={key}:", file=sys.stderr)
        for i, config in enumerate(self.configs):
            what = (f"{record['timings_ms'][i]:.4f} ms" if i in record["timings_ms"]
                    else "pruned" if i in record.get("pruned", ())
                    else f"skipped ({record['skipped'][i]})")
            mark = "  <- chosen" if i == record.get("best") else ""
            print(f"  {config}: {what}{mark}", file=sys.stderr)

    # -- the disk ----------------------------------------------------------------------
    def _path(self, key, device: int) -> tuple[Path, str] | None:
        directory = cache.cache_dir()
        if directory is None:
            return None
        identity = repr((_FORMAT, dependencies_hash(self.fn), self.__name__, key,
                         self.timer.device_name(device),
                         [c.to_json() for c in self.configs], cache.compiler_fingerprint()))
        name = hashlib.sha256(identity.encode()).hexdigest()
        return directory / "autotune" / f"{self.__name__}-{name[:32]}.json", identity

    def _from_disk(self, key, args, kwargs) -> Config | None:
        try:
            device, _ = self._device(args, kwargs, self.default)
        except SKIPPED_ERRORS:
            return None
        where = self._path(key, device)
        if where is None:
            return None
        path, identity = where
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        try:
            data = cache.checksummed_json(blob, _MAGIC)
            if not isinstance(data, dict):
                raise ValueError(f"the file holds {type(data).__name__}, not an object")
            if data.get("identity") != identity:
                raise ValueError("the file is for another kernel, key or device")
            if type(data.get("best")) is not int or not 0 <= data["best"] < len(self.configs):
                raise ValueError(f"best is {data.get('best')!r}, not a configuration's index")
            best = self.configs[data["best"]]
            if data["config"] != json.loads(json.dumps(best.to_json(), default=repr)):
                raise ValueError("the chosen configuration is not in the list")
        except (cache.CorruptEntry, ValueError, KeyError, TypeError, IndexError) as e:
            warnings.warn(f"tile.autotune: corrupt choice {path} ({e}); tuning again",
                          RuntimeWarning, stacklevel=4)
            try:
                path.unlink()
            except OSError:
                pass
            return None
        self.tuning[key] = {"source": f"disk ({path})", "timings_ms": data.get("timings_ms"),
                            "skipped": data.get("skipped"), "best": data["best"]}
        return best

    def _to_disk(self, key, device: int, record: dict) -> None:
        where = self._path(key, device)
        if where is None:
            return
        path, identity = where
        payload = json.dumps({
            "format": _FORMAT, "identity": identity, "kernel": self.__name__, "key": repr(key),
            "device": self.timer.device_name(device), "best": record["best"],
            "config": self.configs[record["best"]].to_json(),
            "timings_ms": {str(i): t for i, t in record["timings_ms"].items()},
            "skipped": {str(i): s for i, s in record["skipped"].items()},
            "configs": [c.to_json() for c in self.configs]}, default=repr).encode()
        try:
            cache.write_checksummed(path, _MAGIC, payload)
        except OSError as e:
            warnings.warn(f"tile.autotune: cannot write {path} ({e})", RuntimeWarning)


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _TunedLauncher:
    def __init__(self, tuner: Autotuner, grid):
        self.tuner, self.grid = tuner, grid

    def __call__(self, *args, **kwargs):
        if interpreter.requested():
            return self.interpret(*args, **kwargs)
        config = self.tuner.best_config = self.tuner.config_for(self.grid, args, kwargs)
        return self.tuner.fn._launch(self.grid, args, {**kwargs, **config.launch_kwargs()})

    def interpret(self, *args, **kwargs):
        """Runs the default configuration on the CPU interpreter (nothing is timed)."""
        self.tuner.key_of(args, kwargs)  # the same argument errors as a GPU launch
        self.tuner.best_config = self.tuner.default
        return self.tuner.fn[self.grid].interpret(*args, **kwargs,
                                                  **self.tuner.default.launch_kwargs())


def autotune(configs, key, default: Config | None = None, warmup: float = 25,
             rep: float = 100, timer=None, prune=None):
    """Decorator over `@tile.jit`: chooses among `configs` (tile.Config) by timing
    them on the first launch of each `key` (see the module docstring)."""
    def decorate(fn):
        return Autotuner(fn, configs, key, default, warmup, rep, timer, prune=prune)
    return decorate


__all__ = ["Autotuner", "Config", "CudaEventTimer", "autotune"]
