"""benchmarks/distributed_suite.py without a GPU: its case list and shapes, grids
that fit every world size, argument parsing, the references (and that each
loopback reference op computes what its label says), the table's rows, and the
loopback mode end to end on a stand-in world that runs each kernel's math in
torch on the CPU (right, wrong and raising). With the gpu marker: `--loopback 2
--quick` on the real GPU, in a subprocess."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tile.distributed import RankArray, SymmetricArray
from tile.distributed.symmetric import per_rank, rank_arguments

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import distributed_suite as suite  # noqa: E402

# Shapes small enough for the CPU; the GEMMs' rows stay a multiple of their tile.
SMALL = dict(vector=96, rows=suite.TILE_M, k=32, n=48, tokens=40, hidden=64)


def test_the_cases_and_their_shapes():
    for size in suite.LOOPBACK_RANKS:
        for quick in (False, True):
            shapes = suite.suite_shapes(size, quick)
            assert shapes["rows"] % suite.TILE_M == 0 and shapes["vector"] % size == 0
            labels = [case.label for case in suite.cases(size, shapes)]
            assert len(labels) == len(set(labels)) == 5
    labels = [case.label for case in suite.cases(4, suite.suite_shapes(4, quick=False))]
    assert labels == ["allreduce one-shot 1024 KiB f32", "allreduce two-shot 1024 KiB f32",
                      "AG-GEMM 8192x4096x4096 bf16", "GEMM-RS 8192x4096x4096 bf16",
                      "MoE all-to-all 4096x1024 bf16, top-1 of 8 experts"]


@pytest.mark.parametrize("sms", [132, 114, 78])
def test_grids_fit_every_loopback_world(sms):
    """Every rank's programs resident at once (LoopbackWorld.launch refuses more),
    covering the span with a power-of-two block."""
    for size in suite.LOOPBACK_RANKS:
        limit = max(1, sms // size)
        for quick in (False, True):
            shapes = suite.suite_shapes(size, quick)
            for span, least in ((shapes["vector"], 1024), (shapes["vector"] // size, 1024),
                                (shapes["tokens"], 32)):
                programs, block = suite.grid_for(span, limit, least)
                assert 1 <= programs <= limit and programs * size <= sms
                assert programs * block >= span > (programs - 1) * block
                assert block & (block - 1) == 0
                if least == 1024 and sms == 132:  # an H100's all-reduce: no thread's
                    # share over 32 elements (with 4 warps, a 16384 block spills)
                    assert block // (32 * suite.allreduce_warps(block)) <= 32


def test_arguments(monkeypatch):
    args = suite.parse_args(["--loopback", "2", "--quick", "--json", "out.json"])
    assert (args.loopback, args.quick, args.json) == (2, True, "out.json")
    assert suite.parse_args([]).loopback is None  # torchrun's mode
    for bad in ("1", "9"):
        with pytest.raises(SystemExit):
            suite.parse_args(["--loopback", bad])
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SystemExit):
        suite.parse_args(["--loopback", "2"])


def test_rows_say_whether_the_check_passed():
    passed = dict(case="c", ranks=2, error=3e-7, correct=True, tile_ms=0.0125,
                  reference="torch.sum of the N inputs", reference_ms=0.025)
    assert suite.row(passed) == ("| c | 2 | passed, rel err 3.0e-07 | 12.5 µs | "
                                 "torch.sum of the N inputs 25.0 µs | 2.000 × |")
    wrong = dict(passed, error=float("inf"), correct=False)
    assert "| FAILED, rel err inf |" in suite.row(wrong)
    untimed = dict(passed, reference="not timed against NCCL yet", reference_ms=None)
    assert suite.row(untimed).endswith("| not timed against NCCL yet — | — |")
    raised = dict(case="c", ranks=2, error=None, correct=False, tile_ms=None, reference=None,
                  reference_ms=None, failure="RuntimeError: a | b")
    assert suite.row(raised) == "| c | 2 | FAILED: RuntimeError: a / b | — | — | — |"
    table = suite.table("title", "loopback", [passed]).splitlines()
    assert table[0] == "title" and "torch, one GPU, no communication" in table[1]


def test_the_references():
    torch = pytest.importorskip("torch")
    assert suite.allreduce_expected([torch.tensor([1., 2.]), torch.tensor([3., 4.])]).tolist() \
        == [4., 6.]
    a = [torch.full((2, 3), float(r + 1)) for r in range(2)]
    b = [torch.eye(3) * (r + 1) for r in range(2)]
    assert suite.ag_gemm_expected(a, b[1]).tolist() == [[2.] * 3] * 2 + [[4.] * 3] * 2
    rs_a = [torch.full((4, 3), float(r + 1)) for r in range(2)]
    assert suite.gemm_rs_expected(rs_a, b).tolist() == [[5.] * 3] * 4  # 1 * 1 + 2 * 2
    scales = [torch.tensor([[1., 2.], [3., 4.]]), torch.tensor([[5., 6.], [7., 8.]])]
    got = suite.moe_expected(torch.ones(3, 2), torch.tensor([3, 0, 2], dtype=torch.int32),
                             scales)
    assert got.tolist() == [[7., 8.], [1., 2.], [5., 6.]]
    assert suite.relative_error(torch.tensor([1., float("nan")]), torch.ones(2)) == float("inf")


def test_loopback_references_compute_what_their_labels_say():
    """The one-GPU reference ops (one matmul a GEMM) equal the checks' references."""
    torch = pytest.importorskip("torch")
    size, rows, k, n = 3, 4, 5, 6
    a = [torch.randn(rows, k) for _ in range(size)]
    b = [torch.randn(k, n) for _ in range(size)]
    side_by_side = torch.cat(a) @ torch.cat(b, dim=1)
    for r in range(size):
        torch.testing.assert_close(side_by_side[:, r * n:(r + 1) * n],
                                   suite.ag_gemm_expected(a, b[r]))
    rs_a = [torch.randn(size * rows, k) for _ in range(size)]
    torch.testing.assert_close(torch.cat(rs_a, dim=1) @ torch.cat(b),
                               suite.gemm_rs_expected(rs_a, b))
    x = [torch.randn(rows, k) for _ in range(size)]
    expert = [torch.randint(0, 2 * size, (rows,), dtype=torch.int32) for _ in range(size)]
    scales = [torch.randn(2, k) for _ in range(size)]
    torch.testing.assert_close(
        torch.cat(x) * torch.cat(scales).index_select(0, torch.cat(expert).long()),
        torch.cat([suite.moe_expected(x[r], expert[r], scales) for r in range(size)]))


class TorchKernelsWorld:
    """A stand-in LoopbackWorld on the CPU: symmetric arrays of torch tensors, and a
    launch that computes each example kernel's outputs with torch (after
    `right_launches` launches, it writes nines instead; `raises`: it raises as a
    failed CUDA launch would)."""

    def __init__(self, size, right_launches=None, raises=False):
        import torch
        self.size, self.device, self.raises = size, torch.device("cpu"), raises
        self.right_launches = right_launches
        self.launches = []

    def programs_per_rank(self):
        return 132 // self.size

    def zeros(self, shape, dtype):
        import torch
        copies = [torch.zeros(shape, dtype=dtype) for _ in range(self.size)]
        return SymmetricArray(copies, [t.data_ptr() for t in copies])

    def launch(self, kernel, grid, args, **constexprs):
        import torch
        assert grid[0] * self.size <= 132, "more programs than SMs"
        self.launches.append(kernel.__name__)
        if self.raises:
            raise RuntimeError("CUDA error: unspecified launch failure")
        ranks = [[v.local if isinstance(v, RankArray) else v
                  for v in rank_arguments(kernel, r, self.size, rank_args)]
                 for r, rank_args in enumerate(per_rank(args, self.size))]
        name = kernel.__name__
        if name.startswith("allreduce"):  # In, X, Out
            for mine in ranks:
                mine[2].copy_(sum(theirs[0] for theirs in ranks))
        elif name == "ag_gemm":  # A, Full, B, C
            gathered = torch.cat([theirs[0] for theirs in ranks]).float()
            for mine in ranks:
                mine[3].copy_(gathered @ mine[2].float())
        elif name == "gemm_rs":  # A, B, Partial, Out
            total = sum(theirs[0].float() @ theirs[1].float() for theirs in ranks)
            rows = ranks[0][3].shape[0]
            for r, mine in enumerate(ranks):
                mine[3].copy_(total[r * rows:(r + 1) * rows])
        elif name == "moe_all_to_all":  # X, Expert, Scale, Recv, RecvExpert, Out
            weights = torch.cat([theirs[2] for theirs in ranks]).float()
            for mine in ranks:
                mine[5].copy_(mine[0].float() * weights[mine[1].long()])
        else:
            raise AssertionError(f"no stand-in for {name}")
        if self.right_launches is not None and len(self.launches) > self.right_launches:
            output = {"ag_gemm": 3, "gemm_rs": 3, "moe_all_to_all": 5}.get(name, 2)
            for mine in ranks:
                mine[output].fill_(9)


class CPULoopbackRanks(suite.LoopbackRanks):
    """LoopbackRanks with no CUDA: nothing to synchronize, one run a timing."""

    def synchronize(self):
        pass

    def timed(self, run):
        run()
        return 1.0

    def device_name(self):
        return "CPU stand-in"


@pytest.mark.parametrize("size", [2, 4])
def test_loopback_cases_check_every_rank(size):
    pytest.importorskip("torch")
    world = TorchKernelsWorld(size)
    results = suite.run_cases(CPULoopbackRanks(world), suite.cases(size, SMALL))
    assert [r["correct"] for r in results] == [True] * 5, results
    assert all(r["error"] < 1e-2 and r["reference_ms"] == 1.0 for r in results)
    assert world.launches[0] == "allreduce_one_shot" and "moe_all_to_all" in world.launches
    wrong = suite.run_cases(CPULoopbackRanks(TorchKernelsWorld(size, right_launches=0)),
                            suite.cases(size, SMALL))
    assert [r["correct"] for r in wrong] == [False] * 5
    assert all(suite.check_cell(r).startswith("FAILED, rel err") for r in wrong)
    # Right once, wrong in the timed launches (as flags that do not count on would be).
    once = suite.run_cases(CPULoopbackRanks(TorchKernelsWorld(size, right_launches=1)),
                           suite.cases(size, SMALL)[:1])
    assert once[0]["correct"] is False


def test_loopback_main_prints_the_table_and_fails_on_a_failed_check(monkeypatch, tmp_path,
                                                                    capsys):
    pytest.importorskip("torch")
    monkeypatch.setattr(suite, "suite_shapes", lambda size, quick: SMALL)
    monkeypatch.setattr(suite, "LoopbackRanks", CPULoopbackRanks)
    monkeypatch.setattr(suite.tile.distributed, "LoopbackWorld", TorchKernelsWorld)
    out = tmp_path / "loopback.json"
    assert suite.main(["--loopback", "2", "--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("CPU stand-in: 2 loopback ranks on one GPU. A smoke test")
    assert "not communication figures" in printed[0]
    assert len(printed) == 3 + 5 and all("| passed, rel err" in line for line in printed[3:])
    written = json.loads(out.read_text())
    assert written["mode"] == "loopback" and written["ranks"] == 2
    assert [r["correct"] for r in written["results"]] == [True] * 5
    monkeypatch.setattr(suite.tile.distributed, "LoopbackWorld",
                        lambda size: TorchKernelsWorld(size, raises=True))
    assert suite.main(["--loopback", "2"]) == 1
    rows = capsys.readouterr().out.splitlines()[3:]
    assert len(rows) == 5 and all(
        "FAILED: RuntimeError: CUDA error: unspecified launch failure" in line for line in rows)


@pytest.mark.gpu
def test_loopback_suite_on_one_gpu(tmp_path):
    """`--loopback 2 --quick` end to end; a child process with a time limit, as a
    kernel that waits forever must not hang the tests (its waits stop it after 10 s)."""
    out = tmp_path / "loopback.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.run([sys.executable, "-m", "benchmarks.distributed_suite", "--loopback",
                            "2", "--quick", "--json", str(out)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    output = child.stdout + child.stderr
    assert child.returncode == 0, output
    results = json.loads(out.read_text())["results"]
    assert len(results) == 5 and all(r["correct"] for r in results), output
    assert all(r["tile_ms"] > 0 and r["reference_ms"] > 0 for r in results), output
    assert output.count("| passed, rel err") == 5, output
