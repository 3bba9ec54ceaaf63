"""Python AST -> tile IR.

The code generator (and with it MLIR) is imported on first use: `import tile`
and loading an ahead-of-time compiled kernel must work without MLIR.
"""
from ..signature import ArgSpec
from .source import KernelSource

__all__ = ["ArgSpec", "CodeGenerator", "KernelSource", "generate_ir"]


def generate_ir(kernel: KernelSource, specs: dict[str, ArgSpec], num_warps: int,
                num_ctas: int = 1) -> str:
    """The tile IR module of one specialization: built through MLIR's Python
    bindings, verified (a verifier error is a CompilationError at the kernel's
    line), and printed with locations."""
    from .codegen import CodeGenerator
    return CodeGenerator(kernel, specs, num_warps, num_ctas).generate()


def __getattr__(name: str):
    if name == "CodeGenerator":
        from .codegen import CodeGenerator
        return CodeGenerator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
