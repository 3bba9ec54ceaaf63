"""The binary wheel: `pip wheel .` packs the C++ library, the launch extension and
tile-opt into one cp311-abi3 wheel (the extension uses the limited API of 3.11, the
library is loaded through ctypes); auditwheel, where it is installed, checks the
manylinux policy it meets, with the MLIR libraries it links left to the pinned MLIR
wheels it requires, and retags it. A fresh virtual environment of each of Python 3.11,
3.12 and 3.13 found on PATH installs the wheel with pip and runs the demo with nothing
else on PATH (no compiler, no source tree). Under the running interpreter's version the
dependencies come from this interpreter's site-packages as a plain path entry (offline,
and the editable install's import hook is not loaded there); under another version pip
installs the wheel's own Requires-Dist, binary wheels only, from the package index."""
import importlib.util
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
# Linked from the MLIR wheels that the tile wheel requires, so not grafted into it.
FROM_DEPENDENCIES = ("libMLIR.so", "libMLIRPythonCAPI.so", "libLLVM.so")
# The README's claim: dlopen and friends of the launch extension and tile-opt are GLIBC_2.34.
POLICY = "manylinux_2_34_x86_64"
VERSIONS = ("3.11", "3.12", "3.13")
# For the other interpreters and the fresh environment's pip: no path entry of the running Python.
OWN = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    if shutil.which("cmake") is None and not (ROOT / "build").is_dir():
        pytest.skip("no C++ build to pack (run `make setup` first)")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-build-isolation",
                    "--no-deps", "--quiet", "-w", str(out)], check=True, timeout=1800)
    (found,) = out.glob("tile-*.whl")
    return found


@pytest.fixture(scope="module")
def wheel(built, tmp_path_factory) -> Path:
    """The wheel as auditwheel retags it (`make wheel`), or as built without auditwheel."""
    if importlib.util.find_spec("auditwheel") is None:
        return built
    out = tmp_path_factory.mktemp("repaired")
    excludes = [arg for lib in FROM_DEPENDENCIES for arg in ("--exclude", lib)]
    repaired = subprocess.run(
        [sys.executable, "-m", "auditwheel", "repair", "--patcher", "none", *excludes,
         "-w", str(out), str(built)], capture_output=True, text=True, timeout=600)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    (found,) = out.glob("tile-*.whl")
    return found


def tags(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as whl:
        (info,) = [name for name in whl.namelist() if name.endswith(".dist-info/WHEEL")]
        text = whl.read(info).decode()
    return [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.startswith("Tag:")]


def files(whl: zipfile.ZipFile) -> set[str]:
    return {name for name in whl.namelist() if not name.endswith("/")}


def test_the_wheel_holds_the_built_libraries_and_tile_opt(built):
    names = zipfile.ZipFile(built).namelist()
    for packed in PACKED:
        assert any(name.endswith(packed) for name in names), (packed, names)
    assert not any("__pycache__" in name for name in names)


def test_one_wheel_serves_cpython_3_11_and_later(built):
    assert built.name.split("-")[2:4] == ["cp311", "abi3"], built.name
    assert [tag.split("-")[:2] for tag in tags(built)] == [["cp311", "abi3"]]


def test_auditwheel_finds_the_manylinux_policy_and_changes_no_binary(built, wheel):
    if wheel == built:
        pytest.skip("auditwheel is not installed (requirements-build.txt, make setup)")
    assert wheel.name.endswith(f"-cp311-abi3-{POLICY}.whl"), (
        f"{wheel.name}: auditwheel's policy for this build is not the README's {POLICY}")
    assert tags(wheel) == [f"cp311-abi3-{POLICY}"]
    with zipfile.ZipFile(built) as before, zipfile.ZipFile(wheel) as after:
        assert files(after) == files(before), "auditwheel grafted a library"
        for packed in PACKED:
            (name,) = [n for n in before.namelist() if n.endswith(packed)]
            assert before.read(name) == after.read(name), name


def interpreter(version: str) -> tuple[str, bool]:
    """The Python of `version` and whether it is the one running the tests."""
    if "%d.%d" % sys.version_info[:2] == version:
        return sys.executable, True
    # PATH's python3.X, else pyenv's install of it (its shim runs only where selected).
    candidates = [shutil.which(f"python{version}")]
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(Path(root, "versions").glob(f"{version}.*/bin/python{version}"))
    why = "not on PATH nor installed by pyenv"
    for found in filter(None, candidates):
        probe = subprocess.run([found, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                               env=OWN, capture_output=True, text=True, timeout=120)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return str(found), False
        why = f"{found} does not run: " + (probe.stderr.strip().splitlines() or [probe.stdout.strip()])[0]
    pytest.skip(f"python{version}: {why}")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_fresh_environment_runs_the_demo_from_the_wheel(wheel, version, tmp_path):
    found, running = interpreter(version)
    venv = tmp_path / "venv"
    subprocess.run([found, "-m", "venv", str(venv)], env=OWN, check=True, timeout=300)
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        env=OWN, text=True).strip())
    if running:
        (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        install = ["--no-deps", "--no-index"]
    else:
        install = ["--only-binary=:all:"]  # no compiler here either
    installed = subprocess.run([python, "-m", "pip", "install", "--quiet", *install, str(wheel)],
                               env=OWN, capture_output=True, text=True, timeout=1200)
    assert installed.returncode == 0, installed.stdout + installed.stderr
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
    tile_opt = venv / "bin" / "tile-opt"
    assert os.access(tile_opt, os.X_OK)
    if not running:  # the MLIR wheels lie in this environment, where tile-opt looks for them
        ran = subprocess.run([tile_opt, "--version"], env=clean, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stdout + ran.stderr
