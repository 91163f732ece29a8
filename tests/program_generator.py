"""A random generator of small differentiable Python programs, for tests/test_random_programs.py
and the offline fuzz harness tests/fuzz.py.

Two families. `generate_array(chooser, mix)` writes array programs `f(x, [W,] c, n)` over NumPy
arrays (float64, float32 or float16) with the constructs outside code found holes with, each behind
its own probability in `mix` (see the comment above ARRAY_MIX, further down). `make_program(seed,
mix)` picks the family from the seed. The rest of this docstring is about the scalar family.

`generate(chooser)` returns a `Program`: the text of a module defining `f(x, y, n)` (x, y floats,
n a small int) and up to two helpers it calls. Every choice goes through `chooser`: a
`RandomChooser` (a seeded `random.Random`; `seeded_programs()` draws the seed from hypothesis) or
a `DrawChooser` (hypothesis draws each choice; `programs()`, which shrinks a failure towards the
first alternative of every choice: fewer statements, plain variables, no nesting).

f uses x, y and one or two locals, plus `t1, t2, ...` bound mid-block (in a loop, afresh in each
iteration), with 4-12 statements nested at most two deep: assignments of many shapes (augmented,
tuple swaps and rotations, copies, resets to constants, helper calls with keyword arguments),
if/elif/else, `for` over `range(n)` or `range(K)`, `while` loops, break, continue, and returns
anywhere. Helpers `h0(u, k=...)`, `h1(u, v, k=...)` have short bodies of their own and may call
the helpers before them.

The programs stay inside the language s2sgrad differentiates and are built to stay well
conditioned for central differences:
- every assignment squashes its new value (sin/cos/tanh, a contraction such as
  `0.5 * v + 0.5 * tanh(...)`, or a bounded increment), so variables stay within a few units;
- `math.exp` only sees a sine, `sqrt`/`log` only `1 + e * e`, divisions only `/ (1 + e * e)`,
  `**` only small integer exponents or a positive base;
- every loop terminates: `for` loops run over `range(n)` or `range(K)` with K <= 3, and a
  `while` loop also tests a counter incremented as the first statement of its body;
- every path ends in a `return`; nothing follows a return, break or continue in the same block
  (code after an if whose branches all return is unreachable, but valid).

Example:
    >>> print(generate(RandomChooser(7)).text)
"""

import random
from dataclasses import dataclass

from hypothesis import strategies as st

CONSTANTS = ("0.5", "1.5", "(-0.7)", "0.3", "2.0", "0.25", "(-1.2)", "0.8", "1.0", "(-0.4)")
SQUASH = ("math.tanh", "math.sin", "math.cos")
SMALL = ("0.5", "0.3", "0.25", "0.8", "(-0.4)", "(-0.6)")   # coefficients below 1 in size


class DrawChooser:
    """Choices drawn by hypothesis (shrinking moves every choice towards its first alternative)."""

    def __init__(self, draw):
        self.draw = draw

    def randint(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def choice(self, seq):
        return seq[self.randint(0, len(seq) - 1)]

    def chance(self, p):
        """True with probability about p (in steps of 0.05); shrinks to False. (A narrow range:
        hypothesis draws integers from wide ranges with a strong bias towards small values.)"""
        return self.randint(0, 19) >= round(20 * (1 - p))


class RandomChooser:
    """Choices from a seeded `random.Random`."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)

    def randint(self, lo, hi):
        return self.rng.randint(lo, hi)

    def choice(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def chance(self, p):
        return self.rng.random() < p


class Signature:
    """A `def` line, with and without parameter annotations."""

    def __init__(self, plain, annotated):
        self.plain, self.annotated = plain, annotated


SCALAR_PARAMS = (("x", ("float",)), ("y", ("float",)), ("n", ("int",)))


@dataclass(frozen=True)
class Program:
    """A generated module. `text` is what the tests differentiate; `annotated` is the same module
    with `float`/`int` annotations on every parameter, for `s2sgrad.source`, whose generic code
    trusts annotations (unannotated parameters may be arrays, and augmented assignments to them
    are refused there by design). `seed` rebuilds it: `generate(RandomChooser(seed))` (family
    "scalar") or `generate_array(RandomChooser(seed), mix)` (family "array").

    `params` describes f's parameters, in order: (name, ("float",) | ("int",) | ("array", shape));
    `wrt` names those differentiated; `dtype` is the floating type the inputs are given in
    ("float64", "float32", "float16"); `constructs` lists the constructs the program uses (each line
    using one also names it in a trailing `# [...]` comment)."""

    text: str
    annotated: str
    seed: object = None
    family: str = "scalar"
    params: tuple = SCALAR_PARAMS
    wrt: tuple = ("x", "y")
    dtype: str = "float64"
    constructs: frozenset = frozenset()

    def __repr__(self):
        return f"Program(seed={self.seed!r}, text=<<<\n{self.text}>>>)"


class Scope:
    """What a block may use: float variables, targets, loop variables, helpers, loop nesting."""

    def __init__(self, fvars, targets, helpers, max_depth, allow_while=True):
        self.fvars = list(fvars)       # float variables, all bound at every point of the body
        self.targets = list(targets)   # those that may be assigned
        self.ivars = []                # enclosing loop variables (ints)
        self.helpers = list(helpers)   # (name, required params, optional params) callable here
        self.max_depth = max_depth
        self.in_loop = False
        self.allow_while = allow_while
        self.has_n = "x" in fvars      # f's body may loop over range(n); helpers have no n

    def nested(self, loop_var=None, loop=False):
        inner = Scope(self.fvars, self.targets, self.helpers, self.max_depth, self.allow_while)
        inner.ivars = self.ivars + ([loop_var] if loop_var else [])
        inner.in_loop = self.in_loop or loop
        inner.has_n = self.has_n
        return inner


# How often each kind of statement is chosen where it is allowed.
WEIGHTS = {"assign": 6, "let": 1, "if": 2, "for": 2, "while": 2, "return-if": 1, "jump-if": 2, "return": 1, "jump": 1}


class Generator:
    def __init__(self, chooser, weights=None):
        self.ch = chooser
        self.weights = dict(WEIGHTS, **(weights or {}))
        self.counter_names = 0
        self.temps = 0

    # ----------------------------------------------------------------------------- expressions

    def atom(self, scope):
        r = self.ch.randint(0, 11)
        if r <= 7 or (r >= 10 and not scope.ivars):
            return self.ch.choice(scope.fvars)
        if r <= 9:
            return self.ch.choice(CONSTANTS)
        iv = self.ch.choice(scope.ivars)
        return self.ch.choice((f"(0.25 * {iv})", f"({iv} * {self.ch.choice(scope.fvars)})"))

    def squashed(self, scope, depth):
        return f"{self.ch.choice(SQUASH)}({self.expr(scope, depth)})"

    def expr(self, scope, depth):
        """A float expression of bounded size (a few tens at most) made of up to `depth` levels."""
        ch = self.ch
        if depth <= 0:
            return self.atom(scope)
        kind = ch.randint(0, 19)
        e = lambda: self.expr(scope, depth - 1)  # noqa: E731
        if kind == 0:
            return self.atom(scope)
        if kind == 1:
            return f"({e()} + {e()})"
        if kind == 2:
            return f"({e()} - {e()})"
        if kind == 3:
            return f"({ch.choice(CONSTANTS)} * {e()})"
        if kind == 4:
            factor = lambda: self.atom(scope) if ch.chance(0.6) else self.squashed(scope, depth - 1)  # noqa: E731
            return f"({factor()} * {factor()})"
        if kind == 5:
            d = e()
            return f"({e()} / (1.0 + {d} * {d}))"
        if kind == 6:
            return f"(-{e()})"
        if kind in (7, 8):
            return self.squashed(scope, depth - 1)
        if kind == 9:
            return f"math.exp(math.sin({e()}))"
        if kind == 10:
            a = self.atom(scope)
            return ch.choice((f"math.sqrt(1.0 + {a} * {a})", f"math.log(1.0 + {a} * {a})"))
        if kind == 11:
            return f"abs({e()})"
        if kind == 12:
            return f"{ch.choice(('min', 'max'))}({e()}, {e()})"
        if kind == 13:
            base = self.atom(scope) if ch.chance(0.5) else self.squashed(scope, depth - 1)
            power = "2" if base in CONSTANTS or ch.chance(0.5) else "3"
            if power == "3" and not base.startswith("math."):
                base = f"math.tanh({base})"
            return f"({base} ** {power})"
        if kind == 14:
            a = self.atom(scope)
            return ch.choice((f"((1.0 + {a} * {a}) ** 0.5)",
                              f"((1.5 + math.sin({e()})) ** math.tanh({e()}))",
                              f"(2.0 ** math.sin({e()}))"))
        if kind == 15:
            return f"({e()} if {self.cond(scope, depth - 1)} else {e()})"
        if kind in (16, 17) and scope.helpers:
            return self.call(scope, depth - 1)
        return f"({ch.choice(SMALL)} * {e()})"

    def call(self, scope, depth):
        name, required, optional = self.ch.choice(scope.helpers)
        args, keyword_only = [], False
        for p in required:
            if self.ch.chance(0.2):
                keyword_only = True
            value = self.expr(scope, depth)
            args.append(f"{p}={value}" if keyword_only else value)
        for p in optional:
            how = self.ch.randint(0, 2)   # 0: default, 1: keyword, 2: positional
            if how == 0:
                keyword_only = True
                continue
            value = self.ch.choice((self.squashed(scope, depth), self.ch.choice(SMALL)))
            args.append(value if how == 2 and not keyword_only else f"{p}={value}")
        return f"{name}({', '.join(args)})"

    def cond(self, scope, depth, compound=True):
        ch = self.ch
        kind = ch.randint(0, 8)
        if kind == 0 or kind >= 7:
            return f"{self.expr(scope, depth)} > {self.expr(scope, depth)}"
        if kind == 1:
            return f"{self.expr(scope, depth)} < {ch.choice(CONSTANTS)}"
        if kind == 2:
            op = ch.choice((">=", "<=", ">", "<"))
            return f"{self.squashed(scope, depth)} {op} {ch.choice(SMALL)}"
        if kind == 3 and scope.has_n and ch.chance(0.3):
            return f"{self.expr(scope, depth)} < 0.5 * n"
        if kind == 3 and scope.ivars:
            iv = ch.choice(scope.ivars)
            test = ch.choice((f"{iv} > 1", f"{iv} == 0", f"{iv} < 2", f"{iv} != 1"))
            if compound and ch.chance(0.6):
                return f"{self.cond(scope, depth, False)} and {test}"
            return test
        if kind in (4, 5) and compound:
            op = " and " if kind == 4 else " or "
            return f"{self.cond(scope, depth, False)}{op}{self.cond(scope, depth, False)}"
        if kind == 6 and compound:
            return f"not ({self.cond(scope, depth, False)})"
        return f"{self.expr(scope, depth)} > {self.expr(scope, depth)}"

    # ------------------------------------------------------------------------------ statements

    def assignment(self, scope, edepth=2):
        """One assignment keeping its target bounded. Returns a list of lines."""
        ch = self.ch
        v = ch.choice(scope.targets)
        e = lambda: self.expr(scope, edepth)  # noqa: E731
        sq = lambda: self.squashed(scope, edepth)  # noqa: E731
        kind = ch.randint(0, 17)
        if kind == 17:
            kind = 13      # resets twice as often: accumulators start from constants
        if kind == 0:
            return [f"{v} = {sq()}"]
        if kind == 1:
            return [f"{v} = {ch.choice(SMALL)} * {v} + 0.5 * {sq()}"]
        if kind == 2:
            return [f"{v} += {ch.choice(SMALL)} * {sq()}"]
        if kind == 3:
            return [f"{v} -= {ch.choice(SMALL)} * {sq()}"]
        if kind == 4:
            return [f"{v} *= 0.6 + 0.3 * {sq()}"]
        if kind == 5:
            a = self.atom(scope)
            return [f"{v} /= 1.0 + {a} * {a}"]
        if kind == 6 and len(scope.targets) >= 2:
            w = ch.choice([t for t in scope.targets if t != v])
            rhs = ch.choice((f"{w}, {v}", f"{w}, {sq()}", f"0.5 * {w} + 0.5 * {sq()}, {sq()}"))
            return [f"{v}, {w} = {rhs}"]
        if kind == 7:
            return [f"{v} = {sq()} if {self.cond(scope, 1)} else {ch.choice(SMALL)} * {v}"]
        if kind == 8 and scope.helpers:
            return [f"{v} = math.tanh({self.call(scope, 1)})"]
        if kind == 9:
            return [f"{v} = {ch.choice(('min', 'max'))}({v}, {sq()})"]
        if kind == 10:
            return [f"{v} = {ch.choice(('math.sqrt(1.0 + {0} * {0}) - 1.0', 'math.log(1.0 + {0} * {0})', 'abs({0})')).format(v)}"]
        if kind == 11:
            return [f"{v} = ({sq()}) ** 2 + {ch.choice(SMALL)} * {v}"]
        if kind == 12:
            d = e()
            return [f"{v} = {e()} / (1.0 + {d} * {d})"]
        if kind == 13:   # a reset to a value that carries no derivative (an accumulator's start)
            resets = list(CONSTANTS[:4]) + [f"0.25 * {i}" for i in scope.ivars + (["n"] if scope.has_n else [])]
            return [f"{v} = {ch.choice(resets)}"]
        if kind == 14 and scope.helpers:
            return [f"{v} = {self.call(scope, 1)}"]
        if kind == 15 and len(scope.targets) >= 2:
            w = ch.choice([t for t in scope.targets if t != v])
            others = [t for t in scope.targets if t not in (v, w)]
            if others and ch.chance(0.3):
                u = ch.choice(others)
                return [f"{v}, {w}, {u} = {w}, {u}, {v}"]
            return [f"{v} = {ch.choice(('{0}', '-{0}', '{0} + 0.5', '0.5 * {0}')).format(w)}"]
        return [f"{v} = {ch.choice(SMALL)} * {v} + {ch.choice(SMALL)} * {sq()}"]

    def block(self, scope, depth, budget, must_return=False):
        """A block of at most `budget` statements (at least one). Returns (lines, statements used).

        `depth` counts the compound statements around the block. With `must_return`, the block ends
        in a return (the body of f or of a helper)."""
        lines, used = [], 0
        while used < budget:
            remaining = budget - used
            if must_return and remaining == 1:
                break
            stmt_lines, n, terminal = self.statement(scope, depth, remaining - (1 if must_return else 0))
            lines += stmt_lines
            used += n
            if terminal:
                return lines, used
            if not self.ch.chance(0.8) and not must_return and used >= 1:
                break
        if must_return:
            lines += self.final_return(scope, depth)
            used += 1
        return lines, used

    def final_return(self, scope, depth):
        ch = self.ch
        if depth < scope.max_depth and ch.chance(0.2):
            out = [f"if {self.cond(scope, 1)}:", f"    return {self.expr(scope, 2)}"]
            if ch.chance(0.5):
                out += [f"elif {self.cond(scope, 1)}:", f"    return {self.expr(scope, 2)}"]
            return out + ["else:", f"    return {self.expr(scope, 2)}"]
        return [f"return {self.expr(scope, 2)}"]

    def statement(self, scope, depth, budget):
        """(lines, statements used, ends the block)."""
        ch = self.ch
        w = self.weights
        kinds = ["assign"] * w["assign"] + ["let"] * w["let"]
        if depth < scope.max_depth and budget >= 2:
            kinds += ["if"] * w["if"] + ["for"] * w["for"] + ["return-if"] * w["return-if"]
            if scope.allow_while and budget >= 3:
                kinds += ["while"] * w["while"]
            if scope.in_loop:
                kinds += ["jump-if"] * w["jump-if"]
        if depth > 0:
            kinds += ["return"] * w["return"]
            if scope.in_loop:
                kinds += ["jump"] * w["jump"]
        kind = ch.choice(kinds)
        indent = lambda ls: ["    " + line for line in ls]  # noqa: E731

        if kind == "return":
            if ch.chance(0.5):   # a return right at the start of a block is fine but rare
                return [f"return {self.expr(scope, 2)}"], 1, True
            kind = "assign"
        if kind == "jump":
            if ch.chance(0.5):
                return [ch.choice(("break", "continue"))], 1, True
            kind = "assign"
        if kind == "assign":
            return self.assignment(scope), 1, False
        if kind == "let":
            # a new variable, first bound here (inside a loop: bound afresh in each iteration);
            # later statements of this block, and blocks inside it, may read and update it
            self.temps += 1
            t = f"t{self.temps}"
            line = f"{t} = {self.squashed(scope, 2)}"
            scope.fvars.append(t)
            scope.targets.append(t)
            return [line], 1, False
        if kind == "return-if":
            return [f"if {self.cond(scope, 1)}:", f"    return {self.expr(scope, 2)}"], 2, False
        if kind == "jump-if":
            jump = ch.choice(("break", "continue"))
            body, n = ([], 0)
            if budget >= 3 and ch.chance(0.4):
                body, n = self.assignment(scope.nested()), 1
            return [f"if {self.cond(scope, 1)}:"] + indent(body + [jump]), 2 + n, False
        if kind == "if":
            body, n = self.block(scope.nested(), depth + 1, max(1, min(budget - 1, 4)))
            lines, used = [f"if {self.cond(scope, 1)}:"] + indent(body), 1 + n
            if used < budget and ch.chance(0.4):
                body, n = self.block(scope.nested(), depth + 1, max(1, min(budget - used, 3)))
                lines += [f"elif {self.cond(scope, 1)}:"] + indent(body)
                used += n
            if used < budget and ch.chance(0.6):
                body, n = self.block(scope.nested(), depth + 1, max(1, min(budget - used, 3)))
                lines += ["else:"] + indent(body)
                used += n
            return lines, used, False
        if kind == "for":
            taken = scope.ivars
            var = next(v for v in ("i", "j", "m") if v not in taken)
            bound = ch.choice(("n", "2", "3", "n", "1") if scope.has_n else ("2", "3", "1"))
            inner = scope.nested(var, loop=True)
            body, n = self.block(inner, depth + 1, max(1, min(budget - 1, 4)))
            return [f"for {var} in range({bound}):"] + indent(body), 1 + n, False
        if kind == "while":
            self.counter_names += 1
            k = f"k{self.counter_names}"
            limit = ch.choice(("3", "2", "4", "1"))
            inner = scope.nested(None, loop=True)
            inner.ivars = inner.ivars + [k]
            body, n = self.block(inner, depth + 1, max(1, min(budget - 3, 4)))
            test = self.cond(scope, 1, compound=False)
            head = ch.choice((f"while {test} and {k} < {limit}:", f"while {k} < {limit} and {test}:"))
            return [f"{k} = 0", head, f"    {k} += 1"] + indent(body), 3 + n, False
        raise AssertionError(kind)

    # --------------------------------------------------------------------------------- modules

    def helper(self, index, callable_helpers):
        required = ["u"] if self.ch.chance(0.5) else ["u", "v"]
        optional = ["k"]
        default = self.ch.choice(("2.0", "0.5", "(-0.7)", "1.5"))
        fvars = required + optional + ["w"]
        scope = Scope(fvars, ["w", "u", "k"], callable_helpers, max_depth=1, allow_while=False)
        budget = self.ch.randint(1, 4)
        body, _ = self.block(scope, 0, budget, must_return=True)
        name = f"h{index}"
        plain = ", ".join(required + [f"k={default}"])
        annotated = ", ".join([f"{p}: float" for p in required] + [f"k: float = {default}"])
        init_scope = Scope(required + optional, [], callable_helpers, max_depth=1)
        lines = [Signature(f"def {name}({plain}):", f"def {name}({annotated}):"),
                 f"    w = {self.squashed(init_scope, 1)}"]
        lines += ["    " + line for line in body]
        return lines, (name, required, optional)

    def module(self):
        lines = ["import math", ""]
        helpers = []
        for index in range(self.ch.choice((0, 1, 1, 2))):
            helper_lines, sig = self.helper(index, helpers)
            lines += ["", *helper_lines, ""]
            helpers.append(sig)
        locals_ = ["a"] if self.ch.chance(0.5) else ["a", "b"]
        fvars = ["x", "y"] + locals_
        init_scope = Scope(["x", "y"], [], helpers, max_depth=2)
        init = [f"{v} = {self.squashed(init_scope, 2)}" for v in locals_]
        scope = Scope(fvars, locals_ * 2 + ["x", "y"], helpers, max_depth=2)
        budget = self.ch.randint(4, 12) - len(init)
        body, _ = self.block(scope, 0, max(2, budget), must_return=True)
        lines += ["", Signature("def f(x, y, n):", "def f(x: float, y: float, n: int):")]
        lines += ["    " + line for line in init + body]
        text = "\n".join(getattr(line, "plain", line) for line in lines) + "\n"
        annotated = "\n".join(getattr(line, "annotated", line) for line in lines) + "\n"
        return Program(text, annotated, getattr(self.ch, "seed", None),
                       constructs=frozenset(["helpers"] if helpers else []))


def generate(chooser, weights=None):
    """A `Program` defining f(x, y, n) and the helpers it calls."""
    return Generator(chooser, weights).module()


def seeded_programs():
    """Programs from seeded `random.Random` choices: every example a fresh, independent program
    (hypothesis's own draws repeat and favour small choices: fewer distinct programs per run)."""
    return st.integers(0, 2**32 - 1).map(lambda seed: generate(RandomChooser(seed)))


@st.composite
def programs(draw, weights=None):
    """Programs from hypothesis draws: slower to explore, but a failure shrinks (every choice
    towards its first alternative)."""
    return generate(DrawChooser(draw), weights)


# ===================================================================================== array programs
#
# `generate_array(chooser, mix)` writes `f(x, [W,] c, n)`: x a float64 array of shape (3,) or (2, 3)
# (or a float), W an optional weight of shape (3, 2) (or x's shape, or (3,) next to a scalar x), c a
# float, n a small int; f differentiated with respect to x, W and c. The generator tracks the
# concrete shape of every variable, so every expression is well formed: elementwise NumPy functions,
# broadcasting with scalars and rows, reductions with `axis`, `@` / `np.dot`, indexing reads, writes
# into a local copy, np.where; and, each behind its own probability in `mix` (see ARRAY_MIX), the
# constructs outside code found holes with: float32/float16 inputs, helpers calling helpers, helpers
# with side effects or random draws, values overwritten after a partial that may be NaN, augmented
# assignments to floats, no-op self-assignments, closures, lambdas, function values, factories,
# subscripts of non-arrays (a dict of constants, np.r_), decorated helpers, writes into a parameter.
#
# The same conditioning rules as the scalar programs hold (every assignment squashes its value, exp
# only sees a sine, sqrt/log only 1 + e * e, divisions only by 1 + e * e), except in the one place a
# NaN is wanted (`nan-overwrite`), whose value is always overwritten on the path taken.

POLY = "U"      # the shape of a helper's array parameter: any shape (helper bodies are elementwise)

# The chance that a program uses each construct at all (it then appears at a few places; each line
# using it names it in a `# [...]` comment). "scalar-family" is the share of `make_program` programs
# written by the scalar generator above. Constructs s2sgrad refuses today (closures, lambdas, function
# values, factories, np.r_, decorated helpers) are kept rare so the refusal rate means something.
ARRAY_MIX = {
    "scalar-family": 0.2,
    # inputs
    "scalar-x": 0.15, "matrix-x": 0.45, "weight": 0.55, "float32": 0.12, "float16": 0.06,
    # expressions
    "broadcast": 0.6, "reduction": 0.8, "matmul": 0.5, "index-read": 0.7, "where": 0.3,
    # statements
    "index-write": 0.35, "aug-array": 0.3, "aug-float": 0.3, "noop-assign": 0.05, "nan-overwrite": 0.15,
    "for-rows": 0.12, "random-in-f": 0.04, "param-write": 0.02,
    # helpers
    "helpers": 0.55, "helper-depth": 0.4, "side-effect": 0.15, "helper-random": 0.12,
    "decorated-helper": 0.012,
    # refused (or silently wrong) today
    "closure": 0.012, "lambda": 0.012, "function-value": 0.015, "factory": 0.01, "dict-subscript": 0.015,
    "np-r": 0.01,
    # more of NumPy and of the language
    "numpy-extra": 0.5, "tuple-helper": 0.12, "while": 0.2,
}

# Where a program uses an expression construct, the chance that an expression node is one.
INTENSITY = {"numpy-extra": 0.12, "broadcast": 0.4, "reduction": 0.12, "matmul": 0.1, "index-read": 0.35, "where": 0.12,
             "function-value": 0.12, "factory": 0.12, "dict-subscript": 0.2, "np-r": 0.12, "lambda": 0.1,
             "index-write": 0.25, "aug-array": 0.3, "aug-float": 0.3}

# Constructs a program can always be made to use once, in an expression (the return line).
EXPRESSION_CONSTRUCTS = ("where", "matmul", "numpy-extra", "function-value", "factory", "dict-subscript", "np-r")
# Constructs written as a few statements, placed once at a random point of f's body.
COMPOUNDS = ("index-write", "noop-assign", "nan-overwrite", "closure", "lambda", "function-value",
             "random-in-f", "param-write", "aug-float", "aug-array")
# Constructs that are properties of the whole program or of its helpers.
PROGRAM_CONSTRUCTS = ("scalar-x", "matrix-x", "weight", "float32", "float16", "helpers", "helper-depth",
                      "side-effect", "helper-random", "decorated-helper", "for-rows", "tuple-helper", "while")

NP_SQUASH = ("np.tanh", "np.sin", "np.cos")

MODULE_DEFINITIONS = {     # module-level text a construct needs, in the order written
    "side-effect": ["CALLS = []   # each helper with a side effect appends to it once per call"],
    "dict-subscript": ['CONST = {"a": 0.5, "b": -0.7, "s": 1.5}', "COEF = (0.3, 0.8)"],
    "function-value": ["FUNCS = (np.tanh, np.sin, np.cos)", "", "",
                       "def apply(g, u):", "    return 0.5 * g(u) + 0.25 * u"],
    "lambda": ["SCALE = lambda u: 0.5 * np.tanh(u)  # [lambda]"],
    "factory-lambda": ["def make(a):", "    return lambda u: np.tanh(u) * a  # [factory]"],
    "factory-def": ["def make(a):", "    def inner(u):", "        return np.tanh(u * a)",
                    "    return inner  # [factory]"],
    "doubling": ["def decorate(fn):", "    @functools.wraps(fn)", "    def wrapper(*args, **kwargs):",
                 "        return 2.0 * fn(*args, **kwargs)", "    return wrapper"],
    "transparent": ["def decorate(fn):", "    @functools.wraps(fn)", "    def wrapper(*args, **kwargs):",
                    "        return fn(*args, **kwargs)", "    return wrapper"],
}


def _is_array(shape):
    return shape == POLY or len(shape) > 0


class ArrayScope:
    """What a block of an array program may use: variables and their shapes (all bound at every point),
    assignable targets, the arrays the function made itself (`own`: writes and in-place updates are safe
    there), float variables, loop variables with their constant bound (None for range(n)), helpers."""

    def __init__(self, shapes, targets, helpers, pool, max_depth, in_f=True):
        self.shapes = dict(shapes)
        self.targets = list(targets)
        self.helpers = list(helpers)
        self.pool = list(pool)         # the shapes expressions may have here
        self.max_depth = max_depth
        self.in_f = in_f               # f's body (has n); else a helper's
        self.own, self.floats = set(), set()
        self.ivars = []
        self.in_loop = False
        self.written_params = set()    # parameters written into (never iterated over)
        self.pair = False              # a helper returning (value, float)

    def nested(self, loop_var=None, bound=None, loop=False):
        inner = ArrayScope(self.shapes, self.targets, self.helpers, self.pool, self.max_depth, self.in_f)
        inner.own, inner.floats = set(self.own), set(self.floats)
        inner.ivars = self.ivars + ([(loop_var, bound)] if loop_var else [])
        inner.in_loop = self.in_loop or loop
        inner.written_params = self.written_params
        inner.pair = self.pair
        return inner

    def bind(self, name, shape, target=True):
        """A new variable made by the function (a fresh array, or a float)."""
        self.shapes[name] = shape
        if target:
            self.targets.append(name)
        if shape == ():
            self.floats.add(name)
        else:
            self.own.add(name)

    def names(self, shape):
        return [n for n, s in self.shapes.items() if s == shape]


class ArrayGenerator:
    """Writes one array program; see the comment above ARRAY_MIX."""

    def __init__(self, chooser, mix=None):
        self.ch = chooser
        unknown = set(mix or {}) - set(ARRAY_MIX)
        if unknown:
            raise ValueError(f"unknown constructs in mix: {sorted(unknown)}; known: {sorted(ARRAY_MIX)}")
        self.mix = dict(ARRAY_MIX, **(mix or {}))
        self.features = set()     # constructs this program may use
        self.used = set()         # constructs it does use
        self.tags = set()         # constructs on the line being written
        self.definitions = []     # keys of MODULE_DEFINITIONS needed
        self.temps = 0
        self.pending = []         # compounds still to place in f's body

    # ------------------------------------------------------------------------------- bookkeeping

    def has(self, construct, chance=None):
        """Whether to use `construct` here: the program has it, and a roll of its intensity."""
        if construct not in self.features:
            return False
        return self.ch.chance(INTENSITY.get(construct, 1.0) if chance is None else chance)

    def use(self, construct, definition=None):
        self.used.add(construct)
        self.tags.add(construct)
        if definition and definition not in self.definitions:
            self.definitions.append(definition)

    def line(self, text):
        """`text`, naming in a trailing comment the constructs used since the last line."""
        tags, self.tags = self.tags, set()
        return f"{text}  # [{', '.join(sorted(tags))}]" if tags else text

    def fresh(self, prefix="t"):
        self.temps += 1
        return f"{prefix}{self.temps}"

    def pick(self, options):
        """One of [(weight, value), ...]; shrinks towards the first."""
        total = sum(w for w, _ in options)
        r = self.ch.randint(0, total - 1)
        for w, value in options:
            if r < w:
                return value
            r -= w
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------------------- expressions

    def const(self):
        if self.has("dict-subscript"):
            self.use("dict-subscript", "dict-subscript")
            return self.ch.choice(('CONST["a"]', 'CONST["b"]', "COEF[1]", 'CONST["s"]'))
        return self.ch.choice(CONSTANTS)

    def derived(self, scope, name, have, want):
        """Ways to get an expression of shape `want` from the variable `name` of shape `have` in one
        step: [(weight, thunk)], each thunk recording the construct it uses."""
        out = []

        def via(construct, text, weight=1):
            def thunk():
                self.use(construct)
                return text
            out.append((weight, thunk))

        if have == POLY:
            if want == ():
                for fn in ("np.sum", "np.mean", "np.max"):
                    via("reduction", f"{fn}({name})")
            return out
        if want == () and len(have) >= 1:
            for fn in ("np.sum", "np.mean", "np.max", "np.min"):
                via("reduction", f"{fn}({name})")
            via("reduction", f"{name}.sum()")
            if len(have) == 1:
                via("index-read", f"{name}[{self.ch.choice(('0', '1', '-1'))}]", 2)
            else:
                a, b = have
                via("index-read", f"{name}[{self.ch.choice(('0', str(a - 1), '-1'))}, "
                                  f"{self.ch.choice(('0', str(b - 1), '-1'))}]", 2)
        if len(have) == 2:
            a, b = have
            if want == (b,):
                via("index-read", f"{name}[{self.ch.choice(('0', '-1', str(a - 1)))}]", 2)
                for fn in ("np.sum", "np.mean", "np.max"):
                    via("reduction", f"{fn}({name}, axis=0)")
                via("reduction", f"{name}.mean(axis=0)")
            if want == (a,):
                via("index-read", f"{name}[:, {self.ch.choice(('0', '-1', str(b - 1)))}]", 2)
                for fn, axis in (("np.sum", "1"), ("np.mean", "-1"), ("np.min", "1")):
                    via("reduction", f"{fn}({name}, axis={axis})")
            if want == (b, a) and a != b:
                via("index-read", self.ch.choice((f"{name}.T", f"np.transpose({name})")))
        if len(have) == 1 and want == (have[0] - 1,):
            via("index-read", f"{name}[{self.ch.choice(('1:', ':-1', ':2'))}]", 2)
        if len(have) >= 1:
            for iv, bound in scope.ivars:
                if bound is not None and bound <= have[0] and want == have[1:]:
                    via("index-read", f"{name}[{iv}]", 2)
        return out

    def atom(self, scope, shape):
        options = []
        for name, have in scope.shapes.items():
            if have == shape:
                options.append((6, lambda name=name: name))
        if shape == ():
            options.append((3, self.const))
        if not options or self.has("index-read") or self.has("reduction"):
            for name, have in scope.shapes.items():
                if have != shape:
                    options += self.derived(scope, name, have, shape)
        if not options or self.has("matmul", 0.05):
            options += [(2, thunk) for thunk in self.matmul_atoms(scope, shape)]
        if not options:
            raise AssertionError(f"generator mistake: nothing of shape {shape} in {scope.shapes}")
        return self.pick(options)()

    def matmul_atoms(self, scope, shape):
        pairs = []
        arrays = [(n, s) for n, s in scope.shapes.items() if s != POLY and len(s) >= 1]
        for u, su in arrays:
            for v, sv in arrays:
                if su[-1:] == sv[:1] and su[:-1] + sv[1:] == shape and len(su) + len(sv) <= 3 + (len(shape) == 2):
                    pairs.append((u, v))
        thunks = []
        for u, v in pairs:
            def thunk(u=u, v=v):
                self.use("matmul")
                return self.ch.choice((f"({u} @ {v})", f"np.dot({u}, {v})"))
            thunks.append(thunk)
        return thunks

    def partner(self, scope, shape):
        """A shape that broadcasts against `shape` without changing it."""
        if not _is_array(shape) or not self.has("broadcast"):
            return shape
        options = [()]
        if shape != POLY and len(shape) == 2 and shape[1:] in scope.pool:
            options.append(shape[1:])
        self.use("broadcast")
        return self.ch.choice(options)

    def squashed(self, scope, shape, depth):
        return f"{self.ch.choice(NP_SQUASH)}({self.expr(scope, shape, depth)})"

    def construct_expr(self, scope, construct, shape, depth):
        """An expression of `shape` that uses `construct`, or None where it cannot."""
        ch = self.ch
        e = lambda s=shape: self.expr(scope, s, depth)  # noqa: E731
        pool = [s for s in scope.pool if s != ()]
        if construct == "where" and _is_array(shape):
            self.use("where")
            mask = self.ch.choice((f"{e()} > {ch.choice(SMALL)}", f"{e()} < {e(self.partner(scope, shape))}"))
            other = e() if ch.chance(0.7) else ch.choice(("0.0", "0.5"))
            return f"np.where({mask}, {self.squashed(scope, shape, depth)}, {other})"
        if construct == "reduction":
            if shape == () and pool:
                self.use("reduction")
                fn = ch.choice(("np.sum", "np.mean", "np.max", "np.min"))
                return f"{fn}({e(ch.choice(pool))})"
            if shape != POLY and len(shape) == 1:
                axes = [(s, k) for s in pool if s != POLY and len(s) == 2 for k in (0, 1)
                        if s[:k] + s[k + 1:] == shape]
                if axes:
                    self.use("reduction")
                    source, axis = ch.choice(axes)
                    fn = ch.choice(("np.sum", "np.mean", "np.max"))
                    return f"{fn}({e(source)}, axis={ch.choice((axis, axis - 2))})"
            if shape != POLY and len(shape) == 2:
                self.use("reduction")
                axis = ch.choice((0, 1, -1))
                return f"({e()} * np.mean({e()}, axis={axis}, keepdims=True))"
            return None
        if construct == "matmul" and shape != POLY:
            options = []
            for a in pool:
                for b in pool:
                    if a != POLY and b != POLY and a[-1:] == b[:1] and a[:-1] + b[1:] == shape:
                        options.append((a, b))
            if not options:
                return None
            self.use("matmul")
            a, b = ch.choice(options)
            return ch.choice((f"({e(a)} @ {e(b)})", f"np.dot({e(a)}, {e(b)})"))
        if construct == "numpy-extra":
            return self.numpy_extra(scope, shape, depth)
        if construct == "function-value":
            singles = [h for h in scope.helpers if len(h[1]) == 1 and "tuple-helper" not in h[3]]
            kind = ch.randint(0, 2)
            if kind == 1 and singles and scope.in_f:
                self.use("function-value")
                a, b = ch.choice(singles)[0], ch.choice(singles)[0]
                return f"({a}, {b})[n % 2]({e()})"
            self.use("function-value", "function-value")
            if kind == 2:
                fn = ch.choice([h[0] for h in singles] + ["np.tanh", "np.sin"])
                return f"apply({fn}, {e()})"
            return f"FUNCS[{ch.randint(0, 2)}]({e()})"
        if construct == "factory":
            self.use("factory", ch.choice(("factory-lambda", "factory-def")) if not any(
                d.startswith("factory") for d in self.definitions) else None)
            factor = e(()) if ch.chance(0.7) else ch.choice(SMALL)
            return f"make({factor})({e()})"
        if construct == "dict-subscript":
            self.use("dict-subscript", "dict-subscript")
            name = ch.choice(('CONST["a"]', "COEF[0]", 'CONST["b"]'))
            return f"({name} * {e()})"
        if construct == "np-r" and shape == ():
            self.use("np-r")
            part = ch.choice([s for s in scope.pool if s == () or (s != POLY and len(s) == 1)] or [()])
            return f"np.sum(np.tanh(np.r_[{e(part)}, {e(part)}]) ** 2)"
        if construct == "lambda" and "lambda" in self.definitions:
            self.use("lambda")
            return f"SCALE({e()})"
        return None

    def plain_helpers(self, scope):
        """The helpers returning one value (those returning a pair are only called to unpack it)."""
        return [h for h in scope.helpers if "tuple-helper" not in h[3]]

    def numpy_extra(self, scope, shape, depth):
        """More of NumPy: elementwise functions with two arguments, clip, cumsum, outer products,
        stacks and concatenations, norms, variances, products, einsum, reshapes."""
        ch = self.ch
        e = lambda s=shape: self.expr(scope, s, depth)  # noqa: E731
        pool = [s for s in scope.pool if s != () and s != POLY]
        options = [
            lambda: f"np.clip({e()}, -0.5, 0.8)",
            lambda: f"np.hypot({e()}, 0.5)",
            lambda: f"np.logaddexp({e()}, {e(self.partner(scope, shape))})",
            lambda: f"np.arctan2({e()}, 1.5 + np.cos({e()}))",
            lambda: f"np.expm1(np.sin({e()}))",
            lambda: f"np.exp2(np.tanh({e()}))",
            lambda: f"np.cbrt(1.0 + np.square({e()}))",
            lambda: f"np.float_power(1.5 + np.sin({e()}), 2.0)",
        ]
        if shape != POLY and len(shape) >= 1:
            options.append(lambda: f"np.cumsum({e()}, axis={ch.choice((-1, 0))})")
        if shape == ():
            if pool:
                options += [lambda: f"np.linalg.norm({e(ch.choice(pool))})",
                            lambda: f"np.var({e(ch.choice(pool))})",
                            lambda: f"np.std(1.5 + np.sin({e(ch.choice(pool))}))",
                            lambda: f"np.prod(np.tanh({e(ch.choice(pool))}))",
                            lambda: (lambda p: f"np.sum(np.concatenate([{e(p)}, {e(p)}]))")(ch.choice(pool))]
            vectors = [s for s in pool if len(s) == 1]
            if vectors:
                options.append(lambda: (lambda p: f"np.einsum('i,i->', {e(p)}, {e(p)})")(ch.choice(vectors)))
        if shape != POLY and len(shape) == 1:
            options.append(lambda: f"np.stack([{', '.join(e(()) for _ in range(shape[0]))}])")
            options.append(lambda: f"np.array([{', '.join(e(()) for _ in range(shape[0]))}])")
        if shape != POLY and len(shape) == 2:
            a, b = shape
            if (a,) in scope.pool and (b,) in scope.pool:
                options += [lambda: f"np.outer({e((a,))}, {e((b,))})",
                            lambda: f"({e((a,))}[:, None] * {e((b,))})"]
            if (b, a) in scope.pool and a != b:
                options.append(lambda: f"np.reshape({e((b, a))}, {shape})")
            if (a, b) in scope.pool and (b,) in scope.pool:
                options.append(lambda: f"np.einsum('ij,j->ij', {e()}, {e((b,))})")
        self.use("numpy-extra")
        return ch.choice(options)()

    def expr(self, scope, shape, depth):
        """An expression of `shape`, bounded in size (a few tens at most), up to `depth` levels deep."""
        ch = self.ch
        if depth <= 0:
            return self.atom(scope, shape)
        for construct in ("where", "reduction", "matmul", "numpy-extra", "function-value", "factory", "dict-subscript",
                          "np-r", "lambda"):
            if self.has(construct):
                text = self.construct_expr(scope, construct, shape, depth - 1)
                if text is not None:
                    return text
        e = lambda s=shape: self.expr(scope, s, depth - 1)  # noqa: E731
        kind = ch.randint(0, 19)
        if kind == 0:
            return self.atom(scope, shape)
        if kind in (1, 2):
            a, b = e(), e(self.partner(scope, shape))
            if ch.chance(0.5):
                a, b = b, a
            return f"({a} {'+-'[kind - 1]} {b})"
        if kind == 3:
            return f"({self.const()} * {e()})"
        if kind == 4:
            factor = lambda s: self.atom(scope, s) if ch.chance(0.6) else self.squashed(scope, s, depth - 1)  # noqa: E731
            return f"({factor(shape)} * {factor(self.partner(scope, shape))})"
        if kind == 5:
            d = e(self.partner(scope, shape))
            return f"({e()} / (1.0 + {d} * {d}))"
        if kind == 6:
            return f"(-{e()})"
        if kind in (7, 8):
            return self.squashed(scope, shape, depth - 1)
        if kind == 9:
            return f"np.exp(np.sin({e()}))"
        if kind == 10:
            a = self.atom(scope, shape)
            return ch.choice((f"np.sqrt(1.0 + {a} * {a})", f"np.log(1.0 + {a} * {a})", f"np.log1p({a} * {a})"))
        if kind == 11:
            return f"np.abs({e()})"
        if kind == 12:
            return f"{ch.choice(('np.maximum', 'np.minimum'))}({e()}, {e(self.partner(scope, shape))})"
        if kind == 13:
            return ch.choice((f"(np.tanh({e()}) ** {ch.choice(('2', '3'))})", f"np.square({self.squashed(scope, shape, depth - 1)})"))
        if kind == 14:
            a = self.atom(scope, shape)
            return ch.choice((f"((1.0 + {a} * {a}) ** 0.5)",
                              f"((1.5 + np.sin({e()})) ** np.tanh({e(self.partner(scope, shape))}))",
                              f"(2.0 ** np.sin({e()}))"))
        if kind == 15:
            return f"({e()} if {self.cond(scope, depth - 1)} else {e()})"
        if kind in (16, 17) and self.plain_helpers(scope):
            return self.call(scope, shape, depth - 1)
        return f"({ch.choice(SMALL)} * {e()})"

    def call(self, scope, shape, depth, helpers=None):
        name, required, optional, tags = self.ch.choice(helpers or self.plain_helpers(scope))
        self.use("helpers")
        for tag in tags:
            self.use(tag)
        args, keyword_only = [], False
        for p, kind in required:
            if self.ch.chance(0.2):
                keyword_only = True
            value = self.expr(scope, shape if kind == POLY else (), depth)
            args.append(f"{p}={value}" if keyword_only else value)
        for p in optional:
            how = self.ch.randint(0, 2)   # 0: default, 1: keyword, 2: positional
            if how == 0:
                keyword_only = True
                continue
            value = self.ch.choice((self.squashed(scope, (), depth), self.ch.choice(SMALL)))
            args.append(value if how == 2 and not keyword_only else f"{p}={value}")
        return f"{name}({', '.join(args)})"

    def cond(self, scope, depth, compound=True):
        ch = self.ch
        kind = ch.randint(0, 9)
        if kind == 1:
            return f"{self.expr(scope, (), depth)} < {self.const()}"
        if kind == 2:
            return f"{self.squashed(scope, (), depth)} {ch.choice(('>=', '<=', '>', '<'))} {ch.choice(SMALL)}"
        if kind == 3 and scope.in_f and ch.chance(0.3):
            return f"{self.expr(scope, (), depth)} < 0.5 * n"
        if kind == 3 and scope.ivars:
            iv = ch.choice(scope.ivars)[0]
            return ch.choice((f"{iv} > 1", f"{iv} == 0", f"{iv} < 2", f"{iv} != 1"))
        if kind in (4, 5) and compound:
            return f"{self.cond(scope, depth, False)}{(' and ', ' or ')[kind - 4]}{self.cond(scope, depth, False)}"
        if kind == 6 and compound:
            return f"not ({self.cond(scope, depth, False)})"
        arrays = [s for s in scope.pool if _is_array(s)]
        if kind == 7 and arrays:
            return f"np.any({self.expr(scope, ch.choice(arrays), depth)} > {ch.choice(SMALL)})"
        return f"{self.expr(scope, (), depth)} > {self.expr(scope, (), depth)}"

    # -------------------------------------------------------------------------------- statements

    def assignment(self, scope, edepth=2):
        """One assignment of a new value (a fresh array, never a view or an alias) to a target."""
        ch = self.ch
        v = ch.choice(scope.targets)
        shape = scope.shapes[v]
        sq = lambda: self.squashed(scope, shape, edepth)  # noqa: E731
        e = lambda s=shape: self.expr(scope, s, edepth)  # noqa: E731
        kind = ch.randint(0, 9)
        if kind == 0:
            return [self.line(f"{v} = {sq()}")]
        if kind == 1:
            return [self.line(f"{v} = {ch.choice(SMALL)} * {v} + 0.5 * {sq()}")]
        if kind == 2:
            d = e(self.partner(scope, shape))
            return [self.line(f"{v} = {e()} / (1.0 + {d} * {d})")]
        if kind == 3:
            return [self.line(f"{v} = {ch.choice(('np.maximum', 'np.minimum'))}({v}, {sq()})")]
        if kind == 4:
            return [self.line(f"{v} = {sq()} if {self.cond(scope, 1)} else {ch.choice(SMALL)} * {v}")]
        if kind == 5:   # a reset to a value that carries no derivative
            if shape == ():
                resets = list(CONSTANTS[:4]) + [f"0.25 * {i}" for i, _ in scope.ivars] + (["0.25 * n"] if scope.in_f else [])
                return [self.line(f"{v} = {ch.choice(resets)}")]
            return [self.line(f"{v} = {ch.choice(('np.zeros_like', 'np.ones_like'))}({v}) * {ch.choice(SMALL)}")]
        if kind == 6 and self.plain_helpers(scope):
            return [self.line(ch.choice((f"{v} = np.tanh({self.call(scope, shape, 1)})",
                                         f"{v} = {ch.choice(SMALL)} * {v} + 0.5 * {self.call(scope, shape, 1)}")))]
        if kind == 7:
            return [self.line(f"{v} = ({sq()}) ** 2 + {ch.choice(SMALL)} * {v}")]
        return [self.line(f"{v} = {ch.choice(SMALL)} * {v} + {ch.choice(SMALL)} * {sq()}")]

    def augmented(self, scope, v, construct):
        ch = self.ch
        shape = scope.shapes[v]
        self.use(construct)
        part = self.partner(scope, shape)
        kind = ch.randint(0, 3)
        if kind == 0:
            return [self.line(f"{v} += {ch.choice(SMALL)} * {self.squashed(scope, part, 2)}")]
        if kind == 1:
            return [self.line(f"{v} -= {ch.choice(SMALL)} * {self.squashed(scope, part, 2)}")]
        if kind == 2:
            return [self.line(f"{v} *= 0.6 + 0.3 * {self.squashed(scope, part, 2)}")]
        a = self.atom(scope, part)
        return [self.line(f"{v} /= 1.0 + {a} * {a}")]

    def writes(self, scope, v):
        """[(target text, shape of the value written)] for writes into the array `v`."""
        shape = scope.shapes[v]
        out = []
        if len(shape) == 1:
            k = shape[0]
            out += [(f"{v}[{i}]", ()) for i in ("0", "-1", str(k - 1))]
            if (k - 1,) in scope.pool:
                out += [(f"{v}[1:]", (k - 1,)), (f"{v}[:-1]", (k - 1,))]
        else:
            a, b = shape
            out += [(f"{v}[{self.ch.choice(('0', '-1'))}]", (b,)), (f"{v}[:, {self.ch.choice(('0', str(b - 1)))}]", (a,)),
                    (f"{v}[{a - 1}, {self.ch.choice(('0', '-1'))}]", ())]
            if (a, b - 1) in scope.pool:
                out.append((f"{v}[:, 1:]", (a, b - 1)))
        for iv, bound in scope.ivars:
            if bound is not None and bound <= shape[0]:
                out.append((f"{v}[{iv}]", shape[1:]))
        return out

    def index_write(self, scope, v, construct="index-write"):
        ch = self.ch
        self.use(construct)
        target, shape = ch.choice(self.writes(scope, v))
        value = self.squashed(scope, shape if ch.chance(0.7) else (), 1)
        kind = ch.randint(0, 3)
        if kind == 0:
            return [self.line(f"{target} = {value}")]
        if kind == 1:
            return [self.line(f"{target} += {ch.choice(SMALL)} * {value}")]
        if kind == 2:
            return [self.line(f"{target} *= 0.6 + 0.3 * {value}")]
        return [self.line(f"{target} = 0.5 * {target} + 0.5 * {value}")]

    def uses(self, scope, name):
        """A line folding the variable `name` into a target, so that it reaches the result."""
        v = self.ch.choice(scope.targets)
        have, want = scope.shapes[name], scope.shapes[v]
        value = name if have == want or have == () else f"np.mean({name})"
        return self.line(f"{v} = 0.5 * {v} + 0.3 * np.tanh({value})")

    def compound(self, scope, construct):
        """A few statements that use `construct` (placed once in f's body)."""
        ch = self.ch
        arrays = [n for n, s in scope.shapes.items() if s != POLY and len(s) >= 1]
        if construct == "index-write" and arrays:
            t = self.fresh()
            source = ch.choice(arrays)
            self.use("index-write")
            lines = [self.line(f"{t} = {ch.choice((f'{source}.copy()', f'np.copy({source})', f'{source}.copy()'))}")]
            scope.bind(t, scope.shapes[source])
            for _ in range(ch.randint(1, 2)):
                lines += self.index_write(scope, t)
            return lines + [self.uses(scope, t)]
        if construct == "noop-assign":
            t = self.fresh()
            source = ch.choice(arrays or [n for n, s in scope.shapes.items() if s == ()])
            self.use("noop-assign")
            lines = [self.line(f"{t} = {source} * 1.0")]
            self.use("noop-assign")
            lines.append(self.line(f"{t} = {t}"))
            scope.bind(t, scope.shapes[source])
            if scope.shapes[t] != () and ch.chance(0.6):
                lines += self.index_write(scope, t, "noop-assign")
            else:
                lines += self.augmented(scope, t, "noop-assign")
            return lines + [self.uses(scope, t)]
        if construct == "nan-overwrite":
            t = self.fresh("w")
            source = ch.choice([n for n in scope.shapes if scope.shapes[n] != POLY])
            shape = scope.shapes[source]
            self.use("nan-overwrite")
            partial = ch.choice((f"np.sqrt({source} - 0.5)", f"np.log({source} + 0.2)", f"np.arcsin(1.5 * {source})",
                                 f"np.arccosh({source} + 1.2)", f"np.power({source} - 0.5, 0.5)",
                                 f"1.0 / np.abs({source} - {source})", f"np.log(np.abs({source}) - 0.5)"))
            lines = [self.line(f"{t} = {partial}")]
            always = ch.choice((f"{self.squashed(scope, (), 1)} < 1.5", "c > -5.0", "n >= 0",
                                f"np.sum({source} * {source}) >= 0.0"))
            inner = scope.nested()
            overwrite = lambda: self.line(f"    {t} = {self.squashed(inner, shape, 2)}")  # noqa: E731
            how = ch.randint(0, 3)
            if how == 0:
                lines += [self.line(f"if {always}:"), overwrite()]
            elif how == 1:
                lines += [self.line(f"if not ({always}):"), self.line(f"    {t} = 0.5 * {t}"), "else:", overwrite()]
            elif how == 2:
                loop = scope.nested("i", 2, loop=True)
                lines += [self.line("for i in range(2):"),
                          self.line(f"    {t} = {self.squashed(loop, shape, 2)} + 0.1 * i")]
            else:
                lines.append(self.line(f"{t} = {self.squashed(scope, shape, 2)}"))
            scope.bind(t, shape)
            return lines + [self.uses(scope, t)]
        if construct == "closure":
            g, v = self.fresh("g"), ch.choice(scope.targets)
            shape = scope.shapes[v]
            captured = ch.choice(scope.names(()) + scope.names(shape))
            self.use("closure")
            return [self.line(f"def {g}(u):"), self.line(f"    return np.tanh(u) * {captured} + 0.5 * u"),
                    self.line(f"{v} = 0.5 * {v} + 0.5 * {g}({self.expr(scope, shape, 2)})")]
        if construct == "lambda":
            g, v = self.fresh("g"), ch.choice(scope.targets)
            shape = scope.shapes[v]
            captured = ch.choice(scope.names(()) + scope.names(shape))
            self.use("lambda")
            return [self.line(f"{g} = lambda u: np.tanh(u) * {captured}"),
                    self.line(f"{v} = 0.5 * {v} + 0.5 * {g}({self.expr(scope, shape, 2)})")]
        if construct == "function-value":
            g, v = self.fresh("fn"), ch.choice(scope.targets)
            shape = scope.shapes[v]
            choices = [h[0] for h in scope.helpers if len(h[1]) == 1 and "tuple-helper" not in h[3]]
            choices += ["np.tanh", "np.sin"]
            a, b = ch.choice(choices), ch.choice(choices)
            self.use("function-value")
            return [self.line(f"{g} = {a} if {self.cond(scope, 1)} else {b}"),
                    self.line(f"{v} = 0.5 * {v} + 0.5 * {g}({self.expr(scope, shape, 2)})")]
        if construct == "random-in-f":
            t, shape = self.fresh("noise"), ch.choice(scope.pool)
            self.use("random-in-f")
            size = "" if shape == () else f", size={shape}"
            draw = ch.choice((f"np.random.uniform(0.5, 1.5{size})", f"np.random.normal(0.0, 0.3{size})"))
            scope.bind(t, shape, target=False)
            scope.own.discard(t)      # fresh, but s2sgrad cannot know what np.random returns: no in-place updates
            return [self.line(f"{t} = {draw}"), self.uses(scope, t)]
        if construct == "param-write":
            params = [n for n in ("x", "W") if n in scope.shapes and scope.shapes[n] != () and n not in scope.written_params]
            if params and not any(scope.ivars):
                p = ch.choice(params)
                scope.written_params.add(p)
                return self.index_write(scope, p, "param-write")
            return []
        if construct == "aug-float":
            floats = sorted(scope.floats)
            lines = []
            if not floats or ch.chance(0.7):
                t = self.fresh()
                arrays1 = [n for n in arrays if len(scope.shapes[n]) == 1]
                options = [f"np.sum({ch.choice(arrays)})" if arrays else "c * 1.0",
                           f"{ch.choice(arrays1)}[0]" if arrays1 else "c + 0.5",
                           f"np.mean({self.expr(scope, ch.choice(scope.pool), 1)})"]
                lines.append(self.line(f"{t} = {ch.choice(options)}"))
                scope.bind(t, ())
            else:
                t = ch.choice(floats)
            return lines + self.augmented(scope, t, "aug-float") + [self.uses(scope, t)]
        if construct == "aug-array":
            own = sorted(n for n in scope.own if n in scope.shapes)
            if own:
                return self.augmented(scope, ch.choice(own), "aug-array")
            return []
        return []

    def block(self, scope, depth, budget, must_return=False):
        """A block of at most `budget` statements (at least one): (lines, statements used)."""
        lines, used = [], 0
        while used < budget:
            remaining = budget - used
            if must_return and remaining == 1:
                break
            if depth == 0 and scope.in_f and self.pending and self.ch.chance(0.35):
                lines += self.compound(scope, self.pending.pop(0))
                used += 1
                continue
            stmt_lines, n, terminal = self.statement(scope, depth, remaining - (1 if must_return else 0))
            lines += stmt_lines
            used += n
            if terminal:
                return lines, used
            if not self.ch.chance(0.8) and not must_return and used >= 1:
                break
        if must_return:
            while depth == 0 and scope.in_f and self.pending:
                lines += self.compound(scope, self.pending.pop(0))
            lines += self.final_return(scope, depth)
            used += 1
        return lines, used

    def result(self, scope, depth=2):
        """A scalar expression for a return, built mostly around arrays."""
        ch = self.ch
        if not scope.in_f:            # a helper returns its parameter's shape (and a float)
            if scope.pair:
                return f"{self.expr(scope, POLY, depth)}, {self.expr(scope, (), depth - 1)}"
            return self.expr(scope, POLY, depth)
        arrays = [s for s in scope.pool if _is_array(s)]
        if arrays and ch.chance(0.7):
            text = f"{ch.choice(('np.sum', 'np.mean'))}({self.expr(scope, ch.choice(arrays), depth)})"
            if ch.chance(0.4):
                text += f" + {self.expr(scope, (), depth - 1)}"
            return text
        return self.expr(scope, (), depth)

    def final_return(self, scope, depth):
        ch = self.ch
        if scope.in_f:       # constructs the program has but has not used yet go into its last line
            for construct in EXPRESSION_CONSTRUCTS:
                if construct in self.features and construct not in self.used:
                    shape = ch.choice(scope.pool)
                    text = self.construct_expr(scope, construct, shape, 1)
                    if text is not None:
                        value = text if shape == () else f"np.sum({text})"
                        return [self.line(f"return {self.result(scope)} + 0.25 * {value}")]
        if depth < scope.max_depth and ch.chance(0.2):
            out = [self.line(f"if {self.cond(scope, 1)}:"), self.line(f"    return {self.result(scope)}")]
            return out + ["else:", self.line(f"    return {self.result(scope)}")]
        return [self.line(f"return {self.result(scope)}")]

    def statement(self, scope, depth, budget):
        """(lines, statements used, ends the block)."""
        ch = self.ch
        kinds = [(6, "assign"), (2, "let")]
        if "aug-array" in self.features and scope.own & set(scope.targets):
            kinds.append((2, "aug-array"))
        if "aug-float" in self.features and scope.floats & set(scope.targets):
            kinds.append((1, "aug-float"))
        if "index-write" in self.features and any(scope.shapes[n] != POLY for n in scope.own):
            kinds.append((2, "index-write"))
        if scope.in_f and any("tuple-helper" in h[3] for h in scope.helpers):
            kinds.append((2, "unpack"))
        if depth < scope.max_depth and budget >= 2:
            kinds += [(2, "if"), (2, "for"), (1, "return-if")]
            if "while" in self.features and scope.in_f and budget >= 3:
                kinds.append((1, "while"))
            if "for-rows" in self.features and scope.in_f:
                kinds.append((2, "for-rows"))
            if scope.in_loop:
                kinds.append((2, "jump-if"))
        if depth > 0:
            kinds.append((1, "return"))
            if scope.in_loop:
                kinds.append((1, "jump"))
        kind = self.pick(kinds)
        indent = lambda ls: ["    " + line for line in ls]  # noqa: E731

        if kind == "return":
            if ch.chance(0.5):
                return [self.line(f"return {self.result(scope)}")], 1, True
            kind = "assign"
        if kind == "jump":
            if ch.chance(0.5):
                return [ch.choice(("break", "continue"))], 1, True
            kind = "assign"
        if kind == "aug-array":
            return self.augmented(scope, ch.choice(sorted(scope.own & set(scope.targets))), "aug-array"), 1, False
        if kind == "aug-float":
            return self.augmented(scope, ch.choice(sorted(scope.floats & set(scope.targets))), "aug-float"), 1, False
        if kind == "index-write":
            return self.index_write(scope, ch.choice(sorted(n for n in scope.own if scope.shapes[n] != POLY))), 1, False
        if kind == "assign":
            return self.assignment(scope), 1, False
        if kind == "unpack":
            helper = ch.choice([h for h in scope.helpers if "tuple-helper" in h[3]])
            v = ch.choice(scope.targets)
            t = self.fresh()
            line = self.line(f"{v}, {t} = {self.call(scope, scope.shapes[v], 1, [helper])}")
            scope.bind(t, ())
            return [line], 1, False
        if kind == "while":
            k = self.fresh("k")
            inner = scope.nested(loop=True)
            inner.ivars = inner.ivars + [(k, None)]
            test = self.cond(scope, 1, compound=False)
            self.use("while")
            head = self.line(ch.choice((f"while {test} and {k} < {ch.choice(('2', '3'))}:",
                                        f"while {k} < {ch.choice(('1', '3'))} and {test}:")))
            body, n = self.block(inner, depth + 1, max(1, min(budget - 3, 4)))
            return [f"{k} = 0", head, f"    {k} += 1"] + indent(body), 3 + n, False
        if kind == "let":
            t = self.fresh()
            shape = ch.choice(scope.pool)
            line = self.line(f"{t} = {self.squashed(scope, shape, 2)}")
            scope.bind(t, shape)
            return [line], 1, False
        if kind == "return-if":
            return [self.line(f"if {self.cond(scope, 1)}:"), self.line(f"    return {self.result(scope)}")], 2, False
        if kind == "jump-if":
            head = self.line(f"if {self.cond(scope, 1)}:")
            body, n = [], 0
            if budget >= 3 and ch.chance(0.4):
                body, n = self.assignment(scope.nested()), 1
            return [head] + indent(body + [ch.choice(("break", "continue"))]), 2 + n, False
        if kind == "if":
            head = self.line(f"if {self.cond(scope, 1)}:")
            body, n = self.block(scope.nested(), depth + 1, max(1, min(budget - 1, 4)))
            lines, used = [head] + indent(body), 1 + n
            if used < budget and ch.chance(0.5):
                body, n = self.block(scope.nested(), depth + 1, max(1, min(budget - used, 3)))
                lines += ["else:"] + indent(body)
                used += n
            return lines, used, False
        if kind == "for":
            var = next(v for v in ("i", "j", "m") if v not in [iv for iv, _ in scope.ivars])
            bound = ch.choice(("n", "2", "3", "n", "1") if scope.in_f else ("2", "3", "1"))
            inner = scope.nested(var, None if bound == "n" else int(bound), loop=True)
            head = self.line(f"for {var} in range({bound}):")
            body, n = self.block(inner, depth + 1, max(1, min(budget - 1, 4)))
            return [head] + indent(body), 1 + n, False
        if kind == "for-rows":
            params = [p for p in ("x", "W") if p in scope.shapes and scope.shapes[p] != ()
                      and p not in scope.written_params]
            if not params:
                return self.assignment(scope), 1, False
            p = ch.choice(params)
            var = next(v for v in ("row", "row2", "row3") if v not in scope.shapes)
            inner = scope.nested(loop=True)
            inner.shapes[var] = scope.shapes[p][1:]
            if inner.shapes[var] not in inner.pool:
                inner.pool.append(inner.shapes[var])
            self.use("for-rows")
            head = self.line(f"for {var} in {p}:")
            body, n = self.block(inner, depth + 1, max(1, min(budget - 1, 4)))
            return [head] + indent(body), 1 + n, False
        raise AssertionError(kind)

    # ------------------------------------------------------------------------------------ modules

    def helper(self, index, callable_helpers):
        ch = self.ch
        required = [("u", POLY)] if ch.chance(0.5) else [("u", POLY), ("v", ch.choice((POLY, ())))]
        default = ch.choice(("2.0", "0.5", "(-0.7)", "1.5"))
        tags = []
        for construct, chance in (("side-effect", 0.6), ("helper-random", 0.6)):
            if construct in self.features and ch.chance(chance):
                tags.append(construct)
        decorated = "decorated-helper" in self.features and "decorated-helper" not in self.used
        if decorated:
            tags.append("decorated-helper")
        scope = ArrayScope([(p, s) for p, s in required] + [("k", ())], ["w", "u", "k"], callable_helpers,
                           [POLY, ()], max_depth=1, in_f=False)
        scope.floats.add("k")
        name = f"h{index}"
        lines = []
        if decorated:
            self.use("decorated-helper", ch.choice(("doubling", "transparent")))
            lines.append(self.line("@decorate"))
        lines.append(self.line(f"def {name}({', '.join([p for p, _ in required] + [f'k={default}'])}):"))
        if "side-effect" in tags:
            self.use("side-effect", "side-effect")
            lines.append(self.line(f"    CALLS.append({index})"))
        plain = [h for h in callable_helpers if "tuple-helper" not in h[3]]
        if "helper-depth" in self.features and plain:
            self.use("helper-depth")
            callee = plain[-1]
            args = ", ".join("u" if kind == POLY else "k" for _, kind in callee[1])
            first = f"np.tanh({callee[0]}({args}) * k)"
            self.use("helpers")
        else:
            first = ch.choice(("np.tanh(k * u)", "np.sin(u + k)", "np.cos(u) * k"))
            if required[1:]:
                first = first.replace("u", "(u + v)", 1) if ch.chance(0.5) else first
        lines.append(self.line(f"    w = {first}"))
        scope.shapes["w"] = POLY
        scope.own.add("w")
        if "helper-random" in tags:
            self.use("helper-random")
            lines.append(self.line("    w = w * np.random.uniform(0.5, 1.5, size=np.shape(u))"))
        if "tuple-helper" in self.features and ch.chance(0.5):
            tags.append("tuple-helper")
            self.use("tuple-helper")
            scope.pair = True
        body, _ = self.block(scope, 0, ch.randint(1, 4), must_return=True)
        lines += ["    " + line for line in body]
        return lines, (name, required, ["k"], tags)

    def module(self):
        ch = self.ch
        # One roll per construct (function-value is both an expression and a compound): mix[c] is the
        # chance that a program has c.
        rolled = dict.fromkeys(PROGRAM_CONSTRUCTS + EXPRESSION_CONSTRUCTS + COMPOUNDS + ("broadcast", "reduction", "index-read"))
        for construct in rolled:
            if ch.chance(self.mix[construct]):
                self.features.add(construct)
        dtype = "float16" if "float16" in self.features else "float32" if "float32" in self.features else "float64"
        self.features.discard("float32" if dtype == "float16" else "float16")
        if "scalar-x" in self.features:
            x_shape = ()
            self.features.discard("matrix-x")
            w_shape = (3,) if "weight" in self.features and ch.chance(0.5) else None
        else:
            x_shape = (2, 3) if "matrix-x" in self.features else (3,)
            w_shape = ch.choice(((3, 2), (3, 2), x_shape)) if "weight" in self.features else None
        if w_shape is None:
            self.features.discard("weight")
        for construct in ("scalar-x", "matrix-x", "weight", "float32", "float16"):
            if construct in self.features:
                self.used.add(construct)
        params = [("x", x_shape)] + ([("W", w_shape)] if w_shape else []) + [("c", ())]
        pool = {()}
        for _, s in params:
            pool.add(s)
            if len(s) == 2:
                pool |= {s[:1], s[1:], s[::-1]}
            if len(s) == 1 and s[0] == 3:
                pool.add((2,))
        if x_shape and w_shape and len(w_shape) == 2 and x_shape[-1] == w_shape[0]:
            pool.add(x_shape[:-1] + w_shape[1:])
        pool = sorted(pool, key=lambda s: (len(s), s))

        helpers = []
        helper_lines = []
        if "helpers" in self.features:
            count = ch.choice((1, 2, 2, 3)) if "helper-depth" in self.features else ch.choice((1, 1, 2))
            for index in range(count):
                lines, sig = self.helper(index, helpers)
                helper_lines += ["", "", *lines]
                helpers.append(sig)
        if "decorated-helper" not in self.used:
            self.features.discard("decorated-helper")

        scope = ArrayScope([(n, s) for n, s in params], ["c"], helpers, pool, max_depth=2)
        scope.floats.add("c")
        if x_shape == ():
            scope.floats.add("x")
        self.pending = [c for c in COMPOUNDS if c in self.features]
        init_scope = scope.nested()
        init = []
        for v in ("a", "b")[:ch.choice((1, 2))]:
            shape = x_shape if v == "a" else ch.choice(pool)
            init.append(self.line(f"{v} = {self.squashed(init_scope, shape, 2)}"))
            scope.bind(v, shape)
        scope.targets = [n for n in ("a", "b") if n in scope.shapes] * 2 + ["x", "c"]
        body, _ = self.block(scope, 0, max(2, ch.randint(4, 10) - len(init)), must_return=True)

        header = ["import math", "", "import numpy as np"]
        if "decorated-helper" in self.used:
            header = ["import functools", "import math", "", "import numpy as np"]
        definitions = []
        for key in self.definitions:
            definitions += ["", "", *MODULE_DEFINITIONS[key]] if key not in ("side-effect", "dict-subscript", "lambda") \
                else ["", *MODULE_DEFINITIONS[key]]
        signature = ", ".join(n for n, _ in params) + ", n"
        lines = header + definitions + helper_lines + ["", "", f"def f({signature}):"]
        lines += ["    " + line for line in init + body]
        text = "\n".join(lines) + "\n"
        spec = tuple((n, ("float",) if s == () else ("array", s)) for n, s in params) + (("n", ("int",)),)
        return Program(text, text, getattr(self.ch, "seed", None), family="array", params=spec,
                       wrt=tuple(n for n, _ in params), dtype=dtype, constructs=frozenset(self.used))


def generate_array(chooser, mix=None):
    """A `Program` (family "array") defining f(x, [W,] c, n) and the helpers it calls.

    Example:
        >>> print(generate_array(RandomChooser(7)).text)
    """
    return ArrayGenerator(chooser, mix).module()


def make_program(seed, mix=None):
    """The program for `seed`: from the scalar generator with probability mix["scalar-family"], else an
    array program; both rebuilt from the seed alone (with the same mix).

    Example:
        >>> make_program(12).family
    """
    share = dict(ARRAY_MIX, **(mix or {}))["scalar-family"]
    if random.Random(seed * 2 + 1).random() < share:
        return generate(RandomChooser(seed))
    return generate_array(RandomChooser(seed), mix)
