"""Races between the programs of one launch, reported by the interpreter: two
programs storing one element, or one loading what another stores, with no
tile.notify -> tile.wait ordering between them (races.py)."""
import os
import sys

import ml_dtypes
import numpy as np
import pytest

import tile
from tile.interpreter import executor
from tile.interpreter.debug_ops import DeviceAssertionError
from tile.interpreter.races import RaceError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from attention import attention_fwd  # noqa: E402


def attention(seq_len, heads=2, D=16, **options):
    """The example's blocks (BM=128, BN=64), a narrow head to keep the test short."""
    rng = np.random.default_rng(seq_len)
    q, k, v = (rng.standard_normal((heads * seq_len, D)).astype(ml_dtypes.bfloat16)
               for _ in range(3))
    o = np.zeros_like(q)
    attention_fwd[(tile.cdiv(seq_len, 128), heads)].interpret(
        q, k, v, o, o, seq_len, 1, 0.125, BM=128, BN=64, D=D, CAUSAL=False, **options)
    return o


def test_attention_with_a_ragged_last_block_does_not_race():
    """seq_len 1000: head 0's last block (rows 896..1023) reaches rows 1000..1023,
    which are head 1's first rows, stored by head 1's first block too: the kernel
    stores only the rows below seq_len. EVEN_SEQ=True would store the whole
    block (a race); it promises a multiple of the blocks, which the kernel
    asserts (the interpreter checks device asserts)."""
    o = attention(1000)
    assert np.isfinite(o.astype(np.float32)).all()
    with pytest.raises(DeviceAssertionError, match="EVEN_SEQ: seq_len must be a multiple of BM"):
        attention(1000, EVEN_SEQ=True)
    attention(1024, EVEN_SEQ=True)  # a multiple of the block: no two programs store one row


def test_races_can_be_turned_off():
    dy, _, w = layernorm_arrays(4, 8)
    dx = np.zeros_like(dy)
    rows_backward[(4,)].interpret(dy, w, dx, STEP=6, ROWS=8, N=16, check_races=False)
    np.testing.assert_array_equal(dx[:26], dy[:26] * w)  # overlapping rows, the same values


@tile.jit
def rows_backward(DY, W, DX, STEP: tile.constexpr, ROWS: tile.constexpr, N: tile.constexpr):
    """A LayerNorm backward's dx = dy * w over row blocks: program p takes rows
    p * STEP .. p * STEP + ROWS, so with STEP < ROWS its block straddles the next
    program's."""
    start = tile.program_id(0) * STEP
    dy = tile.load(DY, (start, 0), (ROWS, N))
    w = tile.load(W, 0, N)
    tile.store(DX, (start, 0), dy * w[None, :])  # <- dx rows


@tile.jit
def weight_grad(DY, X, DW, ROWS: tile.constexpr, N: tile.constexpr, GROUPS: tile.constexpr):
    """A LayerNorm backward's dw: each program adds its rows' sum of dy * x into
    row p % GROUPS of DW with a plain load and store (Triton's version takes a
    lock): programs that share a row race."""
    p = tile.program_id(0)
    partial = tile.sum(tile.load(DY, (p * ROWS, 0), (ROWS, N)) *
                       tile.load(X, (p * ROWS, 0), (ROWS, N)), 0)
    row = p % GROUPS
    total = tile.load(DW, (row, 0), (1, N)) + partial[None, :]  # <- dw load
    tile.store(DW, (row, 0), total)  # <- dw store


def layernorm_arrays(programs, rows, n=16):
    rng = np.random.default_rng(0)
    dy, x = (rng.standard_normal((programs * rows + rows, n)).astype(np.float32)
             for _ in range(2))
    return dy, x, rng.standard_normal(n).astype(np.float32)


def test_straddling_row_blocks_race_in_one_batch():
    dy, _, w = layernorm_arrays(4, 8)
    dx = np.zeros_like(dy)
    rows_backward[(4,)].interpret(dy, w, dx, STEP=8, ROWS=8, N=16)  # blocks side by side
    np.testing.assert_array_equal(dx[:32], dy[:32] * w)
    with pytest.raises(RaceError) as info:
        rows_backward[(4,)].interpret(dy, w, dx, STEP=6, ROWS=8, N=16)
    message = str(info.value)
    assert "element [6, 0]" in message and "# <- dx rows" in message
    assert "program (0, 0, 0) and program (1, 0, 0) both store it here" in message


def test_straddling_row_blocks_race_across_batches(monkeypatch):
    """One program a batch: the shadow memory carries over from batch to batch."""
    monkeypatch.setattr(executor, "BATCH_ELEMENTS", 1)
    dy, _, w = layernorm_arrays(4, 8)
    with pytest.raises(RaceError) as info:
        rows_backward[(4,)].interpret(dy, w, np.zeros_like(dy), STEP=6, ROWS=8, N=16)
    message = str(info.value)
    assert "element [6, 0]: program (1, 0, 0) stores it here; program (0, 0, 0) stored it " \
           "at " in message
    assert message.count("test_interpreter_races.py:") == 2  # both lines named


@pytest.mark.parametrize("batch_elements", [executor.BATCH_ELEMENTS, 1])
def test_accumulating_into_shared_rows_races(monkeypatch, batch_elements):
    monkeypatch.setattr(executor, "BATCH_ELEMENTS", batch_elements)
    dy, x, _ = layernorm_arrays(4, 8)
    dw = np.zeros((4, 16), np.float32)
    weight_grad[(4,)].interpret(dy, x, dw, ROWS=8, N=16, GROUPS=4)  # a row each: no race
    np.testing.assert_allclose(dw, (dy * x)[:32].reshape(4, 8, 16).sum(1), rtol=1e-5)
    with pytest.raises(RaceError) as info:
        weight_grad[(4,)].interpret(dy, x, np.zeros((2, 16), np.float32), ROWS=8, N=16,
                                    GROUPS=2)
    message = str(info.value)
    assert "race on argument 'DW' (float32[2, 16]) element [0, 0]" in message
    if batch_elements == 1:  # program 2 loads what program 0 stored
        assert "program (2, 0, 0) loads it here; program (0, 0, 0) stored it at" in message
        assert "# <- dw load" in message
    else:  # programs 0 and 2 both load row 0, then store it
        assert "program (0, 0, 0) stores it here; program (2, 0, 0) loaded it at" in message
        assert "# <- dw store" in message


@tile.jit
def hand_over(X, Flags, BLOCK: tile.constexpr, EARLY_NOTIFY: tile.constexpr,
              WAIT: tile.constexpr):
    """Program p adds one to the block program p - 1 wrote. With EARLY_NOTIFY
    it notifies before storing (its store is not ordered before the next
    program's load); without WAIT nothing orders them."""
    p = tile.program_id(0)
    v = tile.zeros((BLOCK,), tile.float32)
    if p > 0:
        if WAIT:
            tile.wait(Flags, p)
        v = tile.load(X, (p - 1) * BLOCK, BLOCK) + 1.0  # <- load
    if EARLY_NOTIFY:
        tile.notify(Flags, p + 1)
    tile.store(X, p * BLOCK, v)  # <- store
    if not EARLY_NOTIFY:
        tile.notify(Flags, p + 1)


def test_a_notify_wait_hand_over_orders_the_programs():
    x = np.full(8 * 16, -1, np.float32)
    hand_over[(8,)].interpret(x, np.zeros(9, np.int32), BLOCK=16, EARLY_NOTIFY=False, WAIT=True)
    np.testing.assert_array_equal(x.reshape(8, 16), np.repeat(np.arange(8.0), 16).reshape(8, 16))


@pytest.mark.parametrize("early_notify,wait", [(True, True), (False, False)])
def test_a_load_not_ordered_after_the_store_races(early_notify, wait):
    with pytest.raises(RaceError) as info:
        hand_over[(8,)].interpret(np.zeros(8 * 16, np.float32), np.zeros(9, np.int32),
                                  BLOCK=16, EARLY_NOTIFY=early_notify, WAIT=wait)
    message = str(info.value)
    assert "# <- load" in message and "# <- store" in message  # both lines
    if wait:  # program 1 runs after program 0, and loads what it stored
        assert "program (1, 0, 0) loads it here; program (0, 0, 0) stored it at" in message
    else:  # one batch: every program loads, then every program stores
        assert "program (0, 0, 0) stores it here; program (1, 0, 0) loaded it at" in message


@tile.jit
def scatter_onto_few(X, OUT, B: tile.constexpr, SAME: tile.constexpr):
    i = tile.arange(B)
    v = tile.load(X, 0, B)
    tile.store(OUT, i % 4, v * 0.0 + 3.0 if SAME else v)  # <- the scatter


def test_one_scatter_writing_one_element_twice_with_different_values_is_an_error():
    """Within one program the GPU keeps either value (which one is not defined), the
    interpreter the later one: with different values that is reported, with equal
    values (a constant to many offsets) it is not."""
    x = np.arange(16, dtype=np.float32)
    out = np.zeros(4, np.float32)
    with pytest.raises(RaceError) as info:
        scatter_onto_few[(1,)].interpret(x, out, B=16, SAME=False)
    message = str(info.value)
    assert "# <- the scatter" in message
    assert "elements (0,) and (4,) of one scatter of program (0, 0, 0) write different " \
           "values to element offset 0" in message
    scatter_onto_few[(1,)].interpret(x, out, B=16, SAME=True)
    assert (out == 3).all()
    scatter_onto_few[(1,)].interpret(x, out, B=16, SAME=False, check_races=False)
