"""The compiler driver: tile IR text -> verified tile IR -> LLVM/NVVM -> PTX -> cubin.

The text is the frontend's module as printed after it was built and verified
(frontend/ir.py); the driver parses it into its own context.

Each stage's text is kept in `CompiledKernel.asm`; with TILE_DUMP_DIR set,
every stage and the IR after every pass are written there.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CompilationError
from .mlir_context import new_context

SUPPORTED_ARCHS = ("sm_90a",)  # the targets tile compiles for (and AOT metadata may name)
NUM_WARPS = (1, 2, 4, 8, 16)  # the warps a program may have (before warp_specialize's 4)


@dataclass(frozen=True)
class CompileOptions:
    arch: str = "sm_90a"
    num_warps: int = 4
    opt_level: int = 3
    # Shared-memory buffers per operand that tile-pipeline stages; None: 3,
    # the default, which a loop may take fewer of without a word (a number the
    # user chose is reported where a loop cannot have it: report_unhonoured).
    stages: int | None = None
    # A producer warpgroup issues the pipeline's copies (tile-pipeline decides
    # whether the kernel qualifies; the block then has 4 more warps).
    warp_specialize: bool = False
    # Programs (CTAs) a cluster along grid axis 0, launched together; their
    # `multicast` loads are shared (with warp_specialize).
    num_ctas: int = 1
    # Device failures (a tile.wait that lasts 10 s) print the kernel's line
    # through __assertfail; off, they trap without a message (a call would
    # serialize the kernel's wgmmas). TILE_DEBUG=1 turns it on.
    debug: bool = field(default_factory=lambda: os.environ.get("TILE_DEBUG", "0") == "1")
    # An option a pass cannot honour is a CompilationError, not a warning.
    # TILE_STRICT=1 turns it on.
    strict: bool = field(default_factory=lambda: os.environ.get("TILE_STRICT", "0") == "1")

    @property
    def pipeline_stages(self) -> int:
        return 3 if self.stages is None else self.stages

    def validate(self) -> None:
        if self.arch not in SUPPORTED_ARCHS:
            raise ValueError(f"unsupported arch {self.arch!r}; tile targets {SUPPORTED_ARCHS}")
        if self.num_warps not in NUM_WARPS:
            raise ValueError(f"num_warps must be 1, 2, 4, 8 or 16, got {self.num_warps}")
        if self.opt_level not in (0, 1, 2, 3):
            raise ValueError(f"opt_level must be 0..3, got {self.opt_level}")
        if self.stages is not None and not 1 <= self.stages <= 8:
            raise ValueError(f"num_stages must be 1..8 (1: no copies ahead), got {self.stages}")
        if self.num_ctas not in (1, 2, 4):
            raise ValueError(f"num_ctas must be 1, 2 or 4, got {self.num_ctas!r}")


@dataclass
class CompiledKernel:
    """A compiled specialization: every stage's text plus launch metadata."""

    name: str
    asm: dict[str, str | bytes]
    metadata: dict = field(default_factory=dict)

    @property
    def ptx(self) -> str:
        return self.asm["ptx"]

    @property
    def cubin(self) -> bytes | None:
        return self.asm.get("cubin")


_LOC = re.compile(r'loc\("(?P<file>(?:[^"\\]|\\.)*)":(?P<line>\d+):(?P<col>\d+)\)')


def _error_from_mlir(err, stage: str, tile_ir: str | None = None) -> CompilationError:
    """Maps an MLIR diagnostic back to the user's source line through its loc:
    the op's location, where the frontend put the kernel's file:line:col.

    A parse error of hand-written IR text (e.g. an op the dialect does not know)
    is located in the text itself; the `loc` at the end of that line names the source."""
    diags = getattr(err, "error_diagnostics", None) or []
    for d in diags:
        m = _LOC.search(str(d.location))
        if m and m["file"] == "-" and tile_ir is not None:
            ir_lines = tile_ir.splitlines()
            ir_line = int(m["line"])
            m = _LOC.search(ir_lines[ir_line - 1]) if 0 < ir_line <= len(ir_lines) else None
        if m:
            import linecache
            filename, line, col = m["file"], int(m["line"]), int(m["col"]) - 1
            message = d.message
            for note in d.notes:
                if not note.message.startswith("see current operation"):  # generic-form IR
                    message += f"\n  note: {note.message}"
            return CompilationError(f"{message} (in {stage})", filename, line, col,
                                    linecache.getline(filename, line) or None)
    return CompilationError(f"{stage} failed: {err}")


def report_unhonoured(kernel: str, remarks: list, options: CompileOptions) -> None:
    """Options a pass could not honour (warp_specialize on a kernel it cannot
    split, a multicast load staged per program, num_stages on a loop TMA
    cannot feed) reach the user as a warning at the line of the op that
    failed, naming the kernel and the reason; with `options.strict`
    (TILE_STRICT=1) as a CompilationError. A remark on the stage count is
    shown only where the user chose one (the default is a default). The
    remarks are kept in the kernel's metadata ("unhonoured"), so that a kernel
    read from the disk cache says the same."""
    for location, text in remarks:
        if text.startswith("num_stages=") and options.stages is None:
            continue
        m = _LOC.search(location)
        if options.strict:
            import linecache
            raise CompilationError(f"{kernel}: {text} (TILE_STRICT=1)",
                                   m["file"] if m else None, int(m["line"]) if m else None,
                                   int(m["col"]) - 1 if m else None,
                                   linecache.getline(m["file"], int(m["line"])) or None
                                   if m else None)
        import warnings
        if m:  # shown at the kernel's line
            warnings.warn_explicit(f"{kernel}: {text}", UserWarning, m["file"], int(m["line"]))
        else:
            warnings.warn(f"{kernel}: {text}", stacklevel=2)


def find_ptxas() -> str | None:
    """`$TILE_PTXAS` if set (it must name an executable file), else `ptxas` on
    PATH, then in `$CUDA_HOME/bin` and `/usr/local/cuda/bin`; None if none is."""
    if env := os.environ.get("TILE_PTXAS"):
        if not os.path.isfile(env):
            raise FileNotFoundError(f"TILE_PTXAS={env} is not a file: set it to the ptxas of "
                                    "CUDA 12.4+ or unset it to search PATH and CUDA_HOME")
        if not os.access(env, os.X_OK):
            raise PermissionError(f"TILE_PTXAS={env} is not executable")
        return env
    if found := shutil.which("ptxas"):
        return found
    for root in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if root and (p := Path(root) / "bin" / "ptxas").is_file():
            return str(p)
    return None


_ENTRY = re.compile(r"\.entry\s+(?P<name>[\w$]+)\s*\((?P<params>[^)]*)\)", re.S)
_PARAM = re.compile(r"\.param\s+(?:\.align\s+(?P<align>\d+)\s+)?\.(?P<type>[usbf]\d+)"
                    r"(?:\s+\.ptr(?:\s+\.\w+)*(?:\s+\.align\s+\d+)?)?\s+[\w$]+(?:\[(?P<n>\d+)\])?")


def kernel_params(ptx: str, name: str) -> list[dict]:
    """Byte size and alignment of each kernel parameter, read from the PTX entry:
    the ABI the driver will see, whatever the lowering chose."""
    for m in _ENTRY.finditer(ptx):
        if m["name"] != name:
            continue
        params = []
        for p in _PARAM.finditer(m["params"]):
            elem = int(p["type"][1:]) // 8
            count = int(p["n"]) if p["n"] else 1
            params.append({"size": elem * count, "align": int(p["align"] or elem)})
        return params
    raise CompilationError(f"kernel {name} not found in the PTX")


def run_ptxas(ptx: str, arch: str, opt_level: int) -> tuple[bytes, dict]:
    ptxas = find_ptxas()
    if ptxas is None:
        raise FileNotFoundError("ptxas not found")
    with tempfile.TemporaryDirectory(prefix="tile-") as tmp:
        src, out = Path(tmp) / "kernel.ptx", Path(tmp) / "kernel.cubin"
        src.write_text(ptx)
        try:
            proc = subprocess.run([ptxas, f"-arch={arch}", f"-O{opt_level}", "-v", str(src),
                                   "-o", str(out)], capture_output=True, text=True)
        except OSError as e:  # not a program this machine can run
            where = "TILE_PTXAS=" if os.environ.get("TILE_PTXAS") else "ptxas at "
            raise CompilationError(f"could not run {where}{ptxas}: {e.strerror or e}") from None
        if proc.returncode != 0:
            said = proc.stderr.strip() or f"no message, exit status {proc.returncode}"
            raise CompilationError(f"ptxas ({ptxas}) rejected the generated PTX:\n{said}")
        log = proc.stderr + proc.stdout
        return out.read_bytes(), parse_ptxas_log(log)


def parse_ptxas_log(log: str) -> dict:
    def grab(pattern):
        m = re.search(pattern, log)
        return int(m.group(1)) if m else 0
    return {"registers": grab(r"Used (\d+) registers"),
            "spill_stores": grab(r"(\d+) bytes spill stores"),
            "spill_loads": grab(r"(\d+) bytes spill loads"),
            "stack_frame": grab(r"(\d+) bytes stack frame"),
            "ptxas_log": log.strip()}


def _dump(dump_dir: Path | None, name: str, text: str | bytes) -> None:
    if dump_dir is None:
        return
    path = dump_dir / name
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)


def _parse(tile_ir: str):
    """The verified module of a kernel's tile IR (inside an active context)."""
    from mlir import ir
    try:
        module = ir.Module.parse(tile_ir)
        if not module.operation.verify():
            raise CompilationError("the tile IR failed to verify")
    except ir.MLIRError as e:
        raise _error_from_mlir(e, "the tile IR verifier", tile_ir) from None
    return module


def verify_ir(tile_ir: str, locations: bool = False) -> str:
    """Parses and verifies tile IR printed by the frontend (no lowering); returns
    it as MLIR prints it, with `loc`s into the kernel's source if `locations`."""
    from mlir import ir
    with new_context() as ctx, ir.Location.unknown():
        ctx.emit_error_diagnostics = False
        return _parse(tile_ir).operation.get_asm(enable_debug_info=locations)


def tensor_maps(module, param_names: list[str] | None) -> list[dict]:
    """The TMA descriptors tile-synthesize-tma asked for (module attribute
    `tile.tma`), as runtime metadata: which parameter receives each, for which
    array argument (named by its pointer parameter), box and swizzle."""
    from mlir import ir
    attrs = module.operation.attributes
    if "tile.tma" not in attrs:
        return []
    result = []
    for entry in ir.ArrayAttr(attrs["tile.tma"]):
        d = ir.DictAttr(entry)
        pointer = ir.IntegerAttr(d["pointer"]).value
        result.append({
            "param": ir.IntegerAttr(d["param"]).value,
            "arg": param_names[pointer] if param_names else f"param{pointer}",
            "dtype": str(ir.TypeAttr(d["dtype"]).value),
            "box": list(ir.DenseI64ArrayAttr(d["box"])),
            "swizzle": ir.IntegerAttr(d["swizzle"]).value,
            "oob_fill": "zero"})
    return result


_TMA_STORE = "cp.async.bulk.tensor.2d.global.shared::cta"


def compile_ir(tile_ir: str, name: str, options: CompileOptions = CompileOptions(),
               want_cubin: bool = True, param_names: list[str] | None = None) -> CompiledKernel:
    """Compiles one kernel module printed by the frontend (see `_compile`). When
    ptxas reports spills and the kernel stores its epilogue through shared memory
    and TMA, the kernel is compiled again with plain stores, and the one that
    spills less is kept (its metadata says so under "epilogue")."""
    kernel = _compile(tile_ir, name, options, want_cubin, param_names, tma_store=True)
    spills = kernel.metadata.get("spill_stores") or 0
    if spills and _TMA_STORE in kernel.ptx:
        plain = _compile(tile_ir, name, options, want_cubin, param_names, tma_store=False)
        if (plain.metadata.get("spill_stores") or 0) < spills:
            plain.metadata["epilogue"] = (f"plain stores: through shared memory and TMA it "
                                          f"spilled {spills} bytes")
            return plain
    return kernel


def _extra_pipeline_options() -> str:
    """TILE_PIPELINE_OPTIONS: more tile-to-llvm options, for experiments
    (e.g. "ping-pong=false"); part of the kernel cache's fingerprint."""
    return os.environ.get("TILE_PIPELINE_OPTIONS", "")


def _compile(tile_ir: str, name: str, options: CompileOptions, want_cubin: bool,
             param_names: list[str] | None, tma_store: bool) -> CompiledKernel:
    """Compiles one kernel module printed by the frontend; `param_names` names
    its parameters in order (signature.params_of), so that TMA metadata can say
    which argument each descriptor describes. `metadata["stage_seconds"]`
    times each stage: "parse" (parse and verify the tile IR), "tile_passes" (the
    tile-to-llvm pipeline: tile passes and conversion to the LLVM dialect),
    "llvm_nvptx" (LLVM IR and the NVPTX backend, to PTX), "ptxas" (PTX to cubin)."""
    from mlir import ir, passmanager
    options.validate()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = now - clock
        clock = now

    dump_dir = None
    if env := os.environ.get("TILE_DUMP_DIR"):
        dump_dir = Path(env) / name
        dump_dir.mkdir(parents=True, exist_ok=True)
    asm: dict[str, str | bytes] = {}
    with new_context() as ctx, ir.Location.unknown():
        ctx.emit_error_diagnostics = False
        module = _parse(tile_ir)
        lap("parse")
        asm["tile"] = module.operation.get_asm(enable_debug_info=True)
        _dump(dump_dir, "0-tile.mlir", asm["tile"])
        clock = time.perf_counter()

        pipeline = (f"builtin.module(tile-to-llvm{{chip={options.arch} "
                    f"opt-level={options.opt_level} stages={options.pipeline_stages} "
                    f"warp-specialize={str(options.warp_specialize).lower()} "
                    f"tma-store={str(tma_store).lower()} debug={str(options.debug).lower()} "
                    f"{_extra_pipeline_options()}}})")
        pm = passmanager.PassManager.parse(pipeline)
        if dump_dir is not None:
            pm.enable_ir_printing(tree_printing_dir_path=str(dump_dir / "passes"))
        remarks = []  # a pass that could not honour an option says why in a remark

        def keep_remark(diagnostic) -> bool:
            if diagnostic.severity != ir.DiagnosticSeverity.REMARK:
                return False
            remarks.append((str(diagnostic.location), diagnostic.message))  # valid only here
            return True

        handler = ctx.attach_diagnostic_handler(keep_remark)
        try:
            pm.run(module.operation)
        except ir.MLIRError as e:
            raise _error_from_mlir(e, "lowering to LLVM") from None
        finally:
            handler.detach()
        report_unhonoured(name, remarks, options)
        lap("tile_passes")
        asm["llvm"] = str(module)
        _dump(dump_dir, "1-llvm.mlir", asm["llvm"])
        attrs = module.operation.attributes
        shared_bytes = ir.IntegerAttr(attrs["tile.shared_bytes"]).value \
            if "tile.shared_bytes" in attrs else 0
        block_threads = ir.IntegerAttr(attrs["tile.block_threads"]).value \
            if "tile.block_threads" in attrs else 32 * options.num_warps
        tma = tensor_maps(module, param_names)

        clock = time.perf_counter()
        try:
            passmanager.PassManager.parse(
                "builtin.module(gpu-module-to-binary{format=isa})").run(module.operation)
        except ir.MLIRError as e:
            raise _error_from_mlir(e, "PTX generation") from None
        binary = next(op for op in module.body.operations if op.name == "gpu.binary")
        from mlir.dialects import gpu
        obj = gpu.ObjectAttr(ir.ArrayAttr(binary.attributes["objects"])[0])
        asm["ptx"] = obj.object.decode() if isinstance(obj.object, bytes) else str(obj.object)
        lap("llvm_nvptx")
        _dump(dump_dir, "2-kernel.ptx", asm["ptx"])

    metadata = {"name": name, "arch": options.arch, "num_warps": options.num_warps,
                "num_ctas": options.num_ctas, "block": [block_threads, 1, 1], "shared_bytes": shared_bytes,
                "params": kernel_params(asm["ptx"], name), "tma": tma,
                "stage_seconds": seconds, "unhonoured": [list(r) for r in remarks]}
    if want_cubin and find_ptxas() is not None:
        clock = time.perf_counter()
        asm["cubin"], info = run_ptxas(asm["ptx"], options.arch, options.opt_level)
        lap("ptxas")
        metadata.update(info)
        _dump(dump_dir, "3-kernel.cubin", asm["cubin"])
    return CompiledKernel(name, asm, metadata)
