// tile-warp-specialize: a producer warpgroup issues the pipelined TMA copies,
// the kernel's own warps consume them (see the pass description in
// TilePasses.td).
#include "Transforms/LoopExpansion.h"
#include "Transforms/ProducerValues.h"
#include "Transforms/Staging.h"

#include "Analysis/SharedMemory.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILEWARPSPECIALIZE
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;
using namespace mlir::tile::staging;

namespace {

/// A loop to feed, and the outer loop around it (a persistent kernel's loop
/// over output tiles), if any. `earlier`: loops before it that fed from the
/// same stages (their iterations count first).
struct Feed {
  mutable scf::ForOp loop; // op handles are used by value
  SmallVector<StagedLoad> loads;
  mutable scf::ForOp outer;
  SmallVector<scf::ForOp> earlier;
  /// mma operands loaded once per outer iteration (a persistent attention's
  /// Q): the producer copies them as the outer iteration starts.
  SmallVector<StagedLoad> tileLoads;
};

/// The trip count of `loop`, built at `b` from bounds read through `get`.
Value tripsOf(OpBuilder &b, scf::ForOp loop, function_ref<Value(Value)> get) {
  return loops::tripCount(
      b, loop.getLoc(),
      {get(loop.getLowerBound()), get(loop.getUpperBound()), get(loop.getStep())});
}

/// Iterations of the stages that came before `feed.loop` at the top of the
/// kernel, or a null value when there were none: the trip counts of the
/// earlier loops that shared its ring. Built at `b`, reading bounds through
/// `get`. (Loops in a persistent kernel's outer loop count on a carried
/// counter instead: countIterations, buildProducerNest.)
Value iterationsBefore(OpBuilder &b, const Feed &feed, function_ref<Value(Value)> get) {
  Value total;
  for (scf::ForOp l : feed.earlier) {
    Value trips = tripsOf(b, l, get);
    total = total ? arith::AddIOp::create(b, feed.loop.getLoc(), total, trips).getResult() : trips;
  }
  return total;
}

Operation *readerOf(const StagedLoad &staged) {
  return *staged.load.getResult().getUsers().begin();
}

/// Rings of `stages` stages for `loads`, emptied by the consumer warpgroups:
/// one per mma that reads them (`byReader`), else one for all. A ring per mma
/// lets the consumers release K once Q·Kᵀ read it while V waits for P·V; a
/// GEMM's A and B share one.
SmallVector<Ring> allocateProducerRings(OpBuilder &b, Location loc, ArrayRef<StagedLoad> loads,
                                        unsigned stages, int64_t warpgroups,
                                        bool byReader = true) {
  RingOptions options;
  if (byReader)
    options.key = readerOf;
  options.consumers = warpgroups;
  options.multicast = true;
  return staging::allocateRings(b, loc, loads, stages, options);
}

/// Bytes of the tiles `func` stores to views: tile-tma-store's epilogue
/// tiles, at their largest (whole).
int64_t epilogueBytes(func::FuncOp func) {
  int64_t bytes = 0;
  func.walk([&](StoreOp store) {
    RankedTensorType tile = store.getValue().getType();
    if (isa<ViewType>(store.getDst().getType()))
      bytes += tile.getNumElements() * tile.getElementType().getIntOrFloatBitWidth() / 8;
  });
  return bytes;
}

/// The tile loads' rings, with `stages` stages if the kernel's shared memory
/// holds them beside its other tiles and its epilogue tiles, else one.
SmallVector<Ring> allocateTileRings(OpBuilder &b, Location loc, ArrayRef<Feed> feeds,
                                    int64_t warpgroups, unsigned stages) {
  func::FuncOp func = feeds.front().loop->getParentOfType<func::FuncOp>();
  auto allocate = [&](unsigned n) {
    return llvm::map_to_vector(feeds, [&](const Feed &feed) {
      return feed.tileLoads.empty()
                 ? Ring()
                 : allocateProducerRings(b, loc, feed.tileLoads, n, warpgroups,
                                         /*byReader=*/false)[0];
    });
  };
  SmallVector<Ring> rings = allocate(stages);
  // The allocations at the top of the body all live through the
  // warp_specialize (not yet built: the new ones have no uses to tell).
  int64_t bytes = epilogueBytes(func);
  for (Operation &op : func.getBody().front()) {
    if (auto alloc = dyn_cast<AllocSharedOp>(op))
      bytes += llvm::alignTo(alloc.getType().getSizeInBytes(), 1024);
    else if (auto bars = dyn_cast<AllocMBarrierOp>(op))
      bytes += 8 * int64_t(bars.getType().getCount());
  }
  if (stages == 1 || llvm::all_of(feeds, [](const Feed &f) { return f.tileLoads.empty(); }) ||
      bytes <= kMaxSharedBytes)
    return rings;
  for (const Ring &ring : rings)
    eraseRing(ring);
  return allocate(1);
}

/// The producer's refill of `stage` of `ring` (whose loads index `loads`):
/// wait until it is empty (the phase before this round's, `parity` flipped:
/// the first round passes at once), then copy each load into it, its view and
/// coordinates recomputed where `map` knows the induction variables.
void fillStage(OpBuilder &b, Location loc, ProducerValues &values, IRMapping &map,
               const Ring &ring, ArrayRef<StagedLoad> loads, Value stage, Value parity) {
  Value phase = arith::XOrIOp::create(b, loc, parity,
                                      arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1));
  WaitOp::create(b, loc, stageBarrier(b, loc, ring.empty, stage), phase);
  copyIntoStage(b, loc, ring, loads, stage,
                [&](Value v) { return values.rebuild(b, map, v); });
}

/// Outer iteration t's copies of the tile loads into their ring.
void copyTileLoads(OpBuilder &b, ProducerValues &values, IRMapping &map, const Feed &feed,
                   const Ring &ring, scf::ForOp outer) {
  Location loc = feed.loop.getLoc();
  auto [stage, parity] =
      stageAndParity(b, loc, loops::iterationIndex(b, outer, outer.getInductionVar()),
                     ring.stages);
  fillStage(b, loc, values, map, ring, feed.tileLoads, stage, parity);
}

/// The consumers' side: wait until this outer iteration's copies landed, let
/// the mmas read them there, and release the stage once the loop that reads
/// them (and the waits for its in-flight mmas) is done.
void consumeTileLoads(const Feed &feed, const Ring &ring) {
  Location loc = feed.loop.getLoc();
  OpBuilder at(feed.tileLoads.front().load);
  auto [stage, parity] = stageAndParity(
      at, loc, loops::iterationIndex(at, feed.outer, feed.outer.getInductionVar()), ring.stages);
  waitUntilFull(at, loc, ring, stage, parity);
  for (auto [index, buffer] : llvm::zip(ring.loads, ring.buffers))
    readFromStage(at, loc, feed.tileLoads[index], buffer, stage);
  // Erased only now: `at` inserts before the first of them.
  for (unsigned index : ring.loads)
    feed.tileLoads[index].load.erase();
  Operation *last = feed.loop;
  while (isa_and_nonnull<MmaWaitOp>(last->getNextNode()))
    last = last->getNextNode();
  OpBuilder after(last->getBlock(), std::next(last->getIterator()));
  releaseStage(after, loc, ring, stage);
}

/// The producer's copy loop for `feed`, at `b`: for each iteration (counted
/// on from `base`, if given), each ring's stage refilled (fillStage).
void buildCopyLoop(OpBuilder &b, ProducerValues &values, IRMapping &map, const Feed &feed,
                   ArrayRef<Ring> rings, Value base, unsigned stages) {
  Location loc = feed.loop.getLoc();
  scf::ForOp loop = feed.loop;
  for (const Ring &ring : rings)
    for (unsigned index : ring.loads) {
      LoadOp load = feed.loads[index].load;
      values.hoistInvariant(b, map, load.getSrc(), loop.getInductionVar());
      for (Value o : load.getOffsets())
        values.hoistInvariant(b, map, o, loop.getInductionVar());
    }
  Value lb = values.rebuild(b, map, loop.getLowerBound());
  auto producer = scf::ForOp::create(b, loc, lb, values.rebuild(b, map, loop.getUpperBound()),
                                     values.rebuild(b, map, loop.getStep()));
  OpBuilder in(producer.getBody()->getTerminator());
  IRMapping inner = map;
  inner.map(loop.getInductionVar(), producer.getInductionVar());
  Value i = loops::iterationIndex(in, producer, producer.getInductionVar());
  if (base)
    i = arith::AddIOp::create(in, loc, base, i);
  auto [stage, parity] = stageAndParity(in, loc, i, stages);
  for (const Ring &ring : rings)
    fillStage(in, loc, values, inner, ring, feed.loads, stage, parity);
}

/// A persistent kernel's producer: its own outer loop, carrying the count of
/// stage iterations so far; in each outer iteration, per loop fed (they share
/// one ring), the tile loads, then the copy loop counting on from the count.
void buildProducerNest(OpBuilder &b, ProducerValues &values, ArrayRef<Feed> feeds,
                       ArrayRef<Ring> rings, ArrayRef<Ring> tileRings, unsigned stages) {
  scf::ForOp consumerOuter = feeds.front().outer;
  Location loc = consumerOuter.getLoc();
  IRMapping map;
  auto outer = scf::ForOp::create(b, loc, values.rebuild(b, map, consumerOuter.getLowerBound()),
                                  values.rebuild(b, map, consumerOuter.getUpperBound()),
                                  values.rebuild(b, map, consumerOuter.getStep()),
                                  ValueRange{constI32(b, loc, 0)});
  map.map(consumerOuter.getInductionVar(), outer.getInductionVar());
  OpBuilder at = OpBuilder::atBlockEnd(outer.getBody());
  Value count = outer.getRegionIterArgs()[0];
  for (auto [feed, tileRing] : llvm::zip(feeds, tileRings)) {
    if (!feed.tileLoads.empty()) // once the consumers released the last tile's copy
      copyTileLoads(at, values, map, feed, tileRing, outer);
    buildCopyLoop(at, values, map, feed, rings, count, stages);
    Value trips = tripsOf(at, feed.loop, [&](Value v) { return values.rebuild(at, map, v); });
    count = arith::AddIOp::create(at, loc, count, trips);
  }
  scf::YieldOp::create(at, loc, count);
}

/// The consumers' side of the count: the outer loop gets the same carried
/// counter; returns each fed loop's base (the count before it).
SmallVector<Value> countIterations(MutableArrayRef<Feed> feeds) {
  scf::ForOp outer = feeds.front().outer;
  IRRewriter rewriter(outer.getContext());
  rewriter.setInsertionPoint(outer);
  Value zero = constI32(rewriter, outer.getLoc(), 0);
  SmallVector<Value> bases;
  FailureOr<LoopLikeOpInterface> counted = outer.replaceWithAdditionalYields(
      rewriter, zero, /*replaceInitOperandUsesInLoop=*/false,
      [&](OpBuilder &, Location loc, ArrayRef<BlockArgument> args) {
        Value count = args[0];
        for (const Feed &feed : feeds) {
          OpBuilder at(feed.loop);
          bases.push_back(count);
          count = arith::AddIOp::create(at, loc, count,
                                        tripsOf(at, feed.loop, [](Value v) { return v; }));
        }
        return SmallVector<Value>{count};
      });
  for (Feed &feed : feeds)
    feed.outer = cast<scf::ForOp>(counted->getOperation());
  return bases;
}

/// The consumer's loop: before each mma, wait until the stages of the tiles
/// it reads are full; after it, release them once it completed (right after
/// it, or one iteration later when it is left in flight: after the loop's
/// final wait, the next run of the loop releases it).
void rewriteConsumer(const Feed &feed, ArrayRef<Ring> rings, Value base, unsigned stages) {
  scf::ForOp loop = feed.loop;
  Location loc = loop.getLoc();
  OpBuilder top(loop.getBody(), loop.getBody()->begin());
  Value index = loops::iterationIndex(top, loop, loop.getInductionVar());
  if (base)
    index = arith::AddIOp::create(top, loc, base, index);
  auto [stage, parity] = stageAndParity(top, loc, index, stages);
  SmallVector<std::pair<Operation *, const Ring &>> readers; // (mma, the ring it reads)
  for (const Ring &ring : rings) {
    Operation *mma = readerOf(feed.loads[ring.loads.front()]);
    OpBuilder at(mma);
    for (auto [index, buffer] : llvm::zip(ring.loads, ring.buffers))
      readFromStage(at, loc, feed.loads[index], buffer, stage);
    waitUntilFull(at, loc, ring, stage, parity);
    readers.push_back({mma, ring});
  }
  for (const StagedLoad &staged : feed.loads)
    staged.load.erase();
  leaveMmasInFlight(loop);
  for (auto [op, ring] : readers) {
    auto mma = cast<MmaOp>(op);
    OpBuilder after(mma->getBlock(), std::next(mma->getIterator()));
    if (mma.getPending() == 0) {
      releaseStage(after, loc, ring, stage);
      continue;
    }
    Value started = arith::CmpIOp::create(after, loc, arith::CmpIPredicate::sgt, index,
                                          constI32(after, loc, 0));
    scf::IfOp::create(after, loc, started, [&, &ring = ring](OpBuilder &t, Location l) {
      releaseStage(t, l, ring, previousStage(t, l, index, stages));
      scf::YieldOp::create(t, l);
    });
  }
}

/// What a loop stages: its loads' stage types, in order.
SmallVector<SharedType> signature(const Feed &feed) {
  return llvm::map_to_vector(feed.loads, [](const StagedLoad &s) { return s.stageType; });
}

/// What the split needs, decided before anything is rewritten: the loops to
/// feed, and the mma operands loaded once for the kernel, which are staged
/// in place (not by the producer) once the kernel qualifies.
struct Plan {
  SmallVector<Feed> feeds;
  SmallVector<LoadOp> inPlace;
};

/// Why a kernel does not qualify, said to the user (who asked for
/// warp_specialize), at the op that fails it.
struct Refusal {
  Operation *at;
  std::string why;
};

/// Whether the producer can recompute what it needs of `feed` (bounds of its
/// loops, views and coordinates of its copies), deciding over the kernel's
/// body before the split (ProducerValues says what counts as above it);
/// else the refusal.
std::optional<Refusal> producerCannotCompute(const ProducerValues &values, const Feed &feed) {
  SmallVector<scf::ForOp> outerOnly{feed.outer}, both{feed.outer, feed.loop};
  auto atOuter = [&](Value v) { return values.computable(v, outerOnly); };
  auto inLoop = [&](Value v) { return values.computable(v, both); };
  auto boundsAt = [&](scf::ForOp loop) {
    return !loop || (atOuter(loop.getLowerBound()) && atOuter(loop.getUpperBound()) &&
                     atOuter(loop.getStep()));
  };
  // The producer recomputes the loop's bounds (they may depend on the outer
  // loop: a causal kernel's key loops).
  for (scf::ForOp loop : {feed.loop, feed.outer})
    if (!boundsAt(loop))
      return Refusal{loop, "the bounds of a loop of staged loads depend on a value read from "
                           "memory or a tile, which the producer warpgroup cannot recompute"};
  auto coordinates = [](const StagedLoad &s, auto computable) {
    return computable(s.load.getSrc()) && llvm::all_of(s.load.getOffsets(), computable);
  };
  for (const StagedLoad &s : feed.loads)
    if (!coordinates(s, inLoop))
      return Refusal{s.load, "the coordinates of a staged load depend on a value read from "
                             "memory or a tile, which the producer warpgroup cannot recompute"};
  for (const StagedLoad &s : feed.tileLoads)
    if (!coordinates(s, atOuter))
      return Refusal{s.load, "the coordinates of a load made once per outer iteration depend "
                             "on a value read from memory or a tile, which the producer "
                             "warpgroup cannot recompute"};
  return std::nullopt;
}

/// The plan, if the kernel qualifies: TMA can copy every staged load, the
/// loops are all at the top of the body, or one loop sits in one outer
/// scf.for at the top, and the producer can recompute their bounds and
/// coordinates. Else why not. Reads the kernel only.
FailureOr<Plan> decide(func::FuncOp func, Refusal &refusal) {
  Block &body = func.getBody().front();
  auto refuse = [&](Operation *at, std::string why) {
    refusal = {at, std::move(why)};
    return failure();
  };
  if (int64_t warps = numWarps(func); warps % 4 != 0)
    return refuse(func, "num_warps=" + std::to_string(warps) +
                            " is not whole warpgroups (a multiple of 4)");
  Plan plan;
  llvm::SetVector<Operation *> inPlace;
  SmallVector<scf::ForOp> loops;
  func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
  for (scf::ForOp loop : loops) {
    scf::ForOp outer;
    if (loop->getBlock() != &body) {
      outer = dyn_cast<scf::ForOp>(loop->getParentOp());
      if (!outer || outer->getBlock() != &body)
        outer = nullptr;
    }
    // Operands loaded once per outer iteration go to the producer (below);
    // those loaded once for the kernel are staged in place.
    SmallVector<LoadOp> perTile;
    if (loop->getBlock() == &body || outer)
      for (LoadOp load : loopInvariantOperands(loop)) {
        if (outer && load->getBlock() == outer.getBody() && tmaCanCopy(load))
          perTile.push_back(load);
        else
          inPlace.insert(load);
      }
    // A ring is keyed by, waited for before and released after its one mma.
    SmallVector<StagedLoad> loads = findStagedLoads(loop, /*sharedReaders=*/false);
    if (loads.size() != findStagedLoads(loop).size())
      return refuse(loop, "a tile of the loop is read by several mmas (staged once for all of "
                          "them by tile-pipeline, not by the producer warpgroup)");
    if (loads.empty())
      continue;
    if (loop->getBlock() != &body && !outer)
      return refuse(loop, "a loop of staged loads is nested deeper than one outer loop");
    if (!loop.getInductionVar().getType().isInteger(32))
      return refuse(loop, "a loop of staged loads is not counted in i32");
    if (classify(loop, loads) != Staging::TMA)
      return refuse(loop, "TMA cannot copy every load of a loop (" + tmaRefusal(loads) + ")");
    plan.feeds.push_back({loop, loads, outer});
    for (LoadOp load : perTile) {
      RankedTensorType tile = load.getType();
      plan.feeds.back().tileLoads.push_back(
          {load, SharedType::get(load.getContext(), tile.getShape(), tile.getElementType(),
                                 SwizzleAttr())});
    }
  }
  SmallVector<Feed> &feeds = plan.feeds;
  if (feeds.empty())
    return refuse(func, "no loop loads tiles for the producer to copy");
  // Loops in a persistent kernel's outer loop: all in the same one, staging
  // the same tiles (they share one ring and one count).
  bool nested = llvm::any_of(feeds, [](const Feed &f) { return bool(f.outer); });
  if (nested && llvm::any_of(feeds, [&](const Feed &f) {
        return f.outer != feeds.front().outer || signature(f) != signature(feeds.front());
      }))
    return refuse(func, "the loops in the outer loop do not stage the same tiles");
  ProducerValues values{func.getBody()};
  for (const Feed &feed : feeds)
    if (std::optional<Refusal> r = producerCannotCompute(values, feed)) {
      refusal = *r;
      return failure();
    }
  plan.inPlace = llvm::map_to_vector(inPlace, [](Operation *op) { return cast<LoadOp>(op); });
  return plan;
}

/// Splits `func` into a producer and its consumers; returns false (leaving
/// the kernel as it was, for tile-pipeline, with a remark saying why: the
/// user asked for warp_specialize) when it does not qualify.
bool warpSpecialize(func::FuncOp func, unsigned stages, unsigned tileStages) {
  Refusal refusal{func, ""};
  FailureOr<Plan> plan = decide(func, refusal);
  if (failed(plan)) {
    refusal.at->emitRemark() << "warp_specialize not applied: " << refusal.why;
    return false;
  }
  int64_t warps = numWarps(func);
  for (LoadOp load : plan->inPlace)
    remarkMulticastDropped(load, "it is loaded once for the kernel, and each program stages "
                                 "such an operand itself");
  stageLoopInvariantOperands(plan->inPlace);
  SmallVector<Feed> *feeds = &plan->feeds;
  // Allocations first (every thread initializes barriers together), then
  // the warp_specialize holding the rest of the body.
  Block &body = func.getBody().front();
  SmallVector<Operation *> allocs;
  for (Operation &op : body)
    if (isa<AllocSharedOp, AllocMBarrierOp>(op))
      allocs.push_back(&op);
  for (Operation *op : llvm::reverse(allocs))
    op->moveBefore(&body, body.begin());
  OpBuilder b(func.getContext());
  b.setInsertionPoint(&body.front());
  while (isa<AllocSharedOp, AllocMBarrierOp>(*b.getInsertionPoint()))
    b.setInsertionPoint(&*std::next(b.getInsertionPoint()));
  Location loc = func.getLoc();
  auto ws = WarpSpecializeOp::create(b, loc);
  Block *producerBlock = &ws.getProducer().emplaceBlock();
  Block *consumerBlock = &ws.getConsumer().emplaceBlock();
  consumerBlock->getOperations().splice(consumerBlock->end(), body.getOperations(),
                                        std::next(ws->getIterator()),
                                        body.getTerminator()->getIterator());
  ProducerValues values{ws.getConsumer()};
  // Loops one after the other that stage the same tiles share one ring of
  // stages (a causal attention's two key loops): the iterations count on.
  bool share = llvm::all_of(*feeds, [&](const Feed &f) {
    return signature(f) == signature(feeds->front());
  });
  b.setInsertionPoint(ws);
  OpBuilder producer = OpBuilder::atBlockEnd(producerBlock);
  SmallVector<SmallVector<Ring>> rings;
  for (auto [index, feed] : llvm::enumerate(*feeds)) {
    rings.push_back(!share || index == 0
                        ? allocateProducerRings(b, loc, feed.loads, stages, warps / 4)
                        : rings.front());
    if (share)
      for (const Feed &earlier : ArrayRef(*feeds).take_front(index))
        feed.earlier.push_back(earlier.loop);
  }
  SmallVector<Ring> tileRings = allocateTileRings(b, loc, *feeds, warps / 4, tileStages);
  SmallVector<Value> bases;
  if (feeds->front().outer) {
    bases = countIterations(*feeds);
    buildProducerNest(producer, values, *feeds, rings.front(), tileRings, stages);
  } else {
    for (auto [feed, feedRings] : llvm::zip(*feeds, rings)) {
      IRMapping map;
      Value base = iterationsBefore(producer, feed,
                                    [&](Value v) { return values.rebuild(producer, map, v); });
      buildCopyLoop(producer, values, map, feed, feedRings, base, stages);
      OpBuilder before(feed.loop);
      bases.push_back(iterationsBefore(before, feed, [](Value v) { return v; }));
    }
  }
  for (auto [feed, feedRings, tileRing, base] : llvm::zip(*feeds, rings, tileRings, bases)) {
    if (!feed.tileLoads.empty())
      consumeTileLoads(feed, tileRing);
    rewriteConsumer(feed, feedRings, base, stages);
  }
  return true;
}

struct TileWarpSpecialize : public tile::impl::TileWarpSpecializeBase<TileWarpSpecialize> {
  using TileWarpSpecializeBase::TileWarpSpecializeBase;
  void runOnOperation() override {
    if (stages < 1 || stages > kMaxStages || tileStages < 1 || tileStages > kMaxStages) {
      getOperation().emitError() << "tile-warp-specialize: stages must be 1 to " << kMaxStages
                                 << " and tile-stages 1 to " << kMaxStages << ", got " << stages.getValue()
                                 << " and " << tileStages.getValue();
      return signalPassFailure();
    }
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(kKernelAttr))
        continue;
      if (stages == 1) { // one stage: nothing for a producer to copy ahead into
        func.emitRemark("warp_specialize not applied: num_stages=1 leaves the producer "
                        "warpgroup no ring of stages to fill ahead of the mmas");
        continue;
      }
      warpSpecialize(func, stages, tileStages);
    }
  }
};
} // namespace
