#ifndef TILE_PASSES_TD
#define TILE_PASSES_TD

include "mlir/Pass/PassBase.td"

def TileAssignLayouts : Pass<"tile-assign-layouts", "ModuleOp"> {
  let summary = "give every register tile of a kernel a thread layout";
  let description = [{
    Rewrites each ranked tensor type without an encoding inside a `tile.kernel`
    function to carry a `#tile.blocked` layout chosen from its shape, element
    type and the kernel's `tile.num_warps`: each thread holds runs of up to 16
    contiguous bytes, so that global accesses can be 16 bytes wide.
  }];
  let dependentDialects = ["::mlir::tile::TileDialect"];
}

def ConvertTileToGPU : Pass<"convert-tile-to-gpu", "ModuleOp"> {
  let summary = "lower tile kernels to gpu.func with per-thread code";
  let description = [{
    Moves every `func.func` marked `tile.kernel` into a `gpu.module` as a
    `gpu.func` kernel with a known block size, and lowers tile ops and
    elementwise ops on laid-out tiles to per-thread vector code: global memory
    is reached with `llvm.load`/`llvm.store` as wide as alignment allows,
    guarded by the bound.
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::arith::ArithDialect"];
}

#endif
