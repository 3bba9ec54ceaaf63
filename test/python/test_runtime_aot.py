"""AOT: tile.compile writes cubin, PTX, fatbin and JSON metadata; the loader
checks arguments against the compiled signature and needs no MLIR."""
import json
import os
import re
import subprocess
import sys

import numpy as np
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


def test_compile_and_load_refuse_what_they_do_not_take(artifact, tmp_path):
    """tile.compile of a plain function, load of a directory or of the artifact object:
    a TypeError or ValueError saying what to pass, not an AttributeError or OSError."""
    from tile.runtime.metadata import MetadataError
    with pytest.raises(TypeError, match=r"tile.compile: kernel must be a @tile.jit function, "
                                        r"got <lambda> \(function\)"):
        tile.compile(lambda x: x, ["i32"], output_dir=tmp_path)
    with pytest.raises(TypeError, match="an @tile.autotune kernel: compile its .fn"):
        tile.compile(tile.autotune([tile.Config({"BLOCK": 128})], key=["n"])(add), SIGNATURE,
                     output_dir=tmp_path)
    with pytest.raises(TypeError, match="signature must be a dict .* got str"):
        tile.compile(add, "*f32:16", output_dir=tmp_path)
    directory = artifact.metadata.parent
    with pytest.raises(MetadataError, match=f"^{re.escape(str(directory))}: is a directory; "
                                            r"tile.runtime.load takes the .json metadata file "
                                            r"tile.compile wrote \(here: add.json\)"):
        load(directory)
    with pytest.raises(TypeError, match=r"pass the artifact's .metadata"):
        load(artifact)
    with pytest.raises(TypeError, match="takes the path of the .json metadata file .* got int"):
        load(3)


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


def test_launch_options_of_a_tuned_configuration(tmp_path, monkeypatch):
    """num_stages, warp_specialize and num_ctas as a launch takes them (the GEMM of
    examples/gemm.py in clusters of two, warp-specialized); the loader checks that
    the grid holds whole clusters."""
    sys.path.insert(0, os.path.join(HERE, "..", "..", "examples"))
    from gemm import gemm_cluster
    art = tile.compile(gemm_cluster, {"A": "*f16[2]:16", "B": "*f16[2]:16", "C": "*f32[2]:16",
                                      "BM": 128, "BN": 256, "BK": 64, "GROUP": 8},
                       output_dir=tmp_path, num_warps=8, num_stages=4, warp_specialize=True,
                       num_ctas=2)
    meta = json.loads(art.metadata.read_text())
    ptx = art.ptx.read_text()
    assert meta["num_ctas"] == 2 and ".reqnctapercluster 2, 1, 1" in ptx
    assert "setmaxnreg" in ptx  # the producer warpgroup gives its registers up
    monkeypatch.setattr(driver, "LoadedKernel", RecordingKernel)
    RecordingKernel.launches = []
    kernel = load(art.metadata)
    a, b, c = (FakeCudaArray((256, 256), typestr=t, pointer=0x7F0000000000 + i * (1 << 20))
               for i, t in enumerate(("<f2", "<f2", "<f4")))
    with pytest.raises(ValueError, match="clusters of 2 along axis 0"):
        kernel[(3,)](a, b, c)


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
    host = np.zeros(1024, np.float32)  # no interpreter to point to: no IR in the artifact
    with pytest.raises(ValueError, match=r"argument 'x' is a host array.*\(a kernel loaded from "
                                         r"its AOT artifact runs on the GPU only\)$"):
        kernel[(1,)](host, y, out, 1000)


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


# -- malformed metadata: an error naming the file and the field, at load ------------------------
def _edit(**values):
    def edit(meta):
        meta.update(values)
        return meta
    return edit


def _drop(name):
    def edit(meta):
        del meta[name]
        return meta
    return edit


def _in(field, index, **values):
    def edit(meta):
        meta[field][index].update(values)
        return meta
    return edit


MALFORMED = {  # name: (edit of the JSON document, or bytes for the file; the field named)
    "not_json": (b'{"format": "tile-aot/1",', "not JSON"),
    "not_utf8": (b"\xff\xfe{}", "not UTF-8 text"),
    "list": (lambda meta: [meta], "the document is a list, expected an object"),
    "format": (_edit(format="tile-aot/0"), "format: 'tile-aot/0' is not 'tile-aot/1'"),
    "no_kernel": (_drop("kernel"), "kernel: is missing"),
    "block_zero": (_edit(block=[0, 1, 1]), r"block\[0\]: is 0, must be at least 1"),
    "block_short": (_edit(block=[128, 1]), "block: has 2 entries, expected 3"),
    "block_too_big": (_edit(block=[2048, 1, 1]), "block: .* more than 1024 threads"),
    "block_bool": (_edit(block=[True, 1, 1]), r"block\[0\]: is a boolean, expected an integer"),
    "shared_negative": (_edit(shared_bytes=-5), "shared_bytes: is -5, must be at least 0"),
    "shared_string": (_edit(shared_bytes="0"), "shared_bytes: is a string"),
    "arch_format": (_edit(arch="hopper"), "arch: 'hopper' is not a CUDA arch"),
    "arch_number": (_edit(arch=90), "arch: is an integer, expected a non-empty string"),
    "arch_unsupported": (_edit(arch="sm_80"), r"arch: 'sm_80' is not an arch tile compiles for "
                                              r"\(sm_90a\)"),
    "num_warps_3": (_edit(num_warps=3), "num_warps: is 3, must be one of 1, 2, 4, 8, 16"),
    "num_warps_32": (_edit(num_warps=32), "num_warps: is 32, must be one of 1, 2, 4, 8, 16"),
    "params_dict": (_edit(params={}), "params: is an object, expected a list"),
    "param_align": (_in("params", 0, align=3), r"params\[0\].align: 3 is not a power of two"),
    "params_count": (lambda meta: {**meta, "params": meta["params"][:-1]},
                     "params: add: the kernel has 6 parameters"),
    "tma_entry": (_edit(tma=[{"param": "x"}]), r"tma\[0\]: malformed TMA metadata"),
    "files_list": (_edit(files=["add.cubin"]), "files: is a list, expected an object"),
    "files_unknown": (_edit(files={"elf": "add.cubin"}), r"files: names \['elf'\]"),
    "files_path": (lambda meta: {**meta, "files": {"cubin": "../add.cubin"}},
                   "files.cubin: '../add.cubin' is not a file name"),
    "files_missing": (lambda meta: {**meta, "files": {"cubin": "gone.cubin"}},
                      "files.cubin: .*gone.cubin: No such file"),
    "sha_missing": (lambda meta: {**meta, "sha256": {}}, "sha256.cubin: is missing"),
    "args_dict": (_edit(args={}), "args: is an object, expected a list"),
    "arg_dtype": (_in("args", 1, dtype="f33"), r"args\[1\].dtype: 'f33' is not a tile element"),
    "arg_kind": (_in("args", 1, kind="tensor"), r"args\[1\].kind: 'tensor' is not one of"),
    "arg_no_name": (lambda meta: {**meta, "args": [{k: v for k, v in a.items() if k != "name"}
                                                  for a in meta["args"]]},
                    r"args\[0\].name: is missing"),
    "arg_sizes": (_in("args", 0, size_divisibility=[16, 16]),
                  r"args\[0\].size_divisibility: has 2 entries, expected 1"),
    "arg_unit_stride": (_in("args", 0, unit_inner_stride=1),
                        r"args\[0\].unit_inner_stride: is an integer, expected true or false"),
}


@pytest.mark.parametrize("damage", sorted(MALFORMED))
def test_malformed_metadata_names_file_and_field(artifact, damage):
    from tile.runtime.metadata import MetadataError
    edit, says = MALFORMED[damage]
    path = artifact.metadata
    if isinstance(edit, bytes):
        path.write_bytes(edit)
    else:
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    with pytest.raises(MetadataError, match=f"^{re.escape(str(path))}: {says}") as caught:
        load(path)
    assert isinstance(caught.value, ValueError) and caught.value.source == str(path)


def _fake_devices(monkeypatch, *capabilities):
    """GPUs of these compute capabilities, as the loader asks the driver about them."""
    from tile.runtime import loader
    names = ("COMPUTE_CAPABILITY_MAJOR", "COMPUTE_CAPABILITY_MINOR")
    monkeypatch.setattr(driver, "gpu_available", lambda: True)
    monkeypatch.setattr(loader, "_device_count", lambda: len(capabilities))
    monkeypatch.setattr(driver, "device_attribute",
                        lambda device, name: capabilities[device][names.index(name)])
    monkeypatch.setattr(driver, "LoadedKernel", RecordingKernel)
    RecordingKernel.launches = []


def test_arch_is_checked_against_the_devices(artifact, monkeypatch):
    from tile.runtime.metadata import MetadataError
    kernel = load(artifact.metadata)  # no device: only the metadata is checked
    named = re.escape(str(artifact.metadata))
    _fake_devices(monkeypatch, (10, 0))
    with pytest.raises(MetadataError, match=f"{named}: arch: the kernel is compiled for sm_90a; "
                                            "CUDA device 0 is sm_100"):
        load(artifact.metadata)
    x, y, out = (FakeCudaArray((1024,), pointer=0x7F0000000000 + i * 4096) for i in range(3))
    with pytest.raises(MetadataError, match="compiled for sm_90a; CUDA device 0 is sm_100"):
        kernel[(1,)](x, y, out, 1000)  # loaded before the device was there: its launch
    assert RecordingKernel.launches == []  # nothing loaded, nothing launched

    _fake_devices(monkeypatch, (9, 0))  # sm_90a: runs on 9.0 only
    load(artifact.metadata)[(1,)](x, y, out, 1000)
    assert len(RecordingKernel.launches) == 1
    _fake_devices(monkeypatch, (10, 0), (9, 0))
    kernel = load(artifact.metadata)  # device 1 can run it
    with pytest.raises(MetadataError, match="compiled for sm_90a; CUDA device 0 is sm_100"):
        kernel[(1,)](x, y, out, 1000)  # on device 0


def test_loading_inside_a_capture_is_refused(artifact, monkeypatch):
    """An artifact's first launch on a device loads it: inside a CUDA graph capture,
    a CaptureError before any driver call."""
    monkeypatch.setattr(driver, "stream_capturing", lambda stream: True)
    kernel = load(artifact.metadata)
    x, y, out = (FakeCudaArray((1024,), pointer=0x7F0000000000 + i * 4096) for i in range(3))
    with pytest.raises(tile.CaptureError, match="warm-up"):
        kernel[(1,)](x, y, out, 1000, stream=3)
