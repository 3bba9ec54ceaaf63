// Hopper ops: shared tiles and barriers (placed in dynamic shared memory by
// planSharedMemory), TMA copies and stores on mbarriers, warp
// specialization. (mma as WGMMA: WgmmaToGPU.cpp.) Written as inline PTX, as
// Triton and ThunderKittens do, so that the order of fences, arrivals and
// waits is exactly the one chosen here.
#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::tile;

namespace {

Value offsetBy(OpBuilder &b, Location loc, Value ptr, Value bytes) {
  return LLVM::GEPOp::create(b, loc, ptr.getType(), b.getI8Type(), ptr, ValueRange{bytes});
}

/// Patterns of ops placed in shared memory by planSharedMemory.
template <typename OpTy>
struct SharedPattern : public StatefulPattern<OpTy> {
  using StatefulPattern<OpTy>::StatefulPattern;
  Value placed(OpBuilder &b, Location loc, Operation *op) const {
    Value base = sharedBase(b, loc);
    int64_t offset = this->state.sharedOffsets.lookup(op);
    return offset ? offsetBy(b, loc, base, constI32(b, loc, offset)) : base;
  }
};

struct AllocSharedLowering : public SharedPattern<AllocSharedOp> {
  using SharedPattern::SharedPattern;
  LogicalResult matchAndRewrite(AllocSharedOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, placed(rewriter, op.getLoc(), op));
    return success();
  }
};

/// This program's rank in its cluster.
Value clusterRank(OpBuilder &b, Location loc) {
  return inlinePtx(b, loc, b.getI32Type(), {}, "mov.u32 $0, %cluster_ctarank;", "=r");
}

/// Thread 0 initializes the barriers; the fence makes the initialization
/// visible to the TMA unit, the CTA barrier to every thread (in a cluster,
/// the cluster barrier: other programs' producers and consumers reach these
/// barriers too).
struct AllocMBarrierLowering : public SharedPattern<AllocMBarrierOp> {
  using SharedPattern::SharedPattern;
  LogicalResult matchAndRewrite(AllocMBarrierOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value bars = placed(rewriter, loc, op);
    onThreadZero(rewriter, loc, [&](OpBuilder &b, Location l) {
      for (unsigned i = 0; i < op.getType().getCount(); ++i) {
        Value bar = offsetBy(b, l, bars, constI32(b, l, 8 * i));
        inlinePtx(b, l, Type(), {sharedAddress(b, l, bar), constI32(b, l, op.getArrivals())},
                  "mbarrier.init.shared::cta.b64 [$0], $1;", "r,r");
      }
      inlinePtx(b, l, Type(), {}, "fence.mbarrier_init.release.cluster;", "");
      inlinePtx(b, l, Type(), {}, "fence.proxy.async.shared::cta;", "");
    });
    if (numCtas(op->getParentOfType<func::FuncOp>()) > 1)
      clusterBarrier(rewriter, loc, /*release=*/false); // the init fence released them
    else
      gpu::BarrierOp::create(rewriter, loc);
    rewriter.replaceOp(op, bars);
    return success();
  }
};

struct StageLowering : public OpConversionPattern<StageOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(StageOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    int64_t stageBytes = 8;
    if (auto stage = dyn_cast<SharedType>(op.getResult().getType()))
      stageBytes = stage.getSizeInBytes();
    Location loc = op.getLoc();
    Value bytes = arith::MulIOp::create(rewriter, loc, adaptor.getIndex(),
                                        constI32(rewriter, loc, stageBytes));
    rewriter.replaceOp(op, offsetBy(rewriter, loc, adaptor.getSrc(), bytes));
    return success();
  }
};

/// Calls `copy` once per TMA box of `tile` (boxes of tmaBox side by side,
/// each contiguous in shared memory) with the box's shared address and its
/// global column and row, the tile starting at `offsets` (row, column).
void forEachBox(OpBuilder &b, Location l, SharedType tile, Value base, ValueRange offsets,
                function_ref<void(Value box, Value col, Value row)> copy) {
  SmallVector<int64_t> box = tmaBox(tile);
  int64_t boxBytes = box[0] * box[1] * (tile.getElementType().getIntOrFloatBitWidth() / 8);
  for (int64_t j = 0; j < tile.getShape()[1] / box[1]; ++j) {
    Value address = sharedAddress(b, l, offsetBy(b, l, base, constI32(b, l, j * boxBytes)));
    Value col = arith::AddIOp::create(b, l, offsets[1], constI32(b, l, j * box[1]));
    copy(address, col, offsets[0]);
  }
}

/// The CUtensorMap kernel parameter that async copy or store `op` of
/// `shared` names (`tile.tma_desc`, set by tile-synthesize-tma), as the
/// conversion remapped it; an error on `op` where it names none or the tile
/// is not 2-D.
FailureOr<Value> tensorMapParam(Operation *op, SharedType shared,
                                ConversionPatternRewriter &rewriter) {
  auto descIndex = op->getAttrOfType<IntegerAttr>("tile.tma_desc");
  if (!descIndex) {
    op->emitError() << op->getName().stripDialect()
                    << " has no TMA descriptor: run tile-synthesize-tma first";
    return failure();
  }
  if (shared.getShape().size() != 2) {
    op->emitError() << op->getName().stripDialect() << " moves 2-D shared tiles only for now";
    return failure();
  }
  auto func = op->getParentOfType<func::FuncOp>();
  return rewriter.getRemappedValue(func.getArgument(descIndex.getInt()));
}

/// The 64-bit address of a CUtensorMap kernel parameter (tensorMapParam).
Value tensorMapAddress(OpBuilder &b, Location l, Value desc) {
  return LLVM::PtrToIntOp::create(b, l, b.getI64Type(), desc);
}

/// One thread announces the bytes to the barrier (one arrival) and issues a
/// TMA copy per box: a shared tile wider than the swizzle span is several
/// boxes side by side, each box contiguous in shared memory. (In a
/// producer, only one thread runs already.)
struct AsyncLoadLowering : public StatefulPattern<AsyncLoadOp> {
  using StatefulPattern::StatefulPattern;
  LogicalResult matchAndRewrite(AsyncLoadOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    SharedType dst = op.getDst().getType();
    FailureOr<Value> desc = tensorMapParam(op, dst, rewriter);
    if (failed(desc))
      return failure();
    Location loc = op.getLoc();
    auto func = op->getParentOfType<func::FuncOp>();
    // A multicast: program r of the cluster's n copies boxes r, r + n, ...
    // into all n programs (as many boxes each; else each copies its own).
    int64_t programs = op.getMulticast() ? numCtas(func) : 1;
    int64_t boxes = dst.getShape()[1] / tmaBox(dst)[1];
    if (boxes % programs != 0)
      programs = 1;
    auto issue = [&](OpBuilder &b, Location l) {
      Value bar = sharedAddress(b, l, adaptor.getBarrier());
      inlinePtx(b, l, Type(), {bar, constI32(b, l, dst.getSizeInBytes())},
                "mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], $1;", "r,r");
      Value map = tensorMapAddress(b, l, *desc);
      Value rank = programs > 1 ? clusterRank(b, l) : Value();
      Value mask = arith::ConstantIntOp::create(b, l, b.getI16Type(), (1 << programs) - 1);
      int64_t index = 0;
      forEachBox(b, l, dst, adaptor.getDst(), adaptor.getOffsets(),
                 [&](Value box, Value col, Value row) {
                   if (programs == 1) {
                     inlinePtx(b, l, Type(), {box, map, col, row, bar},
                               "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::"
                               "complete_tx::bytes [$0], [$1, {$2, $3}], [$4];",
                               "r,l,r,r,r");
                     return;
                   }
                   Value mine = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, rank,
                                                      constI32(b, l, index++ % programs));
                   scf::IfOp::create(b, l, mine, [&](OpBuilder &t, Location tl) {
                     inlinePtx(t, tl, Type(), {box, map, col, row, bar, mask},
                               "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::"
                               "complete_tx::bytes.multicast::cluster [$0], [$1, {$2, $3}], "
                               "[$4], $5;",
                               "r,l,r,r,r,h");
                     scf::YieldOp::create(t, tl);
                   });
                 });
    };
    if (state.producerOps.contains(op))
      issue(rewriter, loc);
    else
      onThreadZero(rewriter, loc, issue);
    rewriter.eraseOp(op);
    return success();
  }
};

/// Byte offset of element (row, col) in a shared tile laid out as TMA writes
/// it (boxes of tmaBox side by side, each row-major): a swizzle span S of
/// 128, 64 or 32 bytes moves 16-byte chunk c of box row r to
/// c ^ ((r / (128 / S)) % (S / 16)), as TMA's address bits 4-6 XOR 7-9 do;
/// unswizzled tiles are plain row-major.
Value swizzledOffset(OpBuilder &b, Location loc, SharedType type, Value row, Value col) {
  int64_t bytes = type.getElementType().getIntOrFloatBitWidth() / 8;
  int64_t rows = type.getShape()[0], rowBytes = type.getShape()[1] * bytes;
  int64_t span = type.getSwizzle() ? type.getSwizzle().getBytes() : 0;
  auto c = [&](int64_t v) { return constI64(b, loc, v); };
  Value colBytes = arith::MulIOp::create(b, loc, col, c(bytes));
  if (span == 0)
    return arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, row, c(rowBytes)),
                                 colBytes);
  Value box = arith::DivUIOp::create(b, loc, colBytes, c(span));
  Value inBox = arith::RemUIOp::create(b, loc, colBytes, c(span));
  Value chunk = arith::DivUIOp::create(b, loc, inBox, c(16));
  Value phase = arith::RemUIOp::create(b, loc, arith::DivUIOp::create(b, loc, row, c(128 / span)),
                                       c(span / 16));
  Value swizzled = arith::XOrIOp::create(b, loc, chunk, phase);
  Value offset = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, box, c(rows * span)),
                                       arith::MulIOp::create(b, loc, row, c(span)));
  offset = arith::AddIOp::create(b, loc, offset, arith::MulIOp::create(b, loc, swizzled, c(16)));
  return arith::AddIOp::create(b, loc, offset, arith::RemUIOp::create(b, loc, inBox, c(16)));
}

/// A WGMMA accumulator of 16-bit elements (columns [first, last), multiples
/// of 16) into a 2-D shared tile with stmatrix: per warp and slab, the 8x8
/// matrices of its 16 rows (two halves) and two 8-column groups, four to a
/// stmatrix.x4, whose fragment is the accumulator's (lane l: row l / 4,
/// columns 2 (l % 4) and + 1), 16 bytes a thread where st.shared moves 4.
/// Lane l gives the address of row l % 8 of matrix l / 8 (its 16-byte chunk
/// stays whole under any swizzle).
void storeMatrices(OpBuilder &b, Location loc, const ThreadLayout &layout, SharedType dst,
                   Value regs, Value base, Value tid, int64_t first, int64_t last) {
  int64_t warpgroups = layout.wgmmaTileWarpgroups(), columns = layout.extent(1);
  int64_t perSlab = columns / 2, slabs = layout.extent(0) / (64 * warpgroups);
  auto c = [&](int64_t v) { return constI64(b, loc, v); };
  Value lane = arith::RemUIOp::create(b, loc, tid, c(32));
  Value warp = arith::DivUIOp::create(b, loc, tid, c(32));
  Value matrix = arith::DivUIOp::create(b, loc, lane, c(8));
  Value half = arith::RemUIOp::create(b, loc, matrix, c(2));
  // Row of this lane's address within the slab's 64 x warpgroups rows:
  // 64 warpgroup + 16 (warp in group) + 8 half + lane % 8.
  Value row = arith::AddIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc,
                            arith::MulIOp::create(b, loc, arith::DivUIOp::create(b, loc, warp, c(4)),
                                                  c(64)),
                            arith::MulIOp::create(b, loc, arith::RemUIOp::create(b, loc, warp, c(4)),
                                                  c(16))),
      arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, half, c(8)),
                            arith::RemUIOp::create(b, loc, lane, c(8))));
  Value groupOffset = arith::MulIOp::create(b, loc, arith::DivUIOp::create(b, loc, matrix, c(2)),
                                            c(8));
  for (int64_t slab = 0; slab < slabs; ++slab)
    for (int64_t group = first / 8; group < last / 8; group += 2) {
      SmallVector<Value> words;
      for (int64_t m = 0; m < 4; ++m) {
        int64_t reg = slab * perSlab + (group + m / 2) * 4 + (m % 2) * 2;
        words.push_back(extractWord(b, loc, regs, reg));
      }
      Value r = arith::AddIOp::create(b, loc, row, c(slab * 64 * warpgroups));
      Value col = arith::AddIOp::create(b, loc, groupOffset, c(8 * group - first));
      Value addr = LLVM::GEPOp::create(b, loc, base.getType(), b.getI8Type(), base,
                                       ValueRange{swizzledOffset(b, loc, dst, r, col)});
      words.insert(words.begin(), sharedAddress(b, loc, addr));
      inlinePtx(b, loc, Type(), words,
                "stmatrix.sync.aligned.m8n8.x4.shared.b16 [$0], {$1, $2, $3, $4};",
                "r,r,r,r,r");
    }
}

/// Whether a tile of `layout` moves to or from `shared` in runs of up to 16
/// bytes that stay within one chunk: a 2-D shared tile with a chosen swizzle
/// (tile-select-swizzle), rows of whole spans (or 16-byte chunks), boxes of
/// whole 8-row periods.
bool runsFit(SharedType shared, const FailureOr<ThreadLayout> &layout, int64_t bytes) {
  if (failed(layout) || shared.getShape().size() != 2 || !shared.getSwizzle() || !bytes)
    return false;
  int64_t span = shared.getSwizzle().getBytes(), rowBytes = shared.getShape()[1] * bytes;
  return rowBytes % (span ? span : 16) == 0 &&
         (rowBytes <= span || span == 0 || shared.getShape()[0] % 8 == 0);
}

/// How a thread moves its registers of a tile to or from a shared tile: its
/// layout, and runs of `width` elements of `bytes` each.
struct SharedRuns {
  ThreadLayout layout;
  int64_t bytes, width;
};

/// The runs of `tile` that `op` moves `direction` ("from", "into") `shared`;
/// an error on `op` where they do not fit (runsFit).
FailureOr<SharedRuns> sharedRuns(Operation *op, SharedType shared, RankedTensorType tile,
                                 StringRef direction) {
  FailureOr<ThreadLayout> layout = ThreadLayout::get(tile);
  int64_t bytes = registerType(tile.getElementType()).getIntOrFloatBitWidth() / 8;
  if (!runsFit(shared, layout, bytes)) {
    op->emitError() << op->getName().stripDialect() << " lowers " << direction
                    << " 2-D shared tiles with a chosen swizzle (tile-select-swizzle), rows of "
                       "whole swizzle spans (or 16-byte chunks) and, for several boxes, a "
                       "multiple of 8 rows";
    return failure();
  }
  return SharedRuns{*layout, bytes, std::min<int64_t>(layout->contiguity(), 16 / bytes)};
}

/// A 2-D shared tile, laid out as TMA writes it (see swizzledOffset), into
/// registers: each thread reads its runs (up to 16 bytes, within one chunk).
/// tile-pipeline's stages of loads computed into an mma operand (an int8
/// weight) are read so.
struct LoadSharedLowering : public OpConversionPattern<LoadSharedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LoadSharedOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    SharedType src = op.getSrc().getType();
    RankedTensorType tile = op.getResult().getType();
    FailureOr<SharedRuns> runs = sharedRuns(op, src, tile, "from");
    if (failed(runs))
      return failure();
    const ThreadLayout &layout = runs->layout;
    int64_t bytes = runs->bytes, width = runs->width;
    Type elt = registerType(tile.getElementType());
    Location loc = op.getLoc();
    Value tid = threadId(rewriter, loc);
    auto loadRun = [&](int64_t reg) -> Value {
      SmallVector<Value> c = layout.coords(rewriter, loc, tid, reg);
      Value addr = LLVM::GEPOp::create(rewriter, loc, adaptor.getSrc().getType(),
                                       rewriter.getI8Type(), adaptor.getSrc(),
                                       ValueRange{swizzledOffset(rewriter, loc, src, c[0], c[1])});
      return LLVM::LoadOp::create(rewriter, loc, runType(elt, width), addr, width * bytes);
    };
    rewriter.replaceOp(op, registersByRuns(rewriter, loc, elt, layout.numRegisters(), width,
                                           loadRun));
    return success();
  }
};

/// Registers into a 2-D shared tile, laid out as TMA would write it (see
/// swizzledOffset). Each thread writes its runs (up to 16 bytes, so within
/// one chunk) and fences them for the async proxy (tensor cores, TMA).
struct StoreSharedLowering : public OpConversionPattern<StoreSharedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(StoreSharedOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    SharedType dst = op.getDst().getType();
    RankedTensorType tile = op.getValue().getType();
    FailureOr<SharedRuns> runs = sharedRuns(op, dst, tile, "into");
    if (failed(runs))
      return failure();
    const ThreadLayout &layout = runs->layout;
    int64_t bytes = runs->bytes, width = runs->width;
    Location loc = op.getLoc();
    Value tid = threadId(rewriter, loc);
    Value owner = layout.owner(rewriter, loc, tid);
    Value base = adaptor.getDst();
    // A window of columns [first, last): registers whose columns lie outside
    // it on every thread are skipped; where a register's columns are not
    // known statically, each thread checks its own.
    int64_t first = op.getColumn(), last = first + dst.getShape()[1];
    bool window = first != 0 || last != tile.getDimSize(1);
    if (layout.wgmmaTileWarpgroups() && bytes == 2 && first % 16 == 0 && last % 16 == 0) {
      storeMatrices(rewriter, loc, layout, dst, adaptor.getValue(), base, tid, first, last);
      inlinePtx(rewriter, loc, Type(), {}, "fence.proxy.async.shared::cta;", "");
      rewriter.eraseOp(op);
      return success();
    }
    for (int64_t reg = 0; reg < layout.numRegisters(); reg += width) {
      std::optional<std::pair<int64_t, int64_t>> span = layout.columnSpan(reg);
      if (window && span && (span->second <= first || span->first >= last))
        continue;
      SmallVector<Value> c = layout.coords(rewriter, loc, tid, reg);
      Value col = c[1], inWindow = owner;
      if (window) {
        col = arith::SubIOp::create(rewriter, loc, col, constI64(rewriter, loc, first));
        if (!span || span->first < first || span->second > last) {
          Value in = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult, col,
                                           constI64(rewriter, loc, last - first));
          inWindow = andOf(rewriter, loc, inWindow, in);
        }
      }
      Value offset = swizzledOffset(rewriter, loc, dst, c[0], col);
      Value addr = LLVM::GEPOp::create(rewriter, loc, base.getType(), rewriter.getI8Type(), base,
                                       ValueRange{offset});
      Value value = extractRun(rewriter, loc, adaptor.getValue(), reg, width);
      auto store = [&, addr = addr, value = value](OpBuilder &b, Location l) {
        LLVM::StoreOp::create(b, l, value, addr, width * bytes);
      };
      if (inWindow)
        scf::IfOp::create(rewriter, loc, inWindow, [&](OpBuilder &b, Location l) {
          store(b, l);
          scf::YieldOp::create(b, l);
        });
      else
        store(rewriter, loc);
    }
    inlinePtx(rewriter, loc, Type(), {}, "fence.proxy.async.shared::cta;", "");
    rewriter.eraseOp(op);
    return success();
  }
};

/// One thread of each warpgroup arrives (after the warpgroup's own
/// wgmma.wait_group, the mma that read the stage is done for all of it); on
/// a cluster barrier, at the barrier of each program of the cluster (its
/// shared::cluster address, by mapa). The arrival keeps the default
/// release.cta order, as CUTLASS's: `.release.cluster` makes ptxas put a
/// MEMBAR.ALL.GPU before each, which doubled a multicast GEMM's k-step.
struct ArriveLowering : public OpConversionPattern<ArriveOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ArriveOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lead = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::eq,
        arith::RemUIOp::create(rewriter, loc, threadId(rewriter, loc), constI64(rewriter, loc, 128)),
        constI64(rewriter, loc, 0));
    int64_t programs = op.getCluster() ? numCtas(op->getParentOfType<func::FuncOp>()) : 1;
    scf::IfOp::create(rewriter, loc, lead, [&](OpBuilder &b, Location l) {
      Value bar = sharedAddress(b, l, adaptor.getBarrier());
      if (programs == 1)
        inlinePtx(b, l, Type(), {bar}, "mbarrier.arrive.shared::cta.b64 _, [$0];", "r");
      for (int64_t rank = 0; programs > 1 && rank < programs; ++rank)
        inlinePtx(b, l, Type(), {bar, constI32(b, l, rank)},
                  "{ .reg .b32 remote; mapa.shared::cluster.u32 remote, $0, $1; "
                  "mbarrier.arrive.shared::cluster.b64 _, [remote]; }",
                  "r,r");
      scf::YieldOp::create(b, l);
    });
    rewriter.eraseOp(op);
    return success();
  }
};

/// Warpgroups past the kernel's `num_warps` form the producer: they give
/// registers back (setmaxnreg.dec) and one thread runs the producer region;
/// the consumers take the registers (setmaxnreg.inc) and run theirs.
/// setmaxnreg moves registers within what the CTA was launched with (the
/// 64K file over its threads, in multiples of 8 a thread: 168 for 384
/// threads, 96 for 640); asking for more blocks forever. So the consumers
/// share the launch allocation less the producer's 40 a thread.
int64_t consumerRegisters(int64_t consumers, int64_t producerRegs) {
  int64_t threads = consumers + 128;
  int64_t launched = 65536 / threads / 8 * 8 * threads;
  return std::min<int64_t>(240, (launched - 128 * producerRegs) / consumers / 8 * 8);
}

struct WarpSpecializeLowering : public OpConversionPattern<WarpSpecializeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(WarpSpecializeOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t consumers = consumerThreads(op->getParentOfType<func::FuncOp>());
    int64_t producerRegs = 40;
    int64_t consumerRegs = consumerRegisters(consumers, producerRegs);
    Value tid = threadId(rewriter, loc);
    Value isProducer = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::uge, tid,
                                             constI64(rewriter, loc, consumers));
    auto branch = scf::IfOp::create(rewriter, loc, TypeRange{}, isProducer, /*withElse=*/true);
    branch->setAttr(kConsumerBranchAttr, rewriter.getUnitAttr());
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPoint(branch.thenBlock()->getTerminator());
      inlinePtx(rewriter, loc, Type(), {},
                "setmaxnreg.dec.sync.aligned.u32 " + std::to_string(producerRegs) + ";", "");
      Value first = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, tid,
                                          constI64(rewriter, loc, consumers));
      auto one = scf::IfOp::create(rewriter, loc, TypeRange{}, first, /*withElse=*/false);
      rewriter.inlineBlockBefore(&op.getProducer().front(), one.thenBlock()->getTerminator());
      rewriter.setInsertionPoint(branch.elseBlock()->getTerminator());
      inlinePtx(rewriter, loc, Type(), {},
                "setmaxnreg.inc.sync.aligned.u32 " + std::to_string(consumerRegs) + ";", "");
      // Warpgroup 0 holds the first turn: it arrives on its own turn barrier,
      // and at the end takes the arrival of the last warpgroup's last pass.
      bool turns =
          op.getConsumer().walk([](TurnWaitOp) { return WalkResult::interrupt(); }).wasInterrupted();
      auto onWarpgroupZero = [&](StringRef ptx) {
        Value zero = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult, tid,
                                           constI64(rewriter, loc, 128));
        scf::IfOp::create(rewriter, loc, zero, [&](OpBuilder &b, Location l) {
          inlinePtx(b, l, Type(), {}, (ptx + " " + std::to_string(kTurnBarrier) + ", 256;").str(),
                    "");
          scf::YieldOp::create(b, l);
        });
      };
      if (turns)
        onWarpgroupZero("bar.arrive");
      rewriter.inlineBlockBefore(&op.getConsumer().front(), branch.elseBlock()->getTerminator());
      if (turns)
        onWarpgroupZero("bar.sync");
    }
    rewriter.eraseOp(op);
    return success();
  }
};

/// Consumer warpgroup w waits on named barrier kTurnBarrier + w, which
/// completes when its 128 threads wait and the previous warpgroup's 128
/// threads passed (arrived).
Value turnBarrier(OpBuilder &b, Location loc, int64_t offset, int64_t warpgroups) {
  Value wg = arith::DivUIOp::create(b, loc, threadId(b, loc), constI64(b, loc, 128));
  wg = arith::RemUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, wg, constI64(b, loc, offset)),
      constI64(b, loc, warpgroups));
  Value id = arith::AddIOp::create(b, loc, wg, constI64(b, loc, kTurnBarrier));
  return arith::TruncIOp::create(b, loc, b.getI32Type(), id);
}

template <typename OpTy>
struct TurnLowering : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    constexpr bool wait = std::is_same_v<OpTy, TurnWaitOp>;
    int64_t warpgroups = consumerThreads(op->template getParentOfType<func::FuncOp>()) / 128;
    Value id = turnBarrier(rewriter, op.getLoc(), wait ? 0 : 1, warpgroups);
    inlinePtx(rewriter, op.getLoc(), Type(), {id},
              wait ? "bar.sync $0, 256;" : "bar.arrive $0, 256;", "r");
    rewriter.eraseOp(op);
    return success();
  }
};

/// Spin on try_wait.parity until the phase completed.
struct WaitLowering : public OpConversionPattern<WaitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(WaitOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value bar = sharedAddress(rewriter, loc, adaptor.getBarrier());
    Value phase = arith::ExtUIOp::create(rewriter, loc, rewriter.getI32Type(), adaptor.getPhase());
    spinWhile(rewriter, loc, [&](OpBuilder &b, Location l) {
      Value ready = inlinePtx(b, l, b.getI32Type(), {bar, phase},
                              "{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, "
                              "[$1], $2; selp.u32 $0, 1, 0, p; }",
                              "=r,r,r");
      return arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, ready, constI32(b, l, 0));
    });
    rewriter.eraseOp(op);
    return success();
  }
};


/// Thread 0 issues one TMA store a box (a shared tile wider than the swizzle
/// span is several boxes side by side) and commits them as one bulk group.
/// The other threads wrote their parts before the barrier that precedes it.
struct AsyncStoreLowering : public OpConversionPattern<AsyncStoreOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AsyncStoreOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    SharedType src = op.getSrc().getType();
    FailureOr<Value> desc = tensorMapParam(op, src, rewriter);
    if (failed(desc))
      return failure();
    Location loc = op.getLoc();
    onThreadZero(rewriter, loc, [&](OpBuilder &b, Location l) {
      Value map = tensorMapAddress(b, l, *desc);
      forEachBox(b, l, src, adaptor.getSrc(), adaptor.getOffsets(),
                 [&](Value box, Value col, Value row) {
                   inlinePtx(b, l, Type(), {map, col, row, box},
                             "cp.async.bulk.tensor.2d.global.shared::cta.bulk_group "
                             "[$0, {$1, $2}], [$3];",
                             "l,r,r,r");
                 });
      inlinePtx(b, l, Type(), {}, "cp.async.bulk.commit_group;", "");
    });
    rewriter.eraseOp(op);
    return success();
  }
};

/// The thread that issued the stores waits until their bulk groups have read
/// shared memory (not until the global writes land: the kernel's end does).
struct AsyncStoreWaitLowering : public OpConversionPattern<AsyncStoreWaitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AsyncStoreWaitOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    onThreadZero(rewriter, op.getLoc(), [&](OpBuilder &b, Location l) {
      inlinePtx(b, l, Type(), {},
                "cp.async.bulk.wait_group.read " + std::to_string(op.getPending()) + ";", "");
    });
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void tile::populateHopperOpPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                                    LoweringState &state) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<AllocSharedLowering, AllocMBarrierLowering, AsyncLoadLowering>(converter, ctx,
                                                                             state);
  patterns.add<StageLowering, ArriveLowering, WarpSpecializeLowering, WaitLowering,
               LoadSharedLowering, StoreSharedLowering>(converter, ctx);
  patterns.add<AsyncStoreLowering, AsyncStoreWaitLowering, TurnLowering<TurnWaitOp>,
               TurnLowering<TurnPassOp>>(converter, ctx);
}
