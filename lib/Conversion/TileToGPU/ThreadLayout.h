// Which thread holds which element of a laid-out register tile.
#ifndef TILE_CONVERSION_TILETOGPU_THREADLAYOUT_H
#define TILE_CONVERSION_TILETOGPU_THREADLAYOUT_H

#include "dialect/TileDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::tile {

/// The per-thread picture of a #tile.blocked layout, of a #tile.slice of one
/// (sliced dimensions hold a single register and have no coordinate), or of
/// a #tile.wgmma accumulator.
/// Registers are numbered with the innermost dimension fastest; a run of
/// `sizePerThread` registers along the innermost dimension is contiguous.
class ThreadLayout {
public:
  static FailureOr<ThreadLayout> get(RankedTensorType type);

  int64_t numRegisters() const;
  /// Elements along the innermost tile dimension held in consecutive
  /// registers (1 when that dimension is sliced away).
  int64_t contiguity() const;
  /// The i64 coordinates (one per tile dimension) of register `reg`'s
  /// element, relative to the tile's origin.
  SmallVector<Value> coords(OpBuilder &b, Location loc, Value tid, int64_t reg) const;
  /// The columns [first, last) that register `reg` covers over all threads
  /// of a 2-D tile, where they do not depend on the thread beyond that
  /// (WGMMA: its 8-column group; blocked: its repeat's span); else none.
  std::optional<std::pair<int64_t, int64_t>> columnSpan(int64_t reg) const;
  /// True (i1) on the thread that is the first holder of its elements; null
  /// when no element is held twice.
  Value owner(OpBuilder &b, Location loc, Value tid) const;
  /// True (i1) where register `reg` holds a copy of an element along `d`:
  /// the tile is narrower along `d` than the threads laid along it, and this
  /// thread's position wraps past its extent; null where no copy is held.
  /// A sum along `d` must count each element once.
  Value holdsCopy(OpBuilder &b, Location loc, Value tid, int64_t reg, unsigned d) const;
  /// For a slice of this layout along `dim` (of the parent's dims), the
  /// slice's register that holds the element of this layout's register `reg`.
  int64_t sliceRegister(int64_t reg, unsigned dim) const;

  /// Warps the layout spreads the tile over (the CTA's, or its consumers').
  int64_t numWarps() const;
  /// (repeat, element within the run of sizePerThread) of register `reg`
  /// along dimension `d` of a #tile.blocked layout: its coordinate along d
  /// is repeat * coverage(d) + the thread's first + element.
  std::pair<int64_t, int64_t> along(int64_t reg, unsigned d) const { return decompose(reg)[d]; }

  /// Warpgroups of a WGMMA accumulator tile (2-D, nothing sliced); else 0.
  int64_t wgmmaTileWarpgroups() const {
    return shape.size() == 2 && !sliced[0] && !sliced[1] ? wgmmaWarpgroups : 0;
  }
  unsigned parentRank() const { return shape.size(); }
  bool isSliced(unsigned d) const { return sliced[d]; }
  int64_t lanes(unsigned d) const { return threadsPerWarp[d]; }
  int64_t warps(unsigned d) const { return warpsPerCTA[d]; }
  /// Lane id distance between neighbours along dimension d.
  int64_t laneStride(unsigned d) const;
  /// Coordinate of this thread's warp along dimension d (i64).
  Value warpCoord(OpBuilder &b, Location loc, Value tid, unsigned d) const;
  Value laneCoord(OpBuilder &b, Location loc, Value tid, unsigned d) const;
  /// Registers along dimension d (repeats x size per thread; 1 if sliced).
  int64_t registersAlong(unsigned d) const;
  int64_t sizePerThreadAlong(unsigned d) const { return sizePerThread[d]; }
  int64_t coverage(unsigned d) const;
  int64_t extent(unsigned d) const { return shape[d]; }

private:
  /// Per-dimension (repeat, element) of register `reg`, innermost fastest.
  SmallVector<std::pair<int64_t, int64_t>> decompose(int64_t reg) const;

  SmallVector<int64_t> shape, sizePerThread, threadsPerWarp, warpsPerCTA;
  SmallVector<bool> sliced;
  /// WGMMA accumulator: registers (m-slab, 8-column group, row half, column).
  int64_t wgmmaWarpgroups = 0;

  SmallVector<Value> wgmmaCoords(OpBuilder &b, Location loc, Value tid, int64_t reg) const;
};

/// Registers one thread holds for a laid-out tile.
int64_t registersPerThread(RankedTensorType type);

} // namespace mlir::tile

#endif
