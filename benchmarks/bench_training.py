"""A training step of a small GPT with tile's attention against the same model with
SDPA's, side by side in one process (`training`).

Three copies of one model (same seed, same weights): token and position embeddings,
`layers` pre-norm blocks (LayerNorm, fused QKV projection, causal attention, output
projection, a GELU MLP of 4x the width), a final LayerNorm and a vocabulary head; float32
weights under bf16 autocast, AdamW. They differ only in the attention call:
`tile.ops.attention(q, k, v, causal=True)` (the custom op, forward and backward kernels in
tile), `F.scaled_dot_product_attention(q, k, v, is_causal=True)` (torch picks its
backend, flash on the H100) or the same on SDPA's cuDNN backend. Each step the three
train on the same batch of a next-token
task (token t+1 = (5 * token t + 3) mod vocab half of the time, else random), so the
loss falls from about ln(vocab) towards a floor well above zero.

Check, three parts. (1) The first step's gradients (same weights, same batch) against
those of a fourth copy whose attention runs in float32 (relative norm over all
parameters): tile's error is at most twice SDPA's, or GRAD_FLOOR if wider. (2) The loss
curves agree within CURVE_TOLERANCE (relative) over the first AGREE_STEPS steps. Later
steps are reported, not checked: near the loss's floor the training spikes and amplifies
rounding differences chaotically (SDPA's own two backends drift 1e-1 apart there), so one
late sample says little. (3) All curves fall by at least FALL (nats) from the first
step's loss. Timing: each step of each
model between synchronizations, the models taking turns; the median over the steps after
`WARMUP_STEPS` (the first steps compile and autotune) is the step time.
"""
from __future__ import annotations

import math
import statistics
import time

STEPS, WARMUP_STEPS, FALL = 50, 10, 1.0
GRAD_FLOOR, CURVE_TOLERANCE, AGREE_STEPS = 1e-3, 1e-3, 10
VOCAB = 4096


def cases(quick: bool) -> list[tuple]:
    """(batch, tokens, width, heads, layers)"""
    return [(4, 512, 512, 4, 2)] if quick else [(8, 1024, 1024, 8, 4), (4, 2048, 2048, 16, 2)]


def case_name(B, N, C, H, layers) -> str:
    return f"GPT training step B{B} N{N} C{C} H{H} (d{C // H}) x{layers} layers, causal"


def make_model(torch, attention, N: int, C: int, H: int, layers: int):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = attention  # a plain function, not a module: copies share it
            self.norm1, self.norm2 = nn.LayerNorm(C), nn.LayerNorm(C)
            self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
            self.up, self.down = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

        def forward(self, x):
            B = x.shape[0]
            q, k, v = self.qkv(self.norm1(x)).view(B, N, 3, H, C // H).permute(2, 0, 3, 1, 4)
            y = self.attention(q, k, v).transpose(1, 2).reshape(B, N, C)
            x = x + self.proj(y)
            return x + self.down(F.gelu(self.up(self.norm2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens, self.positions = nn.Embedding(VOCAB, C), nn.Embedding(N, C)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.norm, self.head = nn.LayerNorm(C), nn.Linear(C, VOCAB, bias=False)

        def forward(self, tokens):
            x = self.tokens(tokens) + self.positions.weight
            for block in self.blocks:
                x = block(x)
            return self.head(self.norm(x))

    return GPT()


def batch(torch, generator, B: int, N: int):
    """Inputs and next-token targets: each token follows the last by the affine rule
    with probability 1/2, else is drawn at random, so the loss cannot fall below about
    0.35 + ln(2·VOCAB)/2 nats (4.85 for 4096) and the curves stay comparable."""
    start = torch.randint(0, VOCAB, (B, 1), generator=generator, device=generator.device)
    noise = torch.randint(0, VOCAB, (B, N), generator=generator, device=generator.device)
    ruled = torch.rand((B, N), generator=generator, device=generator.device) < 0.5
    tokens = [start]
    for t in range(N):
        tokens.append(torch.where(ruled[:, t:t + 1], (5 * tokens[-1] + 3) % VOCAB,
                                  noise[:, t:t + 1]))
    sequence = torch.cat(tokens, dim=1)
    return sequence[:, :-1], sequence[:, 1:]


def bench_case(B, N, C, H, layers, warmup=None, rep=None) -> dict:
    import copy

    import torch
    import torch.nn.functional as F

    import tile.ops
    torch.manual_seed(0)
    sdpa = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)  # noqa: E731
    ours = lambda q, k, v: tile.ops.attention(q, k, v, causal=True)  # noqa: E731

    def cudnn(q, k, v):
        from torch.nn.attention import SDPBackend, sdpa_kernel
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    reference = make_model(torch, sdpa, N, C, H, layers).cuda()
    model = copy.deepcopy(reference)
    for block in model.blocks:  # the copy differs in its attention alone
        block.attention = ours
    cudnn_model = copy.deepcopy(reference)
    for block in cudnn_model.blocks:
        block.attention = cudnn
    def float32(q, k, v):
        with torch.autocast("cuda", enabled=False):
            return F.scaled_dot_product_attention(q.float(), k.float(), v.float(),
                                                  is_causal=True).to(q.dtype)
    exact = copy.deepcopy(reference)
    for block in exact.blocks:
        block.attention = float32
    sides = {"tile": model, "sdpa": reference, "sdpa cuDNN": cudnn_model}
    optimizers = {name: torch.optim.AdamW(m.parameters(), lr=1e-3) for name, m in sides.items()}
    generator = torch.Generator(device="cuda").manual_seed(1)
    losses = {name: [] for name in sides}
    times = {name: [] for name in sides}
    first_grads = {}

    def train_step(name, inputs, targets, keep_grads=False):
        m, optimizer = sides[name], optimizers[name]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(m(inputs).flatten(0, 1).float(), targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if keep_grads:
            first_grads[name] = torch.cat([p.grad.flatten().float() for p in m.parameters()
                                           if p.grad is not None])
        optimizer.step()
        return loss

    for step in range(STEPS):
        inputs, targets = batch(torch, generator, B, N)
        if step == 0:  # the float32 attention's gradients, the first step's yardstick
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(exact(inputs).flatten(0, 1).float(), targets.flatten())
            loss.backward()
            first_grads["float32"] = torch.cat([p.grad.flatten().float()
                                                for p in exact.parameters() if p.grad is not None])
            del exact
        names = list(sides)[step % 3:] + list(sides)[:step % 3]
        for name in names:
            torch.cuda.synchronize()
            start = time.perf_counter()
            loss = train_step(name, inputs, targets, keep_grads=step == 0)
            torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
            losses[name].append(loss.item())
    # One more step each of tile's and SDPA's models under torch.profiler: where the
    # step's time goes (the kernels that take the most, and the host's time).
    inputs, targets = batch(torch, generator, B, N)
    profile = {name: profiled(torch, lambda name=name: train_step(name, inputs, targets))
               for name in ("tile", "sdpa")}
    def spread(x, y, steps=STEPS):
        return max(abs(a - b) / b for a, b in zip(losses[x][:steps], losses[y][:steps]))

    def grad_error(x):
        exact = first_grads["float32"]
        return float((first_grads[x] - exact).norm() / exact.norm())
    difference, backends = spread("tile", "sdpa"), spread("sdpa cuDNN", "sdpa")
    early = spread("tile", "sdpa", AGREE_STEPS)
    grads = {name: grad_error(name) for name in sides}
    fell = all(curve[-1] <= curve[0] - FALL for curve in losses.values())
    grads_agree = grads["tile"] <= max(GRAD_FLOOR, 2 * grads["sdpa"])
    ms = {name: statistics.median(t[WARMUP_STEPS:]) * 1e3 for name, t in times.items()}
    return {"case": case_name(B, N, C, H, layers), "kind": "training", "losses": losses,
            "max_relative_difference": difference, "backends_difference": backends,
            "early_relative_difference": early, "first_step_grad_error": grads,
            "profile": profile,
            "loss_fell": fell,
            "first_loss": losses["sdpa"][0], "last_loss": {n: c[-1] for n, c in losses.items()},
            "expected_first_loss": math.log(VOCAB), "ms": ms, "vs_sdpa": ms["sdpa"] / ms["tile"],
            "vs_cudnn": ms["sdpa cuDNN"] / ms["tile"],
            "correct": grads_agree and early <= CURVE_TOLERANCE and fell}


def profiled(torch, step, top: int = 12) -> dict:
    """One `step()` under torch.profiler: its wall time, the host's busiest ops and
    the GPU kernels that take the most time (µs, summed over the step)."""
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.synchronize()
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    wall = (time.perf_counter() - start) * 1e6
    events = prof.key_averages()

    def device_us(e):
        return getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0)
    kernels = sorted((e for e in events if str(getattr(e, "device_type", "")).endswith("CUDA")),
                     key=device_us, reverse=True)
    host = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)
    return {"wall_us": wall,
            "gpu_us": sum(device_us(e) for e in kernels),
            "kernels": [(e.key[:80], e.count, device_us(e)) for e in kernels[:top]],
            "host": [(e.key[:80], e.count, e.self_cpu_time_total) for e in host[:top]]}


def bench(quick: bool = False) -> list[dict]:
    from .rows import run_cases
    return run_cases(cases(quick), "training", bench_case, case_name, row, quick)


def row(r: dict) -> str:
    if "error" in r:
        return f"| {r['case']} | FAILED: {r['error']} | | | |"
    grads = r["first_step_grad_error"]
    check = (f"first step's gradients {grads['tile']:.1e} from float32 attention's (SDPA "
             f"{grads['sdpa']:.1e}, cuDNN {grads['sdpa cuDNN']:.1e}); loss curves within {r['early_relative_difference']:.1e} "
             f"over {AGREE_STEPS} steps, {r['max_relative_difference']:.1e} over {STEPS} (SDPA's "
             f"backends {r['backends_difference']:.1e}); {r['first_loss']:.2f} → "
             f"{r['last_loss']['tile']:.3f}")
    if not r["correct"]:
        check = "WRONG: " + check + ("" if r["loss_fell"] else ", loss did not fall")
    return (f"| {r['case']} | {check} | {r['ms']['tile']:.1f} ms/step | SDPA {r['ms']['sdpa']:.1f}, "
            f"cuDNN {r['ms']['sdpa cuDNN']:.1f} ms/step | {r['vs_sdpa']:.3f} × SDPA, "
            f"{r['vs_cudnn']:.3f} × cuDNN |")
