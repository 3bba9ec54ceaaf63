"""Kernels the frontend rejects for misusing the language (views, mma,
reductions, broadcasts, dtypes): a CompilationError at the marked line,
raised in Python before any IR is printed."""
import tile
from expect_error import expect_error

MAT = "*bf16[2]:16"
VEC = "*f32:16"


@tile.jit
def view_offsets(A, BM: tile.constexpr):
    a = tile.load(A, (0,), (BM, BM))  # <- offsets


def test_view_needs_one_offset_per_dimension():
    expect_error(view_offsets, "# <- offsets",
                 "load: the 2-D array 'A' of bfloat16 needs 2 offsets, got 1", MAT, BM=64)


@tile.jit
def pointer_form_on_matrix(A, BM: tile.constexpr):
    a = tile.load(A, 0, BM)  # <- 1-D form


def test_pointer_form_needs_1d_array():
    expect_error(pointer_form_on_matrix, "# <- 1-D form",
                 "the 1-D form `load(x, start, ...)` needs a 1-D array", MAT, BM=64)


@tile.jit
def bound_on_view(A, n, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM), bound=n)  # <- bound


def test_bound_only_on_pointer_form():
    expect_error(bound_on_view, "# <- bound", "`bound` is for the 1-D form", MAT, "i32", BM=64)


@tile.jit
def shape_rank(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM, BM))  # <- shape rank


def test_load_shape_has_at_most_one_dim_per_offset():
    # fewer dims are the array's trailing ones (test_selected_views.py)
    expect_error(shape_rank, "# <- shape rank", "load: a 3-D shape (64, 64, 64) with 2 offsets",
                 MAT, BM=64)


@tile.jit
def store_dtype(A, BM: tile.constexpr):
    tile.store(A, (0, 0), tile.zeros((BM, BM), tile.float32))  # <- store dtype


def test_view_store_dtype_mismatch():
    expect_error(store_dtype, "# <- store dtype", "store of a tile[64, 64] of float32 to the "
                 "2-D array 'A' of bfloat16: element types differ", MAT, BM=64)


@tile.jit
def store_scalar(x, n):
    tile.store(x, 0, n)  # <- store scalar


def test_store_of_a_scalar_keeps_the_dtype_rule():
    expect_error(store_scalar, "# <- store scalar", "store of int32 to the 1-D array 'x' of "
                 "float32: element types differ", VEC, "i32")


@tile.jit
def mma_k(A, B, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, 32))
    b = tile.load(B, (0, 0), (BM, BM))
    c = tile.mma(a, b, tile.zeros((BM, BM), tile.float32))  # <- mma K


def test_mma_inner_dimensions_differ():
    expect_error(mma_k, "# <- mma K", "mma: a is tile[64, 32] of bfloat16 (M x K) and b is "
                 "tile[64, 64] of bfloat16 (K x N): their K differ (32 and 64)", MAT, MAT, BM=64)


@tile.jit
def mma_f32(BM: tile.constexpr):
    a = tile.zeros((BM, BM), tile.float32)
    c = tile.mma(a, a, a)  # <- mma f32


def test_mma_input_dtype():
    expect_error(mma_f32, "# <- mma f32", "mma: a and b must both be bfloat16, float16 or fp8",
                 BM=64)


@tile.jit
def mma_f16_acc(BM: tile.constexpr):
    a = tile.zeros((BM, BM), tile.float16)
    c = tile.mma(a, a, a)  # <- mma f16 acc


def test_mma_accumulates_in_float32():
    expect_error(mma_f16_acc, "# <- mma f16 acc", "mma: the accumulator must be float32, got "
                 "tile[64, 64] of float16 (accumulate in float32", BM=64)


@tile.jit
def mma_acc_shape(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, 2 * BM))
    c = tile.mma(a, a, tile.zeros((BM, BM), tile.float32), transpose_b=True)
    d = tile.mma(a, a, tile.zeros((BM, BM), tile.float32))  # <- acc shape


def test_mma_transpose_b_sets_k():
    expect_error(mma_acc_shape, "# <- acc shape", "their K differ (128 and 64)", MAT, BM=64)


@tile.jit
def mma_acc_mismatch(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    c = tile.mma(a, a, tile.zeros((BM, 2 * BM), tile.float32))  # <- acc dims


def test_mma_accumulator_dims():
    expect_error(mma_acc_mismatch, "# <- acc dims",
                 "mma: a @ b is 64 x 64 but acc is tile[64, 128] of float32", MAT, BM=64)


@tile.jit
def mma_flag(A, n, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    c = tile.mma(a, a, tile.zeros((BM, BM), tile.float32), transpose_b=n > 0)  # <- flag


def test_mma_transpose_must_be_constexpr():
    expect_error(mma_flag, "# <- flag", "mma's transpose_b must be a constexpr bool, got int1",
                 MAT, "i32", BM=64)


@tile.jit
def mma_small(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, 16))
    b = tile.load(A, (0, 0), (16, 16))
    c = tile.mma(a, b, tile.zeros((BM, 16), tile.float32))  # <- small


def test_mma_multiples_of_16():
    expect_error(mma_small, "# <- small", "M, N and K must be multiples of 16, got M = 8",
                 MAT, BM=8)


@tile.jit
def reduce_axis(BM: tile.constexpr):
    m = tile.max(tile.zeros((BM, BM), tile.float32), 2)  # <- axis range


def test_reduce_axis_out_of_range():
    expect_error(reduce_axis, "# <- axis range",
                 "max's axis 2 is out of range for tile[64, 64] of float32", BM=64)


@tile.jit
def reduce_runtime_axis(n, BM: tile.constexpr):
    m = tile.min(tile.zeros((BM, BM), tile.float32), n)  # <- runtime axis


def test_reduce_axis_constexpr():
    expect_error(reduce_runtime_axis, "# <- runtime axis",
                 "min's axis must be a constexpr integer, got int32", "i32", BM=64)


@tile.jit
def broadcast_rows(BM: tile.constexpr):
    s = tile.zeros((BM, BM), tile.float32)
    m = tile.zeros((BM // 2,), tile.float32)
    p = s - m[:, None]  # <- rows


def test_broadcast_size_mismatch():
    expect_error(broadcast_rows, "# <- rows", "operands of '-' differ in shape: tile[64, 64] of "
                 "float32 and tile[32, 1] of float32 (a 1-D tile[:, None]) do not broadcast",
                 BM=64)


@tile.jit
def index_2d(BM: tile.constexpr):
    s = tile.zeros((BM, BM), tile.float32)
    r = s[0, :]  # <- index


def test_tiles_take_only_none_and_whole_dims_as_indices():
    expect_error(index_2d, "# <- index", "a tile[64, 64] of float32 cannot be indexed; only "
                 "dims of size 1 are added with None", BM=64)


@tile.jit
def index_too_many(BM: tile.constexpr):
    s = tile.zeros((BM, BM), tile.float32)
    r = s[:, :, :, None]  # <- too many


def test_more_whole_dims_than_the_tile_has():
    expect_error(index_too_many, "# <- too many", "too many indices for tile[64, 64] of float32",
                 BM=64)


@tile.jit
def float8_with_float(X, BM: tile.constexpr):
    c = tile.zeros((BM,), tile.float32) + tile.load(X, 0, BM)  # <- float8


def test_float8_is_not_promoted():
    # Mixed dtypes promote (test_dtype_promotion.py); float8 only with .to().
    expect_error(float8_with_float, "# <- float8", "operands of '+' differ in type: tile[64] "
                 "of float32 and tile[64] of float8e4m3", "*f8E4M3FN:16", BM=64)


@tile.jit
def int_true_division(Y, n):
    tile.store(Y, 0, n / 2)


def test_int_true_division_is_float32():
    # As Python and Triton: int / int divides as float32 (// is floor division).
    ir = int_true_division.ir("*f32:16", "i32")
    assert "arith.sitofp" in ir and "arith.divf" in ir


@tile.jit
def exp_of_int(BM: tile.constexpr):
    e = tile.exp(tile.arange(BM))  # <- exp int


def test_exp_needs_floats():
    expect_error(exp_of_int, "# <- exp int",
                 "exp needs a float tile or scalar, got tile[64] of int32", BM=64)


@tile.jit
def to_not_dtype(BM: tile.constexpr):
    t = tile.zeros((BM,), tile.float32).to(16)  # <- to


def test_to_needs_dtype():
    expect_error(to_not_dtype, "# <- to", ".to() needs a dtype such as tile.float16, got 16",
                 BM=64)


@tile.jit
def zeros_runtime_shape(n):
    z = tile.zeros((n, 16), tile.float32)  # <- runtime shape


def test_shape_must_be_constexpr():
    expect_error(zeros_runtime_shape, "# <- runtime shape",
                 "zeros's shape must be a constexpr integer, got int32", "i32")


@tile.jit
def neg_inf_int(BM: tile.constexpr):
    m = tile.neg_inf((BM,), tile.int32)  # <- neg_inf int


def test_neg_inf_needs_float():
    expect_error(neg_inf_int, "# <- neg_inf int", "neg_inf needs a float dtype, got int32",
                 BM=64)


@tile.jit
def load_missing_args(x):
    a = tile.load(x)  # <- missing


def test_builtin_argument_count():
    expect_error(load_missing_args, "# <- missing",
                 "tile.load: missing a required argument: 'offset'", VEC)


@tile.jit
def mma_bad_keyword(BM: tile.constexpr):
    a = tile.zeros((BM, BM), tile.bfloat16)
    c = tile.mma(a, a, tile.zeros((BM, BM), tile.float32), transpose_c=True)  # <- keyword


def test_builtin_unknown_keyword():
    expect_error(mma_bad_keyword, "# <- keyword",
                 "tile.mma: got an unexpected keyword argument 'transpose_c'", BM=64)


@tile.jit
def where_float_condition(BM: tile.constexpr):
    x = tile.zeros((BM,), tile.float32)
    y = tile.where(x, x, 0.0)  # <- where


def test_where_condition_must_be_boolean():
    expect_error(where_float_condition, "# <- where", "tile.where's condition must be a boolean "
                 "(a comparison), got tile[64] of float32", BM=64)


@tile.jit
def constant_overflow(BM: tile.constexpr):
    h = tile.full((BM,), 1e6, tile.float16)  # <- overflow


def test_constant_does_not_fit():
    expect_error(constant_overflow, "# <- overflow", "1000000.0 does not fit in float16", BM=64)


@tile.jit
def arange_size(BM: tile.constexpr):
    r = tile.arange(BM)  # <- arange


def test_arange_power_of_two():
    expect_error(arange_size, "# <- arange",
                 "arange's size: each dimension must be a power of two, got 100", BM=100)


@tile.jit
def no_such_attribute(BM: tile.constexpr):
    t = tile.zeros((BM,), tile.float32)
    n = t.size  # <- attribute


def test_tile_attribute():
    expect_error(no_such_attribute, "# <- attribute",
                 "tile[64] of float32 has no attribute 'size'", BM=64)


@tile.jit
def runtime_axis_program_id(n):
    p = tile.program_id(n)  # <- pid axis


def test_program_id_axis_constexpr():
    expect_error(runtime_axis_program_id, "# <- pid axis",
                 "program_id's axis must be a constexpr integer, got int32", "i32")


@tile.jit
def fdiv_of_ints(X, BLOCK: tile.constexpr):
    i = tile.arange(BLOCK)
    tile.store(X, 0, tile.fdiv(i, i + 1).to(tile.float32))  # <- fdiv


def test_fdiv_needs_floats():
    expect_error(fdiv_of_ints, "# <- fdiv", "fdiv needs floats", VEC, BLOCK=128)


@tile.jit
def fdiv_runtime_rounding(X, flag, BLOCK: tile.constexpr):
    a = tile.load(X, 0, BLOCK)
    tile.store(X, 0, tile.fdiv(a, a, ieee_rounding=flag))  # <- rounding


def test_fdiv_rounding_is_constexpr():
    expect_error(fdiv_runtime_rounding, "# <- rounding", "fdiv's ieee_rounding", VEC, "i32",
                 BLOCK=128)


@tile.jit
def triton_dot(A, BM: tile.constexpr):
    a = tile.load(A, (0, 0), (BM, BM))
    c = tile.dot(a, a)  # <- dot


def test_a_triton_name_says_what_tile_calls_it():
    expect_error(triton_dot, "# <- dot", "tile has no attribute 'dot' (tile.mma(a, b, acc) is "
                 "acc + a @ b)", "*bf16[2]:16", BM=64)


@tile.jit
def stores_a_sort(X, Y, BLOCK: tile.constexpr):
    v = tile.sort(tile.load(X, 0, BLOCK))
    tile.store(Y, 0, v)  # <- a tuple stored


def test_a_tuple_is_named_as_one():
    """tile.sort returns (values, indices): the message names both, not their reprs."""
    expect_error(stores_a_sort, "# <- a tuple stored", "got a tuple of 2 (tile[64] of float32, "
                 "tile[64] of int32)", "*f32:16", "*f32:16", BLOCK=64)
