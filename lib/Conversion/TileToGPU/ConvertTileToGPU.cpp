// convert-tile-to-gpu: tile kernels (func.func + tile ops on laid-out tiles)
// become gpu.func kernels whose bodies are per-thread code. A register tile
// becomes the vector of the elements one thread holds, in the order of
// ThreadLayout; elementwise arith/math ops keep their name and take vectors.
// The patterns live beside this file: MemoryOpsToGPU.cpp (global memory),
// MathToGPU.cpp (elementwise arith/math), TileOpsToGPU.cpp (everything else).
#include "Conversion/TileToGPU/Patterns.h"
#include "Conversion/TileToGPU/ThreadLayout.h"

#include "Analysis/SharedMemory.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"

namespace mlir::tile {
#define GEN_PASS_DEF_CONVERTTILETOGPU
#include "dialect/TilePasses.h.inc"
} // namespace mlir::tile

using namespace mlir;
using namespace mlir::tile;

static constexpr llvm::StringLiteral kScratchName = "__tile_shared_scratch";

Type tile::registerType(Type element) {
  if (isa<Float8E4M3FNType, Float8E5M2Type>(element))
    return IntegerType::get(element.getContext(), 8);
  return element;
}

TileTypeConverter::TileTypeConverter(MLIRContext *ctx) {
  addConversion([](Type t) { return t; });
  addConversion([](FloatType t) { return registerType(t); });
  addConversion([ctx](PtrType) -> Type {
    return LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/1);
  });
  addConversion([ctx](ViewType view) -> Type {
    SmallVector<Type> fields{LLVM::LLVMPointerType::get(ctx, 1)};
    fields.append(2 * view.getRank(), IntegerType::get(ctx, 32));
    return LLVM::LLVMStructType::getLiteral(ctx, fields);
  });
  addConversion([ctx](SharedType) -> Type { return LLVM::LLVMPointerType::get(ctx, 3); });
  addConversion([ctx](MBarrierType) -> Type { return LLVM::LLVMPointerType::get(ctx, 3); });
  addConversion([](RankedTensorType t) -> std::optional<Type> {
    int64_t regs = registersPerThread(t);
    if (regs < 0)
      return std::nullopt; // a tile without a lowerable layout
    return VectorType::get({regs}, registerType(t.getElementType()));
  });
}

Value tile::threadId(OpBuilder &b, Location loc) {
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), tid);
}

/// Runs `body` on the threads whose index is below `count` (a whole number
/// of warps keeps every warp converged).
static void onThreadsBelow(OpBuilder &b, Location loc, int64_t count,
                           function_ref<void(OpBuilder &, Location)> body) {
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, threadId(b, loc),
                                      constI64(b, loc, count));
  scf::IfOp::create(b, loc, first, [&](OpBuilder &t, Location l) {
    body(t, l);
    scf::YieldOp::create(t, l);
  });
}

void tile::onThreadZero(OpBuilder &b, Location loc,
                        function_ref<void(OpBuilder &, Location)> body) {
  onThreadsBelow(b, loc, 1, body);
}

void tile::spinWhile(OpBuilder &b, Location loc,
                     function_ref<Value(OpBuilder &, Location)> waiting) {
  scf::WhileOp::create(
      b, loc, TypeRange{}, ValueRange{},
      [&](OpBuilder &w, Location l, ValueRange) {
        scf::ConditionOp::create(w, l, waiting(w, l), ValueRange{});
      },
      [&](OpBuilder &w, Location l, ValueRange) { scf::YieldOp::create(w, l); });
}

/// Prefix of the symbols device failures add to the module (their message
/// strings and the __assertfail declaration), moved into the GPU module with
/// the kernels.
static constexpr llvm::StringLiteral kDeviceFailurePrefix = "__tile_fail";
static constexpr llvm::StringLiteral kAssertFail = "__assertfail";

/// A constant NUL-terminated string global of `module`; its address.
static Value stringAddress(OpBuilder &b, Location loc, ModuleOp module, StringRef text) {
  std::string name;
  for (unsigned i = 0;; ++i) {
    name = (kDeviceFailurePrefix + "_str" + Twine(i)).str();
    if (!module.lookupSymbol(name))
      break;
  }
  std::string bytes = text.str();
  bytes.push_back('\0');
  auto type = LLVM::LLVMArrayType::get(b.getI8Type(), bytes.size());
  OpBuilder top(module.getBodyRegion());
  LLVM::GlobalOp::create(top, loc, type, /*isConstant=*/true, LLVM::Linkage::Internal, name,
                         b.getStringAttr(bytes));
  return LLVM::AddressOfOp::create(b, loc, LLVM::LLVMPointerType::get(b.getContext()), name);
}

void tile::failOnDevice(OpBuilder &b, Operation *at, StringRef message,
                        const LoweringState &state) {
  Location loc = at->getLoc();
  if (!state.debug) {
    inlinePtx(b, loc, Type(), {}, "trap;", "");
    return;
  }
  auto module = at->getParentOfType<ModuleOp>();
  MLIRContext *ctx = b.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  if (!module.lookupSymbol(kAssertFail)) {
    OpBuilder top(module.getBodyRegion());
    auto type = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(ctx), {ptr, ptr, b.getI32Type(), ptr, b.getI64Type()});
    LLVM::LLVMFuncOp::create(top, loc, kAssertFail, type);
  }
  StringRef file = "<unknown>";
  unsigned line = 0;
  loc->walk([&](Location inner) {
    if (auto flc = dyn_cast<FileLineColLoc>(inner)) {
      file = flc.getFilename().getValue();
      line = flc.getLine();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  auto kernel = at->getParentOfType<func::FuncOp>();
  Value args[] = {stringAddress(b, loc, module, message), stringAddress(b, loc, module, file),
                  constI32(b, loc, line),
                  stringAddress(b, loc, module, kernel ? kernel.getName() : "kernel"),
                  constI64(b, loc, 1)};
  LLVM::CallOp::create(b, loc, TypeRange{}, kAssertFail, args);
}

void tile::onWarpZero(OpBuilder &b, Location loc,
                      function_ref<void(OpBuilder &, Location)> body) {
  onThreadsBelow(b, loc, 32, body);
}

Value tile::constI64(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
}

Value tile::constI32(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
}

Value tile::sharedAddress(OpBuilder &b, Location loc, Value ptr) {
  return LLVM::PtrToIntOp::create(b, loc, b.getI32Type(), ptr);
}

Value tile::rowMajorIndex(OpBuilder &b, Location loc, ArrayRef<Value> coords,
                          ArrayRef<int64_t> shape) {
  Value linear = constI64(b, loc, 0);
  for (auto [c, extent] : llvm::zip(coords, shape))
    linear = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, linear, constI64(b, loc, extent)), c);
  return linear;
}

Value tile::extractRun(OpBuilder &b, Location loc, Value regs, int64_t first, int64_t width) {
  if (width == 1)
    return vector::ExtractOp::create(b, loc, regs, ArrayRef<int64_t>{first});
  return vector::ExtractStridedSliceOp::create(b, loc, regs, ArrayRef<int64_t>{first},
                                               ArrayRef<int64_t>{width}, ArrayRef<int64_t>{1});
}

Type tile::runType(Type elt, int64_t width) {
  return width == 1 ? elt : VectorType::get({width}, elt);
}

Value tile::registersByRuns(OpBuilder &b, Location loc, Type elt, int64_t count,
                            int64_t width, function_ref<Value(int64_t reg)> run) {
  Value regs = arith::ConstantOp::create(b, loc, b.getZeroAttr(VectorType::get({count}, elt)));
  for (int64_t reg = 0; reg < count; reg += width)
    regs = insertRun(b, loc, run(reg), regs, reg);
  return regs;
}

Value tile::extractWord(OpBuilder &b, Location loc, Value regs, int64_t first) {
  return LLVM::BitcastOp::create(b, loc, b.getI32Type(), extractRun(b, loc, regs, first, 2));
}

Value tile::insertRun(OpBuilder &b, Location loc, Value run, Value regs, int64_t first) {
  if (!isa<VectorType>(run.getType()))
    return vector::InsertOp::create(b, loc, run, regs, ArrayRef<int64_t>{first});
  return vector::InsertStridedSliceOp::create(b, loc, run, regs, ArrayRef<int64_t>{first},
                                              ArrayRef<int64_t>{1});
}

Value tile::sharedBase(OpBuilder &b, Location loc) {
  return LLVM::AddressOfOp::create(b, loc, LLVM::LLVMPointerType::get(b.getContext(), 3),
                                   kScratchName);
}

Value tile::sharedScratch(OpBuilder &b, Location loc, const LoweringState &state) {
  Value base = sharedBase(b, loc);
  if (state.allocatedBytes == 0)
    return base;
  return LLVM::GEPOp::create(b, loc, base.getType(), b.getI8Type(), base,
                             ArrayRef<LLVM::GEPArg>{state.allocatedBytes});
}

void tile::clusterBarrier(OpBuilder &b, Location loc, bool release) {
  inlinePtx(b, loc, Type(), {},
            std::string("barrier.cluster.arrive.") + (release ? "release" : "relaxed") +
                ";\n\tbarrier.cluster.wait.acquire;",
            "");
}

Value tile::andOf(OpBuilder &b, Location loc, Value x, Value y) {
  if (!x)
    return y;
  if (!y)
    return x;
  return arith::AndIOp::create(b, loc, x, y);
}

void tile::guarded(OpBuilder &b, Location loc, Value pred,
                   function_ref<void(OpBuilder &, Location)> body) {
  if (!pred)
    return body(b, loc);
  scf::IfOp::create(b, loc, pred, [&](OpBuilder &t, Location l) {
    body(t, l);
    scf::YieldOp::create(t, l);
  });
}

Value tile::loadWhere(OpBuilder &b, Location loc, Value pred,
                      function_ref<Value(OpBuilder &, Location)> load, Value otherwise) {
  if (!pred)
    return load(b, loc);
  return scf::IfOp::create(
             b, loc, pred,
             [&](OpBuilder &t, Location l) { scf::YieldOp::create(t, l, load(t, l)); },
             [&](OpBuilder &t, Location l) { scf::YieldOp::create(t, l, otherwise); })
      .getResult(0);
}

Value tile::inlinePtx(OpBuilder &b, Location loc, Type result, ValueRange operands,
                      StringRef ptx, StringRef constraints) {
  auto op = LLVM::InlineAsmOp::create(b, loc, result, operands, ptx, constraints,
                                      /*has_side_effects=*/true, /*is_align_stack=*/false,
                                      LLVM::tailcallkind::TailCallKind::None,
                                      LLVM::AsmDialectAttr(), ArrayAttr());
  return result ? op.getResult(0) : Value();
}

void tile::planSharedMemory(Operation *root, LoweringState &state) {
  SharedMemoryPlan plan = computeSharedMemoryPlan(root);
  if (plan.offsets.empty())
    return;
  // A second kernel of the module goes after the first one's tiles.
  int64_t base = llvm::alignTo(state.allocatedBytes, 1024);
  for (auto [op, offset] : plan.offsets)
    state.sharedOffsets[op] = base + offset;
  state.allocatedBytes = llvm::alignTo(base + plan.bytes, 16);
}

/// Declares the kernel's dynamic shared memory (`extern .shared` in PTX) when
/// some op will exchange data between threads through it.
static void declareSharedScratch(ModuleOp module, ArrayRef<func::FuncOp> kernels) {
  bool needed = llvm::any_of(kernels, [](func::FuncOp k) {
    return k.walk([](Operation *op) {
              return op->hasTrait<UsesSharedMemory>() ? WalkResult::interrupt()
                                                      : WalkResult::advance();
            }).wasInterrupted();
  });
  if (!needed || module.lookupSymbol(kScratchName))
    return;
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToStart(module.getBody());
  LLVM::GlobalOp::create(b, module.getLoc(), LLVM::LLVMArrayType::get(b.getI8Type(), 0),
                         /*isConstant=*/false, LLVM::Linkage::External, kScratchName,
                         Attribute(), /*alignment=*/1024, /*addrSpace=*/3);
}

int64_t tile::consumerThreads(Operation *kernel) {
  return 32 * numWarps(kernel);
}

namespace {

/// The kernel's threads: its warps, and a producer warpgroup if it has one.
int64_t blockThreads(func::FuncOp func) {
  bool specialized = !func.getOps<WarpSpecializeOp>().empty();
  return consumerThreads(func) + (specialized ? 128 : 0);
}

/// A CTA barrier (bar.sync 0) waits for every thread, the producer's
/// included; in the consumers' branch it becomes named barrier 1 over the
/// consumer threads.
void useConsumerBarriers(gpu::GPUFuncOp kernel, int64_t consumers) {
  kernel.walk([&](scf::IfOp branch) {
    if (!branch->hasAttr(kConsumerBranchAttr))
      return;
    branch->removeAttr(kConsumerBranchAttr);
    branch.getElseRegion().walk([&](gpu::BarrierOp barrier) {
      OpBuilder b(barrier);
      inlinePtx(b, barrier.getLoc(), Type(), {},
                "bar.sync 1, " + std::to_string(consumers) + ";", "");
      barrier.erase();
    });
  });
}

/// Moves a converted kernel func.func into `gpuModule` as a gpu.func kernel.
void moveKernelToGPU(func::FuncOp func, int64_t threads, gpu::GPUModuleOp gpuModule) {
  OpBuilder b(gpuModule.getBody(), gpuModule.getBody()->end());
  auto kernel = gpu::GPUFuncOp::create(b, func.getLoc(), func.getName(),
                                       func.getFunctionType());
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  kernel.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
  kernel->setAttr(kNumWarpsAttr, b.getI32IntegerAttr(consumerThreads(func) / 32));
  // setmaxnreg needs the registers a thread holds at entry fixed (.maxnreg):
  // otherwise ptxas may allocate fewer (124 for attention with 64-key
  // blocks) and then ignores every setmaxnreg (C7508).
  if (threads > consumerThreads(func))
    kernel->setAttr(NVVM::NVVMDialect::getMaxnregAttrName(),
                    b.getI32IntegerAttr(65536 / threads / 8 * 8));
  if (ArrayAttr argAttrs = func.getAllArgAttrs())
    kernel.setAllArgAttrs(argAttrs);
  // Tensor maps travel by value in the parameter space (__grid_constant__).
  for (unsigned i = 0; i < kernel.getNumArguments(); ++i) {
    if (!kernel.getArgAttr(i, kTensorMapArgAttr))
      continue;
    kernel.setArgAttr(i, "llvm.byval", TypeAttr::get(LLVM::LLVMArrayType::get(b.getI8Type(), 128)));
    kernel.setArgAttr(i, "llvm.align", b.getI64IntegerAttr(64));

  }
  Region &body = kernel.getBody();
  body.getBlocks().clear();
  body.takeBody(func.getBody());
  // Programs of a cluster (tile.num_ctas) start together (.reqnctapercluster)
  // and end together: none leaves while another may still copy into its
  // shared memory or arrive on its barriers.
  int64_t programs = numCtas(func);
  if (programs > 1)
    kernel->setAttr(NVVM::NVVMDialect::getClusterDimAttrName(),
                    b.getDenseI32ArrayAttr({int32_t(programs), 1, 1}));
  body.walk([&](func::ReturnOp ret) {
    OpBuilder rb(ret);
    if (programs > 1)
      clusterBarrier(rb, ret.getLoc(), /*release=*/true);
    gpu::ReturnOp::create(rb, ret.getLoc());
    ret.erase();
  });
  func.erase();
  useConsumerBarriers(kernel, consumerThreads(kernel));
}

/// Every tile value must have a layout the lowering maps onto threads (the
/// patterns cast its converted type to a register vector): one that does
/// not is an error at the op that makes it, not an assertion later.
static LogicalResult verifyLaidOut(func::FuncOp kernel) {
  auto laidOut = [](Type t) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    return !tensor || registersPerThread(tensor) >= 0;
  };
  WalkResult walk = kernel.walk([&](Operation *op) {
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          if (!laidOut(arg.getType())) {
            op->emitError() << "convert-tile-to-gpu: " << arg.getType()
                            << " has no thread layout (tile-assign-layouts gives one)";
            return WalkResult::interrupt();
          }
    for (Type t : op->getResultTypes())
      if (!laidOut(t)) {
        op->emitError() << "convert-tile-to-gpu: " << t
                        << " has no thread layout (tile-assign-layouts gives one)";
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

struct ConvertTileToGPU
    : public tile::impl::ConvertTileToGPUBase<ConvertTileToGPU> {
  using ConvertTileToGPUBase::ConvertTileToGPUBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<func::FuncOp> kernels;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(kKernelAttr))
        kernels.push_back(func);
    if (kernels.empty())
      return;
    for (func::FuncOp kernel : kernels)
      if (failed(verifyLaidOut(kernel)))
        return signalPassFailure();

    TileTypeConverter converter(ctx);
    ConversionTarget target(*ctx);
    target.addIllegalDialect<TileDialect>();
    target.addLegalDialect<gpu::GPUDialect, LLVM::LLVMDialect, NVVM::NVVMDialect,
                           vector::VectorDialect>();
    target.addLegalOp<scf::YieldOp>();
    target.addDynamicallyLegalDialect<arith::ArithDialect, math::MathDialect>(
        [&](Operation *op) { return converter.isLegal(op) && !lowersOnItsOwn(op); });
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType());
    });
    target.addLegalOp<func::ReturnOp>();

    declareSharedScratch(module, kernels);
    LoweringState state;
    state.debug = debug;
    SmallVector<int64_t> threads;
    for (func::FuncOp kernel : kernels) {
      computeAccessWidths(kernel, state);
      computeIndexedAccessWidths(kernel, state);
      planSharedMemory(kernel, state);
      threads.push_back(blockThreads(kernel));
      for (auto ws : kernel.getOps<WarpSpecializeOp>())
        ws.getProducer().walk([&](Operation *op) { state.producerOps.insert(op); });
    }
    RewritePatternSet patterns(ctx);
    populateMemoryOpPatterns(converter, patterns, state);
    populateTileOpPatterns(converter, patterns, state);
    populateMathPatterns(converter, patterns);
    populateHopperOpPatterns(converter, patterns, state);
    populateWgmmaPatterns(converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, converter);
    scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns, target);

    FrozenRewritePatternSet frozen(std::move(patterns));
    for (func::FuncOp kernel : kernels)
      if (failed(applyPartialConversion(kernel, target, frozen)))
        return signalPassFailure();

    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
    // The launcher sizes dynamic shared memory from this.
    int64_t sharedBytes = state.allocatedBytes + state.scratchBytes;
    if (sharedBytes > kMaxSharedBytes) {
      kernels.front().emitError()
          << "the kernel needs " << sharedBytes << " bytes of shared memory ("
          << state.allocatedBytes << " for its shared tiles and barriers, " << state.scratchBytes
          << " to exchange tiles between threads), more than the " << kMaxSharedBytes
          << " a CTA has: use smaller tiles or fewer stages";
      return signalPassFailure();
    }
    module->setAttr(kSharedBytesAttr, IntegerAttr::get(IntegerType::get(ctx, 64), sharedBytes));
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = gpu::GPUModuleOp::create(b, module.getLoc(), "tile_kernels");
    // The scratch global moves into the GPU module with the kernels (or goes,
    // if every exchange stayed within warps).
    for (Operation &op : llvm::make_early_inc_range(*module.getBody())) {
      auto symbol = dyn_cast<SymbolOpInterface>(&op);
      if (symbol && (symbol.getName().starts_with(kDeviceFailurePrefix) ||
                     symbol.getName() == kAssertFail))
        op.moveBefore(gpuModule.getBody(), gpuModule.getBody()->begin());
    }
    if (auto scratch = module.lookupSymbol<LLVM::GlobalOp>(kScratchName)) {
      if (sharedBytes == 0)
        scratch.erase();
      else
        scratch->moveBefore(gpuModule.getBody(), gpuModule.getBody()->begin());
    }
    module->setAttr(kBlockThreadsAttr,
                    IntegerAttr::get(IntegerType::get(ctx, 64), *llvm::max_element(threads)));
    for (auto [kernel, n] : llvm::zip(kernels, threads))
      moveKernelToGPU(kernel, n, gpuModule);
  }
};
} // namespace
