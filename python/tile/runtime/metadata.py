"""Checking kernel metadata read back from disk (an AOT kernel's JSON, a disk-cache
entry) before anything uses it, so that a malformed file is an error naming the
file and the field, not a KeyError or AttributeError at some later launch.

Needs no MLIR: the AOT loader uses it.
"""
from __future__ import annotations

import re

from ..compiler.driver import NUM_WARPS, SUPPORTED_ARCHS  # no MLIR: the rules, not the passes
from .tensormap import TensorMapError, TensorMapSpec

MAX_BLOCK_THREADS = 1024
_ARCH = re.compile(r"^sm_(\d{2,3})[af]?$")  # sm_90a, sm_100f
_MISSING = object()


class MetadataError(ValueError):
    """Kernel metadata that is not what tile writes. `source` is the file,
    `field` the path to the bad field (e.g. "block[0]", "kernel.asm.cubin")."""

    def __init__(self, source, field: str, problem: str):
        self.source, self.field, self.problem = str(source), field, problem
        super().__init__(f"{source}: {self.detail}")

    @property
    def detail(self) -> str:
        """What is wrong, without the file."""
        return f"{self.field}: {self.problem}" if self.field else self.problem


def kind_of(value) -> str:
    """What a JSON value is, in words."""
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _join(prefix: str, name) -> str:
    if isinstance(name, int):
        return f"{prefix}[{name}]"
    return f"{prefix}.{name}" if prefix else name


class Fields:
    """Checked reads of one JSON document's fields; every failure raises
    MetadataError naming `source` and the field's path."""

    def __init__(self, source):
        self.source = source

    def fail(self, field: str, problem: str):
        raise MetadataError(self.source, field, problem)

    def obj(self, value, field: str) -> dict:
        """`value`, which must be an object; field "" is the whole document."""
        if not isinstance(value, dict):
            self.fail(field, f"{'is' if field else 'the document is'} {kind_of(value)}, "
                             "expected an object")
        return value

    def get(self, parent: dict, name: str, prefix: str = "", default=_MISSING):
        """parent[name], or `default` when it is absent (an error without one)."""
        if name not in parent:
            if default is _MISSING:
                self.fail(_join(prefix, name), "is missing")
            return default
        return parent[name]

    def string(self, parent: dict, name: str, prefix: str = "", default=_MISSING) -> str:
        value = self.get(parent, name, prefix, default)
        if value is not default and (not isinstance(value, str) or not value):
            self.fail(_join(prefix, name), f"is {kind_of(value)}, expected a non-empty string")
        return value

    def integer(self, parent, name, prefix: str = "", minimum: int | None = None,
                default=_MISSING) -> int:
        value = self.get(parent, name, prefix, default) if isinstance(parent, dict) \
            else parent[name]
        if value is default:
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(_join(prefix, name), f"is {kind_of(value)}, expected an integer")
        if minimum is not None and value < minimum:
            self.fail(_join(prefix, name), f"is {value}, must be at least {minimum}")
        return value

    def boolean(self, parent: dict, name: str, prefix: str = "") -> bool:
        value = self.get(parent, name, prefix)
        if not isinstance(value, bool):
            self.fail(_join(prefix, name), f"is {kind_of(value)}, expected true or false")
        return value

    def array(self, parent: dict, name: str, prefix: str = "", length: int | None = None,
              default=_MISSING) -> list:
        value = self.get(parent, name, prefix, default)
        if value is default:
            return value
        if not isinstance(value, list):
            self.fail(_join(prefix, name), f"is {kind_of(value)}, expected a list")
        if length is not None and len(value) != length:
            self.fail(_join(prefix, name), f"has {len(value)} entries, expected {length}")
        return value

    def integers(self, parent: dict, name: str, prefix: str = "", length: int | None = None,
                 minimum: int | None = None) -> list[int]:
        values = self.array(parent, name, prefix, length)
        field = _join(prefix, name)
        return [self.integer(values, i, field, minimum) for i in range(len(values))]


def check_arch(fields: Fields, meta: dict, prefix: str = "") -> str:
    """The target arch: sm_ and the compute capability, one tile compiles for
    (`CompileOptions.validate`'s SUPPORTED_ARCHS)."""
    arch = fields.string(meta, "arch", prefix)
    if not _ARCH.match(arch):
        fields.fail(_join(prefix, "arch"), f"{arch!r} is not a CUDA arch such as 'sm_90a'")
    if arch not in SUPPORTED_ARCHS:
        fields.fail(_join(prefix, "arch"), f"{arch!r} is not an arch tile compiles for "
                                           f"({', '.join(SUPPORTED_ARCHS)})")
    return arch


def arch_capability(arch: str) -> tuple[int, int]:
    """(major, minor) of a checked arch: sm_90a -> (9, 0)."""
    number = int(_ARCH.match(arch).group(1))
    return number // 10, number % 10


def check_launch_metadata(fields: Fields, meta: dict, prefix: str = "") -> list[TensorMapSpec]:
    """The fields every launch reads (the JIT's compiled metadata and AOT metadata
    alike): arch, block, shared_bytes, params, tma, num_ctas. Returns the TMA specs."""
    check_arch(fields, meta, prefix)
    num_warps = fields.integer(meta, "num_warps", prefix, minimum=1)
    if num_warps not in NUM_WARPS:  # as `CompileOptions.validate` takes it
        fields.fail(_join(prefix, "num_warps"), f"is {num_warps}, must be one of "
                                                f"{', '.join(map(str, NUM_WARPS))}")
    block = fields.integers(meta, "block", prefix, length=3, minimum=1)
    if block[0] * block[1] * block[2] > MAX_BLOCK_THREADS:
        fields.fail(_join(prefix, "block"), f"{block} is more than {MAX_BLOCK_THREADS} threads")
    fields.integer(meta, "shared_bytes", prefix, minimum=0)
    fields.integer(meta, "num_ctas", prefix, minimum=1, default=1)
    params = _join(prefix, "params")
    for i, slot in enumerate(fields.array(meta, "params", prefix)):
        slot = fields.obj(slot, _join(params, i))
        fields.integer(slot, "size", _join(params, i), minimum=1)
        align = fields.integer(slot, "align", _join(params, i), minimum=1)
        if align & (align - 1):
            fields.fail(_join(_join(params, i), "align"), f"{align} is not a power of two")
    specs = []
    tma = _join(prefix, "tma")
    for i, entry in enumerate(fields.array(meta, "tma", prefix, default=[])):
        try:
            specs.append(TensorMapSpec.from_metadata(fields.obj(entry, _join(tma, i))))
        except TensorMapError as e:
            fields.fail(_join(tma, i), str(e))
    return specs
