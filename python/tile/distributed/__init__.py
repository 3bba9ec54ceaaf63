"""Worlds of ranks that run one kernel together (docs/distributed.md):
`HostWorld` (N ranks on the CPU interpreter), `LoopbackWorld` (N ranks on one
GPU), `TorchWorld` / `init()` (one rank a process under torchrun). Each makes
symmetric arrays and launches a kernel on every rank it holds."""
from .gpu import MULTICAST_OFF, LoopbackWorld, TorchWorld, init, multicast_off
from .host import HostWorld
from .symmetric import RankArray, SymmetricArray

__all__ = ["HostWorld", "LoopbackWorld", "MULTICAST_OFF", "RankArray", "SymmetricArray",
           "TorchWorld", "init", "multicast_off"]
