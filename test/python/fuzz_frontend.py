"""Fuzzer of the frontend and compiler: @tile.jit kernels, mutated, compiled for a signature.

The kernels of examples/ and of fuzz_kernels.py are mutated at the AST level
(constants, operators, deleted statements, swapped or dropped call arguments,
wrapped expressions, reduction axes, dtypes) or in what they are compiled for
(constexpr values such as tile sizes 1, 2, 3, 16, 2**17; array dtypes and
ranks; launch options), then compiled with `kernel.compile(<type strings>,
**constexprs)` (no GPU needed; ptxas runs where it is on PATH) in a worker
process, under a time limit. The worker compiles case after case, since
importing the compiler takes about a second, and is started again after a
crash or a hang. Every outcome falls in one class:

  ok          compiled
  diagnosed   tile.CompilationError naming the kernel's file and line
  unlocated   tile.CompilationError without a line (e.g. ptxas rejected the PTX)
  exception   any other Python exception: a bug
  crash       the worker died (abort, SIGSEGV, SIGFPE, LLVM ERROR)
  hang        over the time limit

The same seed gives the same cases. test_fuzz.py runs a small batch in CI; by hand:

    python test/python/fuzz_frontend.py --cases 1000 --seed 7
    python test/python/fuzz_frontend.py --replay /tmp/tile-fuzz-fe-XXXX/case00012.json

(--replay compiles one case in this process, so a crash shows its full stack.)
"""
from __future__ import annotations

import argparse
import ast
import collections
import dataclasses
import json
import os
import random
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from fuzz_tile_opt import WALL_FACTOR, crash_signature, limit_resources

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")
HUGE = 2**17
TILE_SIZES = [1, 2, 3, 16, 0, HUGE]
ARRAY_DTYPES = ["f32", "f16", "bf16", "f8E4M3FN", "f8E5M2", "i1", "i8", "i32", "i64"]
DTYPE_NAMES = ["float32", "float16", "bfloat16", "float8e4m3", "float8e5m2", "int1", "int8",
               "int16", "int32", "int64"]

BF16_2D = "*bf16[2]:16"
# (file, kernel, type strings, constexprs, launch options): what the examples compile.
ENTRIES = [
    ("examples/vector_add.py", "add", ["*f32:16", "*f32:16", "*f32:16", "i32:16"],
     dict(BLOCK=1024), {}),
    ("examples/softmax.py", "softmax", ["*f16[2]:16", "*f16[2]:16"], dict(BM=4, BN=1024), {}),
    ("examples/gemm.py", "gemm", [BF16_2D] * 3, dict(BM=128, BN=128, BK=64), {}),
    ("examples/gemm.py", "gemm_grouped", [BF16_2D] * 3, dict(BM=128, BN=256, BK=64, GROUP=8),
     dict(num_warps=8, num_stages=4)),
    ("examples/gemm.py", "gemm_persistent", [BF16_2D] * 3,
     dict(BM=128, BN=128, BK=64, GROUP=8), dict(warp_specialize=True)),
    ("examples/gemm.py", "gemm_nt", [BF16_2D] * 3, dict(BM=128, BN=128, BK=64), {}),
    ("examples/gemm.py", "gemm_cluster", [BF16_2D] * 3, dict(BM=128, BN=128, BK=64, GROUP=8),
     dict(num_ctas=2, warp_specialize=True)),
    ("examples/gemm.py", "gemm_stream_k", [BF16_2D] * 3 + ["*f32[2]:16", "*i32:16"],
     dict(BM=128, BN=128, BK=64, GROUP=8), {}),
    ("examples/gemm_epilogue.py", "gemm_bias_act", [BF16_2D] * 3 + ["*bf16:16"],
     dict(BM=128, BN=128, BK=64, GROUP=8, ACT="gelu"), {}),
    ("python/tile/ops/attention_kernels.py", "attention_fwd",
     [BF16_2D] * 4 + ["*f32:16", "i32:16", "i32", "f32"],
     dict(BM=128, BN=64, D=64, CAUSAL=True, STORE_LSE=True), {}),
    ("python/tile/ops/attention_kernels.py", "attention_fwd_persistent",
     [BF16_2D] * 4 + ["*f32:16", "i32:16", "i32", "i32", "f32"],
     dict(BM=128, BN=128, D=64, CAUSAL=False), dict(num_warps=8, warp_specialize=True)),
    ("examples/distributed/allreduce.py", "allreduce_two_shot",
     ["*f32:16", "*f32:16@4", "*f32:16@4", "*i32:16@4", "i32"], dict(BLOCK=256), {}),
    ("examples/distributed/gemm_rs.py", "gemm_rs",
     [BF16_2D, BF16_2D, "*f32[3]:16@4", "*f32[2]:16", "*i32:16@4", "*i32:16@4", "i32"],
     dict(BM=128, BN=128, BK=64), dict(num_warps=8)),
    ("test/python/fuzz_kernels.py", "unary", ["*f32:16", "*f32:16"], dict(BLOCK=256, OP="exp"),
     {}),
    ("test/python/fuzz_kernels.py", "binary", ["*f32:16"] * 3 + ["i32:16"], dict(BLOCK=512), {}),
    ("test/python/fuzz_kernels.py", "reduce_rows", ["*f32[2]:16", "*f32:16"],
     dict(BM=16, BN=128, OP="sum"), {}),
    ("test/python/fuzz_kernels.py", "transpose_copy", ["*f16[2]:16"] * 2, dict(BM=64, BN=32), {}),
    ("test/python/fuzz_kernels.py", "one_mma", [BF16_2D, BF16_2D, "*f32[2]:16"],
     dict(BM=64, BN=64, BK=32), {}),
    ("test/python/fuzz_kernels.py", "loop_carried", ["*f32:16", "*f16:16", "i32", "f32"],
     dict(BLOCK=128), {}),
    ("test/python/fuzz_kernels.py", "sort_and_habits", ["*f32[2]:16", "*bf16[2]:16",
                                                        "*i32[2]:16"], dict(BM=8, BN=64), {}),
]
CONSTEXPR_STRINGS = {"OP": ["exp", "log", "sqrt", "neg", "exp2", "sum", "max", "min"],
                     "ACT": ["none", "relu", "gelu", "silu"]}


# -- mutations of a kernel's AST ----------------------------------------------------------

def jit_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    return [n for n in tree.body if isinstance(n, ast.FunctionDef)
            and any(ast.unparse(d) == "tile.jit" for d in n.decorator_list)]


def reachable(functions: list[ast.FunctionDef], entry: str) -> list[ast.FunctionDef]:
    """The entry kernel and the jit functions of its module that it calls, transitively."""
    by_name = {f.name: f for f in functions}
    seen, todo = [], [entry]
    while todo:
        fn = by_name[todo.pop()]
        if fn not in seen:
            seen.append(fn)
            todo += [n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id in by_name]
    return seen


def _body_nodes(fn: ast.FunctionDef, kind) -> list:
    return [n for stmt in fn.body for n in ast.walk(stmt) if isinstance(n, kind)]


def _is_tile_call(node, names) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and ast.unparse(node.func.value) == "tile" and node.func.attr in names)


def _replace(fn: ast.FunctionDef, old: ast.AST, new: ast.AST) -> None:
    class Swap(ast.NodeTransformer):
        def visit(self, node):
            return new if node is old else self.generic_visit(node)
    for i, stmt in enumerate(fn.body):
        fn.body[i] = Swap().visit(stmt)


def delete_statement(fn, rng, budget):
    blocks = [(node, field) for node in ast.walk(fn) for field in ("body", "orelse")
              if node is not fn or field == "body"
              if isinstance(getattr(node, field, None), list) and getattr(node, field)]
    node, field = rng.choice(blocks)
    stmts = getattr(node, field)
    i = rng.randrange(len(stmts))
    gone = stmts.pop(i)
    if not stmts:
        stmts.append(ast.Pass())
    return f"delete `{ast.unparse(gone).splitlines()[0][:70]}`"


def swap_call_arguments(fn, rng, budget):
    calls = [c for c in _body_nodes(fn, ast.Call) if len(c.args) >= 2]
    if not calls:
        return None
    call = rng.choice(calls)
    i, j = rng.sample(range(len(call.args)), 2)
    call.args[i], call.args[j] = call.args[j], call.args[i]
    return f"swap arguments {i} and {j} of `{ast.unparse(call)[:70]}`"


def drop_or_add_argument(fn, rng, budget):
    calls = [c for c in _body_nodes(fn, ast.Call) if c.args]
    if not calls:
        return None
    call = rng.choice(calls)
    if rng.random() < 0.5:
        gone = call.args.pop(rng.randrange(len(call.args)))
        return f"drop argument `{ast.unparse(gone)}` of `{ast.unparse(call)[:70]}`"
    call.args.append(ast.Constant(rng.choice([0, 1, 2.5])))
    return f"extra argument: `{ast.unparse(call)[:70]}`"


WRAPPERS = ["-{}", "not {}", "~{}", "tile.exp({})", "tile.log({})", "tile.sqrt({})",
            "tile.exp2({})", "{}.to(tile.int8)", "{}.to(tile.float8e5m2)", "{}.to(tile.int1)",
            "tile.sum({}, 0)", "tile.max({}, 1)", "{}.T", "{}()", "{}[0]", "{}[:, None]",
            "{}.shape[2]", "({} + 1.5)", "({} @ {})", "tile.transpose({})"]


def wrap_expression(fn, rng, budget):
    """A variable read becomes an expression of it (`-x`, `tile.exp(x)`, `x()`, ...)."""
    calls_of = {id(c.func) for c in _body_nodes(fn, ast.Call)}
    names = [n for n in _body_nodes(fn, ast.Name)
             if isinstance(n.ctx, ast.Load) and n.id not in ("tile", "range", "float")
             and id(n) not in calls_of]
    if not names:
        return None
    name = rng.choice(names)
    text = rng.choice(WRAPPERS).replace("{}", name.id)
    _replace(fn, name, ast.parse(text, mode="eval").body)
    return f"`{name.id}` (line {name.lineno}) -> `{text}`"


def change_axis(fn, rng, budget):
    calls = [c for c in _body_nodes(fn, ast.Call)
             if _is_tile_call(c, ("max", "min", "sum", "program_id", "num_programs"))]
    if not calls:
        return None
    call = rng.choice(calls)
    index = 0 if call.func.attr in ("program_id", "num_programs") else 1
    axis = rng.choice([-1, 0, 1, 2, 3, 7])
    if len(call.args) <= index:
        return None
    call.args[index] = ast.Constant(axis)
    return f"axis of `{ast.unparse(call)[:70]}` -> {axis}"


def change_constant(fn, rng, budget):
    consts = [c for c in _body_nodes(fn, ast.Constant)
              if isinstance(c.value, (int, float)) and not isinstance(c.value, bool)]
    if not consts:
        return None
    const = rng.choice(consts)
    choices = [0, -1, 1, 3, 16, 0.5, -0.0, float("inf")] + ([HUGE] if budget.take_huge() else [])
    old, const.value = const.value, rng.choice(choices)
    return f"constant {old!r} (line {const.lineno}) -> {const.value!r}"


BINOPS = [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift,
          ast.RShift, ast.BitAnd, ast.BitOr, ast.BitXor, ast.MatMult]
COMPARES = [ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq]


def change_operator(fn, rng, budget):
    ops = _body_nodes(fn, ast.BinOp) + _body_nodes(fn, ast.Compare)
    if not ops:
        return None
    node = rng.choice(ops)
    before = ast.unparse(node)
    if isinstance(node, ast.BinOp):
        node.op = rng.choice([op for op in BINOPS if not isinstance(node.op, op)])()
    else:
        node.ops[0] = rng.choice([op for op in COMPARES if not isinstance(node.ops[0], op)])()
    return f"`{before[:50]}` -> `{ast.unparse(node)[:50]}`"


def change_dtype_name(fn, rng, budget):
    attrs = [a for a in _body_nodes(fn, ast.Attribute)
             if ast.unparse(a.value) == "tile" and a.attr in DTYPE_NAMES]
    if not attrs:
        return None
    attr = rng.choice(attrs)
    old, attr.attr = attr.attr, rng.choice([d for d in DTYPE_NAMES if d != attr.attr])
    return f"tile.{old} (line {attr.lineno}) -> tile.{attr.attr}"


def change_keyword(fn, rng, budget):
    calls = [c for c in _body_nodes(fn, ast.Call) if c.keywords]
    if not calls:
        return None
    call = rng.choice(calls)
    kw = rng.choice(call.keywords)
    before = ast.unparse(call)
    if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool):
        kw.value.value = not kw.value.value
    else:
        call.keywords.remove(kw)
    return f"`{before[:60]}` -> `{ast.unparse(call)[:60]}`"


AST_MUTATIONS = [(delete_statement, 3), (swap_call_arguments, 2), (drop_or_add_argument, 1),
                 (wrap_expression, 3), (change_axis, 1), (change_constant, 2),
                 (change_operator, 2), (change_dtype_name, 1), (change_keyword, 1)]


# -- mutations of what a kernel is compiled for --------------------------------------------

def change_constexpr(case, rng, budget):
    name = rng.choice(sorted(case.constexprs))
    old = case.constexprs[name]
    if name in CONSTEXPR_STRINGS:
        new = rng.choice(CONSTEXPR_STRINGS[name] + ["other", 3])
    elif isinstance(old, bool):
        new = not old
    else:
        new = rng.choice([v for v in TILE_SIZES if v != HUGE or budget.take_huge()])
    case.constexprs[name] = new
    return f"{name}={old!r} -> {new!r}"


def change_signature(case, rng, budget):
    i = rng.randrange(len(case.args))
    old = case.args[i]
    m = re.match(r"^(\*?)(\w+)(\[\d+\])?(:16)?(@\d+)?$", old)  # @N: symmetric over N ranks
    if not m[1]:  # scalars are i32 or f32
        new = rng.choice(["i32", "i32:16", "f32"])
    elif rng.random() < 0.7:
        new = f"*{rng.choice(ARRAY_DTYPES)}{m[3] or ''}{m[4] or ''}{m[5] or ''}"
    else:
        world = rng.choice(["", "@1", "@2", "@8"]) if m[5] else ""
        new = f"*{m[2]}{rng.choice(['', '[1]', '[2]', '[3]'])}{rng.choice(['', ':16'])}{world}"
    case.args[i] = new
    return f"argument {i}: {old} -> {new}"


def change_options(case, rng, budget):
    name, values = rng.choice([("num_warps", [1, 2, 4, 8, 16]), ("num_stages", [2, 3, 5, 8]),
                               ("warp_specialize", [True, False]), ("num_ctas", [1, 2, 4])])
    new = rng.choice(values)
    case.options[name] = new
    return f"{name}={new!r}"


SPEC_MUTATIONS = [(change_constexpr, 4), (change_signature, 4), (change_options, 1)]


class HugeBudget:
    """Tiles of 2**17 take the compiler minutes today: a few such cases a run."""

    def __init__(self, left: int):
        self.left = left

    def take_huge(self) -> bool:
        self.left -= 1
        return self.left >= 0


@dataclasses.dataclass
class Case:
    number: int
    file: str          # the kernel's file, relative to the repository (before mutation)
    kernel: str
    args: list
    constexprs: dict
    options: dict
    mutations: list
    source: str        # the module's mutated source
    path: str = ""     # where the worker reads it

    def call(self) -> str:
        kwargs = {**self.constexprs, **self.options}
        return (f"{self.kernel}.compile({', '.join(map(repr, self.args))}"
                + "".join(f", {k}={v!r}" for k, v in kwargs.items()) + ")")


def make_cases(count: int, seed: int, huge_cases: int = 4) -> list[Case]:
    """`count` cases, the same ones for the same seed (and the same kernel files)."""
    rng = random.Random(seed)
    budget = HugeBudget(huge_cases)
    repo = os.path.dirname(os.path.dirname(HERE))
    sources = {f: open(os.path.join(repo, f)).read() for f in sorted({e[0] for e in ENTRIES})}
    cases = []
    while len(cases) < count:
        file, kernel, args, constexprs, options = rng.choice(ENTRIES)
        case = Case(len(cases), file, kernel, list(args), dict(constexprs), dict(options), [],
                    sources[file])
        for _ in range(rng.choice([1, 1, 2])):
            if rng.random() < 0.55:
                tree = ast.parse(case.source)
                functions = reachable(jit_functions(tree), kernel)
                fn = functions[0] if rng.random() < 0.6 else rng.choice(functions)
                mutate = rng.choices(*zip(*AST_MUTATIONS))[0]
                what = mutate(fn, rng, budget)
                if what:
                    case.source = ast.unparse(tree) + "\n"
                    case.mutations.append(f"{fn.name}: {what}")
            else:
                what = rng.choices(*zip(*SPEC_MUTATIONS))[0](case, rng, budget)
                case.mutations.append(what)
        if case.mutations:
            cases.append(case)
    return cases


# -- the worker: compiles cases read from stdin, one JSON line each ------------------------

def compile_case(job: dict) -> dict:
    import importlib.util
    import tile
    name = f"fuzzcase{job['number']}"
    spec = importlib.util.spec_from_file_location(name, job["path"])
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        kernel = getattr(module, job["kernel"])
        kernel.compile(*job["args"], **job["constexprs"], **job["options"])
    except tile.CompilationError as e:
        located = e.filename is not None and e.lineno is not None
        return {"kind": "diagnosed" if located else "unlocated",
                "signature": re.sub(r"\d+", "N", str(e).splitlines()[0])[:160],
                "message": str(e)[:3000]}
    except Exception as e:  # noqa: BLE001: every other exception is what we look for
        frames = traceback.extract_tb(e.__traceback__)
        ours = [f for f in frames if os.sep + "tile" + os.sep in f.filename] or frames
        where = f"{os.path.basename(ours[-1].filename)}:{ours[-1].name}"
        return {"kind": "exception", "signature": f"{type(e).__name__} in {where}",
                "message": "".join(traceback.format_exception(e))[-3000:]}
    finally:
        sys.modules.pop(name, None)
    return {"kind": "ok"}


def worker_main() -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # prints from the compiler (Python or C) must not reach the protocol
    sys.stdout = sys.stderr
    sys.path.insert(0, os.path.abspath(EXAMPLES))  # gemm_epilogue imports gemm
    import tile  # noqa: F401: the slow import, before "ready"
    protocol.write("ready\n")
    for line in sys.stdin:
        job = json.loads(line)
        print(f"--- case {job['number']}", file=sys.stderr, flush=True)
        protocol.write(json.dumps(compile_case(job)) + "\n")


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its waited-for children (ptxas)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class Worker:
    """A worker process; started again after it dies or hangs."""

    def __init__(self, log_path: str):
        self.log_path = log_path
        self.proc = None

    def start(self):
        env = dict(os.environ, TILE_CACHE="0", TILE_INTERPRET="0")
        env.pop("TILE_DUMP_DIR", None)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                     env=env, preexec_fn=limit_resources)
        log.close()
        self.buffer = b""
        if self._read_line(60) != "ready":
            raise RuntimeError(f"the fuzz worker did not start: see {self.log_path}")

    def _read_line(self, timeout: float):
        """The next line; None once the worker spent `timeout` CPU seconds (or
        WALL_FACTOR times that in wall time) on it; "" when the worker died."""
        deadline = time.monotonic() + timeout * WALL_FACTOR
        cpu_start = cpu_seconds(self.proc.pid)
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            if (time.monotonic() > deadline
                    or cpu_seconds(self.proc.pid) - cpu_start > timeout):
                return None
            if not select.select([fd], [], [], 0.25)[0]:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return ""
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
        self.proc = None

    def run(self, case: Case, timeout: float) -> dict:
        if self.proc is None:
            self.start()
        offset = os.path.getsize(self.log_path)
        job = dict(number=case.number, path=case.path, kernel=case.kernel, args=case.args,
                   constexprs=case.constexprs, options=case.options)
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            line = self._read_line(timeout)
        except BrokenPipeError:
            line = ""
        if line:
            return json.loads(line)
        if line is None:
            self.stop()
            return {"kind": "hang", "signature": f"over {timeout:.0f} s of CPU time",
                    "message": ""}
        self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            err = f.read().decode(errors="replace")
        return {"kind": "crash", "signature": crash_signature(err, code), "message": err[-3000:]}


@dataclasses.dataclass
class Report:
    counts: collections.Counter
    failures: dict   # (kind, signature) -> list of (case, result)
    seconds: float
    diagnostics: dict  # each CompilationError's first line -> the cases that gave it

    def bad(self, kinds=("crash", "hang", "exception")) -> dict:
        return {k: v for k, v in self.failures.items() if k[0] in kinds}

    def summary(self, title: str) -> str:
        lines = [f"{title}: {sum(self.counts.values())} cases in {self.seconds:.1f} s: "
                 + ", ".join(f"{k} {self.counts[k]}" for k in sorted(self.counts))]
        for (kind, sig), hits in sorted(self.failures.items()):
            case, result = hits[0]
            detail = result["message"].strip().splitlines()[-1:] if kind == "exception" else []
            lines.append(f"  {kind} x{len(hits)}: {sig}" + "".join(f"\n    {d[:200]}" for d in detail)
                         + f"\n    kernel: {case.path} (from {case.file}; "
                         f"{'; '.join(case.mutations)})\n    call: {case.call()}\n"
                         f"    replay: python {os.path.relpath(__file__)} --replay "
                         f"{case.path[:-3]}.json")
        return "\n".join(lines)


def fuzz(cases: int = 150, seed: int = 0, workers: int = 2, timeout: float = 15.0,
         workdir: str | None = None, huge_cases: int = 4, keep_diagnosed: bool = False) -> Report:
    """Compiles `cases` mutated kernels; reproducers of failures stay in `workdir`."""
    start = time.perf_counter()
    workdir = workdir or tempfile.mkdtemp(prefix="tile-fuzz-fe-")
    os.makedirs(workdir, exist_ok=True)
    todo = make_cases(cases, seed, huge_cases)
    for case in todo:
        case.path = os.path.join(workdir, f"case{case.number:05d}.py")
        with open(case.path, "w") as f:
            f.write(case.source)
    results = [None] * len(todo)

    def drain(index: int):
        worker = Worker(os.path.join(workdir, f"worker{index}.log"))
        try:
            for case in todo[index::workers]:
                results[case.number] = worker.run(case, timeout)
        finally:
            worker.stop()

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts, failures, diagnostics = collections.Counter(), {}, collections.defaultdict(list)
    for case, result in zip(todo, results):
        counts[result["kind"]] += 1
        if result["kind"] == "diagnosed":
            diagnostics[result["signature"].split("error: ", 1)[-1]].append(case)
        if result["kind"] in ("ok", "diagnosed"):
            if not (result["kind"] == "diagnosed" and keep_diagnosed):
                os.remove(case.path)
            continue
        failures.setdefault((result["kind"], result["signature"]), []).append((case, result))
        job = dict(number=case.number, path=case.path, kernel=case.kernel, args=case.args,
                   constexprs=case.constexprs, options=case.options, result=result,
                   mutations=case.mutations)
        with open(case.path[:-3] + ".json", "w") as f:
            json.dump(job, f, indent=1)
    return Report(counts, failures, time.perf_counter() - start, diagnostics)


def replay(job_path: str) -> int:
    """Compiles one saved case here, in this process."""
    job = json.load(open(job_path))
    sys.path.insert(0, os.path.abspath(EXAMPLES))
    print(json.dumps(compile_case(job), indent=1))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=15.0, help="CPU seconds a case")
    parser.add_argument("--huge-cases", type=int, default=4, help="cases with 2**17 sizes")
    parser.add_argument("--workdir", help="where reproducers go (default: a new temp dir)")
    parser.add_argument("--replay", help="a case's .json: compile it in this process")
    parser.add_argument("--diagnostics", action="store_true",
                        help="also list the diagnostics, keeping an example of each")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = parser.parse_args(argv)
    if a.worker:
        worker_main()
        return 0
    if a.replay:
        return replay(a.replay)
    report = fuzz(a.cases, a.seed, a.workers, a.timeout, a.workdir, a.huge_cases, a.diagnostics)
    print(report.summary("frontend fuzzer"))
    if a.diagnostics:
        for text, cases in sorted(report.diagnostics.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(cases):4d}  {text}\n        e.g. {cases[0].path}: {cases[0].call()}")
    return 1 if report.bad() else 0


if __name__ == "__main__":
    sys.exit(main())
