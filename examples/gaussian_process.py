"""Fit a Gaussian process's kernel hyperparameters by maximising the log marginal likelihood.

The negative log marginal likelihood of y under GP(0, k) with a squared-exponential kernel,
    0.5 y^T K^-1 y + 0.5 log det K + 0.5 n log 2 pi,   K = sf2 exp(-|x - x'|^2 / (2 ell^2)) + sn2 I,
is written with a Cholesky factorisation as one would by hand (scipy.linalg.cho_factor/cho_solve);
s2sgrad differentiates through the factorisation, and `scipy.optimize.minimize(..., jac=True)` takes
the value and gradient together. The hyperparameters are optimised as logarithms, so they stay positive.

Run it:  python examples/gaussian_process.py
Show the generated derivative:  s2sgrad show examples/gaussian_process.py:neg_log_marginal_likelihood
"""

import numpy as np
import scipy.linalg
from scipy.optimize import minimize

import s2sgrad


def make_data(n=30, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = np.sort(rng.uniform(-3.0, 3.0, size=n))
    return X, np.sin(2.0 * X) + noise * rng.normal(size=n)


def neg_log_marginal_likelihood(log_params, X, y):
    ell, sf2, sn2 = np.exp(log_params)      # length scale, signal variance, noise variance
    n = X.shape[0]
    sqdist = (X[:, None] - X[None, :]) ** 2
    K = sf2 * np.exp(-0.5 * sqdist / ell ** 2) + sn2 * np.eye(n)
    L, lower = scipy.linalg.cho_factor(K, lower=True)
    alpha = scipy.linalg.cho_solve((L, lower), y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * n * np.log(2.0 * np.pi)


def main(n=30, seed=0):
    """Fit; returns (the initial value, the optimiser's result, the fitted (ell, sf2, sn2))."""
    X, y = make_data(n, seed=seed)
    x0 = np.zeros(3)                         # ell = sf2 = sn2 = 1
    nll_and_grad = s2sgrad.value_and_grad(neg_log_marginal_likelihood)
    start = neg_log_marginal_likelihood(x0, X, y)
    fit = minimize(nll_and_grad, x0, args=(X, y), jac=True, method="L-BFGS-B")
    ell, sf2, sn2 = np.exp(fit.x)
    print(f"-log p(y | X) {start:.4f} -> {fit.fun:.4f} in {fit.nit} iterations ({fit.message})")
    print(f"length scale {ell:.3f}   signal variance {sf2:.3f}   noise std {np.sqrt(sn2):.3f} (data: 0.1)")
    return start, fit, (ell, sf2, sn2)


if __name__ == "__main__":
    start, fit, (ell, sf2, sn2) = main()
    assert fit.success and fit.fun < start
    assert np.linalg.norm(s2sgrad.grad(neg_log_marginal_likelihood)(fit.x, *make_data())) < 1e-3
