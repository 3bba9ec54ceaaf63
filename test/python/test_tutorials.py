"""docs/tutorials: each page's Python block is a runnable program; run here on the
CPU interpreter (a GPU test runs them on the GPU), each checking its own results."""
import os
import re
import runpy
from pathlib import Path

import pytest

import tile

TUTORIALS = sorted((Path(__file__).parents[2] / "docs" / "tutorials").glob("*.md"))
NEEDS_TORCH = {"06-custom-op.md"}


def program(page: Path) -> str:
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert len(blocks) == 1, f"{page.name}: one ```python block, found {len(blocks)}"
    return blocks[0]


def run(page: Path, tmp_path: Path) -> None:
    if page.name in NEEDS_TORCH:
        pytest.importorskip("torch")
    script = tmp_path / page.with_suffix(".py").name.replace("-", "_")
    script.write_text(program(page))  # a file: tile.jit reads each kernel's source
    runpy.run_path(str(script), run_name="__main__")


def test_the_series_is_all_there():
    assert [p.name for p in TUTORIALS] == [
        "01-vector-add.md", "02-fused-softmax.md", "03-gemm.md", "04-fused-epilogue.md",
        "05-attention.md", "06-custom-op.md"]


@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_runs_on_the_interpreter(page, tmp_path, monkeypatch):
    monkeypatch.setattr(tile, "gpu_available", lambda: False)
    monkeypatch.setenv("TILE_INTERPRET", "1")
    run(page, tmp_path)


@pytest.mark.gpu
@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_runs_on_the_gpu(page, tmp_path, monkeypatch):
    monkeypatch.delenv("TILE_INTERPRET", raising=False)
    run(page, tmp_path)
