"""Launch options of the wrong type or out of range: a TypeError or ValueError
naming the option, raised before anything compiles, on every path that takes
them (compile, ir, launch, the interpreter)."""
import importlib
import re

import numpy as np
import pytest

import tile
from tile.runtime import driver
from runtime_fakes import FakeCudaArray, RecordingKernel

jit_module = importlib.import_module("tile.runtime.jit")  # `tile.runtime.jit` is also the decorator


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


ALIGNED = ("*f32:16", "*f32:16", "*f32:16", "i32:16")

BAD_TYPES = [
    (dict(num_stages="3"), "add: num_stages must be an int, got '3' (str)"),
    (dict(num_warps=4.0), "add: num_warps must be an int, got 4.0 (float)"),
    (dict(num_warps=True), "add: num_warps must be an int, got True (bool)"),
    (dict(num_ctas=2.0), "add: num_ctas must be an int, got 2.0 (float)"),
    (dict(warp_specialize=1), "add: warp_specialize must be True or False, got 1 (int)"),
    (dict(warp_specialize="yes"), "add: warp_specialize must be True or False, got 'yes' (str)"),
]
BAD_VALUES = [
    (dict(num_warps=3), "num_warps must be 1, 2, 4, 8 or 16, got 3"),
    (dict(num_warps=0), "num_warps must be 1, 2, 4, 8 or 16, got 0"),
    (dict(num_warps=-4), "num_warps must be 1, 2, 4, 8 or 16, got -4"),
    (dict(num_warps=32), "num_warps must be 1, 2, 4, 8 or 16, got 32"),
    (dict(num_ctas=3), "num_ctas must be 1, 2 or 4, got 3"),
    (dict(num_ctas=0), "num_ctas must be 1, 2 or 4, got 0"),
    (dict(num_stages=9), "num_stages must be 1..8 (1: no copies ahead), got 9"),
    (dict(num_stages=0), "num_stages must be 1..8 (1: no copies ahead), got 0"),
]


@pytest.fixture
def no_compiling(monkeypatch):
    """Fails the test if anything reaches the frontend: options are checked first."""
    def generate_ir(*args, **kwargs):
        raise AssertionError("compiled before the launch options were checked")
    monkeypatch.setattr(jit_module, "generate_ir", generate_ir)


@pytest.mark.parametrize("options,message", BAD_TYPES)
def test_wrong_type_names_the_option(no_compiling, options, message):
    with pytest.raises(TypeError) as info:
        add.compile(*ALIGNED, BLOCK=1024, **options)
    assert str(info.value) == message
    with pytest.raises(TypeError, match="must be"):
        add.ir(*ALIGNED, BLOCK=1024, **options)


@pytest.mark.parametrize("options,message", BAD_VALUES)
def test_out_of_range_names_the_option(no_compiling, options, message):
    with pytest.raises(ValueError) as info:
        add.compile(*ALIGNED, BLOCK=1024, **options)
    assert str(info.value) == message


@pytest.mark.parametrize("options,message", BAD_TYPES + BAD_VALUES)
def test_interpreter_checks_options(options, message):
    x = np.ones(64, np.float32)
    with pytest.raises((TypeError, ValueError), match=re.escape(message.split(": ", 1)[-1])):
        add[(1,)].interpret(x, x, np.zeros(64, np.float32), 64, BLOCK=64, **options)


@pytest.fixture
def recorder(monkeypatch):
    monkeypatch.setattr(driver, "LoadedKernel", RecordingKernel)
    RecordingKernel.launches = []
    return RecordingKernel.launches


def arrays(n=4096):
    return [FakeCudaArray((n,), pointer=0x7F0000000000 + i * (1 << 20)) for i in range(3)]


@pytest.mark.parametrize("options,message", BAD_TYPES)
def test_launch_checks_options(recorder, options, message):
    with pytest.raises(TypeError) as info:
        add[(4,)](*arrays(), 4096, BLOCK=1024, **options)
    assert str(info.value) == message
    assert recorder == []


def test_python_launch_path_checks_options_of_a_cached_launch(recorder):
    """num_warps=4.0 equals 4 as a key: the launcher of num_warps=4 must not take it."""
    launch = add._python_launcher((4,))
    launch(*arrays(), 4096, BLOCK=1024, num_warps=4)
    with pytest.raises(TypeError, match="num_warps must be an int, got 4.0"):
        launch(*arrays(), 4096, BLOCK=1024, num_warps=4.0)
    assert len(recorder) == 1


def test_good_options_still_compile():
    assert add.compile(*ALIGNED, BLOCK=1024, num_warps=8, num_stages=4,
                       warp_specialize=False, num_ctas=1).metadata["block"][0] == 256


@tile.jit
def matmul(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):
        acc = tile.mma(tile.load(A, (0, k), (BM, BK)), tile.load(B, (k, 0), (BK, BN)), acc)
    tile.store(C, (0, 0), acc)


def test_one_stage_copies_nothing_ahead():
    """num_stages=1, as Triton takes it: the mma loop runs unpipelined (no TMA
    ring, no stage barriers); warp_specialize then has nothing to fill and says so."""
    signature = ("*bf16[2]:16", "*bf16[2]:16", "*f32[2]:16")
    one = matmul.compile(*signature, BM=64, BN=64, BK=64, num_stages=1)
    assert "wgmma.mma_async" in one.ptx and "mbarrier" not in one.ptx
    assert "mbarrier" in matmul.compile(*signature, BM=64, BN=64, BK=64, num_stages=2).ptx
    with pytest.warns(UserWarning, match="warp_specialize not applied: num_stages=1"):
        matmul.compile(*signature, BM=64, BN=64, BK=64, num_stages=1, warp_specialize=True)


def test_config_checks_option_types():
    with pytest.raises(TypeError, match=r"tile.Config: num_warps must be an int, got 4.0"):
        tile.Config(dict(BLOCK=64), num_warps=4.0)
    with pytest.raises(TypeError, match=r"tile.Config: num_stages must be an int, got '3'"):
        tile.Config(dict(BLOCK=64), num_stages="3")
    with pytest.raises(TypeError, match=r"tile.Config: warp_specialize must be True or False"):
        tile.Config(dict(BLOCK=64), warp_specialize="no")  # bool("no") would be True


@pytest.mark.gpu
def test_c_launch_path_checks_options_of_a_cached_launch():
    """The C path keys plans by the options' values, where 4.0 == 4: it must
    hand a float option to the Python path, which refuses it."""
    import torch
    x, y = torch.randn(4096, device="cuda"), torch.randn(4096, device="cuda")
    out = torch.empty_like(x)
    add[(4,)](x, y, out, 4096, BLOCK=1024, num_warps=4)
    add[(4,)](x, y, out, 4096, BLOCK=1024, num_warps=4)  # cached: the C path
    with pytest.raises(TypeError, match="num_warps must be an int, got 4.0"):
        add[(4,)](x, y, out, 4096, BLOCK=1024, num_warps=4.0)
    torch.cuda.synchronize()
    assert torch.equal(out, x + y)
