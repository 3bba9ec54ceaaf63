// What tile-warp-specialize's producer recomputes of the consumers' scalars
// (bounds, views, copy coordinates).
#ifndef TILE_TRANSFORMS_PRODUCERVALUES_H
#define TILE_TRANSFORMS_PRODUCERVALUES_H

#include "dialect/TilePasses.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::tile {

/// Scalars the consumer region computes, recomputed in the producer region:
/// pure ops that make no register tile (scf.if over such ops included) are
/// cloned; values defined above the warp_specialize are used as they are.
/// `consumer` may also be the kernel's body before the split (to decide
/// whether it can be made): its arguments and the allocations at its top,
/// which the split hoists above the warp_specialize, count as above.
struct ProducerValues {
  Region &consumer;

  static bool scalarOnly(Operation *op) {
    auto tile = [](Type t) { return isa<RankedTensorType>(t); };
    return !op->walk([&](Operation *nested) {
                return llvm::any_of(nested->getResultTypes(), tile) ||
                               llvm::any_of(nested->getOperandTypes(), tile)
                           ? WalkResult::interrupt()
                           : WalkResult::advance();
              }).wasInterrupted();
  }
  static bool recomputable(Operation *op) { return isMemoryEffectFree(op) && scalarOnly(op); }
  bool inConsumer(Operation *op) const {
    return consumer.isAncestor(op->getParentRegion()) &&
           !(op->getParentRegion() == &consumer && isa<AllocSharedOp, AllocMBarrierOp>(op));
  }
  /// Whether `arg` is a block argument of the consumer's own ops (a loop's
  /// induction variable), not one from above.
  bool inConsumer(BlockArgument arg) const {
    Region *region = arg.getOwner()->getParent();
    return region != &consumer && consumer.isAncestor(region);
  }

  /// What `op` reads: its operands and the values its regions use from above.
  static SmallVector<Value> inputs(Operation *op) {
    SmallVector<Value> values(op->getOperands());
    llvm::SetVector<Value> above;
    for (Region &region : op->getRegions())
      getUsedValuesDefinedAbove(region, above);
    values.append(above.begin(), above.end());
    return values;
  }

  /// Whether `value` can be recomputed where the induction variables of
  /// `known` loops are known.
  bool computable(Value value, ArrayRef<scf::ForOp> known) const {
    if (llvm::any_of(known, [&](scf::ForOp l) { return l && value == l.getInductionVar(); }))
      return true;
    Operation *def = value.getDefiningOp();
    if (!def)
      return !inConsumer(cast<BlockArgument>(value));
    if (!inConsumer(def))
      return true;
    return recomputable(def) &&
           llvm::all_of(inputs(def), [&](Value v) { return computable(v, known); });
  }

  /// `value` at `b`'s insertion point; `map` maps the mirrored induction
  /// variables and holds the clones made at this point's scope.
  Value rebuild(OpBuilder &b, IRMapping &map, Value value) {
    if (Value known = map.lookupOrNull(value))
      return known;
    Operation *def = value.getDefiningOp();
    if (!def || !inConsumer(def))
      return value;
    for (Value input : inputs(def))
      map.map(input, rebuild(b, map, input));
    Operation *clone = b.clone(*def, map);
    return clone->getResult(cast<OpResult>(value).getResultNumber());
  }

  /// Whether `value` changes with `iv`: `map` holds what is known outside
  /// the loop (the outer induction variables); other block arguments of the
  /// consumer region count as changing.
  bool varies(const IRMapping &map, Value value, Value iv) const {
    if (value == iv)
      return true;
    if (map.contains(value))
      return false;
    Operation *def = value.getDefiningOp();
    if (!def)
      return inConsumer(cast<BlockArgument>(value));
    return inConsumer(def) &&
           llvm::any_of(inputs(def), [&](Value v) { return varies(map, v, iv); });
  }

  /// Rebuilds at `b` (before the loop of `iv`) the largest parts of `value`
  /// that do not change with `iv`, into `map`: the loop then computes only
  /// what varies. (A producer issues its copies right after the stage's empty
  /// wait; a tile coordinate's divisions there delay every refill.)
  void hoistInvariant(OpBuilder &b, IRMapping &map, Value value, Value iv) {
    if (map.contains(value))
      return;
    Operation *def = value.getDefiningOp();
    if (!def || !inConsumer(def))
      return;
    if (!varies(map, value, iv)) {
      rebuild(b, map, value);
      return;
    }
    for (Value input : inputs(def))
      hoistInvariant(b, map, input, iv);
  }
};

} // namespace mlir::tile

#endif
