"""tile kernels as torch custom ops: autograd and torch.compile, as Triton's
`torch.library.triton_op` / `wrap_triton` give Triton kernels.

    import tile, tile.library

    @tile.library.custom_op("mylib::gelu_linear", mutates_args=())
    def gelu_linear(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        c = a.new_empty((a.shape[0], b.shape[1]))
        tile.library.launch(gemm_bias_act)[grid](a, b, c, bias, BM=64, ...)
        return c

    gelu_linear.register_autograd(backward, setup_context=setup_context)

`custom_op` registers the function with `torch.library.custom_op` and gives it a
fake implementation: the same function run on fake tensors with its launches
skipped, so the shapes, dtypes and strides of what it returns are the ones it
allocates. torch.compile(fullgraph=True) then traces a call as one opaque node,
with no graph break. The function must therefore allocate its outputs with torch
(new_empty, empty_like, ...), launch its kernels through `launch`, and do nothing
else a fake tensor cannot (no data_ptr, no numpy, no .item()).

`launch(kernel)[grid](*args, **kwargs)` launches a `@tile.jit` kernel or a
`tile.autotune`d one: CUDA tensors on the GPU, CPU tensors on the interpreter
(an autotuned kernel there runs its default configuration). Inside a custom op,
a kernel that stores into an argument that shares memory with one of the op's
inputs not named in mutates_args is refused with a `tile.CompilationError` at
the store: torch would otherwise assume the input unchanged (and reuse,
reorder or cache it) and compute wrong results silently. What counts as a store
is read from the kernel's tile IR (stores, scatters, atomics, async stores,
signals), traced back through views and pointer arithmetic to the kernel's
parameter; a pointer the trace cannot follow (carried through a loop) is not
checked. Memory is shared when the storage is (a disjoint slice of an input
counts too). The stores of each specialization are read once; a launch then
costs a dictionary lookup per argument.
"""
from __future__ import annotations

import functools
import inspect
import re
import threading
import weakref

import torch

from . import interpreter
from .autotune import Autotuner
from .errors import CompilationError

# Ops of the tile dialect that write memory through a pointer or view operand.
_WRITES = ("tile.store", "tile.scatter", "tile.atomic_rmw", "tile.atomic_cas",
           "tile.async_store", "tile.notify")
_LOCATION = re.compile(r'loc\("([^"]+)":(\d+):(\d+)\)')

# .guard: the running custom op's (name, {storage: read-only input name});
# .faking: its fake implementation is running (launches are skipped).
_state = threading.local()


def custom_op(name: str, fn=None, *, mutates_args=(), device_types=None, schema=None):
    """Registers `fn` (type-annotated as torch.library.custom_op requires) as the
    torch custom op `name` ("namespace::op"), with a fake implementation derived
    from `fn` itself. Returns torch's CustomOpDef: call it as the function, and
    give it a backward with `.register_autograd(backward, setup_context=...)`.
    mutates_args: the names of the inputs the op writes (torch's rule: every
    other input is left as it was, and outputs never alias inputs)."""
    if fn is None:
        return lambda f: custom_op(name, f, mutates_args=mutates_args,
                                   device_types=device_types, schema=schema)
    mutable = set(mutates_args) if not isinstance(mutates_args, str) else set()
    if isinstance(mutates_args, str) and mutates_args != "unknown":
        raise ValueError(f"tile.library.custom_op {name}: mutates_args must be the names of "
                         f"the inputs the op writes, or 'unknown'; got {mutates_args!r}")
    check = mutates_args != "unknown"
    signature = inspect.signature(fn)  # once: it costs ~100 us, a launch's worth

    def real(*args, **kwargs):
        guarded = _read_only_inputs(signature, args, kwargs, mutable) if check else {}
        previous = getattr(_state, "guard", None)
        _state.guard = (name, guarded)
        try:
            return fn(*args, **kwargs)
        finally:
            _state.guard = previous

    def fake(*args, **kwargs):
        previous = getattr(_state, "faking", False)
        _state.faking = True
        try:
            return fn(*args, **kwargs)
        finally:
            _state.faking = previous

    functools.update_wrapper(real, fn)  # torch reads the schema from fn's annotations
    functools.update_wrapper(fake, fn)
    op_def = torch.library.custom_op(name, real, mutates_args=mutates_args,
                                     device_types=device_types, schema=schema)
    op_def.register_fake(fake)
    return op_def


def launch(kernel) -> "_Launch":
    """`launch(kernel)[grid](*args, **kwargs)`: launches a tile kernel from inside a
    custom op (see the module's doc); outside one it launches as kernel[grid] does,
    CPU tensors on the interpreter."""
    if not isinstance(kernel, Autotuner) and not hasattr(kernel, "_bind"):
        raise TypeError(f"tile.library.launch: {kernel!r} is not a @tile.jit or "
                        "tile.autotune kernel")
    return _Launch(kernel)


class _Launch:
    def __init__(self, kernel):
        self.kernel = kernel

    def __getitem__(self, grid):
        return lambda *args, **kwargs: self._run(grid, args, kwargs)

    def _run(self, grid, args, kwargs):
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        if getattr(_state, "faking", False) or any(_is_fake(t) for t in tensors):
            return None  # tracing: the outputs' metadata is all there is to compute
        on_host = interpreter.requested() or not any(t.is_cuda for t in tensors)
        guard = getattr(_state, "guard", None)
        if guard is not None and guard[1]:
            _check_writes(self.kernel, grid, args, kwargs, on_host, *guard)
        if on_host:
            return self.kernel[grid].interpret(*args, **kwargs)
        return self.kernel[grid](*args, **kwargs)


def _is_fake(t: torch.Tensor) -> bool:
    from torch._subclasses.fake_tensor import is_fake
    return t.device.type == "meta" or is_fake(t)


def _read_only_inputs(signature, args, kwargs, mutable: set) -> dict:
    """{storage address: input name} of the tensor inputs the op may not write."""
    bound = signature.bind(*args, **kwargs)
    guarded = {}
    for input_name, value in bound.arguments.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, torch.Tensor) and input_name not in mutable and v.numel():
                guarded[v.untyped_storage().data_ptr()] = input_name
    return guarded


def _check_writes(kernel, grid, args, kwargs, on_host, op_name, guarded) -> None:
    jit_fn = kernel.fn if isinstance(kernel, Autotuner) else kernel
    if isinstance(kernel, Autotuner):  # the stores do not depend on the block sizes
        kwargs = {**kernel.default.launch_kwargs(), **kwargs}
    values = {**dict(zip(jit_fn.params, args)), **kwargs}
    inputs = {param: guarded.get(value.untyped_storage().data_ptr())
              for param, value in values.items()
              if isinstance(value, torch.Tensor) and value.numel()}
    if not any(inputs.values()):
        return
    for param, (filename, line, col) in _written_params(jit_fn, args, kwargs, values,
                                                        on_host).items():
        if inputs.get(param):
            raise CompilationError(
                f"{jit_fn.__name__} writes its argument '{param}', which is custom op "
                f"{op_name}'s input '{inputs[param]}', not declared mutable: add "
                f"'{inputs[param]}' to mutates_args, or write into a new tensor",
                filename, line, col - 1, _source_line(filename, line))


_written: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _written_params(jit_fn, args, kwargs, values: dict, on_host: bool) -> dict:
    """{parameter name: (file, line, col) of its first store}, read from the tile
    IR of the launch's specialization. Cached by what decides which parameters a
    kernel stores to: its constexprs, each array's dtype, rank and whether its
    innermost stride is 1, and which ints are 1 (each specialized as a constant that
    may decide a branch: signature.array_key); binding the launch again costs a
    millisecond."""
    key = tuple((name, _spec_part(value, name in jit_fn.constexpr_params))
                for name, value in values.items())
    cache = _written.setdefault(jit_fn, {})
    if key not in cache:
        from .interpreter.api import _kernel_function, _parse
        bound = jit_fn._bind(list(args), dict(kwargs), on_host=on_host)
        context, module = _parse(jit_fn._tile_ir(bound))
        with context:
            names = [param.name for param, _ in bound.runtime]
            functions = {_symbol(op.operation): op.operation for op in module.body.operations
                         if op.operation.name == "func.func"}
            indices = _written_args(_kernel_function(module), functions, {})
            cache[key] = {names[i]: where for i, where in indices.items()}
    return cache[key]


def _spec_part(value, constexpr: bool):
    if constexpr or isinstance(value, (bool, str)) or value is None:
        return repr(value)
    if isinstance(value, torch.Tensor):  # a unit innermost stride is specialized as 1
        return (str(value.dtype), value.dim(), value.dim() > 0 and value.stride(-1) == 1)
    if isinstance(value, int):
        return ("int", value == 1)
    return type(value).__name__


def _symbol(func) -> str:
    from mlir import ir
    return ir.StringAttr(func.attributes["sym_name"]).value


def _written_args(func, functions: dict, memo: dict) -> dict:
    """{argument index of `func`: location} of the arguments it (or a function it
    calls) writes through."""
    name = _symbol(func)
    if name in memo:
        return memo[name]
    memo[name] = {}  # recursion: a cycle adds nothing
    entry = func.regions[0].blocks[0]
    found: dict = {}

    def visit(block):
        for op in block.operations:
            op = op.operation
            if op.name in _WRITES:
                for operand in op.operands:
                    if _is_memory(operand.type):
                        for index in _origins(operand, entry):
                            found.setdefault(index, _where(op))
            elif op.name == "func.call":
                callee = str(op.attributes["callee"]).lstrip("@")
                if callee in functions:
                    for i, where in _written_args(functions[callee], functions, memo).items():
                        for index in _origins(op.operands[i], entry):
                            found.setdefault(index, where)
            for region in op.regions:
                for inner in region.blocks:
                    visit(inner)
    visit(entry)
    memo[name] = found
    return found


def _is_memory(type_) -> bool:
    text = str(type_)
    return text.startswith("!tile.ptr") or text.startswith("!tile.view")


def _origins(value, entry) -> set:
    """The entry block arguments a pointer or view value is made from."""
    from mlir import ir
    if isinstance(value, ir.BlockArgument) or isinstance(value.owner, ir.Block):
        arg = value if isinstance(value, ir.BlockArgument) else ir.BlockArgument(value)
        return {arg.arg_number} if arg.owner == entry else set()
    return {index for operand in value.owner.operands if _is_memory(operand.type)
            for index in _origins(operand, entry)}


def _where(op) -> tuple:
    match = _LOCATION.search(str(op.location))
    return (match.group(1), int(match.group(2)), int(match.group(3))) if match else \
        (None, None, 1)


def _source_line(filename, line):
    if filename is None:
        return None
    import linecache
    return linecache.getline(filename, line) or None


__all__ = ["custom_op", "launch"]
