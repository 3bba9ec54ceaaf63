#ifndef TILE_ATTRS_TD
#define TILE_ATTRS_TD

include "TileDialect.td"
include "mlir/IR/AttrTypeBase.td"

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

#endif
