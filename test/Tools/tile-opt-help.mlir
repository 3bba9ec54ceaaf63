// RUN: tile-opt --help | FileCheck %s
// tile-opt lists tile's passes and pipelines beside upstream's.
// CHECK-DAG: --convert-tile-to-gpu
// CHECK-DAG: --tile-assign-layouts
// CHECK-DAG: --tile-tma-store
// CHECK-DAG: --tile-to-llvm
// CHECK-DAG: --gpu-module-to-binary
