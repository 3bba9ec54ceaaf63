// Tiles rearranged through the shared-memory scratch: tile.sort (a bitonic
// network over rows written there) and tile.take (a tile written there, read
// back at an index).
#include "Conversion/TileToGPU/WarpExchange.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::tile;

void tile::writeOwned(OpBuilder &b, Location loc, const ThreadLayout &layout, Value tid,
                      function_ref<void(OpBuilder &, Location, int64_t)> write) {
  gpu::BarrierOp::create(b, loc);
  Value owner = layout.owner(b, loc, tid);
  for (int64_t r = 0; r < layout.numRegisters(); ++r) {
    if (owner)
      guarded(b, loc, owner, [&](OpBuilder &t, Location l) { write(t, l, r); });
    else
      write(b, loc, r);
  }
  gpu::BarrierOp::create(b, loc);
}

namespace {

/// Sorts each row along `dim` in shared memory: every thread writes its
/// elements (value and i32 index along `dim`) at row * n + index, then a
/// bitonic network runs, each step's pairs spread over the threads with a
/// barrier after the step, and every thread reads its registers back. The
/// order is argmin's (ascending) or argmax's (descending) with the index as
/// the tie-break: total, so the sort is stable, and NaN is the greatest.
struct SortLowering : public StatefulPattern<SortOp> {
  using StatefulPattern::StatefulPattern;

  LogicalResult
  matchAndRewrite(SortOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getSrc().getType();
    FailureOr<ThreadLayout> layout = ThreadLayout::get(type);
    if (failed(layout))
      return rewriter.notifyMatchFailure(op, "sorts a laid-out tile");
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    unsigned dim = op.getDim();
    SmallVector<int64_t> rowShape(type.getShape());
    int64_t n = rowShape[dim], total = type.getNumElements();
    rowShape.erase(rowShape.begin() + dim);
    WarpExchange rows = warpExchange(b, loc, state, type.getElementType(), total, true);
    Value tid = threadId(b, loc);
    // Where register `reg`'s element lies in the scratch, and its index along dim.
    auto slotOf = [&](OpBuilder &b, Location loc, int64_t reg) -> std::pair<Value, Value> {
      SmallVector<Value> coords = layout->coords(b, loc, tid, reg);
      Value along = coords[dim];
      coords.erase(coords.begin() + dim);
      Value row = rowShape.empty() ? constI64(b, loc, 0) : rowMajorIndex(b, loc, coords, rowShape);
      return {arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, row, constI64(b, loc, n)),
                                    along),
              along};
    };
    writeOwned(b, loc, *layout, tid, [&](OpBuilder &t, Location l, int64_t r) {
      auto [slot, along] = slotOf(t, l, r);
      Value value = vector::ExtractOp::create(t, l, adaptor.getSrc(), ArrayRef<int64_t>{r});
      rows.store(t, l, {value, index32(t, l, along)}, slot);
    });
    int64_t threads = consumerThreads(op->getParentOfType<func::FuncOp>());
    for (int64_t k = 2; k <= n; k *= 2)
      for (int64_t j = k / 2; j >= 1; j /= 2) {
        compareAndSwap(b, loc, rows, tid, threads, total / 2, n, k, j, op.getDescending());
        gpu::BarrierOp::create(b, loc);
      }
    SmallVector<Value> values, indices;
    for (int64_t r = 0; r < layout->numRegisters(); ++r) {
      Partial element = rows.load(b, loc, slotOf(b, loc, r).first, true);
      values.push_back(element.value);
      indices.push_back(element.index);
    }
    auto vector = [&](Type t, ArrayRef<Value> elements) -> Value {
      return vector::FromElementsOp::create(b, loc, getTypeConverter()->convertType(t), elements);
    };
    rewriter.replaceOp(op, {vector(op.getValues().getType(), values),
                            vector(op.getIndices().getType(), indices)});
    return success();
  }

  /// One step (k, j) of the network over `pairs` pairs, pair p handled by
  /// thread p % threads: in each row, element i (bit j of i clear) against
  /// i + j, in order within a block of k ascending where bit k of i is clear.
  static void compareAndSwap(OpBuilder &b, Location loc, const WarpExchange &rows, Value tid,
                             int64_t threads, int64_t pairs, int64_t n, int64_t k, int64_t j,
                             bool descending) {
    scf::ForOp::create(
        b, loc, tid, constI64(b, loc, pairs), constI64(b, loc, threads), ValueRange{},
        [&](OpBuilder &t, Location l, Value p, ValueRange) {
          auto c = [&](int64_t v) { return constI64(t, l, v); };
          Value row = arith::DivUIOp::create(t, l, p, c(n / 2));
          Value q = arith::RemUIOp::create(t, l, p, c(n / 2));
          Value i = arith::AddIOp::create(
              t, l, arith::MulIOp::create(t, l, arith::DivUIOp::create(t, l, q, c(j)), c(2 * j)),
              arith::RemUIOp::create(t, l, q, c(j)));
          Value first = arith::AddIOp::create(t, l, arith::MulIOp::create(t, l, row, c(n)), i);
          Value second = arith::AddIOp::create(t, l, first, c(j));
          Partial x = rows.load(t, l, first, true), y = rows.load(t, l, second, true);
          Value up = arith::CmpIOp::create(t, l, arith::CmpIPredicate::eq,
                                           arith::AndIOp::create(t, l, i, c(k)), c(0));
          // Swap where y comes first in an ascending block, or x in a descending
          // one. NaN is the greatest value: first descending, last ascending.
          Value swap = arith::CmpIOp::create(t, l, arith::CmpIPredicate::eq, up,
                                             prefers(t, l, descending, x, y, descending));
          auto pick = [&](Value v, Value w) {
            return arith::SelectOp::create(t, l, swap, v, w).getResult();
          };
          rows.store(t, l, {pick(y.value, x.value), pick(y.index, x.index)}, first);
          rows.store(t, l, {pick(x.value, y.value), pick(x.index, y.index)}, second);
          scf::YieldOp::create(t, l);
        });
  }
};
/// Picks elements along `dim` through shared memory: the source goes to the
/// scratch row-major, then each thread reads each of its result registers at
/// the register's coordinates with the one along `dim` replaced by the index.
struct TakeLowering : public StatefulPattern<TakeOp> {
  using StatefulPattern::StatefulPattern;

  LogicalResult
  matchAndRewrite(TakeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType srcType = op.getSrc().getType(), type = op.getType();
    FailureOr<ThreadLayout> src = ThreadLayout::get(srcType), result = ThreadLayout::get(type);
    if (failed(src) || failed(result))
      return rewriter.notifyMatchFailure(op, "takes between laid-out tiles");
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    ArrayRef<int64_t> shape = srcType.getShape();
    WarpExchange tile = warpExchange(b, loc, state, srcType.getElementType(),
                                     srcType.getNumElements(), false);
    Value tid = threadId(b, loc);
    writeOwned(b, loc, *src, tid, [&](OpBuilder &t, Location l, int64_t r) {
      Value slot = rowMajorIndex(t, l, src->coords(t, l, tid, r), shape);
      tile.store(t, l, {vector::ExtractOp::create(t, l, adaptor.getSrc(), ArrayRef<int64_t>{r}),
                        Value()}, slot);
    });
    SmallVector<Value> out;
    for (int64_t r = 0; r < result->numRegisters(); ++r) {
      SmallVector<Value> coords = result->coords(b, loc, tid, r);
      Value index = vector::ExtractOp::create(b, loc, adaptor.getIndex(), ArrayRef<int64_t>{r});
      coords[op.getDim()] = arith::ExtSIOp::create(b, loc, b.getI64Type(), index);
      out.push_back(tile.load(b, loc, rowMajorIndex(b, loc, coords, shape), false).value);
    }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(
        op, getTypeConverter()->convertType(type), out);
    return success();
  }
};
} // namespace

void tile::populateSortPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                                LoweringState &state) {
  patterns.add<SortLowering, TakeLowering>(converter, patterns.getContext(), state);
}
