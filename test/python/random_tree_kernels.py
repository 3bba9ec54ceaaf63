"""The "tree" family of random_kernels: a random expression tree over 1-D and 2-D
tiles, kept twice: as the kernel's source lines and as a mini program of the same
statements that numpy evaluates (the reference). Each value carries its interval,
so no op overflows its type or leaves its domain (log, sqrt, division)."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from random_kernels import (DIMS, EPS, LIMIT, STORAGE, TILE_NAME, Case, f32, poisoned,
                            rounded, tolerance, window, write_window)

# Elementwise functions with their numpy reference and the range of their values
# over inputs in [lo, hi] (tanh, sigmoid and erf increase; sin and cos stay in [-1, 1]).
_BOUNDED = {
    "tanh": lambda lo, hi: (np.tanh, math.tanh(lo), math.tanh(hi)),
    "sigmoid": lambda lo, hi: (lambda x: 0.5 * (1 + np.tanh(0.5 * x)),
                               0.5 * (1 + math.tanh(0.5 * lo)), 0.5 * (1 + math.tanh(0.5 * hi))),
    "erf": lambda lo, hi: (np.vectorize(math.erf, otypes=[np.float64]), math.erf(lo),
                           math.erf(hi)),
    "sin": lambda lo, hi: (np.sin, -1.0, 1.0),
    "cos": lambda lo, hi: (np.cos, -1.0, 1.0),
}


@dataclass
class Node:
    """A kernel value: its source text, type, value interval and numpy evaluation."""

    src: str
    shape: tuple
    dt: str
    lo: float
    hi: float
    ev: object  # env -> np.ndarray
    exact: bool = False  # the same bits on every device (loads, arange): safe to compare

    def __post_init__(self):
        self.ev = tracked(self.ev)

    @property
    def magnitude(self) -> float:
        return max(abs(self.lo), abs(self.hi))


def tracked(ev):
    """Records the largest finite |value| an evaluation produced (the error scale)."""
    def run(env):
        v = ev(env)
        finite = np.abs(f32(v))[np.isfinite(f32(v))]
        if finite.size:
            env["__scale"] = max(env["__scale"], float(finite.max()))
        return v
    return run


class Program:
    """Statements for the numpy evaluator, mirroring the kernel's source lines."""

    def __init__(self):
        self.lines: list[str] = []
        self.body: list = []  # ("set", name, ev) | ("loop", var, count, body) | ("store", fn)
        self.stack = [self.body]
        self.indent = 1

    def emit(self, text: str, statement=None) -> None:
        self.lines.append("    " * self.indent + text)
        if statement is not None:
            self.stack[-1].append(statement)

    def run(self, statements, env, outputs) -> None:
        for st in statements:
            if st[0] == "set":
                env[st[1]] = st[2](env)
            elif st[0] == "loop":
                for i in range(st[2]):
                    env[st[1]] = i
                    self.run(st[3], env, outputs)
            else:
                st[1](env, outputs)


class TreeKernel:
    """Builds one random "tree" kernel (see the module docstring)."""

    def __init__(self, rng: random.Random, index: int):
        self.rng, self.index = rng, index
        self.data_rng = np.random.default_rng(rng.randrange(2 ** 32))
        self.program = Program()
        self.params: list[str] = []
        self.arrays: dict = {}
        self.scalars: dict = {}
        self.outputs: list[str] = []
        self.values: list[Node] = []  # named values later expressions may reuse
        self.temp = 0
        self.eps_dt = "i32"  # the coarsest float type any value passed through
        self.approx = False
        self.num_warps = rng.choice((1, 2, 4, 8))
        self.mixed = rng.random() < 0.5  # casts through coarser types (looser tolerances)
        self.cap = 1024 * self.num_warps  # elements a tile may have
        self.grid = (rng.randint(1, 4),) if rng.random() < 0.6 else \
            (rng.randint(1, 3), rng.randint(1, 3))
        self.extent = {"pid0": self.grid[0], "0": 1}
        if len(self.grid) == 2:
            self.extent.update(pid1=self.grid[1], prog=self.grid[0] * self.grid[1])
        else:
            self.extent["prog"] = self.grid[0]

    # -- helpers ----------------------------------------------------------------------
    def name(self, prefix: str) -> str:
        self.temp += 1
        return f"{prefix}{self.temp}"

    def touch(self, dt: str) -> None:
        if dt != "i32" and EPS[dt] > EPS[self.eps_dt]:
            self.eps_dt = dt

    def materialize(self, node: Node, reusable: bool = True) -> Node:
        name = self.name("t")
        self.program.emit(f"{name} = {node.src}", ("set", name, node.ev))
        named = Node(name, node.shape, node.dt, node.lo, node.hi, lambda env: env[name],
                     node.exact)
        if reusable:
            self.values.append(named)
        return named

    def pick_dims(self, rank: int) -> tuple:
        while True:
            shape = tuple(self.rng.choice(DIMS[:8] if rank == 2 else DIMS) for _ in range(rank))
            if math.prod(shape) <= self.cap:
                return shape

    def ragged(self, covered: int, block: int) -> int:
        if self.rng.random() < 0.35:
            return covered
        return max(1, covered - self.rng.randrange(block + 1) + self.rng.choice((0, 0, 3)))

    def new_input(self, shape, dt: str, exact_ints: bool = False) -> str:
        name = self.name("x")
        if dt == "i32" or exact_ints:
            data = self.data_rng.integers(-8, 9, shape)
            if exact_ints:  # quarters, which the cast to int32 truncates
                data = data + 0.25 * self.data_rng.integers(0, 4, shape)
        else:
            data = self.data_rng.uniform(-2, 2, shape)
        self.arrays[name] = rounded(dt, data)
        self.params.append(name)
        return name

    def block_index(self) -> str:
        """A block index for a load's offset: a program id, the loop variable, or 0."""
        return self.rng.choice([k for k in self.extent if k != "0"] + ["0"])

    def index_value(self, env, index: str) -> int:
        return 0 if index == "0" else env[index]

    @staticmethod
    def offset(index: str, block: int) -> str:
        return "0" if index == "0" else f"{index} * {block}"

    # -- leaves -------------------------------------------------------------------------
    def load(self, shape, dt: str) -> Node:
        """A load of a fresh input, converted to `dt`; zeros outside the array."""
        if dt == "i32":
            data_dt = "i32" if self.rng.random() < 0.7 else "f32"
        else:
            data_dt = self.rng.choice(["f32", "f32", dt, "f16", "bf16"])
        indices = [self.block_index() for _ in shape]
        extents = [self.ragged(self.extent[i] * n, n) for i, n in zip(indices, shape)]
        name = self.new_input(extents, data_dt, exact_ints=(dt == "i32" and data_dt == "f32"))
        limit = None
        if len(shape) == 2:
            src = f"tile.load({name}, ({self.offset(indices[0], shape[0])}, " \
                  f"{self.offset(indices[1], shape[1])}), {shape})"
        else:
            form = self.rng.choice(("bound_param", "bound_shape", "view", "bound_less"))
            start = self.offset(indices[0], shape[0])
            if form == "view":
                src = f"tile.load({name}, ({start},), ({shape[0]},))"
            elif form == "bound_shape":
                src = f"tile.load({name}, {start}, {shape[0]}, bound={name}.shape[0])"
            else:
                bound = self.name("n")
                limit = extents[0]
                if form == "bound_less":  # a bound inside the array: the rest reads zero
                    limit -= self.rng.randrange(extents[0])
                self.scalars[bound] = limit
                self.params.append(bound)
                src = f"tile.load({name}, {start}, {shape[0]}, bound={bound})"
        cast = f".to({TILE_NAME[dt]})" if data_dt != dt else ""
        array = self.arrays[name]

        def ev(env):
            starts = [self.index_value(env, i) * n for i, n in zip(indices, shape)]
            tile = window(array, starts, shape, limit)
            return rounded(dt, np.trunc(f32(tile)) if data_dt != "i32" and dt == "i32" else tile)
        lo, hi = (-9.0, 9.0) if dt == "i32" or data_dt == "i32" else (-2.0, 2.0)
        return Node(src + cast, shape, dt, lo, hi, ev, exact=True)

    def arange(self, n: int, dt: str) -> Node:
        if dt == "i32":
            return Node(f"tile.arange({n})", (n,), dt, 0, n - 1,
                        lambda env: np.arange(n, dtype=np.int32), exact=True)
        return Node(f"(tile.arange({n}).to({TILE_NAME[dt]}) * 0.125)", (n,), dt, 0, n / 8,
                    lambda env: rounded(dt, f32(np.arange(n)) * np.float32(0.125)), exact=True)

    def constant(self, shape, dt: str) -> Node:
        value = self.rng.choice((0, 1, 2, -3) if dt == "i32" else (0.0, 0.5, 1.5, -1.0, 3.0))
        src = f"tile.zeros({shape}, {TILE_NAME[dt]})" if value == 0 else \
            f"tile.full({shape}, {value}, {TILE_NAME[dt]})"
        return Node(src, shape, dt, value, value,
                    lambda env: np.full(shape, value, STORAGE[dt]), exact=True)

    def scalar(self, dt: str):
        """A number, or a runtime scalar parameter (f32 and i32 only): (text, value)."""
        if dt in ("f32", "i32") and self.rng.random() < 0.3:
            name = self.name("s")
            value = self.rng.choice((2, 3, -1)) if dt == "i32" else \
                self.rng.choice((0.5, 1.25, -0.75, 2.0))
            self.scalars[name] = value
            self.params.append(name)
            return name, value
        value = self.rng.choice((1, 2, 3, -2) if dt == "i32" else (0.5, 2.0, -1.5, 0.25, 3.0))
        return repr(value), value

    def leaf(self, shape, dt: str, depth: int = 0) -> Node:
        reusable = [v for v in self.values if v.shape == shape and v.dt == dt]
        r = self.rng.random()
        if reusable and r < 0.3:
            return self.rng.choice(reusable)
        if len(shape) == 1 and r < 0.45:
            return self.arange(shape[0], dt)
        if r < 0.55:
            return self.constant(shape, dt)
        return self.load(shape, dt)

    # -- expressions ---------------------------------------------------------------------
    def expr(self, shape, dt: str, depth: int) -> Node:
        if depth <= 0 or self.temp > 40:
            return self.leaf(shape, dt)
        kinds = ["binary"] * 5 + ["leaf", "where", "cast"]
        kinds += ["unary"] * 2 if dt != "i32" else []
        kinds += ["reduce"] * 3 if len(shape) == 1 else ["broadcast"] * 3
        node = getattr(self, self.rng.choice(kinds))(shape, dt, depth)
        if depth >= 2 and self.rng.random() < 0.4:
            node = self.materialize(node)
        return node

    def combine(self, op: str, a: Node, b: Node, a_src=None, b_src=None) -> Node:
        """`a op b` with numpy broadcasting (b_src / a_src: broadcast spellings)."""
        a_src, b_src = a_src or a.src, b_src or b.src
        dt = a.dt
        corners = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)] if op == "*" else None
        if op == "/":
            corners = [x / y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        interval = {"+": (a.lo + b.lo, a.hi + b.hi), "-": (a.lo - b.hi, a.hi - b.lo),
                    "max": (max(a.lo, b.lo), max(a.hi, b.hi)),
                    "min": (min(a.lo, b.lo), min(a.hi, b.hi)),
                    "//": (min(a.lo, 0) - 1, max(a.hi, 0)), "%": (-b.hi, b.hi)}.get(op)
        lo, hi = (min(corners), max(corners)) if corners else interval
        if max(abs(lo), abs(hi)) > LIMIT[dt]:
            op, (lo, hi) = "max", (max(a.lo, b.lo), max(a.hi, b.hi))
        if op in ("max", "min"):
            src = f"tile.{op}imum({a_src}, {b_src})"
        else:
            src = f"({a_src} {op} {b_src})"
        fa, fb = a.ev, b.ev

        def ev(env):
            x, y = fa(env), fb(env)
            if dt == "i32":
                x, y = x.astype(np.int32), y.astype(np.int32)
                return {"+": np.add, "-": np.subtract, "*": np.multiply, "max": np.maximum,
                        "min": np.minimum, "//": np.floor_divide, "%": np.fmod}[op](x, y)
            fn = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                  "max": np.maximum, "min": np.minimum}[op]
            return rounded(dt, fn(f32(x), f32(y)))
        self.touch(dt)
        return Node(src, np.broadcast_shapes(a.shape, b.shape), dt, lo, hi, ev)

    def positive(self, node: Node) -> Node:
        """`node` made >= 0.25, for log, sqrt and denominators."""
        if node.lo >= 0.25:
            return node
        if self.rng.random() < 0.5 or node.magnitude > 100:
            floor = Node("0.25", (), node.dt, 0.25, 0.25, lambda env: np.float32(0.25))
            return self.combine("max", node, floor)
        square = self.combine("*", node, node)
        square.lo = 0.0
        return self.combine("+", square, Node("0.5", (), node.dt, 0.5, 0.5,
                                              lambda env: np.float32(0.5)))

    def clamp(self, node: Node, bound: float) -> Node:
        if node.magnitude <= bound:
            return node
        low = Node(repr(-bound), (), node.dt, -bound, -bound, lambda env: np.float32(-bound))
        high = Node(repr(bound), (), node.dt, bound, bound, lambda env: np.float32(bound))
        return self.combine("min", self.combine("max", node, low), high)

    def binary(self, shape, dt: str, depth: int) -> Node:
        ops = ["+", "-", "*", "max", "min"] + (["/"] if dt != "i32" else ["//", "%"])
        op = self.rng.choice(ops)
        a = self.expr(shape, dt, depth - 1)
        if op in ("//", "%"):
            value = self.rng.randint(1, 5)
            return self.combine(op, a, Node(str(value), (), dt, value, value,
                                            lambda env: np.int32(value)))
        if self.rng.random() < 0.3:
            text, value = self.scalar(dt)
            b = Node(text, (), dt, value, value, lambda env: np.array(value, STORAGE[dt]))
        else:
            b = self.expr(shape, dt, depth - 1)
        if op == "/":
            b = self.positive(b)
        return self.combine(op, a, b) if self.rng.random() < 0.8 or op == "/" else \
            self.combine(op, b, a)

    def unary(self, shape, dt: str, depth: int) -> Node:
        fn = self.rng.choice(("exp", "exp2", "log", "sqrt", "neg", "abs", "tanh", "sigmoid",
                              "erf", "sin", "cos"))
        a = self.expr(shape, dt, depth - 1)
        if fn in _BOUNDED:  # computed in f32 (f16/bf16 rounded back), as exp is
            self.approx = True
            self.touch(dt)
            numpy_fn, lo, hi = _BOUNDED[fn](a.lo, a.hi)
            return Node(f"tile.{fn}({a.src})", shape, dt, lo, hi,
                        lambda env: rounded(dt, numpy_fn(f32(a.ev(env)))))
        if fn == "neg":
            return Node(f"(-{a.src})", shape, dt, -a.hi, -a.lo, lambda env: -a.ev(env))
        if fn == "abs":
            return self.combine("max", a, Node(f"(-{a.src})", shape, dt, -a.hi, -a.lo,
                                               lambda env: -a.ev(env)))
        self.approx = True
        self.touch(dt)
        if fn in ("exp", "exp2"):
            a = self.clamp(a, 6.0 if dt == "f16" else 8.0)
            base = math.e if fn == "exp" else 2.0
            lo, hi = base ** a.lo, base ** a.hi
        else:
            a = self.positive(a)
            lo, hi = (math.log(a.lo), math.log(a.hi)) if fn == "log" else \
                (math.sqrt(a.lo), math.sqrt(a.hi))
        numpy_fn = {"exp": np.exp, "exp2": np.exp2, "log": np.log, "sqrt": np.sqrt}[fn]
        return Node(f"tile.{fn}({a.src})", shape, dt, lo, hi,
                    lambda env: rounded(dt, numpy_fn(f32(a.ev(env)))))

    def reduce(self, shape, dt: str, depth: int) -> Node:
        (n,) = shape
        k = self.rng.choice([d for d in DIMS[:8] if d * n <= self.cap])
        axis = self.rng.randrange(2)
        child = self.expr((n, k) if axis == 1 else (k, n), dt, depth - 1)
        kind = self.rng.choice(("sum", "sum", "max", "min"))
        lo, hi = child.lo, child.hi
        if kind == "sum":
            lo, hi = k * min(lo, 0), k * max(hi, 0)
            if max(abs(lo), abs(hi)) > LIMIT[dt]:
                kind, lo, hi = "max", child.lo, child.hi
        self.touch(dt)

        def ev(env):
            v = child.ev(env)
            if kind != "sum":
                return (np.max if kind == "max" else np.min)(v, axis=axis)
            env["__scale"] = max(env["__scale"], float(np.abs(f32(v)).sum(axis=axis).max()))
            return rounded(dt, f32(v).astype(np.float64).sum(axis=axis))
        return Node(f"tile.{kind}({child.src}, {axis})", shape, dt, lo, hi, ev)

    def expanded(self, n: int, dt: str, depth: int, dim: int):
        v = self.expr((n,), dt, depth)
        spelled = f"{v.src}[None, :]" if dim == 0 else f"{v.src}[:, None]"
        ev = (lambda env: v.ev(env)[None, :]) if dim == 0 else (lambda env: v.ev(env)[:, None])
        return Node(spelled, (1, n) if dim == 0 else (n, 1), dt, v.lo, v.hi, ev)

    def broadcast(self, shape, dt: str, depth: int) -> Node:
        r, c = shape
        op = self.rng.choice(("+", "-", "*", "max", "min"))
        if self.rng.random() < 0.25:  # outer: u[:, None] op v[None, :]
            a, b = self.expanded(r, dt, depth - 1, 1), self.expanded(c, dt, depth - 1, 0)
        else:
            a = self.expr(shape, dt, depth - 1)
            b = self.expanded(c, dt, depth - 1, 0) if self.rng.random() < 0.5 else \
                self.expanded(r, dt, depth - 1, 1)
            if self.rng.random() < 0.5:
                a, b = b, a
        return self.combine(op, a, b)

    def condition(self, shape) -> Node:
        """A comparison of exact values (loads, arange), so that no rounding flips it."""
        dt = self.rng.choice(("f32", "f16", "i32"))
        if len(shape) == 2 and self.rng.random() < 0.3:  # (v < k)[None, :] as softmax masks
            dim = self.rng.randrange(2)
            cond = self.condition((shape[1 - dim],))
            return Node(f"{cond.src}[None, :]" if dim == 0 else f"{cond.src}[:, None]",
                        (1, shape[1]) if dim == 0 else (shape[0], 1), "i1", 0, 1,
                        lambda env: cond.ev(env)[None, :] if dim == 0 else cond.ev(env)[:, None])
        else:
            left = self.leaf(shape, dt)
            if not left.exact:
                left = self.load(shape, dt)
        op = self.rng.choice(("<", "<=", ">", ">=", "==", "!="))
        right = str(self.rng.choice((0, 1, 3))) if left.dt == "i32" else \
            self.rng.choice(("0.5", "0.0", "-1.0"))
        value = float(right)
        fn = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
              "==": np.equal, "!=": np.not_equal}[op]
        return Node(f"({left.src} {op} {right})", left.shape, "i1", 0, 1,
                    lambda env: fn(f32(left.ev(env)), np.float32(value)))

    def where(self, shape, dt: str, depth: int) -> Node:
        cond = self.condition(shape)
        a = self.expr(shape, dt, depth - 1)
        if self.rng.random() < 0.3:
            text, value = self.scalar(dt)
            b = Node(text, (), dt, value, value, lambda env: np.array(value, STORAGE[dt]))
        else:
            b = self.expr(shape, dt, depth - 1)
        return Node(f"tile.where({cond.src}, {a.src}, {b.src})", shape, dt,
                    min(a.lo, b.lo), max(a.hi, b.hi),
                    lambda env: rounded(dt, np.broadcast_to(
                        np.where(cond.ev(env), a.ev(env), b.ev(env)), shape)))

    def cast(self, shape, dt: str, depth: int) -> Node:
        if dt == "i32":  # float to int only from exact values: truncation never differs
            return self.load(shape, "i32")
        sources = [d for d in ("f32", "f16", "bf16", "i32") if d != dt and
                   (self.mixed or d == "i32" or EPS[d] < EPS[dt])]
        source_dt = self.rng.choice(sources)
        a = self.expr(shape, source_dt, depth - 1)
        if source_dt != "i32":
            self.touch(source_dt)
            a = self.clamp(a, LIMIT[dt])
        elif a.magnitude > 256:
            a = self.clamp(a, 256)
        self.touch(dt)
        return Node(f"{a.src}.to({TILE_NAME[dt]})" if a.src.isidentifier() or a.src.endswith(")")
                    else f"({a.src}).to({TILE_NAME[dt]})", shape, dt, a.lo, a.hi,
                    lambda env: rounded(dt, f32(a.ev(env))))

    # -- the kernel ---------------------------------------------------------------------
    def loop(self, shape, dt: str) -> Node:
        """`acc` carried through `for kb in range(...)`, each iteration loading new tiles."""
        count = self.rng.randint(1, 4)
        if self.rng.random() < 0.5:
            bound = self.name("nb")
            self.scalars[bound] = count
            self.params.append(bound)
        else:
            bound = str(count)
        how = self.rng.choice(("+", "max", "min", "rescale"))
        start = self.constant(shape, dt) if self.rng.random() < 0.7 else self.expr(shape, dt, 1)
        if how == "max" and dt != "i32" and self.rng.random() < 0.5:
            start = Node(f"tile.neg_inf({shape}, {TILE_NAME[dt]})", shape, dt, -math.inf,
                         -math.inf, lambda env: np.full(shape, -np.inf, STORAGE[dt]))
        if how == "rescale" and dt == "i32":
            how = "+"
        self.program.emit(f"acc = {start.src}", ("set", "acc", tracked(start.ev)))
        self.program.emit(f"for kb in range({bound}):")
        body: list = []
        self.program.stack.append(body)
        self.program.indent += 1
        self.extent["kb"] = count
        values_before = list(self.values)
        step = self.expr(shape, dt, self.rng.randint(1, 3))
        if how == "+":
            lo, hi = start.lo + count * min(step.lo, 0), start.hi + count * max(step.hi, 0)
            if max(abs(lo), abs(hi)) > LIMIT[dt]:
                how = "max"
        if how == "rescale":
            lo, hi = min(start.lo, 0) + 2 * min(step.lo, 0), max(start.hi, 0) + 2 * max(step.hi, 0)
        elif how != "+":
            finite = [v for v in (start.lo, start.hi) if math.isfinite(v)]
            lo, hi = min(finite + [step.lo]), max(finite + [step.hi])
        acc = Node("acc", shape, dt, lo, hi, lambda env: env["acc"])
        if how == "rescale":
            half = Node("0.5", (), dt, 0.5, 0.5, lambda env: np.float32(0.5))
            updated = self.combine("+", self.combine("*", acc, half), step)
        else:
            updated = self.combine(how, acc, step)
        self.program.emit(f"acc = {updated.src}", ("set", "acc", tracked(updated.ev)))
        self.program.indent -= 1
        self.program.stack.pop()
        self.program.body.append(("loop", "kb", count, body))
        del self.extent["kb"]
        self.values = values_before
        return acc

    def store(self, node: Node, out_dt: str, indices, block_names=None) -> str:
        """Stores `node` (a named value) at block `indices` (offsets spelled with the
        constexprs `block_names` when given); returns the output's name."""
        out = self.name("out")
        shape = node.shape
        extents = [self.ragged(self.extent[i] * n, n) for i, n in zip(indices, shape)]
        value = node.src if out_dt == node.dt else f"{node.src}.to({TILE_NAME[out_dt]})"
        starts = ", ".join(self.offset(i, n) for i, n in zip(indices, block_names or shape))
        limit = None
        if len(shape) == 2 or self.rng.random() < 0.3:
            self.program.lines.append(f"    tile.store({out}, ({starts},), {value})"
                                      if len(shape) == 1 else
                                      f"    tile.store({out}, ({starts}), {value})")
        else:
            limit = extents[0]
            extents[0] += self.rng.choice((0, 0, 2))  # elements past the bound stay poisoned
            bound = self.name("n")
            self.scalars[bound] = limit
            self.params.append(bound)
            self.program.lines.append(f"    tile.store({out}, {starts}, {value}, bound={bound})")
        self.arrays[out] = poisoned(extents, out_dt)
        self.outputs.append(out)
        self.params.append(out)

        def write(env, outputs):
            starts = [self.index_value(env, i) * n for i, n in zip(indices, shape)]
            write_window(outputs[out], starts, rounded(out_dt, f32(node.ev(env)) if out_dt != "i32"
                                                       else node.ev(env)), limit)
        self.program.body.append(("store", write))
        self.touch(out_dt) if node.dt != out_dt else None
        return out

    def build(self) -> tuple:
        rng = self.rng
        dt = rng.choices(("f32", "f16", "bf16", "i32"), (55, 15, 15, 15))[0]
        shape = self.pick_dims(2 if rng.random() < 0.6 else 1)
        self.program.emit("pid0 = tile.program_id(0)")
        if len(self.grid) == 2:
            self.program.emit("pid1 = tile.program_id(1)")
            self.program.emit("prog = pid0 + pid1 * tile.num_programs(0)")
        else:
            self.program.emit("prog = pid0")
        depth = rng.randint(1, 4)
        if rng.random() < 0.4:
            acc = self.loop(shape, dt)
            rest = self.expr(shape, dt, depth - 1)
            main = self.combine(rng.choice(("+", "-", "max", "*")), acc, rest)
        else:
            main = self.expr(shape, dt, depth)
        main = self.materialize(main)
        out_dt = dt if dt == "i32" or rng.random() < 0.6 else rng.choice(("f32", "f16", "bf16"))
        if out_dt != dt:
            main = self.materialize(self.clamp(main, LIMIT[out_dt]))
        if len(shape) == 2:
            where = ("pid0", "pid1") if len(self.grid) == 2 else rng.choice(
                (("prog", "0"), ("0", "prog")))
        else:
            where = ("prog",)
        self.store(main, out_dt, where, ("R", "C") if len(shape) == 2 else ("N",))
        if rng.random() < 0.6:  # a second, 1-D output: a reduction of the first or one element
            if len(shape) == 2 and rng.random() < 0.6:
                axis = rng.randrange(2)
                kind = rng.choice(("max", "min") if main.magnitude * shape[axis] > LIMIT[dt]
                                  else ("sum", "max", "min"))
                fn = {"sum": lambda v: rounded(dt, f32(v).astype(np.float64).sum(axis=axis)),
                      "max": lambda v: np.max(v, axis=axis), "min": lambda v: np.min(v, axis=axis)}
                second = Node(f"tile.{kind}({main.src}, {axis})", (shape[1 - axis],), dt, 0, 0,
                              (lambda f: lambda env: f(main.ev(env)))(fn[kind]))
            else:
                second = self.expr((1,), dt, rng.randint(1, 3))
            self.store(self.materialize(second, reusable=False), dt, ("prog",))
        return dt, shape


def tree_case(index: int, rng: random.Random) -> Case:
    gen = TreeKernel(rng, index)
    dt, shape = gen.build()
    name = f"tree_{index}"
    constexprs = dict(zip(("R", "C"), shape)) if len(shape) == 2 else {"N": shape[0]}
    signature = ", ".join(gen.params + [f"{k}: tile.constexpr" for k in constexprs])
    source = f"import tile\n\n\n@tile.jit\ndef {name}({signature}):\n" + \
        "\n".join(gen.program.lines) + "\n"
    cached = {}

    def reference():
        if not cached:
            outputs = {o: gen.arrays[o].copy() for o in gen.outputs}
            scale = 1.0
            for pid1 in range(gen.grid[1] if len(gen.grid) == 2 else 1):
                for pid0 in range(gen.grid[0]):
                    env = {"pid0": pid0, "pid1": pid1, "prog": pid0 + pid1 * gen.grid[0],
                           "__scale": 0.0}
                    gen.program.run(gen.program.body, env, outputs)
                    scale = max(scale, env["__scale"])
            cached.update(outputs=outputs, scales={o: scale for o in outputs})
        return cached["outputs"], cached["scales"]
    tolerance = {o: tolerance_of(gen.arrays[o].dtype, gen.eps_dt, gen.approx)
                 for o in gen.outputs}
    return Case(index, "tree", name, source, gen.grid, gen.params, gen.arrays, gen.scalars,
                gen.outputs, constexprs, gen.num_warps, tolerance, reference)


def tolerance_of(np_dtype, eps_dt: str, approx: bool) -> tuple:
    dt = next(d for d, s in STORAGE.items() if np.dtype(s) == np_dtype)
    return tolerance(dt, eps_dt, approx)
