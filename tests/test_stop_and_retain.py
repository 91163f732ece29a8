"""Stopping and keeping gradients (issue 11): stop_gradient (PyTorch's detach), `with no_grad():` inside a
differentiated function, and retain=(...) (PyTorch's retain_grad). Values from ../shared/SEED_IDIOMS.md rows 5-7;
the others against central finite differences in float64 (tolerances at each check), in both modes."""

import re

import numpy as np
import pytest

import s2sgrad
from gradcheck import numeric_grad


# -- stop_gradient (row 5) ------------------------------------------------------------------------------------

def detached(a, b):
    c = a + b
    d = b * s2sgrad.stop_gradient(c)
    return np.sum(d)


def test_stop_gradient_cuts_the_path_through_its_argument_as_detach_does():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    da, db = s2sgrad.grad(detached, wrt=(0, 1))(a, b)
    np.testing.assert_array_equal(da, [0.0, 0.0, 0.0])            # no path
    np.testing.assert_array_equal(db, [5.0, 7.0, 9.0])            # c = a + b, not [1, 1, 1]
    _, t = s2sgrad.jvp(detached, (a, b), (np.ones(3), np.zeros(3)), wrt=(0, 1))
    assert t == 0.0
    _, t = s2sgrad.jvp(detached, (a, b), (np.zeros(3), np.ones(3)), wrt=(0, 1))
    assert t == 21.0


def test_stop_gradient_outside_a_differentiated_function_returns_its_argument():
    x = np.array([1.0, 2.0])
    assert s2sgrad.stop_gradient(x) is x
    assert s2sgrad.stop_gradient(3.0) == 3.0


def test_second_order_treats_a_stopped_value_as_a_constant():
    def f(x):
        return s2sgrad.stop_gradient(x * x) * x * x          # (x^2)_const * x^2: d2/dx2 = 2 x^2
    assert s2sgrad.grad(s2sgrad.grad(f))(3.0) == pytest.approx(18.0, rel=1e-15)


# -- no_grad (row 6) -----------------------------------------------------------------------------------------

def scaled_by_detached_copy(x):
    with s2sgrad.no_grad():
        y = x * 2
    return np.sum(y * x)


def test_values_assigned_under_no_grad_carry_no_derivative():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(s2sgrad.grad(scaled_by_detached_copy)(x), 2 * x)     # y, not 4x
    _, t = s2sgrad.jvp(scaled_by_detached_copy, (x,), np.array([1.0, 0.0, 0.0]))
    assert t == 2.0
    text = s2sgrad.source(scaled_by_detached_copy)
    assert "stop_gradient(" in text and not re.search(r"\bdy\b", text)     # the block has no adjoint code


def test_no_grad_covers_augmented_assignments_loops_and_returns_in_its_block():
    def f(x, n: int = 3):
        s = x * 1.0
        with s2sgrad.no_grad():
            for i in range(n):
                s += x * i
            scale = np.max(np.abs(s))
        return np.sum(s / scale) + np.sum(x * x)

    x = np.array([0.5, -1.5, 2.0])
    # s is reassigned in the block, so after it s (and scale) are constants: only x * x carries a derivative
    np.testing.assert_allclose(s2sgrad.grad(f)(x), 2 * x, rtol=1e-15)
    _, t = s2sgrad.jvp(f, (x,), np.array([0.0, 1.0, 0.0]))
    assert t == pytest.approx(2 * x[1], rel=1e-15)


def test_no_grad_outside_a_differentiated_function_is_a_plain_context_manager():
    with s2sgrad.no_grad() as block:
        y = 2.0
    assert y == 2.0 and isinstance(block, s2sgrad.no_grad)


def test_another_with_statement_is_still_refused_at_its_line():
    import contextlib

    def f(x):
        with contextlib.suppress(ValueError):
            y = x * 2
        return y

    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="'with' statements"):
        s2sgrad.grad(f)(1.0)


def test_gradient_through_the_rest_of_a_no_grad_function_matches_finite_differences():
    def f(x):
        with s2sgrad.no_grad():
            mean = np.mean(x)
        return np.sum((x - mean) ** 2)

    x = np.array([0.3, 1.2, -0.4])
    g = s2sgrad.grad(f)(x)
    np.testing.assert_allclose(g, 2 * (x - np.mean(x)), rtol=1e-14)
    # finite differences see the mean move: the two differ exactly by what no_grad removed
    assert not np.allclose(g, numeric_grad(f, (x,), 0), atol=1e-6) or np.allclose(np.sum(x - np.mean(x)), 0)


# -- retain (row 7) ------------------------------------------------------------------------------------------

def shifted_mean(a):
    b = a + 3
    c = np.mean(b)
    return c


@s2sgrad.no_grad()
def scale_called(x):
    return np.max(np.abs(x))


@s2sgrad.no_grad
def scale_bare(x):
    return np.max(np.abs(x))


def normalised_by_helpers(x):
    return np.sum(x / scale_called(x)) + np.sum(x * scale_bare(x))


def test_a_function_decorated_with_no_grad_carries_no_derivative_in_both_modes():
    x = np.array([1.0, -2.0])          # scales 2.0, constants: d/dx = 1/2 + 2 per entry
    assert scale_called(x) == 2.0 and scale_bare(x) == 2.0 and scale_called.__name__ == "scale_called"
    np.testing.assert_allclose(s2sgrad.grad(normalised_by_helpers)(x), [2.5, 2.5], rtol=1e-15)
    assert s2sgrad.jvp(normalised_by_helpers, (x,), np.ones(2))[1] == pytest.approx(5.0, rel=1e-15)


def no_grad_without_parentheses(x):
    with s2sgrad.no_grad:
        y = x * 2
    return y


def test_no_grad_without_parentheses_is_refused_saying_to_call_it():
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match=r"test_stop_and_retain.py:\d+:\d+: 'with no_grad:' without "
                       r"parentheses is not supported; write 'with s2sgrad.no_grad\(\):'"):
        s2sgrad.grad(no_grad_without_parentheses)(1.0)


def test_retain_returns_the_adjoint_of_a_local_as_retain_grad_does():
    a = np.array([1.0, 2.0, 3.0])
    da, kept = s2sgrad.grad(shifted_mean, retain=("b",))(a)
    np.testing.assert_allclose(da, [1 / 3] * 3, rtol=1e-15)
    np.testing.assert_allclose(kept["b"], [1 / 3] * 3, rtol=1e-15)       # db = da
    assert kept["b"].shape == a.shape and kept["b"].dtype == a.dtype


def test_retain_on_value_and_grad_and_differentiate_wraps_the_gradients():
    a = np.array([1.0, 2.0, 3.0])
    value, (da, kept) = s2sgrad.value_and_grad(shifted_mean, retain=("b", "c"))(a)
    assert value == 5.0 and kept["c"] == 1.0 and list(kept) == ["b", "c"]
    f = s2sgrad.differentiate(shifted_mean, retain=("b",))
    da, kept = f.grad(a)
    np.testing.assert_allclose(kept["b"], [1 / 3] * 3, rtol=1e-15)
    assert f(a) == 5.0                                # calling it runs the function itself


def test_retained_adjoint_is_taken_at_the_last_assignment_of_a_loop_variable():
    def g(x, n: int = 3):
        h = x
        for i in range(n):
            h = np.sin(h) * 2.0
        return np.sum(h * h)

    def tail(h_last):                               # the function of the last h the loop assigns
        return np.sum(h_last * h_last)

    x = np.array([0.3, 0.4])
    dx, kept = s2sgrad.grad(g, retain=("h",))(x)
    h = x
    for _ in range(3):
        h = np.sin(h) * 2.0
    np.testing.assert_allclose(kept["h"], numeric_grad(tail, (h,), 0), rtol=1e-7)
    np.testing.assert_allclose(dx, numeric_grad(g, (x,), 0), rtol=1e-6)
    dx0, kept0 = s2sgrad.grad(g, retain=("h",))(x, 0)      # no iteration: `h = x` is the last assignment
    np.testing.assert_allclose(kept0["h"], 2 * x, rtol=1e-15)


def test_a_retained_local_that_does_not_reach_the_output_has_a_zero_adjoint_of_its_shape():
    def f(x):
        unused = np.ones((2, 3)) * x
        return x * x

    dx, kept = s2sgrad.grad(f, retain=("unused",))(3.0)
    assert dx == 6.0
    np.testing.assert_array_equal(kept["unused"], np.zeros((2, 3)))


def test_a_retained_local_need_not_depend_on_the_differentiated_input():
    def f(x, w):
        s = w * 2.0
        return np.sum(s * x)

    x, w = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    dx, kept = s2sgrad.grad(f, retain=("s",))(x, w)
    np.testing.assert_array_equal(dx, w * 2.0)
    np.testing.assert_array_equal(kept["s"], x)


def test_retain_of_an_unknown_name_lists_the_functions_locals():
    with pytest.raises(ValueError, match=r"retain names 'd', which is not a local variable of shifted_mean; its "
                                         r"locals are: a, b, c"):
        s2sgrad.grad(shifted_mean, retain=("d",))(np.ones(3))


def test_a_list_grown_under_no_grad_holds_values_without_derivatives():
    def f(x):
        hs = [x * 1.0]
        with s2sgrad.no_grad():
            hs.append(x * 3.0)
        return np.sum(hs[0] * hs[1])

    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(s2sgrad.grad(f)(x), 3.0 * x)      # hs[1] a constant: d/dx = hs[1]
    _, t = s2sgrad.jvp(f, (x,), np.array([1.0, 0.0]))
    assert t == 3.0


def test_a_retained_adjoint_has_the_dtype_of_its_float32_local():
    def f(a):
        b = a * 3
        return np.sum(np.sin(b)) * 2.0

    a = np.ones(3, np.float32)
    da, kept = s2sgrad.grad(f, retain=("b",))(a)
    assert kept["b"].dtype == np.float32 and kept["b"].shape == (3,)
    np.testing.assert_allclose(kept["b"], 2.0 * np.cos(3.0), rtol=1e-6)       # float32's precision
