// Verifiers and folders of the tile ops. Every mismatch names both sides.
#include "dialect/TileDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::tile;

#define GET_OP_CLASSES
#include "dialect/TileOps.cpp.inc"

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, "x");
  return s;
}

/// A layout attached to a tile must be one of tile's and have the tile's rank.
static LogicalResult verifyLayout(Operation *op, RankedTensorType type) {
  Attribute enc = type.getEncoding();
  if (!enc)
    return success();
  if (auto blocked = dyn_cast<BlockedLayoutAttr>(enc)) {
    if (blocked.getRank() != type.getRank())
      return op->emitOpError() << "layout rank " << blocked.getRank()
                               << " differs from tile rank " << type.getRank();
    return success();
  }
  if (isa<SliceLayoutAttr>(enc))
    return success();
  if (isa<WgmmaLayoutAttr>(enc)) {
    if (type.getRank() != 2)
      return op->emitOpError() << "a #tile.wgmma layout is for 2-D tiles, got " << type;
    return success();
  }
  return op->emitOpError() << "tile layout " << enc << " is not a tile layout";
}

static bool isPowerOf2Shape(ArrayRef<int64_t> shape) {
  return llvm::all_of(shape, [](int64_t d) { return llvm::isPowerOf2_64(d); });
}

LogicalResult AssumeMultipleOp::verify() {
  int64_t multiple = getMultiple();
  if (multiple < 1 || (multiple & (multiple - 1)))
    return emitOpError() << "multiple must be a power of two, got " << multiple;
  return success();
}

//===----------------------------------------------------------------------===//
// Global memory
//===----------------------------------------------------------------------===//

LogicalResult MakeViewOp::verify() {
  ViewType view = getResult().getType();
  if (view.getElementType() != getPtr().getType().getElementType())
    return emitOpError() << "element type mismatch: pointer " << getPtr().getType()
                         << " but view " << view;
  if (getSizes().size() != view.getRank() || getStrides().size() != view.getRank())
    return emitOpError() << "a rank-" << view.getRank() << " view needs "
                         << view.getRank() << " sizes and strides, got "
                         << getSizes().size() << " sizes and " << getStrides().size()
                         << " strides";
  return success();
}

/// Shared rules of load and store: element types agree, one offset per
/// dimension, `bound` only on the 1-D pointer form, power-of-two tile shapes.
static LogicalResult verifyGlobalAccess(Operation *op, Type source,
                                        RankedTensorType tile, size_t numOffsets,
                                        bool hasBound) {
  Type element = isa<PtrType>(source) ? cast<PtrType>(source).getElementType()
                                      : cast<ViewType>(source).getElementType();
  if (tile.getElementType() != element)
    return op->emitOpError() << "element type mismatch: " << source << " holds "
                             << element << " but tile " << tile << " holds "
                             << tile.getElementType();
  if (!isPowerOf2Shape(tile.getShape()))
    return op->emitOpError() << "tile dimensions must be powers of two, got "
                             << shapeString(tile.getShape());
  if (isa<PtrType>(source)) {
    if (tile.getRank() != 1)
      return op->emitOpError() << "a pointer access is 1-D; tile " << tile << " has rank "
                               << tile.getRank() << " (use a !tile.view)";
    if (numOffsets != 1)
      return op->emitOpError() << "a pointer access takes 1 offset, got " << numOffsets;
  } else {
    unsigned rank = cast<ViewType>(source).getRank();
    if (hasBound)
      return op->emitOpError() << "'bound' is only for pointers; a view is bounded by "
                                  "its sizes";
    if (tile.getRank() != rank)
      return op->emitOpError() << "rank mismatch: view " << source << " has rank " << rank
                               << " but tile " << tile << " has rank " << tile.getRank();
    if (numOffsets != rank)
      return op->emitOpError() << "a rank-" << rank << " view takes " << rank
                               << " offsets, got " << numOffsets;
  }
  return verifyLayout(op, tile);
}

int64_t tile::numWarps(Operation *kernel) {
  if (auto attr = kernel->getAttrOfType<IntegerAttr>(kNumWarpsAttr))
    return attr.getInt();
  return 4;
}

int64_t tile::numCtas(Operation *kernel) {
  if (auto attr = kernel->getAttrOfType<IntegerAttr>(kNumCtasAttr))
    return attr.getInt();
  return 1;
}

LogicalResult LoadOp::verify() {
  if (getMulticast() && !isa<ViewType>(getSrc().getType()))
    return emitOpError("multicast loads a tile of a view, not of a pointer");
  return verifyGlobalAccess(*this, getSrc().getType(), getResult().getType(),
                            getOffsets().size(), getBound() != nullptr);
}

LogicalResult StoreOp::verify() {
  return verifyGlobalAccess(*this, getDst().getType(), getValue().getType(),
                            getOffsets().size(), getBound() != nullptr);
}

//===----------------------------------------------------------------------===//
// Gathers, scatters and atomics
//===----------------------------------------------------------------------===//

/// `tile` (the mask, value or result of an indexed access, named `what`) has
/// the offsets' shape and layout: element i goes with offset i, in one thread.
static LogicalResult verifyLikeOffsets(Operation *op, RankedTensorType offsets,
                                       RankedTensorType tile, StringRef what) {
  if (tile.getShape() != offsets.getShape())
    return op->emitOpError() << what << " " << tile << " must have the offsets' shape "
                             << shapeString(offsets.getShape());
  if (tile.getEncoding() != offsets.getEncoding())
    return op->emitOpError() << what << " " << tile << " must have the offsets' layout ("
                             << offsets << ")";
  return verifyLayout(op, tile);
}

/// Shared rules of gather, scatter and the atomics: offsets are an i32 or i64
/// tile of power-of-two dimensions; the mask is i1; `data` (the values read
/// or written) holds the pointer's element type.
static LogicalResult verifyIndexedAccess(Operation *op, PtrType ptr, RankedTensorType offsets,
                                         Value mask, RankedTensorType data, StringRef what) {
  if (!offsets.getElementType().isInteger(32) && !offsets.getElementType().isInteger(64))
    return op->emitOpError() << "offsets must be a tile of i32 or i64, got " << offsets;
  if (!isPowerOf2Shape(offsets.getShape()))
    return op->emitOpError() << "tile dimensions must be powers of two, got "
                             << shapeString(offsets.getShape());
  if (LogicalResult ok = verifyLayout(op, offsets); failed(ok))
    return ok;
  if (mask) {
    auto maskType = cast<RankedTensorType>(mask.getType());
    if (!maskType.getElementType().isInteger(1))
      return op->emitOpError() << "mask must be a tile of i1, got " << maskType;
    if (failed(verifyLikeOffsets(op, offsets, maskType, "mask")))
      return failure();
  }
  if (data.getElementType() != ptr.getElementType())
    return op->emitOpError() << "element type mismatch: " << ptr << " holds "
                             << ptr.getElementType() << " but " << what << " " << data
                             << " holds " << data.getElementType();
  return verifyLikeOffsets(op, offsets, data, what);
}

LogicalResult GatherOp::verify() {
  PtrType src = getSrc().getType();
  if (Value other = getOther(); other && other.getType() != src.getElementType())
    return emitOpError() << "'other' must be a scalar of the element type "
                         << src.getElementType() << ", got " << other.getType();
  return verifyIndexedAccess(*this, src, getOffsets().getType(), getMask(),
                             getResult().getType(), "result");
}

LogicalResult ScatterOp::verify() {
  return verifyIndexedAccess(*this, getDst().getType(), getOffsets().getType(), getMask(),
                             getValue().getType(), "value");
}

/// 32- or 64-bit: what PTX's atom.exch and atom.cas take.
static bool isWord(Type t) { return t.isF32() || t.isInteger(32) || t.isInteger(64); }

LogicalResult AtomicRMWOp::verify() {
  Type elt = getValue().getType().getElementType();
  bool supported = false;
  StringRef types;
  switch (getKind()) {
  case AtomicKind::add:
    supported = elt.isF32() || elt.isF16() || elt.isBF16() || elt.isInteger(32) ||
                elt.isInteger(64);
    types = "f32, f16, bf16, i32 or i64";
    break;
  case AtomicKind::max:
  case AtomicKind::min:
  case AtomicKind::xchg:
    supported = isWord(elt);
    types = "i32, i64 or f32";
    break;
  }
  if (!supported)
    return emitOpError() << "atomic " << stringifyAtomicKind(getKind()) << " takes " << types
                         << " elements, got " << elt;
  return verifyIndexedAccess(*this, getDst().getType(), getOffsets().getType(), getMask(),
                             getValue().getType(), "value");
}

LogicalResult AtomicCASOp::verify() {
  Type elt = getValue().getType().getElementType();
  if (!isWord(elt))
    return emitOpError() << "atomic compare-and-swap takes i32, i64 or f32 elements, got "
                         << elt;
  return verifyIndexedAccess(*this, getDst().getType(), getOffsets().getType(), getMask(),
                             getValue().getType(), "value");
}

//===----------------------------------------------------------------------===//
// Signals between programs
//===----------------------------------------------------------------------===//

/// Flags are 32-bit integers (the width of PTX's acquire loads and release
/// stores), ordered among programs: of one GPU (gpu) or of all of them (sys);
/// a CTA's threads order through its barriers, not flags.
static LogicalResult verifyFlags(Operation *op, PtrType flags, MemoryScope scope) {
  if (!flags.getElementType().isInteger(32))
    return op->emitOpError() << "flags must be an array of i32, got " << flags;
  if (scope == MemoryScope::cta)
    return op->emitOpError() << "scope must be gpu or sys (flags order programs), got cta";
  return success();
}

LogicalResult NotifyOp::verify() {
  return verifyFlags(*this, getFlags().getType(), getScope());
}
LogicalResult WaitFlagOp::verify() {
  return verifyFlags(*this, getFlags().getType(), getScope());
}

//===----------------------------------------------------------------------===//
// Filling and indices
//===----------------------------------------------------------------------===//

LogicalResult SplatOp::verify() {
  if (getValue().getType() != getResult().getType().getElementType())
    return emitOpError() << "scalar type " << getValue().getType()
                         << " differs from the tile's element type "
                         << getResult().getType().getElementType();
  return verifyLayout(*this, getResult().getType());
}

OpFoldResult SplatOp::fold(FoldAdaptor adaptor) {
  if (auto value = adaptor.getValue())
    if (isa<IntegerAttr, FloatAttr>(value))
      return SplatElementsAttr::get(getResult().getType(), value);
  return {};
}

LogicalResult IotaOp::verify() {
  RankedTensorType type = getResult().getType();
  if (type.getRank() != 1 || !type.getElementType().isInteger(32))
    return emitOpError() << "result must be a 1-D tile of i32, got " << type;
  return verifyLayout(*this, type);
}

//===----------------------------------------------------------------------===//
// Matrix multiply
//===----------------------------------------------------------------------===//

static std::pair<ArrayRef<int64_t>, Type> shapeAndElement(Type t) {
  if (auto tensor = dyn_cast<RankedTensorType>(t))
    return {tensor.getShape(), tensor.getElementType()};
  auto shared = cast<SharedType>(t);
  return {shared.getShape(), shared.getElementType()};
}

LogicalResult MmaOp::verify() {
  auto [aShape, aElt] = shapeAndElement(getA().getType());
  auto [bShape, bElt] = shapeAndElement(getB().getType());
  RankedTensorType acc = getAcc().getType();
  if (aShape.size() != 2 || bShape.size() != 2 || acc.getRank() != 2)
    return emitOpError() << "operands must be 2-D; a is " << shapeString(aShape)
                         << ", b is " << shapeString(bShape) << ", acc is "
                         << shapeString(acc.getShape());
  if (getResult().getType() != acc)
    return emitOpError() << "result type " << getResult().getType()
                         << " differs from the accumulator type " << acc;
  int64_t m = getTransposeA() ? aShape[1] : aShape[0];
  int64_t ka = getTransposeA() ? aShape[0] : aShape[1];
  int64_t kb = getTransposeB() ? bShape[1] : bShape[0];
  int64_t n = getTransposeB() ? bShape[0] : bShape[1];
  if (ka != kb)
    return emitOpError() << "K mismatch: a (" << shapeString(aShape)
                         << (getTransposeA() ? ", transposed" : "") << ") has K = " << ka
                         << " but b (" << shapeString(bShape)
                         << (getTransposeB() ? ", transposed" : "") << ") has K = " << kb;
  if (acc.getDimSize(0) != m || acc.getDimSize(1) != n)
    return emitOpError() << "accumulator is " << shapeString(acc.getShape())
                         << " but a·b is " << m << "x" << n;
  if (m % 16 || n % 16 || ka % 16)
    return emitOpError() << "M, N and K must be multiples of 16, got M = " << m
                         << ", N = " << n << ", K = " << ka;
  bool aFp8 = isa<Float8E4M3FNType, Float8E5M2Type>(aElt);
  bool bFp8 = isa<Float8E4M3FNType, Float8E5M2Type>(bElt);
  if (aFp8 != bFp8 || (!aFp8 && aElt != bElt))
    return emitOpError() << "a holds " << aElt << " but b holds " << bElt
                         << "; tensor cores need both bf16, both f16 or both fp8";
  if (!aFp8 && !aElt.isBF16() && !aElt.isF16())
    return emitOpError() << "operands must be bf16, f16 or fp8, got " << aElt;
  Type accElt = acc.getElementType();
  // WGMMA's f16 accumulators (packed pairs) are not lowered: one rule for the
  // interpreter and the GPU.
  if (!accElt.isF32())
    return emitOpError() << "accumulator must be f32, got " << accElt
                         << " (accumulate in f32, then convert the result with .to())";
  return verifyLayout(*this, acc);
}

//===----------------------------------------------------------------------===//
// Reductions, broadcasts, layout
//===----------------------------------------------------------------------===//

/// `full` with dimension `dim` removed equals `reduced`.
static bool dropsDim(ArrayRef<int64_t> full, ArrayRef<int64_t> reduced, int64_t dim) {
  SmallVector<int64_t> expected(full);
  expected.erase(expected.begin() + dim);
  return ArrayRef<int64_t>(expected) == reduced;
}

/// A reduction's or scan's `dim` within the tile, and an element type the
/// lowering combines (f32, i32 or i64: the frontend computes narrower types in these).
static LogicalResult verifyCombined(Operation *op, RankedTensorType src, int64_t dim,
                                    StringRef verb) {
  if (dim < 0 || dim >= src.getRank())
    return op->emitOpError() << "dim " << dim << " is out of range for a rank-"
                             << src.getRank() << " tile";
  Type elt = src.getElementType();
  if (!elt.isF32() && !elt.isInteger(32) && !elt.isInteger(64))
    return op->emitOpError() << verb << " f32, i32 or i64 tiles, got " << elt;
  return success();
}

LogicalResult ReduceOp::verify() {
  RankedTensorType src = getSrc().getType();
  int64_t dim = getDim();
  if (failed(verifyCombined(*this, src, dim, "reduces")))
    return failure();
  bool isArg = getKind() == ReduceKind::argmax || getKind() == ReduceKind::argmin;
  Type resultElt = getElementTypeOrSelf(getResult().getType());
  if (isArg && !resultElt.isInteger(32))
    return emitOpError() << stringifyReduceKind(getKind()) << " gives i32 indices, got "
                         << resultElt;
  if (!isArg && src.getElementType() != resultElt)
    return emitOpError() << "element type changes from " << src.getElementType() << " to "
                         << resultElt;
  auto result = dyn_cast<RankedTensorType>(getResult().getType());
  if (!result) { // every dimension (argmax/argmin: the row-major index)
    if (dim != 0)
      return emitOpError() << "reduces every dimension to a scalar with dim = 0, got dim "
                           << dim;
    return verifyLayout(*this, src);
  }
  if (src.getRank() == 1)
    return emitOpError() << "reduces a 1-D tile to a scalar, got " << result;
  if (!dropsDim(src.getShape(), result.getShape(), dim))
    return emitOpError() << "reducing " << shapeString(src.getShape()) << " along dim "
                         << dim << " gives a different shape than "
                         << shapeString(result.getShape());
  if (auto slice = dyn_cast_or_null<SliceLayoutAttr>(result.getEncoding()))
    if (slice.getDim() != dim || slice.getParent() != src.getEncoding())
      return emitOpError() << "result layout " << slice
                           << " is not the slice of the source layout along dim " << dim;
  return verifyLayout(*this, src);
}

LogicalResult ScanOp::verify() {
  RankedTensorType src = getSrc().getType();
  if (failed(verifyCombined(*this, src, getDim(), "scans")))
    return failure();
  return verifyLayout(*this, src);
}

LogicalResult SortOp::verify() {
  RankedTensorType src = getSrc().getType(), indices = getIndices().getType();
  if (failed(verifyCombined(*this, src, getDim(), "sorts")))
    return failure();
  if (!llvm::isPowerOf2_64(src.getDimSize(getDim())))
    return emitOpError() << "sorts rows of a power-of-two length, got "
                         << src.getDimSize(getDim());
  if (indices.getShape() != src.getShape() || !indices.getElementType().isInteger(32) ||
      indices.getEncoding() != src.getEncoding())
    return emitOpError() << "indices must be i32 of the source's shape and layout, got "
                         << indices;
  return verifyLayout(*this, src);
}

LogicalResult TakeOp::verify() {
  RankedTensorType src = getSrc().getType(), index = getIndex().getType();
  RankedTensorType result = getResult().getType();
  int64_t dim = getDim();
  if (failed(verifyCombined(*this, src, dim, "takes from")))
    return failure();
  if (!index.getElementType().isInteger(32) || index.getRank() != src.getRank())
    return emitOpError() << "index must be an i32 tile of the source's rank, got " << index;
  for (int64_t d = 0; d < src.getRank(); ++d)
    if (d != dim && index.getDimSize(d) != src.getDimSize(d))
      return emitOpError() << "index must have the source's size in every dim but " << dim
                           << ", got " << shapeString(index.getShape()) << " for "
                           << shapeString(src.getShape());
  if (result.getShape() != index.getShape() || result.getElementType() != src.getElementType() ||
      result.getEncoding() != index.getEncoding())
    return emitOpError() << "result must have the index's shape and layout and the source's "
                         << "element type, got " << result;
  return verifyLayout(*this, result);
}

LogicalResult BroadcastOp::verify() {
  RankedTensorType src = getSrc().getType(), result = getResult().getType();
  int64_t dim = getDim();
  if (dim < 0 || dim >= result.getRank())
    return emitOpError() << "dim " << dim << " is out of range for a rank-"
                         << result.getRank() << " result";
  if (src.getElementType() != result.getElementType())
    return emitOpError() << "element type changes from " << src.getElementType()
                         << " to " << result.getElementType();
  if (!dropsDim(result.getShape(), src.getShape(), dim))
    return emitOpError() << "broadcasting " << shapeString(src.getShape())
                         << " along new dim " << dim << " cannot give "
                         << shapeString(result.getShape());
  return verifyLayout(*this, result);
}

LogicalResult TransposeOp::verify() {
  RankedTensorType src = getSrc().getType(), result = getResult().getType();
  if (src.getRank() != 2 || result.getRank() != 2 ||
      src.getDimSize(0) != result.getDimSize(1) ||
      src.getDimSize(1) != result.getDimSize(0) ||
      src.getElementType() != result.getElementType())
    return emitOpError() << "transposing " << src << " cannot give " << result;
  return verifyLayout(*this, result);
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  if (auto inner = getSrc().getDefiningOp<TransposeOp>())
    if (inner.getSrc().getType() == getType())
      return inner.getSrc();
  return {};
}

LogicalResult ConvertLayoutOp::verify() {
  RankedTensorType src = getSrc().getType(), result = getResult().getType();
  if (src.getShape() != result.getShape() ||
      src.getElementType() != result.getElementType())
    return emitOpError() << "converts the layout only; " << src << " and " << result
                         << " differ in shape or element type";
  return verifyLayout(*this, result);
}

OpFoldResult ConvertLayoutOp::fold(FoldAdaptor) {
  if (getSrc().getType() == getType())
    return getSrc();
  return {};
}

//===----------------------------------------------------------------------===//
// Shared memory
//===----------------------------------------------------------------------===//

static LogicalResult verifySharedTile(Operation *op, SharedType shared,
                                      RankedTensorType tile) {
  if (shared.getShape() != tile.getShape() ||
      shared.getElementType() != tile.getElementType())
    return op->emitOpError() << "shared tile " << shared << " and register tile " << tile
                             << " differ in shape or element type";
  return verifyLayout(op, tile);
}

LogicalResult LoadSharedOp::verify() {
  return verifySharedTile(*this, getSrc().getType(), getResult().getType());
}

LogicalResult StoreSharedOp::verify() {
  SharedType dst = getDst().getType();
  RankedTensorType tile = getValue().getType();
  if (getColumn() == 0 && dst.getShape() == tile.getShape())
    return verifySharedTile(*this, dst, tile);
  // A window of columns.
  if (tile.getRank() != 2 || dst.getShape().size() != 2 ||
      dst.getShape()[0] != tile.getDimSize(0) || dst.getElementType() != tile.getElementType())
    return emitOpError() << "a window of columns of a 2-D register tile goes into a shared "
                            "tile of as many rows and the same element type; got "
                         << tile << " into " << dst;
  if (getColumn() + dst.getShape()[1] > tile.getDimSize(1))
    return emitOpError() << "columns " << getColumn() << " .. "
                         << getColumn() + dst.getShape()[1] - 1 << " are outside " << tile;
  return verifyLayout(*this, tile);
}

/// A TMA copy between a view's box and a shared tile (either direction).
static LogicalResult verifyBoxCopy(Operation *op, ViewType view, SharedType shared,
                                   size_t numOffsets) {
  if (view.getElementType() != shared.getElementType())
    return op->emitOpError() << "element type mismatch: view " << view << " but shared tile "
                             << shared;
  if (view.getRank() != shared.getShape().size())
    return op->emitOpError() << "rank mismatch: view " << view << " but shared tile " << shared;
  if (numOffsets != view.getRank())
    return op->emitOpError() << "a rank-" << view.getRank() << " view takes " << view.getRank()
                             << " offsets, got " << numOffsets;
  for (int64_t d : shared.getShape())
    if (d > 256)
      return op->emitOpError() << "a TMA box is at most 256 elements a dimension; shared tile "
                               << shared << " has " << d;
  return success();
}

LogicalResult AsyncLoadOp::verify() {
  return verifyBoxCopy(*this, getSrc().getType(), getDst().getType(), getOffsets().size());
}

LogicalResult AsyncStoreOp::verify() {
  return verifyBoxCopy(*this, getDst().getType(), getSrc().getType(), getOffsets().size());
}

LogicalResult StageOp::verify() {
  Type src = getSrc().getType(), result = getResult().getType();
  if (auto bars = dyn_cast<MBarrierType>(src)) {
    auto one = dyn_cast<MBarrierType>(result);
    if (!one || one.getCount() != 1)
      return emitOpError() << "a stage of " << src << " is one '!tile.mbarrier', not " << result;
    return success();
  }
  auto buffer = cast<SharedType>(src);
  auto stage = dyn_cast<SharedType>(result);
  if (!stage || buffer.getShape().size() < 2 ||
      buffer.getShape().drop_front() != stage.getShape() ||
      buffer.getElementType() != stage.getElementType() ||
      buffer.getSwizzle() != stage.getSwizzle())
    return emitOpError() << "a stage of " << src << " drops its first dimension; got " << result;
  return success();
}

LogicalResult WarpSpecializeOp::verify() {
  auto func = dyn_cast<func::FuncOp>((*this)->getParentOp());
  if (!func || !func->hasAttr(kKernelAttr))
    return emitOpError() << "must be directly in the body of a tile.kernel function";
  // The producer is one thread: it may not hold register tiles.
  WalkResult tiles = getProducer().walk([](Operation *op) {
    for (Type t : llvm::concat<const Type>(op->getOperandTypes(), op->getResultTypes()))
      if (isa<RankedTensorType>(t))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (tiles.wasInterrupted())
    return emitOpError() << "the producer runs on one thread and cannot hold register tiles";
  if (llvm::count_if(func.getOps<WarpSpecializeOp>(), [](auto) { return true; }) > 1)
    return emitOpError() << "a kernel has at most one warp_specialize";
  return success();
}

/// Turns are taken by consumer warpgroups, so the ops live in a consumer region.
static LogicalResult verifyInConsumer(Operation *op) {
  auto ws = op->getParentOfType<WarpSpecializeOp>();
  if (!ws || !ws.getConsumer().isAncestor(op->getParentRegion()))
    return op->emitOpError() << "must be in the consumer region of a tile.warp_specialize";
  return success();
}

LogicalResult TurnWaitOp::verify() { return verifyInConsumer(*this); }
LogicalResult TurnPassOp::verify() { return verifyInConsumer(*this); }
