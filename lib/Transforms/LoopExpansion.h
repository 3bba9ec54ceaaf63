// The arithmetic of an scf.for's iterations and the cloning of its body at
// another iteration: what tile-pipeline (copies issued iterations ahead),
// tile-warp-specialize (a producer's loop counting the consumers' iterations)
// and tile-overlap-mma (a rotated loop with a peeled first and last
// iteration) build their prologues, epilogues and counters from
// (lib/Transforms/LoopExpansion.cpp). Loops count up: step > 0.
#ifndef TILE_TRANSFORMS_LOOPEXPANSION_H
#define TILE_TRANSFORMS_LOOPEXPANSION_H

#include "dialect/TilePasses.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::tile::loops {

/// A loop's bounds, or their copies built elsewhere (a producer's).
struct Bounds {
  Value lb, ub, step;
};
Bounds boundsOf(scf::ForOp loop);

/// The induction variable `k` iterations after `iv`: iv + step * k.
Value advance(OpBuilder &b, Location loc, Value iv, Value step, Value k);
Value advance(OpBuilder &b, Location loc, Value iv, Value step, int64_t k);

/// The index of the iteration at `iv` of a loop from `lb`: (iv - lb) / step.
Value iterationIndex(OpBuilder &b, Location loc, Value iv, Value lb, Value step);
Value iterationIndex(OpBuilder &b, scf::ForOp loop, Value iv);

/// Iterations the loop runs: max(0, ceil((ub - lb) / step)).
Value tripCount(OpBuilder &b, Location loc, const Bounds &bounds);

/// The last iteration's induction variable, where there is one:
/// lb + ((ub - lb - 1) / step) * step.
Value lastIteration(OpBuilder &b, Location loc, const Bounds &bounds);

/// Whether the iteration at `iv` runs: iv < ub.
Value runs(OpBuilder &b, Location loc, Value iv, Value ub);

/// Maps `loop`'s induction variable to `iv` and its iteration arguments to
/// `args`, so that its body's ops clone as that iteration's.
void mapIteration(IRMapping &map, scf::ForOp loop, Value iv, ValueRange args);

/// `value` as the iteration at `iv` computes it: the ops of `loop`'s body it
/// depends on are cloned at `b` (once per `map`); values from outside the
/// loop are used as they are.
Value atIteration(OpBuilder &b, scf::ForOp loop, Value value, Value iv, IRMapping &map);

} // namespace mlir::tile::loops

#endif
