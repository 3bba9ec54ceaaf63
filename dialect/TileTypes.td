#ifndef TILE_TYPES_TD
#define TILE_TYPES_TD

include "TileDialect.td"
include "TileAttrs.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

class Tile_Type<string name, string typeMnemonic> : TypeDef<Tile_Dialect, name> {
  let mnemonic = typeMnemonic;
}

// Element types a tile may hold in global memory and in registers.
def Tile_ElementType : AnyTypeOf<[F32, F16, BF16, F8E4M3FN, F8E5M2, I64, I32, I16, I8, I1]>;

def Tile_PtrType : Tile_Type<"Ptr", "ptr"> {
  let summary = "pointer to global memory holding elements of one type";
  let description = [{
    `!tile.ptr<f32>` is the base address of a global array of `f32`. Loads and
    stores index it in elements, never in bytes.
  }];
  let parameters = (ins "::mlir::Type":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
  let genVerifyDecl = 1;
}

def Tile_ViewType : Tile_Type<"View", "view"> {
  let summary = "a global array: pointer, runtime sizes and strides (in elements)";
  let description = [{
    `!tile.view<bf16, 2>` is a rank-2 array of bf16 in global memory. Its sizes
    bound every access: loads read zero outside them, stores skip.
  }];
  let parameters = (ins "::mlir::Type":$elementType, "unsigned":$rank);
  let assemblyFormat = "`<` $elementType `,` $rank `>`";
  let genVerifyDecl = 1;
}

def Tile_SharedType : Tile_Type<"Shared", "shared"> {
  let summary = "a tile in shared memory, with its swizzle once chosen";
  let description = [{
    `!tile.shared<128x64xbf16>` (swizzle not chosen yet) or
    `!tile.shared<128x64xbf16, #tile.swizzle<128>>`.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape, "::mlir::Type":$elementType,
                        OptionalParameter<"::mlir::tile::SwizzleAttr">:$swizzle);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getNumElements() const;
    int64_t getSizeInBytes() const;
  }];
}

def Tile_MBarrierType : Tile_Type<"MBarrier", "mbarrier"> {
  let summary = "mbarriers in shared memory, on which async copies complete";
  let description = [{
    `!tile.mbarrier` is one barrier; `!tile.mbarrier<3>` three (one per
    pipeline stage, picked with `tile.stage`).
  }];
  let parameters = (ins DefaultValuedParameter<"unsigned", "1">:$count);
  let assemblyFormat = "(`<` $count^ `>`)?";
}

#endif
