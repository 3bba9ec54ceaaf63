"""scripts/sanitize.py's cases for the examples written with masks, gathers,
scatters, atomics and row reductions: norms, cross-entropy, rotary embedding,
token embedding, split-K GEMM, the scaled fp8 GEMMs, the histogram, the MoE layer, dropout, and tile.ops'
attention backward, decode and varlen attention, tile.sort and tile.gather (plus a probe of the tools: memory
written by a TMA store alone, read back). Each case launches the example's kernels at a small,
ragged shape (rows and vocabularies that are no multiple of a block, tokens
that repeat, values outside the bins) and checks them against torch, so the
sanitizer's tools see every masked edge.

`example_cases()` gives the fields of sanitize.Case as dicts (this module
imports nothing from sanitize.py, which runs as __main__); `also` names the
other kernels a case launches, for --compile-only.
"""
from __future__ import annotations

import cross_entropy
import dropout
import embedding
import gemm_fp8
import histogram
import moe
import norms
import rotary
import split_k

import tile
from tile.ops import attention_backward, attention_kernels, decode, decode_kernels, sdpa


def passed(ok: bool, what: str) -> str | None:
    """An example's own check (it prints its errors) as a case's result."""
    return None if ok else f"{what} differs from torch (see the lines above)"


def norms_cases() -> list[dict]:
    cases = []
    for M, N in [(37, 1000), (9, 4100)]:  # rows no multiple of BM; N no power of two
        BN = norms.next_power_of_two(N)
        forward = norms.forward_blocks(BN)
        backward = dict(ROWS=16, BN=BN, num_warps=norms.warps_for(BN))
        cases.append(dict(
            name=f"norms {M}x{N} bf16 (LayerNorm and RMSNorm, forward and backward)",
            kernel=norms.layer_norm_forward,
            signature=("*bf16[2]:16", "*f32:16", "*f32:16", "*bf16[2]:16", "*f32:16",
                       "*f32:16", "f32"),
            options=dict(BN=BN, **forward),
            run=lambda torch, sms, M=M, N=N: passed(norms.run_on_gpu(M, N), "norms"),
            quick=N == 1000, tags={"norms", "examples"},
            also=[(norms.layer_norm_backward, ("*bf16[2]:16", "*f32:16", "*bf16[2]:16",
                                               "*f32:16", "*f32:16", "*bf16[2]:16",
                                               "*f32[2]:16", "*f32[2]:16"), backward),
                  (norms.rms_norm_forward, ("*bf16[2]:16", "*f32:16", "*bf16[2]:16",
                                            "*f32:16", "f32"), dict(BN=BN, **forward)),
                  (norms.rms_norm_backward, ("*bf16[2]:16", "*f32:16", "*bf16[2]:16",
                                             "*f32:16", "*bf16[2]:16", "*f32[2]:16"),
                   backward),
                  (norms.column_sums, ("*f32[2]:16", "*f32:16"), dict(BM=4, BN=128))]))
    return cases


def cross_entropy_cases() -> list[dict]:
    cases = []
    for M, V in [(13, 1000), (5, 33000)]:  # one block; several with a ragged last one
        BV = min(4096, norms.next_power_of_two(V))
        options = dict(BV=BV, num_warps=min(16, max(4, BV // 512)))
        signature = ("*bf16[2]:16", "*i32:16", "*f32:16", "*f32:16", "i32")
        cases.append(dict(
            name=f"cross-entropy {M}x{V} bf16 with ignored rows",
            kernel=cross_entropy.cross_entropy_forward, signature=signature, options=options,
            run=lambda torch, sms, M=M, V=V: passed(cross_entropy.run_on_gpu(M, V),
                                                    "cross-entropy"),
            quick=V == 1000, tags={"cross_entropy", "examples"},
            also=[(cross_entropy.cross_entropy_backward,
                   ("*bf16[2]:16", "*i32:16", "*f32:16", "*f32:16", "*bf16[2]:16", "i32"),
                   options)]))
    return cases


def rotary_cases() -> list[dict]:
    tokens, H, HK, D = 37, 12, 3, 64  # head counts no power of two: masked heads
    return [dict(
        name=f"rotary q {tokens}x{H}x{D}, k {tokens}x{HK}x{D} bf16 (half and interleaved)",
        kernel=rotary.rotate, signature=("*bf16[3]:16", "*f32[2]:16", "*f32[2]:16", "*i32:16",
                                         "i32"),
        options=dict(D2=D // 2, BH=16, INTERLEAVED=False),
        run=lambda torch, sms: passed(rotary.run_on_gpu(tokens, H, HK, D), "rotary"),
        quick=True, tags={"rotary", "examples"})]


def embedding_cases() -> list[dict]:
    vocab, dim, n_tokens = 1000, 300, 1001  # ragged tokens and columns, repeated ids

    def run(torch, sms):
        weight = torch.randn(vocab, dim, device="cuda")
        ids = torch.randint(0, vocab, (n_tokens,), device="cuda")
        ids[::7] = ids[0]
        out = torch.full((n_tokens, dim), float("nan"), device="cuda")
        grid = embedding.grid(n_tokens, dim)
        embedding.embedding_forward[grid](ids, weight, out, **embedding.BLOCKS)
        grad_out = torch.randn(n_tokens, dim, device="cuda")
        grad_weight = torch.zeros_like(weight)
        embedding.embedding_backward[grid](ids, grad_out, grad_weight, **embedding.BLOCKS)
        torch.cuda.synchronize()
        if not torch.equal(out, weight[ids]):
            return "forward differs from weight[ids]"
        want = torch.zeros_like(weight).index_add_(0, ids, grad_out)
        if not torch.allclose(grad_weight, want, rtol=1e-5, atol=1e-4):
            return "backward differs from index_add_"
        return None
    signature = ("*i64:16", "*f32[2]", "*f32[2]")
    return [dict(name=f"embedding {n_tokens} tokens of {vocab}x{dim} f32, forward and backward",
                 kernel=embedding.embedding_forward, signature=signature,
                 options=dict(embedding.BLOCKS), run=run, quick=True,
                 tags={"embedding", "atomics", "examples"},
                 also=[(embedding.embedding_backward, signature, dict(embedding.BLOCKS))])]


def split_k_cases() -> list[dict]:
    M, N, K = 20, 200, 1000  # tiles stick out of M and N; the last K slice is shorter

    def run(torch, sms):
        a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
        c = torch.zeros(M, N, device="cuda")
        split_k.gemm_split_k[split_k.grid(M, N)](a, b, c, **split_k.BLOCKS)
        torch.cuda.synchronize()
        error = float((c.double() - a.double() @ b.double()).norm()
                      / (a.double() @ b.double()).norm())
        return None if error < 1e-4 else f"relative error {error:.3g}"
    return [dict(name=f"split-K GEMM {M}x{N}x{K} bf16 -> f32 atomics", kernel=split_k.gemm_split_k,
                 signature=("*bf16[2]:16", "*bf16[2]:16", "*f32[2]"),
                 options=dict(split_k.BLOCKS), run=run, quick=True,
                 tags={"split_k", "atomics", "examples"})]


def fp8_cases() -> list[dict]:
    M, N, K = 136, 200, 384  # tiles stick out of M and N

    def run_mode(mode):
        def run(torch, sms):
            import numpy as np
            a = torch.randn(M, K, device="cuda").to(torch.float8_e4m3fn)
            w = torch.randn(N, K, device="cuda").to(torch.float8_e4m3fn)
            c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
            scale_a, scale_w = (torch.rand(shape, device="cuda") + 0.5
                                for shape in gemm_fp8.scale_shapes(mode, M, N, K))
            gemm_fp8.launch(mode, a, w, scale_a, scale_w, c)
            torch.cuda.synchronize()
            expect = gemm_fp8.reference(np, a.float().cpu().numpy(), w.float().cpu().numpy(),
                                        scale_a.cpu().numpy(), scale_w.cpu().numpy(), mode)
            error = float(np.linalg.norm(c.double().cpu().numpy() - expect)
                          / np.linalg.norm(expect))
            return None if error < 1e-2 else f"relative error {error:.3g}"
        return run
    fp8 = ("*f8E4M3FN[2]:16", "*f8E4M3FN[2]:16", "*bf16[2]:16")
    return [dict(name=f"fp8 GEMM {M}x{N}x{K} per-row scales", kernel=gemm_fp8.gemm_fp8_scaled,
                 signature=fp8 + ("*f32:16", "*f32:16"),
                 options=dict(BM=128, BN=128, BK=128, ROWWISE=True, num_warps=8, num_stages=4),
                 run=run_mode("rowwise"), quick=False, tags={"fp8", "examples"}),
            dict(name=f"fp8 GEMM {M}x{N}x{K} block scales", kernel=gemm_fp8.gemm_fp8_blockwise,
                 signature=fp8 + ("*f32[2]:16", "*f32[2]:16"),
                 options=dict(BM=128, BN=128, num_warps=8, num_stages=4),
                 run=run_mode("blockwise"), quick=True, tags={"fp8", "examples"})]


def histogram_cases() -> list[dict]:
    n, nbins, lo, hi = 100_003, 100, -2.0, 2.0  # a ragged last block; values outside

    def run(torch, sms):
        x = torch.randn(n, device="cuda")
        x[:4] = torch.tensor([lo, hi, float("nan"), float("inf")])
        hist = torch.zeros(nbins, device="cuda", dtype=torch.int32)
        histogram.histogram[(tile.cdiv(n, histogram.BLOCK),)](x, hist, lo, hi,
                                                              BLOCK=histogram.BLOCK)
        torch.cuda.synchronize()
        want = histogram.bins_of(x.cpu().numpy(), nbins, lo, hi)
        want = torch.bincount(torch.from_numpy(want).long(), minlength=nbins).int()
        return None if torch.equal(hist.cpu(), want) else "differs from the bins counted on the CPU"
    return [dict(name=f"histogram {n} values, {nbins} bins", kernel=histogram.histogram,
                 signature=("*f32:16", "*i32:16", "f32", "f32"),
                 options=dict(BLOCK=histogram.BLOCK), run=run, quick=True,
                 tags={"histogram", "atomics", "examples"})]


def moe_cases() -> list[dict]:
    # Ragged: tokens no multiple of a block, experts' segments padded, columns of
    # the combine no multiple of BD; H a multiple of BK (grouped_gemm's rule).
    T, E, H, N, topk = 333, 16, 192, 320, 4

    def run(torch, sms):
        out, b, (want, experts, _), _ = moe.run_on_gpu(T, E, H, N, topk)
        if not torch.equal(b.experts.long(), experts):
            return "routing differs from torch.topk"
        error = float((out.float() - want).norm() / want.norm())
        return None if error < 1e-2 else f"relative error {error:.3g}"
    F, B, I2, I1 = "*f32[2]:16", "*bf16[2]:16", "*i32[2]:16", "*i32:16"
    return [dict(name=f"MoE {T} tokens, {E} experts top-{topk}, {H}->{N} bf16 (route, "
                      "align, permute, grouped GEMM, combine)",
                 kernel=moe.grouped_gemm, signature=(B, B, B, I1),
                 options=dict(**moe.GEMM, **moe.GEMM_LAUNCH), run=run, quick=True,
                 tags={"moe", "atomics", "examples"},
                 also=[(moe.route, (F, F, I2, I2, I1), dict(BT=moe.ROUTE_BT, E=E, TOPK=topk)),
                       (moe.align, (I1, I1, I1), dict(BM=moe.GEMM["BM"], E=E, BTILES=128)),
                       (moe.permute, (B, I2, I2, I1, I1, B),
                        dict(BM=moe.GEMM["BM"], TOPK=topk, **moe.COPY)),
                       (moe.combine, (B, F, I2, I2, I1, B), dict(TOPK=topk, **moe.COPY)),
                       (moe.grouped_gemm_persistent, (B, B, B, I1),
                        dict(**moe.GEMM, num_warps=8, num_stages=3))])]


def dropout_cases() -> list[dict]:
    n, p = 100_003, 0.3  # a ragged last block in both grids
    signature = ("*f32:16", "*f32:16", "i32", "f32", "i32")
    return [dict(name=f"dropout {n} f32, forward and backward (another grid)",
                 kernel=dropout.dropout_forward, signature=signature, options=dict(BLOCK=1024),
                 run=lambda torch, sms: passed(dropout.run_on_gpu(n, p, seed=5), "dropout"),
                 quick=True, tags={"dropout", "examples"},
                 also=[(dropout.dropout_backward, signature, dict(BLOCK=256))])]


def attention_backward_cases() -> list[dict]:
    """4 query heads over 2 kv heads of 200 rows, d64: a ragged last block in both
    kernels (its rows past 200 are the next head's, masked and not stored), causal
    and not, against float32 autograd."""
    B, H, H_kv, N, D = 1, 4, 2, 200, 64
    dkdv, dq = attention_backward.default_blocks(D)
    A, L = "*bf16[2]:16", "*f32:16"
    cases = []
    for causal in (False, True):
        def run(torch, sms, causal=causal):
            q, do = (torch.randn(B, H, N, D, device="cuda").bfloat16() for _ in range(2))
            k, v = (torch.randn(B, H_kv, N, D, device="cuda").bfloat16() for _ in range(2))
            q, k, v = (t.float().requires_grad_() for t in (q, k, v))
            scale = D ** -0.5
            s = q @ k.repeat_interleave(H // H_kv, 1).transpose(-1, -2) * scale
            if causal:
                s = s.masked_fill(torch.ones(N, N, device="cuda").triu(1).bool(), -float("inf"))
            o = torch.softmax(s, -1) @ v.repeat_interleave(H // H_kv, 1)
            o.backward(do.float())
            got = attention_backward.attention_backward(
                *(t.detach().bfloat16() for t in (q, k, v, o)), torch.logsumexp(s, -1).detach(),
                do, causal, scale)
            errors = [float((g.float() - w.grad).norm() / w.grad.norm())
                      for g, w in zip(got, (q, k, v))]
            return None if max(errors) < 2e-2 else f"dq, dk, dv rel err {errors}"
        cases.append(dict(
            name=f"attention backward {H} heads over {H_kv} x {N} d{D} bf16"
                 f"{' causal' if causal else ''}",
            kernel=attention_backward.attention_bwd_dkdv,
            signature=(A,) * 4 + (L,) * 2 + (A,) * 2 + ("i32", "i32", "f32"),
            options=dict(D=D, CAUSAL=causal, **dkdv), run=run, quick=causal,
            tags={"attention", "examples"},
            also=[(attention_backward.attention_bwd_dq,
                   (A,) * 4 + (L,) * 2 + (A, "i32", "i32", "f32"), dict(D=D, CAUSAL=causal, **dq)),
                  (attention_backward.row_dot, (A, A, L, "i32"),
                   dict(BM=attention_backward.ROW_DOT_ROWS, D=D))]))
    return cases


def decode_cases() -> list[dict]:
    """Three new tokens of 8 query heads over 2 kv heads against a paged cache (pages of
    16, shuffled) of ragged lengths (one sequence empty), 3 splits: the last page and
    split partial, a split with no key; against float32 torch. Both split kernels."""
    B, q_len, H, H_kv, D, page, capacity = 3, 3, 8, 2, 64, 16, 150

    def check(torch, kernel):
        per = -(-capacity // page)
        table = torch.randperm(B * per + 2, device="cuda")[:B * per].int().reshape(B, per)
        k_cache, v_cache = (torch.randn(B * per + 2, page, H_kv, D, device="cuda").bfloat16()
                            for _ in range(2))
        q = torch.randn(B, q_len, H, D, device="cuda").bfloat16()
        lengths = torch.tensor([0, 37, capacity], device="cuda", dtype=torch.int32)
        default, decode.SPLIT_KERNEL = decode.SPLIT_KERNEL, kernel
        try:
            out = decode.attention_decode(q, k_cache, v_cache, lengths, table, num_splits=3)
        finally:
            decode.SPLIT_KERNEL = default
        if not (out[0] == 0).all():
            return "the empty sequence's rows are not zero"
        for b in (1, 2):
            L = int(lengths[b])
            keys, values = (c[table[b].long()].reshape(-1, H_kv, D)[:L].float()
                            .repeat_interleave(H // H_kv, 1).transpose(0, 1)
                            for c in (k_cache, v_cache))
            s = q[b].float().transpose(0, 1) @ keys.transpose(1, 2) * D ** -0.5
            s = s.masked_fill(torch.ones(q_len, L, device="cuda").tril(L - q_len) == 0,
                              -float("inf"))
            want = (torch.softmax(s, -1) @ values).transpose(0, 1)
            error = float((out[b].float() - want).norm() / want.norm())
            if error >= 1e-2:
                return f"sequence {b}: relative error {error:.3g}"
        return None
    A, I = "*bf16[4]:16", "*i32:16"
    signature = (A, A, A, "*i32[2]:16", I, "*f32[2]:16", "*f32:16", "f32") + ("i32",) * 15
    cases = []
    for name in ("rows", "transposed"):
        kernel, rows, keys = decode.split_blocks(name, q_len * H // H_kv, D)
        cases.append(dict(
            name=f"decode attention ({name}) {q_len} tokens, {H} heads over {H_kv}, paged by "
                 f"{page}, ragged lengths, 3 splits",
            kernel=kernel, signature=signature,
            options=dict(GROUP=H // H_kv, BM=rows, BN=keys, D=D, CAUSAL=True),
            run=lambda torch, sms, name=name: check(torch, name), quick=True,
            tags={"attention", "decode", "examples"},
            also=[(decode_kernels.decode_combine, ("*f32[2]:16", "*f32:16", A) + ("i32",) * 8,
                   dict(BR=decode.COMBINE_ROWS, D=D))]))
    return cases


def varlen_cases() -> list[dict]:
    """Five packed sequences (5, 0, 130, 64 and 1 tokens) of 4 query heads over 2, d64,
    causal and not, in the tuner's default configuration: blocks past a sequence's
    end, keys of the next sequence masked, the last rows past the array's end."""
    lengths, H, H_kv, D = [5, 0, 130, 64, 1], 4, 2, 64
    config = sdpa.DEFAULT_BLOCK_CONFIG
    cases = []
    for causal in (False, True):
        def run(torch, sms, causal=causal):
            cu = torch.tensor([0] + [sum(lengths[:i + 1]) for i in range(len(lengths))],
                              device="cuda", dtype=torch.int32)
            total = int(cu[-1])
            q = torch.randn(H, total, D, device="cuda").bfloat16()
            k, v = (torch.randn(H_kv, total, D, device="cuda").bfloat16() for _ in range(2))
            out = torch.full_like(q, float("nan"))
            lse = torch.full((H, total), float("nan"), device="cuda")
            grid = (tile.cdiv(max(lengths), config.kwargs["BM"]), H, len(lengths))
            attention_kernels.attention_fwd_varlen[grid](
                *(x.reshape(-1, D) for x in (q, k, v, out)), lse.reshape(-1), cu, total,
                H // H_kv, D ** -0.5, D=D, CAUSAL=causal, STORE_LSE=True,
                **config.launch_kwargs())
            for start, end in zip(cu[:-1].tolist(), cu[1:].tolist()):
                if start == end:
                    continue
                qs, ks, vs = (x[:, start:end].float() for x in (q, k, v))
                s = qs @ ks.repeat_interleave(H // H_kv, 0).transpose(1, 2) * D ** -0.5
                if causal:
                    s = s.masked_fill(torch.ones(end - start, end - start, device="cuda")
                                      .triu(1).bool(), -float("inf"))
                want = torch.softmax(s, -1) @ vs.repeat_interleave(H // H_kv, 0)
                error = float((out[:, start:end].float() - want).norm() / want.norm())
                lse_error = float((lse[:, start:end] - s.logsumexp(-1)).abs().max())
                if not (error < 1e-2 and lse_error < 1e-3):
                    return f"tokens {start}..{end}: rel err {error:.3g}, lse {lse_error:.3g}"
            return None
        cases.append(dict(
            name=f"attention varlen {lengths} tokens, {H} heads over {H_kv}, d{D}"
                 f"{' causal' if causal else ''}",
            kernel=attention_kernels.attention_fwd_varlen,
            signature=("*bf16[2]:16",) * 4 + ("*f32:16", "*i32:16", "i32", "i32", "f32"),
            options=dict(D=D, CAUSAL=causal, STORE_LSE=True, **config.launch_kwargs()),
            run=run, quick=causal, tags={"attention", "varlen", "examples"}))
    return cases


@tile.jit
def fill_by_tma(X, value, BM: tile.constexpr, BN: tile.constexpr):
    """X's rows [pid * BM, ...) set to `value` by a view store (a TMA store)."""
    tile.store(X, (tile.program_id(0) * BM, 0), tile.full((BM, BN), 1.0) * value)


@tile.jit
def add_one(X, Y, n, BLOCK: tile.constexpr):
    """Y = X + 1 through masked gathers (plain ld.global)."""
    offsets = tile.program_id(0) * BLOCK + tile.arange(BLOCK)
    tile.store(Y, offsets, tile.load(X, offsets, mask=offsets < n) + 1.0, mask=offsets < n)


def tma_store_cases() -> list[dict]:
    """A probe of the tools rather than of a kernel: memory written only by a TMA store
    (cp.async.bulk.tensor from shared memory), then read by another kernel's loads.
    initcheck reported such reads in the MoE case (route's TMA-stored experts and
    ranks, read by permute) while the results matched torch; this case tells a tool
    that does not see TMA writes from a kernel that reads what nobody wrote."""
    M, N, BM = 200, 64, 64

    def run(torch, sms):
        x = torch.empty(M, N, device="cuda")  # written below by TMA alone
        y = torch.full_like(x, float("nan"))
        fill_by_tma[(tile.cdiv(M, BM),)](x, 2.0, BM=BM, BN=N)
        add_one[(tile.cdiv(M * N, 1024),)](x, y, M * N, BLOCK=1024)
        return None if bool((y == 3.0).all()) else "the TMA-stored values did not read back"
    return [dict(name=f"TMA store of {M}x{N} f32, read back by another kernel (initcheck probe)",
                 kernel=fill_by_tma, signature=("*f32[2]:16", "f32"),
                 options=dict(BM=BM, BN=N), run=run, quick=True, tags={"tma", "probe"},
                 also=[(add_one, ("*f32[2]:16", "*f32[2]:16", "i32"), dict(BLOCK=1024))])]


@tile.jit
def sort_rows(X, V, I, DESCENDING: tile.constexpr, BM: tile.constexpr, BN: tile.constexpr):
    """Each of X's BM rows of BN sorted (tile.sort: a bitonic network in shared memory)."""
    values, indices = tile.sort(tile.load(X, (0, 0), (BM, BN)), descending=DESCENDING)
    tile.store(V, (0, 0), values)
    tile.store(I, (0, 0), indices)


@tile.jit
def gather_columns(X, I, Y, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    """Y = X's columns picked row by row (tile.gather: through shared memory)."""
    x = tile.load(X, (0, 0), (BM, BN))
    tile.store(Y, (0, 0), tile.gather(x, tile.load(I, (0, 0), (BM, BK)), 1))


def gather_cases() -> list[dict]:
    BM, BN, BK = 16, 128, 32

    def run(torch, sms):
        x = torch.randn(BM, BN, device="cuda")
        index = torch.randint(0, BN, (BM, BK), device="cuda", dtype=torch.int32)
        y = torch.full((BM, BK), float("nan"), device="cuda")
        gather_columns[(1,)](x, index, y, BM=BM, BN=BN, BK=BK)
        return None if torch.equal(y, torch.gather(x, 1, index.long())) else \
            "differs from torch.gather"
    return [dict(name=f"gather {BM}x{BN} f32 by {BM}x{BK} indices", kernel=gather_columns,
                 signature=("*f32[2]:16", "*i32[2]:16", "*f32[2]:16"),
                 options=dict(BM=BM, BN=BN, BK=BK), run=run, quick=True, tags={"gather"})]


def sort_cases() -> list[dict]:
    """tile.sort's barriers between the network's steps: racecheck's case."""
    cases = []
    for BM, BN, descending in [(4, 256, False), (16, 64, True)]:
        def run(torch, sms, BM=BM, BN=BN, descending=descending):
            x = torch.randint(-8, 8, (BM, BN), device="cuda").float()  # ties
            x[0, ::5] = float("nan")
            values = torch.empty_like(x)
            indices = torch.empty(BM, BN, dtype=torch.int32, device="cuda")
            sort_rows[(1,)](x, values, indices, DESCENDING=descending, BM=BM, BN=BN)
            want, order = torch.sort(x, descending=descending, stable=True)
            same = torch.equal(indices.long(), order) and torch.equal(
                values.view(torch.int32), want.view(torch.int32))
            return None if same else "differs from torch.sort(stable=True)"
        cases.append(dict(name=f"sort {BM}x{BN} f32 {'descending' if descending else 'ascending'}",
                          kernel=sort_rows, signature=("*f32[2]:16", "*f32[2]:16", "*i32[2]:16"),
                          options=dict(DESCENDING=descending, BM=BM, BN=BN), run=run,
                          quick=True, tags={"sort"}))
    return cases


def example_cases() -> list[dict]:
    # (sanitize.py runs the TMA-store probe first: compute-sanitizer prints a run's
    # first 100 reports, so what initcheck says of it shows whatever comes later.)
    return (tma_store_cases() + norms_cases() + cross_entropy_cases() + rotary_cases()
            + embedding_cases() + split_k_cases() + fp8_cases() + histogram_cases()
            + moe_cases() + dropout_cases() + attention_backward_cases() + decode_cases()
            + varlen_cases() + sort_cases() + gather_cases())
