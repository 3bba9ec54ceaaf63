"""tile.put and tile.get: copies of whole contiguous ranges between this rank and a
peer, written in the tile language itself (a kernel that calls one has it inlined).
They are what Triton-distributed's putmem_block / getmem_block do with NVSHMEM,
here as loads and stores through `tile.remote` (NVLink peer access on the GPU)."""
from . import language as tl
from .runtime import jit


@jit
def put(dst, src, n, peer, dst_offset=0, src_offset=0, BLOCK: tl.constexpr = 1024):
    """Copies src[src_offset : src_offset + n] (this rank's 1-D array) into rank
    `peer`'s copy of the symmetric 1-D `dst`, from dst_offset on, BLOCK elements at
    a time, by the calling program alone (split a large range over programs).
    Nothing orders it for the peer: follow with `tile.notify(flags, i, 1, rank=peer,
    scope="sys")`, which releases the copy to the peer's `tile.wait`."""
    for start in range(0, n, BLOCK):
        tl.store(tl.remote(dst, peer), dst_offset + start,
                 tl.load(src, src_offset + start, BLOCK, bound=src_offset + n),
                 bound=dst_offset + n)


@jit
def get(dst, src, n, peer, dst_offset=0, src_offset=0, BLOCK: tl.constexpr = 1024):
    """Copies rank `peer`'s src[src_offset : src_offset + n] (src symmetric, 1-D)
    into this rank's 1-D dst from dst_offset on, BLOCK elements at a time, by the
    calling program alone. The peer must have made the range ready first (its
    writes, then a `tile.notify` this program `tile.wait`s for)."""
    for start in range(0, n, BLOCK):
        tl.store(dst, dst_offset + start,
                 tl.load(tl.remote(src, peer), src_offset + start, BLOCK,
                         bound=src_offset + n),
                 bound=dst_offset + n)
