"""Natural code that used to get a misleading message: each now works, or is refused saying where,
what, and what to write instead. Gradients that work are checked against central finite differences
in float64 (tolerances stated at each check)."""

import copy
import math

import numpy as np
import pytest

import s2sgrad
import s2sgrad.checking

EPS = 1e-6


def central(f, x):
    """Central difference of a scalar function of a float (error ~ EPS**2 * f''' ~ 1e-12 here)."""
    return (f(x + EPS) - f(x - EPS)) / (2 * EPS)


# -- grad of a @differentiate object's .grad ------------------------------------------------------

@s2sgrad.differentiate
def cube_sin(x):
    return x * x * x * math.sin(x)


def test_grad_of_a_differentiated_functions_grad_method_is_its_second_derivative():
    x = 0.7
    second = s2sgrad.grad(cube_sin.grad)(x)
    assert second == pytest.approx(central(cube_sin.grad, x), rel=1e-7)       # differences of the gradient
    assert second == s2sgrad.grad(s2sgrad.grad(cube_sin))(x)                 # the same code, the same value


# -- an augmented assignment to a parameter names the operator written ----------------------------

def times(x):
    x *= 2.0
    return x.sum()


def minus(x):
    x -= 2.0
    return x.sum()


def divided(x):
    x /= 2.0
    return x.sum()


def power(x):
    x **= 2.0
    return x.sum()


def plus(x):
    x += 2.0
    return x.sum()


@pytest.mark.parametrize("fn, op", [(times, "*"), (minus, "-"), (divided, "/"), (power, "**"), (plus, "+")])
def test_augmented_assignment_to_a_parameter_is_refused_with_the_operator_written(fn, op):
    with pytest.raises(s2sgrad.UnsupportedSyntaxError) as info:
        s2sgrad.grad(fn)(np.ones(3))
    assert f"write 'x = x {op} ...' to make a new array instead" in str(info.value)


# -- item assignment into a dict parameter or a copy of it ----------------------------------------

def doubled_by_dict(params):
    out = dict(params)
    out["w"] = params["w"] * 2
    return np.sum(out["w"] * params["b"])


def doubled_in_place(params):
    out = params
    out["w"] = params["w"] * 2
    return np.sum(out["w"] * params["b"])


def doubled_by_copy(params):
    out = copy.copy(params)
    out["w"] = params["w"] * 2
    return np.sum(out["w"] * params["b"])


def doubled_by_comprehension(params):
    out = {k: v for k, v in params.items()}
    out["w"] = params["w"] * 2
    return np.sum(out["w"] * params["b"])


PARAMS = {"w": np.array([0.5, -1.0, 2.0]), "b": np.array([1.5, 0.25, -0.5])}


@pytest.mark.parametrize("fn, says, at", [
    (doubled_by_dict, "'dict(params)' of a dict that carries a derivative is not supported", "out = dict(params)"),
    (doubled_in_place, "assigning an item of 'out', which may be the caller's container 'params'",
     'out["w"] = params["w"] * 2'),
], ids=["dict_of_it", "another_name_for_it"])
def test_writing_into_a_dict_parameter_is_refused_speaking_of_the_container_and_naming_copies_that_work(
        fn, says, at):
    with pytest.raises(s2sgrad.UnsupportedSyntaxError) as info:
        s2sgrad.grad(fn)(PARAMS)
    message = str(info.value)
    assert says in message
    assert "'out = copy.copy(params)' or 'out = {k: v for k, v in params.items()}'" in message
    assert message.splitlines()[-2].strip() == at            # the line the refusal points at
    assert "array" not in message


@pytest.mark.parametrize("fn", [doubled_by_copy, doubled_by_comprehension])
def test_the_copies_the_message_names_are_differentiated(fn):
    # 2 * b for w, 2 * w for b; check_grad: central differences, rtol 1e-5
    assert s2sgrad.check_grad(fn, PARAMS)
    g = s2sgrad.grad(fn)(PARAMS)
    np.testing.assert_allclose(g["w"], 2 * PARAMS["b"], rtol=1e-12)
    np.testing.assert_allclose(g["b"], 2 * PARAMS["w"], rtol=1e-12)


# -- generic code of a function calling a parameter ------------------------------------------------

class Linear:
    def __init__(self):
        self.W = np.array([[1.0, -2.0], [0.5, 3.0]])

    def __call__(self, x):
        return np.tanh(self.W @ x)


def apply_layer(lin, x):
    return np.sum(lin(x))


def test_generic_code_of_a_call_of_a_parameter_says_it_cannot_know_the_argument():
    with pytest.raises(s2sgrad.NoGradientRuleError) as info:
        s2sgrad.source(apply_layer, wrt=("lin", "x"))
    message = str(info.value)
    assert "'lin' is a parameter called as a function" in message
    assert "cannot know what it holds" in message
    assert "s2sgrad.grad(apply_layer)(...) is specialised on it" in message
    assert "'s2sgrad show file.py:Class.__call__'" in message
    assert "closure or lambda" not in message


def test_the_gradient_called_with_the_object_is_specialised_on_it():
    x = np.array([0.3, -0.8])
    assert s2sgrad.check_grad(apply_layer, Linear(), x, wrt="x")       # central differences, rtol 1e-5


# -- check_grad of a vector-valued function ----------------------------------------------------------

def layer(W, x):
    return np.tanh(W @ x) * x[0]


def layer_args():
    rng = np.random.default_rng(3)
    return rng.normal(size=(2, 3)), rng.normal(size=3)


def test_check_grad_of_a_vector_output_checks_its_jacobian():
    assert s2sgrad.check_grad(layer, *layer_args(), wrt=(0, 1)) is True
    assert s2sgrad.check_grad(lambda x: np.sin(x) * x, np.array([0.5, 1.0, 2.0])) is True


def test_check_grad_of_a_vector_output_names_the_row_that_is_wrong(monkeypatch):
    real = s2sgrad.checking.vjp

    def wrong_second_row(fn, *args, wrt):
        value, pullback = real(fn, *args, wrt=wrt)

        def pulled(cotangent):
            dW, dx = pullback(cotangent)
            return (dW, dx * 1.001) if cotangent[1] else (dW, dx)     # d out[1] / d x off by 0.1 %
        return value, pulled
    monkeypatch.setattr(s2sgrad.checking, "vjp", wrong_second_row)
    with pytest.raises(s2sgrad.GradientCheckError) as info:
        s2sgrad.check_grad(layer, *layer_args(), wrt=(0, 1))
    message = str(info.value)
    assert "d out[1] / d x: MISMATCH" in message
    assert "d out[0]" not in message and "/ d W" not in message        # only the rows that disagree
