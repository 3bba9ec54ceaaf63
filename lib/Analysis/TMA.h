#ifndef TILE_ANALYSIS_TMA_H
#define TILE_ANALYSIS_TMA_H

#include "mlir/IR/Value.h"
#include "mlir/IR/ValueRange.h"

#include <string>

namespace mlir::tile {
/// Whether a TMA copy can move a box at `offsets` of the global view `view` (a
/// `!tile.view`): made by `tile.make_view` from a kernel's array argument, a
/// base address known to be 16-byte aligned, outer strides known to be
/// multiples of 16 bytes (the runtime's specialization says so), the constant
/// 1 as innermost stride, and an innermost offset known to be a multiple of 16
/// bytes (the H100 stops with an illegal instruction on a box that starts
/// between). Otherwise false, with the reason in `why`. One rule for TMA loads
/// (tile-pipeline, tile-warp-specialize) and stores (tile-tma-store).
bool tmaCanAddress(Value view, ValueRange offsets, std::string *why = nullptr);
} // namespace mlir::tile

#endif
