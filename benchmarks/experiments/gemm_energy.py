"""Energy a GEMM, per kernel, from NVML's total-energy counter (millijoules)
over about 2 s of back-to-back launches each (no L2 clearing between them:
the sustained case), three rounds taken in turn, the median round; the
SM clock sampled during each. Results checked against torch first. Kernels:
cuBLAS, and examples/gemm.py's persistent warp-specialized GEMM (P w4; 256x128
tiles too), the persistent cluster one (PC w4) and the plain grouped one (G p4).
    python -m benchmarks.experiments.gemm_energy"""
import ctypes
import statistics
import time

import torch

import tile

from ..examples import gemm as gemm_example
from ..rows import check_each

gemm_grouped, gemm_persistent = gemm_example.gemm_grouped, gemm_example.gemm_persistent
gemm_persistent_cluster = gemm_example.gemm_persistent_cluster
persistent_grid = gemm_example.persistent_grid


class Nvml:
    """The two NVML queries used here, through ctypes (no extra package)."""

    def __init__(self):
        self.lib = ctypes.CDLL("libnvidia-ml.so.1")
        if self.lib.nvmlInit_v2() != 0:
            raise RuntimeError("nvmlInit failed")
        self.device = ctypes.c_void_p()
        if self.lib.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(self.device)) != 0:
            raise RuntimeError("no NVML device 0")

    def energy_mj(self) -> int:
        e = ctypes.c_ulonglong()
        if self.lib.nvmlDeviceGetTotalEnergyConsumption(self.device, ctypes.byref(e)) != 0:
            raise RuntimeError("this GPU reports no energy counter")
        return e.value

    def sm_clock_mhz(self) -> int:
        c = ctypes.c_uint()
        self.lib.nvmlDeviceGetClockInfo(self.device, 1, ctypes.byref(c))  # NVML_CLOCK_SM
        return c.value


def main():
    print(torch.cuda.get_device_name())
    nvml = Nvml()
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    o = dict(BM=128, BN=256, BK=64, GROUP=16, num_warps=8, num_stages=4)
    ws = dict(o, warp_specialize=True)
    for M, N, K in [(4096, 4096, 4096), (8192, 8192, 8192)]:
        a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
        c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
        ref = a @ b
        runs = {"cuBLAS": lambda: torch.matmul(a, b, out=ref),
                "P w4": lambda: gemm_persistent[persistent_grid(M, N, programs)](a, b, c, **ws),
                "P w4 256x128": lambda: gemm_persistent[persistent_grid(M, N, programs)](
                    a, b, c, **dict(ws, BM=256, BN=128, GROUP=8)),
                "PC w4": lambda: gemm_persistent_cluster[(programs,)](a, b, c, num_ctas=2,
                                                                      **dict(ws, GROUP=8)),
                "G p4": lambda: gemm_grouped[(tile.cdiv(M, 128) * tile.cdiv(N, 256),)](a, b, c,
                                                                                     **o)}
        check_each(runs, c, ref, f"{M}x{N}x{K}")
        flops = 2.0 * M * N * K
        rounds = {name: [] for name in runs}
        for _ in range(3):
            for name, fn in runs.items():
                for _ in range(20):
                    fn()
                torch.cuda.synchronize()
                n = max(50, int(2.0 / (flops / 700e12)))
                clocks = []
                e0, t0 = nvml.energy_mj(), time.perf_counter()
                for i in range(n):
                    fn()
                    if i % 200 == 100:
                        clocks.append(nvml.sm_clock_mhz())
                torch.cuda.synchronize()
                t1, e1 = time.perf_counter(), nvml.energy_mj()
                rounds[name].append(((e1 - e0) / n, (t1 - t0) / n, statistics.median(clocks or [0])))
        for name, r in rounds.items():
            mj, s, mhz = (statistics.median(x[i] for x in r) for i in range(3))
            print(f"{M}x{N}x{K} {name:13s} {mj:8.2f} mJ/GEMM  {flops / mj / 1e9:6.3f} TFLOP/J  "
                  f"{s * 1e6:8.1f} us  {flops / s / 1e12:4.0f} TFLOP/s  {mj / s / 1e3:4.0f} W  "
                  f"{mhz:.0f} MHz", flush=True)


if __name__ == "__main__":
    main()
