// What is known of the integer (and i1) tiles a kernel computes, per
// dimension, as Triton's AxisInfo knows it: enough to prove that a thread's
// consecutive elements of a gather, scatter or atomic touch consecutive,
// aligned addresses, under a mask that is the same for all of them.
#ifndef TILE_ANALYSIS_AXISINFO_H
#define TILE_ANALYSIS_AXISINFO_H

#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::tile {

/// Per dimension d of a tile (one entry for a scalar), all powers of two:
/// - contiguity[d]: the tile splits along d into aligned runs of this many
///   elements, each run v, v+1, v+2, ...;
/// - divisibility[d]: the first element of each such run is a multiple of it
///   (with contiguity 1: every element is);
/// - constancy[d]: the tile splits along d into aligned runs of this many
///   equal elements.
struct AxisInfo {
  SmallVector<int64_t> contiguity, divisibility, constancy;

  /// Nothing known about a value of `rank` dimensions (0: a scalar).
  static AxisInfo unknown(unsigned rank);
  unsigned rank() const { return contiguity.size(); }
  /// A power of two dividing every element at a position along d that is a
  /// multiple of `stride` (a power of two).
  int64_t divisibilityEvery(unsigned d, int64_t stride) const;
  /// A power of two dividing every element of the tile.
  int64_t divisibilityOfAll() const;
};

/// Computes AxisInfo on demand, remembering what it computed. Facts flow
/// forward from constants, tile.iota, tile.splat of scalars (whose
/// divisibility Divisibility.h gives: the kernel's specialized arguments),
/// tile.broadcast, arith add/sub/mul/shl/div/rem by constants, compares,
/// and/or and select; anything else (a loaded tile, a loop's argument) is
/// unknown.
class AxisInfoAnalysis {
public:
  const AxisInfo &get(Value value);

private:
  AxisInfo compute(Value value);
  llvm::DenseMap<Value, AxisInfo> known;
};

/// Registers tile-test-print-axis-info (a remark with each integer result's
/// AxisInfo), which the analysis's lit test runs.
void registerTestAxisInfoPass();

} // namespace mlir::tile

#endif
