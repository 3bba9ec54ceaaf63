"""The tile language: what a `@tile.jit` kernel may call.

These functions are never executed by Python: the frontend reads a kernel's
source and turns each call into tile IR. Calling one outside a kernel raises.

Besides these functions, kernels use Python itself:
- arithmetic `+ - * / // % & | ^ << >> ~` and comparisons on tiles and scalars.
  Operands broadcast as in numpy: a scalar or a constant to any tile, and
  tiles of any ranks whose shapes, aligned on the right, have in each dim the
  same size or 1 (a dim of size 1 stretches: a (2, 4, 8) tile takes (8,),
  (4, 8) or (2, 1, 8) ones). In a tile's index `None` adds a dim of size 1
  and `:` keeps one (`...`: those not named), as numpy: `v[:, None]` of a 1-D
  tile is the (N, 1) column, `v[None, :]` the (1, N) row, `m[:, :, None]` of a
  2-D one (M, N, 1) (also `tile.expand_dims`, `x.reshape`): `s - m[:, None]`
  subtracts a row max, `a[:, None] * b[None, :]` is the (M, N) outer product,
  and a row or column may be stored, reduced or loaded through (a gather with
  a row of offsets gives a row). Sides of different dtypes
  are promoted as Triton and torch promote: an integer with a float gives the
  float, float16 or bfloat16 with float32 gives float32, float16 with bfloat16
  float32, a narrower integer with a wider one the wider. Constants are weak:
  they take the other side's dtype (a float constant with integers gives
  float32). Comparisons, `where` and the elementwise functions promote alike.
  `/` is true division (integers are divided as float32, as in Python and
  Triton); `//` takes integers only and rounds down (as Python; on floats,
  `tile.floor(a / b)`), and `%` takes the sign of the dividend (as C and
  Triton); on floats too, `%` is C's `fmod`. Arithmetic
  on constants alone (constexprs, literals, names bound only to them) is Python's,
  done while compiling, as Triton's constexpr arithmetic is: `-7 % 2` is 1 there.
  `x.to(tile.int1)` of an integer is `x != 0`.
  float8 tiles are only loaded, stored, converted and multiplied (`tile.mma`):
  convert with `.to(tile.float32)` before any other arithmetic. Operators apply
  to tiles, scalars and constants, never to an array argument itself.
- `x.to(dtype)` converts (`x.to(dtype, bitcast=True)` reinterprets the bits, of
  equal width), `t.shape` and `t.dtype` are constants, `t.T` transposes; the
  functions of `TILE_METHODS` are methods too, as in Triton: `x.sum(1)` is
  `tile.sum(x, 1)`, `x.exp()` is `tile.exp(x)`. `x ** y` is `tile.pow(x, y)`,
  but x * x * ... for a constant integer y of 0 to 4 (exact; integers too);
  `abs(x)` is `tile.abs(x)`, `min(a, b, ...)` and `max(a, b, ...)` of runtime
  values `tile.minimum` / `tile.maximum` taken left to right (constants fold).
  an array argument's `A.shape[d]` is its runtime size, `A.stride(d)` its stride
  in elements (as torch's; the constant 1 where the launch specialized a unit
  stride) and `A.dtype` its dtype.
- `for i in range(start, stop, step)` becomes a loop (`scf.for`); names rebound
  in the body and read later are carried from one iteration to the next (a
  negative step must be a constant, as in `range(n - 1, -1, -1)`; `i` itself is
  defined inside the loop only). `if` and
  `while` on runtime booleans become `scf.if` / `scf.while`; `if` on constexprs
  is decided at compile time. `break`, `continue` and `return` work anywhere,
  also inside runtime `if`s and loops: a loop that may exit early becomes an
  `scf.while`, what follows an exit runs under an `scf.if`. A while loop is not
  software-pipelined: its `tile.mma` runs unpipelined, operands loaded and
  written to shared memory each iteration (a warning says so where `num_stages`
  is given; keep exits out of mma loops). Other `@tile.jit` functions can be
  called: inlined, they may return values (one type on every path, and a value
  on every path if on any); a function calling itself, directly or through
  others, is an error at the call closing the cycle.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class dtype:
    """An element type. `name` is the user-facing name, `mlir` the IR spelling."""

    name: str
    mlir: str
    bits: int

    @property
    def is_float(self) -> bool:
        return self.mlir.startswith(("f", "bf"))

    def __repr__(self) -> str:
        return f"tile.{self.name}"


float32 = dtype("float32", "f32", 32)
float16 = dtype("float16", "f16", 16)
bfloat16 = dtype("bfloat16", "bf16", 16)
float8e4m3 = dtype("float8e4m3", "f8E4M3FN", 8)
float8e5m2 = dtype("float8e5m2", "f8E5M2", 8)
int32 = dtype("int32", "i32", 32)
int16 = dtype("int16", "i16", 16)
int8 = dtype("int8", "i8", 8)
int64 = dtype("int64", "i64", 64)
int1 = dtype("int1", "i1", 1)

DTYPES = {d.name: d for d in (float32, float16, bfloat16, float8e4m3, float8e5m2,
                              int32, int16, int8, int64, int1)}
BY_MLIR = {d.mlir: d for d in DTYPES.values()}


class constexpr:
    """Annotation for a kernel parameter whose value is known at compile time.

    `def kernel(x, BLOCK: tile.constexpr)`: each distinct value of `BLOCK`
    compiles its own specialization.
    """


def _builtin(fn):
    """Marks a language function; calling it from plain Python is an error.

    The frontend binds a call's arguments against `fn`'s signature, so the
    parameter names and defaults written here are the language's."""

    @functools.wraps(fn)
    def outside_kernel(*args, **kwargs):
        raise RuntimeError(f"tile.{fn.__name__} can only be called inside a @tile.jit kernel")

    outside_kernel.__tile_builtin__ = fn.__name__
    return outside_kernel


# -- grid ----------------------------------------------------------------------
@_builtin
def program_id(axis):
    """Index of this program (CTA) along grid axis 0, 1 or 2 (a constexpr)."""


@_builtin
def num_programs(axis):
    """Number of programs (CTAs) along grid axis 0, 1 or 2 (a constexpr)."""


# -- global memory ---------------------------------------------------------------
@_builtin
def load(array, offset, shape=None, bound=None, multicast=False, mask=None, other=0):
    """Load a tile from global memory. The second argument picks the form: an
    int scalar (1-D), a tuple (N-D view) or a tile (gather).

    1-D pointer form, `load(x, start, BLOCK, bound=n)`: the tile
    `x[start : start + BLOCK]` of a 1-D array; elements at `start + i >= bound`
    read as zero (without `bound`, every element is read).

    N-D view form, `load(A, (i, j), (BM, BK))`: the BM x BK tile whose first
    element is `A[i, j]`; elements outside the array's sizes read as zero. A
    shape of fewer dims than the array's takes its trailing dims, the leading
    offsets selecting: `load(X, (r, 0), (BN,))` is row r as a 1-D tile. An
    array indexed by leading integers is the array of its other dims:
    `load(Q[b, h], (i, 0), (BM, D))` in a (B, H, N, D) array, any strides.
    These lower-rank forms read through a gather (no TMA).

    Gather form, `load(x, offsets, mask=m, other=0)`: a tile of the shape of
    `offsets` (an int32 or int64 tile of any shape) whose element k is the
    array element at `offsets[k]`. Offsets count elements from the array's
    first one in memory, as Triton's pointer arithmetic: on a contiguous array
    the row-major flat index (`rows[:, None] * n + cols[None, :]` in an m x n
    array); a strided array's element (i, j) is at `i * stride0 + j * stride1`.
    Nothing is bounds-checked: mask the offsets that may fall outside.

    One element, `load(x, i)` or `load(A, (i, j))` (no shape): the element as
    a scalar (a view load of one element, zero outside the array).

    `mask=` (any form): a boolean tile (a comparison) of the result's shape, or
    one that broadcasts to it as numpy (`n < m` of 1-D `n` is a row); where it is
    false the element is `other` (a number or scalar of the array's dtype;
    zero by default). A gather reads nothing where the mask is false. The 1-D
    and view forms still load within their bounds (a masked 1-D load without
    `bound` within the array's size) and then take `other` where the mask is
    false: elements outside the array are never read, those inside it may be.

    `multicast=True` (a constexpr; view form) promises that every program of
    the cluster (`num_ctas` programs launched together: ids 0..n-1, n..2n-1,
    ... along grid axis 0) loads this same tile here, at every iteration. With
    `warp_specialize=True` each program's producer then copies 1/n of it into
    all n programs' shared memory (TMA multicast), cutting the traffic from L2;
    elsewhere the load is an ordinary one. Breaking the promise gives wrong
    results; the interpreter checks it.

    Shapes are constexpr powers of two; starts are int32 scalars or constants.
    """


@_builtin
def store(array, offset, value, bound=None, mask=None):
    """Store a tile to global memory, in the same three forms as `load`:
    `store(x, start, v, bound=n)` (1-D), `store(C, (i, j), c)` (N-D view) and
    `store(x, offsets, v)` (scatter: `v[k]` to the element at `offsets[k]`, or
    a number or scalar `v` to every offset; two elements with one offset write
    one of them, which is not defined: the interpreter reports differing ones).
    Elements outside the bound (1-D) or the array's sizes (view) are not
    written, nor those where `mask=` (as `load`'s) is false. A masked 1-D or
    view store is a scatter (one access an element, no TMA or vector stores);
    the view form takes 1-D and 2-D arrays there. A tile of fewer dims than the
    array (`store(Y, (r, 0), v)`: v to row r) or an array indexed by leading
    integers (`store(O[b, h], (i, 0), o)`) is stored as `load` reads them.
    A number or scalar at one element's place, `store(x, i, s)` or
    `store(A, (i, j), s)`, writes that element (`store(Mean, row, mean)`).
    The tile's dtype must be the array's: convert with `.to(dtype)` first."""


# -- atomics ----------------------------------------------------------------------
# Each element k of `offsets` (a tile, as a gather's) gets one atomic
# read-modify-write of the array element at offsets[k] with value[k] (`value` a
# tile of the offsets' shape and the array's dtype, or a number or scalar
# broadcast to it); elements with one offset are each applied, in no defined
# order. `offsets` may also be one int scalar (`atomic_add(Total, 0, s)`): one
# element, the old value a scalar. They return the old values (zero where
# `mask` is false); unused, they cost nothing more. `sem` orders this thread's other memory accesses
# around each atomic: "relaxed", "acquire", "release" or "acq_rel"; `scope` is
# whom it is atomic and ordered among: "cta", "gpu" or "sys" (constexpr strings).
@_builtin
def atomic_add(x, offsets, value, mask=None, sem="acq_rel", scope="gpu"):
    """x[offsets] += value, atomically; float32, float16, bfloat16, int32, int64."""


@_builtin
def atomic_max(x, offsets, value, mask=None, sem="acq_rel", scope="gpu"):
    """x[offsets] = maximum(x[offsets], value), atomically; int32, int64 (signed)
    and float32 (-0 < +0; no NaN)."""


@_builtin
def atomic_min(x, offsets, value, mask=None, sem="acq_rel", scope="gpu"):
    """x[offsets] = minimum(x[offsets], value), atomically; as `atomic_max`."""


@_builtin
def atomic_xchg(x, offsets, value, mask=None, sem="acq_rel", scope="gpu"):
    """x[offsets] = value, atomically, returning what was there; int32, int64, float32."""


@_builtin
def atomic_cas(x, offsets, cmp, value, mask=None, sem="acq_rel", scope="gpu"):
    """x[offsets] = value where x[offsets] == cmp (bit for bit), atomically; the
    old values (the swap happened where they equal `cmp`); int32, int64, float32."""


# -- making tiles ----------------------------------------------------------------
@_builtin
def zeros(shape, dtype=float32):
    """A tile of `shape` (constexprs) filled with 0."""


@_builtin
def full(shape, value, dtype=float32):
    """A tile of `shape` filled with `value`: a constant or a runtime scalar of `dtype`."""


@_builtin
def neg_inf(shape, dtype=float32):
    """A tile of `shape` filled with -inf (the start of a running max)."""


@_builtin
def arange(start, end=None):
    """The int32 tile 0, 1, ..., start - 1 (`arange(n)`), or start, ..., end - 1
    (`arange(start, end)`, as Triton's tl.arange); constexprs, the length a
    power of two."""


@_builtin
def zeros_like(x):
    """A tile of x's shape and dtype filled with 0."""


@_builtin
def full_like(x, value):
    """A tile of x's shape and dtype filled with `value` (a constant or a scalar)."""


@_builtin
def expand_dims(x, axis):
    """x with a new dim of size 1 at `axis` (a constexpr; -1 is last), as numpy: of a
    1-D tile the (1, N) row (axis 0: `x[None, :]`) or the (N, 1) column (axis 1 or
    -1: `x[:, None]`); of a 2-D tile axis 2 is `x[:, :, None]`."""


@_builtin
def reshape(x, shape):
    """x with dims of size 1 added or removed (`(BM, BK)` of a `(1, BM, BK)` tile
    loaded from a batched array, `(M, N, 1)` of an (M, N) one), any ranks."""


@_builtin
def squeeze(x, axis=None):
    """x without its dim `axis` of size 1 (axis None: every dim of size 1; a
    tile of one element becomes a scalar). `x.reshape(shape)` adds or removes
    dims of size 1 alike."""


# -- matrix multiply, reductions, layout --------------------------------------------
@_builtin
def mma(a, b, acc, transpose_a=False, transpose_b=False):
    """`acc + a @ b` on the tensor cores: a is M x K, b is K x N, acc M x N.

    `transpose_b=True` takes b as N x K (attention's Q @ K^T), `transpose_a=True`
    takes a as K x M; both are constexprs. a and b are bf16, f16 or fp8 (the
    same type); acc is f32 (convert the result for f16). The interpreter takes M, N, K
    multiples of 16; the GPU (WGMMA) needs more, and its compile says which rule a
    kernel breaks: M a multiple of 64 (64 rows a warpgroup), N at most 256; operands
    read from shared memory come in rows of 128 bytes, so with bf16/f16 K is a
    multiple of 64 (M too with transpose_a), and N as well when b is K x N (with
    transpose_b, K alone); fp8 takes a as M x K and b as N x K, K a multiple of 128."""


@_builtin
def max(x, axis=None, keep_dims=False):
    """The maximum of a tile along `axis` (a constexpr): a tile of one dimension
    less; with axis=None, or of a 1-D tile, the maximum of all its elements (a
    scalar). Of x's dtype (int8, int16 and int1 are compared as int32, f16 and
    bf16 as f32). A NaN among the elements gives NaN, as torch.max does.
    `keep_dims=True` (a constexpr; every reduction) keeps the reduced dim, of
    size 1 (all of them with axis=None), as Triton's keep_dims."""


@_builtin
def min(x, axis=None, keep_dims=False):
    """The minimum of a tile along `axis`, or of all its elements (a scalar), as
    `max` is computed."""


@_builtin
def sum(x, axis=None, keep_dims=False):
    """The sum of a tile along `axis` (a constexpr): a tile of one dimension less;
    with axis=None, or of a 1-D tile, the sum of all its elements (a scalar). As
    Triton's tl.sum, int8, int16 and int1 tiles sum to int32 (the sum of a
    comparison counts its trues); int32 and int64 sum in their own width (wrapping
    on overflow); f16 and bf16 tiles sum in f32, rounded back to their dtype."""


@_builtin
def argmax(x, axis=None, keep_dims=False):
    """The int32 index along `axis` of the first maximum of a tile (a tile of one
    dimension less); with axis=None, or of a 1-D tile, the row-major index of the
    first maximum of all its elements (a scalar). NaN counts as the greatest
    value, as in torch.argmax."""


@_builtin
def argmin(x, axis=None, keep_dims=False):
    """The int32 index of the first minimum, as `argmax`; NaN counts as the least
    value, as in torch.argmin."""


@_builtin
def topk(x, k, axis=-1):
    """The k greatest elements along `axis` and their indices: `values, indices =
    tile.topk(x, k)`, both of x's shape with that dim k long, greatest first;
    values of x's dtype, int32 indices. As torch.topk: equal values in the order
    of their indices, NaN the greatest value. `k` is a constexpr power of two
    (a tile dim) of at most the dim's size. Computed as k rounds of an argmax
    over the elements not yet taken (a few reductions a round), so meant for
    short rows and small k, as MoE routing's top-2 or top-8 of up to 1024
    experts; f16 and bf16 compare as f32, int8, int16 and int1 as int32."""


@_builtin
def sort(x, axis=-1, descending=False):
    """`values, indices = tile.sort(x)`: x sorted along `axis` (descending if the
    constexpr `descending`) and the int32 positions the values came from, as
    torch.sort(stable=True): equal values keep their order, NaN is the greatest
    (a NaN may come out with another sign or payload). A bitonic network in shared memory (a barrier a step), for rows of up to a few
    thousand; f16/bf16 compare as f32, int8/int16/int1 as int32."""


@_builtin
def gather(x, index, axis):
    """`out[i, j] = x[index[i, j], j]` (axis 0) or `x[i, index[i, j]]` (axis 1):
    elements of a tile picked along `axis`, as torch.gather and Triton's
    tl.gather. `index` is an int32 tile of x's sizes but along `axis`; the
    result has its shape. Through shared memory; an index outside x is an
    error in the interpreter, undefined on the GPU."""


@_builtin
def cumsum(x, axis=0):
    """The inclusive cumulative sum of a tile along `axis` (a constexpr), of x's
    shape. f32 and int32 as they are; f16 and bf16 computed in f32 and rounded
    back; int8, int16 and int1 give int32 (as `sum`); int64 stays int64."""


@_builtin
def cumprod(x, axis=0):
    """The inclusive cumulative product of a tile along `axis`, computed as `cumsum`."""


@_builtin
def transpose(x):
    """The transpose of a 2-D tile."""


# -- elementwise -----------------------------------------------------------------
# The math below takes float32, float16 and bfloat16; the last two compute in
# float32 and round the result back (as Triton). Integer operands of fma are
# promoted with the others, as for `+`. abs, maximum, minimum and clamp are
# exact, so they also take integers and compute in the operands' own dtype.
# On constants every function is folded by Python.
@_builtin
def exp(x):
    """e ** x, elementwise (floats)."""


@_builtin
def exp2(x):
    """2 ** x, elementwise (floats)."""


@_builtin
def log(x):
    """The natural logarithm, elementwise (floats)."""


@_builtin
def log2(x):
    """The base-2 logarithm, elementwise (floats)."""


@_builtin
def sqrt(x):
    """The square root, elementwise (floats)."""


@_builtin
def rsqrt(x):
    """1 / sqrt(x), elementwise (floats; rsqrt.approx, within 2 ulps)."""


@_builtin
def sigmoid(x):
    """1 / (1 + exp(-x)), elementwise (floats; with the fast division of `fdiv`)."""


@_builtin
def tanh(x):
    """The hyperbolic tangent, elementwise (floats; within 2 ulps)."""


@_builtin
def erf(x):
    """The error function, elementwise (floats; within 2 ulps)."""


@_builtin
def sin(x):
    """The sine of x radians, elementwise (floats; within 2 ulps at any x)."""


@_builtin
def cos(x):
    """The cosine of x radians, elementwise (floats; within 2 ulps at any x)."""


@_builtin
def floor(x):
    """The largest integer not above x, as a float, elementwise (floats)."""


@_builtin
def ceil(x):
    """The smallest integer not below x, as a float, elementwise (floats)."""


@_builtin
def trunc(x):
    """x rounded toward zero, as a float, elementwise (floats)."""


@_builtin
def round(x):
    """x rounded to the nearest integer, halves to even (torch.round), elementwise."""


@_builtin
def log1p(x):
    """log(1 + x), exact near x = 0, elementwise (floats; within 1 ulp)."""


@_builtin
def expm1(x):
    """exp(x) - 1, exact near x = 0, elementwise (floats; within 1 ulp)."""


@_builtin
def tan(x):
    """The tangent of x radians, elementwise (floats; within 4 ulps)."""


@_builtin
def atan2(y, x):
    """The angle of (x, y) in radians, in [-pi, pi], elementwise (floats; 3 ulps)."""


@_builtin
def pow(x, y):
    """x ** y, elementwise (floats; 4 ulps); NaN for x < 0 and y not an integer."""


@_builtin
def fma(a, b, c):
    """a * b + c rounded once, elementwise (floats; the three broadcast and promote
    as for `+`)."""


@_builtin
def umulhi(a, b):
    """The high 32 bits of the unsigned 64-bit product of int32s (tl.umulhi)."""


@_builtin
def abs(x):
    """|x|, elementwise (floats and integers; as on the GPU, |INT_MIN| is INT_MIN)."""


@_builtin
def clamp(x, lo, hi):
    """minimum(maximum(x, lo), hi), elementwise (floats and integers; the three
    broadcast and promote as for `+`). A NaN x stays NaN."""


@_builtin
def fdiv(x, y, ieee_rounding=False):
    """x / y, elementwise (floats; broadcast as for `+`), as Triton's tl.fdiv: the
    fast division (div.full.f32, within 2 ulp) unless `ieee_rounding` (a
    constexpr) asks for the correctly rounded one, which is what `/` always is."""


@_builtin
def maximum(a, b):
    """The elementwise maximum of two tiles or scalars, floats or integers
    (broadcast and promoted as for `+`); a NaN operand gives NaN."""


@_builtin
def minimum(a, b):
    """The elementwise minimum of two tiles or scalars, floats or integers
    (broadcast and promoted as for `+`); a NaN operand gives NaN."""


@_builtin
def where(condition, a, b):
    """`a` where `condition` (a boolean tile or scalar, from a comparison) holds,
    else `b`, elementwise; all three broadcast as for `+`."""


# -- compile-time checks -------------------------------------------------------------
@_builtin
def static_assert(condition, msg=""):
    """Checks a constexpr condition at compile time: where it is false, compiling
    the kernel fails with a CompilationError at this line carrying `msg`
    (`tile.static_assert(BLOCK % 16 == 0, "BLOCK must be a multiple of 16")`)."""


# -- debugging -------------------------------------------------------------------
# Both compile to nothing unless the kernel is compiled with debug (TILE_DEBUG=1,
# CompileOptions.debug); the interpreter always runs them. A runtime `assert cond, "msg"`
# in a kernel is tile.device_assert(cond, "msg").
@_builtin
def device_print(fmt, *values):
    """Prints `fmt` and each value (scalars and tiles) from the device, each line
    prefixed by the program id: a scalar once a program, a tile element by element
    with its index ("pid (0, 0, 0) idx (3) x: 1.500000"; "x (operand 1)" with several)."""


@_builtin
def device_assert(condition, msg=""):
    """Stops the kernel where `condition` (an int1 scalar or tile) is false
    somewhere: the launch fails with `msg` and the kernel's file:line."""


# -- loops -----------------------------------------------------------------------
@_builtin
def static_range(start, stop=None, step=1):
    """`for i in tile.static_range(4):` unrolled at compile time (Triton's
    tl.static_range): the body once per value of range(start, stop, step)
    (constexprs; at most 1024), `i` a constexpr in each copy."""


# -- integers --------------------------------------------------------------------
@_builtin
def multiple_of(x, n):
    """`x` (an int32 or int64 scalar) with the kernel's promise that it is a multiple
    of `n` (a constexpr power of two), as Triton's tl.multiple_of: accesses at
    offsets computed from it may then be as wide as that allows, and an mma
    operand's tile whose start column it makes a multiple of 16 bytes may be copied
    by TMA. For values the compiler cannot see through, such as a start loaded from
    memory or a scalar argument the launch cannot vouch for. The interpreter checks
    the promise; on the GPU a broken one gives wrong results or a fault."""


def cdiv(a, b):
    """Ceiling division of integers, ceil(a / b) (`(a + b - 1) // b` for b > 0, without
    its overflow). In a kernel it is folded when both are constants, else computed
    on int32 scalars; on the host (grid sizes) it is plain Python."""
    return -(-a // b)


cdiv.__tile_builtin__ = "cdiv"  # also usable outside kernels, unlike the others


# Functions a tile also has as methods (`x.sum(axis)` is `tile.sum(x, axis)`).
TILE_METHODS = ("sum", "max", "min", "argmax", "argmin", "topk", "sort", "cumsum", "cumprod",
                "exp", "exp2", "log", "log2", "log1p", "expm1", "sqrt", "rsqrt", "abs",
                "sigmoid", "tanh", "erf", "sin", "cos", "tan", "floor", "ceil", "trunc",
                "round", "gather", "reshape", "expand_dims", "squeeze")

# Sections kept in modules of their own, in the reference after these.
from .language_more import (barrier_all, notify, num_ranks, rand, randint,  # noqa: E402
                            randint4x, randn, rank, remote, wait)

# What `import tile` exports: the element types, constexpr and every language function.
__all__ = ["constexpr", "dtype", *DTYPES,
           *(name for name, value in globals().items() if hasattr(value, "__tile_builtin__"))]
