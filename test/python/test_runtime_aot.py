"""AOT: tile.compile writes cubin, PTX, fatbin and JSON metadata; the loader
checks arguments against the compiled signature and needs no MLIR."""
import json
import os
import subprocess
import sys

import pytest

import tile
from tile.compiler import find_ptxas
from tile.runtime import driver, load
from runtime_fakes import FakeCudaArray, RecordingKernel, decode, read_params

pytestmark = pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")

HERE = os.path.dirname(__file__)


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


SIGNATURE = {"x": "*f32:16", "y": "*f32:16", "out": "*f32:16", "n": "i32", "BLOCK": 1024}


@pytest.fixture
def artifact(tmp_path):
    return tile.compile(add, SIGNATURE, target="sm_90a", output_dir=tmp_path)


def test_files_and_metadata(artifact):
    meta = json.loads(artifact.metadata.read_text())
    assert artifact.cubin.read_bytes()[:4] == b"\x7fELF"
    assert ".entry add(" in artifact.ptx.read_text()
    assert meta["format"] == "tile-aot/1" and meta["arch"] == "sm_90a"
    assert meta["kernel"] == "add" and meta["block"] == [128, 1, 1]
    assert [a["name"] for a in meta["args"]] == ["x", "y", "out", "n"]
    assert meta["args"][0]["divisibility"] == 16 and meta["args"][3]["divisibility"] == 1
    assert meta["constexprs"] == {"BLOCK": "1024"}
    assert len(meta["params"]) == 7
    import hashlib
    for kind, file in meta["files"].items():
        blob = (artifact.metadata.parent / file).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == meta["sha256"][kind]
    if artifact.fatbin is not None:  # cubin + PTX in one file
        assert artifact.fatbin.stat().st_size > artifact.cubin.stat().st_size // 2


def test_positional_signature_and_errors(tmp_path):
    art = tile.compile(add, ["*f16:16", "*f16:16", "*f16:16", "i32:16", 256],
                       output_dir=tmp_path, name="add_f16")
    assert art.metadata.name == "add_f16.json"
    with pytest.raises(TypeError, match="must name every parameter"):
        tile.compile(add, {"x": "*f32"}, output_dir=tmp_path)
    with pytest.raises(TypeError, match="parameter 'n' needs a type string"):
        tile.compile(add, {**SIGNATURE, "n": 5}, output_dir=tmp_path)
    with pytest.raises(ValueError, match="unsupported arch"):
        tile.compile(add, SIGNATURE, target="sm_80", output_dir=tmp_path)


@tile.jit
def fill(x, BLOCK: tile.constexpr = 128, VALUE: tile.constexpr = 2.0):
    tile.store(x, 0, tile.full((BLOCK,), VALUE))


def test_constexpr_defaults_may_be_left_out(tmp_path):
    by_name = tile.compile(fill, {"x": "*f32:16", "VALUE": 3.0}, output_dir=tmp_path, name="a")
    positional = tile.compile(fill, ["*f32:16"], output_dir=tmp_path, name="b")
    assert json.loads(by_name.metadata.read_text())["constexprs"] == {"BLOCK": "128",
                                                                      "VALUE": "3.0"}
    assert json.loads(positional.metadata.read_text())["constexprs"] == {"BLOCK": "128",
                                                                         "VALUE": "2.0"}
    with pytest.raises(TypeError, match="must name every parameter"):
        tile.compile(fill, {"BLOCK": 64}, output_dir=tmp_path)


def test_loader_checks_arguments(artifact, monkeypatch):
    monkeypatch.setattr(driver, "LoadedKernel", RecordingKernel)
    RecordingKernel.launches = []
    kernel = load(artifact.metadata)
    x, y, out = (FakeCudaArray((1024,), pointer=0x7F0000000000 + i * 4096) for i in range(3))
    kernel[(1,)](x, y, out, 1000, stream=3)
    (launch,) = RecordingKernel.launches
    assert launch.stream == 3 and launch.grid == (1, 1, 1)
    abi = json.loads(artifact.metadata.read_text())["params"]
    assert decode(read_params(launch.kernel_params, abi)[6], "i32") == 1000
    misaligned = FakeCudaArray((1024,), pointer=0x7F0000000004)
    with pytest.raises(ValueError, match="argument 'x' does not fit the compiled signature: "
                                         "it needs rank-1 f32 array, 16-byte aligned"):
        kernel[(1,)](misaligned, y, out, 1000)
    with pytest.raises(ValueError, match="argument 'y' .* needs rank-1 f32 .* got rank-1 f16"):
        kernel[(1,)](x, FakeCudaArray((1024,), typestr="<f2"), out, 1000)
    with pytest.raises(ValueError, match="argument 'out' .* got rank-2 f32"):
        kernel[(1,)](x, y, FakeCudaArray((16, 64)), 1000)
    with pytest.raises(ValueError, match="argument 'x' .* needs .*size0 divisible by 16"):
        kernel[(1,)](FakeCudaArray((1000,)), y, out, 1000)
    with pytest.raises(ValueError, match="argument 'n' .* needs int i32; got float f32"):
        kernel[(1,)](x, y, out, 1000.0)
    with pytest.raises(TypeError, match="add takes 4 arguments"):
        kernel[(1,)](x, y, out)


def test_corrupt_artifact_is_refused(artifact):
    blob = artifact.cubin.read_bytes()
    artifact.cubin.write_bytes(blob[:-16])
    with pytest.raises(ValueError, match="checksum mismatch"):
        load(artifact.metadata)


def test_loader_needs_no_mlir(artifact):
    """In a process where importing MLIR fails, load and check an AOT kernel."""
    code = f"""
import sys
sys.modules["mlir"] = None  # any `import mlir` now raises ImportError
sys.path.insert(0, {HERE!r})
from tile.runtime import load
import tile
from tile.signature import array_key
kernel = load({str(artifact.metadata)!r})
try:
    kernel.check([array_key(tile.float32, 0x1004, (1024,), (1,))] * 3 + [True])
except ValueError as e:
    print("checked:", "16-byte aligned" in str(e))
print("mlir loaded:", any(m.startswith("mlir.") for m in sys.modules))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "checked: True" in proc.stdout and "mlir loaded: False" in proc.stdout
