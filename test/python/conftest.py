import os
import shutil
import tempfile

import pytest

import tile

_USER_CACHE = {}


def pytest_configure(config):
    """Tests never read or fill the user's kernel cache: a private one for the run."""
    _USER_CACHE["dir"] = os.environ.get("TILE_CACHE_DIR")
    _USER_CACHE["private"] = tempfile.mkdtemp(prefix="tile-cache-")
    os.environ["TILE_CACHE_DIR"] = _USER_CACHE["private"]


def pytest_unconfigure(config):
    shutil.rmtree(_USER_CACHE.pop("private", ""), ignore_errors=True)
    if _USER_CACHE.get("dir") is None:
        os.environ.pop("TILE_CACHE_DIR", None)
    else:
        os.environ["TILE_CACHE_DIR"] = _USER_CACHE["dir"]


def pytest_collection_modifyitems(config, items):
    """GPU tests skip, with the reason, where no CUDA device is present."""
    if tile.gpu_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine (GPU tests run on the device: "
                                   "scripts/gpu-suite.sh)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
