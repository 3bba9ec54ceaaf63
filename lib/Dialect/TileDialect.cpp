// Types, attributes and op verifiers of the tile dialect.
#include "dialect/TileDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::tile;

#include "dialect/TileDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialect/TileTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/TileAttrs.cpp.inc"

#define GET_OP_CLASSES
#include "dialect/TileOps.cpp.inc"

void TileDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialect/TileTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/TileAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialect/TileOps.cpp.inc"
      >();
}

static bool isTileElementType(Type t) {
  return t.isF32() || t.isF16() || t.isBF16() ||
         isa<Float8E4M3FNType, Float8E5M2Type>(t) || t.isInteger(32) ||
         t.isInteger(16) || t.isInteger(8);
}

LogicalResult PtrType::verify(function_ref<InFlightDiagnostic()> emitError,
                              Type elementType) {
  if (!isTileElementType(elementType))
    return emitError() << "!tile.ptr element type must be one of f32, f16, "
                          "bf16, f8E4M3FN, f8E5M2, i32, i16, i8; got "
                       << elementType;
  return success();
}

//===----------------------------------------------------------------------===//
// BlockedLayoutAttr
//===----------------------------------------------------------------------===//

LogicalResult
BlockedLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          ArrayRef<int64_t> sizePerThread,
                          ArrayRef<int64_t> threadsPerWarp,
                          ArrayRef<int64_t> warpsPerCTA) {
  if (sizePerThread.empty())
    return emitError() << "#tile.blocked needs at least one dimension";
  if (sizePerThread.size() != threadsPerWarp.size() ||
      sizePerThread.size() != warpsPerCTA.size())
    return emitError() << "#tile.blocked arrays differ in rank: size_per_thread "
                       << sizePerThread.size() << ", threads_per_warp "
                       << threadsPerWarp.size() << ", warps_per_cta "
                       << warpsPerCTA.size();
  int64_t lanes = 1;
  for (auto [s, t, w] : llvm::zip(sizePerThread, threadsPerWarp, warpsPerCTA)) {
    if (s <= 0 || t <= 0 || w <= 0 || !llvm::isPowerOf2_64(s) ||
        !llvm::isPowerOf2_64(t) || !llvm::isPowerOf2_64(w))
      return emitError() << "#tile.blocked entries must be positive powers of two";
    lanes *= t;
  }
  if (lanes != 32)
    return emitError() << "#tile.blocked threads_per_warp must multiply to 32, got "
                       << lanes;
  return success();
}

int64_t BlockedLayoutAttr::getNumThreads() const {
  int64_t n = 1;
  for (auto [t, w] : llvm::zip(getThreadsPerWarp(), getWarpsPerCTA()))
    n *= t * w;
  return n;
}

int64_t BlockedLayoutAttr::getCoverage(unsigned dim) const {
  return getSizePerThread()[dim] * getThreadsPerWarp()[dim] *
         getWarpsPerCTA()[dim];
}

//===----------------------------------------------------------------------===//
// Load / store
//===----------------------------------------------------------------------===//

/// Shared rules of a global tile access: a 1-D tile of a power-of-two length
/// whose element type is the pointer's, with a layout of matching rank.
static LogicalResult verifyGlobalAccess(Operation *op, PtrType ptrType,
                                        RankedTensorType tileType) {
  if (tileType.getRank() != 1)
    return op->emitOpError() << "global tile access is 1-D for now; tile type "
                             << tileType << " has rank " << tileType.getRank();
  int64_t n = tileType.getDimSize(0);
  if (!llvm::isPowerOf2_64(n))
    return op->emitOpError() << "tile length must be a power of two, got " << n;
  if (tileType.getElementType() != ptrType.getElementType())
    return op->emitOpError()
           << "element type mismatch: pointer " << ptrType << " holds "
           << ptrType.getElementType() << " but tile " << tileType << " holds "
           << tileType.getElementType();
  if (Attribute enc = tileType.getEncoding()) {
    auto blocked = dyn_cast<BlockedLayoutAttr>(enc);
    if (!blocked)
      return op->emitOpError() << "tile layout " << enc
                               << " is not a #tile.blocked layout";
    if (blocked.getRank() != tileType.getRank())
      return op->emitOpError() << "layout rank " << blocked.getRank()
                               << " differs from tile rank " << tileType.getRank();
  }
  return success();
}

LogicalResult LoadOp::verify() {
  return verifyGlobalAccess(*this, getPtr().getType(), getResult().getType());
}

LogicalResult StoreOp::verify() {
  return verifyGlobalAccess(*this, getPtr().getType(), getValue().getType());
}
