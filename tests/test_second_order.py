"""Second and higher derivatives by differentiating generated code again: Hessians and Hessian-vector
products (reverse mode over forward-mode code) against central differences of the gradient, derivatives
of any order of scalar functions against closed forms, and the rules of the runtime helpers that
generated code calls."""

import math

import numpy as np
import pytest

import s2sgrad
from s2sgrad import runtime
from s2sgrad.rules import RULES
from s2sgrad.rules.generated import __name__ as GENERATED

RNG = np.random.default_rng(3)
EPS = 1e-5


def numeric_hessian(fn, args, index=0):
    """Central differences of s2sgrad's gradient (itself checked against differences elsewhere)."""
    grad = s2sgrad.grad(fn, wrt=index)
    x = np.asarray(args[index], dtype=float)
    columns = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = EPS
        e = e.reshape(x.shape)
        hi = list(args)
        lo = list(args)
        hi[index], lo[index] = (x + e if x.ndim else float(x + e)), (x - e if x.ndim else float(x - e))
        columns.append((np.asarray(grad(*hi)) - np.asarray(grad(*lo))) / (2 * EPS))
    return np.stack(columns, axis=-1).reshape(x.shape + x.shape)


# -- a dozen functions: scalar and array, loops and branches ---------------------------------------

def quartic(x):
    return x ** 4


def trig(x):
    return math.sin(x) * math.exp(x) + math.atan(x * x)


def scalar_loop(x: float, n: int = 5):
    y = x
    for i in range(n):
        y = math.sin(y) * 0.8 + 0.3 * x * y
    return y


def scalar_branch(x: float):
    if x > 0.0:
        y = math.log(1.0 + x * x)
    else:
        y = x ** 3
    return y * x


def scalar_while(x: float):
    y = x
    k = 0
    while k < 4:
        y = y * math.cos(y) + x
        k += 1
    return y


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def quadratic_form(x):
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 3.0]])
    return x @ A @ x + np.sum(np.sin(x))


def tanh_layer(x):
    W = np.array([[0.5, -1.0, 0.3], [0.8, 0.2, -0.6]])
    return np.sum(np.tanh(W @ x) ** 2)


def array_loop_branch(x):
    y = x * 1.0
    for i in range(3):
        if np.sum(y) > 0.0:
            y = np.sin(y) * x
        else:
            y = y * y + x
    return np.sum(y * y)


def indexed_writes(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * x[(i + 1) % 3]
    return np.sum(y * np.exp(x))


def helper_term(z):
    return np.sum(np.exp(z) * z)


def calls_helper(x):
    return helper_term(x * 2.0) + np.sum(x ** 3)


def two_args(x, a: float):
    return np.sum(np.sin(x * a)) * a


SCALAR_CASES = [(quartic, 1.3), (trig, 0.4), (scalar_loop, 0.6), (scalar_branch, 0.8), (scalar_branch, -0.7),
                (scalar_while, 0.5)]
ARRAY_CASES = [(rosenbrock, np.array([0.5, 1.2, -0.3])), (quadratic_form, np.array([0.2, -0.4, 0.9])),
               (tanh_layer, np.array([0.3, -0.2, 0.5])), (array_loop_branch, np.array([0.4, 0.1, -0.2])),
               (indexed_writes, np.array([0.3, -0.6, 0.9])), (calls_helper, np.array([0.1, 0.2, -0.3])),
               (two_args, np.array([0.3, 0.7]))]


def _args(fn, x):
    return (x, 1.7) if fn is two_args else (x,)


@pytest.mark.parametrize("fn, x", SCALAR_CASES + ARRAY_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(SCALAR_CASES + ARRAY_CASES)])
def test_hessian_matches_finite_differences_of_the_gradient(fn, x):
    args = _args(fn, x)
    H = s2sgrad.hessian(fn)(*args)
    np.testing.assert_allclose(H, numeric_hessian(fn, args), rtol=1e-5, atol=1e-6)
    assert np.shape(H) == np.shape(x) + np.shape(x)


@pytest.mark.parametrize("fn, x", ARRAY_CASES, ids=[f.__name__ for f, _ in ARRAY_CASES])
def test_hvp_is_the_hessian_times_the_vector_and_the_hessian_is_symmetric(fn, x):
    args = _args(fn, x)
    H = s2sgrad.hessian(fn)(*args)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-10)
    v = RNG.normal(size=x.shape)
    np.testing.assert_allclose(s2sgrad.hvp(fn, args, v), H @ v, rtol=1e-10, atol=1e-12)


def test_hessian_with_respect_to_two_arguments_gives_blocks():
    x, a = np.array([0.3, 0.7]), 1.7
    (Hxx, Hxa), (Hax, Haa) = s2sgrad.hessian(two_args, wrt=(0, 1))(x, a)
    assert Hxx.shape == (2, 2) and Hxa.shape == (2,) and Hax.shape == (2,) and np.shape(Haa) == ()
    np.testing.assert_allclose(Hxa, Hax, rtol=1e-10)
    np.testing.assert_allclose(Haa, numeric_hessian(two_args, (x, a), 1), rtol=1e-5)


def test_hessian_of_a_float32_input_is_float32():
    H = s2sgrad.hessian(quadratic_form)(np.array([0.2, -0.4, 0.9], dtype=np.float32))
    assert H.dtype == np.float32


def test_hvp_of_a_vector_output_is_refused():
    with pytest.raises(ValueError, match="scalar output"):
        s2sgrad.hvp(np.sin if False else vector_out, (np.ones(2),), np.ones(2))


def vector_out(x):
    return x * x


# -- any order by composition ----------------------------------------------------------------------

def sine(x):
    return math.sin(x)


def exponential(x):
    return math.exp(2.0 * x)


@pytest.mark.parametrize("x", [0.3, -1.1, 2.0])
def test_derivatives_of_x_to_the_fourth_to_fourth_order(x):
    d1 = s2sgrad.grad(quartic)
    d2 = s2sgrad.grad(d1)
    d3 = s2sgrad.grad(d2)
    d4 = s2sgrad.grad(d3)
    assert d1(x) == pytest.approx(4 * x ** 3)
    assert d2(x) == pytest.approx(12 * x ** 2)
    assert d3(x) == pytest.approx(24 * x)
    assert d4(x) == pytest.approx(24.0)


@pytest.mark.parametrize("x", [0.3, 1.4])
def test_third_derivatives_of_sin_and_exp(x):
    third = lambda f: s2sgrad.grad(s2sgrad.grad(s2sgrad.grad(f)))
    assert third(sine)(x) == pytest.approx(-math.cos(x))
    assert third(exponential)(x) == pytest.approx(8.0 * math.exp(2.0 * x))


def square(x):
    return x ** 2


dsquare = s2sgrad.grad(square)       # module level, like torch.autograd.grad(..., create_graph=True)


def cube_of_slope(x):
    return dsquare(x) ** 3


def test_seed_idiom_8_gradient_of_a_function_calling_a_gradient():
    # y = x**2; z = (dy/dx)**3 = 8 x**3; dz/dx = 24 x**2 = 24 at x = 1 (a tutorial prints 12: wrong)
    assert dsquare(1.0) == pytest.approx(2.0)
    assert s2sgrad.grad(cube_of_slope)(1.0) == pytest.approx(24.0)
    assert s2sgrad.jvp(cube_of_slope, (1.0,), 1.0)[1] == pytest.approx(24.0)
    assert s2sgrad.grad(dsquare)(1.0) == pytest.approx(2.0)


def sin_weighted(x, a):
    return np.sum(np.sin(x) * x) * a


dsin_weighted = s2sgrad.grad(sin_weighted)


def uses_array_gradient(x, a):
    return np.sum(dsin_weighted(x, a) ** 2)


def test_a_called_gradient_of_an_array_argument_is_differentiated_in_both_modes():
    x, a = np.array([0.3, -0.4, 1.1]), 1.5
    from gradcheck import assert_grad_matches
    assert_grad_matches(uses_array_gradient, x, a, wrt=(0, 1))
    u = RNG.normal(size=3)
    _, tangent = s2sgrad.jvp(uses_array_gradient, (x, a), u)
    assert tangent == pytest.approx(np.dot(s2sgrad.grad(uses_array_gradient)(x, a), u), rel=1e-10)


def mixed(x, a):
    return math.sin(x * a) * a


def test_mixed_partials_by_composition_agree_in_either_order():
    dxa = s2sgrad.grad(s2sgrad.grad(mixed, wrt=0), wrt=1)(0.4, 1.3)
    dax = s2sgrad.grad(s2sgrad.grad(mixed, wrt=1), wrt=0)(0.4, 1.3)
    x, a = 0.4, 1.3
    expected = math.cos(x * a) * 2 * a - math.sin(x * a) * x * a * a
    assert dxa == pytest.approx(expected) and dax == pytest.approx(expected)


def test_gradient_of_a_gradient_with_respect_to_an_array_argument_is_reverse_over_forward():
    x = np.array([0.3, -0.2])
    dmixed = s2sgrad.grad(array_and_scalar, wrt=1)                 # d/da: a scalar
    g = s2sgrad.grad(dmixed, wrt=0)(x, 0.7)                         # d/dx of it: an array
    np.testing.assert_allclose(g, numeric_hessian(array_and_scalar, (x, 0.7), 1) * 0 + _mixed_fd(x, 0.7),
                               rtol=1e-5)


def array_and_scalar(x, a):
    return np.sum(np.sin(x * a)) * a


def _mixed_fd(x, a):
    da = s2sgrad.grad(array_and_scalar, wrt=1)
    return np.array([(da(x + EPS * e, a) - da(x - EPS * e, a)) / (2 * EPS) for e in np.eye(x.size)])


def test_gradient_of_an_array_gradient_points_to_hessian():
    with pytest.raises(s2sgrad.S2SGradError, match="hessian"):
        s2sgrad.grad(s2sgrad.grad(rosenbrock))(np.array([0.5, 1.2, -0.3]))


# -- rules of the runtime helpers generated code calls ----------------------------------------------

def is_runtime_helper(prim):
    return getattr(prim, "__module__", None) == "s2sgrad.runtime" and prim not in runtime.STANDINS


W23 = np.array([[0.5, -1.0, 0.3], [0.8, 0.2, -0.6]])


def uses_broadcast_like(x):
    return np.sum(runtime.broadcast_like(x * 2.0, W23) * W23)


class _Layer:
    def __init__(self):
        self.W, self.n = W23, 2


LAYER = _Layer()


def uses_field_of(x):
    return np.sum(runtime.field_of({"W": x * W23, "n": None}, LAYER, "W") ** 2)


def uses_own_tangent(x):
    return np.sum(runtime.own_tangent(x, W23) * W23)


def uses_cast_tangent(x):
    return np.sum(runtime.cast_tangent(x, W23) * W23)


def uses_unbroadcast(x):
    return np.sum(runtime.unbroadcast(x * W23, W23[0]) ** 2)


def uses_stacked_tangent(x):
    return np.sum(runtime.stacked_tangent([x[0], None, x[2] * 2.0], [x[0], 1.0, x[2]]) * W23[0])


def uses_in_place(x):
    return np.sum(runtime.in_place(x * 2.0, W23[0]) * W23[1])


def uses_times_power(x):
    return np.sum(runtime.times_power(x, x + 2.0, 1.5) * W23)


A3 = np.array([[2.0, 0.3, -0.4], [0.1, 1.5, 0.2], [-0.3, 0.6, 1.8]])


def uses_unreduce(x):
    return np.sum(runtime.unreduce(np.sin(x[0]), W23, 0, False) * W23 + runtime.unreduce(x[:, :1], W23, 1, True) ** 2)


def uses_bound_or(x):
    return np.sum(runtime.bound_or(x * 2.0, -np.inf) ** 2)


def uses_prod_of_others(x):
    return np.sum(runtime.prod_of_others(x, 1) * W23)


def uses_slogdet_tangent(x):
    a = A3 + x
    return runtime.slogdet_tangent(np.sin(x), a, np.linalg.slogdet(a))[1] ** 2


def uses_solve_like(x):
    return np.sum(runtime.solve_like(A3 + x, np.sin(x[0]), x[0]) ** 2)


def uses_apply_like(x):
    return np.sum(runtime.apply_like(A3 * x[0], x[1], x[1]) ** 2)


def uses_lower_half_diagonal(x):
    return np.sum(runtime.lower_half_diagonal(x) * A3) + np.sum(runtime.lower_half_diagonal(x) ** 2)


def uses_mirror_lower(x):
    return np.sum(runtime.mirror_lower(x) * A3) + np.sum(runtime.mirror_lower(x) ** 3)


def uses_to_last(x):
    return np.sum(runtime.to_last(x, 0) * W23.T) + np.sum(runtime.to_last(x, None) ** 3)


def uses_from_last(x):
    return np.sum(runtime.from_last(x, W23, 0) * W23) + np.sum(runtime.from_last(x, W23.T, None) ** 3)


def uses_quantile_tangent(x):
    return np.sum(runtime.quantile_tangent(x ** 2, W23, 0.4, 1, False, 1.0) ** 2)


def uses_covariance_matrix(x):
    return (np.sum(runtime.covariance_matrix(x, W23) * A3) + np.sum(runtime.covariance_matrix(x, W23) ** 3)
            + np.sum(runtime.covariance_matrix(x[0], W23) ** 2) + np.sum(runtime.covariance_matrix(x[1, 1], W23) ** 2))


def uses_norm_slope(x):
    return (np.sum(runtime.norm_slope(x, 3, 1) * A3) + np.sum(runtime.norm_slope(x, "nuc", None) ** 2)
            + np.sum(runtime.norm_slope(x, None, None, "vector") * x))


def uses_singular_vectors(x):
    u = runtime.singular_vectors(x, False)
    v = runtime.singular_vectors(x, True)
    return np.sum((u * u) @ np.arange(1.0, 4.0)) + np.sum((v * v) @ np.arange(3.0))       # free of LAPACK's signs


def uses_eigenvectors_of_symmetric(x):
    v = runtime.eigenvectors_of_symmetric(x + x.T, "L")
    return np.sum((v * v) @ np.arange(1.0, 4.0))


def uses_symmetric_read(x):
    return np.sum(runtime.symmetric_read(x, "U") * A3) + np.sum(runtime.symmetric_read(x, "L") ** 3)


def uses_solve_matrix(x):
    return np.sum(runtime.solve_matrix(x, False, "sym", True) * A3) + np.sum(runtime.solve_matrix(x, True, None) ** 3)


def uses_op_triangle(x):
    return (np.sum(runtime.op_triangle(x, 1, True, True) * A3) + np.sum(runtime.op_triangle(x, 0, False) ** 3)
            + np.sum(runtime.triangular_system(x, "T", False, True) ** 3))


def uses_as_lower(x):
    return np.sum(runtime.as_lower(x, False) * A3) + np.sum(runtime.as_lower(x, True) ** 3)


def uses_interp_slope(x):
    return np.sum(runtime.interp_slope(np.array([-1.5, 0.2, 0.9, 3.0]), np.array([-1.0, 0.0, 1.0]), x) ** 2)


def uses_select_tangent(x):
    return np.sum(runtime.select_tangent([W23 > 0.5, W23 < -0.5], [x * 2.0, None], [W23, W23], W23) ** 2)


RUNTIME_RULES = [(runtime.covariance_matrix, uses_covariance_matrix, A3 * 0.5),
                 (runtime.select_tangent, uses_select_tangent, W23 * 0.7),
                 (runtime.interp_slope, uses_interp_slope, np.array([0.3, -0.2, 0.5])),
                 (runtime.solve_matrix, uses_solve_matrix, A3 - 0.5),
                 (runtime.op_triangle, uses_op_triangle, A3 - 0.5),
                 (runtime.triangular_system, uses_op_triangle, A3 - 0.7),
                 (runtime.as_lower, uses_as_lower, A3 - 0.5),
                 (runtime.norm_slope, uses_norm_slope, A3 - 1.0),
                 (runtime.singular_vectors, uses_singular_vectors, A3 - 0.5),
                 (runtime.eigenvectors_of_symmetric, uses_eigenvectors_of_symmetric, A3 * np.array([1.0, 2.0, 3.0])),
                 (runtime.symmetric_read, uses_symmetric_read, A3 - 0.5),
                 (runtime.unreduce, uses_unreduce, np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.7]])),
                 (runtime.bound_or, uses_bound_or, np.array([0.3, -0.2, 0.5])),
                 (runtime.prod_of_others, uses_prod_of_others, np.array([[0.3, -0.2, 0.5], [0.0, 0.4, -0.7]])),
                 (runtime.slogdet_tangent, uses_slogdet_tangent, A3 * 0.1),
                 (runtime.solve_like, uses_solve_like, A3 * 0.1),
                 (runtime.apply_like, uses_apply_like, A3 * 0.5),
                 (runtime.lower_half_diagonal, uses_lower_half_diagonal, A3 * 0.5),
                 (runtime.mirror_lower, uses_mirror_lower, A3 * 0.5),
                 (runtime.to_last, uses_to_last, W23 * 0.7),
                 (runtime.from_last, uses_from_last, W23.T * 0.7),
                 (runtime.quantile_tangent, uses_quantile_tangent, W23 * 0.7),
                 (runtime.broadcast_like, uses_broadcast_like, np.array([0.3, -0.2, 0.5])),
                 (runtime.times_power, uses_times_power, np.array([0.3, -0.2, 0.5])),
                 (runtime.in_place, uses_in_place, np.array([0.3, -0.2, 0.5])),
                 (runtime.stacked_tangent, uses_stacked_tangent, np.array([0.3, -0.2, 0.5])),
                 (runtime.own_tangent, uses_own_tangent, np.array([0.3, -0.2, 0.5])),
                 (runtime.field_of, uses_field_of, np.array([0.3, -0.2, 0.5])),
                 (runtime.cast_tangent, uses_cast_tangent, np.array([0.3, -0.2, 0.5])),
                 (runtime.unbroadcast, uses_unbroadcast, np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.7]]))]


@pytest.mark.parametrize("prim, fn, x", RUNTIME_RULES, ids=[p.__name__ for p, _, _ in RUNTIME_RULES])
def test_runtime_helper_rules_match_finite_differences_in_both_modes(prim, fn, x):
    from gradcheck import assert_grad_matches
    assert_grad_matches(fn, x)
    u = RNG.normal(size=x.shape)
    _, tangent = s2sgrad.jvp(fn, (x,), u)
    assert tangent == pytest.approx(np.sum(s2sgrad.grad(fn)(x) * u), rel=1e-10)


def test_every_runtime_helper_rule_has_a_test():
    registered = {p for p in RULES if is_runtime_helper(p)}
    assert registered and registered == {p for p, _, _ in RUNTIME_RULES}
    # a helper's rule is with the rules for generated code, or next to the one rule that calls it
    from s2sgrad.rules.operators import __name__ as OPERATORS
    assert all(RULES[p][0].template.__module__ in (GENERATED, OPERATORS) for p in registered)


# -- the gradient of a jvp, written as a call to s2sgrad.jvp ------------------------------------------

def slope_of_sine_times_x(x):
    return s2sgrad.jvp(sine_times_x, (x,), 1.0)[1]


def sine_times_x(x):
    return math.sin(x) * x


def slope_times_value(x, u):
    value, slope = s2sgrad.jvp(sine_times_x, (x,), u)
    return slope * value


def directional(x, w, v):
    return s2sgrad.jvp(tanh_of_product, (x, w), v, wrt=0)[1] ** 2


def tanh_of_product(x, w):
    return np.sum(np.tanh(x * w))


def test_gradient_of_a_jvp_is_the_second_derivative():
    x = 0.7
    second = -math.sin(x) * x + 2 * math.cos(x)
    assert s2sgrad.grad(slope_of_sine_times_x)(x) == pytest.approx(second)
    assert s2sgrad.jvp(slope_of_sine_times_x, (x,), 1.0)[1] == pytest.approx(second)


def test_gradient_of_a_jvp_with_respect_to_the_point_and_the_direction():
    x, u = 0.7, 2.0
    first = math.cos(x) * x + math.sin(x)
    second = -math.sin(x) * x + 2 * math.cos(x)
    dx, du = s2sgrad.grad(slope_times_value, wrt=(0, 1))(x, u)
    assert dx == pytest.approx(u * second * sine_times_x(x) + u * first * first)
    assert du == pytest.approx(first * sine_times_x(x))


def test_gradient_of_a_jvp_on_arrays_matches_finite_differences():
    x, w, v = np.array([0.3, -0.2]), np.array([1.5, 0.4]), np.array([1.0, 2.0])
    assert s2sgrad.check_grad(directional, x, w, v, wrt=(0, 1, 2))


def half_square_sum(x):
    return np.sum(x * x) * 0.5


dhalf_square_sum = s2sgrad.grad(half_square_sum)       # the identity: its pullback may hand back the cotangent


def called_gradient_then_indexed(x):
    s = x[0] * x[1] + x[1]
    g = dhalf_square_sum(x)
    return np.sum(g * 3.0) + s


def test_an_adjoint_from_a_called_gradient_is_copied_before_it_is_updated_in_place():
    from gradcheck import assert_grad_matches
    assert "np.copy(dx)" in s2sgrad.source(called_gradient_then_indexed)
    assert_grad_matches(called_gradient_then_indexed, np.array([0.5, -1.5, 2.0]))


def rebinds_its_argument(x, a, n=30):
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
    return x


def test_hessian_when_the_differentiated_argument_is_reassigned_in_a_loop():
    # the tangent x_dot of the forward code is reassigned too: it once got a None initialisation
    (hxx, hxa), (hax, haa) = s2sgrad.hessian(rebinds_its_argument, wrt=(0, 1))(0.5, 0.9)
    assert isinstance(hxx, float) and hxa == pytest.approx(hax)
    assert hxx == pytest.approx(numeric_hessian(rebinds_its_argument, (0.5, 0.9), 0), rel=1e-5)
    assert haa == pytest.approx(numeric_hessian(rebinds_its_argument, (0.5, 0.9), 1), rel=1e-5)


from test_constructs import recursive_user as uses_recursive_power  # noqa: E402  (power(x, k) + power(x / 2, 2))


@pytest.mark.parametrize("k", [0, 1, 4])
def test_hessian_through_a_recursive_helper(k):
    # two variants of the recursive helper's second-order code once shared a name, and the recursive call
    # went to the wrong one
    expected = k * (k - 1) * 0.7 ** (k - 2) if k >= 2 else 0.0
    assert s2sgrad.hessian(uses_recursive_power)(0.7, k) == pytest.approx(expected + 0.5)


def test_second_order_code_leaves_the_point_and_the_direction_alone():
    x, v = np.array([0.3, -0.6, 0.9]), np.array([1.0, 2.0, -1.0])
    x0, v0 = x.copy(), v.copy()
    s2sgrad.hvp(indexed_writes, (x,), v)
    s2sgrad.hessian(indexed_writes)(x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(v, v0)


def two_values(x):
    return x * 2.0, math.sin(x) * 3.0


def keeps_the_tuple_whole(x):
    t = two_values(x)
    return t[0] * t[1]


def sin_times_square(x, y):
    return math.sin(x) * y * y


dsin_times_square = s2sgrad.grad(sin_times_square, wrt=(0, 1))


def unpacks_a_gradient(x, y):
    a, b = dsin_times_square(x, y)
    return a * b


def test_tuples_returned_by_helpers_and_gradients_are_differentiated_item_by_item():
    # a tuple kept whole, or a gradient with respect to two parameters, once had a single adjoint
    from gradcheck import assert_grad_matches
    assert_grad_matches(keeps_the_tuple_whole, 0.4)
    assert_grad_matches(unpacks_a_gradient, 0.4, 0.9, wrt=(0, 1))
    _, tangent = s2sgrad.jvp(unpacks_a_gradient, (0.4, 0.9), (1.0, 0.5), wrt=(0, 1))
    gx, gy = s2sgrad.grad(unpacks_a_gradient, wrt=(0, 1))(0.4, 0.9)
    assert tangent == pytest.approx(gx + 0.5 * gy, rel=1e-10)


def nested_values(x):
    return x, (x, x)


def calls_nested(x):
    a, b = nested_values(x)
    return a


def uses_the_nested_items(x):
    a, (b, c) = nested_values(x)
    return a * b * c


def test_calling_a_helper_that_returns_nested_tuples_is_differentiated_to_second_order():
    from gradcheck import assert_grad_matches
    assert s2sgrad.grad(calls_nested)(0.4) == 1.0
    assert_grad_matches(uses_the_nested_items, 0.4)
    assert s2sgrad.grad(uses_the_nested_items)(0.4) == pytest.approx(3 * 0.4 ** 2, rel=1e-12)
    assert s2sgrad.hessian(uses_the_nested_items)(0.4) == pytest.approx(6 * 0.4, rel=1e-12)
    assert s2sgrad.hessian(calls_nested)(0.4) == 0.0


def cubed_slope(x):
    return x ** 2 * np.sin(x)


def slope_cubed_inline(x):
    return s2sgrad.grad(cubed_slope)(x) ** 3


def slope_times(x, y):
    return s2sgrad.grad(cubed_slope, wrt=0)(x) * y


def test_grad_made_inside_the_differentiated_function_is_made_once_and_differentiated_again():
    # PyTorch's create_graph=True, written as JAX users write grad(grad(f)): the seed idiom's z = (dy/dx)**3.
    def slope(t):
        return 2 * t * np.sin(t) + t ** 2 * np.cos(t)
    x, eps = 0.7, 1e-6
    expected = (slope(x + eps) ** 3 - slope(x - eps) ** 3) / (2 * eps)
    assert s2sgrad.grad(slope_cubed_inline)(x) == pytest.approx(expected, rel=1e-7)
    assert s2sgrad.jvp(slope_cubed_inline, (x,), 1.0)[1] == pytest.approx(expected, rel=1e-7)
    dx, dy = s2sgrad.grad(slope_times, wrt=(0, 1))(x, 2.0)
    assert dy == pytest.approx(slope(x), rel=1e-12)
    assert dx == pytest.approx(2.0 * (slope(x + eps) - slope(x - eps)) / (2 * eps), rel=1e-7)
    assert "grad_cubed_slope(x)" in s2sgrad.source(slope_cubed_inline)


def slope_with_computed_wrt(x, a):
    return s2sgrad.grad(cubed_slope, wrt=a)(x)


def test_grad_made_inside_from_a_computed_option_is_refused_at_its_line():
    with pytest.raises(s2sgrad.S2SGradError, match=r"test_second_order.py:\d+:\d+: arguments computed inside the "
                       r"function to 's2sgrad.grad' are not supported; .*module level \(df = s2sgrad.grad\(f\)\)"):
        s2sgrad.grad(slope_with_computed_wrt)(1.0, 0)
