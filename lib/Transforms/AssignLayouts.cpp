// tile-assign-layouts: every register tile of a kernel gets a #tile.blocked
// layout. Threads take runs of up to 16 contiguous bytes along the innermost
// dimension (so global accesses can be 16 bytes wide), lanes fill the inner
// dimensions first, warps the outer ones.
#include "dialect/TilePasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILEASSIGNLAYOUTS
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;

namespace {

BlockedLayoutAttr chooseBlockedLayout(RankedTensorType type, int64_t numWarps) {
  int64_t rank = type.getRank();
  ArrayRef<int64_t> shape = type.getShape();
  unsigned bits = type.getElementType().getIntOrFloatBitWidth();
  int64_t inner = shape[rank - 1];
  int64_t elementsPerThread = std::max<int64_t>(1, type.getNumElements() / (32 * numWarps));
  int64_t vec = std::min<int64_t>({std::max<int64_t>(1, 128 / bits), inner,
                                   elementsPerThread});
  SmallVector<int64_t> sizePerThread(rank, 1), threads(rank, 1), warps(rank, 1);
  sizePerThread[rank - 1] = vec;
  // Lanes: innermost dimension first, as far as it has room; the rest go to
  // the outermost dimension (wrapping there if the tile is too small).
  int64_t lanesLeft = 32;
  for (int64_t d = rank - 1; d >= 0 && lanesLeft > 1; --d) {
    int64_t room = std::max<int64_t>(1, shape[d] / sizePerThread[d]);
    int64_t t = std::min(room, lanesLeft);
    threads[d] = t;
    lanesLeft /= t;
  }
  threads[0] *= lanesLeft;
  int64_t warpsLeft = numWarps;
  for (int64_t d = 0; d < rank && warpsLeft > 1; ++d) {
    int64_t room = std::max<int64_t>(1, shape[d] / (sizePerThread[d] * threads[d]));
    int64_t w = std::min(room, warpsLeft);
    warps[d] = w;
    warpsLeft /= w;
  }
  warps[0] *= warpsLeft;
  return BlockedLayoutAttr::get(type.getContext(), sizePerThread, threads, warps);
}

Type withLayout(Type type, int64_t numWarps) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || tensor.getEncoding() || !tensor.hasStaticShape())
    return type;
  return RankedTensorType::get(tensor.getShape(), tensor.getElementType(),
                               chooseBlockedLayout(tensor, numWarps));
}

struct TileAssignLayouts
    : public tile::impl::TileAssignLayoutsBase<TileAssignLayouts> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(kKernelAttr))
        continue;
      int64_t numWarps = 4;
      if (auto attr = func->getAttrOfType<IntegerAttr>(kNumWarpsAttr))
        numWarps = attr.getInt();
      if (numWarps <= 0 || !llvm::isPowerOf2_64(numWarps)) {
        func.emitError() << kNumWarpsAttr << " must be a power of two, got "
                         << numWarps;
        return signalPassFailure();
      }
      func.walk([&](Operation *op) {
        for (Region &region : op->getRegions())
          for (Block &block : region)
            for (BlockArgument arg : block.getArguments())
              arg.setType(withLayout(arg.getType(), numWarps));
        for (OpResult result : op->getResults())
          result.setType(withLayout(result.getType(), numWarps));
        // Constants carry their type in the value attribute too.
        if (auto constant = dyn_cast<arith::ConstantOp>(op))
          if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue()))
            if (dense.getType() != constant.getType())
              constant.setValueAttr(dense.reshape(
                  cast<ShapedType>(constant.getType())));
      });
    }
  }
};
} // namespace
