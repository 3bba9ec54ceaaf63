// tile-overlap-mma: in a warp-specialized consumer loop whose two mmas both
// wait (attention: S = Q Kᵀ, softmax, O += P V), issue the second mma one
// iteration late, right behind the next iteration's first one, so that it
// runs on the tensor cores while the softmax runs (FlashAttention-3's
// intra-warpgroup overlap). See the pass description in TilePasses.td.
#include "Transforms/LoopExpansion.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILEOVERLAPMMA
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;

namespace {

/// What moves to the next iteration, and what it needs from this one.
struct Plan {
  mutable scf::ForOp loop;
  mutable MmaOp first, second;
  unsigned accIndex;                      // the iter_arg `second` accumulates into
  llvm::SetVector<Operation *> deferred;  // `second` and what only it needs from acc
  llvm::SetVector<Value> carried;         // body values the deferred ops read
  mutable ArriveOp release;               // the stage's release, after `second`
};

/// Ops cheap enough to recompute next iteration rather than carry.
bool rematerializable(Operation *op) {
  return isa<BroadcastOp, StageOp, SplatOp, arith::ConstantOp>(op);
}

std::optional<Plan> analyze(scf::ForOp loop) {
  if (!loop->getParentOfType<WarpSpecializeOp>())
    return std::nullopt;
  Block *body = loop.getBody();
  SmallVector<MmaOp> mmas(body->getOps<MmaOp>());
  if (mmas.size() != 2 || llvm::any_of(mmas, [](MmaOp m) { return m.getPending() != 0; }))
    return std::nullopt;
  // The release of what the second mma read comes right after it.
  Operation *next = mmas[1]->getNextNode();
  while (next && isa<StageOp>(next))
    next = next->getNextNode();
  auto release = dyn_cast_or_null<ArriveOp>(next);
  if (!release)
    return std::nullopt;
  Plan plan{loop, mmas[0], mmas[1], 0, {}, {}, release};
  Value result = plan.second.getResult();
  if (!result.hasOneUse() || !isa<scf::YieldOp>(*result.getUsers().begin()))
    return std::nullopt;
  plan.accIndex = result.getUses().begin()->getOperandNumber();
  Value acc = loop.getRegionIterArgs()[plan.accIndex];
  // Grow the deferred set backwards from `second`: an op joins when only
  // deferred ops use it and it reads the accumulator or is cheap to redo.
  plan.deferred.insert(plan.second);
  // So do the waits right before it (until the tiles it reads landed).
  for (Operation *op = plan.second->getPrevNode(); op; op = op->getPrevNode()) {
    if (isa<WaitOp>(op))
      plan.deferred.insert(op);
    else if (!isa<StageOp>(op))
      break;
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (Operation *op : SmallVector<Operation *>(plan.deferred.begin(), plan.deferred.end()))
      for (Value operand : op->getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (!def || def->getBlock() != body || plan.deferred.contains(def))
          continue;
        bool onlyDeferred = llvm::all_of(def->getUsers(), [&](Operation *user) {
          return plan.deferred.contains(user);
        });
        bool readsAcc = llvm::is_contained(def->getOperands(), acc);
        if (onlyDeferred && (readsAcc || rematerializable(def))) {
          plan.deferred.insert(def);
          grew = true;
        }
      }
  }
  // Only deferred ops may read the accumulator; they read no other block
  // argument (its next value would be needed) and nothing from `first` on.
  if (!llvm::all_of(acc.getUsers(), [&](Operation *u) { return plan.deferred.contains(u); }))
    return std::nullopt;
  for (Operation *op : plan.deferred)
    for (Value operand : op->getOperands()) {
      if (operand == acc)
        continue;
      if (isa<BlockArgument>(operand) && cast<BlockArgument>(operand).getOwner() == body)
        return std::nullopt;
      Operation *def = operand.getDefiningOp();
      if (def && def->getBlock() == body && !plan.deferred.contains(def))
        plan.carried.insert(operand);
    }
  auto releaseStage = plan.release.getBarrier().getDefiningOp<StageOp>();
  if (plan.carried.contains(plan.first.getResult()) || !releaseStage ||
      !plan.carried.contains(releaseStage.getIndex()))
    return std::nullopt;
  // Sorted into body order, so that cloning keeps dominance.
  SmallVector<Operation *> ordered(plan.deferred.begin(), plan.deferred.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  plan.deferred = llvm::SetVector<Operation *>(ordered.begin(), ordered.end());
  return plan;
}

/// A zero of `type` (what a carried value is before the first iteration).
Value zeroOf(OpBuilder &b, Location loc, Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return arith::ConstantOp::create(b, loc, tensor, b.getZeroAttr(tensor));
  return arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type));
}

/// The release of the stage the deferred mma read: the barrier of the
/// original release at the carried stage index.
void releaseStage(OpBuilder &b, Location loc, const Plan &plan, IRMapping &map) {
  auto stage = plan.release.getBarrier().getDefiningOp<StageOp>();
  Value bar = StageOp::create(b, loc, stage.getType(), stage.getSrc(),
                              map.lookupOrDefault(stage.getIndex()));
  ArriveOp::create(b, loc, bar, plan.release.getCluster());
}

/// How many consumer warpgroups run the loop (a kernel's warps, 4 by default).
int64_t consumerWarpgroups(scf::ForOp loop) {
  return numWarps(loop->getParentOfType<func::FuncOp>()) / 4;
}

/// Registers a thread holds of a tile spread over the consumer warpgroups.
int64_t registersPerThread(Type type, int64_t threads) {
  auto tensor = cast<RankedTensorType>(type);
  return tensor.getNumElements() * tensor.getElementTypeBitWidth() / 32 / threads;
}

/// Registers for the tiles live while the softmax runs, at most: with a
/// look-ahead the next S is in flight beside this one, the accumulator and
/// the P that the previous P·V reads (232 a thread in all with two consumer
/// warpgroups; the rest is addresses, row statistics and the softmax's
/// temporaries). d64 with 128-key blocks needs 2·64 + 32 + 32; d128 would
/// need 224 and spill.
constexpr int64_t kLookAheadRegisters = 192;

/// The ring the first mma's shared operand (K) comes from, when it is staged.
Value ringOf(MmaOp mma) {
  for (Value operand : {mma.getB(), mma.getA()})
    if (auto stage = operand.getDefiningOp<StageOp>())
      return stage.getSrc();
  return {};
}

/// Whether the loop can issue the next iteration's first mma before this
/// iteration's softmax: the ops before the first mma only compute its
/// operands' stage and wait for them (so they can run an iteration early);
/// the tiles fit in registers; K's ring has three or more stages (with two,
/// K(j+2) can only be copied once Q·Kᵀ(j) released its stage, and measured
/// 10 % slower); and no other loop shares the ring (causal attention's two
/// loops measured 1-4 % slower with it: docs/perf-notes.md).
bool canLookAhead(const Plan &plan) {
  Value ring = ringOf(plan.first);
  auto ringType = ring ? dyn_cast<SharedType>(ring.getType()) : SharedType();
  if (!ringType || ringType.getShape().size() != 3 || ringType.getShape()[0] < 3)
    return false;
  Region &consumer = plan.loop->getParentOfType<WarpSpecializeOp>().getConsumer();
  for (Operation *user : ring.getUsers()) // (the producer's copies stage it too)
    if (isa<StageOp>(user) && consumer.isAncestor(user->getParentRegion()) &&
        user->getParentOfType<scf::ForOp>() != plan.loop)
      return false;
  Block *body = plan.loop.getBody();
  for (Operation &op : *body) {
    if (&op == plan.first.getOperation())
      break;
    if (plan.deferred.contains(&op) || &op == plan.release.getOperation())
      continue;
    if (!isa<WaitOp, StageOp>(op) && !isMemoryEffectFree(&op))
      return false;
    for (Value operand : op.getOperands())
      if (llvm::is_contained(plan.loop.getRegionIterArgs(), operand))
        return false;
  }
  int64_t threads = 128 * consumerWarpgroups(plan.loop);
  Value p = plan.second.getA();
  int64_t regs = 2 * registersPerThread(plan.first.getType(), threads) +
                 registersPerThread(plan.second.getType(), threads) +
                 (isa<RankedTensorType>(p.getType()) ? registersPerThread(p.getType(), threads) : 0);
  return regs <= kLookAheadRegisters;
}

/// The main loop with a look-ahead: iteration j waits for Q·Kᵀ(j) (issued an
/// iteration ago, during softmax(j-1)), issues P·V(j-1) and Q·Kᵀ(j+1), runs
/// softmax(j) while both run, then waits for P·V(j-1) leaving Q·Kᵀ(j+1) in
/// flight. All of it under `scf.if` two or more iterations, so that no mma in
/// flight crosses the branch's edge: Q·Kᵀ(1) is issued before the loop, an
/// odd iteration and the last (which has no next one) run after it. Returns
/// what the plain main loop would: the loop's iteration values, then the
/// carried ones.
ValueRange lookAhead(const Plan &plan, OpBuilder &b, ArrayRef<Value> inits,
                     ArrayRef<Value> carried, ArrayRef<Operation *> beforeFirst,
                     ArrayRef<Operation *> afterFirst) {
  scf::ForOp loop = plan.loop;
  Location loc = loop.getLoc();
  Value lb = loop.getLowerBound(), ub = loop.getUpperBound(), step = loop.getStep();
  Block *body = loop.getBody();
  auto yield = cast<scf::YieldOp>(body->getTerminator());
  unsigned n = loop.getNumRegionIterArgs();
  Value second = loops::advance(b, loc, lb, step, 1);
  Value two = loops::runs(b, loc, second, ub);
  Value last = loops::lastIteration(b, loc, loops::boundsOf(loop));
  SmallVector<Type> types;
  for (Value v : inits)
    types.push_back(v.getType());
  auto branch = scf::IfOp::create(b, loc, types, two, /*withElse=*/true);
  OpBuilder e = OpBuilder::atBlockEnd(branch.elseBlock());
  scf::YieldOp::create(e, loc, inits);
  OpBuilder t = OpBuilder::atBlockEnd(branch.thenBlock());

  // Q·Kᵀ of iteration `iv`, not waited for.
  auto issueFirst = [&](OpBuilder &at, Value iv, ValueRange args) {
    IRMapping map;
    loops::mapIteration(map, loop, iv, args);
    for (Operation *op : beforeFirst)
      at.clone(*op, map);
    auto first = cast<MmaOp>(at.clone(*plan.first, map));
    first.setPending(2);
    return first.getResult();
  };
  // The previous iteration's P·V, not waited for; `args` are this
  // iteration's values, then the carried ones.
  auto issueDeferred = [&](OpBuilder &at, ValueRange args, IRMapping &before) {
    before.map(loop.getRegionIterArgs()[plan.accIndex], args[plan.accIndex]);
    for (auto [i, v] : llvm::enumerate(carried))
      before.map(v, args[n + i]);
    for (Operation *op : plan.deferred)
      at.clone(*op, before);
    auto deferred = cast<MmaOp>(before.lookup(plan.second.getResult()).getDefiningOp());
    deferred.setPending(2);
    return deferred.getResult();
  };
  // Iteration `iv` from its Q·Kᵀ on (`s`, complete), then the wait for
  // P·V(iv - 1) (leaving `pvPending` groups in flight).
  auto finish = [&](OpBuilder &at, Value iv, ValueRange args, Value s, Value pv, int pvPending,
                    IRMapping &before, SmallVector<Value> &results) {
    IRMapping now;
    loops::mapIteration(now, loop, iv, args);
    for (Operation *op : beforeFirst)
      if (!isa<WaitOp>(op)) // its operands landed: the wait ran an iteration ago
        at.clone(*op, now);
    now.map(plan.first.getResult(), s);
    for (Operation *op : afterFirst)
      at.clone(*op, now);
    Value acc = MmaWaitOp::create(at, loc, pv, at.getI32IntegerAttr(pvPending));
    releaseStage(at, loc, plan, before);
    for (unsigned i = 0; i < n; ++i)
      results.push_back(i == plan.accIndex ? acc : now.lookupOrDefault(yield.getOperand(i)));
    for (Value v : carried)
      results.push_back(now.lookup(v));
  };

  // One iteration j with the look-ahead (`args`: its values, then the
  // carried ones; `s`: its Q·Kᵀ, in flight): this iteration's values and the
  // next Q·Kᵀ, in flight.
  // Q·Kᵀ(j) is waited for (with everything before it) before P·V(j-1) is
  // issued: ptxas serializes every wgmma (C7513) when registers a wgmma reads
  // (P) are written while an earlier group it is issued behind is in flight,
  // and P(j-1) was written while Q·Kᵀ(j) ran. Issued during softmax(j-1), it
  // has mostly finished by then.
  auto step1 = [&](OpBuilder &at, Value iv, ValueRange args, Value s) {
    Value done = MmaWaitOp::create(at, loc, s, at.getI32IntegerAttr(0));
    IRMapping before;
    Value pv = issueDeferred(at, args, before);
    Value next = issueFirst(at, loops::advance(at, loc, iv, step, 1), args.take_front(n));
    SmallVector<Value> results;
    finish(at, iv, args, done, pv, /*pvPending=*/1, before, results); // Q·Kᵀ(j+1) runs on
    results.push_back(next);
    return results;
  };
  // The last iteration: no next one; yields the branch's results.
  auto lastStep = [&](OpBuilder &at, ValueRange args, Value s) {
    Value done = MmaWaitOp::create(at, loc, s, at.getI32IntegerAttr(0));
    IRMapping before;
    Value pv = issueDeferred(at, args, before);
    SmallVector<Value> results;
    finish(at, last, args, done, pv, 0, before, results);
    scf::YieldOp::create(at, loc, results);
  };

  // Iterations 1 .. last-1 run two to a loop iteration, so that the Q·Kᵀ in
  // flight alternates between two sets of registers and none is copied (a
  // copy of registers an mma is writing makes ptxas wait for it, and for
  // every wgmma of the kernel: C7513); an odd one left runs after the loop.
  Value s1 = issueFirst(t, second, ValueRange(inits).take_front(n));
  Value twoSteps = arith::AddIOp::create(t, loc, step, step);
  Value count = loops::iterationIndex(t, loc, last, second, step);
  Value pairs = arith::DivSIOp::create(
      t, loc, count, arith::ConstantOp::create(t, loc, t.getIntegerAttr(lb.getType(), 2)));
  Value pairsEnd = loops::advance(t, loc, second, twoSteps, pairs);
  SmallVector<Value> loopInits(inits.begin(), inits.end());
  loopInits.push_back(s1);
  auto main = scf::ForOp::create(t, loc, second, pairsEnd, twoSteps, loopInits);
  {
    OpBuilder at = OpBuilder::atBlockEnd(main.getBody());
    ValueRange args = main.getRegionIterArgs();
    Value iv = main.getInductionVar();
    SmallVector<Value> mid = step1(at, iv, args.drop_back(), args.back());
    SmallVector<Value> end = step1(at, loops::advance(at, loc, iv, step, 1),
                                   ValueRange(mid).drop_back(), mid.back());
    scf::YieldOp::create(at, loc, end);
  }
  ValueRange out = main.getResults();
  Value odd = loops::runs(t, loc, pairsEnd, last);
  auto tail = scf::IfOp::create(t, loc, types, odd, /*withElse=*/true);
  {
    OpBuilder at = OpBuilder::atBlockEnd(tail.thenBlock());
    SmallVector<Value> one = step1(at, pairsEnd, out.drop_back(), out.back());
    lastStep(at, ValueRange(one).drop_back(), one.back());
    OpBuilder el = OpBuilder::atBlockEnd(tail.elseBlock());
    lastStep(el, out.drop_back(), out.back());
  }
  scf::YieldOp::create(t, loc, tail.getResults());
  return branch.getResults();
}

void rotate(Plan &plan, bool pingPong, bool lookahead) {
  scf::ForOp loop = plan.loop;
  Location loc = loop.getLoc();
  Block *body = loop.getBody();
  auto yield = cast<scf::YieldOp>(body->getTerminator());
  Value lb = loop.getLowerBound(), ub = loop.getUpperBound(), step = loop.getStep();
  Operation *releaseBarrier = plan.release.getBarrier().getDefiningOp();
  auto isRest = [&](Operation &op) {
    return !plan.deferred.contains(&op) && &op != plan.release.getOperation() &&
           &op != releaseBarrier && &op != yield.getOperation();
  };
  unsigned n = loop.getNumRegionIterArgs();
  SmallVector<Value> carried(plan.carried.begin(), plan.carried.end());

  OpBuilder b(loop);
  Value any = loops::runs(b, loc, lb, ub);
  // Prologue: iteration 0 without the deferred mma. It yields the carried
  // values other than the accumulator (which it leaves as it was), and the
  // values the deferred mma reads. (The else branch makes its own copies of
  // constant initial values: a fill takes the layout of its first reader.)
  SmallVector<unsigned> kept;
  for (unsigned i = 0; i < n; ++i)
    if (i != plan.accIndex)
      kept.push_back(i);
  SmallVector<Type> prologueTypes;
  for (unsigned i : kept)
    prologueTypes.push_back(loop.getResult(i).getType());
  for (Value v : carried)
    prologueTypes.push_back(v.getType());
  auto prologue = scf::IfOp::create(b, loc, prologueTypes, any, /*withElse=*/true);
  {
    OpBuilder t = OpBuilder::atBlockEnd(prologue.thenBlock());
    IRMapping map;
    map.map(loop.getInductionVar(), lb);
    // A constant initial value (a fill) is read here directly rather than
    // through a loop argument: one copy per reader, so that each is made in
    // its reader's layout (tile-assign-layouts remakes single-use fills).
    SmallVector<Value> fills;
    for (auto [arg, init] : llvm::zip(loop.getRegionIterArgs(), loop.getInitArgs())) {
      Operation *def = init.getDefiningOp();
      if (def && isa<arith::ConstantOp>(def) && isa<RankedTensorType>(init.getType())) {
        fills.push_back(t.clone(*def)->getResult(0));
        map.map(arg, fills.back());
      } else {
        map.map(arg, init);
      }
    }
    for (Operation &op : body->without_terminator()) {
      if (!isRest(op))
        continue;
      if (pingPong && &op == plan.first.getOperation())
        TurnWaitOp::create(t, loc);
      t.clone(op, map);
      if (pingPong && &op == plan.first.getOperation())
        TurnPassOp::create(t, loc);
    }
    for (Value fill : fills) {
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : fill.getUses())
        uses.push_back(&use);
      for (size_t i = 1; i < uses.size(); ++i) {
        OpOperand *use = uses[i];
        OpBuilder at(use->getOwner());
        use->set(at.clone(*fill.getDefiningOp())->getResult(0));
      }
      if (fill.use_empty())
        fill.getDefiningOp()->erase();
    }
    SmallVector<Value> results;
    for (unsigned i : kept)
      results.push_back(map.lookupOrDefault(yield.getOperand(i)));
    for (Value v : carried)
      results.push_back(map.lookup(v));
    scf::YieldOp::create(t, loc, results);
    OpBuilder e = OpBuilder::atBlockEnd(prologue.elseBlock());
    SmallVector<Value> none;
    for (unsigned i : kept) {
      Value init = loop.getInitArgs()[i];
      Operation *def = init.getDefiningOp();
      none.push_back(def && isa<arith::ConstantOp>(def) ? e.clone(*def)->getResult(0) : init);
    }
    for (Value v : carried)
      none.push_back(zeroOf(e, loc, v.getType()));
    scf::YieldOp::create(e, loc, none);
  }
  // Main loop: iterations 1.. with the previous iteration's deferred mma.
  Value second = loops::advance(b, loc, lb, step, 1);
  SmallVector<Value> inits;
  for (unsigned i = 0, k = 0; i < n; ++i)
    inits.push_back(i == plan.accIndex ? loop.getInitArgs()[i] : prologue.getResult(k++));
  for (unsigned i = 0; i < carried.size(); ++i)
    inits.push_back(prologue.getResult(kept.size() + i));
  auto ops = llvm::make_filter_range(body->without_terminator(), isRest);
  auto firstIt = llvm::find_if(ops, [&](Operation &op) { return &op == plan.first; });
  ValueRange mainResults;
  if (lookahead) {
    SmallVector<Operation *> beforeFirst, afterFirst;
    for (Operation &op : llvm::make_range(ops.begin(), firstIt))
      beforeFirst.push_back(&op);
    for (Operation &op : llvm::make_range(std::next(firstIt), ops.end()))
      afterFirst.push_back(&op);
    mainResults = lookAhead(plan, b, inits, carried, beforeFirst, afterFirst);
  } else {
    auto rotated = scf::ForOp::create(b, loc, second, ub, step, inits);
    mainResults = rotated.getResults();
    Block *nb = rotated.getBody();
    OpBuilder t = OpBuilder::atBlockEnd(nb);
    IRMapping now, before; // this iteration's values; the deferred ops' inputs
    loops::mapIteration(now, loop, rotated.getInductionVar(), rotated.getRegionIterArgs());
    before.map(loop.getRegionIterArgs()[plan.accIndex], rotated.getRegionIterArgs()[plan.accIndex]);
    for (auto [i, v] : llvm::enumerate(carried))
      before.map(v, rotated.getRegionIterArgs()[n + i]);
    // This iteration up to its first mma, issued without waiting (with
    // ping-pong, once this warpgroup holds the turn)...
    for (Operation &op : llvm::make_range(ops.begin(), firstIt))
      t.clone(op, now);
    if (pingPong)
      TurnWaitOp::create(t, loc);
    t.clone(*plan.first, now);
    auto first = cast<MmaOp>(now.lookup(plan.first.getResult()).getDefiningOp());
    first.setPending(1);
    // ... the previous iteration's deferred mma behind it, not waited for
    // (the other warpgroup gets the turn as soon as both are issued) ...
    for (Operation *op : plan.deferred)
      t.clone(*op, before);
    auto deferred = cast<MmaOp>(before.lookup(plan.second.getResult()).getDefiningOp());
    deferred.setPending(2);
    if (pingPong)
      TurnPassOp::create(t, loc);
    // ... then wait for the first (the deferred one runs on) and go on.
    Value s = MmaWaitOp::create(t, loc, first.getResult(), t.getI32IntegerAttr(1));
    now.map(plan.first.getResult(), s);
    for (Operation &op : llvm::make_range(std::next(firstIt), ops.end()))
      t.clone(op, now);
    Value acc = MmaWaitOp::create(t, loc, deferred.getResult(), t.getI32IntegerAttr(0));
    releaseStage(t, loc, plan, before);
    SmallVector<Value> results;
    for (unsigned i = 0; i < n; ++i)
      results.push_back(i == plan.accIndex ? acc : now.lookupOrDefault(yield.getOperand(i)));
    for (Value v : carried)
      results.push_back(now.lookup(v));
    scf::YieldOp::create(t, loc, results);
  }
  // Epilogue: the last iteration's deferred mma.
  auto epilogue = scf::IfOp::create(b, loc, TypeRange{plan.second.getType()}, any, true);
  {
    OpBuilder t = OpBuilder::atBlockEnd(epilogue.thenBlock());
    IRMapping map;
    map.map(loop.getRegionIterArgs()[plan.accIndex], mainResults[plan.accIndex]);
    for (auto [i, v] : llvm::enumerate(carried))
      map.map(v, mainResults[n + i]);
    for (Operation *op : plan.deferred)
      t.clone(*op, map);
    Value acc = map.lookup(plan.second.getResult());
    releaseStage(t, loc, plan, map);
    scf::YieldOp::create(t, loc, acc);
    OpBuilder e = OpBuilder::atBlockEnd(epilogue.elseBlock());
    scf::YieldOp::create(e, loc, mainResults[plan.accIndex]);
  }
  for (unsigned i = 0; i < n; ++i)
    loop.getResult(i).replaceAllUsesWith(i == plan.accIndex ? epilogue.getResult(0)
                                                            : mainResults[i]);
  loop.erase();
}

struct TileOverlapMma : public tile::impl::TileOverlapMmaBase<TileOverlapMma> {
  using TileOverlapMmaBase::TileOverlapMmaBase;
  void runOnOperation() override {
    SmallVector<Plan> plans;
    getOperation().walk([&](scf::ForOp loop) {
      if (std::optional<Plan> plan = analyze(loop))
        plans.push_back(*plan);
    });
    // Ping-pong needs a second warpgroup to take turns with; a look-ahead
    // takes the place of the turns (they would order its extra mma too).
    for (Plan &plan : plans) {
      bool turns = pingPong && consumerWarpgroups(plan.loop) >= 2;
      rotate(plan, turns, lookahead && !turns && canLookAhead(plan));
    }
  }
};
} // namespace
