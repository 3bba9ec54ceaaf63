// The named pipelines that the Python driver and tile-opt both run, so that
// every stage a user sees can be replayed with tile-opt.
#include "dialect/TilePasses.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

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

LogicalResult buildTileToLLVM(OpPassManager &pm, const TileToLLVMOptions &options,
                              function_ref<LogicalResult(const Twine &)> errorHandler) {
  std::string pipeline =
      (options.warpSpecialize
           ? "tile-warp-specialize{stages=" + std::to_string(options.stages) +
                 " tile-stages=" + std::to_string(options.tileStages) + "}," +
                 (options.overlapMma ? std::string("tile-overlap-mma{ping-pong=") +
                                           (options.pingPong ? "true" : "false") +
                                           " lookahead=" +
                                           (options.lookahead ? "true" : "false") + "},"
                                     : std::string())
           : std::string()) +
      "tile-pipeline{stages=" + std::to_string(options.stages) + "},tile-store-mma-operands," +
      (options.tmaStore ? "tile-tma-store," : "") +
      "tile-select-swizzle,tile-synthesize-tma,"
      "tile-assign-layouts,convert-tile-to-gpu{debug=" + (options.debug ? "true" : "false") +
      "},canonicalize,cse,"
      "convert-scf-to-cf,"
      "nvvm-attach-target{chip=" + options.chip + " features=" + options.features +
      " O=" + std::to_string(options.optLevel) + "},"
      "gpu.module(convert-vector-to-llvm,convert-gpu-to-nvvm,canonicalize,cse),"
      "tile-tensormap-params,reconcile-unrealized-casts";
  // A pipeline that does not parse fails the whole pass manager: going on
  // with the passes that did parse would lower a kernel half-way.
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(pipeline, pm, os)))
    return errorHandler("tile-to-llvm: could not build pipeline " + pipeline + ": " + error);
  return success();
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
        return buildTileToLLVM(pm, options, errorHandler);
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
