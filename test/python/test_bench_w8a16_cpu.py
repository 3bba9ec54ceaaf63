"""benchmarks/bench_w8a16.py on the CPU: its cases through run.py (registered, --list
and --quick without torch), the check that marks a row (every side against the
float32 reference, NaN wrong), and its one-line rows, decode in GB/s of the weight
and prefill in TFLOP/s."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import bench_w8a16, run  # noqa: E402


def test_registered_and_listed_without_torch():
    assert run.GROUP_MODULES["w8a16"] == "bench_w8a16"
    listed = subprocess.run([sys.executable, "benchmarks/run.py", "--list", "--only", "w8a16"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split("\n")[:6] == [
        "w8a16 GEMM 1x4096x4096", "w8a16 GEMM 16x4096x4096", "w8a16 GEMM 4096x4096x4096",
        "w8a16 GEMM 1x8192x8192", "w8a16 GEMM 16x8192x8192", "w8a16 GEMM 4096x8192x8192"]
    assert run.case_names(["w8a16"], quick=True) == ["w8a16 GEMM 16x4096x4096",
                                                     "w8a16 GEMM 4096x4096x4096"]


def test_check_marks_every_side():
    assert bench_w8a16.check({"tile": 2e-3, "torch": 3e-3, "torch.compile": 1e-3}) == \
        (True, "rel err 3.0e-03")
    ok, text = bench_w8a16.check({"tile": 0.5, "torch": 3e-3, "torch.compile": float("nan")})
    assert not ok and text == "WRONG: tile rel err 5.0e-01, torch.compile rel err nan"
    assert not bench_w8a16.check({"tile": 1e-2, "torch": 0.0, "torch.compile": 0.0})[0]


def _result(M, correct=True):
    errors = {"tile": 2e-3, "torch": 3e-3, "torch.compile": 3e-3}
    ok, text = bench_w8a16.check(errors if correct else dict(errors, tile=1.0))
    return {"case": bench_w8a16.case_name(M, 4096, 4096), "kind": "w8a16", "correct": ok,
            "check": text, "rel_errors": errors,
            "TFLOPs": {"tile": 600.0, "torch": 500.0, "torch.compile": 550.0},
            "weight_GBps": {"tile": 2500.0, "torch": 400.0, "torch.compile": 900.0},
            "vs": {"torch": 1.2, "torch.compile": 1.1}}


def test_rows_decode_in_bandwidth_prefill_in_tflops():
    lines, failed = run.report([_result(16), _result(4096), _result(1, correct=False)])
    assert lines[2] == ("| w8a16 GEMM 16x4096x4096 | rel err 3.0e-03 | 2500 GB/s (weight) | "
                        "torch 400, torch.compile 900 | 1.200 × torch, 1.100 × torch.compile |")
    assert lines[3] == ("| w8a16 GEMM 4096x4096x4096 | rel err 3.0e-03 | 600 TFLOP/s | "
                        "torch 500, torch.compile 550 | 1.200 × torch, 1.100 × torch.compile |")
    assert "WRONG: tile rel err 1.0e+00" in lines[4]
    assert failed == ["w8a16 GEMM 1x4096x4096"]
