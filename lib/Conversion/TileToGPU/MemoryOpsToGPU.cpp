// Global memory: make_view, load, store. Each thread reads or writes the
// elements it holds, in runs as wide (up to 16 bytes) as the divisibility
// facts allow, each run guarded by the bounds. And the flags programs signal
// each other through (notify, wait_flag): release and acquire at GPU scope.
// Gathers, scatters and atomics are in IndexedOpsToGPU.cpp.
#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"

#include "Analysis/Divisibility.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::tile;

namespace {

/// The facts about a global access the lowering needs, from tile IR values.
struct AccessShape {
  Value ptr;
  SmallVector<Value> offsets, sizes, strides; // sizes/strides may be null
};

AccessShape describe(Value source, ValueRange offsets, Value bound) {
  AccessShape a;
  a.offsets.assign(offsets.begin(), offsets.end());
  if (auto view = source.getDefiningOp<MakeViewOp>()) {
    a.ptr = view.getPtr();
    a.sizes.assign(view.getSizes().begin(), view.getSizes().end());
    a.strides.assign(view.getStrides().begin(), view.getStrides().end());
  } else {
    a.ptr = source;
    a.sizes.push_back(bound);
    a.strides.push_back(Value());
  }
  return a;
}

bool isConstantOne(Value v) {
  APInt c;
  return !v || (matchPattern(v, m_ConstantInt(&c)) && c.isOne());
}

/// Elements per access: the thread's contiguous run, cut down to what the
/// alignment of pointer, inner offset, inner size and outer strides allow.
int64_t accessWidth(RankedTensorType tile, Value source, ValueRange offsets, Value bound) {
  FailureOr<ThreadLayout> layout = ThreadLayout::get(tile);
  if (failed(layout))
    return 1;
  if (isa<ViewType>(source.getType()) && !source.getDefiningOp<MakeViewOp>())
    return 1;
  AccessShape a = describe(source, offsets, bound);
  int64_t bytes = std::max<int64_t>(1, tile.getElementType().getIntOrFloatBitWidth() / 8);
  unsigned inner = a.offsets.size() - 1;
  if (!isConstantOne(a.strides[inner]))
    return 1;
  int64_t width = std::min<int64_t>(layout->contiguity(), 16 / bytes);
  width = std::min(width, std::max<int64_t>(1, getDivisibility(a.ptr) / bytes));
  width = std::min(width, getDivisibility(a.offsets[inner]));
  if (a.sizes[inner])
    width = std::min(width, getDivisibility(a.sizes[inner]));
  for (unsigned d = 0; d < inner; ++d)
    width = std::min(width, getDivisibility(a.strides[d]));
  return std::max<int64_t>(width, 1);
}

/// Converted (LLVM-level) pointer, sizes, strides and offsets of an access.
struct LoweredAccess {
  Value ptr;
  SmallVector<Value> offsets, sizes, strides; // i64; sizes null when unbounded
};

LoweredAccess lowerAccess(OpBuilder &b, Location loc, Value source, Type sourceType,
                          ValueRange offsets, Value bound) {
  LoweredAccess a;
  Type i64 = b.getI64Type();
  auto ext = [&](Value v) { return arith::ExtSIOp::create(b, loc, i64, v).getResult(); };
  for (Value o : offsets)
    a.offsets.push_back(ext(o));
  if (auto view = dyn_cast<ViewType>(sourceType)) {
    unsigned rank = view.getRank();
    a.ptr = LLVM::ExtractValueOp::create(b, loc, source, ArrayRef<int64_t>{0});
    for (unsigned d = 0; d < rank; ++d) {
      a.sizes.push_back(ext(LLVM::ExtractValueOp::create(b, loc, source,
                                                         ArrayRef<int64_t>{1 + d})));
      a.strides.push_back(ext(LLVM::ExtractValueOp::create(
          b, loc, source, ArrayRef<int64_t>{1 + rank + d})));
    }
  } else {
    a.ptr = source;
    a.sizes.push_back(bound ? ext(bound) : Value());
    a.strides.push_back(constI64(b, loc, 1));
  }
  return a;
}

/// Address and in-bounds predicate (null if unbounded) of the element at
/// `coords` relative to the access origin.
std::pair<Value, Value> address(OpBuilder &b, Location loc, const LoweredAccess &a,
                                ArrayRef<Value> coords, Type elementType) {
  Value index = constI64(b, loc, 0), pred;
  for (unsigned d = 0; d < coords.size(); ++d) {
    Value pos = arith::AddIOp::create(b, loc, a.offsets[d], coords[d]);
    index = arith::AddIOp::create(b, loc, index,
                                  arith::MulIOp::create(b, loc, pos, a.strides[d]));
    if (a.sizes[d]) {
      Value in = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, pos, a.sizes[d]);
      Value nonNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, pos,
                                           constI64(b, loc, 0));
      in = arith::AndIOp::create(b, loc, in, nonNeg);
      pred = andOf(b, loc, pred, in);
    }
  }
  Value addr = LLVM::GEPOp::create(b, loc, a.ptr.getType(), elementType, a.ptr,
                                   ValueRange{index});
  return {addr, pred};
}

/// What a load or store of a laid-out tile works with: the thread layout, the
/// registers' type, elements and bytes per access, the converted access and
/// the thread's index.
struct TileAccess {
  ThreadLayout layout;
  Type elt;
  int64_t width, bytes;
  LoweredAccess access;
  Value tid;
};

/// Failure where `tile` has no thread layout.
FailureOr<TileAccess> tileAccess(OpBuilder &b, Location loc, RankedTensorType tile,
                                 int64_t width, Value source, Type sourceType,
                                 ValueRange offsets, Value bound) {
  FailureOr<ThreadLayout> layout = ThreadLayout::get(tile);
  if (failed(layout))
    return failure();
  Type elt = registerType(tile.getElementType());
  int64_t bytes = std::max<int64_t>(1, elt.getIntOrFloatBitWidth() / 8);
  LoweredAccess access = lowerAccess(b, loc, source, sourceType, offsets, bound);
  Value tid = threadId(b, loc);
  return TileAccess{*layout, elt, width, bytes, std::move(access), tid};
}

struct MakeViewLowering : public OpConversionPattern<MakeViewOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MakeViewOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type structType = getTypeConverter()->convertType(op.getType());
    Location loc = op.getLoc();
    Value view = LLVM::UndefOp::create(rewriter, loc, structType);
    SmallVector<Value> fields{adaptor.getPtr()};
    fields.append(adaptor.getSizes().begin(), adaptor.getSizes().end());
    fields.append(adaptor.getStrides().begin(), adaptor.getStrides().end());
    for (auto [i, field] : llvm::enumerate(fields))
      view = LLVM::InsertValueOp::create(rewriter, loc, view, field, ArrayRef<int64_t>{(int64_t)i});
    rewriter.replaceOp(op, view);
    return success();
  }
};

struct LoadLowering : public StatefulPattern<LoadOp> {
  using StatefulPattern::StatefulPattern;

  LogicalResult
  matchAndRewrite(LoadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<TileAccess> a =
        tileAccess(rewriter, loc, op.getResult().getType(), state.accessWidths.lookup(op),
                   adaptor.getSrc(), op.getSrc().getType(), adaptor.getOffsets(),
                   adaptor.getBound());
    if (failed(a))
      return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
    const ThreadLayout &layout = a->layout;
    int64_t width = a->width;
    Type chunk = runType(a->elt, width);
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(chunk));
    auto loadRun = [&](int64_t reg) {
      auto [addr, pred] = address(rewriter, loc, a->access,
                                  layout.coords(rewriter, loc, a->tid, reg), a->elt);
      auto emitLoad = [&, addr = addr](OpBuilder &b, Location l) -> Value {
        return LLVM::LoadOp::create(b, l, chunk, addr, width * a->bytes);
      };
      return loadWhere(rewriter, loc, pred, emitLoad, zero);
    };
    rewriter.replaceOp(op, registersByRuns(rewriter, loc, a->elt, layout.numRegisters(), width,
                                           loadRun));
    return success();
  }
};

struct StoreLowering : public StatefulPattern<StoreOp> {
  using StatefulPattern::StatefulPattern;

  LogicalResult
  matchAndRewrite(StoreOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<TileAccess> a =
        tileAccess(rewriter, loc, op.getValue().getType(), state.accessWidths.lookup(op),
                   adaptor.getDst(), op.getDst().getType(), adaptor.getOffsets(),
                   adaptor.getBound());
    if (failed(a))
      return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
    const ThreadLayout &layout = a->layout;
    int64_t width = a->width;
    // Threads holding copies of an element do not store it again.
    Value owner = layout.owner(rewriter, loc, a->tid);
    for (int64_t reg = 0; reg < layout.numRegisters(); reg += width) {
      auto [addr, inBounds] = address(rewriter, loc, a->access,
                                      layout.coords(rewriter, loc, a->tid, reg), a->elt);
      Value value = extractRun(rewriter, loc, adaptor.getValue(), reg, width);
      Value pred = andOf(rewriter, loc, inBounds, owner);
      guarded(rewriter, loc, pred, [&, addr = addr](OpBuilder &b, Location l) {
        LLVM::StoreOp::create(b, l, value, addr, width * a->bytes);
      });
    }
    rewriter.eraseOp(op);
    return success();
  }
};

/// flags[index] as an `!llvm.ptr<1>` to an i32.
Value flagAddress(OpBuilder &b, Location loc, Value flags, Value index) {
  Value i = arith::ExtSIOp::create(b, loc, b.getI64Type(), index);
  return LLVM::GEPOp::create(b, loc, flags.getType(), b.getI32Type(), flags, ValueRange{i});
}

/// The program's threads meet at a barrier (a consumers' one in a
/// warp-specialized kernel), so every earlier write is done or, for thread 0's
/// TMA stores, issued. The first warp then waits for those stores to land (not
/// only to have read shared memory), orders the async proxy's writes before
/// its own, and its lane 0 stores the flag with release semantics (as
/// CUTLASS's GenericBarrier). A whole warp, not thread 0 alone: with lane 0
/// held in the wait while its warp went on to the next wgmma (`.aligned`),
/// warp-specialized stream-K hung. At sys scope the release (a store, or a
/// `red.add` for `add`) orders the writes for other GPUs too, through NVLink
/// when the flag is a peer's.
struct NotifyLowering : public OpConversionPattern<NotifyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(NotifyOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    std::string scope = stringifyMemoryScope(op.getScope()).str();
    std::string release = op.getAdd() ? "red.release." + scope + ".global.add.u32"
                                      : "st.release." + scope + ".global.b32";
    gpu::BarrierOp::create(rewriter, loc);
    onWarpZero(rewriter, loc, [&](OpBuilder &b, Location l) {
      Value flag = flagAddress(b, l, adaptor.getFlags(), adaptor.getIndex());
      inlinePtx(b, l, Type(), {flag, adaptor.getValue()},
                "{ .reg .pred first; .reg .b32 lane; mov.u32 lane, %laneid; "
                "setp.eq.u32 first, lane, 0; cp.async.bulk.wait_group 0; "
                "fence.proxy.async.global; @first " + release + " [$0], $1; }",
                "l,r");
    });
    rewriter.eraseOp(op);
    return success();
  }
};

/// The first warp spins on an acquire load of the flag (every lane reads the
/// same word, so the warp leaves the loop together), then fences the async
/// proxy (a TMA copy after the wait reads what the notifier wrote); the
/// barrier after it holds the program's other warps until then. A wait that
/// lasts kWaitLimitNs (no program set the flag: a grid larger than can run
/// at once, a wrong index) stops the kernel with a message at the wait's
/// line instead of hanging the process.
struct WaitFlagLowering : public StatefulPattern<WaitFlagOp> {
  static constexpr int64_t kWaitLimitNs = 10'000'000'000;
  using StatefulPattern::StatefulPattern;
  LogicalResult matchAndRewrite(WaitFlagOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value want = adaptor.getValue();
    std::string acquire =
        "ld.acquire." + stringifyMemoryScope(op.getScope()).str() + ".global.b32 $0, [$1];";
    onWarpZero(rewriter, loc, [&](OpBuilder &b, Location l) {
      Value flag = flagAddress(b, l, adaptor.getFlags(), adaptor.getIndex());
      auto now = [](OpBuilder &t, Location tl) {
        return inlinePtx(t, tl, t.getI64Type(), {}, "mov.u64 $0, %globaltimer;", "=l");
      };
      Value start = now(b, l);
      spinWhile(b, l, [&](OpBuilder &w, Location wl) {
        Value seen = inlinePtx(w, wl, w.getI32Type(), {flag}, acquire, "=r,l");
        Value waiting = arith::CmpIOp::create(w, wl, arith::CmpIPredicate::ne, seen, want);
        Value elapsed = arith::SubIOp::create(w, wl, now(w, wl), start);
        Value tooLong = arith::AndIOp::create(
            w, wl, waiting,
            arith::CmpIOp::create(w, wl, arith::CmpIPredicate::sgt, elapsed,
                                  constI64(w, wl, kWaitLimitNs)));
        scf::IfOp::create(w, wl, tooLong, [&](OpBuilder &t, Location tl) {
          failOnDevice(t, op,
                       "tile.wait: no program set the flag in 10 s (is every program it "
                       "waits for running at the same time? a persistent grid is)",
                       state);
          scf::YieldOp::create(t, tl);
        });
        return waiting;
      });
      inlinePtx(b, l, Type(), {}, "fence.proxy.async.global;", "");
    });
    gpu::BarrierOp::create(rewriter, loc);
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void tile::computeAccessWidths(Operation *root, LoweringState &state) {
  root->walk([&](Operation *op) {
    if (auto load = dyn_cast<LoadOp>(op))
      state.accessWidths[op] = accessWidth(load.getResult().getType(), load.getSrc(),
                                           load.getOffsets(), load.getBound());
    else if (auto store = dyn_cast<StoreOp>(op))
      state.accessWidths[op] = accessWidth(store.getValue().getType(), store.getDst(),
                                           store.getOffsets(), store.getBound());
  });
}

void tile::populateMemoryOpPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                                    LoweringState &state) {
  patterns.add<MakeViewLowering, NotifyLowering>(converter, patterns.getContext());
  patterns.add<LoadLowering, StoreLowering, WaitFlagLowering>(converter, patterns.getContext(),
                                                              state);
  populateIndexedOpPatterns(converter, patterns, state);
}
