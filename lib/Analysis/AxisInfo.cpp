// Contiguity, divisibility and constancy of integer tiles, dimension by
// dimension (the rules of Triton's AxisInfo, restated for tile IR). Every
// number is a power of two, so gcd is min. Scalars take their divisibility
// from Divisibility.h: the rules for scalars live there only.
#include "Analysis/AxisInfo.h"
#include "Analysis/Divisibility.h"

#include "dialect/TileDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::tile;

namespace {

int64_t gcd2(int64_t a, int64_t b) { return std::min(a, b); }

int64_t capped(int64_t v) { return std::min(v, kMaxDivisibility); }

int64_t powerOfTwoFactor(const APInt &v) {
  if (v.isZero())
    return kMaxDivisibility;
  return capped(int64_t(1) << std::min(v.countTrailingZeros(), 16u));
}

/// The value of a constant scalar or splat tile, if it is one.
std::optional<APInt> splatConstant(Value v) {
  APInt c;
  if (matchPattern(v, m_ConstantInt(&c)))
    return c;
  DenseIntElementsAttr dense;
  if (matchPattern(v, m_Constant(&dense)) && dense.isSplat())
    return dense.getSplatValue<APInt>();
  if (auto splat = v.getDefiningOp<SplatOp>())
    return splatConstant(splat.getValue());
  return std::nullopt;
}

/// The power of two `v` is, if it is a positive constant power of two.
std::optional<int64_t> constantPowerOfTwo(Value v) {
  std::optional<APInt> c = splatConstant(v);
  if (!c || c->isNegative() || !c->isPowerOf2() || c->getActiveBits() > 17)
    return std::nullopt;
  return c->getZExtValue();
}

bool isIntegerLike(Type t) {
  if (auto tensor = dyn_cast<RankedTensorType>(t))
    t = tensor.getElementType();
  return isa<IntegerType, IndexType>(t);
}

} // namespace

AxisInfo AxisInfo::unknown(unsigned rank) {
  unsigned n = std::max(rank, 1u);
  AxisInfo info;
  info.contiguity.assign(n, 1);
  info.divisibility.assign(n, 1);
  info.constancy.assign(n, 1);
  return info;
}

int64_t AxisInfo::divisibilityEvery(unsigned d, int64_t stride) const {
  // Positions that are multiples of the run length are run starts; others
  // sit k * stride past one.
  if (contiguity[d] == 1 || stride >= contiguity[d])
    return divisibility[d];
  return gcd2(divisibility[d], stride);
}

int64_t AxisInfo::divisibilityOfAll() const {
  int64_t all = 1;
  for (unsigned d = 0; d < rank(); ++d)
    all = std::max(all, divisibilityEvery(d, 1));
  return all;
}

const AxisInfo &AxisInfoAnalysis::get(Value value) {
  auto it = known.find(value);
  if (it != known.end())
    return it->second;
  AxisInfo info = compute(value);
  return known.try_emplace(value, std::move(info)).first->second;
}

AxisInfo AxisInfoAnalysis::compute(Value value) {
  auto tensor = dyn_cast<RankedTensorType>(value.getType());
  if (!tensor) { // a scalar: its divisibility only
    AxisInfo info = AxisInfo::unknown(0);
    if (isIntegerLike(value.getType()))
      info.divisibility[0] = getDivisibility(value);
    return info;
  }
  unsigned rank = tensor.getRank();
  ArrayRef<int64_t> shape = tensor.getShape();
  AxisInfo info = AxisInfo::unknown(rank);
  if (!isIntegerLike(tensor) || rank == 0)
    return info;
  auto constantAlong = [&](int64_t div) {
    for (unsigned d = 0; d < rank; ++d) {
      info.constancy[d] = shape[d];
      info.divisibility[d] = div;
    }
    return info;
  };
  if (std::optional<APInt> c = splatConstant(value))
    return constantAlong(powerOfTwoFactor(*c));
  Operation *op = value.getDefiningOp();
  if (!op)
    return info; // a loop's or a branch's argument
  if (isa<IotaOp>(op)) {
    info.contiguity[0] = shape[0];
    info.divisibility[0] = kMaxDivisibility;
    return info;
  }
  if (auto splat = dyn_cast<SplatOp>(op))
    return constantAlong(get(splat.getValue()).divisibility[0]);
  if (auto broadcast = dyn_cast<BroadcastOp>(op)) {
    const AxisInfo &src = get(broadcast.getSrc());
    unsigned dim = broadcast.getDim();
    for (unsigned d = 0, s = 0; d < rank; ++d) {
      if (d == dim) { // every element along the new dimension is the source's
        info.constancy[d] = shape[d];
        info.divisibility[d] = src.divisibilityOfAll();
        continue;
      }
      info.contiguity[d] = src.contiguity[s];
      info.divisibility[d] = src.divisibility[s];
      info.constancy[d] = src.constancy[s];
      ++s;
    }
    return info;
  }
  if (isa<ConvertLayoutOp, arith::ExtSIOp, arith::ExtUIOp, arith::TruncIOp, arith::IndexCastOp>(
          op)) {
    const AxisInfo &src = get(op->getOperand(0));
    if (src.rank() == rank)
      return src;
    return info;
  }
  if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    const AxisInfo l = get(cmp.getLhs()), r = get(cmp.getRhs());
    if (l.rank() != rank || r.rank() != rank)
      return info;
    using P = arith::CmpIPredicate;
    P p = cmp.getPredicate();
    // x < n flips between n - 1 and n: at a block boundary when n is a
    // multiple of the block and the run of x starts at one. n <= x flips there
    // too; x <= n and n < x flip between n and n + 1, inside a block.
    bool runLeft = p == P::slt || p == P::ult || p == P::sge || p == P::uge;
    bool runRight = p == P::sle || p == P::ule || p == P::sgt || p == P::ugt;
    for (unsigned d = 0; d < rank; ++d) {
      int64_t c = gcd2(l.constancy[d], r.constancy[d]);
      const AxisInfo *run = runLeft ? &l : runRight ? &r : nullptr;
      const AxisInfo *bound = runLeft ? &r : &l;
      if (run && run->contiguity[d] > 1) {
        int64_t block = gcd2(gcd2(run->contiguity[d], run->divisibility[d]),
                             gcd2(bound->divisibilityEvery(d, 1), bound->constancy[d]));
        c = std::max(c, block);
      }
      info.constancy[d] = c;
    }
    return info;
  }
  if (op->getNumOperands() == 2 && isa<arith::ArithDialect>(op->getDialect())) {
    const AxisInfo l = get(op->getOperand(0)), r = get(op->getOperand(1));
    if (l.rank() != rank || r.rank() != rank)
      return info;
    for (unsigned d = 0; d < rank; ++d)
      info.constancy[d] = gcd2(l.constancy[d], r.constancy[d]);
    if (isa<arith::AddIOp, arith::SubIOp>(op)) {
      bool add = isa<arith::AddIOp>(op);
      for (unsigned d = 0; d < rank; ++d) {
        // A run of one side plus (minus) what is constant over it on the other.
        int64_t c = gcd2(l.contiguity[d], r.constancy[d]);
        if (add)
          c = std::max(c, gcd2(l.constancy[d], r.contiguity[d]));
        info.contiguity[d] = c;
        info.divisibility[d] = gcd2(l.divisibilityEvery(d, c), r.divisibilityEvery(d, c));
      }
      return info;
    }
    if (isa<arith::MulIOp>(op)) {
      for (unsigned d = 0; d < rank; ++d)
        info.divisibility[d] = capped(l.divisibilityEvery(d, 1) * r.divisibilityEvery(d, 1));
      return info;
    }
    if (isa<arith::ShLIOp>(op)) {
      std::optional<APInt> shift = splatConstant(op->getOperand(1));
      if (shift && shift->getZExtValue() < 16)
        for (unsigned d = 0; d < rank; ++d)
          info.divisibility[d] = capped(l.divisibilityEvery(d, 1) << shift->getZExtValue());
      return info;
    }
    if (isa<arith::DivSIOp, arith::DivUIOp>(op)) {
      std::optional<int64_t> by = constantPowerOfTwo(op->getOperand(1));
      if (!by)
        return info;
      if (*by == 1)
        return l;
      for (unsigned d = 0; d < rank; ++d) {
        // An aligned block of `by` values of a run (or the run, if shorter)
        // that starts at a multiple of `by` has one quotient.
        int64_t c = l.constancy[d];
        if (l.contiguity[d] > 1 && l.divisibility[d] >= *by)
          c = std::max(c, gcd2(l.contiguity[d], *by));
        info.constancy[d] = c;
        int64_t every = l.divisibilityEvery(d, 1);
        info.divisibility[d] = every >= *by ? every / *by : 1;
      }
      return info;
    }
    return info; // and, or, rem, min, max, compares of integers: constancy only
  }
  if (auto select = dyn_cast<arith::SelectOp>(op)) {
    const AxisInfo a = get(select.getTrueValue()), b = get(select.getFalseValue());
    if (a.rank() != rank || b.rank() != rank)
      return info;
    std::optional<AxisInfo> cond;
    if (isa<RankedTensorType>(select.getCondition().getType()))
      cond = get(select.getCondition());
    for (unsigned d = 0; d < rank; ++d) {
      int64_t same = cond ? cond->constancy[d] : shape[d]; // the condition's runs
      int64_t c = gcd2(gcd2(a.contiguity[d], b.contiguity[d]), same);
      info.contiguity[d] = c;
      info.constancy[d] = gcd2(gcd2(a.constancy[d], b.constancy[d]), same);
      info.divisibility[d] = gcd2(a.divisibilityEvery(d, c), b.divisibilityEvery(d, c));
    }
    return info;
  }
  return info;
}

namespace {

std::string list(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (auto [i, v] : llvm::enumerate(values))
    s += (i ? ", " : "") + std::to_string(v);
  return s + "]";
}

/// tile-test-print-axis-info: a remark on every op with the AxisInfo of each
/// of its integer results, for the lit test of the rules.
struct TestPrintAxisInfo : public PassWrapper<TestPrintAxisInfo, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestPrintAxisInfo)
  StringRef getArgument() const final { return "tile-test-print-axis-info"; }
  StringRef getDescription() const final {
    return "print the contiguity, divisibility and constancy of integer values (a test pass)";
  }
  void runOnOperation() override {
    AxisInfoAnalysis analysis;
    getOperation().walk([&](Operation *op) {
      for (Value result : op->getResults()) {
        if (!isIntegerLike(result.getType()))
          continue;
        const AxisInfo &info = analysis.get(result);
        op->emitRemark() << "contiguity = " << list(info.contiguity)
                         << ", divisibility = " << list(info.divisibility)
                         << ", constancy = " << list(info.constancy);
      }
    });
  }
};

} // namespace

void tile::registerTestAxisInfoPass() { PassRegistration<TestPrintAxisInfo>(); }
