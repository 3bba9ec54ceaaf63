"""Python AST -> tile IR."""
from ..signature import ArgSpec
from .codegen import CodeGenerator, KernelSource

__all__ = ["ArgSpec", "CodeGenerator", "KernelSource", "generate_ir"]


def generate_ir(kernel: KernelSource, specs: dict[str, ArgSpec], num_warps: int,
                num_ctas: int = 1) -> str:
    """The tile IR module (text, with locations) of one specialization."""
    return CodeGenerator(kernel, specs, num_warps, num_ctas).generate()
