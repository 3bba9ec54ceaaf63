// The tile dialect's shared-memory ops: allocations, stages, async copies
// (TMA), mbarriers and turns, warp specialization, and tiles moved between
// registers and shared memory. Included by TileOps.td (one dialect, one
// generated set of classes).
#ifndef TILE_SHARED_OPS_TD
#define TILE_SHARED_OPS_TD

//===----------------------------------------------------------------------===//
// Shared memory and async copies
//===----------------------------------------------------------------------===//

def Tile_AllocSharedOp : Tile_Op<"alloc_shared",
    [MemoryEffects<[MemAlloc]>, Tile_UsesSharedMemory]> {
  let summary = "a tile of the CTA's shared memory";
  let description = "`%s = tile.alloc_shared : !tile.shared<128x64xbf16>`";
  let results = (outs Tile_SharedType:$result);
  let assemblyFormat = "attr-dict `:` qualified(type($result))";
}

def Tile_AllocMBarrierOp : Tile_Op<"alloc_mbarrier",
    [MemoryEffects<[MemAlloc]>, Tile_UsesSharedMemory]> {
  let summary = "mbarriers in shared memory, each completing a phase after `arrivals` arrivals";
  let description = [{
    Each `tile.async_load` on a barrier is one arrival (and the bytes it
    copies); a phase completes when all arrivals came and all bytes landed.
    ```mlir
    %bar = tile.alloc_mbarrier : !tile.mbarrier
    %bars = tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<3>
    ```
  }];
  let arguments = (ins DefaultValuedAttr<ConfinedAttr<I32Attr, [IntMinValue<1>]>, "1">:$arrivals);
  let results = (outs Tile_MBarrierType:$result);
  let assemblyFormat = "attr-dict `:` qualified(type($result))";
}

def Tile_StageOp : Tile_Op<"stage", [Pure]> {
  let summary = "one stage of a multi-stage shared tile or barrier array";
  let description = [{
    ```mlir
    %a = tile.stage %bufA[%i] : !tile.shared<3x128x64xbf16> -> !tile.shared<128x64xbf16>
    %b = tile.stage %bars[%i] : !tile.mbarrier<3> -> !tile.mbarrier
    ```
  }];
  let arguments = (ins AnyTypeOf<[Tile_SharedType, Tile_MBarrierType]>:$src, I32:$index);
  let results = (outs AnyTypeOf<[Tile_SharedType, Tile_MBarrierType]>:$result);
  let assemblyFormat = "$src `[` $index `]` attr-dict `:` qualified(type($src)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def Tile_AsyncLoadOp : Tile_Op<"async_load", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "copy a box of a global view into a shared tile, completing on a barrier";
  let description = [{
    Zero fill outside the view's sizes (the TMA rule). With `multicast`, in a
    kernel of `tile.num_ctas` = n programs a cluster, every program of the
    cluster runs the same copy: each issues 1/n of the tile's TMA boxes to all
    n programs' shared tiles and barriers (same offsets), and announces the
    whole tile's bytes to its own barrier.
    ```mlir
    tile.async_load %A[%i, %k], %sa, %bar : !tile.view<bf16, 2>, !tile.shared<128x64xbf16>, !tile.mbarrier
    ```
  }];
  let arguments = (ins Tile_ViewType:$src, Variadic<I32>:$offsets, Tile_SharedType:$dst,
                       Tile_MBarrierType:$barrier, UnitAttr:$multicast);
  let assemblyFormat = [{
    $src `[` $offsets `]` `,` $dst `,` $barrier attr-dict `:` qualified(type($src)) `,` qualified(type($dst)) `,` qualified(type($barrier))
  }];
  let hasVerifier = 1;
}

def Tile_AsyncStoreOp : Tile_Op<"async_store", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "copy a shared tile into a box of a global view (a TMA store)";
  let description = [{
    One thread issues the copy; elements of the box outside the view's sizes
    are not written (the TMA rule). Every thread's writes to the shared tile
    must be done first (a `tile.barrier`), and the tile must stay allocated
    and unchanged until a `tile.async_store_wait` on it.
    ```mlir
    tile.async_store %sc, %C[%i, %j] : !tile.shared<128x256xbf16>, !tile.view<bf16, 2>
    ```
  }];
  let arguments = (ins Tile_SharedType:$src, Tile_ViewType:$dst, Variadic<I32>:$offsets);
  let assemblyFormat = [{
    $src `,` $dst `[` $offsets `]` attr-dict `:` qualified(type($src)) `,` qualified(type($dst))
  }];
  let hasVerifier = 1;
}

def Tile_AsyncStoreWaitOp : Tile_Op<"async_store_wait", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "wait until the async stores issued so far have read their shared tiles";
  let description = [{
    The operands are the shared tiles those stores read: they may be reused
    (or the kernel may end) only after this wait, and naming them keeps them
    allocated until here. Their global writes may still be in flight. With
    `pending` = n, the last n stores issued may still be reading (an
    epilogue in chunks waits for the store of the chunk before last).
    ```mlir
    tile.async_store_wait %sc : !tile.shared<128x256xbf16>
    ```
  }];
  let arguments = (ins Variadic<Tile_SharedType>:$tiles,
                       DefaultValuedAttr<ConfinedAttr<I32Attr, [IntMinValue<0>]>, "0">:$pending);
  let assemblyFormat = "$tiles attr-dict `:` qualified(type($tiles))";
}

def Tile_WaitOp : Tile_Op<"wait", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "wait until the barrier completes the phase of parity `phase`";
  let description = "`tile.wait %bar, %phase : !tile.mbarrier`";
  let arguments = (ins Tile_MBarrierType:$barrier, I1:$phase);
  let assemblyFormat = "$barrier `,` $phase attr-dict `:` qualified(type($barrier))";
}

def Tile_ArriveOp : Tile_Op<"arrive", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "each warpgroup of the program arrives once on the barrier";
  let description = [{
    A consumer's release of a pipeline stage: once every warpgroup running
    the op arrived (allocate the barrier with that many arrivals), the
    phase completes and the producer may overwrite the stage. With
    `cluster`, each warpgroup arrives on the barrier of every program of the
    cluster (`tile.num_ctas`): a stage that producers fill by multicast is
    free only once every program's consumers released it.
    `tile.arrive %bar : !tile.mbarrier`
  }];
  let arguments = (ins Tile_MBarrierType:$barrier, UnitAttr:$cluster);
  let assemblyFormat = "$barrier attr-dict `:` qualified(type($barrier))";
}

def Tile_TurnWaitOp : Tile_Op<"turn_wait", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "wait until this consumer warpgroup holds the turn";
  let description = [{
    The consumer warpgroups of a warp-specialized kernel take turns, in
    warpgroup order starting with warpgroup 0, at the code between
    `tile.turn_wait` and `tile.turn_pass`: FlashAttention-3's ping-pong, in
    which one warpgroup issues its mmas while the other runs its softmax, so
    that the tensor cores are fed by one warpgroup at a time. Every consumer
    warpgroup runs as many waits as passes, a wait first.
    `tile.turn_wait`
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Tile_TurnPassOp : Tile_Op<"turn_pass", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "pass the turn to the next consumer warpgroup";
  let description = [{
    See `tile.turn_wait`. `tile.turn_pass`
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Tile_WarpSpecializeOp : Tile_Op<"warp_specialize",
    [SingleBlock, NoTerminator, RecursiveMemoryEffects]> {
  let summary = "a producer run by one thread of an extra warpgroup, beside the consumers";
  let description = [{
    The kernel's `tile.num_warps` warps run `consumer`; one more warpgroup
    is added for `producer`, of which one thread runs it (it issues async
    copies and waits on barriers; it holds no register tiles). The producer
    warpgroup gives registers back (setmaxnreg) so that the consumers can
    hold larger accumulators. Both regions see the values defined above.
    ```mlir
    tile.warp_specialize producer {
      tile.wait %empty, %phase : !tile.mbarrier
      tile.async_load %A[%i, %k], %sa, %full : ...
    } consumer {
      ...
    }
    ```
  }];
  let regions = (region SizedRegion<1>:$producer, SizedRegion<1>:$consumer);
  let assemblyFormat = "attr-dict `producer` $producer `consumer` $consumer";
  let hasVerifier = 1;
}

def Tile_LoadSharedOp : Tile_Op<"load_shared", [MemoryEffects<[MemRead]>]> {
  let summary = "read a shared tile into registers";
  let description = "`%a = tile.load_shared %sa : !tile.shared<128x64xbf16> -> tensor<128x64xbf16>`";
  let arguments = (ins Tile_SharedType:$src);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = "$src attr-dict `:` qualified(type($src)) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_StoreSharedOp : Tile_Op<"store_shared", [MemoryEffects<[MemWrite]>]> {
  let summary = "write a register tile (or a window of its columns) into a shared tile";
  let description = [{
    `tile.store_shared %a, %sa : tensor<128x64xbf16>, !tile.shared<128x64xbf16>`.
    With `column` = c, the shared tile (as many rows, w columns) takes columns
    c .. c + w - 1 of the 2-D register tile: an epilogue written in chunks.
    `tile.store_shared %c, %s {column = 64 : i64} : tensor<128x256xbf16>, !tile.shared<128x64xbf16>`
  }];
  let arguments = (ins Tile_RegisterTile:$value, Tile_SharedType:$dst,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntMinValue<0>]>, "0">:$column);
  let assemblyFormat = "$value `,` $dst attr-dict `:` type($value) `,` qualified(type($dst))";
  let hasVerifier = 1;
}

#endif // TILE_SHARED_OPS_TD
