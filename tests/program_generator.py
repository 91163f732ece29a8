"""A random generator of small differentiable Python programs, for tests/test_random_programs.py.

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


@dataclass(frozen=True)
class Program:
    """A generated module. `text` is what the tests differentiate; `annotated` is the same module
    with `float`/`int` annotations on every parameter, for `s2sgrad.source`, whose generic code
    trusts annotations (unannotated parameters may be arrays, and augmented assignments to them
    are refused there by design). `seed` rebuilds it: `generate(RandomChooser(seed))`."""

    text: str
    annotated: str
    seed: object = None

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
        return Program(text, annotated, getattr(self.ch, "seed", None))


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
