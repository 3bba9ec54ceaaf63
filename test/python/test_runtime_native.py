"""The C launch path (tile._launch) on the CPU: parameter packing against struct, launches
through a stand-in libcuda (data/fake_cuda.c, built here with cc) that records what
cuLaunchKernel received, and `kernel[grid](...)`'s fast path on stand-in torch tensors.
Skipped where the extension is not built."""
import struct
import sys

import pytest

import tile
from tile.runtime import arguments, driver, launcher, native, tensormap
from tile.runtime.launcher import ParamPacker
from tile.signature import ArgSpec, array_spec, spec_of_array_key
from runtime_fakes import (FakeCudaArray, FakeDriver, FakeLoadedKernel, FakeTensor, decode,
                           make_fake_torch)

pytestmark = pytest.mark.skipif(native.module is None, reason=f"no C launch path: {native.reason}")
ext = native.module


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


@tile.jit
def scale(x, out, n, alpha, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    tile.store(out, start, tile.load(x, start, BLOCK, bound=n) * alpha, bound=n)


I32 = ArgSpec("int", tile.int32, 1)
F32 = ArgSpec("float", tile.float32)
ABI = [{"size": 8, "align": 8}, {"size": 4, "align": 4}, {"size": 4, "align": 4},
       {"size": 4, "align": 4}, {"size": 128, "align": 64}, {"size": 4, "align": 4},
       {"size": 4, "align": 4}]


def tma_packer():
    """A 2-D bf16 array (pointer, 2 sizes, 1 stride), its TMA descriptor, an int, a float."""
    spec = array_spec(tile.bfloat16, 0x10000, (256, 128), (128, 1))
    tma = tensormap.TensorMapSpec.from_metadata(
        {"param": 4, "arg": "a", "dtype": "bf16", "box": [64, 64], "swizzle": 128})
    return ParamPacker("k", [("a", spec), ("n", I32), ("alpha", F32)], ABI, [tma])


def plan_of(packer, function=0x1234, context=FakeDriver.CONTEXT):
    return ext.plan(function, context, (128, 1, 1), 1024, packer.size, packer.slots,
                    packer.tma_layout())


# -- packing ---------------------------------------------------------------------------------
def test_pack_matches_struct_and_the_python_packer(monkeypatch):
    packer = tma_packer()
    blob = bytes(range(128))
    monkeypatch.setattr(launcher, "DESCRIPTORS",
                        tensormap.DescriptorCache(encoder=lambda enc: blob))
    raw = [0x10000, 256, 128, 128, 1, -7, 1.5]
    packed = ext.pack(plan_of(packer), raw, [blob])
    expected = (struct.pack("<Qiii", 0x10000, 256, 128, 128) + bytes(64 - 20) + blob
                + struct.pack("<if", -7, 1.5))
    assert packer.offsets == [0, 8, 12, 16, 64, 192, 196] and packer.size == 200
    assert packed == expected
    packer.pack(raw)
    assert packer.packed() == packed


def test_pack_scalars_only_and_tuples():
    packer = ParamPacker("k", [("n", I32), ("alpha", F32), ("m", I32)],
                         [{"size": 4, "align": 4}] * 3, [])
    assert ext.pack(plan_of(packer), (3, 0.1, -2**31), []) == struct.pack("<ifi", 3, 0.1, -2**31)


@pytest.mark.parametrize("raw, index", [
    ([-1, 1, 1, 1, 1, 0, 0.0], 0),          # a pointer below 0
    ([0, 2**31, 1, 1, 1, 0, 0.0], 1),        # a size over int32
    ([0, 1, 1, 1, 1, 0, 1e39], 5)])          # a float over f32
def test_pack_range_errors(raw, index):
    packer = tma_packer()
    with pytest.raises(OverflowError):
        ext.pack(plan_of(packer), raw, [bytes(128)])
    name = packer.params[index].name
    assert name in str(packer.range_error(raw))


def test_pack_checks_descriptors_and_plans_check_layouts():
    packer = tma_packer()
    with pytest.raises(ValueError, match="not 128 bytes"):
        ext.pack(plan_of(packer), [0, 1, 1, 1, 1, 0, 0.0], [bytes(64)])
    with pytest.raises(ValueError, match="does not fit a 8-byte buffer"):
        ext.plan(1, 2, (1, 1, 1), 0, 8, [("i", 6, 0)], [])
    with pytest.raises(ValueError, match="does not fit"):
        ext.plan(1, 2, (1, 1, 1), 0, 8, [("8s", 0, 0)], [])  # a TMA slot with no entry
    with pytest.raises(ValueError, match="unknown slot code 'd'"):
        ext.plan(1, 2, (1, 1, 1), 0, 8, [("d", 0, 0)], [])
    with pytest.raises(ValueError, match="TMA entry 0 has no slot"):
        ext.plan(1, 2, (1, 1, 1), 0, 8, [], [(0, 1, {})])


# -- launches through the stand-in driver ------------------------------------------------------
@pytest.fixture(scope="module")
def fake_driver_path(tmp_path_factory):
    from runtime_fakes import build_fake_driver
    try:
        return build_fake_driver(tmp_path_factory.mktemp("fake-cuda"))
    except Exception as e:  # no C compiler here
        pytest.skip(f"cannot build the stand-in libcuda: {e}")


@pytest.fixture
def fake_driver(fake_driver_path):
    fake = FakeDriver(fake_driver_path)
    fake.reset()
    ext.use_driver(fake_driver_path)
    yield fake
    ext.use_driver(None)  # the next launch opens libcuda.so.1 again


def test_launch_passes_everything_to_cuLaunchKernel(fake_driver):
    packer = tma_packer()
    fake_driver.expect(packer.offsets, [slot["size"] for slot in ABI])
    blob = bytes(range(128))
    raw = [0x10000, 256, 128, 128, 1, 9, 2.0]
    ext.launch(plan_of(packer), (2, 3, 4), 77, raw, [blob])
    assert ext.driver_path() == fake_driver.lib_path
    assert fake_driver.get("fake_launches") == 1
    assert fake_driver.get("fake_grid") == (2, 3, 4) and fake_driver.get("fake_block") == (128, 1, 1)
    assert fake_driver.get("fake_shared") == 1024 and fake_driver.get("fake_stream") == 77
    assert fake_driver.get("fake_function") == 0x1234 and not fake_driver.get("fake_extra_used")
    assert fake_driver.get("fake_params")[:packer.size] == ext.pack(plan_of(packer), raw, [blob])
    assert fake_driver.get("fake_context_sets") == 0  # already current


def test_entry_points_come_from_cuGetProcAddress(fake_driver):
    """As the CUDA runtime takes them: tools such as Nsight Compute hook that table
    (they did not see launches through the exported cuLaunchKernel)."""
    packer = ParamPacker("k", [("n", I32)], [{"size": 4, "align": 4}], [])
    ext.launch(plan_of(packer), (1, 1, 1), 0, [5], [])
    assert fake_driver.get("fake_table_launches") == 1 and fake_driver.get("fake_launches") == 1
    assert fake_driver.get("fake_proc_version") == 12000
    # A driver whose cuGetProcAddress fails: the exported symbols serve.
    fake_driver.set("fake_proc_address_off", 1)
    ext.use_driver(fake_driver.lib_path)
    ext.launch(plan_of(packer), (1, 1, 1), 0, [5], [])
    assert fake_driver.get("fake_table_launches") == 1 and fake_driver.get("fake_launches") == 2


def test_launch_makes_the_context_current_and_restores(fake_driver):
    packer = ParamPacker("k", [("n", I32)], [{"size": 4, "align": 4}], [])
    fake_driver.set("fake_current", 0x9999)
    ext.launch(plan_of(packer), (1, 1, 1), 0, [5], [])
    assert fake_driver.get("fake_context_at_launch") == FakeDriver.CONTEXT
    assert fake_driver.get("fake_current") == 0x9999 and fake_driver.get("fake_context_sets") == 2
    fake_driver.set("fake_current", 0)  # none current: the kernel's stays, as in driver.py
    ext.launch(plan_of(packer), (1, 1, 1), 0, [5], [])
    assert fake_driver.get("fake_current") == FakeDriver.CONTEXT


def test_launch_errors_are_cuda_errors(fake_driver):
    packer = ParamPacker("k", [("n", I32)], [{"size": 4, "align": 4}], [])
    fake_driver.set("fake_result", 700)
    with pytest.raises(driver.CudaError, match="CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory"):
        ext.launch(plan_of(packer), (1, 1, 1), 0, [5], [])


def test_missing_driver_fails_at_launch_not_import():
    packer = ParamPacker("k", [("n", I32)], [{"size": 4, "align": 4}], [])
    with pytest.raises(driver.CudaError, match="cannot load the CUDA driver /nonexistent"):
        ext.use_driver("/nonexistent/libcuda.so.1")
    ext.use_driver(None)
    plan_of(packer)  # plans need no driver


# -- kernel[grid](...) on stand-in torch tensors -------------------------------------------------
@pytest.fixture
def fake_torch(monkeypatch, fake_driver):
    """Stand-in torch (its tables in the runtime emptied for the test, then restored) and
    kernels loaded as FakeLoadedKernel, launched through the fake driver."""
    torch = make_fake_torch()
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._C", torch._C)
    # The launcher resolves torch's stream accessor once; here it is the stand-in's.
    monkeypatch.setattr(launcher, "_torch_raw_stream", torch._C._cuda_getCurrentRawStream)
    monkeypatch.setattr(driver, "LoadedKernel", FakeLoadedKernel)
    tables = [arguments._torch_dtype_table, arguments._TORCH_DTYPE_KEYS, arguments._READERS]
    saved = [dict(t) for t in tables]
    for t in tables[:2]:
        t.clear()
    for fn in (add, scale):
        monkeypatch.setattr(fn, "_launchers", {})
        fn._clear_plans()
    yield torch
    for t, s in zip(tables, saved):
        t.clear()
        t.update(s)
    for fn in (add, scale):
        fn._clear_plans()


def tensors(torch, n, count=3, **kw):
    return [FakeTensor(torch, (n,), pointer=0x7F0000000000 + i * (1 << 20), **kw)
            for i in range(count)]


def launched_params(fake_driver, kinds):
    blob, values, offset = fake_driver.get("fake_params"), [], 0
    for kind in kinds:
        size = 8 if kind == "ptr" else 4
        offset = -(-offset // size) * size
        values.append(decode(blob[offset:offset + size], kind))
        offset += size
    return values


def expect_add_layout(fake_driver):
    kinds = ["ptr", "i32"] * 3 + ["i32"]
    offsets = [0, 8, 16, 24, 32, 40, 44]
    fake_driver.expect(offsets, [8 if k == "ptr" else 4 for k in kinds])
    return kinds


def test_fast_path_launches_after_the_first_call(fake_torch, fake_driver):
    kinds = expect_add_layout(fake_driver)
    x, y, out = tensors(fake_torch, 5000)
    before = ext.stats()
    add[(5,)](x, y, out, 5000, BLOCK=1024)  # a new key: the Python path, then its plan is filed
    middle = ext.stats()
    assert middle["declined"] == before["declined"] + 1 and middle["fast"] == before["fast"]
    assert middle["python_path"] == before["python_path"] + 1
    x2, y2, out2 = tensors(fake_torch, 3000)  # same divisibility: same plan
    add[(3,)](x2, y2, out2, 3000, BLOCK=1024)
    after = ext.stats()
    assert after["fast"] == middle["fast"] + 1 and after["declined"] == middle["declined"], after
    assert fake_driver.get("fake_launches") == 2 and fake_driver.get("fake_grid") == (3, 1, 1)
    assert fake_driver.get("fake_stream") == 1000  # the current torch stream of device 0
    assert fake_driver.get("fake_block") == (128, 1, 1)
    pointers = [t.data_ptr() for t in (x2, y2, out2)]
    assert launched_params(fake_driver, kinds) == [pointers[0], 3000, pointers[1], 3000,
                                                   pointers[2], 3000, 3000]


def test_fast_path_keys_separate_specializations(fake_torch, fake_driver):
    expect_add_layout(fake_driver)
    x, y, out = tensors(fake_torch, 4096)
    for n in (4096, 4095, 4096, 4095):
        add[(4,)](x, y, out, n, BLOCK=1024)
    assert len(add._plans) == 2 and len(add._launchers) == 2
    functions = {fake_driver.get("fake_function")}
    add[(4,)](x, y, out, 4096, BLOCK=1024)
    functions.add(fake_driver.get("fake_function"))
    assert len(functions) == 2  # n % 16 == 0 and n % 16 != 0 are different kernels
    add[(4,)](x, y, out, 4096, BLOCK=512)  # another constexpr
    add[(4,)](x, y, out, 4096, BLOCK=1024, num_warps=8)  # another option
    f16 = tensors(fake_torch, 4096, dtype="float16")
    add[(4,)](*f16, 4096, BLOCK=1024)
    assert len(add._plans) == 5


@tile.jit
def copy_rows(x, out, BM: tile.constexpr, BN: tile.constexpr):
    inside = (tile.arange(BN) < 4100)[None, :]  # masked: no TMA, which the fake driver lacks
    tile.store(out, (0, 0), tile.load(x, (0, 0), (BM, BN), mask=inside), mask=inside)


def test_fast_path_keys_row_strides_in_bytes(fake_torch, fake_driver):
    """C's key is Python's: bf16 rows of 4104 elements (8208 bytes, a multiple of 16
    bytes though not of 16 elements) launch fast on the second call, and the
    specialization records the stride as a multiple of 8 elements."""
    def rows(pointer):
        return FakeTensor(fake_torch, (64, 4100), pointer=pointer, dtype="bfloat16",
                          strides=(4104, 1))
    x, out = rows(0x7F0000000000), rows(0x7F0000100000)
    copy_rows[(1,)](x, out, BM=64, BN=64)
    before = ext.stats()
    copy_rows[(1,)](rows(0x7F0000200000), rows(0x7F0000300000), BM=64, BN=64)
    after = ext.stats()
    assert after["fast"] == before["fast"] + 1 and after["declined"] == before["declined"]
    (key,) = copy_rows._launchers
    arrays = [part for part in key if isinstance(part, tuple) and part[0] == "bf16"]
    assert [spec_of_array_key(part).stride_divisibility for part in arrays] == [(8, 1)] * 2


@tile.jit
def tagged(x, out, n, TAG: tile.constexpr, BLOCK: tile.constexpr = 1024):
    start = tile.program_id(0) * BLOCK
    tile.store(out, start, tile.load(x, start, BLOCK, bound=n), bound=n)


def test_constexprs_by_identity_value_or_repr(fake_torch, fake_driver, monkeypatch):
    """The memo knows ints by value and immutable objects by identity; a list (mutable)
    goes by its repr every call, so mutating it is a new specialization."""
    monkeypatch.setattr(tagged, "_launchers", {})
    tagged._clear_plans()
    x, out = tensors(fake_torch, 4096, count=2)
    listed = [1]
    tags = [tile.float16, tile.float32, "a", 1.5, listed, 7, 2**70, None, True]
    used = {}
    for round in range(2):
        for i, tag in enumerate(tags):
            for again in range(2):
                before = ext.stats()
                tagged[(4,)](x, out, 4096, TAG=tag)
                after = ext.stats()
                function = fake_driver.get("fake_function")
                assert used.setdefault(i, function) == function, tag
                if round or again:
                    assert after["fast"] == before["fast"] + 1, tag
                if round and again:  # the call before (a dict hit) filed it in the memo
                    memoized = tag is not listed and tag != 2**70
                    assert after["memo_hits"] - before["memo_hits"] == memoized, tag
    assert len(set(used.values())) == len(tags) == len(tagged._launchers)
    listed.append(2)
    tagged[(4,)](x, out, 4096, TAG=listed)
    assert fake_driver.get("fake_function") not in used.values()
    tagged._clear_plans()
    before = ext.stats()
    tagged[(4,)](x, out, 4096, TAG=7)
    assert ext.stats()["declined"] == before["declined"] + 1  # memo and dict forgotten
    tagged._clear_plans()


@tile.jit
def keywords(x, out, n, BLOCK: tile.constexpr, SCALE: tile.constexpr = 2):
    start = tile.program_id(0) * BLOCK
    tile.store(out, start, tile.load(x, start, BLOCK, bound=n) * SCALE, bound=n)


def test_binding_by_position_keyword_and_default(fake_torch, fake_driver, monkeypatch):
    """C binds as Python would (on 3.12+ from vectorcall's arrays, on 3.11 from the
    tuple and dict); what it cannot bind, Python binds or refuses."""
    monkeypatch.setattr(keywords, "_launchers", {})
    keywords._clear_plans()
    x, out = tensors(fake_torch, 4096, count=2)
    fake_driver.expect([0, 8, 16, 24, 28], [8, 4, 8, 4, 4])
    calls = [lambda: keywords[(4,)](x, out, 4096, BLOCK=1024),
             lambda: keywords[(4,)](x, out=out, n=4096, BLOCK=1024, SCALE=2),
             lambda: keywords[(4,)](n=4096, out=out, x=x, SCALE=2, BLOCK=1024, num_warps=None),
             lambda: keywords[(4,)](*[x, out], **{"n": 4096, "".join(["BLO", "CK"]): 1024})]
    before = ext.stats()
    for call in calls * 2:
        call()
        assert launched_params(fake_driver, ["ptr", "i32", "ptr", "i32", "i32"]) == [
            x.data_ptr(), 4096, out.data_ptr(), 4096, 4096]
    after = ext.stats()
    assert len(keywords._plans) == 1
    assert (after["declined"] - before["declined"], after["fast"] - before["fast"]) == (1, 7)
    keywords[(4,)](x, out, 4096, BLOCK=1024, SCALE=3)
    assert len(keywords._plans) == 2
    with pytest.raises(TypeError, match="keywords: missing a required argument: 'BLOCK'"):
        keywords[(4,)](x, out, 4096)
    keywords[(4,)](x, out, 4096, 1024, 3)  # constexprs by position too
    assert len(keywords._plans) == 2
    with pytest.raises(TypeError, match="keywords: too many positional arguments"):
        keywords[(4,)](x, out, 4096, 1024, 2, 7)
    with pytest.raises(TypeError, match="keywords: multiple values for argument 'x'"):
        keywords[(4,)](x, out, 4096, x=x, BLOCK=1024)
    with pytest.raises(TypeError, match="keywords: .*unexpected keyword argument 'BLOKC'"):
        keywords[(4,)](x, out, 4096, BLOCK=1024, BLOKC=1024)
    keywords._clear_plans()


def test_fast_path_stream_grid_and_floats(fake_torch, fake_driver):
    x, out = tensors(fake_torch, 4096, count=2)
    fake_driver.expect([0, 8, 16, 24, 28, 32], [8, 4, 8, 4, 4, 4])
    scale[(4,)](x, out, 4096, 0.5, BLOCK=1024)
    fast = ext.stats()["fast"]
    scale[lambda meta: (4096 // meta["BLOCK"], 2)](x, out, 4096, 2.5, BLOCK=1024, stream=55)
    assert ext.stats()["fast"] == fast + 1
    assert fake_driver.get("fake_grid") == (4, 2, 1) and fake_driver.get("fake_stream") == 55
    assert launched_params(fake_driver, ["ptr", "i32", "ptr", "i32", "i32", "f32"])[-1] == 2.5
    launches = fake_driver.get("fake_launches")
    scale[(0,)](x, out, 4096, 2.5, BLOCK=1024)  # an empty grid launches nothing
    assert fake_driver.get("fake_launches") == launches
    with pytest.raises(ValueError, match="scale: grid .* outside the CUDA limits"):
        scale[(2**31,)](x, out, 4096, 2.5, BLOCK=1024)


def test_numpy_scalars_launch_as_python_numbers(fake_torch, fake_driver):
    """np.float32 / np.int32 / np.int64 scalars: C leaves them to the Python path, which
    reads them as the float or int they hold (same key, same parameters); a float
    beyond float32's range is a ValueError naming the argument, in C's path as in Python's."""
    import numpy as np
    x, out = tensors(fake_torch, 4096, count=2)
    fake_driver.expect([0, 8, 16, 24, 28, 32], [8, 4, 8, 4, 4, 4])
    kinds = ["ptr", "i32", "ptr", "i32", "i32", "f32"]
    scale[(4,)](x, out, 4096, 2.5, BLOCK=1024)
    launchers = len(scale._launchers)
    for n, alpha in ((np.int32(4096), np.float32(2.5)), (np.int64(4096), np.float64(2.5)),
                     (4096, np.float16(2.5))):
        before = ext.stats()
        scale[(4,)](x, out, n, alpha, BLOCK=1024)
        assert ext.stats()["fast"] == before["fast"]  # C declined: the Python path read them
        assert launched_params(fake_driver, kinds)[-2:] == [4096, 2.5]
    assert len(scale._launchers) == launchers  # the same specialization as 4096, 2.5
    for alpha in (1e40, np.float64(-1e40)):
        with pytest.raises(ValueError, match=r"scale: argument 'alpha' = -?1e\+40 is outside "
                                             "float32's range"):
            scale[(4,)](x, out, 4096, alpha, BLOCK=1024)
    scale[(4,)](x, out, 4096, float("inf"), BLOCK=1024)  # inf itself is a float32
    assert launched_params(fake_driver, kinds)[-1] == float("inf")
    with pytest.raises(TypeError, match="argument 'n': bool parameters must be tile.constexpr"):
        scale[(4,)](x, out, np.bool_(True), 2.5, BLOCK=1024)
    with pytest.raises(ValueError, match="argument 'n' = 4294967296 does not fit in int32"):
        scale[(4,)](x, out, np.int64(2**32), 2.5, BLOCK=1024)


def test_fast_path_leaves_errors_to_the_python_path(fake_torch, fake_driver):
    x, y, out = tensors(fake_torch, 4096)
    add[(4,)](x, y, out, 4096, BLOCK=1024)
    with pytest.raises(TypeError, match="add: missing a required argument: 'n'"):
        add[(4,)](x, y, out, BLOCK=1024)
    with pytest.raises(ValueError, match=r"add: argument 'n' = 2147483648 does not fit in int32"):
        add[(4,)](x, y, out, 2**31, BLOCK=1024)
    cpu = FakeTensor(fake_torch, (4096,), device=-1)
    with pytest.raises(ValueError, match="argument 'x' is on cpu, not on a CUDA device"):
        add[(4,)](cpu, y, out, 4096, BLOCK=1024)
    other = FakeTensor(fake_torch, (4096,), device=1)
    with pytest.raises(ValueError, match="different devices"):
        add[(4,)](x, other, out, 4096, BLOCK=1024)
    f64 = FakeTensor(fake_torch, (4096,))
    f64.dtype = "float64"
    with pytest.raises(TypeError, match="unsupported tensor dtype"):
        add[(4,)](f64, y, out, 4096, BLOCK=1024)
    with pytest.raises(TypeError, match="stream= takes"):
        add[(4,)](x, y, out, 4096, BLOCK=1024, stream="default")
    big = FakeTensor(fake_torch, (2**31,))
    with pytest.raises(ValueError, match="x_size0 = 2147483648 does not fit in int32"):
        add[(4,)](big, y, out, 4096, BLOCK=1024)


def test_other_arrays_take_the_python_path_and_launch_in_c(fake_torch, fake_driver):
    kinds = expect_add_layout(fake_driver)
    x, y, out = [FakeCudaArray((4096,), pointer=0x7F0000000000 + i * 4096) for i in range(3)]
    for _ in range(2):
        before = ext.stats()
        add[(4,)](x, y, out, 4096, BLOCK=1024)
        after = ext.stats()
        assert after["declined"] == before["declined"] + 1
        assert after["python_path"] == before["python_path"] + 1
    assert after["last_decline"] == "an argument of another type"
    assert launched_params(fake_driver, kinds)[:2] == [0x7F0000000000, 4096]


def test_interpreter_request_goes_to_the_python_path(fake_torch, fake_driver, monkeypatch):
    x, y, out = tensors(fake_torch, 4096)
    add[(4,)](x, y, out, 4096, BLOCK=1024)
    monkeypatch.setenv("TILE_INTERPRET", " On ")
    with pytest.raises(Exception):  # stand-in tensors cannot be interpreted
        add[(4,)](x, y, out, 4096, BLOCK=1024)
    assert ext.stats()["last_decline"] == "TILE_INTERPRET"
    monkeypatch.setenv("TILE_INTERPRET", "0")
    before = ext.stats()["fast"]
    add[(4,)](x, y, out, 4096, BLOCK=1024)
    assert ext.stats()["fast"] == before + 1


def test_bound_launcher_interface():
    bound = add[(4,)]
    assert bound.fn is add and bound.grid == (4,) and callable(bound.interpret)
    with pytest.raises(TypeError):
        ext.Bound(object(), add, (4,))


@pytest.mark.parametrize("chosen, says", [("/nonexistent/_launch.abi3.so", "is not a file"),
                                          ("/etc/passwd", "does not load: .+")])
def test_a_launch_lib_that_does_not_load_is_a_warning(monkeypatch, chosen, says):
    """TILE_LAUNCH_LIB names the extension to load: when that file cannot be, a
    RuntimeWarning naming it and why, and the Python path (not a silent fallback)."""
    monkeypatch.setenv("TILE_LAUNCH_LIB", chosen)
    monkeypatch.delenv("TILE_NATIVE_LAUNCH", raising=False)
    message = f"TILE_LAUNCH_LIB={chosen} {says}; launches take the pure-Python path"
    with pytest.warns(RuntimeWarning, match=message):
        module, reason = native._load()
    assert module is None and f"TILE_LAUNCH_LIB={chosen}" in reason
    monkeypatch.setenv("TILE_NATIVE_LAUNCH", "0")  # turned off: nothing to say
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert native._load() == (None, "turned off by TILE_NATIVE_LAUNCH")


def test_a_launch_lib_warning_points_at_the_import(tmp_path):
    import os
    import subprocess
    script = tmp_path / "user.py"
    script.write_text("import os\nimport tile\nprint(tile.runtime.native.path_name())\n")
    env = {**os.environ, "TILE_LAUNCH_LIB": str(tmp_path / "gone.so"),
           "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("TILE_NATIVE_LAUNCH", None)
    proc = subprocess.run([sys.executable, "-W", "always", str(script)], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"user.py:2: RuntimeWarning: TILE_LAUNCH_LIB={tmp_path / 'gone.so'} is not a file" \
        in proc.stderr
    assert proc.stdout.startswith("Python (TILE_LAUNCH_LIB=")
