#ifndef TILE_ATTRS_TD
#define TILE_ATTRS_TD

include "TileDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

// How a register tile's elements are spread over the threads of a CTA. Used as
// the encoding of a ranked tensor. Dimension d of a tile is covered by
// sizePerThread[d] * threadsPerWarp[d] * warpsPerCTA[d] elements; a tile larger
// than that repeats the pattern (more registers per thread), a smaller one
// wraps (threads hold copies).
def Tile_BlockedLayoutAttr : AttrDef<Tile_Dialect, "BlockedLayout"> {
  let mnemonic = "blocked";
  let summary = "blocked distribution of a register tile over threads";
  let parameters = (ins
    ArrayRefParameter<"int64_t">:$sizePerThread,
    ArrayRefParameter<"int64_t">:$threadsPerWarp,
    ArrayRefParameter<"int64_t">:$warpsPerCTA);
  let assemblyFormat = [{
    `<` `size_per_thread` `=` `[` $sizePerThread `]` `,`
        `threads_per_warp` `=` `[` $threadsPerWarp `]` `,`
        `warps_per_cta` `=` `[` $warpsPerCTA `]` `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRank() const { return getSizePerThread().size(); }
    int64_t getNumThreads() const;
    /// Elements covered along dimension `dim` by one pass of all threads.
    int64_t getCoverage(unsigned dim) const;
  }];
}

// The layout of a vector made by reducing a tile of layout `parent` along
// `dim`: element i lives where the parent's row (or column) i lived.
def Tile_SliceLayoutAttr : AttrDef<Tile_Dialect, "SliceLayout"> {
  let mnemonic = "slice";
  let summary = "layout of a tile reduced along one dimension of its parent";
  let parameters = (ins "unsigned":$dim, "::mlir::Attribute":$parent);
  let assemblyFormat = "`<` `dim` `=` $dim `,` `parent` `=` $parent `>`";
}

// The accumulator layout of WGMMA (m64nNk16): warpgroup g of `warpgroups`
// takes the 64-row slabs g, g + warpgroups, ...; in a slab, warp w holds rows
// 16w..16w+15 and lane l rows l/4 and l/4 + 8, columns 2(l%4), 2(l%4)+1 of
// every 8-column group.
def Tile_WgmmaLayoutAttr : AttrDef<Tile_Dialect, "WgmmaLayout"> {
  let mnemonic = "wgmma";
  let summary = "layout of a WGMMA accumulator tile";
  let parameters = (ins "unsigned":$warpgroups);
  let assemblyFormat = "`<` `warpgroups` `=` $warpgroups `>`";
}

def Tile_SwizzleAttr : AttrDef<Tile_Dialect, "Swizzle"> {
  let mnemonic = "swizzle";
  let summary = "shared-memory swizzle span in bytes: 0 (none), 32, 64 or 128";
  let parameters = (ins "unsigned":$bytes);
  let assemblyFormat = "`<` $bytes `>`";
  let genVerifyDecl = 1;
}

// argmax/argmin: the index (i32) of the first maximum/minimum, NaN counting
// as the greatest and as the least value (as torch.argmax/argmin).
def Tile_ReduceKind : I32EnumAttr<"ReduceKind", "reduction of a tile along a dimension", [
    I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"max", 1>, I32EnumAttrCase<"min", 2>,
    I32EnumAttrCase<"argmax", 3>, I32EnumAttrCase<"argmin", 4>]> {
  let cppNamespace = "::mlir::tile";
  let genSpecializedAttr = 0;
}
def Tile_ReduceKindAttr : EnumAttr<Tile_Dialect, Tile_ReduceKind, "reduce_kind">;

def Tile_ScanKind : I32EnumAttr<"ScanKind", "inclusive scan of a tile along a dimension", [
    I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"prod", 1>]> {
  let cppNamespace = "::mlir::tile";
  let genSpecializedAttr = 0;
}
def Tile_ScanKindAttr : EnumAttr<Tile_Dialect, Tile_ScanKind, "scan_kind">;

// Indexed accesses (tile.atomic_rmw, tile.atomic_cas): what an atomic does and
// how it orders the thread's other memory accesses, and among which threads.
def Tile_AtomicKind : I32EnumAttr<"AtomicKind", "read-modify-write of tile.atomic_rmw", [
    I32EnumAttrCase<"add", 0>, I32EnumAttrCase<"max", 1>, I32EnumAttrCase<"min", 2>,
    I32EnumAttrCase<"xchg", 3>]> {
  let cppNamespace = "::mlir::tile";
  let genSpecializedAttr = 0;
}
def Tile_AtomicKindAttr : EnumAttr<Tile_Dialect, Tile_AtomicKind, "atomic_kind">;

def Tile_MemorySemantics : I32EnumAttr<"MemorySemantics", "memory ordering of an atomic", [
    I32EnumAttrCase<"relaxed", 0>, I32EnumAttrCase<"acquire", 1>,
    I32EnumAttrCase<"release", 2>, I32EnumAttrCase<"acq_rel", 3>]> {
  let cppNamespace = "::mlir::tile";
  let genSpecializedAttr = 0;
}
def Tile_MemorySemanticsAttr : EnumAttr<Tile_Dialect, Tile_MemorySemantics, "sem">;

def Tile_MemoryScope : I32EnumAttr<"MemoryScope", "threads an atomic is atomic and ordered among", [
    I32EnumAttrCase<"cta", 0>, I32EnumAttrCase<"gpu", 1>, I32EnumAttrCase<"sys", 2>]> {
  let cppNamespace = "::mlir::tile";
  let genSpecializedAttr = 0;
}
def Tile_MemoryScopeAttr : EnumAttr<Tile_Dialect, Tile_MemoryScope, "scope">;

#endif
