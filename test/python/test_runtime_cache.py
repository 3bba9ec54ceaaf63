"""The disk kernel cache: keys, atomic entries, corrupt-entry recovery, and the
JIT using it across processes (simulated by fresh JITFunctions)."""
import json
import sys

import pytest

import tile
from tile.runtime import cache
jit_module = sys.modules["tile.runtime.jit"]  # (tile.runtime.jit is the decorator)

ALIGNED = ("*f32:16", "*f32:16", "*f32:16", "i32:16")


def add_source():
    def add(x, y, out, n, BLOCK: tile.constexpr):
        start = tile.program_id(0) * BLOCK
        a = tile.load(x, start, BLOCK, bound=n)
        b = tile.load(y, start, BLOCK, bound=n)
        tile.store(out, start, a + b, bound=n)
    return add


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TILE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TILE_CACHE", raising=False)
    monkeypatch.delenv("TILE_DUMP_DIR", raising=False)
    return tmp_path


@pytest.fixture
def compiles(monkeypatch):
    """Counts real compilations."""
    count = []
    real = jit_module.compile_ir

    def counting(*args, **kwargs):
        count.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(jit_module, "compile_ir", counting)
    return count


def entries(directory):
    return sorted(directory.rglob("*.json"))


def test_second_process_loads_from_disk(cache_dir, compiles):
    first = tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    assert len(compiles) == 1 and len(entries(cache_dir)) == 1
    second = tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    assert len(compiles) == 1  # nothing compiled
    assert second.asm == first.asm and second.metadata["params"] == first.metadata["params"]
    assert second.cubin == first.cubin


def test_keys_separate_specializations(cache_dir, compiles):
    kernel = tile.jit(add_source())
    kernel.compile(*ALIGNED, BLOCK=1024)
    kernel.compile(*ALIGNED, BLOCK=512)  # constexpr
    kernel.compile(*ALIGNED[:3], "i32", BLOCK=1024)  # divisibility
    kernel.compile(*ALIGNED, BLOCK=1024, num_warps=8)  # options
    assert len(compiles) == 4 and len(entries(cache_dir)) == 4


def test_key_covers_source_options_and_compiler():
    base = cache.entry_key("src", ("spec",), ("opts",), "fp1")
    assert base != cache.entry_key("src2", ("spec",), ("opts",), "fp1")
    assert base != cache.entry_key("src", ("spec2",), ("opts",), "fp1")
    assert base != cache.entry_key("src", ("spec",), ("opts2",), "fp1")
    assert base != cache.entry_key("src", ("spec",), ("opts",), "fp2")
    assert base == cache.entry_key("src", ("spec",), ("opts",), "fp1")
    from tile.compiler import CompileOptions
    assert repr(CompileOptions(arch="sm_90a")) != repr(CompileOptions(arch="sm_100a"))


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "other_key"])
def test_corrupt_entry_is_rebuilt_not_loaded(cache_dir, compiles, damage):
    good = tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    (path,) = entries(cache_dir)
    blob = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "flip":
        at = len(blob) - 100
        path.write_bytes(blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1:])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff" * 50)
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # a valid entry, but written for another key
        payload = json.loads(blob.partition(b"\n")[2])
        payload["key"] = "0" * 64
        body = json.dumps(payload).encode()
        import hashlib
        path.write_bytes(cache.MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    with pytest.warns(RuntimeWarning, match="corrupt entry .* rebuilding it"):
        rebuilt = tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    assert len(compiles) == 2
    assert rebuilt.cubin == good.cubin and rebuilt.asm["ptx"] == good.asm["ptx"]
    assert cache.DiskCache(cache_dir).load(path.stem) is not None  # rewritten whole
    tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    assert len(compiles) == 2


def test_writes_are_atomic(cache_dir, compiles):
    tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    leftovers = [p for p in cache_dir.rglob("*") if p.is_file() and p.suffix != ".json"]
    assert leftovers == []  # the temporary file was renamed into place


def test_cache_off(cache_dir, compiles, monkeypatch):
    monkeypatch.setenv("TILE_CACHE", "0")
    tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    assert len(compiles) == 2 and entries(cache_dir) == []


def test_unwritable_cache_dir_still_compiles(tmp_path, monkeypatch, compiles):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TILE_CACHE_DIR", str(blocker / "sub"))
    monkeypatch.delenv("TILE_DUMP_DIR", raising=False)
    with pytest.warns(RuntimeWarning, match="cannot write"):
        kernel = tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    assert kernel.ptx


def test_default_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("TILE_CACHE_DIR", raising=False)
    monkeypatch.delenv("TILE_DUMP_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "tile"


def test_stage_times_recorded(cache_dir):
    kernel = tile.jit(add_source()).compile(*ALIGNED, BLOCK=256)
    seconds = kernel.metadata["stage_seconds"]
    assert {"frontend", "parse", "tile_passes", "llvm_nvptx"} <= set(seconds)
    assert all(v > 0 for v in seconds.values())
