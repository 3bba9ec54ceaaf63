#ifndef TILE_ANALYSIS_TMA_H
#define TILE_ANALYSIS_TMA_H

#include "mlir/IR/Value.h"

#include <string>

namespace mlir::tile {
/// Whether a TMA descriptor can address the global view `view` (a
/// `!tile.view`): made by `tile.make_view` from a kernel's array argument, a
/// base address known to be 16-byte aligned, outer strides known to be
/// multiples of 16 bytes (the runtime's specialization says so) and the
/// constant 1 as innermost stride. Otherwise false, with the reason in `why`.
/// One rule for TMA loads (tile-pipeline) and stores (tile-tma-store).
bool tmaCanAddress(Value view, std::string *why = nullptr);
} // namespace mlir::tile

#endif
