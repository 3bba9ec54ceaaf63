"""benchmarks/ on the CPU: every module imports (torch and triton stood in for),
case selection of run.py (--quick, --only, --list) without torch, as a file and as
`python -m benchmarks.run`, the one-line rows of GEMM, fp8 and attention results
(passed and failed), the exit status, and plot.py on a results file."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(ROOT))
from benchmarks import run  # noqa: E402

# Imports every module of the package in a fresh interpreter in which any `torch...`
# or `triton...` module is a MagicMock (neither is installed on the CPU machines):
# a renamed kernel, a bad relative import or a syntax error fails here, not on the GPU.
IMPORT_ALL = """
import importlib, importlib.abc, importlib.machinery, pkgutil, sys
from unittest import mock

class StandIn(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "triton"):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec):
        module = mock.MagicMock(name=spec.name)
        module.__path__ = []
        return module
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, StandIn())
sys.path.insert(0, sys.argv[1])
import benchmarks, benchmarks.experiments
names = sorted(m.name for package in (benchmarks, benchmarks.experiments)
               for m in pkgutil.iter_modules(package.__path__, package.__name__ + ".")
               if not m.ispkg)
# launch_overhead_cpu swaps in its own stand-in torch: last.
names.sort(key=lambda name: name.endswith("launch_overhead_cpu"))
for name in names:
    importlib.import_module(name)
print(" ".join(names))
"""


def test_every_module_imports():
    proc = subprocess.run([sys.executable, "-c", IMPORT_ALL, str(ROOT)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    imported = set(proc.stdout.split())
    on_disk = {f"benchmarks.{p.stem}" for p in BENCHMARKS.glob("*.py")} | {
        f"benchmarks.experiments.{p.stem}" for p in (BENCHMARKS / "experiments").glob("*.py")}
    assert imported == on_disk - {"benchmarks.__init__", "benchmarks.experiments.__init__"}
    assert "benchmarks.bench_gemm" in imported and "benchmarks.experiments.l2_model" in imported


def test_no_module_edits_sys_path():
    """The package imports its modules relatively and examples/ through examples.py;
    run.py's bootstrap (for `python3 benchmarks/run.py`) is the one exception."""
    editing = [str(p.relative_to(ROOT)) for p in BENCHMARKS.rglob("*.py")
               if "sys.path.insert" in p.read_text() or "sys.path[" in p.read_text()]
    assert editing == ["benchmarks/run.py"]


def test_examples_load_once_under_their_plain_names():
    from benchmarks import examples
    gemm = examples.gemm
    assert sys.modules["gemm"] is gemm and examples.gemm is gemm
    assert examples.gemm_epilogue.matmul_tile is gemm.matmul_tile  # its `from gemm import`
    with pytest.raises(AttributeError, match="no examples/nope.py"):
        examples.nope


def test_listing_needs_no_torch():
    check = ("import sys; sys.path.insert(0, sys.argv[1]); from benchmarks import run; "
             "run.case_names(list(run.GROUPS), quick=False); "
             "assert 'torch' not in sys.modules and 'triton' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", check, str(ROOT)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = run.case_names(["gemm", "attention"], quick=False)
    gemm = [n for n in names if n.startswith("GEMM")]
    assert gemm == ["GEMM 4096³ bf16", "GEMM 8192³ bf16", "GEMM 8192x4096x4096 bf16",
                    "GEMM 8192x4096x14336 bf16", "GEMM 8192x14336x4096 bf16",
                    "GEMM 8192x14336x14336 bf16", "GEMM 8192³ f16",
                    "GEMM 8192x14336x4096 bf16 + bias + gelu", "GEMM 4096x4104x4096 bf16",
                    "GEMM 3000x5000x2000 bf16", "GEMM 3000x5008x2000 bf16",
                    "GEMM 1x8192x8192 bf16", "GEMM 16x8192x8192 bf16", "GEMM 64x8192x8192 bf16",
                    "GEMM 128x8192x8192 bf16", "GEMM 256x8192x8192 bf16"]
    attention = [n for n in names if n.startswith("attention")]
    assert len(attention) == 12 and len(set(attention)) == 12
    for n in (1024, 4096, 8192):
        for d in (64, 128):
            for kind in ("causal", "non-causal"):
                assert f"attention fwd B8 H16 N{n} d{d} {kind}" in attention


def test_command_line_selection():
    cmd = [sys.executable, str(BENCHMARKS / "run.py"), "--list", "--quick", "--only",
           "gemm,attention"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "GEMM 4096³ bf16" and len(lines) == 5
    bad = subprocess.run(cmd[:-1] + ["gemm,nope"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown group(s) ['nope']" in bad.stderr
    as_module = subprocess.run([sys.executable, "-m", "benchmarks.run", "--list", "--quick",
                                "--only", "fp8"], capture_output=True, text=True, cwd=ROOT,
                               timeout=120)
    assert as_module.returncode == 0, as_module.stderr
    assert as_module.stdout.splitlines() == [
        "fp8 GEMM 4096³ (128x256x128 w8 s4)",
        "fp8 GEMM 1024x4096x4096, blockwise scales (examples/gemm_fp8.py)"]


def gemm_result(error=2e-3):
    return {"case": "GEMM 8192³ bf16", "kind": "gemm", "correct": error < 1e-2,
            "errors": {"tile": error, "Triton": 1e-3}, "tile_TFLOPs": 655.2,
            "tile_config": "128x256x64 w8 s4", "ref_TFLOPs": {"cuBLAS": 687.0, "Triton": 640.0},
            "vs": {"cuBLAS": 0.954, "Triton": 1.024}}


def attention_result():
    return {"case": "attention fwd B8 H16 N4096 d64 causal", "kind": "attention",
            "correct": True, "reference": "SDPA flash",
            "errors": {"tile": 1e-3, "Triton": 1.1e-3, "cuDNN": 9e-4}, "tile_TFLOPs": 287.0,
            "tile_config": "128x64 w4 s3", "ref_TFLOPs": {"Triton": 300.0, "flash": 281.0,
                                                         "cuDNN": 414.0},
            "vs": {"Triton": 0.957, "flash": 1.021, "cuDNN": 0.693}}


def test_rows_are_one_line_each():
    lines, failed = run.report([gemm_result(), attention_result()])
    assert failed == [] and len(lines) == 4
    assert lines[2] == ("| GEMM 8192³ bf16 | rel err 2.0e-03 (Triton 1.0e-03) | 655 TFLOP/s "
                        "(128x256x64 w8 s4) | cuBLAS 687, Triton 640 TFLOP/s | "
                        "0.954 × cuBLAS, 1.024 × Triton |")
    assert lines[3].startswith("| attention fwd B8 H16 N4096 d64 causal | rel err 1.0e-03 vs "
                               "SDPA flash (Triton 1.1e-03, cuDNN 9.0e-04) | 287 TFLOP/s")
    assert lines[3].endswith("| 0.957 × Triton, 1.021 × flash, 0.693 × cuDNN |")


def test_fp8_rows():
    result = {"case": "fp8 GEMM 4096³ (128x256x128 w8 s4)", "kind": "fp8", "correct": True,
              "rel_error": 2.4e-3, "tile_TFLOPs": 1325.4, "ref_TFLOPs": {"cuBLAS": 1276.0},
              "vs": {"cuBLAS": 1.039}}
    lines, failed = run.report([result, dict(result, correct=False, rel_error=0.5)])
    assert lines[2] == ("| fp8 GEMM 4096³ (128x256x128 w8 s4) | rel err 2.4e-03 | 1325 TFLOP/s | "
                        "cuBLAS fp8 (_scaled_mm) 1276 TFLOP/s | 1.039 × cuBLAS |")
    assert "| FAILED: rel err 5.0e-01 |" in lines[3] and len(failed) == 1


def test_failed_rows_are_marked_and_counted():
    crashed = {"case": "attention fwd B8 H16 N8192 d128 causal", "kind": "attention",
               "correct": False, "error": "RuntimeError: boom"}
    lines, failed = run.report([gemm_result(error=0.5), crashed, attention_result()])
    assert failed == ["GEMM 8192³ bf16", "attention fwd B8 H16 N8192 d128 causal"]
    assert "| FAILED: rel err tile 5.0e-01, Triton 1.0e-03 |" in lines[2]
    assert lines[3] == "| attention fwd B8 H16 N8192 d128 causal | FAILED: RuntimeError: boom | | | |"
    assert lines[-1].startswith("\n2 case(s) FAILED")


def test_plot_reads_the_new_format(tmp_path):
    pytest.importorskip("matplotlib")
    from benchmarks import plot
    failed = dict(gemm_result(error=0.5), case="GEMM 4096³ bf16")
    data = {"date": "2026-11-24", "device": "NVIDIA H100", "quick": True,
            "results": [gemm_result(), failed, attention_result(),
                        {"case": "vector add", "kind": "vector_add", "correct": True,
                         "vs_torch": 1.002}]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    assert plot.ratios(data["results"][0]) == {"cuBLAS": 0.954, "Triton": 1.024}
    assert plot.ratios(data["results"][3]) == {"torch": 1.002}
    plot.main(str(path), str(tmp_path / "r.png"))
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_interleaved_rounds_rotate_and_take_medians(monkeypatch):
    """rows.interleaved with a stand-in triton.testing: every runner is timed
    once a round, each round starts one runner later, the budget is spread over
    the rounds, and each figure is the median of its rounds."""
    import types
    calls = []
    times = {"tile": iter([5.0, 1.0, 3.0, 2.0, 4.0]), "ref": iter([9.0, 6.0, 7.0, 8.0, 1.0])}

    def do_bench(fn, warmup, rep, return_mode):
        assert (warmup, rep, return_mode) == (20, 100, "median")
        calls.append(fn())
        return next(times[calls[-1]])
    testing = types.ModuleType("triton.testing")
    testing.do_bench = do_bench
    monkeypatch.setitem(sys.modules, "triton", types.ModuleType("triton"))
    monkeypatch.setitem(sys.modules, "triton.testing", testing)
    from benchmarks import rows
    ms, rounds = rows.interleaved({"tile": lambda: "tile", "ref": lambda: "ref"},
                                  warmup=100, rep=500)
    assert calls == ["tile", "ref", "ref", "tile", "tile", "ref", "ref", "tile", "tile", "ref"]
    assert rounds == {"tile": [5.0, 1.0, 3.0, 2.0, 4.0], "ref": [9.0, 6.0, 7.0, 8.0, 1.0]}
    assert ms == {"tile": 3.0, "ref": 7.0}
    times.update(tile=iter([5.0, 1.0, 3.0, 2.0, 4.0]), ref=iter([9.0, 6.0, 7.0, 8.0, 1.0]))
    row = rows.timed({"tile": lambda: "tile", "ref": lambda: "ref"}, 2e12, 100, 500)
    assert row["ms"] == {"tile": 3.0, "ref": 7.0} and row["tile_TFLOPs"] == 2e12 / 3e-3 / 1e12
    assert row["vs"] == {"ref": 7.0 / 3.0}
    assert row["vs_round_median"] == {"ref": 7.0 / 3.0}  # of 9/5, 6/1, 7/3, 8/2, 1/4


def test_fastest_runs_each_once_then_takes_interleaved_medians(monkeypatch):
    import types
    calls, times = [], {"a": iter([3.0, 1.0, 2.0]), "b": iter([1.5, 1.6, 9.0])}

    def do_bench(fn, warmup, rep, return_mode):
        assert (warmup, rep) == (10, 40)
        return next(times[fn()])
    testing = types.ModuleType("triton.testing")
    testing.do_bench = do_bench
    monkeypatch.setitem(sys.modules, "triton", types.ModuleType("triton"))
    monkeypatch.setitem(sys.modules, "triton.testing", testing)
    from benchmarks import rows
    run = lambda name: (lambda: calls.append(name) or name)  # noqa: E731
    medians = {}
    assert rows.fastest({"a": run("a"), "b": run("b")}, medians=medians) == "b"
    assert calls[:2] == ["a", "b"]  # each once before timing (an autotuned kernel tunes)
    assert medians == {"a": 2.0, "b": 1.6}


def test_norms_cases_and_rows():
    names = run.case_names(["norms"], quick=False)
    assert len(names) == 12 and names[0] == "LayerNorm forward 16384x4096 bf16"
    assert run.case_names(["norms"], quick=True) == names[:4]
    result = {"case": "RMSNorm forward 16384x4096 bf16", "kind": "norms", "correct": True,
              "rel_errors": [2e-3, 3e-3, 1e-3], "vs_torch": 1.5, "vs_copy": 0.95,
              "vs_compile": 1.02, "GBps": {"tile": 2850.0, "torch": 1900.0,
                                           "torch.compile": 2794.1, "copy": 3000.0}}
    lines, failed = run.report([result, dict(result, correct=False, vs_compile=None,
                                             GBps={"tile": 1.0, "torch": 2.0, "copy": 3.0})])
    assert lines[2] == ("| RMSNorm forward 16384x4096 bf16 | rel err 3.0e-03 | 2850 GB/s | torch "
                        "1900, torch.compile 2794 GB/s (copy 3000) | 1.500 × torch, 1.020 × "
                        "torch.compile (vs copy 0.950) |")
    assert "WRONG" in lines[3] and failed == ["RMSNorm forward 16384x4096 bf16"]


def test_memory_cases_and_rows():
    names = run.case_names(["memory"], quick=False)
    assert names[0] == "cross-entropy fwd+bwd 4096x131072 bf16" and len(names) == 6
    quick = run.case_names(["memory"], quick=True)
    assert [n.split()[0] for n in quick] == ["cross-entropy", "rotary", "embedding", "embedding"]
    result = {"case": names[-1], "kind": "memory", "correct": True, "rel_errors": [1e-7],
              "vs_torch": 2.0, "vs_copy": 0.5, "vs_compile": None,
              "GBps": {"tile": 1000.0, "torch": 500.0, "copy": 2000.0}}
    failed_case = {"case": names[0], "kind": "memory", "correct": False,
                   "error": "RuntimeError: boom"}
    lines, failed = run.report([result, failed_case])
    assert lines[2] == ("| embedding backward 16384 tokens of 32768x1024 f32 | rel err 1.0e-07 | "
                        "1000 GB/s | torch 500 GB/s (copy 2000) | 2.000 × torch (vs copy 0.500) |")
    assert "FAILED: RuntimeError: boom" in lines[3] and failed == [names[0]]


def attention_bwd_result(tile_errors=(4e-3, 5e-3, 3e-3)):
    from benchmarks import bench_attention_backward as bwd
    errors = {"tile": dict(zip(bwd.GRADIENTS, tile_errors)),
              "cuDNN": {"dq": 3e-3, "dk": 6e-3, "dv": 2e-3}}
    return {"case": "attention bwd B8 H16 N4096 d128 causal", "kind": "attention_bwd",
            "correct": bwd.check(errors), "reference": "SDPA flash", "errors": errors,
            "tile_TFLOPs": 301.4, "tile_config": "dkdv 32x128 w8 s3, dq 128x64 w8 s2",
            "ref_TFLOPs": {"flash": 250.0, "cuDNN": 402.0}, "vs": {"flash": 1.206, "cuDNN": 0.75}}


def test_attention_backward_cases_and_flops():
    from benchmarks import bench_attention_backward as bwd
    names = run.case_names(["attention_bwd"], quick=False)
    assert len(names) == 12 and len(set(names)) == 12
    assert "attention bwd B8 H16 N8192 d128 causal" in names
    assert run.case_names(["attention_bwd"], quick=True) == [
        "attention bwd B8 H16 N1024 d64 non-causal", "attention bwd B8 H16 N1024 d128 causal"]
    # 2.5 forwards: 10·B·H·N²·d, halved when causal.
    assert bwd.flops(1, 1, 1024, 64, False) == 10 * 1024 * 1024 * 64
    assert bwd.flops(2, 3, 1024, 64, True) == 2 * 3 * 5 * 1024 * 1024 * 64


def test_attention_backward_check():
    """Every one of tile's three gradients is checked; NaN (a gradient never
    written: the outputs start as NaN) fails; cuDNN's errors are only reported."""
    import numpy as np
    from benchmarks import bench_attention_backward as bwd
    rng = np.random.default_rng(0)
    want = [rng.standard_normal((2, 3, 40, 16)) for _ in range(3)]
    close = [w + 1e-3 * rng.standard_normal(w.shape) for w in want]
    errors = bwd.gradient_errors(close, want)
    assert set(errors) == {"dq", "dk", "dv"} and all(5e-4 < e < 2e-3 for e in errors.values())
    assert bwd.relative_error(want[0] * 1.1, want[0]) == pytest.approx(0.1)
    assert bwd.check({"tile": errors, "cuDNN": {"dq": 1.0, "dk": 1.0, "dv": 1.0}})
    for bad in ("dq", "dk", "dv"):
        off = list(close)
        off[bwd.GRADIENTS.index(bad)] = np.full_like(want[0], np.nan)
        assert not bwd.check({"tile": bwd.gradient_errors(off, want)})
        off[bwd.GRADIENTS.index(bad)] = want[0] * 0.9 + 0.2
        assert not bwd.check({"tile": bwd.gradient_errors(off, want)})


def test_attention_backward_rows():
    lines, failed = run.report([attention_bwd_result(),
                                attention_bwd_result(tile_errors=(4e-3, float("nan"), 3e-3))])
    assert lines[2] == ("| attention bwd B8 H16 N4096 d128 causal | rel err 5.0e-03 vs SDPA "
                        "flash (worst of dq, dk, dv; cuDNN 6.0e-03) | 301 TFLOP/s (dkdv 32x128 "
                        "w8 s3, dq 128x64 w8 s2) | flash 250, cuDNN 402 TFLOP/s | 1.206 × flash, "
                        "0.750 × cuDNN |")
    assert ("| FAILED: rel err vs SDPA flash: dq 4.0e-03, dk nan, dv 3.0e-03; cuDNN 6.0e-03 |"
            in lines[3])
    assert failed == ["attention bwd B8 H16 N4096 d128 causal"]


def moe_result(**changes):
    result = {"case": "MoE grouped GEMM 4096 tokens, 8 experts top-2, 4096->14336 bf16",
              "kind": "moe", "correct": True, "routing_ok": True,
              "errors": {"tile": 3e-3, "Triton": 2e-3, "layer": 4e-3}, "tile_TFLOPs": 701.0,
              "tile_config": "128x256x64 w8 s4",
              "ref_TFLOPs": {"cuBLAS loop": 650.0, "Triton": 600.0},
              "vs": {"cuBLAS loop": 1.078, "Triton": 1.168}}
    return {**result, **changes}


def test_moe_cases_and_rows():
    names = run.case_names(["moe"], quick=False)
    assert names == [f"MoE grouped GEMM {t} tokens, {e} experts top-{k}, {h}->{n} bf16"
                     for t, e, k, h, n in [(4096, 8, 2, 4096, 14336), (16384, 8, 2, 4096, 14336),
                                           (4096, 64, 8, 7168, 2048),
                                           (16384, 64, 8, 7168, 2048)]]
    assert run.case_names(["moe"], quick=True) == names[:1]
    lines, failed = run.report([moe_result(), moe_result(correct=False, routing_ok=False)])
    assert lines[2] == ("| MoE grouped GEMM 4096 tokens, 8 experts top-2, 4096->14336 bf16 | rel "
                        "err 3.0e-03 (Triton 2.0e-03; layer 4.0e-03) | 701 TFLOP/s (128x256x64 "
                        "w8 s4) | cuBLAS loop 650, Triton 600 TFLOP/s | 1.078 × cuBLAS loop, "
                        "1.168 × Triton |")
    assert "| FAILED: routing differs from torch; rel err tile 3.0e-03" in lines[3]
    assert len(failed) == 1


def test_moe_check_takes_only_routed_rows_and_fails_on_nan():
    """The check of bench_moe on numpy arrays: the rows compared are each segment's
    first `count` rows (not its padding), and an output left NaN (not written)
    or off by 1 % fails."""
    import numpy as np
    from benchmarks import bench_moe
    rows = bench_moe.routed_rows(starts=[0, 128, 128, 384], counts=[3, 0, 129, 1])
    assert rows == [0, 1, 2] + list(range(128, 257)) + [384]
    ref = np.random.default_rng(0).standard_normal((len(rows), 8)).astype(np.float32)
    unwritten = ref.copy()
    unwritten[5] = np.nan
    errors = bench_moe.relative_errors({"same": ref.copy(), "close": ref * (1 + 1e-3),
                                        "off": ref * 1.02, "unwritten": unwritten}, ref)
    assert errors["same"] == 0 and errors["close"] < 1.1e-3 and errors["off"] > 1e-2
    assert bench_moe.passed({k: errors[k] for k in ("same", "close")})
    assert not bench_moe.passed({"off": errors["off"]})
    assert not bench_moe.passed({"unwritten": errors["unwritten"]})


def test_no_function_rebinds_an_imported_module():
    """A function that binds a name the module imports (a local `def sdpa` beside
    `from tile.ops import sdpa`) makes every use of the import in it an
    UnboundLocalError, which only the GPU run would reach: found here by scope."""
    import symtable
    offenders = []
    for path in sorted(BENCHMARKS.rglob("*.py")):
        top = symtable.symtable(path.read_text(), str(path), "exec")
        imported = {s.get_name() for s in top.get_symbols() if s.is_imported()}

        def visit(table):
            for child in table.get_children():
                if child.get_type() == "function":
                    offenders.extend(f"{path.name}:{child.get_lineno()} {child.get_name()} "
                                     f"binds {s.get_name()}" for s in child.get_symbols()
                                     if s.get_name() in imported and s.is_local()
                                     and not s.is_imported() and s.is_referenced())
                visit(child)
        visit(top)
    assert not offenders, offenders
