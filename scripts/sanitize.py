"""Every shipped example and benchmark kernel, launched once per configuration at
small and ragged shapes and checked against torch: the program that
scripts/sanitize.sh runs under compute-sanitizer (memcheck, racecheck, synccheck,
initcheck). Exits 1 when a result differs from torch or a case raises, so a
wrong launch shows even where the tool reports nothing.

    python3 scripts/sanitize.py [--quick] [--only WORD[,WORD...]] [--list] [--compile-only]
    compute-sanitizer --tool memcheck python3 scripts/sanitize.py

Configurations are fixed (no autotuning): each kernel's own, as examples/gemm.py,
examples/gemm_epilogue.py and benchmarks/bench_*.py tune over them, including the
warp-specialized, persistent, cluster (num_ctas=2) and stream-K variants; the
examples written with masks, gathers and atomics (its docstring lists them) come
from scripts/sanitize_examples.py. Shapes
keep to the kernels' rules (TMA: row strides a multiple of 16 bytes); attention
runs at seq_len 256 (EVEN_SEQ, as the benchmark) and 200 (ragged, grouped heads).
Outputs start as NaN, so a tile never stored fails the check. --quick keeps one
or two configurations of each kernel (for racecheck, the slowest tool);
--compile-only compiles every case's specialization to PTX/cubin without torch
or a GPU and checks that it fits in shared memory (a check of this file's
configurations on a CPU machine).

Each kernel compiles at its first launch, and the disk cache keeps it:
sanitize.sh runs this once without a tool first, so that the tools find every
kernel compiled (and so that a wrong result shows apart from the tools).

cuGetProcAddress at start-up. Under memcheck the first driver call through
`cuda.bindings.driver` (driver.primary_context: cuInit) reports about 34
CUDA_ERROR_INVALID_VALUE results of cuGetProcAddress_v2. They are cuda-bindings'
own: its driver loader (cuda/bindings/_internal/driver_linux.pyx `_init_driver`,
and `cuPythonInit` in the older _bindings/cydriver.pyx) resolves every entry
point it was generated for, once, eagerly, at the first call of any function,
asking each at the CUDA version that introduced it. Entry points newer than the
driver (580.x is CUDA 13.0) fail. The errors don't come back to the program, and
nothing is wrong. cuda-bindings has no lazy mode and no variable that limits the
lookups (its only variable, CUDA_PYTHON_CUDA_PER_THREAD_DEFAULT_STREAM, selects
the per-thread-stream entry points of the same table). This machine has
cuda-bindings 13.5.0. The GPU image's version is not in its package list (torch
2.11+cu130, Python 3.12); sanitize.sh logs `pip show cuda-bindings` and the
driver version next to each report. Any version whose table is newer than the
driver makes these calls.
Stopping them means that the process never calls cuda.bindings.driver. The C
launch path (launch/launch.c) already dlopens libcuda. But the primary context,
module loading, function attributes and TMA descriptor encoding
(runtime/tensormap.py) still go through cuda.bindings, and one call of any of
them builds the whole table. compute-sanitizer cannot filter by API:
--report-api-errors takes all, explicit (the default) or no, and `no` would hide
every failing API call. So sanitize.sh filters exactly these reports from the
log: "Program hit ... on CUDA API call to cuGetProcAddress*". Only cuda-bindings
fails such calls here: tile's own (launch/launch.c) ask for five entry points
that every 12.0+ driver has, and the memcheck report put all 34 at
primary_context's first cuda.bindings call. The summary line gives the raw count
and the filtered count.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), os.path.join(ROOT, "examples"),
                os.path.join(ROOT, "benchmarks")]

import tile  # noqa: E402
from tile.ops.attention_kernels import attention_fwd, attention_fwd_persistent  # noqa: E402
from gemm import (CLUSTER_CONFIGS, CONFIGS, PERSISTENT_CONFIGS, cluster_grid, gemm,  # noqa: E402
                  gemm_cluster, gemm_grouped, gemm_nt, gemm_persistent,
                  gemm_persistent_cluster, gemm_stream_k, grouped_grid, persistent_grid)
from gemm_epilogue import ACTIVATIONS, gemm_bias_act, reference_torch  # noqa: E402
from sanitize_examples import example_cases  # noqa: E402
from softmax import softmax  # noqa: E402
from vector_add import add  # noqa: E402
from w8a16 import CONFIGS as W8A16_CONFIGS  # noqa: E402
from w8a16 import w8a16  # noqa: E402

TOLERANCE = 1e-2  # relative (Frobenius) error of a bf16/f16 result, as the benchmarks'
SHARED_LIMIT = 227 * 1024  # bytes a block may use on an H100 after opting in
GEMM_SHAPES = [(192, 200, 136), (256, 256, 128)]  # (M, N, K): ragged, then whole tiles
ATTENTION_HEADS, ATTENTION_SEQ = 2, 256
ATTENTION_RAGGED_SEQ = 200  # a multiple of no block: 1 full and 1 partial 128-row block


@dataclass
class Case:
    name: str
    kernel: object                      # the @tile.jit function
    signature: tuple                    # type strings for --compile-only
    options: dict                       # constexprs and launch options
    run: Callable                       # run(torch, sms) -> error text or None
    quick: bool = False                 # in the --quick subset
    tags: set = field(default_factory=set)
    also: list = field(default_factory=list)  # (kernel, signature, options) it launches too


def launch_options(config: tile.Config) -> dict:
    """A tile.Config as the keyword arguments of a launch (as the autotuner passes them)."""
    return config.launch_kwargs()


def describe(options: dict) -> str:
    blocks = "x".join(str(options[k]) for k in ("BM", "BN", "BK") if k in options)
    parts = [blocks] if blocks else []
    parts += [f"w{options['num_warps']}"] if "num_warps" in options else []
    parts += [f"s{options['num_stages']}"] if "num_stages" in options else []
    parts += ["ws"] if options.get("warp_specialize") else []
    parts += [f"ctas{options['num_ctas']}"] if options.get("num_ctas", 1) > 1 else []
    return " ".join(parts)


def relative_error_check(out, ref, what: str = "") -> str | None:
    error = float((out.double() - ref.double()).norm() / ref.double().norm())
    if not error < TOLERANCE:  # NaN (a tile never stored) fails too
        return f"{what}relative error {error:.3g} (tolerance {TOLERANCE})"
    return None


def grid_of(grid, options):
    """A grid tuple from a tuple or from one of the examples' meta -> tuple helpers."""
    return tuple(grid(options)) if callable(grid) else tuple(grid)


# -- cases ----------------------------------------------------------------------------------
def vector_add_cases() -> list[Case]:
    n, block = 100003, 1024

    def run(torch, sms):
        x, y = torch.randn(n, device="cuda"), torch.randn(n, device="cuda")
        out = torch.full_like(x, float("nan"))
        add[(tile.cdiv(n, block),)](x, y, out, n, BLOCK=block)
        torch.cuda.synchronize()
        return None if torch.equal(out, x + y) else "differs from x + y"
    return [Case(f"vector add n={n} BLOCK={block}", add, ("*f32:16",) * 3 + ("i32",),
                 dict(BLOCK=block), run, quick=True, tags={"vector_add"})]


def softmax_cases() -> list[Case]:
    cases = []
    for M, N, BM, BN in [(67, 1000, 4, 1024), (33, 2000, 2, 2048)]:  # example's, bench's
        def run(torch, sms, M=M, N=N, BM=BM, BN=BN):
            x = torch.randn(M, N, device="cuda", dtype=torch.float16)
            y = torch.full_like(x, float("nan"))
            softmax[(tile.cdiv(M, BM),)](x, y, BM=BM, BN=BN)
            torch.cuda.synchronize()
            error = float((y.float() - torch.softmax(x.float(), dim=1)).abs().max())
            return None if error < 2e-3 else f"max abs error {error:.3g}"
        cases.append(Case(f"softmax {M}x{N} f16 BM={BM} BN={BN}", softmax,
                          ("*f16[2]:16",) * 2, dict(BM=BM, BN=BN), run,
                          quick=BN == 1024, tags={"softmax"}))
    return cases


def gemm_run(kernel, M, N, K, options, grid, dtype="bfloat16"):
    def run(torch, sms):
        torch_dtype = getattr(torch, dtype)
        a = torch.randn(M, K, device="cuda", dtype=torch_dtype)
        b = torch.randn(K, N, device="cuda", dtype=torch_dtype)
        c = torch.full((M, N), float("nan"), device="cuda", dtype=torch_dtype)
        kernel[grid_of(grid(sms), options)](a, b, c, **options)
        torch.cuda.synchronize()
        return relative_error_check(c, a.double() @ b.double())
    return run


def persistent_gemm_cases(kernel, mnk, options, few, grid, quick, tags) -> list[Case]:
    """A persistent GEMM with one program a multiprocessor (as benchmarked) and
    with `few` programs walking every tile (rounds after the first, K marched
    backwards); `grid(programs)` makes the grid; the `few` case is in --quick."""
    M, N, K = mnk
    cases = []
    for programs in (None, few):
        label = "SMs" if programs is None else str(programs)
        cases.append(Case(
            f"{kernel.__name__} {M}x{N}x{K} {describe(options)} programs={label}",
            kernel, ("*bf16[2]:16",) * 3, options,
            gemm_run(kernel, M, N, K, options, lambda sms, p=programs: grid(p or sms)),
            quick=quick and programs == few, tags=tags))
    return cases


def gemm_cases() -> list[Case]:
    bf16 = ("*bf16[2]:16",) * 3
    cases = []
    for M, N, K in GEMM_SHAPES:
        shape = f"{M}x{N}x{K}"
        first = (M, N, K) == GEMM_SHAPES[0]
        options = dict(BM=128, BN=128, BK=64)  # examples/gemm.py main
        cases.append(Case(f"gemm {shape} {describe(options)}", gemm, bf16, options,
                          gemm_run(gemm, M, N, K, options, lambda sms, M=M, N=N: (
                              lambda meta: (tile.cdiv(M, meta["BM"]), tile.cdiv(N, meta["BN"])))),
                          quick=first, tags={"gemm"}))
        for index, config in enumerate(CONFIGS):  # gemm_tuned's
            options = launch_options(config)
            cases.append(Case(f"gemm_grouped {shape} {describe(options)}", gemm_grouped, bf16,
                              options, gemm_run(gemm_grouped, M, N, K, options,
                                                lambda sms, M=M, N=N: grouped_grid(M, N)),
                              quick=first and index == 0, tags={"gemm"}))
        for index, config in enumerate(PERSISTENT_CONFIGS):  # gemm_persistent_tuned's
            options = launch_options(config)
            # One program a multiprocessor (as benchmarked), and one program walking
            # every tile (rounds after the first, K marched backwards).
            cases += persistent_gemm_cases(
                gemm_persistent, (M, N, K), options, few=1,
                grid=lambda programs, M=M, N=N: persistent_grid(M, N, programs),
                quick=first and config.warp_specialize, tags={"gemm", "persistent"})
        for index, config in enumerate(CLUSTER_CONFIGS):  # num_ctas=2, warp-specialized
            options = launch_options(config)
            cases.append(Case(f"gemm_cluster {shape} {describe(options)}", gemm_cluster, bf16,
                              options, gemm_run(gemm_cluster, M, N, K, options,
                                                lambda sms, M=M, N=N: cluster_grid(M, N)),
                              quick=first and index == 0, tags={"gemm", "cluster"}))
            cases += persistent_gemm_cases(
                gemm_persistent_cluster, (M, N, K), options, few=2,
                grid=lambda programs, M=M, N=N: cluster_grid(M, N, programs),
                quick=first and index == 0, tags={"gemm", "cluster", "persistent"})
    return cases


def stream_k_cases() -> list[Case]:
    """gemm_stream_k as test_stream_k_gpu.py runs it; shapes whose last tiles are
    split between programs (tiles not a multiple of the programs), one ragged."""
    cases = []
    configs = [dict(num_stages=3), dict(num_stages=4, warp_specialize=True),
               dict(num_stages=3, warp_specialize=True)]
    for M, N, K, programs in [(320, 456, 200, 4), (512, 256, 256, 3)]:
        for index, config in enumerate(configs):
            options = dict(BM=128, BN=256, BK=64, GROUP=8, num_warps=8, **config)

            def run(torch, sms, M=M, N=N, K=K, programs=programs, options=options):
                a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
                b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
                c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
                count = min(programs, sms, tile.cdiv(M, 128) * tile.cdiv(N, 256))
                # Zeros, not empty: program p + 1 writes its partial with a TMA store, which
                # initcheck does not see as a write, so it flagged p's reads of it as
                # uninitialized (32768 reports with TMA stores, 0 with tma-store=false).
                partials = torch.zeros(count * 128, 256, device="cuda", dtype=torch.float32)
                flags = torch.zeros(count, device="cuda", dtype=torch.int32)
                gemm_stream_k[(count,)](a, b, c, partials, flags, **options)
                torch.cuda.synchronize()
                if int(flags.abs().sum()):
                    return "flags not left zero"
                return relative_error_check(c, a.double() @ b.double())
            cases.append(Case(f"gemm_stream_k {M}x{N}x{K} programs={programs} "
                              f"{describe(options)}", gemm_stream_k,
                              ("*bf16[2]:16",) * 3 + ("*f32[2]:16", "*i32:16"), options, run,
                              quick=index == 1 and M == 320, tags={"gemm", "stream_k"}))
    return cases


def epilogue_cases() -> list[Case]:
    M, N, K = GEMM_SHAPES[0]
    cases = []
    variants = ([("bfloat16", act, dict(BM=128, BN=128, BK=64, GROUP=8)) for act in ACTIVATIONS]
                + [("float16", "gelu", launch_options(CONFIGS[0]))])  # the tuned default
    for dtype, act, blocks in variants:
        options = dict(blocks, ACT=act)
        short = {"bfloat16": "bf16", "float16": "f16"}[dtype]

        def run(torch, sms, dtype=dtype, act=act, options=options):
            torch_dtype = getattr(torch, dtype)
            a = torch.randn(M, K, device="cuda", dtype=torch_dtype)
            b = torch.randn(K, N, device="cuda", dtype=torch_dtype)
            bias = torch.randn(N, device="cuda", dtype=torch_dtype)
            c = torch.full((M, N), float("nan"), device="cuda", dtype=torch_dtype)
            gemm_bias_act[grid_of(grouped_grid(M, N), options)](a, b, c, bias, **options)
            torch.cuda.synchronize()
            return relative_error_check(c, reference_torch(a, b, bias, act))
        cases.append(Case(f"gemm_bias_act {M}x{N}x{K} {short} {act} {describe(options)}",
                          gemm_bias_act, (f"*{short}[2]:16",) * 3 + (f"*{short}:16",), options,
                          run, quick=act == "gelu" and dtype == "bfloat16",
                          tags={"gemm", "epilogue"}))
    return cases


def gemm_nt_cases() -> list[Case]:
    """gemm_nt as bench_fp8.py runs it (fp8 e4m3, K-major both), and in bf16."""
    cases = []
    for dtype, (M, N, K), BK in [("float8_e4m3fn", (192, 200, 256), 128),
                                 ("bfloat16", (192, 200, 136), 64)]:
        options = dict(BM=128, BN=256, BK=BK, num_warps=8, num_stages=3)
        type_name = {"float8_e4m3fn": "f8E4M3FN", "bfloat16": "bf16"}[dtype]

        def run(torch, sms, dtype=dtype, M=M, N=N, K=K, options=options):
            a = torch.randn(M, K, device="cuda").to(getattr(torch, dtype))
            w = torch.randn(N, K, device="cuda").to(getattr(torch, dtype))
            c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
            gemm_nt[(tile.cdiv(M, options["BM"]), tile.cdiv(N, options["BN"]))](
                a, w, c, **options)
            torch.cuda.synchronize()
            return relative_error_check(c, a.double() @ w.double().T)
        cases.append(Case(f"gemm_nt {M}x{N}x{K} {type_name} {describe(options)}", gemm_nt,
                          (f"*{type_name}[2]:16",) * 2 + ("*bf16[2]:16",), options, run,
                          quick=dtype != "bfloat16", tags={"gemm", "fp8"}))
    return cases


def w8a16_cases() -> list[Case]:
    """examples/w8a16.py's configurations (those w8a16_tuned times), at a ragged decode
    or prefill shape (K = 144: W's rows of 144 bytes come by TMA), and the first at
    K = 136 (W's rows not 16-byte multiples: read into registers from global memory)."""
    cases = []
    shapes = [(5 if c.kwargs["BM"] == 64 else 192, 200, 144, c) for c in W8A16_CONFIGS]
    for M, N, K, config in shapes + [(5, 200, 136, W8A16_CONFIGS[0])]:
        options = launch_options(config)

        def run(torch, sms, M=M, N=N, K=K, options=options):
            x = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
            w = torch.randint(-128, 128, (N, K), device="cuda", dtype=torch.int8)
            scale = torch.rand(N, device="cuda", dtype=torch.bfloat16) / 64
            y = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
            w8a16[(tile.cdiv(M, options["BM"]), tile.cdiv(N, options["BN"]))](
                x, w, scale, y, **options)
            torch.cuda.synchronize()
            return relative_error_check(y, x.double() @ (w.double() * scale.double()[:, None]).T)
        cases.append(Case(f"w8a16 {M}x{N}x{K} {describe(options)}", w8a16,
                          ("*bf16[2]:16", "*i8[2]" + (":16" if K % 16 == 0 else ""), "*bf16",
                           "*bf16[2]:16"), options, run,
                          quick=config is W8A16_CONFIGS[0], tags={"gemm", "w8a16"}))
    return cases


# Of bench_attention.py's configurations (BM, BN, warps, stages, warp-specialized): both
# block shapes, 4 and 8 warps, 2 and 3 stages, with and without a producer warpgroup;
# the persistent kernel's two. One that does not fit a D and CAUSAL is left out
# (TOO_LARGE_ATTENTION), as bench_attention.py's autotuner skips it.
ATTENTION_CONFIGS = [(128, 64, 4, 3, False), (128, 128, 8, 2, False), (128, 64, 8, 3, True),
                     (128, 128, 8, 2, True)]
ATTENTION_PERSISTENT_CONFIGS = [(128, 128, 8, 2, True), (128, 128, 8, 3, True)]
QUICK_ATTENTION = {(128, 64, 4, 3, False), (128, 128, 8, 2, True)}


def attention_run(persistent, options, programs=None, heads=ATTENTION_HEADS,
                  kv_heads=ATTENTION_HEADS, seq_len=ATTENTION_SEQ):
    """Q (heads · seq_len, D), K and V (kv_heads · seq_len, D); with STORE_LSE the
    log-sum-exp rows are checked too."""
    D, causal, scale = options["D"], options["CAUSAL"], 1 / math.sqrt(options["D"])
    group, lse = heads // kv_heads, options.get("STORE_LSE", False)

    def run(torch, sms):
        q = torch.randn(heads * seq_len, D, device="cuda", dtype=torch.bfloat16)
        k, v = (torch.randn(kv_heads * seq_len, D, device="cuda", dtype=torch.bfloat16)
                for _ in range(2))
        o = torch.full_like(q, float("nan"))
        L = torch.full((heads * seq_len,), float("nan"), device="cuda") if lse else o
        blocks = tile.cdiv(seq_len, options["BM"])
        if persistent:
            count = min(programs or sms, blocks * heads)
            attention_fwd_persistent[(count,)](q, k, v, o, L, seq_len, heads, group, scale,
                                               **options)
        else:
            attention_fwd[(blocks, heads)](q, k, v, o, L, seq_len, group, scale, **options)
        torch.cuda.synchronize()
        for h in range(heads):
            rows = slice(h * seq_len, (h + 1) * seq_len)
            kv = slice(h // group * seq_len, (h // group + 1) * seq_len)
            s = (q[rows].double() @ k[kv].double().T) * scale
            if causal:
                s = s.masked_fill(torch.ones_like(s, dtype=torch.bool).triu(1), float("-inf"))
            want = torch.softmax(s, dim=-1) @ v[kv].double()
            error = float((o[rows].double() - want).abs().max())
            if not error < 2e-2:
                return f"head {h}: max abs error {error:.3g}"
            if lse and not float((L[rows].double() - s.logsumexp(-1)).abs().max()) < 1e-3:
                return f"head {h}: log-sum-exp differs"
        return None
    return run


def attention_cases() -> list[Case]:
    signature = ("*bf16[2]:16",) * 5 + ("i32:16", "i32", "f32")
    persistent_signature = ("*bf16[2]:16",) * 5 + ("i32:16", "i32", "i32", "f32")
    cases = []
    for D in (64, 128):
        for causal in (False, True):
            kind = f"d{D} {'causal' if causal else 'non-causal'}"
            for config in ATTENTION_CONFIGS:
                if config not in fitting_attention_configs(D, causal):
                    continue
                BM, BN, warps, stages, ws = config
                options = dict(BM=BM, BN=BN, D=D, CAUSAL=causal, EVEN_SEQ=True,
                               num_warps=warps, num_stages=stages, warp_specialize=ws)
                cases.append(Case(
                    f"attention_fwd {ATTENTION_HEADS}x{ATTENTION_SEQ} {kind} "
                    f"{describe(options)}", attention_fwd, signature, options,
                    attention_run(False, options), quick=config in QUICK_ATTENTION,
                    tags={"attention"}))
            for config in ATTENTION_PERSISTENT_CONFIGS:
                BM, BN, warps, stages, ws = config
                options = dict(BM=BM, BN=BN, D=D, CAUSAL=causal, EVEN_SEQ=True,
                               num_warps=warps, num_stages=stages, warp_specialize=ws)
                if config not in fitting_attention_configs(D, causal, persistent=True):
                    continue
                # One program a multiprocessor, and 3 programs for 4 tiles (causal: the
                # pairs of even work, and a last round of single tiles).
                for programs in ((None, 3) if stages == 2 else (3,)):
                    label = "SMs" if programs is None else str(programs)
                    cases.append(Case(
                        f"attention_fwd_persistent {ATTENTION_HEADS}x{ATTENTION_SEQ} {kind} "
                        f"{describe(options)} programs={label}", attention_fwd_persistent,
                        persistent_signature, options,
                        attention_run(True, options, programs),
                        quick=stages == 2 and programs == 3,
                        tags={"attention", "persistent"}))
            cases += ragged_attention_cases(D, causal, kind)
    return cases


# A ragged sequence's configurations, (D, persistent) -> configs: with the tail key
# loop staged apart and the masked store's exchange, 128x128 blocks with a producer
# warpgroup exceed 227 KiB at d128 (tile.ops.attention's autotuner skips them).
RAGGED_ATTENTION = {(64, False): [(128, 64, 4, 3, False), (128, 128, 8, 2, True)],
                    (64, True): [(128, 128, 8, 2, True)],
                    (128, False): [(128, 64, 4, 3, False), (128, 64, 8, 3, True)],
                    (128, True): []}


def ragged_attention_cases(D: int, causal: bool, kind: str) -> list[Case]:
    """A sequence not a multiple of any block (the tail key block masked, the last
    query block's rows past it not stored), two query heads a kv head, the
    log-sum-exp stored: plain and persistent, where they fit."""
    heads, kv_heads, seq_len = 4, 2, ATTENTION_RAGGED_SEQ
    signature = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32", "i32", "f32")
    persistent_signature = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32", "i32", "i32", "f32")
    cases = []
    for persistent in (False, True):
        for config in RAGGED_ATTENTION[D, persistent]:
            BM, BN, warps, stages, ws = config
            options = dict(BM=BM, BN=BN, D=D, CAUSAL=causal, STORE_LSE=True, num_warps=warps,
                           num_stages=stages, warp_specialize=ws)
            name = "attention_fwd_persistent" if persistent else "attention_fwd"
            cases.append(Case(
                f"{name} {heads}x{seq_len} over {kv_heads} kv heads {kind} {describe(options)}",
                attention_fwd_persistent if persistent else attention_fwd,
                persistent_signature if persistent else signature, options,
                attention_run(persistent, options, 3 if persistent else None, heads, kv_heads,
                              seq_len),
                quick=True, tags={"attention", "ragged"} | ({"persistent"} if persistent
                                                            else set())))
    return cases


# Attention configurations whose shared memory does not fit a block (227 KiB), by
# (D, CAUSAL, persistent): bench_attention.py's autotuner skips these. Found with
# --compile-only (which prints each case's bytes).
TOO_LARGE_ATTENTION: dict[tuple, set] = {
    (128, True, True): {(128, 128, 8, 3, True)},  # 263168 bytes
}


def fitting_attention_configs(D: int, causal: bool, persistent: bool = False) -> set:
    pool = ATTENTION_PERSISTENT_CONFIGS if persistent else ATTENTION_CONFIGS
    return set(pool) - TOO_LARGE_ATTENTION.get((D, causal, persistent), set())


def all_cases() -> list[Case]:
    examples = [Case(**fields) for fields in example_cases()]
    probes = [c for c in examples if "probe" in c.tags]  # first: see sanitize_examples.py
    return (probes + vector_add_cases() + softmax_cases() + gemm_cases() + stream_k_cases()
            + epilogue_cases() + gemm_nt_cases() + w8a16_cases() + attention_cases()
            + [c for c in examples if "probe" not in c.tags])


def select(cases: list[Case], quick: bool, only: list[str] | None) -> list[Case]:
    if quick:
        cases = [c for c in cases if c.quick]
    if only:
        cases = [c for c in cases if any(word in c.name or word in c.tags for word in only)]
    return cases


# -- running ---------------------------------------------------------------------------------
def compile_case(case: Case) -> list:
    """Every kernel the case launches, compiled; the case's own first."""
    launches = [(case.kernel, case.signature, case.options)] + case.also
    return [kernel.compile(*signature, **options) for kernel, signature, options in launches]


def compile_only(cases: list[Case]) -> int:
    failures = 0
    for case in cases:
        start = time.perf_counter()
        try:
            shared = max(k.metadata.get("shared_bytes", 0) for k in compile_case(case))
            fits = shared <= SHARED_LIMIT
            failures += not fits
            print(f"{'ok  ' if fits else 'FAIL'} {case.name}: {shared} bytes of shared memory"
                  f"{'' if fits else f' (over {SHARED_LIMIT})'}, "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
        except Exception as e:  # report every case, then fail
            failures += 1
            print(f"FAIL {case.name}: {type(e).__name__}: {str(e).splitlines()[0][:300]}",
                  flush=True)
    print(f"sanitize --compile-only: {len(cases) - failures} of {len(cases)} cases compiled "
          f"and fit")
    return 1 if failures else 0


def run_cases(cases: list[Case]) -> int:
    import torch
    if not torch.cuda.is_available():
        print("sanitize: no CUDA device (try --compile-only)", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    print(f"sanitize: {len(cases)} cases on {torch.cuda.get_device_name(0)} ({sms} SMs), "
          f"launch path {tile_launch_path()}", flush=True)
    failed = []
    for case in cases:
        start = time.perf_counter()
        try:
            error = case.run(torch, sms)
        except Exception as e:
            error = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
            traceback.print_exc()
        seconds = time.perf_counter() - start
        print(f"{'ok  ' if error is None else 'FAIL'} {case.name} ({seconds:.1f} s)"
              + ("" if error is None else f": {error}"), flush=True)
        if error is not None:
            failed.append(case.name)
    if failed:
        print(f"sanitize: {len(failed)} of {len(cases)} cases FAILED: {', '.join(failed)}")
        return 1
    print(f"sanitize: all {len(cases)} cases match torch")
    return 0


def tile_launch_path() -> str:
    from tile.runtime import native
    return native.path_name()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="one or two configurations of each kernel (for racecheck)")
    parser.add_argument("--only", type=lambda s: [w for w in s.split(",") if w],
                        help="cases whose name contains, or whose tags hold, one of these "
                             "words (tags: vector_add, softmax, gemm, persistent, cluster, "
                             "stream_k, epilogue, fp8, w8a16, attention, examples, norms, "
                             "cross_entropy, rotary, embedding, split_k, histogram, atomics)")
    parser.add_argument("--list", action="store_true", help="print the cases and exit")
    parser.add_argument("--compile-only", action="store_true",
                        help="compile every case (no torch, no GPU) and check shared memory")
    args = parser.parse_args(argv)
    cases = select(all_cases(), args.quick, args.only)
    if not cases:
        print("sanitize: no case selected", file=sys.stderr)
        return 2
    if args.list:
        for case in cases:
            print(case.name)
        return 0
    if args.compile_only:
        return compile_only(cases)
    return run_cases(cases)


if __name__ == "__main__":
    sys.exit(main())
