// RUN: tile-opt %s -split-input-file -tile-test-print-axis-info -o /dev/null 2>&1 | FileCheck %s

// A program's columns: c0 + iota with c0 = program_id * 128 runs 128 long
// from a multiple of 128; x + iota for an argument specialized ":16" from a
// multiple of 16; an unknown scalar gives runs from anywhere.
// (@columns)
func.func @columns(%n: i32 {tile.divisibility = 16 : i64}, %m: i32) {
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}divisibility = [1]
  %pid = tile.program_id 0
  %c128 = arith.constant 128 : i32
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [128], constancy = [1]
  %c0 = arith.muli %pid, %c128 : i32
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [128], divisibility = [65536], constancy = [1]
  %i = tile.iota : tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [128], constancy = [128]
  %s = tile.splat %c0 : i32 -> tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [128], divisibility = [128], constancy = [1]
  %cols = arith.addi %s, %i : tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [16], constancy = [128]
  %sn = tile.splat %n : i32 -> tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [128], divisibility = [16], constancy = [1]
  %a = arith.addi %i, %sn : tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [1], constancy = [128]
  %sm = tile.splat %m : i32 -> tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [128], divisibility = [1], constancy = [1]
  %b = arith.addi %i, %sm : tensor<128xi32>
  // Two runs added are no run; iota - c is one, c - iota is not.
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [1], constancy = [1]
  %ii = arith.addi %i, %i : tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [128], divisibility = [128], constancy = [1]
  %d = arith.subi %cols, %s : tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [1], constancy = [1]
  %e = arith.subi %s, %i : tensor<128xi32>
  return
}

// -----

// Masks: cols < n is the same over blocks of 16 when n is a multiple of 16
// and the runs of cols start at multiples of 16; <= flips inside a block;
// an unknown bound gives nothing.
// (@masks)
func.func @masks(%n: i32 {tile.divisibility = 16 : i64}, %m: i32) {
  %i = tile.iota : tensor<64xi32>
  %sn = tile.splat %n : i32 -> tensor<64xi32>
  %sm = tile.splat %m : i32 -> tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}constancy = [16]
  %lt = arith.cmpi slt, %i, %sn : tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}constancy = [1]
  %le = arith.cmpi sle, %i, %sn : tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}constancy = [16]
  %ge = arith.cmpi sge, %i, %sn : tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}constancy = [16]
  %gt = arith.cmpi sgt, %sn, %i : tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}constancy = [1]
  %lm = arith.cmpi slt, %i, %sm : tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}constancy = [1]
  %both = arith.andi %lt, %lm : tensor<64xi1>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}constancy = [16]
  %both2 = arith.andi %lt, %ge : tensor<64xi1>
  return
}

// -----

// Rows times a ":16" width, broadcast along the columns, plus the columns
// broadcast along the rows: each row is one run of 128 from a multiple of 16
// (the embedding's and the rotary's offsets).
// (@rows_and_columns)
func.func @rows_and_columns(%ids: !tile.ptr<i32>, %w: i32 {tile.divisibility = 16 : i64}) {
  %c0 = arith.constant 0 : i32
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [1], constancy = [1]
  %rows = tile.load %ids[%c0] : !tile.ptr<i32> -> tensor<32xi32>
  %sw = tile.splat %w : i32 -> tensor<32xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [16], constancy = [1]
  %r = arith.muli %rows, %sw : tensor<32xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1, 1], divisibility = [16, 16], constancy = [1, 128]
  %rb = tile.broadcast %r, dim = 1 : tensor<32xi32> -> tensor<32x128xi32>
  %i = tile.iota : tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1, 128], divisibility = [1, 65536], constancy = [32, 1]
  %cb = tile.broadcast %i, dim = 0 : tensor<128xi32> -> tensor<32x128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1, 128], divisibility = [1, 16], constancy = [1, 1]
  %off = arith.addi %rb, %cb : tensor<32x128xi32>
  // Interleaved pairs: 2 * cols + 1 is no run.
  %c2 = arith.constant dense<2> : tensor<128xi32>
  // CHECK: :[[@LINE-1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [2], constancy = [128]
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [2], constancy = [1]
  %even = arith.muli %i, %c2 : tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [4], constancy = [1]
  %four = arith.shli %i, %c2 : tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [4], constancy = [1]
  %wide = arith.extsi %four : tensor<128xi32> to tensor<128xi64>
  return
}

// -----

// Division by a power of two: iota / 4 holds each value 4 times; select of
// two runs under a mask constant over 16 is a run of 16.
// (@div_select)
func.func @div_select(%n: i32 {tile.divisibility = 16 : i64}, %p: i1) {
  %i = tile.iota : tensor<64xi32>
  %c4 = arith.constant dense<4> : tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [1], constancy = [4]
  %q = arith.divsi %i, %c4 : tensor<64xi32>
  %sn = tile.splat %n : i32 -> tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}constancy = [16]
  %m = arith.cmpi slt, %i, %sn : tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [64], divisibility = [16], constancy = [1]
  %a = arith.addi %i, %sn : tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [16], divisibility = [16], constancy = [1]
  %s = arith.select %m, %a, %i : tensor<64xi1>, tensor<64xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [64], divisibility = [16], constancy = [1]
  %t = arith.select %p, %a, %i : tensor<64xi32>
  return
}

// -----

// A loop's argument is unknown.
// (@loop)
func.func @loop(%n: i32) {
  %i = tile.iota : tensor<64xi32>
  %lb = arith.constant 0 : index
  %ub = arith.constant 4 : index
  %st = arith.constant 1 : index
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [1], constancy = [1]
  %r = scf.for %k = %lb to %ub step %st iter_args(%acc = %i) -> tensor<64xi32> {
    scf.yield %acc : tensor<64xi32>
  }
  return
}

// -----

// A loop's induction variable is divisible by its lower bound's and its step's
// divisibility (0 and 256: 256); a select by both sides' (16 and 8: 8).
// (@induction_and_select)
func.func @induction_and_select(%n: i32, %c: i1, %a: i32 {tile.divisibility = 16 : i64},
                                %b: i32 {tile.divisibility = 8 : i64}) {
  %c0 = arith.constant 0 : i32
  %c256 = arith.constant 256 : i32
  scf.for %k = %c0 to %n step %c256 : i32 {
    // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [256], constancy = [128]
    %s = tile.splat %k : i32 -> tensor<128xi32>
  }
  scf.for %j = %a to %n step %c256 : i32 {
    // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [16], constancy = [128]
    %s = tile.splat %j : i32 -> tensor<128xi32>
  }
  %sel = arith.select %c, %a, %b : i32
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [1], divisibility = [8], constancy = [128]
  %ss = tile.splat %sel : i32 -> tensor<128xi32>
  return
}

// -----
// A kernel's promise (tile.multiple_of): an unknown scalar becomes a multiple of
// 64, and the runs it starts begin at multiples of 64.
// (@promised)
func.func @promised(%m: i32) {
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}divisibility = [64]
  %p = tile.assume_multiple %m, 64 : i32
  %i = tile.iota : tensor<128xi32>
  %sp = tile.splat %p : i32 -> tensor<128xi32>
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}contiguity = [128], divisibility = [64], constancy = [1]
  %a = arith.addi %i, %sp : tensor<128xi32>
  return
}

// -----
// A remainder keeps what divides both sides: seq_len - seq_len % 128 of a seq_len
// specialized ":16" is a multiple of 16 (the start of attention's last key block).
// (@remainder)
func.func @remainder(%n: i32 {tile.divisibility = 16 : i64}, %m: i32) {
  %c128 = arith.constant 128 : i32
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}divisibility = [16]
  %r = arith.remsi %n, %c128 : i32
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}divisibility = [16]
  %full = arith.subi %n, %r : i32
  // CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: {{.*}}divisibility = [1]
  %u = arith.remui %m, %c128 : i32
  return
}
