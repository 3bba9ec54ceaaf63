// tile-tensormap-params: TMA descriptor parameters become by-value
// __grid_constant__ parameters of the lowered kernel (see TilePasses.td).
#include "dialect/TilePasses.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILETENSORMAPPARAMS
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;

namespace {
struct TileTensorMapParams
    : public tile::impl::TileTensorMapParamsBase<TileTensorMapParams> {
  void runOnOperation() override {
    auto descriptors = getOperation()->getAttrOfType<ArrayAttr>("tile.tma");
    if (!descriptors)
      return;
    Builder b(&getContext());
    getOperation().walk([&](LLVM::LLVMFuncOp func) {
      if (!func->hasAttr(NVVM::NVVMDialect::getKernelFuncAttrName()))
        return;
      for (Attribute attr : descriptors) {
        auto param = cast<DictionaryAttr>(attr).getAs<IntegerAttr>("param");
        unsigned i = param.getInt();
        if (i >= func.getNumArguments())
          continue;
        func.setArgAttr(i, "llvm.byval", TypeAttr::get(LLVM::LLVMArrayType::get(b.getI8Type(), 128)));
        func.setArgAttr(i, "llvm.align", b.getI64IntegerAttr(64));
        func.setArgAttr(i, NVVM::NVVMDialect::getGridConstantAttrName(), b.getUnitAttr());
      }
    });
  }
};
} // namespace
