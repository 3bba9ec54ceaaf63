"""Tiles of lower rank than the array they are loaded from or stored to:
`tile.load(X, (r, 0), (BN,))` on a 2-D array is row r as a 1-D tile, and
`tile.store(Y, (r, 0), v)` writes a 1-D v to row r. The leading offsets select;
the tile's dims are the array's trailing ones. Indexing an array with leading
integers, `Q[b, h]` of a (B, H, N, D) array, is such a selection too: the (N, D)
array that load and store take (`Selected`). The elements go through a gather
or a scatter of element offsets (any strides), masked by the array's sizes as a
view load or store is: zeros read outside, nothing written there.

A mixin of the one visitor (`CodeGenerator`).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from .ir import ScalarType, TileType, Value
from .semantics import ArrayArg, describe


@dataclass(frozen=True)
class Selected(ArrayArg):
    """`base[i, ...]`: the array of `base`'s trailing dims at the leading `index`."""

    base: ArrayArg | None = None
    index: tuple = ()

    def __str__(self) -> str:
        return f"the {self.rank}-D array '{self.name}[{', '.join('_' for _ in self.index)}]' of " \
            f"{self.dtype.name}"


class Views:
    def select_array(self, node, array: ArrayArg, index) -> Selected:
        """`array[i, j]`: leading integer indices (constexprs or int32 scalars)."""
        parts = list(index) if isinstance(index, tuple) else [index]
        base, lead = (array.base, list(array.index)) if isinstance(array, Selected) \
            else (array, [])
        if len(parts) >= array.rank:
            raise self.error(node, f"{describe(array)} takes at most {array.rank - 1} leading "
                             f"indices (the rest are the tile's dims), got {len(parts)}")
        for d, i in enumerate(parts):
            if isinstance(i, bool) or not (isinstance(i, int) or isinstance(i, Value) and
                                           isinstance(i.type, ScalarType) and
                                           not i.type.dtype.is_float and i.type.dtype.bits > 1):
                raise self.error(node, f"index {d} of {describe(array)} must be an integer "
                                 f"(a constexpr or an int32 scalar), got {describe(i)}; a "
                                 "tile of offsets is a gather: tile.load(x, offsets)")
        k = len(parts)
        return Selected(array.name, array.pointer, array.sizes[k:], array.strides[k:],
                        array.loc, base, tuple(lead + parts))

    def unselect(self, node, array, offset, what: str):
        """(the array, the view offsets) of a load or store from a `Selected` array."""
        if not isinstance(array, Selected):
            return array, offset
        if isinstance(offset, Value) and isinstance(offset.type, TileType):
            self.array(node, array, f"{what}'s first argument")  # its error: no gathers
        offset = tuple(offset) if isinstance(offset, (tuple, list)) else (offset,)
        return array.base, array.index + offset

    def selected_load(self, node, array: ArrayArg, offset, shape, multicast, mask, other):
        if multicast is not False:
            raise self.error(node, "load: multicast loads a tile of the view's rank")
        array, offsets, inside = self.box_offsets(node, array, offset, shape, "load")
        keep = self.both(node, self.mask(node, mask, shape, "load"), inside)
        return self.gather(node, array, offsets, None, None, False, keep, other)

    def selected_store(self, node, array: ArrayArg, offset, value: Value, mask):
        if value.type.dtype != array.dtype:
            raise self.error(node, f"store of a {value.type} to {describe(array)}: element "
                             "types differ (convert with .to(dtype) first)")
        array, offsets, inside = self.box_offsets(node, array, offset, value.type.shape,
                                                  "store")
        return self.scatter(node, array, offsets, value, mask, inside)
