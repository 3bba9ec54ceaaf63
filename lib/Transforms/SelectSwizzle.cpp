// tile-select-swizzle: each shared tile without a swizzle gets one, from the
// bytes of its innermost dimension (see the pass description in
// dialect/TilePasses.td).
#include "dialect/TilePasses.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILESELECTSWIZZLE
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;

namespace {

unsigned swizzleFor(SharedType type) {
  int64_t rowBytes = type.getShape().back() * type.getElementType().getIntOrFloatBitWidth() / 8;
  for (unsigned span : {128u, 64u, 32u})
    if (rowBytes % span == 0)
      return span;
  return 0;
}

struct TileSelectSwizzle : public tile::impl::TileSelectSwizzleBase<TileSelectSwizzle> {
  void runOnOperation() override {
    getOperation().walk([](AllocSharedOp alloc) {
      SharedType type = alloc.getType();
      if (type.getSwizzle())
        return;
      auto swizzle = SwizzleAttr::get(alloc.getContext(), swizzleFor(type));
      alloc.getResult().setType(
          SharedType::get(alloc.getContext(), type.getShape(), type.getElementType(), swizzle));
    });
  }
};
} // namespace
