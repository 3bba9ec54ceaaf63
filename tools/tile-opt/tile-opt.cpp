// tile-opt: mlir-opt with the tile dialect, passes and pipelines added.
#include "dialect/TilePasses.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

namespace mlir::tile {
void registerTestAxisInfoPass(); // lib/Analysis/AxisInfo.cpp
} // namespace mlir::tile

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::registerAllPasses();
  registry.insert<mlir::tile::TileDialect>();
  mlir::tile::registerAllTilePasses();
  mlir::tile::registerTestAxisInfoPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "tile optimizer driver\n", registry));
}
