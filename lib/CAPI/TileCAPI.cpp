// The C entry points the Python package loads with ctypes: they work under any
// Python version, since only the MLIR C API crosses the boundary.
#include "dialect/TilePasses.h"

#include "mlir-c/IR.h"
#include "mlir/CAPI/IR.h"
#include "mlir/IR/DialectRegistry.h"

extern "C" {
/// Makes the tile dialect available in `context`.
__attribute__((visibility("default"))) void tileRegisterDialect(MlirContext context) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::tile::TileDialect>();
  unwrap(context)->appendDialectRegistry(registry);
  unwrap(context)->getOrLoadDialect<mlir::tile::TileDialect>();
}

/// Registers tile's passes and pipelines by name (idempotent).
__attribute__((visibility("default"))) void tileRegisterPasses() {
  mlir::tile::registerAllTilePasses();
}
}
