"""The C launch path, `tile._launch` (built from launch/ into tile/_lib/_launch.abi3.so),
loaded when present. `module` is the extension or None; `reason` says which file was
loaded or why none was, so that a benchmark can say which path ran.

With it, `kernel[grid](...)` binds, reads and launches in C for ints, floats and torch
tensors, and every launch packs its parameters and calls cuLaunchKernel in C; without
it, the pure-Python path (struct + cuda.bindings) does the same work.

TILE_NATIVE_LAUNCH=0 turns it off; TILE_LAUNCH_LIB=path loads that file instead of
searching `_lib/` in the tile package's directories (a warning, and the Python path,
when that file does not load). Nothing here needs a GPU: the extension opens libcuda
at its first launch.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import warnings
from pathlib import Path

EXTENSION = "_launch.abi3.so"
_OFF = ("0", "false", "no", "off")

module = None
reason = "not loaded yet"


def find() -> Path | None:
    """`$TILE_LAUNCH_LIB` if set, else `_lib/_launch.abi3.so` in a tile package directory."""
    if env := os.environ.get("TILE_LAUNCH_LIB"):
        return Path(env)
    import tile
    for root in tile.__path__:
        candidate = Path(root) / "_lib" / EXTENSION
        if candidate.is_file():
            return candidate
    return None


def _load():
    if os.environ.get("TILE_NATIVE_LAUNCH", "").strip().lower() in _OFF:
        return None, "turned off by TILE_NATIVE_LAUNCH"
    path = find()
    if path is None:
        return None, (f"{EXTENSION} not found in tile/_lib (built by CMake with the package; "
                      "`make device-stage` copies it into python/tile/_lib)")
    chosen = os.environ.get("TILE_LAUNCH_LIB")  # the user's file: its failure is said
    if chosen and not path.is_file():
        return _unloaded(f"TILE_LAUNCH_LIB={chosen} is not a file", chosen)
    try:
        loader = importlib.machinery.ExtensionFileLoader("tile._launch", str(path))
        spec = importlib.util.spec_from_file_location("tile._launch", path, loader=loader)
        extension = importlib.util.module_from_spec(spec)
        loader.exec_module(extension)
    except (ImportError, OSError) as e:
        if chosen:
            return _unloaded(f"TILE_LAUNCH_LIB={chosen} does not load: {e}", chosen)
        return None, f"{path} does not load: {e}"
    return extension, str(path)


def _unloaded(why: str, chosen: str):
    """The file TILE_LAUNCH_LIB names cannot be the launch path: a warning, then the
    Python path."""
    # Shown at the user's `import tile`: the first frame outside tile (the warnings
    # module does not count importlib's frames).
    package, level, frame = str(Path(__file__).resolve().parents[1]), 1, sys._getframe(0)
    while frame.f_back is not None and (frame.f_code.co_filename.startswith(package) or
                                        frame.f_code.co_filename.startswith("<frozen")):
        frame = frame.f_back
        level += not frame.f_code.co_filename.startswith("<frozen")
    warnings.warn(f"{why}; launches take the pure-Python path (unset TILE_LAUNCH_LIB to use "
                  f"the {EXTENSION} in tile/_lib)", RuntimeWarning, stacklevel=level)
    return None, why


module, reason = _load()


def path_name() -> str:
    """'C' when launches go through the extension, else 'Python' (and why)."""
    return "C" if module is not None else f"Python ({reason})"
