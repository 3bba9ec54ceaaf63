// Pieces shared by the patterns of convert-tile-to-gpu.
#ifndef TILE_CONVERSION_TILETOGPU_PATTERNS_H
#define TILE_CONVERSION_TILETOGPU_PATTERNS_H

#include "dialect/TilePasses.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::tile {

/// Facts gathered before the conversion starts, while the tile IR still holds
/// them, and what the patterns report back.
struct LoweringState {
  /// Elements per global access of each load/store (from divisibility facts).
  llvm::DenseMap<Operation *, int64_t> accessWidths;
  /// Bytes of the dynamic shared-memory scratch the kernel needs.
  int64_t scratchBytes = 0;
  /// Offsets of shared tiles and barriers in dynamic shared memory, and the
  /// bytes they take (the scratch starts after them).
  llvm::DenseMap<Operation *, int64_t> sharedOffsets;
  int64_t allocatedBytes = 0;
  /// Ops of a warp_specialize's producer region: one thread runs them.
  llvm::DenseSet<Operation *> producerOps;
  /// Device failures report the kernel's line (a call to __assertfail);
  /// otherwise they trap, which keeps the kernel free of calls.
  bool debug = false;
};

/// Marks the scf.if a warp_specialize lowers to; CTA barriers in its
/// consumer (else) branch become named barriers of the consumers only.
constexpr llvm::StringLiteral kConsumerBranchAttr = "tile.consumer_branch";
/// Named barriers: 0 is the CTA's, 1 the consumers' (above); consumer
/// warpgroup w waits for its turn (tile.turn_wait) on kTurnBarrier + w.
constexpr int64_t kTurnBarrier = 2;
/// Threads running the kernel's own code (its `tile.num_warps` warps).
int64_t consumerThreads(Operation *kernel);

/// `!tile.ptr` -> `!llvm.ptr<1>`; `!tile.view<T, r>` -> a struct of the
/// pointer, r i32 sizes and r i32 strides; a laid-out tile -> the vector of
/// the registers one thread holds.
class TileTypeConverter : public TypeConverter {
public:
  explicit TileTypeConverter(MLIRContext *ctx);
};

/// The type registers hold for tile elements of type `element`: fp8 as its
/// i8 bits (LLVM has no fp8 type; conversions to and from fp8 use PTX's cvt),
/// every other type as itself.
Type registerType(Type element);

/// A conversion pattern that reads or records LoweringState.
template <typename OpTy>
struct StatefulPattern : public OpConversionPattern<OpTy> {
  StatefulPattern(const TypeConverter &converter, MLIRContext *ctx, LoweringState &state)
      : OpConversionPattern<OpTy>(converter, ctx), state(state) {}
  LoweringState &state;
};

/// Row-major linear index (i64) of `coords` in a tile of `shape`.
Value rowMajorIndex(OpBuilder &b, Location loc, ArrayRef<Value> coords,
                    ArrayRef<int64_t> shape);

/// Registers first .. first+width-1 of a thread's register vector, as a
/// scalar (width 1) or a vector; and the inverse, writing such a run back.
Value extractRun(OpBuilder &b, Location loc, Value regs, int64_t first, int64_t width);
Value insertRun(OpBuilder &b, Location loc, Value run, Value regs, int64_t first);
/// The type of such a run of `width` registers of type `elt`.
Type runType(Type elt, int64_t width);
/// A thread's `count` registers of type `elt`, built run by run: `run(reg)`
/// gives registers reg .. reg + width - 1.
Value registersByRuns(OpBuilder &b, Location loc, Type elt, int64_t count, int64_t width,
                      function_ref<Value(int64_t reg)> run);

/// Registers first and first+1 of a vector of 16-bit registers as one 32-bit
/// word (how PTX takes packed bf16/f16 pairs: stmatrix, WGMMA's A fragment).
Value extractWord(OpBuilder &b, Location loc, Value regs, int64_t first);

/// The thread's index in the CTA, as i64.
Value threadId(OpBuilder &b, Location loc);
/// `x` and `y`, two i1 conditions either of which may be null (no condition).
Value andOf(OpBuilder &b, Location loc, Value x, Value y);
/// Runs `body` where `pred` holds (always when `pred` is null).
void guarded(OpBuilder &b, Location loc, Value pred,
             function_ref<void(OpBuilder &, Location)> body);
/// `load`'s value where `pred` holds, else `otherwise`, without running `load`
/// there (an scf.if); `load` alone when `pred` is null.
Value loadWhere(OpBuilder &b, Location loc, Value pred,
                function_ref<Value(OpBuilder &, Location)> load, Value otherwise);
/// Runs `body` on thread 0 of the CTA only.
void onThreadZero(OpBuilder &b, Location loc, function_ref<void(OpBuilder &, Location)> body);
/// A loop that runs `waiting` (it builds an i1 each time round: true to go on)
/// until it is false: a spin on a barrier or a flag.
void spinWhile(OpBuilder &b, Location loc, function_ref<Value(OpBuilder &, Location)> waiting);
/// Stops the kernel. With `state.debug` as CUDA's `assert` does
/// (`__assertfail`: the driver prints "file:line: kernel: block [..], thread
/// [..] Assertion `message` failed." and the launch ends with
/// CUDA_ERROR_ASSERT), with the file and line of op `at` (the kernel's source
/// line), which is being lowered; else with a `trap` (the launch ends with
/// CUDA_ERROR_LAUNCH_FAILED): a call in a kernel makes ptxas serialize its
/// wgmmas (C7510).
void failOnDevice(OpBuilder &b, Operation *at, StringRef message, const LoweringState &state);
/// Runs `body` on the CTA's first warp: a wait that one thread would spin in
/// leaves its warp diverged at the barrier after it, which `bar.sync` (each
/// warp arrives as a whole) does not allow.
void onWarpZero(OpBuilder &b, Location loc, function_ref<void(OpBuilder &, Location)> body);
Value constI64(OpBuilder &b, Location loc, int64_t v);
Value constI32(OpBuilder &b, Location loc, int64_t v);
/// The 32-bit shared-window address of a shared pointer.
Value sharedAddress(OpBuilder &b, Location loc, Value ptr);
/// Base address (`!llvm.ptr<3>`) of the kernel's dynamic shared memory.
Value sharedBase(OpBuilder &b, Location loc);
/// Address of the scratch area that ops reuse to exchange data between threads.
Value sharedScratch(OpBuilder &b, Location loc, const LoweringState &state);
/// Inline PTX (side-effecting): `results` may be null for none.
/// The cluster barrier (all threads of all programs of the cluster); the
/// arrival releases this thread's memory operations to the cluster (a
/// MEMBAR.ALL.GPU in SASS) or, `release` false, orders nothing. Not
/// `.aligned`: a warp may reach it diverged (the producer's one thread comes
/// last; LLVM may also duplicate it into both sides of a branch).
void clusterBarrier(OpBuilder &b, Location loc, bool release);
Value inlinePtx(OpBuilder &b, Location loc, Type result, ValueRange operands, StringRef ptx,
                StringRef constraints);

/// Places shared tiles and barriers of `root` in dynamic shared memory (tiles
/// whose lifetimes do not overlap may share bytes: Analysis/SharedMemory.h).
void planSharedMemory(Operation *root, LoweringState &state);

/// Elements per access for every tile.load/tile.store under `root`.
void computeAccessWidths(Operation *root, LoweringState &state);
/// Elements per access for every gather, scatter and atomic under `root`
/// (IndexedOpsToGPU.cpp: what AxisInfo proves of offsets and masks).
void computeIndexedAccessWidths(Operation *root, LoweringState &state);

void populateMemoryOpPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                              LoweringState &state);
/// Elementwise arith/math (MathToGPU.cpp). `lowersOnItsOwn`: ops that lower
/// there on scalars too (the conversion target makes them illegal), not as
/// upstream's patterns and libdevice would.
void populateMathPatterns(TileTypeConverter &converter, RewritePatternSet &patterns);
bool lowersOnItsOwn(Operation *op);
/// Gathers, scatters and atomics (IndexedOpsToGPU.cpp); part of the memory ops.
void populateIndexedOpPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                               LoweringState &state);
void populateTileOpPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                            LoweringState &state);
/// tile.reduce and tile.scan (ReduceToGPU.cpp); part of the tile ops.
void populateReductionPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                               LoweringState &state);
/// tile.sort and tile.take (SortToGPU.cpp).
void populateSortPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                          LoweringState &state);
/// tile.print and tile.assert (DebugOpsToGPU.cpp): nothing without `state.debug`.
void populateDebugPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                           LoweringState &state);
void populateWgmmaPatterns(TileTypeConverter &converter, RewritePatternSet &patterns);
void populateHopperOpPatterns(TileTypeConverter &converter, RewritePatternSet &patterns,
                              LoweringState &state);

} // namespace mlir::tile

#endif
