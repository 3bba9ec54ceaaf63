"""examples/cross_entropy.py: losses per row and dlogits with an ignore index, on the
interpreter against numpy (a vocabulary that is not a multiple of the chunk, a target
in the last partial chunk) and on the GPU against torch up to 256k columns."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import cross_entropy as ce  # noqa: E402


@pytest.mark.parametrize("M, V, BV", [(5, 300, 64), (4, 1000, 1024), (3, 129, 128)])
def test_matches_numpy_on_the_interpreter(M, V, BV):
    rng = np.random.default_rng(V)
    logits = (3 * rng.standard_normal((M, V))).astype(np.float32)
    targets = rng.integers(0, V, M).astype(np.int32)
    targets[0], targets[-1] = V - 1, -1  # the last column; an ignored row
    dloss = rng.standard_normal(M).astype(np.float32)
    empty = lambda shape, dtype: np.full(shape, np.nan, dtype=dtype)
    loss, dlogits = ce.cross_entropy(logits, targets, dloss, -1, empty, interpret=True, BV=BV)
    want_loss, want_grad = ce.reference(logits, targets, dloss, -1)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dlogits, want_grad, rtol=1e-4, atol=1e-6)
    assert loss[-1] == 0 and not dlogits[-1].any()


@pytest.mark.gpu
@pytest.mark.parametrize("M, V", [(4096, 32000), (2048, 131072), (512, 262144)])
def test_matches_torch_on_the_gpu(M, V):
    assert ce.run_on_gpu(M, V)
