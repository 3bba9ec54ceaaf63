// Elementwise arith/math. Each op becomes the same op on the thread's
// registers; upstream's patterns then lower it in convert-gpu-to-nvvm, where
// math functions without an LLVM intrinsic (tanh, erf, sin, cos, rsqrt, ...)
// become libdevice calls that gpu-module-to-binary links (docs/passes.md has
// what each op becomes). The ops below lower here instead, on tiles and
// scalars alike, so that a value computes the same either way:
// - math.exp/exp2/log: the SFU's ex2/lg2 (f16 and bf16 through f32);
// - arith.divf with afn (tile.fdiv): div.full.f32;
// - math.absi: llvm.abs, which PTX has as abs.s16/abs.s32 (libdevice has
//   abs only for i32 and i64: i8 and i16 found no lowering);
// - arith.fptosi to i8: clamped first (LLVM converts through cvt.rzi.s16 and
//   keeps the low byte; wider results saturate in cvt itself);
// - conversions to and from fp8 (tiles only): PTX's cvt.
#include "Conversion/TileToGPU/Patterns.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::tile;

namespace {

bool isFp8(Type t) { return isa<Float8E4M3FNType, Float8E5M2Type>(t); }

enum class Rule { asItself, sfu, fastDivision, integerAbs, fp8Conversion, saturateToI8 };

Rule ruleFor(Operation *op) {
  if (op->getNumResults() != 1 || op->getNumOperands() == 0)
    return Rule::asItself;
  Type from = getElementTypeOrSelf(op->getOperand(0).getType());
  Type to = getElementTypeOrSelf(op->getResult(0).getType());
  if (isa<math::ExpOp, math::Exp2Op, math::LogOp>(op) &&
      isa<Float32Type, Float16Type, BFloat16Type>(to))
    return Rule::sfu;
  if (auto div = dyn_cast<arith::DivFOp>(op);
      div && to.isF32() && arith::bitEnumContainsAll(div.getFastmath(), arith::FastMathFlags::afn))
    return Rule::fastDivision;
  if (isa<math::AbsIOp>(op))
    return Rule::integerAbs;
  if (isa<arith::FPToSIOp>(op) && to.isInteger(8))
    return Rule::saturateToI8;
  if (isa<arith::ExtFOp, arith::TruncFOp>(op) && (isFp8(from) || isFp8(to)))
    return Rule::fp8Conversion;
  return Rule::asItself;
}

/// exp, exp2 and log on f32 through the SFU's ex2/lg2 (as Triton and
/// ThunderKittens do), element by element; f16 and bf16 are computed in f32
/// and rounded back (the frontend promotes them already; hand-written IR
/// gets the same).
Value specialFunction(OpBuilder &b, Location loc, Operation *op, Value x) {
  Type f32 = b.getF32Type(), type = x.getType();
  if (type != f32)
    x = arith::ExtFOp::create(b, loc, f32, x);
  auto scale = [&](Value v, double s) {
    return arith::MulFOp::create(b, loc, v, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(s)));
  };
  auto call = [&](StringRef intrinsic, Value v) {
    return LLVM::CallIntrinsicOp::create(b, loc, f32, b.getStringAttr(intrinsic), ValueRange{v})
        .getResult(0);
  };
  Value y;
  if (isa<math::Exp2Op>(op))
    y = call("llvm.nvvm.ex2.approx.ftz.f", x);
  else if (isa<math::ExpOp>(op))
    y = call("llvm.nvvm.ex2.approx.ftz.f", scale(x, 1.4426950408889634));
  else
    y = scale(call("llvm.nvvm.lg2.approx.ftz.f", x), 0.6931471805599453); // math.log
  return type == f32 ? y : arith::TruncFOp::create(b, loc, type, y).getResult();
}

/// One element converted to or from fp8 (held as its i8 bits) through PTX's
/// cvt, which goes between fp8 pairs and f16 pairs (to fp8: from f32, rounded
/// to nearest and saturated to the largest finite value, as the hardware
/// only offers); other types go through f32 or f16.
Value convertFp8(OpBuilder &b, Location loc, Value x, Type from, Type to) {
  auto fp8Name = [](Type t) { return isa<Float8E4M3FNType>(t) ? "e4m3x2" : "e5m2x2"; };
  Type f16 = b.getF16Type(), f32 = b.getF32Type(), i16 = b.getI16Type();
  if (isFp8(from)) {
    Value pair = arith::ExtUIOp::create(b, loc, i16, x);
    Value halves = inlinePtx(b, loc, b.getI32Type(), {pair},
                             (Twine("cvt.rn.f16x2.") + fp8Name(from) + " $0, $1;").str(), "=r,h");
    Value half = arith::BitcastOp::create(b, loc, f16,
                                          arith::TruncIOp::create(b, loc, i16, halves));
    if (to == f16)
      return half;
    if (isFp8(to))
      return convertFp8(b, loc, convertFp8(b, loc, x, from, f32), f32, to);
    Value wide = arith::ExtFOp::create(b, loc, f32, half);
    return to == f32 ? wide : arith::TruncFOp::create(b, loc, to, wide).getResult();
  }
  if (from != f32)
    x = arith::ExtFOp::create(b, loc, f32, x);
  Value pair = inlinePtx(b, loc, i16, {x},
                         (Twine("cvt.rn.satfinite.") + fp8Name(to) + ".f32 $0, $1, $1;").str(),
                         "=h,f");
  return arith::TruncIOp::create(b, loc, b.getI8Type(), pair);
}

/// Elementwise arith/math ops on tiles become the same op on the thread's
/// registers (all operands share a layout: tile-assign-layouts sees to it);
/// the ops of `ruleFor` lower on their own, on tiles and scalars.
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
    Location loc = op->getLoc();
    auto vec = dyn_cast<VectorType>(types[0]);
    // Ops lowered register by register: `fn` makes one result from the
    // operands' elements at one position (a scalar op: from its operands).
    auto perElement = [&](function_ref<Value(ValueRange)> fn) {
      if (!vec) {
        rewriter.replaceOp(op, fn(operands));
        return success();
      }
      SmallVector<Value> elements;
      for (int64_t i = 0; i < vec.getNumElements(); ++i) {
        SmallVector<Value> xs;
        for (Value operand : operands)
          xs.push_back(vector::ExtractOp::create(rewriter, loc, operand, ArrayRef<int64_t>{i}));
        elements.push_back(fn(xs));
      }
      rewriter.replaceOpWithNewOp<vector::FromElementsOp>(op, vec, elements);
      return success();
    };
    switch (ruleFor(op)) {
    case Rule::sfu:
      return perElement([&](ValueRange x) { return specialFunction(rewriter, loc, op, x[0]); });
    case Rule::fastDivision: // tile.fdiv: the fast division, as Triton's `/` (div.full.f32)
      return perElement([&](ValueRange xy) {
        return LLVM::CallIntrinsicOp::create(rewriter, loc, rewriter.getF32Type(),
                                             rewriter.getStringAttr("llvm.nvvm.div.full"), xy)
            .getResult(0);
      });
    case Rule::integerAbs: // |INT_MIN| is INT_MIN, as abs.s32 and numpy give
      rewriter.replaceOpWithNewOp<LLVM::AbsOp>(op, types[0], operands[0],
                                               /*is_int_min_poison=*/false);
      return success();
    case Rule::fp8Conversion:
      if (vec) {
        Type from = getElementTypeOrSelf(op->getOperand(0).getType());
        Type to = getElementTypeOrSelf(op->getResult(0).getType());
        return perElement([&](ValueRange x) { return convertFp8(rewriter, loc, x[0], from, to); });
      }
      break;
    case Rule::saturateToI8: { // as cvt.rzi saturates wider results: NaN stays NaN, then 0
      Type from = operands[0].getType();
      auto bound = [&](double v) -> Value {
        TypedAttr scalar = rewriter.getFloatAttr(getElementTypeOrSelf(from), v);
        auto shaped = dyn_cast<VectorType>(from);
        return arith::ConstantOp::create(
            rewriter, loc, shaped ? TypedAttr(DenseElementsAttr::get(shaped, scalar)) : scalar);
      };
      Value low = arith::MaximumFOp::create(rewriter, loc, operands[0], bound(-128.0));
      Value clamped = arith::MinimumFOp::create(rewriter, loc, low, bound(127.0));
      rewriter.replaceOpWithNewOp<LLVM::FPToSIOp>(op, types[0], clamped);
      return success();
    }
    case Rule::asItself:
      break;
    }
    OperationState state(op->getLoc(), op->getName(), operands, types, op->getAttrs());
    rewriter.replaceOp(op, rewriter.create(state)->getResults());
    return success();
  }
};
} // namespace

bool tile::lowersOnItsOwn(Operation *op) {
  Rule rule = ruleFor(op);
  return rule != Rule::asItself && rule != Rule::fp8Conversion;
}

void tile::populateMathPatterns(TileTypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<ElementwiseLowering>(converter, patterns.getContext());
}
