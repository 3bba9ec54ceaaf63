#include "Conversion/TileToGPU/ThreadLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::tile;

static Value constI64(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
}

FailureOr<ThreadLayout> ThreadLayout::get(RankedTensorType type) {
  Attribute enc = type.getEncoding();
  if (auto wgmma = dyn_cast_or_null<WgmmaLayoutAttr>(enc)) {
    if (type.getRank() != 2 || type.getDimSize(0) % (64 * wgmma.getWarpgroups()) ||
        type.getDimSize(1) % 8)
      return failure();
    ThreadLayout l;
    l.shape.assign(type.getShape().begin(), type.getShape().end());
    l.sliced.assign(2, false);
    l.wgmmaWarpgroups = wgmma.getWarpgroups();
    return l;
  }
  SmallVector<unsigned> slicedDims;
  SmallVector<int64_t> shape(type.getShape());
  // Peel slices: each re-inserts its dimension (any extent up to the
  // coverage will do: a sliced dimension holds one register).
  while (auto slice = dyn_cast_or_null<SliceLayoutAttr>(enc)) {
    // A row vector (dim 1 sliced: reduced along the columns) or a column
    // vector (dim 0 sliced) of a WGMMA accumulator.
    if (auto wgmma = dyn_cast<WgmmaLayoutAttr>(slice.getParent())) {
      unsigned dim = slice.getDim();
      if (dim > 1 || shape.size() != 1 ||
          (dim == 1 && shape[0] % (64 * wgmma.getWarpgroups())) || (dim == 0 && shape[0] % 8))
        return failure();
      ThreadLayout l;
      l.shape = dim == 1 ? SmallVector<int64_t>{shape[0], 8}
                         : SmallVector<int64_t>{64 * wgmma.getWarpgroups(), shape[0]};
      l.sliced = {dim == 0, dim == 1};
      l.wgmmaWarpgroups = wgmma.getWarpgroups();
      return l;
    }
    slicedDims.push_back(slice.getDim());
    enc = slice.getParent();
    auto parent = dyn_cast<BlockedLayoutAttr>(enc);
    if (parent && slice.getDim() <= shape.size())
      shape.insert(shape.begin() + slice.getDim(), parent.getCoverage(slice.getDim()));
    else if (!isa_and_nonnull<SliceLayoutAttr>(enc))
      return failure();
  }
  auto blocked = dyn_cast_or_null<BlockedLayoutAttr>(enc);
  if (!blocked || blocked.getRank() != (int64_t)shape.size())
    return failure();
  ThreadLayout l;
  l.shape = shape;
  l.sizePerThread.assign(blocked.getSizePerThread().begin(), blocked.getSizePerThread().end());
  l.threadsPerWarp.assign(blocked.getThreadsPerWarp().begin(), blocked.getThreadsPerWarp().end());
  l.warpsPerCTA.assign(blocked.getWarpsPerCTA().begin(), blocked.getWarpsPerCTA().end());
  l.sliced.assign(shape.size(), false);
  for (unsigned d : slicedDims)
    l.sliced[d] = true;
  return l;
}

int64_t ThreadLayout::coverage(unsigned d) const {
  return sizePerThread[d] * threadsPerWarp[d] * warpsPerCTA[d];
}

int64_t ThreadLayout::registersAlong(unsigned d) const {
  if (sliced[d])
    return 1;
  return sizePerThread[d] * std::max<int64_t>(1, shape[d] / coverage(d));
}

int64_t ThreadLayout::numRegisters() const {
  if (wgmmaWarpgroups) { // N/2 registers per 64-row slab (2 for a row vector)
    if (sliced[0])
      return shape[1] / 4; // a column vector: 2 columns of every 8-column group
    return shape[0] / (64 * wgmmaWarpgroups) * (sliced[1] ? 2 : shape[1] / 2);
  }
  int64_t n = 1;
  for (unsigned d = 0; d < shape.size(); ++d)
    n *= registersAlong(d);
  return n;
}

int64_t ThreadLayout::numWarps() const {
  if (wgmmaWarpgroups)
    return 4 * wgmmaWarpgroups;
  int64_t n = 1;
  for (int64_t w : warpsPerCTA)
    n *= w;
  return n;
}

int64_t ThreadLayout::contiguity() const {
  if (wgmmaWarpgroups)
    return sliced[1] ? 1 : 2; // a column vector's pair (c, c + 1) is contiguous too
  unsigned inner = shape.size() - 1;
  return sliced[inner] ? 1 : sizePerThread[inner];
}

SmallVector<std::pair<int64_t, int64_t>> ThreadLayout::decompose(int64_t reg) const {
  SmallVector<std::pair<int64_t, int64_t>> parts(shape.size(), {0, 0});
  for (int64_t d = shape.size() - 1; d >= 0; --d) {
    int64_t local = reg % registersAlong(d);
    reg /= registersAlong(d);
    parts[d] = {local / sizePerThread[d], local % sizePerThread[d]};
  }
  return parts;
}

int64_t ThreadLayout::laneStride(unsigned d) const {
  int64_t stride = 1;
  for (unsigned e = d + 1; e < shape.size(); ++e)
    stride *= threadsPerWarp[e];
  return stride;
}

Value ThreadLayout::laneCoord(OpBuilder &b, Location loc, Value tid, unsigned d) const {
  Value lane = arith::RemUIOp::create(b, loc, tid, constI64(b, loc, 32));
  Value shifted = arith::DivUIOp::create(b, loc, lane, constI64(b, loc, laneStride(d)));
  return arith::RemUIOp::create(b, loc, shifted, constI64(b, loc, threadsPerWarp[d]));
}

Value ThreadLayout::warpCoord(OpBuilder &b, Location loc, Value tid, unsigned d) const {
  int64_t stride = 1;
  for (unsigned e = d + 1; e < shape.size(); ++e)
    stride *= warpsPerCTA[e];
  Value warp = arith::DivUIOp::create(b, loc, tid, constI64(b, loc, 32));
  Value shifted = arith::DivUIOp::create(b, loc, warp, constI64(b, loc, stride));
  return arith::RemUIOp::create(b, loc, shifted, constI64(b, loc, warpsPerCTA[d]));
}

/// The first element this thread holds along d (before repeats and wrapping).
static Value threadBase(const ThreadLayout &l, OpBuilder &b, Location loc, Value tid,
                        unsigned d) {
  Value w = arith::MulIOp::create(b, loc, l.warpCoord(b, loc, tid, d),
                                  constI64(b, loc, l.lanes(d)));
  Value t = arith::AddIOp::create(b, loc, w, l.laneCoord(b, loc, tid, d));
  return arith::MulIOp::create(b, loc, t, constI64(b, loc, l.sizePerThreadAlong(d)));
}

SmallVector<Value> ThreadLayout::wgmmaCoords(OpBuilder &b, Location loc, Value tid,
                                             int64_t reg) const {
  if (sliced[0]) { // a column vector holds (8-column group, column)
    Value lane = arith::RemUIOp::create(b, loc, tid, constI64(b, loc, 32));
    Value col = arith::MulIOp::create(b, loc, arith::RemUIOp::create(b, loc, lane, constI64(b, loc, 4)),
                                      constI64(b, loc, 2));
    return {arith::AddIOp::create(b, loc, col, constI64(b, loc, 8 * (reg / 2) + reg % 2))};
  }
  // A row vector holds (slab, half); a tile (slab, 8-column group, half, column).
  int64_t perSlab = sliced[1] ? 2 : shape[1] / 2;
  int64_t slab = reg / perSlab, q = reg % perSlab;
  int64_t group = sliced[1] ? 0 : q / 4;
  int64_t half = sliced[1] ? q : (q % 4) / 2, column = sliced[1] ? 0 : q % 2;
  Value lane = arith::RemUIOp::create(b, loc, tid, constI64(b, loc, 32));
  Value warp = arith::DivUIOp::create(b, loc, tid, constI64(b, loc, 32));
  Value warpgroup = arith::DivUIOp::create(b, loc, warp, constI64(b, loc, 4));
  Value warpInGroup = arith::RemUIOp::create(b, loc, warp, constI64(b, loc, 4));
  // row = (slab * W + g) * 64 + 16 w + l / 4 + 8 half
  Value row = arith::MulIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, constI64(b, loc, slab * wgmmaWarpgroups), warpgroup),
      constI64(b, loc, 64));
  row = arith::AddIOp::create(b, loc, row,
                              arith::MulIOp::create(b, loc, warpInGroup, constI64(b, loc, 16)));
  row = arith::AddIOp::create(b, loc, row,
                              arith::DivUIOp::create(b, loc, lane, constI64(b, loc, 4)));
  row = arith::AddIOp::create(b, loc, row, constI64(b, loc, 8 * half));
  if (sliced[1])
    return {row};
  // column = 8 group + 2 (l % 4) + column
  Value col = arith::MulIOp::create(b, loc, arith::RemUIOp::create(b, loc, lane, constI64(b, loc, 4)),
                                    constI64(b, loc, 2));
  col = arith::AddIOp::create(b, loc, col, constI64(b, loc, 8 * group + column));
  return {row, col};
}

std::optional<std::pair<int64_t, int64_t>> ThreadLayout::columnSpan(int64_t reg) const {
  if (shape.size() != 2 || sliced[0] || sliced[1])
    return std::nullopt;
  if (wgmmaWarpgroups) {
    int64_t group = (reg % (shape[1] / 2)) / 4; // as wgmmaCoords numbers them
    return std::make_pair(8 * group, 8 * group + 8);
  }
  if (shape[1] < coverage(1)) // wrapped
    return std::nullopt;
  int64_t repeat = decompose(reg)[1].first;
  return std::make_pair(repeat * coverage(1), (repeat + 1) * coverage(1));
}

/// Register `reg`'s coordinate along d before wrapping (>= the extent on a
/// thread that holds a copy).
static Value unwrappedCoord(const ThreadLayout &l, OpBuilder &b, Location loc, Value tid,
                            std::pair<int64_t, int64_t> part, unsigned d) {
  return arith::AddIOp::create(b, loc, threadBase(l, b, loc, tid, d),
                               constI64(b, loc, part.first * l.coverage(d) + part.second));
}

Value ThreadLayout::holdsCopy(OpBuilder &b, Location loc, Value tid, int64_t reg,
                              unsigned d) const {
  if (wgmmaWarpgroups || sliced[d] || shape[d] >= coverage(d))
    return {};
  Value c = unwrappedCoord(*this, b, loc, tid, decompose(reg)[d], d);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, c, constI64(b, loc, shape[d]));
}

SmallVector<Value> ThreadLayout::coords(OpBuilder &b, Location loc, Value tid,
                                        int64_t reg) const {
  if (wgmmaWarpgroups)
    return wgmmaCoords(b, loc, tid, reg);
  SmallVector<Value> result;
  auto parts = decompose(reg);
  for (unsigned d = 0; d < shape.size(); ++d) {
    if (sliced[d])
      continue;
    Value c = unwrappedCoord(*this, b, loc, tid, parts[d], d);
    if (shape[d] < coverage(d)) // wrapped: threads beyond the extent hold copies
      c = arith::AndIOp::create(b, loc, c, constI64(b, loc, shape[d] - 1));
    result.push_back(c);
  }
  return result;
}

Value ThreadLayout::owner(OpBuilder &b, Location loc, Value tid) const {
  Value result;
  if (wgmmaWarpgroups) {
    if (sliced[0]) // a column: lanes l / 4 = 0 of warp 0 own it
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid, constI64(b, loc, 4));
    if (!sliced[1])
      return result; // every element of a tile has one holder
    // A row's four lanes (l % 4 = 0..3) hold it; the first one owns it.
    Value lane = arith::RemUIOp::create(b, loc, tid, constI64(b, loc, 32));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                 arith::RemUIOp::create(b, loc, lane, constI64(b, loc, 4)),
                                 constI64(b, loc, 0));
  }
  auto both = [&](Value cond) {
    result = result ? arith::AndIOp::create(b, loc, result, cond).getResult() : cond;
  };
  for (unsigned d = 0; d < shape.size(); ++d) {
    if (sliced[d]) {
      if (coverage(d) / sizePerThread[d] > 1) // several threads along d share the value
        both(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                   threadBase(*this, b, loc, tid, d), constI64(b, loc, 0)));
    } else if (shape[d] < coverage(d)) {
      both(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                 threadBase(*this, b, loc, tid, d),
                                 constI64(b, loc, shape[d])));
    }
  }
  return result;
}

int64_t ThreadLayout::sliceRegister(int64_t reg, unsigned dim) const {
  if (wgmmaWarpgroups) { // rows (dim 1): (slab, half); columns (dim 0): (group, column)
    assert(!sliced[0] && !sliced[1] && "slices of a WGMMA tile, not of its vectors");
    int64_t perSlab = shape[1] / 2, q = reg % perSlab;
    if (dim == 0)
      return (q / 4) * 2 + q % 2;
    return (reg / perSlab) * 2 + (q % 4) / 2;
  }
  auto parts = decompose(reg);
  int64_t result = 0;
  for (unsigned d = 0; d < shape.size(); ++d) {
    if (d == dim || sliced[d])
      continue;
    result = result * registersAlong(d) + parts[d].first * sizePerThread[d] + parts[d].second;
  }
  return result;
}

int64_t mlir::tile::registersPerThread(RankedTensorType type) {
  FailureOr<ThreadLayout> layout = ThreadLayout::get(type);
  return succeeded(layout) ? layout->numRegisters() : -1;
}
