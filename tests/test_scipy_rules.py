"""SciPy's gradient rules (scipy.special, scipy.stats, scipy.linalg, scipy.integrate, scipy.signal),
checked like NumPy's: against central finite differences in float64 in reverse mode (rtol 1e-5, atol 1e-6
unless an entry says otherwise), in forward mode along a random direction (the same tolerance), and to
second order (Hessian-vector products against differences of the gradient, rtol 1e-4, atol 1e-6).

`SCIPY_RULES` is the table; `test_every_registered_scipy_rule_has_a_test` walks `s2sgrad.rules.RULES`, so
registering a SciPy rule without an entry here fails the suite. SciPy is an optional dependency
(`pip install 's2sgrad[scipy]'`): without it this module is skipped.
"""

import inspect
import math
import re
import warnings

import numpy as np
import pytest

scipy = pytest.importorskip("scipy")

from scipy.special import (beta, betainc, betaln, dawsn, digamma, entr, erf, erfc, erfcinv, erfcx, erfi,  # noqa: E402
                           erfinv, expit, gamma, gammainc, gammaincc, gammaln, i0, i0e, i1, i1e, iv, ive, j0, j1, jv,
                           k0, k0e, k1, k1e, kl_div, kv, kve, log_expit, log_ndtr, log_softmax, logit, logsumexp,
                           multigammaln, ndtr, ndtri, polygamma, psi, rel_entr, rgamma, softmax, xlog1py, xlogy, y0,
                           y1, yv)

import s2sgrad  # noqa: E402
from gradcheck import assert_grad_matches  # noqa: E402
from s2sgrad.rules import RULES  # noqa: E402
from test_numpy_rules import hessian_check, is_scipy  # noqa: E402

RNG = np.random.default_rng(20240612)


def arr(*shape, lo=-1.5, hi=1.5):
    return RNG.uniform(lo, hi, shape)


def pos(*shape, lo=0.4, hi=2.5):
    return RNG.uniform(lo, hi, shape)


def unit(*shape):
    return RNG.uniform(0.1, 0.9, shape)


# ---------------------------------------------------------------------------------------------
# scipy.special: one function per rule, each through a nonlinear function of its result
# ---------------------------------------------------------------------------------------------

def sp_erf(x):
    return np.sum(np.sin(erf(x)))


def sp_erfc(x):
    return np.sum(np.sin(erfc(x)))


def sp_erfinv(x):
    return np.sum(np.sin(erfinv(x)))


def sp_erfcinv(x):
    return np.sum(np.sin(erfcinv(x)))


def sp_erfcx(x):
    return np.sum(np.sin(erfcx(x)))


def sp_erfi(x):
    return np.sum(np.sin(erfi(x)))


def sp_dawsn(x):
    return np.sum(np.sin(dawsn(x)))


def sp_ndtr(x):
    return np.sum(np.sin(ndtr(x)))


def sp_log_ndtr(x):
    return np.sum(np.sin(log_ndtr(x)))


def sp_ndtri(p):
    return np.sum(np.sin(ndtri(p)))


def sp_gamma(x):
    return np.sum(np.sin(gamma(x)))


def sp_gammaln(x):
    return np.sum(np.sin(gammaln(x)))


def sp_digamma(x):
    return np.sum(np.sin(digamma(x)) + psi(x) ** 2)


def sp_polygamma(x):
    return np.sum(np.sin(polygamma(1, x)) + polygamma(2, x) ** 2)


def sp_rgamma(x):
    return np.sum(np.sin(rgamma(x)))


def sp_multigammaln(a):
    return np.sin(multigammaln(a, 3))


def sp_gammainc(x):
    return np.sum(np.sin(gammainc(1.7, x)))


def sp_gammaincc(x):
    return np.sum(np.sin(gammaincc(np.array([0.6, 2.5, 1.0]), x)))


def sp_beta(a, b):
    return np.sum(np.sin(beta(a, b)))


def sp_betaln(a, b):
    return np.sum(np.sin(betaln(a, b)))


def sp_betainc(x):
    return np.sum(np.sin(betainc(1.5, 2.5, x)))


def sp_expit(x):
    return np.sum(np.sin(expit(x)))


def sp_logit(p):
    return np.sum(np.sin(logit(p)))


def sp_log_expit(x):
    return np.sum(np.sin(log_expit(x)))


def sp_logsumexp(a):
    return np.sin(logsumexp(a)) + np.sum(np.sin(logsumexp(a, axis=0)))


def sp_logsumexp_keep(a):
    return np.sum(np.sin(logsumexp(a, axis=-1, keepdims=True) * a))


def sp_logsumexp_weighted(a, b):
    return np.sum(np.sin(logsumexp(a, axis=1, b=b)))


def sp_logsumexp_tuple_axis(a):
    return np.sum(np.sin(logsumexp(a, axis=(0, 2))))


def sp_softmax(x):
    return np.sum(np.sin(softmax(x)) * np.arange(np.size(x)).reshape(np.shape(x)))


def sp_softmax_axis(x):
    return np.sum(np.sin(softmax(x, axis=-1)) * np.arange(np.size(x)).reshape(np.shape(x)))


def sp_softmax_weighted(x):
    return np.sum(np.sin(softmax(x, axis=-1)) * x)


def sp_log_softmax(x):
    return np.sum(np.sin(log_softmax(x, axis=0)) * np.arange(np.size(x)).reshape(np.shape(x)))


def sp_xlogy(x, y):
    return np.sum(np.sin(xlogy(x, y)))


def sp_xlog1py(x, y):
    return np.sum(np.sin(xlog1py(x, y)))


def sp_entr(x):
    return np.sum(np.sin(entr(x)))


def sp_rel_entr(x, y):
    return np.sum(np.sin(rel_entr(x, y)))


def sp_kl_div(x, y):
    return np.sum(np.sin(kl_div(x, y)))


def sp_i0(x):
    return np.sum(np.sin(i0(x)))


def sp_i1(x):
    return np.sum(np.sin(i1(x)))


def sp_iv(x):
    return np.sum(np.sin(iv(1.5, x)) + iv(0.0, x) ** 2)


def sp_i0e(x):
    return np.sum(np.sin(i0e(x)))


def sp_i1e(x):
    return np.sum(np.sin(i1e(x)))


def sp_ive(x):
    return np.sum(np.sin(ive(2.5, x)))


def sp_j0(x):
    return np.sum(np.sin(j0(x)))


def sp_j1(x):
    return np.sum(np.sin(j1(x)))


def sp_jv(x):
    return np.sum(np.sin(jv(1.5, x)) + jv(3.0, x) ** 2)


def sp_y0(x):
    return np.sum(np.sin(y0(x)))


def sp_y1(x):
    return np.sum(np.sin(y1(x)))


def sp_yv(x):
    return np.sum(np.sin(yv(0.5, x)))


def sp_k0(x):
    return np.sum(np.sin(k0(x)))


def sp_k1(x):
    return np.sum(np.sin(k1(x)))


def sp_kv(x):
    return np.sum(np.sin(kv(1.5, x)))


def sp_k0e(x):
    return np.sum(np.sin(k0e(x)))


def sp_k1e(x):
    return np.sum(np.sin(k1e(x)))


def sp_kve(x):
    return np.sum(np.sin(kve(0.5, x)))


X3, X23, X234 = arr(3), arr(2, 3), arr(2, 3, 4)
P3, P23 = pos(3), pos(2, 3)
PAIRS = [(pos(3), pos(3)), (pos(3), pos(2, 3)), (pos(2, 1), pos(1, 3)), (1.3, pos(2, 3))]

# (primitive, arity the case exercises, function, list of argument tuples, wrt)
SCIPY_RULES = [
    (erf, 1, sp_erf, [(X3,), (X23,)], 0),
    (erfc, 1, sp_erfc, [(X3,)], 0),
    (erfinv, 1, sp_erfinv, [(arr(3, lo=-0.9, hi=0.9),), (arr(2, 3, lo=-0.9, hi=0.9),)], 0),
    (erfcinv, 1, sp_erfcinv, [(arr(3, lo=0.1, hi=1.9),)], 0),
    (erfcx, 1, sp_erfcx, [(X3,)], 0),
    (erfi, 1, sp_erfi, [(X3,)], 0),
    (dawsn, 1, sp_dawsn, [(X3,)], 0),
    (ndtr, 1, sp_ndtr, [(X3,), (arr(3, lo=-9.0, hi=-5.0),)], 0),
    (log_ndtr, 1, sp_log_ndtr, [(X3,), (arr(3, lo=-30.0, hi=-10.0),)], 0),
    (ndtri, 1, sp_ndtri, [(unit(3),), (unit(2, 3),)], 0),
    (gamma, 1, sp_gamma, [(P3,), (np.array([-0.5, -1.3, 2.2]),)], 0),
    (gammaln, 1, sp_gammaln, [(P3,), (pos(2, 3),)], 0),
    (digamma, 1, sp_digamma, [(P3,)], 0),
    (polygamma, 2, sp_polygamma, [(P3,)], 0),
    (rgamma, 1, sp_rgamma, [(P3,), (np.array([-0.5, -1.3, 0.2, -2.7]),)], 0),
    (multigammaln, 2, sp_multigammaln, [(3.3,)], 0),
    (gammainc, 2, sp_gammainc, [(P3,)], 0),
    (gammaincc, 2, sp_gammaincc, [(P3,), (pos(2, 3),)], 0),
    (beta, 2, sp_beta, PAIRS, (0, 1)),
    (betaln, 2, sp_betaln, PAIRS, (0, 1)),
    (betainc, 3, sp_betainc, [(unit(3),)], 0),
    (expit, 1, sp_expit, [(X3,), (X234,)], 0),
    (logit, 1, sp_logit, [(unit(3),), (unit(2, 3),)], 0),
    (log_expit, 1, sp_log_expit, [(X3,), (arr(3, lo=-40.0, hi=40.0),)], 0),
    (logsumexp, 4, sp_logsumexp, [(X23,), (X234,)], 0),
    (logsumexp, 4, sp_logsumexp_keep, [(X3,), (X234,)], 0),
    (logsumexp, 4, sp_logsumexp_weighted, [(X23, pos(3)), (X23, pos(2, 3)), (X234, pos(3, 1))], (0, 1)),
    (logsumexp, 4, sp_logsumexp_tuple_axis, [(X234,)], 0),
    (softmax, 2, sp_softmax, [(X3,), (X23,)], 0),
    (softmax, 2, sp_softmax_axis, [(X23,), (X234,)], 0),
    (softmax, 2, sp_softmax_weighted, [(X23,)], 0),
    (log_softmax, 2, sp_log_softmax, [(X23,), (X234,)], 0),
    (xlogy, 2, sp_xlogy, [(X3, P3), (X23, P3), (0.7, pos(2, 3))], (0, 1)),
    (xlog1py, 2, sp_xlog1py, [(X3, P3), (X23, arr(3, lo=-0.5, hi=2.0))], (0, 1)),
    (entr, 1, sp_entr, [(P3,), (P23,)], 0),
    (rel_entr, 2, sp_rel_entr, PAIRS, (0, 1)),
    (kl_div, 2, sp_kl_div, PAIRS, (0, 1)),
    (i0, 1, sp_i0, [(X3,)], 0),
    (i1, 1, sp_i1, [(X3,)], 0),
    (iv, 2, sp_iv, [(P3,), (pos(2, 3),)], 0),
    (i0e, 1, sp_i0e, [(X3,)], 0),
    (i1e, 1, sp_i1e, [(X3,)], 0),
    (ive, 2, sp_ive, [(X3,)], 0),
    (j0, 1, sp_j0, [(X3 * 3.0,)], 0),
    (j1, 1, sp_j1, [(X3 * 3.0,)], 0),
    (jv, 2, sp_jv, [(P3 * 2.0,)], 0),
    (y0, 1, sp_y0, [(P3,)], 0),
    (y1, 1, sp_y1, [(P3,)], 0),
    (yv, 2, sp_yv, [(P3,)], 0),
    (k0, 1, sp_k0, [(P3,)], 0),
    (k1, 1, sp_k1, [(P3,)], 0),
    (kv, 2, sp_kv, [(P3,)], 0),
    (k0e, 1, sp_k0e, [(P3,)], 0),
    (k1e, 1, sp_k1e, [(P3,)], 0),
    (kve, 2, sp_kve, [(P3,)], 0),
]


def _describe(a):
    return str(np.shape(a)) if isinstance(a, np.ndarray) else repr(a)


def _cases(table):
    return [pytest.param(fn, args, wrt, id=f"{fn.__name__}({','.join(_describe(a) for a in args)})")
            for _, _, fn, points, wrt in table for args in points]


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


@pytest.mark.parametrize("fn, args, wrt", _cases(SCIPY_RULES))
def test_scipy_rule_matches_finite_differences(fn, args, wrt):
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    grads = _quiet(assert_grad_matches, fn, *args, wrt=positions)
    for p, g in zip(positions, grads):
        assert np.shape(g) == np.shape(args[p])


def jvp_check(fn, args, wrt, rtol=1e-5, atol=1e-6):
    """The tangent by forward mode along a random direction against central differences of fn."""
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    us = [RNG.uniform(-1.0, 1.0, np.shape(args[p])) if np.ndim(args[p]) else float(RNG.uniform(-1.0, 1.0))
          for p in positions]
    value, tangent = _quiet(s2sgrad.jvp, fn, tuple(args), tuple(us) if isinstance(wrt, tuple) else us[0], wrt=wrt)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12, atol=1e-12)
    plus, minus = list(args), list(args)
    for p, u in zip(positions, us):
        plus[p], minus[p] = args[p] + 1e-6 * u, args[p] - 1e-6 * u
    fd = (_quiet(fn, *plus) - _quiet(fn, *minus)) / 2e-6
    np.testing.assert_allclose(tangent, fd, rtol=rtol, atol=atol, err_msg=f"jvp of {fn.__name__} at {args}")


@pytest.mark.parametrize("fn, args, wrt", _cases(SCIPY_RULES))
def test_scipy_rule_tangent_matches_finite_differences(fn, args, wrt):
    jvp_check(fn, args, wrt)


_HESSIAN_CASES = [pytest.param(fn, points[0], p, id=f"{fn.__name__}-{p}")
                  for _, _, fn, points, wrt in SCIPY_RULES for p in ((wrt,) if isinstance(wrt, int) else wrt)]


@pytest.mark.parametrize("fn, args, wrt", _HESSIAN_CASES)
def test_hessian_through_every_scipy_rule_matches_differences_of_the_gradient(fn, args, wrt):
    hessian_check(fn, args, wrt)


def test_every_registered_scipy_rule_has_a_test():
    # by equality, not identity: each `stats.norm.logpdf` is a new bound method object, equal to the others
    covered = {(prim, arity) for prim, arity, *_ in SCIPY_RULES}
    missing = [f"{prim!r} with {len(rule.inputs)} argument(s)" for prim, rules in RULES.items() if is_scipy(prim)
               for rule in rules if (prim, len(rule.inputs)) not in covered]
    assert not missing, f"SciPy rules without an entry in SCIPY_RULES: {missing}"


def test_the_walk_sees_the_scipy_rules_once_scipy_is_imported():
    # guards the walk: scipy.special's ufuncs are numpy.ufunc objects, and must count as SciPy's
    for prim in (erf, logsumexp, softmax, xlogy, iv):
        assert prim in RULES and is_scipy(prim)
    assert not is_scipy(np.sin) and not is_scipy(np.linalg.norm)


DTYPE_CASES = [(sp_erf, (X23,)), (sp_gammaln, (P3,)), (sp_expit, (X3,)), (sp_logsumexp_weighted, (X23, pos(3))),
               (sp_softmax_weighted, (X23,)), (sp_xlogy, (X3, P3)), (sp_i1e, (X3,)), (sp_ndtri, (unit(3),))]


@pytest.mark.parametrize("fn, args", DTYPE_CASES, ids=[c[0].__name__ for c in DTYPE_CASES])
def test_float32_inputs_get_float32_gradients_and_tangents(fn, args):
    args = tuple(np.asarray(a, dtype=np.float32) for a in args)
    wrt = tuple(range(len(args)))
    for g in _quiet(s2sgrad.grad(fn, wrt=wrt), *args):
        assert g.dtype == np.float32
    _, tangent = _quiet(s2sgrad.jvp, fn, args, tuple(np.ones_like(a) for a in args), wrt=wrt)
    assert np.asarray(tangent).dtype == np.float32


# ---------------------------------------------------------------------------------------------
# scipy.special at the edges
# ---------------------------------------------------------------------------------------------

def xlogy_sum(x, y):
    return np.sum(xlogy(x, y))


def xlog1py_sum(x, y):
    return np.sum(xlog1py(x, y))


def test_xlogy_and_xlog1py_at_x_zero_have_y_derivative_exactly_zero_even_at_y_zero():
    # x log y is 0 wherever x == 0, for every y: its y-derivative there is 0, never 0 / 0
    x, y = np.array([0.0, 0.0, 2.0]), np.array([0.0, 1.5, 0.5])
    gx, gy = _quiet(s2sgrad.grad(xlogy_sum, wrt=(0, 1)), x, y)
    np.testing.assert_array_equal(gy, [0.0, 0.0, 4.0])
    assert gx[0] == -np.inf and gx[1] == pytest.approx(math.log(1.5)) and gx[2] == pytest.approx(math.log(0.5))
    _, gy1 = _quiet(s2sgrad.grad(xlog1py_sum, wrt=(0, 1)), x, y - 1.0)
    np.testing.assert_array_equal(gy1, [0.0, 0.0, 4.0])


def rgamma_sum(x):
    return np.sum(rgamma(x))


def test_rgamma_derivative_is_finite_and_exact_at_the_poles_of_gamma():
    # 1/gamma(x) is smooth through x = 0, -1, -2, where its slope is (-1)^n n!: gamma's poles
    x = np.array([0.0, -1.0, -2.0, -3.0])
    g = s2sgrad.grad(rgamma_sum)(x)
    np.testing.assert_allclose(g, [1.0, -1.0, 2.0, -6.0], rtol=1e-12)
    fd = (rgamma_sum(x + 1e-6 * np.eye(4)[1]) - rgamma_sum(x - 1e-6 * np.eye(4)[1])) / 2e-6
    assert g[1] == pytest.approx(fd, rel=1e-6)
    H = s2sgrad.hessian(rgamma_sum)(x)
    assert np.all(np.isfinite(H))


def erfinv_sum(x):
    return np.sum(erfinv(x))


def test_infinite_slopes_stay_infinite():
    g = _quiet(s2sgrad.grad(erfinv_sum), np.array([1.0, -1.0, 0.0]))
    np.testing.assert_array_equal(g, [np.inf, np.inf, math.sqrt(math.pi) / 2.0])


def lse(a):
    return logsumexp(a)


def lse_rows(a, b):
    return np.sum(logsumexp(a, axis=1, b=b))


def test_logsumexp_gives_no_share_to_minus_infinity_or_to_zero_weights():
    g = s2sgrad.grad(lse)(np.array([-np.inf, 0.0, 0.0]))
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5])
    ga, gb = s2sgrad.grad(lse_rows, wrt=(0, 1))(np.zeros((1, 3)), np.array([[0.0, 1.0, 3.0]]))
    np.testing.assert_allclose(ga, [[0.0, 0.25, 0.75]], rtol=1e-12)
    np.testing.assert_allclose(gb, [[0.25, 0.25, 0.25]], rtol=1e-12)


def gammainc_in_a(a, x):
    return gammainc(a, x)


def test_arguments_whose_derivative_has_no_rule_are_refused_at_compile_time():
    with pytest.raises(s2sgrad.NoGradientRuleError, match="gammainc"):
        s2sgrad.grad(gammainc_in_a, wrt=0)(1.5, 0.7)
    assert s2sgrad.grad(gammainc_in_a, wrt=1)(1.5, 0.7) == pytest.approx(
        0.7 ** 0.5 * math.exp(-0.7) / math.gamma(1.5), rel=1e-12)


def lse_signed(a):
    return logsumexp(a, return_sign=True)[0]


def test_forms_a_rule_does_not_cover_are_refused():
    with pytest.raises(s2sgrad.NoGradientRuleError):
        s2sgrad.grad(lse_signed)(np.ones(3))


# ---------------------------------------------------------------------------------------------
# scipy.stats: logpdf, pdf, logcdf, cdf, logsf, sf of each distribution
# ---------------------------------------------------------------------------------------------

from scipy import stats  # noqa: E402

# `norm.logpdf(x)` names a bound method of the object scipy.stats.norm, and so does a name bound to it; the
# table calls them both ways.
METHODS = ("logpdf", "pdf", "logcdf", "cdf", "logsf", "sf")
for _name in ("norm", "cauchy", "logistic", "laplace", "expon", "uniform", "t", "gamma", "chi2", "beta"):
    for _method in METHODS:
        globals()[f"{_name}_{_method}"] = getattr(getattr(stats, _name), _method)
poisson_logpmf, poisson_pmf, poisson_logcdf = stats.poisson.logpmf, stats.poisson.pmf, stats.poisson.logcdf
poisson_cdf, poisson_logsf, poisson_sf = stats.poisson.cdf, stats.poisson.logsf, stats.poisson.sf
mvn_logpdf, mvn_pdf = stats.multivariate_normal.logpdf, stats.multivariate_normal.pdf
dirichlet_logpdf, dirichlet_pdf = stats.dirichlet.logpdf, stats.dirichlet.pdf


def st_norm(x, loc, scale):
    return (np.sum(np.sin(stats.norm.logpdf(x, loc, scale))) + np.sum(stats.norm.pdf(x, loc=loc, scale=scale))
            + np.sum(norm_logcdf(x, loc, scale) + norm_cdf(x, loc, scale) ** 2)  # noqa: F821
            + np.sum(norm_logsf(x, loc, scale) * stats.norm.sf(x, scale=scale, loc=loc)))


def st_cauchy(x, loc, scale):
    return (np.sum(np.sin(cauchy_logpdf(x, loc, scale)) + cauchy_pdf(x, loc, scale))  # noqa: F821
            + np.sum(cauchy_logcdf(x, loc, scale) + cauchy_cdf(x, loc, scale) ** 2)  # noqa: F821
            + np.sum(cauchy_logsf(x, loc, scale) * cauchy_sf(x, loc, scale)))  # noqa: F821


def st_logistic(x, loc, scale):
    return (np.sum(np.sin(logistic_logpdf(x, loc, scale)) + logistic_pdf(x, loc, scale))  # noqa: F821
            + np.sum(logistic_logcdf(x, loc, scale) + logistic_cdf(x, loc, scale) ** 2)  # noqa: F821
            + np.sum(logistic_logsf(x, loc, scale) * logistic_sf(x, loc, scale)))  # noqa: F821


def st_laplace(x, loc, scale):
    return (np.sum(np.sin(laplace_logpdf(x, loc, scale)) + laplace_pdf(x, loc, scale))  # noqa: F821
            + np.sum(laplace_logcdf(x, loc, scale) + laplace_cdf(x, loc, scale) ** 2)  # noqa: F821
            + np.sum(laplace_logsf(x, loc, scale) * laplace_sf(x, loc, scale)))  # noqa: F821


def st_expon(x, loc, scale):
    return (np.sum(np.sin(expon_logpdf(x, loc, scale)) + expon_pdf(x, loc, scale))  # noqa: F821
            + np.sum(expon_logcdf(x, loc, scale) + expon_cdf(x, loc, scale) ** 2)  # noqa: F821
            + np.sum(expon_logsf(x, loc, scale) * expon_sf(x, loc, scale)))  # noqa: F821


def st_uniform(x, loc, scale):
    return (np.sum(np.sin(uniform_logpdf(x, loc, scale)) + uniform_pdf(x, loc, scale))  # noqa: F821
            + np.sum(uniform_logcdf(x, loc, scale) + uniform_cdf(x, loc, scale) ** 2)  # noqa: F821
            + np.sum(uniform_logsf(x, loc, scale) * uniform_sf(x, loc, scale)))  # noqa: F821


def st_t_density(x, df, loc, scale):
    return np.sum(np.sin(t_logpdf(x, df, loc, scale)) + t_pdf(x, df, loc=loc, scale=scale))  # noqa: F821


def st_t_cdfs(x, df, loc, scale):
    return (np.sum(t_logcdf(x, df, loc, scale) + t_cdf(x, df, loc, scale) ** 2)  # noqa: F821
            + np.sum(t_logsf(x, df, loc, scale) * t_sf(x, df, loc, scale)))  # noqa: F821


def st_gamma_density(x, a, loc, scale):
    return np.sum(np.sin(gamma_logpdf(x, a, loc, scale)) + gamma_pdf(x, a, loc, scale))  # noqa: F821


def st_gamma_cdfs(x, a, loc, scale):
    return (np.sum(gamma_logcdf(x, a, loc, scale) + gamma_cdf(x, a, loc, scale) ** 2)  # noqa: F821
            + np.sum(gamma_logsf(x, a, loc, scale) * gamma_sf(x, a, loc, scale)))  # noqa: F821


def st_chi2_density(x, df, loc, scale):
    return np.sum(np.sin(chi2_logpdf(x, df, loc, scale)) + chi2_pdf(x, df, loc, scale))  # noqa: F821


def st_chi2_cdfs(x, df, loc, scale):
    return (np.sum(chi2_logcdf(x, df, loc, scale) + chi2_cdf(x, df, loc, scale) ** 2)  # noqa: F821
            + np.sum(chi2_logsf(x, df, loc, scale) * chi2_sf(x, df, loc, scale)))  # noqa: F821


def st_beta_density(x, a, b, loc, scale):
    return np.sum(np.sin(beta_logpdf(x, a, b, loc, scale)) + beta_pdf(x, a, b, loc, scale))  # noqa: F821


def st_beta_cdfs(x, a, b, loc, scale):
    return (np.sum(beta_logcdf(x, a, b, loc, scale) + beta_cdf(x, a, b, loc, scale) ** 2)  # noqa: F821
            + np.sum(beta_logsf(x, a, b, loc, scale) * beta_sf(x, a, b, loc, scale)))  # noqa: F821


def st_poisson(mu):
    k = np.array([0.0, 1.0, 3.0, 6.0])
    return (np.sum(np.sin(poisson_logpmf(k, mu)) + poisson_pmf(k, mu) ** 2)
            + np.sum(poisson_logcdf(k, mu) + poisson_cdf(k + 0.5, mu) ** 2)
            + np.sum(poisson_logsf(k, mu) * poisson_sf(k, mu)))


def st_mvn(x, mean, cov):
    return np.sum(np.sin(mvn_logpdf(x, mean, cov))) + np.sum(mvn_pdf(x, mean=mean, cov=cov))


def st_mvn_scalar_cov(x, mean, cov):
    return np.sum(np.sin(mvn_logpdf(x, mean, cov)))


def st_dirichlet(x, alpha):
    return np.sum(np.sin(dirichlet_logpdf(x, alpha))) + np.sum(dirichlet_pdf(x, alpha))


SPD3 = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])
SIMPLEX = np.array([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]])         # two quantile vectors, one per column


def _family(prim_of, fn, points, wrt, arity, methods=METHODS):
    dist = prim_of
    return [(getattr(dist, m), arity, fn, points if k == 0 else [], wrt) for k, m in enumerate(methods)]


STATS_RULES = (
    _family(stats.norm, st_norm, [(X3, 0.2, 1.3), (X23, arr(3), pos(2, 1))], (0, 1, 2), 3)
    + _family(stats.cauchy, st_cauchy, [(X3, 0.2, 1.3)], (0, 1, 2), 3)
    + _family(stats.logistic, st_logistic, [(X3, 0.2, 1.3)], (0, 1, 2), 3)
    + _family(stats.laplace, st_laplace, [(np.array([-1.0, 0.5, 2.0]), 0.2, 1.3)], (0, 1, 2), 3)
    + _family(stats.expon, st_expon, [(pos(3) + 0.3, 0.2, 1.3)], (0, 1, 2), 3)
    + _family(stats.uniform, st_uniform, [(np.array([0.3, 0.9, 1.2]), 0.2, 1.3)], (0, 1, 2), 3)
    + _family(stats.t, st_t_density, [(X3, 3.5, 0.2, 1.3)], (0, 1, 2, 3), 4, ("logpdf", "pdf"))
    + _family(stats.t, st_t_cdfs, [(X3, 3.5, 0.2, 1.3)], (0, 2, 3), 4, ("logcdf", "cdf", "logsf", "sf"))
    + _family(stats.gamma, st_gamma_density, [(pos(3) + 0.3, 2.5, 0.1, 1.3)], (0, 1, 2, 3), 4, ("logpdf", "pdf"))
    + _family(stats.gamma, st_gamma_cdfs, [(pos(3) + 0.3, 2.5, 0.1, 1.3)], (0, 2, 3), 4,
              ("logcdf", "cdf", "logsf", "sf"))
    + _family(stats.chi2, st_chi2_density, [(pos(3) + 0.3, 3.5, 0.1, 1.3)], (0, 1, 2, 3), 4, ("logpdf", "pdf"))
    + _family(stats.chi2, st_chi2_cdfs, [(pos(3) + 0.3, 3.5, 0.1, 1.3)], (0, 2, 3), 4,
              ("logcdf", "cdf", "logsf", "sf"))
    + _family(stats.beta, st_beta_density, [(unit(3), 2.5, 1.5, -0.1, 1.3)], (0, 1, 2, 3, 4), 5, ("logpdf", "pdf"))
    + _family(stats.beta, st_beta_cdfs, [(unit(3), 2.5, 1.5, -0.1, 1.3)], (0, 3, 4), 5,
              ("logcdf", "cdf", "logsf", "sf"))
    + _family(stats.poisson, st_poisson, [(2.5,), (0.7,)], 0, 3, ("logpmf", "pmf", "logcdf", "cdf", "logsf", "sf"))
    + _family(stats.multivariate_normal, st_mvn, [(X3, arr(3), SPD3), (arr(4, 3), arr(3), SPD3)], (0, 1, 2), 3,
              ("logpdf", "pdf"))
    + [(stats.multivariate_normal.logpdf, 3, st_mvn_scalar_cov, [(X3, arr(3), 1.7), (X3, arr(3), pos(3))], (0, 1, 2))]
    + _family(stats.dirichlet, st_dirichlet, [(np.array([0.2, 0.3, 0.5]), pos(3)), (SIMPLEX, pos(3))], 1, 2,
              ("logpdf", "pdf"))
)
SCIPY_RULES += STATS_RULES
_HESSIAN_CASES += [pytest.param(fn, points[0], p, id=f"{fn.__name__}-{p}")
                   for _, _, fn, points, wrt in STATS_RULES if points
                   for p in ((wrt,) if isinstance(wrt, int) else wrt)]


# SCIPY_RULES and _HESSIAN_CASES grow in place, so the Hessian tests above cover these; the parameters of the
# first-order tests above were read before, so these are run here.

@pytest.mark.parametrize("fn, args, wrt", _cases(STATS_RULES))
def test_distribution_rule_matches_finite_differences_in_both_modes(fn, args, wrt):
    test_scipy_rule_matches_finite_differences(fn, args, wrt)
    jvp_check(fn, args, wrt)


def shape_of_t_cdf(df):
    return t_cdf(0.3, df)  # noqa: F821


def test_shape_parameters_of_distribution_functions_are_refused():
    with pytest.raises(s2sgrad.NoGradientRuleError):
        s2sgrad.grad(shape_of_t_cdf)(3.5)


def mvn_of_mean(mean):
    return stats.multivariate_normal.logpdf(np.zeros(2), mean, np.eye(2))


def norm_attribute(x):
    return np.sum(stats.norm.logpdf(x, 0.5, 2.0))


def test_a_distribution_method_called_as_an_attribute_is_its_rule():
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(s2sgrad.grad(norm_attribute)(x), -(x - 0.5) / 4.0, rtol=1e-12)
    assert "norm.logpdf(x, 0.5, 2.0)" in s2sgrad.source(norm_attribute)


def dirichlet_sum(x, alpha):
    return np.sum(stats.dirichlet.logpdf(x, alpha))


def test_dirichlet_gradient_in_x_along_the_simplex_matches_finite_differences():
    # the density lives on the simplex: perturbations that keep each quantile vector summing to 1
    alpha = pos(3)
    g = s2sgrad.grad(dirichlet_sum)(SIMPLEX, alpha)
    np.testing.assert_allclose(g, (alpha[:, None] - 1.0) / SIMPLEX, rtol=1e-12)
    u = RNG.standard_normal(SIMPLEX.shape)
    u -= u.mean(axis=0)
    fd = (dirichlet_sum(SIMPLEX + 1e-6 * u, alpha) - dirichlet_sum(SIMPLEX - 1e-6 * u, alpha)) / 2e-6
    assert np.sum(g * u) == pytest.approx(fd, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# scipy.signal: n-d convolutions and correlations in every mode
# ---------------------------------------------------------------------------------------------

from scipy import signal  # noqa: E402


def sg_convolve(a, b):
    return (np.sum(np.sin(signal.convolve(a, b))) + np.sum(signal.convolve(a, b, "same") ** 2)
            + np.sum(np.cos(signal.convolve(a, b, mode="valid", method="direct"))))


def sg_correlate(a, b):
    return (np.sum(np.sin(signal.correlate(a, b))) + np.sum(signal.correlate(a, b, "same") ** 2)
            + np.sum(np.cos(signal.correlate(a, b, mode="valid", method="fft"))))


def sg_fft_and_overlap_add(a, b):
    return np.sum(np.sin(signal.fftconvolve(a, b, "same"))) + np.sum(signal.oaconvolve(a, b) ** 2)


def sg_2d(a, b):
    return (np.sum(np.sin(signal.convolve2d(a, b))) + np.sum(signal.correlate2d(a, b, "same") ** 2)
            + np.sum(signal.convolve2d(a, b, mode="valid") ** 3) + np.sum(np.cos(signal.correlate2d(a, b, "valid"))))


SIGNAL_RULES = [
    (signal.convolve, 4, sg_convolve, [(arr(6), arr(3)), (arr(4, 5), arr(2, 3)), (arr(3, 4, 3), arr(2, 2, 2))], (0, 1)),
    (signal.correlate, 4, sg_correlate, [(arr(6), arr(3)), (arr(4, 5), arr(2, 3))], (0, 1)),
    (signal.fftconvolve, 3, sg_fft_and_overlap_add, [(arr(5, 4), arr(2, 3))], (0, 1)),
    (signal.oaconvolve, 3, sg_fft_and_overlap_add, [], (0, 1)),
    (signal.convolve2d, 3, sg_2d, [(arr(4, 5), arr(2, 3)), (arr(3, 3), arr(3, 3))], (0, 1)),
    (signal.correlate2d, 3, sg_2d, [], (0, 1)),
]
SCIPY_RULES += SIGNAL_RULES
_HESSIAN_CASES += [pytest.param(fn, points[0], p, id=f"{fn.__name__}-{p}")
                   for _, _, fn, points, wrt in SIGNAL_RULES if points for p in wrt]


@pytest.mark.parametrize("fn, args, wrt", _cases(SIGNAL_RULES))
def test_convolution_rule_matches_finite_differences_in_both_modes(fn, args, wrt):
    test_scipy_rule_matches_finite_differences(fn, args, wrt)
    jvp_check(fn, args, wrt)


# ---------------------------------------------------------------------------------------------
# scipy.linalg
# ---------------------------------------------------------------------------------------------

from scipy import linalg  # noqa: E402


def sl_inv_det(a):
    return np.sum(np.sin(linalg.inv(a))) + linalg.det(a) + linalg.det(a, check_finite=False) ** 2


def sl_solve(a, b):
    return (np.sum(np.sin(linalg.solve(a, b))) + np.sum(linalg.solve(a, b, assume_a="pos") ** 2)
            + np.sum(np.cos(linalg.solve(a, b, True, assume_a="sym", transposed=True))))


def sl_solve_triangular(a, b):
    return (np.sum(np.sin(linalg.solve_triangular(a, b))) + np.sum(linalg.solve_triangular(a, b, lower=True) ** 2)
            + np.sum(np.cos(linalg.solve_triangular(a, b, trans=1, unit_diagonal=True))))


def sl_cholesky(a):
    return np.sum(np.sin(linalg.cholesky(a))) + np.sum(linalg.cholesky(a, lower=True) ** 3)


def sl_cho(a, b):
    factor = linalg.cho_factor(a)
    c, lower = linalg.cho_factor(a, lower=True)
    return np.sum(np.sin(linalg.cho_solve(factor, b))) + np.sum(linalg.cho_solve((c, lower), b) ** 2)


def sl_lu(a, b):
    factor = linalg.lu_factor(a)
    return np.sum(np.sin(linalg.lu_solve(factor, b))) + np.sum(linalg.lu_solve(factor, b, trans=1) ** 2)


def sl_expm(a):
    return np.sum(np.sin(linalg.expm(a)))


def sl_sqrtm(a):
    return np.sum(np.sin(linalg.sqrtm(a)))


def sl_solve_sylvester(a, b, q):
    return np.sum(np.sin(linalg.solve_sylvester(a, b, q)))


def _spd3():
    m = arr(3, 3)
    return m @ m.T + 3.0 * np.eye(3)


def _conditioned3():
    return arr(3, 3, lo=-0.5, hi=0.5) + 2.5 * np.eye(3)


SCIPY_LINALG_RULES = [
    (linalg.inv, 2, sl_inv_det, [(_conditioned3(),)], 0), (linalg.det, 2, sl_inv_det, [], 0),
    (linalg.solve, 6, sl_solve, [(_spd3(), arr(3)), (_spd3(), arr(3, 2))], (0, 1)),
    (linalg.solve_triangular, 6, sl_solve_triangular, [(_conditioned3(), arr(3)), (_conditioned3(), arr(3, 2))],
     (0, 1)),
    (linalg.cholesky, 3, sl_cholesky, [(_spd3(),), (arr(3, 3) + 4.0 * np.eye(3),)], 0),
    (linalg.cho_factor, 3, sl_cho, [(_spd3(), arr(3)), (_spd3(), arr(3, 2))], (0, 1)),
    (linalg.cho_solve, 3, sl_cho, [], (0, 1)),
    (linalg.lu_factor, 2, sl_lu, [(arr(3, 3), arr(3)), (arr(4, 4), arr(4, 2))], (0, 1)),
    (linalg.lu_solve, 4, sl_lu, [], (0, 1)),
    (linalg.expm, 1, sl_expm, [(arr(3, 3),), (arr(2, 2) * 3.0,)], 0),
    (linalg.sqrtm, 1, sl_sqrtm, [(_spd3(),)], 0),
    (linalg.solve_sylvester, 3, sl_solve_sylvester, [(_spd3(), _conditioned3(), arr(3, 3))], (0, 1, 2)),
]
SCIPY_RULES += SCIPY_LINALG_RULES
# cho_factor / lu_factor and the solves taking their results: tangents by helpers, so second order is refused
SECOND_ORDER_REFUSED = {sl_cho, sl_lu}
_HESSIAN_CASES += [pytest.param(fn, points[0], p, id=f"{fn.__name__}-{p}")
                   for _, _, fn, points, wrt in SCIPY_LINALG_RULES if points and fn not in SECOND_ORDER_REFUSED
                   for p in ((wrt,) if isinstance(wrt, int) else wrt)]


@pytest.mark.parametrize("fn, args, wrt", _cases(SCIPY_LINALG_RULES))
def test_scipy_linalg_rule_matches_finite_differences_in_both_modes(fn, args, wrt):
    test_scipy_rule_matches_finite_differences(fn, args, wrt)
    jvp_check(fn, args, wrt)


@pytest.mark.parametrize("fn", [sl_cho, sl_lu], ids=lambda f: f.__name__)
def test_second_order_through_a_factorization_is_refused_with_a_located_error(fn):
    args = next(points[0] for _, _, f, points, _ in SCIPY_LINALG_RULES if f is fn and points)
    with pytest.raises(s2sgrad.NoGradientRuleError, match="test_scipy_rules.py"):
        s2sgrad.hessian(fn)(*args)


def cholesky_upper_sum(a):
    return np.sum(linalg.cholesky(a))


def test_scipy_cholesky_reads_the_upper_triangle_and_its_gradient_lives_there():
    a = _spd3()
    g = s2sgrad.grad(cholesky_upper_sum)(a)
    np.testing.assert_array_equal(np.tril(g, -1), 0.0)
    u = arr(3, 3)
    u = u + u.T
    fd = (cholesky_upper_sum(a + 1e-6 * u) - cholesky_upper_sum(a - 1e-6 * u)) / 2e-6
    assert np.sum(g * u) == pytest.approx(fd, rel=1e-6)


def overwriting_solve(a, b):
    return np.sum(linalg.solve(a, b, overwrite_b=True))


def test_scipy_calls_that_may_overwrite_their_inputs_are_refused():
    with pytest.raises(s2sgrad.NoGradientRuleError):
        s2sgrad.grad(overwriting_solve, wrt=1)(_spd3(), arr(3))


# ---------------------------------------------------------------------------------------------
# scipy.integrate.odeint: the adjoint method, against finite differences (tight tolerances: an adaptive
# integrator's steps change with its inputs) and against an unrolled RK4 differentiated by s2sgrad itself
# ---------------------------------------------------------------------------------------------

from scipy.integrate import odeint  # noqa: E402

SCIPY_RULES += [(odeint, 7, None, [], 0)]          # checked by the tests below
TIMES_ODE = np.linspace(0.0, 1.5, 4)


def damped(y, t, k, w):
    return -k * y + np.sin(w * t) * y[::-1]


def damped_time_first(t, y, k, w):
    return -k * y + np.sin(w * t) * y[::-1]


def ode_loss(y0, k, w):
    trajectory = odeint(damped, y0, TIMES_ODE, args=(k, w), rtol=1e-12, atol=1e-12)
    return np.sum(np.sin(trajectory))


def ode_loss_times(times):
    trajectory = odeint(damped_time_first, np.array([1.0, 0.5]), times, (0.7, 1.3), rtol=1e-12, atol=1e-12,
                        tfirst=True)
    return np.sum(trajectory ** 2)


def test_odeint_gradient_by_the_adjoint_method_matches_finite_differences():
    y0, k, w = np.array([1.0, -0.5]), 0.7, 1.3
    assert_grad_matches(ode_loss, y0, k, w, wrt=(0, 1, 2), rtol=1e-5, atol=1e-7)
    assert_grad_matches(ode_loss_times, TIMES_ODE + 0.1, rtol=1e-5, atol=1e-7)


def test_odeint_tangent_by_the_sensitivity_equation_matches_finite_differences_and_the_gradient():
    y0, k, w = np.array([1.0, -0.5]), 0.7, 1.3
    jvp_check(ode_loss, (y0, k, w), (0, 1, 2), rtol=1e-5, atol=1e-7)
    jvp_check(ode_loss_times, (TIMES_ODE + 0.1,), 0, rtol=1e-5, atol=1e-7)
    grads = s2sgrad.grad(ode_loss, wrt=(0, 1, 2))(y0, k, w)
    u = (np.array([0.3, -0.2]), 0.5, -0.4)
    _, tangent = s2sgrad.jvp(ode_loss, (y0, k, w), u, wrt=(0, 1, 2))
    assert tangent == pytest.approx(sum(np.sum(g * v) for g, v in zip(grads, u)), rel=1e-8)


def ode_loss_of_y0(y0):
    return np.sum(odeint(damped, y0, TIMES_ODE, args=(0.7, 1.3)) ** 2)


def test_second_order_through_odeint_is_refused_with_a_located_error():
    with pytest.raises(s2sgrad.NoGradientRuleError, match="test_scipy_rules.py"):
        s2sgrad.hessian(ode_loss_of_y0)(np.array([1.0, -0.5]))


# A neural-ODE-style fit: a small network is the right-hand side, the loss compares the trajectory with
# observations.

OBSERVED_AT = np.linspace(0.0, 1.0, 5)
OBSERVED = np.stack([np.cos(2.0 * OBSERVED_AT), -np.sin(2.0 * OBSERVED_AT)], axis=1)


def network(y, t, W1, b1, W2):
    return W2 @ np.tanh(W1 @ y + b1)


def neural_ode_loss(W1, b1, W2):
    trajectory = odeint(network, OBSERVED[0], OBSERVED_AT, args=(W1, b1, W2), rtol=1e-11, atol=1e-11)
    return np.sum((trajectory - OBSERVED) ** 2)


def rk4_trajectory_loss(W1, b1, W2, steps: int = 200):
    # the same fit with a fixed-step RK4 written out, differentiated by s2sgrad through its loop
    h = (OBSERVED_AT[-1] - OBSERVED_AT[0]) / steps
    y = OBSERVED[0] * 1.0
    loss = np.sum((y - OBSERVED[0]) ** 2)
    per_sample = steps // (np.size(OBSERVED_AT) - 1)
    for i in range(steps):
        k1 = W2 @ np.tanh(W1 @ y + b1)
        k2 = W2 @ np.tanh(W1 @ (y + 0.5 * h * k1) + b1)
        k3 = W2 @ np.tanh(W1 @ (y + 0.5 * h * k2) + b1)
        k4 = W2 @ np.tanh(W1 @ (y + h * k3) + b1)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if (i + 1) % per_sample == 0:
            loss = loss + np.sum((y - OBSERVED[(i + 1) // per_sample]) ** 2)
    return loss


def test_neural_ode_fit_gradient_matches_finite_differences_and_an_unrolled_rk4():
    rng = np.random.default_rng(7)
    W1, b1, W2 = rng.uniform(-1.2, 1.2, (4, 2)), rng.uniform(-0.4, 0.4, 4), rng.uniform(-1.2, 1.2, (2, 4))
    grads = s2sgrad.grad(neural_ode_loss, wrt=(0, 1, 2))(W1, b1, W2)
    # along a random direction, step 1e-4: the adaptive integrator's own noise (about 1e-10) over a smaller
    # step would swamp the difference; the central difference's error is then about 1e-8
    u = [rng.standard_normal(np.shape(p)) for p in (W1, b1, W2)]
    moved = lambda s: neural_ode_loss(*(p + s * v for p, v in zip((W1, b1, W2), u)))  # noqa: E731
    fd = (moved(1e-4) - moved(-1e-4)) / 2e-4
    assert sum(np.sum(g * v) for g, v in zip(grads, u)) == pytest.approx(fd, rel=1e-6, abs=1e-8)
    assert rk4_trajectory_loss(W1, b1, W2) == pytest.approx(neural_ode_loss(W1, b1, W2), rel=1e-8)
    for g, g_rk4 in zip(grads, s2sgrad.grad(rk4_trajectory_loss, wrt=(0, 1, 2))(W1, b1, W2)):
        np.testing.assert_allclose(g, g_rk4, rtol=1e-6, atol=1e-9)
    # a few steps of gradient descent on the adjoint gradient lower the loss
    params = [W1, b1, W2]
    before = neural_ode_loss(*params)
    for _ in range(5):
        params = [p - 0.05 * g for p, g in zip(params, s2sgrad.grad(neural_ode_loss, wrt=(0, 1, 2))(*params))]
    assert neural_ode_loss(*params) < before



def one_time_loss(y0):
    return np.sum(odeint(damped, y0, np.array([0.3]), args=(0.7, 1.3)) ** 2)


def test_odeint_at_a_single_time_has_the_gradient_of_y0_itself():
    # odeint(f, y0, [t0]) is y0: the cotangent was added twice (the gradient was 2x) before
    y0 = np.array([1.0, -0.5])
    np.testing.assert_allclose(s2sgrad.grad(one_time_loss)(y0), 2.0 * y0, rtol=1e-12)
    assert_grad_matches(one_time_loss, y0, rtol=1e-8, atol=1e-10)
    jvp_check(one_time_loss, (y0,), 0, rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# scipy.integrate.solve_ivp with t_eval: odeint's adjoint and sensitivity code with fun(t, y, *args) (odeint's
# tfirst=True); sol.y, (n, len(t_eval)), is what is differentiated. The calls use rtol 1e-10, atol 1e-12: the
# solution's own error is that of the caller's tolerances, and central differences (step 1e-6) see it divided
# by the step; the gradients are then compared with rtol 1e-5, atol 1e-7, as odeint's.
# ---------------------------------------------------------------------------------------------

from scipy.integrate import solve_ivp  # noqa: E402

SCIPY_RULES += [(solve_ivp, 10, None, [], 0)]      # checked by the tests below
IVP_METHODS = ["RK45", "LSODA", "Radau"]


def ivp_loss(y0, k, w, method):
    # a rhs defined with def and passed by name; a vector state and two arguments
    sol = solve_ivp(damped_time_first, (0.0, 1.5), y0, method=method, t_eval=TIMES_ODE, args=(k, w), rtol=1e-10,
                    atol=1e-12)
    return np.sum(np.sin(sol.y))


def ivp_scalar_loss(a, k):
    # a lambda rhs, a scalar state ([a]) and outputs from t = 0.4 on, inside t_span = (0, 2)
    decay = lambda t, y, c: -c * y * (1.0 + 0.5 * np.cos(t))  # noqa: E731
    sol = solve_ivp(decay, (0.0, 2.0), [a], t_eval=np.array([0.4, 1.1, 2.0]), args=(k,), rtol=1e-10, atol=1e-12)
    return np.sum(sol.y ** 2) + sol.y[0, -1]


@pytest.mark.parametrize("method", IVP_METHODS)
def test_solve_ivp_gradient_by_the_adjoint_method_matches_finite_differences(method):
    y0, k, w = np.array([1.0, -0.5]), 0.7, 1.3
    grads = assert_grad_matches(ivp_loss, y0, k, w, method, wrt=(0, 1, 2), rtol=1e-5, atol=1e-7)
    assert np.shape(grads[0]) == (2,) and np.ndim(grads[1]) == 0
    assert_grad_matches(ivp_scalar_loss, 1.3, 0.6, wrt=(0, 1), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", IVP_METHODS)
def test_solve_ivp_tangent_matches_finite_differences_and_the_gradient(method):
    y0, k, w = np.array([1.0, -0.5]), 0.7, 1.3
    jvp_check(ivp_loss, (y0, k, w, method), (0, 1, 2), rtol=1e-5, atol=1e-7)
    jvp_check(ivp_scalar_loss, (1.3, 0.6), (0, 1), rtol=1e-5, atol=1e-7)
    grads = s2sgrad.grad(ivp_loss, wrt=(0, 1, 2))(y0, k, w, method)
    u = (np.array([0.3, -0.2]), 0.5, -0.4)
    _, tangent = s2sgrad.jvp(ivp_loss, (y0, k, w, method), u, wrt=(0, 1, 2))
    # both from the same forward solution, by integrations at 1e-10: they agree far below the differences' error
    assert tangent == pytest.approx(sum(np.sum(g * v) for g, v in zip(grads, u)), rel=1e-8)


def ivp_trajectory_loss(y0, k, w):
    sol = solve_ivp(damped_time_first, (0.0, 1.5), y0, t_eval=TIMES_ODE, args=(k, w), rtol=1e-12, atol=1e-12)
    return np.sum(np.sin(sol.y))


def test_solve_ivp_agrees_with_the_same_model_through_odeint():
    y0, k, w = np.array([1.0, -0.5]), 0.7, 1.3
    sol = solve_ivp(damped_time_first, (0.0, 1.5), y0, t_eval=TIMES_ODE, args=(k, w), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sol.y.T, odeint(damped, y0, TIMES_ODE, args=(k, w), rtol=1e-12, atol=1e-12),
                               rtol=1e-8, atol=1e-10)
    # the same adjoint integration from two forward solutions, each accurate to about 1e-10
    for g_ivp, g_ode in zip(s2sgrad.grad(ivp_trajectory_loss, wrt=(0, 1, 2))(y0, k, w),
                            s2sgrad.grad(ode_loss, wrt=(0, 1, 2))(y0, k, w)):
        np.testing.assert_allclose(g_ivp, g_ode, rtol=1e-7, atol=1e-9)
    _, t_ivp = s2sgrad.jvp(ivp_trajectory_loss, (y0, k, w), (np.array([0.3, -0.2]), 0.5, -0.4), wrt=(0, 1, 2))
    _, t_ode = s2sgrad.jvp(ode_loss, (y0, k, w), (np.array([0.3, -0.2]), 0.5, -0.4), wrt=(0, 1, 2))
    assert t_ivp == pytest.approx(t_ode, rel=1e-7)


def ivp_fields_loss(k, y0):
    # sol.t (t_eval) carries no derivative; sol["y"] is sol.y; backwards in time, from t_span[0] = 2
    sol = solve_ivp(damped_time_first, (2.0, 0.0), y0, t_eval=np.array([1.7, 0.9, 0.0]), args=(k, 1.3), rtol=1e-10,
                    atol=1e-12)
    return np.sum(sol.y * sol.t) + np.sum(np.cos(sol["y"][:, -1])) + 0.0 * sol.nfev


def test_solve_ivp_result_fields_carry_a_derivative_only_in_y():
    args = (0.7, np.array([1.0, -0.5]))
    assert_grad_matches(ivp_fields_loss, *args, wrt=(0, 1), rtol=1e-5, atol=1e-7)
    jvp_check(ivp_fields_loss, args, (0, 1), rtol=1e-5, atol=1e-7)
    # the result is a container (rules.returns_containers): its fields' adjoints and tangents are by field
    assert re.search(r"add_field\(dsolve_ivp_\w*, solve_ivp_\w*, 'y'", s2sgrad.source(ivp_of_y0))
    assert re.search(r"field_of\(solve_ivp_\w*_dot, solve_ivp_\w*, 'y'\)", s2sgrad.source(ivp_of_y0, mode="forward"))


def ivp_without_t_eval(y0):
    return np.sum(solve_ivp(damped_time_first, (0.0, 1.5), y0, args=(0.7, 1.3)).y ** 2)


def ivp_dense_output(y0):
    return np.sum(solve_ivp(damped_time_first, (0.0, 1.5), y0, t_eval=TIMES_ODE, args=(0.7, 1.3),
                            dense_output=True).y ** 2)


def crossing(t, y, k, w):
    return y[0]


def ivp_events(y0):
    return np.sum(solve_ivp(damped_time_first, (0.0, 1.5), y0, t_eval=TIMES_ODE, args=(0.7, 1.3),
                            events=crossing).y ** 2)


def ivp_of_y0(y0):
    return np.sum(solve_ivp(damped_time_first, (0.0, 1.5), y0, t_eval=TIMES_ODE, args=(0.7, 1.3)).y ** 2)


def ivp_moving_times(end):
    return np.sum(solve_ivp(damped_time_first, (0.0, 2.0), np.array([1.0, -0.5]), t_eval=np.linspace(0.0, end, 3),
                            args=(0.7, 1.3)).y ** 2)


def ivp_moving_span(start):
    return np.sum(solve_ivp(damped_time_first, (start, 2.0), np.array([1.0, -0.5]), t_eval=TIMES_ODE + 0.5,
                            args=(0.7, 1.3)).y ** 2)


def _line_of_return(fn):
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if line.lstrip().startswith("return"))


@pytest.mark.parametrize("fn, message", [
    (ivp_without_t_eval, r"covers only solve_ivp\(fun, t_span, y0, method, t_eval, args, rtol"),
    (ivp_dense_output, r"covers only solve_ivp\("), (ivp_events, r"covers only solve_ivp\(")])
def test_solve_ivp_without_t_eval_or_with_dense_output_or_events_is_refused_at_its_line(fn, message):
    y0 = np.array([1.0, -0.5])
    for derive in (lambda: s2sgrad.grad(fn)(y0), lambda: s2sgrad.jvp(fn, (y0,), y0)):
        with pytest.raises(s2sgrad.NoGradientRuleError,
                           match=rf"test_scipy_rules.py:{_line_of_return(fn)}:.*{message}"):
            derive()


def test_solve_ivp_times_that_carry_a_derivative_are_refused_at_their_line():
    for fn, what in ((ivp_moving_times, "t_eval"), (ivp_moving_span, "t_span")):
        with pytest.raises(s2sgrad.NoGradientRuleError,
                           match=rf"test_scipy_rules.py:{_line_of_return(fn)}:.*argument '{what}' depends on a "
                                 rf"differentiated input.*no derivative with respect to '{what}'"):
            s2sgrad.grad(fn)(1.5)


def test_second_order_through_solve_ivp_is_refused_with_a_located_error():
    y0 = np.array([1.0, -0.5])
    for derive in (lambda: s2sgrad.hessian(ivp_of_y0)(y0), lambda: s2sgrad.hvp(ivp_of_y0, (y0,), y0)):
        with pytest.raises(s2sgrad.NoGradientRuleError,
                           match=rf"test_scipy_rules.py:{_line_of_return(ivp_of_y0)}:.*solve_ivp_tangent"):
            derive()

# ---------------------------------------------------------------------------------------------
# Models people write with SciPy: each gradient against central differences (rtol 1e-5, atol 1e-6),
# Hessians against differences of the gradient (rtol 1e-4)
# ---------------------------------------------------------------------------------------------

from scipy.stats import multivariate_normal, norm  # noqa: E402

TIMES = np.linspace(0.0, 4.0, 7)
READINGS = np.sin(TIMES) + 0.1 * np.cos(3.0 * TIMES)


def gp_log_marginal_likelihood(params):
    # a squared-exponential kernel: log amplitude, log length scale, log noise
    amplitude, length, noise = np.exp(params[0]), np.exp(params[1]), np.exp(params[2])
    gaps = TIMES[:, None] - TIMES[None, :]
    K = amplitude * np.exp(-0.5 * gaps ** 2 / length ** 2) + noise * np.eye(np.size(TIMES))
    return multivariate_normal.logpdf(READINGS, np.zeros(np.size(TIMES)), K)


def test_gaussian_process_marginal_likelihood_gradient_and_hessian():
    params = np.array([0.1, -0.2, -2.0])
    assert_grad_matches(gp_log_marginal_likelihood, params)
    hessian_check(gp_log_marginal_likelihood, (params,), 0)
    H = s2sgrad.hessian(gp_log_marginal_likelihood)(params)
    np.testing.assert_allclose(H, H.T, rtol=1e-8, atol=1e-10)


FEATURES = RNG.normal(size=(20, 3))
LABELS = (FEATURES @ np.array([1.0, -2.0, 0.5]) + RNG.normal(size=20) > 0).astype(float)


def logistic_negative_log_likelihood(w, b):
    # log(1 + e^s) - y s, the softplus written as logsumexp([0, s])
    scores = FEATURES @ w + b
    softplus = logsumexp(np.stack([np.zeros_like(scores), scores]), axis=0)
    return np.sum(softplus - LABELS * scores) + 0.1 * np.sum(w * w)


def logistic_cross_entropy(w, b):
    p = expit(FEATURES @ w + b)
    return -np.sum(xlogy(LABELS, p) + xlogy(1.0 - LABELS, 1.0 - p)) + 0.1 * np.sum(w * w)


def test_logistic_regression_with_expit_and_logsumexp():
    w, b = np.array([0.3, -0.4, 0.1]), 0.2
    # the same loss written two ways: log(1 + e^s) - y s by logsumexp, and the cross-entropy by expit
    assert logistic_negative_log_likelihood(w, b) == pytest.approx(logistic_cross_entropy(w, b), rel=1e-12)
    np.testing.assert_allclose(s2sgrad.grad(logistic_cross_entropy)(w, b),
                               s2sgrad.grad(logistic_negative_log_likelihood)(w, b), rtol=1e-10)
    assert_grad_matches(logistic_negative_log_likelihood, w, b, wrt=(0, 1))
    hessian_check(logistic_negative_log_likelihood, (w, b), 0)
    # the Hessian of the logistic loss is X^T diag(p (1 - p)) X plus the ridge term
    p = expit(FEATURES @ w + b)
    expected = FEATURES.T @ (FEATURES * (p * (1 - p))[:, None]) + 0.2 * np.eye(3)
    np.testing.assert_allclose(s2sgrad.hessian(logistic_negative_log_likelihood)(w, b), expected, rtol=1e-8)


SAMPLES_1D = np.concatenate([RNG.normal(-1.0, 0.5, 15), RNG.normal(1.5, 0.8, 25)])


def mixture_log_likelihood(logits, means, log_scales):
    # log sum_k pi_k N(x | mu_k, sigma_k), the weights a softmax of the logits
    log_weights = log_softmax(logits)
    per_component = norm.logpdf(SAMPLES_1D[:, None], means[None, :], np.exp(log_scales)[None, :])
    return np.sum(logsumexp(per_component + log_weights[None, :], axis=1))


def test_gaussian_mixture_log_likelihood_with_logsumexp_over_components():
    logits, means, log_scales = np.array([0.2, -0.1]), np.array([-0.8, 1.2]), np.array([-0.5, -0.1])
    assert_grad_matches(mixture_log_likelihood, logits, means, log_scales, wrt=(0, 1, 2))
    for k in range(3):
        hessian_check(mixture_log_likelihood, (logits, means, log_scales), k)
    # at a maximum of the likelihood in the weights, the softmax gradient sums to zero
    g = s2sgrad.grad(mixture_log_likelihood)(logits, means, log_scales)
    assert np.sum(g) == pytest.approx(0.0, abs=1e-10)
