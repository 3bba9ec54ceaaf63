"""Worlds on GPUs. torch is imported inside the functions, so that importing
tile needs none.

- `LoopbackWorld(n)`: n ranks in this process on one GPU, for testing the GPU
  path without several GPUs: each rank's copy of a symmetric array is its own
  allocation in the device's memory, each rank's kernel runs on its own
  stream, and the kernels take the same parameters and run the same PTX as
  on n GPUs (a peer's pointer is just another address).
- `TorchWorld()`: this process's rank of a world started by torchrun, over a
  torch.distributed NCCL process group; symmetric arrays are PyTorch symmetric
  memory (`torch.distributed._symmetric_memory.empty` + `rendezvous`), whose
  handle gives every rank's base pointer (NVLink peer mappings).

NVLink multicast stays off wherever this runs (`multicast_off`): on shared
hosts multicast objects can take the GPUs out of service.
"""
from __future__ import annotations

import os

from .host import check_world_size
from .symmetric import RankArray, SymmetricArray, per_rank, rank_arguments

MULTICAST_OFF = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
                 "NVSHMEM_DISABLE_NVLS": "1"}


def multicast_off() -> None:
    """Turns NVLink multicast (NVLS) off for NCCL, PyTorch symmetric memory and
    NVSHMEM in this process (and the processes it starts); call before
    torch.distributed or symmetric memory starts (the worlds here do)."""
    os.environ.update(MULTICAST_OFF)


def _check_jit(kernel):
    from ..runtime.jit import JITFunction
    if not isinstance(kernel, JITFunction):
        raise TypeError(f"launch takes a @tile.jit kernel, got {type(kernel).__name__}")
    return kernel


class LoopbackWorld:
    """n ranks on one GPU (see the module's docstring)."""

    def __init__(self, size: int, device=None):
        multicast_off()
        import torch
        self.size = check_world_size(size)
        if not torch.cuda.is_available():
            raise RuntimeError("LoopbackWorld needs a CUDA device; on the CPU use "
                               "tile.distributed.HostWorld (the interpreter)")
        self.device = torch.device("cuda", torch.cuda.current_device() if device is None
                                   else torch.device(device).index or 0)
        self.streams = [torch.cuda.Stream(self.device) for _ in range(self.size)]
        self.sm_count = torch.cuda.get_device_properties(self.device).multi_processor_count

    def programs_per_rank(self) -> int:
        """The most programs a rank's grid may have so that every rank's programs
        are resident at once at one program an SM (a program waits for peers'
        programs, which must be running)."""
        return max(1, self.sm_count // self.size)

    def symmetric(self, tensors) -> SymmetricArray:
        tensors = list(tensors)
        if len(tensors) != self.size:
            raise ValueError(f"symmetric: {len(tensors)} tensors for a world of {self.size} "
                             "ranks")
        for rank, t in enumerate(tensors):
            if not getattr(t, "is_cuda", False) or t.device != self.device:
                raise ValueError(f"symmetric: rank {rank}'s copy is on {t.device}, the "
                                 f"world's GPU is {self.device}")
        return SymmetricArray(tensors, [t.data_ptr() for t in tensors])

    def zeros(self, shape, dtype) -> SymmetricArray:
        import torch
        return self.symmetric([torch.zeros(shape, dtype=dtype, device=self.device)
                               for _ in range(self.size)])

    def launch(self, kernel, grid, args, **kwargs) -> None:
        """`kernel[grid](*args_r, **kwargs)` for every rank r, each on its own stream,
        after the current stream's work and before its later work."""
        import torch
        _check_jit(kernel)
        programs = _programs(grid)
        if programs is not None and programs * self.size > self.sm_count:
            raise ValueError(f"{kernel.__name__}: {self.size} ranks of {programs} programs "
                             f"exceed the {self.sm_count} SMs: not every rank's programs "
                             "would run at once (a wait for a program that cannot start "
                             f"hangs); use at most programs_per_rank() = "
                             f"{self.programs_per_rank()} a rank")
        rank_args = [rank_arguments(kernel, r, self.size, a)
                     for r, a in enumerate(per_rank(args, self.size))]
        current = torch.cuda.current_stream(self.device)
        for stream in self.streams:
            stream.wait_stream(current)
        for stream, rank_args_r in zip(self.streams, rank_args):
            kernel[grid](*rank_args_r, stream=stream, **kwargs)
        for stream in self.streams:
            current.wait_stream(stream)


def _programs(grid):
    if callable(grid):
        return None
    grid = (grid,) if isinstance(grid, int) else tuple(grid)
    total = 1
    for g in grid:
        total *= int(g)
    return total


class TorchWorld:
    """This process's rank of a torchrun world (see the module's docstring)."""

    def __init__(self, group=None):
        multicast_off()
        try:
            import torch.distributed as dist
        except ImportError:
            raise RuntimeError("TorchWorld needs torch (torch.distributed with NCCL)") from None
        if not dist.is_available() or not dist.is_initialized():
            raise RuntimeError("TorchWorld: torch.distributed is not initialized; start the "
                               "program with torchrun and call tile.distributed.init() (or "
                               "torch.distributed.init_process_group('nccl')) first")
        self.group = group if group is not None else dist.group.WORLD
        self.rank, self.size = dist.get_rank(self.group), dist.get_world_size(self.group)
        self._handles = []  # symmetric memory handles, kept while the world lives

    def empty(self, shape, dtype) -> RankArray:
        """A symmetric array from PyTorch symmetric memory (collective: every rank
        calls it with the same shape and dtype, else a ValueError on every rank)."""
        import torch
        import torch.distributed as dist
        from torch.distributed import _symmetric_memory as symm_mem
        shape = tuple(int(s) for s in shape)
        mine = (shape, str(dtype))
        everyone = [None] * self.size
        dist.all_gather_object(everyone, mine, group=self.group)
        for rank, theirs in enumerate(everyone):
            if theirs != mine:
                raise ValueError(f"empty: rank {rank} asks for shape {theirs[0]} of "
                                 f"{theirs[1]}, rank {self.rank} for {shape} of {dtype}: a "
                                 "symmetric array is the same on every rank")
        tensor = symm_mem.empty(shape, dtype=dtype,
                                device=torch.device("cuda", torch.cuda.current_device()))
        handle = symm_mem.rendezvous(tensor, self.group.group_name)
        self._handles.append(handle)
        return RankArray(tensor, self.rank, list(handle.buffer_ptrs))

    def zeros(self, shape, dtype) -> RankArray:
        import torch.distributed as dist
        array = self.empty(shape, dtype)
        array.local.zero_()
        dist.barrier(group=self.group)  # no rank writes a peer's copy before it is zero
        return array

    def launch(self, kernel, grid, args, **kwargs) -> None:
        """`kernel[grid](*args, **kwargs)` with this rank's arguments (`args`: a
        function of the rank, or one tuple a rank)."""
        _check_jit(kernel)
        mine = args(self.rank) if callable(args) else per_rank(args, self.size)[self.rank]
        kernel[grid](*rank_arguments(kernel, self.rank, self.size, tuple(mine)), **kwargs)


def init(backend: str = "nccl") -> TorchWorld:
    """Starts torch.distributed for a torchrun process (multicast off, this
    process's GPU the LOCAL_RANK-th) and returns its world."""
    multicast_off()
    import torch
    import torch.distributed as dist
    if "LOCAL_RANK" not in os.environ:
        raise RuntimeError("tile.distributed.init: LOCAL_RANK is not set; start the program "
                           "with torchrun --nproc-per-node=N")
    torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return TorchWorld()
