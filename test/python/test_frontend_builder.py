"""The frontend builds tile IR through the op classes generated from the
dialect's ODS (tile/_lib/_tile_ops_gen.py, beside libTileCAPI.so)."""
import pytest

import tile
from tile.compiler.mlir_context import find_library
from tile.frontend import generate_ir
from tile.frontend.ir import tile_ops


@tile.jit
def scaled_rows(X, out, n, BLOCK: tile.constexpr, DTYPE: tile.constexpr):
    x = tile.load(X, (0, 0), (BLOCK, BLOCK))
    m = tile.max(x, 1)
    while n > 1:
        n = n // 2
    low = tile.neg_inf((BLOCK,), DTYPE).to(tile.float32)
    if n > 0:
        m = tile.maximum(m, low)
    tile.store(out, (n, 0), tile.where(x > 0.5, x, x * 2.0))
    tile.store(out, (0, 0), x - m[:, None])


def test_bindings_are_generated_beside_the_library():
    ops = tile_ops()
    assert ops.__file__.startswith(str(find_library().parent))
    assert ops.LoadOp.OPERATION_NAME == "tile.load"


def test_printed_ir_is_deterministic():
    # The disk cache and `kernel.ir()` take the printed module: building the
    # same specialization again prints the same text.
    bound = scaled_rows._bind(["*f32[2]:16", "*f32[2]:16", "i32"],
                              dict(BLOCK=32, DTYPE=tile.bfloat16))
    texts = {generate_ir(scaled_rows.source, bound.specs, 4) for _ in range(3)}
    assert len(texts) == 1
    text = texts.pop()
    assert "scf.while" in text and "scf.if" in text and "tile.reduce" in text
    assert 'loc("' in text  # locations into the kernel's source


@pytest.mark.parametrize("dtype, bits", [(tile.float32, "0xFF800000"),
                                         (tile.bfloat16, "0xFF80"),
                                         (tile.float16, "0xFC00")])
def test_negative_infinity_constants(dtype, bits):
    text = scaled_rows.ir("*f32[2]:16", "*f32[2]:16", "i32", BLOCK=32, DTYPE=dtype)
    assert f"dense<{bits}>" in text
