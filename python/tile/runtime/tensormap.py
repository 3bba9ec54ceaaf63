"""TMA descriptors (CUtensorMap) for kernel arguments, encoded at launch.

The compiler says what each descriptor describes in `metadata["tma"]`:
    {"param": index of the 128-byte kernel parameter that receives it,
     "arg": the array argument, "dtype": MLIR element type,
     "box": box extents (outermost dim first, in elements),
     "swizzle": 0 | 32 | 64 | 128, "oob_fill": "zero"}
A descriptor serves TMA loads and stores alike (out-of-bounds box elements
read zero and are not written). `tiled_encoding` turns that and an array into
the arguments of cuTensorMapEncodeTiled, checking the hardware's rules first
so a bad array gets an error naming it, not CUDA_ERROR_INVALID_VALUE;
`encode` calls the driver, and `descriptor` caches the 128 bytes by the
spec's `encoding` and then the array's raw values (runtime/abi.py).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

TENSOR_MAP_BYTES = 128
TENSOR_MAP_ALIGN = 64
MAX_RANK = 5
MAX_BOX = 256
MAX_DIM = 2**32
MAX_STRIDE_BYTES = 2**40
# MLIR element type -> (CUtensorMapDataType suffix, element bytes). TMA moves
# bytes: float8 travels as UINT8.
DATA_TYPES = {"f32": ("FLOAT32", 4), "f16": ("FLOAT16", 2), "bf16": ("BFLOAT16", 2),
              "f8E4M3FN": ("UINT8", 1), "f8E5M2": ("UINT8", 1), "i32": ("INT32", 4),
              "i16": ("UINT16", 2), "i8": ("UINT8", 1)}
SWIZZLES = {0: "NONE", 32: "32B", 64: "64B", 128: "128B"}
L2_PROMOTION = "L2_256B"


class TensorMapError(ValueError):
    """An array a TMA descriptor cannot describe, or a bad descriptor spec."""


@dataclass(frozen=True)
class TensorMapSpec:
    """One entry of `metadata["tma"]`, checked."""

    param: int
    arg: str
    dtype: str
    box: tuple[int, ...]
    swizzle: int
    oob_fill: str = "zero"

    @staticmethod
    def from_metadata(entry: dict) -> "TensorMapSpec":
        try:
            spec = TensorMapSpec(int(entry["param"]), str(entry["arg"]), str(entry["dtype"]),
                                 tuple(int(b) for b in entry["box"]), int(entry["swizzle"]),
                                 str(entry.get("oob_fill", "zero")))
        except (KeyError, TypeError, ValueError) as e:
            raise TensorMapError(f"malformed TMA metadata {entry!r}: {e}") from None
        where = f"TMA descriptor for '{spec.arg}'"
        if spec.dtype not in DATA_TYPES:
            raise TensorMapError(f"{where}: element type {spec.dtype} is not supported "
                                 f"(supported: {', '.join(DATA_TYPES)})")
        if spec.swizzle not in SWIZZLES:
            raise TensorMapError(f"{where}: swizzle {spec.swizzle} is not 0, 32, 64 or 128")
        if spec.oob_fill != "zero":
            raise TensorMapError(f"{where}: oob_fill {spec.oob_fill!r} is not supported ('zero')")
        if not 1 <= len(spec.box) <= MAX_RANK:
            raise TensorMapError(f"{where}: a box of rank {len(spec.box)}; TMA takes 1 to "
                                 f"{MAX_RANK} dimensions")
        if any(not 1 <= b <= MAX_BOX for b in spec.box):
            raise TensorMapError(f"{where}: box {list(spec.box)} has an extent outside "
                                 f"1..{MAX_BOX}")
        elem = DATA_TYPES[spec.dtype][1]
        inner_bytes = spec.box[-1] * elem
        if inner_bytes % 16:
            raise TensorMapError(f"{where}: the inner box extent {spec.box[-1]} is "
                                 f"{inner_bytes} bytes, not a multiple of 16")
        if spec.swizzle and inner_bytes > spec.swizzle:
            raise TensorMapError(f"{where}: the inner box extent is {inner_bytes} bytes, more "
                                 f"than the {spec.swizzle}-byte swizzle span")
        return spec

    @property
    def encoding(self) -> tuple:
        """What a descriptor depends on besides the array."""
        return self.box, self.swizzle, self.dtype


@dataclass(frozen=True)
class TiledEncoding:
    """The arguments of cuTensorMapEncodeTiled, innermost dimension first."""

    data_type: str  # CU_TENSOR_MAP_DATA_TYPE_<data_type>
    rank: int
    address: int
    global_dim: tuple[int, ...]
    global_strides: tuple[int, ...]  # bytes, dims 1..rank-1
    box_dim: tuple[int, ...]
    element_strides: tuple[int, ...]
    swizzle: str  # CU_TENSOR_MAP_SWIZZLE_<swizzle>
    l2_promotion: str = L2_PROMOTION
    oob_fill: str = "NONE"  # NONE fills out-of-bound elements with zeros


def tiled_encoding(spec: TensorMapSpec, pointer: int, shape, strides) -> TiledEncoding:
    """Checks an array (`strides` in elements, outermost first) against the TMA
    rules and returns the encoding; raises TensorMapError naming the argument."""
    where = f"argument '{spec.arg}' (TMA descriptor)"
    rank = len(shape)
    elem = DATA_TYPES[spec.dtype][1]
    if rank != len(spec.box):
        raise TensorMapError(f"{where}: the array has rank {rank}, the kernel's box "
                             f"{list(spec.box)} rank {len(spec.box)}")
    if pointer % 16:
        raise TensorMapError(f"{where}: base address {pointer:#x} is not 16-byte aligned "
                             "(TMA needs 16; slice views at multiples of 16 bytes)")
    if any(extent <= 0 for extent in shape):
        raise TensorMapError(f"{where}: shape {tuple(shape)} has an empty dimension")
    if any(extent > MAX_DIM for extent in shape):
        raise TensorMapError(f"{where}: shape {tuple(shape)} has a dimension over 2^32")
    if strides[-1] != 1:
        raise TensorMapError(f"{where}: the innermost stride is {strides[-1]}, TMA needs a "
                             "contiguous innermost dimension (stride 1); call .contiguous()")
    byte_strides = [s * elem for s in strides[:-1]]
    for dim, stride in enumerate(byte_strides):
        if stride <= 0 or stride % 16 or stride >= MAX_STRIDE_BYTES:
            raise TensorMapError(
                f"{where}: the stride of dimension {dim} is {strides[dim]} elements = "
                f"{stride} bytes; TMA needs a positive multiple of 16 bytes below 2^40 (pad "
                f"the inner dimension to a multiple of {16 // elem} elements)")
    return TiledEncoding(DATA_TYPES[spec.dtype][0], rank, pointer, tuple(reversed(shape)),
                         tuple(reversed(byte_strides)), tuple(reversed(spec.box)), (1,) * rank,
                         SWIZZLES[spec.swizzle])


def encode_arguments(enc: TiledEncoding) -> tuple:
    """The cuda-python arguments of cuTensorMapEncodeTiled (its arrays take
    cuuint64_t / cuuint32_t objects, not ints)."""
    from .driver import _cu
    cu = _cu()
    u64, u32 = cu.cuuint64_t, cu.cuuint32_t
    return (getattr(cu.CUtensorMapDataType, f"CU_TENSOR_MAP_DATA_TYPE_{enc.data_type}"),
            enc.rank, enc.address, [u64(d) for d in enc.global_dim],
            [u64(s) for s in enc.global_strides], [u32(b) for b in enc.box_dim],
            [u32(e) for e in enc.element_strides],
            cu.CUtensorMapInterleave.CU_TENSOR_MAP_INTERLEAVE_NONE,
            getattr(cu.CUtensorMapSwizzle, f"CU_TENSOR_MAP_SWIZZLE_{enc.swizzle}"),
            getattr(cu.CUtensorMapL2promotion, f"CU_TENSOR_MAP_L2_PROMOTION_{enc.l2_promotion}"),
            getattr(cu.CUtensorMapFloatOOBfill, f"CU_TENSOR_MAP_FLOAT_OOB_FILL_{enc.oob_fill}"))


def encode(enc: TiledEncoding) -> bytes:
    """The 128-byte CUtensorMap for an encoding, from the driver."""
    from .driver import _cu, check
    tensor_map = check(_cu().cuTensorMapEncodeTiled(*encode_arguments(enc)))
    return ctypes.string_at(tensor_map.getPtr(), TENSOR_MAP_BYTES)


class DescriptorCache:
    """Encoded descriptors: per spec `encoding`, a dict by the array's raw values
    (pointer, *shape, *strides), which the C launch path reads (`table`). The
    oldest entries go first beyond `capacity` in all."""

    def __init__(self, capacity: int = 4096, encoder=encode):
        self.capacity, self.encoder = capacity, encoder
        self._tables: dict[tuple, dict[tuple, bytes]] = {}
        self._order: dict[tuple, None] = {}  # (encoding, array's raw values), oldest first

    def table(self, spec: TensorMapSpec) -> dict:
        """The descriptors of `spec`'s encoding, by the array's raw values."""
        return self._tables.setdefault(spec.encoding, {})

    def descriptor(self, spec: TensorMapSpec, array_raw: tuple) -> bytes:
        """`array_raw`: the array's raw values, (pointer, *shape, *strides)."""
        table = self.table(spec)
        found = table.get(array_raw)
        if found is None:
            rank = (len(array_raw) - 1) // 2
            found = self.encoder(tiled_encoding(spec, array_raw[0], array_raw[1:1 + rank],
                                                array_raw[1 + rank:]))
            if len(found) != TENSOR_MAP_BYTES:
                raise TensorMapError(f"encoder returned {len(found)} bytes, not 128")
            if len(self._order) >= self.capacity:
                encoding, oldest = next(iter(self._order))
                del self._order[encoding, oldest], self._tables[encoding][oldest]
            table[array_raw] = found
            self._order[spec.encoding, array_raw] = None
        return found

    def __len__(self) -> int:
        return len(self._order)


DESCRIPTORS = DescriptorCache()
