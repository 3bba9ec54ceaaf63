# RUN: %python %s | FileCheck %s
# Row softmax: tile.reduce, v[:, None] / v[None, :] broadcasts, tile.iota,
# comparisons, tile.where, math.exp, casts.
import tile


@tile.jit
def softmax(X, Y, BM: tile.constexpr, BN: tile.constexpr):
    row = tile.program_id(0) * BM
    x = tile.load(X, (row, 0), (BM, BN)).to(tile.float32)
    inside = tile.arange(BN) < X.shape[1]
    x = tile.where(inside[None, :], x, float("-inf"))
    row_max = tile.max(x, 1)
    e = tile.exp(x - row_max[:, None])
    tile.store(Y, (row, 0), (e / tile.sum(e, 1)[:, None]).to(Y.dtype))


# CHECK-LABEL: func.func @softmax(
# CHECK-SAME: %{{[a-z0-9_]+}}: !tile.ptr<f16> {tile.divisibility = 16 : i64}, %{{[a-z0-9_]+}}: i32 {tile.divisibility = 16 : i64}, %[[N:[a-z0-9_]+]]: i32
# CHECK: %[[T:[a-z0-9_]+]] = tile.load %{{.*}} : !tile.view<f16, 2> -> tensor<4x256xf16>
# CHECK: %[[X:[a-z0-9_]+]] = arith.extf %[[T]] : tensor<4x256xf16> to tensor<4x256xf32>
# CHECK: %[[IOTA:[a-z0-9_]+]] = tile.iota : tensor<256xi32>
# CHECK: %[[NS:[a-z0-9_]+]] = tile.splat %[[N]] : i32 -> tensor<256xi32>
# CHECK: %[[IN:[a-z0-9_]+]] = arith.cmpi slt, %[[IOTA]], %[[NS]] : tensor<256xi32>
# CHECK: %[[MASK:[a-z0-9_]+]] = tile.broadcast %[[IN]], dim = 0 : tensor<256xi1> -> tensor<4x256xi1>
# CHECK: %[[NINF:[a-z0-9_]+]] = arith.constant dense<0xFF800000> : tensor<4x256xf32>
# CHECK: %[[XM:[a-z0-9_]+]] = arith.select %[[MASK]], %[[X]], %[[NINF]] : tensor<4x256xi1>, tensor<4x256xf32>
# CHECK: %[[MAX:[a-z0-9_]+]] = tile.reduce max %[[XM]], dim = 1 : tensor<4x256xf32> -> tensor<4xf32>
# CHECK: %[[MB:[a-z0-9_]+]] = tile.broadcast %[[MAX]], dim = 1 : tensor<4xf32> -> tensor<4x256xf32>
# CHECK: %[[D:[a-z0-9_]+]] = arith.subf %[[XM]], %[[MB]] fastmath<contract> : tensor<4x256xf32>
# CHECK: %[[E:[a-z0-9_]+]] = math.exp %[[D]] : tensor<4x256xf32>
# CHECK: %[[SUM:[a-z0-9_]+]] = tile.reduce sum %[[E]], dim = 1 : tensor<4x256xf32> -> tensor<4xf32>
# CHECK: %[[SB:[a-z0-9_]+]] = tile.broadcast %[[SUM]], dim = 1 : tensor<4xf32> -> tensor<4x256xf32>
# CHECK: %[[Y:[a-z0-9_]+]] = arith.divf %[[E]], %[[SB]] : tensor<4x256xf32>
# CHECK: arith.truncf %[[Y]] : tensor<4x256xf32> to tensor<4x256xf16>
print(softmax.ir("*f16[2]:16", "*f16[2]:16", BM=4, BN=256))


@tile.jit
def outer(X, BM: tile.constexpr, BN: tile.constexpr):
    rows = tile.arange(BM)
    cols = tile.arange(BN)
    causal = rows[:, None] >= cols[None, :]
    m = tile.min(tile.where(causal, 1.0, 0.0), 0)
    tile.store(X, (0,), m)


# Two pending broadcasts meet: each takes its size from the other.
# CHECK-LABEL: func.func @outer
# CHECK: %[[R:[a-z0-9_]+]] = tile.broadcast %{{[a-z0-9_]+}}, dim = 1 : tensor<16xi32> -> tensor<16x32xi32>
# CHECK: %[[C:[a-z0-9_]+]] = tile.broadcast %{{[a-z0-9_]+}}, dim = 0 : tensor<32xi32> -> tensor<16x32xi32>
# CHECK: %[[CMP:[a-z0-9_]+]] = arith.cmpi sge, %[[R]], %[[C]] : tensor<16x32xi32>
# CHECK: arith.select %[[CMP]], %{{.*}}, %{{.*}} : tensor<16x32xi1>, tensor<16x32xf32>
# CHECK: tile.reduce min %{{[a-z0-9_]+}}, dim = 0 : tensor<16x32xf32> -> tensor<32xf32>
print(outer.ir("*f32:16", BM=16, BN=32))


@tile.jit
def scalars_and_scans(X, Y, I, BLOCK: tile.constexpr):
    x = tile.load(X, 0, BLOCK)
    total = tile.sum(x)
    first = tile.argmax(x, 0)
    assert total > 0, "positive"
    tile.device_print("total", total, first)
    tile.store(Y, 0, tile.cumsum(x) / total)
    tile.store(I, 0, tile.full((BLOCK,), first, tile.int32))


# A 1-D tile reduces to a scalar (dim = 0); argmax gives i32; an assert on
# runtime values is a tile.assert whose message is the given one.
# CHECK-LABEL: func.func @scalars_and_scans
# CHECK: %[[X:[a-z0-9_]+]] = tile.load
# CHECK: %[[T:[a-z0-9_]+]] = tile.reduce sum %[[X]], dim = 0 : tensor<128xf32> -> f32
# CHECK: %[[A:[a-z0-9_]+]] = tile.reduce argmax %[[X]], dim = 0 : tensor<128xf32> -> i32
# CHECK: %[[POS:[a-z0-9_]+]] = arith.cmpf ogt, %[[T]]
# CHECK: tile.assert %[[POS]], "positive" : i1
# CHECK: tile.print "total", %[[T]], %[[A]] : f32, i32
# CHECK: tile.scan sum %[[X]], dim = 0 : tensor<128xf32>
print(scalars_and_scans.ir("*f32:16", "*f32:16", "*i32:16", BLOCK=128))
