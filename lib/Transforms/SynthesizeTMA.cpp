// tile-synthesize-tma: async copies get TMA descriptor parameters, and the
// module lists what the runtime must encode (see TilePasses.td).
#include "dialect/TilePasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILESYNTHESIZETMA
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;

SmallVector<int64_t> tile::tmaBox(SharedType type) {
  SmallVector<int64_t> box(type.getShape());
  unsigned span = type.getSwizzle() ? type.getSwizzle().getBytes() : 0;
  int64_t bytes = type.getElementType().getIntOrFloatBitWidth() / 8;
  if (span)
    box.back() = std::min<int64_t>(box.back(), span / bytes);
  return box;
}

namespace {

struct TileSynthesizeTMA : public tile::impl::TileSynthesizeTMABase<TileSynthesizeTMA> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<Attribute> descriptors;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func->hasAttr(kKernelAttr))
        continue;
      // (pointer argument, box, swizzle) -> descriptor argument
      std::map<std::tuple<unsigned, SmallVector<int64_t>, unsigned>, unsigned> known;
      WalkResult result = func.walk([&](Operation *copy) {
        // A TMA load or store: the global view's side and the shared tile's.
        Value global;
        SharedType shared;
        if (auto load = dyn_cast<AsyncLoadOp>(copy))
          global = load.getSrc(), shared = load.getDst().getType();
        else if (auto store = dyn_cast<AsyncStoreOp>(copy))
          global = store.getDst(), shared = store.getSrc().getType();
        else
          return WalkResult::advance();
        auto view = global.getDefiningOp<MakeViewOp>();
        auto pointer = view ? dyn_cast<BlockArgument>(view.getPtr()) : BlockArgument();
        if (!pointer || pointer.getOwner() != &func.getBody().front()) {
          copy->emitError("tile-synthesize-tma: the copy's view must be made from a kernel's "
                          "array argument");
          return WalkResult::interrupt();
        }
        APInt one;
        if (!matchPattern(view.getStrides().back(), m_ConstantInt(&one)) || !one.isOne()) {
          copy->emitError("tile-synthesize-tma: TMA needs a unit innermost stride");
          return WalkResult::interrupt();
        }
        unsigned swizzle = shared.getSwizzle() ? shared.getSwizzle().getBytes() : 0;
        SmallVector<int64_t> box = tmaBox(shared);
        auto key = std::make_tuple(pointer.getArgNumber(), box, swizzle);
        auto it = known.find(key);
        if (it == known.end()) {
          unsigned index = func.getNumArguments();
          OpBuilder b(ctx);
          // The kernel takes it by value (byval, __grid_constant__) once it
          // is a gpu.func; see convert-tile-to-gpu.
          SmallVector<NamedAttribute> attrs{
              b.getNamedAttr(kTensorMapArgAttr, b.getUnitAttr())};
          if (failed(func.insertArgument(index, LLVM::LLVMPointerType::get(ctx),
                                         b.getDictionaryAttr(attrs), copy->getLoc())))
            return WalkResult::interrupt();
          it = known.emplace(key, index).first;
          descriptors.push_back(b.getDictionaryAttr({
              b.getNamedAttr("pointer", b.getI64IntegerAttr(pointer.getArgNumber())),
              b.getNamedAttr("param", b.getI64IntegerAttr(index)),
              b.getNamedAttr("dtype", TypeAttr::get(shared.getElementType())),
              b.getNamedAttr("box", b.getDenseI64ArrayAttr(box)),
              b.getNamedAttr("swizzle", b.getI64IntegerAttr(swizzle))}));
        }
        copy->setAttr("tile.tma_desc", IntegerAttr::get(IntegerType::get(ctx, 64), it->second));
        return WalkResult::advance();
      });
      if (result.wasInterrupted())
        return signalPassFailure();
    }
    if (!descriptors.empty())
      module->setAttr("tile.tma", ArrayAttr::get(ctx, descriptors));
  }
};
} // namespace
