"""Kernels the frontend rejects for their control flow, helper calls and
Python usage: a CompilationError at the marked line."""
import numpy as np

import tile
from expect_error import expect_error, marked_line

VEC = "*f32:16"


@tile.jit
def if_types_differ(x, n, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK)
    if n > 0:  # <- if types
        t = a
    else:
        t = a.to(tile.bfloat16)
    tile.store(x, 0, t.to(tile.float32))


def test_if_branches_disagree():
    expect_error(if_types_differ, "# <- if types", "'t' is tile[64] of float32 in the `if` "
                 "branch and tile[64] of bfloat16 in the `else` branch", VEC, "i32", BLOCK=64)


@tile.jit
def loop_changes_type(x, n, BLOCK: tile.constexpr):
    acc = tile.zeros((BLOCK,), tile.float32)
    for i in range(0, n, BLOCK):
        acc = (acc + tile.load(x, i, BLOCK)).to(tile.float16)  # <- carried type
    tile.store(x, 0, acc.to(tile.float32))


def test_loop_carried_value_keeps_type():
    expect_error(loop_changes_type, "# <- carried type", "'acc' is tile[64] of float32 before "
                 "the loop and tile[64] of float16 at the end of its body", VEC, "i32", BLOCK=64)


@tile.jit
def defined_in_loop(x, n, BLOCK: tile.constexpr):
    for i in range(0, n, BLOCK):
        v = tile.load(x, i, BLOCK)
    tile.store(x, 0, v)  # <- loop local


def test_name_defined_only_in_loop():
    err = expect_error(defined_in_loop, "# <- loop local", "'v' is only defined inside the loop "
                       "at line", VEC, "i32", BLOCK=64)
    assert f"line {marked_line(__file__, '# <- loop local') - 2}" in err.message


@tile.jit
def one_branch(x, n, BLOCK: tile.constexpr):
    if n > 0:
        v = tile.load(x, 0, BLOCK)
    tile.store(x, 0, v)  # <- one branch


def test_name_assigned_in_one_branch():
    expect_error(one_branch, "# <- one branch", "'v' is assigned in only one branch of the `if`",
                 VEC, "i32", BLOCK=64)


@tile.jit
def index_after_loop(x, n, BLOCK: tile.constexpr):
    for i in range(0, n, BLOCK):
        pass
    tile.store(x, i, tile.zeros((BLOCK,), tile.float32))  # <- index after


def test_loop_index_after_loop():
    expect_error(index_after_loop, "# <- index after", "the loop index 'i' is only defined "
                 "inside the loop", VEC, "i32", BLOCK=64)


@tile.jit
def not_range(x, BLOCK: tile.constexpr):
    for i in (0, 1):  # <- not range
        pass


def test_only_range_loops():
    expect_error(not_range, "# <- not range", "only `for i in range(...)` loops are supported",
                 VEC, BLOCK=64)


@tile.jit
def zero_step(x, n, BLOCK: tile.constexpr):
    for i in range(0, n, 0):  # <- step
        pass


def test_range_step_not_zero():
    expect_error(zero_step, "# <- step", "range's step must not be zero", VEC, "i32",
                 BLOCK=64)


@tile.jit
def float_bound(x, s, BLOCK: tile.constexpr):
    for i in range(s):  # <- float bound
        pass


def test_range_bounds_are_int32():
    expect_error(float_bound, "# <- float bound", "range's stop must be an int32 scalar, got "
                 "float32", VEC, "f32", BLOCK=64)


@tile.jit
def uses_break(x, n, BLOCK: tile.constexpr):
    for i in range(n):
        break


def test_break_is_supported():
    # test_early_exit.py has the rest: a loop that may break is an scf.while.
    assert "scf.while" in uses_break.ir(VEC, "i32", BLOCK=64)


@tile.jit
def if_on_tile(x, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK)
    if a > 0.0:  # <- tile condition
        pass


def test_if_condition_must_be_scalar():
    expect_error(if_on_tile, "# <- tile condition", "an `if` condition must be a boolean scalar "
                 "(a comparison), got tile[64] of int1", VEC, BLOCK=64)


@tile.jit
def early_return_helper(v, n):
    if n > 0:
        return v
    return v * 2.0


@tile.jit
def calls_early_return(x, n, BLOCK: tile.constexpr):
    tile.store(x, 0, early_return_helper(tile.load(x, 0, BLOCK), n))


def test_return_in_runtime_if():
    # Supported (test_early_exit.py): the helper's value is joined by an scf.if.
    x = np.arange(64, dtype=np.float32)
    for n, factor in ((1, 1), (0, 2)):
        y = x.copy()
        calls_early_return[(1,)].interpret(y, n, BLOCK=64)
        np.testing.assert_array_equal(y, x * factor)


@tile.jit
def constant_while(x, BLOCK: tile.constexpr):
    while BLOCK > 0:  # <- while constant
        pass


def test_while_constant_condition():
    expect_error(constant_while, "# <- while constant", "a `while` condition must be a runtime "
                 "boolean, got the constant True", VEC, BLOCK=64)


@tile.jit
def rebind_array(x, y, n):
    for i in range(n):
        x = y  # <- rebind array
    tile.store(x, 0, tile.zeros((64,), tile.float32))


def test_array_rebound_in_loop():
    expect_error(rebind_array, "# <- rebind array", "'x' holds the 1-D array 'x' of float32 and "
                 "is rebound inside the loop", VEC, VEC, "i32")


@tile.jit
def scale(v, factor: tile.constexpr):
    return v * factor


@tile.jit
def helper_missing_arg(x, BLOCK: tile.constexpr):
    tile.store(x, 0, scale(tile.load(x, 0, BLOCK)))  # <- helper args


def test_helper_argument_count():
    expect_error(helper_missing_arg, "# <- helper args",
                 "scale(): missing a required argument: 'factor'", VEC, BLOCK=64)


@tile.jit
def helper_runtime_constexpr(x, f, BLOCK: tile.constexpr):
    tile.store(x, 0, scale(tile.load(x, 0, BLOCK), f))  # <- helper constexpr


def test_helper_constexpr_parameter():
    expect_error(helper_runtime_constexpr, "# <- helper constexpr", "scale(): 'factor' is a "
                 "tile.constexpr parameter but got float32, which is only known at run time",
                 VEC, "f32", BLOCK=64)


@tile.jit
def bad_helper(v):
    return v + tile.zeros((32,), tile.float32)  # <- in helper


@tile.jit
def calls_bad_helper(x, BLOCK: tile.constexpr):
    tile.store(x, 0, bad_helper(tile.load(x, 0, BLOCK)))  # <- call site


def test_error_inside_helper_points_into_helper():
    err = expect_error(calls_bad_helper, "# <- in helper", "operands of '+' differ in shape",
                       VEC, BLOCK=64)
    assert err.callers == [(__file__, marked_line(__file__, "# <- call site"))]
    assert f"called from {__file__}:{marked_line(__file__, '# <- call site')}" in str(err)


@tile.jit
def recurse(v):
    return recurse(v)  # <- recursion


@tile.jit
def calls_recurse(x, BLOCK: tile.constexpr):
    tile.store(x, 0, recurse(tile.load(x, 0, BLOCK)))


def test_recursion():
    err = expect_error(calls_recurse, "# <- recursion",
                       "recurse calls itself recursively (recurse → recurse); recursive "
                       "@tile.jit functions are not supported", VEC, BLOCK=64)
    assert len(err.callers) == 1  # at the first recursive call, not 16 calls deep


@tile.jit
def ping(v):
    return pong(v)


@tile.jit
def pong(v):
    return ping(v)  # <- closes the cycle


@tile.jit
def calls_ping(x, BLOCK: tile.constexpr):
    tile.store(x, 0, ping(tile.load(x, 0, BLOCK)))


def test_mutual_recursion_names_the_cycle():
    expect_error(calls_ping, "# <- closes the cycle",
                 "ping calls itself recursively (ping → pong → ping)", VEC, BLOCK=64)


@tile.jit
def calls_kernel_back(v):
    return calls_the_kernel(v, 64)  # <- kernel again


@tile.jit
def calls_the_kernel(x, BLOCK: tile.constexpr):
    calls_kernel_back(x)


def test_helper_calling_the_kernel_is_recursion():
    expect_error(calls_the_kernel, "# <- kernel again", "calls_the_kernel calls itself "
                 "recursively (calls_the_kernel → calls_kernel_back → calls_the_kernel)",
                 VEC, BLOCK=64)


@tile.jit
def nests(v, DEPTH: tile.constexpr):
    if DEPTH == 0:
        return v
    return nests(v, DEPTH - 1)  # <- nests


@tile.jit
def calls_nests(x, DEPTH: tile.constexpr):
    tile.store(x, 0, nests(tile.load(x, 0, 64), DEPTH))


def test_constexpr_recursion_is_a_cycle_too():
    """A helper calling itself is reported even where a constexpr would end it."""
    expect_error(calls_nests, "# <- nests", "nests calls itself recursively (nests → nests)",
                 VEC, DEPTH=3)


@tile.jit
def calls_print(x, BLOCK: tile.constexpr):
    print(BLOCK)  # <- print


def test_calling_python_functions():
    expect_error(calls_print, "# <- print", "cannot call 'print' in a tile kernel", VEC, BLOCK=64)


@tile.jit
def python_min_runtime(x, n, BLOCK: tile.constexpr):
    m = min(n, BLOCK, key=abs)  # <- min


def test_python_min_on_runtime_values_takes_no_keywords():
    # min(n, BLOCK) is tile.minimum (test_triton_habits.py); key= has no meaning there.
    expect_error(python_min_runtime, "# <- min",
                 "min() of runtime values takes two or more numbers, scalars or tiles and no "
                 "keywords", VEC, "i32", BLOCK=64)


@tile.jit
def static_check(x, BLOCK: tile.constexpr):
    assert BLOCK % 16 == 0, f"BLOCK must be a multiple of 16, got {BLOCK}"  # <- assert


def test_constexpr_assert():
    expect_error(static_check, "# <- assert",
                 "assertion failed: BLOCK must be a multiple of 16, got 40", VEC, BLOCK=40)


@tile.jit
def nested_def(x, BLOCK: tile.constexpr):
    def inner():  # <- nested def
        pass


def test_nested_function():
    expect_error(nested_def, "# <- nested def", "functions cannot be defined inside a tile "
                 "kernel", VEC, BLOCK=64)


@tile.jit
def item_assignment(x, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK)
    a[0] = 1.0  # <- item


def test_item_assignment():
    expect_error(item_assignment, "# <- item", "only names can be assigned to", VEC, BLOCK=64)


@tile.jit
def bad_unpack(x, BLOCK: tile.constexpr):
    a, b = (1, 2, 3)  # <- unpack


def test_tuple_unpack_count():
    expect_error(bad_unpack, "# <- unpack", "cannot unpack a tuple of 3 (the constant 1, the constant 2, the "
                 "constant 3) into 2 names", VEC, BLOCK=64)
