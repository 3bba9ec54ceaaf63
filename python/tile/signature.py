"""Kernel signatures: how each argument is specialized, and the kernel
parameters it becomes. This is the one place for that rule: the frontend
declares these parameters in the IR, the runtime packs values for them.

An array argument `x` of rank r becomes the parameters
    x (pointer), x_size0 .. x_size{r-1} (i32), x_stride0 .. x_stride{r-1} (i32)
in elements, except that an innermost stride of 1 is specialized away (it is
the constant 1 in the kernel). An int becomes one i32, a float one f32, a
constexpr none. A symmetric array (one copy on each of `world` ranks,
docs/distributed.md) becomes an array's parameters, then
    x_rank (i32: the rank running the kernel), x_peer0 .. x_peer{world-1} (ptr)
the base of each rank's copy (x_peer{rank} is x), so that `tile.remote`
picks a peer's copy with no memory access; the world size is specialized.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import language as tl

INT32_RANGE = (-2**31, 2**31 - 1)
DIVISOR = 16  # ints, pointers (in bytes), sizes and strides specialize on it, as in Triton


def divisibility(value: int, cap: int = DIVISOR) -> int:
    """16 if `value` is a multiple of 16 (as Triton specializes), else 1."""
    return cap if value % cap == 0 else 1


@dataclass(frozen=True)
class ArgSpec:
    """The compile-time facts about one argument that a specialization fixes."""

    kind: str  # "constexpr" | "array" | "symmetric" | "int" | "float"
    dtype: tl.dtype | None = None
    divisibility: int = 1  # array: base address alignment in bytes; int: value
    rank: int = 0
    size_divisibility: tuple[int, ...] = ()
    stride_divisibility: tuple[int, ...] = ()
    unit_inner_stride: bool = True
    value: Any = field(default=None, compare=False)
    world: int = 0  # symmetric: the number of ranks holding a copy

    @property
    def is_array(self) -> bool:
        return self.kind in ("array", "symmetric")

    def key(self) -> tuple:
        """What distinguishes specializations (constexprs by value)."""
        value = repr(self.value) if self.kind == "constexpr" else None
        return (self.kind, self.dtype, self.divisibility, self.rank, self.size_divisibility,
                self.stride_divisibility, self.unit_inner_stride, value) + \
            ((self.world,) if self.kind == "symmetric" else ())


@dataclass(frozen=True)
class Param:
    """One kernel parameter made from an argument."""

    name: str
    type: str  # "ptr" | "i32" | "f32"
    source: str  # "value" | "pointer" | "size" | "stride" | "my_rank" | "peer"
    dim: int = -1
    divisibility: int = 1


def params_of(name: str, spec: ArgSpec) -> list[Param]:
    if spec.kind == "constexpr":
        return []
    if spec.kind == "int":
        return [Param(name, "i32", "value", divisibility=spec.divisibility)]
    if spec.kind == "float":
        return [Param(name, "f32", "value")]
    params = [Param(name, "ptr", "pointer", divisibility=spec.divisibility)]
    params += [Param(f"{name}_size{d}", "i32", "size", d, spec.size_divisibility[d])
               for d in range(spec.rank)]
    params += [Param(f"{name}_stride{d}", "i32", "stride", d, spec.stride_divisibility[d])
               for d in range(spec.rank) if not (d == spec.rank - 1 and spec.unit_inner_stride)]
    if spec.kind == "symmetric":
        params.append(Param(f"{name}_rank", "i32", "my_rank"))
        params += [Param(f"{name}_peer{k}", "ptr", "peer", k, spec.divisibility)
                   for k in range(spec.world)]
    return params


def symmetric_spec(array: ArgSpec, peers, world: int) -> ArgSpec:
    """A symmetric array's specialization from its local copy's (`array`) and the
    base pointers of every rank's copy: aligned as the least aligned of them."""
    from dataclasses import replace
    aligned = all(p % 16 == 0 for p in peers)
    return replace(array, kind="symmetric", world=world,
                   divisibility=array.divisibility if aligned else 1)


def stride_modulus(dtype: tl.dtype) -> int:
    """The elements in 16 bytes. TMA's rule for an outer stride is in bytes (a
    multiple of 16), so a bf16 row of 4104 elements qualifies though 4104 is no
    multiple of 16: a stride's specialization records this too."""
    return 16 // max(1, dtype.bits // 8)


def array_divisors(dtype: tl.dtype) -> tuple[int, int, int, int]:
    """What an array's key tests, in its bit order: the pointer (bytes), each size,
    each stride by DIVISOR elements and again by `stride_modulus` (16 bytes). Powers
    of two, so that the C reader tests them with a mask."""
    return DIVISOR, DIVISOR, DIVISOR, stride_modulus(dtype)


_ARRAY_DIVISORS = {d.mlir: array_divisors(d) for d in tl.DTYPES.values()}


def array_key(dtype: tl.dtype, pointer: int, shape, strides) -> tuple:
    """What `array_spec` specializes on, as a cheap hashable pair: the launch
    path computes this on every call and builds the `ArgSpec` only for a new
    key. The mask holds, after a leading 1 bit: pointer divisible, each size
    divisible, two bits a stride (by DIVISOR; by `stride_modulus`, i.e. 16 bytes),
    innermost stride 1 (`array_divisors`; runtime/abi.py describes the key)."""
    p, n, s, m = _ARRAY_DIVISORS[dtype.mlir]
    if len(strides) == 1:  # the loop below, unrolled for the most common rank
        (size,), (stride,) = shape, strides
        return dtype.mlir, (((((2 | (pointer % p == 0)) << 1 | (size % n == 0)) << 1
                              | (stride % s == 0)) << 1 | (stride % m == 0)) << 1
                            | (stride == 1))
    if not strides:
        raise ValueError("0-d arrays are not supported; pass a Python scalar")
    mask = 2 | (pointer % p == 0)
    for size in shape:
        mask = mask << 1 | (size % n == 0)
    for stride in strides:
        mask = (mask << 1 | (stride % s == 0)) << 1 | (stride % m == 0)
    return dtype.mlir, mask << 1 | (strides[-1] == 1)  # a str hashes faster than a dtype


def array_spec(dtype: tl.dtype, pointer: int, shape, strides) -> ArgSpec:
    """The specialization of a device array (`strides` in elements)."""
    return spec_of_array_key(array_key(dtype, pointer, shape, strides))


def spec_of_array_key(key: tuple) -> ArgSpec:
    dtype, mask = tl.BY_MLIR[key[0]], key[1]
    p, n, s, m = _ARRAY_DIVISORS[key[0]]
    rank = (mask.bit_length() - 3) // 3
    bits = [(mask >> i) & 1 for i in range(3 * rank + 1, -1, -1)]  # pointer first
    strides = bits[1 + rank:1 + 3 * rank]
    return ArgSpec("array", dtype, p if bits[0] else 1, rank,
                   tuple(n if b else 1 for b in bits[1:1 + rank]),
                   tuple(s if whole else m if in_bytes else 1
                         for whole, in_bytes in zip(strides[::2], strides[1::2])),
                   bool(bits[-1]))


def satisfies(actual: ArgSpec, required: ArgSpec) -> bool:
    """Whether a kernel compiled for `required` may run on an argument whose
    specialization is `actual`: same kind, dtype and rank, and every
    divisibility or unit stride the kernel assumes holds."""
    if (actual.kind, actual.dtype, actual.rank, actual.world) != \
            (required.kind, required.dtype, required.rank, required.world):
        return False
    holds = lambda have, need: need == 1 or have % need == 0  # noqa: E731
    # A unit inner stride is the constant 1 in the kernel: its divisibility is moot.
    strides = required.rank - 1 if required.unit_inner_stride else required.rank
    return (holds(actual.divisibility, required.divisibility)
            and all(map(holds, actual.size_divisibility, required.size_divisibility))
            and all(map(holds, actual.stride_divisibility[:strides],
                        required.stride_divisibility[:strides]))
            and (actual.unit_inner_stride or not required.unit_inner_stride))


_TYPE = re.compile(r"^(?P<ptr>\*)?(?P<dtype>[A-Za-z0-9]+)(?:\[(?P<rank>\d+)\])?(?::(?P<div>\d+))?"
                   r"(?:@(?P<world>\d+))?$")


def parse_type_string(text: str, name: str) -> ArgSpec:
    """An `ArgSpec` from a type string, to compile with no arrays at hand:
    `"*f32:16"` (1-D array of f32, 16-byte aligned, sizes and strides multiples
    of 16), `"*bf16[2]:16"` (2-D), `"*f32"` (nothing known), `"i32"`, `"i32:16"`,
    `"f32"`."""
    m = _TYPE.match(text.strip())
    # The IR's names (bf16, f8E4M3FN) or tile's (bfloat16, float8e4m3).
    dtype = (tl.BY_MLIR.get(m["dtype"]) or tl.DTYPES.get(m["dtype"])) if m else None
    div = int(m["div"]) if m and m["div"] else 1
    if dtype is None or div not in (1, 16):
        raise ValueError(f"argument '{name}': bad type string {text!r}; use e.g. '*f32:16', "
                         "'*bf16[2]:16' (2-D), '*f8E4M3FN[2]:16' (or '*float8e4m3[2]:16'), "
                         "'*f32:16@4' (symmetric over 4 ranks), 'i32', 'i32:16', 'f32'")
    if m["world"] and (not m["ptr"] or int(m["world"]) < 1):
        raise ValueError(f"argument '{name}': '@ranks' is for symmetric arrays ('*f32:16@4'), "
                         f"got {text!r}")
    if m["ptr"]:
        rank = int(m["rank"] or 1)
        if m["world"]:
            return ArgSpec("symmetric", dtype, div, rank, (div,) * rank, (div,) * rank, True,
                           world=int(m["world"]))
        return ArgSpec("array", dtype, div, rank, (div,) * rank, (div,) * rank, True)
    if m["rank"]:
        raise ValueError(f"argument '{name}': a rank needs a pointer type ('*{m['dtype']}[..]')")
    if dtype == tl.int32:
        return ArgSpec("int", dtype, div)
    if dtype == tl.float32 and div == 1:
        return ArgSpec("float", dtype)
    raise ValueError(f"argument '{name}': scalar parameters are i32 or f32, got {text!r}")
