// Pieces of software pipelining that tile-pipeline and tile-warp-specialize
// share (lib/Transforms/Staging.cpp).
#ifndef TILE_TRANSFORMS_STAGING_H
#define TILE_TRANSFORMS_STAGING_H

#include "dialect/TilePasses.h"

#include <string>

namespace mlir::tile::staging {

Value constI32(OpBuilder &b, Location loc, int64_t v);

/// (iv - lower bound) / step of `loop`.
Value iterationIndex(OpBuilder &b, scf::ForOp loop, Value iv);

/// A load to stage, with the shared tile one stage of it takes.
struct StagedLoad {
  mutable LoadOp load; // op handles are used by value
  SharedType stageType;
  bool readIntoRegisters = false; // tile.load_shared from its stage (not an mma operand)
};

/// Loads of `loop` that qualify: from a view defined outside the loop, used
/// once, as operand a or b of a tile.mma in the loop body.
SmallVector<StagedLoad> findStagedLoads(scf::ForOp loop);

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

/// The shared buffer of `stages` stages of `staged`'s tile (its swizzle is
/// chosen later, by tile-select-swizzle): every ring of stages is made of these.
Value allocateStageBuffer(OpBuilder &b, Location loc, const StagedLoad &staged, unsigned stages);

/// One mbarrier per stage, each complete after `arrivals` arrivals.
Value allocateStageBarriers(OpBuilder &b, Location loc, unsigned stages, int64_t arrivals);

/// Shared buffers (one per staged load, `stages` deep) and the barriers that
/// say a stage is full.
struct Stages {
  SmallVector<Value> buffers;
  Value full;
};
Stages allocateStages(OpBuilder &b, scf::ForOp loop, ArrayRef<StagedLoad> loads, unsigned stages);

/// Stage i % S and the parity (i / S) % 2 of iteration i of a ring of S stages.
std::pair<Value, Value> stageAndParity(OpBuilder &b, Location loc, Value i, unsigned stages);

/// The consumer's side of iteration i at the top of the loop body: wait until
/// stage i % S is full (phase (i / S) % 2), and let each mma read its operand
/// from that stage (or read its tile from it with tile.load_shared where the
/// load was). Returns i, the stage, and the last such mma.
struct Iteration {
  Value index, stage;
  Operation *lastMma = nullptr;
};
Iteration consumeStage(scf::ForOp loop, ArrayRef<StagedLoad> loads, const Stages &st,
                       unsigned stages);

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
