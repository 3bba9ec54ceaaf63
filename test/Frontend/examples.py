# RUN: %python %s | FileCheck %s
# The kernels of examples/ (softmax, GEMM, attention) give verified tile IR.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import attention  # noqa: E402
import gemm  # noqa: E402
import softmax  # noqa: E402

# CHECK-LABEL: func.func @softmax
# CHECK: tile.reduce max
# CHECK: math.exp
# CHECK: tile.reduce sum
# CHECK: arith.divf
print(softmax.softmax.ir("*f16[2]:16", "*f16[2]:16", BM=4, BN=1024))

# CHECK-LABEL: func.func @gemm
# CHECK: scf.for
# CHECK: tile.mma
# CHECK: scf.yield
# CHECK: tile.store
print(gemm.gemm.ir("*bf16[2]:16", "*bf16[2]:16", "*bf16[2]:16", BM=128, BN=128, BK=64))

# The online softmax carries the row max, the row sum and the accumulator
# (in the order the kernel defines them); with the causal mask, the blocks
# left of the diagonal run unmasked.
# CHECK-LABEL: func.func @attention_fwd
# CHECK: %[[Q:[a-z0-9_]+]] = tile.load {{.*}} -> tensor<128x64xbf16>
# CHECK: %[[NINF:[a-z0-9_]+]] = arith.constant dense<0xFF800000> : tensor<128xf32>
# CHECK: %[[R:[a-z0-9_]+]]:3 = scf.for %{{.*}} iter_args(%[[M:[a-z0-9_]+]] = %[[NINF]], %[[L:[a-z0-9_]+]] = %{{[a-z0-9_]+}}, %[[ACC:[a-z0-9_]+]] = %{{[a-z0-9_]+}}) -> (tensor<128xf32>, tensor<128xf32>, tensor<128x64xf32>) : i32 {
# CHECK: tile.mma %[[Q]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {transpose_b} : tensor<128x64xbf16>, tensor<64x64xbf16>, tensor<128x64xf32> -> tensor<128x64xf32>
# CHECK-NOT: arith.cmpi
# CHECK: %[[SMAX:[a-z0-9_]+]] = tile.reduce max %{{[a-z0-9_]+}}, dim = 1 : tensor<128x64xf32> -> tensor<128xf32>
# CHECK: %[[SMAXS:[a-z0-9_]+]] = arith.mulf %[[SMAX]], %{{[a-z0-9_]+}} fastmath<contract> : tensor<128xf32>
# CHECK: %[[MMAX:[a-z0-9_]+]] = arith.maximumf %[[M]], %[[SMAXS]] : tensor<128xf32>
# The max moves only once it exceeds the old by more than 8:
# CHECK: %[[MARGIN:[a-z0-9_]+]] = arith.constant dense<8.000000e+00> : tensor<128xf32>
# CHECK: %[[MTH:[a-z0-9_]+]] = arith.addf %[[M]], %[[MARGIN]] fastmath<contract> : tensor<128xf32>
# CHECK: %[[GROWN:[a-z0-9_]+]] = arith.cmpf ogt, %[[MMAX]], %[[MTH]] : tensor<128xf32>
# CHECK: %[[MNEW:[a-z0-9_]+]] = arith.select %[[GROWN]], %[[MMAX]], %[[M]] : tensor<128xi1>, tensor<128xf32>
# CHECK: %[[DM:[a-z0-9_]+]] = arith.subf %[[M]], %[[MNEW]] fastmath<contract> : tensor<128xf32>
# CHECK: %[[ALPHA:[a-z0-9_]+]] = math.exp2 %[[DM]] : tensor<128xf32>
# CHECK: %[[P:[a-z0-9_]+]] = math.exp2 %{{[a-z0-9_]+}} : tensor<128x64xf32>
# CHECK: %[[LA:[a-z0-9_]+]] = arith.mulf %[[L]], %[[ALPHA]] fastmath<contract> : tensor<128xf32>
# CHECK: %[[PSUM:[a-z0-9_]+]] = tile.reduce sum %[[P]], dim = 1
# CHECK: %[[LNEW:[a-z0-9_]+]] = arith.addf %[[LA]], %[[PSUM]] fastmath<contract> : tensor<128xf32>
# CHECK: %[[PB:[a-z0-9_]+]] = arith.truncf %[[P]] : tensor<128x64xf32> to tensor<128x64xbf16>
# CHECK: %[[AB:[a-z0-9_]+]] = tile.broadcast %[[ALPHA]], dim = 1 : tensor<128xf32> -> tensor<128x64xf32>
# CHECK: %[[SCALED:[a-z0-9_]+]] = arith.mulf %[[ACC]], %[[AB]] fastmath<contract> : tensor<128x64xf32>
# CHECK: %[[PV:[a-z0-9_]+]] = tile.mma %[[PB]], %{{[a-z0-9_]+}}, %[[SCALED]] : tensor<128x64xbf16>, tensor<64x64xbf16>, tensor<128x64xf32> -> tensor<128x64xf32>
# CHECK: scf.yield %[[MNEW]], %[[LNEW]], %[[PV]]
# The diagonal block(s): a second loop, masked, from the first one's state.
# CHECK: %[[R2:[a-z0-9_]+]]:3 = scf.for %{{.*}} iter_args(%{{[a-z0-9_]+}} = %[[R]]#0, %{{[a-z0-9_]+}} = %[[R]]#1, %{{[a-z0-9_]+}} = %[[R]]#2)
# CHECK: arith.cmpi sge, {{.*}} : tensor<128x64xi32>
# CHECK: scf.yield
# CHECK: %[[RL:[a-z0-9_]+]] = arith.divf %{{[a-z0-9_]+}}, %[[R2]]#1 : tensor<128xf32>
# CHECK: %[[LB:[a-z0-9_]+]] = tile.broadcast %[[RL]], dim = 1
# CHECK: arith.mulf %[[R2]]#2, %[[LB]] fastmath<contract> : tensor<128x64xf32>
ATTENTION_ARGS = ("*bf16[2]:16",) * 4 + ("*f32:16", "i32:16", "i32", "f32")
print(attention.attention_fwd.ir(*ATTENTION_ARGS, BM=128, BN=64, D=64, CAUSAL=True,
                                 EVEN_SEQ=True))

# Without the causal mask there is no comparison in the loop (EVEN_SEQ's promise
# is checked once, before it, by asserts that only debug builds keep).
# CHECK-LABEL: func.func @attention_fwd
# CHECK: tile.assert
# CHECK: tile.assert
# CHECK: scf.for
# CHECK-NOT: arith.cmpi
# CHECK: scf.yield
# CHECK-NOT: arith.cmpi
# CHECK: tile.store
print(attention.attention_fwd.ir(*ATTENTION_ARGS, BM=128, BN=64, D=64, CAUSAL=False,
                                 EVEN_SEQ=True))

# Any seq_len: the full key blocks' loop has no comparison; a second loop takes
# the partial block, keys past seq_len masked; the last query block's store is
# masked under a branch, and the log-sum-exp stored within the head's rows.
# CHECK-LABEL: func.func @attention_fwd
# CHECK: scf.for
# CHECK-NOT: arith.cmpi
# CHECK: scf.yield
# CHECK: scf.for
# CHECK: arith.cmpi slt, {{.*}} : tensor<64xi32>
# CHECK: arith.select {{.*}} : tensor<128x64xi1>, tensor<128x64xf32>
# CHECK: scf.yield
# CHECK: scf.if
# CHECK: tile.store
# CHECK: } else {
# CHECK: tile.scatter
# CHECK: math.log2
# CHECK: tile.store
print(attention.attention_fwd.ir(*ATTENTION_ARGS, BM=128, BN=64, D=64, CAUSAL=False,
                                 STORE_LSE=True))
