#ifndef TILE_TYPES_TD
#define TILE_TYPES_TD

include "TileDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

class Tile_Type<string name, string typeMnemonic> : TypeDef<Tile_Dialect, name> {
  let mnemonic = typeMnemonic;
}

// Element types a tile may hold in global memory and in registers.
def Tile_ElementType : AnyTypeOf<[F32, F16, BF16, F8E4M3FN, F8E5M2, I32, I16, I8]>;

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

#endif
