"""Jacobians: forward mode (one jvp per input entry) == reverse mode (one reverse sweep per output
entry, the cotangent passed as the seed) == central finite differences (rtol 1e-6, atol 1e-8);
shape out.shape + arg.shape."""

import math

import numpy as np
import pytest

import s2sgrad
from gradcheck import EPS


def numeric_jacobian(fn, args, k, eps=EPS):
    x = np.asarray(args[k], dtype=float)
    out = np.asarray(fn(*args))
    jac = np.zeros(out.shape + x.shape)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        plus = list(args)
        minus = list(args)
        plus[k], minus[k] = (xp, xm) if x.shape else (float(xp), float(xm))
        jac[(...,) + i] = (np.asarray(fn(*plus)) - np.asarray(fn(*minus))) / (2 * eps)
    return jac


def double(x):
    return 2.0 * x


def layer(x, W, b):
    return np.tanh(W @ x + b)


def outer_like(x, s):
    y = np.zeros(4)
    for i in range(4):
        y[i] = math.sin(s * i) * np.sum(x * x) + x[i % 3] * s
    return y


def curve(t):
    return np.array([1.0, 0.0]) * math.cos(t) + np.array([0.0, 1.0]) * math.sin(t) * t


X3 = np.array([0.3, -0.7, 1.1])
W23 = np.array([[0.5, -1.0, 0.25], [1.5, 0.2, -0.3]])
B2 = np.array([0.1, -0.2])

CASES = [
    (double, (X3,), 0),
    (layer, (X3, W23, B2), (0, 1, 2)),
    (outer_like, (X3, 0.7), (0, 1)),
    (curve, (0.8,), 0),
]


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_forward_reverse_and_finite_difference_jacobians_agree_with_shape_out_plus_arg(fn, args, wrt):
    forward = s2sgrad.jacobian(fn, wrt=wrt, mode="forward")(*args)
    reverse = s2sgrad.jacobian(fn, wrt=wrt, mode="reverse")(*args)
    auto = s2sgrad.jacobian(fn, wrt=wrt)(*args)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    if not isinstance(wrt, tuple):
        forward, reverse, auto = (forward,), (reverse,), (auto,)
    out_shape = np.shape(fn(*args))
    for k, jf, jr, ja in zip(positions, forward, reverse, auto):
        assert jf.shape == jr.shape == ja.shape == out_shape + np.shape(args[k])
        np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ja, jr, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(jf, numeric_jacobian(fn, args, k), rtol=1e-6, atol=1e-8)


def test_jacobian_of_y_equals_2x_is_twice_the_identity_in_both_modes():
    for mode in ("forward", "reverse", "auto"):
        jac = s2sgrad.jacobian(double, mode=mode)(np.array([1.0, -2.0, 0.5, 4.0]))
        np.testing.assert_array_equal(jac, 2.0 * np.eye(4))


def test_jacobian_keeps_float32():
    jac = s2sgrad.jacobian(double, mode="forward")(np.ones(3, np.float32))
    assert jac.dtype == np.float32
    assert s2sgrad.jacobian(double, mode="reverse")(np.ones(3, np.float32)).dtype == np.float32


def test_jacobian_of_scalar_function_of_scalar_is_its_derivative():
    jac = s2sgrad.jacobian(curve, mode="forward")(0.8)
    np.testing.assert_allclose(jac, [-math.sin(0.8), math.sin(0.8) + 0.8 * math.cos(0.8)])


def test_unknown_jacobian_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        s2sgrad.jacobian(double, mode="sideways")
