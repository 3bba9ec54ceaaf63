"""Launching ahead-of-time compiled kernels (`tile.compile`) with only
cuda-python installed: no MLIR, no ptxas, no frontend.

    kernel = tile.runtime.load("out/add.json")
    kernel[grid](x, y, out, n)              # the runtime arguments; constexprs are baked in

The arguments are checked against the signature the kernel was compiled for
(dtype, rank, and every alignment or divisibility it assumes), each with an
error naming the argument.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import language as tl
from ..signature import ArgSpec, satisfies, spec_of_array_key
from . import driver
from .arguments import FLOAT_KEY, collect
from .launcher import Launcher, ParamPacker, grid3, resolve_stream
from .tensormap import TensorMapSpec

FORMAT = "tile-aot/1"


def spec_to_json(name: str, spec: ArgSpec) -> dict:
    return {"name": name, "kind": spec.kind, "dtype": spec.dtype.mlir if spec.dtype else None,
            "divisibility": spec.divisibility, "rank": spec.rank,
            "size_divisibility": list(spec.size_divisibility),
            "stride_divisibility": list(spec.stride_divisibility),
            "unit_inner_stride": spec.unit_inner_stride}


def spec_from_json(data: dict) -> tuple[str, ArgSpec]:
    return data["name"], ArgSpec(data["kind"], tl.BY_MLIR[data["dtype"]], data["divisibility"],
                                 data["rank"], tuple(data["size_divisibility"]),
                                 tuple(data["stride_divisibility"]), data["unit_inner_stride"])


def describe(spec: ArgSpec) -> str:
    """A specialization in words, for mismatch errors."""
    if spec.kind != "array":
        return f"{spec.kind} {spec.dtype.mlir}" + (" divisible by 16" if spec.divisibility > 1
                                                  else "")
    facts = [f"rank-{spec.rank} {spec.dtype.mlir} array"]
    if spec.divisibility > 1:
        facts.append("16-byte aligned")
    facts += [f"size{d} divisible by 16" for d, v in enumerate(spec.size_divisibility) if v > 1]
    facts += [f"stride{d} divisible by 16" for d, v in enumerate(spec.stride_divisibility)
              if v > 1]
    if spec.unit_inner_stride:
        facts.append("unit inner stride")
    return ", ".join(facts)


def _actual_spec(part) -> ArgSpec:
    """The specialization behind one `collect` key part."""
    if isinstance(part, tuple):
        return spec_of_array_key(part)
    if part == FLOAT_KEY:
        return ArgSpec("float", tl.float32)
    return ArgSpec("int", tl.int32, 16 if part else 1)


class AOTKernel:
    def __init__(self, metadata_path):
        path = Path(metadata_path)
        meta = json.loads(path.read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a tile AOT kernel (format {meta.get('format')!r}, "
                             f"expected {FORMAT!r})")
        self.path, self.metadata, self.name = path, meta, meta["kernel"]
        self.images = {}
        for kind in ("cubin", "fatbin", "ptx"):
            file = meta["files"].get(kind)
            if file is None:
                continue
            blob = (path.parent / file).read_bytes()
            if hashlib.sha256(blob).hexdigest() != meta["sha256"][kind]:
                raise ValueError(f"{path.parent / file}: checksum mismatch (the artifact is "
                                 "corrupt or does not belong to this metadata)")
            self.images[kind] = blob
        args = [spec_from_json(a) for a in meta["args"]]
        self.arg_names = [name for name, _ in args]
        self.specs = dict(args)
        self._tma = [TensorMapSpec.from_metadata(t) for t in meta.get("tma", [])]
        ParamPacker(self.name, args, meta["params"], self._tma)  # the ABI must fit, now
        self._accepted: set[tuple] = set()
        self._launchers: dict[int, Launcher] = {}

    def __repr__(self) -> str:
        return f"<tile AOT kernel {self.name} ({self.metadata['arch']}) from {self.path}>"

    def __getitem__(self, grid):
        return lambda *args, stream=None: self.launch(grid, *args, stream=stream)

    def check(self, key: list) -> None:
        """Raises unless each argument fits the compiled specialization."""
        for name, part in zip(self.arg_names, key):
            actual, required = _actual_spec(part), self.specs[name]
            if not satisfies(actual, required):
                raise ValueError(f"{self.name}: argument '{name}' does not fit the compiled "
                                 f"signature: it needs {describe(required)}; got "
                                 f"{describe(actual)}")

    def launch(self, grid, *args, stream=None) -> None:
        if len(args) != len(self.arg_names):
            raise TypeError(f"{self.name} takes {len(self.arg_names)} arguments "
                            f"({', '.join(self.arg_names)}), got {len(args)}")
        key, raw = [], []
        try:
            device, hint = collect(self.arg_names, args, key, raw, stream)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{self.name}: {e}") from None
        key = tuple(key)
        if key not in self._accepted:
            self.check(key)
            self._accepted.add(key)
        grid = grid3(grid, self.name)
        if grid is None:
            return
        device = device or 0
        launcher = self._launchers.get(device) or self._load(device)
        launcher(grid, resolve_stream(stream, hint, device), raw)

    def _load(self, device: int) -> Launcher:
        meta = self.metadata
        loaded, errors = None, []
        for kind in ("cubin", "fatbin", "ptx"):  # the fatbin's PTX serves newer GPUs
            if kind in self.images:
                image = self.images[kind] + (b"\0" if kind == "ptx" else b"")
                try:
                    loaded = driver.LoadedKernel(image, self.name, meta["shared_bytes"], device)
                    break
                except driver.CudaError as e:
                    errors.append(f"{kind}: {e}")
        if loaded is None:
            raise driver.CudaError(f"{self.name}: no image loads on device {device}: "
                                   + "; ".join(errors))
        packer = ParamPacker(self.name, [(n, self.specs[n]) for n in self.arg_names],
                             meta["params"], self._tma)
        launcher = self._launchers[device] = Launcher(loaded, packer, meta["block"])
        return launcher


def load(metadata_path) -> AOTKernel:
    """An AOT kernel from the JSON metadata `tile.compile` wrote."""
    return AOTKernel(metadata_path)
