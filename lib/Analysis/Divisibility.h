#ifndef TILE_ANALYSIS_DIVISIBILITY_H
#define TILE_ANALYSIS_DIVISIBILITY_H

#include "mlir/IR/Value.h"

namespace mlir::tile {
/// The largest power of two (capped at kMaxDivisibility) known to divide the
/// integer `value`, or, for a `!tile.ptr` / `!llvm.ptr`, its address in bytes.
/// Facts come from constants, arithmetic, `tile.divisibility` argument
/// attributes that the runtime's specialization guarantees, and the kernel's
/// own promises (`tile.assume_multiple`, tile.multiple_of).
int64_t getDivisibility(Value value);

constexpr int64_t kMaxDivisibility = 1 << 16;
} // namespace mlir::tile

#endif
