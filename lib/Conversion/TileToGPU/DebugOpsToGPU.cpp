// tile.print (gpu.printf, which convert-gpu-to-nvvm makes a vprintf call) and
// tile.assert (CUDA's __assertfail, with the kernel's file:line). Both become
// nothing unless the kernel is compiled with debug: a call in a kernel costs
// registers and makes ptxas serialize its wgmmas.
#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::tile;

namespace {

/// A value as printf takes it, and its conversion: floats as f32 (the
/// lowering passes them as double), integers of 32 bits or fewer as i32.
std::pair<Value, StringRef> printable(OpBuilder &b, Location loc, Value v) {
  Type t = v.getType();
  if (isa<FloatType>(t)) {
    if (!t.isF32())
      v = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    return {v, "%f"};
  }
  if (t.isInteger(64))
    return {v, "%lld"};
  if (t.isInteger(1))
    return {arith::ExtUIOp::create(b, loc, b.getI32Type(), v), "%d"};
  if (!t.isInteger(32))
    v = arith::ExtSIOp::create(b, loc, b.getI32Type(), v);
  return {v, "%d"};
}

/// printf treats '%' as a conversion: the user's text prints as written.
std::string escaped(StringRef text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '%')
      out += '%';
  }
  return out;
}

/// A debug op: lowered by `lowerForDebug` when the kernel is compiled with
/// debug, else erased (it costs nothing in a kernel built without).
template <typename OpTy>
struct DebugOnlyPattern : public StatefulPattern<OpTy> {
  using StatefulPattern<OpTy>::StatefulPattern;

  virtual LogicalResult lowerForDebug(OpTy op, typename OpTy::Adaptor adaptor,
                                      ConversionPatternRewriter &rewriter) const = 0;

  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const final {
    if (!this->state.debug) {
      rewriter.eraseOp(op);
      return success();
    }
    return lowerForDebug(op, adaptor, rewriter);
  }
};

/// "pid (x, y, z) idx (i, j) <format> (operand n): <value>": scalars by the
/// CTA's first thread, each tile element once, by the thread that owns it.
struct PrintLowering : public DebugOnlyPattern<PrintOp> {
  using DebugOnlyPattern::DebugOnlyPattern;

  LogicalResult lowerForDebug(PrintOp op, OpAdaptor adaptor,
                              ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    SmallVector<Value> pid;
    for (gpu::Dimension d : {gpu::Dimension::x, gpu::Dimension::y, gpu::Dimension::z})
      pid.push_back(arith::IndexCastOp::create(rewriter, loc, rewriter.getI32Type(),
                                               gpu::BlockIdOp::create(rewriter, loc, d)));
    std::string text = escaped(op.getFormat());
    Value tid = threadId(rewriter, loc);
    auto print = [&](OpBuilder &b, Location l, ArrayRef<Value> index, Value value, size_t n) {
      std::string format = "pid (%d, %d, %d)";
      SmallVector<Value> args(pid);
      if (!index.empty()) {
        format += " idx (";
        for (auto [i, coord] : llvm::enumerate(index)) {
          format += i ? ", %lld" : "%lld";
          args.push_back(coord);
        }
        format += ")";
      }
      format += " " + text;
      if (adaptor.getValues().size() > 1)
        format += " (operand " + std::to_string(n) + ")";
      auto [arg, conversion] = printable(b, l, value);
      format += ": " + conversion.str() + "\n";
      args.push_back(arg);
      gpu::PrintfOp::create(b, l, b.getStringAttr(format), args);
    };
    if (adaptor.getValues().empty())
      onThreadZero(rewriter, loc, [&](OpBuilder &b, Location l) {
        gpu::PrintfOp::create(b, l, b.getStringAttr("pid (%d, %d, %d) " + text + "\n"), pid);
      });
    for (size_t n = 0; n < adaptor.getValues().size(); ++n) {
      Value value = adaptor.getValues()[n];
      auto type = dyn_cast<RankedTensorType>(op.getValues()[n].getType());
      if (!type) {
        onThreadZero(rewriter, loc, [&](OpBuilder &b, Location l) { print(b, l, {}, value, n); });
        continue;
      }
      FailureOr<ThreadLayout> layout = ThreadLayout::get(type);
      if (failed(layout))
        return rewriter.notifyMatchFailure(op, "needs laid-out tiles");
      auto body = [&](OpBuilder &b, Location l) {
        for (int64_t r = 0; r < layout->numRegisters(); ++r) {
          Value x = vector::ExtractOp::create(b, l, value, ArrayRef<int64_t>{r});
          print(b, l, layout->coords(b, l, tid, r), x, n);
        }
      };
      if (Value owner = layout->owner(rewriter, loc, tid))
        scf::IfOp::create(rewriter, loc, owner, [&](OpBuilder &b, Location l) {
          body(b, l);
          scf::YieldOp::create(b, l);
        });
      else
        body(rewriter, loc);
    }
    rewriter.eraseOp(op);
    return success();
  }
};

/// Every thread checks the elements it holds; one that finds a false one
/// stops the kernel with the message and the assert's file:line.
struct AssertLowering : public DebugOnlyPattern<AssertOp> {
  using DebugOnlyPattern::DebugOnlyPattern;

  LogicalResult lowerForDebug(AssertOp op, OpAdaptor adaptor,
                              ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value holds = adaptor.getCondition();
    if (auto regs = dyn_cast<VectorType>(holds.getType())) {
      Value all;
      for (int64_t r = 0; r < regs.getNumElements(); ++r) {
        Value x = vector::ExtractOp::create(rewriter, loc, holds, ArrayRef<int64_t>{r});
        all = andOf(rewriter, loc, all, x);
      }
      holds = all;
    }
    Value fails = arith::XOrIOp::create(
        rewriter, loc, holds, arith::ConstantIntOp::create(rewriter, loc, rewriter.getI1Type(), 1));
    scf::IfOp::create(rewriter, loc, fails, [&](OpBuilder &b, Location l) {
      failOnDevice(b, op, op.getMessage(), state);
      scf::YieldOp::create(b, l);
    });
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void tile::populateDebugPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                                 LoweringState &state) {
  patterns.add<PrintLowering, AssertLowering>(converter, patterns.getContext(), state);
}
