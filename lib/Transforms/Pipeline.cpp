// tile-pipeline: loads feeding mma in a loop become multi-stage asynchronous
// copies into shared memory (see the pass description in TilePasses.td).
#include "dialect/TilePasses.h"

#include "Analysis/TMA.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILEPIPELINE
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;

namespace {

/// A load the pass stages, with the mma operand it feeds.
struct StagedLoad {
  LoadOp load;
  SharedType stageType;
};

/// Loads of `loop` that qualify: from a view defined outside the loop, used
/// once, as operand a or b of a tile.mma in the loop body.
SmallVector<StagedLoad> findStagedLoads(scf::ForOp loop) {
  SmallVector<StagedLoad> found;
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto load = dyn_cast<LoadOp>(op);
    if (!load || !isa<ViewType>(load.getSrc().getType()) ||
        loop->isAncestor(load.getSrc().getParentBlock()->getParentOp()) ||
        !load.getResult().hasOneUse())
      continue;
    OpOperand &use = *load.getResult().getUses().begin();
    auto mma = dyn_cast<MmaOp>(use.getOwner());
    if (!mma || mma->getBlock() != loop.getBody() || use.getOperandNumber() > 1)
      continue;
    RankedTensorType tile = load.getType();
    found.push_back({load, SharedType::get(loop.getContext(), tile.getShape(),
                                           tile.getElementType(), SwizzleAttr())});
  }
  return found;
}

/// `value` as it would be computed in the iteration whose induction variable
/// is `iv`: ops of the loop body it depends on are cloned before `b`'s
/// insertion point; values from outside the loop are used as they are.
Value atIteration(OpBuilder &b, scf::ForOp loop, Value value, Value iv, IRMapping &map) {
  if (value == loop.getInductionVar())
    return iv;
  if (Value known = map.lookupOrNull(value))
    return known;
  Operation *def = value.getDefiningOp();
  if (!def || def->getBlock() != loop.getBody())
    return value;
  for (Value operand : def->getOperands())
    map.map(operand, atIteration(b, loop, operand, iv, map));
  Operation *clone = b.clone(*def, map);
  return clone->getResult(cast<OpResult>(value).getResultNumber());
}

Value constI32(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
}

/// Issues the copies of the iteration with induction variable `iv` into
/// stage `stage`, if that iteration exists.
void issueCopies(OpBuilder &b, Location loc, scf::ForOp loop, ArrayRef<StagedLoad> loads,
                 ArrayRef<Value> buffers, Value barriers, Value iv, Value stage) {
  Value exists = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, iv,
                                       loop.getUpperBound());
  scf::IfOp::create(b, loc, exists, [&](OpBuilder &t, Location l) {
    IRMapping map;
    Value bar = StageOp::create(t, l, MBarrierType::get(t.getContext(), 1), barriers, stage);
    for (auto [staged, buffer] : llvm::zip(loads, buffers)) {
      LoadOp load = staged.load;
      SmallVector<Value> offsets;
      for (Value o : load.getOffsets())
        offsets.push_back(atIteration(t, loop, o, iv, map));
      Value dst = StageOp::create(t, l, staged.stageType, buffer, stage);
      AsyncLoadOp::create(t, l, load.getSrc(), offsets, dst, bar);
    }
    scf::YieldOp::create(t, l);
  });
}

/// TMA can copy from the view (the rule shared with TMA stores: Analysis/TMA.h).
bool tmaCanCopy(LoadOp load) { return tmaCanAddress(load.getSrc()); }

/// Where TMA cannot copy (a ragged row stride, say), the loads stay register
/// loads and are written into one shared buffer per operand before the mma:
/// barrier (the last mma finished reading), store, barrier, mma.
void stageThroughRegisters(scf::ForOp loop, ArrayRef<StagedLoad> loads) {
  Location loc = loop.getLoc();
  OpBuilder b(loop);
  SmallVector<Value> buffers;
  for (StagedLoad staged : loads)
    buffers.push_back(AllocSharedOp::create(b, loc, staged.stageType));
  Operation *firstMma = nullptr;
  for (StagedLoad staged : loads) {
    Operation *user = *staged.load.getResult().getUsers().begin();
    if (!firstMma || user->isBeforeInBlock(firstMma))
      firstMma = user;
  }
  OpBuilder at(firstMma);
  BarrierOp::create(at, loc);
  for (auto [staged, buffer] : llvm::zip(loads, buffers)) {
    LoadOp load = staged.load;
    StoreSharedOp::create(at, loc, load.getResult(), buffer);
  }
  BarrierOp::create(at, loc);
  for (auto [staged, buffer] : llvm::zip(loads, buffers)) {
    LoadOp load = staged.load;
    for (OpOperand &use : llvm::make_early_inc_range(load.getResult().getUses()))
      if (isa<MmaOp>(use.getOwner()))
        use.set(buffer);
  }
}

/// An mma operand loaded before the loop (attention's Q) is copied into
/// shared memory once, before the loop, and the mma reads it there.
void stageLoopInvariantOperands(scf::ForOp loop) {
  llvm::SetVector<Operation *> loads;
  loop.getBody()->walk([&](MmaOp mma) {
    for (Value operand : {mma.getA(), mma.getB()})
      if (auto load = operand.getDefiningOp<LoadOp>();
          load && !loop->isAncestor(load) && isa<ViewType>(load.getSrc().getType()) &&
          llvm::all_of(load.getResult().getUsers(), [&](Operation *user) {
            auto userMma = dyn_cast<MmaOp>(user);
            return userMma && loop->isAncestor(userMma) && userMma.getAcc() != load.getResult();
          }))
        loads.insert(load);
  });
  for (Operation *op : loads) {
    auto load = cast<LoadOp>(op);
    Location loc = load.getLoc();
    RankedTensorType tile = load.getType();
    auto type = SharedType::get(load.getContext(), tile.getShape(), tile.getElementType(),
                                SwizzleAttr());
    OpBuilder b(load);
    Value buffer = AllocSharedOp::create(b, loc, type);
    if (tmaCanCopy(load)) {
      Value bar = AllocMBarrierOp::create(b, loc, MBarrierType::get(load.getContext(), 1),
                                          b.getI32IntegerAttr(1));
      AsyncLoadOp::create(b, loc, load.getSrc(), load.getOffsets(), buffer, bar);
      WaitOp::create(b, loc, bar, arith::ConstantIntOp::create(b, loc, b.getI1Type(), 0));
    } else {
      OpBuilder after(load->getBlock(), std::next(load->getIterator()));
      StoreSharedOp::create(after, loc, load.getResult(), buffer);
      BarrierOp::create(after, loc);
    }
    for (OpOperand &use : llvm::make_early_inc_range(load.getResult().getUses()))
      if (isa<MmaOp>(use.getOwner()))
        use.set(buffer);
    if (load.getResult().use_empty())
      load.erase();
  }
}

LogicalResult pipeline(scf::ForOp loop, unsigned stages, bool multipleWarpgroups) {
  stageLoopInvariantOperands(loop);
  SmallVector<StagedLoad> loads = findStagedLoads(loop);
  if (loads.empty())
    return success();
  if (!llvm::all_of(loads, [](const StagedLoad &s) { return tmaCanCopy(s.load); })) {
    stageThroughRegisters(loop, loads);
    return success();
  }
  if (!loop.getInductionVar().getType().isInteger(32))
    return loop.emitError("tile-pipeline: loop induction variable must be i32");
  MLIRContext *ctx = loop.getContext();
  Location loc = loop.getLoc();
  OpBuilder b(loop);
  SmallVector<Value> buffers;
  for (StagedLoad &staged : loads) {
    SmallVector<int64_t> shape{int64_t(stages)};
    shape.append(staged.stageType.getShape().begin(), staged.stageType.getShape().end());
    buffers.push_back(AllocSharedOp::create(
        b, loc, SharedType::get(ctx, shape, staged.stageType.getElementType(), SwizzleAttr())));
  }
  auto barriers = AllocMBarrierOp::create(b, loc, MBarrierType::get(ctx, stages),
                                          b.getI32IntegerAttr(loads.size()));
  Value lb = loop.getLowerBound(), step = loop.getStep();
  // Prologue: iterations 0 .. S-2.
  for (unsigned s = 0; s + 1 < stages; ++s) {
    Value iv = arith::AddIOp::create(
        b, loc, lb, arith::MulIOp::create(b, loc, step, constI32(b, loc, s)));
    issueCopies(b, loc, loop, loads, buffers, barriers, iv, constI32(b, loc, s));
  }
  // Body: wait, multiply from shared memory, prefetch.
  OpBuilder in(loop.getBody(), loop.getBody()->begin());
  Value iv = loop.getInductionVar();
  Value i = arith::DivSIOp::create(in, loc, arith::SubIOp::create(in, loc, iv, lb), step);
  Value S = constI32(in, loc, stages);
  Value stage = arith::RemSIOp::create(in, loc, i, S);
  Value round = arith::DivSIOp::create(in, loc, i, S);
  Value phase = arith::TruncIOp::create(in, loc, in.getI1Type(),
                                        arith::RemSIOp::create(in, loc, round, constI32(in, loc, 2)));
  WaitOp::create(in, loc, StageOp::create(in, loc, MBarrierType::get(ctx, 1), barriers, stage),
                 phase);
  Operation *lastMma = nullptr;
  for (auto [staged, buffer] : llvm::zip(loads, buffers)) {
    OpOperand &use = *staged.load.getResult().getUses().begin();
    OpBuilder at(use.getOwner());
    use.set(StageOp::create(at, loc, staged.stageType, buffer, stage));
    if (!lastMma || lastMma->isBeforeInBlock(use.getOwner()))
      lastMma = use.getOwner();
  }
  OpBuilder after(lastMma->getBlock(), std::next(lastMma->getIterator()));
  // Another warpgroup may still read the stage about to be overwritten.
  if (multipleWarpgroups)
    BarrierOp::create(after, loc);
  Value ahead = arith::AddIOp::create(
      after, loc, iv, arith::MulIOp::create(after, loc, step, constI32(after, loc, stages - 1)));
  Value nextStage = arith::RemSIOp::create(
      after, loc, arith::AddIOp::create(after, loc, i, constI32(after, loc, stages - 1)), S);
  issueCopies(after, loc, loop, loads, buffers, barriers, ahead, nextStage);
  for (StagedLoad &staged : loads)
    staged.load.erase();
  // The mma of iteration i may run on while iteration i + 1 issues its own
  // (the stage it read is refilled only after the next mma's issue waited for
  // it); its accumulator is read after the loop, behind a wait.
  // Only an mma whose result nothing reads inside the loop (it accumulates
  // into a loop-carried value and is yielded) may be left in flight.
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  for (Operation &op : loop.getBody()->without_terminator())
    if (auto mma = dyn_cast<MmaOp>(op);
        mma && isa<SharedType>(mma.getA().getType()) && isa<SharedType>(mma.getB().getType()) &&
        isa<BlockArgument>(mma.getAcc()) &&
        cast<BlockArgument>(mma.getAcc()).getOwner() == loop.getBody() &&
        mma.getResult().hasOneUse() && *mma.getResult().getUsers().begin() == yield)
      mma.setPending(1);
  OpBuilder afterLoop(loop->getBlock(), std::next(loop->getIterator()));
  for (OpResult result : loop.getResults()) {
    auto mma = yield.getOperand(result.getResultNumber()).getDefiningOp<MmaOp>();
    if (!mma || mma.getPending() == 0)
      continue;
    auto wait = MmaWaitOp::create(afterLoop, loc, result);
    result.replaceAllUsesExcept(wait.getResult(), wait);
  }
  return success();
}

struct TilePipeline : public tile::impl::TilePipelineBase<TilePipeline> {
  using TilePipelineBase::TilePipelineBase;
  void runOnOperation() override {
    if (stages < 2) {
      getOperation().emitError("tile-pipeline: stages must be at least 2");
      return signalPassFailure();
    }
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(kKernelAttr))
        continue;
      int64_t numWarps = 4;
      if (auto attr = func->getAttrOfType<IntegerAttr>(kNumWarpsAttr))
        numWarps = attr.getInt();
      SmallVector<scf::ForOp> loops;
      func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
      for (scf::ForOp loop : loops)
        if (failed(pipeline(loop, stages, numWarps > 4)))
          return signalPassFailure();
    }
  }
};
} // namespace
