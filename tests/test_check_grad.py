"""check_grad: agrees on correct gradients, and catches wrong ones with a message naming the worst
element (its index, both values, the error) and the worst random direction.

Wrong gradients are produced on purpose by replacing `s2sgrad.checking.grad` (the reference
check_grad calls) with a wrapper that corrupts what the real one returns.
"""

import math
import re

import numpy as np
import pytest

import s2sgrad
import s2sgrad.checking

REAL_GRAD = s2sgrad.checking.grad


def scalar_fn(x, a):
    return math.sin(x) * a + x * x


def matrix_fn(W, x, b):
    return np.sum(np.tanh(W @ x + b) * np.exp(-b))


def with_default(x, scale=3.0):
    return np.sum(np.sin(x) * scale)


@s2sgrad.differentiate(wrt=("x", "a"))
def decorated(x, a):
    return math.exp(x * a) - a


def matrix_args():
    rng = np.random.default_rng(1)
    return rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=2)


def corrupt(monkeypatch, change):
    """Make check_grad see `change(gradients)` instead of s2sgrad's real (tuple of) gradients."""
    def wrong_grad(fn, wrt):
        real = REAL_GRAD(fn, wrt=wrt)
        return lambda *args: change(tuple(real(*args)))
    monkeypatch.setattr(s2sgrad.checking, "grad", wrong_grad)


def worst_element(message, where):
    """(s2sgrad value, finite-difference value, error) reported for the element `where`."""
    match = re.search(re.escape(f"worst element {where}: ") +
                      r"s2sgrad (\S+), finite differences (\S+), error (\S+)", message)
    assert match, f"no worst element {where} in:\n{message}"
    return tuple(float(v) for v in match.groups())


# ---------------------------------------------------------------------------------------------
# Correct gradients pass
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrt", [0, 1, (0, 1), ("x", "a"), ("a",)])
def test_correct_scalar_gradient_passes(wrt):
    assert s2sgrad.check_grad(scalar_fn, 0.5, 1.5, wrt=wrt) is True


@pytest.mark.parametrize("wrt", [0, (0, 1, 2), ("b", "W")])
def test_correct_array_gradient_passes(wrt):
    W, x, b = matrix_args()
    assert s2sgrad.check_grad(matrix_fn, W, x, b, wrt=wrt) is True


def test_default_arguments_and_decorated_functions_are_checked():
    assert s2sgrad.check_grad(with_default, np.array([0.1, -2.0, 1.0])) is True
    assert s2sgrad.check_grad(decorated, 0.3, -0.7, wrt=(0, 1)) is True


def test_callers_arrays_are_left_unchanged():
    W, x, b = matrix_args()
    before = [W.copy(), x.copy(), b.copy()]
    s2sgrad.check_grad(matrix_fn, W, x, b, wrt=(0, 1, 2))
    for after, copy in zip((W, x, b), before):
        np.testing.assert_array_equal(after, copy)


def test_float16_inputs_are_differenced_in_float64():
    # in float16, x + 1e-6 == x: differences taken in float16 would all be zero
    x = np.array([0.5, -1.0, 2.0], dtype=np.float16)
    assert x[0] + np.float16(1e-6) == x[0]
    assert s2sgrad.check_grad(with_default, x, rtol=5e-3, atol=1e-3) is True


def test_float32_inputs_pass_with_a_tolerance_fit_for_float32():
    W, x, b = (a.astype(np.float32) for a in matrix_args())
    assert s2sgrad.check_grad(matrix_fn, W, x, b, wrt=(0, 1, 2), rtol=1e-4, atol=1e-6) is True


def test_integer_array_in_wrt_raises_type_error_like_grad():
    with pytest.raises(TypeError, match="int64"):
        s2sgrad.check_grad(with_default, np.array([1, 2, 3]))


# ---------------------------------------------------------------------------------------------
# Wrong gradients fail, with a message that locates the error
# ---------------------------------------------------------------------------------------------

def test_wrong_element_is_reported_with_its_index_both_values_and_the_error(monkeypatch):
    def bump_W_1_2(grads):
        dW = grads[0].copy()
        dW[1, 2] += 0.25
        return (dW,) + grads[1:]
    corrupt(monkeypatch, bump_W_1_2)
    W, x, b = matrix_args()
    with pytest.raises(s2sgrad.GradientCheckError) as info:
        s2sgrad.check_grad(matrix_fn, W, x, b, wrt=(0, 2))
    message = str(info.value)
    true_dW = REAL_GRAD(matrix_fn, wrt=0)(W, x, b)
    ours, numeric, error = worst_element(message, "W[1, 2]")
    assert ours == pytest.approx(true_dW[1, 2] + 0.25, rel=1e-9)
    assert numeric == pytest.approx(true_dW[1, 2], rel=1e-6, abs=1e-8)
    assert error == pytest.approx(0.25, rel=1e-2)
    assert "W: MISMATCH" in message
    assert re.search(r"W: MISMATCH; worst random direction u \(\d of 3, seed 0\): <s2sgrad, u> \S+, "
                     r"finite differences \S+, error \S+", message)
    assert "b: ok; worst element b[" in message          # the untouched argument is reported as fine
    assert "matrix_fn" in message and "('W', 'b')" in message


def test_wrong_scalar_gradient_is_reported_with_both_values(monkeypatch):
    corrupt(monkeypatch, lambda grads: tuple(2.0 * g for g in grads))
    with pytest.raises(s2sgrad.GradientCheckError) as info:
        s2sgrad.check_grad(scalar_fn, 0.5, 1.5, wrt="a")
    ours, numeric, error = worst_element(str(info.value), "a")
    assert ours == pytest.approx(2.0 * math.sin(0.5), rel=1e-9)
    assert numeric == pytest.approx(math.sin(0.5), rel=1e-8)
    assert error == pytest.approx(math.sin(0.5), rel=1e-2)
    assert "random direction" not in str(info.value)      # a scalar has no directions to try


def test_gradient_check_error_is_an_assertion_error_and_an_s2sgrad_error(monkeypatch):
    corrupt(monkeypatch, lambda grads: tuple(-g for g in grads))
    with pytest.raises(AssertionError) as info:
        s2sgrad.check_grad(scalar_fn, 0.5, 1.5)
    assert isinstance(info.value, s2sgrad.S2SGradError)
    assert isinstance(info.value, s2sgrad.GradientCheckError)


def test_failure_message_is_deterministic(monkeypatch):
    corrupt(monkeypatch, lambda grads: tuple(g * 1.01 for g in grads))
    W, x, b = matrix_args()
    messages = []
    for _ in range(2):
        with pytest.raises(s2sgrad.GradientCheckError) as info:
            s2sgrad.check_grad(matrix_fn, W, x, b, wrt=(0, 1, 2))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def _scale_one(factor):
    def change(grads):
        g = np.array(grads[0], dtype=float)
        g.flat[1] *= factor
        return (g,) + grads[1:]
    return change


def _transpose(grads):
    return (grads[0].T.copy(),) + grads[1:]


def _nan_at_first(grads):
    g = grads[0].copy()
    g.flat[0] = np.nan
    return (g,) + grads[1:]


@pytest.mark.parametrize("change", [
    lambda grads: tuple(np.zeros_like(g) for g in grads),
    lambda grads: tuple(-g for g in grads),
    lambda grads: tuple(0.5 * g for g in grads),
    _scale_one(1.0 + 1e-3),          # one element off by 0.1 %: well above rtol = 1e-5
    _transpose,                      # a square matrix's gradient transposed
    _nan_at_first,
], ids=["zero", "negated", "halved", "one_element_off_by_0.1%", "transposed", "nan"])
def test_the_check_can_fail(monkeypatch, change):
    rng = np.random.default_rng(2)
    W, x, b = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
    assert s2sgrad.check_grad(matrix_fn, W, x, b, wrt=0) is True      # the real gradient passes
    corrupt(monkeypatch, change)
    with pytest.raises(s2sgrad.GradientCheckError, match="W: MISMATCH"):
        s2sgrad.check_grad(matrix_fn, W, x, b, wrt=0)
