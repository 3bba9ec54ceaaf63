"""`python -m tile`: compile, dump and cache, and what a mistake on the command line prints."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tile
from tile.__main__ import main
from tile.compiler import find_ptxas

ROOT = Path(__file__).resolve().parents[2]
ADD = f"{ROOT / 'examples' / 'vector_add.py'}:add"
SIGNATURE = ["x=*f32:16", "y=*f32:16", "out=*f32:16", "n=i32", "BLOCK=1024"]
needs_ptxas = pytest.mark.skipif(find_ptxas() is None, reason="needs ptxas (CUDA 12.4+)")


@needs_ptxas
def test_compile_writes_cubin_ptx_and_metadata(tmp_path, capsys):
    assert main(["compile", ADD, *SIGNATURE, "num_warps=8", "num_stages=3", "-o",
                 str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "add.json").read_text())
    assert meta["kernel"] == "add" and meta["num_warps"] == 8 and meta["arch"] == "sm_90a"
    assert (tmp_path / "add.cubin").stat().st_size > 0
    assert ".entry add" in (tmp_path / "add.ptx").read_text()
    assert str(tmp_path / "add.json") in capsys.readouterr().out


def test_dump_writes_every_stage(tmp_path, monkeypatch):
    monkeypatch.delenv("TILE_DUMP_DIR", raising=False)
    assert main(["dump", ADD, *SIGNATURE, "-o", str(tmp_path)]) == 0
    stages = {p.name for p in (tmp_path / "add").iterdir()}
    assert {"0-tile.mlir", "1-llvm.mlir", "2-kernel.ptx"} <= stages
    assert "tile.load" in (tmp_path / "add" / "0-tile.mlir").read_text()


@needs_ptxas
def test_cache_list_and_clear(tmp_path, monkeypatch, capsys):
    @tile.jit
    def scale(x, out, n, BLOCK: tile.constexpr):
        start = tile.program_id(0) * BLOCK
        tile.store(out, start, tile.load(x, start, BLOCK, bound=n) * 2.0, bound=n)

    monkeypatch.setenv("TILE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TILE_DUMP_DIR", raising=False)
    monkeypatch.delenv("TILE_CACHE", raising=False)
    scale.compile("*f32:16", "*f32:16", "i32", BLOCK=256)
    assert main(["cache", "list"]) == 0
    assert "1 entries" in capsys.readouterr().out
    assert main(["cache", "clear"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert not list(tmp_path.glob("??/*.json"))


@pytest.mark.parametrize("argv, message", [
    (["compile", "no_such_file.py:k"], "'no_such_file.py': no such file"),
    (["compile", "examples/vector_add.py"], "name a kernel as FILE.py:NAME"),
    (["compile", f"{ROOT / 'examples' / 'vector_add.py'}:main"],
     "is not a @tile.jit function (its kernels: add)"),
    (["compile", ADD, "z=1"], "add has no parameter 'z'"),
    (["compile", ADD, "x"], "give each argument as NAME=VALUE"),
    (["compile", ADD, *SIGNATURE[:-1], "BLOCK=[1"], "'[1' is not a Python literal"),
    (["dump", ADD, "x=*f32:16"], "add needs a value for y, out, n, BLOCK"),
    (["compile", ADD, *SIGNATURE, "x=*f16"], "'x' is given twice"),
    (["cache", "--dir", ADD.rsplit(":", 1)[0], "list"], "vector_add.py' is not a folder"),
])
def test_usage_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_compilation_error_names_the_kernel_line(tmp_path, capsys):
    source = tmp_path / "bad.py"
    source.write_text("import tile\n\n@tile.jit\ndef bad(x, BLOCK: tile.constexpr):\n"
                      "    tile.store(x, 0, tile.exp(tile.arange(BLOCK)))\n")
    assert main(["dump", f"{source}:bad", "x=*f32:16", "BLOCK=64", "-o", str(tmp_path)]) == 1
    assert f"{source}:5" in capsys.readouterr().err


def test_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "tile", "--help"], capture_output=True,
                          text=True, check=True)
    assert "compile" in done.stdout and "cache" in done.stdout
