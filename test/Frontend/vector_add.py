# RUN: %python %s | FileCheck %s
# The 1-D pointer form: program_id, scalar arithmetic, bounded load/store.
import tile


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


# Aligned arrays and sizes carry tile.divisibility; unit strides are not parameters.
# CHECK-LABEL: func.func @add(
# CHECK-SAME: %[[X:[a-z0-9]+]]: !tile.ptr<f32> {tile.divisibility = 16 : i64}
# CHECK-SAME: %[[N:[a-z0-9]+]]: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32}
# CHECK: %[[PID:[a-z0-9_]+]] = tile.program_id 0
# CHECK: %[[C:[a-z0-9_]+]] = arith.constant 1024 : i32
# CHECK: %[[START:[a-z0-9_]+]] = arith.muli %[[PID]], %[[C]] : i32
# CHECK: %[[A:[a-z0-9_]+]] = tile.load %[[X]][%[[START]]] bound %[[N]] : !tile.ptr<f32> -> tensor<1024xf32>
# CHECK: %[[B:[a-z0-9_]+]] = tile.load %{{.*}}[%[[START]]] bound %[[N]] : !tile.ptr<f32> -> tensor<1024xf32>
# CHECK: %[[SUM:[a-z0-9_]+]] = arith.addf %[[A]], %[[B]] fastmath<contract> : tensor<1024xf32>
# CHECK: tile.store %[[SUM]], %{{.*}}[%[[START]]] bound %[[N]] : tensor<1024xf32>, !tile.ptr<f32>
print(add.ir("*f32:16", "*f32:16", "*f32:16", "i32:16", BLOCK=1024))

# Unaligned: no divisibility facts; num_warps reaches the kernel attribute.
# CHECK-LABEL: func.func @add(
# CHECK-NOT: tile.divisibility
# CHECK-SAME: tile.num_warps = 8 : i32
print(add.ir("*f32", "*f32", "*f32", "i32", BLOCK=256, num_warps=8))
