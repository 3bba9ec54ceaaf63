import pytest

import tile


@pytest.fixture(autouse=True, scope="session")
def _private_kernel_cache(tmp_path_factory):
    """Tests never read or fill the user's kernel cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("TILE_CACHE_DIR", str(tmp_path_factory.mktemp("tile-cache")))
    yield
    patch.undo()


def pytest_collection_modifyitems(config, items):
    """GPU tests skip, with the reason, where no CUDA device is present."""
    if tile.gpu_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine (GPU tests run on the device: "
                                   "scripts/gpu-suite.sh)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
