"""@tile.autotune on the CPU: a real kernel, compiled for real, launched through a
recording driver (runtime_fakes) and timed by a fake timer that reads which
configuration ran from the launch's grid. Choice, memory and disk caching,
corrupt files, TILE_AUTOTUNE=0, the interpreter, errors."""
import json
import re
import sys

import numpy as np
import pytest

import tile
from tile.autotune import Autotuner, CaptureError
from tile.runtime import driver
from runtime_fakes import FakeCudaArray, RecordingKernel

N = 1 << 16


@tile.jit
def add(x, y, out, n, BLOCK: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    tile.store(out, start, a + b, bound=n)


def grid(meta):
    return (tile.cdiv(N, meta["BLOCK"]),)


class FakeTimer:
    """Launches the configuration once, then says it took `ms[BLOCK]`, BLOCK
    read back from the grid of that launch."""

    def __init__(self, recorder, ms, device="Fake H100"):
        self.recorder, self.ms, self.device = recorder, ms, device
        self.timed = []

    def device_name(self, device):
        return self.device

    def capturing(self, stream):
        return False

    def time(self, run, stream, device):
        before = len(self.recorder)
        run()
        (launch,) = self.recorder[before:]
        block = N // launch.grid[0]
        self.timed.append(block)
        return self.ms[block]


@pytest.fixture
def recorder(monkeypatch, tmp_path):
    monkeypatch.setattr(driver, "LoadedKernel", RecordingKernel)
    monkeypatch.setenv("TILE_CACHE_DIR", str(tmp_path))
    for name in ("TILE_CACHE", "TILE_AUTOTUNE", "TILE_INTERPRET", "TILE_DUMP_DIR"):
        monkeypatch.delenv(name, raising=False)
    RecordingKernel.launches = []
    return RecordingKernel.launches


CONFIGS = [tile.Config(dict(BLOCK=256), num_warps=2), tile.Config(dict(BLOCK=1024), num_warps=4),
           tile.Config(dict(BLOCK=512), num_warps=4)]
MS = {256: 3.0, 1024: 2.0, 512: 1.0}


def tuned(timer, configs=CONFIGS, **kw):
    return Autotuner(add, configs, key=["n"], timer=timer, **kw)


def arrays(n=N):
    return [FakeCudaArray((n,), pointer=0x7F0000000000 + i * (1 << 24)) for i in range(3)]


def test_tuning_inside_a_graph_capture_is_refused_before_any_launch(recorder):
    class Capturing(FakeTimer):
        def capturing(self, stream):
            return True

    kernel = tuned(Capturing(recorder, MS))
    with pytest.raises(CaptureError, match="inside a CUDA graph capture.*before capturing"):
        kernel[grid](*arrays(), N)
    assert recorder == [] and kernel.best == {}


def test_fastest_configuration_is_chosen_and_launched(recorder):
    timer = FakeTimer(recorder, MS)
    kernel = tuned(timer)
    kernel[grid](*arrays(), N)
    assert timer.timed == [256, 1024, 512] * 3  # three rounds, the configurations in turn
    key = (N, "<f4", "<f4", "<f4")
    assert kernel.best[key] == CONFIGS[2] and kernel.best_config == CONFIGS[2]
    assert kernel.tuning[key]["timings_ms"] == {0: 3.0, 1: 2.0, 2: 1.0}
    # After one compile-and-launch each and the timings, the call itself runs BLOCK=512.
    assert recorder[-1].grid == (N // 512, 1, 1) and recorder[-1].block == (128, 1, 1)
    count = len(recorder)
    kernel[grid](*arrays(), N)  # known key: no timing, one launch
    assert timer.timed == [256, 1024, 512] * 3 and len(recorder) == count + 1


def test_prune_cuts_the_configurations_before_any_compile(recorder):
    """prune sees the arguments by name and the configurations; only those it keeps
    are compiled and timed, the rest recorded as pruned; each key asks it once."""
    seen = []

    def prune(args, configs):
        seen.append((args["n"], len(configs)))
        return [c for c in configs if c.kwargs["BLOCK"] <= 512]
    timer = FakeTimer(recorder, MS)
    kernel = tuned(timer, prune=prune)
    kernel[grid](*arrays(), N)
    key = (N, "<f4", "<f4", "<f4")
    assert timer.timed == [256, 512] * 3 and seen == [(N, 3)]
    assert kernel.best[key] == CONFIGS[2] and kernel.tuning[key]["pruned"] == [1]
    assert {launch.grid[0] for launch in recorder} == {N // 256, N // 512}  # 1024 never ran
    kernel[grid](*arrays(), N)
    assert seen == [(N, 3)]


def test_prune_errors(recorder):
    with pytest.raises(TypeError, match="prune= is a function"):
        tuned(FakeTimer(recorder, MS), prune=[CONFIGS[0]])
    kernel = tuned(FakeTimer(recorder, MS), prune=lambda args, configs: [])
    with pytest.raises(ValueError, match="prune= kept none of the 3 configurations"):
        kernel[grid](*arrays(), N)
    assert recorder == []



@pytest.mark.parametrize("returned, error, says", [
    (lambda configs: 1, TypeError, "add: prune= must return a list of the configurations it "
                                   r"was given \(the ones to time\); it returned 1 \(int\)"),
    (lambda configs: configs[0], TypeError, r"it returned Config\(BLOCK=256, num_warps=2\) "
                                            r"\(Config\)"),
    (lambda configs: (c for c in configs), TypeError, r"it returned <generator .*\(generator\)"),
    (lambda configs: None, TypeError, r"it returned None \(NoneType\)"),
    (lambda configs: [configs[0], tile.Config(dict(BLOCK=64))], ValueError,
     r"add: prune= returned Config\(BLOCK=64, num_warps=4\), which is not one of the 3 "
     "configurations it was given"),
    (lambda configs: ["BLOCK=256"], ValueError, "prune= returned 'BLOCK=256', which is not"),
])
def test_prune_must_return_some_of_its_configurations(recorder, returned, error, says):
    kernel = tuned(FakeTimer(recorder, MS), prune=lambda args, configs: returned(configs))
    with pytest.raises(error, match=says):
        kernel[grid](*arrays(), N)
    assert recorder == [] and kernel.best == {}


def test_prune_may_return_a_tuple_or_equal_configurations(recorder):
    timer = FakeTimer(recorder, MS)
    copies = lambda args, configs: (tile.Config(dict(BLOCK=512), num_warps=4), configs[0])
    kernel = tuned(timer, prune=copies)
    kernel[grid](*arrays(), N)
    key = (N, "<f4", "<f4", "<f4")
    assert kernel.best[key] is CONFIGS[2] and kernel.tuning[key]["pruned"] == [1]


class DriftingTimer(FakeTimer):
    """The first round flatters BLOCK=256 (a cool GPU runs whatever comes first
    fast); the later rounds give the steady times."""

    def __init__(self, recorder):
        super().__init__(recorder, MS)
        self.calls = 0

    def time(self, run, stream, device):
        steady = super().time(run, stream, device)
        self.calls += 1
        return 0.1 if self.calls == 1 else steady


def test_each_configuration_takes_the_median_of_its_rounds(recorder):
    kernel = tuned(DriftingTimer(recorder))
    kernel[grid](*arrays(), N)
    record = kernel.tuning[(N, "<f4", "<f4", "<f4")]
    assert record["timings_ms"] == {0: 3.0, 1: 2.0, 2: 1.0} and record["best"] == 2


def test_the_opposite_timings_choose_the_other_config(recorder):
    kernel = tuned(FakeTimer(recorder, {256: 0.5, 1024: 2.0, 512: 1.0}))
    kernel[grid](*arrays(), N)
    assert recorder[-1].grid == (N // 256, 1, 1) and recorder[-1].block == (64, 1, 1)


def test_choice_persists_on_disk(recorder, tmp_path):
    first = FakeTimer(recorder, MS)
    tuned(first)[grid](*arrays(), N)
    (path,) = (tmp_path / "autotune").glob("add-*.json")
    header, payload = path.read_bytes().split(b"\n", 1)
    data = json.loads(payload)
    assert data["best"] == 2 and data["device"] == "Fake H100"
    assert data["config"] == {"kwargs": {"BLOCK": 512}, "num_warps": 4, "num_stages": None}

    again = FakeTimer(recorder, {256: 0.1, 1024: 0.1, 512: 9.0})  # would choose otherwise
    kernel = tuned(again)  # a new process, as far as memory goes
    kernel[grid](*arrays(), N)
    assert again.timed == [] and recorder[-1].grid == (N // 512, 1, 1)
    assert kernel.tuning[(N, "<f4", "<f4", "<f4")]["source"].startswith("disk")


@pytest.mark.parametrize("change", ["key", "device", "configs"])
def test_another_key_device_or_config_list_tunes_again(recorder, change):
    tuned(FakeTimer(recorder, MS))[grid](*arrays(), N)
    timer = FakeTimer(recorder, MS, device="Other GPU" if change == "device" else "Fake H100")
    kernel = tuned(timer, configs=CONFIGS[:2] if change == "configs" else CONFIGS)
    n = N - 8 if change == "key" else N
    kernel[grid](*arrays(), n)
    assert timer.timed


@pytest.mark.parametrize("damage", [b"", b"garbage", "truncate", "edit", "other-identity"])
def test_corrupt_file_is_tuned_again(recorder, tmp_path, damage):
    tuned(FakeTimer(recorder, MS))[grid](*arrays(), N)
    (path,) = (tmp_path / "autotune").glob("add-*.json")
    blob = path.read_bytes()
    if damage == "truncate":
        blob = blob[:-20]
    elif damage == "edit":
        blob = blob.replace(b'"best": 2', b'"best": 0')
    elif damage == "other-identity":  # a valid checksum over someone else's choice
        import hashlib
        header, payload = blob.split(b"\n", 1)
        payload = payload.replace(b"Fake H100", b"Fake H200")
        blob = b"tile-autotune-v1 " + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    else:
        blob = damage
    path.write_bytes(blob)
    timer = FakeTimer(recorder, MS)
    with pytest.warns(RuntimeWarning, match="corrupt choice"):
        tuned(timer)[grid](*arrays(), N)
    assert timer.timed == [256, 1024, 512] * 3
    assert json.loads(path.read_bytes().split(b"\n", 1)[1])["best"] == 2  # rewritten whole


def test_cache_off_keeps_the_choice_in_memory_only(recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("TILE_CACHE", "0")
    tuned(FakeTimer(recorder, MS))[grid](*arrays(), N)
    assert not (tmp_path / "autotune").exists()


def test_configs_that_do_not_compile_are_skipped_with_the_reason(recorder):
    configs = [tile.Config(dict(BLOCK=1000)),  # not a power of two: the compiler refuses
               tile.Config(dict(BLOCK=512), num_stages=9),  # out of range
               tile.Config(dict(BLOCK=1024))]
    timer = FakeTimer(recorder, MS)
    kernel = tuned(timer, configs=configs)
    kernel[grid](*arrays(), N)
    record = kernel.tuning[(N, "<f4", "<f4", "<f4")]
    assert timer.timed == [1024] * 3 and record["best"] == 2
    assert record["skipped"][0].startswith("CompilationError") and "power of two" in \
        record["skipped"][0]
    assert record["skipped"][1] == "ValueError: num_stages must be 1..8 (1: no copies ahead), got 9"


def test_no_configuration_launches(recorder):
    kernel = tuned(FakeTimer(recorder, MS), configs=[tile.Config(dict(BLOCK=1000)),
                                                     tile.Config(dict(BLOCK=64), num_warps=3)])
    with pytest.raises(RuntimeError, match=r"no configuration could be launched[\s\S]*"
                                           r"BLOCK=64, num_warps=3\): ValueError: num_warps"):
        kernel[grid](*arrays(), N)


def test_arguments_every_configuration_refuses_raise_their_own_error(recorder):
    """Host arrays are the arguments' fault, not a configuration's: the error as a
    plain kernel gives it, not wrapped once per configuration."""
    kernel = tuned(FakeTimer(recorder, MS), configs=CONFIGS)
    host = [np.zeros(N, np.float32) for _ in range(3)]
    with pytest.raises(ValueError, match="argument 'x' is a host array"):
        kernel[grid](*host, N)


def test_tile_autotune_0_uses_the_default_untimed(recorder, monkeypatch):
    monkeypatch.setenv("TILE_AUTOTUNE", "0")
    timer = FakeTimer(recorder, MS)
    tuned(timer, default=CONFIGS[1])[grid](*arrays(), N)
    assert timer.timed == [] and len(recorder) == 1 and recorder[0].grid == (N // 1024, 1, 1)
    tuned(timer)[grid](*arrays(), N)  # no default: the first configuration
    assert recorder[1].grid == (N // 256, 1, 1)


def test_interpreter_runs_the_default(recorder):
    timer = FakeTimer(recorder, MS)
    kernel = tuned(timer, default=CONFIGS[2])
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(1000, dtype=np.float32), rng.standard_normal(1000, dtype=np.float32)
    out = np.zeros_like(x)
    kernel[lambda meta: (tile.cdiv(1000, meta["BLOCK"]),)].interpret(x, y, out, 1000)
    assert np.array_equal(out, x + y) and timer.timed == [] and recorder == []


def test_decoration_errors():
    with pytest.raises(TypeError, match=r"sets \['BLOK'\], which are not constexpr"):
        tile.autotune([tile.Config(dict(BLOK=1))], key=["n"])(add)
    with pytest.raises(TypeError, match="key entry 'M' names no parameter"):
        tile.autotune(CONFIGS, key=["M"])(add)
    with pytest.raises(TypeError, match="key entry 'q.shape\\[0\\]' names no parameter"):
        tile.autotune(CONFIGS, key=["q.shape[0]"])(add)
    with pytest.raises(TypeError, match="non-empty list of tile.Config"):
        tile.autotune([], key=["n"])(add)
    with pytest.raises(TypeError, match="put it above @tile.jit"):
        tile.autotune(CONFIGS, key=["n"])(lambda x: x)
    with pytest.raises(TypeError, match="dict of constexpr values"):
        tile.Config([("BLOCK", 1)])


def test_call_errors(recorder):
    kernel = tuned(FakeTimer(recorder, MS))
    with pytest.raises(TypeError, match=r"\['BLOCK'\] are chosen by @tile.autotune"):
        kernel[grid](*arrays(), N, BLOCK=128)
    with pytest.raises(TypeError, match=r"\['num_warps'\] are chosen"):
        kernel[grid](*arrays(), N, num_warps=8)
    with pytest.raises(TypeError, match="cannot read the autotune key entry 'n'"):
        kernel[grid](*arrays())  # n missing
    deeper = tile.autotune(CONFIGS, key=["x.shape[3]"])(kernel.fn)
    with pytest.raises(TypeError, match=r"autotune key entry 'x.shape\[3\]' from the "
                                        r"arguments \(IndexError"):
        deeper[grid](*arrays(), N)  # x is 1-D


def test_shape_and_function_keys(recorder):
    timer = FakeTimer(recorder, MS)
    kernel = Autotuner(add, CONFIGS, key=["x.shape[0]", "out.dtype", lambda a: a["n"] // 1024],
                       timer=timer)
    kernel[grid](*arrays(), N)
    assert (N, "<f4", N // 1024, "<f4", "<f4", "<f4") in kernel.best


@tile.jit
def scaled_add(x, y, out, n, BLOCK: tile.constexpr, TWICE: tile.constexpr):
    start = tile.program_id(0) * BLOCK
    a = tile.load(x, start, BLOCK, bound=n)
    b = tile.load(y, start, BLOCK, bound=n)
    if TWICE:
        b = b + b
    tile.store(out, start, a + b, bound=n)


def test_constexprs_the_call_passes_are_tuned_apart(recorder):
    timer = FakeTimer(recorder, MS)
    kernel = Autotuner(scaled_add, CONFIGS, key=["n"], timer=timer)
    kernel[grid](*arrays(), N, TWICE=False)
    kernel[grid](*arrays(), N, TWICE=True)
    assert len(timer.timed) == 2 * 3 * 3  # two keys, three configurations, three rounds
    assert set(kernel.best) == {(N, "<f4", "<f4", "<f4", ("TWICE", False)),
                                (N, "<f4", "<f4", "<f4", ("TWICE", True))}


# -- configurations that fail: tuning goes on, and the reasons are shown -----------------------
class FailingKernel(RecordingKernel):
    """A loaded kernel whose launches fail for the blocks in `errors` (by the grid,
    as FakeTimer reads it)."""

    errors: dict = {}

    def launch(self, grid, block, stream, kernel_params):
        error = self.errors.get(N // grid[0])
        if error is not None:
            raise error
        super().launch(grid, block, stream, kernel_params)


@pytest.fixture
def failing(recorder, monkeypatch):
    monkeypatch.setattr(driver, "LoadedKernel", FailingKernel)
    FailingKernel.errors = {}
    return FailingKernel.errors


def fresh_add():
    """`add` as a new process sees it: nothing loaded yet, so FailingKernel is used."""
    return tile.jit(add.fn)


def test_a_configuration_failing_any_way_is_skipped_and_tuning_goes_on(recorder, failing):
    failing[256] = RuntimeError("too many resources requested for launch\nsecond line")
    failing[1024] = driver.CudaError("")  # no message at all
    timer = FakeTimer(recorder, MS)
    kernel = Autotuner(fresh_add(), CONFIGS, key=["n"], timer=timer)
    with pytest.warns(RuntimeWarning, match=r"Config\(BLOCK=256, num_warps=2\) failed "
                                            r"\(RuntimeError: too many resources"):
        kernel[grid](*arrays(), N)
    record = kernel.tuning[(N, "<f4", "<f4", "<f4")]
    assert timer.timed == [512] * 3 and record["best"] == 2
    assert record["skipped"] == {0: "RuntimeError: too many resources requested for launch"
                                    "\n    second line",
                                 1: "CudaError"}


def test_a_configuration_failing_while_timed_is_dropped(recorder, failing):
    class FailsLater(FakeTimer):
        def time(self, run, stream, device):
            if len(self.timed) == 4:  # the second round's BLOCK=1024
                failing[1024] = driver.CudaError("CUDA_ERROR_LAUNCH_TIMEOUT: timed out")
            return super().time(run, stream, device)
    timer = FailsLater(recorder, {256: 3.0, 1024: 0.5, 512: 1.0})
    kernel = Autotuner(fresh_add(), CONFIGS, key=["n"], timer=timer)
    kernel[grid](*arrays(), N)
    record = kernel.tuning[(N, "<f4", "<f4", "<f4")]
    assert set(record["timings_ms"]) == {0, 2} and record["best"] == 2
    assert record["skipped"] == {1: "CudaError: CUDA_ERROR_LAUNCH_TIMEOUT: timed out"}


def test_when_every_configuration_fails_the_error_gives_each_reason(recorder, monkeypatch):
    from tile.errors import CompilationError
    jit_module = sys.modules["tile.runtime.jit"]
    real = jit_module.compile_ir

    def ptxas_refuses_8_warps(text, name, options, *rest, **kw):
        if options.num_warps == 8:
            raise CompilationError("ptxas rejected the generated PTX:\nptxas /tmp/kernel.ptx, "
                                   "line 9; error   : Entry function uses too much shared data\n"
                                   "ptxas fatal   : Ptx assembly aborted due to errors\nmore")
        return real(text, name, options, *rest, **kw)
    monkeypatch.setattr(jit_module, "compile_ir", ptxas_refuses_8_warps)
    kernel = tuned(FakeTimer(recorder, MS),
                   configs=[tile.Config(dict(BLOCK=1000)),  # the frontend refuses it
                            tile.Config(dict(BLOCK=1024), num_warps=8)])
    with pytest.raises(RuntimeError) as caught:
        kernel[grid](*arrays(), N)
    message = str(caught.value)
    assert "no configuration could be launched" in message
    assert re.search(r"  Config\(BLOCK=1000, num_warps=4\): CompilationError: \S+test_autotune"
                     r"\.py:\d+:\d+: error: .*power of two", message)
    assert "  Config(BLOCK=1024, num_warps=8): CompilationError: ptxas rejected the generated " \
           "PTX:\n    ptxas /tmp/kernel.ptx, line 9; error   : Entry function uses too much " \
           "shared data\n    ptxas fatal" in message and "more" not in message
    assert isinstance(caught.value.__cause__, CompilationError)  # the first failure, whole


@pytest.mark.parametrize("payload", [b"[]", b'"best"', b"not json", b"\xff\xfe"])
def test_choice_file_with_a_valid_checksum_but_no_choice_is_tuned_again(recorder, tmp_path,
                                                                        payload):
    import hashlib
    tuned(FakeTimer(recorder, MS))[grid](*arrays(), N)
    (path,) = (tmp_path / "autotune").glob("add-*.json")
    path.write_bytes(b"tile-autotune-v1 " + hashlib.sha256(payload).hexdigest().encode() + b"\n"
                     + payload)
    timer = FakeTimer(recorder, MS)
    with pytest.warns(RuntimeWarning, match="corrupt choice"):
        tuned(timer)[grid](*arrays(), N)
    assert timer.timed == [256, 1024, 512] * 3


@pytest.mark.parametrize("best", [-1, True, 7, "2"])
def test_choice_file_naming_no_configuration_is_tuned_again(recorder, tmp_path, best):
    import hashlib
    tuned(FakeTimer(recorder, MS))[grid](*arrays(), N)
    (path,) = (tmp_path / "autotune").glob("add-*.json")
    data = json.loads(path.read_bytes().split(b"\n", 1)[1])
    data["best"] = best
    if best in (-1, True):  # what indexing the list with it would find
        data["config"] = CONFIGS[best].to_json()
    body = json.dumps(data).encode()
    path.write_bytes(b"tile-autotune-v1 " + hashlib.sha256(body).hexdigest().encode() + b"\n"
                     + body)
    timer = FakeTimer(recorder, MS)
    with pytest.warns(RuntimeWarning, match="corrupt choice"):
        tuned(timer)[grid](*arrays(), N)
    assert timer.timed == [256, 1024, 512] * 3


def test_progress_on_a_terminal(recorder, monkeypatch):
    """On a terminal, one line says which configuration compiles and which round is
    timed, then is erased; elsewhere (a log, a pipe) nothing is written."""
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.setenv("TILE_CACHE", "0")  # each kernel tunes
    for stream, expected in ((io.StringIO(), False), (Terminal(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        kernel = tuned(FakeTimer(recorder, MS))
        kernel[lambda meta: (N // meta["BLOCK"],)](*arrays(), N)
        text = stream.getvalue()
        assert ("compiling configuration 3 of 3" in text) == expected
        assert ("round 1 of" in text) == expected
        if expected:
            assert text.endswith("\r") and text.split("\r")[-2].strip() == ""
        else:
            assert text == ""
