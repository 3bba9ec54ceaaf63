# lit configuration: every .mlir under test/ runs through tile-opt + FileCheck.
import importlib.util
import os
import shutil
import sysconfig

import lit.formats

config.name = "tile"
config.test_format = lit.formats.ShTest(False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.test_source_root, "..", "build", "lit")
config.excludes = ["python", "lit.cfg.py"]


def tool_dir(tool, candidates):
    """The directory holding `tool`: $TILE_OPT's, the install's scripts dir, or PATH."""
    for d in candidates:
        if d and os.path.isfile(os.path.join(d, tool)):
            return d
    found = shutil.which(tool)
    if found:
        return os.path.dirname(found)
    lit_config.fatal(f"{tool} not found (looked in {candidates} and PATH); "
                     "run `make setup` first")


tile_opt = os.environ.get("TILE_OPT")
tile_opt_dir = tool_dir("tile-opt", [os.path.dirname(tile_opt) if tile_opt else None,
                                     sysconfig.get_path("scripts")])
llvm_pkg = importlib.util.find_spec("llvm").submodule_search_locations[0]
filecheck_dir = tool_dir("FileCheck", [os.path.join(llvm_pkg, "bin")])
config.environment["PATH"] = os.pathsep.join(
    [tile_opt_dir, filecheck_dir, config.environment.get("PATH", os.environ["PATH"])])
