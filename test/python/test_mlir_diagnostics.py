"""MLIR parser and verifier diagnostics become CompilationErrors at the
user's source line, through the `loc` the frontend puts on every op."""
import pytest

import tile
from tile.compiler import verify_ir


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "kernel.py"
    path.write_text("def k(x):\n    y = x + x\n    return y\n")
    return str(path)


def test_verifier_error_maps_to_source_line(user_file):
    # An op the verifier rejects (operand and result types differ).
    text = (f'module {{\n  func.func @k(%x: i32) {{\n'
            f'    %y = "arith.addi"(%x, %x) : (i32, i32) -> f32 loc("{user_file}":2:9)\n'
            f'    return loc("{user_file}":1:1)\n  }} loc("{user_file}":1:1)\n}}\n')
    with pytest.raises(tile.CompilationError) as info:
        verify_ir(text)
    err = info.value
    assert (err.filename, err.lineno, err.col) == (user_file, 2, 8)
    assert "in the tile IR verifier" in err.message
    assert "y = x + x" in str(err) and "^" in str(err)


def test_parse_error_maps_through_the_loc_of_its_ir_line(user_file):
    # An op MLIR does not know: the diagnostic points into the IR text; the
    # `loc` at the end of that IR line names the user's source.
    text = (f'module {{\n  func.func @k(%x: i32) {{\n'
            f'    %y = tile.no_such_op %x : i32 loc("{user_file}":2:9)\n'
            f'    return loc("{user_file}":1:1)\n  }} loc("{user_file}":1:1)\n}}\n')
    with pytest.raises(tile.CompilationError) as info:
        verify_ir(text)
    err = info.value
    assert (err.filename, err.lineno) == (user_file, 2)
    assert "tile.no_such_op" in err.message
