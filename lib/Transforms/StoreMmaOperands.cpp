// tile-store-mma-operands: mma operands computed in registers (a dequantized
// weight) are written to shared memory, where WGMMA reads them (see the pass
// description in dialect/TilePasses.td).
#include "Transforms/LoopExpansion.h"
#include "Transforms/Staging.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILESTOREMMAOPERANDS
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;
using namespace mlir::tile::staging;

namespace {

/// Operands WGMMA cannot read from registers: B always; A when it is given
/// K x M or holds fp8 (WGMMA's register A is a K-major 16-bit fragment).
SmallVector<OpOperand *> registerOperandsToStore(MmaOp mma) {
  SmallVector<OpOperand *> operands;
  if (auto a = dyn_cast<RankedTensorType>(mma.getA().getType());
      a && (mma.getTransposeA() || isa<Float8E4M3FNType, Float8E5M2Type>(a.getElementType())))
    operands.push_back(&mma->getOpOperand(0));
  if (isa<RankedTensorType>(mma.getB().getType()))
    operands.push_back(&mma->getOpOperand(1));
  return operands;
}

SharedType sharedTypeOf(RankedTensorType tile, int64_t stages = 0) {
  SmallVector<int64_t> shape;
  if (stages)
    shape.push_back(stages);
  shape.append(tile.getShape().begin(), tile.getShape().end());
  return SharedType::get(tile.getContext(), shape, tile.getElementType(), SwizzleAttr());
}

/// Allocations go before the kernel's top-level op holding the mma, where
/// every thread (a warp-specialized kernel's producer too) passes.
Value allocateAtTop(func::FuncOp kernel, Operation *user, SharedType type) {
  Operation *top = user;
  while (top->getParentOp() != kernel)
    top = top->getParentOp();
  OpBuilder b(top);
  return AllocSharedOp::create(b, user->getLoc(), type);
}

/// barrier (no warpgroup's mma still reads `buffer`), store, barrier (every
/// warp's part is written before any warpgroup's mma reads it); the store
/// fences its writes for the async proxy that WGMMA reads through.
void storeBetweenBarriers(OpBuilder &b, Location loc, Value value, Value buffer) {
  BarrierOp::create(b, loc);
  StoreSharedOp::create(b, loc, value, buffer);
  BarrierOp::create(b, loc);
}

/// Whether a `tile.store_shared` in `loop` writes `operand` (or the buffer
/// it is a stage of): tile-pipeline's operands staged through registers are
/// rewritten in place every iteration, so the mma reading them must
/// complete within it.
bool storedInLoop(scf::ForOp loop, Value operand) {
  auto root = [](Value v) {
    auto stage = v.getDefiningOp<StageOp>();
    return stage ? stage.getSrc() : v;
  };
  bool stored = false;
  loop.getBody()->walk(
      [&](StoreSharedOp store) { stored |= root(store.getDst()) == root(operand); });
  return stored;
}

/// Rewrites `mma`'s register operands. An operand computed in the body of
/// the loop that holds the mma goes through two stages written in turn, so
/// that the mma of iteration i may still read stage i % 2 while iteration
/// i + 1 writes the other (`doubleBuffered` collects those stages). An
/// operand computed outside that loop is written once, before it; elsewhere,
/// right before the mma.
/// Returns whether an operand was written.
bool storeOperands(func::FuncOp kernel, MmaOp mma, SmallVector<Value> &doubleBuffered) {
  Location loc = mma.getLoc();
  auto loop = dyn_cast<scf::ForOp>(mma->getParentOp());
  SmallVector<OpOperand *> operands = registerOperandsToStore(mma);
  for (OpOperand *use : operands) {
    Value value = use->get();
    auto tile = cast<RankedTensorType>(value.getType());
    bool computedInLoop = loop && loop->isAncestor(value.getParentBlock()->getParentOp());
    // Stages are counted in i32, as the frontend's loops and tile-pipeline's.
    if (computedInLoop && loop.getInductionVar().getType().isInteger(32)) {
      Value buffer = allocateAtTop(kernel, mma, sharedTypeOf(tile, 2));
      OpBuilder b(mma);
      Value two = constI32(b, loc, 2);
      Value stage = arith::RemSIOp::create(
          b, loc, loops::iterationIndex(b, loop, loop.getInductionVar()), two);
      Value view = StageOp::create(b, loc, sharedTypeOf(tile), buffer, stage);
      storeBetweenBarriers(b, loc, value, view);
      use->set(view);
      doubleBuffered.push_back(view);
      continue;
    }
    Value buffer = allocateAtTop(kernel, mma, sharedTypeOf(tile));
    OpBuilder b(loop && !computedInLoop ? loop.getOperation() : mma.getOperation());
    storeBetweenBarriers(b, loc, value, buffer);
    use->set(buffer);
  }
  return !operands.empty();
}

/// `pending = 1` as tile-pipeline leaves its mmas in flight (both operands
/// in shared memory, the result only yielded), and a wait for the
/// accumulator after the loop; not where the other operand is rewritten in
/// place each iteration, nor in a warp-specialized consumer (whose stage
/// releases assume the mma waited).
void leaveInFlightIfSafe(scf::ForOp loop, MmaOp mma, ArrayRef<Value> doubleBuffered) {
  auto safe = [&](Value operand) {
    return isa<SharedType>(operand.getType()) &&
           (llvm::is_contained(doubleBuffered, operand) || !storedInLoop(loop, operand));
  };
  if (mma.getPending() != 0 || !yieldedOnly(loop, mma) ||
      mma->getParentOfType<WarpSpecializeOp>() || !safe(mma.getA()) || !safe(mma.getB()))
    return;
  mma.setPending(1);
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  OpBuilder afterLoop(loop->getBlock(), std::next(loop->getIterator()));
  for (OpOperand &use : mma.getResult().getUses())
    if (use.getOwner() == yield) {
      OpResult result = loop->getResult(use.getOperandNumber());
      auto wait = MmaWaitOp::create(afterLoop, loop.getLoc(), result);
      result.replaceAllUsesExcept(wait.getResult(), wait);
    }
}

struct TileStoreMmaOperands
    : public tile::impl::TileStoreMmaOperandsBase<TileStoreMmaOperands> {
  void runOnOperation() override {
    for (auto kernel : getOperation().getOps<func::FuncOp>()) {
      if (!kernel->hasAttr(kKernelAttr))
        continue;
      SmallVector<MmaOp> mmas;
      kernel.walk([&](MmaOp mma) { mmas.push_back(mma); });
      for (MmaOp mma : mmas) {
        SmallVector<Value> doubleBuffered;
        if (storeOperands(kernel, mma, doubleBuffered))
          if (auto loop = dyn_cast<scf::ForOp>(mma->getParentOp()))
            leaveInFlightIfSafe(loop, mma, doubleBuffered);
      }
    }
  }
};
} // namespace
