"""The tile language, continued: random numbers, signals between programs and
ranks of a world.

Part of `tile.language` (which imports these builtins, and exports them as its
own); kept apart to keep each file short. scripts/gen_language_ref.py documents
these sections after language.py's.
"""
from __future__ import annotations

from .language import _builtin


# -- random numbers --------------------------------------------------------------
# Counter-based and stateless, as Triton's tl.randint4x, tl.randint, tl.rand and
# tl.randn, which give the same numbers for the same arguments: element k is a
# function of (seed, offsets[k]) alone, so any program, and a later kernel, draws
# it again (dropout's backward rebuilds the forward's mask from the seed and the
# offsets; examples/dropout.py). `seed` is an integer scalar or constant, one for
# the whole tile; `offsets` an int32 or int64 tile (or scalar) of any shape,
# which the results have; `n_rounds` a constexpr. The GPU and the interpreter
# give the same bits (randn: within a few ulps, through log, sqrt and cos).
@_builtin
def randint4x(seed, offsets, n_rounds=10):
    """The four words of Philox4x32 (Salmon et al., "Parallel random numbers: as
    easy as 1, 2, 3", SC'11; Random123's philox4x32_R) as four int32 tiles:
    `r0, r1, r2, r3 = tile.randint4x(seed, offsets)`, four independent streams
    for the cost of one.

    Element k's counter is (c0, c1, c2, c3) = (low word of offsets[k], its high
    word (0 for int32 offsets), 0, 0) and the key (k0, k1) = (low word, high
    word) of the seed as a 64-bit integer: an int32 seed sign-extended, an int64
    one as it is, a constant any integer in [-2**63, 2**64). Each of `n_rounds`
    rounds (10 by default) makes the words (hi(B*c2) ^ c1 ^ k0, lo(B*c2),
    hi(A*c0) ^ c3 ^ k1, lo(A*c0)), then adds 0x9E3779B9 to k0 and 0xBB67AE85 to
    k1; A = 0xD2511F53, B = 0xCD9E8D57, lo and hi are the low and high 32 bits of
    the 64-bit unsigned product, and all else wraps modulo 2**32. The words are
    uint32 (Triton's dtype); tiles hold them as the int32 of the same bits.
    int8 and int16 offsets are sign-extended."""


@_builtin
def randint(seed, offsets, n_rounds=10):
    """The first word c0 of `randint4x`: a random int32 tile (the bits of
    Triton's uint32; compare or mask them, `%` and `>>` are signed here)."""


@_builtin
def rand(seed, offsets, n_rounds=10):
    """Uniform float32 in [0, 1) from the first word x of `randint4x`, as Triton's
    uint_to_uniform_float: x as an int32, -x - 1 where it is negative, converted
    to float32 (rounded to nearest) and multiplied by the float32 4.6566127342e-10
    (just below 2**-31, so that 2**31 - 1 gives less than 1). 0 is drawn; steps
    are 2**-31 near 0 and float32's spacing above 2**-7."""


@_builtin
def randn(seed, offsets, n_rounds=10):
    """Standard normal float32 by the Box-Muller transform of the first two words
    of `randint4x`, as Triton's tl.randn: with u1 = maximum(`rand`'s float of c0,
    1e-7) and u2 `rand`'s float of c1, sqrt(-2 * log(u1)) * cos(6.283185307179586
    * u2) in float32 (so |x| < 5.7). log, sqrt and cos are `tile.log`, `tile.sqrt`
    and `tile.cos`."""


# -- signals between programs ---------------------------------------------------
@_builtin
def notify(flags, index, value=1, rank=None, op="set", scope="gpu"):
    """Set `flags[index] = value` (int32 scalars; `flags` a contiguous 1-D int32
    array) once every write this program made before it is visible: a program
    whose `tile.wait` sees the value then sees those writes too (release and
    acquire; TMA stores included). `op="add"` adds `value` atomically instead
    (several notifiers count up one flag). `rank=peer` sets the flag in peer's
    copy of symmetric `flags` (`tile.remote`); `scope` is whom the writes are
    ordered for: "gpu" (programs of this GPU) or "sys" (every GPU: needed when
    the writes or the flag are another rank's)."""


@_builtin
def wait(flags, index, value=1, scope="gpu"):
    """Wait until `flags[index] == value` (set by another program's
    `tile.notify`; `scope="sys"` to see writes of other GPUs). The program
    waited for must run at the same time: launch a
    persistent grid (at most one program an SM), or a program may wait for one
    that cannot start. A wait that lasts 10 s stops the kernel (the launch
    fails) rather than hang; with TILE_DEBUG=1 it prints this line first."""


# -- ranks of a world (docs/distributed.md) ----------------------------------------
# A kernel launched on every rank of a world takes symmetric arrays: one copy on
# each rank, of one shape and dtype (tile.distributed). The world comes with them.
@_builtin
def rank():
    """This rank's number in the world, 0 .. num_ranks() - 1 (an int32 scalar)."""


@_builtin
def num_ranks():
    """The number of ranks in the world (a constant: kernels specialize on it)."""


@_builtin
def remote(array, peer):
    """Rank `peer`'s copy of the symmetric `array` (a constant or an int32
    scalar): the same shape and strides, read and written in peer's memory
    (NVLink peer access on the GPU). Loads, stores, gathers, scatters and
    atomics take it as any array; its view and 1-D loads and stores go
    element by element (ld.global/st.global, no TMA or multicast), and
    `tile.remote(X, tile.rank())` is X itself seen as a peer's."""


@_builtin
def barrier_all(flags, value):
    """Program p of every rank meets program p of every other rank: each sets
    its slot in every rank's copy of the symmetric int32 `flags` to `value`,
    then waits until the world's slots of program p in its own copy hold
    `value` (release/acquire at "sys" scope), so each sees what the others
    wrote before. `flags` has 2 * num_ranks() slots a program (two sets, taken
    by the value's parity; program p's start at 2 * num_ranks() * p). Give each
    barrier the value one more than the last (a launch counter, then + 1 for a
    second barrier in the kernel): the flags then need no reset."""
