"""Where the interpreter, the frontend and the runtime meet: the interpreter binds
through the runtime's binder, sizes grids by the launch's rule (`grid3`), runs
the IR that `kernel.ir()` and `compile` share, and reports parse errors at the
kernel's source; arrays describing themselves per instance launch."""
import importlib
from types import SimpleNamespace

import numpy as np
import pytest

import tile
import tile.interpreter
from tile.runtime import driver
from runtime_fakes import RecordingKernel

jit_module = importlib.import_module("tile.runtime.jit")


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


@tile.jit
def fill(x, BLOCK: tile.constexpr = 128, VALUE: tile.constexpr = 2.0):
    tile.store(x, 0, tile.full((BLOCK,), VALUE))


@pytest.fixture
def frontend_runs(monkeypatch):
    calls = []
    real = jit_module.generate_ir

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)
    monkeypatch.setattr(jit_module, "generate_ir", counting)
    return calls


def test_interpreter_runs_the_ir_that_ir_printed(frontend_runs):
    k = tile.jit(add.fn)
    x = np.arange(256, dtype=np.float32)
    out = np.zeros_like(x)
    k[(2,)].interpret(x, x, out, 256, BLOCK=128)
    k[(2,)].interpret(out, x, out, 256, BLOCK=128)  # same specialization
    assert len(frontend_runs) == 1
    assert np.array_equal(out, 3 * x)
    assert len(k._ir_cache) == 1  # the cache that `kernel.ir()` and `compile` read


def test_interpreter_specializes_on_constexpr_defaults():
    x = np.zeros(128, np.float32)
    fill[(1,)].interpret(x)
    assert (x == 2.0).all()
    y = np.zeros(64, np.float32)
    fill[(1,)].interpret(y, 64, 3.0)
    assert (y == 3.0).all()


@pytest.mark.parametrize("grid, message", [
    ((1, 1, 1, 1), "a grid is 1 to 3 ints"),
    ((1.5,), "a grid is 1 to 3 ints"),
    ((1, 70000), "outside the CUDA limits"),
    ((-1,), "outside the CUDA limits"),
])
def test_interpreter_grid_follows_the_launch_rule(grid, message):
    x = np.zeros(16, np.float32)
    with pytest.raises(ValueError, match=message):
        add[grid].interpret(x, x, x, 16, BLOCK=16)


def test_interpreter_grid_of_lists_and_numpy_ints():
    x = np.arange(64, dtype=np.float32)
    out = np.zeros_like(x)
    add[[np.int64(4)]].interpret(x, x, out, 64, BLOCK=16)
    assert np.array_equal(out, 2 * x)


def test_type_strings_are_not_interpreted():
    x = np.zeros(16, np.float32)
    with pytest.raises(TypeError, match="type strings can be compiled, not launched"):
        add[(1,)].interpret(x, "*f32:16", x, 16, BLOCK=16)


def test_interpreter_parse_error_names_the_source_line(tmp_path):
    source = tmp_path / "kernel.py"
    source.write_text("def k(x):\n    y = x + x\n")
    text = (f'module {{\n  func.func @k(%x: i32) attributes {{tile.kernel}} {{\n'
            f'    %y = tile.no_such_op %x : i32 loc("{source}":2:9)\n'
            f'    return loc("{source}":1:1)\n  }} loc("{source}":1:1)\n}}\n')
    with pytest.raises(tile.CompilationError) as info:
        tile.interpreter.run(text, [1], 1)
    assert (info.value.filename, info.value.lineno) == (str(source), 2)


class InstanceCudaArray:
    """`__cuda_array_interface__` as an instance attribute, not a class property."""

    def __init__(self, n, pointer):
        self.__cuda_array_interface__ = {"shape": (n,), "typestr": "<f4", "strides": None,
                                         "data": (pointer, False), "version": 3}
        self.device = SimpleNamespace(id=0)


def test_instance_attribute_arrays_launch(monkeypatch):
    monkeypatch.setattr(driver, "LoadedKernel", RecordingKernel)
    RecordingKernel.launches = []
    x, y, out = (InstanceCudaArray(4096, 0x7F0000000000 + i * (1 << 20)) for i in range(3))
    add[(4,)](x, y, out, 4096, BLOCK=1024)
    assert len(RecordingKernel.launches) == 1 and RecordingKernel.launches[0].grid == (4, 1, 1)
