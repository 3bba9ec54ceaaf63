"""The kernels of examples/, as attributes: `from benchmarks import examples`, then
`examples.gemm.gemm_tuned`. The examples are scripts (`python3 examples/gemm.py`), not a
package, and import each other by plain name (gemm_epilogue.py: `from gemm import ...`),
so each is loaded from its file under that plain name, the name the tests import it by
too: one module object per example in a process."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str, folder: str = ""):
    """examples/[folder/]<name>.py as the module `name`, loaded once; a sibling it
    imports is loaded first."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as e:
        del sys.modules[name]
        if e.name is None or e.name == name or not (EXAMPLES / folder / f"{e.name}.py").is_file():
            raise
        load(e.name, folder)  # a sibling example, then this one again from the top
        return load(name, folder)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def __getattr__(name: str):
    if not name.startswith("_") and (EXAMPLES / f"{name}.py").is_file():
        return load(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r} "
                         f"(no examples/{name}.py)")
