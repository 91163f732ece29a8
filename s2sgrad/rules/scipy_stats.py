"""Adjoints of scipy.stats distributions' methods: logpdf, pdf, logcdf, cdf, logsf and sf of norm, t, gamma,
beta, chi2, expon, laplace, cauchy, logistic and uniform (x, loc, scale and the shape parameters in logpdf
and pdf), logpmf, pmf, logcdf, cdf, logsf and sf of poisson (mu), logpdf and pdf of multivariate_normal
(x, mean, cov) and dirichlet (x, alpha). Registered when scipy.stats is imported (scipy_loader).

A rule is keyed by the bound method (`scipy.stats.norm.logpdf`), which is what `norm.logpdf` names.

Each logpdf is written out with the standardized value z = (x - loc) / scale: logpdf = log f(z) - log scale,
so x gets g(z) / scale, loc -g(z) / scale and scale -(g(z) z + 1) / scale, with g = d log f / dz. The other
methods follow from it, the same way for every distribution (one template each, instantiated per
distribution): pdf = exp(logpdf) takes logpdf's rule with d[y] y for d[y]; cdf has the density for slope in
x (its slopes in loc and scale follow from z); logcdf, sf and logsf follow from cdf. The derivatives of the
cdf family in a shape parameter (t's df, gamma's a, ...) are series SciPy does not expose: refused.
"""

import copy
import inspect
import textwrap

import gast
import numpy as np
from scipy import stats
from scipy.special import digamma, expit

from ..runtime import bound_or, covariance_adjoint, covariance_matrix, mvn_samples_shape, unbroadcast
from . import RULES, Rule, adjoint, adjoint_of, d, nondifferentiable
from . import tangents
from .tangents import TANGENTS, elementwise, t, tangent

norm, student_t, gamma, beta, chi2 = stats.norm, stats.t, stats.gamma, stats.beta, stats.chi2
expon, laplace, cauchy, logistic, uniform = stats.expon, stats.laplace, stats.cauchy, stats.logistic, stats.uniform
poisson, multivariate_normal, dirichlet = stats.poisson, stats.multivariate_normal, stats.dirichlet

# ---------------------------------------------------------------------------------------------
# logpdf, one distribution at a time
# ---------------------------------------------------------------------------------------------

@adjoint(norm.logpdf)
def norm_logpdf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    d[x] = -unbroadcast(d[y] * z / scale, x)
    d[loc] = unbroadcast(d[y] * z / scale, loc)
    d[scale] = unbroadcast(d[y] * (z * z - 1.0) / scale, scale)


@adjoint(cauchy.logpdf)
def cauchy_logpdf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = -2.0 * z / (1.0 + z * z)
    d[x] = unbroadcast(d[y] * g / scale, x)
    d[loc] = -unbroadcast(d[y] * g / scale, loc)
    d[scale] = -unbroadcast(d[y] * (g * z + 1.0) / scale, scale)


@adjoint(logistic.logpdf)
def logistic_logpdf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = 2.0 * expit(-z) - 1.0
    d[x] = unbroadcast(d[y] * g / scale, x)
    d[loc] = -unbroadcast(d[y] * g / scale, loc)
    d[scale] = -unbroadcast(d[y] * (g * z + 1.0) / scale, scale)


@adjoint(laplace.logpdf)
def laplace_logpdf(y, x, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    g = -np.sign(z)                      # the kink at x == loc: 0, the subgradient
    d[x] = unbroadcast(d[y] * g / scale, x)
    d[loc] = -unbroadcast(d[y] * g / scale, loc)
    d[scale] = -unbroadcast(d[y] * (g * z + 1.0) / scale, scale)


# expon and uniform are constant (-inf) outside their support, and their density jumps at its ends: the
# slope inside the support, 0 outside, the one-sided slope at the ends.

@adjoint(expon.logpdf)
def expon_logpdf(y, x, loc=0.0, scale=1.0):
    inside = x >= loc
    d[x] = -unbroadcast(np.where(inside, d[y] / scale, 0.0), x)
    d[loc] = unbroadcast(np.where(inside, d[y] / scale, 0.0), loc)
    d[scale] = unbroadcast(np.where(inside, d[y] * ((x - loc) / scale - 1.0) / scale, 0.0), scale)


@adjoint(uniform.logpdf, inert=("x", "loc"))       # constant inside the support and outside it
def uniform_logpdf(y, x, loc=0.0, scale=1.0):
    inside = np.logical_and(x >= loc, x <= loc + scale)
    d[scale] = -unbroadcast(np.where(inside, d[y] / scale, 0.0), scale)


@adjoint(student_t.logpdf)
def t_logpdf(y, x, df, loc=0.0, scale=1.0):
    z = (x - loc) / scale
    zz = z * z
    g = -(df + 1.0) * z / (df + zz)
    d[x] = unbroadcast(d[y] * g / scale, x)
    d[loc] = -unbroadcast(d[y] * g / scale, loc)
    d[scale] = -unbroadcast(d[y] * (g * z + 1.0) / scale, scale)
    d[df] = unbroadcast(d[y] * (0.5 * (digamma(0.5 * (df + 1.0)) - digamma(0.5 * df)) - 0.5 / df
                                - 0.5 * np.log1p(zz / df) + 0.5 * (df + 1.0) * zz / (df * (df + zz))), df)


@adjoint(gamma.logpdf)
def gamma_logpdf(y, x, a, loc=0.0, scale=1.0):
    # log f(z) = (a - 1) log z - z - gammaln(a), z > 0
    z = (x - loc) / scale
    g = (a - 1.0) / z - 1.0
    d[x] = unbroadcast(d[y] * g / scale, x)
    d[loc] = -unbroadcast(d[y] * g / scale, loc)
    d[scale] = -unbroadcast(d[y] * (g * z + 1.0) / scale, scale)
    d[a] = unbroadcast(d[y] * (np.log(z) - digamma(a)), a)


@adjoint(chi2.logpdf)
def chi2_logpdf(y, x, df, loc=0.0, scale=1.0):
    # log f(z) = (df/2 - 1) log z - z/2 - (df/2) log 2 - gammaln(df/2), z > 0
    z = (x - loc) / scale
    g = (0.5 * df - 1.0) / z - 0.5
    d[x] = unbroadcast(d[y] * g / scale, x)
    d[loc] = -unbroadcast(d[y] * g / scale, loc)
    d[scale] = -unbroadcast(d[y] * (g * z + 1.0) / scale, scale)
    d[df] = unbroadcast(d[y] * 0.5 * (np.log(0.5 * z) - digamma(0.5 * df)), df)


@adjoint(beta.logpdf)
def beta_logpdf(y, x, a, b, loc=0.0, scale=1.0):
    # log f(z) = (a - 1) log z + (b - 1) log(1 - z) - betaln(a, b), 0 < z < 1
    z = (x - loc) / scale
    g = (a - 1.0) / z - (b - 1.0) / (1.0 - z)
    both = digamma(a + b)
    d[x] = unbroadcast(d[y] * g / scale, x)
    d[loc] = -unbroadcast(d[y] * g / scale, loc)
    d[scale] = -unbroadcast(d[y] * (g * z + 1.0) / scale, scale)
    d[a] = unbroadcast(d[y] * (np.log(z) - digamma(a) + both), a)
    d[b] = unbroadcast(d[y] * (np.log1p(-z) - digamma(b) + both), b)


@adjoint(poisson.logpmf, inert=("k", "loc"))      # k and loc are integers
def poisson_logpmf(y, k, mu, loc=0):
    # k log mu - mu - gammaln(k + 1): k / mu - 1, and -1 at k == 0 even where mu == 0
    d[mu] = unbroadcast(d[y] * ((k - loc) / np.where(k == loc, 1.0, mu) - 1.0), mu)


@adjoint(dirichlet.logpdf)
def dirichlet_logpdf(y, x, alpha):
    # sum((alpha - 1) log x) + gammaln(sum alpha) - sum(gammaln alpha), the quantiles along x's first axis
    a = np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))
    d[x] = d[y] * (a - 1.0) / x
    d[alpha] = np.reshape(np.sum(d[y] * (np.log(x) - digamma(a) + digamma(np.sum(alpha))),
                                 axis=tuple(range(1, np.ndim(x)))), np.shape(alpha))


@tangent(dirichlet.logpdf)
def dirichlet_logpdf_tangent(y, x, alpha):
    a = np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))
    t[y] = (np.sum(t[x] * (a - 1.0) / x, axis=0)
            + np.sum(np.reshape(t[alpha], np.shape(a)) * (np.log(x) - digamma(a) + digamma(np.sum(alpha))), axis=0))


# multivariate_normal.logpdf(x, mean, cov): -(d log 2 pi + log det S + r^T S^-1 r) / 2 with r = x - mean,
# one value per sample (x's last axis is the dimension). SciPy reads only cov's lower triangle (it
# factors cov with eigh(lower=True)): covariance_matrix mirrors it, and a cov that is a number or a vector
# means that multiple of the identity or that diagonal.

@adjoint(multivariate_normal.logpdf)          # allow_singular= (a pseudo-inverse) has no rule
def mvn_logpdf(y, x, mean=None, cov=1):
    samples = np.reshape(x, mvn_samples_shape(x, mean, cov))
    sigma = covariance_matrix(cov, samples)
    u = np.linalg.solve(sigma, np.expand_dims(samples - bound_or(mean, 0.0), -1))[..., 0]     # S^-1 r, per sample
    g = np.expand_dims(np.reshape(d[y], np.shape(samples)[:-1]), -1)
    d[x] = -np.reshape(g * u, np.shape(x))
    d[mean] = unbroadcast(g * u, mean)
    rows = np.reshape(u, (-1, np.shape(u)[-1]))
    d[cov] = covariance_adjoint(0.5 * (np.reshape(g * u, np.shape(rows)).T @ rows - np.sum(g) * np.linalg.inv(sigma)),
                                cov)


@tangent(multivariate_normal.logpdf)
def mvn_logpdf_tangent(y, x, mean=None, cov=1):
    samples = np.reshape(x, mvn_samples_shape(x, mean, cov))
    sigma = covariance_matrix(cov, samples)
    u = np.linalg.solve(sigma, np.expand_dims(samples - bound_or(mean, 0.0), -1))[..., 0]
    t[y] = (-np.reshape(np.sum(np.reshape(t[x], np.shape(samples)) * u, axis=-1), np.shape(y))
            + np.reshape(np.sum(t[mean] * u, axis=-1), np.shape(y))
            + 0.5 * np.reshape(np.einsum("...i,ij,...j->...", u, covariance_matrix(t[cov], samples), u)
                               - np.trace(np.linalg.solve(sigma, covariance_matrix(t[cov], samples))), np.shape(y)))


# ---------------------------------------------------------------------------------------------
# The other methods, from logpdf: one template each, the name `dist` (and the shape parameters
# shape1, shape2) meaning the distribution's (renamed per distribution)
# ---------------------------------------------------------------------------------------------

def cdf0(y, x, loc=0.0, scale=1.0):
    density = np.exp(dist.logpdf(x, loc, scale))
    d[x] = unbroadcast(d[y] * density, x)
    d[loc] = -unbroadcast(d[y] * density, loc)
    d[scale] = -unbroadcast(d[y] * density * (x - loc) / scale, scale)


def sf0(y, x, loc=0.0, scale=1.0):
    density = np.exp(dist.logpdf(x, loc, scale))
    d[x] = -unbroadcast(d[y] * density, x)
    d[loc] = unbroadcast(d[y] * density, loc)
    d[scale] = unbroadcast(d[y] * density * (x - loc) / scale, scale)


def logcdf0(y, x, loc=0.0, scale=1.0):
    # the density over the distribution function, divided in the exponent: no underflow in the tail
    ratio = np.exp(dist.logpdf(x, loc, scale) - y)
    d[x] = unbroadcast(d[y] * ratio, x)
    d[loc] = -unbroadcast(d[y] * ratio, loc)
    d[scale] = -unbroadcast(d[y] * ratio * (x - loc) / scale, scale)


def logsf0(y, x, loc=0.0, scale=1.0):
    ratio = np.exp(dist.logpdf(x, loc, scale) - y)
    d[x] = -unbroadcast(d[y] * ratio, x)
    d[loc] = unbroadcast(d[y] * ratio, loc)
    d[scale] = unbroadcast(d[y] * ratio * (x - loc) / scale, scale)


def cdf1(y, x, shape1, loc=0.0, scale=1.0):
    density = np.exp(dist.logpdf(x, shape1, loc, scale))
    d[x] = unbroadcast(d[y] * density, x)
    d[loc] = -unbroadcast(d[y] * density, loc)
    d[scale] = -unbroadcast(d[y] * density * (x - loc) / scale, scale)


def sf1(y, x, shape1, loc=0.0, scale=1.0):
    density = np.exp(dist.logpdf(x, shape1, loc, scale))
    d[x] = -unbroadcast(d[y] * density, x)
    d[loc] = unbroadcast(d[y] * density, loc)
    d[scale] = unbroadcast(d[y] * density * (x - loc) / scale, scale)


def logcdf1(y, x, shape1, loc=0.0, scale=1.0):
    ratio = np.exp(dist.logpdf(x, shape1, loc, scale) - y)
    d[x] = unbroadcast(d[y] * ratio, x)
    d[loc] = -unbroadcast(d[y] * ratio, loc)
    d[scale] = -unbroadcast(d[y] * ratio * (x - loc) / scale, scale)


def logsf1(y, x, shape1, loc=0.0, scale=1.0):
    ratio = np.exp(dist.logpdf(x, shape1, loc, scale) - y)
    d[x] = -unbroadcast(d[y] * ratio, x)
    d[loc] = unbroadcast(d[y] * ratio, loc)
    d[scale] = unbroadcast(d[y] * ratio * (x - loc) / scale, scale)


def cdf2(y, x, shape1, shape2, loc=0.0, scale=1.0):
    density = np.exp(dist.logpdf(x, shape1, shape2, loc, scale))
    d[x] = unbroadcast(d[y] * density, x)
    d[loc] = -unbroadcast(d[y] * density, loc)
    d[scale] = -unbroadcast(d[y] * density * (x - loc) / scale, scale)


def sf2(y, x, shape1, shape2, loc=0.0, scale=1.0):
    density = np.exp(dist.logpdf(x, shape1, shape2, loc, scale))
    d[x] = -unbroadcast(d[y] * density, x)
    d[loc] = unbroadcast(d[y] * density, loc)
    d[scale] = unbroadcast(d[y] * density * (x - loc) / scale, scale)


def logcdf2(y, x, shape1, shape2, loc=0.0, scale=1.0):
    ratio = np.exp(dist.logpdf(x, shape1, shape2, loc, scale) - y)
    d[x] = unbroadcast(d[y] * ratio, x)
    d[loc] = -unbroadcast(d[y] * ratio, loc)
    d[scale] = -unbroadcast(d[y] * ratio * (x - loc) / scale, scale)


def logsf2(y, x, shape1, shape2, loc=0.0, scale=1.0):
    ratio = np.exp(dist.logpdf(x, shape1, shape2, loc, scale) - y)
    d[x] = -unbroadcast(d[y] * ratio, x)
    d[loc] = unbroadcast(d[y] * ratio, loc)
    d[scale] = unbroadcast(d[y] * ratio * (x - loc) / scale, scale)


# poisson's distribution function is the regularized upper incomplete gamma function Q(k + 1, mu) at the
# integer k below: its slope in mu is minus the probability of k.

def poisson_cdf(y, k, mu, loc=0):
    mass = np.exp(dist.logpmf(np.floor(k), mu, loc))
    d[mu] = -unbroadcast(d[y] * mass, mu)


def poisson_sf(y, k, mu, loc=0):
    mass = np.exp(dist.logpmf(np.floor(k), mu, loc))
    d[mu] = unbroadcast(d[y] * mass, mu)


def poisson_logcdf(y, k, mu, loc=0):
    ratio = np.exp(dist.logpmf(np.floor(k), mu, loc) - y)
    d[mu] = -unbroadcast(d[y] * ratio, mu)


def poisson_logsf(y, k, mu, loc=0):
    ratio = np.exp(dist.logpmf(np.floor(k), mu, loc) - y)
    d[mu] = unbroadcast(d[y] * ratio, mu)


class _Rename(gast.NodeTransformer):
    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        if node.id in self.names:
            node.id = self.names[node.id]
        return node


class _TimesOutput(gast.NodeTransformer):
    """`d[y]` -> `d[y] * y`: the rule of exp(f) from the rule of f."""

    def __init__(self, output):
        self.output = output

    def visit_Subscript(self, node):
        if adjoint_of(node) == self.output:
            return gast.BinOp(left=node, op=gast.Mult(),
                              right=gast.Name(id=self.output, ctx=gast.Load(), annotation=None, type_comment=None))
        return self.generic_visit(node)


def _times_output_terms(expr, output):
    """`a + b - c` -> `y * a + y * b - y * c`: each term of a tangent times the output (exp's chain rule)."""
    y = gast.Name(id=output, ctx=gast.Load(), annotation=None, type_comment=None)
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, (gast.Add, gast.Sub)):
        return gast.BinOp(left=_times_output_terms(expr.left, output), op=expr.op,
                          right=_times_output_terms(expr.right, output))
    return gast.BinOp(left=copy.deepcopy(y), op=gast.Mult(), right=expr)


def instantiate_tangent(template, prim):
    """Register the explicit tangent `template` of f as the tangent of `prim`, which is exp(f) (pdf from logpdf)."""
    fn = gast.parse(textwrap.dedent(inspect.getsource(template))).body[0]
    body = copy.deepcopy(fn.body)
    sig = inspect.signature(template)
    output = next(iter(sig.parameters))
    body[-1].value = _times_output_terms(body[-1].value, output)
    rule = Rule(prim, template, sig, output, body, template.__globals__)
    tangents._split_template(rule)
    TANGENTS[prim] = [rule]


def instantiate(template, prim, names, extra_globals, inert=(), exp_of=False):
    """Register `template` as the adjoint of `prim` with its names renamed by `names` (the distribution
    `dist`, its shape parameters), `extra_globals` giving what the new names mean; `exp_of` makes it the
    rule of exp(template's function) (pdf from logpdf)."""
    fn = gast.parse(textwrap.dedent(inspect.getsource(template))).body[0]
    body = [_Rename(names).visit(copy.deepcopy(stmt)) for stmt in fn.body]
    sig = inspect.signature(template)
    params = [p.replace(name=names.get(p.name, p.name)) for p in sig.parameters.values()]
    output = params[0].name
    if exp_of:
        body = [_TimesOutput(output).visit(stmt) for stmt in body]
    rule = Rule(prim, template, sig.replace(parameters=params), output, body,
                {**template.__globals__, **extra_globals}, frozenset(names.get(p, p) for p in inert))
    RULES.setdefault(prim, []).append(rule)
    if tangents.lookup(prim) is None:
        elementwise(prim)
    return rule


CONTINUOUS = [  # (distribution, the name it has in generated code, its shape parameters)
    (norm, "norm", ()), (cauchy, "cauchy", ()), (logistic, "logistic", ()), (laplace, "laplace", ()),
    (expon, "expon", ()), (uniform, "uniform", ()), (student_t, "student_t", ("df",)), (gamma, "gamma", ("a",)),
    (chi2, "chi2", ("df",)), (beta, "beta", ("a", "b")),
]
FAMILY = {0: (cdf0, sf0, logcdf0, logsf0), 1: (cdf1, sf1, logcdf1, logsf1), 2: (cdf2, sf2, logcdf2, logsf2)}

for _dist, _name, _shapes in CONTINUOUS:
    _names = {"dist": _name, **{f"shape{k + 1}": s for k, s in enumerate(_shapes)}}
    _logpdf = RULES[_dist.logpdf][0]
    instantiate(_logpdf.template, _dist.pdf, {}, {}, inert=_logpdf.inert, exp_of=True)
    for _template, _method in zip(FAMILY[len(_shapes)], (_dist.cdf, _dist.sf, _dist.logcdf, _dist.logsf)):
        instantiate(_template, _method, _names, {_name: _dist})
    elementwise(_dist.logpdf)

instantiate(poisson_logpmf, poisson.pmf, {}, {}, inert=("k", "loc"), exp_of=True)
for _template, _method in ((poisson_cdf, poisson.cdf), (poisson_sf, poisson.sf), (poisson_logcdf, poisson.logcdf),
                           (poisson_logsf, poisson.logsf)):
    instantiate(_template, _method, {"dist": "poisson"}, {"poisson": poisson}, inert=("k", "loc"))
elementwise(poisson.logpmf)
instantiate_tangent(dirichlet_logpdf_tangent, dirichlet.pdf)
instantiate(dirichlet_logpdf, dirichlet.pdf, {}, {}, exp_of=True)
instantiate_tangent(mvn_logpdf_tangent, multivariate_normal.pdf)
instantiate(mvn_logpdf, multivariate_normal.pdf, {}, {}, exp_of=True)
nondifferentiable(mvn_samples_shape)
