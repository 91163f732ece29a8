"""vjp: the forward sweep runs once, the pullback only reverses, any number of times; checked against the
dot-product identity <v, J u> = <J^T v, u> with J u from forward mode (jvp), and against finite differences."""

import math

import numpy as np
import pytest

import s2sgrad
from gradcheck import numeric_grad

RNG = np.random.default_rng(7)


def double(x):
    return x * 2


def test_seed_idiom_2_backward_with_a_seed_vector():
    y, pullback = s2sgrad.vjp(double, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(y, [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(pullback(np.ones(3)), [2.0, 2.0, 2.0])


def test_seed_idiom_9_pullback_may_be_called_again_and_gives_the_same_each_time():
    _, pullback = s2sgrad.vjp(double, np.array([1.0, 2.0, 3.0]))
    first, second = pullback(np.ones(3)), pullback(np.ones(3))
    np.testing.assert_array_equal(first, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(second, first)


def loud(x, w):
    print("forward")
    h = np.tanh(x * w)
    for i in range(3):
        h = h * x + 0.5
    return h


def test_forward_sweep_runs_once_and_the_pullback_only_reverses(capsys):
    x, w = np.array([0.3, -0.2]), np.array([1.5, 0.7])
    _, pullback = s2sgrad.vjp(loud, x, w, wrt=(0, 1))
    for _ in range(3):
        pullback(np.array([1.0, -1.0]))
    assert capsys.readouterr().out == "forward\n"
    text = s2sgrad.pipeline.derive(loud, ("x", "w"), mode="vjp").text
    pullback_text = "\n".join(line for line in text[text.index("def pullback_loud"):].splitlines()
                              if not line.strip().startswith("#"))
    assert "np.tanh(" not in pullback_text and "print" not in pullback_text


def test_the_caller_s_cotangent_and_arguments_are_not_changed():
    x = np.array([0.5, 1.5, -0.5])
    ct = np.array([1.0, 2.0, 3.0])
    _, pullback = s2sgrad.vjp(writes_in_place, x)
    pullback(ct)
    np.testing.assert_array_equal(ct, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x, [0.5, 1.5, -0.5])


def writes_in_place(x):
    y = x * x
    y[1] = y[0] * x[2]
    y[2] += y[1]
    return y


def test_pullback_of_a_function_writing_into_arrays_can_run_again():
    x = np.array([0.5, 1.5, -0.5])
    _, pullback = s2sgrad.vjp(writes_in_place, x)
    ct = np.array([1.0, 2.0, 3.0])
    first = pullback(ct)
    np.testing.assert_allclose(pullback(ct), first)
    expected = numeric_grad(lambda x: np.dot(ct, writes_in_place(x)), (x,), 0)
    np.testing.assert_allclose(first, expected, rtol=1e-6)


def two_outputs(x, a):
    y = np.sin(x) * a
    return y, np.sum(y * x)


def test_tuple_output_takes_a_tuple_cotangent():
    x, a = np.array([0.1, 0.7]), 1.3
    (y, s), pullback = s2sgrad.vjp(two_outputs, x, a, wrt=(0, 1))
    v = (np.array([0.5, -2.0]), 3.0)
    dx, da = pullback(v)
    f = lambda x, a: np.dot(v[0], two_outputs(x, a)[0]) + v[1] * two_outputs(x, a)[1]
    np.testing.assert_allclose(dx, numeric_grad(f, (x, a), 0), rtol=1e-6)
    assert da == pytest.approx(numeric_grad(f, (x, a), 1), rel=1e-6)
    assert isinstance(da, float)


def test_returning_the_same_value_twice_adds_both_cotangents():
    def_ = s2sgrad.vjp(same_twice, 2.0)[1]((1.0, 10.0))
    assert def_ == pytest.approx(11.0 * 2 * 2.0)


def same_twice(x):
    y = x * x
    return y, y


def test_wrong_cotangents_are_refused_with_the_shapes():
    _, pullback = s2sgrad.vjp(double, np.ones(3))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        pullback(np.ones(2))
    _, pullback = s2sgrad.vjp(two_outputs, np.ones(2), 1.0)
    with pytest.raises(ValueError, match="tuple of 2"):
        pullback(np.ones(2))


def test_grad_of_a_tuple_output_points_to_vjp():
    with pytest.raises(ValueError, match="tuple of 2 values; use vjp"):
        s2sgrad.grad(two_outputs)(np.ones(2), 1.0)


def test_differentiate_objects_have_vjp():
    f = s2sgrad.differentiate(double)
    y, pullback = f.vjp(np.ones(2))
    np.testing.assert_array_equal(pullback(np.array([1.0, 3.0])), [2.0, 6.0])


# -- the dot-product identity over constructs and rule families ------------------------------------

def branchy(x):
    if np.sum(x) > 0.0:
        y = np.exp(x) * 2.0
    else:
        y = x * x
    return y


def loop_break(x):
    y = x
    for i in range(10):
        y = np.sin(y) + x * 0.5
        if np.max(y) > 3.0:
            break
    return y


def while_loop(x):
    y = x * 1.0
    k = 0
    while k < 4:
        y = y * np.cos(y) + x
        k += 1
    return y


def helper(z, scale=2.0):
    return np.tanh(z) * scale


def calls_helper(x):
    return helper(x * x, scale=3.0) + helper(x)


def indexed(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * x[(i + 1) % 3]
    y[1:] += x[:2] ** 2
    return y


def matrix(x):
    W = np.array([[1.0, 2.0, -1.0], [0.5, -0.3, 0.2]])
    return np.tanh(W @ x) / (1.0 + x[0] ** 2)


def scalar_math(x):
    return math.sin(x) * math.exp(x) + math.sqrt(x * x + 1.0)


DOT = [branchy, loop_break, while_loop, calls_helper, indexed, matrix]


@pytest.mark.parametrize("fn", DOT + [scalar_math], ids=[f.__name__ for f in DOT + [scalar_math]])
def test_vjp_is_the_transpose_of_jvp(fn):
    x = 0.7 if fn is scalar_math else np.array([0.3, -0.8, 0.5])
    for _ in range(3):
        u = float(RNG.normal()) if fn is scalar_math else RNG.normal(size=3)
        y, pullback = s2sgrad.vjp(fn, x)
        v = float(RNG.normal()) if np.ndim(y) == 0 else RNG.normal(size=np.shape(y))
        _, ju = s2sgrad.jvp(fn, (x,), u)
        jtv = pullback(v)
        assert np.sum(v * ju) == pytest.approx(np.sum(jtv * u), rel=1e-10, abs=1e-12)


def test_jvp_of_a_tuple_output_returns_a_tuple_tangent_matching_the_vjp():
    x, a = np.array([0.1, 0.7]), 1.3
    u = (np.array([0.4, -1.0]), 0.5)
    (y, s), (ty, ts) = s2sgrad.jvp(two_outputs, (x, a), u, wrt=(0, 1))
    assert ty.shape == y.shape and isinstance(ts, float)
    _, pullback = s2sgrad.vjp(two_outputs, x, a, wrt=(0, 1))
    v = (np.array([0.5, -2.0]), 3.0)
    dx, da = pullback(v)
    assert np.dot(v[0], ty) + v[1] * ts == pytest.approx(np.dot(dx, u[0]) + da * u[1], rel=1e-12)
