# RUN: %python %s | FileCheck %s
# Python control flow: range loops carry the names they rebind, runtime ifs
# yield the names their branches assign, while loops, constexpr ifs fold.
import tile


@tile.jit
def running_sum(x, out, n, BLOCK: tile.constexpr):
    total = tile.zeros((BLOCK,), tile.float32)
    count = 0
    for i in range(0, n, BLOCK):
        v = tile.load(x, i, BLOCK, bound=n)
        total += v
        count += 1
    tile.store(out, count, total)


# `total` and `count` are carried; `v` is not (it is rebound before any read).
# CHECK-LABEL: func.func @running_sum
# CHECK-DAG: %[[ZERO:[a-z0-9_]+]] = arith.constant dense<0.000000e+00> : tensor<64xf32>
# CHECK-DAG: %[[STEP:[a-z0-9_]+]] = arith.constant 64 : i32
# CHECK: %[[R:[a-z0-9_]+]]:2 = scf.for %[[I:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %[[STEP]] iter_args(%[[T:[a-z0-9_]+]] = %[[ZERO]], %[[C:[a-z0-9_]+]] = %{{[a-z0-9_]+}}) -> (tensor<64xf32>, i32) : i32 {
# CHECK: %[[V:[a-z0-9_]+]] = tile.load %{{.*}}[%[[I]]] bound
# CHECK: %[[T2:[a-z0-9_]+]] = arith.addf %[[T]], %[[V]] fastmath<contract> : tensor<64xf32>
# CHECK: %[[C2:[a-z0-9_]+]] = arith.addi %[[C]], %{{.*}} : i32
# CHECK: scf.yield %[[T2]], %[[C2]] : tensor<64xf32>, i32
# CHECK: tile.store %[[R]]#0, %{{.*}}[%[[R]]#1] : tensor<64xf32>, !tile.ptr<f32>
print(running_sum.ir("*f32:16", "*f32:16", "i32", BLOCK=64))


@tile.jit
def branches(x, n, BLOCK: tile.constexpr, DOUBLE: tile.constexpr):
    a = tile.load(x, 0, BLOCK)
    if n > 4:
        a = a * 3.0
        k = 1
    else:
        k = n
    if DOUBLE:
        a = a + a
    tile.store(x, k, a)


# A runtime `if` yields `a` (a tile) and `k` (a constant in one branch, a
# parameter in the other); the constexpr `if` leaves no trace.
# CHECK-LABEL: func.func @branches
# CHECK: %[[A:[a-z0-9_]+]] = tile.load
# CHECK: %[[COND:[a-z0-9_]+]] = arith.cmpi sgt, %{{.*}}, %{{.*}} : i32
# CHECK: %[[R:[a-z0-9_]+]]:2 = scf.if %[[COND]] -> (tensor<32xf32>, i32) {
# CHECK: %[[A3:[a-z0-9_]+]] = arith.mulf %[[A]], %{{.*}} fastmath<contract> : tensor<32xf32>
# CHECK: scf.yield %[[A3]], %{{.*}} : tensor<32xf32>, i32
# CHECK: } else {
# CHECK: scf.yield %[[A]], %{{.*}} : tensor<32xf32>, i32
# CHECK: }
# CHECK: %[[D:[a-z0-9_]+]] = arith.addf %[[R]]#0, %[[R]]#0 fastmath<contract> : tensor<32xf32>
# CHECK: tile.store %[[D]], %{{.*}}[%[[R]]#1] : tensor<32xf32>
print(branches.ir("*f32:16", "i32", BLOCK=32, DOUBLE=True))
# CHECK-LABEL: func.func @branches
# CHECK-NOT: arith.addf
# CHECK: tile.store
print(branches.ir("*f32:16", "i32", BLOCK=32, DOUBLE=False))


@tile.jit
def halve_until(x, n):
    m = n
    while m > 16:
        m = m // 2
    tile.store(x, m, tile.zeros((16,), tile.float32))


# CHECK-LABEL: func.func @halve_until
# CHECK: %[[W:[a-z0-9_]+]] = scf.while (%[[M:[a-z0-9_]+]] = %{{.*}}) : (i32) -> i32 {
# CHECK: %[[C:[a-z0-9_]+]] = arith.cmpi sgt, %[[M]], %{{.*}} : i32
# CHECK: scf.condition(%[[C]]) %[[M]] : i32
# CHECK: } do {
# CHECK: ^bb0(%[[M2:[a-z0-9_]+]]: i32):
# CHECK: %[[H:[a-z0-9_]+]] = arith.floordivsi %[[M2]], %{{.*}} : i32
# CHECK: scf.yield %[[H]] : i32
# CHECK: tile.store %{{.*}}, %{{.*}}[%[[W]]]
print(halve_until.ir("*f32:16", "i32"))


@tile.jit
def nested(x, n, BLOCK: tile.constexpr):
    acc = tile.zeros((BLOCK,), tile.float32)
    for i in range(n):
        for j in range(i, n):
            acc = acc + 1.0
    tile.store(x, 0, acc)


# An inner loop's result feeds the outer loop's yield.
# CHECK-LABEL: func.func @nested
# CHECK: %[[O:[a-z0-9_]+]] = scf.for %{{.*}} iter_args(%[[A:[a-z0-9_]+]] = %{{.*}}) -> (tensor<16xf32>) : i32 {
# CHECK: %[[I:[a-z0-9_]+]] = scf.for %{{.*}} iter_args(%[[B:[a-z0-9_]+]] = %[[A]]) -> (tensor<16xf32>) : i32 {
# CHECK: scf.yield %{{.*}} : tensor<16xf32>
# CHECK: scf.yield %[[I]] : tensor<16xf32>
# CHECK: tile.store %[[O]]
print(nested.ir("*f32:16", "i32", BLOCK=16))
