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

// A register tile: a statically shaped ranked tensor of a tile element type.
def Tile_RegisterTile : StaticShapeTensorOf<[Tile_ElementType]>;

def Tile_ProgramIdOp : Tile_Op<"program_id", [Pure]> {
  let summary = "index of this program (CTA) along a grid axis";
  let description = [{
    ```mlir
    %pid = tile.program_id 0
    ```
  }];
  let arguments = (ins ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict";
  let builders = [OpBuilder<(ins "int32_t":$axis), [{
    build($_builder, $_state, $_builder.getI32Type(), $_builder.getI32IntegerAttr(axis));
  }]>];
}

def Tile_NumProgramsOp : Tile_Op<"num_programs", [Pure]> {
  let summary = "number of programs (CTAs) along a grid axis";
  let description = [{
    ```mlir
    %n = tile.num_programs 0
    ```
  }];
  let arguments = (ins ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict";
}

def Tile_LoadOp : Tile_Op<"load", [MemoryEffects<[MemRead]>]> {
  let summary = "load a 1-D tile from global memory, zero beyond the bound";
  let description = [{
    Element `i` of the result is `ptr[offset + i]` when `offset + i < bound`
    and zero otherwise. Without `bound`, every element is read.

    ```mlir
    %x = tile.load %ptr[%off] bound %n : !tile.ptr<f32> -> tensor<1024xf32>
    ```
  }];
  let arguments = (ins Tile_PtrType:$ptr, I32:$offset, Optional<I32>:$bound);
  let results = (outs Tile_RegisterTile:$result);
  let assemblyFormat = [{
    $ptr `[` $offset `]` (`bound` $bound^)? attr-dict `:` qualified(type($ptr)) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Tile_StoreOp : Tile_Op<"store", [MemoryEffects<[MemWrite]>]> {
  let summary = "store a 1-D tile to global memory, skipping elements past the bound";
  let description = [{
    Writes `ptr[offset + i] = value[i]` for each `i` with `offset + i < bound`
    (every `i` without `bound`).

    ```mlir
    tile.store %v, %ptr[%off] bound %n : tensor<1024xf32>, !tile.ptr<f32>
    ```
  }];
  let arguments = (ins Tile_RegisterTile:$value, Tile_PtrType:$ptr, I32:$offset,
                       Optional<I32>:$bound);
  let assemblyFormat = [{
    $value `,` $ptr `[` $offset `]` (`bound` $bound^)? attr-dict `:` type($value) `,` qualified(type($ptr))
  }];
  let hasVerifier = 1;
}

#endif
