#ifndef TILE_DIALECT_TILEPASSES_H
#define TILE_DIALECT_TILEPASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

#include "dialect/TileDialect.h"

namespace mlir::tile {
#define GEN_PASS_DECL
#include "dialect/TilePasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialect/TilePasses.h.inc"

/// Most shared-memory stages a pipelined loop may ring through (the
/// driver's num_stages takes 2 to this).
constexpr unsigned kMaxStages = 8;

/// The TMA box that copies a shared tile (outermost first): at most one
/// swizzle span wide along the innermost dimension.
SmallVector<int64_t> tmaBox(SharedType type);

/// Registers the named pipelines (`tile-to-llvm`), see lib/Pipelines.cpp.
void registerTilePipelines();

/// Registers the dialect's passes and pipelines once per process.
void registerAllTilePasses();
} // namespace mlir::tile

#endif
