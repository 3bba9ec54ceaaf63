"""Compiling on the CPU: tile IR -> PTX -> cubin, stage dumps, ptxas."""
import os
import subprocess

import pytest

import tile
from tile.compiler import find_ptxas
from tile.compiler.driver import kernel_params, parse_ptxas_log


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


ALIGNED = ("*f32:16", "*f32:16", "*f32:16", "i32:16")


def test_stages_present():
    kernel = add.compile(*ALIGNED, BLOCK=1024)
    assert "tile.load" in kernel.asm["tile"]
    assert 'loc("' in kernel.asm["tile"]  # frontend IR points at the Python source
    assert "nvvm.kernel" in kernel.asm["llvm"]
    assert ".entry add(" in kernel.ptx
    assert "ld.global.v4.b32" in kernel.ptx and "st.global.v4.b32" in kernel.ptx


def test_tile_ir_locations_point_at_source():
    kernel = add.compile(*ALIGNED, BLOCK=1024)
    store_line = next(i for i, line in enumerate(open(__file__), 1)
                      if "tile.store(out" in line)
    assert f'{os.path.basename(__file__)}":{store_line}:' in kernel.asm["tile"]


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
def test_ptxas_accepts_sm90a():
    kernel = add.compile(*ALIGNED, BLOCK=1024)
    assert kernel.cubin is not None and len(kernel.cubin) > 0
    assert kernel.metadata["spill_stores"] == 0
    assert kernel.metadata["registers"] > 0


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not on PATH")
def test_ptx_assembles_independently(tmp_path):
    """The PTX alone, through the command-line ptxas, for sm_90a."""
    ptx = tmp_path / "add.ptx"
    ptx.write_text(add.compile(*ALIGNED, BLOCK=2048).ptx)
    subprocess.run([find_ptxas(), "-arch=sm_90a", str(ptx), "-o", str(tmp_path / "a.cubin")],
                   check=True)


def test_unaligned_pointer_gives_scalar_accesses():
    kernel = add.compile("*f32", "*f32", "*f32", "i32:16", BLOCK=1024)
    assert "ld.global.v4" not in kernel.ptx
    assert "ld.global.b32" in kernel.ptx or "ld.global.f32" in kernel.ptx


def test_specializations_are_cached_and_distinct():
    a = add.compile(*ALIGNED, BLOCK=1024)
    assert add.compile(*ALIGNED, BLOCK=1024) is a
    assert add.compile(*ALIGNED, BLOCK=512) is not a
    assert add.compile(*ALIGNED[:3], "i32", BLOCK=1024) is not a


def test_bf16_and_f16():
    for t in ("bf16", "f16"):
        kernel = add.compile(f"*{t}:16", f"*{t}:16", f"*{t}:16", "i32:16", BLOCK=2048)
        assert "ld.global.v4.b32" in kernel.ptx  # 8 halves = 16 bytes


def test_num_warps_sets_block_size():
    kernel = add.compile(*ALIGNED, BLOCK=1024, num_warps=8)
    assert kernel.metadata["block"] == [256, 1, 1]
    assert ".maxntid 256, 1, 1" in kernel.ptx


def test_params_read_from_ptx():
    kernel = add.compile(*ALIGNED, BLOCK=1024)
    # x, x_size0, y, y_size0, out, out_size0, n (unit strides are specialized away)
    ptr, i32 = {"size": 8, "align": 8}, {"size": 4, "align": 4}
    assert kernel.metadata["params"] == [ptr, i32] * 3 + [i32]
    ptx = ".entry k(\n\t.param .align 128 .b8 k_param_0[128],\n\t.param .f32 k_param_1\n)"
    assert kernel_params(ptx, "k") == [{"size": 128, "align": 128}, {"size": 4, "align": 4}]


def test_dump_dir_writes_every_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("TILE_DUMP_DIR", str(tmp_path))
    tile.jit(add.fn).compile(*ALIGNED, BLOCK=256)
    files = {p.name for p in (tmp_path / "add").iterdir()}
    assert {"0-tile.mlir", "1-llvm.mlir", "2-kernel.ptx"} <= files
    passes = [p.name for p in (tmp_path / "add" / "passes").rglob("*.mlir")]
    assert any("convert-tile-to-gpu" in p for p in passes)
    assert any("tile-assign-layouts" in p for p in passes)


def test_ptxas_log_parsing():
    log = ("ptxas info    : Used 26 registers, used 0 barriers, 384 bytes cmem[0]\n"
           "ptxas info    : Function properties for add\n"
           "    8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads\n")
    info = parse_ptxas_log(log)
    assert (info["registers"], info["spill_stores"], info["spill_loads"], info["stack_frame"]) \
        == (26, 4, 4, 8)


def test_bad_options_raise_before_mlir():
    with pytest.raises(ValueError, match="num_warps"):
        add.compile(*ALIGNED, BLOCK=1024, num_warps=3)
    from tile.compiler import CompileOptions
    with pytest.raises(ValueError, match="unsupported arch"):
        CompileOptions(arch="sm_80").validate()


def test_launch_needs_arrays_not_type_strings():
    with pytest.raises(TypeError, match="type strings can be compiled, not launched"):
        add[(1,)](*ALIGNED, BLOCK=1024)


def test_tile_ptxas_that_is_no_program_is_named(tmp_path, monkeypatch):
    """TILE_PTXAS naming a missing file, a file without execute permission or one that is
    not a program: an error naming TILE_PTXAS and the path, not subprocess's bare OSError."""
    from tile.compiler.driver import run_ptxas
    from tile.errors import CompilationError
    monkeypatch.setenv("TILE_CACHE", "0")
    missing = tmp_path / "nonexistent" / "ptxas"
    monkeypatch.setenv("TILE_PTXAS", str(missing))
    with pytest.raises(FileNotFoundError, match=f"TILE_PTXAS={missing} is not a file"):
        find_ptxas()
    with pytest.raises(FileNotFoundError, match=f"TILE_PTXAS={missing} is not a file"):
        tile.jit(add.fn).compile(*ALIGNED, BLOCK=1024)
    data = tmp_path / "ptxas"
    data.write_bytes(b"\x00\x01 not a program")
    monkeypatch.setenv("TILE_PTXAS", str(data))
    with pytest.raises(PermissionError, match=f"TILE_PTXAS={data} is not executable"):
        find_ptxas()
    data.chmod(0o755)
    assert find_ptxas() == str(data)
    with pytest.raises(CompilationError, match=f"could not run TILE_PTXAS={data}: "):
        run_ptxas(".version 8.0\n", "sm_90a", 3)
    # A ptxas that fails without a word: its path and exit status, not an empty reason.
    monkeypatch.setenv("TILE_PTXAS", "/bin/false")
    with pytest.raises(CompilationError, match="ptxas \\(/bin/false\\) rejected the generated "
                                               "PTX:\nno message, exit status 1"):
        run_ptxas(".version 8.0\n", "sm_90a", 3)
