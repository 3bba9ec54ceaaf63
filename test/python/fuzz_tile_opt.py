"""Fuzzer of tile-opt: the lit tests' .mlir inputs, mutated, through their passes.

Each case takes one `// -----` chunk of a test/**/*.mlir file, applies one or
two seeded mutations (integer attributes, element types, tensor shapes, layout
sizes, pass options, dropped / duplicated ops, swapped operands) and runs
tile-opt on it in a subprocess under a time limit, with the passes of that
file's RUN line or the whole `-tile-to-llvm` pipeline (sometimes through
`-gpu-module-to-binary`). Every outcome falls in one class:

  ok          exit 0
  diagnosed   non-zero exit with a located `file:line:col: error:` diagnostic
  unlocated   non-zero exit without one (e.g. a `loc(unknown)` error)
  crash       a signal (abort, SIGSEGV, SIGFPE), an assertion, UNREACHABLE,
              or `LLVM ERROR`
  hang        over the time limit

The same seed gives the same cases. test_fuzz.py runs a small batch in CI; by hand:

    python test/python/fuzz_tile_opt.py --cases 3000 --seed 7 --minimize

prints the counts and, for each crash or hang class, a reproducer (the mutated
file, line-minimized with --minimize, and the command).
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import dataclasses
import glob
import os
import random
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FULL_PIPELINE = ["-tile-to-llvm"]
TO_PTX = ["-tile-to-llvm", "-gpu-module-to-binary=format=isa"]
ELEMENT_TYPES = ["f32", "f16", "bf16", "f8E4M3FN", "f8E5M2", "i1", "i8", "i32", "i64"]
INTERESTING_INTS = [0, -1, 1, 2, 3, 5, 7, 16, 48, 1 << 20, 2**31 - 1, 2**62]
SHAPES = [1, 2, 3, 16, 2**20]
MEMORY_LIMIT = 4 << 30  # a runaway allocation fails instead of taking the machine
WALL_FACTOR = 6  # a case's wall-time limit, in CPU-time limits (for a busy machine)
CRASH_MARKERS = re.compile(r"Assertion .* failed|UNREACHABLE executed|LLVM ERROR:|"
                           r"PLEASE submit a bug report|Stack dump:")
LOCATED_ERROR = re.compile(r"^[^\s:][^:\n]*:\d+:\d+: error:", re.M)


def find_tile_opt() -> str:
    """tile-opt as lit finds it ($TILE_OPT, the install's scripts, PATH), else the build tree."""
    candidates = [os.environ.get("TILE_OPT"),
                  os.path.join(sysconfig.get_path("scripts"), "tile-opt"),
                  shutil.which("tile-opt")]
    candidates += sorted(glob.glob(os.path.join(REPO, "build", "*", "tools", "tile-opt",
                                                "tile-opt")), key=os.path.getmtime, reverse=True)
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError("tile-opt not found: build it (`make setup`) or set TILE_OPT")


# -- seeds: the lit tests' chunks and their passes ---------------------------------------

@dataclasses.dataclass
class Seed:
    path: str        # the lit test, relative to the repository
    index: int       # which `// -----` chunk
    text: str        # the chunk, comment lines dropped
    passes: list     # tile-opt's pass arguments of the file's RUN line


def run_line_passes(text: str) -> list[list[str]]:
    """The pass arguments of each `tile-opt %s ...` RUN line, without what only
    lit needs (split-input-file: we split; verify-diagnostics; -o; redirections; the
    pipes)."""
    result = []
    for line in re.findall(r"^// RUN: (.*)$", text, re.M):
        first = line.split("|")[0].strip()
        if not first.startswith("tile-opt %s"):
            continue
        args = shlex.split(first[len("tile-opt %s"):])
        kept, skip = [], False
        for a in args:
            if skip:
                skip = False
            elif a == "-o":
                skip = True
            elif a.lstrip("-") not in ("split-input-file", "verify-diagnostics") and \
                    not re.fullmatch(r"\d?>&?\d?|\d?>.*", a):  # redirections: the shell's
                kept.append(a)
        result.append(kept)
    return result or [[]]


def load_seeds() -> list[Seed]:
    seeds = []
    for path in sorted(glob.glob(os.path.join(REPO, "test", "**", "*.mlir"), recursive=True)):
        text = open(path).read()
        if "tile-opt %s" not in text:
            continue  # e.g. `tile-opt --help`
        passes = run_line_passes(text)
        for i, chunk in enumerate(re.split(r"^// -----\s*$", text, flags=re.M)):
            body = "\n".join(l for l in chunk.splitlines()
                             if not l.lstrip().startswith("//")).strip()
            if body:
                for p in passes:
                    seeds.append(Seed(os.path.relpath(path, REPO), i, body + "\n", p))
    return seeds


# -- mutations: each takes (text, passes, rng), returns (text, passes, what) or None --------

def _replace_match(text: str, m: re.Match, group: int, new: str) -> str:
    return text[:m.start(group)] + new + text[m.end(group):]


def _pick(rng, pattern, text):
    matches = list(re.finditer(pattern, text))
    return rng.choice(matches) if matches else None


def mutate_int_attribute(text, passes, rng):
    """`name = N : iK` (tile.num_warps, arrivals, divisibility, tma_desc, ...)."""
    m = _pick(rng, r"\b([\w.]+) = (-?\d+) : i\d+", text)
    if not m:
        return None
    new = rng.choice([v for v in INTERESTING_INTS if str(v) != m[2]])
    return _replace_match(text, m, 2, str(new)), passes, f"{m[1]} = {new}"


def mutate_constant(text, passes, rng):
    """`arith.constant N : i32` (tile sizes and offsets in the IR)."""
    m = _pick(rng, r"arith\.constant (-?\d+) : (i\d+|index)", text)
    if not m:
        return None
    new = rng.choice([v for v in INTERESTING_INTS if str(v) != m[1]])
    return _replace_match(text, m, 1, str(new)), passes, f"constant {m[1]} -> {new}"


def mutate_int_list(text, passes, rng):
    """One number in a `[...]` list or `array<...>` (layout sizes, boxes, known_block_size)."""
    lists = list(re.finditer(r"(\[[-\d, ]+\]|array<i\d+: [-\d, ]+>)", text))
    if not lists:
        return None
    lst = rng.choice(lists)
    numbers = list(re.finditer(r"-?\d+", lst[0].split(":")[-1]))
    if not numbers:
        return None
    num = rng.choice(numbers)
    offset = lst.start() + (len(lst[0]) - len(lst[0].split(":")[-1]))
    new = rng.choice(INTERESTING_INTS)
    return (text[:offset + num.start()] + str(new) + text[offset + num.end():], passes,
            f"list {lst[0]} item {num[0]} -> {new}")


def mutate_element_type(text, passes, rng):
    """One occurrence, or every occurrence, of an element type becomes another."""
    pattern = r"(?<=[x<, ])(" + "|".join(ELEMENT_TYPES) + r")\b"
    m = _pick(rng, pattern, text)
    if not m:
        return None
    new = rng.choice([t for t in ELEMENT_TYPES if t != m[1]])
    if rng.random() < 0.5:
        return _replace_match(text, m, 1, new), passes, f"one {m[1]} -> {new}"
    every = re.sub(r"(?<=[x<, ])" + m[1] + r"\b", new, text)
    return every, passes, f"every {m[1]} -> {new}"


def mutate_shape(text, passes, rng):
    """One dimension of one shaped type, or one size everywhere in shapes."""
    m = _pick(rng, r"(?<=[<x])(\d+)(?=x)", text)
    if not m:
        return None
    new = rng.choice(SHAPES)
    if rng.random() < 0.5:
        return _replace_match(text, m, 1, str(new)), passes, f"one dim {m[1]} -> {new}"
    every = re.sub(r"(?<=[<x])" + m[1] + r"(?=x)", str(new), text)
    return every, passes, f"every dim {m[1]} -> {new}"


OP_LINE = r"(?m)^ *(?:%[\w#:, %]+ = )?\"?[a-z_]+\.[a-z_.]+\"?[ (\n].*$"


def mutate_drop_op(text, passes, rng):
    m = _pick(rng, OP_LINE, text)
    if not m or m[0].strip().startswith(("func.func", "return", "gpu.module", "module")):
        return None
    return text[:m.start()] + text[m.end() + 1:], passes, f"drop `{m[0].strip()[:60]}`"


def mutate_duplicate_op(text, passes, rng):
    """A copy of an op right after it (results renamed, so that it parses)."""
    m = _pick(rng, OP_LINE, text)
    if not m or "{" in m[0].split("=")[-1][-2:]:
        return None  # an op opening a region
    copy = re.sub(r"^( *)%([\w]+)", r"\1%\2_dup", m[0]) if re.match(r" *%\w+ = ", m[0]) else m[0]
    return (text[:m.end()] + "\n" + copy + text[m.end():], passes,
            f"duplicate `{m[0].strip()[:60]}`")


def mutate_operands(text, passes, rng):
    """Two SSA operands of one op swap places, or one is replaced by another value."""
    m = _pick(rng, r"(?m)^ *(?:%[\w#:, %]+ = )?[a-z_]+\.[a-z_]+ (.*)$", text)
    if not m:
        return None
    uses = list(re.finditer(r"%[\w#]+", m[1]))
    if len(uses) < 1:
        return None
    a = rng.choice(uses)
    if len(uses) >= 2 and rng.random() < 0.5:
        b = rng.choice([u for u in uses if u.start() != a.start()])
        first, second = sorted([a, b], key=lambda u: u.start())
        ops = (m[1][:first.start()] + second[0] + m[1][first.end():second.start()]
               + first[0] + m[1][second.end():])
        what = f"swap {first[0]} {second[0]}"
    else:
        values = sorted(set(re.findall(r"%[\w#]+", text)) - {a[0]})
        if not values:
            return None
        other = rng.choice(values)
        ops = m[1][:a.start()] + other + m[1][a.end():]
        what = f"operand {a[0]} -> {other}"
    return text[:m.start(1)] + ops + text[m.end(1):], passes, what


def mutate_pass_option(text, passes, rng):
    """A numeric pass option (stages=3) or the pipeline itself."""
    numeric = [(i, m) for i, p in enumerate(passes) for m in re.finditer(r"=(\d+)", p)]
    if numeric and rng.random() < 0.6:
        i, m = rng.choice(numeric)
        new = rng.choice([0, 1, 2, 5, 8, 64, 2**31 - 1])
        changed = list(passes)
        changed[i] = passes[i][:m.start(1)] + str(new) + passes[i][m.end(1):]
        return text, changed, f"{passes[i]} -> {changed[i]}"
    new = rng.choice([["-tile-to-llvm=stages=2 warp-specialize=true"],
                      ["-tile-to-llvm=ping-pong=true warp-specialize=true"],
                      ["-tile-to-llvm=tma-store=false stages=4"],
                      ["-tile-assign-layouts", "-convert-tile-to-gpu"],
                      ["-canonicalize", "-cse"]])
    return text, new, f"passes -> {' '.join(new)}"


MUTATIONS = [(mutate_int_attribute, 3), (mutate_constant, 2), (mutate_int_list, 2),
             (mutate_element_type, 3), (mutate_shape, 3), (mutate_drop_op, 2),
             (mutate_duplicate_op, 1), (mutate_operands, 2), (mutate_pass_option, 1)]


@dataclasses.dataclass
class Case:
    number: int
    seed: Seed
    text: str
    passes: list
    mutations: list


def make_cases(count: int, seed: int) -> list[Case]:
    """`count` cases, the same ones for the same seed (and the same lit tests)."""
    rng = random.Random(seed)
    by_file = collections.defaultdict(list)
    for s in load_seeds():
        by_file[s.path].append(s)
    files = sorted(by_file)  # each lit test as likely (invalid.mlir alone has 60 chunks)
    functions, weights = zip(*MUTATIONS)
    cases = []
    while len(cases) < count:
        base = rng.choice(by_file[rng.choice(files)])
        text, passes = base.text, base.passes
        roll = rng.random()  # beside its RUN line's passes, the full pipeline where it applies
        if "tile.kernel" in text and roll < 0.45:
            passes = FULL_PIPELINE if roll < 0.35 else TO_PTX
        done = []
        for _ in range(rng.choice([1, 1, 2])):
            result = rng.choices(functions, weights)[0](text, passes, rng)
            if result:
                text, passes, what = result
                done.append(what)
        if done:
            cases.append(Case(len(cases), base, text, passes, done))
    return cases


# -- running and classifying --------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    kind: str         # ok, diagnosed, unlocated, crash, hang
    signature: str    # what tells one bug from another (crash, hang, unlocated)
    stderr: str


def limit_resources(cpu_seconds: float | None = None):
    """For a child process: no core files, bounded memory and, where given, CPU time
    (what a hang is measured in: wall time depends on what else the machine runs)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds), int(cpu_seconds) + 2))


def crash_signature(stderr: str, returncode: int) -> str:
    """The assertion, UNREACHABLE or LLVM ERROR line, else the signal and the first
    tile frame of the stack dump, else the first error line."""
    def normalized(text):
        return re.sub(r"\d{3,}|0x[0-9a-f]+", "N", text)[:200]
    # The first frame in tile's code: a symbol, or (stripped builds) tile-opt+offset.
    frame = re.search(r"#\d+ 0x[0-9a-f]+ (\S*tile::\S*|\(\S*?(tile-opt\+0x[0-9a-f]+)\))",
                      stderr)
    where = f" in {(frame[2] or frame[1])[:120]}" if frame else ""
    assertion = re.search(r"^.*(Assertion `.*' failed)", stderr, re.M)
    if assertion:  # llvm::cast's names the types it was given
        cast = re.search(r"\[with To = [^;\]]*", assertion[0])
        return normalized((cast[0] + "] " if cast else "") + assertion[1]) + where
    for pattern in (r"UNREACHABLE executed at [^\n]*", r"LLVM ERROR: [^\n]*"):
        m = re.search(pattern, stderr)
        if m:
            return normalized(m[0]) + where
    if returncode < 0:
        return signal.Signals(-returncode).name + where
    m = re.search(r"error: [^\n]*", stderr)
    return normalized(m[0]) if m else f"exit {returncode}"


def run_tile_opt(tile_opt: str, path: str, passes: list, timeout: float) -> Outcome:
    """`timeout`: CPU seconds; wall time is bounded too, at WALL_FACTOR times that."""
    try:
        proc = subprocess.run([tile_opt, path, *passes, "-o", os.devnull], capture_output=True,
                              text=True, errors="replace", timeout=timeout * WALL_FACTOR,
                              preexec_fn=lambda: limit_resources(timeout))
    except subprocess.TimeoutExpired:
        return Outcome("hang", f"over {timeout * WALL_FACTOR:.0f} s of wall time", "")
    err = proc.stderr
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return Outcome("hang", f"over {timeout:.0f} s of CPU time", err)
    if proc.returncode < 0 or CRASH_MARKERS.search(err):
        return Outcome("crash", crash_signature(err, proc.returncode), err)
    if proc.returncode == 0:
        return Outcome("ok", "", err)
    if LOCATED_ERROR.search(err):
        return Outcome("diagnosed", "", err)
    return Outcome("unlocated", crash_signature(err, proc.returncode), err)


def command_line(tile_opt: str, path: str, passes: list) -> str:
    return shlex.join([os.path.basename(tile_opt), path, *passes])


def minimize(tile_opt: str, text: str, passes: list, outcome: Outcome, timeout: float,
             workdir: str) -> str:
    """Drops lines (halves, then single lines) while tile-opt still fails the same way."""
    path = os.path.join(workdir, "minimize.mlir")

    def same(lines):
        open(path, "w").write("\n".join(lines) + "\n")
        o = run_tile_opt(tile_opt, path, passes, timeout)
        return o.kind == outcome.kind and o.signature == outcome.signature

    lines = text.splitlines()
    chunk = max(len(lines) // 2, 1)
    while chunk >= 1:
        i, changed = 0, False
        while i < len(lines):
            trial = lines[:i] + lines[i + chunk:]
            if trial and same(trial):
                lines, changed = trial, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return "\n".join(lines) + "\n"


@dataclasses.dataclass
class Report:
    counts: collections.Counter
    failures: dict   # (kind, signature) -> list of (case, path, command)
    seconds: float

    def bad(self, kinds=("crash", "hang")) -> dict:
        return {k: v for k, v in self.failures.items() if k[0] in kinds}

    def summary(self, title: str) -> str:
        lines = [f"{title}: {sum(self.counts.values())} cases in {self.seconds:.1f} s: "
                 + ", ".join(f"{k} {self.counts[k]}" for k in sorted(self.counts))]
        for (kind, sig), hits in sorted(self.failures.items()):
            case, path, command = hits[0]
            lines.append(f"  {kind} x{len(hits)}: {sig}\n    reproducer: {path}\n"
                         f"    command: {command}\n    mutations: {'; '.join(case.mutations)}"
                         f" (from {case.seed.path} chunk {case.seed.index})")
        return "\n".join(lines)


def fuzz(cases: int = 200, seed: int = 0, workers: int = 2, timeout: float = 10.0,
         workdir: str | None = None, minimize_failures: bool = False) -> Report:
    """Runs `cases` mutated inputs; reproducers of failures stay in `workdir`."""
    import time
    start = time.perf_counter()
    tile_opt = find_tile_opt()
    workdir = workdir or tempfile.mkdtemp(prefix="tile-fuzz-opt-")
    os.makedirs(workdir, exist_ok=True)
    todo = make_cases(cases, seed)

    def run(case: Case):
        path = os.path.join(workdir, f"case{case.number:05d}.mlir")
        with open(path, "w") as f:
            f.write(f"// fuzz seed {seed} case {case.number}: {'; '.join(case.mutations)}\n"
                    f"// from {case.seed.path} chunk {case.seed.index}\n" + case.text)
        outcome = run_tile_opt(tile_opt, path, case.passes, timeout)
        if outcome.kind in ("ok", "diagnosed"):
            os.remove(path)
        return case, path, outcome

    counts, failures = collections.Counter(), {}
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for case, path, outcome in pool.map(run, todo):
            counts[outcome.kind] += 1
            if outcome.kind not in ("ok", "diagnosed"):
                failures.setdefault((outcome.kind, outcome.signature), []).append(
                    (case, path, command_line(tile_opt, path, case.passes)))
    if minimize_failures:
        for (kind, sig), hits in failures.items():
            case, path, _ = hits[0]
            first = run_tile_opt(tile_opt, path, case.passes, timeout)
            small = minimize(tile_opt, case.text, case.passes, first, timeout, workdir)
            small_path = path.replace(".mlir", ".min.mlir")
            open(small_path, "w").write(small)
            hits[0] = (case, small_path, command_line(tile_opt, small_path, case.passes))
    return Report(counts, failures, time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="CPU seconds a case")
    parser.add_argument("--workdir", help="where reproducers go (default: a new temp dir)")
    parser.add_argument("--minimize", action="store_true", help="line-minimize reproducers")
    a = parser.parse_args(argv)
    report = fuzz(a.cases, a.seed, a.workers, a.timeout, a.workdir, a.minimize)
    print(report.summary("tile-opt fuzzer"))
    return 1 if report.bad() else 0


if __name__ == "__main__":
    sys.exit(main())
