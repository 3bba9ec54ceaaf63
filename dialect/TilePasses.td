#ifndef TILE_PASSES_TD
#define TILE_PASSES_TD

include "mlir/Pass/PassBase.td"

def TileAssignLayouts : Pass<"tile-assign-layouts", "ModuleOp"> {
  let summary = "give every register tile of a kernel a thread layout";
  let description = [{
    Rewrites each ranked tensor type without an encoding inside a `tile.kernel`
    function to carry a `#tile.blocked` layout chosen from its shape, element
    type and the kernel's `tile.num_warps`: each thread holds runs of up to 16
    contiguous bytes, so that global accesses can be 16 bytes wide. An mma's
    accumulator takes the WGMMA layout; elementwise ops take their data's
    layout, and what is cheaper to make in any layout (fills, broadcasts, a
    global load read by that op alone) is made in it rather than converted.
  }];
  let dependentDialects = ["::mlir::tile::TileDialect"];
}

def TilePipeline : Pass<"tile-pipeline", "ModuleOp"> {
  let summary = "stage the loads that feed mma through shared memory, S iterations ahead";
  let description = [{
    In an `scf.for`, each `tile.load` from a view (defined outside the loop)
    whose every use is an operand of a `tile.mma` becomes an asynchronous copy
    (`tile.async_load`, a TMA copy once lowered) into one of `stages` shared
    buffers, read by all of its mmas: the loop waits on stage i % S's barrier
    (phase (i / S) % 2), multiplies from shared memory, and then, after the
    last mma that reads a stage, issues the copies of iteration i + S - 1 into
    the stage that iteration i - 1 used. A prologue issues
    the first S - 1 iterations' copies. One barrier a stage; each copy is
    one arrival. With `stages` = 1 nothing is copied ahead: the tiles go
    through registers into one shared buffer each, as where TMA cannot copy.
  }];
  let options = [Option<"stages", "stages", "unsigned", "3", "shared buffers per operand">];
  let dependentDialects = ["::mlir::tile::TileDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def TileStoreMmaOperands : Pass<"tile-store-mma-operands", "ModuleOp"> {
  let summary = "write mma operands computed in registers to shared memory for WGMMA";
  let description = [{
    After tile-pipeline: a `tile.mma` operand still in registers that WGMMA
    cannot read from registers (B always; A given K x M or in fp8) is written
    with `tile.store_shared` between two `tile.barrier`s (no warpgroup's mma
    still reads the tile; every warp's part is written before any mma reads
    it) and the mma reads the shared tile. An operand computed in the body of
    the `scf.for` holding the mma (a weight dequantized each iteration) goes
    through two stages written in turn, so that the mma may stay in flight
    (`pending = 1`, a `tile.mma_wait` after the loop) while the next
    iteration computes and writes the other stage, where its other operand is
    a shared tile not rewritten in the loop and the kernel is not
    warp-specialized. An operand computed outside that loop is written once,
    before it.
  }];
  let dependentDialects = ["::mlir::tile::TileDialect", "::mlir::arith::ArithDialect"];
}

def TileWarpSpecialize : Pass<"tile-warp-specialize", "ModuleOp"> {
  let summary = "a producer warpgroup issues the pipelined copies; the kernel's warps consume";
  let description = [{
    Splits a kernel into a `tile.warp_specialize` when its loops with loads
    to stage (those tile-pipeline would stage) can all be fed by TMA and are
    either all at the top of the body, or all inside one outer `scf.for` (a
    persistent kernel's loop over output tiles) staging the same tiles. The
    producer, one thread of an extra warpgroup, runs a copy loop nest
    mirroring the consumers' (bounds and offsets are scalar arithmetic,
    recomputed): wait until the stage is empty, then copy into it. The
    consumers wait until a stage is full, multiply, and release the stage
    with `tile.arrive` once the mma that read it completed (the previous
    iteration's when the mma is left in flight). The loads one mma reads
    share a ring of stages (a `full` barrier, one arrival per copy, and an
    `empty` one, one arrival per consumer warpgroup, per stage); sequential
    loops staging the same tiles share the rings and count on. In a
    persistent kernel both sides count stage iterations on a counter the
    outer loop carries (the inner loops' trip counts may vary by tile), so
    the producer fills the next output tile's stages while the consumers
    store the last one; an mma operand loaded once per outer iteration (Q)
    is copied by the producer into a ring of `tile-stages` stages as the
    outer iteration starts and released after the loop that reads it: with
    two, the next tile's copy is in flight during this one; one stage when
    two would not fit in shared memory beside the kernel's other tiles and
    its epilogue tiles (the stored tiles, whole). Kernels that do not
    qualify are left to tile-pipeline.
  }];
  let options = [Option<"stages", "stages", "unsigned", "3", "shared buffers per operand">,
                 Option<"tileStages", "tile-stages", "unsigned", "2",
                        "most stages of the ring of loads made once per outer iteration">];
  let dependentDialects = ["::mlir::tile::TileDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def TileOverlapMma : Pass<"tile-overlap-mma", "ModuleOp"> {
  let summary = "issue a consumer loop's second mma an iteration late, behind the next first one";
  let description = [{
    After tile-warp-specialize: in a consumer loop with two mmas that both
    wait for completion, the second accumulating into a loop-carried tile
    (attention's O += P·V after S = Q·Kᵀ and the softmax), the second mma and
    what only it reads of the accumulator (the rescale) move to the next
    iteration: there Q·Kᵀ(j) is issued, then P·V(j-1) behind it, then a wait
    that leaves P·V in flight (`tile.mma_wait {pending = 1}`) while softmax(j)
    runs, then the wait for P·V, which releases its stage. What P·V reads
    from the iteration (P, the rescale factor, the stage index) is carried.
    A prologue runs iteration 0 without it and an epilogue the last P·V,
    both only when the loop runs at all (FlashAttention-3's intra-warpgroup
    overlap).

    With `ping-pong` and two or more consumer warpgroups, the warpgroups take
    turns (`tile.turn_wait` / `tile.turn_pass`) at issuing Q·Kᵀ(j) and
    P·V(j-1), so that one warpgroup's mmas run while the other's softmax
    does (FlashAttention-3's inter-warpgroup ping-pong).

    With `lookahead` (and no turns), where K's ring has three or more stages,
    no other loop reads it, and S twice, O and P fit in 192 registers a
    thread: Q·Kᵀ(j+1) is issued before softmax(j) too. Under `scf.if` two or
    more iterations, Q·Kᵀ(1) is issued before the loop; iteration j waits for
    Q·Kᵀ(j), issues P·V(j-1) and Q·Kᵀ(j+1), runs the softmax, and waits for
    P·V(j-1) leaving Q·Kᵀ(j+1) in flight; two iterations a trip (the S in
    flight alternates between two values, so none is copied), an odd one and
    the last after the loop.
  }];
  let options = [
    Option<"pingPong", "ping-pong", "bool", /*default=*/"true",
           "let consumer warpgroups take turns at issuing their mmas">,
    Option<"lookahead", "lookahead", "bool", /*default=*/"true",
           "issue the next iteration's first mma before this one's softmax "
           "(without ping-pong, where the tiles fit in registers)">
  ];
  let dependentDialects = ["::mlir::tile::TileDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def TileTMAStore : Pass<"tile-tma-store", "ModuleOp"> {
  let summary = "store 2-D tiles to global memory through shared memory and TMA";
  let description = [{
    A `tile.store` of a 2-D register tile (8 to 256 rows of 16 bytes to 256
    elements) to a view TMA can address (16-byte aligned base and
    outer strides, unit inner stride: the rule of tile-pipeline's copies)
    becomes: a CTA barrier (nothing reads or writes the shared memory the
    tile may reuse), `tile.store_shared` into a new shared tile (its swizzle
    is tile-select-swizzle's), a CTA barrier (every thread's part is written
    and fenced), `tile.async_store` (one thread, one TMA store a box), and a
    `tile.async_store_wait` before the kernel returns, so the tile stays
    allocated until TMA has read it. Inside a loop a wait comes first too,
    before the tile is written again. A store in a branch of an `scf.if` has
    its tiles made in that branch (and always waits first), so that the
    other branch's store may reuse their bytes. Elements outside the view are not
    written (the TMA rule). A store that would take the kernel's shared tiles
    and barriers past 227 KiB (tiles share bytes when their lifetimes do not
    overlap, as the epilogue's and the main loop's stages) stays a plain
    store. With `explain`, each 2-D view store gets a remark: rewritten, or why
    not.
  }];
  let options = [Option<"explain", "explain", "bool", "false",
                        "remark on each 2-D view store: rewritten, or why not">];
  let dependentDialects = ["::mlir::tile::TileDialect"];
}

def TileSelectSwizzle : Pass<"tile-select-swizzle", "ModuleOp"> {
  let summary = "choose each shared tile's swizzle from its row bytes";
  let description = [{
    A shared tile whose swizzle is not yet chosen gets the widest swizzle
    span (128, 64 or 32 bytes) that divides the bytes of its innermost
    dimension, or none (0) when rows are narrower than 32 bytes. Rows of
    128 bytes (64 bf16) get 128B: 8 rows of 16-byte chunks, XOR-permuted, so
    the 8 lanes that read one 16-byte column hit 8 different bank groups; it
    is also what TMA writes and WGMMA reads for K-major 64-wide bf16 tiles.
    Wider rows are split into 128-byte TMA boxes and keep 128B.
  }];
  let dependentDialects = ["::mlir::tile::TileDialect"];
}

def TileSynthesizeTMA : Pass<"tile-synthesize-tma", "ModuleOp"> {
  let summary = "give every async copy a TMA descriptor parameter and its metadata";
  let description = [{
    Each `tile.async_load` from, or `tile.async_store` to, a view of a
    kernel's array argument is given a tensor map: a new kernel parameter
    (128 bytes, passed by value as a `__grid_constant__`) that the copy
    names in `tile.tma_desc`. Copies of
    the same array with the same box and swizzle share one. The module
    attribute `tile.tma` lists, per descriptor, the array's pointer parameter,
    the descriptor's parameter, the element type, the box (outermost first;
    a swizzled box is at most one swizzle span wide, and a wider shared tile
    is copied as several boxes) and the swizzle, so that the runtime encodes
    it with cuTensorMapEncodeTiled. Out-of-bounds box elements read zero
    and are not written.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def TileTensorMapParams : Pass<"tile-tensormap-params", "ModuleOp"> {
  let summary = "make the lowered kernel take its TMA descriptors by value";
  let description = [{
    After convert-gpu-to-nvvm: each kernel parameter the module's `tile.tma`
    names becomes `{llvm.byval = !llvm.array<128 x i8>, llvm.align = 64,
    nvvm.grid_constant}`, so PTX declares `.param .align 64 .b8 p[128]` and
    the TMA unit reads the CUtensorMap straight from the parameter space.
    (It cannot be said earlier: the NVVM attribute is only valid on an
    `llvm.func` kernel.)
  }];
}

def ConvertTileToGPU : Pass<"convert-tile-to-gpu", "ModuleOp"> {
  let summary = "lower tile kernels to gpu.func with per-thread code";
  let description = [{
    Moves every `func.func` marked `tile.kernel` into a `gpu.module` as a
    `gpu.func` kernel with a known block size, and lowers tile ops and
    elementwise ops on laid-out tiles to per-thread vector code: global memory
    is reached with `llvm.load`/`llvm.store` as wide as alignment allows,
    guarded by the bound. A `tile.wait_flag` that waits 10 s stops the kernel:
    with `debug`, through `__assertfail` naming the wait's line; without,
    with a `trap` (a call would serialize the kernel's wgmmas, C7510).
  }];
  let options = [Option<"debug", "debug", "bool", "false",
                        "device failures print the kernel's line (__assertfail)">];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::arith::ArithDialect"];
}

#endif
