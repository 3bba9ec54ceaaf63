// A small forward divisibility analysis over integer SSA values, as Triton's
// axis analysis does for contiguity: it lets global accesses be as wide as the
// alignment of pointer, offset and bound allows.
#include "Analysis/Divisibility.h"

#include "dialect/TileDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;

static int64_t powerOfTwoFactor(const APInt &v) {
  if (v.isZero())
    return tile::kMaxDivisibility;
  unsigned tz = v.countTrailingZeros();
  return tz >= 16 ? tile::kMaxDivisibility : int64_t(1) << tz;
}

static int64_t capped(int64_t v) { return std::min(v, tile::kMaxDivisibility); }

int64_t tile::getDivisibility(Value value) {
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    // A loop's induction variable is lb + k * step: divisible by both's.
    if (auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp()))
      return arg == loop.getInductionVar()
                 ? std::min(getDivisibility(loop.getLowerBound()),
                            getDivisibility(loop.getStep()))
                 : 1;
    auto func = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
    if (!func || arg.getOwner() != &func.getFunctionBody().front())
      return 1;
    if (auto attr = func.getArgAttrOfType<IntegerAttr>(arg.getArgNumber(),
                                                       kDivisibilityAttr))
      return capped(attr.getInt());
    return 1;
  }
  APInt constant;
  if (matchPattern(value, m_ConstantInt(&constant)))
    return powerOfTwoFactor(constant);
  Operation *op = value.getDefiningOp();
  if (!op)
    return 1;
  auto div = [](Value v) { return getDivisibility(v); };
  if (auto assume = dyn_cast<tile::AssumeMultipleOp>(op)) // the kernel's promise
    return capped(std::max(int64_t(assume.getMultiple()), div(assume.getValue())));
  if (isa<arith::MulIOp>(op))
    return capped(div(op->getOperand(0)) * div(op->getOperand(1)));
  // a % b = a - q·b: a power of two dividing both divides it (seq_len % BN).
  if (isa<arith::AddIOp, arith::SubIOp, arith::RemSIOp, arith::RemUIOp>(op))
    return std::min(div(op->getOperand(0)), div(op->getOperand(1)));
  if (isa<arith::ExtSIOp, arith::ExtUIOp, arith::IndexCastOp>(op))
    return div(op->getOperand(0));
  if (auto add = dyn_cast<tile::AddPtrOp>(op)) { // bytes: the pointer's, and the offset's
    int64_t bytes = std::max<int64_t>(
        1, add.getPtr().getType().getElementType().getIntOrFloatBitWidth() / 8);
    return std::min(div(add.getPtr()), capped(div(add.getOffset()) * bytes));
  }
  if (auto select = dyn_cast<arith::SelectOp>(op)) // either side (a peer's pointer)
    return std::min(div(select.getTrueValue()), div(select.getFalseValue()));
  if (isa<arith::ShLIOp>(op)) {
    APInt shift;
    if (matchPattern(op->getOperand(1), m_ConstantInt(&shift)) &&
        shift.getZExtValue() < 16)
      return capped(div(op->getOperand(0)) << shift.getZExtValue());
  }
  return 1;
}
