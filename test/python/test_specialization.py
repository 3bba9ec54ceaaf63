"""Specialization and its caches, seen through `kernel.ir()` (no GPU needed):
what makes two calls share a specialization, and what separates them."""
import importlib

import numpy as np
import pytest

import tile

jit_module = importlib.import_module("tile.runtime.jit")  # `tile.runtime.jit` is also a function


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


@tile.jit
def copy2d(X, Y, BM: tile.constexpr, BN: tile.constexpr):
    tile.store(Y, (0, 0), tile.load(X, (0, 0), (BM, BN)))


class FakeArray:
    """Describes a device array through `__cuda_array_interface__`, as CuPy
    does; specialization only reads the description, never the memory."""

    def __init__(self, shape, strides=None, pointer=0x10000, typestr="<f4"):
        itemsize = int(typestr[2:])
        self.__cuda_array_interface__ = {
            "shape": tuple(shape), "typestr": typestr, "data": (pointer, False), "version": 3,
            "strides": None if strides is None else tuple(s * itemsize for s in strides)}


ALIGNED = ("*f32:16", "*f32:16", "*f32:16", "i32:16")


@pytest.fixture
def frontend_runs(monkeypatch):
    """Counts how often the frontend generates IR."""
    calls = []
    real = jit_module.generate_ir

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)
    monkeypatch.setattr(jit_module, "generate_ir", counting)
    return calls


def i32_params(text: str) -> int:
    """How many i32 parameters the kernel's signature has."""
    signature = text[text.index("func.func"):text.index(") attributes")]
    return signature.count(": i32")


def fresh(kernel):
    """The same kernel with empty caches."""
    return tile.jit(kernel.fn)


def test_same_arguments_share_one_frontend_run(frontend_runs):
    k = fresh(add)
    first = k.ir(*ALIGNED, BLOCK=256)
    assert k.ir(*ALIGNED, BLOCK=256) == first
    assert len(frontend_runs) == 1


def test_compile_reuses_the_ir_of_ir(frontend_runs):
    k = fresh(add)
    k.ir(*ALIGNED, BLOCK=256)
    kernel = k.compile(*ALIGNED, BLOCK=256)
    assert len(frontend_runs) == 1
    assert "tile.load" in kernel.asm["tile"]


def test_constexpr_values_specialize(frontend_runs):
    k = fresh(add)
    small, large = k.ir(*ALIGNED, BLOCK=256), k.ir(*ALIGNED, BLOCK=1024)
    assert "tensor<256xf32>" in small and "tensor<1024xf32>" in large
    assert len(frontend_runs) == 2


def test_divisibility_specializes(frontend_runs):
    k = fresh(add)
    aligned = k.ir(*ALIGNED, BLOCK=256)
    unaligned = k.ir("*f32", "*f32", "*f32", "i32", BLOCK=256)
    assert aligned.count("tile.divisibility = 16") == 7  # 3 pointers, 3 sizes, n
    assert "tile.divisibility" not in unaligned
    assert len(frontend_runs) == 2


def test_num_warps_specializes(frontend_runs):
    k = fresh(add)
    assert "tile.num_warps = 4 : i32" in k.ir(*ALIGNED, BLOCK=256)
    assert "tile.num_warps = 8 : i32" in k.ir(*ALIGNED, BLOCK=256, num_warps=8)
    assert len(frontend_runs) == 2


def test_arrays_of_the_same_class_share_a_specialization(frontend_runs):
    k = fresh(copy2d)
    a = k.ir(FakeArray((64, 128)), FakeArray((64, 128)), BM=16, BN=32)
    b = k.ir(FakeArray((256, 512), pointer=0x20000), FakeArray((32, 32)), BM=16, BN=32)
    assert a == b
    assert len(frontend_runs) == 1


def test_array_alignment_and_strides_specialize(frontend_runs):
    k = fresh(copy2d)
    contiguous = k.ir(FakeArray((64, 128)), FakeArray((64, 128)), BM=16, BN=32)
    misaligned = k.ir(FakeArray((64, 128), pointer=0x10004), FakeArray((64, 128)), BM=16, BN=32)
    transposed = k.ir(FakeArray((64, 128), strides=(1, 64)), FakeArray((64, 128)), BM=16, BN=32)
    assert len(frontend_runs) == 3
    # Contiguous: the unit inner stride is the constant 1, not a parameter.
    assert "arith.constant 1 : i32" in contiguous
    assert i32_params(contiguous) == 6  # per array: 2 sizes and the outer stride
    assert contiguous.count("!tile.ptr<f32> {tile.divisibility = 16 : i64}") == 2
    assert misaligned.count("!tile.ptr<f32> {tile.divisibility = 16 : i64}") == 1
    # Column-major X: both of its strides are parameters.
    assert i32_params(transposed) == 7


def test_dtypes_specialize():
    k = fresh(add)
    assert "tensor<64xbf16>" in k.ir("*bf16:16", "*bf16:16", "*bf16:16", "i32", BLOCK=64)
    assert "tensor<64xf16>" in k.ir("*f16:16", "*f16:16", "*f16:16", "i32", BLOCK=64)


def test_errors_are_not_cached_as_results(frontend_runs):
    k = fresh(add)
    for _ in range(2):
        with pytest.raises(tile.CompilationError):
            k.ir(*ALIGNED, BLOCK=100)
    assert len(frontend_runs) == 2


def test_ir_locations_on_request():
    plain = add.ir(*ALIGNED, BLOCK=256)
    located = add.ir(*ALIGNED, BLOCK=256, locations=True)
    assert "loc(" not in plain
    assert f'loc("{__file__}":' in located


def test_ir_is_verified_text_mlir_printed():
    text = add.ir(*ALIGNED, BLOCK=256)
    assert text.startswith("module {") and "func.func @add(" in text
    assert "%arg0" in text  # printed by MLIR after parsing, not the frontend's own text


@tile.jit
def fill(x, BLOCK: tile.constexpr = 128, VALUE: tile.constexpr = 2.0):
    tile.store(x, 0, tile.full((BLOCK,), VALUE))


def test_constexpr_defaults(frontend_runs):
    k = fresh(fill)
    default = k.ir("*f32:16")
    assert "tensor<128xf32>" in default and "2.000000e+00" in default
    assert k.ir("*f32:16", BLOCK=128, VALUE=2.0) == default
    assert len(frontend_runs) == 1  # the defaults are the same specialization
    assert "tensor<64xf32>" in k.ir("*f32:16", 64)


@tile.jit
def first_row(X, Y, BN: tile.constexpr):
    n = X.shape[1]  # <- rank
    tile.store(Y, (0, 0), tile.load(X, (0, 0), (1, BN)))


def test_type_strings_take_tile_dtype_names_and_say_the_rank():
    """'*bfloat16[2]:16' is '*bf16[2]:16'; an array typed without [rank] is 1-D, and
    indexing its shape past that says how to give the rank."""
    from tile.signature import parse_type_string
    assert parse_type_string("*float8e4m3[2]:16", "X") == parse_type_string("*f8E4M3FN[2]:16", "X")
    assert parse_type_string("*bfloat16[2]:16", "X") == parse_type_string("*bf16[2]:16", "X")
    with pytest.raises(ValueError, match=r"'\*f8E4M3FN\[2\]:16'"):
        parse_type_string("*fp8[2]", "X")
    with pytest.raises(tile.CompilationError, match=r"index 1 is out of range: X has 1 dim\(s\)"):
        first_row.compile("*f32:16", "*f32[2]:16", BN=16)


def test_ir_and_compile_take_host_arrays():
    """numpy arrays specialize `ir` and `compile` as device arrays would (a launch
    still needs device arrays or the interpreter)."""
    import numpy as np
    a = np.zeros(1024, np.float32)
    assert add.ir(a, a, a, 1024, BLOCK=256) == add.ir("*f32:16", "*f32:16", "*f32:16", "i32:16",
                                                      BLOCK=256)
    assert ".entry add" in add.compile(a, a, a, 1024, BLOCK=256).ptx


@tile.jit
def flagged(out, F: tile.constexpr):
    x = tile.full((16,), 2.0, tile.float32)
    if F:
        x = x + 1.0
    tile.store(out, 0, x)


@pytest.mark.parametrize("value, kind", [
    (np.ones(3), "numpy.ndarray"), ({"a": 1}, "dict"), ({1, 2}, "set"),
    ((1, np.ones(2)), "numpy.ndarray"), ([1, {}], "dict")])
def test_constexpr_must_be_a_constant(value, kind):
    """An array (or any unhashable value) bound to a constexpr is a TypeError naming the
    parameter and the type, at bind time: not numpy's 'truth value is ambiguous' from
    inside the frontend."""
    out = np.zeros(16, np.float32)
    says = rf"flagged: constexpr argument 'F' is a {kind}; a tile.constexpr is a constant"
    with pytest.raises(TypeError, match=says):
        fresh(flagged)[(1,)].interpret(out, value)
    with pytest.raises(TypeError, match=says):
        fresh(flagged).ir("*f32:16", F=value)


def test_constexpr_constants_still_bind():
    for value in (True, 0, 2.5, "relu", None, tile.float16, (1, 2), [1, 2], np.int32(1),
                  np.float32(0.0)):
        fresh(flagged).ir("*f32:16", F=value)
