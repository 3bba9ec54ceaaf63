# RUN: %python %s | FileCheck %s
# break, continue and return inside runtime control flow become i1 flags
# (frontend/early_exit.py): a range loop that may break at run time is an
# scf.while over a counter whose condition tests the break flag first; what
# follows a break or continue runs under an scf.if on its flag; an early return
# guards the rest of the kernel; exits only constexpr ifs take keep the scf.for.
import tile


@tile.jit
def search(x, out, n, limit, BLOCK: tile.constexpr):
    acc = tile.zeros((BLOCK,), tile.float32)
    for b in range(0, n):
        if b * b > limit:
            break
        if b % 3 == 0:
            continue
        acc = acc + tile.load(x, b * BLOCK, BLOCK)
    tile.store(out, 0, acc)


# CHECK-LABEL: func.func @search
# CHECK: %[[FALSE:[a-z0-9_]+]] = arith.constant false
# CHECK: %[[R:[0-9]+]]:3 = scf.while (%[[ACC:[a-z0-9_]+]] = %{{.*}}, %[[BRK:[a-z0-9_]+]] = %[[FALSE]], %[[B:[a-z0-9_]+]] = %{{.*}}) : (tensor<64xf32>, i1, i32)
# CHECK: %[[GO:[0-9]+]] = arith.xori %[[BRK]], %{{.*}} : i1
# CHECK: %[[IN:[0-9]+]] = arith.cmpi slt, %[[B]], %{{.*}} : i32
# CHECK: %[[C:[0-9]+]] = arith.andi %[[GO]], %[[IN]] : i1
# CHECK: scf.condition(%[[C]])
# CHECK: } do {
# CHECK: %[[NEXT:[0-9]+]] = arith.addi %[[B2:[a-z0-9_]+]], %{{.*}} : i32
# CHECK: scf.if %{{.*}} -> (i1) {
# The rest runs where the break flag is false (there it is a constant again).
# CHECK: %[[REST:[0-9]+]]:2 = scf.if %{{.*}} -> (tensor<64xf32>, i1) {
# CHECK: scf.if %{{.*}} -> (i1) {
# CHECK: scf.if %{{.*}} -> (tensor<64xf32>) {
# CHECK: tile.load
# CHECK: scf.yield %[[REST]]#0, %[[REST]]#1, %[[NEXT]] : tensor<64xf32>, i1, i32
# CHECK: tile.store %[[R]]#0
print(search.ir("*f32:16", "*f32:16", "i32", "i32", BLOCK=64))


@tile.jit
def guarded(x, y, n, BLOCK: tile.constexpr):
    pid = tile.program_id(0)
    if pid >= n:
        return
    tile.store(y, pid * BLOCK, tile.load(x, pid * BLOCK, BLOCK))


# CHECK-LABEL: func.func @guarded
# CHECK: %[[OUT:[0-9]+]] = arith.cmpi sge
# CHECK: %[[RET:[0-9]+]] = scf.if %[[OUT]] -> (i1) {
# CHECK: %[[GO:[0-9]+]] = arith.xori %[[RET]], %{{.*}} : i1
# CHECK: scf.if %[[GO]] {
# CHECK: tile.load
# CHECK: tile.store
print(guarded.ir("*f32:16", "*f32:16", "i32", BLOCK=64))


@tile.jit
def constexpr_break(x, n, EARLY: tile.constexpr, BLOCK: tile.constexpr):
    acc = tile.zeros((BLOCK,), tile.float32)
    for i in range(0, n):
        if EARLY:
            break
        acc = acc + 1.0
    tile.store(x, 0, acc)


# CHECK-LABEL: func.func @constexpr_break
# CHECK-NOT: scf.while
# CHECK-NOT: scf.if
# CHECK: scf.for
# CHECK-NOT: scf.if
# CHECK: tile.store
print(constexpr_break.ir("*f32:16", "i32", EARLY=False, BLOCK=64))
