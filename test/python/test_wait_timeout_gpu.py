"""A tile.wait that no program can end (a flag nobody sets) stops the kernel
after 10 s instead of hanging the process: with TILE_DEBUG=1 through
__assertfail, naming the wait's line; without, with a trap. The failed launch
spoils the CUDA context, so the kernel runs in a child process."""
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gpu

CHILD = textwrap.dedent("""
    import torch
    import tile

    @tile.jit
    def waits_forever(Flags, Out):
        tile.wait(Flags, 0)
        tile.store(Out, 0, tile.full((16,), 1.0), bound=1)

    flags = torch.zeros(1, dtype=torch.int32, device="cuda")
    out = torch.zeros(16, device="cuda")
    waits_forever[(1,)](flags, out)
    try:
        torch.cuda.synchronize()
    except Exception as e:
        print("RAISED", type(e).__name__, e, flush=True)
        raise SystemExit(3)
    print("RETURNED", flush=True)
""")


@pytest.mark.parametrize("debug", [True, False])
def test_wait_on_a_flag_nobody_sets_stops_the_kernel(tmp_path, debug):
    script = tmp_path / "waits_forever.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONUNBUFFERED="1", TILE_DEBUG="1" if debug else "0")
    child = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                           timeout=120, env=env)
    output = child.stdout + child.stderr
    assert child.returncode == 3 and "RAISED" in output, output
    if debug:  # __assertfail's report names the kernel source's file and the wait's line
        assert "assert" in output.lower(), output
        assert "waits_forever.py:7" in output and "tile.wait: no program set the flag" in output, \
            output
