"""examples/norms.py: LayerNorm and RMSNorm forward and backward, on the interpreter
against numpy (ragged rows, a last program with fewer rows) and on the GPU against
torch's forward and autograd for row lengths up to 16384."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import norms  # noqa: E402


@pytest.mark.parametrize("M, N, rows", [(7, 33, 4), (20, 128, 8), (3, 1000, 2)])
@pytest.mark.parametrize("rms", [False, True])
def test_matches_numpy_on_the_interpreter(M, N, rows, rms):
    rng = np.random.default_rng(M * N)
    x = rng.standard_normal((M, N)).astype(np.float32)
    w, b = rng.standard_normal(N).astype(np.float32), rng.standard_normal(N).astype(np.float32)
    dy = rng.standard_normal((M, N)).astype(np.float32)
    empty = lambda shape, dtype: np.full(shape, np.nan, dtype=dtype)
    zeros = lambda shape: np.zeros(shape, np.float32)
    if rms:
        got = norms.rms_norm(x, w, 1e-6, dy, empty, zeros, interpret=True, ROWS=rows)
    else:
        got = norms.layer_norm(x, w, b, 1e-5, dy, empty, zeros, interpret=True, ROWS=rows)
    want = norms.reference(x, w, None if rms else b, 1e-6 if rms else 1e-5, dy, rms)
    for name, g, r in zip(("y", "dx", "dw", "db"), got, want):
        np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-4, err_msg=name)


@pytest.mark.gpu
@pytest.mark.parametrize("M, N", [(4096, 1000), (4096, 4096), (2048, 8192), (1024, 16384)])
def test_matches_torch_on_the_gpu(M, N):
    assert norms.run_on_gpu(M, N)
