// The tile dialect: registration, types and attributes.
#include "dialect/TileDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::tile;

#include "dialect/TileDialect.cpp.inc"
#include "dialect/TileEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/TileAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialect/TileTypes.cpp.inc"

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

bool mlir::tile::isTileElementType(Type t) {
  return t.isF32() || t.isF16() || t.isBF16() ||
         isa<Float8E4M3FNType, Float8E5M2Type>(t) || t.isInteger(64) ||
         t.isInteger(32) || t.isInteger(16) || t.isInteger(8) || t.isInteger(1);
}

static InFlightDiagnostic badElementType(function_ref<InFlightDiagnostic()> emitError,
                                         StringRef what, Type t) {
  return emitError() << what << " element type must be one of f32, f16, bf16, "
                                "f8E4M3FN, f8E5M2, i64, i32, i16, i8, i1; got "
                     << t;
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

LogicalResult PtrType::verify(function_ref<InFlightDiagnostic()> emitError,
                              Type elementType) {
  if (!isTileElementType(elementType))
    return badElementType(emitError, "!tile.ptr", elementType);
  return success();
}

LogicalResult ViewType::verify(function_ref<InFlightDiagnostic()> emitError,
                               Type elementType, unsigned rank) {
  if (!isTileElementType(elementType))
    return badElementType(emitError, "!tile.view", elementType);
  if (rank < 1 || rank > 5)
    return emitError() << "!tile.view rank must be 1 to 5 (the TMA limit), got " << rank;
  return success();
}

LogicalResult SharedType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, Type elementType,
                                 SwizzleAttr swizzle) {
  if (!isTileElementType(elementType))
    return badElementType(emitError, "!tile.shared", elementType);
  if (shape.empty() || shape.size() > 3)
    return emitError() << "!tile.shared rank must be 1 to 3, got " << shape.size();
  for (int64_t d : shape)
    if (d <= 0)
      return emitError() << "!tile.shared dimensions must be positive, got " << d;
  return success();
}

int64_t SharedType::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : getShape())
    n *= d;
  return n;
}

int64_t SharedType::getSizeInBytes() const {
  return getNumElements() * getElementType().getIntOrFloatBitWidth() / 8;
}

// !tile.shared<128x64xbf16> or !tile.shared<128x64xbf16, #tile.swizzle<128>>
Type SharedType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  Type elementType;
  SwizzleAttr swizzle;
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false, /*withTrailingX=*/true) ||
      parser.parseType(elementType))
    return {};
  if (succeeded(parser.parseOptionalComma()) && parser.parseAttribute(swizzle))
    return {};
  if (parser.parseGreater())
    return {};
  return parser.getChecked<SharedType>(parser.getContext(), shape, elementType, swizzle);
}

void SharedType::print(AsmPrinter &printer) const {
  printer << "<";
  for (int64_t d : getShape())
    printer << d << "x";
  printer << getElementType();
  if (getSwizzle())
    printer << ", " << getSwizzle();
  printer << ">";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

LogicalResult SwizzleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  unsigned bytes) {
  if (bytes != 0 && bytes != 32 && bytes != 64 && bytes != 128)
    return emitError() << "#tile.swizzle must be 0, 32, 64 or 128 bytes, got " << bytes;
  return success();
}

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

/// Folds produce tile constants as arith.constant.
Operation *TileDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                            Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}

/// Kernel attributes that passes divide by or index with are checked before
/// any pass reads them.
LogicalResult TileDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  auto inRange = [&](int64_t most, StringRef what) -> LogicalResult {
    auto value = dyn_cast<IntegerAttr>(attr.getValue());
    if (!value || !value.getType().isInteger(32))
      return op->emitError() << name << " must be an i32 integer";
    int64_t n = value.getInt();
    if (n < 1 || n > most || !llvm::isPowerOf2_64(n))
      return op->emitError() << name << " must be a power of two from 1 to " << most << " ("
                             << what << "), got " << n;
    return success();
  };
  if (name == kNumWarpsAttr)
    return inRange(32, "warps per CTA: at most 1024 threads");
  if (name == kNumCtasAttr)
    return inRange(8, "CTAs per cluster");
  return success();
}
