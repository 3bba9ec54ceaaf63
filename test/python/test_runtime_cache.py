"""The disk kernel cache: keys, atomic entries, corrupt-entry recovery, and the
JIT using it across processes (simulated by fresh JITFunctions)."""
import json
import re
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


@pytest.mark.parametrize("edit", ["helper", "constant"])
def test_editing_a_helper_or_constant_in_another_file_misses(cache_dir, tmp_path, monkeypatch,
                                                             edit):
    """The key covers what the kernel's code names: a @tile.jit helper from another
    module and a module-level constant (each run below is a fresh import, as a new
    process would make); before, the old kernel came back from the disk."""
    import importlib
    (tmp_path / "stale_main.py").write_text(
        "import tile\nfrom stale_helper import helper, C\n\n@tile.jit\n"
        "def k(x, out, BLOCK: tile.constexpr):\n"
        "    tile.store(out, 0, helper(tile.load(x, 0, BLOCK)) * C)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ptx = []
    for added, scale in (("1.0", "3.0"), ("20.0", "3.0") if edit == "helper" else ("1.0", "50.0")):
        (tmp_path / "stale_helper.py").write_text(
            f"import tile\nC = {scale}\n\n@tile.jit\ndef helper(a):\n    return a + {added}\n")
        for name in ("stale_main", "stale_helper"):
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        ptx.append(importlib.import_module("stale_main").k.compile("*f32:16", "*f32:16",
                                                                   BLOCK=16).ptx)
    wanted = "0f41A00000" if edit == "helper" else "0f42480000"  # 20.0 or 50.0
    assert wanted not in ptx[0] and wanted in ptx[1]


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


# -- entries with a valid checksum but a payload tile never writes ----------------------------
def rewrite_payload(path, edit):
    """Applies `edit` to the entry's JSON payload and writes it back with a valid
    checksum, as a buggy or foreign writer would."""
    import hashlib
    data = json.loads(path.read_bytes().partition(b"\n")[2])
    body = edit(data)
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    path.write_bytes(cache.MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)


def _set(where, **values):
    def edit(data):
        target = data
        for name in where:
            target = target[name]
        for name, value in values.items():
            if value is _DELETE:
                del target[name]
            else:
                target[name] = value
        return data
    return edit


_DELETE = object()
MALFORMED = {  # name: (edit, what the warning must say)
    "payload_list": (lambda data: [data], "the document is a list, expected an object"),
    "not_json": (lambda data: b"{\"format\": 1,", "not JSON"),
    "not_utf8": (lambda data: b"\xff\xfe\x00", "not JSON"),
    "kernel_list": (_set([], kernel=[]), "kernel: is a list, expected an object"),
    "no_kernel": (_set([], kernel=_DELETE), "kernel: is missing"),
    "cubin_string": (_set(["kernel", "asm"], cubin="\x7fELF"), "kernel.asm.cubin: is text"),
    "cubin_bad_base64": (_set(["kernel", "asm"], cubin={"base64": "@@"}),
                         "kernel.asm.cubin: is not valid base64"),
    "ptx_missing": (_set(["kernel", "asm"], ptx=_DELETE), "kernel.asm.ptx: is missing"),
    "asm_list": (_set(["kernel"], asm=[]), "kernel.asm: is a list"),
    "name_number": (_set(["kernel"], name=7), "kernel.name: is an integer"),
    "metadata_list": (_set(["kernel"], metadata=[]), "kernel.metadata: is a list"),
    "no_params": (_set(["kernel", "metadata"], params=_DELETE),
                  "kernel.metadata.params: is missing"),
    "param_size": (_set(["kernel", "metadata", "params", 0], size="8"),
                   r"kernel.metadata.params\[0\].size: is a string, expected an integer"),
    "block_zero": (_set(["kernel", "metadata"], block=[0, 1, 1]),
                   r"kernel.metadata.block\[0\]: is 0, must be at least 1"),
    "shared_negative": (_set(["kernel", "metadata"], shared_bytes=-5),
                        "kernel.metadata.shared_bytes: is -5, must be at least 0"),
    "tma_entry": (_set(["kernel", "metadata"], tma=[{"param": 0}]),
                  r"kernel.metadata.tma\[0\]: malformed TMA metadata"),
}


@pytest.mark.parametrize("damage", sorted(MALFORMED))
def test_malformed_entry_is_reported_deleted_and_rebuilt(cache_dir, compiles, damage):
    edit, says = MALFORMED[damage]
    good = tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    (path,) = entries(cache_dir)
    rewrite_payload(path, edit)
    named = re.escape(str(path))
    with pytest.warns(RuntimeWarning, match=f"corrupt entry {named} .*{says}.*rebuilding it"):
        rebuilt = tile.jit(add_source()).compile(*ALIGNED, BLOCK=1024)
    assert len(compiles) == 2  # compiled again, not loaded
    assert rebuilt.cubin == good.cubin and rebuilt.metadata["params"] == good.metadata["params"]
    assert cache.DiskCache(cache_dir).load(path.stem) is not None  # rewritten whole


# -- temporary files of writers that were killed -----------------------------------------------
def fake_kernel(tag="k"):
    from tile.compiler import CompiledKernel
    return CompiledKernel(tag, {"ptx": f".entry {tag}()", "cubin": tag.encode() * 1000},
                          {"arch": "sm_90a", "num_warps": 4, "block": [128, 1, 1],
                           "shared_bytes": 0, "params": [{"size": 8, "align": 8}]})


def temporary(directory, name, age_seconds):
    import os
    import time
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(b"half an entry")
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def test_stale_temporaries_are_removed_live_ones_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(cache.DiskCache, "_swept", set())
    disk = cache.DiskCache(tmp_path)
    key = "ab" * 32
    here = disk.path(key).parent
    stale = temporary(here, ".abab-killed.tmp", cache.STALE_TEMPORARY_SECONDS + 60)
    elsewhere = temporary(tmp_path / "cd", ".cdcd-killed.tmp", cache.STALE_TEMPORARY_SECONDS + 60)
    live = temporary(here, ".abab-writing.tmp", 5)  # a writer in another process, mid-write
    not_ours = temporary(here, "notes.tmp", 10 * cache.STALE_TEMPORARY_SECONDS)
    disk.store(key, fake_kernel())
    assert not stale.exists() and not elsewhere.exists()
    assert live.exists() and not_ours.exists()
    assert disk.load(key).asm == fake_kernel().asm


def test_a_sweep_does_not_race_a_live_writer(tmp_path, monkeypatch):
    """A writer between creating its temporary file and renaming it while another
    store sweeps the directory: its entry still lands whole."""
    import os
    import threading
    disk = cache.DiskCache(tmp_path)
    key, other = "ab" * 32, "ab" + "cd" * 31
    created, swept = threading.Event(), threading.Event()
    real_replace = os.replace

    def paused_replace(src, dst):
        if dst == disk.path(key):
            created.set()
            swept.wait(10)
        return real_replace(src, dst)
    monkeypatch.setattr(cache.os, "replace", paused_replace)
    writer = threading.Thread(target=disk.store, args=(key, fake_kernel("first")))
    writer.start()
    assert created.wait(10)
    assert disk.store(other, fake_kernel("second"))  # sweeps the same directory
    swept.set()
    writer.join()
    assert disk.load(key).name == "first" and disk.load(other).name == "second"


def _store_and_load(directory, worker):
    """One of many processes compiling into one cache: each stores two shared keys
    and one of its own, and loads them back."""
    import warnings
    disk = cache.DiskCache(directory)
    keys = ["aa" * 32, "ab" * 32, f"{worker:064x}"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for round in range(3):
            for key in keys:
                disk.store(key, fake_kernel(f"k{key[:8]}"))
                loaded = disk.load(key)
                assert loaded is not None and loaded.asm == fake_kernel(f"k{key[:8]}").asm
    return worker


def test_48_concurrent_writers_stay_correct(tmp_path):
    import multiprocessing
    temporary(tmp_path / "aa", ".aaaa-killed.tmp", cache.STALE_TEMPORARY_SECONDS + 60)
    with multiprocessing.get_context("fork").Pool(48) as pool:
        assert sorted(pool.starmap(_store_and_load, [(tmp_path, w) for w in range(48)])) == \
            list(range(48))
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".json"] == []
    assert len(entries(tmp_path)) == 2 + 48
