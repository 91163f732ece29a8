"""Randomly generated programs: s2sgrad's value and gradient against the program itself.

`program_generator` writes small functions `f(x, y, n)` in the supported language (assignments,
augmented and tuple assignment, arithmetic, math calls, abs/min/max, conditional expressions,
if/elif/else, for and while loops with break/continue, returns anywhere, helpers called with
keyword arguments). Each is written to its own file (s2sgrad reads source) and imported as a
fresh module. For each program and point:

- the value from `value_and_grad` is exactly the value of `f` (same operations, same order);
- the gradient matches central finite differences (eps 1e-6, float64) with rtol 1e-5, atol 1e-6;
- the generated code is the same text each time it is generated, whatever the hash seed.

Programs compare computed values, so a point may sit on (or within 1e-5 of) a kink or a jump,
where a finite difference does not measure the derivative. Such points are skipped, detected
from the function itself (never by loosening the gradient tolerance): the central difference
at eps 1e-6 must agree with the one at eps 1e-5, and the second difference must scale with
eps as a smooth function's does (a kink exactly at the point leaves both central differences
equal but makes the second difference independent of eps).

Generated programs that failed, reduced by hand to a few lines, are kept below as plain
regression tests (`REDUCED`).

A failure names the program's seed: `generate(RandomChooser(seed)).text` rebuilds it.
Failures are not shrunk (shrinking a seed only tries other programs, for minutes); to shrink,
use `program_generator.programs()`, whose every choice is a hypothesis draw.
"""

import importlib.util
import itertools
import math
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import s2sgrad
from program_generator import Program, RandomChooser, generate, seeded_programs

EPS = 1e-6                 # central differences, float64
RTOL, ATOL = 1e-5, 1e-6

random_programs = settings(
    max_examples=150, deadline=None, derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],     # no shrinking: see the module docstring
    suppress_health_check=[HealthCheck.too_slow])

_counter = itertools.count()
_directory = None


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    global _directory
    _directory = tmp_path_factory.mktemp("random_programs")
    return _directory


def load(directory, text):
    """Write `text` to a fresh file and import it as a fresh module; returns the module."""
    name = f"s2sgrad_random_program_{os.getpid()}_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def central(fn, args, index, eps):
    lo, hi = list(args), list(args)
    lo[index] -= eps
    hi[index] += eps
    return (fn(*hi) - fn(*lo)) / (2 * eps)


def second(fn, args, index, eps, f0):
    """(f(x+eps) - 2 f(x) + f(x-eps)) / eps: about f'' * eps where f is smooth, the slope's jump
    at a kink sitting on the point."""
    lo, hi = list(args), list(args)
    lo[index] -= eps
    hi[index] += eps
    return (fn(*hi) - 2 * f0 + fn(*lo)) / eps


def smooth_partial(fn, args, index, f0):
    """The central difference at EPS, or None when the function is not smooth enough around the
    point along this argument for a finite difference to measure its derivative."""
    d6, d5 = central(fn, args, index, EPS), central(fn, args, index, 10 * EPS)
    if not (math.isfinite(d6) and math.isfinite(d5)):
        return None
    if abs(d6 - d5) > 1e-4 * max(abs(d6), abs(d5)) + 1e-7:          # a kink or jump within 1e-5
        return None
    # A kink on the point, its slope jumping by J: both central differences give the mean slope,
    # reverse mode one side's (off by J / 2), and s6 - s5 / 10 = 0.9 J where smooth f gives ~0.
    s6, s5 = second(fn, args, index, EPS, f0), second(fn, args, index, 10 * EPS, f0)
    if abs(s6 - s5 / 10) > ATOL + RTOL * abs(d6):
        return None
    return d6


def describe(program, fn, x, y, n):
    """The point, the program and the generated code, for failure messages."""
    try:
        generated = s2sgrad.source(fn, wrt=(0, 1))
    except Exception as err:  # noqa: BLE001 - a message must show whatever happened
        # Generic code refuses augmented assignments to unannotated parameters (they may be
        # arrays); the annotated copy gives the scalar code value_and_grad runs on floats.
        try:
            generated = (f"(s2sgrad.source(f) raised {type(err).__name__}: {err}; "
                         "generated code of the annotated copy:)\n")
            generated += s2sgrad.source(load(_directory, program.annotated).f, wrt=(0, 1))
        except Exception as err2:  # noqa: BLE001
            generated += f"<raised {type(err2).__name__}: {err2}>"
    seed = "" if program.seed is None else f" (seed {program.seed})"
    return (f"\nat x={x!r}, y={y!r}, n={n!r}\n--- program{seed} ---\n{program.text}\n"
            f"--- generated code ---\n{generated}\n")


# Points are shifted off the simple values hypothesis favours (0.0, 1.0, x == y, ...): there a
# comparison in the program can hold with equality exactly at the point, and a branch that is
# taken on both sides of the point but not at it leaves the function smooth (no check above can
# see it) while the derivative of the branch taken at the point is another one. Such ties are
# where reverse mode (any AD) legitimately disagrees with finite differences, not compiler bugs.
X_SHIFT, Y_SHIFT = 0.0123456789, -0.0234567891
points = st.floats(min_value=-1.9, max_value=1.9, allow_nan=False, allow_infinity=False)


def check_program(program, x, y, n, smooth_here=assume):
    """value_and_grad of the program's f at (x, y, n) against f itself. `smooth_here(False)` is
    called (hypothesis: assume, which drops the example) when f is not smooth enough there for
    finite differences."""
    f = load(_directory, program.text).f
    args = (x, y, n)
    try:
        value = f(*args)
        expected = [smooth_partial(f, args, index, value) for index in (0, 1)]
    except Exception as err:
        raise AssertionError(f"generator mistake: the program raised {type(err).__name__}: {err}"
                             + describe(program, f, x, y, n)) from err
    assert isinstance(value, float) and math.isfinite(value), \
        f"generator mistake: f returned {value!r}" + describe(program, f, x, y, n)
    smooth_here(None not in expected)

    try:
        got_value, grads = s2sgrad.value_and_grad(f, wrt=(0, 1))(x, y, n)
    except Exception as err:
        raise AssertionError(f"s2sgrad.value_and_grad raised {type(err).__name__}: {err}"
                             + describe(program, f, x, y, n)) from err
    assert got_value == value, f"value: s2sgrad {got_value!r} != f {value!r}" + describe(program, f, x, y, n)
    for index, (g, e) in enumerate(zip(grads, expected)):
        assert abs(g - e) <= ATOL + RTOL * abs(e), \
            f"df/d{'xy'[index]}: s2sgrad {g!r}, finite differences {e!r}" + describe(program, f, x, y, n)


@random_programs
@given(program=seeded_programs(), x=points, y=points, n=st.integers(0, 4))
def test_random_program_value_and_gradient_match_the_program(program_dir, program, x, y, n):
    check_program(program, x + X_SHIFT, y + Y_SHIFT, n)


def _reduced(text):
    annotated = (text.replace("def f(x, y, n):", "def f(x: float, y: float, n: int):")
                 .replace("def h(u, k=-0.5):", "def h(u: float, k: float = -0.5):"))
    return Program(textwrap.dedent(text), textwrap.dedent(annotated))


# Generated programs that failed, reduced by hand to a few lines (kept as regression tests).
REDUCED = {
    # A parameter overwritten by a constant leaves a reverse-sweep branch (or loop) with nothing
    # but a comment: the generated code did not compile (IndentationError).
    "dead_adjoint_in_branch": (_reduced("""
        def f(x, y, n):
            x = 0.5
            if y > 0.0:
                return x
            return 1.0
        """), (0.5, 0.3, 2)),
    "dead_adjoint_in_loop": (_reduced("""
        def f(x, y, n):
            x = 0.5
            for i in range(n):
                return x
            return y
        """), (0.5, 0.3, 2)),
    # A helper with a negative default (`-0.5` is a unary minus, not a constant, in the AST)
    # gives a result of unknown kind, so an augmented assignment to it is refused as if it could
    # be an array shared with the caller, although everything is a float (k=0.5 is accepted).
    "negative_default_result_updated_in_place": (_reduced("""
        def h(u, k=-0.5):
            return u * k


        def f(x, y, n):
            a = h(x)
            a += 1.0
            return a
        """), (0.5, 0.3, 2)),
    "negative_default_result_passed_to_a_parameter_updated_in_place": (_reduced("""
        def h(u, k=-0.5):
            u += 1.0
            return u * k


        def f(x, y, n):
            return h(h(x))
        """), (0.5, 0.3, 2)),
}


@pytest.mark.parametrize("name", sorted(REDUCED))
def test_reduced_failing_program(program_dir, name):
    program, (x, y, n) = REDUCED[name]

    def smooth_here(smooth):
        assert smooth, "the reduced program is not smooth at its point"

    check_program(program, x, y, n, smooth_here)


@random_programs
@given(program=seeded_programs())
def test_random_program_generated_code_is_deterministic(program_dir, program):
    # The annotated copy, because source() prints the generic code, which refuses augmented
    # assignments to parameters that may be arrays. Two imports give two distinct function
    # objects, so the second is compiled from scratch rather than served from s2sgrad's cache.
    first, again = load(program_dir, program.annotated).f, load(program_dir, program.annotated).f
    try:
        a = s2sgrad.source(first, wrt=(0, 1))
        b = s2sgrad.source(first, wrt=(0, 1))
        c = s2sgrad.source(again, wrt=(0, 1))
    except Exception as err:
        raise AssertionError(f"s2sgrad.source raised {type(err).__name__}: {err}\n"
                             f"--- program (seed {program.seed}) ---\n{program.annotated}") from err
    assert a == b == c, (f"\n--- program (seed {program.seed}) ---\n{program.annotated}\n"
                         f"--- first ---\n{a}\n--- second compilation ---\n{c}\n")


_HASH_SEED_SCRIPT = textwrap.dedent("""
    import importlib.util, sys
    import s2sgrad
    out = []
    for i, path in enumerate(sys.argv[1:]):
        spec = importlib.util.spec_from_file_location(f"hashseed_program_{i}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        try:
            out.append(s2sgrad.source(module.f, wrt=(0, 1)))
        except Exception as err:  # compiler failures are the other tests' business; report them
            out.append(f"<raised {type(err).__name__}: {err}>".replace(path, "<program>"))
    sys.stdout.write("\\n=====\\n".join(out))
""")


def test_random_programs_generated_code_does_not_depend_on_the_hash_seed(tmp_path):
    """Set and dict-of-str iteration order changes with PYTHONHASHSEED; the text must not."""
    paths = []
    for seed in range(30):
        path = tmp_path / f"hashseed_program_{seed}.py"
        path.write_text(generate(RandomChooser(seed)).annotated)
        paths.append(str(path))
    outputs = []
    for hash_seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed,
                   PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(s2sgrad.__file__))),
                                               os.environ.get("PYTHONPATH", "")]))
        run = subprocess.run([sys.executable, "-c", _HASH_SEED_SCRIPT, *paths], env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout.split("\n=====\n"))
    for path, a, b in zip(paths, *outputs):
        assert a == b, f"\n--- program {path} ---\n{open(path).read()}\n--- PYTHONHASHSEED=0 ---\n{a}\n" \
                       f"--- PYTHONHASHSEED=12345 ---\n{b}\n"
