// Shared-memory placement with lifetime-based reuse; see SharedMemory.h.
#include "Analysis/SharedMemory.h"

#include "dialect/TileDialect.h"

#include <functional>
#include <limits>

using namespace mlir;
using namespace mlir::tile;

namespace {
struct Allocation {
  Operation *op;
  int64_t start, end; // positions in program order, inclusive
  int64_t bytes, align;
  int64_t offset = 0;
};

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();
} // namespace

SharedMemoryPlan tile::computeSharedMemoryPlan(Operation *kernel) {
  // Pre-order positions; `last` is the last position inside an op's regions.
  llvm::DenseMap<Operation *, int64_t> first, last;
  int64_t position = 0;
  kernel->walk<WalkOrder::PreOrder>([&](Operation *op) { first[op] = position++; });
  kernel->walk<WalkOrder::PostOrder>([&](Operation *op) {
    int64_t end = first[op];
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (Operation &nested : block)
          end = std::max(end, last[&nested]);
    last[op] = end;
  });

  // The last position at which `value` (or a stage of it) is used, seen from
  // `block`; kForever when a use is not a tile op (it may escape).
  std::function<int64_t(Value, Block *)> lastUse = [&](Value value, Block *block) {
    int64_t end = 0;
    for (Operation *user : value.getUsers()) {
      Operation *at = block->findAncestorOpInBlock(*user);
      if (!at || !isa<TileDialect>(user->getDialect()))
        return kForever;
      end = std::max(end, last[at]);
      if (auto stage = dyn_cast<StageOp>(user))
        end = std::max(end, lastUse(stage.getResult(), block));
    }
    return end;
  };

  SmallVector<Allocation> allocations;
  kernel->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto alloc = dyn_cast<AllocSharedOp>(op)) {
      int64_t end = std::max(first[op], lastUse(alloc.getResult(), op->getBlock()));
      bool escapes = end == kForever;
      allocations.push_back({op, escapes ? 0 : first[op], end,
                             alloc.getType().getSizeInBytes(), 1024});
    } else if (auto bars = dyn_cast<AllocMBarrierOp>(op)) {
      allocations.push_back({op, 0, kForever, 8 * int64_t(bars.getType().getCount()), 8});
    }
  });

  SharedMemoryPlan plan;
  for (size_t i = 0; i < allocations.size(); ++i) {
    Allocation &a = allocations[i];
    int64_t offset = 0;
    for (bool moved = true; moved;) {
      moved = false;
      offset = llvm::alignTo(offset, a.align);
      for (size_t j = 0; j < i; ++j) {
        const Allocation &p = allocations[j];
        bool together = a.start <= p.end && p.start <= a.end;
        bool overlap = offset < p.offset + p.bytes && p.offset < offset + a.bytes;
        if (together && overlap) {
          offset = p.offset + p.bytes;
          moved = true;
          break;
        }
      }
    }
    a.offset = offset;
    plan.offsets[a.op] = offset;
    plan.bytes = std::max(plan.bytes, offset + a.bytes);
  }
  return plan;
}
