// The named pipelines that the Python driver and tile-opt both run, so that
// every stage a user sees can be replayed with tile-opt.
#include "dialect/TilePasses.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::tile;

namespace {
struct TileToLLVMOptions : public PassPipelineOptions<TileToLLVMOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("GPU architecture"),
                           llvm::cl::init("sm_90a")};
  // PTX 8.1: the vector forms of red.global.add (IndexedOpsToGPU.cpp).
  Option<std::string> features{*this, "features", llvm::cl::desc("PTX features"),
                               llvm::cl::init("+ptx81")};
  Option<unsigned> optLevel{*this, "opt-level", llvm::cl::desc("NVPTX opt level"),
                            llvm::cl::init(3)};
  Option<unsigned> stages{*this, "stages", llvm::cl::desc("shared-memory pipeline stages"),
                          llvm::cl::init(3)};
  Option<unsigned> tileStages{*this, "tile-stages",
                              llvm::cl::desc("with warp-specialize: most stages of the ring "
                                             "of loads made once per outer iteration (Q)"),
                              llvm::cl::init(2)};
  Option<bool> tmaStore{*this, "tma-store",
                        llvm::cl::desc("epilogue stores through shared memory and TMA"),
                        llvm::cl::init(true)};
  Option<bool> warpSpecialize{*this, "warp-specialize",
                              llvm::cl::desc("a producer warpgroup issues the pipeline's copies"),
                              llvm::cl::init(false)};
  Option<bool> overlapMma{*this, "overlap-mma",
                          llvm::cl::desc("with warp-specialize: tile-overlap-mma"),
                          llvm::cl::init(true)};
  // Off by default: with the shorter softmax and Q in two
  // stages the turns cost more than they hide (docs/perf-notes.md).
  Option<bool> pingPong{*this, "ping-pong",
                        llvm::cl::desc("tile-overlap-mma's ping-pong of consumer warpgroups"),
                        llvm::cl::init(false)};
  Option<bool> debug{*this, "debug",
                     llvm::cl::desc("device failures print the kernel's line (__assertfail)"),
                     llvm::cl::init(false)};
  Option<bool> lookahead{*this, "lookahead",
                         llvm::cl::desc("tile-overlap-mma's look-ahead (the next Q·Kᵀ "
                                        "issued before this softmax)"),
                         llvm::cl::init(true)};
};

/// The passes, built from the options' values (no pipeline text to parse).
void buildTileToLLVM(OpPassManager &pm, const TileToLLVMOptions &options) {
  if (options.warpSpecialize) {
    pm.addPass(createTileWarpSpecialize({options.stages, options.tileStages}));
    if (options.overlapMma)
      pm.addPass(createTileOverlapMma({options.pingPong, options.lookahead}));
  }
  pm.addPass(createTilePipeline({options.stages}));
  pm.addPass(createTileStoreMmaOperands());
  if (options.tmaStore)
    pm.addPass(createTileTMAStore());
  pm.addPass(createTileSelectSwizzle());
  pm.addPass(createTileSynthesizeTMA());
  pm.addPass(createTileAssignLayouts());
  pm.addPass(createConvertTileToGPU({options.debug}));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createSCFToControlFlowPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  device.addPass(createConvertVectorToLLVMPass());
  device.addPass(createConvertGpuOpsToNVVMOps());
  device.addPass(createCanonicalizerPass());
  device.addPass(createCSEPass());
  pm.addPass(createTileTensorMapParams());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
} // namespace

void mlir::tile::registerTilePipelines() {
  // PassPipelineRegistration's builder cannot fail; this registration can.
  registerPassPipeline(
      "tile-to-llvm",
      "Lower tile kernels to the LLVM/NVVM dialects inside a gpu.module "
      "(then gpu-module-to-binary makes PTX)",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) -> LogicalResult {
        TileToLLVMOptions options;
        if (failed(options.parseFromString(text)))
          return errorHandler("tile-to-llvm: bad options '" + text + "'");
        buildTileToLLVM(pm, options);
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optHandler) {
        optHandler(TileToLLVMOptions());
      });
}

void mlir::tile::registerAllTilePasses() {
  static bool registered = [] {
    registerTilePasses();
    registerTilePipelines();
    return true;
  }();
  (void)registered;
}
