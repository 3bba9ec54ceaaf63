// The tile dialect's C++ declarations (generated from the .td files beside).
#ifndef TILE_DIALECT_TILEDIALECT_H
#define TILE_DIALECT_TILEDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/TileDialect.h.inc"
#include "dialect/TileEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/TileAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialect/TileTypes.h.inc"

namespace mlir::tile {
/// Tile_UsesSharedMemory (TileOps.td): the op's lowering needs the kernel's
/// dynamic shared memory.
template <typename ConcreteType>
class UsesSharedMemory : public OpTrait::TraitBase<ConcreteType, UsesSharedMemory> {};
} // namespace mlir::tile

#define GET_OP_CLASSES
#include "dialect/TileOps.h.inc"

namespace mlir::tile {
/// f32, f16, bf16, f8E4M3FN, f8E5M2, i64, i32, i16, i8 or i1.
bool isTileElementType(Type t);

/// Name of the unit attribute marking a func.func as a tile kernel.
constexpr llvm::StringLiteral kKernelAttr = "tile.kernel";
/// Name of the i32 attribute giving a kernel's warps per CTA (a power of
/// two, 1 to 32; absent: 4).
constexpr llvm::StringLiteral kNumWarpsAttr = "tile.num_warps";
/// A kernel's warps per CTA (4 without the attribute): the one place the
/// default is written.
int64_t numWarps(Operation *kernel);
/// Name of the i32 attribute giving a kernel's programs (CTAs) per cluster
/// along grid axis 0 (1, 2, 4 or 8; absent: 1); programs x, x+1, .. of a cluster share
/// multicast loads.
constexpr llvm::StringLiteral kNumCtasAttr = "tile.num_ctas";
/// A kernel's programs per cluster (1 without the attribute).
int64_t numCtas(Operation *kernel);
/// Argument attribute: the value (integer) or address in bytes (pointer) is a
/// multiple of this, as promised by the runtime's specialization.
constexpr llvm::StringLiteral kDivisibilityAttr = "tile.divisibility";
/// Argument attribute: a 128-byte CUtensorMap the kernel takes by value.
constexpr llvm::StringLiteral kTensorMapArgAttr = "tile.tensormap";
/// Module attribute (i64): dynamic shared memory the kernel needs, in bytes.
constexpr llvm::StringLiteral kSharedBytesAttr = "tile.shared_bytes";
/// Module attribute (i64): threads per CTA the kernel is launched with (its
/// warps, plus a producer warpgroup when warp specialized).
constexpr llvm::StringLiteral kBlockThreadsAttr = "tile.block_threads";
} // namespace mlir::tile

#endif
