"""`python -m tile`: compile, dump and cache commands, as Triton's tools offer.

    python -m tile compile examples/vector_add.py:add x='*f32:16' y='*f32:16' \\
        out='*f32:16' n=i32 BLOCK=1024 -o build        # AOT: cubin, PTX, metadata
    python -m tile dump examples/vector_add.py:add ... -o dump   # every stage
    python -m tile cache list | clear                  # the disk cache

A kernel is `FILE.py:NAME`, a `@tile.jit` function at the top level of the
file. Each runtime parameter takes a type string (`*f32:16`, `*bf16[2]:16`,
`i32`, `f32`); each constexpr parameter a Python literal (`1024`, `True`,
`tile.float16` as `float16`); launch options go as `num_warps=8`.
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import shutil
import sys
from pathlib import Path


class UsageError(Exception):
    """A mistake on the command line: printed as one line, exit status 2."""


def load_kernel(target: str):
    """The `@tile.jit` function `NAME` of `FILE.py:NAME`."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise UsageError(f"'{target}': name a kernel as FILE.py:NAME")
    if not Path(path).is_file():
        raise UsageError(f"'{path}': no such file")
    spec = importlib.util.spec_from_file_location(f"_tile_cli_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(path).resolve().parent))  # the file's own imports
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    from .runtime import JITFunction
    kernel = getattr(module, name, None)
    if not isinstance(kernel, JITFunction):
        found = sorted(k for k, v in vars(module).items() if isinstance(v, JITFunction))
        raise UsageError(f"'{name}' in {path} is not a @tile.jit function "
                         f"(its kernels: {', '.join(found) or 'none'})")
    return kernel


def _constexpr_value(text: str):
    import tile
    if isinstance(getattr(tile, text, None), tile.dtype):
        return getattr(tile, text)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise UsageError(f"'{text}' is not a Python literal or a tile dtype") from None


def parse_signature(kernel, items: list[str]) -> tuple[dict, dict]:
    """`NAME=VALUE` items as (the kernel's arguments, launch options)."""
    from .runtime.jit import LAUNCH_OPTIONS
    arguments, options = {}, {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise UsageError(f"'{item}': give each argument as NAME=VALUE")
        if name in arguments or name in options:
            raise UsageError(f"'{name}' is given twice")
        if name in LAUNCH_OPTIONS and name != "stream":
            options[name] = _constexpr_value(text)
        elif name in kernel.constexpr_params:
            arguments[name] = _constexpr_value(text)
        elif name in kernel.params:
            arguments[name] = text
        else:
            raise UsageError(f"{kernel.__name__} has no parameter '{name}' "
                             f"(its parameters: {', '.join(kernel.params)})")
    return arguments, options


def compile_command(args) -> None:
    from .runtime import compile as aot_compile
    kernel = load_kernel(args.kernel)
    arguments, options = parse_signature(kernel, args.arguments)  # launch options as a launch
    artifact = aot_compile(kernel, arguments, target=args.target, output_dir=args.output,
                           **options)
    for path in (artifact.metadata, artifact.cubin, artifact.ptx, artifact.fatbin):
        if path is not None:
            print(path)


def dump_command(args) -> None:
    kernel = load_kernel(args.kernel)
    arguments, options = parse_signature(kernel, args.arguments)
    missing = [p for p in kernel.params if p not in arguments
               and (p not in kernel.constexpr_params
                    or kernel.signature.parameters[p].default is kernel.signature.parameters[p].empty)]
    if missing:
        raise UsageError(f"{kernel.__name__} needs a value for {', '.join(missing)}")
    os.environ["TILE_DUMP_DIR"] = str(args.output)  # the driver writes every stage there
    runtime = [arguments[p] for p in kernel.params if p not in kernel.constexpr_params]
    constexprs = {p: v for p, v in arguments.items() if p in kernel.constexpr_params}
    kernel.compile(*runtime, **constexprs, **options)
    folder = Path(args.output) / kernel.__name__
    for path in sorted(folder.iterdir()):
        print(path)


def cache_command(args) -> None:
    from .runtime.cache import cache_dir
    directory = Path(args.dir) if args.dir else cache_dir()
    if directory is None:
        raise UsageError("the disk cache is off (TILE_CACHE=0 or TILE_DUMP_DIR is set)")
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"'{directory}' is not a folder")
    entries = sorted(directory.glob("??/*.json")) if directory.is_dir() else []
    if args.action == "list":
        total = 0
        for entry in entries:
            size = entry.stat().st_size
            total += size
            print(f"{size:>10}  {entry}")
        print(f"{len(entries)} entries, {total} bytes in {directory}")
    else:
        for entry in entries:
            entry.unlink()
        for sub in directory.glob("??") if directory.is_dir() else []:
            if sub.is_dir():
                shutil.rmtree(sub, ignore_errors=True)  # also writers' leftover temporaries
        print(f"removed {len(entries)} entries from {directory}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tile", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compile", help="AOT-compile one specialization: cubin, PTX, metadata")
    d = sub.add_parser("dump", help="write every compilation stage of one specialization")
    for s, default in ((c, "."), (d, "tile-dump")):
        s.add_argument("kernel", help="FILE.py:NAME")
        s.add_argument("arguments", nargs="*", metavar="NAME=VALUE",
                       help="a type string per runtime parameter, a literal per constexpr")
        s.add_argument("-o", "--output", default=default, help=f"folder (default {default})")
    c.add_argument("--target", default="sm_90a", help="the GPU architecture (default sm_90a)")
    k = sub.add_parser("cache", help="list or clear the disk cache")
    k.add_argument("action", choices=("list", "clear"))
    k.add_argument("--dir", help="the cache folder (default: TILE_CACHE_DIR, else "
                   "$XDG_CACHE_HOME/tile, else ~/.cache/tile)")
    return p


def main(argv: list[str] | None = None) -> int:
    from .errors import CompilationError
    args = parser().parse_args(argv)
    command = {"compile": compile_command, "dump": dump_command, "cache": cache_command}
    try:
        command[args.command](args)
    except UsageError as e:
        print(f"python -m tile {args.command}: {e}", file=sys.stderr)
        return 2
    except (CompilationError, TypeError, ValueError, FileNotFoundError) as e:
        print(f"python -m tile {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
