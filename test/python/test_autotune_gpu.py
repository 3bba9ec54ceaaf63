"""@tile.autotune on the GPU: the GEMM tuned over two configurations, checked
against torch; the choice read back from disk by a tuner that may not time; the
CUDA-event timer against torch's own events."""
import os
import sys

import pytest

import tile
from tile.autotune import Autotuner, CaptureError, CudaEventTimer

pytestmark = pytest.mark.gpu
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from gemm import gemm_grouped  # noqa: E402

CONFIGS = [tile.Config(dict(BM=128, BN=128, BK=64, GROUP=8), num_warps=4, num_stages=3),
           tile.Config(dict(BM=128, BN=256, BK=64, GROUP=8), num_warps=8, num_stages=4)]
KEY = ["A.shape[0]", "B.shape[1]", "A.shape[1]"]


class RefusingTimer(CudaEventTimer):
    def time(self, run, stream, device):
        raise AssertionError("the choice should have come from disk, not from timing")


def test_tunes_the_gemm_and_matches_torch(tmp_path, monkeypatch):
    import torch
    monkeypatch.setenv("TILE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TILE_AUTOTUNE", raising=False)
    M, N, K = 2048, 1536, 1024
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    grid = lambda meta: (tile.cdiv(M, meta["BM"]) * tile.cdiv(N, meta["BN"]),)
    kernel = Autotuner(gemm_grouped, CONFIGS, key=KEY, warmup=5, rep=20)
    kernel[grid](a, b, c)
    torch.cuda.synchronize()
    (key,) = kernel.tuning
    record = kernel.tuning[key]
    assert record["source"] == "tuned" and record["skipped"] == {}
    assert set(record["timings_ms"]) == {0, 1} and all(t > 0 for t in record["timings_ms"].values())
    assert kernel.best[key] == CONFIGS[min(record["timings_ms"], key=record["timings_ms"].get)]
    ref = a.double() @ b.double()
    assert float((c.double() - ref).norm() / ref.norm()) < 1e-2

    again = Autotuner(gemm_grouped, CONFIGS, key=KEY, timer=RefusingTimer())
    c2 = torch.full_like(c, float("nan"))
    again[grid](a, b, c2)
    torch.cuda.synchronize()
    assert again.best[key] == kernel.best[key] and torch.equal(c2, c)


def test_event_timer_agrees_with_torch_events():
    """Rounds of each timer in turn, compared by their fastest round: other work on
    the GPU (tests of other processes) only makes a round slower."""
    import torch
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    out = torch.empty_like(a)
    run = lambda: torch.matmul(a, a, out=out)
    timer = CudaEventTimer(warmup=10, rep=50)
    ours, reference = [], []
    for _ in range(5):
        ours.append(timer.time(run, torch.cuda.current_stream().cuda_stream, 0))
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(5):
            run()
        start.record()
        for _ in range(20):
            run()
        end.record()
        torch.cuda.synchronize()
        reference.append(start.elapsed_time(end) / 20)
    assert 0.7 < min(ours) / min(reference) < 1.5, (ours, reference)


def test_cuda_graph_capture_replays_a_tuned_kernel_and_refuses_to_tune(tmp_path, monkeypatch):
    """A tuned key launches inside torch.cuda.graph and replays on new inputs; a key
    met for the first time inside the capture is refused with a warm-up hint."""
    import torch
    monkeypatch.setenv("TILE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TILE_AUTOTUNE", raising=False)
    M = N = K = 1024
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
    grid = lambda meta: (tile.cdiv(M, meta["BM"]) * tile.cdiv(N, meta["BN"]),)
    kernel = Autotuner(gemm_grouped, CONFIGS, key=KEY, warmup=5, rep=20)
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        kernel[grid](a, b, c)  # warm-up: tunes and loads
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        kernel[grid](a, b, c)
    a.copy_(torch.randn_like(a))
    c.fill_(float("nan"))
    graph.replay()
    torch.cuda.synchronize()
    ref = a.double() @ b.double()
    assert float((c.double() - ref).norm() / ref.norm()) < 1e-2

    a2 = torch.randn(2 * M, K, device="cuda", dtype=torch.bfloat16)  # a new key
    c2 = torch.empty(2 * M, N, device="cuda", dtype=torch.bfloat16)
    graph2 = torch.cuda.CUDAGraph()
    with pytest.raises(CaptureError, match="before capturing"):
        with torch.cuda.graph(graph2):
            kernel[lambda meta: (tile.cdiv(2 * M, meta["BM"]) * tile.cdiv(N, meta["BN"]),)](
                a2, b, c2)
