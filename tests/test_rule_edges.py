"""Gradient rules at the edges of their domains, in both modes and, where it applies, to second order.

At a degenerate point a rule gives the derivative the math has (as JAX and autograd do), the
subgradient JAX or PyTorch give at a kink, or a documented NaN where no derivative exists, never a NaN
from 0 * inf or 0 / 0 where the function is smooth, and never a ZeroDivisionError on Python floats.
Then: shares and masks keep the dtype (a Python float keeps float64), np.transpose with axes=None, every
einsum form, and constructors whose values move their output.

Each test states its tolerance: hand-derived values are compared exactly (or to rtol 1e-12), finite
differences (tests/gradcheck.py, float64, step 1e-6) to rtol 1e-5 / atol 1e-6 unless a test says otherwise.
"""

import math
import warnings

import numpy as np
import pytest

import s2sgrad
from gradcheck import assert_grad_matches, numeric_grad
from s2sgrad import runtime

RNG = np.random.default_rng(8)


def arr(*shape):
    return RNG.uniform(-1.5, 1.5, shape)


def both_modes(fn, args, wrt=0):
    """(gradient by reverse mode, directional derivative along ones by forward mode), warnings silenced:
    NumPy warns where an edge value is inf or NaN by design."""
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        grads = s2sgrad.grad(fn, wrt=wrt)(*args)
        ones = tuple(np.ones_like(args[p]) if isinstance(args[p], np.ndarray) else 1.0 for p in positions)
        _, tangent = s2sgrad.jvp(fn, args, ones if isinstance(wrt, tuple) else ones[0], wrt=wrt)
    return grads, tangent


def assert_no_warning_free_nan(value):
    assert not np.any(np.isnan(value)), value


# ---------------------------------------------------------------------------------------------
# std: a constant over one element, a kink where every element is equal
# ---------------------------------------------------------------------------------------------

def std_all(x):
    return np.std(x) * 3.0


def std_rows(x):
    return np.sum(np.std(x, axis=0))


def std_rows_keep(x):
    return np.sum(np.std(x, axis=-1, keepdims=True) * 2.0)


@pytest.mark.parametrize("fn, x", [(std_all, np.array([2.0])), (std_all, np.full(3, 0.25)),
                                   (std_rows, np.array([[1.0, -2.0, 0.5]])), (std_rows_keep, np.array([[0.5], [3.0]]))],
                         ids=["one element", "all equal", "axis 0 of one row", "axis -1 of size one, keepdims"])
def test_std_over_one_element_or_equal_elements_has_gradient_zero_in_both_modes(fn, x):
    g, t = both_modes(fn, (x,))
    np.testing.assert_array_equal(g, np.zeros_like(x))                     # exact: 0, not 0 / 0
    assert t == 0.0


def test_std_hessian_over_one_element_is_zero_and_elsewhere_matches_finite_differences():
    np.testing.assert_array_equal(s2sgrad.hessian(std_all)(np.array([2.0])), [[0.0]])
    x = np.array([1.0, 2.0, 4.0])
    H = s2sgrad.hessian(std_all)(x)
    g = s2sgrad.grad(std_all)
    fd = np.array([(g(x + 1e-6 * e) - g(x - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-8)


def test_std_away_from_the_edge_is_unchanged_by_the_select():
    x = arr(2, 3)
    assert_grad_matches(std_rows, x)


# ---------------------------------------------------------------------------------------------
# power: x ** y, np.power, np.float_power, math.pow
# ---------------------------------------------------------------------------------------------

def pow_op(x, y):
    return x ** y


def pow_np(x, y):
    return np.sum(np.power(x, y))


def pow_float(x, y):
    return np.sum(np.float_power(x, y))


def pow_math(x, y):
    return math.pow(x, y)


def pow_zero(x):
    return x ** 0.0


def pow_np_zero(x):
    return np.sum(np.power(x, 0.0))


def pow_half(x):
    return x ** 0.5


def polynomial(x, n: int):
    s = 0.0
    for k in range(n):
        s = s + (k + 1.0) * x ** k
    return s


@pytest.mark.parametrize("fn, x", [(pow_op, 0.0), (pow_math, 0.0), (pow_np, np.array([0.0, 0.0])),
                                   (pow_float, np.array([0.0, 0.0]))],
                         ids=["x ** y", "math.pow", "np.power", "np.float_power"])
def test_power_slope_in_the_exponent_at_base_zero_is_zero(fn, x):
    g, t = both_modes(fn, (x, 2.0), wrt=1)                # 0 ** y is 0 for every y > 0
    assert g == 0.0 and t == 0.0


@pytest.mark.parametrize("fn, x", [(pow_op, 0.0), (pow_math, 0.0), (pow_np, np.array([0.0, 3.0])),
                                   (pow_float, np.array([0.0, 3.0]))],
                         ids=["x ** y", "math.pow", "np.power", "np.float_power"])
def test_power_slope_in_the_base_at_exponent_zero_is_zero_at_base_zero_too(fn, x):
    g, t = both_modes(fn, (x, 0.0), wrt=0)                # x ** 0 is 1 for every x
    np.testing.assert_array_equal(g, np.zeros_like(x))
    assert t == 0.0


@pytest.mark.parametrize("fn, x", [(pow_zero, 0.0), (pow_np_zero, np.array([0.0, 2.0]))], ids=["float", "array"])
def test_constant_exponent_zero_gives_slope_zero_at_zero(fn, x):
    g, t = both_modes(fn, (x,))
    np.testing.assert_array_equal(g, np.zeros_like(x))
    assert t == 0.0


def test_polynomial_with_integer_loop_exponents_at_zero_has_its_linear_coefficient_as_slope():
    # 1 + 2x + 3x^2 at 0: the k = 0 term's slope is 0 * 0.0 ** -1, which raised ZeroDivisionError
    g, t = both_modes(polynomial, (0.0, 3))
    assert g == 2.0 and t == 2.0
    assert s2sgrad.grad(s2sgrad.grad(polynomial))(0.0, 3) == 6.0


def test_fractional_power_at_zero_has_infinite_slope_without_zero_division_error():
    g, t = both_modes(pow_half, (0.0,))
    assert g == math.inf and t == math.inf


def test_power_slope_in_the_exponent_of_a_negative_base_is_nan_as_in_jax():
    # (-2) ** y is real only at integer y: it has no derivative in y (log of a negative)
    for fn in (pow_op, pow_np):
        g, t = both_modes(fn, (-2.0, 3.0), wrt=1)
        assert math.isnan(g) and math.isnan(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert math.isnan(s2sgrad.grad(pow_math, wrt=1)(-2.0, 3.0))     # math.log(-2.0) raised ValueError


@pytest.mark.parametrize("x, y", [(1.5, 2.5), (0.7, -1.3), (2.0, 0.0), (-1.5, 3.0)])
def test_power_hessian_matches_finite_differences_off_the_singular_point(x, y):
    # at y == 0 (x != 0) the mixed derivative is 1/x: a select on y alone (PyTorch, autograd) gives 1
    def f(v):
        return np.sum(np.power(v[:1], v[1])) if x > 0 else np.sum(v[:1] ** 3.0 * v[1])
    v = np.array([x, y])
    H = s2sgrad.hessian(f)(v)
    g = s2sgrad.grad(f)
    fd = np.array([(g(v + 1e-6 * e) - g(v - 1e-6 * e)) / 2e-6 for e in np.eye(2)])
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)


def base_to_exponent(v):
    return v[0] ** v[1]


def test_power_mixed_second_derivative_at_exponent_zero_is_one_over_x():
    H = s2sgrad.hessian(base_to_exponent)(np.array([2.0, 0.0]))
    assert H[0, 1] == pytest.approx(0.5, rel=1e-12) and H[1, 0] == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("k, second", [(1, 0.0), (2, 2.0), (3, 0.0)])
def test_integer_powers_have_exact_second_derivatives_at_zero(k, second):
    def f(x):
        return np.sum(x ** k)
    np.testing.assert_array_equal(s2sgrad.hessian(f)(np.zeros(2)), second * np.eye(2))


def test_times_power_helper_is_zero_wherever_its_coefficient_is_and_keeps_the_dtype():
    assert runtime.times_power(0.0, 0.0, -1.0) == 0.0
    assert runtime.times_power(0.5, 0.0, -0.5) == math.inf
    assert runtime.times_power(3.0, 2.0, 2) == 12.0 and type(runtime.times_power(3.0, 2.0, 2)) is float
    for dtype in (np.float32, np.float16):
        x = np.array([0.0, 2.0], dtype=dtype)
        assert runtime.times_power(2.0, x, 1).dtype == dtype
        assert runtime.times_power(np.array([0.0, 1.0], dtype=dtype), x, -1.0).dtype == dtype


def uses_times_power(c, x, e):
    return np.sum(runtime.times_power(c, x, e) * np.array([0.5, -1.0, 2.0]))


@pytest.mark.parametrize("wrt", [0, 1, 2])
def test_times_power_rule_matches_finite_differences_in_both_modes(wrt):
    c, x, e = np.array([0.3, -1.2, 0.8]), np.array([0.5, 1.3, 2.0]), np.array([1.5, -0.5, 2.5])
    g = assert_grad_matches(uses_times_power, c, x, e, wrt=wrt)
    u = arr(3)
    _, t = s2sgrad.jvp(uses_times_power, (c, x, e), u, wrt=wrt)
    assert t == pytest.approx(np.sum(g * u), rel=1e-10)


# ---------------------------------------------------------------------------------------------
# Infinite slopes, kinks and jumps on Python floats and arrays
# ---------------------------------------------------------------------------------------------

def m_sqrt(x):
    return math.sqrt(x)


def n_sqrt(x):
    return np.sqrt(x)


def m_asin(x):
    return math.asin(x)


def m_acos(x):
    return math.acos(x)


def m_hypot(x, y):
    return math.hypot(x, y)


def n_hypot(x, y):
    return np.sum(np.hypot(x, y))


def m_atan2(y, x):
    return math.atan2(y, x)


def n_atan2(y, x):
    return np.sum(np.arctan2(y, x))


def norm_all(x):
    return np.linalg.norm(x)


def norm_rows(x):
    return np.sum(np.linalg.norm(x, axis=1))


def abs_float(x):
    return abs(x)


def n_abs(x):
    return np.sum(np.abs(x))


@pytest.mark.parametrize("fn, x, slope", [(m_sqrt, 0.0, math.inf), (n_sqrt, 0.0, math.inf),
                                          (m_asin, 1.0, math.inf), (m_asin, -1.0, math.inf),
                                          (m_acos, 1.0, -math.inf), (m_acos, -1.0, -math.inf)],
                         ids=["math.sqrt(0)", "np.sqrt(0.0)", "asin(1)", "asin(-1)", "acos(1)", "acos(-1)"])
def test_infinite_slopes_stay_infinite_without_zero_division_error(fn, x, slope):
    g, t = both_modes(fn, (x,))
    assert g == slope and t == slope


@pytest.mark.parametrize("fn, x, y", [(m_hypot, 0.0, 0.0), (n_hypot, np.zeros(3), np.zeros(3))], ids=["math", "numpy"])
def test_hypot_at_the_origin_has_the_subgradient_zero(fn, x, y):
    (gx, gy), t = both_modes(fn, (x, y), wrt=(0, 1))
    np.testing.assert_array_equal(gx, np.zeros_like(x))
    np.testing.assert_array_equal(gy, np.zeros_like(y))
    assert t == 0.0


def test_hypot_with_a_zero_among_nonzero_points_is_exact_elsewhere():
    x, y = np.array([0.0, 3.0]), np.array([0.0, 4.0])
    gx, gy = s2sgrad.grad(n_hypot, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(gx, [0.0, 0.6], rtol=1e-12)
    np.testing.assert_allclose(gy, [0.0, 0.8], rtol=1e-12)


@pytest.mark.parametrize("fn, x", [(norm_all, np.zeros(3)), (norm_rows, np.array([[0.0, 0.0], [3.0, 4.0]]))],
                         ids=["all", "a zero row"])
def test_norm_at_zero_has_the_subgradient_zero_as_in_pytorch(fn, x):
    g, t = both_modes(fn, (x,))
    expected = np.where(x == 0.0, 0.0, x / 5.0)
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    assert t == pytest.approx(np.sum(expected), rel=1e-12)


def test_norm_and_hypot_hessians_match_finite_differences_away_from_zero():
    x = np.array([3.0, -4.0, 1.0])
    H = s2sgrad.hessian(norm_all)(x)
    r = np.linalg.norm(x)
    np.testing.assert_allclose(H, (np.eye(3) - np.outer(x, x) / r ** 2) / r, rtol=1e-12)


@pytest.mark.parametrize("fn, y, x", [(m_atan2, 0.0, 0.0), (n_atan2, np.zeros(2), np.zeros(2))], ids=["math", "numpy"])
def test_atan2_at_the_origin_has_no_derivative_nan_as_in_jax_not_an_exception(fn, y, x):
    (gy, gx), t = both_modes(fn, (y, x), wrt=(0, 1))
    assert np.all(np.isnan(gy)) and np.all(np.isnan(gx)) and np.isnan(t)


@pytest.mark.parametrize("fn, args, wrt", [(m_atan2, (0.5, -1.2), (0, 1)), (n_atan2, (arr(3), arr(3)), (0, 1)),
                                           (m_atan2, (1e-170, 2e-170), (0, 1))],
                         ids=["math", "numpy", "tiny: r * r would underflow"])
def test_atan2_away_from_the_origin_matches_the_formula(fn, args, wrt):
    y, x = args
    gy, gx = s2sgrad.grad(fn, wrt=wrt)(y, x)
    np.testing.assert_allclose(gy, x / np.hypot(x, y) / np.hypot(x, y), rtol=1e-12)
    np.testing.assert_allclose(gx, -y / np.hypot(x, y) / np.hypot(x, y), rtol=1e-12)


@pytest.mark.parametrize("fn, x", [(abs_float, 0.0), (n_abs, np.zeros(2))], ids=["abs", "np.abs"])
def test_abs_at_zero_has_the_subgradient_zero(fn, x):
    g, t = both_modes(fn, (x,))
    np.testing.assert_array_equal(g, np.zeros_like(x))
    assert t == 0.0


def n_log(x):
    return np.log(x)


def n_log2(x):
    return np.log2(x) * 2.0


def n_log1p(x):
    return np.log1p(x)


def n_arctanh(x):
    return np.arctanh(x)


def n_divide(x, y):
    return np.divide(x, y)


@pytest.mark.parametrize("fn, x", [(n_log, 0.0), (n_log2, 0.0), (n_log1p, -1.0), (n_arctanh, 1.0)],
                         ids=["log(0)", "log2(0)", "log1p(-1)", "arctanh(1)"])
def test_numpy_functions_of_python_floats_give_infinite_slopes_not_zero_division_error(fn, x):
    g, t = both_modes(fn, (x,))
    assert g == math.inf and t == math.inf


def test_numpy_divide_of_python_floats_by_zero_gives_infinite_slope_not_zero_division_error():
    g, t = both_modes(n_divide, (1.0, 0.0))
    assert g == math.inf and t == math.inf


def mean_rows(x):
    return np.sum(np.mean(x, axis=0))


def var_rows(x):
    return np.sum(np.var(x, axis=1))


def std_cols(x):
    return np.sum(np.std(x, axis=1))


def mean_all(x):
    return np.mean(x) * 2.0


@pytest.mark.parametrize("fn, shape", [(mean_rows, (0, 3)), (var_rows, (3, 0)), (std_cols, (0, 2)), (mean_all, (0,))],
                         ids=["mean over an empty axis", "var over an empty axis", "std, no rows", "mean of nothing"])
def test_reductions_over_empty_axes_give_empty_gradients_not_zero_division_error(fn, shape):
    x = np.zeros(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = s2sgrad.grad(fn)(x)
    assert g.shape == shape


# ---------------------------------------------------------------------------------------------
# Precision: shares and masks never lower the dtype
# ---------------------------------------------------------------------------------------------

def scaled_max(x):
    return 3.3 * np.max(x)


def scaled_maximum(x):
    return 3.3 * np.maximum(x, 1.0)


def scaled_min_along(x):
    return 3.3 * np.sum(np.min(x, axis=0))


@pytest.mark.parametrize("fn", [scaled_max, scaled_maximum], ids=["np.max", "np.maximum"])
def test_share_of_a_python_float_is_float64_not_float16(fn):
    # float16 would give 3.30078125
    g, t = both_modes(fn, (2.0,))
    assert g == 3.3 and t == 3.3


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_shares_of_low_precision_arrays_keep_their_dtype(dtype):
    x = np.array([[1.0, 3.0], [3.0, 0.5]], dtype=dtype)
    assert runtime.extremum_share(x, np.max(x), None, False).dtype == dtype
    assert runtime.share_of(x, dtype(1.0), np.maximum(x, dtype(1.0))).dtype == dtype
    assert s2sgrad.grad(scaled_min_along)(x).dtype == dtype


def test_shares_of_python_floats_and_integers_are_float64():
    assert runtime.extremum_share(2.0, 2.0, None, False).dtype == np.float64
    assert runtime.share_of(2.0, 1.0, 2.0).dtype == np.float64
    assert runtime.extremum_share(np.array([1, 3, 3]), 3, None, False).dtype == np.float64
    assert runtime.float_dtype(True) == np.float64


# ---------------------------------------------------------------------------------------------
# np.transpose
# ---------------------------------------------------------------------------------------------

W32 = np.arange(6.0).reshape(3, 2)


def transpose_none(x):
    return np.sum(np.sin(np.transpose(x, axes=None)) * W32)


def transpose_negative(x):
    return np.sum(np.sin(np.transpose(x, (-1, 0, 1))) * np.arange(4.0)[:, None, None])


@pytest.mark.parametrize("fn, x", [(transpose_none, arr(2, 3)), (transpose_negative, arr(2, 3, 4))],
                         ids=["axes=None", "negative axes"])
def test_transpose_with_axes_none_or_negative_axes_in_both_modes(fn, x):
    g = assert_grad_matches(fn, x)
    u = arr(*x.shape)
    _, t = s2sgrad.jvp(fn, (x,), u)
    assert t == pytest.approx(np.sum(g * u), rel=1e-10)


def test_inverse_axes_undoes_every_permutation_form():
    x = arr(2, 3, 4)
    for axes in [(2, 0, 1), (-1, 0, 1), (1, -1, 0), None]:
        y = np.transpose(x, axes)
        np.testing.assert_array_equal(np.transpose(y, runtime.inverse_axes(axes, 3)), x)


# ---------------------------------------------------------------------------------------------
# einsum, every form with string subscripts
# ---------------------------------------------------------------------------------------------

EINSUM_FORMS = [  # (subscripts, operand shapes, keyword arguments)
    ("ij,jk->ik", [(2, 3), (3, 4)], {}),
    ("ij,jk", [(2, 3), (3, 4)], {}),                               # implicit output: ik
    ("ba", [(3, 2)], {}),                                          # implicit output: ab, a transpose
    ("bA,Ac", [(3, 2), (2, 4)], {}),                               # upper case sorts first: bc
    ("ii", [(3, 3)], {}),                                          # trace
    ("ii->i", [(3, 3)], {}),                                       # diagonal
    ("iij->j", [(2, 2, 3)], {}),
    ("ij,ij->", [(2, 3), (2, 3)], {}),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)], {}),               # ellipsis, broadcast batch
    ("...ij,jk", [(4, 2, 3), (3, 2)], {}),                          # ellipsis, implicit output
    ("i...,i...", [(3, 2), (3, 1)], {}),                           # ellipsis broadcast from size 1
    ("mnd,mdo->mno", [(1, 2, 3), (4, 3, 5)], {}),                  # a label broadcast from size 1
    ("ij,j->i", [(3, 4), (1,)], {}),                               # a label of size 1 in one operand only
    ("i,i,i,i->", [(3,), (3,), (3,), (3,)], {}),                   # four operands
    ("ij,jk,kl,lm->im", [(2, 3), (3, 2), (2, 3), (3, 2)], {"optimize": True}),
    ("ij,jk,k->i", [(2, 3), (3, 4), (4,)], {"optimize": "greedy"}),
    (",ij->ij", [(), (2, 3)], {}),                                 # a scalar operand
    (" ij , jk -> ik ", [(2, 3), (3, 4)], {}),                      # spaces
]


@pytest.mark.parametrize("spec, shapes, kwargs", EINSUM_FORMS, ids=[f[0].strip() + str(f[2] or "") for f in EINSUM_FORMS])
def test_einsum_adjoints_reverse_einsum_in_every_form(spec, shapes, kwargs):
    operands = [arr(*s) for s in shapes]
    y = np.einsum(spec, *operands, **kwargs)
    g = arr(*np.shape(y))
    grads = runtime.einsum_adjoints(g, spec, operands, kwargs.get("optimize", False))
    for k, x in enumerate(operands):
        assert np.shape(grads[k]) == np.shape(x)
        u = arr(*np.shape(x))

        def along(t):
            moved = list(operands)
            moved[k] = x + t * u
            return np.sum(g * np.einsum(spec, *moved, **kwargs))
        fd = (along(1e-6) - along(-1e-6)) / 2e-6
        assert np.sum(grads[k] * u) == pytest.approx(fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("spec, shapes, kwargs", EINSUM_FORMS, ids=[f[0].strip() + str(f[2] or "") for f in EINSUM_FORMS])
def test_einsum_tangent_is_the_directional_derivative(spec, shapes, kwargs):
    operands = [arr(*s) for s in shapes]
    tangents = [arr(*s) if k % 2 == 0 else None for k, s in enumerate(shapes)]
    t = runtime.einsum_tangent(spec, operands, tangents, kwargs.get("optimize", False))

    def along(step):
        return np.einsum(spec, *[x if u is None else x + step * u for x, u in zip(operands, tangents)], **kwargs)
    np.testing.assert_allclose(t, (along(1e-6) - along(-1e-6)) / 2e-6, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("spec, shapes, kwargs", EINSUM_FORMS, ids=[f[0].strip() + str(f[2] or "") for f in EINSUM_FORMS])
def test_einsum_tangent_adjoints_reverse_the_tangent_helper(spec, shapes, kwargs):
    # what a rule for einsum_tangent (Hessians through einsums of four or more operands) would call
    operands = [arr(*s) for s in shapes]
    tangents = [arr(*s) if k % 2 == 0 else None for k, s in enumerate(shapes)]
    optimize = kwargs.get("optimize", False)
    g = arr(*np.shape(np.einsum(spec, *operands, **kwargs)))
    of_operands, of_tangents = runtime.einsum_tangent_adjoints(g, spec, operands, tangents, optimize)
    for which, adjoints in (("operands", of_operands), ("tangents", of_tangents)):
        for k, adjoint in enumerate(adjoints):
            if which == "tangents" and tangents[k] is None:
                assert adjoint is None
                continue
            u = arr(*shapes[k])

            def along(step):
                ops, tans = list(operands), list(tangents)
                (ops if which == "operands" else tans)[k] = (ops if which == "operands" else tans)[k] + step * u
                return np.sum(g * runtime.einsum_tangent(spec, ops, tans, optimize))
            fd = (along(1e-6) - along(-1e-6)) / 2e-6
            assert np.sum(adjoint * u) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def ein_matmul_implicit(a, b):
    return np.sum(np.sin(np.einsum("ij,jk", a, b)))


def ein_trace(a):
    return np.sin(np.einsum("ii", a))


def ein_diagonal(a):
    return np.sum(np.sin(np.einsum("ii->i", a)) * np.arange(3.0))


def ein_batch_ellipsis(a, b):
    return np.sum(np.sin(np.einsum("...ij,...jk->...ik", a, b)))


def ein_broadcast_label(a, b):
    return np.sum(np.sin(np.einsum("mnd,mdo->mno", a, b)))


def ein_optimized(a, b, c):
    return np.sum(np.sin(np.einsum("ij,jk,k->i", a, b, c, optimize=True)))


def ein_four(x, w):
    return np.sin(np.einsum("i,i,i,i->", x, x, w, x))


def ein_chain_four(a, b):
    return np.sum(np.sin(np.einsum("ij,jk,kl,lm->im", a, b, a, b, optimize=True)))


EINSUM_CALLS = [
    (ein_matmul_implicit, (arr(2, 3), arr(3, 4)), (0, 1)),
    (ein_trace, (arr(3, 3),), 0),
    (ein_diagonal, (arr(3, 3),), 0),
    (ein_batch_ellipsis, (arr(2, 2, 3), arr(3, 2)), (0, 1)),
    (ein_broadcast_label, (arr(1, 2, 3), arr(4, 3, 5)), (0, 1)),
    (ein_optimized, (arr(2, 3), arr(3, 4), arr(4)), (0, 1, 2)),
]
FOUR_OPERANDS = [(ein_four, (arr(3), arr(3)), (0, 1)), (ein_chain_four, (arr(2, 3), arr(3, 2)), (0, 1))]


@pytest.mark.parametrize("fn, args, wrt", EINSUM_CALLS + FOUR_OPERANDS, ids=lambda c: getattr(c, "__name__", ""))
def test_einsum_gradient_matches_finite_differences_in_every_form(fn, args, wrt):
    grads = assert_grad_matches(fn, *args, wrt=wrt)
    for g, x in zip(grads, args):
        assert np.shape(g) == np.shape(x)


def _jvp_matches_reverse(fn, args, wrt):
    grads = s2sgrad.grad(fn, wrt=wrt)(*args)
    tangents = tuple(arr(*np.shape(args[p])) for p in wrt) if isinstance(wrt, tuple) else arr(*np.shape(args[wrt]))
    _, t = s2sgrad.jvp(fn, args, tangents, wrt=wrt)
    pairs = zip(grads, tangents) if isinstance(wrt, tuple) else [(grads, tangents)]
    assert t == pytest.approx(sum(np.sum(g * u) for g, u in pairs), rel=1e-10)


@pytest.mark.parametrize("fn, args, wrt", EINSUM_CALLS, ids=lambda c: getattr(c, "__name__", ""))
def test_einsum_forward_mode_agrees_with_reverse_mode(fn, args, wrt):
    _jvp_matches_reverse(fn, args, wrt)


@pytest.mark.parametrize("fn, args, wrt", FOUR_OPERANDS, ids=lambda c: getattr(c, "__name__", ""))
def test_einsum_of_four_operands_in_forward_mode_agrees_with_reverse_mode(fn, args, wrt):
    _jvp_matches_reverse(fn, args, wrt)


def ein_square_implicit(a):
    return np.sum(np.einsum("ij,jk", a, a) ** 2)


def ein_trace_and_diagonal(a):
    return np.einsum("ii", a) ** 2 + np.sum(np.einsum("ii->i", a) ** 3)


def ein_ellipsis_of_itself(a):
    return np.sum(np.einsum("...ij,jk", a, a[0]) ** 2)


@pytest.mark.parametrize("fn, x", [(ein_square_implicit, arr(2, 2)), (ein_trace_and_diagonal, arr(3, 3)),
                                   (ein_ellipsis_of_itself, arr(2, 2, 2))],
                         ids=["implicit", "trace and diagonal", "ellipsis"])
def test_einsum_hessian_matches_finite_differences(fn, x):
    H = s2sgrad.hessian(fn)(x)
    g = s2sgrad.grad(fn)
    n = x.size
    fd = np.array([(g(x + 1e-6 * e.reshape(x.shape)) - g(x - 1e-6 * e.reshape(x.shape))) / 2e-6
                   for e in np.eye(n)]).reshape(x.shape + x.shape)
    np.testing.assert_allclose(H, np.moveaxis(fd, range(x.ndim), range(x.ndim, 2 * x.ndim)), rtol=1e-5, atol=1e-6)


def test_einsum_parts_spell_out_ellipses_and_implicit_outputs_as_numpy_does():
    assert runtime.einsum_parts("...ij,jk", [(5, 2, 3), (3, 4)]) == (["Aij", "jk"], "Aik")
    assert runtime.einsum_parts("bA", [(3, 2)]) == (["bA"], "Ab")
    for spec, shapes, _ in EINSUM_FORMS:
        inputs, output = runtime.einsum_parts(spec, shapes)
        operands = [np.ones(s) for s in shapes]
        explicit = ",".join(inputs) + "->" + output
        assert np.einsum(explicit, *operands).shape == np.einsum(spec, *operands).shape


# ---------------------------------------------------------------------------------------------
# Constructors whose values move their output
# ---------------------------------------------------------------------------------------------

def full_of(c):
    return np.sum(np.full((3,), c) * np.arange(3.0))


def full_like_of(x, c):
    return np.sum(np.full_like(x, c) * x)


def full_int(c):
    return np.sum(np.full((3,), c, dtype=int) * 1.5)


def full_like_int(c):
    return np.sum(np.full_like(np.arange(3), c) * 1.5)


def linspace_of(a, b):
    return np.sum(np.linspace(a, b, 5) ** 2)


def arange_of(a, step):
    return np.sum(np.arange(a, 3.0, step) ** 2)


@pytest.mark.parametrize("fn, args, wrt", [(full_of, (0.7,), 0), (full_like_of, (arr(2, 3), 0.4), 1),
                                           (linspace_of, (0.3, 1.7), (0, 1)), (arange_of, (0.3, 0.7), (0, 1))],
                         ids=["np.full", "np.full_like", "np.linspace", "np.arange"])
def test_constructor_values_carry_their_derivative_in_both_modes(fn, args, wrt):
    g = assert_grad_matches(fn, *args, wrt=wrt)          # was 0.0: the constructors were declared constant
    assert np.all(np.asarray(g) != 0.0)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    tangents = tuple(1.0 for _ in positions)
    _, t = s2sgrad.jvp(fn, args, tangents if isinstance(wrt, tuple) else 1.0, wrt=wrt)
    assert t == pytest.approx(np.sum([np.sum(numeric_grad(fn, args, p)) for p in positions]), rel=1e-6)


def array_int(c):
    return np.sum(np.array([c, 2.0], dtype=int) * 1.5)


@pytest.mark.parametrize("fn", [full_int, full_like_int], ids=["np.full dtype=int", "np.full_like of ints"])
def test_constructors_that_make_integers_carry_no_derivative(fn):
    g, t = both_modes(fn, (0.7,))
    assert g == 0.0 and t == 0.0


def test_an_array_of_integers_made_from_values_carries_no_gradient():
    assert s2sgrad.grad(array_int)(0.7) == 0.0              # was 1.5


def test_an_array_of_integers_made_from_values_carries_no_tangent():
    assert s2sgrad.jvp(array_int, (0.7,), 1.0)[1] == 0.0


def where_of(x):
    return np.sum(np.where(x * 1.0, x * 2.0, -x))        # a condition computed from x: truthy where nonzero


def repeat_by_itself(x):
    return np.sum(np.repeat(x, np.round(x).astype(int) + 2) ** 2)


@pytest.mark.parametrize("fn, x", [(where_of, np.array([0.5, -0.3, 1.2])), (repeat_by_itself, np.array([0.4, 1.3]))],
                         ids=["np.where condition", "np.repeat counts"])
def test_inert_arguments_that_depend_on_the_input_are_accepted_and_exact(fn, x):
    assert_grad_matches(fn, x)


# ---------------------------------------------------------------------------------------------
# Decompositions at repeated eigenvalues and singular values: the terms coupling equal values are left
# out, which is exact for functions of the values and of the spaces of repeated values (JAX and PyTorch
# give inf/NaN there)
# ---------------------------------------------------------------------------------------------

def eigen_energy(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w * w)


def projector_onto_the_two_smallest(a):
    w, v = np.linalg.eigh(a)
    top = v[:, :2]
    return np.sum((top @ top.T) * np.array([[1.0, 2.0, 0.5], [2.0, -1.0, 0.3], [0.5, 0.3, 4.0]]))


def _symmetric(u):
    return u + u.T


def test_eigh_at_a_repeated_eigenvalue_is_exact_for_values_and_eigenspaces():
    q, _ = np.linalg.qr(arr(3, 3))
    a = q @ np.diag([1.0, 1.0, 3.0]) @ q.T                   # the eigenvalue 1 twice, to working precision
    g = s2sgrad.grad(eigen_energy)(a)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, np.tril(2.0 * a) + np.tril(2.0 * a, -1), rtol=1e-10, atol=1e-12)
    g = s2sgrad.grad(projector_onto_the_two_smallest)(a)
    u = _symmetric(arr(3, 3))
    fd = (projector_onto_the_two_smallest(a + 1e-6 * u) - projector_onto_the_two_smallest(a - 1e-6 * u)) / 2e-6
    assert np.sum(g * u) == pytest.approx(fd, rel=1e-5, abs=1e-8)          # symmetric perturbations


def nuclear(a):
    return np.sum(np.linalg.svd(a, compute_uv=False))


def test_svd_at_repeated_singular_values_gives_a_finite_gradient():
    q, _ = np.linalg.qr(arr(3, 3))
    a = 2.0 * q                                               # every singular value is 2
    g = s2sgrad.grad(nuclear)(a)
    np.testing.assert_allclose(g, q, rtol=1e-10, atol=1e-12)  # U V^T, the derivative of the nuclear norm


def svd_vectors_energy(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(s * s) + np.sum(u * u)


def test_svd_of_a_repeated_singular_value_and_a_zero_one_stays_finite_where_u_is_read_by_norm_only():
    a = np.diag([2.0, 2.0, 1.0])
    g = s2sgrad.grad(svd_vectors_energy)(a)
    np.testing.assert_allclose(g, 2.0 * a, rtol=1e-10, atol=1e-12)


def square_svd_wide(a):
    u, s, vh = np.linalg.svd(a)
    return np.sum(s)


def test_decomposition_forms_with_no_derivative_are_refused_when_the_gradient_runs():
    # the extra columns of a full U are any orthonormal completion: no derivative
    with pytest.raises(ValueError, match="full_matrices=False"):
        s2sgrad.grad(square_svd_wide)(arr(4, 3))
