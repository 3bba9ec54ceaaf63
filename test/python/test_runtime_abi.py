"""The launch ABI (tile/runtime/abi.py) has one description, read by two readers: the
Python path's `arguments.collect` and the C fast path (`tile._launch`, configured from
`abi.native_table()`). These tests hold the C reader to Python's over many arguments
(the same key parts and raw values, or a refusal where Python refuses), and show that
the C side takes its rules from the table rather than from its own constants."""
import random
import struct
import sys

import pytest

import tile
from tile import interpreter
from tile.runtime import abi, arguments, native
from tile.signature import INT32_RANGE, array_key, array_spec, spec_of_array_key
from runtime_fakes import FakeTensor, make_fake_torch

pytestmark = pytest.mark.skipif(native.module is None, reason=f"no C launch path: {native.reason}")
ext = native.module
DTYPES = ("float32", "float16", "bfloat16", "int32", "int16", "int8", "int64")


@pytest.fixture
def fake_torch(monkeypatch):
    """Stand-in torch, with the runtime's torch tables emptied for the test and restored."""
    torch = make_fake_torch()
    monkeypatch.setitem(sys.modules, "torch", torch)
    tables = [arguments._torch_dtype_table, arguments._TORCH_DTYPE_KEYS, arguments._READERS]
    saved = [dict(t) for t in tables]
    for t in tables[:2]:
        t.clear()
    ext.configure(abi.native_table())  # forgets the dtypes the C side saw
    yield torch
    for t, s in zip(tables, saved):
        t.clear()
        t.update(s)
    ext.configure(abi.native_table())


def python_read(values):
    """collect's key parts, raw values and device; None when it refuses the arguments."""
    key, raw = [], []
    try:
        device, _ = arguments.collect([f"a{i}" for i in range(len(values))], values, key, raw)
    except (TypeError, ValueError):
        return None
    return tuple(key), raw, device


def c_read(values):
    parts, *rest = ext.read_arguments(values)
    return None if parts is None else (parts, *rest)


def random_tensor(torch, rng):
    rank = rng.randint(1, 4)
    shape = tuple(rng.choice([1, 3, 8, 16, 48, 100, 4096, 4104]) for _ in range(rank))
    strides = [rng.choice([1, 2, 8, 16, 24, 4104, 4100, 0, -16, -3]) for _ in range(rank)]
    if rng.random() < 0.5:
        strides[-1] = 1
    pointer = rng.choice([0x7F0000000000, 0x7F0000000004, 0x7F0000000008, 0x10, 0, 2**63 + 16,
                          2**64 - 16])
    return FakeTensor(torch, shape, pointer=(pointer + 16 * rng.randint(0, 64)) % 2**64,
                      dtype=rng.choice(DTYPES), strides=tuple(strides))


SCALARS = [0, 1, 15, 16, -16, -8, 4096, 4100, INT32_RANGE[0], INT32_RANGE[1], 0.0, -2.5,
           float("inf"), float("nan"), 3.4e38]


def test_c_reads_what_python_reads(fake_torch):
    """Many calls of tensors (every dtype, ranks 1-4, aligned or not, odd and negative
    strides) and scalars: the C reader's key parts and raw values are collect's."""
    rng = random.Random(2026)
    for case in range(600):
        values = [random_tensor(fake_torch, rng) if rng.random() < 0.6 else rng.choice(SCALARS)
                  for _ in range(rng.randint(1, 6))]
        expected, got = python_read(values), c_read(values)
        assert expected is not None, values
        assert repr(got) == repr(expected), (case, values)  # repr: nan equals nan
        for part, value in zip(got[0], values):  # and the specialization they stand for
            if isinstance(value, FakeTensor):
                dtype = arguments._torch_dtypes()[value.dtype]
                assert abi.spec_of_part(part) == array_spec(dtype, value.data_ptr(),
                                                            value.shape, value.stride())


@pytest.mark.parametrize("value", [2**31, -2**31 - 1, 2**70, True])
def test_c_declines_what_python_refuses(fake_torch, value):
    assert python_read([value]) is None
    parts, why = ext.read_arguments([value])
    assert parts is None and why


def test_c_declines_tensors_python_refuses(fake_torch):
    cpu = FakeTensor(fake_torch, (64,), device=-1)
    f64 = FakeTensor(fake_torch, (64,))
    f64.dtype = "float64"
    a, b = FakeTensor(fake_torch, (64,)), FakeTensor(fake_torch, (64,), device=1)
    for values in ([cpu], [f64], [a, b]):
        assert python_read(values) is None
        assert ext.read_arguments(values)[0] is None


def test_c_leaves_other_types_to_python(fake_torch):
    """numpy scalars, strings and the like: read (or refused) by Python only."""
    np = pytest.importorskip("numpy")
    for value in (np.int32(16), np.float32(2.5), "*f32", object()):
        assert ext.read_arguments([value]) == (None, "an argument of another type")
    assert python_read([np.int32(16), np.float32(2.5)])[0] == (True, abi.FLOAT_KEY)


def test_float_out_of_float32_is_refused_when_packed():
    """collect refuses a float that rounds to infinity; the C path reads it and its
    'f' slot refuses it at packing, so the Python path then says why."""
    assert python_read([1e39]) is None
    plan = ext.plan(0, 0, (1, 1, 1), 0, 4, [(abi.PARAM_CODES["f32"], 0, 0)], [])
    with pytest.raises(OverflowError):
        ext.pack(plan, [1e39], [])
    assert ext.pack(plan, [2.5], []) == struct.pack("<f", 2.5)


def test_the_c_reader_follows_the_table(fake_torch):
    """Other rules in the table, other keys from C: it holds no constant of its own."""
    table = abi.native_table()
    ext.configure({**table, "int_divisor": 8, "int_range": (-100, 100), "int_keys": ("no", "yes"),
                   "float_key": "float"})
    try:
        assert ext.read_arguments([8, 4, 2.0]) == (("yes", "no", "float"), [8, 4, 2.0], None)
        assert ext.read_arguments([101])[0] is None
        arguments._torch_dtypes()
        fake_torch_keys = dict(arguments._TORCH_DTYPE_KEYS)
        arguments._TORCH_DTYPE_KEYS[fake_torch.float32] = ("f32", (4, 4, 4, 4))
        ext.configure({**table, "torch_dtypes": arguments._TORCH_DTYPE_KEYS})
        t = FakeTensor(fake_torch, (4,), pointer=0x1004, strides=(4,))
        (part,), _, _ = ext.read_arguments([t])
        assert part == ("f32", 0b1_1_1_1_1_0)  # everything divisible by 4, stride not 1
        arguments._TORCH_DTYPE_KEYS.update(fake_torch_keys)
        with pytest.raises(ValueError, match="divisor 3 is no power of two"):
            ext.configure({**table, "int_divisor": 3})
    finally:
        ext.configure(table)


def test_spec_of_part_inverts_the_key():
    assert abi.spec_of_part(abi.FLOAT_KEY).kind == "float"
    assert abi.spec_of_part(abi.INT_KEYS[True]).divisibility == 16
    assert abi.spec_of_part(abi.INT_KEYS[False]).divisibility == 1
    # 2-D bf16, rows of 4104 elements: 16 bytes apart though not 16 elements; inner stride 1
    key = ("bf16", 0b1_1_1_0_0_1_0_0_1)
    spec = spec_of_array_key(key)
    assert (spec.divisibility, spec.size_divisibility) == (16, (16, 1))
    assert spec.stride_divisibility == (8, 1) and spec.unit_inner_stride
    assert array_key(tile.bfloat16, 0x1000, (64, 4100), (4104, 1)) == key


@pytest.mark.parametrize("text", [None, "", "1", " On ", "TRUE", "yes", "0", "no", "y",
                                  "１", "off", "true\n"])
def test_interpret_is_decided_by_python_only(monkeypatch, text):
    """The C path sends a call to the interpreter exactly when interpreter.requested()
    says so (it asks Python whenever TILE_INTERPRET's text changes)."""
    @tile.jit
    def nothing(n):
        pass

    calls = []
    monkeypatch.setattr(interpreter, "launch", lambda *a: calls.append(a))
    if text is None:
        monkeypatch.delenv("TILE_INTERPRET", raising=False)
    else:
        monkeypatch.setenv("TILE_INTERPRET", text)
    try:
        nothing[(1,)]()  # interpreted (the stand-in records it), or a binding error
    except TypeError:
        assert not interpreter.requested()
    assert bool(calls) == interpreter.requested()
    assert (ext.stats()["last_decline"] == "TILE_INTERPRET") == interpreter.requested()
