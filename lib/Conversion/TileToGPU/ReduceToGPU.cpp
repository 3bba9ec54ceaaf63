// Reductions and scans: tile.reduce (sum, max, min, argmax, argmin; along a
// dimension, or over all of them to a scalar) and tile.scan (inclusive sum and
// product). Each works over the thread's registers first, then across lanes
// with shuffles, then across warps through shared memory (WarpExchange.h).
#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"
#include "Conversion/TileToGPU/WarpExchange.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::tile;

Value tile::prefers(OpBuilder &b, Location loc, bool isMax, Partial x, Partial y,
                   bool nanBest) {
  Value better, same;
  if (isa<FloatType>(x.value.getType())) {
    auto cmp = [&](arith::CmpFPredicate p, Value l, Value r) {
      return arith::CmpFOp::create(b, loc, p, l, r).getResult();
    };
    Value xNaN = cmp(arith::CmpFPredicate::UNO, x.value, x.value);
    Value yNaN = cmp(arith::CmpFPredicate::UNO, y.value, y.value);
    auto negate = [&](Value v) -> Value {
      return arith::XOrIOp::create(b, loc, v,
                                   arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1));
    };
    if (!nanBest)
      std::swap(xNaN, yNaN); // y wins where x is NaN and y is not
    Value notXNaN = negate(xNaN);
    better = cmp(isMax ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT, y.value, x.value);
    Value nanWins = arith::AndIOp::create(b, loc, yNaN, notXNaN);
    better = arith::OrIOp::create(b, loc, better, nanWins);
    same = arith::OrIOp::create(b, loc, cmp(arith::CmpFPredicate::OEQ, y.value, x.value),
                                arith::AndIOp::create(b, loc, xNaN, yNaN));
  } else {
    better = arith::CmpIOp::create(b, loc, isMax ? arith::CmpIPredicate::sgt
                                                 : arith::CmpIPredicate::slt, y.value, x.value);
    same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, y.value, x.value);
  }
  Value earlier = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, y.index, x.index);
  return arith::OrIOp::create(b, loc, better, arith::AndIOp::create(b, loc, same, earlier));
}

Value tile::index32(OpBuilder &b, Location loc, Value coord) {
  return arith::TruncIOp::create(b, loc, b.getI32Type(), coord);
}

WarpExchange tile::warpExchange(OpBuilder &b, Location loc, LoweringState &state, Type elt,
                                int64_t slots, bool withIndex) {
  int64_t bytes = llvm::alignTo(slots * elt.getIntOrFloatBitWidth() / 8, 4) +
                  (withIndex ? slots * 4 : 0);
  state.scratchBytes = std::max(state.scratchBytes, bytes);
  return {sharedScratch(b, loc, state), elt, slots};
}

namespace {

/// A warp shuffle of a 32- or 64-bit value (the hardware moves 32 bits: a 64-bit
/// one goes as its two halves).
Value shuffle(OpBuilder &b, Location loc, Value v, int64_t offset, gpu::ShuffleMode mode) {
  auto move = [&](Value x) {
    return gpu::ShuffleOp::create(b, loc, x, int32_t(offset), 32, mode).getShuffleResult();
  };
  Type type = v.getType();
  if (type.getIntOrFloatBitWidth() != 64)
    return move(v);
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value bits = isa<FloatType>(type) ? arith::BitcastOp::create(b, loc, i64, v).getResult() : v;
  Value c32 = arith::ConstantIntOp::create(b, loc, i64, 32);
  Value lo = move(arith::TruncIOp::create(b, loc, i32, bits));
  Value hi = move(arith::TruncIOp::create(b, loc, i32, arith::ShRUIOp::create(b, loc, bits, c32)));
  Value joined = arith::OrIOp::create(
      b, loc, arith::ExtUIOp::create(b, loc, i64, lo),
      arith::ShLIOp::create(b, loc, arith::ExtUIOp::create(b, loc, i64, hi), c32));
  return isa<FloatType>(type) ? arith::BitcastOp::create(b, loc, type, joined).getResult() : joined;
}

bool isArgKind(ReduceKind kind) {
  return kind == ReduceKind::argmax || kind == ReduceKind::argmin;
}

Value combineValues(OpBuilder &b, Location loc, ReduceKind kind, Value x, Value y) {
  bool isFloat = isa<FloatType>(x.getType());
  switch (kind) {
  case ReduceKind::sum:
    return isFloat ? arith::AddFOp::create(b, loc, x, y).getResult()
                   : arith::AddIOp::create(b, loc, x, y).getResult();
  case ReduceKind::max:
    return isFloat ? arith::MaximumFOp::create(b, loc, x, y).getResult()
                   : arith::MaxSIOp::create(b, loc, x, y).getResult();
  case ReduceKind::min:
    return isFloat ? arith::MinimumFOp::create(b, loc, x, y).getResult()
                   : arith::MinSIOp::create(b, loc, x, y).getResult();
  case ReduceKind::argmax:
  case ReduceKind::argmin:
    break;
  }
  llvm_unreachable("argmax/argmin combine (value, index) pairs");
}

/// argmax/argmin keep the pair that comes first in their order (prefers).
/// Symmetric, so every lane of a butterfly ends with the same pair.
Partial combine(OpBuilder &b, Location loc, ReduceKind kind, Partial x, Partial y) {
  if (!isArgKind(kind))
    return {combineValues(b, loc, kind, x.value, y.value), Value()};
  Value take = prefers(b, loc, kind == ReduceKind::argmax, x, y);
  return {arith::SelectOp::create(b, loc, take, y.value, x.value),
          arith::SelectOp::create(b, loc, take, y.index, x.index)};
}

Partial shuffleXor(OpBuilder &b, Location loc, Partial p, int64_t offset) {
  auto xorLane = [&](Value v) -> Value {
    return v ? shuffle(b, loc, v, offset, gpu::ShuffleMode::XOR) : v;
  };
  return {xorLane(p.value), xorLane(p.index)};
}


/// Reduce along `dim` to a tile (first over the thread's own registers, then
/// across the lanes that share a row with butterfly shuffles, then across
/// warps through shared memory), or over every dimension to a scalar (every
/// lane of the warp, then every warp). Every thread ends with the full result.
struct ReduceLowering : public StatefulPattern<ReduceOp> {
  using StatefulPattern::StatefulPattern;

  LogicalResult
  matchAndRewrite(ReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType srcType = op.getSrc().getType();
    FailureOr<ThreadLayout> layout = ThreadLayout::get(srcType);
    bool wgmma = isa_and_nonnull<WgmmaLayoutAttr>(srcType.getEncoding());
    auto resultTile = dyn_cast<RankedTensorType>(op.getType());
    if (failed(layout))
      return rewriter.notifyMatchFailure(op, "needs a laid-out tile");
    if (!resultTile) {
      rewriter.replaceOp(op, toScalar(rewriter, op, adaptor.getSrc(), *layout));
      return success();
    }
    if (!isa<BlockedLayoutAttr>(srcType.getEncoding()) && !wgmma)
      return rewriter.notifyMatchFailure(op, "reduces a #tile.blocked or #tile.wgmma tile");
    if (wgmma && op.getDim() != 1)
      return op.emitError("reductions of a WGMMA accumulator run along its rows (dim 1) only");
    Location loc = op.getLoc();
    unsigned dim = op.getDim();
    ReduceKind kind = op.getKind();
    auto resultType = cast<VectorType>(getTypeConverter()->convertType(resultTile));
    SmallVector<Partial> partial(resultType.getNumElements());
    if (srcType.getShape()[dim] == 1) { // each thread holds the result: nothing to combine
      SmallVector<Value> values(resultType.getNumElements());
      for (int64_t r = 0; r < layout->numRegisters(); ++r)
        if (Value &v = values[layout->sliceRegister(r, dim)]; !v)
          v = isArgKind(kind) ? constI32(rewriter, loc, 0)
                              : vector::ExtractOp::create(rewriter, loc, adaptor.getSrc(),
                                                          ArrayRef<int64_t>{r}).getResult();
      rewriter.replaceOpWithNewOp<vector::FromElementsOp>(op, resultType, values);
      return success();
    }
    // Where the tile is narrower along `dim` than its threads, some hold
    // copies: a sum counts those as 0 (the others are unchanged by copies).
    Value tid = threadId(rewriter, loc);
    Value zero = arith::ConstantOp::create(rewriter, loc,
                                           rewriter.getZeroAttr(srcType.getElementType()));
    for (int64_t r = 0; r < layout->numRegisters(); ++r) {
      Partial x{vector::ExtractOp::create(rewriter, loc, adaptor.getSrc(), ArrayRef<int64_t>{r}),
                Value()};
      if (isArgKind(kind))
        x.index = index32(rewriter, loc, layout->coords(rewriter, loc, tid, r)[dim]);
      else if (Value copy = kind == ReduceKind::sum ? layout->holdsCopy(rewriter, loc, tid, r, dim)
                                                    : Value())
        x.value = arith::SelectOp::create(rewriter, loc, copy, zero, x.value);
      Partial &acc = partial[layout->sliceRegister(r, dim)];
      acc = acc.value ? combine(rewriter, loc, kind, acc, x) : x;
    }
    // Lanes sharing a row: a WGMMA row lives in the four lanes of a quad.
    int64_t lanes = wgmma ? 4 : layout->lanes(dim);
    int64_t laneStride = wgmma ? 1 : layout->laneStride(dim);
    for (int64_t step = 1; step < lanes; step *= 2)
      for (Partial &acc : partial)
        acc = combine(rewriter, loc, kind, acc, shuffleXor(rewriter, loc, acc, step * laneStride));
    if (!wgmma && layout->warps(dim) > 1)
      acrossWarps(rewriter, loc, *layout, dim, kind, partial, resultTile);
    SmallVector<Value> values;
    for (Partial &p : partial)
      values.push_back(isArgKind(kind) ? p.index : p.value);
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(op, resultType, values);
    return success();
  }

  /// Warps along `dim` exchange partial results in shared memory, laid out as
  /// [element of the result][warp along dim].
  void acrossWarps(OpBuilder &b, Location loc, const ThreadLayout &layout, unsigned dim,
                   ReduceKind kind, SmallVector<Partial> &partial,
                   RankedTensorType resultType) const {
    int64_t warps = layout.warps(dim);
    Type elt = partial.front().value.getType();
    WarpExchange exchange = warpExchange(b, loc, state, elt,
                                         resultType.getNumElements() * warps, isArgKind(kind));
    Value tid = threadId(b, loc);
    FailureOr<ThreadLayout> resultLayout = ThreadLayout::get(resultType);
    Value warp = layout.warpCoord(b, loc, tid, dim);
    Value firstLane = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                            layout.laneCoord(b, loc, tid, dim),
                                            constI64(b, loc, 0));
    auto slot = [&](int64_t reg, Value w) -> Value {
      // Row-major index of the result element, times warps, plus the warp.
      Value linear = rowMajorIndex(b, loc, resultLayout->coords(b, loc, tid, reg),
                                   resultType.getShape());
      return arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, linear, constI64(b, loc, warps)), w);
    };
    gpu::BarrierOp::create(b, loc); // earlier users of the scratch are done
    for (int64_t j = 0; j < (int64_t)partial.size(); ++j) {
      Value at = slot(j, warp);
      guarded(b, loc, firstLane,
             [&](OpBuilder &t, Location l) { exchange.store(t, l, partial[j], at); });
    }
    gpu::BarrierOp::create(b, loc);
    for (int64_t j = 0; j < (int64_t)partial.size(); ++j) {
      Partial acc;
      for (int64_t w = 0; w < warps; ++w) {
        Partial x = exchange.load(b, loc, slot(j, constI64(b, loc, w)), isArgKind(kind));
        acc = acc.value ? combine(b, loc, kind, acc, x) : x;
      }
      partial[j] = acc;
    }
  }

  /// A tile (in any layout) to a scalar: the thread's registers, a
  /// butterfly over all 32 lanes, then one slot a warp in shared memory.
  /// A sum counts only the elements a thread owns (copies add 0); an index
  /// is row-major.
  Value toScalar(OpBuilder &b, ReduceOp op, Value src, const ThreadLayout &layout) const {
    Location loc = op.getLoc();
    ReduceKind kind = op.getKind();
    if (op.getSrc().getType().getNumElements() == 1) // a one-element load: every thread has it
      return isArgKind(kind) ? constI32(b, loc, 0)
                             : vector::ExtractOp::create(b, loc, src, ArrayRef<int64_t>{0})
                                   .getResult();
    Value tid = threadId(b, loc);
    Partial acc;
    for (int64_t r = 0; r < layout.numRegisters(); ++r) {
      Partial x{vector::ExtractOp::create(b, loc, src, ArrayRef<int64_t>{r}), Value()};
      if (isArgKind(kind))
        x.index = index32(b, loc, rowMajorIndex(b, loc, layout.coords(b, loc, tid, r),
                                                op.getSrc().getType().getShape()));
      acc = acc.value ? combine(b, loc, kind, acc, x) : x;
    }
    if (Value owner = kind == ReduceKind::sum ? layout.owner(b, loc, tid) : Value())
      acc.value = arith::SelectOp::create(
          b, loc, owner, acc.value,
          arith::ConstantOp::create(b, loc, b.getZeroAttr(acc.value.getType())));
    for (int64_t step = 1; step < 32; step *= 2)
      acc = combine(b, loc, kind, acc, shuffleXor(b, loc, acc, step));
    int64_t warps = layout.numWarps();
    if (warps > 1) {
      WarpExchange exchange = warpExchange(b, loc, state, acc.value.getType(), warps,
                                           isArgKind(kind));
      Value warp = arith::DivUIOp::create(b, loc, tid, constI64(b, loc, 32));
      Value firstLane = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq,
          arith::RemUIOp::create(b, loc, tid, constI64(b, loc, 32)), constI64(b, loc, 0));
      gpu::BarrierOp::create(b, loc); // earlier users of the scratch are done
      Partial mine = acc;
      guarded(b, loc, firstLane, [&](OpBuilder &t, Location l) { exchange.store(t, l, mine, warp); });
      gpu::BarrierOp::create(b, loc);
      acc = {};
      for (int64_t w = 0; w < warps; ++w) {
        Partial x = exchange.load(b, loc, constI64(b, loc, w), isArgKind(kind));
        acc = acc.value ? combine(b, loc, kind, acc, x) : x;
      }
    }
    return isArgKind(kind) ? acc.index : acc.value;
  }
};

Value combineScan(OpBuilder &b, Location loc, ScanKind kind, Value x, Value y) {
  bool isFloat = isa<FloatType>(x.getType());
  if (kind == ScanKind::sum)
    return isFloat ? arith::AddFOp::create(b, loc, x, y).getResult()
                   : arith::AddIOp::create(b, loc, x, y).getResult();
  return isFloat ? arith::MulFOp::create(b, loc, x, y).getResult()
                 : arith::MulIOp::create(b, loc, x, y).getResult();
}

Value cmpI64(OpBuilder &b, Location loc, arith::CmpIPredicate p, Value x, int64_t y) {
  return arith::CmpIOp::create(b, loc, p, x, constI64(b, loc, y));
}

/// Inclusive scan along `dim` of a #tile.blocked tile. Element i of a row is
/// the combination, in order, of: the totals of the earlier repeats of the
/// layout's coverage, the totals of earlier warps, the totals of earlier
/// lanes (shfl.up), and the thread's own registers up to i. Where the tile is
/// narrower than its threads along `dim`, each copy of it scans on its own.
struct ScanLowering : public StatefulPattern<ScanOp> {
  using StatefulPattern::StatefulPattern;

  LogicalResult
  matchAndRewrite(ScanOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    FailureOr<ThreadLayout> layout = ThreadLayout::get(type);
    if (failed(layout) || !isa_and_nonnull<BlockedLayoutAttr>(type.getEncoding()))
      return rewriter.notifyMatchFailure(op, "scans a #tile.blocked tile");
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    unsigned dim = op.getDim();
    ScanKind kind = op.getKind();
    Type elt = type.getElementType();
    int64_t lanes = layout->lanes(dim), warps = layout->warps(dim);
    int64_t run = layout->sizePerThreadAlong(dim), extent = layout->extent(dim);
    int64_t repeats = layout->registersAlong(dim) / run;
    TypedAttr one = isa<FloatType>(elt) ? cast<TypedAttr>(b.getFloatAttr(elt, 1.0))
                                         : cast<TypedAttr>(b.getIntegerAttr(elt, 1));
    Value identity = arith::ConstantOp::create(
        b, loc, kind == ScanKind::sum ? b.getZeroAttr(elt) : one);
    auto both = [&](Value x, Value y) { return arith::AndIOp::create(b, loc, x, y).getResult(); };
    Value tid = threadId(b, loc);
    Value lane = layout->laneCoord(b, loc, tid, dim), warp = layout->warpCoord(b, loc, tid, dim);
    // Where the thread's first element lies in its copy of the tile.
    Value first = arith::MulIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc,
                              arith::MulIOp::create(b, loc, warp, constI64(b, loc, lanes)), lane),
        constI64(b, loc, run));
    Value pos = arith::AndIOp::create(b, loc, first, constI64(b, loc, extent - 1));

    // Registers by (row, repeat): a run of `run` registers along dim each.
    int64_t numRows = layout->numRegisters() / (repeats * run);
    SmallVector<Value> regs(layout->numRegisters()), excl(numRows * repeats);
    SmallVector<int64_t> rowOf(layout->numRegisters()), firstReg(numRows, -1);
    SmallVector<Value> warpTotal(numRows * repeats), runs(numRows * repeats);
    for (int64_t r = 0; r < layout->numRegisters(); ++r) {
      auto [k, e] = layout->along(r, dim);
      int64_t row = layout->sliceRegister(r, dim);
      rowOf[r] = row;
      if (firstReg[row] < 0)
        firstReg[row] = r;
      Value x = vector::ExtractOp::create(b, loc, adaptor.getSrc(), ArrayRef<int64_t>{r});
      // The run's own scan (its registers come in order, not always adjacent).
      Value &running = runs[row * repeats + k];
      regs[r] = running = e ? combineScan(b, loc, kind, running, x) : x;
      if (e != run - 1)
        continue;
      // Across lanes: inclusive scan of the threads' totals, then the previous lane's.
      Value incl = regs[r];
      int64_t stride = layout->laneStride(dim);
      for (int64_t step = 1; step < lanes; step *= 2) {
        Value up = shuffle(b, loc, incl, step * stride, gpu::ShuffleMode::UP);
        Value in = both(cmpI64(b, loc, arith::CmpIPredicate::uge, lane, step),
                        cmpI64(b, loc, arith::CmpIPredicate::uge, pos, step * run));
        incl = arith::SelectOp::create(b, loc, in, combineScan(b, loc, kind, incl, up), incl);
      }
      Value prev = identity;
      if (lanes > 1)
        prev = shuffle(b, loc, incl, stride, gpu::ShuffleMode::UP);
      Value in = both(cmpI64(b, loc, arith::CmpIPredicate::uge, lane, 1),
                      cmpI64(b, loc, arith::CmpIPredicate::uge, pos, run));
      excl[row * repeats + k] = arith::SelectOp::create(b, loc, in, prev, identity);
      warpTotal[row * repeats + k] = incl; // on the warp's last lane along dim
    }
    // Across warps and repeats, when a copy of the tile spans several warps.
    SmallVector<Value> carry(numRows * repeats, identity);
    if (repeats > 1 || (warps > 1 && extent > lanes * run))
      acrossWarps(b, loc, *layout, op, tid, warp, numRows, repeats, firstReg, warpTotal,
                  identity, carry);
    SmallVector<Value> out;
    for (int64_t r = 0; r < layout->numRegisters(); ++r) {
      int64_t slot = rowOf[r] * repeats + layout->along(r, dim).first;
      Value prefix = combineScan(b, loc, kind, carry[slot], excl[slot]);
      out.push_back(combineScan(b, loc, kind, prefix, regs[r]));
    }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(
        op, getTypeConverter()->convertType(type), out);
    return success();
  }

  /// The last lane along dim of each warp writes its (row, repeat)'s total to
  /// [row][repeat][warp]; each thread then combines those before it: the
  /// whole of earlier repeats, and earlier warps of its own copy of the tile.
  void acrossWarps(OpBuilder &b, Location loc, const ThreadLayout &layout, ScanOp op, Value tid,
                   Value warp, int64_t numRows, int64_t repeats, ArrayRef<int64_t> firstReg,
                   ArrayRef<Value> warpTotal, Value identity, SmallVector<Value> &carry) const {
    unsigned dim = op.getDim();
    ScanKind kind = op.getKind();
    int64_t lanes = layout.lanes(dim), warps = layout.warps(dim);
    int64_t warpSpan = lanes * layout.sizePerThreadAlong(dim), extent = layout.extent(dim);
    SmallVector<int64_t> rowShape(op.getType().getShape());
    rowShape.erase(rowShape.begin() + dim);
    // Slots are named by the row's index in the whole tile (other threads hold
    // other rows), so there is one per row of the tile, not per row a thread holds.
    int64_t tileRows = 1;
    for (int64_t extentOfDim : rowShape)
      tileRows *= extentOfDim;
    WarpExchange exchange = warpExchange(b, loc, state, identity.getType(),
                                         tileRows * repeats * warps, false);
    auto slot = [&](int64_t row, int64_t k, Value w) -> Value {
      SmallVector<Value> coords = layout.coords(b, loc, tid, firstReg[row]);
      coords.erase(coords.begin() + dim);
      Value linear = rowShape.empty() ? constI64(b, loc, 0) : rowMajorIndex(b, loc, coords, rowShape);
      linear = arith::MulIOp::create(b, loc, linear, constI64(b, loc, repeats * warps));
      return arith::AddIOp::create(
          b, loc, linear,
          arith::AddIOp::create(b, loc, constI64(b, loc, k * warps), w));
    };
    Value lastLane = cmpI64(b, loc, arith::CmpIPredicate::eq,
                            layout.laneCoord(b, loc, tid, dim), lanes - 1);
    gpu::BarrierOp::create(b, loc); // earlier users of the scratch are done
    for (int64_t row = 0; row < numRows; ++row)
      for (int64_t k = 0; k < repeats; ++k) {
        Value at = slot(row, k, warp);
        Value total = warpTotal[row * repeats + k];
        guarded(b, loc, lastLane, [&](OpBuilder &t, Location l) {
          exchange.store(t, l, {total, Value()}, at);
        });
      }
    gpu::BarrierOp::create(b, loc);
    // Warp w' comes before this one in its copy of the tile when w' < w and
    // (w - w') * warpSpan <= where this warp starts in the copy.
    Value warpStart = arith::AndIOp::create(
        b, loc, arith::MulIOp::create(b, loc, warp, constI64(b, loc, warpSpan)),
        constI64(b, loc, extent - 1));
    for (int64_t row = 0; row < numRows; ++row) {
      Value earlierRepeats = identity;
      for (int64_t k = 0; k < repeats; ++k) {
        Value earlierWarps = identity, all = identity;
        for (int64_t w = 0; w < warps; ++w) {
          Value total = exchange.load(b, loc, slot(row, k, constI64(b, loc, w)), false).value;
          all = combineScan(b, loc, kind, all, total);
          Value distance = arith::MulIOp::create(
              b, loc, arith::SubIOp::create(b, loc, warp, constI64(b, loc, w)),
              constI64(b, loc, warpSpan));
          Value in = arith::AndIOp::create(
              b, loc, cmpI64(b, loc, arith::CmpIPredicate::ugt, warp, w),
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, distance, warpStart));
          earlierWarps = arith::SelectOp::create(
              b, loc, in, combineScan(b, loc, kind, earlierWarps, total), earlierWarps);
        }
        carry[row * repeats + k] = combineScan(b, loc, kind, earlierRepeats, earlierWarps);
        earlierRepeats = combineScan(b, loc, kind, earlierRepeats, all);
      }
    }
  }
};
} // namespace

void tile::populateReductionPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                                     LoweringState &state) {
  patterns.add<ReduceLowering, ScanLowering>(converter, patterns.getContext(), state);
}
