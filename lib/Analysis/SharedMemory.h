#ifndef TILE_ANALYSIS_SHAREDMEMORY_H
#define TILE_ANALYSIS_SHAREDMEMORY_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::tile {
/// Where a kernel's shared tiles and barriers live in dynamic shared memory.
struct SharedMemoryPlan {
  llvm::DenseMap<Operation *, int64_t> offsets; // alloc_shared / alloc_mbarrier -> bytes
  int64_t bytes = 0;                            // the end of the last one
};

/// Places every `tile.alloc_shared` (at 1024-byte boundaries, from which TMA
/// and WGMMA read swizzled tiles) and `tile.alloc_mbarrier` under `kernel`,
/// first fit in program order. Two tiles may share bytes when their
/// lifetimes do not overlap: a tile lives from its alloc to its last use
/// (through `tile.stage` views; a use inside a loop or branch keeps it alive
/// to the end of that op), so the main loop's stages are free again for the
/// epilogue. Barriers, and tiles used by anything but tile ops, live
/// throughout.
SharedMemoryPlan computeSharedMemoryPlan(Operation *kernel);

/// Dynamic shared memory one CTA may use on sm_90 (227 KiB, after opting in).
constexpr int64_t kMaxSharedBytes = 227 * 1024;
} // namespace mlir::tile

#endif
