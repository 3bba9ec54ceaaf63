// Pieces of software pipelining that tile-pipeline and tile-warp-specialize
// share: which loads to stage, stage buffers and barriers, the consumer's
// side of an iteration, and mma groups left in flight.
#include "Transforms/Staging.h"

#include "Transforms/LoopExpansion.h"

#include "Analysis/TMA.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::tile;

namespace mlir::tile::staging {

Value constI32(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
}

SmallVector<StagedLoad> findStagedLoads(scf::ForOp loop, bool sharedReaders) {
  SmallVector<StagedLoad> found;
  auto readByMma = [&](OpOperand &use) {
    return isa<MmaOp>(use.getOwner()) && use.getOwner()->getBlock() == loop.getBody() &&
           use.getOperandNumber() <= 1;
  };
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto load = dyn_cast<LoadOp>(op);
    if (!load || !isa<ViewType>(load.getSrc().getType()) ||
        loop->isAncestor(load.getSrc().getParentBlock()->getParentOp()) ||
        load.getResult().use_empty() || (!sharedReaders && !load.getResult().hasOneUse()) ||
        !llvm::all_of(load.getResult().getUses(), readByMma))
      continue;
    RankedTensorType tile = load.getType();
    found.push_back({load, SharedType::get(loop.getContext(), tile.getShape(),
                                           tile.getElementType(), SwizzleAttr())});
  }
  return found;
}

SmallVector<Operation *> readersOf(const StagedLoad &staged) {
  SmallVector<Operation *> readers;
  for (Operation *user : staged.load.getResult().getUsers())
    if (!llvm::is_contained(readers, user))
      readers.push_back(user);
  llvm::sort(readers, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return readers;
}

/// Whether `value` reaches operand a or b of an mma in `loop`'s body through
/// the body's own ops.
static bool feedsMmaOperand(scf::ForOp loop, Value value) {
  SmallVector<Value> work{value};
  llvm::DenseSet<Value> seen;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (user->getBlock() != loop.getBody())
        continue;
      if (isa<MmaOp>(user)) {
        if (use.getOperandNumber() <= 1)
          return true;
        continue;
      }
      llvm::append_range(work, user->getResults());
    }
  }
  return false;
}

SmallVector<StagedLoad> findComputedOperandLoads(scf::ForOp loop) {
  SmallVector<StagedLoad> found;
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto load = dyn_cast<LoadOp>(op);
    if (!load || !isa<ViewType>(load.getSrc().getType()) || load.getType().getRank() != 2 ||
        loop->isAncestor(load.getSrc().getParentBlock()->getParentOp()) || !tmaCanCopy(load) ||
        llvm::any_of(load.getResult().getUsers(), [](Operation *u) { return isa<MmaOp>(u); }) ||
        !feedsMmaOperand(loop, load.getResult()))
      continue;
    // A TMA box: rows of whole 16-byte chunks, at most 256 of them; rows
    // wider than one swizzle span go as several boxes of whole 8-row periods
    // (what tile.load_shared then reads).
    RankedTensorType tile = load.getType();
    unsigned bits = tile.getElementType().getIntOrFloatBitWidth();
    int64_t rows = tile.getDimSize(0), rowBytes = tile.getDimSize(1) * bits / 8;
    if (bits % 8 || rowBytes % 16 || rows > 256 || (rowBytes > 128 && rows % 8))
      continue;
    found.push_back({load,
                     SharedType::get(loop.getContext(), tile.getShape(), tile.getElementType(),
                                     SwizzleAttr()),
                     /*readIntoRegisters=*/true});
  }
  return found;
}

/// TMA can copy the load's box (tmaCanAddress's rule).
bool tmaCanCopy(LoadOp load, std::string *why) {
  return tmaCanAddress(load.getSrc(), load.getOffsets(), why);
}

std::string tmaRefusal(ArrayRef<StagedLoad> loads) {
  std::string why;
  for (const StagedLoad &staged : loads)
    if (!tmaCanCopy(staged.load, &why))
      return why;
  return why;
}

SmallVector<LoadOp> loopInvariantOperands(scf::ForOp loop) {
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
  return llvm::map_to_vector(loads, [](Operation *op) { return cast<LoadOp>(op); });
}

void stageLoopInvariantOperands(ArrayRef<LoadOp> loads) {
  for (LoadOp load : loads) {
    Location loc = load.getLoc();
    RankedTensorType tile = load.getType();
    auto type = SharedType::get(load.getContext(), tile.getShape(), tile.getElementType(),
                                SwizzleAttr());
    OpBuilder b(load);
    Value buffer = AllocSharedOp::create(b, loc, type);
    if (tmaCanCopy(load)) {
      Value bar = allocateStageBarriers(b, loc, /*stages=*/1, /*arrivals=*/1);
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

bool multicastInCluster(LoadOp load) {
  return load.getMulticast() && numCtas(load->getParentOfType<func::FuncOp>()) > 1;
}

void remarkMulticastDropped(LoadOp load, StringRef why) {
  if (multicastInCluster(load))
    load.emitRemark() << "multicast not applied: " << why;
}

/// The shared buffer of `stages` stages of `staged`'s tile.
static Value allocateStageBuffer(OpBuilder &b, Location loc, const StagedLoad &staged,
                                 unsigned stages) {
  SmallVector<int64_t> shape{int64_t(stages)};
  shape.append(staged.stageType.getShape().begin(), staged.stageType.getShape().end());
  return AllocSharedOp::create(b, loc,
                               SharedType::get(b.getContext(), shape,
                                               staged.stageType.getElementType(), SwizzleAttr()));
}

Value allocateStageBarriers(OpBuilder &b, Location loc, unsigned stages, int64_t arrivals) {
  return AllocMBarrierOp::create(b, loc, MBarrierType::get(b.getContext(), stages),
                                 b.getI32IntegerAttr(arrivals));
}

SmallVector<Ring> allocateRings(OpBuilder &b, Location loc, ArrayRef<StagedLoad> loads,
                                unsigned stages, const RingOptions &options) {
  SmallVector<Ring> rings;
  llvm::DenseMap<Operation *, unsigned> ringOf;
  for (auto [i, staged] : llvm::enumerate(loads)) {
    auto [it, fresh] =
        ringOf.try_emplace(options.key ? options.key(staged) : nullptr, rings.size());
    if (fresh)
      rings.emplace_back();
    rings[it->second].loads.push_back(i);
    rings[it->second].buffers.push_back(allocateStageBuffer(b, loc, staged, stages));
  }
  for (Ring &ring : rings) {
    ring.stages = stages;
    ring.cluster = options.multicast && llvm::any_of(ring.loads, [&](unsigned i) {
                     return multicastInCluster(loads[i].load);
                   });
    int64_t programs =
        ring.cluster ? numCtas(loads.front().load->getParentOfType<func::FuncOp>()) : 1;
    ring.full = allocateStageBarriers(b, loc, stages, ring.loads.size());
    if (options.consumers)
      ring.empty = allocateStageBarriers(b, loc, stages, options.consumers * programs);
  }
  return rings;
}

void eraseRing(const Ring &ring) {
  for (Value v : ring.buffers)
    v.getDefiningOp()->erase();
  for (Value bars : {ring.full, ring.empty})
    if (bars)
      bars.getDefiningOp()->erase();
}

std::pair<Value, Value> stageAndParity(OpBuilder &b, Location loc, Value i, unsigned stages) {
  Value S = constI32(b, loc, stages);
  Value stage = arith::RemSIOp::create(b, loc, i, S);
  Value round = arith::DivSIOp::create(b, loc, i, S);
  Value parity = arith::TruncIOp::create(
      b, loc, b.getI1Type(), arith::RemSIOp::create(b, loc, round, constI32(b, loc, 2)));
  return {stage, parity};
}

Value previousStage(OpBuilder &b, Location loc, Value i, unsigned stages) {
  return arith::RemSIOp::create(
      b, loc, arith::AddIOp::create(b, loc, i, constI32(b, loc, stages - 1)),
      constI32(b, loc, stages));
}

Value stageBarrier(OpBuilder &b, Location loc, Value barriers, Value stage) {
  return StageOp::create(b, loc, MBarrierType::get(b.getContext(), 1), barriers, stage);
}

Value stageTile(OpBuilder &b, Location loc, const StagedLoad &staged, Value buffer, Value stage) {
  return StageOp::create(b, loc, staged.stageType, buffer, stage);
}

void copyIntoStage(OpBuilder &b, Location loc, const Ring &ring, ArrayRef<StagedLoad> loads,
                   Value stage, function_ref<Value(Value)> at) {
  Value full = stageBarrier(b, loc, ring.full, stage);
  for (auto [index, buffer] : llvm::zip(ring.loads, ring.buffers)) {
    LoadOp load = loads[index].load;
    SmallVector<Value> offsets = llvm::map_to_vector(load.getOffsets(), at);
    Value dst = stageTile(b, loc, loads[index], buffer, stage);
    AsyncLoadOp::create(b, load.getLoc(), at(load.getSrc()), offsets, dst, full,
                        ring.cluster && multicastInCluster(load));
  }
}

void waitUntilFull(OpBuilder &b, Location loc, const Ring &ring, Value stage, Value parity) {
  WaitOp::create(b, loc, stageBarrier(b, loc, ring.full, stage), parity);
}

void releaseStage(OpBuilder &b, Location loc, const Ring &ring, Value stage) {
  ArriveOp::create(b, loc, stageBarrier(b, loc, ring.empty, stage), ring.cluster);
}

void readFromStage(OpBuilder &b, Location loc, const StagedLoad &staged, Value buffer,
                   Value stage) {
  Value tile = stageTile(b, loc, staged, buffer, stage);
  if (staged.readIntoRegisters)
    tile = LoadSharedOp::create(b, loc, staged.load.getType(), tile).getResult();
  staged.load.getResult().replaceAllUsesWith(tile);
}

Iteration consumeStage(scf::ForOp loop, ArrayRef<StagedLoad> loads, const Ring &ring) {
  Location loc = loop.getLoc();
  OpBuilder in(loop.getBody(), loop.getBody()->begin());
  Iteration it;
  it.index = loops::iterationIndex(in, loop, loop.getInductionVar());
  auto [stage, phase] = stageAndParity(in, loc, it.index, ring.stages);
  it.stage = stage;
  waitUntilFull(in, loc, ring, it.stage, phase);
  for (auto [index, buffer] : llvm::zip(ring.loads, ring.buffers)) {
    const StagedLoad &staged = loads[index];
    // A tile read back into registers is read where the load was; an
    // operand's view is made right before its first mma.
    if (staged.readIntoRegisters) {
      OpBuilder at(staged.load);
      readFromStage(at, loc, staged, buffer, it.stage);
      continue;
    }
    SmallVector<Operation *> readers = readersOf(staged);
    OpBuilder at(readers.front());
    readFromStage(at, loc, staged, buffer, it.stage);
    if (!it.lastMma || it.lastMma->isBeforeInBlock(readers.back()))
      it.lastMma = readers.back();
  }
  // Every operand computed from its load (scaled, transposed): the stages are
  // read into registers, and the copies ahead follow the loop's last mma (or
  // the op of the body that holds it).
  if (!it.lastMma)
    for (Operation &op : loop.getBody()->without_terminator())
      if (isa<MmaOp>(op) || op.walk([](MmaOp) { return WalkResult::interrupt(); })
                                .wasInterrupted())
        it.lastMma = &op;
  return it;
}

bool yieldedOnly(scf::ForOp loop, MmaOp mma) {
  auto acc = dyn_cast<BlockArgument>(mma.getAcc());
  return mma->getBlock() == loop.getBody() && acc && acc.getOwner() == loop.getBody() &&
         acc.hasOneUse() && mma.getResult().hasOneUse() &&
         *mma.getResult().getUsers().begin() == loop.getBody()->getTerminator();
}

/// The mma of iteration i may run on while iteration i + 1 issues its own
/// (the stage it read is reused only after the next mma's issue waited for
/// it); its accumulator is read after the loop, behind a wait. Only an mma
/// whose result nothing reads inside the loop (it accumulates into a
/// loop-carried value and is yielded) may be left in flight. Returns whether
/// one was.
bool leaveMmasInFlight(scf::ForOp loop) {
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  bool any = false;
  for (Operation &op : loop.getBody()->without_terminator())
    if (auto mma = dyn_cast<MmaOp>(op);
        mma && isa<SharedType>(mma.getA().getType()) && isa<SharedType>(mma.getB().getType()) &&
        yieldedOnly(loop, mma)) {
      mma.setPending(1);
      any = true;
    }
  OpBuilder afterLoop(loop->getBlock(), std::next(loop->getIterator()));
  for (OpResult result : loop.getResults()) {
    auto mma = yield.getOperand(result.getResultNumber()).getDefiningOp<MmaOp>();
    if (!mma || mma.getPending() == 0)
      continue;
    auto wait = MmaWaitOp::create(afterLoop, loop.getLoc(), result);
    result.replaceAllUsesExcept(wait.getResult(), wait);
  }
  return any;
}

Staging classify(scf::ForOp loop, ArrayRef<StagedLoad> loads) {
  if (loads.empty())
    return Staging::None;
  if (!llvm::all_of(loads, [](const StagedLoad &s) { return tmaCanCopy(s.load); }))
    return Staging::ThroughRegisters;
  return Staging::TMA;
}

} // namespace mlir::tile::staging
