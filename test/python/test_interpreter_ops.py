"""The interpreter's handlers for the ops the C++ dialect parses today (tile
program_id/num_programs/load/store, arith, math, scf), on hand-written tile IR."""
import math

import ml_dtypes
import numpy as np
import pytest

from interpreter_ir import run_ir
from tile.errors import InterpreterError

BF16 = ml_dtypes.bfloat16


def kernel(body: str, params: str = "%out: !tile.ptr<i32>") -> str:
    return (f"func.func @k({params}) attributes {{tile.kernel}} {{\n"
            f"  %c0 = arith.constant 0 : i32\n{body}\n  return\n}}\n")


def store(value: str, type_: str, ptr: str = "%out") -> str:
    element = type_.split("x")[-1].rstrip(">")
    return f"  tile.store {value}, {ptr}[%c0] : {type_}, !tile.ptr<{element}>"


def ints(values) -> str:
    return f"dense<[{', '.join(str(v) for v in values)}]>"


def test_integer_division_and_remainder_round_as_the_gpu():
    a, b = [7, -7, 7, -7], [2, 2, -2, -2]
    out = np.zeros((3, 4), np.int32)
    body = f"""
  %a = arith.constant {ints(a)} : tensor<4xi32>
  %b = arith.constant {ints(b)} : tensor<4xi32>
  %q = arith.divsi %a, %b : tensor<4xi32>
  %f = arith.floordivsi %a, %b : tensor<4xi32>
  %r = arith.remsi %a, %b : tensor<4xi32>
  %c4 = arith.constant 4 : i32
  %c8 = arith.constant 8 : i32
{store("%q", "tensor<4xi32>")}
  tile.store %f, %out[%c4] : tensor<4xi32>, !tile.ptr<i32>
  tile.store %r, %out[%c8] : tensor<4xi32>, !tile.ptr<i32>"""
    run_ir(kernel(body), [out])
    assert out.tolist() == [[3, -3, -3, 3], [3, -4, -4, 3], [1, -1, 1, -1]]


@pytest.mark.parametrize("bits", [32, 64])
def test_ceiling_division_of_the_least_integer(bits):
    """ceildivsi (tile.cdiv) rounds up, INT_MIN included, as the GPU's div and
    remainder do (negating INT_MIN wrapped it: cdiv(-2**31, 3) was positive)."""
    least = -2 ** (bits - 1)
    a, b = [least, least, least, least, least + 1, 7, -7, 0], [3, 2, 4, -3, 3, 2, 2, 5]
    want = [-(-x // y) for x, y in zip(a, b)]
    dtype = np.int32 if bits == 32 else np.int64
    out = np.zeros(len(a), dtype)
    t = f"tensor<{len(a)}xi{bits}>"
    body = f"""
  %a = arith.constant {ints(a)} : {t}
  %b = arith.constant {ints(b)} : {t}
  %q = arith.ceildivsi %a, %b : {t}
  tile.store %q, %out[%c0] : {t}, !tile.ptr<i{bits}>"""
    run_ir(kernel(body, f"%out: !tile.ptr<i{bits}>"), [out])
    assert out.tolist() == want


def test_float_remainder_takes_the_dividends_sign():
    """arith.remf is C's fmod (LLVM's frem, as the GPU computes it), not Python's %."""
    out = np.zeros(4, np.float32)
    body = """
  %a = arith.constant dense<[5.5, -5.5, 5.5, -5.5]> : tensor<4xf32>
  %b = arith.constant dense<[2.0, 2.0, -2.0, -2.0]> : tensor<4xf32>
  %r = arith.remf %a, %b : tensor<4xf32>
""" + store("%r", "tensor<4xf32>")
    run_ir(kernel(body, "%out: !tile.ptr<f32>"), [out])
    assert out.tolist() == [1.5, -1.5, 1.5, -1.5]


def test_compare_select_and_integer_casts_wrap():
    out = np.zeros(4, np.int32)
    body = f"""
  %a = arith.constant {ints([1, -1, 5, 2**31 - 1])} : tensor<4xi32>
  %b = arith.constant {ints([1, 1, 3, 0])} : tensor<4xi32>
  %slt = arith.cmpi slt, %a, %b : tensor<4xi32>
  %ult = arith.cmpi ult, %a, %b : tensor<4xi32>
  %one = arith.constant dense<1> : tensor<4xi32>
  %two = arith.constant dense<2> : tensor<4xi32>
  %s = arith.select %slt, %one, %b : tensor<4xi1>, tensor<4xi32>
  %u = arith.select %ult, %two, %s : tensor<4xi1>, tensor<4xi32>
  %t = arith.trunci %a : tensor<4xi32> to tensor<4xi16>
  %e = arith.extsi %t : tensor<4xi16> to tensor<4xi32>
  %sum = arith.addi %u, %e : tensor<4xi32>
{store("%sum", "tensor<4xi32>")}"""
    run_ir(kernel(body), [out])
    # slt: -1 < 1 only; ult: 1 < 1 false, 0xffffffff < 1 false, 5 < 3 false, big < 0 false.
    # trunci keeps the low 16 bits: 2^31 - 1 -> -1.
    assert out.tolist() == [1 + 1, 1 + -1, 3 + 5, 0 + -1]


def test_float_compare_predicates_and_nan():
    nan = "0x7FC00000"
    out = np.zeros(4, np.int32)
    body = f"""
  %a = arith.constant dense<[1.0, {nan}, 2.0, -0.0]> : tensor<4xf32>
  %b = arith.constant dense<[1.0, 1.0, {nan}, 0.0]> : tensor<4xf32>
  %oeq = arith.cmpf oeq, %a, %b : tensor<4xf32>
  %une = arith.cmpf une, %a, %b : tensor<4xf32>
  %zero = arith.constant dense<0> : tensor<4xi32>
  %one = arith.constant dense<1> : tensor<4xi32>
  %two = arith.constant dense<2> : tensor<4xi32>
  %x = arith.select %oeq, %one, %zero : tensor<4xi1>, tensor<4xi32>
  %y = arith.select %une, %two, %zero : tensor<4xi1>, tensor<4xi32>
  %s = arith.addi %x, %y : tensor<4xi32>
{store("%s", "tensor<4xi32>")}"""
    run_ir(kernel(body), [out])
    assert out.tolist() == [1, 2, 2, 1]  # -0.0 == 0.0; NaN is unequal, unordered


def test_maximumf_propagates_nan_maxnumf_ignores_it():
    out = np.zeros((2, 2), np.float32)
    body = """
  %a = arith.constant dense<[0x7FC00000, 1.0]> : tensor<2xf32>
  %b = arith.constant dense<[3.0, 2.0]> : tensor<2xf32>
  %m = arith.maximumf %a, %b : tensor<2xf32>
  %n = arith.maxnumf %a, %b : tensor<2xf32>
  %c2 = arith.constant 2 : i32
  tile.store %m, %out[%c0] : tensor<2xf32>, !tile.ptr<f32>
  tile.store %n, %out[%c2] : tensor<2xf32>, !tile.ptr<f32>"""
    run_ir(kernel(body, "%out: !tile.ptr<f32>"), [out])
    assert np.isnan(out[0, 0]) and out[0, 1] == 2 and out[1].tolist() == [3, 2]


def test_truncf_rounds_to_nearest_even_and_fp8_saturates():
    half_ulp = 1 + 2**-8  # halfway between two bf16 values: ties to even (1.0)
    above = 1 + 2**-8 + 2**-20  # just above halfway: rounds up
    bf16 = np.zeros(4, BF16)
    fp8 = np.zeros(2, ml_dtypes.float8_e4m3fn)
    body = f"""
  %a = arith.constant dense<[{half_ulp!r}, {above!r}, 3.0e+38, -3.5]> : tensor<4xf32>
  %b = arith.truncf %a : tensor<4xf32> to tensor<4xbf16>
  tile.store %b, %out[%c0] : tensor<4xbf16>, !tile.ptr<bf16>
  %c = arith.constant dense<[1000.0, -1000.0]> : tensor<2xf32>
  %d = arith.truncf %c : tensor<2xf32> to tensor<2xf8E4M3FN>
  tile.store %d, %fp8[%c0] : tensor<2xf8E4M3FN>, !tile.ptr<f8E4M3FN>"""
    run_ir(kernel(body, "%out: !tile.ptr<bf16>, %fp8: !tile.ptr<f8E4M3FN>"), [bf16, fp8])
    assert bf16[0] == 1 and bf16[1] == np.float32(1 + 2**-7)
    assert bf16[2] == np.float32(3.0e38).astype(BF16) and bf16[3] == -3.5
    assert fp8.astype(np.float32).tolist() == [448, -448]  # PTX cvt ... .satfinite


def test_fptosi_truncates_and_saturates_sitofp_rounds():
    out = np.zeros(8, np.int32)
    body = """
  %a = arith.constant dense<[2.7, -2.7, 3.0e+10, 0x7FC00000]> : tensor<4xf32>
  %i = arith.fptosi %a : tensor<4xf32> to tensor<4xi32>
  tile.store %i, %out[%c0] : tensor<4xi32>, !tile.ptr<i32>
  %n = arith.constant dense<[16777217, 3, -5, 0]> : tensor<4xi32>
  %f = arith.sitofp %n : tensor<4xi32> to tensor<4xf32>
  %back = arith.fptosi %f : tensor<4xf32> to tensor<4xi32>
  %c4 = arith.constant 4 : i32
  tile.store %back, %out[%c4] : tensor<4xi32>, !tile.ptr<i32>"""
    run_ir(kernel(body), [out])
    assert out.tolist() == [2, -2, 2**31 - 1, 0, 16777216, 3, -5, 0]


def test_math_on_bf16_is_computed_in_f32_and_rounded():
    x = np.array([0.5, -1.25, 3.0, 10.0], BF16)
    out = np.zeros((3, 4), BF16)
    body = """
  %x = tile.load %in[%c0] : !tile.ptr<bf16> -> tensor<4xbf16>
  %e = math.exp %x : tensor<4xbf16>
  %e2 = math.exp2 %x : tensor<4xbf16>
  %a = math.absf %x : tensor<4xbf16>
  %l = math.log %a : tensor<4xbf16>
  %c4 = arith.constant 4 : i32
  %c8 = arith.constant 8 : i32
  tile.store %e, %out[%c0] : tensor<4xbf16>, !tile.ptr<bf16>
  tile.store %e2, %out[%c4] : tensor<4xbf16>, !tile.ptr<bf16>
  tile.store %l, %out[%c8] : tensor<4xbf16>, !tile.ptr<bf16>"""
    run_ir(kernel(body, "%in: !tile.ptr<bf16>, %out: !tile.ptr<bf16>"), [x, out])
    f = x.astype(np.float32)
    expected = np.stack([np.exp(f), np.exp2(f), np.log(np.abs(f))]).astype(BF16)
    assert np.array_equal(out, expected)


def test_math_functions_round_the_exact_value_to_f32():
    """erf, sin, cos (at large arguments too), floor, ceil: the exact value rounded to
    f32, where the GPU's libdevice is within 2 ulps of it."""
    x = np.array([0.3, -2.5, 1e4, 3.0e38, -7.75, 1e-40, 100.5, -0.0], np.float32)
    out = np.zeros((5, 8), np.float32)
    names = ["erf", "sin", "cos", "floor", "ceil"]
    body = "  %x = tile.load %in[%c0] : !tile.ptr<f32> -> tensor<8xf32>\n"
    for i, name in enumerate(names):
        body += (f"  %r{i} = math.{name} %x : tensor<8xf32>\n"
                 f"  %o{i} = arith.constant {8 * i} : i32\n"
                 f"  tile.store %r{i}, %out[%o{i}] : tensor<8xf32>, !tile.ptr<f32>\n")
    run_ir(kernel(body, "%in: !tile.ptr<f32>, %out: !tile.ptr<f32>"), [x, out])
    for row, name in zip(out, names):
        expected = [np.float32(getattr(math, name)(float(v))) for v in x]
        assert np.array_equal(row, np.array(expected, np.float32)), name
    assert np.signbit(out[3, 7]) and np.signbit(out[4, 7])  # floor/ceil keep -0.0


def test_fma_rounds_once_then_to_the_storage_type():
    """(1 + 2^-12)^2 + 2^-80 is just above an f32 halfway point: one rounding goes up,
    a*b + c in f64 then f32 would tie to even. bf16 operands compute in f32 and round
    again (fma.rn.f32, then cvt), as the GPU does."""
    a = 1 + 2**-12
    out = np.zeros(2, np.float32)
    half = np.zeros(1, BF16)
    body = f"""
  %a = arith.constant {a!r} : f32
  %c = arith.constant 8.27180612553027675e-25 : f32
  %f = math.fma %a, %a, %c : f32
  %g = math.fma %a, %a, %a : f32
  %t = tile.splat %f : f32 -> tensor<1xf32>
  %u = tile.splat %g : f32 -> tensor<1xf32>
  %c1 = arith.constant 1 : i32
  tile.store %t, %out[%c0] : tensor<1xf32>, !tile.ptr<f32>
  tile.store %u, %out[%c1] : tensor<1xf32>, !tile.ptr<f32>
  %b = arith.constant 1.0078125 : bf16
  %h = math.fma %b, %b, %b : bf16
  %v = tile.splat %h : bf16 -> tensor<1xbf16>
  tile.store %v, %half[%c0] : tensor<1xbf16>, !tile.ptr<bf16>"""
    assert np.float32(2**-80) == np.float32(8.27180612553027675e-25)
    run_ir(kernel(body, "%out: !tile.ptr<f32>, %half: !tile.ptr<bf16>"), [out, half])
    assert out[0] == np.float32(1 + 2**-11 + 2**-23)
    assert out[1] == np.float32(a * a + a)  # exact in f64, one rounding to f32
    b = 1.0078125
    assert half[0] == np.float32(b * b + b).astype(BF16)


def test_integer_abs_and_unsigned_min_max():
    """|INT_MIN| wraps to INT_MIN (PTX abs.s32); minui/maxui compare as unsigned."""
    out = np.zeros((3, 4), np.int32)
    body = f"""
  %a = arith.constant {ints([-2**31, -5, 7, 0])} : tensor<4xi32>
  %b = arith.constant {ints([1, -1, 3, -2])} : tensor<4xi32>
  %abs = math.absi %a : tensor<4xi32>
  %lo = arith.minui %a, %b : tensor<4xi32>
  %hi = arith.maxui %a, %b : tensor<4xi32>
  %c4 = arith.constant 4 : i32
  %c8 = arith.constant 8 : i32
{store("%abs", "tensor<4xi32>")}
  tile.store %lo, %out[%c4] : tensor<4xi32>, !tile.ptr<i32>
  tile.store %hi, %out[%c8] : tensor<4xi32>, !tile.ptr<i32>"""
    run_ir(kernel(body), [out])
    assert out.tolist() == [[-2**31, 5, 7, 0], [1, -5, 3, 0], [-2**31, -1, 7, -2]]


def test_program_id_and_num_programs_over_a_3d_grid():
    out = np.zeros((2, 3, 4, 4), np.int32)
    body = """
  %x = tile.program_id 0
  %y = tile.program_id 1
  %z = tile.program_id 2
  %nx = tile.num_programs 0
  %ny = tile.num_programs 1
  %zy = arith.muli %z, %ny : i32
  %zyy = arith.addi %zy, %y : i32
  %row = arith.muli %zyy, %nx : i32
  %pid = arith.addi %row, %x : i32
  %c4 = arith.constant 4 : i32
  %off = arith.muli %pid, %c4 : i32
  %v = arith.constant dense<[0, 1, 2, 3]> : tensor<4xi32>
  %c100 = arith.constant 100 : i32
  %n = arith.muli %nx, %c100 : i32
  %w = arith.constant dense<1> : tensor<4xi32>
  %first = arith.constant 0 : index
  %last = arith.index_cast %n : i32 to index
  %step = arith.constant 100 : index
  %m = scf.for %i = %first to %last step %step iter_args(%acc = %v) -> (tensor<4xi32>) {
    %next = arith.addi %acc, %w : tensor<4xi32>
    scf.yield %next : tensor<4xi32>
  }
  tile.store %m, %out[%off] : tensor<4xi32>, !tile.ptr<i32>"""
    run_ir(kernel(body), [out], grid=(4, 3, 2))
    # Every program wrote its own 4 elements: [0..3] + num_programs(0).
    assert (out == np.arange(4) + 4).all()


DIVERGENT = """
  %pid = tile.program_id 0
  %c1 = arith.constant 1 : i32
  %c3 = arith.constant 3 : i32
  %c4 = arith.constant 4 : i32
  %off = arith.muli %pid, %c4 : i32
  %zero = arith.constant dense<0> : tensor<4xi32>
  %one = arith.constant dense<1> : tensor<4xi32>
  %count = scf.for %i = %c0 to %pid step %c1 iter_args(%acc = %zero) -> (tensor<4xi32>) : i32 {
    %next = arith.addi %acc, %one : tensor<4xi32>
    scf.yield %next : tensor<4xi32>
  }
  %small = arith.cmpi slt, %pid, %c3 : i32
  %r = scf.if %small -> (tensor<4xi32>) {
    scf.yield %count : tensor<4xi32>
  } else {
    %neg = arith.subi %zero, %count : tensor<4xi32>
    scf.yield %neg : tensor<4xi32>
  }
  tile.store %r, %out[%off] : tensor<4xi32>, !tile.ptr<i32>"""


def test_control_flow_that_differs_between_programs():
    out = np.full((6, 4), 99, np.int32)
    run_ir(kernel(DIVERGENT), [out], grid=6)
    assert out[:, 0].tolist() == [0, 1, 2, -3, -4, -5] and (out == out[:, :1]).all()


def test_small_batches_give_the_same_result(monkeypatch):
    """One program a batch (no vectorization) and all in one batch agree."""
    from tile.interpreter import executor
    out = np.zeros((6, 4), np.int32)
    monkeypatch.setattr(executor, "BATCH_ELEMENTS", 1)
    run_ir(kernel(DIVERGENT), [out], grid=6)
    assert out[:, 0].tolist() == [0, 1, 2, -3, -4, -5]


def test_scf_while_counts_per_program():
    out = np.zeros((3, 4), np.int32)
    body = """
  %pid = tile.program_id 0
  %c1 = arith.constant 1 : i32
  %c4 = arith.constant 4 : i32
  %off = arith.muli %pid, %c4 : i32
  %limit = arith.addi %pid, %c1 : i32
  %zero = arith.constant dense<0> : tensor<4xi32>
  %two = arith.constant dense<2> : tensor<4xi32>
  %r:2 = scf.while (%i = %c0, %acc = %zero) : (i32, tensor<4xi32>) -> (i32, tensor<4xi32>) {
    %go = arith.cmpi slt, %i, %limit : i32
    scf.condition(%go) %i, %acc : i32, tensor<4xi32>
  } do {
  ^bb0(%j: i32, %a: tensor<4xi32>):
    %j1 = arith.addi %j, %c1 : i32
    %a1 = arith.addi %a, %two : tensor<4xi32>
    scf.yield %j1, %a1 : i32, tensor<4xi32>
  }
  tile.store %r#1, %out[%off] : tensor<4xi32>, !tile.ptr<i32>"""
    run_ir(kernel(body), [out], grid=3)
    assert out[:, 0].tolist() == [2, 4, 6]


def test_out_of_bounds_names_the_kernel_line_and_program():
    x = np.zeros(10, np.float32)
    text = kernel("""
  %pid = tile.program_id 0
  %c8 = arith.constant 8 : i32
  %off = arith.muli %pid, %c8 : i32
  %v = tile.load %out[%off] : !tile.ptr<f32> -> tensor<8xf32> loc("kernel.py":42:7)""",
                  "%out: !tile.ptr<f32>")
    with pytest.raises(InterpreterError) as info:
        run_ir(text, [x], grid=2)
    e = info.value
    assert (e.filename, e.lineno, e.col) == ("kernel.py", 42, 6)
    assert "element offset 10" in e.message and "program (1, 0, 0)" in e.message


def test_bound_makes_the_same_access_legal_and_zero_fills():
    x = np.arange(1, 11, dtype=np.float32)
    out = np.full(16, -1, np.float32)
    body = """
  %pid = tile.program_id 0
  %c8 = arith.constant 8 : i32
  %n = arith.constant 10 : i32
  %off = arith.muli %pid, %c8 : i32
  %v = tile.load %in[%off] bound %n : !tile.ptr<f32> -> tensor<8xf32>
  tile.store %v, %out[%off] : tensor<8xf32>, !tile.ptr<f32>"""
    run_ir(kernel(body, "%in: !tile.ptr<f32>, %out: !tile.ptr<f32>"), [x, out], grid=2)
    assert out.tolist() == list(range(1, 11)) + [0] * 6


def test_store_past_the_bound_writes_nothing():
    out = np.full(6, -1, np.int32)
    body = """
  %n = arith.constant 5 : i32
  %c2 = arith.constant 2 : i32
  %v = arith.constant dense<7> : tensor<8xi32>
  tile.store %v, %out[%c2] bound %n : tensor<8xi32>, !tile.ptr<i32>"""
    run_ir(kernel(body), [out])
    assert out.tolist() == [-1, -1, 7, 7, 7, -1]


def test_unsupported_op_is_reported_at_its_line():
    text = kernel("""
  %a = arith.constant dense<1.0> : tensor<4xf32>
  %b = math.cbrt %a : tensor<4xf32> loc("k.py":3:9)""")
    with pytest.raises(InterpreterError, match="does not support 'math.cbrt'"):
        run_ir(text, [np.zeros(4, np.int32)])
