"""fp8 e4m3 GEMM (C = A @ W.T, f32 accumulate, bf16 out): tile vs cuBLAS through
torch._scaled_mm (unit scales), side by side in one process, each result
checked against the other.   python3 benchmarks/bench_fp8.py [--json FILE]
(the JSON is the shape benchmarks/plot.py draws)"""
import datetime
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
sys.path.insert(0, os.path.dirname(__file__))
import tile  # noqa: E402
from gemm import gemm_nt  # noqa: E402
from rows import interleaved  # noqa: E402


def bench_case(M, N, K, BM=128, BN=256, BK=128, warps=8, stages=3):
    a = torch.randn(M, K, device="cuda").to(torch.float8_e4m3fn)
    w = torch.randn(N, K, device="cuda").to(torch.float8_e4m3fn)
    c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
    one = torch.ones((), device="cuda")
    run = lambda: gemm_nt[(tile.cdiv(M, BM), tile.cdiv(N, BN))](
        a, w, c, BM=BM, BN=BN, BK=BK, num_warps=warps, num_stages=stages)
    ref = lambda: torch._scaled_mm(a, w.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
    run()
    expect = ref()
    torch.cuda.synchronize()
    error = float((c.float() - expect.float()).norm() / expect.float().norm())
    ms, _ = interleaved({"tile": run, "cuBLAS": ref}, warmup=50, rep=300)
    t_tile, t_ref = ms["tile"], ms["cuBLAS"]
    tf = lambda ms: 2.0 * M * N * K / (ms * 1e-3) / 1e12
    case = f"fp8 GEMM {M}x{N}x{K} ({BM}x{BN}x{BK} w{warps} s{stages})"
    print(f"{case}: rel err {error:.1e}{'' if error < 1e-2 else ' WRONG'}  tile "
          f"{tf(t_tile):.0f} TFLOP/s, cuBLAS {tf(t_ref):.0f} TFLOP/s, {t_ref / t_tile:.3f} x cuBLAS")
    return {"case": case, "kind": "gemm", "correct": error < 1e-2, "rel_error": error,
            "tile_TFLOPs": tf(t_tile), "ref_TFLOPs": {"cuBLAS": tf(t_ref)},
            "vs": {"cuBLAS": t_ref / t_tile}}


if __name__ == "__main__":
    device = torch.cuda.get_device_name()
    print(device)
    results = [bench_case(*shape, stages=stages)
               for shape in [(4096, 4096, 4096), (8192, 8192, 8192)] for stages in (3, 4)]
    if "--json" in sys.argv:
        with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
            json.dump({"date": datetime.date.today().isoformat(), "device": device,
                       "results": results}, f, indent=1)
    sys.exit(0 if all(r["correct"] for r in results) else 1)
