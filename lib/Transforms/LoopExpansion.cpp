// The arithmetic of an scf.for's iterations and the cloning of its body at
// another iteration, shared by the passes that expand loops (LoopExpansion.h).
#include "Transforms/LoopExpansion.h"

using namespace mlir;

namespace mlir::tile::loops {

/// A constant of `like`'s integer type (the loop's: i32 or index).
static Value constantLike(OpBuilder &b, Location loc, Value like, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(like.getType(), v));
}

Bounds boundsOf(scf::ForOp loop) {
  return {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()};
}

Value advance(OpBuilder &b, Location loc, Value iv, Value step, Value k) {
  return arith::AddIOp::create(b, loc, iv, arith::MulIOp::create(b, loc, step, k));
}

Value advance(OpBuilder &b, Location loc, Value iv, Value step, int64_t k) {
  if (k == 1) // the next iteration
    return arith::AddIOp::create(b, loc, iv, step);
  return advance(b, loc, iv, step, constantLike(b, loc, step, k));
}

Value iterationIndex(OpBuilder &b, Location loc, Value iv, Value lb, Value step) {
  return arith::DivSIOp::create(b, loc, arith::SubIOp::create(b, loc, iv, lb), step);
}

Value iterationIndex(OpBuilder &b, scf::ForOp loop, Value iv) {
  return iterationIndex(b, loop.getLoc(), iv, loop.getLowerBound(), loop.getStep());
}

Value tripCount(OpBuilder &b, Location loc, const Bounds &bounds) {
  Value span = arith::SubIOp::create(b, loc, bounds.ub, bounds.lb);
  Value stepLess1 =
      arith::SubIOp::create(b, loc, bounds.step, constantLike(b, loc, bounds.step, 1));
  Value trips = arith::DivSIOp::create(b, loc, arith::AddIOp::create(b, loc, span, stepLess1),
                                       bounds.step);
  return arith::MaxSIOp::create(b, loc, trips, constantLike(b, loc, trips, 0));
}

Value lastIteration(OpBuilder &b, Location loc, const Bounds &bounds) {
  Value one = constantLike(b, loc, bounds.lb, 1);
  Value span = arith::SubIOp::create(b, loc, arith::SubIOp::create(b, loc, bounds.ub, bounds.lb),
                                     one);
  return arith::AddIOp::create(
      b, loc, bounds.lb,
      arith::MulIOp::create(b, loc, arith::DivSIOp::create(b, loc, span, bounds.step),
                            bounds.step));
}

Value runs(OpBuilder &b, Location loc, Value iv, Value ub) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, iv, ub);
}

void mapIteration(IRMapping &map, scf::ForOp loop, Value iv, ValueRange args) {
  map.map(loop.getInductionVar(), iv);
  for (auto [arg, value] : llvm::zip(loop.getRegionIterArgs(), args))
    map.map(arg, value);
}

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

} // namespace mlir::tile::loops
