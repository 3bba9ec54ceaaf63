// tile-tma-store: stores of 2-D tiles go through a shared tile and TMA (see
// the pass description in dialect/TilePasses.td).
#include "dialect/TilePasses.h"

#include "Analysis/SharedMemory.h"
#include "Analysis/TMA.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
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
  if (!tmaCanAddress(store.getDst(), store.getOffsets(), &why))
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
/// made, in order. `chunks` = 1: the whole tile goes through one shared tile.
/// Otherwise its columns go in `chunks` windows through `buffers` shared
/// tiles used in turn: before a buffer takes its next window, the store that
/// read it last must be done (a wait that leaves buffers - 1 stores reading).
SmallVector<Operation *> rewrite(StoreOp store, func::FuncOp func, int64_t chunks,
                                 int64_t buffers) {
  SmallVector<Operation *> made;
  Location loc = store.getLoc();
  RankedTensorType tile = store.getValue().getType();
  Block &body = func.getBody().front();
  // The tiles live from just before the kernel-level op holding the store
  // to the end, so they may reuse the bytes of tiles dead before it. A store
  // in a branch (a stream-K epilogue's partial tile or its whole one) has
  // its tiles made in the branch, so that the other branch's can share their
  // bytes; every store's first window then waits for all earlier TMA stores,
  // whichever tiles they read.
  bool inBranch = isa<scf::IfOp>(store->getParentOp());
  OpBuilder b(inBranch ? &store->getBlock()->front() : body.findAncestorOpInBlock(*store));
  SmallVector<int64_t> shape(tile.getShape());
  int64_t window = shape.back() / chunks;
  shape.back() = window;
  auto type = SharedType::get(func.getContext(), shape, tile.getElementType(), SwizzleAttr());
  SmallVector<Value> tiles;
  for (int64_t i = 0; i < buffers; ++i) {
    tiles.push_back(AllocSharedOp::create(b, loc, type));
    made.push_back(tiles.back().getDefiningOp());
  }
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
  else if (inBranch)
    b.setInsertionPointAfter(tiles.back().getDefiningOp());
  else
    b.setInsertionPointToStart(store->getBlock());
  // In a loop, the last iteration's TMA stores must have read the tiles.
  if (inBranch || store->getParentOfType<LoopLikeOpInterface>())
    made.push_back(AsyncStoreWaitOp::create(b, loc, tiles));
  made.push_back(BarrierOp::create(b, loc));
  b.setInsertionPoint(store);
  for (int64_t c = 0; c < chunks; ++c) {
    Value buffer = tiles[c % buffers];
    if (c >= buffers) {
      made.push_back(AsyncStoreWaitOp::create(b, loc, tiles, buffers - 1));
      made.push_back(BarrierOp::create(b, loc));
    }
    made.push_back(StoreSharedOp::create(b, loc, store.getValue(), buffer, c * window));
    made.push_back(BarrierOp::create(b, loc));
    SmallVector<Value> offsets(store.getOffsets());
    if (c > 0) {
      auto step = arith::ConstantIntOp::create(b, loc, b.getI32Type(), c * window);
      auto shifted = arith::AddIOp::create(b, loc, offsets.back(), step);
      made.append({step, shifted});
      offsets.back() = shifted;
    }
    made.push_back(AsyncStoreOp::create(b, loc, buffer, store.getDst(), offsets));
  }
  // The kernel ends once its stores have read their tiles (tiles made in a
  // branch cannot be named there).
  b.setInsertionPoint(body.getTerminator());
  made.push_back(AsyncStoreWaitOp::create(b, loc, inBranch ? ValueRange{} : ValueRange(tiles)));
  return made;
}

/// The ways to store a tile through shared memory, fewest bytes last: whole;
/// in windows of one 128-byte TMA box row (64 bf16 columns) through two
/// tiles used in turn; through one.
SmallVector<std::pair<int64_t, int64_t>> epilogueShapes(RankedTensorType tile) {
  SmallVector<std::pair<int64_t, int64_t>> shapes{{1, 1}};
  int64_t columns = tile.getShape().back();
  int64_t window = 128 / (tile.getElementType().getIntOrFloatBitWidth() / 8);
  if (tile.getRank() != 2 || columns % window != 0 || columns / window < 2)
    return shapes;
  if (columns / window > 2)
    shapes.push_back({columns / window, 2});
  shapes.push_back({columns / window, 1});
  return shapes;
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
    // The whole tile if the kernel's shared memory holds it beside the rest
    // (a persistent kernel's stages stay live), else in windows.
    int64_t bytes = 0;
    for (auto [chunks, buffers] : epilogueShapes(store.getValue().getType())) {
      SmallVector<Operation *> made = rewrite(store, func, chunks, buffers);
      bytes = computeSharedMemoryPlan(func).bytes;
      if (bytes <= kMaxSharedBytes) {
        if (explain) {
          InFlightDiagnostic remark = store.emitRemark() << "tile-tma-store: through ";
          if (chunks == 1)
            remark << "a shared tile";
          else
            remark << (buffers == 1 ? "one shared tile" : "two shared tiles in turn") << ", "
                   << chunks << " windows of its columns,";
          remark << " and TMA; the kernel's shared tiles and barriers take " << bytes << " bytes";
        }
        store.erase();
        return;
      }
      for (Operation *op : llvm::reverse(made))
        op->erase();
    }
    if (explain)
      store.emitRemark() << "tile-tma-store: stays a plain store: its shared tiles would take "
                            "the kernel's shared memory to "
                         << bytes << " bytes, more than " << kMaxSharedBytes;
  }
};
} // namespace
