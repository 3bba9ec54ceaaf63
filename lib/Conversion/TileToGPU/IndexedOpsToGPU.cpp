// Gathers, scatters and atomics: each thread accesses ptr[offsets[i]] for the
// elements i it holds (address = ptr + offset * size of the element), one
// access for each run of its registers that AxisInfo proves consecutive and
// aligned in memory under one mask bit (a vector ld/st.global, a packed
// f16x2/bf16x2 atomic add, a vector `red.add`), else one scalar access each. A masked-off element
// is not accessed at all: loads give `other`, stores and atomics are skipped.
// An atomic whose old values no one reads is a `red`. Where a layout has threads (or
// registers) holding copies of an element, only one copy stores or applies
// an atomic; the atomics' old values then go to the copies through shared
// memory. Atomics are inline PTX `atom` with the op's ordering and scope:
// LLVM's NVPTX backend drops both from atomicrmw (it emits a relaxed
// `atom.global.add.f32` for an acq_rel one at system scope).
#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"

#include "Analysis/AxisInfo.h"
#include "Analysis/Divisibility.h"

using namespace mlir;
using namespace mlir::tile;

namespace {

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

/// Elements per access of a gather, scatter or atomic (at least 1).
int64_t widthOf(const LoweringState &state, Operation *op) {
  return std::max<int64_t>(1, state.accessWidths.lookup(op));
}

/// How a gather or scatter moves `tile` a run of registers at a time: the
/// tile's layout, its registers' type, the elements of one access and that
/// access's alignment (a run's bytes, which AxisInfo proved; 0, the natural
/// one, for single elements).
struct IndexedRuns {
  ThreadLayout layout;
  Type elt;
  int64_t width;
  unsigned alignment;
};

FailureOr<IndexedRuns> indexedRuns(const LoweringState &state, Operation *op,
                                   RankedTensorType tile) {
  FailureOr<ThreadLayout> layout = ThreadLayout::get(tile);
  if (failed(layout))
    return failure();
  Type elt = registerType(tile.getElementType());
  int64_t width = widthOf(state, op);
  unsigned alignment = width > 1 ? width * elt.getIntOrFloatBitWidth() / 8 : 0;
  return IndexedRuns{*layout, elt, width, alignment};
}

struct GatherLowering : public StatefulPattern<GatherOp> {
  using StatefulPattern::StatefulPattern;
  LogicalResult matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    FailureOr<IndexedRuns> runs = indexedRuns(state, op, op.getResult().getType());
    if (failed(runs))
      return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
    Type elt = runs->elt;
    int64_t width = runs->width;
    Location loc = op.getLoc();
    Value other = adaptor.getOther();
    if (!other)
      other = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(elt));
    else if (other.getType() != elt) // an fp8 scalar: registers hold its bits
      other = arith::BitcastOp::create(rewriter, loc, elt, other);
    Type run = runType(elt, width);
    if (width > 1)
      other = vector::BroadcastOp::create(rewriter, loc, run, other);
    auto gatherRun = [&](int64_t reg) {
      Value addr = elementAddress(rewriter, loc, adaptor.getSrc(), adaptor.getOffsets(), reg, elt);
      auto load = [&](OpBuilder &b, Location l) -> Value {
        return LLVM::LoadOp::create(b, l, run, addr, runs->alignment);
      };
      return loadWhere(rewriter, loc, maskBit(rewriter, loc, adaptor.getMask(), reg), load, other);
    };
    rewriter.replaceOp(op, registersByRuns(rewriter, loc, elt, runs->layout.numRegisters(),
                                           width, gatherRun));
    return success();
  }
};

struct ScatterLowering : public StatefulPattern<ScatterOp> {
  using StatefulPattern::StatefulPattern;
  LogicalResult matchAndRewrite(ScatterOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    FailureOr<IndexedRuns> runs = indexedRuns(state, op, op.getValue().getType());
    if (failed(runs))
      return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
    Location loc = op.getLoc();
    Writers w = writers(rewriter, loc, runs->layout, threadId(rewriter, loc));
    for (int64_t reg = 0; reg < runs->layout.numRegisters(); reg += runs->width) {
      Value addr =
          elementAddress(rewriter, loc, adaptor.getDst(), adaptor.getOffsets(), reg, runs->elt);
      Value value = extractRun(rewriter, loc, adaptor.getValue(), reg, runs->width);
      Value pred = andOf(rewriter, loc, maskBit(rewriter, loc, adaptor.getMask(), reg), w.acts[reg]);
      guarded(rewriter, loc, pred, [&](OpBuilder &b, Location l) {
        LLVM::StoreOp::create(b, l, value, addr, runs->alignment);
      });
    }
    rewriter.eraseOp(op);
    return success();
  }
};

/// One atomic instruction's shape: its element type, the elements it covers
/// (`width`), whether a predicate `p` guards it, and whether it is a `red`
/// (no old value: operands start at the address) or an `atom` (the old value
/// is $0). Two f16/bf16 elements are one packed f16x2/bf16x2 operand; wider
/// runs (a `red` only) are PTX vectors, an operand an element.
struct AtomicForm {
  Type elt;
  int64_t width = 1;
  bool guard = false;
  bool reduce = false;

  bool packed() const { return width == 2 && elt.getIntOrFloatBitWidth() == 16; }
  /// Operands a value takes, and the PTX register class and bit width of
  /// each (floats travel as their bits).
  int64_t operandsPerValue() const { return packed() ? 1 : width; }
  unsigned operandBits() const { return elt.getIntOrFloatBitWidth() * (packed() ? 2 : 1); }
  char constraint() const {
    return operandBits() == 16 ? 'h' : operandBits() == 64 ? 'l' : 'r';
  }
  /// The placeholders of the old value (atom only), the address, value `i`.
  std::string old() const { return reduce ? "" : "$0, "; }
  std::string addr() const { return reduce ? "[$0]" : "[$1]"; }
  std::string value(int i = 0) const {
    int64_t first = (reduce ? 1 : 2) + i * operandsPerValue();
    if (operandsPerValue() == 1)
      return "$" + std::to_string(first);
    std::string list = "{";
    for (int64_t k = 0; k < operandsPerValue(); ++k)
      list += (k ? ", $" : "$") + std::to_string(first + k);
    return list + "}";
  }
  /// The vector qualifier of a wider run (`.v4`), else nothing.
  std::string vector() const {
    return width > 1 && !packed() ? ".v" + std::to_string(width) : "";
  }
};

Value toBits(OpBuilder &b, Location loc, Value v, Type bits) {
  return v.getType() == bits ? v : LLVM::BitcastOp::create(b, loc, bits, v).getResult();
}

/// `red` orders as relaxed or release only: an acquire (acq_rel) one is a
/// relaxed (release) `red` followed by a fence (lowerAtomic adds it), which
/// the PTX memory model counts as an acquire pattern.
MemorySemantics reduceSemantics(MemorySemantics sem) {
  if (sem == MemorySemantics::acquire)
    return MemorySemantics::relaxed;
  if (sem == MemorySemantics::acq_rel)
    return MemorySemantics::release;
  return sem;
}

std::string semScope(MemorySemantics sem, MemoryScope scope) {
  return ("." + stringifyMemorySemantics(sem) + "." + stringifyMemoryScope(scope)).str();
}

/// Whether an atomic lowers to `red`: no one reads its old values, and `red`
/// has its kind (not exchange; compare-and-swap is never one).
bool lowersToReduce(AtomicRMWOp op) {
  return op.getResult().use_empty() && op.getKind() != AtomicKind::xchg;
}

/// The instructions of a read-modify-write of one element (or packed pair).
std::string rmwInstructions(AtomicKind kind, const AtomicForm &f, MemorySemantics sem,
                            MemoryScope scope) {
  std::string order = semScope(f.reduce ? reduceSemantics(sem) : sem, scope);
  std::string head = (f.reduce ? "red" : "atom") + order + ".global.";
  std::string at = (f.guard ? "@p " : "") + head;
  std::string args = " " + f.old() + f.addr() + ", " + f.value() + ";";
  unsigned width = f.elt.getIntOrFloatBitWidth();
  std::string b = "b" + std::to_string(width), s = "s" + std::to_string(width),
              u = "u" + std::to_string(width);
  switch (kind) {
  case AtomicKind::add:
    if (f.elt.isF32())
      return at + "add" + f.vector() + ".f32" + args;
    if (f.elt.isF16() || f.elt.isBF16())
      return at + "add.noftz" + f.vector() + "." + (f.elt.isF16() ? "f16" : "bf16") +
             (f.packed() ? "x2" : "") + args;
    return at + "add." + u + args;
  case AtomicKind::xchg:
    return at + "exch." + b + args;
  case AtomicKind::max:
  case AtomicKind::min: {
    bool isMax = kind == AtomicKind::max;
    std::string op = isMax ? "max." : "min.";
    if (!f.elt.isF32())
      return at + op + s + args;
    // f32 as its bits: a float with the sign clear orders as a signed int, one
    // with it set as an unsigned int, reversed (Triton's rule). The value's
    // sign picks which; either way the result is right for the value in memory.
    std::string both = f.guard ? ".and" : "";
    std::string tail = f.guard ? ", p;" : ";";
    return "setp.ge" + both + ".s32 pos, " + f.value() + ", 0" + tail + " setp.lt" + both +
           ".s32 neg, " + f.value() + ", 0" + tail + " @pos " + head + op + "s32" + args +
           " @neg " + head + (isMax ? "min." : "max.") + "u32" + args;
  }
  }
  llvm_unreachable("atomic kind");
}

/// One inline-PTX atomic on `values` (its operands, as AtomicForm numbers
/// them) at `addr`: the old value's bits (zero where `pred` is false), or
/// nothing for a `red`.
Value atomicPtx(OpBuilder &b, Location loc, const AtomicForm &form, Value addr,
                ValueRange values, Value pred, StringRef body) {
  Type bits = b.getIntegerType(form.operandBits());
  SmallVector<Value> operands{addr};
  std::string constraints = form.reduce ? "l" : std::string("=") + form.constraint() + ",l";
  for (Value v : values) {
    operands.push_back(toBits(b, loc, v, bits));
    constraints += std::string(",") + form.constraint();
  }
  std::string ptx = "{ .reg .pred p, pos, neg; ";
  if (pred) {
    operands.push_back(arith::ExtUIOp::create(b, loc, b.getI32Type(), pred));
    constraints += ",r";
    int64_t index = operands.size() - (form.reduce ? 1 : 0);
    ptx += "setp.ne.b32 p, $" + std::to_string(index) + ", 0; ";
  }
  if (!form.reduce)
    ptx += "mov.b" + std::to_string(form.operandBits()) + " $0, 0; ";
  ptx += body.str() + " }";
  return inlinePtx(b, loc, form.reduce ? Type() : bits, operands, ptx, constraints);
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

/// Lowers an atomic whose `body` is the PTX for one access of `form`, on
/// `values`' registers, `width` registers an access. `reduce`: the old
/// values are not read (a `red`); then `fence` (if not empty) follows the
/// accesses.
LogicalResult lowerAtomic(Operation *op, Value dst, Value offsets, ValueRange values,
                          Value mask, int64_t width, bool reduce, StringRef fence,
                          ConversionPatternRewriter &rewriter, LoweringState &state,
                          function_ref<std::string(const AtomicForm &)> body) {
  auto tile = cast<RankedTensorType>(op->getResult(0).getType());
  FailureOr<ThreadLayout> layout = ThreadLayout::get(tile);
  if (failed(layout))
    return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
  Location loc = op->getLoc();
  Type elt = registerType(tile.getElementType());
  Value tid = threadId(rewriter, loc);
  Writers w = writers(rewriter, loc, *layout, tid);
  Value old = arith::ConstantOp::create(
      rewriter, loc, rewriter.getZeroAttr(VectorType::get({layout->numRegisters()}, elt)));
  for (int64_t reg = 0; reg < layout->numRegisters(); reg += width) {
    Value addr = elementAddress(rewriter, loc, dst, offsets, reg, elt);
    Value pred = andOf(rewriter, loc, maskBit(rewriter, loc, mask, reg), w.acts[reg]);
    AtomicForm form{elt, width, pred != nullptr, reduce};
    SmallVector<Value> operands;
    for (Value v : values) {
      if (form.packed())
        operands.push_back(extractWord(rewriter, loc, v, reg));
      else
        for (int64_t k = 0; k < width; ++k)
          operands.push_back(extractRun(rewriter, loc, v, reg + k, 1));
    }
    Value bits = atomicPtx(rewriter, loc, form, addr, operands, pred, body(form));
    if (reduce)
      continue;
    Type run = runType(elt, width);
    Value value = bits.getType() == run ? bits : LLVM::BitcastOp::create(rewriter, loc, run, bits);
    old = insertRun(rewriter, loc, value, old, reg);
  }
  if (reduce) {
    if (!fence.empty())
      inlinePtx(rewriter, loc, Type(), {}, fence, "");
    rewriter.eraseOp(op);
    return success();
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
    bool reduce = lowersToReduce(op);
    MemorySemantics sem = op.getSem();
    std::string fence;
    if (reduce && reduceSemantics(sem) != sem)
      fence = ("fence.acq_rel." + stringifyMemoryScope(op.getScope()) + ";").str();
    return lowerAtomic(op, adaptor.getDst(), adaptor.getOffsets(), {adaptor.getValue()},
                       adaptor.getMask(), widthOf(state, op), reduce, fence, rewriter, state,
                       [&](const AtomicForm &form) {
                         return rmwInstructions(op.getKind(), form, sem, op.getScope());
                       });
  }
};

struct AtomicCASLowering : public StatefulPattern<AtomicCASOp> {
  using StatefulPattern::StatefulPattern;
  LogicalResult matchAndRewrite(AtomicCASOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    std::string order = semScope(op.getSem(), op.getScope());
    return lowerAtomic(op, adaptor.getDst(), adaptor.getOffsets(),
                       {adaptor.getCmp(), adaptor.getValue()}, adaptor.getMask(), /*width=*/1,
                       /*reduce=*/false, "", rewriter, state, [&](const AtomicForm &form) {
                         return std::string(form.guard ? "@p " : "") + "atom" + order +
                                ".global.cas.b" + std::to_string(form.operandBits()) + " " +
                                form.old() + form.addr() + ", " + form.value(0) + ", " +
                                form.value(1) + ";";
                       });
  }
};

/// Elements one access of a gather, scatter or atomic covers: a run of the
/// thread's registers (consecutive along the innermost dimension, starting
/// at a multiple of the run) whose offsets AxisInfo proves consecutive and
/// aligned to the run's bytes (with the pointer), under a mask that is the
/// same for all of them; at most `mostBytes`. 1 when nothing is proved.
int64_t indexedAccessWidth(AxisInfoAnalysis &axes, RankedTensorType tile, Value ptr,
                           Value offsets, Value mask, int64_t mostBytes) {
  FailureOr<ThreadLayout> layout = ThreadLayout::get(tile);
  unsigned bits = registerType(tile.getElementType()).getIntOrFloatBitWidth();
  if (failed(layout) || bits < 8)
    return 1;
  int64_t bytes = bits / 8, most = mostBytes / bytes;
  if (most < 2)
    return 1;
  unsigned inner = tile.getRank() - 1;
  // A run no longer than the tile's extent never wraps onto copies.
  int64_t width = std::min({most, layout->contiguity(), tile.getDimSize(inner),
                            std::max<int64_t>(1, getDivisibility(ptr) / bytes)});
  const AxisInfo &off = axes.get(offsets);
  width = std::min({width, off.contiguity[inner], off.divisibility[inner]});
  if (mask)
    width = std::min(width, axes.get(mask).constancy[inner]);
  return int64_t(llvm::bit_floor(uint64_t(std::max<int64_t>(width, 1))));
}
} // namespace

void tile::computeIndexedAccessWidths(Operation *root, LoweringState &state) {
  constexpr int64_t kMaxAccessBytes = 16; // ld.global.v4.b32
  AxisInfoAnalysis axes;
  root->walk([&](Operation *op) {
    if (auto gather = dyn_cast<GatherOp>(op))
      state.accessWidths[op] = indexedAccessWidth(axes, gather.getResult().getType(),
                                                  gather.getSrc(), gather.getOffsets(),
                                                  gather.getMask(), kMaxAccessBytes);
    else if (auto scatter = dyn_cast<ScatterOp>(op))
      state.accessWidths[op] = indexedAccessWidth(axes, scatter.getValue().getType(),
                                                  scatter.getDst(), scatter.getOffsets(),
                                                  scatter.getMask(), kMaxAccessBytes);
    else if (auto rmw = dyn_cast<AtomicRMWOp>(op)) {
      // Adds of float runs: a `red` takes up to 16 bytes (`.v2/.v4.f32`,
      // `.v4/.v8` of f16/bf16: PTX 8.1); an `atom` a packed f16x2/bf16x2 pair.
      Type elt = rmw.getValue().getType().getElementType();
      int64_t bytes = 0;
      if (rmw.getKind() == AtomicKind::add && (elt.isF32() || elt.isF16() || elt.isBF16()))
        bytes = lowersToReduce(rmw) ? kMaxAccessBytes : elt.isF32() ? 0 : 4;
      state.accessWidths[op] = indexedAccessWidth(axes, rmw.getValue().getType(), rmw.getDst(),
                                                  rmw.getOffsets(), rmw.getMask(), bytes);
    }
  });
}

void tile::populateIndexedOpPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                                     LoweringState &state) {
  patterns.add<GatherLowering, ScatterLowering, AtomicRMWLowering, AtomicCASLowering>(
      converter, patterns.getContext(), state);
}
