# RUN: %python %s | FileCheck %s
# numpy broadcasting: a column of scalars stays a 1-D tile until it meets a row
# (the outer product broadcasts both sides once), a 1-D tile with a 2-D one is a
# row, and a real (1, N) tile stretches by taking the 1-D tile it was made from.
import tile


@tile.jit
def shapes(X, Y, H, N: tile.constexpr):
    heads = tile.arange(N)
    row = (heads + H)[:, None] * 2
    offsets = row + heads[None, :]
    stored = tile.expand_dims(tile.load(X, 0, N), 0)
    tile.store(Y, (0, 0), stored)
    tile.store(Y, (0, 0), tile.load(X, offsets) + tile.load(X, 0, N) + stored)


# CHECK-LABEL: func.func @shapes
# CHECK: %[[H:[a-z0-9_]+]] = tile.iota : tensor<16xi32>
# CHECK: %[[ADD:[a-z0-9_]+]] = arith.addi %[[H]], %{{[a-z0-9_]+}} : tensor<16xi32>
# CHECK: %[[ROW:[a-z0-9_]+]] = arith.muli %[[ADD]], %{{[a-z0-9_]+}} : tensor<16xi32>
# CHECK: %[[COL:[a-z0-9_]+]] = tile.broadcast %[[ROW]], dim = 1 : tensor<16xi32> -> tensor<16x16xi32>
# CHECK: %[[HR:[a-z0-9_]+]] = tile.broadcast %[[H]], dim = 0 : tensor<16xi32> -> tensor<16x16xi32>
# CHECK: arith.addi %[[COL]], %[[HR]] : tensor<16x16xi32>
# CHECK: %[[X:[a-z0-9_]+]] = tile.load %{{.*}} -> tensor<16xf32>
# CHECK: %[[ONE:[a-z0-9_]+]] = tile.broadcast %[[X]], dim = 0 : tensor<16xf32> -> tensor<1x16xf32>
# CHECK: tile.store %[[ONE]]
# CHECK-NOT: tile.reduce
# CHECK: tile.broadcast %[[X]], dim = 0 : tensor<16xf32> -> tensor<16x16xf32>
# CHECK-NOT: tensor<16x1x
# CHECK: return
print(shapes.ir("*f32:16", "*f32[2]:16", "i32", N=16))
