# RUN: %python %s | FileCheck %s
# The N-D view form of load/store (one tile.make_view per array, at the top of
# the kernel) and tile.mma, in a GEMM main loop.
import tile


@tile.jit
def gemm(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):
        a = tile.load(A, (i, k), (BM, BK))
        b = tile.load(B, (k, j), (BK, BN))
        acc = tile.mma(a, b, acc)
    tile.store(C, (i, j), acc.to(C.dtype))


# Sizes and the outer stride are parameters; the unit inner stride is the constant 1.
# CHECK-LABEL: func.func @gemm(
# CHECK-SAME: %[[A:[a-z0-9_]+]]: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %[[M:[a-z0-9_]+]]: i32 {tile.divisibility = 16 : i64}, %[[K:[a-z0-9_]+]]: i32 {tile.divisibility = 16 : i64}, %[[LDA:[a-z0-9_]+]]: i32
# CHECK: %[[ONE:[a-z0-9_]+]] = arith.constant 1 : i32
# CHECK: %[[VA:[a-z0-9_]+]] = tile.make_view %[[A]], [%[[M]], %[[K]]], [%[[LDA]], %[[ONE]]] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
# CHECK: %[[VB:[a-z0-9_]+]] = tile.make_view %{{[a-z0-9_]+}}, [{{.*}}], [%{{[a-z0-9_]+}}, %[[ONE]]] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
# CHECK: %[[VC:[a-z0-9_]+]] = tile.make_view
# CHECK: %[[ZERO:[a-z0-9_]+]] = arith.constant dense<0.000000e+00> : tensor<128x64xf32>
# CHECK: %[[R:[a-z0-9_]+]] = scf.for %[[KK:[a-z0-9_]+]] = %{{[a-z0-9_]+}} to %[[K]] step %{{[a-z0-9_]+}} iter_args(%[[ACC:[a-z0-9_]+]] = %[[ZERO]]) -> (tensor<128x64xf32>) : i32 {
# CHECK: %[[TA:[a-z0-9_]+]] = tile.load %[[VA]][%{{[a-z0-9_]+}}, %[[KK]]] : !tile.view<bf16, 2> -> tensor<128x32xbf16>
# CHECK: %[[TB:[a-z0-9_]+]] = tile.load %[[VB]][%[[KK]], %{{[a-z0-9_]+}}] : !tile.view<bf16, 2> -> tensor<32x64xbf16>
# CHECK: %[[P:[a-z0-9_]+]] = tile.mma %[[TA]], %[[TB]], %[[ACC]] : tensor<128x32xbf16>, tensor<32x64xbf16>, tensor<128x64xf32> -> tensor<128x64xf32>
# CHECK: scf.yield %[[P]] : tensor<128x64xf32>
# CHECK: %[[OUT:[a-z0-9_]+]] = arith.truncf %[[R]] : tensor<128x64xf32> to tensor<128x64xbf16>
# CHECK: tile.store %[[OUT]], %[[VC]][%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] : tensor<128x64xbf16>, !tile.view<bf16, 2>
print(gemm.ir("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16", BM=128, BN=64, BK=32))


@tile.jit
def scores(Q, K, S, BM: tile.constexpr, BN: tile.constexpr, D: tile.constexpr):
    q = tile.load(Q, (0, 0), (BM, D))
    k = tile.load(K, (0, 0), (BN, D))
    kt = tile.load(K, (0, 0), (D, BN))
    s = tile.mma(q, k, tile.zeros((BM, BN), tile.float32), transpose_b=True)
    s = tile.mma(q.T, kt, s, transpose_a=True)
    tile.store(S, (0, 0), s)


# Transposes are unit attributes; `.T` is tile.transpose. A 1-D array's view
# has no stride parameter at all.
# CHECK-LABEL: func.func @scores
# CHECK: tile.mma %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {transpose_b} : tensor<64x32xf16>, tensor<128x32xf16>, tensor<64x128xf32> -> tensor<64x128xf32>
# CHECK: %[[QT:[a-z0-9_]+]] = tile.transpose %{{[a-z0-9_]+}} : tensor<64x32xf16> -> tensor<32x64xf16>
# CHECK: tile.mma %[[QT]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {transpose_a} : tensor<32x64xf16>, tensor<32x128xf16>, tensor<64x128xf32> -> tensor<64x128xf32>
print(scores.ir("*f16[2]:16", "*f16[2]:16", "*f32[2]:16", BM=64, BN=128, D=32))


@tile.jit
def copy(X, Y, BLOCK: tile.constexpr):
    tile.store(Y, (0,), tile.load(X, (0,), (BLOCK,)))


class StridedArray:
    """Describes every other f32 of a device buffer (as a strided CuPy view
    would); only specialization reads it, nothing dereferences the pointer."""

    __cuda_array_interface__ = {"shape": (1000,), "strides": (8,), "typestr": "<f4",
                                "data": (0x10000, False), "version": 3}


# A non-unit innermost stride is a parameter (so no constant 1 is made).
# CHECK-LABEL: func.func @copy(
# CHECK-SAME: %[[X:[a-z0-9_]+]]: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %[[N:[a-z0-9_]+]]: i32, %[[S:[a-z0-9_]+]]: i32
# CHECK-NOT: arith.constant 1 : i32
# CHECK: tile.make_view %[[X]], [%[[N]]], [%[[S]]] : !tile.ptr<f32> -> !tile.view<f32, 1>
print(copy.ir(StridedArray(), StridedArray(), BLOCK=256))
