"""The runtime on the GPU: every argument kind, streams, validation against
real tensors, AOT artifacts, and TMA descriptors used by a real kernel."""
import hashlib
import json
import os

import pytest

import tile
from tile.runtime import driver, load, tensormap
from tile.runtime.loader import spec_to_json
from tile.signature import ArgSpec

pytestmark = pytest.mark.gpu
DATA = os.path.join(os.path.dirname(__file__), "data")


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


def operands(n=5000, dtype="float32"):
    import torch
    dtype = getattr(torch, dtype)
    x = torch.randn(n, device="cuda").to(dtype)
    y = torch.randn(n, device="cuda").to(dtype)
    return x, y, torch.full_like(x, float("nan"))


class DLPackOnly:
    """An array that offers nothing but DLPack (no CAI, no torch methods)."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __dlpack__(self, stream=None):
        return self.tensor.__dlpack__(stream=stream)

    def __dlpack_device__(self):
        return self.tensor.__dlpack_device__()


def test_dlpack_only_arrays():
    import torch
    x, y, out = operands()
    add[(5,)](DLPackOnly(x), DLPackOnly(y), DLPackOnly(out), 5000, BLOCK=1024)
    torch.cuda.synchronize()
    assert torch.equal(out, x + y)


def test_mixed_torch_and_dlpack():
    import torch
    x, y, out = operands()
    add[(5,)](x, DLPackOnly(y), out, 5000, BLOCK=1024)
    torch.cuda.synchronize()
    assert torch.equal(out, x + y)


def test_strided_views():
    import torch
    base = torch.randn(3, 4000, device="cuda")
    x, y = base[0, ::2], base[1, 1::2]  # strides 2, unaligned second view
    out = torch.full((2000,), float("nan"), device="cuda")
    add[(2,)](x, y, out, 2000, BLOCK=1024)
    torch.cuda.synchronize()
    assert torch.equal(out, x + y)
    assert add.compile(x, y, out, 2000, BLOCK=1024).metadata["params"][2]["size"] == 4


def test_cupy_with_its_stream():
    cupy = pytest.importorskip("cupy")
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        x = cupy.random.randn(7777).astype(cupy.float32)
        y = cupy.random.randn(7777).astype(cupy.float32)
        out = cupy.empty_like(x)
        add[(8,)](x, y, out, 7777, BLOCK=1024)
        stream.synchronize()
    assert bool((out == x + y).all())


def _ordering_case(launch):
    """A launch is on stream `s` iff it sees a write that `s` makes after a long sleep."""
    import torch
    x, y, out = operands(1 << 16)
    expected = (x + 1) + y
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        torch.cuda._sleep(50_000_000)  # ~tens of ms on the side stream
        x.add_(1)
    launch(s, x, y, out)
    torch.cuda.synchronize()
    return torch.equal(out, expected)


def test_current_torch_stream_is_used():
    import torch

    def launch(s, x, y, out):
        with torch.cuda.stream(s):
            add[(64,)](x, y, out, 1 << 16, BLOCK=1024)
    assert _ordering_case(launch)


def test_explicit_stream_option():
    for as_handle in (False, True):
        def launch(s, x, y, out):
            add[(64,)](x, y, out, 1 << 16, BLOCK=1024, stream=s.cuda_stream if as_handle else s)
        assert _ordering_case(launch)


def test_host_tensor_and_device_mismatch_are_refused():
    import torch
    x, y, out = operands()
    with pytest.raises(ValueError, match="argument 'x' is on cpu, not on a CUDA device"):
        add[(5,)](x.cpu(), y, out, 5000, BLOCK=1024)
    with pytest.raises(TypeError, match="unsupported tensor dtype torch.float64"):
        add[(5,)](x.double(), y, out, 5000, BLOCK=1024)
    if torch.cuda.device_count() > 1:
        with pytest.raises(ValueError, match="different devices"):
            add[(5,)](x, y.to("cuda:1"), out, 5000, BLOCK=1024)


def test_aot_artifact_launches(tmp_path):
    import torch
    from tile.compiler import find_ptxas
    if find_ptxas() is None:
        pytest.skip("ptxas not on PATH")
    art = tile.compile(add, {"x": "*f32:16", "y": "*f32:16", "out": "*f32:16", "n": "i32",
                             "BLOCK": 1024}, output_dir=tmp_path)
    kernel = load(art.metadata)
    x, y, out = operands(4096)
    kernel[(4,)](x, y, out, 4000)
    torch.cuda.synchronize()
    assert torch.equal(out[:4000], (x + y)[:4000]) and bool(out[4000:].isnan().all())
    with pytest.raises(ValueError, match="argument 'x' does not fit .* 16-byte aligned"):
        kernel[(4,)](x[1:4097 - 16], y[:4080], out[:4080], 4000)


def _tma_copy_kernel(tmp_path, swizzle=0):
    ptx = open(os.path.join(DATA, "tma_copy.ptx"), "rb").read()
    (tmp_path / "tma_copy.ptx").write_bytes(ptx)
    from tile.compiler.driver import kernel_params
    from tile import float32
    loose = ArgSpec("array", float32, 16, 2, (1, 1), (1, 1), True)
    meta = {"format": "tile-aot/1", "kernel": "tma_copy", "arch": "sm_90a", "num_warps": 4,
            "block": [128, 1, 1], "shared_bytes": 0,
            "params": kernel_params(ptx.decode(), "tma_copy"),
            "tma": [{"param": 0, "arg": "x", "dtype": "f32", "box": [8, 32],
                     "swizzle": swizzle, "oob_fill": "zero"}],
            "args": [spec_to_json("x", loose), spec_to_json("out", loose)],
            "files": {"ptx": "tma_copy.ptx"},
            "sha256": {"ptx": hashlib.sha256(ptx).hexdigest()}}
    (tmp_path / "tma_copy.json").write_text(json.dumps(meta))
    return load(tmp_path / "tma_copy.json")


def test_tma_descriptor_loads_boxes_with_zero_fill(tmp_path):
    """A hand-written PTX kernel reads 8x32 boxes of a strided 20x50 view through
    the descriptor the runtime encodes; rows and columns past the view read 0."""
    import torch
    kernel = _tma_copy_kernel(tmp_path)
    base = torch.randn(20, 64, device="cuda")
    x = base[:, :50]  # row stride 64 elements = 256 bytes
    out = torch.full((24, 64), float("nan"), device="cuda")
    before = len(tensormap.DESCRIPTORS)
    kernel[(2, 3)](x, out)
    torch.cuda.synchronize()
    expected = torch.zeros(24, 64, device="cuda")
    expected[:20, :50] = x
    assert torch.equal(out, expected)
    assert len(tensormap.DESCRIPTORS) == before + 1
    kernel[(2, 3)](x, out)  # same array: the cached descriptor
    assert len(tensormap.DESCRIPTORS) == before + 1


def test_tma_rules_checked_before_the_driver(tmp_path):
    import torch
    kernel = _tma_copy_kernel(tmp_path)
    out = torch.zeros(24, 64, device="cuda")
    odd = torch.randn(20, 50, device="cuda")  # row stride 200 bytes
    with pytest.raises(tensormap.TensorMapError, match="argument 'x' .* 200 bytes"):
        kernel[(2, 3)](odd, out)
    with pytest.raises(ValueError, match="argument 'x' does not fit .* unit inner stride"):
        kernel[(2, 3)](torch.randn(64, 20, device="cuda").t(), out)


def test_driver_encodes_what_we_validate():
    import torch
    t = torch.randn(128, 256, device="cuda", dtype=torch.bfloat16)
    for swizzle, inner in ((0, 64), (32, 16), (64, 32), (128, 64)):
        spec = tensormap.TensorMapSpec.from_metadata(
            {"param": 0, "arg": "a", "dtype": "bf16", "box": [64, inner], "swizzle": swizzle})
        blob = tensormap.encode(tensormap.tiled_encoding(spec, t.data_ptr(), tuple(t.shape),
                                                         t.stride()))
        assert len(blob) == 128 and any(blob)


def test_shared_memory_limit_is_the_device_limit():
    limit = driver.max_shared_bytes(0)
    assert 200 * 1024 <= limit <= 256 * 1024  # 227 KiB on H100


def test_capture_replays_a_warmed_kernel_and_refuses_a_first_launch():
    """A warmed specialization is captured and replays on new inputs; a first launch
    inside the capture (it would load a module) is a CaptureError naming the warm-up."""
    import torch
    x, y, out = operands(4096)
    add[(8,)](x, y, out, 4096, BLOCK=512)  # the warm-up
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        add[(8,)](x, y, out, 4096, BLOCK=512)
    x.copy_(torch.randn_like(x))
    out.fill_(float("nan"))
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(out, x + y)
    with pytest.raises(tile.CaptureError, match="warm-up"):
        with torch.cuda.graph(torch.cuda.CUDAGraph()):
            add[(8,)](x, y, out, 4096, BLOCK=256)  # a new constexpr: a new module
