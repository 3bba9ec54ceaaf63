// tile-overlap-mma: in a warp-specialized consumer loop whose two mmas both
// wait (attention: S = Q Kᵀ, softmax, O += P V), issue the second mma one
// iteration late, right behind the next iteration's first one, so that it
// runs on the tensor cores while the softmax runs (FlashAttention-3's
// intra-warpgroup overlap). See the pass description in TilePasses.td.
#include "dialect/TilePasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
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
  auto func = loop->getParentOfType<func::FuncOp>();
  auto attr = func ? func->getAttrOfType<IntegerAttr>(kNumWarpsAttr) : IntegerAttr();
  return (attr ? attr.getInt() : 4) / 4;
}

void rotate(Plan &plan, bool pingPong) {
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
  Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, lb, ub);
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
  Value second = arith::AddIOp::create(b, loc, lb, step);
  SmallVector<Value> inits;
  for (unsigned i = 0, k = 0; i < n; ++i)
    inits.push_back(i == plan.accIndex ? loop.getInitArgs()[i] : prologue.getResult(k++));
  for (unsigned i = 0; i < carried.size(); ++i)
    inits.push_back(prologue.getResult(kept.size() + i));
  auto rotated = scf::ForOp::create(b, loc, second, ub, step, inits);
  {
    Block *nb = rotated.getBody();
    OpBuilder t = OpBuilder::atBlockEnd(nb);
    IRMapping now, before; // this iteration's values; the deferred ops' inputs
    now.map(loop.getInductionVar(), rotated.getInductionVar());
    for (unsigned i = 0; i < n; ++i)
      now.map(loop.getRegionIterArgs()[i], rotated.getRegionIterArgs()[i]);
    before.map(loop.getRegionIterArgs()[plan.accIndex], rotated.getRegionIterArgs()[plan.accIndex]);
    for (auto [i, v] : llvm::enumerate(carried))
      before.map(v, rotated.getRegionIterArgs()[n + i]);
    auto ops = llvm::make_filter_range(body->without_terminator(), isRest);
    auto firstIt = llvm::find_if(ops, [&](Operation &op) { return &op == plan.first; });
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
    map.map(loop.getRegionIterArgs()[plan.accIndex], rotated.getResult(plan.accIndex));
    for (auto [i, v] : llvm::enumerate(carried))
      map.map(v, rotated.getResult(n + i));
    for (Operation *op : plan.deferred)
      t.clone(*op, map);
    Value acc = map.lookup(plan.second.getResult());
    releaseStage(t, loc, plan, map);
    scf::YieldOp::create(t, loc, acc);
    OpBuilder e = OpBuilder::atBlockEnd(epilogue.elseBlock());
    scf::YieldOp::create(e, loc, rotated.getResult(plan.accIndex));
  }
  for (unsigned i = 0; i < n; ++i)
    loop.getResult(i).replaceAllUsesWith(i == plan.accIndex ? epilogue.getResult(0)
                                                            : rotated.getResult(i));
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
    // Ping-pong needs a second warpgroup to take turns with.
    for (Plan &plan : plans)
      rotate(plan, pingPong && consumerWarpgroups(plan.loop) >= 2);
  }
};
} // namespace
