"""The binary wheel: `pip wheel .` packs the C++ library, the launch extension and
tile-opt; a fresh virtual environment installs it with pip and runs the demo with
nothing else on PATH (no compiler, no source tree). The wheel's dependencies (the
pinned MLIR bindings, numpy, ...) come from this interpreter's site-packages as a
plain path entry, so that the editable install's import hook is not loaded there."""
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKED = ("tile/_lib/libTileCAPI.so", "tile/_lib/_launch.abi3.so", "scripts/tile-opt")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if shutil.which("cmake") is None and not (ROOT / "build").is_dir():
        pytest.skip("no C++ build to pack (run `make setup` first)")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-build-isolation",
                    "--no-deps", "--quiet", "-w", str(out)], check=True, timeout=1800)
    (found,) = out.glob("tile-*.whl")
    return found


def test_the_wheel_holds_the_built_libraries_and_tile_opt(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for packed in PACKED:
        assert any(name.endswith(packed) for name in names), (packed, names)
    assert not any("__pycache__" in name for name in names)


def test_a_fresh_environment_runs_the_demo_from_the_wheel(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    str(wheel)], check=True, timeout=600)
    clean = {"PATH": str(venv / "bin"), "HOME": str(tmp_path)}  # no compiler, no repository
    where = subprocess.run([python, "-c", "import tile; print(tile.__file__)"], env=clean,
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(site)
    demo = subprocess.run([python, str(ROOT / "examples" / "vector_add.py")], env=clean,
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "matches" in demo.stdout, demo.stdout
    assert os.path.exists(site / "tile" / "_lib" / "libTileCAPI.so")
    assert os.access(venv / "bin" / "tile-opt", os.X_OK)
