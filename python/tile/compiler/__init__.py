"""Compiler driver: tile IR -> PTX -> cubin, through the C++ passes."""
from .driver import CompiledKernel, CompileOptions, compile_ir, find_ptxas, verify_ir

__all__ = ["CompiledKernel", "CompileOptions", "compile_ir", "find_ptxas", "verify_ir"]
