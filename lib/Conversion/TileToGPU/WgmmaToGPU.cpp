// mma as WGMMA: operands in swizzled shared memory (or A in registers),
// matrix descriptors, fences, commit and wait groups, as inline PTX so that
// their order is exactly the one chosen here (Triton and ThunderKittens do
// the same).
#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"

using namespace mlir;
using namespace mlir::tile;

namespace {

/// WGMMA shared-memory matrix descriptors (128-byte swizzle) of a tile at
/// `address` and of places `offset` bytes into it. The start address field
/// holds bits 4..17 of the shared address; shared memory ends below 2^18
/// bytes, so an offset adds to the field without carrying out of it: one
/// 32-bit add on the low word, the high word a constant (rather than the
/// mask, shift and or for every k-step, which LLVM cannot fold through the
/// add).
struct Descriptor {
  Value low; // start address field | leading byte offset << 16
  int64_t high;

  Descriptor(OpBuilder &b, Location loc, Value address, int64_t leadingBytes,
             int64_t strideBytes) {
    Value field = arith::ShRUIOp::create(
        b, loc, arith::AndIOp::create(b, loc, address, constI32(b, loc, 0x3FFFF)),
        constI32(b, loc, 4));
    low = arith::OrIOp::create(b, loc, field, constI32(b, loc, (leadingBytes >> 4) << 16));
    high = (strideBytes >> 4) | (int64_t(1) << 30);
  }

  Value at(OpBuilder &b, Location loc, int64_t offset) const {
    Value lo = offset ? arith::AddIOp::create(b, loc, low, constI32(b, loc, offset >> 4)).getResult()
                      : low;
    Value wide = arith::ExtUIOp::create(b, loc, b.getI64Type(), lo);
    return arith::OrIOp::create(b, loc, wide, constI64(b, loc, high << 32));
  }
};

std::string operandList(int64_t first, int64_t count) {
  std::string s;
  for (int64_t i = 0; i < count; ++i)
    s += (i ? ", $" : "$") + std::to_string(first + i);
  return s;
}

/// Inline PTX whose `count` f32 outputs are tied to the first `count` inputs
/// (so that the accumulator stays in the same registers through WGMMA).
SmallVector<Value> tiedAsm(OpBuilder &b, Location loc, ArrayRef<Value> acc, ValueRange before,
                           StringRef beforeConstraints, ValueRange after,
                           StringRef afterConstraints, StringRef ptx, bool tied = true) {
  int64_t n = acc.size();
  std::string constraints;
  for (int64_t i = 0; i < n; ++i)
    constraints += "=f,";
  constraints += beforeConstraints.str();
  for (int64_t i = 0; tied && i < n; ++i)
    constraints += (beforeConstraints.empty() && i == 0 ? "" : ",") + std::to_string(i);
  if (!afterConstraints.empty())
    constraints += "," + afterConstraints.str();
  SmallVector<Value> operands(before.begin(), before.end());
  if (tied)
    operands.append(acc.begin(), acc.end());
  operands.append(after.begin(), after.end());
  auto structType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(n, b.getF32Type()));
  Value result = inlinePtx(b, loc, structType, operands, ptx, constraints);
  SmallVector<Value> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, loc, result, ArrayRef<int64_t>{i}));
  return out;
}

/// mma with both operands in 128B-swizzled shared memory: A K-major (M x K)
/// or M-major (K x M, transpose_a),
/// B K-major (N x K, transpose_b) or N-major (K x N). For every 64-row slab
/// of the accumulator this warpgroup owns and every k16 step, one
/// wgmma.mma_async m64nNk16; then one commit and a wait for completion.
struct MmaLowering : public OpConversionPattern<MmaOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MmaOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto aType = dyn_cast<SharedType>(op.getA().getType());
    auto aRegs = dyn_cast<RankedTensorType>(op.getA().getType()); // A from registers
    auto bType = dyn_cast<SharedType>(op.getB().getType());
    auto accType = op.getAcc().getType();
    auto layout = dyn_cast_or_null<WgmmaLayoutAttr>(accType.getEncoding());
    if (aRegs && aRegs.getEncoding() != accType.getEncoding())
      aRegs = nullptr; // tile-assign-layouts gives a register A the accumulator's layout
    if ((!aType && !aRegs) || !bType)
      return op.emitError("mma lowers from shared memory (B, and A unless it is in registers in "
                          "the accumulator's layout): operands must come from tile.load in a "
                          "loop (tile-pipeline stages them) or shared tiles");
    bool mMajorA = op.getTransposeA(); // A given as K x M, in shared memory
    if (mMajorA && !aType)
      return op.emitError("mma with transpose_a lowers with A in shared memory only");
    if (!layout)
      return rewriter.notifyMatchFailure(op, "needs a #tile.wgmma accumulator");
    auto swizzleOf = [](SharedType t) { return t.getSwizzle() ? t.getSwizzle().getBytes() : 0u; };
    Type elt = aType ? aType.getElementType() : aRegs.getElementType();
    bool kMajorB = op.getTransposeB();
    int64_t M = accType.getDimSize(0), N = accType.getDimSize(1);
    int64_t K = aType ? aType.getShape()[mMajorA ? 0 : 1] : aRegs.getDimSize(1);
    // fp8 WGMMA takes k32 steps of K-major operands only (no transpose bits).
    bool fp8 = isa<Float8E4M3FNType, Float8E5M2Type>(elt);
    if (fp8 && (!aType || mMajorA || !kMajorB))
      return op.emitError("fp8 mma lowers with both operands K-major in shared memory: A as "
                          "M x K and B as N x K (transpose_b=True)");
    // B's shared rows (N-major: N elements, K-major: K) are read in 128-byte
    // swizzled spans: say which dimension to change, at the kernel's line.
    int64_t perSpan = 1024 / elt.getIntOrFloatBitWidth();
    if (swizzleOf(bType) != 128 || (!kMajorB && N % perSpan)) {
      if (kMajorB)
        return op.emitError() << "mma's b (N x K, transpose_b=True) is read from shared memory in "
                                 "rows of 128 bytes: K must be a multiple of "
                              << perSpan << ", got " << K;
      return op.emitError() << "mma's b (K x N) is read from shared memory in rows of 128 bytes: "
                               "N must be a multiple of "
                            << perSpan << ", got " << N << " (or give b as N x K with "
                            << "transpose_b=True, K a multiple of " << perSpan << ")";
    }
    if (!(elt.isBF16() || elt.isF16() || fp8))
      return op.emitError() << "mma's a and b are bf16, f16 or fp8, got " << elt;
    if (aType && swizzleOf(aType) != 128)
      return op.emitError() << "mma's a (" << (mMajorA ? "K x M, transpose_a=True" : "M x K")
                            << ") is read from shared memory in rows of 128 bytes: "
                            << (mMajorA ? "M" : "K") << " must be a multiple of " << perSpan
                            << ", got " << (mMajorA ? M : K);
    if (N > 256)
      return op.emitError() << "an mma's N is at most 256 (one WGMMA), got " << N;
    if ((!kMajorB && N % 64) || (mMajorA && M % 64))
      return op.emitError() << "mma with " << (mMajorA ? "transpose_a needs M" : "b as K x N needs N")
                            << " a multiple of 64, got " << (mMajorA ? M : N);
    Location loc = op.getLoc();
    int64_t warpgroups = layout.getWarpgroups();
    int64_t slabs = M / (64 * warpgroups), perSlab = N / 2;
    Value aBase = aType ? sharedAddress(rewriter, loc, adaptor.getA()) : Value();
    Value bBase = sharedAddress(rewriter, loc, adaptor.getB());
    Value warpgroup = arith::TruncIOp::create(
        rewriter, loc, rewriter.getI32Type(),
        arith::DivUIOp::create(rewriter, loc, threadId(rewriter, loc), constI64(rewriter, loc, 128)));
    // Registers of the accumulator, per slab.
    SmallVector<Value> acc;
    for (int64_t r = 0; r < slabs * perSlab; ++r)
      acc.push_back(vector::ExtractOp::create(rewriter, loc, adaptor.getAcc(), ArrayRef<int64_t>{r}));
    // A register A fragment for k-step k of slab s: the accumulator-layout
    // registers of columns 16k..16k+15, as four pairs (row r / r + 8 of the
    // 8-column groups 2k and 2k + 1), each pair one 32-bit register.
    auto aFragment = [&](int64_t s, int64_t k) {
      SmallVector<Value> regs;
      int64_t base = s * (K / 2);
      for (int64_t group : {2 * k, 2 * k + 1})
        for (int64_t half : {0, 1})
          regs.push_back(extractWord(rewriter, loc, adaptor.getA(), base + group * 4 + half * 2));
      return regs; // (r, k0-7), (r+8, k0-7), (r, k8-15), (r+8, k8-15): WGMMA's A order
    };

    const int64_t rowBytes = 128, kStepBytes = 32, kStepsPerBox = rowBytes / kStepBytes;
    std::string type = elt.isBF16()                  ? "bf16"
                       : elt.isF16()                 ? "f16"
                       : isa<Float8E4M3FNType>(elt) ? "e4m3"
                                                     : "e5m2";
    // Operands: perSlab tied outputs, then A (a descriptor, or 4 registers),
    // the B descriptor, the tied inputs, and scale-d.
    int64_t aOperands = aType ? 1 : 4;
    std::string aText = aType ? "$" + std::to_string(perSlab)
                              : "{" + operandList(perSlab, 4) + "}";
    // A zero accumulator (a fresh S = Q·Kᵀ) is not read: the first k-step
    // of each slab scales it by 0 and takes no input registers, so that no
    // instruction writes zeros into them (issued while other mmas are in
    // flight, such writes make ptxas serialize every wgmma: C7513).
    auto zero = op.getAcc().getDefiningOp<arith::ConstantOp>();
    auto splat = zero ? dyn_cast<SplatElementsAttr>(zero.getValue()) : SplatElementsAttr();
    bool freshAcc = splat && splat.getSplatValue<APFloat>().isPosZero();
    auto wgmmaPtx = [&](bool tied) {
      return "{ .reg .pred p; setp.ne.b32 p, $" +
             std::to_string(perSlab + aOperands + 1 + (tied ? perSlab : 0)) +
             ", 0; wgmma.mma_async.sync.aligned.m64n" + std::to_string(N) +
                      (fp8 ? "k32" : "k16") + ".f32." + type + "." + type + " {" +
                      operandList(0, perSlab) + "}, " + aText + ", $" +
                      std::to_string(perSlab + aOperands) + ", p, 1, 1" +
                      (fp8 ? std::string()
                           : std::string(", ") + (aType ? (mMajorA ? "1, " : "0, ") : "") +
                                 (kMajorB ? "0" : "1")) +
             "; }";
    };
    inlinePtx(rewriter, loc, Type(), {}, "wgmma.fence.sync.aligned;", "");
    // A k-step is 32 bytes of K: 16 bf16/f16 or 32 fp8 elements.
    int64_t kPerStep = kStepBytes / (elt.getIntOrFloatBitWidth() / 8);
    // Descriptors of B and of each slab of A, offset per k-step.
    int64_t bLeading = kMajorB ? 16 : K * rowBytes; // N-major: one 64-column box to the next
    Descriptor bBaseDesc(rewriter, loc, bBase, bLeading, 1024);
    SmallVector<Descriptor> aSlabDescs;
    for (int64_t s = 0; aType && s < slabs; ++s) {
      // Rows of slab s of this warpgroup start at (s * W + g) * 64; M-major
      // (K x M): slab q is the q-th 64-column box (K rows of 128 bytes).
      Value slab = arith::AddIOp::create(rewriter, loc, constI32(rewriter, loc, s * warpgroups),
                                         warpgroup);
      Value start = arith::MulIOp::create(
          rewriter, loc, slab, constI32(rewriter, loc, (mMajorA ? K : 64) * rowBytes));
      aSlabDescs.emplace_back(rewriter, loc, arith::AddIOp::create(rewriter, loc, aBase, start),
                              mMajorA ? K * rowBytes : 16, 1024);
    }
    for (int64_t k = 0; k < K / kPerStep; ++k) {
      int64_t box = k / kStepsPerBox, inBox = (k % kStepsPerBox) * kStepBytes;
      Value bDesc = bBaseDesc.at(rewriter, loc,
                                 kMajorB ? box * N * rowBytes + inBox : k * 16 * rowBytes);
      for (int64_t s = 0; s < slabs; ++s) {
        SmallVector<Value> aOperandValues;
        std::string aConstraints;
        if (aType) { // M-major: k-step k starts 16 rows down, like an N-major B
          aOperandValues.push_back(aSlabDescs[s].at(
              rewriter, loc, mMajorA ? k * 16 * rowBytes : box * M * rowBytes + inBox));
          aConstraints = "l,";
        } else {
          aOperandValues = aFragment(s, k);
          aConstraints = "r,r,r,r,";
        }
        aOperandValues.push_back(bDesc);
        ArrayRef<Value> slabAcc = ArrayRef<Value>(acc).slice(s * perSlab, perSlab);
        bool tied = !(freshAcc && k == 0);
        SmallVector<Value> out =
            tiedAsm(rewriter, loc, slabAcc, aOperandValues, aConstraints + "l",
                    ValueRange{constI32(rewriter, loc, tied ? 1 : 0)}, "r", wgmmaPtx(tied), tied);
        std::copy(out.begin(), out.end(), acc.begin() + s * perSlab);
      }
    }
    inlinePtx(rewriter, loc, Type(), {}, "wgmma.commit_group.sync.aligned;", "");
    if (op.getPending() == 0)
      acc = tiedAsm(rewriter, loc, acc, ValueRange{}, "", ValueRange{}, "",
                    "wgmma.wait_group.sync.aligned 0;");
    else if (op.getPending() == 1) // the previous group (and the stage it read) is done
      inlinePtx(rewriter, loc, Type(), {}, "wgmma.wait_group.sync.aligned 1;", "");
    Type regs = getTypeConverter()->convertType(op.getType());
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(op, regs, acc);
    return success();
  }
};
/// The accumulator passes through the wait, so nothing reads it earlier.
struct MmaWaitLowering : public OpConversionPattern<MmaWaitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MmaWaitOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto regs = cast<VectorType>(adaptor.getAcc().getType());
    SmallVector<Value> acc;
    for (int64_t r = 0; r < regs.getNumElements(); ++r)
      acc.push_back(vector::ExtractOp::create(rewriter, loc, adaptor.getAcc(), ArrayRef<int64_t>{r}));
    acc = tiedAsm(rewriter, loc, acc, ValueRange{}, "", ValueRange{}, "",
                  "wgmma.wait_group.sync.aligned " + std::to_string(op.getPending()) + ";");
    // An mma reading A from registers reads them until it completes: they
    // are used (by an empty asm) after the wait, so that LLVM does not give
    // their registers to a value written while the mma runs (P(j) beside the
    // P(j-1) that P·V(j-1) reads; ptxas would serialize every wgmma, C7513).
    if (auto mma = op.getAcc().getDefiningOp<MmaOp>(); mma && isa<RankedTensorType>(mma.getA().getType())) {
      Value a = rewriter.getRemappedValue(mma.getA());
      auto aRegs = dyn_cast_or_null<VectorType>(a ? a.getType() : Type());
      if (aRegs && aRegs.getElementTypeBitWidth() == 16 && aRegs.getNumElements() % 2 == 0) {
        SmallVector<Value> pairs;
        std::string constraints;
        for (int64_t r = 0; r < aRegs.getNumElements(); r += 2) {
          pairs.push_back(extractWord(rewriter, loc, a, r));
          constraints += (r ? ",r" : "r");
        }
        inlinePtx(rewriter, loc, Type(), pairs, "// the wgmma's A registers stay live to here",
                  constraints);
      }
    }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(op, regs, acc);
    return success();
  }
};
} // namespace

void tile::populateWgmmaPatterns(TileTypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<MmaLowering, MmaWaitLowering>(converter, patterns.getContext());
}
