"""Recursion (issue 10). What "deep recursion" must mean: a derivative of a function that recurses d levels
costs one Python frame per level, as the function itself does (the forward sweep recurses once a level, the
pullback after it once a level), plus a constant few frames for s2sgrad's entry; so it runs under any
recursion limit the function itself runs under with those few frames to spare. The compiler itself never
runs out of stack, however deep helpers call helpers or wherever it is called from (it compiles on a thread
of its own), and a derivative that runs out of the limit raises RecursionDepthError naming the function that
recursed and its line, never a bare RecursionError from generated code.

Values are checked against closed forms (rtol 1e-10) and central differences in float64 (rtol 1e-6).
"""

import contextlib
import importlib
import sys

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import RecursionDepthError

SPARE = 10          # frames s2sgrad's entry may use beyond the function's own (measured: 3 to 6)


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def bad(x):
    return bad(x) * 2.0  # MARK:bad


def is_even(x, n):
    if n == 0:
        return x
    return is_odd(x * 1.01, n - 1)  # MARK:even


def is_odd(x, n):
    if n == 0:
        return -x
    return is_even(x * 0.99, n - 1)  # MARK:odd


def depth():
    """The number of frames on the stack here."""
    frame, n = sys._getframe(1), 1
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


@contextlib.contextmanager
def recursion_limit(limit):
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def runs(work, limit):
    with recursion_limit(limit):
        try:
            work()
        except RecursionError:
            return False
    return True


def frames_needed(work):
    """The smallest recursion limit under which `work()` runs, from here."""
    lo, hi = depth() + 20, depth() + 5000
    assert runs(work, hi)
    while lo < hi:
        mid = (lo + hi) // 2
        if runs(work, mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def marked_line(mark):
    with open(__file__) as f:
        return next(i + 1 for i, text in enumerate(f) if text.rstrip().endswith(f"# MARK:{mark}"))


X, N = 1.001, 1000

DERIVATIVES = {
    "grad": lambda n: s2sgrad.grad(power)(X, n),
    "value_and_grad": lambda n: s2sgrad.value_and_grad(power)(X, n)[1],
    "jvp": lambda n: s2sgrad.jvp(power, (X, n), 1.0)[1],
    "vjp": lambda n: s2sgrad.vjp(power, X, n)[1](1.0),
    "hessian": lambda n: s2sgrad.hessian(power)(X, n),
}


@pytest.mark.parametrize("entry", list(DERIVATIVES))
def test_a_derivative_of_a_recursion_costs_one_frame_a_level_as_the_function_does(entry):
    derivative = DERIVATIVES[entry]
    derivative(3)                                   # compiled first: only running it is measured
    primal = frames_needed(lambda: power(X, 400)) - frames_needed(lambda: power(X, 200))
    generated = frames_needed(lambda: derivative(400)) - frames_needed(lambda: derivative(200))
    assert primal == generated == 200
    assert frames_needed(lambda: derivative(200)) - frames_needed(lambda: power(X, 200)) <= SPARE


@pytest.mark.parametrize("entry", list(DERIVATIVES))
def test_a_1000_level_recursion_is_differentiated_wherever_the_function_itself_runs(entry):
    derivative = DERIVATIVES[entry]
    derivative(3)
    limit = frames_needed(lambda: power(X, N)) + SPARE
    with recursion_limit(limit):
        got = derivative(N)
    exact = N * (N - 1) * X ** (N - 2) if entry == "hessian" else N * X ** (N - 1)
    assert got == pytest.approx(exact, rel=1e-10)
    eps = 1e-7
    if entry == "hessian":
        with recursion_limit(limit):
            numeric = (s2sgrad.grad(power)(X + eps, N) - s2sgrad.grad(power)(X - eps, N)) / (2 * eps)
    else:
        with recursion_limit(limit):
            numeric = (power(X + eps, N) - power(X - eps, N)) / (2 * eps)
    assert got == pytest.approx(numeric, rel=1e-6)


@pytest.mark.parametrize("entry", ["grad", "jvp", "vjp", "hessian"])
def test_unbounded_recursion_raises_a_recursion_depth_error_naming_the_function_and_its_line(entry):
    run = {
        "grad": lambda: s2sgrad.grad(bad)(1.0),
        "jvp": lambda: s2sgrad.jvp(bad, (1.0,), 1.0),
        "vjp": lambda: s2sgrad.vjp(bad, 1.0),
        "hessian": lambda: s2sgrad.hessian(bad)(1.0),
    }[entry]
    with pytest.raises(RecursionError):
        bad(1.0)                                    # the function itself never ends
    with pytest.raises(RecursionDepthError) as info:
        run()
    err = info.value
    assert isinstance(err, s2sgrad.S2SGradError) and isinstance(err, RecursionError)
    message = str(err)
    assert message.startswith("the derivative of bad went deeper than Python's recursion limit (")
    assert f": bad recursed at least " in message
    assert f" levels deep at {__file__}:{marked_line('bad')} (return bad(x) * 2.0  # MARK:bad)" in message
    assert "sys.setrecursionlimit" in message and "base case" in message
    assert err.__cause__ is None and err.__suppress_context__


def test_mutual_recursion_that_runs_out_of_the_limit_names_a_function_of_the_cycle_and_its_line():
    s2sgrad.grad(is_even)(0.5, 4)
    assert s2sgrad.grad(is_even)(0.5, 4) == pytest.approx((1.01 * 0.99) ** 2, rel=1e-12)
    limit = depth() + 200
    with recursion_limit(limit), pytest.raises(RecursionDepthError) as info:
        s2sgrad.grad(is_even)(0.5, 1000)
    message = str(info.value)
    assert message.startswith(f"the derivative of is_even went deeper than Python's recursion limit ({limit} frames)")
    # whichever of the two has more frames on the stack when the limit is reached, at its recursive call
    assert (f": is_odd recursed at least " in message and f"{__file__}:{marked_line('odd')} (return is_even(" in message) \
        or (f": is_even recursed at least " in message and f"{__file__}:{marked_line('even')} (return is_odd(" in message)


# -- the compiler's own stack ------------------------------------------------------------------------

def helper_chain(tmp_path, monkeypatch, n):
    """A module of n + 1 helpers, each calling the next: h0(x) = h1(x) * 1.001 + 0.1, ..., h{n}(x) = x * x."""
    lines = []
    for i in range(n):
        lines += [f"def h{i}(x):", f"    return h{i + 1}(x) * 1.001 + 0.1", ""]
    lines += [f"def h{n}(x):", "    return x * x", ""]
    name = f"helper_chain_{n}_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text("\n".join(lines))
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module(name)


def test_helpers_calling_helpers_deeper_than_the_recursion_limit_allows_the_compiler_compile(tmp_path, monkeypatch):
    # The compiler recurses about eight frames per helper: 200 helpers overflowed a limit of 1000 at compile
    # time, though the code they make needs only 200 frames to run.
    chain = helper_chain(tmp_path, monkeypatch, 200)
    with recursion_limit(depth() + 400):
        g = s2sgrad.grad(chain.h0)(0.8)
        value, t = s2sgrad.jvp(chain.h0, (0.8,), 1.0)
        eps = 1e-6
        numeric = (chain.h0(0.8 + eps) - chain.h0(0.8 - eps)) / (2 * eps)
    assert g == pytest.approx(1.001 ** 200 * 2 * 0.8, rel=1e-10)
    assert t == pytest.approx(g, rel=1e-12) and g == pytest.approx(numeric, rel=1e-6)


def test_a_chain_deeper_than_the_limit_at_run_time_names_the_chain(tmp_path, monkeypatch):
    chain = helper_chain(tmp_path, monkeypatch, 200)
    s2sgrad.grad(chain.h0)(0.8)
    limit = depth() + 100
    with recursion_limit(limit), pytest.raises(RecursionDepthError) as info:
        s2sgrad.grad(chain.h0)(0.8)
    message = str(info.value)
    assert f"({limit} frames)" in message and "(h0 -> h1 -> h2 -> h3 -> ...)" in message
    assert "sys.setrecursionlimit" in message


def fresh_quadratic(x):
    return power(x, 3) + np.sin(x)


def test_compiling_from_deep_inside_a_recursion_has_the_compilers_own_stack():
    # Called a few frames short of the limit, the compiler (dozens of frames deep itself) ran out of stack.
    def descend(k):
        return descend(k - 1) if k else s2sgrad.grad(fresh_quadratic)(0.3)
    limit = depth() + 300
    with recursion_limit(limit):
        g = descend(300 - 30)
    assert g == pytest.approx(3 * 0.3 ** 2 + np.cos(0.3), rel=1e-12)
    assert sys.getrecursionlimit() != 100_000        # the compiler's headroom is given back
