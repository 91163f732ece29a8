"""Adjoints and tangents of scipy.special: error functions, gamma and beta functions, the logistic
functions, logsumexp and softmax, x log y, entropies, Bessel functions and the normal distribution's
functions. Registered when scipy.special is imported (scipy_loader).

Most are elementwise ufuncs whose tangent is read off the adjoint template. Each derivative is written
with functions that have rules themselves (gammaln' is digamma, digamma' is polygamma(1, .), a Bessel
function's derivative is a sum of its neighbours in order), so derivatives of derivatives (Hessians) go
through every one.

Arguments with no derivative here, refused by the compiler when they carry one: the shape parameter `a`
of gammainc/gammaincc and `a`, `b` of betainc (their derivatives need series SciPy does not expose), and
the order `v` of the Bessel functions of real order (iv, jv, ...). The integer order `n` of polygamma and
the dimension `d` of multigammaln are counts (inert).

At the edges: xlogy(0, y) and xlog1py(0, y) are 0 for every y, so their y-derivative there is exactly 0;
rel_entr and kl_div likewise at x == 0; rgamma's derivative is finite at the poles of gamma (through the
reflection formula); slopes that are infinite stay infinite (erfinv at ±1, ndtri at 0 and 1, entr at 0).
"""

import math

import numpy as np
import scipy.special as special
from scipy.special import (beta, betainc, betaln, digamma, erf, erfc, erfcinv, erfcx, erfi, erfinv, dawsn, expit,
                           gamma, gammainc, gammaincc, gammaln, i0, i0e, i1, i1e, iv, ive, j0, j1, jv, k0, k0e, k1,
                           k1e, kl_div, kv, kve, log_expit, log_ndtr, log_softmax, logit, logsumexp, multigammaln,
                           ndtr, ndtri, polygamma, rel_entr, rgamma, softmax, xlog1py, xlogy, y0, y1, yv, entr)

from ..runtime import bound_or, unbroadcast, unreduce
from . import adjoint, d, nondifferentiable
from .tangents import elementwise, t, tangent

SQRT_PI = math.sqrt(math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)


# ---------------------------------------------------------------------------------------------
# Error functions and the normal distribution's
# ---------------------------------------------------------------------------------------------

@adjoint(erf)
def erf_(y, x):
    d[x] = d[y] * (2.0 / SQRT_PI) * np.exp(-x * x)


@adjoint(erfc)
def erfc_(y, x):
    d[x] = -d[y] * (2.0 / SQRT_PI) * np.exp(-x * x)


@adjoint(erfinv)
def erfinv_(y, x):
    d[x] = d[y] * (SQRT_PI / 2.0) * np.exp(y * y)           # inf at ±1


@adjoint(erfcinv)
def erfcinv_(y, x):
    d[x] = -d[y] * (SQRT_PI / 2.0) * np.exp(y * y)          # -inf at 0 and 2


@adjoint(erfcx)
def erfcx_(y, x):
    d[x] = d[y] * (2.0 * x * y - 2.0 / SQRT_PI)


@adjoint(erfi)
def erfi_(y, x):
    d[x] = d[y] * (2.0 / SQRT_PI) * np.exp(x * x)


@adjoint(dawsn)
def dawsn_(y, x):
    d[x] = d[y] * (1.0 - 2.0 * x * y)


@adjoint(ndtr)
def ndtr_(y, x):
    d[x] = d[y] * np.exp(-0.5 * x * x) / SQRT_2PI


@adjoint(log_ndtr)
def log_ndtr_(y, x):
    # the normal density over its distribution function, divided in the exponent: no underflow far left
    d[x] = d[y] * np.exp(-0.5 * x * x - y) / SQRT_2PI


@adjoint(ndtri)
def ndtri_(y, p):
    d[p] = d[y] * SQRT_2PI * np.exp(0.5 * y * y)            # inf at 0 and 1


# ---------------------------------------------------------------------------------------------
# Gamma and beta functions
# ---------------------------------------------------------------------------------------------

@adjoint(gamma)
def gamma_(y, x):
    d[x] = d[y] * y * digamma(x)


@adjoint(gammaln)
def gammaln_(y, x):
    d[x] = d[y] * digamma(x)


@adjoint(digamma)                # scipy.special.psi is digamma
def digamma_(y, x):
    d[x] = d[y] * polygamma(1, x)


@adjoint(polygamma, inert=("n",))
def polygamma_(y, n, x):
    d[x] = d[y] * polygamma(n + 1, x)


@adjoint(rgamma)
def rgamma_(y, x):
    # -rgamma(x) digamma(x) right of 1/2; left of it the reflection 1/gamma(x) = gamma(1 - x) sin(pi x) / pi,
    # finite at the poles of gamma (0, -1, ...), where 1/gamma is 0 and digamma infinite. Each branch reads
    # a stand-in value where it is not selected, so neither makes a NaN there (nor in its derivative).
    left = np.where(x < 0.5, x, 0.0)
    right = np.where(x < 0.5, 1.0, x)
    d[x] = d[y] * np.where(x < 0.5, gamma(1.0 - left) * (np.cos(math.pi * left)
                                                          - digamma(1.0 - left) * np.sin(math.pi * left) / math.pi),
                           -rgamma(right) * digamma(right))


@adjoint(multigammaln, inert=("dim",))
def multigammaln_(y, a, dim):
    # log of the multivariate gamma function: the sum of gammaln(a - j / 2) for j < dim
    d[a] = d[y] * np.sum(digamma(np.expand_dims(a, -1) - 0.5 * np.arange(dim)), axis=-1)


@adjoint(gammainc)
def gammainc_(y, a, x):
    # the regularized lower incomplete gamma function's density, x^(a-1) e^-x / gamma(a); xlogy keeps
    # x^0 = 1 at x == 0 (a == 1)
    d[x] = unbroadcast(d[y] * np.exp(xlogy(a - 1.0, x) - x - gammaln(a)), x)


@adjoint(gammaincc)
def gammaincc_(y, a, x):
    d[x] = -unbroadcast(d[y] * np.exp(xlogy(a - 1.0, x) - x - gammaln(a)), x)


@adjoint(beta)
def beta_(y, a, b):
    both = digamma(a + b)
    d[a] = unbroadcast(d[y] * y * (digamma(a) - both), a)
    d[b] = unbroadcast(d[y] * y * (digamma(b) - both), b)


@adjoint(betaln)
def betaln_(y, a, b):
    both = digamma(a + b)
    d[a] = unbroadcast(d[y] * (digamma(a) - both), a)
    d[b] = unbroadcast(d[y] * (digamma(b) - both), b)


@adjoint(betainc)
def betainc_(y, a, b, x):
    # the beta density x^(a-1) (1-x)^(b-1) / B(a, b)
    d[x] = unbroadcast(d[y] * np.exp(xlogy(a - 1.0, x) + xlog1py(b - 1.0, -x) - betaln(a, b)), x)


nondifferentiable(special.gammasgn)


# ---------------------------------------------------------------------------------------------
# Logistic functions
# ---------------------------------------------------------------------------------------------

@adjoint(expit)
def expit_(y, x):
    d[x] = d[y] * y * (1.0 - y)


@adjoint(logit)
def logit_(y, x):
    d[x] = np.divide(d[y], x * (1.0 - x))                   # inf at 0 and 1


@adjoint(log_expit)
def log_expit_(y, x):
    d[x] = d[y] * expit(-x)


# ---------------------------------------------------------------------------------------------
# logsumexp and softmax (axis: None, an int or a tuple)
# ---------------------------------------------------------------------------------------------

# y = log sum(b e^a): dy = sum(e^(a - y) (b da + db)), over the shape a and b broadcast to; b=None is 1.
# The shares e^(a - y) are 0 where a is -inf (or b is 0 and a finite), never NaN.

@adjoint(logsumexp, inert=("axis", "keepdims"))
def logsumexp_(y, a, axis=None, b=None, keepdims=False):
    weights = bound_or(b, 1.0)
    both = a * weights                                      # only its shape is read
    share = np.exp(a - unreduce(y, both, axis, keepdims))
    g = unreduce(d[y], both, axis, keepdims)
    d[a] = unbroadcast(g * weights * share, a)
    d[b] = unbroadcast(g * share, b)


@tangent(logsumexp)
def logsumexp_tangent(y, a, axis=None, b=None, keepdims=False):
    weights = bound_or(b, 1.0)
    share = np.exp(a - unreduce(y, a * weights, axis, keepdims))
    t[y] = (np.sum(t[a] * weights * share, axis=axis, keepdims=keepdims)
            + np.sum(t[b] * share, axis=axis, keepdims=keepdims))


@adjoint(softmax, inert=("axis",))
def softmax_(y, x, axis=None):
    d[x] = y * (d[y] - np.sum(d[y] * y, axis=axis, keepdims=True))


@tangent(softmax)
def softmax_tangent(y, x, axis=None):
    t[y] = y * (t[x] - np.sum(t[x] * y, axis=axis, keepdims=True))


@adjoint(log_softmax, inert=("axis",))
def log_softmax_(y, x, axis=None):
    d[x] = d[y] - np.exp(y) * np.sum(d[y], axis=axis, keepdims=True)


@tangent(log_softmax)
def log_softmax_tangent(y, x, axis=None):
    t[y] = t[x] - np.sum(np.exp(y) * t[x], axis=axis, keepdims=True)


# ---------------------------------------------------------------------------------------------
# x log y and entropies: 0 wherever x == 0, for every y, so d/dy is exactly 0 there
# ---------------------------------------------------------------------------------------------

@adjoint(xlogy)
def xlogy_(z, x, y):
    d[x] = unbroadcast(d[z] * np.log(y), x)
    d[y] = unbroadcast(d[z] * x / np.where(x == 0, 1.0, y), y)


@adjoint(xlog1py)
def xlog1py_(z, x, y):
    d[x] = unbroadcast(d[z] * np.log1p(y), x)
    d[y] = unbroadcast(d[z] * x / np.where(x == 0, 1.0, 1.0 + y), y)


@adjoint(entr)
def entr_(y, x):
    d[x] = -d[y] * (np.log(x) + 1.0)                        # inf at 0


@adjoint(rel_entr)
def rel_entr_(z, x, y):
    d[x] = unbroadcast(d[z] * (np.log(x / y) + 1.0), x)
    d[y] = -unbroadcast(d[z] * x / np.where(x == 0, 1.0, y), y)


@adjoint(kl_div)
def kl_div_(z, x, y):
    d[x] = unbroadcast(d[z] * np.log(x / y), x)
    d[y] = unbroadcast(d[z] * (1.0 - x / np.where(x == 0, 1.0, y)), y)


# ---------------------------------------------------------------------------------------------
# Bessel functions: the derivative of order v is half the sum (or difference) of orders v - 1 and v + 1,
# which is exact at 0 (i1'(0) = 1/2, where i0 - i1 / x is 0 / 0); the exponentially scaled ones
# (i0e = e^-|x| i0, k0e = e^x k0, ...) add the derivative of their scale. The order v has no rule.
# ---------------------------------------------------------------------------------------------

@adjoint(i0)
def i0_(y, x):
    d[x] = d[y] * i1(x)


@adjoint(i1)
def i1_(y, x):
    d[x] = d[y] * (i0(x) + iv(2.0, x)) / 2.0


@adjoint(iv)
def iv_(y, v, x):
    d[x] = unbroadcast(d[y] * (iv(v - 1.0, x) + iv(v + 1.0, x)) / 2.0, x)


@adjoint(i0e)
def i0e_(y, x):
    d[x] = d[y] * (i1e(x) - np.sign(x) * y)                 # the kink of e^-|x| at 0: 0, the subgradient


@adjoint(i1e)
def i1e_(y, x):
    d[x] = d[y] * ((i0e(x) + ive(2.0, x)) / 2.0 - np.sign(x) * y)


@adjoint(ive)
def ive_(y, v, x):
    d[x] = unbroadcast(d[y] * ((ive(v - 1.0, x) + ive(v + 1.0, x)) / 2.0 - np.sign(x) * y), x)


@adjoint(j0)
def j0_(y, x):
    d[x] = -d[y] * j1(x)


@adjoint(j1)
def j1_(y, x):
    d[x] = d[y] * (j0(x) - jv(2.0, x)) / 2.0


@adjoint(jv)
def jv_(y, v, x):
    d[x] = unbroadcast(d[y] * (jv(v - 1.0, x) - jv(v + 1.0, x)) / 2.0, x)


@adjoint(y0)
def y0_(y, x):
    d[x] = -d[y] * y1(x)


@adjoint(y1)
def y1_(y, x):
    d[x] = d[y] * (y0(x) - yv(2.0, x)) / 2.0


@adjoint(yv)
def yv_(y, v, x):
    d[x] = unbroadcast(d[y] * (yv(v - 1.0, x) - yv(v + 1.0, x)) / 2.0, x)


@adjoint(k0)
def k0_(y, x):
    d[x] = -d[y] * k1(x)


@adjoint(k1)
def k1_(y, x):
    d[x] = -d[y] * (k0(x) + kv(2.0, x)) / 2.0


@adjoint(kv)
def kv_(y, v, x):
    d[x] = -unbroadcast(d[y] * (kv(v - 1.0, x) + kv(v + 1.0, x)) / 2.0, x)


@adjoint(k0e)
def k0e_(y, x):
    d[x] = d[y] * (y - k1e(x))


@adjoint(k1e)
def k1e_(y, x):
    d[x] = d[y] * (y - (k0e(x) + kve(2.0, x)) / 2.0)


@adjoint(kve)
def kve_(y, v, x):
    d[x] = unbroadcast(d[y] * (y - (kve(v - 1.0, x) + kve(v + 1.0, x)) / 2.0), x)


elementwise(
    erf, erfc, erfinv, erfcinv, erfcx, erfi, dawsn, ndtr, log_ndtr, ndtri,
    gamma, gammaln, digamma, polygamma, rgamma, multigammaln, gammainc, gammaincc, beta, betaln, betainc,
    expit, logit, log_expit, xlogy, xlog1py, entr, rel_entr, kl_div,
    i0, i1, iv, i0e, i1e, ive, j0, j1, jv, y0, y1, yv, k0, k1, kv, k0e, k1e, kve,
)
