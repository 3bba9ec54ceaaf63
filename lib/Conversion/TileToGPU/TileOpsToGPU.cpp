// Everything but global memory, elementwise math (MathToGPU.cpp), reductions
// and scans (ReduceToGPU.cpp) and debugging ops (DebugOpsToGPU.cpp): grid
// queries, constants, splat, iota, broadcast and layout changes (through
// shared memory).
#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::tile;

namespace {

template <typename SourceOp, typename GridOp>
struct GridQueryLowering : public OpConversionPattern<SourceOp> {
  using OpConversionPattern<SourceOp>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SourceOp op, typename SourceOp::Adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    static constexpr gpu::Dimension dims[] = {gpu::Dimension::x, gpu::Dimension::y,
                                              gpu::Dimension::z};
    Value id = GridOp::create(rewriter, op.getLoc(), dims[op.getAxis()]);
    rewriter.replaceOpWithNewOp<arith::IndexCastOp>(op, rewriter.getI32Type(), id);
    return success();
  }
};

/// A kernel's promise of divisibility is a fact for the analyses that ran
/// before this conversion (access widths, TMA); the value is itself.
struct AssumeMultipleLowering : public OpConversionPattern<AssumeMultipleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AssumeMultipleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getValue());
    return success();
  }
};

/// A pointer plus an element offset: one getelementptr (64-bit address math).
struct AddPtrLowering : public OpConversionPattern<AddPtrOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AddPtrOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type pointer = getTypeConverter()->convertType(op.getType());
    Type element = getTypeConverter()->convertType(op.getPtr().getType().getElementType());
    rewriter.replaceOpWithNewOp<LLVM::GEPOp>(op, pointer, element, adaptor.getPtr(),
                                             ValueRange{adaptor.getOffset()});
    return success();
  }
};

/// An mma's accumulator scaled by a row vector (online softmax's rescale,
/// `mma(p, v, acc * alpha[:, None])`) is multiplied only in warps where some
/// row's factor is not 1: once the running maxima settle (or a kernel keeps a
/// max until it grows by a margin, as FlashAttention-4), most key blocks
/// leave every row's factor at exactly 1, and the multiply costs issue slots
/// (one per accumulator register) in a loop they limit. Exact: x · 1 = x.
/// Only for accumulators of at least kMinRegisters registers a thread: on the
/// H100, attention with d128 (64 registers) gained 2-4 %, with d64 (32) the
/// vote and branch cost more than the multiplies (docs/perf-notes.md).
struct AccumulatorRescaleLowering : public OpConversionPattern<arith::MulFOp> {
  static constexpr int64_t kMinRegisters = 64;

  AccumulatorRescaleLowering(const TypeConverter &converter, MLIRContext *ctx)
      : OpConversionPattern(converter, ctx, /*benefit=*/2) {}

  /// The row-vector operand's broadcast, when `op` is such a rescale.
  static BroadcastOp rowScale(arith::MulFOp op) {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!type || !type.getElementType().isF32() ||
        !isa_and_nonnull<WgmmaLayoutAttr>(type.getEncoding()) || op->use_empty())
      return {};
    for (OpOperand &use : op->getUses()) {
      auto mma = dyn_cast<MmaOp>(use.getOwner());
      if (!mma || &use != &mma.getAccMutable())
        return {};
    }
    for (Value operand : {op.getLhs(), op.getRhs()})
      if (auto broadcast = operand.getDefiningOp<BroadcastOp>(); broadcast && broadcast.getDim() == 1)
        return broadcast;
    return {};
  }

  LogicalResult
  matchAndRewrite(arith::MulFOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    BroadcastOp broadcast = rowScale(op);
    if (!broadcast)
      return rewriter.notifyMatchFailure(op, "not an mma accumulator scaled by a row vector");
    Value rows = rewriter.getRemappedValue(broadcast.getSrc());
    auto rowsType = dyn_cast_or_null<VectorType>(rows ? rows.getType() : Type());
    if (!rowsType)
      return rewriter.notifyMatchFailure(op, "row vector not lowered yet");
    auto accType = cast<VectorType>(adaptor.getLhs().getType());
    if (accType.getNumElements() < kMinRegisters)
      return rewriter.notifyMatchFailure(op, "too few registers a thread to pay for the branch");
    Location loc = op.getLoc();
    Value one = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(1.0));
    Value scales = arith::ConstantIntOp::create(rewriter, loc, rewriter.getI1Type(), 0);
    for (int64_t r = 0; r < rowsType.getNumElements(); ++r) {
      Value factor = vector::ExtractOp::create(rewriter, loc, rows, ArrayRef<int64_t>{r});
      Value notOne = arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::UNE, factor, one);
      scales = arith::OrIOp::create(rewriter, loc, scales, notOne);
    }
    Value allLanes = arith::ConstantIntOp::create(rewriter, loc, rewriter.getI32Type(), -1);
    Value warpScales = NVVM::VoteSyncOp::create(rewriter, loc, rewriter.getI1Type(), allLanes,
                                                scales, NVVM::VoteSyncKind::any);
    Value acc = op.getLhs() == broadcast.getResult() ? adaptor.getRhs() : adaptor.getLhs();
    auto branch = scf::IfOp::create(
        rewriter, loc, warpScales,
        [&](OpBuilder &b, Location l) {
          // Register by register: one vector multiply looks cheap enough to
          // LLVM to run on both paths and select (a multiply and a select per
          // register instead of a skipped multiply).
          SmallVector<Value> products;
          for (int64_t i = 0; i < accType.getNumElements(); ++i) {
            Value x = vector::ExtractOp::create(b, l, adaptor.getLhs(), ArrayRef<int64_t>{i});
            Value y = vector::ExtractOp::create(b, l, adaptor.getRhs(), ArrayRef<int64_t>{i});
            products.push_back(arith::MulFOp::create(b, l, x, y, op.getFastmathAttr()));
          }
          scf::YieldOp::create(b, l,
                               vector::FromElementsOp::create(b, l, accType, products).getResult());
        },
        [&](OpBuilder &b, Location l) { scf::YieldOp::create(b, l, acc); });
    rewriter.replaceOp(op, branch.getResults());
    return success();
  }
};

/// Splat tile constants become splat register vectors. A WGMMA accumulator
/// that starts a loop (acc = zeros; for k: acc = mma(.., acc)) is written by
/// one opaque mov a register, once before the loop: as a constant, LLVM
/// rematerializes it on each edge that needs it, also on the loop-skipping
/// edge into the wait after the loop, and there ptxas sees non-wgmma writes to
/// registers of in-flight wgmmas and serializes them all (C7515).
struct ConstantLowering : public OpConversionPattern<arith::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(arith::ConstantOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto splat = dyn_cast<SplatElementsAttr>(op.getValue());
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!splat || !type)
      return rewriter.notifyMatchFailure(op, "only splat tile constants lower");
    auto regs = cast<VectorType>(getTypeConverter()->convertType(type));
    bool startsLoop = llvm::any_of(op->getUsers(), [](Operation *u) { return isa<scf::ForOp>(u); });
    if (startsLoop && isa_and_nonnull<WgmmaLayoutAttr>(type.getEncoding()) &&
        regs.getElementType().isF32()) {
      Location loc = op.getLoc();
      Value value = arith::ConstantOp::create(rewriter, loc, splat.getSplatValue<FloatAttr>());
      SmallVector<Value> movs(regs.getNumElements());
      for (Value &mov : movs)
        mov = inlinePtx(rewriter, loc, rewriter.getF32Type(), value, "mov.b32 $0, $1;", "=f,f");
      rewriter.replaceOpWithNewOp<vector::FromElementsOp>(op, regs, movs);
      return success();
    }
    Attribute value = splat.getSplatValue<Attribute>();
    if (auto f = dyn_cast<FloatAttr>(value); f && regs.getElementType() != f.getType())
      value = IntegerAttr::get(regs.getElementType(), f.getValue().bitcastToAPInt()); // fp8 bits
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, SplatElementsAttr::get(regs, value));
    return success();
  }
};

struct SplatLowering : public OpConversionPattern<SplatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SplatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type regs = getTypeConverter()->convertType(op.getType());
    rewriter.replaceOpWithNewOp<vector::BroadcastOp>(op, regs, adaptor.getValue());
    return success();
  }
};

struct IotaLowering : public OpConversionPattern<IotaOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(IotaOp op, OpAdaptor, ConversionPatternRewriter &rewriter) const override {
    FailureOr<ThreadLayout> layout = ThreadLayout::get(op.getType());
    if (failed(layout))
      return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
    Location loc = op.getLoc();
    Value tid = threadId(rewriter, loc);
    SmallVector<Value> elements;
    for (int64_t r = 0; r < layout->numRegisters(); ++r)
      elements.push_back(arith::TruncIOp::create(rewriter, loc, rewriter.getI32Type(),
                                                 layout->coords(rewriter, loc, tid, r)[0]));
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(
        op, getTypeConverter()->convertType(op.getType()), elements);
    return success();
  }
};

/// A vector laid out as a slice of the result's layout: each result register
/// copies the vector register of its row (or column).
struct BroadcastLowering : public OpConversionPattern<BroadcastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BroadcastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto slice = dyn_cast_or_null<SliceLayoutAttr>(op.getSrc().getType().getEncoding());
    if (!slice || slice.getDim() != op.getDim() ||
        slice.getParent() != op.getType().getEncoding())
      return rewriter.notifyMatchFailure(op, "source must be the slice of the result layout");
    FailureOr<ThreadLayout> layout = ThreadLayout::get(op.getType());
    if (failed(layout))
      return failure();
    SmallVector<int64_t> mask;
    for (int64_t r = 0; r < layout->numRegisters(); ++r)
      mask.push_back(layout->sliceRegister(r, op.getDim()));
    rewriter.replaceOpWithNewOp<vector::ShuffleOp>(op, adaptor.getSrc(), adaptor.getSrc(), mask);
    return success();
  }
};

/// Moves elements between layouts through shared memory: owners write their
/// registers at the element's row-major index, then every thread reads the
/// elements of its new registers. `transpose` reads element (j, i) for (i, j).
LogicalResult exchange(Operation *op, Value src, RankedTensorType srcType,
                       RankedTensorType dstType, bool transpose,
                       ConversionPatternRewriter &rewriter, const TypeConverter *converter,
                       LoweringState &state) {
  FailureOr<ThreadLayout> from = ThreadLayout::get(srcType), to = ThreadLayout::get(dstType);
  if (failed(from) || failed(to))
    return rewriter.notifyMatchFailure(op, "needs laid-out tiles");
  Location loc = op->getLoc();
  Type elt = registerType(srcType.getElementType());
  int64_t bytes = std::max<int64_t>(1, elt.getIntOrFloatBitWidth() / 8);
  state.scratchBytes = std::max(state.scratchBytes, srcType.getNumElements() * bytes);
  Value scratch = sharedScratch(rewriter, loc, state);
  Value tid = threadId(rewriter, loc);
  auto addressOf = [&](SmallVector<Value> coords) {
    return LLVM::GEPOp::create(rewriter, loc, scratch.getType(), elt, scratch,
                               ValueRange{rowMajorIndex(rewriter, loc, coords, srcType.getShape())});
  };
  gpu::BarrierOp::create(rewriter, loc);
  Value owner = from->owner(rewriter, loc, tid);
  for (int64_t r = 0; r < from->numRegisters(); ++r) {
    Value x = vector::ExtractOp::create(rewriter, loc, src, ArrayRef<int64_t>{r});
    Value addr = addressOf(from->coords(rewriter, loc, tid, r));
    if (owner)
      scf::IfOp::create(rewriter, loc, owner, [&](OpBuilder &b, Location l) {
        LLVM::StoreOp::create(b, l, x, addr);
        scf::YieldOp::create(b, l);
      });
    else
      LLVM::StoreOp::create(rewriter, loc, x, addr);
  }
  gpu::BarrierOp::create(rewriter, loc);
  SmallVector<Value> elements;
  for (int64_t r = 0; r < to->numRegisters(); ++r) {
    SmallVector<Value> coords = to->coords(rewriter, loc, tid, r);
    if (transpose)
      std::swap(coords[0], coords[1]);
    elements.push_back(LLVM::LoadOp::create(rewriter, loc, elt, addressOf(coords)));
  }
  rewriter.replaceOpWithNewOp<vector::FromElementsOp>(
      op, converter->convertType(dstType), elements);
  return success();
}

/// convert_layout and transpose (`transpose`): an exchange of registers.
template <typename OpTy, bool transpose>
struct ExchangeLowering : public StatefulPattern<OpTy> {
  using StatefulPattern<OpTy>::StatefulPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    return exchange(op, adaptor.getSrc(), op.getSrc().getType(), op.getType(), transpose,
                    rewriter, this->getTypeConverter(), this->state);
  }
};

struct BarrierLowering : public OpConversionPattern<BarrierOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BarrierOp op, OpAdaptor, ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<gpu::BarrierOp>(op);
    return success();
  }
};
} // namespace

void tile::populateTileOpPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                                  LoweringState &state) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<GridQueryLowering<ProgramIdOp, gpu::BlockIdOp>,
               GridQueryLowering<NumProgramsOp, gpu::GridDimOp>, ConstantLowering,
               SplatLowering, IotaLowering, BroadcastLowering, BarrierLowering,
               AssumeMultipleLowering, AddPtrLowering>(converter, ctx);
  patterns.add<AccumulatorRescaleLowering>(converter, ctx);
  patterns.add<ExchangeLowering<ConvertLayoutOp, /*transpose=*/false>,
               ExchangeLowering<TransposeOp, /*transpose=*/true>>(converter, ctx, state);
  populateReductionPatterns(converter, patterns, state);
  populateSortPatterns(converter, patterns, state);
  populateDebugPatterns(converter, patterns, state);
}
