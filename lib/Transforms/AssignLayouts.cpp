// tile-assign-layouts: every register tile of a kernel gets a thread layout.
// Tiles made from nothing (loads, constants, splats, iotas, broadcasts) get a
// #tile.blocked layout: threads take runs of up to 16 contiguous bytes along
// the innermost dimension (so global accesses can be 16 bytes wide), lanes
// fill the inner dimensions first, warps the outer ones. Layouts then flow:
// a reduction's result is the slice of its source's layout, elementwise ops
// take their first operand's layout (one that is not cheaper to make in
// another: fills, broadcasts, loads read once), loops and branches keep their operands'
// layouts; gathers, scatters and atomics take their offsets' layout (so do
// their masks, values and results); where a use needs another layout a
// tile.convert_layout is inserted.
#include "dialect/TilePasses.h"

#include "Conversion/TileToGPU/ThreadLayout.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::tile {
#define GEN_PASS_DEF_TILEASSIGNLAYOUTS
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;

namespace {

BlockedLayoutAttr chooseBlockedLayout(RankedTensorType type, int64_t numWarps) {
  int64_t rank = type.getRank();
  ArrayRef<int64_t> shape = type.getShape();
  unsigned bits = std::max(8u, type.getElementType().getIntOrFloatBitWidth());
  int64_t inner = shape[rank - 1];
  int64_t elementsPerThread = std::max<int64_t>(1, type.getNumElements() / (32 * numWarps));
  int64_t vec = std::min<int64_t>({std::max<int64_t>(1, 128 / bits), inner,
                                   elementsPerThread});
  SmallVector<int64_t> sizePerThread(rank, 1), threads(rank, 1), warps(rank, 1);
  sizePerThread[rank - 1] = vec;
  // Lanes: innermost dimension first, as far as it has room; the rest go to
  // the outermost dimension (wrapping there if the tile is too small).
  int64_t lanesLeft = 32;
  for (int64_t d = rank - 1; d >= 0 && lanesLeft > 1; --d) {
    int64_t room = std::max<int64_t>(1, shape[d] / sizePerThread[d]);
    int64_t t = std::min(room, lanesLeft);
    threads[d] = t;
    lanesLeft /= t;
  }
  threads[0] *= lanesLeft;
  int64_t warpsLeft = numWarps;
  for (int64_t d = 0; d < rank && warpsLeft > 1; ++d) {
    int64_t room = std::max<int64_t>(1, shape[d] / (sizePerThread[d] * threads[d]));
    int64_t w = std::min(room, warpsLeft);
    warps[d] = w;
    warpsLeft /= w;
  }
  warps[0] *= warpsLeft;
  return BlockedLayoutAttr::get(type.getContext(), sizePerThread, threads, warps);
}

/// The offsets tile of a gather, scatter or atomic; null for other ops.
Value indexOffsets(Operation *op) {
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case<GatherOp, ScatterOp, AtomicRMWOp, AtomicCASOp>([](auto o) { return o.getOffsets(); })
      .Default([](Operation *) { return Value(); });
}

RankedTensorType withEncoding(RankedTensorType t, Attribute encoding) {
  return RankedTensorType::get(t.getShape(), t.getElementType(), encoding);
}

bool needsLayout(Type t) {
  auto tensor = dyn_cast<RankedTensorType>(t);
  return tensor && !tensor.getEncoding() && tensor.hasStaticShape();
}

class LayoutAssigner {
public:
  explicit LayoutAssigner(int64_t numWarps) : numWarps(numWarps) {}

  void run(func::FuncOp func) {
    visitBlock(func.getBody().front());
    // Loop-carried values and branch results must arrive in the layout their
    // region's results (or a while loop's arguments) were given.
    func.walk([&](scf::YieldOp yield) {
      Operation *parent = yield->getParentOp();
      auto whileOp = dyn_cast<scf::WhileOp>(parent);
      for (auto [i, operand] : llvm::enumerate(yield.getOperands())) {
        Type want = whileOp ? whileOp.getBeforeArguments()[i].getType()
                            : parent->getResult(i).getType();
        convertOperand(yield, i, want);
      }
    });
  }

private:
  RankedTensorType defaultLayout(RankedTensorType t) {
    return withEncoding(t, chooseBlockedLayout(t, numWarps));
  }

  /// Makes operand `i` of `op` have type `want`, converting if needed (a
  /// splat constant is simply made again in the wanted layout).
  void convertOperand(Operation *op, unsigned i, Type want) {
    Value v = op->getOperand(i);
    if (v.getType() == want || !isa<RankedTensorType>(want))
      return;
    OpBuilder b(op);
    if (auto constant = v.getDefiningOp<arith::ConstantOp>())
      if (auto splat = dyn_cast<SplatElementsAttr>(constant.getValue())) {
        op->setOperand(i, arith::ConstantOp::create(
                              b, op->getLoc(), SplatElementsAttr::get(cast<ShapedType>(want),
                                                                      splat.getSplatValue<Attribute>())));
        return;
      }
    op->setOperand(i, ConvertLayoutOp::create(b, op->getLoc(), want, v));
  }

  void setResult(Value result, RankedTensorType type) {
    result.setType(type);
  }

  /// True when `v` can simply be made in another layout instead of converted:
  /// it comes from iota, splat, constants and elementwise ops on those, and
  /// nothing else uses it (as a mask of column indices does).
  static bool canRemake(Value v) {
    Operation *def = v.getDefiningOp();
    if (!def || !v.hasOneUse() || def->getNumResults() != 1)
      return false;
    if (isa<IotaOp, SplatOp>(def))
      return true;
    if (auto broadcast = dyn_cast<BroadcastOp>(def)) // a mask made of index vectors
      return canRemake(broadcast.getSrc());
    if (auto constant = dyn_cast<arith::ConstantOp>(def))
      return isa<SplatElementsAttr>(constant.getValue());
    if (!isa<arith::ArithDialect, math::MathDialect>(def->getDialect()) ||
        !def->hasTrait<OpTrait::Elementwise>())
      return false;
    return llvm::all_of(def->getOperands(), [](Value operand) {
      return !isa<RankedTensorType>(operand.getType()) || canRemake(operand);
    });
  }

  /// Whether `v` (for which canRemake holds) has a broadcast among what makes it.
  static bool madeWithBroadcast(Value v) {
    Operation *def = v.getDefiningOp();
    if (isa<BroadcastOp>(def))
      return true;
    return llvm::any_of(def->getOperands(), [](Value operand) {
      return isa<RankedTensorType>(operand.getType()) && madeWithBroadcast(operand);
    });
  }

  /// canRemake, in `encoding`: not a tile made with a broadcast into a slice
  /// layout (the broadcast's source would be a slice of a slice, which no thread
  /// layout maps: a 3-D mask wanted by a reduction's slice, say); that one is
  /// converted instead.
  static bool canRemakeIn(Value v, Attribute encoding) {
    return canRemake(v) && !(isa<SliceLayoutAttr>(encoding) && madeWithBroadcast(v));
  }

  /// A loop-carried value that starts as a fill and whose first reader is
  /// `user`: the loop can carry it in `user`'s layout instead (as attention's
  /// running row max and sum, carried in the layout of the rows they update).
  static scf::ForOp retypableIterArg(Value v, Operation *user) {
    auto arg = dyn_cast<BlockArgument>(v);
    auto loop = arg ? dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp()) : scf::ForOp();
    if (!loop || arg == loop.getInductionVar())
      return {};
    Value init = loop.getInitArgs()[arg.getArgNumber() - 1];
    if (!canRemake(init))
      return {};
    Operation *first = loop.getBody()->findAncestorOpInBlock(*user);
    for (Operation *other : arg.getUsers()) {
      Operation *at = loop.getBody()->findAncestorOpInBlock(*other);
      if (!first || !at || (at != first && at->isBeforeInBlock(first)))
        return {};
    }
    return loop;
  }

  /// A global load read by one op: each thread can load its elements of any
  /// layout directly (converting would go through shared memory), so it
  /// takes its reader's (a stream-K partial tile added to an accumulator).
  static bool isRelayoutableLoad(Value v) { return v.getDefiningOp<LoadOp>() && v.hasOneUse(); }

  /// Broadcasts, fills, index tiles, fill-initialized carried values and
  /// singly-read loads can be made in whatever layout their user wants.
  static bool isCheap(Value v, Operation *user) {
    return v.getDefiningOp<BroadcastOp>() || canRemake(v) || retypableIterArg(v, user) ||
           isRelayoutableLoad(v);
  }

  /// Makes `broadcast` produce `layout`, its source following as the slice.
  void relayout(BroadcastOp broadcast, Attribute layout) {
    broadcast.getResult().setType(withEncoding(broadcast.getType(), layout));
    auto want = SliceLayoutAttr::get(broadcast.getContext(), broadcast.getDim(), layout);
    Value src = broadcast.getSrc();
    if (auto convert = src.getDefiningOp<ConvertLayoutOp>(); convert && src.hasOneUse()) {
      src = convert.getSrc();
      broadcast.getSrcMutable().assign(src);
      convert.erase();
    }
    if (canRemakeIn(src, want))
      remake(src, want);
    else
      convertOperand(broadcast, 0, withEncoding(cast<RankedTensorType>(src.getType()), want));
  }

  /// Gives `v` (for which canRemake holds) and what it is made of `encoding`.
  static void remake(Value v, Attribute encoding) {
    auto type = cast<RankedTensorType>(v.getType());
    v.setType(withEncoding(type, encoding));
    Operation *def = v.getDefiningOp();
    if (auto broadcast = dyn_cast<BroadcastOp>(def)) {
      remake(broadcast.getSrc(),
             SliceLayoutAttr::get(v.getContext(), broadcast.getDim(), encoding));
      return;
    }
    if (auto constant = dyn_cast<arith::ConstantOp>(def)) {
      auto splat = cast<SplatElementsAttr>(constant.getValue());
      constant.setValueAttr(SplatElementsAttr::get(cast<ShapedType>(v.getType()),
                                                   splat.getSplatValue<Attribute>()));
      return;
    }
    for (Value operand : def->getOperands())
      if (isa<RankedTensorType>(operand.getType()))
        remake(operand, encoding);
  }

  /// The accumulator layout of WGMMA for a tile of this kernel.
  RankedTensorType wgmmaLayout(RankedTensorType t) {
    return withEncoding(t, WgmmaLayoutAttr::get(t.getContext(), std::max<int64_t>(1, numWarps / 4)));
  }

  static bool isMmaAccumulator(Value v) {
    return llvm::any_of(v.getUses(), [](OpOperand &use) {
      return isa<MmaOp>(use.getOwner()) && use.getOperandNumber() == 2;
    });
  }

  /// Gives every tile operand and result of `op` the layout `layout`: an
  /// operand that can be made in it is made so, others are converted.
  void giveLayout(Operation *op, Attribute layout) {
    for (unsigned i = 0; i < op->getNumOperands(); ++i)
      giveOperandLayout(op, i, layout);
    for (Value result : op->getResults())
      if (auto t = dyn_cast<RankedTensorType>(result.getType()))
        setResult(result, withEncoding(t, layout));
  }

  /// Operand i of `op` in `layout`: its producer remade or relaid where it can
  /// be, else a tile.convert_layout before `op`.
  void giveOperandLayout(Operation *op, unsigned i, Attribute layout) {
    Value operand = op->getOperand(i);
    auto t = dyn_cast<RankedTensorType>(operand.getType());
    if (!t || t.getEncoding() == layout)
      return;
    auto broadcast = operand.getDefiningOp<BroadcastOp>();
    // (Not into a slice layout: its source would be a slice of a slice.)
    if (broadcast && broadcast.getResult().hasOneUse() && !isa<SliceLayoutAttr>(layout))
      relayout(broadcast, layout);
    else if (isRelayoutableLoad(operand))
      setResult(operand, withEncoding(t, layout));
    else if (scf::ForOp loop = retypableIterArg(operand, op)) {
      auto arg = cast<BlockArgument>(operand);
      unsigned index = arg.getArgNumber() - 1;
      arg.setType(withEncoding(t, layout));
      loop.getResult(index).setType(arg.getType());
      remake(loop.getInitArgs()[index], layout);
    } else if (canRemakeIn(operand, layout))
      remake(operand, layout);
    else
      convertOperand(op, i, withEncoding(t, layout));
  }

  /// Visits ops in program order; a region's results are known once its
  /// body has been visited.
  void visitBlock(Block &block) {
    for (Operation &op : llvm::make_early_inc_range(block))
      visitOp(&op);
  }

  void visitOp(Operation *op) {
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      // Results take the layout of the `then` branch's yields.
      visitBlock(ifOp.getThenRegion().front());
      auto yield = cast<scf::YieldOp>(ifOp.getThenRegion().front().getTerminator());
      for (auto [result, value] : llvm::zip(ifOp.getResults(), yield.getOperands()))
        result.setType(value.getType());
      if (!ifOp.getElseRegion().empty())
        visitBlock(ifOp.getElseRegion().front());
      return;
    }
    if (auto whileOp = dyn_cast<scf::WhileOp>(op)) {
      // Carried values keep their initial layout; the `after` region and the
      // results take what the condition forwards.
      for (auto [init, arg] : llvm::zip(whileOp.getInits(), whileOp.getBeforeArguments()))
        arg.setType(init.getType());
      visitBlock(whileOp.getBefore().front());
      auto condition = whileOp.getConditionOp();
      for (auto [value, arg, result] : llvm::zip(condition.getArgs(), whileOp.getAfterArguments(),
                                                 whileOp.getResults())) {
        arg.setType(value.getType());
        result.setType(value.getType());
      }
      visitBlock(whileOp.getAfter().front());
      return;
    }
    visit(op);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        visitBlock(block);
  }

  void visit(Operation *op) {
    if (auto forOp = dyn_cast<scf::ForOp>(op)) {
      for (auto [i, init, arg, result] :
           llvm::enumerate(forOp.getInitArgs(), forOp.getRegionIterArgs(), forOp.getResults())) {
        Type type = init.getType();
        // A loop-carried accumulator (read by an mma, or yielded by one or by
        // the wait for one) lives
        // in the WGMMA layout throughout.
        Value yielded = forOp.getBody()->getTerminator()->getOperand(i);
        if (isMmaAccumulator(arg) || yielded.getDefiningOp<MmaOp>() ||
            yielded.getDefiningOp<MmaWaitOp>()) {
          type = wgmmaLayout(cast<RankedTensorType>(type));
          convertOperand(forOp, forOp.getNumControlOperands() + i, type);
        }
        arg.setType(type);
        result.setType(type);
      }
      return;
    }
    if (auto wait = dyn_cast<MmaWaitOp>(op)) {
      setResult(wait.getResult(), cast<RankedTensorType>(wait.getAcc().getType()));
      return;
    }
    if (auto mma = dyn_cast<MmaOp>(op)) {
      RankedTensorType type = wgmmaLayout(mma.getType());
      // A in registers is read in the accumulator's layout (WGMMA's A fragment).
      if (auto a = dyn_cast<RankedTensorType>(mma.getA().getType()))
        convertOperand(op, 0, withEncoding(a, type.getEncoding()));
      convertOperand(op, 2, type);
      setResult(mma.getResult(), type);
      return;
    }
    if (auto reduce = dyn_cast<ReduceOp>(op)) {
      auto src = cast<RankedTensorType>(reduce.getSrc().getType());
      // A 2-D slice of a 3-D tile (one batch, reshaped) reduced again would be a
      // slice of a slice, which no thread layout maps: reduce it blocked.
      if (src.getRank() > 1 && isa_and_nonnull<SliceLayoutAttr>(src.getEncoding())) {
        src = defaultLayout(src);
        convertOperand(op, 0, src);
      }
      auto slice = SliceLayoutAttr::get(op->getContext(), reduce.getDim(), src.getEncoding());
      if (auto result = dyn_cast<RankedTensorType>(reduce.getType())) // else a scalar
        setResult(reduce.getResult(), withEncoding(result, slice));
      return;
    }
    // A scan runs along a blocked layout's registers, lanes and warps; a
    // sort's values and indices come back in its source's blocked layout.
    if (isa<ScanOp, SortOp>(op)) {
      auto src = cast<RankedTensorType>(op->getOperand(0).getType());
      Attribute layout = src.getEncoding();
      if (!isa_and_nonnull<BlockedLayoutAttr>(layout))
        layout = defaultLayout(src).getEncoding();
      giveLayout(op, layout);
      return;
    }
    // A take reads its index in the result's (blocked) layout, register by
    // register; its source may be in any layout (it goes through shared memory).
    if (auto take = dyn_cast<TakeOp>(op)) {
      RankedTensorType index = take.getIndex().getType();
      Attribute layout = index.getEncoding();
      if (!isa_and_nonnull<BlockedLayoutAttr>(layout))
        layout = defaultLayout(index).getEncoding();
      if (!take.getSrc().getType().getEncoding())
        giveOperandLayout(op, 0, defaultLayout(take.getSrc().getType()).getEncoding());
      giveOperandLayout(op, 1, layout);
      setResult(take.getResult(), withEncoding(take.getType(), layout));
      return;
    }
    if (auto broadcast = dyn_cast<BroadcastOp>(op)) {
      RankedTensorType result = defaultLayout(broadcast.getType());
      setResult(broadcast.getResult(), result);
      auto want = withEncoding(broadcast.getSrc().getType(),
                               SliceLayoutAttr::get(op->getContext(), broadcast.getDim(),
                                                    result.getEncoding()));
      if (canRemakeIn(broadcast.getSrc(), want.getEncoding()))
        remake(broadcast.getSrc(), want.getEncoding());
      else
        convertOperand(op, 0, want);
      return;
    }
    bool elementwise = isa<arith::ArithDialect, math::MathDialect>(op->getDialect()) &&
                       op->hasTrait<OpTrait::Elementwise>();
    if (elementwise) {
      // The layout of the data, rather than of a broadcast or fill that can be
      // made in any layout.
      Attribute layout, fallback;
      for (Value operand : op->getOperands()) {
        auto t = dyn_cast<RankedTensorType>(operand.getType());
        if (!t || !t.getEncoding())
          continue;
        if (!fallback)
          fallback = t.getEncoding();
        if (!isCheap(operand, op)) {
          layout = t.getEncoding();
          break;
        }
      }
      if (!layout)
        layout = fallback;
      if (layout) {
        giveLayout(op, layout);
        return;
      }
    }
    // Gathers, scatters and atomics: each element goes with its offset, in
    // the thread that holds the offset.
    if (Value offsets = indexOffsets(op))
      if (Attribute layout = cast<RankedTensorType>(offsets.getType()).getEncoding()) {
        giveLayout(op, layout);
        return;
      }
    for (Value result : op->getResults())
      if (needsLayout(result.getType()))
        setResult(result, defaultLayout(cast<RankedTensorType>(result.getType())));
    // Constants carry their type in the value attribute too.
    if (auto constant = dyn_cast<arith::ConstantOp>(op))
      if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue()))
        if (dense.getType() != constant.getType())
          constant.setValueAttr(dense.reshape(cast<ShapedType>(constant.getType())));
  }

  int64_t numWarps;
};

/// Every register tile must map onto the kernel's threads and fit in a
/// thread's registers, or the lowering would fail (or take minutes to spill
/// it all): say so at the op that makes it, with the sizes.
LogicalResult verifyTilesFit(func::FuncOp func) {
  // A thread has at most 255 32-bit registers, and a block 64K: one tile may not
  // take them all (at 16 warps a thread has 128, and a 128-register accumulator
  // leaves the wgmma none). A warp-specialized kernel moves registers from its
  // producer to its consumers (setmaxnreg), so only the first bound applies there.
  bool specialized = !func.getOps<WarpSpecializeOp>().empty();
  int64_t threads = 32 * std::max<int64_t>(1, numWarps(func));
  const int64_t kMaxRegisters =
      specialized ? 255 : std::min<int64_t>(255, 65536 / threads - 1);
  auto check = [&](Operation *op) {
    for (Value result : op->getResults()) {
      auto type = dyn_cast<RankedTensorType>(result.getType());
      if (!type || !type.getEncoding())
        continue;
      int64_t elements = registersPerThread(type);
      if (elements < 0) {
        auto wgmma = dyn_cast<WgmmaLayoutAttr>(type.getEncoding());
        auto slice = dyn_cast<SliceLayoutAttr>(type.getEncoding());
        auto rowsOf = slice ? dyn_cast<WgmmaLayoutAttr>(slice.getParent()) : nullptr;
        InFlightDiagnostic error = op->emitError();
        if (wgmma && type.getRank() == 2)
          error << "an mma accumulator (WGMMA) needs a multiple of " << 64 * wgmma.getWarpgroups()
                << " rows (64 per warpgroup, num_warps=" << numWarps(func)
                << ") and of 8 columns, got " << type.getDimSize(0) << "x"
                << type.getDimSize(1);
        else if (rowsOf && type.getRank() == 1)  // a row max or sum of an accumulator
          error << "this " << type.getDimSize(0) << "-element " << (slice.getDim() ? "row" : "column")
                << " vector of an mma accumulator (WGMMA) does not fit num_warps="
                << numWarps(func) << ": the accumulator needs a multiple of "
                << 64 * rowsOf.getWarpgroups() << " rows (64 per warpgroup); use fewer warps "
                << "or more rows";
        else
          error << "no thread layout maps " << type << " onto the kernel's threads";
        return WalkResult::interrupt();
      }
      int64_t bits = std::max(8u, type.getElementTypeBitWidth());
      int64_t registers = llvm::divideCeil(elements * bits, 32);
      if (registers > kMaxRegisters) {
        std::string tile;
        llvm::raw_string_ostream os(tile);
        llvm::interleave(type.getShape(), os, "x");
        os << " " << type.getElementType();
        op->emitError() << "this " << tile << " tile needs "
                        << registers << " registers a thread with num_warps="
                        << numWarps(func) << ", more than the " << kMaxRegisters
                        << " a thread has: use a smaller tile"
                        << (threads < 512 ? " or more warps" : "");
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  };
  // The mmas first: an accumulator that does not fit is reported at its mma,
  // not at the loop that carries it or the zeros it starts from.
  if (func.walk([&](MmaOp op) { return check(op); }).wasInterrupted())
    return failure();
  return failure(func.walk(check).wasInterrupted());
}

struct TileAssignLayouts
    : public tile::impl::TileAssignLayoutsBase<TileAssignLayouts> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(kKernelAttr))
        continue;
      LayoutAssigner(numWarps(func)).run(func);
      if (failed(verifyTilesFit(func)))
        return signalPassFailure();
    }
  }
};
} // namespace
