import pytest

import tile


def pytest_collection_modifyitems(config, items):
    """GPU tests skip, with the reason, where no CUDA device is present."""
    if tile.gpu_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine (GPU tests run on the device: "
                                   "scripts/gpu-suite.sh)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
