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

/// Gives `value` (a shared tile or buffer) the swizzle, and the stages taken
/// from it too.
void setSwizzle(Value value, SwizzleAttr swizzle) {
  auto type = cast<SharedType>(value.getType());
  value.setType(SharedType::get(value.getContext(), type.getShape(), type.getElementType(),
                                swizzle));
  for (Operation *user : value.getUsers())
    if (auto stage = dyn_cast<StageOp>(user); stage && stage.getSrc() == value)
      setSwizzle(stage.getResult(), swizzle);
}

struct TileSelectSwizzle : public tile::impl::TileSelectSwizzleBase<TileSelectSwizzle> {
  void runOnOperation() override {
    getOperation().walk([](AllocSharedOp alloc) {
      SharedType type = alloc.getType();
      if (!type.getSwizzle())
        setSwizzle(alloc.getResult(), SwizzleAttr::get(alloc.getContext(), swizzleFor(type)));
    });
  }
};
} // namespace
