"""Kernels the frontend rejects: a CompilationError at the user's line."""
import inspect

import pytest

import tile

ALIGNED = ("*f32:16", "*f32:16", "i32:16")


def line_of(fn, text):
    lines, start = inspect.getsourcelines(fn.fn)
    return start + next(i for i, l in enumerate(lines) if text in l)


def check(kernel, marker, message, *args, **kwargs):
    with pytest.raises(tile.CompilationError) as info:
        kernel.compile(*(args or ALIGNED), **kwargs)
    err = info.value
    assert err.filename == __file__
    assert err.lineno == line_of(kernel, marker), str(err)
    assert message in err.message, str(err)
    assert marker.strip() in str(err)  # the source line is shown
    assert "^" in str(err)


@tile.jit
def bad_dtype_store(x, out, n, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK, bound=n)
    tile.store(out, 0, a, bound=n)  # marker


def test_store_dtype_mismatch():
    check(bad_dtype_store, "# marker", "element types differ",
          "*f32:16", "*f16:16", "i32", BLOCK=64)


@tile.jit
def size_not_constexpr(x, out, n, BLOCK: tile.constexpr):
    a = tile.load(x, 0, n)  # marker


def test_size_must_be_constexpr():
    check(size_not_constexpr, "# marker", "load's size must be a constexpr integer", BLOCK=64)


@tile.jit
def size_not_power_of_two(x, out, n, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK)  # marker


def test_size_power_of_two():
    check(size_not_power_of_two, "# marker", "power of two, got 1000", BLOCK=1000)


@tile.jit
def undefined_name(x, out, n, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK)
    tile.store(out, 0, a + b)  # marker


def test_undefined_name():
    check(undefined_name, "# marker", "name 'b' is not defined", BLOCK=64)


@tile.jit
def returns_value(x, out, n, BLOCK: tile.constexpr):
    return n  # marker


def test_return_value():
    check(returns_value, "# marker", "cannot return a value", BLOCK=64)


@tile.jit
def list_comprehension(x, out, n, BLOCK: tile.constexpr):
    offsets = [i * BLOCK for i in range(4)]  # marker


def test_unsupported_syntax():
    check(list_comprehension, "# marker", "unsupported Python syntax in a tile kernel: ListComp",
          BLOCK=64)


@tile.jit
def bad_axis(x, out, n, BLOCK: tile.constexpr):
    pid = tile.program_id(3)  # marker


def test_program_id_axis():
    check(bad_axis, "# marker", "program_id's axis must be 0, 1 or 2, got 3", BLOCK=64)


@tile.jit
def float_offset(x, out, n, BLOCK: tile.constexpr):
    a = tile.load(x, 1.5, BLOCK)  # marker


def test_offset_must_be_int32():
    check(float_offset, "# marker", "load's offset must be an int32 scalar", BLOCK=64)


@tile.jit
def pointer_arith(x, out, n, BLOCK: tile.constexpr):
    y = x + 1  # marker


def test_pointer_arithmetic():
    check(pointer_arith, "# marker", "on arrays (pointers) is not supported", BLOCK=64)


@tile.jit
def tile_shape_mismatch(x, out, n, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK)
    b = tile.load(x, 0, 2 * BLOCK)
    c = a + b  # marker


def test_tile_shape_mismatch():
    check(tile_shape_mismatch, "# marker", "operands of '+' differ in shape: tile[64] of "
          "float32 and tile[128] of float32", BLOCK=64)


def test_calling_language_outside_kernel():
    with pytest.raises(RuntimeError, match="only be called inside a @tile.jit kernel"):
        tile.program_id(0)


def test_launch_without_grid():
    with pytest.raises(TypeError, match=r"with a grid"):
        bad_axis("x")


def test_wrong_argument_count():
    with pytest.raises(TypeError, match="bad_axis: missing a required argument"):
        bad_axis.compile("*f32:16", BLOCK=64)


def test_a_kernel_without_source_is_a_clear_error():
    namespace = {}
    exec("def typed_at_a_prompt(X):\n    pass\n", namespace)
    with pytest.raises(TypeError, match="the source of 'typed_at_a_prompt' cannot be read.*"
                                        r"define it in a \.py file"):
        tile.jit(namespace["typed_at_a_prompt"])
