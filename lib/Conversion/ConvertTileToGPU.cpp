// convert-tile-to-gpu: tile kernels (func.func + tile ops on laid-out tiles)
// become gpu.func kernels whose bodies are per-thread code. A register tile
// tensor<N x T, #tile.blocked> becomes the vector<R x T> of the R elements one
// thread holds, in layout order; elementwise arith/math ops keep their name
// and take the vectors.
#include "dialect/TilePasses.h"

#include "Analysis/Divisibility.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::tile {
#define GEN_PASS_DEF_CONVERTTILETOGPU
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;

namespace {

/// Where a 1-D laid-out tile's elements live: thread t, register r.
struct Layout1D {
  int64_t length;   // N, elements in the tile
  int64_t vec;      // contiguous elements per thread run
  int64_t coverage; // elements one pass of all threads covers
  int64_t repeats;  // passes needed (1 when the tile wraps)

  static FailureOr<Layout1D> get(RankedTensorType type) {
    auto blocked = dyn_cast_or_null<BlockedLayoutAttr>(type.getEncoding());
    if (!blocked || type.getRank() != 1)
      return failure();
    Layout1D l;
    l.length = type.getDimSize(0);
    l.vec = blocked.getSizePerThread()[0];
    l.coverage = blocked.getCoverage(0);
    l.repeats = std::max<int64_t>(1, l.length / l.coverage);
    return l;
  }
  int64_t registers() const { return repeats * vec; }
  /// True when some threads hold copies of elements others own.
  bool wraps() const { return length < coverage; }
};

/// Registers one thread holds for a laid-out tile.
int64_t registersPerThread(RankedTensorType type) {
  auto blocked = cast<BlockedLayoutAttr>(type.getEncoding());
  int64_t regs = 1;
  for (int64_t d = 0; d < type.getRank(); ++d)
    regs *= blocked.getSizePerThread()[d] *
            std::max<int64_t>(1, type.getDimSize(d) / blocked.getCoverage(d));
  return regs;
}

class TileTypeConverter : public TypeConverter {
public:
  explicit TileTypeConverter(MLIRContext *ctx) {
    addConversion([](Type t) { return t; });
    addConversion([ctx](PtrType) -> Type {
      return LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/1);
    });
    addConversion([](RankedTensorType t) -> std::optional<Type> {
      if (!isa_and_nonnull<BlockedLayoutAttr>(t.getEncoding()))
        return std::nullopt; // unlaid tiles cannot be lowered
      return VectorType::get({registersPerThread(t)}, t.getElementType());
    });
  }
};

Value threadIdI64(OpBuilder &b, Location loc) {
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), tid);
}

Value constI64(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
}

/// Elements per global access: as many of the thread's contiguous run as the
/// pointer, offset and bound alignment allow (all powers of two). Computed
/// before the conversion starts, while the IR still holds its facts.
int64_t accessWidth(const Layout1D &layout, Type elementType, Value ptr,
                    Value offset, Value bound) {
  int64_t bytes = elementType.getIntOrFloatBitWidth() / 8;
  int64_t width = std::min<int64_t>(layout.vec, 16 / std::max<int64_t>(bytes, 1));
  width = std::min(width, std::max<int64_t>(1, getDivisibility(ptr) / bytes));
  width = std::min(width, getDivisibility(offset));
  if (bound)
    width = std::min(width, getDivisibility(bound));
  return std::max<int64_t>(width, 1);
}

/// One global access of `width` elements: its global element index, and
/// where it sits in the thread's registers.
struct Access {
  Value index;      // i64 element index into the global array
  int64_t register_; // first register it fills
};

/// The accesses a thread makes for a 1-D tile at `offset`, in register order.
SmallVector<Access> threadAccesses(OpBuilder &b, Location loc,
                                   const Layout1D &layout, int64_t width,
                                   Value offset) {
  Value base = arith::ExtSIOp::create(b, loc, b.getI64Type(), offset);
  Value lane = arith::MulIOp::create(b, loc, threadIdI64(b, loc),
                                     constI64(b, loc, layout.vec));
  if (layout.wraps())
    lane = arith::AndIOp::create(b, loc, lane, constI64(b, loc, layout.length - 1));
  Value start = arith::AddIOp::create(b, loc, base, lane);
  SmallVector<Access> accesses;
  for (int64_t r = 0; r < layout.repeats; ++r)
    for (int64_t c = 0; c < layout.vec; c += width) {
      Value index = arith::AddIOp::create(
          b, loc, start, constI64(b, loc, r * layout.coverage + c));
      accesses.push_back({index, r * layout.vec + c});
    }
  return accesses;
}

/// `index < bound` for a bounded access (the access width divides the bound),
/// else no predicate.
Value inBounds(OpBuilder &b, Location loc, Value index, Value bound) {
  if (!bound)
    return {};
  Value bound64 = arith::ExtSIOp::create(b, loc, b.getI64Type(), bound);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, index, bound64);
}

Type accessType(Type elementType, int64_t width) {
  return width == 1 ? elementType : VectorType::get({width}, elementType);
}

using AccessWidths = llvm::DenseMap<Operation *, int64_t>;

template <typename OpTy>
int64_t accessWidth(OpTy op) {
  auto type = cast<RankedTensorType>(op->getOperand(0).getType());
  if constexpr (std::is_same_v<OpTy, LoadOp>)
    type = op.getResult().getType();
  FailureOr<Layout1D> layout = Layout1D::get(type);
  if (failed(layout))
    return 1;
  return accessWidth(*layout, type.getElementType(), op.getPtr(), op.getOffset(),
                     op.getBound());
}

template <typename OpTy>
struct GlobalAccessLowering : public OpConversionPattern<OpTy> {
  GlobalAccessLowering(const TypeConverter &converter, MLIRContext *ctx,
                       const AccessWidths &widths)
      : OpConversionPattern<OpTy>(converter, ctx), widths(widths) {}
  const AccessWidths &widths;
};

struct LoadOpLowering : public GlobalAccessLowering<LoadOp> {
  using GlobalAccessLowering::GlobalAccessLowering;
  LogicalResult
  matchAndRewrite(LoadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto tileType = op.getResult().getType();
    FailureOr<Layout1D> layout = Layout1D::get(tileType);
    if (failed(layout))
      return rewriter.notifyMatchFailure(op, "needs a 1-D #tile.blocked tile");
    Location loc = op.getLoc();
    Type elt = tileType.getElementType();
    int64_t width = widths.lookup(op);
    int64_t bytes = elt.getIntOrFloatBitWidth() / 8;
    Type regsType = VectorType::get({layout->registers()}, elt);
    Type chunkType = accessType(elt, width);
    Value result = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(regsType));
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(chunkType));
    for (Access access : threadAccesses(rewriter, loc, *layout, width, adaptor.getOffset())) {
      Value addr = LLVM::GEPOp::create(rewriter, loc, adaptor.getPtr().getType(), elt,
                                       adaptor.getPtr(), ValueRange{access.index});
      auto emitLoad = [&](OpBuilder &b, Location l) -> Value {
        return LLVM::LoadOp::create(b, l, chunkType, addr, width * bytes);
      };
      Value chunk;
      if (Value pred = inBounds(rewriter, loc, access.index, adaptor.getBound())) {
        auto ifOp = scf::IfOp::create(
            rewriter, loc, pred,
            [&](OpBuilder &b, Location l) { scf::YieldOp::create(b, l, emitLoad(b, l)); },
            [&](OpBuilder &b, Location l) { scf::YieldOp::create(b, l, zero); });
        chunk = ifOp.getResult(0);
      } else {
        chunk = emitLoad(rewriter, loc);
      }
      if (width == 1)
        result = vector::InsertOp::create(rewriter, loc, chunk, result,
                                          ArrayRef<int64_t>{access.register_});
      else
        result = vector::InsertStridedSliceOp::create(
            rewriter, loc, chunk, result, ArrayRef<int64_t>{access.register_},
            ArrayRef<int64_t>{1});
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct StoreOpLowering : public GlobalAccessLowering<StoreOp> {
  using GlobalAccessLowering::GlobalAccessLowering;
  LogicalResult
  matchAndRewrite(StoreOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto tileType = op.getValue().getType();
    FailureOr<Layout1D> layout = Layout1D::get(tileType);
    if (failed(layout))
      return rewriter.notifyMatchFailure(op, "needs a 1-D #tile.blocked tile");
    Location loc = op.getLoc();
    Type elt = tileType.getElementType();
    int64_t width = widths.lookup(op);
    int64_t bytes = elt.getIntOrFloatBitWidth() / 8;
    // Threads holding copies of a wrapped tile do not store them again.
    Value owner;
    if (layout->wraps()) {
      Value first = arith::MulIOp::create(rewriter, loc, threadIdI64(rewriter, loc),
                                          constI64(rewriter, loc, layout->vec));
      owner = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::slt, first,
                                    constI64(rewriter, loc, layout->length));
    }
    for (Access access : threadAccesses(rewriter, loc, *layout, width, adaptor.getOffset())) {
      Value chunk;
      if (width == 1)
        chunk = vector::ExtractOp::create(rewriter, loc, adaptor.getValue(),
                                          ArrayRef<int64_t>{access.register_});
      else
        chunk = vector::ExtractStridedSliceOp::create(
            rewriter, loc, adaptor.getValue(), ArrayRef<int64_t>{access.register_},
            ArrayRef<int64_t>{width}, ArrayRef<int64_t>{1});
      Value addr = LLVM::GEPOp::create(rewriter, loc, adaptor.getPtr().getType(), elt,
                                       adaptor.getPtr(), ValueRange{access.index});
      Value pred = inBounds(rewriter, loc, access.index, adaptor.getBound());
      if (owner)
        pred = pred ? arith::AndIOp::create(rewriter, loc, pred, owner).getResult() : owner;
      auto emitStore = [&](OpBuilder &b, Location l) {
        LLVM::StoreOp::create(b, l, chunk, addr, width * bytes);
      };
      if (pred) {
        scf::IfOp::create(rewriter, loc, pred, [&](OpBuilder &b, Location l) {
          emitStore(b, l);
          scf::YieldOp::create(b, l);
        });
      } else {
        emitStore(rewriter, loc);
      }
    }
    rewriter.eraseOp(op);
    return success();
  }
};

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

/// Elementwise arith/math ops on tiles become the same op on the thread's
/// registers: the layout is the same for all operands (checked by legality).
struct ElementwiseLowering : public ConversionPattern {
  ElementwiseLowering(const TypeConverter &converter, MLIRContext *ctx)
      : ConversionPattern(converter, MatchAnyOpTypeTag(), 1, ctx) {}
  LogicalResult
  matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<arith::ArithDialect, math::MathDialect>(op->getDialect()) ||
        !op->hasTrait<OpTrait::Elementwise>() || op->getNumRegions() != 0)
      return failure();
    SmallVector<Type> types;
    if (failed(getTypeConverter()->convertTypes(op->getResultTypes(), types)))
      return failure();
    OperationState state(op->getLoc(), op->getName(), operands, types, op->getAttrs());
    rewriter.replaceOp(op, rewriter.create(state)->getResults());
    return success();
  }
};

/// Splat tile constants become splat register vectors.
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
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, SplatElementsAttr::get(regs, splat.getSplatValue<Attribute>()));
    return success();
  }
};

/// Moves a converted kernel func.func into `gpuModule` as a gpu.func kernel.
void moveKernelToGPU(func::FuncOp func, gpu::GPUModuleOp gpuModule) {
  OpBuilder b(gpuModule.getBody(), gpuModule.getBody()->end());
  int64_t numWarps = 4;
  if (auto attr = func->getAttrOfType<IntegerAttr>(kNumWarpsAttr))
    numWarps = attr.getInt();
  auto kernel = gpu::GPUFuncOp::create(b, func.getLoc(), func.getName(),
                                       func.getFunctionType());
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  kernel.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({int32_t(numWarps * 32), 1, 1}));
  kernel->setAttr(kNumWarpsAttr, b.getI32IntegerAttr(numWarps));
  if (ArrayAttr argAttrs = func.getAllArgAttrs())
    kernel.setAllArgAttrs(argAttrs);
  Region &body = kernel.getBody();
  body.getBlocks().clear();
  body.takeBody(func.getBody());
  body.walk([](func::ReturnOp ret) {
    OpBuilder rb(ret);
    gpu::ReturnOp::create(rb, ret.getLoc());
    ret.erase();
  });
  func.erase();
}

struct ConvertTileToGPU
    : public tile::impl::ConvertTileToGPUBase<ConvertTileToGPU> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<func::FuncOp> kernels;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(kKernelAttr))
        kernels.push_back(func);
    if (kernels.empty())
      return;

    TileTypeConverter converter(ctx);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<TileDialect>();
    target.addLegalDialect<gpu::GPUDialect, LLVM::LLVMDialect, vector::VectorDialect>();
    target.addLegalOp<scf::YieldOp>();
    target.addDynamicallyLegalDialect<arith::ArithDialect, math::MathDialect>(
        [&](Operation *op) { return converter.isLegal(op); });
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType());
    });
    target.addLegalOp<func::ReturnOp>();

    AccessWidths widths;
    for (func::FuncOp kernel : kernels)
      kernel.walk([&](Operation *op) {
        if (auto load = dyn_cast<LoadOp>(op))
          widths[op] = accessWidth(load);
        else if (auto store = dyn_cast<StoreOp>(op))
          widths[op] = accessWidth(store);
      });

    RewritePatternSet patterns(ctx);
    patterns.add<LoadOpLowering, StoreOpLowering>(converter, ctx, widths);
    patterns.add<ConstantLowering,
                 GridQueryLowering<ProgramIdOp, gpu::BlockIdOp>,
                 GridQueryLowering<NumProgramsOp, gpu::GridDimOp>>(converter, ctx);
    patterns.add<ElementwiseLowering>(converter, ctx);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, converter);
    scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns, target);

    FrozenRewritePatternSet frozen(std::move(patterns));
    for (func::FuncOp kernel : kernels)
      if (failed(applyPartialConversion(kernel, target, frozen)))
        return signalPassFailure();

    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = gpu::GPUModuleOp::create(b, module.getLoc(), "tile_kernels");
    for (func::FuncOp kernel : kernels)
      moveKernelToGPU(kernel, gpuModule);
  }
};
} // namespace
