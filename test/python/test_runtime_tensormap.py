"""TMA descriptor specs and the cuTensorMapEncodeTiled arguments, on the CPU."""
import pytest

from tile.runtime.tensormap import (DescriptorCache, TensorMapError, TensorMapSpec,
                                    tiled_encoding)


def spec(**kw):
    entry = {"param": 0, "arg": "a", "dtype": "bf16", "box": [128, 64], "swizzle": 128}
    entry.update(kw)
    return TensorMapSpec.from_metadata(entry)


def test_gemm_operand_encoding():
    # a bf16 [M=1000, K=4096] row-major operand, 128x64 box, 128-byte swizzle
    enc = tiled_encoding(spec(), 0x7F0000000000, (1000, 4096), (4096, 1))
    assert enc.data_type == "BFLOAT16" and enc.rank == 2 and enc.address == 0x7F0000000000
    assert enc.global_dim == (4096, 1000)  # innermost first
    assert enc.global_strides == (8192,)  # bytes, dims 1.. only
    assert enc.box_dim == (64, 128)
    assert enc.element_strides == (1, 1)
    assert (enc.swizzle, enc.oob_fill) == ("128B", "NONE")
    assert enc.l2_promotion in ("L2_128B", "L2_256B")


def test_rank3_strided_view_and_float8():
    s = spec(dtype="f8E4M3FN", box=[1, 64, 128], swizzle=128)
    enc = tiled_encoding(s, 0x1000, (8, 256, 512), (256 * 1024, 1024, 1))  # padded rows
    assert enc.data_type == "UINT8"  # TMA moves bytes
    assert enc.global_dim == (512, 256, 8)
    assert enc.global_strides == (1024, 262144)
    assert enc.box_dim == (128, 64, 1)


@pytest.mark.parametrize("pointer, shape, strides, message", [
    (0x1008, (64, 64), (64, 1), r"argument 'a' \(TMA descriptor\): base address 0x1008 is not "
                                r"16-byte aligned"),
    (0x1000, (64, 100), (100, 1), r"stride of dimension 0 is 100 elements = 200 bytes; TMA "
                                  r"needs a positive multiple of 16 bytes .* multiple of 8 el"),
    (0x1000, (64, 64), (1, 64), r"innermost stride is 64, TMA needs a contiguous innermost"),
    (0x1000, (64,), (1,), r"the array has rank 1, the kernel's box \[128, 64\] rank 2"),
    (0x1000, (0, 64), (64, 1), "empty dimension"),
    (0x1000, (2**33, 64), (64, 1), "over 2\\^32"),
    (0x1000, (4, 64), (2**39, 1), "below 2\\^40"),
    (0x1000, (4, 64), (0, 1), "positive multiple of 16"),
])
def test_arrays_tma_cannot_take(pointer, shape, strides, message):
    with pytest.raises(TensorMapError, match=message):
        tiled_encoding(spec(), pointer, shape, strides)


@pytest.mark.parametrize("entry, message", [
    ({"dtype": "f64"}, "element type f64 is not supported"),
    ({"swizzle": 16}, "swizzle 16 is not 0, 32, 64 or 128"),
    ({"box": [128, 512]}, r"box \[128, 512\] has an extent outside 1..256"),
    ({"box": [128, 4]}, "inner box extent 4 is 8 bytes, not a multiple of 16"),
    ({"box": [128, 128]}, "inner box extent is 256 bytes, more than the 128-byte swizzle"),
    ({"box": [128, 16], "swizzle": 32}, None),
    ({"box": [1] * 6}, "rank 6"),
    ({"oob_fill": "nan"}, "oob_fill 'nan' is not supported"),
    ({"box": "x"}, "malformed TMA metadata"),
])
def test_descriptor_specs_are_checked(entry, message):
    if message is None:
        spec(**entry)
        return
    with pytest.raises(TensorMapError, match=message):
        spec(**entry)


def test_descriptor_cache_keys():
    """By the spec's encoding, then the array's raw values (pointer, *shape, *strides):
    the slice of a call's raw values the C path looks up (runtime/abi.py)."""
    encoded = []
    cache = DescriptorCache(capacity=3, encoder=lambda enc: encoded.append(enc) or bytes(128))
    s, other_box = spec(), spec(box=[64, 64])
    cache.descriptor(s, (0x1000, 64, 64, 64, 1))
    cache.descriptor(spec(param=9, arg="b"), (0x1000, 64, 64, 64, 1))  # same encoding
    assert len(encoded) == 1 and encoded[0].global_dim == (64, 64)
    assert cache.table(s) == {(0x1000, 64, 64, 64, 1): bytes(128)}
    cache.descriptor(s, (0x2000, 64, 64, 64, 1))  # pointer
    cache.descriptor(s, (0x1000, 64, 128, 128, 1))  # shape, strides
    cache.descriptor(other_box, (0x1000, 64, 64, 64, 1))  # box
    assert len(encoded) == 4 and len(cache) == 3  # bounded: the oldest went
    assert (0x1000, 64, 64, 64, 1) not in cache.table(s)
    cache.descriptor(s, (0x1000, 64, 64, 64, 1))
    assert len(encoded) == 5


def test_bad_arrays_are_not_cached():
    cache = DescriptorCache(encoder=lambda enc: bytes(128))
    for _ in range(2):
        with pytest.raises(TensorMapError):
            cache.descriptor(spec(), (0x1004, 64, 64, 64, 1))
    assert len(cache) == 0


def test_encode_arguments_have_the_types_cuda_python_takes():
    """Called with these arguments, cuda-python goes as far as the driver: no
    TypeError (here the driver may be absent; on a GPU the call succeeds)."""
    pytest.importorskip("cuda.bindings")
    from cuda.bindings import driver as cu
    from tile.runtime.tensormap import encode_arguments
    enc = tiled_encoding(spec(), 0x7F0000000000, (1000, 4096), (4096, 1))
    try:
        cu.cuTensorMapEncodeTiled(*encode_arguments(enc))
    except TypeError as e:
        pytest.fail(f"cuda-python rejected the argument types: {e}")
    except Exception:
        pass  # no driver on this machine
