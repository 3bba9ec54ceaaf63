// The one rule for whether TMA can address a global view; see TMA.h.
#include "Analysis/TMA.h"

#include "Analysis/Divisibility.h"
#include "dialect/TileDialect.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;

bool tile::tmaCanAddress(Value value, ValueRange offsets, std::string *why) {
  auto fail = [&](const char *reason) {
    if (why)
      *why = reason;
    return false;
  };
  auto view = value.getDefiningOp<MakeViewOp>();
  if (!view)
    return fail("the view is not made by tile.make_view");
  // tile-synthesize-tma gives the descriptor to the kernel's array argument.
  auto pointer = dyn_cast<BlockArgument>(view.getPtr());
  auto func = pointer ? dyn_cast<FunctionOpInterface>(pointer.getOwner()->getParentOp())
                      : FunctionOpInterface();
  if (!func || pointer.getOwner() != &func.getFunctionBody().front())
    return fail("the view's pointer is not a kernel argument");
  int64_t bytes = view.getType().getElementType().getIntOrFloatBitWidth() / 8;
  if (bytes == 0)
    return fail("TMA moves whole bytes; the element type is narrower");
  if (getDivisibility(view.getPtr()) < 16)
    return fail("the base address is not known to be 16-byte aligned");
  APInt one;
  if (!matchPattern(view.getStrides().back(), m_ConstantInt(&one)) || !one.isOne())
    return fail("the innermost stride is not the constant 1");
  for (Value stride : view.getStrides().drop_back())
    if (getDivisibility(stride) * bytes < 16)
      return fail("an outer stride is not known to be a multiple of 16 bytes");
  if (offsets.empty() || getDivisibility(offsets.back()) * bytes < 16)
    return fail("the innermost offset is not known to be a multiple of 16 bytes "
                "(tile.multiple_of can say so)");
  return true;
}
