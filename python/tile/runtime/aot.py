"""`tile.compile`: ahead-of-time compilation of one specialization to files
that `tile.runtime.load` launches with only cuda-python installed.

    tile.compile(add, {"x": "*f32:16", "y": "*f32:16", "out": "*f32:16", "n": "i32",
                       "BLOCK": 1024}, target="sm_90a", output_dir="build")
writes build/add.cubin, build/add.ptx, build/add.fatbin (cubin + PTX, when
the CUDA `fatbinary` tool is present) and build/add.json (the metadata).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .loader import FORMAT, spec_to_json


@dataclass
class AOTArtifact:
    metadata: Path
    cubin: Path
    ptx: Path
    fatbin: Path | None


def _fatbin(cubin: Path, ptx: Path, arch: str, out: Path) -> Path | None:
    tool = shutil.which("fatbinary")
    if tool is None:
        return None
    sm = arch.removeprefix("sm_")
    subprocess.run([tool, "-64", f"--create={out}", f"--image3=kind=elf,sm={sm},file={cubin}",
                    f"--image3=kind=ptx,sm={sm},file={ptx}"], check=True, capture_output=True)
    return out


def compile(kernel, signature, target: str = "sm_90a", output_dir=".", name: str | None = None,
            num_warps: int = 4, num_stages: int | None = None, warp_specialize: bool = False,
            num_ctas: int = 1) -> AOTArtifact:
    """Compiles `kernel` (a `@tile.jit` function) for one signature: a dict from
    parameter name to a type string (`"*f32:16"`, `"*bf16[2]:16"`, `"i32"`,
    `"f32"`) or, for constexpr parameters, the value; or those in parameter order.
    Constexpr parameters with a default may be left out (they take the default).
    num_warps, num_stages, warp_specialize and num_ctas are the launch options of
    the same names (an autotuner's Config gives them); num_ctas is kept in the
    metadata, and the loaded kernel's grid is checked against it."""
    from ..compiler import find_ptxas
    from .jit import JITFunction
    if not isinstance(kernel, JITFunction):
        hint = (" (an @tile.autotune kernel: compile its .fn with a configuration's "
                "constexprs and num_warps)" if isinstance(getattr(kernel, "fn", None),
                                                           JITFunction) else "")
        raise TypeError(f"tile.compile: kernel must be a @tile.jit function, got "
                        f"{getattr(kernel, '__name__', None) or type(kernel).__name__!s} "
                        f"({type(kernel).__name__}){hint}")
    if not isinstance(signature, (dict, list, tuple)):
        raise TypeError(f"tile.compile: signature must be a dict from parameter name to type "
                        f"string or value, or a list of them in parameter order; got "
                        f"{type(signature).__name__}")
    defaults = {n: p.default for n, p in kernel.signature.parameters.items()
                if n in kernel.constexpr_params and p.default is not p.empty}
    if isinstance(signature, dict):
        unknown = set(signature) - set(kernel.params)
        missing = [p for p in kernel.params if p not in signature and p not in defaults]
        if unknown or missing:
            raise TypeError(f"{kernel.__name__}: the signature must name every parameter "
                            f"(missing {missing}, unknown {sorted(unknown)})")
        values = [signature[p] if p in signature else defaults[p] for p in kernel.params]
    else:
        values = list(signature)
        rest = kernel.params[len(values):]
        if all(p in defaults for p in rest):
            values += [defaults[p] for p in rest]
        if len(values) != len(kernel.params):
            raise TypeError(f"{kernel.__name__}: the signature has {len(values)} entries, the "
                            f"kernel {len(kernel.params)} parameters")
    runtime, constexprs = {}, {}
    for param, value in zip(kernel.params, values):
        if param in kernel.constexpr_params:
            constexprs[param] = value
        elif not isinstance(value, str):
            raise TypeError(f"{kernel.__name__}: parameter '{param}' needs a type string such "
                            f"as '*f32:16' or 'i32', got {value!r}")
        else:
            runtime[param] = value
    if find_ptxas() is None:
        raise FileNotFoundError("tile.compile needs ptxas (CUDA 12.4+) on PATH or in TILE_PTXAS")
    bound = kernel._bind([], {**runtime, **constexprs, "num_warps": num_warps,
                              "num_stages": num_stages, "warp_specialize": warp_specialize,
                              "num_ctas": num_ctas})
    bound.options = dataclasses.replace(bound.options, arch=target)
    bound.options.validate()
    compiled = kernel._compile(bound)
    meta = compiled.metadata

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name or kernel.__name__
    cubin, ptx = out / f"{stem}.cubin", out / f"{stem}.ptx"
    cubin.write_bytes(compiled.cubin)
    ptx.write_text(compiled.ptx)
    with tempfile.TemporaryDirectory() as tmp:  # fatbinary wants plain files
        fat = _fatbin(cubin, ptx, target, Path(tmp) / "k.fatbin")
        fatbin = out / f"{stem}.fatbin" if fat else None
        if fat:
            shutil.copyfile(fat, fatbin)
    files = {"cubin": cubin, "ptx": ptx, **({"fatbin": fatbin} if fatbin else {})}
    metadata = {
        "format": FORMAT, "kernel": compiled.name, "arch": target,
        "num_warps": meta["num_warps"], "num_ctas": bound.options.num_ctas,
        "block": meta["block"],
        "shared_bytes": meta["shared_bytes"], "params": meta["params"],
        "tma": meta.get("tma", []),
        "args": [spec_to_json(n, bound.specs[n]) for n in kernel.params
                 if n not in kernel.constexpr_params],
        "constexprs": {k: repr(v) for k, v in constexprs.items()},
        "registers": meta.get("registers"), "spill_stores": meta.get("spill_stores"),
        "files": {kind: p.name for kind, p in files.items()},
        "sha256": {kind: hashlib.sha256(p.read_bytes()).hexdigest() for kind, p in files.items()},
    }
    from .. import __version__
    metadata["tile_version"] = __version__
    path = out / f"{stem}.json"
    path.write_text(json.dumps(metadata, indent=1))
    return AOTArtifact(path, cubin, ptx, fatbin)
