// Pieces of software pipelining that tile-pipeline and tile-warp-specialize
// share (lib/Transforms/Staging.cpp): which loads to stage, and the one ring
// allocator with its stage arithmetic, copies, waits and releases.
#ifndef TILE_TRANSFORMS_STAGING_H
#define TILE_TRANSFORMS_STAGING_H

#include "dialect/TilePasses.h"

#include <functional>
#include <string>

namespace mlir::tile::staging {

Value constI32(OpBuilder &b, Location loc, int64_t v);

/// A load to stage, with the shared tile one stage of it takes.
struct StagedLoad {
  mutable LoadOp load; // op handles are used by value
  SharedType stageType;
  bool readIntoRegisters = false; // tile.load_shared from its stage (not an mma operand)
};

/// Loads of `loop` that qualify: from a view defined outside the loop, each
/// use operand a or b of a tile.mma in the loop body. With `sharedReaders`
/// the mmas of several uses read one stage (attention's backward reads Q as
/// Qᵀ and as Q); without it a load qualifies with one use only.
SmallVector<StagedLoad> findStagedLoads(scf::ForOp loop, bool sharedReaders = true);

/// The ops of the loop body that read a staged load's tile, in block order.
SmallVector<Operation *> readersOf(const StagedLoad &staged);

/// Loads of `loop` computed into an mma operand rather than read by the mma
/// (a weight dequantized in the loop): 2-D, from a view defined outside the
/// loop that TMA can copy, reaching operand a or b of a tile.mma of the body
/// through ops of the body only. Staged like operands, they are read back
/// with tile.load_shared (`readIntoRegisters`).
SmallVector<StagedLoad> findComputedOperandLoads(scf::ForOp loop);

/// TMA can copy the load's box (the rule shared with TMA stores: Analysis/TMA.h);
/// otherwise the reason goes to `why`.
bool tmaCanCopy(LoadOp load, std::string *why = nullptr);

/// Why TMA cannot copy one of `loads` (the first it cannot), for a remark.
std::string tmaRefusal(ArrayRef<StagedLoad> loads);

/// Loads before `loop` whose tiles only mmas in it read, as operand a or b
/// (attention's Q).
SmallVector<LoadOp> loopInvariantOperands(scf::ForOp loop);

/// Each such load is copied into shared memory once, where it was, and the
/// mmas read it there.
void stageLoopInvariantOperands(ArrayRef<LoadOp> loads);

/// A `multicast` load of a kernel of several programs a cluster that is
/// staged without multicast (only the warp-specialized producer multicasts)
/// gets a remark saying `why`: the user asked for it.
void remarkMulticastDropped(LoadOp load, StringRef why);

/// How a loop's loads are staged: not at all, through registers (TMA cannot
/// copy one of them), or by TMA.
enum class Staging { None, ThroughRegisters, TMA };
Staging classify(scf::ForOp loop, ArrayRef<StagedLoad> loads);

/// Whether the load is a `multicast` load of a kernel of several programs a
/// cluster (which only the warp-specialized producer honours).
bool multicastInCluster(LoadOp load);

/// A ring of stages: per load a buffer of `stages` tiles (its swizzle is
/// chosen later, by tile-select-swizzle) and per stage an mbarrier saying it
/// is full (one arrival per copy) and, where the ring has consumers apart
/// from its producer, one saying it is empty again.
struct Ring {
  SmallVector<unsigned> loads; // indices into the loads it was allocated for
  SmallVector<Value> buffers;  // one per load
  Value full, empty;
  /// Some copy into the ring is a multicast: the producers of the cluster's
  /// programs fill each other's stages, so a stage is empty once the
  /// consumers of every program released it.
  bool cluster = false;
  unsigned stages = 1;
};

/// How loads are grouped into rings and who empties them.
struct RingOptions {
  /// Loads with the same key share a ring; without it all share one.
  std::function<Operation *(const StagedLoad &)> key;
  /// Arrivals that empty a stage, per program (consumer warpgroups); 0: no
  /// `empty` barriers (the threads that read a stage also refill it).
  int64_t consumers = 0;
  /// Multicast loads make their ring the cluster's (the producer's rings).
  bool multicast = false;
};

/// The rings of `stages` stages for `loads`: every load's buffer, in the
/// loads' order, then each ring's barriers.
SmallVector<Ring> allocateRings(OpBuilder &b, Location loc, ArrayRef<StagedLoad> loads,
                                unsigned stages, const RingOptions &options = {});

/// Erases what allocateRings made of `ring`.
void eraseRing(const Ring &ring);

/// One mbarrier per stage, each complete after `arrivals` arrivals.
Value allocateStageBarriers(OpBuilder &b, Location loc, unsigned stages, int64_t arrivals);

/// Stage i % S and the parity (i / S) % 2 of iteration i of a ring of S stages.
std::pair<Value, Value> stageAndParity(OpBuilder &b, Location loc, Value i, unsigned stages);

/// The stage iteration i - 1 used (i - 1 mod S, as (i + S - 1) % S).
Value previousStage(OpBuilder &b, Location loc, Value i, unsigned stages);

/// The barrier of `stage` among `barriers`, and a load's tile in `stage` of `buffer`.
Value stageBarrier(OpBuilder &b, Location loc, Value barriers, Value stage);
Value stageTile(OpBuilder &b, Location loc, const StagedLoad &staged, Value buffer, Value stage);

/// The copies of `ring`'s loads into `stage`, arriving on its full barrier
/// (each at its load's location); `at` gives each view and coordinate where
/// the copies are issued.
void copyIntoStage(OpBuilder &b, Location loc, const Ring &ring, ArrayRef<StagedLoad> loads,
                   Value stage, function_ref<Value(Value)> at);

/// Waits until `stage` of `ring` is full (phase `parity`).
void waitUntilFull(OpBuilder &b, Location loc, const Ring &ring, Value stage, Value parity);

/// Says that `stage` of `ring` was read (its empty barrier).
void releaseStage(OpBuilder &b, Location loc, const Ring &ring, Value stage);

/// Replaces the staged load's tile with its copy in `stage` (built at `b`):
/// a view for an mma operand, read back into registers otherwise.
void readFromStage(OpBuilder &b, Location loc, const StagedLoad &staged, Value buffer,
                   Value stage);

/// The consumer's side of iteration i at the top of the loop body: wait until
/// stage i % S of `ring` is full (phase (i / S) % 2), and let each mma read
/// its operand from that stage (or read its tile from it with tile.load_shared where the
/// load was). Returns i, the stage, and the last such mma.
struct Iteration {
  Value index, stage;
  Operation *lastMma = nullptr;
};
Iteration consumeStage(scf::ForOp loop, ArrayRef<StagedLoad> loads, const Ring &ring);

/// Whether `mma`, in `loop`'s body, accumulates into a value the loop
/// carries and nothing else in the loop reads either (the carried value or
/// its result, which is only yielded).
bool yieldedOnly(scf::ForOp loop, MmaOp mma);

/// Leaves in flight each mma of `loop` that accumulates into a carried value
/// nothing else reads in the loop (`pending = 1`), with a `tile.mma_wait` on
/// the loop's result; returns whether there was one.
bool leaveMmasInFlight(scf::ForOp loop);

} // namespace mlir::tile::staging

#endif
