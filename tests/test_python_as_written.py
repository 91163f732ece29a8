"""Issue 10: Python as people write it — lambdas, library functions passed directly, nested functions and
closures, function values, guards. Each construct is checked against central differences in float64 (both
modes, and second order where it applies), or its refusal against the error it must give.
"""

import math

import numpy as np
import pytest

import s2sgrad
from gradcheck import assert_grad_matches

try:
    from scipy.integrate import odeint
except ImportError:             # SciPy is optional: the tests using it skip
    odeint = None

X3 = np.array([0.3, -0.7, 1.1])


# -- lambdas ---------------------------------------------------------------------------------------

SQUARE_SUM = lambda x: np.sum(x ** 2)                                  # noqa: E731
PAIR = (lambda x: x * 3.0, lambda x: x * x)                              # two lambdas on one line


def test_a_lambda_is_differentiated_in_both_modes_and_at_second_order():
    np.testing.assert_allclose(s2sgrad.grad(lambda x: np.sum(x ** 2))(X3), 2.0 * X3)
    np.testing.assert_allclose(s2sgrad.grad(SQUARE_SUM)(X3), 2.0 * X3)
    np.testing.assert_allclose(s2sgrad.jvp(SQUARE_SUM, (X3,), X3)[1], 2.0 * X3 @ X3)
    np.testing.assert_allclose(s2sgrad.hessian(SQUARE_SUM)(X3), 2.0 * np.eye(3))
    assert s2sgrad.grad(lambda x, y: x * y, wrt=(0, 1))(2.0, 3.0) == (3.0, 2.0)


def test_of_several_lambdas_on_one_line_the_one_passed_is_differentiated():
    assert s2sgrad.grad(PAIR[0])(2.0) == 3.0
    assert s2sgrad.grad(PAIR[1])(2.0) == 4.0


def test_the_source_of_a_lambda_names_its_line():
    text = s2sgrad.source(SQUARE_SUM)
    assert text.startswith("def grad_lambda(x")
    assert "# test_python_as_written.py:24  SQUARE_SUM = lambda x: np.sum(x ** 2)" in text


def test_a_lambda_without_source_is_refused_saying_why():
    namespace = {"np": np}
    exec("f = lambda x: x * x", namespace)
    with pytest.raises(s2sgrad.SourceUnavailableError, match="interactive prompt or built with exec"):
        s2sgrad.grad(namespace["f"])(1.0)


# -- functions defined inside the differentiated function ------------------------------------------

def loop_with_an_inner_step(x, n):
    def step(v):                       # Google Tangent's pattern: a helper defined inside, called in a loop
        return np.sin(v) * a + 0.1 * v
    a = x * 0.5
    y = x
    for i in range(n):
        y = step(y)
    return y


def lambda_assigned_to_a_name(x, w):
    sq = lambda t: t * t * w                                             # noqa: E731
    return sq(x) + sq(2.0 * x)


def inner_functions_calling_each_other(x):
    def scaled(u):
        return u * x
    def shifted(u):
        return scaled(u) + x
    return shifted(3.0) * x


def inner_recursion(x, k):
    def power(u, j):
        if j <= 0:
            return 1.0
        return power(u, j - 1) * u * c
    c = x * 0.5 + 1.0
    return power(x, k)


NESTED = [(loop_with_an_inner_step, (0.7, 3), 0), (lambda_assigned_to_a_name, (0.7, 1.5), (0, 1)),
          (inner_functions_calling_each_other, (0.7,), 0), (inner_recursion, (0.7, 3), 0)]


@pytest.mark.parametrize("fn, args, wrt", NESTED, ids=[f.__name__ for f, _, _ in NESTED])
def test_a_nested_function_closing_over_active_locals_is_differentiated_in_both_modes(fn, args, wrt):
    grads = assert_grad_matches(fn, *args, wrt=wrt if isinstance(wrt, tuple) else (wrt,))
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    directions = tuple(0.5 + k for k in range(len(positions)))
    _, tangent = s2sgrad.jvp(fn, args, directions if isinstance(wrt, tuple) else directions[0], wrt=wrt)
    assert tangent == pytest.approx(sum(g * d for g, d in zip(grads, directions)), rel=1e-10)


def test_the_hessian_goes_through_a_nested_function():
    def f(x):
        return loop_with_an_inner_step(x, 3)
    h = s2sgrad.hessian(f)(0.7)
    eps = 1e-5
    g = s2sgrad.grad(f)
    assert h == pytest.approx((g(0.7 + eps) - g(0.7 - eps)) / (2 * eps), rel=1e-6)


def test_a_nested_function_becomes_a_helper_that_takes_the_closed_over_values_by_keyword():
    text = s2sgrad.source(loop_with_an_inner_step)
    assert "vjp_step(y, a=a)" in text and "def pullback_step(saved, dout):" in text


def passes_a_closure_on(x):
    def times_x(u):
        return u * x
    return apply_twice(times_x, 1.0)


def apply_twice(fn, u):
    return fn(fn(u))


def test_a_nested_function_reading_active_locals_used_as_a_value_is_refused_at_its_use():
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="as a value") as err:
        s2sgrad.grad(passes_a_closure_on)(2.0)
    assert "apply_twice(times_x" in err.value.text


# -- function values ------------------------------------------------------------------------------

def relu(z):
    return np.maximum(z, 0.0)


def layer(W, x, act=np.tanh):
    return act(W @ x)


def net(W, x, act=np.tanh):
    return np.sum(layer(W, x, act) ** 2)


def apply_twice(fn, u):
    return fn(fn(u))


def sine_twice(x):
    return apply_twice(np.sin, x) * x


W22 = np.array([[0.5, -0.3], [0.2, 0.8]])
X2 = np.array([1.0, -2.0])


@pytest.mark.parametrize("act", [np.tanh, relu, lambda z: z * z], ids=["np.tanh", "relu", "lambda"])
def test_a_parameter_holding_a_function_is_specialised_on_the_function_passed(act):
    assert s2sgrad.check_grad(net, W22, X2, act)
    g = s2sgrad.grad(net)(W22, X2, act)
    u = np.ones((2, 2))
    assert s2sgrad.jvp(net, (W22, X2, act), u)[1] == pytest.approx(np.sum(g * u), rel=1e-10)


def test_a_library_function_passed_to_a_helper_is_differentiated_by_its_rule_at_every_order():
    assert s2sgrad.check_grad(sine_twice, 0.7)
    eps = 1e-5
    g = s2sgrad.grad(sine_twice)
    assert s2sgrad.hessian(sine_twice)(0.7) == pytest.approx((g(0.7 + eps) - g(0.7 - eps)) / (2 * eps), rel=1e-6)


def test_each_function_passed_gets_code_of_its_own():
    gradient = s2sgrad.grad(net).__s2sgrad_derivative__[1]
    tanh_code = gradient.specialised({"W": W22, "x": X2, "act": np.tanh}).full_text
    relu_code = gradient.specialised({"W": W22, "x": X2, "act": relu}).full_text
    assert "(1.0 - out * out)" in tanh_code                   # np.tanh's rule, inlined
    assert "def vjp_relu" in relu_code and "def vjp_relu" not in tanh_code


# -- guards and logging --------------------------------------------------------------------------

def guarded(x, c):
    if np.ndim(x) != 1:
        raise ValueError("x must be a vector")
    assert c > 0.0, "c must be positive"
    print("x has", len(x), "entries")
    import_free_warning(x)
    return np.sum(x * x) * c


def import_free_warning(x):
    return x


def test_guards_and_logging_run_in_the_primal_only(capsys):
    assert s2sgrad.check_grad(guarded, X3, 2.0, wrt=(0, 1))
    assert "x has 3 entries" in capsys.readouterr().out
    with pytest.raises(ValueError, match="must be a vector"):
        s2sgrad.grad(guarded)(np.ones((2, 2)), 2.0)
    with pytest.raises(AssertionError, match="must be positive"):
        s2sgrad.grad(guarded)(X3, -1.0)


ACTIVATIONS = [np.tanh, relu, np.tanh]
BY_NAME = {"tanh": np.tanh, "relu": relu}


def stacked_layers(x, W):
    h = x
    for i in range(len(ACTIVATIONS)):
        h = ACTIVATIONS[i](W @ h)
    return np.sum(h)


def chosen_by_name(x, W, which):
    return np.sum(BY_NAME[which](W @ x))


def test_a_function_taken_from_a_container_is_dispatched_over_its_functions():
    assert s2sgrad.check_grad(stacked_layers, X2, W22, wrt=(0, 1))
    assert s2sgrad.jvp(stacked_layers, (X2, W22), X2)[1] == pytest.approx(
        np.sum(s2sgrad.grad(stacked_layers)(X2, W22) * X2), rel=1e-10)
    for which in ("tanh", "relu"):
        assert s2sgrad.check_grad(chosen_by_name, X2, W22, which, wrt=(0, 1))
    assert "if fn is np.tanh:" in s2sgrad.source(stacked_layers)


def test_a_function_put_in_the_container_after_the_code_was_built_is_refused_when_it_is_called():
    saved = list(ACTIVATIONS)
    s2sgrad.grad(stacked_layers)(X2, W22)
    try:
        ACTIVATIONS[1] = np.sin
        with pytest.raises(s2sgrad.S2SGradError, match="not one of the functions its container held"):
            s2sgrad.grad(stacked_layers)(X2, W22)
    finally:
        ACTIVATIONS[:] = saved


# -- methods and objects -------------------------------------------------------------------------

class Layer:
    def __init__(self, W):
        self.W = W

    def __call__(self, x):
        return np.tanh(self.W @ x)


class Model:
    def __init__(self):
        self.first = Layer(W22.copy())
        self.scale = 2.0

    def forward(self, x):
        return self.first(x) * self.scale

    def loss(self, x):
        return np.sum(self.forward(x) ** 2)


MODEL = Model()


def loss_of_the_global_model(x):
    return np.sum(MODEL.forward(x))


def loss_of_a_model_passed(model, x):
    return model.loss(x)


def test_methods_call_and_attributes_of_objects_are_differentiated_in_both_modes():
    assert s2sgrad.check_grad(loss_of_the_global_model, X2)
    assert s2sgrad.check_grad(loss_of_a_model_passed, MODEL, X2, wrt=1)
    g = s2sgrad.grad(loss_of_a_model_passed, wrt=1)(MODEL, X2)
    assert s2sgrad.jvp(loss_of_a_model_passed, (MODEL, X2), X2, wrt=1)[1] == pytest.approx(g @ X2, rel=1e-10)
    h = s2sgrad.hessian(loss_of_a_model_passed, wrt=1)(MODEL, X2)
    eps = 1e-5
    fd = np.stack([(s2sgrad.grad(loss_of_a_model_passed, wrt=1)(MODEL, X2 + eps * e)
                    - s2sgrad.grad(loss_of_a_model_passed, wrt=1)(MODEL, X2 - eps * e)) / (2 * eps) for e in np.eye(2)])
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-8)


def test_a_bound_method_passed_directly_is_differentiated_with_its_object():
    assert s2sgrad.check_grad(MODEL.loss, X2)
    assert "model.loss(x)" in s2sgrad.source(MODEL.loss)


def test_an_attribute_rebound_after_the_code_was_built_rebuilds_it():
    model = Model()
    before = s2sgrad.grad(loss_of_a_model_passed, wrt=1)(model, X2)
    model.scale = 3.0
    after = s2sgrad.grad(loss_of_a_model_passed, wrt=1)(model, X2)
    np.testing.assert_allclose(after, before * 9.0 / 4.0, rtol=1e-12)    # the loss scales with scale ** 2


def imag_of(x):
    return np.sum(x.imag * x)


def test_an_attribute_of_a_value_carrying_a_derivative_is_refused():
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="attribute '.imag'"):
        s2sgrad.grad(imag_of)(X2)


def apply_to(fn, x):
    return fn(x)


def lambda_passed_to_a_helper(x):
    return apply_to(lambda u: u * u, x) + apply_to(lambda u: np.sin(u), 2.0 * x)


def lambda_passed_to_a_library_function(y0, k):
    ys = odeint(lambda y, t, rate: -rate * y, y0, np.linspace(0.0, 1.0, 3), args=(k,), rtol=1e-10, atol=1e-12)
    return np.sum(ys ** 2)


def lambda_passed_reading_a_local(y0, k):
    ys = odeint(lambda y, t: -k * y, y0, np.linspace(0.0, 1.0, 3))
    return np.sum(ys)


def test_a_lambda_passed_as_an_argument_is_a_function_of_its_own():
    assert s2sgrad.grad(lambda_passed_to_a_helper)(0.7) == pytest.approx(1.4 + 2.0 * np.cos(1.4), rel=1e-12)
    assert s2sgrad.jvp(lambda_passed_to_a_helper, (0.7,), 1.0)[1] == pytest.approx(1.4 + 2.0 * np.cos(1.4), rel=1e-12)
    text = s2sgrad.source(lambda_passed_to_a_helper)
    assert "vjp_apply_to_wrt_x(fn, x)" in text and "(fn_1, times_x)" in text     # named in the order written


def test_a_lambda_passed_to_odeint_with_args_is_differentiated():
    pytest.importorskip("scipy")
    y0 = np.array([1.0, 0.5])
    g = s2sgrad.grad(lambda_passed_to_a_library_function, wrt=(0, 1))(y0, 0.7)
    eps = 1e-6
    f = lambda_passed_to_a_library_function
    numeric_k = (f(y0, 0.7 + eps) - f(y0, 0.7 - eps)) / (2 * eps)
    assert g[1] == pytest.approx(numeric_k, rel=1e-6)


def test_a_lambda_passed_on_that_reads_a_local_is_refused_saying_to_pass_it_through_args():
    pytest.importorskip("scipy")
    pattern = r"passing a lambda that reads variables .*\('k'\).*args="
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match=pattern) as err:
        s2sgrad.grad(lambda_passed_reading_a_local)(np.ones(2), 0.7)
    assert err.value.filename == __file__



def relu(u):
    return np.maximum(u, 0.0)


def activation_chosen_by_a_condition(x, c):
    act = np.tanh if c > 0 else np.sin         # a local only ever assigned functions: dispatched at its call
    return np.sum(act(x) ** 2)


def activation_chosen_in_branches(x, c):
    if c > 0:
        act = relu
    else:
        act = np.cos
    return np.sum(act(x * 2.0))


@pytest.mark.parametrize("fn", [activation_chosen_by_a_condition, activation_chosen_in_branches],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("c", [1.0, -1.0])
def test_a_local_assigned_functions_is_dispatched_over_them_in_both_modes(fn, c):
    x = np.array([0.3, -0.7, 1.1])
    assert_grad_matches(lambda v: fn(v, c), x)
    g = s2sgrad.grad(fn)(x, c)
    u = np.array([0.5, -1.0, 2.0])
    assert s2sgrad.jvp(fn, (x, c), u)[1] == pytest.approx(np.sum(g * u), rel=1e-10)
