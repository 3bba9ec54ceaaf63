"""Launching ahead-of-time compiled kernels (`tile.compile`) with only
cuda-python installed: no MLIR, no ptxas, no frontend.

    kernel = tile.runtime.load("out/add.json")
    kernel[grid](x, y, out, n)              # the runtime arguments; constexprs are baked in

The metadata is checked field by field when it is loaded (MetadataError, a
ValueError naming the file and the field), the arch against each device at the
first launch on it (an sm_90a kernel runs on compute capability 9.0 only), and
the arguments against the signature the kernel was compiled for (dtype, rank,
and every alignment or divisibility it assumes), each with an error naming the
argument.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .. import language as tl
from ..signature import ArgSpec, satisfies
from . import driver
from .abi import spec_of_part
from .arguments import INTERPRET_HINT, collect
from .launcher import Launcher, ParamPacker, check_clusters, grid3, resolve_stream
from .metadata import Fields, MetadataError, arch_capability, check_launch_metadata

FORMAT = "tile-aot/1"
_IMAGE_KINDS = ("cubin", "fatbin", "ptx")  # in the order _load tries them
_ARG_KINDS = ("array", "int", "float")


def spec_to_json(name: str, spec: ArgSpec) -> dict:
    if spec.kind == "symmetric":
        raise ValueError(f"argument '{name}': symmetric arrays (docs/distributed.md) are not "
                         "supported by AOT exports yet")
    return {"name": name, "kind": spec.kind, "dtype": spec.dtype.mlir if spec.dtype else None,
            "divisibility": spec.divisibility, "rank": spec.rank,
            "size_divisibility": list(spec.size_divisibility),
            "stride_divisibility": list(spec.stride_divisibility),
            "unit_inner_stride": spec.unit_inner_stride}


def spec_from_json(fields: Fields, data, field: str) -> tuple[str, ArgSpec]:
    """One entry of the metadata's "args", checked (MetadataError naming the field)."""
    data = fields.obj(data, field)
    name = fields.string(data, "name", field)
    kind = fields.string(data, "kind", field)
    if kind not in _ARG_KINDS:
        fields.fail(f"{field}.kind", f"{kind!r} is not one of {', '.join(_ARG_KINDS)}")
    dtype = fields.string(data, "dtype", field)
    if dtype not in tl.BY_MLIR:
        fields.fail(f"{field}.dtype", f"{dtype!r} is not a tile element type "
                                      f"({', '.join(tl.BY_MLIR)})")
    rank = fields.integer(data, "rank", field, minimum=1 if kind == "array" else 0)
    if kind != "array" and rank:
        fields.fail(f"{field}.rank", f"is {rank}; a scalar has rank 0")
    return name, ArgSpec(kind, tl.BY_MLIR[dtype], fields.integer(data, "divisibility", field, 1),
                         rank, tuple(fields.integers(data, "size_divisibility", field, rank, 1)),
                         tuple(fields.integers(data, "stride_divisibility", field, rank, 1)),
                         fields.boolean(data, "unit_inner_stride", field))


def describe(spec: ArgSpec) -> str:
    """A specialization in words, for mismatch errors."""
    if spec.kind != "array":
        return f"{spec.kind} {spec.dtype.mlir}" + (" divisible by 16" if spec.divisibility > 1
                                                  else "")
    facts = [f"rank-{spec.rank} {spec.dtype.mlir} array"]
    if spec.divisibility > 1:
        facts.append("16-byte aligned")
    facts += [f"size{d} divisible by 16" for d, v in enumerate(spec.size_divisibility) if v > 1]
    facts += [f"stride{d} divisible by {v}" for d, v in enumerate(spec.stride_divisibility)
              if v > 1]
    if spec.unit_inner_stride:
        facts.append("unit inner stride")
    return ", ".join(facts)


def read_metadata(path: Path) -> dict:
    """The JSON object of an AOT kernel's metadata file; MetadataError naming the
    file when it is not one."""
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.json"))
        raise MetadataError(path, "", "is a directory; tile.runtime.load takes the .json "
                            "metadata file tile.compile wrote" +
                            (f" (here: {', '.join(found[:5])}{', ...' * (len(found) > 5)})"
                             if found else ""))
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise MetadataError(path, "", f"not UTF-8 text ({e})") from None
    except json.JSONDecodeError as e:
        raise MetadataError(path, "", f"not JSON ({e})") from None
    fields = Fields(path)
    fields.obj(meta, "")
    if meta.get("format") != FORMAT:
        fields.fail("format", f"{meta.get('format')!r} is not {FORMAT!r}: not a tile AOT kernel")
    return meta


class AOTKernel:
    def __init__(self, metadata_path):
        if hasattr(metadata_path, "metadata") and hasattr(metadata_path, "cubin"):
            raise TypeError("tile.runtime.load takes the path of the metadata file: pass the "
                            "artifact's .metadata (tile.compile(...).metadata)")
        if not isinstance(metadata_path, (str, os.PathLike)):
            raise TypeError("tile.runtime.load takes the path of the .json metadata file "
                            f"tile.compile wrote, got {type(metadata_path).__name__}")
        path = Path(metadata_path)
        meta, fields = read_metadata(path), Fields(path)
        self.path, self.metadata = path, meta
        self.name = fields.string(meta, "kernel")
        self._tma = check_launch_metadata(fields, meta)
        self.images = self._read_images(fields)
        args = [spec_from_json(fields, a, f"args[{i}]")
                for i, a in enumerate(fields.array(meta, "args"))]
        self.arg_names = [name for name, _ in args]
        self.specs = dict(args)
        if len(self.specs) != len(args):
            fields.fail("args", f"names an argument twice ({', '.join(self.arg_names)})")
        try:  # the ABI must fit, now
            ParamPacker(self.name, args, meta["params"], self._tma)
        except RuntimeError as e:
            fields.fail("params", str(e))
        self.check_device()  # some device here must run it; each is checked at its launch
        self._accepted: set[tuple] = set()
        self._launchers: dict[int, Launcher] = {}

    def _read_images(self, fields: Fields) -> dict[str, bytes]:
        """The kernel's images by kind, each checked against its sha256."""
        files = fields.obj(fields.get(self.metadata, "files"), "files")
        digests = fields.obj(fields.get(self.metadata, "sha256"), "sha256")
        unknown = sorted(set(files) - set(_IMAGE_KINDS))
        if unknown or not files:
            fields.fail("files", f"names {unknown or 'no files'}; expected some of "
                                 f"{', '.join(_IMAGE_KINDS)}")
        images = {}
        for kind in _IMAGE_KINDS:
            if kind not in files:
                continue
            file = fields.string(files, kind, "files")
            if Path(file).name != file:  # the images sit next to the metadata
                fields.fail(f"files.{kind}", f"{file!r} is not a file name")
            digest = fields.string(digests, kind, "sha256")
            try:
                blob = (self.path.parent / file).read_bytes()
            except OSError as e:
                fields.fail(f"files.{kind}", f"{self.path.parent / file}: {e.strerror or e}")
            if hashlib.sha256(blob).hexdigest() != digest:
                raise MetadataError(self.path.parent / file, "", "checksum mismatch (the "
                                    "artifact is corrupt or does not belong to this metadata)")
            images[kind] = blob
        return images

    def __repr__(self) -> str:
        return f"<tile AOT kernel {self.name} ({self.metadata['arch']}) from {self.path}>"

    def __getitem__(self, grid):
        return lambda *args, stream=None: self.launch(grid, *args, stream=stream)

    def check(self, key: list) -> None:
        """Raises unless each argument fits the compiled specialization."""
        for name, part in zip(self.arg_names, key):
            actual, required = spec_of_part(part), self.specs[name]
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
            # No tile IR travels with the artifact, so no interpreter to point to.
            message = str(e).replace(INTERPRET_HINT, " (a kernel loaded from its AOT artifact "
                                                     "runs on the GPU only)")
            raise type(e)(f"{self.name}: {message}") from None
        key = tuple(key)
        if key not in self._accepted:
            self.check(key)
            self._accepted.add(key)
        grid = grid3(grid, self.name)
        if grid is None:
            return
        check_clusters(grid, self.metadata.get("num_ctas", 1), self.name)
        device = device or 0
        stream = resolve_stream(stream, hint, device)
        launcher = self._launchers.get(device) or self._load(device, stream)
        launcher(grid, stream, raw)

    def check_device(self, device: int | None = None) -> None:
        """Raises unless the kernel was compiled for `device`'s architecture (None:
        for some device present); an sm_90a kernel runs on compute capability 9.0
        only. Without a GPU there is nothing to check (loading the image fails)."""
        if not driver.gpu_available():
            return
        devices = range(_device_count()) if device is None else [device]
        have = {d: (driver.device_attribute(d, "COMPUTE_CAPABILITY_MAJOR"),
                    driver.device_attribute(d, "COMPUTE_CAPABILITY_MINOR")) for d in devices}
        arch = self.metadata["arch"]
        if arch_capability(arch) not in have.values():
            present = ", ".join(f"CUDA device {d} is sm_{major}{minor} (compute capability "
                                f"{major}.{minor})" for d, (major, minor) in have.items())
            raise MetadataError(self.path, "arch", f"the kernel is compiled for {arch}; "
                                f"{present}")

    def _load(self, device: int, stream: int | None = None) -> Launcher:
        self.check_device(device)
        meta = self.metadata
        loaded, errors = None, []
        for kind in _IMAGE_KINDS:
            if kind in self.images:
                image = self.images[kind] + (b"\0" if kind == "ptx" else b"")
                try:
                    loaded = driver.LoadedKernel(image, self.name, meta["shared_bytes"], device,
                                                 stream=stream)
                    break
                except driver.CudaError as e:
                    errors.append(f"{kind}: {e}")
        if loaded is None:
            raise driver.CudaError(f"{self.name}: no image loads on device {device}: "
                                   + "; ".join(errors))
        packer = ParamPacker(self.name, [(n, self.specs[n]) for n in self.arg_names],
                             meta["params"], self._tma)
        launcher = self._launchers[device] = Launcher(loaded, packer, meta["block"],
                                                      meta.get("num_ctas", 1))
        return launcher


def _device_count() -> int:
    cu = driver._cu()
    driver.check(cu.cuInit(0))
    return driver.check(cu.cuDeviceGetCount())


def load(metadata_path) -> AOTKernel:
    """An AOT kernel from the JSON metadata `tile.compile` wrote."""
    return AOTKernel(metadata_path)
