"""The launch path on the CPU: argument reading and validation, specialization
keys, parameter packing (read back through kernelParams), streams, grids.
The driver is replaced by a recorder (runtime_fakes); the kernel is real."""
import itertools

import numpy as np
import pytest

import tile
from tile.runtime import arguments, driver
from tile.runtime.launcher import ParamPacker, grid3, resolve_stream
from tile.signature import ArgSpec, array_key, array_spec, satisfies, spec_of_array_key
from runtime_fakes import FakeCudaArray, RecordingKernel, decode, read_params


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


@pytest.fixture
def recorder(monkeypatch):
    monkeypatch.setattr(driver, "LoadedKernel", RecordingKernel)
    RecordingKernel.launches = []
    return RecordingKernel.launches


def arrays(n=4096, pointer=0x7F0000000000, **kw):
    return [FakeCudaArray((n,), pointer=pointer + i * (1 << 20), **kw) for i in range(3)]


# -- the whole launch path, with the driver recorded ---------------------------------------
def test_launch_packs_every_parameter(recorder):
    x, y, out = arrays(5000)
    add[(5,)](x, y, out, 5000, BLOCK=1024)
    (launch,) = recorder
    assert launch.grid == (5, 1, 1) and launch.block == (128, 1, 1) and launch.stream == 0
    abi = add.compile(x, y, out, 5000, BLOCK=1024).metadata["params"]
    kinds = ["ptr", "i32"] * 3 + ["i32"]
    values = [decode(b, k) for b, k in zip(read_params(launch.kernel_params, abi), kinds)]
    pointers = [a.__cuda_array_interface__["data"][0] for a in (x, y, out)]
    assert values == [pointers[0], 5000, pointers[1], 5000, pointers[2], 5000, 5000]


def test_cached_launch_reuses_the_launcher_and_repacks(recorder):
    x, y, out = arrays(4096)
    add[(4,)](x, y, out, 4096, BLOCK=1024)
    launchers = dict(add._launchers)
    x2, y2, out2 = arrays(8192, pointer=0x7E0000000000)  # same divisibility facts
    add[(8,)](x2, y2, out2, 8192, BLOCK=1024)
    assert add._launchers == launchers  # no new specialization
    abi = add.compile(x, y, out, 4096, BLOCK=1024).metadata["params"]
    first = decode(read_params(recorder[1].kernel_params, abi)[1], "i32")
    assert first == 8192


def test_new_divisibility_is_a_new_specialization(recorder):
    x, y, out = arrays(4096)
    add[(4,)](x, y, out, 4096, BLOCK=1024)
    add[(4,)](x, y, out, 4095, BLOCK=1024)
    kernels = {id(add._loaded[k]) for k in add._loaded}
    assert len(kernels) >= 2


def test_strided_array_passes_its_stride(recorder):
    x, y, out = arrays(4096)
    view = FakeCudaArray((2048,), strides=(2,))
    add[(2,)](view, y, out, 2048, BLOCK=1024)
    kernel = add.compile(view, y, out, 2048, BLOCK=1024)
    kinds = ["ptr", "i32", "i32", "ptr", "i32", "ptr", "i32", "i32"]
    got = [decode(b, k) for b, k in
           zip(read_params(recorder[0].kernel_params, kernel.metadata["params"]), kinds)]
    assert got[:3] == [0x7F0000000000, 2048, 2]  # x, x_size0, x_stride0


def test_explicit_stream_and_exported_stream(recorder):
    x, y, out = arrays(4096)
    add[(1,)](x, y, out, 4096, BLOCK=1024, stream=77)
    assert recorder[-1].stream == 77
    a, b, c = arrays(4096, stream=55)
    add[(1,)](a, b, c, 4096, BLOCK=1024)
    assert recorder[-1].stream == 55
    a, b, c = arrays(4096, stream=1)  # the legacy default stream, as CAI spells it
    add[(1,)](a, b, c, 4096, BLOCK=1024)
    assert recorder[-1].stream == 0


def test_conflicting_streams_need_stream_option(recorder):
    x = FakeCudaArray((4096,), stream=5)
    y = FakeCudaArray((4096,), stream=6)
    out = FakeCudaArray((4096,))
    with pytest.raises(ValueError, match="different current streams .* pass stream="):
        add[(1,)](x, y, out, 4096, BLOCK=1024)
    add[(1,)](x, y, out, 4096, BLOCK=1024, stream=9)
    assert recorder[-1].stream == 9


def test_callable_grid_sees_constexprs(recorder):
    x, y, out = arrays(4096)
    add[lambda meta: (4096 // meta["BLOCK"],)](x, y, out, 4096, BLOCK=512)
    assert recorder[-1].grid == (8, 1, 1)


def test_empty_grid_launches_nothing(recorder):
    x, y, out = arrays(4096)
    add[(0,)](x, y, out, 4096, BLOCK=1024)
    assert recorder == []


# -- argument validation -----------------------------------------------------------------
@pytest.mark.parametrize("bad, message", [
    (np.zeros(16, np.float32), "host array"),
    ([1.0, 2.0], "unsupported type list"),
    (True, "bool parameters must be tile.constexpr"),
    ("*f32:16", "type strings can be compiled, not launched"),
])
def test_bad_arguments(recorder, bad, message):
    x, y, out = arrays(4096)
    with pytest.raises((TypeError, ValueError), match=message):
        add[(1,)](bad, y, out, 4096, BLOCK=1024)
    assert recorder == []


def test_int_out_of_range(recorder):
    x, y, out = arrays(4096)
    with pytest.raises(ValueError, match=r"add: argument 'n' = 2147483648 does not fit in int32"):
        add[(1,)](x, y, out, 2**31, BLOCK=1024)


@tile.jit
def scale(x, out, n, alpha, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    tile.store(out, start, tile.load(x, start, BLOCK, bound=n) * alpha, bound=n)


def test_numpy_scalars_are_ints_and_floats(recorder):
    """np.int32/np.int64/np.float32/np.float64 launch as the int or float they hold:
    the same specialization and parameters (int32's range for ints)."""
    x, out, _ = arrays(4096)
    abi = scale.compile(x, out, 4096, 0.5, BLOCK=1024).metadata["params"]

    def scalars():  # n and alpha, as the driver reads them
        blobs = read_params(recorder[-1].kernel_params, abi)
        return decode(blobs[4], "i32"), decode(blobs[-1], "f32")
    scale[(1,)](x, out, 4096, 0.5, BLOCK=1024)
    launchers = len(scale._launchers)
    assert scalars() == (4096, 0.5)
    for n, alpha in ((np.int32(4096), np.float32(0.5)), (np.int64(4096), np.float64(0.5)),
                     (np.uint16(4096), np.float16(0.5))):
        scale[(1,)](x, out, n, alpha, BLOCK=1024)
        assert scalars() == (4096, 0.5)
    assert len(scale._launchers) == launchers  # the specialization of 4096, 0.5
    with pytest.raises(ValueError, match=r"scale: argument 'n' = 2147483648 does not fit"):
        scale[(1,)](x, out, np.int64(2**31), 0.5, BLOCK=1024)
    with pytest.raises(TypeError, match="argument 'n': bool parameters must be tile.constexpr"):
        scale[(1,)](x, out, np.bool_(False), 0.5, BLOCK=1024)


@pytest.mark.parametrize("alpha", [1e40, -1e39, np.float64(3.5e38)])
def test_float_beyond_float32_is_an_error(recorder, alpha):
    """A finite float that float32 cannot hold would become inf: a ValueError naming the
    argument, on the GPU path, the interpreter and `compile`; inf and nan themselves pass."""
    x, out, _ = arrays(4096)
    says = r"argument 'alpha' = .* is outside float32's range"
    with pytest.raises(ValueError, match="scale: " + says):
        scale[(1,)](x, out, 4096, alpha, BLOCK=1024)
    host = np.zeros(16, np.float32)
    with pytest.raises(ValueError, match=says):
        scale[(1,)].interpret(host, host, 16, alpha, BLOCK=16)
    assert recorder == []
    for special in (float("inf"), float("-inf"), float("nan"), 3.4028235e38):
        scale[(1,)](x, out, 4096, special, BLOCK=1024)
    assert len(recorder) == 4


def test_numpy_scalars_on_the_interpreter():
    host, out = np.arange(16, dtype=np.float32), np.zeros(16, np.float32)
    for n, alpha in ((np.int32(16), np.float32(2.0)), (np.int64(16), np.float64(2.0))):
        out[:] = 0
        scale[(1,)].interpret(host, out, n, alpha, BLOCK=16)
        np.testing.assert_array_equal(out, host * 2)


def test_size_out_of_int32_range_names_the_parameter(recorder):
    big = [FakeCudaArray((2**31,), pointer=0x7F0000000000 + i * 2**40) for i in range(3)]
    with pytest.raises(ValueError, match=r"x_size0 = 2147483648 does not fit in int32"):
        add[(1,)](*big, 4096, BLOCK=1024)


def test_unsupported_element_types():
    for typestr in ("<f8", ">f4", "<c8"):
        a = FakeCudaArray((4,))
        a._cai["typestr"] = typestr
        with pytest.raises(TypeError, match=f"argument 'x': unsupported array element type"):
            arguments.as_device_array(a, "x")
    a = FakeCudaArray((4,), strides=(1,))
    a._cai["strides"] = (6,)  # 1.5 elements
    with pytest.raises(ValueError, match="not multiples of the 4-byte element size"):
        arguments.as_device_array(a, "x")


def test_arrays_on_different_devices(recorder):
    x = FakeCudaArray((4096,), device=0)
    y = FakeCudaArray((4096,), device=1)
    with pytest.raises(ValueError, match="different devices"):
        add[(1,)](x, y, x, 4096, BLOCK=1024)


def test_wrong_arguments_name_the_kernel():
    x, y, out = arrays(4096)
    with pytest.raises(TypeError, match="add: missing a required argument: 'n'"):
        add[(1,)](x, y, out, BLOCK=1024)
    with pytest.raises(TypeError, match="add: .*unexpected keyword argument 'blocks'"):
        add[(1,)](x, y, out, 4096, BLOCK=1024, blocks=3)


def test_reserved_parameter_names():
    def kernel(x, stream):
        pass
    with pytest.raises(TypeError, match="reserved for launch options"):
        tile.JITFunction(kernel)


@pytest.mark.parametrize("grid, expected", [
    ((3,), (3, 1, 1)), (7, (7, 1, 1)), ([2, 3], (2, 3, 1)), ((1, 2, 3), (1, 2, 3)),
    ((np.int64(4),), (4, 1, 1)), ((0, 5), None)])
def test_grid_forms(grid, expected):
    assert grid3(grid, "k") == expected


@pytest.mark.parametrize("grid, message", [
    ((2**31,), "outside the CUDA limits"), ((1, 65536), "outside the CUDA limits"),
    ((-1,), "outside the CUDA limits"), ((1, 2, 3, 4), "1 to 3 ints"), ((1.5,), "1 to 3 ints"),
    ("8", "1 to 3 ints")])
def test_bad_grids(grid, message):
    with pytest.raises(ValueError, match=message):
        grid3(grid, "k")


def test_stream_handles():
    from types import SimpleNamespace
    assert driver.stream_handle(None) == 0
    assert driver.stream_handle(42) == 42
    assert driver.stream_handle(SimpleNamespace(cuda_stream=7)) == 7  # torch
    assert driver.stream_handle(SimpleNamespace(ptr=8)) == 8  # CuPy

    class Protocol:
        def __cuda_stream__(self):
            return (0, 9)
    assert driver.stream_handle(Protocol()) == 9
    with pytest.raises(TypeError, match="stream= takes"):
        driver.stream_handle("default")
    assert resolve_stream(None, None, 0) == 0
    assert resolve_stream(None, 12, 0) == 12
    assert resolve_stream(3, 12, 0) == 3


def test_shared_memory_limit():
    driver.check_shared_memory("k", 1024, 200 * 1024, 227 * 1024)
    with pytest.raises(ValueError, match=r"kernel k needs 241664 bytes of shared memory .* "
                                         r"allows 232448"):
        driver.check_shared_memory("k", 4096, 232 * 1024, 227 * 1024)


# -- DLPack, read from numpy's capsules (host memory; the layout is the same) ------------------
def test_dlpack_capsule_is_read_in_place():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)[:, 1::2]
    device_type, _, pointer, dtype, shape, strides = arguments.read_dlpack_capsule(
        a.__dlpack__(), "a")
    assert (device_type, dtype, shape, strides) == (1, tile.float32, (4, 3), (6, 2))
    assert pointer == a.__array_interface__["data"][0]
    for np_dtype, expected in [(np.float16, tile.float16), (np.int8, tile.int8),
                               (np.int32, tile.int32)]:
        assert arguments.read_dlpack_capsule(np.zeros(3, np_dtype).__dlpack__(), "a")[3] \
            == expected
    with pytest.raises(TypeError, match="unsupported DLPack element type"):
        arguments.read_dlpack_capsule(np.zeros(3, np.float64).__dlpack__(), "a")


def test_dlpack_host_array_is_refused():
    class HostDLPack:
        def __init__(self):
            self.a = np.zeros(4, np.float32)

        def __dlpack__(self, stream=None):
            return self.a.__dlpack__()

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()
    with pytest.raises(ValueError, match="argument 'x' is a host array"):
        arguments.as_device_array(HostDLPack(), "x")


# -- specialization keys -------------------------------------------------------------------
def test_array_key_decodes_to_array_spec():
    for shape, strides, pointer in itertools.product(
            [(16,), (17,), (32, 48), (33, 16), (2, 3, 5)], [None], [0x1000, 0x1004]):
        rank = len(shape)
        for strides, dtype in itertools.product(itertools.product([1, 16, 3, 8, 4], repeat=rank),
                                                (tile.float16, tile.float32, tile.int8)):
            key = array_key(dtype, pointer, shape, strides)
            spec = spec_of_array_key(key)
            assert spec.rank == rank and spec.dtype == dtype
            assert spec.divisibility == (16 if pointer % 16 == 0 else 1)
            assert spec.size_divisibility == tuple(16 if s % 16 == 0 else 1 for s in shape)
            # Strides: a multiple of 16 elements, else of 16 bytes (TMA's rule), else nothing.
            in_16_bytes = 16 // (dtype.bits // 8)
            assert spec.stride_divisibility == tuple(
                16 if s % 16 == 0 else in_16_bytes if s % in_16_bytes == 0 else 1
                for s in strides)
            assert spec.unit_inner_stride == (strides[-1] == 1)


def test_equal_launch_keys_mean_equal_specializations():
    """The fast key decides which compiled kernel a launch uses: it must never
    put two different specializations under one key."""
    seen = {}
    pointers = [0x7F0000000000, 0x7F0000000004, 0x7F0000000010]
    for n, pointer, stride, value, block in itertools.product(
            [4096, 4095, 32], pointers, [1, 2, 16], [4096, 7, 16.0], [1024, True, 1024.0]):
        x = FakeCudaArray((n,), pointer=pointer, strides=(stride,))
        y, out = FakeCudaArray((n,)), FakeCudaArray((n,), typestr="<f2")
        args, kwargs = (x, y, out, value), {"BLOCK": block}
        key = add._launch_key(args, dict(kwargs))[0]
        spec_key = add._key(add._bind(list(args), dict(kwargs)))
        assert seen.setdefault(key, spec_key) == spec_key
    assert len(set(seen.values())) == len(seen)


def test_satisfies():
    need = array_spec(tile.float32, 0x1000, (32,), (1,))
    assert satisfies(array_spec(tile.float32, 0x2000, (64,), (1,)), need)
    assert not satisfies(array_spec(tile.float32, 0x2004, (64,), (1,)), need)  # alignment
    assert not satisfies(array_spec(tile.float32, 0x2000, (63,), (1,)), need)  # size % 16
    assert not satisfies(array_spec(tile.float32, 0x2000, (64,), (2,)), need)  # unit stride
    assert not satisfies(array_spec(tile.float16, 0x2000, (64,), (1,)), need)  # dtype
    loose = array_spec(tile.float32, 0x1004, (31,), (3,))
    assert satisfies(array_spec(tile.float32, 0x2000, (64,), (1,)), loose)
    assert satisfies(ArgSpec("int", tile.int32, 16), ArgSpec("int", tile.int32, 1))
    assert not satisfies(ArgSpec("int", tile.int32, 1), ArgSpec("int", tile.int32, 16))


# -- packing ------------------------------------------------------------------------------
def test_packer_aligns_and_fills_tma_slot():
    from tile.runtime import tensormap
    spec = array_spec(tile.bfloat16, 0x10000, (256, 128), (128, 1))
    abi = [{"size": 8, "align": 8}, {"size": 4, "align": 4}, {"size": 4, "align": 4},
           {"size": 4, "align": 4}, {"size": 128, "align": 64}, {"size": 4, "align": 4}]
    tma = tensormap.TensorMapSpec.from_metadata(
        {"param": 4, "arg": "a", "dtype": "bf16", "box": [64, 64], "swizzle": 128})
    packer = ParamPacker("k", [("a", spec), ("n", ArgSpec("int", tile.int32, 1))], abi, [tma])
    assert packer.offsets == [0, 8, 12, 16, 64, 192]
    calls = []
    cache = tensormap.DescriptorCache(encoder=lambda enc: calls.append(enc) or bytes(range(128)))
    original = tensormap.DESCRIPTORS
    import tile.runtime.launcher as launcher_module
    launcher_module.DESCRIPTORS = cache
    try:
        raw = [0x10000, 256, 128, 128, 1, 7]
        packer.pack(raw)
        packer.pack(raw)
    finally:
        launcher_module.DESCRIPTORS = original
    blob = packer.packed()
    assert blob[64:192] == bytes(range(128))
    assert decode(blob[0:8], "ptr") == 0x10000 and decode(blob[192:196], "i32") == 7
    assert len(calls) == 1 and calls[0].global_dim == (128, 256)  # encoded once, then cached
    assert read_params(packer.kernel_params, abi)[4] == bytes(range(128))


def test_packer_rejects_an_abi_that_does_not_match():
    spec = ArgSpec("int", tile.int32, 1)
    with pytest.raises(RuntimeError, match="kernel has 2 parameters, the signature makes 1"):
        ParamPacker("k", [("n", spec)], [{"size": 4, "align": 4}] * 2, [])
    with pytest.raises(RuntimeError, match=r"parameter 0 \(n\) is 8 bytes in the kernel"):
        ParamPacker("k", [("n", spec)], [{"size": 8, "align": 8}], [])


# -- CUDA graph capture --------------------------------------------------------------------
def test_first_launch_inside_a_capture_is_refused(monkeypatch):
    """Loading a kernel cannot be captured: the first launch of a specialization while
    its stream captures is a CaptureError (before any driver call), a warmed one launches."""
    monkeypatch.setattr(driver, "stream_capturing", lambda stream: True)
    x, y, out = arrays(4096, pointer=0x7D0000000000)
    with pytest.raises(tile.CaptureError, match=r"add_capture.*capture.*\(a warm-up\)"):
        add_capture[(4,)](x, y, out, 4096, BLOCK=512)
    monkeypatch.setattr(driver, "LoadedKernel", RecordingKernel)
    RecordingKernel.launches = []
    monkeypatch.setattr(driver, "stream_capturing", lambda stream: False)
    add_capture[(4,)](x, y, out, 4096, BLOCK=512)  # the warm-up
    monkeypatch.setattr(driver, "stream_capturing", lambda stream: True)
    add_capture[(4,)](x, y, out, 4096, BLOCK=512)  # captured: nothing to load
    assert len(RecordingKernel.launches) == 2


@tile.jit
def add_capture(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    tile.store(out, start, tile.load(x, start, BLOCK, bound=n) + tile.load(y, start, BLOCK,
                                                                            bound=n), bound=n)
