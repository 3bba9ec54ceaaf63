"""Every example runs to success; with no GPU it falls back to the interpreter,
says so, and checks its result against numpy."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tile

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_runs(example, tmp_path):
    proc = subprocess.run([sys.executable, str(example)], capture_output=True, text=True,
                          env={**os.environ, "TILE_DUMP_DIR": str(tmp_path)},
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if not tile.gpu_available():
        assert "CPU interpreter" in proc.stdout and "matches" in proc.stdout
