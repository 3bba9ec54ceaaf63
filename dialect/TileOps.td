#ifndef TILE_OPS_TD
#define TILE_OPS_TD

include "TileTypes.td"
include "TileAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

class Tile_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tile_Dialect, mnemonic, traits>;

// The op's lowering uses the kernel's dynamic shared memory (a scratch area
// where threads exchange data, or an allocation): convert-tile-to-gpu
// declares that memory for a kernel holding such an op.
def Tile_UsesSharedMemory : NativeOpTrait<"UsesSharedMemory"> {
  let cppNamespace = "::mlir::tile";
}

// A register tile: a statically shaped ranked tensor of a tile element type.
def Tile_RegisterTile : StaticShapeTensorOf<[Tile_ElementType]>;
def Tile_GlobalSource : AnyTypeOf<[Tile_PtrType, Tile_ViewType]>;
def Tile_MmaOperand : AnyTypeOf<[Tile_RegisterTile, Tile_SharedType]>;
def Tile_Axis : ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>;

//===----------------------------------------------------------------------===//
// Grid
//===----------------------------------------------------------------------===//

def Tile_ProgramIdOp : Tile_Op<"program_id", [Pure]> {
  let summary = "index of this program (CTA) along a grid axis";
  let description = "`%pid = tile.program_id 0`";
  let arguments = (ins Tile_Axis:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict";
}

def Tile_NumProgramsOp : Tile_Op<"num_programs", [Pure]> {
  let summary = "number of programs (CTAs) along a grid axis";
  let description = "`%n = tile.num_programs 0`";
  let arguments = (ins Tile_Axis:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict";
}

def Tile_AssumeMultipleOp : Tile_Op<"assume_multiple", [Pure, AllTypesMatch<["value", "result"]>]> {
  let summary = "the kernel's promise that an integer is a multiple of a power of two";
  let description = [{
    `%y = tile.assume_multiple %x, 16 : i32` is %x, which the kernel promises is a
    multiple of 16 (tile.multiple_of): the divisibility analysis takes it as a fact, so
    accesses at offsets computed from %y can be as wide as that allows. Lowers to %x
    itself; the interpreter checks the promise.
  }];
  let arguments = (ins AnySignlessInteger:$value, I64Attr:$multiple);
  let results = (outs AnySignlessInteger:$result);
  let assemblyFormat = "$value `,` $multiple attr-dict `:` type($value)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Global memory
//===----------------------------------------------------------------------===//

def Tile_MakeViewOp : Tile_Op<"make_view", [Pure, AttrSizedOperandSegments]> {
  let summary = "a global array from a pointer, sizes and strides (in elements)";
  let description = [{
    ```mlir
    %A = tile.make_view %p, [%M, %K], [%ldA, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
    ```
  }];
  let arguments = (ins Tile_PtrType:$ptr, Variadic<I32>:$sizes, Variadic<I32>:$strides);
  let results = (outs Tile_ViewType:$result);
  let assemblyFormat = [{
    $ptr `,` `[` $sizes `]` `,` `[` $strides `]` attr-dict `:` qualified(type($ptr)) `->` qualified(type($result))
  }];
  let hasVerifier = 1;
}

def Tile_AddPtrOp : Tile_Op<"addptr", [Pure, AllTypesMatch<["ptr", "result"]>]> {
  let summary = "a pointer `offset` elements past another";
  let description = [{
    `%q = tile.addptr %p, %off : !tile.ptr<bf16>, i64` is `%p + %off` elements
    (Triton's addptr on a scalar). The frontend adds the part of an element offset
    that is the same for a whole tile (a selection's leading indices times their
    strides, a tile's start) in 64 bits here, so that the per-element offsets of
    the gather or scatter that follows stay 32-bit on arrays of 2^31+ elements.
  }];
  let arguments = (ins Tile_PtrType:$ptr, AnySignlessInteger:$offset);
  let results = (outs Tile_PtrType:$result);
  let assemblyFormat = "$ptr `,` $offset attr-dict `:` qualified(type($ptr)) `,` type($offset)";
}

def Tile_LoadOp : Tile_Op<"load", [MemoryEffects<[MemRead]>, AttrSizedOperandSegments]> {
  let summary = "load a register tile from global memory; zero outside the bounds";
  let description = [{
    From a view, the tile's origin is at `offsets` and the view's sizes bound
    it. From a pointer (1-D only), element `i` is `ptr[offset + i]` when
    `offset + i < bound`, zero otherwise (every element without `bound`).

    ```mlir
    %a = tile.load %A[%i, %j] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %x = tile.load %ptr[%off] bound %n : !tile.ptr<f32> -> tensor<1024xf32>
    ```

    `multicast` (a view's tile in a kernel of `tile.num_ctas` > 1 programs a
    cluster) says that every program of the cluster loads this same tile at
    this point: tile-warp-specialize's producers then each copy a share of it
    into every program's shared memory (TMA multicast). Elsewhere it loads as
    without.
  }];
  let arguments = (ins Tile_GlobalSource:$src, Variadic<I32>:$offsets, Optional<I32>:$bound,
                       UnitAttr:$multicast);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = [{
    $src `[` $offsets `]` (`bound` $bound^)? attr-dict `:` qualified(type($src)) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Tile_StoreOp : Tile_Op<"store", [MemoryEffects<[MemWrite]>, AttrSizedOperandSegments]> {
  let summary = "store a register tile to global memory; nothing outside the bounds";
  let description = [{
    ```mlir
    tile.store %c, %C[%i, %j] : tensor<128x128xbf16>, !tile.view<bf16, 2>
    tile.store %v, %ptr[%off] bound %n : tensor<1024xf32>, !tile.ptr<f32>
    ```
  }];
  let arguments = (ins Tile_RegisterTile:$value, Tile_GlobalSource:$dst,
                       Variadic<I32>:$offsets, Optional<I32>:$bound);
  let assemblyFormat = [{
    $value `,` $dst `[` $offsets `]` (`bound` $bound^)? attr-dict `:` type($value) `,` qualified(type($dst))
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Gathers, scatters and atomics: a tile of element offsets into a flat array
//===----------------------------------------------------------------------===//

// Offsets (i32 or i64, in elements) and masks (i1) are register tiles whose
// element types the verifiers check, to say which rule a tile breaks.

def Tile_GatherOp : Tile_Op<"gather", [MemoryEffects<[MemRead]>, AttrSizedOperandSegments]> {
  let summary = "load ptr[offsets[i]] for every element i of an offset tile";
  let description = [{
    Element `i` of the result is `src[offsets[i]]`. With `mask`, an element
    whose mask is false is not read (nothing is accessed there, in bounds or
    not) and is `other` (a scalar of the element type; zero without it). The
    result, `offsets` and `mask` have one shape and one layout.

    ```mlir
    %v = tile.gather %x[%off : tensor<128xi32>] : !tile.ptr<f32> -> tensor<128xf32>
    %w = tile.gather %x[%off : tensor<64x64xi64>] mask(%m : tensor<64x64xi1>) other(%c : f32)
           : !tile.ptr<f32> -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Tile_PtrType:$src, Tile_RegisterTile:$offsets,
                       Optional<Tile_RegisterTile>:$mask, Optional<Tile_ElementType>:$other);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = [{
    $src `[` $offsets `:` type($offsets) `]` (`mask` `(` $mask^ `:` type($mask) `)`)?
    (`other` `(` $other^ `:` type($other) `)`)? attr-dict `:` qualified(type($src)) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Tile_ScatterOp : Tile_Op<"scatter", [MemoryEffects<[MemWrite]>]> {
  let summary = "store value[i] to ptr[offsets[i]] for every element i of an offset tile";
  let description = [{
    With `mask`, an element whose mask is false is not written. Two elements
    of one op with the same offset write one of their values (which one is
    not defined, as on the GPU). `value`, `offsets` and `mask` have one shape
    and one layout.

    ```mlir
    tile.scatter %v, %x[%off : tensor<128xi32>] mask(%m : tensor<128xi1>) : tensor<128xf32>, !tile.ptr<f32>
    ```
  }];
  let arguments = (ins Tile_RegisterTile:$value, Tile_PtrType:$dst, Tile_RegisterTile:$offsets,
                       Optional<Tile_RegisterTile>:$mask);
  let assemblyFormat = [{
    $value `,` $dst `[` $offsets `:` type($offsets) `]` (`mask` `(` $mask^ `:` type($mask) `)`)?
    attr-dict `:` type($value) `,` qualified(type($dst))
  }];
  let hasVerifier = 1;
}

def Tile_AtomicRMWOp : Tile_Op<"atomic_rmw",
    [MemoryEffects<[MemRead, MemWrite]>, Tile_UsesSharedMemory, AllTypesMatch<["value", "result"]>]> {
  let summary = "atomically dst[offsets[i]] = kind(dst[offsets[i]], value[i]); the old values";
  let description = [{
    For every element `i` (whose `mask` is true), one atomic read-modify-write
    of `dst[offsets[i]]` with `value[i]`: `add`, `max`, `min` (signed for
    integers) or `xchg`. The result holds the values found there before
    (zero where the mask is false). Elements with the same offset are each
    applied, in an undefined order. `sem` orders the thread's other memory
    accesses around it (relaxed, acquire, release, acq_rel; default acq_rel)
    among the threads of `scope` (cta, gpu, sys; default gpu).
    Element types: add on f32, f16, bf16, i32, i64; max and min on i32, i64,
    f32; xchg on i32, i64, f32.

    ```mlir
    %old = tile.atomic_rmw add %x[%off : tensor<128xi32>], %v : !tile.ptr<f32>, tensor<128xf32>
    %o = tile.atomic_rmw max %x[%off : tensor<128xi32>], %v mask(%m : tensor<128xi1>)
           sem = relaxed scope = cta : !tile.ptr<i32>, tensor<128xi32>
    ```
  }];
  let arguments = (ins Tile_AtomicKindAttr:$kind, Tile_PtrType:$dst, Tile_RegisterTile:$offsets,
                       Tile_RegisterTile:$value, Optional<Tile_RegisterTile>:$mask,
                       DefaultValuedAttr<Tile_MemorySemanticsAttr,
                                         "::mlir::tile::MemorySemantics::acq_rel">:$sem,
                       DefaultValuedAttr<Tile_MemoryScopeAttr,
                                         "::mlir::tile::MemoryScope::gpu">:$scope);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = [{
    $kind $dst `[` $offsets `:` type($offsets) `]` `,` $value
    (`mask` `(` $mask^ `:` type($mask) `)`)? (`sem` `=` $sem^)? (`scope` `=` $scope^)?
    attr-dict `:` qualified(type($dst)) `,` type($value)
  }];
  let hasVerifier = 1;
}

def Tile_AtomicCASOp : Tile_Op<"atomic_cas",
    [MemoryEffects<[MemRead, MemWrite]>, Tile_UsesSharedMemory, AllTypesMatch<["cmp", "value", "result"]>]> {
  let summary = "atomically dst[offsets[i]] = value[i] if it equals cmp[i]; the old values";
  let description = [{
    For every element `i` (whose `mask` is true), one atomic compare-and-swap:
    where `dst[offsets[i]]` equals `cmp[i]` (bitwise) it becomes `value[i]`.
    The result holds the values found there before (zero where the mask is
    false): the swap happened where the result equals `cmp`. `sem` and
    `scope` as tile.atomic_rmw's. Element types: i32, i64, f32.

    ```mlir
    %old = tile.atomic_cas %x[%off : tensor<128xi32>], %cmp, %v : !tile.ptr<i32>, tensor<128xi32>
    ```
  }];
  let arguments = (ins Tile_PtrType:$dst, Tile_RegisterTile:$offsets, Tile_RegisterTile:$cmp,
                       Tile_RegisterTile:$value, Optional<Tile_RegisterTile>:$mask,
                       DefaultValuedAttr<Tile_MemorySemanticsAttr,
                                         "::mlir::tile::MemorySemantics::acq_rel">:$sem,
                       DefaultValuedAttr<Tile_MemoryScopeAttr,
                                         "::mlir::tile::MemoryScope::gpu">:$scope);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = [{
    $dst `[` $offsets `:` type($offsets) `]` `,` $cmp `,` $value
    (`mask` `(` $mask^ `:` type($mask) `)`)? (`sem` `=` $sem^)? (`scope` `=` $scope^)?
    attr-dict `:` qualified(type($dst)) `,` type($value)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Signals between programs
//===----------------------------------------------------------------------===//

def Tile_NotifyOp : Tile_Op<"notify", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "set (or add to) flags[index] once the program's earlier writes are visible";
  let description = [{
    Every thread of the program finishes its earlier global writes (TMA
    stores included), then `flags[index]` becomes `value` (with `add`:
    `flags[index] += value`, atomically) with release semantics at `scope`:
    `gpu` orders the writes for programs of the same GPU, `sys` for every
    GPU and the host (`flags` may point into a peer GPU's memory). A program
    whose `tile.wait_flag` sees the value sees those writes. (Python:
    `tile.notify`.)

    ```mlir
    tile.notify %flags[%i], %one : !tile.ptr<i32>
    tile.notify %peer_flags[%i], %one scope = sys add : !tile.ptr<i32>
    ```
  }];
  let arguments = (ins Tile_PtrType:$flags, I32:$index, I32:$value,
                       DefaultValuedAttr<Tile_MemoryScopeAttr,
                                         "::mlir::tile::MemoryScope::gpu">:$scope,
                       UnitAttr:$add);
  let assemblyFormat = [{
    $flags `[` $index `]` `,` $value (`scope` `=` $scope^)? (`add` $add^)? attr-dict `:`
    qualified(type($flags))
  }];
  let hasVerifier = 1;
}

def Tile_WaitFlagOp : Tile_Op<"wait_flag", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "wait until flags[index] == value (acquire at gpu or sys scope)";
  let description = [{
    Every thread of the program waits until `flags[index]` holds `value`; its
    later reads see the writes the notifying program made before its
    `tile.notify` (of the same GPU at `gpu` scope, of any GPU at `sys`).
    (Python: `tile.wait`; not `tile.wait`, which waits on an
    mbarrier.) The program it waits for must be running at the same time (a
    persistent grid of at most one program an SM), or it waits forever.

    ```mlir
    tile.wait_flag %flags[%i], %one : !tile.ptr<i32>
    tile.wait_flag %flags[%i], %one scope = sys : !tile.ptr<i32>
    ```
  }];
  let arguments = (ins Tile_PtrType:$flags, I32:$index, I32:$value,
                       DefaultValuedAttr<Tile_MemoryScopeAttr,
                                         "::mlir::tile::MemoryScope::gpu">:$scope);
  let assemblyFormat = [{
    $flags `[` $index `]` `,` $value (`scope` `=` $scope^)? attr-dict `:` qualified(type($flags))
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Filling and indices
//===----------------------------------------------------------------------===//

def Tile_SplatOp : Tile_Op<"splat", [Pure]> {
  let summary = "a tile with a runtime scalar in every element";
  let description = "`%s = tile.splat %x : f32 -> tensor<64x64xf32>`";
  let arguments = (ins AnyTypeOf<[Tile_ElementType]>:$value);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = "$value attr-dict `:` type($value) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Tile_IotaOp : Tile_Op<"iota", [Pure]> {
  let summary = "the 1-D tile 0, 1, ..., N-1";
  let description = "`%r = tile.iota : tensor<128xi32>`";
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Matrix multiply
//===----------------------------------------------------------------------===//

def Tile_MmaOp : Tile_Op<"mma", [Pure]> {
  let summary = "acc + a·b on tensor cores (a, b in registers or shared memory)";
  let description = [{
    `a` is M×K (K×M with `transpose_a`), `b` is K×N (N×K with
    `transpose_b`), `acc` and the result are M×N. `pending` is how many
    groups of tensor-core work (this one included) may still run when the
    op returns: 0 waits for this one, 1 for the one issued before it, 2
    for none (tile-overlap-mma issues P·V behind Q·Kᵀ so).

    ```mlir
    %c = tile.mma %a, %b, %acc : tensor<64x16xbf16>, tensor<16x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
    %s = tile.mma %q, %k, %z {transpose_b} : tensor<64x64xbf16>, tensor<128x64xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
    ```
  }];
  let arguments = (ins Tile_MmaOperand:$a, Tile_MmaOperand:$b, Tile_RegisterTile:$acc,
                       UnitAttr:$transpose_a, UnitAttr:$transpose_b,
                       DefaultValuedAttr<ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>, "0">:$pending);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = [{
    $a `,` $b `,` $acc attr-dict `:` qualified(type($a)) `,` qualified(type($b)) `,` type($acc) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Tile_MmaWaitOp : Tile_Op<"mma_wait", [AllTypesMatch<["acc", "result"]>]> {
  let summary = "wait until every mma writing this accumulator has completed";
  let description = [{
    Inside a pipelined loop an mma may leave its tensor-core work in flight
    (`pending = 1`: at most one group still running, so the next one can be
    issued behind it); the accumulator may be read only after this wait.
    With `pending = n`, the wait leaves the last n groups issued in flight:
    the accumulator of an mma issued before them is complete (tile-overlap-mma
    waits for Q·Kᵀ so, while the P·V issued after it runs on).
    ```mlir
    %done = tile.mma_wait %acc : tensor<128x128xf32>
    %s = tile.mma_wait %qk {pending = 1 : i32} : tensor<64x128xf32>
    ```
  }];
  let arguments = (ins Tile_RegisterTile:$acc,
                       DefaultValuedAttr<ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>, "0">:$pending);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = "$acc attr-dict `:` type($acc)";
}

//===----------------------------------------------------------------------===//
// Reductions, broadcasts, layout
//===----------------------------------------------------------------------===//

def Tile_ReduceOp : Tile_Op<"reduce", [Pure, Tile_UsesSharedMemory]> {
  let summary = "reduce a tile along one dimension (sum, max, min, argmax, argmin)";
  let description = [{
    A tile reduces along `dim` to a tile of one dimension less, or over
    every dimension (then `dim` is 0) to a scalar, which every thread holds:
    a 1-D tile reduces only so. argmax/argmin give the i32 index along `dim`
    (of a scalar result: the row-major index) of the first maximum/minimum;
    NaN is both the greatest and the least value, as in torch.
    ```mlir
    %m = tile.reduce max %s, dim = 1 : tensor<64x128xf32> -> tensor<64xf32>
    %t = tile.reduce sum %v, dim = 0 : tensor<128xf32> -> f32
    %i = tile.reduce argmax %s, dim = 0 : tensor<64x128xf32> -> tensor<128xi32>
    %j = tile.reduce argmin %s, dim = 0 : tensor<64x128xf32> -> i32
    ```
  }];
  let arguments = (ins Tile_ReduceKindAttr:$kind, Tile_RegisterTile:$src, I32Attr:$dim);
  let results = (outs AnyTypeOf<[Tile_RegisterTile, F32, I32, I64]>:$result);
  let assemblyFormat = "$kind $src `,` `dim` `=` $dim attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_ScanOp : Tile_Op<"scan", [Pure, Tile_UsesSharedMemory, AllTypesMatch<["src", "result"]>]> {
  let summary = "inclusive scan of a tile along one dimension (cumulative sum, product)";
  let description = "`%c = tile.scan sum %x, dim = 1 : tensor<64x128xf32>`";
  let arguments = (ins Tile_ScanKindAttr:$kind, Tile_RegisterTile:$src, I32Attr:$dim);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = "$kind $src `,` `dim` `=` $dim attr-dict `:` type($src)";
  let hasVerifier = 1;
}

def Tile_SortOp : Tile_Op<"sort", [Pure, Tile_UsesSharedMemory, AllTypesMatch<["src", "values"]>]> {
  let summary = "sort a tile along one dimension, with each element's index";
  let description = [{
    Each row along `dim` sorted ascending (`descending`: descending), stably:
    equal values keep the order of their indices, NaN is the greatest value
    (torch.sort(stable=True)). `indices` are the i32 positions along `dim` the
    sorted values came from.
    `%v, %i = tile.sort %x, dim = 1 descending : tensor<8x256xf32> -> tensor<8x256xi32>`
  }];
  let arguments = (ins Tile_RegisterTile:$src, I32Attr:$dim, UnitAttr:$descending);
  let results = (outs Tile_RegisterTile:$values, Tile_RegisterTile:$indices);
  let assemblyFormat = [{
    $src `,` `dim` `=` $dim (`descending` $descending^)? attr-dict `:` type($src) `->`
    type($indices)
  }];
  let hasVerifier = 1;
}

def Tile_TakeOp : Tile_Op<"take", [Pure, Tile_UsesSharedMemory]> {
  let summary = "elements of a tile picked along one dimension by an index tile";
  let description = [{
    `result[i][j] = src[index[i][j]][j]` (dim 0), `src[i][index[i][j]]` (dim 1):
    torch.gather and Triton's tl.gather. `index` is i32, of the source's rank
    and of its sizes but along `dim`; the result has its shape. An index
    outside the source is undefined.
    `%r = tile.take %x[%i], dim = 1 : tensor<8x64xf32>, tensor<8x16xi32> -> tensor<8x16xf32>`
  }];
  let arguments = (ins Tile_RegisterTile:$src, Tile_RegisterTile:$index, I32Attr:$dim);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = [{
    $src `[` $index `]` `,` `dim` `=` $dim attr-dict `:` type($src) `,` type($index) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Tile_BroadcastOp : Tile_Op<"broadcast", [Pure]> {
  let summary = "repeat a tile along a new dimension";
  let description = "`%b = tile.broadcast %v, dim = 1 : tensor<64xf32> -> tensor<64x128xf32>`";
  let arguments = (ins Tile_RegisterTile:$src, I32Attr:$dim);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = "$src `,` `dim` `=` $dim attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_TransposeOp : Tile_Op<"transpose", [Pure, Tile_UsesSharedMemory]> {
  let summary = "swap the two dimensions of a 2-D tile";
  let description = "`%t = tile.transpose %a : tensor<64x128xbf16> -> tensor<128x64xbf16>`";
  let arguments = (ins Tile_RegisterTile:$src);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Tile_ConvertLayoutOp : Tile_Op<"convert_layout", [Pure, Tile_UsesSharedMemory]> {
  let summary = "move a tile's elements to another thread layout";
  let description = "`%l = tile.convert_layout %a : tensor<64x64xf32, #a> -> tensor<64x64xf32, #b>`";
  let arguments = (ins Tile_RegisterTile:$src);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Tile_BarrierOp : Tile_Op<"barrier"> {
  let summary = "wait for every thread of the CTA (bar.sync 0)";
  let assemblyFormat = "attr-dict";
}

include "TileSharedOps.td"

//===----------------------------------------------------------------------===//
// Debugging (compiled to nothing unless the kernel is compiled with debug)
//===----------------------------------------------------------------------===//

def Tile_PrintOp : Tile_Op<"print", [MemoryEffects<[MemWrite]>]> {
  let summary = "print a format string and scalars or tiles from the device";
  let description = [{
    Scalars print once a program; a tile prints each element once (not once
    a copy), with its index, by the thread that holds it.
    `tile.print "x", %i, %t : i32, tensor<64xf32>`
  }];
  let arguments = (ins StrAttr:$format, Variadic<AnyTypeOf<[Tile_RegisterTile, Tile_ElementType]>>:$values);
  let assemblyFormat = "$format (`,` $values^ `:` type($values))? attr-dict";
}

def Tile_AssertOp : Tile_Op<"assert", [MemoryEffects<[MemWrite]>]> {
  let summary = "stop the kernel with a message where a condition is false";
  let description = [{
    The condition is an i1 scalar or an i1 tile (every element must hold).
    `tile.assert %c, "x must be positive" : tensor<128xi1>`
  }];
  let arguments = (ins AnyTypeOf<[I1, StaticShapeTensorOf<[I1]>]>:$condition, StrAttr:$message);
  let assemblyFormat = "$condition `,` $message attr-dict `:` type($condition)";
}

#endif
