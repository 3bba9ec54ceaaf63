"""Programs that order through atomics on the interpreter: a spin lock (Triton's
LayerNorm-backward lock: acquire by atomic_cas, release by atomic_xchg) runs as on
the GPU, each spin letting the lock's holder go on; the acquire/release of the
atomics orders the programs for the race checker (relaxed ones do not); a lock
no program releases is an error at the loop, not a hang."""
import numpy as np
import pytest

import tile
from tile.interpreter.races import RaceError


@tile.jit
def locked_sum(Lock, Total, X, SEM: tile.constexpr):
    while tile.atomic_cas(Lock, 0, 0, 1, sem=SEM) == 1:
        pass
    tile.store(Total, 0, tile.load(Total, 0) + tile.load(X, tile.program_id(0)))
    tile.atomic_xchg(Lock, 0, 0, sem=SEM)


@tile.jit
def never_released(Lock, Out):
    while tile.atomic_cas(Lock, 0, 0, 1) == 1:  # <- spins
        pass
    tile.store(Out, tile.program_id(0), 1.0)


@pytest.mark.parametrize("programs", [2, 33])
def test_spin_lock_serializes_programs(programs):
    x = np.arange(1, programs + 1, dtype=np.float32)
    lock, total = np.zeros(1, np.int32), np.zeros(1, np.float32)
    locked_sum[(programs,)].interpret(lock, total, x, SEM="acq_rel", loop_limit=1000)
    assert total[0] == x.sum() and lock[0] == 0


def test_relaxed_atomics_order_nothing():
    lock, total = np.zeros(1, np.int32), np.zeros(1, np.float32)
    with pytest.raises(RaceError, match="race on argument 'Total'"):
        locked_sum[(2,)].interpret(lock, total, np.ones(2, np.float32), SEM="relaxed")


def test_a_lock_never_released_is_reported_at_the_loop():
    with pytest.raises(tile.errors.InterpreterError) as info:
        never_released[(3,)].interpret(np.zeros(1, np.int32), np.zeros(3, np.float32))
    message = str(info.value)
    assert "spins in this while loop, and every program left spins too" in message
    assert "# <- spins" in message
