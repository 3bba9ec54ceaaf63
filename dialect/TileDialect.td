// The tile dialect: tiles in registers and shared memory, and the ops that
// move and combine them. Register tiles are builtin ranked tensors (see
// docs/dialect.md for why); this file declares the dialect itself.
#ifndef TILE_DIALECT_TD
#define TILE_DIALECT_TD

include "mlir/IR/OpBase.td"

def Tile_Dialect : Dialect {
  let name = "tile";
  let cppNamespace = "::mlir::tile";
  let summary = "Tiles for Hopper kernels, ThunderKittens-style";
  let description = [{
    Register tiles are `tensor<...xT, #tile.blocked<...>>` values: arith and
    math ops work on them elementwise. Global memory is reached through
    `!tile.ptr<T>` arguments; loads and stores take a tile offset and a bound
    that masks the ragged edge.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  // tile.num_warps and tile.num_ctas are divided by and indexed with.
  let hasOperationAttrVerify = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

#endif
