"""Issue 8's reproducers: every value that depends on a differentiated input is differentiated or refused,
wherever it appears. Each case below gave a plausible wrong number with no error; now it gives the true
value (checked against central differences in float64) or a located error naming the user's line.
"""

import numpy as np
import pytest

import s2sgrad
from gradcheck import assert_grad_matches

W = np.array([[1.0, 2.0], [3.0, 4.0]])
CONSTANTS = {"scale": 2.0}


def _line_of(fn, text):
    """The file line number of the first line of fn's source containing `text`."""
    import inspect
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, line in enumerate(lines) if text in line)


# -- a function value built from an active value (the callee position) -----------------------------

def make(a):
    return lambda x: x * a


def callee_from_active(a):
    return make(a)(1.0)


def callee_from_active_named(a):
    g = make(a)
    return g(1.0)


@pytest.mark.parametrize("fn", [callee_from_active, callee_from_active_named])
def test_a_closure_a_factory_makes_from_a_differentiated_input_is_differentiated_when_called(fn):
    assert s2sgrad.grad(fn)(2.0) == 1.0                  # d/da (1.0 * a); was silently 0.0, then refused
    assert s2sgrad.jvp(fn, (2.0,), 1.0)[1] == 1.0


def apply_to_one(g):
    return g(1.0)


def closure_passed_on(a):
    return apply_to_one(make(a))


def test_a_closure_made_from_a_differentiated_input_and_passed_on_is_refused():
    # differentiating make as a helper meets the lambda it returns as a value: refused at its line
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="lambdas used as values") as err:
        s2sgrad.grad(closure_passed_on)(2.0)
    assert err.value.filename == __file__ and err.value.lineno == _line_of(make, "return lambda")


def callee_from_inactive(a):
    g = make(3.0)
    return g(1.0) * a


def test_a_function_value_that_carries_no_derivative_runs_in_the_primal_only():
    assert s2sgrad.grad(callee_from_inactive)(2.0) == 3.0


# -- subscript indices and bases -------------------------------------------------------------------

def r_of_active(x):
    return np.sum(np.r_[x, x] ** 2)


def c_of_active(x):
    return np.sum(np.c_[x, x] ** 2)


def dict_index_of_active(x):
    return CONSTANTS[x] * 2.0


@pytest.mark.parametrize("fn", [r_of_active, c_of_active])
def test_np_r_and_np_c_of_differentiated_values_are_differentiated(fn):
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(s2sgrad.grad(fn)(x), 4.0 * x, rtol=1e-12)       # was silently 0, then refused
    np.testing.assert_allclose(s2sgrad.jvp(fn, (x,), np.ones(2))[1], 4.0 * np.sum(x), rtol=1e-12)


def r_with_a_slice(x):
    return np.sum(np.r_[x, 0:2] ** 2)


def r_with_a_directive(x):
    return np.sum(np.r_["0,2", x, x] ** 2)


@pytest.mark.parametrize("fn", [r_with_a_slice, r_with_a_directive])
def test_an_object_indexed_by_a_differentiated_value_is_refused_with_advice(fn):
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="np.concatenate") as err:
        s2sgrad.grad(fn)(np.array([1.0, 2.0]))
    assert err.value.lineno == _line_of(fn, "np.")


def test_a_dict_indexed_by_a_differentiated_value_is_refused():
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="index carries no derivative"):
        s2sgrad.grad(dict_index_of_active)(1.0)


def index_from_active(x):
    i = x * 0.0
    return x[i]


def test_an_array_index_computed_from_a_differentiated_value_is_refused():
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="index that depends on a differentiated input"):
        s2sgrad.grad(index_from_active)(np.array([1.0, 2.0]))


def dict_constant(x):
    return CONSTANTS["scale"] * x


def index_from_argmax(x):
    i = np.argmax(x)
    return x[i] * 3.0


def test_indices_that_carry_no_derivative_are_fine():
    assert s2sgrad.grad(dict_constant)(1.5) == 2.0
    np.testing.assert_allclose(s2sgrad.grad(index_from_argmax)(np.array([1.0, 5.0, 2.0])), [0.0, 3.0, 0.0])


# -- rule arguments without an adjoint -------------------------------------------------------------

def einsum_sublist(x):
    return np.sum(np.einsum(x, [0, 1], [1, 0]) * W)


def test_einsum_in_sublist_form_gives_the_true_gradient_or_a_located_refusal():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    try:
        g = s2sgrad.grad(einsum_sublist)(x)
    except s2sgrad.NoGradientRuleError as err:
        assert f":{_line_of(einsum_sublist, 'np.einsum')}:" in str(err)
    else:
        np.testing.assert_allclose(g, W.T, rtol=1e-12)


def test_a_value_carried_into_an_array_constructor_is_differentiated():
    assert_grad_matches(lambda_free_product, 0.7, 1.3, wrt=(0, 1))


def lambda_free_product(x, y):
    return np.sum(np.full(3, x) * y)


# -- a helper runs once per gradient ---------------------------------------------------------------

CALLS = []


def noisy(w):
    CALLS.append(1)
    return w * np.random.randn(3)


def noisy_loss(w):
    return np.sum(noisy(w) ** 2)


def noisy_twice(w):
    a = noisy(w)
    for _ in range(3):
        a = a + noisy(w)
    return np.sum(a ** 2)


def test_a_helper_with_a_side_effect_runs_once_so_value_and_gradient_share_its_draw():
    np.random.seed(1)
    CALLS.clear()
    value, g = s2sgrad.value_and_grad(noisy_loss)(1.5)
    assert len(CALLS) == 1
    np.testing.assert_allclose(g, 2.0 * value / 1.5, rtol=1e-12)   # value = w^2 sum(r^2): d/dw = 2 value / w


def test_helpers_in_a_loop_run_once_each_and_their_saved_states_are_kept_apart():
    np.random.seed(2)
    CALLS.clear()
    value, g = s2sgrad.value_and_grad(noisy_twice)(0.7)
    assert len(CALLS) == 4
    np.testing.assert_allclose(g, 2.0 * value / 0.7, rtol=1e-12)   # homogeneous of degree 2 in w


def test_vjp_runs_a_random_helper_once_and_every_pullback_belongs_to_that_draw():
    np.random.seed(3)
    CALLS.clear()
    value, pullback = s2sgrad.vjp(noisy_loss, 0.9)
    first, second = pullback(1.0), pullback(2.0)
    assert len(CALLS) == 1
    np.testing.assert_allclose([first, second], [2.0 * value / 0.9, 4.0 * value / 0.9], rtol=1e-12)


def depth(x, k):
    if k <= 0:
        return x
    return depth(np.sin(x) * 0.999 + 0.01 * x, k - 1)


def test_deep_recursion_is_differentiated_in_time_linear_in_its_depth():
    import math
    import sys
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))
    try:
        g = s2sgrad.grad(depth)(0.5, 1000)
    finally:
        sys.setrecursionlimit(limit)
    x, expected = 0.5, 1.0
    for _ in range(1000):                 # the chain rule, by hand
        expected *= math.cos(x) * 0.999 + 0.01
        x = math.sin(x) * 0.999 + 0.01 * x
    np.testing.assert_allclose(g, expected, rtol=1e-10)


def mutual_even(x, k):
    if k <= 0:
        return x
    return mutual_odd(x * 1.1, k - 1)


def mutual_odd(x, k):
    if k <= 0:
        return x * x
    return mutual_even(np.sin(x), k - 1)


@pytest.mark.parametrize("fn", [depth, mutual_even])
@pytest.mark.parametrize("mode", ["reverse", "vjp", "forward"])
def test_the_printed_source_of_a_recursive_function_defines_every_generated_function_it_calls(fn, mode):
    import ast
    tree = ast.parse(s2sgrad.source(fn, mode=mode))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    generated = {c for c in called if c.split("_")[0] in ("grad", "vjp", "pullback", "jvp")}
    assert generated <= defined, f"calls {sorted(generated - defined)} without defining them"


# -- a zero adjoint stays zero ---------------------------------------------------------------------
# Each function computes, on some path, a value whose partial is NaN or inf (sqrt or log of a negative
# number, a division by zero) and then overwrites or ignores it: the true gradient does not see it.

def overwritten_in_a_branch(x, c):
    w = np.sqrt(x - 2.0)
    if c > 0.0:
        w = np.exp(x)
    return np.sum(w)


def read_in_one_branch_only(x, c):
    w = np.log(x - 2.0)
    y = x * 3.0
    if c > 0.0:
        y = y + w
    return np.sum(y)


def read_in_a_loop_that_may_not_run(x, n):
    w = np.sqrt(x - 2.0)
    s = np.sum(x) * 0.5
    for i in range(n):
        s = s + np.sum(w)
    return s


def overwritten_in_a_loop(x, n):
    w = 1.0 / (x - 1.0)
    for i in range(n):
        w = np.tanh(x) * (i + 1.0)
    return np.sum(w * x)


def written_by_index_after_a_nan(x, c):
    v = np.sqrt(x - 2.0)
    if c > 0.0:
        v = x * 2.0
    v[0] = 5.0
    return np.sum(v * v)


def scalar_overwritten_in_a_branch(x, c):
    w = np.sqrt(x - 2.0)
    if c > 0.0:
        w = x * x
    return w


def pair_with_a_nan_item(x):
    return x * 2.0, np.sqrt(x - 5.0)


def uses_one_item(x, c):
    a, b = pair_with_a_nan_item(x)
    y = np.sum(a)
    if c > 0.0:
        y = y + np.sum(b)
    return y


X13 = np.array([1.0, 3.0])


def _finite_difference(fn, x, *rest):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = 1e-6
        g.flat[i] = (fn(x + e, *rest) - fn(x - e, *rest)) / 2e-6
    return g


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fn, rest", [
    (overwritten_in_a_branch, (1.0,)),
    (read_in_one_branch_only, (-1.0,)),
    (read_in_a_loop_that_may_not_run, (0,)),
    (overwritten_in_a_loop, (3,)),
    (written_by_index_after_a_nan, (1.0,)),
    (uses_one_item, (-1.0,)),
])
def test_a_nan_partial_of_a_value_that_does_not_reach_the_result_leaves_the_gradient_finite_and_exact(fn, rest):
    x = X13 if fn is not overwritten_in_a_loop else np.array([1.0, 3.0])
    expected = _finite_difference(fn, x, *rest)
    assert np.all(np.isfinite(expected))
    g = s2sgrad.grad(fn)(x, *rest)
    np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-8)
    _, pullback = s2sgrad.vjp(fn, x, *rest)
    np.testing.assert_allclose(pullback(1.0), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_other_branch_still_gets_the_nan_the_math_has():
    g = s2sgrad.grad(overwritten_in_a_branch)(X13, -1.0)   # sqrt(1 - 2) is NaN, and it is the result
    assert np.isnan(g[0]) and np.isfinite(g[1])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_python_float_overwritten_in_a_branch_after_a_nan_partial():
    assert s2sgrad.grad(scalar_overwritten_in_a_branch)(1.0, 1.0) == 2.0       # d/dx x*x at 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_hessian_through_a_value_overwritten_after_a_nan_partial():
    def f(x):
        return overwritten_in_a_branch(x, 1.0)
    h = s2sgrad.hessian(f)(X13)
    np.testing.assert_allclose(h, np.diag(np.exp(X13)), rtol=1e-10)


def accumulated_in_a_loop_that_surely_runs(x):
    h = np.tanh(x)
    s = 0.0
    for i in range(3):
        s = s + np.sum(h * i)
    return s


def test_an_adjoint_only_added_to_in_a_loop_that_surely_runs_starts_at_zero():
    reverse = s2sgrad.source(accumulated_in_a_loop_that_surely_runs).split("# reverse sweep")[1]
    assert "dh = 0.0" in reverse and "None" not in reverse
    assert_grad_matches(accumulated_in_a_loop_that_surely_runs, np.array([0.3, -0.2]))


# -- what runs is what is differentiated -----------------------------------------------------------

import functools  # noqa: E402
import math  # noqa: E402


def doubling(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


@doubling
def doubled_square(x):
    return x * x


@functools.lru_cache(maxsize=None)
def cached_cube(x):
    return x * x * x


def passing_through(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@passing_through
def wrapped_by_varargs(x):
    return x * 3.0


def test_a_decorator_that_changes_the_value_is_differentiated_as_the_wrapper():
    assert doubled_square(3.0) == 18.0
    assert s2sgrad.grad(doubled_square)(3.0) == 12.0
    assert s2sgrad.jvp(doubled_square, (3.0,), 1.0)[1] == 12.0


def test_a_cache_decorator_is_looked_through():
    assert s2sgrad.grad(cached_cube)(2.0) == 12.0


def test_a_varargs_wrapper_is_differentiated_as_the_wrapper_by_position():
    assert s2sgrad.grad(wrapped_by_varargs)(1.0) == 3.0
    with pytest.raises(ValueError, match=r"a decorator's wrapper, wraps: .*give positions instead"):
        s2sgrad.grad(wrapped_by_varargs, wrt="x")


STALE_MODULE = '''
import numpy as np


def first(x):
    return np.sum(x * 2.0)


def second(x):
    return np.sum(x * x)
'''


def _import_from(path, name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("edit", ["changed constant", "lines inserted above", "operator changed"])
def test_a_source_file_edited_after_import_is_refused_not_differentiated(tmp_path, edit):
    path = tmp_path / f"stale_{edit.replace(' ', '_')}.py"
    path.write_text(STALE_MODULE)
    module = _import_from(path, path.stem)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(module.second(x), 5.0)
    import os
    import time
    text = {"changed constant": STALE_MODULE.replace("x * 2.0", "x * 5.0"),
            "lines inserted above": "# a comment\n\n\n\n" + STALE_MODULE,
            "operator changed": STALE_MODULE.replace("x * x", "x + x")}[edit]
    path.write_text(text)
    os.utime(path, (time.time() + 5, time.time() + 5))          # a new mtime, whatever the clock
    fn = module.first if edit == "changed constant" else module.second
    with pytest.raises(s2sgrad.SourceUnavailableError, match="changed after it was imported"):
        s2sgrad.grad(fn)(x)


def test_a_derivative_built_before_its_file_was_edited_still_matches_the_code_that_runs(tmp_path):
    path = tmp_path / "edited_later.py"
    path.write_text(STALE_MODULE)
    module = _import_from(path, path.stem)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(s2sgrad.grad(module.second)(x), 2.0 * x)
    path.write_text(STALE_MODULE.replace("x * x", "x * x * x"))
    np.testing.assert_allclose(s2sgrad.grad(module.second)(x), 2.0 * x)     # the running code is unchanged


# -- errors name the user's line, also about generated code ----------------------------------------

def shifted_sines(a, W):
    z = a + W
    return np.sum(np.sin(z))


def test_an_error_while_differentiating_generated_code_names_the_users_file_and_line(monkeypatch):
    from s2sgrad import rules, runtime
    monkeypatch.delitem(rules.RULES, runtime.broadcast_like)       # its forward code calls broadcast_like
    s2sgrad.pipeline._CACHE.clear()
    with pytest.raises(s2sgrad.NoGradientRuleError) as err:
        s2sgrad.hessian(shifted_sines)(0.5, np.ones(3))
    assert str(err.value).startswith(f"{__file__}:{_line_of(shifted_sines, 'z = a + W')}:")
    assert "<s2sgrad" not in str(err.value)
    s2sgrad.pipeline._CACHE.clear()


# -- internal exceptions that were leaking ---------------------------------------------------------

def factory(n):
    def scaled(x, k=n):
        return x * k
    return scaled


SCALED_BY_THREE = factory(3.0)


def test_a_default_written_as_an_expression_of_an_enclosing_local_is_its_value():
    assert s2sgrad.grad(SCALED_BY_THREE)(2.0) == 3.0
    assert s2sgrad.jvp(SCALED_BY_THREE, (2.0,), 1.0) == (6.0, 3.0)
    assert "k=k_default" in s2sgrad.source(SCALED_BY_THREE)


def positional_only(x, /, y):
    return np.sum(x * y)


def test_positional_only_parameters_are_differentiated_in_both_modes():
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    gx, gy = s2sgrad.grad(positional_only, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(gx, y)
    np.testing.assert_allclose(gy, x)
    assert s2sgrad.jvp(positional_only, (x, y), np.ones(2))[1] == pytest.approx(2.0)


def rows_by_index_list(x):
    return x[[0, 1], :]


def length_temporary(x):
    n = len(x + 1.0)
    return np.sum(x * n)


def test_a_pullback_of_an_index_list_names_no_builtin_in_its_saved_state():
    value, pullback = s2sgrad.vjp(rows_by_index_list, np.ones((3, 2)))
    np.testing.assert_allclose(pullback(np.ones((2, 2))), [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    assert "slice = " not in s2sgrad.source(rows_by_index_list, mode="vjp")


def test_generated_names_never_shadow_a_builtin():
    import ast
    import builtins
    for mode in ("reverse", "forward", "vjp"):
        tree = ast.parse(s2sgrad.source(length_temporary, mode=mode))
        stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        assert not stored & set(dir(builtins)) - {"_"}, mode
    np.testing.assert_allclose(s2sgrad.grad(length_temporary)(np.ones(3)), [3.0, 3.0, 3.0])


def norm_of_a_list(x):
    return np.linalg.norm([x, x + 2.0])


def maximum_of_a_list(x, y):
    return np.sum(np.maximum([x, y], 0.5) * np.array([1.0, 3.0]))


def test_a_list_of_values_where_a_rule_takes_an_array_is_that_array_in_both_modes_and_at_second_order():
    assert_grad_matches(norm_of_a_list, 1.0)
    assert s2sgrad.jvp(norm_of_a_list, (1.0,), 1.0)[1] == pytest.approx(4.0 / np.sqrt(10.0), rel=1e-12)
    assert s2sgrad.hessian(norm_of_a_list)(1.0) == pytest.approx(0.4 / np.sqrt(10.0), rel=1e-10)
    assert s2sgrad.grad(maximum_of_a_list, wrt=(0, 1))(1.0, 2.0) == (1.0, 3.0)


def pair(x):
    return x, x * 2.0


def returns_a_helpers_tuple(x):
    return pair(x)


def unpacks_it(x):
    a, b = returns_a_helpers_tuple(x)
    return a * b


def returns_nested(x):
    return x, (x * 2.0, x * 3.0)


def test_returning_a_helpers_tuple_whole_is_differentiated_in_every_mode():
    value, pullback = s2sgrad.vjp(returns_a_helpers_tuple, 1.5)
    assert value == (1.5, 3.0)
    assert pullback((1.0, 1.0)) == 3.0 and pullback((0.0, 1.0)) == 2.0
    assert s2sgrad.jvp(returns_a_helpers_tuple, (1.5,), 1.0) == ((1.5, 3.0), (1.0, 2.0))
    assert s2sgrad.grad(unpacks_it)(1.5) == pytest.approx(6.0)        # d(2x^2)/dx
    assert s2sgrad.hessian(unpacks_it)(1.5) == pytest.approx(4.0)     # the jvp's nested tuple is seeded leaf by leaf


def test_a_nested_tuple_output_takes_a_nested_cotangent():
    value, pullback = s2sgrad.vjp(returns_nested, 1.5)
    assert value == (1.5, (3.0, 4.5))
    assert pullback((1.0, (1.0, 1.0))) == 6.0


# -- refusals the specialised kinds make unnecessary ----------------------------------------------

def scale_by_a_sum(x, v):
    t = np.sum(v)
    x *= t
    t += 0.5
    return x * t


def shift_an_element(x, v):
    t = v[0]
    t += x
    return t * t


def shift_a_row(x, v):
    t = v[0]
    t += x
    return np.sum(t * v)


def test_augmented_assignments_to_names_known_to_hold_numpy_scalars_are_differentiated():
    v = np.array([1.0, 2.0, 3.0])
    assert s2sgrad.check_grad(scale_by_a_sum, 2.0, v, wrt=(0, 1))
    assert s2sgrad.check_grad(shift_an_element, 2.0, v, wrt=(0, 1))


def test_an_augmented_assignment_to_a_row_of_a_matrix_is_still_refused():
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="augmented assignment to 't'"):
        s2sgrad.grad(shift_a_row)(2.0, np.ones((2, 3)))


# -- messages say what is really wrong ------------------------------------------------------------

class Model:
    def __init__(self):
        self.W = np.ones(2)

    def forward(self, x):
        return self.W * x


MODEL = Model()


def calls_a_global_objects_method(x):
    return np.sum(MODEL.forward(x))


def calls_a_parameters_method(m, x):
    return np.sum(m.forward(x))


def test_a_method_of_a_users_object_is_differentiated_as_a_helper():
    x = np.array([0.5, -1.0])
    np.testing.assert_allclose(s2sgrad.grad(calls_a_global_objects_method)(x), MODEL.W)
    np.testing.assert_allclose(s2sgrad.grad(calls_a_parameters_method, wrt=1)(MODEL, x), MODEL.W)


try:
    import scipy.optimize as optimize
except ImportError:                  # SciPy is optional
    optimize = None


def rosen_of(x):
    return optimize.rosen(x) * 2.0


@pytest.mark.skipif(optimize is None, reason="SciPy is not installed")
def test_a_library_python_function_without_a_rule_is_named_by_its_module():
    with pytest.raises(s2sgrad.NoGradientRuleError, match=r"no gradient rule for scipy\.optimize\.rosen") as err:
        s2sgrad.grad(rosen_of)(np.array([1.0, 2.0]))
    assert "signature" not in str(err.value)


# -- a helper's zero adjoint is None, never a float where an array is updated ----------------------

def branchy_helper(u, v):
    if np.sum(u) > 100.0:
        return np.sin(u)
    return v * v


def indexes_into_a_helpers_zero(x):
    return np.sum(x[:, 0] * branchy_helper(x, x[:, 1]))


def ignores_its_second_argument(u, v, k=-0.7):
    return np.log(1.0 + u * u)


def feeds_an_ignored_argument(x):
    a = x * 2.0
    return np.sum(ignores_its_second_argument(x, v=(0.5 * a), k=-0.6))


@pytest.mark.parametrize("fn, x", [
    (indexes_into_a_helpers_zero, np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])),
    (feeds_an_ignored_argument, np.array([0.3, -0.4])),
])
def test_a_helper_gives_none_for_a_zero_adjoint_and_its_caller_skips_it(fn, x):
    assert_grad_matches(fn, x)
    _, pullback = s2sgrad.vjp(fn, x)
    np.testing.assert_allclose(pullback(1.0), s2sgrad.grad(fn)(x))


def defines_a_class(x):
    class Local:
        pass
    return x * 2.0


def test_a_class_inside_a_function_is_refused_by_the_fence_on_every_python():
    with pytest.raises(s2sgrad.UnsupportedSyntaxError, match="class definitions"):
        s2sgrad.grad(defines_a_class)(1.0)      # 3.13 keeps a class's first line: never a false "file changed"


RNG = np.random.default_rng(0)


def updates_random_numbers(x):
    noise = np.random.uniform(0.0, 1.0, 3)
    noise += 0.5
    drawn = RNG.normal(size=3)
    drawn[0] = 1.0
    return np.sum(x * noise * drawn)


def test_arrays_drawn_by_numpys_random_samplers_are_the_functions_own():
    np.random.seed(4)
    value, g = s2sgrad.value_and_grad(updates_random_numbers)(np.ones(3))
    np.testing.assert_allclose(g * np.ones(3), g)
    assert value == pytest.approx(np.sum(g))           # linear in x: the value is the gradient's sum at ones


def constant_helper(u, k=0.7):
    return 0.6


def returns_a_constant_helpers_result_on_one_path(x, y):
    a = constant_helper(x + x)
    if y > 0.3:
        return a
    return 1.0


def test_a_guard_on_a_pullbacks_none_result_is_kept():
    assert s2sgrad.grad(returns_a_constant_helpers_result_on_one_path)(-0.6, 0.4) == 0.0     # found by the fuzzer
    assert s2sgrad.grad(returns_a_constant_helpers_result_on_one_path)(-0.6, 0.1) == 0.0


def tanh_of_a_float_then_updated(x, c):
    c -= 0.4 * np.tanh(np.hypot(np.sum(x) - 0.5, 0.5))
    c += 0.8
    return c * np.sum(x)


def test_augmented_assignments_to_a_float_after_numpy_ufuncs_of_scalars():
    assert s2sgrad.check_grad(tanh_of_a_float_then_updated, np.array([0.3, 0.2]), 0.7, wrt=(0, 1))


def rotates_after_a_choice(x, y, n):
    a = math.cos(math.tanh(y))
    a = a if y > x else y
    if a > x:
        if x < 0.25:
            return y
        a, x, y = (x, y, a)
    if x > 2.0:
        return 0.3
    elif 1.2 > 0.6:
        return y
    else:
        return x


def calls_a_nested_function_named_like_its_result(x, W):
    def g1(u):
        return u
    b = 0.5 * g1(np.sum(W, axis=-2) / (1.0 + 2.0 ** np.sin(W) * 2.0 ** np.sin(W)))
    return np.mean(W) + np.sum(b) * 0.0 + np.sum(x)


def transposed_then_copied(x):
    b = np.transpose(x)
    return np.mean(b.copy())


def test_reduced_programs_from_the_5000_program_run_give_the_programs_values_and_gradients():
    assert s2sgrad.grad(rotates_after_a_choice, wrt=(0, 1))(-0.40668350306036755, 0.856974119518059, 4) == (0.0, 1.0)
    W = np.ones((3, 2))
    value, (gx, gW) = s2sgrad.value_and_grad(calls_a_nested_function_named_like_its_result, wrt=(0, 1))(np.ones(3), W)
    assert value == calls_a_nested_function_named_like_its_result(np.ones(3), W)
    x = np.array([[0.7393889432802063, 1.234018929420544, 1.395735907162769],
                  [1.4128188057779445, 0.6107102630379013, -0.9403717354704432]])
    assert s2sgrad.value_and_grad(transposed_then_copied)(x)[0] == transposed_then_copied(x)   # bit for bit
