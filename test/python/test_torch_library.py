"""tile.library: tile kernels as torch custom ops. A model of a tile LayerNorm and a
tile GEMM + bias + GELU (torch_model.py) compiles with torch.compile(fullgraph=True)
and gives eager's forward and gradients; torch.library.opcheck passes on its ops; a
kernel that writes an input the op does not declare mutable is refused. CPU tests
run the kernels on the interpreter; gpu-marked ones compile with inductor."""
import pytest

torch = pytest.importorskip("torch")

import tile  # noqa: E402
import tile.library  # noqa: E402
from torch_model import Block, layer_norm, layer_norm_backward, linear_act, reference  # noqa: E402


def _run(block, x):
    x = x.detach().clone().requires_grad_()
    out = block(x)
    out.float().square().sum().backward()
    grads = [x.grad] + [p.grad for p in block.parameters()]
    block.zero_grad(set_to_none=True)
    return out, grads


def _check_compiled_matches_eager(backend, device):
    torch._dynamo.reset()
    block = Block(48, 80, device=device)
    x = torch.randn(20, 48, generator=torch.Generator().manual_seed(1)).to(device)
    eager, eager_grads = _run(block, x)
    # The same kernels run either way: the compiled graph calls the ops as eager does,
    # so the forward is bit for bit eager's. The backward's torch ops (GELU's derivative,
    # the GEMMs, the bias sum) are inductor's own fused kernels under inductor, which
    # round bf16 differently: those gradients agree to bf16's precision there.
    compiled = torch.compile(block, fullgraph=True, backend=backend)
    out, grads = _run(compiled, x)
    torch.testing.assert_close(out, eager, rtol=0, atol=0)
    exact = backend == "aot_eager"
    for got, want in zip(grads, eager_grads):
        torch.testing.assert_close(got, want, rtol=0 if exact else 1.6e-2,
                                   atol=0 if exact else 1e-2 * want.abs().max().item())
    # And both are right: against the block in float64 torch ops (bf16 GEMM output).
    torch.testing.assert_close(out.double(), reference(block, x).detach(), rtol=2e-2, atol=2e-2)
    xr = x.double().requires_grad_()
    params = [p.detach().double().requires_grad_() for p in block.parameters()]
    ref_block = Block(48, 80, device=device)
    for p, r in zip(ref_block.parameters(), params):
        p.data = r
    reference(ref_block, xr).square().sum().backward()
    for got, want in zip(grads, [xr.grad] + [p.grad for p in ref_block.parameters()]):
        scale = want.abs().max().item()
        assert (got.double() - want).abs().max().item() <= 3e-2 * scale


def test_compiled_model_matches_eager_on_the_interpreter():
    _check_compiled_matches_eager("aot_eager", "cpu")


def test_no_graph_break():
    torch._dynamo.reset()
    block = Block(48, 80)
    explanation = torch._dynamo.explain(block)(torch.randn(5, 48))
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


@pytest.mark.parametrize("op, args", [
    (linear_act, lambda: (torch.randn(20, 48).bfloat16(), torch.randn(48, 80).bfloat16(),
                          torch.randn(80).bfloat16(), "gelu")),
    (layer_norm, lambda: (torch.randn(9, 40), torch.randn(40), torch.randn(40), 1e-5)),
    (layer_norm_backward, lambda: (torch.randn(9, 40), torch.randn(40), torch.randn(9, 40),
                                   torch.randn(9), torch.rand(9) + 0.5)),
], ids=["linear_act", "layer_norm", "layer_norm_backward"])
def test_opcheck(op, args):
    inputs = args()
    if op is not layer_norm_backward:  # its backward is tested through the others'
        inputs = tuple(t.requires_grad_() if isinstance(t, torch.Tensor) else t for t in inputs)
    torch.library.opcheck(op, inputs)


def test_fake_implementation_gives_the_outputs_metadata():
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode():
        y, mean, rstd = layer_norm(torch.empty(7, 33), torch.empty(33), torch.empty(33), 1e-5)
        c = linear_act(torch.empty(5, 16, dtype=torch.bfloat16),
                       torch.empty(16, 24, dtype=torch.bfloat16),
                       torch.empty(24, dtype=torch.bfloat16), "none")
    assert (y.shape, mean.shape, rstd.shape, rstd.dtype) == ((7, 33), (7,), (7,), torch.float32)
    assert (c.shape, c.dtype) == ((5, 24), torch.bfloat16)


@tile.jit
def add_into(X, Y, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    x = tile.load(X, start, BLOCK, bound=X.shape[0])
    y = tile.load(Y, start, BLOCK, bound=X.shape[0])
    tile.store(X, start, x + y, bound=X.shape[0])


@tile.library.custom_op("tile_test::add_in_place_undeclared", mutates_args=())
def add_in_place_undeclared(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    tile.library.launch(add_into)[(tile.cdiv(x.shape[0], 64),)](x, y, BLOCK=64)
    return x.clone()


@tile.library.custom_op("tile_test::add_in_place", mutates_args=("x",))
def add_in_place(x: torch.Tensor, y: torch.Tensor) -> None:
    tile.library.launch(add_into)[(tile.cdiv(x.shape[0], 64),)](x, y, BLOCK=64)


def test_writing_an_input_not_declared_mutable_is_refused():
    x, y = torch.ones(100), torch.ones(100)
    with pytest.raises(tile.CompilationError) as error:
        add_in_place_undeclared(x, y)
    message = str(error.value)
    assert "test_torch_library.py:" in message and "tile.store(X" in message
    assert "add_into writes its argument 'X'" in message
    assert "tile_test::add_in_place_undeclared's input 'x'" in message
    assert "mutates_args" in message
    assert torch.equal(x, torch.ones(100))  # refused before the launch
    # A view of the input is the input's memory too.
    with pytest.raises(tile.CompilationError, match="input 'x'"):
        add_in_place_undeclared(torch.ones(200)[50:150], y)


@tile.jit
def copy_or_write_z(X, Y, Z, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK, bound=X.shape[0])
    if X.stride(0) == 1:  # a constant where the launch specialized a unit stride
        tile.store(Y, 0, x, bound=X.shape[0])
    else:
        tile.store(Z, 0, x, bound=X.shape[0])


@tile.library.custom_op("tile_test::copy_by_stride", mutates_args=())
def copy_by_stride(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    y = torch.zeros(x.shape[0])
    tile.library.launch(copy_or_write_z)[(1,)](x, y, z, BLOCK=16)
    return y


def test_the_write_check_follows_the_unit_stride_specialization():
    """Which parameters a kernel stores to may depend on a unit stride: the check's
    cache of them keys on it, so a contiguous call first does not hide the store."""
    z = torch.zeros(8)
    torch.testing.assert_close(copy_by_stride(torch.arange(8.0), z), torch.arange(8.0))
    with pytest.raises(tile.CompilationError, match="writes its argument 'Z'"):
        copy_by_stride(torch.arange(16.0)[::2], z)
    assert not z.any()


def test_declared_mutation_runs_and_compiles():
    x, y = torch.ones(100), torch.arange(100.0)
    add_in_place(x, y)
    torch.testing.assert_close(x, 1 + torch.arange(100.0))

    def f(x, y):
        add_in_place(x, y)
        return x * 2
    torch._dynamo.reset()
    x = torch.ones(100)
    out = torch.compile(f, fullgraph=True, backend="aot_eager")(x, y)
    torch.testing.assert_close(out, 2 + 2 * torch.arange(100.0))
    torch.testing.assert_close(x, 1 + torch.arange(100.0))


def test_bad_arguments():
    with pytest.raises(TypeError, match="not a @tile.jit or tile.autotune kernel"):
        tile.library.launch(lambda x: x)
    with pytest.raises(ValueError, match="mutates_args must be"):
        tile.library.custom_op("tile_test::bad", lambda x: x, mutates_args="x")


@pytest.mark.gpu
def test_compiled_model_matches_eager_with_inductor_on_the_gpu():
    _check_compiled_matches_eager("inductor", "cuda")


@pytest.mark.gpu
def test_opcheck_on_the_gpu():
    a = torch.randn(300, 256, device="cuda").bfloat16().requires_grad_()
    b = torch.randn(256, 320, device="cuda").bfloat16().requires_grad_()
    bias = torch.randn(320, device="cuda").bfloat16().requires_grad_()
    torch.library.opcheck(linear_act, (a, b, bias, "gelu"))
    x = torch.randn(64, 1000, device="cuda").requires_grad_()
    w = torch.randn(1000, device="cuda").requires_grad_()
    torch.library.opcheck(layer_norm, (x, w, torch.randn(1000, device="cuda"), 1e-5))
