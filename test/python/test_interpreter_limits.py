"""The interpreter's limits: a grid too large to run is an error before anything
is allocated per program, and a loop that runs past the loop limit (an
`scf.while` that never ends would hang) is an error at the loop's line."""
import time

import numpy as np
import pytest

import tile
from tile.errors import InterpreterError
from tile.interpreter import executor


@tile.jit
def fill(X, BLOCK: tile.constexpr):
    tile.store(X, tile.program_id(0) * BLOCK, tile.full((BLOCK,), 1.0), bound=X.shape[0])


@pytest.mark.parametrize("grid", [(2**31 - 1,), (4097, 4096, 1)])
def test_a_grid_too_large_is_an_error_naming_the_grid_and_the_limit(grid):
    started = time.perf_counter()
    with pytest.raises(ValueError) as info:
        fill[grid].interpret(np.zeros(16, np.float32), BLOCK=16)
    message = str(info.value)
    count = int(np.prod(grid))
    assert f"grid {grid + (1,) * (3 - len(grid))} has {count} programs" in message
    assert f"at most {executor.MAX_PROGRAMS} (2^24)" in message
    assert time.perf_counter() - started < 5  # nothing allocated per program


@tile.jit
def count_up(X, n, step):
    """X[0] = the first multiple of `step` at or past n (never, with step 0)."""
    i = tile.program_id(0) * 0
    while i < n:  # <- the while loop
        i = i + step
    tile.store(X, 0, tile.full((16,), i, tile.int32))


@tile.jit
def count_for(X, n):
    total = tile.zeros((16,), tile.int32)
    for _ in range(0, n):  # <- the for loop
        total = total + 1
    tile.store(X, 0, total)


def test_a_while_loop_that_never_ends_is_an_error_at_its_line():
    x = np.zeros(16, np.int32)
    started = time.perf_counter()
    with pytest.raises(InterpreterError) as info:
        count_up[(1,)].interpret(x, 10, 0, loop_limit=2000)
    message = str(info.value)
    assert "# <- the while loop" in message and "test_interpreter_limits.py:" in message
    assert "has not ended in program (0, 0, 0)" in message
    assert "limit of 2000 iterations" in message and "TILE_INTERPRET_LOOP_LIMIT" in message
    assert time.perf_counter() - started < 10


def test_the_default_loop_limit_ends_a_while_loop_that_never_ends(monkeypatch):
    monkeypatch.delenv("TILE_INTERPRET_LOOP_LIMIT", raising=False)
    monkeypatch.setattr(executor, "DEFAULT_LOOP_LIMIT", 500)
    with pytest.raises(InterpreterError, match="limit of 500 iterations"):
        count_up[(1,)].interpret(np.zeros(16, np.int32), 10, 0)


def test_the_loop_limit_comes_from_the_environment(monkeypatch):
    x = np.zeros(16, np.int32)
    monkeypatch.setenv("TILE_INTERPRET_LOOP_LIMIT", "99")
    with pytest.raises(InterpreterError, match="limit of 99 iterations"):
        count_up[(1,)].interpret(x, 100, 1)
    count_up[(1,)].interpret(x, 99, 1)  # 99 iterations: within the limit
    assert (x == 99).all()
    count_up[(1,)].interpret(x, 150, 1, loop_limit=150)  # the argument wins
    assert (x == 150).all()
    monkeypatch.setenv("TILE_INTERPRET_LOOP_LIMIT", "0")  # no limit
    count_up[(1,)].interpret(x, 3000, 1)
    assert (x == 3000).all()
    for text in ("many", "-5"):  # the variable is named, not the argument
        monkeypatch.setenv("TILE_INTERPRET_LOOP_LIMIT", text)
        with pytest.raises(ValueError, match=f"TILE_INTERPRET_LOOP_LIMIT='{text}'"):
            count_up[(1,)].interpret(x, 3, 1)


def test_a_for_loop_past_the_limit_is_an_error_before_it_runs():
    x = np.zeros(16, np.int32)
    started = time.perf_counter()
    with pytest.raises(InterpreterError) as info:
        count_for[(1,)].interpret(x, 2**31 - 1)
    message = str(info.value)
    assert "# <- the for loop" in message
    assert "would run 2147483647 iterations" in message
    assert time.perf_counter() - started < 5
    count_for[(1,)].interpret(x, 1000)
    assert (x == 1000).all()


@tile.jit
def count_from(X, start, n, step):
    total = tile.zeros((16,), tile.int32)
    for _ in range(start, n, step):  # <- the stepped loop
        total = total + 1
    tile.store(X, 0, total)


def test_a_for_loop_whose_counter_would_wrap_is_an_error():
    """The GPU's int32 counter passes 2^31 - 1 after the last iteration, wraps
    negative and stays below the end: the loop never ends there."""
    x = np.zeros(16, np.int32)
    with pytest.raises(InterpreterError) as info:
        count_from[(1,)].interpret(x, 2**31 - 10, 2**31 - 1, 4)
    assert "# <- the stepped loop" in str(info.value)
    assert "passes 2147483647 after the last iteration" in str(info.value)
    count_from[(1,)].interpret(x, 2**31 - 10, 2**31 - 1, 3)  # ends at 2^31 - 1 exactly
    assert (x == 3).all()
