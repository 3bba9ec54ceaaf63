"""Attention kernels side by side with cuDNN in one process: plain and
persistent, tile shapes, warps, stages, warp specialization. Each result is
checked against SDPA flash first; timings are taken in three rounds, the
kernels in turn, each the median of its rounds (the clocks drift as the GPU
warms up). Cases: "N,D,causal" arguments, e.g. 1024,64,0 4096,64,1;
--only TEXT[|TEXT...] keeps the variants whose names contain one of the
TEXTs (e.g. "P " for the persistent ones).
    python -m benchmarks.experiments.sweep_attention_kernels [--only TEXT] 1024,64,0 4096,64,0"""
import math
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from tile.ops.attention_kernels import attention_fwd, attention_fwd_persistent

from ..rows import interleaved

B, H = 8, 16
# (BM, BN, warps, stages, warp specialized); a causal kernel needs BN | BM.
PLAIN = [(128, 64, 4, 3, False), (128, 64, 4, 4, False), (64, 64, 4, 3, False),
         (64, 64, 4, 4, False), (64, 128, 4, 2, False), (64, 128, 4, 3, False),
         (128, 128, 8, 2, False), (128, 64, 8, 3, True), (128, 128, 8, 2, True)]
PERSISTENT = [(128, 128, 8, 2, True), (128, 128, 8, 3, True), (128, 64, 8, 2, True),
              (128, 64, 8, 3, True), (128, 64, 8, 4, True)]


def variants(flat, N, D, causal, programs):
    """name -> launch."""
    runs = {}
    scale = 1 / math.sqrt(D)
    for persistent, shapes in ((False, PLAIN), (True, PERSISTENT)):
        for BM, BN, warps, stages, ws in shapes:
            if causal and BM % BN:
                continue
            options = dict(BM=BM, BN=BN, D=D, CAUSAL=causal, num_warps=warps,
                           num_stages=stages, warp_specialize=ws)
            name = (f"{'P ' if persistent else ''}{BM}x{BN} w{warps} s{stages}"
                    f"{' ws' if ws else ''}")
            if persistent:
                grid = (min(programs, N // BM * B * H),)
                runs[name] = (lambda g=grid, o=options:
                              attention_fwd_persistent[g](*flat, flat[3], N, B * H, 1, scale,
                                                          EVEN_SEQ=True, **o))
            else:
                runs[name] = (lambda o=options, bm=BM:
                              attention_fwd[(N // bm, B * H)](*flat, flat[3], N, 1, scale,
                                                              EVEN_SEQ=True, **o))
    return runs


def main() -> None:
    print(torch.cuda.get_device_name())
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    args = sys.argv[1:]
    only = ""
    if args[:1] == ["--only"]:
        only, args = args[1], args[2:]
    for arg in args or ["1024,64,0"]:
        N, D, causal = (int(x) for x in arg.split(","))
        causal = bool(causal)
        q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        o = torch.empty_like(q)
        flat = [t.view(B * H * N, D) for t in (q, k, v, o)]
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal).float()

        def cudnn():
            with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        runs = {"cuDNN": cudnn}
        for name, run in variants(flat, N, D, causal, programs).items():
            if not any(text in name for text in only.split("|")):
                continue
            o.fill_(float("nan"))
            try:
                run()
                torch.cuda.synchronize()
            except Exception as e:  # noqa: BLE001 - a variant that does not fit
                print(f"  {name}: {type(e).__name__}: {str(e).splitlines()[0][:100]}")
                continue
            error = float((o.float() - ref).norm() / ref.norm())
            if not error < 1e-2:
                raise SystemExit(f"N{N} d{D} {name}: rel err {error:.1e}, WRONG")
            runs[name] = run
        ms, _ = interleaved(runs, warmup=30, rep=150, rounds=3)
        flops = 4.0 * B * H * N * N * D / (2 if causal else 1)
        print(f"N{N} d{D} {'causal' if causal else 'non-causal'}: cuDNN "
              f"{flops / ms['cuDNN'] / 1e9:.0f} TFLOP/s")
        for name, t in sorted(ms.items(), key=lambda kv: kv[1]):
            if name != "cuDNN":
                print(f"  {name}: {flops / t / 1e9:.0f} ({ms['cuDNN'] / t:.3f})")


if __name__ == "__main__":
    main()
