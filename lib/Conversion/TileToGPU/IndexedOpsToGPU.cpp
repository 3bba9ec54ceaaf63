// Gathers, scatters and atomics: each thread accesses ptr[offsets[i]] for the
// elements i it holds, one scalar access each (address = ptr + offset * size
// of the element). A masked-off element is not accessed at all: loads give
// `other`, stores and atomics are skipped. Where a layout has threads (or
// registers) holding copies of an element, only one copy stores or applies
// an atomic; the atomics' old values then go to the copies through shared
// memory. Atomics are inline PTX `atom` with the op's ordering and scope:
// LLVM's NVPTX backend drops both from atomicrmw (it emits a relaxed
// `atom.global.add.f32` for an acq_rel one at system scope).
#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"

using namespace mlir;
using namespace mlir::tile;

namespace {

Value andOf(OpBuilder &b, Location loc, Value x, Value y) {
  if (!x)
    return y;
  if (!y)
    return x;
  return arith::AndIOp::create(b, loc, x, y);
}

/// Address of the element at register `reg`'s offset: ptr + offset elements.
Value elementAddress(OpBuilder &b, Location loc, Value ptr, Value offsets, int64_t reg,
                     Type elementType) {
  Value offset = vector::ExtractOp::create(b, loc, offsets, ArrayRef<int64_t>{reg});
  if (!offset.getType().isInteger(64))
    offset = arith::ExtSIOp::create(b, loc, b.getI64Type(), offset);
  return LLVM::GEPOp::create(b, loc, ptr.getType(), elementType, ptr, ValueRange{offset});
}

/// Register `reg`'s mask bit, or null without a mask.
Value maskBit(OpBuilder &b, Location loc, Value mask, int64_t reg) {
  return mask ? vector::ExtractOp::create(b, loc, mask, ArrayRef<int64_t>{reg}).getResult()
              : Value();
}

/// Which registers write: for each, true (i1) where it holds the one copy of
/// its element that stores or applies an atomic, null where every thread's
/// register does. `replicated` says whether any register holds a copy.
struct Writers {
  SmallVector<Value> acts;
  bool replicated = false;
};

Writers writers(OpBuilder &b, Location loc, const ThreadLayout &layout, Value tid) {
  Writers w;
  Value owner = layout.owner(b, loc, tid);
  Value one = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1);
  for (int64_t reg = 0; reg < layout.numRegisters(); ++reg) {
    Value acts = owner;
    for (unsigned d = 0; d < layout.parentRank(); ++d)
      if (Value copy = layout.holdsCopy(b, loc, tid, reg, d))
        acts = andOf(b, loc, acts, arith::XOrIOp::create(b, loc, copy, one));
    w.replicated |= acts != nullptr;
    w.acts.push_back(acts);
  }
  return w;
}

struct GatherLowering : public OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType tile = op.getResult().getType();
    FailureOr<ThreadLayout> layout = ThreadLayout::get(tile);
    if (failed(layout))
      return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
    Location loc = op.getLoc();
    Type elt = registerType(tile.getElementType());
    Value other = adaptor.getOther();
    if (!other)
      other = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(elt));
    else if (other.getType() != elt) // an fp8 scalar: registers hold its bits
      other = arith::BitcastOp::create(rewriter, loc, elt, other);
    Value result = arith::ConstantOp::create(
        rewriter, loc, rewriter.getZeroAttr(VectorType::get({layout->numRegisters()}, elt)));
    for (int64_t reg = 0; reg < layout->numRegisters(); ++reg) {
      Value addr = elementAddress(rewriter, loc, adaptor.getSrc(), adaptor.getOffsets(), reg, elt);
      auto load = [&](OpBuilder &b, Location l) -> Value {
        return LLVM::LoadOp::create(b, l, elt, addr);
      };
      Value value =
          loadWhere(rewriter, loc, maskBit(rewriter, loc, adaptor.getMask(), reg), load, other);
      result = insertRun(rewriter, loc, value, result, reg);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ScatterLowering : public OpConversionPattern<ScatterOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ScatterOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType tile = op.getValue().getType();
    FailureOr<ThreadLayout> layout = ThreadLayout::get(tile);
    if (failed(layout))
      return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
    Location loc = op.getLoc();
    Type elt = registerType(tile.getElementType());
    Writers w = writers(rewriter, loc, *layout, threadId(rewriter, loc));
    for (int64_t reg = 0; reg < layout->numRegisters(); ++reg) {
      Value addr = elementAddress(rewriter, loc, adaptor.getDst(), adaptor.getOffsets(), reg, elt);
      Value value = extractRun(rewriter, loc, adaptor.getValue(), reg, 1);
      Value pred = andOf(rewriter, loc, maskBit(rewriter, loc, adaptor.getMask(), reg), w.acts[reg]);
      guarded(rewriter, loc, pred, [&](OpBuilder &b, Location l) {
        LLVM::StoreOp::create(b, l, value, addr);
      });
    }
    rewriter.eraseOp(op);
    return success();
  }
};

/// The PTX register class and width of an atomic's operands: floats travel as
/// their bits.
struct AtomicOperand {
  Type bits;
  char constraint;
  unsigned width;
};

AtomicOperand atomicOperand(OpBuilder &b, Type elt) {
  unsigned width = elt.getIntOrFloatBitWidth();
  char constraint = width == 16 ? 'h' : width == 64 ? 'l' : 'r';
  return {b.getIntegerType(width), constraint, width};
}

Value toBits(OpBuilder &b, Location loc, Value v, Type bits) {
  return v.getType() == bits ? v : LLVM::BitcastOp::create(b, loc, bits, v).getResult();
}

std::string semScope(MemorySemantics sem, MemoryScope scope) {
  return ("." + stringifyMemorySemantics(sem) + "." + stringifyMemoryScope(scope)).str();
}

/// The `atom` instructions of a read-modify-write on operands $0 (old value),
/// [$1] (address), $2 (value), guarded by predicate `p` when `guard`.
std::string rmwInstructions(AtomicKind kind, Type elt, StringRef order, bool guard) {
  unsigned width = elt.getIntOrFloatBitWidth();
  std::string at = (guard ? "@p atom" : "atom") + order.str() + ".global.";
  std::string args = " $0, [$1], $2;";
  std::string b = "b" + std::to_string(width), s = "s" + std::to_string(width),
              u = "u" + std::to_string(width);
  switch (kind) {
  case AtomicKind::add:
    if (elt.isF32())
      return at + "add.f32" + args;
    if (elt.isF16() || elt.isBF16())
      return at + "add.noftz." + (elt.isF16() ? "f16" : "bf16") + args;
    return at + "add." + u + args;
  case AtomicKind::xchg:
    return at + "exch." + b + args;
  case AtomicKind::max:
  case AtomicKind::min: {
    bool isMax = kind == AtomicKind::max;
    std::string op = isMax ? "max." : "min.";
    if (!elt.isF32())
      return at + op + s + args;
    // f32 as its bits: a float with the sign clear orders as a signed int, one
    // with it set as an unsigned int, reversed (Triton's rule). The value's
    // sign picks which; either way the result is right for the value in memory.
    std::string pos = "pos", neg = "neg";
    std::string both = guard ? ".and" : "";
    std::string tail = guard ? ", p;" : ";";
    return "setp.ge" + both + ".s32 pos, $2, 0" + tail + " setp.lt" + both + ".s32 neg, $2, 0" +
           tail + " @pos atom" + order.str() + ".global." + op + "s32" + args + " @neg atom" +
           order.str() + ".global." + (isMax ? "min." : "max.") + "u32" + args;
  }
  }
  llvm_unreachable("atomic kind");
}

/// One inline-PTX atomic: the old value's bits (zero where `pred` is false).
/// `body` uses $0 (old value), $1 (address), then the value operands.
Value atomicPtx(OpBuilder &b, Location loc, const AtomicOperand &type, Value addr,
                ValueRange values, Value pred, StringRef body) {
  SmallVector<Value> operands{addr};
  std::string constraints = std::string("=") + type.constraint + ",l";
  for (Value v : values) {
    operands.push_back(toBits(b, loc, v, type.bits));
    constraints += std::string(",") + type.constraint;
  }
  std::string ptx = "{ .reg .pred p, pos, neg; ";
  if (pred) {
    operands.push_back(arith::ExtUIOp::create(b, loc, b.getI32Type(), pred));
    constraints += ",r";
    ptx += "setp.ne.b32 p, $" + std::to_string(operands.size()) + ", 0; ";
  }
  ptx += "mov.b" + std::to_string(type.width) + " $0, 0; " + body.str() + " }";
  return inlinePtx(b, loc, type.bits, operands, ptx, constraints);
}

/// Threads holding copies of an element did not apply its atomic: they read
/// the old value its one writer found, through the shared scratch.
Value shareOldValues(OpBuilder &b, Location loc, RankedTensorType tile,
                     const ThreadLayout &layout, Value tid, const Writers &w, Value old,
                     LoweringState &state) {
  Type elt = cast<VectorType>(old.getType()).getElementType();
  int64_t bytes = elt.getIntOrFloatBitWidth() / 8;
  state.scratchBytes = std::max(state.scratchBytes, tile.getNumElements() * bytes);
  Value scratch = sharedScratch(b, loc, state);
  auto slot = [&](int64_t reg) {
    Value index = rowMajorIndex(b, loc, layout.coords(b, loc, tid, reg), tile.getShape());
    return LLVM::GEPOp::create(b, loc, scratch.getType(), elt, scratch, ValueRange{index});
  };
  gpu::BarrierOp::create(b, loc); // earlier users of the scratch are done
  for (int64_t reg = 0; reg < layout.numRegisters(); ++reg) {
    Value value = vector::ExtractOp::create(b, loc, old, ArrayRef<int64_t>{reg});
    Value addr = slot(reg);
    guarded(b, loc, w.acts[reg], [&](OpBuilder &t, Location l) {
      LLVM::StoreOp::create(t, l, value, addr);
    });
  }
  gpu::BarrierOp::create(b, loc);
  for (int64_t reg = 0; reg < layout.numRegisters(); ++reg)
    old = vector::InsertOp::create(b, loc, LLVM::LoadOp::create(b, loc, elt, slot(reg)), old,
                                   ArrayRef<int64_t>{reg});
  return old;
}

/// Lowers an atomic whose `body` (given the element type and whether a
/// predicate guards it) is the PTX for one element, on `values`' registers.
LogicalResult lowerAtomic(Operation *op, Value dst, Value offsets, ValueRange values,
                          Value mask, ConversionPatternRewriter &rewriter, LoweringState &state,
                          function_ref<std::string(Type, bool)> body) {
  auto tile = cast<RankedTensorType>(op->getResult(0).getType());
  FailureOr<ThreadLayout> layout = ThreadLayout::get(tile);
  if (failed(layout))
    return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
  Location loc = op->getLoc();
  Type elt = registerType(tile.getElementType());
  AtomicOperand type = atomicOperand(rewriter, elt);
  Value tid = threadId(rewriter, loc);
  Writers w = writers(rewriter, loc, *layout, tid);
  Value old = arith::ConstantOp::create(
      rewriter, loc, rewriter.getZeroAttr(VectorType::get({layout->numRegisters()}, elt)));
  for (int64_t reg = 0; reg < layout->numRegisters(); ++reg) {
    Value addr = elementAddress(rewriter, loc, dst, offsets, reg, elt);
    SmallVector<Value> operands;
    for (Value v : values)
      operands.push_back(vector::ExtractOp::create(rewriter, loc, v, ArrayRef<int64_t>{reg}));
    Value pred = andOf(rewriter, loc, maskBit(rewriter, loc, mask, reg), w.acts[reg]);
    Value bits = atomicPtx(rewriter, loc, type, addr, operands, pred, body(elt, pred != nullptr));
    Value value = bits.getType() == elt ? bits : LLVM::BitcastOp::create(rewriter, loc, elt, bits);
    old = vector::InsertOp::create(rewriter, loc, value, old, ArrayRef<int64_t>{reg});
  }
  if (w.replicated && !op->getResult(0).use_empty())
    old = shareOldValues(rewriter, loc, tile, *layout, tid, w, old, state);
  rewriter.replaceOp(op, old);
  return success();
}

struct AtomicRMWLowering : public StatefulPattern<AtomicRMWOp> {
  using StatefulPattern::StatefulPattern;
  LogicalResult matchAndRewrite(AtomicRMWOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    std::string order = semScope(op.getSem(), op.getScope());
    return lowerAtomic(op, adaptor.getDst(), adaptor.getOffsets(), {adaptor.getValue()},
                       adaptor.getMask(), rewriter, state, [&](Type elt, bool guard) {
                         return rmwInstructions(op.getKind(), elt, order, guard);
                       });
  }
};

struct AtomicCASLowering : public StatefulPattern<AtomicCASOp> {
  using StatefulPattern::StatefulPattern;
  LogicalResult matchAndRewrite(AtomicCASOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    std::string order = semScope(op.getSem(), op.getScope());
    return lowerAtomic(op, adaptor.getDst(), adaptor.getOffsets(),
                       {adaptor.getCmp(), adaptor.getValue()}, adaptor.getMask(), rewriter,
                       state, [&](Type elt, bool guard) {
                         return std::string(guard ? "@p " : "") + "atom" + order +
                                ".global.cas.b" + std::to_string(elt.getIntOrFloatBitWidth()) +
                                " $0, [$1], $2, $3;";
                       });
  }
};
} // namespace

void tile::populateIndexedOpPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                                     LoweringState &state) {
  patterns.add<GatherLowering, ScatterLowering>(converter, patterns.getContext());
  patterns.add<AtomicRMWLowering, AtomicCASLowering>(converter, patterns.getContext(), state);
}
