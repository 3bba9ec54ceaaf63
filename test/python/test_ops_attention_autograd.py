"""tile.ops.attention's backward through autograd, and the op under torch.compile.
On the CPU interpreter (TILE_INTERPRET=1, small sizes) the output and the
gradients of q, k and v against torch's SDPA in float64: ragged N, N = 1,
grouped- and multi-query heads, causal or not, bf16 and f16, a padded head dim;
compiled with fullgraph=True (no graph break) it gives eager's bits;
torch.library.opcheck passes on both ops (with and without the LSE). On the GPU the same against SDPA's
autograd, compiled with inductor."""
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import tile.ops  # noqa: E402
from tile.ops import attention_autograd  # noqa: E402

# ‖tile − float64 SDPA‖ / ‖float64 SDPA‖ of the output and of each gradient: the
# inputs are rounded to bf16 (8 bits of mantissa) or f16 (11), and so are P and dS
# before their mmas, as in FlashAttention-2.
TOLERANCE = {torch.bfloat16: 2e-2, torch.float16: 4e-3}


@pytest.fixture
def interpret(monkeypatch):
    monkeypatch.setenv("TILE_INTERPRET", "1")


def make_inputs(B, H, H_kv, N, D, dtype, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, N, D, generator=g)
    k, v = (torch.randn(B, H_kv, N, D, generator=g) for _ in "kv")
    do = torch.randn(B, H, N, D, generator=g)
    return [t.to(device=device, dtype=dtype) for t in (q, k, v, do)]


def run(fn, q, k, v, do):
    """fn's output and the gradients of q, k and v for output gradient do."""
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    out = fn(q, k, v)
    out.backward(do)
    return out.detach(), q.grad, k.grad, v.grad


def sdpa64(q, k, v, causal, scale=None):
    group = q.shape[1] // k.shape[1]
    return F.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=causal,
                                          scale=scale, enable_gqa=group > 1)


def assert_close_to_sdpa(got, q, k, v, do, causal, tolerance, scale=None):
    want = run(lambda q, k, v: sdpa64(q, k, v, causal, scale), q, k, v, do.double())
    for name, g, w in zip(("out", "dq", "dk", "dv"), got, want):
        assert g.shape == w.shape and g.dtype == q.dtype, name
        # With one key (N = 1) dq and dk are zero: the error is then absolute.
        error = float((g.double() - w).norm() / max(float(w.norm()), 1.0))
        assert error < tolerance, f"{name}: relative error {error:.2e}"


@pytest.mark.parametrize("B, H, H_kv, N, D, causal", [
    (1, 2, 2, 70, 32, False),   # N ragged, D padded to a 64-wide tile
    (1, 4, 2, 70, 32, True),    # grouped-query, causal
    (2, 2, 1, 1, 16, True),     # N = 1, multi-query
    (1, 2, 2, 128, 64, True),   # N a multiple of the block (EVEN_SEQ)
    (1, 3, 1, 45, 40, False),   # d40: rows of 80 bytes, the backward's register path
])
def test_gradients_match_sdpa(interpret, B, H, H_kv, N, D, causal):
    q, k, v, do = make_inputs(B, H, H_kv, N, D, torch.bfloat16)
    got = run(lambda q, k, v: tile.ops.attention(q, k, v, causal=causal), q, k, v, do)
    assert_close_to_sdpa(got, q, k, v, do, causal, TOLERANCE[torch.bfloat16])


def test_float16_scale_and_lse(interpret):
    """f16, a given scale, and return_lse with only the output used."""
    q, k, v, do = make_inputs(1, 2, 1, 50, 64, torch.float16, seed=1)
    got = run(lambda q, k, v: tile.ops.attention(q, k, v, causal=True, scale=0.2,
                                                 return_lse=True)[0], q, k, v, do)
    assert_close_to_sdpa(got, q, k, v, do, True, TOLERANCE[torch.float16], scale=0.2)


@pytest.mark.parametrize("use_out", [True, False])
def test_lse_gradient(interpret, use_out):
    """A loss of the output and the LSE (as merging partial attentions makes), or of
    the LSE alone: gradients against float64 autograd through an explicit softmax."""
    q, k, v, do = make_inputs(1, 2, 1, 37, 32, torch.float16, seed=2)
    weight = torch.randn(1, 2, 37, generator=torch.Generator().manual_seed(3))

    def loss(attention):
        qs, ks, vs = (t.detach().clone().requires_grad_() for t in (q, k, v))
        out, lse = attention(qs, ks, vs)
        total = (lse * weight).sum() + ((out.double() * do.double()).sum() if use_out else 0)
        total.backward()
        return qs.grad, ks.grad, vs.grad

    def reference(q, k, v):
        k, v = (t.double().repeat_interleave(2, 1) for t in (k, v))
        s = (q.double() @ k.transpose(-1, -2) * 0.3).masked_fill(
            torch.ones(37, 37, dtype=torch.bool).triu(1), float("-inf"))
        return s.softmax(-1) @ v, s.logsumexp(-1)

    got = loss(lambda q, k, v: tile.ops.attention(q, k, v, causal=True, scale=0.3,
                                                  return_lse=True))
    want = loss(reference)
    for name, g, w in zip(("dq", "dk", "dv"), got, want):
        w = torch.zeros_like(g, dtype=torch.float64) if w is None else w  # the LSE's dv
        error = float((g.double() - w).norm() / max(float(w.norm()), 1.0))
        assert error < TOLERANCE[torch.float16], f"{name}: relative error {error:.2e}"


def test_only_some_inputs_require_grad(interpret):
    q, k, v, do = make_inputs(1, 2, 2, 33, 16, torch.bfloat16)
    v = v.clone().requires_grad_()
    out = tile.ops.attention(q, k, v)
    out.backward(do)
    want = sdpa64(q, k, v.detach(), False)
    assert q.grad is None and k.grad is None and v.grad is not None
    assert float((out.detach().double() - want).norm() / want.norm()) < TOLERANCE[torch.bfloat16]


def fused_qkv(B, N, H, H_kv, D, seed=0):
    """A (B, N, (H + 2 H_kv) D) projection's q, k and v as a GPT block slices them:
    (B, H, N, D) views in (B, N, H, D) memory, rows of the projection's stride."""
    g = torch.Generator().manual_seed(seed)
    qkv = torch.randn(B, N, (H + 2 * H_kv) * D, generator=g).to(torch.bfloat16)
    return qkv, lambda x: [part.unflatten(-1, (-1, D)).transpose(1, 2)
                           for part in x.split([H * D, H_kv * D, H_kv * D], -1)]


def copies_outside_kernels(step) -> list[str]:
    """The aten copies and fills step() runs outside tile's kernel launches (each a
    kernel of its own on the GPU), as 'op < caller'."""
    from torch.profiler import profile, record_function

    from tile import library
    launch = library._Launch._run

    def marked(self, *args, **kwargs):
        with record_function("tile launch"):
            return launch(self, *args, **kwargs)
    library._Launch._run = marked
    try:
        with profile() as prof:
            step()
    finally:
        library._Launch._run = launch

    def callers(event):
        while event is not None:
            yield event.name
            event = event.cpu_parent
    return [f"{e.name} < {e.cpu_parent.name if e.cpu_parent else ''}" for e in prof.events()
            if e.name in ("aten::copy_", "aten::fill_", "aten::zero_")
            and "tile launch" not in callers(e)]


@pytest.mark.parametrize("B, H, H_kv, N, causal", [(2, 2, 2, 70, True), (2, 4, 2, 70, False)])
def test_fused_qkv_projection_is_read_in_place(interpret, B, H, H_kv, N, causal):
    """q, k and v sliced from one projection (bench_training.py's GPT): the kernels
    read them in place (TOKEN_MAJOR: ragged N, batches whose rows follow each other,
    grouped-query heads), write the output and the gradients in (B, N, H, D) memory
    (transposing back is a view): the step copies nothing outside the kernels (it
    copied q, k, v and the output in the forward, grad_out, q, k and v in the
    backward)."""
    D = 64
    qkv, split = fused_qkv(B, N, H, H_kv, D)
    grad = torch.randn(B, N, H * D, generator=torch.Generator().manual_seed(1)).to(qkv.dtype)
    leaf = qkv.clone().requires_grad_()

    def step():
        out = tile.ops.attention(*split(leaf), causal=causal)
        assert out.transpose(1, 2).is_contiguous()
        out.transpose(1, 2).reshape(B, N, H * D).backward(grad)
    step()
    got = leaf.grad.clone()
    assert copies_outside_kernels(step) == []
    want = qkv.double().requires_grad_()
    q, k, v = split(want)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=H != H_kv)
    out.transpose(1, 2).reshape(B, N, H * D).backward(grad.double())
    error = float((got.double() - want.grad).norm() / want.grad.norm())
    assert error < TOLERANCE[torch.bfloat16], f"relative error {error:.2e}"


def test_compiled_fullgraph_matches_eager(interpret):
    torch._dynamo.reset()
    q, k, v, do = make_inputs(1, 4, 2, 70, 32, torch.bfloat16)

    def f(q, k, v):
        return tile.ops.attention(q, k, v, causal=True) * 2

    eager = run(f, q, k, v, do)
    compiled = run(torch.compile(f, fullgraph=True, backend="aot_eager"), q, k, v, do)
    for name, c, e in zip(("out", "dq", "dk", "dv"), compiled, eager):
        assert torch.equal(c, e), name
    explanation = torch._dynamo.explain(f)(q, k, v)
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1


def test_opcheck(interpret):
    q, k, v, do = make_inputs(1, 2, 1, 20, 16, torch.bfloat16)
    for t in (q, k, v):
        t.requires_grad_()
    for store_lse in (True, False):  # without the LSE, the backward recomputes it
        torch.library.opcheck(attention_autograd.attention_op, (q, k, v, True, 0.25, store_lse))
    out, lse = attention_autograd.attention_op(q, k, v, True, 0.25, True)
    torch.library.opcheck(attention_autograd.attention_backward_op,
                          (q.detach(), k.detach(), v.detach(), out.detach(), lse.detach(), do, True,
                           0.25))
    # Token-major (fused QKV) inputs: the fake output's (B, N, H, D) strides are the real's.
    qkv, split = fused_qkv(2, 20, 2, 2, 64)
    q, k, v = (t.requires_grad_() for t in split(qkv))
    torch.library.opcheck(attention_autograd.attention_op, (q, k, v, True, 0.125, True))
    out, lse = attention_autograd.attention_op(q, k, v, True, 0.125, True)
    do = torch.randn(2, 20, 2, 64, dtype=q.dtype).transpose(1, 2)
    torch.library.opcheck(attention_autograd.attention_backward_op,
                          (q.detach(), k.detach(), v.detach(), out.detach(), lse.detach(), do, True,
                           0.125))


def test_the_op_called_without_the_lse_still_differentiates(interpret):
    q, k, v, do = make_inputs(1, 2, 1, 20, 16, torch.bfloat16)
    grads = []
    for store_lse in (True, False):
        leaves = [t.detach().requires_grad_() for t in (q, k, v)]
        out, _ = attention_autograd.attention_op(*leaves, True, 0.25, store_lse)
        out.backward(do)
        grads.append([t.grad for t in leaves])
    for with_lse, recomputed in zip(*grads):
        assert torch.equal(with_lse, recomputed)


def test_no_grad_forward_keeps_no_lse(interpret):
    q, k, v, _ = make_inputs(1, 2, 2, 20, 16, torch.bfloat16)
    out, lse = attention_autograd.attention_op(q, k, v, False, 0.25, False)
    assert lse.numel() == 0 and out.shape == q.shape


def test_bad_input_names_the_argument(interpret):
    q, k, v, _ = make_inputs(1, 4, 3, 8, 16, torch.bfloat16)
    q.requires_grad_()
    with pytest.raises(ValueError, match="k has 3 heads and q 4"):
        tile.ops.attention(q, k, v)
    with pytest.raises(TypeError, match="v is float16 but q is bfloat16"):
        tile.ops.attention(q, k[:, :2], v[:, :2].half())
    strided = torch.randn(1, 2, 8, 32, dtype=torch.bfloat16)[..., ::2]
    with pytest.raises(ValueError, match="k's last dim has stride 2; it must be 1"):
        tile.ops.attention(q, strided, v[:, :2])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("B, H, H_kv, N, D, causal", [
    (2, 8, 8, 1000, 64, False), (2, 8, 2, 1000, 128, True), (1, 4, 1, 2048, 128, False),
    (1, 4, 4, 777, 96, True)])
def test_gpu_gradients_match_sdpa(B, H, H_kv, N, D, causal, dtype):
    q, k, v, do = make_inputs(B, H, H_kv, N, D, dtype, device="cuda")
    got = run(lambda q, k, v: tile.ops.attention(q, k, v, causal=causal), q, k, v, do)
    assert_close_to_sdpa(got, q, k, v, do, causal, TOLERANCE[dtype])


@pytest.mark.gpu
@pytest.mark.parametrize("B, H, H_kv, N, D, causal", [
    (2, 8, 8, 1000, 64, True), (2, 8, 2, 1024, 128, False), (1, 4, 4, 777, 128, True)])
def test_gpu_fused_qkv_projection_matches_sdpa(B, H, H_kv, N, D, causal):
    """The TOKEN_MAJOR kernels (q, k, v read in place from one projection) on the GPU."""
    qkv, split = fused_qkv(B, N, H, H_kv, D)
    grad = torch.randn(B, N, H * D, generator=torch.Generator().manual_seed(1)).to(qkv.dtype)
    qkv, grad = qkv.cuda(), grad.cuda()
    results = []
    for attend in (lambda q, k, v: tile.ops.attention(q, k, v, causal=causal),
                   lambda q, k, v: F.scaled_dot_product_attention(
                       q.float(), k.float(), v.float(), is_causal=causal,
                       enable_gqa=H != H_kv).to(q.dtype)):
        leaf = qkv.clone().requires_grad_()
        out = attend(*split(leaf))
        out.transpose(1, 2).reshape(B, N, H * D).backward(grad)
        results.append((out.detach().float(), leaf.grad.float()))
    (out, dqkv), (want_out, want_dqkv) = results
    for name, got, want in (("out", out, want_out), ("dqkv", dqkv, want_dqkv)):
        error = float((got - want).norm() / want.norm())
        assert error < TOLERANCE[torch.bfloat16], f"{name}: relative error {error:.2e}"


@pytest.mark.gpu
def test_gpu_compiled_with_inductor_matches_eager():
    torch._dynamo.reset()
    q, k, v, do = make_inputs(2, 8, 2, 1000, 128, torch.bfloat16, device="cuda")

    def f(q, k, v):
        return tile.ops.attention(q.float().to(q.dtype), k, v, causal=True) * 2

    eager = run(f, q, k, v, do)
    compiled = run(torch.compile(f, fullgraph=True), q, k, v, do)
    for name, c, e in zip(("out", "dq", "dk", "dv"), compiled, eager):
        assert torch.equal(c, e), name
