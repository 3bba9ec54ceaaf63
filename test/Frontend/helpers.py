# RUN: %python %s | FileCheck %s
# Calls to other @tile.jit functions are inlined with their own source
# locations; they may take constexprs and return several values.
import tile


@tile.jit
def scaled_sum(a, b, factor: tile.constexpr):
    total = a + b
    return total * factor, total


@tile.jit
def caller(x, BLOCK: tile.constexpr):
    a = tile.load(x, 0, BLOCK)
    s, t = scaled_sum(a, a, factor=2.0)
    tile.store(x, 0, s - t)


# CHECK-LABEL: func.func @caller
# CHECK: %[[A:[a-z0-9_]+]] = tile.load {{.*}} loc(#[[LOAD:loc[0-9]+]])
# CHECK: %[[T:[a-z0-9_]+]] = arith.addf %[[A]], %[[A]] fastmath<contract> : tensor<64xf32> loc(#[[ADD:loc[0-9]+]])
# CHECK: %[[S:[a-z0-9_]+]] = arith.mulf %[[T]], %{{[a-z0-9_]+}} fastmath<contract> : tensor<64xf32> loc(#[[MUL:loc[0-9]+]])
# CHECK: arith.subf %[[S]], %[[T]] fastmath<contract> : tensor<64xf32> loc(#[[SUB:loc[0-9]+]])
# The helper's ops point into the helper, the caller's into the caller.
# CHECK-DAG: #[[LOAD]] = loc("{{.*}}helpers.py":15:9)
# CHECK-DAG: #[[ADD]] = loc("{{.*}}helpers.py":9:13)
# CHECK-DAG: #[[MUL]] = loc("{{.*}}helpers.py":10:12)
# CHECK-DAG: #[[SUB]] = loc("{{.*}}helpers.py":17:22)
print(caller.ir("*f32:16", BLOCK=64, locations=True))
