"""Random numbers in kernels (`tile.randint4x`, `randint`, `rand`, `randn`):
counter-based Philox4x32 as Triton's tl.randint4x / tl.rand / tl.randn compute
it, so that a kernel ported from Triton draws the same numbers.

The generator is built here from integer ops the lowering and the interpreter
already run bit for bit (`arith.xori`, `muli`, `addi`, and `extui`, `muli` on
i64, `shrui`, `trunci` for the high word of a product, which LLVM turns into
`mul.hi.u32`), so this file is the one place that defines it. Tiles hold int32:
the uint32 words of Philox are held as the int32 with the same bits.

A mixin of the one visitor (`CodeGenerator`).
"""
from __future__ import annotations

import ast

from mlir.dialects import arith

from .. import language as tl
from .ir import ScalarType, TileType, Value
from .semantics import Expanded, describe

# Random123's Philox4x32 constants (Salmon et al., SC'11), as Triton's philox_impl.
ROUND_A, ROUND_B = 0xD2511F53, 0xCD9E8D57  # the multipliers
KEY_A, KEY_B = 0x9E3779B9, 0xBB67AE85      # the key's increment after each round
DEFAULT_ROUNDS = 10
# Triton's uint_to_uniform_float: the largest f32 with (2**31 - 1) * scale < 1.
UNIFORM_SCALE = 4.6566127342e-10
OFFSET_DTYPES = (tl.int32, tl.int64)


def word(x: int) -> int:
    """A 32-bit word as the int32 of the same bits."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


class Random:
    # -- the builtins ------------------------------------------------------------------
    def builtin_randint4x(self, node, seed, offsets, n_rounds=DEFAULT_ROUNDS):
        return self.philox(node, seed, offsets, n_rounds, "randint4x")

    def builtin_randint(self, node, seed, offsets, n_rounds=DEFAULT_ROUNDS):
        return self.philox(node, seed, offsets, n_rounds, "randint")[0]

    def builtin_rand(self, node, seed, offsets, n_rounds=DEFAULT_ROUNDS):
        return self.uniform(node, self.philox(node, seed, offsets, n_rounds, "rand")[0])

    def builtin_randn(self, node, seed, offsets, n_rounds=DEFAULT_ROUNDS):
        # Box-Muller on the first two words, as Triton's pair_uniform_to_normal.
        c0, c1, _, _ = self.philox(node, seed, offsets, n_rounds, "randn")
        u1 = self.elementwise(node, "maximum", self.uniform(node, c0), 1.0e-7)
        theta = self.binary(node, ast.Mult(), 6.283185307179586, self.uniform(node, c1))
        radius = self.elementwise(node, "sqrt", self.binary(
            node, ast.Mult(), -2.0, self.elementwise(node, "log", u1)))
        return self.binary(node, ast.Mult(), radius, self.elementwise(node, "cos", theta))

    # -- Philox ----------------------------------------------------------------------------
    def philox(self, node, seed, offsets, n_rounds, what: str) -> tuple:
        """The four int32 words of Philox4x32-`n_rounds` of the counter (low word of
        offsets, high word (0 for int32), 0, 0) under the key (low word of the seed,
        high word), each of the offsets' shape."""
        rounds = self.constexpr_int(node, n_rounds, f"{what}'s n_rounds")
        if rounds < 0:
            raise self.error(node, f"{what}'s n_rounds must be >= 0, got {rounds}")
        if isinstance(offsets, Expanded):  # a row or column: computed on its 1-D tile
            words = self.philox(node, seed, offsets.value, rounds, what)
            return tuple(self.expand(node, w, offsets.dim) for w in words)
        k0, k1 = self.key(node, seed, what)
        c0, c1 = self.counter(node, offsets, what)
        c2 = c3 = 0
        for _ in range(rounds):
            c0, c1, c2, c3 = (self.xor(node, self.xor(node, self.mulhi(node, ROUND_B, c2), c1), k0),
                              self.mul(node, ROUND_B, c2),
                              self.xor(node, self.xor(node, self.mulhi(node, ROUND_A, c0), c3), k1),
                              self.mul(node, ROUND_A, c0))
            k0, k1 = self.add(node, k0, KEY_A), self.add(node, k1, KEY_B)
        # words no round has mixed the offsets into yet (n_rounds < 3) are still
        # numbers or scalars
        return tuple(self.coerce(node, c, offsets.type.shape if isinstance(offsets.type, TileType)
                                 else None, tl.int32, what) for c in (c0, c1, c2, c3))

    def counter(self, node, offsets, what: str) -> tuple:
        """(low word, high word) of the offsets; the high word of int32 offsets is 0."""
        if not isinstance(offsets, Value) or not isinstance(offsets.type, (TileType, ScalarType)) \
                or offsets.type.dtype.is_float or offsets.type.dtype == tl.int1:
            raise self.error(node, f"{what}'s offsets must be an int32 or int64 tile or scalar "
                             f"(tile.arange(...) + start), got {describe(offsets)}")
        if offsets.type.dtype not in OFFSET_DTYPES:  # int8, int16: sign-extended, as Triton
            offsets = self.cast(node, offsets, tl.int32)
        return self.words(node, offsets) if offsets.type.dtype == tl.int64 else (offsets, 0)

    def key(self, node, seed, what: str) -> tuple:
        """(low word, high word) of the seed as a 64-bit integer: numbers within
        [-2**63, 2**64) as they are, int32 scalars sign-extended."""
        if isinstance(seed, int) and not isinstance(seed, bool):
            if not -2**63 <= seed < 2**64:
                raise self.error(node, f"{what}'s seed {seed} does not fit in 64 bits")
            return word(seed), word(seed >> 32)
        if not isinstance(seed, Value) or not isinstance(seed.type, ScalarType) or \
                seed.type.dtype.is_float or seed.type.dtype == tl.int1:
            raise self.error(node, f"{what}'s seed must be an integer scalar or constant "
                             f"(one seed for the whole tile; offsets make the numbers differ), "
                             f"got {describe(seed)}")
        if seed.type.dtype != tl.int64:
            seed = self.cast(node, seed, tl.int32)
        return self.words(node, seed)

    def words(self, node, x: Value) -> tuple:
        """(low word, high word) of an int32 (sign-extended) or int64 value."""
        if x.type.dtype == tl.int32:
            return x, self.integer_op(node, arith.shrsi, x, 31)
        low = self.with_dtype(x.type, tl.int32)
        high = self.integer_op(node, arith.shrui, x, 32)
        return (self.emit(node, low, arith.trunci, self.builder.type(low), x.ir),
                self.emit(node, low, arith.trunci, self.builder.type(low), high.ir))

    def uniform(self, node, x: Value) -> Value:
        """A float32 in [0, 1) from the int32 x, as Triton's uint_to_uniform_float:
        x if x >= 0 else -x - 1 (that is, ~x), converted to f32, times UNIFORM_SCALE."""
        flipped = self.select(node, self.compare(node, ast.Lt(), x, 0),
                              self.binary(node, ast.BitXor(), x, -1), x)
        f = self.cast(node, flipped, tl.float32)
        scale = self.constant(node, UNIFORM_SCALE, f.type)
        return self.emit(node, f.type, arith.mulf, f.ir, scale.ir,
                         results=[self.builder.type(f.type)])

    # -- 32-bit words: numbers fold, values become ops -------------------------------
    def xor(self, node, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return word(a ^ b)
        if isinstance(a, int) and a == 0 or isinstance(b, int) and b == 0:
            return b if isinstance(a, int) and a == 0 else a
        return self.binary(node, ast.BitXor(), a, b)

    def add(self, node, a, b: int):
        return word(a + b) if isinstance(a, int) else self.binary(node, ast.Add(), a, word(b))

    def mul(self, node, a: int, b):
        return word(a * b) if isinstance(b, int) else self.binary(node, ast.Mult(), b, word(a))

    def mulhi(self, node, a: int, b):
        """The high word of the unsigned 64-bit product of the words a and b."""
        if isinstance(b, int):
            return word((a * (b & 0xFFFFFFFF)) >> 32)
        wide = self.with_dtype(b.type, tl.int64)
        b64 = self.emit(node, wide, arith.extui, self.builder.type(wide), b.ir)
        product = self.binary(node, ast.Mult(), b64, a)  # a < 2**32 fits in int64
        high = self.integer_op(node, arith.shrui, product, 32)
        return self.emit(node, b.type, arith.trunci, self.builder.type(b.type), high.ir)

    def integer_op(self, node, build, x: Value, amount: int) -> Value:
        """`build(x, amount)` (a shift) with the number as a constant of x's type."""
        c = self.constant(node, amount, x.type)
        return self.emit(node, x.type, build, x.ir, c.ir, results=[self.builder.type(x.type)])
