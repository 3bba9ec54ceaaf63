"""`expect_error`: a kernel is rejected with a CompilationError at a marked line."""
import pytest

import tile


def marked_line(filename: str, marker: str) -> int:
    """The line number of the one line of `filename` that ends with the comment `marker`."""
    with open(filename) as f:
        hits = [n for n, line in enumerate(f, 1) if line.rstrip().endswith(marker)]
    assert len(hits) == 1, f"marker {marker!r} must be on exactly one line, found {hits}"
    return hits[0]


def expect_error(kernel, marker: str, message: str, *args, **kwargs) -> tile.CompilationError:
    """`kernel.ir(*args, **kwargs)` raises a CompilationError pointing at the
    line marked `marker` (a comment), whose message contains `message`, and
    which shows that line with a caret."""
    with pytest.raises(tile.CompilationError) as info:
        kernel.ir(*args, **kwargs)
    err = info.value
    filename = err.filename or ""
    assert filename == kernel.source.filename, str(err)
    assert err.lineno == marked_line(filename, marker), str(err)
    assert message in err.message, str(err)
    assert marker in str(err) and "^" in str(err), str(err)  # source line and caret shown
    return err
