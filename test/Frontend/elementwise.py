# RUN: %python %s | FileCheck %s
# Scalars meeting tiles (tile.splat or a splat constant), casts, math,
# maximum/minimum, integer division and remainder, cdiv.
import tile


@tile.jit
def mix(x, y, n, scale, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK)
    b = a * scale + 1.0
    c = tile.maximum(tile.exp2(b), tile.log(a))
    d = tile.minimum(c, 0.5).to(tile.bfloat16).to(tile.float16)
    i = d.to(tile.int32) % (n // 3) + tile.cdiv(n, BLOCK)
    tile.store(y, 0, i.to(tile.int8))
    q = tile.arange(BLOCK).to(tile.float32) - n.to(tile.float32)
    tile.store(x, tile.cdiv(BLOCK, 16), tile.sqrt(-q))


# CHECK-LABEL: func.func @mix
# CHECK-SAME: %[[N:[a-z0-9_]+]]: i32, %[[SCALE:[a-z0-9_]+]]: f32)
# CHECK: %[[A:[a-z0-9_]+]] = tile.load
# CHECK: %[[S:[a-z0-9_]+]] = tile.splat %[[SCALE]] : f32 -> tensor<128xf32>
# CHECK: %[[AS:[a-z0-9_]+]] = arith.mulf %[[A]], %[[S]] fastmath<contract> : tensor<128xf32>
# CHECK: %[[ONE:[a-z0-9_]+]] = arith.constant dense<1.000000e+00> : tensor<128xf32>
# CHECK: %[[B:[a-z0-9_]+]] = arith.addf %[[AS]], %[[ONE]] fastmath<contract> : tensor<128xf32>
# CHECK: %[[E:[a-z0-9_]+]] = math.exp2 %[[B]] : tensor<128xf32>
# CHECK: %[[L:[a-z0-9_]+]] = math.log %[[A]] : tensor<128xf32>
# CHECK: %[[C:[a-z0-9_]+]] = arith.maximumf %[[E]], %[[L]] : tensor<128xf32>
# CHECK: %[[D:[a-z0-9_]+]] = arith.minimumf %[[C]], %{{[a-z0-9_]+}} : tensor<128xf32>
# CHECK: %[[BF:[a-z0-9_]+]] = arith.truncf %[[D]] : tensor<128xf32> to tensor<128xbf16>
# bf16 -> f16 goes through f32.
# CHECK: %[[WIDE:[a-z0-9_]+]] = arith.extf %[[BF]] : tensor<128xbf16> to tensor<128xf32>
# CHECK: %[[H:[a-z0-9_]+]] = arith.truncf %[[WIDE]] : tensor<128xf32> to tensor<128xf16>
# CHECK: %[[I:[a-z0-9_]+]] = arith.fptosi %[[H]] : tensor<128xf16> to tensor<128xi32>
# CHECK: %[[N3:[a-z0-9_]+]] = arith.floordivsi %[[N]], %{{[a-z0-9_]+}} : i32
# CHECK: %[[N3S:[a-z0-9_]+]] = tile.splat %[[N3]] : i32 -> tensor<128xi32>
# CHECK: %[[REM:[a-z0-9_]+]] = arith.remsi %[[I]], %[[N3S]] : tensor<128xi32>
# CHECK: %[[CD:[a-z0-9_]+]] = arith.ceildivsi %[[N]], %{{[a-z0-9_]+}} : i32
# CHECK: tile.splat %[[CD]] : i32 -> tensor<128xi32>
# CHECK: %[[I8:[a-z0-9_]+]] = arith.trunci %{{[a-z0-9_]+}} : tensor<128xi32> to tensor<128xi8>
# CHECK: tile.store %[[I8]]
# CHECK: arith.sitofp %{{[a-z0-9_]+}} : tensor<128xi32> to tensor<128xf32>
# CHECK: arith.sitofp %[[N]] : i32 to f32
# CHECK: %[[NEG:[a-z0-9_]+]] = arith.negf %{{[a-z0-9_]+}} : tensor<128xf32>
# CHECK: %[[SQ:[a-z0-9_]+]] = math.sqrt %[[NEG]] : tensor<128xf32>
# A constant cdiv folds: cdiv(128, 16) = 8.
# CHECK: %[[EIGHT:[a-z0-9_]+]] = arith.constant 8 : i32
# CHECK: tile.store %[[SQ]], %{{[a-z0-9_]+}}[%[[EIGHT]]]
print(mix.ir("*f32:16", "*i8:16", "i32", "f32", BLOCK=128))


@tile.jit
def divide(x, y, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK)
    tile.store(y, 0, tile.fdiv(a, a + 1.0) + tile.fdiv(a, 3.0, ieee_rounding=True) + a / 2.0)


# tile.fdiv is the fast division (afn, lowered to div.full.f32); with
# ieee_rounding it is `/`, the correctly rounded one.
# CHECK-LABEL: func.func @divide
# CHECK: arith.divf %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} fastmath<afn> : tensor<128xf32>
# CHECK: arith.divf %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<128xf32>
# CHECK: arith.divf %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<128xf32>
print(divide.ir("*f32:16", "*f32:16", BLOCK=128))
