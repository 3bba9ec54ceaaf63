// tile-pipeline: loads feeding mma in a loop become multi-stage asynchronous
// copies into shared memory (see the pass description in TilePasses.td).
#include "Transforms/LoopExpansion.h"
#include "Transforms/Staging.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILEPIPELINE
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;
using namespace mlir::tile::staging;

namespace {

/// Issues the copies of the iteration at `iv` into stage `stage` of `ring`,
/// if that iteration runs.
void issueCopies(OpBuilder &b, Location loc, scf::ForOp loop, ArrayRef<StagedLoad> loads,
                 const Ring &ring, Value iv, Value stage) {
  scf::IfOp::create(b, loc, loops::runs(b, loc, iv, loop.getUpperBound()),
                    [&](OpBuilder &t, Location l) {
                      IRMapping map;
                      copyIntoStage(t, l, ring, loads, stage, [&](Value v) {
                        return loops::atIteration(t, loop, v, iv, map);
                      });
                      scf::YieldOp::create(t, l);
                    });
}

/// Where TMA cannot copy (a ragged row stride, say), the loads stay register
/// loads and are written into one shared buffer per operand before the mma:
/// barrier (the last mma finished reading), store, barrier, mma.
void stageThroughRegisters(scf::ForOp loop, ArrayRef<StagedLoad> loads) {
  Location loc = loop.getLoc();
  OpBuilder b(loop);
  // The loads whose first mma is the same are stored together just before it
  // (a load after an earlier mma is stored after that mma, where it is
  // defined); every mma of a load reads its buffer.
  llvm::MapVector<Operation *, SmallVector<std::pair<LoadOp, Value>>> byFirstMma;
  for (StagedLoad staged : loads) {
    Value buffer = AllocSharedOp::create(b, loc, staged.stageType);
    byFirstMma[readersOf(staged).front()].push_back({staged.load, buffer});
  }
  for (auto &[mma, group] : byFirstMma) {
    OpBuilder at(mma);
    BarrierOp::create(at, loc);  // the last reader of these buffers is done
    for (auto [load, buffer] : group)
      StoreSharedOp::create(at, loc, load.getResult(), buffer);
    BarrierOp::create(at, loc);  // every thread's part is written
    for (auto [load, buffer] : group)
      for (OpOperand &use : llvm::make_early_inc_range(load.getResult().getUses()))
        if (isa<MmaOp>(use.getOwner()))
          use.set(buffer);
  }
}


/// Every thread runs the loop; thread 0 issues the copies S - 1 iterations
/// ahead, into the stage the previous iteration's mma read.
LogicalResult pipeline(scf::ForOp loop, unsigned stages, bool multipleWarpgroups) {
  stageLoopInvariantOperands(loopInvariantOperands(loop));
  SmallVector<StagedLoad> loads = findStagedLoads(loop);
  if (stages == 1 && !loads.empty()) { // num_stages=1: no copy ahead, as Triton's
    stageThroughRegisters(loop, loads);
    return success();
  }
  if (classify(loop, loads) == Staging::ThroughRegisters) {
    // The driver shows this only where the user chose num_stages.
    loop.emitRemark() << "num_stages=" << stages
                      << " not applied: TMA cannot copy every load of this loop ("
                      << tmaRefusal(loads)
                      << "), so its tiles go through registers into one shared buffer each";
    stageThroughRegisters(loop, loads);
    return success();
  }
  // Loads computed into an operand (a weight dequantized in the loop) join
  // the ring where TMA can copy them; the loop reads them back from it. Not
  // in a warp-specialized consumer: its producer copies what it stages. Not
  // a reason to refuse a loop not counted in i32 that stages nothing else.
  if (!loop->getParentOfType<WarpSpecializeOp>() &&
      loop.getInductionVar().getType().isInteger(32))
    llvm::append_range(loads, findComputedOperandLoads(loop));
  if (loads.empty())
    return success();
  if (!loop.getInductionVar().getType().isInteger(32))
    return loop.emitError("tile-pipeline: loop induction variable must be i32");
  Location loc = loop.getLoc();
  OpBuilder b(loop);
  Ring ring = allocateRings(b, loc, loads, stages).front();
  // Prologue: iterations 0 .. S-2.
  for (unsigned s = 0; s + 1 < stages; ++s) {
    Value iv = loops::advance(b, loc, loop.getLowerBound(), loop.getStep(), s);
    issueCopies(b, loc, loop, loads, ring, iv, constI32(b, loc, s));
  }
  // Body: wait, multiply from shared memory, prefetch.
  Iteration it = consumeStage(loop, loads, ring);
  OpBuilder after(it.lastMma->getBlock(), std::next(it.lastMma->getIterator()));
  // Another warpgroup's mma, or another warp's tile.load_shared, may still
  // read the stage about to be overwritten.
  if (multipleWarpgroups ||
      llvm::any_of(loads, [](const StagedLoad &s) { return s.readIntoRegisters; }))
    BarrierOp::create(after, loc);
  // The copies of iteration i + S - 1 go to the stage iteration i - 1 used.
  Value ahead = loops::advance(after, loc, loop.getInductionVar(), loop.getStep(), stages - 1);
  issueCopies(after, loc, loop, loads, ring, ahead, previousStage(after, loc, it.index, stages));
  for (StagedLoad &staged : loads)
    staged.load.erase();
  leaveMmasInFlight(loop);
  return success();
}

struct TilePipeline : public tile::impl::TilePipelineBase<TilePipeline> {
  using TilePipelineBase::TilePipelineBase;
  void runOnOperation() override {
    if (stages < 1 || stages > kMaxStages) {
      getOperation().emitError() << "tile-pipeline: stages must be 1 to " << kMaxStages
                                 << ", got " << stages.getValue();
      return signalPassFailure();
    }
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(kKernelAttr))
        continue;
      // tile-warp-specialize's producer took the multicast loads it honours;
      // what is left here loads per program.
      bool specialized = !func.getOps<WarpSpecializeOp>().empty();
      func.walk([&](LoadOp load) {
        remarkMulticastDropped(
            load, specialized ? "only the tiles that the producer warpgroup copies for a loop "
                                "are multicast, and this load is not one of them"
                              : "the kernel is not warp-specialized (multicast needs "
                                "warp_specialize=True)");
      });
      // A loop that may exit early is an scf.while: its mmas read operands
      // loaded each iteration, with nothing copied ahead.
      func.walk([&](scf::WhileOp loop) {
        bool loadsMmaOperands = false;
        loop.getAfter().walk([&](MmaOp mma) {
          for (Value operand : {mma.getA(), mma.getB()})
            if (auto load = operand.getDefiningOp<LoadOp>(); load && loop->isAncestor(load))
              loadsMmaOperands = true;
        });
        if (loadsMmaOperands)
          loop.emitRemark() << "num_stages=" << unsigned(stages)
                            << " not applied: this loop may exit early (break or return), and "
                               "such a loop is not software-pipelined; its mma operands are "
                               "loaded and written to shared memory each iteration";
      });
      SmallVector<scf::ForOp> loops;
      func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
      for (scf::ForOp loop : loops)
        if (failed(pipeline(loop, stages, numWarps(func) > 4)))
          return signalPassFailure();
    }
  }
};
} // namespace
