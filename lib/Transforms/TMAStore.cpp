// tile-tma-store: stores of 2-D tiles go through a shared tile and TMA (see
// the pass description in dialect/TilePasses.td).
#include "dialect/TilePasses.h"

#include "Analysis/SharedMemory.h"
#include "Analysis/TMA.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILETMASTORE
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;

namespace {

/// Why `store` (to a view) stays a plain store; empty when TMA can store it.
std::string whyNot(StoreOp store) {
  RankedTensorType tile = store.getValue().getType();
  if (tile.getRank() != 2)
    return "the tile is not 2-D";
  unsigned bits = tile.getElementType().getIntOrFloatBitWidth();
  if (bits % 8)
    return "TMA moves whole bytes; the elements are narrower";
  int64_t rows = tile.getDimSize(0), rowBytes = tile.getDimSize(1) * bits / 8;
  if (rowBytes < 16)
    return "rows of " + std::to_string(rowBytes) + " bytes; a TMA box row is at least 16";
  // A swizzled box must start on a whole period of 8 rows.
  if (rows < 8)
    return "fewer than 8 rows";
  if (rows > 256 || tile.getDimSize(1) > 256)
    return "a dimension over 256 elements (the most a TMA copy's shared tile takes)";
  Attribute layout = tile.getEncoding();
  if (layout && !isa<BlockedLayoutAttr, WgmmaLayoutAttr>(layout))
    return "its layout is not one tile.store_shared lowers";
  std::string why;
  if (!tmaCanAddress(store.getDst(), &why))
    return why;
  return "";
}

/// Whether `op` (or an op inside it) reads or writes shared memory or waits
/// for an mma that does.
static bool touchesShared(Operation *op) {
  return op->walk([](Operation *nested) {
              auto shared = [](Type t) { return isa<SharedType, MBarrierType>(t); };
              return isa<MmaWaitOp>(nested) || llvm::any_of(nested->getOperandTypes(), shared)
                         ? WalkResult::interrupt()
                         : WalkResult::advance();
            }).wasInterrupted();
}

/// Rewrites `store` of kernel `func` into the TMA sequence; returns the ops
/// made, in order.
SmallVector<Operation *> rewrite(StoreOp store, func::FuncOp func) {
  SmallVector<Operation *> made;
  Location loc = store.getLoc();
  RankedTensorType tile = store.getValue().getType();
  Block &body = func.getBody().front();
  // The tile lives from just before the kernel-level op holding the store
  // to the end, so it may reuse the bytes of tiles dead before it.
  OpBuilder b(body.findAncestorOpInBlock(*store));
  auto type = SharedType::get(func.getContext(), tile.getShape(), tile.getElementType(),
                              SwizzleAttr());
  Value buffer = AllocSharedOp::create(b, loc, type);
  made.push_back(buffer.getDefiningOp());
  // The first barrier goes right after the last op before the store that
  // touches shared memory: the epilogue's arithmetic (bias, activation)
  // then runs after it, element by element into the tile, rather than
  // keeping the whole result in registers across the barrier.
  Operation *lastShared = nullptr;
  for (Operation *op = store->getPrevNode(); op && !lastShared; op = op->getPrevNode())
    if (touchesShared(op))
      lastShared = op;
  if (lastShared)
    b.setInsertionPointAfter(lastShared);
  else
    b.setInsertionPointToStart(store->getBlock());
  // In a loop, the last iteration's TMA store must have read the tile.
  if (store->getParentOfType<LoopLikeOpInterface>())
    made.push_back(AsyncStoreWaitOp::create(b, loc, ValueRange{buffer}));
  made.push_back(BarrierOp::create(b, loc));
  b.setInsertionPoint(store);
  made.push_back(StoreSharedOp::create(b, loc, store.getValue(), buffer));
  made.push_back(BarrierOp::create(b, loc));
  made.push_back(AsyncStoreOp::create(b, loc, buffer, store.getDst(), store.getOffsets()));
  b.setInsertionPoint(body.getTerminator());
  made.push_back(AsyncStoreWaitOp::create(b, loc, ValueRange{buffer}));
  return made;
}

struct TileTMAStore : public tile::impl::TileTMAStoreBase<TileTMAStore> {
  using TileTMAStoreBase::TileTMAStoreBase;

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(kKernelAttr) || func.isExternal())
        continue;
      SmallVector<StoreOp> stores;
      func.walk([&](StoreOp store) {
        if (isa<ViewType>(store.getDst().getType()))
          stores.push_back(store);
      });
      for (StoreOp store : stores)
        tryRewrite(store, func);
    }
  }

  void tryRewrite(StoreOp store, func::FuncOp func) {
    std::string why = whyNot(store);
    if (why.empty() && !func.getBody().hasOneBlock())
      why = "the kernel body is more than one block";
    if (why.empty() && !isa<func::ReturnOp>(func.getBody().front().getTerminator()))
      why = "the kernel body does not end in a return";
    if (!why.empty()) {
      if (explain)
        store.emitRemark() << "tile-tma-store: stays a plain store: " << why;
      return;
    }
    SmallVector<Operation *> made = rewrite(store, func);
    int64_t bytes = computeSharedMemoryPlan(func).bytes;
    if (bytes > kMaxSharedBytes) {
      for (Operation *op : llvm::reverse(made))
        op->erase();
      if (explain)
        store.emitRemark() << "tile-tma-store: stays a plain store: its shared tile would take "
                              "the kernel's shared memory to "
                           << bytes << " bytes, more than " << kMaxSharedBytes;
      return;
    }
    if (explain)
      store.emitRemark() << "tile-tma-store: through a shared tile and TMA; the kernel's "
                            "shared tiles and barriers take "
                         << bytes << " bytes";
    store.erase();
  }
};
} // namespace
