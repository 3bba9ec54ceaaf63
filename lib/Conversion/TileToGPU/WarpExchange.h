// Threads exchanging values through the kernel's shared-memory scratch:
// reductions and scans (ReduceToGPU.cpp) meet there across warps, sorts and
// takes (SortToGPU.cpp) rearrange whole tiles there.
#ifndef TILE_CONVERSION_TILETOGPU_WARPEXCHANGE_H
#define TILE_CONVERSION_TILETOGPU_WARPEXCHANGE_H

#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"

namespace mlir::tile {

/// A partial result: the value and, for argmax/argmin, its i32 index.
struct Partial {
  Value value, index;
};

/// Whether `y` comes before `x` in argmax's order (`isMax`) or argmin's: a
/// better value, or as good at a smaller index; NaN beats every number
/// (torch's rule for argmax and argmin; `nanBest` false: loses to every
/// number, as an ascending sort puts it last) and ties with NaN. With
/// distinct indices the order is total.
Value prefers(OpBuilder &b, Location loc, bool isMax, Partial x, Partial y,
              bool nanBest = true);

/// An i64 coordinate as an i32 index.
Value index32(OpBuilder &b, Location loc, Value coord);

/// Partial results of warps meet in shared memory: `slots` values (then as
/// many indices for argmax/argmin) per warp position.
struct WarpExchange {
  Value scratch;
  Type elt;
  int64_t slots;

  Value address(OpBuilder &b, Location loc, Value slot, bool index) const {
    Type type = index ? b.getI32Type() : elt;
    Value base = scratch;
    if (index) // the indices follow the values, 4-byte aligned
      base = LLVM::GEPOp::create(b, loc, scratch.getType(), b.getI8Type(), scratch,
                                 ArrayRef<LLVM::GEPArg>{int32_t(llvm::alignTo(
                                     slots * elt.getIntOrFloatBitWidth() / 8, 4))});
    return LLVM::GEPOp::create(b, loc, scratch.getType(), type, base, ValueRange{slot});
  }
  void store(OpBuilder &b, Location loc, Partial p, Value slot) const {
    LLVM::StoreOp::create(b, loc, p.value, address(b, loc, slot, false));
    if (p.index)
      LLVM::StoreOp::create(b, loc, p.index, address(b, loc, slot, true));
  }
  Partial load(OpBuilder &b, Location loc, Value slot, bool withIndex) const {
    Partial p{LLVM::LoadOp::create(b, loc, elt, address(b, loc, slot, false)), Value()};
    if (withIndex)
      p.index = LLVM::LoadOp::create(b, loc, b.getI32Type(), address(b, loc, slot, true));
    return p;
  }
};

/// A WarpExchange of `slots` values (and i32 indices) in the scratch, which
/// grows to hold them.
WarpExchange warpExchange(OpBuilder &b, Location loc, LoweringState &state, Type elt,
                          int64_t slots, bool withIndex);

/// Writes a tile to the scratch, each element by its first holder:
/// `write(builder, location, reg)` for every register, after a barrier (the
/// scratch's earlier users are done) and before one (every element is there).
void writeOwned(OpBuilder &b, Location loc, const ThreadLayout &layout, Value tid,
                function_ref<void(OpBuilder &, Location, int64_t)> write);

} // namespace mlir::tile

#endif
