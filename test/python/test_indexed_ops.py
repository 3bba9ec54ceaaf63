"""tile.gather, tile.scatter, tile.atomic_rmw and tile.atomic_cas on hand-written
tile IR: the interpreter against numpy (masks, `other`, i64 offsets, duplicate
offsets in atomics, compare-and-swap, out-of-bounds errors), the lowering through
the whole tile-to-llvm pipeline to PTX that ptxas accepts, and (on a GPU) the
device against the interpreter."""
import ctypes

import ml_dtypes
import numpy as np
import pytest

from interpreter_ir import run_ir
from tile.compiler import CompileOptions, compile_ir, find_ptxas
from tile.errors import InterpreterError

BF16 = ml_dtypes.bfloat16
KERNEL = 'attributes {tile.kernel, tile.num_warps = 4 : i32}'


def kernel(name: str, params: str, body: str) -> str:
    return f"func.func @{name}({params}) {KERNEL} {{\n{body}\n  return\n}}\n"


# out[i] = x[idx[i]] where i < n, else -1 (or 0 without `other`), for 128 indices a program.
def gather_ir(offset_type: str = "i32", other: bool = True, element: str = "f32") -> str:
    load_offsets = ("  %off = tile.load %idx[%base] : !tile.ptr<i32> -> tensor<128xi32>" if
                    offset_type == "i32" else
                    "  %o32 = tile.load %idx[%base] : !tile.ptr<i32> -> tensor<128xi32>\n"
                    "  %off = arith.extsi %o32 : tensor<128xi32> to tensor<128xi64>")
    fill = f"  %other = arith.constant -1.0 : {element}\n" if other else ""
    other_operand = f" other(%other : {element})" if other else ""
    return kernel("gather", f"%x: !tile.ptr<{element}>, %idx: !tile.ptr<i32>, "
                  f"%out: !tile.ptr<{element}>, %n: i32", f"""
  %pid = tile.program_id 0
  %c128 = arith.constant 128 : i32
  %base = arith.muli %pid, %c128 : i32
{load_offsets}
  %i = tile.iota : tensor<128xi32>
  %b = tile.splat %base : i32 -> tensor<128xi32>
  %pos = arith.addi %i, %b : tensor<128xi32>
  %nn = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi slt, %pos, %nn : tensor<128xi32>
{fill}  %v = tile.gather %x[%off : tensor<128x{offset_type}>] mask(%m : tensor<128xi1>){other_operand} : !tile.ptr<{element}> -> tensor<128x{element}>
  tile.store %v, %out[%base] : tensor<128x{element}>, !tile.ptr<{element}>""")


def run_gather(x, idx, n, **kw) -> np.ndarray:
    out = np.full(len(idx), 7, x.dtype)
    run_ir(gather_ir(**kw), [x, idx, out, n], (len(idx) // 128,))
    return out


@pytest.mark.parametrize("offset_type", ["i32", "i64"])
def test_gather_with_mask_and_other(offset_type):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000).astype(np.float32)
    idx = rng.integers(0, 1000, 256).astype(np.int32)
    idx[200:] = 5000  # masked off (i >= n): never read, though outside x
    out = run_gather(x, idx, 200, offset_type=offset_type)
    want = np.where(np.arange(256) < 200, x[np.minimum(idx, 999)], -1).astype(np.float32)
    assert np.array_equal(out, want)


def test_gather_masked_off_is_zero_without_other():
    x = np.arange(10, dtype=BF16)
    idx = np.arange(128, dtype=np.int32) % 10
    out = run_gather(x, idx, 50, other=False, element="bf16")
    assert np.array_equal(out, np.where(np.arange(128) < 50, x[idx], 0).astype(BF16))


def test_gather_outside_the_array_names_the_line():
    x = np.zeros(100, np.float32)
    idx = np.zeros(128, np.int32)
    idx[7] = 100  # active (7 < n) and one past the end
    text = gather_ir().replace("-> tensor<128xf32>\n", '-> tensor<128xf32> loc("kernel.py":12:5)\n', 1)
    out = np.zeros(128, np.float32)
    with pytest.raises(InterpreterError, match=r"load of argument '%arg0' .* at element offset 100 "
                       r"\(tile index \(7,\)\) is outside the array's memory.*mask") as e:
        run_ir(text, [x, idx, out, 128], (1,))
    assert e.value.filename == "kernel.py" and e.value.lineno == 12


SCATTER = kernel("scatter", "%x: !tile.ptr<f32>, %idx: !tile.ptr<i32>, %out: !tile.ptr<f32>, %n: i32", """
  %c0 = arith.constant 0 : i32
  %v = tile.load %x[%c0] : !tile.ptr<f32> -> tensor<128xf32>
  %i = tile.iota : tensor<128xi32>
  %nn = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi slt, %i, %nn : tensor<128xi32>
  %offs = tile.load %idx[%c0] : !tile.ptr<i32> -> tensor<128xi32>
  tile.scatter %v, %out[%offs : tensor<128xi32>] mask(%m : tensor<128xi1>) : tensor<128xf32>, !tile.ptr<f32>""")


def test_scatter_writes_only_where_masked_on():
    x = np.arange(128, dtype=np.float32) + 1
    idx = np.random.default_rng(1).permutation(256)[:128].astype(np.int32)
    idx[100:] += 10_000  # masked off: outside `out`, not written
    out = np.zeros(256, np.float32)
    run_ir(SCATTER, [x, idx, out, 100], (1,))
    want = np.zeros(256, np.float32)
    want[idx[:100]] = x[:100]
    assert np.array_equal(out, want)


def test_scatter_outside_the_array_is_an_error():
    idx = np.arange(128, dtype=np.int32)
    with pytest.raises(InterpreterError, match="store of argument '%arg2'.* element offset 100"):
        run_ir(SCATTER, [np.ones(128, np.float32), idx, np.zeros(100, np.float32), 128], (1,))


def test_scatter_by_two_programs_to_one_element_is_a_race():
    idx = np.arange(128, dtype=np.int32)  # every program writes out[0..127]
    with pytest.raises(tile_race_error(), match="both store it"):
        run_ir(SCATTER, [np.ones(128, np.float32), idx, np.zeros(128, np.float32), 128], (2,))


def tile_race_error():
    import tile.interpreter
    return tile.interpreter.RaceError


# hist[bins[i]] op= w[i] over every program's 128 elements (i < n), old values to `old`.
def rmw_ir(kind: str, element: str, offset_type: str = "i32", extra: str = "") -> str:
    offsets = ("%bins" if offset_type == "i32" else "%bins64")
    return kernel(f"rmw_{kind}", f"%hist: !tile.ptr<{element}>, %bins_p: !tile.ptr<i32>, "
                  f"%w_p: !tile.ptr<{element}>, %old_p: !tile.ptr<{element}>, %n: i32", f"""
  %pid = tile.program_id 0
  %c128 = arith.constant 128 : i32
  %base = arith.muli %pid, %c128 : i32
  %bins = tile.load %bins_p[%base] : !tile.ptr<i32> -> tensor<128xi32>
  %bins64 = arith.extsi %bins : tensor<128xi32> to tensor<128xi64>
  %w = tile.load %w_p[%base] : !tile.ptr<{element}> -> tensor<128x{element}>
  %i = tile.iota : tensor<128xi32>
  %b = tile.splat %base : i32 -> tensor<128xi32>
  %pos = arith.addi %i, %b : tensor<128xi32>
  %nn = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi slt, %pos, %nn : tensor<128xi32>
  %old = tile.atomic_rmw {kind} %hist[{offsets} : tensor<128x{offset_type}>], %w mask(%m : tensor<128xi1>){extra} : !tile.ptr<{element}>, tensor<128x{element}>
  tile.store %old, %old_p[%base] : tensor<128x{element}>, !tile.ptr<{element}>""")


def sequential_rmw(kind, hist, bins, w, n):
    """The interpreter's order: programs, then elements; old values returned."""
    hist, old = hist.copy(), np.zeros_like(w)
    for i in range(n):
        old[i] = hist[bins[i]]
        if kind == "add":
            hist[bins[i]] = (np.float32(hist[bins[i]]) + np.float32(w[i])).astype(hist.dtype) \
                if hist.dtype.kind == "f" or hist.dtype == BF16 else hist[bins[i]] + w[i]
        elif kind == "max":
            hist[bins[i]] = max(hist[bins[i]], w[i])
        elif kind == "min":
            hist[bins[i]] = min(hist[bins[i]], w[i])
        else:
            hist[bins[i]] = w[i]
    return hist, old


@pytest.mark.parametrize("kind,element,offset_type", [
    ("add", "i32", "i32"), ("add", "f32", "i64"), ("add", "bf16", "i32"), ("add", "i64", "i64"),
    ("max", "i32", "i32"), ("min", "i64", "i32"), ("max", "f32", "i32"), ("min", "f32", "i64"),
    ("xchg", "f32", "i32"), ("xchg", "i32", "i64")])
def test_atomic_histogram_with_duplicate_offsets(kind, element, offset_type):
    from tile.interpreter.numerics import STORAGE
    dtype = STORAGE[element]
    rng = np.random.default_rng(2)
    programs, n = 3, 300  # the last program's last 84 elements are masked off
    bins = rng.integers(0, 10, 128 * programs).astype(np.int32)
    if dtype.kind == "f" or dtype == BF16:
        w = rng.standard_normal(128 * programs).astype(dtype)
        hist = rng.standard_normal(10).astype(dtype)
    else:
        w = rng.integers(-1000, 1000, 128 * programs).astype(dtype)
        hist = rng.integers(-1000, 1000, 10).astype(dtype)
    bins[n:] = 99  # outside `hist`, masked off
    got_hist, old = hist.copy(), np.full(128 * programs, 5, dtype)
    run_ir(rmw_ir(kind, element, offset_type), [got_hist, bins, w, old, n], (programs,))
    want_hist, want_old = sequential_rmw(kind, hist, bins, w, n)
    assert np.array_equal(got_hist, want_hist)
    assert np.array_equal(old[:n], want_old[:n])
    assert not old[n:].any()  # masked off: zero


def test_atomic_add_counts_every_duplicate():
    bins = np.zeros(128, np.int32)  # all into bin 0
    hist, old = np.zeros(4, np.int32), np.zeros(128, np.int32)
    run_ir(rmw_ir("add", "i32"), [hist, bins, np.ones(128, np.int32), old, 128], (1,))
    assert hist.tolist() == [128, 0, 0, 0]
    assert old.tolist() == list(range(128))  # element order


def test_atomic_float_max_orders_signed_zeros_as_the_gpu():
    """The GPU compares f32 bits (signed ints for a value >= +0, unsigned reversed
    for one with the sign set): max(-0, +0) is +0 either way round."""
    hist = np.array([-0.0, 0.0], np.float32)
    bins = np.array([0, 1] + [0] * 126, np.int32)
    w = np.array([0.0, -0.0] + [-1.0] * 126, np.float32)
    old = np.zeros(128, np.float32)
    run_ir(rmw_ir("max", "f32"), [hist, bins, w, old, 2], (1,))
    assert np.signbit(hist).tolist() == [False, False]


def test_atomic_sem_and_scope_are_accepted():
    hist, old = np.zeros(4, np.int32), np.zeros(128, np.int32)
    run_ir(rmw_ir("add", "i32", extra=" sem = relaxed scope = cta"),
           [hist, np.zeros(128, np.int32), np.ones(128, np.int32), old, 128], (1,))
    assert hist[0] == 128


def test_atomic_outside_the_array_is_an_error():
    bins = np.full(128, 10, np.int32)
    with pytest.raises(InterpreterError, match=r"atomic of argument '%arg0' .* element offset 10"):
        run_ir(rmw_ir("add", "i32"), [np.zeros(10, np.int32), bins, np.ones(128, np.int32),
                                      np.zeros(128, np.int32), 128], (1,))


# Every program tries to claim slots[key[i]] (0 = free) with its id + 1.
CAS = kernel("claim", "%slots: !tile.ptr<i32>, %keys_p: !tile.ptr<i32>, %old_p: !tile.ptr<i32>", """
  %pid = tile.program_id 0
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c128 = arith.constant 128 : i32
  %base = arith.muli %pid, %c128 : i32
  %keys = tile.load %keys_p[%c0] : !tile.ptr<i32> -> tensor<128xi32>
  %free = tile.splat %c0 : i32 -> tensor<128xi32>
  %me1 = arith.addi %pid, %c1 : i32
  %me = tile.splat %me1 : i32 -> tensor<128xi32>
  %old = tile.atomic_cas %slots[%keys : tensor<128xi32>], %free, %me : !tile.ptr<i32>, tensor<128xi32>
  tile.store %old, %old_p[%base] : tensor<128xi32>, !tile.ptr<i32>""")


def test_compare_and_swap_claims_each_slot_once():
    keys = (np.arange(128) % 32).astype(np.int32)  # four elements a slot, a program
    slots, old = np.zeros(32, np.int32), np.full(3 * 128, -5, np.int32)
    run_ir(CAS, [slots, keys, old], (3,))
    assert (slots == 1).all()  # program 0's first element of each slot swapped
    old = old.reshape(3, 128)
    assert (old[0, :32] == 0).all()  # it found them free
    assert (old[0, 32:] == 1).all() and (old[1:] == 1).all()  # everyone after saw the claim


# -- the lowering, through the whole pipeline -----------------------------------------
PIPELINE_CASES = {
    "gather_i64": gather_ir(offset_type="i64"),
    "gather_bf16": gather_ir(element="bf16"),
    "scatter": SCATTER,
    "cas": CAS,
    **{f"{kind}_{element}": rmw_ir(kind, element, extra=extra) for kind, element, extra in [
        ("add", "f32", ""), ("add", "f16", " sem = relaxed scope = cta"),
        ("add", "bf16", " scope = sys"), ("add", "i64", " sem = release"),
        ("max", "f32", ""), ("min", "i32", " sem = acquire"), ("xchg", "i64", "")]},
}


@pytest.mark.parametrize("name", sorted(PIPELINE_CASES))
def test_lowers_to_ptx_that_ptxas_accepts(name):
    text = PIPELINE_CASES[name]
    fn = text.split("@", 1)[1].split("(", 1)[0]
    compiled = compile_ir(text, fn, CompileOptions())
    ptx = compiled.ptx
    if "rmw" in fn or fn == "claim":
        assert "atom." in ptx
    if fn == "rmw_add" and "bf16" in name:
        assert "atom.acq_rel.sys.global.add.noftz.bf16" in ptx
    if fn == "rmw_max":
        assert ".global.max.s32" in ptx and ".global.min.u32" in ptx  # f32 as its bits
    if find_ptxas():
        assert compiled.cubin, "ptxas is on PATH but made no cubin"


def test_replicated_atomic_is_applied_once_and_shares_old_values():
    """A 32-element tile over 128 threads: four threads hold each element; one
    applies the atomic, the others read its old value through shared memory."""
    text = kernel("small", "%hist: !tile.ptr<i32>, %out: !tile.ptr<i32>", """
  %c0 = arith.constant 0 : i32
  %i = tile.iota : tensor<32xi32>
  %one = arith.constant dense<1> : tensor<32xi32>
  %old = tile.atomic_rmw add %hist[%i : tensor<32xi32>], %one : !tile.ptr<i32>, tensor<32xi32>
  tile.store %old, %out[%c0] : tensor<32xi32>, !tile.ptr<i32>""")
    compiled = compile_ir(text, "small", CompileOptions())
    assert compiled.ptx.count("atom.acq_rel.gpu.global.add.u32") == 1
    assert "st.shared" in compiled.ptx and "ld.shared" in compiled.ptx
    hist, out = np.zeros(32, np.int32), np.full(32, 9, np.int32)
    run_ir(text, [hist, out], (1,))
    assert (hist == 1).all() and (out == 0).all()
    if gpu_available():
        hist_gpu, out_gpu = launch_on_gpu(compiled, [np.zeros(32, np.int32), out.copy()], 1)
        assert (hist_gpu == 1).all() and (out_gpu == 0).all()


# -- the GPU against the interpreter ----------------------------------------------
def gpu_available() -> bool:
    from tile.runtime import driver
    return driver.gpu_available()


def launch_on_gpu(compiled, arguments: list, grid: int) -> list:
    """Runs a compiled kernel of tile IR on device 0: arrays go to the GPU and
    come back (the returned list: each array argument after the launch)."""
    import torch
    from tile.runtime.driver import LoadedKernel
    tensors = [torch.from_numpy(a.view(np.int16) if a.dtype == BF16 else a).cuda()
               if isinstance(a, np.ndarray) else a for a in arguments]
    values = [ctypes.c_uint64(t.data_ptr()) if isinstance(t, torch.Tensor) else ctypes.c_int32(t)
              for t in tensors]
    pointers = (ctypes.c_void_p * len(values))(*[ctypes.addressof(v) for v in values])
    kernel = LoadedKernel(compiled.cubin, compiled.name, compiled.metadata["shared_bytes"], 0)
    kernel.launch((grid, 1, 1), compiled.metadata["block"], 0, ctypes.addressof(pointers))
    torch.cuda.synchronize()
    return [t.cpu().numpy().view(a.dtype) if isinstance(a, np.ndarray) else a
            for t, a in zip(tensors, arguments)]


@pytest.mark.gpu
@pytest.mark.parametrize("kind,element", [("add", "i32"), ("add", "f32"), ("max", "f32"),
                                          ("min", "i64"), ("xchg", "i32")])
def test_gpu_histogram_matches_the_interpreter(kind, element):
    """Final contents agree (xchg: each bin holds one of its writers' values). The
    old values depend on the GPU's order: for integer add they must be the
    running sums of the bin's weights in some order."""
    from tile.interpreter.numerics import STORAGE
    dtype = STORAGE[element]
    rng = np.random.default_rng(3)
    programs, n = 4, 500
    bins = rng.integers(0, 16, 128 * programs).astype(np.int32)
    if dtype.kind == "f":
        w = rng.integers(-8, 8, 128 * programs).astype(dtype)  # exact sums in any order
    else:
        w = rng.integers(1 if kind == "add" else -1000, 1000, 128 * programs).astype(dtype)
    hist = np.zeros(16, dtype)
    text = rmw_ir(kind, element)
    compiled = compile_ir(text, f"rmw_{kind}", CompileOptions())
    got_hist, _, _, got_old, _ = launch_on_gpu(
        compiled, [hist.copy(), bins, w, np.zeros(128 * programs, dtype), n], programs)
    want_hist, want_old = hist.copy(), np.zeros(128 * programs, dtype)
    run_ir(text, [want_hist, bins, w, want_old, n], (programs,))
    if kind != "xchg":
        assert np.array_equal(got_hist, want_hist)
    else:  # the last writer of each bin differs; it is one of the bin's writers
        for b in range(16):
            written = w[:n][bins[:n] == b]
            assert got_hist[b] in written if len(written) else got_hist[b] == 0
    if kind == "add" and dtype.kind == "i":  # positive weights: olds rise in applied order
        for b in range(16):
            mine = np.flatnonzero(bins[:n] == b)
            applied = mine[np.argsort(got_old[mine])]
            sums = np.concatenate([[0], np.cumsum(w[applied])])
            assert np.array_equal(got_old[applied], sums[:-1]) and got_hist[b] == sums[-1]


@pytest.mark.gpu
def test_gpu_gather_and_scatter_match_the_interpreter():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(1000).astype(np.float32)
    idx = rng.integers(0, 1000, 256).astype(np.int32)
    idx[200:] = 1 << 30  # masked off: never read
    text = gather_ir(offset_type="i64")
    compiled = compile_ir(text, "gather", CompileOptions())
    _, _, got, _ = launch_on_gpu(compiled, [x, idx, np.zeros(256, np.float32), 200], 2)
    assert np.array_equal(got, run_gather(x, idx, 200, offset_type="i64"))
    sidx = rng.permutation(256)[:128].astype(np.int32)
    compiled = compile_ir(SCATTER, "scatter", CompileOptions())
    _, _, got, _ = launch_on_gpu(compiled, [x[:128], sidx, np.zeros(256, np.float32), 100], 1)
    want = np.zeros(256, np.float32)
    run_ir(SCATTER, [x[:128].copy(), sidx, want, 100], (1,))
    assert np.array_equal(got, want)
